/* The pool analyzer on writer-built captures: pools, anomalies, size-class
 * waste, optimal classes, the replay, the glibc self-check and pooling
 * candidates, with exact numbers (derivations in the comments). */
#include "../../analyzers/pool/pool_internal.h"
#include "analyze_test_util.h"

static void ev_pool(struct au_cap *c, uint8_t kind, uint64_t ts, int32_t pid, uint32_t id,
		    uint64_t ptr, uint64_t size, uint64_t cap, uint32_t name)
{
	struct mpa_event e = {0};
	e.kind = kind;
	e.ts = ts;
	e.pid = e.tid = pid;
	e.pool_id = id;
	e.ptr = ptr;
	e.size = size;
	e.usable = cap;
	e.str_id = name;
	au_ev(c, &e);
}

static void alloc_u(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t ptr, uint64_t size,
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

static json_t *run_pool(struct au_cap *c, const char *conf, json_t **summary)
{
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c->dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c->path, out, "pool", conf, &s, err, sizeof err), 0, "%s", err);
	json_t *doc = au_json(out, "pool.json");
	if (summary)
		*summary = json_incref(json_object_get(json_object_get(s, "analyzers"), "pool"));
	json_decref(s);
	return doc;
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "'%s' is not an integer", k);
	return (long long)json_integer_value(v);
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_number(v), "'%s' is not a number", k);
	return json_number_value(v);
}

static json_t *by_name(json_t *arr, const char *key, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (!strcmp(json_string_value(json_object_get(v, key)), name))
		return v;
	cr_assert_fail("no row '%s'", name);
	return NULL;
}

/* Pool "conn": 64-byte objects, capacity 4, created at 1000 ns, destroyed
 * at 13000 ns.  In use: 0 (1000 ns), 1, 2, 3, 4, 5 (1000 ns each), 4
 * (1000), 3 (3000), 4 (2000): integral 36000 objects x ns over 12000 ns
 * = mean 3; >= capacity during 3000 + 2000 ns; at <= 4 during 11000 of
 * 12000 ns, so the 0.99 quantile is 5 and the 0.9 quantile is 4. */
static void pool_capture(struct au_cap *c)
{
	au_open(c);
	uint32_t name = au_str(c, "conn");
	ev_pool(c, MPA_KIND_POOL_CREATE, 1000, 100, 1, 0, 64, 4, name);
	for (int k = 0; k < 5; k++) /* A B C D E */
		ev_pool(c, MPA_KIND_POOL_ALLOC, 2000 + 1000 * (uint64_t)k, 100, 1,
			0x1000 + 0x40 * (uint64_t)k, 64, 0, 0);
	ev_pool(c, MPA_KIND_POOL_FREE, 7000, 100, 1, 0x1100, 0, 0, 0);  /* E */
	ev_pool(c, MPA_KIND_POOL_FREE, 8000, 100, 1, 0x10c0, 0, 0, 0);  /* D */
	ev_pool(c, MPA_KIND_POOL_FREE, 9000, 100, 1, 0x10c0, 0, 0, 0);  /* D again */
	ev_pool(c, MPA_KIND_POOL_FREE, 10000, 100, 1, 0x9990, 0, 0, 0); /* never taken */
	ev_pool(c, MPA_KIND_POOL_ALLOC, 11000, 100, 1, 0x2000, 100, 0, 0); /* 100 > 64 */
	ev_pool(c, MPA_KIND_POOL_ALLOC, 12000, 100, 7, 0x3000, 64, 0, 0);  /* no pool 7 */
	ev_pool(c, MPA_KIND_POOL_DESTROY, 13000, 100, 1, 0, 0, 0, 0);
	ev_pool(c, MPA_KIND_POOL_DESTROY, 14000, 100, 9, 0, 0, 0, 0); /* no pool 9 */
	au_close(c);
}

