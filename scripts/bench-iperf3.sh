#!/usr/bin/env bash
# iperf3 against layernet over TAP, beside iperf3 against iperf3 over a veth
# pair, in the same run (issue 20). Needs root and iperf3: the TAP part runs
# in a namespace of its own (scripts/tap-netns.sh) against `layernet serve
# --services iperf3` (release build); the veth part in two namespaces of its
# own joined by a veth pair, Linux's `iperf3 -s` in one and the client in the
# other. All are deleted on exit. For each of -t SECS, -R, -P 4 the figure is
# the median of BENCH_RUNS runs (default 3) of the receiver's bit/s from
# `iperf3 --json`.
#
#   sudo scripts/bench-iperf3.sh        (BENCH_RUNS, BENCH_SECONDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
MODES=("up:" "down:-R" "p4:-P 4" "p4-down:-P 4 -R")

# bit/s of the receiver, from one `iperf3 --json` run against HOST with ARGS
run_one() { # HOST ARGS...
    local host=$1
    shift
    timeout $((SECS + 30)) iperf3 -c "$host" -t "$SECS" --json "$@" \
        | python3 -c 'import json,sys; j=json.load(sys.stdin); print(int(j["end"]["sum_received"]["bits_per_second"]))'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# "NAME BIT/S" for each mode, against HOST
measure() { # HOST PREFIX
    for m in "${MODES[@]}"; do
        local name=${m%%:*} args=${m#*:} f
        f=$(mktemp)
        for _ in $(seq "$RUNS"); do
            # shellcheck disable=SC2086 # the mode's flags are words
            run_one "$1" $args >> "$f" || echo 0 >> "$f"
        done
        echo "$2.$name $(median < "$f")"
        rm -f "$f"
    done
}

if [ "${BENCH_IPERF3_INNER:-}" = 1 ]; then
    # Inside tap-netns.sh's namespace: layernet is 192.168.69.1 on tap0.
    "$LAYERNET" serve --services iperf3 > "$SHARE.serve" 2>&1 &
    serve=$!
    trap 'kill -TERM $serve 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q '(iperf3)' "$SHARE.serve" && break; sleep 0.1; done
    measure 192.168.69.1 tap >> "$SHARE"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "bench-iperf3.sh: needs root (network namespaces, TAP, veth)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "bench-iperf3.sh: needs iperf3 (apt-get install iperf3)" >&2; exit 2; }
cargo build --release --quiet --bin layernet
a="layernet-iperf3-a-$$"
b="layernet-iperf3-b-$$"
work=$(mktemp -d)
cleanup() {
    local p
    p=$(ip netns pids "$b" 2>/dev/null || true)
    [ -z "$p" ] || kill $p 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
: > "$work/share"
BENCH_IPERF3_INNER=1 LAYERNET="$PWD/target/release/layernet" SHARE="$work/share" RUNS="$RUNS" SECS="$SECS" \
    scripts/tap-netns.sh -- "$0"

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" addr add 10.99.0.1/24 dev va
ip -n "$b" addr add 10.99.0.2/24 dev vb
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set va up
ip -n "$b" link set vb up
ip netns exec "$b" iperf3 -s -D
sleep 0.5
ip netns exec "$a" bash -c "$(declare -f run_one median measure); RUNS=$RUNS SECS=$SECS; MODES=(\"\${@}\"); measure 10.99.0.2 veth" _ "${MODES[@]}" >> "$work/share"

printf '%-16s %17s %17s %6s\n' mode 'layernet (TAP)' 'Linux (veth)' ratio
for m in "${MODES[@]}"; do
    name=${m%%:*}
    t=$(awk -v k="tap.$name" '$1 == k { print $2 }' "$work/share")
    v=$(awk -v k="veth.$name" '$1 == k { print $2 }' "$work/share")
    awk -v n="iperf3 ${m#*:}" -v t="${t:-0}" -v v="${v:-0}" \
        'BEGIN { printf "%-16s %10.2f Gbit/s %10.2f Gbit/s %6.2f\n", n, t / 1e9, v / 1e9, (v > 0) ? t / v : 0 }'
done
