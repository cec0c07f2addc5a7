/* The timeline and allocation-pattern analyzer: its state, exposed for its
 * unit tests (tests/analyzers/test_timeline*.c).  Nothing else includes
 * this header; other analyzers and the framework see only
 * mpa_analyzer_timeline.  Metrics are defined in doc/analyzers-timeline.md.
 */
#ifndef MPA_ANALYZERS_TIMELINE_H
#define MPA_ANALYZERS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"

/* Settings, normally read from the configuration by begin(). */
struct mpa_tl_params {
	uint32_t points;            /* most buckets kept ([visualization] timeline_points) */
	uint64_t interval_ns;       /* fixed bucket width, 0 = span / points */
	uint64_t pressure_bytes;    /* [alerts] memory_pressure_threshold, 0 = off */
	uint64_t short_ns;          /* [patterns] temporary_threshold_ms in ns, 0 = off */
	uint32_t top_n;             /* rows of the top tables */
	double burst_factor;        /* rate / median that makes a bucket "high" */
	uint64_t min_calls;         /* allocations at one site before a recommendation */
	uint64_t min_growth;        /* growing reallocs at one site before "reserve" */
	uint64_t phase_buckets;     /* phases use at most this many merged buckets */
	int exclude_tracer;         /* leave out the tracer's own allocations */
	/* Time range of the capture when known in advance (from the reader's
	 * chunk index), else both 0 and buckets adapt as events arrive. */
	uint64_t range_from, range_to;
};

/* One time bucket of one series. */
struct mpa_tl_bucket {
	uint64_t live_max, live_end;      /* bytes: highest in the bucket, at its end */
	uint64_t blocks_max, blocks_end;  /* blocks, same */
	uint64_t allocs, frees;           /* calls (a realloc counts in both) */
	uint64_t bytes_alloc, bytes_freed;
};

/* A live-heap series: a process image, all user processes, or the kernel. */
struct mpa_tl_series {
	uint64_t live, blocks;            /* now */
	uint64_t peak, peak_blocks;       /* highest live bytes, blocks then */
	uint64_t peak_ts;                 /* first time the peak was reached (ns) */
	uint64_t allocs, frees, bytes_alloc, bytes_freed;
	uint64_t temporary;               /* heaptrack's definition */
	uint64_t short_lived;             /* lifetime < short_ns */
	uint64_t unknown_frees, unknown_reallocs, failed, dup_allocs, free_null;
	uint64_t released_bytes, released_blocks; /* dropped at exec/exit */
	uint64_t last_alloc_ptr;          /* heaptrack: pointer of the latest allocation */
	/* buckets first .. first + n - 1 (absolute indexes) (owned by this) */
	struct mpa_tl_bucket *bk;
	uint64_t first;
	uint32_t n, cap;
	/* trend: integrals of live(t) over [t_first, t_prev], t in ns from t_first */
	int seen;
	uint64_t t_first, t_prev, t_end;
	double t_prev_d;                  /* t_prev - t_first, ns */
	double s_l, s_tl, s_ll;
	double slope, r2;                 /* filled by end() */
};

enum mpa_tl_end { MPA_TL_RUNNING = 0, MPA_TL_EXITED = 1, MPA_TL_EXECED = 2 };

/* Mapped bytes of one process image (the regions are the heap model's). */
struct mpa_tl_maps {
	uint64_t bytes, peak;             /* mapped now, highest */
	uint64_t peak_ts;
};

/* One process image: from its first event (or exec) to its exit or next exec. */
struct mpa_tl_proc {
	int32_t pid;
	uint32_t seq;                     /* images of this pid seen before this one */
	uint32_t image;                   /* string id of the exec'd path, 0 unknown */
	int ended;                        /* enum mpa_tl_end */
	uint64_t start_ts, end_ts;
	struct mpa_tl_maps maps;          /* its mapped bytes (map/unmap rows) */
	struct mpa_tl_series s;
};

/* An allocation site: one (domain, stack id). */
struct mpa_tl_site {
	uint32_t stack_id;
	uint32_t dom;                     /* 0 user, 1 kernel, 2 user before the tracer was live */
	uint32_t kernel;                  /* 1 = kalloc/kfree */
	uint32_t tracer;                  /* 1 = the tracer's own allocations (left out) */
	uint64_t calls, bytes;            /* allocations (incl. reallocs) here, bytes requested */
	uint64_t frees, temporary, short_lived;
	uint64_t live, live_blocks, max_live;
	uint64_t snap_epoch, snap_live, snap_blocks; /* value at the latest peak, see .c */
	uint64_t min_size, max_size;
	uint64_t reallocs, grow_reallocs, chains, max_chain;
};

/* Sites merged by name (mpa_site_name), filled by end(). */
struct mpa_tl_group {
	char *name;                       /* (owned by this) */
	uint32_t kernel;
	uint64_t calls, bytes, frees, temporary, short_lived;
	uint64_t live_end, blocks_end, peak_bytes, peak_blocks;
	uint64_t min_size, max_size;
	uint64_t reallocs, grow_reallocs, chains, max_chain;
};

enum mpa_tl_phase_kind { MPA_TL_IDLE, MPA_TL_STEADY, MPA_TL_BURST, MPA_TL_SPIKE };

