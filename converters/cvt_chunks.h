/* mpa-convert --chunks: one capture from the trace chunks of a rotating
 * LTTng session, converted one after the other while the session still
 * records (mpa-record's conversion while recording).  See cvt_chunks.c
 * and doc/converting.md ("Chunks"). */
#ifndef MPA_CVT_CHUNKS_H
#define MPA_CVT_CHUNKS_H

#include <babeltrace2/babeltrace.h>
#include <signal.h>
#include <stdio.h>

#include "cvt_sink_hooks.h"

struct cvt_chunks_env {
	const bt_component_class_source *fs_cls;
	const bt_component_class_filter *mux_cls;
	const bt_component_class_sink *sink_cls;
	const bt_value *sink_params;      /* the sink's parameters (first graph) */
	struct mpa_sink_hooks *hooks;     /* hooks->carry is set here */
	const char *out;                  /* the capture (names the sink) */
	bt_logging_level log_level;
	int remove;                       /* --remove-chunks: a chunk is removed once read */
	/* prints the current babeltrace2 error as one line; returns -1 */
	int (*report)(const char *what);
	bt_interrupter **interrupter;     /* set to the running graph's */
	volatile sig_atomic_t *stop;      /* set by SIGINT/SIGTERM */
};

/* Reads chunk folders from `in`, one path a line, in the order LTTng
 * archived them, until end of file; converts each time window as soon as
 * the next chunk says where it ends.  0 when the capture is complete, -1
 * after one error line (no capture written). */
int cvt_chunks_run(struct cvt_chunks_env *env, FILE *in);

/* `key = <int>;` inside the first `clock {` block of CTF metadata text:
 * 0 with *out set, -1 when absent or not a number. */
int cvt_clock_value(const char *text, const char *key, int64_t *out);

#endif /* MPA_CVT_CHUNKS_H */
