/* pool: what its files share (nothing outside analyzers/pool/ includes
 * this).  The analyzer answers four questions from one pass over the heap
 * model (doc/analyzers-pool.md):
 *  - custom pools (mpa pool API): occupancy over time, capacity advice,
 *    contradictory events counted as anomalies (pool.c);
 *  - size classes: the requested-size distribution, the bytes wasted under
 *    glibc, jemalloc, tcmalloc and mimalloc classes, optimal K classes
 *    (pool_classes.c);
 *  - what-if replay: the alloc/free sequence through a model of each
 *    allocator's classes and runs; the glibc usable-size self-check
 *    (pool_replay.c);
 *  - pooling candidates per site (pool.c); outputs (pool_emit.c).
 * Memory grows with the live heap, the distinct sizes, sites and pools,
 * never with the number of rows.
 */
#ifndef MPA_POOL_INTERNAL_H
#define MPA_POOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"

/* ---- allocator size-class models (pool_classes.c) ------------------------- */

enum { PL_GLIBC = 0, PL_JE = 1, PL_TC = 2, PL_MI = 3, PL_NALLOC = 4 };
#define PL_NSLAB 3           /* je, tc, mi: the slab models of the replay */
#define PL_OWN UINT32_MAX    /* class index of an object on pages of its own */

/* glibc's default mmap threshold and its dynamic ceiling (bytes) */
#define PL_GLIBC_MMAP_THRESHOLD UINT64_C(131072)
#define PL_GLIBC_MMAP_THRESHOLD_MAX UINT64_C(33554432)

struct pl_cls {
	uint64_t size;  /* slot bytes */
	uint64_t run;   /* bytes of one run (slab, span, page) holding size-byte slots */
	uint32_t per;   /* slots per run */
};

#define PL_SMALL_MAX 4096 /* sizes with a direct class lookup */
#define PL_DIRECT_SIZES 65536 /* sizes counted in an array (512 KiB), not the map */

/* A request of n <= PL_SMALL_MAX bytes under every model, precomputed:
 * mpa_pl_slot's answers (glibc: a heap chunk, below any mmap threshold). */
struct pl_sz {
	uint32_t slot[PL_NALLOC];
	uint8_t cls[PL_NSLAB];       /* slab class of je, tc, mi; 255 = pages of its own */
};

struct pl_tables {
	struct pl_cls *c[PL_NALLOC]; /* (owned) slab classes, ascending; glibc: none */
	uint32_t n[PL_NALLOC];       /* (each below 255) */
	uint8_t small[PL_NALLOC][PL_SMALL_MAX / 8 + 1]; /* class of sizes 8i-7..8i */
	struct pl_sz *sz;            /* (owned) PL_SMALL_MAX + 1 sizes */
};

extern const char *const mpa_pl_alloc_name[PL_NALLOC];
extern const char *const mpa_pl_alloc_source[PL_NALLOC];

int mpa_pl_tables_init(struct pl_tables *t);
void mpa_pl_tables_release(struct pl_tables *t);
/* Bytes allocator a spends on a request of n bytes (its slot: a size class,
 * glibc's chunk, or the pages of an object too big for a class); *cls is
 * the slab class index or PL_OWN.  glibc: mmapped when its chunk is at
 * least mmap_threshold. */
uint64_t mpa_pl_slot(const struct pl_tables *t, unsigned a, uint64_t n, uint64_t mmap_threshold,
		     uint32_t *cls);
/* glibc: chunk size of a request (heap chunk, header included). */
static inline uint64_t mpa_pl_glibc_chunk(uint64_t n)
{
	if (n > UINT64_MAX - 64)
		return UINT64_MAX & ~UINT64_C(15);
	uint64_t c = (n + 8 + 15) & ~UINT64_C(15);
	return c < 32 ? 32 : c;
}
/* glibc: malloc_usable_size() of a request, heap or mmapped chunk. */
uint64_t mpa_pl_glibc_usable(uint64_t n, int mmapped);
/* glibc: bytes of an mmapped chunk for a request. */
uint64_t mpa_pl_glibc_mmapped(uint64_t n);

/* Optimal k class sizes (multiples of *align) for sizes[0..m) ascending
 * with counts: minimises sum count * (class - size).  Writes up to k
 * classes to out (ascending), their number to *nout and the waste to
 * *waste; *align is doubled while k x (distinct rounded sizes) exceeds
 * PL_DP_CELLS.  0, or -1 when out of memory. */
#define PL_DP_CELLS (UINT64_C(1) << 24)
int mpa_pl_optimal_classes(const uint64_t *sizes, const uint64_t *counts, uint32_t m, uint32_t k,
			   uint64_t *align, uint64_t *out, uint32_t *nout, unsigned __int128 *waste);

