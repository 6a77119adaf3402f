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
plan 45

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
# shellcheck source=sipplib.sh
. "$INTEG_DIR/sipplib.sh"
require_cmd sipp
pki_setup
leaf edge "IP:127.0.0.1,DNS:edge.example" leaf
leaf inside "DNS:inside1.example.com" leaf
leaf wrongname "DNS:inside2.example.com" leaf
leaf revoked "DNS:inside1.example.com" leaf
o ca -batch -config "$P/int.cnf" -revoke "$P/revoked.pem" -crl_reason keyCompromise

TRAV_PORT=$(free_port)
PSTN_PORT=$(free_port)
LAN_PORT=$(free_port)
PSTN_SIPP=$(free_port 127.0.0.5)
LAN_SIPP=$(free_port 127.0.0.6)
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
    '  { priority = 5; match = "suffix"; pattern = "@sipp.inside"; target_zone = "inside"; },' \
    '  { priority = 6; match = "suffix"; pattern = "@sipp.pstn"; source_zone = "inside"; target_zone = "pstnsipp"; },' \
    '  { priority = 10; match = "suffix"; pattern = "@inside.example"; target_zone = "inside"; },' \
    '  { priority = 20; match = "suffix"; pattern = "@pstn.example"; source_zone = "inside"; target_zone = "pstn"; }' \
    ');' >>"$CONF"
printf '%s\n' 'type = "traversal-server";' "port = $TRAV_PORT;" \
    'peer_name = "inside1.example.com";' 'username = "inside1";' >"$T/zones/inside.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "udp";' 'peers = [ "127.0.0.5" ];' \
    "port = $PSTN_PORT;" >"$T/zones/pstn.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "127.0.0.5" ];' \
    "port = $PSTN_SIPP;" >"$T/zones/pstnsipp.conf"
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
    '  { priority = 5; match = "suffix"; pattern = "@sipp.pstn"; target_zone = "edge"; },' \
    '  { priority = 6; match = "suffix"; pattern = "@sipp.inside"; source_zone = "edge"; target_zone = "lansipp"; },' \
    '  { priority = 10; match = "suffix"; pattern = "@pstn.example"; target_zone = "edge"; },' \
    '  { priority = 20; match = "suffix"; pattern = "@inside.example"; source_zone = "edge"; target_zone = "lan"; }' \
    ');' >>"$I/sipedge.conf"
# Two server addresses: nothing listens on the first.
printf '%s\n' 'type = "traversal-client";' 'peers = [ "127.0.0.9", "127.0.0.1" ];' "port = $TRAV_PORT;" \
    'username = "inside1";' 'password_file = "../edge.password";' \
    'keepalive_interval = 1;' 'pong_timeout = 2;' 'retry_max = 2;' >"$I/zones/edge.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "udp";' 'peers = [ "127.0.0.6" ];' \
    "port = $LAN_PORT;" >"$I/zones/lan.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "127.0.0.6" ];' \
    "port = $LAN_SIPP;" >"$I/zones/lansipp.conf"
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
ictl() { ctl_cmd "$1" "$I/sipedged.ctl" 2>/dev/null; }
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
check "inside: the first server address failed and the second took over" \
    ilog 'event="connect failed" zone=edge peer=127.0.0.9 reason="connect failed: Connection refused'
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

# ---- SIPp calls both ways over the flow (UDP callers, TCP callees).
sipp_uas lan 127.0.0.6 "$LAN_SIPP" "127.0.0.6:$LAN_SIPP" uas.xml ||
    bail_out "the LAN SIPp UAS did not start"
sipp_uas pstn 127.0.0.5 "$PSTN_SIPP" "127.0.0.5:$PSTN_SIPP" uas.xml ||
    bail_out "the PSTN SIPp UAS did not start"
# zone peers connect: wait for both TCP zones to be up
_poll 10 eval "ctl_cmd zones | grep -q '^pstnsipp tcp .* active' && ictl zones | grep -q '^lansipp tcp .* active'" ||
    diag "the SIPp zones are not up"
UAC_IP=127.0.0.3
sipp_uac inbound 5 uac.xml u1 127.0.0.1 "$EDGE_SIP" -s alice -key dom sipp.inside
check "5 calls from outside to inside through the edge and the flow, 0 failed" sipp_passed inbound 5
UAC_IP=127.0.0.4
sipp_uac outbound 5 uac.xml u1 127.0.0.1 "$INSIDE_SIP" -s carol -key dom sipp.pstn
check "5 calls from inside to outside over the flow, 0 failed" sipp_passed outbound 5

# A call in progress survives a SIGHUP of either side (and of both).
sed 's/<pause milliseconds="100" \/>/<pause milliseconds="3000" \/>/' "$SIPP_DIR/uac.xml" >"$T/uac_long.xml"
UAC_IP=127.0.0.3
(sipp_uac hup 2 "$T/uac_long.xml" u1 127.0.0.1 "$EDGE_SIP" -s alice -key dom sipp.inside
 echo $? >"$T/hup.rc") &
HUP_RUN=$!
track_pid "$HUP_RUN"
_poll 5 eval "grep -q '^ACK ' '$T/sipp-hup.messages' 2>/dev/null"
kill -HUP "$SIPEDGED_PID"
kill -HUP "$INSIDE_PID"
wait_pid "$HUP_RUN" 30
check "2 calls answered before SIGHUP of both sides end normally after it (BYE passes)" \
    eval "[ \"\$(cat '$T/hup.rc')\" = 0 ] && sipp_calls hup | grep -qx '2 0'"
check "... both sides reloaded" \
    eval "log_has module=conf 'event=\"reload ok\"' && ilog 'event=\"reload ok\"'"
check "... and the flow is still the first one" \
    eval "ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects 1\$'"
