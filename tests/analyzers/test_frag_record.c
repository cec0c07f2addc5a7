/* Truth test: wl-frag (tests/workloads/wl_frag.c: 2000 long-lived 64-byte
 * blocks interleaved with 2000 blocks of 4000 bytes, which are then freed)
 * recorded with mpa-record, analyzed by mpa-analyze --all.  At the peak
 * the heap is dense; at the end ~8 MiB of span hold 128000 live bytes, one
 * 64-byte block on each page, and the small blocks' site is the pinning
 * site with a pool recommendation.
 *
 * How many small blocks pin a sparse page is read from the recorded
 * layout, not assumed to be all 2000: the tracer (LTTng-UST's probe
 * registration before main) sometimes leaves a free hole in the main heap
 * (one recording here: 1520 bytes at the end of a page of its own blocks),
 * and glibc serves the first small blocks from it, 19 of them packed on
 * one page with no large block between them.  That page holds 1368 bytes
 * of program blocks (the tracer's are not the program's), a third of it:
 * not sparse, and frag is right not to count those 19. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpa/mpt.h"
#include "record_test_util.h"

static int starts(json_t *o, const char *k, const char *prefix)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* The small blocks (site stack_id) that lie on a sparse page (program bytes
 * < 1/4 of the page: frag's default sparse_fill) at the end, from the
 * capture's own alloc rows.  At wl-frag's end the program's live blocks
 * are the small blocks alone (every large block is freed; the tracer's and
 * the start-up's blocks are not the program's), so a page's program bytes
 * are its small blocks' extents (max(size, usable)) on it. */
static long long small_on_sparse_pages(const char *dir, long long stack_id)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/cap.mpt", dir);
	mpt_reader *r = NULL;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_reader_open(path, &r, &e), MPT_OK, "%s", e.msg);
	const struct mpt_topology *topo = mpt_reader_topology(r);
	uint64_t pg = topo && topo->page_size ? topo->page_size : 4096;
	struct mpt_scan sc = {.columns = MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_SIZE) |
					 MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_STACK_ID),
			      .kinds = MPT_KINDBIT(MPA_KIND_ALLOC)};
	cr_assert_eq(mpt_reader_scan(r, &sc, &e), MPT_OK, "%s", e.msg);
	static uint64_t ptr[4000], ext[4000];
	long long n = 0;
	const struct mpt_batch *bt;
	enum mpt_status st;
	while ((st = mpt_reader_next(r, &bt, &e)) == MPT_OK)
		for (uint32_t i = 0; i < bt->n; i++) {
			if (bt->stack_id[i] != (uint32_t)stack_id)
				continue;
			cr_assert_lt(n, 4000);
			ptr[n] = bt->ptr[i];
			ext[n++] = bt->usable[i] > bt->size[i] ? bt->usable[i] : bt->size[i];
		}
	cr_assert_eq(st, MPT_END, "%s", e.msg);
	mpt_reader_close(r);
	cr_assert_eq(n, 2000, "the small site made %lld allocations", n);
	/* a block pins when a page it touches holds under 1/4 of small-block
	 * bytes (n^2: 2000 blocks) */
	long long pinning = 0;
	for (long long i = 0; i < n; i++) {
		int sparse = 0;
		for (uint64_t p = ptr[i] / pg; p <= (ptr[i] + ext[i] - 1) / pg; p++) {
			uint64_t bytes = 0;
			for (long long j = 0; j < n; j++) {
				uint64_t a = ptr[j] > p * pg ? ptr[j] : p * pg;
				uint64_t b = ptr[j] + ext[j] < (p + 1) * pg ? ptr[j] + ext[j] : (p + 1) * pg;
				if (b > a)
					bytes += b - a;
			}
			sparse |= (double)bytes < 0.25 * (double)pg;
		}
		pinning += sparse;
	}
	return pinning;
}

