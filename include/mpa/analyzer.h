/* mpa analyzers — the interface every analyzer implements, and the shared
 * emitters (CSV, JSON, plots) they write through.
 *
 * How a run works (analyzers/core/pass.c):
 *   1. mpa-analyze opens the capture, loads the configuration and selects
 *      analyzers;
 *   2. it calls begin() on each, then makes ONE pass over the capture,
 *      decoding only the union of the columns and kinds the selected
 *      analyzers and the heap model need; every row goes through the heap
 *      model once, then to each analyzer's on_row() with the model's facts,
 *      with on_image_end()/on_fork() as processes change;
 *   3. it calls end() on each (results final), then gate() and emit()
 *      (tables, JSON, plots), then release().
 *
 * How to add an analyzer: see analyzers/README.md (one file, one entry in
 * the table in analyzers/registry.c, its metrics in doc/analyzers.md).
 */
#ifndef MPA_ANALYZER_H
#define MPA_ANALYZER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "heap.h"
#include "mpt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ------------------------------------------------------ */

enum mpa_opt_type { MPA_OPT_BOOL, MPA_OPT_INT, MPA_OPT_FLOAT, MPA_OPT_STRING };

/* One configurable value, declared by an analyzer (or the framework).
 * It is read from `[section] key = value` in .mpa.toml. */
struct mpa_option {
	const char *section;   /* TOML table, e.g. "alerts" */
	const char *key;       /* e.g. "memory_pressure_threshold" */
	enum mpa_opt_type type;
	const char *def;       /* default, as TOML text ("60", "true", "\"x\"") */
	const char *help;      /* one line, with the unit */
};

typedef struct mpa_config mpa_config;

/* Effective values (default, config file or command line). The option must
 * have been declared; an undeclared one returns the zero value. */
int mpa_config_bool(const mpa_config *c, const char *section, const char *key);
int64_t mpa_config_int(const mpa_config *c, const char *section, const char *key);
double mpa_config_float(const mpa_config *c, const char *section, const char *key);
const char *mpa_config_string(const mpa_config *c, const char *section, const char *key);

/* ---- emitters ----------------------------------------------------------- */

typedef struct mpa_out mpa_out;     /* one analyzer's output sink */
typedef struct mpa_table mpa_table; /* a CSV table being written */
typedef struct mpa_plot mpa_plot;   /* a plot being written */

/* A table declared once: its columns with their types and units.  Rows
 * written to it go to <outdir>/<analyzer>_<name>.csv (CSV output on) AND,
 * when json is set, to the array <analyzer>.json[json] as objects keyed by
 * the column names (JSON output on); the declaration itself is written to
 * <analyzer>.json["tables"][name].  Time columns are ns since the
 * capture's first event (unit "ns"). */
enum mpa_col_type { MPA_COL_STR, MPA_COL_U64, MPA_COL_I64, MPA_COL_F64 };

struct mpa_col {
	const char *name;       /* CSV header and JSON key */
	enum mpa_col_type type;
	const char *unit;       /* "bytes", "ns", "count", "fraction", "" ... */
};

struct mpa_table_decl {
	const char *name;       /* file <analyzer>_<name>.csv */
	const char *json;       /* key of the row array in <analyzer>.json, NULL = CSV only */
	const struct mpa_col *cols;
	unsigned ncols;
};

#define MPA_NCOLS(a) ((unsigned)(sizeof(a) / sizeof *(a)))

mpa_table *mpa_table_begin(mpa_out *o, const struct mpa_table_decl *d);
/* Adds a JSON-only member to the current row (e.g. the full stack); the
 * reference is stolen.  Ignored when the table has no JSON side. */
void mpa_table_json(mpa_table *t, const char *key, json_t *v);

/* Opens <outdir>/<analyzer>_<name>.csv (when CSV output is on) with a header
 * row; NULL on failure (see mpa_out_error).  Cells are added left to right,
 * then mpa_table_end_row().  Closed by mpa_table_close() (or at release). */
mpa_table *mpa_table_open(mpa_out *o, const char *name, unsigned ncols,
			  const char *const *headers);
void mpa_table_str(mpa_table *t, const char *s);
void mpa_table_u64(mpa_table *t, uint64_t v);
void mpa_table_i64(mpa_table *t, int64_t v);
void mpa_table_f64(mpa_table *t, double v); /* fixed, locale-free, deterministic */
int mpa_table_end_row(mpa_table *t);
int mpa_table_close(mpa_table *t);

/* The analyzer's JSON document, written to <outdir>/<analyzer>.json with
 * sorted keys (borrowed; add members to it). */
