#!/bin/bash
# cert_trust.sh: sipedge-cert trust list/show/add/remove/reset on a
# configuration in $T.  The CAs, certificates and CRLs are made with the
# openssl CLI, and the trust file sipedge-cert writes is read back with
# openssl (storeutl, crl2pkcs7, x509, crl), never with sipedge-cert alone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl sha256sum "$PYTHON"
plan 91

write_config || bail_out "cannot write the test configuration"
TRUST="$T/pki/trust.pem"
TEMP_CA="$T/state/temp-ca.pem"

# ---------------------------------------------------------------- helpers

# shellcheck source=certlib.sh
. "$INTEG_DIR/certlib.sh"

# fp FILE: the SHA-256 fingerprint of the (first) certificate in FILE, by openssl.
fp() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

# bundle_fps FILE: the fingerprints of every certificate in FILE, in order.
bundle_fps() {
    local f
    rm -f "$T"/split.*
    awk -v base="$T/split" '
        /-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s.%03d", base, n) }
        f != "" { print > f }
        /-----END CERTIFICATE-----/ { close(f); f = "" }' "$1"
    for f in "$T"/split.*; do
        [ -e "$f" ] && fp "$f"
    done
    rm -f "$T"/split.*
}

# make_ca DIR CN: a CA for `openssl ca` in DIR (ca.pem, ca.key, ca.cnf).
make_ca() {
    local d=$1
    mkdir -p "$d/new" && : >"$d/index.txt" && echo 1000 >"$d/serial" &&
        echo 01 >"$d/crlnumber" || return 1
    cat >"$d/ca.cnf" <<EOF
[ req ]
distinguished_name = dn
x509_extensions = root_ext
prompt = no
[ dn ]
CN = $2
[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = the_ca
[ the_ca ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ sub_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth, clientAuth
EOF
    timeout 30 openssl req -config "$d/ca.cnf" -x509 -newkey rsa:2048 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 2>"$d/req.err"
}

# issue DIR NAME CN EXT [openssl ca options]: DIR/NAME.pem signed by DIR's CA.
issue() {
    local d=$1 name=$2 cn=$3 ext=$4
    shift 4
    timeout 30 openssl req -config "$d/ca.cnf" -new -newkey ec \
        -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$name.key" \
        -subj "/CN=$cn" -out "$d/$name.csr" 2>"$d/$name.err" &&
        timeout 30 openssl ca -config "$d/ca.cnf" -batch -notext \
            -extensions "$ext" -in "$d/$name.csr" -out "$d/$name.pem" "$@" 2>>"$d/$name.err"
}

# gencrl DIR OUT [options]: a CRL of DIR's CA.
gencrl() {
    local d=$1 out=$2
    shift 2
    timeout 30 openssl ca -config "$d/ca.cnf" -gencrl -out "$out" "$@" 2>>"$d/crl.err"
}

# iso_date OPENSSL_DATE: "Dec 27 00:08:05 2026 GMT" as 2026-12-27.
iso_date() {
    date -u -d "$1" +%F
}

# ---------------------------------------------------------------- inputs

make_ca "$T/ca1" "Lab Root One" || bail_out "openssl cannot make CA 1: $(cat "$T/ca1/req.err")"
make_ca "$T/ca2" "Lab Root Two" || bail_out "openssl cannot make CA 2"
issue "$T/ca1" leaf "leaf.example.net" leaf || bail_out "openssl ca: $(cat "$T/ca1/leaf.err")"
issue "$T/ca1" old "Old Sub CA" sub_ca -startdate 20200101000000Z -enddate 20210101000000Z ||
    bail_out "openssl ca (expired): $(cat "$T/ca1/old.err")"
issue "$T/ca1" future "Future Sub CA" sub_ca -startdate 20990101000000Z -enddate 20991231000000Z ||
    bail_out "openssl ca (future): $(cat "$T/ca1/future.err")"
if ! openssl req -new -newkey rsa:2048 -nodes -keyout "$T/noext.key" -subj /CN=NoExt \
    -out "$T/noext.csr" 2>/dev/null ||
    ! openssl x509 -req -in "$T/noext.csr" -signkey "$T/noext.key" -days 30 \
        -out "$T/noext.pem" 2>/dev/null; then
    bail_out "openssl cannot make the v1 certificate"
fi
openssl x509 -in "$T/noext.pem" -outform der -out "$T/noext.der" || bail_out "openssl x509 -outform der"
timeout 30 openssl ca -config "$T/ca1/ca.cnf" -revoke "$T/ca1/leaf.pem" 2>/dev/null ||
    bail_out "openssl ca -revoke failed"
gencrl "$T/ca1" "$T/crl1.pem" || bail_out "openssl ca -gencrl failed"
gencrl "$T/ca1" "$T/crl2.pem" || bail_out "openssl ca -gencrl (2) failed"
CA1=$T/ca1/ca.pem
CA2=$T/ca2/ca.pem
FP1=$(fp "$CA1")
FP2=$(fp "$CA2")
FP_LEAF=$(fp "$T/ca1/leaf.pem")
FP_NOEXT=$(fp "$T/noext.pem")
make_garbage "$T/garbage"

# ---------------------------------------------------------------- usage

run trust
expect "trust without a command: exit 2" 2 "err=which command"
run trust frobnicate
expect "trust frobnicate: exit 2" 2 "err=unknown command"
run trust list extra
expect "trust list with an argument: exit 2" 2 "err=takes no arguments"
run trust show
expect "trust show without a certificate: exit 2" 2 "err=which certificate"
run trust show 1 --bogus
expect "trust show with an unknown option: exit 2" 2 "err=unknown option"
run trust add
expect "trust add without FILE: exit 2" 2 "err=one FILE"
run trust remove
expect "trust remove without a certificate: exit 2" 2 "err=which certificates"
run trust reset now
expect "trust reset with an argument: exit 2" 2 "err=takes no arguments"
timeout 30 "$SIPEDGE_CERT" -c "$T/nonexistent.conf" trust list >"$T/out" 2>"$T/err"
RC=$?
expect "trust list with a missing configuration: exit 1" 1 "err=nonexistent.conf"

# ---------------------------------------------------------------- default list

run trust list
expect "no trust file, no temporary CA: the empty default list" 0 \
    "out=the default list, which is empty" "out=$TRUST does not exist"

# The daemon's first start makes the temporary CA; the trust file stays absent.
if start_sipedged && stop_sipedged; then
    ok "sipedged first start made the temporary CA"
else
    bail_out "sipedged did not start and stop"
fi
FP_TEMP=$(fp "$TEMP_CA")
[ -e "$TRUST" ] && bail_out "$TRUST exists after the first start"

run trust list
expect "default list: the temporary CA, said to be the default list" 0 \
    "out=the default list" "out=temporary first-start CA only" "out=$FP_TEMP" "out=Valid"
run trust show 1
expect "default list: trust show 1 decodes the temporary CA" 0 \
    "out=SHA-256 fingerprint: $FP_TEMP" "out=Basic constraints:   CA:TRUE"
before=$(snapshot)
run trust remove 1
expect "default list: removing its only certificate is refused (exit 1)" 1 \
    "err=refusing to remove every certificate"
unchanged "refused remove changed nothing (no trust file created)" "$before"

# ---------------------------------------------------------------- add

run trust add "$CA1"
expect "trust add CA 1 to the default list" 0 \
    "out=added: CN=Lab Root One (SHA256 $FP1)" \
    "out=starts from the default list" "out=sipedged is not running" \
    "!err=warning"
same "the new trust file holds the temporary CA, then CA 1" \
    "$(bundle_fps "$TRUST" | tr '\n' ' ')" "$FP_TEMP $FP1 "
same "pki/ was created with mode 755" "$(stat -c %a "$T/pki")" 755
same "pki/trust.pem has mode 644" "$(stat -c %a "$TRUST")" 644
check "openssl storeutl reads the trust file" openssl storeutl -noout -certs "$TRUST"

cat "$CA2" "$CA1" "$CA2" >"$T/bundle.pem"
run trust add "$T/bundle.pem"
expect "trust add a bundle: CA 2 added, CA 1 and the repeated CA 2 skipped" 0 \
    "out=added: CN=Lab Root Two (SHA256 $FP2)" \
    "out=skipped: CN=Lab Root One (SHA256 $FP1): already in the trust list" \
    "out=skipped: CN=Lab Root Two (SHA256 $FP2): already in the trust list" \
    "!out=note: $TRUST did not exist"
same "the bundle added CA 2 once" "$(bundle_fps "$TRUST" | tr '\n' ' ')" "$FP_TEMP $FP1 $FP2 "

before=$(snapshot)
run trust add "$T/bundle.pem"
expect "adding the same bundle again: nothing to add, exit 0" 0 "out=Nothing to add"
unchanged "nothing to add wrote nothing" "$before"

run trust add "$T/ca1/leaf.pem"
expect "trust add a CA:FALSE certificate: added with a warning" 0 \
    "out=added: CN=leaf.example.net (SHA256 $FP_LEAF)" \
    "err=is not a CA certificate (basicConstraints CA:FALSE or absent)"
run trust add "$T/noext.der"
expect "trust add a DER v1 certificate (no basicConstraints): added with a warning" 0 \
    "out=added: CN=NoExt (SHA256 $FP_NOEXT)" "err=CN=NoExt is not a CA certificate"
run trust add "$T/ca1/old.pem"
expect "trust add an expired CA: added with a warning" 0 \
    "out=added: CN=Old Sub CA" "err=expired at 2021-01-01T00:00:00Z" "!err=not a CA"
run trust add "$T/ca1/future.pem"
expect "trust add a not yet valid CA: added with a warning" 0 \
    "out=added: CN=Future Sub CA" "err=is not valid before 2099-01-01T00:00:00Z"

# Bad inputs: exit 1 and the trust file untouched.
before=$(snapshot)
run trust add "$T/garbage"
expect "trust add garbage: exit 1" 1 "err=$T/garbage holds no certificate"
openssl req -new -key "$T/noext.key" -subj /CN=csr -out "$T/req.csr" 2>/dev/null
run trust add "$T/req.csr"
expect "trust add a CSR: exit 1" 1 "err=holds a certificate signing request, not a certificate"
run trust add "$T/noext.key"
expect "trust add a private key: exit 1" 1 "err=holds a private key"
head -c 600 "$CA2" >"$T/truncated.pem"
run trust add "$T/truncated.pem"
expect "trust add a truncated PEM: exit 1" 1 "err=$T/truncated.pem"
: >"$T/empty.pem"
run trust add "$T/empty.pem"
expect "trust add an empty file: exit 1" 1 "err=$T/empty.pem is empty"
run trust add "$T/ca1"
expect "trust add a directory: exit 1" 1 "err=is a directory"
run trust add "$T/missing.pem"
expect "trust add a missing file: exit 1" 1 "err=cannot open $T/missing.pem"
unchanged "the failed adds changed nothing" "$before"

# ---------------------------------------------------------------- list

run trust list
expect "trust list: every certificate with its status" 0 \
    "out=Trust list $TRUST: 7 certificates, 0 CRLs." \
    "out=SHA-256 FINGERPRINT" "out=Expired" "out=Not yet valid"
exp1=$(iso_date "$(openssl x509 -in "$CA1" -noout -enddate | sed 's/^notAfter=//')")
row=$(grep -E "^2 " "$T/out")
case $row in
    *"Lab Root One"*"Lab Root One"*"$exp1"*Valid*"$FP1") ok "row 2: subject, issuer, expiry $exp1, Valid, fingerprint" ;;
    *) not_ok "row 2: subject, issuer, expiry $exp1, Valid, fingerprint" "row: $row" ;;
