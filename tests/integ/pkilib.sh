# shellcheck shell=bash
# shellcheck disable=SC2034  # globals are for the test scripts
# pkilib.sh: a test PKI made with the openssl CLI, and the loopback HTTP
# server (httpd.py) that serves its CRLs and answers OCSP with the real
# `openssl ocsp`.  Source it after lib.sh, then call pki_setup.
#
# pki_setup makes, in $P = $T/pki: root.pem/.key ("Test Root"), an
# intermediate run by `openssl ca` (int.pem/.key, config int.cnf, database
# int/) whose leaves carry an OCSP URL and a CDP on the HTTP server, and
# rogue.pem/.key (a key nobody authorised).  $W = $T/www is the server's
# directory ($W/.mode steers it, see httpd.py); URL its base; NOW the time.
#   leaf NAME SAN EXT       issue $P/NAME.pem (+ .key, and .chain with the
#                           intermediate); EXT: leaf or serveronly
#   ca_like NAME CERT KEY   a copy of int.cnf for another CA ($P/NAME.cnf)
#   mode WORDS...           how the HTTP server answers from now on

o() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail_out "openssl $1 failed: $(tail -n 5 "$T/openssl.log")"; }

mode() { printf '%s\n' "$@" >"$W/.mode"; }

# leaf NAME SAN EXT: issue $P/NAME.pem through the intermediate.
leaf() {
    o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -addext "subjectAltName=$2" -keyout "$P/$1.key" -out "$P/$1.csr"
    o ca -batch -config "$P/int.cnf" -extensions "$3" -in "$P/$1.csr" -out "$P/$1.pem" -notext
    cat "$P/$1.pem" "$P/int.pem" >"$P/$1.chain"
}

# ca_like NAME CERT KEY: a copy of the CA config for another CA (own db).
ca_like() {
    mkdir -p "$P/$1/new"
    : >"$P/$1/index.txt"
    echo 1000 >"$P/$1/crlnumber"
    sed -e "s|^dir = .*|dir = $P/$1|" -e "s|^certificate = .*|certificate = $2|" \
        -e "s|^private_key = .*|private_key = $3|" "$P/int.cnf" >"$P/$1.cnf"
}

pki_setup() {
    P=$T/pki
    W=$T/www
    mkdir -p "$P" "$W"
    NOW=$(date +%s)

    # The HTTP server first: its port goes into the certificates.
    "$PYTHON" "$INTEG_DIR/httpd.py" "$W" "$T/http.port" \
        "$P/int.pem" "$P/int.key" "$P/int/index.txt" "$P/rogue.pem" "$P/rogue.key" \
        >"$T/httpd.out" 2>&1 &
    track_pid $!
    wait_file "$T/http.port" 10 || bail_out "httpd.py did not start: $(cat "$T/httpd.out")"
    HP=$(cat "$T/http.port")
    URL=http://127.0.0.1:$HP

    # A root, and an intermediate run by `openssl ca`.
    o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/O=sipedge test/CN=Test Root" -keyout "$P/root.key" -out "$P/root.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=Rogue Responder" -keyout "$P/rogue.key" -out "$P/rogue.pem"
    mkdir -p "$P/int/new"
    : >"$P/int/index.txt"
    echo 1000 >"$P/int/serial"
    echo 1000 >"$P/int/crlnumber"
    cat >"$P/int.cnf" <<EOF
[ ca ]
default_ca = int
[ int ]
dir = $P/int
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $P/int.pem
private_key = $P/int.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
authorityInfoAccess = OCSP;URI:$URL/ocsp
crlDistributionPoints = URI:$URL/int.crl
[ serveronly ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
EOF
    o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/O=sipedge test/CN=Test Intermediate" -keyout "$P/int.key" -out "$P/int.csr"
    o x509 -req -in "$P/int.csr" -CA "$P/root.pem" -CAkey "$P/root.key" -CAcreateserial \
        -days 3650 -out "$P/int.pem" -extfile <(printf '%s\n' \
        "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign")

    # leaf NAME SAN EXT: issue $P/NAME.pem through the intermediate.
    leaf() {
        o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
            -addext "subjectAltName=$2" -keyout "$P/$1.key" -out "$P/$1.csr"
        o ca -batch -config "$P/int.cnf" -extensions "$3" -in "$P/$1.csr" -out "$P/$1.pem" -notext
        cat "$P/$1.pem" "$P/int.pem" >"$P/$1.chain"
    }
}
