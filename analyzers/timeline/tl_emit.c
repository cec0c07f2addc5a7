/* timeline: its tables, JSON and plots (emit()). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_internal.h"

/* ---- emit ----------------------------------------------------------------- */

static const char *phase_name(int k)
{
	switch (k) {
	case MPA_TL_IDLE:
		return "idle";
	case MPA_TL_STEADY:
		return "steady";
	case MPA_TL_BURST:
		return "burst";
	default:
		return "spike";
	}
}

static json_t *jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* The one time base of every output: ns since the capture's first event
 * (raw timestamps when there is no capture, as in unit tests). */
static uint64_t base_ns(const struct mpa_tl_state *st)
{
	return st->ctx && st->ctx->reader ? st->ctx->span_first : 0;
}

static uint64_t out_ns(const struct mpa_tl_state *st, uint64_t ts)
{
	uint64_t b = base_ns(st);
	return ts > b ? ts - b : 0;
}

/* seconds since the capture's first event (plots, human fields) */
static double rel_s(const struct mpa_tl_state *st, uint64_t ts)
{
	return (double)out_ns(st, ts) / NS_PER_S;
}

static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

struct emitter {
	struct mpa_tl_state *st;
	mpa_out *out;
	char *errbuf;
	size_t errlen;
	int failed;
};

/* A declared table (typed columns with units): <name>.csv and, with a JSON
 * key, rows in timeline.json (tables whose content timeline.json already
 * holds in another shape keep a NULL key). */
static mpa_table *open_table(struct emitter *e, const struct mpa_table_decl *d)
{
	mpa_table *t = mpa_table_begin(e->out, d);
	if (!t) {
		const char *m = mpa_out_error(e->out);
		if (m && *m) {
			snprintf(e->errbuf, e->errlen, "%s", m);
			e->failed = 1;
		}
	}
	return t;
}

static void end_row(struct emitter *e, mpa_table *t)
{
	if (mpa_table_end_row(t) && !e->failed) {
		const char *m = mpa_out_error(e->out);
		snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a table");
		e->failed = 1;
	}
}

static void close_table(struct emitter *e, mpa_table *t)
{
	if (mpa_table_close(t) && !e->failed) {
		const char *m = mpa_out_error(e->out);
		snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a table");
		e->failed = 1;
	}
}

static const char *phase_of_bucket(const struct mpa_tl_state *st, uint64_t a, uint64_t *cursor)
{
	while (*cursor < st->nphases && st->phases[*cursor].last < a)
		(*cursor)++;
	return *cursor < st->nphases ? phase_name(st->phases[*cursor].kind) : "";
}

static void emit_timeline(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col timeline_cols[] = {
		{"bucket", MPA_COL_U64, "index"},
		{"t_start_ns", MPA_COL_U64, "ns"},
		{"t_end_ns", MPA_COL_U64, "ns"},
		{"t_start_s", MPA_COL_F64, "s"},
		{"live_bytes_max", MPA_COL_U64, "bytes"},
		{"live_bytes_end", MPA_COL_U64, "bytes"},
		{"live_blocks_max", MPA_COL_U64, "count"},
		{"live_blocks_end", MPA_COL_U64, "count"},
		{"allocs", MPA_COL_U64, "count"},
		{"frees", MPA_COL_U64, "count"},
		{"bytes_allocated", MPA_COL_U64, "bytes"},
		{"bytes_freed", MPA_COL_U64, "bytes"},
		{"allocs_per_s", MPA_COL_F64, "1/s"},
		{"frees_per_s", MPA_COL_F64, "1/s"},
		{"bytes_allocated_per_s", MPA_COL_F64, "bytes/s"},
		{"kernel_live_bytes_max", MPA_COL_U64, "bytes"},
		{"kernel_live_bytes_end", MPA_COL_U64, "bytes"},
		{"kernel_allocs", MPA_COL_U64, "count"},
		{"kernel_frees", MPA_COL_U64, "count"},
		{"mapped_bytes_max", MPA_COL_U64, "bytes"},
		{"mapped_bytes_end", MPA_COL_U64, "bytes"},
		{"phase", MPA_COL_STR, ""},
	};
	static const struct mpa_table_decl timeline_decl = {"timeline", "series", timeline_cols,
									MPA_NCOLS(timeline_cols)};
	mpa_table *t = open_table(e, &timeline_decl);
	if (!t)
		return;
	double w = (double)st->width / NS_PER_S;
	uint64_t cursor = 0;
	for (uint64_t a = 0; a < st->buckets && !e->failed; a++) {
		struct mpa_tl_bucket u = mpa_timeline_bucket(&st->user, a);
		struct mpa_tl_bucket k = mpa_timeline_bucket(&st->kernel, a);
		struct mpa_tl_bucket m = mpa_timeline_bucket(&st->mapped, a);
		uint64_t ts = st->t0 + a * st->width;
		mpa_table_u64(t, a);
		mpa_table_u64(t, out_ns(st, ts));
		mpa_table_u64(t, out_ns(st, ts + st->width));
		mpa_table_f64(t, rel_s(st, ts));
		mpa_table_u64(t, u.live_max);
		mpa_table_u64(t, u.live_end);
		mpa_table_u64(t, u.blocks_max);
		mpa_table_u64(t, u.blocks_end);
		mpa_table_u64(t, u.allocs);
		mpa_table_u64(t, u.frees);
		mpa_table_u64(t, u.bytes_alloc);
		mpa_table_u64(t, u.bytes_freed);
		mpa_table_f64(t, (double)u.allocs / w);
		mpa_table_f64(t, (double)u.frees / w);
		mpa_table_f64(t, (double)u.bytes_alloc / w);
		mpa_table_u64(t, k.live_max);
		mpa_table_u64(t, k.live_end);
		mpa_table_u64(t, k.allocs);
		mpa_table_u64(t, k.frees);
		mpa_table_u64(t, m.live_max);
		mpa_table_u64(t, m.live_end);
		mpa_table_str(t, phase_of_bucket(st, a, &cursor));
		end_row(e, t);
	}
	close_table(e, t);
}

