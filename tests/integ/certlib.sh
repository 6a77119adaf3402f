# shellcheck shell=bash
# certlib.sh: helpers for the sipedge-cert tests on a configuration in $T
# (source after lib.sh and write_config): run the tool, check its exit
# status and output, and prove that a failed command changed no file.

# run ARGS...: run sipedge-cert -c $CONF ARGS; stdout in $T/out, stderr in
# $T/err, exit status in RC.
run() {
    timeout 30 "$SIPEDGE_CERT" -c "$CONF" "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# expect DESC RC [out=TEXT|err=TEXT|!out=TEXT|!err=TEXT]...: ok when the
# last run exited RC and its stdout/stderr hold (or, with !, lack) each TEXT.
expect() {
    local desc=$1 want=$2 spec text file why=()
    shift 2
    [ "$RC" -eq "$want" ] || why+=("exit status $RC, expected $want")
    for spec in "$@"; do
        case $spec in
            out=*) file=$T/out ;;
            err=*) file=$T/err ;;
            '!out='*) file=$T/out ;;
            '!err='*) file=$T/err ;;
        esac
        text=${spec#*=}
        case $spec in
            '!'*) grep -q -F -e "$text" "$file" && why+=("${file##*/} holds: $text") ;;
            *) grep -q -F -e "$text" "$file" || why+=("${file##*/} lacks: $text") ;;
        esac
    done
    if [ ${#why[@]} -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc" "${why[@]}" "stdout:" "$(cat "$T/out")" "stderr:" "$(cat "$T/err")"
    fi
}

# snapshot: print a checksum of every file under pki/ and state/ (names
# included, so a leftover temporary file shows too).
snapshot() {
    (cd "$T" && find pki state -type f 2>/dev/null | LC_ALL=C sort | while read -r f; do
        printf '%s ' "$f"
        sha256sum <"$f"
    done)
}

# unchanged DESC BEFORE: ok when snapshot equals BEFORE.
unchanged() {
    local now
    now=$(snapshot)
    if [ "$now" = "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "before:" "$2" "after:" "$now"
    fi
}

# same DESC GOT WANT: ok when the two strings are equal.
same() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "got:" "$2" "expected:" "$3"
    fi
}
