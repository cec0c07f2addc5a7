/* Truth tests: the workloads of tests/workloads/ (and the demo program)
 * recorded for real with mpa-record, analyzed with mpa-analyze: unfreed
 * bytes and blocks after the default suppressions equal the known values
 * and valgrind's "in use at exit" for the same program.  Skipped when LTTng
 * cannot record here. */
#include "analyze_test_util.h"

/* Runs argv (NULL-terminated) with stdout/stderr to files; exit status. */
static int run(const char *const *argv, const char *outf, const char *errf)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0)
			_exit(125);
		dup2(fo, 1);
		dup2(fe, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct truth {
	const char *prog;        /* relative to MPA_BUILD */
	long long bytes, blocks; /* definitely lost, after default suppressions */
	int valgrind;            /* compare with valgrind's "in use at exit" */
};

/* Records prog, analyzes it; returns the summary (or NULL when LTTng cannot
 * record here: the test is skipped). */
static json_t *record_and_analyze_argv(const char *dir, const char *const *argv, char *why,
				       size_t whylen);

static json_t *record_and_analyze(const char *dir, const char *prog, char *why, size_t whylen)
{
	const char *build = getenv("MPA_BUILD");
	cr_assert(build, "MPA_BUILD not set");
	char exe[600];
	snprintf(exe, sizeof exe, "%s/%s", build, prog);
	if (access(exe, X_OK) != 0) {
		snprintf(why, whylen, "'%.300s' not built", exe);
		return NULL;
	}
	return record_and_analyze_argv(dir, (const char *[]){exe, NULL}, why, whylen);
}

static json_t *record_and_analyze_argv(const char *dir, const char *const *argv, char *why,
				       size_t whylen)
{
	const char *build = getenv("MPA_BUILD");
	cr_assert(build, "MPA_BUILD not set");
	char rec[600], ana[600], cap[600], out[600], o[600], e[600], ro[600], re[600];
	snprintf(rec, sizeof rec, "%s/bin/mpa-record", build);
	snprintf(ro, sizeof ro, "%s/rec.out", dir); /* the program's output */
	snprintf(re, sizeof re, "%s/rec.err", dir);
	snprintf(ana, sizeof ana, "%s/bin/mpa-analyze", build);
	snprintf(cap, sizeof cap, "%s/cap.mpt", dir);
	snprintf(out, sizeof out, "%s/report", dir);
	snprintf(o, sizeof o, "%s/out.txt", dir);
	snprintf(e, sizeof e, "%s/err.txt", dir);
	if (access(rec, X_OK) != 0) {
		snprintf(why, whylen, "'%.300s' not built", rec);
		return NULL;
	}
	const char *rargv[32] = {rec, "-q", "-o", cap, "--"};
	size_t k = 5;
	for (size_t i = 0; argv[i] && k < 31; i++)
		rargv[k++] = argv[i];
	rargv[k] = NULL;
	run(rargv, ro, re);
	if (access(cap, F_OK) != 0) {
		char *msg = au_slurp(re, NULL);
		snprintf(why, whylen, "mpa-record made no capture: %.300s", msg ? msg : "");
		free(msg);
		return NULL;
	}
	int rc = run((const char *[]){ana, cap, "--leak", "-o", out, "-q", "--no-config", NULL}, o, e);
	char *msg = au_slurp(e, NULL);
	cr_assert_eq(rc, 0, "mpa-analyze failed on %s: %s", argv[0], msg ? msg : "");
	free(msg);
	return au_json(out, "summary.json");
}

/* valgrind's "in use at exit: X bytes in N blocks"; -1 when no valgrind. */
static int valgrind_trace_children; /* 1: follow exec (--trace-children=yes) */

static int valgrind_in_use_argv(const char *dir, const char *const *argv, long long *bytes,
				long long *blocks)
{
	char o[600], e[600];
	snprintf(o, sizeof o, "%s/vg.out", dir);
	snprintf(e, sizeof e, "%s/vg.err", dir);
	const char *vargv[32] = {"valgrind", "--leak-check=full"};
	size_t k = 2;
	if (valgrind_trace_children)
		vargv[k++] = "--trace-children=yes";
	for (size_t i = 0; argv[i] && k < 31; i++)
		vargv[k++] = argv[i];
	vargv[k] = NULL;
	int rc = run(vargv, o, e);
	if (rc == 127)
		return -1;
	char *text = au_slurp(e, NULL);
	cr_assert(text);
	/* one summary per process valgrind followed: their sum */
	const char *p = strstr(text, "in use at exit: ");
	cr_assert(p, "no valgrind summary: %s", text);
	*bytes = *blocks = 0;
	for (; p; p = strstr(p, "in use at exit: ")) {
		char num[64];
		size_t nd = 0;
		p += 16;
		while (*p && *p != ' ' && nd + 1 < sizeof num) {
			if (*p != ',')
				num[nd++] = *p;
			p++;
		}
		num[nd] = 0;
		*bytes += atoll(num);
		p = strstr(p, " in ");
		cr_assert(p);
		*blocks += atoll(p + 4);
	}
	free(text);
	return 0;
}

static int valgrind_in_use(const char *dir, const char *prog, long long *bytes, long long *blocks)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/%s", getenv("MPA_BUILD"), prog);
	return valgrind_in_use_argv(dir, (const char *[]){exe, NULL}, bytes, blocks);
}

