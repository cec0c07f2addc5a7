/* The cache analyzer on writer-built captures: counters, the sampled hit
 * ratio and its alert, attribution of samples to heap objects, latency,
 * data sources, false sharing and --lookup, exactly; --lookup on the demo
 * capture. */
#include "analyze_test_util.h"

/* a full sample */
static void sample_at(struct au_cap *c, uint64_t ts, int32_t pid, int32_t tid, uint32_t cpu,
		      uint8_t counter, uint64_t period, uint64_t weight, uint64_t addr,
		      uint64_t dsrc, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_CACHE_SAMPLE;
	e.ts = ts;
	e.pid = pid;
	e.tid = tid;
	e.cpu = cpu;
	e.counter = counter;
	e.period = period;
	e.weight = weight;
	e.ptr = addr;
	e.data_src = dsrc;
	e.ip = 0x401000;
	e.stack_id = stack;
	au_ev(c, &e);
}

static void thread_start(struct au_cap *c, uint64_t ts, int32_t pid, int32_t tid, uint64_t base,
			 uint64_t size)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_THREAD_START;
	e.ts = ts;
	e.pid = pid;
	e.tid = tid;
	e.ptr = base;
	e.size = size;
	au_ev(c, &e);
}

static json_t *row_where(json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r)
	{
		const char *v = json_string_value(json_object_get(r, key));
		if (v && !strcmp(v, val))
			return r;
	}
	return NULL;
}

static long long ival(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer '%s'", k);
	return (long long)json_integer_value(v);
}

static double fval(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_number(v), "no number '%s'", k);
	return json_number_value(v);
}

/* perf data_src: a load that hit L3 with a HITM snoop, TLB hit */
#define DS_LOAD_L3_HITM                                                                   \
	((UINT64_C(0x02) << 0) | (UINT64_C(0x42) << 5) | (UINT64_C(0x10) << 19) |  \
	 (UINT64_C(0x02) << 26))
/* a store, L1 hit */
#define DS_STORE_L1 ((UINT64_C(0x04) << 0) | (UINT64_C(0x0a) << 5))

static void sample(struct au_cap *c, uint64_t ts, uint8_t counter, uint64_t period,
		   uint64_t weight, uint64_t addr)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_CACHE_SAMPLE;
	e.ts = ts;
	e.pid = e.tid = 7;
	e.counter = counter;
	e.period = period;
	e.weight = weight;
	e.ptr = addr;
	au_ev(c, &e);
}

