/* The pool and size-class analyzer: custom pools (mpa pool API), the
 * requested-size distribution under four allocators' size classes and
 * optimal classes, the what-if replay, and pooling candidates.  This file:
 * the interface, options, rows (pools, sites, sizes) and end().  Metrics:
 * doc/analyzers-pool.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

static const struct mpa_option pl_options[] = {
	{"pool", "classes", MPA_OPT_INT, "32",
	 "number of size classes the optimal-classes search may use (classes, 1..4096)"},
	{"pool", "class_alignment", MPA_OPT_INT, "16",
	 "every optimal class is a multiple of this (bytes, a power of two, 1..4096)"},
	{"pool", "headroom", MPA_OPT_FLOAT, "0.25",
	 "capacity advice: the in-use quantile times 1 + headroom (fraction, 0..10)"},
	{"pool", "capacity_quantile", MPA_OPT_FLOAT, "0.99",
	 "capacity advice: time-weighted quantile of objects in use (fraction, 0.5..1)"},
	{"pool", "timeline_points", MPA_OPT_INT, "100",
	 "time buckets of each pool's in-use series (buckets, 1..100000)"},
	{"pool", "candidate_min_calls", MPA_OPT_INT, "100",
	 "allocations at one site before it can be a pooling candidate (calls)"},
	{"pool", "candidate_same_size", MPA_OPT_FLOAT, "0.9",
	 "share of a candidate site's allocations of its most common size (fraction, 0..1)"},
	{"pool", "short_lived_ms", MPA_OPT_FLOAT, "10",
	 "a candidate's median lifetime must be below this (ms)"},
	{"pool", "top_n", MPA_OPT_INT, "50", "rows of the size, site and candidate tables (rows)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}};

const char *const mpa_pl_anom_name[PL_AN_COUNT_] = {
	"unknown_pool", "double_return",   "unknown_return", "object_larger_than_pool",
	"over_capacity", "returned_to_other_pool", "taken_at_live_address", "pool_recreated"};

static int pl_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	*state = NULL;
	const mpa_config *c = ctx->config;
	int64_t k = c ? mpa_config_int(c, "pool", "classes") : 32;
	int64_t al = c ? mpa_config_int(c, "pool", "class_alignment") : 16;
	double hr = c ? mpa_config_float(c, "pool", "headroom") : 0.25;
	double q = c ? mpa_config_float(c, "pool", "capacity_quantile") : 0.99;
	int64_t pts = c ? mpa_config_int(c, "pool", "timeline_points") : 100;
	int64_t mc = c ? mpa_config_int(c, "pool", "candidate_min_calls") : 100;
	double ss = c ? mpa_config_float(c, "pool", "candidate_same_size") : 0.9;
	double sl = c ? mpa_config_float(c, "pool", "short_lived_ms") : 10;
	int64_t top = c ? mpa_config_int(c, "pool", "top_n") : 50;
	if (k < 1 || k > 4096) {
		mpa_errf(err, errlen, "[pool] classes must be 1..4096");
		return -1;
	}
	if (al < 1 || al > 4096 || (al & (al - 1))) {
		mpa_errf(err, errlen, "[pool] class_alignment must be a power of two 1..4096");
		return -1;
	}
	if (!(hr >= 0 && hr <= 10)) {
		mpa_errf(err, errlen, "[pool] headroom must be between 0 and 10");
		return -1;
	}
	if (!(q >= 0.5 && q <= 1)) {
		mpa_errf(err, errlen, "[pool] capacity_quantile must be between 0.5 and 1");
		return -1;
	}
	if (pts < 1 || pts > 100000) {
		mpa_errf(err, errlen, "[pool] timeline_points must be 1..100000");
		return -1;
	}
	if (mc < 1) {
		mpa_errf(err, errlen, "[pool] candidate_min_calls must be at least 1");
		return -1;
	}
	if (!(ss >= 0 && ss <= 1)) {
		mpa_errf(err, errlen, "[pool] candidate_same_size must be between 0 and 1");
		return -1;
	}
	if (!(sl >= 0 && sl <= 1e12)) {
		mpa_errf(err, errlen, "[pool] short_lived_ms must be between 0 and 1e12");
		return -1;
	}
	if (top < 1 || top > 1000000) {
		mpa_errf(err, errlen, "[pool] top_n must be 1..1000000");
		return -1;
	}
	struct pl_state *S = calloc(1, sizeof *S);
	if (S && !(S->small_sizes = calloc(PL_DIRECT_SIZES, sizeof *S->small_sizes))) {
		free(S);
		S = NULL;
	}
	if (!S || mpa_pl_tables_init(&S->t) < 0) {
		if (S)
			free(S->small_sizes);
		free(S);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	if (mpa_pl_replay_init(&S->r, &S->t) < 0) {
		mpa_pl_tables_release(&S->t);
		free(S->small_sizes);
		free(S);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	/* sites by stack id, for the ids of the stack table */
	uint32_t ns = ctx->reader ? mpt_reader_stack_count(ctx->reader) : 0;
	S->site_of = calloc((size_t)ns + 1, sizeof *S->site_of);
	if (!S->site_of) {
		mpa_pl_replay_release(&S->r);
		mpa_pl_tables_release(&S->t);
		free(S->small_sizes);
		free(S);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	S->nstacks = ns + 1;
	S->ctx = ctx;
	S->k = (uint32_t)k;
	S->align = (uint64_t)al;
	S->headroom = hr;
	S->quantile = q;
	S->points = (uint32_t)pts;
	S->min_calls = (uint64_t)mc;
	S->same_frac = ss;
	S->short_ns = sl * 1e6;
	S->top_n = (uint32_t)top;
	*state = S;
	return 0;
}

