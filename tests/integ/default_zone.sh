#!/bin/bash
# default_zone.sh: the policy for traffic from no zone's peer.  With
# default_zone.tls_verify and peer_names a TLS client without a
# certificate, or with one naming someone else, is refused with the reason
# logged, one with an accepted name gets its OPTIONS answered; a zone's
# peer is not the default zone; after a reload with accept = false, UDP
# requests from outside every zone get 403 with a Warning and TLS clients
# are refused, while the zone's peer still gets through.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 11

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf cust "DNS:pbx.customer.example" leaf
leaf stranger "DNS:other.example" leaf

write_config
cp "$P/root.pem" "$P/trust.pem"
printf '%s\n' 'default_zone: { tls_verify = true; peer_names = [ "sbc.customer.example", "pbx.customer.example" ]; };' >>"$CONF"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tcp";' \
    'peers = [ "127.0.0.2" ];' "port = $(free_port);" >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# dclient NAME STEPS...: a TLS client from 127.0.0.3 (no zone's peer)
# presenting certificate NAME ("-" for none).
dclient() {
    local name=$1 cert=()
    shift
    [ "$name" != - ] && cert=(--cert "$P/$name.chain" --key "$P/$name.key")
    sipclient tls "$TLS_PORT" --source 127.0.0.3 "${cert[@]}" "$@"
}

log_mark
check "tls_verify: a default-zone client with an accepted name gets 200" \
    dclient cust send:"$MSG/options.msg" expect:200
dclient - send:"$MSG/options.msg" expect:closed >"$T/none.out" 2>&1
if grep -q "^RECV" "$T/none.out"; then
    not_ok "tls_verify: a client without a certificate gets no answer" "$(cat "$T/none.out")"
else
    ok "tls_verify: a client without a certificate gets no answer"
fi
check "... refused: the default zone requires a client certificate" \
    wait_for_event -t 5 module=tls 'event="peer refused"' zone=default \
    'reason="zone default requires a client certificate and the peer sent none"'
dclient stranger send:"$MSG/options.msg" expect:closed >"$T/stranger.out" 2>&1
if grep -q "^RECV" "$T/stranger.out"; then
    not_ok "peer_names: a certificate for other.example gets no answer" "$(cat "$T/stranger.out")"
else
    ok "peer_names: a certificate for other.example gets no answer"
fi
check "... refused, saying no name of default_zone.peer_names matches" \
    log_grep '(default_zone.peer_names: none matches)'

# accept = false: everything from outside the zones is refused.
sed -i 's/^default_zone: {/default_zone: { accept = false;/' "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with default_zone.accept = false" wait_for_event module=conf 'event="reload ok"'
sipclient udp "$UDP_PORT" --source 127.0.0.3 --show Warning send:"$MSG/options.msg" expect:403 >"$T/udp403.out" 2>&1
check "UDP OPTIONS from outside every zone gets 403" grep -q "^RECV SIP/2.0 403 " "$T/udp403.out"
check "... with a Warning naming default_zone.accept" grep -q "^HDR Warning: 399 .*default_zone.accept is false" "$T/udp403.out"
check "the zone's peer (127.0.0.2) still gets 200 over UDP" \
    sipclient udp "$UDP_PORT" --source 127.0.0.2 send:"$MSG/options.msg" expect:200
dclient cust send:"$MSG/options.msg" expect:closed >"$T/refused.out" 2>&1
if grep -q "^RECV" "$T/refused.out"; then
    not_ok "a TLS client from outside every zone is refused, even with an accepted name" "$(cat "$T/refused.out")"
else
    ok "a TLS client from outside every zone is refused, even with an accepted name"
fi
check "... logged with the reason" \
    wait_for_event -t 5 module=tls 'event="peer refused"' 'reason="TLS clients from outside every zone are refused (default_zone.accept is false)"'
