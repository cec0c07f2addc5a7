/*
 * Hardware memory samples (this VM has no PMU) from perf.data fixtures with
 * the real record layouts, through mpa-convert into cache_sample records
 * (counter, data address, period, weight, data_src, cpu exactly as
 * written), then through mpa-analyze --cache (the data sources decoded).
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mpa/mpt.h"
#include "perf_fixtures/perf_fixtures.h"

static char *convert(struct pw *(*fn)(struct pf_expect *), struct pf_expect *e, char **dir)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert_not_null(b, "MPA_BUILD is not set");
	struct pw *w = fn(e);
	*dir = pf_mkdtemp();
	cr_assert_not_null(*dir);
	char *path = pf_join(*dir, "perf.data"), *out = pf_join(*dir, "f.mpt"), *cmd, *txt;
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	int status;
	cr_assert(asprintf(&cmd, "'%s/bin/mpa-convert' -q '%s' -o '%s' 2>&1", b, path, out) > 0);
	txt = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "%s:\n%s", cmd, txt);
	free(txt);
	free(cmd);
	free(path);
	return out;
}

struct srow {
	uint8_t counter;
	uint64_t ts, ptr, period, weight, data_src;
	uint32_t cpu;
	int32_t pid, tid;
};

static size_t samples(const char *capture, struct srow *v, size_t max)
{
	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *bt;
	struct mpt_scan sc = {.columns = MPT_COLS_ALL, .kinds = MPT_KINDBIT(MPA_KIND_CACHE_SAMPLE)};
	size_t n = 0;
	cr_assert_eq(mpt_reader_open(capture, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_scan(r, &sc, &err), MPT_OK, "%s", err.msg);
	while (mpt_reader_next(r, &bt, &err) == MPT_OK)
		for (uint32_t i = 0; i < bt->n; i++, n++) {
			cr_assert_lt(n, max);
			v[n] = (struct srow){.counter = bt->counter[i], .ts = bt->ts[i],
					     .ptr = bt->ptr[i], .period = bt->period[i],
					     .weight = bt->weight[i], .data_src = bt->data_src[i],
					     .cpu = bt->cpu[i], .pid = bt->pid[i], .tid = bt->tid[i]};
		}
	mpt_reader_close(r);
	return n;
}

/* `perf mem record`: every mem-loads/mem-stores sample as the fixture wrote
 * it (its values are functions of the sample time t, see perf_fixtures.c) */
