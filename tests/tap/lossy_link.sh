#!/usr/bin/env bash
# Linux peers against `layernet serve` over a bad real link (this kernel has
# no netem): layernet's own seeded fault wrapper on its TAP, both ways
# (--faults, the simulated network's model), nftables dropping 5% of what
# the kernel receives from tap0 (numgen random on the input hook), and a tbf
# rate limit on what the kernel sends into it. Downloads, uploads and echo
# must stay byte-identical. Runs inside scripts/tap-netns.sh's namespace.
# Usage: lossy_link.sh PATH_TO_LAYERNET
set -euo pipefail
source "$(dirname "$0")/lib.sh"

nft add table inet lossy
nft add chain inet lossy input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet lossy input iifname tap0 numgen random mod 100 '<' 5 counter drop
tc qdisc add dev tap0 root tbf rate 40mbit burst 64kb latency 100ms
ok "kernel side: nftables drops 5% of input from tap0; tbf 40 Mbit/s out"

mkdir "$work/root"
head -c 1000000 /dev/urandom > "$work/big.bin"
cp "$work/big.bin" "$work/root/big.bin"
start_serve --writable --root "$work/root" --idle-timeout 600 --faults drop=5,corrupt=1,dup=2,reorder=5,delay=2ms

start=$(date +%s%N)
curl -sS -m 120 --retry 3 -o "$work/got.bin" "http://$L:7878/big.bin" || fail "curl GET"
cmp -s "$work/got.bin" "$work/big.bin" || fail "download differs"
ok "curl GET 1 MB: identical ($(( ($(date +%s%N) - start) / 1000000 )) ms)"

start=$(date +%s%N)
code=$(curl -sS -m 120 -o /dev/null -w '%{http_code}' -T "$work/big.bin" "http://$L:7878/up.bin") || fail "curl PUT"
[ "$code" = 201 ] || fail "PUT gave $code"
cmp -s "$work/root/up.bin" "$work/big.bin" || fail "upload differs on disk"
ok "curl PUT 1 MB: 201, identical on disk ($(( ($(date +%s%N) - start) / 1000000 )) ms)"

head -c 200000 /dev/urandom > "$work/echo.in"
start=$(date +%s%N)
timeout 120 nc -N "$L" 7 < "$work/echo.in" > "$work/echo.out" || fail "nc echo"
cmp -s "$work/echo.in" "$work/echo.out" || fail "echo differs ($(stat -c %s "$work/echo.out") bytes back)"
ok "nc echo 200 KB: identical ($(( ($(date +%s%N) - start) / 1000000 )) ms)"

stop_serve
faults=$(grep '^faults:' "$work/serve.err") || fail "no faults line"
ok "layernet's fault wrapper: ${faults#faults: }"
dropped=$(nft list ruleset | grep -o 'packets [0-9]*' | head -1)
ok "nftables dropped $dropped on input"
echo "lossy_link: all passed"
