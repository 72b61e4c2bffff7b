#!/usr/bin/env bash
# IPv6 dual stack against Linux on tap0 (fd00::100/64 beside 192.168.69.100):
# Linux's ping -6, nc -6 and curl -g reach `layernet serve --ip6 fd00::1/64`
# on IPv6 while IPv4 still works; layernet's clients reach Linux servers by
# [v6]:port and by --host name; then dnsmasq advertises fd00::/64 as a
# router (RA only) and `serve --ip6 slaac` takes its address from it.
# Runs inside scripts/tap-netns.sh.
# Usage: ipv6.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
H6=fd00::100
L6=fd00::1
# 02:00:00:00:00:01 as EUI-64, universal/local bit flipped.
IID=ff:fe00:1
ra_pid=
http_pid=
extra_cleanup() {
    for p in $ra_pid $http_pid; do kill "$p" 2>/dev/null || true; done
}

# Wait up to $1 seconds for a line matching $2 in serve's output.
await() {
    for _ in $(seq $(($1 * 10))); do grep -q "$2" "$work/serve.out" 2>/dev/null && return; sleep 0.1; done
    fail "no '$2' within $1 s: $(cat "$work/serve.out")"
}

[ "$(cat /proc/sys/net/ipv6/conf/tap0/disable_ipv6 2>/dev/null || echo 1)" = 0 ] \
    || sysctl -qw net.ipv6.conf.tap0.disable_ipv6=0 \
    || fail "IPv6 is disabled on tap0 and cannot be enabled"
# nodad: the address is usable at once instead of after duplicate detection.
ip -6 addr add "$H6/64" dev tap0 nodad
for _ in $(seq 50); do ip -6 addr show dev tap0 | grep -q 'fe80::.*scope link' && break; sleep 0.1; done

mkdir "$work/files" "$work/www"
echo "served over IPv6" > "$work/files/hello.txt"
start_serve --writable --ip6 "$L6/64" --trace=brief --root "$work/files"
for line in "listening on 192.168.69.1:7878 (files)" "listening on \[$L6\]:7878 (files)" \
    "listening on \[fe80::$IID\]:7 (echo)" "listening on \[$L6\]:6868 (chat)"; do
    grep -q "^$line" "$work/serve.out" || fail "no '$line': $(cat "$work/serve.out")"
done
ok "serve --ip6 $L6/64: $(grep -c '^listening on \[' "$work/serve.out") IPv6 listening lines beside $(grep -c '^listening on [0-9]' "$work/serve.out") IPv4 ones"

out=$(ping -6 -c 2 -W 2 "$L6") || fail "ping -6 $L6: $out"
ok "ping -6 $L6: $(echo "$out" | grep -o '[0-9]* received')"
out=$(ping -6 -c 1 -W 2 "fe80::$IID%tap0") || fail "ping -6 link-local: $out"
ok "ping -6 fe80::$IID%tap0: $(echo "$out" | grep -o '[0-9]* received')"
got=$(echo "hello six" | nc -6 -w 2 -q 1 "$L6" 7) || true
[ "$got" = "hello six" ] || fail "nc -6 echo got '$got'"
ok "nc -6 $L6 7: '$got'"
got=$(curl -sS -g --max-time 10 "http://[$L6]:7878/hello.txt") || fail "curl -g [$L6]"
[ "$got" = "served over IPv6" ] || fail "curl -g got '$got'"
head -c 300000 /dev/urandom > "$work/up.bin"
curl -sS -g --max-time 20 -T "$work/up.bin" "http://[$L6]:7878/up.bin" > /dev/null || fail "curl -g upload"
cmp -s "$work/up.bin" "$work/files/up.bin" || fail "the IPv6 upload differs"
ok "curl -g http://[$L6]:7878/: download and a 300 kB upload, byte for byte"
got=$(curl -sS --max-time 10 "http://192.168.69.1:7878/hello.txt") || fail "curl over IPv4"
[ "$got" = "served over IPv6" ] || fail "curl over IPv4 got '$got'"
ok "the same service over IPv4 still"
for step in "ICMPv6 neighbour solicitation" "ICMPv6 neighbour advertisement" "ICMPv6 echo request" "\[$L6\]:7878"; do
    grep -q "$step" "$work/serve.err" || fail "the trace shows no '$step'"
done
[ "$(counter 'NDP')" != "0/0" ] || fail "no NDP counted"
ok "trace: neighbour solicitation and advertisement, ICMPv6 echo, TCP on [$L6]:7878; counters: NDP $(counter_value 'NDP')"
stop_serve

