/* mpa-top — the Memory view: live heap and mapped bytes, alloc/free rates
 * over the whole capture as sparklines, the cursor and the peak marked;
 * the numbers at the cursor.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "mpa/event.h"
#include "tui.h"

enum series { LIVE, MAPPED, ALLOCS, FREES, NSERIES };

static double value(const struct mpa_snap_iv *v, enum series s)
{
	double secs = (double)(v->t1 - v->t0) / 1e9;
	switch (s) {
	case LIVE: return (double)v->peak_bytes;
	case MAPPED: return (double)v->mapped_bytes;
	case ALLOCS: return (double)v->allocs / secs;
	case FREES: return (double)v->frees / secs;
	default: return 0;
	}
}

uint32_t top_view_memory(struct top *t, int y, int h, int w)
{
	size_t n = mpa_snap_count(t->sn);
	const struct mpa_snap_iv *v = top_iv(t);
	if (!v) {
		top_line(y + 1, w, "  no data in this capture (no events)");
		return 0;
	}
	double *s = malloc(n * NSERIES * sizeof *s);
	if (!s) {
		top_line(y + 1, w, "  out of memory");
		return 0;
	}
	size_t peak = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mpa_snap_iv *x = mpa_snap_get(t->sn, i);
		for (unsigned k = 0; k < NSERIES; k++)
			s[k * n + i] = value(x, (enum series)k);
		if (x->peak_bytes > mpa_snap_get(t->sn, peak)->peak_bytes)
			peak = i;
	}
	uint64_t first, last, pk, pts;
	mpa_mon_span(t->m, &first, &last);
	mpa_snap_peak(t->sn, &pk, &pts);
	char a[32], b[32], c[32], d[32];
	double secs = (double)(v->t1 - v->t0) / 1e9;
	int sw = w - 2, big = h >= 20 ? 4 : 2, row = y;

	mpa_mon_bytes(a, sizeof a, (double)v->live_bytes);
	mpa_mon_bytes(b, sizeof b, (double)pk);
	mpa_mon_dur(c, sizeof c, pts > first ? pts - first : 0);
	top_color(1, C_ACCENT);
	top_line(row++, w, " Live heap  %s at the cursor (%" PRIu64 " blocks)", a, v->live_blocks);
	top_color(0, C_ACCENT);
	top_spark(t, row, 1, sw, big, s + LIVE * n, n, t->cur, peak);
	row += big;
	/* the marker row: ^ under the peak, | under the cursor */
	move(row, 0);
	clrtoeol();
	int pc = (int)(peak * (size_t)sw / n), cc = (int)(t->cur * (size_t)sw / n);
	mvaddch(row, 1 + cc, '|');
	top_color(1, C_PEAK);
	mvaddch(row, 1 + pc, '^');
	top_color(0, C_PEAK);
	row++;
	top_color(1, C_PEAK);
	top_line(row++, w, " peak %s at %s  (p jumps there)", b, c);
	top_color(0, C_PEAK);

	mpa_mon_bytes(a, sizeof a, (double)v->mapped_bytes);
	top_color(1, C_ACCENT);
	top_line(row++, w, " Mapped  %s at the cursor%s", a,
		 mpa_snap_kinds_seen(t->sn) & (MPT_KINDBIT(MPA_KIND_MAP) | MPT_KINDBIT(MPA_KIND_UNMAP))
			 ? ""
			 : "  (no map events in this capture)");
	top_color(0, C_ACCENT);
	top_spark(t, row++, 1, sw, 1, s + MAPPED * n, n, t->cur, peak);

	mpa_mon_bytes(a, sizeof a, (double)v->alloc_bytes / secs);
	top_color(1, C_ACCENT);
	top_line(row++, w, " Allocations  %.0f/s  %s/s", (double)v->allocs / secs, a);
	top_color(0, C_ACCENT);
	top_spark(t, row++, 1, sw, 1, s + ALLOCS * n, n, t->cur, peak);
	mpa_mon_bytes(a, sizeof a, (double)v->free_bytes / secs);
	top_color(1, C_ACCENT);
	top_line(row++, w, " Frees  %.0f/s  %s/s", (double)v->frees / secs, a);
	top_color(0, C_ACCENT);
	top_spark(t, row++, 1, sw, 1, s + FREES * n, n, t->cur, peak);
	free(s);

	row++;
	uint64_t thr = mpa_snap_pressure_threshold(t->sn);
	mpa_mon_bytes(a, sizeof a, (double)thr);
	mpa_mon_bytes(b, sizeof b, (double)v->kernel_bytes);
	mpa_mon_dur(d, sizeof d, v->t1 - v->t0);
	if (row < y + h) {
		if (!thr)
			top_line(row++, w, " Pressure  off ([alerts] memory_pressure_threshold = 0)");
		else {
			if (v->pressure)
				top_color(1, C_WARN);
			top_line(row++, w, " Pressure  %s (live heap above %s in this interval)",
				 v->pressure ? "YES" : "no", a);
			if (v->pressure)
				top_color(0, C_WARN);
		}
	}
	if (row < y + h)
		top_line(row++, w, " Interval %s: %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
			 " rows, %u threads, kernel objects %s", d, v->allocs, v->frees, v->rows,
			 v->threads, b);
	if (row < y + h) {
		if (v->lost)
			top_color(1, C_WARN);
		top_line(row++, w, " Lost events  %" PRIu64 " in this interval, %" PRIu64 " in the capture",
			 v->lost, mpa_mon_lost(t->m));
		if (v->lost)
			top_color(0, C_WARN);
	}
	return 0;
}
