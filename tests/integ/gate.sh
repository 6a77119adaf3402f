#!/bin/bash
# gate.sh: the peer gate end to end over SIP TLS.  A zone of peers at
# 127.0.0.2 with mutual TLS: a good client certificate gets its OPTIONS
# answered, a revoked one (OCSP), a wrongly named one and a missing one are
# refused with the reason logged; while the OCSP responder takes 5 s, other
# connections are served at once (the loop does not wait); after a CRL
# import and reload, a connected peer that is now revoked is disconnected,
# and so is one whose certificate expires.
# The PKI comes from the openssl CLI, OCSP from `openssl ocsp`.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 25

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pgood "DNS:sip.partner.example" leaf
leaf pbad "DNS:sip.partner.example" leaf
leaf plate "DNS:sip.partner.example" leaf
leaf pslow "DNS:sip.partner.example" leaf
leaf ptwin "DNS:sip.partner.example" leaf
leaf pother "DNS:sip.other.example" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/pbad.pem" -crl_reason keyCompromise

write_config
# The responder is slow on purpose below: give it 10 s.
echo 'revocation: { timeout = 10; use_ocsp = true; allow_cdp_download = true; };' >>"$CONF"
cp "$P/root.pem" "$P/trust.pem"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# zclient NAME STEPS...: a TLS client from 127.0.0.2 (the partner zone)
# presenting certificate NAME ("-" for none).
zclient() {
    local name=$1 cert=()
    shift
    [ "$name" != - ] && cert=(--cert "$P/$name.chain" --key "$P/$name.key")
    sipclient tls "$TLS_PORT" --source 127.0.0.2 "${cert[@]}" "$@"
}

# ---- verdicts at the handshake.
mode ""
log_mark
check "a partner with a good certificate gets 200" \
    zclient pgood send:"$MSG/options.msg" expect:200
check "... logged as peer verified in zone partner, by OCSP" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner source=ocsp

log_mark
zclient pbad send:"$MSG/options.msg" expect:closed >"$T/bad.out" 2>&1
if ! grep -q "^RECV" "$T/bad.out"; then
    ok "a partner with a revoked certificate gets no answer"
else
    not_ok "a partner with a revoked certificate gets no answer" "$(cat "$T/bad.out")"
fi
check "... refused: revoked according to OCSP" \
    wait_for_event -t 5 'event="peer refused"' zone=partner
log_since_mark | grep 'event="peer refused"' | grep -q "revoked according to OCSP" &&
    ok "... the reason names OCSP" || not_ok "... the reason names OCSP" "$(log_since_mark)"

log_mark
zclient pother send:"$MSG/options.msg" expect:closed >"$T/other.out" 2>&1
grep -q "^RECV" "$T/other.out" &&
    not_ok "a certificate for another name is refused" "$(cat "$T/other.out")" ||
    ok "a certificate for another name is refused"
check "... and the log lists the names presented" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'presented: .*sip.other.example'"

log_mark
zclient - send:"$MSG/options.msg" expect:closed >"$T/none.out" 2>&1
grep -q "^RECV" "$T/none.out" &&
    not_ok "a partner without a certificate is refused" "$(cat "$T/none.out")" ||
    ok "a partner without a certificate is refused"
check "... because the zone requires one" \
    _poll 5 eval "log_since_mark | grep -q 'zone partner requires a client certificate'"

check "a TLS client of no zone (127.0.0.1, no certificate) still gets 200" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200

# ---- a slow OCSP responder holds only its own connection (a certificate
# not asked about before, so no cached answer).
mode "delay 5"
: >"$W/.log"
log_mark
zclient pslow --timeout 20 send:"$MSG/options.msg" expect:200 >"$T/slow.out" 2>&1 &
slow=$!
track_pid "$slow"
check "the slow check is under way (the responder got the request)" \
    _poll 10 eval "grep -q '^CONNECTED' '$T/slow.out' && log_since_mark | grep -q 'event=\"handshake ok\"'"
check "meanwhile OPTIONS over TCP is answered" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200
check "meanwhile another TLS client is answered" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200
if ! grep -q "^RECV" "$T/slow.out"; then
    ok "... while the held partner has no answer yet"
else
    not_ok "... while the held partner has no answer yet" "$(cat "$T/slow.out")"
