#!/usr/bin/env bash
# The file service as a real server (issue 16), against real clients only:
# curl GET and PUT of 64 MiB, chunked uploads from curl and Python's
# http.client (and bad chunk framing), ApacheBench with and without
# keep-alive at 64 clients, `wget -r` of the listing, the write policies
# (read-only by default, --writable, --auth, --auth-reads), layernet's own
# get and put on a TAP of their own, two serves on one root, the access log,
# and an idle keep-alive connection closed with FIN.
# Runs inside `scripts/tap-netns.sh --tap tap0 --tap tap1`: serve is
# 192.168.69.1 on tap0, layernet's clients 192.168.69.2 on tap1, Linux
# 192.168.69.100 on the bridge.
# Usage: file_service.sh PATH_TO_LAYERNET
# FILE_SERVICE_ONLY=transfers,load,... runs some sections;
# FILE_SERVICE_KEEP_GOING=1 runs every section and lists the failed ones
# at the end (the exit status is still 1 if any failed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
H=192.168.69.100
client=(--link tap:tap1 --ip 192.168.69.2/24 --mac 02:00:00:00:00:02)
url="http://$L:7878"
FORBIDDEN='403 Forbidden: uploads are off; start serve with --writable, or --auth USER:PASS'
# Background processes of the running section other than serve ($pid).
bg=()
section_cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
    # Give serve its grace to end, so that the next section's serve finds
    # the TAP free.
    [ -z "$pid" ] || for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# temp_files DIR: how many upload temporary files DIR holds.
temp_files() { ls -A "$1" | grep -c '^\.layernet-upload' || true; }
# http CURL_ARGS...: curl, printing only the status code; the
# body goes to $work/body, the headers to $work/headers.
http() {
    : > "$work/body"; : > "$work/headers"
    curl -sS -m 60 -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" 2> "$work/curl.err"
}
# What curl said when it failed (after `http`).
said() { local s=$?; echo "curl exit $s, HTTP status ${code:-none}: $(tr '\n' ' ' < "$work/curl.err")"; }
show() { printf '%s' "$(head -c 300 "$1" | tr '\r\n' '  ')"; }

mkdir "$work/root"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$work/big.bin"
printf 'small file for load tests\n' > "$work/root/small.txt"

