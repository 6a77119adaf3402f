#!/bin/bash
# firststart.sh: with the shipped configuration (and no PKI) the first start
# creates a temporary CA and server certificate in the state dir, warns about
# it, and serves TLS that verifies against that CA; a second start reuses it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 17

shipped_config || bail_out "cannot adapt the shipped configuration"
SERVER_CERT="$T/state/temp-server.pem"
SERVER_KEY="$T/state/temp-server.key"

# ca_fingerprint: print the SHA-256 fingerprint of the temporary CA.
ca_fingerprint() {
    timeout 10 openssl x509 -in "$CA" -noout -fingerprint -sha256 2>&1
}

# options_via_s_client OUT: send one OPTIONS with openssl s_client, verifying
# the server against the temporary CA; its output goes to OUT.
options_via_s_client() {
    printf '%s\r\n' \
        "OPTIONS sip:127.0.0.1:$TLS_PORT SIP/2.0" \
        "Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-firststart-1" \
        "Max-Forwards: 70" \
        "From: <sip:127.0.0.1:5099>;tag=firststart" \
        "To: <sip:127.0.0.1:$TLS_PORT>" \
        "Call-ID: firststart-1@127.0.0.1" \
        "CSeq: 1 OPTIONS" \
        "Content-Length: 0" \
        "" >"$T/options.raw"
    # -ign_eof keeps the connection open after the request; timeout ends it.
    timeout 4 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$CA" \
        -verify_return_error -ign_eof -nocommands <"$T/options.raw" >"$1" 2>&1
    return 0
}

if start_sipedged; then
    ok "first start with the shipped configuration"
else
    bail_out "sipedged did not start with the shipped configuration"
fi
check "state/temp-ca.pem created" test -s "$CA"
check "state/temp-server.pem created" test -s "$SERVER_CERT"
check "state/temp-server.key created" test -s "$SERVER_KEY"
mode=$(stat -c %a "$SERVER_KEY" 2>&1)
if [ "$mode" = 600 ]; then
    ok "temp-server.key has mode 0600"
else
    not_ok "temp-server.key has mode 0600" "mode: $mode"
fi
check "temp-server.pem is issued by temp-ca.pem" \
    timeout 10 openssl verify -CAfile "$CA" "$SERVER_CERT"
check "'temporary certificate in use' logged at level=warn" \
    log_has level=warn module=tls 'event="temporary certificate in use"'

options_via_s_client "$T/s_client.out"
if grep -q -F "Verify return code: 0 (ok)" "$T/s_client.out"; then
    ok "openssl s_client verifies the server against temp-ca.pem"
else
    not_ok "openssl s_client verifies the server against temp-ca.pem" "$(tail -n 30 "$T/s_client.out")"
fi
if grep -q -E "^SIP/2\.0 200( |$)" <(tr -d '\r' <"$T/s_client.out"); then
    ok "OPTIONS through openssl s_client gets SIP/2.0 200"
else
    not_ok "OPTIONS through openssl s_client gets SIP/2.0 200" "$(tail -n 30 "$T/s_client.out")"
fi

fingerprint=$(ca_fingerprint)
check "SIGTERM: exit status 0" stop_sipedged

# Second start: the temporary CA is reused.
if start_sipedged; then
    ok "second start"
else
    not_ok "second start"
fi
again=$(ca_fingerprint)
if [ -n "$fingerprint" ] && [ "$fingerprint" = "$again" ]; then
    ok "second start reuses the temporary CA (same fingerprint)"
else
    not_ok "second start reuses the temporary CA (same fingerprint)" \
        "before: $fingerprint" "after:  $again"
fi
options_via_s_client "$T/s_client2.out"
if grep -q -F "Verify return code: 0 (ok)" "$T/s_client2.out" &&
    grep -q -E "^SIP/2\.0 200( |$)" <(tr -d '\r' <"$T/s_client2.out"); then
    ok "after the second start, s_client still verifies and gets 200"
else
    not_ok "after the second start, s_client still verifies and gets 200" \
        "$(tail -n 30 "$T/s_client2.out")"
fi
check "SIGTERM: exit status 0 again" stop_sipedged

# Third start with a new alias: the same CA issues a new server certificate
# naming it (the old one does not).
sed -i 's/^  fqdn = "localhost";/  fqdn = "localhost";\n  aliases = [ "sip.test.invalid" ];/' "$CONF"
check "third start, with node.aliases = [ \"sip.test.invalid\" ]" start_sipedged
check "the new temporary server certificate names sip.test.invalid" \
    timeout 10 openssl x509 -in "$SERVER_CERT" -noout -checkhost sip.test.invalid
check "SIGTERM: exit status 0 a third time" stop_sipedged
