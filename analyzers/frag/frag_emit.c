/* frag: the fractions and the score, the tables, JSON, plots, alert,
 * recommendations and headline.  Definitions: doc/analyzers-frag.md. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frag_internal.h"

static const char *const how_name[] = {"running", "exit", "exec", "capture_end"};
static const char *const unknown_internal =
	"unknown: the capture has no usable sizes (the stock libc wrapper records none)";

/* ---- metrics ------------------------------------------------------------------------------- */

double mpa_frag_internal(const struct fsnap *s)
{
	if (!s->valid || !s->usable_bytes)
		return NAN;
	uint64_t req = s->usable_req < s->usable_bytes ? s->usable_req : s->usable_bytes;
	return (double)(s->usable_bytes - req) / (double)s->usable_bytes;
}

double mpa_frag_external(const struct fsnap *s)
{
	if (!s->valid || !s->span)
		return NAN;
	return (double)s->free_bytes / (double)s->span;
}

double mpa_frag_external_gap(const struct fsnap *s)
{
	if (!s->valid || !s->span)
		return NAN;
	if (!s->free_bytes)
		return 0;
	return 1.0 - (double)s->largest_gap / (double)s->free_bytes;
}

static double page_fill(const struct frag *F, const struct fsnap *s)
{
	if (!s->valid || !s->pages)
		return NAN;
	return (double)s->fill_bytes / ((double)s->pages * (double)F->page_size);
}

int mpa_frag_health(const struct frag *F, const struct fsnap *s)
{
	if (!s->valid || !s->span || s->span < F->min_pages * F->page_size)
		return -1;
	double u = (double)s->live_bytes / (double)s->span;
	if (u > 1)
		u = 1;
	return (int)lround(100.0 * u);
}

