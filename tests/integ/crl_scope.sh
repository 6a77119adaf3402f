#!/bin/bash
# crl_scope.sh: CRLs as RFC 5280 s.6.3 uses them, through `sipedge-cert
# check --crl`: base and delta CRLs (deltaCRLIndicator, BaseCRLNumber,
# removeFromCRL), unknown critical extensions, cRLNumber rules,
# issuingDistributionPoint scope (distribution point names, user/CA/
# attribute certificates, onlySomeReasons partitions), and CRLs that
# cannot be used named with their reason ("status unknown", never "no
# CRL").  A CA run by `openssl ca` issues the certificates; each CRL is
# made by `openssl ca -gencrl` with a -crlexts section written here,
# indirect CRLs (certificateIssuer entries) by tests/crlmake.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
CRLMAKE=${top_builddir:-$top_srcdir}/tests/crlmake
[ -x "$CRLMAKE" ] || skip_all "tests/crlmake is not built (make check builds it)"
plan 43

C=$T/ca
o() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail_out "openssl $1 failed: $(tail -n 5 "$T/openssl.log")"; }

mkdir -p "$C/new"
: >"$C/index.txt"
: >"$C/empty.txt"
echo 1000 >"$C/serial"
cat >"$C/ca.cnf" <<EOF
[ ca ]
default_ca = the_ca
[ the_ca ]
dir = $C
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::LEAFNAME}
crlDistributionPoints = URI:http://127.0.0.1:9/ca.crl
[ leaf_dp2 ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::LEAFNAME}
crlDistributionPoints = URI:http://127.0.0.1:9/part2.crl
[ leaf_nodp ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::LEAFNAME}
EOF
export LEAFNAME=x
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Scope CA" -keyout "$C/ca.key" -out "$C/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# leaf NAME [EXT]: a certificate for DNS:NAME.example in $C/NAME.pem.
leaf() {
    LEAFNAME=$1.example o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.csr"
    LEAFNAME=$1.example o ca -batch -config "$C/ca.cnf" -extensions "${2:-leaf}" \
        -in "$C/$1.csr" -out "$C/$1.pem" -notext
}

# gencrl OUT NUMBER DB [EXTLINE...]: a CRL with cRLNumber NUMBER ("" for
# none) of the revocations in database DB (index.txt or empty.txt), with
# the extension lines given.
gencrl() {
    local out=$1 num=$2 db=$3
    shift 3
    {
        sed -e "s|^database = .*|database = $C/$db|" "$C/ca.cnf"
        echo "[ crlx ]"
        echo "authorityKeyIdentifier = keyid:always"
        printf '%s\n' "$@"
    } >"$C/gen.cnf"
    if [ -n "$num" ]; then
        printf '%02X\n' "$num" >"$C/crlnumber"
        sed -i -e "s|^serial = .*|&\ncrlnumber = $C/crlnumber|" "$C/gen.cnf"
    fi
    o ca -batch -config "$C/gen.cnf" -gencrl -crlexts crlx -out "$out"
}

# check DESC RC REGEX ARGS...: `sipedge-cert check`, exit status RC and
# a first line matching REGEX.
check_crl() {
    local desc=$1 rc=$2 re=$3 out got first
    shift 3
    out=$(timeout 60 "$SIPEDGE_CERT" check --trust "$C/ca.pem" "$@" 2>"$T/err")
    got=$?
    first=$(head -n 1 <<<"$out")
    if [ "$got" -eq "$rc" ] && grep -q -E -e "$re" <<<"$first"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $got (want $rc), first line wanted /$re/; output:" "$out" "$(cat "$T/err")"
    fi
}

# ---- base and delta CRLs.
leaf good
leaf bad
leaf held
o ca -batch -config "$C/ca.cnf" -revoke "$C/bad.pem" -crl_reason keyCompromise
o ca -batch -config "$C/ca.cnf" -revoke "$C/held.pem" -crl_hold holdInstructionReject
gencrl "$C/base.crl" 10 index.txt
# A delta on base 10 with no new revocation, and one where the hold is
# lifted (removeFromCRL).
gencrl "$C/delta.crl" 11 empty.txt "deltaCRL = critical,DER:02010A"
sed -e '/CN=held/s/,holdInstruction,[^\t]*/,removeFromCRL/' "$C/index.txt" >"$C/unhold.txt"
grep -q removeFromCRL "$C/unhold.txt" || bail_out "cannot write the removeFromCRL index: $(cat "$C/index.txt")"
gencrl "$C/unhold.crl" 12 unhold.txt "deltaCRL = critical,DER:02010A"
# A delta for a base this CA never issued (BaseCRLNumber 20 > 10).
gencrl "$C/future.crl" 21 unhold.txt "deltaCRL = critical,DER:020114"

