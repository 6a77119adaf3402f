#!/bin/bash
# ctl.sh: the control socket (daemon.control_socket).  Mode 0660 and its
# directory made; help, status, reload (good and broken configuration) and
# an unknown command; the request line limit; many clients at once, a slow
# client that blocks nobody (OPTIONS still answered), the idle timeout and
# the client limit; removed at exit, a stale socket replaced after a crash,
# a file or a live socket in the way refuses the start.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd "$PYTHON"
plan 47

SOCK="$T/sipedged.ctl"

# The test client: one request per connection, as sipedge-ctl will do.
cat >"$T/ctl.py" <<'EOF'
import socket, sys, threading, time

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    return s

def read_all(s, reset_ok=False):
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            if reset_ok and data:   # a refused client may see the close as a reset
                return data
            raise
        if not b:
            return data
        data += b

def request(path, payload, reset_ok=False):
    s = connect(path)
    try:
        try:
            s.sendall(payload)
        except BrokenPipeError:
            if not reset_ok:
                raise
        return read_all(s, reset_ok)
    finally:
        s.close()

path, mode = sys.argv[1], sys.argv[2]
if mode == "line":          # ctl.py SOCK line TEXT: one request line
    sys.stdout.write(request(path, sys.argv[3].encode() + b"\n").decode("utf-8", "replace"))
elif mode == "raw":         # ctl.py SOCK raw N [lf]: N bytes of 'x', LF or not
    payload = b"x" * int(sys.argv[3]) + (b"\n" if len(sys.argv) > 4 else b"")
    sys.stdout.write(request(path, payload).decode())
elif mode == "many":        # ctl.py SOCK many N: N clients at once; print how many got ok
    n = int(sys.argv[3])
    socks = [connect(path) for _ in range(n)]   # all connected before any sends
    results = [None] * n
    def run(i):
        try:
            socks[i].sendall(b"status\n")
            results[i] = read_all(socks[i])
        except OSError as e:
            results[i] = str(e).encode()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads: t.start()
    for t in threads: t.join(20)
    print(sum(1 for r in results if r and r.startswith(b"ok\n") and b"\npid: " in r))
elif mode == "idle":        # ctl.py SOCK idle FLAG: connect, touch FLAG, send nothing; print when closed
    s = connect(path)
    s.settimeout(30)
    open(sys.argv[3], "w").close()
    start = time.monotonic()
    data = read_all(s)
    print("closed after %.1f s with %d bytes" % (time.monotonic() - start, len(data)))
elif mode == "drip":        # ctl.py SOCK drip FLAG: send one byte a second, never a LF
    s = connect(path)
    open(sys.argv[3], "w").close()
    start = time.monotonic()
    try:
        while time.monotonic() - start < 30:
            s.sendall(b"x")
            time.sleep(1)
    except OSError:
        pass
    print("closed after %.1f s" % (time.monotonic() - start))
elif mode == "flood":       # ctl.py SOCK flood N: hold N idle connections, then one more request
    n = int(sys.argv[3])
    held = [connect(path) for _ in range(n)]
    time.sleep(0.5)
    try:
        sys.stdout.write(request(path, b"status\n", True).decode())
    finally:
        for s in held: s.close()
EOF

# ctl ARGS...: run the test client on $SOCK.
ctl() {
    timeout 30 "$PYTHON" "$T/ctl.py" "$SOCK" "$@"
}

# reply_is OUT STATUS LINE...: OUT starts with the STATUS line and holds
# every LINE (fixed string) as a whole line.
reply_is() {
    local out=$1 status=$2 line
    shift 2
    [ "$(head -n 1 <<<"$out")" = "$status" ] || return 1
    for line in "$@"; do
        grep -q -x -F -e "$line" <<<"$out" || return 1
    done
}

# check_reply DESC OUT STATUS LINE...: a test point for reply_is.
check_reply() {
    local desc=$1 out=$2
    shift 2
    if reply_is "$out" "$@"; then
        ok "$desc"
    else
        not_ok "$desc" "reply:" "$out"
    fi
}

write_config
start_sipedged || bail_out "sipedged did not start"

# ---- the socket
if [ -S "$SOCK" ]; then ok "the control socket exists"; else not_ok "the control socket exists" "$(ls -la "$T")"; fi
mode=$(stat -c %a "$SOCK" 2>&1)
if [ "$mode" = 660 ]; then ok "its mode is 0660"; else not_ok "its mode is 0660" "mode: $mode"; fi
check "'control socket open' logged with its path" \
    log_has module=ctl 'event="control socket open"' "path=$SOCK"

# An idle client from now on: it must not block anything, and is dropped
# after the 10 s request timeout.
idle_start=$(_now_ms)
"$PYTHON" "$T/ctl.py" "$SOCK" idle "$T/idle.flag" >"$T/idle.out" 2>&1 &
idle=$!
track_pid "$idle"
wait_file "$T/idle.flag" 5
# And one that sends a byte a second: the 10 s are for the whole line.
"$PYTHON" "$T/ctl.py" "$SOCK" drip "$T/drip.flag" >"$T/drip.out" 2>&1 &
drip=$!
track_pid "$drip"
wait_file "$T/drip.flag" 5

