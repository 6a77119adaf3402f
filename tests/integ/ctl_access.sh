#!/bin/bash
# ctl_access.sh: who may use the control socket.  daemon.control_group
# gives the socket to a group (mode 0660), an unknown group is a
# configuration error with file:line, a reload moves the socket to
# another group; the daemon checks the peer's credentials itself: a user
# outside the group is refused even when the socket's mode lets anyone
# connect (logged), a member by primary or supplementary group is
# served.  sipedge-ctl tells "not running (no socket)", "connection
# refused" and "permission denied (are you in group G?)" apart, exit 3.
# Needs root (chown to a group, setpriv to other users).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to give the socket to a group and to run as other users"
require_cmd setpriv getent stat
plan 17

# Two groups of the system that root is not in by its primary group.
GROUPS_FOUND=()
for g in daemon adm nogroup bin sys; do
    gid=$(getent group "$g" | cut -d: -f3)
    [ -n "$gid" ] && [ "$gid" -ne 0 ] && GROUPS_FOUND+=("$g:$gid")
done
[ "${#GROUPS_FOUND[@]}" -ge 2 ] || skip_all "no two system groups to test with"
G=${GROUPS_FOUND[0]%%:*}
GID=${GROUPS_FOUND[0]#*:}
G2=${GROUPS_FOUND[1]%%:*}
NOBODY=65534
SOCK="$T/sipedged.ctl"

# Another user must reach the socket: the directory and a copy of the tool.
chmod 0711 "$T"
mkdir -p "$T/bin"
cp "$SIPEDGE_CTL" "$T/bin/sipedge-ctl"
chmod 0755 "$T/bin" "$T/bin/sipedge-ctl"

# as ID SETPRIV-OPTIONS... -- ARGS...: run the copy as another user; RC, ERR.
as_user() {
    local opts=()
    while [ "$1" != "--" ]; do
        opts+=("$1")
        shift
    done
    shift
    timeout 20 setpriv "${opts[@]}" "$T/bin/sipedge-ctl" "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
    ERR=$(cat "$T/err")
}

write_config
n=$(insert_after "$CONF" '^daemon: *\{' '  control_group = "no-such-group-sipedge";')
out=$(check_config "$CONF" 2>&1)
if grep -q "sipedge.conf:$n: daemon.control_group = \"no-such-group-sipedge\" is not a group of this system" <<<"$out"; then
    ok "an unknown control_group: a configuration error at its line"
else
    not_ok "an unknown control_group: a configuration error at its line" "$out"
fi
sed -i "${n}s/.*/  control_group = \"$G\";/" "$CONF"
start_sipedged || bail_out "sipedged did not start"

check "the socket belongs to group $G with mode 0660" \
    test "$(stat -c '%G %a' "$SOCK")" = "$G 660"
check "... logged with its group" log_has module=ctl 'event="control socket open"' "group=$G"

as_user --reuid=$NOBODY --regid=$NOBODY --clear-groups -- -s "$SOCK" status
if [ "$RC" -eq 3 ] && [ "$ERR" = "sipedge-ctl: permission denied on $SOCK (are you in group $G?)" ]; then
    ok "a user outside the group: exit 3, 'permission denied ... (are you in group $G?)'"
else
    not_ok "a user outside the group: exit 3, permission denied" "exit $RC" "$ERR"
fi

as_user --reuid=$NOBODY --regid=$NOBODY --groups="$GID" -- -s "$SOCK" status
if [ "$RC" -eq 0 ] && grep -q "^pid: $SIPEDGED_PID$" "$T/out"; then
    ok "a member by supplementary group is served"
else
    not_ok "a member by supplementary group is served" "exit $RC" "$ERR"
fi
as_user --reuid=$NOBODY --regid="$GID" --clear-groups -- -s "$SOCK" --json status
if [ "$RC" -eq 0 ] && grep -q "\"pid\":$SIPEDGED_PID," "$T/out"; then
    ok "a member by primary group is served (--json too)"
else
    not_ok "a member by primary group is served" "exit $RC" "$ERR"
fi

# The daemon's own check, with the filesystem out of the way.
log_mark
chmod 0666 "$SOCK"
as_user --reuid=$NOBODY --regid=$NOBODY --clear-groups -- -s "$SOCK" status
if [ "$RC" -eq 3 ] && grep -q "^sipedge-ctl: permission denied on $SOCK: sipedged refused to serve you (permission denied: uid $NOBODY is not root, sipedged's user (uid 0) or a member of group $G)$" <<<"$ERR" &&
    [ ! -s "$T/out" ]; then
    ok "a socket opened to all: the daemon itself refuses an outsider, exit 3"
else
    not_ok "a socket opened to all: the daemon itself refuses an outsider, exit 3" "exit $RC" "$ERR" "$(cat "$T/out")"
fi
check "... and logs it with uid, gid and group" \
    log_has module=ctl level=warn 'event="client refused"' 'reason="not permitted"' "uid=$NOBODY" "gid=$NOBODY" "group=$G"
as_user --reuid=$NOBODY --regid=$NOBODY --clear-groups -- -s "$SOCK" --json status
if [ "$RC" -eq 3 ] && [ ! -s "$T/out" ] && grep -q "sipedged refused to serve you" <<<"$ERR"; then
    ok "... with --json as well: exit 3, nothing on stdout"
else
    not_ok "... with --json as well: exit 3, nothing on stdout" "exit $RC" "$ERR"
fi
check "the daemon still serves root" eval "timeout 20 '$SIPEDGE_CTL' -s '$SOCK' status >/dev/null"
chmod 0660 "$SOCK"

# A reload gives the socket to another group.
sed -i "s/^  control_group = \"$G\";/  control_group = \"$G2\";/" "$CONF"
check "reload with control_group = $G2" eval "timeout 20 '$SIPEDGE_CTL' -c '$CONF' reload >/dev/null"
check "... the socket now belongs to $G2, still 0660" \
    test "$(stat -c '%G %a' "$SOCK")" = "$G2 660"
as_user --reuid=$NOBODY --regid=$NOBODY --groups="$GID" -- -s "$SOCK" status
if [ "$RC" -eq 3 ] && grep -q "permission denied on $SOCK (are you in group $G2?)" <<<"$ERR"; then
    ok "... and a member of $G only is refused now, told about $G2"
else
    not_ok "... and a member of $G only is refused now" "exit $RC" "$ERR"
fi

# Unreachable, told apart.
stop_sipedged KILL
check "SIGKILL leaves the socket file behind" test -S "$SOCK"
timeout 20 "$SIPEDGE_CTL" -s "$SOCK" status >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 3 ] && grep -q "^sipedge-ctl: sipedged is not running (connection refused on $SOCK: the socket is left, but nothing listens)$" "$T/err"; then
    ok "a left socket nobody listens on: exit 3, 'not running (connection refused ...)'"
else
    not_ok "a left socket nobody listens on: exit 3" "exit $RC" "$(cat "$T/err")"
fi
rm -f "$SOCK"
timeout 20 "$SIPEDGE_CTL" -s "$SOCK" status >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 3 ] && grep -q "^sipedge-ctl: sipedged is not running (no socket at $SOCK)$" "$T/err"; then
    ok "no socket: exit 3, 'not running (no socket at PATH)'"
else
    not_ok "no socket: exit 3, 'not running (no socket at PATH)'" "exit $RC" "$(cat "$T/err")"
fi
# A directory the user may not enter: permission denied, with the group unknown.
mkdir -m 0700 "$T/closed"
as_user --reuid=$NOBODY --regid=$NOBODY --clear-groups -- -s "$T/closed/sipedged.ctl" status
if [ "$RC" -eq 3 ] && grep -q "permission denied on $T/closed/sipedged.ctl (are you root, sipedged's user or in its daemon.control_group?)" <<<"$ERR"; then
    ok "a socket in a closed directory: exit 3, permission denied"
else
    not_ok "a socket in a closed directory: exit 3, permission denied" "exit $RC" "$ERR"
fi
