#!/usr/bin/env bash
# The TAP and veth figures of issue 9, beside their peers. Needs root: the
# TAP part runs in a namespace of its own (scripts/tap-netns.sh), the veth
# part in two namespaces of its own joined by a veth pair; all are deleted
# on exit. Each run alternates the sides, and each figure is the median of
# BENCH_RUNS runs (default 5):
#   - the raw frame pump (no stack: a program writes full-size frames into
#     the TAP, and reads the frames the kernel sends out of it);
#   - socket-level source and sink (`layernet bench --sink-source`: Linux
#     reads from port 1234, writes to port 1235, for BENCH_SECONDS each),
#     beside smoltcp's own `benchmark` example driven by the same Linux
#     client, and beside the pump each way;
#   - curl downloading from and uploading to `layernet serve`'s file service
#     (BENCH_MIB MiB, default 64), beside the pump each way;
#   - with BENCH_OFFLOAD=1, the sink and source with 64 KiB buffers and the
#     file service again with `--tap-offload` (virtio-net headers, TSO),
#     beside the same without it;
#   - TCP echo round trips (p50, p99) of 1 byte and 1 KiB, over TAP to
#     layernet, beside smoltcp's `server` example (its TCP line echo for
#     1 byte, its UDP echo for both sizes: its TCP echo has a 64-byte
#     buffer) and over the namespace's loopback to a Python echo server;
#   - greeting connections/s with 1, 4, 16 concurrent clients, over TAP to
#     layernet and over loopback to a Python greeting server;
#   - Linux-to-Linux TCP over veth between two namespaces, beside the same
#     over loopback in one namespace;
#   - `layernet serve` as a server (issue 16), with its default flags and
#     again with `--tap-offload`, from a tmpfs root (/dev/shm): curl GET and
#     PUT of BENCH_SERVE_MIB MiB (default 512) beside smoltcp's `benchmark`
#     reader and writer, and serve's CPU per MB (user + system seconds of
#     the process, from /proc/PID/stat) beside the benchmark's; `ab -k -n
#     BENCH_AB_N -c 64` (default 20000) requests/s; serve's VmRSS after
#     those runs; and beside them nginx (one worker, sendfile) on the
#     kernel's stack over the veth pair: curl GET of a file of the same size
#     and the same ab run; and the cost of storing alone (a Python loop
#     writing the same amount into a new file on the same tmpfs, as serve
#     stores a PUT), which the PUT figures include and the writer's do not.
# The Linux-side programs are in scripts/bench_tap.py (Python: their own
# cost is part of every figure, on both sides alike).
#
# smoltcp's examples are built from the smoltcp source in cargo's registry
# (the version in Cargo.lock), copied to target/smoltcp-VERSION/ and built
# there once; nothing of it is committed. Without that source the script
# runs `cargo fetch`; if it is still missing, the smoltcp figures are
# skipped with a warning.
#
#   sudo scripts/bench-tap.sh [--json]
#   (BENCH_RUNS, BENCH_SECONDS, BENCH_MIB, BENCH_OFFLOAD, BENCH_SERVE_MIB,
#    BENCH_AB_N; BENCH_ONLY=socket,echo,... picks groups out of pump, socket,
#    files, echo, conns, veth, serve; BENCH_QUICK=1 for a trial in a few
#    minutes: 1 run of 1 s each, 64 MiB files, 5000 ab requests)
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    RUNS=${BENCH_RUNS:-1}
    SECS=${BENCH_SECONDS:-1}
    SERVE_MIB=${BENCH_SERVE_MIB:-64}
    AB_N=${BENCH_AB_N:-5000}
else
    RUNS=${BENCH_RUNS:-5}
    SECS=${BENCH_SECONDS:-2}
    SERVE_MIB=${BENCH_SERVE_MIB:-512}
    AB_N=${BENCH_AB_N:-20000}
