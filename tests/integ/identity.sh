#!/bin/bash
# identity.sh: the checks of the server's own identity (certificate, key,
# trust list, manual CRL) made by `sipedged -t`, at start and at reload.
# Every input is made here with the openssl CLI, independently of sipedge:
# a root CA, an intermediate and server certificates for each case.  Each
# case checks the exit status of -t and the exact sentence it prints; then
# one start with an expired certificate shows that it serves TLS and raises
# the alarm, and a reload with a renewed certificate clears it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON" timeout
plan 74

P="$T/pki"          # everything openssl makes
mkdir -p "$P" "$P/db" "$T/zones" "$T/zones-mtls" "$T/state"

# ---------------------------------------------------------------- openssl

# ossl ARGS...: run openssl with a bound, output to $P/openssl.log.
ossl() {
    timeout 60 openssl "$@" >>"$P/openssl.log" 2>&1
}

cat >"$P/openssl.cnf" <<EOF
# Written by identity.sh: only what the test needs.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_inter_noski]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
[v3_inter_nc]
basicConstraints = CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[srv_underscore]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,DNS:sip_1.test.invalid
[srv]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,DNS:sip1.test.invalid
[srv_client_only]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost
[srv_server_only]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[srv_no_eku]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost
[srv_wildcard]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,DNS:*.test.invalid
[srv_cluster]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,DNS:cluster.test.invalid,DNS:sip2.test.invalid
[srv_sipuri]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:sip:other.test.invalid,DNS:localhost
[srv_sipuri_ok]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:sip:localhost,DNS:localhost,URI:sips:other.test.invalid
[ca]
default_ca = lab
[lab]
database = $P/db/index.txt
new_certs_dir = $P/db
serial = $P/db/serial
crlnumber = $P/db/crlnumber
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
: >"$P/db/index.txt"
echo 1000 >"$P/db/serial"
echo 01 >"$P/db/crlnumber"

# eckey NAME: an EC P-256 key in $P/NAME.key.
eckey() {
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key"
}

# csr NAME CN: a request for $P/NAME.key.
csr() {
    ossl req -new -config "$P/openssl.cnf" -key "$P/$1.key" -subj "/CN=$2" -out "$P/$1.csr"
}

# sign NAME ISSUER SECTION [DAYS]: $P/NAME.pem from $P/NAME.csr, issued by
# $P/ISSUER.pem with the extensions of SECTION.
sign() {
    ossl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" \
        -set_serial "$((RANDOM * 32768 + RANDOM))" -days "${4:-365}" \
        -extfile "$P/openssl.cnf" -extensions "$3" -out "$P/$1.pem"
}

# sign_dated NAME START END: $P/NAME.pem issued by the intermediate with
# notBefore START and notAfter END (YYYYMMDDhhmmssZ), via openssl ca.
sign_dated() {
    ossl ca -batch -config "$P/openssl.cnf" -name lab -cert "$P/inter.pem" \
        -keyfile "$P/inter.key" -extfile "$P/openssl.cnf" -extensions srv \
        -startdate "$2" -enddate "$3" -notext -in "$P/$1.csr" -out "$P/$1.pem"
}

# leaf NAME SECTION [DAYS]: an EC key and a certificate for localhost issued
# by the intermediate; $P/NAME.chain holds it followed by the intermediate.
leaf() {
    eckey "$1" && csr "$1" localhost && sign "$1" inter "$2" "${3:-365}" &&
        cat "$P/$1.pem" "$P/inter.pem" >"$P/$1.chain"
}

# The RSA 8192 key takes seconds even with 5 primes (2 primes: half a
# minute here); it is made in the background while the other cases run.
timeout 120 openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:8192 \
    -pkeyopt rsa_keygen_primes:5 -out "$P/rsa8192.key" >"$P/rsa8192.log" 2>&1 &
RSA8192_PID=$!
track_pid "$RSA8192_PID"

# root NAME CN: a self-signed root CA $P/NAME.pem with key $P/NAME.key.
root() {
    eckey "$1" && ossl req -new -x509 -config "$P/openssl.cnf" -key "$P/$1.key" \
        -subj "/CN=$2" -days 3650 -extensions v3_root -out "$P/$1.pem"
}

if ! root root "sipedge test root CA"; then
    bail_out "openssl cannot make the root CA: $(tail -n 5 "$P/openssl.log")"
fi
if ! { eckey inter && csr inter "sipedge test intermediate CA" &&
    sign inter root v3_inter 3650; }; then
    bail_out "openssl cannot make the intermediate CA: $(tail -n 5 "$P/openssl.log")"
