#!/bin/bash
# dns_srv.sh: SRV lookups of net/dns_srv on a real loop (tests/dns_probe)
# against small DNS servers on loopback (dnsd.py): RFC 2782 order, CNAME,
# NXDOMAIN, no records, target ".", A/AAAA through evdns from the same
# configured server, failover from silent, failing, closed and slow
# servers, a spoofed answer with the wrong id, a truncated answer, cancel,
# an IPv6 server, the dns.servers setting in sipedged -t, and the probe
# under valgrind.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROBE="${top_builddir:-$top_srcdir}/tests/dns_probe"
DNSD="$INTEG_DIR/dnsd.py"
[ -x "$PROBE" ] || bail_out "$PROBE is not built (make check builds it)"
require_cmd "$PYTHON"

plan 23

ZONE=(
    "_sips._tcp.example.test=SRV:10:60:5061:sip1.example.test"
    "_sips._tcp.example.test=SRV:10:40:5062:sip2.example.test"
    "_sips._tcp.example.test=SRV:20:0:5063:sip3.example.test"
    "sip1.example.test=A:127.0.0.2"
    "sip1.example.test=AAAA:::1"
    "_sips._tcp.alias.test=CNAME:_sips._tcp.example.test"
    "_sip._udp.none.test=SRV:0:0:0:."
)
SRVNAME=_sips._tcp.example.test

# start_dnsd NAME [dnsd options...]: a dnsd.py serving ZONE; its port is
# then in $T/NAME.port and its query log in $T/NAME.log.
start_dnsd() {
    local name=$1
    shift
    "$PYTHON" "$DNSD" --port-file "$T/$name.port" --log "$T/$name.log" \
        "$@" "${ZONE[@]}" >"$T/$name.out" 2>&1 &
    track_pid $!
    wait_file "$T/$name.port" 10 || bail_out "dnsd $name did not start"
    : >>"$T/$name.log"
}

# port_of NAME: the port of dnsd NAME.
port_of() {
    cat "$T/$1.port"
}

# probe ARGS...: run dns_probe (bounded) with output in $T/probe.out;
# sanitizer reports (ASan builds) are collected in $T/san.out.
probe() {
    local rc
    timeout 30 "$PROBE" "$@" >"$T/probe.out" 2>&1
    rc=$?
    grep -E -A 30 'Sanitizer|runtime error:' "$T/probe.out" >>"$T/san.out"
    return "$rc"
}

# result NAME: the "srv NAME ..." line of the last probe.
result() {
    grep -m 1 -e "^srv $1 " "$T/probe.out"
}

# ms NAME: the elapsed milliseconds of NAME's result.
ms() {
    result "$1" | sed -n 's/^srv [^ ]* \(ok [0-9]*\|error [0-9]*\) \([0-9]*\).*/\2/p'
}

# expect DESC GREP_ERE: the probe output matches (shown on failure).
expect() {
    if grep -q -E -e "$2" "$T/probe.out"; then
        ok "$1"
    else
        not_ok "$1" "no line matching '$2' in:" "$(cat "$T/probe.out")"
    fi
}

# queries NAME QNAME: how many queries dnsd NAME logged for QNAME (any case).
queries() {
    grep -c -i -e "^$2 " "$T/$1.log"
}

start_dnsd good
start_dnsd silent --mode silent
start_dnsd fail --mode servfail
start_dnsd spoof --mode spoof
start_dnsd slow --delay 0.5
start_dnsd trunc --mode truncate
GOOD=127.0.0.1:$(port_of good)
SILENT=127.0.0.1:$(port_of silent)
FAIL=127.0.0.1:$(port_of fail)
CLOSED=127.0.0.1:$(free_port)

# --- answers -----------------------------------------------------------
probe -s "$GOOD" -a sip1.example.test "$SRVNAME" _sips._tcp.alias.test \
    _sip._udp.none.test _sips._tcp.missing.test sip1.example.test
rc=$?
got=$(sed -n '/^srv _sips._tcp.example.test ok/,/^srv /p' "$T/probe.out" | grep '^rr')
if [ "$rc" -eq 0 ] && result "$SRVNAME" | grep -q ' ok 3 ' &&
    [ "$(cut -d' ' -f2 <<<"$got" | tr '\n' ' ')" = "10 10 20 " ] &&
    sed -n 3p <<<"$got" | grep -q '^rr 20 0 5063 sip3.example.test$' &&
    grep -q '^rr 10 60 5061 sip1.example.test$' <<<"$got" &&
    grep -q '^rr 10 40 5062 sip2.example.test$' <<<"$got"; then
    ok "three SRV records, priority 10 before 20, with weights and ports"
else
    not_ok "three SRV records, priority 10 before 20, with weights and ports" "$(cat "$T/probe.out")"
fi
expect "an SRV name behind a CNAME" '^srv _sips._tcp.alias.test ok 3 '
expect "target \".\": service explicitly not available" \
    '^srv _sip._udp.none.test error [0-9]+ [0-9]+: service explicitly not available'
