#!/usr/bin/env bash
# Pictures from a Linux capture (issue 18): tcpdump records, on the Linux
# side of tap0, curl fetching a file from `layernet serve` and nc reading
# the greeting; `layernet diagram` then draws every picture from that
# capture, and from a pcapng copy of it (editcap), into OUTDIR, where
# tests/diagram.rs parses them and renders them in Chromium.
# Runs inside `scripts/tap-netns.sh --tap tap0`: serve is 192.168.69.1,
# Linux 192.168.69.100.
# Usage: diagram.sh PATH_TO_LAYERNET OUTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=$(realpath "$2")
tcpdump_pid=
extra_cleanup() { [ -z "$tcpdump_pid" ] || kill "$tcpdump_pid" 2>/dev/null || true; }

mkdir "$work/root"
head -c 200000 /dev/urandom > "$work/root/file.bin"
start_serve --root "$work/root"
# -U and --immediate-mode: take and write each packet as it comes (not in
# blocks of a poll timeout), so that stopping tcpdump loses none.
tcpdump -Z root -n --immediate-mode -B 16384 -i tap0 -U -w "$out/linux.pcap" 2> "$work/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 50); do grep -q 'listening on' "$work/tcpdump.err" && break; sleep 0.1; done
grep -q 'listening on' "$work/tcpdump.err" || fail "tcpdump did not start: $(cat "$work/tcpdump.err")"
nc -w 3 "$L" 1234 < /dev/null > "$work/greeting.txt" || true
grep -q 'connect successfully' "$work/greeting.txt" || fail "no greeting over nc: $(cat "$work/greeting.txt")"
ok "nc read the greeting"
curl -sS -m 60 -o "$work/down.bin" "http://$L:7878/file.bin" || fail "curl GET file.bin"
cmp -s "$work/down.bin" "$work/root/file.bin" || fail "curl GET file.bin: bytes differ"
ok "curl fetched 200000 bytes"
sleep 0.5
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
stop_serve
[ "$(stat -c %s "$out/linux.pcap")" -gt 100 ] || fail "tcpdump captured nothing: $(cat "$work/tcpdump.err")"
ok "tcpdump captured $(tcpdump -r "$out/linux.pcap" 2>/dev/null | wc -l) frames"
if command -v editcap >/dev/null; then
    editcap -F pcapng "$out/linux.pcap" "$out/linux.pcapng" || fail "editcap to pcapng"
fi
draw() {
    local name=$1; shift
    "$layernet" diagram "$@" -o "$out/$name.svg" 2> "$work/diagram.err" \
        || fail "layernet diagram $*: $(cat "$work/diagram.err")"
    ok "diagram $name"
}
draw linux-ladder-greeting ladder "$out/linux.pcap" --filter service=greeting
draw linux-ladder-files ladder "$out/linux.pcap" --filter service=files,frames=1..60
draw linux-anatomy anatomy "$out/linux.pcap" --filter service=files
draw linux-states-greeting states "$out/linux.pcap" --filter service=greeting
draw linux-states-files states "$out/linux.pcap" --filter service=files
draw linux-plot plot "$out/linux.pcap" --filter service=files
if [ -f "$out/linux.pcapng" ]; then
    draw linux-ng-ladder ladder "$out/linux.pcapng" --filter service=greeting
    draw linux-ng-plot plot "$out/linux.pcapng" --filter service=files
fi
echo "diagram: all passed"
