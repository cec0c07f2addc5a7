/* The cache analyzer's state, shared by its files (and nothing else):
 * cache.c (interface, options, rows), cache_tab.c (tables, data sources),
 * cache_attr.c (attribution of addresses, threads' stacks, --lookup),
 * cache_emit.c (tables, JSON, plots).  Metrics: doc/analyzers-cache.md.
 */
#ifndef MPA_CACHE_INTERNAL_H
#define MPA_CACHE_INTERNAL_H

#include <stdint.h>

#include "mpa/analyzer.h"

#define NCTR MPA_CTR_COUNT_
/* latency buckets: [0, 1) is "no weight"; bucket i >= 1 holds [2^(i-1), 2^i) */
#define NLAT 42
/* CPUs remembered per cache line (more are counted, not named) */
#define LINE_CPUS 4

/* ---- a small open-addressing table of fixed-size entries -------------------------------- */

/* Every entry starts with this header: two key words and the used mark. */
struct ckey {
	uint64_t a, b;
	uint64_t used;
};

struct ctab {
	uint8_t *v;      /* cap entries of esz bytes (owned) */
	uint64_t cap, n; /* cap a power of two, at most half full */
	size_t esz;
	uint64_t limit;  /* entries it may hold, 0 = no limit */
	uint64_t refused; /* lookups refused by the limit */
};

void ctab_init(struct ctab *t, size_t esz, uint64_t limit);
void ctab_free(struct ctab *t);
/* The entry of (a, b); created zeroed when create and absent.  NULL when
 * absent (create = 0), out of memory or at the limit (refused counts it). */
void *ctab_get(struct ctab *t, uint64_t a, uint64_t b, int create);
/* Removes an entry ctab_get returned. */
void ctab_del(struct ctab *t, void *entry);
/* Entry at slot i or NULL (iteration: i from 0 to cap). */
void *ctab_at(const struct ctab *t, uint64_t i);
/* The n entries as an array of pointers (owned by the caller), NULL when
 * out of memory (or n == 0: *out_n = 0). */
void **ctab_list(const struct ctab *t, uint64_t *out_n);

/* ---- perf's data_src ------------------------------------------------------------------- */

struct dsrc {
	uint8_t op;     /* DS_OP_* */
	uint8_t level;  /* DS_LVL_* */
	uint8_t result; /* DS_HIT / DS_MISS / DS_NA */
	uint8_t snoop;  /* DS_SNOOP_* */
	uint8_t tlb;    /* DS_HIT / DS_MISS / DS_NA */
	uint8_t locked;
	uint8_t remote; /* the level is another node's (remote RAM or cache) */
};

enum { DS_OP_NA, DS_OP_LOAD, DS_OP_STORE, DS_OP_PFETCH, DS_OP_EXEC, DS_OP_N };
enum {
	DS_LVL_NA, DS_LVL_L1, DS_LVL_LFB, DS_LVL_L2, DS_LVL_L3, DS_LVL_L4, DS_LVL_ANY_CACHE,
	DS_LVL_LOCAL_RAM, DS_LVL_REMOTE_RAM, DS_LVL_REMOTE_CACHE, DS_LVL_PMEM, DS_LVL_CXL,
	DS_LVL_IO, DS_LVL_UNCACHED, DS_LVL_N
};
enum { DS_NA, DS_HIT, DS_MISS, DS_RES_N };
enum { DS_SNOOP_NA, DS_SNOOP_NONE, DS_SNOOP_HIT, DS_SNOOP_MISS, DS_SNOOP_HITM, DS_SNOOP_N };

/* Decodes perf's union perf_mem_data_src (little-endian bit layout of
 * linux/perf_event.h).  0 when v carries nothing (0, or every field "not
 * available"), 1 otherwise. */
int cache_dsrc_decode(uint64_t v, struct dsrc *d);
extern const char *const cache_ds_op[DS_OP_N], *const cache_ds_level[DS_LVL_N],
	*const cache_ds_res[DS_RES_N], *const cache_ds_snoop[DS_SNOOP_N];

/* ---- aggregates ------------------------------------------------------------------------ */

struct cstats {
	uint64_t samples[NCTR];
	uint64_t events[NCTR];  /* sum of periods (period 0 counts 1), saturating */
	uint64_t weighted, weight; /* samples with a weight, their sum */
};

/* per thread (a = pid, b = tid), per function (a = stack id of the sample),
 * per allocation site (a = allocation stack id, b = owner kind, | the kernel
 * call-site index << 8 for kernel objects without a stack) */
struct cgroup {
	struct ckey k;
	struct cstats s;
	uint64_t min_size, max_size; /* sites: sizes of the objects hit */
	uint64_t offset_sum;         /* sites: sum of the offsets inside them */
	uint64_t ksite;              /* kernel sites without a stack: the call site */
};

/* bytes allocated per allocation stack (sites' denominators) */
struct calloc_site {
	struct ckey k;               /* a = stack id */
	uint64_t bytes, blocks;
};

/* hot cache lines inside a site's objects: a = site stack, b = line index
 * inside the object (capped) */
struct cline_off {
	struct ckey k;
	uint64_t samples, events;
};
#define MAX_LINE_INDEX 63

