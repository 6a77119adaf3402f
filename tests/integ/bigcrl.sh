#!/bin/bash
# bigcrl.sh: a CRL of 1,000,000 entries, made by `openssl ca -gencrl` from
# an index that python writes (so independently of sipedge), is loaded by
# `sipedge-cert check` as DER, PEM and gzip, and through a configuration's
# revocation.manual_crl (the daemon's loading path): a listed certificate
# is refused with the CRL's date and reason, an unlisted one accepted, and
# one whose serial differs from a listed serial only in its last byte is
# accepted too.  Speed is not asserted (the machine may be loaded): every
# run has a generous timeout and the times go to the TAP log.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd openssl gzip timeout "$PYTHON"
plan 11

P=$T/pki
mkdir -p "$P/db"
N=1000000

# elapsed CMD...: run CMD, then say how long it took (on fd 3: the TAP
# output, whatever CMD's output is redirected to).
exec 3>&1
elapsed() {
    local t0 rc
    t0=$(_now_ms)
    "$@"
    rc=$?
    diag "$(printf '%s: %d ms' "${*:1:3}" $(($(_now_ms) - t0)))" >&3
    return "$rc"
}
o() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail_out "openssl $1 failed: $(tail -n 5 "$T/openssl.log")"; }

# ---- a CA run by `openssl ca`, with an index of N revoked certificates.
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=sipedge test/CN=Big CRL CA" -keyout "$P/ca.key" -out "$P/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cat >"$P/ca.cnf" <<EOF
[ ca ]
default_ca = big
[ big ]
dir = $P/db
database = \$dir/index.txt
new_certs_dir = \$dir
crlnumber = \$dir/crlnumber
certificate = $P/ca.pem
private_key = $P/ca.key
default_md = sha256
default_crl_days = 7
unique_subject = no
EOF
echo 1000 >"$P/db/crlnumber"

