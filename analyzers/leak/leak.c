/* The leak analyzer: heap blocks never freed, per process image, grouped by
 * allocation site; growth suspects; resources never released (mappings,
 * pool objects, pools); suppressions; and anomalies (double frees, frees and reallocs of unknown pointers).
 *
 * The blocks, images and anomalies are the heap model's (include/mpa/heap.h):
 * this analyzer keeps per-site counters sized by the capture's stack table
 * and result groups keyed by (class, image, site), never a block table.
 * Every metric is defined in doc/analyzers.md ("Leak analyzer").
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak_internal.h"

/* ---- options ---------------------------------------------------------------------- */

static const struct mpa_option leak_options[] = {
	{"alerts", "leak_detection_enabled", MPA_OPT_BOOL, "true",
	 "run the leak analyzer under --all (an explicit --leak always runs it)"},
	{"leak", "growth_min_age_s", MPA_OPT_FLOAT, "60",
	 "a growth suspect's oldest live block is at least this old at the end (s)"},
	{"leak", "growth_min_bytes", MPA_OPT_INT, "1024",
	 "a growth suspect holds at least this many live bytes at the end (bytes)"},
	{"leak", "growth_windows", MPA_OPT_INT, "10",
	 "windows the analyzed span is split into to follow each site's live bytes (count)"},
	{"leak", "growth_min_monotonic", MPA_OPT_FLOAT, "0.75",
	 "share of window steps in which a growth suspect's live bytes did not fall (fraction)"},
	{"leak", "suppressions", MPA_OPT_STRING, "\"\"",
	 "user suppression file, lines 'leak:PATTERN' or 'leak-site:PATTERN' (path)"},
	{"leak", "default_suppressions", MPA_OPT_BOOL, "true",
	 "apply the built-in suppressions of runtime-internal blocks"},
	{"leak", "max_examples", MPA_OPT_INT, "10", "examples kept per anomaly type (count)"},
	{"leak", "top_blocks", MPA_OPT_INT, "100", "largest unfreed blocks listed (count)"},
	{"leak", "top_sites", MPA_OPT_INT, "20", "sites shown in the top-sites plot (count)"},
	{"leak", "fail_on_leak", MPA_OPT_INT, "-1",
	 "mpa-analyze exits 3 when the leaked bytes of the gated kinds exceed this (bytes, -1 = off)"},
	{"leak", "leak_kinds", MPA_OPT_STRING, "\"" KINDS_DEFAULT "\"",
	 "kinds the gate counts: any of definite, indirect, possible, reachable, or all "
	 "(valgrind's --errors-for-leak-kinds)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

/* ---- groups --------------------------------------------------------------------------- */

static uint64_t group_hash(uint8_t cls, uint8_t st, uint32_t image, uint32_t stack,
			   uint32_t name)
{
	uint64_t h = ((uint64_t)cls << 56) ^ ((uint64_t)st << 48) ^ ((uint64_t)image << 20) ^
		     ((uint64_t)stack * UINT64_C(0x9E3779B97F4A7C15)) ^ ((uint64_t)name << 7);
	return hash_ptr(h);
}

static struct group *group_get(struct leak *L, uint8_t cls, uint8_t st, uint32_t image,
			       uint32_t stack, uint32_t name)
{
	if ((L->gused + 1) * 10 > L->gcap * 7) {
		uint64_t nc = L->gcap ? L->gcap * 2 : 256;
		struct group *ng = calloc(nc, sizeof *ng);
		if (!ng)
			return NULL;
		for (uint64_t k = 0; k < L->gcap; k++) {
			if (!L->groups[k].used)
				continue;
			struct group *g = &L->groups[k];
			uint64_t i = group_hash(g->cls, g->state, g->image, g->stack, g->name) & (nc - 1);
			while (ng[i].used)
				i = (i + 1) & (nc - 1);
			ng[i] = *g;
		}
		free(L->groups);
		L->groups = ng;
		L->gcap = nc;
	}
	uint64_t m = L->gcap - 1, i = group_hash(cls, st, image, stack, name) & m;
	for (;;) {
		struct group *g = &L->groups[i];
		if (!g->used) {
			g->used = 1;
			g->cls = cls;
			g->state = st;
			g->image = image;
			g->stack = stack;
			g->name = name;
			g->first_ts = UINT64_MAX;
			L->gused++;
			return g;
		}
		if (g->cls == cls && g->state == st && g->image == image && g->stack == stack &&
		    g->name == name)
			return g;
		i = (i + 1) & m;
	}
}

static int group_add(struct leak *L, uint8_t cls, uint8_t st, const struct mpa_image *p,
		     uint32_t stack, uint32_t name, uint64_t bytes, uint64_t ts, uint64_t end_ts)
{
	struct group *g = group_get(L, cls, st, p->path, stack, name);
	if (!g)
		return -1;
	g->blocks++;
	g->bytes = sat_add(g->bytes, bytes);
	if (ts < g->first_ts)
		g->first_ts = ts;
	if (ts > g->last_ts)
		g->last_ts = ts;
	uint64_t age = end_ts > ts ? end_ts - ts : 0;
	if (age > g->max_age)
		g->max_age = age;
	if (g->last_inst != p->id || !g->procs) {
		g->procs++;
		g->last_inst = p->id;
	}
	return 0;
}

/* Largest blocks: a min-heap of L->top_n entries ordered by (size, older first). */
int mpa_leak_top_less(const struct topblk *a, const struct topblk *b)
{
	if (a->size != b->size)
		return a->size < b->size;
	if (a->ts != b->ts)
		return a->ts > b->ts;
	if (a->pid != b->pid)
		return a->pid > b->pid;
	return a->ptr > b->ptr;
}

static void top_offer(struct leak *L, const struct topblk *c)
{
	if (!L->top_n)
		return;
	struct topblk *h = L->top;
	uint32_t i;
	if (L->ntop < L->top_n) {
		i = L->ntop++;
		h[i] = *c;
		while (i && mpa_leak_top_less(&h[i], &h[(i - 1) / 2])) {
			struct topblk t = h[i];
			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!mpa_leak_top_less(&h[0], c))
		return;
	h[0] = *c;
	i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < L->ntop && mpa_leak_top_less(&h[l], &h[m]))
			m = l;
		if (r < L->ntop && mpa_leak_top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		struct topblk t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void anomaly(struct leak *L, enum anomaly a, int32_t pid, uint64_t ts, uint64_t ptr,
		    uint32_t stack)
{
	L->anom[a]++;
	if (L->nex[a] < L->max_examples) {
		struct example *e = &L->ex[a][L->nex[a]++];
		e->pid = pid;
		e->ts = ts;
		e->ptr = ptr;
		e->stack = stack;
	}
}

/* ---- ending a process image ---------------------------------------------------------------- */

/* Kernel objects still allocated at the end, by call site. */
static int kernel_end(struct leak *L, const struct mpa_image *k)
{
	/* the heap model interns the call sites (a block's aux); their
	 * addresses are copied here, as the kernel image ends with the pass */
	uint64_t cur = 0;
	for (const struct mpa_block *o; (o = mpa_image_next_block(k, &cur));) {
		uint32_t ipx = o->aux;
		if (ipx >= L->nkips) {
			uint32_t nc = ipx + 1;
			uint64_t *n = realloc(L->kips, (size_t)nc * sizeof *n);
			if (!n)
				return -1;
			for (uint32_t j = L->nkips; j < nc; j++)
				n[j] = mpa_image_kernel_site(k, j);
			L->kips = n;
			L->nkips = nc;
		}
		uint64_t size = o->usable ? o->usable : o->size;
		if (group_add(L, G_KERNEL, S_END, k, o->stack_id, ipx, size, o->ts, L->t1) < 0)
			return -1;
	}
	return 0;
}

static int program_block(const struct mpa_block *b)
{
	return !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

/* An image ended (heap model): what it still held is classified. */
/* The capture's tables grew (a live capture, core/pass.h): one site per
 * new stack id.  Called where rows and images come in, before any site is
 * looked up, so no site pointer is held across the move.  0 or -1 (out of
 * memory). */
static int sync_sites(struct leak *L)
{
	const mpt_reader *r = L->ctx->reader;
	if (r == L->sites_reader)
		return 0;
	uint32_t ns = r ? mpt_reader_stack_count(r) : 0;
	if (ns >= L->nsites && ns < UINT32_MAX) {
		struct site *n = realloc(L->sites, ((size_t)ns + 1) * sizeof *n);
		if (!n)
			return -1;
		memset(n + L->nsites, 0, ((size_t)ns + 1 - L->nsites) * sizeof *n);
		for (uint32_t s = L->nsites; s <= ns; s++)
			n[s].supp = -2;
		L->sites = n;
		L->nsites = ns + 1;
	}
	L->sites_reader = r;
	return 0;
}

static int leak_image_end(void *state, const struct mpa_image *p)
{
	struct leak *L = state;
	if (sync_sites(L) < 0)
		return -1;
	if (p->kernel)
		return kernel_end(L, p);
	enum gstate st = p->how == MPA_IMAGE_EXEC ? S_EXEC
			 : p->how == MPA_IMAGE_CAPTURE_END ? S_END : S_EXIT;
	uint64_t ts = p->end_ts;
	uint8_t heapcls = st == S_END ? G_LIVE_AT_END : G_UNFREED; /* exec: G_EXEC */
	static const uint8_t kind_cls[MPA_REACH_COUNT_] = {
		[MPA_REACH_REACHABLE] = G_REACHABLE, [MPA_REACH_POSSIBLE] = G_POS_LOST,
		[MPA_REACH_INDIRECT] = G_IND_LOST, [MPA_REACH_DEFINITE] = G_DEF_LOST,
	};
	if (st == S_EXIT) {
		if (p->scanned) {
			L->images_scanned++;
			if (p->scan_threads > L->scan_threads_max)
				L->scan_threads_max = p->scan_threads;
		} else {
			L->images_unscanned++;
		}
	}
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(p, &cur));) {
		if (!program_block(b)) {
			/* the tracer's own (the heap model's one rule): left out */
			L->tracer_blocks++;
			L->tracer_bytes = sat_add(L->tracer_bytes, b->size);
			continue;
		}
		struct site *s = site_of(L, b->stack_id);
		if (st != S_END) {
			s->live_bytes -= b->size;
			s->live_blocks--;
		}
		/* exec replaces the whole address space: every block still
		 * live is released with it (inherited ones too), never a leak */
		if (st == S_EXEC) {
			if (group_add(L, G_EXEC, (uint8_t)st, p, b->stack_id, 0, b->size, b->ts,
				      ts) < 0)
				return -1;
			continue;
		}
		int32_t sp = mpa_leak_suppression_of(L, b->stack_id);
		if (sp >= 0) {
			L->supps[sp].blocks++;
			L->supps[sp].bytes = sat_add(L->supps[sp].bytes, b->size);
			L->supp_blocks++;
			L->supp_bytes = sat_add(L->supp_bytes, b->size);
			continue;
		}
		/* valgrind's kind when the process's exit scan gave the block one */
		uint8_t cls = heapcls;
		if (st == S_EXIT && p->scanned && b->reach && b->reach <= MPA_REACH_COUNT_)
			cls = kind_cls[b->reach - 1];
		if (group_add(L, cls, (uint8_t)st, p, b->stack_id, 0, b->size, b->ts, ts) < 0)
			return -1;
		struct topblk tb = {cls, (uint8_t)st, p->pid, p->path, b->stack_id,
				    b->ptr, b->size, b->ts, ts > b->ts ? ts - b->ts : 0};
		top_offer(L, &tb);
		if (st == S_END) {
			if (!s->end_blocks || b->ts < s->oldest_end)
				s->oldest_end = b->ts;
			s->end_bytes = sat_add(s->end_bytes, b->size);
			s->end_blocks++;
		}
	}
	uint64_t nmaps, npools;
	const struct mpa_map *maps = mpa_image_maps(p, &nmaps);
	for (uint64_t i = 0; i < nmaps; i++) {
		const struct mpa_map *m = &maps[i];
		/* brk/sbrk growth is the malloc arena itself */
		if (m->api == MPA_API_BRK || m->api == MPA_API_SBRK)
			continue;
		if (st == S_EXEC) {
			L->exec_maps++;
			L->exec_map_bytes = sat_add(L->exec_map_bytes, m->len);
			continue;
		}
		if (mpa_leak_suppression_of(L, m->stack_id) >= 0)
			continue;
		if (group_add(L, G_MAP, (uint8_t)st, p, m->stack_id, 0, m->len, m->ts, ts) < 0)
			return -1;
	}
	const struct mpa_pool *pools = mpa_image_pools(p, &npools);
	cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_pool_object(p, &cur));) {
		uint32_t name = 0;
		for (uint64_t i = 0; i < npools; i++)
			if (pools[i].id == b->aux)
				name = pools[i].name;
		if (st == S_EXEC) {
			L->exec_pool_objects++;
			L->exec_pool_object_bytes = sat_add(L->exec_pool_object_bytes, b->size);
			continue;
		}
		if (group_add(L, G_POOL_OBJECT, (uint8_t)st, p, b->stack_id, name, b->size, b->ts, ts) < 0)
			return -1;
	}
	for (uint64_t i = 0; i < npools; i++) {
		const struct mpa_pool *po = &pools[i];
		uint64_t bytes = po->capacity && po->obj_size > UINT64_MAX / po->capacity
					 ? UINT64_MAX
					 : po->obj_size * po->capacity;
		if (st == S_EXEC) {
			L->exec_pools++;
			continue;
		}
		if (group_add(L, G_POOL, (uint8_t)st, p, 0, po->name, bytes, po->ts, ts) < 0)
			return -1;
	}
	L->procs_seen++;
	if (st == S_EXIT)
		L->procs_exited++;
	else if (st == S_EXEC)
		L->procs_exec++;
	return 0;
}

/* A fork: the child's inherited copies are live blocks of their sites. */
static int leak_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct leak *L = state;
	if (sync_sites(L) < 0)
		return -1;
	(void)parent;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(child, &cur));) {
		if (!program_block(b))
			continue;
		struct site *s = site_of(L, b->stack_id);
		s->live_bytes += b->size;
		s->live_blocks++;
	}
	return 0;
}

