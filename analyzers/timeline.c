/* The timeline and allocation-pattern analyzer.
 *
 * One pass over alloc/free/realloc, kalloc/kfree, map/unmap and
 * proc_exec/proc_exit rows.  It keeps the live heap (one hash table of live
 * blocks per process image, one for the kernel), the mapped ranges of each
 * image, per-site counters, per-series time buckets and a few running
 * integrals; everything else is derived in end().  Memory grows with the
 * live heap, the number of sites, process images and buckets, never with the
 * number of rows.  Every metric is defined in doc/analyzers-timeline.md.
 */
#include "timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL_REC (UINT32_MAX - 1)   /* image index used for kernel blocks */
#define MAX_BUCKETS (1u << 20)        /* hard cap on kept buckets */
#define INTERVAL_BUCKETS (1u << 16)   /* with a fixed interval: most buckets before it doubles */
#define NS_PER_S 1000000000.0

#define STACK_DIRECT (UINT32_C(1) << 22)

static const struct mpa_option tl_options[] = {
	{"visualization", "timeline_points", MPA_OPT_INT, "1000",
	 "most time buckets in the timeline (buckets)"},
	{"visualization", "timeline_interval_ms", MPA_OPT_FLOAT, "0",
	 "timeline bucket width (ms); 0 = capture span / timeline_points"},
	{"alerts", "memory_pressure_threshold", MPA_OPT_INT, "1073741824",
	 "live heap above which time counts as memory pressure (bytes, 0 = off)"},
	{"patterns", "temporary_threshold_ms", MPA_OPT_FLOAT, "1",
	 "blocks freed sooner than this after allocation are short-lived (ms, 0 = off)"},
	{"patterns", "top_n", MPA_OPT_INT, "20", "rows in the hotspot, size and site tables (rows)"},
	{"patterns", "burst_factor", MPA_OPT_FLOAT, "3",
	 "a bucket with at least this times the median allocation count is a burst/spike (ratio)"},
	{"patterns", "phase_buckets", MPA_OPT_INT, "50",
	 "phases are found on at most this many merged timeline buckets (buckets)"},
	{"patterns", "exclude_tracer", MPA_OPT_BOOL, "true",
	 "leave out blocks the tracer allocated for itself, told by their stacks (LTTng-UST, mpa's "
	 "preload, libnuma's constructor; doc/analyzers-timeline.md)"},
	{"patterns", "min_calls", MPA_OPT_INT, "100",
	 "allocations at one site before a reuse or pool recommendation (calls)"},
	{"patterns", "min_realloc_growth", MPA_OPT_INT, "16",
	 "growing reallocs at one site before a reserve recommendation (calls)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}};

/* ---- small helpers -------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint64_t nc = *cap ? (uint64_t)*cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	if (nc > UINT32_MAX)
		return -1;
	void *p = realloc(*arr, (size_t)nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = (uint32_t)nc;
	return 0;
}

/* ---- series and buckets --------------------------------------------------- */

struct mpa_tl_bucket mpa_timeline_bucket(const struct mpa_tl_series *s, uint64_t a)
{
	struct mpa_tl_bucket z;
	memset(&z, 0, sizeof z);
	if (!s->n || a < s->first)
		return z;
	if (a < s->first + s->n)
		return s->bk[a - s->first];
	const struct mpa_tl_bucket *l = &s->bk[s->n - 1];
	z.live_max = z.live_end = l->live_end;
	z.blocks_max = z.blocks_end = l->blocks_end;
	return z;
}

/* Adds the piece [t_prev, now] at the current value.  Times in ns from
 * t_first (no division on this path; seconds are applied at the end).
 * Signed conversions are one instruction; the values stay below 2^63 for
 * any real capture (a hostile one only gets a meaningless trend). */
static inline void trend_piece(struct mpa_tl_series *s, uint64_t now)
{
	if (now <= s->t_prev)
		return;
	double a = s->t_prev_d;
	double b = (double)(int64_t)(now - s->t_first);
	double l = (double)(int64_t)s->live, ld = l * (b - a);
	s->s_l += ld;
	s->s_tl += ld * (a + b) * 0.5;
	s->s_ll += ld * l;
	s->t_prev = now;
	s->t_prev_d = b;
}

/* Makes bucket b the series' current one and accounts time up to now. */
static int series_grow(struct mpa_tl_series *s, uint64_t b);

static inline int series_touch(struct mpa_tl_series *s, uint64_t b, uint64_t now)
{
	if (!s->seen) {
		s->seen = 1;
		s->t_first = s->t_prev = now;
		s->t_prev_d = 0;
	} else {
		trend_piece(s, now);
	}
	if (s->n && b < s->first + s->n)
		return 0;
	return series_grow(s, b);
}

/* Appends buckets up to b, each carrying the current value. */
static int series_grow(struct mpa_tl_series *s, uint64_t b)
{
	uint64_t need;
	if (!s->n) {
		s->first = b;
		need = 1;
	} else if (b >= s->first + s->n) {
		need = b - s->first + 1;
	} else {
		return 0;
	}
	if (need > MAX_BUCKETS)
		return -1;
	if (grow((void **)&s->bk, &s->cap, (uint32_t)need, sizeof *s->bk))
		return -1;
	while (s->n < need) {
		struct mpa_tl_bucket *k = &s->bk[s->n++];
		memset(k, 0, sizeof *k);
		k->live_max = k->live_end = s->live;
		k->blocks_max = k->blocks_end = s->blocks;
	}
	return 0;
}

/* The series' value changes by +add -sub bytes and dblocks blocks at now
 * (after series_touch).  Returns 1 when this is a new peak. */
static inline int series_move(struct mpa_tl_series *s, uint64_t now, uint64_t add, uint64_t sub,
		       int64_t dblocks)
{
	s->live = s->live - sub + add;
	s->blocks = (uint64_t)((int64_t)s->blocks + dblocks);
	struct mpa_tl_bucket *k = &s->bk[s->n - 1];
	if (s->live > k->live_max)
		k->live_max = s->live;
	if (s->blocks > k->blocks_max)
		k->blocks_max = s->blocks;
	k->live_end = s->live;
	k->blocks_end = s->blocks;
	if (s->live > s->peak) {
		s->peak = s->live;
		s->peak_blocks = s->blocks;
		s->peak_ts = now;
		return 1;
	}
	return 0;
}

static struct mpa_tl_bucket *series_cur(struct mpa_tl_series *s)
{
	return &s->bk[s->n - 1];
}

/* Halves the resolution of a series: bucket a becomes a / 2. */
static void series_halve(struct mpa_tl_series *s)
{
	if (!s->n)
		return;
	uint64_t f = s->first, nf = f / 2;
	uint32_t out = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t a = f + i;
		uint32_t j = (uint32_t)(a / 2 - nf);
		if (i == 0 || a % 2 == 0) {
			s->bk[j] = s->bk[i];
		} else {
			struct mpa_tl_bucket *x = &s->bk[j];
			const struct mpa_tl_bucket *y = &s->bk[i];
			if (y->live_max > x->live_max)
				x->live_max = y->live_max;
			if (y->blocks_max > x->blocks_max)
				x->blocks_max = y->blocks_max;
			x->live_end = y->live_end;
			x->blocks_end = y->blocks_end;
			x->allocs += y->allocs;
			x->frees += y->frees;
			x->bytes_alloc += y->bytes_alloc;
			x->bytes_freed += y->bytes_freed;
		}
		out = j + 1;
	}
	s->first = nf;
	s->n = out;
}

static void series_finish(struct mpa_tl_series *s, uint64_t t_end)
{
	if (!s->seen)
		return;
	if (t_end < s->t_prev)
		t_end = s->t_prev;
	trend_piece(s, t_end);
	s->t_end = t_end;
	double T = (double)(t_end - s->t_first); /* ns */
	s->slope = 0;
	s->r2 = 0;
	if (T <= 0)
		return;
	/* Least squares of live(t) on [0, T], weighted by time:
	 * slope = cov(t, L) / var(t) with var(t) = T^2/12. */
	double mean = s->s_l / T;
	double cov = s->s_tl / T - (T / 2.0) * mean;
	double var_t = T * T / 12.0;
	double var_l = s->s_ll / T - mean * mean;
	s->slope = cov / var_t * NS_PER_S; /* bytes/ns -> bytes/s */
	if (var_l > 0 && var_l * var_t > 0) {
		double r2 = cov * cov / (var_t * var_l);
		s->r2 = r2 > 1.0 ? 1.0 : r2;
	}
}

static void series_release(struct mpa_tl_series *s)
{
	free(s->bk);
	s->bk = NULL;
	s->n = s->cap = 0;
}

/* ---- time ----------------------------------------------------------------- */

static void halve_all(struct mpa_tl_state *st)
{
	st->width *= 2;
	st->cb_valid = 0;
	series_halve(&st->user);
	series_halve(&st->kernel);
	series_halve(&st->mapped);
	for (uint32_t i = 0; i < st->nprocs; i++)
		series_halve(&st->procs[i].s);
}

static uint64_t cur_bucket_slow(struct mpa_tl_state *st, uint64_t d);

/* Bucket of st->now; widens the buckets when it is past the limit. */
static inline uint64_t cur_bucket(struct mpa_tl_state *st)
{
	if (st->now < st->t0)
		return 0;
	uint64_t d = st->now - st->t0;
	if (st->cb_valid && d >= st->cb_lo && d < st->cb_hi)
		return st->cb_index;
	return cur_bucket_slow(st, d);
}

static uint64_t cur_bucket_slow(struct mpa_tl_state *st, uint64_t d)
{
	while (d / st->width >= st->limit && st->width <= UINT64_MAX / 2)
		halve_all(st);
	uint64_t b = d / st->width;
	st->cb_index = b;
	st->cb_lo = b * st->width;
	st->cb_hi = st->cb_lo + st->width < st->cb_lo ? UINT64_MAX : st->cb_lo + st->width;
	st->cb_valid = 1;
	return b;
}

/* ---- sites ---------------------------------------------------------------- */

static uint32_t site_get_hashed(struct mpa_tl_state *st, uint32_t kernel, uint32_t stack_id);

/* The site of (domain, stack): domain 0 user, 1 kernel, 2 user rows
 * recorded before the tracer was live. */
static uint32_t site_get(struct mpa_tl_state *st, uint32_t kernel, uint32_t stack_id)
{
	if (stack_id >= STACK_DIRECT)
		return site_get_hashed(st, kernel, stack_id);
	uint32_t *tab = st->stack_site[kernel];
	if (stack_id < st->stack_site_cap[kernel] && tab[stack_id])
		return tab[stack_id] - 1;
	uint32_t idx = site_get_hashed(st, kernel, stack_id);
	if (idx == UINT32_MAX)
		return idx;
	if (stack_id >= st->stack_site_cap[kernel]) {
		uint32_t nc = st->stack_site_cap[kernel] ? st->stack_site_cap[kernel] : 1024;
		while (nc <= stack_id)
			nc *= 2;
		tab = realloc(tab, nc * sizeof *tab);
		if (!tab)
			return UINT32_MAX;
		memset(tab + st->stack_site_cap[kernel], 0,
		       (nc - st->stack_site_cap[kernel]) * sizeof *tab);
		st->stack_site[kernel] = tab;
		st->stack_site_cap[kernel] = nc;
	}
	tab[stack_id] = idx + 1;
	return idx;
}

static uint32_t site_get_hashed(struct mpa_tl_state *st, uint32_t kernel, uint32_t stack_id)
{
	if ((uint64_t)(st->nsites + 1) * 2 > st->site_cap) {
		uint32_t ncap = st->site_cap ? st->site_cap * 2 : 256;
		if (ncap <= st->site_cap)
			return UINT32_MAX;
		uint32_t *ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return UINT32_MAX;
		for (uint32_t i = 0; i < st->nsites; i++) {
			uint64_t key = ((uint64_t)st->sites[i].dom << 32) | st->sites[i].stack_id;
			uint32_t j = (uint32_t)(mix64(key) & (ncap - 1));
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = i + 1;
		}
		free(st->site_slots);
		st->site_slots = ns;
		st->site_cap = ncap;
	}
	uint64_t key = ((uint64_t)kernel << 32) | stack_id;
	uint32_t mask = st->site_cap - 1;
	uint32_t j = (uint32_t)(mix64(key) & mask);
	while (st->site_slots[j]) {
		const struct mpa_tl_site *s = &st->sites[st->site_slots[j] - 1];
		if (s->stack_id == stack_id && s->dom == kernel)
			return st->site_slots[j] - 1;
		j = (j + 1) & mask;
	}
	if (grow((void **)&st->sites, &st->cap_sites, st->nsites + 1, sizeof *st->sites))
		return UINT32_MAX;
	struct mpa_tl_site *s = &st->sites[st->nsites];
	memset(s, 0, sizeof *s);
	s->stack_id = stack_id;
	s->dom = kernel;
	s->kernel = kernel == 1;
	/* the start-up; the tracer's own blocks are marked by blk_site() */
	s->tracer = kernel == 2;
	s->min_size = UINT64_MAX;
	st->site_slots[j] = ++st->nsites;
	return st->nsites - 1;
}

/* ---- per-site live bytes and the peak snapshot ----------------------------
 *
 * The sites holding the peak are found exactly without copying the site
 * table: epoch[d] counts the peaks of domain d so far; each site remembers
 * its value as it stood at the latest peak (snap_*) the first time it
 * changes after that peak.  At the end a site whose snap_epoch is the
 * current epoch changed since the peak and reports snap_*; any other site
 * has not changed since the peak and reports its current value. */

static void site_move(struct mpa_tl_state *st, struct mpa_tl_site *s, uint64_t add, uint64_t sub,
		      int64_t dblocks)
{
	uint64_t e = st->epoch[s->kernel];
	if (s->snap_epoch != e) {
		s->snap_epoch = e;
		s->snap_live = s->live;
		s->snap_blocks = s->live_blocks;
	}
	s->live = s->live - sub + add;
	s->live_blocks = (uint64_t)((int64_t)s->live_blocks + dblocks);
	if (s->live > s->max_live)
		s->max_live = s->live;
}

static uint64_t site_at_peak(const struct mpa_tl_state *st, const struct mpa_tl_site *s,
			     uint64_t *blocks)
{
	if (s->snap_epoch == st->epoch[s->kernel]) {
		*blocks = s->snap_blocks;
		return s->snap_live;
	}
	*blocks = s->live_blocks;
	return s->live;
}

/* ---- sizes ---------------------------------------------------------------- */

static unsigned pow2_index(uint64_t size)
{
	if (!size)
		return 0;
	return 1u + (unsigned)(63 - __builtin_clzll(size));
}

static void size_count(struct mpa_tl_state *st, uint64_t size)
{
	unsigned k = pow2_index(size);
	st->pow2_count[k]++;
	st->pow2_bytes[k] += size;
	st->size_total++;
	if (size < MPA_TL_SMALL) {
		if (!st->small_sizes[size]++)
			st->small_used++;
		return;
	}
	if ((st->size_used + 1) * 2 > st->size_cap) {
		if (st->size_used >= MPA_TL_MAX_SIZES) {
			/* fall through: existing sizes still count exactly */
		} else {
			uint64_t ncap = st->size_cap ? st->size_cap * 2 : 256;
			struct mpa_tl_size *nt = calloc(ncap, sizeof *nt);
			if (nt) {
				for (uint64_t i = 0; i < st->size_cap; i++) {
					if (!st->size_tab[i].count)
						continue;
					uint64_t j = mix64(st->size_tab[i].size) & (ncap - 1);
					while (nt[j].count)
						j = (j + 1) & (ncap - 1);
					nt[j] = st->size_tab[i];
				}
				free(st->size_tab);
				st->size_tab = nt;
				st->size_cap = ncap;
			}
		}
	}
	if (!st->size_cap) {
		st->size_overflow++;
		return;
	}
	uint64_t mask = st->size_cap - 1, j = mix64(size) & mask;
	while (st->size_tab[j].count) {
		if (st->size_tab[j].size == size) {
			st->size_tab[j].count++;
			return;
		}
		j = (j + 1) & mask;
	}
	if ((st->size_used + 1) * 2 > st->size_cap) {
		st->size_overflow++;
		return;
	}
	st->size_tab[j].size = size;
	st->size_tab[j].count = 1;
	st->size_used++;
}

/* ---- memory pressure ------------------------------------------------------ */

static int pressure_push(struct mpa_tl_state *st, const struct mpa_tl_interval *iv)
{
	st->pressure_count++;
	st->pressure_ns += iv->end - iv->start;
	if (st->npressure >= MPA_TL_MAX_INTERVALS)
		return 0;
	if (st->npressure == st->pressure_cap) {
		uint64_t nc = st->pressure_cap ? st->pressure_cap * 2 : 8;
		void *p = realloc(st->pressure, nc * sizeof *st->pressure);
		if (!p)
			return -1;
		st->pressure = p;
		st->pressure_cap = nc;
	}
	st->pressure[st->npressure++] = *iv;
	return 0;
}

static int pressure_change(struct mpa_tl_state *st);

static inline int pressure_update(struct mpa_tl_state *st)
{
	uint64_t thr = st->p.pressure_bytes;
	if (!thr || (!st->in_pressure && st->user.live <= thr))
		return 0;
	return pressure_change(st);
}

static int pressure_change(struct mpa_tl_state *st)
{
	uint64_t thr = st->p.pressure_bytes, live = st->user.live;
	if (!st->in_pressure) {
		if (live > thr) {
			st->in_pressure = 1;
			st->cur_pressure.start = st->now;
			st->cur_pressure.max_bytes = live;
			st->cur_pressure.open = 0;
		}
		return 0;
	}
	if (live > st->cur_pressure.max_bytes)
		st->cur_pressure.max_bytes = live;
	if (live <= thr) {
		st->in_pressure = 0;
		st->cur_pressure.end = st->now;
		return pressure_push(st, &st->cur_pressure);
	}
	return 0;
}

/* ---- events --------------------------------------------------------------- */

/* The domain of a block's site: 1 kernel, 2 the start-up (early, without a
 * stack: left out with the tracer), 0 the program. */
static uint32_t blk_dom(const struct mpa_tl_state *st, const struct mpa_block *b, int kernel)
{
	if (kernel)
		return 1;
	return st->p.exclude_tracer && (b->flags & MPA_BLK_STARTUP) ? 2 : 0;
}

/* The site of a block; a block the heap model says is the tracer's makes
 * its site the tracer's (the same stack always is). */
static uint32_t blk_site(struct mpa_tl_state *st, const struct mpa_block *b, int kernel)
{
	uint32_t si = site_get(st, blk_dom(st, b, kernel), b->stack_id);
	if (si != UINT32_MAX && !kernel && st->p.exclude_tracer && (b->flags & MPA_BLK_TRACER))
		st->sites[si].tracer = 1;
	return si;
}

static uint64_t blk_bytes(const struct mpa_block *b, int kernel)
{
	return kernel && !b->size ? b->usable : b->size;
}

/* The timeline record of image img, created at its first sight. */
static uint32_t rec_of(struct mpa_tl_state *st, const struct mpa_image *img)
{
	if (img->kernel)
		return KERNEL_REC;
	if (img->id < st->img_cap && st->img_rec[img->id])
		return st->img_rec[img->id] - 1;
	if (img->id >= st->img_cap) {
		uint32_t nc = st->img_cap ? st->img_cap : 64;
		while (nc <= img->id && nc < UINT32_MAX / 2)
			nc *= 2;
		if (nc <= img->id)
			return UINT32_MAX;
		uint32_t *n = realloc(st->img_rec, (size_t)nc * sizeof *n);
		if (!n)
			return UINT32_MAX;
		memset(n + st->img_cap, 0, (size_t)(nc - st->img_cap) * sizeof *n);
		st->img_rec = n;
		st->img_cap = nc;
	}
	if (st->nprocs >= KERNEL_REC - 1 ||
	    grow((void **)&st->procs, &st->cap_procs, st->nprocs + 1, sizeof *st->procs))
		return UINT32_MAX;
	struct mpa_tl_proc *p = &st->procs[st->nprocs];
	memset(p, 0, sizeof *p);
	p->pid = img->pid;
	p->seq = img->seq;
	p->image = img->path;
	p->start_ts = st->now;
	st->img_rec[img->id] = ++st->nprocs;
	return st->nprocs - 1;
}

/* The two series an event of image rec moves: the image's and the total. */
struct target {
	struct mpa_tl_series *own;        /* NULL for the kernel */
	struct mpa_tl_series *total;
	int kernel;
};

static struct target target_of(struct mpa_tl_state *st, uint32_t rec)
{
	struct target t;
	if (rec == KERNEL_REC) {
		t.own = NULL;
		t.total = &st->kernel;
		t.kernel = 1;
	} else {
		t.own = &st->procs[rec].s;
		t.total = &st->user;
		t.kernel = 0;
	}
	return t;
}

static inline int touch(struct target *t, uint64_t b, uint64_t now)
{
	if (t->own && series_touch(t->own, b, now))
		return -1;
	return series_touch(t->total, b, now);
}

static inline int move(struct mpa_tl_state *st, struct target *t, uint64_t add, uint64_t sub,
		int64_t dblocks)
{
	if (t->own)
		series_move(t->own, st->now, add, sub, dblocks);
	if (series_move(t->total, st->now, add, sub, dblocks))
		st->epoch[t->kernel]++;
	if (!t->kernel)
		return pressure_update(st);
	return 0;
}

/* Counter updates on both series. */
#define BOTH(t, field, v)                                                      \
	do {                                                                   \
		if ((t)->own)                                                  \
			(t)->own->field += (v);                                \
		(t)->total->field += (v);                                      \
	} while (0)
#define BOTH_CUR(t, field, v)                                                  \
	do {                                                                   \
		if ((t)->own)                                                  \
			series_cur((t)->own)->field += (v);                    \
		series_cur((t)->total)->field += (v);                          \
	} while (0)

/* A program block ended (a free, or the old half of a realloc): counters
 * of its site and the series; the series' value is moved by the caller.
 * *size is its size; 0, or -1 when out of memory. */
static int take_block(struct mpa_tl_state *st, struct target *t, const struct mpa_block *old,
		      struct mpa_tl_series *heap, uint64_t *sizep)
{
	uint32_t si = blk_site(st, old, t->kernel);
	if (si == UINT32_MAX)
		return -1;
	struct mpa_tl_site *s = &st->sites[si];
	uint64_t size = blk_bytes(old, t->kernel);
	/* heaptrack: a free of the pointer of the latest allocation, with no
	 * other allocation or free in between, is a temporary allocation */
	int temporary = heap->last_alloc_ptr == old->ptr;
	heap->last_alloc_ptr = 0;
	int short_lived = st->p.short_ns && st->now >= old->ts &&
			  st->now - old->ts < st->p.short_ns;
	s->frees++;
	if (temporary) {
		s->temporary++;
		BOTH(t, temporary, 1);
	}
	if (short_lived) {
		s->short_lived++;
		BOTH(t, short_lived, 1);
	}
	site_move(st, s, 0, size, -1);
	*sizep = size;
	return 0;
}

/* A block whose allocation was missed being freed: it leaves its site;
 * *bytes and *blocks say what leaves the series. */
static int drop_dup(struct mpa_tl_state *st, struct target *t, const struct mpa_block *dup,
		    uint64_t *bytes, int64_t *blocks)
{
	*bytes = 0;
	*blocks = 0;
	if (!dup)
		return 0;
	uint32_t si = blk_site(st, dup, t->kernel);
	if (si == UINT32_MAX)
		return -1;
	if (st->sites[si].tracer) {
		st->tracer_frees++; /* a tracer block's free was missed */
		return 0;
	}
	uint64_t size = blk_bytes(dup, t->kernel);
	site_move(st, &st->sites[si], 0, size, -1);
	BOTH(t, dup_allocs, 1);
	*bytes = size;
	*blocks = 1;
	return 0;
}

static int ev_free(struct mpa_tl_state *st, const struct mpa_row *r, uint32_t rec, uint64_t b)
{
	struct target t = target_of(st, rec);
	struct mpa_tl_series *heap = t.own ? t.own : t.total;
	const struct mpa_block *old = r->old;
	if (!old) {
		BOTH(&t, unknown_frees, 1);
		return 0;
	}
	uint32_t si = blk_site(st, old, t.kernel);
	if (si == UINT32_MAX)
		return -1;
	if (st->sites[si].tracer) {
		st->tracer_frees++;
		return 0;
	}
	if (touch(&t, b, st->now))
		return -1;
	uint64_t size;
	if (take_block(st, &t, old, heap, &size))
		return -1;
	BOTH(&t, frees, 1);
	BOTH(&t, bytes_freed, size);
	BOTH_CUR(&t, frees, 1);
	BOTH_CUR(&t, bytes_freed, size);
	return move(st, &t, 0, size, -1);
}

/* alloc, kalloc and realloc rows that made a block live. */
static int ev_alloc(struct mpa_tl_state *st, const struct mpa_row *r, uint32_t rec, uint64_t b)
{
	struct target t = target_of(st, rec);
	struct mpa_tl_series *heap = t.own ? t.own : t.total;
	const struct mpa_block *nb = r->blk, *old = r->old;
	int is_realloc = r->kind == MPA_KIND_REALLOC && r->b->ptr[r->i];
	int old_tracer = 0;
	if (old) {
		uint32_t oi = blk_site(st, old, t.kernel);
		if (oi == UINT32_MAX)
			return -1;
		if (st->sites[oi].tracer) {
			/* the tracer's block: it leaves without a trace in the series */
			st->tracer_frees++;
			old = NULL;
			old_tracer = 1;
		}
	}
	uint64_t size = blk_bytes(nb, t.kernel);
	uint32_t si = blk_site(st, nb, t.kernel);
	if (si == UINT32_MAX)
		return -1;
	if (touch(&t, b, st->now))
		return -1;
	if (st->sites[si].tracer) {
		/* the new block is the tracer's: only kept so that its free is
		 * known; a program block it replaced becomes a free */
		if (old) {
			uint64_t sz;
			if (take_block(st, &t, old, heap, &sz))
				return -1;
			BOTH(&t, frees, 1);
			BOTH(&t, bytes_freed, sz);
			BOTH_CUR(&t, frees, 1);
			BOTH_CUR(&t, bytes_freed, sz);
			if (move(st, &t, 0, sz, -1))
				return -1;
		}
		uint64_t dup;
		int64_t dupb;
		if (drop_dup(st, &t, r->dup, &dup, &dupb) || (dupb && move(st, &t, 0, dup, -1)))
			return -1;
		st->tracer_allocs++;
		st->tracer_bytes += size;
		if (st->sites[si].dom == 2) {
			st->startup_allocs++;
			st->startup_bytes += size;
		}
		return 0;
	}
	uint64_t old_size = 0;
	int64_t dblocks = 1;
	if (is_realloc) {
		if (!old) {
			if (!old_tracer)
				BOTH(&t, unknown_reallocs, 1);
		} else {
			if (take_block(st, &t, old, heap, &old_size))
				return -1;
			dblocks = 0;
			struct mpa_tl_site *s = &st->sites[si];
			s->reallocs++;
			if (r->b->size[r->i] > old->size) {
				if (old->chain == 0)
					s->chains++;
				s->grow_reallocs++;
				if (nb->chain > s->max_chain)
					s->max_chain = nb->chain;
			}
			BOTH(&t, frees, 1);
			BOTH(&t, bytes_freed, old_size);
			BOTH_CUR(&t, frees, 1);
			BOTH_CUR(&t, bytes_freed, old_size);
		}
	}
	uint64_t dup;
	int64_t dupb;
	if (drop_dup(st, &t, r->dup, &dup, &dupb))
		return -1;
	struct mpa_tl_site *s = &st->sites[si];
	s->calls++;
	s->bytes += size;
	if (size < s->min_size)
		s->min_size = size;
	if (size > s->max_size)
		s->max_size = size;
	site_move(st, s, size, 0, 1);
	size_count(st, size);
	heap->last_alloc_ptr = nb->ptr;
	BOTH(&t, allocs, 1);
	BOTH(&t, bytes_alloc, size);
	BOTH_CUR(&t, allocs, 1);
	BOTH_CUR(&t, bytes_alloc, size);
	return move(st, &t, size, old_size + dup, dblocks - dupb);
}

/* map (mmap, mremap target, brk growth) or unmap by an image: the image's
 * and the total mapped bytes change by what is really added or removed (the
 * heap model keeps the regions); a map over mapped bytes replaces them
 * (MAP_FIXED). */
static int ev_map(struct mpa_tl_state *st, const struct mpa_row *r, uint32_t rec, uint64_t b)
{
	const struct mpa_map *m = r->map;
	if (r->failed || !m)
		return 0;
	/* the tracer's own mappings (and those of its start-up) are left out,
	 * like its blocks */
	if (m->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP)) {
		st->tracer_maps++;
		return 0;
	}
	int map = r->kind == MPA_KIND_MAP;
	if (rec == UINT32_MAX) {
		st->unmaps++;
		st->unknown_unmap_bytes += m->len;
		return 0;
	}
	uint64_t removed = r->unmapped, added = 0;
	if (map) {
		st->maps++;
		st->replaced_map_bytes += removed;
		added = m->len;
	} else {
		st->unmaps++;
		st->unknown_unmap_bytes += m->len - removed;
	}
	struct mpa_tl_maps *pm = &st->procs[rec].maps;
	pm->bytes = pm->bytes - removed + added;
	if (pm->bytes > pm->peak) {
		pm->peak = pm->bytes;
		pm->peak_ts = st->now;
	}
	if (series_touch(&st->mapped, b, st->now))
		return -1;
	series_move(&st->mapped, st->now, added, removed, 0);
	return 0;
}

