#!/bin/bash
# conn_limits.sh: connection limits and deadlines (issue 11 point 4, issue
# 15 point 1).  Per source address (the N+1th connection from 127.0.0.1 is
# closed at once, 127.0.0.2 is still served), in total, TLS handshakes in
# progress (silent clients and a partial ClientHello hold the slots until
# the handshake deadline frees them); a connection fed bare line feeds
# until reading is suspended still meets its idle deadline; a closing
# connection whose client reads nothing is cut at the flush deadline; a
# peer held at the gate by an OCSP responder that never answers is closed
# at the gate deadline; an outbound connect to a zone peer whose SYNs are
# dropped meets the connect deadline; counters in `sipedge-ctl status` and
# --json.  Then file
# descriptors: under `ulimit -n 64` with more clients than descriptors the
# daemon stays idle, logs a bounded number of lines and serves a new
# client once the others leave; with its limit lowered under it (prlimit)
# until accept() fails with EMFILE, it pauses accepting (no busy loop),
# raises an alarm that `sipedge-ctl alarms` shows, and serves again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON" openssl prlimit
plan 44

HOLD="$INTEG_DIR/connhold.py"

# hold NAME ARG...: run connhold.py in the background (output $T/NAME.out,
# stop file $T/NAME.stop); sets HOLD_PID.
hold() {
    local name=$1
    shift
    rm -f "$T/$name.stop"
    timeout 120 "$PYTHON" "$HOLD" --stop-file "$T/$name.stop" "$@" >"$T/$name.out" 2>&1 &
    HOLD_PID=$!
    track_pid "$HOLD_PID"
}

# summary NAME: wait for connhold's SUMMARY line and print "open refused".
summary() {
    _poll 15 grep -q '^SUMMARY' "$T/$1.out" || return 1
    sed -n 's/^SUMMARY open=\([0-9]*\) refused=\([0-9]*\)$/\1 \2/p' "$T/$1.out"
}

# release NAME PID: stop a connhold run and wait for it.
release() {
    touch "$T/$1.stop"
    wait_pid "$2" 10
}

# set_sip KEY VALUE: set KEY in the sip group of $CONF.
set_sip() {
    sed -i -e "/^  $1 = /d" "$CONF"
    insert_after "$CONF" '^sip: \{' "  $1 = $2;" >/dev/null
}

# reload_conf: SIGHUP and wait for the reload.
reload_conf() {
    log_mark
    kill -HUP "$SIPEDGED_PID"
    wait_for_event -t 10 'event="reload ok"'
}

ctl() {
    timeout 20 "$SIPEDGE_CTL" -s "$T/sipedged.ctl" "$@"
}

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

CONF_MAX_MESSAGE_SIZE=1024
CONF_HANDSHAKE_TIMEOUT=10
write_config
set_sip max_connections_per_source 3
set_sip max_connections 1000
set_sip max_handshakes 1000
start_sipedged || bail_out "sipedged did not start"

check "the descriptor limit is logged at start" \
    log_has module=daemon 'event="descriptor limit"'
check "the connection limits are logged at start" \
    log_has 'event="connection limits"' per_source=3 handshakes=1000

# ---- per source: 3 from 127.0.0.1 hold, the 4th is closed at once.
hold a --port "$TCP_PORT" --source 127.0.0.1 --count 3 --probe 1 --hold 60
pa=$HOLD_PID
r=$(summary a)
[ "$r" = "3 0" ] && ok "three connections from 127.0.0.1 are accepted" ||
    not_ok "three connections from 127.0.0.1 are accepted" "$r" "$(cat "$T/a.out")"
log_mark
timeout 20 "$PYTHON" "$HOLD" --port "$TCP_PORT" --source 127.0.0.1 --count 1 --probe 2 >"$T/a4.out" 2>&1
grep -q '^SUMMARY open=0 refused=1' "$T/a4.out" &&
    ok "the fourth from 127.0.0.1 is closed at once" ||
    not_ok "the fourth from 127.0.0.1 is closed at once" "$(cat "$T/a4.out")"
check "a client from 127.0.0.2 still gets 200" \
    sipclient tcp "$TCP_PORT" --source 127.0.0.2 send:"$MSG/options.msg" expect:200
