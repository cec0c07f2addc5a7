/* The flame analyzer: per allocation stack, the five weights a flamegraph
 * switches between — bytes leaked, bytes live at the heap's peak, bytes
 * allocated, allocation calls, temporary allocations — for the report's
 * flamegraph, the folded/speedscope exports and mpa-diff.  Counters per
 * stack id only (never a block table: the heap model holds the blocks).
 * Metrics: doc/analyzers-flame.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/analyzer.h"

static const struct mpa_option flame_options[] = {
	{"flame", "max_stacks", MPA_OPT_INT, "2000",
	 "stacks written: those in the top max_stacks of any weight (count, 1..1000000); "
	 "the rest are summed into \"other\""},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

enum { W_LEAKED, W_PEAK, W_ALLOC, W_CALLS, W_TEMP, W_COUNT_ };

static const struct {
	const char *name, *unit, *label;
} weights[W_COUNT_] = {
	{"leaked_bytes", "bytes", "leaked bytes"},
	{"peak_bytes", "bytes", "live bytes at peak"},
	{"allocated_bytes", "bytes", "allocated bytes"},
	{"calls", "count", "allocation calls"},
	{"temporary", "count", "temporary allocations"},
};

struct fstack {
	uint32_t id;          /* stack id (the key; 0 = no stack) */
	uint8_t used, keep, series;
	uint64_t w[W_COUNT_]; /* W_PEAK is filled at the end */
	uint64_t leaked_blocks;
	uint64_t live_end;    /* live when a process was still running at the capture's end */
	uint64_t live;        /* now */
	uint64_t snap, snap_epoch; /* live as it stood at the latest peak (see fs_touch) */
	uint64_t *ser;        /* SERIES_BUCKETS: max live bytes per time bucket (lazy) */
	int32_t ser_last;     /* bucket of the latest change, -1 none */
};

/* The capture's span cut in this many buckets for the per-stack live series
 * (the report's time-range selection). */
#define SERIES_BUCKETS 100
/* ... for this many stacks (those that held the most at any time) */
#define SERIES_STACKS 200

struct flame {
	const struct mpa_ctx *ctx; /* (weak) */
	int64_t max_stacks;
	struct fstack *tab;   /* open addressing on id */
	size_t cap, n;
	uint64_t *last_ptr;   /* per image id: the latest allocation (temporaries) */
	size_t nlast;
	uint64_t live, peak, peak_ts, epoch;
	uint64_t lost_tracer; /* rows left out: the tracer's and start-up blocks */
	uint64_t now;         /* the row's time */
	int64_t max_series;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static size_t slot_of(uint32_t id, size_t cap)
{
	uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 32) & (cap - 1);
}

static int fs_grow(struct flame *F)
{
	size_t ncap = F->cap ? F->cap * 2 : 256;
	struct fstack *nt = calloc(ncap, sizeof *nt);
	if (!nt)
		return -1;
	for (size_t i = 0; i < F->cap; i++) {
		if (!F->tab[i].used)
			continue;
		size_t j = slot_of(F->tab[i].id, ncap);
		while (nt[j].used)
			j = (j + 1) & (ncap - 1);
		nt[j] = F->tab[i];
	}
	free(F->tab);
	F->tab = nt;
	F->cap = ncap;
	return 0;
}

static struct fstack *fs_get(struct flame *F, uint32_t id)
{
	if ((F->n + 1) * 4 > F->cap * 3 && fs_grow(F) < 0)
		return NULL;
	size_t j = slot_of(id, F->cap);
	while (F->tab[j].used && F->tab[j].id != id)
		j = (j + 1) & (F->cap - 1);
	if (!F->tab[j].used) {
		F->tab[j].used = 1;
		F->tab[j].id = id;
		F->tab[j].ser_last = -1;
		F->n++;
	}
	return &F->tab[j];
}

/* Before a stack's live bytes change: the first change after the latest
 * peak keeps the value it had at that peak (the timeline's technique: no
 * copy of the table at each new peak). */
