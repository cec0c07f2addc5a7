/* mpa analyzers — the interface of mpa-analyze and the tests to the
 * analysis core: configuration (core/config.h), outputs (core/out.h) and one
 * run over a capture file (core/run.c).  Analyzers themselves only include
 * include/mpa/analyzer.h.  The dependency order is doc/dependencies.md.
 */
#ifndef MPA_ANALYZERS_FRAMEWORK_H
#define MPA_ANALYZERS_FRAMEWORK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mpa/analyzer.h"
#include "core/config.h"
#include "core/out.h"
#include "core/util.h"

#define MPA_ANALYZE_VERSION "1.0"

/* ---- a run (core/run.c) ------------------------------------------------ */


struct mpa_run_opts {
	const char *capture;               /* (weak) */
	const char *outdir;                /* (weak) */
	unsigned formats;                  /* MPA_FMT_* */
	const mpa_config *config;          /* (weak) */
	const char *from, *to;             /* time texts (mpt_time_parse), NULL = none */
	int32_t pid;                       /* 0 = all */
	const struct mpa_analyzer *const *analyzers; /* selected, in table order (weak) */
	size_t nanalyzers;
};

struct mpa_run_result {
	json_t *summary;          /* summary.json content (owned: json_decref) */
	uint64_t rows_scanned;
	uint64_t lost_events;
	int incomplete;
	char banner[256];         /* "" when the capture lost nothing */
	char note[512];           /* non-fatal remarks (gnuplot missing), "" if none */
	char headlines[2048];     /* "name: line\n" per analyzer with a headline */
	int gate_failed;          /* an analyzer's CI gate failed */
	char gate_lines[1024];    /* one line per failed gate */
};

/* Opens the capture, runs the selected analyzers in one pass and writes
 * every output under opts->outdir.  outdir is checked before the pass (it
 * must be absent, empty or an earlier report); the run writes into a fresh
 * directory beside it that replaces it at the end, so a report directory
 * holds exactly one run.  Nothing is written to outdir unless the
 * capture was read completely and every analyzer finished.  0, or -1 with
 * one line in err. */
int mpa_run(const struct mpa_run_opts *opts, struct mpa_run_result *res, char *err,
	    size_t errlen);
void mpa_run_result_release(struct mpa_run_result *res);

/* The columns and kinds a set of analyzers needs (what the scan decodes). */
void mpa_needs(const struct mpa_analyzer *const *a, size_t n, uint64_t *columns,
	       uint32_t *kinds);

#endif /* MPA_ANALYZERS_FRAMEWORK_H */