check "the refusal is logged with its reason and source" \
    wait_for_event -t 5 'event="connections refused"' per_source=1 top_source=127.0.0.1
ctl status >"$T/status.out" 2>&1
check "status counts it: refused per_source 1" \
    grep -q '^refused: max_connections 0 per_source 1 ' "$T/status.out"
release a "$pa"

# ---- in total: 4 connections at most, whatever their source.
set_sip max_connections_per_source 1000
set_sip max_connections 4
reload_conf || diag "reload failed: $(log_since_mark)"
hold b1 --port "$TCP_PORT" --source 127.0.0.1 --count 2 --probe 1 --hold 60
pb1=$HOLD_PID
hold b2 --port "$TCP_PORT" --source 127.0.0.2 --count 2 --probe 1 --hold 60
pb2=$HOLD_PID
r="$(summary b1) $(summary b2)"
[ "$r" = "2 0 2 0" ] && ok "four connections from two sources are accepted" ||
    not_ok "four connections from two sources are accepted" "$r"
timeout 20 "$PYTHON" "$HOLD" --port "$TCP_PORT" --source 127.0.0.3 --count 1 --probe 2 >"$T/b5.out" 2>&1
grep -q '^SUMMARY open=0 refused=1' "$T/b5.out" &&
    ok "the fifth, from 127.0.0.3, is closed at once" ||
    not_ok "the fifth, from 127.0.0.3, is closed at once" "$(cat "$T/b5.out")"
ctl status >"$T/status.out" 2>&1
check "status counts it: refused max_connections 1" \
    grep -q '^refused: max_connections 1 ' "$T/status.out"
check "status shows the total in force: limits max_connections 4" \
    grep -q '^limits: max_connections 4 ' "$T/status.out"
release b1 "$pb1"
release b2 "$pb2"

# ---- TLS handshakes in progress: 2 at most, 1 per source (a tenth, at
# least 1); silent clients hold them until the handshake deadline
# (tls.handshake_timeout = 10).
set_sip max_connections 1000
set_sip max_handshakes 2
reload_conf || diag "reload failed: $(log_since_mark)"
hold c1 --port "$TLS_PORT" --count 1 --send none --probe 0.5 --hold 30
pc1=$HOLD_PID
hold c2 --port "$TLS_PORT" --source 127.0.0.2 --count 1 --send hello --probe 0.5 --hold 30
pc2=$HOLD_PID
r="$(summary c1) $(summary c2)"
[ "$r" = "1 0 1 0" ] && ok "a silent client and a partial ClientHello take the two slots" ||
    not_ok "a silent client and a partial ClientHello take the two slots" "$r"
timeout 20 "$PYTHON" "$HOLD" --port "$TLS_PORT" --source 127.0.0.3 --count 1 --probe 1 >"$T/c3.out" 2>&1
grep -q '^SUMMARY open=0 refused=1' "$T/c3.out" &&
    ok "a third TLS client is closed at once" ||
    not_ok "a third TLS client is closed at once" "$(cat "$T/c3.out")"
if _poll 16 eval "grep -q '^CLOSED' '$T/c1.out' && grep -q '^CLOSED' '$T/c2.out'"; then
    s1=$(awk '$1 == "CLOSED" { print $3 }' "$T/c1.out")
    s2=$(awk '$1 == "CLOSED" { print $3 }' "$T/c2.out")
    if between "$s1" 9.5 14 && between "$s2" 9.5 14; then
        ok "both are closed at the handshake deadline (${s1} s, ${s2} s)"
    else
        not_ok "both are closed at the handshake deadline" "$s1 $s2"
    fi
else
    not_ok "both are closed at the handshake deadline" "$(cat "$T/c1.out" "$T/c2.out")"
