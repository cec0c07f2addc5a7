/* The fragmentation analyzer: per process image, the address space the heap
 * model replays (its live blocks in address order, with their usable
 * sizes) measured over time, at the peak and at the end — heap span, free
 * bytes inside it, the largest free gap, internal and external
 * fragmentation, page occupancy, the sites whose blocks pin sparse pages,
 * a health score and the fragmentation alert.
 *
 * The blocks are the heap model's: this file keeps derived counters per
 * running image (live and usable bytes, moved by each alloc/free/realloc
 * fact) and walks the image's blocks in address order through the model's
 * address index for the geometry and the pages (frag_walk.c), under a
 * budget of block visits per row.  Memory grows with the number of images
 * and sites and the buckets, never with the number of rows.  Every metric: doc/analyzers-frag.md.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frag_internal.h"

static const struct mpa_option frag_options[] = {
	{"frag", "enabled", MPA_OPT_BOOL, "true",
	 "run the fragmentation analyzer under --all (an explicit --frag always runs it)"},
	{"frag", "points", MPA_OPT_INT, "100",
	 "time buckets of the fragmentation series; the address space is measured at the end of "
	 "each (buckets, 1..10000)"},
	{"frag", "segment_gap", MPA_OPT_INT, "1048576",
	 "a gap at least this long between live blocks separates two heap segments (arenas, "
	 "mmapped blocks) and counts in no span (bytes)"},
	{"frag", "min_gap", MPA_OPT_INT, "32",
	 "gaps shorter than this between blocks are allocator overhead (headers, alignment), not "
	 "free memory (bytes)"},
	{"frag", "sparse_fill", MPA_OPT_FLOAT, "0.25",
	 "a page whose live bytes are below this share of the page is sparse (fraction)"},
	{"frag", "min_pages", MPA_OPT_INT, "16",
	 "smallest heap span, in pages, given a health score and held against the alert (pages)"},
	{"frag", "recommend_bytes", MPA_OPT_INT, "65536",
	 "a pinning site retaining at least this much gets a recommendation (bytes)"},
	{"frag", "top_sites", MPA_OPT_INT, "20",
	 "pinning sites in the plot, with their stacks in frag.json, considered for a "
	 "recommendation (sites, 0..100000)"},
	{"alerts", "fragmentation_threshold", MPA_OPT_FLOAT, "0.5",
	 "alert when a process image's final external fragmentation (free bytes inside the heap "
	 "span / span) exceeds this (fraction 0..1)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

/* ---- counters ------------------------------------------------------------------------------- */

/* A program block becomes live (sign > 0) or ends in f. */
static void block_move(struct fimg *f, const struct mpa_block *b, int sign)
{
	if (!frag_program(b))
		return;
	if (sign > 0) {
		f->live_bytes += b->size;
		f->live_blocks++;
		if (b->usable) {
			f->usable_bytes += b->usable;
			f->usable_req += b->size;
		} else {
			f->unknown_blocks++;
		}
	} else {
		f->live_bytes -= b->size;
		f->live_blocks--;
		if (b->usable) {
			f->usable_bytes -= b->usable;
			f->usable_req -= b->size;
		} else {
			f->unknown_blocks--;
		}
	}
	f->dirty = 1;
}

/* ---- images ------------------------------------------------------------------------------- */