/* ---- events --------------------------------------------------------------------------------- */

static void window_tick(struct leak *L, uint64_t ts);

static void site_sub(struct leak *L, const struct mpa_block *b)
{
	if (!b || !program_block(b))
		return;
	struct site *s = site_of(L, b->stack_id);
	s->live_bytes -= b->size;
	s->live_blocks--;
}

static void row_anomaly(struct leak *L, const struct mpa_row *r)
{
	if (!r->anomaly || r->anomaly >= MPA_ANOM_COUNT_)
		return;
	const struct mpt_batch *b = r->b;
	anomaly(L, (enum anomaly)(r->anomaly - 1), b->pid[r->i], r->ts, r->dup && !r->old &&
		r->anomaly == MPA_ANOM_ALLOC_LIVE ? r->dup->ptr : b->ptr[r->i], b->stack_id[r->i]);
}

static int leak_on_row(void *state, const struct mpa_row *r)
{
	struct leak *L = state;
	const struct mpt_batch *b = r->b;
	uint32_t i = r->i;
	unsigned kind = r->kind;
	if (sync_sites(L) < 0)
		return -1;
	if (kind == MPA_KIND_KALLOC) {
		L->ev_kalloc++;
		return 0;
	}
	if (kind == MPA_KIND_KFREE) {
		L->ev_kfree++;
		if (b->ptr[i] && !r->old)
			L->kfree_unknown++; /* allocated before the capture, mostly */
		return 0;
	}
	if (b->domain[i] != MPA_DOMAIN_USER)
		return 0;
	if (r->ts >= L->next_boundary)
		window_tick(L, r->ts);
	switch (kind) {
	case MPA_KIND_ALLOC:
	case MPA_KIND_REALLOC:
		if (kind == MPA_KIND_REALLOC)
			L->ev_realloc++;
		else if (!r->failed)
			L->ev_alloc++;
		if (r->failed) {
			L->ev_failed++;
			return 0;
		}
		row_anomaly(L, r);
		site_sub(L, r->old);
		site_sub(L, r->dup);
		if (r->blk) {
			if (!program_block(r->blk))
				return 0;
			struct site *s = site_of(L, r->blk->stack_id);
			s->live_bytes += r->blk->size;
			s->live_blocks++;
			s->allocs++;
			s->alloc_bytes = sat_add(s->alloc_bytes, r->blk->size);
		}
		return 0;
	case MPA_KIND_FREE:
		if (!b->ptr[i]) {
			L->ev_free_null++;
			return 0;
		}
		L->ev_free++;
		row_anomaly(L, r);
		site_sub(L, r->old);
		return 0;
	case MPA_KIND_MAP:
		if (b->api[i] != MPA_API_BRK && b->api[i] != MPA_API_SBRK)
			L->ev_map++;
		return 0;
	case MPA_KIND_UNMAP:
		if (b->api[i] != MPA_API_BRK && b->api[i] != MPA_API_SBRK)
			L->ev_unmap++;
		return 0;
	case MPA_KIND_POOL_CREATE:
	case MPA_KIND_POOL_ALLOC:
	case MPA_KIND_POOL_FREE:
		L->ev_pool++;
		row_anomaly(L, r);
		return 0;
	case MPA_KIND_POOL_DESTROY: {
		L->ev_pool++;
		if (!r->img)
			return 0;
		/* objects still taken from the pool were never returned */
		uint32_t id = b->pool_id[i], name = r->pool ? r->pool->name : 0;
		uint64_t cur = 0;
		for (const struct mpa_block *o; (o = mpa_image_next_pool_object(r->img, &cur));) {
			if (o->aux != id)
				continue;
			if (group_add(L, G_POOL_OBJECT, S_POOL_DESTROY, r->img, o->stack_id, name,
				      o->size, o->ts, r->ts) < 0)
				return -1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- growth windows --------------------------------------------------------------------------- */

static uint64_t boundary(const struct leak *L, uint32_t w)
{
	/* end of window w (exclusive); a span of the whole clock (hostile
	 * timestamps 0 .. 2^64 - 1) ends at the clock's end, never past it */
	long double span = (long double)(L->t1 - L->t0) + 1;
	long double off = span * (w + 1) / L->nwin;
	if (off >= (long double)(UINT64_MAX - L->t0))
		return UINT64_MAX;
	return L->t0 + (uint64_t)off;
}

static int snapshot(struct leak *L, uint32_t w)
{
	for (uint32_t s = 0; s < L->nsites; s++) {
		struct site *st = &L->sites[s];
		if (!st->win) {
			if (!st->live_bytes)
				continue;
			st->win = calloc(L->nwin, sizeof *st->win);
			if (!st->win)
				return -1;
		}
		st->win[w] = st->live_bytes;
	}
	return 0;
}

static void window_tick(struct leak *L, uint64_t ts)
{
	while (L->widx < L->nwin - 1 && ts >= L->next_boundary) {
		if (snapshot(L, L->widx) < 0)
			L->snap_failed = 1;
		L->widx++;
		L->next_boundary = L->widx < L->nwin - 1 ? boundary(L, L->widx) : UINT64_MAX;
	}
	if (L->widx >= L->nwin - 1)
		L->next_boundary = UINT64_MAX;
}

/* ---- the interface ------------------------------------------------------------------------------ */

static void leak_release(void *state);

/* "definite,possible" -> KIND_BIT mask; -1 when a name is unknown or none
 * is given. */
static int parse_kinds(const char *text, unsigned *mask)
{
	static const char *const names[MPA_REACH_COUNT_] = {
		[MPA_REACH_REACHABLE] = "reachable", [MPA_REACH_POSSIBLE] = "possible",
		[MPA_REACH_INDIRECT] = "indirect", [MPA_REACH_DEFINITE] = "definite",
	};
	unsigned m = 0;
	const char *p = text ? text : "";
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", ");
		int found = 0;
		if (n == 3 && !memcmp(p, "all", 3)) {
			m |= (1u << MPA_REACH_COUNT_) - 1;
			found = 1;
		}
		for (unsigned k = 0; k < MPA_REACH_COUNT_; k++)
			if (strlen(names[k]) == n && !memcmp(p, names[k], n)) {
				m |= KIND_BIT(k);
				found = 1;
			}
		if (!found)
			return -1;
		p += n;
	}
	if (!m)
		return -1;
	*mask = m;
	return 0;
}

void mpa_leak_kinds_text(unsigned kinds, char *buf, size_t len)
{
	static const char *const words[MPA_REACH_COUNT_] = {
		[MPA_REACH_DEFINITE] = "definitely", [MPA_REACH_INDIRECT] = "indirectly",
		[MPA_REACH_POSSIBLE] = "possibly", [MPA_REACH_REACHABLE] = "",
	};
	static const unsigned lost[] = {MPA_REACH_DEFINITE, MPA_REACH_INDIRECT, MPA_REACH_POSSIBLE};
	unsigned nlost = 0, shown = 0;
	size_t n = 0;
	for (unsigned i = 0; i < 3; i++)
		nlost += !!(kinds & KIND_BIT(lost[i]));
	if (!len)
		return;
	buf[0] = 0;
	for (unsigned i = 0; i < 3 && n < len; i++) {
		if (!(kinds & KIND_BIT(lost[i])))
			continue;
		shown++;
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      shown == 1 ? "" : shown == nlost ? " or " : ", ", words[lost[i]]);
	}
	if (nlost && n < len)
		n += (size_t)snprintf(buf + n, len - n, " lost");
	if ((kinds & KIND_BIT(MPA_REACH_REACHABLE)) && n < len)
		snprintf(buf + n, len - n, "%sstill reachable", nlost ? ", or " : "");
}

void mpa_leak_gate_totals(const struct leak *L, uint64_t *bytes, uint64_t *blocks)
{
	static const uint8_t cls_of[MPA_REACH_COUNT_] = {
		[MPA_REACH_REACHABLE] = G_REACHABLE, [MPA_REACH_POSSIBLE] = G_POS_LOST,
		[MPA_REACH_INDIRECT] = G_IND_LOST, [MPA_REACH_DEFINITE] = G_DEF_LOST,
	};
	uint64_t by = L->cls_bytes[G_UNFREED], bl = L->cls_blocks[G_UNFREED];
	for (unsigned k = 0; k < MPA_REACH_COUNT_; k++)
		if (L->gate_kinds & KIND_BIT(k)) {
			by = sat_add(by, L->cls_bytes[cls_of[k]]);
			bl += L->cls_blocks[cls_of[k]];
		}
	*bytes = by;
	*blocks = bl;
}

static int leak_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct leak *L = calloc(1, sizeof *L);
	if (!L) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	*state = L;
	L->ctx = ctx;
	const mpa_config *c = ctx->config;
	L->growth_min_age_s = mpa_config_float(c, "leak", "growth_min_age_s");
	L->growth_min_bytes = mpa_config_int(c, "leak", "growth_min_bytes");
	int64_t nwin = mpa_config_int(c, "leak", "growth_windows");
	L->growth_min_monotonic = mpa_config_float(c, "leak", "growth_min_monotonic");
	int64_t mex = mpa_config_int(c, "leak", "max_examples");
	int64_t topb = mpa_config_int(c, "leak", "top_blocks");
	int64_t tops = mpa_config_int(c, "leak", "top_sites");
	if (!(L->growth_min_age_s >= 0) || L->growth_min_age_s > 1e9) {
		mpa_errf(err, errlen, "[leak] growth_min_age_s must be between 0 and 1e9");
		goto fail;
	}
	if (L->growth_min_bytes < 0) {
		mpa_errf(err, errlen, "[leak] growth_min_bytes must not be negative");
		goto fail;
	}
	if (nwin < 2 || nwin > 1000) {
		mpa_errf(err, errlen, "[leak] growth_windows must be between 2 and 1000");
		goto fail;
	}
	if (!(L->growth_min_monotonic >= 0 && L->growth_min_monotonic <= 1)) {
		mpa_errf(err, errlen, "[leak] growth_min_monotonic must be between 0 and 1");
		goto fail;
	}
	if (parse_kinds(mpa_config_string(c, "leak", "leak_kinds"), &L->gate_kinds) < 0) {
		mpa_errf(err, errlen,
			 "[leak] leak_kinds must list definite, indirect, possible, reachable "
			 "or all, comma-separated");
		goto fail;
	}
	if (mpa_config_int(c, "leak", "fail_on_leak") < -1) {
		mpa_errf(err, errlen, "[leak] fail_on_leak must be a byte count, or -1 (off)");
		goto fail;
	}
	if (mex < 0 || mex > 100000 || topb < 0 || topb > 1000000 || tops < 0 || tops > 1000) {
		mpa_errf(err, errlen,
		       "[leak] max_examples (0..100000), top_blocks (0..1000000) and top_sites (0..1000) out of range");
		goto fail;
	}
	L->nwin = (uint32_t)nwin;
	L->max_examples = (uint32_t)mex;
	L->top_n = (uint32_t)topb;
	L->top_sites = (uint32_t)tops;

	/* sites: one per stack id */
	uint32_t ns = ctx->reader ? mpt_reader_stack_count(ctx->reader) : 0;
	L->nsites = ns + 1;
	L->sites_reader = ctx->reader;
	L->sites = calloc(L->nsites, sizeof *L->sites);
	L->top = calloc(L->top_n ? L->top_n : 1, sizeof *L->top);
	if (!L->sites || !L->top)
		goto oom;
	for (uint32_t s = 0; s < L->nsites; s++)
		L->sites[s].supp = -2;
	for (int a = 0; a < A_NANOM; a++) {
		L->ex[a] = calloc(L->max_examples ? L->max_examples : 1, sizeof *L->ex[a]);
		if (!L->ex[a])
			goto oom;
	}

	if (mpa_leak_load_suppressions(L, err, errlen) < 0)
		goto fail;

	/* the analyzed span, from the chunk index and --from/--to */
	uint64_t lo = UINT64_MAX, hi = 0;
	uint32_t nch = ctx->reader ? mpt_reader_chunk_count(ctx->reader) : 0;
	for (uint32_t k = 0; k < nch; k++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(ctx->reader, k, &ci) != MPT_OK || !ci.rows)
			continue;
		if (ci.ts_min < lo)
			lo = ci.ts_min;
		if (ci.ts_max > hi)
			hi = ci.ts_max;
	}
	if (lo > hi)
		lo = hi = 0;
	L->base = lo;
	if (ctx->ts_from > lo)
		lo = ctx->ts_from;
	if (ctx->ts_to && ctx->ts_to - 1 < hi)
		hi = ctx->ts_to - 1;
	if (hi < lo)
		hi = lo;
	L->t0 = lo;
	L->t1 = hi;
	L->next_boundary = boundary(L, 0);
	return 0;
