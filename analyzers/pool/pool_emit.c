/* pool: tables, JSON, plots, summary and headline.  What a capture lacks
 * is said (null + a reason), never written as zeros.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

#define NO_POOLS "no pool events in this capture (the program does not use the mpa pool API, " \
		 "or it was built without MPA_POOL_ENABLE)"
#define NO_ALLOCS "no heap allocation of the program in this capture or selection"
#define NO_USABLE "the capture records no usable sizes (the stock LTTng libc wrapper does " \
		  "not; mpa-record's preload does)"
#define REPLAY_LIMITS                                                                        \
	"one heap per process (no per-thread caches or arenas); a run is returned as soon as " \
	"its last slot is freed (no retained dirty pages, no decay); a block takes the lowest " \
	"run of its class with a free slot; metadata (slab headers, page maps) is not counted; " \
	"glibc is a lower bound: its free chunks inside the arena are not modeled"

static const char *str_of(const struct pl_state *S, uint32_t id)
{
	const char *s = S->ctx->reader && id ? mpt_reader_string(S->ctx->reader, id, NULL) : NULL;
	return s ? s : "";
}

static uint64_t rel_ns(const struct pl_state *S, uint64_t ts)
{
	return ts > S->ctx->span_first ? ts - S->ctx->span_first : 0;
}

static json_t *u64_json(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v);
}

static const char *end_name(uint8_t how)
{
	switch (how) {
	case PL_END_DESTROYED:
		return "destroyed";
	case PL_END_RECREATED:
		return "recreated";
	case PL_END_IMAGE:
		return "process_end";
	default:
		return "running";
	}
}

static uint64_t ceil_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 1.8e19)
		return UINT64_MAX;
	uint64_t r = (uint64_t)v;
	return (double)r < v ? r + 1 : r;
}

/* ---- pools ---------------------------------------------------------------- */

static const struct mpa_col pool_cols[] = {
	{"pid", MPA_COL_I64, ""},
	{"image", MPA_COL_U64, ""},
	{"pool_id", MPA_COL_U64, ""},
	{"name", MPA_COL_STR, ""},
	{"object_size", MPA_COL_U64, "bytes"},
	{"capacity", MPA_COL_U64, "objects"},
	{"created_ns", MPA_COL_U64, "ns"},
	{"ended_ns", MPA_COL_U64, "ns"},
	{"end", MPA_COL_STR, ""},
	{"allocs", MPA_COL_U64, "count"},
	{"frees", MPA_COL_U64, "count"},
	{"high_water", MPA_COL_U64, "objects"},
	{"mean_in_use", MPA_COL_F64, "objects"},
	{"in_use_quantile", MPA_COL_U64, "objects"},
	{"capacity_use", MPA_COL_F64, "fraction"},
	{"time_at_capacity_ns", MPA_COL_U64, "ns"},
	{"time_at_capacity_fraction", MPA_COL_F64, "fraction"},
	{"alloc_rate", MPA_COL_F64, "per_s"},
	{"free_rate", MPA_COL_F64, "per_s"},
	{"never_returned", MPA_COL_U64, "objects"},
	{"oversize_objects", MPA_COL_U64, "count"},
	{"over_capacity_allocs", MPA_COL_U64, "count"},
	{"recommended_capacity", MPA_COL_U64, "objects"},
	{"reasoning", MPA_COL_STR, ""},
};
static const struct mpa_table_decl pools_table = {"pools", "pools", pool_cols,
						  MPA_NCOLS(pool_cols)};

static const struct mpa_col series_cols[] = {
	{"image", MPA_COL_U64, ""},
	{"pool_id", MPA_COL_U64, ""},
	{"start_ns", MPA_COL_U64, "ns"},
	{"in_use_max", MPA_COL_U64, "objects"},
};
static const struct mpa_table_decl series_table = {"in_use", NULL, series_cols,
						   MPA_NCOLS(series_cols)};

static uint64_t bucket_start(const struct pl_state *S, uint64_t b)
{
	unsigned __int128 span = S->ctx->span_last > S->ctx->span_first
					 ? (unsigned __int128)(S->ctx->span_last - S->ctx->span_first) + 1
					 : 1;
	return (uint64_t)(span * b / S->points);
}