fi
check "then the slots are free: a TLS client gets 200" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200
wait_pid "$pc1" 5
wait_pid "$pc2" 5
hold c4 --port "$TLS_PORT" --source 127.0.0.1 --count 1 --probe 0.5 --hold 30
pc4=$HOLD_PID
summary c4 >/dev/null
timeout 20 "$PYTHON" "$HOLD" --port "$TLS_PORT" --source 127.0.0.1 --count 1 --probe 1 >"$T/c5.out" 2>&1
grep -q '^SUMMARY open=0 refused=1' "$T/c5.out" &&
    ok "one source holds at most its share: a second silent client from 127.0.0.1 is closed at once" ||
    not_ok "one source holds at most its share: a second silent client from 127.0.0.1 is closed at once" "$(cat "$T/c5.out")"
check "... while a TLS client from 127.0.0.2 gets 200" \
    sipclient tls "$TLS_PORT" --source 127.0.0.2 send:"$MSG/options.msg" expect:200
_poll 16 grep -q '^CLOSED' "$T/c4.out"
wait_pid "$pc4" 5
ctl status >"$T/status.out" 2>&1
check "status: refused handshakes 2" grep -q '^refused: .* handshakes 2 ' "$T/status.out"
check "status: deadlines handshake 3" grep -q '^deadlines: .* handshake 3 ' "$T/status.out"
check "status: handshakes in progress 0" grep -q '^handshakes: 0$' "$T/status.out"
ctl --json status >"$T/status.json" 2>&1
check "status --json has the limits, refusals and deadlines" \
    "$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["refused"]["per_source"] == 1, d
assert d["refused"]["max_connections"] == 1, d
assert d["refused"]["handshakes"] == 2, d
assert d["refused"]["descriptors"] == 0, d
assert d["deadlines"]["handshake"] == 3, d
for k in ("connect", "gate", "partial", "idle", "flush"):
    assert k in d["deadlines"], k
assert d["limits"]["handshakes"] == 2, d
assert d["handshakes"] == 0 and d["accept_paused"] is False, d' "$T/status.json"

# ---- bare line feeds fill the input buffer up to its watermark
# (max_message_size + 4 KB) and reading stops: the connection must still
# be closed (here by the idle deadline, sip.idle_timeout = 10; a framer
# that refuses the line feeds sooner passes too).
sed -i -e 's/idle_timeout = 3600;/idle_timeout = 10;/' "$CONF"
reload_conf || diag "reload failed: $(log_since_mark)"
hold d --port "$TCP_PORT" --count 1 --send lf:30000 --probe 0.5 --hold 25
pd=$HOLD_PID
summary d >/dev/null
if grep -q '^REFUSED 0' "$T/d.out"; then
    # Closed within the probe: the framer's CR/LF budget was quicker.
    ok "a connection stuffed with line feeds is closed (at once)"
elif _poll 20 grep -q '^CLOSED' "$T/d.out"; then
    s=$(awk '$1 == "CLOSED" { print $3 }' "$T/d.out")
    between "$s" 0 14 && ok "a connection stuffed with line feeds is closed (${s} s)" ||
        not_ok "a connection stuffed with line feeds is closed" "$(cat "$T/d.out")"
else
    not_ok "a connection stuffed with line feeds is closed" "$(cat "$T/d.out")"
fi
wait_pid "$pd" 5

