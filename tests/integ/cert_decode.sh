#!/bin/bash
# cert_decode.sh: sipedge-cert decode and convert on certificates, chains,
# CSRs, CRLs and keys made by the openssl CLI, in PEM (also with CRLF and
# without a final newline) and DER; what decode prints is checked against
# what openssl says of the same file, and convert's output byte for byte
# against openssl's.  Garbage, empty files, directories and missing files
# get a sentence and exit 1; wrong arguments exit 2.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 68

[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"

OUT="$T/cert.out"
ERR="$T/cert.err"
RC=0
P="$T/pki"
mkdir -p "$P/ca/new"

# ------------------------------------------------------------ inputs (openssl)

# make_inputs: a CA, a server certificate with every extension decode shows,
# an expired and a not yet valid one, a CSR, a CRL revoking two of them with
# reasons, and keys in several forms.
make_inputs() {
    cd "$P" || return 1
    : >ca/index
    echo 1000 >ca/serial
    echo 05 >ca/crlnumber
    cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
database = $P/ca/index
new_certs_dir = $P/ca/new
serial = $P/ca/serial
crlnumber = $P/ca/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 7
policy = p
unique_subject = no
[p]
commonName = supplied
organizationName = optional
EOF
    cat >server.ext <<EOF
subjectAltName = DNS:sip.example.com, IP:192.0.2.1
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
crlDistributionPoints = URI:http://crl.example.com/ca.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.com/
EOF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.pem -days 30 -subj "/CN=Decode Test CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj "/O=Example/CN=sip.example.com" \
            -addext "subjectAltName=DNS:sip.example.com,URI:sip:example.com" \
            -addext "extendedKeyUsage=serverAuth,clientAuth" &&
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -notext \
            -in server.csr -out server.pem -days 10 -extfile server.ext &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout old.key -out old.csr -subj "/CN=old.example.com" &&
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -notext \
            -in old.csr -out expired.pem -startdate 20200101000000Z -enddate 20210101000000Z &&
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -notext \
            -in old.csr -out future.pem -startdate 20990101000000Z -enddate 20991231000000Z &&
        openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke server.pem \
            -crl_reason keyCompromise &&
        openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke expired.pem \
            -crl_reason superseded &&
        openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -gencrl -out ca.crl &&
        cat server.pem ca.pem >chain.pem &&
        sed 's/$/\r/' chain.pem | head -c -2 >chain-crlf.pem &&
        head -c -1 server.pem >server-nonl.pem &&
        sed 's/$/\r/' server.pem >server-crlf.pem &&
        openssl x509 -in server.pem -outform der -out server.der &&
        openssl crl -in ca.crl -outform der -out ca.crl.der &&
        openssl req -in server.csr -outform der -out server.csr.der &&
        openssl pkey -in server.key -outform der -out server.key.der &&
        openssl ecparam -name secp384r1 -genkey -noout -out ec384.key &&
        openssl pkey -in server.key -aes256 -passout pass:secret -out enc.key &&
        openssl pkey -in server.key -traditional -aes256 -passout pass:secret -out enc-trad.key &&
        openssl pkcs8 -topk8 -in server.key -v2 aes256 -passout pass:secret \
            -outform der -out enc.key.der &&
        openssl pkey -in server.key -pubout -out public.pem &&
        cat server.pem server.key >combined.pem &&
        head -n 10 server.pem >truncated.pem
}
make_inputs >"$T/openssl.log" 2>&1 || bail_out "openssl could not make the inputs: $(tail -n 5 "$T/openssl.log")"
cd "$T" || bail_out "cannot cd to $T"
grep -q "^-----BEGIN EC PRIVATE KEY" "$P/ec384.key" || bail_out "ec384.key is not a traditional EC key"
grep -q "Proc-Type: 4,ENCRYPTED" "$P/enc-trad.key" || bail_out "enc-trad.key is not a traditional encrypted key"

# run ARGS...: run sipedge-cert; stdout in $OUT, stderr in $ERR, status in RC.
run() {
    timeout 60 "$SIPEDGE_CERT" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
}

# expect_fail DESC STATUS TEXT ARGS...: sipedge-cert ARGS exits with STATUS
# and says TEXT (a fixed string) on stderr.
expect_fail() {
    local desc=$1 want=$2 text=$3
    shift 3
    run "$@"
    if [ "$RC" -eq "$want" ] && grep -q -F -e "$text" "$ERR"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC (want $want); want on stderr: $text" \
            "stderr: $(cat "$ERR")" "stdout: $(head -n 5 "$OUT")"
    fi
}

# field LABEL [N]: the value of the Nth (default first) "  LABEL:  value"
# line that decode printed.
field() {
    awk -v l="  $1:" -v n="${2:-1}" 'index($0, l) == 1 && ++i == n {
        v = substr($0, length(l) + 1); sub(/^ +/, "", v); print v; exit }' "$OUT"
}

