/* mpa-convert --jobs: parallel decoding gives the capture of one job, byte
 * for byte — on a real recording cut at packet boundaries, on the mpa
 * provider fixture (stacks, strings), on streams with events at the same
 * nanosecond (ordered as flt.utils.muxer orders them) and on traces with
 * discarded events (converted again with one job, or not cut) — and a corrupt piece fails the whole conversion with one
 * line and no output (doc/converting.md, "Parallel decoding"). */
#include "cvt_test_util.h"

/* Converts `trace` with --jobs N into dest: always to the same path, so
 * the captures' convert.command metadata is the same (--jobs is not
 * recorded).  Returns the exit status; stderr in errfile. */
static int convert_jobs(const char *tmp, const char *trace, int jobs, const char *dest,
			const char *errfile)
{
	char *out = ct_fmt("%s/o.mpt", tmp);
	int rc = ct_sh("TMPDIR='%s/shtmp' '%s/bin/mpa-convert' -v --jobs %d -o '%s' '%s' 2>'%s'",
		       tmp, ct_env("MPA_BUILD"), jobs, out, trace, errfile);
	if (rc == 0)
		rc = ct_sh("mv '%s' '%s'", out, dest);
	return rc;
}

static void gen_fixture(const char *kind, const char *dir, int n)
{
	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/gen_fixture.py' %s '%s' %d >/dev/null 2>&1",
			   ct_env("MPA_SRC"), kind, dir, n), 0, "gen_fixture.py %s failed", kind);
}

/* jobs 1 and jobs N give the same file; returns N's stderr. */
static char *same_capture(const char *tmp, const char *trace, int jobs)
{
	char *a = ct_fmt("%s/one.mpt", tmp), *b = ct_fmt("%s/many.mpt", tmp);
	char *ea = ct_fmt("%s/err1.txt", tmp), *eb = ct_fmt("%s/errn.txt", tmp);
	ct_sh("mkdir -p '%s/shtmp'", tmp);
	cr_assert_eq(convert_jobs(tmp, trace, 1, a, ea), 0, "--jobs 1: %s", ct_read_file(ea));
	cr_assert_eq(convert_jobs(tmp, trace, jobs, b, eb), 0, "--jobs %d: %s", jobs, ct_read_file(eb));
	cr_assert_eq(ct_sh("cmp -s '%s' '%s'", a, b), 0, "--jobs 1 and --jobs %d differ", jobs);
	/* the pieces are gone */
	cr_assert_eq(ct_count_entries(ct_fmt("%s/shtmp", tmp)), 0, "pieces left behind");
	return ct_read_file(eb);
}

static const char *FALLBACK = "converting again with one job";

Test(convert_jobs, mpa_fixture_merged_identical, .timeout = 180)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/mpa", tmp);
	gen_fixture("mpa", trace, 3000);
	char *err = same_capture(tmp, trace, 2);
	/* two stream files, two extract processes, merged: no fallback */
	cr_assert(!strstr(err, FALLBACK) && !strstr(err, "one job:"), "%s", err);
	ct_rmrf(tmp);
	ct_cleanup();
}

Test(convert_jobs, equal_timestamps_identical, .timeout = 180)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/ties", tmp);
	gen_fixture("ties", trace, 3000);
	/* the fixture does put events of both streams on one nanosecond */
	cr_assert_eq(ct_sh("test $(babeltrace2 '%s' | awk '{print $1}' | sort | uniq -d | wc -l) -gt 10",
			   trace), 0);
	/* ordered by flt.utils.muxer's rule (stream class id, stream id), no
	 * second conversion */
	char *err = same_capture(tmp, trace, 2);
	cr_assert(!strstr(err, FALLBACK) && !strstr(err, "one job:"), "%s", err);
	ct_rmrf(tmp);
	ct_cleanup();
}

