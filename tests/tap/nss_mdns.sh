#!/usr/bin/env bash
# Issue 20: the README's `curl http://layernet.local:7878/` for real. Plain
# curl, getent and ping find layernet.local through Linux's own name
# resolution: glibc's NSS with nss-mdns (`mdns4_minimal`), which asks
# avahi-daemon over /run/avahi-daemon/socket, and avahi asks serve's
# responder on the TAP. No --resolve, no /etc/hosts line.
#
# Everything this test changes is in namespaces of its own: the network
# namespace of scripts/tap-netns.sh, and a private mount namespace (the
# unshare below) in which a tmpfs covers /run (so avahi's socket and pid
# file never reach the machine's /run, where /run/avahi-daemon does not
# even exist to be bind-mounted over) and this test's nsswitch.conf covers
# /etc/nsswitch.conf. avahi-daemon runs without D-Bus, as root, not
# chrooted, from a configuration file the test writes, on tap0 only.
set -euo pipefail
if [ -z "${LAYERNET_NSS_MDNS_MOUNTS:-}" ]; then
    # A mount namespace of our own, mounts private (ip netns exec's is a
    # slave of the root's: still nothing would leak, but private says so).
    command -v unshare > /dev/null || { echo "FAIL: unshare is missing (util-linux)"; exit 1; }
    LAYERNET_NSS_MDNS_MOUNTS=1 exec unshare -m --propagation private "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
readme=$(dirname "$0")/../../README.md
avahi=$(command -v avahi-daemon) || fail "avahi-daemon is missing (scripts/test.sh installs avahi-daemon)"
ldconfig -p | grep -q 'libnss_mdns4_minimal\.so\.2' || fail "nss-mdns is missing (scripts/test.sh installs libnss-mdns)"

avahi_pid=
mounted=()
extra_cleanup() {
    [ -z "$avahi_pid" ] || { kill "$avahi_pid" 2>/dev/null || true; wait "$avahi_pid" 2>/dev/null || true; }
    # Last mounted, first unmounted (the namespace goes when this shell
    # ends; unmounting says so and frees $work for rm).
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || true; done
}

# The README line this test runs: the curl in the block after "then:" of
# the nss-mdns paragraph, exactly as written.
line=$(grep -m1 '^curl http://layernet\.local:7878/ ' "$readme") || fail "no 'curl http://layernet.local:7878/' line in README.md"

mount -t tmpfs -o mode=755 layernet-run /run || fail "tmpfs on /run"
mounted+=(/run)
mkdir /run/avahi-daemon
cat > "$work/nsswitch.conf" << 'EOF'
# tests/tap/nss_mdns.sh: Debian's line once libnss-mdns is installed.
hosts: files mdns4_minimal [NOTFOUND=return] dns
EOF
mount --bind "$work/nsswitch.conf" /etc/nsswitch.conf || fail "bind-mount over /etc/nsswitch.conf"
mounted+=(/etc/nsswitch.conf)
grep -q '^hosts: files mdns4_minimal \[NOTFOUND=return\] dns$' /etc/nsswitch.conf || fail "nsswitch.conf not in place"

mkdir "$work/served"
echo "found by curl, by name" > "$work/served/hello.txt"
start_serve --services files --root "$work/served"
for _ in $(seq 100); do grep -q '^mdns: answering for layernet.local' "$work/serve.out" && break; sleep 0.1; done
grep -q '^mdns: answering for layernet.local (192.168.69.1)$' "$work/serve.out" || fail "serve does not answer for layernet.local: $(cat "$work/serve.out")"

# Before avahi runs, mdns4_minimal cannot reach it and the name does not
# resolve: what resolves it below is avahi, not something else.
status=0
getent hosts layernet.local > "$work/before" 2>&1 || status=$?
[ "$status" != 0 ] || fail "layernet.local resolved before avahi-daemon ran: $(cat "$work/before")"
ok "without avahi-daemon: getent hosts layernet.local exits $status"

cat > "$work/avahi.conf" << 'EOF'
# tests/tap/nss_mdns.sh: the Linux side of tap0 only, no D-Bus.
[server]
host-name=linux-peer
use-ipv4=yes
use-ipv6=no
allow-interfaces=tap0
enable-dbus=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF
"$avahi" -f "$work/avahi.conf" --no-drop-root --no-chroot --no-rlimits --no-proc-title \
    > "$work/avahi.log" 2>&1 &
avahi_pid=$!
t0=$(date +%s%N)
for _ in $(seq 100); do
    grep -q 'Server startup complete' "$work/avahi.log" && [ -S /run/avahi-daemon/socket ] && break
    kill -0 "$avahi_pid" 2>/dev/null || break
    sleep 0.1
done
[ -S /run/avahi-daemon/socket ] || fail "avahi-daemon did not start: $(tail -20 "$work/avahi.log")"
grep -q 'interface tap0.IPv4 with address 192.168.69.100' "$work/avahi.log" \
    || fail "avahi-daemon is not on tap0: $(tail -20 "$work/avahi.log")"
ok "avahi-daemon (pid $avahi_pid, no D-Bus) on tap0 after $(ms_since "$t0") ms"

t0=$(date +%s%N)
out=$(timeout 30 getent hosts layernet.local 2>&1) || fail "getent hosts layernet.local: $out $(tail -5 "$work/avahi.log")"
[ "$(printf '%s\n' "$out" | awk '{print $1, $2}')" = "192.168.69.1 layernet.local" ] || fail "getent hosts layernet.local: '$out'"
ok "getent hosts layernet.local: $out ($(ms_since "$t0") ms)"

out=$(timeout 30 ping -c 1 -W 5 layernet.local 2>&1) || fail "ping -c1 layernet.local: $out"
printf '%s\n' "$out" | grep -q '^PING layernet.local (192.168.69.1)' || fail "ping resolved something else: $out"
printf '%s\n' "$out" | grep -q '1 packets transmitted, 1 received' || fail "ping: $out"
ok "ping -c 1 layernet.local: $(printf '%s\n' "$out" | grep -m1 'bytes from')"

# The README's line, as written, run by bash.
t0=$(date +%s%N)
printf '%s\n' "$line" > "$work/line.sh"
page=$(cd "$work" && timeout 30 bash "$work/line.sh" 2> "$work/curl.err") || fail "'$line': $(cat "$work/curl.err")"
printf '%s' "$page" | grep -q 'href="hello.txt"' || fail "'$line' fetched no listing: $(printf '%s' "$page" | head -c 300)"
ok "README: '$line' fetched the listing ($(printf '%s' "$page" | wc -c) bytes, $(printf '%s' "$page" | grep -o '<title>[^<]*' | head -1 | sed 's/<title>//'), $(ms_since "$t0") ms)"
# And that curl did connect to serve's address, found by name.
got=$(timeout 30 curl -sS -o "$work/hello.got" -w '%{remote_ip}:%{remote_port} %{http_code}' \
    http://layernet.local:7878/hello.txt 2>&1) || fail "curl http://layernet.local:7878/hello.txt: $got"
[ "$got" = "192.168.69.1:7878 200" ] || fail "curl by name: $got"
cmp -s "$work/served/hello.txt" "$work/hello.got" || fail "curl by name fetched something else"
ok "curl http://layernet.local:7878/hello.txt: $got, the file as served"
stop_serve
echo "nss_mdns: all passed"