static void check(const struct truth *t)
{
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze(dir, t->prog, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	cr_assert_not(json_is_true(json_object_get(s, "incomplete")), "%s lost events", t->prog);
	long long b = au_get(s, "leak", "in_use_at_exit", "bytes");
	long long n = au_get(s, "leak", "in_use_at_exit", "blocks");
	cr_assert_eq(b, t->bytes, "%s: %lld bytes definitely lost, expected %lld", t->prog, b, t->bytes);
	cr_assert_eq(n, t->blocks, "%s: %lld blocks, expected %lld", t->prog, n, t->blocks);
	cr_assert_eq(au_get(s, "leak", "live_at_end", "blocks"), 0);
	if (t->valgrind) {
		long long vb, vn;
		if (valgrind_in_use(dir, t->prog, &vb, &vn) == 0) {
			cr_assert_eq(b, vb, "%s: valgrind says %lld bytes in use at exit", t->prog, vb);
			cr_assert_eq(n, vn, "%s: valgrind says %lld blocks", t->prog, vn);
		}
	}
	json_decref(s);
	au_rmrf(dir);
}

/* 5 blocks of 100..500 bytes from mpa_wl_leak */
Test(leak_truth, wl_basic, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-basic", 1500, 5, 1});
}

/* the same without frame pointers */
Test(leak_truth, wl_nofp, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-nofp", 1500, 5, 1});
}

/* threads: the DTVs of pthread_create are suppressed, nothing else stays */
Test(leak_truth, wl_threads, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-threads", 0, 0, 1});
}

Test(leak_truth, wl_cxx, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-cxx", 0, 0, 1});
}

Test(leak_truth, wl_aligned, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-aligned", 0, 0, 1});
}

/* the exec'd child leaks 4242 bytes; parent and fork child free all */
Test(leak_truth, wl_forkexec, .timeout = 120)
{
	check(&(struct truth){"tests/workloads/wl-forkexec", 4242, 1, 0});
}

/* the demo: DEMO_REQUESTS / 100 = 50 blocks of 200 bytes */
Test(leak_truth, demo, .timeout = 120)
{
	check(&(struct truth){"samples/mpa-demo", 10000, 50, 1});
}

/* pool: 10 objects taken, 7 returned, the pool destroyed: 3 objects of 64
 * bytes never returned; no heap block stays */
Test(leak_truth, wl_pool, .timeout = 120)
{
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze(dir, "tests/workloads/wl-pool", why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	cr_assert_eq(au_get(s, "leak", "in_use_at_exit", "bytes"), 0);
	json_t *res = json_object_get(json_object_get(json_object_get(s, "analyzers"), "leak"),
				      "resource");
	json_t *po = json_object_get(res, "pool_objects");
	cr_assert_eq(json_integer_value(json_object_get(po, "count")), 3);
	cr_assert_eq(json_integer_value(json_object_get(po, "bytes")), 192);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(res, "pools"), "count")), 0);
	json_decref(s);
	au_rmrf(dir);
}