static struct fimg *img_find(struct frag *F, uint32_t id)
{
	for (struct fimg *f = F->ih[id & (F->ihcap - 1)]; f; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

/* The bucket of ts at the current width (stride fine buckets). */
static uint64_t bucket_of(const struct frag *F, uint64_t ts)
{
	uint64_t b = ts <= F->t0 ? 0 : (ts - F->t0) / F->width;
	if (b >= F->points)
		b = F->points - 1;
	return b / F->stride;
}

/* The first ts of the bucket after the one in progress (UINT64_MAX: it
 * is the last): rows before it need no bucket arithmetic. */
static uint64_t next_edge(const struct frag *F)
{
	uint64_t fine = (F->cur + 1) * F->stride; /* its first fine bucket */
	if (fine >= F->points)
		return UINT64_MAX;
	if (fine > (UINT64_MAX - F->t0) / F->width)
		return UINT64_MAX;
	return F->t0 + fine * F->width;
}

static struct fimg *img_get(struct frag *F, const struct mpa_image *img)
{
	if (F->last && F->last->id == img->id)
		return F->last;
	struct fimg *f = img_find(F, img->id);
	if (f)
		return F->last = f;
	f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->id = img->id;
	f->pid = img->pid;
	f->seq = img->seq;
	f->path = img->path;
	f->start_ts = img->start_ts;
	f->dirty = 1;
	uint32_t k = img->id & (F->ihcap - 1);
	f->next = F->ih[k];
	F->ih[k] = f;
	F->nimg++;
	return F->last = f;
}

static void img_drop(struct frag *F, struct fimg *f)
{
	if (F->last == f)
		F->last = NULL;
	for (struct fimg **p = &F->ih[f->id & (F->ihcap - 1)]; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	F->nimg--;
	free(f);
}

/* The image's value at the end of buckets [from, to]. */
static void commit(struct frag *F, const struct fsnap *s, uint64_t from, uint64_t to)
{
	if (!s->valid)
		return;
	if (to >= F->nbk)
		to = F->nbk - 1;
	for (uint64_t b = from; b <= to; b++) {
		struct fbucket *k = &F->bk[b];
		k->images++;
		k->live_bytes = frag_sat_add(k->live_bytes, s->live_bytes);
		k->usable_bytes = frag_sat_add(k->usable_bytes, s->usable_bytes);
		k->usable_req = frag_sat_add(k->usable_req, s->usable_req);
		k->unknown_blocks = frag_sat_add(k->unknown_blocks, s->unknown_blocks);
		k->span = frag_sat_add(k->span, s->span);
		k->free_bytes = frag_sat_add(k->free_bytes, s->free_bytes);
		k->overhead_bytes = frag_sat_add(k->overhead_bytes, s->overhead_bytes);
		if (s->largest_gap > k->largest_gap)
			k->largest_gap = s->largest_gap;
		k->segments = frag_sat_add(k->segments, s->segments);
		k->pages = frag_sat_add(k->pages, s->pages);
		k->fill_bytes = frag_sat_add(k->fill_bytes, s->fill_bytes);
		k->free_pages = frag_sat_add(k->free_pages, s->free_pages);
		for (unsigned c = 0; c < FRAG_NCLASS; c++)
			k->cls[c] = frag_sat_add(k->cls[c], s->cls[c]);
	}
}

/* Buckets twice as wide: a merged bucket keeps its second half, the state
 * at its end (an image that ended in its first half leaves it); the
 * bucket in progress, cur, becomes cur / 2. */
static void widen(struct frag *F)
{
	uint64_t nn = (F->nbk + 1) / 2;
	for (uint64_t c = 0; c < nn; c++)
		F->bk[c] = F->bk[2 * c + 1 < F->nbk ? 2 * c + 1 : 2 * c];
	memset(&F->bk[nn], 0, (size_t)(F->nbk - nn) * sizeof *F->bk);
	F->nbk = nn;
	F->stride *= 2;
	F->cur /= 2;
	F->widened++;
}

/* Walks f into its last_snap unless it is unchanged since the last walk.
 * r: the row being handled (the walk measures the state before it). */
static int walk(struct frag *F, struct fimg *f, const struct mpa_image *img,
		const struct mpa_row *r, uint64_t ts)
{
	if (!f->dirty && f->last_snap.valid)
		return 0;
	const struct mpa_block *add[2];
	unsigned nadd = 0;
	if (r && frag_program(r->old))
		add[nadd++] = r->old;
	if (r && frag_program(r->dup))
		add[nadd++] = r->dup;
	if (mpa_frag_walk(F, f, img, ts, r ? r->blk : NULL, add, nadd, &f->last_snap, NULL) < 0)
		return -1;
	f->dirty = 0;
	/* any walk at a larger live size than the kept peak's is a better one */
	if (!f->peak.valid || f->last_snap.live_bytes > f->peak.live_bytes) {
		f->peak = f->last_snap;
		f->peak.ts = f->live_bytes == f->max_live ? f->max_ts : ts;
	}
	return 0;
}

/* May walks of `need` more blocks be made by this kind of walk? */
static int budget_ok(const struct frag *F, uint64_t used, uint64_t need)
{
	return used + need <= FRAG_WALK_ALLOWANCE + F->rows / FRAG_WALK_ROWS_PER_VISIT;
}

/* The row r (of image f) is in bucket c past the bucket in progress: every
 * running image's state at the end of buckets [cur, c) — measured now,
 * before r — is committed; when those walks would pass the budget the
 * buckets widen first. */
static int cross(struct frag *F, struct fimg *cf, const struct mpa_row *r, uint64_t c)
{
	for (;;) {
		uint64_t need = 0;
		for (uint32_t k = 0; k < F->ihcap; k++)
			for (struct fimg *f = F->ih[k]; f; f = f->next)
				if (f->dirty || !f->last_snap.valid)
					need += f->live_blocks;
		/* the bucket walks' share up to bucket c, the budget spread over
		 * the buckets */
		uint64_t rows = F->total_rows > F->rows ? F->total_rows : F->rows;
		double allowed = ((double)FRAG_WALK_ALLOWANCE + (double)rows / FRAG_WALK_ROWS_PER_VISIT) *
				 (double)(c + 1) / (double)F->nbk;
		uint64_t floor = F->points < FRAG_MIN_BUCKETS ? F->points : FRAG_MIN_BUCKETS;
		if ((double)(F->visits_bucket + need) <= allowed || F->nbk <= 1 ||
		    (F->nbk + 1) / 2 < floor)
			break;
		widen(F);
		c = bucket_of(F, r->ts);
		if (c <= F->cur)
			return 0;
	}
	for (uint32_t k = 0; k < F->ihcap; k++)
		for (struct fimg *f = F->ih[k]; f; f = f->next) {
			uint64_t before = F->walk_blocks;
			if (walk(F, f, f == cf ? r->img : f->img, f == cf ? r : NULL, r->ts) < 0)
				return -1;
			F->visits_bucket += F->walk_blocks - before;
			/* an exited image (its grace still running) counts up to
			 * the bucket of its exit */
			uint64_t to = c - 1;
			const struct mpa_image *im = f == cf ? r->img : f->img;
			if (im->exited && bucket_of(F, im->exit_ts) < to)
				to = bucket_of(F, im->exit_ts);
			if (to >= F->cur)
				commit(F, &f->last_snap, F->cur, to);
		}
	F->cur = c;
	return 0;
}

/* The peak is measured lazily: when live bytes are about to fall from
 * their running maximum, in the state before that row — at most once per
 * live_blocks / 4 rows of the image and within the walk budget
 * (doc/analyzers-frag.md). */
static int frag_on_row(void *state, const struct mpa_row *r)
{
	struct frag *F = state;
	F->rows++;
	if (!r->img || r->img->kernel || r->failed)
		return 0;
	if (r->kind != MPA_KIND_ALLOC && r->kind != MPA_KIND_FREE && r->kind != MPA_KIND_REALLOC)
		return 0;
	if (!r->blk && !r->old && !r->dup)
		return 0;
	struct fimg *f = img_get(F, r->img);
	if (!f)
		return -1;
	f->img = r->img;
	if (r->ts >= F->next_edge) {
		uint64_t c = bucket_of(F, r->ts);
		if (c > F->cur && cross(F, f, r, c) < 0)
			return -1;
		F->next_edge = next_edge(F);
	}
	uint64_t sub = (frag_program(r->old) ? r->old->size : 0) +
		       (frag_program(r->dup) ? r->dup->size : 0);
	uint64_t add = frag_program(r->blk) ? r->blk->size : 0;
	if (sub > add && f->live_bytes == f->max_live &&
	    (!f->peak.valid || f->peak.live_bytes < f->max_live) &&
	    f->rows_since_peak * 4 >= f->live_blocks &&
	    budget_ok(F, F->visits_peak, f->live_blocks)) {
		uint64_t before = F->walk_blocks;
		if (walk(F, f, r->img, r, r->ts) < 0)
			return -1;
		F->visits_peak += F->walk_blocks - before;
		f->rows_since_peak = 0;
	}
	f->rows_since_peak++;
	if (r->old)
		block_move(f, r->old, -1);
	if (r->dup)
		block_move(f, r->dup, -1);
	if (r->blk) {
		block_move(f, r->blk, +1);
		if (frag_program(r->blk)) {
			F->blocks_seen++;
			F->usable_blocks_seen += r->blk->usable != 0;
		}
	}
	if (f->live_bytes > f->max_live) {
		f->max_live = f->live_bytes;
		f->max_ts = r->ts;
	}
	return 0;
}

static int frag_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct frag *F = state;
	(void)parent;
	if (child->kernel)
		return 0;
	struct fimg *f = img_get(F, child);
	if (!f)
		return -1;
	f->img = child;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(child, &cur));)
		block_move(f, b, +1);
	f->max_live = f->live_bytes;
	f->max_ts = child->start_ts;
	return 0;
}