Test(pool, pool_occupancy_capacity_and_anomalies)
{
	struct au_cap c;
	pool_capture(&c);
	json_t *sum = NULL, *doc = run_pool(&c, NULL, &sum);
	json_t *pools = json_object_get(doc, "pools");
	cr_assert_eq(json_array_size(pools), 1);
	json_t *p = json_array_get(pools, 0);
	cr_assert_str_eq(json_string_value(json_object_get(p, "name")), "conn");
	cr_assert_eq(jint(p, "pid"), 100);
	cr_assert_eq(jint(p, "object_size"), 64);
	cr_assert_eq(jint(p, "capacity"), 4);
	cr_assert_eq(jint(p, "created_ns"), 0); /* the capture starts at its creation */
	cr_assert_eq(jint(p, "ended_ns"), 12000);
	cr_assert_str_eq(json_string_value(json_object_get(p, "end")), "destroyed");
	cr_assert_eq(jint(p, "allocs"), 6);
	cr_assert_eq(jint(p, "frees"), 2);
	cr_assert_eq(jint(p, "high_water"), 5);
	cr_assert_float_eq(jnum(p, "mean_in_use"), 3.0, 1e-12);
	cr_assert_eq(jint(p, "in_use_quantile"), 5);
	cr_assert_float_eq(jnum(p, "capacity_use"), 1.25, 1e-12);
	cr_assert_eq(jint(p, "time_at_capacity_ns"), 5000);
	cr_assert_float_eq(jnum(p, "time_at_capacity_fraction"), 5000.0 / 12000, 1e-9);
	cr_assert_float_eq(jnum(p, "alloc_rate"), 6 / 12e-6, 1e-3);
	cr_assert_float_eq(jnum(p, "free_rate"), 2 / 12e-6, 1e-3);
	/* A, B, C and the oversize object were never returned */
	cr_assert_eq(jint(p, "never_returned"), 4);
	cr_assert_eq(jint(p, "oversize_objects"), 1);
	cr_assert_eq(jint(p, "over_capacity_allocs"), 1);
	/* ceil(5 x 1.25) = 7, above the declared 4 */
	cr_assert_eq(jint(p, "recommended_capacity"), 7);
	const char *why = json_string_value(json_object_get(p, "reasoning"));
	cr_assert(strstr(why, "in use <= 5 objects") && strstr(why, "-> 7") &&
		  strstr(why, "declared capacity 4 is below it"), "%s", why);
	json_t *an = json_object_get(doc, "anomalies");
	cr_assert_eq(jint(an, "unknown_pool"), 2);
	cr_assert_eq(jint(an, "double_return"), 1);
	cr_assert_eq(jint(an, "unknown_return"), 1);
	cr_assert_eq(jint(an, "object_larger_than_pool"), 1);
	cr_assert_eq(jint(an, "over_capacity"), 1);
	cr_assert_eq(jint(an, "total"), 6);
	cr_assert_eq(jint(sum, "pools"), 1);
	cr_assert_eq(jint(sum, "pool_anomalies"), 6);
	cr_assert_eq(jint(sum, "pool_objects_never_returned"), 4);
	/* no heap allocation: said, not zeros */
	cr_assert(json_is_null(json_object_get(doc, "sizes")));
	cr_assert(json_is_string(json_object_get(doc, "size_classes_reason")));
	cr_assert(json_is_null(json_object_get(sum, "size_classes")));
	cr_assert(json_is_null(json_object_get(doc, "self_check")));
	json_decref(doc);
	json_decref(sum);
	/* a lower quantile: 4 objects 11000 of 12000 ns >= 0.9 -> ceil(4 x 1.25) */
	doc = run_pool(&c, "[pool]\ncapacity_quantile = 0.9\n", NULL);
	p = json_array_get(json_object_get(doc, "pools"), 0);
	cr_assert_eq(jint(p, "in_use_quantile"), 4);
	cr_assert_eq(jint(p, "recommended_capacity"), 5);
	json_decref(doc);
	au_rmrf(c.dir);
}

/* Sizes 100 x 3, 24 x 2, 200000 x 1.  Slots: glibc chunks 112, 32 and an
 * mmapped 200704 (49 pages); jemalloc 112, 32, 229376; tcmalloc 112, 32,
 * 204800; mimalloc 112, 32, 262144 (four 64 KiB slices). */