static const char *end_name(int how)
{
	return how == MPA_TL_EXITED ? "exit" : how == MPA_TL_EXECED ? "exec" : "running";
}

static const char *image_name(const struct mpa_tl_state *st, uint32_t id)
{
	if (!id || !st->ctx || !st->ctx->reader)
		return "";
	return mpt_reader_string(st->ctx->reader, id, NULL);
}

static void emit_processes(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col processes_cols[] = {
		{"pid", MPA_COL_I64, "pid"},
		{"image_seq", MPA_COL_U64, "index"},
		{"image", MPA_COL_STR, ""},
		{"start_ns", MPA_COL_U64, "ns"},
		{"end_ns", MPA_COL_U64, "ns"},
		{"end", MPA_COL_STR, ""},
		{"allocs", MPA_COL_U64, "count"},
		{"frees", MPA_COL_U64, "count"},
		{"bytes_allocated", MPA_COL_U64, "bytes"},
		{"bytes_freed", MPA_COL_U64, "bytes"},
		{"peak_bytes", MPA_COL_U64, "bytes"},
		{"peak_blocks", MPA_COL_U64, "count"},
		{"peak_ns", MPA_COL_U64, "ns"},
		{"live_bytes_end", MPA_COL_U64, "bytes"},
		{"live_blocks_end", MPA_COL_U64, "count"},
		{"released_bytes", MPA_COL_U64, "bytes"},
		{"unknown_frees", MPA_COL_U64, "count"},
		{"temporary", MPA_COL_U64, "count"},
		{"short_lived", MPA_COL_U64, "count"},
		{"trend_bytes_per_s", MPA_COL_F64, "bytes/s"},
		{"mapped_peak_bytes", MPA_COL_U64, "bytes"},
	};
	static const struct mpa_table_decl processes_decl = {"processes", "processes", processes_cols,
									MPA_NCOLS(processes_cols)};
	mpa_table *t = open_table(e, &processes_decl);
	if (t) {
		for (uint32_t i = 0; i < st->nprocs && !e->failed; i++) {
			const struct mpa_tl_proc *p = &st->procs[i];
			mpa_table_i64(t, p->pid);
			mpa_table_u64(t, p->seq);
			mpa_table_str(t, image_name(st, p->image));
			mpa_table_u64(t, out_ns(st, p->start_ts));
			mpa_table_u64(t, out_ns(st, p->ended ? p->end_ts : st->now));
			mpa_table_str(t, end_name(p->ended));
			mpa_table_u64(t, p->s.allocs);
			mpa_table_u64(t, p->s.frees);
			mpa_table_u64(t, p->s.bytes_alloc);
			mpa_table_u64(t, p->s.bytes_freed);
			mpa_table_u64(t, p->s.peak);
			mpa_table_u64(t, p->s.peak_blocks);
			mpa_table_u64(t, out_ns(st, p->s.peak_ts));
			mpa_table_u64(t, p->s.live);
			mpa_table_u64(t, p->s.blocks);
			mpa_table_u64(t, p->s.released_bytes);
			mpa_table_u64(t, p->s.unknown_frees);
			mpa_table_u64(t, p->s.temporary);
			mpa_table_u64(t, p->s.short_lived);
			mpa_table_f64(t, p->s.slope);
			mpa_table_u64(t, p->maps.peak);
			end_row(e, t);
		}
		close_table(e, t);
	}
	static const struct mpa_col process_timeline_cols[] = {
		{"pid", MPA_COL_I64, "pid"},
		{"image_seq", MPA_COL_U64, "index"},
		{"bucket", MPA_COL_U64, "index"},
		{"t_start_ns", MPA_COL_U64, "ns"},
		{"live_bytes_max", MPA_COL_U64, "bytes"},
		{"live_bytes_end", MPA_COL_U64, "bytes"},
		{"live_blocks_max", MPA_COL_U64, "count"},
		{"allocs", MPA_COL_U64, "count"},
		{"frees", MPA_COL_U64, "count"},
	};
	static const struct mpa_table_decl process_timeline_decl = {"process_timeline", NULL, process_timeline_cols,
									MPA_NCOLS(process_timeline_cols)};
	t = open_table(e, &process_timeline_decl);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->nprocs && !e->failed; i++) {
		const struct mpa_tl_proc *p = &st->procs[i];
		for (uint32_t j = 0; j < p->s.n && !e->failed; j++) {
			const struct mpa_tl_bucket *k = &p->s.bk[j];
			mpa_table_i64(t, p->pid);
			mpa_table_u64(t, p->seq);
			mpa_table_u64(t, p->s.first + j);
			mpa_table_u64(t, out_ns(st, st->t0 + (p->s.first + j) * st->width));
			mpa_table_u64(t, k->live_max);
			mpa_table_u64(t, k->live_end);
			mpa_table_u64(t, k->blocks_max);
			mpa_table_u64(t, k->allocs);
			mpa_table_u64(t, k->frees);
			end_row(e, t);
		}
	}
	close_table(e, t);
}

