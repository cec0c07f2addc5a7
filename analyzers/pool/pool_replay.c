/* pool: the what-if replay.  Every program block the heap model makes
 * live or ends goes through a model of each allocator:
 *  - jemalloc, tcmalloc, mimalloc: a block takes a slot of its size class
 *    in the lowest run (slab, span, page) of that class with a free slot;
 *    a run is acquired when its first slot is taken and returned when its
 *    last slot is freed; a block too big for a class takes pages of its
 *    own.  Footprint = bytes of held runs + own pages.
 *  - glibc: each block costs its chunk (mmapped above the dynamic mmap
 *    threshold, which a free of a bigger mmapped chunk raises): footprint
 *    = the live chunks (a lower bound: free chunks inside the arena are
 *    not modeled; --frag measures them on the recorded addresses).
 * The modeled allocators' placement of each live block (which run holds
 * it) is the only per-block state; it is dropped with the block.  The
 * same pass checks the glibc model against the recorded usable sizes.
 * Limits: doc/analyzers-pool.md, "What-if replay".
 */
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

/* The placement of a live block lives in its scratch word (the analyzer
 * owns it: MPA_NEED_BLOCK_SCRATCH), so a free finds it in the block the
 * heap model has just looked up — no table keyed by address, no cache
 * miss of its own:
 *  - 0: not placed (allocated before the selection, tracer, start-up);
 *  - bit 31 set: inline — bit 30 glibc's mmapped flag, bits 0-29 the run
 *    of each slab model (10 bits each; PL_IN_OWN = pages of its own);
 *  - else: 1 + an index into the placement array, for a block one of
 *    whose runs does not fit in 10 bits (a class with over 1,022 runs).
 * The class of each model is the size's (recomputed at the free). */
#define PL_IN_FLAG (UINT32_C(1) << 31)
#define PL_IN_MM (UINT32_C(1) << 30)
#define PL_IN_BITS 10
#define PL_IN_OWN ((UINT32_C(1) << PL_IN_BITS) - 1)

struct pl_pent {
	uint32_t run[PL_NSLAB];   /* run per slab model (PL_OWN: pages of its own);
				   * run[0]: the next free entry when free */
	uint32_t mm;              /* glibc model: mmapped */
};

struct rcls {
	uint32_t first;           /* no free slot in the runs of nf words below this */
	struct rrun {
		uint32_t used;    /* slots taken */
		uint32_t hwm;     /* most slots taken at once since the run was acquired */
	} *run;                   /* per run */
	uint64_t *nf;             /* bit r: run r has a free slot */
	uint32_t nruns, cap;
};

struct pl_rimg {
	uint32_t img;
	uint64_t thresh;                  /* glibc's mmap threshold */
	struct rcls *cls[PL_NSLAB];       /* (owned) per slab class, NULL until used */
	uint64_t foot[PL_NALLOC], slot[PL_NALLOC], req, blocks;
};

/* A free placement entry: its index + 1, 0 when out of memory. */
static uint32_t pe_new(struct pl_replay *r)
{
	if (r->free_head) {
		uint32_t k = r->free_head;
		r->free_head = r->pe[k - 1].run[0];
		return k;
	}
	if (r->npe == UINT32_MAX - 1 ||
	    mpa_pl_grow((void **)&r->pe, &r->cappe, r->npe + 1, sizeof *r->pe) < 0)
		return 0;
	return ++r->npe;
}

static void pe_free(struct pl_replay *r, uint32_t k)
{
	r->pe[k - 1].run[0] = r->free_head;
	r->free_head = k;
}

int mpa_pl_replay_init(struct pl_replay *r, const struct pl_tables *t)
{
	memset(r, 0, sizeof *r);
	r->t = t;
	r->szc = calloc(PL_SZC, sizeof *r->szc);
	return r->szc ? 0 : -1;
}

const struct pl_sz *mpa_pl_size_fill(struct pl_replay *r, uint64_t n)
{
	struct pl_szc *c = &r->szc[(n * UINT64_C(0x9E3779B97F4A7C15)) >> 54];
	c->n = n;
	for (unsigned a = 0; a < PL_NALLOC; a++) {
		uint32_t cls;
		c->z.slot[a] = (uint32_t)mpa_pl_slot(r->t, a, n, PL_GLIBC_MMAP_THRESHOLD, &cls);
		if (a)
			c->z.cls[a - 1] = cls == PL_OWN ? 255 : (uint8_t)cls;
	}
	return &c->z;
}

static void rimg_free(struct pl_replay *r, struct pl_rimg *g)
{
	if (!g)
		return;
	for (unsigned a = 0; a < PL_NSLAB; a++) {
		if (!g->cls[a])
			continue;
		for (uint32_t c = 0; c < r->t->n[a + 1]; c++) {
			free(g->cls[a][c].run);
			free(g->cls[a][c].nf);
		}
		free(g->cls[a]);
	}
	free(g);
}

