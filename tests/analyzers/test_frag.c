/* The fragmentation analyzer on captures built with the libmpt writer:
 * exact span, gaps, segments, internal and external fragmentation, page
 * occupancy, pinning sites, the series, peak and end, health, alert and
 * recommendations (doc/analyzers-frag.md). */
#include "analyze_test_util.h"

struct frun {
	struct au_cap cap;
	char out[400];
	json_t *summary, *frag;
};

static void fa_alloc(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t ptr, uint64_t size,
		     uint64_t usable, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_ALLOC;
	e.ts = ts;
	e.pid = e.tid = pid;
	e.ptr = ptr;
	e.size = size;
	e.usable = usable;
	e.api = MPA_API_MALLOC;
	e.stack_id = stack;
	au_ev(c, &e);
}

static void fa_fork(struct au_cap *c, uint64_t ts, int32_t parent, int32_t child)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_PROC_FORK;
	e.ts = ts;
	e.pid = e.tid = child;
	e.ppid = parent;
	au_ev(c, &e);
}

static int frag_run(struct frun *r, const char *names, const char *config, char *err, size_t len)
{
	snprintf(r->out, sizeof r->out, "%s/report", r->cap.dir);
	int rc = au_lib_run(r->cap.path, r->out, names, config, &r->summary, err, len);
	if (!rc)
		r->frag = au_json(r->out, "frag.json");
	return rc;
}

static void run_frag(struct frun *r, const char *config)
{
	char err[1024];
	cr_assert_eq(frag_run(r, "frag", config, err, sizeof err), 0, "run failed: %s", err);
}

static void run_done(struct frun *r)
{
	json_decref(r->summary);
	json_decref(r->frag);
	au_rmrf(r->cap.dir);
}

static long long ji(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer '%s'", k);
	return (long long)json_integer_value(v);
}

static double jr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_real(v), "no real '%s'", k);
	return json_real_value(v);
}

static json_t *image(struct frun *r, size_t i)
{
	json_t *a = json_object_get(r->frag, "image_results");
	cr_assert(json_array_size(a) > i, "no image %zu", i);
	return json_array_get(a, i);
}

#define NEAR(a, b) cr_assert(fabs((a) - (b)) < 1e-9, "%.12f != %.12f", (double)(a), (double)(b))

/* The capture of leak's former fragmentation test: the same page figures,
 * now defined once, here; leak.json no longer has any. */
