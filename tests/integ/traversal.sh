#!/bin/bash
# traversal.sh: a traversal pair, two sipedged on loopback.  The edge has a
# traversal-server zone "inside" on its own TLS port; the inside node has a
# traversal-client zone "edge" that connects out, proves its certificate
# name (inside1.example.com) and authenticates with SIP digest.  Requests
# pass both ways over that one flow; the status shows it; killing and
# restarting the edge makes the inside reconnect within its backoff; with
# no client the edge answers 503; a wrong password, a certificate with the
# wrong name and a revoked one are refused with reasons in the status and
# the log.  The SIP ends are small UDP servers on 127.0.0.5 and 127.0.0.6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 30

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf edge "IP:127.0.0.1,DNS:edge.example" leaf
leaf inside "DNS:inside1.example.com" leaf
leaf wrongname "DNS:inside2.example.com" leaf
leaf revoked "DNS:inside1.example.com" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/revoked.pem" -crl_reason keyCompromise

TRAV_PORT=$(free_port)
PSTN_PORT=$(free_port)
LAN_PORT=$(free_port)
REALM=edge.example

# tls_files FILE CHAIN KEY: point FILE's tls group at these files and the root.
tls_files() {
    sed -i "s|^tls: {\$|tls: {\n  certificate = \"$2\"; private_key = \"$3\"; trust = \"pki/root.pem\";|" "$1"
}

# ---- the edge: this test's main sipedged ($T).
write_config
tls_files "$CONF" pki/edge.chain pki/edge.key
sed -i 's/^  idle_timeout = 3600;/  idle_timeout = 10;/' "$CONF"
printf '%s\n' "auth: { realm = \"$REALM\"; };" 'search_rules = (' \
    '  { priority = 10; match = "suffix"; pattern = "@inside.example"; target_zone = "inside"; },' \
    '  { priority = 20; match = "suffix"; pattern = "@pstn.example"; source_zone = "inside"; target_zone = "pstn"; }' \
    ');' >>"$CONF"
printf '%s\n' 'type = "traversal-server";' "port = $TRAV_PORT;" \
    'peer_name = "inside1.example.com";' 'username = "inside1";' >"$T/zones/inside.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "udp";' 'peers = [ "127.0.0.5" ];' \
    "port = $PSTN_PORT;" >"$T/zones/pstn.conf"
# The credential, as an operator adds it: HA1 hashes only, mode 0600.
check "sipedge-cert credential add writes the edge's credentials" \
    eval "echo 'good secret' | '$SIPEDGE_CERT' -c '$CONF' credential add inside1 >'$T/cred.out' 2>&1"
check "... MD5 and SHA-256 HA1 of user:realm:password, no password, mode 0600" \
    eval "grep -qx \"inside1 $REALM MD5 \$(printf 'inside1:$REALM:good secret' | md5sum | cut -d' ' -f1)\" '$T/credentials' &&
          grep -qx \"inside1 $REALM SHA-256 \$(printf 'inside1:$REALM:good secret' | sha256sum | cut -d' ' -f1)\" '$T/credentials' &&
          ! grep -q 'good secret' '$T/credentials' && [ \$(stat -c %a '$T/credentials') = 600 ]"
LISTENERS+=("tls 127.0.0.1 $TRAV_PORT")
start_sipedged || bail_out "the edge sipedged did not start"
EDGE_SIP=$UDP_PORT

# ---- the inside node: a second sipedged in $I.
I=$T/inside
mkdir -p "$I/pki" "$I/zones" "$I/state"
cp "$P/inside.chain" "$P/inside.key" "$P/root.pem" "$I/pki/"
chmod 600 "$I/pki/inside.key"
(umask 077; echo "good secret" >"$I/edge.password")
save=("$TLS_PORT" "$SIP_PORT" "$TCP_PORT" "$UDP_PORT" "${LISTENERS[@]}")
TLS_PORT=$(free_port) SIP_PORT=$(free_port)
TCP_PORT=$SIP_PORT UDP_PORT=$SIP_PORT
write_config "$I/sipedge.conf"
INSIDE_SIP=$UDP_PORT
TLS_PORT=${save[0]} SIP_PORT=${save[1]} TCP_PORT=${save[2]} UDP_PORT=${save[3]}
LISTENERS=("${save[@]:4}")
tls_files "$I/sipedge.conf" pki/inside.chain pki/inside.key
sed -i 's/^  idle_timeout = 3600;/  idle_timeout = 10;/' "$I/sipedge.conf"
printf '%s\n' 'search_rules = (' \
    '  { priority = 10; match = "suffix"; pattern = "@pstn.example"; target_zone = "edge"; },' \
    '  { priority = 20; match = "suffix"; pattern = "@inside.example"; source_zone = "edge"; target_zone = "lan"; }' \
    ');' >>"$I/sipedge.conf"
