#!/bin/bash
# cert_check.sh: `sipedge-cert check` gives the verdict of the daemon's
# engine on a matrix of certificate cases built with the openssl CLI: name,
# chain, expiry, purpose, CRLs (PEM, DER, gzip, ZIP, expired, badly
# signed), OCSP from a real `openssl ocsp` responder behind a loopback
# HTTP front (good, revoked, unknown, wrong signer, stale, failing), CDP
# downloads, and both fallbacks.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl gzip "$PYTHON"
plan 50

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf good "DNS:sip.good.example,URI:sip:sip.good.example" leaf
leaf bad "DNS:sip.bad.example" leaf
leaf srv "DNS:sip.srv.example" serveronly
leaf ip "IP:192.0.2.7" leaf
leaf wild "DNS:*.wild.example" leaf
# A certificate of the intermediate that its index does not know: the
# responder answers "unknown" for it.
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ghost" \
    -addext "subjectAltName=DNS:sip.ghost.example" -keyout "$P/ghost.key" -out "$P/ghost.csr"
o x509 -req -in "$P/ghost.csr" -CA "$P/int.pem" -CAkey "$P/int.key" -set_serial 77777 \
    -days 30 -copy_extensions copy -out "$P/ghost.pem" -extfile <(printf '%s\n' \
    "extendedKeyUsage=serverAuth,clientAuth" "authorityInfoAccess=OCSP;URI:$URL/ocsp")
cat "$P/ghost.pem" "$P/int.pem" >"$P/ghost.chain"

o ca -batch -config "$P/int.cnf" -revoke "$P/bad.pem" -crl_reason keyCompromise
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/int.crl.pem"
o crl -in "$P/int.crl.pem" -outform DER -out "$P/int.crl.der"
gzip -c "$P/int.crl.der" >"$P/int.crl.gz"
"$PYTHON" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("README.txt", "CRLs of the test intermediate\n")
    z.write(sys.argv[2], "int.crl")' "$P/int.crl.zip" "$P/int.crl.der"
# A CRL that expires in an hour.
o ca -batch -config "$P/int.cnf" -gencrl -crlhours 1 -out "$P/short.crl"

# A CRL in the intermediate's name, signed by another key.
o req -x509 -key "$P/rogue.key" -days 30 -subj "/O=sipedge test/CN=Test Intermediate" \
    -out "$P/rogue-int.pem"
ca_like rogueint "$P/rogue-int.pem" "$P/rogue.key"
o ca -batch -config "$P/rogueint.cnf" -gencrl -out "$P/rogue.crl"
# The root's CRL, so that the intermediate has a revocation answer too.
ca_like rootdb "$P/root.pem" "$P/root.key"
o ca -batch -config "$P/rootdb.cnf" -gencrl -out "$P/root.crl"
cp "$P/int.crl.der" "$W/int.crl"

