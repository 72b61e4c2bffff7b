#!/usr/bin/env bash
# Issue 19: the listing page in a real browser. Headless Chromium (Debian's
# chromium and chromium-driver, driven by python3-selenium) on the Linux side
# of the TAP opens `layernet serve`'s listing: read-only (no controls, sorts),
# --writable (upload through the file input with its progress, listed,
# downloaded by the link with the same bytes, deleted after the
# confirmation, an upload over --max-upload refused with a message and
# nothing left), the live view at /_stack while curl downloads (its
# connection in the socket table, the bytes moving without a reload), and
# --auth (401 shown without credentials, then the upload
# with them), a full disk's 507 and a connection cut mid-upload (a
# message each, nothing half-written left). Screenshots go to $LAYERNET_SHOTS (default: a folder under
# /tmp, named at the end), for a person to look at.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

# Selenium from Debian's package is for Debian's python3, which need not be
# the first python3 on the PATH.
py=python3
"$py" -c 'import selenium' 2>/dev/null || py=/usr/bin/python3
"$py" -c 'import selenium' || fail "python3-selenium is missing (scripts/test.sh installs it)"
command -v chromedriver > /dev/null || fail "chromedriver is missing (scripts/test.sh installs chromium-driver)"

shots=${LAYERNET_SHOTS:-$(mktemp -d /tmp/layernet-browser-shots.XXXXXX)}
root="$work/root"
mkdir -p "$root"
head -c 10 /dev/urandom > "$root/seed.txt"
head -c 2000 /dev/urandom > "$root/mid.bin"
head -c 50000 /dev/urandom > "$root/zz big.bin"

browse() { # MODE: the Python driver against the running serve
    local t0
    t0=$(date +%s%N)
    # Chromium's own processes end with the driver; HOME for its profile.
    HOME="$work" timeout -k 5 240 "$py" "$here/browser.py" "$1" "http://$L:7878/" "$root" "$shots" \
        || fail "the browser run ($1) failed"
    ok "browser, $1: $(ms_since "$t0") ms"
}

start_serve --root "$root"
browse read-only
stop_serve

# The live view while curl downloads (slowly, so that it is still going).
head -c 30000000 /dev/urandom > "$root/big.bin"
start_serve --root "$root"
curl -s --limit-rate 2M -o /dev/null "http://$L:7878/big.bin" &
curl_pid=$!
browse live
kill "$curl_pid" 2>/dev/null || true
wait "$curl_pid" 2>/dev/null || true
rm -f "$root/big.bin"
stop_serve

start_serve --root "$root" --writable --max-upload 4194304
browse writable
stop_serve

start_serve --root "$root" --auth user:pass --max-upload 4194304
browse auth
stop_serve

# A full disk: a 2 MiB tmpfs in this namespace, gone with it.
small="$work/small"
mkdir -p "$small"
mount -t tmpfs -o size=2m tmpfs "$small" || fail "cannot mount a tmpfs in the namespace"
head -c 10 /dev/urandom > "$small/seed.txt"
start_serve --root "$small" --writable --max-upload 1073741824
browse errors
stop_serve
umount "$small"

# A connection cut mid-upload: serve stopped while the page uploads, over
# a link slowed to 16 Mbit/s towards serve so that the upload is still
# going when it stops.
tc qdisc add dev tap0 root tbf rate 16mbit burst 32kb latency 400ms || fail "tc tbf on tap0"
start_serve --root "$root" --writable --max-upload 1073741824
SERVE_PID=$pid browse cut
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "serve, stopped mid-upload, exited $status"
tc qdisc del dev tap0 root

echo "screenshots: $shots"
echo "browser: all passed"
