#!/bin/bash
# ctl_json.sh: sipedge-ctl --json answers every command with one JSON
# object (parsed by python's json module, fields checked against the
# daemon's real state and the text answers); zone NAME (a failed peer
# with its reason, an unknown zone, no name); crl update (a real fetch
# from a loopback HTTP distribution point, none configured, a bad
# argument); traversal zones; the OCSP hit rate in revocation (before any
# lookup, then after a miss and a cache hit); reload errors as JSON.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 40

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
o ca -batch -config "$P/int.cnf" -gencrl -out "$P/int.crl"
cp "$P/int.crl" "$W/dp.crl"
DEAD_PORT=$(free_port)

write_config
cp "$P/root.pem" "$P/trust.pem"
cat >>"$CONF" <<EOF
revocation: {
  use_ocsp = false;
  allow_cdp_download = false;
  distribution_points = [ "$URL/dp.crl" ];
};
EOF
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    "port = $DEAD_PORT;" 'peers = [ "127.0.0.2" ];' >"$T/zones/partner.conf"
# A traversal-server zone that no client has reached yet.
TRAV_PORT=$(free_port)
printf '%s\n' 'name = "inside";' 'type = "traversal-server";' 'transport = "tls";' \
    "port = $TRAV_PORT;" 'peer_name = "inside1.example";' 'username = "inside1";' \
    >"$T/zones/inside.conf"
: >"$W/.log"
start_sipedged || bail_out "sipedged did not start"

