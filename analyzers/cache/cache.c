/* The cache analyzer: sampled hardware/software counters (cache_sample
 * records from perf samples or LTTng perf contexts) per counter, thread,
 * function and allocation site; hit ratios; the latency distribution; data
 * sources; false-sharing suspects; each sample's address joined to the heap
 * object live there (cache_attr.c); and --lookup ADDR[@T].  Metrics:
 * doc/analyzers-cache.md.
 */
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

static const struct mpa_option cache_options[] = {
	{"alerts", "cache_hit_ratio_threshold", MPA_OPT_FLOAT, "0.9",
	 "alert when a sampled cache hit ratio is below this (fraction 0..1)"},
	{"cache", "top", MPA_OPT_INT, "50",
	 "rows of the ranked tables (functions, sites, lines, offsets; count)"},
	{"cache", "max_lines", MPA_OPT_INT, "65536",
	 "cache lines tracked for false sharing (count; samples on more are counted apart)"},
	{"cache", "lookup", MPA_OPT_STRING, "\"\"",
	 "addresses to look up, comma-separated ADDR[@T] (T: 1.5s, 200ms, @NS; default: the end)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

static const struct mpa_cli_flag cache_flags[] = {
	{"lookup", "ADDR[@T]...",  "cache", "lookup",
	 "what owned ADDR at time T (default: the end): block, mapping, stack (repeatable)"},
	{NULL, NULL, NULL, NULL, NULL}
};

static void cache_release(void *state);

static int cache_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct cache *C = calloc(1, sizeof *C);
	if (!C) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	C->ctx = ctx;
	C->threshold = 0.9;
	C->top = 50;
	int64_t max_lines = 65536;
	if (ctx->config) {
		C->threshold = mpa_config_float(ctx->config, "alerts", "cache_hit_ratio_threshold");
		C->top = mpa_config_int(ctx->config, "cache", "top");
		max_lines = mpa_config_int(ctx->config, "cache", "max_lines");
		C->lookup_text = mpa_config_string(ctx->config, "cache", "lookup");
	}
	if (!(C->threshold >= 0 && C->threshold <= 1)) {
		mpa_errf(err, errlen, "[alerts] cache_hit_ratio_threshold must be between 0 and 1");
		goto fail;
	}
	if (C->top < 1 || C->top > 1000000) {
		mpa_errf(err, errlen, "[cache] top must be between 1 and 1000000");
		goto fail;
	}
	if (max_lines < 1 || max_lines > (INT64_C(1) << 26)) {
		mpa_errf(err, errlen, "[cache] max_lines must be between 1 and 67108864");
		goto fail;
	}
	const struct mpt_topology *topo = ctx->reader ? mpt_reader_topology(ctx->reader) : NULL;
	C->line = topo && topo->cache_line >= 8 && topo->cache_line <= 4096 &&
			  !(topo->cache_line & (topo->cache_line - 1))
		  ? topo->cache_line : 64;
	C->page = topo && topo->page_size >= 512 && !(topo->page_size & (topo->page_size - 1))
		  ? topo->page_size : 4096;
	ctab_init(&C->threads, sizeof(struct cgroup), 0);
	ctab_init(&C->funcs, sizeof(struct cgroup), 0);
	ctab_init(&C->sites, sizeof(struct cgroup), 0);
	ctab_init(&C->allocs, sizeof(struct calloc_site), 0);
	ctab_init(&C->offs, sizeof(struct cline_off), 0);
	ctab_init(&C->lines, sizeof(struct cline), (uint64_t)max_lines);
	ctab_init(&C->dsrcs, sizeof(struct cdsrc_row), 0);
	ctab_init(&C->imgs, sizeof(struct cimg), 0);
	for (unsigned k = 0; k < NCTR; k++)
		C->wmin[k] = UINT64_MAX;
	/* without a file (tests, live), assume samples may come */
	C->have_samples = 1;
	if (ctx->reader) {
		C->have_samples = 0;
		uint32_t n = mpt_reader_chunk_count(ctx->reader);
		for (uint32_t i = 0; i < n; i++) {
			struct mpt_chunk_info ci;
			if (mpt_reader_chunk_info(ctx->reader, i, &ci) == MPT_OK &&
			    (ci.kinds & MPT_KINDBIT(MPA_KIND_CACHE_SAMPLE)))
				C->have_samples = 1;
		}
	}
	if (cache_attr_begin(C, err, errlen) < 0)
		goto fail;
	*state = C;
	return 0;
fail:
	cache_release(C);
	return -1;
}

static void add_stats(struct cstats *s, unsigned k, uint64_t ev, uint64_t w)
{
	s->samples[k]++;
	s->events[k] = cache_sat_add(s->events[k], ev);
	if (w) {
		s->weighted++;
		s->weight = cache_sat_add(s->weight, w);
	}
}

static unsigned lat_bucket(uint64_t w)
{
	if (!w)
		return 0;
	unsigned b = 64 - (unsigned)__builtin_clzll(w); /* w in [2^(b-1), 2^b) */
	return b < NLAT ? b : NLAT - 1;
}

/* The cache line of a store or a HITM sample (false-sharing evidence). */
static int line_sample(struct cache *C, const struct mpa_row *r, const struct owner *o,
		       uint64_t addr, int store, int hitm, int remote)
{
	const struct mpt_batch *b = r->b;
	uint64_t la = addr & ~(C->line - 1);
	uint32_t img = o->img ? o->img->id : 0;
	uint64_t refused = C->lines.refused;
	struct cline *l = ctab_get(&C->lines, img, la, store || hitm);
	if (!l) /* absent (a load), or refused at the limit: counted there */
		return (store || hitm) && C->lines.refused == refused ? -1 : 0;
	if (!l->samples) {
		l->pid = b->pid[r->i];
		l->site_kind = (uint8_t)o->kind;
		if (o->blk) {
			l->site = o->blk->stack_id;
			l->obj_offset = la > o->base ? la - o->base : 0;
		}
	}
	l->samples++;
	if (hitm) {
		l->hitm++;
		l->hitm_remote += remote != 0;
	}
	if (!store) {
		l->loads++;
		return 0;
	}
	l->stores++;
	uint32_t cpu = b->cpu[r->i];
	unsigned word = (unsigned)((addr - la) * 64 / C->line);
	for (unsigned k = 0; k < l->ncpu; k++)
		if (l->w[k].cpu == cpu) {
			l->w[k].stores++;
			l->w[k].words |= UINT64_C(1) << word;
			return 0;
		}
	if (l->ncpu < LINE_CPUS) {
		l->w[l->ncpu].cpu = cpu;
		l->w[l->ncpu].stores = 1;
		l->w[l->ncpu].words = UINT64_C(1) << word;
		l->ncpu++;
	} else if (l->more_cpus < UINT8_MAX) {
		l->more_cpus++; /* an approximation: a CPU beyond the named ones */
	}
	return 0;
}

static int on_sample(struct cache *C, const struct mpa_row *r)
{
	const struct mpt_batch *b = r->b;
	uint32_t i = r->i;
	unsigned k = b->counter[i] < NCTR ? b->counter[i] : MPA_CTR_UNKNOWN;
	uint64_t ev = b->period[i] ? b->period[i] : 1, w = b->weight[i], addr = b->ptr[i];
	add_stats(&C->all, k, ev, w);
	if (w) {
		C->lat[k][lat_bucket(w)]++;
		C->wcnt[k]++;
		C->wsum[k] = cache_sat_add(C->wsum[k], w);
		if (w < C->wmin[k])
			C->wmin[k] = w;
		if (w > C->wmax[k])
			C->wmax[k] = w;
	}
	if (b->ip[i] >= UINT64_C(0xffff800000000000))
		C->kernel_ip[k]++;
	struct dsrc d;
	int has_ds = cache_dsrc_decode(b->data_src[i], &d);
	if (has_ds) {
		uint64_t key = k | (uint64_t)d.op << 8 | (uint64_t)d.level << 16 |
			       (uint64_t)d.result << 24 | (uint64_t)d.snoop << 32 |
			       (uint64_t)d.tlb << 40 | (uint64_t)d.locked << 48;
		struct cdsrc_row *e = ctab_get(&C->dsrcs, key, 0, 1);
		if (!e)
			return -1;
		e->samples++;
		e->events = cache_sat_add(e->events, ev);
		if (w) {
			e->weighted++;
			e->weight = cache_sat_add(e->weight, w);
		}
	} else {
		C->no_dsrc[k]++;
	}
	struct cgroup *g = ctab_get(&C->threads, (uint32_t)b->pid[i], (uint32_t)b->tid[i], 1);
	if (!g)
		return -1;
	add_stats(&g->s, k, ev, w);
	if (!(g = ctab_get(&C->funcs, b->stack_id[i], 0, 1)))
		return -1;
	add_stats(&g->s, k, ev, w);
	if (!addr)
		return 0;
	C->with_addr[k]++;
	struct owner o;
	cache_owner(C, r->img, addr, &o);
	C->owned[k][o.kind]++;
	C->owned_events[k][o.kind] = cache_sat_add(C->owned_events[k][o.kind], ev);
	if (o.blk) {
		uint64_t off = addr - o.base;
		uint64_t ks = o.kind == OWN_KERNEL && !o.stack ? (uint64_t)o.blk->aux << 8 : 0;
		if (!(g = ctab_get(&C->sites, o.stack, o.kind | ks, 1)))
			return -1;
		if (ks)
			g->ksite = mpa_image_kernel_site(o.img, o.blk->aux);
		add_stats(&g->s, k, ev, w);
		if (!g->min_size || o.size < g->min_size)
			g->min_size = o.size ? o.size : 1;
		if (o.size > g->max_size)
			g->max_size = o.size;
		g->offset_sum = cache_sat_add(g->offset_sum, off);
		uint64_t li = off / C->line;
		struct cline_off *lo = ctab_get(&C->offs, (uint64_t)o.stack << 8 | o.kind,
						li < MAX_LINE_INDEX ? li : MAX_LINE_INDEX, 1);
		if (!lo)
			return -1;
		lo->samples++;
		lo->events = cache_sat_add(lo->events, ev);
	}
	int store = k == MPA_CTR_MEM_STORE || (has_ds && d.op == DS_OP_STORE);
	int hitm = has_ds && d.snoop == DS_SNOOP_HITM;
	if ((store || hitm || C->lines.n) && line_sample(C, r, &o, addr, store, hitm, d.remote) < 0)
		return -1;
	return 0;
}

static int cache_on_row(void *state, const struct mpa_row *r)
{
	struct cache *C = state;
	if (!C->have_samples && !C->nq)
		return 0;
	if (r->ts > C->last_ts)
		C->last_ts = r->ts;
	if (cache_attr_row(C, r) < 0)
		return -1;
	if (r->kind == MPA_KIND_CACHE_SAMPLE)
		return on_sample(C, r);
	if (r->blk && C->have_samples &&
	    (r->kind == MPA_KIND_ALLOC || r->kind == MPA_KIND_REALLOC || r->kind == MPA_KIND_KALLOC)) {
		uint64_t kind = r->img && r->img->kernel ? OWN_KERNEL : OWN_HEAP;
		if (kind == OWN_KERNEL && !r->blk->stack_id)
			kind |= (uint64_t)r->blk->aux << 8; /* as the sites are keyed */
		struct calloc_site *a = ctab_get(&C->allocs, r->blk->stack_id, kind, 1);
		if (!a)
			return -1;
		a->bytes = cache_sat_add(a->bytes, r->blk->size);
		a->blocks++;
	}
	return 0;
}

/* The address index only when something will be looked up: samples (the
 * capture has cache_sample rows; always without a file) or --lookup. */
static uint32_t cache_needs_for(void *state)
{
	const struct cache *C = state;
	return C->have_samples || C->nq ? MPA_NEED_ADDR_INDEX : 0;
}

static int cache_on_image_end(void *state, const struct mpa_image *img)
{
	return cache_attr_image_end(state, img);
}

static int cache_on_fork(void *state, const struct mpa_image *parent,
			 const struct mpa_image *child)
{
	(void)parent;
	return cache_attr_fork(state, child);
}

static int cache_end(void *state, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	return cache_attr_end(state);
}

static void cache_release(void *state)
{
	struct cache *C = state;
	if (!C)
		return;
	ctab_free(&C->threads);
	ctab_free(&C->funcs);
	ctab_free(&C->sites);
	ctab_free(&C->allocs);
	ctab_free(&C->offs);
	ctab_free(&C->lines);
	ctab_free(&C->dsrcs);
	cache_attr_release(C);
	free(C);
}

const struct mpa_analyzer mpa_analyzer_cache = {
	.name = "cache",
	.summary = "sampled counters per thread, function and allocation site, hit ratios, "
		   "latency, data sources, false sharing; --lookup ADDR[@T]",
	.kinds = MPT_KINDBIT(MPA_KIND_CACHE_SAMPLE) | MPT_KINDBIT(MPA_KIND_THREAD_START) |
		 MPT_KINDBIT(MPA_KIND_THREAD_EXIT) | MPT_KINDBIT(MPA_KIND_ALLOC) |
		 MPT_KINDBIT(MPA_KIND_FREE) | MPT_KINDBIT(MPA_KIND_REALLOC) |
		 MPT_KINDBIT(MPA_KIND_KALLOC) | MPT_KINDBIT(MPA_KIND_KFREE) |
		 MPT_KINDBIT(MPA_KIND_MAP) | MPT_KINDBIT(MPA_KIND_UNMAP) |
		 MPT_KINDBIT(MPA_KIND_PROC_EXEC) | MPT_KINDBIT(MPA_KIND_PROC_EXIT) |
		 MPT_KINDBIT(MPA_KIND_PROC_FORK),
	.columns = MPT_COLBIT(MPT_COL_COUNTER) | MPT_COLBIT(MPT_COL_PERIOD) |
		   MPT_COLBIT(MPT_COL_WEIGHT) | MPT_COLBIT(MPT_COL_PTR) |
		   MPT_COLBIT(MPT_COL_DATA_SRC) | MPT_COLBIT(MPT_COL_CPU) | MPT_COLBIT(MPT_COL_TID) |
		   MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_IP) | MPT_COLBIT(MPT_COL_STACK_ID) |
		   MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_DOMAIN),
	.options = cache_options,
	.flags = cache_flags,
	.begin = cache_begin,
	.on_row = cache_on_row,
	.on_image_end = cache_on_image_end,
	.on_fork = cache_on_fork,
	.end = cache_end,
	.emit = cache_emit,
	.release = cache_release,
	.headline = cache_headline,
	.needs = MPA_NEED_ADDR_INDEX,
	.needs_for = cache_needs_for,
};
