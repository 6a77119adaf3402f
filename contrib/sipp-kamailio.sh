#!/bin/bash
# sipp-kamailio.sh: checks the SIPp + stunnel4 harness (tests/integ/sipplib.sh)
# and the scenarios of tests/sipp against a real proxy, Kamailio, in the
# place where the tests put sipedged:
#
#   SIPp UAC -TCP-> stunnel (127.0.0.3) -TLS-> Kamailio (127.0.0.1)
#   Kamailio -TLS-> stunnel (127.0.0.2, .5, .6) -TCP-> SIPp UAS
#
# Not part of `make check`: run it by hand after changing the harness or a
# scenario (needs kamailio and kamailio-tls-modules):
#   SIPEDGED=$PWD/src/sipedged top_srcdir=$PWD contrib/sipp-kamailio.sh
# It speaks TAP like the integration tests.  Kamailio plays the proxy with
# a config written by kam_config: routes by the request-URI's domain,
# record-routes, 483 at Max-Forwards 0, 404 for an unknown domain, 400 for a
# CSeq number of 2**31 or more, a crude 482 for loop.test, and
# fails over from 127.0.0.4 (nothing there) to 127.0.0.2.
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/../tests/integ/lib.sh"
# shellcheck source=tests/integ/pkilib.sh
. "$INTEG_DIR/pkilib.sh"
# shellcheck source=tests/integ/sipplib.sh
. "$INTEG_DIR/sipplib.sh"

require_cmd sipp openssl kamailio "$PYTHON"
_stunnel_bin >/dev/null || skip_all "stunnel4 is not installed"
KAM_MODULES=${KAM_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
[ -e "$KAM_MODULES/tls.so" ] || skip_all "kamailio-tls-modules is not installed"
plan 20

pki_setup
leaf kam "IP:127.0.0.1" leaf
leaf uac "IP:127.0.0.3" leaf
leaf uas "IP:127.0.0.2,IP:127.0.0.5,IP:127.0.0.6,IP:127.0.0.7,IP:127.0.0.8,IP:127.0.0.11" leaf

KTLS=$(free_port)
KSIP=$(free_port)
PEER=$(free_port)            # TLS port of every UAS front
FRONT=$(free_port 127.0.0.3)

# kam_config FILE: the Kamailio configuration (see the top).
kam_config() {
    cat >"$T/kam-tls.cfg" <<EOF
[server:default]
method = TLSv1.2+
certificate = $P/kam.chain
private_key = $P/kam.key
ca_list = $P/root.pem
verify_certificate = yes
require_certificate = yes

[client:default]
method = TLSv1.2+
certificate = $P/kam.chain
private_key = $P/kam.key
ca_list = $P/root.pem
verify_certificate = yes
require_certificate = yes
EOF
    cat >"$1" <<EOF
#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
listen=tls:127.0.0.1:$KTLS
listen=tcp:127.0.0.1:$KSIP
listen=udp:127.0.0.1:$KSIP
enable_tls=yes
tcp_connect_timeout=2

loadpath "$KAM_MODULES"
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "sanity.so"
loadmodule "pv.so"
loadmodule "xlog.so"

modparam("tls", "config", "$T/kam-tls.cfg")
modparam("tm", "fr_timer", 3000)
modparam("tm", "fr_inv_timer", 4000)
modparam("rr", "enable_double_rr", 1)

request_route {
    xlog("L_INFO", "IN \$rm \$ru from \$si:\$sp \$pr\n");
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check("1511", "7")) {
        exit;
    }
    # sanity takes any 32-bit CSeq; RFC 3261 s.8.1.1.5 wants less than 2**31.
    if (\$hdr(CSeq) =~ "^ *[0-9]{10,}") {
        sl_send_reply("400", "Bad Request");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            t_relay();
        }
        exit;
    }
    if (has_totag()) {
        if (loose_route()) {
            t_relay();
            exit;
        }
        if (is_method("ACK")) {
            t_check_trans();
            exit;
        }
        sl_send_reply("404", "Not Here");
        exit;
    }
    t_check_trans();
    if (\$rd == "loop.test") {
        sl_send_reply("482", "Loop Detected");
        exit;
    }
    if (\$rd == "uas.test") {
        \$du = "sip:127.0.0.2:$PEER;transport=tls";
    } else if (\$rd == "busy.test") {
        \$du = "sip:127.0.0.5:$PEER;transport=tls";
    } else if (\$rd == "noanswer.test") {
        \$du = "sip:127.0.0.6:$PEER;transport=tls";
    } else if (\$rd == "callee.test") {
        \$du = "sip:127.0.0.11:$PEER;transport=tls";
    } else if (\$rd == "silent.test") {
        \$du = "sip:127.0.0.7:$PEER;transport=tls";
    } else if (\$rd == "options.test") {
        \$du = "sip:127.0.0.8:$PEER;transport=tls";
    } else if (\$rd == "fo.test") {
        \$du = "sip:127.0.0.4:$PEER;transport=tls";
        t_on_failure("FAILOVER");
    } else {
        sl_send_reply("404", "No Route");
        exit;
    }
    record_route();
    if (!t_relay()) {
        # A refused connect fails at once, before any failure route.
        if (\$rd == "fo.test") {
            xlog("L_INFO", "failover after a send error\n");
            \$du = "sip:127.0.0.2:$PEER;transport=tls";
            if (t_relay()) {
                exit;
            }
        }
        sl_reply_error();
    }
}

failure_route[FAILOVER] {
    if (t_is_canceled()) {
        exit;
    }
    xlog("L_INFO", "failover after \$T_reply_code\n");
    \$du = "sip:127.0.0.2:$PEER;transport=tls";
    t_relay();
}
EOF
}