Test(cache, counters_hit_ratio_and_alert)
{
	struct au_cap c;
	au_open(&c);
	sample(&c, 10, MPA_CTR_CACHE_REF, 1000, 0, 0);
	sample(&c, 20, MPA_CTR_CACHE_REF, 1000, 0, 0);
	sample(&c, 30, MPA_CTR_CACHE_MISS, 500, 0, 0);
	sample(&c, 40, MPA_CTR_MEM_LOAD, 0, 30, 0x1000); /* no period: counts 1 */
	sample(&c, 50, MPA_CTR_MEM_LOAD, 0, 50, 0);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert_eq(json_integer_value(json_object_get(cs, "samples")), 5);
	json_t *hr = json_object_get(cs, "hit_ratio");
	cr_assert_eq(json_integer_value(json_object_get(hr, "references")), 2000);
	cr_assert_eq(json_integer_value(json_object_get(hr, "misses")), 500);
	cr_assert_float_eq(json_real_value(json_object_get(hr, "hit_ratio")), 0.75, 1e-12);
	/* 0.75 < the default threshold 0.9: one alert, collected at the top */
	json_t *al = json_object_get(s, "alerts");
	cr_assert_eq(json_array_size(al), 1);
	json_t *a0 = json_array_get(al, 0);
	cr_assert_str_eq(json_string_value(json_object_get(a0, "name")), "cache_hit_ratio");
	/* a typed alert: who, how bad, against what, and what to do */
	cr_assert_str_eq(json_string_value(json_object_get(a0, "analyzer")), "cache");
	cr_assert_str_eq(json_string_value(json_object_get(a0, "severity")), "warning");
	cr_assert_float_eq(json_real_value(json_object_get(a0, "value")), 0.75, 1e-12);
	cr_assert_float_eq(json_real_value(json_object_get(a0, "threshold")), 0.9, 1e-12);
	cr_assert_str_eq(json_string_value(json_object_get(a0, "unit")), "fraction");
	cr_assert(strlen(json_string_value(json_object_get(a0, "advice"))) > 20);
	json_t *doc = au_json(out, "cache.json");
	json_t *ctrs = json_object_get(doc, "counters");
	cr_assert_eq(json_array_size(ctrs), 3);
	json_t *ml = json_array_get(ctrs, 2);
	cr_assert_str_eq(json_string_value(json_object_get(ml, "counter")), "mem_load");
	cr_assert_eq(json_integer_value(json_object_get(ml, "events")), 2);
	cr_assert_float_eq(json_real_value(json_object_get(ml, "mean_weight")), 40.0, 1e-12);
	cr_assert_eq(json_integer_value(json_object_get(ml, "samples_with_address")), 1);
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);

	/* a lower threshold: no alert */
	cr_assert_eq(au_lib_run(c.path, out, "cache", "[alerts]\ncache_hit_ratio_threshold = 0.5\n",
				&s, err, sizeof err), 0, "%s", err);
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(cache, no_references_no_ratio)
{
	struct au_cap c;
	au_open(&c);
	sample(&c, 10, MPA_CTR_PAGE_FAULT, 1, 0, 0x5000);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert(json_is_null(json_object_get(cs, "hit_ratio")));
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(cache, attribution_to_heap_objects_and_sites)
{
	struct au_cap c;
	au_open(&c);
	uint32_t sa = au_site(&c, "parse_table", 10), sb = au_site(&c, "make_node", 20);
	uint32_t fn = au_stack(&c, 1, au_frame(&c, "scan_rows", "/usr/bin/prog", "prog.c", 99));
	thread_start(&c, 1, 7, 7, 0x7ff000000000, 0x100000);
	au_alloc(&c, 10, 7, 0x10000, 8192, sa);  /* 8 KiB at A */
	au_alloc(&c, 11, 7, 0x20000, 100, sb);   /* 100 B at B */
	au_alloc(&c, 12, 7, 0x30000, 100, sb);   /* another B, freed before its sample */
	au_free(&c, 13, 7, 0x30000);
	/* A: one L1 miss (period 10) at offset 100, three first-touch faults */
	sample_at(&c, 20, 7, 7, 0, MPA_CTR_L1D_MISS, 10, 0, 0x10000 + 100, 0, fn);
	sample_at(&c, 21, 7, 7, 0, MPA_CTR_PAGE_FAULT, 1, 0, 0x10000, 0, fn);
	sample_at(&c, 22, 7, 7, 0, MPA_CTR_PAGE_FAULT, 1, 0, 0x11000, 0, fn);
	sample_at(&c, 23, 7, 8, 1, MPA_CTR_PAGE_FAULT, 1, 0, 0x11fff, 0, fn);
	/* B: an LLC miss (period 4) at offset 8 */
	sample_at(&c, 24, 7, 7, 0, MPA_CTR_LLC_MISS, 4, 0, 0x20008, 0, fn);
	/* a fault taken in the kernel (a system call writing B): still B's */
	{
		struct mpa_event k = {0};
		k.kind = MPA_KIND_CACHE_SAMPLE;
		k.ts = 24;
		k.pid = k.tid = 7;
		k.domain = MPA_DOMAIN_KERNEL;
		k.counter = MPA_CTR_PAGE_FAULT;
		k.period = 1;
		k.ptr = 0x20010;
		k.ip = 0xffffffff81234567;
		au_ev(&c, &k);
	}
	/* the freed B's address: in no object, counted */
	sample_at(&c, 25, 7, 7, 0, MPA_CTR_LLC_MISS, 4, 0, 0x30008, 0, fn);
	/* a thread's stack, and a sample without an address */
	sample_at(&c, 26, 7, 7, 0, MPA_CTR_L1D_MISS, 10, 0, 0x7ff000000100, 0, fn);
	sample_at(&c, 27, 7, 7, 0, MPA_CTR_L1D_MISS, 10, 0, 0, 0, fn);
	/* a process with no image at all */
	sample_at(&c, 28, 99, 99, 0, MPA_CTR_L1D_MISS, 10, 0, 0x10000, 0, fn);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert_eq(ival(cs, "samples"), 10);
	json_t *att = json_object_get(cs, "attribution");
	cr_assert_eq(ival(att, "samples_with_address"), 9);
	cr_assert_eq(ival(att, "in_heap_objects"), 6);
	cr_assert_eq(ival(att, "unattributed"), 2);
	cr_assert_float_eq(fval(att, "fraction_in_heap_objects"), 6.0 / 9, 1e-12);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "top_site_by_faults")),
			 "parse_table (prog.c:10)");
	cr_assert_str_eq(json_string_value(json_object_get(cs, "top_site_by_misses")),
			 "parse_table (prog.c:10)");
	cr_assert(json_is_null(json_object_get(cs, "hit_ratio")));
	json_t *doc = au_json(out, "cache.json");
	json_t *sites = json_object_get(doc, "sites");
	cr_assert_eq(json_array_size(sites), 2);
	json_t *a = json_array_get(sites, 0), *b = json_array_get(sites, 1);
	cr_assert_str_eq(json_string_value(json_object_get(a, "site")), "parse_table (prog.c:10)");
	cr_assert_str_eq(json_string_value(json_object_get(a, "object")), "heap");
	cr_assert_eq(ival(a, "l1d_miss"), 10);
	cr_assert_eq(ival(a, "page_fault"), 3);
	cr_assert_eq(ival(a, "misses"), 10);
	cr_assert_eq(ival(a, "allocated_bytes"), 8192);
	cr_assert_float_eq(fval(a, "misses_per_kib"), 10.0 / 8, 1e-12);
	cr_assert_float_eq(fval(a, "faults_per_kib"), 3.0 / 8, 1e-12);
	cr_assert_eq(ival(a, "min_object_size"), 8192);
	cr_assert_float_eq(fval(a, "mean_offset"), (100.0 + 0 + 0x1000 + 0x1fff) / 4, 1e-9);
	cr_assert(json_array_size(json_object_get(a, "stack")) >= 1);
	cr_assert_str_eq(json_string_value(json_object_get(b, "site")), "make_node (prog.c:20)");
	cr_assert_eq(ival(b, "llc_miss"), 4);
	cr_assert_eq(ival(b, "page_fault"), 1);
	cr_assert_eq(ival(b, "allocated_bytes"), 200);
	cr_assert_eq(ival(b, "allocated_blocks"), 2);
	cr_assert_float_eq(fval(b, "misses_per_kib"), 4.0 / (200.0 / 1024), 1e-9);
	json_t *ctr = json_object_get(doc, "counters");
	json_t *l1 = row_where(ctr, "counter", "l1d_miss"), *llc = row_where(ctr, "counter", "llc_miss");
	cr_assert_eq(ival(l1, "samples"), 4);
	cr_assert_eq(ival(l1, "samples_with_address"), 3);
	cr_assert_eq(ival(l1, "in_heap"), 1);
	cr_assert_eq(ival(l1, "in_stacks"), 1);
	cr_assert_eq(ival(l1, "unattributed"), 1);
	cr_assert_eq(ival(llc, "in_heap"), 1);
	cr_assert_eq(ival(llc, "unattributed"), 1);
	json_t *pf = row_where(ctr, "counter", "page_fault");
	cr_assert_eq(ival(pf, "kernel_ip_samples"), 1);
	cr_assert_eq(ival(pf, "in_heap"), 4);
	/* per thread and per function */
	json_t *thr = json_object_get(doc, "threads");
	cr_assert_eq(json_array_size(thr), 3);
	cr_assert_eq(ival(json_array_get(thr, 0), "tid"), 7);
	cr_assert_eq(ival(json_array_get(thr, 0), "l1d_miss"), 30);
	cr_assert_eq(ival(json_array_get(thr, 1), "tid"), 8);
	cr_assert_eq(ival(json_array_get(thr, 1), "page_fault"), 1);
	json_t *fns = json_object_get(doc, "functions");
	cr_assert_eq(json_array_size(fns), 2); /* and the kernel fault's, without a stack */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(fns, 0), "function")),
			 "scan_rows in prog");
	cr_assert_eq(ival(json_array_get(fns, 0), "misses"), 48);
	/* the hot lines of A: offset 100 (line 1, 10 events), then the lines
	 * from 63 on, together (0x1000 and 0x1fff), then line 0 */
	json_t *hot = json_object_get(doc, "hot_lines");
	cr_assert_eq(json_array_size(hot), 4);
	cr_assert_eq(ival(json_array_get(hot, 0), "offset"), 64);
	cr_assert_eq(ival(json_array_get(hot, 0), "events"), 10);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(hot, 1), "site")),
			 "make_node (prog.c:20)");
	cr_assert_eq(ival(json_array_get(hot, 1), "events"), 5); /* LLC 4 + the fault */
	cr_assert_eq(ival(json_array_get(hot, 2), "offset"), 63 * 64);
	cr_assert_eq(ival(json_array_get(hot, 2), "events"), 2);
	json_decref(doc);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(cache, latency_data_sources_and_false_sharing)
{
	struct au_cap c;
	au_open(&c);
	uint32_t sa = au_site(&c, "make_counters", 30);
	au_alloc(&c, 10, 7, 0x40000, 256, sa);
	/* loads with weights 3, 5 and 100 cycles */
	sample_at(&c, 20, 7, 7, 0, MPA_CTR_MEM_LOAD, 1, 3, 0x40000, DS_LOAD_L3_HITM, 0);
	sample_at(&c, 21, 7, 7, 0, MPA_CTR_MEM_LOAD, 1, 5, 0x40008, 0, 0);
	sample_at(&c, 22, 7, 7, 0, MPA_CTR_MEM_LOAD, 1, 100, 0x50000, 0, 0);
	/* line 0x40040: CPU 0 writes word 0, CPU 1 writes word 8: false sharing */
	sample_at(&c, 30, 7, 7, 0, MPA_CTR_MEM_STORE, 1, 0, 0x40040, DS_STORE_L1, 0);
	sample_at(&c, 31, 7, 8, 1, MPA_CTR_MEM_STORE, 1, 0, 0x40048, DS_STORE_L1, 0);
	/* line 0x40080: both write the same word: true sharing */
	sample_at(&c, 32, 7, 7, 0, MPA_CTR_MEM_STORE, 1, 0, 0x40080, 0, 0);
	sample_at(&c, 33, 7, 8, 1, MPA_CTR_MEM_STORE, 1, 0, 0x40080, 0, 0);
	/* line 0x400c0: one writer: no suspect */
	sample_at(&c, 34, 7, 8, 1, MPA_CTR_MEM_STORE, 1, 0, 0x400c0, 0, 0);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *doc = au_json(out, "cache.json");
	json_t *ml = row_where(json_object_get(doc, "counters"), "counter", "mem_load");
	cr_assert_eq(ival(ml, "weighted_samples"), 3);
	cr_assert_float_eq(fval(ml, "mean_weight"), 36.0, 1e-12);
	cr_assert_eq(ival(ml, "min_weight"), 3);
	cr_assert_eq(ival(ml, "max_weight"), 100);
	cr_assert_eq(ival(ml, "p50_weight_le"), 7);
	cr_assert_eq(ival(ml, "p99_weight_le"), 127);
	cr_assert_eq(ival(ml, "without_data_source"), 2);
	json_t *lat = json_object_get(doc, "latency");
	cr_assert_eq(json_array_size(lat), 3);
	cr_assert_eq(ival(json_array_get(lat, 0), "weight_min"), 2);
	cr_assert_eq(ival(json_array_get(lat, 0), "weight_max"), 3);
	cr_assert_eq(ival(json_array_get(lat, 2), "weight_min"), 64);
	cr_assert_eq(ival(json_array_get(lat, 2), "weight_max"), 127);
	/* the decoded data sources */
	json_t *ds = json_object_get(doc, "data_sources");
	cr_assert_eq(json_array_size(ds), 2);
	json_t *st = row_where(ds, "op", "store"), *ld = row_where(ds, "op", "load");
	cr_assert(st && ld, "%s", json_dumps(ds, 0));
	cr_assert_eq(ival(st, "samples"), 2);
	cr_assert_str_eq(json_string_value(json_object_get(st, "level")), "l1");
	cr_assert_str_eq(json_string_value(json_object_get(st, "result")), "hit");
	cr_assert_str_eq(json_string_value(json_object_get(ld, "level")), "l3");
	cr_assert_str_eq(json_string_value(json_object_get(ld, "snoop")), "hitm");
	cr_assert_str_eq(json_string_value(json_object_get(ld, "tlb")), "hit");
	cr_assert_eq(ival(json_object_get(doc, "hitm"), "samples"), 1);
	/* suspects: the HITM line, the false and the true sharing */
	json_t *fs = json_object_get(doc, "false_sharing");
	cr_assert_eq(json_array_size(fs), 3);
	json_t *h = row_where(fs, "line", "0x40000"), *f = row_where(fs, "line", "0x40040"),
	       *t = row_where(fs, "line", "0x40080");
	cr_assert(h && f && t);
	cr_assert_str_eq(json_string_value(json_object_get(h, "verdict")), "hitm");
	cr_assert_eq(ival(h, "hitm"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(f, "verdict")), "false_sharing");
	cr_assert_eq(ival(f, "writer_cpus"), 2);
	cr_assert_str_eq(json_string_value(json_object_get(f, "site")), "make_counters (prog.c:30)");
	cr_assert_eq(ival(f, "offset_in_object"), 64);
	cr_assert_str_eq(json_string_value(json_object_get(t, "verdict")), "true_sharing");
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert_eq(ival(cs, "false_sharing_suspects"), 3);
	cr_assert(row_where(json_object_get(s, "alerts"), "name", "false_sharing"));
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);
	/* one line tracked: the first (the HITM one); the 5 later stores on
	 * other lines are counted, not tracked */
	cr_assert_eq(au_lib_run(c.path, out, "cache", "[cache]\nmax_lines = 1\n", &s, err,
				sizeof err), 0, "%s", err);
	doc = au_json(out, "cache.json");
	cr_assert_eq(json_array_size(json_object_get(doc, "false_sharing")), 1);
	cr_assert_eq(ival(doc, "lines_untracked_samples"), 5);
	json_decref(doc);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(cache, lookup_answers_as_time_passes)
{
	struct au_cap c;
	au_open(&c);
	uint32_t sa = au_site(&c, "load_config", 40), sb = au_site(&c, "grow_buf", 41);
	thread_start(&c, 1 * AU_SEC, 7, 7, 0x7ff000000000, 0x100000);
	au_alloc(&c, 1 * AU_SEC, 7, 0x10000, 64, sa);
	au_free(&c, 3 * AU_SEC, 7, 0x10000);
	au_alloc(&c, 4 * AU_SEC, 7, 0x10010, 32, sb); /* same address range, later */
	au_realloc(&c, 5 * AU_SEC, 7, 0x10010, 0x90000, 4096, sb);
	au_alloc(&c, 6 * AU_SEC, 7, 0x10000, 128, sa);
	au_exit(&c, 7 * AU_SEC, 7);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	/* times are from the capture's first event (1 s) */
	const char *cfg = "[cache]\nlookup = \"0x10020@1s, 0x10020@2s, 0x10020@3500ms, "
			  "0x10020@3999999999ns, 0x10020@4s, 0x90010, 0x7ff000000010@0s, 0x5\"\n";
	cr_assert_eq(au_lib_run(c.path, out, "cache", cfg, &s, err, sizeof err), 0, "%s", err);
	json_t *doc = au_json(out, "cache.json");
	json_t *lk = json_object_get(doc, "lookups");
	cr_assert_eq(json_array_size(lk), 7 + 1, "%s", json_dumps(lk, 0));
	/* sorted by time: 0s: the stack */
	json_t *q = row_where(lk, "query", "0x7ff000000010@0s");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "stack");
	cr_assert_eq(ival(q, "tid"), 7);
	cr_assert_eq(ival(q, "offset"), 16);
	/* at 2 s (1 s after the start): A's block, freed at 3 s */
	q = row_where(lk, "query", "0x10020@1s");
	cr_assert(q, "%s", json_dumps(lk, 0));
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "heap", "%s",
			 json_dumps(lk, 0));
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "heap");
	cr_assert_str_eq(json_string_value(json_object_get(q, "site")), "load_config (prog.c:40)");
	cr_assert_eq(ival(q, "offset"), 0x20);
	cr_assert_eq(ival(q, "size"), 64);
	cr_assert_eq(ival(q, "since"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(q, "until")), "freed");
	cr_assert_eq(ival(q, "until_time"), 2 * AU_SEC);
	cr_assert(json_array_size(json_object_get(q, "stack")) >= 1);
	/* at 3 s: the free at 3 s (a row at T) came before: nothing ... */
	q = row_where(lk, "query", "0x10020@2s");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "nothing");
	/* ... then the new block from 4 s (3 s after the start) to its move at 5 s */
	q = row_where(lk, "query", "0x10020@3500ms");
	cr_assert_str_eq(json_string_value(json_object_get(q, "site")), "grow_buf (prog.c:41)");
	cr_assert_eq(ival(q, "offset"), 0x10);
	cr_assert_eq(ival(q, "time"), 3500000000LL);
	cr_assert_str_eq(json_string_value(json_object_get(q, "until")), "freed");
	cr_assert_eq(ival(q, "until_time"), 4 * AU_SEC);
	q = row_where(lk, "query", "0x10020@3999999999ns");
	cr_assert_str_eq(json_string_value(json_object_get(q, "site")), "grow_buf (prog.c:41)");
	q = row_where(lk, "query", "0x10020@4s");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "nothing");
	/* the end: the realloc's new block, live when the process exited */
	q = row_where(lk, "query", "0x90010");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "heap");
	cr_assert_eq(ival(q, "size"), 4096);
	cr_assert_str_eq(json_string_value(json_object_get(q, "until")), "live at its process's exit");
	q = row_where(lk, "query", "0x5");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "nothing");
	json_t *cs = json_object_get(json_object_get(s, "analyzers"), "cache");
	cr_assert_eq(ival(cs, "lookups"), 8);
	cr_assert_str_eq(json_string_value(json_object_get(cs, "note")),
			 "no cache_sample records in this capture (record with mpa-record --cache)");
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);
	/* a bad query: one clear error */
	cr_assert_neq(au_lib_run(c.path, out, "cache", "[cache]\nlookup = \"0x10@soon\"\n", NULL,
				 err, sizeof err), 0);
	cr_assert(strstr(err, "0x10@soon"), "%s", err);
	cr_assert_neq(au_lib_run(c.path, out, "cache", "[cache]\nlookup = \"zz\"\n", NULL, err,
				 sizeof err), 0);
	cr_assert(strstr(err, "bad address"), "%s", err);
	au_rmrf(c.dir);
}

