#!/usr/bin/env bash
# Instructions per byte moved (issue 9): valgrind's callgrind counts the
# instructions of one 16 MiB bulk transfer over the simulated segment, for
# layernet and for the bare-smoltcp peer apart (callgrind's --toggle-collect
# on each side's never-inlined timing function: the connection and the
# transfer, not the setup before them), for each of
# `layernet bench`'s transfers (MTU 1500 and 9000, and MTU 1500 with the
# host profile's 24-socket pool). Instruction counts hardly depend on the machine's load, so
# these figures compare across machines where wall-time ones do not.
#
#   scripts/bench-cpu.sh           (needs valgrind; builds the release binary)
#
# Prints one line per side and transfer: instructions, bytes,
# instructions/byte, and layernet's over smoltcp's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "bench-cpu.sh: valgrind is not installed" >&2; exit 2; }
cargo build --release --quiet --bin layernet
bin=target/release/layernet
bytes=$((16 * 1024 * 1024))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Instructions executed inside functions matching $1 during transfer $2.
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        --toggle-collect="*bench::transfer::$1*" \
        "$bin" bench --only sim-transfer --runs 1 --transfer "$2" >/dev/null 2>"$out/log"
    sed -n 's/^summary: *//p' "$out/cg"
}

printf '%-10s %-24s %14s %10s %9s %7s\n' side transfer instructions bytes 'instr/B' ratio
for transfer in sim.tcp.mtu1500 sim.tcp.mtu9000 sim.tcp.mtu1500.pool24; do
    ours=$(count timed_layernet "$transfer")
    theirs=$(count timed_smoltcp "$transfer")
    awk -v o="$ours" -v t="$theirs" -v b="$bytes" -v m="$transfer" 'BEGIN {
        printf "%-10s %-24s %14d %10d %9.2f %7.2f\n", "layernet", m, o, b, o / b, o / t
        printf "%-10s %-24s %14d %10d %9.2f\n", "smoltcp", m, t, b, t / b
    }'
done
