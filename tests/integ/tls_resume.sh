#!/bin/bash
# tls_resume.sh: TLS session resumption on inbound TLS keeps the gate's
# policy.  A partner the gate accepted resumes its session from a ticket
# (TLS 1.3 and TLS 1.2), and the gate checks it again (resumed=yes) with
# the chain it presented first (the trust list holds only the root),
# reusing the path it verified then (path=reused); a peer the gate
# refused gets no resumption; a client without a certificate resumes
# until the next reload; a ticket older than two key rotations is not
# used; a certificate that expires seconds after the first handshake
# resumes until then and is refused after; after the partner's
# certificate is revoked (CRL and reload) its ticket gives a full
# handshake and the gate refuses it; revoked at its OCSP responder, a
# resumed partner is refused once the cached answer is too old; after a
# trust list change a ticket gives a full handshake; with tls.resumption
# off nothing resumes.  openssl s_client is the
# client (-sess_out/-sess_in), from 127.0.0.2, the partner zone's address.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl timeout "$PYTHON"
plan 36

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pgood "DNS:sip.partner.example" leaf
leaf pbad "DNS:sip.partner.example" leaf
leaf pother "DNS:sip.partner.example" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/pbad.pem" -crl_reason keyCompromise
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/manual.crl"

# ROTATION: tls.ticket_rotation; RESUMPTION: tls.resumption.
ROTATION=3
RESUMPTION=true
USE_OCSP=false
config() {
    write_config
    sed -i "s/^  security_level = 2;/&\n  ticket_rotation = $ROTATION;\n  resumption = $RESUMPTION;/" "$CONF"
    cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = $USE_OCSP;
  ocsp_max_age = 3;
  allow_cdp_download = false;
  manual_crl = "$P/manual.crl";
};
EOF
}
config
# The trust list (the default pki/trust.pem) holds only the root: the
# partners send the intermediate.
cp "$P/root.pem" "$P/trust.pem"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    'fallback_unknown = "treat-as-revoked";' >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# sc OUT NAME ARGS...: one TLS connection from 127.0.0.2 with NAME's
# certificate, open for a second (long enough for the tickets); the
# output in $T/OUT.out.
sc() {
    local out=$1 name=$2
    shift 2
    sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
        -bind 127.0.0.2 -cert "$P/$name.pem" -key "$P/$name.key" \
        -cert_chain "$P/int.pem" "$@" >"$T/$out.out" 2>&1
    return 0
}
# scn OUT ARGS...: the same without a certificate, from 127.0.0.1 (the
# default zone, which takes clients without one).
scn() {
    local out=$1
    shift
    sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
        -bind 127.0.0.1 "$@" >"$T/$out.out" 2>&1
    return 0
}
reused() { grep -q '^Reused,' "$T/$1.out"; }
fresh() { grep -q '^New,' "$T/$1.out"; }
# ignored: the tickets_ignored counter of `sipedge-ctl revocation`.
ignored() {
    ctl_cmd revocation |
        sed -n 's/.* tickets_ignored \([0-9]*\).*/\1/p'
}

# ---- TLS 1.3: a full handshake, then the same session resumed.
log_mark
sc full13 pgood -tls1_3 -sess_out "$T/s13"
check "a partner's first TLS 1.3 connection is a full handshake" fresh full13
check "... and the gate verifies it" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner
log_mark
sc res13 pgood -tls1_3 -sess_in "$T/s13" -sess_out "$T/s13b"
check "its ticket resumes the session" reused res13
check "... and the gate checks the resumed peer with the chain it kept" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner resumed=yes
check "... and the path it verified at the first handshake" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner resumed=yes path=reused

# ---- TLS 1.2 tickets.
log_mark
sc full12 pgood -tls1_2 -sess_out "$T/s12"
check "a TLS 1.2 full handshake" fresh full12
sc res12 pgood -tls1_2 -sess_in "$T/s12"
check "its TLS 1.2 ticket resumes the session" reused res12
check "... verified by the gate as resumed, with the path verified before" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner resumed=yes path=reused

# ---- a peer the gate refused: its ticket is not used.
log_mark
sc bad1 pbad -tls1_3 -sess_out "$T/sbad"
check "a revoked partner is refused" \
    wait_for_event -t 5 module=tls 'event="peer refused"' zone=partner
log_mark
sc bad2 pbad -tls1_3 -sess_in "$T/sbad"
check "its ticket gives a full handshake, and the gate refuses it again" \
    eval 'fresh bad2 && wait_for_event -t 5 module=tls "event=\"peer refused\"" zone=partner'

# ---- two rotations later: the key of the ticket is gone.
sc old12 pgood -tls1_2 -sess_out "$T/sold12"
sc old13 pgood -tls1_3 -sess_out "$T/sold13"
before=$(ignored)
sleep $((2 * ROTATION + 1))
sc late12 pgood -tls1_2 -sess_in "$T/sold12"
check "a TLS 1.2 ticket older than two key rotations gives a full handshake" fresh late12
check "... the server could not use it (tickets_ignored grew)" \
    test "$(ignored)" -gt "${before:-0}"
sc late13 pgood -tls1_3 -sess_in "$T/sold13"
check "a TLS 1.3 ticket that old is not resumed either" fresh late13

