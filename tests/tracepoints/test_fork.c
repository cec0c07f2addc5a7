/* tests/tracepoints: forks recorded for real, through `mpa-record -o` and
 * `mpa-cat --events -f jsonl`.  tests/workloads/wl_fork.c: exactly one
 * proc_fork record for the workload's child (its pid, the workload's pid as
 * ppid), before every other record of the child (so before its frees of
 * the blocks it inherited), and the child's frees are of exactly the
 * parent's blocks.  tests/workloads/wl_vfork.c: a vfork child's _exit is
 * not the parent's.  mpa-record takes the host's recording lock itself, so
 * no other mpa-record session records these programs; records of other
 * processes are told apart by pid.
 */
#include <jansson.h>
#include <limits.h>

#include "tp_test_util.h"

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "no integer '%s'", key);
	return (long long)json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static int is_kind(json_t *o, const char *kind)
{
	return strcmp(jstr(o, "kind"), kind) == 0;
}

/* A recording of tests/workloads/<name> by mpa-record -o, dumped by mpa-cat
 * as JSON Lines. */
struct cap {
	char tmp[32];
	char path[64];
	json_t **rows;   /* (owned) one object per record */
	size_t n;
	long long pid;   /* the workload: the process whose image it is */
};

static void record(struct cap *c, const char *name)
{
	char out[64], err[64], env[64], rec[PATH_MAX], cat[PATH_MAX], wl[PATH_MAX], sfx[64];
	char *txt;

	memset(c, 0, sizeof *c);
	snprintf(c->tmp, sizeof c->tmp, "/tmp/mpa-tp-fork-XXXXXX");
	cr_assert(mkdtemp(c->tmp) != NULL);
	snprintf(c->path, sizeof c->path, "%s/cap.mpt", c->tmp);
	snprintf(out, sizeof out, "%s/out", c->tmp);
	snprintf(err, sizeof err, "%s/err", c->tmp);
	snprintf(env, sizeof env, "TMPDIR=%s", c->tmp);
	snprintf(rec, sizeof rec, "%s/bin/mpa-record", tp_build_dir());
	snprintf(cat, sizeof cat, "%s/bin/mpa-cat", tp_build_dir());
	snprintf(wl, sizeof wl, "%s/tests/workloads/%s", tp_build_dir(), name);
	{
		char *argv[] = { rec, "-q", "-o", c->path, "--", wl, NULL };
		int st = tp_run(argv, env, out, err);

		txt = tp_slurp(err);
		cr_assert_eq(st, 0, "mpa-record of %s (exit 0 = the workload saw what it "
			"expected): %s", name, txt);
		free(txt);
	}
	{
		char *argv[] = { cat, "--events", "-f", "jsonl", c->path, NULL };

		cr_assert_eq(tp_run(argv, NULL, out, err), 0, "mpa-cat failed");
	}
	txt = tp_slurp(out);
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);

		cr_assert_not_null(o, "bad JSON line: %s", je.text);
		c->rows = realloc(c->rows, (c->n + 1) * sizeof *c->rows);
		cr_assert(c->rows != NULL);
		c->rows[c->n++] = o;
	}
	free(txt);
	snprintf(sfx, sizeof sfx, "/%s", name);
	c->pid = -1;
	for (size_t i = 0; i < c->n && c->pid < 0; i++) {
		const char *s = jstr(c->rows[i], "str");
		size_t l = strlen(s);

		if (is_kind(c->rows[i], "proc_exec") && l >= strlen(sfx) &&
				strcmp(s + l - strlen(sfx), sfx) == 0)
			c->pid = jint(c->rows[i], "pid");
	}
	cr_assert_gt(c->pid, 0, "no proc_exec of %s", name);
}

static void cap_free(struct cap *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->rows[i]);
	free(c->rows);
	tp_rmrf(c->tmp);
}

