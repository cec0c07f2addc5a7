/* mpa monitor — the interval sampler (snap.h): per-interval aggregates from
 * the heap model's facts, in the same pass as the analyzers.
 */
#include <stdlib.h>
#include <string.h>

#include "mpa/event.h"
#include "snap.h"

const struct mpa_option mpa_snap_options[] = {
	{"monitoring", "interval_ns", MPA_OPT_INT, "500000000",
	 "length of one monitor interval (ns; mpa-top/mpa-monitor --interval)"},
	{"monitoring", "max_intervals", MPA_OPT_INT, "1000",
	 "intervals mpa-top and mpa-monitor keep (oldest dropped first)"},
	{"monitoring", "top_sites", MPA_OPT_INT, "20",
	 "sites kept per interval for each ranking (live, allocated, temporary, leaked, growth)"},
	{NULL, NULL, 0, NULL, NULL}
};

/* Per-site counters, keyed by stack id (open addressing). */
struct site {
	struct mpa_snap_site s;
	uint64_t live_prev;   /* live_bytes at the previous interval's end */
	uint8_t used;
};

struct thread {
	struct mpa_snap_thread t;
	uint8_t used;
};

#define MAX_THREADS (1u << 16)  /* beyond: one "other threads" entry (tid 0) */
#define MAX_KEYS 64             /* NUMA nodes / cache counters tracked */

struct mpa_snap {
	const struct mpa_ctx *ctx;          /* (weak) */
	uint64_t iv, pressure, temp_ns;
	size_t max, top;
	/* the ring of closed intervals (owned) */
	struct mpa_snap_iv *ring;
	size_t head, n;
	uint64_t dropped;
	/* the interval being filled */
	struct mpa_snap_iv cur;
	int started;
	/* running state */
	uint64_t live, blocks, mapped, kernel, peak, peak_ts;
	uint32_t kinds_seen;
	struct site *sites;                 /* (owned) */
	size_t scap, sn;
	struct thread *thr;                 /* (owned) */
	size_t tcap, tn;
	uint32_t threads_live;
	struct mpa_snap_kv nodes[MAX_KEYS], ctrs[MAX_KEYS];
	uint32_t nnodes, nctrs;
	/* scratch for ranking (owned) */
	struct site **rank;
	size_t rcap;
};

