#!/bin/bash
# options.sh: sipedged answers OPTIONS with 200 over UDP and TCP (SIPp), over
# TLS (SIPp -> stunnel4 -> sipedged), and on an IPv6 ::1 TCP listener.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd sipp "$PYTHON"
command -v stunnel4 >/dev/null 2>&1 || command -v stunnel >/dev/null 2>&1 ||
    skip_all "stunnel4 is not installed"

plan 8

if have_ipv6_loopback; then
    V6_PORT=$(free_port ::1)
    CONF_EXTRA_LISTEN=("tcp ::1 $V6_PORT")
else
    V6_PORT=""
fi
write_config
start_sipedged || bail_out "sipedged did not start"

check "OPTIONS over UDP gets 200 (SIPp)" sipp_options udp 127.0.0.1 "$UDP_PORT"
check "OPTIONS over TCP gets 200 (SIPp)" sipp_options tcp 127.0.0.1 "$TCP_PORT"

if start_stunnel_client "$TLS_PORT"; then
    check "OPTIONS over TLS gets 200 (SIPp -> stunnel4)" \
        sipp_options tcp 127.0.0.1 "$STUNNEL_PORT"
    check "TLS handshake with stunnel4 logged as handshake ok" \
        wait_for_event -t 5 module=tls 'event="handshake ok"'
    stop_stunnel
else
    not_ok "OPTIONS over TLS gets 200 (SIPp -> stunnel4)" "stunnel4 did not start"
    not_ok "TLS handshake with stunnel4 logged as handshake ok"
fi

if [ -n "$V6_PORT" ]; then
    check "OPTIONS over TCP on [::1] gets 200 (SIPp)" sipp_options tcp ::1 "$V6_PORT"
else
    skip "OPTIONS over TCP on [::1] gets 200 (SIPp)" "::1 is not usable here"
fi

# Requests in separate TLS records (or TCP sends) that arrive together are
# read in one go (TLS reads ahead) and their answers written together: all
# are answered, none waits for input that never comes.
EIGHT=(expect:200 expect:200 expect:200 expect:200 expect:200 expect:200
    expect:200 expect:200)
sipclient tls "$TLS_PORT" burst:"$MSG/options.msg":8 "${EIGHT[@]}" \
    >"$T/burst_tls.out" 2>&1
check "8 OPTIONS in 8 TLS records sent together on one connection: 8 x 200" \
    test "$(statuses "$T/burst_tls.out")" = "200 200 200 200 200 200 200 200"
sipclient tcp "$TCP_PORT" burst:"$MSG/options.msg":8 "${EIGHT[@]}" \
    >"$T/burst_tcp.out" 2>&1
check "8 OPTIONS sent together on one TCP connection: 8 x 200" \
    test "$(statuses "$T/burst_tcp.out")" = "200 200 200 200 200 200 200 200"

check "sipedged still runs" sipedged_alive
