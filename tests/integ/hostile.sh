#!/bin/bash
# hostile.sh: input an attacker would send gets bounded work and a proper
# answer (issue 11): a 64 KB datagram of Require headers is answered 400
# at once while other clients are served; multipart bodies are never
# parsed (no memory growth); a UTF-8 reason phrase keeps a TCP connection;
# a connection fed line feeds is closed; error responses carry random
# To-tags and received/rport; every valid RFC 4475 s.3.1.1 message is
# answered over UDP and TCP; the refusals are counted in sipedge-ctl status;
# with sip.max_transactions live, new requests get a stateless 503.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 58

HOSTILE="$INTEG_DIR/hostile.py"
write_config
start_sipedged || bail_out "sipedged did not start"

# run_checks CHECK...: run hostile.py and report its result lines.
run_checks() {
    local line
    timeout 300 "$PYTHON" "$HOSTILE" --udp "$UDP_PORT" --tcp "$TCP_PORT" \
        --pid "$SIPEDGED_PID" "$@" >"$T/hostile.out" 2>&1
    while IFS= read -r line; do
        case $line in
        "ok "*) ok "${line#ok }" ;;
        "not ok "*) not_ok "${line#not ok }" ;;
        *) diag "$line" ;;
        esac
    done <"$T/hostile.out"
}

# 1-5: the header-count freeze, and the parameter cap.
run_checks freeze params
check "the refusal is logged as a bad message with its kind" \
    wait_for_event -t 5 'event="bad message"' 'kind=too_many_fields'
# 7: 2,000 multipart MESSAGEs: no memory growth.
run_checks mime
# 8: a UTF-8 reason phrase.
run_checks utf8
# 9, 10: line feeds and pings.
log_mark
run_checks lf
# keepalive_flood_logged: the close of a line-fed connection is in the log.
keepalive_flood_logged() {
    log_since_mark | grep 'event="connection closed"' | grep -q 'reason="keepalive flood'
}
check "the line-fed connection's close is logged with its reason" \
    _poll 5 keepalive_flood_logged
# 12-15: To-tags, received/rport, control bytes.
run_checks tags
# 16-48: RFC 4475 s.3.1.1.
run_checks torture
# 49, 50: the counters.
timeout 30 "$SIPEDGE_CTL" -c "$CONF" --json status >"$T/status.json" 2>&1
check "sipedge-ctl json status counts bad messages by kind" \
    "$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
k = d["bad_messages_by_kind"]
sys.exit(not (d["bad_messages"] == sum(k.values()) and k["too_many_fields"] >= 3
              and k["crlf_flood"] >= 1 and k["unparseable"] >= 2 and k["invalid"] >= 2))' \
    "$T/status.json"
timeout 30 "$SIPEDGE_CTL" -c "$CONF" status >"$T/status.txt" 2>&1
check "sipedge-ctl status shows bad_messages and bad_messages_by_kind" \
    grep -q "^bad_messages_by_kind: .*too_many_fields [1-9]" "$T/status.txt"

# 54-58: sip.max_transactions = 20 by a reload: new requests beyond the
# live transactions get a stateless 503, counted as overload.
insert_after "$CONF" '^sip: *\{' '  max_transactions = 20;' >/dev/null
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with sip.max_transactions = 20" \
    wait_for_event module=conf 'event="reload ok"'
run_checks --overload 40 --cap 20 overload
timeout 30 "$SIPEDGE_CTL" -c "$CONF" status >"$T/status.txt" 2>&1
check "sipedge-ctl status counts the 503s as overload" \
    grep -q "^overload: [1-9][0-9]" "$T/status.txt"