/* ---- log-linear histogram (quantiles in bounded memory) ------------------- */

/* Values below 16 have a bucket each; above, each power of two is cut in
 * 8 buckets (relative width <= 12.5 %). */
#define PL_HBUCKETS (16 + 60 * 8)
uint32_t mpa_pl_hbucket(uint64_t v);
uint64_t mpa_pl_hbucket_hi(uint32_t b); /* largest value of bucket b */

/* ---- small maps ------------------------------------------------------------ */

/* u64 key -> u32 index (linear probing, never deleted from). */
struct pl_map {
	uint64_t *k;
	uint32_t *v;  /* UINT32_MAX = empty */
	uint32_t cap, n;
};
/* The index of key, or UINT32_MAX. */
uint32_t mpa_pl_map_get(const struct pl_map *m, uint64_t key);
/* Sets key -> val (replaces). 0 or -1 (out of memory). */
int mpa_pl_map_put(struct pl_map *m, uint64_t key, uint32_t val);
void mpa_pl_map_del(struct pl_map *m, uint64_t key);
void mpa_pl_map_release(struct pl_map *m);
uint64_t mpa_pl_mix64(uint64_t x);
int mpa_pl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* ---- the replay (pool_replay.c) ---------------------------------------------- */

struct pl_pent;              /* the modeled allocators' placement of one live block */
struct pl_rimg;              /* one image's modeled heaps */

struct pl_replay {
	const struct pl_tables *t; /* (weak) */
	/* sizes above PL_SMALL_MAX seen lately: direct-mapped on the size */
	struct pl_szc {
		uint64_t n;            /* 0 = empty */
		struct pl_sz z;
	} *szc;                    /* (owned) PL_SZC entries */
	/* placements, indexed by the blocks' scratch word (index + 1);
	 * freed entries are chained from free_head (index + 1, 0 = none) */
	struct pl_pent *pe;        /* (owned) */
	uint32_t npe, cappe, free_head;
	struct pl_rimg **img;      /* (owned) by image slot */
	uint32_t nimg, capimg;
	struct pl_map imgs;        /* image id -> slot */
	struct pl_rimg *last;      /* (weak) the image of the last row */
	/* now, over all images */
	uint64_t foot[PL_NALLOC], slot_live[PL_NALLOC], req_live, blocks_live;
	/* at each model's peak footprint */
	uint64_t peak[PL_NALLOC], peak_slot[PL_NALLOC], peak_req[PL_NALLOC], peak_ts[PL_NALLOC];
	/* glibc usable-size self-check */
	uint64_t chk_n, chk_ok, chk_api_n[MPA_API_COUNT_], chk_api_ok[MPA_API_COUNT_];
	struct pl_mismatch {
		uint64_t size, recorded, modeled;
		uint8_t api;
	} mis[16];
	uint32_t nmis;
	int oom;
};

#define PL_SZC 1024
#define PL_SZC_MAX (UINT64_C(1) << 30) /* larger sizes: slots may pass 32 bits */

int mpa_pl_replay_init(struct pl_replay *r, const struct pl_tables *t);
/* Fills the cache entry of size n (PL_SMALL_MAX < n <= PL_SZC_MAX). */
const struct pl_sz *mpa_pl_size_fill(struct pl_replay *r, uint64_t n);
/* mpa_pl_slot's answers for a request of n bytes (glibc at its default
 * threshold), or NULL past PL_SZC_MAX. */
static inline const struct pl_sz *mpa_pl_size(struct pl_replay *r, uint64_t n)
{
	if (n <= PL_SMALL_MAX)
		return &r->t->sz[n];
	if (n > PL_SZC_MAX)
		return NULL;
	const struct pl_szc *c = &r->szc[(n * UINT64_C(0x9E3779B97F4A7C15)) >> 54];
	return c->n == n ? &c->z : mpa_pl_size_fill(r, n);
}
void mpa_pl_replay_release(struct pl_replay *r);
/* A program block became live in img (usable: recorded, 0 = unknown;
 * check: count it in the self-check).  Its placement goes into the
 * block's scratch word (the analyzer owns it: MPA_NEED_BLOCK_SCRATCH).
 * 0 or -1. */
int mpa_pl_replay_alloc(struct pl_replay *r, uint32_t img, const struct mpa_block *b, uint8_t api,
			int check, uint64_t ts);
/* A program block of img ended (b: as the row hands it, its scratch word
 * intact): 1, or 0 when it was not placed. */
int mpa_pl_replay_free(struct pl_replay *r, uint32_t img, const struct mpa_block *b);
/* img ended: its modeled heaps and its blocks' placements are dropped. */
void mpa_pl_replay_image_end(struct pl_replay *r, const struct mpa_image *img);

