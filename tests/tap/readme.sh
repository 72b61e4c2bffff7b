#!/usr/bin/env bash
# The README's TAP walk-through, run line by line exactly as the README
# writes it (serve on tap0, the layernet clients on tap1), then the file
# clients against Linux servers: get after a 404 leaves no file, error pages
# come down to one line, --user sends Basic credentials, a client whose
# address is taken says so, and two serves on one root.
# Needs scripts/tap-netns.sh --tap tap0 --tap tap1.
# Usage: readme.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
readme=$(dirname "$0")/../../README.md
extra_cleanup() { [ -z "${py:-}" ] || kill "$py" 2>/dev/null || true; }

# The walk-through: the sh block after the line that names this script.
awk '/tests\/tap\/readme.sh runs these lines/ { found = 1; next }
     found && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$readme" > "$work/lines"
[ "$(wc -l < "$work/lines")" -ge 8 ] || fail "no walk-through found in README.md"
grep -q -- '--link tap:tap1' "$work/lines" || fail "the walk-through's clients are not on tap1"
# PATH=$PWD/target/release finds this build; every other line runs as written.
mkdir -p "$work/walk/target/release"
ln -s "$layernet" "$work/walk/target/release/layernet"
{
    echo 'set -e'
    echo 'ready() { for _ in $(seq 100); do grep -q "(chat)" out.log && return; sleep 0.1; done; echo "serve did not start"; exit 1; }'
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case "${line%%#*}" in *'& '|*'&') echo 'ready' ;; esac
    done < "$work/lines"
    echo 'wait %1'
} > "$work/walk/walk.sh"
(cd "$work/walk" && PS4='$ ' timeout 120 bash -x walk.sh > out.log 2>&1) \
    || { sed 's/^/  /' "$work/walk/out.log"; fail "the walk-through failed"; }
log=$work/walk/out.log
expect() { grep -q -- "$1" "$log" || { sed 's/^/  /' "$log"; fail "walk-through: no '$1'"; }; }
expect 'listening on 192.168.69.1:7878 (files)'
expect '3 packets transmitted, 3 received'
expect '^hello$'
[ "$(grep -c 'connect successfully!' "$log")" -ge 2 ] || fail "greeting: $(cat "$log")"
expect 'href="hello.txt"'
expect '^hello.txt 20$'
expect '^saved copy.txt: 20 bytes, sha256 '
expect '^stored copy.txt: 201 20 bytes, sha256 '
expect '^saved named.txt: 20 bytes, sha256 '
cmp -s "$work/walk/served/hello.txt" "$work/walk/named.txt" || fail "get by layernet.local saved something else"
cmp -s "$work/walk/served/hello.txt" "$work/walk/served/copy.txt" || fail "put stored something else"
ok "the README's walk-through, line by line ($(wc -l < "$work/lines") lines)"

client=("$layernet" --link tap:tap1)
cd "$work"
# A Linux server: Python's, which answers a PUT with 13 lines of HTML.
mkdir pyroot && echo 'from linux' > pyroot/linux.txt
python3 -m http.server -d pyroot -b 192.168.69.100 8000 > py.log 2>&1 &
py=$!
for _ in $(seq 50); do curl -s -o /dev/null http://192.168.69.100:8000/ && break; sleep 0.1; done
status=0; "${client[@]}" get 192.168.69.100:8000/missing.txt > out 2> err || status=$?
[ "$status" = 1 ] || fail "get of a missing file exited $status"
[ ! -e missing.txt ] || fail "get left missing.txt after the 404"
[ "$(wc -l < err)" = 1 ] || fail "the 404 took more than a line: $(cat err)"
ok "get after a 404: exit 1, no file, $(cat err)"
echo 'my notes' > notes.txt
status=0; "${client[@]}" get 192.168.69.100:8000/missing.txt -o notes.txt -C 2> err || status=$?
[ "$status" = 1 ] && [ "$(cat notes.txt)" = 'my notes' ] || fail "a resume lost what it had: $(cat notes.txt)"
ok "get -C after a 404 keeps what was there"
status=0; "${client[@]}" put notes.txt 192.168.69.100:8000/notes.txt 2> err || status=$?
[ "$status" = 1 ] || fail "put to Python's server exited $status"
[ "$(cat err)" = "layernet put: 501 Not Implemented: Unsupported method ('PUT')." ] \
    || fail "the 501 page: $(cat err)"
ok "Python's 501 page in one line: $(cat err)"
head -c 5 pyroot/linux.txt > part.txt
"${client[@]}" get 192.168.69.100:8000/linux.txt -o part.txt -C > /dev/null || fail "resume from Python"
cmp -s pyroot/linux.txt part.txt || fail "a resume from a server without ranges: $(cat part.txt)"
ok "get -C from a server that ignores Range rewrites the file whole"
# A client on Linux's own address hears Linux answer its probe.
br_mac=$(cat /sys/class/net/br0/address)
status=0; "${client[@]}" --ip 192.168.69.100/24 greeting 192.168.69.1 2> err || status=$?
[ "$status" = 1 ] || fail "a client on a taken address exited $status"
[ "$(cat err)" = "layernet greeting: 192.168.69.100 is already in use on tap1 by $br_mac: give this client another address with --ip (and --mac)" ] \
    || fail "the clash: $(cat err)"
ping -c 1 -W 2 192.168.69.100 > /dev/null || fail "Linux lost its own address"
ok "address clash: $(cat err)"

# layernet serve with users: --user sends the credentials.
mkdir authroot
start_serve --link tap:tap0 --root authroot --auth alice:secret --auth-reads
status=0; "${client[@]}" put notes.txt 192.168.69.1/n.txt 2> err || status=$?
[ "$status" = 1 ] && grep -q '^layernet put: 401 Unauthorized' err || fail "put without --user: $status $(cat err)"
"${client[@]}" put --user alice:secret notes.txt 192.168.69.1/n.txt > out || fail "put --user: $(cat out)"
grep -q '^stored n.txt: 201 9 bytes' out || fail "put --user: $(cat out)"
"${client[@]}" get --user alice:secret 192.168.69.1/n.txt -o back.txt > /dev/null || fail "get --user"
cmp -s notes.txt back.txt || fail "get --user brought something else"
status=0; "${client[@]}" get 192.168.69.1/n.txt -o nope.txt 2> err || status=$?
[ "$status" = 1 ] && [ ! -e nope.txt ] || fail "get without --user: $status $(cat err)"
ok "--user: put 201 and get with it, 401 without ($(cat err))"
# A second serve on the same root: one line naming the first.
status=0; "$layernet" --link tap:tap1 --ip 192.168.69.3/24 --mac 02:00:00:00:00:03 \
    serve --root authroot > second.out 2> second.err || status=$?
[ "$status" = 1 ] || fail "a second serve on the root exited $status"
[ "$(cat second.err)" = "layernet serve: --root authroot is served by another layernet (pid $pid)" ] \
    || fail "second serve: $(cat second.err)"
ok "two serves on one root: $(cat second.err)"
stop_serve
echo "readme: all passed"