/* Ends record rec of image img: its blocks are released (the OS reclaims
 * them at exit; exec replaces the heap).  Not counted as frees. */
static int proc_end(struct mpa_tl_state *st, uint32_t rec, const struct mpa_image *img, int how)
{
	struct mpa_tl_proc *p = &st->procs[rec];
	if (p->ended)
		return 0;
	uint64_t b = cur_bucket(st);
	p->ended = how;
	p->end_ts = st->now;
	uint64_t cur = 0;
	for (const struct mpa_block *e; (e = mpa_image_next_block(img, &cur));) {
		uint32_t si = blk_site(st, e, 0);
		if (si == UINT32_MAX)
			return -1;
		if (!st->sites[si].tracer)
			site_move(st, &st->sites[si], 0, e->size, -1);
	}
	if (p->maps.bytes) {
		if (series_touch(&st->mapped, b, st->now))
			return -1;
		series_move(&st->mapped, st->now, 0, p->maps.bytes, 0);
		st->mapped.released_bytes += p->maps.bytes;
		p->maps.bytes = 0;
	}
	if (!p->s.blocks && !p->s.live)
		return 0;
	struct target t = target_of(st, rec);
	if (touch(&t, b, st->now))
		return -1;
	uint64_t bytes = p->s.live, blocks = p->s.blocks;
	BOTH(&t, released_bytes, bytes);
	BOTH(&t, released_blocks, blocks);
	return move(st, &t, 0, bytes, -(int64_t)blocks);
}

