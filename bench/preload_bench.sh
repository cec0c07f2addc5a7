#!/bin/sh
# bench-overhead: cost of one malloc+free pair under each recording setup,
# as a ratio to the untraced run.  Called by `make bench` (bench-overhead)
# with MPA_BUILD set.  BENCH_PAIRS (default 1000000) and BENCH_RUNS
# (default 3; the fastest run is kept, the usual way to filter out
# interference from other processes) make it shorter or steadier.
# Two measures: wall-clock ns/pair, and the workload thread's CPU ns/pair
# (steadier on a busy machine; it misses time spent blocked on a full
# buffer in lossless mode, which the wall clock shows).
set -u
B=${MPA_BUILD:?MPA_BUILD must point at the build directory}
PAIRS=${BENCH_PAIRS:-1000000}
RUNS=${BENCH_RUNS:-3}
W="$B/bench/preload_bench"
PRE="$B/lib/libmpa-preload.so"
REC="$B/bin/mpa-record"
TMP=$(mktemp -d /tmp/mpa-bench-XXXXXX)
SESSION=""
cleanup() {
	[ -n "$SESSION" ] && lttng destroy "$SESSION" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

pgrep -x lttng-sessiond >/dev/null || lttng-sessiond --daemonize >/dev/null 2>&1

# Runs that do not go through mpa-record hold its host-wide lock too: a
# concurrent mpa-record session would otherwise record them.
LOCK=/tmp/.mpa-record.lock
[ -e "$LOCK" ] || : > "$LOCK"
locked() { ( flock 9 && "$@" ) 9<"$LOCK"; }

ns_of() { sed -n 's/^ns_per_pair=\([0-9.]*\) cpu_ns_per_pair=\([0-9.]*\).*/\1 \2/p' "$1" | head -n 1; }
# fastest run by wall clock; prints "wall cpu"
best() { sort -n | head -n 1 | awk 'NF == 2 {print; ok = 1} END {if (!ok) print "nan nan"}'; }

# run_cfg NAME COMMAND...: RUNS runs, prints "wall cpu" ns/pair of the fastest
run_cfg() {
	name=$1; shift
	i=0
	: > "$TMP/vals"
	while [ $i -lt "$RUNS" ]; do
		"$@" > "$TMP/out" 2> "$TMP/err"
		v=$(ns_of "$TMP/out")
		[ -n "$v" ] && echo "$v" >> "$TMP/vals"
		rm -rf "$TMP/trace" "$TMP"/heaptrack.*
		i=$((i + 1))
	done
	best < "$TMP/vals"
}

# the stock liblttng-ust-libc-wrapper, lossless like `mpa-record --lossless`
stock() {
	SESSION="mpa-bench-stock-$$"
	lttng create "$SESSION" --output="$TMP/trace" >/dev/null &&
	lttng enable-channel -u -s "$SESSION" --subbuf-size=4M --num-subbuf=8 \
		--blocking-timeout=inf c >/dev/null &&
	lttng add-context -u -s "$SESSION" -c c -t vpid -t vtid -t ip >/dev/null &&
	lttng enable-event -u -s "$SESSION" -c c 'lttng_ust_libc:*' >/dev/null &&
	lttng start "$SESSION" >/dev/null &&
	LTTNG_UST_ALLOW_BLOCKING=1 LD_PRELOAD=liblttng-ust-libc-wrapper.so "$W" "$PAIRS"
	lttng stop "$SESSION" >/dev/null 2>&1
	lttng destroy "$SESSION" >/dev/null 2>&1
	SESSION=""
}

base=$(run_cfg base locked "$W" "$PAIRS")
row() { # label "wall cpu"
	awk -v l="$1" -v v="$2" -v b="$base" 'BEGIN {
		split(v, x, " "); split(b, y, " ");
		if (x[1] == "" || x[1] == "nan")
			printf "| %-44s | %8s | %6s | %8s | %6s |\n", l, "n/a", "n/a", "n/a", "n/a";
		else
			printf "| %-44s | %8.1f | %5.1fx | %8.1f | %5.1fx |\n", l, x[1], x[1] / y[1], x[2], x[2] / y[2] }'
}

echo "bench-overhead: $PAIRS malloc+free pairs per run, fastest of $RUNS runs, $(nproc) CPUs"
echo
echo "| setup                                        | wall ns  | ratio  | CPU ns   | ratio  |"
echo "|----------------------------------------------|----------|--------|----------|--------|"
row "no tracing" "$base"
row "libmpa-preload.so, no session" \
	"$(run_cfg nosess locked env LD_PRELOAD="$PRE" "$W" "$PAIRS")"
row "stock liblttng-ust-libc-wrapper (lossless)" "$(run_cfg stock locked stock)"
row "mpa, no stacks (lossless)" \
	"$(run_cfg nostack "$REC" -q --lossless --stack-depth 0 --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
row "mpa, 16-frame stacks, fp (lossless)" \
	"$(run_cfg fp "$REC" -q --lossless --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
row "mpa, 16-frame stacks, fp, no exit scan" \
	"$(run_cfg noscan "$REC" -q --lossless --no-leak-scan --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
row "mpa, 16-frame alloc stacks, none on free" \
	"$(run_cfg fpa "$REC" -q --lossless --free-stack-depth 0 --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
row "mpa, 16-frame stacks, libunwind (lossless)" \
	"$(run_cfg unw "$REC" -q --lossless --unwind libunwind --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
if command -v heaptrack >/dev/null 2>&1; then
	row "heaptrack" "$(cd "$TMP" && run_cfg heaptrack locked heaptrack -o "$TMP/heaptrack.bench" "$W" "$PAIRS")"
else
	row "heaptrack (not installed)" ""
fi

echo
echo "Events lost without --lossless (discard mode), 16-frame stacks, by channel size:"
echo
echo "| sub-buffers      | wall ns  | ratio  | CPU ns   | ratio  | events lost          |"
echo "|------------------|----------|--------|----------|--------|----------------------|"
for ch in "64K 2" "256K 4" "1M 8" "4M 8"; do
	set -- $ch
	locked true
	"$REC" --subbuf-size "$1" --num-subbuf "$2" --keep-trace "$TMP/trace" -- "$W" "$PAIRS" \
		> "$TMP/out" 2> "$TMP/err"
	v=$(ns_of "$TMP/out")
	lost=$(sed -n 's/.*discarded \([0-9]*\) events.*/\1/p' "$TMP/err" | head -n 1)
	lost=${lost:-0}
	rm -rf "$TMP/trace"
	awk -v s="$1 x $2" -v v="$v" -v b="$base" -v l="$lost" -v t="$((PAIRS * 2))" 'BEGIN {
		split(v, x, " "); split(b, y, " ");
		printf "| %-16s | %8.1f | %5.1fx | %8.1f | %5.1fx | %9d (%5.1f %%) |\n",
			s, x[1], x[1] / y[1], x[2], x[2] / y[2], l, 100 * l / t }'
done
