/* mpa analyzers — the framework's private interface: configuration loading,
 * output directories, and one analysis run.  Used by mpa-analyze and the
 * tests; analyzers themselves only need include/mpa/analyzer.h.
 *
 * Dependency order: framework.c uses config.c and emit.c; analyzers use the
 * public analyzer.h only and never include each other.
 */
#ifndef MPA_ANALYZERS_FRAMEWORK_H
#define MPA_ANALYZERS_FRAMEWORK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mpa/analyzer.h"

#define MPA_ANALYZE_VERSION "1.0"

/* ---- configuration (config.c) ------------------------------------------- */

/* The options the framework itself declares ([visualization], [monitoring],
 * [alerts] cache_hit_ratio_threshold).  Terminated by {NULL}. */
extern const struct mpa_option mpa_framework_options[];

/* A configuration holding every option of the framework and of every
 * analyzer in mpa_analyzers[], at its default.  Options declared twice (same
 * section and key) must agree on the type and the default; otherwise this
 * fails with a message naming both owners.  NULL on failure (err filled). */
mpa_config *mpa_config_create(char *err, size_t errlen);
/* Declares more options (owner names them in --show-config and errors). */
int mpa_config_declare(mpa_config *c, const char *owner, const struct mpa_option *opts,
		       char *err, size_t errlen);
/* Reads a .mpa.toml file: flat tables, `key = value`, comments, strings,
 * integers, floats, booleans.  An unknown table or key, a value of the wrong
 * type, or a syntax error fails with "FILE:LINE: reason".  Values set here
 * record "FILE:LINE" as their source. */
int mpa_config_load_file(mpa_config *c, const char *path, char *err, size_t errlen);
/* Same, from memory; name is used in messages and sources. */
int mpa_config_load_text(mpa_config *c, const char *text, size_t len, const char *name,
			 char *err, size_t errlen);
/* Sets one value from text.  For string options the text is taken as is
 * unless it is a quoted TOML string; other types are parsed as in a file.
 * source is recorded ("command line"). */
int mpa_config_set(mpa_config *c, const char *section, const char *key, const char *text,
		   const char *source, char *err, size_t errlen);
/* Whether section.key is declared. */
int mpa_config_has(const mpa_config *c, const char *section, const char *key);
/* Writes every effective value, sorted by section then key, with its source
 * and owner, as TOML the parser accepts back ("key = value  # source"). */
int mpa_config_write(const mpa_config *c, FILE *f);
/* The configuration as a JSON object {section: {key: value}} (new ref). */
json_t *mpa_config_json(const mpa_config *c);
void mpa_config_free(mpa_config *c);

/* Formats a double the way every output does: fixed, locale-free,
 * shortest of %.9g that round-trips sensibly; "nan"/"inf" as such. */
void mpa_fmt_double(char *buf, size_t len, double v);

/* ---- outputs (emit.c) --------------------------------------------------- */

enum mpa_format {
	MPA_FMT_CSV = 1u << 0,
	MPA_FMT_JSON = 1u << 1,
	MPA_FMT_SVG = 1u << 2,
	MPA_FMT_PNG = 1u << 3
};

/* Parses "csv,json,svg,png" (any subset, comma separated). */
int mpa_formats_parse(const char *s, unsigned *formats, char *err, size_t errlen);

/* The files a run produced (relative paths, for summary.json and the
 * report), plus the plots waiting to be rendered. */
struct mpa_outset;

struct mpa_outset *mpa_outset_create(const char *dir, unsigned formats, int plot_width,
				     int plot_height, char *err, size_t errlen);
void mpa_outset_free(struct mpa_outset *s);
/* Records a file written by the framework itself (relative path). */
int mpa_outset_add_file(struct mpa_outset *s, const char *relpath, const char *analyzer,
			const char *what);
/* The output sink of one analyzer. */
mpa_out *mpa_out_create(struct mpa_outset *s, const char *analyzer, json_t *summary_obj);
/* Closes what the analyzer left open and writes <analyzer>.json.  0 or -1
 * (mpa_out_error says why). */
int mpa_out_finish(mpa_out *o);
void mpa_out_free(mpa_out *o);
/* Renders every plot with gnuplot (svg, and png if asked).  Returns 0 when
 * all rendered, 1 when gnuplot is missing (the .gp/.dat files stay; note
 * says so), -1 on a failure (err). */
int mpa_outset_render(struct mpa_outset *s, char *note, size_t notelen, char *err,
		      size_t errlen);
/* Output files, sorted: JSON array of {"path","analyzer","kind"} (new ref). */
json_t *mpa_outset_files_json(const struct mpa_outset *s);
/* Plot images rendered (relative paths, sorted); n set. */
const char *const *mpa_outset_images(const struct mpa_outset *s, size_t *n);

/* mkdir -p: 0, or -1 with errno. */
int mpa_mkdir_p(const char *path);

/* Writes path atomically: data goes to path.tmp.<pid>, renamed on success. */
struct mpa_afile {
	FILE *f;
	char *path;   /* final name (owned) */
	char *tmp;    /* temporary name (owned) */
};
int mpa_afile_open(struct mpa_afile *a, const char *path);
/* Flushes, checks for write errors, renames.  Frees the names. */
int mpa_afile_commit(struct mpa_afile *a);
/* Closes and removes the temporary file. */
void mpa_afile_abort(struct mpa_afile *a);

/* Writes a JSON value to path atomically: sorted keys, indent 2, newline. */
int mpa_write_json(const char *path, json_t *v);

/* ---- a run (framework.c) ------------------------------------------------ */

/* Parses a time for --from/--to: "1.5" or "1.5s" (seconds), "200ms",
 * "30us", "100ns" — relative to the capture's first event — or "@N" for an
 * absolute timestamp N in ns.  Fills *value (ns) and *absolute. */
int mpa_time_parse(const char *s, uint64_t *value, int *absolute, char *err, size_t errlen);

struct mpa_run_opts {
	const char *capture;               /* (weak) */
	const char *outdir;                /* (weak) */
	unsigned formats;                  /* MPA_FMT_* */
	const mpa_config *config;          /* (weak) */
	const char *from, *to;             /* time texts (mpa_time_parse), NULL = none */
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