/* The clock of the analyzer: the latest timestamp (rows may step back). */
static void advance(struct mpa_tl_state *st, uint64_t ts, int row)
{
	if (!st->started) {
		st->started = 1;
		st->now = ts;
		st->t0 = st->p.range_to > st->p.range_from ? st->p.range_from : ts;
	} else if (ts < st->now) {
		st->ts_backwards += row;
	} else {
		st->now = ts;
	}
}

static int tl_image_end(void *state, const struct mpa_image *img)
{
	struct mpa_tl_state *st = state;
	if (img->kernel || img->how == MPA_IMAGE_CAPTURE_END)
		return 0;
	if (!st->started)
		return 0;
	advance(st, img->end_ts, 0);
	uint32_t rec = rec_of(st, img);
	if (rec == UINT32_MAX)
		return -1;
	return proc_end(st, rec, img, img->how == MPA_IMAGE_EXEC ? MPA_TL_EXECED : MPA_TL_EXITED);
}

/* A fork: the child starts with a copy of the parent's live program blocks. */
static int tl_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct mpa_tl_state *st = state;
	(void)parent;
	advance(st, child->start_ts, 0);
	uint32_t rec = rec_of(st, child);
	if (rec == UINT32_MAX)
		return -1;
	struct target t = target_of(st, rec);
	uint64_t bytes = 0, blocks = 0, cur = 0;
	for (const struct mpa_block *e; (e = mpa_image_next_block(child, &cur));) {
		uint32_t si = blk_site(st, e, 0);
		if (si == UINT32_MAX)
			return -1;
		if (st->sites[si].tracer)
			continue;
		site_move(st, &st->sites[si], e->size, 0, 1);
		bytes += e->size;
		blocks++;
	}
	if (!blocks)
		return 0;
	if (touch(&t, cur_bucket(st), st->now))
		return -1;
	return move(st, &t, bytes, 0, (int64_t)blocks);
}