static int bucket_of(const struct flame *F, uint64_t ts)
{
	const struct mpa_ctx *c = F->ctx;
	if (!c->reader || c->span_last <= c->span_first || ts <= c->span_first)
		return 0;
	unsigned __int128 k = (unsigned __int128)(ts - c->span_first) * SERIES_BUCKETS /
			      ((unsigned __int128)(c->span_last - c->span_first) + 1);
	return k >= SERIES_BUCKETS ? SERIES_BUCKETS - 1 : (int)k;
}

/* Carries the stack's live bytes forward to bucket k. */
static int ser_carry(struct fstack *s, int k)
{
	if (!s->ser && !(s->ser = calloc(SERIES_BUCKETS, sizeof *s->ser)))
		return -1;
	for (int j = s->ser_last + 1; j <= k; j++)
		s->ser[j] = s->live;
	if (k > s->ser_last)
		s->ser_last = k;
	return 0;
}

static int fs_touch(struct flame *F, struct fstack *s)
{
	if (s->snap_epoch != F->epoch) {
		s->snap = s->live;
		s->snap_epoch = F->epoch;
	}
	return ser_carry(s, bucket_of(F, F->now));
}

/* After a stack's live bytes changed. */
static void fs_changed(struct fstack *s)
{
	if (s->ser && s->ser_last >= 0 && s->live > s->ser[s->ser_last])
		s->ser[s->ser_last] = s->live;
}

