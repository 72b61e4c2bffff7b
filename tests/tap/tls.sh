#!/usr/bin/env bash
# HTTPS on the file service (issue 22), against real clients only: curl
# --cacert GET and PUT (byte-compared) with and without --auth, a range,
# a chunked upload, keep-alive; Python's ssl + http.client trusting the
# certificate; openssl s_client showing TLSv1.3; a certificate from
# another CA refused by curl; --tls-only refusing 7878; bad PEM and a
# missing file as one-line errors with exit 1; layernet get/put over
# https:// with --cacert and --fingerprint, and an unknown certificate
# refused with a line that says how to trust it; the trace naming the
# handshake records.
# Runs inside `scripts/tap-netns.sh --tap tap0 --tap tap1`: serve is
# 192.168.69.1 on tap0, layernet's clients 192.168.69.2 on tap1, Linux
# 192.168.69.100 on the bridge.
# Usage: tls.sh PATH_TO_LAYERNET
set -euo pipefail
. "$(dirname "$0")/lib.sh"
client=(--link tap:tap1 --ip 192.168.69.2/24 --mac 02:00:00:00:00:02)
https="https://$L:7443"
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# wait_https: until the TLS listener answers a handshake (serve lists its
# services before the first poll).
wait_https() {
    for _ in $(seq 100); do
        curl -sS -m 2 -o /dev/null --cacert "$1" "$https/" 2>/dev/null && return
        sleep 0.1
    done
    fail "no HTTPS answer on 7443"
}

mkdir "$work/root"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$work/big.bin"
cp "$work/big.bin" "$work/root/big.bin"

# --- bad certificate files: one line, exit 1 --------------------------------
printf 'not a certificate\n' > "$work/bad.pem"
status=0
"$layernet" serve --root "$work/root" --tls-cert "$work/bad.pem" --tls-key "$work/bad.pem" \
    > "$work/bad.out" 2> "$work/bad.err" || status=$?
[ "$status" = 1 ] || fail "serve with a bad PEM exited $status, not 1: $(cat "$work/bad.err")"
[ "$(wc -l < "$work/bad.err")" = 1 ] || fail "bad PEM: not one line: $(cat "$work/bad.err")"
grep -q 'no PEM certificate' "$work/bad.err" || fail "bad PEM: $(cat "$work/bad.err")"
ok "bad PEM: exit 1, one line: $(cat "$work/bad.err")"
status=0
"$layernet" serve --root "$work/root" --tls-cert "$work/missing.pem" --tls-key "$work/bad.pem" \
    > "$work/bad.out" 2> "$work/bad.err" || status=$?
[ "$status" = 1 ] && [ "$(wc -l < "$work/bad.err")" = 1 ] && grep -q 'missing.pem: No such file' "$work/bad.err" \
    || fail "missing certificate file: exit $status: $(cat "$work/bad.err")"
ok "missing file: exit 1, one line: $(cat "$work/bad.err")"

