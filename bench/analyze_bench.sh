#!/bin/sh
# mpa-analyze benchmark: --all (and --leak) throughput in events/s and peak
# RSS on a capture of ANALYZE_BENCH_EVENTS (default 10 M) events, against
# heaptrack_print on the same workload recorded with heaptrack.
#
# The capture comes from analyze_bench_gen (the allocation model of
# analyze_bench_model.h written with the libmpt writer); heaptrack records
# analyze_bench_workload, which performs the very same operations with the
# real allocator.  Both sides therefore process the same number of
# allocation-function calls; the rates below are calls (= capture events)
# per second of wall time, and per second of CPU time (user+sys), which is
# the fairer figure on a shared machine.
#
# heaptrack 1.4.0 on this machine aborts the recorded program with
# std::bad_alloc (thrown in its preload's timer thread) after about a
# million operations, so heaptrack records a shorter run of the same model
# (ANALYZE_BENCH_HT_EVENTS, default 1 M; halved until a recording completes)
# and its rate is per operation of that run.
#
# ANALYZE_BENCH_RECORD=1 records the workload with mpa-record instead of
# generating the capture (real stacks and addresses; needs LTTng; slower).
#
# ANALYZE_BENCH_BASELINE=DIR times the mpa-analyze of another build (DIR/bin,
# e.g. a checkout of an earlier commit built with `make BUILD=...`) on the
# same capture in the same run, for before/after figures.
#
# Environment: MPA_BUILD (build dir), ANALYZE_BENCH_EVENTS,
# ANALYZE_BENCH_HT_EVENTS, ANALYZE_BENCH_RECORD, ANALYZE_BENCH_OUT,
# ANALYZE_BENCH_BASELINE, ANALYZE_BENCH_CG_EVENTS (callgrind's capture;
# 0 = no callgrind).
set -eu
B=${MPA_BUILD:-$(pwd)/build}
N=${ANALYZE_BENCH_EVENTS:-10000000}
OUT=${ANALYZE_BENCH_OUT:-bench/out/analyze}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

