#!/bin/bash
# crl_dp.sh: CRLs from configured distribution points, over loopback HTTP:
# fetched at start, kept in the cache, updated on schedule (the test hook
# SIPEDGE_TEST_DP_INTERVAL stands for the daily time) with conditional
# GET; a new CRL disconnects a peer it revokes; a failing point keeps the
# last good CRL; a restart without the network uses the cache; gzip and
# ZIP content is recognised; an https point must present a trusted
# certificate.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl gzip "$PYTHON"
plan 19

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pgood "DNS:sip.partner.example" leaf
leaf plate "DNS:sip.partner.example" leaf
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/int.crl"
cp "$P/int.crl" "$W/dp.crl"

write_config
cp "$P/root.pem" "$P/trust.pem"
cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = false;
  allow_cdp_download = false;
  fallback = "treat-as-revoked";
  distribution_points = [ "$URL/dp.crl" ];
};
EOF
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    >"$T/zones/partner.conf"
# The intermediate has no CRL from a point: give it the root's in the
# trust file, so only the leaves depend on the distribution point.
ca_like rootdb "$P/root.pem" "$P/root.key"
o ca -batch -config "$P/rootdb.cnf" -gencrl -out "$P/root.crl"
cat "$P/root.pem" "$P/root.crl" >"$P/trust.pem"

export SIPEDGE_TEST_DP_INTERVAL=2
: >"$W/.log"
start_sipedged || bail_out "sipedged did not start"
check "at start: the point is fetched ('crl updated')" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="$URL/dp.crl"
check "... and its copy is in the cache (crl-cache/*.crl)" \
    _poll 5 eval "ls '$T'/state/crl-cache/*.crl >/dev/null 2>&1"
check "sipedge-cert crl list shows it as downloaded" \
    eval "timeout 30 '$SIPEDGE_CERT' -c '$CONF' crl list | grep -q downloaded"
check "an unchanged point is asked again with a conditional GET (304)" \
    _poll 10 eval "grep -q '^GET /dp.crl 304' '$W/.log'"

zclient() {
    local name=$1
    shift
    sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/$name.chain" \
        --key "$P/$name.key" "$@"
}
check "a partner the CRL does not list gets 200 (the CRL answered: not a fallback)" \
    zclient pgood send:"$MSG/options.msg" expect:200

# ---- a new CRL from the point disconnects a connected peer it revokes.
zclient plate send:"$MSG/options.msg" expect:200 closed:30 >"$T/late.out" 2>&1 &
late=$!
track_pid "$late"
check "the late partner is connected" wait_for_text "$T/late.out" "RECV SIP/2.0 200"
o ca -batch -config "$P/int.cnf" -revoke "$P/plate.pem" -crl_reason keyCompromise
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/int2.crl"
log_mark
cp "$P/int2.crl" "$W/dp.crl.tmp" && mv "$W/dp.crl.tmp" "$W/dp.crl"
wait_pid "$late" 30
if grep -q "^CLOSED" "$T/late.out"; then
    ok "after the scheduled update, the now revoked partner is disconnected"
else
    not_ok "after the scheduled update, the now revoked partner is disconnected" "$(cat "$T/late.out")"
fi
check "... with 'peers revalidated' naming the update" \
    _poll 5 eval "log_since_mark | grep 'event=\"peers revalidated\"' | grep -q 'CRL update from'"

# ---- a failing point keeps the last good CRL.
mode fail
log_mark
check "a failing point: 'crl update failed', last good CRLs kept" \
    _poll 10 eval "log_since_mark | grep 'event=\"crl update failed\"' | grep -q 'kept=\"last good CRLs\"'"
check "sipedge-ctl alarms: the failing distribution point" \
    eval "timeout 30 '$SIPEDGE_CTL' -c '$CONF' alarms | grep -q 'crl-dp $URL/dp.crl: CRL distribution point .* failing: .*HTTP status 500 (the last good CRLs are still used)'"
zclient plate send:"$MSG/options.msg" expect:closed >"$T/late2.out" 2>&1
grep -q "^RECV" "$T/late2.out" &&
    not_ok "... and the revoked partner is still refused" "$(cat "$T/late2.out")" ||
    ok "... and the revoked partner is still refused"

# ---- restart with the point unreachable: the cache answers.
check "SIGTERM" stop_sipedged
start_sipedged || bail_out "sipedged did not restart"
check "after a restart with the point failing: 'crl loaded from cache'" \
    wait_for_event -t 10 module=rev 'event="crl loaded from cache"'
zclient plate send:"$MSG/options.msg" expect:closed >"$T/late3.out" 2>&1
grep -q "^RECV" "$T/late3.out" &&
    not_ok "... and the revoked partner is refused from the cached CRL" "$(cat "$T/late3.out")" ||
    ok "... and the revoked partner is refused from the cached CRL"
mode ""

# ---- gzip and ZIP content under any name; an https point.
gzip -c "$P/int2.crl" >"$W/gz.crl"
"$PYTHON" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[2], "int.crl")' "$W/zip.crl" "$P/int2.crl"
sed -i "s|distribution_points = .*|distribution_points = [ \"$URL/gz.crl\", \"$URL/zip.crl\" ];|" "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "gzip content is recognised" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="$URL/gz.crl"
check "ZIP content is recognised" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="$URL/zip.crl"
old_cache=$T/state/crl-cache/$(printf '%s' "$URL/dp.crl" | sha256sum | cut -c1-16)
check "the cache of the point no longer configured is removed (.crl and .meta), logged" \
    eval "[ ! -e '$old_cache.crl' ] && [ ! -e '$old_cache.meta' ] &&
          log_has module=rev 'event=\"crl cache removed\"' url=$URL/dp.crl"

# An https point whose certificate nobody trusts: the fetch fails, logged.
leaf https "IP:127.0.0.1" leaf
HTTPS_PORT=$(free_port)
(cd "$W" && exec openssl s_server -accept "127.0.0.1:$HTTPS_PORT" -cert "$P/https.pem" -cert_chain "$P/int.pem" \
    -key "$P/https.key" -WWW -quiet) >"$T/s_server.out" 2>&1 </dev/null &
track_pid $!
sleep 1
sed -i "s|distribution_points = .*|distribution_points = [ \"https://127.0.0.1:$HTTPS_PORT/dp.crl\" ];|" "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "an https point with an untrusted certificate: the update fails, logged" \
    _poll 10 eval "log_since_mark | grep 'event=\"crl update failed\"' | grep -q 'https://127.0.0.1:$HTTPS_PORT'"
# The same point once its CA is trusted for https (revocation.https_ca_file).
cp "$P/int2.crl" "$W/dp.crl"
sed -i "s|^  distribution_points = .*|&\n  https_ca_file = \"pki/root.pem\";|" "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "with https_ca_file naming its CA: the https point is fetched" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="https://127.0.0.1:$HTTPS_PORT/dp.crl"