static int frag_image_end(void *state, const struct mpa_image *img)
{
	struct frag *F = state;
	if (img->kernel)
		return 0;
	struct fimg *f = img_find(F, img->id);
	if (!f)
		return 0; /* no heap row: nothing to measure */
	if (F->nres == F->capres) {
		uint32_t nc = F->capres ? F->capres * 2 : 16;
		struct fres *n = realloc(F->res, (size_t)nc * sizeof *n);
		if (!n)
			return -1;
		F->res = n;
		F->capres = nc;
	}
	struct fres *r = &F->res[F->nres];
	memset(r, 0, sizeof *r);
	/* the end: one walk measures it and the pinning sites */
	if (mpa_frag_walk(F, f, img, img->end_ts, NULL, NULL, 0, &r->end, r) < 0)
		return -1;
	if (!f->peak.valid || r->end.live_bytes > f->peak.live_bytes) {
		f->peak = r->end;
		f->peak.ts = f->live_bytes == f->max_live ? f->max_ts : img->end_ts;
	}
	/* it was in this state since its last row: at the end of the buckets
	 * from the one in progress to its end's (the bucket it ended in shows
	 * what it held just before) */
	uint64_t eb = bucket_of(F, img->end_ts);
	if (eb >= F->cur)
		commit(F, &r->end, F->cur, eb);
	uint64_t nm;
	const struct mpa_map *maps = mpa_image_maps(img, &nm);
	for (uint64_t i = 0; maps && i < nm; i++) {
		if (maps[i].flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP))
			continue;
		r->maps++;
		if (maps[i].api == MPA_API_BRK || maps[i].api == MPA_API_SBRK)
			r->brk_bytes = frag_sat_add(r->brk_bytes, maps[i].len);
		else
			r->map_bytes = frag_sat_add(r->map_bytes, maps[i].len);
	}
	r->id = f->id;
	r->pid = f->pid;
	r->seq = f->seq;
	r->path = img->path;
	r->how = (uint8_t)img->how;
	r->start_ts = f->start_ts;
	r->end_ts = img->end_ts;
	r->max_live = f->max_live;
	r->max_ts = f->max_ts;
	r->peak = f->peak;
	F->nres++;
	img_drop(F, f);
	return 0;
}

