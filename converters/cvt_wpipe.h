/* The writer pipeline: records go to a second thread that appends them to
 * the mpt_writer (encoding and zstd), while the sink's thread keeps
 * decoding and mapping.  Order is preserved (one FIFO, one consumer).
 * Other writer calls (interning strings, frames, stacks) stay on the
 * sink's thread and take cvt_wpipe_lock() around them.
 *
 * Not threaded (threaded = 0): appends go straight to the writer and the
 * lock is a no-op. */
#ifndef MPA_CVT_WPIPE_H
#define MPA_CVT_WPIPE_H

#include "mpa/mpt.h"

struct cvt_wpipe;

/* w is weak (must outlive the pipe).  NULL on failure. */
struct cvt_wpipe *cvt_wpipe_create(mpt_writer *w, int threaded);
/* Queues one record.  Returns MPT_OK, or the first error the writer thread
 * met (then err is filled and nothing more is written). */
enum mpt_status cvt_wpipe_append(struct cvt_wpipe *p, const struct mpa_event *e,
				 struct mpt_error *err);
/* The slot the next record is built in (contents undefined: the caller
 * fills all of it).  It becomes a record only with cvt_wpipe_commit(); an
 * uncommitted slot is simply reused by the next reservation.  No other
 * append may come between the two calls. */
struct mpa_event *cvt_wpipe_reserve(struct cvt_wpipe *p);
/* Queues the reserved record; returns like cvt_wpipe_append. */
enum mpt_status cvt_wpipe_commit(struct cvt_wpipe *p, struct mpt_error *err);
void cvt_wpipe_lock(struct cvt_wpipe *p);
void cvt_wpipe_unlock(struct cvt_wpipe *p);
/* Writes everything queued and stops the thread; returns the first append
 * error.  The writer is then free for direct use. */
enum mpt_status cvt_wpipe_finish(struct cvt_wpipe *p, struct mpt_error *err);
/* Stops the thread (dropping queued records if not finished) and frees.
 * NULL ok. */
void cvt_wpipe_free(struct cvt_wpipe *p);

#endif /* MPA_CVT_WPIPE_H */