fi
MIB=${BENCH_MIB:-64}
ONLY=${BENCH_ONLY:-pump,socket,files,echo,conns,veth,serve}
OFFLOAD=${BENCH_OFFLOAD:-0}
JSON=0
[ "${1:-}" = --json ] && JSON=1
export RUNS SECS MIB JSON ONLY SERVE_MIB AB_N
here=$(pwd)
py="python3 $here/scripts/bench_tap.py"

# figure NAME VALUE UNIT [PEER PEER_VALUE]: one table row or JSON line.
figure() {
    awk -v n="$1" -v v="$2" -v u="$3" -v p="${4:-}" -v pv="${5:-}" -v j="$JSON" 'BEGIN {
        r = (p != "" && pv + 0 != 0) ? v / pv : ""
        if (j) {
            printf "{\"name\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"peer\":%s,\"peer_value\":%s,\"ratio\":%s}\n",
                n, v + 0, u, (p == "" ? "null" : "\"" p "\""), (p == "" ? "null" : pv + 0), (r == "" ? "null" : sprintf("%.4f", r))
        } else {
            printf "%-36s %12.2f %-9s %-18s %12s %6s\n", n, v, u, p, (p == "" ? "" : sprintf("%.2f", pv)), (r == "" ? "" : sprintf("%.2f", r))
        }
    }'
}
# median FILE: the median of the numbers in FILE, one per line.
median() {
    sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# want GROUP: whether BENCH_ONLY asks for this group of figures.
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
export -f figure median want

# ab_figures FILE: "requests/s failed non-2xx complete" from ab's output.
ab_figures() {
    awk '/^Requests per second:/ { r = $4 } /^Failed requests:/ { f = $3 }
         /^Non-2xx responses:/ { n = $3 } /^Complete requests:/ { c = $3 }
         END { print r + 0, f + 0, n + 0, c + 0 }' "$1"
}
# A directory on tmpfs for the served files, so that the disk is not what
# is measured.
tmpfs_dir() {
    if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
        mktemp -d -p /dev/shm
    else
        echo "bench-tap.sh: WARNING: /dev/shm is not a tmpfs: the served files are on $(dirname "$(mktemp -u)")" >&2
        mktemp -d
    fi
}
export -f ab_figures tmpfs_dir

# smoltcp's `benchmark` and `server` examples, built once into
# target/smoltcp-VERSION/; prints the directory of the binaries, or nothing.
build_smoltcp() {
    local version src dir
    version=$(awk '/^name = "smoltcp"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
    dir="$here/target/smoltcp-$version"
    if [ -x "$dir/target/release/examples/benchmark" ] && [ -x "$dir/target/release/examples/server" ]; then
        echo "$dir/target/release/examples"
        return
    fi
    local registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
    src=$(ls -d "$registry"/*/"smoltcp-$version" 2>/dev/null | head -1)
    if [ -z "$src" ]; then
        cargo fetch --quiet >&2 || true
        src=$(ls -d "$registry"/*/"smoltcp-$version" 2>/dev/null | head -1)
    fi
    if [ -z "$src" ]; then
        echo "bench-tap.sh: WARNING: no smoltcp-$version source under $registry, even after cargo fetch: the smoltcp figures are SKIPPED" >&2
        return
    fi
    rm -rf "$dir/src"
    mkdir -p "$dir"
    cp -r "$src" "$dir/src"
    echo "bench-tap.sh: building smoltcp-$version's benchmark and server examples in $dir (once)" >&2
    # `server` gives its interface three addresses, one more than
    # smoltcp's default feature set holds.
    if ! (cd "$dir/src" && export CARGO_TARGET_DIR="$dir/target" &&
        cargo build --release --quiet --example benchmark >&2 &&
        cargo build --release --quiet --example server --features iface-max-addr-count-3 >&2); then
        echo "bench-tap.sh: WARNING: smoltcp's examples did not build: the smoltcp figures are SKIPPED" >&2
        return
    fi
    echo "$dir/target/release/examples"
}

if [ "${BENCH_TAP_INNER:-}" != 1 ]; then
    # shellcheck source=scripts/veth-pair.sh
    . "$here/scripts/veth-pair.sh"
    [ "$(id -u)" = 0 ] || { echo "bench-tap.sh: needs root (network namespaces, TAP, veth)" >&2; exit 2; }
    cargo build --release --quiet --bin layernet
    SMOLTCP=$(build_smoltcp)
    [ "$JSON" = 1 ] || printf '%-36s %12s %-9s %-18s %12s %6s\n' figure layernet unit peer 'peer value' ratio
    a="layernet-bench-a-$$"
    b="layernet-bench-b-$$"
    pids=()
    work=$(mktemp -d)
    www=
    cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        veth_pair_del "$a" "$b"
        rm -rf "$work"
        [ -z "$www" ] || rm -rf "$www"
    }
    trap cleanup EXIT
    # The TAP part leaves serve's medians here ("NAME VALUE" lines), for the
    # rows beside nginx below.
    : > "$work/share"
    BENCH_TAP_INNER=1 LAYERNET="$here/target/release/layernet" SMOLTCP="$SMOLTCP" BENCH_SHARE="$work/share" \
        scripts/tap-netns.sh -- "$0" "$@"
    want veth || want serve || exit 0

    # --- veth: Linux to Linux between two namespaces ------------------------
    veth_pair "$a" "$b"
    # one TCP stream for SECS seconds; prints bit/s
    stream() { # NS_SINK NS_SOURCE ADDRESS
        ip netns exec "$1" $py sink 5001 $((SECS + 10)) > "$work/sink" &
        local sink=$!
        pids+=("$sink")
        sleep 0.3
        ip netns exec "$2" $py source "$3" 5001 "$SECS"
        wait "$sink"
        awk '{ print $1 }' "$work/sink"
    }
    if want veth; then
        : > "$work/veth"
        : > "$work/lo"
        for _ in $(seq "$RUNS"); do
            stream "$b" "$a" 10.99.0.2 >> "$work/veth"
            stream "$a" "$a" 127.0.0.1 >> "$work/lo"
        done
        figure veth.tcp.linux-linux "$(median "$work/veth" | awk '{ print $1 / 1e9 }')" Gbit/s \
            linux-loopback "$(median "$work/lo" | awk '{ print $1 / 1e9 }')"
    fi

    # --- nginx on the kernel's stack over the veth pair, beside serve -------
    want serve || exit 0
    if ! command -v nginx > /dev/null || ! command -v ab > /dev/null; then
        echo "bench-tap.sh: WARNING: nginx or ab missing (nginx-light, apache2-utils): the nginx figures are SKIPPED" >&2
        exit 0
    fi
    www=$(tmpfs_dir)
    head -c "$((SERVE_MIB * 1024 * 1024))" /dev/urandom > "$www/big.bin"
    head -c 1024 /dev/urandom > "$www/small.bin"
    # One worker, as serve is one thread; sendfile, as nginx ships. Every
    # path nginx writes to is in the temporary directory.
    cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    fastcgi_temp_path $work/nginx-fastcgi;
    uwsgi_temp_path $work/nginx-uwsgi;
    scgi_temp_path $work/nginx-scgi;
    server { listen 10.99.0.2:8080; root $www; }
}
CONF
    ip netns exec "$b" nginx -c "$work/nginx.conf" &
    nginx_pid=$!
    pids+=("$nginx_pid")
    for _ in $(seq 50); do
        ip netns exec "$a" curl -s -m 1 -o /dev/null http://10.99.0.2:8080/small.bin && break
        sleep 0.1
    done
    : > "$work/nginx-get"
    : > "$work/nginx-ab"
    for _ in $(seq "$RUNS"); do
        ip netns exec "$a" curl -s --max-time 300 -o /dev/null -w '%{speed_download}\n' http://10.99.0.2:8080/big.bin \
            | awk '{ print $1 / 1e6 }' >> "$work/nginx-get"
        ip netns exec "$a" timeout 300 ab -k -n "$AB_N" -c 64 http://10.99.0.2:8080/small.bin > "$work/ab.out" 2>&1 || true
        read -r rate failed non2xx complete < <(ab_figures "$work/ab.out")
        [ "$failed" = 0 ] && [ "$non2xx" = 0 ] && [ "$complete" = "$AB_N" ] \
            || echo "bench-tap.sh: WARNING: ab -k against nginx: $complete of $AB_N complete, $failed failed, $non2xx non-2xx: $(grep -i 'error\|apr_' "$work/ab.out" | head -2)" >&2
        echo "$rate" >> "$work/nginx-ab"
    done
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    # shared NAME: serve's median NAME from the TAP part, if it was measured.
    shared() { awk -v n="$1" '$1 == n { print $2 }' "$work/share"; }
    ng=$(median "$work/nginx-get")
    for v in "" -offload; do
        [ -z "$(shared "serve-get$v")" ] || figure "tap.serve.get${v/-/.}.vs-nginx" "$(shared "serve-get$v")" MB/s nginx-veth-get "$ng"
    done
    [ -z "$(shared serve-ab)" ] || figure tap.serve.ab-k.vs-nginx "$(shared serve-ab)" req/s nginx-veth-ab-k "$(median "$work/nginx-ab")"
    exit 0