/* ---- begin, end, release --------------------------------------------------------------------- */

static void frag_release(void *state)
{
	struct frag *F = state;
	if (!F)
		return;
	for (uint32_t k = 0; F->ih && k < F->ihcap; k++)
		while (F->ih[k])
			img_drop(F, F->ih[k]);
	free(F->ih);
	free(F->bk);
	free(F->res);
	free(F->sites);
	free(F->parts);
	free(F);
}

static int64_t opt_int(const mpa_config *c, const char *key, int64_t def)
{
	return c ? mpa_config_int(c, "frag", key) : def;
}

static double opt_float(const mpa_config *c, const char *sec, const char *key, double def)
{
	return c ? mpa_config_float(c, sec, key) : def;
}

static int frag_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	*state = NULL;
	const mpa_config *c = ctx->config;
	int64_t points = opt_int(c, "points", 100), seg = opt_int(c, "segment_gap", 1048576);
	int64_t min_gap = opt_int(c, "min_gap", 32), min_pages = opt_int(c, "min_pages", 16);
	int64_t rec = opt_int(c, "recommend_bytes", 65536), top = opt_int(c, "top_sites", 20);
	double fill = opt_float(c, "frag", "sparse_fill", 0.25);
	double thr = opt_float(c, "alerts", "fragmentation_threshold", 0.5);
	if (points < 1 || points > FRAG_MAX_POINTS) {
		mpa_errf(err, errlen, "[frag] points must be 1..%d", FRAG_MAX_POINTS);
		return -1;
	}
	if (seg < 1 || min_gap < 0 || min_gap > seg) {
		mpa_errf(err, errlen, "[frag] segment_gap must be >= 1 and min_gap 0..segment_gap");
		return -1;
	}
	if (min_pages < 0 || min_pages > (INT64_C(1) << 32) || rec < 0 || top < 0 || top > 100000) {
		mpa_errf(err, errlen, "[frag] min_pages must be 0..4294967296, recommend_bytes >= 0, "
				      "top_sites 0..100000");
		return -1;
	}
	if (!(fill > 0 && fill <= 1)) {
		mpa_errf(err, errlen, "[frag] sparse_fill must be above 0 and at most 1");
		return -1;
	}
	if (!(thr >= 0 && thr <= 1)) {
		mpa_errf(err, errlen, "[alerts] fragmentation_threshold must be between 0 and 1");
		return -1;
	}
	struct frag *F = calloc(1, sizeof *F);
	if (!F)
		goto oom;
	F->ctx = ctx;
	F->points = (uint32_t)points;
	F->segment_gap = (uint64_t)seg;
	F->min_gap = (uint64_t)min_gap;
	F->min_pages = (uint64_t)min_pages;
	F->recommend_bytes = (uint64_t)rec;
	F->top_sites = (uint32_t)top;
	F->sparse_fill = fill;
	F->threshold = thr;
	const struct mpt_topology *topo = ctx->reader ? mpt_reader_topology(ctx->reader) : NULL;
	F->page_size_known = topo && topo->page_size >= 512 && topo->page_size <= (1u << 30) &&
			     !(topo->page_size & (topo->page_size - 1));
	F->page_size = F->page_size_known ? topo->page_size : 4096;
	/* buckets over the selection's span (the chunk index's), fixed before
	 * the first row */
	uint64_t lo = ctx->span_first, hi = ctx->span_last < UINT64_MAX ? ctx->span_last + 1 : UINT64_MAX;
	if (ctx->ts_from > lo)
		lo = ctx->ts_from;
	if (ctx->ts_to && ctx->ts_to < hi)
		hi = ctx->ts_to;
	F->t0 = lo;
	F->width = UINT64_MAX;
	if (hi > lo) {
		uint64_t span = hi - lo;
		F->width = span / F->points + (span % F->points != 0);
		/* the buckets the span fills (fewer than points when the width
		 * was rounded up, or the span is shorter than points ns) */
		uint64_t n = span / F->width + (span % F->width != 0);
		if (n < F->points)
			F->points = (uint32_t)n;
	}
	if (!F->width)
		F->width = 1;
	/* the rows to come, for the walks' budget (0 without a file) */
	uint32_t nch = ctx->reader ? mpt_reader_chunk_count(ctx->reader) : 0;
	for (uint32_t i = 0; i < nch; i++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(ctx->reader, i, &ci) == MPT_OK)
			F->total_rows = frag_sat_add(F->total_rows, ci.rows);
	}
	F->nbk = F->points;
	F->stride = 1;
	F->next_edge = next_edge(F);
	F->bk = calloc(F->points, sizeof *F->bk);
	F->ihcap = 256;
	F->ih = calloc(F->ihcap, sizeof *F->ih);
	uint32_t ns = ctx->reader ? mpt_reader_stack_count(ctx->reader) : 0;
	F->nsites = ns + 1;
	F->sites = calloc(F->nsites, sizeof *F->sites);
	if (!F->bk || !F->ih || !F->sites)
		goto oom;
	*state = F;
	return 0;
