#!/bin/sh
# bench/convert_bench.sh — mpa-convert against babeltrace2 on the same trace.
#
# Records (once) a lttng_ust_libc trace of about $CVT_BENCH_EVENTS events
# (default 10M) under /tmp, then prints:
#   - events/s of `babeltrace2 TRACE -o dummy` (decode only) and of
#     `mpa-convert --jobs 1 TRACE -o X.mpt` (decode + map + symbolize +
#     write) and `mpa-convert --jobs 2` (parallel decoding, see
#     doc/converting.md), their ratios, and whether both captures are the
#     same byte for byte;
#   - .mpt bytes against the CTF stream bytes, as a ratio;
#   - how the events are spread over stream files (parallel decoding of
#     independent stream files can only help when several are large), and
#     the ceiling of 2-way decoding: the largest stream file cut in two at a
#     packet boundary (from its LTTng index), both halves decoded by
#     `babeltrace2 -o dummy` at the same time (CVT_BENCH_SPLIT=0 skips it);
#   - the same three commands on an mpa:* trace with stacks (mpa-record
#     --keep-trace, default stacks) of about $CVT_BENCH_MPA_EVENTS events
#     (default 3M; 0 skips it).
# Environment: MPA_BUILD (build dir, absolute), CVT_BENCH_EVENTS,
# CVT_BENCH_MPA_EVENTS, CVT_BENCH_DIR (default /tmp/mpa-convert-bench;
# never commit it).
set -eu
: "${MPA_BUILD:?set MPA_BUILD to the absolute build directory}"
EVENTS=${CVT_BENCH_EVENTS:-10000000}
DIR=${CVT_BENCH_DIR:-/tmp/mpa-convert-bench}
TRACE=$DIR/trace-$EVENTS
WL=$MPA_BUILD/tests/converters/cvt-workload
OUT=$DIR/bench.mpt

mkdir -p "$DIR"
# A workload rebuilt since the recording no longer matches the trace's build
# ids (symbolization then refuses it): record again.
if [ -f "$TRACE/.complete" ] && [ "$WL" -nt "$TRACE/.complete" ]; then
	echo "convert_bench: $WL is newer than the trace, recording again" >&2
	rm -f "$TRACE/.complete"
fi
if [ ! -f "$TRACE/.complete" ]; then
	rm -rf "$TRACE"
	pgrep -x lttng-sessiond >/dev/null || lttng-sessiond --daemonize
	S=mpa-cvt-bench-$$
	# 9 traced calls per workload round
	ROUNDS=$((EVENTS / 9 + 1))
	echo "convert_bench: recording ~$EVENTS lttng_ust_libc events into $TRACE" >&2
	lttng create "$S" -o "$TRACE" >/dev/null
	trap 'lttng destroy "$S" >/dev/null 2>&1 || true' EXIT
	lttng enable-channel -s "$S" -u ch --subbuf-size=4M --num-subbuf=8 --blocking-timeout=inf >/dev/null
	lttng enable-event -s "$S" -u -c ch 'lttng_ust_libc:*,lttng_ust_statedump:*' >/dev/null
	lttng add-context -s "$S" -u -c ch -t vpid -t vtid -t ip >/dev/null
	lttng start "$S" >/dev/null
	LTTNG_UST_ALLOW_BLOCKING=1 LD_PRELOAD=liblttng-ust-fork.so:liblttng-ust-libc-wrapper.so "$WL" "$ROUNDS"
	lttng stop "$S" >/dev/null
	lttng destroy "$S" >/dev/null
	trap - EXIT
	touch "$TRACE/.complete"
fi

META=$(dirname "$(find "$TRACE" -name metadata | head -1)")
CTF_BYTES=$(find "$TRACE" -type f ! -name '*.idx' ! -name '.complete' -printf '%s\n' | awk '{s+=$1} END {print s}')

# Wall time and CPU time (user + sys) of each; on a shared machine the CPU
# ratio is the stable one, the wall ratio shows the writer thread's overlap.
TIMEF='%e %U %S'
# babeltrace2 -o dummy, mpa-convert --jobs 1 and --jobs 2 on trace $1 (the
# folder holding metadata: $2), one after the other; the captures are
# written to the same path (the command is part of their metadata) and
# compared byte for byte.
run3() {
	/usr/bin/time -f "$TIMEF" -o "$DIR/bt.time" babeltrace2 "$2" -o dummy
	rm -f "$OUT"
	/usr/bin/time -f "$TIMEF" -o "$DIR/cv.time" "$MPA_BUILD/bin/mpa-convert" --jobs 1 "$1" -o "$OUT" 2>"$DIR/convert.log"
	cat "$DIR/convert.log" >&2
	mv "$OUT" "$OUT.1"
	/usr/bin/time -f "$TIMEF" -o "$DIR/cv2.time" "$MPA_BUILD/bin/mpa-convert" --jobs 2 "$1" -o "$OUT" 2>"$DIR/convert2.log"
	cat "$DIR/convert2.log" >&2
	SAME=no
	cmp -s "$OUT" "$OUT.1" && SAME=yes
	rm -f "$OUT.1"
	N=$(sed -n "s/.*': \([0-9]*\) events -> .*/\1/p" "$DIR/convert.log")
	MPT_BYTES=$(stat -c %s "$OUT")
}

