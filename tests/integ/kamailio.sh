#!/bin/bash
# kamailio.sh: Kamailio as a real neighbor of sipedged over mutual TLS.
#
#   UAC 127.0.0.3 --TCP--> sipedged 127.0.0.1 --TLS--> Kamailio 127.0.0.2 --TCP--> UAS 127.0.0.4
#   UAC 127.0.0.3 --TCP--> Kamailio 127.0.0.2 --TLS--> sipedged 127.0.0.1 --TCP--> UAS 127.0.0.6
#   UAC 127.0.0.3 --TCP--> sipedged --TLS--> Kamailio 127.0.0.5 presenting DNS:other.example
#
# Zone kam (tls, tls_verify on, peers [ "127.0.0.2" ]) is Kamailio with a
# certificate for IP:127.0.0.2; Kamailio demands sipedged's certificate as
# TLS server and presents its own as TLS client, so both TLS legs are
# mutual.  Calls (INVITE/180/200/ACK/BYE, ACK and BYE along the route set
# of both record-routing proxies) pass both ways with zero failed calls;
# the second way only passes when sipedged puts Kamailio's requests in zone
# kam (the rule to zone uas requires source_zone kam).  Zone kambad is a
# Kamailio whose certificate names someone else: `zones` shows its peer
# failed naming the mismatch, a call to it gets 503, and its own TLS
# connection to sipedged (from a kambad peer address) is refused.  SIPp has no TLS
# here, so SIPp talks TCP and the TLS legs are sipedged <-> Kamailio.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl sipp "$PYTHON"
# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
# shellcheck source=kamlib.sh
. "$INTEG_DIR/kamlib.sh"
kam_available || skip_all "kamailio and kamailio-tls-modules are not installed"
plan 20

SIPP_DIR=$top_srcdir/tests/sipp
CALLS=20

pki_setup
leaf sipedge "DNS:localhost,IP:127.0.0.1" leaf
leaf kam "DNS:kam.example,IP:127.0.0.2" leaf
leaf other "DNS:other.example" leaf

KAM_TLS=$(free_port 127.0.0.2)
KAM_TCP=$(free_port 127.0.0.2)
BAD_TLS=$(free_port 127.0.0.5)
BAD_TCP=$(free_port 127.0.0.5)
UAS_A=$(free_port 127.0.0.4)
UAS_B=$(free_port 127.0.0.6)

# sipedged: its own certificate from the test PKI (Kamailio trusts the
# root), the root as trust list, three zones and the search rules.
write_config
insert_after "$CONF" '^tls: \{' "  certificate = \"$P/sipedge.chain\";
  private_key = \"$P/sipedge.key\";
  trust = \"$P/root.pem\";
  expiry_warning_days = 0;" >/dev/null || bail_out "cannot edit $CONF"
cat >>"$CONF" <<EOF
search_rules = (
  { priority = 10; name = "to kamailio"; match = "suffix"; pattern = "@kam.example";
    source_zone = "default"; target_zone = "kam"; },
  { priority = 20; name = "from kamailio"; match = "suffix"; pattern = "@uas.example";
    source_zone = "kam"; target_zone = "uas"; },
  { priority = 30; name = "to the bad kamailio"; match = "suffix"; pattern = "@bad.example";
    target_zone = "kambad"; }
);
EOF
zone() {
    printf '%s\n' "name = \"$1\";" 'type = "neighbor";' "transport = \"$2\";" \
        "port = $3;" "peers = [ \"$4\" ];" "tls_verify = true;" >"$T/zones/$1.conf"
}
zone kam tls "$KAM_TLS" 127.0.0.2
zone kambad tls "$BAD_TLS" 127.0.0.5
zone uas tcp "$UAS_B" 127.0.0.6

# Kamailio kam: what comes from sipedged goes to UAS A, the rest to sipedged.
check "Kamailio (certificate DNS:kam.example, IP:127.0.0.2) starts on 127.0.0.2 with mutual TLS" \
    kam_start kam 127.0.0.2 "$KAM_TLS" "$KAM_TCP" kam "sip:127.0.0.1:$TLS_PORT;transport=tls" \
    "127.0.0.1=sip:127.0.0.4:$UAS_A;transport=tcp" || bail_out "Kamailio did not start"
check "Kamailio (certificate DNS:other.example) starts on 127.0.0.5" \
    kam_start bad 127.0.0.5 "$BAD_TLS" "$BAD_TCP" other "sip:127.0.0.1:$TLS_PORT;transport=tls" ||
    bail_out "Kamailio did not start"

