# shellcheck shell=bash
# shellcheck disable=SC2034  # globals are for the test scripts
# lib.sh: shared helpers for the sipedge integration tests.  Every test
# script sources it first:   . "$(dirname "$0")/lib.sh"
#
# Environment: SIPEDGED (absolute path of the daemon, default
# $top_builddir/src/sipedged), SIPEDGE_CERT and SIPEDGE_CTL (likewise), top_srcdir and top_builddir (absolute, default
# two levels above this file), KEEP_TMP (keep the private temp dir $T),
# PYTHON (default python3).  Output is TAP; see README.md for the helpers.

set -u

INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$INTEG_DIR/../.." && pwd)}"
: "${SIPEDGED:=${top_builddir:-$top_srcdir}/src/sipedged}"
: "${SIPEDGE_CERT:=${top_builddir:-$top_srcdir}/src/sipedge-cert}"
: "${SIPEDGE_CTL:=${top_builddir:-$top_srcdir}/src/sipedge-ctl}"
: "${PYTHON:=python3}"
DATA_DIR="$top_srcdir/tests/data"
MSG="$DATA_DIR/sip"                   # raw SIP message templates for sipclient
SIPCLIENT="$INTEG_DIR/sipclient.py"
SCENARIOS="$INTEG_DIR/scenarios"

T=$(mktemp -d "${TMPDIR:-/tmp}/sipedge-integ.XXXXXX") || {
    echo "Bail out! mktemp -d failed"
    exit 1
}
CONF="$T/sipedge.conf"                # written by write_config / shipped_config
LOG="$T/sipedged.log"                 # log.file of the generated configs
PIDFILE="$T/sipedged.pid"             # daemon.pid_file of the generated configs
CA="$T/state/temp-ca.pem"             # temporary CA made by the daemon
LOG_MARK=0                            # log searches start at this byte offset
SIPEDGED_PID=""
STOP_ELAPSED_MS=0                     # how long the last stop_sipedged took
LISTENERS=()                          # "transport address port" per listener

# Settings write_config uses; a test may change them before calling it.
CONF_MAX_MESSAGE_SIZE=65535
CONF_READ_TIMEOUT=3
CONF_HANDSHAKE_TIMEOUT=2
CONF_SHUTDOWN_GRACE=2
CONF_EXTRA_LISTEN=()                  # more "transport address port" triples

_PIDS=()
_TESTS_RUN=0
_TESTS_FAILED=0
_PLANNED=""
_SKIPPED_ALL=0
_BAILED=0

# ---------------------------------------------------------------- TAP

# diag LINE...: print each line of each argument as a TAP comment.
diag() {
    local arg line
    for arg in "$@"; do
        while IFS= read -r line; do
            case $line in
                "#"*) printf '%s\n' "$line" ;;
                *) printf '# %s\n' "$line" ;;
            esac
        done <<<"$arg"
    done
}

# plan N: announce N test points.
plan() {
    _PLANNED=$1
    echo "1..$1"
}

# ok DESC: report a passed test point.
ok() {
    _TESTS_RUN=$((_TESTS_RUN + 1))
    echo "ok $_TESTS_RUN - $1"
}

# not_ok DESC [DIAG...]: report a failed test point, with diagnostics.
not_ok() {
    _TESTS_RUN=$((_TESTS_RUN + 1))
    _TESTS_FAILED=$((_TESTS_FAILED + 1))
    echo "not ok $_TESTS_RUN - $1"
    shift
    [ $# -eq 0 ] || diag "$@"
}

# skip DESC REASON: report a skipped test point.
skip() {
    _TESTS_RUN=$((_TESTS_RUN + 1))
    echo "ok $_TESTS_RUN - $1 # SKIP $2"
}

# check DESC CMD...: run CMD (in this shell, so it may be a function that
# sets variables); ok if it exits 0, else not ok with the tail of its output.
check() {
    local desc=$1 rc
    shift
    "$@" >"$T/check.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc" "command failed (exit $rc): $*" "$(tail -n 30 "$T/check.out")"
    fi
    return "$rc"
}

# skip_all REASON: skip the whole script (call before plan).
skip_all() {
    _SKIPPED_ALL=1
    echo "1..0 # SKIP $1"
    exit 0
}

# bail_out REASON: abort the script; the test harness reports an error.
bail_out() {
    _BAILED=1
    echo "Bail out! $1"
    exit 1
}

# require_cmd CMD...: skip the whole script unless every CMD is installed.
require_cmd() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || skip_all "$cmd is not installed"
    done
}

