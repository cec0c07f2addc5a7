#!/bin/sh
# Capture size on the random workload of issue 12 (tests/workloads/wl_random.c:
# 2 threads, 92 % sizes 8-256 B, 5 % to 4 KiB, 3 % log-uniform to 1 MiB,
# random lifetimes, seeded): the same program recorded by mpa-record
# (every event's ns timestamp, thread and CPU kept) and by heaptrack, and
# the bytes per allocation-function call of each file, side by side.
# The .mpt's per-column figures come from mpa-cat.
#
# heaptrack 1.4.0 on this machine may abort a recorded program with
# std::bad_alloc after about a million operations (bench/analyze_bench.sh),
# so RANDOM_BENCH_OPS defaults to 1 M; both tools record the same run length.
#
# Environment: MPA_BUILD (build dir), RANDOM_BENCH_OPS, RANDOM_BENCH_SEED,
# RANDOM_BENCH_OUT.
set -eu
B=${MPA_BUILD:-$(pwd)/build}
N=${RANDOM_BENCH_OPS:-1000000}
SEED=${RANDOM_BENCH_SEED:-1}
OUT=${RANDOM_BENCH_OUT:-$B/bench/out/random}
WL="$B/tests/workloads/wl-random"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "== random workload: $N operations, seed $SEED =="
if ! "$B/bin/mpa-record" --lossless -q -o "$OUT/random.mpt" -- "$WL" "$N" "$SEED" > "$OUT/mpa-workload.txt" 2> "$OUT/mpa-record.txt"; then
	echo "mpa-record failed: $(tail -1 "$OUT/mpa-record.txt")"
	exit 0
fi
CALLS=$(sed -n 's/^ops \([0-9]*\)/\1/p' "$OUT/mpa-workload.txt")
ROWS=$(mpa_rows() { "$B/bin/mpa-cat" "$1" | sed -n 's/^records *\([0-9]*\).*/\1/p'; }; mpa_rows "$OUT/random.mpt")
SIZE=$(stat -c %s "$OUT/random.mpt")
"$B/bin/mpa-cat" "$OUT/random.mpt" > "$OUT/mpa-cat.txt"
echo "mpa-record: $(sed -n 's/^format *//p' "$OUT/mpa-cat.txt"), $SIZE bytes, $ROWS records for $CALLS calls"
printf "  .mpt      : %.3f B/record, %.3f B/call   (target <= 3.0)\n" \
	"$(awk -v s="$SIZE" -v n="$ROWS" 'BEGIN{print s/n}')" "$(awk -v s="$SIZE" -v n="$CALLS" 'BEGIN{print s/n}')"
echo "  per column (B/record):"
awk '/^columns/{f=1; next} f && /^  [a-z_]+ / && $NF+0 >= 0.005 && $1 != "columns" && $1 != "file" {printf "    %-10s %s (%s)\n", $1, $NF, $3} /^  file/{f=0}' "$OUT/mpa-cat.txt"
if command -v heaptrack >/dev/null 2>&1; then
	if (cd "$OUT" && heaptrack -o "$OUT/ht" "$WL" "$N" "$SEED" > "$OUT/ht-workload.txt" 2> "$OUT/heaptrack.txt") &&
	   HT=$(ls "$OUT"/ht.*zst "$OUT"/ht.*gz 2>/dev/null | head -1) && [ -n "$HT" ]; then
		HCALLS=$(sed -n 's/^ops \([0-9]*\)/\1/p' "$OUT/ht-workload.txt")
		HSIZE=$(stat -c %s "$HT")
		printf "  heaptrack : %.3f B/call (%s bytes, %s calls; no timestamps, threads or CPUs)\n" \
			"$(awk -v s="$HSIZE" -v n="$HCALLS" 'BEGIN{print s/n}')" "$HSIZE" "$HCALLS"
		echo "  .mpt / heaptrack per call: $(ratio "$(awk -v s="$SIZE" -v n="$CALLS" 'BEGIN{print s/n}')" "$(awk -v s="$HSIZE" -v n="$HCALLS" 'BEGIN{print s/n}')")x"
	else
		echo "  heaptrack recording failed: $(tail -1 "$OUT/heaptrack.txt")"
	fi
else
	echo "  heaptrack not installed: no comparison"
fi