# ---- commands
out=$(ctl line help)
check_reply "help lists reload, status and help" "$out" ok \
    "$(grep '^reload ' <<<"$out")" "$(grep '^status ' <<<"$out")" "$(grep '^help ' <<<"$out")"
if [ "$(grep -c -E '^(reload|status|help) ' <<<"$out")" -eq 3 ]; then
    ok "help has one line for each of the three commands"
else
    not_ok "help has one line for each of the three commands" "$out"
fi

out=$(ctl line status)
check_reply "status: version, pid, config, temporary certificate" "$out" ok \
    "version: $("$SIPEDGED" -V | awk '{print $2}')" "pid: $SIPEDGED_PID" \
    "config: $CONF" "temporary: yes" "certificate: $T/state/temp-server.pem"
subject=$(openssl x509 -in "$T/state/temp-server.pem" -noout -subject -nameopt compat 2>/dev/null)
if grep -q -E '^subject: .*CN=localhost' <<<"$out" &&
    grep -q -E '^not_after: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<<"$out" &&
    grep -q -E '^(started|loaded_at): [0-9]{4}-' <<<"$out" &&
    grep -q -E '^uptime: [0-9]+ seconds?$' <<<"$out"; then
    ok "status: subject, not_after, started, loaded_at, uptime"
else
    not_ok "status: subject, not_after, started, loaded_at, uptime" "$out" "openssl: $subject"
fi
check_reply "status lists the temporary certificate as an alarm" "$out" ok \
    "alarms: temporary certificate in use"
check "the command is logged at debug (module=ctl, command=status, result=ok)" \
    log_has level=debug module=ctl 'event="command"' command=status result=ok

out=$(ctl line frobnicate now)
check_reply "an unknown command gets error naming it" "$out" error \
    "unknown command 'frobnicate': send help for the list"
