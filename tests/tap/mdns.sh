#!/usr/bin/env bash
# Issue 20 item 2: serve's mDNS responder against real peers on the Linux
# side of the TAP: a legacy unicast query to the group, dig asking the
# responder, Python's zeroconf browsing `_http._tcp.local.` and
# resolving the file service, and a Python socket that owns layernet.local
# already, so that serve takes layernet-2 and says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
command -v dig > /dev/null || fail "dig is missing (scripts/test.sh installs bind9-dnsutils)"
python3 -c 'import zeroconf' 2> /dev/null || fail "python3 has no zeroconf (scripts/test.sh installs it with pip)"
# serve on tap0, layernet's client on tap1, Linux on the bridge br0 of
# both. Multicast from this namespace leaves by the bridge (it has no
# default route).
ip route add 224.0.0.0/4 dev br0
client=(--link tap:tap1 --ip 192.168.69.2/24 --mac 02:00:00:00:00:02)
mkdir "$work/served"
echo "found by its name" > "$work/served/hello.txt"

# Wait up to SECS for a line matching RE in serve's stdout.
await() {
    local secs=$1 re=$2 t0
    t0=$(date +%s%N)
    for _ in $(seq $((secs * 10))); do grep -q -- "$re" "$work/serve.out" && return; sleep 0.1; done
    fail "no line '$re' in $(ms_since "$t0") ms: $(cat "$work/serve.out")"
}

t0=$(date +%s%N)
start_serve --services echo,time-echo,chat,files --root "$work/served"
await 10 '^mdns: answering for layernet.local (192.168.69.1)$'
ok "serve: 'mdns: answering for layernet.local (192.168.69.1)' $(ms_since "$t0") ms after start (3 probes, 250 ms apart)"

# A legacy unicast query to the group, as `dig -p 5353 @224.0.0.251
# layernet.local` sends it. Debian's dig (9.18) connect()s its socket to
# the group address, so the kernel drops every reply (a reply comes from
# the responder's own address, never from 224.0.0.251): the same query,
# from zeroconf's DNSOutgoing, goes out on an unconnected socket, and
# dig asks the responder directly (RFC 6762 section 5.5).
line=$(timeout 30 python3 "$here/mdns.py" legacy layernet.local) || fail "legacy query: $line"
[ "$line" = "192.168.69.1:5353 0x1234 layernet.local. 192.168.69.1 10" ] || fail "legacy query to 224.0.0.251: '$line'"
ok "legacy query to 224.0.0.251:5353 (dig's): unicast reply from, ID, question, A, TTL: $line"
out=$(timeout 30 dig -p 5353 @192.168.69.1 layernet.local +tries=3 +time=3 2>&1) || fail "dig: $out"
addr=$(printf '%s\n' "$out" | awk '/^layernet\.local\./ && $4 == "A" {print $5}')
[ "$addr" = 192.168.69.1 ] || fail "dig -p 5353 @192.168.69.1 layernet.local: $out"
ok "dig -p 5353 @192.168.69.1 layernet.local: A $addr"
out=$(timeout 30 dig -p 5353 @192.168.69.1 _services._dns-sd._udp.local PTR +short +tries=3 +time=3 2>&1) || fail "dig: $out"
for t in _echo._tcp.local. _time-echo._tcp.local. _layernet-chat._udp.local. _http._tcp.local.; do
    printf '%s\n' "$out" | grep -qx -- "$t" || fail "no $t among the service types: $out"
done
ok "dig: the service types are $(printf '%s' "$out" | tr '\n' ' ')"

line=$(timeout 60 python3 "$here/mdns.py" browse _http._tcp.local.) || fail "zeroconf: $line"
# Its addresses: A and the AAAA of its link-local address (from its MAC).
[ "$line" = "layernet._http._tcp.local. layernet.local. 7878 192.168.69.1,fe80::ff:fe00:1 path=/" ] \
    || fail "zeroconf resolved: '$line'"
ok "zeroconf browsed and resolved: $line"
page=$(timeout 10 curl -sS "http://$(echo "$line" | awk '{split($4, a, ","); print a[1]}'):$(echo "$line" | awk '{print $3}')/" | head -c 300) \
    || fail "curl at the resolved address"
ok "curl at the address and port zeroconf found: $(printf '%s' "$page" | grep -o '<title>[^<]*' | head -1)"

# layernet's own client resolves .local names by mDNS.
out=$(cd "$work" && timeout 60 "$layernet" "${client[@]}" get http://layernet.local:7878/hello.txt -o "$work/got.txt" 2>&1) \
    || fail "layernet get http://layernet.local:7878/hello.txt: $out"
cmp -s "$work/served/hello.txt" "$work/got.txt" || fail "get by name saved something else: $out"
ok "layernet get http://layernet.local:7878/hello.txt: $(printf '%s' "$out" | tail -1)"
t0=$(date +%s%N)
status=0
out=$(timeout 60 "$layernet" "${client[@]}" get http://nobody.local:7878/hello.txt -o "$work/none.txt" 2>&1) || status=$?
[ "$status" != 0 ] || fail "get from nobody.local succeeded: $out"
[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || fail "not one line for an unanswered name: $out"
printf '%s' "$out" | grep -q 'nobody.local: no answer by mDNS in 3 s' || fail "the error for nobody.local: $out"
ok "an unanswered .local name, after $(ms_since "$t0") ms, exit $status: $out"
stop_serve

# Another host owns layernet.local: it answers serve's probes.
timeout 60 python3 "$here/mdns.py" defend layernet 25 > "$work/defend.out" &
defender=$!
extra_cleanup() { kill "$defender" 2>/dev/null || true; }
for _ in $(seq 100); do grep -q ready "$work/defend.out" && break; sleep 0.1; done
grep -q ready "$work/defend.out" || fail "the Python defender did not start"
t0=$(date +%s%N)
start_serve --services files --root "$work"
await 10 '^mdns: answering for layernet-2.local (192.168.69.1)$'
taken=$(grep -c '^mdns: layernet.local is taken, now layernet-2.local$' "$work/serve.out" || true)
[ "$taken" = 1 ] || fail "not one 'is taken' line: $(cat "$work/serve.out")"
ok "a Python socket answering for layernet.local: serve says 'mdns: layernet.local is taken, now layernet-2.local' and answers for layernet-2.local after $(ms_since "$t0") ms"
line=$(timeout 30 python3 "$here/mdns.py" legacy layernet-2.local) || fail "legacy query: $line"
[ "$line" = "192.168.69.1:5353 0x1234 layernet-2.local. 192.168.69.1 10" ] || fail "legacy query for layernet-2.local: '$line'"
ok "legacy query to 224.0.0.251 for layernet-2.local: $line"
stop_serve
kill "$defender" 2>/dev/null || true
wait "$defender" 2>/dev/null || true
echo "mdns: all passed"