# is_value WHAT GOT WANT: ok when equal, else not_ok showing both.
is_value() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "got:  $2" "want: $3"
    fi
}

# has_all FILE STRING...: FILE holds every fixed STRING.
has_all() {
    local file=$1 s
    shift
    for s in "$@"; do
        grep -q -F -e "$s" "$file" || {
            echo "missing: $s"
            cat "$file"
            return 1
        }
    done
}

# iso DATE: an openssl date ("Dec  7 00:10:04 2026 GMT") in ISO 8601 UTC.
iso() {
    date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ
}

# x509_value FILE OPTION...: what openssl x509 -noout OPTION... prints
# after the "=".
x509_value() {
    local file=$1
    shift
    openssl x509 -in "$file" -noout "$@" | sed 's/^[^=]*=//'
}

# body FILE: decode's output without its first line (the file name) and
# without the status lines, whose day counts move with the clock.
body() {
    tail -n +2 "$1" | grep -v "^  status:"
}

# no_key_material: nothing of the server key is in the output.
no_key_material() {
    local line
    line=$(sed -n 3p "$P/server.key")
    ! grep -q -e "PRIVATE KEY" -e "$line" "$OUT" "$ERR"
}

# ------------------------------------------------------------ decode: certificates

run decode "$P/server.pem"
is_value "decode a PEM certificate: exit 0, kind named" "$RC $(head -n 1 "$OUT")" \
    "0 $P/server.pem: certificate (PEM)"
cp "$OUT" "$T/server.txt"
check "subject and issuer" has_all "$OUT" "CN=sip.example.com" "issuer:              CN=Decode Test CA"
is_value "serial as openssl prints it" "$(field serial)" "$(x509_value "$P/server.pem" -serial)"
is_value "SHA-256 fingerprint as openssl prints it" "$(field "SHA-256 fingerprint")" \
    "$(x509_value "$P/server.pem" -fingerprint -sha256)"
is_value "not before / not after in ISO 8601 UTC" "$(field "not before") $(field "not after")" \
    "$(iso "$(x509_value "$P/server.pem" -startdate)") $(iso "$(x509_value "$P/server.pem" -enddate)")"
is_value "a current certificate is Valid" "$(field status | cut -d' ' -f1)" "Valid"
is_value "key type and size" "$(field key)" "RSA 2048"
is_value "subject alternative names" "$(field names)" "DNS:sip.example.com, IP:192.0.2.1"
is_value "key usage" "$(field "key usage")" "digitalSignature, keyEncipherment"
is_value "extended key usage" "$(field "extended key usage")" "serverAuth, clientAuth"
is_value "basicConstraints, CRL distribution point and OCSP URL" \
    "$(field CA) | $(field "CRL distribution") | $(field OCSP)" \
    "no (no basicConstraints) | http://crl.example.com/ca.crl | http://ocsp.example.com/"

run decode "$P/chain.pem"
if [ "$RC" -eq 0 ] && has_all "$OUT" "certificate chain of 2 certificates (PEM)" \
    "Certificate 1 of 2" "Certificate 2 of 2" "the subject itself (self-signed)" >/dev/null &&
    [ "$(field CA 2)" = "yes (path length 0)" ] && [ "$(field key 2)" = "EC P-256" ]; then
    ok "decode a chain: each certificate, the CA with its path length"
