#!/bin/sh
# make-seeds.sh [SRCDIR]: (re)write the seed corpora in tests/fuzz/corpus/.
# SIP messages come from tests/data/sip (placeholders filled in) and a few
# written here; CRLs (PEM, DER, gzip, ZIP), OCSP responses and
# certificates are made with the openssl command line under a CA whose
# key is generated in a temporary directory and thrown away; the
# configurations are the shipped ones without comments, and a few more.
# Needs openssl, gzip and python3 (for ZIP).  The output is committed;
# run this again only to change the seeds, and keep them small.
set -eu
top=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
out=$top/tests/fuzz/corpus
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipedge-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for d in fuzz_sip_stream fuzz_sip_datagram fuzz_sip_edit fuzz_crl fuzz_ocsp \
    fuzz_name fuzz_conf fuzz_path fuzz_name_syntax; do
	rm -rf "${out:?}/$d"
	mkdir -p "$out/$d"
done

# ---- SIP ---------------------------------------------------------------
# fill FILE: a template with its placeholders set, in CRLF lines.
fill() {
	sed -e 's/@HOST@/edge.example/g; s/@PORT@/5061/g' \
	    -e 's/@TRANSPORT@/TLS/g; s/@LHOST@/192.0.2.7/g; s/@LPORT@/5062/g' \
	    -e 's/@BRANCH@/z9hG4bK74bf9/g; s/@TAG@/9fxced76sl/g' \
	    -e 's/@CALLID@/3848276298220188511@192.0.2.7/g; s/@CSEQ@/1/g' \
	    -e 's/@[A-Z_]*@/x/g' -e 's/$/\r/' "$1"
}
sip=$tmp/sip
mkdir -p "$sip"
for f in "$top"/tests/data/sip/*.msg; do
	fill "$f" >"$sip/$(basename "$f" .msg)"
done
crlf() { sed 's/$/\r/'; }
crlf >"$sip/invite-sdp" <<'M'
INVITE sip:bob@b.example SIP/2.0
Via: SIP/2.0/TLS 192.0.2.7:5062;branch=z9hG4bKnashds8;rport
v: SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK2
Max-Forwards: 70
Route: <sip:edge.example;lr;sez=abc>, <sip:192.0.2.1;lr>
Record-Route: <sip:p1.example;lr>
To: "Bob \"B\"" <sip:bob@b.example>
f: Alice <sip:alice@a.example>;tag=1928301774
i: a84b4c76e66710@pc33.a.example
CSeq: 314159 INVITE
m: <sip:alice@192.0.2.7:5062;transport=tls>;expires=60
Supported: path, outbound
Proxy-Require: foo
Subject: a folded
  header value
c: application/sdp
l: 31

v=0
o=- 1 1 IN IP4 192.0.2.7
s=-
M
crlf >"$sip/response-200" <<'M'
SIP/2.0 200 OK
Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKedge1;received=192.0.2.1
Via: SIP/2.0/TLS 192.0.2.7:5062;branch=z9hG4bKnashds8;rport=5062
To: <sip:bob@b.example>;tag=a6c85cf
From: <sip:alice@a.example>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

M
printf 'SIP/2.0 486 Besetzt \303\244\r\nVia: SIP/2.0/TLS 192.0.2.7;branch=z9hG4bK1\r\nTo: <sip:b@b.example>;tag=1\r\nFrom: <sip:a@a.example>;tag=2\r\nCall-ID: u8\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' >"$sip/response-utf8"
crlf >"$sip/message-multipart" <<'M'
MESSAGE sip:bob@b.example SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKmp
Max-Forwards: 70
To: <sip:bob@b.example>
From: <sip:alice@a.example>;tag=mp
Call-ID: mp@192.0.2.7
CSeq: 1 MESSAGE
Content-Type: multipart/mixed;boundary=xyz
Content-Length: 92

--xyz
Content-Type: text/plain

hello
--xyz
Content-Type: text/plain

world
--xyz--
M
printf 'OPTIONS sip:edge.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKnul\r\nMax-Forwards: 70\r\nTo: "%%00 null" <sip:edge.example>\r\nFrom: "caller %%00" <sip:a@a.example>;tag=n\r\nCall-ID: intmeth@192.0.2.7\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' >"$sip/escaped-nul"
crlf >"$sip/ack" <<'M'
ACK sip:bob@b.example SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKack
Max-Forwards: 70
To: <sip:bob@b.example>;tag=t
From: <sip:alice@a.example>;tag=f
Call-ID: ack@192.0.2.7
CSeq: 1 ACK
Content-Length: 0

M
for f in "$sip"/*; do
	n=$(basename "$f")
	cp "$f" "$out/fuzz_sip_datagram/$n"
	cp "$f" "$out/fuzz_sip_stream/$n"
	# The edit program: delete, insert, replace_first, output, ...
	{ printf '\004\061\011\013\127\050\146\212'; cat "$f"; } \
	    >"$out/fuzz_sip_edit/$n"
done
# Streams: keepalives and pipelined messages.
{ printf '\r\n\r\n'; cat "$sip/options"; printf '\r\n'; cat "$sip/invite-sdp"; } \
    >"$out/fuzz_sip_stream/pipelined"
{ cat "$sip/response-200"; printf '\r\n\r\n'; cat "$sip/ack"; } \
    >"$out/fuzz_sip_stream/pipelined-2"

# ---- PKI: a CA, a leaf, CRLs, OCSP -------------------------------------
cd "$tmp"
cat >ca.cnf <<'C'
[ ca ]
default_ca = fz
[ fz ]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 4000
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ leaf ]
basicConstraints = CA:FALSE
subjectAltName = @alt
authorityInfoAccess = OCSP;URI:http://ocsp.example/
crlDistributionPoints = URI:http://crl.example/ca.crl
[ alt ]
URI.1 = sip:sbc.example.com
DNS.1 = sbc.example.com
DNS.2 = *.example.com
IP.1 = 192.0.2.1
IP.2 = 2001:db8::1
email.1 = ops@example.com
C
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -subj /CN=Seed\ CA -days 3650 \
    -config ca.cnf -extensions v3_ca
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout leaf.key -out leaf.csr -subj /CN=sbc.example.com -config ca.cnf
q openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1234 \
    -days 365 -extfile ca.cnf -extensions leaf -out leaf.pem
: >index.txt
echo 01 >crlnumber
q openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out empty.pem
exp=301231235959Z rev=250101000000Z
printf 'R\t%s\t%s,keyCompromise\t1234\tunknown\t/CN=sbc.example.com\n' "$exp" "$rev" >index.txt
printf 'R\t%s\t%s\t0A0B0C0D0E0F101112131415\tunknown\t/CN=long\n' "$exp" "$rev" >>index.txt
printf 'R\t%s\t%s,superseded\t05\tunknown\t/CN=short\n' "$exp" "$rev" >>index.txt
printf 'V\t%s\t\t1235\tunknown\t/CN=other.example\n' "$exp" >>index.txt
q openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out revoked.pem
c=$out/fuzz_crl
cp empty.pem "$c/empty.pem"
cp revoked.pem "$c/revoked.pem"
cat empty.pem revoked.pem >"$c/two.pem"
openssl crl -in revoked.pem -outform DER -out "$c/revoked.der"
openssl crl -in empty.pem -outform DER -out empty.der
gzip -n -c "$c/revoked.der" >"$c/revoked.der.gz"
gzip -n -c revoked.pem >"$c/revoked.pem.gz"
python3 - "$c/crls.zip" revoked.pem empty.der <<'P'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for f in sys.argv[2:]:
        z.writestr(zipfile.ZipInfo(f, (2026, 1, 1, 0, 0, 0)), open(f, "rb").read(),
                   zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo("dir/", (2026, 1, 1, 0, 0, 0)), b"")
P
python3 - "$c/stored.zip" empty.der <<'P'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr(zipfile.ZipInfo("a.crl", (2026, 1, 1, 0, 0, 0)), open(sys.argv[2], "rb").read())
P

# OCSP: DER responses of a real responder (even first byte: as received).
o=$out/fuzz_ocsp
ocsp_resp() {	# NAME CERT-SERIAL-FILE [extra options]
	n=$1 cert=$2
	shift 2
	q openssl ocsp -issuer ca.pem -cert "$cert" -reqout "$n.req" "$@"
	q openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem \
	    -reqin "$n.req" -respout "$n.der" -ndays 7
	{ printf '\000'; cat "$n.der"; } >"$o/$n"
}
ocsp_resp revoked leaf.pem -nonce
ocsp_resp revoked-nonce-less leaf.pem -no_nonce
# Built by the harness (odd first byte): status, how, count, then per
# single response: which, status, reason, and the times.
printf '\001\000\000\000\000\000\000\000\377\377\361\360\001\000\000\001\121\200' >"$o/built-good"
printf '\003\000\000\001\000\001\003\000\377\377\361\360\000\000\377\376\000\000\002\000\000\000\377\377\361\360\000' >"$o/built-revoked"
printf '\201\000\004\002\000\002\000\003\01720300101000000Z\000\001\000\000\000\000\000\000\000\000\002\000\000\000\000\000\000\000\000' >"$o/built-responder"
printf '\001\003' >"$o/built-unauthorized"

# Names: mode 0 (DER as received) or 1 (built); then the expected name.
nm=$out/fuzz_name
der() { openssl x509 -in "$1" -outform DER; }
name_der() {	# FILE MODE EXPECTED CERT
	{ printf "\\$(printf '%03o' "$2")\\$(printf '%03o' ${#3})%s" "$3"; der "$4"; } >"$nm/$1"
}
name_der sip-uri 0 sbc.example.com leaf.pem
name_der wildcard 2 a.example.com leaf.pem
name_der ip 0 192.0.2.1 leaf.pem
name_der ip6 0 '[2001:db8::1]' leaf.pem
name_der cn-only 0 'Seed CA' ca.pem
# Built: CNs (count, type, length, bytes), SAN (count*4+kind, entries).
printf '\001\017sbc.example.com\001\000\000\017sbc.example.com' >"$nm/built-cn"
printf '\007\017sbc.example.com\000\016\001\021*.sbc.example.com\000\025sip:sbc.example.com;x\002\004\300\000\002\001' >"$nm/built-san"
printf '\001\011192.0.2.1\001\001\000\001a\004\060\002\207\000' >"$nm/built-raw-ext"

# ---- paths: purpose, trust mask (16 bits), time, then length-prefixed DER.
# BEGIN fuzz_path
pa=$out/fuzz_path
pk() { [ -f "$1.key" ] || q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
pc() {	# NAME SUBJECT ISSUER(- self) KEY EXTENSIONS...
	pn=$1 ps=$2 pi=$3 pkey=$4
	shift 4
	pk "$pkey"
	printf '%s\n' "$@" >"$pn.ext"
	q openssl req -new -key "$pkey.key" -subj "$ps" -out "$pn.csr"
	if [ "$pi" = - ]; then
		q openssl x509 -req -in "$pn.csr" -key "$pkey.key" -days 3650 -extfile "$pn.ext" -out "$pn.pem"
	else
		q openssl x509 -req -in "$pn.csr" -CA "$pi.pem" -CAkey "$(cat "$pi.k").key" \
		    -set_serial 7 -days 3650 -extfile "$pn.ext" -out "$pn.pem"
	fi
	echo "$pkey" >"$pn.k"
}
pseed() {	# SEED PURPOSE MASK WHEN CERT...
	ps=$1 pp=$2 pm=$3 pw=$4
	shift 4
	python3 - "$pa/$ps" "$pp" "$pm" "$pw" "$@" <<'P'
import subprocess, struct, sys
out, purpose, mask, when = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = bytes([purpose]) + struct.pack(">H", mask) + bytes([when])
for f in sys.argv[5:]:
    der = subprocess.run(["openssl", "x509", "-in", f + ".pem", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    data += struct.pack(">H", len(der)) + der
open(out, "wb").write(data)
P
}
proot="basicConstraints=critical,CA:TRUE keyUsage=critical,keyCertSign,cRLSign subjectKeyIdentifier=hash"
pleaf="basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth,clientAuth subjectKeyIdentifier=hash authorityKeyIdentifier=keyid subjectAltName=DNS:sbc.example.com"
# shellcheck disable=SC2086
{
	pc proot /CN=Root - kr $proot
	pc pint /CN=Int proot ki $proot authorityKeyIdentifier=keyid
	pc pleaf /CN=sbc.example.com pint kl $pleaf
	pc pold "/CN=Old Root" - ko $proot
	pc pxold "/CN=Cross" pold kx $proot authorityKeyIdentifier=keyid
	pc pxnew "/CN=Cross" proot kx $proot authorityKeyIdentifier=keyid
	pc pxleaf /CN=sbc.example.com pxnew kl $pleaf
	pc ploop "/CN=Loop" - kp $proot
	pc plleaf /CN=sbc.example.com ploop kl $pleaf
	pc pbad /CN=bad_name pint kl basicConstraints=CA:TRUE keyUsage=critical,keyCertSign \
	    authorityKeyIdentifier=keyid subjectAltName=DNS:bad_name.example \
	    nameConstraints=critical,permitted\;DNS:-x.example
}
pseed good 1 4 0 pleaf pint proot
pseed anchor 2 2 0 pleaf pint
pseed notafter 1 4 1 pleaf pint proot
pseed expired 0 4 2 pleaf pint proot
pseed cross 1 8 0 pxleaf pxold pxnew proot
pseed loop 0 512 3 plleaf ploop ploop ploop ploop ploop ploop ploop ploop proot
pseed rules 1 4 0 pbad pint proot
pseed self 0 1 0 proot
# END fuzz_path

# ---- configurations (no '/': the harness skips those) ------------------
cf=$out/fuzz_conf
strip() { sed -e 's/[ \t]*#.*$//' -e '/^[ \t]*$/d' "$1" | grep -v / || true; }
strip "$top/conf/sipedge.conf" >"$cf/shipped"
for z in "$top"/zones/*.conf; do
	{ strip "$top/conf/sipedge.conf"; echo '%%zone'; strip "$z"; } \
	    >"$cf/zone-$(basename "$z" .conf)"
done
sed -i '/password_file/d' "$cf/zone-traversal-client-example"
printf 'password_file = "password";\n%%%%password\nsecret\n' >>"$cf/zone-traversal-client-example"
cat >"$cf/full" <<'C'
node: { fqdn = "edge.example"; aliases = [ "edge2.example", "192.0.2.1" ]; };
daemon: { shutdown_grace = 5; zones_dir = "zones"; };
log: { level = "debug"; syslog = true; syslog_facility = "local3"; };
sip: { max_message_size = 4096; t1 = 500; timer_c = 180; };
tls: { extra_names = [ "DNS:edge.example", "URI:sip:edge.example", "IP:192.0.2.1" ]; min_version = "1.3"; };
revocation: { mode = "on"; use_ocsp = true; fallback = "treat-as-revoked"; update_time = "03:00"; clock_skew = 300; };
auth: { credentials_file = "credentials"; realm = "edge.example"; };
default_zone: { accept = true; tls_verify = true; peer_names = [ "a.example" ]; };
dns: { servers = [ "192.0.2.53", "[2001:db8::53]:5353" ]; };
listen = (
  { transport = "tls"; address = "::1"; port = 5061; },
  { transport = "udp"; address = "127.0.0.1"; }
);
search_rules = (
  { priority = 10; name = "partner"; match = "suffix"; pattern = "@partner.example"; target_zone = "partner"; },
  { priority = 20; match = "regex"; pattern = "^\\+49([0-9]+)@"; rewrite = "0\\1@pstn.example"; methods = [ "INVITE", "MESSAGE" ]; target_zone = "partner"; on_match = "continue"; },
  { priority = 30; match = "any"; source_zone = "default"; target_zone = "partner"; }
);
%%zone
name = "partner"; type = "neighbor"; transport = "tls"; peers = [ "sbc.partner.example", "192.0.2.20" ]; tls_verify = true; accept_wildcards = true; revocation = true; fallback_unknown = "default";
%%creds
inside1 edge.example MD5 5f4dcc3b5aa765d61d8327deb882cf99
inside1 edge.example SHA-256 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
C
printf 'listen = ( { transport = "udp"; address = "127.0.0.1"; } );\n' >"$cf/minimal"
# ---- names (util/name.c): one entry, a URL or a host name per file.
ns=$out/fuzz_name_syntax
i=0
for v in 'DNS:Sip.Example.COM' '*.example.com' 'a_b.example.com' \
    'IP:2001:DB8::1' '192.0.2.7' 'URI:sip:alice@[2001:db8::1]:5061;transport=tls' \
    'sips:edge.example.com?x=y' 'tel:+1-201-555-0123' 'email:a@b.example' \
    'http://ca.example/ca.crl' '.example.com' 'host.123'; do
	i=$((i + 1))
	printf '%s' "$v" >"$ns/seed-$i"
done
echo "seeds written to $out: $(find "$out" -type f | wc -l) files," \
    "$(du -sk "$out" | cut -f1) KB"