Test(frag, pinning_moved_from_leak)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t pin = au_site(&r.cap, "pinner", 1), full = au_site(&r.cap, "filler", 2);
	/* page 0x10: one 16-byte block left; page 0x20: fully used by 4 KiB */
	au_alloc(&r.cap, 1, 3, 0x10000, 16, pin);
	au_alloc(&r.cap, 2, 3, 0x20000, 4096, full);
	au_alloc(&r.cap, 3, 3, 0x10100, 2000, full);
	au_free(&r.cap, 4, 3, 0x10100);
	au_exit(&r.cap, 5, 3);
	au_close(&r.cap);
	char err[1024];
	cr_assert_eq(frag_run(&r, "leak,frag", NULL, err, sizeof err), 0, "%s", err);
	json_t *leak = au_json(r.out, "leak.json");
	cr_assert_null(json_object_get(leak, "fragmentation"));
	cr_assert_null(json_object_get(json_object_get(leak, "summary"), "fragmentation"));
	cr_assert(!au_exists(r.out, "leak_fragmentation.csv"));
	json_decref(leak);

	json_t *im = image(&r, 0);
	cr_assert_eq(ji(im, "pid"), 3);
	json_t *end = json_object_get(im, "end");
	cr_assert_eq(ji(end, "live_bytes"), 4112);
	cr_assert_eq(ji(end, "pages"), 2);
	cr_assert_eq(ji(end, "pages_bytes"), 8192);
	NEAR(jr(end, "page_fill"), 4112.0 / 8192.0);
	cr_assert_eq(ji(end, "span"), 0x21000 - 0x10000);
	cr_assert_eq(ji(end, "free_bytes"), 0x20000 - 0x10010);
	cr_assert_eq(ji(end, "largest_gap"), 0x20000 - 0x10010);
	cr_assert_eq(ji(end, "free_pages"), 15);
	cr_assert_eq(ji(end, "segments"), 1);
	NEAR(jr(end, "external"), 65520.0 / 69632.0);
	NEAR(jr(end, "external_gap"), 0.0);
	/* the stock-wrapper case: no usable sizes, internal unknown, not 0 */
	cr_assert(json_is_null(json_object_get(end, "internal")));
	cr_assert(json_is_string(json_object_get(end, "internal_note")));
	cr_assert_str_eq(json_string_value(json_object_get(r.frag, "usable_sizes")), "unknown");
	/* ... and so does the report */
	char rp[600];
	snprintf(rp, sizeof rp, "%s/report.html", r.out);
	char *html = au_slurp(rp, NULL);
	cr_assert(html && strstr(html, "unknown: the capture has no usable sizes"));
	free(html);
	cr_assert(json_is_null(json_object_get(image(&r, 0), "maps")));
	json_t *occ = json_object_get(end, "occupancy");
	cr_assert_eq(ji(occ, "lt25"), 1);
	cr_assert_eq(ji(occ, "ge75"), 1);
	cr_assert_eq(ji(end, "health"), 6); /* 100 × 4112 / 69632 */
	/* the peak: before the free at ts 4, with the 2000-byte block */
	json_t *pk = json_object_get(im, "peak");
	cr_assert(json_is_true(json_object_get(im, "peak_exact")));
	cr_assert_eq(ji(im, "max_live_bytes"), 6112);
	cr_assert_eq(ji(pk, "live_bytes"), 6112);
	cr_assert_eq(ji(pk, "ts_ns"), 2);
	cr_assert_eq(ji(pk, "free_bytes"), 240 + (0x20000 - 0x108d0));
	cr_assert_eq(ji(pk, "largest_gap"), 0x20000 - 0x108d0);
	cr_assert_eq(ji(json_object_get(pk, "occupancy"), "lt50"), 1);
	cr_assert_eq(ji(pk, "health"), 9); /* 100 × 6112 / 69632 = 8.78 */
	cr_assert_eq(ji(im, "health"), 6);
	/* the pinning site: its free page bytes */
	json_t *s0 = json_array_get(json_object_get(r.frag, "pinning_sites"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(s0, "site")), "pinner (prog.c:1)");
	cr_assert_eq(ji(s0, "blocks"), 1);
	cr_assert_eq(ji(s0, "live_bytes"), 16);
	cr_assert_eq(ji(s0, "pages"), 1);
	cr_assert_eq(ji(s0, "retained_bytes"), 4080);
	cr_assert_eq(json_array_size(json_object_get(r.frag, "pinning_sites")), 1);
	/* the alert: 0.94 > 0.5 */
	json_t *al = json_object_get(r.summary, "alerts"), *fa = NULL, *v;
	size_t i;
	json_array_foreach(al, i, v) {
		if (!strcmp(json_string_value(json_object_get(v, "name")), "fragmentation")) {
			cr_assert_null(fa, "one fragmentation alert");
			fa = v;
		}
	}
	cr_assert_not_null(fa);
	cr_assert_str_eq(json_string_value(json_object_get(fa, "analyzer")), "frag");
	NEAR(jr(fa, "value"), 65520.0 / 69632.0);
	/* 4080 retained < recommend_bytes: no recommendation */
	cr_assert_eq(json_array_size(json_object_get(r.frag, "recommendations")), 0);
	cr_assert(au_exists(r.out, "frag_images.csv"));
	cr_assert(au_exists(r.out, "frag_series.csv"));
	cr_assert(au_exists(r.out, "frag_pinning.csv"));
	cr_assert(au_exists(r.out, "plots/frag_heap_map.gp"));
	run_done(&r);
}

/* Usable sizes known: internal fragmentation; headers are overhead, a far
 * block is its own segment; a multi-page block's pages arithmetically. */
