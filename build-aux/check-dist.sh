#!/bin/sh
# check-dist.sh SRCDIR DISTDIR: fail when a file that git tracks in SRCDIR
# is missing from DISTDIR (the tree `make dist` is about to pack), so that a
# new test, data file or man page left out of EXTRA_DIST is caught by
# `make dist` itself instead of by a failing test in an unpacked tarball.
# Files that are deliberately not shipped are listed below.  Outside a git
# checkout (building from a tarball) there is nothing to compare: skipped.
set -u
srcdir=$1 distdir=$2

# Tracked but not shipped: git and CI plumbing.
not_shipped='^(\.gitignore|\.ci/.*|m4/\.keep)$'

if ! command -v git >/dev/null 2>&1 ||
    ! git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "check-dist.sh: $srcdir is not a git checkout; not compared"
	exit 0
fi
missing=$(git -C "$srcdir" ls-files | grep -E -v "$not_shipped" |
    while IFS= read -r f; do
	[ -e "$distdir/$f" ] || printf '%s\n' "$f"
    done)
if [ -n "$missing" ]; then
	echo "check-dist.sh: these files are in git but not in the tarball" \
	    "(add them to EXTRA_DIST in Makefile.am, or to not_shipped in" \
	    "build-aux/check-dist.sh):" >&2
	printf '%s\n' "$missing" | sed 's/^/  /' >&2
	exit 1
fi
echo "check-dist.sh: every file git tracks is in $distdir"
