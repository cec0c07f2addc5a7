/* timeline: the rows, as the heap model hands them: sites, sizes, memory
 * pressure, and the series each event moves. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_internal.h"

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
			uint32_t j = (uint32_t)(mpa_tl_mix64(key) & (ncap - 1));
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
	uint32_t j = (uint32_t)(mpa_tl_mix64(key) & mask);
	while (st->site_slots[j]) {
		const struct mpa_tl_site *s = &st->sites[st->site_slots[j] - 1];
		if (s->stack_id == stack_id && s->dom == kernel)
			return st->site_slots[j] - 1;
		j = (j + 1) & mask;
	}
	if (mpa_tl_grow((void **)&st->sites, &st->cap_sites, st->nsites + 1, sizeof *st->sites))
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

uint64_t mpa_tl_site_at_peak(const struct mpa_tl_state *st, const struct mpa_tl_site *s,
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
					uint64_t j = mpa_tl_mix64(st->size_tab[i].size) & (ncap - 1);
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
	uint64_t mask = st->size_cap - 1, j = mpa_tl_mix64(size) & mask;
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

int mpa_tl_pressure_push(struct mpa_tl_state *st, const struct mpa_tl_interval *iv)
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
		return mpa_tl_pressure_push(st, &st->cur_pressure);
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
	    mpa_tl_grow((void **)&st->procs, &st->cap_procs, st->nprocs + 1, sizeof *st->procs))
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
			mpa_tl_series_cur((t)->own)->field += (v);                    \
		mpa_tl_series_cur((t)->total)->field += (v);                          \
	} while (0)

/* A program block ended (a free, or the old half of a realloc): counters
 * of its site and the series; the series' value is moved by the caller.
 * *size is its size; 0, or -1 when out of memory. */
static int take_block(struct mpa_tl_state *st, struct target *t, const struct mpa_block *old,
		      uint32_t si, struct mpa_tl_series *heap, uint64_t *sizep)
{
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
		if (!r->tracer)
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
	if (take_block(st, &t, old, si, heap, &size))
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
	uint32_t oi = 0;
	if (old) {
		oi = blk_site(st, old, t.kernel);
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
			if (take_block(st, &t, old, oi, heap, &sz))
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
			if (take_block(st, &t, old, oi, heap, &old_size))
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

int mpa_tl_image_end(void *state, const struct mpa_image *img)
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
int mpa_tl_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
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

int mpa_tl_on_row(void *state, const struct mpa_row *r)
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