static int tl_on_row(void *state, const struct mpa_row *r)
{
	struct mpa_tl_state *st = state;
	advance(st, r->ts, 1);
	st->rows++;
	uint64_t b = cur_bucket(st);
	unsigned kind = r->kind;
	uint32_t rec = UINT32_MAX;
	if (r->img) {
		if ((rec = rec_of(st, r->img)) == UINT32_MAX)
			return -1;
		if (rec != KERNEL_REC && st->procs[rec].ended) {
			/* after its exit, in the grace: already released */
			st->after_exit_rows++;
			return 0;
		}
	}
	switch (kind) {
	case MPA_KIND_ALLOC:
	case MPA_KIND_REALLOC:
	case MPA_KIND_KALLOC:
	case MPA_KIND_FREE:
	case MPA_KIND_KFREE: {
		if (rec == UINT32_MAX) {
			/* a free in a process never seen: nothing of it is live */
			if (r->b->ptr[r->i])
				st->user.unknown_frees++;
			else
				st->user.free_null++;
			return 0;
		}
		struct target t = target_of(st, rec);
		if (r->failed) {
			BOTH(&t, failed, 1);
			return 0;
		}
		if (r->blk)
			return ev_alloc(st, r, rec, b);
		if (kind != MPA_KIND_REALLOC && !r->b->ptr[r->i]) {
			BOTH(&t, free_null, 1);
			return 0;
		}
		return ev_free(st, r, rec, b);
	}
	case MPA_KIND_MAP:
	case MPA_KIND_UNMAP:
		return ev_map(st, r, rec, b);
	case MPA_KIND_PROC_EXEC:
		/* the new image's series starts at the exec */
		if (rec == UINT32_MAX)
			return 0;
		st->procs[rec].image = r->img->path;
		return series_touch(&st->procs[rec].s, b, st->now);
	case MPA_KIND_PROC_EXIT:
		return rec == UINT32_MAX ? 0 : proc_end(st, rec, r->img, MPA_TL_EXITED);
	default:
		return 0;
	}
}

/* ---- the analyzer interface ----------------------------------------------- */

void mpa_timeline_params_default(struct mpa_tl_params *p)
{
	memset(p, 0, sizeof *p);
	p->points = 1000;
	p->interval_ns = 0;
	p->pressure_bytes = UINT64_C(1073741824);
	p->short_ns = 1000000;
	p->top_n = 20;
	p->burst_factor = 3.0;
	p->min_calls = 100;
	p->min_growth = 16;
	p->phase_buckets = 50;
	p->exclude_tracer = 1;
}

int mpa_timeline_begin_with(const struct mpa_ctx *ctx, const struct mpa_tl_params *p,
			    void **state, char *errbuf, size_t errlen)
{
	*state = NULL;
	if (p->points < 1 || p->points > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_points must be 1..1048576");
		return -1;
	}
	if (!(p->burst_factor >= 1.0) || !isfinite(p->burst_factor)) {
		mpa_errf(errbuf, errlen, "[patterns] burst_factor must be a number >= 1");
		return -1;
	}
	struct mpa_tl_state *st = calloc(1, sizeof *st);
	if (!st) {
		mpa_errf(errbuf, errlen, "out of memory");
		return -1;
	}
	st->ctx = ctx;
	st->p = *p;
	st->epoch[0] = st->epoch[1] = 1;
	if (p->interval_ns) {
		/* every series (each process image too) may hold this many */
		st->width = p->interval_ns;
		st->limit = p->points > INTERVAL_BUCKETS ? p->points : INTERVAL_BUCKETS;
	} else {
		st->limit = p->points;
		st->width = 1;
		if (p->range_to > p->range_from) {
			uint64_t span = p->range_to - p->range_from;
			st->width = span / p->points + (span % p->points != 0);
		}
	}
	*state = st;
	return 0;
}

static double opt_float(const mpa_config *c, const char *sec, const char *key, double def)
{
	return c ? mpa_config_float(c, sec, key) : def;
}

static int64_t opt_int(const mpa_config *c, const char *sec, const char *key, int64_t def)
{
	return c ? mpa_config_int(c, sec, key) : def;
}

static int tl_begin(const struct mpa_ctx *ctx, void **state, char *errbuf, size_t errlen)
{
	struct mpa_tl_params p;
	mpa_timeline_params_default(&p);
	const mpa_config *c = ctx ? ctx->config : NULL;
	int64_t points = opt_int(c, "visualization", "timeline_points", p.points);
	double interval = opt_float(c, "visualization", "timeline_interval_ms", 0);
	int64_t pressure = opt_int(c, "alerts", "memory_pressure_threshold", (int64_t)p.pressure_bytes);
	double tmp_ms = opt_float(c, "patterns", "temporary_threshold_ms", 1);
	int64_t top_n = opt_int(c, "patterns", "top_n", p.top_n);
	int64_t min_calls = opt_int(c, "patterns", "min_calls", (int64_t)p.min_calls);
	int64_t min_growth = opt_int(c, "patterns", "min_realloc_growth", (int64_t)p.min_growth);
	int64_t phase_buckets = opt_int(c, "patterns", "phase_buckets", (int64_t)p.phase_buckets);
	p.burst_factor = opt_float(c, "patterns", "burst_factor", p.burst_factor);
	if (points < 1 || points > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_points must be 1..1048576");
		return -1;
	}
	if (!(interval >= 0) || interval > 1e12) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_interval_ms must be >= 0");
		return -1;
	}
	if (pressure < 0) {
		mpa_errf(errbuf, errlen, "[alerts] memory_pressure_threshold must be >= 0");
		return -1;
	}
	if (!(tmp_ms >= 0) || tmp_ms > 1e12) {
		mpa_errf(errbuf, errlen, "[patterns] temporary_threshold_ms must be >= 0");
		return -1;
	}
	if (phase_buckets < 1 || phase_buckets > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[patterns] phase_buckets must be 1..1048576");
		return -1;
	}
	if (top_n < 1 || top_n > 100000 || min_calls < 1 || min_growth < 1) {
		mpa_errf(errbuf, errlen,
			"[patterns] top_n must be 1..100000, min_calls and min_realloc_growth >= 1");
		return -1;
	}
	p.points = (uint32_t)points;
	p.interval_ns = (uint64_t)(interval * 1e6 + 0.5);
	if (interval > 0 && !p.interval_ns)
		p.interval_ns = 1;
	p.pressure_bytes = (uint64_t)pressure;
	p.short_ns = (uint64_t)(tmp_ms * 1e6 + 0.5);
	p.top_n = (uint32_t)top_n;
	p.min_calls = (uint64_t)min_calls;
	p.min_growth = (uint64_t)min_growth;
	p.phase_buckets = (uint64_t)phase_buckets;
	p.exclude_tracer = c ? mpa_config_bool(c, "patterns", "exclude_tracer") : 1;

	/* The time range from the chunk index, so that the buckets are fixed
	 * before the first row: exactly timeline_points of them. */
	if (ctx && ctx->reader) {
		uint32_t n = mpt_reader_chunk_count(ctx->reader);
		uint64_t lo = UINT64_MAX, hi = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct mpt_chunk_info ci;
			if (mpt_reader_chunk_info(ctx->reader, i, &ci) != MPT_OK || !ci.rows)
				continue;
			if (ci.ts_min < lo)
				lo = ci.ts_min;
			if (ci.ts_max > hi)
				hi = ci.ts_max;
		}
		if (lo <= hi) {
			if (ctx->ts_from > lo)
				lo = ctx->ts_from;
			uint64_t end = hi < UINT64_MAX ? hi + 1 : hi;
			if (ctx->ts_to && ctx->ts_to < end)
				end = ctx->ts_to;
			if (end > lo) {
				p.range_from = lo;
				p.range_to = end;
			}
		}
	}
	return mpa_timeline_begin_with(ctx, &p, state, errbuf, errlen);
}

#define KINDS_READ                                                             \
	(MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |            \
	 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_KALLOC) |        \
	 MPT_KINDBIT(MPA_KIND_KFREE) | MPT_KINDBIT(MPA_KIND_PROC_EXEC) |       \
	 MPT_KINDBIT(MPA_KIND_PROC_EXIT) | MPT_KINDBIT(MPA_KIND_MAP) |          \
	 MPT_KINDBIT(MPA_KIND_UNMAP))

/* ---- end: derived results ------------------------------------------------- */

static char *site_label(const struct mpa_tl_state *st, uint32_t stack_id)
{
	char buf[1024];
	if (st->ctx && st->ctx->reader) {
		mpa_site_name(st->ctx, stack_id, buf, sizeof buf);
	} else if (stack_id) {
		snprintf(buf, sizeof buf, "stack %" PRIu32, stack_id);
	} else {
		snprintf(buf, sizeof buf, "??");
	}
	return strdup(buf);
}

struct named {
	char *name;
	uint32_t site;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return (x->site > y->site) - (x->site < y->site);
}

