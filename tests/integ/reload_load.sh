#!/bin/bash
# reload_load.sh: live reload under load.  SIPp keeps calls running through
# sipedged (TLS on both legs, through stunnel) while its configuration is
# reloaded 20 times, each time changing something: the server certificate
# and the trust list (every reload), a zone and a search rule added and
# removed, rule names, and once the removal of a zone that carries a call.
# Zero failed calls; every reload ok; the caller's TLS connection and the
# zone's connection are the ones from before the reloads; a new handshake
# shows the new certificate; the removed zone's call drains (its BYE gets
# through after the reload that removed the zone).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
# shellcheck source=sipplib.sh
. "$INTEG_DIR/sipplib.sh"

require_cmd sipp openssl "$PYTHON"
_stunnel_bin >/dev/null || skip_all "stunnel4 is not installed"
plan 11

pki_setup
leaf server1 "IP:127.0.0.1,DNS:localhost" leaf
leaf server2 "IP:127.0.0.1,DNS:localhost" leaf
leaf uac "DNS:uac.test,IP:127.0.0.3" leaf
leaf uas "IP:127.0.0.2,IP:127.0.0.5" leaf
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=Another Test CA" -keyout "$P/other.key" -out "$P/other.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cp "$P/root.pem" "$P/trust1.pem"
cat "$P/root.pem" "$P/other.pem" >"$P/trust2.pem"

PEER=$(free_port)
FRONT=$(free_port "$UAC_IP")
DEAD=$(free_port)
SIPP_TIMEOUT=60

write_config
sed -i 's|^tls: {$|tls: {\n  certificate = "pki/server1.chain"; private_key = "pki/server1.key"; trust = "pki/trust1.pem";|' "$CONF"
cat >>"$CONF" <<EOF
default_zone: { tls_verify = true; peer_names = [ "uac.test" ]; };
search_rules = (
  { priority = 20; match = "suffix"; pattern = "@drain.test"; target_zone = "drain"; },
  { priority = 10; name = "uas-0"; match = "suffix"; pattern = "@uas.test"; target_zone = "uas"; }
);
EOF
zone() {
    printf '%s\n' "name = \"$1\";" 'type = "neighbor";' "transport = \"$2\";" \
        "port = $3;" "peers = [ \"$4\" ];" >"$T/zones/$1.conf"
}
zone uas tls "$PEER" 127.0.0.2
zone drain tls "$PEER" 127.0.0.5
uas() {
    local port
    port=$(free_port "$2")
    sipp_uas "$1" "$2" "$port" "$2:$PEER" uas.xml || bail_out "sipp UAS $1 did not start"
    tls_front_server "front-$1" "$2" "$PEER" "$port" "$P/uas.chain" "$P/uas.key" "$P/root.pem" ||
        bail_out "the TLS front of UAS $1 did not start"
}
uas main 127.0.0.2
uas drainer 127.0.0.5
start_sipedged || bail_out "sipedged did not start"
tls_front_client uac "$FRONT" 127.0.0.1 "$TLS_PORT" "$P/root.pem" "$P/uac.chain" "$P/uac.key" ||
    bail_out "the UAC's TLS front did not start"
_poll 15 eval "ctl_cmd zones | grep -q '^uas tls 127.0.0.2:$PEER active' &&
               ctl_cmd zones | grep -q '^drain tls 127.0.0.5:$PEER active'" ||
    bail_out "the zones did not come up: $(ctl_cmd zones)"
log_mark

# One long call to the zone that goes away (8 s between ACK and BYE), and
# 200 short calls at 20 a second, all over the UAC front's one connection.
sed 's/<pause milliseconds="100" \/>/<pause milliseconds="8000" \/>/' "$SIPP_DIR/uac.xml" >"$T/uac_long.xml"
(sipp_uac long 1 "$T/uac_long.xml" t1 "$UAC_IP" "$FRONT" -s alice -key dom drain.test
 echo $? >"$T/long.rc") &
track_pid $!
LONG=$!
_poll 5 eval "grep -q '^ACK ' '$T/sipp-long.messages' 2>/dev/null" || diag "the long call was not answered"
(sipp_uac load 200 uac.xml t1 "$UAC_IP" "$FRONT" -s alice -key dom uas.test
 echo $? >"$T/load.rc") &