# require_fds N: raise the descriptor limit to the hard one; skip the
# script when that leaves fewer than N.
require_fds() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null
    [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$1" ] ||
        skip_all "needs $1 descriptors (ulimit -Hn is $(ulimit -Hn))"
}

# rss_not_comparable: why sipedged's resident memory says nothing about
# its heap (a reason for skip), or nothing when it does: under
# AddressSanitizer every block carries redzones and a quarantine.
rss_not_comparable() {
    if nm "$SIPEDGED" 2>/dev/null | grep -q __asan_init ||
        ldd "$SIPEDGED" 2>/dev/null | grep -q libasan; then
        echo "sipedged is built with AddressSanitizer: RSS is not comparable"
    fi
}

# ---------------------------------------------------------------- cleanup

# track_pid PID: kill PID (TERM, then KILL) when the script exits.
track_pid() {
    _PIDS+=("$1")
}

# _pid_gone PID: true when PID no longer runs.
_pid_gone() {
    ! kill -0 "$1" 2>/dev/null
}

# _all_gone PID...: true when none of the PIDs runs.
_all_gone() {
    local pid
    for pid in "$@"; do
        _pid_gone "$pid" || return 1
    done
    return 0
}

# _kill_tracked: TERM every tracked PID, wait up to 5 s, then KILL the rest.
_kill_tracked() {
    local pid alive=()
    for pid in "${_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            alive+=("$pid")
        fi
    done
    [ ${#alive[@]} -gt 0 ] || return 0
    _poll 5 _all_gone "${alive[@]}" && return 0
    for pid in "${alive[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
}

# _dump_log: show the tail of the daemon's log and output on stderr.
_dump_log() {
    local f
    for f in "$LOG" "$T/sipedged.out"; do
        [ -s "$f" ] || continue
        echo "---- last lines of $f" >&2
        tail -n 40 "$f" | sed 's/^/| /' >&2
    done
}

# _finish: EXIT trap: kill our processes, summarize, remove $T.
_finish() {
    local rc=$?
    _kill_tracked
    if [ "$_SKIPPED_ALL" -eq 0 ] && [ "$_BAILED" -eq 0 ]; then
        if [ -z "$_PLANNED" ]; then
            diag "no plan was printed"
            rc=1
        elif [ "$_TESTS_RUN" -ne "$_PLANNED" ]; then
            diag "planned $_PLANNED tests but ran $_TESTS_RUN"
            rc=1
        fi
        if [ "$_TESTS_FAILED" -gt 0 ]; then
            diag "failed $_TESTS_FAILED of $_TESTS_RUN tests"
            rc=1
        fi
        # A sanitizer build reports on the daemon's stderr: that is a failure
        # of the whole script even when every test point passed.
        if grep -qE 'Sanitizer|runtime error:' "$T"/sipedged*.out 2>/dev/null; then
            diag "sanitizer report from sipedged:" "$(cat "$T"/sipedged*.out)"
            echo "Bail out! sanitizer report from sipedged"
            rc=1
        fi
    fi
    [ "$rc" -eq 0 ] || _dump_log
    if [ -n "${KEEP_TMP:-}" ]; then
        diag "kept temporary directory $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}

trap _finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$SIPEDGED" ] || bail_out "SIPEDGED=$SIPEDGED is not an executable file"

# ---------------------------------------------------------------- waiting

# _now_ms: wall clock in milliseconds.
_now_ms() {
    local us=${EPOCHREALTIME//[!0-9]/}
    echo $((us / 1000))
}

# _poll SECS CMD...: run CMD every 0.1 s until it succeeds (0) or SECS
# (an integer) have passed (1).
_poll() {
    local secs=$1 i=0 deadline
    shift
    deadline=$(($(_now_ms) + secs * 1000))
    while [ "$i" -le $((secs * 10)) ]; do
        "$@" && return 0
        [ "$(_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# log_mark: later log searches only see lines written from now on.
log_mark() {
    LOG_MARK=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
}

# log_since_mark: print the log written since the last log_mark.
log_since_mark() {
    tail -c +"$((LOG_MARK + 1))" "$LOG" 2>/dev/null
}

# log_grep PATTERN: true if a log line since the mark contains PATTERN (fixed).
log_grep() {
    log_since_mark | grep -F -q -e "$1"
}

# log_has FIELD...: true if one log line since the mark holds every FIELD as
# a whole logfmt field, e.g. log_has 'event="listener open"' port=5061.
log_has() {
    log_since_mark | awk '
        BEGIN { for (i = 1; i < ARGC; i++) f[i] = " " ARGV[i] " "; n = ARGC - 1; ARGC = 1 }
        { line = " " $0 " "
          for (i = 1; i <= n; i++) if (index(line, f[i]) == 0) next
          found = 1; exit }
        END { exit !found }' "$@"
}

# wait_for_log PATTERN [SECS]: wait (default 10 s) for a log line since the
# mark containing the fixed string PATTERN.
wait_for_log() {
    _poll "${2:-10}" log_grep "$1"
}

# wait_for_event [-t SECS] FIELD...: wait (default 10 s) until log_has FIELD...
wait_for_event() {
    local secs=10
    if [ "$1" = "-t" ]; then
        secs=$2
        shift 2
    fi
    _poll "$secs" log_has "$@"
}

# wait_pid PID SECS: wait up to SECS for child PID to exit and return its
# exit status; on timeout kill it and return 124.
wait_pid() {
    if _poll "$2" _pid_gone "$1"; then
        wait "$1"
        return $?
    fi
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 124
}

# wait_for_text FILE STRING [SECS]: wait (default 10 s) until FILE contains
# the fixed STRING (e.g. the output of a background sipclient).
wait_for_text() {
    _poll "${3:-10}" grep -q -F -e "$2" "$1" 2>/dev/null
}

# wait_file PATH [SECS]: wait (default 10 s) until PATH exists.
wait_file() {
    _poll "${2:-10}" test -e "$1"
}

# ---------------------------------------------------------------- ports

# free_port [ADDRESS]: print a port free for both TCP and UDP on ADDRESS
# (default 127.0.0.1), below the ephemeral range and never handed out twice
# in one test.
free_port() {
    "$PYTHON" - "${1:-127.0.0.1}" "$T/ports.used" <<'EOF'
import os, random, socket, sys
addr, used_file = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
used = set()
if os.path.exists(used_file):
    used = {int(p) for p in open(used_file).read().split()}
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768

def try_port(port):
    """Bind TCP then UDP on port (0: any); return the port or None."""
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(family, kind)
            socks.append(s)
            s.bind((addr, port))
            port = s.getsockname()[1]
        return port
    except OSError:
        return None
    finally:
        for s in socks:
            s.close()

candidates = [random.randrange(20000, low) for _ in range(200)] if low > 21000 else []
for port in candidates + [0] * 50:
    got = try_port(port)
    if got and got not in used:
        with open(used_file, "a") as f:
            f.write("%d\n" % got)
        print(got)
        sys.exit(0)
sys.exit("free_port: no free port found")
EOF
}

# have_ipv6_loopback: true if ::1 can be bound.
have_ipv6_loopback() {
    "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# port_refused HOST PORT: true if a TCP connection to HOST:PORT is refused.
port_refused() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(3)
try:
    s.connect((host, port))
except ConnectionRefusedError:
    sys.exit(0)
except OSError as e:
    sys.exit("connect: %s" % e)
sys.exit("connection to %s:%d was accepted" % (host, port))
EOF
}

# ---------------------------------------------------------------- configs

# _listen_entry TRANSPORT ADDRESS PORT: print one libconfig listen entry.
_listen_entry() {
    printf '  { transport = "%s"; address = "%s"; port = %s; }' "$1" "$2" "$3"
}

# write_config [FILE]: write a test configuration (default $CONF) whose
# relative paths point into $T.  Picks TLS_PORT and SIP_PORT if unset; the
# TCP and UDP listeners use TCP_PORT and UDP_PORT, default SIP_PORT.  Uses the
# CONF_* settings; sets LISTENERS.
write_config() {
    local file=${1:-$CONF} entry
    : "${TLS_PORT:=$(free_port)}"
    : "${SIP_PORT:=$(free_port)}"
    : "${TCP_PORT:=$SIP_PORT}"
    : "${UDP_PORT:=$SIP_PORT}"
    LISTENERS=("tls 127.0.0.1 $TLS_PORT" "tcp 127.0.0.1 $TCP_PORT" "udp 127.0.0.1 $UDP_PORT")
    LISTENERS+=("${CONF_EXTRA_LISTEN[@]}")
    mkdir -p "$T/zones" "$T/state"
    {
        cat <<EOF
# Written by tests/integ/lib.sh write_config.
node: {
  fqdn = "localhost";
};
daemon: {
  state_dir = "state";
  pid_file = "sipedged.pid";
  zones_dir = "zones";
  control_socket = "sipedged.ctl";
  shutdown_grace = $CONF_SHUTDOWN_GRACE;
};
log: {
  level = "debug";
  file = "sipedged.log";
};
sip: {
  max_message_size = $CONF_MAX_MESSAGE_SIZE;
  read_timeout = $CONF_READ_TIMEOUT;
  idle_timeout = 3600;
};
tls: {
  handshake_timeout = $CONF_HANDSHAKE_TIMEOUT;
  min_version = "1.2";
  security_level = 2;
};
listen = (
EOF
        local n=${#LISTENERS[@]} i=0 tr addr port
        for entry in "${LISTENERS[@]}"; do
            read -r tr addr port <<<"$entry"
            i=$((i + 1))
            _listen_entry "$tr" "$addr" "$port"
            [ "$i" -eq "$n" ] && echo || echo ","
        done
        echo ");"
    } >"$file"
}

# shipped_config [FILE]: copy $top_srcdir/conf/sipedge.conf to FILE (default
# $CONF) with ports TLS_PORT (5061) and SIP_PORT (5060), and state_dir,
# pid_file, zones_dir, control_socket and the log file (level debug) inside
# $T.  Sets LISTENERS and CONF_SHUTDOWN_GRACE from the file.
shipped_config() {
    local file=${1:-$CONF}
    : "${TLS_PORT:=$(free_port)}"
    : "${SIP_PORT:=$(free_port)}"
    TCP_PORT=$SIP_PORT
    UDP_PORT=$SIP_PORT
    LISTENERS=("tls 127.0.0.1 $TLS_PORT" "tcp 127.0.0.1 $SIP_PORT" "udp 127.0.0.1 $SIP_PORT")
    mkdir -p "$T/zones" "$T/state"
    sed -e "s/port = 5061;/port = $TLS_PORT;/" \
        -e "s/port = 5060;/port = $SIP_PORT;/" \
        -e 's/level = "info";/level = "debug";/' \
        -e '/^daemon: *{/a\  state_dir = "state";' \
        -e '/^daemon: *{/a\  pid_file = "sipedged.pid";' \
        -e '/^daemon: *{/a\  zones_dir = "zones";' \
        -e '/^daemon: *{/a\  control_socket = "sipedged.ctl";' \
        -e '/^log: *{/a\  file = "sipedged.log";' \
        "$top_srcdir/conf/sipedge.conf" >"$file" || return 1
    # Make sure every substitution applied: the shipped file may change.
    if grep -q "port = $TLS_PORT;" "$file" &&
        [ "$(grep -c "port = $SIP_PORT;" "$file")" -eq 2 ] &&
        grep -q '^ *state_dir = "state";' "$file" &&
        grep -q '^ *file = "sipedged.log";' "$file"; then
        CONF_SHUTDOWN_GRACE=$(sed -n 's/^ *shutdown_grace *= *\([0-9]*\);.*/\1/p' "$file")
        : "${CONF_SHUTDOWN_GRACE:=5}"
        return 0
    fi
    diag "shipped_config: $top_srcdir/conf/sipedge.conf no longer has the expected layout"
    return 1
}

# insert_after FILE REGEX TEXT: insert the line TEXT after the first line
# matching REGEX (ERE) and print the new line's number.
insert_after() {
    local tmp="$1.tmp" n
    n=$(grep -n -E -m 1 -e "$2" "$1" | cut -d: -f1)
    [ -n "$n" ] || {
        echo "insert_after: no line matches $2 in $1" >&2
        return 1
    }
    { head -n "$n" "$1" && printf '%s\n' "$3" && tail -n +"$((n + 1))" "$1"; } >"$tmp" &&
        mv "$tmp" "$1" && echo $((n + 1))
}

# line_of FILE STRING: print the number of the first line containing STRING.
line_of() {
    grep -n -F -m 1 -e "$2" "$1" | cut -d: -f1
}

# ---------------------------------------------------------------- daemon

if env --default-signal=INT true 2>/dev/null; then
    # Background jobs of a non-interactive shell start with SIGINT ignored.
    # shellcheck disable=SC2054  # the comma belongs to the option
    _RESET_SIGNALS=(env --default-signal=INT,QUIT)
else
    _RESET_SIGNALS=()
fi

# check_config [FILE]: run sipedged -t on FILE (default $CONF); print its output.
check_config() {
    timeout 20 "$SIPEDGED" -t -c "${1:-$CONF}" 2>&1
}

# _listeners_open_or_dead: true once every listener is logged open, or the
# daemon has died.
_listeners_open_or_dead() {
    local entry tr addr port
    _pid_gone "$SIPEDGED_PID" && return 0
    for entry in "${LISTENERS[@]}"; do
        read -r tr addr port <<<"$entry"
        log_has 'event="listener open"' "transport=$tr" "address=$addr" "port=$port" ||
            log_has 'event="listener open"' "transport=$tr" "address=[$addr]" "port=$port" ||
            return 1
    done
}

# start_sipedged [FILE]: check FILE (default $CONF) with -t, start the daemon
# in the foreground in the background and wait up to 15 s for its listener
# open lines.  Sets SIPEDGED_PID.  Returns 1 (with diagnostics) on failure.
start_sipedged() {
    local conf=${1:-$CONF} out
    if ! out=$(check_config "$conf") || ! grep -q -F "configuration OK" <<<"$out"; then
        diag "sipedged -t -c $conf failed:" "$out"
        return 1
    fi
    log_mark
    "${_RESET_SIGNALS[@]}" "$SIPEDGED" -f -c "$conf" >>"$T/sipedged.out" 2>&1 </dev/null &
    SIPEDGED_PID=$!
    track_pid "$SIPEDGED_PID"
    if ! _poll 15 _listeners_open_or_dead; then
        diag "sipedged did not log all its listeners open within 15 s"
        return 1
    fi
    if _pid_gone "$SIPEDGED_PID"; then
        wait "$SIPEDGED_PID"
        diag "sipedged exited at start with status $?"
        SIPEDGED_PID=""
        return 1
    fi
    return 0
}

# stop_sipedged [SIGNAL] [SECS]: send SIGNAL (default TERM), wait up to SECS
# (default shutdown_grace + 5) and return the daemon's exit status (124 if it
# had to be killed).  Sets STOP_ELAPSED_MS.
stop_sipedged() {
    local sig=${1:-TERM} secs=${2:-$((CONF_SHUTDOWN_GRACE + 5))} start rc
    [ -n "$SIPEDGED_PID" ] || {
        diag "stop_sipedged: sipedged is not running"
        return 1
    }
    start=$(_now_ms)
    kill -s "$sig" "$SIPEDGED_PID" 2>/dev/null
    wait_pid "$SIPEDGED_PID" "$secs"
    rc=$?
    STOP_ELAPSED_MS=$(($(_now_ms) - start))
    SIPEDGED_PID=""
    return "$rc"
}

# sipedged_alive: true while the daemon started last runs.
sipedged_alive() {
    [ -n "$SIPEDGED_PID" ] && kill -0 "$SIPEDGED_PID" 2>/dev/null
}

# ---------------------------------------------------------------- clients

# sipp_options TRANSPORT HOST PORT: send one OPTIONS with SIPp over udp or
# tcp to HOST:PORT and expect 200; returns SIPp's exit status (0 on success).
sipp_options() {
    local transport=$1 host=$2 port=$3 mode lport remote base rc f
    case $transport in
        udp) mode=u1 ;;
        tcp) mode=t1 ;;
        *)
            echo "sipp_options: SIPp here has no $transport; use start_stunnel_client" >&2
            return 2
            ;;
    esac
    case $host in
        *:*) remote="[$host]:$port" ;;
        *) remote="$host:$port" ;;
    esac
    lport=$(free_port "$host") || return 2
    base=$(mktemp "$T/sipp.XXXXXX") || return 2
    (cd "$T" && timeout 30 sipp "$remote" -sf "$SCENARIOS/options.xml" \
        -t "$mode" -i "$host" -p "$lport" -m 1 \
        -timeout 10s -timeout_error -recv_timeout 5s -max_recv_loops 100 \
        -default_behaviors all,-bye \
        -nostdin -trace_err -error_file "$base.errors" \
        -trace_msg -message_file "$base.messages") >"$base.out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "sipp to $transport $remote exited with $rc"
        tail -n 5 "$base.out"
        for f in "$base.errors" "$base.messages"; do
            [ -s "$f" ] && tail -n 30 "$f"
        done
    fi
    return "$rc"
}

# start_stunnel_client [TLS_PORT] [CAFILE]: start stunnel4 in client mode,
# accepting plain TCP on 127.0.0.1:$STUNNEL_PORT and connecting with TLS
# (chain and host name localhost verified) to 127.0.0.1:TLS_PORT.
start_stunnel_client() {
    local target=${1:-$TLS_PORT} ca=${2:-$CA} bin
    bin=$(command -v stunnel4 || command -v stunnel) || {
        echo "stunnel4 is not installed" >&2
        return 1
    }
    STUNNEL_PORT=$(free_port) || return 1
    rm -f "$T/stunnel.pid"
    cat >"$T/stunnel.conf" <<EOF
; Written by tests/integ/lib.sh start_stunnel_client.
foreground = no
pid = $T/stunnel.pid
output = $T/stunnel.log
debug = info

[sip-tls]
client = yes
accept = 127.0.0.1:$STUNNEL_PORT
connect = 127.0.0.1:$target
CAfile = $ca
verifyChain = yes
checkHost = localhost
sni = localhost
EOF
    if ! timeout 10 "$bin" "$T/stunnel.conf" </dev/null >>"$T/stunnel.log" 2>&1 ||
        ! _poll 5 test -s "$T/stunnel.pid"; then
        echo "stunnel did not start:" >&2
        tail -n 20 "$T/stunnel.log" >&2
        return 1
    fi
    STUNNEL_PID=$(tr -dc 0-9 <"$T/stunnel.pid")
    track_pid "$STUNNEL_PID"
}

# stop_stunnel: stop the stunnel started by start_stunnel_client.
stop_stunnel() {
    [ -n "${STUNNEL_PID:-}" ] || return 0
    kill -TERM "$STUNNEL_PID" 2>/dev/null
    _poll 5 _pid_gone "$STUNNEL_PID" || kill -KILL "$STUNNEL_PID" 2>/dev/null
    STUNNEL_PID=""
}

# sipclient TRANSPORT PORT [OPTION|STEP...]: run sipclient.py against
# 127.0.0.1:PORT (TLS verified against $CA), bounded by a 60 s timeout.
sipclient() {
    local transport=$1 port=$2
    shift 2
    local tls=()
    [ "$transport" = tls ] && tls=(--cafile "$CA")
    timeout 60 "$PYTHON" "$SIPCLIENT" --transport "$transport" --port "$port" "${tls[@]}" "$@"
}

# ctl_cmd COMMAND [SOCKET]: send one command to the daemon's control socket
# (default $T/sipedged.ctl, as write_config sets it) and print the reply.
ctl_cmd() {
    timeout 15 "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("utf-8", "replace"))' "${2:-$T/sipedged.ctl}" "$1"
}

# statuses FILE: print the status codes of the RECV lines of sipclient output.
statuses() {
    awk '$1 == "RECV" { printf "%s%s", sep, $3; sep = " " } END { print "" }' "$1"
}

# closed_after FILE: print the seconds of the CLOSED line of sipclient output.
closed_after() {
    awk '$1 == "CLOSED" { print $2; exit }' "$1"
}

# between X LOW HIGH: true if the decimal X lies in [LOW, HIGH].
between() {
    awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'
}

# make_garbage FILE: write 512 fixed binary bytes (0x00..0xff twice; no CRLF
# CRLF in them) to FILE.
make_garbage() {
    "$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 2)' >"$1"
}
