#!/bin/bash
# crl_gate.sh: the CRL rules of crl_scope.sh through the daemon's gate on
# live TLS connections (the gate and `sipedge-cert check` share the
# store and the engine): a complete CRL and its delta in the manual CRL
# file keep a revoked partner out (a delta used to evict its base), and a
# manual CRL that cannot be used (an unknown critical extension) makes
# the status "unknown" (the zone's fallback_unknown), named in the log;
# after a CA's key rollover, a CRL signed by the new key is used once the
# peer's chain brings the new-with-old certificate that vouches for it,
# with an authorityKeyIdentifier naming the new key or without one.
# The PKI comes from the openssl CLI (pkilib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 18

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pgood "DNS:sip.partner.example" leaf
leaf pbad "DNS:sip.partner.example" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/pbad.pem" -crl_reason keyCompromise
# The complete CRL (number 0x1000) and a delta on it (0x1001) from an
# empty database: nothing new revoked.
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/base.crl"
ca_like deltadb "$P/int.pem" "$P/int.key"
echo 1001 >"$P/deltadb/crlnumber"
printf '%s\n' "[ delta_ext ]" "deltaCRL = critical,DER:02021000" \
    "[ crit_ext ]" "1.3.6.1.4.1.55555.1 = critical,ASN1:NULL" >>"$P/deltadb.cnf"
o ca -batch -config "$P/deltadb.cnf" -gencrl -crlexts delta_ext -out "$P/delta.crl"
o ca -batch -config "$P/deltadb.cnf" -gencrl -crlexts crit_ext -out "$P/crit.crl"
cat "$P/base.crl" "$P/delta.crl" >"$P/manual.crl"

# A second CA, "Roll CA", that rolled its key over: the old key K1 is the
# anchor and issued the partner's certificate; the new key K2 signs the
# CRLs (their authorityKeyIdentifier names K2); new-with-old is K2's
# certificate signed by K1.
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Roll CA" -keyout "$P/k1.key" -out "$P/rollold.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Roll CA" -keyout "$P/k2.key" -out "$P/rollnew.pem"
o x509 -in "$P/rollnew.pem" -CA "$P/rollold.pem" -CAkey "$P/k1.key" -set_serial 11 \
    -days 3650 -out "$P/newold.pem" -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid")
ca_like roll "$P/rollold.pem" "$P/k1.key"
echo 2000 >"$P/roll/serial"
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=prolled" \
    -addext "subjectAltName=DNS:sip.partner.example" -keyout "$P/prolled.key" -out "$P/prolled.csr"
o ca -batch -config "$P/roll.cnf" -extensions leaf -in "$P/prolled.csr" -out "$P/prolled.pem" -notext
o ca -batch -config "$P/roll.cnf" -revoke "$P/prolled.pem" -crl_reason keyCompromise
sed -e "s|^certificate = .*|certificate = $P/newold.pem|" -e "s|^private_key = .*|private_key = $P/k2.key|" \
    "$P/roll.cnf" >"$P/roll2.cnf"
printf '%s\n' "[ aki_ext ]" "authorityKeyIdentifier = keyid:always" >>"$P/roll2.cnf"
o ca -batch -config "$P/roll2.cnf" -gencrl -crlexts aki_ext -out "$P/roll-k2.crl"
cat "$P/prolled.pem" "$P/newold.pem" >"$P/prolled.chain"

write_config
cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = false;
  allow_cdp_download = false;
  manual_crl = "$P/manual.crl";
};
EOF
cat "$P/root.pem" "$P/rollold.pem" >"$P/trust.pem"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    'fallback_unknown = "treat-as-revoked";' >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# zclient NAME STEPS...: a TLS client from 127.0.0.2 (the partner zone).
zclient() {
    local name=$1
    shift
    sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/$name.chain" \
        --key "$P/$name.key" "$@"
}

# ---- base and delta together.
log_mark
check "a good partner gets 200 (complete CRL and delta held)" \
    zclient pgood send:"$MSG/options.msg" expect:200
check "... verified by the CRL" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner source=crl
log_mark
zclient pbad send:"$MSG/options.msg" expect:closed >"$T/bad.out" 2>&1
if ! grep -q "^RECV" "$T/bad.out"; then
    ok "a revoked partner is refused although a delta CRL came after the complete CRL"