# ---- revoked after the ticket was issued: full handshake, refused.
ROTATION=60
config
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload (longer key rotation)" wait_for_event module=conf 'event="reload ok"'

# ---- a certificate that expires between the handshake and the resumption.
end=$(($(date +%s) + 7))
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=pshort" \
    -addext "subjectAltName=DNS:sip.partner.example" -keyout "$P/pshort.key" -out "$P/pshort.csr"
o ca -batch -config "$P/int.cnf" -extensions leaf -in "$P/pshort.csr" -out "$P/pshort.pem" \
    -notext -enddate "$(date -u -d "@$end" +%y%m%d%H%M%SZ)"
log_mark
sc short1 pshort -tls1_3 -sess_out "$T/sshort1"
sc short2 pshort -tls1_3 -sess_in "$T/sshort1"
check "a partner whose certificate is valid for seconds resumes while it is valid" \
    eval 'fresh short1 && reused short2'
check "... with the path verified before" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner resumed=yes path=reused
# Until the notAfter second has passed ($end is fixed: bounded).
while [ "$(date +%s)" -le $((end + 1)) ]; do sleep 0.2; done
log_mark
sc short3 pshort -tls1_3 -sess_in "$T/sshort1"
check "once it expired, its ticket gives a full handshake" fresh short3
check "... and the gate refuses it as expired" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'has expired'"
check "... no resumed connection of it was let in" \
    eval '! log_since_mark | grep "event=\"peer verified\"" | grep -q resumed=yes'
sc pre13 pgood -tls1_3 -sess_out "$T/spre13"
sc pre12 pgood -tls1_2 -sess_out "$T/spre12"
sc chk13 pgood -tls1_3 -sess_in "$T/spre13" -sess_out "$T/spre13"
check "before the revocation the partner resumes" reused chk13
scn anon1 -tls1_3 -sess_out "$T/sanon"
scn anon2 -tls1_3 -sess_in "$T/sanon"
check "a client without a certificate resumes too" eval 'fresh anon1 && reused anon2'
o ca -batch -config "$P/int.cnf" -revoke "$P/pgood.pem" -crl_reason keyCompromise
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/manual.crl"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with the partner's certificate revoked" \
    wait_for_event module=conf 'event="reload ok"'
log_mark
sc rev13 pgood -tls1_3 -sess_in "$T/spre13"
sc rev12 pgood -tls1_2 -sess_in "$T/spre12"
check "after the revocation neither ticket resumes (full handshakes)" \
    eval 'fresh rev13 && fresh rev12'
check "... and the gate refuses the partner as revoked" \
    _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -v resumed= | grep -q 'revoked by the CRL'"
check "... no resumed connection was let in" \
    eval '! log_since_mark | grep "event=\"peer verified\"" | grep -q resumed=yes'
scn anon3 -tls1_3 -sess_in "$T/sanon"
check "... and the ticket without a certificate gives a full handshake" fresh anon3

# ---- OCSP: a resumed partner's status still comes from the cache, then
# from its responder once the cached answer is older than ocsp_max_age.
USE_OCSP=true
config
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with OCSP on (ocsp_max_age 3 s)" wait_for_event module=conf 'event="reload ok"'
leaf pocsp "DNS:sip.partner.example" leaf
log_mark
sc ocsp1 pocsp -tls1_3 -sess_out "$T/socsp1"
check "a partner verified by its OCSP responder" \
    wait_for_event -t 5 module=tls 'event="peer verified"' zone=partner source=ocsp
log_mark
sc ocsp2 pocsp -tls1_3 -sess_in "$T/socsp1"
check "... resumes, its status from the OCSP cache, the path reused" \
    eval 'reused ocsp2 && wait_for_event -t 5 module=tls "event=\"peer verified\"" resumed=yes path=reused source=cache'
o ca -batch -config "$P/int.cnf" -revoke "$P/pocsp.pem" -crl_reason keyCompromise
sleep 4
log_mark
sc ocsp3 pocsp -tls1_3 -sess_in "$T/socsp1"
check "revoked at its responder, the resumed partner is refused once the cached answer is too old" \
    eval 'reused ocsp3 && wait_for_event -t 5 module=tls "event=\"peer refused\"" resumed=yes source=ocsp'

# ---- the trust list changes: no ticket so far is used.
sc trust1 pother -tls1_3 -sess_out "$T/strust1"
cp "$P/rogue.pem" "$P/trust.pem"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with another trust list" wait_for_event module=conf 'event="reload ok"'
log_mark
sc trust2 pother -tls1_3 -sess_in "$T/strust1"
check "... the partner's ticket gives a full handshake" fresh trust2
check "... and the gate refuses it (its CA is no longer trusted)" \
    wait_for_event -t 5 module=tls 'event="peer refused"' zone=partner
cp "$P/root.pem" "$P/trust.pem"

# ---- tls.resumption off: no tickets at all.
RESUMPTION=false
config
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with tls.resumption off" wait_for_event module=conf 'event="reload ok"'
sc off13 pother -tls1_3 -sess_out "$T/soff13"
check "... a TLS 1.3 partner gets no ticket" \
    eval 'fresh off13 && ! test -s "$T/soff13"'
sc off12 pother -tls1_2 -sess_out "$T/soff12"
check "... nor a TLS 1.2 one (nor a session id to resume)" \
    eval 'fresh off12 && ! test -s "$T/soff12"'

