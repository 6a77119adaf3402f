#!/bin/bash
# names.sh: one name syntax (src/util/name.c) for every place a name is
# written: tls.extra_names (sipedged -t), `sipedge-cert csr new --san`,
# `lab-ca issue --san`, the names a request asks `lab-ca issue --csr` for,
# and `install` (which reads the configuration).  A name one accepts, all
# accept; a name one refuses, all refuse with the same sentence.  The
# requests for --csr are made with the openssl CLI.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl
plan 33

[ -x "$SIPEDGE_CERT" ] || bail_out "SIPEDGE_CERT=$SIPEDGE_CERT is not an executable file"

write_config || bail_out "cannot write the configuration"
CAD="$T/ca"
W="$T/work"
mkdir -p "$W"
OUT="$T/cmd.out"
ERR="$T/cmd.err"
RC=0

# The sentences every place must say for these names.
UNDERSCORE="\"a_b.example.com\" is not a host name: it has the character '_'; only letters, digits, hyphens and dots are allowed (an underscore belongs to service labels such as _sip._tcp, never to a host name, RFC 1123)"
SIP_UNDERSCORE="the SIP URI \"sip:a_b.example.com\" has a host that is not a host name or IP address: $UNDERSCORE"
WILD_PLACE="\"a.*.example.com\" is not a host name: a wildcard must be the whole leftmost label of a longer name (*.example.com)"
NUMERIC="\"host.123\" is not a host name: its last label is all digits"
BAD_TYPE="\"email:a@b.example\": \"email\" is not a name type; write DNS:name, IP:address or URI:scheme:value"

# conf_with NAME FILE: the test configuration with tls.extra_names = [ NAME ].
conf_with() {
    sed -e "s|^tls: {|tls: {\\
  extra_names = [ \"$1\" ];|" "$CONF" >"$2"
}

# run ARGS...: sipedge-cert ARGS; stdout in $OUT, stderr in $ERR, status in RC.
run() {
    timeout 60 "$SIPEDGE_CERT" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
}

# said DESC OKRC TEXT: the last command exited OKRC ("fail": not 0) and,
# when TEXT is not empty, printed it (a fixed string) on stderr.
said() {
    local desc=$1 want=$2 text=$3 good=1
    if grep -q -E 'Sanitizer|runtime error:' "$ERR"; then
        good=0
    elif [ "$want" = fail ]; then
        [ "$RC" -ne 0 ] || good=0
    else
        [ "$RC" -eq "$want" ] || good=0
    fi
    if [ "$good" -eq 1 ] && { [ -z "$text" ] || grep -q -F -e "$text" "$ERR"; }; then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC (want $want); want on stderr: $text" \
            "stderr: $(head -c 2000 "$ERR")"
    fi
}

# checkconf NAME: sipedged -t on a configuration with NAME in extra_names.
checkconf() {
    conf_with "$1" "$T/names.conf"
    timeout 20 "$SIPEDGED" -t -c "$T/names.conf" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
}

# csr_san NAME: csr new --replace --san NAME on the test configuration.
csr_san() {
    run -c "$CONF" csr new --replace --key ec256 --san "$1"
}

# ca_san NAME: lab-ca issue --san NAME.
ca_san() {
    rm -f "$W/leaf.pem" "$W/leaf.key"
    run lab-ca issue --dir "$CAD" --cn leaf.example.com --san "$1" --out "$W/leaf" --force
}

# ca_csr NAME: lab-ca issue --csr of a request (openssl) asking for DNS NAME.
ca_csr() {
    rm -f "$W/req.csr"
    timeout 60 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$W/req.key" -out "$W/req.csr" -subj "/CN=req.example.com" \
        -addext "subjectAltName=DNS:$1" >/dev/null 2>&1 ||
        bail_out "openssl cannot make a request for DNS:$1"
    run lab-ca issue --dir "$CAD" --csr "$W/req.csr" --out "$W/fromcsr" --force
}

run lab-ca init --dir "$CAD"
[ "$RC" -eq 0 ] || bail_out "lab-ca init: $(cat "$ERR")"

# ------------------------------------------------------ an underscore: refused

checkconf "DNS:a_b.example.com"
said "sipedged -t: extra_names DNS:a_b.example.com refused" fail \
    "tls.extra_names[0]: $UNDERSCORE"
csr_san "DNS:a_b.example.com"
said "csr new --san DNS:a_b.example.com: the same sentence" 2 "csr new: --san: $UNDERSCORE"
csr_san "a_b.example.com"
said "csr new --san a_b.example.com (bare): the same sentence" 2 "$UNDERSCORE"
ca_san "DNS:a_b.example.com"
said "lab-ca issue --san DNS:a_b.example.com: the same sentence" 2 \
    "lab-ca issue: --san: $UNDERSCORE"
ca_san "a_b.example.com"
said "lab-ca issue --san a_b.example.com (bare): the same sentence" 2 "$UNDERSCORE"
ca_csr "a_b.example.com"
said "lab-ca issue --csr asking for DNS:a_b.example.com: the same sentence" fail \
    "$UNDERSCORE"
check "... and no certificate is written" test ! -e "$W/fromcsr.pem"
conf_with "DNS:a_b.example.com" "$T/bad.conf"
cp "$CAD/ca.pem" "$W/any.pem"
run -c "$T/bad.conf" install "$W/any.pem" --no-reload
said "install with extra_names DNS:a_b.example.com: the same sentence" fail \
    "tls.extra_names[0]: $UNDERSCORE"
run -c "$T/bad.conf" csr new --key ec256
said "csr new with extra_names DNS:a_b.example.com: the same sentence" fail \
    "tls.extra_names[0]: $UNDERSCORE"

# A sip: URI whose host has an underscore.
checkconf "URI:sip:a_b.example.com"
said "sipedged -t: URI:sip:a_b.example.com refused" fail "$SIP_UNDERSCORE"
csr_san "URI:sip:a_b.example.com"
said "csr new --san URI:sip:a_b.example.com: the same sentence" 2 "$SIP_UNDERSCORE"
ca_san "URI:sip:a_b.example.com"
said "lab-ca issue --san URI:sip:a_b.example.com: the same sentence" 2 "$SIP_UNDERSCORE"

# ------------------------------------------------------ other refusals, alike

for name in "DNS:a.*.example.com|$WILD_PLACE" "DNS:host.123|$NUMERIC" \
    "email:a@b.example|$BAD_TYPE"; do
    entry=${name%%|*}
    text=${name#*|}
    checkconf "$entry"
    said "sipedged -t refuses $entry" fail "$text"
    csr_san "$entry"
    said "csr new --san $entry: the same sentence" 2 "$text"
    ca_san "$entry"
    said "lab-ca issue --san $entry: the same sentence" 2 "$text"
done

# ------------------------------------------------------ accepted by all

# A bare URI (lab-ca took it, csr new refused it), a bare name (the
# configuration refused it), a wildcard (csr new and lab-ca took "*", now
# refused as above), mixed case and a long IPv6 form.
for entry in "sip:example.net" "edge.example.com" "DNS:*.Example.COM" \
    "IP:2001:DB8:0:0::1"; do
    checkconf "$entry"
    said "sipedged -t accepts $entry" 0 ""
    csr_san "$entry"
    said "csr new --san $entry accepted" 0 ""
    ca_san "$entry"
    said "lab-ca issue --san $entry accepted" 0 ""
done