static int build_groups(struct mpa_tl_state *st)
{
	if (!st->nsites)
		return 0;
	struct named *nm = calloc(st->nsites, sizeof *nm);
	if (!nm)
		return -1;
	/* the tracer's sites are left out (their blocks count nowhere) */
	uint32_t nn = 0;
	for (uint32_t i = 0; i < st->nsites; i++) {
		if (st->sites[i].tracer)
			continue;
		nm[nn].site = i;
		nm[nn].name = site_label(st, st->sites[i].stack_id);
		if (!nm[nn].name) {
			for (uint32_t j = 0; j < nn; j++)
				free(nm[j].name);
			free(nm);
			return -1;
		}
		nn++;
	}
	qsort(nm, nn, sizeof *nm, cmp_named);
	st->groups = calloc(st->nsites, sizeof *st->groups);
	if (!st->groups) {
		for (uint32_t j = 0; j < nn; j++)
			free(nm[j].name);
		free(nm);
		return -1;
	}
	/* one group per (kernel, name): two passes so kernel groups never merge
	 * with user groups of the same name */
	for (uint32_t kern = 0; kern < 2; kern++) {
		struct mpa_tl_group *g = NULL;
		const char *gname = NULL;
		for (uint32_t i = 0; i < nn; i++) {
			const struct mpa_tl_site *s = &st->sites[nm[i].site];
			if (s->kernel != kern)
				continue;
			if (!gname || strcmp(gname, nm[i].name)) {
				g = &st->groups[st->ngroups++];
				memset(g, 0, sizeof *g);
				g->name = strdup(nm[i].name);
				if (!g->name) {
					st->ngroups--;
					for (uint32_t j = 0; j < nn; j++)
						free(nm[j].name);
					free(nm);
					return -1;
				}
				g->kernel = kern;
				g->min_size = UINT64_MAX;
				gname = nm[i].name;
			}
			uint64_t pb;
			g->calls += s->calls;
			g->bytes += s->bytes;
			g->frees += s->frees;
			g->temporary += s->temporary;
			g->short_lived += s->short_lived;
			g->live_end += s->live;
			g->blocks_end += s->live_blocks;
			g->peak_bytes += site_at_peak(st, s, &pb);
			g->peak_blocks += pb;
			if (s->calls && s->min_size < g->min_size)
				g->min_size = s->min_size;
			if (s->max_size > g->max_size)
				g->max_size = s->max_size;
			g->reallocs += s->reallocs;
			g->grow_reallocs += s->grow_reallocs;
			g->chains += s->chains;
			if (s->max_chain > g->max_chain)
				g->max_chain = s->max_chain;
		}
	}
	for (uint32_t j = 0; j < nn; j++)
		free(nm[j].name);
	free(nm);
	for (uint32_t i = 0; i < st->ngroups; i++)
		if (st->groups[i].min_size == UINT64_MAX)
			st->groups[i].min_size = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Phase bucket j: timeline buckets [j*k, (j+1)*k) merged (k = phase_group). */
static struct mpa_tl_bucket phase_bucket(const struct mpa_tl_state *st, uint64_t j)
{
	struct mpa_tl_bucket m;
	memset(&m, 0, sizeof m);
	uint64_t k = st->phase_group, lo = j * k, hi = lo + k;
	if (hi > st->buckets)
		hi = st->buckets;
	for (uint64_t a = lo; a < hi; a++) {
		struct mpa_tl_bucket x = mpa_timeline_bucket(&st->user, a);
		if (x.live_max > m.live_max)
			m.live_max = x.live_max;
		m.live_end = x.live_end;
		m.allocs += x.allocs;
		m.frees += x.frees;
		m.bytes_alloc += x.bytes_alloc;
		m.bytes_freed += x.bytes_freed;
	}
	return m;
}

static int build_phases(struct mpa_tl_state *st)
{
	uint64_t nb = st->buckets;
	if (!nb)
		return 0;
	uint64_t pb = st->p.phase_buckets ? st->p.phase_buckets : 1;
	st->phase_group = nb / pb + (nb % pb != 0);
	uint64_t np = nb / st->phase_group + (nb % st->phase_group != 0);
	uint64_t *counts = malloc(np * sizeof *counts);
	if (!counts)
		return -1;
	uint64_t na = 0;
	for (uint64_t j = 0; j < np; j++) {
		struct mpa_tl_bucket k = phase_bucket(st, j);
		if (k.allocs)
			counts[na++] = k.allocs;
	}
	uint64_t median = 0;
	if (na) {
		qsort(counts, na, sizeof *counts, cmp_u64);
		median = counts[(na - 1) / 2];
	}
	free(counts);
	st->phase_median = median;
	double high = st->p.burst_factor * (double)median;
	st->phases = calloc(np, sizeof *st->phases);
	if (!st->phases)
		return -1;
	uint64_t live_before = 0;
	int cls_prev = -1;
	uint64_t runs_first = 0;
	for (uint64_t j = 0; j < np; j++) {
		struct mpa_tl_bucket k = phase_bucket(st, j);
		/* 0 idle, 1 normal, 2 high */
		int cls = (!k.allocs && !k.frees) ? 0 : (k.allocs && (double)k.allocs >= high) ? 2 : 1;
		struct mpa_tl_phase *ph;
		if (cls != cls_prev) {
			ph = &st->phases[st->nphases++];
			memset(ph, 0, sizeof *ph);
			ph->kind = cls == 0 ? MPA_TL_IDLE : cls == 1 ? MPA_TL_STEADY : MPA_TL_BURST;
			ph->first = j * st->phase_group;
			ph->live_start = live_before;
			cls_prev = cls;
			runs_first = j;
		} else {
			ph = &st->phases[st->nphases - 1];
		}
		ph->last = (j + 1) * st->phase_group - 1;
		if (ph->last >= nb)
			ph->last = nb - 1;
		/* a high run of one phase bucket is a spike, longer a burst */
		if (cls == 2)
			ph->kind = j == runs_first ? MPA_TL_SPIKE : MPA_TL_BURST;
		ph->allocs += k.allocs;
		ph->frees += k.frees;
		ph->bytes_alloc += k.bytes_alloc;
		ph->bytes_freed += k.bytes_freed;
		ph->live_end = k.live_end;
		if (k.live_max > ph->live_max)
			ph->live_max = k.live_max;
		live_before = k.live_end;
	}
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	const struct mpa_tl_size *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->size > y->size) - (x->size < y->size);
}

static int build_top_sizes(struct mpa_tl_state *st)
{
	if (!st->size_used && !st->small_used)
		return 0;
	struct mpa_tl_size *all = malloc((st->size_used + st->small_used) * sizeof *all);
	if (!all)
		return -1;
	uint64_t n = 0;
	for (uint64_t i = 0; i < MPA_TL_SMALL; i++)
		if (st->small_sizes[i]) {
			all[n].size = i;
			all[n++].count = st->small_sizes[i];
		}
	for (uint64_t i = 0; i < st->size_cap; i++)
		if (st->size_tab[i].count)
			all[n++] = st->size_tab[i];
	qsort(all, n, sizeof *all, cmp_size);
	st->ntop_sizes = (uint32_t)(n < st->p.top_n ? n : st->p.top_n);
	st->top_sizes = all;
	return 0;
}

static int add_rec(struct mpa_tl_state *st, const char *kind, const char *site, uint64_t calls,
		   uint64_t count, double value, const char *msg)
{
	void *p = realloc(st->recs, (st->nrecs + 1) * sizeof *st->recs);
	if (!p)
		return -1;
	st->recs = p;
	struct mpa_tl_rec *r = &st->recs[st->nrecs];
	r->kind = kind;
	r->site = strdup(site);
	r->message = strdup(msg);
	r->calls = calls;
	r->count = count;
	r->value = value;
	if (!r->site || !r->message) {
		free(r->site);
		free(r->message);
		return -1;
	}
	st->nrecs++;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct mpa_tl_rec *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	if (c)
		return c;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->site, y->site);
}

static int build_recs(struct mpa_tl_state *st)
{
	char msg[1536];
	for (uint32_t i = 0; i < st->ngroups; i++) {
		const struct mpa_tl_group *g = &st->groups[i];
		const char *where = g->kernel ? "kernel site" : "site";
		if (g->calls >= st->p.min_calls && g->temporary * 2 >= g->calls) {
			double share = (double)g->temporary / (double)g->calls;
			snprintf(msg, sizeof msg,
				 "reuse a buffer: %" PRIu64 " of %" PRIu64
				 " allocations at %s '%s' (%.1f%%) were freed before any other allocation (temporary)",
				 g->temporary, g->calls, where, g->name, share * 100.0);
			if (add_rec(st, "reuse-buffer", g->name, g->calls, g->temporary, share, msg))
				return -1;
		}
		if (g->calls >= st->p.min_calls && g->min_size == g->max_size &&
		    g->frees * 2 >= g->calls) {
			snprintf(msg, sizeof msg,
				 "use a pool or free list: all %" PRIu64 " allocations at %s '%s' are %" PRIu64
				 " bytes and %" PRIu64 " were freed",
				 g->calls, where, g->name, g->min_size, g->frees);
			if (add_rec(st, "pool", g->name, g->calls, g->calls, (double)g->min_size, msg))
				return -1;
		}
		if (g->grow_reallocs >= st->p.min_growth && g->chains &&
		    g->grow_reallocs >= 4 * g->chains) {
			double avg = (double)g->grow_reallocs / (double)g->chains;
			snprintf(msg, sizeof msg,
				 "reserve capacity up front: %" PRIu64 " growing reallocs at %s '%s' in %" PRIu64
				 " chains (%.1f per chain, longest %" PRIu64 ")",
				 g->grow_reallocs, where, g->name, g->chains, avg, g->max_chain);
			if (add_rec(st, "reserve", g->name, g->calls, g->grow_reallocs, avg, msg))
				return -1;
		}
	}
	const struct mpa_tl_series *u = &st->user;
	double T = (double)(u->t_end - u->t_first) / NS_PER_S;
	if (u->seen && T > 0 && u->slope > 0 && u->r2 >= 0.9 && u->peak &&
	    u->live * 2 >= u->peak && u->slope * T >= (double)u->peak / 2) {
		snprintf(msg, sizeof msg,
			 "live heap grows steadily: %.1f bytes/s over %.3f s (r2 %.3f), %" PRIu64
			 " bytes live at the end; run --leak to see which sites keep memory",
			 u->slope, T, u->r2, u->live);
		if (add_rec(st, "growth", "", u->allocs, u->live, u->slope, msg))
			return -1;
	}
	if (st->nrecs)
		qsort(st->recs, st->nrecs, sizeof *st->recs, cmp_rec);
	return 0;
}

static int tl_end(void *state, char *errbuf, size_t errlen)
{
	struct mpa_tl_state *st = state;
	if (st->ended)
		return 0;
	st->ended = 1;
	if (st->started) {
		uint64_t b = cur_bucket(st);
		if ((st->user.seen && series_touch(&st->user, b, st->now)) ||
		    (st->kernel.seen && series_touch(&st->kernel, b, st->now)) ||
		    (st->mapped.seen && series_touch(&st->mapped, b, st->now)))
			goto nomem;
		for (uint32_t i = 0; i < st->nprocs; i++) {
			struct mpa_tl_proc *p = &st->procs[i];
			if (!p->ended && series_touch(&p->s, b, st->now))
				goto nomem;
			series_finish(&p->s, p->ended ? p->end_ts : st->now);
		}
		series_finish(&st->user, st->now);
		series_finish(&st->kernel, st->now);
		series_finish(&st->mapped, st->now);
		st->buckets = b + 1;
		/* with a known range the timeline covers all of it */
		if (st->p.range_to > st->p.range_from) {
			uint64_t span = st->p.range_to - st->t0;
			uint64_t nb = span / st->width + (span % st->width != 0);
			if (nb > st->limit)
				nb = st->limit;
			if (nb > st->buckets)
				st->buckets = nb;
		}
		if (st->in_pressure) {
			st->in_pressure = 0;
			st->cur_pressure.end = st->now;
			st->cur_pressure.open = 1;
			if (pressure_push(st, &st->cur_pressure))
				goto nomem;
		}
	}
	if (build_groups(st) || build_phases(st) || build_top_sizes(st) || build_recs(st))
		goto nomem;
	return 0;
nomem:
	mpa_errf(errbuf, errlen, "out of memory");
	return -1;
}

/* ---- emit ----------------------------------------------------------------- */

static const char *phase_name(int k)
{
	switch (k) {
	case MPA_TL_IDLE:
		return "idle";
	case MPA_TL_STEADY:
		return "steady";
	case MPA_TL_BURST:
		return "burst";
	default:
		return "spike";
	}
}

static json_t *jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* The one time base of every output: ns since the capture's first event
 * (raw timestamps when there is no capture, as in unit tests). */
static uint64_t base_ns(const struct mpa_tl_state *st)
{
	return st->ctx && st->ctx->reader ? st->ctx->span_first : 0;
}

static uint64_t out_ns(const struct mpa_tl_state *st, uint64_t ts)
{
	uint64_t b = base_ns(st);
	return ts > b ? ts - b : 0;
}

/* seconds since the capture's first event (plots, human fields) */
static double rel_s(const struct mpa_tl_state *st, uint64_t ts)
{
	return (double)out_ns(st, ts) / NS_PER_S;
}

static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

struct emitter {
	struct mpa_tl_state *st;
	mpa_out *out;
	char *errbuf;
	size_t errlen;
	int failed;
};

static mpa_table *open_table(struct emitter *e, const char *name, unsigned n,
			     const char *const *headers)
{
	mpa_table *t = mpa_table_open(e->out, name, n, headers);
	if (!t) {
		const char *m = mpa_out_error(e->out);
		if (m && *m) {
			snprintf(e->errbuf, e->errlen, "%s", m);
			e->failed = 1;
		}
	}
	return t;
}

static void end_row(struct emitter *e, mpa_table *t)
{
	if (mpa_table_end_row(t) && !e->failed) {
		const char *m = mpa_out_error(e->out);
		snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a table");
		e->failed = 1;
	}
}

static void close_table(struct emitter *e, mpa_table *t)
{
	if (mpa_table_close(t) && !e->failed) {
		const char *m = mpa_out_error(e->out);
		snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a table");
		e->failed = 1;
	}
}

