# shellcheck shell=bash
# shellcheck disable=SC2034  # globals are for the test scripts
# kamlib.sh: Kamailio (Debian packages kamailio, kamailio-tls-modules) as a
# real SIP proxy on loopback for the integration tests, with mutual TLS.
# Source it after lib.sh and pkilib.sh (and pki_setup: certificates come
# from $P), then:
#
#   kam_start NAME IP TLS_PORT TCP_PORT CERT DEST [FROM_IP=DEST...]
#       write $T/kam-NAME/{kamailio.cfg,tls.cfg} and start Kamailio in the
#       foreground (-DD -E), under `timeout`, tracked by PID.  It listens on
#       tls:IP:TLS_PORT and tcp:IP:TCP_PORT and presents $P/CERT.chain
#       (key $P/CERT.key) both as TLS server and as TLS client; it trusts
#       $KAM_CA (default $P/root.pem) and demands a valid certificate from
#       every TLS peer, in both directions (verify_certificate and
#       require_certificate).  Routing: Max-Forwards (483), in-dialog
#       requests by loose_route, CANCEL and ACK matched to their
#       transaction, every new request record-routed (double Record-Route
#       when it changes transport) and relayed statefully (t_relay) to the
#       SIP URI DEST, e.g. "sip:127.0.0.1:5061;transport=tls", or to the
#       DEST of the first FROM_IP=DEST whose address is the request's
#       source.  Sets KAM_PID_NAME.  Returns 1 with diagnostics on failure.
#   kam_stop NAME       stop it (TERM, then KILL after 5 s)
#   kam_log NAME        print its log ($T/kam-NAME/kamailio.log)
#
# Kamailio checks the peer's chain, not its name (see TESTING.md).

: "${KAMAILIO:=$(command -v kamailio || echo /usr/sbin/kamailio)}"
: "${KAM_MODULES:=$(for d in /usr/lib/*/kamailio/modules /usr/lib/kamailio/modules; do
    [ -f "$d/tls.so" ] && echo "$d" && break
done)}"
KAM_TIMEOUT=${KAM_TIMEOUT:-120}       # Kamailio is killed after this many seconds

# kam_available: true when kamailio and its tls module are installed.
kam_available() {
    [ -x "$KAMAILIO" ] && [ -n "$KAM_MODULES" ] && [ -f "$KAM_MODULES/tls.so" ]
}

# _kam_write_tls FILE CERT CA: write Kamailio's tls.cfg (mutual TLS both ways).
_kam_write_tls() {
    local side
    {
        echo "# Written by tests/integ/kamlib.sh."
        for side in server client; do
            cat <<EOF
[$side:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
verify_depth = 3
certificate = $P/$2.chain
private_key = $P/$2.key
ca_list = $3

EOF
        done
    } >"$1"
}

# _kam_write_cfg DIR IP TLS_PORT TCP_PORT DEST [FROM_IP=DEST...]: write
# kamailio.cfg in DIR from contrib/kamailio-relay.cfg.
_kam_write_cfg() {
    local dir=$1 ip=$2 tls_port=$3 tcp_port=$4 dest=$5 pair cfg listen by=""
    shift 5
    cfg=$(<"$top_srcdir/contrib/kamailio-relay.cfg") || return 1
    # Outgoing TCP and TLS connections start from IP too (otherwise the
    # kernel picks 127.0.0.1), so that the peer can tell who is calling.
    listen="listen=tls:$ip:$tls_port
listen=tcp:$ip:$tcp_port
tcp_source_ipv4=$ip"
    for pair in "$@"; do
        # shellcheck disable=SC2016  # $si and $du are Kamailio's
        by+=$(printf '    if ($si == "%s") {\n        $du = "%s";\n        route(RELAY);\n    }\n' \
            "${pair%%=*}" "${pair#*=}")$'\n'
    done
    # Quoted replacements: bash 5.2 would otherwise read & in them.
    cfg=${cfg//@LISTEN@/"$listen"}
    cfg=${cfg//@MPATH@/"$KAM_MODULES"}
    cfg=${cfg//@DIR@/"$dir"}
    cfg=${cfg//@BY_SOURCE@/"${by%$'\n'}"}
    cfg=${cfg//@DEST@/"$dest"}
    printf '%s\n' "$cfg" >"$dir/kamailio.cfg"
}

# _kam_listening IP PORT: true once something accepts TCP on IP:PORT.
_kam_listening() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# kam_start NAME IP TLS_PORT TCP_PORT CERT DEST [FROM_IP=DEST...]: see above.
kam_start() {
    local name=$1 ip=$2 tls_port=$3 tcp_port=$4 cert=$5 dest=$6 dir pid out
    shift 6
    dir=$T/kam-$name
    mkdir -p "$dir"
    _kam_write_tls "$dir/tls.cfg" "$cert" "${KAM_CA:-$P/root.pem}"
    _kam_write_cfg "$dir" "$ip" "$tls_port" "$tcp_port" "$dest" "$@"
    if ! out=$(timeout 20 "$KAMAILIO" -A WITH_XLOG -c -f "$dir/kamailio.cfg" -Y "$dir" 2>&1); then
        diag "kamailio -c rejects $dir/kamailio.cfg:" "$(tail -n 20 <<<"$out")"
        return 1
    fi
    # -DD: the main process stays in the foreground (its children are
    # killed with it); -E: log to stderr; -Y: runtime files in $dir.
    timeout -s KILL "$KAM_TIMEOUT" "$KAMAILIO" -A WITH_XLOG -DD -E -f "$dir/kamailio.cfg" -Y "$dir" \
        -P "$dir/kamailio.pid" -m 32 -M 4 -x tlsf -w "$dir" \
        >"$dir/kamailio.log" 2>&1 </dev/null &
    pid=$!
    track_pid "$pid"
    eval "KAM_PID_$name=$pid"
    if ! _poll 10 _kam_listening "$ip" "$tcp_port" || ! _poll 5 _kam_listening "$ip" "$tls_port"; then
        diag "kamailio $name did not listen on $ip:$tcp_port and $ip:$tls_port within 15 s:" \
            "$(tail -n 20 "$dir/kamailio.log")"
        return 1
    fi
    if _pid_gone "$pid"; then
        diag "kamailio $name exited at start:" "$(tail -n 20 "$dir/kamailio.log")"
        return 1
    fi
    return 0
}

# kam_stop NAME: stop the Kamailio started as NAME and wait for it.
kam_stop() {
    local var="KAM_PID_$1" pid
    pid=${!var:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    _poll 5 _pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    eval "KAM_PID_$1="
}

# kam_log NAME: print the log of the Kamailio started as NAME.
kam_log() {
    cat "$T/kam-$1/kamailio.log" 2>/dev/null
}
