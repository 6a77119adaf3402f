#!/bin/bash
# crl_gate.sh: the CRL rules of crl_scope.sh through the daemon's gate on
# live TLS connections (the gate and `sipedge-cert check` share the
# store and the engine): a complete CRL and its delta in the manual CRL
# file keep a revoked partner out (a delta used to evict its base), and a
# manual CRL that cannot be used (an unknown critical extension) makes
# the status "unknown" (the zone's fallback_unknown), named in the log.
# The PKI comes from the openssl CLI (pkilib.sh).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 8

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

write_config
cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = false;
  allow_cdp_download = false;
  manual_crl = "$P/manual.crl";
};
EOF
cp "$P/root.pem" "$P/trust.pem"
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
check "sipedged still runs" kill -0 "$SIPEDGED_PID"