oom:
	mpa_errf(err, errlen, "out of memory");
fail:
	leak_release(L);
	*state = NULL;
	return -1;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a;
	const struct group *y = *(const struct group *const *)b;
	/* the sites table's order: the worst kinds first */
	static const uint8_t rank[G_NCLASS] = {
		[G_DEF_LOST] = 0, [G_IND_LOST] = 1, [G_POS_LOST] = 2, [G_REACHABLE] = 3,
		[G_UNFREED] = 4, [G_LIVE_AT_END] = 5, [G_MAP] = 6, [G_POOL_OBJECT] = 7,
		[G_POOL] = 8, [G_KERNEL] = 9, [G_EXEC] = 10,
	};
	if (x->cls != y->cls)
		return rank[x->cls] < rank[y->cls] ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->image != y->image)
		return x->image < y->image ? -1 : 1;
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int leak_end(void *state, char *err, size_t errlen)
{
	struct leak *L = state;
	if (sync_sites(L) < 0)
		goto oom;
	/* the remaining windows see the final state */
	while (L->widx < L->nwin) {
		if (snapshot(L, L->widx) < 0)
			goto oom;
		L->widx++;
	}
	if (L->snap_failed)
		goto oom;

	/* growth suspects */
	L->growth = malloc(L->nsites * sizeof *L->growth);
	L->growth_rate = malloc(L->nsites * sizeof *L->growth_rate);
	L->growth_mono = malloc(L->nsites * sizeof *L->growth_mono);
	if (!L->growth || !L->growth_rate || !L->growth_mono)
		goto oom;
	for (uint32_t s = 0; s < L->nsites; s++) {
		struct site *st = &L->sites[s];
		if (!st->win || !st->end_blocks)
			continue;
		uint64_t last = st->win[L->nwin - 1];
		if (st->end_bytes < (uint64_t)L->growth_min_bytes)
			continue;
		double age = (double)(L->t1 - st->oldest_end) / NS_PER_S;
		if (age < L->growth_min_age_s)
			continue;
		uint32_t first = 0;
		while (first < L->nwin && !st->win[first])
			first++;
		if (first >= L->nwin - 1 || last <= st->win[first])
			continue;
		uint32_t steps = L->nwin - 1 - first, up = 0;
		for (uint32_t w = first; w + 1 < L->nwin; w++)
			if (st->win[w + 1] >= st->win[w])
				up++;
		double mono = (double)up / steps;
		if (mono < L->growth_min_monotonic)
			continue;
		/* least-squares slope of live bytes over the window ends */
		double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
		for (uint32_t w = first; w < L->nwin; w++) {
			double x = (double)(boundary(L, w) - L->t0) / NS_PER_S;
			double y = (double)st->win[w];
			sx += x;
			sy += y;
			sxx += x * x;
			sxy += x * y;
			n++;
		}
		double den = n * sxx - sx * sx;
		double slope = den > 0 ? (n * sxy - sx * sy) / den : 0;
		L->growth[L->ngrowth] = s;
		L->growth_rate[L->ngrowth] = slope;
		L->growth_mono[L->ngrowth] = mono;
		L->ngrowth++;
		L->growth_bytes = sat_add(L->growth_bytes, st->end_bytes);
	}

	/* groups in output order */
	L->sorted = malloc((L->gused ? L->gused : 1) * sizeof *L->sorted);
	if (!L->sorted)
		goto oom;
	for (uint64_t k = 0; k < L->gcap; k++)
		if (L->groups[k].used) {
			struct group *g = &L->groups[k];
			L->sorted[L->nsorted++] = g;
			L->cls_blocks[g->cls] += g->blocks;
			L->cls_bytes[g->cls] = sat_add(L->cls_bytes[g->cls], g->bytes);
			L->cls_groups[g->cls]++;
		}
	qsort(L->sorted, L->nsorted, sizeof *L->sorted, cmp_group);
	L->ended = 1;
	return 0;
oom:
	mpa_errf(err, errlen, "out of memory");
	return -1;
}