Test(frag_record, wl_frag_known_properties, .timeout = 180)
{
	char rec[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_workload(wl, sizeof wl, "wl-frag");

	char dir[] = "/tmp/mpa-frag-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *ra[] = {rec, "-q", "-o", "cap.mpt", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 0, "mpa-record must exit with the workload's status 0");
	char *aa[] = {ana, "--no-config", "cap.mpt", "--all", "-o", "out", "--format", "csv,json,svg",
		      NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	char path[1200];
	snprintf(path, sizeof path, "%s/out/frag.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "usable_sizes")), "known");
	json_t *sum = json_object_get(j, "summary"), *m = json_object_get(sum, "main");
	const char *img = json_string_value(json_object_get(m, "image"));
	cr_assert(img && strlen(img) > 8 && !strcmp(img + strlen(img) - 8, "/wl-frag"), "%s", img);
	/* the peak: the 2000 pairs, dense */
	long long maxl = rt_int(m, "max_live_bytes");
	cr_assert(maxl >= 2000LL * 4064 && maxl < 2000LL * 4064 + 65536, "max live %lld", maxl);
	json_t *pk = json_object_get(m, "peak");
	cr_assert_eq(rt_int(pk, "live_bytes"), maxl, "the peak is measured at its maximum");
	cr_assert_lt(rt_num(pk, "external"), 0.1);
	cr_assert_geq(rt_int(pk, "health"), 90);
	/* the end: the small blocks alone, one on each page */
	json_t *e = json_object_get(m, "end");
	long long live = rt_int(e, "live_bytes");
	cr_assert(live >= 128000 && live < 128000 + 16384, "end live %lld", live);
	cr_assert_gt(rt_num(e, "external"), 0.9);
	cr_assert_lt(rt_num(e, "page_fill"), 0.05);
	cr_assert_geq(rt_int(json_object_get(e, "occupancy"), "lt25"), 1900);
	cr_assert_geq(rt_int(e, "span"), 2000LL * 4064);
	/* glibc: malloc(64) has 72 usable bytes; the end is mostly those */
	double in = rt_num(e, "internal");
	cr_assert(in > 0.05 && in < 0.2, "internal %f", in);
	cr_assert_leq(rt_int(m, "health"), 5);
	/* the pinning site and its recommendation */
	json_t *p0 = json_array_get(json_object_get(j, "pinning_sites"), 0);
	cr_assert(starts(p0, "site", "mpa_wl_frag_small "), "%s",
		  json_string_value(json_object_get(p0, "site")));
	long long expect = small_on_sparse_pages(dir, rt_int(p0, "stack_id"));
	cr_assert_geq(expect, 1900, "the workload did not fragment the heap (%lld)", expect);
	cr_assert_eq(rt_int(p0, "blocks"), expect);
	cr_assert_geq(rt_int(p0, "retained_bytes"), expect * 3500);
	json_t *r0 = json_array_get(json_object_get(j, "recommendations"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(r0, "kind")), "pool");
	cr_assert(starts(r0, "site", "mpa_wl_frag_small "));
	/* the steady phase shows in the series: a bucket of sparse pages */
	json_t *se = json_object_get(j, "series"), *k;
	size_t i;
	int sparse = 0;
	json_array_foreach(se, i, k) sparse |= rt_int(k, "pages_lt25") >= 1900;
	cr_assert(sparse, "no bucket with the sparse heap");
	json_decref(j);

	/* the alert and the report */
	snprintf(path, sizeof path, "%s/out/summary.json", dir);
	j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	int alert = 0;
	json_array_foreach(json_object_get(j, "alerts"), i, k) alert |=
		!strcmp(json_string_value(json_object_get(k, "name")), "fragmentation") &&
		!strcmp(json_string_value(json_object_get(k, "analyzer")), "frag");
	cr_assert(alert, "no fragmentation alert");
	json_decref(j);
	snprintf(path, sizeof path, "%s/out/report.html", dir);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char *html = NULL;
	size_t cap = 0;
	cr_assert_gt(getdelim(&html, &cap, 0, f), 0); /* the whole file (no NUL in it) */
	fclose(f);
	cr_assert(strstr(html, "frag_heap_map.svg"), "report.html does not show the heap map");
	free(html);
	rt_rm_tree(dir);
}
