#!/bin/sh
# check-exports.sh [BUILDDIR [SRCDIR]]: the exported functions of src/
# that nothing outside their own file calls (HACKING.md, "Conventions":
# such a function is made static).  Run after `make` and a build of the
# unit tests (`make check TESTS=`): it reads the symbols of every object
# under BUILDDIR/src and BUILDDIR/tests with nm(1), and counts a use in a
# fuzz harness (SRCDIR/tests/fuzz/*.c, not built by default) by name.
# Prints "FILE.o: NAME" per function and fails when there is any.
set -u
build=${1:-.}
src=${2:-$build}
tmp=${TMPDIR:-/tmp}/check-exports.$$
trap 'rm -f "$tmp".*' EXIT

objs=$(find "$build/src" "$build/tests" -name '*.o' ! -path '*/fuzz/*' \
    ! -name 'tests_fuzz_*' |
    sort)
if [ -z "$objs" ]; then
	echo "check-exports: no objects under $build: build first" >&2
	exit 2
fi
# "T name file" for definitions, "U name file" for uses.
for o in $objs; do
	# an object of src/ whose source is gone (a file renamed or cut) is stale
	case $o in
	"$build"/src/*) c=${o#"$build"/}; [ -f "$src/${c%.o}.c" ] || continue ;;
	esac
	nm "$o" | awk -v o="$o" '$2 == "T" { print "T", $3, o }
	    $1 == "U" { print "U", $2, o }'
done >"$tmp.syms"
cat "$src"/tests/fuzz/*.c >"$tmp.fuzz" 2>/dev/null || : >"$tmp.fuzz"

awk '$1 == "T" { def[$2] = $3 }
    $1 == "U" { use[$2] = use[$2] " " $3 }
    END {
	for (s in def) {
		if (s == "main" || s ~ /^LLVMFuzzer/)
			continue
		n = split(use[s], u, " "); other = 0
		for (i = 1; i <= n; i++)
			if (u[i] != def[s])
				other = 1
		if (!other)
			print def[s] ": " s
	}
}' "$tmp.syms" | sort >"$tmp.lonely"

found=0
while read -r obj name; do
	grep -qw "${name}" "$tmp.fuzz" && continue
	echo "$obj $name"
	found=1
done <"$tmp.lonely"
if [ "$found" -eq 1 ]; then
	echo "check-exports: the functions above have no caller outside" \
	    "their file: make them static" >&2
	exit 1
fi
echo "every exported function has a caller outside its file"
