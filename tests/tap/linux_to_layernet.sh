#!/usr/bin/env bash
# Linux peers against `layernet serve` on tap0. Runs inside the namespace that
# scripts/tap-netns.sh made: layernet is 192.168.69.1 on tap0, Linux is
# 192.168.69.100. Usage: linux_to_layernet.sh PATH_TO_LAYERNET
set -euo pipefail
layernet=$(realpath "$1")
work=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/serve.err" ] && sed 's/^/  serve: /' "$work/serve.err"; exit 1; }
ok() { echo "ok   $*"; }
L=192.168.69.1

mkdir "$work/root"
printf 'hello from layernet\n' > "$work/root/hello.txt"
head -c 300000 /dev/urandom > "$work/big.bin"
cp "$work/big.bin" "$work/root/big.bin"

# With the trace, the capture and the counters on: they must not change
# what the services do, and are checked at the end.
"$layernet" serve --writable --root "$work/root" --grace 2 --trace=brief --pcap "$work/serve.pcap" \
    > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q '(chat)' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
for s in "7 (echo)" "1234 (greeting)" "21566 (time-echo)" "7878 (files)" "6868 (chat)"; do
    grep -qx "listening on $L:$s" "$work/serve.out" || fail "no 'listening on $L:$s' line"
done
ok "serve printed its listening lines"

ping -c 3 -W 2 "$L" > "$work/ping" || fail "ping: $(cat "$work/ping")"
ok "ping: $(grep -o '[0-9]* received' "$work/ping"), $(tail -1 "$work/ping")"

out=$(printf 'hello layernet\n' | timeout 10 nc -N "$L" 7) || fail "nc echo"
[ "$out" = "hello layernet" ] || fail "echo answered '$out'"
ok "nc to echo: '$out'"

timeout 10 nc -d "$L" 1234 > "$work/greeting" || fail "nc greeting"
printf 'connect successfully!\r\n' | cmp -s - "$work/greeting" || fail "greeting was: $(od -c "$work/greeting")"
ok "nc to greeting: connect successfully!\\r\\n"

out=$(printf 'line one\r\n' | timeout 10 nc -N "$L" 21566) || fail "nc time-echo"
[[ "$out" =~ ^\[[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\]:line\ one$ ]] || fail "time-echo answered '$out'"
ok "nc to time-echo: $out"

python3 - "$L" <<'PY' || fail "python time-echo client"
# The classic client: send without a newline, wait for the answer.
import re, socket, sys
s = socket.create_connection((sys.argv[1], 21566), timeout=5)
s.send(b"no newline here")
data = s.recv(1024)
assert re.fullmatch(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]:no newline here", data), data
s.close()
print("ok   python time-echo client (no newline):", data.decode())
PY

python3 - "$L" <<'PY' || fail "python greeting client"
import socket, sys
s = socket.create_connection((sys.argv[1], 1234), timeout=5)
data = b""
while True:
    chunk = s.recv(1024)
    if not chunk:
        break
    data += chunk
assert data == b"connect successfully!\r\n", data
print("ok   python greeting client:", repr(data))
PY

python3 - "$L" "$work/big.bin" <<'PY' || fail "python HTTP/1.0 file client"
# A hand-written file client: minimal HTTP/1.0 GET, read until the server closes.
import hashlib, socket, sys
s = socket.create_connection((sys.argv[1], 7878), timeout=10)
s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200"), head
want = open(sys.argv[2], "rb").read()
assert body == want, (len(body), len(want))
print("ok   python HTTP/1.0 file client:", len(body), "bytes, sha256", hashlib.sha256(body).hexdigest()[:16])
PY

curl -sS -m 10 -o "$work/got.txt" "http://$L:7878/hello.txt" || fail "curl GET"
cmp -s "$work/got.txt" "$work/root/hello.txt" || fail "curl GET content"
ok "curl GET hello.txt"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://$L:7878/nope.txt") || fail "curl 404"
[ "$code" = 404 ] || fail "missing file gave $code"
ok "curl GET nope.txt: 404"
code=$(curl -sS -m 20 -o /dev/null -w '%{http_code}' -T "$work/big.bin" "http://$L:7878/up.bin") || fail "curl PUT"
[ "$code" = 201 ] || fail "PUT gave $code"
cmp -s "$work/big.bin" "$work/root/up.bin" || fail "PUT content differs"
ok "curl PUT up.bin: 201, identical on disk"
head -c 100000 "$work/big.bin" > "$work/part.bin"
curl -sS -m 20 -C - -o "$work/part.bin" "http://$L:7878/big.bin" || fail "curl -C -"
cmp -s "$work/part.bin" "$work/big.bin" || fail "resumed download differs"
ok "curl -C - resumed big.bin from 100000 bytes"
curl -sS -m 10 -H 'Accept: text/plain' "http://$L:7878/" | grep -q '^hello.txt 20$' || fail "listing"
ok "curl GET / listing (Accept: text/plain)"

python3 - "$L" <<'PY' || fail "python chat peers"
# Two chat peers on the Linux side, talking through layernet's room.
import socket, sys
room = (sys.argv[1], 6868)
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("192.168.69.100", 6868)); a.settimeout(5)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("192.168.69.100", 6869)); b.settimeout(5)
a.sendto(b"hello, A here", room)
b.sendto(b"hi A, B here", room)
data, frm = a.recvfrom(1024)
assert frm == room and data == b"[192.168.69.100:6869] hi A, B here", (data, frm)
a.sendto(b"bye B", room)
data, frm = b.recvfrom(1024)
assert data == b"[192.168.69.100:6868] bye B", data
print("ok   python chat peers through the room:", data.decode())
PY

