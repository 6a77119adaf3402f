#!/bin/bash
# proxy_calls.sh: SIP calls through sipedged with real SIPp user agents and
# TLS on both legs (stunnel4 in front of each SIPp, see sipplib.sh):
#
#   SIPp UAC -TCP-> stunnel (127.0.0.3, client cert) -TLS-> sipedged
#   sipedged -TLS (mutual)-> stunnel (127.0.0.x) -TCP-> SIPp UAS
#
# OPTIONS; 10 INVITE/200/ACK/BYE calls with zero failed, an unknown header
# and the SDP body passed unchanged, header names in the order and case
# sent, Max-Forwards one less; the callee hanging up (its BYE down the
# caller's TLS connection, and to a UDP caller); 486 passed back; CANCEL; a
# UAS that rings and never answers (timer C: 408, the UAS gets a CANCEL)
# and one that does not even ring (timer B, 64*T1: 408, no CANCEL);
# failover to the second peer when the first is down, and when the first
# answers 503; a zone with no peer up (503); a loop through sipedged itself
# (482); a spiral through it, the URI rewritten at each pass, until
# Max-Forwards runs out (483); Max-Forwards 0 (483); no route (404); a
# malformed request (400) and then a call on the same TLS connection;
# TCP-to-TLS and UDP-to-TLS calls.  The search rules pick the zone by the
# request-URI's domain; each UAS is on its own address, in its own zone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
# shellcheck source=sipplib.sh
. "$INTEG_DIR/sipplib.sh"

require_cmd sipp openssl "$PYTHON"
_stunnel_bin >/dev/null || skip_all "stunnel4 is not installed"
plan 40

pki_setup
leaf server "IP:127.0.0.1,DNS:localhost" leaf
cp "$P/server.chain" "$P/server.pem"         # tls.certificate, with its chain
cp "$P/root.pem" "$P/trust.pem"
leaf uac "DNS:uac.test,IP:127.0.0.3" leaf
leaf uas "IP:127.0.0.2,IP:127.0.0.5,IP:127.0.0.6,IP:127.0.0.7,IP:127.0.0.8,IP:127.0.0.9,IP:127.0.0.10,IP:127.0.0.11" leaf

PEER=$(free_port)                # the TLS port of every UAS front
FRONT=$(free_port "$UAC_IP")     # the UAC's TLS front

write_config
# Timer B (64*T1 = 3.2 s) must fire before timer C (5 s) for the silent UAS.
insert_after "$CONF" '^sip: \{' '  t1 = 50;' >/dev/null
insert_after "$CONF" '^sip: \{' '  timer_c = 5;' >/dev/null
cat >>"$CONF" <<EOF
default_zone: { tls_verify = true; peer_names = [ "uac.test" ]; };
search_rules = (
  { priority = 10; match = "suffix"; pattern = "@uas.test"; target_zone = "uas"; },
  { priority = 15; match = "suffix"; pattern = "@callee.test"; target_zone = "callee"; },
  { priority = 20; match = "suffix"; pattern = "@busy.test"; target_zone = "busy"; },
  { priority = 30; match = "suffix"; pattern = "@noanswer.test"; target_zone = "noanswer"; },
  { priority = 40; match = "suffix"; pattern = "@silent.test"; target_zone = "silent"; },
  { priority = 50; match = "suffix"; pattern = "@options.test"; target_zone = "options"; },
  { priority = 60; match = "suffix"; pattern = "@fo.test"; target_zone = "fo"; },
  { priority = 61; match = "suffix"; pattern = "@fo503.test"; target_zone = "fo503"; },
  { priority = 62; match = "suffix"; pattern = "@down.test"; target_zone = "down"; },
  { priority = 70; match = "suffix"; pattern = "@loop.test"; target_zone = "self"; },
  { priority = 71; match = "regex"; pattern = "^(.*)@spiral[.]test\$";
    rewrite = "x\\\\1@spiral.test"; target_zone = "self"; }
);
EOF
# zone NAME PORT PEER...: a TLS neighbor zone (peer certificates verified).
zone() {
    local name=$1 port=$2 peers
    shift 2
    peers=$(printf '"%s", ' "$@")
    printf '%s\n' "name = \"$name\";" 'type = "neighbor";' 'transport = "tls";' \
        "port = $port;" "peers = [ ${peers%, } ];" >"$T/zones/$name.conf"
}
zone uas "$PEER" 127.0.0.2
zone callee "$PEER" 127.0.0.11
zone busy "$PEER" 127.0.0.5
zone noanswer "$PEER" 127.0.0.6
zone silent "$PEER" 127.0.0.7
zone options "$PEER" 127.0.0.8
zone fo "$PEER" 127.0.0.4 127.0.0.2
zone fo503 "$PEER" 127.0.0.9 127.0.0.10
zone down "$PEER" 127.0.0.4
zone self "$TLS_PORT" 127.0.0.1