static void pow2_bounds(unsigned k, uint64_t *lo, uint64_t *hi)
{
	if (k == 0) {
		*lo = *hi = 0;
		return;
	}
	*lo = UINT64_C(1) << (k - 1);
	*hi = k >= 64 ? UINT64_MAX : (UINT64_C(1) << k) - 1;
}

static void pow2_label(unsigned k, char *buf, size_t len)
{
	static const char *const u[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	if (k == 0) {
		snprintf(buf, len, "0");
		return;
	}
	unsigned e = k - 1;
	snprintf(buf, len, "%" PRIu64 "%s", UINT64_C(1) << (e % 10), u[e / 10]);
}

static void emit_sizes(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col sizes_cols[] = {
		{"bucket_min", MPA_COL_U64, "bytes"},
		{"bucket_max", MPA_COL_U64, "bytes"},
		{"label", MPA_COL_STR, ""},
		{"allocs", MPA_COL_U64, "count"},
		{"bytes", MPA_COL_U64, "bytes"},
		{"share_of_allocs", MPA_COL_F64, "fraction"},
	};
	static const struct mpa_table_decl sizes_decl = {"sizes", NULL, sizes_cols,
									MPA_NCOLS(sizes_cols)};
	mpa_table *t = open_table(e, &sizes_decl);
	if (t) {
		int lo = -1, hi = -1;
		for (unsigned k = 0; k < MPA_TL_POW2; k++)
			if (st->pow2_count[k]) {
				if (lo < 0)
					lo = (int)k;
				hi = (int)k;
			}
		for (int k = lo; k >= 0 && k <= hi && !e->failed; k++) {
			uint64_t a, b;
			char lab[32];
			pow2_bounds((unsigned)k, &a, &b);
			pow2_label((unsigned)k, lab, sizeof lab);
			mpa_table_u64(t, a);
			mpa_table_u64(t, b);
			mpa_table_str(t, lab);
			mpa_table_u64(t, st->pow2_count[k]);
			mpa_table_u64(t, st->pow2_bytes[k]);
			mpa_table_f64(t, st->size_total ? (double)st->pow2_count[k] / (double)st->size_total : 0);
			end_row(e, t);
		}
		close_table(e, t);
	}
	static const struct mpa_col top_sizes_cols[] = {
		{"rank", MPA_COL_U64, "index"},
		{"size", MPA_COL_U64, "bytes"},
		{"allocs", MPA_COL_U64, "count"},
		{"bytes", MPA_COL_U64, "bytes"},
		{"share_of_allocs", MPA_COL_F64, "fraction"},
	};
	static const struct mpa_table_decl top_sizes_decl = {"top_sizes", "top_sizes", top_sizes_cols,
									MPA_NCOLS(top_sizes_cols)};
	t = open_table(e, &top_sizes_decl);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->ntop_sizes && !e->failed; i++) {
		const struct mpa_tl_size *s = &st->top_sizes[i];
		mpa_table_u64(t, i + 1);
		mpa_table_u64(t, s->size);
		mpa_table_u64(t, s->count);
		mpa_table_u64(t, s->size * s->count);
		mpa_table_f64(t, st->size_total ? (double)s->count / (double)st->size_total : 0);
		end_row(e, t);
	}
	close_table(e, t);
}

/* Group orderings (ties: domain, then name, so outputs are deterministic). */
struct gsort {
	const struct mpa_tl_group *base;
	int key; /* 0 calls, 1 bytes, 2 peak, 3 temporary */
};

static uint64_t gkey(const struct mpa_tl_group *g, int key)
{
	switch (key) {
	case 0:
		return g->calls;
	case 1:
		return g->bytes;
	case 2:
		return g->peak_bytes;
	default:
		return g->temporary;
	}
}

static int cmp_group(const void *a, const void *b, void *arg)
{
	const struct gsort *gs = arg;
	const struct mpa_tl_group *x = &gs->base[*(const uint32_t *)a];
	const struct mpa_tl_group *y = &gs->base[*(const uint32_t *)b];
	uint64_t kx = gkey(x, gs->key), ky = gkey(y, gs->key);
	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->kernel != y->kernel)
		return x->kernel < y->kernel ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Indexes of the groups sorted by key (caller frees); NULL when none. */
static uint32_t *sorted_groups(const struct mpa_tl_state *st, int key)
{
	if (!st->ngroups)
		return NULL;
	uint32_t *idx = malloc(st->ngroups * sizeof *idx);
	if (!idx)
		return NULL;
	for (uint32_t i = 0; i < st->ngroups; i++)
		idx[i] = i;
	struct gsort gs = {st->groups, key};
	qsort_r(idx, st->ngroups, sizeof *idx, cmp_group, &gs);
	return idx;
}