/* ---- pools ------------------------------------------------------------------- */

static uint64_t pkey(uint32_t img, uint32_t id)
{
	return (uint64_t)img << 32 | id;
}

static struct pl_pool *live_pool(struct pl_state *S, uint32_t img, uint32_t id)
{
	uint32_t i = mpa_pl_map_get(&S->live_pools, pkey(img, id));
	return i == UINT32_MAX ? NULL : &S->pools[i];
}

static uint64_t series_bucket(const struct pl_state *S, uint64_t ts)
{
	uint64_t first = S->ctx->span_first, last = S->ctx->span_last;
	if (ts <= first || last <= first)
		return 0;
	if (ts >= last)
		return S->points - 1;
	unsigned __int128 b = (unsigned __int128)(ts - first) * S->points /
			      ((unsigned __int128)(last - first) + 1);
	return (uint64_t)b;
}

/* Accounts the time from the pool's last change to ts at its level. */
static void advance(struct pl_state *S, struct pl_pool *p, uint64_t ts)
{
	if (ts > p->t_last) {
		uint64_t dt = ts - p->t_last;
		p->hist[mpa_pl_hbucket(p->in_use)] += dt;
		p->integral += (double)p->in_use * (double)dt;
		if (p->capacity && p->in_use >= p->capacity)
			p->at_cap_ns += dt;
		p->t_last = ts;
	}
	uint64_t b = series_bucket(S, ts);
	if (p->series && b > p->series_last) {
		/* the level held through the buckets in between */
		for (uint64_t x = p->series_last + 1; x <= b; x++)
			p->series[x] = p->in_use;
		p->series_last = b;
	}
}

static void level(struct pl_pool *p)
{
	if (p->in_use > p->hwm)
		p->hwm = p->in_use;
	if (p->series && p->in_use > p->series[p->series_last])
		p->series[p->series_last] = p->in_use;
}