# ratios of run3's times
ratios() {
	awk -v n="$N" -v bt="$(cat "$DIR/bt.time")" -v cv="$(cat "$DIR/cv.time")" \
	    -v c2="$(cat "$DIR/cv2.time")" -v same="$SAME" -v what="$1" 'BEGIN {
		split(bt, b, " "); split(cv, c, " "); split(c2, d, " ");
		bw = b[1]; bc = b[2] + b[3]; cw = c[1]; cc = c[2] + c[3]; dw = d[1]; dc = d[2] + d[3];
		printf "convert_bench: %d events (%s)\n", n, what;
		printf "  babeltrace2 -o dummy   wall %7.2f s %7.3f M ev/s   cpu %7.2f s %7.3f M ev/s\n", bw, n / bw / 1e6, bc, n / bc / 1e6;
		printf "  mpa-convert --jobs 1   wall %7.2f s %7.3f M ev/s   cpu %7.2f s %7.3f M ev/s\n", cw, n / cw / 1e6, cc, n / cc / 1e6;
		printf "  mpa-convert --jobs 2   wall %7.2f s %7.3f M ev/s   cpu %7.2f s %7.3f M ev/s\n", dw, n / dw / 1e6, dc, n / dc / 1e6;
		printf "  speed ratio mpa-convert --jobs 1 / babeltrace2 dummy: wall %.3f, cpu %.3f\n", bw / cw, bc / cc;
		printf "  speed ratio mpa-convert --jobs 2 / babeltrace2 dummy: wall %.3f (goal 1.5), cpu %.3f\n", bw / dw, bc / dc;
		printf "  --jobs 2 capture identical to --jobs 1: %s\n", same;
	}'
}

run3 "$TRACE" "$META"

ratios "lttng_ust_libc + statedump"
awk -v n="$N" -v ctf="$CTF_BYTES" -v mpt="$MPT_BYTES" 'BEGIN {
	printf "  size: CTF %d bytes, .mpt %d bytes (%.3f bytes/event)\n", ctf, mpt, mpt / n;
	printf "  size ratio .mpt / CTF: %.4f (CTF is %.1fx larger)\n", mpt / ctf, ctf / mpt;
}'

# Stream files: count and the share of the largest.
BIG=$(find "$META" -maxdepth 1 -type f ! -name metadata -printf '%s %p\n' | sort -rn | head -1)
NSTREAMS=$(find "$META" -maxdepth 1 -type f ! -name metadata | wc -l)
BIG_BYTES=${BIG%% *}
BIG_FILE=${BIG#* }
awk -v n="$NSTREAMS" -v b="$BIG_BYTES" -v t="$CTF_BYTES" -v f="$(basename "$BIG_FILE")" 'BEGIN {
	printf "  stream files: %d, largest %s holds %.2f %% of the CTF bytes\n", n, f, 100 * b / t;
}'

IDX="$META/index/$(basename "$BIG_FILE").idx"
if [ "${CVT_BENCH_SPLIT:-1}" != 0 ] && [ -f "$IDX" ]; then
	# Byte offset of the packet starting nearest the middle of the file
	# (index: 16-byte big-endian header, entries start with the offset).
	CUT=$(/usr/bin/python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, _, _, elen = struct.unpack(">IIII", d[:16])
if magic != 0xC1F1DCC1 or elen < 8:
    sys.exit(1)
offs = [struct.unpack(">Q", d[o:o + 8])[0] for o in range(16, len(d) - elen + 1, elen)]
half = int(sys.argv[2]) // 2
print(min(offs, key=lambda o: abs(o - half)) if offs else 0)' "$IDX" "$BIG_BYTES") || CUT=0
	if [ "$CUT" -gt 0 ]; then
		SPL=$DIR/split
		rm -rf "$SPL"
		mkdir -p "$SPL/a" "$SPL/b"
		for h in a b; do
			ln -s "$META/metadata" "$SPL/$h/metadata"
		done
		head -c "$CUT" "$BIG_FILE" >"$SPL/a/s"
		tail -c +"$((CUT + 1))" "$BIG_FILE" >"$SPL/b/s"
		/usr/bin/time -f '%e' -o "$DIR/split.time" sh -c \
			"babeltrace2 '$SPL/a' -o dummy & babeltrace2 '$SPL/b' -o dummy & wait"
		rm -rf "$SPL"
		awk -v bt="$(cat "$DIR/bt.time")" -v sw="$(cat "$DIR/split.time")" -v n="$N" 'BEGIN {
			split(bt, b, " ");
			printf "  2-way decode ceiling (largest file cut at a packet, 2 babeltrace2 -o dummy at once):\n";
			printf "    wall %7.2f s %7.3f M ev/s (%.2fx babeltrace2 -o dummy wall)\n", sw, n / sw / 1e6, b[1] / sw;
		}'
	fi
fi

# The mpa:* provider with stacks: mpa-record's own trace (default stacks).
MPA_EVENTS=${CVT_BENCH_MPA_EVENTS:-3000000}
if [ "$MPA_EVENTS" -gt 0 ]; then
	MTRACE=$DIR/mpa-trace-$MPA_EVENTS
	if [ -f "$MTRACE/.complete" ] && { [ "$WL" -nt "$MTRACE/.complete" ] ||
	   [ "$MPA_BUILD/lib/libmpa-preload.so" -nt "$MTRACE/.complete" ]; }; then
		rm -f "$MTRACE/.complete"
	fi
	if [ ! -f "$MTRACE/.complete" ]; then
		rm -rf "$MTRACE"
		echo "convert_bench: recording ~$MPA_EVENTS mpa:* events into $MTRACE" >&2
		"$MPA_BUILD/bin/mpa-record" --keep-trace "$MTRACE" -- "$WL" $((MPA_EVENTS / 9 + 1)) >&2
		touch "$MTRACE/.complete"
	fi
	MMETA=$(dirname "$(find "$MTRACE" -name metadata | head -1)")
	run3 "$MTRACE" "$MMETA"
	ratios "mpa:* with stacks, mpa-record --keep-trace"
fi