# --- curl GET and PUT, chunked uploads, bad chunk framing ---------------
transfers() {
    cp "$work/big.bin" "$work/root/big.bin"
    start_serve --writable --root "$work/root"
    local start code
    start=$(date +%s%N)
    curl -sS -m 120 -o "$work/down.bin" "$url/big.bin" || fail "curl GET big.bin"
    [ "$(sha "$work/down.bin")" = "$(sha "$work/big.bin")" ] \
        || fail "curl GET big.bin: $(stat -c %s "$work/down.bin") bytes, sha256 differs"
    ok "curl GET 64 MiB: sha256 equal, $(ms_since "$start") ms"
    rm "$work/down.bin"

    start=$(date +%s%N)
    code=$(http -T "$work/big.bin" "$url/up.bin") || fail "curl PUT up.bin: $(said)"
    [ "$code" = 201 ] || fail "PUT of a new 64 MiB file gave $code: $(show "$work/body")"
    [ "$(sha "$work/root/up.bin")" = "$(sha "$work/big.bin")" ] || fail "PUT up.bin: the stored file differs"
    ok "curl PUT 64 MiB: 201, sha256 equal on disk, $(ms_since "$start") ms"
    rm "$work/root/up.bin" "$work/root/big.bin"

    seq 1 100000 > "$work/seq.txt"
    # seq may die of SIGPIPE when the server answers early: curl's status
    # is the one that counts.
    code=$( (seq 1 100000 || true) | http -T - "$url/seq.txt") || fail "seq | curl -T -: $(said)"
    [ "$code" = 201 ] || fail "seq 1 100000 | curl -T - (chunked) gave $code: $(show "$work/body")"
    cmp -s "$work/seq.txt" "$work/root/seq.txt" || fail "the chunked upload is stored as $(stat -c %s "$work/root/seq.txt" 2>/dev/null || echo no) bytes, not the $(stat -c %s "$work/seq.txt") sent"
    code=$( (seq 1 100000 || true) | http -T - "$url/seq.txt") || fail "seq | curl -T - again: $(said)"
    [ "$code" = 204 ] || fail "a chunked upload replacing seq.txt gave $code: $(show "$work/body")"
    cmp -s "$work/seq.txt" "$work/root/seq.txt" || fail "the replacing chunked upload differs"
    ok "seq 1 100000 | curl -T - (chunked): 201, then 204 replacing it, byte-exact ($(stat -c %s "$work/seq.txt") bytes)"

    python3 - "$L" "$work/root" <<'PY' || fail "Python http.client with encode_chunked=True"
import hashlib, http.client, os, sys
host, root = sys.argv[1], sys.argv[2]
# Chunks of uneven sizes, some bigger than a segment, one of a single byte.
chunks = [os.urandom(n) for n in (1, 1000, 70000, 5, 300000, 4096)]
conn = http.client.HTTPConnection(host, 7878, timeout=30)
conn.request("PUT", "/py.bin", body=iter(chunks), encode_chunked=True)
r = conn.getresponse()
body = r.read()
assert r.status == 201, (r.status, body[:200])
want = b"".join(chunks)
got = open(os.path.join(root, "py.bin"), "rb").read()
assert got == want, ("stored", len(got), "sent", len(want))
print(f"ok   Python http.client encode_chunked=True: 201, {len(want)} bytes in {len(chunks)} chunks stored byte-exact, sha256 {hashlib.sha256(got).hexdigest()[:16]}")
PY

    python3 - "$L" "$work/root" <<'PY' || fail "bad chunk framing"
import os, socket, sys, time
host, root = sys.argv[1], sys.argv[2]
head = b"PUT /%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
cases = {
    "bad-hex.bin": b"400\r\n" + b"a" * 1024 + b"\r\nzz\r\n" + b"b" * 100 + b"\r\n0\r\n\r\n",
    "no-crlf.bin": b"10\r\n" + b"c" * 16 + b"XY5\r\nhello\r\n0\r\n\r\n",
}
for name, body in cases.items():
    s = socket.create_connection((host, 7878), timeout=10)
    s.sendall(head % name.encode() + body)
    data = b""
    try:
        while not data.endswith(b"\n") or b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError) as e:
        sys.exit(f"{name}: no answer ({e}); got {data[:200]!r}")
    s.close()
    status = data.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 400"), (name, data[:300])
    # Nothing behind: neither the file nor a temporary one (2 s to go).
    for _ in range(20):
        left = [f for f in os.listdir(root) if f == name or f.startswith(".layernet-upload")]
        if not left:
            break
        time.sleep(0.1)
    assert not left, (name, "left behind:", left)
    print(f"ok   bad chunk framing ({name}): {status.decode()}, no file, no temporary file")
PY
    stop_serve
    rm -f "$work/root/seq.txt" "$work/root/py.bin"
}