printf '%s\n' 'type = "traversal-client";' 'peers = [ "127.0.0.1" ];' "port = $TRAV_PORT;" \
    'username = "inside1";' 'password_file = "../edge.password";' \
    'keepalive_interval = 1;' 'pong_timeout = 2;' 'retry_max = 2;' >"$I/zones/edge.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "udp";' 'peers = [ "127.0.0.6" ];' \
    "port = $LAN_PORT;" >"$I/zones/lan.conf"
"$SIPEDGED" -t -c "$I/sipedge.conf" >"$T/inside-t.out" 2>&1 ||
    bail_out "inside config: $(cat "$T/inside-t.out")"

# start_inside: start the inside node (again), with a fresh log.
start_inside() {
    [ -f "$I/sipedged.log" ] && cat "$I/sipedged.log" >>"$T/inside-all.log"
    : >"$I/sipedged.log"
    "${_RESET_SIGNALS[@]}" "$SIPEDGED" -f -c "$I/sipedge.conf" >>"$T/inside.out" 2>&1 </dev/null &
    INSIDE_PID=$!
    track_pid "$INSIDE_PID"
}
stop_inside() {
    kill "$INSIDE_PID" 2>/dev/null
    wait_pid "$INSIDE_PID" 10
}
# ictl COMMAND: the inside node's control socket.
ictl() {
    timeout 15 "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("utf-8", "replace"))' "$I/sipedged.ctl" "$1" 2>/dev/null
}
ilog() { grep -F -q -e "$1" "$I/sipedged.log" 2>/dev/null; }
# uas IP PORT OUT: a UDP server answering one request 200; the request's
# header goes to OUT.
uas() {
    timeout 30 "$PYTHON" - "$@" <<'PY' &
import socket, sys
ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
s.settimeout(25)
data, peer = s.recvfrom(65535)
head = data.split(b"\r\n\r\n", 1)[0].decode()
with open(out, "w") as f:
    f.write(head + "\n")
keep = [l for l in head.split("\r\n")[1:]
        if l.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
keep = [l + ";tag=uas1" if l.lower().startswith("to:") and "tag=" not in l else l for l in keep]
s.sendto(("SIP/2.0 200 OK\r\n%s\r\nContent-Length: 0\r\n\r\n" % "\r\n".join(keep)).encode(), peer)
PY
    UAS_PID=$!
    track_pid "$UAS_PID"
}

start_inside
check "inside: the flow to the edge comes up" \
    _poll 15 eval "ictl zones | grep -q '^edge traversal-client tls 127.0.0.1:$TRAV_PORT connected since [^ ]*: TLSv1.[23] '"
check "inside: 'flow up' logged with the TLS version and cipher" ilog 'event="flow up" zone=edge'
check "edge: zone inside shows the connected client" \
    _poll 5 eval "ctl_cmd zones | grep -q '^inside traversal-server tls 127.0.0.1:[0-9]* connected since [^ ]*: TLSv1.[23] .*, flows 1'"
check "edge: the client certificate was verified as inside1.example.com" \
    log_has module=tls 'event="peer verified"' zone=inside

# ---- requests both ways over the flow.
sed 's/partner.example/inside.example/g' "$MSG/options-partner.msg" >"$T/to-inside.msg"
sed 's/partner.example/pstn.example/g' "$MSG/options-partner.msg" >"$T/to-pstn.msg"
uas 127.0.0.6 "$LAN_PORT" "$T/lan.req"
sipclient udp "$EDGE_SIP" --source 127.0.0.3 --timeout 10 send:"$T/to-inside.msg" expect:200 >"$T/in.out" 2>&1
check "edge -> inside: a request for bob@inside.example gets the LAN's 200" grep -q "^RECV SIP/2.0 200" "$T/in.out"
wait_pid "$UAS_PID" 10
check "... it reached the LAN through both sipedged (three Vias)" \
    eval "[ \$(grep -c '^Via: SIP/2.0/' '$T/lan.req') -eq 3 ]"
check "... the inside took it from zone edge (source_zone rule)" \
    ilog 'event="request forwarded"'

uas 127.0.0.5 "$PSTN_PORT" "$T/pstn.req"
sipclient udp "$INSIDE_SIP" --source 127.0.0.4 --timeout 10 send:"$T/to-pstn.msg" expect:200 >"$T/out.out" 2>&1
check "inside -> edge: a request for bob@pstn.example gets the PSTN's 200" grep -q "^RECV SIP/2.0 200" "$T/out.out"
wait_pid "$UAS_PID" 10
check "... the edge took it from zone inside (source_zone rule)" \
    log_has module=proxy 'event="request forwarded"' from_zone=inside zone=pstn

# ---- idle: both sides close connections idle for 10 s (sip.idle_timeout);
# the keepalive (every second here) keeps the flow, as it would for ten
# minutes with the defaults.
flows_before=$(ctl_cmd zones | sed -n 's/^inside traversal-server .*flows \([0-9]*\)$/\1/p')
sleep 13
check "after 13 s without a request the flow is still the same one (keepalive)" \
    eval "ctl_cmd zones | grep -q '^inside traversal-server tls .* connected since .*flows $flows_before\$' &&
          ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects 0\$'"
uas 127.0.0.6 "$LAN_PORT" "$T/lan-idle.req"
sipclient udp "$EDGE_SIP" --source 127.0.0.3 --timeout 10 send:"$T/to-inside.msg" expect:200 >"$T/idle.out" 2>&1
check "... and carries a request" grep -q "^RECV SIP/2.0 200" "$T/idle.out"
wait_pid "$UAS_PID" 10

# ---- the edge goes away and comes back: the inside reconnects.
stop_sipedged || diag "edge stop status $?"
check "inside: the flow is down once the edge is gone" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client tls .* \\(waiting\\|connecting\\|authenticating\\) since '"
check "... and says why" ilog 'event="flow down" zone=edge'
start_sipedged || bail_out "the edge did not restart"
check "inside: the flow is back within the backoff (retry_max 2 s)" \
    _poll 15 eval "ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects [1-9]'"
uas 127.0.0.6 "$LAN_PORT" "$T/lan2.req"
sipclient udp "$EDGE_SIP" --source 127.0.0.3 --timeout 10 send:"$T/to-inside.msg" expect:200 >"$T/in2.out" 2>&1
check "edge -> inside works again after the restart" grep -q "^RECV SIP/2.0 200" "$T/in2.out"
wait_pid "$UAS_PID" 10

# ---- no client: requests for zone inside get 503 saying so.
stop_inside
check "edge: zone inside waits for a client, saying the connection closed" \
    _poll 10 eval "ctl_cmd zones | grep -q '^inside traversal-server tls .* waiting since [^ ]*: .*closed'"
sipclient udp "$EDGE_SIP" --source 127.0.0.3 --show Warning send:"$T/to-inside.msg" expect:503 >"$T/nocl.out" 2>&1
check "a request for the zone without a client gets 503" grep -q "^RECV SIP/2.0 503" "$T/nocl.out"
check "... with a Warning that no traversal client is connected" \
    grep -q "^HDR Warning: .*no traversal client is connected" "$T/nocl.out"

# ---- a wrong password.
(umask 077; echo "wrong secret" >"$I/edge.password")
log_mark
start_inside
check "wrong password: the inside's zone shows why" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client .*authentication failed: wrong username or password (the server answered 403)'"
check "... the edge logged the refusal" \
    wait_for_event -t 5 module=trav 'event="client refused"' zone=inside 'reason="wrong username or password"'
check "... and has no flow" eval "ctl_cmd zones | grep -q '^inside traversal-server tls .* waiting'"
stop_inside
(umask 077; echo "good secret" >"$I/edge.password")

# ---- a certificate with the wrong name, then a revoked one.
cp "$P/wrongname.chain" "$I/pki/inside.chain"
cp "$P/wrongname.key" "$I/pki/inside.key"
log_mark
start_inside
check "wrong certificate name: the edge refuses it" \
    wait_for_event -t 10 module=tls 'event="peer refused"' zone=inside
check "... naming inside1.example.com, the zone's subject name" log_grep 'no identity matches \"inside1.example.com\"'
check "... the edge's zone status shows the refused client and why" \
    eval "ctl_cmd zones | grep -q '^inside traversal-server .*: client 127.0.0.1:[0-9]* refused: no identity matches'"
check "... and the inside's zone says the server closed it after the handshake" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client .*the server closed it after the TLS handshake'"
stop_inside
cp "$P/revoked.chain" "$I/pki/inside.chain"
cp "$P/revoked.key" "$I/pki/inside.key"
log_mark
start_inside
check "revoked certificate: the edge refuses it as revoked" \
    wait_for_event -t 10 module=tls 'event="peer refused"' zone=inside
check "... revoked according to OCSP or a CRL" log_grep 'revoked'
stop_inside

check "the edge still runs" sipedged_alive
