#!/usr/bin/env bash
# The full lossy-link soak (issue 8): for each of SOAK_SEEDS seeds (default
# 20), a SOAK_MIB MiB (default 64) upload and download through the file
# service over a simulated segment with 10% drop, 1% corruption, 5%
# duplication and 10% reordering, checked byte for byte by SHA-256. Prints
# one line per seed with the faults that happened, and the totals.
# Usage: scripts/soak.sh   (or SOAK_SEEDS=5 SOAK_MIB=16 scripts/soak.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SEEDS=${SOAK_SEEDS:-20} SOAK_MIB=${SOAK_MIB:-64}
echo "soak: $SOAK_SEEDS seeds x $SOAK_MIB MiB each way"
exec cargo test --release --test soak -- --ignored --nocapture the_full_soak