# --- self-signed: curl, Python, openssl s_client ----------------------------
start_serve --writable --root "$work/root" --tls-self-signed --tls-cert-out "$work/cert.pem"
fp=$(sed -n 's/^tls: sha256 fingerprint \([0-9a-f]\{64\}\)$/\1/p' "$work/serve.out")
[ -n "$fp" ] || fail "no fingerprint line: $(cat "$work/serve.out")"
want=$(openssl x509 -in "$work/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
[ "$fp" = "$want" ] || fail "printed fingerprint $fp, openssl says $want"
grep -q "written to $work/cert.pem" "$work/serve.out" || fail "no path line: $(cat "$work/serve.out")"
openssl x509 -in "$work/cert.pem" -noout -ext subjectAltName | grep -q "IP Address:$L" \
    || fail "the certificate does not name $L: $(openssl x509 -in "$work/cert.pem" -noout -ext subjectAltName)"
ok "--tls-self-signed: fingerprint $fp (openssl agrees), certificate for $L and layernet.local at cert.pem"
grep -q "listening on $L:7443 (files, https)" "$work/serve.out" || fail "no https listening line: $(cat "$work/serve.out")"
grep -q "listening on $L:7878 (files)" "$work/serve.out" || fail "no http listening line"
wait_https "$work/cert.pem"

start=$(date +%s%N)
curl -sS -m 60 --cacert "$work/cert.pem" -o "$work/down.bin" "$https/big.bin" || fail "curl --cacert GET"
cmp -s "$work/down.bin" "$work/big.bin" || fail "curl GET over TLS: the bytes differ"
ok "curl --cacert GET 8 MiB over TLS: byte-exact, $(ms_since "$start") ms"
code=$(curl -sS -m 60 --cacert "$work/cert.pem" -T "$work/big.bin" -o /dev/null -w '%{http_code}' "$https/up.bin") \
    || fail "curl --cacert PUT"
[ "$code" = 201 ] && cmp -s "$work/root/up.bin" "$work/big.bin" || fail "curl PUT over TLS: $code, or the stored file differs"
ok "curl --cacert PUT 8 MiB over TLS: 201, stored byte-exact"
curl -sS -m 10 --cacert "$work/cert.pem" -r 1000-1999 -o "$work/part" -D "$work/h" "$https/big.bin" || fail "curl range"
grep -q '^HTTP/1.1 206' "$work/h" && cmp -s "$work/part" <(tail -c +1001 "$work/big.bin" | head -c 1000) \
    || fail "range over TLS: $(head -1 "$work/h")"
ok "curl --cacert -r 1000-1999: 206, the 1000 bytes right"
seq 1 50000 > "$work/seq.txt"
code=$( (cat "$work/seq.txt") | curl -sS -m 30 --cacert "$work/cert.pem" -T - -o /dev/null -w '%{http_code}' "$https/seq.txt") || fail "chunked PUT"
[ "$code" = 201 ] && cmp -s "$work/seq.txt" "$work/root/seq.txt" || fail "chunked PUT over TLS gave $code"
ok "curl -T - (chunked) over TLS: 201, byte-exact"
# Keep-alive: three requests, one connection (curl says when it reuses).
curl -sS -v -m 30 --cacert "$work/cert.pem" -o /dev/null "$https/seq.txt" -o /dev/null "$https/big.bin" -o /dev/null "$https/_stack" \
    2> "$work/ka.err" || fail "three GETs on one connection"
[ "$(grep -c 'Re-using existing\|Reusing existing' "$work/ka.err")" = 2 ] || fail "keep-alive over TLS: curl did not reuse: $(grep -i 'connect\|reus' "$work/ka.err" | head -5)"
ok "keep-alive over TLS: three GETs (a file, 8 MiB, /_stack) on one connection"
curl -sS -m 10 --cacert "$work/cert.pem" -H 'Accept: text/html' -o "$work/page.html" "$https/" || fail "GET / over TLS"
grep -q 'seq.txt' "$work/page.html" || fail "the listing page over TLS: $(head -c 300 "$work/page.html")"
ok "the listing page over TLS names seq.txt"

python3 - "$L" "$work/cert.pem" "$work/big.bin" <<'PY' || fail "Python ssl + http.client"
import http.client, ssl, sys
host, cafile, big = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection(host, 7443, context=ctx, timeout=30)
conn.request("GET", "/big.bin")
r = conn.getresponse()
body = r.read()
assert r.status == 200, r.status
assert body == open(big, "rb").read(), "bytes differ"
conn.request("PUT", "/py.bin", body=b"from python\n")
r = conn.getresponse(); r.read()
assert r.status == 201, r.status
print(f"ok   Python ssl + http.client: {conn.sock.version()} {conn.sock.cipher()[0]}, GET {len(body)} bytes equal, PUT 201 on the same connection")
PY
[ "$(cat "$work/root/py.bin")" = "from python" ] || fail "Python's PUT not stored"

openssl s_client -connect "$L:7443" -CAfile "$work/cert.pem" -servername layernet.local < /dev/null > "$work/s_client.out" 2>&1 || true
grep -q 'Protocol *: *TLSv1.3\|New, TLSv1.3' "$work/s_client.out" || fail "openssl s_client: no TLSv1.3: $(head -40 "$work/s_client.out")"
grep -q 'Verify return code: 0 (ok)' "$work/s_client.out" || fail "openssl s_client did not verify: $(grep Verify "$work/s_client.out")"
ok "openssl s_client: $(grep -m1 -o 'New, TLSv1.3, Cipher is [A-Z0-9_]*' "$work/s_client.out"), verified"

# A certificate from another CA: curl refuses.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/other.key" -out "$work/other.pem" -days 1 \
    -subj /CN=other -addext "subjectAltName=IP:$L" 2> /dev/null
status=0
curl -sS -m 10 --cacert "$work/other.pem" -o /dev/null "$https/big.bin" 2> "$work/curl.err" || status=$?
[ "$status" = 60 ] || fail "curl trusting another CA exited $status, not 60: $(cat "$work/curl.err")"
ok "curl --cacert (another CA): refused, exit 60: $(head -1 "$work/curl.err")"

# layernet's own clients over https://, on a TAP of their own.
"$layernet" "${client[@]}" get --cacert "$work/cert.pem" -o "$work/lget.bin" "$https/big.bin" > "$work/lget.out" 2>&1 \
    || fail "layernet get --cacert: $(cat "$work/lget.out")"
cmp -s "$work/lget.bin" "$work/big.bin" || fail "layernet get over TLS: the bytes differ"
ok "layernet get --cacert https://: byte-exact ($(tail -1 "$work/lget.out"))"
"$layernet" "${client[@]}" put --fingerprint "$fp" "$work/big.bin" "$https/lput.bin" > "$work/lput.out" 2>&1 \
    || fail "layernet put --fingerprint: $(cat "$work/lput.out")"
cmp -s "$work/root/lput.bin" "$work/big.bin" || fail "layernet put over TLS: the stored file differs"
ok "layernet put --fingerprint https://: stored byte-exact ($(tail -1 "$work/lput.out"))"
# lget: refusals, each one line that says how to trust the server.
refused() {
    local what=$1 status=0
    shift
    "$layernet" "${client[@]}" get "$@" -o "$work/refused.bin" "$https/big.bin" > "$work/refused.out" 2>&1 || status=$?
    [ "$status" = 1 ] || fail "layernet get ($what) exited $status: $(cat "$work/refused.out")"
    [ "$(wc -l < "$work/refused.out")" = 1 ] || fail "layernet get ($what): not one line: $(cat "$work/refused.out")"
    [ ! -e "$work/refused.bin" ] || fail "layernet get ($what) left a file"
}
refused "no trust given"
grep -q -- "--cacert FILE" "$work/refused.out" && grep -q -- "--fingerprint $fp" "$work/refused.out" \
    || fail "the refusal does not say how to trust: $(cat "$work/refused.out")"
ok "layernet get, unknown certificate: exit 1, one line: $(cat "$work/refused.out")"
refused "another CA" --cacert "$work/other.pem"
grep -q -- "--fingerprint $fp" "$work/refused.out" || fail "another CA: $(cat "$work/refused.out")"
ok "layernet get --cacert (another CA): refused: $(cat "$work/refused.out")"
refused "another fingerprint" --fingerprint "$(printf '%064d' 0)"
grep -q "$fp" "$work/refused.out" || fail "wrong pin: $(cat "$work/refused.out")"
ok "layernet get --fingerprint (another): refused: $(cat "$work/refused.out")"
stop_serve

# --- the trace names the records ------------------------------------------
start_serve --root "$work/root" --tls-self-signed --tls-cert-out "$work/cert.pem" --trace --pcap "$work/tls.pcap"
wait_https "$work/cert.pem"
curl -sS -m 10 --cacert "$work/cert.pem" -o /dev/null "$https/seq.txt" || fail "curl GET with --trace"
# TLS 1.2 with a cipher rustls does not offer: refused with an alert in the clear.
openssl s_client -connect "$L:7443" -tls1_2 -cipher AES128-SHA < /dev/null > "$work/s12.out" 2>&1 || true
# And a TLS 1.2 handshake that succeeds: its server flight in the clear.
openssl s_client -connect "$L:7443" -tls1_2 -CAfile "$work/cert.pem" < /dev/null > "$work/s12ok.out" 2>&1 || true
grep -q 'Protocol *: *TLSv1.2' "$work/s12ok.out" || fail "openssl s_client -tls1_2: $(grep -m3 'Protocol\|error' "$work/s12ok.out")"
sleep 0.5
stop_serve
for want in "TLS ClientHello" "TLS ServerHello" "ChangeCipherSpec 1" "ApplicationData" "Alert fatal handshake_failure" \
    "ServerHello+Certificate+ServerKeyExchange+ServerHelloDone" "ClientKeyExchange" "Handshake (encrypted)"; do
    grep -q "L7  .*$want" "$work/serve.err" || fail "--trace shows no '$want': $(grep 'L7  TLS' "$work/serve.err" | head -12)"
done
"$layernet" diagram ladder "$work/tls.pcap" --filter port=7443,conn=1 -o "$work/ladder.svg" 2> "$work/diagram.err" \
    || fail "layernet diagram ladder: $(cat "$work/diagram.err")"
for want in "TLS ClientHello" "TLS ServerHello"; do
    grep -q "$want" "$work/ladder.svg" || fail "the ladder has no '$want'"
done
ok "diagram ladder labels the arrows: $(grep -o 'TLS ClientHello[^<]*' "$work/ladder.svg" | head -1)"
ok "--trace names the records: $(grep -m1 -o 'L7  TLS ClientHello [0-9]*' "$work/serve.err"); $(grep -m1 -o 'L7  TLS ServerHello.*' "$work/serve.err" | cut -c1-90); $(grep -m1 -o 'L7  TLS Alert fatal handshake_failure 2' "$work/serve.err")"

# --- PEM files from openssl, --auth, --tls-only ----------------------------
start_serve --auth alice:secret --root "$work/root" --tls-cert "$work/other.pem" --tls-key "$work/other.key" --tls-only
grep -q "listening on $L:7443 (files, https)" "$work/serve.out" || fail "no https line with --tls-only"
! grep -q ":7878" "$work/serve.out" || fail "--tls-only still lists 7878: $(cat "$work/serve.out")"
wait_https "$work/other.pem"
code=$(curl -sS -m 30 --cacert "$work/other.pem" -T "$work/big.bin" -o /dev/null -w '%{http_code}' "$https/auth.bin") || fail "PUT without credentials"
[ "$code" = 401 ] || fail "PUT without credentials over TLS gave $code"
code=$(curl -sS -m 30 --cacert "$work/other.pem" -u alice:wrong -T "$work/big.bin" -o /dev/null -w '%{http_code}' "$https/auth.bin") || fail "PUT, wrong password"
[ "$code" = 401 ] || fail "PUT with a wrong password over TLS gave $code"
code=$(curl -sS -m 60 --cacert "$work/other.pem" -u alice:secret -T "$work/big.bin" -o /dev/null -w '%{http_code}' "$https/auth.bin") || fail "PUT with credentials"
[ "$code" = 201 ] && cmp -s "$work/root/auth.bin" "$work/big.bin" || fail "PUT with credentials over TLS gave $code, or the file differs"
curl -sS -m 60 --cacert "$work/other.pem" -o "$work/down.bin" "$https/auth.bin" || fail "GET without credentials"
cmp -s "$work/down.bin" "$work/big.bin" || fail "GET of auth.bin over TLS differs"
ok "--tls-cert/--tls-key (openssl RSA) with --auth: PUT 401 without and with a wrong password, 201 with alice's, stored byte-exact; GET byte-exact"
status=0
curl -sS -m 5 -o /dev/null "http://$L:7878/" 2> "$work/curl.err" || status=$?
[ "$status" = 7 ] || fail "--tls-only: curl http://$L:7878/ exited $status, not 7 (refused): $(cat "$work/curl.err")"
ok "--tls-only: 7878 refused (curl exit 7: $(head -1 "$work/curl.err"))"
stop_serve

echo "tls: all passed"