fi
root other "sipedge unrelated root CA" || bail_out "openssl cannot make the unrelated CA"
leaf good srv || bail_out "openssl cannot make the server certificate: $(tail -n 5 "$P/openssl.log")"
leaf good2 srv
leaf clientonly srv_client_only
leaf serveronly srv_server_only
leaf noeku srv_no_eku
leaf wild srv_wildcard
leaf cluster srv_cluster
leaf sipuri srv_sipuri
leaf sipuriok srv_sipuri_ok
leaf soon srv 10
eckey expired && csr expired localhost &&
    sign_dated expired 20200101000000Z 20210101000000Z &&
    cat "$P/expired.pem" "$P/inter.pem" >"$P/expired.chain"
eckey future && csr future localhost &&
    sign_dated future 20990101000000Z 21000101000000Z &&
    cat "$P/future.pem" "$P/inter.pem" >"$P/future.chain"
ossl genrsa -out "$P/rsa1024.key" 1024 && csr rsa1024 localhost &&
    sign rsa1024 inter srv && cat "$P/rsa1024.pem" "$P/inter.pem" >"$P/rsa1024.chain"
# A CRL of the intermediate, for the trust file and the manual CRL.
ossl ca -batch -config "$P/openssl.cnf" -name lab -cert "$P/inter.pem" \
    -keyfile "$P/inter.key" -gencrl -out "$P/inter.crl"
cat "$P/root.pem" "$P/inter.crl" >"$P/trust-with-crl.pem"
for f in good.chain good.key expired.chain future.chain rsa1024.chain \
    inter.crl; do
    [ -s "$P/$f" ] || bail_out "openssl did not make $f: $(tail -n 5 "$P/openssl.log")"
done

# ---------------------------------------------------------------- cases

write_config "$CONF" || bail_out "cannot write the configuration"
BASE="$T/base.conf"
cp "$CONF" "$BASE"
# A zone whose TLS peers are verified: mutual TLS.
cat >"$T/zones-mtls/partner.conf" <<EOF
type = "neighbor";
transport = "tls";
peers = [ "sbc.partner.test.invalid" ];
tls_verify = true;
EOF

CASE_FILE="" # the configuration case_conf wrote last
OUT=""      # output of the last -t
RC=0        # its exit status
CERT_LINE=0 # line of tls.certificate in the last configuration
KEY_LINE=0  # line of tls.private_key