/* The lower of the scores at the peak and at the end (-1: neither given). */
static int image_health(const struct frag *F, const struct fres *r)
{
	int a = mpa_frag_health(F, &r->peak), b = mpa_frag_health(F, &r->end);
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static const char *str(const struct frag *F, uint32_t id)
{
	const char *s = F->ctx->reader && id ? mpt_reader_string(F->ctx->reader, id, NULL) : NULL;
	return s ? s : "";
}

static uint64_t rel(const struct frag *F, uint64_t ts)
{
	return ts > F->ctx->span_first ? ts - F->ctx->span_first : 0;
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

#define JI(v) ((json_int_t)((v) > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(v)))

static json_t *snap_json(const struct frag *F, const struct fsnap *s)
{
	if (!s->valid)
		return json_null();
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "ts_ns", json_integer(JI(rel(F, s->ts))));
	json_object_set_new(o, "live_bytes", json_integer(JI(s->live_bytes)));
	json_object_set_new(o, "live_blocks", json_integer(JI(s->live_blocks)));
	json_object_set_new(o, "usable_bytes", json_integer(JI(s->usable_bytes)));
	json_object_set_new(o, "usable_unknown_blocks", json_integer(JI(s->unknown_blocks)));
	double in = mpa_frag_internal(s);
	json_object_set_new(o, "internal", jnum(in));
	if (isnan(in))
		json_object_set_new(o, "internal_note", json_string(unknown_internal));
	json_object_set_new(o, "span", json_integer(JI(s->span)));
	json_object_set_new(o, "segments", json_integer(JI(s->segments)));
	json_object_set_new(o, "free_bytes", json_integer(JI(s->free_bytes)));
	json_object_set_new(o, "overhead_bytes", json_integer(JI(s->overhead_bytes)));
	json_object_set_new(o, "largest_gap", json_integer(JI(s->largest_gap)));
	json_object_set_new(o, "external", jnum(mpa_frag_external(s)));
	json_object_set_new(o, "external_gap", jnum(mpa_frag_external_gap(s)));
	json_object_set_new(o, "pages", json_integer(JI(s->pages)));
	json_object_set_new(o, "pages_bytes", json_integer(JI(s->pages * F->page_size)));
	json_object_set_new(o, "page_fill", jnum(page_fill(F, s)));
	json_object_set_new(o, "free_pages", json_integer(JI(s->free_pages)));
	json_object_set_new(o, "occupancy",
			    json_pack("{s:I, s:I, s:I, s:I}", "lt25", JI(s->cls[0]), "lt50",
				      JI(s->cls[1]), "lt75", JI(s->cls[2]), "ge75", JI(s->cls[3])));
	int h = mpa_frag_health(F, s);
	json_object_set_new(o, "health", h >= 0 ? json_integer(h) : json_null());
	return o;
}

/* ---- tables ----------------------------------------------------------------------------------- */

static const struct mpa_col image_cols[] = {
	{"image_id", MPA_COL_U64, "id"},      {"pid", MPA_COL_I64, "pid"},
	{"seq", MPA_COL_U64, "count"},        {"image", MPA_COL_STR, ""},
	{"ended", MPA_COL_STR, ""},           {"moment", MPA_COL_STR, ""},
	{"ts_ns", MPA_COL_U64, "ns"},         {"max_live_bytes", MPA_COL_U64, "bytes"},
	{"live_bytes", MPA_COL_U64, "bytes"}, {"live_blocks", MPA_COL_U64, "count"},
	{"usable_bytes", MPA_COL_U64, "bytes"}, {"internal", MPA_COL_F64, "fraction"},
	{"span", MPA_COL_U64, "bytes"},       {"segments", MPA_COL_U64, "count"},
	{"free_bytes", MPA_COL_U64, "bytes"}, {"overhead_bytes", MPA_COL_U64, "bytes"},
	{"largest_gap", MPA_COL_U64, "bytes"}, {"external", MPA_COL_F64, "fraction"},
	{"external_gap", MPA_COL_F64, "fraction"}, {"pages", MPA_COL_U64, "count"},
	{"page_fill", MPA_COL_F64, "fraction"}, {"sparse_pages", MPA_COL_U64, "count"},
	{"free_pages", MPA_COL_U64, "count"}, {"health", MPA_COL_I64, "score 0..100, -1 none"},
};
static const struct mpa_table_decl images_table = {"images", "images", image_cols,
						   MPA_NCOLS(image_cols)};

static int image_row(struct frag *F, mpa_table *t, const struct fres *r, const char *moment,
		     const struct fsnap *s)
{
	mpa_table_u64(t, r->id);
	mpa_table_i64(t, r->pid);
	mpa_table_u64(t, r->seq);
	mpa_table_str(t, str(F, r->path));
	mpa_table_str(t, how_name[r->how < 4 ? r->how : 0]);
	mpa_table_str(t, moment);
	mpa_table_u64(t, rel(F, s->ts));
	mpa_table_u64(t, r->max_live);
	mpa_table_u64(t, s->live_bytes);
	mpa_table_u64(t, s->live_blocks);
	mpa_table_u64(t, s->usable_bytes);
	mpa_table_f64(t, mpa_frag_internal(s));
	mpa_table_u64(t, s->span);
	mpa_table_u64(t, s->segments);
	mpa_table_u64(t, s->free_bytes);
	mpa_table_u64(t, s->overhead_bytes);
	mpa_table_u64(t, s->largest_gap);
	mpa_table_f64(t, mpa_frag_external(s));
	mpa_table_f64(t, mpa_frag_external_gap(s));
	mpa_table_u64(t, s->pages);
	mpa_table_f64(t, page_fill(F, s));
	mpa_table_u64(t, s->cls[0]);
	mpa_table_u64(t, s->free_pages);
	mpa_table_i64(t, mpa_frag_health(F, s));
	return mpa_table_end_row(t);
}

static const struct mpa_col series_cols[] = {
	{"bucket", MPA_COL_U64, "index"},     {"t_end_ns", MPA_COL_U64, "ns"},
	{"images", MPA_COL_U64, "count"},     {"live_bytes", MPA_COL_U64, "bytes"},
	{"usable_bytes", MPA_COL_U64, "bytes"}, {"internal", MPA_COL_F64, "fraction"},
	{"span", MPA_COL_U64, "bytes"},       {"free_bytes", MPA_COL_U64, "bytes"},
	{"largest_gap", MPA_COL_U64, "bytes"}, {"external", MPA_COL_F64, "fraction"},
	{"external_gap", MPA_COL_F64, "fraction"}, {"pages", MPA_COL_U64, "count"},
	{"page_fill", MPA_COL_F64, "fraction"}, {"pages_lt25", MPA_COL_U64, "count"},
	{"pages_lt50", MPA_COL_U64, "count"}, {"pages_lt75", MPA_COL_U64, "count"},
	{"pages_ge75", MPA_COL_U64, "count"}, {"free_pages", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl series_table = {"series", "series", series_cols,
						   MPA_NCOLS(series_cols)};

/* A bucket as a snapshot (sums over the images running at its end). */
static void bucket_snap(const struct fbucket *k, struct fsnap *s)
{
	memset(s, 0, sizeof *s);
	s->valid = k->images != 0;
	s->live_bytes = k->live_bytes;
	s->usable_bytes = k->usable_bytes;
	s->usable_req = k->usable_req;
	s->unknown_blocks = k->unknown_blocks;
	s->span = k->span;
	s->free_bytes = k->free_bytes;
	s->overhead_bytes = k->overhead_bytes;
	s->largest_gap = k->largest_gap;
	s->segments = k->segments;
	s->pages = k->pages;
	s->fill_bytes = k->fill_bytes;
	s->free_pages = k->free_pages;
	memcpy(s->cls, k->cls, sizeof s->cls);
}

static uint64_t bucket_ns(const struct frag *F)
{
	return F->width > UINT64_MAX / F->stride ? UINT64_MAX : F->width * F->stride;
}

static uint64_t bucket_end(const struct frag *F, uint32_t b)
{
	uint64_t w = bucket_ns(F);
	uint64_t t = w > UINT64_MAX / (b + 1) ? UINT64_MAX : w * (b + 1);
	return rel(F, frag_sat_add(F->t0, t));
}

static const struct mpa_col pin_cols[] = {
	{"site", MPA_COL_STR, ""},           {"stack_id", MPA_COL_U64, "id"},
	{"blocks", MPA_COL_U64, "count"},    {"live_bytes", MPA_COL_U64, "bytes"},
	{"mean_block_bytes", MPA_COL_U64, "bytes"}, {"pages", MPA_COL_U64, "count"},
	{"retained_bytes", MPA_COL_U64, "bytes"}, {"max_age_ns", MPA_COL_U64, "ns"},
};
static const struct mpa_table_decl pin_table = {"pinning", "pinning_sites", pin_cols,
						MPA_NCOLS(pin_cols)};

static int cmp_site(const void *a, const void *b, void *arg)
{
	const struct frag *F = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	double rx = F->sites[x].retained, ry = F->sites[y].retained;
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* ---- emit ---------------------------------------------------------------------------------------- */

static int emit_plots(struct frag *F, mpa_out *out, const uint32_t *idx, uint32_t n)
{
	char title[128];
	snprintf(title, sizeof title, "heap map: pages by occupancy over time (%" PRIu64 " B pages)",
		 F->page_size);
	mpa_plot *p = mpa_plot_open(out, "heap_map", title, "time (s)", "pages", MPA_PLOT_AREAS);
	if (!p)
		return -1;
	static const char *const band[] = {"no live byte (free, inside the span)", "< 25% live",
					   "25-50% live", "50-75% live", ">= 75% live"};
	for (int k = 0; k < 5; k++) {
		if (mpa_plot_series(p, band[k]) < 0)
			return -1;
		/* a step per bucket, from its start to its end; the last one
		 * closed by a point at the end of the span */
		double v = 0;
		for (uint32_t b = 0; b <= F->nbk; b++) {
			if (b < F->nbk) {
				const struct fbucket *bk = &F->bk[b];
				/* the bands stacked from the full pages up */
				uint64_t n = bk->cls[3];
				if (k <= 3)
					n += bk->cls[2];
				if (k <= 2)
					n += bk->cls[1];
				if (k <= 1)
					n += bk->cls[0];
				if (k == 0)
					n += bk->free_pages;
				v = (double)n;
			}
			double x = (double)(b ? bucket_end(F, b - 1) : 0) / 1e9;
			if (mpa_plot_point(p, x, v) < 0)
				return -1;
		}
	}
	if (mpa_plot_close(p) < 0)
		return -1;

	p = mpa_plot_open(out, "over_time", "fragmentation over time (all images)", "time (s)",
			  "fraction", MPA_PLOT_LINES);
	if (!p)
		return -1;
	static const char *const ln[] = {"external: free / span", "external: 1 - largest gap / free",
					 "internal: (usable - requested) / usable",
					 "page fill: live share of touched pages"};
	for (int k = 0; k < 4; k++) {
		if (mpa_plot_series(p, ln[k]) < 0)
			return -1;
		for (uint32_t b = 0; b < F->nbk; b++) {
			struct fsnap s;
			bucket_snap(&F->bk[b], &s);
			double v = k == 0 ? mpa_frag_external(&s)
				   : k == 1 ? mpa_frag_external_gap(&s)
				   : k == 2 ? mpa_frag_internal(&s)
					    : page_fill(F, &s);
			if (mpa_plot_point(p, (double)bucket_end(F, b) / 1e9, v) < 0)
				return -1;
		}
	}
	if (mpa_plot_close(p) < 0)
		return -1;

	p = mpa_plot_open(out, "pinning_sites", "bytes retained on sparse pages, by site",
			  "bytes", "", MPA_PLOT_HBARS);
	if (!p)
		return -1;
	char lab[512];
	for (uint32_t k = 0; k < n && k < F->top_sites; k++) {
		mpa_site_label(F->ctx, idx[k], 48, lab, sizeof lab);
		char l2[560];
		snprintf(l2, sizeof l2, "%s #%" PRIu32, lab, idx[k]);
		if (mpa_plot_label(p, (double)k, (double)llround(F->sites[idx[k]].retained), l2) < 0)
			return -1;
	}
	return mpa_plot_close(p);
}

static void human(char *buf, size_t len, double b)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1f GiB", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MiB", b / (1024.0 * 1024));
	else if (b >= 1024.0)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%.0f B", b);
}

/* Recommendations, only where the numbers carry one (doc/analyzers-frag.md). */
static json_t *recommendations(struct frag *F, const uint32_t *idx, uint32_t n)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	char site[1024], msg[2048], a[32], b[32], c[32];
	const uint64_t ps = F->page_size;
	for (uint32_t k = 0; k < n && k < F->top_sites; k++) {
		const struct fsite *st = &F->sites[idx[k]];
		uint64_t ret = (uint64_t)llround(st->retained);
		uint64_t mean = st->blocks ? st->live / st->blocks : 0;
		if (ret < F->recommend_bytes || ret == 0)
			break; /* sorted by retained: the rest retain less */
		if (mean > ps / 4)
			continue; /* large blocks: not a pool's case */
		mpa_site_name(F->ctx, idx[k], site, sizeof site);
		uint64_t need = st->live / ps + (st->live % ps != 0);
		human(a, sizeof a, (double)st->pages * (double)ps);
		human(b, sizeof b, (double)ret);
		human(c, sizeof c, (double)need * (double)ps);
		snprintf(msg, sizeof msg,
			 "%s: %s of %" PRIu64 " B pages held by %" PRIu64 " blocks of %" PRIu64
			 " B on average (%" PRIu64 " live bytes); a pool or arena of their own "
			 "would need %s and return %s",
			 site, a, ps, st->blocks, mean, st->live, c, b);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", "pool",
						     "site", site, "stack_id", (json_int_t)idx[k],
						     "bytes", JI(ret), "message", msg));
	}
	if (F->have_main) {
		const struct fres *r = &F->res[F->main];
		const struct fsnap *s = &r->peak;
		double in = mpa_frag_internal(s);
		uint64_t waste = s->usable_bytes > s->usable_req ? s->usable_bytes - s->usable_req : 0;
		if (!isnan(in) && in >= 0.25 && waste >= F->recommend_bytes && waste) {
			human(a, sizeof a, (double)waste);
			snprintf(msg, sizeof msg,
				 "at its peak, pid %" PRId32 " holds %s (%.0f%% of the usable bytes) "
				 "beyond what it requested: its request sizes fall just past the "
				 "allocator's size classes; rounding them up to a class, or a pool "
				 "of exact-size objects, returns it",
				 r->pid, a, 100.0 * in);
			json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:s}", "kind",
							     "size_classes", "pid", (json_int_t)r->pid,
							     "bytes", JI(waste), "message", msg));
		}
	}
	return arr;
}

