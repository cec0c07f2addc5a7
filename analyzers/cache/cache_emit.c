/* The cache analyzer's outputs: tables (CSV + cache.json), summary,
 * alerts, plots and the headline.  Metrics: doc/analyzers-cache.md. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

static const unsigned miss_ctrs[] = {MPA_CTR_L1D_MISS, MPA_CTR_LLC_MISS, MPA_CTR_DTLB_MISS,
				     MPA_CTR_CACHE_MISS};

static uint64_t misses(const struct cstats *s)
{
	uint64_t m = 0;
	for (size_t i = 0; i < sizeof miss_ctrs / sizeof *miss_ctrs; i++)
		m = cache_sat_add(m, s->events[miss_ctrs[i]]);
	return m;
}

static uint64_t nsamples(const struct cstats *s)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < NCTR; k++)
		n += s->samples[k];
	return n;
}

uint64_t cache_total_samples(const struct cache *C)
{
	return nsamples(&C->all);
}

double cache_hit_ratio(const struct cstats *s)
{
	uint64_t refs = s->events[MPA_CTR_CACHE_REF], miss = s->events[MPA_CTR_CACHE_MISS];
	if (!refs || !s->samples[MPA_CTR_CACHE_MISS])
		return NAN;
	double h = 1.0 - (double)miss / (double)refs;
	return h < 0 ? 0 : h;
}

static json_t *jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static uint64_t rel(const struct cache *C, uint64_t ts)
{
	return ts > C->ctx->span_first ? ts - C->ctx->span_first : 0;
}

/* ---- names ----------------------------------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The sampled code's function: the innermost frame of the sample's stack. */
static void func_name(const struct cache *C, uint32_t stack, char *buf, size_t len)
{
	const mpt_reader *rd = C->ctx->reader;
	uint32_t n = 0;
	const uint32_t *fr = rd && stack ? mpt_reader_stack(rd, stack, &n) : NULL;
	const struct mpt_frame *f = fr && n ? mpt_reader_frame(rd, fr[0]) : NULL;
	if (!f) {
		snprintf(buf, len, "??");
		return;
	}
	const char *fn = mpt_reader_string(rd, f->func, NULL);
	const char *bin = mpt_reader_string(rd, f->bin, NULL);
	if (*fn)
		snprintf(buf, len, "%s%s%s", fn, *bin ? " in " : "", *bin ? base_name(bin) : "");
	else if (*bin)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(bin), f->bin_off);
	else
		snprintf(buf, len, "0x%" PRIx64, f->ip);
}

static void site_name(const struct cache *C, uint32_t stack, unsigned kind, uint64_t ksite,
		      char *buf, size_t len)
{
	if (kind == OWN_KERNEL && !stack)
		snprintf(buf, len, "kernel call site 0x%" PRIx64, ksite);
	else
		mpa_site_name(C->ctx, stack, buf, len);
}

/* ---- groups: named, merged by name, ranked ------------------------------------------------ */

struct named {
	char name[400];
	const char *kind;         /* sites: heap / kernel */
	uint32_t stack;           /* the first group's (for the JSON stack) */
	struct cstats s;
	uint64_t min_size, max_size, offset_sum, bytes, blocks;
	int32_t pid, tid;
};

static void merge_stats(struct cstats *d, const struct cstats *s)
{
	for (unsigned k = 0; k < NCTR; k++) {
		d->samples[k] += s->samples[k];
		d->events[k] = cache_sat_add(d->events[k], s->events[k]);
	}
	d->weighted += s->weighted;
	d->weight = cache_sat_add(d->weight, s->weight);
}

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = strcmp(x->kind ? x->kind : "", y->kind ? y->kind : "");
	if (c)
		return c;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* ranked: misses, then page faults, then samples, then the name */
static int by_rank(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	uint64_t mx = misses(&x->s), my = misses(&y->s);
	if (mx != my)
		return mx > my ? -1 : 1;
	uint64_t fx = x->s.events[MPA_CTR_PAGE_FAULT], fy = y->s.events[MPA_CTR_PAGE_FAULT];
	if (fx != fy)
		return fx > fy ? -1 : 1;
	uint64_t sx = nsamples(&x->s), sy = nsamples(&y->s);
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return by_name(a, b);
}

static int by_thread(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Merges entries of equal name (and kind) after sorting by name. */
static uint64_t merge_names(struct named *v, uint64_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, by_name);
	uint64_t k = 0;
	for (uint64_t i = 1; i < n; i++) {
		struct named *d = &v[k];
		if (!strcmp(d->name, v[i].name) && d->kind == v[i].kind) {
			merge_stats(&d->s, &v[i].s);
			if (v[i].min_size && (!d->min_size || v[i].min_size < d->min_size))
				d->min_size = v[i].min_size;
			if (v[i].max_size > d->max_size)
				d->max_size = v[i].max_size;
			d->offset_sum = cache_sat_add(d->offset_sum, v[i].offset_sum);
			d->bytes = cache_sat_add(d->bytes, v[i].bytes);
			d->blocks += v[i].blocks;
		} else {
			v[++k] = v[i];
		}
	}
	return k + 1;
}