Test(convert_jobs, discarded_events_identical, .timeout = 300)
{
	char *tmp = ct_tmpdir();
	/* discarded events and packets inside a piece (no index: whole files) */
	char *kmem = ct_fmt("%s/kmem", tmp);
	gen_fixture("kmem", kmem, 400);
	char *err = same_capture(tmp, kmem, 2);
	cr_assert(strstr(err, "discarded") && strstr(err, FALLBACK), "%s", err);
	if (!ct_lttng_ready()) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("lttng is not usable here");
	}
	/* a real lossy recording: its index shows the losses, no cut at all */
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 30000", ct_env("MPA_BUILD"));
	if (ct_record_ust_mode(tmp, "jlossy", wl, 1) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *trace = ct_fmt("%s/trace", tmp);
	err = same_capture(tmp, trace, 4);
	cr_assert(strstr(err, "discarded events or packets"), "%s", err);
	struct ct_capture c;
	ct_load(&c, ct_fmt("%s/many.mpt", tmp));
	cr_assert_gt(ct_meta_u64(&c, "lost_events"), 0, "2 x 4 KiB buffers should have discarded events");
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

Test(convert_jobs, real_recording_cut_identical_and_corrupt_piece_fails, .timeout = 300)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	/* 9 traced calls per round: ~270k events, 1 MiB packets */
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 30000", ct_env("MPA_BUILD"));
	if (ct_record_ust(tmp, "jobs", wl) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *trace = ct_fmt("%s/trace", tmp);
	char *err = same_capture(tmp, trace, 4);
	cr_assert(!strstr(err, "one job:"), "the trace was not cut: %s", err);
	struct ct_capture c;
	ct_load(&c, ct_fmt("%s/many.mpt", tmp));
	cr_assert_gt(c.n, 200000, "only %zu records", c.n);
	ct_release(&c);

	/* a packet header of the largest stream file's second half zeroed:
	 * the piece holding it fails, and so does the conversion */
	cr_assert_eq(ct_sh("cd \"$(dirname \"$(find '%s' -name metadata | head -1)\")\" && "
			   "f=$(ls -S | head -1) && test -f index/$f.idx && "
			   "n=$(( ($(stat -c %%s index/$f.idx) - 16) / 72 )) && test $n -ge 4 && "
			   "off=$(od -An -t u1 -j $(( 16 + 72 * (n * 3 / 4) )) -N 8 index/$f.idx | "
			   "awk '{v=0; for (i = 1; i <= NF; i++) v = v * 256 + $i; print v}') && "
			   "dd if=/dev/zero of=$f bs=1 seek=$off count=4 conv=notrunc status=none",
			   trace), 0, "cannot corrupt the trace");
	ct_sh("mkdir -p '%s/out' '%s/shtmp'", tmp, tmp);
	char *ef = ct_fmt("%s/err.txt", tmp);
	int rc = ct_sh("TMPDIR='%s/shtmp' '%s/bin/mpa-convert' -q --jobs 4 -o '%s/out/x.mpt' '%s' 2>'%s'",
		       tmp, ct_env("MPA_BUILD"), tmp, trace, ef);
	char *msg = ct_read_file(ef);
	cr_assert_neq(rc, 0, "a corrupt piece converted");
	cr_assert(strncmp(msg, "mpa-convert: ", 13) == 0, "message: %s", msg);
	cr_assert(strchr(msg, '\n') == msg + strlen(msg) - 1, "not one line: %s", msg);
	cr_assert_eq(ct_count_entries(ct_fmt("%s/out", tmp)), 0, "output left behind");
	cr_assert_eq(ct_count_entries(ct_fmt("%s/shtmp", tmp)), 0, "pieces left behind");
	ct_rmrf(tmp);
	ct_cleanup();
}

/* The mpa:* provider with stacks (mpa-record's preload): stack sequences,
 * strings and build ids go through the extract records; pieces larger than
 * the sink's read buffer. */
Test(convert_jobs, mpa_recording_with_stacks_identical, .timeout = 300)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/mtrace", tmp);
	if (ct_sh("'%s/bin/mpa-record' --keep-trace '%s' -- '%s/tests/converters/cvt-workload' 20000 "
		  ">/dev/null 2>&1", ct_env("MPA_BUILD"), trace, ct_env("MPA_BUILD")) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record with mpa-record");
	}
	char *err = same_capture(tmp, trace, 3);
	cr_assert(!strstr(err, "one job:"), "the trace was not cut: %s", err);
	struct ct_capture c;
	ct_load(&c, ct_fmt("%s/many.mpt", tmp));
	cr_assert_gt(c.n, 150000, "only %zu records", c.n);
	cr_assert_gt(ct_meta_u64(&c, "source_events.mpa:alloc"), 50000);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}
