/* tests/tracepoints: stack interning (tracepoints/preload_stacks.c), on
 * real recordings of tests/workloads/wl_intern.c (two threads, then a
 * fork child, each with known call paths).  The same workload recorded
 * with interning (the default), with a table too small for it
 * (MPA_STACK_IDS=5: the rest inline) and without (MPA_STACK_IDS=0) must
 * give the same records of the workload's sites: kind, size, process role
 * and the functions of the whole stack, as a multiset (thread interleaving
 * differs between runs; timestamps and addresses do too).
 */
#include <jansson.h>
#include <limits.h>

#include "tp_test_util.h"

#define SITES 24
#define ROUNDS 8

struct irec {
	char tmp[32];
	char cap[64];
	char trace[64];
	char **keys;     /* (owned) one per record of a workload site, sorted */
	size_t n;
	json_t *meta;    /* unused */
};

static const char *js(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

static long long ji(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Records wl-intern with env (NAME=VALUE or NULL), keeping the trace. */
static void irecord(struct irec *r, const char *env)
{
	char out[64], err[64], rec[PATH_MAX], cat[PATH_MAX], wl[PATH_MAX], *txt;
	long long parent = -1, child = -1;

	memset(r, 0, sizeof *r);
	snprintf(r->tmp, sizeof r->tmp, "/tmp/mpa-tp-intern-XXXXXX");
	cr_assert(mkdtemp(r->tmp) != NULL);
	snprintf(r->cap, sizeof r->cap, "%s/cap.mpt", r->tmp);
	snprintf(r->trace, sizeof r->trace, "%s/trace", r->tmp);
	snprintf(out, sizeof out, "%s/out", r->tmp);
	snprintf(err, sizeof err, "%s/err", r->tmp);
	snprintf(rec, sizeof rec, "%s/bin/mpa-record", tp_build_dir());
	snprintf(cat, sizeof cat, "%s/bin/mpa-cat", tp_build_dir());
	snprintf(wl, sizeof wl, "%s/tests/workloads/wl-intern", tp_build_dir());
	{
		char *argv[] = { rec, "-q", "--lossless", "--keep-trace", r->trace, "-o", r->cap,
			"--", wl, NULL };
		int st = tp_run(argv, env, out, err);

		txt = tp_slurp(err);
		cr_assert_eq(st, 0, "mpa-record of wl-intern (%s): %s", env ? env : "", txt);
		free(txt);
	}
	{
		char *argv[] = { cat, "-s", "-f", "jsonl", r->cap, NULL };

		cr_assert_eq(tp_run(argv, NULL, out, err), 0, "mpa-cat failed");
	}
	txt = tp_slurp(out);
	json_t **rows = NULL;
	size_t nrows = 0;
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);

		cr_assert_not_null(o, "bad JSON line: %s", je.text);
		rows = realloc(rows, (nrows + 1) * sizeof *rows);
		cr_assert(rows != NULL);
		rows[nrows++] = o;
		const char *s = js(o, "str");
		size_t l = strlen(s);
		if (!strcmp(js(o, "kind"), "proc_exec") && l >= 10 && !strcmp(s + l - 10, "/wl-intern"))
			parent = ji(o, "pid");
		else if (!strcmp(js(o, "kind"), "proc_fork") && parent > 0 && ji(o, "ppid") == parent)
			child = ji(o, "pid");
	}
	free(txt);
	cr_assert(parent > 0 && child > 0, "the workload and its fork child");
	for (size_t i = 0; i < nrows; i++) {
		json_t *o = rows[i], *st = json_object_get(o, "stack");
		const char *kind = js(o, "kind");
		long long pid = ji(o, "pid");
		char key[4096];
		int len, site = 0;

		if ((pid != parent && pid != child) || !json_is_array(st) ||
				(strcmp(kind, "alloc") && strcmp(kind, "free")))
			continue;
		len = snprintf(key, sizeof key, "%s %s %lld", pid == parent ? "parent" : "child",
			kind, strcmp(kind, "alloc") ? 0 : ji(o, "size"));
		for (size_t k = 0; k < json_array_size(st); k++) {
			const char *fn = js(json_array_get(st, k), "func");

			site |= strncmp(fn, "mpa_wl_intern_", 14) == 0;
			if (len < (int)sizeof key - 1)
				len += snprintf(key + len, sizeof key - (size_t)len, " <%s", fn);
		}
		if (!site)
			continue;
		r->keys = realloc(r->keys, (r->n + 1) * sizeof *r->keys);
		cr_assert(r->keys != NULL);
		r->keys[r->n++] = strdup(key);
	}
	for (size_t i = 0; i < nrows; i++)
		json_decref(rows[i]);
	free(rows);
	qsort(r->keys, r->n, sizeof *r->keys, cmp_str);
	/* 3 runs of the sites (2 threads, the child), an alloc and a free each */
	cr_assert_eq(r->n, 3 * SITES * ROUNDS * 2, "records of the workload's sites (%s)",
		env ? env : "default");
}

