/* The flame analyzer on writer-built captures: the five weights per stack
 * (leaked, live at the peak, allocated, calls, temporaries), the frame
 * table, the live series and the "other" bucket, exactly. */
#include "analyze_test_util.h"

static json_t *row_of(json_t *stacks, const char *site)
{
	size_t i;
	json_t *r;
	json_array_foreach(stacks, i, r) if (!strcmp(json_string_value(json_object_get(r, "site")), site))
		return r;
	return NULL;
}

static long long g(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

Test(flame, weights_per_stack)
{
	struct au_cap c;
	au_open(&c);
	uint32_t a = au_site(&c, "alpha", 10), b = au_site(&c, "beta", 20), t = au_site(&c, "tmp", 30);
	au_alloc(&c, 100, 7, 0x1000, 100, a); /* alpha: leaked */
	au_alloc(&c, 200, 7, 0x2000, 300, b);
	au_alloc(&c, 300, 7, 0x3000, 50, t); /* tmp: freed at once -> temporary */
	au_free(&c, 310, 7, 0x3000);
	au_alloc(&c, 400, 7, 0x4000, 1000, t); /* peak: 100 + 300 + 1000 = 1400 */
	au_free(&c, 500, 7, 0x2000);           /* not the latest: not temporary */
	au_free(&c, 600, 7, 0x4000);
	au_alloc(&c, 700, 7, 0x5000, 40, b);   /* beta: leaked too */
	au_exit(&c, 800, 7);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "flame", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *fs = json_object_get(json_object_get(s, "analyzers"), "flame");
	cr_assert_eq(g(fs, "peak_bytes"), 1400);
	cr_assert_eq(g(fs, "stacks"), 3);
	json_t *doc = au_json(out, "flame.json");
	json_t *st = json_object_get(doc, "stacks");
	cr_assert_eq(json_array_size(st), 3);
	json_t *ra = row_of(st, "alpha (prog.c:10)"), *rb = row_of(st, "beta (prog.c:20)"),
	       *rt = row_of(st, "tmp (prog.c:30)");
	cr_assert(ra && rb && rt);
	cr_assert_eq(g(ra, "leaked_bytes"), 100);
	cr_assert_eq(g(ra, "leaked_blocks"), 1);
	cr_assert_eq(g(ra, "peak_bytes"), 100);
	cr_assert_eq(g(ra, "allocated_bytes"), 100);
	cr_assert_eq(g(ra, "calls"), 1);
	cr_assert_eq(g(rb, "leaked_bytes"), 40);
	cr_assert_eq(g(rb, "peak_bytes"), 300);
	cr_assert_eq(g(rb, "allocated_bytes"), 340);
	cr_assert_eq(g(rb, "calls"), 2);
	cr_assert_eq(g(rb, "temporary"), 0);
	cr_assert_eq(g(rt, "temporary"), 1);
	cr_assert_eq(g(rt, "peak_bytes"), 1000);
	cr_assert_eq(g(rt, "allocated_bytes"), 1050);
	cr_assert_eq(g(rt, "leaked_bytes"), 0);
	/* sorted by allocated bytes: tmp, beta, alpha */
	cr_assert_eq(json_array_get(st, 0), rt);
	cr_assert_eq(json_array_get(st, 2), ra);
	/* frames root first, into the shared table; the preload's malloc is
	 * left out; main is shared by the three stacks */
	json_t *frames = json_object_get(doc, "frames");
	json_t *fa = json_object_get(ra, "frames");
	cr_assert_eq(json_array_size(fa), 2);
	json_t *f0 = json_array_get(frames, (size_t)json_integer_value(json_array_get(fa, 0)));
	json_t *f1 = json_array_get(frames, (size_t)json_integer_value(json_array_get(fa, 1)));
	cr_assert_str_eq(json_string_value(json_object_get(f0, "function")), "main");
	cr_assert_str_eq(json_string_value(json_object_get(f1, "function")), "alpha");
	cr_assert_eq(g(f1, "line"), 10);
	json_t *totals = json_object_get(doc, "totals");
	cr_assert_eq(g(totals, "leaked_bytes"), 140);
	cr_assert_eq(g(totals, "peak_bytes"), 1400);
	cr_assert_eq(g(totals, "calls"), 5);
	cr_assert_eq(g(json_object_get(doc, "other"), "stacks"), 0);
	/* live series: 100 buckets; alpha holds 100 bytes from its allocation on */
	json_t *ls = json_object_get(ra, "live_series");
	cr_assert_eq(json_array_size(ls), 100);
	cr_assert_eq(json_integer_value(json_array_get(ls, 99)), 100);
	cr_assert_eq(json_integer_value(json_array_get(ls, 0)), 100);
	json_decref(doc);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(flame, max_stacks_sums_the_rest_into_other)
{
	struct au_cap c;
	au_open(&c);
	uint32_t a = au_site(&c, "alpha", 10), b = au_site(&c, "beta", 20), t = au_site(&c, "tmp", 30);
	au_alloc(&c, 100, 7, 0x1000, 100, a);
	au_alloc(&c, 200, 7, 0x2000, 300, b);
	au_alloc(&c, 300, 7, 0x3000, 50, t);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "flame", "[flame]\nmax_stacks = 1\n", &s, err,
				sizeof err), 0, "%s", err);
	json_t *doc = au_json(out, "flame.json");
	/* beta is first by every weight but calls (a tie: lowest stack id, alpha) */
	json_t *st = json_object_get(doc, "stacks");
	cr_assert_eq(json_array_size(st), 2);
	json_t *oth = json_object_get(doc, "other");
	cr_assert_eq(g(oth, "stacks"), 1);
	cr_assert_eq(g(oth, "allocated_bytes"), 50);
	cr_assert_eq(g(oth, "calls"), 1);
	json_decref(doc);
	json_decref(s);
	/* a hostile value is one clear error */
	au_rmrf(out);
	cr_assert_eq(au_lib_run(c.path, out, "flame", "[flame]\nmax_stacks = 0\n", &s, err,
				sizeof err), -1);
	cr_assert(strstr(err, "max_stacks"), "%s", err);
	au_rmrf(c.dir);
}
