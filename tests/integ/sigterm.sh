#!/bin/bash
# sigterm.sh: SIGTERM (and SIGINT) stop sipedged gracefully: exit status 0
# within shutdown_grace plus a margin, even with an idle client connected;
# the pid file is removed and "stopped" is logged.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 11

MARGIN=3            # seconds allowed beyond daemon.shutdown_grace

write_config
start_sipedged || bail_out "sipedged did not start"

pid=$(tr -dc 0-9 <"$PIDFILE" 2>/dev/null)
if [ "$pid" = "$SIPEDGED_PID" ]; then
    ok "pid file holds the daemon's PID"
else
    not_ok "pid file holds the daemon's PID" "pid file: '${pid}', daemon: $SIPEDGED_PID"
fi

# An idle client that keeps its TCP connection open must not delay the stop
# beyond the grace period.
sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200 closed:30 \
    >"$T/idle.out" 2>&1 &
idle=$!
track_pid "$idle"
check "idle client got 200 before the stop" wait_for_text "$T/idle.out" "RECV SIP/2.0 200"

stop_sipedged TERM $((CONF_SHUTDOWN_GRACE + MARGIN + 5))
rc=$?
if [ "$rc" -eq 0 ]; then
    ok "SIGTERM: exit status 0"
else
    not_ok "SIGTERM: exit status 0" "exit status $rc"
fi
if [ "$STOP_ELAPSED_MS" -le $(((CONF_SHUTDOWN_GRACE + MARGIN) * 1000)) ]; then
    ok "SIGTERM: exited within shutdown_grace + ${MARGIN} s"
else
    not_ok "SIGTERM: exited within shutdown_grace + ${MARGIN} s" \
        "took ${STOP_ELAPSED_MS} ms, grace is ${CONF_SHUTDOWN_GRACE} s"
fi
if [ ! -e "$PIDFILE" ]; then
    ok "SIGTERM: pid file removed"
else
    not_ok "SIGTERM: pid file removed" "$PIDFILE still exists"
fi
check "SIGTERM: 'stopped' logged" log_has module=daemon 'event="stopped"'
check "SIGTERM: TCP port closed" port_refused 127.0.0.1 "$TCP_PORT"
wait_pid "$idle" 5 >/dev/null

# SIGINT does the same.
if start_sipedged; then
    ok "restarts for the SIGINT case"
    stop_sipedged INT $((CONF_SHUTDOWN_GRACE + MARGIN + 5))
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "SIGINT: exit status 0"
    else
        not_ok "SIGINT: exit status 0" "exit status $rc"
    fi
    if [ ! -e "$PIDFILE" ]; then
        ok "SIGINT: pid file removed"
    else
        not_ok "SIGINT: pid file removed" "$PIDFILE still exists"
    fi
    check "SIGINT: 'stopped' logged" log_has module=daemon 'event="stopped"'
else
    not_ok "restarts for the SIGINT case"
    not_ok "SIGINT: exit status 0"
    not_ok "SIGINT: pid file removed"
    not_ok "SIGINT: 'stopped' logged"
fi
