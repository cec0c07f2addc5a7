#!/bin/bash
# Live-mode benchmark (issue 15, doc/live.md):
#  1. latency: from the moment wl-live is told to allocate (its second step:
#     200 x 1000 bytes, right after it reads the fifo) to the first
#     `mpa-monitor --live --format json` line showing them (live_bytes >=
#     2 steps), over LIVE_BENCH_RUNS runs; live timer 100 ms, --interval
#     200 ms.  Bounded below by the live timer + the relay's delivery + the
#     segment interval + the monitor's interval.
#  2. slowdown: cvt-workload LIVE_BENCH_ROUNDS rounds traced into a file
#     session vs a live session (relay on localhost, a viewer attached),
#     wall time of the program alone, the two taken in the same run,
#     alternating, LIVE_BENCH_RUNS times each; ratio of the medians.
# Needs root's lttng-sessiond (or the user's) and lttng-relayd.
# Environment: MPA_BUILD, LIVE_BENCH_RUNS (5), LIVE_BENCH_ROUNDS (20000).
set -eu
B=${MPA_BUILD:-$(pwd)/build}
RUNS=${LIVE_BENCH_RUNS:-5}
ROUNDS=${LIVE_BENCH_ROUNDS:-20000}
if ! command -v lttng-relayd >/dev/null || ! lttng list >/dev/null 2>&1; then
	echo "== live bench: no lttng-relayd or session daemon here: skipped =="
	exit 0
fi
D=$(mktemp -d "${TMPDIR:-/tmp}/mpa-live-bench.XXXXXX")
PRE="$B/lib/libmpa-preload.so:liblttng-ust-fork.so:liblttng-ust-dl.so"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PC=$(port); PD=$(port); PL=$(port)
RP=
cleanup() {
	for s in $(lttng list 2>/dev/null | grep -o "mpa-live-bench-$$-[0-9a-z-]*" | sort -u); do
		lttng destroy "$s" >/dev/null 2>&1 || true
	done
	[ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
lttng-relayd -C tcp://127.0.0.1:$PC -D tcp://127.0.0.1:$PD -L tcp://127.0.0.1:$PL -o "$D/relay" \
	>"$D/relayd.log" 2>&1 &
RP=$!
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PL) 2>/dev/null && break; sleep 0.1; done
now() { date +%s%N; }
session() { # NAME live|file PROCNAME
	if [ "$2" = live ]; then
		lttng create "$1" --live=100000 --set-url=net://127.0.0.1:$PC:$PD >/dev/null
	else
		lttng create "$1" --output="$D/file-$1" >/dev/null
	fi
	lttng enable-channel -u -s "$1" --subbuf-size=4M --num-subbuf=8 mpa >/dev/null
	lttng add-context -u -s "$1" -c mpa -t vpid -t vtid -t ip >/dev/null
	lttng enable-event -u -s "$1" -c mpa 'mpa:*' --filter "\$ctx.procname == \"$3\"" >/dev/null
	lttng enable-event -u -s "$1" -c mpa 'lttng_ust_statedump:*,lttng_ust_dl:*' >/dev/null
	lttng start "$1" >/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== live bench ($(date -u +%F), $RUNS runs) =="
: >"$D/lat"
for r in $(seq "$RUNS"); do
	S=mpa-live-bench-$$-l$r
	session "$S" live wl-live
	rm -f "$D/fifo" "$D/att" "$D/mon.out"; mkfifo "$D/fifo"
	exec 4<>"$D/fifo" # a writer of our own: the echos below never block
	MPA_CONVERT_ATTACHED="$D/att" "$B/bin/mpa-monitor" --live \
		"net://127.0.0.1:$PL/host/$(hostname)/$S" --interval 200ms --format json \
		--no-config >"$D/mon.out" 2>"$D/mon.err" &
	MP=$!
	while [ ! -e "$D/att" ] && kill -0 "$MP" 2>/dev/null; do sleep 0.05; done
	LD_PRELOAD=$PRE "$B/tests/workloads/wl-live" "$D/fifo" 200 1000 >/dev/null 2>&1 &
	PP=$!
	ok=1
	until grep -q '"live_bytes":[2-9][0-9][0-9][0-9][0-9][0-9]' "$D/mon.out" 2>/dev/null; do
		kill -0 "$MP" 2>/dev/null || { ok=0; break; }; sleep 0.01
	done
	t0=$(now); echo go >"$D/fifo"
	while [ $ok = 1 ] && ! grep -q '"live_bytes":[4-9][0-9][0-9][0-9][0-9][0-9]' "$D/mon.out" 2>/dev/null; do
		kill -0 "$MP" 2>/dev/null || { ok=0; break; }; sleep 0.005
	done
	t1=$(now)
	if [ $ok = 1 ]; then
		echo $(( (t1 - t0) / 1000000 )) >>"$D/lat"
	else
		echo "run $r: the viewer failed: $(tail -c 300 "$D/mon.err")"
	fi
	echo go >"$D/fifo"; wait "$PP" || true
	lttng destroy "$S" >/dev/null
	wait "$MP" || true
done
[ -s "$D/lat" ] || { echo "no run succeeded"; exit 1; }
echo "allocation -> mpa-monitor json latency: median $(median <"$D/lat") ms," \
	"min $(sort -n "$D/lat" | head -1) ms, max $(sort -n "$D/lat" | tail -1) ms" \
	"(live timer 100 ms, --interval 200 ms)"

: >"$D/tfile"; : >"$D/tlive"
for r in $(seq "$RUNS"); do
	for mode in file live; do
		S=mpa-live-bench-$$-$mode$r
		session "$S" $mode cvt-workload
		MP=
		if [ $mode = live ]; then
			rm -f "$D/att"
			MPA_CONVERT_ATTACHED="$D/att" "$B/bin/mpa-monitor" --live \
				"net://127.0.0.1:$PL/host/$(hostname)/$S" --interval 200ms \
				--format json --no-config >/dev/null 2>&1 &
			MP=$!
			while [ ! -e "$D/att" ] && kill -0 "$MP" 2>/dev/null; do sleep 0.05; done
		fi
		t0=$(now)
		LD_PRELOAD=$PRE "$B/tests/converters/cvt-workload" "$ROUNDS" >/dev/null 2>&1
		t1=$(now)
		echo $(( (t1 - t0) / 1000000 )) >>"$D/t$mode"
		lttng destroy "$S" >/dev/null
		[ -n "$MP" ] && { wait "$MP" || true; }
	done
done
f=$(median <"$D/tfile"); l=$(median <"$D/tlive")
echo "cvt-workload $ROUNDS rounds: file session median $f ms, live session (viewer attached)" \
	"median $l ms: live/file = $(awk -v a="$l" -v b="$f" 'BEGIN{printf "%.2f", a/b}')"
