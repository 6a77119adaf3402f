#!/bin/bash
# cert_path.sh: path validation to RFC 5280 (issue 12), through
# `sipedge-cert check` and, for a representative set, through the daemon's
# gate on live TLS connections.  Every certificate is made here with the
# openssl CLI from extension files this script writes: the MUSTs OpenSSL
# 3.0 leaves out (subjectKeyIdentifier in CAs, authorityKeyIdentifier,
# critical basicConstraints, keyCertSign only in CAs, nameConstraints only
# in CAs and in DNS form, DNS SANs in the preferred name syntax, a critical
# SAN with an empty subject), notAfter inclusive, path building that tries
# every candidate issuer (cross-signed CAs, same-name CAs, a trust anchor
# that is not self-signed), bounded work on hostile chains (a loop, 50
# certificates of one name), and reasons that name the certificate, its
# depth, the rule, and the missing issuer.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl "$PYTHON"
plan 39

P=$T/pki
mkdir -p "$P"
SERIAL=4096

o() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail_out "openssl $1 failed: $(tail -n 5 "$T/openssl.log")"; }

# mk NAME SUBJECT ISSUER KEY EXT...: $P/NAME.pem for the key $P/KEY.key
# (made when missing) with the extension lines EXT, signed by certificate
# $P/ISSUER.pem and its key, or self-signed when ISSUER is "-".
mk() {
    local n=$1 subj=$2 iss=$3 k=$4
    shift 4
    [ -f "$P/$k.key" ] || o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$k.key"
    echo "$k" >"$P/$n.k"
    printf '%s\n' "$@" >"$P/$n.ext"
    o req -new -key "$P/$k.key" -subj "$subj" -out "$P/$n.csr"
    SERIAL=$((SERIAL + 1))
    if [ "$iss" = - ]; then
        o x509 -req -in "$P/$n.csr" -key "$P/$k.key" -set_serial "$SERIAL" -days "${DAYS:-30}" \
            -extfile "$P/$n.ext" -out "$P/$n.pem"
    else
        o x509 -req -in "$P/$n.csr" -CA "$P/$iss.pem" -CAkey "$P/$(cat "$P/$iss.k").key" \
            -set_serial "$SERIAL" -days "${DAYS:-30}" -extfile "$P/$n.ext" -out "$P/$n.pem"
    fi
}
# chain NAME FILE...: $P/NAME.chain from $P/FILE.pem in that order.
chain() {
    local n=$1 f
    shift
    for f in "$@"; do cat "$P/$f.pem"; done >"$P/$n.chain"
}

ROOT=("basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" subjectKeyIdentifier=hash)
CAEXT=("${ROOT[@]}" authorityKeyIdentifier=keyid)
LEAF=("basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature"
    "extendedKeyUsage=serverAuth,clientAuth" subjectKeyIdentifier=hash authorityKeyIdentifier=keyid)
SAN=subjectAltName=DNS:sip.partner.example

# ---- the compliant PKI, and one certificate per broken rule.
mk root "/O=sipedge test/CN=Path Root" - kroot "${ROOT[@]}"
mk int "/O=sipedge test/CN=Path Int" root kint "${CAEXT[@]}"
mk good "/CN=good" int kleaf "${LEAF[@]}" "$SAN"
chain good good int
DAYS=20 mk short "/CN=short" int kleaf "${LEAF[@]}" "$SAN"
chain short short int
# A CA without subjectKeyIdentifier: its key, certified once more with
# one, signs the leaf (openssl needs it to write the leaf's AKID).
mk noskid "/CN=No SKID CA" root knoskid basicConstraints=critical,CA:TRUE \
    keyUsage=critical,keyCertSign,cRLSign subjectKeyIdentifier=none authorityKeyIdentifier=keyid
