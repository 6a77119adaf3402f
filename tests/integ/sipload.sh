#!/bin/bash
# sipload.sh: the benchmark's load generator (contrib/bench/sipload) drives
# sipedged over mutual TLS, as contrib/bench/bench_kamailio.py does:
#
#   sipload uac 127.0.0.3 --TLS--> sipedged 127.0.0.1 --TLS--> sipload uas 127.0.0.2
#
# with certificates from `sipedge-cert lab-ca`, the default zone demanding
# client certificates and one neighbor zone (the UAS) reached by one search
# rule.  50 OPTIONS on one connection, 10 INVITE..BYE calls on one
# connection and 5 calls on a new TLS connection each: every one completes
# (a generous transaction timeout and low rates, so load cannot fail it),
# and the UAS counts what it answered.  Then a burst of 1,000 OPTIONS at
# 500/s: the log, which sipedged writes once per loop turn, has every
# OPTIONS's debug "request" line once, before its 200's "response" line,
# timestamps never going back, and each line in the file by the time the
# UAC has its answer.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=siploadlib.sh
. "$INTEG_DIR/siploadlib.sh"
plan 9

sl_pki
sl_config
sl_start_uas 90

check "sipedged starts with a TLS listener and the zone uas" start_sipedged ||
    bail_out "sipedged did not start"

# uac NAME ARGS...: a sipload UAC through sipedged; its last line in $T/NAME.out.
uac() {
    local name=$1
    shift
    timeout 60 "$SIPLOAD" --role uac --target "127.0.0.1:$TLS_PORT" --bind 127.0.0.3 \
        --uri "sip:bench@127.0.0.2" --cert "$T/uac-chain.pem" --key "$T/uac.key" \
        --ca "$T/ca/ca.pem" --timeout 20 --quiet "$@" >"$T/$name.out" 2>&1
}

# completed NAME COUNT: the UAC NAME sent COUNT and completed COUNT, none failed.
completed() {
    local line
    line=$(grep '^sipload role=uac' "$T/$1.out")
    if [[ " $line " == *" sent=$2 completed=$2 failed=0 "* ]]; then
        return 0
    fi
    echo "expected sent=$2 completed=$2 failed=0:"
    cat "$T/$1.out"
    tail -n 20 "$LOG"
    return 1
}

check "50 OPTIONS on one TLS connection: sipload exits 0" \
    uac options --scenario options --rate 50 --count 50
check "... every one relayed and answered 200" completed options 50
check "10 INVITE..BYE calls on one TLS connection, ACK and BYE along the route set: all complete" \
    eval 'uac calls --scenario call --rate 20 --count 10 && completed calls 10'
check "5 calls on a new mutual-TLS connection each: all complete" \
    eval 'uac newconn --scenario call --new-conn --rate 10 --count 5 && completed newconn 5'

# burst_lines: the lines since the mark of the burst's OPTIONS (from the
# UAC, 127.0.0.3) and their 200s (from the UAS): "requests=N dups=N
# early=N back=N" (a 200 logged before its request, a ts going back).
burst_lines() {
    log_since_mark | awk '
        { ts = $1; if (ts < last) back++; last = ts }
        /event="request" / && / peer=127\.0\.0\.3:/ && / method=OPTIONS / {
            match($0, / call_id=[^ ]*/); id = substr($0, RSTART, RLENGTH)
            if (id in req) dups++; else { req[id] = 1; n++ }
        }
        /event="response" / && / peer=127\.0\.0\.2:/ && / status=200 / {
            match($0, / call_id=[^ ]*/); id = substr($0, RSTART, RLENGTH)
            if (!(id in req)) early++
        }
        END { printf "requests=%d dups=%d early=%d back=%d\n", n, dups, early, back }'
}
log_mark
uac burst --scenario options --rate 500 --count 1000
# No wait: each request line was due in the file a loop turn after it
# was read, long before the UAC had the answer.
got=$(burst_lines)
if completed burst 1000 >/dev/null && [ "$got" = "requests=1000 dups=0 early=0 back=0" ]; then
    ok "1,000 OPTIONS at 500/s: every request line in the log once, in order, at once"
else
    not_ok "1,000 OPTIONS at 500/s: every request line in the log once, in order, at once" \
        "$got" "$(cat "$T/burst.out")"
fi
# The last 200's line is written in the turn that relays it: it is in
# the file within a second (wait_for_event's bound is ten).
check "... and the last answer's line within a second" \
    _poll 1 eval "[ \$(log_since_mark | grep -F 'event=\"response\" ' |
        grep -F ' peer=127.0.0.2:' | grep -c -F ' status=200 ') -eq 1000 ]"

uas_done() {
    kill -TERM "$UAS_PID"
    _poll 10 _pid_gone "$UAS_PID" || return 1
    wait "$UAS_PID"
}
check "the UAS stops on TERM with status 0" uas_done
line=$(grep '^sipload role=uas' "$T/uas.out")
if [[ " $line " == *" invites=15 acks=15 byes=15 options=1050 others=0 failed=0 "* ]]; then
    ok "the UAS answered 1,050 OPTIONS, 15 INVITEs and 15 BYEs and got 15 ACKs"
else
    not_ok "the UAS answered 1,050 OPTIONS, 15 INVITEs and 15 BYEs and got 15 ACKs" "$line"
fi
stop_sipedged >/dev/null
