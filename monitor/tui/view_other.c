/* mpa-top — NUMA and Cache (counters at the cursor), and the view of any
 * analyzer's summary at the capture's end (Frag, Pools, …).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/event.h"
#include "tui.h"

static void bar(int y, int x, int w, double frac)
{
	int n = (int)(frac * w + 0.5);
	top_color(1, C_SPARK);
	for (int i = 0; i < w; i++)
		mvaddch(y, x + i, i < n ? '#' : '.');
	top_color(0, C_SPARK);
}

uint32_t top_view_numa(struct top *t, int y, int h, int w)
{
	const struct mpa_snap_iv *v = top_iv(t);
	t->nrows = 0;
	if (!v)
		return 0;
	uint64_t total = 0;
	for (uint32_t k = 0; k < v->nnodes; k++)
		total += v->nodes[k].count;
	top_color(1, C_ACCENT);
	top_line(y, w, " NUMA placement samples up to the cursor: %" PRIu64, total);
	top_line(y + 1, w, " %6s %10s %10s  %s", "node", "samples", "bytes", "share");
	top_color(0, C_ACCENT);
	for (uint32_t k = 0; k < v->nnodes && (int)k + 2 < h; k++) {
		char b[32];
		mpa_mon_bytes(b, sizeof b, (double)v->nodes[k].weight);
		top_line(y + 2 + (int)k, w, " %6d %10" PRIu64 " %10s  ", v->nodes[k].key,
			 v->nodes[k].count, b);
		if (w > 40)
			bar(y + 2 + (int)k, 32, w - 34,
			    total ? (double)v->nodes[k].count / (double)total : 0);
	}
	int r = y + 2 + (int)v->nnodes;
	if (!v->nnodes)
		top_line(r++, w, "  no NUMA sample before the cursor");
	top_summary(t, "numa", r + 1, y, h, w);
	return 0;
}

uint32_t top_view_cache(struct top *t, int y, int h, int w)
{
	const struct mpa_snap_iv *v = top_iv(t);
	t->nrows = 0;
	if (!v)
		return 0;
	top_color(1, C_ACCENT);
	top_line(y, w, " Cache and TLB samples up to the cursor");
	top_line(y + 1, w, " %-14s %10s %14s", "counter", "samples", "events (sum of periods)");
	top_color(0, C_ACCENT);
	int r = y + 2;
	for (uint32_t k = 0; k < v->nctrs && r < y + h; k++, r++) {
		const char *name = mpa_counter_name((unsigned)v->ctrs[k].key);
		top_line(r, w, " %-14s %10" PRIu64 " %14" PRIu64, name ? name : "?", v->ctrs[k].count,
			 v->ctrs[k].weight);
	}
	if (!v->nctrs)
		top_line(r++, w, "  no sample before the cursor");
	top_summary(t, "cache", r + 1, y, h, w);
	return 0;
}

int top_summary(struct top *t, const char *name, int r, int y, int h, int w)
{
	json_t *sum = json_object_get(mpa_mon_result(t->m, name), "summary");
	if (!sum)
		return r;
	if (r < y + h) {
		top_color(1, C_ACCENT);
		top_line(r++, w, " The %s analyzer at the capture's end:", name);
		top_color(0, C_ACCENT);
	}
	const char *k, *k2;
	json_t *x, *x2;
	json_object_foreach(sum, k, x) {
		if (r >= y + h)
			break;
		if (json_is_object(x)) {
			top_line(r++, w, "   %s:", k);
			json_object_foreach(x, k2, x2) {
				if (r >= y + h)
					break;
				char *s = json_dumps(x2, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
				top_line(r++, w, "     %s: %s", k2, s ? s : "?");
				free(s);
			}
			continue;
		}
		char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		top_line(r++, w, "   %s: %s", k, s ? s : "?");
		free(s);
	}
	return r;
}

/* Its summary at the capture's end. */
uint32_t top_view_analyzer(struct top *t, int y, int h, int w)
{
	const char *name = top_views[t->view].analyzer;
	t->nrows = 0;
	if (!mpa_mon_result(t->m, name)) {
		top_line(y + 1, w, "  the %s analyzer's results are known when the capture ends", name);
		return 0;
	}
	top_summary(t, name, y, y, h, w);
	return 0;
}