void mpa_pl_replay_release(struct pl_replay *r)
{
	for (uint32_t i = 0; i < r->nimg; i++)
		rimg_free(r, r->img[i]);
	free(r->img);
	mpa_pl_map_release(&r->imgs);
	free(r->pe);
	free(r->szc);
	memset(r, 0, sizeof *r);
}

static struct pl_rimg *rimg_get(struct pl_replay *r, uint32_t img, int create)
{
	if (r->last && r->last->img == img)
		return r->last;
	uint32_t s = mpa_pl_map_get(&r->imgs, img);
	if (s != UINT32_MAX)
		return r->last = r->img[s];
	if (!create)
		return NULL;
	struct pl_rimg *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->img = img;
	g->thresh = PL_GLIBC_MMAP_THRESHOLD;
	/* a slot freed by an ended image is reused */
	uint32_t slot = r->nimg;
	for (uint32_t i = 0; i < r->nimg; i++)
		if (!r->img[i]) {
			slot = i;
			break;
		}
	if (slot == r->nimg) {
		if (mpa_pl_grow((void **)&r->img, &r->capimg, r->nimg + 1, sizeof *r->img) < 0) {
			free(g);
			return NULL;
		}
		r->nimg++;
	}
	if (mpa_pl_map_put(&r->imgs, img, slot) < 0) {
		free(g);
		if (slot == r->nimg - 1)
			r->nimg--;
		return NULL;
	}
	r->img[slot] = g;
	return r->last = g;
}

/* Takes a slot of class c of slab model a in g; the run index, or
 * UINT32_MAX when out of memory.  *touched: bytes of the run newly
 * touched. */
static uint64_t touched_bytes(const struct pl_cls *k, uint32_t slots)
{
	uint64_t b = ((uint64_t)slots * k->size + 4095) & ~UINT64_C(4095);
	return b < k->run ? b : k->run;
}

static uint32_t take_slot(struct pl_replay *r, struct pl_rimg *g, unsigned a, uint32_t c,
			  uint64_t *touched)
{
	const struct pl_cls *k = &r->t->c[a + 1][c];
	uint32_t per = k->per;
	if (!g->cls[a] && !(g->cls[a] = calloc(r->t->n[a + 1], sizeof *g->cls[a])))
		return UINT32_MAX;
	struct rcls *rc = &g->cls[a][c];
	uint32_t run = rc->nruns, nw = (rc->nruns + 63) / 64;
	while (rc->first < nw && !rc->nf[rc->first])
		rc->first++;
	if (rc->first < nw)
		run = rc->first * 64 + (uint32_t)__builtin_ctzll(rc->nf[rc->first]);
	if (run == rc->nruns) {
		uint32_t ocap = rc->cap;
		if (mpa_pl_grow((void **)&rc->run, &rc->cap, rc->nruns + 1, sizeof *rc->run) < 0)
			return UINT32_MAX;
		if (rc->cap != ocap) {
			uint64_t *nf = realloc(rc->nf, ((size_t)rc->cap + 63) / 64 * sizeof *nf);
			if (!nf)
				return UINT32_MAX;
			memset(nf + (ocap + 63) / 64, 0,
			       (((size_t)rc->cap + 63) / 64 - (ocap + 63) / 64) * sizeof *nf);
			rc->nf = nf;
		}
		rc->run[run] = (struct rrun){0, 0};
		rc->nruns++;
	}
	/* bytes touched: the pages up to the highest slot ever taken (the
	 * lowest free slot is taken, so that is the most slots held at once) */
	*touched = 0;
	struct rrun *u = &rc->run[run];
	u->used++;
	if (u->used > u->hwm) {
		*touched = touched_bytes(k, u->used) - touched_bytes(k, u->hwm);
		u->hwm = u->used;
	}
	if (u->used < per) {
		rc->nf[run / 64] |= UINT64_C(1) << (run % 64);
		if (run / 64 < rc->first)
			rc->first = run / 64;
	} else
		rc->nf[run / 64] &= ~(UINT64_C(1) << (run % 64));
	return run;
}

/* Frees a slot of run `run`; the bytes released (the run's touched pages
 * when it became empty). */
static uint64_t put_slot(struct pl_replay *r, struct pl_rimg *g, unsigned a, uint32_t c,
			 uint32_t run)
{
	if (!g->cls[a])
		return 0;
	struct rcls *rc = &g->cls[a][c];
	if (run >= rc->nruns || !rc->run[run].used)
		return 0;
	struct rrun *u = &rc->run[run];
	u->used--;
	rc->nf[run / 64] |= UINT64_C(1) << (run % 64);
	if (run / 64 < rc->first)
		rc->first = run / 64;
	if (u->used)
		return 0;
	uint64_t b = touched_bytes(&r->t->c[a + 1][c], u->hwm);
	u->hwm = 0;
	return b;
}