static int program_block(const struct mpa_block *b)
{
	return b && !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

static uint64_t *last_of(struct flame *F, const struct mpa_image *img)
{
	if (!img)
		return NULL;
	if (img->id >= F->nlast) {
		size_t n = (size_t)img->id + 64;
		uint64_t *p = realloc(F->last_ptr, n * sizeof *p);
		if (!p)
			return NULL;
		memset(p + F->nlast, 0, (n - F->nlast) * sizeof *p);
		F->last_ptr = p;
		F->nlast = n;
	}
	return &F->last_ptr[img->id];
}

/* A program block ended; temporary when it is the image's latest
 * allocation with nothing in between (heaptrack's definition). */
static int take(struct flame *F, const struct mpa_block *b, uint64_t *last, int may_be_temp)
{
	struct fstack *s = fs_get(F, b->stack_id);
	if (!s)
		return -1;
	if (may_be_temp && last && *last == b->ptr)
		s->w[W_TEMP]++;
	if (fs_touch(F, s) < 0)
		return -1;
	s->live = s->live > b->size ? s->live - b->size : 0;
	F->live = F->live > b->size ? F->live - b->size : 0;
	return 0;
}

static int flame_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct flame *F = calloc(1, sizeof *F);
	if (!F) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	F->ctx = ctx;
	F->max_stacks = ctx->config ? mpa_config_int(ctx->config, "flame", "max_stacks") : 2000;
	if (F->max_stacks < 1 || F->max_stacks > 1000000) {
		free(F);
		mpa_errf(err, errlen, "[flame] max_stacks must be between 1 and 1000000");
		return -1;
	}
	if (fs_grow(F) < 0) {
		free(F);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	*state = F;
	return 0;
}

static int flame_on_row(void *state, const struct mpa_row *r)
{
	struct flame *F = state;
	if (r->failed || !r->img || r->img->kernel)
		return 0;
	F->now = r->ts;
	uint64_t *last = last_of(F, r->img);
	if (!last)
		return -1;
	switch (r->kind) {
	case MPA_KIND_FREE:
		if (program_block(r->old) && take(F, r->old, last, 1) < 0)
			return -1;
		*last = 0;
		return 0;
	case MPA_KIND_ALLOC:
	case MPA_KIND_REALLOC:
		break;
	default:
		return 0;
	}
	if (program_block(r->old) && take(F, r->old, last, 1) < 0)
		return -1;
	if (program_block(r->dup) && take(F, r->dup, last, 0) < 0)
		return -1;
	if (!program_block(r->blk)) {
		if (r->blk)
			F->lost_tracer++;
		return 0;
	}
	const struct mpa_block *b = r->blk;
	struct fstack *s = fs_get(F, b->stack_id);
	if (!s)
		return -1;
	if (fs_touch(F, s) < 0)
		return -1;
	s->w[W_CALLS]++;
	s->w[W_ALLOC] = sat_add(s->w[W_ALLOC], b->size);
	s->live = sat_add(s->live, b->size);
	fs_changed(s);
	F->live = sat_add(F->live, b->size);
	*last = b->ptr;
	if (F->live > F->peak) {
		F->peak = F->live;
		F->peak_ts = r->ts;
		F->epoch++;
	}
	return 0;
}

static int flame_on_image_end(void *state, const struct mpa_image *img)
{
	struct flame *F = state;
	if (img->kernel)
		return 0;
	int leaked = img->how == MPA_IMAGE_EXIT || img->how == MPA_IMAGE_EXEC;
	uint64_t cur = 0;
	const struct mpa_block *b;
	while ((b = mpa_image_next_block(img, &cur))) {
		if (!program_block(b))
			continue;
		struct fstack *s = fs_get(F, b->stack_id);
		if (!s)
			return -1;
		if (leaked) {
			s->w[W_LEAKED] = sat_add(s->w[W_LEAKED], b->size);
			s->leaked_blocks++;
		} else {
			s->live_end = sat_add(s->live_end, b->size);
		}
	}
	return 0;
}

static int flame_end(void *state, char *err, size_t errlen)
{
	struct flame *F = state;
	for (size_t i = 0; i < F->cap; i++) {
		struct fstack *s = &F->tab[i];
		if (!s->used)
			continue;
		s->w[W_PEAK] = !F->epoch ? 0 : s->snap_epoch == F->epoch ? s->snap : s->live;
		if (s->ser && ser_carry(s, SERIES_BUCKETS - 1) < 0) {
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* ---- emit ----------------------------------------------------------------- */

static int weight_sort;
static int cmp_by_weight(const void *a, const void *b)
{
	const struct fstack *x = *(const struct fstack *const *)a, *y = *(const struct fstack *const *)b;
	if (x->w[weight_sort] != y->w[weight_sort])
		return x->w[weight_sort] > y->w[weight_sort] ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t ser_max(const struct fstack *s)
{
	uint64_t m = 0;
	for (int j = 0; s->ser && j < SERIES_BUCKETS; j++)
		if (s->ser[j] > m)
			m = s->ser[j];
	return m;
}

static int cmp_by_series(const void *a, const void *b)
{
	const struct fstack *x = *(const struct fstack *const *)a, *y = *(const struct fstack *const *)b;
	uint64_t mx = ser_max(x), my = ser_max(y);
	if (mx != my)
		return mx > my ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_out(const void *a, const void *b)
{
	const struct fstack *x = *(const struct fstack *const *)a, *y = *(const struct fstack *const *)b;
	for (int w = W_ALLOC; w >= 0; w = w == W_ALLOC ? W_LEAKED : w == W_LEAKED ? W_PEAK : -1)
		if (x->w[w] != y->w[w])
			return x->w[w] > y->w[w] ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* The frames of a stack, root first, as indices into the shared frame
 * table (deduplicated by function, file, line and binary). */
static json_t *frame_refs(const struct mpa_ctx *ctx, uint32_t stack_id, json_t *frames,
			  json_t *index)
{
	json_t *st = mpa_site_stack_json(ctx, stack_id), *refs = json_array();
	if (!st || !refs) {
		json_decref(st);
		json_decref(refs);
		return NULL;
	}
	for (size_t k = json_array_size(st); k-- > 0;) {
		json_t *fr = json_array_get(st, k);
		const char *fn = json_string_value(json_object_get(fr, "function"));
		const char *file = json_string_value(json_object_get(fr, "file"));
		const char *bin = json_string_value(json_object_get(fr, "binary"));
		json_int_t line = json_integer_value(json_object_get(fr, "line"));
		char key[1536];
		snprintf(key, sizeof key, "%s\x1f%s\x1f%" JSON_INTEGER_FORMAT "\x1f%s", fn ? fn : "",
			 file ? file : "", line, bin ? bin : "");
		json_t *ix = json_object_get(index, key);
		if (!ix) {
			ix = json_integer((json_int_t)json_array_size(frames));
			json_t *f = json_pack("{s:s, s:s, s:I, s:s}", "function", fn ? fn : "??", "file",
					      file ? file : "", "line", line, "binary", bin ? bin : "");
			if (!ix || !f || json_array_append_new(frames, f) < 0 ||
			    json_object_set_new(index, key, ix) < 0) {
				json_decref(st);
				json_decref(refs);
				return NULL;
			}
		}
		json_array_append(refs, ix);
	}
	json_decref(st);
	return refs;
}

static const struct mpa_col stack_cols[] = {
	{"stack_id", MPA_COL_U64, "id"},
	{"site", MPA_COL_STR, ""},
	{"leaked_bytes", MPA_COL_U64, "bytes"},
	{"leaked_blocks", MPA_COL_U64, "count"},
	{"peak_bytes", MPA_COL_U64, "bytes"},
	{"allocated_bytes", MPA_COL_U64, "bytes"},
	{"calls", MPA_COL_U64, "count"},
	{"temporary", MPA_COL_U64, "count"},
	{"live_end_bytes", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl stacks_table = {"stacks", "stacks", stack_cols,
						   MPA_NCOLS(stack_cols)};

static int flame_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct flame *F = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	struct fstack **v = malloc((F->n ? F->n : 1) * sizeof *v);
	json_t *frames = json_array(), *index = json_object(), *metrics = json_array();
	json_t *other = json_object(), *totals = json_object();
	mpa_table *t = NULL;
	if (!v || !frames || !index || !metrics || !other || !totals)
		goto oom;
	size_t n = 0;
	for (size_t i = 0; i < F->cap; i++)
		if (F->tab[i].used) {
			F->tab[i].keep = 0;
			v[n++] = &F->tab[i];
		}
	/* kept: in the top max_stacks of any weight, with that weight non-zero */
	for (int w = 0; w < W_COUNT_; w++) {
		weight_sort = w;
		qsort(v, n, sizeof *v, cmp_by_weight);
		for (size_t i = 0; i < n && i < (size_t)F->max_stacks && v[i]->w[w]; i++)
			v[i]->keep = 1;
	}
	/* live series: the SERIES_STACKS stacks that held the most at any time */
	qsort(v, n, sizeof *v, cmp_by_series);
	for (size_t i = 0; i < n; i++)
		v[i]->series = i < SERIES_STACKS && v[i]->keep && ser_max(v[i]);
	qsort(v, n, sizeof *v, cmp_out);
	uint64_t tot[W_COUNT_] = {0}, oth[W_COUNT_] = {0}, nother = 0;
	for (size_t i = 0; i < n; i++)
		for (int w = 0; w < W_COUNT_; w++) {
			tot[w] = sat_add(tot[w], v[i]->w[w]);
			if (!v[i]->keep)
				oth[w] = sat_add(oth[w], v[i]->w[w]);
		}
	for (int w = 0; w < W_COUNT_; w++) {
		if (json_array_append_new(metrics, json_pack("{s:s, s:s, s:s}", "name", weights[w].name,
							     "unit", weights[w].unit, "label",
							     weights[w].label)) < 0 ||
		    json_object_set_new(totals, weights[w].name, jint(tot[w])) < 0 ||
		    json_object_set_new(other, weights[w].name, jint(oth[w])) < 0)
			goto oom;
	}
	for (size_t i = 0; i < n; i++)
		nother += !v[i]->keep;
	json_object_set_new(other, "stacks", jint(nother));
	if (!(t = mpa_table_begin(out, &stacks_table)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct fstack *s = v[i];
		if (!s->keep)
			continue;
		char site[512];
		mpa_site_name(F->ctx, s->id, site, sizeof site);
		mpa_table_u64(t, s->id);
		mpa_table_str(t, site);
		mpa_table_u64(t, s->w[W_LEAKED]);
		mpa_table_u64(t, s->leaked_blocks);
		mpa_table_u64(t, s->w[W_PEAK]);
		mpa_table_u64(t, s->w[W_ALLOC]);
		mpa_table_u64(t, s->w[W_CALLS]);
		mpa_table_u64(t, s->w[W_TEMP]);
		mpa_table_u64(t, s->live_end);
		json_t *refs = frame_refs(F->ctx, s->id, frames, index);
		if (!refs)
			goto oom;
		mpa_table_json(t, "frames", refs);
		if (s->series) {
			json_t *a = json_array();
			for (int j = 0; a && j < SERIES_BUCKETS; j++)
				json_array_append_new(a, jint(s->ser[j]));
			if (!a)
				goto oom;
			mpa_table_json(t, "live_series", a);
		}
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0) {
		t = NULL;
		goto fail;
	}
	t = NULL;
	const struct mpa_ctx *c = F->ctx;
	uint64_t span = c->reader && c->span_last > c->span_first ? c->span_last - c->span_first + 1 : 0;
	json_t *series = json_pack("{s:i, s:f, s:s}", "buckets", SERIES_BUCKETS, "bucket_ns",
				   (double)span / SERIES_BUCKETS, "what",
				   "max live bytes of the stack in each bucket (JSON member live_series "
				   "of the stacks that held the most)");
	json_t *peak = json_pack("{s:o, s:o}", "bytes", jint(F->peak), "ns",
				 jint(F->peak && F->ctx->reader && F->peak_ts > F->ctx->span_first
					      ? F->peak_ts - F->ctx->span_first
					      : 0));
	/* json_object_set_new takes the value even when it fails */
	int bad = !peak || !series;
	bad |= json_object_set_new(doc, "series", series) < 0;
	bad |= json_object_set_new(doc, "metrics", metrics) < 0;
	bad |= json_object_set_new(doc, "frames", frames) < 0;
	bad |= json_object_set_new(doc, "other", other) < 0;
	bad |= json_object_set_new(doc, "totals", totals) < 0;
	bad |= json_object_set_new(doc, "peak", peak) < 0;
	metrics = frames = other = totals = NULL;
	if (bad)
		goto oom;
	json_object_set_new(sum, "stacks", jint(n));
	json_object_set_new(sum, "stacks_written", jint(n - nother));
	json_object_set_new(sum, "peak_bytes", jint(F->peak));
	json_object_set_new(sum, "excluded_tracer_allocs", jint(F->lost_tracer));
	json_decref(index);
	free(v);
	return 0;
oom:
	if (t)
		mpa_table_close(t);
	mpa_errf(err, errlen, "out of memory");
	goto cleanup;
fail:
	if (t)
		mpa_table_close(t);
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
cleanup:
	json_decref(frames);
	json_decref(index);
	json_decref(metrics);
	json_decref(other);
	json_decref(totals);
	free(v);
	return -1;
}

static void flame_release(void *state)
{
	struct flame *F = state;
	if (!F)
		return;
	for (size_t i = 0; i < F->cap; i++)
		free(F->tab[i].ser);
	free(F->tab);
	free(F->last_ptr);
	free(F);
}

const struct mpa_analyzer mpa_analyzer_flame = {
	.name = "flame",
	.summary = "per allocation stack: bytes leaked, live at the peak, allocated; calls; "
		   "temporaries (the report's flamegraph, the exports, mpa-diff)",
	.kinds = MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_REALLOC) |
		 MPT_KINDBIT(MPA_KIND_FREE),
	.options = flame_options,
	.begin = flame_begin,
	.on_row = flame_on_row,
	.on_image_end = flame_on_image_end,
	.end = flame_end,
	.emit = flame_emit,
	.release = flame_release,
};