static void emit_hotspots(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col hotspots_cols[] = {
		{"by", MPA_COL_STR, ""},
		{"rank", MPA_COL_U64, "index"},
		{"domain", MPA_COL_STR, ""},
		{"site", MPA_COL_STR, ""},
		{"allocs", MPA_COL_U64, "count"},
		{"bytes", MPA_COL_U64, "bytes"},
		{"frees", MPA_COL_U64, "count"},
		{"temporary", MPA_COL_U64, "count"},
		{"short_lived", MPA_COL_U64, "count"},
		{"bytes_at_peak", MPA_COL_U64, "bytes"},
		{"live_bytes_end", MPA_COL_U64, "bytes"},
		{"min_size", MPA_COL_U64, "bytes"},
		{"max_size", MPA_COL_U64, "bytes"},
		{"growing_reallocs", MPA_COL_U64, "count"},
	};
	static const struct mpa_table_decl hotspots_decl = {"hotspots", "hotspots", hotspots_cols,
									MPA_NCOLS(hotspots_cols)};
	mpa_table *t = open_table(e, &hotspots_decl);
	if (!t)
		return;
	for (int key = 0; key < 2 && !e->failed; key++) {
		uint32_t *idx = sorted_groups(st, key);
		if (!idx && st->ngroups) {
			snprintf(e->errbuf, e->errlen, "out of memory");
			e->failed = 1;
			break;
		}
		uint32_t shown = 0;
		for (uint32_t i = 0; i < st->ngroups && shown < st->p.top_n && !e->failed; i++) {
			const struct mpa_tl_group *g = &st->groups[idx[i]];
			if (!g->calls)
				continue;
			shown++;
			mpa_table_str(t, key == 0 ? "calls" : "bytes");
			mpa_table_u64(t, shown);
			mpa_table_str(t, g->kernel ? "kernel" : "user");
			mpa_table_str(t, g->name);
			mpa_table_u64(t, g->calls);
			mpa_table_u64(t, g->bytes);
			mpa_table_u64(t, g->frees);
			mpa_table_u64(t, g->temporary);
			mpa_table_u64(t, g->short_lived);
			mpa_table_u64(t, g->peak_bytes);
			mpa_table_u64(t, g->live_end);
			mpa_table_u64(t, g->min_size);
			mpa_table_u64(t, g->max_size);
			mpa_table_u64(t, g->grow_reallocs);
			end_row(e, t);
		}
		free(idx);
	}
	close_table(e, t);
}

static void emit_temporary(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col temporary_cols[] = {
		{"rank", MPA_COL_U64, "index"},
		{"domain", MPA_COL_STR, ""},
		{"site", MPA_COL_STR, ""},
		{"allocs", MPA_COL_U64, "count"},
		{"temporary", MPA_COL_U64, "count"},
		{"temporary_share", MPA_COL_F64, "fraction"},
		{"short_lived", MPA_COL_U64, "count"},
		{"short_lived_share", MPA_COL_F64, "fraction"},
	};
	static const struct mpa_table_decl temporary_decl = {"temporary", "temporary", temporary_cols,
									MPA_NCOLS(temporary_cols)};
	mpa_table *t = open_table(e, &temporary_decl);
	if (!t)
		return;
	uint32_t *idx = sorted_groups(st, 3);
	if (!idx && st->ngroups) {
		snprintf(e->errbuf, e->errlen, "out of memory");
		e->failed = 1;
	}
	uint32_t shown = 0;
	for (uint32_t i = 0; idx && i < st->ngroups && shown < st->p.top_n && !e->failed; i++) {
		const struct mpa_tl_group *g = &st->groups[idx[i]];
		if (!g->temporary)
			break;
		shown++;
		mpa_table_u64(t, shown);
		mpa_table_str(t, g->kernel ? "kernel" : "user");
		mpa_table_str(t, g->name);
		mpa_table_u64(t, g->calls);
		mpa_table_u64(t, g->temporary);
		mpa_table_f64(t, (double)g->temporary / (double)g->calls);
		mpa_table_u64(t, g->short_lived);
		mpa_table_f64(t, (double)g->short_lived / (double)g->calls);
		end_row(e, t);
	}
	free(idx);
	close_table(e, t);
}

/* Sites holding the peak of one domain: table rows and a JSON array. */
static json_t *peak_sites(struct emitter *e, mpa_table *t, int kernel, uint64_t peak)
{
	const struct mpa_tl_state *st = e->st;
	json_t *arr = json_array();
	uint32_t *idx = sorted_groups(st, 2);
	uint32_t shown = 0;
	uint64_t rest = 0, rest_blocks = 0, rest_n = 0;
	for (uint32_t i = 0; idx && i < st->ngroups; i++) {
		const struct mpa_tl_group *g = &st->groups[idx[i]];
		if (g->kernel != (uint32_t)kernel || (!g->peak_bytes && !g->peak_blocks))
			continue;
		if (shown >= st->p.top_n) {
			rest += g->peak_bytes;
			rest_blocks += g->peak_blocks;
			rest_n++;
			continue;
		}
		shown++;
		json_t *o = json_object();
		set(o, "site", json_string(g->name));
		set(o, "bytes", jint(g->peak_bytes));
		set(o, "blocks", jint(g->peak_blocks));
		set(o, "share", json_real(peak ? (double)g->peak_bytes / (double)peak : 0));
		json_array_append_new(arr, o);
		if (t && !e->failed) {
			mpa_table_str(t, kernel ? "kernel" : "user");
			mpa_table_u64(t, shown);
			mpa_table_str(t, g->name);
			mpa_table_u64(t, g->peak_bytes);
			mpa_table_u64(t, g->peak_blocks);
			mpa_table_f64(t, peak ? (double)g->peak_bytes / (double)peak : 0);
			end_row(e, t);
		}
	}
	if (rest_n) {
		char lab[64];
		snprintf(lab, sizeof lab, "(%" PRIu64 " other sites)", rest_n);
		json_t *o = json_object();
		set(o, "site", json_string(lab));
		set(o, "bytes", jint(rest));
		set(o, "blocks", jint(rest_blocks));
		set(o, "share", json_real(peak ? (double)rest / (double)peak : 0));
		json_array_append_new(arr, o);
		if (t && !e->failed) {
			mpa_table_str(t, kernel ? "kernel" : "user");
			mpa_table_u64(t, shown + 1);
			mpa_table_str(t, lab);
			mpa_table_u64(t, rest);
			mpa_table_u64(t, rest_blocks);
			mpa_table_f64(t, peak ? (double)rest / (double)peak : 0);
			end_row(e, t);
		}
	}
	free(idx);
	return arr;
}