check_crl "base CRL alone: revoked" 1 '^rejected: /CN=bad is revoked: revoked by the CRL' \
    --chain "$C/bad.pem" --crl "$C/base.crl"
check_crl "base and delta: still revoked" 1 '^rejected: /CN=bad is revoked: revoked by the CRL' \
    --chain "$C/bad.pem" --crl "$C/base.crl" --crl "$C/delta.crl"
check_crl "delta then base: still revoked" 1 '^rejected: /CN=bad is revoked: revoked by the CRL' \
    --chain "$C/bad.pem" --crl "$C/delta.crl" --crl "$C/base.crl"
check_crl "base and delta, fallback revoked: good certificate accepted" 0 '^accepted' \
    --chain "$C/good.pem" --crl "$C/base.crl" --crl "$C/delta.crl" --fallback revoked
check_crl "certificateHold in the base: revoked" 1 '^rejected: /CN=held is revoked: .*certificateHold' \
    --chain "$C/held.pem" --crl "$C/base.crl" --fallback revoked
check_crl "removeFromCRL in the delta lifts the hold" 0 '^accepted' \
    --chain "$C/held.pem" --crl "$C/base.crl" --crl "$C/unhold.crl" --fallback revoked
check_crl "delta on an unknown base: not applied, the base answers" 1 \
    '^rejected: /CN=held is revoked: .*certificateHold' \
    --chain "$C/held.pem" --crl "$C/base.crl" --crl "$C/future.crl" --fallback revoked
check_crl "delta alone: status unknown, fallback revoked" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*delta CRL.*\(fallback: treated as revoked\)' \
    --chain "$C/good.pem" --crl "$C/delta.crl" --fallback revoked
# Two CRLs of one issuer and scope: the newer replaces the older, whatever
# the order they come in.
gencrl "$C/old.crl" 5 empty.txt
check_crl "newer CRL of the same scope replaces the older" 1 '^rejected: /CN=bad is revoked' \
    --chain "$C/bad.pem" --crl "$C/old.crl" --crl "$C/base.crl"
check_crl "older CRL of the same scope given after the newer: ignored" 1 '^rejected: /CN=bad is revoked' \
    --chain "$C/bad.pem" --crl "$C/base.crl" --crl "$C/old.crl"

# ---- unknown critical extensions, cRLNumber.
# A CRL listing the bad certificate, with an unknown critical extension:
# not used, so the bad certificate is not revoked by it and the good one
# not declared good either.
gencrl "$C/crit.crl" 30 index.txt "1.3.6.1.4.1.55555.1 = critical,ASN1:NULL"
check_crl "unknown critical CRL extension: CRL unusable, status unknown" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: no usable CRL of .*CRL 30 .* not used: .*critical extension .*1\.3\.6\.1\.4\.1\.55555\.1.*\(fallback: treated as revoked\)$' \
    --chain "$C/good.pem" --crl "$C/crit.crl" --fallback revoked
check_crl "unknown critical CRL extension: a listed certificate is 'unknown', not 'revoked'" 1 \
    '^rejected: /CN=bad \(depth 0\): revocation status unknown: .*critical extension' \
    --chain "$C/bad.pem" --crl "$C/crit.crl" --fallback revoked
gencrl "$C/numcrit.crl" "" empty.txt "crlNumber = critical,DER:02011F"
check_crl "cRLNumber marked critical: CRL unusable" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*cRLNumber extension is marked critical' \
    --chain "$C/good.pem" --crl "$C/numcrit.crl" --fallback revoked