# start_uas NAME IP PORT: a SIPp UAS (kam_uas.xml) for $CALLS calls on
# TCP IP:PORT; sets UAS_PID_NAME.
start_uas() {
    (cd "$T" && exec timeout 90 sipp -sf "$SIPP_DIR/kam_uas.xml" -t t1 -i "$2" -p "$3" \
        -m "$CALLS" -nostdin -trace_err -error_file "$T/uas-$1.errors" \
        -trace_msg -message_file "$T/uas-$1.messages") >"$T/uas-$1.out" 2>&1 </dev/null &
    track_pid $!
    eval "UAS_PID_$1=$!"
    _poll 5 _kam_listening "$2" "$3"
}
start_uas A 127.0.0.4 "$UAS_A" || bail_out "SIPp UAS A did not start: $(cat "$T/uas-A.out")"
start_uas B 127.0.0.6 "$UAS_B" || bail_out "SIPp UAS B did not start: $(cat "$T/uas-B.out")"

check "sipedged starts with zones kam, kambad and uas" start_sipedged ||
    bail_out "sipedged did not start"

# zone_state ZONE PEER STATE [REASON_ERE]: `zones` shows it, within 10 s.
zone_state() {
    _poll 10 eval "ctl_cmd zones | grep -E -q '^$1 [a-z]+ $2 $3 since [^ ]+${4:+: .*$4}'" || {
        ctl_cmd zones
        return 1
    }
}
check "zone kam: Kamailio's certificate passes, the peer is active" \
    zone_state kam "127.0.0.2:$KAM_TLS" active
check "zone kambad: the peer is failed, naming the expected and the presented names" \
    zone_state kambad "127.0.0.5:$BAD_TLS" failed 'no identity matches "127.0.0.5"; presented: DNS other.example'

# uac NAME SCENARIO TARGET_IP TARGET_PORT USER DOMAIN COUNT: run a SIPp UAC
# from 127.0.0.3 over TCP; print its summary and the tail of its errors when
# it fails (status: SIPp's, 0 when every call succeeded).
uac() {
    local name=$1 rc
    (cd "$T" && timeout 80 sipp "$3:$4" -sf "$SIPP_DIR/$2" -t t1 -i 127.0.0.3 -p "$(free_port 127.0.0.3)" \
        -s "$5" -set domain "$6" -m "$7" -r 10 -l 10 \
        -timeout 40s -timeout_error -recv_timeout 10s -default_behaviors all,-bye \
        -nostdin -trace_err -error_file "$T/uac-$name.errors" \
        -trace_msg -message_file "$T/uac-$name.messages") >"$T/uac-$name.out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "sipp UAC $name exited with $rc"
        grep -E 'Successful call|Failed call' "$T/uac-$name.out" | tail -n 2
        tail -n 40 "$T/uac-$name.errors" 2>/dev/null
        tail -n 60 "$T/uac-$name.messages" 2>/dev/null
    fi
    return "$rc"
}

# counts_ok FILE COUNT: SIPp's last statistics screen in FILE counts COUNT
# successful calls and no failed one.
counts_ok() {
    local s f
    s=$(awk -F'|' '/Successful call/ { gsub(/ /, "", $3); v = $3 } END { print v }' "$1")
    f=$(awk -F'|' '/Failed call/ { gsub(/ /, "", $3); v = $3 } END { print v }' "$1")
    if [ "$s" != "$2" ] || [ "$f" != 0 ]; then
        echo "successful: '$s', failed: '$f' (expected $2 and 0)"
        return 1
    fi
}

# calls_ok NAME COUNT: UAC NAME counted COUNT successful calls, none failed.
calls_ok() {
    counts_ok "$T/uac-$1.out" "$2"
}

# uas_done NAME: the UAS ended by itself after its $CALLS calls, all
# successful (a SIPp stopped by a signal may exit with 0: count the calls).
uas_done() {
    local var="UAS_PID_$1" rc
    # The PID is timeout's: TERM (which it passes on to SIPp), never KILL,
    # or SIPp would be left running.
    if ! _poll 10 _pid_gone "${!var}"; then
        kill -TERM "${!var}" 2>/dev/null
        _poll 5 _pid_gone "${!var}"
    fi
    wait "${!var}"
    rc=$?
    [ "$rc" -eq 0 ] || {
        echo "SIPp UAS $1 exited with $rc"
        tail -n 20 "$T/uas-$1.out"
        tail -n 40 "$T/uas-$1.errors" 2>/dev/null
        return 1
    }
    counts_ok "$T/uas-$1.out" "$CALLS"
}

# kam_count PATTERN: how many lines of Kamailio kam's log match the ERE.
kam_count() {
    kam_log kam | grep -c -E -e "$1"
}

