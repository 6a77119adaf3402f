#!/bin/bash
# cert_check_zone.sh: `sipedge-cert check --zone` takes exactly the
# daemon's revocation inputs, the CRLs of the configured distribution
# points included.  A real sipedged fetches a CRL that revokes a partner
# from a loopback HTTP distribution point and refuses the partner at its
# gate; `check --zone` on the same configuration then says revoked too,
# from the cached copy (state_dir/crl-cache), with the same reason text as
# the gate's log line; a partner the CRL does not list gets the same "not
# in the CRL" answer from both.  With the point failing and the daemon
# stopped, the cache still answers.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 17

[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pgood "DNS:sip.partner.example" leaf
leaf prev "DNS:sip.partner.example" leaf
# Names its zone's peer_name only in a DNS name that a sip: URI hides.
leaf psip "URI:sip:other.partner.example,DNS:sip.partner.example" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/prev.pem" -crl_reason keyCompromise
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/int.crl"
cp "$P/int.crl" "$W/dp.crl"
# The root's CRL in the trust file, so that the intermediate has an answer
# of its own and only the leaves depend on the distribution point.
ca_like rootdb "$P/root.pem" "$P/root.key"
o ca -batch -config "$P/rootdb.cnf" -gencrl -out "$P/root.crl"
cat "$P/root.pem" "$P/root.crl" >"$P/trust.pem"

write_config
# The default fallback (treat-as-not-revoked): without the point's CRL,
# the revoked partner would be accepted.
cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = false;
  allow_cdp_download = false;
  distribution_points = [ "$URL/dp.crl" ];
};
EOF
sed -i 's|^tls: {|tls: {\n  trust = "pki/trust.pem";|' "$CONF"
grep -q 'trust = "pki/trust.pem"' "$CONF" || bail_out "cannot set tls.trust in $CONF"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    >"$T/zones/partner.conf"

# zclient NAME STEP...: a TLS client from 127.0.0.2 (the partner's address)
# presenting $P/NAME.chain.
zclient() {
    local name=$1
    shift
    sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/$name.chain" \
        --key "$P/$name.key" "$@"
}

# zcheck NAME: sipedge-cert check --zone partner on $P/NAME.chain; the
# output in $T/zcheck.out, the exit status in RC.
zcheck() {
    timeout 60 "$SIPEDGE_CERT" -c "$CONF" check --zone partner \
        --chain "$P/$1.chain" >"$T/zcheck.out" 2>&1 </dev/null
    RC=$?
}

# gate_reason EVENT: the reason of the last gate log line EVENT ("peer
# refused" or "peer verified"), logfmt quoting undone.
gate_reason() {
    grep -F "event=\"$1\"" "$LOG" | tail -n 1 | "$PYTHON" -c '
import re, sys
m = re.search(r"\breason=(\"((?:[^\"\\]|\\.)*)\"|\S+)", sys.stdin.read())
if m:
    v = m.group(2) if m.group(2) is not None else m.group(1)
    print(re.sub(r"\\(.)", r"\1", v))'
}

# check_reason: the revocation reason `check` printed ("  revocation:
# RESULT (source S): REASON").
check_reason() {
    sed -n 's/^  revocation: [a-z]* (source [^)]*): //p' "$T/zcheck.out"
}

start_sipedged || bail_out "sipedged did not start"
check "the daemon fetches the distribution point" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="$URL/dp.crl"
check "... and keeps its copy in state_dir/crl-cache" \
    _poll 5 eval "ls '$T'/state/crl-cache/*.crl >/dev/null 2>&1"

# ---- the revoked partner: refused by the gate, and by check --zone.
log_mark
zclient prev send:"$MSG/options.msg" expect:200 >"$T/prev.out" 2>&1
if grep -q "^RECV" "$T/prev.out"; then
    not_ok "the gate refuses the partner the point's CRL revokes" "$(cat "$T/prev.out")"
else
    ok "the gate refuses the partner the point's CRL revokes"
fi
check "... logged as revoked by the CRL from the distribution point" \
    _poll 10 eval "log_since_mark | grep 'event=\"peer refused\"' | grep 'revoked by the CRL' |
        grep -q -F '(distribution point, $URL/dp.crl)'"
