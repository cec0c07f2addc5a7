/* frag: the address space of an image, walked in address order through the
 * heap model's address index — segments, span, free gaps — and, at an
 * image's end, the blocks that pin sparse pages.  Definitions:
 * doc/analyzers-frag.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frag_internal.h"

/* The next program block in address order, leaving out the live block at
 * skip's address and merging the (sorted) extra blocks in. */
struct cursor {
	const struct mpa_image *img;
	uint64_t cur;
	const struct mpa_block *pend;       /* next from the index (weak) */
	int done;
	uint64_t skip_ptr;
	int skip;
	const struct mpa_block *add[2];
	unsigned nadd, iadd;
};

static const struct mpa_block *idx_next(struct cursor *c)
{
	for (;;) {
		const struct mpa_block *b = mpa_image_next_block_by_addr(c->img, &c->cur);
		if (!b)
			return NULL;
		if (!frag_program(b) || (c->skip && b->ptr == c->skip_ptr))
			continue;
		return b;
	}
}

static const struct mpa_block *cur_next(struct cursor *c)
{
	if (!c->pend && !c->done) {
		c->pend = idx_next(c);
		c->done = !c->pend;
	}
	const struct mpa_block *a = c->iadd < c->nadd ? c->add[c->iadd] : NULL;
	if (a && (!c->pend || a->ptr <= c->pend->ptr)) {
		c->iadd++;
		return a;
	}
	const struct mpa_block *b = c->pend;
	c->pend = NULL;
	return b;
}

static void cur_init(struct cursor *c, const struct mpa_image *img, const struct mpa_block *skip,
		     const struct mpa_block *const *add, unsigned nadd)
{
	memset(c, 0, sizeof *c);
	c->img = img;
	if (skip) {
		c->skip = 1;
		c->skip_ptr = skip->ptr;
	}
	for (unsigned i = 0; i < nadd && i < 2; i++)
		c->add[c->nadd++] = add[i];
	if (c->nadd == 2 && c->add[1]->ptr < c->add[0]->ptr) {
		const struct mpa_block *t = c->add[0];
		c->add[0] = c->add[1];
		c->add[1] = t;
	}
}

/* The page being laid: its live bytes and, when pinning is measured, the
 * parts of the blocks on it. */
struct pagestate {
	struct frag *F;
	struct fsnap *s;
	struct fres *pin;          /* NULL: no pinning */
	const struct mpa_image *img;
	int have;
	uint64_t page, bytes;
	uint64_t last_pin_ptr, last_pin_page; /* counted once (+1: 0 = none) */
	int pinned_any;
};

static int part_push(struct pagestate *ps, const struct mpa_block *b, uint64_t bytes)
{
	struct frag *F = ps->F;
	ps->bytes = frag_sat_add(ps->bytes, bytes);
	if (!ps->pin)
		return 0;
	if (F->nparts == F->capparts) {
		uint32_t nc = F->capparts ? F->capparts * 2 : 256;
		struct fpart *n = realloc(F->parts, (size_t)nc * sizeof *n);
		if (!n)
			return -1;
		F->parts = n;
		F->capparts = nc;
	}
	F->parts[F->nparts++] = (struct fpart){b, bytes};
	return 0;
}

/* The page is complete: counted, and when sparse its free bytes charged to
 * the blocks on it in proportion to their bytes there. */
static void page_flush(struct pagestate *ps)
{
	struct frag *F = ps->F;
	if (!ps->have || !ps->bytes) {
		F->nparts = 0;
		return;
	}
	const uint64_t pg = F->page_size;
	uint64_t live = ps->bytes < pg ? ps->bytes : pg;
	struct fsnap *s = ps->s;
	s->pages++;
	s->fill_bytes += live;
	unsigned c = (unsigned)(live * 4 / pg);
	s->cls[c < FRAG_NCLASS ? c : FRAG_NCLASS - 1]++;
	if (ps->pin && (double)live < F->sparse_fill * (double)pg) {
		struct fres *r = ps->pin;
		if (ps->last_pin_page != ps->page + 1) {
			ps->last_pin_page = ps->page + 1;
			r->pin_pages++;
		}
		for (uint32_t k = 0; k < F->nparts; k++) {
			const struct mpa_block *b = F->parts[k].b;
			uint64_t part = F->parts[k].bytes < live ? F->parts[k].bytes : live;
			double ret = (double)(pg - live) * (double)part / (double)live;
			uint32_t sid = b->stack_id < F->nsites ? b->stack_id : 0;
			struct fsite *st = &F->sites[sid];
			st->retained += ret;
			r->pin_retained += ret;
			if (st->last_img != ps->img->id || st->last_page != ps->page + 1) {
				st->last_img = ps->img->id;
				st->last_page = ps->page + 1;
				st->pages++;
			}
			if (ps->last_pin_ptr != b->ptr + 1) {
				ps->last_pin_ptr = b->ptr + 1;
				st->blocks++;
				st->live = frag_sat_add(st->live, b->size);
				uint64_t age = ps->img->end_ts > b->ts ? ps->img->end_ts - b->ts : 0;
				if (age > st->max_age)
					st->max_age = age;
				r->pin_blocks++;
			}
		}
	}
	F->nparts = 0;
}