static struct pl_pool *new_pool(struct pl_state *S, const struct mpa_image *img,
				const struct mpa_pool *mp, uint64_t ts)
{
	if (mpa_pl_grow((void **)&S->pools, &S->cappools, S->npools + 1, sizeof *S->pools) < 0)
		return NULL;
	struct pl_pool *p = &S->pools[S->npools];
	memset(p, 0, sizeof *p);
	p->hist = calloc(PL_HBUCKETS, sizeof *p->hist);
	p->series = S->npools < PL_SERIES_POOLS ? calloc(S->points, sizeof *p->series) : NULL;
	if (!p->hist || (S->npools < PL_SERIES_POOLS && !p->series) ||
	    mpa_pl_map_put(&S->live_pools, pkey(img->id, mp->id), S->npools) < 0) {
		free(p->hist);
		free(p->series);
		return NULL;
	}
	S->npools++;
	p->img = img->id;
	p->pid = img->pid;
	p->id = mp->id;
	p->name = mp->name;
	p->obj_size = mp->obj_size;
	p->capacity = mp->capacity;
	p->t_create = p->t_last = ts;
	p->series_first = p->series_last = series_bucket(S, ts);
	return p;
}

static void end_pool(struct pl_state *S, struct pl_pool *p, uint64_t ts, uint8_t how)
{
	advance(S, p, ts);
	p->t_end = ts > p->t_create ? ts : p->t_create;
	p->how = how;
	/* its quantile is final: the histogram goes */
	p->quant = p->t_end > p->t_create ? mpa_pl_hist_quantile(p->hist, S->quantile) : p->hwm;
	if (p->quant > p->hwm)
		p->quant = p->hwm; /* a bucket's top never exceeds what was seen */
	free(p->hist);
	p->hist = NULL;
	mpa_pl_map_del(&S->live_pools, pkey(p->img, p->id));
}

/* Pool objects of pool p still live in img: never returned. */
static void count_unreturned(struct pl_pool *p, const struct mpa_image *img)
{
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_pool_object(img, &cur));)
		if (b->aux == p->id)
			p->never_returned++;
}