static void note_peaks(struct pl_replay *r, uint64_t ts)
{
	for (unsigned a = 0; a < PL_NALLOC; a++)
		if (r->foot[a] > r->peak[a]) {
			r->peak[a] = r->foot[a];
			r->peak_slot[a] = r->slot_live[a];
			r->peak_req[a] = r->req_live;
			r->peak_ts[a] = ts;
		}
}

static void check_usable(struct pl_replay *r, const struct mpa_block *b, uint8_t api, int mm)
{
	uint64_t m = mpa_pl_glibc_usable(b->size, mm);
	unsigned ai = api < MPA_API_COUNT_ ? api : 0;
	r->chk_n++;
	r->chk_api_n[ai]++;
	if (m == b->usable) {
		r->chk_ok++;
		r->chk_api_ok[ai]++;
		return;
	}
	/* keep the 16 smallest distinct (size, recorded) mismatches */
	struct pl_mismatch x = {b->size, b->usable, m, (uint8_t)ai};
	uint32_t i = 0;
	while (i < r->nmis && (r->mis[i].size < x.size ||
			       (r->mis[i].size == x.size && r->mis[i].recorded < x.recorded) ||
			       (r->mis[i].size == x.size && r->mis[i].recorded == x.recorded &&
				r->mis[i].api < x.api)))
		i++;
	if (i < r->nmis && r->mis[i].size == x.size && r->mis[i].recorded == x.recorded &&
	    r->mis[i].api == x.api)
		return;
	if (i >= 16)
		return;
	uint32_t n = r->nmis < 16 ? r->nmis + 1 : 16;
	memmove(&r->mis[i + 1], &r->mis[i], (n - 1 - i) * sizeof *r->mis);
	r->mis[i] = x;
	r->nmis = n;
}

/* The slots of a request of n bytes under each model and the class of
 * each slab model (PL_OWN: pages of its own); glibc at threshold thresh. */
static inline void size_info(struct pl_replay *r, uint64_t n, uint64_t thresh,
			     uint64_t s[PL_NALLOC], uint32_t cls[PL_NSLAB])
{
	const struct pl_sz *z = mpa_pl_size(r, n);
	if (z) {
		uint64_t gc = mpa_pl_glibc_chunk(n);
		s[PL_GLIBC] = gc >= thresh ? mpa_pl_glibc_mmapped(n) : gc;
		for (unsigned a = 1; a < PL_NALLOC; a++)
			s[a] = z->slot[a];
		for (unsigned a = 0; a < PL_NSLAB; a++)
			cls[a] = z->cls[a] == 255 ? PL_OWN : z->cls[a];
		return;
	}
	s[PL_GLIBC] = mpa_pl_slot(r->t, PL_GLIBC, n, thresh, &cls[0]);
	for (unsigned a = 0; a < PL_NSLAB; a++)
		s[a + 1] = mpa_pl_slot(r->t, a + 1, n, 0, &cls[a]);
}

int mpa_pl_replay_alloc(struct pl_replay *r, uint32_t img, const struct mpa_block *b, uint8_t api,
			int check, uint64_t ts)
{
	struct pl_rimg *g = rimg_get(r, img, 1);
	if (!g) {
		r->oom = 1;
		return -1;
	}
	const uint64_t n = b->size;
	int mm = mpa_pl_glibc_chunk(n) >= g->thresh;
	if (check && b->usable)
		check_usable(r, b, api, mm);
	uint64_t s[PL_NALLOC];
	uint32_t cls[PL_NSLAB], run[PL_NSLAB];
	/* glibc below its threshold: the table's chunk (the threshold is at
	 * least PL_GLIBC_MMAP_THRESHOLD, above every small size's chunk) */
	size_info(r, n, g->thresh, s, cls);
	g->foot[PL_GLIBC] += s[PL_GLIBC];
	g->slot[PL_GLIBC] += s[PL_GLIBC];
	r->foot[PL_GLIBC] += s[PL_GLIBC];
	r->slot_live[PL_GLIBC] += s[PL_GLIBC];
	int inl = 1;
	for (unsigned a = 0; a < PL_NSLAB; a++) {
		g->slot[a + 1] += s[a + 1];
		r->slot_live[a + 1] += s[a + 1];
		if (cls[a] == PL_OWN) {
			run[a] = PL_OWN;
			g->foot[a + 1] += s[a + 1];
			r->foot[a + 1] += s[a + 1];
			continue;
		}
		uint64_t tb = 0;
		run[a] = take_slot(r, g, a, cls[a], &tb);
		if (run[a] == UINT32_MAX) {
			r->oom = 1;
			return -1;
		}
		inl &= run[a] < PL_IN_OWN;
		g->foot[a + 1] += tb;
		r->foot[a + 1] += tb;
	}
	uint32_t w;
	if (inl) {
		w = PL_IN_FLAG | (mm ? PL_IN_MM : 0);
		for (unsigned a = 0; a < PL_NSLAB; a++)
			w |= (run[a] == PL_OWN ? PL_IN_OWN : run[a]) << (a * PL_IN_BITS);
	} else {
		w = pe_new(r);
		if (!w || w >= PL_IN_FLAG) {
			r->oom = 1;
			return -1;
		}
		struct pl_pent *e = &r->pe[w - 1];
		for (unsigned a = 0; a < PL_NSLAB; a++)
			e->run[a] = run[a];
		e->mm = (uint32_t)mm;
	}
	mpa_block_set_scratch(b, w);
	g->req += n;
	g->blocks++;
	r->req_live += n;
	r->blocks_live++;
	note_peaks(r, ts);
	return 0;
}

