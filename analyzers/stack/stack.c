/* The stack analyzer: per thread stack use from thread_start (the stack's
 * range) and stack_sample rows (bytes in use, frames, call chain), the
 * overflow risk against [stack] thresholds, the deepest call chains,
 * recursion and the functions that add most depth, depth over time.
 * Metrics: doc/analyzers-stack.md.  Memory: one record per thread and per
 * distinct sampled chain. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

static const struct mpa_option stack_options[] = {
	{"stack", "stack_size", MPA_OPT_INT, "1048576",
	 "stack size assumed for a thread without a thread_start record (bytes)"},
	{"stack", "overflow_headroom", MPA_OPT_INT, "65536",
	 "a thread whose deepest sample leaves less than this much stack is at risk (bytes)"},
	{"stack", "top_chains", MPA_OPT_INT, "10", "deepest call chains reported (count)"},
	{"stack", "top_frames", MPA_OPT_INT, "20",
	 "functions adding most stack depth reported (count)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

static int stack_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct stack_state *S = calloc(1, sizeof *S);
	if (!S) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	S->ctx = ctx;
	int64_t size = ctx->config ? mpa_config_int(ctx->config, "stack", "stack_size") : 1048576;
	int64_t head = ctx->config ? mpa_config_int(ctx->config, "stack", "overflow_headroom") : 65536;
	int64_t top = ctx->config ? mpa_config_int(ctx->config, "stack", "top_chains") : 10;
	int64_t topf = ctx->config ? mpa_config_int(ctx->config, "stack", "top_frames") : 20;
	const char *bad = size <= 0 ? "[stack] stack_size must be a positive number of bytes"
			  : head < 0 ? "[stack] overflow_headroom must be 0 or more bytes"
			  : head >= size ? "[stack] overflow_headroom must be below [stack] stack_size"
			  : top < 1 || top > 1000 ? "[stack] top_chains must be between 1 and 1000"
			  : topf < 1 || topf > 1000 ? "[stack] top_frames must be between 1 and 1000"
			  : NULL;
	if (bad) {
		free(S);
		mpa_errf(err, errlen, "%s", bad);
		return -1;
	}
	S->default_size = (uint64_t)size;
	S->headroom = (uint64_t)head;
	S->top_chains = (uint32_t)top;
	S->top_frames = (uint32_t)topf;
	/* the buckets span the analyzed window (else the capture) */
	uint64_t a = ctx->ts_from ? ctx->ts_from : ctx->span_first;
	uint64_t b = ctx->ts_to ? ctx->ts_to : ctx->span_last;
	if (b < a)
		b = a;
	S->t0 = a;
	S->width = (b - a) / ST_BUCKETS + 1;
	*state = S;
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* The thread of a row, made on first sight; NULL when out of memory. */
static struct st_thread *thread_of(struct stack_state *S, const struct mpa_row *r)
{
	uint32_t img = r->img ? r->img->id : 0;
	int32_t tid = r->b->tid[r->i];
	uint64_t key = (uint64_t)img << 32 | (uint32_t)tid;
	uint32_t k = mpa_u64map_get(&S->thread_index, key);
	if (k != UINT32_MAX)
		return &S->threads[k];
	if (S->nthreads >= UINT32_MAX - 1)
		return NULL;
	if (S->nthreads == S->capthreads) {
		size_t nc = S->capthreads ? S->capthreads * 2 : 16;
		struct st_thread *n = realloc(S->threads, nc * sizeof *n);
		if (!n)
			return NULL;
		S->threads = n;
		S->capthreads = nc;
	}
	if (mpa_u64map_put(&S->thread_index, key, (uint32_t)S->nthreads) < 0)
		return NULL;
	struct st_thread *t = &S->threads[S->nthreads++];
	memset(t, 0, sizeof *t);
	t->img = img;
	t->pid = r->img ? r->img->pid : r->b->pid[r->i];
	t->tid = tid;
	t->start_ts = r->ts;
	return t;
}

static struct st_chain *chain_of(struct stack_state *S, uint32_t stack_id)
{
	uint32_t k = mpa_u64map_get(&S->chain_index, stack_id);
	if (k != UINT32_MAX)
		return &S->chains[k];
	if (S->nchains >= UINT32_MAX - 1)
		return NULL;
	if (S->nchains == S->capchains) {
		size_t nc = S->capchains ? S->capchains * 2 : 16;
		struct st_chain *n = realloc(S->chains, nc * sizeof *n);
		if (!n)
			return NULL;
		S->chains = n;
		S->capchains = nc;
	}
	if (mpa_u64map_put(&S->chain_index, stack_id, (uint32_t)S->nchains) < 0)
		return NULL;
	struct st_chain *c = &S->chains[S->nchains++];
	memset(c, 0, sizeof *c);
	c->stack_id = stack_id;
	c->rec_fn = UINT32_MAX;
	return c;
}

static unsigned bucket_of(const struct stack_state *S, uint64_t ts)
{
	uint64_t i = ts > S->t0 ? (ts - S->t0) / S->width : 0;
	return i < ST_BUCKETS ? (unsigned)i : ST_BUCKETS - 1;
}

