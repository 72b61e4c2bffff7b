#!/usr/bin/env bash
# layernet's clients against Linux servers nobody here wrote (Python's
# http.server, a Python echo server, a Python UDP peer, the kernel's ping
# responder). Runs inside scripts/tap-netns.sh: layernet (a client: 192.168.69.2) on
# tap0, Linux 192.168.69.100. Usage: layernet_to_linux.sh PATH_TO_LAYERNET
set -euo pipefail
layernet=$(realpath "$1")
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }
H=192.168.69.100

out=$("$layernet" ping "$H" -c 3) || fail "layernet ping: $out"
echo "$out" | grep -q "3 packets transmitted, 3 received" || fail "ping: $out"
ok "layernet ping $H: $(echo "$out" | sed -n 2p)"

mkdir "$work/www"
head -c 200000 /dev/urandom > "$work/www/data.bin"
(cd "$work/www" && exec python3 -m http.server 8000 --bind "$H" >/dev/null 2>&1) &
pids+=($!)
python3 - "$H" > "$work/echo.log" 2>&1 <<'PY' &
# A classic blocking echo server, one client after another.
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7007)); s.listen(5)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(1024)
        if not d:
            break
        c.sendall(d)
    c.close()
PY
pids+=($!)
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/$H/8000") 2>/dev/null && (exec 3<>"/dev/tcp/$H/7007") 2>/dev/null && break
    sleep 0.1
done

(cd "$work" && "$layernet" get "$H:8000/data.bin" -o got.bin > get.out) || fail "layernet get: $(cat "$work/get.out")"
cmp -s "$work/got.bin" "$work/www/data.bin" || fail "downloaded file differs"
ok "layernet get from python3 -m http.server: $(cat "$work/get.out")"

out=$("$layernet" echo "$H:7007" "hello from layernet") || fail "layernet echo"
[ "$out" = "hello from layernet" ] || fail "echo answered '$out'"
out=$(printf 'one\ntwo\n' | "$layernet" echo "$H:7007") || fail "layernet echo (stdin)"
[ "$out" = "$(printf 'one\ntwo')" ] || fail "echo (stdin) answered '$out'"
ok "layernet echo to a Python echo server: message and stdin lines"

python3 - "$H" > "$work/peer.out" 2>&1 <<'PY' &
# A Python UDP chat peer: answers the first datagram it gets.
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 6868)); s.settimeout(10)
print("ready", flush=True)
data, frm = s.recvfrom(1024)
print("peer got", data, "from", frm, flush=True)
s.sendto(b"hi layernet, python here", frm)
PY
peer=$!
pids+=($peer)
# Wait until the peer is bound: under load Python can take a while to start.
for _ in $(seq 100); do grep -q ready "$work/peer.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/peer.out" || fail "the Python peer did not start"
out=$(printf 'hello python\n' | "$layernet" chat "$H" --linger 2) || fail "layernet chat"
wait "$peer" || fail "python peer: $(cat "$work/peer.out")"
grep -q "peer got b'hello python' from ('192.168.69.2', 6868)" "$work/peer.out" || fail "peer saw: $(cat "$work/peer.out")"
[ "$out" = "[$H:6868] hi layernet, python here" ] || fail "layernet chat printed '$out'"
ok "layernet chat with a Python UDP peer: $out"

set +e
"$layernet" echo "$H:7999" hi > /dev/null 2> "$work/err"
code=$?
set -e
[ "$code" = 1 ] || fail "refused connection exited $code"
grep -q "connection refused" "$work/err" || fail "refused said: $(cat "$work/err")"
ok "layernet echo to a closed port: exit 1, '$(cat "$work/err")'"
echo "layernet_to_linux: all passed"