oom:
	frag_release(F);
	mpa_errf(err, errlen, "out of memory");
	return -1;
}

static int cmp_res(const void *a, const void *b)
{
	const struct fres *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int frag_end(void *state, char *err, size_t errlen)
{
	struct frag *F = state;
	(void)err, (void)errlen;
	if (F->nres)
		qsort(F->res, F->nres, sizeof *F->res, cmp_res);
	/* the image with the largest peak is the headline's; the alert is the
	 * largest final external fragmentation among spans of min_pages */
	for (uint32_t i = 0; i < F->nres; i++) {
		const struct fres *r = &F->res[i];
		if (!F->have_main || r->max_live > F->res[F->main].max_live) {
			F->have_main = 1;
			F->main = i;
		}
		if (!r->end.valid || r->end.span < F->min_pages * F->page_size)
			continue;
		double e = mpa_frag_external(&r->end);
		if (!isnan(e) && e > F->threshold && (!F->alert || e > F->alert_value)) {
			F->alert = 1;
			F->alert_value = e;
			F->alert_img = i;
		}
	}
	return 0;
}

#define KINDS_READ                                                                              \
	(MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) | MPT_KINDBIT(MPA_KIND_REALLOC))

const struct mpa_analyzer mpa_analyzer_frag = {
	.name = "frag",
	.summary = "heap fragmentation per process image over time, at the peak and at the end: "
		   "span, free gaps, internal/external fragmentation, page occupancy, pinning "
		   "sites, health score",
	.kinds = KINDS_READ,
	.columns = 0,
	.needs = MPA_NEED_ADDR_INDEX,
	.options = frag_options,
	.enable_section = "frag",
	.enable_key = "enabled",
	.begin = frag_begin,
	.on_row = frag_on_row,
	.on_image_end = frag_image_end,
	.on_fork = frag_fork,
	.end = frag_end,
	.emit = mpa_frag_emit,
	.release = frag_release,
	.headline = mpa_frag_headline,
};
