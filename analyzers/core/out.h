/* mpa analysis core — the outputs: report directories, CSV (libcsv), JSON
 * (jansson), gnuplot plots, atomic files.  The analyzer-facing emitters are
 * declared in include/mpa/analyzer.h.  Depends on util.h, libcsv, jansson.
 */
#ifndef MPA_CORE_OUT_H
#define MPA_CORE_OUT_H

#include <stdio.h>

#include <jansson.h>

#include "mpa/analyzer.h"

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

/* mkdir -p: 0, or -1 with errno. */
int mpa_mkdir_p(const char *path);

#endif /* MPA_CORE_OUT_H */