fi

# --- inside the TAP namespace ---------------------------------------------
layernet=$LAYERNET
work=$(mktemp -d)
pids=()
serve_pid=
cleanup() {
    [ -z "$serve_pid" ] || kill -TERM "$serve_pid" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    ip route del unreachable "$L/32" 2>/dev/null || true
    rm -rf "$work"
    [ -z "${sroot:-}" ] || rm -rf "$sroot"
}
trap cleanup EXIT
L=192.168.69.1
mkdir "$work/root"
if want files; then head -c "$((MIB * 1024 * 1024))" /dev/urandom > "$work/root/big.bin"; fi
sroot=
if want serve; then
    sroot=$(tmpfs_dir)
    head -c "$((SERVE_MIB * 1024 * 1024))" /dev/urandom > "$sroot/big.bin"
    head -c 1024 /dev/urandom > "$sroot/small.bin"
fi
$py echo-server 7007 & pids+=($!)
$py greeting-server 1235 & pids+=($!)

# wait_up WHAT: until the stack on the TAP answers pings (5 s at most).
wait_up() {
    for _ in $(seq 50); do ping -c 1 -W 1 "$L" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "bench-tap.sh: $1 did not come up: $(tail -3 "$work/stack.err")" >&2
    exit 1
}
start_serve() { # ARGS...
    "$layernet" serve --root "$work/root" --grace 0.2 "$@" > "$work/serve.out" 2> "$work/stack.err" &
    serve_pid=$!
    wait_up "layernet serve"
}
stop_serve() {
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}
keep() { echo "$2" >> "$work/$1"; } # keep NAME VALUE: one run's value
gbit_of() { awk -v b="$1" 'BEGIN { print b / 1e9 }'; }
tick=$(getconf CLK_TCK)
# cpu_of PID: the CPU seconds (user + system) the process has used so far.
cpu_of() { awk -v t="$tick" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
# A stack's CPU per byte moved is steadier than its wall-time rate on a
# shared machine; kept as microseconds per MB.
# move NAME CLIENT PORT: run the client against the stack in $serve_pid;
# keep NAME (Gbit/s) and NAME-cpu (us/MB); print the bytes moved.
move() {
    local c0 bits bytes
    c0=$(cpu_of "$serve_pid")
    read -r bits bytes < <($py "$2" "$L" "$3" "$SECS")
    keep "$1" "$(gbit_of "$bits")"
    keep "$1-cpu" "$(awk -v c0="$c0" -v c1="$(cpu_of "$serve_pid")" -v n="$bytes" 'BEGIN { print (c1 - c0) * 1e12 / (n > 0 ? n : 1) }')"
    echo "$bytes"
}

# smoltcp_bench MODE: smoltcp's `benchmark` example on tap0. It starts a
# client thread of its own at once; an unreachable route makes that thread
# fail (and only it: the example goes on serving ports 1234 and 1235), so
# that the same bench_tap.py client drives both stacks.
smoltcp_bench() {
    ip route add unreachable "$L/32"
    RUST_LOG=off "$SMOLTCP/benchmark" --tap tap0 "$1" > "$work/stack.out" 2> "$work/stack.err" &
    serve_pid=$!
    for _ in $(seq 50); do grep -q panicked "$work/stack.err" && break; sleep 0.1; done
    ip route del unreachable "$L/32"
    wait_up "smoltcp's benchmark example"
}
# Its sink and source stop after 1 GB (its AMOUNT) in all: one process per
# direction, and a warning when a run came near it.
smoltcp_amount() {
    [ "$1" -lt 900000000 ] || echo "bench-tap.sh: WARNING: smoltcp's benchmark moved $1 bytes, near its 1 GB limit: lower BENCH_SECONDS" >&2
}

socket_layernet() { # SUFFIX ARGS...: layernet's sink and source
    local suffix=$1
    shift
    "$layernet" bench --sink-source "$@" > "$work/stack.out" 2> "$work/stack.err" &
    serve_pid=$!
    wait_up "layernet bench --sink-source"
    move "source$suffix" read 1234 > /dev/null
    move "sink$suffix" source 1235 > /dev/null
    stop_serve
}
socket_smoltcp() {
    [ -n "$SMOLTCP" ] || return 0
    smoltcp_bench reader
    smoltcp_amount "$(move sm-source read 1234)"
    stop_serve
    smoltcp_bench writer
    smoltcp_amount "$(move sm-sink source 1235)"
    stop_serve
}
echo_layernet() {
    start_serve --services echo --max-connections 4
    for size in 1 1024; do
        read -r p50 p99 _ < <($py rtt "$L" 7 "$size" "$SECS")
        keep "rtt$size-p50" "$p50"; keep "rtt$size-p99" "$p99"
        read -r p50 p99 _ < <($py rtt 127.0.0.1 7007 "$size" "$SECS")
        keep "lo-rtt$size-p50" "$p50"; keep "lo-rtt$size-p99" "$p99"
    done
    stop_serve
}
# smoltcp's `server` example: TCP line echo (reversed) on 6970 with a
# 64-byte buffer, so 1 byte only; UDP echo (reversed) on 6969, both sizes.
# RUST_LOG=off: by default it logs every frame it moves, at trace level, to
# stderr, which is no cost of the stack's.
echo_smoltcp() {
    [ -n "$SMOLTCP" ] || return 0
    RUST_LOG=off "$SMOLTCP/server" --tap tap0 > "$work/stack.out" 2> "$work/stack.err" &
    serve_pid=$!
    wait_up "smoltcp's server example"
    read -r p50 p99 _ < <($py rtt "$L" 6970 1 "$SECS")
    keep "sm-rtt1-p50" "$p50"; keep "sm-rtt1-p99" "$p99"
    for size in 1 1024; do
        read -r p50 p99 _ < <($py urtt "$L" 6969 "$size" "$SECS")
        keep "sm-urtt$size-p50" "$p50"; keep "sm-urtt$size-p99" "$p99"
    done
    stop_serve
}

# `serve` takes --writable once issue 16 makes it read-only by default;
# before that, uploads are open without it.
WRITABLE=
"$layernet" serve --help 2>/dev/null | grep -q -- '--writable' && WRITABLE=--writable
# serve_server VARIANT: `layernet serve` with its default flags (plus
# --tap-offload for -offload) from a tmpfs root: curl GET and PUT of
# SERVE_MIB MiB, each with serve's CPU per MB; with the defaults also ab -k
# and then the process's VmRSS.
serve_server() {
    local variant=$1 c0 out code rate bytes failed non2xx complete
    "$layernet" ${variant:+--tap-offload} serve --root "$sroot" $WRITABLE --grace 0.2 \
        > "$work/serve.out" 2> "$work/stack.err" &
    serve_pid=$!
    wait_up "layernet serve"
    local url="http://$L:7878"
    c0=$(cpu_of "$serve_pid")
    read -r code rate bytes < <(curl -s --max-time 600 -o /dev/null -w '%{http_code} %{speed_download} %{size_download}\n' "$url/big.bin" || echo "000 0 0")
    [ "$code" = 200 ] && [ "$bytes" = "$((SERVE_MIB * 1024 * 1024))" ] \
        || echo "bench-tap.sh: WARNING: curl GET from serve$variant: HTTP $code, $bytes bytes" >&2
    keep "serve-get$variant" "$(awk -v b="$rate" 'BEGIN { print b / 1e6 }')"
    keep "serve-get$variant-cpu" "$(awk -v c0="$c0" -v c1="$(cpu_of "$serve_pid")" -v n="$bytes" 'BEGIN { print (c1 - c0) * 1e12 / (n > 0 ? n : 1) }')"
    c0=$(cpu_of "$serve_pid")
    read -r code rate bytes < <(curl -s --max-time 600 -o /dev/null -T "$sroot/big.bin" -w '%{http_code} %{speed_upload} %{size_upload}\n' "$url/up.bin" || echo "000 0 0")
    [[ "$code" == 20[14] ]] && [ "$(stat -c %s "$sroot/up.bin" 2>/dev/null)" = "$((SERVE_MIB * 1024 * 1024))" ] \
        || echo "bench-tap.sh: WARNING: curl PUT to serve$variant: HTTP $code, $(stat -c %s "$sroot/up.bin" 2>/dev/null || echo no) bytes stored" >&2
    keep "serve-put$variant" "$(awk -v b="$rate" 'BEGIN { print b / 1e6 }')"
    keep "serve-put$variant-cpu" "$(awk -v c0="$c0" -v c1="$(cpu_of "$serve_pid")" -v n="$bytes" 'BEGIN { print (c1 - c0) * 1e12 / (n > 0 ? n : 1) }')"
    rm -f "$sroot/up.bin"
    if [ -z "$variant" ]; then
        # Storing alone, as serve stores a PUT, with no network: the part of
        # the PUT figures that smoltcp's writer (which discards) never pays.
        read -r rate cpu < <($py store "$sroot/store.bin" "$SERVE_MIB")
        keep serve-store "$rate"
        keep serve-store-cpu "$cpu"
        if command -v ab > /dev/null; then
            timeout 300 ab -k -n "$AB_N" -c 64 "$url/small.bin" > "$work/ab.out" 2>&1 || true
            read -r rate failed non2xx complete < <(ab_figures "$work/ab.out")
            [ "$failed" = 0 ] && [ "$non2xx" = 0 ] && [ "$complete" = "$AB_N" ] \
                || echo "bench-tap.sh: WARNING: ab -k against serve: $complete of $AB_N complete, $failed failed, $non2xx non-2xx: $(grep -i 'error\|apr_' "$work/ab.out" | head -2)" >&2
            keep serve-ab "$rate"
            keep serve-ab-failed "$((AB_N - complete + failed + non2xx))"
        fi
        keep serve-rss "$(awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$serve_pid/status")"
    fi
    stop_serve
}