else
    not_ok "decode a chain: each certificate, the CA with its path length" "exit $RC" "$(cat "$OUT" "$ERR")"
fi
cp "$OUT" "$T/chain.txt"

run decode "$P/chain-crlf.pem"
check "a chain with CRLF and no final newline decodes the same" cmp <(body "$OUT") <(body "$T/chain.txt")
run decode "$P/server-nonl.pem"
check "a certificate without a final newline decodes the same" cmp <(body "$OUT") <(body "$T/server.txt")
run decode "$P/server.der"
if [ "$RC" -eq 0 ] && [ "$(head -n 1 "$OUT")" = "$P/server.der: certificate (DER)" ] &&
    cmp -s <(body "$OUT") <(body "$T/server.txt"); then
    ok "a DER certificate is recognised and decodes the same"
else
    not_ok "a DER certificate is recognised and decodes the same" "exit $RC" "$(cat "$OUT" "$ERR")"
fi

run decode "$P/expired.pem"
check "an expired certificate says Expired" grep -q "status: *Expired (" "$OUT"
run decode "$P/future.pem"
check "a certificate from 2099 says Not yet valid" grep -q "status: *Not yet valid (" "$OUT"

run decode "$P/combined.pem"
if [ "$RC" -eq 0 ] && grep -q "also holds a private key, which is not shown" "$OUT" &&
    no_key_material; then
    ok "a certificate with its key: the certificate, and the key not shown"
else
    not_ok "a certificate with its key: the certificate, and the key not shown" "$(cat "$OUT")"
fi

# ------------------------------------------------------------ decode: CSR

run decode "$P/server.csr"
if [ "$RC" -eq 0 ] && grep -q "^  subject: .*O=Example.*CN=sip.example.com$" "$OUT"; then
    ok "decode a CSR: subject"
else
    not_ok "decode a CSR: subject" "exit $RC" "$(cat "$OUT" "$ERR")"
fi
is_value "CSR: key, names, EKU, signature" \
    "$(field key) | $(field names) | $(field "extended key usage") | $(field signature)" \
    "RSA 2048 | DNS:sip.example.com, URI:sip:example.com | serverAuth, clientAuth | ok"
run decode "$P/server.csr.der"
is_value "a DER CSR is recognised" "$RC $(head -n 1 "$OUT") $(field signature)" \
    "0 $P/server.csr.der: certificate signing request (DER) ok"
# Flip one bit in the last byte: the signature no longer verifies.
"$PYTHON" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[2], "wb").write(b)' \
    "$P/server.csr.der" "$P/tampered.csr.der"
run decode "$P/tampered.csr.der"
check "a CSR with a damaged signature says it does not verify" grep -q "signature: *does not verify" "$OUT"

# ------------------------------------------------------------ decode: CRL

run decode "$P/ca.crl"
if [ "$RC" -eq 0 ] && [ "$(field issuer)" = "CN=Decode Test CA" ] &&
    [ "$(field "CRL number")" = 5 ] && [ "$(field revoked)" = "2 certificates" ]; then
    ok "decode a CRL: issuer, number, count"
else
    not_ok "decode a CRL: issuer, number, count" "exit $RC" "$(cat "$OUT" "$ERR")"
fi
cp "$OUT" "$T/crl.txt"
check "each revoked serial with its reason" \
    has_all "$OUT" "serial $(x509_value "$P/server.pem" -serial)  revoked " \
    "serial $(x509_value "$P/expired.pem" -serial)  revoked " "keyCompromise" "superseded"
is_value "this update / next update as openssl prints them" \
    "$(field "this update") $(field "next update")" \
    "$(iso "$(openssl crl -in "$P/ca.crl" -noout -lastupdate | sed 's/^[^=]*=//')") $(iso "$(openssl crl -in "$P/ca.crl" -noout -nextupdate | sed 's/^[^=]*=//')")"
REVDATE=$(openssl crl -in "$P/ca.crl" -noout -text | sed -n 's/^ *Revocation Date: //p' | head -n 1)
check "the revocation date as openssl prints it" grep -q -F "revoked $(iso "$REVDATE")" "$OUT"
run decode "$P/ca.crl.der"
if [ "$RC" -eq 0 ] && grep -q "certificate revocation list (DER)" "$OUT" &&
    cmp -s <(body "$OUT") <(body "$T/crl.txt"); then
    ok "a DER CRL is recognised and decodes the same"
