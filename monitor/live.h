/* mpa monitor — live: a running LTTng live session read through the one
 * capture format.  mpa-convert (src.ctf.lttng-live, --segments) runs as a
 * child and cuts a segment of the capture so far every interval; the
 * monitoring session (session.h, opts.segments) follows them, so the views
 * are fed by the same pass as everything else.  See doc/live.md.
 */
#ifndef MPA_MONITOR_LIVE_H
#define MPA_MONITOR_LIVE_H

#include <stddef.h>
#include <stdint.h>

struct mpa_live;

/* target: net://RELAY[:PORT]/host/HOSTNAME/SESSION, or a session name on
 * the local relay (net://localhost/host/<this host's name>/NAME).
 * out: also write the whole capture there (NULL: none kept).  Starts the
 * converter; NULL with err (bad target, relay not answering, no
 * mpa-convert). */
struct mpa_live *mpa_live_start(const char *target, uint64_t interval_ns, const char *out,
				char *err, size_t errlen);
/* The segment directory to give the monitoring session (owned by l). */
const char *mpa_live_dir(const struct mpa_live *l);
/* The URL read. */
const char *mpa_live_url(const struct mpa_live *l);
/* Waits until the first segment is there (the session's first events
 * arrived): 0, or -1 with err when the converter ended first (its error:
 * session not found, relay gone ...). */
int mpa_live_wait_first(struct mpa_live *l, char *err, size_t errlen);
/* 0 while the converter runs or ended well; -1 with err once it failed. */
int mpa_live_check(struct mpa_live *l, char *err, size_t errlen);
/* Stops the converter if it still runs (SIGINT: it completes -o), waits
 * for it, removes the segment directory.  NULL ok. */
void mpa_live_stop(struct mpa_live *l);

#endif /* MPA_MONITOR_LIVE_H */
