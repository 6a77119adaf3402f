#!/bin/bash
# relay.sh: no open relay (issue 11 point 3).  A caller in the default zone
# (127.0.0.3, UDP and TCP) makes a dialog with a UAS in zone "uas" (UDP,
# 127.0.0.2); a UDP "victim" on 127.0.0.9 that nobody routes to counts
# what reaches it.  The Record-Route entries are opaque (one set= token
# each, no zone name or peer index in clear); the dialog's ACK and
# in-dialog requests pass.  Forged Routes get 403 with a Warning and the
# victim receives nothing: a bare <sip:EDGE;lr> on an in-dialog request,
# an old-style sez=, the caller's own entry alone (recombination), the
# pair reversed, the pair under another Call-ID, a token with one byte
# changed, a genuine pair sent from another TCP connection; an ACK that
# matches no transaction is dropped likewise; a CANCEL is never routed.  An out-of-dialog request
# naming sipedged in Route has it removed and the search rules decide.
# The key lives in state/route.key (0600): a dialog survives a restart,
# a rotated key (new one first, old one kept) still verifies old dialogs,
# and once the old key is removed they are refused; a malformed key file
# or one readable by others fails the reload and the running keys stay.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 36

DIALOG="$INTEG_DIR/dialog.py"
UAS_PORT=$(free_port 127.0.0.2)
VICTIM_PORT=$(free_port 127.0.0.9)
VICTIM="sip:victim@127.0.0.9:$VICTIM_PORT"

write_config
printf '%s\n' 'name = "uas";' 'type = "neighbor";' 'transport = "udp";' \
    'peers = [ "127.0.0.2" ];' "port = $UAS_PORT;" >"$T/zones/uas.conf"
cat >>"$CONF" <<'CONF'
search_rules = (
  { priority = 10; match = "suffix"; pattern = "@uas.test"; target_zone = "uas"; }
);
CONF
start_sipedged || bail_out "sipedged did not start"

timeout 300 "$PYTHON" "$DIALOG" uas --addr 127.0.0.2 --port "$UAS_PORT" --out "$T/uas.out" --timeout 280 &
track_pid $!
timeout 300 "$PYTHON" "$DIALOG" listen --addr 127.0.0.9 --port "$VICTIM_PORT" --out "$T/victim.out" --timeout 280 &
track_pid $!
wait_for_text "$T/uas.out" READY || bail_out "the UAS did not start"
wait_for_text "$T/victim.out" READY || bail_out "the victim did not start"

# uac NAME [--transport tcp] STEP...: the caller, its dialog in $T/NAME.json.
uac() {
    local name=$1
    shift
    timeout 60 "$PYTHON" "$DIALOG" client --port "$UDP_PORT" --source 127.0.0.3 \
        --state "$T/$name.json" "$@"
}
# victim_quiet SECS: nothing reached the victim, after waiting SECS more.
victim_quiet() {
    sleep "$1"
    ! grep -q '^GOT' "$T/victim.out"
}
# refused NAME OUT: OUT (a client's output) shows a 403 with a Warning.
refused() {
    grep -q '^RECV SIP/2.0 403' "$2" && grep -q '^HDR Warning: 399 ' "$2"
}
# token_kid RR: the key id (first byte) of the set= token of an RR line.
token_kid() {
    "$PYTHON" -c 'import base64, re, sys
t = re.search(r"set=([A-Za-z0-9_-]+)", sys.argv[1]).group(1)
print(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))[0])' "$1"
}

# ---- a genuine dialog
uac d1 invite,sip:bob@uas.test,200 ack >"$T/d1.out" 2>&1
check "INVITE through sipedged: the UAS answers 200" grep -q '^RECV SIP/2.0 200' "$T/d1.out"
check "... with two Record-Route entries of sipedged's" \
    eval "[ \$(grep -c '^RR <sip:127.0.0.1:$UDP_PORT;' '$T/d1.out') = 2 ]"
check "... each carrying one opaque set= token" \
    eval "[ \$(grep -E -c '^RR <sip:[^>]*;lr;set=[A-Za-z0-9_-]{40,}>$' '$T/d1.out') = 2 ]"
check "... and no zone name, peer index or flow in clear" \
    eval "! grep '^RR ' '$T/d1.out' | grep -E -q 'sez=|sep=|sef=|uas|default'"