static const char *phase_of_bucket(const struct mpa_tl_state *st, uint64_t a, uint64_t *cursor)
{
	while (*cursor < st->nphases && st->phases[*cursor].last < a)
		(*cursor)++;
	return *cursor < st->nphases ? phase_name(st->phases[*cursor].kind) : "";
}

static void emit_timeline(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {
		"bucket", "t_start_ns", "t_end_ns", "t_start_s", "live_bytes_max", "live_bytes_end",
		"live_blocks_max", "live_blocks_end", "allocs", "frees", "bytes_allocated",
		"bytes_freed", "allocs_per_s", "frees_per_s", "bytes_allocated_per_s",
		"kernel_live_bytes_max", "kernel_live_bytes_end", "kernel_allocs", "kernel_frees",
		"mapped_bytes_max", "mapped_bytes_end", "phase"};
	mpa_table *t = open_table(e, "timeline", sizeof h / sizeof *h, h);
	if (!t)
		return;
	double w = (double)st->width / NS_PER_S;
	uint64_t cursor = 0;
	for (uint64_t a = 0; a < st->buckets && !e->failed; a++) {
		struct mpa_tl_bucket u = mpa_timeline_bucket(&st->user, a);
		struct mpa_tl_bucket k = mpa_timeline_bucket(&st->kernel, a);
		struct mpa_tl_bucket m = mpa_timeline_bucket(&st->mapped, a);
		uint64_t ts = st->t0 + a * st->width;
		mpa_table_u64(t, a);
		mpa_table_u64(t, out_ns(st, ts));
		mpa_table_u64(t, out_ns(st, ts + st->width));
		mpa_table_f64(t, rel_s(st, ts));
		mpa_table_u64(t, u.live_max);
		mpa_table_u64(t, u.live_end);
		mpa_table_u64(t, u.blocks_max);
		mpa_table_u64(t, u.blocks_end);
		mpa_table_u64(t, u.allocs);
		mpa_table_u64(t, u.frees);
		mpa_table_u64(t, u.bytes_alloc);
		mpa_table_u64(t, u.bytes_freed);
		mpa_table_f64(t, (double)u.allocs / w);
		mpa_table_f64(t, (double)u.frees / w);
		mpa_table_f64(t, (double)u.bytes_alloc / w);
		mpa_table_u64(t, k.live_max);
		mpa_table_u64(t, k.live_end);
		mpa_table_u64(t, k.allocs);
		mpa_table_u64(t, k.frees);
		mpa_table_u64(t, m.live_max);
		mpa_table_u64(t, m.live_end);
		mpa_table_str(t, phase_of_bucket(st, a, &cursor));
		end_row(e, t);
	}
	close_table(e, t);
}

static const char *end_name(int how)
{
	return how == MPA_TL_EXITED ? "exit" : how == MPA_TL_EXECED ? "exec" : "running";
}

static const char *image_name(const struct mpa_tl_state *st, uint32_t id)
{
	if (!id || !st->ctx || !st->ctx->reader)
		return "";
	return mpt_reader_string(st->ctx->reader, id, NULL);
}

static void emit_processes(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {
		"pid", "image_seq", "image", "start_ns", "end_ns", "end", "allocs", "frees",
		"bytes_allocated", "bytes_freed", "peak_bytes", "peak_blocks", "peak_ns",
		"live_bytes_end", "live_blocks_end", "released_bytes", "unknown_frees",
		"temporary", "short_lived", "trend_bytes_per_s", "mapped_peak_bytes"};
	mpa_table *t = open_table(e, "processes", sizeof h / sizeof *h, h);
	if (t) {
		for (uint32_t i = 0; i < st->nprocs && !e->failed; i++) {
			const struct mpa_tl_proc *p = &st->procs[i];
			mpa_table_i64(t, p->pid);
			mpa_table_u64(t, p->seq);
			mpa_table_str(t, image_name(st, p->image));
			mpa_table_u64(t, out_ns(st, p->start_ts));
			mpa_table_u64(t, out_ns(st, p->ended ? p->end_ts : st->now));
			mpa_table_str(t, end_name(p->ended));
			mpa_table_u64(t, p->s.allocs);
			mpa_table_u64(t, p->s.frees);
			mpa_table_u64(t, p->s.bytes_alloc);
			mpa_table_u64(t, p->s.bytes_freed);
			mpa_table_u64(t, p->s.peak);
			mpa_table_u64(t, p->s.peak_blocks);
			mpa_table_u64(t, out_ns(st, p->s.peak_ts));
			mpa_table_u64(t, p->s.live);
			mpa_table_u64(t, p->s.blocks);
			mpa_table_u64(t, p->s.released_bytes);
			mpa_table_u64(t, p->s.unknown_frees);
			mpa_table_u64(t, p->s.temporary);
			mpa_table_u64(t, p->s.short_lived);
			mpa_table_f64(t, p->s.slope);
			mpa_table_u64(t, p->maps.peak);
			end_row(e, t);
		}
		close_table(e, t);
	}
	static const char *const h2[] = {"pid", "image_seq", "bucket", "t_start_ns",
					 "live_bytes_max", "live_bytes_end", "live_blocks_max",
					 "allocs", "frees"};
	t = open_table(e, "process_timeline", sizeof h2 / sizeof *h2, h2);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->nprocs && !e->failed; i++) {
		const struct mpa_tl_proc *p = &st->procs[i];
		for (uint32_t j = 0; j < p->s.n && !e->failed; j++) {
			const struct mpa_tl_bucket *k = &p->s.bk[j];
			mpa_table_i64(t, p->pid);
			mpa_table_u64(t, p->seq);
			mpa_table_u64(t, p->s.first + j);
			mpa_table_u64(t, out_ns(st, st->t0 + (p->s.first + j) * st->width));
			mpa_table_u64(t, k->live_max);
			mpa_table_u64(t, k->live_end);
			mpa_table_u64(t, k->blocks_max);
			mpa_table_u64(t, k->allocs);
			mpa_table_u64(t, k->frees);
			end_row(e, t);
		}
	}
	close_table(e, t);
}

static void pow2_bounds(unsigned k, uint64_t *lo, uint64_t *hi)
{
	if (k == 0) {
		*lo = *hi = 0;
		return;
	}
	*lo = UINT64_C(1) << (k - 1);
	*hi = k >= 64 ? UINT64_MAX : (UINT64_C(1) << k) - 1;
}

static void pow2_label(unsigned k, char *buf, size_t len)
{
	static const char *const u[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	if (k == 0) {
		snprintf(buf, len, "0");
		return;
	}
	unsigned e = k - 1;
	snprintf(buf, len, "%" PRIu64 "%s", UINT64_C(1) << (e % 10), u[e / 10]);
}

static void emit_sizes(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"bucket_min", "bucket_max", "label", "allocs", "bytes",
					"share_of_allocs"};
	mpa_table *t = open_table(e, "sizes", sizeof h / sizeof *h, h);
	if (t) {
		int lo = -1, hi = -1;
		for (unsigned k = 0; k < MPA_TL_POW2; k++)
			if (st->pow2_count[k]) {
				if (lo < 0)
					lo = (int)k;
				hi = (int)k;
			}
		for (int k = lo; k >= 0 && k <= hi && !e->failed; k++) {
			uint64_t a, b;
			char lab[32];
			pow2_bounds((unsigned)k, &a, &b);
			pow2_label((unsigned)k, lab, sizeof lab);
			mpa_table_u64(t, a);
			mpa_table_u64(t, b);
			mpa_table_str(t, lab);
			mpa_table_u64(t, st->pow2_count[k]);
			mpa_table_u64(t, st->pow2_bytes[k]);
			mpa_table_f64(t, st->size_total ? (double)st->pow2_count[k] / (double)st->size_total : 0);
			end_row(e, t);
		}
		close_table(e, t);
	}
	static const char *const h2[] = {"rank", "size", "allocs", "bytes", "share_of_allocs"};
	t = open_table(e, "top_sizes", sizeof h2 / sizeof *h2, h2);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->ntop_sizes && !e->failed; i++) {
		const struct mpa_tl_size *s = &st->top_sizes[i];
		mpa_table_u64(t, i + 1);
		mpa_table_u64(t, s->size);
		mpa_table_u64(t, s->count);
		mpa_table_u64(t, s->size * s->count);
		mpa_table_f64(t, st->size_total ? (double)s->count / (double)st->size_total : 0);
		end_row(e, t);
	}
	close_table(e, t);
}

/* Group orderings (ties: domain, then name, so outputs are deterministic). */
struct gsort {
	const struct mpa_tl_group *base;
	int key; /* 0 calls, 1 bytes, 2 peak, 3 temporary */
};

static uint64_t gkey(const struct mpa_tl_group *g, int key)
{
	switch (key) {
	case 0:
		return g->calls;
	case 1:
		return g->bytes;
	case 2:
		return g->peak_bytes;
	default:
		return g->temporary;
	}
}

static int cmp_group(const void *a, const void *b, void *arg)
{
	const struct gsort *gs = arg;
	const struct mpa_tl_group *x = &gs->base[*(const uint32_t *)a];
	const struct mpa_tl_group *y = &gs->base[*(const uint32_t *)b];
	uint64_t kx = gkey(x, gs->key), ky = gkey(y, gs->key);
	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->kernel != y->kernel)
		return x->kernel < y->kernel ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Indexes of the groups sorted by key (caller frees); NULL when none. */
static uint32_t *sorted_groups(const struct mpa_tl_state *st, int key)
{
	if (!st->ngroups)
		return NULL;
	uint32_t *idx = malloc(st->ngroups * sizeof *idx);
	if (!idx)
		return NULL;
	for (uint32_t i = 0; i < st->ngroups; i++)
		idx[i] = i;
	struct gsort gs = {st->groups, key};
	qsort_r(idx, st->ngroups, sizeof *idx, cmp_group, &gs);
	return idx;
}

static void emit_hotspots(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"by", "rank", "domain", "site", "allocs", "bytes",
					"frees", "temporary", "short_lived", "bytes_at_peak",
					"live_bytes_end", "min_size", "max_size",
					"growing_reallocs"};
	mpa_table *t = open_table(e, "hotspots", sizeof h / sizeof *h, h);
	if (!t)
		return;
	for (int key = 0; key < 2 && !e->failed; key++) {
		uint32_t *idx = sorted_groups(st, key);
		if (!idx && st->ngroups) {
			snprintf(e->errbuf, e->errlen, "out of memory");
			e->failed = 1;
			break;
		}
		uint32_t shown = 0;
		for (uint32_t i = 0; i < st->ngroups && shown < st->p.top_n && !e->failed; i++) {
			const struct mpa_tl_group *g = &st->groups[idx[i]];
			if (!g->calls)
				continue;
			shown++;
			mpa_table_str(t, key == 0 ? "calls" : "bytes");
			mpa_table_u64(t, shown);
			mpa_table_str(t, g->kernel ? "kernel" : "user");
			mpa_table_str(t, g->name);
			mpa_table_u64(t, g->calls);
			mpa_table_u64(t, g->bytes);
			mpa_table_u64(t, g->frees);
			mpa_table_u64(t, g->temporary);
			mpa_table_u64(t, g->short_lived);
			mpa_table_u64(t, g->peak_bytes);
			mpa_table_u64(t, g->live_end);
			mpa_table_u64(t, g->min_size);
			mpa_table_u64(t, g->max_size);
			mpa_table_u64(t, g->grow_reallocs);
			end_row(e, t);
		}
		free(idx);
	}
	close_table(e, t);
}