/* Decodes b's placement into run[] and *mm; 0 when it has none. */
static int placement(const struct pl_replay *r, const struct mpa_block *b, uint32_t run[PL_NSLAB],
		     int *mm)
{
	uint32_t w = b->scratch;
	if (!w)
		return 0;
	if (w & PL_IN_FLAG) {
		*mm = !!(w & PL_IN_MM);
		for (unsigned a = 0; a < PL_NSLAB; a++) {
			uint32_t x = (w >> (a * PL_IN_BITS)) & PL_IN_OWN;
			run[a] = x == PL_IN_OWN ? PL_OWN : x;
		}
		return 1;
	}
	if (w > r->npe)
		return 0;
	const struct pl_pent *e = &r->pe[w - 1];
	*mm = (int)e->mm;
	for (unsigned a = 0; a < PL_NSLAB; a++)
		run[a] = e->run[a];
	return 1;
}

int mpa_pl_replay_free(struct pl_replay *r, uint32_t img, const struct mpa_block *b)
{
	uint32_t run[PL_NSLAB];
	int mm;
	if (!placement(r, b, run, &mm))
		return 0;
	struct pl_rimg *g = rimg_get(r, img, 0);
	if (!g)
		return 0;
	const uint64_t size = b->size;
	uint64_t s = mm ? mpa_pl_glibc_mmapped(size) : mpa_pl_glibc_chunk(size);
	g->foot[PL_GLIBC] -= s;
	g->slot[PL_GLIBC] -= s;
	r->foot[PL_GLIBC] -= s;
	r->slot_live[PL_GLIBC] -= s;
	if (mm && s > g->thresh && s <= PL_GLIBC_MMAP_THRESHOLD_MAX)
		g->thresh = s; /* glibc's dynamic mmap threshold */
	uint64_t sl[PL_NALLOC];
	uint32_t cls[PL_NSLAB];
	size_info(r, size, PL_GLIBC_MMAP_THRESHOLD, sl, cls);
	for (unsigned a = 0; a < PL_NSLAB; a++) {
		g->slot[a + 1] -= sl[a + 1];
		r->slot_live[a + 1] -= sl[a + 1];
		if (cls[a] == PL_OWN || run[a] == PL_OWN) {
			g->foot[a + 1] -= sl[a + 1];
			r->foot[a + 1] -= sl[a + 1];
			continue;
		}
		uint64_t rb = put_slot(r, g, a, cls[a], run[a]);
		g->foot[a + 1] -= rb;
		r->foot[a + 1] -= rb;
	}
	g->req -= size;
	g->blocks--;
	r->req_live -= size;
	r->blocks_live--;
	if (!(b->scratch & PL_IN_FLAG))
		pe_free(r, b->scratch);
	return 1;
}

void mpa_pl_replay_image_end(struct pl_replay *r, const struct mpa_image *img)
{
	uint32_t s = mpa_pl_map_get(&r->imgs, img->id);
	if (s == UINT32_MAX)
		return;
	struct pl_rimg *g = r->img[s];
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(img, &cur));)
		if (b->scratch && !(b->scratch & PL_IN_FLAG) && b->scratch <= r->npe)
			pe_free(r, b->scratch);
	for (unsigned a = 0; a < PL_NALLOC; a++) {
		r->foot[a] -= g->foot[a];
		r->slot_live[a] -= g->slot[a];
	}
	r->req_live -= g->req;
	r->blocks_live -= g->blocks;
	rimg_free(r, g);
	if (r->last == g)
		r->last = NULL;
	r->img[s] = NULL;
	mpa_pl_map_del(&r->imgs, img->id);
}
