/* mpa-top — the list views: Sites (top sites at the cursor, sortable),
 * Leaks (the leak analyzer's sites) and Threads.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

static const char *const sort_name[S_COUNT_] = {"live", "leaked", "allocated", "temporary",
						 "growth"};

static int64_t key(const struct mpa_snap_site *s, int sort)
{
	switch (sort) {
	case S_LIVE: return (int64_t)s->live_bytes;
	case S_LEAKED: return (int64_t)s->leaked_bytes;
	case S_ALLOC: return (int64_t)s->alloc_bytes;
	case S_TEMP: return (int64_t)s->temp_bytes;
	case S_GROWTH: return s->growth;
	default: return 0;
	}
}

static int g_sort;

static int cmp_site(const void *a, const void *b)
{
	const struct mpa_snap_site *x = *(const struct mpa_snap_site *const *)a,
				   *y = *(const struct mpa_snap_site *const *)b;
	int64_t p = key(x, g_sort), q = key(y, g_sort);
	if (p != q)
		return p > q ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* The leak analyzer's class names in the 10 columns the table gives them. */
static const char *short_class(const char *c)
{
	static const char *const map[][2] = {
		{"definitely_lost", "definite"}, {"indirectly_lost", "indirect"},
		{"possibly_lost", "possible"}, {"still_reachable", "reachable"},
		{"not_freed_at_exit", "unfreed"}, {"released_by_exec", "exec"},
		{"live_at_end", "live_end"},
	};
	for (size_t k = 0; c && k < sizeof map / sizeof *map; k++)
		if (!strcmp(c, map[k][0]))
			return map[k][1];
	return c ? c : "";
}

/* "12.3K" in 7 columns */
static void cell(char *buf, size_t len, double b)
{
	mpa_mon_bytes(buf, len, b);
}

static void head(int y, int w, const char *text)
{
	top_color(1, C_ACCENT);
	top_line(y, w, "%s", text);
	top_color(0, C_ACCENT);
}

static void row_attr(struct top *t, int i, int on)
{
	if (i == t->sel)
		top_color(on, C_SEL);
}

uint32_t top_view_sites(struct top *t, int y, int h, int w)
{
	const struct mpa_snap_iv *v = top_iv(t);
	if (!v)
		return 0;
	const struct mpa_snap_site **rows = malloc((v->nsites ? v->nsites : 1) * sizeof *rows);
	if (!rows)
		return 0;
	int n = 0;
	char name[512];
	for (uint32_t k = 0; k < v->nsites; k++) {
		mpa_site_name(t->ctx, v->sites[k].stack_id, name, sizeof name);
		if (top_match(t, name))
			rows[n++] = &v->sites[k];
	}
	g_sort = t->sort;
	qsort(rows, (size_t)n, sizeof *rows, cmp_site);
	t->nrows = n;
	top_list_clamp(t, h - 2);
	char hd[256];
	snprintf(hd, sizeof hd, " Top sites at the cursor by %s (s: sort)  %d shown", sort_name[t->sort], n);
	head(y, w, hd);
	top_line(y + 1, w, " %9s %9s %9s %9s %9s  %s", t->sort == S_LIVE ? "LIVE*" : "live",
		 t->sort == S_LEAKED ? "LEAKED*" : "leaked", t->sort == S_ALLOC ? "ALLOC*" : "allocated",
		 t->sort == S_TEMP ? "TEMP*" : "temporary", t->sort == S_GROWTH ? "GROWTH*" : "growth",
		 "site");
	if (!n)
		top_line(y + 3, w, "  no site at the cursor%s", t->filter[0] ? " matches the search" : "");
	uint32_t sel = 0;
	for (int i = t->first; i < n && y + 2 + i - t->first < y + h; i++) {
		const struct mpa_snap_site *s = rows[i];
		char a[32], b[32], c[32], d[32], e[32];
		cell(a, sizeof a, (double)s->live_bytes);
		cell(b, sizeof b, (double)s->leaked_bytes);
		cell(c, sizeof c, (double)s->alloc_bytes);
		cell(d, sizeof d, (double)s->temp_bytes);
		cell(e, sizeof e, (double)s->growth);
		/* the function first, file:line trimmed to fit */
		size_t lw = w > 60 ? (size_t)(w - 55) : 4;
		if (lw > 120)
			lw = 120;
		mpa_site_label(t->ctx, s->stack_id, lw, name, sizeof name);
		row_attr(t, i, 1);
		top_line(y + 2 + i - t->first, w, " %9s %9s %9s %9s %9s  %s", a, b, c, d, e, name);
		row_attr(t, i, 0);
		if (i == t->sel)
			sel = s->stack_id;
	}
	free(rows);
	return sel;
}

