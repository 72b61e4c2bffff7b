#!/usr/bin/env bash
# Linux peers against layernet's firmware running in QEMU: the mps2-an386
# (a Cortex-M4F with a LAN9118) or the lm3s6965evb (a Cortex-M3 with the
# Stellaris MAC). Runs inside the namespace scripts/tap-netns.sh made: QEMU
# attaches the board's NIC to tap0, the firmware is 192.168.69.1 and Linux
# 192.168.69.100. Usage: firmware_peers.sh FIRMWARE_ELF [board|tiny]
# [an386|lm3s6965] (the tiny build has no file service, and its checks are
# skipped). Last, with the board idle for 10 s, it reads the wake-ups per
# second from the firmware's status line.
set -euo pipefail
elf=$(realpath "$1")
profile=${2:-board}
board=${3:-an386}
case "$board" in
    an386) machine=mps2-an386 model=lan9118 ;;
    lm3s6965) machine=lm3s6965evb model=stellaris ;;
    *) echo "firmware_peers.sh: unknown board $board (an386 or lm3s6965)"; exit 2 ;;
esac
last_service=files
[ "$profile" = board ] || last_service=chat
L=192.168.69.1
tmp=$(mktemp -d)
log=$tmp/semihosting.log
qemu=

stop_qemu() {
    # Only the QEMU this script started, by its PID.
    [ -n "$qemu" ] || return 0
    kill "$qemu" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
    qemu=
}
chrony_pid=
trap 'stop_qemu; [ -z "$chrony_pid" ] || kill "$chrony_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
die() {
    echo "FAIL: $*"
    sed 's/^/  firmware: /' "$log" 2>/dev/null | tail -20
    exit 1
}
pass() { echo "ok   $*"; }

# The board asks 192.168.69.100 for UTC (SNTP); the tiny build does not.
if [ "$profile" = board ]; then
    command -v chronyd > /dev/null || die "chronyd is missing (scripts/test.sh installs chrony)"
    source "$(dirname "$0")/../chrony.sh"
    start_chronyd "$tmp" || die "chronyd did not start"
    pass "chronyd serves NTP on 192.168.69.100:123"
fi

qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native \
    -nic "tap,ifname=tap0,script=no,downscript=no,model=$model" \
    -kernel "$elf" > "$log" 2>&1 &
qemu=$!
for _ in $(seq 100); do
    grep -q "($last_service)" "$log" 2>/dev/null && break
    kill -0 "$qemu" 2>/dev/null || die "QEMU exited early"
    sleep 0.1
done
grep -q "($last_service)" "$log" || die "the firmware printed no listening lines in 10 s"
pass "firmware up: $(grep -m1 '^layernet firmware:' "$log")"

# expect NAME REGEX COMMAND...: COMMAND's output must match REGEX.
expect() {
    local name=$1 want=$2 got
    shift 2
    got=$("$@") || die "$name: exit status $?"
    [[ "$got" =~ $want ]] || die "$name: got '$got'"
    pass "$name: $(printf '%s' "$got" | tr '\r\n' '  ')"
}
expect "ping" ' 3 received' sh -c "ping -c 3 -W 2 $L | grep received"
expect "nc to echo" '^hello board$' sh -c "printf 'hello board\n' | timeout 10 nc -N $L 7"
expect "nc to greeting" $'^connect successfully!\r$' timeout 10 nc -d "$L" 1234
if [ "$profile" = board ]; then
    # No RTC, but SNTP: once chronyd has answered, the time-stamped echo
    # stamps today's UTC date.
    for _ in $(seq 100); do grep -q '^sntp: .* UTC from 192.168.69.100' "$log" && break; sleep 0.1; done
    grep -q '^sntp: .* UTC from 192.168.69.100' "$log" || die "the board did not synchronise with chronyd in 10 s"
    pass "$(grep -m1 '^sntp: ' "$log")"
    today=$(date -u +%Y-%m-%d)
    expect "nc to time-echo, stamped with today ($today)" "^\[$today [0-9]{2}:[0-9]{2}:[0-9]{2}\]:tick$" \
        sh -c "printf 'tick\r\n' | timeout 10 nc -N $L 21566"
else
    # No RTC and no SNTP: the time-stamped echo stamps the uptime, as a
    # date in 1970.
    expect "nc to time-echo" '^\[1970-01-01 [0-9]{2}:[0-9]{2}:[0-9]{2}\]:tick$' \
        sh -c "printf 'tick\r\n' | timeout 10 nc -N $L 21566"
fi

