#!/bin/bash
# checkconf.sh: `sipedged -t` accepts the shipped configuration and reports
# each broken one as FILE:LINE: on stderr with exit status 1; files in the
# zones directory that do not end in .conf are ignored (and logged).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

plan 25

# new_case NAME: make $T/NAME/ holding a copy of $T/base.conf as sipedge.conf
# (with its own state and zones directories); print the config's path.
new_case() {
    mkdir -p "$T/$1/state" "$T/$1/zones" &&
        cp "$T/base.conf" "$T/$1/sipedge.conf" &&
        echo "$T/$1/sipedge.conf"
}

# replace_line FILE N TEXT: replace line N of FILE with TEXT.
replace_line() {
    awk -v n="$2" -v text="$3" 'NR == n { print text; next } { print }' "$1" >"$1.tmp" &&
        mv "$1.tmp" "$1"
}

# expect_error DESC FILE WHERE_ERE WORD_ERE: sipedged -t FILE must exit 1,
# not say OK, and print a line matching WHERE_ERE (FILE:LINE:) followed by
# WORD_ERE.
expect_error() {
    local desc=$1 file=$2 where=$3 word=$4 out rc
    out=$(check_config "$file")
    rc=$?
    if [ "$rc" -ne 1 ]; then
        not_ok "$desc" "sipedged -t exited with $rc, expected 1; output:" "$out"
    elif grep -q -F "configuration OK" <<<"$out"; then
        not_ok "$desc" "sipedged -t said OK for a broken file:" "$out"
    elif ! grep -q -E -e "${where}.*${word}" <<<"$out"; then
        not_ok "$desc" "no error line matching '${where}.*${word}'; output:" "$out"
    else
        ok "$desc"
    fi
}

# expect_ok DESC FILE: sipedged -t FILE must exit 0 and print configuration OK.
expect_ok() {
    local out rc
    out=$(check_config "$2")
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q -F "configuration OK" <<<"$out"; then
        ok "$1"
    else
        not_ok "$1" "sipedged -t exited with $rc; output:" "$out"
    fi
}

# write_zone FILE TRANSPORT: write a neighbor zone file using TRANSPORT.
write_zone() {
    cat >"$1" <<EOF
# Neighbor zone written by checkconf.sh.
name = "partner";
type = "neighbor";
transport = "$2";
port = 5061;
peers = [ "127.0.0.1" ];
tls_verify = true;
EOF
}