/* The capacity advice for p and its reasoning. */
static uint64_t advise(const struct pl_state *S, const struct pl_pool *p, uint64_t *q, char *why,
		       size_t len)
{
	uint64_t life = p->t_end - p->t_create;
	*q = p->quant;
	uint64_t rec = ceil_u64((double)*q * (1.0 + S->headroom));
	if (!rec)
		rec = 1;
	int n = snprintf(why, len,
			 "in use <= %" PRIu64 " objects for %.4g %% of its %.6g s life "
			 "(high water %" PRIu64 "); + %.4g %% headroom -> %" PRIu64,
			 *q, S->quantile * 100, (double)life / 1e9, p->hwm, S->headroom * 100, rec);
	if (n < 0 || (size_t)n >= len)
		return rec;
	if (!p->allocs)
		snprintf(why + n, len - (size_t)n, "; no object was ever taken: the pool is unused");
	else if (!p->capacity)
		snprintf(why + n, len - (size_t)n, "; no declared capacity to compare");
	else if (rec < p->capacity)
		snprintf(why + n, len - (size_t)n,
			 "; the declared capacity %" PRIu64 " is %.3gx that: %" PRIu64
			 " objects x %" PRIu64 " bytes could be saved",
			 p->capacity, (double)p->capacity / (double)rec, p->capacity - rec, p->obj_size);
	else if (rec > p->capacity)
		snprintf(why + n, len - (size_t)n,
			 "; the declared capacity %" PRIu64 " is below it: the pool was full %.4g %% "
			 "of its life",
			 p->capacity, life ? 100.0 * (double)p->at_cap_ns / (double)life : 0.0);
	else
		snprintf(why + n, len - (size_t)n, "; the declared capacity %" PRIu64 " fits",
			 p->capacity);
	return rec;
}

static int emit_pools(struct pl_state *S, mpa_out *out, json_t *doc, json_t *sum)
{
	if (!S->npools && !S->pool_rows) {
		json_object_set_new(doc, "pools", json_null());
		json_object_set_new(doc, "pools_reason", json_string(NO_POOLS));
		json_object_set_new(doc, "anomalies", json_null());
		json_object_set_new(sum, "pools", json_null());
		json_object_set_new(sum, "pools_reason", json_string(NO_POOLS));
		json_object_set_new(sum, "pool_anomalies", json_null());
		return 0;
	}
	mpa_table *t = mpa_table_begin(out, &pools_table);
	if (!t)
		return -1;
	uint64_t never = 0, hwm_sum = 0;
	for (uint32_t i = 0; i < S->npools; i++) {
		const struct pl_pool *p = &S->pools[i];
		uint64_t life = p->t_end - p->t_create, q;
		char why[512];
		uint64_t rec = advise(S, p, &q, why, sizeof why);
		double secs = (double)life / 1e9;
		never += p->never_returned;
		hwm_sum += p->hwm;
		mpa_table_i64(t, p->pid);
		mpa_table_u64(t, p->img);
		mpa_table_u64(t, p->id);
		mpa_table_str(t, str_of(S, p->name));
		mpa_table_u64(t, p->obj_size);
		mpa_table_u64(t, p->capacity);
		mpa_table_u64(t, rel_ns(S, p->t_create));
		mpa_table_u64(t, rel_ns(S, p->t_end));
		mpa_table_str(t, end_name(p->how));
		mpa_table_u64(t, p->allocs);
		mpa_table_u64(t, p->frees);
		mpa_table_u64(t, p->hwm);
		mpa_table_f64(t, life ? p->integral / (double)life : NAN);
		mpa_table_u64(t, q);
		mpa_table_f64(t, p->capacity ? (double)p->hwm / (double)p->capacity : NAN);
		mpa_table_u64(t, p->at_cap_ns);
		mpa_table_f64(t, life && p->capacity ? (double)p->at_cap_ns / (double)life : NAN);
		mpa_table_f64(t, life ? (double)p->allocs / secs : NAN);
		mpa_table_f64(t, life ? (double)p->frees / secs : NAN);
		mpa_table_u64(t, p->never_returned);
		mpa_table_u64(t, p->oversize);
		mpa_table_u64(t, p->over_capacity);
		mpa_table_u64(t, rec);
		mpa_table_str(t, why);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0)
		return -1;
	t = mpa_table_begin(out, &series_table);
	if (!t)
		return -1;
	for (uint32_t i = 0; i < S->npools; i++) {
		const struct pl_pool *p = &S->pools[i];
		for (uint64_t b = p->series_first; p->series && b <= p->series_last; b++) {
			mpa_table_u64(t, p->img);
			mpa_table_u64(t, p->id);
			mpa_table_u64(t, bucket_start(S, b));
			mpa_table_u64(t, p->series[b]);
			if (mpa_table_end_row(t) < 0)
				goto fail;
		}
	}
	if (mpa_table_close(t) < 0)
		return -1;
	t = NULL;
	mpa_plot *pl = mpa_plot_open(out, "in_use", "Objects in use per pool", "time (s)",
				     "objects in use", MPA_PLOT_STEPS);
	if (!pl)
		return -1;
	for (uint32_t i = 0; i < S->npools && i < 8; i++) {
		const struct pl_pool *p = &S->pools[i];
		char lab[160];
		snprintf(lab, sizeof lab, "%s (pid %" PRId32 ", id %" PRIu32 ")", str_of(S, p->name),
			 p->pid, p->id);
		if (mpa_plot_series(pl, lab) < 0)
			goto pfail;
		for (uint64_t b = p->series_first; p->series && b <= p->series_last; b++)
			if (mpa_plot_point(pl, (double)bucket_start(S, b) / 1e9, (double)p->series[b]) < 0)
				goto pfail;
	}
	if (mpa_plot_close(pl) < 0)
		return -1;
	json_t *an = json_object();
	uint64_t tot = 0;
	for (unsigned a = 0; a < PL_AN_COUNT_; a++) {
		json_object_set_new(an, mpa_pl_anom_name[a], json_integer((json_int_t)S->anom[a]));
		tot += S->anom[a];
	}
	json_object_set_new(an, "total", json_integer((json_int_t)tot));
	json_object_set_new(doc, "anomalies", an);
	json_object_set_new(sum, "pools", json_integer((json_int_t)S->npools));
	json_object_set_new(sum, "pool_anomalies", json_integer((json_int_t)tot));
	json_object_set_new(sum, "pool_objects_never_returned", json_integer((json_int_t)never));
	return 0;
pfail:
	mpa_plot_close(pl);
	return -1;
fail:
	mpa_table_close(t);
	return -1;
}

