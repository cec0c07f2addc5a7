/* The stack analyzer: tables, JSON, plots, alerts and summary. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

static const char *const risk_name[] = {"ok", "low_headroom", "overflow"};

#define NO_SAMPLES_REASON                                                                   \
	"no stack_sample records in this capture (the preload samples one allocation in "     \
	"MPA_STACK_SAMPLE per thread; 0 turns it off, and other tracers have no stack samples)"

static uint64_t rel(const struct stack_state *S, uint64_t ts)
{
	return ts > S->ctx->span_first ? ts - S->ctx->span_first : 0;
}

static int64_t headroom_of(const struct stack_state *S, const struct st_thread *t)
{
	uint64_t size = mpa_stack_size_of(S, t);
	if (t->max_bytes >= size) {
		uint64_t over = t->max_bytes - size;
		return over > INT64_MAX ? INT64_MIN : -(int64_t)over;
	}
	uint64_t h = size - t->max_bytes;
	return h > INT64_MAX ? INT64_MAX : (int64_t)h;
}

/* ---- threads --------------------------------------------------------------------------------- */

static int cmp_thread(const void *a, const void *b, void *u)
{
	const struct stack_state *S = u;
	const struct st_thread *x = a, *y = b;
	int64_t hx = headroom_of(S, x), hy = headroom_of(S, y);
	if (hx != hy)
		return hx < hy ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->img < y->img ? -1 : x->img > y->img;
}


static const struct mpa_col thread_cols[] = {
	{"pid", MPA_COL_I64, "id"},
	{"tid", MPA_COL_I64, "id"},
	{"image", MPA_COL_U64, "id"},
	{"stack_size", MPA_COL_U64, "bytes"},
	{"size_source", MPA_COL_STR, ""},
	{"samples", MPA_COL_U64, "count"},
	{"max_depth_bytes", MPA_COL_U64, "bytes"},
	{"max_depth_frames", MPA_COL_U64, "count"},
	{"mean_depth_bytes", MPA_COL_F64, "bytes"},
	{"headroom_bytes", MPA_COL_I64, "bytes"},
	{"used_fraction", MPA_COL_F64, "fraction"},
	{"risk", MPA_COL_STR, ""},
	{"max_at_ns", MPA_COL_U64, "ns"},
	{"deepest_site", MPA_COL_STR, ""},
};
static const struct mpa_table_decl threads_table = {"threads", "threads", thread_cols,
						    MPA_NCOLS(thread_cols)};