# (a) UAC -> sipedged (TCP) -> Kamailio (mutual TLS) -> UAS A (TCP).
check "to Kamailio: $CALLS calls UAC -> sipedged -> Kamailio over TLS -> UAS, SIPp UAC passes" \
    uac a kam_uac.xml 127.0.0.1 "$SIP_PORT" alice kam.example "$CALLS"
check "... $CALLS successful calls, none failed" calls_ok a "$CALLS"
check "... the UAS answered $CALLS calls, each ACKed and ended by BYE" uas_done A
n=$(kam_count "request (INVITE|ACK|BYE) sip:[^ ]* from 127\.0\.0\.1:[0-9]+ over tls$")
if [ "$n" -eq $((3 * CALLS)) ]; then
    ok "... Kamailio got every INVITE, ACK and BYE from sipedged over TLS"
else
    not_ok "... Kamailio got every INVITE, ACK and BYE from sipedged over TLS" \
        "$n requests, expected $((3 * CALLS))" "$(kam_log kam | grep -E 'request|relay' | tail -n 20)"
fi

# (b) UAC -> Kamailio (TCP) -> sipedged (mutual TLS, zone kam) -> UAS B (TCP).
check "from Kamailio: $CALLS calls UAC -> Kamailio -> sipedged over TLS -> UAS, SIPp UAC passes" \
    uac b kam_uac.xml 127.0.0.2 "$KAM_TCP" bob uas.example "$CALLS"
check "... $CALLS successful calls, none failed" calls_ok b "$CALLS"
check "... the UAS answered $CALLS calls, each ACKed and ended by BYE" uas_done B
n=$(kam_count "relay (INVITE|ACK|BYE) sip:[^ ]* to sips?:([^@ ]*@)?127\.0\.0\.1:$TLS_PORT;(.*;)?transport=tls")
if [ "$n" -eq $((3 * CALLS)) ]; then
    ok "... Kamailio sent every INVITE, ACK and BYE to sipedged over TLS"
else
    not_ok "... Kamailio sent every INVITE, ACK and BYE to sipedged over TLS" \
        "$n requests, expected $((3 * CALLS))" "$(kam_log kam | grep -E 'request|relay' | tail -n 20)"
fi

# Kamailio's own connection to sipedged (not sipedged's to Kamailio's port).
if grep -E "event=\"peer verified\" peer=127\.0\.0\.2:[0-9]+ zone=kam " "$LOG" |
    grep -q -v -F "peer=127.0.0.2:$KAM_TLS "; then
    ok "... sipedged verified Kamailio's client certificate under zone kam"
else
    not_ok "... sipedged verified Kamailio's client certificate under zone kam" \
        "$(grep -E 'event="(peer verified|peer refused|handshake ok)"' "$LOG")"
fi

# (c) A call to zone kambad, whose only peer failed: 503.
check "to the mismatched Kamailio: the call gets 503" \
    uac c kam_uac_503.xml 127.0.0.1 "$SIP_PORT" carol bad.example 1
if kam_log bad | grep -q -E 'request INVITE'; then
    not_ok "... and the mismatched Kamailio never got the INVITE" "$(kam_log bad | grep request)"
else
    ok "... and the mismatched Kamailio never got the INVITE"
fi
# Inbound too: the mismatched Kamailio (a kambad peer by its address)
# relays an OPTIONS to sipedged; its TLS connection is refused.
log_mark
if sipp_options tcp 127.0.0.5 "$BAD_TCP" >"$T/options-bad.out" 2>&1; then
    not_ok "inbound from the mismatched Kamailio: the request fails" "$(cat "$T/options-bad.out")"
else
    ok "inbound from the mismatched Kamailio: the request fails"
fi
# peer_refused_inbound: sipedged refused a connection from 127.0.0.5 (not its
# own to the Kamailio port) for zone kambad, naming the mismatch.
peer_refused_inbound() {
    log_since_mark | grep -E 'event="peer refused" peer=127\.0\.0\.5:[0-9]+ zone=kambad ' |
        grep -v -F "peer=127.0.0.5:$BAD_TLS " | grep -q -F 'no identity matches \"127.0.0.5\"'
}
if _poll 5 peer_refused_inbound; then
    ok "... sipedged refused its client certificate under zone kambad, naming the mismatch"
else
    not_ok "... sipedged refused its client certificate under zone kambad, naming the mismatch" \
        "$(log_since_mark | grep -E 'event="(peer verified|peer refused|handshake ok|request)')"
fi

check "zone kam is still active" zone_state kam "127.0.0.2:$KAM_TLS" active
check "sipedged stops cleanly (exit status 0)" stop_sipedged
