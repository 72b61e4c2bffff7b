#!/usr/bin/env bash
# `--tap-offload`: virtio-net headers and the kernel's checksum and TCP
# segmentation offloads on tap0. Linux's curl downloads and uploads a
# multi-MB file byte for byte over IPv4 and IPv6, nc echoes, ping answers;
# layernet's own client downloads from python3 -m http.server; the capture
# holds TCP segments bigger than the link both ways, every one with a valid
# checksum, as the gate found too; a plain stack after a killed offload one
# still works. Runs inside scripts/tap-netns.sh.
# Usage: offload.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
H=192.168.69.100
H6=fd00::100
L6=fd00::1
http_pid=
extra_cleanup() { [ -z "$http_pid" ] || kill "$http_pid" 2>/dev/null || true; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }

[ "$(cat /proc/sys/net/ipv6/conf/tap0/disable_ipv6 2>/dev/null || echo 1)" = 0 ] \
    || sysctl -qw net.ipv6.conf.tap0.disable_ipv6=0 \
    || fail "IPv6 is disabled on tap0 and cannot be enabled"
ip -6 addr add "$H6/64" dev tap0 nodad

set +e
"$layernet" --tap-offload --faults drop=5 serve > /dev/null 2> "$work/err"
code=$?
set -e
[ "$code" != 0 ] && grep -q "not supported with --tap-offload" "$work/err" \
    || fail "--faults with --tap-offload exited $code: $(cat "$work/err")"
ok "--faults with --tap-offload: $(cat "$work/err")"

mkdir "$work/root" "$work/www"
head -c 8000000 /dev/urandom > "$work/root/big.bin"
start_serve --writable --tap-offload --ip6 "$L6/64" --root "$work/root" --pcap "$work/serve.pcap" --counters
ethtool -k tap0 2>/dev/null | grep -q "^tcp-segmentation-offload: on" \
    || [ ! -x "$(command -v ethtool)" ] || fail "tap0 does not offload TCP segmentation: $(ethtool -k tap0 | head -20)"

for a in "$L" "$L6"; do
    out=$(ping -c 2 -W 2 "$a") || fail "ping $a: $out"
    out2=$(ping -c 1 -W 2 -s 1400 "$a") || fail "ping -s 1400 $a: $out2"
    got=$(printf 'hello offload\n' | timeout 10 nc -N "$a" 7) || fail "nc $a 7"
    [ "$got" = "hello offload" ] || fail "nc $a 7 answered '$got'"
    ok "$a: ping $(echo "$out" | grep -o '[0-9]* received'), a 1400-byte ping, nc echo"
done

want=$(sha "$work/root/big.bin")
for url in "http://$L:7878" "http://[$L6]:7878"; do
    curl -sS -g --max-time 60 "$url/big.bin" -o "$work/down.bin" || fail "curl $url/big.bin"
    [ "$(sha "$work/down.bin")" = "$want" ] || fail "the download from $url differs"
    curl -sS -g --max-time 60 -T "$work/down.bin" "$url/up.bin" > /dev/null || fail "curl -T $url/up.bin"
    [ "$(sha "$work/root/up.bin")" = "$want" ] || fail "the upload to $url differs"
    rm "$work/root/up.bin"
    ok "curl $url: 8 MB down and up, sha256 equal"
done
refresh_counters
for row in "gate  drop: bad checksum" "gate  drop: malformed" "IPv4  bad checksums"; do
    [ "$(counter_value "$row")" = 0 ] || fail "$row: $(counter_value "$row")"
done
ok "the gate found no bad checksum and nothing malformed; TCP retransmissions: $(counter_value 'TCP   retransmissions')"
stop_serve

# Every TCP segment in the capture is whole and valid, and offload did
# its work: segments bigger than the link, from the kernel and to it.
summary=$(python3 - "$work/serve.pcap" <<'PY'

import struct, sys
data = open(sys.argv[1], "rb").read()
off, frames, big_in, big_out, bad = 24, 0, 0, 0, 0
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
while off + 16 <= len(data):
    _, _, incl, orig = struct.unpack("<IIII", data[off:off + 16])
    f = data[off + 16:off + 16 + incl]
    off += 16 + incl
    frames += 1
    if incl != orig: sys.exit(f"frame {frames} cut in the capture: {incl} of {orig}")
    kind = f[12:14]
    if kind == b"\x08\x00" and f[23] == 6:
        ihl = (f[14] & 15) * 4
        total = struct.unpack("!H", f[16:18])[0]
        seg, pseudo = f[14 + ihl:14 + total], f[26:34] + struct.pack("!HH", 6, total - ihl)
        src = f[26:30]
    elif kind == b"\x86\xdd" and f[20] == 6:
        plen = struct.unpack("!H", f[18:20])[0]
        seg, pseudo = f[54:54 + plen], f[22:54] + struct.pack("!IxxxB", plen, 6)
        src = f[22:38]
    else:
        continue
    if csum(pseudo + seg) != 0xffff: bad += 1
    if len(f) > 1514:
        if src in (bytes([192, 168, 69, 1]), bytes.fromhex("fd000000000000000000000000000001")): big_out += 1
        else: big_in += 1
print(f"{frames} frames, {big_in} segments over 1514 bytes in, {big_out} out, {bad} bad checksums")
if bad or not big_in or not big_out: sys.exit(1)
PY
) || fail "the capture: $summary"
ok "capture: $summary"

# layernet's client against Linux's http.server.
head -c 6000000 /dev/urandom > "$work/www/data.bin"
(cd "$work/www" && exec python3 -m http.server 8000 --bind :: >/dev/null 2>&1) &
http_pid=$!
for _ in $(seq 50); do curl -s --max-time 1 "http://$H:8000/" > /dev/null 2>&1 && break; sleep 0.1; done
want=$(sha "$work/www/data.bin")
for target in "$H:8000" "[$H6]:8000"; do
    (cd "$work" && "$layernet" --tap-offload --ip6 "$L6/64" get "$target/data.bin" -o got.bin > get.out 2>&1) \
        || fail "layernet --tap-offload get $target: $(cat "$work/get.out")"
    [ "$(sha "$work/got.bin")" = "$want" ] || fail "layernet get $target: the file differs"
    rm "$work/got.bin"
    ok "layernet --tap-offload get $target/data.bin: 6 MB, sha256 equal"
done

# The offloads are tap0's, not the descriptor's: a stack killed with them on
# must not leave the next one without them 64 KiB frames it cannot read.
start_serve --tap-offload --root "$work/root"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=
start_serve --root "$work/root"
curl -sS --max-time 30 "http://$L:7878/big.bin" -o "$work/down.bin" || fail "curl without offload, after a killed offload stack"
[ "$(sha "$work/down.bin")" = "$(sha "$work/root/big.bin")" ] || fail "the download without offload differs"
stop_serve
ok "after an offload stack killed with SIGKILL, a plain one downloads 8 MB byte for byte"
echo "offload: all passed"
