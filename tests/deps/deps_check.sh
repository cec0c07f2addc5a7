#!/bin/sh
# The dependency order of doc/dependencies.md, checked on every source
# file's #include lines.  Prints one line per violation; exits 1 if any.
set -u
cd "$(dirname "$0")/../.."
bad=0
fail() { echo "deps: $1" >&2; bad=1; }

incs() { grep -hE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$1" | sed -E 's/.*"([^"]+)".*/\1/'; }

# format/ (libmpt, mpa-cat): include/ and itself only
for f in $(find format -name '*.[ch]'); do
	for i in $(incs "$f"); do
		case "$i" in *analyzers/*|*converters/*|*tracepoints/*|*framework.h) fail "$f includes $i (format/ uses include/ only)";; esac
	done
done
# tracepoints/: never libmpt
for f in $(find tracepoints -name '*.[ch]'); do
	for i in $(incs "$f"); do
		case "$i" in *mpt.h|*format/*|*analyzers/*|*converters/*) fail "$f includes $i (tracepoints/ uses include/ only, never libmpt)";; esac
	done
done
# converters/ and analyzers/ never include each other
for f in $(find converters -name '*.[ch]'); do
	for i in $(incs "$f"); do
		case "$i" in *analyzers/*|*framework.h|*analyzer.h|*heap.h) fail "$f includes $i (converters/ and analyzers/ are side by side)";; esac
	done
done
# analyzers/core: never an analyzer
for f in analyzers/core/*.[ch]; do
	for i in $(incs "$f"); do
		case "$i" in *leak*|*timeline*|*cache.h) fail "$f includes $i (the core knows analyzers only through the table)";; esac
	done
done
# analyzers: the public API only, never the core, never each other
for f in $(find analyzers -name '*.[ch]' ! -path 'analyzers/core/*' ! -name 'mpa-analyze.c' ! -name 'mpa-diff.c' ! -name framework.h ! -name registry.c); do
	for i in $(incs "$f"); do
		case "$i" in
		mpa/*) ;;
		*core/*|*framework.h|*converters/*|*format/*) fail "$f includes $i (an analyzer uses include/mpa/analyzer.h only)";;
		*)	# its own header(s): same base name or inside its own folder
			own=$(basename "$f" | sed -E 's/\.[ch]$//')
			dir=$(dirname "$f")
			case "$i" in
			"$own.h"|*/"$own.h") ;;
			*) [ "$dir" != analyzers ] && [ -f "$dir/$i" ] || fail "$f includes $i (analyzers never include each other)";;
			esac;;
		esac
	done
done
# monitor/: the core and libmpt, never an analyzer's files or converters/
for f in $(find monitor -name '*.[ch]' 2>/dev/null); do
	for i in $(incs "$f"); do
		case "$i" in *leak*|*timeline*|*cache.h|*converters/*|*tracepoints/*) fail "$f includes $i (monitor/ knows analyzers only through the table)";; esac
	done
done
[ $bad = 0 ] && echo "deps: the dependency order of doc/dependencies.md holds"
exit $bad