check "the ACK reaches the UAS" wait_for_text "$T/uas.out" "REQ ACK sip:uas@127.0.0.2:$UAS_PORT SIP/2.0" 5
log_mark
uac d1 req,MESSAGE,200 >"$T/d1m.out" 2>&1
check "an in-dialog MESSAGE along the route set gets the UAS's 200" grep -q '^RECV SIP/2.0 200' "$T/d1m.out"
check "... sipedged's Route entries were popped" \
    eval "sed -n '/^REQ MESSAGE/,\$p' '$T/uas.out' | sed -n 2p | grep -q '^CALLID '"

# ---- the measured open relay: Route naming sipedged, request-URI the victim
log_mark
uac d1 "req,MESSAGE,403,edge,$VICTIM" >"$T/edge.out" 2>&1
check "in-dialog MESSAGE with Route <sip:EDGE;lr> to the victim: 403 with a Warning" refused edge "$T/edge.out"
check "... logged as route refused, with the reason" \
    wait_for_event -t 5 module=proxy 'event="route refused"' method=MESSAGE
uac d1 "req,MESSAGE,403,sez,$VICTIM" >"$T/sez.out" 2>&1
check "... the same with an old-style forged sez=default: 403" refused sez "$T/sez.out"
uac d1 "oodreq,MESSAGE,404,edge,$VICTIM" >"$T/ood.out" 2>&1
check "out-of-dialog MESSAGE with Route <sip:EDGE;lr>: the entry goes, the search rules say 404" \
    grep -q '^RECV SIP/2.0 404' "$T/ood.out"
uac d1 "oodreq,MESSAGE,404,sez,$VICTIM" >"$T/oodsez.out" 2>&1
check "... and with sez=default: 404 too" grep -q '^RECV SIP/2.0 404' "$T/oodsez.out"

# ---- recombination and tampering, with genuine tokens of dialog d1
uac d1 "req,MESSAGE,403,self,$VICTIM" >"$T/self.out" 2>&1
check "recombination: the caller's own entry alone, URI the victim: 403" refused self "$T/self.out"
uac d1 "req,MESSAGE,403,far,$VICTIM" >"$T/far.out" 2>&1
check "... the entry facing the callee alone: 403" refused far "$T/far.out"
uac d1 "req,MESSAGE,403,reversed,$VICTIM" >"$T/rev.out" 2>&1
check "... the pair reversed (first entry does not face the caller): 403" refused rev "$T/rev.out"
uac d1 "req,MESSAGE,403,dialog,$VICTIM,other-call-id" >"$T/cid.out" 2>&1
check "... the genuine pair under another Call-ID: 403" refused cid "$T/cid.out"
uac d1 "req,MESSAGE,403,tamper" >"$T/tamper.out" 2>&1
check "a token with one byte changed: 403" refused tamper "$T/tamper.out"
log_mark
uac d1 "req,ACK,none,sez,$VICTIM" "req,ACK,none,self,$VICTIM" >"$T/ack.out" 2>&1
check "forged ACKs (no transaction) are dropped with the reason" \
    wait_for_event -t 5 module=proxy 'event="ack dropped"'
uac d1 "req,CANCEL,481,sez,$VICTIM" >"$T/cancel.out" 2>&1
check "a CANCEL with a forged Route is hop by hop: 481, never routed" \
    grep -q '^RECV SIP/2.0 481' "$T/cancel.out"
check "the victim received nothing at all" victim_quiet 2

# ---- TCP: a flow entry must come back on its very connection
timeout 60 "$PYTHON" "$DIALOG" client --transport tcp --port "$TCP_PORT" --source 127.0.0.3 \
    --state "$T/t1.json" invite,sip:carol@uas.test,200 ack req,MESSAGE,200 >"$T/t1.out" 2>&1
check "a TCP caller's dialog works on its connection" \
    eval "[ \$(grep -c '^RECV SIP/2.0 200' '$T/t1.out') = 2 ]"
timeout 60 "$PYTHON" "$DIALOG" client --transport tcp --port "$TCP_PORT" --source 127.0.0.3 \
    --state "$T/t1.json" req,MESSAGE,403 >"$T/t2.out" 2>&1
check "... its genuine route set from another TCP connection: 403" refused t2 "$T/t2.out"

# ---- the key: a file in the state directory that outlives the process
check "the key file state/route.key exists, mode 0600" \
    eval "[ \"\$(stat -c %a '$T/state/route.key')\" = 600 ]"
