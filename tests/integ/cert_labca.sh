#!/bin/bash
# cert_labca.sh: sipedge-cert lab-ca: init, issue (new key or a CSR made by
# openssl req), revoke, crl and list, every output checked with the openssl
# CLI (x509 -text, verify -crl_check, crl -text); each bad argument with
# its sentence and exit status; no file left behind by a failure; and the
# first run of the man page's example: a lab CA issues the server
# certificate and sipedged serves it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"
plan 117

CAD="$T/ca"                 # the lab CA most tests use
W="$T/work"                 # issued files
mkdir -p "$W"

# cert ARGS...: run sipedge-cert; stdout in $T/cmd.out, stderr in $T/cmd.err.
cert() {
    timeout 60 "$SIPEDGE_CERT" "$@" >"$T/cmd.out" 2>"$T/cmd.err"
}

# expect DESC STATUS MESSAGE ARGS...: sipedge-cert ARGS must exit STATUS and
# (unless MESSAGE is empty) say the fixed string MESSAGE on stderr.
expect() {
    local desc=$1 want=$2 msg=$3 rc
    shift 3
    cert "$@"
    rc=$?
    if grep -q -E 'Sanitizer|runtime error:' "$T/cmd.err"; then
        not_ok "$desc" "sanitizer report from sipedge-cert $*:" "$(cat "$T/cmd.err")"
    elif [ "$rc" -ne "$want" ]; then
        not_ok "$desc" "exit $rc, expected $want: sipedge-cert $*" \
            "$(cat "$T/cmd.out" "$T/cmd.err")"
    elif [ -n "$msg" ] && ! grep -q -F -e "$msg" "$T/cmd.err"; then
        not_ok "$desc" "stderr lacks '$msg':" "$(cat "$T/cmd.err")"
    else
        ok "$desc"
    fi
}

# text FILE: the openssl x509 -text of a PEM certificate.
text() {
    timeout 10 openssl x509 -in "$1" -noout -text 2>&1
}

# has DESC FILE STRING...: the x509 text of FILE holds every fixed STRING.
has() {
    local desc=$1 file=$2 out s
    shift 2
    out=$(text "$file")
    for s in "$@"; do
        if ! grep -q -F -e "$s" <<<"$out"; then
            not_ok "$desc" "no '$s' in openssl x509 -text of $file:" "$out"
            return
        fi
    done
    ok "$desc"
}

# lacks DESC FILE STRING: the x509 text of FILE does not hold STRING.
lacks() {
    local out
    out=$(text "$2")
    if grep -q -F -e "$3" <<<"$out"; then
        not_ok "$1" "'$3' in openssl x509 -text of $2:" "$out"
    else
        ok "$1"
    fi
}

# fp FILE: SHA-256 fingerprint of a certificate.
fp() {
    timeout 10 openssl x509 -in "$1" -noout -fingerprint -sha256 2>&1
}

# serial FILE: the serial of a certificate, as openssl prints it.
serial() {
    timeout 10 openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//'
}

# mode_is DESC FILE MODE
mode_is() {
    local m
    m=$(stat -c %a "$2" 2>&1)
    if [ "$m" = "$3" ]; then ok "$1"; else not_ok "$1" "mode of $2: $m"; fi
}

# absent DESC FILE...: none of the FILEs exists.
absent() {
    local desc=$1 f
    shift
    for f in "$@"; do
        if [ -e "$f" ]; then
            not_ok "$desc" "$f exists"
            return
        fi
    done
    ok "$desc"
}

# no_temp_files DESC DIR: no staged or temporary file is left in DIR.
no_temp_files() {
    local left
    left=$(find "$2" -maxdepth 1 \( -name '*.tmp*' -o -name '*.new' \) -print)
    if [ -z "$left" ]; then ok "$1"; else not_ok "$1" "left behind:" "$left"; fi
}

# epoch_of DATE: seconds since the epoch of an openssl date.
epoch_of() {
    date -u -d "$1" +%s 2>/dev/null
}