mk noskid-signer "/CN=No SKID CA" root knoskid "${CAEXT[@]}"
mk l-noskid "/CN=under no skid" noskid-signer kleaf "${LEAF[@]}" "$SAN"
chain l-noskid l-noskid noskid
mk l-noakid "/CN=no akid" int kleaf basicConstraints=critical,CA:FALSE \
    keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth,clientAuth \
    subjectKeyIdentifier=hash authorityKeyIdentifier=none "$SAN"
chain l-noakid l-noakid int
mk r-nobc "/CN=Root without BC" - knobc keyUsage=critical,keyCertSign,cRLSign subjectKeyIdentifier=hash
mk l-nobc "/CN=under root without bc" r-nobc kleaf "${LEAF[@]}" "$SAN"
chain l-nobc l-nobc
mk r-bcnc "/CN=Root with plain BC" - kbcnc basicConstraints=CA:TRUE \
    keyUsage=critical,keyCertSign,cRLSign subjectKeyIdentifier=hash
mk l-bcnc "/CN=under root with plain bc" r-bcnc kleaf "${LEAF[@]}" "$SAN"
chain l-bcnc l-bcnc
mk i-bcnc "/CN=Int with plain BC" root kibcnc basicConstraints=CA:TRUE \
    keyUsage=critical,keyCertSign,cRLSign subjectKeyIdentifier=hash authorityKeyIdentifier=keyid
mk l-ibcnc "/CN=under int with plain bc" i-bcnc kleaf "${LEAF[@]}" "$SAN"
chain l-ibcnc l-ibcnc i-bcnc
mk l-kcs "/CN=leaf with keyCertSign" int kleaf basicConstraints=critical,CA:FALSE \
    keyUsage=critical,digitalSignature,keyCertSign extendedKeyUsage=serverAuth,clientAuth \
    subjectKeyIdentifier=hash authorityKeyIdentifier=keyid "$SAN"
chain l-kcs l-kcs int
mk l-nc "/CN=leaf with nc" int kleaf "${LEAF[@]}" "$SAN" \
    "nameConstraints=critical,permitted;DNS:sip.partner.example"
chain l-nc l-nc int
mk i-ncbad "/CN=Int with bad nc" root kincbad "${CAEXT[@]}" \
    "nameConstraints=critical,excluded;DNS:bad_name.example"
mk l-ncbad "/CN=under bad nc" i-ncbad kleaf "${LEAF[@]}" "$SAN"
chain l-ncbad l-ncbad i-ncbad
mk l-under "/CN=underscore" int kleaf "${LEAF[@]}" \
    subjectAltName=DNS:sip.partner.example,DNS:sip_1.partner.example
chain l-under l-under int
mk l-empty "/" int kleaf "${LEAF[@]}" "$SAN"
chain l-empty l-empty int
mk l-emptyok "/" int kleaf "${LEAF[@]}" subjectAltName=critical,DNS:sip.partner.example
chain l-emptyok l-emptyok int
mk l-ku "/CN=nonRepudiation only" int kleaf basicConstraints=critical,CA:FALSE \
    keyUsage=critical,nonRepudiation extendedKeyUsage=serverAuth,clientAuth \
    subjectKeyIdentifier=hash authorityKeyIdentifier=keyid "$SAN"
chain l-ku l-ku int

# ---- path building.
# Cross-signed: one key and name, certified by an old root nobody trusts
# and by a new trusted one; the peer sends the old one first.
mk oldroot "/CN=Old Root" - koldroot "${ROOT[@]}"
mk newroot "/CN=New Root" - knewroot "${ROOT[@]}"
mk x-old "/CN=Cross CA" oldroot kcross "${CAEXT[@]}"
mk x-new "/CN=Cross CA" newroot kcross "${CAEXT[@]}"
mk l-cross "/CN=cross" x-new kleaf "${LEAF[@]}" "$SAN"
chain l-cross l-cross x-old x-new
chain l-cross-old l-cross x-old oldroot
# Same name and key identifier, different keys: the first leads nowhere.
TWIN=("basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign"
    subjectKeyIdentifier=0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D
    authorityKeyIdentifier=keyid)
