#!/bin/bash
# malformed.sh: malformed, truncated, oversized and binary input over TLS,
# TCP and UDP gets 400/513 or a closed connection, and never stops sipedged
# from answering other connections.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 20

CONF_MAX_MESSAGE_SIZE=2048
CONF_READ_TIMEOUT=3
CONF_HANDSHAKE_TIMEOUT=2
MARGIN=3            # seconds allowed beyond a configured timeout
RT=$CONF_READ_TIMEOUT
HT=$CONF_HANDSHAKE_TIMEOUT

write_config
start_sipedged || bail_out "sipedged did not start"
make_garbage "$T/garbage.bin"

# expect_statuses DESC1 DESC2 OUT CODE1 CODE2: report two test points, one
# per expected response status in sipclient output file OUT.
expect_statuses() {
    local got
    read -r -a got <<<"$(statuses "$3")"
    if [ "${got[0]:-}" = "$4" ]; then
        ok "$1"
    else
        not_ok "$1" "expected $4, sipclient output:" "$(cat "$3")"
    fi
    if [ "${got[1]:-}" = "$5" ]; then
        ok "$2"
    else
        not_ok "$2" "expected $5 as 2nd response, sipclient output:" "$(cat "$3")"
    fi
}

# expect_closed DESC OUT RC LOW HIGH: sipclient (exit status RC, output OUT)
# saw the server close the connection between LOW and HIGH seconds.
expect_closed() {
    local secs
    secs=$(closed_after "$2")
    if [ "$3" -eq 0 ] && between "$secs" "$4" "$5"; then
        ok "$1"
    else
        not_ok "$1" "expected CLOSED after ${4}..${5} s; sipclient exit $3, output:" "$(cat "$2")"
    fi
}

# 1, 2: CSeq method mismatch over TLS, then a good OPTIONS on the same connection.
sipclient tls "$TLS_PORT" send:"$MSG/options-cseq-mismatch.msg" expect:400 \
    send:"$MSG/options.msg" expect:200 >"$T/c1.out" 2>&1
expect_statuses "TLS: CSeq method mismatch gets 400" \
    "TLS: same connection then answers OPTIONS with 200" "$T/c1.out" 400 200

# 3, 4: missing CSeq over TCP.  No valid response can be built without a
# CSeq (s.8.2.6 copies it), so the message is logged and dropped; the first
# response on the connection must be the 200 for the OPTIONS that follows.
sipclient tcp "$TCP_PORT" send:"$MSG/options-no-cseq.msg" \
    send:"$MSG/options.msg" expect:200 >"$T/c2.out" 2>&1
expect_statuses "TCP: missing CSeq gets no response, only the next OPTIONS its 200" \
    "TCP: no second response follows" "$T/c2.out" 200 ""
check "TCP: missing CSeq is logged as a bad message" \
    wait_for_event -t 5 'event="bad message"' 'transport=tcp'

# 5, 6: missing Content-Length over TCP (taken as no body).
sipclient tcp "$TCP_PORT" send:"$MSG/options-no-content-length.msg" expect:400 \
    send:"$MSG/options.msg" expect:200 >"$T/c3.out" 2>&1
expect_statuses "TCP: missing Content-Length gets 400" \
    "TCP: same connection then answers OPTIONS with 200" "$T/c3.out" 400 200

# 7, 8: Content-Length larger than the body sent: closed after read_timeout;
# meanwhile another connection is served.
sipclient tcp "$TCP_PORT" send:"$MSG/options-short-body.msg" closed:$((RT + MARGIN + 2)) \
    >"$T/c4.out" 2>&1 &
short=$!
track_pid "$short"
wait_for_text "$T/c4.out" "SENT" 5
check "TLS: OPTIONS answered 200 while a TCP message is incomplete" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200
wait_pid "$short" $((RT + MARGIN + 10))
expect_closed "TCP: Content-Length beyond the body sent: closed after read_timeout ($RT s)" \
    "$T/c4.out" $? $((RT - 1)) $((RT + MARGIN))

# 9, 10: a header section over max_message_size: 513 (or closed), then closed.
sipclient tcp "$TCP_PORT" send:"$MSG/options-big-header.msg" expect:513/closed \
    closed:$((RT + MARGIN)) >"$T/c5.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
    ok "TCP: 4000-byte header line (max 2048) gets 513 or closed, then closed"
else
    not_ok "TCP: 4000-byte header line (max 2048) gets 513 or closed, then closed" \
        "sipclient exit $rc, output:" "$(cat "$T/c5.out")"
fi
check "TCP: OPTIONS still answered 200 after the oversized message" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200

# 11-13: binary garbage over TCP and TLS: closed.
sipclient tcp "$TCP_PORT" sendraw:"$T/garbage.bin" closed:$((RT + MARGIN)) >"$T/c6.out" 2>&1
expect_closed "TCP: 512 bytes of binary garbage: connection closed" \
    "$T/c6.out" $? 0 $((RT + MARGIN))
sipclient tls "$TLS_PORT" sendraw:"$T/garbage.bin" closed:$((RT + MARGIN)) >"$T/c7.out" 2>&1
expect_closed "TLS: 512 bytes of binary garbage: connection closed" \
    "$T/c7.out" $? 0 $((RT + MARGIN))
check "TLS: OPTIONS still answered 200 after the garbage" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200

# 14, 15: a client that connects to the TLS port and never says hello.
log_mark
sipclient tcp "$TLS_PORT" closed:$((HT + MARGIN + 2)) >"$T/c8.out" 2>&1
expect_closed "TLS port: a silent client is closed after handshake_timeout ($HT s)" \
    "$T/c8.out" $? $((HT - 1)) $((HT + MARGIN))
check "'handshake timeout' logged" wait_for_event -t 5 module=tls 'event="handshake timeout"'

# 16: binary garbage in a UDP datagram, then OPTIONS from the same socket.
check "UDP: garbage datagram ignored, then OPTIONS answered 200" \
    sipclient udp "$UDP_PORT" sendraw:"$T/garbage.bin" sleep:0.2 \
    send:"$MSG/options.msg" expect:200

# 17, 18: everything still works.
check "UDP: OPTIONS answered 200 from a new socket" \
    sipclient udp "$UDP_PORT" send:"$MSG/options.msg" expect:200
check "TCP: OPTIONS answered 200 at the end" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200

# 19
check "sipedged still runs" sipedged_alive