# near DESC WANT GOT: GOT (seconds) is within 5 minutes of WANT.
near() {
    if [ -n "$3" ] && [ $(($3 - $2)) -lt 300 ] && [ $(($2 - $3)) -lt 300 ]; then
        ok "$1"
    else
        not_ok "$1" "expected about $2, got '$3'"
    fi
}

# ---------------------------------------------------------------- init

expect "init --dir creates a CA" 0 "" lab-ca init --dir "$CAD"
has "ca.pem: self-signed, CA:TRUE critical, keyCertSign + cRLSign, EC P-256" "$CAD/ca.pem" \
    "Issuer: CN = sipedge lab CA" "Subject: CN = sipedge lab CA" \
    "X509v3 Basic Constraints: critical" "CA:TRUE" \
    "X509v3 Key Usage: critical" "Certificate Sign, CRL Sign" \
    "X509v3 Subject Key Identifier" "NIST CURVE: P-256"
check "ca.pem verifies against itself (a root)" \
    timeout 10 openssl verify -CAfile "$CAD/ca.pem" "$CAD/ca.pem"
mode_is "ca.key has mode 0600" "$CAD/ca.key" 600
check "ca.key is the key of ca.pem" test "$(openssl pkey -in "$CAD/ca.key" -pubout 2>&1)" = \
    "$(openssl x509 -in "$CAD/ca.pem" -noout -pubkey 2>&1)"
check "the CA is valid for 3650 days by default" \
    timeout 10 openssl x509 -in "$CAD/ca.pem" -noout -checkend $((3649 * 86400))
ca_fp=$(fp "$CAD/ca.pem")
expect "init over an existing CA is refused (exit 1)" 1 "already holds a CA" \
    lab-ca init --dir "$CAD"
check "... and the CA is unchanged" test "$(fp "$CAD/ca.pem")" = "$ca_fp"

expect "init --key rsa3072 --cn --org --days 30" 0 "" lab-ca init --dir "$T/ca2" \
    --key rsa3072 --cn "Test Root" --org "Acme Lab" --days 30
has "ca2: RSA 3072, subject O = Acme Lab, CN = Test Root" "$T/ca2/ca.pem" \
    "Public-Key: (3072 bit)" "Subject: O = Acme Lab, CN = Test Root"
if openssl x509 -in "$T/ca2/ca.pem" -noout -checkend $((29 * 86400)) >/dev/null &&
    ! openssl x509 -in "$T/ca2/ca.pem" -noout -checkend $((31 * 86400)) >/dev/null; then
    ok "ca2 is valid for 30 days"
else
    not_ok "ca2 is valid for 30 days" "$(openssl x509 -in "$T/ca2/ca.pem" -noout -dates)"
fi
expect "init --key dsa: exit 2" 2 "is not a key type" lab-ca init --dir "$T/ca3" --key dsa
expect "init --days 0: exit 2" 2 "is not a number of days" lab-ca init --dir "$T/ca3" --days 0
expect "init --days 36501: exit 2" 2 "is not a number of days" lab-ca init --dir "$T/ca3" --days 36501
expect "init with an extra argument: exit 2" 2 "unexpected argument" lab-ca init --dir "$T/ca3" extra
absent "no CA directory made by refused init commands" "$T/ca3"

# ---------------------------------------------------------------- issue

expect "issue --cn (new EC key, default usage)" 0 "" lab-ca issue --dir "$CAD" \
    --cn node1.example.com --out "$W/node1"
has "node1: CA:FALSE critical, digitalSignature only, serverAuth + clientAuth, SAN = CN" "$W/node1.pem" \
    "Subject: CN = node1.example.com" "Issuer: CN = sipedge lab CA" \
    "X509v3 Basic Constraints: critical" "CA:FALSE" \
    "X509v3 Key Usage: critical" "Digital Signature" \
    "TLS Web Server Authentication, TLS Web Client Authentication" \
    "DNS:node1.example.com" "X509v3 Authority Key Identifier"
lacks "node1: no keyEncipherment for an EC key" "$W/node1.pem" "Key Encipherment"
check "node1.pem verifies against ca.pem" \
    timeout 10 openssl verify -CAfile "$CAD/ca.pem" "$W/node1.pem"
