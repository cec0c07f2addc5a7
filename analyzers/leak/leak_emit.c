/* The leak analyzer: its tables, JSON, plots and summary. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_internal.h"

const char *const mpa_leak_class_name[] = {"not_freed_at_exit", "live_at_end", "map",
					   "pool_object", "pool", "kernel", "released_by_exec",
					   "definitely_lost", "indirectly_lost", "possibly_lost",
					   "still_reachable"};
const char *const mpa_leak_state_name[] = {"exit", "exec", "capture_end", "pool_destroy"};
const char *const mpa_leak_anomaly_name[] = {"double_free", "unknown_free", "unknown_realloc",
					     "realloc_of_freed", "alloc_of_live_pointer",
					     "pool_double_free", "pool_unknown_free"};

/* ---- emit ----------------------------------------------------------------------------------------- */

static const char *str(const struct leak *L, uint32_t id)
{
	const char *s = L->ctx->reader ? mpt_reader_string(L->ctx->reader, id, NULL) : NULL;
	return s ? s : "";
}

/* Times in outputs: ns since the capture's first event. */
static uint64_t rel(const struct leak *L, uint64_t ts)
{
	return ts > L->base ? ts - L->base : 0;
}

/* The stack as a user reads it: demangled, mpa's own frames left out. */
static json_t *stack_json(const struct leak *L, uint32_t stack)
{
	return mpa_site_stack_json(L->ctx, stack);
}