mk twin1 "/CN=Twin CA" root ktwin1 "${TWIN[@]}"
mk twin2 "/CN=Twin CA" root ktwin2 "${TWIN[@]}"
mk l-twin "/CN=twin" twin2 kleaf "${LEAF[@]}" "$SAN"
chain l-twin l-twin twin1 twin2
# ... and two roots of one name in the trust list.
mk sroot1 "/CN=Same Root" - ksroot1 "${TWIN[@]::3}"
mk sroot2 "/CN=Same Root" - ksroot2 "${TWIN[@]::3}"
mk l-sroot "/CN=same root" sroot2 kleaf "${LEAF[@]}" "$SAN"
chain l-sroot l-sroot
cat "$P/sroot1.pem" "$P/sroot2.pem" >"$P/sroots.pem"
# A trusted intermediate of a root nobody trusts: an anchor all the same.
mk hidden "/CN=Hidden Root" - khidden "${ROOT[@]}"
mk anchor "/CN=Anchor CA" hidden kanchor "${CAEXT[@]}"
mk l-anchor "/CN=anchored" anchor kleaf "${LEAF[@]}" "$SAN"
chain l-anchor l-anchor
# Hostile: 50 certificates of one name and key, and a two-CA loop.
mk loop1 "/CN=Loop CA" - kloop "${ROOT[@]}"
for i in $(seq 2 50); do
    SERIAL=$((SERIAL + 1))
    o x509 -req -in "$P/loop1.csr" -key "$P/kloop.key" -set_serial "$SERIAL" -days 30 \
        -extfile "$P/loop1.ext" -out "$P/loop$i.pem"
done
mk l-loop "/CN=looped" loop1 kleaf "${LEAF[@]}" "$SAN"
loops=()
for i in $(seq 1 50); do loops+=("loop$i"); done
chain l-loop l-loop "${loops[@]}"
mk b-self "/CN=Loop B" - kb "${ROOT[@]}"
mk loopa "/CN=Loop A" b-self ka "${CAEXT[@]}"
mk loopb "/CN=Loop B" loopa kb "${CAEXT[@]}"
mk l-ab "/CN=in a loop" loopa kleaf "${LEAF[@]}" "$SAN"
chain l-ab l-ab loopa loopb

# check_run TRUST CHAIN ARGS...: sipedge-cert check; OUT, ERR, RC, MS.
check_run() {
    local t=$1 c=$2 t0
    shift 2
    t0=$(_now_ms)
    OUT=$(timeout 60 "$SIPEDGE_CERT" check --trust "$P/$t.pem" --chain "$P/$c.chain" "$@" 2>"$T/err")
    RC=$?
    MS=$(($(_now_ms) - t0))
    ERR=$(cat "$T/err")
}
# expect DESC RC REGEX TRUST CHAIN ARGS...: exit RC and a first line
# matching REGEX.
expect() {
    local desc=$1 rc=$2 re=$3
    shift 3
    check_run "$@"
    if [ "$RC" -eq "$rc" ] && head -n 1 <<<"$OUT" | grep -q -E -e "$re"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC (want $rc), first line wanted /$re/; stdout, stderr:" "$OUT" "$ERR"
    fi
}

# ---- sipedge-cert check: the RFC 5280 rules.
expect "a compliant chain is accepted" 0 '^accepted' root good --name sip.partner.example
expect "a CA without subjectKeyIdentifier: rejected, named at depth 1" 1 \
    "^rejected: certificate 'CN=No SKID CA' \(depth 1\) .*subjectKeyIdentifier.*4\.2\.1\.2" root l-noskid
expect "a leaf without authorityKeyIdentifier: rejected" 1 \
    "^rejected: certificate 'CN=no akid' \(depth 0\) .*authorityKeyIdentifier.*4\.2\.1\.1" root l-noakid
