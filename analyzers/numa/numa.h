/* The NUMA analyzer's state, shared by its files (numa.c: interface,
 * options, rows; numa_emit.c: tables, JSON, plots, advice, summary) and
 * by its tests.  Metrics: doc/analyzers-numa.md. */
#ifndef MPA_NUMA_H
#define MPA_NUMA_H

#include <stdint.h>
#include <stdlib.h>

#include "mpa/analyzer.h"
#include "mpa/u64map.h"

/* Time buckets of the per-node series. */
#define NU_BUCKETS 100u

/* Sampled placements (numa_place rows): memory node vs the cpu's node. */
struct nu_samples {
	uint64_t samples;       /* with both nodes known */
	uint64_t remote;        /* memory node != the sampling cpu's node */
	uint64_t bytes, remote_bytes; /* sizes of the sampled blocks (0 when not found) */
	uint64_t *mem_node;     /* [nnodes] samples per memory node (owned) */
};

/* One thread: (image, tid). */
struct nu_thread {
	uint32_t img;
	int32_t pid, tid;
	uint64_t allocs, bytes;          /* allocations with a known cpu node */
	uint64_t *cpu_node;              /* [nnodes] allocations per cpu node (owned) */
	struct nu_samples s;
};

/* One allocation site (stack id of sampled blocks). */
struct nu_site {
	uint32_t stack_id;
	struct nu_samples s;
};

/* Per node. */
struct nu_node {
	uint64_t allocs, bytes;                  /* user allocations (program blocks) */
	uint64_t kallocs, kbytes;                /* kernel allocations */
	uint64_t kallocs_requested;              /* kernel allocations that named this node */
	uint64_t live, klive;                    /* now */
	uint64_t peak, peak_ts;                  /* live + klive at most, when */
	uint64_t samples;                        /* numa_place samples finding memory here */
};

/* One time bucket of one node. */
struct nu_bucket {
	uint64_t bytes, kbytes;   /* allocated in the bucket */
	uint64_t live_end;        /* live + klive at the bucket's end */
};

struct numa_state {
	const struct mpa_ctx *ctx;        /* (weak) */
	double threshold;                 /* [numa] migration_threshold */
	uint32_t top_sites;               /* [numa] top_sites */
	const struct mpt_topology *topo;  /* (weak) NULL = none */
	uint32_t nnodes;                  /* topology's nodes (0 = no topology) */
	int active;                       /* a topology with 2 nodes or more */
	uint64_t t0, width;
	unsigned cur;                     /* bucket of the latest row */

	struct nu_node *nodes;            /* [nnodes] (owned) */
	struct nu_bucket *buckets;        /* [NU_BUCKETS * nnodes] (owned) */

	struct nu_thread *threads;        /* (owned) */
	size_t nthreads, capthreads;
	struct mpa_u64map thread_index;       /* (img << 32 | tid) -> threads[] */
	struct nu_site *sites;            /* (owned) */
	size_t nsites, capsites;
	struct mpa_u64map site_index;         /* stack id -> sites[] */

	/* counts for the record, multi-node or not */
	uint64_t place_rows;              /* numa_place rows */
	uint64_t place_bad_node;          /* memory node outside the topology (or < 0) */
	uint64_t place_unknown_cpu;       /* cpu outside the topology or of unknown node */
	uint64_t place_no_block;          /* address not inside a live block of the image */
	uint64_t unknown_node_allocs, unknown_node_bytes; /* blocks without a node */
	uint64_t kalloc_any;              /* kernel allocations naming no node (-1) */
	int32_t max_seen_node;            /* highest node any record named, -1 none */
};

int mpa_numa_emit(void *state, mpa_out *out, char *err, size_t errlen);
/* Remote fraction of s, or -1 without samples. */
double mpa_numa_remote_ratio(const struct nu_samples *s);
/* The node with most entries in v[nnodes] (lowest on ties), -1 when all 0. */
int32_t mpa_numa_argmax(const uint64_t *v, uint32_t nnodes);

#endif
