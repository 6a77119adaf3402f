# shellcheck shell=bash
# shellcheck disable=SC2034  # globals are for the test scripts
# sipplib.sh: SIP calls end to end with SIPp, and stunnel4 on every TLS leg
# (Debian's SIPp has no TLS).  Source it after lib.sh (and pkilib.sh):
#
#   SIPp UAC --TCP--> stunnel client front --TLS--> proxy
#   proxy --TLS--> stunnel server front --TCP--> SIPp UAS
#
# Every process is started in the background with its PID tracked
# (track_pid), and bounded: stunnel until the script ends, SIPp by its own
# -timeout.  Files go to $T: stunnel-NAME.{conf,log}, sipp-NAME.{out,csv,
# errors,messages,screen}.  The scenarios are in tests/sipp ($SIPP_DIR).
#
#   tls_front_client NAME PORT HOST TLSPORT CAFILE [CERT KEY]
#       TCP on $UAC_IP:PORT -> TLS to HOST:TLSPORT from source address
#       $UAC_IP (stunnel `local`), verifying the chain against CAFILE and,
#       when HOST is an IP address, that the certificate names it; CERT/KEY
#       is the client certificate presented.
#   tls_front_server NAME IP TLSPORT TCPPORT CERT KEY [CAFILE]
#       TLS on IP:TLSPORT -> TCP to IP:TCPPORT; with CAFILE the client
#       must present a certificate that chains to it.
#   stop_front NAME
#   sipp_uas NAME IP PORT FRONT SCENARIO [SIPP-ARGS...]
#       a SIPp UAS (TCP, one socket per connection) on IP:PORT in the
#       background, for $SIPP_UAS_TIMEOUT s at most; FRONT (HOST:PORT of
#       its TLS front) is the scenario key front, for its Contact.
#   sipp_uas_stop NAME      SIGUSR1 (SIPp ends gracefully), wait, exit status
#   sipp_uac NAME CALLS SCENARIO MODE HOST PORT [SIPP-ARGS...]
#       CALLS calls from $UAC_IP to HOST:PORT (MODE t1, tn, u1) in the
#       foreground, bounded by $SIPP_TIMEOUT s; sets SIPP_RC[NAME].
#   sipp_calls NAME         print "SUCCESSFUL FAILED" from SIPp's statistics
#   sipp_passed NAME CALLS  true if the run exited 0 with CALLS successful
#                           calls and none failed; else says why (for check)
#   sipp_expect_scenario STATUS [MAXFWD]   print the path of a copy of
#                           uac_expect.xml for that final status
#   sipp_wait_calls NAME N [SECS]   wait until a running SIPp counted N
#                           successful calls

SIPP_DIR="$INTEG_DIR/../sipp"
: "${UAC_IP:=127.0.0.3}"              # source address of the calling side
: "${SIPP_TIMEOUT:=20}"               # bound of one sipp_uac run, seconds
: "${SIPP_UAS_TIMEOUT:=150}"          # bound of one sipp_uas process, seconds (a loaded machine runs the longer tests past 80)
declare -gA SIPP_PID=() SIPP_RC=() FRONT_PID=()

# _stunnel_bin: print the stunnel4 binary.
_stunnel_bin() {
    command -v stunnel4 || command -v stunnel
}

# _hexaddr IP PORT: print IP:PORT as /proc/net/{tcp,udp} writes it.
_hexaddr() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$2"
}

# listening PROTO IP PORT: true if a socket is bound to IPv4 IP:PORT
# (PROTO tcp: in LISTEN state; udp: bound).
listening() {
    local addr
    addr=$(_hexaddr "$2" "$3")
    case $1 in
        tcp) awk -v a="$addr" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp ;;
        udp) awk -v a="$addr" '$2 == a { f = 1 } END { exit !f }' /proc/net/udp ;;
        *) return 2 ;;
    esac
}

