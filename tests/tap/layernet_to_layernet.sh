#!/usr/bin/env bash
# Two layernet stacks, each on its own TAP (tap0, tap1 on a bridge made by
# scripts/tap-netns.sh --tap tap0 --tap tap1), exchanging every service.
# Usage: layernet_to_layernet.sh PATH_TO_LAYERNET
set -euo pipefail
layernet=$(realpath "$1")
work=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }
S=192.168.69.1
client=(--link tap:tap1 --ip 192.168.69.2/24 --mac 02:00:00:00:00:02)

mkdir "$work/root"
head -c 150000 /dev/urandom > "$work/up.bin"
"$layernet" serve --writable --link tap:tap0 --root "$work/root" > "$work/serve.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '(chat)' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done

out=$("$layernet" "${client[@]}" ping "$S" -c 2) || fail "ping: $out"
ok "ping: $(echo "$out" | tail -1)"
out=$("$layernet" "${client[@]}" echo "$S" "layernet to layernet") || fail "echo"
[ "$out" = "layernet to layernet" ] || fail "echo answered '$out'"
ok "echo"
out=$("$layernet" "${client[@]}" greeting "$S" | od -An -c | tr -s ' ') || fail "greeting"
"$layernet" "${client[@]}" greeting "$S" > "$work/greeting" || fail "greeting"
printf 'connect successfully!\r\n' | cmp -s - "$work/greeting" || fail "greeting: $(od -c "$work/greeting")"
ok "greeting"
out=$(printf 'stamp me\n\nnot sent\n' | "$layernet" "${client[@]}" time-echo "$S") || fail "time-echo"
[[ "$out" =~ ^\[[0-9-]{10}\ [0-9:]{8}\]:stamp\ me$ ]] || fail "time-echo printed '$out'"
ok "time-echo: $out"
out=$("$layernet" "${client[@]}" put "$work/up.bin" "$S/up.bin") || fail "put: $out"
cmp -s "$work/up.bin" "$work/root/up.bin" || fail "put content differs"
ok "put: $out"
out=$(cd "$work" && "$layernet" "${client[@]}" get "$S/up.bin" -o back.bin) || fail "get: $out"
cmp -s "$work/up.bin" "$work/back.bin" || fail "get content differs"
ok "get: $out"
# Chat: a Linux peer registers with the room (proved by a relay to it from a
# second Linux socket), then layernet's peer speaks and the Linux peer gets
# the relay.
python3 - > "$work/peer.out" 2>&1 <<'PY' &
import socket
room = ("192.168.69.1", 6868)
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("192.168.69.100", 6868)); a.settimeout(10)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("192.168.69.100", 6870)); b.settimeout(10)
a.sendto(b"linux peer here", room)
for _ in range(20):
    b.sendto(b"probe", room)
    try:
        data, _ = a.recvfrom(1024)
    except socket.timeout:
        continue
    if data.endswith(b"probe"):
        break
print("ready", flush=True)
while True:
    data, _ = a.recvfrom(1024)
    if not data.endswith(b"probe"):
        print(data.decode(), flush=True)
        break
PY
peer=$!
for _ in $(seq 100); do grep -q ready "$work/peer.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/peer.out" || fail "the Linux chat peer did not register: $(cat "$work/peer.out")"
printf 'hello room\n' | "$layernet" "${client[@]}" chat "$S" --linger 1 > "$work/chat.out" || fail "chat"
wait "$peer" || fail "linux peer: $(cat "$work/peer.out")"
[ "$(tail -1 "$work/peer.out")" = "[192.168.69.2:6868] hello room" ] || fail "relay: $(cat "$work/peer.out")"
ok "chat through layernet's room: $(tail -1 "$work/peer.out")"
kill -TERM "$pid"; wait "$pid" || fail "serve exit $?"
pid=
echo "layernet_to_layernet: all passed"
