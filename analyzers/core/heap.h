/* mpa analysis core — the heap model's driver interface (used by the pass
 * in core/pass.c and by tests).  Analyzers see include/mpa/heap.h only.
 */
#ifndef MPA_CORE_HEAP_H
#define MPA_CORE_HEAP_H

#include <stdint.h>

#include "mpa/heap.h"
#include "sites.h"

struct mpa_heap;

/* Lifecycle hooks, called from inside mpa_heap_row / mpa_heap_finish,
 * before the row that caused them is returned.  Non-zero stops the pass. */
struct mpa_heap_hooks {
	void *arg;
	/* An image ended (img->how says how); its live set is still
	 * iterable; it is freed right after. */
	int (*image_end)(void *arg, const struct mpa_image *img);
	/* child was forked from parent; its inherited set is in place. */
	int (*fork)(void *arg, const struct mpa_image *parent, const struct mpa_image *child);
};

/* The columns the model reads (the pass decodes them whenever a heap kind
 * is scanned). */
uint64_t mpa_heap_columns(void);
/* The kinds the model replays. */
uint32_t mpa_heap_kinds(void);

/* sites may be NULL (no block is then the tracer's). */
struct mpa_heap *mpa_heap_create(mpa_sites *sites, const mpt_reader *reader,
				 const struct mpa_heap_hooks *hooks);
void mpa_heap_free(struct mpa_heap *h);
/* The capture's tables grew (a live capture, analyzers/core/pass.h): the
 * heap reads reader from now on and accepts its stack ids.  No-op for a
 * heap created without a reader. */
void mpa_heap_tables_grew(struct mpa_heap *h, const mpt_reader *reader);
/* Answer address queries (mpa_image_find_containing, ...) from now on;
 * call before the first row.  Off by default: it costs a sorted insert per
 * allocation between queries. */
void mpa_heap_set_addr_index(struct mpa_heap *h, int on);

/* Replays row i of b (whose heap columns are all present; see
 * mpa_heap_columns) and fills *row.  0, or -1 when out of memory or a hook
 * failed. */
int mpa_heap_row(struct mpa_heap *h, const struct mpt_batch *b, uint32_t i, struct mpa_row *row);
/* A hint: row j of b comes soon (its block slot is fetched into the cache). */
void mpa_heap_prefetch(const struct mpa_heap *h, const struct mpt_batch *b, uint32_t j);
/* After every analyzer saw the row: deferred drops (pool_destroy). */
void mpa_heap_row_done(struct mpa_heap *h, const struct mpa_row *row);
/* The capture ended at end_ts: every image ends (exited ones as exits,
 * the others as capture_end; the kernel image last).  0 or -1. */
int mpa_heap_finish(struct mpa_heap *h, uint64_t end_ts);

/* Counters of the replay, for summary.json. */
struct mpa_heap_stats {
	uint64_t images, forks, execs, exits, pid_reuse;
	uint64_t ts_backwards;           /* rows earlier than an earlier row */
	uint64_t anomalies[MPA_ANOM_COUNT_];
	uint64_t tracer_blocks;          /* allocations that were the tracer's */
	uint64_t tracer_unseen_frees;    /* frees by the tracer of blocks never seen */
	uint64_t startup_blocks;
	uint64_t orphan_rows;            /* frees/exits of pids with no image */
	uint64_t kernel_allocs_traced;   /* kallocs in the context of a traced pid */
	uint64_t kernel_allocs_host;     /* ... of any other pid (MPA_BLK_HOST) */
};
void mpa_heap_stats(const struct mpa_heap *h, struct mpa_heap_stats *st);

#endif /* MPA_CORE_HEAP_H */