esac
row=$(grep -E "^4 " "$T/out")
case $row in
    *"leaf.example.net"*"Lab Root One"*Valid*"$FP_LEAF") ok "row 4: the leaf and its issuer" ;;
    *) not_ok "row 4: the leaf and its issuer" "row: $row" ;;
esac
row=$(grep -E "^6 " "$T/out")
case $row in
    *"Old Sub CA"*"2021-01-01"*Expired*) ok "row 6: the expired CA is Expired" ;;
    *) not_ok "row 6: the expired CA is Expired" "row: $row" ;;
esac

# ---------------------------------------------------------------- show

lower=$(tr 'A-F' 'a-f' <<<"$FP1")
nocolon=${FP1//:/}
run trust show "$lower"
expect "trust show by fingerprint, lower case with colons" 0 "out=SHA-256 fingerprint: $FP1"
run trust show "$nocolon"
expect "trust show by fingerprint without colons" 0 "out=SHA-256 fingerprint: $FP1"
run trust show "${nocolon:0:8}"
expect "trust show by an 8-digit prefix" 0 "out=SHA-256 fingerprint: $FP1"
run trust show "${FP1:0:11}"
expect "trust show by a prefix with colons" 0 "out=SHA-256 fingerprint: $FP1"
run trust show 2
serial=$(openssl x509 -in "$CA1" -noout -serial | sed 's/^serial=//')
expect "trust show 2: the decoded fields" 0 "out=Certificate 2 of 7 in $TRUST" \
    "out=Serial:              $serial" "out=Key:                 RSA 2048" \
    "out=Basic constraints:   CA:TRUE (critical)" "out=Key usage:           keyCertSign, cRLSign" \
    "out=Self-signed:         yes" "out=Status:              Valid"
run trust show 4
expect "trust show 4: the leaf's EKU and CA:FALSE" 0 "out=Basic constraints:   CA:FALSE" \
    "out=Extended key usage:  serverAuth, clientAuth" "out=Self-signed:         no"
run trust show 3 --pem
if [ "$RC" -eq 0 ] && [ "$(fp "$T/out")" = "$FP2" ]; then
    ok "trust show 3 --pem prints CA 2 as PEM"
else
    not_ok "trust show 3 --pem prints CA 2 as PEM" "exit $RC" "$(cat "$T/out" "$T/err")"
fi
run trust show 0
expect "trust show 0: exit 1" 1 "err=there is no certificate 0"
run trust show 99
expect "trust show 99: exit 1" 1 "err=there is no certificate 99: the trust list has 7"
run trust show "$(printf '0%.0s' {1..64})"
expect "trust show an unknown fingerprint: exit 1" 1 "err=no certificate in the trust list has the fingerprint"
run trust show 1234abc
expect "trust show a 7-digit prefix: exit 1" 1 "err=too short"
run trust show abcd
expect "trust show a too short prefix: exit 1" 1 "err=too short: give at least 8 hex digits"
run trust show not-hex
expect "trust show garbage: exit 1" 1 "err=neither an index in the trust list nor a SHA-256 fingerprint"
run trust show "${nocolon}00"
expect "trust show a fingerprint too long: exit 1" 1 "err=neither an index"

# ---------------------------------------------------------------- CRLs in the bundle

run trust add "$T/crl1.pem"
expect "trust add a CRL: kept in the trust file" 0 "out=added: CRL of CN=Lab Root One" "!err=warning"
run trust list
expect "trust list shows the kept CRL" 0 "out=CRLs kept in the trust file:" "out=1 CRL."
if openssl crl -in "$TRUST" -noout -crlnumber 2>&1 | grep -q -x 'crlNumber=0x01\|crlNumber=01'; then
    ok "openssl crl reads CRL number 1 from the trust file"
else
    not_ok "openssl crl reads CRL number 1 from the trust file" "$(openssl crl -in "$TRUST" -noout -crlnumber 2>&1)"
fi
openssl crl -in "$T/crl2.pem" -outform der -out "$T/crl2.der"
run trust add "$T/crl2.der"
expect "trust add a newer CRL (DER) of the same CA: replaces the old one" 0 \
    "out=replaced: CRL of CN=Lab Root One"
if openssl crl -in "$TRUST" -noout -crlnumber 2>&1 | grep -q -x 'crlNumber=0x02\|crlNumber=02' &&
    [ "$(grep -c 'BEGIN X509 CRL' "$TRUST")" -eq 1 ]; then
    ok "the trust file holds only CRL number 2"
else
    not_ok "the trust file holds only CRL number 2" "$(openssl crl -in "$TRUST" -noout -crlnumber 2>&1)"
fi
before=$(snapshot)
run trust add "$T/crl1.pem"
expect "trust add an older CRL: skipped" 0 "out=skipped: CRL of CN=Lab Root One: not newer" "out=Nothing to add"
unchanged "the older CRL changed nothing" "$before"
# A delta CRL of the same CA is another scope: kept beside its base
# (then the trust file goes back to one CRL for the tests below).
cp "$TRUST" "$T/trust.before-delta"
printf '%s\n' "[ delta_ext ]" "deltaCRL = critical,DER:020102" >>"$T/ca1/ca.cnf"
gencrl "$T/ca1" "$T/delta.pem" -crlexts delta_ext || bail_out "openssl ca -gencrl (delta) failed"
run trust add "$T/delta.pem"
expect "trust add a delta CRL: added beside the complete CRL, not replacing it" 0 \
    "out=added: CRL of CN=Lab Root One" "!out=replaced"
same "the trust file holds the complete CRL and the delta" "$(grep -c 'BEGIN X509 CRL' "$TRUST")" 2
run trust add "$T/crl1.pem"
expect "... and an older complete CRL is still skipped" 0 "out=skipped: CRL of CN=Lab Root One: not newer"
cp "$T/trust.before-delta" "$TRUST"
check "openssl crl2pkcs7 -nocrl -certfile reads the bundle with its CRL" \
    openssl crl2pkcs7 -nocrl -certfile "$TRUST" -out "$T/p7.pem"
same "openssl storeutl counts 7 certificates" \
    "$(openssl storeutl -noout -certs "$TRUST" | tail -n 1)" "Total found: 7"
out=$(check_config)
if grep -q "configuration OK" <<<"$out"; then
    ok "sipedged -t loads the trust file with its CRL"
else
    not_ok "sipedged -t loads the trust file with its CRL" "$out"
fi

# ---------------------------------------------------------------- remove

before=$(snapshot)
run trust remove 2 99
expect "trust remove with one unknown index: exit 1" 1 "err=there is no certificate 99" "err=nothing was removed"
unchanged "nothing removed when one selector is unknown" "$before"
run trust remove 1 2 3 4 5 6 7
expect "trust remove of every certificate: refused" 1 "err=refusing to remove every certificate"
unchanged "refused remove of everything changed nothing" "$before"

run trust remove 4 "${FP_NOEXT:0:11}" 6
expect "trust remove several by index and fingerprint" 0 \
    "out=removed: CN=leaf.example.net (SHA256 $FP_LEAF)" \
    "out=removed: CN=NoExt (SHA256 $FP_NOEXT)" "out=removed: CN=Old Sub CA" \
    "out=Trust list $TRUST: 4 certificates, 1 CRL."
fp_future=$(fp "$T/ca1/future.pem")
same "the trust file holds the other four, in order" \
    "$(bundle_fps "$TRUST" | tr '\n' ' ')" "$FP_TEMP $FP1 $FP2 $fp_future "

run trust remove "$nocolon"
expect "removing CA 1 also removes its CRL" 0 "out=removed: CN=Lab Root One" \
    "out=removed: CRL of CN=Lab Root One (its CA is no longer trusted)"
if ! grep -q 'BEGIN X509 CRL' "$TRUST" && [ "$(bundle_fps "$TRUST" | wc -l)" -eq 3 ]; then
    ok "the trust file lost CA 1 and its CRL"
else
    not_ok "the trust file lost CA 1 and its CRL" "$(cat "$TRUST")"
fi

# ---------------------------------------------------------------- ambiguous fingerprints

# Two variants of CA 1's DER (last signature bytes changed: the trust list
# does not check a trust anchor's own signature) whose SHA-256 fingerprints
# share their first 8 hex digits, found by a birthday search.
"$PYTHON" - "$CA1" "$T/twin1.pem" "$T/twin2.pem" <<'EOF' || bail_out "no fingerprint collision found"
import hashlib, ssl, sys
der = ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())
seen = {}
for i in range(1 << 22):
    v = der[:-4] + i.to_bytes(4, "big")
    p = hashlib.sha256(v).digest()[:4]
    if p in seen:
        j = seen[p]
        for out, n in ((sys.argv[2], j), (sys.argv[3], i)):
            with open(out, "w") as f:
                f.write(ssl.DER_cert_to_PEM_cert(der[:-4] + n.to_bytes(4, "big")))
        sys.exit(0)
    seen[p] = i
