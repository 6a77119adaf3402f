#!/bin/bash
# idle_mtls.sh: memory per idle mutual-TLS connection (issue 14 point 5).
# 500 clients each make a full handshake with a certificate of the lab CA,
# sent with the CA's own certificate as peers send their issuers', and
# stay idle.  The gate lets every one in (`sipedge-ctl connections` lists each
# with its subject), and sipedged's resident memory (VmRSS) grows by
# less than 26 KiB per connection: OpenSSL keeps each peer's chain parsed
# in its session, and the CA certificates are now one shared copy (26.9
# KiB before, 22.3 after on the benchmark's machine: contrib/bench/
# README.md, idle connection memory).  Then the clients' certificate is
# revoked: the new CRL's revalidation closes every one of them, shared
# chain and all.  Under AddressSanitizer the RSS bound is skipped.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=siploadlib.sh
. "$INTEG_DIR/siploadlib.sh"
require_cmd "$PYTHON"
N=500
require_fds $((N + 200))
plan 7

ASAN=$(rss_not_comparable)

# rss: sipedged's VmRSS in KiB, once it held still for a second (at most
# 10 s).
rss() {
    local last now i
    last=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SIPEDGED_PID/status")
    for i in 1 2 3 4 5 6 7 8 9 10; do
        sleep 1
        now=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SIPEDGED_PID/status")
        [ "$now" = "$last" ] && break
        last=$now
    done
    echo "$last"
}

# listed COUNT: `sipedge-ctl connections` shows COUNT clients open, each
# with its subject.
listed() {
    [ "$(timeout 30 "$SIPEDGE_CTL" -c "$CONF" connections --all |
        grep -c ' open since .* subject /CN=127.0.0.3 ')" -eq "$1" ]
}

sl_pki
CA="$T/ca/ca.pem"
CONF_HANDSHAKE_TIMEOUT=20	# slow under AddressSanitizer
sl_config
# No neighbor zone: the clients come from 127.0.0.2 to .254, all default.
rm "$T/zones/uas.conf"
sed -i '/^search_rules = (/,/^);/d' "$CONF"
start_sipedged || bail_out "sipedged did not start"
BASE=$(rss)
diag "baseline VmRSS $BASE KiB"

log_mark
timeout 120 "$PYTHON" "$INTEG_DIR/tlswave.py" --port "$TLS_PORT" \
    --cafile "$CA" --count "$N" --cert "$T/uac-chain.pem" --key "$T/uac.key" \
    --stop-file "$T/wave.stop" --hold 100 >"$T/wave.out" 2>&1 &
WAVE_PID=$!
track_pid "$WAVE_PID"
_poll 90 grep -q '^OPEN\|^FAIL' "$T/wave.out"
check "$N mutual-TLS clients (leaf and CA certificate) stay connected" \
    grep -q "^OPEN $N\$" "$T/wave.out"
check "the gate lets every one in (connections lists each, with its subject)" \
    _poll 30 listed "$N"
OPEN=$(rss)
diag "VmRSS $OPEN KiB with $N idle mutual-TLS connections:" \
    "$(((OPEN - BASE) * 10 / N)) tenths of a KiB each"
if [ -n "$ASAN" ]; then
    skip "memory per idle mutual-TLS connection" "$ASAN"
else
    check "memory per idle mutual-TLS connection < 26 KiB" \
        test "$(((OPEN - BASE) / N))" -le 25
fi

ca revoke "$T/uac.pem"
ca crl --out "$T/uac.crl"
log_mark
out=$(timeout 30 "$SIPEDGE_CERT" -c "$CONF" crl import "$T/uac.crl" 2>&1)
check "sipedge-cert crl import installs the CRL and reloads" \
    grep -q "reloaded" <<<"$out"
check "revoking the clients' certificate closes every connection" \
    _poll 60 listed 0
touch "$T/wave.stop"
wait_pid "$WAVE_PID" 30
check "sipedged is still running" sipedged_alive
check "sipedged stops cleanly (exit 0, no leak under ASan)" stop_sipedged