static void leak_release(void *state)
{
	struct leak *L = state;
	if (!L)
		return;
	if (L->sites)
		for (uint32_t s = 0; s < L->nsites; s++)
			free(L->sites[s].win);
	free(L->sites);
	for (size_t k = 0; k < L->nsupps; k++) {
		free(L->supps[k].pattern);
		free(L->supps[k].source);
	}
	free(L->supps);
	free(L->groups);
	free(L->kips);
	free(L->top);
	for (int a = 0; a < A_NANOM; a++)
		free(L->ex[a]);
	free(L->growth);
	free(L->growth_rate);
	free(L->growth_mono);
	free(L->sorted);
	free(L);
}

/* The CI gate: [leak] fail_on_leak (--fail-on-leak) on the kinds of [leak]
 * leak_kinds (--leak-kinds); processes recorded without a reachability
 * scan count with everything they did not free (their kinds are unknown). */
static int leak_gate(void *state, char *line, size_t len)
{
	struct leak *L = state;
	int64_t gate = mpa_config_int(L->ctx->config, "leak", "fail_on_leak");
	uint64_t bytes, blocks;
	mpa_leak_gate_totals(L, &bytes, &blocks);
	if (gate < 0 || bytes <= (uint64_t)gate)
		return 0;
	char kinds[96];
	mpa_leak_kinds_text(L->gate_kinds, kinds, sizeof kinds);
	uint64_t unk = L->cls_bytes[G_UNFREED];
	if (unk == bytes)
		snprintf(line, len,
			 "leak gate: %" PRIu64 " bytes in %" PRIu64
			 " blocks not freed at exit (no reachability scan: kinds unknown) (limit %" PRId64 ")",
			 bytes, blocks, gate);
	else if (unk)
		snprintf(line, len,
			 "leak gate: %" PRIu64 " bytes in %" PRIu64 " blocks %s or not freed at exit "
			 "without a scan (%" PRIu64 " bytes) (limit %" PRId64 ")",
			 bytes, blocks, kinds, unk, gate);
	else
		snprintf(line, len, "leak gate: %" PRIu64 " bytes in %" PRIu64 " blocks %s (limit %" PRId64 ")",
			 bytes, blocks, kinds, gate);
	return 1;
}