# --- ApacheBench: keep-alive and not, 64 clients --------------------------
# ab_run NAME ARGS...: 20000 requests for small.txt; 0 failed, 0 non-2xx.
ab_run() {
    local name=$1 out="$work/ab.out" status=0
    shift
    timeout -k 5 150 ab -s 20 "$@" -n 20000 -c 64 "$url/small.txt" > "$out" 2>&1 || status=$?
    local complete failed non2xx rate took
    complete=$(awk '/^Complete requests:/ { print $3 }' "$out")
    failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
    non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
    rate=$(awk '/^Requests per second:/ { print $4 }' "$out")
    took=$(awk '/^Time taken for tests:/ { print $5 }' "$out")
    [ "$status" = 0 ] || fail "$name: ab exited $status: $(grep -v '^Completed\|^Finished\|^$' "$out" | tail -5 | tr '\n' ' ')"
    [ "$complete" = 20000 ] || fail "$name: $complete of 20000 requests complete"
    [ "$failed" = 0 ] || fail "$name: $failed failed requests ($(grep -A1 '^Failed requests' "$out" | tail -1 | tr -s ' '))"
    [ -z "$non2xx" ] || fail "$name: $non2xx non-2xx responses"
    ok "$name: 20000 requests, 0 failed, 0 non-2xx: $rate requests/s, $took s"
}
load() {
    local i
    start_serve --root "$work/root"
    # Three rounds each: a server that resets busy connections now and then
    # is caught more often than by one.
    for i in 1 2 3; do
        ab_run "ab -k -n 20000 -c 64 (round $i)" -k
        ab_run "ab -n 20000 -c 64 (round $i)"
    done
    stop_serve
}

# --- wget -r of the listing -------------------------------------------------
mirror() {
    local site="$work/site" name
    mkdir "$site"
    printf 'plain\n' > "$site/plain.txt"
    printf 'summer\n' > "$site/été 1.txt"
    head -c 200000 /dev/urandom > "$site/with space.bin"
    start_serve --root "$site"
    rm -rf "$work/mirror"
    (cd "$work" && timeout 60 wget -q -r -l 1 -np -nH -P mirror "$url/") \
        || fail "wget -r -l 1 -np exited $?: $(find "$work/mirror" -type f 2>/dev/null | tr '\n' ' ')"
    for name in "plain.txt" "été 1.txt" "with space.bin"; do
        [ -f "$work/mirror/$name" ] || fail "wget -r did not fetch '$name'; it saved: $(cd "$work/mirror" 2>/dev/null && find . -type f | tr '\n' ' ')"
        cmp -s "$site/$name" "$work/mirror/$name" || fail "wget -r: '$name' differs"
    done
    ok "wget -r -l 1 -np mirrored $(cd "$site" && ls | wc -l) files byte-exact, 'été 1.txt' and 'with space.bin' among them"
    local ctype
    ctype=$(curl -sS -m 10 -o /dev/null -w '%{content_type}' -H 'Accept: */*' "$url/") || fail "curl GET /"
    [[ "$ctype" == text/html* ]] || fail "GET / with Accept: */* is '$ctype', not text/html"
    curl -sS -m 10 -H 'Accept: text/plain' "$url/" > "$work/list.txt" || fail "curl GET / text/plain"
    grep -qx 'with space.bin 200000' "$work/list.txt" || fail "the text/plain listing has no 'with space.bin 200000': $(show "$work/list.txt")"
    ok "GET /: '$ctype' for Accept: */*, 'name size' lines for Accept: text/plain"
    # A download that resumes, as a browser's does: the first part, then
    # the rest under If-Range with the ETag the first part came with.
    local tag code
    curl -sS -m 10 -r 0-99999 -D "$work/h1" -o "$work/part" "$url/with%20space.bin" || fail "curl first part"
    tag=$(tr -d '\r' < "$work/h1" | sed -n 's/^ETag: //Ip')
    [ -n "$tag" ] || fail "no ETag on a file: $(show "$work/h1")"
    code=$(curl -sS -m 10 -r 100000- -H "If-Range: $tag" -o "$work/rest" -w '%{http_code}' "$url/with%20space.bin") || fail "curl resume"
    [ "$code" = 206 ] || fail "resuming with If-Range: $tag gave $code"
    cat "$work/part" "$work/rest" | cmp -s - "$site/with space.bin" || fail "the resumed download differs"
    head -c 200000 /dev/urandom > "$site/with space.bin.new"
    mv "$site/with space.bin.new" "$site/with space.bin"
    code=$(curl -sS -m 10 -r 100000- -H "If-Range: $tag" -o "$work/rest" -w '%{http_code}' "$url/with%20space.bin") || fail "curl resume after a change"
    [ "$code" = 200 ] && cmp -s "$work/rest" "$site/with space.bin" \
        || fail "resuming a replaced file gave $code, not the whole new file ($(stat -c %s "$work/rest") bytes)"
    ok "resume: 206 under If-Range $tag, the parts whole; the whole new file (200) once it was replaced"
    stop_serve
}

