#!/bin/bash
# shellcheck disable=SC2015  # "A && B || bail_out": bail out when either fails
# cert_install.sh: sipedge-cert install against a running sipedged.  With a
# pending CSR (made here by openssl req, as `csr new` would) and with --key;
# --key refused while a CSR is pending; a certificate of another key, bad,
# missing and garbage files refused with nothing written; backups; key mode
# 0600; the daemon reloads, new handshakes present the new certificate and
# an established session survives; the daemon not running; a refused
# reload reported with how to roll back; --no-reload; usage errors;
# --temporary: back to a fresh temporary certificate, the installed one kept.
# Certificates come from an openssl CLI CA (root -> intermediate -> leaf).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"
plan 103

PKI="$T/pki"
CSRDIR="$T/state/csr"
CA_DIR="$T/ca"
mkdir -p "$CA_DIR" "$CSRDIR"

# ---- an independent CA, made with the openssl CLI

# ossl ARGS...: openssl with its chatter kept in $T/openssl.log.
ossl() {
    timeout 30 openssl "$@" 2>>"$T/openssl.log"
}

cat >"$CA_DIR/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[sipuri]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:sip:other.example, DNS:localhost, IP:127.0.0.1
[sipuri_ok]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:sip:other.example, URI:sip:localhost, DNS:localhost, IP:127.0.0.1
[underscore]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, DNS:sip_edge.example, IP:127.0.0.1
[inter_nc]
basicConstraints = CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[clientonly]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost
EOF

# sign CSR OUT [DAYS] [SECTION]: the intermediate CA signs CSR (default: a
# server certificate for 90 days).
sign() {
    ossl x509 -req -in "$1" -CA "$CA_DIR/inter.pem" -CAkey "$CA_DIR/inter.key" \
        -CAcreateserial -days "${3:-90}" -extfile "$CA_DIR/ext.cnf" -extensions "${4:-server}" -out "$2"
}

# new_csr KEY CSR [rsa|ec]: a new key and a CSR for CN=localhost.
new_csr() {
    local alg=(-newkey rsa:2048)
    [ "${3:-rsa}" = ec ] && alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    ossl req -new "${alg[@]}" -nodes -keyout "$1" -out "$2" -subj "/O=sipedge test/CN=localhost" &&
        chmod 600 "$1"
}

# pending_csr: simulate `sipedge-cert csr new`: state/csr/pending.{key,csr}.
pending_csr() {
    new_csr "$CSRDIR/pending.key" "$CSRDIR/pending.csr"
}

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/O=sipedge test/CN=Test Root CA" -keyout "$CA_DIR/root.key" -out "$CA_DIR/root.pem" \
    -config "$CA_DIR/ext.cnf" -extensions ca ||
    bail_out "openssl cannot make the root CA: $(tail -n 5 "$T/openssl.log")"
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CA_DIR/inter.key" \
    -out "$CA_DIR/inter.csr" -subj "/O=sipedge test/CN=Test Intermediate CA" &&
    ossl x509 -req -in "$CA_DIR/inter.csr" -CA "$CA_DIR/root.pem" -CAkey "$CA_DIR/root.key" \
        -CAcreateserial -days 180 -extfile "$CA_DIR/ext.cnf" -extensions inter \
        -out "$CA_DIR/inter.pem" ||
    bail_out "openssl cannot make the intermediate CA: $(tail -n 5 "$T/openssl.log")"

# ---- helpers

# inst ARGS...: run sipedge-cert install on $CONF; output in $T/inst.out
# and $T/inst.err, exit status in $rc.
inst() {
    timeout 30 "$SIPEDGE_CERT" -c "$CONF" install "$@" >"$T/inst.out" 2>"$T/inst.err"
    rc=$?
    cat "$T/inst.out" "$T/inst.err" >>"$T/all.out"
}

# inst_diag: the output of the last install, for not_ok.
inst_diag() {
    printf 'exit %s\n--- stdout\n%s\n--- stderr\n%s\n' "$rc" "$(cat "$T/inst.out")" "$(cat "$T/inst.err")"
}

