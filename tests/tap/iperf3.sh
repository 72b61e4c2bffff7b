#!/usr/bin/env bash
# Linux's iperf3 client against `layernet serve --services files,iperf3` on
# tap0 (inside the namespace scripts/tap-netns.sh made): a test each way,
# four parallel streams, --json checked field by field, and a second client
# refused while a test runs; UDP each way, with
# --json and over a lossy link. Usage: iperf3.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || fail "iperf3 is not installed (apt-get install iperf3)"

mkdir "$work/root"
start_serve --root "$work/root" --services files,iperf3 -v
grep -qx "listening on $L:5201 (iperf3)" "$work/serve.out" || fail "no 'listening on $L:5201 (iperf3)' line"
ok "serve lists iperf3 on port 5201"

# The JSON of one run: sum_sent and sum_received bytes, each stream's, and
# the direction; fails the script unless bytes moved and the sums add up.
check_json() { # FILE STREAMS REVERSE
    python3 - "$@" <<'PY' || fail "iperf3 --json $1: $(head -c 600 "$1")"
import json, sys
path, streams, reverse = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
j = json.load(open(path))
assert "error" not in j, j.get("error")
end = j["end"]
sent, received = end["sum_sent"]["bytes"], end["sum_received"]["bytes"]
assert sent > 0 and received > 0, (sent, received)
assert len(end["streams"]) == streams, len(end["streams"])
per = [s["receiver"]["bytes"] for s in end["streams"]]
assert all(b > 0 for b in per), per
assert sum(per) == received, (per, received)
assert j["start"]["test_start"]["reverse"] == int(reverse)
assert j["start"]["test_start"]["num_streams"] == streams
print(f"{sent} bytes sent, {received} received, {end['sum_received']['bits_per_second'] / 1e6:.1f} Mbit/s")
PY
}

timeout 30 iperf3 -c "$L" -t 2 > "$work/up.txt" 2>&1 || fail "iperf3 -c: $(cat "$work/up.txt")"
grep -q 'receiver' "$work/up.txt" || fail "no receiver line: $(cat "$work/up.txt")"
ok "iperf3 -c $L -t 2: $(grep receiver "$work/up.txt" | tail -1 | awk '{print $(NF-2), $(NF-1)}')"

timeout 30 iperf3 -c "$L" -t 2 -R > "$work/down.txt" 2>&1 || fail "iperf3 -R: $(cat "$work/down.txt")"
grep -q 'receiver' "$work/down.txt" || fail "no receiver line: $(cat "$work/down.txt")"
ok "iperf3 -c $L -t 2 -R: $(grep receiver "$work/down.txt" | tail -1 | awk '{print $(NF-2), $(NF-1)}')"

timeout 30 iperf3 -c "$L" -t 2 -P 4 > "$work/p4.txt" 2>&1 || fail "iperf3 -P 4: $(cat "$work/p4.txt")"
grep -q 'SUM.*receiver' "$work/p4.txt" || fail "no SUM line: $(cat "$work/p4.txt")"
ok "iperf3 -c $L -t 2 -P 4: $(grep 'SUM.*receiver' "$work/p4.txt" | awk '{print $(NF-2), $(NF-1)}')"

timeout 30 iperf3 -c "$L" -t 2 --json > "$work/up.json" 2>&1 || fail "iperf3 --json: $(head -c 600 "$work/up.json")"
ok "iperf3 --json: $(check_json "$work/up.json" 1 0)"
timeout 30 iperf3 -c "$L" -t 2 -P 4 -R --json > "$work/p4r.json" 2>&1 || fail "iperf3 -P 4 -R --json: $(head -c 600 "$work/p4r.json")"
ok "iperf3 -P 4 -R --json: $(check_json "$work/p4r.json" 4 1)"

# A second client while a test runs: iperf3's server refuses it at once
# (ACCESS_DENIED), and the first test is not disturbed.
timeout 30 iperf3 -c "$L" -t 4 > "$work/first.txt" 2>&1 &
first=$!
sleep 1.5
if timeout 10 iperf3 -c "$L" -t 1 > "$work/second.txt" 2>&1; then
    fail "a second client ran during a test: $(cat "$work/second.txt")"
fi
grep -q 'busy' "$work/second.txt" || fail "the second client was not told the server is busy: $(cat "$work/second.txt")"
ok "a second client is refused: $(grep -o 'the server is busy.*' "$work/second.txt" | head -1)"
wait "$first" || fail "the first test failed beside the refusal: $(cat "$work/first.txt")"
grep -q 'receiver' "$work/first.txt" || fail "the first test did not finish: $(cat "$work/first.txt")"
ok "the first test finished: $(grep receiver "$work/first.txt" | tail -1 | awk '{print $(NF-2), $(NF-1)}')"