struct mpa_tl_phase {
	int kind;                         /* enum mpa_tl_phase_kind */
	uint64_t first, last;             /* buckets */
	uint64_t allocs, frees, bytes_alloc, bytes_freed;
	uint64_t live_start, live_end, live_max;
};

struct mpa_tl_interval {
	uint64_t start, end;              /* ns; end = last event time when open */
	uint64_t max_bytes;
	int open;                         /* still above the threshold at the end */
};

struct mpa_tl_size {
	uint64_t size, count;
};

struct mpa_tl_rec {
	const char *kind;                 /* "reuse-buffer", "pool", "reserve", "growth" */
	char *site;                       /* (owned by this) "" when global */
	uint64_t calls;                   /* allocations at the site (or total) */
	uint64_t count;                   /* the number that triggered it */
	double value;                     /* ratio / size / slope, see doc */
	char *message;                    /* (owned by this) */
};

#define MPA_TL_POW2 66                /* size 0, then [2^k, 2^(k+1)) for k = 0..63, spare */
#define MPA_TL_MAX_INTERVALS 10000    /* pressure intervals kept (all are counted) */
#define MPA_TL_MAX_SIZES (1u << 20)   /* distinct sizes counted exactly */
#define MPA_TL_SMALL 4096             /* sizes counted in a flat array */

struct mpa_tl_state {
	const struct mpa_ctx *ctx;        /* (weak) */
	struct mpa_tl_params p;

	/* time */
	int started;
	uint64_t t0;                      /* start of bucket 0 */
	uint64_t width;                   /* bucket width, ns */
	uint64_t limit;                   /* buckets before the width doubles */
	uint64_t now;                     /* latest timestamp (never decreases) */
	uint64_t cb_index, cb_lo, cb_hi;  /* current bucket and its [lo, hi) in ns from t0 */
	int cb_valid;
	uint64_t ts_backwards;            /* rows whose ts was before an earlier row's */
	uint64_t rows;

	struct mpa_tl_series user, kernel;
	struct mpa_tl_series mapped;      /* user mappings (map/unmap), all images */
	uint64_t maps, unmaps, unknown_unmap_bytes, replaced_map_bytes;

	/* process images as the heap model reports them (owned by this), and
	 * the model's image id -> index + 1 */
	struct mpa_tl_proc *procs;
	uint32_t nprocs, cap_procs;
	uint32_t *img_rec;
	uint32_t img_cap;
	uint64_t after_exit_rows;         /* rows of an image in its exit grace */

	/* sites (owned by this) and (domain, stack) -> site: a direct table
	 * for stack ids below 2^22 (ids are dense), a hash for the rest */
	uint32_t *stack_site[3];          /* per domain: site index + 1, 0 unknown (owned by this) */
	uint32_t stack_site_cap[3];
	struct mpa_tl_site *sites;
	uint32_t nsites, cap_sites;
	uint32_t *site_slots;             /* site index + 1, 0 empty */
	uint32_t site_cap;
	uint64_t epoch[2];                /* bumped at each new peak: user, kernel */


	/* sizes */
	uint64_t pow2_count[MPA_TL_POW2], pow2_bytes[MPA_TL_POW2];
	uint64_t small_sizes[MPA_TL_SMALL]; /* counts of sizes below MPA_TL_SMALL */
	uint64_t small_used;              /* distinct sizes there */
	struct mpa_tl_size *size_tab;     /* larger sizes: open addressing; count 0 = empty */
	uint64_t size_cap, size_used;
	uint64_t size_overflow;           /* allocations whose size was not tracked */
	uint64_t size_total;              /* allocations counted in the histogram */

	/* the tracer's own allocations, left out of every series */
	uint64_t tracer_allocs, tracer_bytes, tracer_frees;
	uint64_t startup_allocs, startup_bytes; /* of which before the tracer was live */
	uint64_t tracer_maps;             /* map/unmap rows of the tracer, left out */

	/* memory pressure on the user total */
	int in_pressure;
	struct mpa_tl_interval *pressure;
	uint64_t npressure, pressure_cap, pressure_count, pressure_ns;
	struct mpa_tl_interval cur_pressure;

	/* results of end() (owned by this) */
	int ended;
	struct mpa_tl_group *groups;
	uint32_t ngroups;
	struct mpa_tl_phase *phases;
	uint64_t nphases;
	uint64_t buckets;                 /* buckets in the emitted timeline */
	struct mpa_tl_size *top_sizes;
	uint32_t ntop_sizes;
	struct mpa_tl_rec *recs;
	uint32_t nrecs;
	uint64_t phase_group;             /* timeline buckets per phase bucket */
	uint64_t phase_median;            /* median allocation calls per phase bucket */
};

/* Default settings (what begin() uses when a config is absent). */
void mpa_timeline_params_default(struct mpa_tl_params *p);
/* begin() with explicit settings; ctx may have NULL reader and config. */
int mpa_timeline_begin_with(const struct mpa_ctx *ctx, const struct mpa_tl_params *p,
			    void **state, char *errbuf, size_t errlen);
/* Bucket a of series s as emitted (a bucket before the series began is all
 * zero; one after its last carries its final live values). */
struct mpa_tl_bucket mpa_timeline_bucket(const struct mpa_tl_series *s, uint64_t a);

extern const struct mpa_analyzer mpa_analyzer_timeline;

#endif /* MPA_ANALYZERS_TIMELINE_H */