/* The capture's metadata value of key, or -1 when absent. */
static long long meta_of(const struct irec *r, const char *key)
{
	char cat[PATH_MAX], out[96], err[96], pat[128], *txt, *at;
	long long v = -1;
	char *argv[] = { cat, (char *)r->cap, NULL };

	snprintf(cat, sizeof cat, "%s/bin/mpa-cat", tp_build_dir());
	snprintf(out, sizeof out, "%s/sum", r->tmp);
	snprintf(err, sizeof err, "%s/sum.err", r->tmp);
	cr_assert_eq(tp_run(argv, NULL, out, err), 0);
	txt = tp_slurp(out);
	snprintf(pat, sizeof pat, "\"%s\" = \"", key);
	at = strstr(txt, pat);
	if (at)
		v = atoll(at + strlen(pat));
	free(txt);
	return v;
}

/* Lines of babeltrace2's text of the trace matching an extended regexp. */
static long count_in_trace(const struct irec *r, const char *regex)
{
	char cmd[512], out[96], *txt;
	long n;

	snprintf(out, sizeof out, "%s/count", r->tmp);
	snprintf(cmd, sizeof cmd, "babeltrace2 '%s/ust' 2>/dev/null | grep -Ec '%s' > '%s'",
		r->trace, regex, out);
	cr_assert_neq(system(cmd), -1);
	txt = tp_slurp(out);
	n = atol(txt);
	free(txt);
	return n;
}

static void same_keys(const struct irec *a, const struct irec *b)
{
	cr_assert_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		cr_assert_str_eq(a->keys[i], b->keys[i], "record %zu of the sorted sites differs", i);
}

static void ifree(struct irec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->keys[i]);
	free(r->keys);
	tp_rmrf(r->tmp);
}

/* Interned (default) against inline (MPA_STACK_IDS=0): the same sites in
 * the parent's two threads and in the fork child (whose ids restart at 1
 * and so collide with the parent's: the converter keys them per process
 * image). */
Test(stack_intern, interned_recording_equals_inline, .timeout = 900)
{
	struct irec in, inl;

	irecord(&in, NULL);
	irecord(&inl, "MPA_STACK_IDS=0");
	same_keys(&in, &inl);
	/* sites deeper than 16 frames share their innermost 16: ~15 distinct
	 * alloc and free stacks per thread, the child defining its own */
	cr_assert_geq(meta_of(&in, "stacks.interned"), 3 * 2 * 10);
	cr_assert_eq(meta_of(&in, "stacks.by_id_unknown"), 0);
	cr_assert_geq(meta_of(&in, "stacks.by_id"), 3 * SITES * ROUNDS * 2);
	cr_assert_eq(meta_of(&inl, "stacks.interned"), -1, "no interning: no stacks.* keys");
	cr_assert_eq(count_in_trace(&inl, "mpa:stack:"), 0);
	/* with interning, no allocation of the trace carries frames except the
	 * early ones (emitted with their frames) and the rare ones that met a
	 * stack another thread was defining */
	cr_assert_gt(count_in_trace(&in, "mpa:alloc:.*stack_id = [1-9]"), 3 * SITES * ROUNDS);
	ifree(&in);
	ifree(&inl);
}

/* A table of 5 stacks: the first 5 stacks of each process image are
 * interned, every other event carries its frames; the records are the
 * same. */