# check ARGS...: run sipedge-cert check; sets OUT (stdout), ERR (stderr)
# and RC.
check_run() {
    OUT=$(timeout 60 "$SIPEDGE_CERT" check --trust "$P/root.pem" "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
}

# expect DESC RC REGEX ARGS...: exit status RC and a first line matching
# REGEX: of the verdict on stdout, or of the error on stderr for status 2.
expect() {
    local desc=$1 rc=$2 re=$3 first
    shift 3
    check_run "$@"
    if [ "$RC" -eq 2 ]; then first=$(head -n 1 <<<"$ERR"); else first=$(head -n 1 <<<"$OUT"); fi
    if [ "$RC" -eq "$rc" ] && grep -q -E -e "$re" <<<"$first"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC (want $rc), first line wanted /$re/; stdout, stderr:" "$OUT" "$ERR"
    fi
}


# ---- chain, name, purpose, time.
expect "good chain and name: accepted (sip URI SAN)" 0 '^accepted: .*sip URI' \
    --chain "$P/good.chain" --name sip.good.example
expect "wrong name: rejected, listing what was presented" 1 \
    '^rejected: .*"sip.other.example".*presented:.*sip.good.example' \
    --chain "$P/good.chain" --name sip.other.example
expect "no intermediate: rejected, naming the missing issuer" 1 "^rejected: no trusted issuer for 'CN=good' \(depth 0, issuer 'O=sipedge test, CN=Test Intermediate'\): not in the trust list or the chain" \
    --chain "$P/good.pem" --name sip.good.example
expect "serverAuth-only certificate as a client: rejected for its EKU" 1 \
    '^rejected: .*not allowed for TLS client.*clientAuth' \
    --chain "$P/srv.chain" --name sip.srv.example --purpose client
expect "the same certificate as a server: accepted" 0 '^accepted' \
    --chain "$P/srv.chain" --name sip.srv.example --purpose server
expect "checked 60 days later: rejected as expired" 1 '^rejected: .*expired' \
    --chain "$P/good.chain" --name sip.good.example --time $((NOW + 60 * 86400))
expect "IP peer address matches an iPAddress SAN" 0 '^accepted: .*IP' \
    --chain "$P/ip.chain" --name 192.0.2.7
expect "wildcard certificate refused by default" 1 '^rejected: .*wildcard' \
    --chain "$P/wild.chain" --name a.wild.example
expect "wildcard certificate accepted with --wildcards" 0 '^accepted' \
    --chain "$P/wild.chain" --name a.wild.example --wildcards
expect "no --name: a chain-only check" 0 '^accepted: chain verified \(no name' \
    --chain "$P/good.chain"

# ---- CRLs in every format.
for f in int.crl.pem int.crl.der int.crl.gz int.crl.zip; do
    expect "revoked leaf, --crl $f: rejected by the CRL" 1 \
        '^rejected: .*revoked by the CRL of .*Test Intermediate.*keyCompromise' \
        --chain "$P/bad.chain" --name sip.bad.example --crl "$P/$f" --crl "$P/root.crl"
done
expect "good leaf, --crl: accepted, not in the CRL" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --crl "$P/int.crl.pem" --crl "$P/root.crl"
grep -q "revocation: good (source crl): not in the CRL" <<<"$OUT" &&
    ok "the CRL verdict is explained" || not_ok "the CRL verdict is explained" "$OUT"
expect "CRL past its nextUpdate: treated as revoked" 1 '^rejected: .*expired at .*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --crl "$P/short.crl" \
    --time $((NOW + 2 * 3600))
expect "CRL signed by another key: unusable, status unknown, fallback revoked rejects" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*rogue.crl\) not used: its signature does not verify.*\(fallback: treated as revoked\)' \
    --chain "$P/good.chain" --name sip.good.example --crl "$P/rogue.crl" --fallback revoked
# Nothing names the key that signed it (no authorityKeyIdentifier): it is
# kept for a CRL signer a chain may bring, and the verdict says so.
grep -q "rogue.crl) not used: its signature does not verify .*(it waits for a certificate that verifies it" <<<"$OUT" &&
    ok "the badly signed CRL is reported" || not_ok "the badly signed CRL is reported" "$OUT"
expect "CRL signed by another key: fallback not-revoked accepts" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --crl "$P/rogue.crl" --fallback not-revoked

# ---- OCSP from the real responder.
mode ""
expect "OCSP good: accepted" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --crl "$P/root.crl"
grep -q "revocation: good (source ocsp)" <<<"$OUT" &&
    ok "the answer came from OCSP" || not_ok "the answer came from OCSP" "$OUT"
expect "OCSP revoked: rejected" 1 '^rejected: .*revoked according to OCSP' \
    --chain "$P/bad.chain" --name sip.bad.example --ocsp
expect "OCSP unknown, fallback revoked: rejected" 1 '^rejected: .*does not know.*treated as revoked' \
    --chain "$P/ghost.chain" --name sip.ghost.example --ocsp --fallback revoked
expect "OCSP unknown, fallback not-revoked: accepted" 0 '^accepted' \
    --chain "$P/ghost.chain" --name sip.ghost.example --ocsp --fallback not-revoked