expect "a root without basicConstraints: rejected" 1 \
    "^rejected: certificate 'CN=Root without BC' \(depth 1\) .*no basicConstraints" r-nobc l-nobc
expect "a root with non-critical basicConstraints: rejected" 1 \
    "^rejected: certificate 'CN=Root with plain BC' \(depth 1\) .*basicConstraints is not marked critical" r-bcnc l-bcnc
expect "an intermediate with non-critical basicConstraints: rejected" 1 \
    "^rejected: certificate 'CN=Int with plain BC' \(depth 1\) .*not marked critical" root l-ibcnc
expect "a leaf (cA FALSE) with keyCertSign: rejected" 1 \
    "^rejected: certificate 'CN=leaf with keyCertSign' \(depth 0\) asserts keyCertSign.*not a CA" root l-kcs
expect "nameConstraints in an end-entity certificate: rejected" 1 \
    "^rejected: certificate 'CN=leaf with nc' \(depth 0\) carries nameConstraints but is not a CA" root l-nc
expect "nameConstraints with an invalid DNS form: rejected" 1 \
    "^rejected: certificate 'CN=Int with bad nc' \(depth 1\) has the DNS name 'bad_name.example' in nameConstraints" root l-ncbad
expect "a DNS SAN with an underscore: rejected, the name quoted" 1 \
    "^rejected: certificate 'CN=underscore' \(depth 0\) has the DNS name 'sip_1.partner.example' in subjectAltName.*preferred name syntax" \
    root l-under --name sip.partner.example
expect "an empty subject with a non-critical SAN: rejected" 1 \
    "^rejected: certificate '\(empty\)' \(depth 0\) has an empty subject and a subjectAltName not marked critical" root l-empty
expect "an empty subject with a critical SAN: accepted" 0 '^accepted' root l-emptyok --name sip.partner.example

# ---- notAfter and notBefore are inclusive.
# The leaf is issued for 20 days, its CAs for 30.
na=$(date -u -d "$(openssl x509 -in "$P/short.pem" -noout -enddate | cut -d= -f2)" +%s)
nb=$(date -u -d "$(openssl x509 -in "$P/short.pem" -noout -startdate | cut -d= -f2)" +%s)
expect "checked at the notAfter second: still valid" 0 '^accepted' root short --time "$na"
expect "checked one second after notAfter: expired, both times named" 1 \
    "^rejected: certificate 'CN=short' \(depth 0\) has expired: its notAfter is .*, the check time" root short --time $((na + 1))
expect "checked at the notBefore second: valid" 0 '^accepted' root short --time "$nb"
expect "checked one second before notBefore: not valid yet" 1 \
    "^rejected: certificate '.*' \(depth [01]\) is not valid yet" root short --time $((nb - 1))

# ---- reasons.
cp "$P/good.pem" "$P/good-alone.chain"
expect "a missing intermediate: the reason names the certificate and its issuer" 1 \
    "^rejected: no trusted issuer for 'CN=good' \(depth 0, issuer 'O=sipedge test, CN=Path Int'\): not in the trust list or the chain" \
    root good-alone
expect "a self-signed root outside the trust list is named as such" 1 \
    "^rejected: no trusted issuer for 'CN=Old Root' \(depth 2\): it is self-signed and not in the trust list" \
    root l-cross-old
expect "keyUsage lacking digitalSignature is reported as key usage" 1 \
    "^rejected: certificate 'CN=nonRepudiation only' \(depth 0\) is not allowed for TLS server authentication \(key usage has none of" root l-ku
if head -n 1 <<<"$OUT" | grep -q -i "extended"; then
    not_ok "... not as extended key usage" "$OUT"
else
    ok "... not as extended key usage"
fi

# ---- path building.
expect "cross-signed CA, the untrusted certificate first: the other one is tried" 0 '^accepted' \
    newroot l-cross --name sip.partner.example
