#!/bin/bash
# reload.sh: SIGHUP applies a valid new configuration (the TCP listener moves
# to a new port, an established TLS session survives) and rejects a broken
# one while the old configuration keeps serving; SIGUSR1 reopens the log; a
# port can switch between TCP and TLS in one reload.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd sipp "$PYTHON"
plan 22

write_config
start_sipedged || bail_out "sipedged did not start"
OLD_TCP_PORT=$TCP_PORT

# A TLS session that stays open across both reloads: one OPTIONS now, one
# more once $T/go exists.
sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200 \
    waitfile:"$T/go":60 send:"$MSG/options.msg" expect:200 >"$T/long.out" 2>&1 &
long=$!
track_pid "$long"
check "a TLS session is established before the reload" \
    wait_for_text "$T/long.out" "RECV SIP/2.0 200"

# ---- SIGHUP with a valid config: the TCP listener moves.
TCP_PORT=$(free_port)
write_config
log_mark
kill -HUP "$SIPEDGED_PID"
check "SIGHUP with a valid config: 'reload ok'" \
    wait_for_event module=conf 'event="reload ok"'
check "old TCP listener closed (port $OLD_TCP_PORT)" \
    wait_for_event -t 5 'event="listener closed"' transport=tcp port="$OLD_TCP_PORT"
check "new TCP listener open (port $TCP_PORT)" \
    wait_for_event -t 5 'event="listener open"' transport=tcp port="$TCP_PORT"
check "OPTIONS on the new TCP port gets 200" sipp_options tcp 127.0.0.1 "$TCP_PORT"
check "the old TCP port refuses connections" port_refused 127.0.0.1 "$OLD_TCP_PORT"
check "OPTIONS over UDP (unchanged listener) gets 200" sipp_options udp 127.0.0.1 "$UDP_PORT"

# ---- SIGHUP with a broken config: refused, the old one keeps serving.
n=$(insert_after "$CONF" '^sip: *\{' '  max_mesage_size = 4096;')

# _config_error_logged: a config error line names sipedge.conf:$n:.
_config_error_logged() {
    log_since_mark | grep -F 'event="config error"' | grep -q -F "sipedge.conf:$n:"
}

log_mark
kill -HUP "$SIPEDGED_PID"
check "SIGHUP with a typo'd key: 'reload failed'" \
    wait_for_event module=conf 'event="reload failed"'
check "'config error' names sipedge.conf:$n" _poll 5 _config_error_logged
if log_has 'event="listener closed"'; then
    not_ok "no listener closed by the failed reload" "$(log_since_mark)"
else
    ok "no listener closed by the failed reload"
fi
check "TCP (kept listener) still answers 200" sipp_options tcp 127.0.0.1 "$TCP_PORT"
check "UDP (kept listener) still answers 200" \
    sipclient udp "$UDP_PORT" send:"$MSG/options.msg" expect:200
check "TLS (kept listener) still answers 200" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200

touch "$T/go"
wait_pid "$long" 20
rc=$?
if [ "$rc" -eq 0 ] && [ "$(statuses "$T/long.out")" = "200 200" ]; then
    ok "the TLS session opened before both reloads still gets 200"
else
    not_ok "the TLS session opened before both reloads still gets 200" \
        "sipclient exit $rc, output:" "$(cat "$T/long.out")"
fi

# ---- SIGUSR1 reopens the log file.
mv "$LOG" "$LOG.1"
kill -USR1 "$SIPEDGED_PID"
check "SIGUSR1 after moving the log: a new log file appears" wait_file "$LOG" 5
check "the moved log kept the earlier lines" grep -q -F 'event="reload failed"' "$LOG.1"
LOG_MARK=0
sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200 >/dev/null 2>&1
check "new events go to the new log file" \
    wait_for_event -t 5 module=tls 'event="handshake ok"'

# ---- SIGHUP turning the TCP listener into TLS on the same port: the TCP
# socket has to give the port up before the TLS one can bind it.
write_config
sed -i "/transport = \"tcp\"/s/\"tcp\"/\"tls\"/" "$CONF"
log_mark
kill -HUP "$SIPEDGED_PID"
check "SIGHUP switching port $TCP_PORT from TCP to TLS: 'reload ok'" \
    wait_for_event module=conf 'event="reload ok"'
check "the TCP listener on port $TCP_PORT closed" \
    log_has 'event="listener closed"' transport=tcp port="$TCP_PORT"
check "a TLS listener on port $TCP_PORT opened" \
    log_has 'event="listener open"' transport=tls port="$TCP_PORT"
check "OPTIONS over TLS on port $TCP_PORT gets 200" \
    sipclient tls "$TCP_PORT" send:"$MSG/options.msg" expect:200

check "SIGTERM: exit status 0" stop_sipedged