int mpa_frag_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct frag *F = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	uint32_t *idx = NULL;
	mpa_table *t = mpa_table_begin(out, &images_table);
	if (!t)
		goto fail;
	/* images by id (sorted in end()), each at its peak then at its end */
	for (uint32_t i = 0; i < F->nres; i++) {
		const struct fres *r = &F->res[i];
		if (image_row(F, t, r, "peak", &r->peak) < 0 || image_row(F, t, r, "end", &r->end) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0)
		goto fail;
	t = mpa_table_begin(out, &series_table);
	if (!t)
		goto fail;
	for (uint32_t b = 0; b < F->nbk; b++) {
		const struct fbucket *k = &F->bk[b];
		struct fsnap s;
		bucket_snap(k, &s);
		mpa_table_u64(t, b);
		mpa_table_u64(t, bucket_end(F, b));
		mpa_table_u64(t, k->images);
		mpa_table_u64(t, k->live_bytes);
		mpa_table_u64(t, k->usable_bytes);
		mpa_table_f64(t, mpa_frag_internal(&s));
		mpa_table_u64(t, k->span);
		mpa_table_u64(t, k->free_bytes);
		mpa_table_u64(t, k->largest_gap);
		mpa_table_f64(t, mpa_frag_external(&s));
		mpa_table_f64(t, mpa_frag_external_gap(&s));
		mpa_table_u64(t, k->pages);
		mpa_table_f64(t, page_fill(F, &s));
		for (unsigned c = 0; c < FRAG_NCLASS; c++)
			mpa_table_u64(t, k->cls[c]);
		mpa_table_u64(t, k->free_pages);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0)
		goto fail;

	/* pinning sites, by retained bytes */
	idx = malloc((size_t)F->nsites * sizeof *idx);
	if (!idx)
		goto oom;
	uint32_t n = 0;
	uint64_t pin_blocks = 0;
	double pin_ret = 0;
	for (uint32_t s = 0; s < F->nsites; s++)
		if (F->sites[s].blocks) {
			idx[n++] = s;
			pin_blocks += F->sites[s].blocks;
			pin_ret += F->sites[s].retained;
		}
	qsort_r(idx, n, sizeof *idx, cmp_site, F);
	t = mpa_table_begin(out, &pin_table);
	if (!t)
		goto fail;
	char site[1024];
	for (uint32_t k = 0; k < n; k++) {
		const struct fsite *st = &F->sites[idx[k]];
		mpa_site_name(F->ctx, idx[k], site, sizeof site);
		mpa_table_str(t, site);
		mpa_table_u64(t, idx[k]);
		mpa_table_u64(t, st->blocks);
		mpa_table_u64(t, st->live);
		mpa_table_u64(t, st->blocks ? st->live / st->blocks : 0);
		mpa_table_u64(t, st->pages);
		mpa_table_u64(t, (uint64_t)llround(st->retained));
		mpa_table_u64(t, st->max_age);
		if (k < F->top_sites)
			mpa_table_json(t, "stack", mpa_site_stack_json(F->ctx, idx[k]));
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0)
		goto fail;
	t = NULL;
	if (emit_plots(F, out, idx, n) < 0)
		goto fail;
	json_t *recs = recommendations(F, idx, n);
	if (!recs)
		goto oom;
	/* the summary (and the report) carry their messages */
	json_t *recmsg = json_array();
	size_t ri;
	json_t *rv;
	json_array_foreach(recs, ri, rv) json_array_append(recmsg, json_object_get(rv, "message"));
	json_object_set_new(doc, "recommendations", recs);

	/* the alert: the largest final external fragmentation over the threshold */
	if (F->alert) {
		const struct fres *r = &F->res[F->alert_img];
		char msg[512], a[32], b[32];
		human(a, sizeof a, (double)r->end.free_bytes);
		human(b, sizeof b, (double)r->end.span);
		snprintf(msg, sizeof msg,
			 "heap fragmentation %.4f at the end of pid %" PRId32
			 " is above the threshold %.4f: %s free inside a %s heap span",
			 F->alert_value, r->pid, F->threshold, a, b);
		struct mpa_alert al = {"fragmentation", MPA_SEV_WARNING, F->alert_value, F->threshold,
				       "fraction", msg,
				       "long-lived blocks interleaved with freed ones keep the heap "
				       "spread out: see frag_pinning.csv for the sites that pin "
				       "sparse pages, and consider a pool or an arena for them"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}

	/* JSON document and summary */
	int usable = F->blocks_seen && F->usable_blocks_seen == F->blocks_seen ? 2
		     : F->usable_blocks_seen				    ? 1
									    : 0;
	static const char *const usable_name[] = {"unknown", "partial", "known"};
	json_object_set_new(doc, "page_size", json_integer(JI(F->page_size)));
	json_object_set_new(doc, "page_size_source",
			    json_string(F->page_size_known
						? "capture topology"
						: "default 4096: the capture's topology has no page size"));
	json_object_set_new(doc, "usable_sizes", json_string(usable_name[usable]));
	if (!usable)
		json_object_set_new(doc, "internal_note", json_string(unknown_internal));
	json_object_set_new(
		doc, "params",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f}", "points", (json_int_t)F->points,
			  "buckets", JI(F->nbk), "bucket_ns", JI(bucket_ns(F)), "segment_gap", JI(F->segment_gap), "min_gap",
			  JI(F->min_gap), "sparse_fill", F->sparse_fill, "min_pages",
			  JI(F->min_pages), "fragmentation_threshold", F->threshold));
	json_object_set_new(doc, "walks",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "count", JI(F->walks), "blocks",
				      JI(F->walk_blocks), "bucket_blocks", JI(F->visits_bucket),
				      "peak_blocks", JI(F->visits_peak), "widened",
				      (json_int_t)F->widened));
	json_t *imgs = json_array();
	for (uint32_t i = 0; imgs && i < F->nres; i++) {
		const struct fres *r = &F->res[i];
		int h = image_health(F, r);
		json_array_append_new(
			imgs,
			json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:o,"
				  " s:{s:I, s:I, s:I}}",
				  "image_id", (json_int_t)r->id, "pid", (json_int_t)r->pid, "seq",
				  (json_int_t)r->seq, "image", str(F, r->path), "ended",
				  how_name[r->how < 4 ? r->how : 0], "start_ns", JI(rel(F, r->start_ts)),
				  "end_ns", JI(rel(F, r->end_ts)), "max_live_bytes", JI(r->max_live),
				  "max_live_ns", JI(rel(F, r->max_ts)), "peak_exact",
				  r->peak.valid && r->peak.live_bytes == r->max_live, "peak",
				  snap_json(F, &r->peak), "end", snap_json(F, &r->end), "health",
				  h >= 0 ? json_integer(h) : json_null(), "pinning", "blocks",
				  JI(r->pin_blocks), "pages", JI(r->pin_pages), "retained_bytes",
				  JI((uint64_t)llround(r->pin_retained))));
	}
	for (uint32_t i = 0; imgs && i < F->nres; i++) {
		const struct fres *r = &F->res[i];
		json_t *o = json_array_get(imgs, i);
		if (r->maps)
			json_object_set_new(o, "maps",
					    json_pack("{s:I, s:I, s:I}", "count", JI(r->maps),
						      "mmap_bytes", JI(r->map_bytes), "brk_bytes",
						      JI(r->brk_bytes)));
		else
			json_object_set_new(o, "maps", json_null());
	}
	json_object_set_new(doc, "image_results", imgs ? imgs : json_null());

	json_object_set_new(sum, "images", json_integer(F->nres));
	json_object_set_new(sum, "page_size", json_integer(JI(F->page_size)));
	json_object_set_new(sum, "usable_sizes", json_string(usable_name[usable]));
	if (F->have_main) {
		const struct fres *r = &F->res[F->main];
		int h = image_health(F, r);
		json_t *m = json_pack("{s:I, s:s, s:I, s:o, s:o, s:o}", "pid", (json_int_t)r->pid,
				      "image", str(F, r->path), "max_live_bytes", JI(r->max_live),
				      "peak", snap_json(F, &r->peak), "end", snap_json(F, &r->end),
				      "health", h >= 0 ? json_integer(h) : json_null());
		if (m && h < 0)
			json_object_set_new(m, "health_note",
					    json_string("the heap span is below [frag] min_pages "
							"pages: too small to judge"));
		json_object_set_new(sum, "main", m ? m : json_null());
	} else {
		json_object_set_new(sum, "main", json_null());
		json_object_set_new(sum, "note", json_string("no heap block in the selection"));
	}
	json_object_set_new(sum, "pinning",
			    json_pack("{s:I, s:I, s:I}", "sites", (json_int_t)n, "blocks",
				      JI(pin_blocks), "retained_bytes", JI((uint64_t)llround(pin_ret))));
	json_object_set_new(sum, "recommendations", recmsg ? recmsg : json_array());
	json_object_set_new(doc, "summary", json_deep_copy(sum));
	free(idx);
	return 0;
oom:
	free(idx);
	mpa_errf(err, errlen, "out of memory");
	return -1;
fail:
	free(idx);
	if (t)
		mpa_table_close(t);
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}

void mpa_frag_headline(void *state, char *line, size_t len)
{
	struct frag *F = state;
	if (!F->have_main) {
		line[0] = 0;
		return;
	}
	const struct fres *r = &F->res[F->main];
	int h = image_health(F, r);
	char hs[32], in[48];
	if (h >= 0)
		snprintf(hs, sizeof hs, "health %d/100", h);
	else
		snprintf(hs, sizeof hs, "heap too small to score");
	double i = mpa_frag_internal(&r->peak), e = mpa_frag_external(&r->peak);
	if (isnan(i))
		snprintf(in, sizeof in, "internal unknown");
	else
		snprintf(in, sizeof in, "internal %.2f", i);
	snprintf(line, len, "pid %" PRId32 ": %s; at the peak external %.2f, %s, %" PRIu64
		 " pages for %" PRIu64 " live bytes",
		 r->pid, hs, isnan(e) ? 0.0 : e, in, r->peak.pages, r->peak.live_bytes);
}