Test(pool, size_class_waste_optimal_classes_and_replay)
{
	struct au_cap c;
	au_open(&c);
	uint32_t s1 = au_site(&c, "small", 10), s2 = au_site(&c, "big", 20);
	for (int k = 0; k < 3; k++)
		au_alloc(&c, 1000 + 100 * (uint64_t)k, 5, 0x1000 + 0x100 * (uint64_t)k, 100, s1);
	au_alloc(&c, 1300, 5, 0x2000, 24, s1);
	au_alloc(&c, 1400, 5, 0x2100, 24, s1);
	au_alloc(&c, 1500, 5, 0x100000, 200000, s2);
	au_free(&c, 1600, 5, 0x100000);
	au_free(&c, 1700, 5, 0x1000);
	au_close(&c);
	json_t *sum = NULL, *doc = run_pool(&c, "[pool]\nclasses = 2\n", &sum);
	json_t *al = json_object_get(doc, "allocators");
	const char *names[] = {"glibc", "jemalloc", "tcmalloc", "mimalloc"};
	const long long slot[] = {201104, 229776, 205200, 262544};
	for (int a = 0; a < 4; a++) {
		json_t *r = by_name(al, "allocator", names[a]);
		cr_assert_eq(jint(r, "requested_bytes"), 200348);
		cr_assert_eq(jint(r, "slot_bytes"), slot[a], "%s", names[a]);
		cr_assert_eq(jint(r, "waste_bytes"), slot[a] - 200348, "%s", names[a]);
	}
	/* replay peaks, all six blocks live: glibc its chunks; the slab
	 * models one touched 4 KiB page per small class plus the big block */
	cr_assert_eq(jint(by_name(al, "allocator", "glibc"), "replay_peak_footprint"), 201104);
	cr_assert_eq(jint(by_name(al, "allocator", "jemalloc"), "replay_peak_footprint"),
		     4096 + 4096 + 229376);
	cr_assert_eq(jint(by_name(al, "allocator", "tcmalloc"), "replay_peak_footprint"),
		     4096 + 4096 + 204800);
	cr_assert_eq(jint(by_name(al, "allocator", "mimalloc"), "replay_peak_footprint"),
		     4096 + 4096 + 262144);
	json_t *je = by_name(al, "allocator", "jemalloc");
	cr_assert_eq(jint(je, "replay_requested_at_peak"), 200348);
	cr_assert_float_eq(jnum(je, "replay_external_at_peak"), 237568.0 - 229776, 1e-9);
	cr_assert(json_is_null(json_object_get(by_name(al, "allocator", "glibc"),
					       "replay_external_fraction")));
	json_t *rp = json_object_get(doc, "replay");
	cr_assert(json_is_null(json_object_get(json_object_get(rp, "glibc"),
					       "external_fragmentation")));
	cr_assert_str_eq(json_string_value(json_object_get(rp, "smallest_slab_model")), "tcmalloc");
	/* two classes: {112, 200000}: 2 x 88 + 3 x 12 = 212 bytes */
	json_t *oc = json_object_get(doc, "optimal_classes");
	json_t *cls = json_object_get(oc, "classes");
	cr_assert_eq(json_array_size(cls), 2);
	cr_assert_eq(json_integer_value(json_array_get(cls, 0)), 112);
	cr_assert_eq(json_integer_value(json_array_get(cls, 1)), 200000);
	cr_assert_eq(jint(oc, "waste_bytes"), 212);
	/* size table: by count, then size */
	json_t *sz = json_object_get(doc, "sizes");
	cr_assert_eq(json_array_size(sz), 3);
	cr_assert_eq(jint(json_array_get(sz, 0), "size"), 100);
	cr_assert_eq(jint(json_array_get(sz, 0), "count"), 3);
	cr_assert_eq(jint(json_array_get(sz, 2), "mimalloc_slot"), 262144);
	/* per site: the big block's site wastes most under glibc */
	json_t *sw = json_object_get(doc, "site_waste");
	cr_assert_eq(json_array_size(sw), 2);
	json_t *big = json_array_get(sw, 0);
	cr_assert(strstr(json_string_value(json_object_get(big, "site")), "big"));
	cr_assert_eq(jint(big, "glibc_waste"), 704);
	cr_assert_eq(jint(big, "jemalloc_waste"), 29376);
	cr_assert_eq(jint(json_array_get(sw, 1), "glibc_waste"), 3 * 12 + 2 * 8);
	/* no usable sizes recorded: the self-check says so */
	cr_assert(json_is_null(json_object_get(doc, "self_check")));
	cr_assert(strstr(json_string_value(json_object_get(doc, "self_check_reason")), "usable"));
	cr_assert(json_is_null(json_object_get(sum, "self_check_fraction")));
	cr_assert(json_is_null(json_object_get(doc, "pools")));
	cr_assert(strstr(json_string_value(json_object_get(sum, "pools_reason")), "no pool events"));
	json_decref(doc);
	/* enough classes for every size: {32, 112, 200000}, 2 x 8 + 3 x 12 */
	doc = run_pool(&c, NULL, NULL);
	oc = json_object_get(doc, "optimal_classes");
	cr_assert_eq(json_array_size(json_object_get(oc, "classes")), 3);
	cr_assert_eq(jint(oc, "waste_bytes"), 52);
	json_decref(doc);
	json_decref(sum);
	au_rmrf(c.dir);
}

