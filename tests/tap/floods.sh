#!/usr/bin/env bash
# Floods and exhaustion against `layernet serve` on tap0, from the Linux
# side of the namespace scripts/tap-netns.sh made: a SYN flood of 10,000
# SYNs from many source ports (raw frames; nftables keeps the namespace's
# kernel from answering layernet's SYN-ACKs with RSTs, which would free the
# slots and hide the attack), idle connections (slowloris), 1,000
# sequential and 64 concurrent clients against a pool smaller than 64, and
# a UDP flood at the chat port during TCP service.
# Usage: floods.sh PATH_TO_LAYERNET
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir "$work/root"
printf 'hello\n' > "$work/root/hello.txt"
start_serve --root "$work/root" --max-connections 4 --idle-timeout 3 --counters
ping -c 1 -W 2 "$L" >/dev/null || fail "no ping before the flood"

# --- SYN flood -------------------------------------------------------------
nft add table inet flood
nft add chain inet flood output '{ type filter hook output priority 0; policy accept; }'
nft add rule inet flood output ip daddr "$L" tcp flags '&' rst == rst drop
start=$(date +%s%N)
PYTHONPATH="$(dirname "$0")" python3 - <<'PY' &
# 10,000 SYNs from 192.168.69.100, source ports 20000-29999, at the echo
# and file ports, as raw Ethernet frames on tap0.
import time
from frames import eth, ipv4, tcp, sender
raw = sender()
for i in range(10000):
    syn = tcp(20000 + i, (7, 7878)[i % 2], 0x02, seq=i * 7919)
    raw.send(eth(ipv4(syn, 6, ident=i & 0xFFFF)))
    if i % 50 == 49:
        time.sleep(0.002)  # the TAP queue holds 1000 frames: pace, do not overflow it
print("flood: 10000 SYNs sent")
PY
flood=$!
sleep 1
ping -c 3 -i 0.3 -W 2 "$L" > "$work/ping" || fail "no ping during the flood: $(cat "$work/ping")"
ok "during the SYN flood the stack still answers ping ($(grep -o '[0-9]* received' "$work/ping"))"
wait "$flood"
ok "10,000 SYNs sent in $(ms_since "$start") ms"
dropped=$(counter 'SYNs dropped (backlog)')
[ "${dropped:-0}" -gt 1000 ] || fail "the pool was not exhausted: $dropped SYNs dropped for a full backlog"
resets=$(counter_value 'TCP   resets rx/tx')
[ "${resets#*/}" = 0 ] || fail "layernet sent RSTs during the flood: $resets (rx/tx)"
ok "the pool was exhausted: $dropped SYNs dropped by the gate (full backlog), no RST sent (resets rx/tx $resets)"
nft delete table inet flood
start=$(date +%s%N)
out=$(printf 'after the flood\n' | timeout 60 nc -N "$L" 7) || fail "echo after the flood"
[ "$out" = "after the flood" ] || fail "echo answered '$out'"
ok "a legitimate echo client served $(ms_since "$start") ms after the flood stopped (half-open handshakes time out after 10 s)"

# --- slowloris: idle connections are closed and their slots reused ---------
start=$(date +%s%N)
python3 - "$L" <<'PY' || fail "slowloris"
import socket, sys, time
idle = [socket.create_connection((sys.argv[1], 7878), timeout=15) for _ in range(6)]
t0 = time.time()
closed = 0
for s in idle:
    try:
        data = s.recv(4096)  # the server's 408, then end of file
        while data:
            data = s.recv(4096)
        closed += 1
    except socket.timeout:
        pass
assert closed == 6, f"only {closed} of 6 idle connections were closed"
print(f"ok   slowloris: 6 idle connections closed by the server after {time.time() - t0:.1f} s (idle timeout 3 s)")
PY
code=$(curl -sS -m 20 -o /dev/null -w '%{http_code}' "http://$L:7878/hello.txt") || fail "curl after slowloris"
[ "$code" = 200 ] || fail "curl after slowloris: $code"
ok "the file service serves again after the idle connections ($(ms_since "$start") ms in all)"

# --- 1,000 sequential and 64 concurrent clients --------------------------
python3 - "$L" <<'PY' || fail "sequential and concurrent clients"
import socket, sys, threading, time
host = sys.argv[1]
t0 = time.time()
for i in range(1000):
    s = socket.create_connection((host, 1234), timeout=10)
    data = b""
    while True:
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data == b"connect successfully!\r\n", (i, data)
print(f"ok   1000 sequential greeting connections, all served, in {time.time() - t0:.1f} s")
results = []
def client(n):
    msg = (b"%04d" % n) * 256
    try:
        s = socket.create_connection((host, 7), timeout=60)
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        back = b""
        while len(back) < len(msg):
            chunk = s.recv(4096)
            if not chunk:
                break
            back += chunk
        s.close()
        results.append(back == msg)
    except Exception as e:
        results.append(e)
t0 = time.time()
threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
for t in threads: t.start()
for t in threads: t.join()
bad = [r for r in results if r is not True]
assert len(results) == 64 and not bad, bad
print(f"ok   64 concurrent echo clients (1 KiB each) against an echo service of 8 connections: all served, none lost, in {time.time() - t0:.1f} s")
PY

# --- a UDP flood at the chat port does not starve TCP -------------------
python3 - "$L" <<'PY' &
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time(); n = 0
while time.time() - t0 < 4:
    u.sendto(b"flood flood flood flood", (sys.argv[1], 6868)); n += 1
print(f"udp flood: {n} datagrams in 4 s")
PY
udp=$!
sleep 0.5
head -c 100000 /dev/urandom > "$work/echo.in"
start=$(date +%s%N)
timeout 60 nc -N "$L" 7 < "$work/echo.in" > "$work/echo.out" || fail "echo during the UDP flood"
cmp -s "$work/echo.in" "$work/echo.out" || fail "echo during the UDP flood differs"
ok "100 KB echoed intact during the UDP flood, in $(ms_since "$start") ms"
wait "$udp"

stop_serve
echo "floods: all passed"