if grep -q "path\[2\]: /CN=New Root" <<<"$OUT"; then
    ok "... the path ends at the trusted New Root"
else
    not_ok "... the path ends at the trusted New Root" "$OUT"
fi
expect "two CAs of one name and key identifier, the wrong one first: accepted" 0 '^accepted' \
    root l-twin --name sip.partner.example
expect "two roots of one name in the trust list, the wrong one first: accepted" 0 '^accepted' \
    sroots l-sroot --name sip.partner.example
expect "a trusted CA that is not self-signed is an anchor" 0 '^accepted' anchor l-anchor \
    --name sip.partner.example
if grep -q "path\[1\]: /CN=Anchor CA" <<<"$OUT" && ! grep -q "Hidden" <<<"$OUT"; then
    ok "... the path ends there"
else
    not_ok "... the path ends there" "$OUT"
fi
expect "50 certificates of one name and key: rejected" 1 \
    "^rejected: the path search for 'CN=looped' stopped after [0-9]+ signature checks" root l-loop
if [ "$MS" -lt 2000 ]; then ok "... within 2 s (${MS} ms)"; else not_ok "... within 2 s" "${MS} ms"; fi
expect "two CAs that issued each other: rejected" 1 \
    "^rejected: no trusted issuer for 'CN=Loop B' \(depth 2, issuer 'CN=Loop A'\)" root l-ab
if [ "$MS" -lt 2000 ]; then ok "... within 2 s (${MS} ms)"; else not_ok "... within 2 s" "${MS} ms"; fi

# ---- the daemon's gate on live TLS connections: a zone of peers at
# 127.0.0.2 that must prove sip.partner.example.
write_config
cat "$P/root.pem" "$P/newroot.pem" "$P/anchor.pem" >"$P/trust.pem"
printf '%s\n' 'name = "partner";' 'type = "neighbor";' 'transport = "tls";' \
    'peers = [ "127.0.0.2" ];' 'peer_name = "sip.partner.example";' \
    >"$T/zones/partner.conf"
start_sipedged || bail_out "sipedged did not start"

# live DESC CHAIN: a client from 127.0.0.2 with that chain gets 200.
live() {
    check "gate: $1" sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/$2.chain" \
        --key "$P/kleaf.key" send:"$MSG/options.msg" expect:200
}
# refused DESC CHAIN TEXT: no answer, and the refusal logged with TEXT.
refused() {
    log_mark
    sipclient tls "$TLS_PORT" --source 127.0.0.2 --cert "$P/$2.chain" --key "$P/kleaf.key" \
        send:"$MSG/options.msg" expect:closed >"$T/refused.out" 2>&1
    if ! grep -q "^RECV" "$T/refused.out" &&
        _poll 5 eval "log_since_mark | grep 'event=\"peer refused\"' | grep -q -F -e \"$3\""; then
        ok "gate: $1"
    else
        not_ok "gate: $1" "$(cat "$T/refused.out")" "$(log_since_mark | grep 'peer ')"
    fi
}
live "a compliant chain gets 200" good
live "a cross-signed CA sent after its untrusted twin gets 200" l-cross
live "same-name CAs, the wrong one first, get 200" l-twin
live "a leaf under a trusted CA that is not self-signed gets 200" l-anchor
refused "a CA without subjectKeyIdentifier is refused" l-noskid "(depth 1) is a CA certificate without subjectKeyIdentifier"
refused "a DNS SAN with an underscore is refused" l-under "has the DNS name 'sip_1.partner.example' in subjectAltName"
refused "a leaf with nameConstraints is refused" l-nc "carries nameConstraints but is not a CA"
refused "a missing issuer is named" good-alone "no trusted issuer for 'CN=good' (depth 0, issuer 'O=sipedge test, CN=Path Int')"
check "sipedged still runs" kill -0 "$SIPEDGED_PID"
