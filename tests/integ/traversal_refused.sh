#!/bin/bash
# traversal_refused.sh: the inside node of a traversal pair says why its
# flow does not come up when the edge refuses its certificate.  The edge's
# trust list (the test root) does not hold the CA that issued the inside
# node's certificate ("Other Root"); the edge's gate closes every
# connection right after the TLS handshake, without a word.  The inside
# node must not only say "the connection closed while authenticating":
# its zone status, its log and its alarm say the edge closed the
# connection after the TLS handshake and most likely refused this node's
# certificate; the edge's alarm for the zone names the refused client and
# the reason instead of "no traversal client connected".  Run twice: with
# the inside node checking the edge's certificate for revocation (its gate
# holds the connection a moment, so the edge's refusal comes before it is
# ready) and without (it is ready and has sent REGISTER when the edge
# closes it).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 8

# shellcheck source=pkilib.sh
. "$INTEG_DIR/pkilib.sh"
pki_setup
leaf edge "IP:127.0.0.1,DNS:edge.example" leaf
# The inside node's certificate, from a CA the edge does not trust.
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Other Root" -keyout "$P/other.key" -out "$P/other.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=inside1.example.com" \
    -keyout "$P/inside.key" -out "$P/inside.csr"
o x509 -req -in "$P/inside.csr" -CA "$P/other.pem" -CAkey "$P/other.key" -CAcreateserial \
    -days 30 -out "$P/inside.pem" -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=DNS:inside1.example.com")

TRAV_PORT=$(free_port)
REALM=edge.example

# tls_files FILE CHAIN KEY: point FILE's tls group at these files and the root.
tls_files() {
    sed -i "s|^tls: {\$|tls: {\n  certificate = \"$2\"; private_key = \"$3\"; trust = \"pki/root.pem\";|" "$1"
}

# ---- the edge: this test's main sipedged ($T), trusting the test root only.
write_config
tls_files "$CONF" pki/edge.chain pki/edge.key
printf '%s\n' "auth: { realm = \"$REALM\"; };" >>"$CONF"
printf '%s\n' 'type = "traversal-server";' "port = $TRAV_PORT;" \
    'peer_name = "inside1.example.com";' 'username = "inside1";' >"$T/zones/inside.conf"
echo 'good secret' | "$SIPEDGE_CERT" -c "$CONF" credential add inside1 >"$T/cred.out" 2>&1 ||
    bail_out "credential add: $(cat "$T/cred.out")"
LISTENERS+=("tls 127.0.0.1 $TRAV_PORT")
start_sipedged || bail_out "the edge sipedged did not start"

# ---- the inside node: a second sipedged in $I.
I=$T/inside
mkdir -p "$I/pki" "$I/zones" "$I/state"
cp "$P/inside.pem" "$P/inside.key" "$P/root.pem" "$I/pki/"
chmod 600 "$I/pki/inside.key"
(umask 077; echo "good secret" >"$I/edge.password")
save=("$TLS_PORT" "$SIP_PORT" "$TCP_PORT" "$UDP_PORT" "${LISTENERS[@]}")
TLS_PORT=$(free_port) SIP_PORT=$(free_port)
TCP_PORT=$SIP_PORT UDP_PORT=$SIP_PORT
write_config "$I/sipedge.conf"
TLS_PORT=${save[0]} SIP_PORT=${save[1]} TCP_PORT=${save[2]} UDP_PORT=${save[3]}
LISTENERS=("${save[@]:4}")
tls_files "$I/sipedge.conf" pki/inside.pem pki/inside.key

# edge_zone REVOCATION: the inside node's zone for the edge.
edge_zone() {
    printf '%s\n' 'type = "traversal-client";' 'peers = [ "127.0.0.1" ];' "port = $TRAV_PORT;" \
        'username = "inside1";' 'password_file = "../edge.password";' \
        "revocation = $1;" 'retry_max = 2;' >"$I/zones/edge.conf"
}
edge_zone false
"$SIPEDGED" -t -c "$I/sipedge.conf" >"$T/inside-t.out" 2>&1 ||
    bail_out "inside config: $(cat "$T/inside-t.out")"

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
ictl() { ctl_cmd "$1" "$I/sipedged.ctl" 2>/dev/null; }
LIKELY='the server closed it after the TLS handshake.*it most likely refused this node.s certificate'

# ---- without revocation checks: ready, REGISTER sent, then closed.
log_mark
start_inside
check "the edge refuses the inside node's certificate (not from a CA it trusts)" \
    wait_for_event -t 10 module=tls 'event="peer refused"' zone=inside
check "the edge's alarm for zone inside names the refused client and why" \
    _poll 5 eval "ctl_cmd alarms | grep -q 'zone inside: traversal zone inside is down: the client at 127\.0\.0\.1:[0-9]* was refused: .'"
check "the inside's zone says the edge most likely refused this node's certificate" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client tls .*: $LIKELY'"
ictl zones | grep -q "most likely" || diag "inside zones:" "$(ictl zones)" "$(grep -E 'trav|link' "$I/sipedged.log" | tail -n 5)"
check "... so does its log ('connect failed' with the reason)" \
    grep -q "module=trav event=\"connect failed\" zone=edge .*$LIKELY" "$I/sipedged.log"
check "... and its alarm" \
    eval "ictl alarms | grep -q 'zone edge: traversal zone edge is down: .*$LIKELY'"
check "... the last failure in the JSON status too" \
    eval "ictl 'json zones' | grep -q '\"last_failure\": *\"[^\"]*most likely refused this node'"
stop_inside

# ---- with revocation checks of the edge's certificate: refused before ready.
edge_zone true
start_inside
check "with revocation checks the inside's zone says the same" \
    _poll 10 eval "ictl zones | grep -q '^edge traversal-client tls .*: $LIKELY'"
stop_inside

check "the edge still runs" sipedged_alive
