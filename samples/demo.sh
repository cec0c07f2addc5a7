#!/bin/sh
# make demo: record the demo program when LTTng works here, otherwise analyze
# the capture shipped in samples/, then run every analyzer on it.
set -u
BUILD=${BUILD:-build}
OUT=${DEMO_OUT:-mpa-report}
bin="$BUILD/bin"
mkdir -p "$OUT"
capture="$OUT/demo.mpt"

can_record() {
	command -v lttng >/dev/null 2>&1 || return 1
	[ -x "$bin/mpa-record" ] || return 1
	pgrep -x lttng-sessiond >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || return 1
	lttng-sessiond --daemonize >/dev/null 2>&1 || return 1
}

if can_record; then
	echo "demo: recording $BUILD/samples/mpa-demo with mpa-record"
	rm -f "$capture"
	if ! "$bin/mpa-record" -o "$capture" -- "$BUILD/samples/mpa-demo"; then
		echo "demo: recording failed; falling back to samples/demo.mpt" >&2
		cp samples/demo.mpt "$capture" || exit 1
	fi
else
	echo "demo: LTTng is not usable here; analyzing the shipped capture samples/demo.mpt"
	cp samples/demo.mpt "$capture" || exit 1
fi

"$bin/mpa-cat" "$capture" | head -n 25
echo
"$bin/mpa-analyze" "$capture" --all -o "$OUT/report" || exit 1
echo
echo "demo: capture:  $capture"
echo "demo: report:   $OUT/report/report.html (CSV, JSON and SVG files beside it)"