# uas NAME IP SCENARIO: a SIPp UAS on IP and its TLS front on IP:$PEER,
# which demands sipedged's client certificate.
uas() {
    local port
    port=$(free_port "$2")
    sipp_uas "$1" "$2" "$port" "$2:$PEER" "$3" || bail_out "sipp UAS $1 did not start"
    tls_front_server "front-$1" "$2" "$PEER" "$port" "$P/uas.chain" "$P/uas.key" "$P/root.pem" ||
        bail_out "the TLS front of UAS $1 did not start"
}
uas main 127.0.0.2 uas.xml
uas callee 127.0.0.11 uas_bye.xml
uas busy 127.0.0.5 uas_busy.xml
uas noanswer 127.0.0.6 uas_noanswer.xml
uas silent 127.0.0.7 uas_silent.xml
uas options 127.0.0.8 uas_options.xml
uas unavailable 127.0.0.9 uas_unavailable.xml
uas second 127.0.0.10 uas.xml

start_sipedged || bail_out "sipedged did not start"
tls_front_client uac "$FRONT" 127.0.0.1 "$TLS_PORT" "$P/root.pem" "$P/uac.chain" "$P/uac.key" ||
    bail_out "the UAC's TLS front did not start"

# zone_state ZONE PEER PORT STATE: `zones` on the control socket shows it.
zone_state() {
    ctl_cmd zones | grep -E -q "^$1 tls $2:$3 $4( |$)"
}
# all_zones_up: every UAS zone has its peer active.
all_zones_up() {
    local z
    for z in uas:127.0.0.2 callee:127.0.0.11 busy:127.0.0.5 noanswer:127.0.0.6 \
        silent:127.0.0.7 options:127.0.0.8 fo:127.0.0.2 fo503:127.0.0.9 fo503:127.0.0.10; do
        zone_state "${z%%:*}" "${z#*:}" "$PEER" active || return 1
    done
    zone_state self 127.0.0.1 "$TLS_PORT" active
}
if _poll 15 all_zones_up; then
    ok "every zone's peer is active (mutual TLS with each UAS front)"
else
    not_ok "every zone's peer is active (mutual TLS with each UAS front)" "$(ctl_cmd zones)"
fi

# call NAME CALLS SCENARIO MODE HOST PORT DOMAIN: SIPp calls to user alice.
call() {
    sipp_uac "$1" "$2" "$3" "$4" "$5" "$6" -s alice -key dom "$7"
}
# tls_call NAME CALLS SCENARIO DOMAIN: through the UAC's TLS front.
tls_call() {
    call "$1" "$2" "$3" t1 "$UAC_IP" "$FRONT" "$4"
}

tls_call options 1 options.xml options.test
check "OPTIONS through sipedged: 200 from the UAS" sipp_passed options 1

tls_call c10 10 uac.xml uas.test
check "10 INVITE/200/ACK/BYE calls over TLS on both legs, 0 failed" sipp_passed c10 10
check "... the UAS counted 10 (ACK and BYE came through the Record-Route)" sipp_wait_calls main 10 5

# invite_part FILE CALLID: the X-Sipedge-Test line (exactly as written:
# sipedged forwards the text it received, so even the name's case must
# pass) and the body of the INVITE of call CALLID in SIPp's message trace
# FILE.
invite_part() {
    awk -v cid="Call-ID: $2" '
        function flush() { if (inv && hit) { sub(/\n+$/, "", out); print out }; inv = 0 }
        { sub(/\r$/, "") }
        /^----------------/ { flush(); hit = 0; body = 0; out = ""; next }
        /^INVITE / { inv = 1; next }
        !inv { next }
        $0 == cid { hit = 1 }
        !body && substr($0, 1, 15) == "X-Sipedge-Test:" { out = out $0 "\n" }
        body { out = out $0 "\n" }
        /^$/ && !body { body = 1 }
        END { flush() }' "$1"
}
# invite_head FILE CALLID: the header names of that INVITE, one a line, in
# order and as written, without the Via and Record-Route lines a proxy
# adds; then its Max-Forwards line.
invite_head() {
    awk -v cid="Call-ID: $2" '
        function flush() { if (inv && hit) { printf "%s", names; print mf }; inv = 0 }
        { sub(/\r$/, "") }
        /^----------------/ { flush(); hit = 0; head = 0; names = ""; mf = ""; next }
        /^INVITE / { inv = 1; head = 1; next }
        !head { next }
        /^$/ { head = 0; next }
        $0 == cid { hit = 1 }
        /^Max-Forwards:/ { mf = $0 }
        { n = $0; sub(/[ \t]*:.*/, "", n); if (n != "Via" && n != "Record-Route") names = names n "\n" }
        END { flush() }' "$1"
}
cid=$(sed -n 's/^Call-ID: \(1-[^[:space:]]*\).*/\1/p' "$T/sipp-c10.messages" | head -n 1)
sent=$(invite_part "$T/sipp-c10.messages" "$cid")
got=$(invite_part "$T/sipp-main.messages" "$cid")
if [ -n "$cid" ] && grep -q '^X-Sipedge-Test: an unknown header' <<<"$sent" &&
    grep -q '^m=audio ' <<<"$sent" && [ "$sent" = "$got" ]; then
    ok "an unknown header (name case too) and the SDP body reach the UAS unchanged"