# case_conf NAME CERT KEY [TRUST] [EXTRA...]: write $T/NAME.conf (CASE_FILE,
# with CERT_LINE and KEY_LINE) from the
# base with tls.certificate, tls.private_key (and tls.trust) set to those
# files.  Each EXTRA is "group|  name = value;": it replaces the line
# setting name, or is inserted at the top of the group (made if missing).
case_conf() {
    local cert=$2 key=$3 trust=${4:-} f="$T/$1.conf" extra group line set n
    shift 3
    [ $# -gt 0 ] && shift
    cp "$BASE" "$f"
    for extra in "$@"; do
        group=${extra%%|*}
        line=${extra#*|}
        set=$(sed -n 's/^ *\([a-z_]*\) *=.*/\1/p' <<<"$line")
        n=$(grep -n -E -m 1 "^ *$set *=" "$f" | cut -d: -f1)
        if [ -n "$n" ]; then
            sed -i "${n}d" "$f"
            insert_after "$f" "^$group: *\\{" "$line" >/dev/null
        elif grep -q -E "^$group: *\{" "$f"; then
            insert_after "$f" "^$group: *\\{" "$line" >/dev/null
        else
            printf '%s: {\n%s\n};\n' "$group" "$line" >>"$f"
        fi
    done
    CERT_LINE=$(insert_after "$f" '^tls: *\{' "  certificate = \"$cert\";")
    KEY_LINE=$(insert_after "$f" '^ *certificate = ' "  private_key = \"$key\";")
    if [ -n "$trust" ]; then
        insert_after "$f" '^ *private_key = ' "  trust = \"$trust\";" >/dev/null
    fi
    CASE_FILE=$f
}

# run_t FILE: sipedged -t on FILE; sets OUT and RC.
run_t() {
    OUT=$(check_config "$1")
    RC=$?
}

# expect_t DESC STATUS TEXT [NOT_TEXT]: the last -t exited with STATUS and
# printed the fixed TEXT (and not NOT_TEXT).
expect_t() {
    local desc=$1 status=$2 text=$3 not=${4:-}
    if [ "$RC" -eq "$status" ] && grep -q -F -e "$text" <<<"$OUT" &&
        { [ -z "$not" ] || ! grep -q -F -e "$not" <<<"$OUT"; }; then
        ok "$desc"
    else
        not_ok "$desc" "exit status $RC (wanted $status)" "wanted: $text" \
            ${not:+"and not: $not"} "output:" "$OUT"
    fi
}

# case_t DESC STATUS TEXT CERT KEY [TRUST] [EXTRA...]: write and check a case.
case_t() {
    local desc=$1 status=$2 text=$3 f
    shift 3
    case_conf "case$_TESTS_RUN" "$@"
    f=$CASE_FILE
    run_t "$f"
    # TEXT may use @CONF@, @CL@ and @KL@ for the file and the setting lines.
    text=${text//@CONF@/$f}
    text=${text//@CL@/$CERT_LINE}
    text=${text//@KL@/$KEY_LINE}
    expect_t "$desc" "$status" "$text"
}

# --- a good identity

case_conf good "$P/good.chain" "$P/good.key" "$P/root.pem"
f=$CASE_FILE
run_t "$f"
expect_t "-t: certificate + intermediate, key, root in tls.trust: OK without warnings" \
    0 "configuration OK" "warning"

# --- key does not match
case_t "-t: key of another certificate: error naming both files at the key's line" \
    1 "@CONF@:@KL@: the private key in $P/good2.key does not match the certificate in $P/good.chain;" \
    "$P/good.chain" "$P/good2.key" "$P/root.pem"
cat "$P/inter.pem" "$P/good.pem" >"$P/reversed.chain"
case_t "-t: intermediate before the server certificate: error saying it must come first" \
    1 "@CONF@:@CL@: the private key in $P/good.key belongs to certificate 2 of $P/reversed.chain (CN=localhost), not to the first one: the server certificate must come first in the file" \
    "$P/reversed.chain" "$P/good.key" "$P/root.pem"

# --- password-protected keys
ossl pkey -in "$P/good.key" -aes128 -passout pass:secret -out "$P/enc-pkcs8.key"
ossl ec -in "$P/good.key" -aes128 -passout pass:secret -out "$P/enc-trad.key"
ossl pkcs8 -topk8 -in "$P/good.key" -v2 aes-128-cbc -passout pass:secret \
    -outform DER -out "$P/enc-der.key"
if grep -q "Proc-Type: 4,ENCRYPTED" "$P/enc-trad.key" &&
    grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$P/enc-pkcs8.key" && [ -s "$P/enc-der.key" ]; then
    ok "openssl made PKCS#8, traditional and DER encrypted keys"
else
    not_ok "openssl made PKCS#8, traditional and DER encrypted keys" "$(tail -n 5 "$P/openssl.log")"
fi
for kind in pkcs8 trad der; do
    case_t "-t: encrypted key ($kind): error saying it must be stored unencrypted, with the command" \
        1 "@CONF@:@KL@: tls.private_key: $P/enc-$kind.key is protected by a password; sipedge needs the key stored unencrypted (and readable by it only, mode 0600). Convert it with: openssl pkey -in $P/enc-$kind.key -out server.key" \
        "$P/good.chain" "$P/enc-$kind.key" "$P/root.pem"
done

# --- line ends and whitespace: accepted, for the certificate and the key
"$PYTHON" - "$P" <<'EOF'
import sys
p = sys.argv[1]
for src in ("good.chain", "good.key"):
    data = open("%s/%s" % (p, src), "rb").read()
    base = src.replace(".", "-")
    open("%s/nonl-%s" % (p, base), "wb").write(data.rstrip(b"\n"))
    open("%s/crlf-%s" % (p, base), "wb").write(data.replace(b"\n", b"\r\n"))
    open("%s/space-%s" % (p, base), "wb").write(
        b"\n \t\n  " + data.replace(b"\n", b"  \n") + b"\n\n \n")
EOF
for v in nonl crlf space; do
    case $v in
        nonl) what="without a trailing newline" ;;
        crlf) what="with CRLF line ends" ;;
        space) what="with blank lines and spaces around" ;;
    esac
    case_t "-t: certificate and key $what: OK" 0 "configuration OK" \
        "$P/$v-good-chain" "$P/$v-good-key" "$P/root.pem"
done
if [ "$(tail -c 1 "$P/nonl-good-key" | od -An -c | tr -d ' ')" != '\n' ] &&
    grep -q $'\r$' "$P/crlf-good-chain"; then
    ok "the variants really lack the final newline / have CR"
else
    not_ok "the variants really lack the final newline / have CR"
fi
ossl x509 -in "$P/good.pem" -outform DER -out "$P/good.der"
ossl pkey -in "$P/good.key" -outform DER -out "$P/good-key.der"
ossl x509 -in "$P/root.pem" -outform DER -out "$P/root.der"
case_t "-t: DER certificate, DER key and DER trust: OK (the warning names the missing intermediate)" \
    0 "warning: chain incomplete: in $P/good.der, CN=localhost is issued by CN=sipedge test intermediate CA, which is neither in the chain nor in tls.trust ($P/root.der)" \
    "$P/good.der" "$P/good-key.der" "$P/root.der"

# --- key sizes
case_t "-t: RSA 1024 key: error in sipedge's own words" \
    1 "@CONF@:@KL@: the RSA key in $P/rsa1024.key has 1024 bits, fewer than the 2048 that sipedge requires" \
    "$P/rsa1024.chain" "$P/rsa1024.key" "$P/root.pem"
case_t "-t: RSA 1024 key with security_level = 0: still the same error" \
    1 "the RSA key in $P/rsa1024.key has 1024 bits, fewer than the 2048 that sipedge requires" \
    "$P/rsa1024.chain" "$P/rsa1024.key" "$P/root.pem" "tls|  security_level = 0;"

# --- dates
case_t "-t: expired certificate: loaded (exit 0) with a warning" \
    0 "@CONF@:@CL@: warning: the certificate in $P/expired.chain expired on 2021-01-01T00:00:00Z; it is used anyway so that service goes on, but peers will refuse it" \
    "$P/expired.chain" "$P/expired.key" "$P/root.pem"
case_t "-t: not yet valid certificate: loaded with a warning" \
    0 "@CONF@:@CL@: warning: the certificate in $P/future.chain is not valid before 2099-01-01T00:00:00Z; it is used anyway" \
    "$P/future.chain" "$P/future.key" "$P/root.pem"
case_t "-t: certificate expiring in 10 days: warning (default 30 days)" \
    0 "warning: the certificate in $P/soon.chain expires on $(date -u -d "$(openssl x509 -in "$P/soon.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ), in 9 days (tls.expiry_warning_days is 30): renew it soon" \
    "$P/soon.chain" "$P/soon.key" "$P/root.pem"
case_conf soon5 "$P/soon.chain" "$P/soon.key" "$P/root.pem" "tls|  expiry_warning_days = 5;"
f=$CASE_FILE
run_t "$f"
expect_t "-t: the same with tls.expiry_warning_days = 5: no warning" 0 "configuration OK" "warning"

# --- extended key usage
case_t "-t: EKU clientAuth only: error, no serverAuth" \
    1 "@CONF@:@CL@: the certificate in $P/clientonly.chain has an extendedKeyUsage without serverAuth (it lists: clientAuth), so peers refuse it as a TLS server certificate" \
    "$P/clientonly.chain" "$P/clientonly.key" "$P/root.pem"
case_conf noeku "$P/noeku.chain" "$P/noeku.key" "$P/root.pem" 'daemon|  zones_dir = "zones-mtls";'
f=$CASE_FILE
run_t "$f"
expect_t "-t: no EKU at all (any purpose), with a mutual TLS zone: OK without warnings" \
    0 "configuration OK" "warning"
case_conf serveronly "$P/serveronly.chain" "$P/serveronly.key" "$P/root.pem" 'daemon|  zones_dir = "zones-mtls";'
f=$CASE_FILE
run_t "$f"
expect_t "-t: serverAuth without clientAuth while zone 'partner' uses mutual TLS: warning" \
    0 "warning: the certificate in $P/serveronly.chain has no clientAuth in its extendedKeyUsage (it lists: serverAuth) while zone 'partner' uses mutual TLS: peers verifying it as a client will reject it"
case_t "-t: serverAuth without clientAuth and no zone: no warning" \
    0 "configuration OK" "$P/serveronly.chain" "$P/serveronly.key" "$P/root.pem"
if grep -q -F "clientAuth" <<<"$OUT"; then
    not_ok "... and nothing said about clientAuth" "$OUT"
else
    ok "... and nothing said about clientAuth"
fi

# --- names
case_t "-t: wildcard in the subjectAltName: warning (RFC 5922)" \
    0 "warning: the certificate in $P/wild.chain names the wildcard *.test.invalid; peers following RFC 5922 do not accept wildcard names" \
    "$P/wild.chain" "$P/wild.key" "$P/root.pem"
case_t "-t: node.fqdn not in the certificate: warning naming it" \
    0 "warning: the certificate in $P/good.chain does not name node.example.invalid (node.fqdn) (it names CN=localhost, DNS:localhost, DNS:sip1.test.invalid)" \
    "$P/good.chain" "$P/good.key" "$P/root.pem" 'node|  fqdn = "node.example.invalid";'
case_conf cluster "$P/cluster.chain" "$P/cluster.key" "$P/root.pem" \
    'node|  cluster_fqdn = "cluster.test.invalid";' \
    'node|  cluster_peers = [ "sip2.test.invalid", "sip3.test.invalid" ];'
f=$CASE_FILE
run_t "$f"
expect_t "-t: clustered, one peer missing: one warning naming only that peer" \
    0 "warning: the certificate in $P/cluster.chain does not name sip3.test.invalid (node.cluster_peers) (it names" "cluster.test.invalid (node"
case_conf cluster2 "$P/good.chain" "$P/good.key" "$P/root.pem" \
    'node|  cluster_fqdn = "cluster.test.invalid";' \
    'node|  cluster_peers = [ "sip1.test.invalid", "sip2.test.invalid" ];'
f=$CASE_FILE
run_t "$f"
expect_t "-t: clustered, cluster name and a peer missing: both named in one warning" \
    0 "does not name cluster.test.invalid (node.cluster_fqdn), sip2.test.invalid (node.cluster_peers) (it names"

# --- names as RFC 5922 peers read them (s.7.1): a sip: URI subjectAltName
# hides the DNS subjectAltNames.  -t warns exactly when a sipedge peer,
# checking with `sipedge-cert check --name`, refuses.
# peer_check CHAIN NAME: the verdict of a sipedge peer expecting NAME.
peer_check() {
    timeout 30 "$SIPEDGE_CERT" check --trust "$P/root.pem" --chain "$1" --name "$2" 2>&1
}
case_t "-t: sip: URI of another name beside DNS:localhost: warning naming node.fqdn" \
    0 "warning: the certificate in $P/sipuri.chain does not name localhost (node.fqdn) (it names CN=localhost, URI:sip:other.test.invalid, DNS:localhost); peers that check the name will refuse connections to that name" \
    "$P/sipuri.chain" "$P/sipuri.key" "$P/root.pem"
expect_t "... and the warning names the rule and what to change" 0 \
    "RFC 5922 s.7.1: a sip: URI subjectAltName (URI:sip:other.test.invalid) hides the DNS subjectAltNames, so DNS:localhost does not count; add URI:sip:localhost to the certificate (tls.extra_names) or leave the sip: URI out"
if out=$(peer_check "$P/sipuri.chain" localhost); then
    not_ok "... as a sipedge peer checking the name localhost refuses it" "$out"
else
    ok "... as a sipedge peer checking the name localhost refuses it"
fi
if grep -q -F "DNS localhost is not used: RFC 5922 s.7.1 takes only the sip URI identities when there are any (sip URI sip:other.test.invalid)" <<<"$out"; then
    ok "... and the peer's reason names the same rule"
else
    not_ok "... and the peer's reason names the same rule" "$out"
fi
case_t "-t: sip: URI of the node's own name (and a sips: one): OK without warnings" \
    0 "configuration OK" "$P/sipuriok.chain" "$P/sipuriok.key" "$P/root.pem"
expect_t "... no warning at all" 0 "configuration OK" "warning"
check "... and a sipedge peer checking the name localhost accepts it" \
    peer_check "$P/sipuriok.chain" localhost
case_conf extra "$P/sipuriok.chain" "$P/sipuriok.key" "$P/root.pem" \
    'tls|  extra_names = [ "DNS:sip1.test.invalid", "URI:sip:localhost", "URI:sips:x.test.invalid", "URI:https://x.test.invalid/", "IP:192.0.2.7" ];'
f=$CASE_FILE
run_t "$f"
expect_t "-t: tls.extra_names DNS and IP names missing: one warning naming them" \
    0 "does not name sip1.test.invalid (tls.extra_names), 192.0.2.7 (tls.extra_names) (it names" "x.test.invalid"

# --- chain
case_t "-t: server certificate alone (intermediate missing): warning 'chain incomplete'" \
    0 "@CONF@:@CL@: warning: chain incomplete: in $P/good.pem, CN=localhost is issued by CN=sipedge test intermediate CA, which is neither in the chain nor in tls.trust ($P/root.pem)" \
    "$P/good.pem" "$P/good.key" "$P/root.pem"
case_t "-t: complete chain but tls.trust lacks its root: warning naming the root" \
    0 "warning: chain incomplete: in $P/good.chain, CN=sipedge test intermediate CA is issued by CN=sipedge test root CA, which is neither in the chain nor in tls.trust ($P/other.pem)" \
    "$P/good.chain" "$P/good.key" "$P/other.pem"
# Chains that OpenSSL's X509_verify_cert takes but every sipedge peer
# refuses (RFC 5280 rules of tls_path): -t warns with the peer's reason.
# A CA without subjectKeyIdentifier: its leaf carries an authority key id
# computed here (SHA-1 of the key, RFC 5280 s.4.2.1.2 method 1), as
# openssl cannot take it from a CA without one.
if ! { eckey noskica && csr noskica "sipedge test CA without SKI" &&
    sign noskica root v3_inter_noski 3650 &&
    kid=$(openssl x509 -in "$P/noskica.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
        tail -c 65 | openssl dgst -sha1 -binary | od -An -tx1 | tr -s ' \n' ':' | sed 's/^://;s/:$//') &&
    printf '[srv_akid]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = DNS:localhost\nauthorityKeyIdentifier = none\n2.5.29.35 = DER:30:16:80:14:%s\n' \
        "$kid" >"$P/akid.cnf" &&
    eckey noski && csr noski localhost &&
    ossl x509 -req -in "$P/noski.csr" -CA "$P/noskica.pem" -CAkey "$P/noskica.key" \
        -set_serial 4242 -days 365 -extfile "$P/akid.cnf" -extensions srv_akid -out "$P/noski.pem" &&
    cat "$P/noski.pem" "$P/noskica.pem" >"$P/noski.chain"; }; then
    bail_out "openssl cannot make the CA without SKI: $(tail -n 5 "$P/openssl.log")"
fi
if ! { eckey ncca && csr ncca "sipedge test CA non-critical" && sign ncca root v3_inter_nc 3650 &&
    eckey ncleaf && csr ncleaf localhost && sign ncleaf ncca srv &&
    cat "$P/ncleaf.pem" "$P/ncca.pem" >"$P/ncleaf.chain"; }; then
    bail_out "openssl cannot make the CA with non-critical basicConstraints"
fi
leaf underscore srv_underscore || bail_out "openssl cannot make the underscore certificate"
# chain_refused NAME DESC RULE: -t on $P/NAME.chain warns that peers refuse
# it with RULE; a sipedge peer (sipedge-cert check) refuses it with RULE.
chain_refused() {
    case_t "-t: $2: warning that peers refuse the chain, with the rule" \
        0 "@CONF@:@CL@: warning: the chain in $P/$1.chain is refused by peers checking it against tls.trust ($P/root.pem): $3" \
        "$P/$1.chain" "$P/$1.key" "$P/root.pem"
    if out=$(peer_check "$P/$1.chain" localhost); then
        not_ok "... a sipedge peer refuses that chain with the same rule" "$out"
    elif grep -q -F -e "$3" <<<"$out"; then
        ok "... a sipedge peer refuses that chain with the same rule"
    else
        not_ok "... a sipedge peer refuses that chain with the same rule" "$out"
    fi
}
chain_refused noski "a CA without subjectKeyIdentifier" \
    "certificate 'CN=sipedge test CA without SKI' (depth 1) is a CA certificate without subjectKeyIdentifier (RFC 5280 s.4.2.1.2 requires it)"
chain_refused ncleaf "a CA whose basicConstraints is not critical" \
    "certificate 'CN=sipedge test CA non-critical' (depth 1) is a CA certificate whose basicConstraints is not marked critical"
chain_refused underscore "a DNS subjectAltName with an underscore" \
    "certificate 'CN=localhost' (depth 0) has the DNS name 'sip_1.test.invalid' in subjectAltName, which is not in the preferred name syntax"
case_conf notrust "$P/good.chain" "$P/good.key"
f=$CASE_FILE
run_t "$f"
expect_t "-t: no trust list installed: the warning says so" \
    0 "which is neither in the chain nor in tls.trust (no trust list is installed)"

# --- bad files
: >"$P/empty.pem"
make_garbage "$P/garbage.pem"
head -c 300 "$P/good.pem" >"$P/truncated.pem"
head -n 3 "$P/good.key" >"$P/truncated.key"
mkdir -p "$P/adir"
case_t "-t: empty certificate file: error" \
    1 "@CONF@:@CL@: tls.certificate: $P/empty.pem is empty" "$P/empty.pem" "$P/good.key"
case_t "-t: garbage certificate file: error" \
    1 "@CONF@:@CL@: tls.certificate: $P/garbage.pem holds no certificate: it is neither PEM nor a DER certificate" \
    "$P/garbage.pem" "$P/good.key"
case_t "-t: truncated certificate file: error" \
    1 "@CONF@:@CL@: tls.certificate: $P/truncated.pem is truncated: its PEM data has a BEGIN line without the matching END line" \
    "$P/truncated.pem" "$P/good.key"
case_t "-t: a directory as certificate: error" \
    1 "@CONF@:@CL@: tls.certificate: $P/adir is a directory, not a file" "$P/adir" "$P/good.key"
case_t "-t: empty key file: error" \
    1 "@CONF@:@KL@: tls.private_key: $P/empty.pem is empty" "$P/good.chain" "$P/empty.pem"
case_t "-t: garbage key file: error" \
    1 "@CONF@:@KL@: tls.private_key: $P/garbage.pem holds no usable private key: it is neither PEM nor DER" \
    "$P/good.chain" "$P/garbage.pem"
case_t "-t: truncated key file: error" \
    1 "@CONF@:@KL@: tls.private_key: $P/truncated.key is truncated: its PEM data has a BEGIN line without the matching END line" \
    "$P/good.chain" "$P/truncated.key"
case_t "-t: a certificate given as the key: error" \
    1 "@CONF@:@KL@: tls.private_key: $P/good.pem holds no private key (no BEGIN PRIVATE KEY block)" \
    "$P/good.chain" "$P/good.pem"
case_t "-t: garbage trust file: error" \
    1 "tls.trust: $P/garbage.pem holds no certificate" "$P/good.chain" "$P/good.key" "$P/garbage.pem"
if [ "$(id -u)" -eq 0 ]; then
    skip "-t: unreadable certificate file: error" "running as root, which reads mode 000 files"
else
    cp "$P/good.chain" "$P/unreadable.chain"
    chmod 000 "$P/unreadable.chain"
    case_t "-t: unreadable certificate file: error" \
        1 "tls.certificate: cannot open $P/unreadable.chain: Permission denied" \
        "$P/unreadable.chain" "$P/good.key"
fi

# --- default paths: pki/server.pem without pki/server.key
mkdir -p "$T/deflt/pki" "$T/deflt/zones"
sed -e 's/^  state_dir = "state";/  state_dir = "'"${T//\//\\/}"'\/state";/' "$BASE" >"$T/deflt/sipedge.conf"
cp "$P/good.chain" "$T/deflt/pki/server.pem"
run_t "$T/deflt/sipedge.conf"
expect_t "-t: default pki/server.pem present, pki/server.key absent: error naming the key file" \
    1 "tls.private_key: the certificate $T/deflt/pki/server.pem is installed but its private key $T/deflt/pki/server.key does not exist"
cp "$P/good.key" "$T/deflt/pki/server.key"
cp "$P/root.pem" "$T/deflt/pki/trust.pem"
run_t "$T/deflt/sipedge.conf"
expect_t "-t: default pki/ files all present: OK" 0 "configuration OK" "warning"

# --- CRLs: embedded in the trust file, and the manual CRL
case_t "-t: trust file with an embedded CRL: OK" 0 "configuration OK" \
    "$P/good.chain" "$P/good.key" "$P/trust-with-crl.pem"
case_t "-t: revocation.manual_crl set to a missing file: error naming it" \
    1 "revocation.manual_crl: cannot open $P/nope.crl: No such file or directory" \
    "$P/good.chain" "$P/good.key" "$P/root.pem" "revocation|  manual_crl = \"$P/nope.crl\";"
case_t "-t: revocation.manual_crl holding garbage: error naming it" \
    1 "revocation.manual_crl: $P/garbage.pem holds no CRL" \
    "$P/good.chain" "$P/good.key" "$P/root.pem" "revocation|  manual_crl = \"$P/garbage.pem\";"
case_t "-t: revocation.manual_crl holding a certificate: error naming it" \
    1 "revocation.manual_crl: $P/root.pem holds no CRL (no BEGIN X509 CRL block)" \
    "$P/good.chain" "$P/good.key" "$P/root.pem" "revocation|  manual_crl = \"$P/root.pem\";"
ossl crl -in "$P/inter.crl" -outform DER -out "$P/inter-crl.der"
case_t "-t: revocation.manual_crl holding a DER CRL: OK" 0 "configuration OK" \
    "$P/good.chain" "$P/good.key" "$P/root.pem" "revocation|  manual_crl = \"$P/inter-crl.der\";"

# --- RSA 8192: a warning
if wait_pid "$RSA8192_PID" 90 && [ -s "$P/rsa8192.key" ]; then
    csr rsa8192 localhost && sign rsa8192 inter srv &&
        cat "$P/rsa8192.pem" "$P/inter.pem" >"$P/rsa8192.chain"
    case_t "-t: RSA 8192 key: loaded with a warning recommending 4096" \
        0 "@CONF@:@KL@: warning: the RSA key in $P/rsa8192.key has 8192 bits; some SIP TLS peers fail the handshake with keys this large, 4096 bits are recommended" \
        "$P/rsa8192.chain" "$P/rsa8192.key" "$P/root.pem"
else
    not_ok "-t: RSA 8192 key: loaded with a warning recommending 4096" \
        "openssl did not make an 8192-bit key in 90 s" "$(cat "$P/rsa8192.log")"
fi

# ---------------------------------------------------------------- running

# s_client_verify OUT: connect to the TLS listener with openssl s_client,
# verifying against the test root; the output goes to OUT.
s_client_verify() {
    timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
        -CAfile "$P/root.pem" -servername localhost </dev/null >"$1" 2>&1
    return 0
}

# Serve an expired certificate (copied to fixed paths, so that a reload can
# replace it), with the CRL-carrying trust file and a manual CRL.
cp "$P/expired.chain" "$T/server.pem"
cp "$P/expired.key" "$T/server.key"
cp "$P/trust-with-crl.pem" "$T/trust.pem"
cp "$P/inter.crl" "$T/manual.crl"
insert_after "$CONF" '^tls: *\{' '  certificate = "server.pem";' >/dev/null
insert_after "$CONF" '^tls: *\{' '  private_key = "server.key";' >/dev/null
insert_after "$CONF" '^tls: *\{' '  trust = "trust.pem";' >/dev/null
printf 'revocation: {\n  manual_crl = "manual.crl";\n};\n' >>"$CONF"

if start_sipedged; then
    ok "sipedged starts with an expired certificate"
else
    bail_out "sipedged did not start with an expired certificate"
fi
check "the alarm is logged: level=warn module=tls event=\"certificate alarm\" alarm=expired" \
    log_has level=warn module=tls 'event="certificate alarm"' "certificate=$T/server.pem" \
    alarm=expired 'reason="expired on 2021-01-01T00:00:00Z"' not_after=2021-01-01T00:00:00Z
check "the trust list is logged with one CA, one embedded CRL and one manual CRL" \
    log_has level=info module=tls 'event="trust loaded"' "trust=$T/trust.pem" cas=1 crls=1 \
    "manual_crl=$T/manual.crl" manual_crls=1
check "the -t warning is also logged as a config warning" \
    log_grep "warning: the certificate in $T/server.pem expired on 2021-01-01T00:00:00Z"
s_client_verify "$T/s_client1.out"
if grep -q -F "Verify return code: 10 (certificate has expired)" "$T/s_client1.out"; then
    ok "TLS is served with the expired certificate (s_client: certificate has expired)"
else
    not_ok "TLS is served with the expired certificate (s_client: certificate has expired)" \
        "$(tail -n 20 "$T/s_client1.out")"
fi

# Renew: install a good certificate at the same paths and reload.
cp "$P/good.chain" "$T/server.pem.new" && mv "$T/server.pem.new" "$T/server.pem"
cp "$P/good.key" "$T/server.key.new" && mv "$T/server.key.new" "$T/server.key"
log_mark
kill -HUP "$SIPEDGED_PID"
if wait_for_event 'event="reload ok"'; then
    ok "SIGHUP after renewing: reload ok"
else
    not_ok "SIGHUP after renewing: reload ok"
fi
check "the renewed certificate is logged as loaded" \
    log_has level=info module=tls 'event="certificate loaded"' "certificate=$T/server.pem"
if log_has 'event="certificate alarm"'; then
    not_ok "no certificate alarm after the reload" "$(log_since_mark)"
else
    ok "no certificate alarm after the reload"
fi
s_client_verify "$T/s_client2.out"
if grep -q -F "Verify return code: 0 (ok)" "$T/s_client2.out"; then
    ok "after the reload s_client verifies the renewed certificate"
else
    not_ok "after the reload s_client verifies the renewed certificate" \
        "$(tail -n 20 "$T/s_client2.out")"
fi

# A reload with a bad key keeps the good identity.
cp "$P/good2.key" "$T/server.key"
log_mark
kill -HUP "$SIPEDGED_PID"
if wait_for_event 'event="reload failed"'; then
    ok "SIGHUP with a key that does not match: reload failed"
else
    not_ok "SIGHUP with a key that does not match: reload failed"
fi
check "the config error names both files" \
    log_grep "the private key in $T/server.key does not match the certificate in $T/server.pem"
check "SIGTERM: exit status 0" stop_sipedged