else
    not_ok "a DER CRL is recognised and decodes the same" "exit $RC" "$(cat "$OUT" "$ERR")"
fi

# ------------------------------------------------------------ decode: keys

run decode "$P/server.key"
if [ "$RC" -eq 0 ] && [ "$(field "type and size")" = "RSA 2048" ] && no_key_material; then
    ok "decode a PEM key: type and size only"
else
    not_ok "decode a PEM key: type and size only" "exit $RC" "$(cat "$OUT" "$ERR")"
fi
run decode "$P/ec384.key"
is_value "a traditional EC key" "$RC $(field "type and size")" "0 EC P-384"
run decode "$P/server.key.der"
if [ "$RC" -eq 0 ] && [ "$(field "type and size")" = "RSA 2048" ] &&
    grep -q "private key (DER)" "$OUT" && no_key_material; then
    ok "a DER key is recognised: type and size only"
else
    not_ok "a DER key is recognised: type and size only" "exit $RC" "$(cat "$OUT" "$ERR")"
fi

# encrypted_case FILE: decode says password-protected and nothing else.
encrypted_case() {
    run decode "$1"
    [ "$RC" -eq 0 ] && grep -q "password-protected private key" "$OUT" &&
        ! grep -q -e "type and size" -e "RSA" "$OUT" && no_key_material
}
check "a password-protected PKCS#8 key: said so, nothing else" encrypted_case "$P/enc.key"
check "a password-protected traditional key: said so, nothing else" encrypted_case "$P/enc-trad.key"
check "a password-protected DER key: said so, nothing else" encrypted_case "$P/enc.key.der"

# ------------------------------------------------------------ decode: bad input

make_garbage "$T/garbage.bin"
: >"$T/empty.pem"
mkdir -p "$T/adir"
expect_fail "garbage: exit 1" 1 "garbage.bin holds no certificate, certificate chain, CSR, CRL or private key" \
    decode "$T/garbage.bin"
expect_fail "an empty file: exit 1" 1 "empty.pem is empty" decode "$T/empty.pem"
expect_fail "a directory: exit 1" 1 "adir is a directory, not a file" decode "$T/adir"
expect_fail "a missing file: exit 1" 1 "cannot open $T/missing.pem" decode "$T/missing.pem"
expect_fail "a PEM public key is none of them: exit 1" 1 "its PEM blocks are of no such type" \
    decode "$P/public.pem"
expect_fail "a truncated PEM certificate: exit 1" 1 "is truncated" \
    decode "$P/truncated.pem"
expect_fail "decode without a file: usage" 2 "name the FILE" decode
expect_fail "decode with two files: usage" 2 "one FILE at a time" decode "$P/ca.pem" "$P/ca.crl"
expect_fail "decode --bogus: usage" 2 "unknown option --bogus" decode --bogus "$P/ca.pem"

# ------------------------------------------------------------ convert

run convert "$P/server.pem" --to der -o "$T/server.der"
if [ "$RC" -eq 0 ] && cmp -s "$T/server.der" <(openssl x509 -in "$P/server.pem" -outform der); then
    ok "convert a PEM certificate to DER: the bytes openssl writes"
else
    not_ok "convert a PEM certificate to DER: the bytes openssl writes" "exit $RC" "$(cat "$ERR")"
fi
is_value "the certificate is written mode 0644" "$(stat -c %a "$T/server.der")" 644
run convert "$P/server.der" --to pem
check "convert DER to PEM on stdout: the text openssl writes" \
    cmp "$OUT" <(openssl x509 -inform der -in "$P/server.der")
run convert "$P/server-crlf.pem" -o "$T/crlf.der" --to DER
check "a PEM with CRLF line ends to DER (--to DER, -o first)" \
    cmp "$T/crlf.der" <(openssl x509 -in "$P/server.pem" -outform der)
run convert "$P/server-nonl.pem" --to der
check "a PEM without a final newline to DER" \
    cmp "$OUT" <(openssl x509 -in "$P/server.pem" -outform der)

