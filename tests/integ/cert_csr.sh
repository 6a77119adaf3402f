#!/bin/bash
# cert_csr.sh: sipedge-cert csr new|show|discard.  The requests it makes are
# checked with the openssl CLI (signature, subject, names, usages, key type);
# the names default from the configuration; one request at a time; the key
# is mode 0600 and never printed; every bad argument has its exit code.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 68

[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"

write_config || bail_out "cannot write the configuration"
# A clustered node with extra names; edge1 is listed twice (once upper case).
sed -i -e 's/^  fqdn = "localhost";/  fqdn = "edge1.example.com";\
  cluster_fqdn = "sip.example.com";\
  cluster_peers = [ "edge2.example.com", "EDGE1.example.com" ];/' \
    -e 's/^tls: {/tls: {\
  extra_names = [ "DNS:chat.example.com", "URI:sip:example.com", "IP:192.0.2.7" ];/' "$CONF"
if ! grep -q cluster_peers "$CONF" || ! grep -q extra_names "$CONF"; then
    bail_out "cannot add the node names to $CONF"
fi
CSR_DIR="$T/state/csr"
CSR="$CSR_DIR/pending.csr"
KEY="$CSR_DIR/pending.key"
OUT="$T/cert.out"
ERR="$T/cert.err"
RC=0

# run [-c FILE] ARGS...: run sipedge-cert (default -c $CONF); stdout in $OUT,
# stderr in $ERR, exit status in RC.
run() {
    local conf=$CONF
    if [ "$1" = "-c" ]; then
        conf=$2
        shift 2
    fi
    timeout 60 "$SIPEDGE_CERT" -c "$conf" "$@" >"$OUT" 2>"$ERR" </dev/null
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

# req_text FILE: the request as openssl prints it, signature verified.
req_text() {
    openssl req -in "$1" -noout -text -verify 2>&1
}

# req_ext FILE TITLE: the line after the extension TITLE, trimmed.
req_ext() {
    openssl req -in "$1" -noout -text 2>/dev/null |
        awk -v t="$2" 'found { sub(/^ +/, ""); print; exit } index($0, t) { found = 1 }'
}

# req_subject FILE: the subject as /C=../CN=..
req_subject() {
    openssl req -in "$1" -noout -subject -nameopt compat 2>/dev/null | sed 's/^subject=//'
}

# same_pubkey KEY CSR: the key belongs to the request.
same_pubkey() {
    cmp -s <(openssl pkey -in "$1" -pubout 2>/dev/null) \
        <(openssl req -in "$2" -noout -pubkey 2>/dev/null)
}

# key_not_shown: neither output holds key armour or a line of the key file.
key_not_shown() {
    local line
    grep -q "PRIVATE KEY" "$OUT" "$ERR" && return 1
    line=$(sed -n 3p "$KEY")
    [ -n "$line" ] || return 1
    ! grep -q -F -e "$line" "$OUT" "$ERR"
}

# both_same A1 B1 A2 B2: A1 and B1 are the same, and so are A2 and B2.
both_same() {
    cmp "$1" "$2" && cmp "$3" "$4"
}

# has_all TEXT STRING...: TEXT holds every fixed STRING.
has_all() {
    local text=$1 s
    shift
    for s in "$@"; do
        grep -q -F -e "$s" <<<"$text" || {
            echo "missing: $s"
            return 1
        }
    done
}

# is_value WHAT GOT WANT: ok when equal, else not_ok showing both.
is_value() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "got:  $2" "want: $3"
    fi
}

# ------------------------------------------------------------ csr new defaults

run csr new
if [ "$RC" -eq 0 ] && [ -s "$CSR" ] && [ -s "$KEY" ]; then
    ok "csr new with the defaults"
else
    not_ok "csr new with the defaults" "exit $RC" "$(cat "$ERR")"
fi
check "the request verifies with openssl req -verify" \
    grep -q "self-signature verify OK" <(req_text "$CSR")
check "stdout is the request in PEM, the same as the pending file" cmp "$OUT" "$CSR"
is_value "the common name defaults to node.cluster_fqdn" "$(req_subject "$CSR")" \
    "/CN=sip.example.com"
is_value "names: fqdn, cluster, peers, extra names, in order, once each" \
    "$(req_ext "$CSR" "X509v3 Subject Alternative Name")" \
    "DNS:edge1.example.com, DNS:sip.example.com, DNS:edge2.example.com, DNS:chat.example.com, URI:sip:example.com, IP Address:192.0.2.7"
is_value "extended key usage serverAuth and clientAuth" \
    "$(req_ext "$CSR" "X509v3 Extended Key Usage")" \
    "TLS Web Server Authentication, TLS Web Client Authentication"
is_value "key usage for RSA: digitalSignature, keyEncipherment (critical)" \
    "$(req_ext "$CSR" "X509v3 Key Usage: critical")" \
    "Digital Signature, Key Encipherment"
check "the default key is RSA 2048 with a SHA-256 signature" \
    has_all "$(req_text "$CSR")" "Public-Key: (2048 bit)" "sha256WithRSAEncryption"
check "the pending key belongs to the request" same_pubkey "$KEY" "$CSR"
is_value "modes: key 0600, request 0644, csr directory 0700" \
    "$(stat -c %a "$KEY" "$CSR" "$CSR_DIR" | tr '\n' ' ')" "600 644 700 "
check "the key is printed neither on stdout nor on stderr" key_not_shown
check "the summary on stderr says where the request and key are" \
    grep -q -F -e "$CSR" "$ERR"
# tls.extra_names has URI:sip:example.com: RFC 5922 peers then ignore the
# DNS names, so every other configured name would be refused.
check "a sip: URI in the names: warning naming every name peers would refuse" \
    grep -q -F -e "sipedge-cert: warning: a certificate issued from this request does not name edge1.example.com (node.fqdn), sip.example.com (node.cluster_fqdn), edge2.example.com (node.cluster_peers), chat.example.com (tls.extra_names) (it names CN=sip.example.com, DNS:edge1.example.com," "$ERR"
check "... and the rule: the sip: URI hides the DNS names (RFC 5922 s.7.1), what to add" \
    grep -q -F -e "RFC 5922 s.7.1: a sip: URI subjectAltName (URI:sip:example.com) hides the DNS subjectAltNames, so DNS:edge1.example.com, DNS:sip.example.com, DNS:edge2.example.com, DNS:chat.example.com do not count; add URI:sip:edge1.example.com, URI:sip:sip.example.com, URI:sip:edge2.example.com, URI:sip:chat.example.com to the certificate (tls.extra_names) or leave the sip: URI out" "$ERR"

# ------------------------------------------------------------ one at a time

cp "$CSR" "$T/first.csr"
cp "$KEY" "$T/first.key"
expect_fail "csr new refuses while a request is pending" 1 "already pending" csr new
check "the refusal says how: csr show, csr discard or --replace" \
    grep -q -e "csr show.*csr discard.*csr new --replace" "$ERR"
check "the refusal leaves the pending files as they were" \
    both_same "$T/first.csr" "$CSR" "$T/first.key" "$KEY"

run csr new --replace --key ec256 --c de --st Bavaria --l Munich --o "Example AG" \
    --ou Voice --cn edge.example.com --san URI:sip:edge.example.com \
    --san 2001:db8::1 --san Extra.Example.com --san sip.example.com
if [ "$RC" -eq 0 ] && ! cmp -s "$T/first.key" "$KEY"; then
    ok "csr new --replace makes a new key and request"
else
    not_ok "csr new --replace makes a new key and request" "exit $RC" "$(cat "$ERR")"
fi
check "the replacing request verifies" grep -q "self-signature verify OK" <(req_text "$CSR")
is_value "every subject field, country upper-cased, in C ST L O OU CN order" \
    "$(req_subject "$CSR")" "/C=DE/ST=Bavaria/L=Munich/O=Example AG/OU=Voice/CN=edge.example.com"
is_value "--san entries follow the configured names, then the common name" \
    "$(req_ext "$CSR" "X509v3 Subject Alternative Name")" \
    "DNS:edge1.example.com, DNS:sip.example.com, DNS:edge2.example.com, DNS:chat.example.com, URI:sip:example.com, IP Address:192.0.2.7, URI:sip:edge.example.com, IP Address:2001:DB8:0:0:0:0:0:1, DNS:extra.example.com, DNS:edge.example.com"
check "ec256 is an EC P-256 key" grep -q "NIST CURVE: P-256" <(req_text "$CSR")
is_value "key usage for EC: digitalSignature only" \
    "$(req_ext "$CSR" "X509v3 Key Usage: critical")" "Digital Signature"
check "the new key belongs to the new request" same_pubkey "$KEY" "$CSR"
check "the replacement says it replaced the pending request" grep -q "replaced" "$ERR"

# key_type_case TYPE WANT: csr new --replace --key TYPE makes a verified
# request whose openssl text holds WANT.
key_type_case() {
    run csr new --replace --key "$1"
    [ "$RC" -eq 0 ] || {
        echo "exit $RC: $(cat "$ERR")"
        return 1
    }
    req_text "$CSR" >"$T/req.txt"
    grep -q "self-signature verify OK" "$T/req.txt" && grep -q -F -e "$2" "$T/req.txt" &&
        same_pubkey "$KEY" "$CSR" && key_not_shown && [ "$(stat -c %a "$KEY")" = 600 ]
}
check "--key rsa3072" key_type_case rsa3072 "Public-Key: (3072 bit)"
check "--key rsa4096" key_type_case rsa4096 "Public-Key: (4096 bit)"
check "--key ec384" key_type_case ec384 "NIST CURVE: P-384"

run csr new --replace --san '*.example.com'
if [ "$RC" -eq 0 ] && [ "$(grep -c "wildcard" "$ERR")" -eq 1 ] &&
    req_ext "$CSR" "X509v3 Subject Alternative Name" | grep -q -F "DNS:*.example.com"; then
    ok "a wildcard --san is accepted with a warning (RFC 5922)"
else
    not_ok "a wildcard --san is accepted with a warning (RFC 5922)" "exit $RC" "$(cat "$ERR")"
fi

# ------------------------------------------------------------ show, discard

run csr show
if [ "$RC" -eq 0 ] && grep -q -F -e "$CSR" "$OUT" &&
    grep -q -F "CN=sip.example.com" "$OUT" && grep -q "RSA 2048" "$OUT" &&
    grep -q "serverAuth, clientAuth" "$OUT" &&
    grep -q -F "DNS:edge1.example.com, DNS:sip.example.com" "$OUT"; then
    ok "csr show: file, subject, key type and size, names, EKU"
else
    not_ok "csr show: file, subject, key type and size, names, EKU" "exit $RC" \
        "$(cat "$OUT" "$ERR")"
fi
is_value "csr show: generated at is the request's mtime in UTC" \
    "$(sed -n 's/^ *generated at: *//p' "$OUT")" "$(date -u -r "$CSR" +%Y-%m-%dT%H:%M:%SZ)"
run csr show --pem
check "csr show --pem prints the pending request" cmp "$OUT" "$CSR"

run csr new --replace --o "Example AG" --cn edge.example.com --email pki@example.com
if [ "$RC" -eq 0 ] && [ "$(req_subject "$CSR")" = "/O=Example AG/CN=edge.example.com/emailAddress=pki@example.com" ] &&
    ! req_ext "$CSR" "X509v3 Subject Alternative Name" | grep -q -i "email"; then
    ok "--email: the subject's emailAddress, last; not a subjectAltName"
else
    not_ok "--email: the subject's emailAddress, last; not a subjectAltName" "exit $RC" \
        "$(req_subject "$CSR")" "$(cat "$ERR")"
fi
check "... csr show prints it in the subject" \
    eval '"$SIPEDGE_CERT" -c "$CONF" csr show | grep -q -F "emailAddress=pki@example.com"'

run csr discard
if [ "$RC" -eq 0 ] && [ ! -e "$CSR" ] && [ ! -e "$KEY" ] &&
    grep -q -F -e "$CSR" "$OUT" && grep -q -F -e "$KEY" "$OUT"; then
    ok "csr discard deletes both files and names them"
else
    not_ok "csr discard deletes both files and names them" "exit $RC" "$(cat "$OUT" "$ERR")"
fi
expect_fail "csr discard with nothing pending: exit 1" 1 "no certificate signing request is pending" \
    csr discard
expect_fail "csr show with nothing pending says how to make one" 1 "csr new" csr show
expect_fail "csr show --pem with nothing pending: exit 1" 1 "is pending" csr show --pem

# ------------------------------------------------------------ wrong arguments

expect_fail "csr without a subcommand: usage" 2 "new, show or discard" csr
expect_fail "csr frob: usage" 2 "unknown subcommand 'frob'" csr frob
expect_fail "--key rsa1024: usage" 2 "--key rsa1024 is not a key type" csr new --key rsa1024
expect_fail "--c USA: usage" 2 "not a country code" csr new --c USA
expect_fail "--c 1A: usage" 2 "not a country code" csr new --c 1A
expect_fail "an empty --o: usage" 2 "--o is empty" csr new --o ""
expect_fail "--email without a domain: usage" 2 "--email \"pki\" is not an email address" csr new --email pki
expect_fail "an empty --cn: usage" 2 "--cn is empty" csr new --cn ""
expect_fail "a 65-character --cn: usage" 2 "at most 64" \
    csr new --cn "$(printf 'a%.0s' $(seq 65))"
expect_fail "--san IP:999.1.1.1: usage" 2 "is not an IPv4 or IPv6 address" \
    csr new --san IP:999.1.1.1
expect_fail "--san FOO:bar: usage" 2 "is not a name type" csr new --san FOO:bar
expect_fail "--san with a space: usage" 2 "only letters, digits, hyphens and dots" \
    csr new --san "bad name.example"
expect_fail "--san with an empty label: usage" 2 "empty label" csr new --san "a..example"
expect_fail "--san URI without a scheme: usage" 2 "scheme" csr new --san URI:example.com
expect_fail "an unknown option: usage" 2 "unknown option --bogus" csr new --bogus
expect_fail "--cn without a value: usage" 2 "--cn needs a value" csr new --cn
expect_fail "a stray argument: usage" 2 "unexpected argument 'extra'" csr new extra
expect_fail "csr show --frob: usage" 2 "unknown option --frob" csr show --frob
expect_fail "csr discard extra: usage" 2 "unexpected argument" csr discard extra
if [ -z "$(ls -A "$CSR_DIR")" ]; then
    ok "no refused command left a file behind"
else
    not_ok "no refused command left a file behind" "$(ls -la "$CSR_DIR")"
fi

# ------------------------------------------------------------ other configurations

expect_fail "a missing configuration: exit 1" 1 "cannot use configuration" \
    -c "$T/missing.conf" csr new

# An unclustered node: the common name and the only name are node.fqdn.
SOLO="$T/solo.conf"
sed -e '/cluster_fqdn\|cluster_peers\|extra_names/d' \
    -e 's/"edge1.example.com"/"solo.example.com"/' -e 's/"state"/"solo-state"/' "$CONF" >"$SOLO"
run -c "$SOLO" csr new --key ec256
if [ "$RC" -eq 0 ] && [ "$(req_subject "$T/solo-state/csr/pending.csr")" = "/CN=solo.example.com" ] &&
    [ "$(req_ext "$T/solo-state/csr/pending.csr" "X509v3 Subject Alternative Name")" = "DNS:solo.example.com" ]; then
    ok "unclustered: CN and the only name are node.fqdn"
else
    not_ok "unclustered: CN and the only name are node.fqdn" "exit $RC" "$(cat "$ERR")" \
        "$(req_text "$T/solo-state/csr/pending.csr")"
fi

if grep -q "warning" "$ERR"; then
    not_ok "unclustered, DNS name only: no warning" "$(cat "$ERR")"
else
    ok "unclustered, DNS name only: no warning"
fi
run -c "$SOLO" csr new --key ec256 --replace --san URI:sip:example.com
if [ "$RC" -eq 0 ] && grep -q -F "warning: a certificate issued from this request does not name solo.example.com (node.fqdn)" "$ERR" &&
    grep -q -F "hides the DNS subjectAltNames, so DNS:solo.example.com does not count; add URI:sip:solo.example.com" "$ERR"; then
    ok "--san URI:sip:example.com hides DNS:solo.example.com: warning"
else
    not_ok "--san URI:sip:example.com hides DNS:solo.example.com: warning" "exit $RC" "$(cat "$ERR")"
fi
run -c "$SOLO" csr new --key ec256 --replace --san URI:sip:example.com --san URI:sip:solo.example.com:5061
if [ "$RC" -eq 0 ] && ! grep -q "warning" "$ERR"; then
    ok "... with URI:sip:solo.example.com too: no warning"
else
    not_ok "... with URI:sip:solo.example.com too: no warning" "exit $RC" "$(cat "$ERR")"
fi
run -c "$SOLO" csr new --key ec256 --replace --cn "Solo Edge" --san URI:sip:solo.example.com --san other.example.com
if [ "$RC" -eq 0 ] && grep -q -F "does not name other.example.com (--san) (it names" "$ERR" &&
    ! grep -q -F "solo.example.com (node.fqdn)" "$ERR" && ! grep -q -F "Solo Edge (" "$ERR"; then
    ok "a --san DNS name hidden by a --san sip: URI: warning naming it (--san)"
else
    not_ok "a --san DNS name hidden by a --san sip: URI: warning naming it (--san)" "exit $RC" "$(cat "$ERR")"
fi

BADNAME="$T/badname.conf"
sed -e 's/"solo.example.com"/"bad_name.example.com"/' -e 's/"solo-state"/"bad-state"/' "$SOLO" >"$BADNAME"
expect_fail "a node.fqdn that cannot be a DNS name: exit 1" 1 "node.fqdn in $BADNAME cannot go into a certificate: \"bad_name.example.com\" is not a host name: it has the character '_'" \
    -c "$BADNAME" csr new
check "the refused request left no file" test ! -e "$T/bad-state/csr/pending.key"

# The csr directory cannot be made (a file is in the way): no key is left.
BLOCKED="$T/blocked.conf"
sed -e 's/"solo-state"/"blocked-state"/' "$SOLO" >"$BLOCKED"
mkdir -p "$T/blocked-state" && : >"$T/blocked-state/csr"
expect_fail "an unwritable state directory: exit 1, nothing made" 1 "no request was made" \
    -c "$BLOCKED" csr new --key ec256
if [ "$(find "$T/blocked-state" -type f | wc -l)" -eq 1 ] && [ ! -s "$OUT" ]; then
    ok "the failed csr new left no key and printed no request"
else
    not_ok "the failed csr new left no key and printed no request" "$(find "$T/blocked-state")"
fi
