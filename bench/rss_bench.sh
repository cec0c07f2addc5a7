#!/bin/sh
# Memory of mpa-analyze --all against capture length: the same allocation
# model (bench/analyze_bench_model.h) written by analyze_bench_gen at
# RSS_BENCH_SMALL (10 M) and RSS_BENCH_BIG (100 M) events; max RSS of each
# analysis and their ratio.  Memory is meant to grow with the live heap,
# not with the file (issue 13, item 6), so the ratio should stay near 1 when
# the live heap is bounded: -L turns the model's 0.1 % never-freed blocks
# into ordinary ones (with them, 100 M events end with ~50 000 leaked blocks
# live, 10 M with ~5 000, and the heap's tables grow with them: that run is
# printed too, as "with leaks").
#
# Environment: MPA_BUILD (build dir), RSS_BENCH_SMALL, RSS_BENCH_BIG,
# RSS_BENCH_OUT.
set -eu
B=${MPA_BUILD:-$(pwd)/build}
SMALL=${RSS_BENCH_SMALL:-10000000}
BIG=${RSS_BENCH_BIG:-100000000}
OUT=${RSS_BENCH_OUT:-$B/bench/out/rss}
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== mpa-analyze --all memory: $SMALL vs $BIG events =="
for mode in bounded leaks; do
	flag=-L
	[ "$mode" = leaks ] && flag=
	for n in "$SMALL" "$BIG"; do
		# shellcheck disable=SC2086
		"$B/bench/analyze_bench_gen" -o "$OUT/c$n.mpt" -n "$n" $flag > /dev/null
		/usr/bin/time -f "%e %U %S %M" -o "$OUT/t$mode$n" "$B/bin/mpa-analyze" "$OUT/c$n.mpt" \
			--all -o "$OUT/r$n" -q
		set -- $(cat "$OUT/t$mode$n")
		printf "%-8s %11s events: %6s MB capture, max RSS %7s KiB, %6.1f s cpu\n" "$mode" "$n" \
			"$(($(stat -c %s "$OUT/c$n.mpt") / 1000000))" "$4" \
			"$(awk -v u="$2" -v s="$3" 'BEGIN{print u+s}')"
		rm -rf "$OUT/c$n.mpt" "$OUT/r$n"
	done
	a=$(awk '{print $4}' "$OUT/t$mode$SMALL")
	b=$(awk '{print $4}' "$OUT/t$mode$BIG")
	echo "$mode: max RSS $BIG / $SMALL events: $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b / a}')x   (flat: ~1.0x)"
	[ "${RSS_BENCH_LEAKS:-1}" = 1 ] || break
done
