#!/usr/bin/env bash
# HTTPS beside HTTP on `layernet serve`'s file service over TAP (issue
# 22), in the same run: curl GET and PUT of BENCH_TLS_MIB MiB (default
# 512) from a tmpfs root (/dev/shm), each way plain (7878) then TLS
# (7443), BENCH_RUNS times (default 3, the median shown). Each figure is
# the throughput curl saw and serve's CPU per MB (user + system seconds
# of the process, from /proc/PID/stat, over the transfer); the last lines
# are the CPU per MB that TLS adds. The load average is printed first and
# last: the machine is shared.
# Needs root: it runs in a namespace of its own (scripts/tap-netns.sh).
#   sudo scripts/bench-tls.sh    (BENCH_TLS_MIB, BENCH_RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
    cargo build --release --quiet
    exec scripts/tap-netns.sh -- "$0" --inside
fi
MIB=${BENCH_TLS_MIB:-512}
RUNS=${BENCH_RUNS:-3}
layernet=$(pwd)/target/release/layernet
work=$(mktemp -d /dev/shm/bench-tls.XXXXXX)
pid=
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
L=192.168.69.1
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir "$work/root"
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$work/root/big.bin"
"$layernet" serve --writable --root "$work/root" --tls-self-signed --tls-cert-out "$work/cert.pem" \
    > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 100); do
    curl -s -m 2 -o /dev/null --cacert "$work/cert.pem" "https://$L:7443/" 2>/dev/null && break
    sleep 0.1
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# run KIND URL CURL_ARGS...: one transfer; prints "MB/s cpu_ms_per_MB".
run() {
    local before after secs
    before=$(cpu)
    secs=$(curl -sS -m 600 --cacert "$work/cert.pem" -w '%{time_total}' "$@")
    after=$(cpu)
    awk -v s="$secs" -v c=$((after - before)) -v t="$ticks" -v m="$MIB" \
        'BEGIN { mb = m * 1.048576; printf "%.1f %.2f\n", mb / s, 1000 * c / t / mb }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A rate cost
for kind in get put; do
    for scheme in http https; do
        port=7878; [ "$scheme" = https ] && port=7443
        : > "$work/runs"
        for _ in $(seq "$RUNS"); do
            if [ "$kind" = get ]; then
                run -o /dev/null "$scheme://$L:$port/big.bin" >> "$work/runs"
            else
                run -o /dev/null -T "$work/root/big.bin" "$scheme://$L:$port/up.bin" >> "$work/runs"
                rm -f "$work/root/up.bin"
            fi
        done
        rate[$kind-$scheme]=$(awk '{print $1}' "$work/runs" | median)
        cost[$kind-$scheme]=$(awk '{print $2}' "$work/runs" | median)
        printf '%-4s %-5s %d MiB: %8s MB/s  serve CPU %6s ms/MB   (runs: %s)\n' "$kind" "$scheme" "$MIB" \
            "${rate[$kind-$scheme]}" "${cost[$kind-$scheme]}" "$(awk '{printf "%s ", $1}' "$work/runs")"
    done
done
for kind in get put; do
    awk -v k="$kind" -v a="${cost[$kind-https]}" -v b="${cost[$kind-http]}" -v ra="${rate[$kind-https]}" -v rb="${rate[$kind-http]}" \
        'BEGIN { printf "%s: TLS adds %.2f ms of serve CPU per MB (%.2f vs %.2f), throughput %.0f%% of plain\n", k, a - b, a, b, 100 * ra / rb }'
done
echo "serve VmHWM: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