# ---- issuingDistributionPoint: distribution point, kind of certificate,
# reasons.
leaf dp2bad leaf_dp2
leaf nodp leaf_nodp
o ca -batch -config "$C/ca.cnf" -revoke "$C/dp2bad.pem" -crl_reason superseded
cat >>"$C/ca.cnf" <<EOF
[ idp_ca ]
fullname = URI:http://127.0.0.1:9/ca.crl
[ idp_part2 ]
fullname = URI:http://127.0.0.1:9/part2.crl
[ idp_rel ]
relativename = rdn_part3
[ rdn_part3 ]
CN = Part 3
[ idp_user ]
onlyuser = TRUE
[ idp_cas ]
onlyCA = TRUE
[ idp_attr ]
onlyAA = TRUE
[ idp_key ]
fullname = URI:http://127.0.0.1:9/ca.crl
onlysomereasons = keyCompromise, CACompromise
[ idp_other ]
fullname = URI:http://127.0.0.1:9/ca.crl
onlysomereasons = affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, AACompromise
EOF
idp() { echo "issuingDistributionPoint = critical, @idp_$1"; }
gencrl "$C/part2.crl" 40 index.txt "$(idp part2)"
gencrl "$C/idpca.crl" 41 empty.txt "$(idp ca)"
gencrl "$C/rel.crl" 42 index.txt "$(idp rel)"
gencrl "$C/user.crl" 43 empty.txt "$(idp user)"
gencrl "$C/cas.crl" 44 empty.txt "$(idp cas)"
gencrl "$C/attr.crl" 45 empty.txt "$(idp attr)"
gencrl "$C/key.crl" 46 empty.txt "$(idp key)"
gencrl "$C/other.crl" 47 empty.txt "$(idp other)"
gencrl "$C/otherbad.crl" 48 index.txt "$(idp other)"

check_crl "IDP of another distribution point: not used for this certificate" 1 \
    '^rejected: /CN=bad \(depth 0\): revocation status unknown: .*issuingDistributionPoint \(http://127.0.0.1:9/part2.crl\) is not among the certificate.s CRL distribution points' \
    --chain "$C/bad.pem" --crl "$C/part2.crl" --fallback revoked
check_crl "IDP matching the certificate's distribution point: used" 0 '^accepted' \
    --chain "$C/good.pem" --crl "$C/idpca.crl" --fallback revoked
check_crl "CRLs of two distribution points coexist: each certificate gets its own" 1 \
    '^rejected: /CN=dp2bad is revoked: revoked by the CRL .*part2.crl' \
    --chain "$C/dp2bad.pem" --crl "$C/part2.crl" --crl "$C/idpca.crl" --fallback revoked
check_crl "... and the other one is good by the CRL of its point" 0 '^accepted' \
    --chain "$C/good.pem" --crl "$C/part2.crl" --crl "$C/idpca.crl" --fallback revoked
check_crl "IDP with a relative name, certificate without CRLDP: not used" 1 \
    '^rejected: /CN=nodp \(depth 0\): revocation status unknown: .*CN=Part 3.*no CRL distribution point' \
    --chain "$C/nodp.pem" --crl "$C/rel.crl" --fallback revoked
check_crl "onlyContainsUserCerts CRL for an end entity: used" 0 '^accepted' \
    --chain "$C/good.pem" --crl "$C/user.crl" --fallback revoked
check_crl "onlyContainsCACerts CRL for an end entity: not used" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*onlyContainsCACerts' \
    --chain "$C/good.pem" --crl "$C/cas.crl" --fallback revoked
check_crl "onlyContainsAttributeCerts CRL: never used" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*attribute certificates only' \
    --chain "$C/good.pem" --crl "$C/attr.crl" --fallback revoked
check_crl "one onlySomeReasons partition: status unknown, the missing reasons named" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: .*leave out some revocation reasons.*not covered: affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise' \
    --chain "$C/good.pem" --crl "$C/key.crl" --fallback revoked
check_crl "two partitions covering every reason: good" 0 '^accepted' \
    --chain "$C/good.pem" --crl "$C/key.crl" --crl "$C/other.crl" --fallback revoked
check_crl "revoked in one partition: revoked" 1 '^rejected: /CN=bad is revoked: revoked by the CRL .*otherbad.crl' \
    --chain "$C/bad.pem" --crl "$C/key.crl" --crl "$C/otherbad.crl"
check_crl "a valid CRL added to an unusable one: the unusable one is named" 0 \
    '^accepted' --chain "$C/good.pem" --crl "$C/crit.crl" --crl "$C/idpca.crl" --fallback revoked
if timeout 60 "$SIPEDGE_CERT" check --trust "$C/ca.pem" --chain "$C/good.pem" --crl "$C/crit.crl" \
    --crl "$C/idpca.crl" --fallback revoked 2>&1 | grep -q "CRL 30 .* not used: it has a critical extension"; then
    ok "... with the unusable CRL named in the revocation line"
