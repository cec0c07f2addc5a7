/* The stack analyzer's state, shared by its files (stack.c: interface,
 * options, rows, chain analysis; stack_emit.c: tables, JSON, plots,
 * summary) and by its tests.  Metrics: doc/analyzers-stack.md. */
#ifndef MPA_STACK_H
#define MPA_STACK_H

#include <stdint.h>
#include <stdlib.h>

#include "mpa/analyzer.h"
#include "mpa/u64map.h"

/* Time buckets of the depth-over-time series. */
#define ST_BUCKETS 100u

/* One thread: (image, tid). */
struct st_thread {
	uint32_t img;            /* image id (0 = the row had no image) */
	int32_t pid, tid;
	uint64_t base, size;     /* thread_start: lowest address, bytes; size 0 = no thread_start */
	uint64_t start_ts;       /* thread_start time, else its first sample */
	int exited;
	uint64_t samples;
	uint64_t sum_bytes;      /* saturating */
	uint64_t max_bytes, max_ts;
	uint32_t max_frames;     /* the most frames of any sample */
	uint32_t max_stack;      /* stack id of the sample with max_bytes */
	uint64_t *bucket;        /* [ST_BUCKETS] max bytes per time bucket, 0 = no sample (owned) */
};

/* One distinct call chain (stack id) seen in samples. */
struct st_chain {
	uint32_t stack_id;
	uint32_t frames_at_max;  /* frame count of the sample with max_bytes */
	uint32_t max_frames;
	uint64_t samples;
	uint64_t max_bytes;
	int32_t pid, tid;        /* the thread of the sample with max_bytes */
	/* set by stack_end() from the symbolized chain */
	uint32_t rec_fn;         /* index in fns of its most repeated function, UINT32_MAX none */
	uint32_t rec_count;      /* its occurrences (>= 2 = recursion) */
	json_t *frames;          /* the symbolized chain (owned), NULL = not symbolized */
};

/* One function of the symbolized chains: what it adds to stack depth. */
struct st_fn {
	char *name;              /* "function" or the ip when unnamed (owned) */
	char *binary;            /* (owned) */
	uint64_t chains;         /* chains it appears in */
	uint64_t samples;        /* samples of those chains */
	uint32_t max_repeats;    /* most occurrences in one chain */
	uint64_t est_bytes;      /* max over chains: occurrences x bytes per frame */
	uint32_t est_chain;      /* index of that chain */
};

struct stack_state {
	const struct mpa_ctx *ctx;        /* (weak) */
	uint64_t default_size;            /* [stack] stack_size */
	uint64_t headroom;                /* [stack] overflow_headroom */
	uint32_t top_chains, top_frames;  /* [stack] top_chains, top_frames */
	uint64_t t0, width;               /* bucket i covers [t0 + i*width, t0 + (i+1)*width) */

	struct st_thread *threads;        /* (owned) */
	size_t nthreads, capthreads;
	struct mpa_u64map thread_index;       /* (img << 32 | tid) -> threads[] */

	struct st_chain *chains;          /* (owned) */
	size_t nchains, capchains;
	struct mpa_u64map chain_index;        /* stack id -> chains[] */

	struct st_fn *fns;                /* (owned) set by stack_end() */
	size_t nfns, capfns;
	struct mpa_u64map fn_index;           /* hash of (name, binary) -> fns[] */

	uint64_t samples, thread_starts, thread_exits;
	uint64_t samples_no_stack;        /* samples with stack id 0 */
	uint64_t tracer_samples;          /* samples of the tracer's own allocations: left out */
	uint64_t bucket_max[ST_BUCKETS];  /* all threads */
	uint64_t bucket_samples[ST_BUCKETS];
	int32_t bucket_tid[ST_BUCKETS], bucket_pid[ST_BUCKETS];
};

/* Risk classes of a thread (doc/analyzers-stack.md). */
enum st_risk { ST_RISK_OK = 0, ST_RISK_LOW_HEADROOM = 1, ST_RISK_OVERFLOW = 2 };

/* The thread's stack size (its thread_start, else [stack] stack_size). */
uint64_t mpa_stack_size_of(const struct stack_state *S, const struct st_thread *t);
enum st_risk mpa_stack_risk(const struct stack_state *S, const struct st_thread *t);
int mpa_stack_emit(void *state, mpa_out *out, char *err, size_t errlen);

#endif