/* The demo capture: a leaked block of leaky_audit_log (live at the exit),
 * the same address at its allocation time, the main thread's stack. */
Test(cache, lookup_on_the_demo_capture)
{
	const char *src = getenv("MPA_SRC");
	cr_assert(src, "MPA_SRC not set");
	char cap[1024], out[300];
	snprintf(cap, sizeof cap, "%s/samples/demo.mpt", src);
	au_mkdtemp(out, sizeof out);
	char dir[400];
	snprintf(dir, sizeof dir, "%s/r", out);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){cap, "--lookup", "0x558e7a636148", "-o", dir, "--lookup",
				"0x558e7a636148@@1795770708033021137", "--lookup=0x7fff9c461100@1ms",
				NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	/* the flag selects the analyzer and the answers reach the terminal */
	cr_assert(strstr(p.out, "lookup 0x558e7a636148: heap 0x558e7a636140+8 (200 bytes"), "%s",
		  p.out);
	json_t *doc = au_json(dir, "cache.json");
	json_t *lk = json_object_get(doc, "lookups");
	cr_assert_eq(json_array_size(lk), 3);
	json_t *q = row_where(lk, "query", "0x558e7a636148");
	cr_assert_str_eq(json_string_value(json_object_get(q, "site")),
			 "leaky_audit_log (samples/demo/mpa-demo.c:51)");
	cr_assert_eq(ival(q, "size"), 200);
	cr_assert_str_eq(json_string_value(json_object_get(q, "until")), "live at its process's exit");
	/* one ns before its allocation: nothing there yet */
	q = row_where(lk, "query", "0x558e7a636148@@1795770708033021137");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "nothing");
	q = row_where(lk, "query", "0x7fff9c461100@1ms");
	cr_assert_str_eq(json_string_value(json_object_get(q, "owner")), "stack");
	cr_assert_eq(ival(q, "tid"), ival(q, "pid"));
	json_decref(doc);
	/* a bad value: one line, usage exit */
	au_cli(&p, NULL, NULL, (const char *[]){cap, "--lookup", "0x1@x", "-o", dir, NULL});
	cr_assert_eq(p.status, 1, "%s", p.err);
	cr_assert(strstr(p.err, "0x1@x"), "%s", p.err);
	au_rmrf(out);
}

