/* mpa monitor — a monitoring session: the analysis core's ONE pass
 * (analyzers/core/pass.c) over the registered analyzers plus the interval
 * sampler (snap.h), fed batch by batch from a capture file (replay) or
 * from a live stream (mpa_mon_feed).  mpa-top and mpa-monitor are views
 * of one session; neither analyzes anything itself.
 */
#ifndef MPA_MONITOR_SESSION_H
#define MPA_MONITOR_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mpa/analyzer.h"
#include "../analyzers/core/config.h"
#include "snap.h"

struct mpa_mon;

struct mpa_mon_opts {
	const char *capture;      /* the .mpt file (weak) */
	/* Instead of capture: a directory of segments being written (weak).
	 * Segment k is DIR/seg-NNNNNN.mpt (k from 1, six digits at least),
	 * a complete capture holding the rows since segment k-1 and the
	 * capture's tables so far (ids continue from one segment to the next:
	 * mpa_pass_tables_grew); it appears whole (written aside, renamed in).
	 * DIR/done appears after the last segment.  Segment 1 must exist when
	 * the session opens. */
	const char *segments;
	int remove_segments;      /* segments: delete each once the next is read */
	mpa_config *config;       /* (weak) with mpa_snap_options declared */
	uint64_t interval_ns;     /* 0 = a capture's span / 200, rounded to 1-2-5 */
	int32_t pid;              /* 0 = all */
};

/* Opens the capture and starts the pass over every analyzer --all runs and
 * the sampler.  NULL with err. */
struct mpa_mon *mpa_mon_open(const struct mpa_mon_opts *o, char *err, size_t errlen);
/* Feeds the next batch of the capture: 1 fed, 0 the capture ended (the pass
 * is finished and the analyzers' results are in), 2 (segments only) no new
 * segment yet: call again later; -1 with err. */
int mpa_mon_step(struct mpa_mon *m, char *err, size_t errlen);
/* Steps to the end. */
int mpa_mon_run(struct mpa_mon *m, char *err, size_t errlen);

const struct mpa_snap *mpa_mon_snap(const struct mpa_mon *m);
const struct mpa_ctx *mpa_mon_ctx(const struct mpa_mon *m);
/* An analyzer's JSON document (what <name>.json holds) once the pass has
 * finished; NULL before, or when that analyzer did not run (borrowed). */
json_t *mpa_mon_result(const struct mpa_mon *m, const char *analyzer);
/* Whether an analyzer of that name ran in the pass. */
int mpa_mon_has(const struct mpa_mon *m, const char *analyzer);
/* The capture's span (absolute ns), lost events it declares. */
void mpa_mon_span(const struct mpa_mon *m, uint64_t *first, uint64_t *last);
uint64_t mpa_mon_lost(const struct mpa_mon *m);
/* Segments read so far (0 for a capture file). */
uint32_t mpa_mon_segments(const struct mpa_mon *m);
/* "DIR/seg-NNNNNN.mpt" into buf; -1 when it does not fit. */
int mpa_mon_segment_path(char *buf, size_t len, const char *dir, uint32_t k);
int mpa_mon_finished(const struct mpa_mon *m);
void mpa_mon_close(struct mpa_mon *m);

/* The configuration of mpa-top and mpa-monitor: every analyzer's options
 * and the sampler's, then config_path (or ./.mpa.toml when present and
 * no_config is 0).  NULL with err. */
mpa_config *mpa_mon_config(const char *config_path, int no_config, char *err, size_t errlen);
/* "S.K=V" (--set): 0 or -1 with err. */
int mpa_mon_config_set(mpa_config *c, const char *assign, char *err, size_t errlen);

/* "1.5 MiB", "312 B" */
void mpa_mon_bytes(char *buf, size_t len, double bytes);
/* "1.25 s", "12.0 ms", "800 us", "35 ns" */
void mpa_mon_dur(char *buf, size_t len, uint64_t ns);
/* Parses "500ms", "2s", "100us", "1000ns", "1m" into ns (> 0).  0 or -1. */
int mpa_mon_parse_dur(const char *s, uint64_t *ns);

#endif /* MPA_MONITOR_SESSION_H */
