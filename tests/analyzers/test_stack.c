/* The stack analyzer on writer-built captures: per thread depth, headroom
 * and risk, the deepest chains, recursion, the functions adding depth and
 * depth over time, exactly; a capture without samples says so. */
#include "analyze_test_util.h"

static void tstart(struct au_cap *c, uint64_t ts, int32_t tid, uint64_t base, uint64_t size)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_THREAD_START;
	e.ts = ts;
	e.pid = 100;
	e.tid = tid;
	e.ptr = base;
	e.size = size;
	au_ev(c, &e);
}

static void texit(struct au_cap *c, uint64_t ts, int32_t tid)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_THREAD_EXIT;
	e.ts = ts;
	e.pid = 100;
	e.tid = tid;
	au_ev(c, &e);
}

static void ssample(struct au_cap *c, uint64_t ts, int32_t tid, uint64_t bytes, uint32_t frames,
		    uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_STACK_SAMPLE;
	e.ts = ts;
	e.pid = 100;
	e.tid = tid;
	e.size = bytes;
	e.frame_depth = frames;
	e.stack_id = stack;
	au_ev(c, &e);
}

static json_t *row_of(json_t *doc, const char *table, size_t i)
{
	json_t *a = json_object_get(doc, table);
	cr_assert(json_is_array(a), "no table %s", table);
	cr_assert_lt(i, json_array_size(a), "%s has %zu rows", table, json_array_size(a));
	return json_array_get(a, i);
}

static long long I(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer %s", k);
	return (long long)json_integer_value(v);
}

static const char *S(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_string(v), "no string %s", k);
	return json_string_value(v);
}

/* Threads 100 (8 MiB), 101 (128 KiB, exits), 102 (no thread_start: the
 * 1 MiB default), 103 (started, never sampled). */
static void build(struct au_cap *c)
{
	au_open(c);
	uint32_t rec = au_frame(c, "recurse", "/usr/bin/prog", "prog.c", 10);
	uint32_t mn = au_frame(c, "main", "/usr/bin/prog", "prog.c", 1);
	uint32_t work = au_frame(c, "work", "/usr/bin/prog", "prog.c", 20);
	uint32_t leaf = au_frame(c, "leaf", "/usr/bin/prog", "prog.c", 30);
	uint32_t A = au_stack(c, 5, rec, rec, rec, rec, mn);
	uint32_t B = au_stack(c, 2, work, mn);
	uint32_t C = au_stack(c, 3, leaf, work, mn);
	uint32_t lt = au_frame(c, "lttng_ust_statedump", "/usr/lib/x86_64-linux-gnu/liblttng-ust.so.1",
			       NULL, 0);
	uint32_t T = au_stack(c, 2, lt, lt);
	tstart(c, 1 * AU_SEC, 100, 0x7ff000000000, 8 << 20);
	tstart(c, 1 * AU_SEC + 1, 101, 0x7fe000000000, 128 << 10);
	tstart(c, 1 * AU_SEC + 2, 103, 0x7fd000000000, 64 << 10);
	ssample(c, 1 * AU_SEC + 3, 100, 4000, 5, A);
	ssample(c, 1 * AU_SEC + AU_SEC / 2, 101, 100000, 3, C);
	ssample(c, 2 * AU_SEC, 100, 2000, 2, B);
	ssample(c, 2 * AU_SEC + AU_SEC / 2, 102, 1048584, 5, A);
	ssample(c, 3 * AU_SEC, 101, 50000, 2, B);
	texit(c, 3 * AU_SEC + AU_SEC / 2, 101);
	ssample(c, 4 * AU_SEC, 100, 1000, 1, 0);
	ssample(c, 4 * AU_SEC - 5, 104, 500000, 2, T); /* the tracer's own thread: left out */
	au_close(c);
}