Test(frag, internal_overhead_and_segments)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	fa_alloc(&r.cap, 10, 7, 0x100000, 100, 104, s);
	fa_alloc(&r.cap, 20, 7, 0x100070, 24, 24, s);  /* 8 bytes after A: a header */
	fa_alloc(&r.cap, 30, 7, 0x100100, 1000, 1016, s); /* 120 bytes free before */
	fa_alloc(&r.cap, 40, 7, 0x300000, 200000, 200704, s); /* 2 MiB away: a segment */
	struct mpa_event m = {0};
	m.kind = MPA_KIND_MAP;
	m.ts = 50;
	m.pid = m.tid = 7;
	m.ptr = 0x7f0000000000;
	m.size = 3 * 4096;
	m.api = MPA_API_MMAP;
	m.stack_id = s;
	au_ev(&r.cap, &m);
	au_close(&r.cap);
	run_frag(&r, NULL);
	json_t *im = image(&r, 0);
	cr_assert_str_eq(json_string_value(json_object_get(im, "ended")), "capture_end");
	json_t *e = json_object_get(im, "end");
	cr_assert_eq(ji(e, "live_bytes"), 201124);
	cr_assert_eq(ji(e, "usable_bytes"), 201848);
	NEAR(jr(e, "internal"), 724.0 / 201848.0);
	cr_assert_eq(ji(e, "segments"), 2);
	cr_assert_eq(ji(e, "span"), 1272 + 200704);
	cr_assert_eq(ji(e, "free_bytes"), 120);
	cr_assert_eq(ji(e, "overhead_bytes"), 8);
	cr_assert_eq(ji(e, "largest_gap"), 120);
	NEAR(jr(e, "external_gap"), 0.0);
	cr_assert_eq(ji(e, "pages"), 50);
	json_t *occ = json_object_get(e, "occupancy");
	cr_assert_eq(ji(occ, "lt25"), 0);
	cr_assert_eq(ji(occ, "lt50"), 1);
	cr_assert_eq(ji(occ, "ge75"), 49);
	NEAR(jr(e, "page_fill"), 201848.0 / (50.0 * 4096));
	cr_assert_eq(ji(e, "health"), 100); /* 99.58 */
	cr_assert_str_eq(json_string_value(json_object_get(r.frag, "usable_sizes")), "known");
	json_t *maps = json_object_get(im, "maps");
	cr_assert_eq(ji(maps, "count"), 1);
	cr_assert_eq(ji(maps, "mmap_bytes"), 3 * 4096);
	cr_assert_eq(ji(maps, "brk_bytes"), 0);
	cr_assert_eq(json_array_size(json_object_get(r.frag, "pinning_sites")), 0);
	cr_assert_eq(json_array_size(json_object_get(r.summary, "alerts")), 0);
	/* the CSV says so too */
	char path[600];
	snprintf(path, sizeof path, "%s/frag_images.csv", r.out);
	char *csv = au_slurp(path, NULL);
	cr_assert(csv && strstr(csv, "\"capture_end\",\"end\""));
	free(csv);
	run_done(&r);
}

/* Four buckets: the address space at the end of each. */
Test(frag, series_over_time)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	au_alloc(&r.cap, 100, 1, 0x10000, 4096, s);
	au_alloc(&r.cap, 200, 1, 0x20000, 4096, s);
	au_free(&r.cap, 300, 1, 0x10000);
	au_alloc(&r.cap, 400, 1, 0x30000, 64, s);
	au_close(&r.cap);
	run_frag(&r, "[frag]\npoints = 4\n");
	json_t *se = json_object_get(r.frag, "series");
	cr_assert_eq(json_array_size(se), 4);
	/* span 301 ns: buckets of 76 ns */
	cr_assert_eq(ji(json_object_get(r.frag, "params"), "bucket_ns"), 76);
	long long span[4] = {4096, 69632, 4096, 0x30040 - 0x20000};
	long long fr[4] = {0, 61440, 0, 61440};
	long long live[4] = {4096, 8192, 4096, 4160};
	long long pages[4] = {1, 2, 1, 2};
	for (size_t b = 0; b < 4; b++) {
		json_t *k = json_array_get(se, b);
		cr_assert_eq(ji(k, "bucket"), (long long)b);
		cr_assert_eq(ji(k, "t_end_ns"), 76 * (long long)(b + 1));
		cr_assert_eq(ji(k, "images"), 1, "bucket %zu", b);
		cr_assert_eq(ji(k, "span"), span[b], "bucket %zu", b);
		cr_assert_eq(ji(k, "free_bytes"), fr[b], "bucket %zu", b);
		cr_assert_eq(ji(k, "live_bytes"), live[b], "bucket %zu", b);
		cr_assert_eq(ji(k, "pages"), pages[b], "bucket %zu", b);
	}
	cr_assert_eq(ji(json_array_get(se, 1), "free_pages"), 15);
	NEAR(jr(json_array_get(se, 1), "external"), 61440.0 / 69632.0);
	json_t *im = image(&r, 0);
	cr_assert_eq(ji(im, "max_live_bytes"), 8192);
	json_t *pk = json_object_get(im, "peak");
	cr_assert_eq(ji(pk, "live_bytes"), 8192);
	cr_assert_eq(ji(pk, "span"), 69632);
	cr_assert_eq(ji(pk, "ts_ns"), 100);
	cr_assert_eq(ji(json_object_get(im, "end"), "live_bytes"), 4160);
	run_done(&r);
}

