#!/bin/bash
# ctl_log.sh: sipedge-ctl log reads the event log of a real daemon (calls
# refused with a known Call-ID, a zone whose peer fails) and filters it:
# each of --event, --call-id, --peer (exact and without the port),
# --module, --zone, --level, --since and --until (ISO and relative), and
# several together, each compared with the lines grep finds in the file;
# --json gives one object per line; -f follows new lines and survives a
# rotation (mv + SIGUSR1); bad filters, -s, and a configuration without
# log.file.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 32

DEAD_PORT=$(free_port)
write_config
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tcp";' \
    "port = $DEAD_PORT;" 'peers = [ "127.0.0.2" ];' >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# call N: an OPTIONS with Max-Forwards 0 for a foreign domain and the
# Call-ID trace-N@sipedge.test, from 127.0.0.3: refused with 483.
call() {
    sed -e "s/^Call-ID: .*/Call-ID: trace-$1@sipedge.test/" -e '/^Proxy-Require:/d' \
        "$MSG/options-foreign-max-forwards-0.msg" >"$T/call-$1.msg"
    sipclient udp "$UDP_PORT" --source 127.0.0.3 send:"$T/call-$1.msg" expect:483 \
        >"$T/call-$1.out" 2>&1
}

# lg ARGS...: sipedge-ctl -c CONF log ARGS...; RC, ERR; output in $T/out.
lg() {
    timeout 30 "$SIPEDGE_CTL" -c "$CONF" log "$@" >"$T/out" 2>"$T/err"
    RC=$?
    ERR=$(cat "$T/err")
}

# same DESC ARGS... -- GREP-ARGS...: log ARGS prints exactly the lines
# that grep GREP-ARGS finds in the log file, at least one, exit 0.
same() {
    local desc=$1 a=() want
    shift
    while [ "$1" != "--" ]; do
        a+=("$1")
        shift
    done
    shift
    lg "${a[@]}"
    want=$(grep "$@" "$LOG")
    if [ "$RC" -eq 0 ] && [ -n "$want" ] && [ "$(cat "$T/out")" = "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC" "got:" "$(head -5 "$T/out")" "wanted:" "$(head -5 <<<"$want")" "$ERR"
    fi
}

check "the partner's peer fails" wait_for_event -t 15 module=zone 'event="peer failed"' zone=partner
check "call 1 is refused with 483" call 1
sleep 1.1    # the calls' lines get distinct timestamps
check "call 2 is refused with 483" call 2
check "both refusals are logged, with the whole Call-ID" \
    wait_for_event 'event="request refused"' call_id=trace-2@sipedge.test

same "--event 'request refused': both refusals, unchanged" \
    --event "request refused" -- -F 'event="request refused"'
same "--call-id: every line of call 1 and no other" \
    --call-id trace-1@sipedge.test -- -E ' call_id=trace-1@sipedge[.]test( |$)'
same "--call-id LOCAL (without @host) finds the same lines" \
    --call-id trace-1 -- -E ' call_id=trace-1@sipedge[.]test( |$)'
lg --call-id trace-1 --call-id trace-2
if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ]; then ok "two different --call-id: nothing (AND)"; else not_ok "two different --call-id: nothing (AND)" "exit $RC" "$(head -3 "$T/out")"; fi
same "--event and --call-id together (AND): the one refusal of call 2" \
    --event "request refused" --call-id trace-2@sipedge.test -- -E 'event="request refused".* call_id=trace-2@sipedge[.]test( |$)'
PEER=$(grep -o -m 1 ' peer=127\.0\.0\.3:[0-9]*' "$LOG" | cut -d= -f2)
same "--peer ADDRESS:PORT: that peer's lines exactly" \
    --peer "$PEER" -- -E " peer=$PEER( |\$)"
same "--peer ADDRESS: that address with any port" \
    --peer 127.0.0.3 -- -E ' peer=127\.0\.0\.3:[0-9]+( |$)'
same "--module zone" --module zone -- -F ' module=zone '
same "--zone partner: the zone's lines (not from_zone)" \
    --zone partner -- -E ' zone=partner( |$)'
same "--level warn: warn and error lines only" \
    --level warn -- -E '^ts=[^ ]* level=(warn|error) '
same "--level warn --zone partner --module zone" \
    --level warn --zone partner --module zone -- -E '^ts=[^ ]* level=(warn|error) module=zone .* zone=partner( |$)'

TS1=$(grep -E 'call_id=trace-1@sipedge[.]test( |$)' "$LOG" | grep -F 'event="request refused"' | sed 's/^ts=\([^ ]*\) .*/\1/')
TS2=$(grep -E 'call_id=trace-2@sipedge[.]test( |$)' "$LOG" | grep -F 'event="request refused"' | sed 's/^ts=\([^ ]*\) .*/\1/')
same "--since the second refusal's time: only call 2" \
    --event "request refused" --since "$TS2" -- -E 'event="request refused".* call_id=trace-2@sipedge[.]test( |$)'
same "--until the first refusal's time: only call 1" \
    --event "request refused" --until "$TS1" -- -E 'event="request refused".* call_id=trace-1@sipedge[.]test( |$)'
