/* The cache analyzer: sampled hardware/software counters (cache_sample
 * records from perf samples or LTTng perf contexts), per counter, and the
 * sampled cache hit ratio with its alert.  Metrics: doc/analyzers.md,
 * "Cache analyzer".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/analyzer.h"

static const struct mpa_option cache_options[] = {
	{"alerts", "cache_hit_ratio_threshold", MPA_OPT_FLOAT, "0.9",
	 "alert when the sampled cache hit ratio is below this (fraction 0..1)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

struct ctr {
	uint64_t samples;   /* records */
	uint64_t events;    /* sum of periods (a record without a period counts 1) */
	uint64_t weighted;  /* records with a weight */
	uint64_t weight;    /* sum of weights (saturating) */
	uint64_t with_addr; /* records with a data address */
};

struct cache {
	const struct mpa_ctx *ctx; /* (weak) */
	double threshold;
	struct ctr c[MPA_CTR_COUNT_];
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static int cache_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct cache *C = calloc(1, sizeof *C);
	if (!C) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	C->ctx = ctx;
	C->threshold = ctx->config ? mpa_config_float(ctx->config, "alerts", "cache_hit_ratio_threshold")
				   : 0.9;
	if (!(C->threshold >= 0 && C->threshold <= 1)) {
		free(C);
		mpa_errf(err, errlen, "[alerts] cache_hit_ratio_threshold must be between 0 and 1");
		return -1;
	}
	*state = C;
	return 0;
}

static int cache_on_row(void *state, const struct mpa_row *r)
{
	struct cache *C = state;
	if (r->kind != MPA_KIND_CACHE_SAMPLE)
		return 0;
	const struct mpt_batch *b = r->b;
	unsigned k = b->counter[r->i];
	struct ctr *c = &C->c[k < MPA_CTR_COUNT_ ? k : MPA_CTR_UNKNOWN];
	c->samples++;
	c->events = sat_add(c->events, b->period[r->i] ? b->period[r->i] : 1);
	if (b->weight[r->i]) {
		c->weighted++;
		c->weight = sat_add(c->weight, b->weight[r->i]);
	}
	if (b->ptr[r->i])
		c->with_addr++;
	return 0;
}

static int cache_end(void *state, char *err, size_t errlen)
{
	(void)state, (void)err, (void)errlen;
	return 0;
}

/* hit ratio = 1 - misses / references, from the cache_ref and cache_miss
 * counters; -1 when there are no references. */
static double hit_ratio(const struct cache *C)
{
	uint64_t refs = C->c[MPA_CTR_CACHE_REF].events, miss = C->c[MPA_CTR_CACHE_MISS].events;
	if (!refs)
		return -1;
	double h = 1.0 - (double)miss / (double)refs;
	return h < 0 ? 0 : h;
}

static const struct mpa_col counter_cols[] = {
	{"counter", MPA_COL_STR, ""},
	{"samples", MPA_COL_U64, "count"},
	{"events", MPA_COL_U64, "count"},
	{"weighted_samples", MPA_COL_U64, "count"},
	{"mean_weight", MPA_COL_F64, "cycles"},
	{"samples_with_address", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl counters_table = {"counters", "counters", counter_cols,
						     MPA_NCOLS(counter_cols)};

static int cache_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct cache *C = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	mpa_table *t = mpa_table_begin(out, &counters_table);
	if (!t)
		goto fail;
	uint64_t total = 0;
	for (unsigned k = 0; k < MPA_CTR_COUNT_; k++) {
		const struct ctr *c = &C->c[k];
		if (!c->samples)
			continue;
		total += c->samples;
		double mw = c->weighted ? (double)c->weight / (double)c->weighted : 0;
		mpa_table_str(t, mpa_counter_name(k));
		mpa_table_u64(t, c->samples);
		mpa_table_u64(t, c->events);
		mpa_table_u64(t, c->weighted);
		mpa_table_f64(t, mw);
		mpa_table_u64(t, c->with_addr);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0)
		goto fail;
	t = NULL;
	double h = hit_ratio(C);
	if (h >= 0 && h < C->threshold) {
		char msg[256];
		snprintf(msg, sizeof msg, "sampled cache hit ratio %.3f is below the threshold %.3f", h,
			 C->threshold);
		struct mpa_alert al = {"cache_hit_ratio", MPA_SEV_WARNING, h, C->threshold, "fraction",
				       msg,
				       "the sampled misses point at the code that touches memory "
				       "far apart: look at the counters' samples with data addresses"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	json_t *ratio = h >= 0 ? json_pack("{s:I, s:I, s:f}", "references",
					   (json_int_t)C->c[MPA_CTR_CACHE_REF].events, "misses",
					   (json_int_t)C->c[MPA_CTR_CACHE_MISS].events, "hit_ratio", h)
			       : json_null();
	json_object_set_new(sum, "samples", json_integer((json_int_t)total));
	json_object_set_new(sum, "hit_ratio", ratio ? json_incref(ratio) : json_null());
	json_object_set_new(doc, "hit_ratio", ratio ? ratio : json_null());
	return 0;
fail:
	if (t)
		mpa_table_close(t);
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}

static void cache_headline(void *state, char *line, size_t len)
{
	struct cache *C = state;
	uint64_t total = 0;
	for (unsigned k = 0; k < MPA_CTR_COUNT_; k++)
		total += C->c[k].samples;
	double h = hit_ratio(C);
	if (!total)
		line[0] = 0;
	else if (h >= 0)
		snprintf(line, len, "%" PRIu64 " samples; sampled hit ratio %.3f", total, h);
	else
		snprintf(line, len, "%" PRIu64 " samples", total);
}

static void cache_release(void *state)
{
	free(state);
}

const struct mpa_analyzer mpa_analyzer_cache = {
	.name = "cache",
	.summary = "sampled hardware/software counters per counter, and the sampled cache hit ratio",
	.kinds = MPT_KINDBIT(MPA_KIND_CACHE_SAMPLE),
	.columns = MPT_COLBIT(MPT_COL_COUNTER) | MPT_COLBIT(MPT_COL_PERIOD) |
		   MPT_COLBIT(MPT_COL_WEIGHT) | MPT_COLBIT(MPT_COL_PTR),
	.options = cache_options,
	.begin = cache_begin,
	.on_row = cache_on_row,
	.end = cache_end,
	.emit = cache_emit,
	.release = cache_release,
	.headline = cache_headline,
};