else
    not_ok "... with the unusable CRL named in the revocation line"
fi

# ---- a CA's key rollover: CRLs signed by the new key (RFC 5280 s.6.3.3
# f, a CRL issuer certificate validated to the same anchor).  Old key K1
# (the anchor, old.pem), new key K2: new-with-old (K2 signed by K1),
# new-with-new (K2 self-signed), old-with-new (K1 signed by K2).
R=$T/roll
mkdir -p "$R/new"
: >"$R/index.txt"
echo 2000 >"$R/serial"
echo 01 >"$R/crlnumber"
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Roll CA" -keyout "$R/k1.key" -out "$R/old.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Roll CA" -keyout "$R/k2.key" -out "$R/newnew.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$R/ca.ext"
o x509 -in "$R/newnew.pem" -CA "$R/old.pem" -CAkey "$R/k1.key" -set_serial 11 -days 3650 \
    -extfile "$R/ca.ext" -out "$R/newold.pem"
o x509 -in "$R/old.pem" -CA "$R/newnew.pem" -CAkey "$R/k2.key" -set_serial 12 -days 3650 \
    -extfile "$R/ca.ext" -out "$R/oldnew.pem"
sed -e "s|^dir = .*|dir = $R|" -e "s|^certificate = .*|certificate = $R/old.pem|" \
    -e "s|^private_key = .*|private_key = $R/k1.key|" -e "s|^serial = .*|&\ncrlnumber = $R/crlnumber|" \
    "$C/ca.cnf" >"$R/k1.cnf"
sed -e "s|^certificate = .*|certificate = $R/newold.pem|" -e "s|^private_key = .*|private_key = $R/k2.key|" \
    "$R/k1.cnf" >"$R/k2.cnf"
LEAFNAME=rolled.example o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=rolled" -keyout "$R/rolled.key" -out "$R/rolled.csr"
LEAFNAME=rolled.example o ca -batch -config "$R/k1.cnf" -extensions leaf_nodp \
    -in "$R/rolled.csr" -out "$R/rolled.pem" -notext
o ca -batch -config "$R/k1.cnf" -revoke "$R/rolled.pem" -crl_reason keyCompromise
o ca -batch -config "$R/k2.cnf" -gencrl -out "$R/k2.crl"
cat "$R/k2.crl" "$R/newold.pem" >"$R/k2-with-cert.crl"
cat "$R/rolled.pem" "$R/newold.pem" >"$R/rolled-newold.chain"
cat "$R/rolled.pem" "$R/oldnew.pem" >"$R/rolled-oldnew.chain"
# An impostor: a "Roll CA" certificate of a third key that no anchor
# vouches for, with a CRL that lists nothing.
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Roll CA" -keyout "$R/k3.key" -out "$R/k3.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
: >"$R/empty.txt"
sed -e "s|^certificate = .*|certificate = $R/k3.pem|" -e "s|^private_key = .*|private_key = $R/k3.key|" \
    -e "s|^database = .*|database = $R/empty.txt|" "$R/k1.cnf" >"$R/k3.cnf"
o ca -batch -config "$R/k3.cnf" -gencrl -out "$R/k3.crl"
cat "$R/k3.crl" "$R/k3.pem" >"$R/k3-with-cert.crl"

# roll_check DESC RC REGEX TRUST ARGS...
roll_check() {
    local desc=$1 rc=$2 re=$3 trust=$4 out got
    shift 4
    out=$(timeout 60 "$SIPEDGE_CERT" check --trust "$trust" "$@" 2>"$T/err")
    got=$?
    if [ "$got" -eq "$rc" ] && head -n 1 <<<"$out" | grep -q -E -e "$re"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $got (want $rc), first line wanted /$re/; output:" "$out" "$(cat "$T/err")"
    fi
}
roll_check "CRL of the new key, no certificate for it: status unknown, named" 1 \
    '^rejected: /CN=rolled \(depth 0\): revocation status unknown: .*k2.crl\) not used: its signature does not verify with the key of' \
    "$R/old.pem" --chain "$R/rolled.pem" --crl "$R/k2.crl" --fallback revoked
roll_check "CRL of the new key with new-with-old in the CRL file: revoked" 1 \
    '^rejected: /CN=rolled is revoked: revoked by the CRL of .*Roll CA' \
    "$R/old.pem" --chain "$R/rolled.pem" --crl "$R/k2-with-cert.crl"