/* Kernel allocations in the context of a traced pid (one with an image)
 * are the program's; those of any other pid are host-wide (MPA_BLK_HOST),
 * counted apart in summary.json scan.heap. */
Test(cache, kernel_events_of_the_traced_tree_and_the_host)
{
	struct au_cap c;
	au_open(&c);
	uint32_t sa = au_site(&c, "main_loop", 5);
	au_alloc(&c, 10, 7, 0x10000, 64, sa); /* pid 7 is traced */
	for (int i = 0; i < 5; i++) {
		struct mpa_event k = {0};
		k.kind = MPA_KIND_KALLOC;
		k.ts = 20 + (uint64_t)i;
		k.pid = k.tid = i < 2 ? 7 : 4242; /* 2 of ours, 3 of another process */
		k.domain = MPA_DOMAIN_KERNEL;
		k.api = MPA_API_KMALLOC;
		k.ptr = 0xffff888100000000ULL + 0x100 * (uint64_t)i;
		k.size = 64;
		k.usable = 64;
		k.ip = 0xffffffff81234567ULL;
		au_ev(&c, &k);
	}
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *h = json_object_get(json_object_get(s, "scan"), "heap");
	cr_assert_eq(ival(h, "kernel_allocs_traced"), 2);
	cr_assert_eq(ival(h, "kernel_allocs_host"), 3);
	json_decref(s);
	au_rmrf(c.dir);
}
