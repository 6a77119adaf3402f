#!/bin/bash
# cert_crl.sh: sipedge-cert crl import/remove/list on a configuration in
# $T.  CAs and CRLs are made with `openssl ca`; what sipedge-cert writes is
# read back with `openssl crl`.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl sha256sum
plan 43

write_config || bail_out "cannot write the test configuration"
MANUAL="$T/pki/manual.crl"
TRUST="$T/pki/trust.pem"

# ---------------------------------------------------------------- helpers

# shellcheck source=certlib.sh
. "$INTEG_DIR/certlib.sh"

# crl_der_sums FILE: sha256 of the DER of every CRL in the PEM FILE, one a line.
crl_der_sums() {
    local f
    rm -f "$T"/csplit.*
    awk -v base="$T/csplit" '
        /-----BEGIN X509 CRL-----/ { n++; f = sprintf("%s.%03d", base, n) }
        f != "" { print > f }
        /-----END X509 CRL-----/ { close(f); f = "" }' "$1"
    for f in "$T"/csplit.*; do
        [ -e "$f" ] && openssl crl -in "$f" -outform der | sha256sum | cut -d' ' -f1
    done
    rm -f "$T"/csplit.*
}

# iso OPENSSL_DATE: "Nov 27 00:10:54 2026 GMT" as 2026-11-27T00:10:54Z.
iso() {
    date -u -d "$1" +%FT%TZ
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
[ leaf ]
basicConstraints = CA:FALSE
EOF
    timeout 30 openssl req -config "$d/ca.cnf" -x509 -newkey ec \
        -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
        -out "$d/ca.pem" -days 3650 2>"$d/req.err"
}

# revoke_new DIR CN: issue a certificate for CN from DIR's CA and revoke it.
revoke_new() {
    local d=$1
    timeout 30 openssl req -config "$d/ca.cnf" -new -newkey ec \
        -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$2.key" \
        -subj "/CN=$2" -out "$d/$2.csr" 2>>"$d/err" &&
        timeout 30 openssl ca -config "$d/ca.cnf" -batch -notext -extensions leaf \
            -in "$d/$2.csr" -out "$d/$2.pem" 2>>"$d/err" &&
        timeout 30 openssl ca -config "$d/ca.cnf" -revoke "$d/$2.pem" 2>>"$d/err"
}

# gencrl DIR OUT [options]: a CRL of DIR's CA.
gencrl() {
    local d=$1 out=$2
    shift 2
    timeout 30 openssl ca -config "$d/ca.cnf" -gencrl -out "$out" "$@" 2>>"$d/err"
}

# ---------------------------------------------------------------- inputs

make_ca "$T/ca1" "CRL Root One" || bail_out "openssl cannot make CA 1"
make_ca "$T/ca2" "CRL Root Two" || bail_out "openssl cannot make CA 2"
make_ca "$T/fake" "CRL Root One" || bail_out "openssl cannot make the impostor CA"
revoke_new "$T/ca1" a || bail_out "openssl ca: $(cat "$T/ca1/err")"
revoke_new "$T/ca1" b || bail_out "openssl ca: $(cat "$T/ca1/err")"
gencrl "$T/ca1" "$T/crl1.pem" || bail_out "openssl ca -gencrl: $(cat "$T/ca1/err")"
openssl crl -in "$T/crl1.pem" -outform der -out "$T/crl1.der" || bail_out "openssl crl -outform der"
gencrl "$T/ca2" "$T/crl2.pem" || bail_out "openssl ca -gencrl (CA 2)"
gencrl "$T/ca1" "$T/expired.pem" -crl_lastupdate 20200101000000Z \
    -crl_nextupdate 20200201000000Z || bail_out "openssl ca -gencrl (expired): $(cat "$T/ca1/err")"
gencrl "$T/fake" "$T/fake.pem" || bail_out "openssl ca -gencrl (impostor)"
cat "$T/crl1.pem" "$T/crl2.pem" >"$T/two.pem"
make_garbage "$T/garbage"
mkdir -p "$T/pki"
# The trust list, written directly: CA 1 only.
cp "$T/ca1/ca.pem" "$TRUST"
SUM1=$(crl_der_sums "$T/crl1.pem")
SUM2=$(crl_der_sums "$T/crl2.pem")

