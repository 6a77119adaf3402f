#!/bin/bash
# ctl_conns.sh: sipedge-ctl connections stays usable with many connections
# (issue 15): 300 real TLS clients (python ssl, 250 from 127.0.0.1 and 50
# from 127.0.0.2) held open on a real sipedged; by default the answer is a
# summary (direction, held/open, zones, TLS versions) and a page of 100
# with a line saying how many more and how to get them; --limit/--offset
# page without overlap and cover all 300; --all lists all 300 (paged by
# sipedge-ctl, each reply bounded); --peer and --zone filter the summary
# and the page; --json carries the same summary and paging, and --json
# --all is JSON Lines; bad arguments are refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 24

write_config
start_sipedged || bail_out "sipedged did not start"

# sctl ARGS...: run sipedge-ctl; RC, stdout in $T/out, stderr in $T/err.
sctl() {
    timeout 30 "$SIPEDGE_CTL" -s "$T/sipedged.ctl" "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# conn_lines FILE: the connection lines of a text answer (they start with
# the peer's address).
conn_lines() {
    grep -E '^(\[|[0-9]+\.[0-9]+\.)' "$1"
}

# tlshold NAME SOURCE COUNT: hold COUNT TLS connections from SOURCE open
# until $T/NAME.stop exists (at most 120 s); "READY n" once all are up.
cat >"$T/tlshold.py" <<'EOF'
import socket, ssl, sys, time, os
port, source, count, stop = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
held = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    held.append(ctx.wrap_socket(s))
print("READY %d" % len(held), flush=True)
end = time.time() + 120
while time.time() < end and not os.path.exists(stop):
    time.sleep(0.1)
EOF
tlshold() {
    timeout 150 "$PYTHON" "$T/tlshold.py" "$TLS_PORT" "$2" "$3" "$T/$1.stop" \
        >"$T/$1.out" 2>&1 &
    track_pid $!
}
tlshold a 127.0.0.1 250
tlshold b 127.0.0.2 50
if ! _poll 60 grep -q '^READY 250' "$T/a.out" ||
    ! _poll 60 grep -q '^READY 50' "$T/b.out"; then
    bail_out "the TLS clients did not connect: $(cat "$T/a.out" "$T/b.out")"
fi
nconns() {
    sctl status
    grep -q '^connections: 300$' "$T/out"
}
_poll 20 nconns || bail_out "sipedged does not count 300 connections: $(cat "$T/out")"

# ---- the default: a summary and one page of 100.
sctl connections
cp "$T/out" "$T/default.out"
check "connections: exit 0" test "$RC" = 0
check "... summary: 300 in, 0 out, held + open = 300" \
    eval "grep -Eq '^connections: 300 \(in 300, out 0; held [0-9]+, open [0-9]+\)$' '$T/default.out' &&
        awk -F'[ ,;)]+' '/^connections: /{exit !(\$8 + \$10 == 300)}' '$T/default.out'"
check "... summary: zones: default 300" grep -q '^zones: default 300$' "$T/default.out"
check "... summary: tls: TLSv1.3 300" grep -q '^tls: TLSv1.3 300$' "$T/default.out"
n=$(conn_lines "$T/default.out" | wc -l)
check "... a page of 100 connection lines, not 300 ($n)" test "$n" = 100
check "... and a line saying 200 more and how to get them" \
    grep -q '^200 more: sipedge-ctl connections --offset 100 .*--all' "$T/default.out"

# ---- pages: --limit/--offset cover all 300 without overlap.
: >"$T/pages"
for off in 0 70 140 210 280; do
    sctl connections --limit 70 --offset "$off"
    conn_lines "$T/out" | awk '{ print $1 }' >>"$T/pages"
done
check "--limit 70 --offset 0..280: 300 lines, 300 distinct peers" \
    eval "[ \$(wc -l <'$T/pages') = 300 ] && [ \$(sort -u '$T/pages' | wc -l) = 300 ]"
sctl connections --limit 70 --offset 280
check "... the last page has 20 and no 'more' line" \
    eval "[ \$(conn_lines '$T/out' | wc -l) = 20 ] && ! grep -q ' more: ' '$T/out'"
sctl connections --offset 300
check "--offset 300: the summary and no connection" \
    eval "[ '$RC' = 0 ] && grep -q '^connections: 300 ' '$T/out' && [ \$(conn_lines '$T/out' | wc -l) = 0 ]"
sctl connections --limit 0
check "--limit 0: the summary alone" \
    eval "grep -q '^connections: 300 ' '$T/out' && [ \$(conn_lines '$T/out' | wc -l) = 0 ]"

# ---- --all: every connection, the summary once.
sctl connections --all
cp "$T/out" "$T/all.out"
check "--all: exit 0, 300 connection lines, 300 distinct peers" \
    eval "[ '$RC' = 0 ] && [ \$(conn_lines '$T/all.out' | wc -l) = 300 ] &&
        [ \$(conn_lines '$T/all.out' | awk '{ print \$1 }' | sort -u | wc -l) = 300 ]"
check "... the summary once, no 'more' line" \
    eval "[ \$(grep -c '^connections: 300 ' '$T/all.out') = 1 ] && ! grep -q ' more: ' '$T/all.out'"
check "... the same peers as the pages" \
    eval "cmp -s <(sort '$T/pages') <(conn_lines '$T/all.out' | awk '{ print \$1 }' | sort)"

# ---- filters.
sctl connections --peer 127.0.0.2 --all
check "--peer 127.0.0.2: a summary of 50, 50 lines, all from 127.0.0.2" \
    eval "grep -q '^connections: 50 (in 50,' '$T/out' && [ \$(conn_lines '$T/out' | wc -l) = 50 ] &&
        [ \$(conn_lines '$T/out' | grep -c '^127\.0\.0\.2:') = 50 ]"
one=$(conn_lines "$T/out" | awk 'NR == 1 { print $1 }')
sctl connections --peer "$one"
check "--peer $one: exactly that connection" \
    eval "grep -q '^connections: 1 ' '$T/out' && [ \"\$(conn_lines '$T/out' | awk '{ print \$1 }')\" = '$one' ]"
sctl connections --zone default --limit 5
check "--zone default: 300 in the summary, a page of 5" \
    eval "grep -q '^connections: 300 ' '$T/out' && [ \$(conn_lines '$T/out' | wc -l) = 5 ] &&
        grep -q '^295 more: ' '$T/out'"
sctl connections --zone nosuch
check "--zone nosuch: 0 connections" \
    eval "[ '$RC' = 0 ] && grep -q '^connections: 0 ' '$T/out' && [ \$(conn_lines '$T/out' | wc -l) = 0 ]"

# ---- refused arguments.
sctl connections --limit 1001
check "--limit 1001 is refused (exit 1, the range said)" \
    eval "[ '$RC' = 1 ] && grep -q 'limit takes a number from 0 to 1000' '$T/err'"
sctl connections --bogus
check "an unknown argument is refused (exit 1)" \
    eval "[ '$RC' = 1 ] && grep -q \"unknown argument '--bogus'\" '$T/err'"

# ---- JSON: the same summary and paging.
# jcheck DESC EXPR: every line of $T/out is a JSON object; EXPR over
# d (the first) and v (all of them) is true.
jcheck() {
    local desc=$1 why
    if why=$("$PYTHON" -c 'import json, sys
v = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()]
d = v[0]
if not eval(sys.argv[2]):
    sys.exit("false: %s\n%s" % (sys.argv[2], json.dumps(v, indent=1)[:3000]))' "$T/out" "$2" 2>&1); then
        ok "$desc"
    else
        not_ok "$desc" "exit $RC" "$why" "$(cat "$T/err")"
    fi
}
sctl --json connections
jcheck "--json: one object, summary total 300 (in 300), a page of 100, more 200" \
    "len(v) == 1 and d['ok'] and d['summary']['total'] == 300 and d['summary']['in'] == 300 and d['summary']['held'] + d['summary']['open'] == 300 and len(d['connections']) == 100 and d['returned'] == 100 and d['more'] == 200 and d['offset'] == 0"
jcheck "... zones and tls_versions counted" \
    "d['summary']['zones'] == {'default': 300} and d['summary']['tls_versions'] == {'TLSv1.3': 300}"
sctl --json connections --limit 70 --offset 140
jcheck "--json --limit 70 --offset 140: the same peers as the text page" \
    "d['returned'] == 70 and d['more'] == 90 and sorted(c['peer'] for c in d['connections']) == sorted(open('$T/pages').read().split()[140:210])"
sctl --json connections --all
jcheck "--json --all: JSON Lines, the summary first, then pages: 300 distinct peers" \
    "d['summary']['total'] == 300 and d['connections'] == [] and all('summary' not in p for p in v[1:]) and len([c for p in v for c in p['connections']]) == 300 and len({c['peer'] for p in v for c in p['connections']}) == 300"
sctl --json connections --peer 127.0.0.2
jcheck "--json --peer 127.0.0.2: 50, all from there" \
    "d['summary']['total'] == 50 and len(d['connections']) == 50 and all(c['peer'].startswith('127.0.0.2:') for c in d['connections'])"

touch "$T/a.stop" "$T/b.stop"
