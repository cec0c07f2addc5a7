/* mpa analysis core — the heap model's address index, built on demand
 * (doc/heap-model.md, "Address index"): mpa_image_find_containing and
 * mpa_image_next_block_by_addr.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "heap_internal.h"

#define bt_find mpa_heap__bt_find


/* Ends a walk's compaction (the walk stopped early, or something else
 * needs the index): the unread tail moves down over the stale entries. */
static void aidx_settle(struct aidx *x)
{
	if (!x->walking)
		return;
	memmove(&x->base[x->w], &x->base[x->r], (x->nbase - x->r) * sizeof *x->base);
	x->nbase -= x->r - x->w;
	x->dead -= x->dead < x->r - x->w ? x->dead : x->r - x->w;
	x->walking = 0;
}

/* Room for n addresses in base (and the sort buffer); 0 or -1. */
static int aidx_reserve(struct aidx *x, uint64_t n)
{
	if (n <= x->cap)
		return 0;
	uint64_t cap = x->cap ? x->cap : 1024;
	while (cap < n)
		cap *= 2;
	uint64_t *nb = realloc(x->base, cap * sizeof *nb);
	if (!nb)
		return -1;
	x->base = nb;
	uint64_t *nt = realloc(x->tmp, cap * sizeof *nt);
	if (!nt)
		return -1;
	x->tmp = nt;
	x->cap = cap;
	return 0;
}