if [ "$profile" = board ]; then
    # mDNS (issue 20): the board probes, announces and answers for
    # layernet.local. dig asks it directly; the legacy query to the group
    # is dig's (dig 9.18 cannot take a reply to a query sent to a group:
    # see tests/tap/mdns.sh), built and read by Python's zeroconf.
    command -v dig > /dev/null || die "dig is missing (scripts/test.sh installs bind9-dnsutils)"
    ip route add 224.0.0.0/4 dev tap0 2> /dev/null || true
    for _ in $(seq 100); do grep -q '^mdns: answering for layernet.local' "$log" && break; sleep 0.1; done
    grep -q '^mdns: answering for layernet.local' "$log" || die "the board did not claim layernet.local in 10 s"
    pass "$(grep -m1 '^mdns: ' "$log")"
    # Every announcement and answer fits the board's 512-byte UDP buffer:
    # the announcement of 6 services goes out in pieces.
    ! grep -q '^mdns: cannot send' "$log" || die "$(grep -m1 '^mdns: cannot send' "$log")"
    expect "dig -p 5353 @$L layernet.local +short" "^$L$" \
        timeout 30 dig -p 5353 "@$L" layernet.local +short +tries=3 +time=3
    expect "legacy mDNS query to 224.0.0.251 (zeroconf's message)" "^$L:5353 0x1234 layernet.local. $L 10$" \
        timeout 30 python3 "$(dirname "$0")/../tap/mdns.py" legacy layernet.local
    expect "dig: the board's service types" "_http._tcp.local." \
        timeout 30 dig -p 5353 "@$L" _services._dns-sd._udp.local PTR +short +tries=3 +time=3
    if [ "$board" = an386 ]; then
        # The AN386's board build runs iperf3's server and says so.
        expect "dig: the board advertises iperf3" "_iperf3._tcp.local." \
            timeout 30 dig -p 5353 "@$L" _services._dns-sd._udp.local PTR +short +tries=3 +time=3
        expect "zeroconf browses _iperf3._tcp and resolves the board's" \
            "^layernet._iperf3._tcp.local. layernet.local. 5201 $L( |$)" \
            timeout 60 python3 "$(dirname "$0")/../tap/mdns.py" browse _iperf3._tcp.local.
    fi
fi

python3 - "$L" <<'PY' || die "python chat peers"
# Three peers join the board's room in turn; each hears everyone after it.
import socket, sys
room = (sys.argv[1], 6868)
peers = []
for port in (7001, 7002, 7003):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.168.69.100", port))
    s.settimeout(5)
    peers.append(s)
for i, s in enumerate(peers):
    s.sendto(b"peer %d says hi" % i, room)
    for earlier in peers[:i]:
        data, frm = earlier.recvfrom(600)
        want = b"[192.168.69.100:%d] peer %d says hi" % (7001 + i, i)
        assert frm == room and data == want, (data, frm)
print("ok   python chat: 3 peers, 3 relays through the board's room")
PY

if [ "$profile" = board ]; then
    got=$(curl -sS -m 10 "http://$L:7878/hello.txt") || die "curl GET hello.txt"
    [ "$got" = "hello from the board" ] || die "hello.txt was '$got'"
    pass "curl GET hello.txt: '$got'"
    head -c 1500 /dev/urandom > "$tmp/small.bin"
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -T "$tmp/small.bin" "http://$L:7878/small.bin") || die "curl PUT"
    [ "$code" = 201 ] || die "PUT small.bin answered $code"
    curl -sS -m 10 -o "$tmp/back.bin" "http://$L:7878/small.bin" || die "curl GET small.bin"
    cmp -s "$tmp/small.bin" "$tmp/back.bin" || die "small.bin came back different"
    pass "curl PUT then GET small.bin (1500 bytes): 201, identical"
    head -c 3000 /dev/urandom > "$tmp/big.bin"
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -T "$tmp/big.bin" "http://$L:7878/big.bin") || die "curl PUT big"
    [ "$code" = 413 ] || die "PUT of 3000 bytes answered $code, not 413"
    pass "curl PUT big.bin (3000 bytes, over the 2048-byte slots): 413"
    # The listing is HTML unless text/plain is asked for.
    curl -sS -m 10 -H 'Accept: text/plain' "http://$L:7878/" | grep -q '^small.bin 1500$' \
        || die "plain listing lacks small.bin"
    # The page a browser gets (issue 19): the same constants as on a host,
    # with the controls of the board's writable policy; a RAM store keeps
    # no times, so the row's time cell is empty.
    curl -sS -m 10 -o "$tmp/page.html" "http://$L:7878/" || die "curl GET / (the page)"
    grep -q '<a href="small.bin">small.bin</a></td><td class="n" data-v="1500">1500</td><td data-v="0"></td><td><button class="del">Delete</button></td></tr>' "$tmp/page.html" \
        || die "the page lacks small.bin's row: $(grep -c . "$tmp/page.html") lines"
    grep -q 'id="pick"' "$tmp/page.html" && grep -q 'function refresh()' "$tmp/page.html" \
        && [ "$(tail -c 15 "$tmp/page.html")" = "</body></html>" ] \
        || die "the page lacks its upload controls, its script or its end"
    pass "curl GET / lists small.bin (plain, and the page: $(wc -c < "$tmp/page.html") bytes)"
    # The live view's figures (issue 19): the counters and the socket
    # table, with this very connection in it.
    curl -sS -m 10 -o "$tmp/stack.json" "http://$L:7878/_stack.json" || die "curl GET /_stack.json"
    cat > "$tmp/check.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = {name: v for _, name, v in d["counters"]}