gate_refused=$(gate_reason "peer refused")

zcheck prev
if [ "$RC" -eq 1 ] && head -n 1 "$T/zcheck.out" | grep -q "^rejected: .*CN=prev is revoked: "; then
    ok "check --zone on the same configuration: rejected, revoked"
else
    not_ok "check --zone on the same configuration: rejected, revoked" "exit $RC" "$(cat "$T/zcheck.out")"
fi
check "... from the distribution point's CRL (source crl, no fallback)" \
    eval "grep -F '  revocation: revoked (source crl): revoked by the CRL of' '$T/zcheck.out' |
        grep -q -F '(distribution point, $URL/dp.crl)'"
got=$(check_reason)
if [ -n "$gate_refused" ] && [ "$got" = "$gate_refused" ]; then
    ok "check and the gate give the same reason, word for word"
else
    not_ok "check and the gate give the same reason, word for word" "gate:  $gate_refused" "check: $got"
fi

# ---- a partner the CRL does not list: both say "not in the CRL".
log_mark
check "the gate lets the partner the CRL does not list in" \
    zclient pgood send:"$MSG/options.msg" expect:200
check "... verified by the distribution point's CRL" \
    wait_for_event -t 10 module=tls 'event="peer verified"' source=crl
gate_ok=$(gate_reason "peer verified")
zcheck pgood
if [ "$RC" -eq 0 ] && grep -F "  revocation: good (source crl): not in the CRL of" "$T/zcheck.out" |
    grep -q -F "(distribution point, $URL/dp.crl)"; then
    ok "check --zone: accepted, good by the distribution point's CRL"
else
    not_ok "check --zone: accepted, good by the distribution point's CRL" "exit $RC" "$(cat "$T/zcheck.out")"
fi
got=$(check_reason)
if [ -n "$gate_ok" ] && [ "$got" = "$gate_ok" ]; then
    ok "check and the gate give the same reason for the good partner"
else
    not_ok "check and the gate give the same reason for the good partner" "gate:  $gate_ok" "check: $got"
fi

# ---- the name: one RFC 5922 check, one reason, in the gate and in check.
log_mark
zclient psip send:"$MSG/options.msg" expect:200 >"$T/psip.out" 2>&1
if grep -q "^RECV" "$T/psip.out"; then
    not_ok "the gate refuses a partner whose DNS name a sip: URI hides" "$(cat "$T/psip.out")"
else
    ok "the gate refuses a partner whose DNS name a sip: URI hides"
fi
check "... with the reason naming the rule (RFC 5922 s.7.1)" \
    _poll 10 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q 'RFC 5922 s.7.1 takes only the sip URI identities'"
gate_name=$(gate_reason "peer refused")
zcheck psip
got=$(head -n 1 "$T/zcheck.out")
if [ "$RC" -eq 1 ] && [ -n "$gate_name" ] && [ "$got" = "rejected: $gate_name" ]; then
    ok "check --zone rejects it with the gate's reason, word for word"
else
    not_ok "check --zone rejects it with the gate's reason, word for word" "exit $RC" \
        "gate:  $gate_name" "check: $got"
fi

# ---- the daemon stopped, the point failing: check reads the cache.
check "SIGTERM" stop_sipedged
mode fail
zcheck prev
if [ "$RC" -eq 1 ] && grep -q -F "(distribution point, $URL/dp.crl)" "$T/zcheck.out"; then
    ok "daemon stopped, point failing: check --zone still says revoked (the cached CRL)"
else
    not_ok "daemon stopped, point failing: check --zone still says revoked (the cached CRL)" "exit $RC" "$(cat "$T/zcheck.out")"
fi
# A point sipedged has not fetched yet: check says so (its verdict may
# then differ from the one the daemon gives once it has the CRLs).
sed -i "s|^  distribution_points = .*|  distribution_points = [ \"$URL/dp.crl\", \"$URL/new.crl\" ];|" "$CONF"
zcheck prev
check "a point sipedged has not fetched yet: check --zone warns that it has no copy of it" \
    grep -q -F "sipedge-cert: warning: $URL/new.crl: no copy in $T/state/crl-cache: sipedged has not fetched this distribution point yet" "$T/zcheck.out"
mode ""