static int on_pool_row(struct pl_state *S, const struct mpa_row *r)
{
	const struct mpa_image *img = r->img;
	if (!img || img->kernel)
		return 0;
	S->pool_rows++;
	uint32_t id = r->b->pool_id[r->i];
	switch (r->kind) {
	case MPA_KIND_POOL_CREATE: {
		struct pl_pool *old = live_pool(S, img->id, id);
		if (old) {
			S->anom[PL_AN_RECREATED]++;
			end_pool(S, old, r->ts, PL_END_RECREATED);
		}
		if (r->pool && !new_pool(S, img, r->pool, r->ts))
			return -1;
		return 0;
	}
	case MPA_KIND_POOL_ALLOC: {
		if (r->failed || !r->blk)
			return 0;
		if (r->dup) {
			S->anom[PL_AN_LIVE_ADDRESS]++;
			struct pl_pool *q = live_pool(S, img->id, r->dup->aux);
			if (q && q->in_use) {
				advance(S, q, r->ts);
				q->in_use--;
			}
		}
		struct pl_pool *p = live_pool(S, img->id, id);
		if (!p) {
			S->anom[PL_AN_UNKNOWN_POOL]++;
			return 0;
		}
		advance(S, p, r->ts);
		p->allocs++;
		p->in_use++;
		if (p->obj_size && r->blk->size > p->obj_size) {
			p->oversize++;
			S->anom[PL_AN_OVERSIZE]++;
		}
		if (p->capacity && p->in_use > p->capacity) {
			p->over_capacity++;
			S->anom[PL_AN_OVER_CAPACITY]++;
		}
		level(p);
		return 0;
	}
	case MPA_KIND_POOL_FREE: {
		if (r->anomaly == MPA_ANOM_POOL_DOUBLE_FREE) {
			S->anom[PL_AN_DOUBLE_RETURN]++;
			return 0;
		}
		if (r->anomaly == MPA_ANOM_POOL_UNKNOWN_FREE) {
			S->anom[PL_AN_UNKNOWN_RETURN]++;
			return 0;
		}
		if (!r->old)
			return 0;
		if (r->old->aux != id)
			S->anom[PL_AN_WRONG_POOL]++;
		/* the object leaves the pool it was taken from */
		struct pl_pool *p = live_pool(S, img->id, r->old->aux);
		if (!p) {
			if (r->old->aux == id)
				S->anom[PL_AN_UNKNOWN_POOL]++;
			return 0;
		}
		advance(S, p, r->ts);
		p->frees++;
		if (p->in_use)
			p->in_use--;
		return 0;
	}
	case MPA_KIND_POOL_DESTROY: {
		struct pl_pool *p = live_pool(S, img->id, id);
		if (!p) {
			S->anom[PL_AN_UNKNOWN_POOL]++;
			return 0;
		}
		count_unreturned(p, img);
		end_pool(S, p, r->ts, PL_END_DESTROYED);
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- sizes and sites ----------------------------------------------------------- */

static struct pl_site *site_get(struct pl_state *S, uint32_t stack)
{
	uint32_t i = stack < S->nstacks ? S->site_of[stack] - 1 : mpa_pl_map_get(&S->site_ix, stack);
	if (i != UINT32_MAX)
		return &S->sites[i];
	if (mpa_pl_grow((void **)&S->sites, &S->capsites, S->nsites + 1, sizeof *S->sites) < 0)
		return NULL;
	if (stack < S->nstacks)
		S->site_of[stack] = S->nsites + 1;
	else if (mpa_pl_map_put(&S->site_ix, stack, S->nsites) < 0)
		return NULL;
	struct pl_site *s = &S->sites[S->nsites++];
	memset(s, 0, sizeof *s);
	s->stack = stack;
	s->life_min = UINT64_MAX;
	return s;
}

/* The site index of stack, UINT32_MAX when it has none. */
static uint32_t site_find(const struct pl_state *S, uint32_t stack)
{
	return stack < S->nstacks ? S->site_of[stack] - 1 : mpa_pl_map_get(&S->site_ix, stack);
}

static int size_add(struct pl_state *S, uint64_t size)
{
	if (size < PL_DIRECT_SIZES) {
		S->small_sizes[size]++;
		return 0;
	}
	uint32_t i = mpa_pl_map_get(&S->size_ix, size);
	if (i == UINT32_MAX) {
		if (mpa_pl_grow((void **)&S->sizes, &S->capsizes, S->nsizes + 1, sizeof *S->sizes) < 0 ||
		    mpa_pl_map_put(&S->size_ix, size, S->nsizes) < 0)
			return -1;
		i = S->nsizes++;
		S->sizes[i] = (struct pl_size){size, 0};
	}
	S->sizes[i].count++;
	return 0;
}

/* Misra-Gries: the site's most common sizes in PL_MG counters. */
static void mg_add(struct pl_site *s, uint64_t size)
{
	unsigned freeslot = PL_MG;
	for (unsigned j = 0; j < PL_MG; j++) {
		if (s->mg_cnt[j] && s->mg_size[j] == size) {
			s->mg_cnt[j]++;
			return;
		}
		if (!s->mg_cnt[j] && freeslot == PL_MG)
			freeslot = j;
	}
	if (s->distinct <= PL_MG)
		s->distinct++;
	if (freeslot < PL_MG) {
		s->mg_size[freeslot] = size;
		s->mg_cnt[freeslot] = 1;
		return;
	}
	for (unsigned j = 0; j < PL_MG; j++)
		s->mg_cnt[j]--;
}

static int program_block(const struct mpa_block *b)
{
	return !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

static int on_alloc(struct pl_state *S, const struct mpa_row *r, const struct mpa_block *b)
{
	uint64_t n = b->size;
	S->allocs++;
	S->bytes += n;
	if (b->usable)
		S->usable_known++;
	else
		S->usable_unknown++;
	if (size_add(S, n) < 0)
		return -1;
	struct pl_site *s = site_get(S, b->stack_id);
	if (!s)
		return -1;
	s->allocs++;
	s->bytes += n;
	const struct pl_sz *z = mpa_pl_size(&S->r, n);
	for (unsigned a = 0; a < PL_NALLOC; a++) {
		uint32_t cls;
		uint64_t sl = z ? z->slot[a] : mpa_pl_slot(&S->t, a, n, PL_GLIBC_MMAP_THRESHOLD, &cls);
		s->slot[a] += sl;
		S->slot[a] += sl;
	}
	mg_add(s, n);
	if (!s->first_ts || r->ts < s->first_ts)
		s->first_ts = r->ts;
	if (r->ts > s->last_ts)
		s->last_ts = r->ts;
	if (++s->live > s->peak_live)
		s->peak_live = s->live;
	return mpa_pl_replay_alloc(&S->r, r->img->id, b, r->b->api[r->i], 1, r->ts);
}

/* A program block ended: the replay, then its site. */
static int on_end(struct pl_state *S, const struct mpa_row *r, const struct mpa_block *b)
{
	if (!mpa_pl_replay_free(&S->r, r->img->id, b))
		return 0; /* allocated before the selection */
	/* a forked child's copy was counted in its parent, not here */
	if (b->flags & MPA_BLK_INHERITED)
		return 0;
	uint32_t i = site_find(S, b->stack_id); /* made at its allocation */
	if (i == UINT32_MAX)
		return 0;
	struct pl_site *s = &S->sites[i];
	if (s->live)
		s->live--;
	uint64_t life = r->ts > b->ts ? r->ts - b->ts : 0;
	if (!s->life && !(s->life = calloc(PL_HBUCKETS, sizeof *s->life)))
		return -1;
	uint32_t k = mpa_pl_hbucket(life);
	if (s->life[k] < UINT32_MAX)
		s->life[k]++;
	s->frees++;
	if (life < s->life_min)
		s->life_min = life;
	if (life > s->life_max)
		s->life_max = life;
	return 0;
}

static int pl_on_row(void *state, const struct mpa_row *r)
{
	struct pl_state *S = state;
	switch (r->kind) {
	case MPA_KIND_POOL_CREATE:
	case MPA_KIND_POOL_ALLOC:
	case MPA_KIND_POOL_FREE:
	case MPA_KIND_POOL_DESTROY:
		return on_pool_row(S, r);
	case MPA_KIND_ALLOC:
	case MPA_KIND_REALLOC:
	case MPA_KIND_FREE:
		break;
	default:
		return 0;
	}
	if (!r->img || r->img->kernel)
		return 0;
	if (r->dup && program_block(r->dup) && on_end(S, r, r->dup) < 0)
		return -1;
	if (r->old && program_block(r->old) && on_end(S, r, r->old) < 0)
		return -1;
	if (r->blk && program_block(r->blk) && on_alloc(S, r, r->blk) < 0)
		return -1;
	return 0;
}

static int pl_on_image_end(void *state, const struct mpa_image *img)
{
	struct pl_state *S = state;
	if (img->kernel)
		return 0;
	for (uint32_t i = 0; i < S->npools; i++) {
		struct pl_pool *p = &S->pools[i];
		if (p->img != img->id || p->how != PL_END_RUNNING)
			continue;
		count_unreturned(p, img);
		end_pool(S, p, img->end_ts, PL_END_IMAGE);
	}
	/* the sites' live counts lose the image's blocks */
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(img, &cur));) {
		if (!program_block(b) || (b->flags & MPA_BLK_INHERITED))
			continue;
		uint32_t i = site_find(S, b->stack_id);
		if (i != UINT32_MAX && S->sites[i].live)
			S->sites[i].live--;
	}
	mpa_pl_replay_image_end(&S->r, img);
	return S->r.oom ? -1 : 0;
}

static int pl_on_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct pl_state *S = state;
	(void)parent;
	/* the child's inherited pools and objects */
	uint64_t n = 0;
	const struct mpa_pool *mp = mpa_image_pools(child, &n);
	for (uint64_t k = 0; k < n; k++) {
		struct pl_pool *p = new_pool(S, child, &mp[k], child->start_ts);
		if (!p)
			return -1;
		p->inherited = 1;
		uint64_t cur = 0;
		for (const struct mpa_block *b; (b = mpa_image_next_pool_object(child, &cur));)
			p->in_use += b->aux == p->id;
		level(p);
	}
	/* the modeled allocators start with the inherited blocks in place */
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(child, &cur));)
		if (program_block(b) &&
		    mpa_pl_replay_alloc(&S->r, child->id, b, 0, 0, child->start_ts) < 0)
			return -1;
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	const struct pl_size *x = a, *y = b;
	return x->size < y->size ? -1 : x->size > y->size;
}

