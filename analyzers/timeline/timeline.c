/* The timeline and allocation-pattern analyzer.
 *
 * It follows alloc/free/realloc, kalloc/kfree, map/unmap and
 * proc_exec/proc_exit rows as the heap model hands them (the live blocks and
 * mapped ranges are the model's), and keeps per-site counters, per-series
 * time buckets and a few running integrals; everything else is derived in
 * end().  Memory grows with the number of sites, process images and
 * buckets, never with the number of rows.  Every metric is defined in
 * doc/analyzers-timeline.md.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_internal.h"

static const struct mpa_option tl_options[] = {
	{"visualization", "timeline_points", MPA_OPT_INT, "1000",
	 "most time buckets in the timeline (buckets)"},
	{"visualization", "timeline_interval_ms", MPA_OPT_FLOAT, "0",
	 "timeline bucket width (ms); 0 = capture span / timeline_points"},
	{"alerts", "memory_pressure_threshold", MPA_OPT_INT, "1073741824",
	 "live heap above which time counts as memory pressure (bytes, 0 = off)"},
	{"patterns", "temporary_threshold_ms", MPA_OPT_FLOAT, "1",
	 "blocks freed sooner than this after allocation are short-lived (ms, 0 = off)"},
	{"patterns", "top_n", MPA_OPT_INT, "20", "rows in the hotspot, size and site tables (rows)"},
	{"patterns", "burst_factor", MPA_OPT_FLOAT, "3",
	 "a bucket with at least this times the median allocation count is a burst/spike (ratio)"},
	{"patterns", "phase_buckets", MPA_OPT_INT, "50",
	 "phases are found on at most this many merged timeline buckets (buckets)"},
	{"patterns", "exclude_tracer", MPA_OPT_BOOL, "true",
	 "leave out blocks the tracer allocated for itself, told by their stacks (LTTng-UST, mpa's "
	 "preload, libnuma's constructor; doc/analyzers-timeline.md)"},
	{"patterns", "min_calls", MPA_OPT_INT, "100",
	 "allocations at one site before a reuse or pool recommendation (calls)"},
	{"patterns", "min_realloc_growth", MPA_OPT_INT, "16",
	 "growing reallocs at one site before a reserve recommendation (calls)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}};

/* ---- the analyzer interface ----------------------------------------------- */

void mpa_timeline_params_default(struct mpa_tl_params *p)
{
	memset(p, 0, sizeof *p);
	p->points = 1000;
	p->interval_ns = 0;
	p->pressure_bytes = UINT64_C(1073741824);
	p->short_ns = 1000000;
	p->top_n = 20;
	p->burst_factor = 3.0;
	p->min_calls = 100;
	p->min_growth = 16;
	p->phase_buckets = 50;
	p->exclude_tracer = 1;
}

int mpa_timeline_begin_with(const struct mpa_ctx *ctx, const struct mpa_tl_params *p,
			    void **state, char *errbuf, size_t errlen)
{
	*state = NULL;
	if (p->points < 1 || p->points > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_points must be 1..1048576");
		return -1;
	}
	if (!(p->burst_factor >= 1.0) || !isfinite(p->burst_factor)) {
		mpa_errf(errbuf, errlen, "[patterns] burst_factor must be a number >= 1");
		return -1;
	}
	struct mpa_tl_state *st = calloc(1, sizeof *st);
	if (!st) {
		mpa_errf(errbuf, errlen, "out of memory");
		return -1;
	}
	st->ctx = ctx;
	st->p = *p;
	st->epoch[0] = st->epoch[1] = 1;
	if (p->interval_ns) {
		/* every series (each process image too) may hold this many */
		st->width = p->interval_ns;
		st->limit = p->points > INTERVAL_BUCKETS ? p->points : INTERVAL_BUCKETS;
	} else {
		st->limit = p->points;
		st->width = 1;
		if (p->range_to > p->range_from) {
			uint64_t span = p->range_to - p->range_from;
			st->width = span / p->points + (span % p->points != 0);
		}
	}
	*state = st;
	return 0;
}

static double opt_float(const mpa_config *c, const char *sec, const char *key, double def)
{
	return c ? mpa_config_float(c, sec, key) : def;
}

static int64_t opt_int(const mpa_config *c, const char *sec, const char *key, int64_t def)
{
	return c ? mpa_config_int(c, sec, key) : def;
}