else
    not_ok "a revoked partner is refused although a delta CRL came after the complete CRL" "$(cat "$T/bad.out")"
fi
check "... the log says revoked by the CRL" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'revoked by the CRL of .*Test Intermediate'"

# ---- an unusable CRL: status unknown, the zone's fallback_unknown.
cp "$P/crit.crl" "$P/manual.crl"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with the unusable manual CRL" wait_for_event module=conf 'event="reload ok"'
zclient pgood send:"$MSG/options.msg" expect:closed >"$T/unk.out" 2>&1
if ! grep -q "^RECV" "$T/unk.out"; then
    ok "a partner whose issuer has only an unusable CRL is refused (fallback_unknown)"
else
    not_ok "a partner whose issuer has only an unusable CRL is refused (fallback_unknown)" "$(cat "$T/unk.out")"
fi
check "... the log says status unknown and names the CRL and why" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep 'revocation status unknown' | grep -q 'not used: it has a critical extension'"

# ---- the CRL of the Roll CA's new key: verified with the certificate
# the peer sends, validated to the same anchor (the old key).
cat "$P/base.crl" "$P/roll-k2.crl" >"$P/manual.crl"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with the CRL of the new key in the manual CRL" \
    wait_for_event module=conf 'event="reload ok"'
zclient prolled send:"$MSG/options.msg" expect:closed >"$T/roll.out" 2>&1
if ! grep -q "^RECV" "$T/roll.out"; then
    ok "a partner revoked by the CRL of its CA's new key is refused"
else
    not_ok "a partner revoked by the CRL of its CA's new key is refused" "$(cat "$T/roll.out")"
fi
check "... the log says revoked by the CRL of the Roll CA" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'revoked by the CRL of .*Roll CA'"

# ---- the same CRL without authorityKeyIdentifier: its signature fails
# with the trust list's Roll CA (the old key) when it is loaded, and
# nothing says which key signed it; it waits, unverified, and is verified
# when the peer's chain brings the new-with-old certificate.
o ca -batch -config "$P/roll2.cnf" -gencrl -out "$P/roll-k2-noaki.crl"
cat "$P/base.crl" "$P/roll-k2-noaki.crl" >"$P/manual.crl"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with a CRL of the new key without authorityKeyIdentifier" \
    wait_for_event module=conf 'event="reload ok"'
zclient prolled send:"$MSG/options.msg" expect:closed >"$T/roll2.out" 2>&1
if ! grep -q "^RECV" "$T/roll2.out"; then
    ok "a partner revoked by that CRL is refused once its chain brings the signer"
else
    not_ok "a partner revoked by that CRL is refused once its chain brings the signer" "$(cat "$T/roll2.out")"
fi
check "... the log says revoked by the CRL of the Roll CA" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'revoked by the CRL of .*Roll CA'"

# ---- a CDP that serves an unusable CRL: downloaded once, named, and not
# downloaded again for every check while it is current.
cp "$P/crit.crl" "$W/int.crl"
: >"$W/.log"
cp "$P/roll-k2.crl" "$P/manual.crl"
sed -i -e 's/allow_cdp_download = false/allow_cdp_download = true/' "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with CDP downloads allowed, no CRL of the intermediate held" \
    wait_for_event module=conf 'event="reload ok"'
zclient pgood send:"$MSG/options.msg" expect:closed >"$T/cdp1.out" 2>&1
check "the CDP's CRL cannot be used: status unknown, the partner refused, the CRL named" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep 'revocation status unknown' | grep -q 'int.crl) not used: it has a critical extension'"
zclient pgood send:"$MSG/options.msg" expect:closed >"$T/cdp2.out" 2>&1
check "... refused again" \
    _poll 5 eval "[ \$(log_since_mark | grep -c 'event=\"peer refused\"') -ge 2 ]"
n=$(grep -c "GET /int.crl" "$W/.log")
if [ "$n" -eq 1 ]; then
    ok "... and the CDP was downloaded once, not at every check"
else
    not_ok "... and the CDP was downloaded once, not at every check" "$n downloads:" "$(cat "$W/.log")"
fi
check "sipedged still runs" kill -0 "$SIPEDGED_PID"