Test(tracepoints_fork, fork_record_before_the_childs_frees, .timeout = 300)
{
	struct cap c;

	record(&c, "wl-fork");
	json_t **rows = c.rows;
	size_t n = c.n;
	long long parent = c.pid, child = -1;
	size_t fork_at = 0, forks = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_kind(rows[i], "proc_fork"))
			continue;
		cr_assert_neq(jint(rows[i], "pid"), parent, "the workload itself was not forked");
		if (jint(rows[i], "ppid") != parent)
			continue;
		forks++;
		fork_at = i;
		child = jint(rows[i], "pid");
		cr_assert_eq(jint(rows[i], "tid"), child, "the child's main thread");
	}
	cr_assert_eq(forks, 1, "one proc_fork with the workload as parent, %zu found", forks);
	cr_assert_neq(child, parent);

	/* the parent's five blocks, then what the child does with them */
	char ptrs[5][24] = { { 0 } };
	size_t child_rows = 0, child_frees = 0, leaked = 0, exits = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = rows[i];
		long long pid = jint(o, "pid");

		if (pid == parent && is_kind(o, "alloc") && jint(o, "size") % 1111 == 0 &&
				jint(o, "size") <= 5555) {
			long long k = jint(o, "size") / 1111 - 1;

			if (!ptrs[k][0] && i < fork_at) /* the first one, before the fork */
				snprintf(ptrs[k], sizeof ptrs[k], "%s", jstr(o, "ptr"));
		}
		if (pid != child)
			continue;
		child_rows++;
		cr_assert_geq(i, fork_at, "a record of the child (%s) before its proc_fork",
			jstr(o, "kind"));
		if (is_kind(o, "free")) {
			for (int k = 0; k < 4; k++)
				if (ptrs[k][0] && strcmp(jstr(o, "ptr"), ptrs[k]) == 0) {
					child_frees++;
					ptrs[k][0] = '\0'; /* each block freed once */
				}
		} else if (is_kind(o, "alloc") && jint(o, "size") == 7777) {
			leaked++;
		} else if (is_kind(o, "proc_exit")) {
			exits++;
			cr_assert_eq(jint(o, "status"), 0);
		}
	}
	cr_assert_gt(child_rows, 1);
	cr_assert_eq(child_frees, 4, "the child frees 4 of the parent's blocks, after its fork");
	cr_assert(ptrs[4][0], "the parent's fifth block, kept by the child");
	cr_assert_eq(leaked, 1);
	cr_assert_eq(exits, 1);

	/* mpa-cat's summary: proc_fork needs format 2.0, and the exit scan's
	 * leak_scan rows (on by default) 3.0 */
	{
		char cat[PATH_MAX], out[64], err[64], *txt;
		char *argv[] = { cat, c.path, NULL };

		snprintf(cat, sizeof cat, "%s/bin/mpa-cat", tp_build_dir());
		snprintf(out, sizeof out, "%s/sum", c.tmp);
		snprintf(err, sizeof err, "%s/sum.err", c.tmp);
		cr_assert_eq(tp_run(argv, NULL, out, err), 0);
		txt = tp_slurp(out);
		/* 3.0 at least; 4.0 when the writer chose a 4.0 encoding */
		const char *v = strstr(txt, "mpt ");
		cr_assert(v != NULL, "%s", txt);
		cr_assert_geq(atoi(v + 4), 3, "%s", txt);
		free(txt);
	}
	cap_free(&c);
}

/* A vfork child shares the parent's memory, and so the preload's state:
 * its _exit(127) after a failed exec must neither be recorded as the
 * parent's exit nor stop the parent's recording; vfork makes no
 * proc_fork. */
Test(tracepoints_fork, vfork_child_exit_is_not_the_parents, .timeout = 300)
{
	struct cap c;
	size_t exits = 0, after = 0;

	record(&c, "wl-vfork");
	for (size_t i = 0; i < c.n; i++) {
		json_t *o = c.rows[i];

		if (is_kind(o, "proc_fork"))
			cr_assert_neq(jint(o, "ppid"), c.pid, "vfork made a proc_fork");
		if (jint(o, "pid") != c.pid)
			continue;
		if (is_kind(o, "proc_exit")) {
			exits++;
			cr_assert_eq(jint(o, "status"), 0, "the parent's exit status, not the child's");
		} else if (is_kind(o, "alloc") && jint(o, "size") == 8765) {
			cr_assert_eq(exits, 0, "recorded after the proc_exit");
			after++;
		}
	}
	cr_assert_eq(exits, 1);
	cr_assert_eq(after, 1, "the parent is still recorded after the vfork");
	cap_free(&c);
}