/* A forked child starts with its parent's blocks; each image is its own
 * address space; an exec starts a new one. */
Test(frag, fork_and_exec_images)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	au_alloc(&r.cap, 1, 10, 0x10000, 100, s);
	au_alloc(&r.cap, 2, 10, 0x10100, 100, s);
	fa_fork(&r.cap, 3, 10, 11);
	au_free(&r.cap, 4, 11, 0x10000);
	au_alloc(&r.cap, 5, 11, 0x50000, 300, s);
	au_exec(&r.cap, 6, 11, "/bin/other");
	au_alloc(&r.cap, 7, 11, 0x90000, 50, s);
	au_close(&r.cap);
	run_frag(&r, NULL);
	json_t *a = json_object_get(r.frag, "image_results");
	cr_assert_eq(json_array_size(a), 3);
	json_t *parent = json_array_get(a, 0), *child = json_array_get(a, 1),
	       *exe = json_array_get(a, 2);
	cr_assert_eq(ji(parent, "pid"), 10);
	cr_assert_eq(ji(json_object_get(parent, "end"), "live_bytes"), 200);
	cr_assert_eq(ji(json_object_get(parent, "end"), "span"), 0x100 + 100);
	cr_assert_eq(ji(child, "pid"), 11);
	cr_assert_str_eq(json_string_value(json_object_get(child, "ended")), "exec");
	cr_assert_eq(ji(child, "max_live_bytes"), 400);
	json_t *ce = json_object_get(child, "end");
	cr_assert_eq(ji(ce, "live_bytes"), 400);
	cr_assert_eq(ji(ce, "span"), 0x50000 + 300 - 0x10100);
	cr_assert_eq(ji(ce, "free_bytes"), 0x50000 - 0x10164);
	cr_assert_str_eq(json_string_value(json_object_get(exe, "image")), "/bin/other");
	cr_assert_eq(ji(json_object_get(exe, "end"), "live_bytes"), 50);
	cr_assert_eq(ji(json_object_get(exe, "end"), "span"), 50);
	cr_assert(json_is_null(json_object_get(json_object_get(exe, "end"), "health")));
	run_done(&r);
}

/* 64 pages each pinned by one 64-byte block: a recommendation with the
 * bytes a pool would return; the alert follows the threshold. */