# Random 16-byte serials (seeded: a failure can be replayed), one entry in
# four with a reason.  Entry 777777 is the certificate "revoked" below: its
# top bit is set (DER adds a zero byte) and so is its date and reason.
# Also printed: a serial one last byte away from it, and one far from all.
elapsed "$PYTHON" - "$N" "$P/db/index.txt" >"$T/serials" <<'EOF' ||
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(4)
reasons = ["keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged"]
serials, lines = [], []
for i in range(n):
    s = "%032X" % rnd.getrandbits(128)
    if i == 777777:
        s = "%032X" % (rnd.getrandbits(128) | 1 << 127)
        date = "230405060708Z,keyCompromise"
    else:
        r = rnd.getrandbits(32)
        date = "%02d%02d%02d%02d%02d%02dZ" % (21 + r % 4, 1 + r // 4 % 12,
            1 + r // 48 % 28, r // 1344 % 24, r // 32256 % 60, r // 1935360 % 60)
        if i % 4 == 0:
            date += "," + reasons[i % 16 // 4]
    serials.append(s)
    lines.append("R\t300101000000Z\t%s\t%s\tunknown\t/CN=x%d\n" % (date, s, i))
with open(path, "w") as f:
    f.write("".join(lines))
hit = serials[777777]
near = hit[:-2] + "%02X" % (int(hit[-2:], 16) ^ 1)
far = "%032X" % rnd.getrandbits(128)
listed = set(serials)
assert len(listed) == n and near not in listed and far not in listed
print(hit, near, far)
EOF
    bail_out "python could not write the index"
read -r HIT NEAR FAR <"$T/serials"
diag "listed: $HIT; not listed: $NEAR, $FAR"

if elapsed timeout 120 openssl ca -batch -config "$P/ca.cnf" -gencrl \
    -out "$P/big.pem" >>"$T/openssl.log" 2>&1; then
    ok "openssl ca -gencrl writes a CRL from the index of $N entries"
else
    not_ok "openssl ca -gencrl writes a CRL from the index of $N entries" \
        "$(tail -n 5 "$T/openssl.log")"
fi
o crl -in "$P/big.pem" -outform DER -out "$P/big.der"
gzip -c "$P/big.der" >"$P/big.der.gz"
diag "$(ls -l "$P"/big.*)"

# openssl itself reads every entry back, the listed certificate with its
# reason (and the serials are hex with colons: compare without them).
COUNT=$(timeout 120 openssl crl -inform DER -in "$P/big.der" -noout -text |
    awk -v hit="$HIT" '
        /Serial Number:/ { n++; s = $3; gsub(":", "", s); mark = (s == hit || s == "00" hit) }
        mark && /Key Compromise/ { found = 1 }
        END { print n + 0, found + 0 }')
if [ "$COUNT" = "$N 1" ]; then
    ok "the CRL holds $N entries, the chosen one with reason keyCompromise"
else
    not_ok "the CRL holds $N entries, the chosen one with reason keyCompromise" "entries, found: $COUNT"
fi

# ---- certificates of the CA: one listed, two not.
# leaf NAME SERIAL: $P/NAME.pem, a server certificate with that serial.
leaf() {
    o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$P/$1.key" -out "$P/$1.csr"
    o x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial "0x$2" \
        -days 30 -out "$P/$1.pem" -extfile <(printf '%s\n' \
        "subjectAltName=DNS:sip.$1.example" "extendedKeyUsage=serverAuth,clientAuth")
}
leaf revoked "$HIT"
leaf near "$NEAR"
leaf good "$FAR"
leaf localhost "$(openssl rand -hex 16)"

# check CRLFILE LEAF: sipedge-cert check, timed; sets OUT, ERR and RC.
check_crl() {
    local t0
    t0=$(_now_ms)
    OUT=$(timeout 120 "$SIPEDGE_CERT" check --trust "$P/ca.pem" --chain "$P/$2.pem" \
        --crl "$P/$1" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
    diag "check --crl $1 --chain $2.pem: exit $RC in $(($(_now_ms) - t0)) ms"
}
# rejected DESC: the listed certificate was refused, naming the CRL, its
# date and reason.
rejected() {
    if [ "$RC" -eq 1 ] && head -n 1 <<<"$OUT" | grep -q \
        "^rejected: /CN=revoked is revoked: revoked by the CRL of /O=sipedge test/CN=Big CRL CA ($2, .*$3) at 2023-04-05T06:07:08Z, reason keyCompromise$"; then
        ok "$1"
    else
        not_ok "$1" "exit $RC" "$OUT" "$ERR"
    fi
}
# accepted DESC: accepted with a good answer from the big CRL.
accepted() {
    if [ "$RC" -eq 0 ] && head -n 1 <<<"$OUT" | grep -q '^accepted' &&
        grep -q "revocation: good (source crl): not in the CRL of /O=sipedge test/CN=Big CRL CA ($2, .*$3)" <<<"$OUT"; then
        ok "$1"
    else
        not_ok "$1" "exit $RC" "$OUT" "$ERR"
    fi
}

check_crl big.der revoked
rejected "DER: the listed certificate is rejected (exit 1), the CRL, date and reason named" file big.der
check_crl big.der good
accepted "DER: an unlisted certificate is accepted (exit 0)" file big.der
check_crl big.der near
accepted "DER: a serial one last byte away from a listed one is accepted" file big.der
check_crl big.pem revoked
rejected "PEM: the listed certificate is rejected" file big.pem
check_crl big.der.gz revoked
rejected "gzip: the listed certificate is rejected" file big.der.gz
check_crl big.der.gz good
accepted "gzip: an unlisted certificate is accepted" file big.der.gz

# ---- the daemon's path: revocation.manual_crl in a configuration.
write_config
cp "$P/ca.pem" "$P/trust.pem"
cp "$P/big.der" "$P/manual.crl"
cp "$P/localhost.pem" "$P/server.pem"
cp "$P/localhost.key" "$P/server.key"
echo 'revocation: { use_ocsp = false; };' >>"$CONF"
printf '%s\n' 'name = "big";' 'type = "neighbor";' 'peers = [ "sip.revoked.example" ];' \
    >"$T/zones/big.conf"
zcheck() {
    local t0
    t0=$(_now_ms)
    OUT=$(timeout 120 "$SIPEDGE_CERT" -c "$CONF" check --zone big "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
    diag "check --zone big $*: exit $RC in $(($(_now_ms) - t0)) ms"
}
zcheck --chain "$P/revoked.pem"
rejected "manual_crl: the zone's peer is rejected by the big manual CRL" manual manual.crl
zcheck --chain "$P/good.pem" --name sip.good.example
accepted "manual_crl: an unlisted peer is accepted" manual manual.crl
OUT=$(check_config)
RC=$?
if [ "$RC" -eq 0 ] && grep -q -F "configuration OK" <<<"$OUT"; then
    ok "sipedged -t accepts the configuration with the big manual CRL"
else
    not_ok "sipedged -t accepts the configuration with the big manual CRL" "exit $RC" "$OUT"
fi
