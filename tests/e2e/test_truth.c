/* Truth tests (issue 5, part 6): record real programs with mpa-record, analyze
 * them with mpa-analyze, and check the unfreed bytes/blocks after the default
 * suppressions against (a) what the program is known to leak and (b)
 * valgrind's "in use at exit" for the same program; and the peak against the
 * known peak. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/mpa-e2e-XXXXXX";
	char *d = mkdtemp(tmpl);
	cr_assert_not_null(d, "mkdtemp failed");
	return strdup(d);
}

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	cr_assert_not_null(j, "cannot parse '%s': %s (line %d)", path, e.text, e.line);
	return j;
}

/* A number valgrind printed with thousands separators ("10,000"). */
static long long grouped_number(const char *s)
{
	long long v = 0;
	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			v = v * 10 + (*s - '0');
	return v;
}

/* valgrind's "in use at exit: N bytes in M blocks" for prog. */
static void valgrind_in_use(const char *dir, const char *prog, long long *bytes,
			    long long *blocks)
{
	char cmd[PATH_MAX * 3], path[PATH_MAX], line[512];
	snprintf(path, sizeof(path), "%s/valgrind.txt", dir);
	snprintf(cmd, sizeof(cmd), "valgrind --leak-check=full '%s' >/dev/null 2>'%s'",
		 prog, path);
	e2e_sh(cmd); /* the workloads exit with their own status */
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "no valgrind output");
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "in use at exit:");
		if (!p)
			continue;
		char b[64], k[64];
		if (sscanf(p, "in use at exit: %63s bytes in %63s blocks", b, k) == 2) {
			*bytes = grouped_number(b);
			*blocks = grouped_number(k);
			found = 1;
		}
	}
	fclose(f);
	cr_assert(found, "valgrind printed no 'in use at exit' line for '%s'", prog);
}

struct truth {
	const char *prog;        /* relative to MPA_BUILD */
	long long leak_bytes, leak_blocks;
	long long peak_bytes;    /* -1: not checked */
};

static void check_truth(const struct truth *t)
{
	const char *build = e2e_env("MPA_BUILD", "build");
	char *dir = make_tmpdir();
	char prog[PATH_MAX], cmd[PATH_MAX * 4], path[PATH_MAX];

	snprintf(prog, sizeof(prog), "%s/%s", build, t->prog);
	cr_assert_eq(access(prog, X_OK), 0, "'%s' is not built", prog);

	snprintf(cmd, sizeof(cmd),
		 "'%s/bin/mpa-record' -o '%s/cap.mpt' -- '%s' >'%s/record.out' 2>&1",
		 build, dir, prog, dir);
	e2e_sh(cmd); /* exits with the program's status */
	snprintf(path, sizeof(path), "%s/cap.mpt", dir);
	cr_assert_eq(access(path, R_OK), 0, "mpa-record wrote no capture for '%s'", prog);

	snprintf(cmd, sizeof(cmd),
		 "'%s/bin/mpa-analyze' '%s/cap.mpt' --leak --timeline --format json "
		 "-o '%s/rep' >'%s/analyze.out' 2>&1",
		 build, dir, dir, dir);
	cr_assert_eq(e2e_sh(cmd), 0, "mpa-analyze failed on '%s'", prog);

	snprintf(path, sizeof(path), "%s/rep/leak.json", dir);
	json_t *leak = load_json(path);
	long long mb = e2e_jnum(leak, (const char *const[]){"summary", "in_use_at_exit", "bytes", NULL});
	long long mk = e2e_jnum(leak, (const char *const[]){"summary", "in_use_at_exit", "blocks", NULL});
	long long vb = -1, vk = -1;
	valgrind_in_use(dir, prog, &vb, &vk);

	cr_expect_eq(mb, t->leak_bytes, "%s: mpa definite bytes %lld, known %lld", t->prog,
		     mb, t->leak_bytes);
	cr_expect_eq(mk, t->leak_blocks, "%s: mpa definite blocks %lld, known %lld",
		     t->prog, mk, t->leak_blocks);
	cr_expect_eq(mb, vb, "%s: mpa %lld bytes, valgrind in use at exit %lld", t->prog,
		     mb, vb);
	cr_expect_eq(mk, vk, "%s: mpa %lld blocks, valgrind %lld", t->prog, mk, vk);
	json_decref(leak);

	if (t->peak_bytes >= 0) {
		snprintf(path, sizeof(path), "%s/rep/timeline.json", dir);
		json_t *tl = load_json(path);
		long long peak = e2e_jnum(tl, (const char *const[]){"user", "peak_bytes", NULL});
		cr_expect_eq(peak, t->peak_bytes, "%s: peak %lld bytes, known %lld",
			     t->prog, peak, t->peak_bytes);
		json_decref(tl);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	e2e_sh(cmd);
	free(dir);
}

TestSuite(e2e_truth, .timeout = 300);

Test(e2e_truth, demo_program)
{
	/* 50 blocks of 200 bytes from leaky_audit_log (samples/demo/mpa-demo.c) */
	check_truth(&(struct truth){"samples/mpa-demo", 10000, 50, -1});
}

Test(e2e_truth, basic_workload)
{
	/* tests/workloads/wl_basic.c: 100+200+300+400+500 leaked; peak = those
	 * 1500 bytes + 8 x 40000 live at once */
	check_truth(&(struct truth){"tests/workloads/wl-basic", 1500, 5, 321500});
}

Test(e2e_truth, threads_workload)
{
	/* tests/workloads/wl_threads.c frees everything; the DTVs of its threads
	 * are covered by the default suppressions */
	check_truth(&(struct truth){"tests/workloads/wl-threads", 0, 0, -1});
}

Test(e2e_truth, cxx_workload)
{
	check_truth(&(struct truth){"tests/workloads/wl-cxx", 0, 0, -1});
}

Test(e2e_truth, early_constructor_workload)
{
	/* tests/tracepoints/wl_early*.c: a library's constructor allocates 4242
	 * and 4141 bytes before tracing is live (early blocks); main frees the
	 * first.  Leak: 4141 bytes in 1 block; peak: both, 8383 bytes */
	check_truth(&(struct truth){"tests/tracepoints/wl-early", 4141, 1, 8383});
}
