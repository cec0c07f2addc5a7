/* A fork without exec, end to end (issue "Analysis core v2", item 2): the
 * parent allocates 5 blocks and forks; the child frees 4 of the inherited
 * blocks, allocates 7777 bytes and leaks them, and exits; the parent frees
 * its own 5 copies (tests/workloads/wl_fork.c).  Exact results: the child
 * leaves 5555 (inherited) + 7777 bytes in 2 blocks, the parent nothing, and
 * no free is an unknown one — as valgrind --trace-children=yes says. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"

static json_t *load(const char *dir, const char *file)
{
	char path[PATH_MAX];
	json_error_t e;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	json_t *j = json_load_file(path, 0, &e);
	cr_assert_not_null(j, "cannot parse '%s': %s", path, e.text);
	return j;
}

/* The sum of valgrind's "in use at exit: N bytes in M blocks" over every
 * process of the tree. */
static void valgrind_tree(const char *dir, const char *prog, long long *bytes, long long *blocks,
			  int *procs)
{
	char cmd[PATH_MAX * 3], path[PATH_MAX], line[512];
	snprintf(path, sizeof path, "%s/valgrind.txt", dir);
	snprintf(cmd, sizeof cmd,
		 "valgrind --trace-children=yes --leak-check=full '%s' >/dev/null 2>'%s'", prog,
		 path);
	e2e_sh(cmd);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "no valgrind output");
	*bytes = *blocks = 0;
	*procs = 0;
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, "in use at exit:");
		char b[64], k[64];
		if (p && sscanf(p, "in use at exit: %63s bytes in %63s blocks", b, k) == 2) {
			long long vb = 0, vk = 0;
			for (char *q = b; *q; q++)
				if (*q >= '0' && *q <= '9')
					vb = vb * 10 + (*q - '0');
			for (char *q = k; *q; q++)
				if (*q >= '0' && *q <= '9')
					vk = vk * 10 + (*q - '0');
			*bytes += vb;
			*blocks += vk;
			++*procs;
		}
	}
	fclose(f);
}

Test(e2e_fork, child_frees_inherited_blocks_and_leaks_one, .timeout = 300)
{
	const char *build = e2e_env("MPA_BUILD", "build");
	char tmpl[] = "/tmp/mpa-e2e-fork-XXXXXX";
	char *dir = mkdtemp(tmpl);
	cr_assert_not_null(dir);
	char prog[PATH_MAX], cmd[PATH_MAX * 4], rep[PATH_MAX];
	snprintf(prog, sizeof prog, "%s/tests/workloads/wl-fork", build);
	cr_assert_eq(access(prog, X_OK), 0, "'%s' is not built", prog);
	snprintf(cmd, sizeof cmd, "'%s/bin/mpa-record' -o '%s/cap.mpt' -- '%s' >'%s/rec.out' 2>&1",
		 build, dir, prog, dir);
	cr_assert_eq(e2e_sh(cmd), 0, "mpa-record or the workload failed (see %s/rec.out)", dir);
	snprintf(rep, sizeof rep, "%s/rep", dir);
	snprintf(cmd, sizeof cmd,
		 "'%s/bin/mpa-analyze' '%s/cap.mpt' --leak --timeline --format json -o '%s' "
		 ">'%s/an.out' 2>&1",
		 build, dir, rep, dir);
	cr_assert_eq(e2e_sh(cmd), 0, "mpa-analyze failed (see %s/an.out)", dir);

	json_t *sum = load(rep, "summary.json");
	json_t *heap = json_object_get(json_object_get(sum, "scan"), "heap");
	cr_assert_eq(json_integer_value(json_object_get(heap, "forks")), 1, "one fork record");
	json_t *lk = json_object_get(json_object_get(sum, "analyzers"), "leak");
	json_t *def = json_object_get(lk, "in_use_at_exit");
	cr_expect_eq(json_integer_value(json_object_get(def, "bytes")), 5555 + 7777);
	cr_expect_eq(json_integer_value(json_object_get(def, "blocks")), 2);
	json_t *an = json_object_get(lk, "anomalies");
	cr_expect_eq(json_integer_value(json_object_get(an, "unknown_free")), 0,
		     "the child's frees of inherited blocks are ordinary frees");
	cr_expect_eq(json_integer_value(json_object_get(an, "double_free")), 0);

	/* both blocks are the child's, at their allocation sites */
	json_t *leak = load(rep, "leak.json");
	json_t *sites = json_object_get(leak, "sites");
	int inherited = 0, own = 0;
	size_t i;
	json_t *g;
	json_array_foreach(sites, i, g) {
		const char *site = json_string_value(json_object_get(g, "site"));
		const char *cls = json_string_value(json_object_get(g, "class"));
		/* what the child held at exit, whatever its kind */
		if (!site || !strcmp(cls, "live_at_end"))
			continue;
		if (strstr(site, "mpa_wl_fork_alloc") &&
		    json_integer_value(json_object_get(g, "bytes")) == 5555)
			inherited++;
		if (strstr(site, "mpa_wl_fork_child") &&
		    json_integer_value(json_object_get(g, "bytes")) == 7777)
			own++;
	}
	cr_expect_eq(inherited, 1, "the inherited 5555-byte block, at the parent's site");
	cr_expect_eq(own, 1, "the child's own 7777-byte leak");

	/* the timeline saw the child's frees as frees too */
	json_t *tl = load(rep, "timeline.json");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(tl, "user"), "unknown_frees")),
		     0);

	long long vb, vk;
	int procs;
	valgrind_tree(dir, prog, &vb, &vk, &procs);
	cr_expect_eq(procs, 2, "valgrind reports both processes");
	cr_expect_eq(vb, 5555 + 7777, "valgrind: %lld bytes in use at exit over the tree", vb);
	cr_expect_eq(vk, 2);

	json_decref(sum);
	json_decref(leak);
	json_decref(tl);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	e2e_sh(cmd);
}