sys.exit(1)
EOF
write_config "$T/amb.conf"
insert_after "$T/amb.conf" '^tls:' '  trust = "amb/trust.pem";' >/dev/null
AMB="$T/amb/trust.pem"
timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust list >"$T/out" 2>"$T/err"
RC=$?
expect "a set tls.trust that does not exist: trust list exits 1" 1 "err=$AMB (tls.trust, set at $T/amb.conf:"
timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust add "$T/twin1.pem" >"$T/out" 2>"$T/err" &&
    timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust add "$T/twin2.pem" >>"$T/out" 2>>"$T/err"
RC=$?
expect "trust add creates a set tls.trust and takes both twins" 0 "out=note: created $AMB"
twin=$(fp "$T/twin2.pem")
twin=${twin//:/}
timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust show "${twin:0:8}" >"$T/out" 2>"$T/err"
RC=$?
expect "trust show with an ambiguous prefix: exit 1" 1 "err=is ambiguous: it matches certificates 1 and 2"
before=$(sha256sum <"$AMB")
timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust remove "${twin:0:8}" >"$T/out" 2>"$T/err"
RC=$?
expect "trust remove with an ambiguous prefix: exit 1" 1 "err=is ambiguous"
same "the ambiguous remove changed nothing" "$(sha256sum <"$AMB")" "$before"
timeout 30 "$SIPEDGE_CERT" -c "$T/amb.conf" trust remove "$twin" >"$T/out" 2>"$T/err"
RC=$?
expect "trust remove by the full fingerprint removes that twin" 0 "out=removed:" "out=1 certificate"
same "the other twin stays" "$(bundle_fps "$AMB")" "$(fp "$T/twin1.pem")"

# ---------------------------------------------------------------- damaged file, reset

head -c 700 "$CA2" >"$TRUST"
before=$(snapshot)
run trust list
expect "a damaged trust file: trust list exits 1" 1 "err=$TRUST"
run trust add "$CA1"
expect "a damaged trust file: trust add exits 1" 1 "err=nothing was added"
unchanged "the refused add left the damaged file as it was" "$before"

rm -f "$T/state/temp-ca.pem" "$T/state/temp-ca.key"
run trust reset
expect "trust reset replaces a damaged file and makes a new temporary CA" 0 \
    "out=reset to the default list" "err=it is replaced" "out=sipedged is not running"
check "trust reset created state/temp-ca.pem" test -s "$TEMP_CA"
same "the trust file holds the new temporary CA only" "$(bundle_fps "$TRUST")" "$(fp "$TEMP_CA")"
run trust add "$CA1"
run trust reset
expect "trust reset of a list of two reports what it held" 0 "out=It held 2 certificates and 0 CRLs before."
same "after reset: the temporary CA only" "$(bundle_fps "$TRUST")" "$(fp "$TEMP_CA")"
check "openssl verify: the temporary server certificate against the reset trust file" \
    openssl verify -CAfile "$TRUST" "$T/state/temp-server.pem"