/* ---- size classes ------------------------------------------------------------ */

static const struct mpa_col size_cols[] = {
	{"size", MPA_COL_U64, "bytes"},
	{"count", MPA_COL_U64, "count"},
	{"requested_bytes", MPA_COL_U64, "bytes"},
	{"glibc_slot", MPA_COL_U64, "bytes"},
	{"jemalloc_slot", MPA_COL_U64, "bytes"},
	{"tcmalloc_slot", MPA_COL_U64, "bytes"},
	{"mimalloc_slot", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl sizes_table = {"sizes", "sizes", size_cols,
						  MPA_NCOLS(size_cols)};

static const struct mpa_col hist_cols[] = {
	{"from", MPA_COL_U64, "bytes"},
	{"to", MPA_COL_U64, "bytes"},
	{"count", MPA_COL_U64, "count"},
	{"requested_bytes", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl hist_table = {"size_histogram", "size_histogram", hist_cols,
						 MPA_NCOLS(hist_cols)};

static const struct mpa_col alloc_cols[] = {
	{"allocator", MPA_COL_STR, ""},
	{"source", MPA_COL_STR, ""},
	{"requested_bytes", MPA_COL_U64, "bytes"},
	{"slot_bytes", MPA_COL_U64, "bytes"},
	{"waste_bytes", MPA_COL_U64, "bytes"},
	{"waste_fraction", MPA_COL_F64, "fraction"},
	{"replay_peak_footprint", MPA_COL_U64, "bytes"},
	{"replay_requested_at_peak", MPA_COL_U64, "bytes"},
	{"replay_slots_at_peak", MPA_COL_U64, "bytes"},
	{"replay_external_at_peak", MPA_COL_F64, "bytes"},
	{"replay_external_fraction", MPA_COL_F64, "fraction"},
};
static const struct mpa_table_decl alloc_table = {"allocators", "allocators", alloc_cols,
						  MPA_NCOLS(alloc_cols)};

static const struct mpa_col site_cols[] = {
	{"site", MPA_COL_STR, ""},
	{"stack_id", MPA_COL_U64, ""},
	{"allocs", MPA_COL_U64, "count"},
	{"requested_bytes", MPA_COL_U64, "bytes"},
	{"glibc_waste", MPA_COL_U64, "bytes"},
	{"jemalloc_waste", MPA_COL_U64, "bytes"},
	{"tcmalloc_waste", MPA_COL_U64, "bytes"},
	{"mimalloc_waste", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl site_table = {"site_waste", "site_waste", site_cols,
						 MPA_NCOLS(site_cols)};

static int by_count(const void *a, const void *b)
{
	const struct pl_size *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

static const struct pl_site *g_sites; /* qsort context (emit runs on one thread) */

static int by_waste(const void *a, const void *b)
{
	const struct pl_site *x = &g_sites[*(const uint32_t *)a], *y = &g_sites[*(const uint32_t *)b];
	uint64_t wx = x->slot[PL_GLIBC] - x->bytes, wy = y->slot[PL_GLIBC] - y->bytes;
	if (wx != wy)
		return wx > wy ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static json_t *u128_json(unsigned __int128 v)
{
	return v > (unsigned __int128)INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v);
}

static int emit_sizes(struct pl_state *S, mpa_out *out, json_t *doc, json_t *sum)
{
	if (!S->allocs) {
		const char *keys[] = {"sizes", "size_histogram", "allocators", "site_waste",
				      "optimal_classes", "replay"};
		for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++)
			json_object_set_new(doc, keys[i], json_null());
		json_object_set_new(doc, "size_classes_reason", json_string(NO_ALLOCS));
		json_object_set_new(sum, "size_classes", json_null());
		json_object_set_new(sum, "size_classes_reason", json_string(NO_ALLOCS));
		return 0;
	}
	/* the most frequent sizes */
	struct pl_size *top = malloc(S->nsizes * sizeof *top);
	if (!top)
		return -1;
	memcpy(top, S->sizes, S->nsizes * sizeof *top);
	qsort(top, S->nsizes, sizeof *top, by_count);
	mpa_table *t = mpa_table_begin(out, &sizes_table);
	if (!t) {
		free(top);
		return -1;
	}
	for (uint32_t i = 0; i < S->nsizes && i < S->top_n; i++) {
		mpa_table_u64(t, top[i].size);
		mpa_table_u64(t, top[i].count);
		mpa_table_u64(t, top[i].size * top[i].count);
		for (unsigned a = 0; a < PL_NALLOC; a++) {
			uint32_t cls;
			mpa_table_u64(t, mpa_pl_slot(&S->t, a, top[i].size, PL_GLIBC_MMAP_THRESHOLD, &cls));
		}
		if (mpa_table_end_row(t) < 0) {
			free(top);
			goto fail;
		}
	}
	free(top);
	if (mpa_table_close(t) < 0)
		return -1;
	/* power-of-two histogram: [0,0], [1,1], [2,3], [4,7] ... */
	uint64_t hc[65] = {0}, hb[65] = {0};
	for (uint32_t i = 0; i < S->nsizes; i++) {
		uint64_t s = S->sizes[i].size;
		unsigned k = s ? 64 - (unsigned)__builtin_clzll(s) : 0;
		hc[k] += S->sizes[i].count;
		hb[k] += s * S->sizes[i].count;
	}
	t = mpa_table_begin(out, &hist_table);
	if (!t)
		return -1;
	mpa_plot *pl = mpa_plot_open(out, "sizes", "Requested sizes", "size (bytes, power-of-two bins)",
				     "allocations", MPA_PLOT_BOXES);
	if (!pl)
		goto fail;
	if (mpa_plot_series(pl, "allocations") < 0)
		goto pfail;
	for (unsigned k = 0; k < 65; k++) {
		if (!hc[k])
			continue;
		uint64_t lo = k ? UINT64_C(1) << (k - 1) : 0;
		uint64_t hi = k ? (k == 64 ? UINT64_MAX : (UINT64_C(1) << k) - 1) : 0;
		mpa_table_u64(t, lo);
		mpa_table_u64(t, hi);
		mpa_table_u64(t, hc[k]);
		mpa_table_u64(t, hb[k]);
		if (mpa_table_end_row(t) < 0)
			goto pfail;
		char lab[48];
		snprintf(lab, sizeof lab, "%" PRIu64, lo);
		if (mpa_plot_label(pl, (double)k, (double)hc[k], lab) < 0)
			goto pfail;
	}
	if (mpa_plot_close(pl) < 0)
		goto fail;
	if (mpa_table_close(t) < 0)
		return -1;
	/* allocators: waste and replay */
	t = mpa_table_begin(out, &alloc_table);
	if (!t)
		return -1;
	const struct pl_replay *r = &S->r;
	json_t *jw = json_object();
	for (unsigned a = 0; a < PL_NALLOC; a++) {
		uint64_t w = S->slot[a] - S->bytes;
		double ext = a == PL_GLIBC ? NAN : (double)(r->peak[a] - r->peak_slot[a]);
		mpa_table_str(t, mpa_pl_alloc_name[a]);
		mpa_table_str(t, mpa_pl_alloc_source[a]);
		mpa_table_u64(t, S->bytes);
		mpa_table_u64(t, S->slot[a]);
		mpa_table_u64(t, w);
		mpa_table_f64(t, S->slot[a] ? (double)w / (double)S->slot[a] : NAN);
		mpa_table_u64(t, r->peak[a]);
		mpa_table_u64(t, r->peak_req[a]);
		mpa_table_u64(t, r->peak_slot[a]);
		mpa_table_f64(t, ext);
		mpa_table_f64(t, r->peak[a] ? ext / (double)r->peak[a] : NAN);
		if (mpa_table_end_row(t) < 0)
			goto fail;
		json_object_set_new(jw, mpa_pl_alloc_name[a],
				    json_real(S->slot[a] ? (double)w / (double)S->slot[a] : 0));
	}
	if (mpa_table_close(t) < 0) {
		json_decref(jw);
		return -1;
	}
	/* optimal classes */
	json_t *cl = json_array();
	for (uint32_t i = 0; i < S->nopt; i++)
		json_array_append_new(cl, json_integer((json_int_t)S->opt[i]));
	double ow = (double)S->opt_waste;
	json_object_set_new(doc, "optimal_classes",
			    json_pack("{s:I, s:I, s:o, s:o, s:f, s:I}", "k", (json_int_t)S->k,
				      "alignment", (json_int_t)S->opt_align, "classes", cl, "waste_bytes",
				      u128_json(S->opt_waste), "waste_fraction",
				      ow / ((double)S->bytes + ow > 0 ? (double)S->bytes + ow : 1),
				      "distinct_sizes", (json_int_t)S->nsizes));
	json_object_set_new(jw, "optimal", json_real(ow / ((double)S->bytes + ow > 0
								    ? (double)S->bytes + ow : 1)));
	/* the replay */
	json_t *rp = json_object();
	unsigned best = PL_GLIBC;
	for (unsigned a = 0; a < PL_NALLOC; a++) {
		json_t *o = json_pack("{s:o, s:o, s:o, s:o}", "peak_footprint_bytes",
				      u64_json(r->peak[a]), "requested_at_peak",
				      u64_json(r->peak_req[a]), "slots_at_peak",
				      u64_json(r->peak_slot[a]), "peak_ns",
				      u64_json(rel_ns(S, r->peak_ts[a])));
		if (a == PL_GLIBC) {
			json_object_set_new(o, "external_fragmentation", json_null());
			json_object_set_new(o, "external_fragmentation_reason",
					    json_string("glibc's arena (free chunks between live ones) "
							"is not modeled: the footprint is its live "
							"chunks, a lower bound; --frag measures the "
							"recorded heap"));
		} else {
			json_object_set_new(o, "external_fragmentation",
					    json_real(r->peak[a] ? (double)(r->peak[a] - r->peak_slot[a]) /
									  (double)r->peak[a]
								 : 0));
			if (best == PL_GLIBC || r->peak[a] < r->peak[best])
				best = a;
		}
		json_object_set_new(rp, mpa_pl_alloc_name[a], o);
	}
	json_object_set_new(rp, "limits", json_string(REPLAY_LIMITS));
	json_object_set_new(rp, "smallest_slab_model", json_string(mpa_pl_alloc_name[best]));
	json_object_set_new(doc, "replay", rp);
	/* per site */
	uint32_t *ix = malloc((S->nsites ? S->nsites : 1) * sizeof *ix);
	if (!ix) {
		json_decref(jw);
		return -1;
	}
	for (uint32_t i = 0; i < S->nsites; i++)
		ix[i] = i;
	g_sites = S->sites;
	qsort(ix, S->nsites, sizeof *ix, by_waste);
	t = mpa_table_begin(out, &site_table);
	if (!t) {
		free(ix);
		json_decref(jw);
		return -1;
	}
	for (uint32_t k = 0; k < S->nsites && k < S->top_n; k++) {
		const struct pl_site *s = &S->sites[ix[k]];
		if (!s->allocs)
			continue;
		char site[512];
		mpa_site_name(S->ctx, s->stack, site, sizeof site);
		mpa_table_str(t, site);
		mpa_table_u64(t, s->stack);
		mpa_table_u64(t, s->allocs);
		mpa_table_u64(t, s->bytes);
		for (unsigned a = 0; a < PL_NALLOC; a++)
			mpa_table_u64(t, s->slot[a] - s->bytes);
		if (mpa_table_end_row(t) < 0) {
			free(ix);
			json_decref(jw);
			goto fail;
		}
	}
	free(ix);
	if (mpa_table_close(t) < 0) {
		json_decref(jw);
		return -1;
	}
	/* one plot: each allocator's waste, the optimal classes' waste, and
	 * each allocator's replay peak footprint (all bytes) */
	pl = mpa_plot_open(out, "allocators", "Size-class waste and replay peak footprint", "bytes",
			   "", MPA_PLOT_HBARS);
	if (!pl || mpa_plot_series(pl, "") < 0) {
		json_decref(jw);
		goto pfail;
	}
	char lab[64];
	int prc = 0;
	for (unsigned a = 0; a < PL_NALLOC && !prc; a++) {
		snprintf(lab, sizeof lab, "waste: %s", mpa_pl_alloc_name[a]);
		prc = mpa_plot_label(pl, (double)a, (double)(S->slot[a] - S->bytes), lab);
	}
	snprintf(lab, sizeof lab, "waste: optimal %" PRIu32 " classes", S->k);
	if (!prc)
		prc = mpa_plot_label(pl, PL_NALLOC, ow, lab);
	for (unsigned a = 0; a < PL_NALLOC && !prc; a++) {
		snprintf(lab, sizeof lab, "peak footprint: %s", mpa_pl_alloc_name[a]);
		prc = mpa_plot_label(pl, (double)(PL_NALLOC + 1 + a), (double)r->peak[a], lab);
	}
	if (prc < 0) {
		json_decref(jw);
		goto pfail;
	}
	if (mpa_plot_close(pl) < 0) {
		json_decref(jw);
		return -1;
	}
	json_object_set_new(sum, "allocations", json_integer((json_int_t)S->allocs));
	json_object_set_new(sum, "distinct_sizes", json_integer((json_int_t)S->nsizes));
	json_object_set_new(sum, "waste_fraction", jw);
	json_object_set_new(sum, "smallest_replay_footprint", json_string(mpa_pl_alloc_name[best]));
	return 0;
pfail:
	if (pl)
		mpa_plot_close(pl);
fail:
	if (t)
		mpa_table_close(t);
	return -1;
}

/* ---- self-check ------------------------------------------------------------------ */

static const char *api_name(unsigned a)
{
	static const char *const n[] = {"unknown", "malloc", "calloc", "realloc", "reallocarray",
					"memalign", "posix_memalign", "aligned_alloc", "valloc",
					"pvalloc", "new", "new[]"};
	return a < sizeof n / sizeof *n ? n[a] : "other";
}

static void emit_self_check(struct pl_state *S, json_t *doc, json_t *sum)
{
	const struct pl_replay *r = &S->r;
	if (!r->chk_n) {
		json_object_set_new(doc, "self_check", json_null());
		json_object_set_new(doc, "self_check_reason",
				    json_string(S->allocs ? NO_USABLE : NO_ALLOCS));
		json_object_set_new(sum, "self_check_fraction", json_null());
		return;
	}
	double f = (double)r->chk_ok / (double)r->chk_n;
	json_t *by = json_object();
	for (unsigned a = 0; a < MPA_API_COUNT_; a++)
		if (r->chk_api_n[a]) {
			json_t *o = json_pack("{s:I, s:I}", "checked", (json_int_t)r->chk_api_n[a],
					      "matched", (json_int_t)r->chk_api_ok[a]);
			json_t *prev = json_object_get(by, api_name(a));
			if (prev) { /* "other" apis share a key */
				json_object_set_new(prev, "checked",
						    json_integer(json_integer_value(json_object_get(
									 prev, "checked")) +
								 (json_int_t)r->chk_api_n[a]));
				json_object_set_new(prev, "matched",
						    json_integer(json_integer_value(json_object_get(
									 prev, "matched")) +
								 (json_int_t)r->chk_api_ok[a]));
				json_decref(o);
			} else {
				json_object_set_new(by, api_name(a), o);
			}
		}
	json_t *mis = json_array();
	for (uint32_t i = 0; i < r->nmis; i++)
		json_array_append_new(mis, json_pack("{s:I, s:I, s:I, s:s}", "size",
						     (json_int_t)r->mis[i].size, "recorded_usable",
						     (json_int_t)r->mis[i].recorded, "modeled_usable",
						     (json_int_t)r->mis[i].modeled, "api",
						     api_name(r->mis[i].api)));
	json_object_set_new(doc, "self_check",
			    json_pack("{s:s, s:I, s:I, s:f, s:f, s:b, s:o, s:o, s:I}", "model", "glibc",
				      "checked", (json_int_t)r->chk_n, "matched",
				      (json_int_t)r->chk_ok, "fraction", f, "required", 0.999,
				      "passed", f >= 0.999, "by_api", by, "mismatches", mis,
				      "without_usable_size", (json_int_t)S->usable_unknown));
	json_object_set_new(sum, "self_check_fraction", json_real(f));
}

/* ---- pooling candidates -------------------------------------------------------------- */

static const struct mpa_col cand_cols[] = {
	{"site", MPA_COL_STR, ""},
	{"stack_id", MPA_COL_U64, ""},
	{"size", MPA_COL_U64, "bytes"},
	{"allocs", MPA_COL_U64, "count"},
	{"same_size_fraction", MPA_COL_F64, "fraction"},
	{"rate", MPA_COL_F64, "per_s"},
	{"lifetime_p50_ns", MPA_COL_U64, "ns"},
	{"lifetime_p90_ns", MPA_COL_U64, "ns"},
	{"lifetime_p99_ns", MPA_COL_U64, "ns"},
	{"peak_concurrent", MPA_COL_U64, "objects"},
	{"calls_saved", MPA_COL_U64, "count"},
	{"bytes_saved_at_peak", MPA_COL_U64, "bytes"},
	{"advice", MPA_COL_STR, ""},
};
static const struct mpa_table_decl cand_table = {"candidates", "candidates", cand_cols,
						 MPA_NCOLS(cand_cols)};

struct cand {
	uint32_t site;
	uint64_t size, same, p50, p90, p99, saved_calls, saved_bytes;
};

static uint64_t life_q(const struct pl_site *s, double p)
{
	uint64_t tot = 0, acc = 0;
	for (uint32_t b = 0; b < PL_HBUCKETS; b++)
		tot += s->life[b];
	long double need = (long double)p * (long double)tot;
	uint64_t v = s->life_max;
	for (uint32_t b = 0; b < PL_HBUCKETS; b++) {
		acc += s->life[b];
		if (s->life[b] && (long double)acc >= need) {
			v = mpa_pl_hbucket_hi(b);
			break;
		}
	}
	if (v > s->life_max)
		v = s->life_max;
	if (v < s->life_min)
		v = s->life_min;
	return v;
}

static int by_saved(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->saved_calls != y->saved_calls)
		return x->saved_calls > y->saved_calls ? -1 : 1;
	return g_sites[x->site].stack < g_sites[y->site].stack ? -1 : 1;
}

static int emit_candidates(struct pl_state *S, mpa_out *out, json_t *sum)
{
	struct cand *c = malloc((S->nsites ? S->nsites : 1) * sizeof *c);
	if (!c)
		return -1;
	uint32_t n = 0;
	for (uint32_t i = 0; i < S->nsites; i++) {
		const struct pl_site *s = &S->sites[i];
		if (s->allocs < S->min_calls || !s->frees || !s->life)
			continue;
		unsigned j = 0;
		for (unsigned x = 1; x < PL_MG; x++)
			if (s->mg_cnt[x] > s->mg_cnt[j] ||
			    (s->mg_cnt[x] == s->mg_cnt[j] && s->mg_size[x] < s->mg_size[j]))
				j = x;
		if ((double)s->mg_cnt[j] < S->same_frac * (double)s->allocs)
			continue;
		uint64_t p50 = life_q(s, 0.5);
		if ((double)p50 >= S->short_ns)
			continue;
		struct cand *k = &c[n++];
		k->site = i;
		k->size = s->mg_size[j];
		k->same = s->mg_cnt[j];
		k->p50 = p50;
		k->p90 = life_q(s, 0.9);
		k->p99 = life_q(s, 0.99);
		k->saved_calls = 2 * (s->allocs - (s->peak_live < s->allocs ? s->peak_live : s->allocs));
		uint64_t chunk = mpa_pl_glibc_chunk(k->size);
		uint64_t obj = (k->size + S->align - 1) & ~(S->align - 1);
		k->saved_bytes = chunk > obj ? s->peak_live * (chunk - obj) : 0;
	}
	g_sites = S->sites;
	qsort(c, n, sizeof *c, by_saved);
	mpa_table *t = mpa_table_begin(out, &cand_table);
	if (!t) {
		free(c);
		return -1;
	}
	for (uint32_t i = 0; i < n && i < S->top_n; i++) {
		const struct cand *k = &c[i];
		const struct pl_site *s = &S->sites[k->site];
		char site[512], adv[768];
		mpa_site_name(S->ctx, s->stack, site, sizeof site);
		double span = (double)(s->last_ts - s->first_ts) / 1e9;
		snprintf(adv, sizeof adv,
			 "a pool of %" PRIu64 " objects of %" PRIu64 " bytes would serve these %" PRIu64
			 " allocations with %" PRIu64 " calls to malloc and free instead of %" PRIu64,
			 s->peak_live, k->size, s->allocs, 2 * s->allocs - k->saved_calls,
			 2 * s->allocs);
		mpa_table_str(t, site);
		mpa_table_u64(t, s->stack);
		mpa_table_u64(t, k->size);
		mpa_table_u64(t, s->allocs);
		mpa_table_f64(t, (double)k->same / (double)s->allocs);
		mpa_table_f64(t, span > 0 ? (double)s->allocs / span : NAN);
		mpa_table_u64(t, k->p50);
		mpa_table_u64(t, k->p90);
		mpa_table_u64(t, k->p99);
		mpa_table_u64(t, s->peak_live);
		mpa_table_u64(t, k->saved_calls);
		mpa_table_u64(t, k->saved_bytes);
		mpa_table_str(t, adv);
		if (mpa_table_end_row(t) < 0) {
			mpa_table_close(t);
			free(c);
			return -1;
		}
	}
	free(c);
	json_object_set_new(sum, "pooling_candidates", json_integer((json_int_t)n));
	return mpa_table_close(t);
}

int mpa_pl_emit(struct pl_state *S, mpa_out *out, char *err, size_t errlen)
{
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	if (emit_pools(S, out, doc, sum) < 0 || emit_sizes(S, out, doc, sum) < 0)
		goto fail;
	emit_self_check(S, doc, sum);
	if (S->allocs && emit_candidates(S, out, sum) < 0)
		goto fail;
	if (!S->allocs)
		json_object_set_new(sum, "pooling_candidates", json_null());
	return 0;
fail:
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}

void mpa_pl_headline(struct pl_state *S, char *line, size_t len)
{
	char a[160] = "", b[200] = "", c[96] = "";
	if (S->npools || S->pool_rows) {
		uint64_t tot = 0;
		for (unsigned k = 0; k < PL_AN_COUNT_; k++)
			tot += S->anom[k];
		snprintf(a, sizeof a, "%" PRIu32 " pools, %" PRIu64 " pool anomalies; ", S->npools,
			 tot);
	}
	if (S->allocs) {
		double w[PL_NALLOC];
		for (unsigned k = 0; k < PL_NALLOC; k++)
			w[k] = S->slot[k] ? 100.0 * (double)(S->slot[k] - S->bytes) / (double)S->slot[k] : 0;
		snprintf(b, sizeof b,
			 "class waste glibc %.1f %%, jemalloc %.1f %%, tcmalloc %.1f %%, mimalloc "
			 "%.1f %%",
			 w[0], w[1], w[2], w[3]);
	}
	if (S->r.chk_n)
		snprintf(c, sizeof c, "; glibc model matches %.2f %% of usable sizes",
			 100.0 * (double)S->r.chk_ok / (double)S->r.chk_n);
	snprintf(line, len, "%s%s%s", a, b, c);
}
