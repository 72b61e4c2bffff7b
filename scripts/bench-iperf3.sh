#!/usr/bin/env bash
# iperf3 against layernet over TAP, beside iperf3 against iperf3 over a veth
# pair, in the same run (issue 20). Needs root and iperf3: the TAP part runs
# in a namespace of its own (scripts/tap-netns.sh) against `layernet serve
# --services iperf3` (release build); the veth part in two namespaces of its
# own joined by a veth pair, Linux's `iperf3 -s` in one and the client in the
# other (scripts/veth-pair.sh). All are deleted on exit. For each of TCP
# (-R, -P 4) and UDP (-u -b 1G, each way) the figure is the median of
# BENCH_RUNS runs (default 3) of the receiver's bit/s from `iperf3 --json`
# (UDP: what arrived, the sent rate less the loss, whose median is printed
# beside it). The load average at the start and the end is printed too.
#
#   sudo scripts/bench-iperf3.sh        (BENCH_RUNS, BENCH_SECONDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
MODES=("up:" "down:-R" "p4:-P 4" "p4-down:-P 4 -R" "udp:-u -b 1G" "udp-down:-u -b 1G -R")

# "BIT/S LOSS%" of the receiver, from one `iperf3 --json` run against HOST
# with ARGS (UDP's JSON has one `sum`: the sender's rate and the loss)
run_one() { # HOST ARGS...
    local host=$1
    shift
    timeout $((SECS + 30)) iperf3 -c "$host" -t "$SECS" --json "$@" \
        | python3 -c 'import json,sys
e = json.load(sys.stdin)["end"]
if "sum_received" in e and "lost_percent" not in e.get("sum", {}):
    print(int(e["sum_received"]["bits_per_second"]), 0)
else:
    s = e["sum"]
    print(int(s["bits_per_second"] * (1 - s["lost_percent"] / 100)), s["lost_percent"])'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# "NAME BIT/S LOSS%" for each mode, against HOST
measure() { # HOST PREFIX
    for m in "${MODES[@]}"; do
        local name=${m%%:*} args=${m#*:} f
        f=$(mktemp)
        for _ in $(seq "$RUNS"); do
            # shellcheck disable=SC2086 # the mode's flags are words
            run_one "$1" $args >> "$f" || echo "0 100" >> "$f"
        done
        echo "$2.$name $(awk '{ print $1 }' "$f" | median) $(awk '{ print $2 }' "$f" | median)"
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

# shellcheck source=scripts/veth-pair.sh
. scripts/veth-pair.sh
[ "$(id -u)" = 0 ] || { echo "bench-iperf3.sh: needs root (network namespaces, TAP, veth)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "bench-iperf3.sh: needs iperf3 (apt-get install iperf3)" >&2; exit 2; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cargo build --release --quiet --bin layernet
a="layernet-iperf3-a-$$"
b="layernet-iperf3-b-$$"
work=$(mktemp -d)
cleanup() {
    veth_pair_del "$a" "$b"
    rm -rf "$work"
}
trap cleanup EXIT
: > "$work/share"
BENCH_IPERF3_INNER=1 LAYERNET="$PWD/target/release/layernet" SHARE="$work/share" RUNS="$RUNS" SECS="$SECS" \
    scripts/tap-netns.sh -- "$0"

veth_pair "$a" "$b"
ip netns exec "$b" iperf3 -s -D
sleep 0.5
ip netns exec "$a" bash -c "$(declare -f run_one median measure); RUNS=$RUNS SECS=$SECS; MODES=(\"\${@}\"); measure 10.99.0.2 veth" _ "${MODES[@]}" >> "$work/share"

printf '%-22s %17s %7s %17s %7s %6s\n' mode 'layernet (TAP)' loss 'Linux (veth)' loss ratio
for m in "${MODES[@]}"; do
    name=${m%%:*}
    read -r t tl <<< "$(awk -v k="tap.$name" '$1 == k { print $2, $3 }' "$work/share")"
    read -r v vl <<< "$(awk -v k="veth.$name" '$1 == k { print $2, $3 }' "$work/share")"
    awk -v n="iperf3 ${m#*:}" -v t="${t:-0}" -v v="${v:-0}" -v tl="${tl:-0}" -v vl="${vl:-0}" \
        'BEGIN { printf "%-22s %10.2f Gbit/s %6.2f%% %10.2f Gbit/s %6.2f%% %6.2f\n", n, t / 1e9, tl, v / 1e9, vl, (v > 0) ? t / v : 0 }'
done
echo "load average (1, 5, 15 min): $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(nproc) CPUs"