mode wrongkey
expect "OCSP answer signed by an unauthorised key, fallback revoked: rejected" 1 \
    '^rejected: .*not signed by the issuer.*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback revoked
expect "... fallback not-revoked: accepted" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback not-revoked
mode replay
expect "a replayed OCSP answer (another nonce), fallback revoked: rejected" 1 \
    '^rejected: .*another nonce.*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback revoked
mode ""
expect "stale OCSP answer (checked 3 days on), fallback revoked: rejected" 1 \
    '^rejected: .*stale.*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback revoked --time $((NOW + 3 * 86400))
mode "delay 12"
expect "OCSP responder slower than the 10 s limit, fallback revoked: timed out, rejected" 1 \
    '^rejected: .*OCSP responder unreachable.*timed out.*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback revoked
mode fail
expect "OCSP responder failing, fallback revoked: rejected as unreachable" 1 \
    '^rejected: .*OCSP responder unreachable.*500.*treated as revoked' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback revoked
expect "... fallback not-revoked: accepted" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --ocsp --fallback not-revoked
mode ""

# ---- CDP download.
: >"$W/.log"
expect "--cdp: revoked leaf rejected from the downloaded CRL" 1 \
    '^rejected: .*revoked by the CRL .*cdp' \
    --chain "$P/bad.chain" --name sip.bad.example --cdp
grep -q "^GET /int.crl 200" "$W/.log" &&
    ok "the CRL was fetched from the certificate's CDP" ||
    not_ok "the CRL was fetched from the certificate's CDP" "$(cat "$W/.log")"
expect "--cdp: good leaf accepted" 0 '^accepted' \
    --chain "$P/good.chain" --name sip.good.example --cdp

# ---- JSON and usage errors.
check_run --chain "$P/bad.chain" --name sip.bad.example --crl "$P/int.crl.pem" --json
if [ "$RC" -eq 1 ] && "$PYTHON" -c 'import json, sys
d = json.loads(sys.stdin.read())
assert d["result"] == "rejected" and d["revocation"]["result"] == "revoked", d
assert d["revocation"]["source"] == "crl", d' <<<"$OUT"; then
    ok "--json: valid JSON with the verdict"
else
    not_ok "--json: valid JSON with the verdict" "exit $RC" "$OUT"
fi
expect "no --chain: usage error, exit 2" 2 'required' --name x
expect "--fallback maybe: usage error, exit 2" 2 'fallback must be' \
    --chain "$P/good.chain" --fallback maybe
expect "unreadable chain file: exit 2" 2 'cannot open' --chain "$T/nope.pem"
printf 'not a CRL\n' >"$T/garbage.crl"
expect "--crl with garbage: exit 2 naming the file" 2 'garbage.crl holds no CRL' \
    --chain "$P/good.chain" --crl "$T/garbage.crl"

# ---- --zone: the policy, trust list and manual CRL of a configuration.
write_config
cp "$P/root.pem" "$P/trust.pem"
cp "$P/int.crl.pem" "$P/manual.crl"
cp "$P/good.chain" "$P/server.pem"
cp "$P/good.key" "$P/server.key"
echo 'revocation: { use_ocsp = false; };' >>"$CONF"
printf '%s\n' 'name = "lenient";' 'type = "neighbor";' 'peers = [ "sip.bad.example" ];' \
    >"$T/zones/lenient.conf"
printf '%s\n' 'name = "strict";' 'type = "neighbor";' 'peers = [ "sip.good.example" ];' \
    'fallback_no_source = "treat-as-revoked";' >"$T/zones/strict.conf"