mode_is "node1.key has mode 0600" "$W/node1.key" 600
check "node1.key is the key of node1.pem" test "$(openssl pkey -in "$W/node1.key" -pubout 2>&1)" = \
    "$(openssl x509 -in "$W/node1.pem" -noout -pubkey 2>&1)"
check "node1-chain.pem holds the certificate then the CA" \
    test "$(grep -c 'BEGIN CERTIFICATE' "$W/node1-chain.pem")" = 2 -a \
    "$(openssl x509 -in "$W/node1-chain.pem" -noout -fingerprint -sha256)" = "$(fp "$W/node1.pem")"
s1=$(serial "$W/node1.pem")
if [ ${#s1} -eq 32 ]; then
    ok "the serial has 128 bits (32 hex digits)"
else
    not_ok "the serial has 128 bits (32 hex digits)" "serial: $s1"
fi
check "the key never appears on stdout" test "$(grep -c 'PRIVATE' "$T/cmd.out")" = 0
check "node1 is valid for 365 days by default" eval \
    "openssl x509 -in '$W/node1.pem' -noout -checkend $((364 * 86400)) >/dev/null &&
     ! openssl x509 -in '$W/node1.pem' -noout -checkend $((366 * 86400)) >/dev/null"

expect "issue --server with SANs of every kind, CDP and OCSP URLs, --days 90" 0 "" \
    lab-ca issue --dir "$CAD" --cn srv.example.com --server --days 90 \
    --san srv.example.com --san 192.0.2.10 --san 2001:db8::5 --san DNS:alt.example.com \
    --san IP:198.51.100.1 --san URI:sip:srv.example.com --san sips:edge@example.com \
    --crl-url http://127.0.0.1:8080/lab.crl --ocsp-url http://127.0.0.1:8081/ocsp \
    --out "$W/srv"
has "srv: typed SANs" "$W/srv.pem" \
    "DNS:srv.example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:5, DNS:alt.example.com, IP Address:198.51.100.1, URI:sip:srv.example.com, URI:sips:edge@example.com"
has "srv: serverAuth, CRL distribution point, OCSP responder" "$W/srv.pem" \
    "TLS Web Server Authentication" "X509v3 CRL Distribution Points" \
    "URI:http://127.0.0.1:8080/lab.crl" "OCSP - URI:http://127.0.0.1:8081/ocsp"
lacks "srv: no clientAuth with --server alone" "$W/srv.pem" "TLS Web Client Authentication"
check "srv is valid for 90 days" eval \
    "openssl x509 -in '$W/srv.pem' -noout -checkend $((89 * 86400)) >/dev/null &&
     ! openssl x509 -in '$W/srv.pem' -noout -checkend $((91 * 86400)) >/dev/null"
check "srv serial differs from node1's" test "$(serial "$W/srv.pem")" != "$s1"

expect "issue --client --key-type rsa2048 --org" 0 "" lab-ca issue --dir "$CAD" \
    --cn alice --org "Acme" --client --key-type rsa2048 --out "$W/alice"
has "alice: RSA 2048, digitalSignature + keyEncipherment, clientAuth" "$W/alice.pem" \
    "Public-Key: (2048 bit)" "Digital Signature, Key Encipherment" \
    "TLS Web Client Authentication" "Subject: O = Acme, CN = alice" "DNS:alice"
lacks "alice: no serverAuth with --client alone" "$W/alice.pem" "TLS Web Server Authentication"

# A CSR made by openssl, with its own subject and names.
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/req.key" -out "$W/req.csr" \
    -subj "/O=Req Org/CN=csrnode.example.com" \
    -addext "subjectAltName=DNS:csrnode.example.com,IP:192.0.2.7" >/dev/null 2>&1 ||
    bail_out "openssl req cannot make a CSR"
expect "issue --csr (openssl req) --san" 0 "" lab-ca issue --dir "$CAD" \
    --csr "$W/req.csr" --san extra.example.com --out "$W/csrnode"
has "csrnode: subject and names of the CSR, plus --san" "$W/csrnode.pem" \
    "Subject: O = Req Org, CN = csrnode.example.com" \
    "DNS:csrnode.example.com, IP Address:192.0.2.7, DNS:extra.example.com"
check "csrnode.pem carries the CSR's public key" test \
    "$(openssl req -in "$W/req.csr" -noout -pubkey 2>&1)" = \
    "$(openssl x509 -in "$W/csrnode.pem" -noout -pubkey 2>&1)"
absent "no key file is written for a CSR" "$W/csrnode.key"
openssl req -in "$W/req.csr" -outform DER -out "$W/req.der" 2>/dev/null
expect "issue --csr of a DER CSR, with --cn overriding its CN" 0 "" lab-ca issue --dir "$CAD" \
    --csr "$W/req.der" --cn other.example.com --out "$W/csrder"
has "csrder: CN from --cn" "$W/csrder.pem" "CN = other.example.com"

# Every subject field of the CSR is kept; --org replaces O in its place.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/full.key" \
    -out "$W/full.csr" -subj "/C=DE/ST=Bavaria/L=Munich/O=Req Org/OU=Voice/CN=full.example.com/emailAddress=pki@example.com" \
    >/dev/null 2>&1 || bail_out "openssl req cannot make a CSR"
expect "issue --csr with C, ST, L, O, OU, CN and emailAddress" 0 "" lab-ca issue --dir "$CAD" \
    --csr "$W/full.csr" --out "$W/full"
has "full: the CSR's whole subject, in its order; the CA's names" "$W/full.pem" \
    "Subject: C = DE, ST = Bavaria, L = Munich, O = Req Org, OU = Voice, CN = full.example.com, emailAddress = pki@example.com" \
    "DNS:full.example.com"
expect "issue --csr --org: O replaced where it was" 0 "" lab-ca issue --dir "$CAD" \
    --csr "$W/full.csr" --org "CA Org" --out "$W/fullorg"
has "fullorg: O = CA Org, the other fields as requested" "$W/fullorg.pem" \
    "Subject: C = DE, ST = Bavaria, L = Munich, O = CA Org, OU = Voice, CN = full.example.com, emailAddress = pki@example.com"

# The same CSR with one byte of its subject changed: it parses, but its
# signature no longer verifies (openssl says so first).
"$PYTHON" - "$W/req.der" "$W/bad.der" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"csrnode")
open(sys.argv[2], "wb").write(d[:i] + b"X" + d[i + 1:])
EOF
# (openssl 3.0 req -verify exits 0 either way: read what it says.)
out=$(openssl req -in "$W/bad.der" -inform DER -noout -verify 2>&1)
if grep -q -F "verify failure" <<<"$out" && ! grep -q -F "verify OK" <<<"$out"; then
    ok "openssl agrees the altered CSR's signature is bad"
else
    not_ok "openssl agrees the altered CSR's signature is bad" "$out"
fi
expect "issue --csr with a bad signature: exit 1" 1 "does not verify" \
    lab-ca issue --dir "$CAD" --csr "$W/bad.der" --out "$W/bad"
make_garbage "$W/garbage.csr"
expect "issue --csr of garbage: exit 1" 1 "holds no certificate signing request" \
    lab-ca issue --dir "$CAD" --csr "$W/garbage.csr" --out "$W/bad"
expect "issue --csr of a missing file: exit 1" 1 "cannot open" \
    lab-ca issue --dir "$CAD" --csr "$W/nothere.csr" --out "$W/bad"
openssl req -new -newkey rsa:1024 -nodes -keyout "$W/weak.key" -out "$W/weak.csr" \
    -subj "/CN=weak" >/dev/null 2>&1
expect "issue --csr with an RSA 1024 key: exit 1" 1 "at least 2048" \
    lab-ca issue --dir "$CAD" --csr "$W/weak.csr" --out "$W/bad"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/nocn.key" \
    -out "$W/nocn.csr" -subj "/O=No CN" >/dev/null 2>&1
expect "issue --csr without a CN and no --cn: exit 1" 1 "has no CN" \
    lab-ca issue --dir "$CAD" --csr "$W/nocn.csr" --out "$W/bad"

# Bad arguments: exit 2, nothing generated.
expect "unknown SAN type: exit 2" 2 "\"email\" is not a name type" \
    lab-ca issue --dir "$CAD" --cn x --san email:a@b.c --out "$W/bad"
expect "bad DNS name: exit 2" 2 "\"bad name\" is not a host name: it has the character ' '" \
    lab-ca issue --dir "$CAD" --cn x --san "DNS:bad name" --out "$W/bad"
expect "bad IP address: exit 2" 2 "is not an IPv4 or IPv6 address" \
    lab-ca issue --dir "$CAD" --cn x --san IP:300.1.2.3 --out "$W/bad"
expect "bad URI: exit 2" 2 "is not a URI" \
    lab-ca issue --dir "$CAD" --cn x --san URI:nocolon --out "$W/bad"
expect "--days 0: exit 2" 2 "is not a number of days" \
    lab-ca issue --dir "$CAD" --cn x --days 0 --out "$W/bad"
expect "--days abc: exit 2" 2 "is not a number of days" \
    lab-ca issue --dir "$CAD" --cn x --days abc --out "$W/bad"
expect "--crl-url ftp://: exit 2" 2 "is not an http:// or https:// URL" \
    lab-ca issue --dir "$CAD" --cn x --crl-url ftp://a/b.crl --out "$W/bad"
expect "--ocsp-url with a space: exit 2" 2 "has a space" \
    lab-ca issue --dir "$CAD" --cn x --ocsp-url "http://a/b c" --out "$W/bad"
expect "--key-type dsa: exit 2" 2 "is not a key type" \
    lab-ca issue --dir "$CAD" --cn x --key-type dsa --out "$W/bad"
expect "--csr with --key-type: exit 2" 2 "exclude each other" \
    lab-ca issue --dir "$CAD" --csr "$W/req.csr" --key-type ec --out "$W/bad"
expect "no --cn and no --csr: exit 2" 2 "--cn NAME is required" \
    lab-ca issue --dir "$CAD" --out "$W/bad"
expect "a CN of 65 characters: exit 2" 2 "at most 64" \
    lab-ca issue --dir "$CAD" --cn "$(printf 'a%.0s' $(seq 65))" --out "$W/bad"
expect "unknown option: exit 2" 2 "unknown option --bogus" \
    lab-ca issue --dir "$CAD" --cn x --bogus --out "$W/bad"
expect "option without its value: exit 2" 2 "--days needs a value" \
    lab-ca issue --dir "$CAD" --cn x --out "$W/bad" --days
expect "validity past the CA's (30-day CA, --days 60): exit 1" 1 "would outlive the CA" \
    lab-ca issue --dir "$T/ca2" --cn x --days 60 --out "$W/bad"
expect "issue without a CA: exit 1" 1 "there is no lab CA in $T/none" \
    lab-ca issue --dir "$T/none" --cn x --out "$W/bad"
absent "no output file from any refused issue" "$W/bad.pem" "$W/bad.key" "$W/bad-chain.pem"
node1_fp=$(fp "$W/node1.pem")
expect "issue over existing files is refused without --force" 1 "already exists" \
    lab-ca issue --dir "$CAD" --cn node1.example.com --out "$W/node1"
check "... and node1.pem is unchanged" test "$(fp "$W/node1.pem")" = "$node1_fp"

# A failure while writing: the chain's name is taken by a directory.
mkdir -p "$W/fail-chain.pem"
lines=$(wc -l <"$CAD/index.txt")
expect "issue that cannot write its chain file: exit 1" 1 "fail-chain.pem" \
    lab-ca issue --dir "$CAD" --cn fail --out "$W/fail" --force
absent "... removes the key and certificate it wrote" "$W/fail.pem" "$W/fail.key"
no_temp_files "... and leaves no temporary file" "$W"
check "... and records nothing in the index" test "$(wc -l <"$CAD/index.txt")" = "$lines"

# ---------------------------------------------------------------- revoke, crl

srv_serial=$(serial "$W/srv.pem")
expect "revoke SERIAL --reason keyCompromise" 0 "" \
    lab-ca revoke "$srv_serial" --reason keyCompromise --dir "$CAD"
expect "revoke the same serial again: exit 1" 1 "already revoked" \
    lab-ca revoke "$srv_serial" --dir "$CAD"
expect "revoke CERTFILE (alice.pem) --reason superseded" 0 "" \
    lab-ca revoke "$W/alice.pem" --reason superseded --dir "$CAD"
expect "revoke an unknown serial: exit 1" 1 "no certificate with serial" \
    lab-ca revoke 0123456789ABCDEF --dir "$CAD"
expect "revoke something that is neither serial nor file: exit 1" 1 "is not a serial number" \
    lab-ca revoke not-a-serial --dir "$CAD"
expect "revoke a certificate of another CA: exit 1" 1 "was not issued by the CA" \
    lab-ca revoke "$T/ca2/ca.pem" --dir "$CAD"
expect "revoke --reason bogus: exit 2" 2 "is not a revocation reason" \
    lab-ca revoke "$s1" --reason bogus --dir "$CAD"
expect "revoke without an argument: exit 2" 2 "give one SERIAL or CERTFILE" \
    lab-ca revoke --dir "$CAD"

expect "lab-ca list" 0 "" lab-ca list --dir "$CAD"
if grep -q -E "^$srv_serial +revoked " "$T/cmd.out" &&
    grep -q -E "^$s1 +valid " "$T/cmd.out" &&
    grep -q -F "reason keyCompromise" "$T/cmd.out" &&
    grep -q -F "7 certificates issued: 5 valid, 2 revoked, 0 expired" "$T/cmd.out"; then
    ok "list shows each certificate with its status and reason"
else
    not_ok "list shows each certificate with its status and reason" "$(cat "$T/cmd.out")"
fi

expect "lab-ca crl" 0 "" lab-ca crl --dir "$CAD"
crltext=$(openssl crl -in "$CAD/crl.pem" -noout -text 2>&1)
if grep -q -F "Issuer: CN = sipedge lab CA" <<<"$crltext" &&
    grep -q -A1 -F "X509v3 CRL Number" <<<"$crltext" &&
    [ "$(grep -A1 -F "X509v3 CRL Number" <<<"$crltext" | tail -n 1 | tr -d ' ')" = 1 ] &&
    grep -q -F "Serial Number: $srv_serial" <<<"$crltext" &&
    grep -q -F "Key Compromise" <<<"$crltext" && grep -q -F "Superseded" <<<"$crltext" &&
    ! grep -q -F "Serial Number: $s1" <<<"$crltext"; then
    ok "crl.pem: issuer, CRL number 1, the two revoked serials with their reasons"
else
    not_ok "crl.pem: issuer, CRL number 1, the two revoked serials with their reasons" "$crltext"
fi
check "crl.pem is signed by the CA" \
    timeout 10 openssl crl -in "$CAD/crl.pem" -noout -CAfile "$CAD/ca.pem"
check "crl.der is the same CRL in DER" test \
    "$(openssl crl -in "$CAD/crl.der" -inform DER -noout -fingerprint -sha256 2>&1)" = \
    "$(openssl crl -in "$CAD/crl.pem" -noout -fingerprint -sha256 2>&1)"
near "nextUpdate is 7 days from now by default" $(($(date +%s) + 7 * 86400)) \
    "$(epoch_of "$(openssl crl -in "$CAD/crl.pem" -noout -nextupdate | cut -d= -f2)")"

if ! out=$(timeout 10 openssl verify -CAfile "$CAD/ca.pem" -crl_check -CRLfile "$CAD/crl.pem" "$W/srv.pem" 2>&1) &&
    grep -q -F "certificate revoked" <<<"$out"; then
    ok "openssl verify -crl_check: the revoked srv.pem fails"
else
    not_ok "openssl verify -crl_check: the revoked srv.pem fails" "$out"
fi
check "openssl verify -crl_check: node1.pem passes" \
    timeout 10 openssl verify -CAfile "$CAD/ca.pem" -crl_check -CRLfile "$CAD/crl.pem" "$W/node1.pem"
check "openssl verify -crl_check: csrnode.pem passes" \
    timeout 10 openssl verify -CAfile "$CAD/ca.pem" -crl_check -CRLfile "$CAD/crl.pem" "$W/csrnode.pem"

expect "lab-ca crl --days 30 --out FILE.pem" 0 "" lab-ca crl --dir "$CAD" --days 30 --out "$W/pub/lab.pem"
check "the second CRL has number 2 and a DER copy in lab.der" test \
    "$(openssl crl -in "$W/pub/lab.der" -inform DER -noout -crlnumber 2>&1)" = "crlNumber=0x02"
near "its nextUpdate is 30 days from now" $(($(date +%s) + 30 * 86400)) \
    "$(epoch_of "$(openssl crl -in "$W/pub/lab.pem" -noout -nextupdate | cut -d= -f2)")"
expect "crl --days 0: exit 2" 2 "is not a number of days" lab-ca crl --dir "$CAD" --days 0
mkdir -p "$W/c2.der"
expect "crl whose DER file cannot be written: exit 1" 1 "c2.der" \
    lab-ca crl --dir "$CAD" --out "$W/c2.pem"
absent "... writes no PEM file either" "$W/c2.pem"
no_temp_files "... and leaves no temporary file" "$W"

# ---------------------------------------------------------------- init --force

mkdir -p "$T/ca2/index.txt.new"
ca2_fp=$(fp "$T/ca2/ca.pem")
expect "init --force that fails while staging: exit 1" 1 "index.txt.new" \
    lab-ca init --dir "$T/ca2" --force
check "... leaves the old CA in place" test "$(fp "$T/ca2/ca.pem")" = "$ca2_fp"
absent "... and no staged file" "$T/ca2/ca.key.new" "$T/ca2/ca.pem.new"
rmdir "$T/ca2/index.txt.new"
expect "init --force replaces a CA" 0 "" lab-ca init --dir "$CAD" --force
check "... with a new certificate" test "$(fp "$CAD/ca.pem")" != "$ca_fp"
check "... an empty index, and no CRL of the old CA" eval \
    "! grep -q -v '^#' '$CAD/index.txt' && test ! -e '$CAD/crl.pem' -a ! -e '$CAD/crl.der'"

# ---------------------------------------------------------------- usage

expect "lab-ca without a command: exit 2" 2 "give a command" lab-ca
expect "lab-ca frob: exit 2" 2 "unknown command 'frob'" lab-ca frob
expect "lab-ca --help: exit 0" 0 "" lab-ca --help
expect "list of an empty directory: exit 1" 1 "there is no lab CA" lab-ca list --dir "$T/none"
expect "without --dir, a missing configuration: exit 1" 1 "cannot use configuration" \
    -c "$T/missing.conf" lab-ca list

# ---------------------------------------------------------------- first run

# The man page's example: with the daemon's config, a lab CA in its state
# directory issues the server certificate to the default pki/ paths, and
# sipedged serves it instead of a temporary one.
shipped_config || bail_out "cannot adapt the shipped configuration"
expect "-c CONF lab-ca init: the CA goes to <state_dir>/lab-ca" 0 "" -c "$CONF" lab-ca init
check "... $T/state/lab-ca/ca.pem exists" test -s "$T/state/lab-ca/ca.pem"
expect "-c CONF lab-ca issue --cn localhost --san 127.0.0.1 --out pki/server" 0 "" \
    -c "$CONF" lab-ca issue --cn localhost --san localhost --san 127.0.0.1 --out "$T/pki/server"
if start_sipedged; then
    ok "sipedged starts with the lab CA's certificate"
else
    not_ok "sipedged starts with the lab CA's certificate"
fi
printf 'OPTIONS sip:x SIP/2.0\r\n\r\n' |
    timeout 8 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$T/state/lab-ca/ca.pem" \
        -verify_return_error -verify_hostname localhost -ign_eof -nocommands >"$T/s_client.out" 2>&1
if grep -q -F "Verify return code: 0 (ok)" "$T/s_client.out" &&
    grep -q -F "CN = localhost" "$T/s_client.out"; then
    ok "openssl s_client verifies the server against the lab CA"
else
    not_ok "openssl s_client verifies the server against the lab CA" "$(tail -n 30 "$T/s_client.out")"
fi
absent "no temporary certificate was made" "$T/state/temp-server.pem"
check "SIGTERM: exit status 0" stop_sipedged
