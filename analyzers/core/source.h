/* mpa analysis core — the source of batches for a pass: a capture's
 * chunks in order, decoded by worker threads (the --pid restriction is
 * libmpt's scan).
 */
#ifndef MPA_CORE_SOURCE_H
#define MPA_CORE_SOURCE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"
#include "mpa/mpt.h"


struct mpa_worker {
	pthread_t th;
	int started;
	mpt_reader *r;                 /* (owned) */
	const uint32_t *list;          /* chunk indexes (weak: the source's) */
	size_t nlist;
	unsigned id, n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int full;                      /* a batch (or an error) waits for the main thread */
	int quit;
	int failed;
	const struct mpt_batch *batch; /* (weak: the worker's reader's) */
	struct mpt_error err;
};

struct mpa_source {
	mpt_reader *main;              /* sequential reader (weak) */
	struct mpa_worker *w;              /* (owned) */
	unsigned nw;
	uint32_t *list;                /* (owned) */
	size_t nlist, pos;
	struct mpa_worker *pending;        /* holds the batch the caller has now */
};


/* Column c of a batch as a pointer (NULL when not decoded), its element
 * size, and setting it. */
const void *mpa_batch_col(const struct mpt_batch *b, unsigned c);
void mpa_batch_set_col(struct mpt_batch *b, unsigned c, const void *p);
size_t mpa_col_size(unsigned c);

/* Starts the scan sc of r (path: for the workers' own readers); with
 * nthreads > 1, chunks are decoded by that many threads, handed out in
 * chunk order.  0, or -1 with err. */
int mpa_source_open(struct mpa_source *s, const char *path, mpt_reader *r,
		    const struct mpt_scan *sc, unsigned nthreads, char *err, size_t errlen);
/* 1 with a batch, 0 at the end, -1 with err. */
int mpa_source_next(struct mpa_source *s, const struct mpt_batch **b, char *err, size_t errlen);
void mpa_source_close(struct mpa_source *s);
/* [monitoring] decode_threads, 0 = the online CPUs (at most 4). */
unsigned mpa_decode_threads(const mpa_config *c);

#endif /* MPA_CORE_SOURCE_H */