for run in $(seq "$RUNS"); do
    if want pump; then
        # The pump: no stack on the TAP.
        read -r fps bps < <($py pump-tx tap0 "$SECS")
        keep pump-tx-fps "$fps"; keep pump-tx-mbs "$(awk -v b="$bps" 'BEGIN { print b / 1e6 }')"
        ip neigh replace "$L" lladdr 02:00:00:00:00:01 dev tap0 nud permanent
        $py flood "$L" 9 $((SECS + 1)) & flood=$!
        pids+=("$flood")
        sleep 0.2
        read -r fps bps < <($py pump-rx tap0 "$SECS")
        wait "$flood" || true
        ip neigh del "$L" dev tap0 2>/dev/null || true
        keep pump-rx-fps "$fps"; keep pump-rx-mbs "$(awk -v b="$bps" 'BEGIN { print b / 1e6 }')"
    fi

    # Socket-level source and sink, layernet and smoltcp in turn; which goes
    # first alternates from run to run.
    if want socket; then
        if [ $((run % 2)) = 1 ]; then
            socket_layernet "" ; socket_layernet -64k --socket-buffers 64k; socket_smoltcp
        else
            socket_smoltcp; socket_layernet -64k --socket-buffers 64k; socket_layernet ""
        fi
        [ "$OFFLOAD" != 1 ] || socket_layernet -offload --tap-offload --socket-buffers 64k
    fi

    if want files; then
        for variant in "" $([ "$OFFLOAD" != 1 ] || echo -offload); do
            start_serve --services files --max-connections 4 $WRITABLE ${variant:+--tap-offload}
            url="http://$L:7878"
            down=$(curl -s --max-time 300 -o /dev/null -w '%{speed_download}' "$url/big.bin")
            up=$(curl -s --max-time 300 -o /dev/null -T "$work/root/big.bin" -w '%{speed_upload}' "$url/up.bin")
            keep "download$variant" "$(awk -v b="$down" 'BEGIN { print b / 1e6 }')"
            keep "upload$variant" "$(awk -v b="$up" 'BEGIN { print b / 1e6 }')"
            stop_serve
        done
    fi

    if want echo; then
        if [ $((run % 2)) = 1 ]; then echo_layernet; echo_smoltcp; else echo_smoltcp; echo_layernet; fi
    fi

    if want conns; then
        # Greeting connections: every listening slot the pool allows.
        start_serve --services greeting --max-connections 8
        for c in 1 4 16; do
            read -r rate _ < <($py conns "$L" 1234 "$c" "$SECS")
            keep "conns$c" "$rate"
            read -r rate _ < <($py conns 127.0.0.1 1235 "$c" "$SECS")
            keep "lo-conns$c" "$rate"
        done
        stop_serve
    fi
    if want serve; then
        # smoltcp's benchmark beside serve, in the same run (unless the
        # socket group above ran it already).
        want socket || socket_smoltcp
        if [ $((run % 2)) = 1 ]; then serve_server ""; serve_server -offload; else serve_server -offload; serve_server ""; fi
    fi
    [ "$JSON" = 1 ] || echo "(run $run of $RUNS done)" >&2
