#!/usr/bin/env bash
# Pictures from a Linux capture (issue 18): tcpdump records, on the Linux
# side of tap0, curl fetching a file from `layernet serve` and nc reading
# the greeting, while serve records the same exchange with --pcap;
# `layernet diagram` then draws every picture from both captures, and
# from a pcapng copy of Linux's (editcap), into OUTDIR, where
# tests/diagram.rs parses them, renders them in Chromium, and compares
# the pictures of the two sides.
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
# -U and --immediate-mode: take and write each packet as it comes (not in
# blocks of a poll timeout), so that stopping tcpdump loses none.
# -s 2048: in immediate mode each slot of the kernel's ring is as large as
# the snap length; at the default (256 KiB) the 16 MiB ring had 64 slots,
# and a burst of the download overflowed it ("packets dropped by kernel").
# tcpdump starts before serve, so both captures begin with serve's first
# frame and can be compared whole.
tcpdump -Z root -n --immediate-mode -s 2048 -B 16384 -i tap0 -U -w "$out/linux.pcap" 2> "$work/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 50); do grep -q 'listening on' "$work/tcpdump.err" && break; sleep 0.1; done
grep -q 'listening on' "$work/tcpdump.err" || fail "tcpdump did not start: $(cat "$work/tcpdump.err")"
start_serve --root "$work/root" --pcap "$out/layernet.pcap"
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
ok "tcpdump captured $(tcpdump -r "$out/linux.pcap" 2>/dev/null | wc -l) frames ($(grep -h 'dropped by' "$work/tcpdump.err" | paste -sd, -))"
# The pictures of the two sides are compared: a frame tcpdump lost would
# show as a difference that is not layernet's.
grep -q '^0 packets dropped by kernel' "$work/tcpdump.err" || fail "tcpdump lost frames, the two captures cannot be compared: $(cat "$work/tcpdump.err")"
if command -v editcap >/dev/null; then
    editcap -F pcapng "$out/linux.pcap" "$out/linux.pcapng" || fail "editcap to pcapng"
fi
draw() {
    local name=$1; shift
    "$layernet" diagram "$@" -o "$out/$name.svg" 2> "$work/diagram.err" \
        || fail "layernet diagram $*: $(cat "$work/diagram.err")"
    ok "diagram $name"
}
[ "$(stat -c %s "$out/layernet.pcap")" -gt 100 ] || fail "serve --pcap captured nothing"
ok "serve captured $(tcpdump -r "$out/layernet.pcap" 2>/dev/null | wc -l) frames"
for side in linux layernet; do
    draw $side-ladder-greeting ladder "$out/$side.pcap" --filter service=greeting
    draw $side-ladder-files ladder "$out/$side.pcap" --filter service=files,frames=1..60
    draw $side-ladder-files-all ladder "$out/$side.pcap" --filter service=files
    draw $side-anatomy anatomy "$out/$side.pcap" --filter service=files
    draw $side-states-greeting states "$out/$side.pcap" --filter service=greeting
    draw $side-states-files states "$out/$side.pcap" --filter service=files
    draw $side-plot plot "$out/$side.pcap" --filter service=files
done
if [ -f "$out/linux.pcapng" ]; then
    draw linux-ng-ladder ladder "$out/linux.pcapng" --filter service=greeting
    draw linux-ng-plot plot "$out/linux.pcapng" --filter service=files
fi
echo "diagram: all passed"
