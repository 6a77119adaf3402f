#!/bin/bash
# deploy_guide.sh: runs the command blocks of doc/deployment.md (those
# fenced ```sh, in order) against a real sipedged, so that the guide cannot
# rot.  Each block runs in a bash subshell with set -e, after these moves:
# /etc/sipedge, /var/lib/sipedge, /run/sipedge and /var/log/sipedge into $T;
# the node's address 192.0.2.10 and the partner's 192.0.2.20 to 127.0.0.1
# and 127.0.0.2, ports 5061/5060 to free ones, the partner's CRL URL to a
# loopback HTTP server; `su ... sipedge` and `exit` become cd; sipedged,
# sipedge-cert and sipedge-ctl are the built programs with -c on $T's
# configuration; `systemctl enable --now` starts the daemon the way the
# other tests do and `systemctl reload` is the unit's ExecReload,
# `sipedge-ctl reload`.  The partner (its CA, CRL and a TLS SBC) is made
# here beforehand.  The block outputs are then checked for what the guide
# says they show.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
GUIDE="$top_srcdir/doc/deployment.md"
[ -r "$GUIDE" ] || bail_out "cannot read $GUIDE"

# Split the guide's ```sh blocks into $T/block.N.
awk -v dir="$T" '
    /^```sh$/ { n++; inblock = 1; next }
    /^```/ && inblock { inblock = 0; next }
    inblock { print > (dir "/block." n) }
    END { print n + 0 > (dir "/nblocks") }
' "$GUIDE"
NBLOCKS=$(cat "$T/nblocks")

plan $((NBLOCKS + 15))

# The guide must still walk the whole workflow.
all=$(cat "$T"/block.* 2>/dev/null)
missing=""
for cmd in "systemctl enable --now sipedged" "sipedged -t" "systemctl reload sipedged" \
    "sipedge-cert csr new" "sipedge-cert lab-ca init" "sipedge-cert lab-ca issue --csr" \
    "sipedge-cert install" "sipedge-cert trust add" "distribution_points" \
    "/etc/sipedge/zones/" "search_rules" "sipedge-ctl status" "sipedge-ctl zones" \
    "sipedge-ctl certs" "sipedge-ctl revocation" "sipedge-ctl alarms"; do
    grep -q -F -e "$cmd" <<<"$all" || missing="$missing '$cmd'"
done
[ -z "$missing" ] && [ "$NBLOCKS" -ge 7 ] &&
    ok "the guide has $NBLOCKS command blocks with every step of the workflow" ||
    not_ok "the guide has every step of the workflow" "blocks: $NBLOCKS; missing:$missing"

# --- the partner: its CA, its SBC's certificate, its CRL on HTTP -------
mkdir -p "$T/etc/sipedge/zones" "$T/etc/sipedge/pki" "$T/var/lib/sipedge" \
    "$T/run/sipedge" "$T/root" "$T/www" "$T/partner"
"$SIPEDGE_CERT" lab-ca init --dir "$T/partner-ca" --cn "Partner CA" >"$T/partner.out" 2>&1 &&
    "$SIPEDGE_CERT" lab-ca issue --dir "$T/partner-ca" --cn sbc1.partner.example \
        --out "$T/partner/sbc1" >>"$T/partner.out" 2>&1 &&
    "$SIPEDGE_CERT" lab-ca crl --dir "$T/partner-ca" --out "$T/www/partner.crl" \
        >>"$T/partner.out" 2>&1 &&
    cp "$T/partner-ca/ca.pem" "$T/partner-ca.pem" ||
    bail_out "cannot make the partner's PKI: $(cat "$T/partner.out")"
"$PYTHON" "$top_srcdir/tests/integ/httpd.py" "$T/www" "$T/http.port" >"$T/httpd.out" 2>&1 &
track_pid $!
wait_file "$T/http.port" || bail_out "httpd.py did not start"
HTTP_PORT=$(cat "$T/http.port")
TLS_PORT=$(free_port)
SIP_PORT=$(free_port)
"$PYTHON" "$top_srcdir/tests/integ/tlspeer.py" 127.0.0.2 "$TLS_PORT" \
    "$T/partner/sbc1-chain.pem" "$T/partner/sbc1.key" >"$T/tlspeer.out" 2>&1 &
track_pid $!
_poll 10 grep -q LISTENING "$T/tlspeer.out" || bail_out "tlspeer.py did not start"

# --- what `make install` would have put in place --------------------------
CONF="$T/etc/sipedge/sipedge.conf"
sed -e "s/port = 5061;/port = $TLS_PORT;/" -e "s/port = 5060;/port = $SIP_PORT;/" \
    -e "/^daemon: *{/a\\  state_dir = \"$T/var/lib/sipedge\";" \
    -e "/^daemon: *{/a\\  pid_file = \"$T/run/sipedge/sipedged.pid\";" \
    -e "/^daemon: *{/a\\  control_socket = \"$T/run/sipedge/sipedged.ctl\";" \
    -e "/^log: *{/a\\  file = \"$LOG\";" \
    "$top_srcdir/conf/sipedge.conf" >"$CONF"
