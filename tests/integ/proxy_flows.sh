#!/bin/bash
# proxy_flows.sh: which connection a forwarded request takes.  A TLS
# neighbor zone whose peer (127.0.0.2) cannot be connected to, but which
# connected to sipedged itself with a certificate the gate verified: a
# request routed to the zone goes down the peer's own connection (RFC 5923
# style), unknown headers pass unchanged (the text is forwarded, not
# rebuilt: names keep their case and order, Max-Forwards is one less, the
# caller's Via gets its rport value), and the response comes back.  A
# peer whose connection was not verified (zone without tls_verify) is not
# used: the caller gets 503 with a Warning naming the zone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 16

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf partner "DNS:sip.partner.example" leaf

write_config
cp "$P/root.pem" "$P/trust.pem"
DEAD_PORT=$(free_port)
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    "port = $DEAD_PORT;" 'log_messages = true;' >"$T/zones/partner.conf"
printf '%s\n' 'name = "loose";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.4" ];' 'tls_verify = false;' \
    "port = $DEAD_PORT;" >"$T/zones/loose.conf"
cat >>"$CONF" <<'CONF'
search_rules = (
  { priority = 10; match = "suffix"; pattern = "@partner.example"; target_zone = "partner"; },
  { priority = 20; match = "suffix"; pattern = "@loose.example"; target_zone = "loose"; }
);
CONF
start_sipedged || bail_out "sipedged did not start"

check "the partner's peer cannot be connected to (zone shows failed)" \
    _poll 10 eval "ctl_cmd zones | grep -q '^partner tls 127.0.0.2:$DEAD_PORT failed'"

# The partner connects in, proves sip.partner.example, then waits for a request.
sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/partner.chain" --key "$P/partner.key" \
    --timeout 20 --show X-Sipedge-Test --show Max-Forwards --show Via \
    --show From --show To --show Call-ID --show CSeq \
    send:"$MSG/options.msg" expect:200 request:OPTIONS reply:200 >"$T/partner.out" 2>&1 &
track_pid $!
PARTNER=$!
check "the partner's own TLS connection is verified and answered" \
    _poll 10 grep -q "^RECV SIP/2.0 200" "$T/partner.out"

log_mark
sipclient udp "$UDP_PORT" --source 127.0.0.3 --timeout 10 \
    send:"$MSG/options-partner.msg" expect:200 >"$T/caller.out" 2>&1
check "a request for bob@partner.example gets the partner's 200" \
    grep -q "^RECV SIP/2.0 200" "$T/caller.out"
check "... it came down the partner's own connection" \
    grep -q "^REQ OPTIONS sip:bob@partner.example SIP/2.0" "$T/partner.out"
check "... with the unknown header unchanged, its name's case too" \
    grep -q "^HDR X-Sipedge-Test: unknown headers pass unchanged$" "$T/partner.out"
check "... Max-Forwards one less, as 'Max-Forwards: 69'" \
    grep -q "^HDR Max-Forwards: 69$" "$T/partner.out"
check "... the caller's Via below sipedged's, its rport filled in (RFC 3581)" \
    eval "sed -n '/^REQ OPTIONS/,\$p' '$T/partner.out' | grep '^HDR Via: ' | sed -n 2p |
        grep -E -q '^HDR Via: SIP/2.0/UDP 127\.0\.0\.3:[0-9]+;branch=[^;]+;rport=[0-9]+$'"
# The names of the request's headers as they came down, in order (the
# sent order is that of options-partner.msg).
check "... its headers in the order they were sent" \
    eval "[ \"\$(sed -n '/^REQ OPTIONS/,\$s/^HDR \([^:]*\):.*/\1/p' '$T/partner.out' |
        uniq | tr '\n' ' ')\" = 'Via Max-Forwards From To Call-ID CSeq X-Sipedge-Test ' ]"
check "... logged as forwarded to zone partner by the rule" \
    log_has module=proxy 'event="request forwarded"' zone=partner peer=127.0.0.2 'rule="priority 10"'
wait_pid "$PARTNER" 10
check "the partner's client finished all its steps" eval "! grep -q '^FAIL' '$T/partner.out'"

# log_messages on zone partner: the whole messages to and from it are in
# the log (debug), and one call is traced end to end by its Call-ID.
check "log_messages: the request sent to zone partner is logged whole" \
    eval "log_since_mark | grep 'event=\"message out\" zone=partner' | grep -q 'X-Sipedge-Test: unknown headers pass unchanged'"
check "... and the partner's 200 as it came in" \
    eval "log_since_mark | grep 'event=\"message in\" zone=partner' | grep -q 'message=\"SIP/2.0 200 Reply'"
check "... but nothing of the default zone's traffic (off by default)" \
    eval "! log_since_mark | grep -q 'event=\"message in\" zone=default'"
cid=$(log_since_mark | sed -n 's/.*event="request forwarded" call_id=\([^ ]*\) .*zone=partner .*/\1/p' | head -n 1)
timeout 30 "$SIPEDGE_CTL" -c "$CONF" log --call-id "$cid" >"$T/trace.out" 2>&1
check "sipedge-ctl log --call-id traces the call: received, forwarded, done" \
    eval "grep -q 'event=\"request\"' '$T/trace.out' && grep -q 'event=\"request forwarded\"' '$T/trace.out' &&
          grep -q 'event=\"request done\"' '$T/trace.out' && ! grep -v 'call_id=$cid' '$T/trace.out' | grep -q ."

# An unverified peer's connection (zone loose, tls_verify off) is not used.
sipclient tls "$TLS_PORT" --source 127.0.0.4 --timeout 8 \
    send:"$MSG/options.msg" expect:200 sleep:4 >"$T/loose.out" 2>&1 &
track_pid $!
_poll 10 grep -q "^RECV SIP/2.0 200" "$T/loose.out" || diag "loose peer not connected"
sed 's/partner.example/loose.example/g' "$MSG/options-partner.msg" >"$T/options-loose.msg"
sipclient udp "$UDP_PORT" --source 127.0.0.3 --show Warning \
    send:"$T/options-loose.msg" expect:503 >"$T/loose-caller.out" 2>&1
check "a request for the unverified zone gets 503" grep -q "^RECV SIP/2.0 503" "$T/loose-caller.out"
check "... with a Warning naming the zone" grep -q "^HDR Warning: 399 .*zone loose is down" "$T/loose-caller.out"