/* System programs (no known values): what stays allocated at exit must be
 * what valgrind reports, after the built-in suppressions took libc's and
 * the tracer's own blocks. */
static void check_vs_valgrind(const char *const *argv)
{
	if (access(argv[0], X_OK) != 0)
		cr_skip_test("'%s' not installed", argv[0]);
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, argv, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	long long vb, vn;
	if (valgrind_in_use_argv(dir, argv, &vb, &vn) < 0) {
		json_decref(s);
		au_rmrf(dir);
		cr_skip_test("valgrind not installed");
	}
	cr_assert_eq(au_get(s, "leak", "in_use_at_exit", "bytes"), vb, "%s: valgrind says %lld bytes",
		     argv[0], vb);
	cr_assert_eq(au_get(s, "leak", "in_use_at_exit", "blocks"), vn, "%s: valgrind says %lld blocks",
		     argv[0], vn);
	json_decref(s);
	au_rmrf(dir);
}

Test(leak_truth, sort_like_valgrind, .timeout = 120)
{
	check_vs_valgrind((const char *[]){"/usr/bin/sort", "/etc/hostname", NULL});
}

Test(leak_truth, python3_like_valgrind, .timeout = 180)
{
	check_vs_valgrind((const char *[]){"/usr/bin/python3", "-c", "pass", NULL});
}

/* A shell that execs (issue 11, item 4): bash's own blocks live at the exec
 * are released by exec, never leaks; what stays unfreed is the exec'd
 * program's, equal to valgrind's "in use at exit" when it follows the exec
 * (valgrind reports nothing for bash's image).  No subshell: a forked bash
 * exits holding its copy of the environment, whose size differs between
 * the two tools' environments. */
Test(leak_truth, bash_exec_like_valgrind, .timeout = 180)
{
	const char *const argv[] = {"/bin/bash", "-c", "x=a; echo $x >/dev/null; exec /usr/bin/sort /etc/hostname",
				    NULL};
	if (access(argv[0], X_OK) != 0 || access("/usr/bin/sort", X_OK) != 0)
		cr_skip_test("bash or sort not installed");
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, argv, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	cr_assert_gt(au_get(s, "leak", "released_by_exec", "blocks"), 10,
		     "bash's heap at the exec is released by exec");
	cr_assert_gt(au_get(s, "leak", "processes", "exec"), 0);
	long long vb, vn;
	valgrind_trace_children = 1;
	int rc = valgrind_in_use_argv(dir, argv, &vb, &vn);
	valgrind_trace_children = 0;
	if (rc < 0) {
		json_decref(s);
		au_rmrf(dir);
		cr_skip_test("valgrind not installed");
	}
	cr_assert_eq(au_get(s, "leak", "in_use_at_exit", "bytes"), vb, "valgrind says %lld bytes", vb);
	cr_assert_eq(au_get(s, "leak", "in_use_at_exit", "blocks"), vn, "valgrind says %lld blocks", vn);
	json_decref(s);
	au_rmrf(dir);
}

/* ---- valgrind's leak kinds (issue 11): the exit-time reachability scan ---- */

/* valgrind's "<kind>: X bytes in N blocks", summed over the processes it
 * followed; -1 when valgrind is not installed. */
