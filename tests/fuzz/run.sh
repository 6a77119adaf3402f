#!/bin/sh
# run.sh BUILDDIR SRCDIR [NAME...]: run the libFuzzer harnesses.
#   BUILDDIR  where the fuzz_* programs are (`make fuzz` puts them in
#             tests/fuzz of the build tree)
#   SRCDIR    tests/fuzz of the source tree: corpus/NAME/ (seeds) and
#             regress/NAME/ (inputs that once failed: replayed first)
#   NAME      fuzz_sip_stream ... (default: every one built)
# Environment: FUZZ_SECONDS (30) per fuzzer, FUZZ_JOBS (1) fuzzers at a
# time, FUZZ_TIMEOUT (2) seconds per input before it counts as a hang,
# FUZZ_RSS_MB (2048), FUZZ_SUPPRESS (below).
#
# Each fuzzer works on a copy of its corpus in a private directory
# ${TMPDIR:-/tmp}/sipedge-fuzz.XXXXXX, so the tree is never changed.  A
# crash, leak, sanitizer report, timeout or memory blow-up fails it: the
# reproducer and the log are kept there and their paths printed; the
# directory is removed when everything passed.  One line per fuzzer,
# "PASS: NAME ..." or "FAIL: NAME ...", then "fuzz: N passed, N failed".
# Exit status 0 only when every fuzzer passed.
set -u
[ $# -ge 2 ] || { echo "usage: run.sh BUILDDIR SRCDIR [NAME...]" >&2; exit 2; }
bdir=$(cd "$1" && pwd) || exit 2
sdir=$(cd "$2" && pwd) || exit 2
shift 2
secs=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
tmo=${FUZZ_TIMEOUT:-2}
rss=${FUZZ_RSS_MB:-2048}

all="fuzz_sip_stream fuzz_sip_datagram fuzz_sip_edit fuzz_crl fuzz_ocsp
fuzz_name fuzz_conf fuzz_path fuzz_name_syntax"
[ $# -gt 0 ] && all=$*

# The longest input each may make: a little above the harness's limits.
max_len() {
	case $1 in
	fuzz_sip_stream) echo 12288 ;;
	fuzz_sip_datagram) echo 10240 ;;
	fuzz_sip_edit) echo 8192 ;;
	fuzz_crl) echo 65536 ;;
	fuzz_conf) echo 8192 ;;
	fuzz_path) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/sipedge-fuzz.XXXXXX") || exit 2
# Leaks inside libconfig's scanner on a syntax error are not ours.
# FUZZ_SUPPRESS: more LeakSanitizer patterns (space-separated), to look
# past a known, reported leak; never in CI.
printf '%s\n' 'leak:libconfig.so' >"$work/lsan.supp"
for s in ${FUZZ_SUPPRESS:-}; do
	printf 'leak:%s\n' "$s" >>"$work/lsan.supp"
done

# run_one NAME: the verdict in $work/NAME.result, the output in NAME.log.
run_one() {
	n=$1 d=$work/$1 prog=$bdir/$1
	mkdir -p "$d/corpus" "$d/tmp"
	if [ ! -x "$prog" ]; then
		echo "FAIL: $n: $prog is not built (make fuzz)" >"$d.result"
		return
	fi
	[ -d "$sdir/corpus/$n" ] && cp "$sdir/corpus/$n"/* "$d/corpus/" 2>/dev/null
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0"
	export LSAN_OPTIONS="suppressions=$work/lsan.supp"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	# Inputs that failed once must keep passing.
	if [ -d "$sdir/regress/$n" ] && [ -n "$(ls "$sdir/regress/$n")" ]; then
		if ! TMPDIR=$d/tmp "$prog" -timeout="$tmo" -rss_limit_mb="$rss" \
		    "$sdir/regress/$n"/* >"$d/regress.log" 2>&1; then
			echo "FAIL: $n: a regression input fails again; log:" \
			    "$d/regress.log" >"$d.result"
			return
		fi
	fi
	TMPDIR=$d/tmp "$prog" -max_total_time="$secs" -timeout="$tmo" \
	    -rss_limit_mb="$rss" -max_len="$(max_len "$n")" \
	    -artifact_prefix="$d/" -print_final_stats=1 \
	    "$d/corpus" >"$d.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$d.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $n: ${runs:-?} inputs in ${secs} s, ${cov:-cov: ?}" >"$d.result"
		return
	fi
	what=$(sed -n 's/^SUMMARY: //p' "$d.log" | head -n 1)
	[ -n "$what" ] || what=$(grep -m 1 -o -E 'ERROR: .*|runtime error: .*' "$d.log")
	repro=$(sed -n 's/.*Test unit written to //p' "$d.log" | head -n 1)
	echo "FAIL: $n: ${what:-exit $rc}; reproducer: ${repro:-none};" \
	    "log: $d.log" >"$d.result"
}

# FUZZ_JOBS at a time.
set -- $all
while [ $# -gt 0 ]; do
	pids=""
	i=0
	while [ $# -gt 0 ] && [ "$i" -lt "$jobs" ]; do
		run_one "$1" &
		pids="$pids $!"
		i=$((i + 1))
		shift
	done
	for p in $pids; do wait "$p"; done
done

passed=0 failed=0
for n in $all; do
	cat "$work/$n.result"
	case $(cat "$work/$n.result") in
	PASS:*) passed=$((passed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "fuzz: $passed passed, $failed failed"
if [ "$failed" -eq 0 ]; then
	rm -rf "$work"
	exit 0
fi
echo "fuzz: reproducers and logs kept in $work; replay one with" \
    "BUILDDIR/NAME REPRODUCER"
exit 1