static void emit_temporary(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"rank", "domain", "site", "allocs", "temporary",
					"temporary_share", "short_lived", "short_lived_share"};
	mpa_table *t = open_table(e, "temporary", sizeof h / sizeof *h, h);
	if (!t)
		return;
	uint32_t *idx = sorted_groups(st, 3);
	if (!idx && st->ngroups) {
		snprintf(e->errbuf, e->errlen, "out of memory");
		e->failed = 1;
	}
	uint32_t shown = 0;
	for (uint32_t i = 0; idx && i < st->ngroups && shown < st->p.top_n && !e->failed; i++) {
		const struct mpa_tl_group *g = &st->groups[idx[i]];
		if (!g->temporary)
			break;
		shown++;
		mpa_table_u64(t, shown);
		mpa_table_str(t, g->kernel ? "kernel" : "user");
		mpa_table_str(t, g->name);
		mpa_table_u64(t, g->calls);
		mpa_table_u64(t, g->temporary);
		mpa_table_f64(t, (double)g->temporary / (double)g->calls);
		mpa_table_u64(t, g->short_lived);
		mpa_table_f64(t, (double)g->short_lived / (double)g->calls);
		end_row(e, t);
	}
	free(idx);
	close_table(e, t);
}

/* Sites holding the peak of one domain: table rows and a JSON array. */
static json_t *peak_sites(struct emitter *e, mpa_table *t, int kernel, uint64_t peak)
{
	const struct mpa_tl_state *st = e->st;
	json_t *arr = json_array();
	uint32_t *idx = sorted_groups(st, 2);
	uint32_t shown = 0;
	uint64_t rest = 0, rest_blocks = 0, rest_n = 0;
	for (uint32_t i = 0; idx && i < st->ngroups; i++) {
		const struct mpa_tl_group *g = &st->groups[idx[i]];
		if (g->kernel != (uint32_t)kernel || (!g->peak_bytes && !g->peak_blocks))
			continue;
		if (shown >= st->p.top_n) {
			rest += g->peak_bytes;
			rest_blocks += g->peak_blocks;
			rest_n++;
			continue;
		}
		shown++;
		json_t *o = json_object();
		set(o, "site", json_string(g->name));
		set(o, "bytes", jint(g->peak_bytes));
		set(o, "blocks", jint(g->peak_blocks));
		set(o, "share", json_real(peak ? (double)g->peak_bytes / (double)peak : 0));
		json_array_append_new(arr, o);
		if (t && !e->failed) {
			mpa_table_str(t, kernel ? "kernel" : "user");
			mpa_table_u64(t, shown);
			mpa_table_str(t, g->name);
			mpa_table_u64(t, g->peak_bytes);
			mpa_table_u64(t, g->peak_blocks);
			mpa_table_f64(t, peak ? (double)g->peak_bytes / (double)peak : 0);
			end_row(e, t);
		}
	}
	if (rest_n) {
		char lab[64];
		snprintf(lab, sizeof lab, "(%" PRIu64 " other sites)", rest_n);
		json_t *o = json_object();
		set(o, "site", json_string(lab));
		set(o, "bytes", jint(rest));
		set(o, "blocks", jint(rest_blocks));
		set(o, "share", json_real(peak ? (double)rest / (double)peak : 0));
		json_array_append_new(arr, o);
		if (t && !e->failed) {
			mpa_table_str(t, kernel ? "kernel" : "user");
			mpa_table_u64(t, shown + 1);
			mpa_table_str(t, lab);
			mpa_table_u64(t, rest);
			mpa_table_u64(t, rest_blocks);
			mpa_table_f64(t, peak ? (double)rest / (double)peak : 0);
			end_row(e, t);
		}
	}
	free(idx);
	return arr;
}

static void emit_phases(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"index", "phase", "first_bucket", "last_bucket",
					"t_start_ns", "t_end_ns", "duration_s", "allocs", "frees",
					"bytes_allocated", "bytes_freed", "allocs_per_s",
					"live_bytes_start", "live_bytes_end", "live_bytes_max"};
	mpa_table *t = open_table(e, "phases", sizeof h / sizeof *h, h);
	if (!t)
		return;
	for (uint64_t i = 0; i < st->nphases && !e->failed; i++) {
		const struct mpa_tl_phase *p = &st->phases[i];
		double d = (double)((p->last - p->first + 1) * st->width) / NS_PER_S;
		mpa_table_u64(t, i);
		mpa_table_str(t, phase_name(p->kind));
		mpa_table_u64(t, p->first);
		mpa_table_u64(t, p->last);
		mpa_table_u64(t, out_ns(st, st->t0 + p->first * st->width));
		mpa_table_u64(t, out_ns(st, st->t0 + (p->last + 1) * st->width));
		mpa_table_f64(t, d);
		mpa_table_u64(t, p->allocs);
		mpa_table_u64(t, p->frees);
		mpa_table_u64(t, p->bytes_alloc);
		mpa_table_u64(t, p->bytes_freed);
		mpa_table_f64(t, (double)p->allocs / d);
		mpa_table_u64(t, p->live_start);
		mpa_table_u64(t, p->live_end);
		mpa_table_u64(t, p->live_max);
		end_row(e, t);
	}
	close_table(e, t);
}

static void emit_pressure(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"index", "start_ns", "end_ns", "duration_s",
					"max_live_bytes", "open"};
	mpa_table *t = open_table(e, "pressure", sizeof h / sizeof *h, h);
	if (!t)
		return;
	for (uint64_t i = 0; i < st->npressure && !e->failed; i++) {
		const struct mpa_tl_interval *iv = &st->pressure[i];
		mpa_table_u64(t, i);
		mpa_table_u64(t, out_ns(st, iv->start));
		mpa_table_u64(t, out_ns(st, iv->end));
		mpa_table_f64(t, (double)(iv->end - iv->start) / NS_PER_S);
		mpa_table_u64(t, iv->max_bytes);
		mpa_table_str(t, iv->open ? "yes" : "no");
		end_row(e, t);
	}
	close_table(e, t);
}

static void emit_recs(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const char *const h[] = {"kind", "site", "allocs", "trigger_count",
					"trigger_value", "message"};
	mpa_table *t = open_table(e, "recommendations", sizeof h / sizeof *h, h);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->nrecs && !e->failed; i++) {
		const struct mpa_tl_rec *r = &st->recs[i];
		mpa_table_str(t, r->kind);
		mpa_table_str(t, r->site);
		mpa_table_u64(t, r->calls);
		mpa_table_u64(t, r->count);
		mpa_table_f64(t, r->value);
		mpa_table_str(t, r->message);
		end_row(e, t);
	}
	close_table(e, t);
}

static json_t *series_json(const struct mpa_tl_state *st, const struct mpa_tl_series *s)
{
	json_t *o = json_object();
	set(o, "peak_bytes", jint(s->peak));
	set(o, "peak_blocks", jint(s->peak_blocks));
	set(o, "peak_ns", jint(out_ns(st, s->peak_ts)));
	set(o, "peak_s", json_real(s->seen ? rel_s(st, s->peak_ts) : 0));
	set(o, "allocs", jint(s->allocs));
	set(o, "frees", jint(s->frees));
	set(o, "bytes_allocated", jint(s->bytes_alloc));
	set(o, "bytes_freed", jint(s->bytes_freed));
	set(o, "live_bytes_end", jint(s->live));
	set(o, "live_blocks_end", jint(s->blocks));
	set(o, "temporary", jint(s->temporary));
	set(o, "short_lived", jint(s->short_lived));
	set(o, "unknown_frees", jint(s->unknown_frees));
	set(o, "unknown_reallocs", jint(s->unknown_reallocs));
	set(o, "failed", jint(s->failed));
	set(o, "duplicate_allocs", jint(s->dup_allocs));
	set(o, "free_null", jint(s->free_null));
	set(o, "released_bytes", jint(s->released_bytes));
	set(o, "released_blocks", jint(s->released_blocks));
	json_t *tr = json_object();
	set(tr, "slope_bytes_per_s", json_real(s->slope));
	set(tr, "r2", json_real(s->r2));
	set(tr, "window_s", json_real(s->seen ? (double)(s->t_end - s->t_first) / NS_PER_S : 0));
	set(o, "trend", tr);
	return o;
}