fi
wait_pid "$slow" 30
rc=$?
if [ "$rc" -eq 0 ] && [ "$(statuses "$T/slow.out")" = 200 ]; then
    ok "the held partner gets its 200 once OCSP answers"
else
    not_ok "the held partner gets its 200 once OCSP answers" "exit $rc" "$(cat "$T/slow.out")"
fi

# Two connections with the same certificate at once share one OCSP request.
mode "delay 2"
: >"$W/.log"
zclient ptwin --timeout 20 send:"$MSG/options.msg" expect:200 >"$T/twin1.out" 2>&1 &
t1=$!
zclient ptwin --timeout 20 send:"$MSG/options.msg" expect:200 >"$T/twin2.out" 2>&1 &
t2=$!
track_pid "$t1"
track_pid "$t2"
wait_pid "$t1" 30
wait_pid "$t2" 30
if [ "$(statuses "$T/twin1.out") $(statuses "$T/twin2.out")" = "200 200" ] &&
    [ "$(grep -c '^POST /ocsp' "$W/.log")" -eq 1 ]; then
    ok "two connections with one certificate: both answered, one OCSP request"
else
    not_ok "two connections with one certificate: both answered, one OCSP request" \
        "$(cat "$T/twin1.out" "$T/twin2.out")" "$(cat "$W/.log")"
fi
mode ""

# ---- a connected peer whose certificate expires is disconnected then.
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=pexp" \
    -addext "subjectAltName=DNS:sip.partner.example" -keyout "$P/pexp.key" -out "$P/pexp.csr"
o ca -batch -config "$P/int.cnf" -extensions leaf -in "$P/pexp.csr" -out "$P/pexp.pem" \
    -notext -enddate "$(date -u -d "@$(($(date +%s) + 8))" +%y%m%d%H%M%SZ)"
cat "$P/pexp.pem" "$P/int.pem" >"$P/pexp.chain"
log_mark
zclient pexp send:"$MSG/options.msg" expect:200 closed:30 >"$T/exp.out" 2>&1
if [ "$(statuses "$T/exp.out")" = 200 ] && grep -q "^CLOSED" "$T/exp.out"; then
    ok "a peer whose certificate expires while connected is answered, then disconnected"
else
    not_ok "a peer whose certificate expires while connected is answered, then disconnected" \
        "$(cat "$T/exp.out")"
fi
check "... and the log says the certificate has expired" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'certificate .*has expired'"

# ---- a connected peer revoked by a CRL update is disconnected.
# CRLs only from now on: the late certificate passes (no CRL: not revoked).
sed -i -e 's/use_ocsp = true/use_ocsp = false/' \
    -e 's/allow_cdp_download = true/allow_cdp_download = false/' "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with use_ocsp = false" wait_for_event module=conf 'event="reload ok"'
zclient plate send:"$MSG/options.msg" expect:200 waitfile:"$T/revoked":60 \
    closed:20 >"$T/late.out" 2>&1 &
late=$!
track_pid "$late"
check "the late partner is connected and answered" wait_for_text "$T/late.out" "RECV SIP/2.0 200"
check "sipedge-ctl connections shows it: zone, open, age, TLS version and cipher, subject, verdict" \
    eval "timeout 30 '$SIPEDGE_CTL' -c '$CONF' connections | grep -q '^127.0.0.2:[0-9]* in zone partner open since [^ ]* age [0-9]*s tls TLSv1.[23] [A-Z0-9_-]* subject /CN=plate verdict fallback'"
o ca -batch -config "$P/int.cnf" -revoke "$P/plate.pem" -crl_reason superseded
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/new.crl"
log_mark
out=$(timeout 30 "$SIPEDGE_CERT" -c "$CONF" crl import "$P/new.crl" 2>&1)
check "sipedge-cert crl import installs the new CRL and reloads" \
    grep -q "reloaded" <<<"$out"
touch "$T/revoked"
wait_pid "$late" 30
if grep -q "^CLOSED" "$T/late.out"; then
    ok "the now revoked partner is disconnected"
else
    not_ok "the now revoked partner is disconnected" "$(cat "$T/late.out")" "$out"
fi
check "... with the CRL named in the log" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'revoked by the CRL'"
check "sipedged still runs" kill -0 "$SIPEDGED_PID"
