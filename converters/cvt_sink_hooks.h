/* Optional hooks an application passes to sink.mpa.mpt as the
 * initialize-method data (bt_graph_add_sink_component_with_initialize_method_data):
 * mpa-convert uses them for its progress line and summary.  The babeltrace2
 * CLI passes NULL; the sink checks the magic before using anything. */
#ifndef MPA_CVT_SINK_HOOKS_H
#define MPA_CVT_SINK_HOOKS_H

#include <stdint.h>

#define MPA_SINK_HOOKS_MAGIC 0x6d70614b48303034ull /* "mpaKH004" */

struct mpa_sink_summary {
	uint64_t events_in;       /* event messages consumed */
	uint64_t records;         /* records written */
	uint64_t memory_records;
	uint64_t unknown_events;
	uint64_t lost_events;
	uint64_t frames, frames_func, frames_line;
};

struct mpa_sink_hooks {
	uint64_t magic;           /* MPA_SINK_HOOKS_MAGIC */
	void *user;               /* weak, passed back */
	/* Called every few thousand events (may be NULL). */
	void (*progress)(void *user, uint64_t events_in, uint64_t last_ts);
	/* Called once the capture is complete and renamed (may be NULL). */
	void (*done)(void *user, const struct mpa_sink_summary *sum);
	/* Continuation across graphs (mpa-convert --chunks), or NULL. */
	struct mpa_sink_carry *carry;
	/* Set by the application between runs of the graph: the next time
	 * upstream has nothing (AGAIN), the sink completes the capture as if
	 * the stream had ended (a live session whose end the source missed:
	 * converters/cvt_live.h). */
	int end_when_idle;
	/* Kept by the sink: messages consumed (inactivity ones excluded). */
	uint64_t messages;
};

/* One capture written by successive graphs, one per time window of a
 * trace recorded in chunks (LTTng session rotation).  The sink of each
 * graph takes the state the previous one left in `state` (NULL for the
 * first), maps only the events with lo <= ts < hi, and, when `more` is
 * set, leaves its state here at the end of its input instead of
 * completing the capture.  `release` (set by the sink) frees a state left
 * here when no graph follows (an interrupted conversion). */
struct mpa_sink_carry {
	void *state;              /* the sink's state between graphs (opaque) */
	void (*release)(struct mpa_sink_carry *c);
	uint64_t lo, hi;          /* ns from origin; hi = UINT64_MAX: no end */
	int more;                 /* another graph follows */
	int first;                /* the first window (no tail re-read) */
};

#endif /* MPA_CVT_SINK_HOOKS_H */