Test(perf_cache, mem_loads_and_stores_become_cache_samples, .timeout = 120)
{
	struct pf_expect e;
	char *dir, *cap = convert(pf_mem_loads, &e, &dir);
	struct srow v[64];
	size_t n = samples(cap, v, 64), loads = 0, stores = 0;
	cr_assert_eq(n, e.nr_samples);
	for (size_t i = 0; i < n; i++) {
		uint64_t t = v[i].ts; /* the fixture's clock: perf's, not the epoch */
		cr_assert(v[i].counter == MPA_CTR_MEM_LOAD || v[i].counter == MPA_CTR_MEM_STORE,
			  "counter %u", v[i].counter);
		int load = v[i].counter == MPA_CTR_MEM_LOAD;
		loads += load;
		stores += !load;
		cr_assert_eq(v[i].ptr, 0x7f0000001000ULL + t * 64, "sample at %" PRIu64, t);
		cr_assert_eq(v[i].period, 1000 + t % 7);
		cr_assert_eq(v[i].weight, 30 + t % 97);
		cr_assert_eq(v[i].data_src, load ? 0x68100142ULL : 0x5080144ULL);
		cr_assert_eq(v[i].pid, 1000);
		cr_assert_eq(v[i].tid, 1000 + (v[i].cpu ? 1 : 0));
	}
	cr_assert_eq(loads, e.nr_samples_per_attr[0]);
	cr_assert_eq(stores, e.nr_samples_per_attr[1]);

	/* the analyzer decodes the data sources: loads hit L1 with no snoop and
	 * a TLB hit; stores hit L1, snoop and TLB not available */
	const char *b = getenv("MPA_BUILD");
	char *out = pf_join(dir, "r"), *cmd, *txt;
	int status;
	cr_assert(asprintf(&cmd, "'%s/bin/mpa-analyze' -q '%s' --cache -o '%s' 2>&1", b, cap, out) > 0);
	txt = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "%s:\n%s", cmd, txt);
	free(txt);
	free(cmd);
	char *jp = pf_join(out, "cache.json");
	json_error_t je;
	json_t *doc = json_load_file(jp, 0, &je);
	cr_assert_not_null(doc, "%s", je.text);
	json_t *ds = json_object_get(doc, "data_sources");
	cr_assert_eq(json_array_size(ds), 2, "%s", json_dumps(ds, 0));
	size_t i;
	json_t *row;
	json_array_foreach(ds, i, row)
	{
		const char *op = json_string_value(json_object_get(row, "op"));
		int load = !strcmp(op, "load");
		cr_assert(load || !strcmp(op, "store"));
		cr_assert_str_eq(json_string_value(json_object_get(row, "counter")),
				 load ? "mem_load" : "mem_store");
		cr_assert_str_eq(json_string_value(json_object_get(row, "level")), "l1");
		cr_assert_str_eq(json_string_value(json_object_get(row, "result")), "hit");
		cr_assert_str_eq(json_string_value(json_object_get(row, "snoop")), load ? "none" : "na");
		cr_assert_str_eq(json_string_value(json_object_get(row, "tlb")), load ? "hit" : "na");
		cr_assert_eq(json_integer_value(json_object_get(row, "samples")),
			     (json_int_t)(load ? loads : stores));
	}
	/* weights reach the latency table */
	json_t *ctr = json_object_get(doc, "counters");
	json_array_foreach(ctr, i, row)
		cr_assert_eq(json_integer_value(json_object_get(row, "weighted_samples")),
			     json_integer_value(json_object_get(row, "samples")));
	json_decref(doc);
	free(jp);
	free(out);
	free(cap);
	pf_rmtree(dir);
	free(dir);
}

/* Ice Lake layout: WEIGHT_STRUCT's var1_dw is the weight (the instruction
 * latency in var2_w is not), with every field the reader skips around it. */
Test(perf_cache, weight_struct_is_the_access_latency, .timeout = 120)
{
	struct pf_expect e;
	char *dir, *cap = convert(pf_skip_fields, &e, &dir);
	struct srow v[16];
	size_t n = samples(cap, v, 16);
	cr_assert_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(v[i].counter, MPA_CTR_MEM_LOAD);
		cr_assert_eq(v[i].ptr, 0x7f2200000000ULL + 64 * i);
		cr_assert_eq(v[i].weight, 100 + i);
		cr_assert_eq(v[i].data_src, 0x29080142ULL);
		cr_assert_eq(v[i].cpu, 1);
	}
	free(cap);
	pf_rmtree(dir);
	free(dir);
}

/* cache-misses with a callchain and page-faults with addresses, in one file */
Test(perf_cache, cache_misses_and_page_faults, .timeout = 120)
{
	struct pf_expect e;
	char *dir, *cap = convert(pf_cache_misses, &e, &dir);
	struct srow v[64];
	size_t n = samples(cap, v, 64), miss = 0, faults = 0;
	cr_assert_eq(n, e.nr_samples);
	for (size_t i = 0; i < n; i++) {
		miss += v[i].counter == MPA_CTR_CACHE_MISS;
		faults += v[i].counter == MPA_CTR_PAGE_FAULT;
		if (v[i].counter == MPA_CTR_PAGE_FAULT)
			cr_assert_neq(v[i].ptr, 0, "a page-fault sample keeps its data address");
	}
	cr_assert_eq(miss, e.nr_samples_per_attr[0]);
	cr_assert_eq(faults, e.nr_samples_per_attr[1]);
	free(cap);
	pf_rmtree(dir);
	free(dir);
}