# expect_rc DESC RC [OUT|ERR TEXT]...: a test point: the last install exited
# with RC and its stdout (OUT) or stderr (ERR) holds each TEXT (fixed).
expect_rc() {
    local desc=$1 want=$2 f
    shift 2
    if [ "$rc" != "$want" ]; then
        not_ok "$desc" "expected exit $want" "$(inst_diag)"
        return 1
    fi
    while [ $# -ge 2 ]; do
        f="$T/inst.out"
        [ "$1" = ERR ] && f="$T/inst.err"
        if ! grep -q -F -e "$2" "$f"; then
            not_ok "$desc" "missing in std${1,,}: $2" "$(inst_diag)"
            return 1
        fi
        shift 2
    done
    ok "$desc"
}

# fp FILE: SHA-256 fingerprint of the first certificate in FILE.
fp() {
    ossl x509 -in "$1" -noout -fingerprint -sha256
}

# served_fp: fingerprint of the certificate a new TLS handshake presents.
served_fp() {
    timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost \
        -showcerts </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}

# serves FILE: a new handshake presents the certificate of FILE.
serves() {
    local want got
    want=$(fp "$1") && got=$(served_fp) && [ -n "$want" ] && [ "$want" = "$got" ]
}

# snapshot_pki: remember the PKI directory, to prove nothing was written.
snapshot_pki() {
    (cd "$T" && find pki state/csr -type f -exec sha256sum {} + 2>/dev/null | sort) >"$T/pki.before"
}

# pki_unchanged: the PKI directory is as snapshot_pki left it.
pki_unchanged() {
    (cd "$T" && find pki state/csr -type f -exec sha256sum {} + 2>/dev/null | sort) >"$T/pki.after"
    if cmp -s "$T/pki.before" "$T/pki.after"; then
        return 0
    fi
    diff "$T/pki.before" "$T/pki.after"
    return 1
}

# refused DESC TEXT ARGS...: install ARGS exits 1 with TEXT on stderr and
# writes nothing (two test points).
refused() {
    local desc=$1 text=$2
    shift 2
    snapshot_pki
    inst "$@"
    expect_rc "$desc: exit 1, says so" 1 ERR "$text"
    check "$desc: nothing written" pki_unchanged
}

# ctl_status: the status reply of the daemon.
ctl_status() {
    timeout 10 "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"status\n"); d = b""
while True:
    b = s.recv(4096)
    if not b: break
    d += b
sys.stdout.write(d.decode())' "$T/sipedged.ctl"
}

# ---- start: temporary certificate; a TLS session that stays open

write_config
start_sipedged || bail_out "sipedged did not start"
check "the daemon starts on its temporary certificate" serves "$T/state/temp-server.pem"

sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200 \
    waitfile:"$T/go":60 send:"$MSG/options.msg" expect:200 >"$T/long.out" 2>&1 &
long=$!
track_pid "$long"
check "a TLS session is established before the install" \
    wait_for_text "$T/long.out" "RECV SIP/2.0 200"

# ---- usage
inst
expect_rc "no CERT: usage, exit 2" 2 ERR "usage: sipedge-cert install CERT"
inst a.pem b.pem
expect_rc "two CERTs: exit 2" 2 ERR "usage:"
inst a.pem --colour
expect_rc "an unknown option: exit 2" 2 ERR "usage:"

# ---- 1. with a pending CSR
pending_csr || bail_out "openssl req failed: $(tail -n 5 "$T/openssl.log")"
sign "$CSRDIR/pending.csr" "$CA_DIR/cert1.pem" || bail_out "openssl x509 -req failed"
log_mark
inst "$CA_DIR/cert1.pem" --chain "$CA_DIR/inter.pem"
expect_rc "install with the pending CSR: exit 0" 0 \
    OUT "installed $CA_DIR/cert1.pem as $PKI/server.pem (O=sipedge test, CN=localhost, expires " \
    OUT "with 1 chain certificate" \
    OUT "installed the key of the pending CSR as $PKI/server.key" \
    OUT "sipedged reloaded: ok"
expect_rc "the daemon's warnings are printed (no trust list yet: chain incomplete)" 0 \
    ERR "warning: chain incomplete: in $CA_DIR/cert1.pem"
check "server.pem holds the leaf, then the intermediate" \
    test "$(grep -c 'BEGIN CERTIFICATE' "$PKI/server.pem")" = 2 -a "$(fp "$PKI/server.pem")" = "$(fp "$CA_DIR/cert1.pem")"
check "openssl verify: server.pem chains to the root" \
    ossl verify -CAfile "$CA_DIR/root.pem" -untrusted "$PKI/server.pem" "$PKI/server.pem"
mode=$(stat -c %a "$PKI/server.key" 2>&1)
if [ "$mode" = 600 ]; then ok "server.key has mode 0600"; else not_ok "server.key has mode 0600" "mode: $mode"; fi
check "server.key is the pending key (same public key as the certificate)" \
    test "$(ossl pkey -in "$PKI/server.key" -pubout)" = "$(ossl x509 -in "$CA_DIR/cert1.pem" -noout -pubkey)"
check "the pending CSR and key are removed" test ! -e "$CSRDIR/pending.csr" -a ! -e "$CSRDIR/pending.key"
if ls "$PKI"/*.bak-* >/dev/null 2>&1; then
    not_ok "a first install makes no backup" "$(ls -la "$PKI")"
else
    ok "a first install makes no backup"
fi
check "the daemon logged the reload from the control socket" \
    log_has module=conf 'event="reload started"' 'trigger="control socket"'
check "and loaded the new certificate" \
    log_has module=tls 'event="certificate loaded"' "certificate=$PKI/server.pem"
check "a new TLS handshake presents the new certificate" serves "$CA_DIR/cert1.pem"
CA="$CA_DIR/root.pem" check "a new TLS session verifies it against the root CA (name localhost)" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200
touch "$T/go"
wait_pid "$long" 20
lrc=$?
if [ "$lrc" -eq 0 ] && [ "$(statuses "$T/long.out")" = "200 200" ]; then
    ok "the TLS session opened before the install still gets 200"
else
    not_ok "the TLS session opened before the install still gets 200" "exit $lrc" "$(cat "$T/long.out")"
fi
out=$(ctl_status)
if grep -q -x "temporary: no" <<<"$out" && grep -q -x "certificate: $PKI/server.pem" <<<"$out" &&
    grep -q -x "alarms: none" <<<"$out"; then
    ok "status: the installed certificate, not temporary, no alarm"
else
    not_ok "status: the installed certificate, not temporary, no alarm" "$out"
fi

# ---- 2. with --key (no CSR pending): backups
new_csr "$CA_DIR/k2.key" "$CA_DIR/k2.csr" ec && sign "$CA_DIR/k2.csr" "$CA_DIR/cert2.pem" ||
    bail_out "openssl failed: $(tail -n 5 "$T/openssl.log")"
cp "$PKI/server.pem" "$T/prev.pem"
cp "$PKI/server.key" "$T/prev.key"
cat "$CA_DIR/cert2.pem" "$CA_DIR/inter.pem" >"$CA_DIR/cert2-chain.pem"
cp "$CA_DIR/root.pem" "$PKI/trust.pem"
inst "$CA_DIR/cert2-chain.pem" --key "$CA_DIR/k2.key"
expect_rc "install with --key (chain in CERT): exit 0" 0 \
    OUT "installed the key $CA_DIR/k2.key as $PKI/server.key" \
    OUT "previous certificate saved as $PKI/server.pem.bak-" \
    OUT "previous key saved as $PKI/server.key.bak-" OUT "sipedged reloaded: ok"
if grep -q -F "chain incomplete" "$T/inst.err"; then
    not_ok "with the root CA in tls.trust, no chain warning" "$(inst_diag)"
else
    ok "with the root CA in tls.trust, no chain warning"
fi
bak_pem=$(sed -n 's/^previous certificate saved as //p' "$T/inst.out")
bak_key=$(sed -n 's/^previous key saved as //p' "$T/inst.out")
if [[ $bak_pem =~ /server\.pem\.bak-[0-9]{8}T[0-9]{6}Z$ ]] && cmp -s "$bak_pem" "$T/prev.pem"; then
    ok "the previous certificate is kept byte for byte as server.pem.bak-YYYYmmddTHHMMSSZ"
else
    not_ok "the previous certificate is kept byte for byte as server.pem.bak-YYYYmmddTHHMMSSZ" "backup: $bak_pem" "$(ls -la "$PKI")"
fi
bmode=$(stat -c %a "$bak_key" 2>&1)
if cmp -s "$bak_key" "$T/prev.key" && [ "$bmode" = 600 ]; then
    ok "the previous key is kept, mode 0600"
else
    not_ok "the previous key is kept, mode 0600" "backup: $bak_key mode $bmode"
fi
mode=$(stat -c %a "$PKI/server.key" 2>&1)
if [ "$mode" = 600 ]; then ok "the new server.key has mode 0600"; else not_ok "the new server.key has mode 0600" "mode: $mode"; fi
check "a new TLS handshake presents the second certificate" serves "$CA_DIR/cert2.pem"

# The same again within a second: a second backup, the first one kept.
inst "$CA_DIR/cert2.pem" --key "$CA_DIR/k2.key" --chain "$CA_DIR/inter.pem"
expect_rc "installing again: exit 0" 0 OUT "previous certificate saved as"
bak2=$(sed -n 's/^previous certificate saved as //p' "$T/inst.out")
if [ -n "$bak2" ] && [ "$bak2" != "$bak_pem" ] && cmp -s "$bak_pem" "$T/prev.pem"; then
    ok "a second backup gets its own name ($(basename "$bak2")); the first is untouched"
else
    not_ok "a second backup gets its own name; the first is untouched" "first: $bak_pem" "second: $bak2"
fi

# ---- 3. refusals: nothing written
pending_csr || bail_out "openssl req failed"
refused "--key while a CSR is pending" \
    "a CSR is pending ($CSRDIR/pending.csr, generated at " \
    "$CA_DIR/cert2.pem" --key "$CA_DIR/k2.key"
# shellcheck disable=SC2016  # the backquotes are part of the message
if grep -q -F 'discard it with `sipedge-cert csr discard` to install a separate key' "$T/inst.err"; then
    ok "and says how to install a separate key"
else
    not_ok "and says how to install a separate key" "$(inst_diag)"
fi
refused "a certificate that is not for the pending CSR" \
    "$CA_DIR/cert2.pem does not belong to the pending CSR (generated at " \
    "$CA_DIR/cert2.pem"
rm -f "$CSRDIR/pending.key"
refused "a pending CSR whose key is missing" \
    "the pending CSR $CSRDIR/pending.csr (generated at" "$CA_DIR/cert2.pem"
rm -f "$CSRDIR/pending.csr"
refused "no CSR pending and no --key" "no CSR is pending" "$CA_DIR/cert2.pem"
new_csr "$CA_DIR/k3.key" "$CA_DIR/k3.csr" ec || bail_out "openssl failed"
refused "--key that does not match the certificate" \
    "the key in $CA_DIR/k3.key does not match the certificate in $CA_DIR/cert2.pem" \
    "$CA_DIR/cert2.pem" --key "$CA_DIR/k3.key"
cat "$CA_DIR/inter.pem" "$CA_DIR/cert2.pem" >"$CA_DIR/reversed.pem"
refused "the chain before the leaf" "is number 2 in $CA_DIR/reversed.pem" \
    "$CA_DIR/reversed.pem" --key "$CA_DIR/k2.key"
refused "a missing certificate file" "cannot open $T/nope.pem: No such file or directory" \
    "$T/nope.pem" --key "$CA_DIR/k2.key"
make_garbage "$T/garbage.pem"
refused "a garbage certificate file" "$T/garbage.pem holds no certificate" \
    "$T/garbage.pem" --key "$CA_DIR/k2.key"
: >"$T/empty.pem"
refused "an empty certificate file" "$T/empty.pem is empty" "$T/empty.pem" --key "$CA_DIR/k2.key"
refused "a directory as the certificate" "$T/ca is a directory" "$T/ca" --key "$CA_DIR/k2.key"
refused "a CSR given as the certificate" "$CA_DIR/k2.csr holds no certificate" \
    "$CA_DIR/k2.csr" --key "$CA_DIR/k2.key"
head -c 300 "$CA_DIR/cert2.pem" >"$T/truncated.pem"
refused "a truncated certificate file" "$T/truncated.pem" "$T/truncated.pem" --key "$CA_DIR/k2.key"
refused "a garbage --chain file" "$T/garbage.pem holds no certificate" \
    "$CA_DIR/cert2.pem" --key "$CA_DIR/k2.key" --chain "$T/garbage.pem"
refused "a missing --key file" "cannot open $T/nope.key" "$CA_DIR/cert2.pem" --key "$T/nope.key"
sign "$CA_DIR/k2.csr" "$CA_DIR/client-only.pem" 90 clientonly || bail_out "openssl failed"
refused "a certificate without serverAuth (the daemon's own checks)" \
    "has an extendedKeyUsage without serverAuth" "$CA_DIR/client-only.pem" --key "$CA_DIR/k2.key"
if grep -q -F "was not installed: 1 error above; nothing was written" "$T/inst.err"; then
    ok "and sums up: not installed, nothing written"
else
    not_ok "and sums up: not installed, nothing written" "$(inst_diag)"
fi
make_garbage "$PKI/trust.pem"
refused "a garbage tls.trust" "tls.trust: $PKI/trust.pem holds no certificate" \
    "$CA_DIR/cert2.pem" --key "$CA_DIR/k2.key"
cp "$CA_DIR/root.pem" "$PKI/trust.pem"
ossl pkey -in "$CA_DIR/k2.key" -aes256 -passout pass:secret -out "$T/enc.key"
refused "a password-protected key" "$T/enc.key is protected by a password" \
    "$CA_DIR/cert2.pem" --key "$T/enc.key"
refused "a certificate given as the key" "$CA_DIR/cert2.pem holds no private key" \
    "$CA_DIR/cert2.pem" --key "$CA_DIR/cert2.pem"
check "after the refusals the daemon still presents the second certificate" serves "$CA_DIR/cert2.pem"

# ---- 4. --no-reload
new_csr "$CA_DIR/k4.key" "$CA_DIR/k4.csr" && sign "$CA_DIR/k4.csr" "$CA_DIR/cert4.pem" || bail_out "openssl failed"
log_mark
inst "$CA_DIR/cert4.pem" --key "$CA_DIR/k4.key" --chain "$CA_DIR/inter.pem" --no-reload
expect_rc "--no-reload: exit 0, says the daemon was not asked" 0 \
    OUT "sipedged was not asked to reload (--no-reload)"
check "--no-reload: the daemon still presents the previous certificate" serves "$CA_DIR/cert2.pem"
if log_has 'event="reload started"'; then not_ok "--no-reload: no reload logged" "$(log_since_mark)"; else ok "--no-reload: no reload logged"; fi

# ---- 5. a reload the daemon refuses: a new listener on a busy port
busy=$(free_port)
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").close()
time.sleep(60)' "$busy" "$T/busy.flag" &
busy_pid=$!
track_pid "$busy_pid"
wait_file "$T/busy.flag" 5
CONF_EXTRA_LISTEN=("tcp 127.0.0.1 $busy")
write_config
new_csr "$CA_DIR/k5.key" "$CA_DIR/k5.csr" && sign "$CA_DIR/k5.csr" "$CA_DIR/cert5.pem" || bail_out "openssl failed"
inst "$CA_DIR/cert5.pem" --key "$CA_DIR/k5.key" --chain "$CA_DIR/inter.pem"
expect_rc "a refused reload: exit 1 with the daemon's error" 1 \
    ERR "sipedged refused the reload and keeps serving the previous certificate" \
    ERR "cannot listen on tcp 127.0.0.1 port $busy" \
    ERR "reload failed: 1 error; still serving the previous configuration" \
    ERR "the new files stay installed; to go back to the previous ones:"
check "the refused reload leaves the new files installed" \
    test "$(fp "$PKI/server.pem")" = "$(fp "$CA_DIR/cert5.pem")"
check "the daemon keeps presenting the second certificate" serves "$CA_DIR/cert2.pem"
# Follow the printed roll-back: mv the backups (of cert4) back.
mvs=$(grep -E '^  mv ' "$T/inst.err")
if [ "$(wc -l <<<"$mvs")" = 2 ] && grep -q "server.pem.bak-" <<<"$mvs" && grep -q "server.key.bak-" <<<"$mvs"; then
    ok "the roll-back names one mv for the certificate and one for the key"
else
    not_ok "the roll-back names one mv for the certificate and one for the key" "$(inst_diag)"
fi
while read -r _ from to; do mv "$from" "$to"; done <<<"$mvs"
check "after the roll-back, server.pem is the certificate installed before" \
    test "$(fp "$PKI/server.pem")" = "$(fp "$CA_DIR/cert4.pem")"
kill "$busy_pid" 2>/dev/null
wait "$busy_pid" 2>/dev/null
CONF_EXTRA_LISTEN=()
write_config

# ---- 6. the daemon not running
check "SIGTERM: exit status 0" stop_sipedged

# Something that takes the connection and never answers: not reloaded.
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
open(sys.argv[2], "w").close()
c, _ = s.accept()
time.sleep(30)' "$T/sipedged.ctl" "$T/mute.flag" &
mute=$!
track_pid "$mute"
wait_file "$T/mute.flag" 5
start=$(_now_ms)
inst "$CA_DIR/cert4.pem" --key "$CA_DIR/k4.key" --chain "$CA_DIR/inter.pem"
elapsed=$(($(_now_ms) - start))
expect_rc "a daemon that does not answer: exit 1, installed but not reloaded" 1 \
    ERR "sipedged at $T/sipedged.ctl did not answer within 10000 ms; the certificate is installed but sipedged was not reloaded" \
    OUT "installed $CA_DIR/cert4.pem as $PKI/server.pem"
if [ "$elapsed" -ge 9500 ] && [ "$elapsed" -lt 40000 ]; then
    ok "it waited for the 10 s deadline, then gave up (${elapsed} ms)"
else
    not_ok "it waited for the 10 s deadline, then gave up" "took ${elapsed} ms"
fi
kill "$mute" 2>/dev/null
wait "$mute" 2>/dev/null
rm -f "$T/sipedged.ctl"
# A stale socket, as a crashed daemon leaves it: connection refused.
"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sipedged.ctl"
pending_csr && sign "$CSRDIR/pending.csr" "$CA_DIR/cert6.pem" 10 || bail_out "openssl failed"
inst "$CA_DIR/cert6.pem" --chain "$CA_DIR/inter.pem"
expect_rc "install while sipedged is not running (a stale socket left): exit 0" 0 \
    OUT "sipedged is not running; the certificate is used at its next start"
expect_rc "a certificate that expires in 10 days: installed with the daemon's warning" 0 \
    ERR "warning: the certificate in $CA_DIR/cert6.pem expires on"
check "the next start presents it" start_sipedged
check "a new handshake shows the certificate installed while it was stopped" serves "$CA_DIR/cert6.pem"
not_after=$(date -u -d "$(ossl x509 -in "$CA_DIR/cert6.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
out=$(ctl_status)
if grep -q -x -E "alarms: expires on $not_after \(in (9|10) days\)" <<<"$out"; then
    ok "status shows the expiry alarm"
else
    not_ok "status shows the expiry alarm" "not_after $not_after" "$out"
fi
# ---- 7. the whole workflow with sipedge-cert's own csr new
check "sipedge-cert csr new makes the pending request" \
    timeout 30 "$SIPEDGE_CERT" -c "$CONF" csr new --key ec256
sign "$CSRDIR/pending.csr" "$CA_DIR/cert7.pem" || bail_out "openssl x509 -req failed"
inst "$CA_DIR/cert7.pem" --chain "$CA_DIR/inter.pem"
expect_rc "install of the certificate issued for it: reloaded" 0 \
    OUT "installed the key of the pending CSR" OUT "sipedged reloaded: ok"
check "new handshakes present it" serves "$CA_DIR/cert7.pem"

# ---- 8. names as RFC 5922 peers read them: a sip: URI hides the DNS names
new_csr "$CA_DIR/k8.key" "$CA_DIR/k8.csr" ec && sign "$CA_DIR/k8.csr" "$CA_DIR/cert8.pem" 90 sipuri &&
    sign "$CA_DIR/k8.csr" "$CA_DIR/cert8ok.pem" 90 sipuri_ok || bail_out "openssl failed"
inst "$CA_DIR/cert8.pem" --key "$CA_DIR/k8.key" --chain "$CA_DIR/inter.pem" --no-reload
expect_rc "a sip: URI of another name beside DNS:localhost: installed with a warning naming node.fqdn" 0 \
    ERR "warning: the certificate in $CA_DIR/cert8.pem does not name localhost (node.fqdn) (it names CN=localhost, URI:sip:other.example, DNS:localhost, IP:127.0.0.1); peers that check the name will refuse connections to that name"
expect_rc "... the warning names the rule (RFC 5922 s.7.1) and what to add" 0 \
    ERR "RFC 5922 s.7.1: a sip: URI subjectAltName (URI:sip:other.example) hides the DNS subjectAltNames, so DNS:localhost does not count; add URI:sip:localhost to the certificate"
inst "$CA_DIR/cert8ok.pem" --key "$CA_DIR/k8.key" --chain "$CA_DIR/inter.pem" --no-reload
expect_rc "with URI:sip:localhost as well: installed" 0 OUT "installed $CA_DIR/cert8ok.pem as $PKI/server.pem"
if grep -q -F "does not name" "$T/inst.err"; then
    not_ok "... without a name warning" "$(inst_diag)"
else
    ok "... without a name warning"
fi

# ---- 9. chains as RFC 5280 peers judge them (tls_path): X509_verify_cert
# alone takes these, every sipedge peer refuses them
new_csr "$CA_DIR/k9.key" "$CA_DIR/k9.csr" ec && sign "$CA_DIR/k9.csr" "$CA_DIR/cert9.pem" 90 underscore ||
    bail_out "openssl failed"
inst "$CA_DIR/cert9.pem" --key "$CA_DIR/k9.key" --chain "$CA_DIR/inter.pem" --no-reload
expect_rc "a DNS subjectAltName with an underscore: installed with a warning that peers refuse the chain" 0 \
    ERR "warning: the chain in $CA_DIR/cert9.pem is refused by peers checking it against tls.trust ($PKI/trust.pem): certificate 'O=sipedge test, CN=localhost' (depth 0) has the DNS name 'sip_edge.example' in subjectAltName, which is not in the preferred name syntax"
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CA_DIR/inc.key" \
    -out "$CA_DIR/inc.csr" -subj "/O=sipedge test/CN=Test CA non-critical" &&
    ossl x509 -req -in "$CA_DIR/inc.csr" -CA "$CA_DIR/root.pem" -CAkey "$CA_DIR/root.key" \
        -CAcreateserial -days 180 -extfile "$CA_DIR/ext.cnf" -extensions inter_nc -out "$CA_DIR/inc.pem" &&
    ossl x509 -req -in "$CA_DIR/k9.csr" -CA "$CA_DIR/inc.pem" -CAkey "$CA_DIR/inc.key" \
        -CAcreateserial -days 90 -extfile "$CA_DIR/ext.cnf" -extensions server -out "$CA_DIR/cert9nc.pem" ||
    bail_out "openssl failed: $(tail -n 5 "$T/openssl.log")"
inst "$CA_DIR/cert9nc.pem" --key "$CA_DIR/k9.key" --chain "$CA_DIR/inc.pem" --no-reload
expect_rc "an intermediate whose basicConstraints is not critical: installed with a warning naming it" 0 \
    ERR "warning: the chain in $CA_DIR/cert9nc.pem is refused by peers checking it against tls.trust ($PKI/trust.pem): certificate 'O=sipedge test, CN=Test CA non-critical' (depth 1) is a CA certificate whose basicConstraints is not marked critical"
inst "$CA_DIR/cert8ok.pem" --key "$CA_DIR/k8.key" --chain "$CA_DIR/inter.pem" --no-reload
if grep -q -F "refused by peers" "$T/inst.err"; then
    not_ok "a chain peers accept: no such warning" "$(inst_diag)"
else
    ok "a chain peers accept: no such warning"
fi

# ---- 10. back to the temporary certificate
old_temp=$(fp "$T/state/temp-server.pem")
installed=$(fp "$PKI/server.pem")
inst --temporary "$CA_DIR/cert4.pem"
expect_rc "install --temporary with a CERT: usage, exit 2" 2 ERR "install --temporary takes no CERT"
cp "$CONF" "$T/explicit.conf"
insert_after "$T/explicit.conf" '^tls: *\{' '  certificate = "pki/server.pem";' >/dev/null
timeout 30 "$SIPEDGE_CERT" -c "$T/explicit.conf" install --temporary >"$T/inst.out" 2>"$T/inst.err"
rc=$?
expect_rc "install --temporary with tls.certificate set: refused, exit 1" 1 \
    ERR "tls.certificate is set ($T/explicit.conf:"
check "... and the installed certificate is left in place" test "$(fp "$PKI/server.pem")" = "$installed"
inst --temporary
expect_rc "install --temporary: a new temporary certificate, the installed one moved aside, reloaded" 0 \
    OUT "made a new temporary certificate $T/state/temp-server.pem (" \
    OUT "the installed certificate $PKI/server.pem was moved to $PKI/server.pem.bak-" \
    OUT "the installed key $PKI/server.key was moved to $PKI/server.key.bak-" \
    OUT "sipedged reloaded: ok"
check "... the daemon presents the temporary certificate" serves "$T/state/temp-server.pem"
check "... a fresh one, from the same temporary CA" \
    eval 'test "$(fp "$T/state/temp-server.pem")" != "$old_temp" && openssl verify -CAfile "$T/state/temp-ca.pem" "$T/state/temp-server.pem" >/dev/null'
check "... server.pem and server.key are gone" test ! -e "$PKI/server.pem" -a ! -e "$PKI/server.key"
if grep -q -x "temporary: yes" <<<"$(ctl_status)"; then
    ok "... status says temporary: yes"
else
    not_ok "... status says temporary: yes" "$(ctl_status)"
fi
back=$(sed -n 's/^to go back: sipedge-cert install //p' "$T/inst.out")
# shellcheck disable=SC2086  # "CERT --key KEY" as printed
inst $back
expect_rc "the way back it printed: the previous certificate installed again" 0 OUT "sipedged reloaded: ok"
check "... and presented again" test "$(served_fp)" = "$installed"

if grep -q -F -e "-----BEGIN" "$T/all.out"; then
    not_ok "no run of install printed a key (or any PEM block)" "$(grep -F -e "-----BEGIN" "$T/all.out")"
else
    ok "no run of install printed a key (or any PEM block)"
fi