/* ---- tables ---------------------------------------------------------------------------- */

/* The counters' columns of the thread, function and site tables: only the
 * counters the capture recorded (a counter it lacks is no column, never a
 * column of zeros); "misses" when a miss counter was recorded, "hit_ratio"
 * when both cache_ref and cache_miss were, "mean_weight" when a sample
 * had a weight. */
static const unsigned ctr_order[] = {MPA_CTR_L1D_MISS, MPA_CTR_LLC_MISS,  MPA_CTR_DTLB_MISS,
				     MPA_CTR_CACHE_REF, MPA_CTR_CACHE_MISS, MPA_CTR_MEM_LOAD,
				     MPA_CTR_MEM_STORE, MPA_CTR_PAGE_FAULT, MPA_CTR_UNKNOWN};

struct ctr_layout {
	int has[NCTR];
	int misses, ratio, weight;
};

static void layout_of(const struct cache *C, struct ctr_layout *L)
{
	memset(L, 0, sizeof *L);
	for (unsigned k = 0; k < NCTR; k++)
		L->has[k] = C->all.samples[k] != 0;
	for (size_t i = 0; i < sizeof miss_ctrs / sizeof *miss_ctrs; i++)
		L->misses |= L->has[miss_ctrs[i]];
	L->ratio = L->has[MPA_CTR_CACHE_REF] && L->has[MPA_CTR_CACHE_MISS];
	L->weight = C->all.weighted != 0;
}

/* Appends the counters' columns to cols (at least 13 free). */
static unsigned ctr_cols(const struct ctr_layout *L, struct mpa_col *cols, unsigned n)
{
	cols[n++] = (struct mpa_col){"samples", MPA_COL_U64, "count"};
	for (size_t i = 0; i < sizeof ctr_order / sizeof *ctr_order; i++)
		if (L->has[ctr_order[i]])
			cols[n++] = (struct mpa_col){mpa_counter_name(ctr_order[i]), MPA_COL_U64,
						     "events"};
	if (L->misses)
		cols[n++] = (struct mpa_col){"misses", MPA_COL_U64, "events"};
	if (L->ratio)
		cols[n++] = (struct mpa_col){"hit_ratio", MPA_COL_F64, "fraction"};
	if (L->weight)
		cols[n++] = (struct mpa_col){"mean_weight", MPA_COL_F64, "cycles"};
	return n;
}

static void ctr_cells(mpa_table *t, const struct ctr_layout *L, const struct cstats *s)
{
	mpa_table_u64(t, nsamples(s));
	for (size_t i = 0; i < sizeof ctr_order / sizeof *ctr_order; i++)
		if (L->has[ctr_order[i]])
			mpa_table_u64(t, s->events[ctr_order[i]]);
	if (L->misses)
		mpa_table_u64(t, misses(s));
	if (L->ratio)
		mpa_table_f64(t, cache_hit_ratio(s));
	if (L->weight)
		mpa_table_f64(t, s->weighted ? (double)s->weight / (double)s->weighted : NAN);
}

