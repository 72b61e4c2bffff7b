#!/usr/bin/env bash
# The capture followed while `layernet serve` runs (issue 18): `--pcap -`
# piped into `tshark -r -` shows frames before serve stops, `--pcap FILE`
# is on disk after every round of polls, so a SIGKILL loses next to
# nothing, and with `--faults` the frames the wrapper dropped are marked. Runs inside the namespace that scripts/tap-netns.sh
# made: layernet is 192.168.69.1 on tap0, Linux is 192.168.69.100.
# Usage: live_pcap.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tpid=
extra_cleanup() { [ -z "$tpid" ] || kill -TERM "$tpid" 2>/dev/null || true; }
command -v tshark >/dev/null || fail "tshark is missing (scripts/test.sh installs it)"

mkdir "$work/root"
printf 'live from layernet\n' > "$work/root/live.txt"

# Until `grep -q PATTERN FILE` holds, for up to 15 s.
wait_for() {
    for _ in $(seq 150); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# serve's stdout is the capture, read by tshark through a pipe (a named
# one, so that both PIDs are ours to stop); its own lines go to stderr.
mkfifo "$work/pipe"
tshark -l -r - < "$work/pipe" > "$work/tshark.out" 2> "$work/tshark.err" &
tpid=$!
"$layernet" serve --root "$work/root" --pcap - > "$work/pipe" 2> "$work/serve.err" &
pid=$!
wait_for '(files)' "$work/serve.err" || fail "no listening lines on stderr: $(tail -3 "$work/serve.err")"
ok "serve lists its services on stderr while stdout carries the capture"

ping -c 2 -W 2 "$L" > /dev/null || fail "ping"
body=$(curl -s --max-time 10 "http://$L:7878/live.txt") || fail "curl"
[ "$body" = "live from layernet" ] || fail "GET answered '$body'"
wait_for 'Echo (ping) reply' "$work/tshark.out" || fail "tshark shows no echo reply: $(cat "$work/tshark.out" "$work/tshark.err")"
wait_for 'HTTP/1.[01] 200' "$work/tshark.out" || fail "tshark shows no HTTP answer: $(tail -5 "$work/tshark.out")"
kill -0 "$pid" 2>/dev/null || fail "serve is gone"
ok "tshark -r - shows $(wc -l < "$work/tshark.out") frames (ping replies, the HTTP 200) while serve runs"
grep -q 'GET /live.txt' "$work/serve.err" || fail "no access line on stderr"
ok "the access log went to stderr"

stop_serve
for _ in $(seq 50); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
status=0
wait "$tpid" || status=$?
tpid=
[ "$status" = 0 ] || fail "tshark exited $status: $(cat "$work/tshark.err")"
ok "tshark read the stream to its end when serve stopped"

# --pcap FILE: on disk while serve runs, and whole after a SIGKILL.
"$layernet" serve --root "$work/root" --pcap "$work/live.pcap" > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
wait_for '(files)' "$work/serve.out" || fail "serve did not start"
ping -c 2 -W 2 "$L" > /dev/null || fail "ping"
live=0
for _ in $(seq 50); do
    live=$(tshark -r "$work/live.pcap" -Y icmp 2>/dev/null | wc -l)
    [ "$live" -ge 4 ] && break
    sleep 0.1
done
[ "$live" -ge 4 ] || fail "the file holds $live ICMP frames while serve runs"
ok "--pcap FILE holds the $live ICMP frames while serve runs"
kill -KILL "$pid"
# (bash reports the kill itself on stderr: expected, not shown)
{ wait "$pid"; } 2>/dev/null || true
pid=
after=$(tshark -r "$work/live.pcap" 2>/dev/null | wc -l)
[ "$after" -ge "$live" ] || fail "after SIGKILL the file reads $after frames"
ok "after SIGKILL tshark still reads all $after frames"

# With --faults the capture is pcapng, and every frame the wrapper
# dropped, both ways, is in it with the comment `layernet: dropped`.
"$layernet" serve --root "$work/root" --faults drop=30 --pcap "$work/faults.pcapng" \
    > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
wait_for '(files)' "$work/serve.out" || fail "serve --faults did not start"
ping -c 20 -i 0.05 -W 1 "$L" > /dev/null || true
stop_serve
dropped=$(sed -n 's/^faults: .* offered, \([0-9]*\) dropped.*/\1/p' "$work/serve.err")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "no faults line with drops: $(tail -2 "$work/serve.err")"
marked=$(tshark -r "$work/faults.pcapng" -Y 'frame.comment == "layernet: dropped"' 2>/dev/null | wc -l)
[ "$marked" = "$dropped" ] || fail "$marked frames marked dropped, the wrapper dropped $dropped"
ok "--faults drop=30: pcapng, the $dropped frames the wrapper dropped (both ways) marked 'layernet: dropped'"

echo "live_pcap: all passed"