# layernet's clients against Linux over IPv6.
head -c 100000 /dev/urandom > "$work/www/data.bin"
(cd "$work/www" && exec python3 -m http.server 8000 --bind "$H6" >/dev/null 2>&1) &
http_pid=$!
for _ in $(seq 50); do curl -sg --max-time 1 "http://[$H6]:8000/" > /dev/null 2>&1 && break; sleep 0.1; done
out=$("$layernet" --ip6 "$L6/64" ping -c 2 "$H6") || fail "layernet ping $H6: $out"
echo "$out" | grep -q "2 received" || fail "layernet ping $H6: $out"
ok "layernet ping $H6: $(echo "$out" | grep -o '[0-9]* received')"
(cd "$work" && "$layernet" --ip6 "$L6/64" get "[$H6]:8000/data.bin" -o by_addr.bin > /dev/null 2> get.err) \
    || fail "layernet get [$H6]:8000: $(cat "$work/get.err")"
cmp -s "$work/by_addr.bin" "$work/www/data.bin" || fail "the IPv6 download differs"
(cd "$work" && "$layernet" --ip6 "$L6/64" --host files6.lan="$H6" get files6.lan:8000/data.bin -o by_name.bin \
    > /dev/null 2> get.err) || fail "layernet get files6.lan: $(cat "$work/get.err")"
cmp -s "$work/by_name.bin" "$work/www/data.bin" || fail "the download by name differs"
ok "layernet get [$H6]:8000/data.bin and files6.lan:8000 (--host files6.lan=$H6): byte for byte"
set +e
"$layernet" echo "[$H6" hi > /dev/null 2> "$work/err"
code=$?
set -e
[ "$code" = 2 ] && grep -q "no closing" "$work/err" || fail "'[$H6' exited $code: $(cat "$work/err")"
ok "a bad IPv6 endpoint: $(cat "$work/err")"

# SLAAC from dnsmasq's router advertisements.
if ! command -v dnsmasq > /dev/null; then
    [ "${CI:-}" = true ] && fail "dnsmasq is missing (CI installs dnsmasq-base)"
    echo "ipv6: all passed (SLAAC skipped: no dnsmasq)"
    exit 0
fi
dnsmasq --no-daemon --conf-file=/dev/null --no-hosts --no-resolv --user=root \
    --interface=tap0 --bind-interfaces --listen-address=192.168.69.100 --enable-ra \
    --address=/six.lan/$H6 \
    --dhcp-range=::,constructor:tap0,ra-only,64,2m --ra-param=tap0,4,1800 \
    --pid-file="$work/dnsmasq.pid" --log-dhcp --log-queries --log-facility=- >> "$work/dnsmasq.log" 2>&1 &
ra_pid=$!
for _ in $(seq 50); do grep -q "router advertisement on" "$work/dnsmasq.log" 2>/dev/null && break; sleep 0.1; done
start_serve --ip6 slaac --trace=brief --root "$work/files"
await 20 "^slaac: fd00::$IID/64"
await 5 "^listening on \[fd00::$IID\]:7878 (files)"
ok "serve --ip6 slaac: '$(grep -m1 '^slaac:' "$work/serve.out")' then its listening lines"
grep -q "ICMPv6 router solicitation" "$work/serve.err" || fail "no router solicitation in the trace"
grep -q "ICMPv6 router advertisement" "$work/serve.err" || fail "no router advertisement in the trace"
got=$(curl -sS -g --max-time 10 "http://[fd00::$IID]:7878/hello.txt") || fail "curl the SLAAC address"
[ "$got" = "served over IPv6" ] || fail "curl the SLAAC address got '$got'"
ok "curl -g http://[fd00::$IID]:7878/hello.txt; the trace shows the solicitation and the advertisement"
stop_serve

# A client by SLAAC, a name with only an AAAA record (dnsmasq over IPv4).
(cd "$work" && "$layernet" --ip6 slaac --dns 192.168.69.100 --trace=brief get six.lan:8000/data.bin \
    -o by_aaaa.bin > /dev/null 2> get.err) || fail "layernet get six.lan: $(tail -5 "$work/get.err")"
cmp -s "$work/by_aaaa.bin" "$work/www/data.bin" || fail "the download by AAAA differs"
grep -q "query\[AAAA\] six.lan" "$work/dnsmasq.log" || fail "dnsmasq saw no AAAA query"
ok "layernet --ip6 slaac --dns 192.168.69.100 get six.lan:8000/data.bin: A had no answer, AAAA gave $H6"
echo "ipv6: all passed"