static void emit_phases(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col phases_cols[] = {
		{"index", MPA_COL_U64, "index"},
		{"phase", MPA_COL_STR, ""},
		{"first_bucket", MPA_COL_U64, "index"},
		{"last_bucket", MPA_COL_U64, "index"},
		{"t_start_ns", MPA_COL_U64, "ns"},
		{"t_end_ns", MPA_COL_U64, "ns"},
		{"duration_s", MPA_COL_F64, "s"},
		{"allocs", MPA_COL_U64, "count"},
		{"frees", MPA_COL_U64, "count"},
		{"bytes_allocated", MPA_COL_U64, "bytes"},
		{"bytes_freed", MPA_COL_U64, "bytes"},
		{"allocs_per_s", MPA_COL_F64, "1/s"},
		{"live_bytes_start", MPA_COL_U64, "bytes"},
		{"live_bytes_end", MPA_COL_U64, "bytes"},
		{"live_bytes_max", MPA_COL_U64, "bytes"},
	};
	static const struct mpa_table_decl phases_decl = {"phases", NULL, phases_cols,
									MPA_NCOLS(phases_cols)};
	mpa_table *t = open_table(e, &phases_decl);
	if (!t)
		return;
	for (uint64_t i = 0; i < st->nphases && !e->failed; i++) {
		const struct mpa_tl_phase *p = &st->phases[i];
		double d = (double)((p->last - p->first + 1) * st->width) / NS_PER_S;
		mpa_table_u64(t, i);
		mpa_table_str(t, phase_name(p->kind));
		mpa_table_u64(t, p->first);
		mpa_table_u64(t, p->last);
		mpa_table_u64(t, out_ns(st, st->t0 + p->first * st->width));
		mpa_table_u64(t, out_ns(st, st->t0 + (p->last + 1) * st->width));
		mpa_table_f64(t, d);
		mpa_table_u64(t, p->allocs);
		mpa_table_u64(t, p->frees);
		mpa_table_u64(t, p->bytes_alloc);
		mpa_table_u64(t, p->bytes_freed);
		mpa_table_f64(t, (double)p->allocs / d);
		mpa_table_u64(t, p->live_start);
		mpa_table_u64(t, p->live_end);
		mpa_table_u64(t, p->live_max);
		end_row(e, t);
	}
	close_table(e, t);
}

static void emit_pressure(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col pressure_cols[] = {
		{"index", MPA_COL_U64, "index"},
		{"start_ns", MPA_COL_U64, "ns"},
		{"end_ns", MPA_COL_U64, "ns"},
		{"duration_s", MPA_COL_F64, "s"},
		{"max_live_bytes", MPA_COL_U64, "bytes"},
		{"open", MPA_COL_STR, ""},
	};
	static const struct mpa_table_decl pressure_decl = {"pressure", NULL, pressure_cols,
									MPA_NCOLS(pressure_cols)};
	mpa_table *t = open_table(e, &pressure_decl);
	if (!t)
		return;
	for (uint64_t i = 0; i < st->npressure && !e->failed; i++) {
		const struct mpa_tl_interval *iv = &st->pressure[i];
		mpa_table_u64(t, i);
		mpa_table_u64(t, out_ns(st, iv->start));
		mpa_table_u64(t, out_ns(st, iv->end));
		mpa_table_f64(t, (double)(iv->end - iv->start) / NS_PER_S);
		mpa_table_u64(t, iv->max_bytes);
		mpa_table_str(t, iv->open ? "yes" : "no");
		end_row(e, t);
	}
	close_table(e, t);
}

static void emit_recs(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	static const struct mpa_col recommendations_cols[] = {
		{"kind", MPA_COL_STR, ""},
		{"site", MPA_COL_STR, ""},
		{"allocs", MPA_COL_U64, "count"},
		{"trigger_count", MPA_COL_U64, "count"},
		{"trigger_value", MPA_COL_F64, ""},
		{"message", MPA_COL_STR, ""},
	};
	static const struct mpa_table_decl recommendations_decl = {"recommendations", NULL, recommendations_cols,
									MPA_NCOLS(recommendations_cols)};
	mpa_table *t = open_table(e, &recommendations_decl);
	if (!t)
		return;
	for (uint32_t i = 0; i < st->nrecs && !e->failed; i++) {
		const struct mpa_tl_rec *r = &st->recs[i];
		mpa_table_str(t, r->kind);
		mpa_table_str(t, r->site);
		mpa_table_u64(t, r->calls);
		mpa_table_u64(t, r->count);
		mpa_table_f64(t, r->value);
		mpa_table_str(t, r->message);
		end_row(e, t);
	}
	close_table(e, t);
}