kam_config "$T/kamailio.cfg"
timeout 10 kamailio -c -f "$T/kamailio.cfg" >"$T/kam-check.out" 2>&1 ||
    bail_out "kamailio -c failed: $(tail -n 20 "$T/kam-check.out")"
timeout 300 kamailio -f "$T/kamailio.cfg" -DD -E -x tlsf -m 64 -M 16 -Y "$T" \
    -P "$T/kamailio.pid" -w "$T" >"$T/kamailio.log" 2>&1 </dev/null &
KAM_PID=$!
track_pid "$KAM_PID"
_poll 10 listening tcp 127.0.0.1 "$KTLS" || bail_out "kamailio did not start: $(tail -n 20 "$T/kamailio.log")"

tls_front_client uacfront "$FRONT" 127.0.0.1 "$KTLS" "$P/root.pem" "$P/uac.chain" "$P/uac.key" ||
    bail_out "stunnel client front"

# uas ROLE IP SCENARIO [ARGS]: a UAS and its TLS front (which demands a
# client certificate from Kamailio) on IP.
uas() {
    local port
    port=$(free_port "$2")
    sipp_uas "$1" "$2" "$port" "$2:$PEER" "$3" "${@:4}" || bail_out "sipp uas $1"
    tls_front_server "front-$1" "$2" "$PEER" "$port" "$P/uas.chain" "$P/uas.key" "$P/root.pem" ||
        bail_out "stunnel server front $1"
}
uas main 127.0.0.2 uas.xml
uas busy 127.0.0.5 uas_busy.xml
uas noanswer 127.0.0.6 uas_noanswer.xml
uas silent 127.0.0.7 uas_silent.xml
uas options 127.0.0.8 uas_options.xml
uas callee 127.0.0.11 uas_bye.xml

call() {
    sipp_uac "$@" -s alice
}

call options 1 options.xml t1 "$UAC_IP" "$FRONT" -key dom options.test
check "OPTIONS through the proxy: 200 from the UAS" sipp_passed options 1

call c10 10 uac.xml t1 "$UAC_IP" "$FRONT" -key dom uas.test
check "10 INVITE/ACK/BYE calls over TLS both ways, 0 failed" sipp_passed c10 10
check "... and the UAS counted 10" sipp_wait_calls main 10 5

call hangup 1 uac_bye.xml t1 "$UAC_IP" "$FRONT" -key dom callee.test
check "the callee hangs up: its BYE reaches the caller through the proxy" sipp_passed hangup 1
call udphangup 1 uac_bye.xml u1 127.0.0.1 "$KSIP" -key dom callee.test
check "... and a UDP caller's" sipp_passed udphangup 1
check "... the callee got 200 for both BYEs" sipp_wait_calls callee 2 5

call busy 1 "$(sipp_expect_scenario 486)" t1 "$UAC_IP" "$FRONT" -key dom busy.test
check "486 Busy Here passed back and ACKed" sipp_passed busy 1
check "... the busy UAS got its ACK" sipp_wait_calls busy 1 5

call cancel 1 uac_cancel.xml t1 "$UAC_IP" "$FRONT" -key dom noanswer.test
check "CANCEL after 180: 200 for the CANCEL, 487, ACK" sipp_passed cancel 1
check "... the UAS answered the CANCEL" sipp_wait_calls noanswer 1 5

call timeout 1 "$(sipp_expect_scenario 408)" t1 "$UAC_IP" "$FRONT" -key dom noanswer.test
check "a UAS that never answers: 408 after the proxy's timer" sipp_passed timeout 1
check "... and the proxy cancelled it at the UAS" sipp_wait_calls noanswer 2 5

call silent 1 "$(sipp_expect_scenario 408)" t1 "$UAC_IP" "$FRONT" -key dom silent.test
check "a UAS that does not even ring: 408 from the proxy" sipp_passed silent 1
check "... and the proxy sent it nothing more (no CANCEL)" \
    eval "[ \"\$(grep -c '^INVITE ' '$T/sipp-silent.messages')\" = 1 ] && ! grep -q '^CANCEL ' '$T/sipp-silent.messages'"

call fo 1 uac.xml t1 "$UAC_IP" "$FRONT" -key dom fo.test
check "failover from 127.0.0.4 (nothing there) to 127.0.0.2" sipp_passed fo 1

call mf0 1 "$(sipp_expect_scenario 483 0)" t1 "$UAC_IP" "$FRONT" -key dom uas.test
check "Max-Forwards 0: 483" sipp_passed mf0 1

call noroute 1 "$(sipp_expect_scenario 404)" t1 "$UAC_IP" "$FRONT" -key dom nowhere.test
check "no route: 404" sipp_passed noroute 1

call loop 1 "$(sipp_expect_scenario 482)" t1 "$UAC_IP" "$FRONT" -key dom loop.test
check "loop: 482" sipp_passed loop 1

call bad 1 uac_malformed.xml t1 "$UAC_IP" "$FRONT" -key dom uas.test
check "a malformed request gets 400, then a call on the same connection" sipp_passed bad 1

# Plain TCP and UDP callers, straight to the proxy's TCP/UDP listener.
call tcp 1 uac.xml t1 127.0.0.1 "$KSIP" -key dom uas.test
call udp 1 uac.xml u1 127.0.0.1 "$KSIP" -key dom uas.test
if sipp_passed tcp 1 >"$T/tcpudp.out" && sipp_passed udp 1 >>"$T/tcpudp.out"; then
    ok "TCP-to-TLS and UDP-to-TLS calls"
else
    not_ok "TCP-to-TLS and UDP-to-TLS calls" "$(cat "$T/tcpudp.out")"
fi