done

m() { median "$work/$1"; }
gbit() { awk -v m="$1" 'BEGIN { print m * 8 / 1000 }'; } # MB/s to Gbit/s
if want pump; then
    figure tap.pump.tx "$(m pump-tx-fps)" frames/s
    figure tap.pump.tx.bytes "$(m pump-tx-mbs)" MB/s
    figure tap.pump.rx "$(m pump-rx-fps)" frames/s
    figure tap.pump.rx.bytes "$(m pump-rx-mbs)" MB/s
fi
if want socket; then
    for dir in source sink; do
        if [ -n "$SMOLTCP" ]; then
            for b in "" -64k; do
                figure "tap.socket.$dir${b/-/.}" "$(m "$dir$b")" Gbit/s smoltcp-benchmark "$(m "sm-$dir")"
                figure "tap.socket.$dir${b/-/.}.cpu" "$(m "$dir$b-cpu")" us/MB smoltcp-benchmark "$(m "sm-$dir-cpu")"
            done
        fi
        if want pump; then
            pump=$([ "$dir" = source ] && echo pump-tx || echo pump-rx)
            figure "tap.socket.$dir.64k.vs-pump" "$(m "$dir-64k")" Gbit/s "$pump" "$(gbit "$(m "$pump-mbs")")"
        elif [ -z "$SMOLTCP" ]; then
            figure "tap.socket.$dir" "$(m "$dir")" Gbit/s
            figure "tap.socket.$dir.64k" "$(m "$dir-64k")" Gbit/s
        fi
        if [ "$OFFLOAD" = 1 ]; then
            figure "tap.socket.$dir.offload" "$(m "$dir-offload")" Gbit/s layernet-64k "$(m "$dir-64k")"
            figure "tap.socket.$dir.offload.cpu" "$(m "$dir-offload-cpu")" us/MB layernet-64k "$(m "$dir-64k-cpu")"
        fi
    done
