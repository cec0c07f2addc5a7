/* The allocation model shared by the analyzer benchmark's capture generator
 * (analyze_bench_gen.c, which writes it as .mpt events) and its workload
 * (analyze_bench_workload.c, which performs it with the real allocator so
 * heaptrack can record it).  Same seed, same operations.
 *
 * Shaped like what LTTng recordings of malloc-heavy programs show: mostly
 * small sizes with a long tail, about half the blocks freed almost at once
 * (LIFO), the rest living a while, a few reallocs that grow buffers, a tiny
 * share never freed, sites following a skewed (Zipf-like) popularity.
 */
#ifndef MPA_ANALYZE_BENCH_MODEL_H
#define MPA_ANALYZE_BENCH_MODEL_H

#include <stdint.h>

#define BM_SITES 64
#define BM_LIVE_MAX 40000 /* blocks held at most (the live heap) */

enum bm_op { BM_ALLOC, BM_FREE, BM_REALLOC };

struct bm_step {
	enum bm_op op;
	uint32_t slot;     /* live slot used */
	uint64_t size;     /* alloc / realloc size */
	uint64_t old_size; /* realloc: the size before */
	uint32_t site;     /* 0 .. BM_SITES-1 */
	int leak;          /* this allocation is never freed */
};

struct bm_model {
	uint64_t rng;
	uint32_t nlive;
	uint32_t live_site[BM_LIVE_MAX];
	uint64_t live_size[BM_LIVE_MAX];
	uint32_t last;     /* most recent allocation's slot, or UINT32_MAX */
	uint32_t cum[BM_SITES]; /* cumulative site weights, out of 1000000 */
	int cleanup;       /* the program frees what is live, then exits */
	int leak_off;      /* no allocation is left unfreed: the live heap stays
			    * bounded however long the run (same random draws) */
};

static inline uint64_t bm_rand(struct bm_model *m)
{
	uint64_t z = (m->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline void bm_init(struct bm_model *m, uint64_t seed)
{
	m->rng = seed;
	m->nlive = 0;
	m->last = UINT32_MAX;
	m->cleanup = 0;
	double total = 0, acc = 0;
	for (int k = 0; k < BM_SITES; k++)
		total += 1.0 / (k + 1);
	for (int k = 0; k < BM_SITES; k++) {
		acc += 1.0 / (k + 1) / total * 1000000.0;
		m->cum[k] = k == BM_SITES - 1 ? 1000000 : (uint32_t)acc;
	}
}

static inline uint64_t bm_size(struct bm_model *m)
{
	uint64_t r = bm_rand(m) % 1000;
	if (r < 600)
		return 8 + bm_rand(m) % 56;        /* 8..63 */
	if (r < 900)
		return 64 + bm_rand(m) % 448;      /* 64..511 */
	if (r < 990)
		return 512 + bm_rand(m) % 7680;    /* 512..8191 */
	return 8192 + bm_rand(m) % 262144;         /* the tail */
}

static inline uint32_t bm_site(struct bm_model *m)
{
	/* skewed: site k with weight ~ 1/(k+1) */
	uint32_t r = (uint32_t)(bm_rand(m) % 1000000);
	for (int k = 0; k < BM_SITES; k++)
		if (r < m->cum[k])
			return (uint32_t)k;
	return BM_SITES - 1;
}

/* The next operation.  The caller applies it: for BM_ALLOC the block goes
 * to slot (unless leak), BM_FREE frees slot, BM_REALLOC resizes slot. */
static inline struct bm_step bm_next(struct bm_model *m)
{
	struct bm_step s = {0};
	uint64_t r = bm_rand(m) % 1000;
	int can_alloc = m->nlive < BM_LIVE_MAX;
	if (m->nlive && r < 30) {
		s.op = BM_REALLOC;
		s.slot = (uint32_t)(bm_rand(m) % m->nlive);
		s.old_size = m->live_size[s.slot];
		s.size = s.old_size + 16 + bm_rand(m) % 256;
		s.site = m->live_site[s.slot];
		m->live_size[s.slot] = s.size;
		return s;
	}
	/* hold about half of BM_LIVE_MAX: alloc when below, free when above */
	int want_alloc = can_alloc && (m->nlive < BM_LIVE_MAX / 2 ? r < 700 : r < 500);
	if (!m->nlive || want_alloc) {
		s.op = BM_ALLOC;
		s.size = bm_size(m);
		s.site = bm_site(m);
		s.leak = bm_rand(m) % 1000 == 0 && !m->leak_off;
		if (s.leak)
			return s;
		s.slot = m->nlive++;
		m->live_site[s.slot] = s.site;
		m->live_size[s.slot] = s.size;
		m->last = s.slot;
		return s;
	}
	s.op = BM_FREE;
	/* short-lived: the most recent block; otherwise a random one */
	if (m->last != UINT32_MAX && m->last < m->nlive && bm_rand(m) % 100 < 60)
		s.slot = m->last;
	else
		s.slot = (uint32_t)(bm_rand(m) % m->nlive);
	m->last = UINT32_MAX;
	/* the caller moves the last slot into the freed one */
	return s;
}

/* After BM_FREE of slot: fill the hole with the last live slot. */
static inline uint32_t bm_compact(struct bm_model *m, uint32_t slot)
{
	uint32_t last = --m->nlive;
	m->live_site[slot] = m->live_site[last];
	m->live_size[slot] = m->live_size[last];
	return last; /* the caller moves its block from last to slot */
}

/* Operation i of a run of at most n - 1 operations: the last ones free
 * every live block (a program that cleans up before it exits), so only the
 * model's leaks stay allocated.  Returns 0 when the run is over. */
static inline int bm_step_at(struct bm_model *m, uint64_t i, uint64_t n, struct bm_step *s)
{
	if (i + 1 >= n)
		return 0;
	if (m->cleanup || i + 2 + m->nlive >= n) {
		m->cleanup = 1;
		if (!m->nlive)
			return 0;
		*s = (struct bm_step){.op = BM_FREE, .slot = m->nlive - 1};
		return 1;
	}
	*s = bm_next(m);
	return 1;
}

#endif