uint32_t top_view_leaks(struct top *t, int y, int h, int w)
{
	json_t *doc = mpa_mon_result(t->m, "leak");
	if (!doc) {
		top_line(y + 1, w, "  leaks are known when the capture ends");
		t->nrows = 0;
		return 0;
	}
	json_t *sum = json_object_get(doc, "summary"), *sites = json_object_get(doc, "sites");
	/* lost: valgrind's kinds when the exit scan ran, else not freed at exit */
	json_t *live = json_object_get(sum, "live_at_end");
	static const char *const kinds[] = {"definitely_lost", "indirectly_lost", "possibly_lost",
					    "not_freed_at_exit"};
	json_int_t lb = 0, dn = 0;
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		json_t *o = json_object_get(sum, kinds[k]);
		lb += json_integer_value(json_object_get(o, "bytes"));
		dn += json_integer_value(json_object_get(o, "blocks"));
	}
	char a[32], b[32];
	mpa_mon_bytes(a, sizeof a, (double)lb);
	mpa_mon_bytes(b, sizeof b, (double)json_integer_value(json_object_get(live, "bytes")));
	top_color(1, dn ? C_WARN : C_GOOD);
	top_line(y, w, " Lost or not freed at exit: %s in %lld blocks; live at capture end: %s in %lld blocks",
		 a, (long long)dn, b, (long long)json_integer_value(json_object_get(live, "blocks")));
	top_color(0, dn ? C_WARN : C_GOOD);
	/* the leaking sites' live bytes at the cursor: how the leak built up */
	const struct mpa_snap_iv *v = top_iv(t);
	uint64_t held = 0;
	for (size_t k = 0; k < json_array_size(sites); k++) {
		json_int_t id = json_integer_value(json_object_get(json_array_get(sites, k), "stack_id"));
		for (uint32_t q = 0; v && q < v->nsites; q++)
			if ((json_int_t)v->sites[q].stack_id == id)
				held += v->sites[q].live_bytes;
	}
	mpa_mon_bytes(a, sizeof a, (double)held);
	top_line(y + 1, w, " at the cursor these sites hold %s live (the table: capture end)", a);
	top_color(1, C_ACCENT);
	top_line(y + 2, w, " %9s %7s %-10s %s", "bytes", "blocks", "class", "site");
	top_color(0, C_ACCENT);
	size_t ns = json_array_size(sites);
	int *idx = malloc((ns ? ns : 1) * sizeof *idx), n = 0;
	if (!idx)
		return 0;
	for (size_t k = 0; k < ns; k++) {
		const char *site = json_string_value(json_object_get(json_array_get(sites, k), "site"));
		if (top_match(t, site ? site : ""))
			idx[n++] = (int)k;
	}
	t->nrows = n;
	top_list_clamp(t, h - 3);
	if (!n)
		top_line(y + 4, w, "  no leaking site%s", t->filter[0] ? " matches the search" : "");
	uint32_t sel = 0;
	for (int i = t->first; i < n && y + 3 + i - t->first < y + h; i++) {
		json_t *s = json_array_get(sites, (size_t)idx[i]);
		mpa_mon_bytes(a, sizeof a, (double)json_integer_value(json_object_get(s, "bytes")));
		const char *cls = short_class(json_string_value(json_object_get(s, "class")));
		const char *site = json_string_value(json_object_get(s, "site"));
		size_t lw = w > 36 ? (size_t)(w - 33) : 4;
		if (lw > 120)
			lw = 120;
		char label[512];
		json_int_t sid = json_integer_value(json_object_get(s, "stack_id"));
		if (sid > 0)
			site = mpa_site_label(t->ctx, (uint32_t)sid, lw, label, sizeof label);
		row_attr(t, i, 1);
		top_line(y + 3 + i - t->first, w, " %9s %7lld %-10s %s", a,
			 (long long)json_integer_value(json_object_get(s, "blocks")), cls ? cls : "",
			 site ? site : "??");
		row_attr(t, i, 0);
		if (i == t->sel)
			sel = (uint32_t)json_integer_value(json_object_get(s, "stack_id"));
	}
	free(idx);
	return sel;
}

uint32_t top_view_threads(struct top *t, int y, int h, int w)
{
	const struct mpa_snap_iv *v = top_iv(t);
	if (!v)
		return 0;
	int any_stack = 0;
	for (uint32_t k = 0; k < v->nthr; k++)
		any_stack |= v->thr[k].stack_size || v->thr[k].max_depth;
	top_color(1, C_ACCENT);
	top_line(y, w, " Threads at the cursor: %u running  (busiest by allocations)", v->threads);
	top_line(y + 1, w, " %7s %7s %9s %9s %10s %9s %9s %s", "pid", "tid", "allocs", "frees",
		 "allocated", "stack", "deepest", "state");
	top_color(0, C_ACCENT);
	int *idx = malloc((v->nthr ? v->nthr : 1) * sizeof *idx), n = 0;
	if (!idx)
		return 0;
	for (uint32_t k = 0; k < v->nthr; k++) {
		char id[64];
		snprintf(id, sizeof id, "%d %d", v->thr[k].pid, v->thr[k].tid);
		if (top_match(t, id))
			idx[n++] = (int)k;
	}
	t->nrows = n;
	int body = h - 2 - (any_stack ? 0 : 2);
	top_list_clamp(t, body);
	int r = y + 2;
	for (int i = t->first; i < n && r < y + 2 + body; i++, r++) {
		const struct mpa_snap_thread *x = &v->thr[idx[i]];
		char a[32], b[32] = "-", c[32] = "-";
		mpa_mon_bytes(a, sizeof a, (double)x->alloc_bytes);
		if (x->stack_size)
			mpa_mon_bytes(b, sizeof b, (double)x->stack_size);
		if (x->max_depth)
			mpa_mon_bytes(c, sizeof c, (double)x->max_depth);
		row_attr(t, i, 1);
		top_line(r, w, " %7d %7d %9" PRIu64 " %9" PRIu64 " %10s %9s %9s %s", x->pid, x->tid,
			 x->allocs, x->frees, a, b, c, x->exited ? "exited" : "running");
		row_attr(t, i, 0);
	}
	if (!any_stack) {
		top_color(1, C_DIM);
		top_line(y + h - 1, w, " no thread_start / stack_sample events in this capture: stack sizes and depths unknown");
		top_color(0, C_DIM);
	} else if (r + 2 < y + h) {
		top_summary(t, "stack", r + 1, y, h, w);
	}
	free(idx);
	return 0;
}