fi
if want files; then
    if want pump; then
        figure tap.files.download "$(m download)" MB/s pump-tx "$(m pump-tx-mbs)"
        figure tap.files.upload "$(m upload)" MB/s pump-rx "$(m pump-rx-mbs)"
    else
        figure tap.files.download "$(m download)" MB/s
        figure tap.files.upload "$(m upload)" MB/s
    fi
    if [ "$OFFLOAD" = 1 ]; then
        figure tap.files.download.offload "$(m download-offload)" MB/s layernet "$(m download)"
        figure tap.files.upload.offload "$(m upload-offload)" MB/s layernet "$(m upload)"
    fi
fi
if want echo; then
    for q in p50 p99; do
        if [ -n "$SMOLTCP" ]; then
            figure "tap.echo.rtt1.$q" "$(m "rtt1-$q")" us smoltcp-server-tcp "$(m "sm-rtt1-$q")"
            figure "tap.echo.rtt1.$q.vs-udp" "$(m "rtt1-$q")" us smoltcp-server-udp "$(m "sm-urtt1-$q")"
            figure "tap.echo.rtt1024.$q" "$(m "rtt1024-$q")" us smoltcp-server-udp "$(m "sm-urtt1024-$q")"
        fi
        for size in 1 1024; do
            figure "tap.echo.rtt$size.$q.vs-loopback" "$(m "rtt$size-$q")" us linux-loopback "$(m "lo-rtt$size-$q")"
        done
    done
