/* The NUMA analyzer: tables, JSON, plots, advice, alert and summary. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numa.h"

#define ONE_NODE_REASON "1 NUMA node: no placement to analyze"
#define NO_TOPOLOGY_REASON                                                                  \
	"no topology in this capture: the node of each cpu is unknown (record with "          \
	"mpa-record, or convert with mpa-convert --topology FILE)"

static uint64_t rel(const struct numa_state *N, uint64_t ts)
{
	return ts > N->ctx->span_first ? ts - N->ctx->span_first : 0;
}

/* ---- nodes and time ----------------------------------------------------------------------------- */

static const struct mpa_col node_cols[] = {
	{"node", MPA_COL_U64, "id"},
	{"cpus", MPA_COL_U64, "count"},
	{"allocs", MPA_COL_U64, "count"},
	{"alloc_bytes", MPA_COL_U64, "bytes"},
	{"kernel_allocs", MPA_COL_U64, "count"},
	{"kernel_alloc_bytes", MPA_COL_U64, "bytes"},
	{"kernel_allocs_requested", MPA_COL_U64, "count"},
	{"alloc_share", MPA_COL_F64, "fraction"},
	{"live_end_bytes", MPA_COL_U64, "bytes"},
	{"kernel_live_end_bytes", MPA_COL_U64, "bytes"},
	{"peak_live_bytes", MPA_COL_U64, "bytes"},
	{"peak_ns", MPA_COL_U64, "ns"},
	{"placement_samples", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl nodes_table = {"nodes", "nodes", node_cols,
						  MPA_NCOLS(node_cols)};

static const struct mpa_col time_cols[] = {
	{"from_ns", MPA_COL_U64, "ns"},
	{"to_ns", MPA_COL_U64, "ns"},
	{"node", MPA_COL_U64, "id"},
	{"alloc_bytes", MPA_COL_U64, "bytes"},
	{"kernel_alloc_bytes", MPA_COL_U64, "bytes"},
	{"live_bytes", MPA_COL_U64, "bytes"},
};
static const struct mpa_table_decl time_table = {"over_time", "over_time", time_cols,
						 MPA_NCOLS(time_cols)};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t node_total(const struct nu_node *n)
{
	return sat_add(n->bytes, n->kbytes);
}

static int emit_nodes(struct numa_state *N, mpa_out *out, uint64_t total)
{
	mpa_table *t = mpa_table_begin(out, &nodes_table);
	if (!t)
		return -1;
	for (uint32_t i = 0; i < N->nnodes; i++) {
		const struct nu_node *n = &N->nodes[i];
		uint64_t cpus = 0;
		for (uint32_t c = 0; c < N->topo->ncpus; c++)
			cpus += N->topo->cpu_node[c] == (int32_t)i;
		mpa_table_u64(t, i);
		mpa_table_u64(t, cpus);
		mpa_table_u64(t, n->allocs);
		mpa_table_u64(t, n->bytes);
		mpa_table_u64(t, n->kallocs);
		mpa_table_u64(t, n->kbytes);
		mpa_table_u64(t, n->kallocs_requested);
		mpa_table_f64(t, total ? (double)node_total(n) / (double)total : 0);
		mpa_table_u64(t, n->live);
		mpa_table_u64(t, n->klive);
		mpa_table_u64(t, n->peak);
		mpa_table_u64(t, rel(N, n->peak_ts));
		mpa_table_u64(t, n->samples);
		if (mpa_table_end_row(t) < 0) {
			mpa_table_close(t);
			return -1;
		}
	}
	if (mpa_table_close(t) < 0)
		return -1;
	t = mpa_table_begin(out, &time_table);
	if (!t)
		return -1;
	for (unsigned k = 0; k < NU_BUCKETS; k++) {
		uint64_t a = N->t0 + (uint64_t)k * N->width;
		for (uint32_t i = 0; i < N->nnodes; i++) {
			const struct nu_bucket *b = &N->buckets[(size_t)k * N->nnodes + i];
			mpa_table_u64(t, rel(N, a));
			mpa_table_u64(t, rel(N, a + N->width));
			mpa_table_u64(t, i);
			mpa_table_u64(t, b->bytes);
			mpa_table_u64(t, b->kbytes);
			mpa_table_u64(t, b->live_end);
			if (mpa_table_end_row(t) < 0) {
				mpa_table_close(t);
				return -1;
			}
		}
	}
	if (mpa_table_close(t) < 0)
		return -1;
	mpa_plot *p = mpa_plot_open(out, "live", "Live bytes per NUMA node (user and kernel)",
				    "time (s)", "live bytes", MPA_PLOT_STEPS);
	if (!p)
		return -1;
	for (uint32_t i = 0; i < N->nnodes && i < 16; i++) {
		char lab[32];
		snprintf(lab, sizeof lab, "node %" PRIu32, i);
		if (mpa_plot_series(p, lab) < 0)
			goto fail;
		for (unsigned k = 0; k < NU_BUCKETS; k++) {
			double x = (double)rel(N, N->t0 + (uint64_t)(k + 1) * N->width) / 1e9;
			if (mpa_plot_point(p, x, (double)N->buckets[(size_t)k * N->nnodes + i].live_end) <
			    0)
				goto fail;
		}
	}
	return mpa_plot_close(p);
fail:
	mpa_plot_close(p);
	return -1;
}

/* ---- threads and sites ------------------------------------------------------------------------- */

static const struct mpa_col thread_cols[] = {
	{"pid", MPA_COL_I64, "id"},
	{"tid", MPA_COL_I64, "id"},
	{"image", MPA_COL_U64, "id"},
	{"allocs", MPA_COL_U64, "count"},
	{"alloc_bytes", MPA_COL_U64, "bytes"},
	{"cpu_node", MPA_COL_I64, "id"},
	{"cpu_nodes", MPA_COL_U64, "count"},
	{"samples", MPA_COL_U64, "count"},
	{"remote_samples", MPA_COL_U64, "count"},
	{"remote_ratio", MPA_COL_F64, "fraction"},
	{"sampled_bytes", MPA_COL_U64, "bytes"},
	{"remote_bytes", MPA_COL_U64, "bytes"},
	{"memory_node", MPA_COL_I64, "id"},
};
static const struct mpa_table_decl threads_table = {"threads", "threads", thread_cols,
						    MPA_NCOLS(thread_cols)};

static const struct mpa_col site_cols[] = {
	{"site", MPA_COL_STR, ""},
	{"stack_id", MPA_COL_U64, "id"},
	{"samples", MPA_COL_U64, "count"},
	{"remote_samples", MPA_COL_U64, "count"},
	{"remote_ratio", MPA_COL_F64, "fraction"},
	{"sampled_bytes", MPA_COL_U64, "bytes"},
	{"remote_bytes", MPA_COL_U64, "bytes"},
	{"memory_node", MPA_COL_I64, "id"},
};
static const struct mpa_table_decl sites_table = {"sites", "sites", site_cols,
						  MPA_NCOLS(site_cols)};

static const struct mpa_col advice_cols[] = {
	{"kind", MPA_COL_STR, ""},
	{"subject", MPA_COL_STR, ""},
	{"value", MPA_COL_F64, "fraction"},
	{"threshold", MPA_COL_F64, "fraction"},
	{"advice", MPA_COL_STR, ""},
};
static const struct mpa_table_decl advice_table = {"advice", "advice", advice_cols,
						   MPA_NCOLS(advice_cols)};

/* By remote samples, then remote ratio, samples, then identity. */
static int cmp_samples(const struct nu_samples *x, const struct nu_samples *y)
{
	if (x->remote != y->remote)
		return x->remote > y->remote ? -1 : 1;
	/* x->remote / x->samples vs y's, exactly */
	unsigned __int128 a = (unsigned __int128)x->remote * y->samples,
			  b = (unsigned __int128)y->remote * x->samples;
	if (a != b)
		return a > b ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return 0;
}

static int cmp_thread(const void *a, const void *b, void *u)
{
	(void)u;
	const struct nu_thread *x = a, *y = b;
	int c = cmp_samples(&x->s, &y->s);
	if (c)
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->img < y->img ? -1 : x->img > y->img;
}

static int cmp_site(const void *a, const void *b, void *u)
{
	(void)u;
	const struct nu_site *x = a, *y = b;
	int c = cmp_samples(&x->s, &y->s);
	if (c)
		return c;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

struct advice {
	mpa_table *t;
	uint64_t n;
	double worst;   /* highest remote ratio advised */
};

static int advise(struct numa_state *N, struct advice *A, const char *kind, const char *subject,
		  double value, const char *text)
{
	mpa_table_str(A->t, kind);
	mpa_table_str(A->t, subject);
	mpa_table_f64(A->t, value);
	mpa_table_f64(A->t, N->threshold);
	mpa_table_str(A->t, text);
	A->n++;
	if (strcmp(kind, "imbalance") != 0 && value > A->worst)
		A->worst = value;
	return mpa_table_end_row(A->t);
}

static int emit_threads(struct numa_state *N, mpa_out *out, struct advice *A, json_t *unsampled)
{
	uint32_t *ord = mpa_sorted_index(N->nthreads, N->threads, sizeof *N->threads, cmp_thread, NULL);
	if (!ord)
		return -1;
	mpa_table *t = mpa_table_begin(out, &threads_table);
	if (!t) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < N->nthreads; k++) {
		const struct nu_thread *th = &N->threads[ord[k]];
		int32_t cn = mpa_numa_argmax(th->cpu_node, N->nnodes);
		int32_t mn = mpa_numa_argmax(th->s.mem_node, N->nnodes);
		uint64_t used = 0;
		for (uint32_t n = 0; n < N->nnodes; n++)
			used += th->cpu_node[n] != 0;
		if (!th->s.samples) {
			json_t *o = json_pack("{s:i, s:i, s:I, s:I, s:I, s:i}", "pid", (int)th->pid,
					      "tid", (int)th->tid, "image", (json_int_t)th->img,
					      "allocs", (json_int_t)th->allocs, "alloc_bytes",
					      (json_int_t)th->bytes, "cpu_node", (int)cn);
			if (!o || json_array_append_new(unsampled, o) < 0)
				goto fail;
			continue;
		}
		double ratio = mpa_numa_remote_ratio(&th->s);
		mpa_table_i64(t, th->pid);
		mpa_table_i64(t, th->tid);
		mpa_table_u64(t, th->img);
		mpa_table_u64(t, th->allocs);
		mpa_table_u64(t, th->bytes);
		mpa_table_i64(t, cn);
		mpa_table_u64(t, used);
		mpa_table_u64(t, th->s.samples);
		mpa_table_u64(t, th->s.remote);
		mpa_table_f64(t, ratio);
		mpa_table_u64(t, th->s.bytes);
		mpa_table_u64(t, th->s.remote_bytes);
		mpa_table_i64(t, mn);
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0) {
		t = NULL;
		goto fail;
	}
	t = NULL;
	/* the plot: remote ratio of the (at most 20) first sampled threads */
	mpa_plot *p = NULL;
	unsigned shown = 0;
	for (size_t k = 0; k < N->nthreads && shown < 20; k++) {
		const struct nu_thread *th = &N->threads[ord[k]];
		if (!th->s.samples)
			continue;
		if (!p && (!(p = mpa_plot_open(out, "remote", "Remote share of sampled blocks, per thread",
					       "fraction of samples", "", MPA_PLOT_HBARS)) ||
			   mpa_plot_series(p, "remote / samples") < 0))
			goto plot_fail;
		char lab[96];
		snprintf(lab, sizeof lab, "pid %" PRId32 " tid %" PRId32 " (%" PRIu64 " samples)",
			 th->pid, th->tid, th->s.samples);
		if (mpa_plot_label(p, shown++, mpa_numa_remote_ratio(&th->s), lab) < 0)
			goto plot_fail;
	}
	if (p && mpa_plot_close(p) < 0)
		goto fail;
	for (size_t k = 0; k < N->nthreads; k++) {
		const struct nu_thread *th = &N->threads[ord[k]];
		double ratio = mpa_numa_remote_ratio(&th->s);
		if (ratio < N->threshold)
			continue;
		int32_t cn = mpa_numa_argmax(th->cpu_node, N->nnodes);
		int32_t mn = mpa_numa_argmax(th->s.mem_node, N->nnodes);
		char subj[64], text[512];
		snprintf(subj, sizeof subj, "pid %" PRId32 " tid %" PRId32, th->pid, th->tid);
		if (cn >= 0)
			snprintf(text, sizeof text,
				 "%.0f %% of the thread's %" PRIu64 " sampled blocks are on another node "
				 "than the cpu that allocated them (mostly node %" PRId32
				 ", cpus of node %" PRId32 "): run the thread on node %" PRId32
				 " (numactl --cpunodebind=%" PRId32 ") or bind its memory to node %" PRId32
				 " (numactl --membind=%" PRId32 ", set_mempolicy)",
				 100 * ratio, th->s.samples, mn, cn, mn, mn, cn, cn);
		else
			snprintf(text, sizeof text,
				 "%.0f %% of the thread's %" PRIu64 " sampled blocks are remote "
				 "(mostly on node %" PRId32 "): keep the thread and its memory on one "
				 "node (numactl --cpunodebind/--membind)",
				 100 * ratio, th->s.samples, mn);
		if (advise(N, A, "thread", subj, ratio, text) < 0)
			goto fail;
	}
	free(ord);
	return 0;
plot_fail:
	if (p)
		mpa_plot_close(p);
fail:
	if (t)
		mpa_table_close(t);
	free(ord);
	return -1;
}

static int emit_sites(struct numa_state *N, mpa_out *out, struct advice *A)
{
	uint32_t *ord = mpa_sorted_index(N->nsites, N->sites, sizeof *N->sites, cmp_site, NULL);
	if (!ord)
		return -1;
	mpa_table *t = mpa_table_begin(out, &sites_table);
	if (!t) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < N->nsites && k < N->top_sites; k++) {
		const struct nu_site *s = &N->sites[ord[k]];
		char site[512];
		mpa_site_name(N->ctx, s->stack_id, site, sizeof site);
		mpa_table_str(t, site);
		mpa_table_u64(t, s->stack_id);
		mpa_table_u64(t, s->s.samples);
		mpa_table_u64(t, s->s.remote);
		mpa_table_f64(t, mpa_numa_remote_ratio(&s->s));
		mpa_table_u64(t, s->s.bytes);
		mpa_table_u64(t, s->s.remote_bytes);
		mpa_table_i64(t, mpa_numa_argmax(s->s.mem_node, N->nnodes));
		if (mpa_table_end_row(t) < 0)
			goto fail;
	}
	if (mpa_table_close(t) < 0) {
		free(ord);
		return -1;
	}
	for (size_t k = 0; k < N->nsites && k < N->top_sites; k++) {
		const struct nu_site *s = &N->sites[ord[k]];
		double ratio = mpa_numa_remote_ratio(&s->s);
		if (ratio < N->threshold)
			continue;
		char site[512], text[900];
		mpa_site_name(N->ctx, s->stack_id, site, sizeof site);
		snprintf(text, sizeof text,
			 "%.0f %% of %" PRIu64 " sampled blocks from this site are remote from the "
			 "cpu that allocated them (mostly on node %" PRId32 "): allocate them on the "
			 "node of the thread that uses them (numa_alloc_onnode, mbind) or migrate "
			 "them (move_pages)",
			 100 * ratio, s->s.samples, mpa_numa_argmax(s->s.mem_node, N->nnodes));
		if (advise(N, A, "site", site, ratio, text) < 0) {
			free(ord);
			return -1;
		}
	}
	free(ord);
	return 0;
fail:
	mpa_table_close(t);
	free(ord);
	return -1;
}

/* ---- summary ------------------------------------------------------------------------------------ */

static void put_counts(struct numa_state *N, json_t *o)
{
	json_object_set_new(o, "placement_samples", json_integer((json_int_t)N->place_rows));
	json_object_set_new(o, "nodes_named_by_records",
			    json_integer((json_int_t)N->max_seen_node + 1));
}

static int emit_inactive(struct numa_state *N, mpa_out *out)
{
	json_t *tgt[2] = {mpa_out_json(out), mpa_out_summary(out)};
	for (int i = 0; i < 2; i++) {
		json_object_set_new(tgt[i], "numa_nodes",
				    N->topo ? json_integer((json_int_t)N->nnodes) : json_null());
		json_object_set_new(tgt[i], "reason",
				    json_string(N->topo ? ONE_NODE_REASON : NO_TOPOLOGY_REASON));
		json_object_set_new(tgt[i], "remote_ratio", json_null());
		json_object_set_new(tgt[i], "imbalance", json_null());
		put_counts(N, tgt[i]);
	}
	return 0;
}

int mpa_numa_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct numa_state *N = state;
	if (!N->active)
		return emit_inactive(N, out);
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	json_t *unsampled = json_array();
	struct advice A = {0};
	uint64_t total = 0, peak_total = 0, max_alloc = 0, max_peak = 0;
	int32_t max_node = 0;
	for (uint32_t i = 0; i < N->nnodes; i++) {
		uint64_t v = node_total(&N->nodes[i]);
		total = sat_add(total, v);
		peak_total = sat_add(peak_total, N->nodes[i].peak);
		if (v > max_alloc) {
			max_alloc = v;
			max_node = (int32_t)i;
		}
		if (N->nodes[i].peak > max_peak)
			max_peak = N->nodes[i].peak;
	}
	if (!unsampled || emit_nodes(N, out, total) < 0)
		goto fail;
	A.t = mpa_table_begin(out, &advice_table);
	if (!A.t || emit_threads(N, out, &A, unsampled) < 0 || emit_sites(N, out, &A) < 0)
		goto fail;
	/* imbalance: the biggest node's share of everything allocated */
	uint64_t used_nodes = 0;
	uint64_t *any = calloc(N->nnodes, sizeof *any);
	if (!any)
		goto fail;
	for (size_t k = 0; k < N->nthreads; k++)
		for (uint32_t n = 0; n < N->nnodes; n++)
			any[n] |= N->threads[k].cpu_node[n] != 0;
	for (uint32_t n = 0; n < N->nnodes; n++)
		used_nodes += any[n] != 0;
	free(any);
	double share = total ? (double)max_alloc / (double)total : 0;
	if (total && share >= N->threshold) {
		char subj[32], text[512];
		snprintf(subj, sizeof subj, "node %" PRId32, max_node);
		if (used_nodes > 1)
			snprintf(text, sizeof text,
				 "node %" PRId32 " holds %.0f %% of the allocated bytes while threads "
				 "allocate from cpus of %" PRIu64 " nodes: interleave the memory "
				 "(numactl --interleave=all) or have each thread allocate what it uses",
				 max_node, 100 * share, used_nodes);
		else
			snprintf(text, sizeof text,
				 "node %" PRId32 " holds %.0f %% of the allocated bytes and every "
				 "allocating thread runs on its cpus: if the program is bound by memory "
				 "bandwidth, spread threads and memory over the nodes (numactl "
				 "--interleave=all)",
				 max_node, 100 * share);
		if (advise(N, &A, "imbalance", subj, share, text) < 0)
			goto fail;
	}
	if (mpa_table_close(A.t) < 0) {
		A.t = NULL;
		goto fail;
	}
	A.t = NULL;
	if (A.worst > 0) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "up to %.0f %% of a thread's or site's sampled blocks are on a remote node "
			 "(threshold %.0f %%)",
			 100 * A.worst, 100 * N->threshold);
		struct mpa_alert al = {
			.name = "numa_remote_placement",
			.severity = MPA_SEV_WARNING,
			.value = A.worst,
			.threshold = N->threshold,
			.unit = "fraction",
			.message = msg,
			.advice = "see numa.json \"advice\": run threads where their memory is, or "
				  "place memory where its threads run",
		};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}

	struct nu_samples all = {0};
	for (size_t k = 0; k < N->nthreads; k++) {
		all.samples += N->threads[k].s.samples;
		all.remote += N->threads[k].s.remote;
		all.bytes = sat_add(all.bytes, N->threads[k].s.bytes);
		all.remote_bytes = sat_add(all.remote_bytes, N->threads[k].s.remote_bytes);
	}
	json_object_set_new(doc, "threads_without_samples", unsampled);
	unsampled = NULL;
	json_object_set_new(doc, "migration_threshold", json_real(N->threshold));
	json_t *tgt[2] = {doc, sum};
	for (int i = 0; i < 2; i++) {
		json_t *o = tgt[i];
		json_object_set_new(o, "numa_nodes", json_integer((json_int_t)N->nnodes));
		put_counts(N, o);
		json_object_set_new(o, "samples_with_nodes", json_integer((json_int_t)all.samples));
		json_object_set_new(o, "remote_samples", json_integer((json_int_t)all.remote));
		json_object_set_new(o, "remote_ratio",
				    all.samples ? json_real(mpa_numa_remote_ratio(&all)) : json_null());
		json_object_set_new(o, "remote_bytes_ratio",
				    all.bytes ? json_real((double)all.remote_bytes / (double)all.bytes)
					      : json_null());
		if (!all.samples)
			json_object_set_new(o, "remote_reason",
					    json_string("no numa_place samples with known nodes in "
							"this capture (the preload samples one allocation "
							"in MPA_NUMA_SAMPLE per thread)"));
		json_t *imb = total ? json_pack("{s:f, s:f, s:i, s:f}", "allocated",
						(double)max_alloc * N->nnodes / (double)total,
						"max_share", share, "node", (int)max_node,
						"peak_live", peak_total ? (double)max_peak * N->nnodes /
										  (double)peak_total
									: 0.0)
				    : json_null();
		json_object_set_new(o, "imbalance", imb ? imb : json_null());
		json_object_set_new(o, "advice_count", json_integer((json_int_t)A.n));
		json_object_set_new(o, "kernel_allocs_any_node", json_integer((json_int_t)N->kalloc_any));
		json_object_set_new(o, "allocs_unknown_node",
				    json_integer((json_int_t)N->unknown_node_allocs));
		json_object_set_new(o, "samples_bad_node", json_integer((json_int_t)N->place_bad_node));
		json_object_set_new(o, "samples_unknown_cpu",
				    json_integer((json_int_t)N->place_unknown_cpu));
		json_object_set_new(o, "samples_outside_blocks",
				    json_integer((json_int_t)N->place_no_block));
	}
	return 0;
fail:
	if (A.t)
		mpa_table_close(A.t);
	json_decref(unsampled);
	mpa_errf(err, errlen, "%s", mpa_out_error(out) ? mpa_out_error(out) : "out of memory");
	return -1;
}
