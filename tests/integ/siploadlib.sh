# shellcheck shell=bash
# shellcheck disable=SC2034  # globals are for the test scripts
# siploadlib.sh: the benchmark's set-up (contrib/bench/bench_kamailio.py)
# for the integration tests that drive sipedged with contrib/bench/sipload:
#
#   sipload uac 127.0.0.3 --TLS--> sipedged 127.0.0.1 --TLS--> sipload uas 127.0.0.2
#
# Source it after lib.sh, then:
#
#   sl_pki              a lab CA in $T/ca (sipedge-cert lab-ca) and ECDSA
#                       certificates $T/{proxy,uas,uac}{-chain.pem,.key}
#                       for 127.0.0.1, .2 and .3
#   sl_config [LINES]   write sipedged's configuration: its TLS identity
#                       and the lab CA as trust (plus LINES in the tls
#                       group), the default zone demanding client
#                       certificates, one TLS neighbor zone "uas"
#                       (127.0.0.2:$UAS_PORT) and one search rule to it
#   sl_start_uas SECS   start the sipload UAS for SECS seconds, tracked by
#                       PID (UAS_PID), and wait until it listens
#
# Skips the whole script when sipload is not built.  Sets SIPLOAD.

SIPLOAD=${top_builddir:-$top_srcdir}/contrib/bench/sipload
[ -x "$SIPLOAD" ] || skip_all "contrib/bench/sipload is not built (make check builds it)"

# ca ARGS...: sipedge-cert lab-ca ARGS in $T/ca, or bail out.
ca() {
    "$SIPEDGE_CERT" lab-ca "$@" --dir "$T/ca" >>"$T/labca.out" 2>&1 ||
        bail_out "sipedge-cert lab-ca $1 failed: $(tail -n 5 "$T/labca.out")"
}

sl_pki() {
    ca init
    ca issue --cn 127.0.0.1 --san localhost --out "$T/proxy"
    ca issue --cn 127.0.0.2 --out "$T/uas"
    ca issue --cn 127.0.0.3 --out "$T/uac"
}

sl_config() {
    local extra=${1:+$'\n'$1}
    UAS_PORT=$(free_port 127.0.0.2)
    write_config
    insert_after "$CONF" '^tls: \{' "  certificate = \"$T/proxy-chain.pem\";
  private_key = \"$T/proxy.key\";
  trust = \"$T/ca/ca.pem\";
  expiry_warning_days = 0;$extra" >/dev/null || bail_out "cannot edit $CONF"
    cat >>"$CONF" <<EOC
default_zone: { tls_verify = true; };
search_rules = (
  { priority = 10; name = "all to the uas"; match = "any"; target_zone = "uas"; }
);
EOC
    printf '%s\n' 'name = "uas";' 'type = "neighbor";' 'transport = "tls";' \
        "port = $UAS_PORT;" 'peers = [ "127.0.0.2" ];' 'tls_verify = true;' \
        >"$T/zones/uas.conf"
}

sl_start_uas() {
    "$SIPLOAD" --role uas --listen "127.0.0.2:$UAS_PORT" --cert "$T/uas-chain.pem" \
        --key "$T/uas.key" --ca "$T/ca/ca.pem" --duration "$1" >"$T/uas.out" 2>&1 </dev/null &
    UAS_PID=$!
    track_pid "$UAS_PID"
    _poll 10 eval "(exec 3<>/dev/tcp/127.0.0.2/$UAS_PORT) 2>/dev/null" ||
        bail_out "sipload uas does not listen: $(cat "$T/uas.out")"
}
