/* converters: mpa-convert and sink.mpa.mpt on every source this machine
 * can produce — real LTTng-UST recordings of a workload, real perf kmem
 * recordings (perf data convert --to-ctf), and python3-bt2 fixtures with
 * the real field layouts of LTTng kernel kmem_* and of the mpa provider —
 * each compared record by record with babeltrace2's own reading. */
#include "cvt_test_util.h"

static char *convert_cmd(const char *out, const char *inputs, const char *extra)
{
	return ct_fmt("'%s/bin/mpa-convert' -q %s -o '%s' %s", ct_env("MPA_BUILD"), extra ? extra : "",
		      out, inputs);
}

/* Under ASan, LeakSanitizer's exit scan stops the world with a ptrace
 * tracer thread, which now and then dies itself on a loaded host ("Tracer
 * caught signal 11", "LeakSanitizer has encountered a fatal error"): that
 * is the sanitizer failing, not the converter, so such a run is repeated
 * once.  A leak report or any other failure is not. */
static int convert(const char *out, const char *inputs, const char *extra, const char *errfile)
{
	char *c = convert_cmd(out, inputs, extra);
	const char *e = errfile ? errfile : "/dev/null";
	int rc = ct_sh("%s 2>'%s'", c, e);
	if (rc != 0 && errfile && access(errfile, R_OK) == 0) {
		char *text = ct_read_file(errfile);
		if (text && strstr(text, "LeakSanitizer has encountered a fatal error") &&
		    !strstr(text, "detected memory leaks"))
			rc = ct_sh("%s 2>'%s'", c, e);
	}
	return rc;
}

static void gen_fixture(const char *kind, const char *dir)
{
	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/gen_fixture.py' %s '%s' >/dev/null 2>&1",
			   ct_env("MPA_SRC"), kind, dir), 0, "gen_fixture.py %s failed", kind);
}

/* The frames of a stack, innermost first. */
static const struct mpt_frame *top_frame(const struct ct_capture *c, uint32_t stack_id)
{
	uint32_t n = 0;
	const uint32_t *fr = mpt_reader_stack(c->r, stack_id, &n);
	if (!fr || n == 0)
		return NULL;
	return mpt_reader_frame(c->r, fr[0]);
}

static const char *str(const struct ct_capture *c, uint32_t id)
{
	return mpt_reader_string(c->r, id, NULL);
}

/* ---- LTTng-UST, recorded for real ----------------------------------------- */