# ---- the flush deadline: a client that never reads sends 14,000 OPTIONS
# (some 14 MB of answers queue up), then garbage: the connection closes,
# and what it cannot flush within 5 s is dropped with it.
timeout 60 "$PYTHON" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
m = ("OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-%d\r\n"
     "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:localhost>\r\n"
     "Call-ID: flush-%d-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
# Long Call-IDs (echoed in each 200): far more answers than the kernel
# buffers of both sockets hold, whatever their autotuning.
s.sendall(b"".join((m % (i, i, "x" * 700)).encode() for i in range(14000)))
s.sendall(bytes(range(256)) * 2)
time.sleep(20)' "$TCP_PORT" >/dev/null 2>&1 &
pg=$!
track_pid "$pg"
check "a closing connection whose peer takes nothing is cut at the flush deadline" \
    _poll 30 eval "ctl status | grep -q '^deadlines: .* flush 1\$'"
kill "$pg" 2>/dev/null
stop_sipedged >/dev/null

# ---- the gate deadline: an OCSP responder that never answers in time.
# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf pslow "DNS:sip.partner.example" leaf
cp "$P/root.pem" "$P/trust.pem"
CONF_HANDSHAKE_TIMEOUT=2
write_config
echo 'revocation: { timeout = 3; connect_timeout = 1; use_ocsp = true; allow_cdp_download = true; };' >>"$CONF"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    >"$T/zones/partner.conf"
# A zone peer whose TCP connect never completes: a listener whose backlog
# is full drops further SYNs.
TARPIT=$(free_port 127.0.0.4)
timeout 90 "$PYTHON" -c 'import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.4", int(sys.argv[1])))
l.listen(0)
cs = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.4", int(sys.argv[1])))
    except BlockingIOError:
        pass
    cs.append(c)
open(sys.argv[2], "w").close()
time.sleep(80)' "$TARPIT" "$T/tarpit.ready" >/dev/null 2>&1 &
track_pid $!
_poll 10 test -e "$T/tarpit.ready"
printf '%s\n' 'name = "tarpit";' 'type = "neighbor";' 'transport = "tcp";' \
    'peers = [ "127.0.0.4" ];' "port = $TARPIT;" >"$T/zones/tarpit.conf"
mode "delay 30"
start_sipedged || bail_out "sipedged did not start (gate)"
log_mark
sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/pslow.chain" --key "$P/pslow.key" \
    --timeout 20 send:"$MSG/options.msg" expect:closed >"$T/gate.out" 2>&1
grep -q '^RECV' "$T/gate.out" &&
    not_ok "a peer whose verdict never comes gets no answer" "$(cat "$T/gate.out")" ||
    ok "a peer whose verdict never comes gets no answer"
check "... and is closed at the gate deadline (handshake_timeout + revocation.timeout)" \
    wait_for_event -t 10 module=tls 'event="gate timeout"'
ctl status >"$T/status.out" 2>&1
check "status: deadlines gate 1" grep -q '^deadlines: .* gate 1 ' "$T/status.out"
check "an outbound TCP connect that never completes meets its deadline" \
    wait_for_event -t 10 'event="connect failed"' 'reason="no connection in time"'
ctl status >"$T/status.out" 2>&1
check "status: deadlines connect counted" grep -q '^deadlines: connect [1-9]' "$T/status.out"
mode ""
# The check went with the connection, but its CRL fetch runs on to its own
# timeout (revocation.timeout after the OCSP one); a daemon stopped before
# that leaks the fetch's record (rev_engine_free keeps no list of fetches
# nobody waits for): let it end first.
sleep 4

# ---- the idle deadline while held at the gate with reading suspended: a
# partner sends 200 KB once its handshake is done (read up to the
# watermark, then reading stops) while the verdict is slower than
# sip.idle_timeout = 10 (gate deadline 2 + 12 = 14 s).
sed -i -e 's/timeout = 3; connect_timeout = 1;/timeout = 12; connect_timeout = 1;/' \
    -e 's/idle_timeout = 3600;/idle_timeout = 10;/' "$CONF"
mode "delay 60"
reload_conf || diag "reload failed: $(log_since_mark)"
log_mark
t0=$(cpu_ticks "$SIPEDGED_PID")
s=$(timeout 40 "$PYTHON" -c 'import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30,
                               source_address=("127.0.0.2", 0))
s = ctx.wrap_socket(raw)
t0 = time.monotonic()
s.sendall(b"x" * 200000)
try:
    while s.recv(65536):
        pass
except OSError:
    pass
print("%.1f" % (time.monotonic() - t0))' "$TLS_PORT" "$P/pslow.chain" "$P/pslow.key" 2>&1)
t1=$(cpu_ticks "$SIPEDGED_PID")
between "$s" 9 13 &&
    ok "a held connection whose reading is suspended meets its idle deadline (${s} s)" ||
    not_ok "a held connection whose reading is suspended meets its idle deadline" "$s"
check "... logged as an idle timeout" \
    wait_for_event -t 5 'event="connection closed"' 'reason="idle timeout"'
# Held input is not read, so it cannot keep the loop busy (it did: the
# read callback ran tens of millions of times during the hold).
[ $((t1 - t0)) -le 200 ] && ok "holding it costs the daemon almost no CPU ($((t1 - t0)) ticks in ${s} s)" ||
    not_ok "holding it costs the daemon almost no CPU" "$((t1 - t0)) ticks in ${s} s"
ctl status >"$T/status.out" 2>&1
check "status: deadlines idle 1" grep -q '^deadlines: .* idle 1 ' "$T/status.out"
# Let the OCSP fetch time out (12 s) before stopping: see above.
sleep 3
mode ""
stop_sipedged >/dev/null
rm -f "$T/zones/partner.conf" "$T/zones/tarpit.conf"

# ---- descriptors: the daemon under ulimit -n 64, 150 clients.
printf '#!/bin/sh\nulimit -n 64 || exit 1\nexec "%s" "$@"\n' "$SIPEDGED" >"$T/sipedged64"
chmod +x "$T/sipedged64"
REAL_SIPEDGED=$SIPEDGED
SIPEDGED=$T/sipedged64
write_config
start_sipedged || bail_out "sipedged did not start under ulimit -n 64"
SIPEDGED=$REAL_SIPEDGED
check "the limits follow the descriptors: 64" \
    log_has 'event="connection limits"' descriptors=64
log_mark
hold e --port "$TCP_PORT" --count 150 --probe 2 --hold 60
pe=$HOLD_PID
summary e >/dev/null
t0=$(cpu_ticks "$SIPEDGED_PID")
sleep 3
t1=$(cpu_ticks "$SIPEDGED_PID")
[ $((t1 - t0)) -le 30 ] && ok "with more clients than descriptors the daemon stays idle ($((t1 - t0)) ticks in 3 s)" ||
    not_ok "with more clients than descriptors the daemon stays idle" "$((t1 - t0)) ticks in 3 s"
n=$(log_since_mark | grep -c -e 'event="accept' -e 'event="connections refused"')
[ "$n" -le 10 ] && ok "... and logs a bounded number of lines ($n)" ||
    not_ok "... and logs a bounded number of lines" "$n lines" "$(log_since_mark | tail -n 5)"
ctl status >"$T/status.out" 2>&1
grep -q '^refused: max_connections [1-9]' "$T/status.out" &&
    ok "... refused before the kernel's limit: counted as max_connections" ||
    not_ok "... refused before the kernel's limit: counted as max_connections" "$(cat "$T/status.out")"
release e "$pe"
check "a new client is served after the others leave" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200

# ---- EMFILE itself: the limit lowered under the running daemon.
nfd=$(find "/proc/$SIPEDGED_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
prlimit --pid "$SIPEDGED_PID" --nofile=$((nfd + 2)):64
log_mark
hold f --port "$TCP_PORT" --count 40 --probe 2 --hold 60
pf=$HOLD_PID
summary f >/dev/null
t0=$(cpu_ticks "$SIPEDGED_PID")
sleep 3
t1=$(cpu_ticks "$SIPEDGED_PID")
[ $((t1 - t0)) -le 30 ] && ok "out of descriptors (EMFILE) the daemon does not spin ($((t1 - t0)) ticks in 3 s)" ||
    not_ok "out of descriptors (EMFILE) the daemon does not spin" "$((t1 - t0)) ticks in 3 s"
check "... logs accept paused" wait_for_event -t 5 'event="accept paused"'
n=$(log_since_mark | grep -c -e 'event="accept' -e 'event="connections refused"')
[ "$n" -le 5 ] && ok "... once, not per attempt ($n lines)" ||
    not_ok "... once, not per attempt" "$n lines" "$(log_since_mark | tail -n 5)"
ctl alarms >"$T/alarms.out" 2>&1
check "... and sipedge-ctl alarms shows it" grep -q 'descriptors: out of file descriptors' "$T/alarms.out"
release f "$pf"
prlimit --pid "$SIPEDGED_PID" --nofile=64:64
check "a new client is served once descriptors are free" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200
ctl status >"$T/status.out" 2>&1
grep -q '^refused: .* descriptors [1-9]' "$T/status.out" &&
    ok "status counts the connections shed for lack of descriptors" ||
    not_ok "status counts the connections shed for lack of descriptors" "$(cat "$T/status.out")"
check "the alarm clears after a calm interval" \
    wait_for_event -t 20 'event="alarm cleared"' alarm=descriptors
