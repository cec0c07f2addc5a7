/* timeline: what end() derives: sites merged by name, phases, top sizes,
 * recommendations. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_internal.h"

/* ---- end: derived results ------------------------------------------------- */

static char *site_label(const struct mpa_tl_state *st, uint32_t stack_id)
{
	char buf[1024];
	if (st->ctx && st->ctx->reader) {
		mpa_site_name(st->ctx, stack_id, buf, sizeof buf);
	} else if (stack_id) {
		snprintf(buf, sizeof buf, "stack %" PRIu32, stack_id);
	} else {
		snprintf(buf, sizeof buf, "??");
	}
	return strdup(buf);
}

struct named {
	char *name;
	uint32_t site;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return (x->site > y->site) - (x->site < y->site);
}

static int build_groups(struct mpa_tl_state *st)
{
	if (!st->nsites)
		return 0;
	struct named *nm = calloc(st->nsites, sizeof *nm);
	if (!nm)
		return -1;
	/* the tracer's sites are left out (their blocks count nowhere) */
	uint32_t nn = 0;
	for (uint32_t i = 0; i < st->nsites; i++) {
		if (st->sites[i].tracer)
			continue;
		nm[nn].site = i;
		nm[nn].name = site_label(st, st->sites[i].stack_id);
		if (!nm[nn].name) {
			for (uint32_t j = 0; j < nn; j++)
				free(nm[j].name);
			free(nm);
			return -1;
		}
		nn++;
	}
	qsort(nm, nn, sizeof *nm, cmp_named);
	st->groups = calloc(st->nsites, sizeof *st->groups);
	if (!st->groups) {
		for (uint32_t j = 0; j < nn; j++)
			free(nm[j].name);
		free(nm);
		return -1;
	}
	/* one group per (kernel, name): two passes so kernel groups never merge
	 * with user groups of the same name */
	for (uint32_t kern = 0; kern < 2; kern++) {
		struct mpa_tl_group *g = NULL;
		const char *gname = NULL;
		for (uint32_t i = 0; i < nn; i++) {
			const struct mpa_tl_site *s = &st->sites[nm[i].site];
			if (s->kernel != kern)
				continue;
			if (!gname || strcmp(gname, nm[i].name)) {
				g = &st->groups[st->ngroups++];
				memset(g, 0, sizeof *g);
				g->name = strdup(nm[i].name);
				if (!g->name) {
					st->ngroups--;
					for (uint32_t j = 0; j < nn; j++)
						free(nm[j].name);
					free(nm);
					return -1;
				}
				g->kernel = kern;
				g->min_size = UINT64_MAX;
				gname = nm[i].name;
			}
			uint64_t pb;
			g->calls += s->calls;
			g->bytes += s->bytes;
			g->frees += s->frees;
			g->temporary += s->temporary;
			g->short_lived += s->short_lived;
			g->live_end += s->live;
			g->blocks_end += s->live_blocks;
			g->peak_bytes += mpa_tl_site_at_peak(st, s, &pb);
			g->peak_blocks += pb;
			if (s->calls && s->min_size < g->min_size)
				g->min_size = s->min_size;
			if (s->max_size > g->max_size)
				g->max_size = s->max_size;
			g->reallocs += s->reallocs;
			g->grow_reallocs += s->grow_reallocs;
			g->chains += s->chains;
			if (s->max_chain > g->max_chain)
				g->max_chain = s->max_chain;
		}
	}
	for (uint32_t j = 0; j < nn; j++)
		free(nm[j].name);
	free(nm);
	for (uint32_t i = 0; i < st->ngroups; i++)
		if (st->groups[i].min_size == UINT64_MAX)
			st->groups[i].min_size = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Phase bucket j: timeline buckets [j*k, (j+1)*k) merged (k = phase_group). */
static struct mpa_tl_bucket phase_bucket(const struct mpa_tl_state *st, uint64_t j)
{
	struct mpa_tl_bucket m;
	memset(&m, 0, sizeof m);
	uint64_t k = st->phase_group, lo = j * k, hi = lo + k;
	if (hi > st->buckets)
		hi = st->buckets;
	for (uint64_t a = lo; a < hi; a++) {
		struct mpa_tl_bucket x = mpa_timeline_bucket(&st->user, a);
		if (x.live_max > m.live_max)
			m.live_max = x.live_max;
		m.live_end = x.live_end;
		m.allocs += x.allocs;
		m.frees += x.frees;
		m.bytes_alloc += x.bytes_alloc;
		m.bytes_freed += x.bytes_freed;
	}
	return m;
}

static int build_phases(struct mpa_tl_state *st)
{
	uint64_t nb = st->buckets;
	if (!nb)
		return 0;
	uint64_t pb = st->p.phase_buckets ? st->p.phase_buckets : 1;
	st->phase_group = nb / pb + (nb % pb != 0);
	uint64_t np = nb / st->phase_group + (nb % st->phase_group != 0);
	uint64_t *counts = malloc(np * sizeof *counts);
	if (!counts)
		return -1;
	uint64_t na = 0;
	for (uint64_t j = 0; j < np; j++) {
		struct mpa_tl_bucket k = phase_bucket(st, j);
		if (k.allocs)
			counts[na++] = k.allocs;
	}
	uint64_t median = 0;
	if (na) {
		qsort(counts, na, sizeof *counts, cmp_u64);
		median = counts[(na - 1) / 2];
	}
	free(counts);
	st->phase_median = median;
	double high = st->p.burst_factor * (double)median;
	st->phases = calloc(np, sizeof *st->phases);
	if (!st->phases)
		return -1;
	uint64_t live_before = 0;
	int cls_prev = -1;
	uint64_t runs_first = 0;
	for (uint64_t j = 0; j < np; j++) {
		struct mpa_tl_bucket k = phase_bucket(st, j);
		/* 0 idle, 1 normal, 2 high */
		int cls = (!k.allocs && !k.frees) ? 0 : (k.allocs && (double)k.allocs >= high) ? 2 : 1;
		struct mpa_tl_phase *ph;
		if (cls != cls_prev) {
			ph = &st->phases[st->nphases++];
			memset(ph, 0, sizeof *ph);
			ph->kind = cls == 0 ? MPA_TL_IDLE : cls == 1 ? MPA_TL_STEADY : MPA_TL_BURST;
			ph->first = j * st->phase_group;
			ph->live_start = live_before;
			cls_prev = cls;
			runs_first = j;
		} else {
			ph = &st->phases[st->nphases - 1];
		}
		ph->last = (j + 1) * st->phase_group - 1;
		if (ph->last >= nb)
			ph->last = nb - 1;
		/* a high run of one phase bucket is a spike, longer a burst */
		if (cls == 2)
			ph->kind = j == runs_first ? MPA_TL_SPIKE : MPA_TL_BURST;
		ph->allocs += k.allocs;
		ph->frees += k.frees;
		ph->bytes_alloc += k.bytes_alloc;
		ph->bytes_freed += k.bytes_freed;
		ph->live_end = k.live_end;
		if (k.live_max > ph->live_max)
			ph->live_max = k.live_max;
		live_before = k.live_end;
	}
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	const struct mpa_tl_size *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->size > y->size) - (x->size < y->size);
}

