#!/usr/bin/env bash
# Linux peers (nc, python) against the async echo server example
# (examples/async_echo_server.rs: socket::asynch on a LocalPool) on tap0.
# Runs inside the namespace that scripts/tap-netns.sh made: the example is
# 192.168.69.1 on tap0, Linux is 192.168.69.100.
# Usage: async_echo.sh PATH_TO_ASYNC_ECHO_SERVER
set -euo pipefail
server=$(realpath "$1")
work=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; sed 's/^/  server: /' "$work/out" "$work/err" 2>/dev/null; exit 1; }
ok() { echo "ok   $*"; }
L=192.168.69.1

# Four connections, then the example exits by itself.
"$server" --tap tap0 --connections 4 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 300); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -qx "listening on $L:7" "$work/out" || fail "no listening line"

# 1. nc: a line, then nc's half close (-N): the echo, then end of file.
out=$(printf 'hello async\n' | timeout 10 nc -N "$L" 7) || fail "nc"
[ "$out" = "hello async" ] || fail "nc got '$out'"
ok "nc: '$out' echoed"

# 2. python: 1 MB, sent while the echo is read back (far more than the
# 8 KiB socket buffers: the server's reads and writes wait on wakers).
python3 - "$L" <<'PY' || fail "python bulk"
import hashlib, os, socket, sys, threading
data = os.urandom(1_000_000)
s = socket.create_connection((sys.argv[1], 7), timeout=20)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
back = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    back += chunk
t.join()
s.close()
assert back == data, (len(back), hashlib.sha256(back).hexdigest(), hashlib.sha256(data).hexdigest())
print("ok   python: 1 MB echoed exactly, sha256", hashlib.sha256(back).hexdigest()[:16])
PY

# 3. python: connects and closes at once: the server reads end of file.
python3 - "$L" <<'PY' || fail "python close"
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.shutdown(socket.SHUT_WR)
assert s.recv(16) == b"", "end of file back"
s.close()
print("ok   python: an empty connection ends cleanly")
PY

# 4. python: sends, then resets (SO_LINGER 0): the server's read fails
# with ECONNRESET.
python3 - "$L" <<'PY' || fail "python reset"
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"x" * 100)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("ok   python: reset after 100 bytes")
PY

for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "the example exited $status"
grep -Eq '^192\.168\.69\.100:[0-9]+: echoed 12 bytes, closed$' "$work/out" || fail "no nc line"
grep -Eq '^192\.168\.69\.100:[0-9]+: echoed 1000000 bytes, closed$' "$work/out" || fail "no 1 MB line"
grep -Eq '^192\.168\.69\.100:[0-9]+: echoed 0 bytes, closed$' "$work/out" || fail "no empty line"
grep -Eq '^192\.168\.69\.100:[0-9]+: connection reset by peer$' "$work/out" || fail "no reset line"
ok "the server's lines: $(grep -c '^192' "$work/out") connections"
echo "async_echo: all passed"
