#!/usr/bin/env bash
# Fuzz the whole receive path (issue 8): cargo-fuzz's `receive` target, a
# fresh stack with every service listening fed a run of frames per input,
# for SECONDS (default 60) on one core. Starts from the committed seed
# corpus (fuzz/corpus/receive, never written to); what libFuzzer finds goes
# to a scratch directory, merged back into the seed corpus only with
# FUZZ_KEEP=1 (just the inputs that add coverage). A crash leaves its input
# in fuzz/artifacts/receive/ and fails the script.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
seeds=fuzz/corpus/receive
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo +nightly fuzz build receive >/dev/null 2>&1 || cargo +nightly fuzz build receive
start=$(date +%s)
cargo +nightly fuzz run receive "$work" "$seeds" -- \
    -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 2>"$work.log" || {
    status=$?
    tail -40 "$work.log"
    rm -f "$work.log"
    echo "fuzz: FAILED after $(($(date +%s) - start)) s"
    exit "$status"
}
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work.log")
cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -1)
rm -f "$work.log"
echo "fuzz: receive target, $execs executions in $(($(date +%s) - start)) s ($rate/s), $cov edges, $(ls "$work" | wc -l) new inputs; no crash"
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    cargo +nightly fuzz run receive "$seeds" "$work" -- -merge=1 2>/dev/null
    echo "fuzz: seed corpus now $(ls "$seeds" | wc -l) inputs"
fi