static json_t *series_json(const struct mpa_tl_state *st, const struct mpa_tl_series *s)
{
	json_t *o = json_object();
	set(o, "peak_bytes", jint(s->peak));
	set(o, "peak_blocks", jint(s->peak_blocks));
	set(o, "peak_ns", jint(out_ns(st, s->peak_ts)));
	set(o, "peak_s", json_real(s->seen ? rel_s(st, s->peak_ts) : 0));
	set(o, "allocs", jint(s->allocs));
	set(o, "frees", jint(s->frees));
	set(o, "bytes_allocated", jint(s->bytes_alloc));
	set(o, "bytes_freed", jint(s->bytes_freed));
	set(o, "live_bytes_end", jint(s->live));
	set(o, "live_blocks_end", jint(s->blocks));
	set(o, "temporary", jint(s->temporary));
	set(o, "short_lived", jint(s->short_lived));
	set(o, "unknown_frees", jint(s->unknown_frees));
	set(o, "unknown_reallocs", jint(s->unknown_reallocs));
	set(o, "failed", jint(s->failed));
	set(o, "duplicate_allocs", jint(s->dup_allocs));
	set(o, "free_null", jint(s->free_null));
	set(o, "released_bytes", jint(s->released_bytes));
	set(o, "released_blocks", jint(s->released_blocks));
	json_t *tr = json_object();
	set(tr, "slope_bytes_per_s", json_real(s->slope));
	set(tr, "r2", json_real(s->r2));
	set(tr, "window_s", json_real(s->seen ? (double)(s->t_end - s->t_first) / NS_PER_S : 0));
	set(o, "trend", tr);
	return o;
}