track_pid $!
LOAD=$!
_poll 10 eval "grep -q '^SIP/2.0 200' '$T/sipp-load.messages' 2>/dev/null" ||
    diag "no call of the load was answered before the reloads"

# reload_n N: change the configuration for reload N, SIGHUP, wait for it.
reload_n() {
    local n=$1 cert=server$((($1 + 1) % 2 + 1)) trust=trust$((($1 + 1) % 2 + 1))
    sed -i -e "s|pki/server[12]\.chain|pki/$cert.chain|; s|pki/server[12]\.key|pki/$cert.key|" \
        -e "s|pki/trust[12]\.pem|pki/$trust.pem|" -e "s|name = \"uas-[0-9]*\"|name = \"uas-$n\"|" "$CONF"
    case $(($1 % 4)) in
    1)  zone extra tcp "$DEAD" 127.0.0.9
        sed -i 's|^search_rules = ($|search_rules = (\n  { priority = 5; match = "suffix"; pattern = "@extra.test"; target_zone = "extra"; },|' "$CONF" ;;
    3)  rm -f "$T/zones/extra.conf"
        sed -i '/@extra.test/d' "$CONF" ;;
    esac
    if [ "$1" = 3 ]; then
        rm -f "$T/zones/drain.conf"        # the long call is on it
        sed -i '/@drain.test/d' "$CONF"
    fi
    kill -HUP "$SIPEDGED_PID"
    _poll 10 eval "[ \$(log_since_mark | grep -c 'event=\"reload ok\"') -ge $1 ]"
}
fails=0
for i in $(seq 1 20); do
    reload_n "$i" || { fails=$((fails + 1)); diag "reload $i not ok"; }
    sleep 0.3
done
check "20 reloads, each ok" eval "[ $fails = 0 ] && [ \$(log_since_mark | grep -c 'event=\"reload ok\"') = 20 ] &&
    ! log_since_mark | grep -q 'event=\"reload failed\"'"

wait_pid "$LOAD" 70
wait_pid "$LONG" 30
check "200 calls during the reloads: 200 successful, 0 failed" \
    eval "[ \"\$(cat '$T/load.rc')\" = 0 ] && sipp_calls load | grep -qx '200 0'"
check "the call on the removed zone drained: its BYE got through (1 successful)" \
    eval "[ \"\$(cat '$T/long.rc')\" = 0 ] && sipp_calls long | grep -qx '1 0'"
check "... the zone was kept draining, not cut" log_has module=zone 'event="zone draining"' zone=drain
# (Each SIPp run has its own connection through the front, both made
# before the first reload.)
check "the callers' TLS connections lived through every reload (no handshake from them after it)" \
    eval "[ \$(log_since_mark | awk '/event=\"reload ok\"/ { r = 1 } r' | grep 'event=\"handshake ok\"' | grep -c 'peer=127.0.0.3:') = 0 ]"
check "the zone's connection to its UAS too (no new 'peer active')" \
    eval "! log_since_mark | grep 'event=\"peer active\"' | grep -q 'zone=uas '"
sipp_uas_stop main
check "the UAS counted 200 calls, none failed" eval "sipp_calls main | grep -qx '200 0'"
sipp_uas_stop drainer
check "the drained zone's UAS counted its call" eval "sipp_calls drainer | grep -qx '1 0'"
check "the drained zone is gone once its connection is no longer needed (or listed draining)" \
    eval "! ctl_cmd zones | grep -q '^drain tls .* active'"

# After the 20th reload: server2 and trust2 (even reloads) are in use, not
# the server1 it started with.
serial() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }
timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$P/root.pem" \
    -cert "$P/uac.pem" -cert_chain "$P/int.pem" -key "$P/uac.key" </dev/null >"$T/s_client.out" 2>&1
got=$(openssl x509 -noout -serial -in "$T/s_client.out" 2>/dev/null | cut -d= -f2)
[ -n "$got" ] || diag "s_client:" "$(tail -n 20 "$T/s_client.out")"
check "a new handshake gets the certificate of the last reload (server2, not server1)" \
    [ "$got" = "$(serial "$P/server2.pem")" ]
check "sipedged still runs" sipedged_alive