static int tl_begin(const struct mpa_ctx *ctx, void **state, char *errbuf, size_t errlen)
{
	struct mpa_tl_params p;
	mpa_timeline_params_default(&p);
	const mpa_config *c = ctx ? ctx->config : NULL;
	int64_t points = opt_int(c, "visualization", "timeline_points", p.points);
	double interval = opt_float(c, "visualization", "timeline_interval_ms", 0);
	int64_t pressure = opt_int(c, "alerts", "memory_pressure_threshold", (int64_t)p.pressure_bytes);
	double tmp_ms = opt_float(c, "patterns", "temporary_threshold_ms", 1);
	int64_t top_n = opt_int(c, "patterns", "top_n", p.top_n);
	int64_t min_calls = opt_int(c, "patterns", "min_calls", (int64_t)p.min_calls);
	int64_t min_growth = opt_int(c, "patterns", "min_realloc_growth", (int64_t)p.min_growth);
	int64_t phase_buckets = opt_int(c, "patterns", "phase_buckets", (int64_t)p.phase_buckets);
	p.burst_factor = opt_float(c, "patterns", "burst_factor", p.burst_factor);
	if (points < 1 || points > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_points must be 1..1048576");
		return -1;
	}
	if (!(interval >= 0) || interval > 1e12) {
		mpa_errf(errbuf, errlen, "[visualization] timeline_interval_ms must be >= 0");
		return -1;
	}
	if (pressure < 0) {
		mpa_errf(errbuf, errlen, "[alerts] memory_pressure_threshold must be >= 0");
		return -1;
	}
	if (!(tmp_ms >= 0) || tmp_ms > 1e12) {
		mpa_errf(errbuf, errlen, "[patterns] temporary_threshold_ms must be >= 0");
		return -1;
	}
	if (phase_buckets < 1 || phase_buckets > MAX_BUCKETS) {
		mpa_errf(errbuf, errlen, "[patterns] phase_buckets must be 1..1048576");
		return -1;
	}
	if (top_n < 1 || top_n > 100000 || min_calls < 1 || min_growth < 1) {
		mpa_errf(errbuf, errlen,
			"[patterns] top_n must be 1..100000, min_calls and min_realloc_growth >= 1");
		return -1;
	}
	p.points = (uint32_t)points;
	p.interval_ns = (uint64_t)(interval * 1e6 + 0.5);
	if (interval > 0 && !p.interval_ns)
		p.interval_ns = 1;
	p.pressure_bytes = (uint64_t)pressure;
	p.short_ns = (uint64_t)(tmp_ms * 1e6 + 0.5);
	p.top_n = (uint32_t)top_n;
	p.min_calls = (uint64_t)min_calls;
	p.min_growth = (uint64_t)min_growth;
	p.phase_buckets = (uint64_t)phase_buckets;
	p.exclude_tracer = c ? mpa_config_bool(c, "patterns", "exclude_tracer") : 1;

	/* The time range from the chunk index, so that the buckets are fixed
	 * before the first row: exactly timeline_points of them. */
	if (ctx && ctx->reader) {
		uint32_t n = mpt_reader_chunk_count(ctx->reader);
		uint64_t lo = UINT64_MAX, hi = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct mpt_chunk_info ci;
			if (mpt_reader_chunk_info(ctx->reader, i, &ci) != MPT_OK || !ci.rows)
				continue;
			if (ci.ts_min < lo)
				lo = ci.ts_min;
			if (ci.ts_max > hi)
				hi = ci.ts_max;
		}
		if (lo <= hi) {
			if (ctx->ts_from > lo)
				lo = ctx->ts_from;
			uint64_t end = hi < UINT64_MAX ? hi + 1 : hi;
			if (ctx->ts_to && ctx->ts_to < end)
				end = ctx->ts_to;
			if (end > lo) {
				p.range_from = lo;
				p.range_to = end;
			}
		}
	}
	return mpa_timeline_begin_with(ctx, &p, state, errbuf, errlen);
}

#define KINDS_READ                                                             \
	(MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |            \
	 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_KALLOC) |        \
	 MPT_KINDBIT(MPA_KIND_KFREE) | MPT_KINDBIT(MPA_KIND_PROC_EXEC) |       \
	 MPT_KINDBIT(MPA_KIND_PROC_EXIT) | MPT_KINDBIT(MPA_KIND_MAP) |          \
	 MPT_KINDBIT(MPA_KIND_UNMAP))

static void tl_release(void *state)
{
	struct mpa_tl_state *st = state;
	if (!st)
		return;
	mpa_tl_series_release(&st->user);
	mpa_tl_series_release(&st->kernel);
	mpa_tl_series_release(&st->mapped);
	for (uint32_t i = 0; i < st->nprocs; i++) {
		mpa_tl_series_release(&st->procs[i].s);
	}
	free(st->procs);
	free(st->img_rec);
	free(st->sites);
	free(st->site_slots);
	free(st->stack_site[0]);
	free(st->stack_site[1]);
	free(st->stack_site[2]);
	free(st->size_tab);
	free(st->pressure);
	for (uint32_t i = 0; i < st->ngroups; i++)
		free(st->groups[i].name);
	free(st->groups);
	free(st->phases);
	free(st->top_sizes);
	for (uint32_t i = 0; i < st->nrecs; i++) {
		free(st->recs[i].site);
		free(st->recs[i].message);
	}
	free(st->recs);
	free(st);
}

const struct mpa_analyzer mpa_analyzer_timeline = {
	.name = "timeline",
	.summary = "live heap and mapped memory over time, peak and its sites, rates, pressure, "
		   "trend, phases, sizes, hotspots, temporary allocations, recommendations",
	.kinds = KINDS_READ,
	.columns = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) | MPT_COLBIT(MPT_COL_PID) |
		   MPT_COLBIT(MPT_COL_FLAGS) | MPT_COLBIT(MPT_COL_PTR) |
		   MPT_COLBIT(MPT_COL_NEW_PTR) | MPT_COLBIT(MPT_COL_SIZE) |
		   MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_STACK_ID) |
		   MPT_COLBIT(MPT_COL_STR_ID),
	.options = tl_options,
	.begin = tl_begin,
	.on_row = mpa_tl_on_row,
	.on_image_end = mpa_tl_image_end,
	.on_fork = mpa_tl_fork,
	.end = mpa_tl_end,
	.emit = mpa_tl_emit,
	.release = tl_release,
};