static int emit_threads(struct stack_state *S, mpa_out *out, const uint32_t *ord,
			json_t *unsampled)
{
	mpa_table *t = mpa_table_begin(out, &threads_table);
	if (!t)
		return -1;
	for (size_t k = 0; k < S->nthreads; k++) {
		const struct st_thread *th = &S->threads[ord[k]];
		if (!th->samples) {
			json_t *o = json_pack("{s:i, s:i, s:I, s:o}", "pid", (int)th->pid, "tid",
					      (int)th->tid, "image", (json_int_t)th->img, "stack_size",
					      th->size ? json_integer((json_int_t)th->size) : json_null());
			if (!o || json_array_append_new(unsampled, o) < 0)
				goto fail;
			continue;
		}
		uint64_t size = mpa_stack_size_of(S, th);
		char site[512];
		mpa_site_name(S->ctx, th->max_stack, site, sizeof site);
		mpa_table_i64(t, th->pid);
		mpa_table_i64(t, th->tid);
		mpa_table_u64(t, th->img);
		mpa_table_u64(t, size);
		mpa_table_str(t, th->size ? "thread_start" : "assumed");
		mpa_table_u64(t, th->samples);
		mpa_table_u64(t, th->max_bytes);
		mpa_table_u64(t, th->max_frames);
		mpa_table_f64(t, (double)th->sum_bytes / (double)th->samples);
		mpa_table_i64(t, headroom_of(S, th));
		mpa_table_f64(t, (double)th->max_bytes / (double)size);
		mpa_table_str(t, risk_name[mpa_stack_risk(S, th)]);
		mpa_table_u64(t, rel(S, th->max_ts));
		mpa_table_str(t, site);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	return mpa_table_close(t);
fail:
	mpa_table_close(t);
	return -1;
}

/* The 20 threads with least headroom: the share of their stack their
 * deepest sample used. */
static int plot_threads(struct stack_state *S, mpa_out *out, const uint32_t *ord)
{
	if (!S->samples)
		return 0;
	mpa_plot *p = mpa_plot_open(out, "threads", "Stack used by the deepest sample, per thread",
				    "fraction of the stack size", "", MPA_PLOT_HBARS);
	if (!p || mpa_plot_series(p, "deepest sample / stack size") < 0)
		goto fail;
	unsigned shown = 0;
	for (size_t k = 0; k < S->nthreads && shown < 20; k++) {
		const struct st_thread *th = &S->threads[ord[k]];
		if (!th->samples)
			continue;
		char lab[96];
		snprintf(lab, sizeof lab, "pid %" PRId32 " tid %" PRId32 " (%" PRIu64 " KiB%s)", th->pid,
			 th->tid, mpa_stack_size_of(S, th) >> 10, th->size ? "" : ", assumed");
		if (mpa_plot_label(p, shown++,
				   (double)th->max_bytes / (double)mpa_stack_size_of(S, th), lab) < 0)
			goto fail;
	}
	return mpa_plot_close(p);
fail:
	if (p)
		mpa_plot_close(p);
	return -1;
}

/* ---- chains ---------------------------------------------------------------------------------- */

static int cmp_chain(const void *a, const void *b, void *u)
{
	(void)u;
	const struct st_chain *x = a, *y = b;
	if (x->max_bytes != y->max_bytes)
		return x->max_bytes > y->max_bytes ? -1 : 1;
	if (x->max_frames != y->max_frames)
		return x->max_frames > y->max_frames ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static int cmp_recursion(const void *a, const void *b, void *u)
{
	const struct st_chain *x = a, *y = b;
	if (x->rec_count != y->rec_count)
		return x->rec_count > y->rec_count ? -1 : 1;
	return cmp_chain(a, b, u);
}

static const struct mpa_col chain_cols[] = {
	{"rank", MPA_COL_U64, "count"},
	{"stack_id", MPA_COL_U64, "id"},
	{"site", MPA_COL_STR, ""},
	{"samples", MPA_COL_U64, "count"},
	{"max_depth_bytes", MPA_COL_U64, "bytes"},
	{"frames_at_max", MPA_COL_U64, "count"},
	{"max_frames", MPA_COL_U64, "count"},
	{"pid", MPA_COL_I64, "id"},
	{"tid", MPA_COL_I64, "id"},
	{"max_repeats", MPA_COL_U64, "count"},
	{"most_repeated_function", MPA_COL_STR, ""},
};
static const struct mpa_table_decl chains_table = {"chains", "deepest_chains", chain_cols,
						   MPA_NCOLS(chain_cols)};

static const struct mpa_col rec_cols[] = {
	{"function", MPA_COL_STR, ""},
	{"binary", MPA_COL_STR, ""},
	{"repeats", MPA_COL_U64, "count"},
	{"stack_id", MPA_COL_U64, "id"},
	{"site", MPA_COL_STR, ""},
	{"samples", MPA_COL_U64, "count"},
	{"max_depth_bytes", MPA_COL_U64, "bytes"},
	{"frames_at_max", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl recursion_table = {"recursion", "recursion", rec_cols,
						      MPA_NCOLS(rec_cols)};

/* The most occurrences of one function in the chain (1 = none repeated;
 * 0 = the chain has no symbolized frame). */
static uint32_t max_repeats(const struct st_chain *c)
{
	if (c->rec_count >= 2)
		return c->rec_count;
	return c->frames && json_array_size(c->frames) ? 1 : 0;
}

static int emit_chains(struct stack_state *S, mpa_out *out)
{
	uint32_t *ord = mpa_sorted_index(S->nchains, S->chains, sizeof *S->chains, cmp_chain, S);
	if (!ord)
		return -1;
	mpa_table *t = mpa_table_begin(out, &chains_table);
	if (!t) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < S->nchains && k < S->top_chains; k++) {
		const struct st_chain *c = &S->chains[ord[k]];
		char site[512];
		mpa_site_name(S->ctx, c->stack_id, site, sizeof site);
		mpa_table_u64(t, k + 1);
		mpa_table_u64(t, c->stack_id);
		mpa_table_str(t, site);
		mpa_table_u64(t, c->samples);
		mpa_table_u64(t, c->max_bytes);
		mpa_table_u64(t, c->frames_at_max);
		mpa_table_u64(t, c->max_frames);
		mpa_table_i64(t, c->pid);
		mpa_table_i64(t, c->tid);
		mpa_table_u64(t, max_repeats(c));
		mpa_table_str(t, c->rec_count >= 2 ? S->fns[c->rec_fn].name : "");
		mpa_table_json(t, "stack", c->frames ? json_incref(c->frames) : json_array());
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0) {
		t = NULL;
		goto fail;
	}
	free(ord);
	ord = mpa_sorted_index(S->nchains, S->chains, sizeof *S->chains, cmp_recursion, S);
	if (!ord)
		return -1;
	t = mpa_table_begin(out, &recursion_table);
	if (!t)
		goto fail;
	for (size_t k = 0; k < S->nchains; k++) {
		const struct st_chain *c = &S->chains[ord[k]];
		if (c->rec_count < 2)
			break;
		const struct st_fn *f = &S->fns[c->rec_fn];
		char site[512];
		mpa_site_name(S->ctx, c->stack_id, site, sizeof site);
		mpa_table_str(t, f->name);
		mpa_table_str(t, f->binary);
		mpa_table_u64(t, c->rec_count);
		mpa_table_u64(t, c->stack_id);
		mpa_table_str(t, site);
		mpa_table_u64(t, c->samples);
		mpa_table_u64(t, c->max_bytes);
		mpa_table_u64(t, c->frames_at_max);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	free(ord);
	return mpa_table_close(t);
fail:
	if (t)
		mpa_table_close(t);
	free(ord);
	return -1;
}

/* ---- functions -------------------------------------------------------------------------------- */

static int cmp_fn(const void *a, const void *b, void *u)
{
	(void)u;
	const struct st_fn *x = a, *y = b;
	if (x->est_bytes != y->est_bytes)
		return x->est_bytes > y->est_bytes ? -1 : 1;
	if (x->max_repeats != y->max_repeats)
		return x->max_repeats > y->max_repeats ? -1 : 1;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->binary, y->binary);
}

static const struct mpa_col fn_cols[] = {
	{"function", MPA_COL_STR, ""},
	{"binary", MPA_COL_STR, ""},
	{"est_depth_bytes", MPA_COL_U64, "bytes"},
	{"max_repeats", MPA_COL_U64, "count"},
	{"chains", MPA_COL_U64, "count"},
	{"samples", MPA_COL_U64, "count"},
	{"example_stack_id", MPA_COL_U64, "id"},
};
static const struct mpa_table_decl fns_table = {"frames", "top_frames", fn_cols,
						MPA_NCOLS(fn_cols)};

static int emit_fns(struct stack_state *S, mpa_out *out)
{
	uint32_t *ord = mpa_sorted_index(S->nfns, S->fns, sizeof *S->fns, cmp_fn, S);
	if (!ord)
		return -1;
	mpa_table *t = mpa_table_begin(out, &fns_table);
	if (!t) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < S->nfns && k < S->top_frames; k++) {
		const struct st_fn *f = &S->fns[ord[k]];
		mpa_table_str(t, f->name);
		mpa_table_str(t, f->binary);
		mpa_table_u64(t, f->est_bytes);
		mpa_table_u64(t, f->max_repeats);
		mpa_table_u64(t, f->chains);
		mpa_table_u64(t, f->samples);
		mpa_table_u64(t, S->chains[f->est_chain].stack_id);
		if (mpa_table_end_row(t) < 0) {
			mpa_table_close(t);
			free(ord);
			return -1;
		}
	}
	free(ord);
	return mpa_table_close(t);
}

/* ---- depth over time --------------------------------------------------------------------------- */

static const struct mpa_col time_cols[] = {
	{"from_ns", MPA_COL_U64, "ns"},
	{"to_ns", MPA_COL_U64, "ns"},
	{"samples", MPA_COL_U64, "count"},
	{"max_depth_bytes", MPA_COL_U64, "bytes"},
	{"pid", MPA_COL_I64, "id"},
	{"tid", MPA_COL_I64, "id"},
};
static const struct mpa_table_decl time_table = {"depth_over_time", "depth_over_time", time_cols,
						 MPA_NCOLS(time_cols)};

/* Sampled threads first, deepest first. */
static int cmp_depth(const void *a, const void *b, void *u)
{
	(void)u;
	const struct st_thread *x = a, *y = b;
	if (!x->samples != !y->samples)
		return x->samples ? -1 : 1;
	if (x->max_bytes != y->max_bytes)
		return x->max_bytes > y->max_bytes ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->img < y->img ? -1 : x->img > y->img;
}

static int emit_time(struct stack_state *S, mpa_out *out)
{
	mpa_table *t = mpa_table_begin(out, &time_table);
	if (!t)
		return -1;
	for (unsigned k = 0; k < ST_BUCKETS; k++) {
		if (!S->bucket_samples[k])
			continue;
		uint64_t a = S->t0 + (uint64_t)k * S->width;
		mpa_table_u64(t, rel(S, a));
		mpa_table_u64(t, rel(S, a + S->width));
		mpa_table_u64(t, S->bucket_samples[k]);
		mpa_table_u64(t, S->bucket_max[k]);
		mpa_table_i64(t, S->bucket_pid[k]);
		mpa_table_i64(t, S->bucket_tid[k]);
		if (mpa_table_end_row(t) < 0) {
			mpa_table_close(t);
			return -1;
		}
	}
	if (mpa_table_close(t) < 0)
		return -1;
	if (!S->samples)
		return 0;
	/* the plot: the 8 deepest threads, one line each */
	uint32_t *deep = mpa_sorted_index(S->nthreads, S->threads, sizeof *S->threads, cmp_depth, S);
	if (!deep)
		return -1;
	size_t nd = 0;
	while (nd < S->nthreads && nd < 8 && S->threads[deep[nd]].samples)
		nd++;
	mpa_plot *p = mpa_plot_open(out, "depth", "Deepest stack sample per thread over time",
				    "time (s)", "stack in use (bytes)", MPA_PLOT_LINES);
	if (!p) {
		free(deep);
		return -1;
	}
	for (size_t j = 0; j < nd; j++) {
		const struct st_thread *th = &S->threads[deep[j]];
		char lab[64];
		snprintf(lab, sizeof lab, "pid %" PRId32 " tid %" PRId32, th->pid, th->tid);
		if (mpa_plot_series(p, lab) < 0)
			goto fail;
		for (unsigned k = 0; k < ST_BUCKETS; k++) {
			if (!th->bucket[k])
				continue;
			double x = (double)rel(S, S->t0 + (uint64_t)k * S->width + S->width / 2) / 1e9;
			if (mpa_plot_point(p, x, (double)(th->bucket[k] - 1)) < 0)
				goto fail;
		}
	}
	free(deep);
	return mpa_plot_close(p);
fail:
	free(deep);
	mpa_plot_close(p);
	return -1;
}

/* ---- alert and summary ------------------------------------------------------------------------- */

static int emit_alert(struct stack_state *S, mpa_out *out, const struct st_thread *worst)
{
	enum st_risk r = mpa_stack_risk(S, worst);
	if (r == ST_RISK_OK)
		return 0;
	uint64_t size = mpa_stack_size_of(S, worst);
	char msg[400];
	snprintf(msg, sizeof msg,
		 "thread %" PRId32 " of pid %" PRId32 " used %" PRIu64 " of its %" PRIu64
		 "-byte stack%s (headroom %" PRId64 " bytes, threshold %" PRIu64 ")",
		 worst->tid, worst->pid, worst->max_bytes, size,
		 worst->size ? "" : " (size assumed: no thread_start)", headroom_of(S, worst),
		 S->headroom);
	struct mpa_alert al = {
		.name = "stack_overflow_risk",
		.severity = r == ST_RISK_OVERFLOW ? MPA_SEV_ERROR : MPA_SEV_WARNING,
		.value = (double)headroom_of(S, worst),
		.threshold = (double)S->headroom,
		.unit = "bytes",
		.message = msg,
		.advice = "look at the deepest chains and the recursion table: bound the "
			  "recursion or move large locals to the heap, or give the thread a "
			  "larger stack (pthread_attr_setstacksize, ulimit -s)",
	};
	return mpa_out_alert(out, &al);
}

int mpa_stack_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct stack_state *S = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	json_t *unsampled = json_array();
	uint32_t *ord = mpa_sorted_index(S->nthreads, S->threads, sizeof *S->threads, cmp_thread, S);
	if (!unsampled || !ord)
		goto fail;
	if (emit_threads(S, out, ord, unsampled) < 0 || plot_threads(S, out, ord) < 0 ||
	    emit_chains(S, out) < 0 ||
	    emit_fns(S, out) < 0 || emit_time(S, out) < 0)
		goto fail;

	const struct st_thread *worst = NULL, *deepest = NULL;
	uint64_t sampled = 0, at_risk = 0, overflow = 0, max_frames = 0;
	for (size_t k = 0; k < S->nthreads; k++) {
		const struct st_thread *th = &S->threads[ord[k]];
		if (!th->samples)
			continue;
		sampled++;
		if (!worst)
			worst = th; /* ord: least headroom first */
		enum st_risk r = mpa_stack_risk(S, th);
		at_risk += r != ST_RISK_OK;
		overflow += r == ST_RISK_OVERFLOW;
		if (!deepest || th->max_bytes > deepest->max_bytes)
			deepest = th;
		if (th->max_frames > max_frames)
			max_frames = th->max_frames;
	}
	size_t rec = 0;
	for (size_t i = 0; i < S->nchains; i++)
		rec += S->chains[i].rec_count >= 2;
	if (worst && emit_alert(S, out, worst) < 0)
		goto fail;

	json_t *th = json_pack("{s:I, s:I}", "stack_size", (json_int_t)S->default_size,
			       "overflow_headroom", (json_int_t)S->headroom);
	json_object_set_new(doc, "thresholds", th ? th : json_null());
	json_object_set_new(doc, "unsampled_threads", unsampled);
	unsampled = NULL;
	json_t *tgt[2] = {doc, sum};
	for (int i = 0; i < 2; i++) {
		json_t *o = tgt[i];
		json_object_set_new(o, "samples", json_integer((json_int_t)S->samples));
		json_object_set_new(o, "threads_seen", json_integer((json_int_t)S->nthreads));
		json_object_set_new(o, "threads_sampled", json_integer((json_int_t)sampled));
		json_object_set_new(o, "thread_starts", json_integer((json_int_t)S->thread_starts));
		json_object_set_new(o, "tracer_samples", json_integer((json_int_t)S->tracer_samples));
		if (!S->samples) {
			json_object_set_new(o, "max_depth_bytes", json_null());
			json_object_set_new(o, "max_depth_frames", json_null());
			json_object_set_new(o, "threads_at_risk", json_null());
			json_object_set_new(o, "recursive_chains", json_null());
			json_object_set_new(o, "reason", json_string(NO_SAMPLES_REASON));
			continue;
		}
		json_object_set_new(o, "max_depth_bytes", json_integer((json_int_t)deepest->max_bytes));
		json_object_set_new(o, "max_depth_frames", json_integer((json_int_t)max_frames));
		json_object_set_new(o, "deepest_thread",
				    json_pack("{s:i, s:i}", "pid", (int)deepest->pid, "tid",
					      (int)deepest->tid));
		json_object_set_new(o, "threads_at_risk", json_integer((json_int_t)at_risk));
		json_object_set_new(o, "threads_overflowed", json_integer((json_int_t)overflow));
		json_object_set_new(o, "recursive_chains", json_integer((json_int_t)rec));
		json_object_set_new(o, "samples_without_stack",
				    json_integer((json_int_t)S->samples_no_stack));
	}
	free(ord);
	return 0;
fail:
	json_decref(unsampled);
	free(ord);
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}