Test(stack_intern, full_table_falls_back_to_inline_frames, .timeout = 900)
{
	struct irec small, inl;

	irecord(&small, "MPA_STACK_IDS=5");
	irecord(&inl, "MPA_STACK_IDS=0");
	same_keys(&small, &inl);
	long defs = count_in_trace(&small, "mpa:stack:");
	cr_assert(defs >= 5 && defs <= 10, "at most 5 definitions per process image: %ld", defs);
	cr_assert_gt(count_in_trace(&small, "mpa:alloc:.*stack_id = 0, _stack_length = [1-9]"),
		3 * SITES * ROUNDS / 2, "events beyond the table carry their frames");
	cr_assert_eq(meta_of(&small, "stacks.interned"), defs);
	cr_assert_eq(meta_of(&small, "stacks.by_id_unknown"), 0);
	ifree(&small);
	ifree(&inl);
}

/* Definitions lost for real: tests/workloads/wl_stacks.c (512 stacks,
 * each first used in a burst) recorded in discard mode with 4 KiB x 2
 * sub-buffers, which drops most events, mpa:stack ones among them.  The
 * records whose definition was lost get the "[unknown: stack definition
 * lost]" stack and are counted; every other record of a size (a size
 * names one call stack) has that size's one stack, and no two sizes share
 * a stack: a lost definition never makes another stack's id resolve. */
Test(stack_intern, lost_definitions_are_unknown_never_guessed, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-tp-intern-XXXXXX", cap[64], out[96], err[96];
	char rec[PATH_MAX], cat[PATH_MAX], wl[PATH_MAX], *txt;
	struct irec meta;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(cap, sizeof cap, "%s/cap.mpt", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	snprintf(rec, sizeof rec, "%s/bin/mpa-record", tp_build_dir());
	snprintf(cat, sizeof cat, "%s/bin/mpa-cat", tp_build_dir());
	snprintf(wl, sizeof wl, "%s/tests/workloads/wl-stacks", tp_build_dir());
	{
		char *argv[] = { rec, "-q", "--subbuf-size", "4K", "--num-subbuf", "2", "-o", cap,
			"--", wl, "20", NULL };

		cr_assert_eq(tp_run(argv, NULL, out, err), 0, "mpa-record: %s", tp_slurp(err));
	}
	memset(&meta, 0, sizeof meta);
	snprintf(meta.tmp, sizeof meta.tmp, "%s", tmp);
	snprintf(meta.cap, sizeof meta.cap, "%s", cap);
	long long unknown = meta_of(&meta, "stacks.by_id_unknown");
	if (meta_of(&meta, "lost_events") <= 0 || unknown <= 0) {
		tp_rmrf(tmp);
		cr_skip_test("no mpa:stack definition was discarded in this run: nothing to check");
	}
	{
		char *argv[] = { cat, "-s", "-f", "jsonl", "-k", "alloc,free", cap, NULL };

		cr_assert_eq(tp_run(argv, NULL, out, err), 0, "mpa-cat failed");
	}
	enum { LO = 10000 + 16 * 10, HI = 10000 + 16 * 88 };
	long long stack_of[HI - LO] = { 0 };
	long long owner[1 << 16] = { 0 };   /* capture stack id -> size + 1 */
	long long marked = 0, checked = 0;
	txt = tp_slurp(out);
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je), *st;

		cr_assert_not_null(o, "bad JSON line: %s", je.text);
		st = json_object_get(o, "stack");
		if (json_array_size(st) == 1 && strcmp(js(json_array_get(st, 0), "func"),
				"[unknown: stack definition lost]") == 0) {
			marked++;
		} else if (!strcmp(js(o, "kind"), "alloc") && ji(o, "size") >= LO &&
				ji(o, "size") < HI) {
			long long size = ji(o, "size"), sid = ji(o, "stack_id");

			cr_assert(sid > 0 && sid < (1 << 16));
			if (stack_of[size - LO] == 0)
				stack_of[size - LO] = sid;
			cr_assert_eq(stack_of[size - LO], sid, "two stacks for size %lld", size);
			if (owner[sid] == 0)
				owner[sid] = size + 1;
			cr_assert_eq(owner[sid], size + 1, "sizes %lld and %lld share a stack",
				owner[sid] - 1, size);
			checked++;
		}
		json_decref(o);
	}
	free(txt);
	cr_assert_eq(marked, unknown, "records with the unknown stack = stacks.by_id_unknown");
	cr_assert_gt(checked, 0);
	tp_rmrf(tmp);
}
