/* mpa analysis core — one pass: every row through the heap model once,
 * then to each analyzer that asked for its kind.
 */
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "sites.h"
#include "source.h"

struct mpa_pass {
	const struct mpa_ctx *ctx;             /* (weak) */
	const struct mpa_analyzer *const *an;  /* (weak) */
	size_t n, begun;
	void **state;                          /* (owned array; states owned by their analyzer) */
	uint32_t *kinds;                       /* per analyzer: kinds it is given (owned) */
	struct mpa_heap *heap;                 /* (owned) */
	uint64_t columns;                      /* what the heap and analyzers read */
	void *zeros;                           /* (owned) zero column for missing ones */
	uint32_t zcap;
	uint64_t rows, last_ts;
	int hook_failed;
	char err[512];
};

static int hook_end(void *arg, const struct mpa_image *img)
{
	struct mpa_pass *p = arg;
	for (size_t k = 0; k < p->n; k++) {
		if (!p->an[k]->on_image_end)
			continue;
		if (p->an[k]->on_image_end(p->state[k], img) < 0) {
			mpa_errf(p->err, sizeof p->err, "%s: out of memory", p->an[k]->name);
			return -1;
		}
	}
	return 0;
}

static int hook_fork(void *arg, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct mpa_pass *p = arg;
	for (size_t k = 0; k < p->n; k++) {
		if (!p->an[k]->on_fork)
			continue;
		if (p->an[k]->on_fork(p->state[k], parent, child) < 0) {
			mpa_errf(p->err, sizeof p->err, "%s: out of memory", p->an[k]->name);
			return -1;
		}
	}
	return 0;
}

void mpa_pass_needs(const struct mpa_analyzer *const *an, size_t n, uint64_t *columns,
		    uint32_t *kinds)
{
	uint64_t c = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS);
	uint32_t k = 0;
	int all = 0;
	for (size_t i = 0; i < n; i++) {
		c |= an[i]->columns;
		if (!an[i]->kinds)
			all = 1;
		k |= an[i]->kinds;
	}
	/* the heap model replays its kinds whenever an analyzer reads rows of
	 * them; otherwise it only attaches rows to images (pid, domain) */
	int heap = all || (k & mpa_heap_kinds());
	if (heap) {
		k = all ? 0 : k | mpa_heap_kinds();
		c |= mpa_heap_columns();
	} else {
		c |= MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_DOMAIN);
	}
	*columns = c;
	*kinds = k;
}

struct mpa_pass *mpa_pass_create(const struct mpa_ctx *ctx,
				 const struct mpa_analyzer *const *an, size_t n, char *err,
				 size_t errlen)
{
	struct mpa_pass *p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	p->ctx = ctx;
	p->an = an;
	p->n = n;
	p->state = calloc(n ? n : 1, sizeof *p->state);
	p->kinds = calloc(n ? n : 1, sizeof *p->kinds);
	if (!p->state || !p->kinds)
		goto oom;
	uint32_t kinds;
	mpa_pass_needs(an, n, &p->columns, &kinds);
	/* struct mpa_block has one scratch word: one owner per pass */
	for (size_t k = 0, owner = n; k < n; k++) {
		if (!(an[k]->needs & MPA_NEED_BLOCK_SCRATCH))
			continue;
		if (owner < n) {
			mpa_errf(err, errlen, "%s and %s both ask for the block scratch word",
				 an[owner]->name, an[k]->name);
			mpa_pass_free(p);
			return NULL;
		}
		owner = k;
	}
	struct mpa_heap_hooks hooks = {p, hook_end, hook_fork};
	p->heap = mpa_heap_create(ctx->sites, ctx->reader, &hooks);
	if (!p->heap)
		goto oom;
	for (; p->begun < n; p->begun++) {
		const struct mpa_analyzer *a = an[p->begun];
		char aerr[512] = "";
		p->kinds[p->begun] = a->kinds ? a->kinds : UINT32_MAX;
		if (a->begin(ctx, &p->state[p->begun], aerr, sizeof aerr) < 0) {
			mpa_errf(err, errlen, "%s: %s", a->name, aerr[0] ? aerr : "cannot start");
			mpa_pass_free(p);
			return NULL;
		}
	}
	/* before any row: what the analyzers ask of the model for this capture */
	for (size_t k = 0; k < n; k++) {
		uint32_t nd = an[k]->needs_for ? an[k]->needs_for(p->state[k]) : an[k]->needs;
		if (nd & MPA_NEED_ADDR_INDEX)
			mpa_heap_set_addr_index(p->heap, 1);
	}
	return p;
oom:
	mpa_errf(err, errlen, "out of memory");
	mpa_pass_free(p);
	return NULL;
}

