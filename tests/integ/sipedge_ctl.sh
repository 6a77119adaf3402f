#!/bin/bash
# sipedge_ctl.sh: sipedge-ctl finds the control socket from -c CONFIG (or
# takes -s SOCKET), prints the daemon's answer, and says by its exit status
# whether the daemon did it (0), refused (1), the arguments were wrong (2)
# or the daemon could not be reached (3).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

plan 15

write_config
start_sipedged || bail_out "sipedged did not start"

# sctl ARGS...: run sipedge-ctl; OUT, ERR, RC.
sctl() {
    OUT=$(timeout 30 "$SIPEDGE_CTL" "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
}

sctl -c "$CONF" status
[ "$RC" -eq 0 ] && grep -q "^pid: $SIPEDGED_PID$" <<<"$OUT" &&
    ok "status through -c CONFIG: exit 0, the daemon's pid" ||
    not_ok "status through -c CONFIG" "exit $RC" "$OUT" "$ERR"
sctl -s "$T/sipedged.ctl" status
[ "$RC" -eq 0 ] && grep -q "^temporary: yes$" <<<"$OUT" &&
    ok "status through -s SOCKET" || not_ok "status through -s SOCKET" "exit $RC" "$OUT" "$ERR"
sctl -c "$CONF" help
[ "$RC" -eq 0 ] && grep -q "^zones" <<<"$OUT" &&
    ok "help lists zones" || not_ok "help lists zones" "exit $RC" "$OUT" "$ERR"
sctl -c "$CONF" certs
[ "$RC" -eq 0 ] && grep -q "^server .*temp-server.pem (temporary)" <<<"$OUT" &&
    grep -q "^  names .*DNS:localhost" <<<"$OUT" && grep -q "^trust (temporary CA only): 1 CA" <<<"$OUT" &&
    ok "certs: the temporary server certificate, its names, the trust list" ||
    not_ok "certs: the temporary server certificate, its names, the trust list" "exit $RC" "$OUT" "$ERR"
sctl -c "$CONF" reload
[ "$RC" -eq 0 ] && ok "reload of a good configuration: exit 0" ||
    not_ok "reload of a good configuration: exit 0" "exit $RC" "$OUT" "$ERR"

n=$(insert_after "$CONF" '^sip: *\{' '  max_mesage_size = 4096;')

sctl -s "$T/sipedged.ctl" reload
[ "$RC" -eq 1 ] && grep -q "sipedge.conf:$n: .*max_mesage_size" <<<"$ERR" &&
    ok "reload of a broken configuration: exit 1, file:line on stderr" ||
    not_ok "reload of a broken configuration: exit 1, file:line on stderr" "exit $RC" "$OUT" "$ERR"
# The file on disk has an error, the daemon runs on the previous one:
# commands that only talk to the daemon still find its socket.
sctl -c "$CONF" status
[ "$RC" -eq 0 ] && grep -q "^pid: $SIPEDGED_PID$" <<<"$OUT" &&
    grep -qF "sipedge-ctl: warning: $CONF has errors ($CONF:$n: " <<<"$ERR" &&
    grep -qF "; using control socket $T/sipedged.ctl" <<<"$ERR" &&
    ok "status through -c CONFIG with an error in it: a warning, the daemon's answer" ||
    not_ok "status through -c CONFIG with an error in it" "exit $RC" "$OUT" "$ERR"
sctl -c "$CONF" reload
[ "$RC" -eq 1 ] && grep -q "sipedge.conf:$n: .*max_mesage_size" <<<"$ERR" &&
    ok "reload through -c CONFIG with an error in it: the daemon's refusal, exit 1" ||
    not_ok "reload through -c CONFIG with an error in it" "exit $RC" "$OUT" "$ERR"
cp "$CONF" "$T/syntax.conf"
echo 'sip: { oops' >>"$T/syntax.conf"
sctl -c "$T/syntax.conf" status
grep -qF "warning: $T/syntax.conf has errors ($T/syntax.conf:" <<<"$ERR" &&
    grep -q "syntax error.*; using the default control socket /" <<<"$ERR" &&
    ok "a syntax error: the default control socket, with a warning" ||
    not_ok "a syntax error: the default control socket, with a warning" "exit $RC" "$OUT" "$ERR"
sctl -c "$T/nonexistent.conf" status
[ "$RC" -eq 3 ] && grep -q "cannot use configuration $T/nonexistent.conf" <<<"$ERR" &&
    ok "a configuration that does not exist: exit 3" ||
    not_ok "a configuration that does not exist: exit 3" "exit $RC" "$OUT" "$ERR"
sed -i "${n}d" "$CONF"

sctl -c "$CONF" frobnicate
[ "$RC" -eq 1 ] && grep -q "frobnicate" <<<"$ERR" &&
    ok "an unknown command: the daemon's error, exit 1" ||
    not_ok "an unknown command: the daemon's error, exit 1" "exit $RC" "$OUT" "$ERR"
sctl -c "$CONF"
[ "$RC" -eq 2 ] && ok "no command: exit 2" || not_ok "no command: exit 2" "exit $RC" "$ERR"
sctl -t 0 -c "$CONF" status
[ "$RC" -eq 2 ] && ok "-t 0: exit 2" || not_ok "-t 0: exit 2" "exit $RC" "$ERR"

check "SIGTERM: exit status 0" stop_sipedged
sctl -c "$CONF" status
[ "$RC" -eq 3 ] && grep -q "^sipedge-ctl: sipedged is not running (no socket at $T/sipedged.ctl)$" <<<"$ERR" &&
    ok "the daemon stopped: exit 3 with a sentence" ||
    not_ok "the daemon stopped: exit 3 with a sentence" "exit $RC" "$ERR"