Test(convert_ust, real_recording_record_by_record, .timeout = 180)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 20 fork", ct_env("MPA_BUILD"));
	if (ct_record_ust(tmp, "ust", wl) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *trace = ct_fmt("%s/trace", tmp);
	char *out = ct_fmt("%s/ust.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));

	struct ct_capture c;
	ct_load(&c, out);
	/* src.ctf.fs wants the folder holding `metadata`: the dump reads it. */
	char *meta_dir = NULL;
	cr_assert_eq(ct_sh("test $(find '%s' -name metadata | wc -l) -eq 1", trace), 0);
	FILE *f = popen(ct_fmt("dirname $(find '%s' -name metadata)", trace), "r");
	cr_assert(f);
	char buf[4096];
	cr_assert(fgets(buf, sizeof(buf), f));
	pclose(f);
	buf[strcspn(buf, "\n")] = 0;
	meta_dir = ct_fmt("'%s'", buf);
	struct ct_cmp res;
	ct_compare(meta_dir, &c, tmp, &res);
	/* per round 9 calls (the last keeps one block), 2 processes */
	cr_assert_geq(res.matched, 2 * (20 * 9 - 1), "only %zu events matched", res.matched);
	cr_assert_gt(res.skipped, 0, "statedump events expected");

	/* Both processes, kept apart, and every site symbolized to its line. */
	static const struct { const char *site; uint8_t kind; uint64_t size; } sites[] = {
		{ "malloc", MPA_KIND_ALLOC, 12345 }, { "calloc", MPA_KIND_ALLOC, 3000 },
		{ "memalign", MPA_KIND_ALLOC, 3333 }, { "posix_memalign", MPA_KIND_ALLOC, 4444 },
		{ "realloc", MPA_KIND_REALLOC, 23456 },
	};
	for (size_t s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		uint32_t want_line = ct_site_line(sites[s].site);
		char *fn = ct_fmt("cvt_site_%s", sites[s].site);
		int32_t pids[2] = { 0, 0 };
		size_t hits = 0;
		for (size_t i = 0; i < c.n; i++) {
			const struct mpa_event *e = &c.ev[i];
			if (e->kind != sites[s].kind || e->size != sites[s].size)
				continue;
			hits++;
			const struct mpt_frame *fr = top_frame(&c, e->stack_id);
			cr_assert(fr, "%s: no stack", fn);
			cr_assert_str_eq(str(&c, fr->func), fn);
			cr_assert(strstr(str(&c, fr->file), "cvt_workload.c"), "file %s", str(&c, fr->file));
			cr_assert_eq(fr->line, want_line, "%s: line %u, expected %u", fn, fr->line, want_line);
			cr_assert(strstr(str(&c, fr->bin), "cvt-workload"));
			if (!pids[0])
				pids[0] = e->pid;
			else if (e->pid != pids[0])
				pids[1] = e->pid;
		}
		cr_assert_eq(hits, 40, "%s: %zu records, expected 2 processes x 20", fn, hits);
		cr_assert(pids[0] > 0 && pids[1] > 0 && pids[0] != pids[1], "%s: pids not kept apart", fn);
	}
	/* Binaries carry build ids for later re-symbolization. */
	int with_build_id = 0;
	for (uint32_t i = 0; i < mpt_reader_binary_count(c.r); i++)
		with_build_id += str(&c, mpt_reader_binary(c.r, i)->build_id)[0] != 0;
	cr_assert_gt(with_build_id, 0);
	cr_assert_str_eq(mpt_reader_meta(c.r, "tracers"), "lttng-ust");
	cr_assert(mpt_reader_meta(c.r, "host"));
	cr_assert(mpt_reader_meta(c.r, "clock"));
	cr_assert(strstr(mpt_reader_meta(c.r, "convert.command"), "mpa-convert"));
	cr_assert_eq(ct_meta_u64(&c, "lost_events"), 0);
	cr_assert_eq(ct_meta_u64(&c, "unknown_events"), 0);
	cr_assert_eq(ct_meta_u64(&c, "source_events.lttng_ust_libc:malloc") +
			     ct_meta_u64(&c, "source_events.lttng_ust_libc:calloc") +
			     ct_meta_u64(&c, "source_events.lttng_ust_libc:memalign") +
			     ct_meta_u64(&c, "source_events.lttng_ust_libc:posix_memalign") +
			     ct_meta_u64(&c, "source_events.lttng_ust_libc:realloc") +
			     ct_meta_u64(&c, "source_events.lttng_ust_libc:free"),
		     res.matched);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- LTTng kernel kmem_*, generated with the lttng-modules layouts ------- */

Test(convert_kmem, lttng_modules_layout_record_by_record, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/kmem", tmp);
	gen_fixture("kmem", trace);
	char *out = ct_fmt("%s/kmem.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ct_fmt("'%s'", trace), &c, tmp, &res);
	cr_assert_eq(res.lost, 1);
	cr_assert_eq(res.lost_count, 7);
	cr_assert_eq(res.lost_packets, 1);
	cr_assert_eq(ct_meta_u64(&c, "lost_events"), 7);
	cr_assert_eq(ct_meta_u64(&c, "lost_packets"), 2);
	/* a kfree of a block never allocated in the trace is a record like any
	 * other: the converter replays no heap (the analysis core does) */
	cr_assert_null(mpt_reader_meta(c.r, "kfrees_of_unknown"));
	cr_assert_eq(ct_meta_u64(&c, "unknown_events"), res.skipped);
	cr_assert_eq(ct_meta_u64(&c, "unknown_events.sched_switch"), res.skipped);
	cr_assert_str_eq(mpt_reader_meta(c.r, "host"), "fixture-host");
	size_t nodes = 0, pages = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		if (e->kind == MPA_KIND_LOST) {
			cr_assert_gt(e->end_ts, e->ts, "lost record needs its time range");
			cr_assert(strstr(str(&c, e->str_id), e->size ? "chan_1" : "chan_0"), "stream name: %s",
				  str(&c, e->str_id));
			continue;
		}
		cr_assert_eq(e->domain, MPA_DOMAIN_KERNEL);
		cr_assert_lt(e->cpu, 2);
		if (e->kind == MPA_KIND_KALLOC && e->api == MPA_API_PAGE) {
			pages++;
			cr_assert_eq(e->size, UINT64_C(4096) << e->order);
		}
		if (e->kind == MPA_KIND_KALLOC && e->api == MPA_API_KMALLOC && e->node == 0)
			nodes++;
		if (e->kind == MPA_KIND_KALLOC && e->api != MPA_API_PAGE) {
			cr_assert_geq(e->usable, e->size);
			cr_assert_eq(e->mflags, 0xcc0);
			cr_assert_geq(e->ip, UINT64_C(0xffffffff81000000), "call_site -> ip");
		}
	}
	cr_assert_gt(pages, 0);
	cr_assert_gt(nodes, 0, "kmalloc_node's node must come through");
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- mpa:* events, generated per the provider schema ---------------------- */

Test(convert_mpa, provider_schema_record_by_record, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/mpa", tmp);
	gen_fixture("mpa", trace);
	char *out = ct_fmt("%s/mpa.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, "--chunk-rows 64", err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ct_fmt("'%s'", trace), &c, tmp, &res);
	cr_assert_eq(res.skipped, 0);
	cr_assert_eq(mpt_reader_chunk_count(c.r), (c.n + 63) / 64, "--chunk-rows 64");
	cr_assert_null(mpt_reader_meta(c.r, "frees_of_unknown"));
	cr_assert_null(mpt_reader_meta(c.r, "reallocs_of_unknown"));
	size_t kinds_seen = 0, forks = 0, child = 0;
	uint32_t seen = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		seen |= MPT_KINDBIT(e->kind);
		cr_assert(e->pid == 1001 || e->pid == 1002 || e->pid == 1003);
		if (e->kind == MPA_KIND_PROC_FORK) {
			forks++;
			cr_assert_eq(e->pid, 1003);
			cr_assert_eq(e->ppid, 1001, "ppid from the payload");
			cr_assert_eq(e->stack_id, 0);
		}
		if (e->pid == 1003 && child++ == 0)
			cr_assert_eq(e->kind, MPA_KIND_PROC_FORK, "the child's first record is its fork");
		if (e->kind == MPA_KIND_ALLOC || e->kind == MPA_KIND_POOL_ALLOC ||
		    e->kind == MPA_KIND_STACK_SAMPLE) {
			uint32_t n = 0;
			const uint32_t *fr = mpt_reader_stack(c.r, e->stack_id, &n);
			cr_assert_eq(n, 3, "stack[] of 3 addresses");
			cr_assert_eq(mpt_reader_frame(c.r, fr[2])->ip, UINT64_C(0x7f0000001000));
		}
		if (e->kind == MPA_KIND_POOL_CREATE) {
			cr_assert_str_eq(str(&c, e->str_id), "objs");
			cr_assert_eq(e->size, 64);
			cr_assert_eq(e->usable, 128);
		}
		if (e->kind == MPA_KIND_PROC_EXEC)
			cr_assert(strstr(str(&c, e->str_id), "/usr/bin/prog"));
		if (e->kind == MPA_KIND_THREAD_START)
			cr_assert_eq(e->size, 8u << 20);
		if (e->kind == MPA_KIND_MAP)
			cr_assert(e->prot == 3 && e->mflags == 0x22 && e->api == MPA_API_MMAP);
	}
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		kinds_seen += (seen >> k) & 1;
	cr_assert_eq(kinds_seen, 16, "every mpa:* event maps to its own kind");
	cr_assert_eq(forks, 1);
	cr_assert_eq(child, 4, "fork, free, alloc, exit");
	cr_assert_geq(mpt_reader_version_major(c.r), 2, "a capture with a proc_fork is format 2.0 at least");
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* The same fork reported twice (perf's FORK record and the preload's
 * mpa:proc_fork describe one fork) is written once; a pid forked again
 * after its exit or exec, or by another parent, is a new fork. */
Test(convert_mpa, a_fork_is_written_once, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/forks", tmp);
	gen_fixture("forks", trace);
	char *out = ct_fmt("%s/forks.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	static const int32_t want[][2] = { { 2002, 2001 }, { 2002, 2001 }, { 2003, 2002 },
					   { 2003, 2001 }, { 2003, 2001 } };
	size_t k = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		if (e->kind != MPA_KIND_PROC_FORK)
			continue;
		cr_assert_lt(k, 5, "more proc_fork records than forks");
		cr_assert(e->pid == want[k][0] && e->ppid == want[k][1],
			  "fork %zu: pid %d ppid %d, expected %d from %d", k, e->pid, e->ppid,
			  want[k][0], want[k][1]);
		k++;
	}
	cr_assert_eq(k, 5);
	cr_assert_eq(c.n, 11, "13 events, 2 repeated forks dropped");
	cr_assert_eq(ct_meta_u64(&c, "source_events.mpa:proc_fork"), 7);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- perf kmem:*, recorded for real ------------------------------------- */

static int perf_kmem(const char *tmp, const char *cmd)
{
	return ct_sh("cd '%s' && perf record -q -e kmem:kmalloc,kmem:kfree,kmem:mm_page_alloc,"
		     "kmem:mm_page_free -a -k mono -o perf.data -- %s >/dev/null 2>&1 && "
		     "perf data convert -i perf.data --to-ctf=pctf >/dev/null 2>&1", tmp, cmd);
}

Test(convert_perf_ctf, kmem_record_by_record, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	if (perf_kmem(tmp, "sleep 0.2") != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("perf record of kmem tracepoints is not possible here");
	}
	char *trace = ct_fmt("%s/pctf", tmp);
	char *out = ct_fmt("%s/perf.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ct_fmt("'%s'", trace), &c, tmp, &res);
	cr_assert_gt(res.matched, 0);
	cr_assert_str_eq(mpt_reader_meta(c.r, "tracers"), "perf");
	cr_assert(mpt_reader_meta(c.r, "host"), "perf's env `host` becomes the host");
	for (size_t i = 0; i < c.n; i++)
		if (c.ev[i].kind != MPA_KIND_LOST)
			cr_assert_eq(c.ev[i].domain, MPA_DOMAIN_KERNEL);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* A forking workload recorded by perf: its FORK record becomes one
 * proc_fork record (the child's pid, the workload's as ppid, perf's time of
 * the fork), read natively from perf.data and from perf's CTF form with
 * --all (perf_fork); perf script says which fork happened. */
Test(convert_perf_ctf, fork_of_the_workload, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	if (ct_sh("cd '%s' && perf record -q -e page-faults -c 1 -k mono -o pf.data -- "
		  "'%s/tests/converters/cvt-workload' 3 fork >/dev/null 2>&1 && "
		  "perf data convert -i pf.data --all --to-ctf=pctf >/dev/null 2>&1", tmp,
		  ct_env("MPA_BUILD")) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("perf record of page-faults is not possible here");
	}
	/* "... PERF_RECORD_FORK(child:child):(parent:parent)" */
	cr_assert_eq(ct_sh("perf script -i '%s/pf.data' --show-task-events 2>/dev/null | "
			   "grep -o 'PERF_RECORD_FORK([0-9]*:[0-9]*):([0-9]*:[0-9]*)' > '%s/forks.txt'",
			   tmp, tmp), 0);
	char *forks = ct_read_file(ct_fmt("%s/forks.txt", tmp));
	int child = 0, ctid = 0, parent = 0, ptid = 0;
	cr_assert_eq(sscanf(forks, "PERF_RECORD_FORK(%d:%d):(%d:%d)", &child, &ctid, &parent, &ptid), 4,
		     "perf script: %s", forks);
	cr_assert(strchr(forks, '\n') == forks + strlen(forks) - 1, "one fork: %s", forks);
	const char *inputs[] = { "pf.data", "pctf" };
	for (int k = 0; k < 2; k++) {
		char *out = ct_fmt("%s/f%d.mpt", tmp, k);
		char *err = ct_fmt("%s/err%d.txt", tmp, k);
		cr_assert_eq(convert(out, ct_fmt("'%s/%s'", tmp, inputs[k]), NULL, err), 0,
			     "mpa-convert %s failed: %s", inputs[k], ct_read_file(err));
		struct ct_capture c;
		ct_load(&c, out);
		size_t n = 0, child_first = 0, seen_child = 0;
		for (size_t i = 0; i < c.n; i++) {
			const struct mpa_event *e = &c.ev[i];
			if (e->pid == child && !seen_child++)
				child_first = i;
			if (e->kind != MPA_KIND_PROC_FORK)
				continue;
			n++;
			cr_assert_eq(e->pid, child, "%s", inputs[k]);
			cr_assert_eq(e->tid, child);
			cr_assert_eq(e->ppid, parent);
			cr_assert_eq(child_first, i, "%s: the child's first record is its fork", inputs[k]);
		}
		cr_assert_eq(n, 1, "%s: %zu proc_fork records", inputs[k], n);
		cr_assert_gt(seen_child, 1, "%s: the child's page faults follow", inputs[k]);
		ct_release(&c);
	}
	ct_rmrf(tmp);
	ct_cleanup();
}

/* perf -k mono and LTTng-UST on one timeline: recorded at the same time,
 * the perf events must fall inside the LTTng time range once converted. */
Test(convert_mix, ust_and_perf_mono_one_timeline, .timeout = 180)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	char *wl = ct_fmt("sh -c \"perf record -q -e kmem:kmalloc,kmem:kfree -a -k mono -o '%s/perf.data' -- "
			  "sh -c 'sleep 0.1; %s/tests/converters/cvt-workload 200; sleep 0.1' >/dev/null 2>&1\"",
			  tmp, ct_env("MPA_BUILD"));
	if (ct_record_ust(tmp, "mix", wl) != 0 ||
	    ct_sh("perf data convert -i '%s/perf.data' --to-ctf='%s/pctf' >/dev/null 2>&1", tmp, tmp) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record LTTng-UST and perf together");
	}
	/* babeltrace2 alone refuses to mux them (different clock origins). */
	cr_assert_neq(ct_sh("babeltrace2 '%s/trace' '%s/pctf' -o dummy >/dev/null 2>&1", tmp, tmp), 0);

	char *out = ct_fmt("%s/mix.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	char *inputs = ct_fmt("'%s/trace' '%s/pctf'", tmp, tmp);
	cr_assert_eq(convert(out, inputs, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	uint64_t umin = UINT64_MAX, umax = 0, kin = 0, kall = 0, prev = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		cr_assert_geq(e->ts, prev, "records out of time order at %zu", i);
		prev = e->ts;
		if (e->domain == MPA_DOMAIN_USER && e->kind != MPA_KIND_LOST) {
			umin = e->ts < umin ? e->ts : umin;
			umax = e->ts > umax ? e->ts : umax;
		}
	}
	for (size_t i = 0; i < c.n; i++) {
		if (c.ev[i].domain != MPA_DOMAIN_KERNEL)
			continue;
		kall++;
		kin += c.ev[i].ts >= umin && c.ev[i].ts <= umax;
	}
	cr_assert_gt(umax, umin);
	cr_assert_gt(kall, 0);
	cr_assert_gt(kin, 0, "no perf event inside the LTTng time range: clocks not lined up");
	/* Everything converted: counts per source add up. */
	cr_assert_eq(ct_meta_u64(&c, "source_events.kmem:kmalloc") + ct_meta_u64(&c, "source_events.kmem:kfree"), kall);
	cr_assert_str_eq(mpt_reader_meta(c.r, "traces"), "2");
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- failures: one clear line, no output file ------------------------------ */

static void expect_failure(const char *tmp, const char *inputs, const char *what)
{
	char *out = ct_fmt("%s/out/x.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	ct_sh("mkdir -p '%s/out'", tmp);
	/* Error paths inside babeltrace2's ctf plugin leave allocations whose
	 * stacks the fast unwinder cannot walk (libraries without frame
	 * pointers): unwind slowly so lsan.supp can name the library. */
	char *c = convert_cmd(out, inputs, NULL);
	int rc = ct_sh("ASAN_OPTIONS=\"$ASAN_OPTIONS:fast_unwind_on_malloc=0\" %s 2>'%s'", c, err);
	char *msg = ct_read_file(err);
	cr_assert_neq(rc, 0, "%s: mpa-convert succeeded", what);
	cr_assert(strncmp(msg, "mpa-convert: ", 13) == 0, "%s: message: %s", what, msg);
	cr_assert(strchr(msg, '\n') == msg + strlen(msg) - 1, "%s: not one line: %s", what, msg);
	char *outdir = ct_fmt("%s/out", tmp);
	cr_assert_eq(ct_count_entries(outdir), 0, "%s: output left behind", what);
}

Test(convert_errors, missing_empty_nonmemory_corrupt, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	expect_failure(tmp, ct_fmt("'%s/does-not-exist'", tmp), "missing");
	ct_sh("mkdir -p '%s/empty'", tmp);
	expect_failure(tmp, ct_fmt("'%s/empty'", tmp), "empty folder");
	ct_sh("printf 'hello' > '%s/notatrace.txt'", tmp);
	expect_failure(tmp, ct_fmt("'%s/notatrace.txt'", tmp), "not a trace");

	char *nonmem = ct_fmt("%s/nonmem", tmp);
	gen_fixture("nonmem", nonmem);
	expect_failure(tmp, ct_fmt("'%s'", nonmem), "non-memory trace");
	char *msg = ct_read_file(ct_fmt("%s/err.txt", tmp));
	cr_assert(strstr(msg, "no memory events"), "%s", msg);

	/* corrupt metadata */
	char *bad = ct_fmt("%s/badmeta", tmp);
	gen_fixture("kmem", bad);
	ct_sh("printf '/* CTF 1.8 */ trace { garbage' > '%s/metadata'", bad);
	expect_failure(tmp, ct_fmt("'%s'", bad), "corrupt metadata");

	/* a stream file cut inside a packet */
	char *cut = ct_fmt("%s/cut", tmp);
	gen_fixture("kmem", cut);
	cr_assert_eq(ct_sh("f='%s/chan_0'; truncate -s $(( $(stat -c %%s \"$f\") - 37 )) \"$f\"", cut), 0);
	expect_failure(tmp, ct_fmt("'%s'", cut), "truncated stream");

	/* output folder missing: nothing written anywhere */
	char *err = ct_fmt("%s/err.txt", tmp);
	char *kmem = ct_fmt("%s/kmem", tmp);
	gen_fixture("kmem", kmem);
	cr_assert_neq(convert(ct_fmt("%s/no/such/dir/x.mpt", tmp), ct_fmt("'%s'", kmem), NULL, err), 0);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- the plugin under the babeltrace2 CLI ---------------------------------- */

Test(convert_cli, babeltrace2_sink_mpa_mpt, .timeout = 120)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("the sanitized plugin cannot load into the uninstrumented babeltrace2");
#endif
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/kmem", tmp);
	gen_fixture("kmem", trace);
	char *a = ct_fmt("%s/cli.mpt", tmp), *b = ct_fmt("%s/api.mpt", tmp);
	cr_assert_eq(ct_sh("babeltrace2 --plugin-path='%s/lib/babeltrace2/plugins' '%s' "
			   "-c sink.mpa.mpt -p 'path=\"%s\",chunk-rows=100,compression-level=5,pipeline=false' "
			   ">/dev/null 2>&1",
			   ct_env("MPA_BUILD"), trace, a), 0);
	/* mpa-convert: the writer thread on (the default) */
	cr_assert_eq(convert(b, trace, NULL, NULL), 0);
	struct ct_capture ca, cb;
	ct_load(&ca, a);
	ct_load(&cb, b);
	cr_assert_eq(ca.n, cb.n);
	cr_assert_eq(mpt_reader_chunk_count(ca.r), (ca.n + 99) / 100);
	for (size_t i = 0; i < ca.n; i++)
		cr_assert(memcmp(&ca.ev[i], &cb.ev[i], sizeof(ca.ev[i])) == 0, "record %zu differs", i);
	/* path is required */
	cr_assert_neq(ct_sh("babeltrace2 --plugin-path='%s/lib/babeltrace2/plugins' '%s' -c sink.mpa.mpt "
			    ">/dev/null 2>&1", ct_env("MPA_BUILD"), trace), 0);
	ct_release(&ca);
	ct_release(&cb);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* The writer thread hands records over in buffers of 8192, built in place
 * (reserve/commit) and recycled through a free list of 4: a real recording
 * of more than 4 buffers' worth must give the same file, byte for byte,
 * with the thread and without it. */
Test(convert_cli, pipeline_identical_over_many_buffers, .timeout = 180)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("the sanitized plugin cannot load into the uninstrumented babeltrace2");
#endif
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	/* 9 traced calls per round: ~45k events, 5.5 buffers */
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 5000", ct_env("MPA_BUILD"));
	if (ct_record_ust(tmp, "pipe", wl) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *a = ct_fmt("%s/on.mpt", tmp), *b = ct_fmt("%s/off.mpt", tmp);
	const char *modes[2] = { "true", "false" };
	char *outs[2] = { a, b };
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ct_sh("babeltrace2 --plugin-path='%s/lib/babeltrace2/plugins' "
				   "\"$(dirname \"$(find '%s/trace' -name metadata | head -1)\")\" "
				   "-c sink.mpa.mpt -p 'path=\"%s\",pipeline=%s' >/dev/null 2>&1",
				   ct_env("MPA_BUILD"), tmp, outs[i], modes[i]), 0,
			     "conversion with pipeline=%s failed", modes[i]);
	struct ct_capture ca;
	ct_load(&ca, a);
	cr_assert_gt(ca.n, 4 * 8192 + 100, "only %zu records", ca.n);
	ct_release(&ca);
	cr_assert_eq(ct_sh("cmp -s '%s' '%s'", a, b), 0, "pipeline on and off differ");
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- perf.data through source.mpa.perf: data addresses kept ---------------- */

static int cmp_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

Test(convert_perf_data, page_faults_with_data_addresses, .timeout = 120)
{
	/* (grep, not babeltrace2 list-plugins: a sanitized plugin cannot load there) */
	if (ct_sh("grep -aq 'Read perf.data files' '%s/lib/babeltrace2/plugins/babeltrace-plugin-mpa.so'",
		  ct_env("MPA_BUILD")) != 0)
		cr_skip_test("this build of the plugin has no source.mpa.perf");
	char *tmp = ct_tmpdir();
	if (ct_sh("cd '%s' && perf record -q -e page-faults -d -c 1 -o pf.data -- "
		  "'%s/tests/converters/cvt-workload' 30 >/dev/null 2>&1", tmp, ct_env("MPA_BUILD")) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("perf record of page-faults is not possible here");
	}
	char *out = ct_fmt("%s/pf.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, ct_fmt("'%s/pf.data'", tmp), NULL, err), 0, "mpa-convert failed: %s",
		     ct_read_file(err));
	/* perf's own reading of the samples: data address and ip of each */
	cr_assert_eq(ct_sh("perf script -i '%s/pf.data' -F addr,ip > '%s/script.txt' 2>/dev/null", tmp, tmp), 0);
	char *text = ct_read_file(ct_fmt("%s/script.txt", tmp));
	size_t np = 0, cap = 1024;
	uint64_t *want = malloc(cap * 2 * sizeof(uint64_t));
	cr_assert(want);
	for (char *p = text; *p;) {
		char *end;
		uint64_t addr = strtoull(p, &end, 16);
		uint64_t ip = strtoull(end, &end, 16);
		if (end != p) {
			if (np == cap) {
				cap *= 2;
				want = realloc(want, cap * 2 * sizeof(uint64_t));
				cr_assert(want);
			}
			want[2 * np] = addr;
			want[2 * np + 1] = ip;
			np++;
		}
		p = strchr(end, '\n');
		if (!p)
			break;
		p++;
	}
	struct ct_capture c;
	ct_load(&c, out);
	uint64_t *got = malloc((c.n + 1) * 2 * sizeof(uint64_t));
	cr_assert(got);
	size_t ng = 0, in_workload = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		if (e->kind != MPA_KIND_CACHE_SAMPLE)
			continue;
		cr_assert_eq(e->counter, MPA_CTR_PAGE_FAULT);
		got[2 * ng] = e->ptr;
		got[2 * ng + 1] = e->ip;
		ng++;
		const struct mpt_frame *fr = top_frame(&c, e->stack_id);
		cr_assert(fr && fr->ip == e->ip, "the sampled ip is the first frame");
		if (strstr(str(&c, fr->bin), "cvt-workload") && str(&c, fr->func)[0])
			in_workload++;
	}
	cr_assert_eq(ng, np, "%zu samples converted, perf script shows %zu", ng, np);
	qsort(want, np, 2 * sizeof(uint64_t), cmp_pair);
	qsort(got, ng, 2 * sizeof(uint64_t), cmp_pair);
	for (size_t i = 0; i < ng; i++)
		cr_assert(got[2 * i] == want[2 * i] && got[2 * i + 1] == want[2 * i + 1],
			  "sample %zu: addr/ip 0x%" PRIx64 "/0x%" PRIx64 " vs perf 0x%" PRIx64 "/0x%" PRIx64,
			  i, got[2 * i], got[2 * i + 1], want[2 * i], want[2 * i + 1]);
	cr_assert_gt(in_workload, 0, "no sample symbolized inside the workload");
	cr_assert_geq(ct_meta_u64(&c, "source_events.perf:mmap"), 1);
	free(want);
	free(got);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- LTTng-UST: dlopen'ed code and real lost events ------------------------- */

static char *ust_meta_dir(const char *trace)
{
	FILE *f = popen(ct_fmt("dirname $(find '%s' -name metadata | head -1)", trace), "r");
	cr_assert(f);
	char buf[4096] = "";
	cr_assert(fgets(buf, sizeof(buf), f));
	pclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ct_fmt("'%s'", buf);
}

Test(convert_ust, dlopened_library_symbolized, .timeout = 180)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	const char *b = ct_env("MPA_BUILD");
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 5 dl '%s/tests/converters/libcvt-dlib.so'", b, b);
	if (ct_record_ust(tmp, "dl", wl) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *trace = ct_fmt("%s/trace", tmp);
	char *out = ct_fmt("%s/dl.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ust_meta_dir(trace), &c, tmp, &res);
	cr_assert_geq(ct_meta_u64(&c, "source_events.lttng_ust_dl:dlopen"), 1);
	uint32_t want = ct_site_line_in("cvt_dlib.c", "dlib");
	size_t hits = 0;
	for (size_t i = 0; i < c.n; i++) {
		if (c.ev[i].kind != MPA_KIND_ALLOC || c.ev[i].size != 7777)
			continue;
		const struct mpt_frame *fr = top_frame(&c, c.ev[i].stack_id);
		cr_assert(fr);
		cr_assert_str_eq(str(&c, fr->func), "cvt_dlib_alloc");
		cr_assert(strstr(str(&c, fr->bin), "libcvt-dlib.so"), "%s", str(&c, fr->bin));
		cr_assert(strstr(str(&c, fr->file), "cvt_dlib.c"));
		cr_assert_eq(fr->line, want);
		hits++;
	}
	cr_assert_eq(hits, 5);
	ct_release(&c);

	/* --no-symbolize: the same stacks, frames with binary+offset only */
	char *raw = ct_fmt("%s/raw.mpt", tmp);
	cr_assert_eq(convert(raw, trace, "--no-symbolize", err), 0, "%s", ct_read_file(err));
	struct ct_capture r;
	ct_load(&r, raw);
	hits = 0;
	for (size_t i = 0; i < r.n; i++) {
		if (r.ev[i].kind != MPA_KIND_ALLOC || r.ev[i].size != 7777)
			continue;
		const struct mpt_frame *fr = top_frame(&r, r.ev[i].stack_id);
		cr_assert(fr && fr->func == 0 && fr->line == 0 && fr->bin_off != 0);
		cr_assert(strstr(str(&r, fr->bin), "libcvt-dlib.so"));
		hits++;
	}
	cr_assert_eq(hits, 5);
	cr_assert_str_eq(mpt_reader_meta(r.r, "symbolize"), "no");
	ct_release(&r);
	ct_rmrf(tmp);
	ct_cleanup();
}

Test(convert_ust, real_lost_events_become_lost_records, .timeout = 180)
{
	if (!ct_lttng_ready())
		cr_skip_test("lttng is not usable here");
	char *tmp = ct_tmpdir();
	char *wl = ct_fmt("'%s/tests/converters/cvt-workload' 30000", ct_env("MPA_BUILD"));
	if (ct_record_ust_mode(tmp, "lossy", wl, 1) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("could not record an LTTng-UST session");
	}
	char *trace = ct_fmt("%s/trace", tmp);
	char *out = ct_fmt("%s/lossy.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ust_meta_dir(trace), &c, tmp, &res);
	cr_assert_gt(res.lost, 0, "2 x 4 KiB buffers should have discarded events");
	cr_assert_eq(ct_meta_u64(&c, "lost_events"), res.lost_count);
	uint64_t sum = 0;
	for (size_t i = 0; i < c.n; i++)
		if (c.ev[i].kind == MPA_KIND_LOST) {
			sum += c.ev[i].size;
			cr_assert(str(&c, c.ev[i].str_id)[0], "lost record names its stream");
		}
	cr_assert_eq(sum, res.lost_count);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* Flipped bytes anywhere in the stream files: mpa-convert either converts
 * or fails with one line and no output; it never crashes or hangs. */
Test(convert_errors, random_corruption_never_crashes, .timeout = 1200)
{
	char *tmp = ct_tmpdir();
	char *orig = ct_fmt("%s/orig", tmp);
	gen_fixture("mpa", orig);
	uint64_t seed = 0x5eed;
	int converted = 0, failed = 0;
#if defined(__SANITIZE_ADDRESS__)
	const int iterations = 8; /* each run is slow under ASan */
#else
	const int iterations = 16;
#endif
	for (int it = 0; it < iterations; it++) {
		char *t = ct_fmt("%s/t%d", tmp, it);
		cr_assert_eq(ct_sh("cp -r '%s' '%s'", orig, t), 0);
		for (int k = 0; k < 1 + it % 4; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			const char *file = (seed >> 40) & 1 ? "chan_0" : "chan_1";
			unsigned off = (unsigned)(seed >> 8) % 4000, val = (unsigned)(seed >> 33) & 255;
			cr_assert_eq(ct_sh("f='%s/%s'; s=$(stat -c %%s \"$f\"); o=$((%u %% s)); "
					   "printf \"$(printf '\\\\%%03o' %u)\" | dd of=\"$f\" bs=1 seek=$o "
					   "conv=notrunc 2>/dev/null", t, file, off, val), 0);
		}
		char *out = ct_fmt("%s/o%d.mpt", tmp, it);
		char *c = convert_cmd(out, ct_fmt("'%s'", t), NULL);
		/* handle_segv=0: a crash must reach mpa-convert's parent process
		 * as a signal, as it does without ASan.  detect_leaks=0: this test
		 * is about crashes and hangs (leaks on error paths are checked by
		 * missing_empty_nonmemory_corrupt); the slow unwinding those
		 * checks need would take minutes on a corrupt packet size. */
		int rc = ct_sh("ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0:handle_segv=0\" "
			       "timeout 240 %s 2>'%s/err'", c, tmp);
		cr_assert(rc == 0 || rc == 1, "iteration %d: exit status %d (crash or hang)", it, rc);
		if (rc == 0) {
			struct ct_capture cap;
			ct_load(&cap, out); /* what was written verifies */
			ct_release(&cap);
			converted++;
		} else {
			cr_assert(!ct_exists(out), "iteration %d: failed but left %s", it, out);
			char *msg = ct_read_file(ct_fmt("%s/err", tmp));
			cr_assert(strncmp(msg, "mpa-convert: ", 13) == 0, "iteration %d: %s", it, msg);
			cr_assert(strchr(msg, '\n') == msg + strlen(msg) - 1, "iteration %d: not one line: %s", it, msg);
			/* A contained crash must be babeltrace2's own: its CLI
			 * crashes on the same input. */
			if (strstr(msg, "babeltrace2 crashed"))
				cr_assert_geq(ct_sh("babeltrace2 '%s' -o dummy >/dev/null 2>&1", t), 128,
					      "iteration %d: mpa-convert crashed where babeltrace2 does not", it);
			failed++;
		}
		ct_rmrf(t);
	}
	cr_log_info("corruption: %d converted, %d refused", converted, failed);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* ---- mpa:* from the real provider (mpa-record --keep-trace) ------------- */

Test(convert_mpa, real_provider_record_by_record, .timeout = 300)
{
	const char *b = ct_env("MPA_BUILD");
	char *rec = ct_fmt("%s/bin/mpa-record", b);
	if (!ct_exists(rec) || !ct_lttng_ready())
		cr_skip_test("mpa-record is not built or lttng is not usable");
	char *tmp = ct_tmpdir();
	if (ct_sh("'%s' -q --lossless --keep-trace '%s/keep' -o '%s/rec.mpt' -- "
		  "'%s/tests/converters/cvt-workload' 10 fork >/dev/null 2>&1", rec, tmp, tmp, b) != 0) {
		ct_rmrf(tmp);
		ct_cleanup();
		cr_skip_test("mpa-record could not record here");
	}
	char *trace = ct_fmt("%s/keep", tmp);
	char *out = ct_fmt("%s/mpa.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);
	cr_assert_eq(convert(out, trace, NULL, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	ct_compare(ust_meta_dir(trace), &c, tmp, &res);
	cr_assert_geq(ct_meta_u64(&c, "source_events.mpa:alloc"), 2 * 10 * 4);
	/* multi-frame stacks from stack[], resolved to the workload's lines */
	uint32_t want = ct_site_line("malloc");
	size_t hits = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		if (e->kind != MPA_KIND_ALLOC || e->size != 12345)
			continue;
		uint32_t n = 0;
		const uint32_t *fr = mpt_reader_stack(c.r, e->stack_id, &n);
		cr_assert_geq(n, 2, "stack[] of the provider");
		const struct mpt_frame *f0 = mpt_reader_frame(c.r, fr[0]);
		const struct mpt_frame *f1 = mpt_reader_frame(c.r, fr[1]);
		cr_assert_str_eq(str(&c, f0->func), "cvt_site_malloc");
		cr_assert_eq(f0->line, want);
		cr_assert_str_eq(str(&c, f1->func), "rounds");
		hits++;
	}
	cr_assert_eq(hits, 20, "2 processes x 10 rounds");
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* --meta record.KEY=VALUE: written into the capture's metadata (mpa-record
 * labels what a capture holds this way); other keys, a missing '=' or an
 * empty key are refused before anything is read. */
Test(convert_cli, meta_record_keys, .timeout = 300)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/kmem", tmp);
	char *out = ct_fmt("%s/m.mpt", tmp), *err = ct_fmt("%s/err.txt", tmp);
	gen_fixture("kmem", trace);
	cr_assert_eq(convert(out, trace, "--meta record.scope.ust=process-tree "
			     "--meta 'record.note=a b=c'", err), 0, "%s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	cr_assert_str_eq(mpt_reader_meta(c.r, "record.scope.ust"), "process-tree");
	cr_assert_str_eq(mpt_reader_meta(c.r, "record.note"), "a b=c");
	ct_release(&c);
	const char *bad[] = { "--meta host=x", "--meta record.=x", "--meta record.x",
			      "--meta lost_events=0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *o = ct_fmt("%s/bad%zu.mpt", tmp, i);
		cr_assert_eq(convert(o, trace, bad[i], err), 2, "'%s' accepted", bad[i]);
		cr_assert(strstr(ct_read_file(err), "--meta wants record.KEY=VALUE"), "%s",
			  ct_read_file(err));
		cr_assert_not(ct_exists(o));
	}
	ct_rmrf(tmp);
	ct_cleanup();
}
