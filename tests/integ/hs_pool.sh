#!/bin/bash
# hs_pool.sh: TLS handshakes on worker threads (issue 14 point 4,
# tls.handshake_threads).  Through sipedged with 2 handshake threads,
# mutual-TLS calls on a new connection each (sipload, as sipload.sh sets
# it up) complete, `sipedge-ctl status` counts their handshakes as done by
# the pool, and the gate still refuses a certificate from no trusted CA.
# Clients that send a whole ClientHello and then nothing (their handshake
# waits on a worker) and clients that send nothing (they wait on the loop
# for their first record) are closed at tls.handshake_timeout, while calls
# on new connections complete meanwhile.  A reload and a stop while
# handshakes wait on the workers: the reload keeps the pool (a changed
# setting waits for a restart, logged) and the waiting ones still meet
# their deadline; the stop closes them and exits 0.  Then
# handshake_threads = 0: handshakes on the event loop, as before.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=siploadlib.sh
. "$INTEG_DIR/siploadlib.sh"
require_cmd "$PYTHON" openssl
plan 30

STALL="$INTEG_DIR/hsstall.py"

sl_pki
# A certificate no trusted CA signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=rogue.example -days 30 -keyout "$T/rogue.key" \
    -out "$T/rogue.pem" >>"$T/openssl.log" 2>&1 || bail_out "openssl req failed"

CONF_HANDSHAKE_TIMEOUT=4
CA="$T/ca/ca.pem"	# what sipclient verifies the server with
sl_config "  handshake_threads = 2;"
sl_start_uas 150

ctl() {
    timeout 20 "$SIPEDGE_CTL" -s "$T/sipedged.ctl" "$@"
}