# _start_stunnel NAME IP PORT: run $T/stunnel-NAME.conf in the foreground
# in the background, wait until it listens on IP:PORT; sets FRONT_PID[NAME].
_start_stunnel() {
    local name=$1 bin pid
    bin=$(_stunnel_bin) || {
        echo "stunnel4 is not installed" >&2
        return 1
    }
    "$bin" "$T/stunnel-$name.conf" </dev/null >>"$T/stunnel-$name.log" 2>&1 &
    pid=$!
    track_pid "$pid"
    FRONT_PID[$name]=$pid
    if ! _poll 5 listening tcp "$2" "$3" || _pid_gone "$pid"; then
        echo "stunnel $name does not listen on $2:$3:" >&2
        tail -n 20 "$T/stunnel-$name.log" >&2
        return 1
    fi
}

# tls_front_client NAME PORT HOST TLSPORT CAFILE [CERT KEY]: see the top.
tls_front_client() {
    local name=$1 port=$2 host=$3 tlsport=$4 ca=$5 cert=${6:-} key=${7:-}
    {
        echo "; tls_front_client $name (tests/integ/sipplib.sh)"
        echo "foreground = yes"
        echo "debug = info"
        echo "syslog = no"
        echo "[$name]"
        echo "client = yes"
        echo "accept = $UAC_IP:$port"
        echo "connect = $host:$tlsport"
        echo "local = $UAC_IP"
        echo "CAfile = $ca"
        echo "verifyChain = yes"
        case $host in
            *[!0-9.]*) echo "checkHost = $host" ;;
            *) echo "checkIP = $host" ;;
        esac
        if [ -n "$cert" ]; then
            echo "cert = $cert"
            echo "key = $key"
        fi
    } >"$T/stunnel-$name.conf"
    _start_stunnel "$name" "$UAC_IP" "$port"
}

# tls_front_server NAME IP TLSPORT TCPPORT CERT KEY [CAFILE]: see the top.
tls_front_server() {
    local name=$1 ip=$2 tlsport=$3 tcpport=$4 cert=$5 key=$6 ca=${7:-}
    {
        echo "; tls_front_server $name (tests/integ/sipplib.sh)"
        echo "foreground = yes"
        echo "debug = info"
        echo "syslog = no"
        echo "[$name]"
        echo "accept = $ip:$tlsport"
        echo "connect = $ip:$tcpport"
        echo "local = $ip"
        echo "cert = $cert"
        echo "key = $key"
        if [ -n "$ca" ]; then
            echo "CAfile = $ca"
            echo "requireCert = yes"
            echo "verifyChain = yes"
        fi
    } >"$T/stunnel-$name.conf"
    _start_stunnel "$name" "$ip" "$tlsport"
}