# UDP (-u -b): the server counts the datagrams, and Linux's client prints
# the server's loss and jitter on its receiver line.
timeout 30 iperf3 -c "$L" -u -b 10M -t 2 > "$work/udp.txt" 2>&1 || fail "iperf3 -u: $(cat "$work/udp.txt")"
grep -q 'receiver' "$work/udp.txt" || fail "iperf3 -u: no receiver line: $(cat "$work/udp.txt")"
udp_line=$(grep receiver "$work/udp.txt" | tail -1)
echo "$udp_line" | grep -Eq ' ms +[0-9]+/[0-9]+ ' || fail "iperf3 -u: no jitter and loss on: $udp_line"
ok "iperf3 -c $L -u -b 10M -t 2: $(echo "$udp_line" | grep -Eo '[0-9.]+ Mbits/sec.*')"

timeout 30 iperf3 -c "$L" -u -b 10M -t 2 -R > "$work/udpr.txt" 2>&1 || fail "iperf3 -u -R: $(cat "$work/udpr.txt")"
udpr_line=$(grep receiver "$work/udpr.txt" | tail -1)
echo "$udpr_line" | grep -Eq ' ms +[0-9]+/[0-9]+ ' || fail "iperf3 -u -R: no receiver line: $(cat "$work/udpr.txt")"
ok "iperf3 -c $L -u -b 10M -t 2 -R: $(echo "$udpr_line" | grep -Eo '[0-9.]+ Mbits/sec.*')"

# The UDP JSON, read as users script it: the rate, and the loss and
# jitter the server counted (no loss on a TAP in a namespace).
check_udp_json() { # FILE STREAMS -> "RATE LOST PACKETS JITTER"
    python3 - "$@" <<'PY' || fail "iperf3 -u --json $1: $(head -c 800 "$1")"
import json, sys
path, streams = sys.argv[1], int(sys.argv[2])
j = json.load(open(path))
assert "error" not in j, j.get("error")
s = j["end"]["sum"]
assert s["packets"] > 0 and s["bytes"] > 0, s
assert len(j["end"]["streams"]) == streams
rate = s["bits_per_second"]
assert 5e6 < rate / streams < 15e6, rate
print(rate / 1e6, s["lost_packets"], s["packets"], s["jitter_ms"])
PY
}
timeout 30 iperf3 -c "$L" -u -b 10M -t 2 -P 2 --json > "$work/udp.json" 2>&1 || fail "iperf3 -u --json: $(head -c 600 "$work/udp.json")"
read -r rate lost packets jitter <<< "$(check_udp_json "$work/udp.json" 2)"
ok "iperf3 -u -b 10M -P 2 --json: $rate Mbit/s, $lost of $packets lost, jitter $jitter ms"
grep -q 'iperf3: UDP: ' "$work/serve.err" || fail "serve logged no UDP figures"

# And the server still serves after all that.
timeout 30 iperf3 -c "$L" -t 1 > "$work/last.txt" 2>&1 || fail "iperf3 after the refusals: $(cat "$work/last.txt")"
ok "a test after the refusals runs"

grep -q 'iperf3: test from' "$work/serve.err" || fail "serve logged no test"
stop_serve

# Loss on the wire (serve's --faults drops 3% of frames each way): the
# server counts the gaps and the client reports them. A lost "connect"
# datagram stalls iperf3's client, hence a few tries.
start_serve --root "$work/root" --services files,iperf3 --faults drop=3
lossy=
for try in 1 2 3; do
    if timeout 40 iperf3 -c "$L" -u -b 10M -t 2 --json > "$work/lossy.json" 2>&1; then
        lossy=$(check_udp_json "$work/lossy.json" 1) && break
    fi
    echo "     (try $try: $(head -c 200 "$work/lossy.json"))"
done
[ -n "$lossy" ] || fail "iperf3 -u over a lossy link did not finish in 3 tries"
read -r rate lost packets jitter <<< "$lossy"
[ "$lost" -gt 0 ] || fail "3% of frames dropped, yet $lost of $packets datagrams reported lost"
ok "iperf3 -u over --faults drop=3: $lost of $packets lost ($(( 100 * lost / packets ))%), jitter $jitter ms"
stop_serve
echo "iperf3: all passed"