else
    not_ok "an unknown header (name case too) and the SDP body reach the UAS unchanged" \
        "call $cid, sent:" "$sent" "received:" "$got"
fi
sent=$(invite_head "$T/sipp-c10.messages" "$cid")
got=$(invite_head "$T/sipp-main.messages" "$cid")
if [ -n "$cid" ] && [ "$(tail -n 1 <<<"$sent")" = "Max-Forwards: 70" ] &&
    [ "$(tail -n 1 <<<"$got")" = "Max-Forwards: 69" ]; then
    ok "... Max-Forwards arrives one less, as 'Max-Forwards: 69'"
else
    not_ok "... Max-Forwards arrives one less, as 'Max-Forwards: 69'" \
        "sent: $(tail -n 1 <<<"$sent")" "received: $(tail -n 1 <<<"$got")"
fi
if [ "$(sed '$d' <<<"$sent" | grep -c .)" -ge 9 ] &&
    [ "$(sed '$d' <<<"$sent")" = "$(sed '$d' <<<"$got")" ]; then
    ok "... the other header names arrive in the order and case they were sent"
else
    not_ok "... the other header names arrive in the order and case they were sent" \
        "sent:" "$(sed '$d' <<<"$sent")" "received:" "$(sed '$d' <<<"$got")"
fi

tls_call hangup 1 uac_bye.xml callee.test
check "the callee hangs up: its BYE reaches the caller, 200 goes back" sipp_passed hangup 1
# The BYE came from sipedged's TLS side (its Via), down the caller's own
# connection, not to the caller's Contact.
check "... down the caller's TLS connection (sipedged's Via says TLS)" \
    grep -q "^Via: SIP/2.0/TLS 127.0.0.1:$TLS_PORT;" "$T/sipp-hangup.messages"
call udphangup 1 uac_bye.xml u1 127.0.0.1 "$UDP_PORT" callee.test
check "... and to a UDP caller, over UDP" sipp_passed udphangup 1
check "... the callee got 200 for both its BYEs" sipp_wait_calls callee 2 5

tls_call busy 1 "$(sipp_expect_scenario 486)" busy.test
check "486 Busy Here passed back to the caller (and ACKed)" sipp_passed busy 1
check "... the UAS got sipedged's ACK for its 486" sipp_wait_calls busy 1 5

tls_call cancel 1 uac_cancel.xml noanswer.test
check "CANCEL after 180: 200 for the CANCEL, 487 for the INVITE" sipp_passed cancel 1
check "... the UAS got the CANCEL and the ACK for its 487" sipp_wait_calls noanswer 1 5

# timed NAME CALLS SCENARIO DOMAIN: tls_call, setting ELAPSED (ms).
timed() {
    local start rc
    start=$(_now_ms)
    tls_call "$@"
    rc=$?
    ELAPSED=$(($(_now_ms) - start))
    return "$rc"
}
# took LOW HIGH: ELAPSED is within LOW..HIGH ms.
took() {
    if [ "$ELAPSED" -lt "$1" ] || [ "$ELAPSED" -gt "$2" ]; then
        echo "took $ELAPSED ms, not $1 to $2"
        return 1
    fi
}

timed ring 1 "$(sipp_expect_scenario 408)" noanswer.test
check "a UAS that rings and never answers: 408 when timer C (5 s) fires" sipp_passed ring 1
check "... after 5 s" took 4800 7500
check "... sipedged cancelled the INVITE at the UAS" sipp_wait_calls noanswer 2 5