# --- write policies, layernet's put with --user ----------------------------
policies() {
    local code hex
    printf 'keep me\n' > "$work/root/keep.txt"
    printf 'new data\n' > "$work/new.txt"

    start_serve --root "$work/root"
    code=$(http -T "$work/new.txt" "$url/new.txt") || fail "curl PUT, read-only: $(said)"
    [ "$code" = 403 ] || fail "PUT to a default serve gave $code: $(show "$work/body")"
    [ "$(tr -d '\r' < "$work/body" | sed '/^$/d')" = "$FORBIDDEN" ] || fail "403 body: $(show "$work/body")"
    [ ! -e "$work/root/new.txt" ] || fail "the refused PUT created new.txt"
    code=$(http -X DELETE "$url/keep.txt") || fail "curl DELETE, read-only: $(said)"
    [ "$code" = 403 ] || fail "DELETE on a default serve gave $code: $(show "$work/body")"
    [ "$(tr -d '\r' < "$work/body" | sed '/^$/d')" = "$FORBIDDEN" ] || fail "403 body for DELETE: $(show "$work/body")"
    [ -f "$work/root/keep.txt" ] || fail "the refused DELETE removed keep.txt"
    code=$(http "$url/keep.txt") || fail "curl GET, read-only: $(said)"
    [ "$code" = 200 ] || fail "GET on a default serve gave $code"
    ok "default serve: PUT and DELETE 403 '$FORBIDDEN', GET 200"
    stop_serve

    start_serve --writable --root "$work/root"
    code=$(http -T "$work/new.txt" "$url/new.txt") || fail "curl PUT, --writable: $(said)"
    [ "$code" = 201 ] || fail "PUT of a new file with --writable gave $code: $(show "$work/body")"
    code=$(http -T "$work/new.txt" "$url/new.txt") || fail "curl PUT again, --writable: $(said)"
    [ "$code" = 204 ] || fail "PUT replacing a file with --writable gave $code: $(show "$work/body")"
    cmp -s "$work/new.txt" "$work/root/new.txt" || fail "--writable: new.txt differs"
    code=$(http -X DELETE "$url/new.txt") || fail "curl DELETE, --writable: $(said)"
    [[ "$code" == 2?? ]] || fail "DELETE with --writable gave $code: $(show "$work/body")"
    [ ! -e "$work/root/new.txt" ] || fail "DELETE with --writable left new.txt"
    ok "--writable: PUT 201 (new), 204 (replaced), DELETE $code"
    stop_serve

    hex=$(printf 'hunter2' | sha256sum | cut -d' ' -f1)
    start_serve --auth alice:secret --auth "bob:sha256:$hex" --root "$work/root"
    code=$(http -T "$work/new.txt" "$url/new.txt") || fail "curl PUT, no credentials: $(said)"
    [ "$code" = 401 ] || fail "PUT without credentials under --auth gave $code: $(show "$work/body")"
    grep -qx 'WWW-Authenticate: Basic realm="layernet"' <(tr -d '\r' < "$work/headers") \
        || fail "401 without 'WWW-Authenticate: Basic realm=\"layernet\"': $(show "$work/headers")"
    code=$(http -u alice:wrong -T "$work/new.txt" "$url/new.txt") || fail "curl PUT, wrong password: $(said)"
    [ "$code" = 401 ] || fail "PUT with a wrong password gave $code: $(show "$work/body")"
    code=$(http -u mallory:secret -T "$work/new.txt" "$url/new.txt") || fail "curl PUT, unknown user: $(said)"
    [ "$code" = 401 ] || fail "PUT as an unknown user gave $code: $(show "$work/body")"
    code=$(http -X DELETE "$url/keep.txt") || fail "curl DELETE, no credentials: $(said)"
    [ "$code" = 401 ] || fail "DELETE without credentials under --auth gave $code: $(show "$work/body")"
    [ ! -e "$work/root/new.txt" ] && [ -f "$work/root/keep.txt" ] || fail "a refused write changed the root: $(ls "$work/root" | tr '\n' ' ')"
    code=$(http -u alice:secret -T "$work/new.txt" "$url/new.txt") || fail "curl PUT as alice: $(said)"
    [ "$code" = 201 ] || fail "PUT as alice:secret gave $code: $(show "$work/body")"
    cmp -s "$work/new.txt" "$work/root/new.txt" || fail "--auth: new.txt differs"
    code=$(http -u bob:hunter2 -T "$work/new.txt" "$url/bob.txt") || fail "curl PUT as bob: $(said)"
    [ "$code" = 201 ] || fail "PUT as bob (--auth bob:sha256:HEX) gave $code: $(show "$work/body")"
    code=$(http "$url/keep.txt") || fail "curl GET, no credentials: $(said)"
    [ "$code" = 200 ] || fail "GET without credentials under --auth (reads open) gave $code"
    ok "--auth: PUT/DELETE without credentials 401 with WWW-Authenticate: Basic realm=\"layernet\", wrong password 401, unknown user 401; alice 201, bob (sha256 form) 201; GET open"

    rm -f "$work/root/new.txt"
    local out
    out=$("$layernet" "${client[@]}" put "$work/new.txt" "$L/new.txt" 2>&1) && fail "layernet put without --user succeeded: $out"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "layernet put without --user printed $(printf '%s\n' "$out" | wc -l) lines: $out"
    [ ! -e "$work/root/new.txt" ] || fail "layernet put without --user stored new.txt"
    ok "layernet put without --user: exit 1, '$out'"
    out=$("$layernet" "${client[@]}" put --user alice:secret "$work/new.txt" "$L/new.txt" 2>&1) \
        || fail "layernet put --user alice:secret: $out"
    cmp -s "$work/new.txt" "$work/root/new.txt" || fail "layernet put --user: new.txt differs"
    ok "layernet put --user alice:secret: $out"
    stop_serve
    rm -f "$work/root/new.txt" "$work/root/bob.txt"

    start_serve --auth alice:secret --auth-reads --root "$work/root"
    code=$(http "$url/keep.txt") || fail "curl GET, --auth-reads: $(said)"
    [ "$code" = 401 ] || fail "GET without credentials under --auth-reads gave $code"
    grep -qx 'WWW-Authenticate: Basic realm="layernet"' <(tr -d '\r' < "$work/headers") \
        || fail "401 to a GET without WWW-Authenticate: $(show "$work/headers")"
    code=$(http -I "$url/keep.txt") || fail "curl HEAD, --auth-reads: $(said)"
    [ "$code" = 401 ] || fail "HEAD without credentials under --auth-reads gave $code"
    code=$(http -u alice:secret "$url/keep.txt") || fail "curl GET as alice, --auth-reads: $(said)"
    [ "$code" = 200 ] && cmp -s "$work/body" "$work/root/keep.txt" || fail "GET as alice under --auth-reads gave $code: $(show "$work/body")"
    out=$(cd "$work" && "$layernet" "${client[@]}" get --user alice:secret "$L/keep.txt" -o got.txt 2>&1) \
        || fail "layernet get --user alice:secret: $out"
    cmp -s "$work/got.txt" "$work/root/keep.txt" || fail "layernet get --user: got.txt differs"
    ok "--auth-reads: GET and HEAD without credentials 401, GET as alice 200, layernet get --user 200"
    stop_serve
    rm -f "$work/got.txt"
}

