#!/bin/bash
# backoff.sh: outbound backoff that holds (issue 11 point 5).  Two real
# sipedged: A (127.0.0.1) has a neighbor zone "b" whose peer is B
# (127.0.0.2); B's zone for A expects another name (peer_name
# "not-a.example"), so B's gate refuses A's certificate right after every
# TLS handshake that A sees complete.  Over about 6 s A must not redial at
# once: a bounded number of connections with growing gaps, a bounded
# number of log lines for the zone, the zone alarm raised once (then only
# updated), and `zones` / `zone b` show the peer failed with the reason.
# Then the same for a traversal client (a third sipedged, C) whose server
# (trav_server below, a small TLS server) answers its REGISTER 200 and
# closes the flow at once.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 17

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf a "IP:127.0.0.1" leaf
leaf b "IP:127.0.0.2" leaf

# tls_files FILE CHAIN KEY: point FILE's tls group at these files and the root.
tls_files() {
    sed -i "s|^tls: {\$|tls: {\n  certificate = \"$2\"; private_key = \"$3\"; trust = \"pki/root.pem\";|" "$1"
}

# ---- B: a second sipedged in $B, TLS on 127.0.0.2, refusing A.
B=$T/b
mkdir -p "$B/pki" "$B/zones" "$B/state"
cp "$P/b.chain" "$P/b.key" "$P/root.pem" "$B/pki/"
chmod 600 "$B/pki/b.key"
B_TLS=$(free_port 127.0.0.2)
A_TLS=$(free_port)
B_SIP=$(free_port 127.0.0.2)
save_listeners=("${LISTENERS[@]}")
TLS_PORT=$B_TLS SIP_PORT=$B_SIP TCP_PORT=$B_SIP UDP_PORT=$B_SIP write_config "$B/sipedge.conf"
LISTENERS=("${save_listeners[@]}")
sed -i 's/address = "127.0.0.1"/address = "127.0.0.2"/' "$B/sipedge.conf"
tls_files "$B/sipedge.conf" pki/b.chain pki/b.key
# B's zone for A: A's address, but another name; B dials a closed port.
printf '%s\n' 'type = "neighbor";' 'transport = "tls";' 'peers = [ "127.0.0.1" ];' \
    "port = $(free_port);" 'peer_name = "not-a.example";' >"$B/zones/a.conf"
"$SIPEDGED" -t -c "$B/sipedge.conf" >"$T/b-t.out" 2>&1 || bail_out "B config: $(cat "$T/b-t.out")"
"${_RESET_SIGNALS[@]}" "$SIPEDGED" -f -c "$B/sipedge.conf" >>"$T/b.out" 2>&1 </dev/null &
B_PID=$!
track_pid "$B_PID"
wait_for_text "$B/sipedged.log" 'event="listener open" transport=tls' 10 ||
    bail_out "B did not start: $(tail -n 5 "$B/sipedged.log" "$T/b.out")"

# ---- A: this test's main sipedged, zone b -> B.
TLS_PORT=$A_TLS
write_config
tls_files "$CONF" pki/a.chain pki/a.key
printf '%s\n' 'type = "neighbor";' 'transport = "tls";' 'peers = [ "127.0.0.2" ];' \
    "port = $B_TLS;" 'revocation = false;' >"$T/zones/b.conf"
start_sipedged || bail_out "A did not start"
START=$(date +%s.%N)
sleep 6.5
STOP=$(date +%s.%N)

# Connections A made to B in the window: each one B's gate refused.
refusals=$(grep -c 'event="peer refused"' "$B/sipedged.log")
dials=$(grep -c 'module=zone event="peer active" zone=b\|module=zone event="peer failed" zone=b' "$LOG")
if [ "$refusals" -ge 2 ] && [ "$refusals" -le 6 ]; then
    ok "A dialled B a bounded number of times in 6.5 s ($refusals, B refused each)"
else
    not_ok "A dialled B a bounded number of times in 6.5 s ($refusals, B refused each)" \
        "$(grep 'event="peer refused"' "$B/sipedged.log" | head -n 3)"
