/* The leak analyzer: what its files share (nothing outside analyzers/leak/
 * includes this). */
#ifndef MPA_LEAK_INTERNAL_H
#define MPA_LEAK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"

#define NS_PER_S 1000000000.0


struct supp {
	char *pattern;     /* (owned) */
	int site_only;     /* 1: match only the allocation site frame;
			    * 3: every frame's binary matches one of the '|' alternatives */
	char *source;      /* (owned) "builtin" or FILE:LINE */
	const char *reason;/* (weak; "" for user rules) */
	uint64_t blocks, bytes;
};

static inline uint64_t hash_ptr(uint64_t p)
{
	p ^= p >> 29;
	p *= UINT64_C(0x9E3779B97F4A7C15);
	return p ^ (p >> 32);
}


/* Heap blocks live when their image exited: G_UNFREED when the capture
 * has no reachability scan of that process (or the block got no status:
 * allocated after the scan), else valgrind's kinds G_DEF_LOST, G_IND_LOST,
 * G_POS_LOST, G_REACHABLE.  G_EXEC: live when their image exec'd: exec
 * released them with the whole address space (never a leak, apart). */
enum gclass { G_UNFREED, G_LIVE_AT_END, G_MAP, G_POOL_OBJECT, G_POOL, G_KERNEL, G_EXEC,
	      G_DEF_LOST, G_IND_LOST, G_POS_LOST, G_REACHABLE, G_NCLASS };
/* the kinds --leak-kinds chooses: bit (1 << enum mpa_reach) */
#define KIND_BIT(reach) (1u << (reach))
#define KINDS_DEFAULT "definite,possible"
extern const char *const mpa_leak_class_name[];
enum gstate { S_EXIT, S_EXEC, S_END, S_POOL_DESTROY, S_NSTATE };
extern const char *const mpa_leak_state_name[];

struct group {
	uint8_t cls, state;
	uint32_t image, stack, name;  /* name: pool name string id; kernel: call-site index */
	uint64_t blocks, bytes;
	uint64_t first_ts, last_ts, max_age;
	uint64_t procs;
	uint32_t last_inst;
	uint8_t used;
};

struct topblk {
	uint8_t cls, state;
	int32_t pid;
	uint32_t image, stack;
	uint64_t ptr, size, ts, age;
};

enum anomaly { A_DOUBLE_FREE, A_UNKNOWN_FREE, A_UNKNOWN_REALLOC, A_FREED_REALLOC, A_ALLOC_LIVE,
	       A_POOL_DOUBLE_FREE, A_POOL_UNKNOWN_FREE, A_NANOM };
extern const char *const mpa_leak_anomaly_name[];

struct example {
	int32_t pid;
	uint64_t ts, ptr;
	uint32_t stack;
};

struct site {
	uint64_t live_bytes, live_blocks; /* modular: exact whenever the true value fits */
	uint64_t allocs, alloc_bytes;
	uint64_t *win;          /* live bytes at the end of each window (owned) */
	uint64_t oldest_end;    /* oldest live block's alloc ts at capture end */
	uint64_t end_bytes, end_blocks; /* live at capture end (not suppressed) */
	int32_t supp;           /* suppression index, -1 none, -2 not computed */
};

struct leak {
	const struct mpa_ctx *ctx;   /* (weak) */
	/* settings */
	double growth_min_age_s, growth_min_monotonic;
	int64_t growth_min_bytes;
	uint32_t nwin, max_examples, top_n, top_sites;
	/* time */
	uint64_t t0, t1;             /* analyzed span */
	uint32_t widx;               /* windows completed */
	uint64_t next_boundary;
	int snap_failed;
	uint64_t base;               /* first event of the capture: outputs count from it */
	/* processes (the heap model's images, counted as they end) */
	uint64_t procs_seen, procs_exited, procs_exec;
	uint64_t *kips;              /* kernel call sites of the kernel groups (owned) */
	uint32_t nkips;              /* kips[i]: the heap model's call site i */
	uint64_t ev_kalloc, ev_kfree, kfree_unknown;
	uint64_t tracer_blocks, tracer_bytes; /* the tracer's own, left out */
	unsigned gate_kinds;          /* KIND_BIT mask of [leak] leak_kinds */
	uint64_t images_scanned, images_unscanned; /* exited images with / without a scan */
	int32_t scan_threads_max;     /* most other threads running during a scan */
	/* mappings, pool objects and pools an exec released (counted, not listed) */
	uint64_t exec_maps, exec_map_bytes, exec_pool_objects, exec_pool_object_bytes,
		exec_pools;
	/* sites, indexed by stack id (0 = unknown) */
	struct site *sites;          /* (owned) */
	uint32_t nsites;
	const mpt_reader *sites_reader; /* the reader nsites was taken from (weak) */
	/* suppressions */
	struct supp *supps;          /* (owned) */
	size_t nsupps;
	/* results */
	struct group *groups;        /* open addressing (owned) */
	uint64_t gcap, gused;
	struct topblk *top;          /* min-heap on size (owned) */
	uint32_t ntop;
	uint64_t anom[A_NANOM];
	struct example *ex[A_NANOM]; /* (owned) */
	uint32_t nex[A_NANOM];
	uint64_t ev_alloc, ev_free, ev_realloc, ev_failed, ev_free_null, ev_map, ev_unmap,
		ev_pool;
	uint64_t supp_blocks, supp_bytes;
	/* filled by end() */
	int ended;
	uint64_t cls_blocks[G_NCLASS], cls_bytes[G_NCLASS], cls_groups[G_NCLASS];
	uint32_t *growth;            /* growth suspect stack ids (owned) */
	uint32_t ngrowth;
	double *growth_rate, *growth_mono; /* per suspect (owned) */
	uint64_t growth_bytes;
	struct group **sorted;       /* groups in output order (owned array) */
	uint64_t nsorted;
};

/* Totals saturate: a hostile capture's sizes near 2^64 give "at least"
 * figures, never wrapped small ones (and never signed overflow). */
static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* A count for JSON (jansson integers are signed 64-bit). */
static inline long long ji(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (long long)v;
}

static inline struct site *site_of(struct leak *L, uint32_t stack)
{
	return &L->sites[stack < L->nsites ? stack : 0];
}

/* leak_supp.c */
/* The suppression matching stack, -1 none (cached per stack). */
int32_t mpa_leak_suppression_of(struct leak *L, uint32_t stack);
/* Adds a rule (pattern and source copied). 0 or -1 (out of memory). */
int mpa_leak_add_supp(struct leak *L, const char *pattern, int site_only, const char *source,
		      const char *reason);
/* The built-in rules, then the user's file ([leak] suppressions). */
int mpa_leak_load_suppressions(struct leak *L, char *err, size_t errlen);

/* leak.c */
int mpa_leak_top_less(const struct topblk *a, const struct topblk *b);
/* Bytes and blocks the CI gate counts: the chosen kinds, plus what was not
 * freed at exit in processes without a scan (their kinds are unknown). */
void mpa_leak_gate_totals(const struct leak *L, uint64_t *bytes, uint64_t *blocks);
/* "definitely or possibly lost" for the chosen kinds. */
void mpa_leak_kinds_text(unsigned kinds, char *buf, size_t len);

/* leak_emit.c */
int mpa_leak_emit(void *state, mpa_out *out, char *err, size_t errlen);

#endif /* MPA_LEAK_INTERNAL_H */
