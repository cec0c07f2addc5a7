/* timeline: what its files share (nothing outside analyzers/timeline/
 * includes this).  State: timeline.h. */
#ifndef MPA_TL_INTERNAL_H
#define MPA_TL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "timeline.h"

#define KERNEL_REC (UINT32_MAX - 1)   /* image index used for kernel blocks */
#define MAX_BUCKETS (1u << 20)        /* hard cap on kept buckets */
#define INTERVAL_BUCKETS (1u << 16)   /* with a fixed interval: most buckets before it doubles */
#define NS_PER_S 1000000000.0
#define STACK_DIRECT (UINT32_C(1) << 22)


/* tl_series.c */
uint64_t mpa_tl_mix64(uint64_t x);
/* Grows *arr to hold need elements of elem bytes (doubling); 0 or -1. */
int mpa_tl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);
int mpa_tl_series_grow(struct mpa_tl_series *s, uint64_t b);
struct mpa_tl_bucket *mpa_tl_series_cur(struct mpa_tl_series *s);
void mpa_tl_series_finish(struct mpa_tl_series *s, uint64_t t_end);
void mpa_tl_series_release(struct mpa_tl_series *s);
uint64_t mpa_tl_cur_bucket_slow(struct mpa_tl_state *st, uint64_t d);

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
	return mpa_tl_series_grow(s, b);
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

/* Bucket of st->now; widens the buckets when it is past the limit. */
static inline uint64_t cur_bucket(struct mpa_tl_state *st)
{
	if (st->now < st->t0)
		return 0;
	uint64_t d = st->now - st->t0;
	if (st->cb_valid && d >= st->cb_lo && d < st->cb_hi)
		return st->cb_index;
	return mpa_tl_cur_bucket_slow(st, d);
}

/* tl_events.c */
uint64_t mpa_tl_site_at_peak(const struct mpa_tl_state *st, const struct mpa_tl_site *s,
			     uint64_t *blocks);
int mpa_tl_pressure_push(struct mpa_tl_state *st, const struct mpa_tl_interval *iv);
int mpa_tl_on_row(void *state, const struct mpa_row *r);
int mpa_tl_image_end(void *state, const struct mpa_image *img);
int mpa_tl_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child);

/* tl_derive.c */
int mpa_tl_end(void *state, char *errbuf, size_t errlen);

/* tl_emit.c */
int mpa_tl_emit(void *state, mpa_out *out, char *errbuf, size_t errlen);

#endif /* MPA_TL_INTERNAL_H */
