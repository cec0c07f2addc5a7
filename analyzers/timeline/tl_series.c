/* timeline: series of time buckets, and the clock that places rows in them. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_internal.h"

/* ---- small helpers -------------------------------------------------------- */

uint64_t mpa_tl_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

int mpa_tl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
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


/* Makes bucket b the series' current one and accounts time up to now. */


/* Appends buckets up to b, each carrying the current value. */
int mpa_tl_series_grow(struct mpa_tl_series *s, uint64_t b)
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
	if (mpa_tl_grow((void **)&s->bk, &s->cap, (uint32_t)need, sizeof *s->bk))
		return -1;
	while (s->n < need) {
		struct mpa_tl_bucket *k = &s->bk[s->n++];
		memset(k, 0, sizeof *k);
		k->live_max = k->live_end = s->live;
		k->blocks_max = k->blocks_end = s->blocks;
	}
	return 0;
}


struct mpa_tl_bucket *mpa_tl_series_cur(struct mpa_tl_series *s)
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

void mpa_tl_series_finish(struct mpa_tl_series *s, uint64_t t_end)
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

void mpa_tl_series_release(struct mpa_tl_series *s)
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



uint64_t mpa_tl_cur_bucket_slow(struct mpa_tl_state *st, uint64_t d)
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

