#!/bin/sh
# make check-beside: `make check` while another recording runs beside it
# (issue 13).  A background mpa-record of a busy program (wl-busy, one
# process) records for the whole run; the suite must pass as it does alone,
# and the background capture must hold its own process and nothing of the
# hundreds of programs the suite records meanwhile.
#
#   sh tests/check_beside.sh BUILD_DIR COMMAND...
#
# `make check` runs its plain test pass this way (COMMAND = make test-run),
# so every run of the suite, CI's included, has a recording beside it;
# `make check-beside` runs the whole of `make check` so (COMMAND = make
# check).
set -u
build=$1
shift
tmp=$(mktemp -d /tmp/mpa-beside-XXXXXX) || exit 2
rec_bin=$build/bin/mpa-record
busy=$build/tests/workloads/wl-busy

"$rec_bin" -q -o "$tmp/beside.mpt" -- "$busy" 9990 86400 slow 2>"$tmp/err" &
rec=$!
echo "check-beside: background recording $rec (wl-busy, capture $tmp/beside.mpt)"

"$@"
status=$?

# SIGINT: forwarded to the program, the capture is still written
kill -INT "$rec"
wait "$rec"
rstatus=$?
if [ "$rstatus" -ne 130 ]; then
	echo "check-beside: the background recording ended with status $rstatus:" >&2
	cat "$tmp/err" >&2
	status=1
else
	pids=$("$build/bin/mpa-cat" -f csv -c pid "$tmp/beside.mpt" | tail -n +2 | sort -u | wc -l)
	own=$("$build/bin/mpa-cat" -f csv -k alloc -c size "$tmp/beside.mpt" | grep -c '^9990$')
	if [ "$pids" -ne 1 ] || [ "$own" -eq 0 ]; then
		echo "check-beside: the background capture holds $pids processes" \
			"($own allocations of its own program): not isolated" >&2
		status=1
	else
		echo "check-beside: background capture: 1 process, $own allocations of its own"
	fi
fi
rm -rf "$tmp"
exit $status