static void emit_json(struct emitter *e, json_t *user_sites, json_t *kernel_sites)
{
	struct mpa_tl_state *st = e->st;
	json_t *doc = mpa_out_json(e->out);
	json_t *sum = mpa_out_summary(e->out);
	if (!doc || !sum) {
		json_decref(user_sites);
		json_decref(kernel_sites);
		return;
	}
	json_t *settings = json_object();
	set(settings, "bucket_ns", jint(st->width));
	set(settings, "buckets", jint(st->buckets));
	set(settings, "t0_ns", jint(out_ns(st, st->t0)));
	set(settings, "timeline_points", jint(st->p.points));
	set(settings, "memory_pressure_threshold", jint(st->p.pressure_bytes));
	set(settings, "temporary_threshold_ns", jint(st->p.short_ns));
	set(settings, "burst_factor", json_real(st->p.burst_factor));
	set(settings, "top_n", jint(st->p.top_n));
	set(settings, "phase_buckets", jint(st->p.phase_buckets));
	set(settings, "exclude_tracer", json_boolean(st->p.exclude_tracer));
	set(doc, "settings", settings);

	json_t *user = series_json(st, &st->user);
	set(user, "peak_sites", user_sites);
	set(doc, "user", user);
	json_t *kern = series_json(st, &st->kernel);
	set(kern, "peak_sites", kernel_sites);
	set(doc, "kernel", kern);

	json_t *peak = json_object();
	set(peak, "bytes", jint(st->user.peak));
	set(peak, "blocks", jint(st->user.peak_blocks));
	set(peak, "ts_ns", jint(out_ns(st, st->user.peak_ts)));
	set(peak, "t_s", json_real(st->user.seen ? rel_s(st, st->user.peak_ts) : 0));
	set(peak, "sites", json_incref(user_sites));
	set(doc, "peak", peak);

	json_t *trend = json_object();
	set(trend, "slope_bytes_per_s", json_real(st->user.slope));
	set(trend, "r2", json_real(st->user.r2));
	set(trend, "kernel_slope_bytes_per_s", json_real(st->kernel.slope));
	set(doc, "trend", trend);

	json_t *phases = json_array();
	for (uint64_t i = 0; i < st->nphases; i++) {
		const struct mpa_tl_phase *p = &st->phases[i];
		json_t *o = json_object();
		set(o, "phase", json_string(phase_name(p->kind)));
		set(o, "first_bucket", jint(p->first));
		set(o, "last_bucket", jint(p->last));
		set(o, "t_start_ns", jint(out_ns(st, st->t0 + p->first * st->width)));
		set(o, "t_end_ns", jint(out_ns(st, st->t0 + (p->last + 1) * st->width)));
		set(o, "allocs", jint(p->allocs));
		set(o, "frees", jint(p->frees));
		set(o, "live_bytes_start", jint(p->live_start));
		set(o, "live_bytes_end", jint(p->live_end));
		set(o, "live_bytes_max", jint(p->live_max));
		json_array_append_new(phases, o);
	}
	json_t *ph = json_object();
	set(ph, "median_allocs_per_phase_bucket", jint(st->phase_median));
	set(ph, "phase_bucket_ns", jint(st->phase_group * st->width));
	set(ph, "timeline_buckets_per_phase_bucket", jint(st->phase_group));
	set(ph, "list", phases);
	set(doc, "phases", ph);

	json_t *pr = json_object();
	set(pr, "threshold_bytes", jint(st->p.pressure_bytes));
	set(pr, "intervals", jint(st->pressure_count));
	set(pr, "time_above_s", json_real((double)st->pressure_ns / NS_PER_S));
	json_t *pl = json_array();
	for (uint64_t i = 0; i < st->npressure; i++) {
		json_t *o = json_object();
		set(o, "start_ns", jint(out_ns(st, st->pressure[i].start)));
		set(o, "end_ns", jint(out_ns(st, st->pressure[i].end)));
		set(o, "max_live_bytes", jint(st->pressure[i].max_bytes));
		set(o, "open", json_boolean(st->pressure[i].open));
		json_array_append_new(pl, o);
	}
	set(pr, "list", pl);
	set(doc, "pressure", pr);

	json_t *rs = json_array();
	for (uint32_t i = 0; i < st->nrecs; i++) {
		json_t *o = json_object();
		set(o, "kind", json_string(st->recs[i].kind));
		set(o, "site", json_string(st->recs[i].site));
		set(o, "allocs", jint(st->recs[i].calls));
		set(o, "trigger_count", jint(st->recs[i].count));
		set(o, "trigger_value", json_real(st->recs[i].value));
		set(o, "message", json_string(st->recs[i].message));
		json_array_append_new(rs, o);
	}
	set(doc, "recommendations", rs);

	json_t *sizes = json_object();
	set(sizes, "allocations", jint(st->size_total));
	set(sizes, "distinct_sizes", jint(st->size_used + st->small_used));
	set(sizes, "untracked_allocations", jint(st->size_overflow));
	set(doc, "sizes", sizes);

	json_t *ex = json_object();
	set(ex, "allocs", jint(st->tracer_allocs));
	set(ex, "bytes", jint(st->tracer_bytes));
	set(ex, "frees", jint(st->tracer_frees));
	set(ex, "startup_allocs", jint(st->startup_allocs));
	set(ex, "startup_bytes", jint(st->startup_bytes));
	set(ex, "map_rows", jint(st->tracer_maps));
	set(doc, "excluded_tracer", ex);

	json_t *mp = json_object();
	set(mp, "peak_bytes", jint(st->mapped.peak));
	set(mp, "peak_ns", jint(out_ns(st, st->mapped.peak_ts)));
	set(mp, "bytes_end", jint(st->mapped.live));
	set(mp, "maps", jint(st->maps));
	set(mp, "unmaps", jint(st->unmaps));
	set(mp, "replaced_bytes", jint(st->replaced_map_bytes));
	set(mp, "unknown_unmap_bytes", jint(st->unknown_unmap_bytes));
	set(mp, "released_bytes", jint(st->mapped.released_bytes));
	set(doc, "mapped", mp);

	json_t *an = json_object();
	set(an, "ts_backwards", jint(st->ts_backwards));
	set(an, "rows", jint(st->rows));
	set(an, "process_images", jint(st->nprocs));
	set(doc, "counts", an);

	/* the short form in summary.json */
	set(sum, "peak_bytes", jint(st->user.peak));
	set(sum, "peak_ns", jint(out_ns(st, st->user.peak_ts)));
	set(sum, "peak_s", json_real(st->user.seen ? rel_s(st, st->user.peak_ts) : 0));
	set(sum, "kernel_peak_bytes", jint(st->kernel.peak));
	set(sum, "mapped_peak_bytes", jint(st->mapped.peak));
	set(sum, "allocs", jint(st->user.allocs));
	set(sum, "frees", jint(st->user.frees));
	set(sum, "bytes_allocated", jint(st->user.bytes_alloc));
	set(sum, "temporary", jint(st->user.temporary));
	set(sum, "unknown_frees", jint(st->user.unknown_frees + st->kernel.unknown_frees));
	set(sum, "trend_bytes_per_s", json_real(st->user.slope));
	set(sum, "pressure_intervals", jint(st->pressure_count));
	set(sum, "recommendations", jint(st->nrecs));
	set(sum, "process_images", jint(st->nprocs));
	set(sum, "excluded_tracer_allocs", jint(st->tracer_allocs));
	if (st->pressure_count) {
		/* picked up by the framework into summary.json "alerts" */
		char msg[256];
		uint64_t mx = 0;
		for (uint64_t i = 0; i < st->npressure; i++)
			if (st->pressure[i].max_bytes > mx)
				mx = st->pressure[i].max_bytes;
		snprintf(msg, sizeof msg,
			 "live heap above %" PRIu64 " bytes in %" PRIu64
			 " intervals, %.3f s in all, up to %" PRIu64 " bytes",
			 st->p.pressure_bytes, st->pressure_count,
			 (double)st->pressure_ns / NS_PER_S, mx);
		struct mpa_alert al = {"memory_pressure", MPA_SEV_WARNING, (double)mx,
				       (double)st->p.pressure_bytes, "bytes", msg,
				       "the phases and the peak's sites show what held the heap then; "
				       "[alerts] memory_pressure_threshold sets the line"};
		if (mpa_out_alert(e->out, &al) < 0 && !e->failed) {
			snprintf(e->errbuf, e->errlen, "out of memory");
			e->failed = 1;
		}
	}
}

