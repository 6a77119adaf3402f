#!/bin/bash
# reload_apply.sh: reload builds aside, then commits or refuses as a whole.
# A reload whose configuration is valid but cannot be applied (dns.servers
# naming the same server twice: the resolver refuses the second one) is
# refused before anything changes: `reload` on the control socket answers
# the error and "reload failed", the log says "reload failed", and the
# previous configuration keeps serving (its listeners, its search rules,
# no "dns servers not applied" after the fact).  A request in flight keeps
# the configuration it started under: while an INVITE waits for its
# answer a reload changes the search rules; status counts one snapshot
# more alive until the INVITE ends (timer C: 408), then as many as before.
# So does a plain TCP connection (no message on it) opened before a
# reload: one snapshot more until it closes.  (Counts are relative: zone
# far's own TCP connection, opened at the start, holds the first snapshot
# for as long as it stays open.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=sipplib.sh
. "$INTEG_DIR/sipplib.sh"

require_cmd sipp "$PYTHON"
plan 17

PEER=$(free_port 127.0.0.2)
FAR_PORT=$(free_port)

# conf RULE_PATTERN [EXTRA]: the test configuration, its one search rule
# for PATTERN to zone "far" (a SIPp UAS over TCP), EXTRA appended.
conf() {
    write_config
    insert_after "$CONF" '^sip: \{' '  t1 = 50;' >/dev/null
    insert_after "$CONF" '^sip: \{' '  timer_c = 10;' >/dev/null
    cat >>"$CONF" <<EOF
search_rules = (
  { priority = 10; match = "suffix"; pattern = "$1"; target_zone = "far"; }
);
${2:-}
EOF
}
mkdir -p "$T/zones"
printf '%s\n' 'name = "far";' 'type = "neighbor";' 'transport = "tcp";' \
    "port = $PEER;" 'peers = [ "127.0.0.2" ];' >"$T/zones/far.conf"
cat >"$T/invite.msg" <<'EOF'
INVITE sip:bob@noanswer.test SIP/2.0
Via: SIP/2.0/@TRANSPORT@ @LHOST@:@LPORT@;branch=@BRANCH@
Max-Forwards: 70
From: <sip:alice@@LHOST@:@LPORT@>;tag=@TAG@
To: <sip:bob@noanswer.test>
Call-ID: @CALLID@
CSeq: @CSEQ@ INVITE
Contact: <sip:alice@@LHOST@:@LPORT@;transport=tcp>
User-Agent: sipedge-integ
Content-Length: 0

EOF

conf "@noanswer.test"
start_sipedged || bail_out "sipedged did not start"
sipp_uas far 127.0.0.2 "$PEER" "127.0.0.1:$TCP_PORT" uas_noanswer.xml ||
    bail_out "the SIPp UAS did not start"

# snapshots_are N: status counts N snapshots alive.
snapshots_are() {
    ctl_cmd status | grep -q -x "snapshots: $1"
}
# snapshots_now: how many status counts.
snapshots_now() {
    ctl_cmd status | sed -n 's/^snapshots: //p'
}
check "status: one snapshot alive at the start" snapshots_are 1

# ---- a valid configuration that cannot be applied: refused as a whole.
conf "@noanswer.test" 'dns: { servers = [ "127.0.0.1:53", "127.0.0.1:53" ]; };'
insert_after "$CONF" '^listen = \(' \
    "$(_listen_entry tcp 127.0.0.1 "$FAR_PORT"),"  >/dev/null
log_mark
ctl_cmd reload >"$T/reload1.out"
if grep -q "^reload failed" "$T/reload1.out" && grep -q "cannot be used" "$T/reload1.out"; then
    ok "reload answers the apply failure and 'reload failed'"
else
    not_ok "reload answers the apply failure and 'reload failed'" "$(cat "$T/reload1.out")"
fi
check "the log says 'reload failed'" \
    wait_for_event -t 5 module=conf 'event="reload failed"'
if log_has 'event="reload ok"' || log_has 'event="dns servers not applied"' ||
    log_has 'event="listener open"'; then
    not_ok "nothing of the refused configuration was applied" "$(log_since_mark)"
else
    ok "nothing of the refused configuration was applied"
fi
check "the new listener of the refused configuration is not open" \
    port_refused 127.0.0.1 "$FAR_PORT"
# Over TCP: a UDP server transaction would keep the snapshot it
# started under for timer J (32 s), past the checks below.
check "the old configuration still answers OPTIONS" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200
check "SIGHUP: the same refusal in the log" eval '
    log_mark; kill -HUP "$SIPEDGED_PID" &&
    wait_for_event -t 5 module=conf "event=\"reload failed\""'

# ---- an INVITE in flight across a reload keeps its snapshot.
conf "@noanswer.test"
ctl_cmd reload | grep -q "^reloaded" || diag "the good configuration did not reload"
base=$(snapshots_now)
sipclient tcp "$TCP_PORT" --timeout 25 send:"$T/invite.msg" expect:100/180 \
    expect:180/100 waitfile:"$T/go":30 expect:408 >"$T/call.out" 2>&1 &
call=$!
track_pid "$call"
check "the INVITE rings through zone far" wait_for_text "$T/call.out" "RECV SIP/2.0 180"
conf "@elsewhere.test"
ctl_cmd reload >"$T/reload2.out"
check "a reload that changes the search rules succeeds" \
    grep -q "^reloaded" "$T/reload2.out"
check "status: one snapshot more ($((base + 1))) while the INVITE is in flight" \
    snapshots_are $((base + 1))
touch "$T/go"
check "the INVITE ends under the rules it started with (408 from timer C)" \
    wait_pid "$call" 30
check "status: as many snapshots as before ($base) once it ended" \
    _poll 10 snapshots_are "$base"

# ---- a plain TCP connection opened before a reload keeps its snapshot.
log_mark
sipclient tcp "$TCP_PORT" waitfile:"$T/go2":30 >"$T/idle.out" 2>&1 &
idle=$!
track_pid "$idle"
check "a TCP connection is open" wait_for_text "$T/idle.out" CONNECTED
check "sipedged has accepted it" \
    wait_for_event -t 5 module=sip 'event="conn state"' to=open
conf "@noanswer.test"
check "a reload while it is open succeeds" \
    eval 'ctl_cmd reload | grep -q "^reloaded"'
check "status: one snapshot more ($((base + 1))) while the TCP connection is open" \
    snapshots_are $((base + 1))
touch "$T/go2"
check "status: as many snapshots as before ($base) once it closed" \
    eval 'wait_pid "$idle" 10; _poll 10 snapshots_are "$base"'

sipp_uas_stop far >/dev/null
stop_sipedged