Test(frag, pinning_recommendation_and_threshold)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t pin = au_site(&r.cap, "small_pinner", 1), big = au_site(&r.cap, "big_temp", 2);
	uint64_t ts = 1;
	for (uint64_t p = 0; p < 64; p++) {
		uint64_t base = 0x1000000 + p * 4096;
		au_alloc(&r.cap, ts++, 5, base, 64, pin);
		au_alloc(&r.cap, ts++, 5, base + 64, 4000, big);
	}
	for (uint64_t p = 0; p < 64; p++)
		au_free(&r.cap, ts++, 5, 0x1000000 + p * 4096 + 64);
	au_exit(&r.cap, ts++, 5);
	au_close(&r.cap);
	run_frag(&r, NULL);
	json_t *recs = json_object_get(r.frag, "recommendations");
	cr_assert_eq(json_array_size(recs), 1);
	json_t *rc = json_array_get(recs, 0);
	cr_assert_str_eq(json_string_value(json_object_get(rc, "kind")), "pool");
	cr_assert_eq(ji(rc, "bytes"), 64 * (4096 - 64));
	cr_assert(strstr(json_string_value(json_object_get(rc, "message")), "small_pinner"));
	json_t *s0 = json_array_get(json_object_get(r.frag, "pinning_sites"), 0);
	cr_assert_eq(ji(s0, "pages"), 64);
	cr_assert_eq(ji(s0, "blocks"), 64);
	cr_assert_eq(ji(s0, "mean_block_bytes"), 64);
	json_t *e = json_object_get(image(&r, 0), "end");
	cr_assert_eq(ji(e, "free_bytes"), 63 * (4096 - 64));
	cr_assert_eq(ji(e, "span"), 63 * 4096 + 64);
	cr_assert_eq(ji(json_object_get(e, "occupancy"), "lt25"), 64);
	/* peak: every page full */
	json_t *pk = json_object_get(image(&r, 0), "peak");
	cr_assert_eq(ji(pk, "live_bytes"), 64 * 4064);
	json_t *sm = json_object_get(json_object_get(r.summary, "analyzers"), "frag");
	json_t *rm = json_object_get(sm, "recommendations");
	cr_assert_eq(json_array_size(rm), 1);
	cr_assert(strstr(json_string_value(json_array_get(rm, 0)), "would need 4.0 KiB and return"),
		  "%s", json_string_value(json_array_get(rm, 0)));
	cr_assert_eq(ji(json_object_get(sm, "pinning"), "retained_bytes"), 64 * 4032);
	cr_assert_eq(json_array_size(json_object_get(r.summary, "alerts")), 1);
	json_decref(r.summary);
	json_decref(r.frag);
	au_rmrf(r.out);
	run_frag(&r, "[alerts]\nfragmentation_threshold = 0.99\n[frag]\nrecommend_bytes = 1000000\n");
	cr_assert_eq(json_array_size(json_object_get(r.summary, "alerts")), 0);
	cr_assert_eq(json_array_size(json_object_get(r.frag, "recommendations")), 0);
	run_done(&r);
}

/* The page size is the capture's (topology), else 4096 with a note. */
Test(frag, page_size_from_topology)
{
	struct frun r;
	au_open(&r.cap);
	int32_t node = 0;
	struct mpt_topology t = {.ncpus = 1, .nnodes = 1, .page_size = 16384, .cpu_node = &node};
	struct mpt_error me = {0};
	cr_assert_eq(mpt_writer_topology(r.cap.w, &t, &me), MPT_OK, "%s", me.msg);
	uint32_t s = au_site(&r.cap, "w", 1);
	au_alloc(&r.cap, 1, 1, 0x10000, 100, s);
	au_alloc(&r.cap, 2, 1, 0x12000, 100, s);
	au_close(&r.cap);
	run_frag(&r, NULL);
	cr_assert_eq(ji(r.frag, "page_size"), 16384);
	cr_assert_str_eq(json_string_value(json_object_get(r.frag, "page_size_source")),
			 "capture topology");
	cr_assert_eq(ji(json_object_get(image(&r, 0), "end"), "pages"), 1);
	run_done(&r);

	au_open(&r.cap);
	s = au_site(&r.cap, "w", 1);
	au_alloc(&r.cap, 1, 1, 0x10000, 100, s);
	au_alloc(&r.cap, 2, 1, 0x12000, 100, s);
	au_close(&r.cap);
	run_frag(&r, NULL);
	cr_assert_eq(ji(r.frag, "page_size"), 4096);
	cr_assert(strstr(json_string_value(json_object_get(r.frag, "page_size_source")), "default"));
	cr_assert_eq(ji(json_object_get(image(&r, 0), "end"), "pages"), 2);
	run_done(&r);
}

