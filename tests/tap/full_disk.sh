#!/usr/bin/env bash
# The file service on a full disk, over TAP: the served directory is a
# 256 KiB tmpfs mounted inside the test's own namespace (gone with it). An
# upload that does not fit gets 507, leaves the old file intact and no
# temporary file behind, and other clients are served meanwhile.
# Usage: full_disk.sh PATH_TO_LAYERNET
set -euo pipefail
source "$(dirname "$0")/lib.sh"
extra_cleanup() { umount "$work/root" 2>/dev/null || true; }

mkdir "$work/root"
mount -t tmpfs -o size=256k tmpfs "$work/root" || fail "cannot mount a tmpfs in the namespace"
head -c 100000 /dev/urandom > "$work/small.bin"
head -c 400000 /dev/urandom > "$work/big.bin"
printf 'keep me\n' > "$work/root/keep.txt"
start_serve --writable --root "$work/root"

code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -T "$work/small.bin" "http://$L:7878/data.bin") || fail "curl PUT small"
[ "$code" = 201 ] || fail "PUT of 100 KB gave $code"
ok "PUT 100 KB into a 256 KiB disk: 201"
curl -sS -m 30 -o "$work/slow.txt" --limit-rate 2k "http://$L:7878/keep.txt" &
reader=$!
code=$(curl -sS -m 30 -o "$work/resp" -w '%{http_code}' -T "$work/big.bin" "http://$L:7878/data.bin") || fail "curl PUT big"
[ "$code" = 507 ] || fail "PUT of 400 KB into the rest of the disk gave $code: $(cat "$work/resp")"
cmp -s "$work/root/data.bin" "$work/small.bin" || fail "the failed upload damaged data.bin"
left=$(ls -A "$work/root" | grep -c '^\.layernet-upload' || true)
[ "$left" = 0 ] || fail "$left temporary file(s) left on the full disk"
ok "PUT 400 KB: 507 Insufficient Storage, old data.bin intact, no temporary file"
wait "$reader" || fail "the other client failed during the full disk"
cmp -s "$work/slow.txt" "$work/root/keep.txt" || fail "the other client's download differs"
ok "another client's download went on meanwhile"
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -T "$work/small.bin" "http://$L:7878/again.bin") || fail "curl PUT after"
[ "$code" = 201 ] || [ "$code" = 507 ] || fail "PUT after the full disk gave $code"
ok "the service still answers uploads after a full disk ($code)"
stop_serve
echo "full_disk: all passed"
