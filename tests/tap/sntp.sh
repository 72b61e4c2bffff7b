#!/usr/bin/env bash
# Issue 20 item 3: `serve --ntp` against chronyd on the Linux side of the
# TAP, as the time source: the SNTP client's line says it synchronised,
# and the time-echo service stamps lines with today's UTC date. chronyd
# runs with -x (it never sets this machine's clock), serving its own time
# at local stratum 8 to the namespace's /24 only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v chronyd > /dev/null || fail "chronyd is missing (scripts/test.sh installs chrony)"

source "$(dirname "$0")/../chrony.sh"
chrony_pid=
dns_pid=
extra_cleanup() { [ -z "$chrony_pid" ] || kill "$chrony_pid" 2>/dev/null || true; }
start_chronyd "$work" || fail "chronyd did not start"
ok "chronyd serves NTP on 192.168.69.100:123"

t0=$(date +%s%N)
start_serve --services time-echo,files --ntp 192.168.69.100 --root "$work"
for _ in $(seq 200); do grep -q '^sntp: ' "$work/serve.out" && break; sleep 0.1; done
line=$(grep -m1 '^sntp: ' "$work/serve.out") || fail "no sntp line in $(ms_since "$t0") ms: $(cat "$work/serve.out")"
today=$(date -u +%Y-%m-%d)
[[ "$line" == "sntp: $today "*" UTC from 192.168.69.100 (round trip "*" ms), first time" ]] \
    || fail "the sntp line is '$line' (today is $today, UTC)"
ok "$line, after $(ms_since "$t0") ms"

reply=$(printf 'hello\n' | timeout 10 nc -q 2 "$L" 21566) || fail "no time-echo reply"
[[ "$reply" == "[$today "*"]:hello" ]] || fail "the time-echo line '$reply' is not stamped with today ($today)"
ok "time-echo: '$reply'"
stop_serve

# A server that does not answer: serve keeps running, its stamps are this
# machine's clock, and no sntp line claims a time.
start_serve --services time-echo,files --ntp 192.168.69.100:124 --root "$work"
sleep 3
! grep -q '^sntp: .* UTC from' "$work/serve.out" || fail "an sntp line without a server: $(grep '^sntp' "$work/serve.out")"
reply=$(printf 'x\n' | timeout 10 nc -q 2 "$L" 21566) || fail "no time-echo reply without a time server"
[[ "$reply" == "[$today "*"]:x" ]] || fail "without a time server the stamp '$reply' is not this machine's date"
ok "no answer from port 124: stamps from this machine's clock"
stop_serve
# No --ntp, but a lease that names a time server (DHCP option 42, from
# dnsmasq): the SNTP client asks it.
command -v dnsmasq > /dev/null || fail "dnsmasq is missing (scripts/test.sh installs dnsmasq-base)"
dnsmasq --no-daemon --conf-file=/dev/null --no-hosts --no-resolv --user=root \
    --interface=tap0 --bind-interfaces --listen-address=192.168.69.100 \
    --dhcp-range=192.168.69.50,192.168.69.60,2m --dhcp-option=42,192.168.69.100 \
    --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" \
    --log-dhcp --log-facility=- >> "$work/dnsmasq.log" 2>&1 &
dns_pid=$!
extra_cleanup() {
    [ -z "$chrony_pid" ] || kill "$chrony_pid" 2>/dev/null || true
    [ -z "$dns_pid" ] || kill "$dns_pid" 2>/dev/null || true
}
for _ in $(seq 50); do grep -q "DHCP, IP range" "$work/dnsmasq.log" 2>/dev/null && break; sleep 0.1; done
grep -q "DHCP, IP range" "$work/dnsmasq.log" || fail "dnsmasq did not start: $(cat "$work/dnsmasq.log")"
t0=$(date +%s%N)
: > "$work/serve.out"
"$layernet" --ip dhcp serve --services time-echo > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 300); do grep -q '^sntp: ' "$work/serve.out" && break; sleep 0.1; done
bound=$(grep -m1 '^dhcp: bound' "$work/serve.out") || fail "no lease: $(cat "$work/serve.out" "$work/serve.err")"
[[ "$bound" == *", ntp 192.168.69.100"* ]] || fail "the lease line names no NTP server: '$bound'"
line=$(grep -m1 '^sntp: ' "$work/serve.out") || fail "no sntp line in $(ms_since "$t0") ms after a lease with option 42: $(cat "$work/serve.out")"
[[ "$line" == "sntp: $today "*" UTC from 192.168.69.100 (round trip "*" ms), first time" ]] \
    || fail "the sntp line is '$line'"
ok "$bound; $line"
stop_serve
kill "$dns_pid"
wait "$dns_pid" 2>/dev/null || true
dns_pid=
echo "sntp: all passed"
