#!/bin/bash
# logflood.sh: logs under attack (issue 11 point 8).  20,000 garbage UDP
# datagrams, each a "bad message": the log grows by a bounded number of
# bytes (the first 10 of each second, then one "similar events suppressed"
# line per second with the count), the counts stay true in `sipedge-ctl
# status` (text and JSON), the daemon still answers OPTIONS, and what the
# last interval dropped is said at shutdown.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 12

write_config
# Production level: the flood must be bounded where operators run.
sed -i 's/^  level = "debug";/  level = "info";/' "$CONF"
start_sipedged || bail_out "sipedged did not start"

# flood N: N garbage datagrams to the UDP port, paced so that the socket
# buffer does not drop them (bounded: 60 s at most).
flood() {
    timeout 60 "$PYTHON" - "$UDP_PORT" "$1" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"GARBAGE %d \x01\x02\xff not a SIP message\r\n\r\n" % i, ("127.0.0.1", port))
    if i % 50 == 49:
        time.sleep(0.002)
PY
}

# suppressed_sum: the suppressed= counts of sip "bad message" summaries
# since the mark; bad_lines: the "bad message" lines written since then.
suppressed_sum() {
    log_since_mark | grep 'module=sip event="similar events suppressed" kind="bad message"' |
        sed -E 's/.* suppressed=([0-9]+) .*/\1/' | awk '{ s += $1 } END { print s + 0 }'
}
bad_lines() { log_since_mark | grep -c 'module=sip event="bad message"'; }
# status_total FIELD: sip "bad message" total or suppressed from status.
status_count() {
    ctl_cmd status | sed -n -E "s/^log_limit: sip \"bad message\" total ([0-9]+) suppressed ([0-9]+)\$/\\$1/p"
}

log_mark
before=$(stat -c %s "$LOG")
t0=$(date +%s)
flood 20000 || bail_out "the flood client failed"
t1=$(date +%s)
secs=$((t1 - t0 + 2))
# The last interval's summary comes within two seconds.
# shellcheck disable=SC2016  # expanded by eval, at each try
_poll 5 eval '[ $(( $(suppressed_sum) + $(bad_lines) )) -ge "$(status_count 1)" ]' || true
after=$(stat -c %s "$LOG")
grown=$((after - before))
total=$(status_count 1)
supp=$(status_count 2)
sum=$(suppressed_sum)
lines=$(bad_lines)
diag "flood of 20000 in $((t1 - t0)) s: log grew $grown bytes; bad message lines $lines, summaries say $sum suppressed; status total $total suppressed $supp"

if [ "$grown" -le $((secs * 8000)) ]; then
    ok "the log grew by a bounded number of bytes ($grown for 20000 bad datagrams in ${secs}s)"
else
    not_ok "the log grew by a bounded number of bytes ($grown for 20000 bad datagrams in ${secs}s)" \
        "$(log_since_mark | cut -c1-200 | tail -n 5)"
fi
if [ "$lines" -ge 10 ] && [ "$lines" -le $((secs * 10 + 10)) ]; then
    ok "the first 10 of each second are written ($lines lines)"
else
    not_ok "the first 10 of each second are written ($lines lines)"
fi
check "status counts every bad datagram that arrived (total $total of 20000)" \
    test "${total:-0}" -ge 19000 -a "${total:-0}" -le 20000
check "'similar events suppressed' lines say how many: written + suppressed = total" \
    test "$((sum + lines))" -eq "${total:-0}" -a "${supp:-0}" -eq "$sum"
check "a summary names module, kind, interval and counts" \
    eval "log_since_mark | grep -E -q 'level=warn module=sip event=\"similar events suppressed\" kind=\"bad message\" suppressed=[0-9]+ logged=10 interval=1 total=[0-9]+\$'"
check "status: log_suppressed is the sum over the kinds" \
    eval "ctl_cmd status | grep -q -x 'log_suppressed: $supp'"
check "status --json: log_suppressed and log_limits" \
    eval "timeout 30 '$SIPEDGE_CTL' -c '$CONF' --json status | '$PYTHON' -c '
import json, sys
d = json.load(sys.stdin)
k = [x for x in d[\"log_limits\"] if x[\"module\"] == \"sip\" and x[\"event\"] == \"bad message\"][0]
assert k[\"total\"] == $total and k[\"suppressed\"] == $supp, k
assert d[\"log_suppressed\"] == $supp
assert any(x[\"module\"] == \"tls\" and x[\"event\"] == \"handshake failed\" for x in d[\"log_limits\"])
'"
check "sipedged still answers OPTIONS" sipp_options udp 127.0.0.1 "$UDP_PORT"

# log.rate_limit_burst = 3 by a reload: 3 written of a burst of 10, then
# the summary says 7.
sed -i 's/^  level = "info";/  level = "info"; rate_limit_burst = 3;/' "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "reload with log.rate_limit_burst = 3" wait_for_event module=conf 'event="reload ok"'
sleep 1.2
log_mark
flood 10 || bail_out "the flood client failed"
check "... 3 bad message lines, then 'suppressed=7 logged=3'" \
    eval "_poll 5 eval \"log_since_mark | grep -q 'kind=\\\"bad message\\\" suppressed=7 logged=3 interval=1 '\" && [ \$(bad_lines) -eq 3 ]"

# A burst, then SIGTERM at once: what was dropped is said before "stopped".
sleep 1.2
log_mark
flood 40 || bail_out "the flood client failed"
# shellcheck disable=SC2016  # expanded by eval, at each try
_poll 5 eval '[ "$(status_count 1)" -ge $((total + 40)) ]' || true
stop_sipedged TERM >/dev/null
n=$(($(suppressed_sum) + $(bad_lines)))
check "at shutdown the pending count is flushed (written + suppressed = $n of 40)" test "$n" -eq 40
check "... before 'stopped'" \
    eval "log_since_mark | grep -E 'similar events suppressed|event=\"stopped\"' | tail -n 1 | grep -q 'event=\"stopped\"'"