Test(frag, bad_options)
{
	struct frun r;
	au_open(&r.cap);
	au_alloc(&r.cap, 1, 1, 0x10, 10, au_site(&r.cap, "w", 1));
	au_close(&r.cap);
	char err[1024];
	static const char *const bad[] = {"[frag]\npoints = 0\n", "[frag]\nsparse_fill = 0.0\n",
					  "[frag]\nmin_gap = 2000000\n", "[frag]\nmin_pages = -1\n",
					  "[frag]\nmin_pages = 9223372036854775807\n",
					  "[alerts]\nfragmentation_threshold = 1.5\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(r.out, sizeof r.out, "%s/report", r.cap.dir);
		cr_assert_neq(au_lib_run(r.cap.path, r.out, "frag", bad[i], NULL, err, sizeof err), 0,
			      "%s accepted", bad[i]);
		cr_assert(strstr(err, "[frag]") || strstr(err, "[alerts]"), "%s", err);
	}
	au_rmrf(r.cap.dir);
}

/* Contradictory blocks (overlaps, the top of the address space, huge
 * sizes) give numbers, never a crash; two runs give the same bytes. */
Test(frag, hostile_blocks_and_determinism)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	fa_alloc(&r.cap, 1, 1, 0x10000, 5000, 0, s);
	fa_alloc(&r.cap, 2, 1, 0x10010, 100, UINT64_MAX, s);  /* overlaps, absurd usable */
	fa_alloc(&r.cap, 3, 1, UINT64_MAX - 10, 1000, 0, s);  /* wraps */
	fa_alloc(&r.cap, 4, 1, UINT64_MAX, 1, 0, s);
	fa_alloc(&r.cap, 5, 1, 0x400000, UINT64_MAX / 2, 0, s);
	au_free(&r.cap, 6, 1, 0x10010);
	au_free(&r.cap, 7, 1, 0x10000);
	au_free(&r.cap, 8, 1, 0x10000); /* double */
	fa_alloc(&r.cap, 9, 1, 0x400000, 10, 16, s);            /* at a live address */
	au_close(&r.cap);
	run_frag(&r, NULL);
	char p1[600], p2[600];
	snprintf(p1, sizeof p1, "%s/frag.json", r.out);
	char *a = au_slurp(p1, NULL);
	cr_assert(a);
	char out2[500];
	snprintf(out2, sizeof out2, "%s/report2", r.cap.dir);
	char err[1024];
	json_t *s2 = NULL;
	cr_assert_eq(au_lib_run(r.cap.path, out2, "frag", NULL, &s2, err, sizeof err), 0, "%s", err);
	json_decref(s2);
	snprintf(p2, sizeof p2, "%s/frag.json", out2);
	char *b = au_slurp(p2, NULL);
	cr_assert(b && !strcmp(a, b), "frag.json differs between two runs");
	free(a);
	free(b);
	json_t *e = json_object_get(image(&r, 0), "end");
	cr_assert_eq(ji(e, "live_blocks"), 3);
	run_done(&r);
}

/* More bucket walks than the budget allows: the buckets widen, the series
 * still ends at the image's end state, and the visits stay in the budget
 * (doc/analyzers-frag.md, "Cost, and wider buckets"). */
Test(frag, buckets_widen_within_the_walk_budget)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	uint64_t ts = 1;
	for (uint64_t i = 0; i < 300; i++)
		au_alloc(&r.cap, ts++, 4, 0x100000 + i * 64, 48, s);
	/* one row in each of 2000 buckets of 10 ns: 2000 walks of 300 blocks
	 * would be 600000 visits */
	for (uint64_t i = 0; i < 2000; i++) {
		ts = 1000 + i * 10;
		if (i % 2 == 0)
			au_alloc(&r.cap, ts, 4, 0x200000, 16, s);
		else
			au_free(&r.cap, ts, 4, 0x200000);
	}
	au_close(&r.cap);
	run_frag(&r, "[frag]\npoints = 2000\n");
	json_t *w = json_object_get(r.frag, "walks"), *pa = json_object_get(r.frag, "params");
	long long widened = ji(w, "widened");
	cr_assert_geq(widened, 1);
	long long nb = ji(pa, "buckets");
	/* span 20990 ns: 1909 buckets of 11 ns, widened */
	cr_assert_eq(ji(pa, "points"), 1909);
	cr_assert_eq(ji(pa, "bucket_ns"), 11LL << widened);
	cr_assert_eq(nb, (1909 + (1LL << widened) - 1) >> widened);
	cr_assert_eq(json_array_size(json_object_get(r.frag, "series")), (size_t)nb);
	/* 2300 rows + the kinds of the capture: A + R / 16 */
	cr_assert_leq(ji(w, "bucket_blocks"), 262144 + 2300 / 16 + 1);
	json_t *last = json_array_get(json_object_get(r.frag, "series"), (size_t)nb - 1);
	json_t *e = json_object_get(image(&r, 0), "end");
	cr_assert_eq(ji(last, "live_bytes"), ji(e, "live_bytes"));
	cr_assert_eq(ji(last, "span"), ji(e, "span"));
	cr_assert_eq(ji(e, "live_bytes"), 300 * 48);
	run_done(&r);
}