out=$(ctl line "status please")
check_reply "status with arguments gets error" "$out" error "status takes no arguments"
out=$(ctl line "")
check_reply "an empty line gets error" "$out" error "empty request: send a command, e.g. help"
out=$(printf 'status\r\n' | timeout 10 "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
d = b""
while True:
    b = s.recv(4096)
    if not b: break
    d += b
sys.stdout.write(d.decode())' "$SOCK")
check_reply "CR LF is accepted as the end of the line" "$out" ok "pid: $SIPEDGED_PID"

# ---- the line limit: 4096 bytes with the LF.
out=$(ctl raw 4095 lf)
check_reply "a 4096-byte line (LF included) is read (unknown command)" "$out" error \
    "unknown command '$(printf 'x%.0s' {1..76})...': send help for the list"
out=$(ctl raw 4096 lf)
check_reply "a 4097-byte line gets error" "$out" error "request line longer than 4096 bytes"
out=$(ctl raw 100000)
check_reply "100000 bytes without LF get error, and the reply is not lost" "$out" error \
    "request line longer than 4096 bytes"
check "the oversized request is logged" \
    log_has module=ctl 'event="command refused"' 'result="line too long"'

# ---- reload
log_mark
out=$(ctl line reload)
check_reply "reload answers ok" "$out" ok "reloaded $CONF"
check "reload: 'reload started' trigger=\"control socket\", then 'reload ok'" \
    log_has module=conf 'event="reload started"' 'trigger="control socket"'
check "reload ok logged" log_has module=conf 'event="reload ok"'

n=$(insert_after "$CONF" '^sip: *\{' '  max_mesage_size = 4096;')
log_mark
out=$(ctl line reload)
logged=$(log_since_mark | sed -n 's/.*event="config error" error="\(.*\)"$/\1/p' | head -n 1)
check_reply "reload of a broken configuration answers error with the log's error line" \
    "$out" error "$logged" "reload failed: 1 error; still serving the previous configuration"
if grep -q -F "sipedge.conf:$n:" <<<"$logged"; then
    ok "the error names sipedge.conf:$n"
else
    not_ok "the error names sipedge.conf:$n" "logged: $logged" "reply: $out"
fi
check "the previous configuration still answers OPTIONS" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200
write_config

# ---- many clients, and a slow one
count=$(ctl many 40)
if [ "$count" = 40 ]; then
    ok "40 clients connected at once all get their status"
else
    not_ok "40 clients connected at once all get their status" "got: $count"
fi
# The client is dropped at 10 s: on a slow machine the commands above may
# already have taken that long, and then there is nothing left to judge.
if sipedged_alive && ! [ -s "$T/idle.out" ]; then
    ok "the idle client is still connected"
elif sipedged_alive && [ $(($(_now_ms) - idle_start)) -ge 9500 ]; then
    skip "the idle client is still connected" "the commands above took its whole 10 s"
else
    not_ok "the idle client is still connected" "$(cat "$T/idle.out")"
fi
start=$(_now_ms)
check "OPTIONS over TCP is answered while the idle client holds its connection" \
    sipclient tcp "$TCP_PORT" send:"$MSG/options.msg" expect:200
check "OPTIONS over TLS is answered too" \
    sipclient tls "$TLS_PORT" send:"$MSG/options.msg" expect:200
elapsed=$(($(_now_ms) - start))
if [ "$elapsed" -lt 3000 ]; then
    ok "both within 3 s (${elapsed} ms)"
else
    not_ok "both within 3 s" "took ${elapsed} ms"
fi
wait_pid "$idle" 15
idle_out=$(cat "$T/idle.out")
if grep -q -E '^closed after (9|10|11)\.[0-9] s with 0 bytes$' <<<"$idle_out"; then
    ok "the idle client is dropped after the 10 s timeout, without a reply"
else
    not_ok "the idle client is dropped after the 10 s timeout, without a reply" "$idle_out"
fi
wait_pid "$drip" 25
drip_out=$(cat "$T/drip.out")
if grep -q -E '^closed after (9|10|11|12)\.[0-9] s$' <<<"$drip_out"; then
    ok "a client sending a byte a second is dropped after 10 s too"
else
    not_ok "a client sending a byte a second is dropped after 10 s too" "$drip_out"
fi
# The whole log: on a slow machine the drop may come before the last mark.
LOG_MARK=0
check "'client dropped' logged with the reason" \
    log_has module=ctl 'event="client dropped"' 'result="no request in time"'

out=$(ctl flood 64)
check_reply "with 64 connections open, one more gets error" "$out" error \
    "too many control connections; try again"
check "the refused client is logged" log_has module=ctl 'event="client refused"'
out=$(ctl line status)
check_reply "once they are gone, status is answered again" "$out" ok "pid: $SIPEDGED_PID"

# ---- exit, crash, things in the way
check "SIGTERM: exit status 0" stop_sipedged
if [ -e "$SOCK" ]; then not_ok "the socket is removed at exit" "$(ls -la "$SOCK")"; else ok "the socket is removed at exit"; fi

start_sipedged || bail_out "sipedged did not start again"
old_pid=$SIPEDGED_PID
kill -KILL "$SIPEDGED_PID"
wait_pid "$SIPEDGED_PID" 5
SIPEDGED_PID=""
check "after SIGKILL the socket file is left behind" test -S "$SOCK"
check "a new start replaces the stale socket" start_sipedged
check "'stale control socket removed' logged" \
    log_has module=ctl 'event="stale control socket removed"' "path=$SOCK"
out=$(ctl line status)
check_reply "the new daemon answers on it" "$out" ok "pid: $SIPEDGED_PID"
[ "$SIPEDGED_PID" != "$old_pid" ] || diag "same pid as before?"
check "SIGTERM again" stop_sipedged

# A live socket of someone else: refused, left alone.
"$PYTHON" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
open(sys.argv[2], "w").close()
time.sleep(20)' "$SOCK" "$T/other.flag" &
other=$!
track_pid "$other"
wait_file "$T/other.flag" 5
out=$(timeout 20 "$SIPEDGED" -f -c "$CONF" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q -F "sipedged: not started: control socket $SOCK is in use by another process" <<<"$out"; then
    ok "a socket someone listens on refuses the start (exit 1, names it)"
else
    not_ok "a socket someone listens on refuses the start (exit 1, names it)" "exit $rc" "$out"
fi
check "and is left in place" test -S "$SOCK"
kill "$other" 2>/dev/null
wait "$other" 2>/dev/null
rm -f "$SOCK"

# A regular file in the way: refused, not removed.
echo "not a socket" >"$SOCK"
out=$(timeout 20 "$SIPEDGED" -f -c "$CONF" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q -F "control socket $SOCK exists and is not a socket" <<<"$out" &&
    [ "$(cat "$SOCK")" = "not a socket" ]; then
    ok "a regular file at the path refuses the start and is kept"
else
    not_ok "a regular file at the path refuses the start and is kept" "exit $rc" "$out"
fi
rm -f "$SOCK"

# A directory that does not exist yet is made (0750).
sed -i 's|control_socket = "sipedged.ctl";|control_socket = "run/ctl/sipedged.ctl";|' "$CONF"
SOCK="$T/run/ctl/sipedged.ctl"
check "start with control_socket in a missing directory" start_sipedged
dmode=$(stat -c %a "$T/run/ctl" 2>&1)
out=$(ctl line status)
if [ "$dmode" = 750 ] && reply_is "$out" ok "pid: $SIPEDGED_PID"; then
    ok "the directory is made with mode 0750 and the socket answers"
else
    not_ok "the directory is made with mode 0750 and the socket answers" "mode $dmode" "$out"
fi
check "SIGTERM a last time" stop_sipedged
