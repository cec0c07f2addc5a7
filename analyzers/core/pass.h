/* mpa analysis core — one pass: batches in, through the heap model once,
 * out to every selected analyzer.  The same pass serves a capture file
 * (mpa_run in core/run.c) and a stream of batches (tests, live views).
 */
#ifndef MPA_CORE_PASS_H
#define MPA_CORE_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/analyzer.h"
#include "heap.h"

struct mpa_pass;

/* begin() on each analyzer (ctx must outlive the pass; ctx->sites is used
 * for the tracer rule when set).  NULL with err on failure (the analyzers
 * begun so far are released). */
struct mpa_pass *mpa_pass_create(const struct mpa_ctx *ctx,
				 const struct mpa_analyzer *const *an, size_t n, char *err,
				 size_t errlen);
/* The columns and kinds a pass over these analyzers decodes: their own
 * plus the heap model's. */
void mpa_pass_needs(const struct mpa_analyzer *const *an, size_t n, uint64_t *columns,
		    uint32_t *kinds);
/* One batch, rows in capture order.  Columns the pass needs but the batch
 * lacks read as zeros.  0, or -1 with err ("NAME: reason"). */
int mpa_pass_feed(struct mpa_pass *p, const struct mpt_batch *b, char *err, size_t errlen);
/* The capture's tables grew (a live capture read segment by segment:
 * monitor/live.c).  The caller has set ctx->reader to a reader whose
 * string, frame and stack tables continue the previous one's (same ids,
 * same contents, new entries at the end) and calls this before feeding
 * rows that name the new ids.  The site classifier (ctx->sites) classifies
 * the new frames and stacks and the heap model accepts the new stack ids;
 * analyzers read tables through ctx->reader at use, and one that sizes an
 * array by a table grows it when it sees a larger table (leak: per stack).
 * 0, or -1 with err (the new tables do not continue the old, or out of
 * memory). */
int mpa_pass_tables_grew(struct mpa_pass *p, char *err, size_t errlen);
/* The capture ended at end_ts (0 = the latest row seen): every image ends,
 * then end() on each analyzer.  0 or -1 with err. */
int mpa_pass_finish(struct mpa_pass *p, uint64_t end_ts, char *err, size_t errlen);
/* Analyzer i's state (for emit and tests). */
void *mpa_pass_state(const struct mpa_pass *p, size_t i);
/* Rows fed, and the latest timestamp. */
uint64_t mpa_pass_rows(const struct mpa_pass *p);
void mpa_pass_heap_stats(const struct mpa_pass *p, struct mpa_heap_stats *st);
/* release() on each analyzer; NULL ok. */
void mpa_pass_free(struct mpa_pass *p);

#endif /* MPA_CORE_PASS_H */