static int on_sample(struct stack_state *S, const struct mpa_row *r, struct st_thread *t)
{
	const struct mpt_batch *b = r->b;
	uint64_t bytes = b->size[r->i];
	uint32_t frames = b->frame_depth[r->i], sid = b->stack_id[r->i];
	S->samples++;
	t->samples++;
	t->sum_bytes = sat_add(t->sum_bytes, bytes);
	if (t->samples == 1 || bytes > t->max_bytes) {
		t->max_bytes = bytes;
		t->max_ts = r->ts;
		t->max_stack = sid;
	}
	if (frames > t->max_frames)
		t->max_frames = frames;
	if (!t->bucket && !(t->bucket = calloc(ST_BUCKETS, sizeof *t->bucket)))
		return -1;
	unsigned k = bucket_of(S, r->ts);
	/* +1: a bucket holding a sample of 0 bytes differs from an empty one */
	if (bytes + 1 > t->bucket[k] && bytes != UINT64_MAX)
		t->bucket[k] = bytes + 1;
	S->bucket_samples[k]++;
	if (S->bucket_samples[k] == 1 || bytes > S->bucket_max[k]) {
		S->bucket_max[k] = bytes;
		S->bucket_tid[k] = t->tid;
		S->bucket_pid[k] = t->pid;
	}
	if (!sid) {
		S->samples_no_stack++;
		return 0;
	}
	struct st_chain *c = chain_of(S, sid);
	if (!c)
		return -1;
	c->samples++;
	if (c->samples == 1 || bytes > c->max_bytes) {
		c->max_bytes = bytes;
		c->frames_at_max = frames;
		c->pid = t->pid;
		c->tid = t->tid;
	}
	if (frames > c->max_frames)
		c->max_frames = frames;
	return 0;
}

static int stack_on_row(void *state, const struct mpa_row *r)
{
	struct stack_state *S = state;
	if (r->kind != MPA_KIND_THREAD_START && r->kind != MPA_KIND_THREAD_EXIT &&
	    r->kind != MPA_KIND_STACK_SAMPLE)
		return 0;
	if (r->kind == MPA_KIND_STACK_SAMPLE && r->b->stack_id[r->i] &&
	    mpa_site_is_tracer(S->ctx, r->b->stack_id[r->i])) {
		/* the tracer's own allocation (its threads', its start-up's):
		 * not the program's stack use */
		S->tracer_samples++;
		return 0;
	}
	struct st_thread *t = thread_of(S, r);
	if (!t)
		return -1;
	switch (r->kind) {
	case MPA_KIND_THREAD_START:
		S->thread_starts++;
		t->base = r->b->ptr[r->i];
		t->size = r->b->size[r->i];
		t->start_ts = r->ts;
		return 0;
	case MPA_KIND_THREAD_EXIT:
		S->thread_exits++;
		t->exited = 1;
		return 0;
	default:
		return on_sample(S, r, t);
	}
}

uint64_t mpa_stack_size_of(const struct stack_state *S, const struct st_thread *t)
{
	return t->size ? t->size : S->default_size;
}

enum st_risk mpa_stack_risk(const struct stack_state *S, const struct st_thread *t)
{
	uint64_t size = mpa_stack_size_of(S, t);
	if (t->max_bytes >= size)
		return ST_RISK_OVERFLOW;
	return size - t->max_bytes < S->headroom ? ST_RISK_LOW_HEADROOM : ST_RISK_OK;
}

/* ---- chains: recursion and the functions that add depth ---------------------------------- */

static uint64_t fn_hash(const char *name, const char *bin)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
	h = (h ^ 0xff) * UINT64_C(1099511628211);
	for (const char *p = bin; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
	return h;
}