# --- layernet's clients after an error -------------------------------------
clients() {
    local out status
    start_serve --root "$work/root"
    mkdir -p "$work/cl"
    status=0
    out=$(cd "$work/cl" && "$layernet" "${client[@]}" get "$L/missing.txt" 2>&1) || status=$?
    [ "$status" = 1 ] || fail "layernet get of a missing file exited $status: $out"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "layernet get of a missing file printed $(printf '%s\n' "$out" | wc -l) lines: $out"
    [ ! -e "$work/cl/missing.txt" ] || fail "layernet get left missing.txt ($(stat -c %s "$work/cl/missing.txt") bytes) after the error"
    ok "layernet get of a missing file: exit 1, '$out', no missing.txt left"
    status=0
    out=$(cd "$work/cl" && "$layernet" "${client[@]}" get "$L/missing.txt" -o out.bin 2>&1) || status=$?
    [ "$status" = 1 ] && [ ! -e "$work/cl/out.bin" ] || fail "layernet get -o out.bin of a missing file: exit $status, out.bin $(ls "$work/cl")"
    printf 'partial' > "$work/cl/part.bin"
    status=0
    out=$(cd "$work/cl" && "$layernet" "${client[@]}" get -C "$L/missing.txt" -o part.bin 2>&1) || status=$?
    [ "$status" = 1 ] || fail "layernet get -C of a missing file exited $status: $out"
    [ "$(cat "$work/cl/part.bin" 2>/dev/null)" = partial ] || fail "layernet get -C removed or changed the partial file it resumed"
    ok "layernet get -o of a missing file leaves no output; get -C keeps the partial file"
    # The listing goes to -o's file (or, if the client prints it, stdout).
    out=$(cd "$work/cl" && "$layernet" "${client[@]}" get "$L/" -o list.txt 2> "$work/get.err") \
        || fail "layernet get $L/ -o list.txt: $(cat "$work/get.err")"
    local line
    line="small.txt $(stat -c %s "$work/root/small.txt")"
    grep -qx "$line" "$work/cl/list.txt" 2>/dev/null || printf '%s\n' "$out" | grep -qx "$line" \
        || fail "layernet get $L/ gave no '$line' line: saved $(show "$work/cl/list.txt" 2>/dev/null), printed $out"
    ok "layernet get $L/: the plain 'name size' listing"
    stop_serve

    # A multi-line error page from a server nobody here wrote.
    mkdir -p "$work/www"
    (cd "$work/www" && exec python3 -m http.server 8000 --bind "$H" > /dev/null 2>&1) &
    bg+=($!)
    for _ in $(seq 50); do curl -s -m 1 "http://$H:8000/" > /dev/null 2>&1 && break; sleep 0.1; done
    status=0
    out=$("$layernet" "${client[@]}" put "$work/root/small.txt" "$H:8000/small.txt" 2>&1) || status=$?
    [ "$status" = 1 ] || fail "layernet put to python3 -m http.server (501) exited $status: $out"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "the 501 from http.server printed $(printf '%s\n' "$out" | wc -l) lines: $out"
    ok "layernet put to python3 -m http.server: exit 1, one line: '$out'"
}