static int pl_end(void *state, char *err, size_t errlen)
{
	struct pl_state *S = state;
	/* the small sizes join the others (then one array, sorted) */
	for (uint64_t n = 0; n < PL_DIRECT_SIZES; n++) {
		if (!S->small_sizes[n])
			continue;
		if (mpa_pl_grow((void **)&S->sizes, &S->capsizes, S->nsizes + 1, sizeof *S->sizes) < 0) {
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
		S->sizes[S->nsizes++] = (struct pl_size){n, S->small_sizes[n]};
	}
	if (S->nsizes)
		qsort(S->sizes, S->nsizes, sizeof *S->sizes, cmp_size);
	/* the map indexes are stale from here on: only the sorted array is used */
	mpa_pl_map_release(&S->size_ix);
	if (S->nsizes) {
		uint64_t *sz = malloc(S->nsizes * sizeof *sz), *ct = malloc(S->nsizes * sizeof *ct);
		S->opt = malloc((S->k < S->nsizes ? S->k : S->nsizes) * sizeof *S->opt);
		if (!sz || !ct || !S->opt) {
			free(sz);
			free(ct);
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
		for (uint32_t i = 0; i < S->nsizes; i++) {
			sz[i] = S->sizes[i].size;
			ct[i] = S->sizes[i].count;
		}
		S->opt_align = S->align;
		int rc = mpa_pl_optimal_classes(sz, ct, S->nsizes, S->k, &S->opt_align, S->opt,
						&S->nopt, &S->opt_waste);
		free(sz);
		free(ct);
		if (rc < 0) {
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
	}
	/* pools still running end with the capture (their image ended first,
	 * so none should be left; a pool of an image without end is closed) */
	for (uint32_t i = 0; i < S->npools; i++)
		if (S->pools[i].how == PL_END_RUNNING)
			end_pool(S, &S->pools[i], S->ctx->span_last, PL_END_IMAGE);
	S->ended = 1;
	return 0;
}

static int pl_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	return mpa_pl_emit(state, out, err, errlen);
}

static void pl_headline(void *state, char *line, size_t len)
{
	mpa_pl_headline(state, line, len);
}

static void pl_release(void *state)
{
	struct pl_state *S = state;
	if (!S)
		return;
	for (uint32_t i = 0; i < S->npools; i++) {
		free(S->pools[i].hist);
		free(S->pools[i].series);
	}
	free(S->pools);
	mpa_pl_map_release(&S->live_pools);
	free(S->sizes);
	free(S->small_sizes);
	mpa_pl_map_release(&S->size_ix);
	for (uint32_t i = 0; i < S->nsites; i++)
		free(S->sites[i].life);
	free(S->sites);
	mpa_pl_map_release(&S->site_ix);
	free(S->site_of);
	mpa_pl_replay_release(&S->r);
	mpa_pl_tables_release(&S->t);
	free(S->opt);
	free(S);
}

const struct mpa_analyzer mpa_analyzer_pool = {
	.name = "pool",
	.summary = "custom pools (occupancy, capacity advice, anomalies), size-class waste under "
		   "glibc/jemalloc/tcmalloc/mimalloc and optimal classes, allocator what-if replay, "
		   "pooling candidates",
	.kinds = MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
		 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_POOL_CREATE) |
		 MPT_KINDBIT(MPA_KIND_POOL_ALLOC) | MPT_KINDBIT(MPA_KIND_POOL_FREE) |
		 MPT_KINDBIT(MPA_KIND_POOL_DESTROY),
	.columns = MPT_COLBIT(MPT_COL_API) | MPT_COLBIT(MPT_COL_POOL_ID),
	.options = pl_options,
	.needs = MPA_NEED_BLOCK_SCRATCH,
	.begin = pl_begin,
	.on_row = pl_on_row,
	.on_image_end = pl_on_image_end,
	.on_fork = pl_on_fork,
	.end = pl_end,
	.emit = pl_emit,
	.release = pl_release,
	.headline = pl_headline,
};