timed silent 1 "$(sipp_expect_scenario 408)" silent.test
check "a UAS that does not even ring: 408 when timer B (64*T1 = 3.2 s) fires" sipp_passed silent 1
# Timer B runs from the INVITE to the 408: measured on SIPp's own trace,
# since SIPp takes over a second to start, which is not the proxy's.
ELAPSED=$(awk '
    /^-+ [0-9-]+ [0-9:.]+$/ { split($3, h, ":"); t = (h[1] * 3600 + h[2] * 60 + h[3]) * 1000; next }
    /^INVITE / && !inv { inv = t }
    /^SIP\/2.0 408 / && !r { r = t }
    END { if (inv && r) printf "%d\n", r - inv; else print -1 }' "$T/sipp-silent.messages")
check "... 3.2 s after the INVITE" took 3000 4200
if [ "$(grep -c '^INVITE ' "$T/sipp-silent.messages")" = 1 ] &&
    ! grep -q '^CANCEL ' "$T/sipp-silent.messages"; then
    ok "... and it got one INVITE and no CANCEL (none may be sent before a 1xx)"
else
    not_ok "... and it got one INVITE and no CANCEL" "$(grep -E '^[A-Z]+ sip' "$T/sipp-silent.messages")"
fi

check "failover zone: the first peer (nothing listening) is failed" \
    zone_state fo 127.0.0.4 "$PEER" failed
tls_call fo 1 uac.xml fo.test
check "... and a call to it goes to the second peer" sipp_passed fo 1

tls_call fo503 1 uac.xml fo503.test
check "a call whose first peer answers 503 goes to the second peer" sipp_passed fo503 1
check "... the first peer got the INVITE and sipedged's ACK for its 503" \
    sipp_wait_calls unavailable 1 5
check "... the second peer got the INVITE, the ACK and the BYE" sipp_wait_calls second 1 5

tls_call down 1 "$(sipp_expect_scenario 503)" down.test
check "a zone with no peer up: 503" sipp_passed down 1
check "... with Retry-After" grep -q '^Retry-After: ' "$T/sipp-down.messages"

tls_call loop 1 "$(sipp_expect_scenario 482)" loop.test
check "a request routed back to sipedged itself: 482 Loop Detected" sipp_passed loop 1

tls_call spiral 1 "$(sipp_expect_scenario 483 10)" spiral.test
check "a spiral (URI rewritten at each pass) is no loop: 483 when Max-Forwards 10 runs out" \
    sipp_passed spiral 1

tls_call mf0 1 "$(sipp_expect_scenario 483 0)" uas.test
check "Max-Forwards 0: 483 Too Many Hops" sipp_passed mf0 1

tls_call noroute 1 "$(sipp_expect_scenario 404)" nowhere.test
check "no search rule matches: 404" sipp_passed noroute 1

log_mark
tls_call bad 1 uac_malformed.xml uas.test
check "a malformed request gets 400, and a call follows on the same TLS connection" \
    sipp_passed bad 1
bad_peer=$(log_since_mark | grep 'event="bad message"' | sed -n 's/.* peer=\([^ ]*\) .*/\1/p' | head -n 1)
check "... the BYE came on the connection of the bad request (sipedged's log)" \
    log_has module=proxy 'event="request"' "peer=${bad_peer:-none}" method=BYE

call tcp 1 uac.xml t1 127.0.0.1 "$TCP_PORT" uas.test
check "a call from a TCP caller to the TLS UAS" sipp_passed tcp 1
call udp 1 uac.xml u1 127.0.0.1 "$UDP_PORT" uas.test
check "a call from a UDP caller to the TLS UAS" sipp_passed udp 1

# Every UAS ends gracefully; none counted a failed call.
uas_total() {
    local s f
    sipp_uas_stop "$1" || {
        echo "sipp UAS $1 exited with ${SIPP_RC[$1]}"
        sipp_report "$1"
        return 1
    }
    read -r s f < <(sipp_calls "$1")
    [ "${s:-x}" = "$2" ] && [ "${f:-x}" = 0 ] && return 0
    echo "UAS $1: $s successful, $f failed calls; expected $2 and 0"
    sipp_report "$1"
    return 1
}
check "the main UAS: 14 calls, 0 failed" uas_total main 14
if uas_total busy 1 >"$T/uas.out" && uas_total noanswer 2 >>"$T/uas.out" &&
    uas_total options 1 >>"$T/uas.out" && uas_total callee 2 >>"$T/uas.out"; then
    ok "the busy, ringing, OPTIONS and hanging-up UASes: no failed call"
else
    not_ok "the busy, ringing, OPTIONS and hanging-up UASes: no failed call" "$(cat "$T/uas.out")"
fi
if uas_total unavailable 1 >"$T/uas.out" && uas_total second 1 >>"$T/uas.out"; then
    ok "the two UASes of the 503 failover: no failed call"
else
    not_ok "the two UASes of the 503 failover: no failed call" "$(cat "$T/uas.out")"
fi
check "sipedged is still running" sipedged_alive