# ---------------------------------------------------------------- usage

run crl
expect "crl without a command: exit 2" 2 "err=which command"
run crl frobnicate
expect "crl frobnicate: exit 2" 2 "err=unknown command"
run crl import
expect "crl import without FILE: exit 2" 2 "err=one FILE"
run crl import a b
expect "crl import with two files: exit 2" 2 "err=one FILE"
run crl list all
expect "crl list with an argument: exit 2" 2 "err=takes no arguments"
run crl remove x
expect "crl remove with an argument: exit 2" 2 "err=takes no arguments"
timeout 30 "$SIPEDGE_CERT" -c "$T/nonexistent.conf" crl list >"$T/out" 2>"$T/err"
RC=$?
expect "crl list with a missing configuration: exit 1" 1 "err=nonexistent.conf"

# ---------------------------------------------------------------- nothing yet

run crl list
expect "crl list with no CRL anywhere" 0 "out=Manual CRL:  none ($MANUAL does not exist)" \
    "out=Trust file:  $TRUST (0)" "out=No CRLs." "!out=Downloaded:"
run crl remove
expect "crl remove without a manual CRL: exit 1" 1 "err=there is no manual CRL to remove: $MANUAL does not exist"

# ---------------------------------------------------------------- import

this=$(iso "$(openssl crl -in "$T/crl1.pem" -noout -lastupdate | sed 's/^lastUpdate=//')")
next=$(iso "$(openssl crl -in "$T/crl1.pem" -noout -nextupdate | sed 's/^nextUpdate=//')")
run crl import "$T/crl1.pem"
expect "crl import PEM: issuer, thisUpdate, nextUpdate, entries" 0 \
    "out=Imported 1 CRL from $T/crl1.pem as the manual CRL $MANUAL:" \
    "out=issuer CN=CRL Root One, thisUpdate $this, nextUpdate $next, 2 entries" \
    "out=sipedged is not running" "!out=replacing" "!err=warning"
same "the manual CRL is CA 1's CRL, byte for byte in DER" "$(crl_der_sums "$MANUAL")" "$SUM1"
check "openssl crl -text reads the manual CRL" openssl crl -in "$MANUAL" -noout -text
same "the manual CRL has mode 644" "$(stat -c %a "$MANUAL")" 644
check "openssl crl verifies the manual CRL against the trust list" \
    openssl crl -in "$MANUAL" -noout -CAfile "$TRUST"

run crl import "$T/crl2.pem"
expect "crl import of an untrusted CA's CRL: installed with a warning" 0 \
    "out=(replacing the previous one)" "out=issuer CN=CRL Root Two" \
    "err=sipedged cannot use the CRL of CN=CRL Root Two: its issuer is not in the trust list"
same "the manual CRL was replaced" "$(crl_der_sums "$MANUAL")" "$SUM2"

run crl import "$T/crl1.der"
expect "crl import DER" 0 "out=Imported 1 CRL from $T/crl1.der" "out=2 entries" "!err=warning"
same "the DER CRL is stored (as PEM), same DER" "$(crl_der_sums "$MANUAL")" "$SUM1"

run crl import "$T/two.pem"
expect "crl import of a PEM file with two CRLs" 0 "out=Imported 2 CRLs" \
    "out=issuer CN=CRL Root One" "out=issuer CN=CRL Root Two, " "out=0 entries"
same "both CRLs are in the manual CRL" "$(crl_der_sums "$MANUAL" | tr '\n' ' ')" "$SUM1 $SUM2 "

run crl import "$T/expired.pem"
expect "crl import of an expired CRL: installed with a warning" 0 \
    "out=nextUpdate 2020-02-01T00:00:00Z" \
    "err=expired at 2020-02-01T00:00:00Z (nextUpdate); sipedged treats every certificate of that CA as revoked"

run crl import "$T/fake.pem"
expect "crl import of a CRL whose signature does not verify: warning" 0 \
    "err=its signature does not verify against the trusted CA of that name"