roll_check "... with new-with-old in the peer's chain: revoked" 1 \
    '^rejected: /CN=rolled is revoked: revoked by the CRL of .*Roll CA' \
    "$R/old.pem" --chain "$R/rolled-newold.chain" --crl "$R/k2.crl"
roll_check "new key as the anchor, old-with-new in the chain: the CRL of the new key revokes" 1 \
    '^rejected: /CN=rolled is revoked: revoked by the CRL of .*Roll CA' \
    "$R/newnew.pem" --chain "$R/rolled-oldnew.chain" --crl "$R/k2.crl"
roll_check "a CRL signer of that name that leads to no anchor: not used" 1 \
    '^rejected: /CN=rolled \(depth 0\): revocation status unknown: .*k3-with-cert.crl\) not used' \
    "$R/old.pem" --chain "$R/rolled.pem" --crl "$R/k3-with-cert.crl" --fallback revoked

# ---- freshestCRL: where the engine downloads CDPs (--cdp), it fetches
# the delta CRL the certificate points to when a complete CRL says good.
W=$T/www
mkdir -p "$W"
"$PYTHON" "$INTEG_DIR/httpd.py" "$W" "$T/http.port" >"$T/httpd.out" 2>&1 &
track_pid $!
wait_file "$T/http.port" 10 || bail_out "httpd.py did not start: $(cat "$T/httpd.out")"
URL=http://127.0.0.1:$(cat "$T/http.port")
cat >>"$C/ca.cnf" <<EOF
[ leaf_fresh ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::LEAFNAME}
crlDistributionPoints = URI:$URL/base.crl
freshestCRL = URI:$URL/delta.crl
EOF
leaf fresh leaf_fresh
# The complete CRL 60 does not list it; it is revoked afterwards, and the
# delta 61 on base 60 lists it.
gencrl "$C/fbase.crl" 60 index.txt
o ca -batch -config "$C/ca.cnf" -revoke "$C/fresh.pem" -crl_reason keyCompromise
gencrl "$W/delta.crl" 61 index.txt "deltaCRL = critical,DER:02013C"
check_crl "complete CRL alone, no download: good" 0 '^accepted' \
    --chain "$C/fresh.pem" --crl "$C/fbase.crl"
check_crl "with --cdp, the freshestCRL delta is fetched: revoked" 1 \
    '^rejected: /CN=fresh is revoked: revoked by the delta CRL of .*\(cdp, http://127.0.0.1:[0-9]+/delta.crl\)' \
    --chain "$C/fresh.pem" --crl "$C/fbase.crl" --cdp
rm -f "$W/delta.crl"
check_crl "freshestCRL not found: the complete CRL answers" 0 '^accepted' \
    --chain "$C/fresh.pem" --crl "$C/fbase.crl" --cdp --fallback revoked
# freshestCRL in the complete CRL itself (RFC 5280 s.5.2.6), for a
# certificate that names no delta: the delta is fetched from there.
leaf fresh2 leaf_nodp
gencrl "$C/fbase2.crl" 70 index.txt "freshestCRL = URI:$URL/delta2.crl"
o ca -batch -config "$C/ca.cnf" -revoke "$C/fresh2.pem" -crl_reason keyCompromise
gencrl "$W/delta2.crl" 71 index.txt "deltaCRL = critical,DER:020146"
check_crl "complete CRL with freshestCRL alone, no download: good" 0 '^accepted' \
    --chain "$C/fresh2.pem" --crl "$C/fbase2.crl"
check_crl "with --cdp, the complete CRL's freshestCRL delta is fetched: revoked" 1 \
    '^rejected: /CN=fresh2 is revoked: revoked by the delta CRL of .*\(cdp, http://127.0.0.1:[0-9]+/delta2.crl\)' \
    --chain "$C/fresh2.pem" --crl "$C/fbase2.crl" --cdp

# ---- an indirect CRL: signed by a separate CRL issuer ("CRL Signer",
# certified by the CA with cRLSign) that the certificate's distribution
# point names (cRLIssuer); its entries after a certificateIssuer naming
# the CA are the CA's.
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=sipedge test/CN=CRL Signer" -keyout "$C/signer.key" -out "$C/signer.csr"
o x509 -req -in "$C/signer.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial 77 -days 30 \
    -out "$C/signer.pem" -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,cRLSign")
