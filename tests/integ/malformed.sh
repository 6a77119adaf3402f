#!/bin/bash
# malformed.sh: malformed, truncated, oversized and binary input over TLS,
# TCP and UDP gets 400/513 or a closed connection, and never stops sipedged
# from answering other connections; each request validation rule gets its
# status (400, 416, 420, 483, 505) on every transport.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 76

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

# 18-71: request validation (RFC 3261 s.7, s.8.2, s.16.3, s.20) on each
# transport: every bad request gets its status on one connection, which then
# answers a good OPTIONS.  "-": a response that fails the checks, dropped.
VALIDATION=(
    "options-cseq-mismatch 400 CSeq method differing from the request method"
    "options-sip30 505 request line in SIP/3.0"
    "options-tel-uri 416 tel: request-URI"
    "options-max-forwards-256 400 Max-Forwards 256"
    "options-two-from 400 second From (compact form)"
    "options-cseq-too-big 400 CSeq number 2**31"
    "options-expires-too-big 400 Expires 2**32"
    "options-bad-from-host 400 From URI host with a '!'"
    "options-via-bad-port 400 second Via with port 99999"
    "response-bad-cseq - response with CSeq number 99999999999"
    "options-proxy-require 420 Proxy-Require foo, bar for another host"
    "options-require 420 OPTIONS to this node with Require: 100rel"
    "options-us-proxy-require 200 OPTIONS to this node with Proxy-Require (a UAS ignores it)"
    "options-no-max-forwards 200 OPTIONS without Max-Forwards"
    "options-foreign-max-forwards-0 483 Max-Forwards 0 (checked before Proxy-Require)"
)

# validate_over TRANSPORT PORT: send every VALIDATION message on one
# connection, then OPTIONS; one test point per expected status, one for the
# Unsupported header of the 420 and one for the Warning of a 400.
validate_over() {
    local tr=$1 port=$2 out="$T/validate-$1.out" steps=() got=() entry file code desc i=0
    for entry in "${VALIDATION[@]}"; do
        read -r file code desc <<<"$entry"
        steps+=("send:$MSG/$file.msg")
        [ "$code" = - ] || steps+=("expect:$code")
    done
    steps+=("send:$MSG/options.msg" "expect:200")
    sipclient "$tr" "$port" --show Unsupported --show Warning "${steps[@]}" >"$out" 2>&1
    read -r -a got <<<"$(statuses "$out")"
    for entry in "${VALIDATION[@]}"; do
        read -r file code desc <<<"$entry"
        [ "$code" = - ] && continue
        if [ "${got[$i]:-}" = "$code" ]; then
            ok "$tr: $desc gets $code"
        else
            not_ok "$tr: $desc gets $code" "got '${got[$i]:-nothing}'; sipclient output:" "$(cat "$out")"
        fi
        i=$((i + 1))
    done
    if [ "${got[$i]:-}" = 200 ] && [ "${#got[@]}" -eq $((i + 1)) ]; then
        ok "$tr: the same connection then answers OPTIONS with 200, and nothing else came"
    else
        not_ok "$tr: the same connection then answers OPTIONS with 200, and nothing else came" \
            "statuses: ${got[*]}" "$(cat "$out")"
    fi
    check "$tr: the 420 lists the options in Unsupported" grep -qx 'HDR Unsupported: foo, bar' "$out"
    check "$tr: the 400 for Max-Forwards 256 says why in a Warning" grep -qxF \
        "HDR Warning: 399 localhost \"Max-Forwards '256' is not an integer from 0 to 255\"" "$out"
}

log_mark
validate_over udp "$UDP_PORT"
validate_over tcp "$TCP_PORT"
validate_over tls "$TLS_PORT"
check "the dropped response is logged with its reason" wait_for_event -t 5 \
    'event="bad message"' "reason=\"CSeq number '99999999999' is not an integer from 0 to 2147483647\""
check "the 400 is logged with its reason and response" wait_for_event -t 5 \
    'event="bad message"' "reason=\"Max-Forwards '256' is not an integer from 0 to 255\"" response=400
check "the 420 is logged as a refused request" wait_for_event -t 5 \
    'event="request refused"' status=420 'reason="Proxy-Require options not supported by sipedge: foo, bar"'

# 72, 73: UDP framing (s.18.3): a Content-Length beyond the datagram gets
# 400; a shorter one cuts the body, and the rest of the datagram is dropped.
check "UDP: Content-Length larger than the datagram body gets 400" \
    sipclient udp "$UDP_PORT" send:"$MSG/options-short-body.msg" expect:400
check "UDP: Content-Length smaller than the datagram body: OPTIONS answered 200" \
    sipclient udp "$UDP_PORT" send:"$MSG/options-long-body.msg" expect:200

# 74, 75: everything still works.
check "UDP: OPTIONS answered 200 from a new socket" \
    sipclient udp "$UDP_PORT" send:"$MSG/options.msg" expect:200
check "TCP: OPTIONS answered 200 at the end" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200

# 76
check "sipedged still runs" sipedged_alive