/* Kernel call sites named from a kallsyms file: `perf record -e kmem:*`
 * (tracepoint layout, call_site = 0xffffffff813ceccc + i) converted with
 * --kallsyms; a return address is looked up at ip - 1. */
Test(perf_cache, kernel_call_sites_from_kallsyms, .timeout = 120)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert_not_null(b, "MPA_BUILD is not set");
	struct pf_expect e;
	struct pw *w = pf_kmem(&e);
	char *dir = pf_mkdtemp();
	char *path = pf_join(dir, "perf.data"), *out = pf_join(dir, "k.mpt"),
	     *ks = pf_join(dir, "kallsyms"), *cmd, *txt;
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	FILE *f = fopen(ks, "w");
	cr_assert_not_null(f);
	fputs("0000000000000000 A fixed_percpu_data\n"
	      "ffffffff81000000 T _text\n"
	      "ffffffff813cec00 T kmalloc_caller_a\n"
	      "ffffffff813cec80 d some_data\n"
	      "ffffffff813cecd0 t kmalloc_caller_b\t[mymod]\n"
	      "ffffffff81636e00 T __kmalloc\n",
	      f);
	fclose(f);
	int status;
	cr_assert(asprintf(&cmd, "'%s/bin/mpa-convert' -q '%s' --kallsyms '%s' -o '%s' 2>&1", b,
			   path, ks, out) > 0);
	txt = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "%s:\n%s", cmd, txt);
	free(txt);
	free(cmd);

	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *bt;
	struct mpt_scan sc = {.columns = MPT_COLS_ALL,
			      .kinds = MPT_KINDBIT(MPA_KIND_KALLOC) | MPT_KINDBIT(MPA_KIND_KFREE)};
	cr_assert_eq(mpt_reader_open(out, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_str_eq(mpt_reader_meta(r, "symbolize.kernel_symbols"), "4");
	cr_assert_eq(mpt_reader_scan(r, &sc, &err), MPT_OK, "%s", err.msg);
	size_t n = 0;
	while (mpt_reader_next(r, &bt, &err) == MPT_OK)
		for (uint32_t i = 0; i < bt->n; i++, n++) {
			uint64_t site = bt->ip[i], k = site - 0xffffffff813cecccULL;
			cr_assert_lt(k, 8);
			uint32_t nf;
			const uint32_t *fr = mpt_reader_stack(r, bt->stack_id[i], &nf);
			cr_assert(fr && nf == 1, "call site 0x%" PRIx64 " has no one-frame stack", site);
			const struct mpt_frame *fm = mpt_reader_frame(r, fr[0]);
			cr_assert_eq(fm->ip, site);
			cr_assert_str_eq(mpt_reader_string(r, fm->bin, NULL), "[kernel.kallsyms]");
			cr_assert_str_eq(mpt_reader_string(r, fm->func, NULL),
					 k <= 4 ? "kmalloc_caller_a" : "kmalloc_caller_b [mymod]");
		}
	cr_assert_eq(n, e.nr_samples);
	mpt_reader_close(r);

	/* a file that is not kallsyms: one clear error, no capture */
	f = fopen(ks, "w");
	cr_assert_not_null(f);
	fputs("ffffffff81000000 T _text\nnot a symbol line\n", f);
	fclose(f);
	char *out2 = pf_join(dir, "bad.mpt");
	cr_assert(asprintf(&cmd, "'%s/bin/mpa-convert' -q '%s' --kallsyms '%s' -o '%s' 2>&1", b,
			   path, ks, out2) > 0);
	txt = pf_run(cmd, &status);
	cr_assert_neq(status, 0);
	cr_assert(strstr(txt, "line 2"), "%s", txt);
	cr_assert_neq(access(out2, F_OK), 0);
	free(txt);
	free(cmd);
	free(out2);
	free(path);
	free(out);
	free(ks);
	pf_rmtree(dir);
	free(dir);
}