static void emit_json(struct emitter *e, json_t *user_sites, json_t *kernel_sites)
{
	struct mpa_tl_state *st = e->st;
	json_t *doc = mpa_out_json(e->out);
	json_t *sum = mpa_out_summary(e->out);
	if (!doc || !sum) {
		json_decref(user_sites);
		json_decref(kernel_sites);
		return;
	}
	json_t *settings = json_object();
	set(settings, "bucket_ns", jint(st->width));
	set(settings, "buckets", jint(st->buckets));
	set(settings, "t0_ns", jint(out_ns(st, st->t0)));
	set(settings, "timeline_points", jint(st->p.points));
	set(settings, "memory_pressure_threshold", jint(st->p.pressure_bytes));
	set(settings, "temporary_threshold_ns", jint(st->p.short_ns));
	set(settings, "burst_factor", json_real(st->p.burst_factor));
	set(settings, "top_n", jint(st->p.top_n));
	set(settings, "phase_buckets", jint(st->p.phase_buckets));
	set(settings, "exclude_tracer", json_boolean(st->p.exclude_tracer));
	set(doc, "settings", settings);

	json_t *user = series_json(st, &st->user);
	set(user, "peak_sites", user_sites);
	set(doc, "user", user);
	json_t *kern = series_json(st, &st->kernel);
	set(kern, "peak_sites", kernel_sites);
	set(doc, "kernel", kern);

	json_t *peak = json_object();
	set(peak, "bytes", jint(st->user.peak));
	set(peak, "blocks", jint(st->user.peak_blocks));
	set(peak, "ts_ns", jint(out_ns(st, st->user.peak_ts)));
	set(peak, "t_s", json_real(st->user.seen ? rel_s(st, st->user.peak_ts) : 0));
	set(peak, "sites", json_incref(user_sites));
	set(doc, "peak", peak);

	json_t *trend = json_object();
	set(trend, "slope_bytes_per_s", json_real(st->user.slope));
	set(trend, "r2", json_real(st->user.r2));
	set(trend, "kernel_slope_bytes_per_s", json_real(st->kernel.slope));
	set(doc, "trend", trend);

	json_t *phases = json_array();
	for (uint64_t i = 0; i < st->nphases; i++) {
		const struct mpa_tl_phase *p = &st->phases[i];
		json_t *o = json_object();
		set(o, "phase", json_string(phase_name(p->kind)));
		set(o, "first_bucket", jint(p->first));
		set(o, "last_bucket", jint(p->last));
		set(o, "t_start_ns", jint(out_ns(st, st->t0 + p->first * st->width)));
		set(o, "t_end_ns", jint(out_ns(st, st->t0 + (p->last + 1) * st->width)));
		set(o, "allocs", jint(p->allocs));
		set(o, "frees", jint(p->frees));
		set(o, "live_bytes_start", jint(p->live_start));
		set(o, "live_bytes_end", jint(p->live_end));
		set(o, "live_bytes_max", jint(p->live_max));
		json_array_append_new(phases, o);
	}
	json_t *ph = json_object();
	set(ph, "median_allocs_per_phase_bucket", jint(st->phase_median));
	set(ph, "phase_bucket_ns", jint(st->phase_group * st->width));
	set(ph, "timeline_buckets_per_phase_bucket", jint(st->phase_group));
	set(ph, "list", phases);
	set(doc, "phases", ph);

	json_t *pr = json_object();
	set(pr, "threshold_bytes", jint(st->p.pressure_bytes));
	set(pr, "intervals", jint(st->pressure_count));
	set(pr, "time_above_s", json_real((double)st->pressure_ns / NS_PER_S));
	json_t *pl = json_array();
	for (uint64_t i = 0; i < st->npressure; i++) {
		json_t *o = json_object();
		set(o, "start_ns", jint(out_ns(st, st->pressure[i].start)));
		set(o, "end_ns", jint(out_ns(st, st->pressure[i].end)));
		set(o, "max_live_bytes", jint(st->pressure[i].max_bytes));
		set(o, "open", json_boolean(st->pressure[i].open));
		json_array_append_new(pl, o);
	}
	set(pr, "list", pl);
	set(doc, "pressure", pr);

	json_t *rs = json_array();
	for (uint32_t i = 0; i < st->nrecs; i++) {
		json_t *o = json_object();
		set(o, "kind", json_string(st->recs[i].kind));
		set(o, "site", json_string(st->recs[i].site));
		set(o, "allocs", jint(st->recs[i].calls));
		set(o, "trigger_count", jint(st->recs[i].count));
		set(o, "trigger_value", json_real(st->recs[i].value));
		set(o, "message", json_string(st->recs[i].message));
		json_array_append_new(rs, o);
	}
	set(doc, "recommendations", rs);

	json_t *sizes = json_object();
	set(sizes, "allocations", jint(st->size_total));
	set(sizes, "distinct_sizes", jint(st->size_used + st->small_used));
	set(sizes, "untracked_allocations", jint(st->size_overflow));
	set(doc, "sizes", sizes);

	json_t *ex = json_object();
	set(ex, "allocs", jint(st->tracer_allocs));
	set(ex, "bytes", jint(st->tracer_bytes));
	set(ex, "frees", jint(st->tracer_frees));
	set(ex, "startup_allocs", jint(st->startup_allocs));
	set(ex, "startup_bytes", jint(st->startup_bytes));
	set(ex, "map_rows", jint(st->tracer_maps));
	set(doc, "excluded_tracer", ex);

	json_t *mp = json_object();
	set(mp, "peak_bytes", jint(st->mapped.peak));
	set(mp, "peak_ns", jint(out_ns(st, st->mapped.peak_ts)));
	set(mp, "bytes_end", jint(st->mapped.live));
	set(mp, "maps", jint(st->maps));
	set(mp, "unmaps", jint(st->unmaps));
	set(mp, "replaced_bytes", jint(st->replaced_map_bytes));
	set(mp, "unknown_unmap_bytes", jint(st->unknown_unmap_bytes));
	set(mp, "released_bytes", jint(st->mapped.released_bytes));
	set(doc, "mapped", mp);

	json_t *an = json_object();
	set(an, "ts_backwards", jint(st->ts_backwards));
	set(an, "rows", jint(st->rows));
	set(an, "process_images", jint(st->nprocs));
	set(doc, "counts", an);

	/* the short form in summary.json */
	set(sum, "peak_bytes", jint(st->user.peak));
	set(sum, "peak_ns", jint(out_ns(st, st->user.peak_ts)));
	set(sum, "peak_s", json_real(st->user.seen ? rel_s(st, st->user.peak_ts) : 0));
	set(sum, "kernel_peak_bytes", jint(st->kernel.peak));
	set(sum, "mapped_peak_bytes", jint(st->mapped.peak));
	set(sum, "allocs", jint(st->user.allocs));
	set(sum, "frees", jint(st->user.frees));
	set(sum, "bytes_allocated", jint(st->user.bytes_alloc));
	set(sum, "temporary", jint(st->user.temporary));
	set(sum, "unknown_frees", jint(st->user.unknown_frees + st->kernel.unknown_frees));
	set(sum, "trend_bytes_per_s", json_real(st->user.slope));
	set(sum, "pressure_intervals", jint(st->pressure_count));
	set(sum, "recommendations", jint(st->nrecs));
	set(sum, "process_images", jint(st->nprocs));
	set(sum, "excluded_tracer_allocs", jint(st->tracer_allocs));
	if (st->pressure_count) {
		/* picked up by the framework into summary.json "alerts" */
		char msg[256];
		uint64_t mx = 0;
		for (uint64_t i = 0; i < st->npressure; i++)
			if (st->pressure[i].max_bytes > mx)
				mx = st->pressure[i].max_bytes;
		snprintf(msg, sizeof msg,
			 "live heap above %" PRIu64 " bytes in %" PRIu64
			 " intervals, %.3f s in all, up to %" PRIu64 " bytes",
			 st->p.pressure_bytes, st->pressure_count,
			 (double)st->pressure_ns / NS_PER_S, mx);
		json_t *al = json_array();
		json_t *a = json_object();
		set(a, "name", json_string("memory_pressure"));
		set(a, "value", jint(mx));
		set(a, "threshold", jint(st->p.pressure_bytes));
		set(a, "message", json_string(msg));
		json_array_append_new(al, a);
		set(sum, "alerts", al);
	}
}

static void plot_fail(struct emitter *e)
{
	if (e->failed)
		return;
	const char *m = mpa_out_error(e->out);
	snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a plot");
	e->failed = 1;
}

static void emit_plots(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	if (!st->buckets)
		return;
	mpa_plot *p = mpa_plot_open(e->out, "memory", "Live heap over time", "time (s)",
				    "live bytes", MPA_PLOT_LINES);
	if (p) {
		int rc = mpa_plot_series(p, "user, max in bucket");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.live_max);
		}
		if (!rc)
			rc = mpa_plot_series(p, "user, at bucket end");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + (a + 1) * st->width),
					    (double)k.live_end);
		}
		if (!rc && st->mapped.seen) {
			rc = mpa_plot_series(p, "mapped (mmap/brk), max in bucket");
			for (uint64_t a = 0; a < st->buckets && !rc; a++) {
				struct mpa_tl_bucket k = mpa_timeline_bucket(&st->mapped, a);
				rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width),
						    (double)k.live_max);
			}
		}
		if (!rc && st->kernel.seen) {
			rc = mpa_plot_series(p, "kernel, max in bucket");
			for (uint64_t a = 0; a < st->buckets && !rc; a++) {
				struct mpa_tl_bucket k = mpa_timeline_bucket(&st->kernel, a);
				rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width),
						    (double)k.live_max);
			}
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	double w = (double)st->width / NS_PER_S;
	p = mpa_plot_open(e->out, "rates", "Allocation and free rates", "time (s)", "calls per second",
			  MPA_PLOT_LINES);
	if (p) {
		int rc = mpa_plot_series(p, "allocs/s");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.allocs / w);
		}
		if (!rc)
			rc = mpa_plot_series(p, "frees/s");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.frees / w);
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	p = mpa_plot_open(e->out, "sizes", "Allocation sizes (power-of-two buckets)", "size (bytes)",
			  "allocations", MPA_PLOT_BOXES);
	if (p) {
		int rc = mpa_plot_series(p, "allocations");
		unsigned x = 0;
		for (unsigned k = 0; k < MPA_TL_POW2 && !rc; k++) {
			if (!st->pow2_count[k])
				continue;
			char lab[32];
			pow2_label(k, lab, sizeof lab);
			rc = mpa_plot_label(p, x++, (double)st->pow2_count[k], lab);
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	uint32_t *idx = sorted_groups(st, 1);
	if (idx) {
		p = mpa_plot_open(e->out, "hotspots", "Top allocation sites by bytes", "bytes allocated",
				  "", MPA_PLOT_HBARS);
		if (p) {
			int rc = mpa_plot_series(p, "bytes allocated");
			uint32_t shown = 0;
			for (uint32_t i = 0; i < st->ngroups && shown < 10 && !rc; i++) {
				const struct mpa_tl_group *g = &st->groups[idx[i]];
				if (!g->bytes)
					break;
				rc = mpa_plot_label(p, shown++, (double)g->bytes, g->name);
			}
			if (mpa_plot_close(p) || rc)
				plot_fail(e);
		} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
			plot_fail(e);
		}
		free(idx);
	}
}

static int tl_emit(void *state, mpa_out *out, char *errbuf, size_t errlen)
{
	struct mpa_tl_state *st = state;
	struct emitter e = {st, out, errbuf, errlen, 0};
	emit_timeline(&e);
	if (!e.failed)
		emit_processes(&e);
	if (!e.failed)
		emit_sizes(&e);
	if (!e.failed)
		emit_hotspots(&e);
	if (!e.failed)
		emit_temporary(&e);
	if (!e.failed)
		emit_phases(&e);
	if (!e.failed)
		emit_pressure(&e);
	if (!e.failed)
		emit_recs(&e);
	if (!e.failed) {
		static const char *const h[] = {"domain", "rank", "site", "bytes_at_peak",
						"blocks_at_peak", "share_of_peak"};
		mpa_table *t = open_table(&e, "peak_sites", sizeof h / sizeof *h, h);
		json_t *us = peak_sites(&e, t, 0, st->user.peak);
		json_t *ks = peak_sites(&e, t, 1, st->kernel.peak);
		if (t)
			close_table(&e, t);
		emit_json(&e, us, ks);
	}
	if (!e.failed)
		emit_plots(&e);
	return e.failed ? -1 : 0;
}

static void tl_release(void *state)
{
	struct mpa_tl_state *st = state;
	if (!st)
		return;
	series_release(&st->user);
	series_release(&st->kernel);
	series_release(&st->mapped);
	for (uint32_t i = 0; i < st->nprocs; i++) {
		series_release(&st->procs[i].s);
	}
	free(st->procs);
	free(st->img_rec);
	free(st->sites);
	free(st->site_slots);
	free(st->stack_site[0]);
	free(st->stack_site[1]);
	free(st->stack_site[2]);
	free(st->size_tab);
	free(st->pressure);
	for (uint32_t i = 0; i < st->ngroups; i++)
		free(st->groups[i].name);
	free(st->groups);
	free(st->phases);
	free(st->top_sizes);
	for (uint32_t i = 0; i < st->nrecs; i++) {
		free(st->recs[i].site);
		free(st->recs[i].message);
	}
	free(st->recs);
	free(st);
}

const struct mpa_analyzer mpa_analyzer_timeline = {
	.name = "timeline",
	.summary = "live heap and mapped memory over time, peak and its sites, rates, pressure, "
		   "trend, phases, sizes, hotspots, temporary allocations, recommendations",
	.kinds = KINDS_READ,
	.columns = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) | MPT_COLBIT(MPT_COL_PID) |
		   MPT_COLBIT(MPT_COL_FLAGS) | MPT_COLBIT(MPT_COL_PTR) |
		   MPT_COLBIT(MPT_COL_NEW_PTR) | MPT_COLBIT(MPT_COL_SIZE) |
		   MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_STACK_ID) |
		   MPT_COLBIT(MPT_COL_STR_ID),
	.options = tl_options,
	.begin = tl_begin,
	.on_row = tl_on_row,
	.on_image_end = tl_image_end,
	.on_fork = tl_fork,
	.end = tl_end,
	.emit = tl_emit,
	.release = tl_release,
};