fi
if want conns; then
    for c in 1 4 16; do
        figure "tap.greeting.conns.c$c" "$(m "conns$c")" conn/s linux-loopback "$(m "lo-conns$c")"
    done
fi
if want serve; then
    # MB/s of smoltcp's benchmark: its reader is the source (smoltcp sends,
    # as serve does for a GET), its writer the sink.
    mbs() { awk -v g="$1" 'BEGIN { print g * 1000 / 8 }'; }
    for v in "" -offload; do
        if [ -n "$SMOLTCP" ]; then
            figure "tap.serve.get${v/-/.}" "$(m "serve-get$v")" MB/s smoltcp-bench-reader "$(mbs "$(m sm-source)")"
            figure "tap.serve.put${v/-/.}" "$(m "serve-put$v")" MB/s smoltcp-bench-writer "$(mbs "$(m sm-sink)")"
            figure "tap.serve.get${v/-/.}.cpu" "$(m "serve-get$v-cpu")" us/MB smoltcp-bench-reader "$(m sm-source-cpu)"
            figure "tap.serve.put${v/-/.}.cpu" "$(m "serve-put$v-cpu")" us/MB smoltcp-bench-writer "$(m sm-sink-cpu)"
        else
            figure "tap.serve.get${v/-/.}" "$(m "serve-get$v")" MB/s
            figure "tap.serve.put${v/-/.}" "$(m "serve-put$v")" MB/s
            figure "tap.serve.get${v/-/.}.cpu" "$(m "serve-get$v-cpu")" us/MB
            figure "tap.serve.put${v/-/.}.cpu" "$(m "serve-put$v-cpu")" us/MB
        fi
        echo "serve-get$v $(m "serve-get$v")" >> "${BENCH_SHARE:-/dev/null}"
    done
    if [ -s "$work/serve-ab" ]; then
        figure tap.serve.ab-k "$(m serve-ab)" req/s
        figure tap.serve.ab-k.failed "$(sort -g "$work/serve-ab-failed" | tail -1)" requests
        echo "serve-ab $(m serve-ab)" >> "${BENCH_SHARE:-/dev/null}"
    fi
    figure tap.serve.rss "$(m serve-rss)" MiB
    figure tap.serve.store "$(m serve-store)" MB/s
    figure tap.serve.store.cpu "$(m serve-store-cpu)" us/MB serve-put-cpu "$(m serve-put-cpu)"
fi