zcheck() {
    OUT=$(timeout 60 "$SIPEDGE_CERT" -c "$CONF" check "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
}
zcheck --zone lenient --chain "$P/bad.chain"
if [ "$RC" -eq 1 ] && head -n 1 <<<"$OUT" | grep -q "revoked by the CRL .*(manual"; then
    ok "--zone lenient: the zone's peer name, refused by the manual CRL"
else
    not_ok "--zone lenient: the zone's peer name, refused by the manual CRL" "exit $RC" "$OUT" "$ERR"
fi
zcheck --zone lenient --chain "$P/good.chain" --name sip.good.example
if [ "$RC" -eq 0 ] && grep -q "path\[1\]: .*Test Intermediate" <<<"$OUT"; then
    ok "--zone lenient: a good peer is accepted (no source for the intermediate: not revoked)"
else
    not_ok "--zone lenient: a good peer is accepted" "exit $RC" "$OUT" "$ERR"
fi
zcheck --zone strict --chain "$P/good.chain"
if [ "$RC" -eq 1 ] && head -n 1 <<<"$OUT" | grep -q "Test Intermediate (depth 1): revocation status unknown: no CRL of .*Test Root.*(fallback: treated as revoked)"; then
    ok "--zone strict: fallback_no_source = treat-as-revoked refuses the same peer"
else
    not_ok "--zone strict: fallback_no_source = treat-as-revoked refuses the same peer" "exit $RC" "$OUT" "$ERR"
fi
zcheck --zone nosuch --chain "$P/good.chain"
[ "$RC" -eq 2 ] && grep -q "no zone named 'nosuch'" <<<"$ERR" &&
    ok "--zone with an unknown name: exit 2" || not_ok "--zone with an unknown name: exit 2" "exit $RC" "$ERR"
zcheck --zone strict --trust "$P/root.pem" --chain "$P/good.chain"
[ "$RC" -eq 2 ] && ok "--zone and --trust together: exit 2" || not_ok "--zone and --trust together: exit 2" "exit $RC" "$ERR"

# ---- each revocation switch of the configuration, through --zone.
# zrev SETTINGS: the revocation group of the configuration.
zrev() { sed -i "s/^revocation: .*/revocation: { use_ocsp = false; $1 };/" "$CONF"; }
zrev 'mode = "off";'
zcheck --zone lenient --chain "$P/bad.chain"
[ "$RC" -eq 0 ] && grep -q "revocation: not checked (revocation.mode is off" <<<"$OUT" &&
    ok "mode = off: no revocation check, the revoked peer passes" ||
    not_ok "mode = off: no revocation check, the revoked peer passes" "exit $RC" "$OUT" "$ERR"
zrev 'use_crls = false;'
zcheck --zone lenient --chain "$P/bad.chain"
[ "$RC" -eq 0 ] && grep -q "no revocation source is enabled" <<<"$OUT" &&
    ok "use_crls = false (and no OCSP): the manual CRL is not used, fallback" ||
    not_ok "use_crls = false (and no OCSP): the manual CRL is not used, fallback" "exit $RC" "$OUT" "$ERR"
rm -f "$P/manual.crl"
zrev 'allow_cdp_download = false;'
zcheck --zone lenient --chain "$P/bad.chain"
[ "$RC" -eq 0 ] && grep -q "source fallback" <<<"$OUT" &&
    ok "allow_cdp_download = false, no CRL held: fallback, not revoked" ||
    not_ok "allow_cdp_download = false, no CRL held: fallback, not revoked" "exit $RC" "$OUT" "$ERR"
zrev 'allow_cdp_download = true;'
zcheck --zone lenient --chain "$P/bad.chain"
[ "$RC" -eq 1 ] && head -n 1 <<<"$OUT" | grep -q "revoked by the CRL .*(cdp" &&
    ok "allow_cdp_download = true: the CDP is downloaded and the peer refused" ||
    not_ok "allow_cdp_download = true: the CDP is downloaded and the peer refused" "exit $RC" "$OUT" "$ERR"
zrev 'allow_cdp_download = false; fallback = "treat-as-revoked";'
zcheck --zone lenient --chain "$P/bad.chain"
[ "$RC" -eq 1 ] && head -n 1 <<<"$OUT" | grep -q "^rejected: /CN=bad (depth 0): revocation status unknown: .*(fallback: treated as revoked)" &&
    ok "revocation.fallback = treat-as-revoked, no source: refused by the fallback" ||
    not_ok "revocation.fallback = treat-as-revoked, no source: refused by the fallback" "exit $RC" "$OUT" "$ERR"