static uint64_t hash32(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static struct site *site_get(struct mpa_snap *s, uint32_t stack_id)
{
	if (s->sn * 2 >= s->scap) {
		size_t nc = s->scap ? s->scap * 2 : 256;
		struct site *ns = calloc(nc, sizeof *ns);
		if (!ns)
			return NULL;
		for (size_t i = 0; i < s->scap; i++) {
			if (!s->sites[i].used)
				continue;
			size_t h = hash32(s->sites[i].s.stack_id) & (nc - 1);
			while (ns[h].used)
				h = (h + 1) & (nc - 1);
			ns[h] = s->sites[i];
		}
		free(s->sites);
		s->sites = ns;
		s->scap = nc;
	}
	size_t h = hash32(stack_id) & (s->scap - 1);
	while (s->sites[h].used) {
		if (s->sites[h].s.stack_id == stack_id)
			return &s->sites[h];
		h = (h + 1) & (s->scap - 1);
	}
	s->sites[h].used = 1;
	s->sites[h].s.stack_id = stack_id;
	s->sn++;
	return &s->sites[h];
}

static struct thread *thread_get(struct mpa_snap *s, int32_t pid, int32_t tid)
{
	if (s->tn >= MAX_THREADS)
		pid = tid = 0;
	if (s->tn * 2 >= s->tcap) {
		size_t nc = s->tcap ? s->tcap * 2 : 64;
		struct thread *nt = calloc(nc, sizeof *nt);
		if (!nt)
			return NULL;
		for (size_t i = 0; i < s->tcap; i++) {
			if (!s->thr[i].used)
				continue;
			uint64_t k = (uint64_t)(uint32_t)s->thr[i].t.pid << 32 | (uint32_t)s->thr[i].t.tid;
			size_t h = hash32(k) & (nc - 1);
			while (nt[h].used)
				h = (h + 1) & (nc - 1);
			nt[h] = s->thr[i];
		}
		free(s->thr);
		s->thr = nt;
		s->tcap = nc;
	}
	uint64_t k = (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;
	size_t h = hash32(k) & (s->tcap - 1);
	while (s->thr[h].used) {
		if (s->thr[h].t.pid == pid && s->thr[h].t.tid == tid)
			return &s->thr[h];
		h = (h + 1) & (s->tcap - 1);
	}
	s->thr[h].used = 1;
	s->thr[h].t.pid = pid;
	s->thr[h].t.tid = tid;
	s->tn++;
	s->threads_live++;
	return &s->thr[h];
}

static struct mpa_snap_kv *kv_get(struct mpa_snap_kv *v, uint32_t *n, int32_t key)
{
	for (uint32_t i = 0; i < *n; i++)
		if (v[i].key == key)
			return &v[i];
	if (*n >= MAX_KEYS)
		return NULL; /* a hostile capture's 65th node: not tracked */
	v[*n] = (struct mpa_snap_kv){.key = key};
	return &v[(*n)++];
}

static int program(const struct mpa_block *b)
{
	return !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* ---- ranking ------------------------------------------------------------------ */

enum metric { M_LIVE, M_ALLOC, M_TEMP, M_LEAK, M_GROWTH, M_COUNT_ };

static int64_t metric(const struct site *x, enum metric m)
{
	switch (m) {
	case M_LIVE: return (int64_t)x->s.live_bytes;
	case M_ALLOC: return (int64_t)x->s.alloc_bytes;
	case M_TEMP: return (int64_t)x->s.temp_bytes;
	case M_LEAK: return (int64_t)x->s.leaked_bytes;
	case M_GROWTH: return (int64_t)(x->s.live_bytes - x->live_prev);
	default: return 0;
	}
}

/* a before b: higher metric, then lower stack id (a total order) */
static int before(const struct site *a, const struct site *b, enum metric m)
{
	int64_t x = metric(a, m), y = metric(b, m);
	if (x != y)
		return x > y;
	return a->s.stack_id < b->s.stack_id;
}

/* Moves the k best of v[0..n) by m to the front (quickselect; the order
 * is total, so no two keys tie). */
static void select_top(struct site **v, size_t n, size_t k, enum metric m)
{
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t p = lo + (hi - lo) / 2, store = lo;
		struct site *t = v[p];
		v[p] = v[hi - 1];
		v[hi - 1] = t;
		for (size_t i = lo; i + 1 < hi; i++)
			if (before(v[i], v[hi - 1], m)) {
				t = v[i];
				v[i] = v[store];
				v[store++] = t;
			}
		t = v[store];
		v[store] = v[hi - 1];
		v[hi - 1] = t;
		if (k <= store)
			hi = store;
		else if (k > store + 1)
			lo = store + 1;
		else
			return;
	}
}

static int cmp_stack(const void *a, const void *b)
{
	uint32_t x = ((const struct mpa_snap_site *)a)->stack_id,
		 y = ((const struct mpa_snap_site *)b)->stack_id;
	return x < y ? -1 : x > y;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct mpa_snap_thread *x = a, *y = b;
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_kv(const void *a, const void *b)
{
	int32_t x = ((const struct mpa_snap_kv *)a)->key, y = ((const struct mpa_snap_kv *)b)->key;
	return x < y ? -1 : x > y;
}

static void iv_free(struct mpa_snap_iv *v)
{
	free(v->sites);
	free(v->thr);
	free(v->nodes);
	free(v->ctrs);
	memset(v, 0, sizeof *v);
}

/* The top sites of every ranking, union, by stack id. */
static int snap_sites(struct mpa_snap *s, struct mpa_snap_iv *v)
{
	if (s->sn > s->rcap) {
		size_t nc = s->sn * 2;
		struct site **r = realloc(s->rank, nc * sizeof *r);
		if (!r)
			return -1;
		s->rank = r;
		s->rcap = nc;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->scap; i++)
		if (s->sites[i].used)
			s->rank[n++] = &s->sites[i];
	size_t cap = s->top * M_COUNT_, k = 0;
	if (cap > n)
		cap = n;
	v->sites = calloc(cap ? cap : 1, sizeof *v->sites);
	if (!v->sites)
		return -1;
	for (unsigned m = 0; m < M_COUNT_ && n; m++) {
		size_t t = s->top < n ? s->top : n;
		select_top(s->rank, n, t, (enum metric)m);
		for (size_t i = 0; i < t; i++) {
			struct site *x = s->rank[i];
			if (metric(x, (enum metric)m) <= 0 || x->used == 2)
				continue;
			x->used = 2; /* taken */
			x->s.growth = (int64_t)(x->s.live_bytes - x->live_prev);
			v->sites[k++] = x->s;
		}
	}
	for (size_t i = 0; i < n; i++) {
		s->rank[i]->used = 1;
		s->rank[i]->live_prev = s->rank[i]->s.live_bytes;
	}
	qsort(v->sites, k, sizeof *v->sites, cmp_stack);
	v->nsites = (uint32_t)k;
	return 0;
}

static int snap_threads(struct mpa_snap *s, struct mpa_snap_iv *v)
{
	struct mpa_snap_thread *all = malloc((s->tn ? s->tn : 1) * sizeof *all);
	if (!all)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < s->tcap; i++)
		if (s->thr[i].used)
			all[n++] = s->thr[i].t;
	qsort(all, n, sizeof *all, cmp_thread);
	size_t keep = n < s->top * 2 ? n : s->top * 2;
	v->thr = realloc(all, (keep ? keep : 1) * sizeof *all);
	if (!v->thr) {
		free(all);
		return -1;
	}
	v->nthr = (uint32_t)keep;
	return 0;
}

static int snap_kv(const struct mpa_snap_kv *src, uint32_t n, struct mpa_snap_kv **out,
		   uint32_t *nout)
{
	*out = malloc((n ? n : 1) * sizeof **out);
	if (!*out)
		return -1;
	memcpy(*out, src, n * sizeof *src);
	qsort(*out, n, sizeof **out, cmp_kv);
	*nout = n;
	return 0;
}

/* Closes the current interval into the ring and opens the next one. */
static int close_iv(struct mpa_snap *s)
{
	struct mpa_snap_iv *v = &s->cur;
	v->live_bytes = s->live;
	v->live_blocks = s->blocks;
	v->mapped_bytes = s->mapped;
	v->kernel_bytes = s->kernel;
	v->threads = s->threads_live;
	if (s->live > v->peak_bytes)
		v->peak_bytes = s->live;
	v->pressure = s->pressure && v->peak_bytes > s->pressure;
	if (snap_sites(s, v) < 0 || snap_threads(s, v) < 0 ||
	    snap_kv(s->nodes, s->nnodes, &v->nodes, &v->nnodes) < 0 ||
	    snap_kv(s->ctrs, s->nctrs, &v->ctrs, &v->nctrs) < 0) {
		iv_free(v);
		return -1;
	}
	if (s->n == s->max) {
		iv_free(&s->ring[s->head]);
		s->head = (s->head + 1) % s->max;
		s->n--;
		s->dropped++;
	}
	s->ring[(s->head + s->n) % s->max] = *v;
	s->n++;
	uint64_t t1 = v->t1;
	memset(v, 0, sizeof *v);
	v->t0 = t1;
	v->t1 = t1 > UINT64_MAX - s->iv ? UINT64_MAX : t1 + s->iv; /* a hostile clock */
	v->peak_bytes = s->live;
	return 0;
}

int mpa_snap_advance(struct mpa_snap *s, uint64_t now)
{
	if (!s->started || now < s->cur.t1)
		return 0;
	/* the interval being filled ends with its own time */
	if (close_iv(s) < 0)
		return -1;
	/* empty intervals past the ring's capacity would be dropped at once */
	uint64_t gap = now >= s->cur.t1 ? (now - s->cur.t1) / s->iv + 1 : 0;
	if (gap > s->max) {
		uint64_t skip = gap - s->max;
		s->cur.t0 += skip * s->iv;
		s->cur.t1 += skip * s->iv;
	}
	while (now >= s->cur.t1 && s->cur.t1 != UINT64_MAX)
		if (close_iv(s) < 0)
			return -1;
	return 0;
}

/* ---- the analyzer ---------------------------------------------------------------- */

static int snap_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	int64_t iv = mpa_config_int(ctx->config, "monitoring", "interval_ns");
	int64_t max = mpa_config_int(ctx->config, "monitoring", "max_intervals");
	int64_t top = mpa_config_int(ctx->config, "monitoring", "top_sites");
	int64_t pr = mpa_config_int(ctx->config, "alerts", "memory_pressure_threshold");
	double tmp = mpa_config_float(ctx->config, "patterns", "temporary_threshold_ms");
	if (iv < 1000) {
		mpa_errf(err, errlen, "[monitoring] interval_ns must be >= 1000 (1 us)");
		return -1;
	}
	if (max < 2 || max > 1000000) {
		mpa_errf(err, errlen, "[monitoring] max_intervals must be in 2..1000000");
		return -1;
	}
	if (top < 1 || top > 1000) {
		mpa_errf(err, errlen, "[monitoring] top_sites must be in 1..1000");
		return -1;
	}
	struct mpa_snap *s = calloc(1, sizeof *s);
	if (!s || !(s->ring = calloc((size_t)max, sizeof *s->ring))) {
		free(s);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	s->ctx = ctx;
	s->iv = (uint64_t)iv;
	s->max = (size_t)max;
	s->top = (size_t)top;
	s->pressure = pr > 0 ? (uint64_t)pr : 0;
	s->temp_ns = tmp > 0 ? (uint64_t)(tmp * 1e6) : 0;
	*state = s;
	return 0;
}

static void add_block(struct mpa_snap *s, const struct mpa_block *b, int kernel)
{
	if (kernel) {
		s->kernel += b->size;
		return;
	}
	if (!program(b))
		return;
	s->live += b->size;
	s->blocks++;
	struct site *x = site_get(s, b->stack_id);
	if (x) {
		x->s.live_bytes += b->size;
		x->s.live_blocks++;
	}
}

static void drop_block(struct mpa_snap *s, const struct mpa_block *b, int kernel, int leaked)
{
	if (kernel) {
		s->kernel = sat_sub(s->kernel, b->size);
		return;
	}
	if (!program(b))
		return;
	s->live = sat_sub(s->live, b->size);
	s->blocks = sat_sub(s->blocks, 1);
	struct site *x = site_get(s, b->stack_id);
	if (x) {
		x->s.live_bytes = sat_sub(x->s.live_bytes, b->size);
		x->s.live_blocks = sat_sub(x->s.live_blocks, 1);
		if (leaked) {
			x->s.leaked_bytes += b->size;
			x->s.leaked_blocks++;
		}
	}
}

static int snap_row(void *state, const struct mpa_row *r)
{
	struct mpa_snap *s = state;
	const struct mpt_batch *b = r->b;
	uint32_t i = r->i;
	if (!s->started) {
		uint64_t t0 = s->ctx->span_first && s->ctx->span_first <= r->ts ? s->ctx->span_first
										    : r->ts;
		s->cur.t0 = t0;
		s->cur.t1 = t0 > UINT64_MAX - s->iv ? UINT64_MAX : t0 + s->iv;
		s->started = 1;
	}
	if (r->ts >= s->cur.t1 && mpa_snap_advance(s, r->ts) < 0)
		return -1;
	if (r->kind < 32)
		s->kinds_seen |= MPT_KINDBIT(r->kind);
	s->cur.rows++;
	int kernel = r->img && r->img->kernel;
	struct thread *t = NULL;
	if (b->tid && b->pid && !kernel && r->kind != MPA_KIND_LOST && !(t = thread_get(s, b->pid[i], b->tid[i])))
		return -1;
	if (t) {
		if (!t->t.first_ts)
			t->t.first_ts = r->ts;
		t->t.last_ts = r->ts;
	}
	if (r->dup)
		drop_block(s, r->dup, kernel, 0);
	if (r->old) {
		drop_block(s, r->old, kernel, 0);
		if (!kernel && r->kind != MPA_KIND_POOL_FREE) {
			s->cur.frees++;
			s->cur.free_bytes += r->old->size;
			if (t) {
				t->t.frees++;
				t->t.free_bytes += r->old->size;
			}
			if (program(r->old) && s->temp_ns && r->ts - r->old->ts < s->temp_ns) {
				struct site *x = site_get(s, r->old->stack_id);
				if (!x)
					return -1;
				x->s.temp_bytes += r->old->size;
				x->s.temps++;
			}
		}
	}
	if (r->blk && r->kind != MPA_KIND_POOL_ALLOC) {
		add_block(s, r->blk, kernel);
		if (!kernel) {
			s->cur.allocs++;
			s->cur.alloc_bytes += r->blk->size;
			if (t) {
				t->t.allocs++;
				t->t.alloc_bytes += r->blk->size;
			}
			if (program(r->blk)) {
				struct site *x = site_get(s, r->blk->stack_id);
				if (!x)
					return -1;
				x->s.alloc_bytes += r->blk->size;
				x->s.allocs++;
			}
		}
	}
	if (r->map)
		s->mapped += r->map->len;
	if (r->kind == MPA_KIND_UNMAP)
		s->mapped = sat_sub(s->mapped, r->unmapped);
	switch (r->kind) {
	case MPA_KIND_LOST:
		if (b->size)
			s->cur.lost += b->size[i];
		break;
	case MPA_KIND_THREAD_START:
		if (t && b->size)
			t->t.stack_size = b->size[i];
		break;
	case MPA_KIND_THREAD_EXIT:
		if (t && !t->t.exited) {
			t->t.exited = 1;
			s->threads_live = (uint32_t)sat_sub(s->threads_live, 1);
		}
		break;
	case MPA_KIND_STACK_SAMPLE:
		if (t && b->size && b->size[i] > t->t.max_depth)
			t->t.max_depth = b->size[i];
		break;
	case MPA_KIND_NUMA_PLACE: {
		struct mpa_snap_kv *kv = b->node ? kv_get(s->nodes, &s->nnodes, b->node[i]) : NULL;
		if (kv) {
			kv->count++;
			const struct mpa_block *blk = r->img && b->ptr ? mpa_image_find(r->img, b->ptr[i]) : NULL;
			if (blk)
				kv->weight += blk->size;
		}
		break;
	}
	case MPA_KIND_CACHE_SAMPLE: {
		struct mpa_snap_kv *kv = b->counter ? kv_get(s->ctrs, &s->nctrs, b->counter[i]) : NULL;
		if (kv) {
			kv->count++;
			kv->weight += b->period ? b->period[i] : 0;
		}
		break;
	}
	default:
		break;
	}
	if (s->live > s->cur.peak_bytes)
		s->cur.peak_bytes = s->live;
	if (s->live > s->peak) {
		s->peak = s->live;
		s->peak_ts = r->ts;
	}
	return 0;
}

static uint64_t maps_len(const struct mpa_image *img)
{
	uint64_t n = 0, sum = 0;
	const struct mpa_map *m = mpa_image_maps(img, &n);
	for (uint64_t k = 0; k < n; k++)
		sum += m[k].len;
	return sum;
}

/* An image that ended (exit, exec) takes its blocks and mappings with it;
 * its program blocks were leaked.  At the capture's end they stay live. */
static int snap_image_end(void *state, const struct mpa_image *img)
{
	struct mpa_snap *s = state;
	if (img->how == MPA_IMAGE_CAPTURE_END)
		return 0;
	uint64_t cur = 0;
	const struct mpa_block *b;
	while ((b = mpa_image_next_block(img, &cur)))
		drop_block(s, b, img->kernel, 1);
	s->mapped = sat_sub(s->mapped, maps_len(img));
	return 0;
}

static int snap_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	(void)parent;
	struct mpa_snap *s = state;
	uint64_t cur = 0;
	const struct mpa_block *b;
	while ((b = mpa_image_next_block(child, &cur)))
		add_block(s, b, 0);
	s->mapped += maps_len(child);
	return 0;
}

static int snap_end(void *state, char *err, size_t errlen)
{
	struct mpa_snap *s = state;
	if (s->started && s->cur.rows && close_iv(s) < 0) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int snap_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	(void)state, (void)out, (void)err, (void)errlen;
	return 0;
}

static void snap_release(void *state)
{
	struct mpa_snap *s = state;
	if (!s)
		return;
	for (size_t k = 0; k < s->n; k++)
		iv_free(&s->ring[(s->head + k) % s->max]);
	iv_free(&s->cur);
	free(s->ring);
	free(s->sites);
	free(s->thr);
	free(s->rank);
	free(s);
}

const struct mpa_analyzer mpa_snap_analyzer = {
	.name = "monitor",
	.summary = "per-interval aggregates for mpa-top and mpa-monitor",
	.kinds = 0,
	.columns = MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_SIZE) |
		   MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_NODE) |
		   MPT_COLBIT(MPT_COL_COUNTER) | MPT_COLBIT(MPT_COL_PERIOD),
	.options = mpa_snap_options,
	.begin = snap_begin,
	.on_row = snap_row,
	.on_image_end = snap_image_end,
	.on_fork = snap_fork,
	.end = snap_end,
	.emit = snap_emit,
	.release = snap_release,
};

size_t mpa_snap_count(const struct mpa_snap *s)
{
	return s ? s->n : 0;
}

const struct mpa_snap_iv *mpa_snap_get(const struct mpa_snap *s, size_t i)
{
	return s && i < s->n ? &s->ring[(s->head + i) % s->max] : NULL;
}

uint64_t mpa_snap_dropped(const struct mpa_snap *s)
{
	return s->dropped;
}

uint64_t mpa_snap_interval(const struct mpa_snap *s)
{
	return s->iv;
}

void mpa_snap_peak(const struct mpa_snap *s, uint64_t *bytes, uint64_t *ts)
{
	*bytes = s->peak;
	*ts = s->peak_ts;
}

uint64_t mpa_snap_pressure_threshold(const struct mpa_snap *s)
{
	return s->pressure;
}

uint32_t mpa_snap_kinds_seen(const struct mpa_snap *s)
{
	return s->kinds_seen;
}