tm() { # tm NAME CMD... : runs CMD, writes NAME.time "wall user sys maxrss_kb"
	name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$OUT/$name.time" "$@"
}
field() { awk -v f="$2" '{print $f}' "$OUT/$1.time"; }
cpu() { awk '{printf "%.3f", $2 + $3}' "$OUT/$1.time"; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "== analyze bench: $N events =="
if [ "${ANALYZE_BENCH_RECORD:-0}" = 1 ] && [ -x "$B/bin/mpa-record" ]; then
	# a real recording of the workload (LTTng + the mpa hooks + the converter)
	"$B/bin/mpa-record" --lossless -q -o "$OUT/model.mpt" -- \
		"$B/bench/analyze_bench_workload" "$N" > "$OUT/recorded-workload.txt"
	echo "capture recorded with mpa-record ($(sed -n 's/^leaked/the workload leaked/p' "$OUT/recorded-workload.txt"))"
else
	"$B/bench/analyze_bench_gen" -o "$OUT/model.mpt" -n "$N"
fi
tm all "$B/bin/mpa-analyze" "$OUT/model.mpt" --all -o "$OUT/report-all" -q
tm leak "$B/bin/mpa-analyze" "$OUT/model.mpt" --leak -o "$OUT/report-leak" -q
# --all against every other analyzer without the heap-structure ones
# (issue 16: --frag and --pool ride the same single heap replay, so --all
# must stay within 25 % of --all without them)
OLDSET=$("$B/bin/mpa-analyze" --list 2>/dev/null |
	awk '/^  [a-z]/ && !/^   / && $1 != "frag" && $1 != "pool" {printf "%s--%s", s, $1; s=" "}')
# shellcheck disable=SC2086
tm all_old "$B/bin/mpa-analyze" "$OUT/model.mpt" $OLDSET -o "$OUT/report-all-old" -q
PARTS="all all_old leak"
# a baseline build on the same capture (before/after)
BASE=${ANALYZE_BENCH_BASELINE:-}
if [ -n "$BASE" ] && [ -x "$BASE/bin/mpa-analyze" ]; then
	tm base_all "$BASE/bin/mpa-analyze" "$OUT/model.mpt" --all -o "$OUT/report-base-all" -q
	tm base_leak "$BASE/bin/mpa-analyze" "$OUT/model.mpt" --leak -o "$OUT/report-base-leak" -q
	PARTS="$PARTS base_all base_leak"
fi
# the decoding alone (mpa-cat --verify decodes and checks every column)
if [ -x "$B/bin/mpa-cat" ]; then
	tm decode "$B/bin/mpa-cat" --verify "$OUT/model.mpt" > /dev/null
	PARTS="$PARTS decode"
fi
EV=$(sed -n 's/.*"rows": \([0-9]*\),*$/\1/p' "$OUT/report-all/summary.json" | head -1)
DEF=$(awk '/"in_use_at_exit": \{/{f=1} f && /"bytes"/{gsub(/[^0-9]/,""); print; exit}' "$OUT/report-leak/summary.json")
SIZE=$(stat -c %s "$OUT/model.mpt")

HT=""
HTN=${ANALYZE_BENCH_HT_EVENTS:-1000000}
if command -v heaptrack >/dev/null 2>&1 && command -v heaptrack_print >/dev/null 2>&1; then
	while [ "$HTN" -ge 10000 ]; do
		rm -f "$OUT"/ht.*
		(cd "$OUT" && heaptrack -o "$OUT/ht" "$B/bench/analyze_bench_workload" "$HTN" \
			> "$OUT/workload.txt" 2> "$OUT/heaptrack-record.txt") || true
		if grep -q '^leaked' "$OUT/workload.txt"; then
			HT=$(ls "$OUT"/ht.*zst "$OUT"/ht.*gz 2>/dev/null | head -1 || true)
			break
		fi
		echo "heaptrack recording of $HTN operations failed ($(grep -m1 -o 'bad_alloc\|[a-z ]*error' "$OUT/heaptrack-record.txt" || echo '?')); retrying with fewer"
		HTN=$((HTN / 2))
	done
fi
if [ -n "$HT" ]; then
	# best of three: heaptrack_print is short at this size
	best=""
	for k in 1 2 3; do
		tm htp$k heaptrack_print "$HT" > "$OUT/heaptrack_print.txt"
		c=$(cpu htp$k)
		if [ -z "$best" ] || awk -v a="$c" -v b="$(cpu "$best")" 'BEGIN{exit !(a < b)}'; then
			best=htp$k
		fi
	done
	cp "$OUT/$best.time" "$OUT/htp.time"
	CALLS=$(sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$OUT/heaptrack_print.txt")
	HTLEAK=$(sed -n 's/^total memory leaked: \(.*\)/\1/p' "$OUT/heaptrack_print.txt")
	HTOPS=$(sed -n 's/^ops \([0-9]*\)/\1/p' "$OUT/workload.txt")
else
	echo "heaptrack not available: no comparison"
fi
WL=$(sed -n 's/^leaked \([0-9]*\) bytes.*/\1/p' "$OUT/workload.txt" 2>/dev/null || true)

echo
printf "capture: %s events, %s bytes (%.2f B/event)\n" "$EV" "$SIZE" "$(awk -v s="$SIZE" -v n="$EV" 'BEGIN{print s/n}')"
for r in $PARTS; do
	case $r in
	base_all) label="baseline --all" ;;
	base_leak) label="baseline --leak" ;;
	decode) label="decode (mpa-cat)" ;;
	all_old) label="--all -frag -pool" ;;
	*) label="--$r" ;;
	esac
	w=$(field $r 1); c=$(cpu $r); m=$(field $r 4)
	printf "%-17s: %6.2f s wall, %6.2f s cpu, %10s events/s wall, %10s events/s cpu, peak RSS %s KiB\n" \
		"$label" "$w" "$c" "$(rate "$EV" "$w")" "$(rate "$EV" "$c")" "$m"
