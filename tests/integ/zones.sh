#!/bin/bash
# zones.sh: neighbor zones keep a TLS connection to the first peer that can
# be reached, in order; each peer's state and the reason it failed show in
# `zones` on the control socket: a peer not listening, a peer whose
# certificate names someone else, a revoked one (OCSP); failover to the
# next peer; a zone down when its last peer goes away; a zone removed by a
# reload closes its connection; each peer's change of state is a debug
# line (zone peer state, from, to).  Peers are tlspeer.py servers on 127.0.0.x.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 18

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf srv4 "IP:127.0.0.4" leaf
leaf srv5 "IP:127.0.0.5" leaf
leaf srv6 "DNS:other.example" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/srv5.pem" -crl_reason keyCompromise
PEER_PORT=$(free_port)

# peer IP NAME: a tlspeer.py on IP:$PEER_PORT with certificate NAME.
peer() {
    "$PYTHON" "$INTEG_DIR/tlspeer.py" "$1" "$PEER_PORT" "$P/$2.chain" "$P/$2.key" \
        >"$T/peer-$1.out" 2>&1 &
    track_pid $!
    eval "PEER_${1//./_}=$!"
    wait_for_text "$T/peer-$1.out" LISTENING || bail_out "tlspeer on $1 did not start"
}
peer 127.0.0.4 srv4
peer 127.0.0.5 srv5
peer 127.0.0.6 srv6

write_config
cp "$P/root.pem" "$P/trust.pem"
zone() {
    printf '%s\n' "name = \"$1\";" 'type = "neighbor";' 'transport = "tls";' \
        "port = $PEER_PORT;" "peers = [ $2 ];" >"$T/zones/$1.conf"
}
zone failover '"127.0.0.3", "127.0.0.4"'
zone mismatch '"127.0.0.6"'
zone revoked '"127.0.0.5"'
start_sipedged || bail_out "sipedged did not start"

# zone_state ZONE PEER STATE [REASON_ERE]: `zones` shows it, within 10 s.
zone_state() {
    _poll 10 eval "ctl_cmd zones | grep -E -q '^$1 tls $2:$PEER_PORT $3 since [^ ]+${4:+: .*$4}'"
}
check "failover: the first peer (nothing listening) is failed: connect failed" \
    zone_state failover 127.0.0.3 failed 'connect failed: Connection refused'
check "failover: the second peer is active" zone_state failover 127.0.0.4 active
check "... and holds the connection (tlspeer saw it)" wait_for_text "$T/peer-127.0.0.4.out" ACCEPTED
check "debug log: zone peer state, connecting -> failed" \
    wait_for_event -t 5 module=zone 'event="zone peer state"' zone=failover \
    peer=127.0.0.3 from=connecting to=failed
check "debug log: zone peer state, connecting -> active" \
    wait_for_event -t 5 module=zone 'event="zone peer state"' zone=failover \
    peer=127.0.0.4 from=connecting to=active
check "mismatch: failed, naming the expected and the presented names" \
    zone_state mismatch 127.0.0.6 failed 'no identity matches "127.0.0.6"; presented: DNS other.example'
check "revoked: failed, revoked according to OCSP" \
    zone_state revoked 127.0.0.5 failed 'revoked according to OCSP'
check "the log has 'peer failed' for the revoked peer" \
    wait_for_event -t 5 module=zone 'event="peer failed"' zone=revoked

check "sipedge-ctl alarms: zone revoked is down, with the reason" \
    _poll 5 eval "timeout 30 '$SIPEDGE_CTL' -c '$CONF' alarms | grep -q 'zone revoked: zone revoked is down: .*revoked according to OCSP'"
check "... and the temporary certificate is an alarm too" \
    eval "timeout 30 '$SIPEDGE_CTL' -c '$CONF' alarms | grep -q 'temporary-certificate: '"
if timeout 30 "$SIPEDGE_CTL" -c "$CONF" alarms | grep -q "zone failover"; then
    not_ok "no alarm for zone failover while a peer is active" "$(timeout 30 "$SIPEDGE_CTL" -c "$CONF" alarms)"
else
    ok "no alarm for zone failover while a peer is active"
fi

# The active peer goes away: the zone has no peer left.
log_mark
kill "$PEER_127_0_0_4"
check "the last peer gone: zone down in the log" \
    wait_for_event -t 10 module=zone 'event="zone down"' zone=failover
check "... and its peer shows failed" zone_state failover 127.0.0.4 failed
check "'alarm raised' logged for zone failover" \
    wait_for_event -t 5 module=alarm 'event="alarm raised"' 'alarm="zone failover"'

# The peer comes back: retried within its backoff (1, 2, 4 ... s), active
# again, and `zone NAME` still tells what last went wrong.
log_mark
peer 127.0.0.4 srv4
check "the peer back: active again within its backoff, 'zone up' logged" \
    wait_for_event -t 20 module=zone 'event="zone up"' zone=failover
check "... zone failover shows the peer active with its last failure kept" \
    _poll 5 eval "ctl_cmd 'zone failover' | grep -A1 '127.0.0.4:$PEER_PORT active' | grep -q '^    last failure [^ ]*: '"

# A reload without the mismatch zone: it is gone from the list.
rm -f "$T/zones/mismatch.conf"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload without zone mismatch" wait_for_event module=conf 'event="reload ok"'
if _poll 10 eval "! ctl_cmd zones | grep -q '^mismatch '"; then
    ok "zone mismatch is no longer listed"
else
    not_ok "zone mismatch is no longer listed" "$(ctl_cmd zones)"
fi
