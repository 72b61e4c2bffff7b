#!/usr/bin/env bash
# Hostile frames over a real link: crafted frames sent raw on tap0's Linux
# side (tests/tap/frames.py), each class with the gate counter that must
# rise for it, then a check that layernet still serves. The in-process
# harness (tests/hostile_cases.rs) covers every case with its exact reply;
# this shows the same path on TAP.
# Usage: hostile.sh PATH_TO_LAYERNET
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir "$work/root"
start_serve --root "$work/root" --counters
ping -c 1 -W 2 "$L" >/dev/null || fail "no ping before"

refresh_counters
declare -A before
for row in 'drop: malformed' 'drop: bad checksum' 'drop: fragment' 'drop: unsupported protocol' 'drop: not for us'; do
    before[$row]=$(counter_value "$row")
done

PYTHONPATH="$(dirname "$0")" python3 - <<'PY' || fail "sending the hostile frames"
from frames import eth, ipv4, tcp, udp, sender, LAYERNET
import struct
raw = sender()
syn = tcp(40000, 7, 0x02)
cases = {
    "malformed": [
        eth(ipv4(syn, 6, ihl=4)),                       # IPv4 header length under 5
        eth(ipv4(syn, 6, ihl=15)),                      # header length past the packet
        eth(ipv4(syn, 6, total=200)),                   # total length past the frame
        eth(ipv4(syn, 6, total=10)),                    # total length under the header
        eth(ipv4(tcp(40001, 7, 0x02, offset=4), 6)),    # TCP data offset under 5
        eth(ipv4(tcp(40002, 7, 0x02, offset=15), 6)),   # TCP data offset past the segment
        eth(ipv4(udp(5000, 6868, b"x", length=4), 17)), # UDP length under 8
        eth(ipv4(udp(5000, 6868, b"x", length=900), 17)),  # UDP length past the packet
    ],
    "bad checksum": [
        eth(ipv4(syn, 6, good_sum=False)),              # IPv4 header checksum
        eth(ipv4(tcp(40003, 7, 0x02, good_sum=False), 6)),  # TCP checksum
        eth(ipv4(udp(5000, 6868, b"hi")[:6] + b"\x12\x34" + b"hi", 17)),  # UDP checksum
    ],
    "fragment": [
        eth(ipv4(syn, 6, frag=0x2000)),                 # more fragments
        eth(ipv4(syn[:8], 6, frag=0x2000)),             # a tiny first fragment
        eth(ipv4(syn, 6, frag=8191)),                   # offset 65528: past 64 KiB
    ],
    "unsupported protocol": [
        eth(struct.pack("!HHBBH", 1, 0x0800, 8, 4, 1) + bytes(28), ethertype=0x0806),  # ARP, hardware length 8
        eth(ipv4(b"\0" * 8, 99), ethertype=0x0800),     # IP protocol 99
    ],
    "not for us": [
        eth(ipv4(syn, 6, dst=bytes([192, 168, 69, 77]))),  # another host's address
    ],
}
for frames in cases.values():
    for f in frames:
        raw.send(f)
# And the TCP oddities smoltcp must survive (expected replies: tests/hostile_cases.rs).
for flags in (0x03, 0x06, 0xFF, 0x00):                  # SYN+FIN, SYN+RST, all flags, none
    raw.send(eth(ipv4(tcp(41000 + flags, 7, flags), 6)))
raw.send(eth(ipv4(tcp(41300, 7, 0x02, options=b"\x02\x04\x00\x00"), 6)))  # MSS 0
raw.send(eth(ipv4(tcp(41301, 7, 0x02, options=b"\x03\x03\x0f\x00"), 6)))  # window scale 15
raw.send(eth(ipv4(tcp(41302, 7, 0x02, options=b"\x02\x00\x00\x00"), 6)))  # option length 0
raw.send(eth(ipv4(tcp(41303, 7, 0x20 | 0x18, urg=60000, payload=b"u"), 6)))  # urgent past payload
raw.send(eth(ipv4(tcp(41304, 7, 0x02, src=LAYERNET), 6, src=LAYERNET)))  # land
raw.send(eth(ipv4(b"\x08\x00\x00\x00" + bytes(1400), 1)))  # ICMP echo, bad checksum
print("sent:", {k: len(v) for k, v in cases.items()})
PY
sleep 0.5
refresh_counters
for row in 'drop: malformed:8' 'drop: bad checksum:4' 'drop: fragment:3' 'drop: unsupported protocol:2' 'drop: not for us:1'; do
    name=${row%:*}; want=${row##*:}
    now=$(counter_value "$name")
    [ $((now - ${before[$name]})) -ge "$want" ] || fail "$name rose by $((now - ${before[$name]})), expected at least $want"
    ok "$name: +$((now - ${before[$name]})) (at least $want sent)"
done
ping -c 2 -W 2 "$L" >/dev/null || fail "no ping after the hostile frames"
out=$(printf 'still here\n' | timeout 10 nc -N "$L" 7) || fail "echo after the hostile frames"
[ "$out" = "still here" ] || fail "echo answered '$out'"
ok "after every hostile frame: ping answered, echo served"
stop_serve
echo "hostile: all passed"