static int valgrind_kinds(const char *dir, const char *const *argv, long long bytes[4],
			  long long blocks[4])
{
	static const char *const label[4] = {"definitely lost: ", "indirectly lost: ",
					     "possibly lost: ", "still reachable: "};
	char o[600], e[600];
	snprintf(o, sizeof o, "%s/vgk.out", dir);
	snprintf(e, sizeof e, "%s/vgk.err", dir);
	const char *vargv[32] = {"valgrind", "--leak-check=full"};
	size_t k = 2;
	if (valgrind_trace_children)
		vargv[k++] = "--trace-children=yes";
	for (size_t i = 0; argv[i] && k < 31; i++)
		vargv[k++] = argv[i];
	vargv[k] = NULL;
	if (run(vargv, o, e) == 127)
		return -1;
	char *text = au_slurp(e, NULL);
	cr_assert(text);
	for (int c = 0; c < 4; c++) {
		bytes[c] = blocks[c] = 0;
		for (const char *p = strstr(text, label[c]); p; p = strstr(p, label[c])) {
			p += strlen(label[c]);
			char num[64];
			size_t nd = 0;
			while (*p && *p != ' ' && nd + 1 < sizeof num) {
				if (*p != ',')
					num[nd++] = *p;
				p++;
			}
			num[nd] = 0;
			bytes[c] += atoll(num);
			p = strstr(p, " in ");
			cr_assert(p);
			blocks[c] += atoll(p + 4);
		}
	}
	free(text);
	return 0;
}

/* mpa's four kinds equal valgrind's, bytes and blocks (still reachable only
 * when reachable_exact: the built-in suppressions leave libc's internal
 * blocks out, which valgrind counts as still reachable). */
static const char *kinds_expect_output; /* the recorded program printed this */

static void kinds_like_valgrind(const char *const *argv, int reachable_exact)
{
	if (access(argv[0], X_OK) != 0)
		cr_skip_test("'%s' not installed", argv[0]);
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, argv, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	if (kinds_expect_output) {
		char path[600];
		snprintf(path, sizeof path, "%s/rec.out", dir);
		char *out = au_slurp(path, NULL);
		cr_assert(out && strstr(out, kinds_expect_output), "%s printed '%s', not '%s'", argv[0],
			  out ? out : "", kinds_expect_output);
		free(out);
	}
	long long vb[4], vn[4];
	if (valgrind_kinds(dir, argv, vb, vn) < 0) {
		json_decref(s);
		au_rmrf(dir);
		cr_skip_test("valgrind not installed");
	}
	static const char *const key[4] = {"definitely_lost", "indirectly_lost", "possibly_lost",
					   "still_reachable"};
	cr_assert_gt(au_get(s, "leak", "leak_kinds", "processes_scanned"), 0, "%s: no scan",
		     argv[0]);
	for (int c = 0; c < (reachable_exact ? 4 : 3); c++) {
		cr_expect_eq(au_get(s, "leak", key[c], "bytes"), vb[c], "%s: %s %lld bytes, valgrind %lld",
			     argv[0], key[c], au_get(s, "leak", key[c], "bytes"), vb[c]);
		cr_expect_eq(au_get(s, "leak", key[c], "blocks"), vn[c], "%s: %s %lld blocks, valgrind %lld",
			     argv[0], key[c], au_get(s, "leak", key[c], "blocks"), vn[c]);
	}
	json_decref(s);
	au_rmrf(dir);
}

/* one block of each kind (tests/workloads/wl_kinds.c) */
Test(leak_truth, kinds_wl_kinds, .timeout = 120)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/tests/workloads/wl-kinds", getenv("MPA_BUILD"));
	kinds_like_valgrind((const char *[]){exe, NULL}, 1);
}

/* glibc's free-list words are no pointers (tests/workloads/wl_stale.c):
 * main_arena's bins and the stale fd/bk_nextsize words of a reused chunk
 * point at chunk headers inside leaked blocks, and a thread arena's freed
 * block holds the only pointer to another; valgrind calls all three
 * definitely lost.  The workload says whether glibc laid memory out as the
 * cases need (under mpa-record; valgrind's allocator is another). */
Test(leak_truth, kinds_wl_stale, .timeout = 120)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/tests/workloads/wl-stale", getenv("MPA_BUILD"));
	kinds_expect_output = "layout bins=1 stale=1 arena=1";
	kinds_like_valgrind((const char *[]){exe, NULL}, 1);
	kinds_expect_output = NULL;
}

/* the demo (make demo): its 50 leaked 200-byte blocks are carved from
 * reused chunks next to free ones; valgrind calls them all definitely lost */
Test(leak_truth, kinds_demo_like_valgrind, .timeout = 120)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/samples/mpa-demo", getenv("MPA_BUILD"));
	kinds_like_valgrind((const char *[]){exe, NULL}, 1);
}

