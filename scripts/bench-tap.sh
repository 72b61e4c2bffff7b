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
#     beside the pump each way;
#   - curl downloading from and uploading to `layernet serve`'s file service
#     (BENCH_MIB MiB, default 64), beside the pump each way;
#   - TCP echo round trips (p50, p99) of 1 byte and 1 KiB, over TAP to
#     layernet and over the namespace's loopback to a Python echo server;
#   - greeting connections/s with 1, 4, 16 concurrent clients, over TAP to
#     layernet and over loopback to a Python greeting server;
#   - Linux-to-Linux TCP over veth between two namespaces, beside the same
#     over loopback in one namespace.
# The Linux-side programs are in scripts/bench_tap.py (Python: their own
# cost is part of every figure, on both sides alike).
#
#   sudo scripts/bench-tap.sh [--json]     (BENCH_RUNS, BENCH_SECONDS, BENCH_MIB)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-2}
MIB=${BENCH_MIB:-64}
JSON=0
[ "${1:-}" = --json ] && JSON=1
export RUNS SECS MIB JSON
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
            printf "%-28s %12.2f %-9s %-18s %12s %6s\n", n, v, u, p, (p == "" ? "" : sprintf("%.2f", pv)), (r == "" ? "" : sprintf("%.2f", r))
        }
    }'
}
# median FILE: the median of the numbers in FILE, one per line.
median() {
    sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
export -f figure median

if [ "${BENCH_TAP_INNER:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "bench-tap.sh: needs root (network namespaces, TAP, veth)" >&2; exit 2; }
    cargo build --release --quiet --bin layernet
    [ "$JSON" = 1 ] || printf '%-28s %12s %-9s %-18s %12s %6s\n' figure layernet unit peer 'peer value' ratio
    BENCH_TAP_INNER=1 LAYERNET="$here/target/release/layernet" scripts/tap-netns.sh -- "$0" "$@"

    # --- veth: Linux to Linux between two namespaces ------------------------
    a="layernet-bench-a-$$"
    b="layernet-bench-b-$$"
    pids=()
    work=$(mktemp -d)
    cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        ip netns del "$a" 2>/dev/null || true
        ip netns del "$b" 2>/dev/null || true
        rm -rf "$work"
    }
    trap cleanup EXIT
    ip netns add "$a"
    ip netns add "$b"
    ip -n "$a" link add va type veth peer name vb netns "$b"
    ip -n "$a" addr add 10.99.0.1/24 dev va
    ip -n "$b" addr add 10.99.0.2/24 dev vb
    for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
    ip -n "$a" link set va up
    ip -n "$b" link set vb up
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
    : > "$work/veth"
    : > "$work/lo"
    for _ in $(seq "$RUNS"); do
        stream "$b" "$a" 10.99.0.2 >> "$work/veth"
        stream "$a" "$a" 127.0.0.1 >> "$work/lo"
    done
    figure veth.tcp.linux-linux "$(median "$work/veth" | awk '{ print $1 / 1e9 }')" Gbit/s \
        linux-loopback "$(median "$work/lo" | awk '{ print $1 / 1e9 }')"
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
    rm -rf "$work"
}
trap cleanup EXIT
L=192.168.69.1
mkdir "$work/root"
head -c "$((MIB * 1024 * 1024))" /dev/urandom > "$work/root/big.bin"
$py echo-server 7007 & pids+=($!)
$py greeting-server 1235 & pids+=($!)

start_serve() { # ARGS...
    "$layernet" serve --root "$work/root" --grace 0.2 "$@" > "$work/serve.out" 2> "$work/serve.err" &
    serve_pid=$!
    for _ in $(seq 50); do ping -c 1 -W 1 "$L" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "bench-tap.sh: serve did not come up: $(tail -3 "$work/serve.err")" >&2
    exit 1
}
stop_serve() {
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}
keep() { echo "$2" >> "$work/$1"; } # keep NAME VALUE: one run's value

for run in $(seq "$RUNS"); do
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

    # Socket-level source and sink.
    "$layernet" bench --sink-source > "$work/ss.out" 2> "$work/ss.err" &
    serve_pid=$!
    for _ in $(seq 50); do ping -c 1 -W 1 "$L" >/dev/null 2>&1 && break; sleep 0.1; done
    read -r bits _ < <($py read "$L" 1234 "$SECS")
    keep source "$(awk -v b="$bits" 'BEGIN { print b / 1e9 }')"
    read -r bits _ < <($py source "$L" 1235 "$SECS")
    keep sink "$(awk -v b="$bits" 'BEGIN { print b / 1e9 }')"
    stop_serve

    # layernet serving files and echo.
    start_serve --services echo,files --max-connections 4
    url="http://$L:7878"
    down=$(curl -s --max-time 300 -o /dev/null -w '%{speed_download}' "$url/big.bin")
    up=$(curl -s --max-time 300 -o /dev/null -T "$work/root/big.bin" -w '%{speed_upload}' "$url/up.bin")
    keep download "$(awk -v b="$down" 'BEGIN { print b / 1e6 }')"
    keep upload "$(awk -v b="$up" 'BEGIN { print b / 1e6 }')"
    for size in 1 1024; do
        read -r p50 p99 _ < <($py rtt "$L" 7 "$size" "$SECS")
        keep "rtt$size-p50" "$p50"; keep "rtt$size-p99" "$p99"
        read -r p50 p99 _ < <($py rtt 127.0.0.1 7007 "$size" "$SECS")
        keep "lo-rtt$size-p50" "$p50"; keep "lo-rtt$size-p99" "$p99"
    done
    stop_serve

    # Greeting connections: every listening slot the pool allows.
    start_serve --services greeting --max-connections 8
    for c in 1 4 16; do
        read -r rate _ < <($py conns "$L" 1234 "$c" "$SECS")
        keep "conns$c" "$rate"
        read -r rate _ < <($py conns 127.0.0.1 1235 "$c" "$SECS")
        keep "lo-conns$c" "$rate"
    done
    stop_serve
    [ "$JSON" = 1 ] || echo "(run $run of $RUNS done)" >&2
done

m() { median "$work/$1"; }
figure tap.pump.tx "$(m pump-tx-fps)" frames/s
figure tap.pump.tx.bytes "$(m pump-tx-mbs)" MB/s
figure tap.pump.rx "$(m pump-rx-fps)" frames/s
figure tap.pump.rx.bytes "$(m pump-rx-mbs)" MB/s
gbit() { awk -v m="$1" 'BEGIN { print m * 8 / 1000 }'; } # MB/s to Gbit/s
figure tap.socket.source "$(m source)" Gbit/s pump-tx "$(gbit "$(m pump-tx-mbs)")"
figure tap.socket.sink "$(m sink)" Gbit/s pump-rx "$(gbit "$(m pump-rx-mbs)")"
figure tap.files.download "$(m download)" MB/s pump-tx "$(m pump-tx-mbs)"
figure tap.files.upload "$(m upload)" MB/s pump-rx "$(m pump-rx-mbs)"
for size in 1 1024; do
    figure "tap.echo.rtt$size.p50" "$(m "rtt$size-p50")" us linux-loopback "$(m "lo-rtt$size-p50")"
    figure "tap.echo.rtt$size.p99" "$(m "rtt$size-p99")" us linux-loopback "$(m "lo-rtt$size-p99")"
done
for c in 1 4 16; do
    figure "tap.greeting.conns.c$c" "$(m "conns$c")" conn/s linux-loopback "$(m "lo-conns$c")"
done
