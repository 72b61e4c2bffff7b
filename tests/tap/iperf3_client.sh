#!/usr/bin/env bash
# `layernet iperf3 -c` against Linux's `iperf3 -s` (nobody here wrote it):
# TCP each way, four parallel streams, UDP each way, and the --json
# figures read as users script them. Runs inside scripts/tap-netns.sh:
# layernet (a client: 192.168.69.2) on tap0, Linux 192.168.69.100.
# Usage: iperf3_client.sh PATH_TO_LAYERNET
set -euo pipefail
layernet=$(realpath "$1")
work=$(mktemp -d)
spid=
cleanup() {
    [ -z "$spid" ] || kill "$spid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/server.log" ] && tail -20 "$work/server.log" | sed 's/^/  iperf3 -s: /'; exit 1; }
ok() { echo "ok   $*"; }
command -v iperf3 >/dev/null || fail "iperf3 is not installed (apt-get install iperf3)"
H=192.168.69.100

iperf3 -s -B "$H" > "$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/$H/5201") 2>/dev/null && break; sleep 0.1; done
# That probe was a connection too; let iperf3 -s settle after it.
sleep 0.5

# One run; its summary must have a sender and a receiver line with a rate.
run() { # NAME ARGS...
    local name=$1
    shift
    timeout 60 "$layernet" iperf3 -c "$H" "$@" > "$work/$name.out" 2>&1 || fail "layernet iperf3 $*: $(cat "$work/$name.out")"
    grep -Eq 'bits/sec.* sender$' "$work/$name.out" || fail "layernet iperf3 $*: no sender line: $(cat "$work/$name.out")"
    grep -Eq 'bits/sec.* receiver$' "$work/$name.out" || fail "layernet iperf3 $*: no receiver line: $(cat "$work/$name.out")"
    ok "layernet iperf3 -c $H $*: $(grep -E 'receiver$' "$work/$name.out" | grep -Eo '[0-9.]+ [KMG]bits/sec.*')"
}
run up -t 2
run down -t 2 -R
run p4 -t 2 -P 4
grep -q '^\[SUM\]' "$work/p4.out" || fail "-P 4: no SUM line: $(cat "$work/p4.out")"
run udp -t 2 -u -b 10M
run udpr -t 2 -u -b 10M -R
grep -Eq ' ms +[0-9]+/[0-9]+ ' "$work/udpr.out" || fail "-u -R: no jitter and loss: $(cat "$work/udpr.out")"

# The JSON: the fields users script against, checked against what the
# server itself says (its log line of the test).
json_check() { # FILE UDP
    python3 - "$@" <<'PY' || fail "layernet iperf3 --json $1: $(head -c 800 "$1")"
import json, sys
path, udp = sys.argv[1], sys.argv[2] == "1"
end = json.load(open(path))["end"]
s, r = end["sum_sent"], end["sum_received"]
assert s["bytes"] > 0 and r["bytes"] > 0, (s, r)
assert r["bytes"] <= s["bytes"], (s, r)
assert s["bits_per_second"] > 0 and r["bits_per_second"] > 0
if udp:
    assert r["packets"] > 0 and 0 <= r["lost_packets"] <= r["packets"], r
    assert 5e6 < s["bits_per_second"] < 15e6, s
    print(f"{r['bits_per_second'] / 1e6:.2f} Mbit/s, {r['lost_packets']}/{r['packets']} lost, jitter {r['jitter_ms']:.3f} ms")
else:
    print(f"{s['bytes']} bytes sent, {r['bytes']} received, {r['bits_per_second'] / 1e6:.1f} Mbit/s")
PY
}
timeout 60 "$layernet" iperf3 -c "$H" -t 2 --json > "$work/tcp.json" 2>"$work/tcp.err" || fail "--json: $(cat "$work/tcp.err")"
ok "layernet iperf3 --json: $(json_check "$work/tcp.json" 0)"
timeout 60 "$layernet" iperf3 -c "$H" -t 2 -u -b 10M --json > "$work/udp.json" 2>"$work/udp.err" || fail "-u --json: $(cat "$work/udp.err")"
ok "layernet iperf3 -u -b 10M --json: $(json_check "$work/udp.json" 1)"

# Bad input: one clear line, exit 2, no TAP needed.
if "$layernet" iperf3 -c "$H" -b fast > "$work/bad.out" 2>&1; then fail "-b fast was taken"; fi
grep -q 'bits per second' "$work/bad.out" || fail "-b fast: $(cat "$work/bad.out")"
ok "a bad -b is refused: $(grep -o 'give bits.*' "$work/bad.out")"
echo "iperf3_client: all passed"