kill -USR1 "$pid"
for _ in $(seq 50); do grep -q '^layer counter' "$work/serve.err" && break; sleep 0.1; done
grep -q '^layer counter' "$work/serve.err" || fail "SIGUSR1 printed no counter table"
grep -q '^files tcp/7878\|^layernet    files tcp/7878' "$work/serve.err" || fail "no per-application row for files"
ok "SIGUSR1: $(grep -m1 '^TCP   segments rx/tx' "$work/serve.err" | tr -s ' ')"

# Shutdown: SIGTERM during an upload and a download. The process must end
# after the grace period with exit 0, and leave no temporary file.
curl -sS -m 30 --limit-rate 40k -o /dev/null "http://$L:7878/big.bin" 2>/dev/null &
down=$!
curl -sS -m 30 --limit-rate 40k -T "$work/big.bin" "http://$L:7878/up.bin" -o /dev/null 2>/dev/null &
up=$!
# Both transfers must be under way: the upload's temporary file exists.
for _ in $(seq 100); do
    ls -A "$work/root" | grep -q '^\.layernet-upload' && break
    sleep 0.1
done
ls -A "$work/root" | grep -q '^\.layernet-upload' || fail "the upload did not start"
start=$(date +%s%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait "$down" 2>/dev/null || true
wait "$up" 2>/dev/null || true
[ "$status" = 0 ] || fail "serve exited $status after SIGTERM"
[ "$took_ms" -lt 3500 ] || fail "serve took $took_ms ms to stop with a 2 s grace period"
leftover=$(ls -A "$work/root" | grep -c '^\.layernet-upload' || true)
[ "$leftover" = 0 ] || fail "$leftover temporary upload file(s) left"
cmp -s "$work/big.bin" "$work/root/up.bin" || fail "the interrupted upload damaged up.bin"
ok "SIGTERM during transfers: exit 0 after ${took_ms} ms (grace 2 s), no temporary file, old up.bin intact"
# The trace and the capture of that whole session: both directions, the
# same frames, readable by tshark.
traced=$(grep -c '^#[0-9]' "$work/serve.err" || true)
grep -q '^#[0-9]* [0-9.]* layernet rx .*ICMP echo request' "$work/serve.err" || fail "no rx ping in the trace"
grep -q '^#[0-9]* [0-9.]* layernet tx .*ICMP echo reply' "$work/serve.err" || fail "no tx ping reply in the trace"
grep -q 'layernet: tcp 192.168.69.1:1234 LISTEN -> SYN-RECEIVED' "$work/serve.err" || fail "no state transition in the trace"
if command -v tshark >/dev/null; then
    captured=$(tshark -r "$work/serve.pcap" 2>/dev/null | wc -l)
    [ "$captured" = "$traced" ] || fail "pcap has $captured frames, the trace $traced"
    gets=$(tshark -r "$work/serve.pcap" -d tcp.port==7878,http -Y http.request 2>/dev/null | grep -c 'GET /hello.txt' || true)
    [ "$gets" -ge 1 ] || fail "tshark finds no GET /hello.txt in the capture"
    ok "trace and pcap: $traced frames both ways, tshark reads the same count and the HTTP GET"
elif [ "${CI:-}" = true ]; then
    fail "tshark missing in CI"
else
    ok "trace: $traced frames both ways (tshark not installed: pcap not read back)"
fi
# The TAP device deleted under a running server: it must stop with one line
# and exit 1, not spin on a dead descriptor.
"$layernet" serve --root "$work/root" > "$work/serve2.out" 2> "$work/serve2.err" &
pid=$!
for _ in $(seq 100); do grep -q '(chat)' "$work/serve2.out" 2>/dev/null && break; sleep 0.1; done
ip link del tap0
status=0
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "serve still running 5 s after its TAP device was deleted"; fi
wait "$pid" || status=$?
pid=
[ "$status" = 1 ] || fail "serve exited $status after losing its device"
grep -q 'TAP device tap0' "$work/serve2.err" || fail "no error line: $(cat "$work/serve2.err")"
ok "TAP device deleted under serve: exit 1, '$(tail -1 "$work/serve2.err")'"
echo "linux_to_layernet: all passed"