same "--since 1h (relative): both" \
    --event "request refused" --since 1h -- -F 'event="request refused"'
lg --until 1h
if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ]; then ok "--until 1h: nothing, exit 0"; else not_ok "--until 1h: nothing, exit 0" "exit $RC" "$(head -3 "$T/out")"; fi

timeout 30 "$SIPEDGE_CTL" -c "$CONF" --json log --event "request refused" >"$T/out" 2>"$T/err"
RC=$?
if why=$("$PYTHON" -c 'import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
objs = [json.loads(l) for l in lines]
assert len(objs) == 2, objs
assert [o["call_id"] for o in objs] == ["trace-1@sipedge.test", "trace-2@sipedge.test"], objs
assert all(o["event"] == "request refused" and o["module"] == "proxy" and o["status"] == "483" and o["ts"].endswith("Z") for o in objs), objs' "$T/out" 2>&1) && [ "$RC" -eq 0 ]; then
    ok "--json: one object per line, the fields unquoted"
else
    not_ok "--json: one object per line, the fields unquoted" "exit $RC" "$why"
fi
lg --json --level error --module nosuch
if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ]; then ok "log --json after the command, no match: nothing, exit 0"; else not_ok "log --json, no match" "exit $RC"; fi

lg --since yesterday
if [ "$RC" -eq 2 ] && grep -q "log --since takes an ISO 8601 UTC time" <<<"$ERR"; then ok "--since yesterday: exit 2 and why"; else not_ok "--since yesterday: exit 2" "exit $RC" "$ERR"; fi
lg --level loud
if [ "$RC" -eq 2 ] && grep -q "log --level takes debug, info, notice, warn or error, not 'loud'" <<<"$ERR"; then ok "--level loud: exit 2 and why"; else not_ok "--level loud: exit 2" "exit $RC" "$ERR"; fi
lg extra
if [ "$RC" -eq 2 ] && grep -q "log takes options only, not 'extra'" <<<"$ERR"; then ok "an argument: exit 2"; else not_ok "an argument: exit 2" "exit $RC" "$ERR"; fi
timeout 30 "$SIPEDGE_CTL" -s "$T/sipedged.ctl" log >/dev/null 2>"$T/err"
RC=$?
if [ "$RC" -eq 2 ] && grep -q "give -c FILE, not -s SOCKET" "$T/err"; then ok "log with -s: exit 2"; else not_ok "log with -s: exit 2" "exit $RC" "$(cat "$T/err")"; fi
grep -v 'file = "sipedged.log";' "$CONF" >"$T/nolog.conf"
timeout 30 "$SIPEDGE_CTL" -c "$T/nolog.conf" log >/dev/null 2>"$T/err"
RC=$?
if [ "$RC" -eq 1 ] && grep -q "the configuration $T/nolog.conf has no log.file" "$T/err"; then
    ok "a configuration without log.file: exit 1 and why"
else
    not_ok "a configuration without log.file: exit 1 and why" "exit $RC" "$(cat "$T/err")"
fi
# An error elsewhere in the file (being edited): log still finds log.file.
sed 's/^sip: *{/&\n  max_mesage_size = 4096;/' "$CONF" >"$T/broken.conf"
timeout 30 "$SIPEDGE_CTL" -c "$T/broken.conf" log --event "request refused" >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 0 ] && [ "$(grep -c 'event="request refused"' "$T/out")" -eq 2 ] &&
    grep -qF "warning: $T/broken.conf has errors ($T/broken.conf:" "$T/err" &&
    grep -qF "; using log file $LOG" "$T/err"; then
    ok "a configuration with an error: a warning, the log is read"
else
    not_ok "a configuration with an error: a warning, the log is read" "exit $RC" "$(cat "$T/err")"
fi

# -f: the lines there, then new ones, across a rotation.
timeout 60 "$SIPEDGE_CTL" -c "$CONF" log -f --event "request refused" >"$T/follow.out" 2>&1 &
FOLLOW=$!
track_pid "$FOLLOW"
check "-f: prints the lines already there" \
    _poll 10 eval "[ \$(grep -c 'event=\"request refused\"' '$T/follow.out') -eq 2 ]"
call 3
check "-f: a new refusal shows as it is logged" \
    _poll 10 grep -q 'call_id=trace-3@sipedge.test ' "$T/follow.out"
mv "$LOG" "$LOG.1"
kill -USR1 "$SIPEDGED_PID"
_poll 10 test -s "$LOG" || diag "sipedged did not reopen its log"
call 4
check "-f: after rotation (mv, SIGUSR1) the new file is followed" \
    _poll 10 grep -q 'call_id=trace-4@sipedge.test ' "$T/follow.out"
want=$(cat "$LOG.1" "$LOG" | grep -F 'event="request refused"')
check "-f: exactly the matching lines, unchanged, in order" \
    test "$(cat "$T/follow.out")" = "$want"
kill -TERM "$FOLLOW"
wait_pid "$FOLLOW" 5
check "-f stops when told (SIGTERM: status 143)" test $? -eq 143