Test(stack, threads_chains_recursion_frames_time)
{
	struct au_cap c;
	build(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "stack", NULL, &s, err, sizeof err), 0, "%s", err);
	cr_assert_eq(au_get(s, "stack", "samples", NULL), 6);
	cr_assert_eq(au_get(s, "stack", "threads_seen", NULL), 4);
	cr_assert_eq(au_get(s, "stack", "threads_sampled", NULL), 3);
	cr_assert_eq(au_get(s, "stack", "thread_starts", NULL), 3);
	cr_assert_eq(au_get(s, "stack", "max_depth_bytes", NULL), 1048584);
	cr_assert_eq(au_get(s, "stack", "max_depth_frames", NULL), 5);
	cr_assert_eq(au_get(s, "stack", "threads_at_risk", NULL), 2);
	cr_assert_eq(au_get(s, "stack", "threads_overflowed", NULL), 1);
	cr_assert_eq(au_get(s, "stack", "recursive_chains", NULL), 1);
	cr_assert_eq(au_get(s, "stack", "samples_without_stack", NULL), 1);
	cr_assert_eq(au_get(s, "stack", "tracer_samples", NULL), 1);
	cr_assert_eq(au_get(s, "stack", "deepest_thread", "tid"), 102);

	/* the alert: the thread past its (assumed) stack, an error */
	json_t *al = json_object_get(s, "alerts");
	cr_assert_eq(json_array_size(al), 1);
	json_t *a0 = json_array_get(al, 0);
	cr_assert_str_eq(S(a0, "name"), "stack_overflow_risk");
	cr_assert_str_eq(S(a0, "severity"), "error");
	cr_assert_float_eq(json_number_value(json_object_get(a0, "value")), -8.0, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(a0, "threshold")), 65536.0, 1e-9);
	cr_assert_not_null(strstr(S(a0, "message"), "size assumed"));

	json_t *doc = au_json(out, "stack.json");
	/* threads: least headroom first; the unsampled one apart */
	cr_assert_eq(json_array_size(json_object_get(doc, "threads")), 3);
	json_t *t = row_of(doc, "threads", 0);
	cr_assert_eq(I(t, "tid"), 102);
	cr_assert_eq(I(t, "stack_size"), 1048576);
	cr_assert_str_eq(S(t, "size_source"), "assumed");
	cr_assert_eq(I(t, "headroom_bytes"), -8);
	cr_assert_str_eq(S(t, "risk"), "overflow");
	cr_assert_str_eq(S(t, "deepest_site"), "recurse (prog.c:10)");
	t = row_of(doc, "threads", 1);
	cr_assert_eq(I(t, "tid"), 101);
	cr_assert_eq(I(t, "stack_size"), 131072);
	cr_assert_str_eq(S(t, "size_source"), "thread_start");
	cr_assert_eq(I(t, "max_depth_bytes"), 100000);
	cr_assert_eq(I(t, "max_depth_frames"), 3);
	cr_assert_eq(I(t, "headroom_bytes"), 31072);
	cr_assert_str_eq(S(t, "risk"), "low_headroom");
	cr_assert_eq(I(t, "max_at_ns"), AU_SEC / 2);
	cr_assert_float_eq(json_real_value(json_object_get(t, "mean_depth_bytes")), 75000.0, 1e-9);
	t = row_of(doc, "threads", 2);
	cr_assert_eq(I(t, "tid"), 100);
	cr_assert_eq(I(t, "samples"), 3);
	cr_assert_eq(I(t, "max_depth_bytes"), 4000);
	cr_assert_eq(I(t, "max_depth_frames"), 5);
	cr_assert_eq(I(t, "headroom_bytes"), (8 << 20) - 4000);
	cr_assert_str_eq(S(t, "risk"), "ok");
	cr_assert_float_eq(json_real_value(json_object_get(t, "mean_depth_bytes")), 7000.0 / 3,
			   1e-3); /* CSV/JSON reals are written to 6 decimals */
	cr_assert_float_eq(json_real_value(json_object_get(t, "used_fraction")),
			   4000.0 / (8 << 20), 1e-6);
	json_t *un = json_object_get(doc, "unsampled_threads");
	cr_assert_eq(json_array_size(un), 1);
	cr_assert_eq(I(json_array_get(un, 0), "tid"), 103);
	cr_assert_eq(I(json_array_get(un, 0), "stack_size"), 65536);

	/* deepest chains: A (recursive), C, B */
	json_t *ch = row_of(doc, "deepest_chains", 0);
	cr_assert_eq(I(ch, "rank"), 1);
	cr_assert_eq(I(ch, "max_depth_bytes"), 1048584);
	cr_assert_eq(I(ch, "samples"), 2);
	cr_assert_eq(I(ch, "frames_at_max"), 5);
	cr_assert_eq(I(ch, "tid"), 102);
	cr_assert_eq(I(ch, "max_repeats"), 4);
	cr_assert_str_eq(S(ch, "most_repeated_function"), "recurse");
	json_t *st = json_object_get(ch, "stack");
	cr_assert_eq(json_array_size(st), 5);
	cr_assert_str_eq(S(json_array_get(st, 4), "function"), "main");
	ch = row_of(doc, "deepest_chains", 1);
	cr_assert_eq(I(ch, "max_depth_bytes"), 100000);
	cr_assert_eq(I(ch, "max_repeats"), 1);
	cr_assert_str_eq(S(ch, "most_repeated_function"), "");
	cr_assert_str_eq(S(ch, "site"), "leaf (prog.c:30)");
	ch = row_of(doc, "deepest_chains", 2);
	cr_assert_eq(I(ch, "max_depth_bytes"), 50000);
	cr_assert_eq(I(ch, "samples"), 2);
	cr_assert_eq(I(ch, "frames_at_max"), 2);
	cr_assert_eq(json_array_size(json_object_get(doc, "deepest_chains")), 3);

	cr_assert_eq(json_array_size(json_object_get(doc, "recursion")), 1);
	json_t *r = row_of(doc, "recursion", 0);
	cr_assert_str_eq(S(r, "function"), "recurse");
	cr_assert_str_eq(S(r, "binary"), "/usr/bin/prog");
	cr_assert_eq(I(r, "repeats"), 4);
	cr_assert_eq(I(r, "max_depth_bytes"), 1048584);

	/* functions: occurrences x bytes per frame of the chain's deepest sample */
	json_t *fr = json_object_get(doc, "top_frames");
	cr_assert_eq(json_array_size(fr), 4);
	const char *names[] = {"recurse", "main", "leaf", "work"};
	long long est[] = {838867, 209717, 33333, 33333};
	long long reps[] = {4, 1, 1, 1}, chains[] = {1, 3, 1, 2}, samples[] = {2, 5, 1, 3};
	for (int i = 0; i < 4; i++) {
		json_t *f = json_array_get(fr, (size_t)i);
		cr_assert_str_eq(S(f, "function"), names[i]);
		cr_assert_eq(I(f, "est_depth_bytes"), est[i], "%s", names[i]);
		cr_assert_eq(I(f, "max_repeats"), reps[i], "%s", names[i]);
		cr_assert_eq(I(f, "chains"), chains[i], "%s", names[i]);
		cr_assert_eq(I(f, "samples"), samples[i], "%s", names[i]);
	}

	/* depth over time: 100 buckets of 30000001 ns over the 3 s span */
	json_t *dt = json_object_get(doc, "depth_over_time");
	cr_assert_eq(json_array_size(dt), 6);
	json_t *b = json_array_get(dt, 3);
	cr_assert_eq(I(b, "from_ns"), 49LL * 30000001);
	cr_assert_eq(I(b, "to_ns"), 50LL * 30000001);
	cr_assert_eq(I(b, "max_depth_bytes"), 1048584);
	cr_assert_eq(I(b, "tid"), 102);
	cr_assert_eq(I(json_array_get(dt, 5), "from_ns"), 99LL * 30000001);
	cr_assert(au_exists(out, "stack_threads.csv"));
	cr_assert(au_exists(out, "stack_chains.csv"));
	cr_assert(au_exists(out, "plots/stack_depth.dat"));
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);

	/* a 2 MiB default: thread 102 is fine, 101 still short of headroom */
	cr_assert_eq(au_lib_run(c.path, out, "stack", "[stack]\nstack_size = 2097152\n", &s, err,
				sizeof err), 0, "%s", err);
	cr_assert_eq(au_get(s, "stack", "threads_at_risk", NULL), 1);
	cr_assert_eq(au_get(s, "stack", "threads_overflowed", NULL), 0);
	a0 = json_array_get(json_object_get(s, "alerts"), 0);
	cr_assert_str_eq(S(a0, "severity"), "warning");
	cr_assert_float_eq(json_number_value(json_object_get(a0, "value")), 31072.0, 1e-9);
	json_decref(s);
	au_rmrf(out);

	/* thresholds are checked */
	cr_assert_neq(au_lib_run(c.path, out, "stack", "[stack]\noverflow_headroom = 2000000\n", &s,
				 err, sizeof err), 0);
	cr_assert_str_eq(err, "stack: [stack] overflow_headroom must be below [stack] stack_size");
	au_rmrf(c.dir);
}