expect "a missing name: NXDOMAIN" '^srv _sips._tcp.missing.test error [0-9]+ [0-9]+: no such domain \(NXDOMAIN\)'
expect "a name without SRV records" '^srv sip1.example.test error [0-9]+ [0-9]+: no SRV records$'
if grep -q '^addr sip1.example.test 127.0.0.2$' "$T/probe.out" &&
    grep -q '^addr sip1.example.test ::1$' "$T/probe.out" &&
    grep -qi '^sip1.example.test 1 ' "$T/good.log" &&
    grep -qi '^sip1.example.test 28 ' "$T/good.log" &&
    grep -q "^$SRVNAME 33 " "$T/good.log"; then
    ok "A/AAAA (evdns) and SRV lookups both asked the configured server"
else
    not_ok "A/AAAA (evdns) and SRV lookups both asked the configured server" \
        "$(cat "$T/probe.out")" "server log:" "$(cat "$T/good.log")"
fi

# RFC 2782 weights: over 40 lookups both priority-10 records come first
# sometimes (weights 60/40: all 40 the same has probability < 1e-8), and
# the priority-20 record is always last.
mapfile -t names < <(for _ in $(seq 40); do echo "$SRVNAME"; done)
probe -s "$GOOD" "${names[@]}"
firsts=$(awk '/^srv .* ok 3/ { getline; print $5 }' "$T/probe.out" | sort | uniq -c | tr -s ' ')
lasts=$(awk '/^srv .* ok 3/ { getline; getline; getline; print $5 }' "$T/probe.out" | sort -u)
if [ "$(grep -c ' ok 3 ' "$T/probe.out")" -eq 40 ] &&
    grep -q 'sip1.example.test' <<<"$firsts" && grep -q 'sip2.example.test' <<<"$firsts" &&
    [ "$lasts" = "sip3.example.test" ]; then
    ok "weighted random order within a priority (first:$(tr '\n' ' ' <<<"$firsts"))"
else
    not_ok "weighted random order within a priority" "firsts: $firsts" "lasts: $lasts" "$(head -n 20 "$T/probe.out")"
fi

# --- servers that do not answer well -------------------------------------
probe -s "$SILENT" -s "$GOOD" -t 400 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q ' ok 3 ' && [ "${t:-0}" -ge 380 ] &&
    [ "$(queries silent "$SRVNAME")" -ge 1 ]; then
    ok "a silent first server: the second answers after one try timeout (${t} ms)"
else
    not_ok "a silent first server: the second answers after one try timeout" "$(cat "$T/probe.out")"
fi

probe -s "$SILENT" -t 300 -n 2 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q -E ' error [0-9]+ [0-9]+: timeout' &&
    [ "${t:-0}" -ge 550 ] && [ "${t:-0}" -le 3000 ]; then
    ok "only a silent server: timeout after 2 tries of 300 ms (${t} ms)"
else
    not_ok "only a silent server: timeout after 2 tries of 300 ms" "$(cat "$T/probe.out")"
fi
# the last two queries the silent server saw are this probe's two tries
ports=$(grep -i "^$SRVNAME " "$T/silent.log" | tail -n 2 | sed 's/.* port=//' | sort -u | wc -l)
if [ "$(queries silent "$SRVNAME")" -eq 3 ] && [ "$ports" -eq 2 ]; then
    ok "each try is a new query from a new source port"
else
    not_ok "each try is a new query from a new source port" "$(cat "$T/silent.log")"
fi

probe -s "$FAIL" -s "$GOOD" -t 3000 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q ' ok 3 ' && [ "${t:-9999}" -lt 1500 ]; then
    ok "SERVFAIL from the first server: the second is asked at once (${t} ms)"
else
    not_ok "SERVFAIL from the first server: the second is asked at once" "$(cat "$T/probe.out")"
fi
probe -s "$FAIL" -t 3000 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q -E 'error [0-9]+ [0-9]+: nameserver failure' &&
    [ "${t:-9999}" -lt 1500 ]; then
    ok "only a failing server: nameserver failure without waiting (${t} ms)"
else
    not_ok "only a failing server: nameserver failure without waiting" "$(cat "$T/probe.out")"
fi

probe -s "$CLOSED" -s "$GOOD" -t 3000 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q ' ok 3 ' && [ "${t:-9999}" -lt 1500 ]; then
    ok "a closed port (ICMP unreachable) is left at once for the next server (${t} ms)"
else
    not_ok "a closed port (ICMP unreachable) is left at once for the next server" "$(cat "$T/probe.out")"
fi

probe -s "127.0.0.1:$(port_of slow)" -t 300 -n 3 "$SRVNAME"
t=$(ms "$SRVNAME")
if result "$SRVNAME" | grep -q ' ok 3 ' && [ "${t:-0}" -ge 450 ]; then
    ok "a slow answer to an earlier try still counts (${t} ms)"