/* b with zeros in the columns the pass reads but b lacks. */
static int complete(struct mpa_pass *p, const struct mpt_batch *b, struct mpt_batch *out)
{
	*out = *b;
	int missing = 0;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if ((p->columns & MPT_COLBIT(c)) && !mpa_batch_col(b, c))
			missing = 1;
	if (!missing)
		return 0;
	if (b->n > p->zcap) {
		void *z = calloc(b->n, 8);
		if (!z)
			return -1;
		free(p->zeros);
		p->zeros = z;
		p->zcap = b->n;
	}
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if ((p->columns & MPT_COLBIT(c)) && !mpa_batch_col(b, c))
			mpa_batch_set_col(out, c, p->zeros);
	return 0;
}

int mpa_pass_feed(struct mpa_pass *p, const struct mpt_batch *in, char *err, size_t errlen)
{
	struct mpt_batch b;
	if (!in->kind || !in->ts) {
		mpa_errf(err, errlen, "batch without kind or ts column");
		return -1;
	}
	if (complete(p, in, &b) < 0) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	struct mpa_row row;
	/* rows this far ahead have their block slot fetched (the table is
	 * memory-bound; measured on the bench capture) */
	enum { AHEAD = 12 };
	for (uint32_t i = 0; i < b.n; i++) {
		if (i + AHEAD < b.n)
			mpa_heap_prefetch(p->heap, &b, i + AHEAD);
		if (mpa_heap_row(p->heap, &b, i, &row) < 0)
			goto fail;
		uint32_t kb = row.kind < 32 ? MPT_KINDBIT(row.kind) : 0;
		for (size_t k = 0; k < p->n; k++) {
			if (!(p->kinds[k] & kb))
				continue;
			if (p->an[k]->on_row(p->state[k], &row) < 0) {
				mpa_errf(p->err, sizeof p->err, "%s: out of memory", p->an[k]->name);
				goto fail;
			}
		}
		mpa_heap_row_done(p->heap, &row);
		if (row.ts > p->last_ts)
			p->last_ts = row.ts;
	}
	p->rows += b.n;
	return 0;
fail:
	mpa_errf(err, errlen, "%s", p->err[0] ? p->err : "out of memory");
	return -1;
}

int mpa_pass_tables_grew(struct mpa_pass *p, char *err, size_t errlen)
{
	const mpt_reader *r = p->ctx->reader;
	if (!r) {
		mpa_errf(err, errlen, "the tables grew but the context has no reader");
		return -1;
	}
	if (p->ctx->sites && mpa_sites_grow(p->ctx->sites, r, err, errlen) < 0)
		return -1;
	mpa_heap_tables_grew(p->heap, r);
	return 0;
}

int mpa_pass_finish(struct mpa_pass *p, uint64_t end_ts, char *err, size_t errlen)
{
	if (mpa_heap_finish(p->heap, end_ts ? end_ts : p->last_ts) < 0) {
		mpa_errf(err, errlen, "%s", p->err[0] ? p->err : "out of memory");
		return -1;
	}
	for (size_t k = 0; k < p->n; k++) {
		char aerr[512] = "";
		if (p->an[k]->end(p->state[k], aerr, sizeof aerr) < 0) {
			mpa_errf(err, errlen, "%s: %s", p->an[k]->name, aerr[0] ? aerr : "failed");
			return -1;
		}
	}
	return 0;
}

void *mpa_pass_state(const struct mpa_pass *p, size_t i)
{
	return i < p->begun ? p->state[i] : NULL;
}

uint64_t mpa_pass_rows(const struct mpa_pass *p)
{
	return p->rows;
}

void mpa_pass_heap_stats(const struct mpa_pass *p, struct mpa_heap_stats *st)
{
	mpa_heap_stats(p->heap, st);
}

void mpa_pass_free(struct mpa_pass *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < p->begun; k++)
		p->an[k]->release(p->state[k]);
	mpa_heap_free(p->heap);
	free(p->state);
	free(p->kinds);
	free(p->zeros);
	free(p);
}