uac dr invite,sip:frank@uas.test,200 ack >"$T/dr.out" 2>&1 || diag "dialog dr failed: $(cat "$T/dr.out")"
stop_sipedged || diag "sipedged did not stop cleanly"
start_sipedged || bail_out "sipedged did not restart"
uac dr req,BYE,200 >"$T/drbye.out" 2>&1
check "after a restart a dialog's BYE is routed to the UAS (the key persisted)" \
    eval "grep -q '^RECV SIP/2.0 200' '$T/drbye.out' && grep -q '^REQ BYE sip:uas@127.0.0.2:$UAS_PORT ' '$T/uas.out'"
uac d1 req,MESSAGE,200 >"$T/restart.out" 2>&1
check "after a restart the dialog's in-dialog request still reaches the UAS" \
    grep -q '^RECV SIP/2.0 200' "$T/restart.out"
kid1=$(token_kid "$(grep -m1 '^RR ' "$T/d1.out")")
# Rotate: a new key first, the old one kept for the dialogs in flight.
{
    printf '%d %s\n' $(((kid1 + 1) % 256)) "$("$PYTHON" -c 'import os; print(os.urandom(32).hex())')"
    cat "$T/state/route.key"
} >"$T/route.key.new"
chmod 600 "$T/route.key.new"
mv "$T/route.key.new" "$T/state/route.key"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload after prepending a new key" wait_for_event module=conf 'event="reload ok"'
uac d1 req,MESSAGE,200 >"$T/rot.out" 2>&1
check "... a dialog made under the old key still verifies" grep -q '^RECV SIP/2.0 200' "$T/rot.out"
uac d2 invite,sip:dave@uas.test,200 ack >"$T/d2.out" 2>&1
kid2=$(token_kid "$(grep -m1 '^RR ' "$T/d2.out")")
check "... a new dialog's tokens use the new key (id $kid1 -> $kid2)" \
    test "$kid2" = $(((kid1 + 1) % 256))
uac d2 req,MESSAGE,200 >"$T/d2m.out" 2>&1
check "... and its in-dialog request passes" grep -q '^RECV SIP/2.0 200' "$T/d2m.out"
# Retire the old key: the old dialog is refused, the new one passes.
head -n 1 "$T/state/route.key" >"$T/route.key.new"
chmod 600 "$T/route.key.new"
mv "$T/route.key.new" "$T/state/route.key"
log_mark
kill -HUP "$SIPEDGED_PID"
wait_for_event module=conf 'event="reload ok"' || diag "second reload not logged"
uac d1 req,MESSAGE,403 >"$T/old.out" 2>&1
check "with the old key removed, the old dialog's request gets 403" refused old "$T/old.out"
uac d2 req,BYE,200 >"$T/d2b.out" 2>&1
check "... while the new dialog's BYE passes" grep -q '^RECV SIP/2.0 200' "$T/d2b.out"
# A broken key file is a configuration error: the reload fails, the keys stay.
cp "$T/state/route.key" "$T/route.key.good"
printf '%s\n' '# sipedge keys' '7 not-hex' >"$T/state/route.key"
log_mark
kill -HUP "$SIPEDGED_PID"
check "a malformed key file fails the reload, naming its line" \
    eval "wait_for_event module=conf 'event=\"reload failed\"' && log_grep 'route.key:2: '"
"$SIPEDGED" -t -c "$CONF" >"$T/t.out" 2>&1
rc=$?
check "... and sipedged -t reports it (exit 1)" \
    eval "[ $rc = 1 ] && grep -q 'route.key:2: a key is 64 hex digits' '$T/t.out'"
chmod 644 "$T/route.key.good"
cp -p "$T/route.key.good" "$T/state/route.key"
log_mark
kill -HUP "$SIPEDGED_PID"
check "... and so does one readable by others" \
    eval "wait_for_event module=conf 'event=\"reload failed\"' && log_grep 'must not be accessible by group or others'"
uac d3 invite,sip:erin@uas.test,200 ack req,BYE,200 >"$T/d3.out" 2>&1
check "... while the running keys keep serving dialogs" \
    eval "[ \$(grep -c '^RECV SIP/2.0 200' '$T/d3.out') = 2 ]"
check "the victim still received nothing" victim_quiet 1