# stop_front NAME: stop a stunnel front.
stop_front() {
    local pid=${FRONT_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    _poll 5 _pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    FRONT_PID[$1]=""
}

# _sipp_files NAME: the SIPp options that put its traces in $T.
_sipp_files() {
    local b="$T/sipp-$1"
    rm -f "$b".csv "$b".errors "$b".messages "$b".screen
    printf '%s\n' -trace_stat -stf "$b.csv" -fd 1 -trace_err -error_file "$b.errors" \
        -trace_msg -message_file "$b.messages" -trace_screen -screen_file "$b.screen"
}

# sipp_uas NAME IP PORT FRONT SCENARIO [SIPP-ARGS...]: see the top.
sipp_uas() {
    local name=$1 ip=$2 port=$3 front=$4 sf=$5 pid files
    shift 5
    case $sf in /*) ;; *) sf="$SIPP_DIR/$sf" ;; esac
    mapfile -t files < <(_sipp_files "$name")
    (cd "$T" && exec sipp -sf "$sf" -t t1 -i "$ip" -p "$port" -key front "$front" \
        -timeout "${SIPP_UAS_TIMEOUT}s" -nostdin -default_behaviors all,-bye \
        "${files[@]}" "$@") >"$T/sipp-$name.out" 2>&1 </dev/null &
    pid=$!
    track_pid "$pid"
    SIPP_PID[$name]=$pid
    if ! _poll 5 listening tcp "$ip" "$port" || _pid_gone "$pid"; then
        echo "sipp $name does not listen on $ip:$port:" >&2
        tail -n 5 "$T/sipp-$name.out" >&2
        return 1
    fi
}

# sipp_uas_stop NAME: end a SIPp UAS gracefully (SIGUSR1: it writes its
# statistics and exits); set SIPP_RC[NAME] and return it.
sipp_uas_stop() {
    local pid=${SIPP_PID[$1]:-} rc
    [ -n "$pid" ] || return 1
    kill -USR1 "$pid" 2>/dev/null
    wait_pid "$pid" 10
    rc=$?
    SIPP_RC[$1]=$rc
    SIPP_PID[$1]=""
    return "$rc"
}

# sipp_uac NAME CALLS SCENARIO MODE HOST PORT [SIPP-ARGS...]: see the top.
# The local port is free_port $UAC_IP.
sipp_uac() {
    local name=$1 calls=$2 sf=$3 mode=$4 host=$5 port=$6 lport files rc
    shift 6
    case $sf in /*) ;; *) sf="$SIPP_DIR/$sf" ;; esac
    lport=$(free_port "$UAC_IP") || return 2
    mapfile -t files < <(_sipp_files "$name")
    (cd "$T" && exec timeout $((SIPP_TIMEOUT + 10)) sipp "$host:$port" -sf "$sf" \
        -t "$mode" -i "$UAC_IP" -p "$lport" -m "$calls" -l 10 -r 20 \
        -timeout "${SIPP_TIMEOUT}s" -timeout_error -nostdin \
        -default_behaviors all,-bye "${files[@]}" "$@") >"$T/sipp-$name.out" 2>&1 </dev/null
    rc=$?
    SIPP_RC[$name]=$rc
    return "$rc"
}

# sipp_calls NAME: print "SUCCESSFUL FAILED" (cumulative) from the last
# line of SIPp's statistics file.
sipp_calls() {
    awk -F';' '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i }; next }
        { ok = $s; ko = $f }
        END { if (!s || !f || ok == "") exit 1; print ok + 0, ko + 0 }' "$T/sipp-$1.csv" 2>/dev/null
}

# sipp_wait_calls NAME N [SECS]: wait (default 10 s) until SIPp NAME has
# counted N successful calls.
sipp_wait_calls() {
    _poll "${3:-10}" eval "read -r s _ < <(sipp_calls '$1') && [ \"\$s\" -ge $2 ]"
}

# sipp_report NAME: print what went wrong in SIPp run NAME.
sipp_report() {
    local b="$T/sipp-$1" f
    echo "sipp $1: exit ${SIPP_RC[$1]:-?}, calls (successful failed): $(sipp_calls "$1" || echo none)"
    tail -n 5 "$b.out"
    for f in "$b.errors" "$b.messages"; do
        [ -s "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }
    done
    return 0
}

# sipp_passed NAME CALLS: true if SIPp run NAME exited 0 and counted CALLS
# successful calls and no failed one; else print why and return 1.
sipp_passed() {
    local s f
    read -r s f < <(sipp_calls "$1")
    if [ "${SIPP_RC[$1]:-x}" = 0 ] && [ "${s:-x}" = "$2" ] && [ "${f:-x}" = 0 ]; then
        return 0
    fi
    echo "expected $2 calls, 0 failed"
    sipp_report "$1"
    return 1
}

# sipp_expect_scenario STATUS [MAXFWD]: write $T/uac_expect_STATUS[_MAXFWD].xml
# from uac_expect.xml (Max-Forwards MAXFWD, default 70) and print its path.
sipp_expect_scenario() {
    local out="$T/uac_expect_$1${2:+_$2}.xml"
    sed -e "s/@STATUS@/$1/g" -e "s/@MAXFWD@/${2:-70}/g" "$SIPP_DIR/uac_expect.xml" >"$out" &&
        echo "$out"
}
