#!/bin/bash
# zone_alarm.sh: the zone-down alarm names the latest failure, not a stale
# one.  A TLS zone with two peers, both refusing connections: the zone
# goes down with "Connection refused" in its alarm.  Then the second peer
# accepts and never answers the TLS handshake (it stays "connecting" for
# the handshake timeout), and the first one accepts and closes at once:
# the first peer's new failure must reach the alarm text while the second
# is still being tried.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 4

PORT=$(free_port 127.0.0.2)
CONF_HANDSHAKE_TIMEOUT=90
write_config
printf '%s\n' 'name = "two";' 'type = "neighbor";' 'transport = "tls";' \
    "port = $PORT;" 'peers = [ "127.0.0.2", "127.0.0.3" ];' >"$T/zones/two.conf"
start_sipedged || bail_out "sipedged did not start"

# alarm_says TEXT: the zone's alarm holds the fixed TEXT.
alarm_says() {
    ctl_cmd alarms | grep 'zone two: ' | grep -q -F -e "$1"
}
check "both peers refuse: the zone is down, its alarm says why" \
    _poll 15 alarm_says "Connection refused"

# listen IP MODE: accept on IP:$PORT for 150 s; MODE close: close each
# connection at once; hold: keep it open, never send.
listen() {
    "$PYTHON" - "$1" "$PORT" "$2" <<'EOF' &
import socket, sys, time
ip, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port))
s.listen(16)
s.settimeout(1)
held, end = [], time.time() + 150
print("LISTENING", flush=True)
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    if mode == "close":
        c.close()
    else:
        held.append(c)
EOF
    track_pid $!
}

# peer_state PEER STATE: `zones` shows PEER of zone two in STATE.
peer_state() {
    ctl_cmd zones | grep -F " $1:$PORT " | grep -q -w "$2"
}
listen 127.0.0.3 hold
check "the second peer is being tried (connecting, its handshake unanswered)" \
    _poll 40 peer_state 127.0.0.3 connecting
listen 127.0.0.2 close
check "the alarm now names the first peer's new failure (closed at once)" \
    _poll 60 alarm_says "closed"
check "... while the second peer is still being tried" \
    peer_state 127.0.0.3 connecting
stop_sipedged