json_t *mpa_out_json(mpa_out *o);
/* The analyzer's object inside summary.json (borrowed). */
json_t *mpa_out_summary(mpa_out *o);

enum mpa_plot_style { MPA_PLOT_LINES, MPA_PLOT_STEPS, MPA_PLOT_BOXES, MPA_PLOT_HBARS,
		      /* each series filled down to y = 0 as steps, drawn in order:
		       * for stacked bands give running totals, the largest first */
		      MPA_PLOT_AREAS };

/* A plot <outdir>/plots/<analyzer>_<name>.{dat,gp} rendered to .svg (and
 * .png when asked) by gnuplot after emit().  Series are added in order;
 * each point is (x, y); for BOXES/HBARS label the x with mpa_plot_label. */
mpa_plot *mpa_plot_open(mpa_out *o, const char *name, const char *title,
			const char *xlabel, const char *ylabel, enum mpa_plot_style style);
int mpa_plot_series(mpa_plot *p, const char *label);
int mpa_plot_point(mpa_plot *p, double x, double y);
int mpa_plot_label(mpa_plot *p, double x, double y, const char *label);
int mpa_plot_close(mpa_plot *p);

/* A typed alert: raised by an analyzer's emit(), collected at the top of
 * summary.json ("alerts") and of the report, in table order. */
enum mpa_severity { MPA_SEV_INFO = 0, MPA_SEV_WARNING = 1, MPA_SEV_ERROR = 2 };

struct mpa_alert {
	const char *name;        /* stable id, e.g. "definite_leak" */
	enum mpa_severity severity;
	double value;            /* what was measured */
	double threshold;        /* what it was held against; NAN = none */
	const char *unit;        /* of value and threshold: "bytes", "fraction", ... */
	const char *message;     /* one line, the numbers in human units */
	const char *advice;      /* what to do about it; NULL = none */
};

/* Appends a to the analyzer's summary "alerts" as {"name", "analyzer",
 * "severity", "value", "threshold"?, "unit", "message", "advice"?}.  0, or
 * -1 when out of memory. */
int mpa_out_alert(mpa_out *o, const struct mpa_alert *a);

/* The last emitter error for this output ("cannot write 'x': ..."). */
const char *mpa_out_error(const mpa_out *o);

/* ---- the run context ---------------------------------------------------- */

typedef struct mpa_sites mpa_sites;

struct mpa_ctx {
	const mpt_reader *reader;  /* the capture: tables, metadata (weak; NULL in
				    * unit tests and live runs without a file) */
	const mpa_config *config;  /* effective configuration (weak) */
	const char *capture_path;  /* (weak) */
	uint64_t ts_from, ts_to;   /* --from/--to as absolute ns (0 = none) */
	int32_t pid_filter;        /* --pid, 0 = all */
	uint64_t lost_events;      /* events the capture lost (see doc/analyzers.md) */
	int incomplete;            /* capture lost events: results may be partial */
	/* The capture's span from its chunk index: data files count time in ns
	 * since span_first (the one time base of every output). */
	uint64_t span_first, span_last;
	mpa_sites *sites;          /* the site classifier (weak) */
};

/* "func (file:line)" of the first frame of stack_id that is not inside an
 * allocator or tracer (malloc wrappers, libmpa-preload, lttng), C++ names
 * demangled; "??" if unknown.  Returns buf.  The rules:
 * analyzers/core/sites.h. */
const char *mpa_site_name(const struct mpa_ctx *ctx, uint32_t stack_id, char *buf,
			  size_t len);

/* Index (innermost = 0) of the frame mpa_site_name() names, or -1 when the
 * stack is empty or unknown. */
int mpa_site_frame(const struct mpa_ctx *ctx, uint32_t stack_id);

/* 1 when stack_id is the tracer's own (the rule that makes the heap model's
 * MPA_BLK_TRACER blocks: analyzers/core/sites.h), else 0 (also for 0, an
 * unknown id, or no capture). */
int mpa_site_is_tracer(const struct mpa_ctx *ctx, uint32_t stack_id);

/* A plot label for stack_id that tells two sites apart within width
 * characters: the function first, then file:line, trimmed from the left
 * ("…") when too long.  buf needs 4 * width + 1 bytes.  Returns buf. */
const char *mpa_site_label(const struct mpa_ctx *ctx, uint32_t stack_id, size_t width, char *buf,
			   size_t len);

/* The frames a user reads, innermost first, demangled, mpa's and the
 * tracer's own frames left out: [{"function","file","line","binary","ip"}]
 * (new reference). */
