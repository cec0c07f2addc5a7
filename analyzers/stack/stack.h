/* The stack analyzer's state, shared by its files (stack.c: interface,
 * options, rows, chain analysis; stack_emit.c: tables, JSON, plots,
 * summary) and by its tests.  Metrics: doc/analyzers-stack.md. */
#ifndef MPA_STACK_H
#define MPA_STACK_H

#include <stdint.h>
#include <stdlib.h>

#include "mpa/analyzer.h"

/* Time buckets of the depth-over-time series. */
#define ST_BUCKETS 100u

/* An open-addressing map from a 64-bit key to an index (UINT32_MAX =
 * empty slot).  Grows at 50 % load. */
struct st_map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static inline uint64_t st_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return k;
}

/* The index stored for key, or UINT32_MAX. */
static inline uint32_t st_map_get(const struct st_map *m, uint64_t key)
{
	if (!m->cap)
		return UINT32_MAX;
	for (size_t i = st_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->vals[i] == UINT32_MAX)
			return UINT32_MAX;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

/* Stores key -> val (key not present).  0, or -1 when out of memory. */
static inline int st_map_put(struct st_map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		uint64_t *k = malloc(nc * sizeof *k);
		uint32_t *v = malloc(nc * sizeof *v);
		if (!k || !v) {
			free(k);
			free(v);
			return -1;
		}
		for (size_t i = 0; i < nc; i++)
			v[i] = UINT32_MAX;
		for (size_t j = 0; j < m->cap; j++) {
			if (m->vals[j] == UINT32_MAX)
				continue;
			size_t i = st_hash(m->keys[j]) & (nc - 1);
			while (v[i] != UINT32_MAX)
				i = (i + 1) & (nc - 1);
			k[i] = m->keys[j];
			v[i] = m->vals[j];
		}
		free(m->keys);
		free(m->vals);
		m->keys = k;
		m->vals = v;
		m->cap = nc;
	}
	size_t i = st_hash(key) & (m->cap - 1);
	while (m->vals[i] != UINT32_MAX)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static inline void st_map_release(struct st_map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

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
	struct st_map thread_index;       /* (img << 32 | tid) -> threads[] */

	struct st_chain *chains;          /* (owned) */
	size_t nchains, capchains;
	struct st_map chain_index;        /* stack id -> chains[] */

	struct st_fn *fns;                /* (owned) set by stack_end() */
	size_t nfns, capfns;
	struct st_map fn_index;           /* hash of (name, binary) -> fns[] */

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