# --- two serves on one root ----------------------------------------------------
two_serves() {
    local first code status=0 up
    cp "$work/big.bin" "$work/up.bin"
    start_serve --writable --root "$work/root"
    first=$pid
    curl -sS -m 120 --limit-rate 8M -o "$work/up.body" -w '%{http_code}' -T "$work/up.bin" "$url/up.bin" > "$work/up.code" 2> "$work/up.err" &
    up=$!
    bg+=($up)
    for _ in $(seq 100); do [ "$(temp_files "$work/root")" -gt 0 ] && break; sleep 0.1; done
    [ "$(temp_files "$work/root")" -gt 0 ] || fail "the upload to the first serve did not start"
    "$layernet" "${client[@]}" serve --writable --root "$work/root" > "$work/serve2.out" 2> "$work/serve2.err" &
    local second=$!
    bg+=($second)
    for _ in $(seq 100); do kill -0 "$second" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$second" 2>/dev/null; then
        kill -TERM "$second"; wait "$second" || true
        fail "a second serve on the same root still runs after 10 s: $(cat "$work/serve2.err" "$work/serve2.out" | head -5 | tr '\n' ' ')"
    fi
    wait "$second" || status=$?
    [ "$status" = 1 ] || fail "the second serve exited $status: $(cat "$work/serve2.err")"
    [ "$(wc -l < "$work/serve2.err")" = 1 ] || fail "the second serve printed $(wc -l < "$work/serve2.err") lines on stderr: $(cat "$work/serve2.err")"
    grep -Eqx "layernet serve: --root .+ is served by another layernet \(pid $first\)" "$work/serve2.err" \
        || fail "the second serve's error does not name pid $first: $(cat "$work/serve2.err")"
    ok "a second serve on the same root: exit 1, '$(cat "$work/serve2.err")'"
    wait "$up" || fail "the upload in flight to the first serve failed: $(cat "$work/up.err")"
    code=$(cat "$work/up.code")
    [ "$code" = 201 ] || fail "the upload in flight to the first serve gave $code: $(show "$work/up.body")"
    [ "$(sha "$work/root/up.bin")" = "$(sha "$work/up.bin")" ] || fail "the upload in flight was damaged"
    [ "$(temp_files "$work/root")" = 0 ] || fail "temporary files left: $(ls -A "$work/root" | tr '\n' ' ')"
    ok "the upload in flight to the first serve completed: 201, 64 MiB, sha256 equal"
    stop_serve
    rm -f "$work/root/up.bin" "$work/up.bin"
}