fi

# The gaps between A's attempts grow (1, 2, 4 s with +-20% jitter).
mapfile -t ts < <(grep 'event="peer failed" zone=b' "$LOG" | sed -E 's/^ts=[0-9-]+T([0-9]+):([0-9]+):([0-9.]+)Z.*/\1 \2 \3/' |
    awk '{ print $1 * 3600 + $2 * 60 + $3 }')
if [ "${#ts[@]}" -ge 3 ] && awk -v a="${ts[0]}" -v b="${ts[1]}" -v c="${ts[2]}" \
    'BEGIN { exit !((b - a) >= 0.7 && (c - b) >= 1.4 && (c - b) > (b - a)) }'; then
    ok "the gaps between failures grow (${ts[*]:0:3})"
else
    not_ok "the gaps between failures grow" "${ts[*]:0:10}"
fi

# A's log: a bounded number of lines about zone b or its peer.
lines=$(grep -v ' level=debug ' "$LOG" | grep -c 'zone=b\|127\.0\.0\.2\|alarm="zone b"')
if [ "$lines" -le 60 ]; then
    ok "A's log has a bounded number of lines for zone b ($lines)"
else
    not_ok "A's log has a bounded number of lines for zone b ($lines)" "$(grep -c . "$LOG") lines in all"
fi

raised=$(grep -c 'event="alarm raised" alarm="zone b"' "$LOG")
cleared=$(grep -c 'event="alarm cleared" alarm="zone b"' "$LOG")
check "the zone alarm was raised once ($raised) and never cleared ($cleared)" \
    test "$raised" -eq 1 -a "$cleared" -eq 0
check "sipedge-ctl alarms: zone b is down, naming the early close" \
    eval "ctl_cmd alarms | grep -q 'zone b: zone b is down: .*right after the TLS handshake'"

# The peer shows failed with the reason (it is active at most briefly,
# while a new connection is on probation).
check "zones: the peer failed, closed right after the TLS handshake" \
    _poll 5 eval "ctl_cmd zones | grep -E -q '^b tls 127.0.0.2:$B_TLS failed since [^ ]+: .*closed by the peer right after the TLS handshake: it may have refused our certificate'"
check "zone b: the same reason" \
    _poll 5 eval "ctl_cmd 'zone b' | grep -q 'closed by the peer right after the TLS handshake'"
check "A's log: peer failed with the reason" \
    grep -q 'event="peer failed" zone=b .*right after the TLS handshake' "$LOG"
check "A still answers OPTIONS" sipp_options udp 127.0.0.1 "$UDP_PORT"

# B accepts A from now on (reload without the other name): A's next try,
# within its backoff (at most 36 s), stays up; after ZONE_STABLE_SECS (5 s) the zone is up
# and the alarm cleared, once.
log_mark
sed -i '/peer_name/d' "$B/zones/a.conf"
kill -HUP "$B_PID"
check "B reloaded" wait_for_text "$B/sipedged.log" 'event="reload ok"' 10
check "A: zone up once the connection stayed up, alarm cleared" \
    wait_for_event -t 45 module=alarm 'event="alarm cleared"' 'alarm="zone b"'
check "... the peer active, 'zone up' logged once, no new raise" \
    eval "ctl_cmd zones | grep -E -q '^b tls 127.0.0.2:$B_TLS active' &&
          [ \$(grep -c 'event=\"zone up\" zone=b' '$LOG') -eq 1 ] &&
          [ \$(grep -c 'event=\"alarm raised\" alarm=\"zone b\"' '$LOG') -eq 1 ]"
diag "window $START .. $STOP: refusals=$refusals lines=$lines raised=$raised cleared=$cleared dials=$dials"