/* An exited image counts in the buckets up to its exit's, not in those of
 * its exit grace (rows of other processes go on meanwhile). */
Test(frag, exited_image_leaves_the_series)
{
	struct frun r;
	au_open(&r.cap);
	uint32_t s = au_site(&r.cap, "w", 1);
	au_alloc(&r.cap, 100, 1, 0x10000, 1000, s);
	au_alloc(&r.cap, 110, 2, 0x50000, 2000, s);
	au_exit(&r.cap, 150, 1);
	au_alloc(&r.cap, 200, 2, 0x51000, 2000, s);
	au_alloc(&r.cap, 300, 2, 0x52000, 2000, s);
	au_alloc(&r.cap, 400, 2, 0x53000, 2000, s);
	au_close(&r.cap);
	run_frag(&r, "[frag]\npoints = 4\n");
	json_t *se = json_object_get(r.frag, "series");
	cr_assert_eq(json_array_size(se), 4);
	long long images[4] = {2, 1, 1, 1}, live[4] = {3000, 4000, 6000, 8000};
	for (size_t b = 0; b < 4; b++) {
		cr_assert_eq(ji(json_array_get(se, b), "images"), images[b], "bucket %zu", b);
		cr_assert_eq(ji(json_array_get(se, b), "live_bytes"), live[b], "bucket %zu", b);
	}
	run_done(&r);
}

/* A large live heap (samples/python3-json.mpt: 3.9 M rows, 560 k blocks
 * live at the peak) passes the walk budget: the buckets widen, but never
 * below FRAG_MIN_BUCKETS — the series still shows the run's course (it
 * used to end as one bucket). */
Test(frag, large_heap_keeps_a_useful_series)
{
	const char *src = getenv("MPA_SRC");
	char cap[1024], tmp[256], out[400];
	snprintf(cap, sizeof cap, "%s/samples/python3-json.mpt", src ? src : ".");
	au_mkdtemp(tmp, sizeof tmp);
	snprintf(out, sizeof out, "%s/r", tmp);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){cap, "--frag", "--no-config", "--format", "json", "-q", "-o", out, NULL});
	cr_assert_eq(p.status, 0, "stderr: %s", p.err);
	json_t *f = au_json(out, "frag.json");
	json_t *pa = json_object_get(f, "params"), *w = json_object_get(f, "walks");
	cr_assert_eq(ji(pa, "points"), 100);
	cr_assert_eq(ji(w, "widened"), 2, "100 -> 50 -> 25 buckets, not one");
	cr_assert_eq(ji(pa, "buckets"), 25);
	cr_assert_eq(ji(pa, "bucket_ns"), 38257320);
	json_t *s = json_object_get(f, "series");
	cr_assert_eq(json_array_size(s), 25);
	/* the dict grows, is serialized, then released */
	cr_assert_eq(ji(json_array_get(s, 0), "live_bytes"), 3439311);
	cr_assert_eq(ji(json_array_get(s, 12), "live_bytes"), 35241986);
	cr_assert_eq(ji(json_array_get(s, 20), "live_bytes"), 37241687);
	cr_assert_eq(ji(json_array_get(s, 24), "live_bytes"), 60696);
	json_decref(f);
	au_rmrf(tmp);
}
