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

int mpa_frag_walk(struct frag *F, struct fimg *f, const struct mpa_image *img, uint64_t ts,
		  const struct mpa_block *skip, const struct mpa_block *const *add, unsigned nadd,
		  struct fsnap *s)
{
	memset(s, 0, sizeof *s);
	s->valid = 1;
	s->ts = ts;
	s->live_bytes = f->live_bytes;
	s->live_blocks = f->live_blocks;
	s->usable_bytes = f->usable_bytes;
	s->usable_req = f->usable_req;
	s->unknown_blocks = f->unknown_blocks;
	s->pages = f->pages;
	s->fill_bytes = f->fill_bytes;
	memcpy(s->cls, f->cls, sizeof s->cls);
	F->walks++;
	const uint64_t ps = F->page_size;
	struct cursor c;
	cur_init(&c, img, skip, add, nadd);
	uint64_t seg_start = 0, end = 0;
	int any = 0;
	for (const struct mpa_block *b; (b = cur_next(&c));) {
		F->walk_blocks++;
		uint64_t e = frag_extent(b), be = b->ptr + e;
		if (!any) {
			any = 1;
			seg_start = b->ptr;
			end = be;
			s->segments = 1;
			continue;
		}
		uint64_t gap = b->ptr > end ? b->ptr - end : 0;
		if (gap >= F->segment_gap) {
			s->span += end - seg_start;
			s->segments++;
			seg_start = b->ptr;
		} else if (gap >= F->min_gap && gap) {
			s->free_bytes += gap;
			if (gap > s->largest_gap)
				s->largest_gap = gap;
			/* whole pages inside [end, b->ptr) */
			uint64_t first = end / ps + (end % ps != 0), last = b->ptr / ps;
			if (last > first)
				s->free_pages += last - first;
		} else {
			s->overhead_bytes += gap;
		}
		if (be > end)
			end = be;
	}
	if (any)
		s->span += end - seg_start;
	return 0;
}

/* ---- pinning --------------------------------------------------------------------------------- */

/* Page `page` holding `part` bytes of a block: its free bytes charged to
 * the block in proportion when the page is sparse.  Returns 1 when it is. */
static int sparse_share(const struct frag *F, const struct fimg *f, uint64_t page, uint64_t part,
			double *retained)
{
	uint64_t ps = F->page_size, live = mpa_frag_page_get(f, page);
	if (live > ps)
		live = ps;
	if (!live || !((double)live < F->sparse_fill * (double)ps))
		return 0;
	if (part > live)
		part = live;
	*retained += (double)(ps - live) * (double)part / (double)live;
	return 1;
}

static void site_page(struct fsite *st, uint32_t img, uint64_t page)
{
	if (st->last_img == img && st->last_page == page + 1)
		return;
	st->last_img = img;
	st->last_page = page + 1;
	st->pages++;
}

int mpa_frag_pinning(struct frag *F, struct fimg *f, const struct mpa_image *img,
		     struct fres *r)
{
	const uint64_t ps = F->page_size;
	uint64_t last_page = 0; /* page + 1 of the last sparse page counted */
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block_by_addr(img, &cur));) {
		if (!frag_program(b))
			continue;
		uint64_t e = frag_extent(b);
		if (!e)
			continue;
		uint64_t fp = b->ptr / ps, lp = (b->ptr + e - 1) / ps;
		double ret = 0;
		uint64_t pg[2];
		unsigned np = 0;
		if (fp == lp) {
			if (sparse_share(F, f, fp, e, &ret))
				pg[np++] = fp;
		} else {
			if (sparse_share(F, f, fp, (fp + 1) * ps - b->ptr, &ret))
				pg[np++] = fp;
			if (sparse_share(F, f, lp, b->ptr + e - lp * ps, &ret))
				pg[np++] = lp;
		}
		if (!np)
			continue;
		uint32_t sid = b->stack_id < F->nsites ? b->stack_id : 0;
		struct fsite *st = &F->sites[sid];
		st->blocks++;
		st->live = frag_sat_add(st->live, b->size);
		st->retained += ret;
		uint64_t age = img->end_ts > b->ts ? img->end_ts - b->ts : 0;
		if (age > st->max_age)
			st->max_age = age;
		r->pin_blocks++;
		r->pin_retained += ret;
		for (unsigned k = 0; k < np; k++) {
			site_page(st, img->id, pg[k]);
			if (last_page != pg[k] + 1) {
				last_page = pg[k] + 1;
				r->pin_pages++;
			}
		}
	}
	(void)f;
	return 0;
}