/* The glibc model against recorded usable sizes, its dynamic mmap
 * threshold included: after the 200704-byte mmapped chunk is freed the
 * threshold is 200704, so a 150000-byte request is a heap chunk (usable
 * 150008, not the mmapped 151536). */
Test(pool, glibc_self_check)
{
	struct au_cap c;
	au_open(&c);
	uint32_t s = au_site(&c, "f", 1);
	alloc_u(&c, 1000, 9, 0x1000, 100, 104, s);
	alloc_u(&c, 1100, 9, 0x2000, 24, 24, s);
	alloc_u(&c, 1200, 9, 0x100000, 200000, 200688, s);
	alloc_u(&c, 1300, 9, 0x3000, 50, 64, s); /* glibc gives 56: a mismatch */
	au_free(&c, 1400, 9, 0x100000);
	alloc_u(&c, 1500, 9, 0x200000, 150000, 150008, s);
	au_close(&c);
	json_t *sum = NULL, *doc = run_pool(&c, NULL, &sum);
	json_t *sc = json_object_get(doc, "self_check");
	cr_assert_eq(jint(sc, "checked"), 5);
	cr_assert_eq(jint(sc, "matched"), 4);
	cr_assert_float_eq(jnum(sc, "fraction"), 0.8, 1e-12);
	cr_assert(json_is_false(json_object_get(sc, "passed")));
	json_t *m = json_object_get(sc, "mismatches");
	cr_assert_eq(json_array_size(m), 1);
	cr_assert_eq(jint(json_array_get(m, 0), "size"), 50);
	cr_assert_eq(jint(json_array_get(m, 0), "recorded_usable"), 64);
	cr_assert_eq(jint(json_array_get(m, 0), "modeled_usable"), 56);
	cr_assert_float_eq(jnum(sum, "self_check_fraction"), 0.8, 1e-12);
	json_decref(doc);
	json_decref(sum);
	au_rmrf(c.dir);
}

/* Site "churn": 200 x 48 bytes, each freed 100 ns later (one live at a
 * time): a candidate.  "mixed": half 48, half 100 bytes: not one size.
 * "long": 200 x 48 bytes living 20 ms: not short-lived. */
Test(pool, pooling_candidates)
{
	struct au_cap c;
	au_open(&c);
	uint32_t ch = au_site(&c, "churn", 1), mx = au_site(&c, "mixed", 2),
		 lg = au_site(&c, "long", 3);
	for (uint64_t k = 0; k < 200; k++) {
		uint64_t t = 1000 + 1000 * k;
		au_alloc(&c, t, 3, 0x10000, 48, ch);
		au_free(&c, t + 100, 3, 0x10000);
		au_alloc(&c, t + 200, 3, 0x20000, k % 2 ? 100 : 48, mx);
		au_free(&c, t + 300, 3, 0x20000);
		au_alloc(&c, t + 400, 3, 0x1000000 + 64 * k, 48, lg);
	}
	for (uint64_t k = 0; k < 200; k++)
		au_free(&c, 20000400 + 1000 * k, 3, 0x1000000 + 64 * k);
	au_close(&c);
	json_t *sum = NULL, *doc = run_pool(&c, NULL, &sum);
	json_t *cd = json_object_get(doc, "candidates");
	cr_assert_eq(json_array_size(cd), 1);
	json_t *k = json_array_get(cd, 0);
	cr_assert(strstr(json_string_value(json_object_get(k, "site")), "churn"));
	cr_assert_eq(jint(k, "size"), 48);
	cr_assert_eq(jint(k, "allocs"), 200);
	cr_assert_float_eq(jnum(k, "same_size_fraction"), 1.0, 1e-12);
	cr_assert_float_eq(jnum(k, "rate"), 200 / 199e-6, 1e-3);
	cr_assert_eq(jint(k, "lifetime_p50_ns"), 100);
	cr_assert_eq(jint(k, "lifetime_p99_ns"), 100);
	cr_assert_eq(jint(k, "peak_concurrent"), 1);
	cr_assert_eq(jint(k, "calls_saved"), 2 * 199);
	cr_assert_eq(jint(k, "bytes_saved_at_peak"), 64 - 48);
	cr_assert_eq(jint(sum, "pooling_candidates"), 1);
	json_decref(doc);
	/* a lower bar on the size share admits "mixed" too */
	doc = run_pool(&c, "[pool]\ncandidate_same_size = 0.5\n", NULL);
	cr_assert_eq(json_array_size(json_object_get(doc, "candidates")), 2);
	json_decref(doc);
	json_decref(sum);
	au_rmrf(c.dir);
}

