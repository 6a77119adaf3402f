#!/bin/bash
# layers.sh: the layer rule of HACKING.md.  A file under src/LAYER/ may
# include headers only from its own layer and the layers before it:
#   util < conf < net < rev < tls < sip < proxy < ctl, daemon < tools
# Also: every option in the option table is documented in sipedge.conf(5).
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

rank() {
	case $1 in
	util) echo 1 ;; conf) echo 2 ;; net) echo 3 ;; rev) echo 4 ;;
	tls) echo 5 ;; sip) echo 6 ;; proxy) echo 7 ;; ctl|daemon) echo 8 ;;
	tools) echo 9 ;; *) echo 99 ;;
	esac
}

echo "1..4"
bad=""
for f in "$src"/src/*/*.[ch]; do
	layer=$(basename "$(dirname "$f")")
	mine=$(rank "$layer")
	while read -r inc; do
		theirs=$(rank "$inc")
		if [ "$theirs" -gt "$mine" ]; then
			bad="$bad ${f#"$src"/}->$inc"
		fi
	done < <(sed -n 's|^#include "\([a-z]*\)/.*|\1|p' "$f")
done
if [ -z "$bad" ]; then
	echo "ok 1 - every include respects the layer order"
else
	echo "not ok 1 - layer rule broken:$bad"
fi

missing=""
man="$src/doc/sipedge.conf.5"
for name in $(sed -n 's/^	{ "[a-z_]*", "\([a-z_]*\)", OT_.*/\1/p' "$src/src/conf/conf_table.c"); do
	grep -q "$name" "$man" || missing="$missing $name"
done
if [ -z "$missing" ] && [ -s "$man" ]; then
	echo "ok 2 - every configuration setting is documented in sipedge.conf(5)"
else
	echo "not ok 2 - undocumented settings:$missing"
fi

# Small files, short functions (HACKING.md "Conventions"): no file of src/
# over 900 lines, no function over 150, at most three over 100.
if out=$(sh "$src/build-aux/check-size.sh" "$src" 2>&1); then
	echo "ok 3 - file and function sizes within the limits"
else
	echo "not ok 3 - file or function over the limits"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

# No exported function without a caller outside its file (objects of the
# build this test runs in).
build=$src
[ -n "${SIPEDGED:-}" ] && build=$(cd "$(dirname "$SIPEDGED")/.." && pwd)
if [ ! -f "$build/src/libsipedge.a" ]; then
	echo "ok 4 - # SKIP no build to read the symbols of"
elif out=$(sh "$src/build-aux/check-exports.sh" "$build" "$src" 2>&1); then
	echo "ok 4 - every exported function has a caller outside its file"
else
	echo "not ok 4 - exported functions nobody else calls"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