# pool FIELD: that number of the handshake_pool status line.
pool() {
    ctl status 2>/dev/null | awk -v k="$1" '$1 == "handshake_pool:" {
        for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# pool_at_least FIELD N: the pool's FIELD is N or more.
pool_at_least() {
    local v
    v=$(pool "$1")
    [ -n "$v" ] && [ "$v" -ge "$2" ]
}

# uac NAME ARGS...: calls through sipedged on a new mutual-TLS connection each.
uac() {
    local name=$1
    shift
    timeout 60 "$SIPLOAD" --role uac --target "127.0.0.1:$TLS_PORT" --bind 127.0.0.3 \
        --uri "sip:bench@127.0.0.2" --cert "$T/uac-chain.pem" --key "$T/uac.key" \
        --ca "$T/ca/ca.pem" --timeout 20 --quiet --scenario call --new-conn "$@" \
        >"$T/$name.out" 2>&1
}

# completed NAME COUNT: the UAC NAME sent COUNT and completed COUNT, none failed.
completed() {
    local line
    line=$(grep '^sipload role=uac' "$T/$1.out")
    [[ " $line " == *" sent=$2 completed=$2 failed=0 "* ]] && return 0
    echo "expected sent=$2 completed=$2 failed=0:"
    cat "$T/$1.out"
    return 1
}

# stall NAME MODE COUNT: hsstall.py in the background (output $T/NAME.out);
# waits for its OPEN line.  Sets STALL_PID.
stall() {
    timeout 40 "$PYTHON" "$STALL" --port "$TLS_PORT" --mode "$2" --count "$3" \
        --max 30 >"$T/$1.out" 2>&1 &
    STALL_PID=$!
    track_pid "$STALL_PID"
    _poll 10 grep -q '^OPEN' "$T/$1.out"
}

# closed_in NAME COUNT LO HI: all COUNT of stall NAME were closed, each
# between LO and HI seconds after it connected.
closed_in() {
    _poll 20 grep -q '^SUMMARY' "$T/$1.out" || { cat "$T/$1.out"; return 1; }
    grep -q "^SUMMARY closed=$2 open=0" "$T/$1.out" || { cat "$T/$1.out"; return 1; }
    awk -v lo="$3" -v hi="$4" '$1 == "CLOSED" && ($3 < lo || $3 > hi) { bad = 1 }
        END { exit bad }' "$T/$1.out" || { cat "$T/$1.out"; return 1; }
}

# rogue: OPTIONS from a client whose certificate no trusted CA signed.
rogue() {
    sipclient tls "$TLS_PORT" --cert "$T/rogue.pem" --key "$T/rogue.key" \
        send:"$MSG/options.msg" expect:200
}

check "sipedged starts with 2 handshake threads" start_sipedged ||
    bail_out "sipedged did not start"
check "the start is logged: handshake pool threads=2 on worker threads" \
    log_has 'event="handshake pool"' threads=2 'handshakes="worker threads"'

# ---- calls through the pool, and its counters.
check "20 calls on a new mutual-TLS connection each: all complete" \
    eval 'uac calls --rate 20 --count 20 && completed calls 20'
check "status: handshake_pool threads 2, none in flight" \
    eval '[ "$(pool threads) $(pool in_flight)" = "2 0" ]'
check "status: the pool did the 20 inbound handshakes and the one to the uas" \
    pool_at_least done 21
ctl --json status >"$T/status.json" 2>&1
check "status --json has handshake_pool with threads, in_flight, done, failed, cancelled" \
    "$PYTHON" -c 'import json, sys
p = json.load(open(sys.argv[1]))["handshake_pool"]
assert p["threads"] == 2 and p["in_flight"] == 0 and p["done"] >= 21, p
assert "failed" in p and "cancelled" in p, p' "$T/status.json"

# ---- the gate still decides, on the loop, after a pool handshake.
log_mark
check "a client certificate from no trusted CA gets no answer" eval '! rogue'
check "... its handshake completed (handshake ok, subject rogue.example)" \
    wait_for_event -t 5 'event="handshake ok"' 'peer_subject="/CN=rogue.example"'
check "... and the gate refused it" wait_for_event -t 5 'event="peer refused"'

# ---- stalled handshakes meet the deadline while others complete.
done0=$(pool done)
check "20 clients send a ClientHello and then nothing" stall hello hello 20
stall silent silent 5 >/dev/null
check "status: their 20 handshakes wait on the workers (in_flight 20)" \
    _poll 5 pool_at_least in_flight 20
check "meanwhile 10 calls on new connections complete" \
    eval 'uac during --rate 20 --count 10 && completed during 10'
check "... before the stalled ones' deadline: they are all still open" \
    eval '! grep -q "^CLOSED" "$T/hello.out"'
check "the 20 stalled in the handshake are closed at the deadline (4 s)" \
    closed_in hello 20 3.5 9
check "the 5 silent ones are closed at the deadline too" closed_in silent 5 3.5 9
check "status: the 20 cancelled, none in flight, the 10 calls' handshakes done" \
    eval 'pool_at_least cancelled 20 && [ "$(pool in_flight)" = 0 ] &&
        pool_at_least done $((done0 + 10))'
check "status counts the 25 at the handshake deadline" \
    eval 'ctl status | grep -q "^deadlines: connect 0 handshake 25 "'

# ---- a reload while handshakes wait on the workers.
stall reload hello 10 >/dev/null
_poll 5 pool_at_least in_flight 10
sed -i -e 's/handshake_threads = 2;/handshake_threads = 1;/' "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "a reload while 10 handshakes wait on the workers succeeds" \
    wait_for_event -t 10 'event="reload ok"'
check "... and logs that the new thread count waits for a restart" \
    log_has 'event="handshake pool unchanged"' threads=2 setting=1
check "the 10 are still closed at their deadline" closed_in reload 10 3.5 9
check "after the reload calls complete on the 2 threads" \
    eval 'uac after --rate 20 --count 5 && completed after 5 &&
        [ "$(pool threads)" = 2 ]'

# ---- a stop while handshakes wait on the workers.
stall stop hello 10 >/dev/null
_poll 5 pool_at_least in_flight 10
check "SIGTERM with 10 handshakes on the workers: sipedged exits 0" stop_sipedged TERM
check "... the 10 clients are disconnected" closed_in stop 10 0 4
check "... and it logged stopped" log_has 'event="stopped"'

# ---- handshake_threads = 0: the loop does them, as before.
sed -i -e 's/handshake_threads = 1;/handshake_threads = 0;/' "$CONF"
check "sipedged starts with handshake_threads = 0" start_sipedged ||
    bail_out "sipedged did not start"
check "the start is logged: handshake pool threads=0 on the event loop" \
    log_has 'event="handshake pool"' threads=0 'handshakes="event loop"'
check "5 calls on a new connection each complete, handshakes on the loop" \
    eval 'uac loop --rate 10 --count 5 && completed loop 5 &&
        [ "$(pool threads) $(pool done)" = "0 0" ]'
log_mark
check "the gate refuses the rogue certificate there too" \
    eval '! rogue && wait_for_event -t 5 "event=\"peer refused\""'
stall loopstall hello 3 >/dev/null
check "a stalled handshake on the loop is closed at the deadline" closed_in loopstall 3 3.5 9
check "sipedged stops with status 0" stop_sipedged TERM