static const struct mpa_col counter_cols[] = {
	{"counter", MPA_COL_STR, ""},
	{"samples", MPA_COL_U64, "count"},
	{"events", MPA_COL_U64, "count"},
	{"weighted_samples", MPA_COL_U64, "count"},
	{"mean_weight", MPA_COL_F64, "cycles"},
	{"min_weight", MPA_COL_U64, "cycles"},
	{"max_weight", MPA_COL_U64, "cycles"},
	{"p50_weight_le", MPA_COL_U64, "cycles"},
	{"p90_weight_le", MPA_COL_U64, "cycles"},
	{"p99_weight_le", MPA_COL_U64, "cycles"},
	{"samples_with_address", MPA_COL_U64, "count"},
	{"in_heap", MPA_COL_U64, "count"},
	{"in_kernel_objects", MPA_COL_U64, "count"},
	{"in_mappings", MPA_COL_U64, "count"},
	{"in_stacks", MPA_COL_U64, "count"},
	{"unattributed", MPA_COL_U64, "count"},
	{"kernel_ip_samples", MPA_COL_U64, "count"},
	{"without_data_source", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl counters_table = {"counters", "counters", counter_cols,
						     MPA_NCOLS(counter_cols)};

static const struct mpa_col lat_cols[] = {
	{"counter", MPA_COL_STR, ""},
	{"weight_min", MPA_COL_U64, "cycles"},
	{"weight_max", MPA_COL_U64, "cycles"},
	{"samples", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl lat_table = {"latency", "latency", lat_cols,
						MPA_NCOLS(lat_cols)};

static const struct mpa_col ds_cols[] = {
	{"counter", MPA_COL_STR, ""},   {"op", MPA_COL_STR, ""},
	{"level", MPA_COL_STR, ""},     {"result", MPA_COL_STR, ""},
	{"snoop", MPA_COL_STR, ""},     {"tlb", MPA_COL_STR, ""},
	{"locked", MPA_COL_U64, "bool"}, {"samples", MPA_COL_U64, "count"},
	{"events", MPA_COL_U64, "count"}, {"mean_weight", MPA_COL_F64, "cycles"},
};
static const struct mpa_table_decl ds_table = {"data_sources", "data_sources", ds_cols,
					       MPA_NCOLS(ds_cols)};

static const struct mpa_col fs_cols[] = {
	{"pid", MPA_COL_I64, ""},
	{"line", MPA_COL_STR, "address"},
	{"verdict", MPA_COL_STR, ""},
	{"writer_cpus", MPA_COL_U64, "count"},
	{"stores", MPA_COL_U64, "count"},
	{"loads", MPA_COL_U64, "count"},
	{"hitm", MPA_COL_U64, "count"},
	{"hitm_remote", MPA_COL_U64, "count"},
	{"owner", MPA_COL_STR, ""},
	{"site", MPA_COL_STR, ""},
	{"offset_in_object", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl fs_table = {"false_sharing", "false_sharing", fs_cols,
					       MPA_NCOLS(fs_cols)};

static const struct mpa_col off_cols[] = {
	{"site", MPA_COL_STR, ""},
	{"object", MPA_COL_STR, ""},
	{"offset", MPA_COL_U64, "bytes"},
	{"samples", MPA_COL_U64, "count"},
	{"events", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl off_table = {"hot_lines", "hot_lines", off_cols,
						MPA_NCOLS(off_cols)};

static const struct mpa_col lk_cols[] = {
	{"query", MPA_COL_STR, ""},
	{"address", MPA_COL_STR, "address"},
	{"time", MPA_COL_U64, "ns"},
	{"owner", MPA_COL_STR, ""},
	{"pid", MPA_COL_I64, ""},
	{"tid", MPA_COL_I64, ""},
	{"base", MPA_COL_STR, "address"},
	{"size", MPA_COL_U64, "bytes"},
	{"offset", MPA_COL_U64, "bytes"},
	{"site", MPA_COL_STR, ""},
	{"since", MPA_COL_U64, "ns"},
	{"until", MPA_COL_STR, ""},
	{"until_time", MPA_COL_I64, "ns"},
};
static const struct mpa_table_decl lk_table = {"lookups", "lookups", lk_cols,
					       MPA_NCOLS(lk_cols)};

/* ---- the emit --------------------------------------------------------------------------- */

struct emit {
	struct cache *C;
	mpa_out *out;
	json_t *doc, *sum;
	char top_miss[400], top_fault[400];
	uint64_t top_miss_v, top_fault_v, suspects;
};

/* The upper bound of the bucket holding the q-quantile of counter k. */
static uint64_t lat_quantile(const struct cache *C, unsigned k, double q)
{
	uint64_t n = 0;
	for (unsigned b = 1; b < NLAT; b++)
		n += C->lat[k][b];
	if (!n)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)n), seen = 0;
	if (!want)
		want = 1;
	for (unsigned b = 1; b < NLAT; b++) {
		seen += C->lat[k][b];
		if (seen >= want)
			return b == NLAT - 1 ? C->wmax[k] : (UINT64_C(1) << b) - 1;
	}
	return C->wmax[k];
}

static int emit_counters(struct emit *e)
{
	struct cache *C = e->C;
	mpa_table *t = mpa_table_begin(e->out, &counters_table);
	if (!t)
		return -1;
	for (unsigned k = 0; k < NCTR; k++) {
		if (!C->all.samples[k])
			continue;
		uint64_t wn = C->wcnt[k];
		mpa_table_str(t, mpa_counter_name(k));
		mpa_table_u64(t, C->all.samples[k]);
		mpa_table_u64(t, C->all.events[k]);
		mpa_table_u64(t, wn);
		mpa_table_f64(t, wn ? (double)C->wsum[k] / (double)wn : NAN);
		mpa_table_u64(t, wn ? C->wmin[k] : 0);
		mpa_table_u64(t, wn ? C->wmax[k] : 0);
		mpa_table_u64(t, lat_quantile(C, k, 0.5));
		mpa_table_u64(t, lat_quantile(C, k, 0.9));
		mpa_table_u64(t, lat_quantile(C, k, 0.99));
		mpa_table_u64(t, C->with_addr[k]);
		mpa_table_u64(t, C->owned[k][OWN_HEAP]);
		mpa_table_u64(t, C->owned[k][OWN_KERNEL]);
		mpa_table_u64(t, C->owned[k][OWN_MAP]);
		mpa_table_u64(t, C->owned[k][OWN_STACK]);
		mpa_table_u64(t, C->owned[k][OWN_NONE] + C->owned[k][OWN_NOPROC]);
		mpa_table_u64(t, C->kernel_ip[k]);
		mpa_table_u64(t, C->no_dsrc[k]);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	return mpa_table_close(t);
fail:
	mpa_table_close(t);
	return -1;
}

static int emit_latency(struct emit *e)
{
	struct cache *C = e->C;
	mpa_table *t = mpa_table_begin(e->out, &lat_table);
	if (!t)
		return -1;
	mpa_plot *p = NULL;
	int any = 0;
	for (unsigned k = 0; k < NCTR; k++)
		any |= C->wcnt[k] != 0;
	if (any)
		p = mpa_plot_open(e->out, "latency", "sampled access latency (weight)",
				  "weight (cycles, log2 bucket upper bound)", "samples",
				  MPA_PLOT_STEPS);
	for (unsigned k = 0; k < NCTR; k++) {
		if (!C->wcnt[k])
			continue;
		if (p && mpa_plot_series(p, mpa_counter_name(k)) < 0)
			goto fail;
		for (unsigned b = 1; b < NLAT; b++) {
			if (!C->lat[k][b])
				continue;
			uint64_t lo = UINT64_C(1) << (b - 1);
			uint64_t hi = b == NLAT - 1 ? C->wmax[k] : (UINT64_C(1) << b) - 1;
			mpa_table_str(t, mpa_counter_name(k));
			mpa_table_u64(t, lo);
			mpa_table_u64(t, hi);
			mpa_table_u64(t, C->lat[k][b]);
			if (mpa_table_end_row(t) < 0)
				goto fail;
			if (p && mpa_plot_point(p, (double)hi, (double)C->lat[k][b]) < 0)
				goto fail;
		}
	}
	if (p && mpa_plot_close(p) < 0) {
		p = NULL;
		goto fail;
	}
	return mpa_table_close(t);
fail:
	if (p)
		mpa_plot_close(p);
	mpa_table_close(t);
	return -1;
}

static int ds_cmp(const void *a, const void *b)
{
	const struct cdsrc_row *x = *(const struct cdsrc_row *const *)a,
			       *y = *(const struct cdsrc_row *const *)b;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->k.a < y->k.a ? -1 : x->k.a > y->k.a;
}

static int emit_dsrc(struct emit *e)
{
	struct cache *C = e->C;
	uint64_t n;
	void **v = ctab_list(&C->dsrcs, &n);
	if (!v && C->dsrcs.n)
		return -1;
	if (n)
		qsort(v, n, sizeof *v, ds_cmp);
	mpa_table *t = mpa_table_begin(e->out, &ds_table);
	if (!t) {
		free(v);
		return -1;
	}
	uint64_t hitm = 0, hitm_remote = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct cdsrc_row *d = v[i];
		uint64_t a = d->k.a;
		unsigned snoop = (a >> 32) & 0xff, level = (a >> 16) & 0xff;
		if (snoop == DS_SNOOP_HITM) {
			hitm += d->samples;
			if (level == DS_LVL_REMOTE_CACHE || level == DS_LVL_REMOTE_RAM)
				hitm_remote += d->samples;
		}
		mpa_table_str(t, mpa_counter_name(a & 0xff));
		mpa_table_str(t, cache_ds_op[(a >> 8) & 0xff]);
		mpa_table_str(t, cache_ds_level[level]);
		mpa_table_str(t, cache_ds_res[(a >> 24) & 0xff]);
		mpa_table_str(t, cache_ds_snoop[snoop]);
		mpa_table_str(t, cache_ds_res[(a >> 40) & 0xff]);
		mpa_table_u64(t, (a >> 48) & 1);
		mpa_table_u64(t, d->samples);
		mpa_table_u64(t, d->events);
		mpa_table_f64(t, d->weighted ? (double)d->weight / (double)d->weighted : NAN);
		if (mpa_table_end_row(t) < 0) {
			free(v);
			mpa_table_close(t);
			return -1;
		}
	}
	free(v);
	json_object_set_new(e->doc, "hitm", json_pack("{s:o, s:o}", "samples", jint(hitm),
						      "remote", jint(hitm_remote)));
	return mpa_table_close(t);
}

/* kind: 0 threads, 1 functions, 2 sites */
static int emit_groups(struct emit *e, struct ctab *tab, int kind)
{
	struct cache *C = e->C;
	uint64_t n = tab->n, m = 0;
	struct named *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	for (uint64_t i = 0; i < tab->cap; i++) {
		const struct cgroup *g = ctab_at(tab, i);
		if (!g)
			continue;
		struct named *d = &v[m++];
		d->s = g->s;
		if (kind == 0) {
			d->pid = (int32_t)(uint32_t)g->k.a;
			d->tid = (int32_t)(uint32_t)g->k.b;
		} else if (kind == 1) {
			d->stack = (uint32_t)g->k.a;
			func_name(C, d->stack, d->name, sizeof d->name);
		} else {
			unsigned ok = g->k.b & 0xff;
			d->stack = (uint32_t)g->k.a;
			d->kind = cache_owner_name[ok < OWN_N ? ok : 0];
			site_name(C, d->stack, ok, g->ksite, d->name, sizeof d->name);
			d->min_size = g->min_size;
			d->max_size = g->max_size;
			d->offset_sum = g->offset_sum;
			const struct calloc_site *a = ctab_get(&C->allocs, g->k.a, g->k.b, 0);
			if (a) {
				d->bytes = a->bytes;
				d->blocks = a->blocks;
			}
		}
	}
	if (kind == 0) {
		qsort(v, m, sizeof *v, by_thread);
	} else {
		m = merge_names(v, m);
		qsort(v, m, sizeof *v, by_rank);
		if (m > (uint64_t)C->top)
			m = (uint64_t)C->top;
	}
	struct ctr_layout L;
	layout_of(C, &L);
	struct mpa_col cols[32];
	unsigned nc = 0;
	if (kind == 0) {
		cols[nc++] = (struct mpa_col){"pid", MPA_COL_I64, ""};
		cols[nc++] = (struct mpa_col){"tid", MPA_COL_I64, ""};
	} else if (kind == 1) {
		cols[nc++] = (struct mpa_col){"function", MPA_COL_STR, ""};
	} else {
		cols[nc++] = (struct mpa_col){"site", MPA_COL_STR, ""};
		cols[nc++] = (struct mpa_col){"object", MPA_COL_STR, ""};
	}
	nc = ctr_cols(&L, cols, nc);
	int faults = L.has[MPA_CTR_PAGE_FAULT];
	if (kind == 2) {
		cols[nc++] = (struct mpa_col){"allocated_bytes", MPA_COL_U64, "bytes"};
		cols[nc++] = (struct mpa_col){"allocated_blocks", MPA_COL_U64, "count"};
		if (L.misses)
			cols[nc++] = (struct mpa_col){"misses_per_kib", MPA_COL_F64, "events/KiB"};
		if (faults)
			cols[nc++] = (struct mpa_col){"faults_per_kib", MPA_COL_F64, "events/KiB"};
		cols[nc++] = (struct mpa_col){"min_object_size", MPA_COL_U64, "bytes"};
		cols[nc++] = (struct mpa_col){"max_object_size", MPA_COL_U64, "bytes"};
		cols[nc++] = (struct mpa_col){"mean_offset", MPA_COL_F64, "bytes"};
	}
	const struct mpa_table_decl decl = {kind == 0 ? "threads" : kind == 1 ? "functions" : "sites",
					    kind == 0 ? "threads" : kind == 1 ? "functions" : "sites",
					    cols, nc};
	mpa_table *t = mpa_table_begin(e->out, &decl);
	if (!t) {
		free(v);
		return -1;
	}
	for (uint64_t i = 0; i < m; i++) {
		const struct named *d = &v[i];
		if (kind == 0) {
			mpa_table_i64(t, d->pid);
			mpa_table_i64(t, d->tid);
		} else {
			mpa_table_str(t, d->name);
			if (kind == 2)
				mpa_table_str(t, d->kind);
		}
		ctr_cells(t, &L, &d->s);
		if (kind == 2) {
			uint64_t all = nsamples(&d->s);
			double kib = (double)d->bytes / 1024.0;
			mpa_table_u64(t, d->bytes);
			mpa_table_u64(t, d->blocks);
			if (L.misses)
				mpa_table_f64(t, d->bytes ? (double)misses(&d->s) / kib : NAN);
			if (faults)
				mpa_table_f64(t, d->bytes ? (double)d->s.events[MPA_CTR_PAGE_FAULT] / kib
							  : NAN);
			mpa_table_u64(t, d->min_size);
			mpa_table_u64(t, d->max_size);
			mpa_table_f64(t, all ? (double)d->offset_sum / (double)all : NAN);
			if (d->stack)
				mpa_table_json(t, "stack", mpa_site_stack_json(C->ctx, d->stack));
			uint64_t mi = misses(&d->s), fa = d->s.events[MPA_CTR_PAGE_FAULT];
			if (mi > e->top_miss_v) {
				e->top_miss_v = mi;
				snprintf(e->top_miss, sizeof e->top_miss, "%s", d->name);
			}
			if (fa > e->top_fault_v) {
				e->top_fault_v = fa;
				snprintf(e->top_fault, sizeof e->top_fault, "%s", d->name);
			}
		}
		if (mpa_table_end_row(t) < 0) {
			free(v);
			mpa_table_close(t);
			return -1;
		}
	}
	int rc = mpa_table_close(t);
	/* the sites plot: the top ones by misses, else by page faults */
	if (!rc && kind == 2 && m) {
		int faults = !misses(&v[0].s);
		mpa_plot *p = mpa_plot_open(e->out, "sites",
					    faults ? "page faults by allocation site"
						   : "sampled misses by allocation site",
					    faults ? "page faults (events)" : "misses (events)", "",
					    MPA_PLOT_HBARS);
		uint64_t np = m < 15 ? m : 15;
		for (uint64_t i = 0; p && !rc && i < np; i++) {
			char label[4 * 40 + 1];
			if (v[i].stack)
				mpa_site_label(C->ctx, v[i].stack, 40, label, sizeof label);
			else
				snprintf(label, sizeof label, "%.40s", v[i].name);
			double y = (double)(faults ? v[i].s.events[MPA_CTR_PAGE_FAULT] : misses(&v[i].s));
			rc = mpa_plot_label(p, (double)(np - 1 - i), y, label);
		}
		if (p && mpa_plot_close(p) < 0)
			rc = -1;
		if (!p)
			rc = -1;
	}
	free(v);
	return rc;
}

static int off_cmp(const void *a, const void *b)
{
	const struct cline_off *x = *(const struct cline_off *const *)a,
			       *y = *(const struct cline_off *const *)b;
	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	if (x->k.a != y->k.a)
		return x->k.a < y->k.a ? -1 : 1;
	return x->k.b < y->k.b ? -1 : x->k.b > y->k.b;
}

static int emit_offsets(struct emit *e)
{
	struct cache *C = e->C;
	uint64_t n;
	void **v = ctab_list(&C->offs, &n);
	if (!v && C->offs.n)
		return -1;
	if (n)
		qsort(v, n, sizeof *v, off_cmp);
	if (n > (uint64_t)C->top)
		n = (uint64_t)C->top;
	mpa_table *t = mpa_table_begin(e->out, &off_table);
	int rc = t ? 0 : -1;
	for (uint64_t i = 0; !rc && i < n; i++) {
		const struct cline_off *o = v[i];
		unsigned ok = o->k.a & 0xff;
		char name[400];
		site_name(C, (uint32_t)(o->k.a >> 8), ok, 0, name, sizeof name);
		mpa_table_str(t, name);
		mpa_table_str(t, cache_owner_name[ok < OWN_N ? ok : 0]);
		mpa_table_u64(t, o->k.b * C->line);
		mpa_table_u64(t, o->samples);
		mpa_table_u64(t, o->events);
		rc = mpa_table_end_row(t);
	}
	free(v);
	if (t && mpa_table_close(t) < 0)
		rc = -1;
	return rc;
}

/* "false": CPUs wrote different words of the line; "true": the same
 * words; "hitm": modified lines were hit, one writer sampled. */
static const char *line_verdict(const struct cline *l)
{
	unsigned writers = l->ncpu + l->more_cpus;
	if (writers < 2)
		return "hitm";
	for (unsigned i = 0; i < l->ncpu; i++)
		for (unsigned j = i + 1; j < l->ncpu; j++)
			if (l->w[i].words & l->w[j].words)
				return "true_sharing";
	return l->more_cpus ? "true_sharing" : "false_sharing";
}

static int line_suspect(const struct cline *l)
{
	return l->ncpu + l->more_cpus >= 2 || l->hitm > 0;
}

static int fs_cmp(const void *a, const void *b)
{
	const struct cline *x = *(const struct cline *const *)a, *y = *(const struct cline *const *)b;
	if (x->hitm != y->hitm)
		return x->hitm > y->hitm ? -1 : 1;
	if (x->stores != y->stores)
		return x->stores > y->stores ? -1 : 1;
	if (x->k.a != y->k.a)
		return x->k.a < y->k.a ? -1 : 1;
	return x->k.b < y->k.b ? -1 : x->k.b > y->k.b;
}

static int emit_lines(struct emit *e)
{
	struct cache *C = e->C;
	uint64_t n, m = 0;
	void **v = ctab_list(&C->lines, &n);
	if (!v && C->lines.n)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (line_suspect(v[i]))
			v[m++] = v[i];
	if (m)
		qsort(v, m, sizeof *v, fs_cmp);
	e->suspects = m;
	if (m > (uint64_t)C->top)
		m = (uint64_t)C->top;
	mpa_table *t = mpa_table_begin(e->out, &fs_table);
	int rc = t ? 0 : -1;
	for (uint64_t i = 0; !rc && i < m; i++) {
		const struct cline *l = v[i];
		char a[32], name[400] = "";
		snprintf(a, sizeof a, "0x%" PRIx64, l->k.b);
		if (l->site_kind == OWN_HEAP || l->site_kind == OWN_KERNEL)
			site_name(C, l->site, l->site_kind, 0, name, sizeof name);
		mpa_table_i64(t, l->pid);
		mpa_table_str(t, a);
		mpa_table_str(t, line_verdict(l));
		mpa_table_u64(t, l->ncpu + l->more_cpus);
		mpa_table_u64(t, l->stores);
		mpa_table_u64(t, l->loads);
		mpa_table_u64(t, l->hitm);
		mpa_table_u64(t, l->hitm_remote);
		mpa_table_str(t, cache_owner_name[l->site_kind < OWN_N ? l->site_kind : 0]);
		mpa_table_str(t, name);
		mpa_table_u64(t, l->obj_offset);
		rc = mpa_table_end_row(t);
	}
	free(v);
	if (t && mpa_table_close(t) < 0)
		rc = -1;
	return rc;
}

static const char *how_name(unsigned how)
{
	switch (how) {
	case MPA_IMAGE_EXIT: return "live at its process's exit";
	case MPA_IMAGE_EXEC: return "live at its process's exec";
	default: return "live at the capture's end";
	}
}

static int emit_lookups(struct emit *e)
{
	struct cache *C = e->C;
	mpa_table *t = mpa_table_begin(e->out, &lk_table);
	int rc = t ? 0 : -1;
	for (size_t i = 0; !rc && i < C->nq; i++) {
		const struct cquery *q = &C->q[i];
		char a[32];
		snprintf(a, sizeof a, "0x%" PRIx64, q->addr);
		uint64_t qt = q->t == UINT64_MAX ? (C->last_ts ? C->last_ts : C->ctx->span_last) : q->t;
		for (unsigned k = 0; !rc && k < (q->nown ? q->nown : 1); k++) {
			mpa_table_str(t, q->text);
			mpa_table_str(t, a);
			mpa_table_u64(t, rel(C, q->nown ? q->own[k].at : qt));
			if (!q->nown) {
				mpa_table_str(t, "nothing");
				mpa_table_i64(t, 0);
				mpa_table_i64(t, 0);
				mpa_table_str(t, "");
				mpa_table_u64(t, 0);
				mpa_table_u64(t, 0);
				mpa_table_str(t, "");
				mpa_table_u64(t, 0);
				mpa_table_str(t, "");
				mpa_table_i64(t, -1);
				rc = mpa_table_end_row(t);
				break;
			}
			const struct qowner *w = &q->own[k];
			char base[32], name[400] = "", until[64] = "";
			int64_t until_ts = -1;
			snprintf(base, sizeof base, "0x%" PRIx64, w->base);
			if (w->kind == OWN_HEAP || w->kind == OWN_KERNEL || w->kind == OWN_MAP)
				site_name(C, w->stack, w->kind, w->ksite, name, sizeof name);
			else if (w->kind == OWN_STACK)
				snprintf(name, sizeof name, "stack of thread %d", (int)w->tid);
			if (w->kind == OWN_HEAP || w->kind == OWN_KERNEL) {
				if (w->ended == 1) {
					snprintf(until, sizeof until, "freed");
					until_ts = (int64_t)rel(C, w->free_ts);
				} else {
					snprintf(until, sizeof until, "%s", how_name(w->how));
					until_ts = (int64_t)rel(C, w->end_ts);
				}
			}
			mpa_table_str(t, cache_owner_name[w->kind]);
			mpa_table_i64(t, w->pid);
			mpa_table_i64(t, w->kind == OWN_STACK ? w->tid : 0);
			mpa_table_str(t, base);
			mpa_table_u64(t, w->size);
			mpa_table_u64(t, q->addr - w->base);
			mpa_table_str(t, name);
			mpa_table_u64(t, rel(C, w->ts));
			mpa_table_str(t, until);
			mpa_table_i64(t, until_ts);
			if (w->stack)
				mpa_table_json(t, "stack", mpa_site_stack_json(C->ctx, w->stack));
			rc = mpa_table_end_row(t);
		}
	}
	if (t && mpa_table_close(t) < 0)
		rc = -1;
	return rc;
}

int cache_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct cache *C = state;
	struct emit e = {.C = C, .out = out, .doc = mpa_out_json(out), .sum = mpa_out_summary(out)};
	uint64_t total = cache_total_samples(C);
	if (emit_counters(&e) < 0 || emit_groups(&e, &C->threads, 0) < 0 ||
	    emit_groups(&e, &C->funcs, 1) < 0 || emit_groups(&e, &C->sites, 2) < 0 || emit_latency(&e) < 0 ||
	    emit_dsrc(&e) < 0 || emit_offsets(&e) < 0 || emit_lines(&e) < 0 ||
	    emit_lookups(&e) < 0)
		goto fail;
	double h = cache_hit_ratio(&C->all);
	if (!isnan(h) && h < C->threshold) {
		char msg[256];
		snprintf(msg, sizeof msg, "sampled cache hit ratio %.3f is below the threshold %.3f", h,
			 C->threshold);
		struct mpa_alert al = {"cache_hit_ratio", MPA_SEV_WARNING, h, C->threshold, "fraction",
				       msg,
				       "the sampled misses point at the code and the allocation "
				       "sites whose objects miss: see cache_functions.csv and "
				       "cache_sites.csv"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	if (e.suspects) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "%" PRIu64 " cache lines written from several CPUs or hit modified (HITM)",
			 e.suspects);
		struct mpa_alert al = {"false_sharing", MPA_SEV_WARNING, (double)e.suspects, NAN,
				       "count", msg,
				       "pad or split the objects of cache_false_sharing.csv so that "
				       "data written by different threads sits on different lines"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	json_t *ratio = !isnan(h) ? json_pack("{s:o, s:o, s:f}", "references",
					     jint(C->all.events[MPA_CTR_CACHE_REF]), "misses",
					     jint(C->all.events[MPA_CTR_CACHE_MISS]), "hit_ratio", h)
				  : json_null();
	uint64_t addr = 0, attributed = 0, unattributed = 0;
	for (unsigned k = 0; k < NCTR; k++) {
		addr += C->with_addr[k];
		attributed += C->owned[k][OWN_HEAP] + C->owned[k][OWN_POOL] + C->owned[k][OWN_KERNEL];
		unattributed += C->owned[k][OWN_NONE] + C->owned[k][OWN_NOPROC];
	}
	const char *note = NULL;
	if (!total)
		note = "no cache_sample records in this capture (record with mpa-record --cache)";
	else if (!addr)
		note = "no sample carries a data address: nothing to attribute";
	json_t *att = json_pack("{s:o, s:o, s:o, s:o}", "samples_with_address", jint(addr),
				"in_heap_objects", jint(attributed), "unattributed",
				jint(unattributed), "fraction_in_heap_objects",
				addr ? json_real((double)attributed / (double)addr) : json_null());
	json_object_set_new(e.sum, "samples", jint(total));
	json_object_set_new(e.sum, "hit_ratio", json_incref(ratio));
	json_object_set_new(e.sum, "attribution", json_incref(att));
	json_object_set_new(e.sum, "top_site_by_misses",
			    e.top_miss_v ? json_string(e.top_miss) : json_null());
	json_object_set_new(e.sum, "top_site_by_faults",
			    e.top_fault_v ? json_string(e.top_fault) : json_null());
	json_object_set_new(e.sum, "false_sharing_suspects", jint(e.suspects));
	json_object_set_new(e.sum, "lookups", jint(C->nq));
	json_object_set_new(e.sum, "note", note ? json_string(note) : json_null());
	json_object_set_new(e.doc, "hit_ratio", ratio);
	json_object_set_new(e.doc, "attribution", att);
	json_object_set_new(e.doc, "note", note ? json_string(note) : json_null());
	json_object_set_new(e.doc, "cache_line", jint(C->line));
	json_object_set_new(e.doc, "lines_untracked_samples", jint(C->lines.refused));
	return 0;
fail:
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}

void cache_headline(void *state, char *line, size_t len)
{
	struct cache *C = state;
	uint64_t total = cache_total_samples(C);
	double h = cache_hit_ratio(&C->all);
	size_t l = 0;
	line[0] = 0;
	if (total && !isnan(h))
		l += (size_t)snprintf(line, len, "%" PRIu64 " samples; sampled hit ratio %.3f", total, h);
	else if (total)
		l += (size_t)snprintf(line, len, "%" PRIu64 " samples", total);
	else
		l += (size_t)snprintf(line, len, "no cache samples in this capture");
	for (size_t i = 0; i < C->nq && l + 1 < len; i++) {
		const struct cquery *q = &C->q[i];
		l += (size_t)snprintf(line + l, len - l, "%slookup %s: ", l ? "; " : "", q->text);
		if (l + 1 >= len)
			break;
		if (!q->nown) {
			l += (size_t)snprintf(line + l, len - l, "nothing");
			continue;
		}
		for (unsigned k = 0; k < q->nown && l + 1 < len; k++) {
			const struct qowner *w = &q->own[k];
			l += (size_t)snprintf(line + l, len - l,
					      "%s%s 0x%" PRIx64 "+%" PRIu64 " (%" PRIu64
					      " bytes, pid %d)",
					      k ? ", " : "", cache_owner_name[w->kind], w->base,
					      q->addr - w->base, w->size, (int)w->pid);
		}
	}
	if (l >= len)
		line[len - 1] = 0;
}