/* ---- the analyzer's state (pool.c) --------------------------------------------- */

#define PL_SERIES_POOLS 1024 /* pools with an in-use series */

enum pl_pool_end { PL_END_RUNNING = 0, PL_END_DESTROYED, PL_END_IMAGE, PL_END_RECREATED };

struct pl_pool {
	uint32_t img, id, name;   /* image id, pool id, name string id */
	int32_t pid;
	uint64_t obj_size, capacity;
	uint64_t t_create, t_end, t_last;
	uint8_t how;              /* enum pl_pool_end */
	uint8_t inherited;        /* copied at fork */
	uint64_t in_use, hwm, allocs, frees, never_returned;
	uint64_t at_cap_ns, oversize, over_capacity;
	double integral;          /* in_use x ns */
	uint64_t *hist;           /* (owned) PL_HBUCKETS: ns spent at each in-use level;
				   * freed when the pool ends */
	uint64_t quant;           /* its in-use quantile, once ended */
	uint64_t *series;         /* (owned) points: highest in-use per time bucket;
				   * NULL past the first PL_SERIES_POOLS pools */
	uint64_t series_first;    /* first bucket touched */
	uint64_t series_last;     /* last bucket touched */
};

enum pl_anom {
	PL_AN_UNKNOWN_POOL = 0,   /* alloc/free/destroy naming a pool the image does not have */
	PL_AN_DOUBLE_RETURN,      /* an object returned twice */
	PL_AN_UNKNOWN_RETURN,     /* an object never taken returned */
	PL_AN_OVERSIZE,           /* an object larger than its pool's object size */
	PL_AN_OVER_CAPACITY,      /* more objects in use than the pool's capacity */
	PL_AN_WRONG_POOL,         /* an object returned to another pool than its own */
	PL_AN_LIVE_ADDRESS,       /* an object taken at an address still in use */
	PL_AN_RECREATED,          /* pool_create of an id still alive */
	PL_AN_COUNT_
};
extern const char *const mpa_pl_anom_name[PL_AN_COUNT_];

#define PL_MG 4 /* Misra-Gries counters of sizes per site */

struct pl_site {
	uint32_t stack;
	uint64_t allocs, bytes, frees;
	uint64_t slot[PL_NALLOC];     /* bytes of slots under each allocator */
	uint64_t mg_size[PL_MG], mg_cnt[PL_MG];
	uint32_t distinct;            /* distinct sizes seen, saturates at PL_MG + 1 */
	uint64_t live, peak_live;
	uint64_t first_ts, last_ts;
	uint64_t life_min, life_max;
	uint32_t *life;               /* (owned) PL_HBUCKETS lifetimes, NULL until a free */
};

struct pl_size {
	uint64_t size, count;
};

struct pl_state {
	const struct mpa_ctx *ctx;    /* (weak) */
	/* options */
	uint32_t points, k, top_n;
	uint64_t align, min_calls;
	double headroom, short_ns, same_frac, quantile;
	struct pl_tables t;
	/* pools */
	struct pl_pool *pools;
	uint32_t npools, cappools;
	struct pl_map live_pools;     /* (image id << 32 | pool id) -> pools index */
	uint64_t anom[PL_AN_COUNT_];
	uint64_t pool_rows;
	/* sizes and sites */
	struct pl_size *sizes;
	uint32_t nsizes, capsizes;
	struct pl_map size_ix;
	struct pl_site *sites;
	uint32_t nsites, capsites;
	struct pl_map site_ix;            /* stack ids beyond the stack table */
	uint32_t *site_of;                /* (owned) stack id -> site index + 1, 0 = none */
	uint32_t nstacks;                 /* entries of site_of */
	uint64_t *small_sizes;            /* (owned) counts of sizes below PL_DIRECT_SIZES */
	uint64_t allocs, bytes, slot[PL_NALLOC];
	uint64_t usable_known, usable_unknown;
	/* replay */
	struct pl_replay r;
	/* results of end() */
	uint64_t *opt;                /* (owned) optimal classes */
	uint64_t opt_align;           /* their alignment (align, or more: see PL_DP_CELLS) */
	uint32_t nopt;
	unsigned __int128 opt_waste;
	int ended;
};

/* pool_emit.c */
int mpa_pl_emit(struct pl_state *S, mpa_out *out, char *err, size_t errlen);
void mpa_pl_headline(struct pl_state *S, char *line, size_t len);
/* p-quantile (0..1) of a histogram of weights; 0 when empty. */
uint64_t mpa_pl_hist_quantile(const uint64_t *h, double p);

#endif