static void leak_headline(void *state, char *line, size_t len)
{
	struct leak *L = state;
	size_t n = 0;
	if (L->images_scanned)
		n = (size_t)snprintf(line, len,
				     "%" PRIu64 " bytes in %" PRIu64 " blocks definitely lost, %" PRIu64
				     " indirectly, %" PRIu64 " possibly, %" PRIu64 " still reachable; ",
				     L->cls_bytes[G_DEF_LOST], L->cls_blocks[G_DEF_LOST],
				     L->cls_bytes[G_IND_LOST], L->cls_bytes[G_POS_LOST],
				     L->cls_bytes[G_REACHABLE]);
	if (n < len && (L->cls_blocks[G_UNFREED] || !L->images_scanned))
		n += (size_t)snprintf(line + n, len - n,
				      "%" PRIu64 " bytes in %" PRIu64 " blocks not freed at exit%s; ",
				      L->cls_bytes[G_UNFREED], L->cls_blocks[G_UNFREED],
				      L->images_unscanned ? " (no reachability scan)" : "");
	if (n < len)
		n += (size_t)snprintf(line + n, len - n,
				      "%" PRIu64 " bytes in %" PRIu64 " blocks live at capture end",
				      L->cls_bytes[G_LIVE_AT_END], L->cls_blocks[G_LIVE_AT_END]);
	if (L->cls_blocks[G_EXEC] && n < len)
		snprintf(line + n, len - n,
			 "; %" PRIu64 " bytes in %" PRIu64 " blocks released by exec (not leaks)",
			 L->cls_bytes[G_EXEC], L->cls_blocks[G_EXEC]);
}