# sctl ARGS...: run sipedge-ctl; OUT, ERR, RC; stdout also in $T/out.
sctl() {
    timeout 30 "$SIPEDGE_CTL" -c "$CONF" "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

# jcheck DESC EXPR: $T/out is one JSON document on one line for which the
# python expression EXPR over d is true.
jcheck() {
    local desc=$1 why
    if why=$("$PYTHON" -c 'import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
if text.count("\n") != 1 or not text.endswith("\n"):
    sys.exit("not one line: %r" % text[:300])
d = json.loads(text)
if not eval(sys.argv[2]):
    sys.exit("false: %s\n%s" % (sys.argv[2], json.dumps(d, indent=1)[:3000]))' "$T/out" "$2" 2>&1); then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC" "$why" "$ERR"
    fi
}

check "the partner's peer fails (nothing listens on its port)" \
    wait_for_event -t 15 module=zone 'event="peer failed"' zone=partner

sctl --json status
jcheck "status --json: exit 0, pid, protocol 3, temporary, every proxy counter" \
    "$RC == 0 and d['ok'] is True and d['pid'] == $SIPEDGED_PID and d['protocol'] == 3 and d['temporary'] is True and all(isinstance(d[k], int) for k in ('uptime', 'connections', 'requests', 'forwarded', 'failovers', 'local_responses', 'pending', 'transactions'))"
jcheck "... alarms is a list holding the temporary certificate" \
    "'temporary certificate in use' in d['alarms']"
sctl status
check "... the same pid and alarms as the text answer" \
    eval "grep -q '^pid: $SIPEDGED_PID$' '$T/out' && grep -q '^alarms: .*temporary certificate in use' '$T/out'"

sctl -j help
jcheck "help -j: every command with name, args and help" \
    "$RC == 0 and {c['name'] for c in d['commands']} >= {'status', 'alarms', 'certs', 'connections', 'zones', 'zone', 'revocation', 'crl', 'reload', 'help'} and [c['args'] for c in d['commands'] if c['name'] == 'zone'] == ['NAME']"

sctl --json alarms
jcheck "alarms --json: objects with key, since, text; zone partner down" \
    "$RC == 0 and any(a['key'] == 'zone partner' and 'down' in a['text'] and a['since'].endswith('Z') for a in d['alarms'])"

sctl --json certs
jcheck "certs --json: the temporary server certificate, its names as a list" \
    "$RC == 0 and d['server']['temporary'] is True and 'DNS:localhost' in d['server']['names'] and d['server']['days_left'] >= 0 and d['server']['expired'] is False"
jcheck "... the trust list with its CAs" \
    "d['trust']['cas'] == len(d['trust']['certificates']) >= 1 and all('subject' in c and 'expired' in c for c in d['trust']['certificates'])"

sctl --json connections
jcheck "connections --json: a list (none open)" "$RC == 0 and d['connections'] == []"

sctl --json zones
jcheck "zones --json: the partner peer failed, with port and reason" \
    "$RC == 0 and len(d['peers']) == 1 and d['peers'][0]['zone'] == 'partner' and d['peers'][0]['port'] == $DEAD_PORT and d['peers'][0]['state'] == 'failed' and d['peers'][0]['reason'] != ''"

sctl zone partner
check "zone partner: the zone line" grep -q "^zone partner type neighbor transport tls peers 1$" "$T/out"
check "... the peer: failed, since, address and reason" \
    grep -q "^  127.0.0.2:$DEAD_PORT failed since 20[0-9-]*T[0-9:]*Z address 127.0.0.2:$DEAD_PORT reason ." "$T/out"
sctl --json zone partner
jcheck "zone partner --json: type, transport, the failed peer with its address" \
    "$RC == 0 and d['zone'] == 'partner' and d['type'] == 'neighbor' and d['transport'] == 'tls' and d['configured_peers'] == 1 and d['peers'][0]['state'] == 'failed' and d['peers'][0]['address'] == '127.0.0.2:$DEAD_PORT' and d['peers'][0]['reason'] != '' and 'zone' not in d['peers'][0]"
sctl --json zones
jcheck "zones --json: the traversal-server zone in traversal, no flow yet" \
    "len(d['traversal']) == 1 and d['traversal'][0]['zone'] == 'inside' and d['traversal'][0]['type'] == 'traversal-server' and d['traversal'][0]['flows'] == 0 and d['traversal'][0]['tls_version'] == ''"
sctl zone inside
check "zone inside (traversal): the zone line and its flow's line" \
    eval "grep -q '^zone inside type traversal-server transport tls peers 0$' '$T/out' && grep -q '^inside traversal-server tls .*flows 0$' '$T/out'"
sctl --json zone inside
jcheck "zone inside --json: no peers, the traversal object" \
    "$RC == 0 and d['type'] == 'traversal-server' and d['peers'] == [] and d['traversal']['zone'] == 'inside' and d['traversal']['flows'] == 0"
sctl --json zone partner
jcheck "zone partner --json: traversal null for a neighbor zone" "d['traversal'] is None"
sctl zone nosuch
if [ "$RC" -eq 1 ] && grep -q "^no zone 'nosuch' in the configuration (zones: inside; partner)$" "$T/err"; then
    ok "zone nosuch: exit 1, the zones there are"
else
    not_ok "zone nosuch: exit 1, the zones there are" "exit $RC" "$OUT" "$ERR"
fi
sctl --json zone nosuch
jcheck "zone nosuch --json: exit 1, ok false and the error on stdout" \
    "$RC == 1 and d['ok'] is False and 'nosuch' in d['error']"
sctl zone
if [ "$RC" -eq 1 ] && grep -q "zone takes one zone name" "$T/err"; then
    ok "zone without a name: exit 1"
else
    not_ok "zone without a name: exit 1" "exit $RC" "$ERR"
fi
sctl zone a b
if [ "$RC" -eq 1 ] && grep -q "zone takes one zone name" "$T/err"; then
    ok "zone with two names: exit 1"
else
    not_ok "zone with two names: exit 1" "exit $RC" "$ERR"
fi

sctl revocation
check "revocation: the OCSP line with hit_rate - before any lookup" \
    grep -q "^ocsp cache 0 hits 0 misses 0 hit_rate -$" "$T/out"
sctl --json revocation
jcheck "revocation --json: counters, ocsp with hit_rate null, the distribution point" \
    "$RC == 0 and set(d['peers']) == {'verified', 'refused', 'held', 'revalidated', 'dropped'} and d['ocsp'] == {'cache': 0, 'hits': 0, 'misses': 0, 'hit_rate': None} and d['distribution_points'][0]['url'] == '$URL/dp.crl' and d['distribution_points'][0]['crls'] == 1 and d['distribution_points'][0]['error'] == ''"

# crl update: the point was fetched once at start; it is fetched again now.
check "the distribution point was fetched at start" \
    wait_for_event -t 10 module=rev 'event="crl updated"' url="$URL/dp.crl"
before=$(grep -c '^GET /dp.crl' "$W/.log")
log_mark
sctl crl update
if [ "$RC" -eq 0 ] && grep -q "^fetching $URL/dp.crl$" "$T/out"; then
    ok "crl update: exit 0, the point it fetches"
else
    not_ok "crl update: exit 0, the point it fetches" "exit $RC" "$OUT" "$ERR"
fi
check "... logged as requested" log_has module=rev 'event="crl update requested"'
check "... and the point is asked again" \
    _poll 10 eval "[ \$(grep -c '^GET /dp.crl' '$W/.log') -gt $before ]"
sctl --json crl update
jcheck "crl update --json: the URLs being fetched" "$RC == 0 and d['fetching'] == ['$URL/dp.crl']"
sctl crl frob
if [ "$RC" -eq 1 ] && grep -q "crl takes one argument: crl update" "$T/err"; then
    ok "crl frob: exit 1"
else
    not_ok "crl frob: exit 1" "exit $RC" "$ERR"
fi

sctl --json frobnicate
jcheck "an unknown command --json: exit 1, ok false, the error" \
    "$RC == 1 and d['ok'] is False and 'frobnicate' in d['error']"
sctl --json status extra
jcheck "arguments to status --json: exit 1, ok false" \
    "$RC == 1 and d['ok'] is False and 'takes no arguments' in d['error']"

sctl --json reload
jcheck "reload --json: exit 0, ok, no errors, the message" \
    "$RC == 0 and d['ok'] is True and d['errors'] == [] and d['message'].startswith('reloaded ')"
n=$(insert_after "$CONF" '^sip: *\{' '  max_mesage_size = 4096;')
# -s: sipedge-ctl itself cannot read the broken file.
timeout 30 "$SIPEDGE_CTL" -s "$T/sipedged.ctl" --json reload >"$T/out" 2>"$T/err"
RC=$?
jcheck "reload --json of a broken file: exit 1, errors with file:line, the error" \
    "$RC == 1 and d['ok'] is False and any('sipedge.conf:$n: ' in e and 'max_mesage_size' in e for e in d['errors']) and 'reload failed' in d['error']"
sed -i "${n}d" "$CONF"

# Without distribution points, crl update has nothing to do.
sed -i "/distribution_points/d" "$CONF"
sctl reload
check "reload without the distribution point" test "$RC" -eq 0
sctl crl update
if [ "$RC" -eq 1 ] && grep -q "no CRL distribution points are configured" "$T/err"; then
    ok "crl update without points: exit 1 and why"
else
    not_ok "crl update without points: exit 1 and why" "exit $RC" "$OUT" "$ERR"
fi

# The OCSP hit rate: two connections with the same certificate, the
# second answered from the cache.
leaf pok "DNS:sip.ocsp.example" leaf
printf '%s\n' 'name = "ocspz";' 'type = "neighbor";' 'transport = "tls";' \
    "port = $DEAD_PORT;" 'peers = [ "127.0.0.4" ];' 'peer_name = "sip.ocsp.example";' \
    >"$T/zones/ocspz.conf"
sed -i 's/use_ocsp = false;/use_ocsp = true;/' "$CONF"
sctl reload
check "reload with OCSP on and a zone at 127.0.0.4" test "$RC" -eq 0
for i in 1 2; do
    sipclient tls "$TLS_PORT" --source 127.0.0.4 --cert "$P/pok.chain" --key "$P/pok.key" \
        send:"$MSG/options.msg" expect:200 >"$T/ocsp-$i.out" 2>&1 ||
        diag "OCSP client $i: $(tail -3 "$T/ocsp-$i.out")"
done
sctl --json revocation
jcheck "revocation --json: OCSP hits and misses, the hit rate they give, the cache" \
    "$RC == 0 and d['ocsp']['hits'] >= 1 and d['ocsp']['misses'] >= 1 and d['ocsp']['cache'] >= 1 and d['ocsp']['hit_rate'] == round(100.0 * d['ocsp']['hits'] / (d['ocsp']['hits'] + d['ocsp']['misses']), 1)"
sctl revocation
check "revocation: the hit rate in percent" grep -Eq '^ocsp cache [1-9][0-9]* hits [1-9][0-9]* misses [1-9][0-9]* hit_rate [0-9]+\.[0-9]%$' "$T/out"

check "SIGTERM: exit status 0" stop_sipedged
sctl --json status
if [ "$RC" -eq 3 ] && [ ! -s "$T/out" ] && grep -q "sipedged is not running (no socket at " "$T/err"; then
    ok "--json with the daemon stopped: exit 3, nothing on stdout"
else
    not_ok "--json with the daemon stopped: exit 3, nothing on stdout" "exit $RC" "$OUT" "$ERR"
fi