LISTENERS=("tls 127.0.0.1 $TLS_PORT" "tcp 127.0.0.1 $SIP_PORT" "udp 127.0.0.1 $SIP_PORT")
CONF_SHUTDOWN_GRACE=5

# --- the stand-ins for the system's commands ------------------------------
sipedged() { timeout 20 "$SIPEDGED" -c "$CONF" "$@"; }
sipedge-cert() { timeout 30 "$SIPEDGE_CERT" -c "$CONF" "$@"; }
sipedge-ctl() { timeout 30 "$SIPEDGE_CTL" -c "$CONF" "$@"; }
systemctl() {
    case "$*" in
    "enable --now sipedged")
        start_sipedged "$CONF" && echo "$SIPEDGED_PID" >"$T/daemon.pid" ;;
    "reload sipedged")
        timeout 30 "$SIPEDGE_CTL" -s "$T/run/sipedge/sipedged.ctl" reload ;;
    *)
        echo "deploy_guide.sh: no stand-in for systemctl $*" >&2
        return 1 ;;
    esac
}

# Run the blocks, in order.  A failed block fails its test point and the
# ones after it still run (they would show what else broke).
for i in $(seq 1 "$NBLOCKS"); do
    sed -e "s|/etc/sipedge|$T/etc/sipedge|g" \
        -e "s|/var/lib/sipedge|$T/var/lib/sipedge|g" \
        -e "s|/run/sipedge|$T/run/sipedge|g" \
        -e "s|/var/log/sipedge/sipedged.log|$LOG|g" \
        -e "s|/tmp/partner-ca.pem|$T/partner-ca.pem|g" \
        -e "s|192\\.0\\.2\\.10|127.0.0.1|g" -e "s|192\\.0\\.2\\.20|127.0.0.2|g" \
        -e "s|port = 5061;|port = $TLS_PORT;|g" -e "s|port = 5060;|port = $SIP_PORT;|g" \
        -e "s|http://crl\\.partner\\.example|http://127.0.0.1:$HTTP_PORT|g" \
        -e "s|^su -s /bin/bash - sipedge\$|cd \"$T/var/lib/sipedge\"|" \
        -e "s|^exit\$|cd \"$T/root\"|" \
        "$T/block.$i" >"$T/run.$i"
    first=$(grep -v '^#' "$T/block.$i" | head -n 1)
    (
        set -e
        cd "$T/root"
        # shellcheck disable=SC1090
        . "$T/run.$i"
    ) >"$T/out.$i" 2>&1
    rc=$?
    if [ -s "$T/daemon.pid" ] && [ -z "${SIPEDGED_PID:-}" ]; then
        SIPEDGED_PID=$(cat "$T/daemon.pid")
        track_pid "$SIPEDGED_PID"
    fi
    [ "$rc" -eq 0 ] && ok "guide block $i ($first): exit 0" ||
        not_ok "guide block $i ($first): exit 0" "exit $rc" "$(cat "$T/out.$i")"
done

# out_of TEXT: the output of the first block that has TEXT in it.
out_of() {
    local i
    for i in $(seq 1 "$NBLOCKS"); do
        grep -q -F -e "$1" "$T/block.$i" && { cat "$T/out.$i"; return; }
    done
}
first_start=$(out_of "systemctl enable --now")
grep -q "temp-server.pem (temporary)" <<<"$first_start" &&
    grep -q -i "temporary" <<<"$(sed -n '/^alarm\|temporary certificate/p' <<<"$first_start")" &&
    ok "first start: the temporary certificate, and its alarm" ||
    not_ok "first start: the temporary certificate, and its alarm" "$first_start"

csr=$(out_of "csr new")
grep -q "edge1.example.com" <<<"$csr" && grep -q "sipedged reloaded: ok" <<<"$csr" &&
    ok "CSR for edge1.example.com signed by the lab CA, installed, reloaded" ||
    not_ok "CSR signed, installed, reloaded" "$csr"

trust=$(out_of "trust remove")
tail_list=$(awk '/trust remove/ { found = 1 } found' <<<"$trust")
grep -q "Partner CA" <<<"$trust" && ! grep -q "sipedge temporary CA" <<<"$(sipedge-cert trust list 2>&1)" &&
    ok "trust list: the partner's CA added, the temporary CA removed" ||
    not_ok "trust list: the partner's CA added, the temporary CA removed" "$trust" "$tail_list"

