#!/bin/sh
# check-size.sh [SRCDIR]: the size limits of HACKING.md ("Conventions")
# for the C files under SRCDIR/src (SRCDIR defaults to the tree this
# script is in).  It fails when
#   - a file is over MAX_FILE lines (900),
#   - a function is over HARD_FUNC lines (150), or
#   - more than MAX_LONG functions (3) are over MAX_FUNC lines (100).
# Each limit can be set in the environment.  A function is counted from
# the line that starts with its name (the return type is on the line
# before, as the code style says) to its closing brace in column 0.
# Prints what is over a limit, and "size limits ok" or the failure.
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
MAX_FILE=${MAX_FILE:-900}
MAX_FUNC=${MAX_FUNC:-100}
MAX_LONG=${MAX_LONG:-3}
HARD_FUNC=${HARD_FUNC:-150}

files=$(find "$src/src" -name '*.c' | sort)
if [ -z "$files" ]; then
	echo "check-size: no C files under $src/src" >&2
	exit 2
fi

# shellcheck disable=SC2086 # one argument per file
awk -v max_file="$MAX_FILE" -v max_func="$MAX_FUNC" \
    -v max_long="$MAX_LONG" -v hard="$HARD_FUNC" -v strip="$src/" '
function where() { f = FILENAME; sub("^" strip, "", f); return f }
FNR == 1 {
	if (NR > 1)
		end_file()
	name = ""; body = 0
}
{ lines = FNR; prev = where() }
# A name in column 0 followed by "(": a definition once "{" follows.
/^[A-Za-z_][A-Za-z0-9_]*\(/ {
	name = $0; sub(/\(.*/, "", name); start = FNR; body = 0; next
}
/^\{/ { if (name != "") body = 1; next }
/^\}/ {
	if (name != "" && body) {
		n = FNR - start + 1
		if (n > max_func) {
			long++
			printf "%s:%d: %s is %d lines\n", where(), start, name, n
			if (n > hard)
				bad = bad sprintf("\n  %s: %s is over %d lines",
				    where(), name, hard)
		}
	}
	name = ""; body = 0
}
function end_file() {
	if (lines > max_file) {
		printf "%s: %d lines\n", prev, lines
		bad = bad sprintf("\n  %s is over %d lines", prev, max_file)
	}
}
END {
	end_file()
	if (long > max_long)
		bad = bad sprintf("\n  %d functions are over %d lines " \
		    "(at most %d may be)", long, max_func, max_long)
	if (bad != "") {
		printf "check-size: size limits broken:%s\n", bad
		exit 1
	}
	print "size limits ok"
}' $files
