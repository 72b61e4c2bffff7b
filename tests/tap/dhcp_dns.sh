#!/usr/bin/env bash
# DHCPv4 and DNS against dnsmasq (a server nobody here wrote) on the Linux
# side of tap0 (192.168.69.100): layernet's clients take a lease and resolve
# names, `layernet serve --ip dhcp` binds, serves at the leased address,
# renews a short lease, loses it when the server goes away and binds again
# when it comes back. Runs inside scripts/tap-netns.sh.
# Usage: dhcp_dns.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
H=192.168.69.100
dns_pid=
http_pid=
extra_cleanup() {
    for p in $dns_pid $http_pid; do kill "$p" 2>/dev/null || true; done
}

# dnsmasq in the foreground (so $! is its PID), everything in $work.
start_dnsmasq() {
    dnsmasq --no-daemon --conf-file=/dev/null --no-hosts --no-resolv --user=root \
        --interface=tap0 --bind-interfaces --listen-address="$H" \
        --dhcp-range=192.168.69.50,192.168.69.60,2m \
        --address=/fileserver.lan/"$H" \
        --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" \
        --log-dhcp --log-queries --log-facility=- >> "$work/dnsmasq.log" 2>&1 &
    dns_pid=$!
    for _ in $(seq 50); do grep -q "DHCP, IP range" "$work/dnsmasq.log" 2>/dev/null && return; sleep 0.1; done
    fail "dnsmasq did not start: $(cat "$work/dnsmasq.log")"
}

stop_dnsmasq() {
    kill "$dns_pid"
    wait "$dns_pid" 2>/dev/null || true
    dns_pid=
}

# Wait up to $1 seconds for a line matching $2 in serve's output.
await() {
    for _ in $(seq $(($1 * 10))); do grep -q "$2" "$work/serve.out" 2>/dev/null && return; sleep 0.1; done
    fail "no '$2' within $1 s: $(cat "$work/serve.out")"
}

start_dnsmasq
mkdir "$work/www" "$work/files"
head -c 100000 /dev/urandom > "$work/www/data.bin"
(cd "$work/www" && exec python3 -m http.server 8000 --bind "$H" >/dev/null 2>&1) &
http_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/$H/8000") 2>/dev/null && break; sleep 0.1; done

# A client with a lease resolves a name dnsmasq serves and downloads by it.
(cd "$work" && "$layernet" --ip dhcp --trace=brief get fileserver.lan:8000/data.bin -o byname.bin > get.out 2> get.err) \
    || fail "get by name: $(cat "$work/get.out" "$work/get.err")"
cmp -s "$work/byname.bin" "$work/www/data.bin" || fail "downloaded file differs"
grep -Eq "^dhcp: bound 192\.168\.69\.(5[0-9]|60)/24 via $H" "$work/get.err" || fail "client lease: $(cat "$work/get.err")"
grep -q "query\[A\] fileserver.lan from 192.168.69.5" "$work/dnsmasq.log" || fail "dnsmasq saw no query"
for step in "dhcp DISCOVER" "dhcp OFFER xid .* address 192.168.69.5" "dhcp REQUEST xid .* requested" "dhcp ACK" \
    "dns query A fileserver.lan" "dns answer fileserver.lan A $H"; do
    grep -q "$step" "$work/get.err" || fail "the trace shows no '$step'"
done
ok "layernet --ip dhcp get fileserver.lan:8000/data.bin: $(grep '^dhcp:' "$work/get.err"); $(cat "$work/get.out")"
ok "its trace: $(grep -o 'dhcp [A-Z]*\|dns [a-z]* [^ ]* [^ ]* [^ ]*' "$work/get.err" | paste -sd, | sed 's/,/, /g')"

# A static address, dnsmasq named with --dns; and --host without DNS at all.
out=$("$layernet" --dns "$H" ping fileserver.lan -c 1) || fail "ping by name: $out"
echo "$out" | grep -q "1 received" || fail "ping by name: $out"
out=$(cd "$work" && "$layernet" --host files.local=$H get files.local:8000/data.bin -o static.bin) \
    || fail "get with --host: $out"
cmp -s "$work/static.bin" "$work/www/data.bin" || fail "--host download differs"
set +e
"$layernet" --dns "$H" ping nowhere.invalid -c 1 > /dev/null 2> "$work/err"
code=$?
set -e
[ "$code" = 1 ] && grep -q "nowhere.invalid: the name did not resolve" "$work/err" \
    || fail "unknown name exited $code: $(cat "$work/err")"
ok "--dns $H: ping fileserver.lan; --host files.local=$H: get; unknown name: $(cat "$work/err")"

# serve with a lease capped at 12 s: renewal at 6 s.
"$layernet" --ip dhcp --dhcp-max-lease 12 serve --root "$work/files" > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
await 30 '(chat)'
bound=$(grep -m1 '^dhcp: bound' "$work/serve.out")
leased=$(echo "$bound" | sed -E 's/^dhcp: bound ([0-9.]+)\/.*/\1/')
[ "$(head -1 "$work/serve.out")" = "$bound" ] || fail "the lease is not the first line: $(cat "$work/serve.out")"
grep -q "^listening on $leased:7878 (files)" "$work/serve.out" || fail "listening lines: $(cat "$work/serve.out")"
grep -q '^listening on \[fe80::ff:fe00:1\]:7878 (files)' "$work/serve.out" \
    || fail "no IPv6 link-local listening lines: $(cat "$work/serve.out")"
ok "serve: $bound; then $(grep -c "^listening on $leased" "$work/serve.out") listening lines on $leased and $(grep -c '^listening on \[' "$work/serve.out") on its IPv6 link-local address"

ping -c 1 -W 2 "$leased" > /dev/null || fail "Linux cannot ping $leased"
echo "served" > "$work/files/hello.txt"
got=$(curl -sS --max-time 10 "http://$leased:7878/hello.txt") || fail "curl $leased"
[ "$got" = served ] || fail "curl got '$got'"
got=$(echo "hi" | nc -w 2 -q 1 "$leased" 7) || true
[ "$got" = hi ] || fail "nc echo got '$got'"
ok "Linux reaches $leased: ping, curl :7878, nc :7"

await 15 '^dhcp: renewed'
ok "short lease: $(grep -m1 '^dhcp: renewed' "$work/serve.out")"

# The server goes away: renewals and rebinding go unanswered, the lease
# expires, the stack drops its address; the server comes back: bound again.
stop_dnsmasq
await 20 '^dhcp: lease lost'
ping -c 1 -W 1 "$leased" > /dev/null 2>&1 && fail "$leased still answers after the lease was lost"
ok "dnsmasq killed: '$(grep -m1 '^dhcp: lease lost' "$work/serve.out")', $leased no longer answers"
start_dnsmasq
for _ in $(seq 300); do [ "$(grep -c '^dhcp: bound' "$work/serve.out")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c '^dhcp: bound' "$work/serve.out")" -ge 2 ] || fail "no new lease: $(cat "$work/serve.out")"
again=$(grep '^dhcp: bound' "$work/serve.out" | tail -1)
leased=$(echo "$again" | sed -E 's/^dhcp: bound ([0-9.]+)\/.*/\1/')
got=$(curl -sS --max-time 10 "http://$leased:7878/hello.txt") || fail "curl after rebinding"
[ "$got" = served ] || fail "curl after rebinding got '$got'"
ok "dnsmasq back: $again; curl works again"
stop_serve
echo "dhcp_dns: all passed"