else
    not_ok "a slow answer to an earlier try still counts" "$(cat "$T/probe.out")"
fi

probe -s "127.0.0.1:$(port_of spoof)" "$SRVNAME"
if result "$SRVNAME" | grep -q ' ok 3 ' && ! grep -q spoofed "$T/probe.out"; then
    ok "an answer with the wrong id is ignored, the right one used"
else
    not_ok "an answer with the wrong id is ignored, the right one used" "$(cat "$T/probe.out")"
fi

probe -s "127.0.0.1:$(port_of trunc)" "$SRVNAME"
if result "$SRVNAME" | grep -q ' ok 2 '; then
    ok "a truncated answer (TC) gives the records it holds"
else
    not_ok "a truncated answer (TC) gives the records it holds" "$(cat "$T/probe.out")"
fi

before=$(queries slow _sips._tcp.alias.test)
probe -s "127.0.0.1:$(port_of slow)" -c _sips._tcp.alias.test
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^srv _sips._tcp.alias.test cancelled$' "$T/probe.out" &&
    ! grep -q 'CALLBACK AFTER CANCEL' "$T/probe.out" &&
    [ "$(queries slow _sips._tcp.alias.test)" -gt "$before" ]; then
    ok "a cancelled lookup never calls back, even when its answer arrives"
else
    not_ok "a cancelled lookup never calls back, even when its answer arrives" "exit $rc" "$(cat "$T/probe.out")"
fi

# --- configuration -------------------------------------------------------
probe -s ns.example.test "$SRVNAME"
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'dns server "ns.example.test" is not IP' "$T/probe.out"; then
    ok "dns_configure refuses a server that is not an address"
else
    not_ok "dns_configure refuses a server that is not an address" "exit $rc" "$(cat "$T/probe.out")"
fi

if "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
    start_dnsd six --addr ::1
    probe -s "[::1]:$(port_of six)" "$SRVNAME"
    if result "$SRVNAME" | grep -q ' ok 3 ' && [ "$(queries six "$SRVNAME")" -ge 1 ]; then
        ok "a nameserver on [::1]"
    else
        not_ok "a nameserver on [::1]" "$(cat "$T/probe.out")"
    fi
else
    skip "a nameserver on [::1]" "no IPv6 loopback"
fi

probe -s "$GOOD" _bad..name
expect "a name that is not a DNS name fails without a query" \
    '^srv _bad..name error [0-9]+ [0-9]+: not a valid DNS name'

write_config
printf 'dns: {\n  servers = [ "%s", "[::1]:53" ];\n};\n' "$GOOD" >>"$CONF"
out=$(check_config)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "configuration OK" <<<"$out"; then
    ok "sipedged -t accepts dns.servers"
else
    not_ok "sipedged -t accepts dns.servers" "exit $rc" "$out"
fi
write_config
printf 'dns: {\n  servers = [ "%s",\n "ns.example.test" ];\n};\n' "$GOOD" >>"$CONF"
line=$(line_of "$CONF" '"ns.example.test"')
out=$(check_config)
rc=$?
if [ "$rc" -eq 1 ] && grep -q -F "sipedge.conf:$line: dns.servers[1] = \"ns.example.test\" must be an IP address" <<<"$out"; then
    ok "sipedged -t reports a dns.servers entry that is not an address, with its line"
else
    not_ok "sipedged -t reports a dns.servers entry that is not an address, with its line" "exit $rc" "$out"
fi

# --- memory: lookups, timeouts, a cancel, the resolver freed -----------
# An ASan build cannot run under valgrind: there, every probe run above
# must have been free of sanitizer reports instead.
if ldd "$PROBE" 2>/dev/null | grep -q libasan; then
    probe -s "$SILENT" -s "$GOOD" -s "$FAIL" -t 300 -a sip1.example.test \
        -c _sips._tcp.alias.test "$SRVNAME" _sip._udp.none.test \
        _sips._tcp.missing.test
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$T/san.out" ]; then
        ok "dns_probe runs have no sanitizer reports"
    else
        not_ok "dns_probe runs have no sanitizer reports" "exit $rc" "$(cat "$T/san.out")"
    fi
elif command -v valgrind >/dev/null 2>&1; then
    timeout 60 valgrind -q --error-exitcode=9 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        "$PROBE" -s "$SILENT" -s "$GOOD" -s "$FAIL" -t 300 -a sip1.example.test \
        -c _sips._tcp.alias.test "$SRVNAME" _sip._udp.none.test \
        _sips._tcp.missing.test >"$T/vg.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "^srv $SRVNAME ok 3" "$T/vg.out"; then
        ok "dns_probe under valgrind: no errors, no leaks"
    else
        not_ok "dns_probe under valgrind: no errors, no leaks" "exit $rc" "$(cat "$T/vg.out")"
    fi
else
    skip "dns_probe under valgrind" "valgrind is not installed"
fi