static const struct mpa_col group_cols[] = {
	{"class", MPA_COL_STR, ""},          {"state", MPA_COL_STR, ""},
	{"image", MPA_COL_STR, ""},          {"site", MPA_COL_STR, ""},
	{"stack_id", MPA_COL_U64, "id"},     {"pool", MPA_COL_STR, ""},
	{"blocks", MPA_COL_U64, "count"},    {"bytes", MPA_COL_U64, "bytes"},
	{"first_alloc_ns", MPA_COL_U64, "ns"}, {"last_alloc_ns", MPA_COL_U64, "ns"},
	{"max_age_ns", MPA_COL_U64, "ns"},   {"processes", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl sites_table = {"sites", "sites", group_cols,
						  MPA_NCOLS(group_cols)};
static const struct mpa_table_decl resources_table = {"resources", "resources", group_cols,
						      MPA_NCOLS(group_cols)};
static const struct mpa_table_decl kernel_table = {"kernel", "kernel", group_cols,
						   MPA_NCOLS(group_cols)};
static const struct mpa_table_decl exec_table = {"released_by_exec", "released_by_exec",
						 group_cols, MPA_NCOLS(group_cols)};

#define CBIT(c) (1u << (c))
#define HEAP_CLASSES                                                                          \
	(CBIT(G_DEF_LOST) | CBIT(G_IND_LOST) | CBIT(G_POS_LOST) | CBIT(G_REACHABLE) |          \
	 CBIT(G_UNFREED) | CBIT(G_LIVE_AT_END))

static int emit_groups(struct leak *L, mpa_out *out, unsigned classes,
		       const struct mpa_table_decl *decl)
{
	mpa_table *t = mpa_table_begin(out, decl);
	if (!t)
		return -1;
	for (uint64_t k = 0; k < L->nsorted; k++) {
		const struct group *g = L->sorted[k];
		if (!(classes & CBIT(g->cls)))
			continue;
		char site[512];
		if (g->cls == G_POOL) {
			snprintf(site, sizeof site, "pool %s", str(L, g->name));
		} else if (g->cls == G_KERNEL) {
			/* the call site, and the stack's site when there is one */
			uint64_t ip = g->name < L->nkips ? L->kips[g->name] : 0;
			char st[400];
			if (g->stack) {
				mpa_site_name(L->ctx, g->stack, st, sizeof st);
				snprintf(site, sizeof site, "%s [call_site 0x%" PRIx64 "]", st, ip);
			} else {
				snprintf(site, sizeof site, "0x%" PRIx64, ip);
			}
		} else {
			mpa_site_name(L->ctx, g->stack, site, sizeof site);
		}
		mpa_table_str(t, mpa_leak_class_name[g->cls]);
		mpa_table_str(t, mpa_leak_state_name[g->state]);
		mpa_table_str(t, str(L, g->image));
		mpa_table_str(t, site);
		mpa_table_u64(t, g->stack);
		mpa_table_str(t, g->cls == G_POOL_OBJECT || g->cls == G_POOL ? str(L, g->name) : "");
		mpa_table_u64(t, g->blocks);
		mpa_table_u64(t, g->bytes);
		mpa_table_u64(t, rel(L, g->first_ts));
		mpa_table_u64(t, rel(L, g->last_ts));
		mpa_table_u64(t, g->max_age);
		mpa_table_u64(t, g->procs);
		mpa_table_json(t, "stack", stack_json(L, g->stack));
		if (mpa_table_end_row(t) < 0)
			return -1;
	}
	return mpa_table_close(t);
}

static int cmp_top(const void *a, const void *b)
{
	const struct topblk *x = a, *y = b;
	/* largest first, then the usual deterministic order */
	if (mpa_leak_top_less(x, y))
		return 1;
	if (mpa_leak_top_less(y, x))
		return -1;
	return 0;
}

static int cmp_growth_idx(const void *a, const void *b, void *arg)
{
	const struct leak *L = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t bx = L->sites[L->growth[x]].end_bytes, by = L->sites[L->growth[y]].end_bytes;
	if (bx != by)
		return bx > by ? -1 : 1;
	return L->growth[x] < L->growth[y] ? -1 : L->growth[x] > L->growth[y];
}

static json_t *cls_json(const struct leak *L, int c)
{
	return json_pack("{s:I, s:I, s:I}", "blocks", (json_int_t)ji(L->cls_blocks[c]), "bytes",
			 (json_int_t)ji(L->cls_bytes[c]), "sites", (json_int_t)ji(L->cls_groups[c]));
}

/* "site #stack": the site's label (function and file:line, trimmed from
 * the left) and the stack id, which tells apart sites of the same name. */
static void plot_label(struct leak *L, mpa_plot *p, const struct group *g, uint32_t y)
{
	char site[4 * 44 + 1], lab[sizeof site + 16];
	mpa_site_label(L->ctx, g->stack, 44, site, sizeof site);
	snprintf(lab, sizeof lab, "%s #%" PRIu32, site, g->stack);
	mpa_plot_label(p, y, (double)g->bytes, lab);
}

int mpa_leak_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct leak *L = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	char site[512];

	/* sites: definite and live at end */
	if (emit_groups(L, out, HEAP_CLASSES, &sites_table) < 0 ||
	    emit_groups(L, out, CBIT(G_MAP) | CBIT(G_POOL_OBJECT) | CBIT(G_POOL), &resources_table) < 0 ||
	    emit_groups(L, out, CBIT(G_KERNEL), &kernel_table) < 0 ||
	    emit_groups(L, out, CBIT(G_EXEC), &exec_table) < 0)
		goto fail;

	/* largest blocks */
	{
		static const struct mpa_col cols[] = {
			{"class", MPA_COL_STR, ""},    {"state", MPA_COL_STR, ""},
			{"pid", MPA_COL_I64, "pid"},   {"image", MPA_COL_STR, ""},
			{"ptr", MPA_COL_STR, "address"}, {"size", MPA_COL_U64, "bytes"},
			{"alloc_ns", MPA_COL_U64, "ns"}, {"age_ns", MPA_COL_U64, "ns"},
			{"site", MPA_COL_STR, ""},     {"stack_id", MPA_COL_U64, "id"},
		};
		static const struct mpa_table_decl decl = {"blocks", "top_blocks", cols,
							   MPA_NCOLS(cols)};
		qsort(L->top, L->ntop, sizeof *L->top, cmp_top);
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!t)
			goto fail;
		for (uint32_t k = 0; k < L->ntop; k++) {
			const struct topblk *b = &L->top[k];
			char ptr[32];
			snprintf(ptr, sizeof ptr, "0x%" PRIx64, b->ptr);
			mpa_site_name(L->ctx, b->stack, site, sizeof site);
			mpa_table_str(t, mpa_leak_class_name[b->cls]);
			mpa_table_str(t, mpa_leak_state_name[b->state]);
			mpa_table_i64(t, b->pid);
			mpa_table_str(t, str(L, b->image));
			mpa_table_str(t, ptr);
			mpa_table_u64(t, b->size);
			mpa_table_u64(t, rel(L, b->ts));
			mpa_table_u64(t, b->age);
			mpa_table_str(t, site);
			mpa_table_u64(t, b->stack);
			if (mpa_table_end_row(t) < 0)
				goto fail;
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* growth suspects */
	{
		static const struct mpa_col cols[] = {
			{"site", MPA_COL_STR, ""},
			{"stack_id", MPA_COL_U64, "id"},
			{"live_bytes", MPA_COL_U64, "bytes"},
			{"live_blocks", MPA_COL_U64, "count"},
			{"oldest_age_ns", MPA_COL_U64, "ns"},
			{"growth_bytes_per_s", MPA_COL_F64, "bytes/s"},
			{"monotonic_fraction", MPA_COL_F64, "fraction"},
			{"allocs", MPA_COL_U64, "count"},
			{"alloc_bytes", MPA_COL_U64, "bytes"},
		};
		static const struct mpa_table_decl decl = {"growth", "growth", cols, MPA_NCOLS(cols)};
		uint32_t *idx = malloc((L->ngrowth ? L->ngrowth : 1) * sizeof *idx);
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!idx || !t) {
			free(idx);
			goto fail;
		}
		for (uint32_t k = 0; k < L->ngrowth; k++)
			idx[k] = k;
		qsort_r(idx, L->ngrowth, sizeof *idx, cmp_growth_idx, L);
		for (uint32_t k = 0; k < L->ngrowth; k++) {
			uint32_t s = L->growth[idx[k]];
			const struct site *st = &L->sites[s];
			mpa_site_name(L->ctx, s, site, sizeof site);
			uint64_t age = L->t1 - st->oldest_end;
			mpa_table_str(t, site);
			mpa_table_u64(t, s);
			mpa_table_u64(t, st->end_bytes);
			mpa_table_u64(t, st->end_blocks);
			mpa_table_u64(t, age);
			mpa_table_f64(t, L->growth_rate[idx[k]]);
			mpa_table_f64(t, L->growth_mono[idx[k]]);
			mpa_table_u64(t, st->allocs);
			mpa_table_u64(t, st->alloc_bytes);
			json_t *w = json_array();
			for (uint32_t i = 0; w && i < L->nwin; i++)
				json_array_append_new(w, json_integer((json_int_t)ji(st->win[i])));
			mpa_table_json(t, "window_live_bytes", w);
			mpa_table_json(t, "stack", stack_json(L, s));
			if (mpa_table_end_row(t) < 0) {
				free(idx);
				goto fail;
			}
		}
		free(idx);
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* suppressions */
	{
		static const struct mpa_col cols[] = {
			{"pattern", MPA_COL_STR, ""}, {"scope", MPA_COL_STR, ""},
			{"source", MPA_COL_STR, ""},  {"reason", MPA_COL_STR, ""},
			{"blocks", MPA_COL_U64, "count"}, {"bytes", MPA_COL_U64, "bytes"},
		};
		static const struct mpa_table_decl decl = {"suppressions", "suppressions", cols,
							   MPA_NCOLS(cols)};
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!t)
			goto fail;
		for (size_t k = 0; k < L->nsupps; k++) {
			const struct supp *s = &L->supps[k];
			const char *scope = s->site_only == 3   ? "all-frames"
					    : s->site_only	 ? "site"
								 : "stack";
			mpa_table_str(t, s->pattern);
			mpa_table_str(t, scope);
			mpa_table_str(t, s->source);
			mpa_table_str(t, s->reason);
			mpa_table_u64(t, s->blocks);
			mpa_table_u64(t, s->bytes);
			if (mpa_table_end_row(t) < 0)
				goto fail;
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* anomalies */
	json_t *an_sum = json_object();
	{
		static const char *const h[] = {"type", "pid", "ts_ns", "ptr", "site", "stack_id"};
		mpa_table *t = mpa_table_open(out, "anomalies", 6, h);
		json_t *obj = json_object();
		if (!t || !obj || !an_sum)
			goto fail;
		json_object_set_new(doc, "anomalies", obj);
		for (int a = 0; a < A_NANOM; a++) {
			json_t *ex = json_array();
			for (uint32_t k = 0; k < L->nex[a]; k++) {
				const struct example *e = &L->ex[a][k];
				char ptr[32];
				snprintf(ptr, sizeof ptr, "0x%" PRIx64, e->ptr);
				mpa_site_name(L->ctx, e->stack, site, sizeof site);
				mpa_table_str(t, mpa_leak_anomaly_name[a]);
				mpa_table_i64(t, e->pid);
				mpa_table_u64(t, rel(L, e->ts));
				mpa_table_str(t, ptr);
				mpa_table_str(t, site);
				mpa_table_u64(t, e->stack);
				if (mpa_table_end_row(t) < 0)
					goto fail;
				json_array_append_new(ex, json_pack("{s:i, s:I, s:s, s:s, s:I}", "pid",
								    (int)e->pid, "ts_ns",
								    (json_int_t)ji(rel(L, e->ts)), "ptr", ptr,
								    "site", site, "stack_id",
								    (json_int_t)ji(e->stack)));
			}
			json_object_set_new(obj, mpa_leak_anomaly_name[a],
					    json_pack("{s:I, s:o}", "count", (json_int_t)ji(L->anom[a]),
						      "examples", ex));
			json_object_set_new(an_sum, mpa_leak_anomaly_name[a], json_integer((json_int_t)ji(L->anom[a])));
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* the top-sites plot: definite and live-at-end sites by bytes */
	{
		mpa_plot *p = mpa_plot_open(out, "top_sites", "Unfreed bytes by allocation site",
					    "bytes", "", MPA_PLOT_HBARS);
		if (!p)
			goto fail;
		/* one series per heap class, in the sites table's order */
		uint32_t shown = 0;
		uint8_t cur = G_NCLASS;
		for (uint64_t k = 0; k < L->nsorted && shown < L->top_sites; k++) {
			const struct group *g = L->sorted[k];
			if (!(HEAP_CLASSES & CBIT(g->cls)))
				continue;
			if (g->cls != cur) {
				cur = g->cls;
				mpa_plot_series(p, mpa_leak_class_name[cur]);
			}
			plot_label(L, p, g, shown++);
		}
		if (mpa_plot_close(p) < 0)
			goto fail;
	}

	/* the summary, also the head of leak.json */
	if (L->cls_bytes[G_DEF_LOST] || L->cls_bytes[G_POS_LOST] || L->cls_bytes[G_IND_LOST]) {
		char msg[320];
		snprintf(msg, sizeof msg, "%" PRIu64 " bytes in %" PRIu64 " blocks definitely lost, %" PRIu64
			 " bytes in %" PRIu64 " indirectly lost, %" PRIu64 " bytes in %" PRIu64
			 " possibly lost (the exit-time reachability scan found no pointer, or only "
			 "interior pointers, to them)",
			 L->cls_bytes[G_DEF_LOST], L->cls_blocks[G_DEF_LOST], L->cls_bytes[G_IND_LOST],
			 L->cls_blocks[G_IND_LOST], L->cls_bytes[G_POS_LOST], L->cls_blocks[G_POS_LOST]);
		struct mpa_alert al = {"definite_leak",
				       L->cls_bytes[G_DEF_LOST] ? MPA_SEV_ERROR : MPA_SEV_WARNING,
				       (double)L->cls_bytes[G_DEF_LOST], NAN, "bytes", msg,
				       "free these blocks, or keep a pointer to them; the sites table "
				       "lists them by kind with their stacks"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	if (L->cls_bytes[G_UNFREED]) {
		char msg[256];
		snprintf(msg, sizeof msg, "%" PRIu64 " bytes in %" PRIu64
			 " blocks not freed at exit (the process exited with them allocated)",
			 L->cls_bytes[G_UNFREED], L->cls_blocks[G_UNFREED]);
		struct mpa_alert al = {"not_freed_at_exit", MPA_SEV_WARNING,
				       (double)L->cls_bytes[G_UNFREED], NAN, "bytes", msg,
				       L->images_unscanned
					       ? "without a reachability scan their kind is unknown: "
						 "record with mpa-record (its exit scan tells leaks from "
						 "memory still reachable), or suppress a runtime-internal "
						 "site ([leak] suppressions)"
					       : "these blocks were allocated after the exit scan; the "
						 "sites table lists them with their stacks"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	if (L->ngrowth) {
		char msg[256];
		snprintf(msg, sizeof msg, "%" PRIu32 " allocation sites keep growing (%" PRIu64
			 " live bytes at the end)", L->ngrowth, L->growth_bytes);
		struct mpa_alert al = {"growth", MPA_SEV_WARNING, (double)L->growth_bytes, NAN,
				       "bytes", msg,
				       "a cache or list that is never trimmed looks like this: check "
				       "the growth table's sites for an eviction or a bound"};
		if (mpa_out_alert(out, &al) < 0)
			goto fail;
	}
	json_t *top = json_array();
	uint32_t shown = 0;
	for (uint64_t k = 0; top && k < L->nsorted && shown < 5; k++) {
		const struct group *g = L->sorted[k];
		if (g->cls != G_DEF_LOST && g->cls != G_UNFREED)
			continue;
		mpa_site_name(L->ctx, g->stack, site, sizeof site);
		json_array_append_new(top, json_pack("{s:s, s:s, s:I, s:I}", "site", site, "image",
						     str(L, g->image), "bytes", (json_int_t)ji(g->bytes),
						     "blocks", (json_int_t)ji(g->blocks)));
		shown++;
	}
	json_t *s = json_pack(
		"{s:o, s:o, s:{s:I, s:I}, s:{s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}},"
		" s:{s:I, s:I}, s:{s:I, s:I}, s:o, s:{s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:o, s:I}",
		"not_freed_at_exit", cls_json(L, G_UNFREED), "live_at_end", cls_json(L, G_LIVE_AT_END),
		"growth", "sites", (json_int_t)ji(L->ngrowth), "live_bytes", (json_int_t)ji(L->growth_bytes),
		"resource", "maps", "count", (json_int_t)ji(L->cls_blocks[G_MAP]), "bytes",
		(json_int_t)ji(L->cls_bytes[G_MAP]), "pool_objects", "count",
		(json_int_t)ji(L->cls_blocks[G_POOL_OBJECT]), "bytes",
		(json_int_t)ji(L->cls_bytes[G_POOL_OBJECT]), "pools", "count",
		(json_int_t)ji(L->cls_blocks[G_POOL]), "bytes", (json_int_t)ji(L->cls_bytes[G_POOL]),
		"suppressed", "blocks",
		(json_int_t)ji(L->supp_blocks), "bytes", (json_int_t)ji(L->supp_bytes), "tracer", "blocks",
		(json_int_t)ji(L->tracer_blocks), "bytes", (json_int_t)ji(L->tracer_bytes), "anomalies", an_sum,
		"processes", "seen", (json_int_t)ji(L->procs_seen), "exited",
		(json_int_t)ji(L->procs_exited), "exec", (json_int_t)ji(L->procs_exec), "events", "alloc",
		(json_int_t)ji(L->ev_alloc), "free", (json_int_t)ji(L->ev_free), "realloc",
		(json_int_t)ji(L->ev_realloc), "failed", (json_int_t)ji(L->ev_failed), "free_null",
		(json_int_t)ji(L->ev_free_null), "map", (json_int_t)ji(L->ev_map), "unmap",
		(json_int_t)ji(L->ev_unmap), "pool", (json_int_t)ji(L->ev_pool), "incomplete",
		L->ctx->incomplete, "top_lost_sites", top, "lost_events",
		(json_int_t)ji(L->ctx->lost_events));
	if (!s)
		goto fail;
	json_object_set_new(s, "kernel",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "blocks",
				      (json_int_t)ji(L->cls_blocks[G_KERNEL]), "bytes",
				      (json_int_t)ji(L->cls_bytes[G_KERNEL]), "sites",
				      (json_int_t)ji(L->cls_groups[G_KERNEL]), "kalloc",
				      (json_int_t)ji(L->ev_kalloc), "kfree", (json_int_t)ji(L->ev_kfree),
				      "kfree_unknown", (json_int_t)ji(L->kfree_unknown)));
	json_object_set_new(s, "released_by_exec",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "blocks",
				      (json_int_t)ji(L->cls_blocks[G_EXEC]), "bytes",
				      (json_int_t)ji(L->cls_bytes[G_EXEC]), "sites",
				      (json_int_t)ji(L->cls_groups[G_EXEC]), "maps",
				      (json_int_t)ji(L->exec_maps), "map_bytes",
				      (json_int_t)ji(L->exec_map_bytes), "pool_objects",
				      (json_int_t)ji(L->exec_pool_objects), "pool_object_bytes",
				      (json_int_t)ji(L->exec_pool_object_bytes), "pools",
				      (json_int_t)ji(L->exec_pools)));
	char kinds[96];
	mpa_leak_kinds_text(L->gate_kinds, kinds, sizeof kinds);
	uint64_t gate_bytes, gate_blocks;
	mpa_leak_gate_totals(L, &gate_bytes, &gate_blocks);
	/* valgrind's "in use at exit": every block an exited process held */
	uint64_t iu_bytes = 0, iu_blocks = 0;
	static const uint8_t at_exit[] = {G_DEF_LOST, G_IND_LOST, G_POS_LOST, G_REACHABLE, G_UNFREED};
	for (size_t k = 0; k < sizeof at_exit; k++) {
		iu_bytes = sat_add(iu_bytes, L->cls_bytes[at_exit[k]]);
		iu_blocks += L->cls_blocks[at_exit[k]];
	}
	json_object_set_new(s, "in_use_at_exit", json_pack("{s:I, s:I}", "blocks", (json_int_t)ji(iu_blocks),
							   "bytes", (json_int_t)ji(iu_bytes)));
	json_object_set_new(s, "definitely_lost", cls_json(L, G_DEF_LOST));
	json_object_set_new(s, "indirectly_lost", cls_json(L, G_IND_LOST));
	json_object_set_new(s, "possibly_lost", cls_json(L, G_POS_LOST));
	json_object_set_new(s, "still_reachable", cls_json(L, G_REACHABLE));
	json_object_set_new(s, "leak_kinds",
			    json_pack("{s:I, s:I, s:i, s:s, s:I, s:I}", "processes_scanned",
				      (json_int_t)ji(L->images_scanned), "processes_not_scanned",
				      (json_int_t)ji(L->images_unscanned), "scan_threads_running",
				      (int)L->scan_threads_max, "gate_kinds", kinds, "gate_bytes",
				      (json_int_t)ji(gate_bytes), "gate_blocks",
				      (json_int_t)ji(gate_blocks)));
	json_t *alerts = json_object_get(sum, "alerts");
	json_object_set_new(s, "alerts", alerts ? json_incref(alerts) : json_array());
	if (json_object_update(sum, s) < 0 || json_object_set(doc, "summary", s) < 0) {
		json_decref(s);
		goto fail;
	}
	json_decref(s);
	json_object_set_new(doc, "growth_params",
			    json_pack("{s:f, s:I, s:I, s:f, s:I, s:I}", "min_age_s",
				      L->growth_min_age_s, "min_bytes",
				      (json_int_t)ji(L->growth_min_bytes), "windows", (json_int_t)ji(L->nwin),
				      "min_monotonic", L->growth_min_monotonic, "span_from_ns",
				      (json_int_t)ji(rel(L, L->t0)), "span_to_ns",
				      (json_int_t)ji(rel(L, L->t1))));
	return 0;
fail:
	mpa_errf(err, errlen, "%s", mpa_out_error(out));
	return -1;
}