# 1: -V
out=$(timeout 10 "$SIPEDGED" -V 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q -E '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out"; then
    ok "sipedged -V prints a version"
else
    not_ok "sipedged -V prints a version" "exit $rc, output:" "$out"
fi

# 2: the shipped configuration, with paths moved into $T.
shipped_config "$T/base.conf" || bail_out "cannot adapt the shipped configuration"
expect_ok "shipped configuration (paths in \$T) passes -t" "$T/base.conf"

# 3: a typo'd key inside sip.
f=$(new_case typo)
n=$(insert_after "$f" '^sip: *\{' '  max_mesage_size = 4096;')
expect_error "typo'd key sip.max_mesage_size is reported at its line" \
    "$f" "sipedge\.conf:$n:" "max_mesage_size"

# 4: a port of the wrong type.
f=$(new_case badtype)
n=$(line_of "$f" "port = $TLS_PORT;")
replace_line "$f" "$n" '  { transport = "tls"; address = "127.0.0.1"; port = "abc"; },'
expect_error "port = \"abc\" (wrong type) is reported at its line" \
    "$f" "sipedge\.conf:$n:" "port"

# 5: a port out of range.
f=$(new_case range)
n=$(line_of "$f" "port = $TLS_PORT;")
replace_line "$f" "$n" '  { transport = "tls"; address = "127.0.0.1"; port = 70000; },'
expect_error "port = 70000 (out of range) is reported at its line" \
    "$f" "sipedge\.conf:$n:" "(port|70000)"

# 6: a certificate file that does not exist.
f=$(new_case nocert)
n=$(insert_after "$f" '^tls: *\{' '  certificate = "nope.pem";')
k=$(insert_after "$f" '^ *certificate = "nope.pem";' '  private_key = "nope.key";')
expect_error "missing certificate file nope.pem is reported at its line" \
    "$f" "sipedge\.conf:($n|$k):" "nope\.pem"

# 7: an empty main file (it has no line to point at: only the file is named).
mkdir -p "$T/empty"
: >"$T/empty/sipedge.conf"
expect_error "an empty main file is an error naming it" \
    "$T/empty/sipedge.conf" "sipedge\.conf" ""

# 8: a syntax error (a setting without a value).
f=$(new_case syntax)
n=$(insert_after "$f" '^sip: *\{' '  read_timeout = ;')
expect_error "a syntax error is reported as FILE:LINE:" \
    "$f" "sipedge\.conf:($n|$((n + 1))):" ""

# 9: a file that does not exist.
expect_error "a missing main file is an error naming it" \
    "$T/missing/sipedge.conf" "sipedge\.conf" ""

# 10: a valid zone file.
f=$(new_case zoneok)
write_zone "$T/zoneok/zones/partner.conf" tls
expect_ok "a valid zone file passes -t" "$f"

# 11: a zone file with a bad transport.
f=$(new_case zonebad)
write_zone "$T/zonebad/zones/partner.conf" sctp
n=$(line_of "$T/zonebad/zones/partner.conf" 'transport = "sctp";')
expect_error "transport = \"sctp\" in a zone file is reported at its file and line" \
    "$f" "partner\.conf:$n:" "(transport|sctp)"

# 12: errors in two files are all reported.
f=$(new_case twoerrors)
n=$(insert_after "$f" '^sip: *\{' '  max_mesage_size = 4096;')
write_zone "$T/twoerrors/zones/partner.conf" sctp
k=$(line_of "$T/twoerrors/zones/partner.conf" 'transport = "sctp";')
out=$(check_config "$f")
rc=$?
if [ "$rc" -eq 1 ] && grep -q -E "sipedge\.conf:$n:" <<<"$out" &&
    grep -q -E "partner\.conf:$k:" <<<"$out"; then
    ok "-t prints every error, in the main and in a zone file"
else
    not_ok "-t prints every error, in the main and in a zone file" \
        "exit $rc, expected 1 and errors at sipedge.conf:$n: and partner.conf:$k:" "$out"
fi

# 13: a zones directory holding README.txt is still OK...
shipped_config "$CONF" || bail_out "cannot adapt the shipped configuration"
printf 'Zone files end in .conf.\n' >"$T/zones/README.txt"
expect_ok "a zones dir holding README.txt passes -t" "$CONF"

# 14, 15: ...and the daemon logs that it ignored the file.
if start_sipedged; then
    ok "sipedged starts with README.txt in the zones dir"
    check "the log says README.txt was ignored" wait_for_log "README.txt" 5
    check "SIGTERM stops it with exit status 0" stop_sipedged
else
    not_ok "sipedged starts with README.txt in the zones dir"
    not_ok "the log says README.txt was ignored"
    not_ok "SIGTERM stops it with exit status 0"
fi

# 17: the example zone files shipped in zones/ are valid as they stand,
# given the secret files they name (mode 0600).
f=$(new_case examples)
cp "$top_srcdir"/zones/*.conf "$T/examples/zones/"
(umask 077; echo "example password" >"$T/examples/edge.password"
 echo "inside1 example.test SHA-256 $(printf '%064d' 0)" >"$(dirname "$f")/credentials")
expect_ok "the shipped example zones pass -t" "$f"

# 18: an empty listen list.
f=$(new_case nolisten)
sed -i '/^listen = ($/,/^);$/d' "$f"
echo 'listen = ( );' >>"$f"
n=$(line_of "$f" 'listen = ( );')
expect_error "listen = ( ); is an error at its line" "$f" "sipedge\.conf:$n:" "listen is empty"

# 19: a zone file without the required type.
f=$(new_case notype)
printf 'name = "partner";\npeers = [ "127.0.0.1" ];\n' >"$T/notype/zones/partner.conf"
expect_error "a zone without type names the file and the setting" "$f" \
    "partner\.conf: required setting 'type' is missing" ""

# 20-25: traversal zones and their secrets.
f=$(new_case trav)
d=$T/trav
printf '%s\n' 'type = "traversal-client";' 'peers = [ "192.0.2.1" ];' 'port = 7001;' \
    'username = "inside1";' 'password_file = "edge.password";' >"$d/zones/edge.conf"
(umask 022; echo "secret" >"$d/zones/edge.password")
expect_error "a password file readable by others is refused, with the fix" "$f" \
    "edge\.conf:5: zone 'edge': password_file: .*edge\.password is readable by group or others \(mode 0644\)" "chmod 600"
chmod 600 "$d/zones/edge.password"
: >"$d/zones/edge.password"
expect_error "an empty password file is refused" "$f" "edge\.conf:5:" "edge\.password is empty: its first line must hold the password"
echo "secret" >"$d/zones/edge.password"
printf '%s\n' 'type = "traversal-client";' 'peers = [ "192.0.2.1" ];' 'port = 7001;' \
    'password_file = "edge.password";' 'transport = "tcp";' >"$d/zones/edge.conf"
expect_error "a traversal client without username, and not over TLS" "$f" \
    "edge\.conf:1: zone 'edge': a traversal-client zone" "needs username"
printf '%s\n' 'type = "traversal-server";' 'username = "inside1";' >"$d/zones/edge.conf"
expect_error "a traversal server without its own port or subject name" "$f" \
    "edge\.conf:1: zone 'edge': a traversal-server zone" "needs the port its clients connect to"
printf '%s\n' 'type = "traversal-server";' 'username = "inside1";' 'port = 7001;' \
    'peer_name = "inside1.example.com";' >"$d/zones/edge.conf"
(umask 077; printf '%s\n' '# user realm algorithm ha1' 'inside1 r MD5 0123' >"$d/credentials")
expect_error "a malformed credential names its file and line" "$f" \
    "credentials:2:" "not a credential"
chmod 644 "$d/credentials"
expect_error "a credentials file readable by others is refused" "$f" \
    "auth.credentials_file" "readable by group or others"