/* A C++ program built -O2 without frame pointers, two leaks through two
 * call paths into one allocating function (tests/workloads/wl_cxx_sites.cc),
 * recorded with mpa-record's defaults: two sites, their stacks named with
 * demangled names down to the caller that differs, like valgrind's two loss
 * records; and both blocks definitely lost, as valgrind says (no stale copy
 * of a block in the tracer's own frames keeps it reachable). */
Test(leak_truth, cxx_o2_distinct_sites_like_valgrind, .timeout = 120)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/tests/workloads/wl-cxx-sites", getenv("MPA_BUILD"));
	const char *const argv[] = {exe, NULL};
	kinds_like_valgrind(argv, 1);

	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, argv, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	json_decref(s);
	char rep[600];
	snprintf(rep, sizeof rep, "%s/report", dir);
	json_t *lj = au_json(rep, "leak.json");
	json_t *sites = json_object_get(lj, "sites");
	int found[2] = {0, 0}, lost = 0;
	for (size_t i = 0; i < json_array_size(sites); i++) {
		json_t *site = json_array_get(sites, i);
		if (strcmp(json_string_value(json_object_get(site, "class")), "definitely_lost") != 0)
			continue;
		lost++;
		cr_expect_eq(json_integer_value(json_object_get(site, "blocks")), 1);
		cr_expect_eq(json_integer_value(json_object_get(site, "bytes")), 48);
		json_t *st = json_object_get(site, "stack");
		cr_assert_geq(json_array_size(st), 2, "a stack of one frame: %s",
			      json_string_value(json_object_get(site, "site")));
		const char *f0 = json_string_value(json_object_get(json_array_get(st, 0), "function"));
		const char *f1 = json_string_value(json_object_get(json_array_get(st, 1), "function"));
		cr_expect_str_eq(f0 ? f0 : "", "shop::make_order(long)");
		if (f1 && strcmp(f1, "shop::checkout(long)") == 0)
			found[0]++;
		else if (f1 && strcmp(f1, "shop::refund(long)") == 0)
			found[1]++;
		else
			cr_expect_fail("second frame '%s'", f1 ? f1 : "(none)");
	}
	cr_expect_eq(lost, 2, "%d definitely lost sites, expected 2", lost);
	cr_expect(found[0] == 1 && found[1] == 1, "checkout %d, refund %d", found[0], found[1]);
	json_decref(lj);

	/* valgrind's loss records: the same two call paths */
	char o[600], e[600];
	snprintf(o, sizeof o, "%s/vgs.out", dir);
	snprintf(e, sizeof e, "%s/vgs.err", dir);
	if (run((const char *[]){"valgrind", "--leak-check=full", exe, NULL}, o, e) != 127) {
		char *text = au_slurp(e, NULL);
		cr_assert(text);
		int records = 0;
		for (const char *p = strstr(text, "are definitely lost in loss record"); p;
		     p = strstr(p + 1, "are definitely lost in loss record"))
			records++;
		cr_expect_eq(records, 2, "valgrind: %d loss records", records);
		cr_expect(strstr(text, "shop::checkout(long)") && strstr(text, "shop::refund(long)"),
			  "%s", text);
		free(text);
	}
	au_rmrf(dir);
}

/* The only pointer to a block is in a register of another thread still
 * running at exit (tests/workloads/wl_tregs.c): the scan stops the other
 * threads and reads their registers, as valgrind does: still reachable.
 * (valgrind also reports the running thread's TLS block from pthread_create
 * as possibly lost; the built-in suppression of allocate_dtv and
 * _dl_allocate_tls leaves it out of mpa's kinds: possibly lost is not
 * compared.) */