/* The first index of sorted a[0..n) whose value is > v. */
static uint64_t upper_bound(const uint64_t *a, uint64_t n, uint64_t v)
{
	uint64_t lo = 0, hi = n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (a[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Merges the delta into base, in place (base stays sorted and holds each
 * address once: an address ended and allocated again is in base and delta,
 * or twice in delta).
 * 0, or -1 when out of memory (the index is left as it was). */
static int aidx_merge(struct aidx *x)
{
	uint32_t m = 0;
	for (uint32_t j = 0; j < x->ndelta; j++) {
		uint64_t pos = upper_bound(x->base, x->nbase, x->delta[j]);
		if ((!pos || x->base[pos - 1] != x->delta[j]) &&
		    (!m || x->delta[m - 1] != x->delta[j]))
			x->delta[m++] = x->delta[j];
	}
	x->ndelta = m;
	if (aidx_reserve(x, x->nbase + m) < 0)
		return -1;
	/* from the top: each delta address opens its slot by moving the
	 * base addresses above it up by the number of delta addresses left */
	uint64_t i = x->nbase;
	for (uint32_t j = m; j-- > 0;) {
		uint64_t pos = upper_bound(x->base, i, x->delta[j]);
		memmove(&x->base[pos + j + 1], &x->base[pos], (i - pos) * sizeof *x->base);
		x->base[pos + j] = x->delta[j];
		i = pos;
	}
	x->nbase += m;
	x->ndelta = 0;
	return 0;
}

/* A block became live at ptr (it was not live before). */
void mpa_heap__aidx_add(const struct mpa_heap *h, struct himg *g, uint64_t ptr)
{
	struct aidx *x = &g->aidx;
	if (!h->addr_index || !x->valid)
		return;
	aidx_settle(x);
	if (x->ndelta == AIDX_DELTA) {
		/* many allocations since the last walk: rebuilding at the next
		 * query costs less than keeping up with each of them */
		x->valid = 0;
		return;
	}
	uint32_t lo = 0, hi = x->ndelta;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (x->delta[mid] < ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&x->delta[lo + 1], &x->delta[lo], (x->ndelta - lo) * sizeof *x->delta);
	x->delta[lo] = ptr;
	x->ndelta++;
}

/* The block at ptr ended. */
void mpa_heap__aidx_del(const struct mpa_heap *h, struct himg *g)
{
	struct aidx *x = &g->aidx;
	if (!h->addr_index || !x->valid)
		return;
	aidx_settle(x);
	if (++x->dead > x->nbase / 4 + 64)
		x->valid = 0;
}

void mpa_heap__aidx_free(struct aidx *x)
{
	free(x->base);
	free(x->tmp);
	free(x->delta);
	memset(x, 0, sizeof *x);
}

/* Sorts a[0..n) with an LSD radix sort on 11-bit digits, skipping the bits
 * every key shares; tmp holds n. */
static void radix_sort(uint64_t *a, uint64_t *tmp, uint64_t n)
{
	uint64_t or_all = 0, and_all = UINT64_MAX;
	for (uint64_t i = 0; i < n; i++) {
		or_all |= a[i];
		and_all &= a[i];
	}
	/* the digits: 11-bit windows, each starting at the lowest bit that
	 * varies above the previous window (heap addresses share their low 4
	 * bits and most high ones: 4 passes instead of 5 for 42 bits) */
	uint64_t rest = or_all ^ and_all;
	uint64_t *src = a, *dst = tmp;
	while (rest) {
		unsigned shift = (unsigned)__builtin_ctzll(rest);
		rest = shift + 11 >= 64 ? 0 : rest & (~UINT64_C(0) << (shift + 11));
		uint64_t count[2048] = {0};
		for (uint64_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0x7ff]++;
		uint64_t sum = 0;
		for (unsigned d = 0; d < 2048; d++) {
			uint64_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (uint64_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0x7ff]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

/* Rebuilds g's index from its block table: exact, no delta, nothing dead.
 * 0, or -1 when out of memory (recorded: the next row fails the pass). */
static int aidx_build(struct himg *g)
{
	struct aidx *x = &g->aidx;
	uint64_t n = g->heap.live;
	x->walking = 0;
	if (!x->delta) {
		x->delta = malloc(AIDX_DELTA * sizeof *x->delta);
		if (!x->delta)
			goto oom;
	}
	if (aidx_reserve(x, n) < 0)
		goto oom;
	uint64_t k = 0;
	for (uint64_t i = 0; i < g->heap.cap && k < n; i++)
		if (g->heap.t[i].state == B_LIVE)
			x->base[k++] = g->heap.t[i].ptr;
	radix_sort(x->base, x->tmp, k);
	x->nbase = k;
	x->ndelta = 0;
	x->dead = 0;
	x->valid = 1;
	return 0;
oom:
	g->owner->aidx_oom = 1;
	x->valid = 0;
	return -1;
}

/* The live address in sorted a[0..n) with the highest value <= addr, by
 * stepping back over ended ones (at most `steps`); 0 = none found, with
 * *exhausted set when the steps ran out first. */
static const struct mpa_block *aidx_pred(const struct himg *g, const uint64_t *a, uint64_t n,
					 uint64_t addr, unsigned steps, int *exhausted)
{
	for (uint64_t i = upper_bound(a, n, addr); i-- > 0;) {
		const struct mpa_block *b = bt_find(&g->heap, a[i]);
		if (b)
			return b;
		if (!steps--) {
			*exhausted = 1;
			return NULL;
		}
	}
	return NULL;
}

/* The index is a cache of the block table: queries on a const image
 * build it (the image itself is never const). */
const struct mpa_block *mpa_image_find_containing(const struct mpa_image *img, uint64_t addr)
{
	struct himg *g = (struct himg *)img;
	if (!g || !g->owner->addr_index || !g->heap.live)
		return NULL;
	const struct mpa_block *b = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!g->aidx.valid && aidx_build(g) < 0)
			return NULL;
		int exhausted = 0;
		const struct aidx *x = &g->aidx;
		if (x->walking) {
			/* during a walk: its kept part and its unread part (the
			 * higher addresses), without a step limit (a rebuild
			 * would lose the walk's place) */
			b = aidx_pred(g, x->base + x->r, x->nbase - x->r, addr, UINT_MAX,
				      &exhausted);
			if (!b)
				b = aidx_pred(g, x->base, x->w, addr, UINT_MAX, &exhausted);
		} else {
			b = aidx_pred(g, x->base, x->nbase, addr, 64, &exhausted);
		}
		const struct mpa_block *d = aidx_pred(g, x->delta, x->ndelta, addr, 64, &exhausted);
		if (d && (!b || d->ptr > b->ptr))
			b = d;
		if (!exhausted)
			break;
		g->aidx.valid = 0; /* too many ended blocks in the way: rebuild */
		b = NULL;
	}
	if (!b)
		return NULL;
	uint64_t ext = b->usable > b->size ? b->usable : b->size;
	if (!ext)
		ext = 1;
	return addr - b->ptr < ext ? b : NULL;
}

const struct mpa_block *mpa_image_next_block_by_addr(const struct mpa_image *img,
						    uint64_t *cursor)
{
	struct himg *g = (struct himg *)img;
	if (!g || !g->owner->addr_index)
		return NULL;
	struct aidx *x = &g->aidx;
	if (*cursor == 0) {
		aidx_settle(x); /* an earlier walk stopped early */
		if (x->valid && x->ndelta && aidx_merge(x) < 0)
			x->valid = 0;
		if (!x->valid && aidx_build(g) < 0)
			return NULL;
		/* the ended entries this walk meets are dropped as it goes */
		x->walking = x->dead > 0;
		x->w = x->r = 0;
	} else if (x->walking && *cursor != x->r) {
		aidx_settle(x); /* another walk's cursor */
	}
	while (*cursor < x->nbase) {
		uint64_t p = x->base[(*cursor)++];
		const struct mpa_block *b = bt_find(&g->heap, p);
		if (x->walking) {
			x->r = *cursor;
			if (b)
				x->base[x->w++] = p;
		}
		if (b)
			return b; /* (NULL only when the image changed during the walk) */
	}
	if (x->walking) { /* base now holds exactly the live blocks */
		x->nbase = x->w;
		x->dead = 0;
		x->walking = 0;
	}
	return NULL;
}