static int fn_index(struct stack_state *S, const char *name, const char *bin, uint32_t *out)
{
	uint64_t h = fn_hash(name, bin);
	uint32_t k = mpa_u64map_get(&S->fn_index, h);
	if (k != UINT32_MAX && !strcmp(S->fns[k].name, name) && !strcmp(S->fns[k].binary, bin)) {
		*out = k;
		return 0;
	}
	if (k != UINT32_MAX) {
		/* two names with one hash: the slow way, exact */
		for (size_t i = 0; i < S->nfns; i++) {
			if (!strcmp(S->fns[i].name, name) && !strcmp(S->fns[i].binary, bin)) {
				*out = (uint32_t)i;
				return 0;
			}
		}
	}
	if (S->nfns == S->capfns) {
		size_t nc = S->capfns ? S->capfns * 2 : 32;
		struct st_fn *n = realloc(S->fns, nc * sizeof *n);
		if (!n)
			return -1;
		S->fns = n;
		S->capfns = nc;
	}
	struct st_fn *f = &S->fns[S->nfns];
	memset(f, 0, sizeof *f);
	f->name = strdup(name);
	f->binary = strdup(bin);
	if (!f->name || !f->binary) {
		free(f->name);
		free(f->binary);
		return -1;
	}
	if (k == UINT32_MAX && mpa_u64map_put(&S->fn_index, h, (uint32_t)S->nfns) < 0) {
		free(f->name);
		free(f->binary);
		return -1;
	}
	*out = (uint32_t)S->nfns++;
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Symbolizes one chain and adds its functions. */
static int analyze_chain(struct stack_state *S, uint32_t ci)
{
	struct st_chain *c = &S->chains[ci];
	c->frames = mpa_site_stack_json(S->ctx, c->stack_id);
	if (!c->frames)
		return -1;
	size_t n = json_array_size(c->frames);
	if (!n)
		return 0;
	uint32_t *ids = malloc(n * sizeof *ids), *cnt = calloc(n, sizeof *cnt);
	if (!ids || !cnt) {
		free(ids);
		free(cnt);
		return -1;
	}
	size_t nd = 0; /* distinct functions of this chain: ids[0..nd) with cnt */
	for (size_t i = 0; i < n; i++) {
		json_t *fr = json_array_get(c->frames, i);
		const char *name = jstr(fr, "function");
		uint32_t id;
		if (fn_index(S, *name ? name : jstr(fr, "ip"), jstr(fr, "binary"), &id) < 0) {
			free(ids);
			free(cnt);
			return -1;
		}
		size_t j;
		for (j = 0; j < nd && ids[j] != id; j++)
			;
		if (j == nd)
			ids[nd++] = id;
		cnt[j]++;
	}
	/* bytes per frame of the chain's deepest sample */
	double per_frame = c->frames_at_max ? (double)c->max_bytes / c->frames_at_max : 0;
	for (size_t j = 0; j < nd; j++) {
		struct st_fn *f = &S->fns[ids[j]];
		f->chains++;
		f->samples = sat_add(f->samples, c->samples);
		if (cnt[j] > f->max_repeats)
			f->max_repeats = cnt[j];
		double e = per_frame * cnt[j] + 0.5;
		uint64_t est = e < 18446744073709549568.0 ? (uint64_t)e : UINT64_MAX;
		if (f->chains == 1 || est > f->est_bytes ||
		    (est == f->est_bytes && c->stack_id < S->chains[f->est_chain].stack_id)) {
			f->est_bytes = est;
			f->est_chain = ci;
		}
		/* the most repeated function; ties: the innermost (first seen) */
		if (cnt[j] >= 2 && cnt[j] > c->rec_count) {
			c->rec_count = cnt[j];
			c->rec_fn = ids[j];
		}
	}
	free(ids);
	free(cnt);
	return 0;
}

static int stack_end(void *state, char *err, size_t errlen)
{
	struct stack_state *S = state;
	for (size_t i = 0; i < S->nchains; i++) {
		if (analyze_chain(S, (uint32_t)i) < 0) {
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static void stack_headline(void *state, char *line, size_t len)
{
	struct stack_state *S = state;
	if (!S->samples) {
		snprintf(line, len, "no stack samples in this capture");
		return;
	}
	uint64_t deepest = 0, risk = 0;
	for (size_t i = 0; i < S->nthreads; i++) {
		const struct st_thread *t = &S->threads[i];
		if (!t->samples)
			continue;
		if (t->max_bytes > deepest)
			deepest = t->max_bytes;
		risk += mpa_stack_risk(S, t) != ST_RISK_OK;
	}
	size_t rec = 0;
	for (size_t i = 0; i < S->nchains; i++)
		rec += S->chains[i].rec_count >= 2;
	snprintf(line, len,
		 "%" PRIu64 " samples; deepest stack %" PRIu64 " bytes; %" PRIu64
		 " thread%s at risk; %zu recursive chain%s",
		 S->samples, deepest, risk, risk == 1 ? "" : "s", rec, rec == 1 ? "" : "s");
}

static void stack_release(void *state)
{
	struct stack_state *S = state;
	if (!S)
		return;
	for (size_t i = 0; i < S->nthreads; i++)
		free(S->threads[i].bucket);
	for (size_t i = 0; i < S->nchains; i++)
		json_decref(S->chains[i].frames);
	for (size_t i = 0; i < S->nfns; i++) {
		free(S->fns[i].name);
		free(S->fns[i].binary);
	}
	free(S->threads);
	free(S->chains);
	free(S->fns);
	mpa_u64map_release(&S->thread_index);
	mpa_u64map_release(&S->chain_index);
	mpa_u64map_release(&S->fn_index);
	free(S);
}

const struct mpa_analyzer mpa_analyzer_stack = {
	.name = "stack",
	.summary = "per thread stack depth, headroom and overflow risk; deepest chains, recursion",
	.kinds = MPT_KINDBIT(MPA_KIND_THREAD_START) | MPT_KINDBIT(MPA_KIND_THREAD_EXIT) |
		 MPT_KINDBIT(MPA_KIND_STACK_SAMPLE),
	.columns = MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_PTR) |
		   MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_FRAME_DEPTH) |
		   MPT_COLBIT(MPT_COL_STACK_ID),
	.options = stack_options,
	.begin = stack_begin,
	.on_row = stack_on_row,
	.end = stack_end,
	.emit = mpa_stack_emit,
	.release = stack_release,
	.headline = stack_headline,
};
