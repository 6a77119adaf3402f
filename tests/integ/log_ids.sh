#!/bin/bash
# log_ids.sh: the ids on log lines.  One call through sipedged (a SIPp
# UAC over TCP, a TCP neighbor zone whose SIPp UAS answers 486, both
# zones with log_messages on): `sipedge-ctl log --call-id` finds the
# call's "message in" and "message out" lines (they carry call_id=), and
# each carries conn= of its connection; the connection events (accepted,
# "conn state" from -> to) carry conn= too, one id per connection.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=sipplib.sh
. "$INTEG_DIR/sipplib.sh"

require_cmd sipp "$PYTHON"
plan 8

UAS_IP=127.0.0.2
UAS_PORT=$(free_port "$UAS_IP")
write_config
cat >>"$CONF" <<EOF
default_zone: { log_messages = true; };
search_rules = (
  { priority = 10; match = "suffix"; pattern = "@busy.test"; target_zone = "busy"; }
);
EOF
printf '%s\n' 'name = "busy";' 'type = "neighbor";' 'transport = "tcp";' \
    "port = $UAS_PORT;" "peers = [ \"$UAS_IP\" ];" 'log_messages = true;' \
    >"$T/zones/busy.conf"
sipp_uas busy "$UAS_IP" "$UAS_PORT" "$UAS_IP:$UAS_PORT" uas_busy.xml ||
    bail_out "sipp UAS did not start"
start_sipedged || bail_out "sipedged did not start"
_poll 15 eval "ctl_cmd zones | grep -q '^busy tcp $UAS_IP:$UAS_PORT active'" ||
    bail_out "zone busy did not come up: $(ctl_cmd zones)"

log_mark
sipp_uac c1 1 "$(sipp_expect_scenario 486)" t1 127.0.0.1 "$TCP_PORT" -s alice -key dom busy.test
check "a call through sipedged: the UAS's 486 reaches the caller" sipp_passed c1 1
CID=$(log_since_mark | sed -n 's/.*event="request forwarded" call_id=\([^ ]*\) .*/\1/p' | head -n 1)
check "... forwarded and logged with its Call-ID ($CID)" test -n "$CID"

# lg ARGS...: sipedge-ctl log ARGS..., output in $T/out.
lg() {
    timeout 30 "$SIPEDGE_CTL" -c "$CONF" log "$@" >"$T/out" 2>"$T/err"
}
lg --call-id "$CID"
n_in=$(grep -c 'event="message in"' "$T/out")
n_out=$(grep -c 'event="message out"' "$T/out")
# In: the INVITE and the ACK from the caller, the 486 from the UAS; out:
# the INVITE and the ACK to the UAS, the 486 to the caller.
if [ "$n_in" -ge 3 ] && [ "$n_out" -ge 3 ]; then
    ok "log --call-id: the call's message in ($n_in) and message out ($n_out) lines"
else
    not_ok "log --call-id: the call's message in and message out lines" \
        "in $n_in, out $n_out" "$(cut -c 1-200 "$T/out")" "$(cat "$T/err")"
fi
check "... each with its Call-ID" \
    eval "! grep -E 'event=\"message (in|out)\"' '$T/out' | grep -v -q -F ' call_id=$CID '"
check "... and the id of the connection it came on or left by" \
    eval "! grep -E 'event=\"message (in|out)\"' '$T/out' | grep -v -q -E ' conn=[0-9]+ '"

# The caller's TCP connection: accepted, its state change, one id.
CALLER=$(log_since_mark | sed -n 's/.*event="connection accepted" peer=\(127\.0\.0\.3:[0-9]*\) .*/\1/p' | head -n 1)
CONN=$(log_since_mark | grep -F 'event="connection accepted"' | grep -F " peer=$CALLER " |
    sed -n 's/.* conn=\([0-9]*\)$/\1/p' | head -n 1)
check "the caller's connection accepted ($CALLER) carries conn= ($CONN)" test -n "$CONN"
check "... its state change logged as conn state - -> open, same conn" \
    log_has 'event="conn state"' "peer=$CALLER" from=- to=open "conn=$CONN"
check "... and the INVITE came in on that connection" \
    eval "grep -F 'event=\"message in\"' '$T/out' | grep -F ' peer=$CALLER ' | grep -q -F ' conn=$CONN '"