/* one cache line with a store or a HITM sample: a = image id, b = line address */
struct cline {
	struct ckey k;
	uint64_t samples, loads, stores, hitm, hitm_remote;
	int32_t pid;
	uint32_t site;          /* allocation stack of the object first seen on it */
	uint64_t obj_offset;    /* offset of the line in that object */
	uint8_t site_kind;      /* enum owner kind of the first attributed sample */
	uint8_t ncpu, more_cpus;
	struct {
		uint32_t cpu;
		uint32_t stores;
		uint64_t words;   /* bit w: a store to the line's w-th 1/64 */
	} w[LINE_CPUS];
};

/* data-source breakdown: a = counter | op << 8 | level << 16 | result << 24 |
 * snoop << 32 | tlb << 40 | locked << 48 */
struct cdsrc_row {
	struct ckey k;
	uint64_t samples, events, weighted, weight;
};

/* ---- attribution ------------------------------------------------------------------------ */

enum owner_kind {
	OWN_NONE = 0,   /* no process, or nothing known there */
	OWN_HEAP,       /* a live heap block */
	OWN_POOL,       /* a live pool object */
	OWN_KERNEL,     /* a live kernel object */
	OWN_MAP,        /* a known mapping */
	OWN_STACK,      /* a thread's stack */
	OWN_NOPROC,     /* the sample's process has no image */
	OWN_N
};
extern const char *const cache_owner_name[OWN_N];

struct owner {
	enum owner_kind kind;
	const struct mpa_image *img;   /* (weak) */
	const struct mpa_block *blk;   /* heap, pool, kernel (weak) */
	const struct mpa_map *map;     /* (weak) */
	int32_t tid;                   /* stack: its thread */
	uint64_t base, size;           /* the owner's range */
	uint64_t ts;                   /* its allocation / mapping / thread start */
	uint32_t stack;                /* its stack id */
};

/* a thread's stack (thread_start), until its thread_exit: a sorted
 * vector by (pid, base) */
struct cthread {
	int32_t pid, tid;
	uint64_t base, size, ts;
};

/* an image seen running (weak): a = image id */
struct cimg {
	struct ckey k;
	const struct mpa_image *img;
};

/* one --lookup query */
struct cquery {
	char text[96];                 /* as given */
	uint64_t addr, t;              /* t: absolute ns; UINT64_MAX = the end */
	int settled;
	struct qowner *own;            /* (owned) */
	unsigned nown, capown;
};

/* one answer of a query */
struct qowner {
	uint8_t kind;                  /* enum owner_kind */
	uint8_t ended;                 /* blocks: 0 live, 1 freed at free_ts,
					* 2 live when its image ended (how) */
	uint8_t how;                   /* enum mpa_image_end */
	int32_t pid, tid;
	uint32_t img, stack;
	uint64_t base, size, usable, ts, free_ts, end_ts;
	uint64_t at;                   /* the time answered (an image's end for
					* a query without @T) */
	uint32_t aux;                  /* pool id, kernel site index */
	uint64_t ksite;                /* kernel objects: call site */
};

/* ---- the state ------------------------------------------------------------------------- */

struct cache {
	const struct mpa_ctx *ctx;     /* (weak) */
	double threshold;
	uint64_t line;                 /* cache line size, bytes */
	uint64_t page;                 /* page size, bytes */
	int64_t top;                   /* rows per ranked table */
	struct cstats all;             /* every sample */
	uint64_t with_addr[NCTR];
	uint64_t lat[NCTR][NLAT];
	uint64_t wmin[NCTR], wmax[NCTR];
	uint64_t wsum[NCTR], wcnt[NCTR]; /* weights per counter */
	uint64_t no_dsrc[NCTR];        /* samples without a data source */
	uint64_t owned[NCTR][OWN_N];   /* samples with an address, by owner */
	uint64_t owned_events[NCTR][OWN_N];
	uint64_t kernel_ip[NCTR];      /* samples whose ip is the kernel's */
	struct ctab threads, funcs, sites, allocs, offs, lines, dsrcs;
	/* running images seen (struct cimg: weak pointers, dropped at their
	 * end): where a --lookup looks; never a copy of their content */
	struct ctab imgs;
	const struct mpa_image *kimg;  /* the kernel image once seen (weak) */
	struct cthread *thr;           /* live threads' stacks (owned) */
	size_t nthr, capthr;
	uint64_t thread_starts;        /* thread_start rows seen */
	int have_samples;              /* the capture has cache_sample rows */
	uint64_t nwatch;               /* lookup answers still live (watched) */
	struct cquery *q;              /* sorted by t (owned) */
	size_t nq, next_q;             /* next_q: first unsettled */
	uint64_t last_ts;
	const char *lookup_text;       /* (weak, config) */
};

/* cache_attr.c */
int cache_attr_begin(struct cache *C, char *err, size_t errlen);
void cache_attr_release(struct cache *C);
/* What owned addr in img at the current state (the row being given not
 * undone). */
void cache_owner(const struct cache *C, const struct mpa_image *img, uint64_t addr,
		 struct owner *o);
int cache_attr_row(struct cache *C, const struct mpa_row *r);
int cache_attr_image_end(struct cache *C, const struct mpa_image *img);
int cache_attr_fork(struct cache *C, const struct mpa_image *child);
int cache_attr_end(struct cache *C);
json_t *cache_lookups_json(const struct cache *C);

/* cache_emit.c */
int cache_emit(void *state, mpa_out *out, char *err, size_t errlen);
void cache_headline(void *state, char *line, size_t len);
double cache_hit_ratio(const struct cstats *s);
uint64_t cache_total_samples(const struct cache *C);

static inline uint64_t cache_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

#endif /* MPA_CACHE_INTERNAL_H */