static const struct mpa_cli_flag leak_flags[] = {
	{"suppressions", "FILE", "leak", "suppressions",
	 "leak suppressions ('leak:PATTERN' / 'leak-site:PATTERN' lines)"},
	{"fail-on-leak", "BYTES", "leak", "fail_on_leak",
	 "exit 3 when more than BYTES bytes of the --leak-kinds are lost"},
	{"leak-kinds", "KINDS", "leak", "leak_kinds",
	 "kinds --fail-on-leak counts: definite,indirect,possible,reachable or all "
	 "(default definite,possible)"},
	{NULL, NULL, NULL, NULL, NULL}
};

const struct mpa_analyzer mpa_analyzer_leak = {
	.name = "leak",
	.summary = "blocks never freed (valgrind's leak kinds with the exit scan, else not freed "
		   "at exit; live at end), growth suspects, unreleased maps and pools, anomalies "
		   "(fragmentation: --frag)",
	.kinds = MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
		 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_MAP) |
		 MPT_KINDBIT(MPA_KIND_UNMAP) | MPT_KINDBIT(MPA_KIND_POOL_CREATE) |
		 MPT_KINDBIT(MPA_KIND_POOL_ALLOC) | MPT_KINDBIT(MPA_KIND_POOL_FREE) |
		 MPT_KINDBIT(MPA_KIND_POOL_DESTROY) | MPT_KINDBIT(MPA_KIND_PROC_EXEC) |
		 MPT_KINDBIT(MPA_KIND_PROC_EXIT) | MPT_KINDBIT(MPA_KIND_KALLOC) |
		 MPT_KINDBIT(MPA_KIND_KFREE) | MPT_KINDBIT(MPA_KIND_LEAK_SCAN),
	.columns = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) | MPT_COLBIT(MPT_COL_PID) |
		   MPT_COLBIT(MPT_COL_DOMAIN) | MPT_COLBIT(MPT_COL_FLAGS) |
		   MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_NEW_PTR) |
		   MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_API) |
		   MPT_COLBIT(MPT_COL_STACK_ID) | MPT_COLBIT(MPT_COL_POOL_ID) |
		   MPT_COLBIT(MPT_COL_STR_ID) | MPT_COLBIT(MPT_COL_IP) | MPT_COLBIT(MPT_COL_ORDER),
	.options = leak_options,
	.flags = leak_flags,
	.enable_section = "alerts",
	.enable_key = "leak_detection_enabled",
	.begin = leak_begin,
	.on_row = leak_on_row,
	.on_image_end = leak_image_end,
	.on_fork = leak_fork,
	.end = leak_end,
	.gate = leak_gate,
	.headline = leak_headline,
	.emit = mpa_leak_emit,
	.release = leak_release,
};