static int build_top_sizes(struct mpa_tl_state *st)
{
	if (!st->size_used && !st->small_used)
		return 0;
	struct mpa_tl_size *all = malloc((st->size_used + st->small_used) * sizeof *all);
	if (!all)
		return -1;
	uint64_t n = 0;
	for (uint64_t i = 0; i < MPA_TL_SMALL; i++)
		if (st->small_sizes[i]) {
			all[n].size = i;
			all[n++].count = st->small_sizes[i];
		}
	for (uint64_t i = 0; i < st->size_cap; i++)
		if (st->size_tab[i].count)
			all[n++] = st->size_tab[i];
	qsort(all, n, sizeof *all, cmp_size);
	st->ntop_sizes = (uint32_t)(n < st->p.top_n ? n : st->p.top_n);
	st->top_sizes = all;
	return 0;
}

static int add_rec(struct mpa_tl_state *st, const char *kind, const char *site, uint64_t calls,
		   uint64_t count, double value, const char *msg)
{
	void *p = realloc(st->recs, (st->nrecs + 1) * sizeof *st->recs);
	if (!p)
		return -1;
	st->recs = p;
	struct mpa_tl_rec *r = &st->recs[st->nrecs];
	r->kind = kind;
	r->site = strdup(site);
	r->message = strdup(msg);
	r->calls = calls;
	r->count = count;
	r->value = value;
	if (!r->site || !r->message) {
		free(r->site);
		free(r->message);
		return -1;
	}
	st->nrecs++;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct mpa_tl_rec *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	if (c)
		return c;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->site, y->site);
}