Test(pool, options_are_checked)
{
	struct au_cap c;
	pool_capture(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	const char *bad[] = {"[pool]\nclasses = 0\n", "[pool]\nclass_alignment = 24\n",
			     "[pool]\nheadroom = -1\n", "[pool]\ncapacity_quantile = 0.2\n",
			     "[pool]\ntimeline_points = 0\n"};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(au_lib_run(c.path, out, "pool", bad[i], NULL, err, sizeof err), -1);
		cr_assert(strstr(err, "[pool]"), "%s", err);
	}
	au_rmrf(c.dir);
}

/* fork: the child gets a copy of the parent's pool and its two taken
 * objects; it returns one and exits (the other is never returned, in the
 * child); the parent still holds both when it destroys the pool.  A heap
 * block inherited and freed by the child is an ordinary end for the
 * replay. */
Test(pool, fork_copies_pools_and_objects)
{
	struct au_cap c;
	au_open(&c);
	uint32_t name = au_str(&c, "req");
	uint32_t s = au_site(&c, "f", 1);
	ev_pool(&c, MPA_KIND_POOL_CREATE, 1000, 10, 1, 0, 32, 8, name);
	ev_pool(&c, MPA_KIND_POOL_ALLOC, 2000, 10, 1, 0x1000, 32, 0, 0);
	ev_pool(&c, MPA_KIND_POOL_ALLOC, 3000, 10, 1, 0x1020, 32, 0, 0);
	au_alloc(&c, 3500, 10, 0x9000, 100, s);
	struct mpa_event e = {0};
	e.kind = MPA_KIND_PROC_FORK;
	e.ts = 4000;
	e.pid = e.tid = 11;
	e.ppid = 10;
	au_ev(&c, &e);
	ev_pool(&c, MPA_KIND_POOL_FREE, 5000, 11, 1, 0x1000, 0, 0, 0);
	au_free(&c, 5500, 11, 0x9000);
	au_exit(&c, 6000, 11);
	ev_pool(&c, MPA_KIND_POOL_DESTROY, 7000, 10, 1, 0, 0, 0, 0);
	au_free(&c, 8000, 10, 0x9000);
	au_close(&c);
	json_t *doc = run_pool(&c, NULL, NULL);
	json_t *pools = json_object_get(doc, "pools");
	cr_assert_eq(json_array_size(pools), 2);
	json_t *par = json_array_get(pools, 0), *ch = json_array_get(pools, 1);
	cr_assert_eq(jint(par, "pid"), 10);
	cr_assert_eq(jint(par, "allocs"), 2);
	cr_assert_eq(jint(par, "frees"), 0);
	cr_assert_eq(jint(par, "never_returned"), 2);
	cr_assert_str_eq(json_string_value(json_object_get(par, "end")), "destroyed");
	cr_assert_eq(jint(ch, "pid"), 11);
	cr_assert_str_eq(json_string_value(json_object_get(ch, "name")), "req");
	cr_assert_eq(jint(ch, "allocs"), 0);
	cr_assert_eq(jint(ch, "frees"), 1);
	cr_assert_eq(jint(ch, "high_water"), 2);
	cr_assert_eq(jint(ch, "never_returned"), 1);
	cr_assert_eq(jint(ch, "created_ns"), 3000); /* the fork */
	cr_assert_str_eq(json_string_value(json_object_get(ch, "end")), "process_end");
	cr_assert_eq(jint(json_object_get(doc, "anomalies"), "total"), 0);
	/* the heap block: one allocation, in the parent; both frees are
	 * ordinary ends (no anomaly, nothing left in the replay) */
	json_t *al = json_object_get(doc, "allocators");
	cr_assert_eq(jint(json_array_get(al, 0), "requested_bytes"), 100);
	json_decref(doc);
	au_rmrf(c.dir);
}