cat >>"$C/ca.cnf" <<EOF
[ leaf_ind ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::LEAFNAME}
crlDistributionPoints = dp_ind
[ dp_ind ]
fullname = URI:http://127.0.0.1:9/ind.crl
CRLissuer = dirName:dn_signer
[ dn_signer ]
O = sipedge test
CN = CRL Signer
EOF
leaf indbad leaf_ind
leaf indgood leaf_ind
SER=$(openssl x509 -in "$C/indbad.pem" -noout -serial | cut -d= -f2)
"$CRLMAKE" -c "$C/signer.pem" -k "$C/signer.key" -o "$C/ind.crl" -n 5 -i \
    -d http://127.0.0.1:9/ind.crl -e 7:1 -e "$SER:1:$C/ca.pem" ||
    bail_out "crlmake failed"
cat "$C/ind.crl" "$C/signer.pem" >"$C/ind-with-signer.crl"
check_crl "indirect CRL of the DP's cRLIssuer, signer certificate with it: revoked" 1 \
    '^rejected: /CN=indbad is revoked: revoked by the CRL of /O=sipedge test/CN=CRL Signer' \
    --chain "$C/indbad.pem" --crl "$C/ind-with-signer.crl"
check_crl "... a certificate it does not list: good by it" 0 '^accepted' \
    --chain "$C/indgood.pem" --crl "$C/ind-with-signer.crl" --fallback revoked
check_crl "... without the signer's certificate: status unknown, named" 1 \
    '^rejected: /CN=indbad \(depth 0\): revocation status unknown: .*CRL Signer.* not used: no certificate of its issuer that verifies it' \
    --chain "$C/indbad.pem" --crl "$C/ind.crl" --fallback revoked
check_crl "... a certificate whose DP does not name that CRL issuer: not covered" 1 \
    '^rejected: /CN=good \(depth 0\): revocation status unknown: no CRL of /O=sipedge test/CN=Scope CA \(fallback' \
    --chain "$C/good.pem" --crl "$C/ind-with-signer.crl" --fallback revoked

# ---- the CRL signer's own status (RFC 5280 s.6.3.3 f: its path is
# validated, revocation included): the same signer key certified again
# with a distribution point of its own, whose CRL (signed by the CA's own
# key, covering only that point) revokes it.  The indirect CRL it signed
# is then unusable, named with the reason; one level deep only.
o x509 -req -in "$C/signer.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial 78 -days 30 \
    -out "$C/signer2.pem" -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,cRLSign" "crlDistributionPoints=URI:http://127.0.0.1:9/signers.crl")
cat "$C/ind.crl" "$C/signer2.pem" >"$C/ind-with-signer2.crl"
"$CRLMAKE" -c "$C/ca.pem" -k "$C/ca.key" -o "$C/signers-revoked.crl" -n 90 \
    -d http://127.0.0.1:9/signers.crl -e 4E:1 || bail_out "crlmake failed"
"$CRLMAKE" -c "$C/ca.pem" -k "$C/ca.key" -o "$C/signers-good.crl" -n 91 \
    -d http://127.0.0.1:9/signers.crl -e 4D:1 || bail_out "crlmake failed"
check_crl "signer not revoked by the CRL of its issuer: the indirect CRL it signed revokes" 1 \
    '^rejected: /CN=indbad is revoked: revoked by the CRL of /O=sipedge test/CN=CRL Signer' \
    --chain "$C/indbad.pem" --crl "$C/ind-with-signer2.crl" --crl "$C/signers-good.crl"
check_crl "signer revoked by the CRL of its issuer: the indirect CRL it signed is unusable, named with the reason" 1 \
    '^rejected: /CN=indgood \(depth 0\): revocation status unknown: .*CRL 5 of /O=sipedge test/CN=CRL Signer .* not used: its signer.s certificate /O=sipedge test/CN=CRL Signer \(serial 4E\) is revoked: revoked by the CRL of /O=sipedge test/CN=Scope CA .*signers-revoked.crl.* reason keyCompromise' \
    --chain "$C/indgood.pem" --crl "$C/ind-with-signer2.crl" --crl "$C/signers-revoked.crl" --fallback revoked
check_crl "... and a certificate it lists is 'unknown', not 'revoked'" 1 \
    '^rejected: /CN=indbad \(depth 0\): revocation status unknown: .*is revoked: revoked by the CRL of /O=sipedge test/CN=Scope CA' \
    --chain "$C/indbad.pem" --crl "$C/ind-with-signer2.crl" --crl "$C/signers-revoked.crl" --fallback revoked