done
if [ -n "$HT" ]; then
	w=$(field htp 1); c=$(cpu htp); m=$(field htp 4)
	# heaptrack_print reads every call the recorded run made (HTOPS operations)
	printf "heaptrack_print  : %6.2f s wall, %6.2f s cpu, %10s calls/s wall,  %10s calls/s cpu,  peak RSS %s KiB (%s operations, %s allocation calls)\n" \
		"$w" "$c" "$(rate "$HTOPS" "$w")" "$(rate "$HTOPS" "$c")" "$m" "$HTOPS" "$CALLS"
	HTR=$(rate "$HTOPS" "$c")
	echo
	echo "ratio of rates (mpa-analyze events/s / heaptrack_print calls/s, cpu time):"
	echo "  --all : $(ratio "$(rate "$EV" "$(cpu all)")" "$HTR")x   (target >= 10x)"
	echo "  --leak: $(ratio "$(rate "$EV" "$(cpu leak)")" "$HTR")x"
	if [ -n "$BASE" ] && [ -f "$OUT/base_all.time" ]; then
		echo "  baseline --all : $(ratio "$(rate "$EV" "$(cpu base_all)")" "$HTR")x   baseline --leak: $(ratio "$(rate "$EV" "$(cpu base_leak)")" "$HTR")x"
	fi
	echo "ratio of rates (wall time):"
	echo "  --all : $(ratio "$(rate "$EV" "$(field all 1)")" "$(rate "$HTOPS" "$(field htp 1)")")x   --leak: $(ratio "$(rate "$EV" "$(field leak 1)")" "$(rate "$HTOPS" "$(field htp 1)")")x"
	echo "peak RSS mpa-analyze --all ($EV events) / heaptrack_print ($HTOPS operations): $(ratio "$(field all 4)" "$(field htp 4)")"
	echo
	echo "leak check on the heaptrack run: workload leaked ${WL:-?} bytes by the model; heaptrack_print: ${HTLEAK:-?}"
fi
echo "leak check on the capture: mpa-analyze in use at exit ${DEF:-?} bytes"
echo "--all ($("$B/bin/mpa-analyze" --list 2>/dev/null | awk '/^  [a-z]/ && !/^   / {printf "%s%s", s, $1; s=","}')) against $OLDSET (cpu): $(ratio2 "$(cpu all)" "$(cpu all_old)")x the time   (issue 16: <= 1.25x)"
# The same ratio in instructions (callgrind: load-independent) on a
# shorter capture of the same model: ANALYZE_BENCH_CG_EVENTS (default 1 M;
# 0 = skip), decoding on one thread, JSON only.
CGN=${ANALYZE_BENCH_CG_EVENTS:-1000000}
if [ "$CGN" -gt 0 ] && command -v valgrind >/dev/null 2>&1; then
	"$B/bench/analyze_bench_gen" -o "$OUT/cg.mpt" -n "$CGN"
	cgrun() { # cgrun NAME ARGS...: instructions of mpa-analyze ARGS
		name=$1
		shift
		# shellcheck disable=SC2086
		valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$name.out" \
			"$B/bin/mpa-analyze" "$OUT/cg.mpt" "$@" --set monitoring.decode_threads=1 \
			--no-config --format json -q -o "$OUT/cg-$name" 2>&1 |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	# shellcheck disable=SC2086
	IA=$(cgrun all --all)
	# shellcheck disable=SC2086
	IO=$(cgrun old $OLDSET)
	echo "instructions (callgrind, $CGN events): --all $IA, without frag,pool $IO: $(ratio2 "$IA" "$IO")x   (issue 16: <= 1.25x)"
fi
if [ -n "$BASE" ] && [ -f "$OUT/base_all.time" ]; then
	echo "speed-up over the baseline (cpu): --all $(ratio "$(cpu base_all)" "$(cpu all)")x, --leak $(ratio "$(cpu base_leak)" "$(cpu leak)")x"
fi