# ---- C: a traversal client whose server accepts, then drops, every flow.
leaf tsrv "IP:127.0.0.1" leaf
TSRV_PORT=$(free_port)
"$PYTHON" - "$TSRV_PORT" "$P/tsrv.chain" "$P/tsrv.key" >"$T/tsrv.out" 2>&1 <<'PY' &
# A traversal server that answers each REGISTER 200 and closes the flow
# 0.2 s later; prints REGISTERED per flow.  Bounded: 60 s.
import re, socket, ssl, sys, time
port, chain, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
srv.settimeout(1)
print("LISTENING", flush=True)
end = time.time() + 60
while time.time() < end:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    try:
        c.settimeout(5)
        t = ctx.wrap_socket(c, server_side=True)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = t.recv(4096)
            if not d:
                break
            buf += d
        hdrs = [l for l in buf.decode("utf-8", "replace").split("\r\n")
                if re.match(r"(?i)(via|from|to|call-id|cseq):", l)]
        t.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(hdrs) +
                   "\r\nContent-Length: 0\r\n\r\n").encode())
        print("REGISTERED %.3f" % time.time(), flush=True)
        time.sleep(0.2)
        t.close()
    except (OSError, ssl.SSLError) as e:
        print("ERROR %s" % e, flush=True)
        c.close()
PY
track_pid $!
wait_for_text "$T/tsrv.out" LISTENING 10 || bail_out "the traversal server did not start"
C=$T/c
mkdir -p "$C/zones" "$C/state" "$C/pki"
cp "$P/root.pem" "$C/pki/"
(umask 077; echo "secret" >"$C/edge.password")
C_SIP=$(free_port)
TLS_PORT=$(free_port) SIP_PORT=$C_SIP TCP_PORT=$C_SIP UDP_PORT=$C_SIP write_config "$C/sipedge.conf"
sed -i 's|^tls: {$|tls: {\n  trust = "pki/root.pem";|' "$C/sipedge.conf"
printf '%s\n' 'type = "traversal-client";' 'peers = [ "127.0.0.1" ];' "port = $TSRV_PORT;" \
    'username = "inside1";' 'password_file = "../edge.password";' 'revocation = false;' \
    'retry_max = 30;' >"$C/zones/edge.conf"
"$SIPEDGED" -t -c "$C/sipedge.conf" >"$T/c-t.out" 2>&1 || bail_out "C config: $(cat "$T/c-t.out")"
"${_RESET_SIGNALS[@]}" "$SIPEDGED" -f -c "$C/sipedge.conf" >>"$T/c.out" 2>&1 </dev/null &
track_pid $!
sleep 7.5
flows=$(grep -c '^REGISTERED' "$T/tsrv.out")
mapfile -t fts < <(sed -n 's/^REGISTERED //p' "$T/tsrv.out")
if [ "$flows" -ge 2 ] && [ "$flows" -le 5 ]; then
    ok "traversal: the client came back a bounded number of times in 7.5 s ($flows flows)"
else
    not_ok "traversal: the client came back a bounded number of times in 7.5 s ($flows flows)" \
        "$(head -n 5 "$T/tsrv.out")"
fi
if [ "${#fts[@]}" -ge 3 ] && awk -v a="${fts[0]}" -v b="${fts[1]}" -v c="${fts[2]}" \
    'BEGIN { exit !((c - b) >= 1.7 && (c - b) > (b - a)) }'; then
    ok "traversal: the gaps between flows grow (${fts[*]:0:3})"
else
    not_ok "traversal: the gaps between flows grow" "${fts[*]:0:10}"
fi
craised=$(grep -c 'event="alarm raised" alarm="zone edge"' "$C/sipedged.log")
ccleared=$(grep -c 'event="alarm cleared" alarm="zone edge"' "$C/sipedged.log")
check "traversal: the alarm was raised once ($craised) and never cleared ($ccleared)" \
    test "$craised" -eq 1 -a "$ccleared" -eq 0
check "traversal: the log names the early close" \
    grep -q 'event="flow down" zone=edge .*closed the flow right after accepting it' "$C/sipedged.log"
# Polled: an attempt in flight (or one whose close overtook the REGISTER
# answer on a loaded machine) shows its own state for a moment.
check "traversal: zones shows the failure" \
    _poll 8 eval "ctl_cmd zones '$C/sipedged.ctl' | grep -q '^edge traversal-client tls .*closed the flow right after accepting it'"