json_t *mpa_site_stack_json(const struct mpa_ctx *ctx, uint32_t stack_id);

/* Formats an error message into buf (the errbuf of the methods below);
 * does nothing when buf is NULL or len is 0. */
/* Indexes 0..n-1 of the n elements of sz bytes at base, in the order of
 * cmp (u passed through), stable; NULL when out of memory (n == 0: a
 * valid empty array).  The caller frees it. */
uint32_t *mpa_sorted_index(size_t n, const void *base, size_t sz,
			   int (*cmp)(const void *, const void *, void *), void *u);

void mpa_errf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the analyzer interface --------------------------------------------- */

/* A command-line flag an analyzer owns: `--NAME ARG` sets [section] key to
 * ARG (checked like a configuration value) and selects the analyzer. */
struct mpa_cli_flag {
	const char *name;          /* without the leading "--": "fail-on-leak" */
	const char *arg;           /* shown in --help: "BYTES" */
	const char *section, *key; /* the option it sets (declared in options) */
	const char *help;          /* one line */
};

/* How every analyzer plugs in (like perf's struct perf_tool: fill what you
 * need).  The pass replays the capture ONCE through the heap model
 * (include/mpa/heap.h) and hands each analyzer its rows with the model's
 * facts, in capture order.  Memory must grow with what is live, never with
 * the number of rows. */
struct mpa_analyzer {
	const char *name;          /* selects it: --<name> */
	const char *summary;       /* one line for --list */
	uint32_t kinds;            /* MPT_KINDBIT mask of the rows it is given (0 = all) */
	uint64_t columns;          /* MPT_COLBIT mask of the columns it reads itself */
	const struct mpa_option *options; /* terminated by {NULL}; may be NULL */
	const struct mpa_cli_flag *flags; /* terminated by {NULL}; may be NULL */
	/* [section] key of a bool option that leaves it out of --all when
	 * false (an explicit --<name> still runs it); NULL = always in --all */
	const char *enable_section, *enable_key;

	/* Allocates its state. Return 0, or -1 with a message in errbuf. */
	int (*begin)(const struct mpa_ctx *ctx, void **state, char *errbuf, size_t errlen);
	/* One row of the kinds it asked for, with what the heap model derived.
	 * 0, or -1 when out of memory. */
	int (*on_row)(void *state, const struct mpa_row *row);
	/* An image ended (exit after its grace, exec, capture end; the kernel
	 * image last): its live set is iterable (mpa_image_next_block ...).
	 * May be NULL. */
	int (*on_image_end)(void *state, const struct mpa_image *img);
	/* A process forked (parent NULL when unknown); the child holds its
	 * inherited copy.  May be NULL. */
	int (*on_fork)(void *state, const struct mpa_image *parent, const struct mpa_image *child);
	/* End of the capture: finish the results. */
	int (*end)(void *state, char *errbuf, size_t errlen);
	/* Write tables, JSON and plots. */
	int (*emit)(void *state, mpa_out *out, char *errbuf, size_t errlen);
	/* Frees the state (NULL ok). */
	void (*release)(void *state);
	/* The CI gate, after end(): 1 when it fails (line: one line saying
	 * why; mpa-analyze prints it and exits 3), 0 when it passes or is off.
	 * May be NULL. */
	int (*gate)(void *state, char *line, size_t len);
	/* One line for the terminal after the run; may be NULL. */
	void (*headline)(void *state, char *line, size_t len);
	/* enum mpa_need bits: what it asks of the heap model (0 = the rows) */
	uint32_t needs;
	/* What it asks for this capture, after begin() (e.g. the address
	 * index only when the capture has what needs it); NULL = `needs`. */
	uint32_t (*needs_for)(void *state);
};

/* What an analyzer asks of the heap model beyond the rows (its `needs`). */
enum mpa_need {
	/* keep live blocks address-ordered: mpa_image_find_containing,
	 * mpa_image_next_block_by_addr (include/mpa/heap.h) */
	MPA_NEED_ADDR_INDEX = 1u << 0,
	/* own struct mpa_block's scratch word (include/mpa/heap.h); the pass
	 * refuses to start when two selected analyzers ask for it */
	MPA_NEED_BLOCK_SCRATCH = 1u << 1
};

/* The table of all analyzers (analyzers/registry.c), NULL-terminated. */
extern const struct mpa_analyzer *const mpa_analyzers[];

#ifdef __cplusplus
}
#endif
#endif /* MPA_ANALYZER_H */