static void plot_fail(struct emitter *e)
{
	if (e->failed)
		return;
	const char *m = mpa_out_error(e->out);
	snprintf(e->errbuf, e->errlen, "%s", m && *m ? m : "cannot write a plot");
	e->failed = 1;
}

static void emit_plots(struct emitter *e)
{
	const struct mpa_tl_state *st = e->st;
	if (!st->buckets)
		return;
	mpa_plot *p = mpa_plot_open(e->out, "memory", "Live heap over time", "time (s)",
				    "live bytes", MPA_PLOT_LINES);
	if (p) {
		int rc = mpa_plot_series(p, "user, max in bucket");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.live_max);
		}
		if (!rc)
			rc = mpa_plot_series(p, "user, at bucket end");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + (a + 1) * st->width),
					    (double)k.live_end);
		}
		if (!rc && st->mapped.seen) {
			rc = mpa_plot_series(p, "mapped (mmap/brk), max in bucket");
			for (uint64_t a = 0; a < st->buckets && !rc; a++) {
				struct mpa_tl_bucket k = mpa_timeline_bucket(&st->mapped, a);
				rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width),
						    (double)k.live_max);
			}
		}
		if (!rc && st->kernel.seen) {
			rc = mpa_plot_series(p, "kernel, max in bucket");
			for (uint64_t a = 0; a < st->buckets && !rc; a++) {
				struct mpa_tl_bucket k = mpa_timeline_bucket(&st->kernel, a);
				rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width),
						    (double)k.live_max);
			}
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	double w = (double)st->width / NS_PER_S;
	p = mpa_plot_open(e->out, "rates", "Allocation and free rates", "time (s)", "calls per second",
			  MPA_PLOT_LINES);
	if (p) {
		int rc = mpa_plot_series(p, "allocs/s");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.allocs / w);
		}
		if (!rc)
			rc = mpa_plot_series(p, "frees/s");
		for (uint64_t a = 0; a < st->buckets && !rc; a++) {
			struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
			rc = mpa_plot_point(p, rel_s(st, st->t0 + a * st->width), (double)k.frees / w);
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	p = mpa_plot_open(e->out, "sizes", "Allocation sizes (power-of-two buckets)", "size (bytes)",
			  "allocations", MPA_PLOT_BOXES);
	if (p) {
		int rc = mpa_plot_series(p, "allocations");
		unsigned x = 0;
		for (unsigned k = 0; k < MPA_TL_POW2 && !rc; k++) {
			if (!st->pow2_count[k])
				continue;
			char lab[32];
			pow2_label(k, lab, sizeof lab);
			rc = mpa_plot_label(p, x++, (double)st->pow2_count[k], lab);
		}
		if (mpa_plot_close(p) || rc)
			plot_fail(e);
	} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
		plot_fail(e);
	}
	uint32_t *idx = sorted_groups(st, 1);
	if (idx) {
		p = mpa_plot_open(e->out, "hotspots", "Top allocation sites by bytes", "bytes allocated",
				  "", MPA_PLOT_HBARS);
		if (p) {
			int rc = mpa_plot_series(p, "bytes allocated");
			uint32_t shown = 0;
			for (uint32_t i = 0; i < st->ngroups && shown < 10 && !rc; i++) {
				const struct mpa_tl_group *g = &st->groups[idx[i]];
				if (!g->bytes)
					break;
				rc = mpa_plot_label(p, shown++, (double)g->bytes, g->name);
			}
			if (mpa_plot_close(p) || rc)
				plot_fail(e);
		} else if (mpa_out_error(e->out) && *mpa_out_error(e->out)) {
			plot_fail(e);
		}
		free(idx);
	}
}

int mpa_tl_emit(void *state, mpa_out *out, char *errbuf, size_t errlen)
{
	struct mpa_tl_state *st = state;
	struct emitter e = {st, out, errbuf, errlen, 0};
	emit_timeline(&e);
	if (!e.failed)
		emit_processes(&e);
	if (!e.failed)
		emit_sizes(&e);
	if (!e.failed)
		emit_hotspots(&e);
	if (!e.failed)
		emit_temporary(&e);
	if (!e.failed)
		emit_phases(&e);
	if (!e.failed)
		emit_pressure(&e);
	if (!e.failed)
		emit_recs(&e);
	if (!e.failed) {
		static const struct mpa_col peak_sites_cols[] = {
		{"domain", MPA_COL_STR, ""},
		{"rank", MPA_COL_U64, "index"},
		{"site", MPA_COL_STR, ""},
		{"bytes_at_peak", MPA_COL_U64, "bytes"},
		{"blocks_at_peak", MPA_COL_U64, "count"},
		{"share_of_peak", MPA_COL_F64, "fraction"},
	};
	static const struct mpa_table_decl peak_sites_decl = {"peak_sites", "peak_sites", peak_sites_cols,
									MPA_NCOLS(peak_sites_cols)};
		mpa_table *t = open_table(&e, &peak_sites_decl);
		json_t *us = peak_sites(&e, t, 0, st->user.peak);
		json_t *ks = peak_sites(&e, t, 1, st->kernel.peak);
		if (t)
			close_table(&e, t);
		emit_json(&e, us, ks);
	}
	if (!e.failed)
		emit_plots(&e);
	return e.failed ? -1 : 0;
}