sipp_uas_stop lan
check "the LAN callee: 7 calls, none failed" eval "sipp_calls lan | grep -qx '7 0'"
sipp_uas_stop pstn
check "the PSTN callee: 5 calls, none failed" eval "sipp_calls pstn | grep -qx '5 0'"

# ---- idle: both sides close connections idle for 10 s (sip.idle_timeout);
# the keepalive (every second here) keeps the flow, as it would for ten
# minutes with the defaults.
flows_before=$(ctl_cmd zones | sed -n 's/^inside traversal-server .*flows \([0-9]*\)$/\1/p')
sleep 13
check "after 13 s without a request the flow is still the same one (keepalive)" \
    eval "ctl_cmd zones | grep -q '^inside traversal-server tls .* connected since .*flows $flows_before\$' &&
          ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects 1\$'"
uas 127.0.0.6 "$LAN_PORT" "$T/lan-idle.req"
sipclient udp "$EDGE_SIP" --source 127.0.0.3 --timeout 10 send:"$T/to-inside.msg" expect:200 >"$T/idle.out" 2>&1
check "... and carries a request" grep -q "^RECV SIP/2.0 200" "$T/idle.out"
wait_pid "$UAS_PID" 10

# ---- a dead flow: the edge stops answering (SIGSTOP); no pong within
# pong_timeout (2 s), the inside closes the flow and tries again; once the
# edge runs again the flow is back.
kill -STOP "$SIPEDGED_PID"
check "a frozen edge: the inside detects the dead flow by its missing pong" \
    _poll 10 ilog 'reason="no keepalive pong within 2 s: the flow is dead"'
ilog "no keepalive pong" || diag "inside log:" "$(grep -E "trav|zone" "$I/sipedged.log" | tail -n 8)"
kill -CONT "$SIPEDGED_PID"
check "... and the flow is back once the edge runs again" \
    _poll 20 eval "ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects [2-9]'"

# ---- the edge goes away and comes back: the inside reconnects.
stop_sipedged || diag "edge stop status $?"
check "inside: the flow is down once the edge is gone" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client tls .* \\(waiting\\|connecting\\|authenticating\\) since '"
check "... and says why" ilog 'event="flow down" zone=edge'
start_sipedged || bail_out "the edge did not restart"
check "inside: the flow is back within the backoff (retry_max 2 s)" \
    _poll 15 eval "ictl zones | grep -q '^edge traversal-client tls .* connected since .*reconnects [3-9]'"
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

# ---- an MD5-only client (RFC 7616 keeps MD5 for compatibility): a
# REGISTER answered with the MD5 challenge binds the flow too.
timeout 20 "$PYTHON" - "$TRAV_PORT" "$P" "$REALM" >"$T/md5.out" 2>&1 <<'PY'
import hashlib, re, socket, ssl, sys
port, pki, realm = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/root.pem")
ctx.check_hostname = False
ctx.load_cert_chain(pki + "/inside.chain", pki + "/inside.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
def register(cseq, auth=""):
    msg = ("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKmd5%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:inside1@127.0.0.1>;tag=md5\r\nTo: <sip:inside1@127.0.0.1>\r\n"
           "Call-ID: md5-client\r\nCSeq: %d REGISTER\r\nContact: <sip:inside1@127.0.0.1:5999;transport=tls>\r\n"
           "%sContent-Length: 0\r\n\r\n") % (cseq, cseq, auth)
    s.sendall(msg.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    return data.decode()
r = register(1)
m = [c for c in re.findall(r"WWW-Authenticate: (Digest [^\r\n]*)", r) if "algorithm=MD5" in c]
nonce = re.search(r'nonce="([^"]*)"', m[0]).group(1)
H = lambda x: hashlib.md5(x.encode()).hexdigest()
ha1 = H("inside1:%s:good secret" % realm)
resp = H("%s:%s:00000001:c0ffee:auth:%s" % (ha1, nonce, H("REGISTER:sip:127.0.0.1")))
auth = ('Authorization: Digest username="inside1", realm="%s", nonce="%s", uri="sip:127.0.0.1", '
        'response="%s", algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001\r\n')
forged = nonce.split(".")[0] + "." + "0" * 32
print("forged", register(2, auth % (realm, forged, resp)).split("\r\n")[0])
print("garbage", register(3, 'Authorization: Digest realm="unterminated\r\n').split("\r\n")[0])
print(register(4, auth % (realm, nonce, resp)).split("\r\n")[0])
PY
grep -q "^SIP/2.0 200" "$T/md5.out" || diag "md5:" "$(cat "$T/md5.out")"
check "a nonce sipedged did not make gets 403 (the connection lives on)" grep -q "^forged SIP/2.0 403" "$T/md5.out"

check "a malformed Authorization header is not taken: challenged again (401)" grep -q "^garbage SIP/2.0 401" "$T/md5.out"
check "an MD5 digest client is accepted on that same connection (200 to its REGISTER)" grep -q "^SIP/2.0 200" "$T/md5.out"
check "... and logged as the zone's flow" log_has module=trav 'event="flow up"' zone=inside

# ---- a wrong password.
(umask 077; echo "wrong secret" >"$I/edge.password")
log_mark
start_inside
check "wrong password: the inside's zone shows why" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client .*authentication failed: wrong username or password (the server answered 403)'"
check "... the edge logged the refusal" \
    wait_for_event -t 5 module=trav 'event="client refused"' zone=inside 'reason="wrong username or password"'
check "... and has no flow" eval "ctl_cmd zones | grep -q '^inside traversal-server tls .* waiting'"
check "... its alarm names the refused client and why" \
    eval "ctl_cmd alarms | grep -q 'zone inside: traversal zone inside is down: the client at 127\.0\.0\.1:[0-9]* was refused: wrong username or password'"
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
