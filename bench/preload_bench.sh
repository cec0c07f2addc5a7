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
row "mpa, 16-frame stacks, fp, not interned" \
	"$(run_cfg inl env MPA_STACK_IDS=0 "$REC" -q --lossless --keep-trace "$TMP/trace" -- "$W" "$PAIRS")"
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

# ---- stack interning: the program's own slowdown, trace size, conversion --
# bench/analyze_bench_workload (BENCH_OPS operations of the analyze-bench
# model: 64 sites, random sizes and lifetimes) times its own operations;
# recorded by mpa-record with default settings (16-frame stacks, discard
# mode, 4M x 8 sub-buffers) with stacks interned (the default) and not
# (MPA_STACK_IDS=0), and by heaptrack.  Then each mpa trace's bytes per
# event and the time mpa-convert takes on it.  Fastest of RUNS each.
OPS=${BENCH_OPS:-300000}
AW="$B/bench/analyze_bench_workload"
CONV="$B/bin/mpa-convert"
own_of() { sed -n 's/^elapsed_ns \([0-9]*\) cpu_ns \([0-9]*\)/\1 \2/p' "$1" | head -n 1; }
ns_now() { date +%s%N; }

# own CMD...: RUNS runs of the workload under CMD; "wall cpu" ns of the
# fastest; with KEEP set, the trace of the fastest stays in $TMP/keep and
# its conversion time (fastest) goes to $TMP/conv
own() {
	i=0
	: > "$TMP/vals"
	: > "$TMP/convs"
	while [ $i -lt "$RUNS" ]; do
		rm -rf "$TMP/trace" "$TMP"/heaptrack.*
		"$@" > "$TMP/out" 2> "$TMP/err"
		v=$(own_of "$TMP/out")
		if [ -n "$v" ]; then
			echo "$v" >> "$TMP/vals"
			if [ -n "${KEEP:-}" ] && [ -d "$TMP/trace/ust" ]; then
				t0=$(ns_now)
				"$CONV" -q "$TMP/trace/ust" -o "$TMP/conv.mpt" 2> "$TMP/conv.err"
				t1=$(ns_now)
				echo "$((t1 - t0))" >> "$TMP/convs"
				rm -rf "$TMP/keep" && mv "$TMP/trace" "$TMP/keep"
			fi
		fi
		i=$((i + 1))
	done
	rm -rf "$TMP/trace"
	best < "$TMP/vals"
}

echo
echo "Stack interning: bench/analyze_bench_workload $OPS operations (the program's own"
echo "time: wall and process CPU of its operations), fastest of $RUNS runs; trace and"
echo "conversion of the mpa recordings (default mpa-record: 16-frame stacks, discard mode):"
echo
abase=$(own locked "$AW" "$OPS")
arow() { # label "wall cpu" [bytes events conv_ns]
	awk -v l="$1" -v v="$2" -v b="$abase" -v by="${3:-}" -v ev="${4:-}" -v cv="${5:-}" 'BEGIN {
		split(v, x, " "); split(b, y, " ");
		bpe = (by != "" && ev > 0) ? sprintf("%8.1f", by / ev) : sprintf("%8s", "-");
		cvs = (cv != "" && ev > 0) ? sprintf("%7.2f | %6.2f", cv / 1e9, ev / (cv / 1e9) / 1e6) : sprintf("%7s | %6s", "-", "-");
		if (x[1] == "" || x[1] == "nan")
			printf "| %-36s | %8s | %6s | %8s | %6s | %8s | %7s | %6s |\n", l, "n/a", "n/a", "n/a", "n/a", "-", "-", "-";
		else
			printf "| %-36s | %8.1f | %5.2fx | %8.1f | %5.2fx | %s | %s |\n", l, x[1] / 1e6, x[1] / y[1], x[2] / 1e6, x[2] / y[2], bpe, cvs }'
}
# interned | inline: "wall cpu", then the kept trace's bytes and events and conversion ns
trace_stats() {
	by=$(du -sb "$TMP/keep/ust" 2>/dev/null | cut -f1)
	ev=$(sed -n 's/.*: \([0-9]*\) events -> .*/\1/p' "$TMP/conv.err" | head -n 1)
	[ -n "$ev" ] || ev=$("$CONV" "$TMP/keep/ust" -o "$TMP/conv.mpt" 2>&1 | sed -n 's/.*: \([0-9]*\) events -> .*/\1/p' | head -n 1)
	cv=$(sort -n "$TMP/convs" | head -n 1)
	echo "${by:-0} ${ev:-0} ${cv:-}"
}
echo "| setup                                | wall ms  | ratio  | CPU ms   | ratio  | B/event  | conv s  | M ev/s |"
echo "|--------------------------------------|----------|--------|----------|--------|----------|---------|--------|"
arow "no tracing" "$abase"
vi=$(KEEP=1 own "$REC" -q --keep-trace "$TMP/trace" -- "$AW" "$OPS"); si=$(trace_stats)
arow "mpa, stacks interned (default)" "$vi" $si
vn=$(KEEP=1 own env MPA_STACK_IDS=0 "$REC" -q --keep-trace "$TMP/trace" -- "$AW" "$OPS"); sn=$(trace_stats)
arow "mpa, stacks inline (MPA_STACK_IDS=0)" "$vn" $sn
if command -v heaptrack >/dev/null 2>&1; then
	arow "heaptrack" "$(cd "$TMP" && own locked heaptrack -o "$TMP/heaptrack.bench" "$AW" "$OPS")"
else
	arow "heaptrack (not installed)" ""
fi
ratios() { # label "bytes events conv" (interned) "bytes events conv" (inline)
	set -- "$1" $2 $3
	awk -v l="$1" -v bi="$2" -v ei="$3" -v ci="${4:-0}" -v bn="$5" -v en="$6" -v cn="${7:-0}" 'BEGIN {
		if (ei > 0 && en > 0 && ci > 0 && cn > 0)
			printf "%s interned / inline: %.1f / %.1f bytes per event (%.2fx), conversion %.2f / %.2f s (%.2fx)\n",
				l, bi / ei, bn / en, (bi / ei) / (bn / en), ci / 1e9, cn / 1e9, ci / cn }'
}
echo
ratios "analyze_bench_workload (about 5 frames per stack):" "$si" "$sn"
# The same for deep stacks: preload_bench's loop, 20 frames deep (all 16
# frames recorded), lossless; only the traces and their conversions.
PB=$((PAIRS / 4))
own_of() { sed -n 's/^ns_per_pair=\([0-9.]*\) cpu_ns_per_pair=\([0-9.]*\).*/\1 \2/p' "$1" | head -n 1; }
KEEP=1 own "$REC" -q --lossless --keep-trace "$TMP/trace" -- "$W" "$PB" > /dev/null; si=$(trace_stats)
KEEP=1 own env MPA_STACK_IDS=0 "$REC" -q --lossless --keep-trace "$TMP/trace" -- "$W" "$PB" > /dev/null; sn=$(trace_stats)
ratios "preload_bench $PB pairs (16 frames per stack):" "$si" "$sn"
