/* mpa-convert — the end of a live session, seen from the relay's session
 * list.  babeltrace2 2.0.4's src.ctf.lttng-live can miss the end of a
 * destroyed session and ask the relay for new streams for ever (fixed in
 * babeltrace 2.0.5, "session closed before any metadata is received"); the
 * converter then never ends.  The relay lists only sessions whose tracer
 * connection is open (lttng-relayd viewer_list_sessions skips closed
 * ones): once ours has been off the list for a grace period with nothing
 * new from the source, the capture ends there (doc/live.md). */
#ifndef MPA_CVT_LIVE_H
#define MPA_CVT_LIVE_H

#include <babeltrace2/babeltrace.h>
#include <stdint.h>

struct cvt_live_watch;

/* url: net://RELAY[:PORT]/host/HOSTNAME/SESSION.  NULL when out of memory
 * or the URL has no such parts (then nothing is watched). */
struct cvt_live_watch *cvt_live_watch_new(const bt_component_class_source *live_cls,
					  const char *url);

/* Called while the graph is idle (its sinks said AGAIN).  messages: what
 * the sink has consumed so far (events, packets, discarded-event notices;
 * not inactivity).  Queries the relay at most every second.  1 once the
 * session has been off the relay's list (or the relay gone) for grace_ns
 * with no new message: the stream has ended. */
int cvt_live_watch_idle(struct cvt_live_watch *w, uint64_t messages, uint64_t now_ns,
			uint64_t grace_ns);

void cvt_live_watch_free(struct cvt_live_watch *w);

#endif /* MPA_CVT_LIVE_H */
