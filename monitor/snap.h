/* mpa monitor — the interval sampler: an analyzer-shaped consumer that
 * rides in the same pass as the registered analyzers (analyzers/core/pass.c)
 * and keeps, per interval, the aggregates the live views show: live heap
 * and mapped bytes, rates, pressure, lost events, and the top sites,
 * threads, NUMA nodes and cache counters at the interval's end.
 *
 * It reads the heap model's facts only (no block table of its own); its
 * per-site and per-thread counters grow with the distinct sites and threads,
 * and the kept intervals are a ring of at most [monitoring] max_intervals,
 * so memory is bounded whatever the length of the capture or the stream.
 * Definitions of every field: doc/live.md.
 */
#ifndef MPA_MONITOR_SNAP_H
#define MPA_MONITOR_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"

/* Its options ([monitoring] interval_ns, max_intervals, top_sites):
 * declare them with mpa_config_declare before the pass. */
extern const struct mpa_option mpa_snap_options[];
/* The analyzer to append to the pass's list (never in the registry). */
extern const struct mpa_analyzer mpa_snap_analyzer;

/* A site at an interval's end (cumulative since the start unless said). */
struct mpa_snap_site {
	uint32_t stack_id;
	uint64_t live_bytes, live_blocks;     /* program blocks live now */
	uint64_t alloc_bytes, allocs;         /* allocated so far */
	uint64_t temp_bytes, temps;           /* freed within the temporary threshold */
	uint64_t leaked_bytes, leaked_blocks; /* live when their process exited or exec'd */
	int64_t growth;                       /* live_bytes change over this interval */
};

/* A thread at an interval's end (cumulative). */
struct mpa_snap_thread {
	int32_t pid, tid;
	uint64_t allocs, frees, alloc_bytes, free_bytes;
	uint64_t stack_size;      /* thread_start's stack size, 0 unknown */
	uint64_t max_depth;       /* deepest stack_sample (bytes in use), 0 none */
	uint64_t first_ts, last_ts;
	uint8_t exited;
};

/* A small keyed counter: NUMA node (key = node) or cache counter
 * (key = enum mpa_counter); cumulative. */
struct mpa_snap_kv {
	int32_t key;
	uint64_t count;   /* rows */
	uint64_t weight;  /* numa: bytes of the probed block (0 unknown); cache: sum of periods */
};

struct mpa_snap_iv {
	uint64_t t0, t1;            /* [t0, t1), absolute ns (capture clock) */
	uint64_t live_bytes, live_blocks;   /* at t1 */
	uint64_t peak_bytes;        /* highest live_bytes inside the interval */
	uint64_t mapped_bytes;      /* at t1: mappings the model knows */
	uint64_t kernel_bytes;      /* at t1: live kernel objects */
	uint64_t allocs, frees, alloc_bytes, free_bytes; /* in the interval */
	uint64_t lost;              /* events the tracer lost in the interval */
	uint64_t rows;              /* rows in the interval */
	uint32_t threads;           /* threads seen and not exited at t1 */
	int pressure;               /* peak_bytes above [alerts] memory_pressure_threshold */
	struct mpa_snap_site *sites;     /* (owned) top sites, by stack_id */
	uint32_t nsites;
	struct mpa_snap_thread *thr;     /* (owned) top threads by allocs */
	uint32_t nthr;
	struct mpa_snap_kv *nodes, *ctrs; /* (owned) sorted by key */
	uint32_t nnodes, nctrs;
};

/* What the sampler has seen (its state, from mpa_pass_state). */
struct mpa_snap;

/* Intervals kept, oldest first: i in [0, mpa_snap_count). */
size_t mpa_snap_count(const struct mpa_snap *s);
const struct mpa_snap_iv *mpa_snap_get(const struct mpa_snap *s, size_t i);
/* Intervals dropped from the ring's front so far. */
uint64_t mpa_snap_dropped(const struct mpa_snap *s);
uint64_t mpa_snap_interval(const struct mpa_snap *s);
/* Closes every interval that ends at or before now (a live stream with no
 * rows still advances).  0, or -1 out of memory. */
int mpa_snap_advance(struct mpa_snap *s, uint64_t now);
/* The highest live heap seen and when; lost events and rows in all. */
void mpa_snap_peak(const struct mpa_snap *s, uint64_t *bytes, uint64_t *ts);
uint64_t mpa_snap_pressure_threshold(const struct mpa_snap *s);
/* Which kinds the pass has shown it (MPT_KINDBIT mask): a view whose
 * kinds never came says "no data in this capture". */
uint32_t mpa_snap_kinds_seen(const struct mpa_snap *s);

#endif /* MPA_MONITOR_SNAP_H */