static int build_recs(struct mpa_tl_state *st)
{
	char msg[1536];
	for (uint32_t i = 0; i < st->ngroups; i++) {
		const struct mpa_tl_group *g = &st->groups[i];
		const char *where = g->kernel ? "kernel site" : "site";
		if (g->calls >= st->p.min_calls && g->temporary * 2 >= g->calls) {
			double share = (double)g->temporary / (double)g->calls;
			snprintf(msg, sizeof msg,
				 "reuse a buffer: %" PRIu64 " of %" PRIu64
				 " allocations at %s '%s' (%.1f%%) were freed before any other allocation (temporary)",
				 g->temporary, g->calls, where, g->name, share * 100.0);
			if (add_rec(st, "reuse-buffer", g->name, g->calls, g->temporary, share, msg))
				return -1;
		}
		if (g->calls >= st->p.min_calls && g->min_size == g->max_size &&
		    g->frees * 2 >= g->calls) {
			snprintf(msg, sizeof msg,
				 "use a pool or free list: all %" PRIu64 " allocations at %s '%s' are %" PRIu64
				 " bytes and %" PRIu64 " were freed",
				 g->calls, where, g->name, g->min_size, g->frees);
			if (add_rec(st, "pool", g->name, g->calls, g->calls, (double)g->min_size, msg))
				return -1;
		}
		if (g->grow_reallocs >= st->p.min_growth && g->chains &&
		    g->grow_reallocs >= 4 * g->chains) {
			double avg = (double)g->grow_reallocs / (double)g->chains;
			snprintf(msg, sizeof msg,
				 "reserve capacity up front: %" PRIu64 " growing reallocs at %s '%s' in %" PRIu64
				 " chains (%.1f per chain, longest %" PRIu64 ")",
				 g->grow_reallocs, where, g->name, g->chains, avg, g->max_chain);
			if (add_rec(st, "reserve", g->name, g->calls, g->grow_reallocs, avg, msg))
				return -1;
		}
	}
	const struct mpa_tl_series *u = &st->user;
	double T = (double)(u->t_end - u->t_first) / NS_PER_S;
	if (u->seen && T > 0 && u->slope > 0 && u->r2 >= 0.9 && u->peak &&
	    u->live * 2 >= u->peak && u->slope * T >= (double)u->peak / 2) {
		snprintf(msg, sizeof msg,
			 "live heap grows steadily: %.1f bytes/s over %.3f s (r2 %.3f), %" PRIu64
			 " bytes live at the end; run --leak to see which sites keep memory",
			 u->slope, T, u->r2, u->live);
		if (add_rec(st, "growth", "", u->allocs, u->live, u->slope, msg))
			return -1;
	}
	if (st->nrecs)
		qsort(st->recs, st->nrecs, sizeof *st->recs, cmp_rec);
	return 0;
}

int mpa_tl_end(void *state, char *errbuf, size_t errlen)
{
	struct mpa_tl_state *st = state;
	if (st->ended)
		return 0;
	st->ended = 1;
	if (st->started) {
		uint64_t b = cur_bucket(st);
		if ((st->user.seen && series_touch(&st->user, b, st->now)) ||
		    (st->kernel.seen && series_touch(&st->kernel, b, st->now)) ||
		    (st->mapped.seen && series_touch(&st->mapped, b, st->now)))
			goto nomem;
		for (uint32_t i = 0; i < st->nprocs; i++) {
			struct mpa_tl_proc *p = &st->procs[i];
			if (!p->ended && series_touch(&p->s, b, st->now))
				goto nomem;
			mpa_tl_series_finish(&p->s, p->ended ? p->end_ts : st->now);
		}
		mpa_tl_series_finish(&st->user, st->now);
		mpa_tl_series_finish(&st->kernel, st->now);
		mpa_tl_series_finish(&st->mapped, st->now);
		st->buckets = b + 1;
		/* with a known range the timeline covers all of it */
		if (st->p.range_to > st->p.range_from) {
			uint64_t span = st->p.range_to - st->t0;
			uint64_t nb = span / st->width + (span % st->width != 0);
			if (nb > st->limit)
				nb = st->limit;
			if (nb > st->buckets)
				st->buckets = nb;
		}
		if (st->in_pressure) {
			st->in_pressure = 0;
			st->cur_pressure.end = st->now;
			st->cur_pressure.open = 1;
			if (mpa_tl_pressure_push(st, &st->cur_pressure))
				goto nomem;
		}
	}
	if (build_groups(st) || build_phases(st) || build_top_sizes(st) || build_recs(st))
		goto nomem;
	return 0;
nomem:
	mpa_errf(errbuf, errlen, "out of memory");
	return -1;
}