Test(leak_truth, kinds_thread_register_like_valgrind, .timeout = 120)
{
	char exe[600], dir[256], why[512];
	snprintf(exe, sizeof exe, "%s/tests/workloads/wl-tregs", getenv("MPA_BUILD"));
	const char *const argv[] = {exe, NULL};
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, argv, why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	cr_expect_eq(au_get(s, "leak", "still_reachable", "bytes"), 333);
	cr_expect_eq(au_get(s, "leak", "still_reachable", "blocks"), 1);
	cr_expect_eq(au_get(s, "leak", "definitely_lost", "bytes"), 44);
	cr_expect_eq(au_get(s, "leak", "definitely_lost", "blocks"), 1);
	cr_expect_eq(au_get(s, "leak", "possibly_lost", "bytes"), 0);
	long long vb[4], vn[4];
	if (valgrind_kinds(dir, argv, vb, vn) == 0) {
		cr_expect_eq(vb[0], 44, "valgrind: definitely lost %lld bytes", vb[0]);
		cr_expect_eq(vn[0], 1);
		cr_expect_eq(vb[1], 0);
		cr_expect_eq(vb[3], 333, "valgrind: still reachable %lld bytes", vb[3]);
		cr_expect_eq(vn[3], 1);
	}
	json_decref(s);
	au_rmrf(dir);
}

Test(leak_truth, kinds_python3_like_valgrind, .timeout = 180)
{
	kinds_like_valgrind((const char *[]){"/usr/bin/python3", "-c",
					     "import json; json.dumps({'a': [1, 2, 3]})", NULL}, 1);
}

Test(leak_truth, kinds_sort_like_valgrind, .timeout = 120)
{
	kinds_like_valgrind((const char *[]){"/usr/bin/sort", "/etc/hostname", NULL}, 1);
}

Test(leak_truth, kinds_bash_exec_like_valgrind, .timeout = 180)
{
	valgrind_trace_children = 1;
	kinds_like_valgrind((const char *[]){"/bin/bash", "-c",
					     "x=a; echo $x >/dev/null; exec /usr/bin/sort /etc/hostname",
					     NULL}, 1);
	valgrind_trace_children = 0;
}

/* --fail-on-leak 0 (definite,possible): passes a Python program that only
 * holds reachable memory at exit, fails one that leaks a block. */
static int gate_on_python(const char *code, char *err, size_t errlen)
{
	char dir[256], why[512];
	au_mkdtemp(dir, sizeof dir);
	json_t *s = record_and_analyze_argv(dir, (const char *[]){"/usr/bin/python3", "-c", code, NULL},
					    why, sizeof why);
	if (!s) {
		au_rmrf(dir);
		cr_skip_test("LTTng recording not available: %s", why);
	}
	json_decref(s);
	char ana[600], cap[600], out[600], o[600], e[600];
	snprintf(ana, sizeof ana, "%s/bin/mpa-analyze", getenv("MPA_BUILD"));
	snprintf(cap, sizeof cap, "%s/cap.mpt", dir);
	snprintf(out, sizeof out, "%s/gate", dir);
	snprintf(o, sizeof o, "%s/gate.out", dir);
	snprintf(e, sizeof e, "%s/gate.err", dir);
	int rc = run((const char *[]){ana, cap, "--leak", "-q", "-o", out, "--no-config",
				      "--fail-on-leak", "0", NULL}, o, e);
	char *msg = au_slurp(e, NULL);
	snprintf(err, errlen, "%s", msg ? msg : "");
	free(msg);
	au_rmrf(dir);
	return rc;
}

Test(leak_truth, gate_passes_python_holding_reachable_memory, .timeout = 180)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("python3 not installed");
	char err[1024];
	int rc = gate_on_python("import json\ncache = [json.dumps({'k': i}) for i in range(2000)]\n",
				err, sizeof err);
	cr_assert_eq(rc, 0, "reachable memory is no leak: %s", err);
}

Test(leak_truth, gate_fails_python_that_leaks, .timeout = 180)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("python3 not installed");
	char err[1024];
	/* a block from libc's malloc whose address is dropped: definitely lost */
	int rc = gate_on_python("import ctypes\nlibc = ctypes.CDLL(None)\nlibc.malloc.restype = ctypes.c_void_p\n"
				"libc.memset(libc.malloc(4242), 0, 4242)\n",
				err, sizeof err);
	cr_assert_eq(rc, 3, "a leak fails the gate: %s", err);
	cr_assert(strstr(err, "leak gate: ") && strstr(err, "definitely or possibly lost"), "%s", err);
}