# --- the access log ---------------------------------------------------------------
LOG_RE='^(192\.168\.69\.100:[0-9]+) \[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\] ([A-Z]+) (/[^ ]*) ([0-9]{3}) ([0-9]+) ([0-9]+)ms$'
access_log() {
    local lines n i want up_size
    cp "$work/big.bin" "$work/root/log.bin"
    head -c 123457 /dev/urandom > "$work/up-log.bin"
    up_size=$(stat -c %s "$work/up-log.bin")
    printf 'summer\n' > "$work/root/été 1.txt"
    start_serve --writable --root "$work/root"
    curl -sS -m 60 -o /dev/null "$url/log.bin" || fail "curl GET log.bin"
    curl -sS -m 10 -o /dev/null "$url/nope.txt" || fail "curl GET nope.txt"
    curl -sS -m 10 -o /dev/null "$url/%C3%A9t%C3%A9%201.txt" || fail "curl GET été 1.txt"
    curl -sS -m 10 -o /dev/null -I "$url/small.txt" || fail "curl HEAD small.txt"
    curl -sS -m 60 -o /dev/null -T "$work/up-log.bin" "$url/up-log.bin" || fail "curl PUT up-log.bin"
    curl -sS -m 10 -o /dev/null -X DELETE "$url/up-log.bin" || fail "curl DELETE up-log.bin"
    want=(
        "GET /log.bin 200 $((64 * 1024 * 1024))"
        "GET /nope.txt 404 "
        "GET /%C3%A9t%C3%A9%201.txt 200 7"
        "HEAD /small.txt 200 "
        "PUT /up-log.bin 201 $up_size"
        "DELETE /up-log.bin 2"
    )
    for _ in $(seq 20); do
        [ "$(grep -Ec "$LOG_RE" "$work/serve.out" || true)" -ge ${#want[@]} ] && break
        sleep 0.1
    done
    lines=$(grep -E "$LOG_RE" "$work/serve.out" || true)
    n=$(printf '%s' "$lines" | grep -c . || true)
    [ "$n" = ${#want[@]} ] || fail "${#want[@]} requests, $n access-log lines; serve's stdout: $(grep -v '^listening on' "$work/serve.out" | head -10 | tr '\n' '|')"
    for i in "${!want[@]}"; do
        local line rest
        line=$(printf '%s\n' "$lines" | sed -n "$((i + 1))p")
        rest=$(printf '%s\n' "$line" | sed -E "s#$LOG_RE#\\2 \\3 \\4 \\5#")
        [[ "$rest" == "${want[$i]}"* ]] || fail "access-log line $((i + 1)) is '$line', want '${want[$i]}...'"
    done
    [ "$(printf '%s\n' "$lines" | sed -n 5p | sed -E "s#$LOG_RE#\\5#")" = "$up_size" ] || fail "the PUT's bytes: $(printf '%s\n' "$lines" | sed -n 5p)"
    ok "access log: ${#want[@]} requests, ${#want[@]} lines, e.g. '$(printf '%s\n' "$lines" | head -1)'"
    stop_serve

    # -q silences it (and so the listening lines: wait for the service).
    "$layernet" -q serve --root "$work/root" > "$work/serve.out" 2> "$work/serve.err" &
    pid=$!
    for _ in $(seq 100); do curl -s -m 1 -o /dev/null "$url/small.txt" && break; sleep 0.1; done
    curl -sS -m 10 -o /dev/null "$url/small.txt" || fail "curl GET small.txt with -q"
    sleep 0.3
    ! grep -Eq "$LOG_RE" "$work/serve.out" || fail "-q serve logged: $(grep -E "$LOG_RE" "$work/serve.out")"
    ok "-q: no access-log line"
    stop_serve
    rm -f "$work/root/log.bin" "$work/root/été 1.txt"
}

# --- idle keep-alive: FIN, not RST, no 408 --------------------------------------
idle() {
    start_serve --root "$work/root" --idle-timeout 2
    python3 - "$L" <<'PY' || fail "idle keep-alive connection"
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7878), timeout=15)
s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    assert chunk, ("closed before the answer", data)
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200"), head
length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
while len(body) < length:
    chunk = s.recv(4096)
    assert chunk, ("closed in the body", len(body), length)
    body += chunk
assert len(body) == length, ("more than Content-Length", body)
t0 = time.monotonic()
try:
    after = s.recv(4096)
except ConnectionResetError:
    sys.exit(f"reset (RST) after {time.monotonic() - t0:.1f} s idle, not closed with FIN")
except socket.timeout:
    sys.exit("still open after 15 s idle (--idle-timeout 2)")
took = time.monotonic() - t0
assert after == b"", ("sent on an idle keep-alive connection instead of closing it", after[:200])
assert 1.5 <= took <= 8, ("closed after", took)
print(f"ok   idle keep-alive connection: closed with FIN after {took:.1f} s (--idle-timeout 2), nothing sent, no RST")

# A request head cut in the middle still gets its 408.
s = socket.create_connection((sys.argv[1], 7878), timeout=15)
s.sendall(b"GET /small.txt HTTP/1.1\r\nHo")
t0 = time.monotonic()
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass
assert data.startswith(b"HTTP/1.1 408"), ("a half-sent request head got", data[:200])
print(f"ok   half-sent request head: 408 after {time.monotonic() - t0:.1f} s")
PY
    stop_serve
}

sections=(transfers load mirror policies clients two_serves access_log idle)
[ -z "${FILE_SERVICE_ONLY:-}" ] || IFS=, read -r -a sections <<< "$FILE_SERVICE_ONLY"
failed=()
for s in "${sections[@]}"; do
    echo "-- $s"
    # A subshell each: a failure ends its section, and its trap stops what
    # the section started. Not in a condition, where bash would turn
    # errexit off inside it.
    set +e
    (set -e; trap section_cleanup EXIT; "$s")
    status=$?
    set -e
    if [ "$status" != 0 ]; then
        failed+=("$s")
        [ "${FILE_SERVICE_KEEP_GOING:-}" = 1 ] || exit 1
    fi
done
[ ${#failed[@]} = 0 ] || { echo "file_service: FAILED sections: ${failed[*]}"; exit 1; }
echo "file_service: all passed"
