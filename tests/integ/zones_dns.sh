#!/bin/bash
# zones_dns.sh: zone peers named by FQDN, resolved on the event loop
# through dns.servers (a dnsd.py on loopback).  A peer without a port goes
# through SRV (RFC 3263: _sip._tcp.NAME gives host and port, then A); one
# with a port written goes straight to A; an SRV "." target says the
# service is not there; a name that does not exist is a failure with the
# resolver's reason.  A request routed to the SRV zone reaches the peer
# SRV named, and a TLS client from a resolved peer address is classified
# to that zone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 8

PEER_PORT=$(free_port)
PLAIN_PORT=$(free_port)
ZONE=(
    "_sip._tcp.partner.test=SRV:10:0:$PEER_PORT:peer1.partner.test"
    "_sip._tcp.partner.test=SRV:20:0:$PEER_PORT:peer2.partner.test"
    "peer1.partner.test=A:127.0.0.4"
    "peer2.partner.test=A:127.0.0.9"
    "plain.test=A:127.0.0.5"
    "_sip._tcp.closed.test=SRV:0:0:0:."
)
"$PYTHON" "$INTEG_DIR/dnsd.py" --port-file "$T/dns.port" --log "$T/dns.log" "${ZONE[@]}" \
    >"$T/dnsd.out" 2>&1 &
track_pid $!
wait_file "$T/dns.port" 10 || bail_out "dnsd.py did not start: $(cat "$T/dnsd.out")"

# tcp_peer IP PORT: a TCP server that answers the first SIP request 200.
tcp_peer() {
    timeout 60 "$PYTHON" - "$1" "$2" "$T/peer-$1.req" <<'PY' &
import socket, sys
ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ip, port))
ls.listen(8)
conns = []
ls.settimeout(55)
while True:
    c, _ = ls.accept()
    c.settimeout(55)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    if not head.strip():
        conns.append(c)
        continue
    open(out, "w").write(head + "\n")
    keep = [l for l in head.split("\r\n")[1:]
            if l.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
    c.sendall(("SIP/2.0 200 OK\r\n%s\r\nContent-Length: 0\r\n\r\n" % "\r\n".join(keep)).encode())
    conns.append(c)
PY
    track_pid $!
}
tcp_peer 127.0.0.4 "$PEER_PORT"
tcp_peer 127.0.0.5 "$PLAIN_PORT"

write_config
printf '%s\n' "dns: { servers = [ \"127.0.0.1:$(cat "$T/dns.port")\" ]; };" \
    'search_rules = ( { priority = 10; match = "suffix"; pattern = "@partner.test"; target_zone = "srv"; } );' \
    >>"$CONF"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "partner.test" ];' >"$T/zones/srv.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "plain.test" ];' \
    "port = $PLAIN_PORT;" >"$T/zones/plain.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "closed.test" ];' >"$T/zones/closed.conf"
printf '%s\n' 'type = "neighbor";' 'transport = "tcp";' 'peers = [ "nowhere.test" ];' \
    'port = 5060;' >"$T/zones/nowhere.conf"
start_sipedged || bail_out "sipedged did not start"

check "SRV: partner.test is active at the SRV target's address and port" \
    _poll 10 eval "ctl_cmd zones | grep -q '^srv tcp partner.test:$PEER_PORT active since'"
check "... the SRV query went to the configured DNS server" grep -q "_sip._tcp.partner.test" "$T/dns.log"
check "a written port: plain.test resolved by A alone, active" \
    _poll 10 eval "ctl_cmd zones | grep -q '^plain tcp plain.test:$PLAIN_PORT active since'"
check "... and no SRV query was made for it" eval "! grep -q '_sip._tcp.plain.test' '$T/dns.log'"
check "SRV target '.': closed.test failed, the service is not available there" \
    _poll 10 eval "ctl_cmd zones | grep -q '^closed tcp closed.test:[0-9]* failed since [^ ]*: closed.test: the SRV record says the service is not available there'"
check "a name that does not exist: failed with the resolver's reason" \
    _poll 10 eval "ctl_cmd zones | grep -q '^nowhere tcp nowhere.test:5060 failed since [^ ]*: cannot resolve nowhere.test: '"

sed 's/partner.example/partner.test/g' "$MSG/options-partner.msg" >"$T/to-partner.msg"
sipclient udp "$UDP_PORT" --source 127.0.0.3 --timeout 10 send:"$T/to-partner.msg" expect:200 >"$T/caller.out" 2>&1
check "a request for bob@partner.test gets the SRV peer's 200" grep -q "^RECV SIP/2.0 200" "$T/caller.out"
check "... it reached 127.0.0.4 (peer1, the first SRV target)" grep -q "^OPTIONS sip:bob@partner.test" "$T/peer-127.0.0.4.req"