# Bad inputs: exit 1 and the manual CRL untouched.
before=$(snapshot)
run crl import "$T/garbage"
expect "crl import garbage: exit 1" 1 "err=$T/garbage holds no CRL" "err=the manual CRL was not changed"
run crl import "$T/ca1/ca.pem"
expect "crl import a certificate: exit 1" 1 "err=holds no CRL (no BEGIN X509 CRL block)"
head -c 300 "$T/crl1.pem" >"$T/truncated.pem"
run crl import "$T/truncated.pem"
expect "crl import a truncated CRL: exit 1" 1 "err=$T/truncated.pem"
: >"$T/empty.crl"
run crl import "$T/empty.crl"
expect "crl import an empty file: exit 1" 1 "err=$T/empty.crl is empty"
run crl import "$T/missing.crl"
expect "crl import a missing file: exit 1" 1 "err=cannot open $T/missing.crl"
run crl import "$T/pki"
expect "crl import a directory: exit 1" 1 "err=is a directory"
unchanged "the failed imports changed nothing" "$before"

# ---------------------------------------------------------------- list

run crl import "$T/expired.pem"
cat "$T/ca1/ca.pem" "$T/ca2/ca.pem" "$T/crl2.pem" >"$TRUST"
mkdir -p "$T/state/crl-cache"
cp "$T/crl1.der" "$T/state/crl-cache/ca1.crl"
cp "$T/fake.pem" "$T/state/crl-cache/not-a-crl-name.txt"
run crl list
expect "crl list: manual, trust file and downloaded sources" 0 \
    "out=Manual CRL:  $MANUAL (1)" "out=Trust file:  $TRUST (1)" \
    "out=Downloaded:  $T/state/crl-cache (1 file)" \
    "out=SOURCE      THIS UPDATE           NEXT UPDATE           ENTRIES  EXPIRED  ISSUER"
row() {
    grep -E "^$1 " "$T/out"
}
case $(row manual) in
    "manual      2020-01-01T00:00:00Z  2020-02-01T00:00:00Z        2  yes      CN=CRL Root One") ok "manual row: dates, 2 entries, expired" ;;
    *) not_ok "manual row: dates, 2 entries, expired" "$(cat "$T/out")" ;;
esac
case $(row trust) in
    "trust file  "*"        0  no       CN=CRL Root Two") ok "trust file row: CA 2's CRL, 0 entries, not expired" ;;
    *) not_ok "trust file row: CA 2's CRL, 0 entries, not expired" "$(cat "$T/out")" ;;
esac
case $(row downloaded) in
    "downloaded  $this  $next        2  no       CN=CRL Root One") ok "downloaded row: CA 1's CRL" ;;
    *) not_ok "downloaded row: CA 1's CRL" "$(cat "$T/out")" ;;
esac
same "three rows: the .txt file in the cache is not a CRL file" "$(grep -c -E '^(manual|trust file|downloaded) ' "$T/out")" 3

run crl import "$T/fake.pem"
run crl list
expect "crl list warns about a CRL sipedged cannot verify" 0 \
    "err=warning: $MANUAL: sipedged cannot use the CRL of CN=CRL Root One: its signature does not verify"

make_garbage "$T/state/crl-cache/bad.crl"
run crl list
expect "crl list with a damaged cached CRL: lists the rest, exit 1" 1 \
    "err=$T/state/crl-cache/bad.crl holds no CRL" "out=Manual CRL:  $MANUAL (1)" "out=downloaded  $this"
rm -f "$T/state/crl-cache/bad.crl"

# ---------------------------------------------------------------- remove

run crl remove
expect "crl remove: exit 0" 0 "out=Removed the manual CRL $MANUAL." "out=sipedged is not running"
check "the manual CRL file is gone" test ! -e "$MANUAL"
run crl remove
expect "crl remove again: exit 1" 1 "err=there is no manual CRL to remove"
run crl list
expect "crl list after remove: no manual CRL" 0 "out=Manual CRL:  none" "!out=manual      "

# With no pki/ directory at all: crl import creates it.
rm -rf "$T/pki"
run crl import "$T/crl1.pem"
expect "crl import creates pki/ when missing" 0 "out=as the manual CRL $MANUAL:" \
    "err=its issuer is not in the trust list"
same "pki/ was created with mode 755" "$(stat -c %a "$T/pki")" 755
out=$(check_config)
if grep -q "configuration OK" <<<"$out"; then
    ok "sipedged -t accepts the configuration with the manual CRL in place"
else
    not_ok "sipedged -t accepts the configuration with the manual CRL in place" "$out"
fi