assert c["tcp_rx"] > 0 and c["frames_tx"] > 0, c
assert any(r[0] == "ESTABLISHED" and r[2].startswith("192.168.69.100:") for r in d["tcp"]), d["tcp"]
assert 6868 in d["udp"], d["udp"]
print(len(d["counters"]), "counters,", len(d["tcp"]), "TCP rows")
PY
    figures=$(python3 "$tmp/check.py" "$tmp/stack.json") || die "the live view's figures: $(head -c 300 "$tmp/stack.json")"
    pass "curl GET /_stack.json: $figures"
fi

if [ "$profile" = board ] && [ "$board" = an386 ]; then
    # Linux's iperf3 client against the board's iperf3 server (issue 20),
    # the board receiving, then sending (-R). The summary's sender and
    # receiver lines must both say how many bits/s, and not 0: a figure
    # for docs/performance.md, not a speed asserted.
    command -v iperf3 > /dev/null || die "iperf3 is missing (scripts/test.sh installs it)"
    for dir in "" -R; do
        out=$(timeout 60 iperf3 -c "$L" -t 2 $dir --connect-timeout 5000 2>&1) \
            || die "iperf3 -c $L -t 2 $dir: $out"
        for role in sender receiver; do
            line=$(printf '%s\n' "$out" | grep -E "^\[ *[0-9]+\] .* sec .*bits/sec.* $role\$" | tail -1) \
                || die "iperf3 -c $L -t 2 $dir: no $role line in: $out"
            [[ "$line" =~ \ ([0-9.]+)\ ([KMG]?)bits/sec ]] || die "iperf3 $dir $role line: $line"
            [ "$(awk -v r="${BASH_REMATCH[1]}" 'BEGIN { print (r > 0) }')" = 1 ] \
                || die "iperf3 -c $L -t 2 $dir: $role at 0 bits/s: $line"
        done
        pass "iperf3 -c $L -t 2${dir:+ $dir}: $(printf '%s\n' "$out" | grep -E 'sec .* (sender|receiver)$' | tail -2 | tr -s ' ' | tr '\n' ';')"
    done
    # UDP: the board profile has no UDP socket to spare, and says so as
    # iperf3's server would.
    status=0
    out=$(timeout 60 iperf3 -c "$L" -u -t 1 --connect-timeout 5000 2>&1) || status=$?
    [ "$status" != 0 ] && printf '%s' "$out" | grep -q 'unable to start stream listener' \
        || die "iperf3 -u against the board (exit $status): $out"
    pass "iperf3 -c $L -u: refused, exit $status: $(printf '%s\n' "$out" | grep -m1 'error')"
fi

# The firmware reports its status (with the stack's depth so far) every
# 5 s while frames arrive.
for _ in $(seq 80); do grep -q '^status:' "$log" && break; sleep 0.1; done
grep -q '^status:' "$log" || die "no status line"
echo "firmware ($board $profile) $(grep '^status:' "$log" | tail -1)"
echo "firmware ($board $profile) $(grep -m1 '^stack:' "$log")"
# Idle wake-ups: nothing for 10 s, then one ping, whose frames make the
# next status line (due within 5 s) report the wake-ups of the window.
before=$(grep -c '^status:' "$log")
sleep 10
ping -c 1 -W 2 "$L" > /dev/null || die "ping after the idle window"
for _ in $(seq 80); do [ "$(grep -c '^status:' "$log")" -gt "$before" ] && break; sleep 0.1; done
[ "$(grep -c '^status:' "$log")" -gt "$before" ] || die "no status line after the idle window"
idle=$(grep '^status:' "$log" | tail -1 | grep -o 'wake-ups [0-9]* ([0-9.]*/s over [0-9]* ms)') \
    || die "the status line has no wake-ups"
echo "firmware ($board $profile) idle: $idle, in: $(grep "^status:" "$log" | tail -1)"
kill -0 "$qemu" 2>/dev/null || die "QEMU died during the checks"
stop_qemu
pass "QEMU stopped"
echo "firmware_peers ($board $profile): all passed"