/* Lays the extent [p, p + e) of b on its pages, in address order. */
static int pages_lay(struct pagestate *ps, const struct mpa_block *b, uint64_t e)
{
	const uint64_t pg = ps->F->page_size;
	uint64_t fp = b->ptr / pg, lp = (b->ptr + e - 1) / pg;
	if (!ps->have || fp > ps->page) {
		page_flush(ps);
		ps->have = 1;
		ps->page = fp;
		ps->bytes = 0;
	}
	/* an overlapping block (a contradictory capture) starts on the page
	 * being laid */
	fp = ps->page;
	if (lp <= fp)
		return part_push(ps, b, e);
	uint64_t head = (fp + 1) * pg - b->ptr;
	if (head > pg)
		head = pg;
	if (part_push(ps, b, head) < 0)
		return -1;
	page_flush(ps);
	uint64_t inner = lp - fp - 1; /* inner * pg < 2^64: inside one extent */
	ps->s->pages = frag_sat_add(ps->s->pages, inner);
	ps->s->fill_bytes = frag_sat_add(ps->s->fill_bytes, inner * pg);
	ps->s->cls[FRAG_NCLASS - 1] = frag_sat_add(ps->s->cls[FRAG_NCLASS - 1], inner);
	ps->page = lp;
	ps->bytes = 0;
	return part_push(ps, b, b->ptr + e - lp * pg);
}

int mpa_frag_walk(struct frag *F, const struct fimg *f, const struct mpa_image *img, uint64_t ts,
		  const struct mpa_block *skip, const struct mpa_block *const *add, unsigned nadd,
		  struct fsnap *s, struct fres *pin)
{
	memset(s, 0, sizeof *s);
	s->valid = 1;
	s->ts = ts;
	s->live_bytes = f->live_bytes;
	s->live_blocks = f->live_blocks;
	s->usable_bytes = f->usable_bytes;
	s->usable_req = f->usable_req;
	s->unknown_blocks = f->unknown_blocks;
	F->walks++;
	const uint64_t pg = F->page_size;
	struct cursor c;
	cur_init(&c, img, skip, add, nadd);
	struct pagestate ps = {.F = F, .s = s, .pin = pin, .img = img};
	F->nparts = 0;
	uint64_t seg_start = 0, end = 0;
	int any = 0;
	for (const struct mpa_block *b; (b = cur_next(&c));) {
		F->walk_blocks++;
		uint64_t e = frag_extent(b), be = b->ptr + e;
		if (e && pages_lay(&ps, b, e) < 0)
			return -1;
		if (!any) {
			any = 1;
			seg_start = b->ptr;
			end = be;
			s->segments = 1;
			continue;
		}
		uint64_t gap = b->ptr > end ? b->ptr - end : 0;
		if (gap >= F->segment_gap) {
			s->span = frag_sat_add(s->span, end - seg_start);
			s->segments++;
			seg_start = b->ptr;
		} else if (gap >= F->min_gap && gap) {
			s->free_bytes = frag_sat_add(s->free_bytes, gap);
			if (gap > s->largest_gap)
				s->largest_gap = gap;
			/* whole pages inside [end, b->ptr) */
			uint64_t first = end / pg + (end % pg != 0), last = b->ptr / pg;
			if (last > first)
				s->free_pages += last - first;
		} else {
			s->overhead_bytes += gap;
		}
		if (be > end)
			end = be;
	}
	page_flush(&ps);
	if (any)
		s->span = frag_sat_add(s->span, end - seg_start);
	return 0;
}
