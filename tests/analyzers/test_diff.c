/* mpa-diff: per-site comparison by function and source location (two
 * captures with different addresses and stack ids compare), the gate's
 * rules, the outputs; and end to end on two recordings of wl-diff
 * (tests/workloads/wl_diff.c), the second with an added leak. */
#include "analyze_test_util.h"
#include "browser_util.h"

/* Runs build/bin/mpa-diff with args in cwd, stdout and stderr in out and err (malloc'd). */
static int diff_cli(const char *cwd, const char *const *args, char **out, char **err)
{
	const char *build = getenv("MPA_BUILD");
	cr_assert(build, "MPA_BUILD not set");
	char bin[1024], tmp[256], of[300], ef[300];
	snprintf(bin, sizeof bin, "%s/bin/mpa-diff", build);
	au_mkdtemp(tmp, sizeof tmp);
	snprintf(of, sizeof of, "%s/out", tmp);
	snprintf(ef, sizeof ef, "%s/err", tmp);
	const char *argv[32];
	size_t n = 0;
	argv[n++] = "mpa-diff";
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(of, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(ef, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || (cwd && chdir(cwd) != 0))
			_exit(125);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	*out = au_slurp(of, NULL);
	*err = au_slurp(ef, NULL);
	au_rmrf(tmp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *site_of(json_t *diff, const char *prefix)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(diff, "sites"), i, s) {
		const char *n = json_string_value(json_object_get(s, "site"));
		if (n && !strncmp(n, prefix, strlen(prefix)))
			return s;
	}
	return NULL;
}

static long long val(json_t *s, const char *side, const char *m)
{
	return json_integer_value(json_object_get(json_object_get(s, side), m));
}

Test(diff, sites_matched_by_function_and_line_not_address)
{
	char dir[256];
	au_mkdtemp(dir, sizeof dir);
	struct au_cap a, b;
	/* base: keep leaks 100, work allocates 300 (freed) */
	au_open(&a);
	uint32_t ka = au_site(&a, "keep", 10), wa = au_site(&a, "work", 20);
	au_alloc(&a, 100, 7, 0x1000, 100, ka);
	au_alloc(&a, 200, 7, 0x2000, 300, wa);
	au_free(&a, 300, 7, 0x2000);
	au_exit(&a, 400, 7);
	au_close(&a);
	/* new: other addresses, other stack ids (an extra site first), keep
	 * leaks 100 + 2 MiB, work allocates 300 twice */
	au_open(&b);
	uint32_t nb = au_site(&b, "fresh", 5), kb = au_site(&b, "keep", 10), wb = au_site(&b, "work", 20);
	au_alloc(&b, 100, 8, 0x9000, 100, kb);
	au_alloc(&b, 150, 8, 0xa0000, 2 << 20, kb);
	au_alloc(&b, 200, 8, 0x9100, 300, wb);
	au_free(&b, 300, 8, 0x9100);
	au_alloc(&b, 310, 8, 0x9200, 300, wb);
	au_free(&b, 320, 8, 0x9200);
	au_alloc(&b, 330, 8, 0x9300, 8, nb);
	au_free(&b, 340, 8, 0x9300);
	au_exit(&b, 400, 8);
	au_close(&b);
	char out[400];
	snprintf(out, sizeof out, "%s/d", dir);
	char *o, *e;
	const char *args[] = {a.path, b.path, "-o", out, "--no-config", "--fail-if", "leaked>+1MiB",
			      "--fail-if", "peak>+10%", "--fail-if", "calls>+5", "--fail-if",
			      "allocated>3MiB", NULL};
	int rc = diff_cli(NULL, args, &o, &e);
	cr_assert_eq(rc, 3, "%s", e);
	/* one line per tripped rule: leaked and peak trip; calls (+3) and
	 * allocated (new total 2 MiB + 708) do not */
	cr_assert(strstr(e, "mpa-diff: gate 'leaked>+1MiB' tripped: leaked 100 B -> 2.00 MiB (+2.00 MiB, "
			    "+2097152.0%); grew most at keep (prog.c:10) +2.00 MiB\n"), "%s", e);
	cr_assert(strstr(e, "mpa-diff: gate 'peak>+10%' tripped: peak"), "%s", e);
	cr_assert_null(strstr(e, "calls>+5"), "%s", e);
	cr_assert_null(strstr(e, "allocated>3MiB"), "%s", e);
	int lines = 0;
	for (const char *p = e; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 2, "%s", e);
	free(o);
	free(e);
	json_t *d = au_json(out, "diff.json");
	json_t *k = site_of(d, "keep (prog.c:10)"), *w = site_of(d, "work (prog.c:20)"),
	       *f = site_of(d, "fresh (prog.c:5)");
	cr_assert(k && w && f);
	cr_assert_eq(val(k, "base", "leaked_bytes"), 100);
	cr_assert_eq(val(k, "new", "leaked_bytes"), 100 + (2 << 20));
	cr_assert_eq(val(k, "delta", "leaked_bytes"), 2 << 20);
	cr_assert_float_eq(json_real_value(json_object_get(json_object_get(k, "ratio"), "leaked_bytes")),
			   (100.0 + (2 << 20)) / 100.0, 1e-9);
	cr_assert_eq(val(w, "base", "allocated_bytes"), 300);
	cr_assert_eq(val(w, "new", "allocated_bytes"), 600);
	cr_assert_eq(val(w, "delta", "calls"), 1);
	cr_assert_eq(val(w, "new", "temporary"), 2);
	cr_assert_eq(val(f, "base", "calls"), 0);
	cr_assert(json_is_null(json_object_get(json_object_get(f, "ratio"), "calls")));
	/* sorted by the change in leaked bytes first */
	cr_assert_eq(json_array_get(json_object_get(d, "sites"), 0), k);
	json_t *tp = json_object_get(json_object_get(d, "totals"), "peak_bytes");
	cr_assert_eq(json_integer_value(json_object_get(tp, "base")), 400);
	cr_assert_eq(json_integer_value(json_object_get(tp, "new")), 100 + (2 << 20) + 300);
	json_t *rules = json_object_get(d, "rules");
	cr_assert_eq(json_array_size(rules), 4);
	cr_assert(json_is_true(json_object_get(json_array_get(rules, 0), "tripped")));
	cr_assert(json_is_false(json_object_get(json_array_get(rules, 2), "tripped")));
	json_decref(d);
	/* the CSV: one row a site plus the header */
	char p[600];
	snprintf(p, sizeof p, "%s/diff.csv", out);
	char *csv = au_slurp(p, NULL);
	cr_assert(csv && strstr(csv, "\"keep (prog.c:10)\",100,2097252,2097152,20972.5,1,2,1,2,100,2097252,"
					"2097152,20972.5,100,2097252,2097152,20972.5,0,0,0,\n"
					"\"work (prog.c:20)\",300,600,300,2,1,2,1,2,300,300,0,1,0,0,0,,1,2,1,2\n"),
		  "%s", csv);
	free(csv);
	/* the differential flamegraph draws in a browser, with both runs' values */
	char *dom = dump_dom(out, "diff.html");
	cr_assert(strstr(dom, "id=\"mpa-status\" data-state=\"ok\">diff ready: 3 sites"), "%s", dom);
	cr_assert(strstr(dom, "data-name=\"keep\" data-base=\"100\" data-new=\"2097252\""));
	cr_assert(strstr(dom, "id=\"sites-table\" data-rows=\"3\""));
	free(dom);
	au_rmrf(a.dir);
	au_rmrf(b.dir);
	au_rmrf(dir);
}

Test(diff, bad_rules_and_arguments_are_one_line)
{
	char *o, *e;
	const char *r1[] = {"a.mpt", "b.mpt", "--fail-if", "leaks>+1MiB", NULL};
	cr_assert_eq(diff_cli(NULL, r1, &o, &e), 2);
	cr_assert(strstr(e, "--fail-if 'leaks>+1MiB': expected METRIC>+AMOUNT"), "%s", e);
	free(o);
	free(e);
	const char *r2[] = {"a.mpt", "b.mpt", "--fail-if", "calls>+1MiB", NULL};
	cr_assert_eq(diff_cli(NULL, r2, &o, &e), 2);
	free(o);
	free(e);
	const char *r3[] = {"a.mpt", "b.mpt", "--fail-if", "peak>10%", NULL};
	cr_assert_eq(diff_cli(NULL, r3, &o, &e), 2);
	free(o);
	free(e);
	const char *r4[] = {"a.mpt", NULL};
	cr_assert_eq(diff_cli(NULL, r4, &o, &e), 2);
	free(o);
	free(e);
	const char *r5[] = {"/nonexistent/a.mpt", "/nonexistent/b.mpt", "-o", "/tmp/mpa-diff-never-made-x/d", NULL};
	cr_assert_eq(diff_cli(NULL, r5, &o, &e), 1);
	cr_assert(strstr(e, "/nonexistent/a.mpt"), "%s", e);
	cr_assert_eq(strchr(e, '\n'), strrchr(e, '\n'), "one line: %s", e);
	free(o);
	free(e);
	au_rmrf("/tmp/mpa-diff-never-made-x");
}

/* Runs argv in dir, output to dir/log; the exit status. */
static int run_in(const char *dir, char *const argv[])
{
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		int fd = open("log", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(diff, two_recordings_one_with_an_added_leak, .timeout = 300)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert(b, "MPA_BUILD is not set");
	char rec[1024], wl[1024];
	snprintf(rec, sizeof rec, "%s/bin/mpa-record", b);
	snprintf(wl, sizeof wl, "%s/tests/workloads/wl-diff", b);
	cr_assert_eq(access(wl, X_OK), 0, "'%s' is not built", wl);
	char dir[256];
	au_mkdtemp(dir, sizeof dir);
	char *r1[] = {rec, "-q", "-o", "base.mpt", "--", wl, NULL};
	char *r2[] = {rec, "-q", "-o", "new.mpt", "--", wl, "leak", NULL};
	cr_assert_eq(run_in(dir, r1), 0, "mpa-record failed (see %s/log)", dir);
	cr_assert_eq(run_in(dir, r2), 0, "mpa-record failed (see %s/log)", dir);
	char *o, *e;
	const char *args[] = {"base.mpt", "new.mpt", "-o", "d", "--no-config", "--fail-if",
			      "leaked>+1MiB", "--fail-if", "peak>+10%", NULL};
	int rc = diff_cli(dir, args, &o, &e);
	cr_assert_eq(rc, 3, "%s%s", o, e);
	/* both rules trip and name the added leak's site */
	cr_assert(strstr(e, "gate 'leaked>+1MiB' tripped: leaked "), "%s", e);
	cr_assert(strstr(e, "grew most at mpa_wl_added_leak (tests/workloads/wl_diff.c:"), "%s", e);
	cr_assert(strstr(e, "gate 'peak>+10%' tripped: peak "), "%s", e);
	free(o);
	free(e);
	char out[400];
	snprintf(out, sizeof out, "%s/d", dir);
	json_t *d = au_json(out, "diff.json");
	json_t *s = site_of(d, "mpa_wl_added_leak (tests/workloads/wl_diff.c:");
	cr_assert(s);
	cr_assert_eq(val(s, "base", "leaked_bytes"), 0);
	cr_assert_eq(val(s, "new", "leaked_bytes"), 24 * 65536);
	cr_assert_eq(val(s, "new", "calls"), 24);
	/* the program's other sites are matched across the two builds' runs
	 * (different addresses) and did not change */
	json_t *k = site_of(d, "mpa_wl_keep (tests/workloads/wl_diff.c:");
	json_t *w = site_of(d, "mpa_wl_work (tests/workloads/wl_diff.c:");
	cr_assert(k && w);
	cr_assert_eq(val(k, "base", "leaked_bytes"), 3 * 4096);
	cr_assert_eq(val(k, "delta", "leaked_bytes"), 0);
	cr_assert_eq(val(w, "delta", "allocated_bytes"), 0);
	/* the first site of the list is the one that changed most */
	cr_assert_eq(json_array_get(json_object_get(d, "sites"), 0), s);
	json_decref(d);
	au_rmrf(dir);
}