echo "previous content" >"$T/keep.der"
expect_fail "a chain to DER is refused with a sentence" 1 "holds a chain of 2 certificates" \
    convert "$P/chain.pem" --to der -o "$T/keep.der"
if [ "$(cat "$T/keep.der")" = "previous content" ] && [ -z "$(ls "$T"/keep.der.* 2>/dev/null)" ]; then
    ok "the refused convert left the existing output as it was, no temporary file"
else
    not_ok "the refused convert left the existing output as it was, no temporary file" "$(ls -la "$T")"
fi
run convert "$P/chain.pem" --to pem -o "$T/keep.der"
check "a chain to PEM replaces the output file with the chain" cmp "$T/keep.der" "$P/chain.pem"

run convert "$P/server.csr" --to der
check "a CSR to DER: the bytes openssl writes" cmp "$OUT" "$P/server.csr.der"
run convert "$P/server.csr.der" --to pem
check "a DER CSR to PEM: the text openssl writes" cmp "$OUT" "$P/server.csr"
run convert "$P/ca.crl" --to der
check "a CRL to DER: the bytes openssl writes" cmp "$OUT" "$P/ca.crl.der"
run convert "$P/ca.crl.der" --to pem
check "a DER CRL to PEM: the text openssl writes" cmp "$OUT" <(openssl crl -in "$P/ca.crl")

# key_case IN FORM OUT: convert key IN to FORM in OUT; mode 0600, same key.
key_case() {
    run convert "$1" --to "$2" -o "$3"
    [ "$RC" -eq 0 ] && [ "$(stat -c %a "$3")" = 600 ] &&
        cmp -s <(openssl pkey -in "$3" -inform "$2" -pubout) <(openssl pkey -in "$P/server.key" -pubout) &&
        no_key_material
}
check "a key to DER: mode 0600, the same key" key_case "$P/server.key" der "$T/out.key.der"
check "a DER key to PEM: mode 0600, the same key" key_case "$P/server.key.der" pem "$T/out.key.pem"
expect_fail "a key is never written to stdout" 1 "never prints a key" convert "$P/server.key" --to pem
check "nothing of the key reached stdout" test ! -s "$OUT"
expect_fail "a password-protected key cannot be converted" 1 "protected by a password" \
    convert "$P/enc.key" --to der -o "$T/enc.der"

# DER is refused on a terminal: give sipedge-cert a pty as its stdout.
"$PYTHON" - "$SIPEDGE_CERT" convert "$P/server.pem" --to der >"$T/pty.out" 2>&1 <<'EOF'
import os, subprocess, sys
master, slave = os.openpty()
p = subprocess.run(sys.argv[1:], stdout=slave, stderr=subprocess.PIPE, timeout=30)
os.close(slave)
os.close(master)
sys.stdout.write(p.stderr.decode())
sys.exit(p.returncode)
EOF
PTY_RC=$?
if [ "$PTY_RC" -eq 1 ] && grep -q "refusing to write binary DER to a terminal" "$T/pty.out"; then
    ok "DER to a terminal is refused"
else
    not_ok "DER to a terminal is refused" "exit $PTY_RC" "$(cat "$T/pty.out")"
fi

expect_fail "convert garbage: exit 1" 1 "can convert" convert "$T/garbage.bin" --to pem
expect_fail "convert an empty file: exit 1" 1 "is empty" convert "$T/empty.pem" --to pem
expect_fail "convert a missing file: exit 1" 1 "cannot open" convert "$T/missing.pem" --to der -o "$T/x"
expect_fail "convert without --to: usage" 2 "--to pem or --to der" convert "$P/ca.pem"
expect_fail "convert --to xml: usage" 2 "--to xml is not a format" convert "$P/ca.pem" --to xml
expect_fail "convert without a file: usage" 2 "name the FILE" convert --to pem
expect_fail "convert -o without a value: usage" 2 "-o needs a value" convert "$P/ca.pem" --to pem -o
expect_fail "convert with an unknown option: usage" 2 "unknown option --frob" convert "$P/ca.pem" --frob