# What the last block (sipedge-ctl) showed, and the node as it is now.
certs=$(sipedge-ctl certs 2>&1)
grep -q "edge1.example.com" <<<"$certs" && ! grep -q "temporary" <<<"$certs" &&
    grep -q "Partner CA" <<<"$certs" && grep -q "Example Lab CA" <<<"$certs" &&
    ok "sipedge-ctl certs: edge1's certificate, the lab and partner CAs" ||
    not_ok "sipedge-ctl certs: edge1's certificate, the lab and partner CAs" "$certs"

_zone_active() { timeout 30 "$SIPEDGE_CTL" -s "$T/run/sipedge/sipedged.ctl" zones 2>/dev/null | grep "partner" | grep -q "active"; }
_poll 15 _zone_active &&
    ok "sipedge-ctl zones: the partner's SBC is active (name, chain and CRL checked)" ||
    not_ok "sipedge-ctl zones: the partner's SBC is active" "$(sipedge-ctl zones 2>&1)" \
        "$(cat "$T/tlspeer.out")"
grep -q "ACCEPTED" "$T/tlspeer.out" &&
    ok "the partner's SBC accepted the TLS connection" ||
    not_ok "the partner's SBC accepted the TLS connection" "$(cat "$T/tlspeer.out")"

rev=$(sipedge-ctl revocation 2>&1)
grep -q "127.0.0.1:$HTTP_PORT/partner.crl" <<<"$rev" &&
    grep -q "GET /partner.crl 200" "$T/www/.log" &&
    ok "sipedge-ctl revocation: the distribution point, fetched" ||
    not_ok "sipedge-ctl revocation: the distribution point, fetched" "$rev" "$(cat "$T/www/.log" 2>&1)"

alarms=$(sipedge-ctl alarms 2>&1)
rc=$?
[ "$rc" -eq 0 ] && ! grep -q -i "temporary" <<<"$alarms" &&
    ok "sipedge-ctl alarms: no temporary certificate alarm any more" ||
    not_ok "sipedge-ctl alarms: no temporary certificate alarm any more" "exit $rc" "$alarms"

status=$(sipedge-ctl status 2>&1)
grep -q "^pid: $SIPEDGED_PID$" <<<"$status" &&
    ok "sipedge-ctl status: the daemon the guide started" ||
    not_ok "sipedge-ctl status: the daemon the guide started" "$status"

# New handshakes present the CA-signed certificate.
hs=$(timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
    -CAfile "$T/var/lib/sipedge/lab-ca/ca.pem" -verify_return_error \
    -verify_hostname edge1.example.com </dev/null 2>&1)
grep -q "Verify return code: 0 (ok)" <<<"$hs" &&
    ok "TLS clients see edge1.example.com, verified by the lab CA" ||
    not_ok "TLS clients see edge1.example.com, verified by the lab CA" "$(tail -n 20 <<<"$hs")"

# The files sipedge-cert wrote, where the guide says.
[ -s "$T/etc/sipedge/pki/server.pem" ] && [ -s "$T/etc/sipedge/pki/trust.pem" ] &&
    [ "$(stat -c %a "$T/etc/sipedge/pki/server.key")" = 600 ] &&
    [ ! -e "$T/var/lib/sipedge/csr/pending.key" ] &&
    ok "pki/: server.pem, trust.pem, server.key mode 0600; the pending key consumed" ||
    not_ok "pki/ files" "$(ls -la "$T/etc/sipedge/pki" "$T/var/lib/sipedge/csr" 2>&1)"

# A broken configuration: sipedged -t says where, the reload refuses it and
# the node keeps serving.
echo 'bogus_setting = 1;' >>"$T/etc/sipedge/zones/partner.conf"
out=$(sipedged -t 2>&1)
rc=$?
[ "$rc" -ne 0 ] && grep -q "partner.conf:[0-9]*:.*bogus_setting" <<<"$out" &&
    ok "sipedged -t on a broken zone file: non-zero, file:line" ||
    not_ok "sipedged -t on a broken zone file" "exit $rc" "$out"
out=$(systemctl reload sipedged 2>&1)
rc=$?
[ "$rc" -eq 1 ] && grep -q "bogus_setting" <<<"$out" && _zone_active &&
    ok "systemctl reload (sipedge-ctl reload) refuses it with exit 1; the zone stays active" ||
    not_ok "systemctl reload refuses a broken configuration" "exit $rc" "$out"

# The daemon is a child of a block's subshell: stopped by its PID, its
# "stopped" event shows that it shut down cleanly.
kill -TERM "$SIPEDGED_PID"
_poll 15 _pid_gone "$SIPEDGED_PID" && log_has 'event="stopped"' &&
    ok "SIGTERM: the daemon stops cleanly" ||
    not_ok "SIGTERM: the daemon stops cleanly" "$(tail -n 5 "$LOG")"