/* 1100 blocks of 200000 bytes live at once: tcmalloc's 204800-byte class
 * holds one per span, so a block's run no longer fits the 10 bits of its
 * inline placement and goes to the side array.  Freeing them all and
 * taking 1100 again must return every span first: the peak stays one
 * span per block (a run not returned would double it). */
Test(pool, replay_placements_past_the_inline_runs)
{
	struct au_cap c;
	au_open(&c);
	uint32_t s = au_site(&c, "big", 10);
	uint64_t ts = 1000;
	for (int round = 0; round < 2; round++) {
		uint64_t base = round ? 0x40000000 : 0x10000000;
		for (uint64_t k = 0; k < 1100; k++)
			au_alloc(&c, ts++, 5, base + k * 0x40000, 200000, s);
		for (uint64_t k = 1100; k-- > 0;)
			au_free(&c, ts++, 5, base + k * 0x40000);
	}
	au_close(&c);
	json_t *doc = run_pool(&c, NULL, NULL);
	json_t *al = json_object_get(doc, "allocators");
	cr_assert_eq(jint(by_name(al, "allocator", "tcmalloc"), "replay_peak_footprint"),
		     1100LL * 204800);
	cr_assert_eq(jint(by_name(al, "allocator", "jemalloc"), "replay_peak_footprint"),
		     1100LL * 229376);
	cr_assert_eq(jint(by_name(al, "allocator", "mimalloc"), "replay_peak_footprint"),
		     1100LL * 262144);
	json_decref(doc);
	au_rmrf(c.dir);
}

/* The optimal-classes programme against every choice of k classes among
 * the distinct sizes (the largest is always one), with 64-bit sums (the
 * fast path) and with the same distribution scaled by 2^40 (sums past
 * 2^62: the 128-bit path), which must scale the waste and classes alone. */
Test(pool, optimal_classes_exact_on_both_paths)
{
	enum { M = 11, K = 3 };
	uint64_t sizes[M], counts[M], big[M];
	uint64_t s = 5;
	for (uint32_t i = 0; i < M; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		sizes[i] = 16 * (i + 1) + (s >> 60);
		counts[i] = 1 + (s >> 40) % 1000;
		big[i] = sizes[i] << 40;
	}
	/* brute force: classes = {sizes[a], sizes[b], sizes[M-1]}, a < b < M-1 */
	unsigned __int128 best = ~(unsigned __int128)0;
	for (uint32_t a = 0; a < M - 1; a++)
		for (uint32_t b = a + 1; b < M - 1; b++) {
			unsigned __int128 w = 0;
			for (uint32_t i = 0; i < M; i++) {
				uint64_t c = sizes[i] <= sizes[a] ? sizes[a]
					     : sizes[i] <= sizes[b] ? sizes[b] : sizes[M - 1];
				w += (unsigned __int128)(c - sizes[i]) * counts[i];
			}
			if (w < best)
				best = w;
		}
	uint64_t align = 1, out[K], bout[K];
	uint32_t n = 0, bn = 0;
	unsigned __int128 waste = 0, bwaste = 0;
	cr_assert_eq(mpa_pl_optimal_classes(sizes, counts, M, K, &align, out, &n, &waste), 0);
	cr_assert_eq(align, 1);
	cr_assert_eq(n, K);
	cr_assert(waste == best, "waste %llu, brute force %llu", (unsigned long long)waste,
		  (unsigned long long)best);
	/* 2^40 x sizes x counts up to 1000: past 2^62 */
	uint64_t balign = UINT64_C(1) << 40;
	for (uint32_t i = 0; i < M; i++)
		counts[i] <<= 12;
	cr_assert_eq(mpa_pl_optimal_classes(big, counts, M, K, &balign, bout, &bn, &bwaste), 0);
	cr_assert_eq(balign, UINT64_C(1) << 40);
	cr_assert_eq(bn, n);
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(bout[i], out[i] << 40);
	cr_assert(bwaste == waste << 52, "the 128-bit path scales the waste exactly");
}
