/* mpa-top — the terminal UI: shared state, the table of views, drawing
 * helpers.  Each view is one entry of top_views[] (tui_views.c) drawn by
 * its own function; adding a view (Frag, Pools, …) is one entry.
 */
#ifndef MPA_TUI_H
#define MPA_TUI_H

#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "../session.h"

enum { TOP_POP_NONE, TOP_POP_HELP, TOP_POP_STACK };

enum top_color {
	C_NORMAL = 0, C_TITLE = 1, C_ACCENT, C_WARN, C_DIM, C_SEL, C_GOOD, C_SPARK, C_PEAK
};

struct top {
	struct mpa_mon *m;              /* (weak) */
	const struct mpa_snap *sn;      /* (weak) */
	const struct mpa_ctx *ctx;      /* (weak) */
	const char *capture;            /* (weak) */
	size_t cur;                     /* the cursor: an interval index */
	size_t view;                    /* index in top_views */
	int sort;                       /* Sites: enum top_sort */
	int sel, first;                 /* selected row, first row shown */
	int nrows;                      /* rows of the current list (after filter) */
	char filter[64];                /* '/' search, "" = none */
	int popup;                      /* TOP_POP_* */
	uint32_t stack_id;              /* the stack shown in the popup */
	int utf8, light;
	char msg[256];                  /* one-line status, "" none */
	struct mpa_live *live;          /* --live: the converter (weak), NULL = a capture */
	int ended;                      /* live: 1 the stream ended, 2 it failed */
	char live_msg[256];             /* live: why it ended, kept in the header */
};

enum top_sort { S_LIVE, S_LEAKED, S_ALLOC, S_TEMP, S_GROWTH, S_COUNT_ };

struct top_view {
	const char *name;               /* tab title */
	const char *analyzer;           /* the analyzer it needs, NULL = the sampler only */
	uint32_t kinds;                 /* MPT_KINDBIT of the events it shows; none seen =
					 * "no data in this capture" (0 = always data) */
	const char *what;               /* which events, for the "no data" line */
	/* draws the body in rows [y, y + h) of width w; a list view sets
	 * t->nrows and returns the stack id of the selected row (0 none) */
	uint32_t (*draw)(struct top *t, int y, int h, int w);
};

extern const struct top_view top_views[];
extern const size_t top_nviews;

/* drawing helpers (tui.c) */
void top_color(int on, enum top_color c);
void top_line(int y, int w, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A sparkline of v[0..n) over w columns at row y, x (each column the max
 * of its intervals); marks the cursor interval cur with a column colour. */
void top_spark(struct top *t, int y, int x, int w, int rows, const double *v, size_t n,
	       size_t cur, size_t peak);
/* Case-insensitive substring test for the '/' filter ("" matches). */
int top_match(const struct top *t, const char *s);
/* The interval at the cursor (NULL when the capture had no rows). */
const struct mpa_snap_iv *top_iv(const struct top *t);
/* Clamps t->sel / t->first to t->nrows and h rows. */
void top_list_clamp(struct top *t, int h);

/* views */
uint32_t top_view_memory(struct top *t, int y, int h, int w);
uint32_t top_view_sites(struct top *t, int y, int h, int w);
uint32_t top_view_leaks(struct top *t, int y, int h, int w);
uint32_t top_view_threads(struct top *t, int y, int h, int w);
uint32_t top_view_numa(struct top *t, int y, int h, int w);
uint32_t top_view_cache(struct top *t, int y, int h, int w);
uint32_t top_view_analyzer(struct top *t, int y, int h, int w);
/* The analyzer's summary at the capture's end from row r (rows [y, y+h)),
 * one member a line; returns the next free row (r when it did not run). */
int top_summary(struct top *t, const char *name, int r, int y, int h, int w);
/* the stack popup */
void top_draw_stack(struct top *t, int h, int w);

#endif /* MPA_TUI_H */
