#!/bin/sh
# mpa-monitor / mpa-top benchmark: what the interval sampler costs on top
# of the analyzers' one pass, and why mpa-top keeps per-interval snapshots
# instead of re-running the pass to the cursor.
#
# On a generated capture of MONITOR_BENCH_EVENTS (default 2 M) events:
#   - mpa-analyze --all (JSON only): the analyzers' pass;
#   - mpa-monitor --speed 0: the same pass plus the sampler, one JSON
#     object per interval (what mpa-top computes before it shows anything);
#   - the cost of one cursor move if mpa-top re-ran the pass to the cursor
#     instead (on average half a pass) against a snapshot lookup (none).
# The allocation -> mpa-monitor latency on a live session and the live
# mode's slowdown: bench/live_bench.sh (make live-bench).
#
# Environment: MPA_BUILD (build dir), MONITOR_BENCH_EVENTS, MONITOR_BENCH_OUT.
set -eu
B=${MPA_BUILD:-$(pwd)/build}
N=${MONITOR_BENCH_EVENTS:-2000000}
OUT=${MONITOR_BENCH_OUT:-bench/out/monitor}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
tm() { name=$1; shift; /usr/bin/time -f "%e %U %S %M" -o "$OUT/$name.time" "$@"; }
field() { awk -v f="$2" '{print $f}' "$OUT/$1.time"; }
cpu() { awk '{printf "%.2f", $2 + $3}' "$OUT/$1.time"; }

echo "== monitor bench: $N events =="
"$B/bench/analyze_bench_gen" -o "$OUT/model.mpt" -n "$N"
tm analyze "$B/bin/mpa-analyze" "$OUT/model.mpt" --all -o "$OUT/report" -q --no-config \
	--set visualization.formats=json
tm monitor sh -c "'$B/bin/mpa-monitor' '$OUT/model.mpt' --speed 0 --format json --no-config > '$OUT/monitor.jsonl'"
LINES=$(wc -l < "$OUT/monitor.jsonl")
for r in analyze monitor; do
	printf "%-30s: %6.2f s cpu, %6.2f s wall, peak RSS %s KiB\n" \
		"$([ $r = analyze ] && echo "mpa-analyze --all (json)" || echo "mpa-monitor (pass + sampler)")" \
		"$(cpu $r)" "$(field $r 1)" "$(field $r 4)"
done
awk -v a="$(cpu analyze)" -v m="$(cpu monitor)" -v l="$LINES" 'BEGIN {
	printf "sampler overhead              : %+.0f%% cpu over the analyzers (%d intervals kept)\n", (a > 0 ? (m - a) / a * 100 : 0), l
	printf "cursor move, re-running       : %.2f s cpu on average (half a pass) vs a snapshot lookup (no pass)\n", m / 2 }'
echo "allocation -> monitor latency : make live-bench (bench/live_bench.sh)"