Test(stack, no_samples_says_so)
{
	struct au_cap c;
	au_open(&c);
	tstart(&c, 10, 100, 0x7ff000000000, 8 << 20);
	au_alloc(&c, 20, 100, 0x1000, 16, 0);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "stack", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *st = json_object_get(json_object_get(s, "analyzers"), "stack");
	cr_assert_eq(au_get(s, "stack", "samples", NULL), 0);
	cr_assert(json_is_null(json_object_get(st, "max_depth_bytes")));
	cr_assert(json_is_null(json_object_get(st, "threads_at_risk")));
	cr_assert_not_null(strstr(json_string_value(json_object_get(st, "reason")),
				  "no stack_sample records in this capture"));
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	json_t *doc = au_json(out, "stack.json");
	cr_assert_eq(json_array_size(json_object_get(doc, "threads")), 0);
	cr_assert_eq(json_array_size(json_object_get(doc, "unsampled_threads")), 1);
	json_decref(doc);
	json_decref(s);
	/* the CLI's headline says it too */
	struct au_proc p;
	au_rmrf(out);
	const char *args[] = {c.path, "--stack", "-o", out, NULL};
	au_cli(&p, NULL, NULL, args);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_not_null(strstr(p.out, "no stack samples in this capture"), "%s", p.out);
	au_rmrf(c.dir);
}
