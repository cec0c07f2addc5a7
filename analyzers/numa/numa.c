/* The NUMA analyzer: bytes allocated and live per node over time (a block's
 * node: the heap model's, i.e. kalloc's node or the allocating cpu's node
 * in the topology), sampled placements (numa_place rows: the node the page
 * of a new block is on) against the node of the cpu that allocated it →
 * remote ratios per thread and per allocation site, node imbalance, and
 * placement advice against [numa] migration_threshold.  A capture of one
 * node, or without a topology, says so instead.  Metrics:
 * doc/analyzers-numa.md.  Memory: per node, per thread and per sampled
 * site. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numa.h"

static const struct mpa_option numa_options[] = {
	{"numa", "migration_threshold", MPA_OPT_FLOAT, "0.8",
	 "advise binding or migration when this share of a thread's or site's sampled memory is "
	 "remote, or one node holds this share of all allocated bytes (fraction 0..1)"},
	{"numa", "top_sites", MPA_OPT_INT, "20", "allocation sites reported (count)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

static int numa_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct numa_state *N = calloc(1, sizeof *N);
	if (!N) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	N->ctx = ctx;
	N->max_seen_node = -1;
	N->threshold = ctx->config ? mpa_config_float(ctx->config, "numa", "migration_threshold")
				   : 0.8;
	int64_t top = ctx->config ? mpa_config_int(ctx->config, "numa", "top_sites") : 20;
	if (!(N->threshold > 0 && N->threshold <= 1)) {
		free(N);
		mpa_errf(err, errlen, "[numa] migration_threshold must be above 0 and at most 1");
		return -1;
	}
	if (top < 1 || top > 100000) {
		free(N);
		mpa_errf(err, errlen, "[numa] top_sites must be between 1 and 100000");
		return -1;
	}
	N->top_sites = (uint32_t)top;
	N->topo = ctx->reader ? mpt_reader_topology(ctx->reader) : NULL;
	if (N->topo && N->topo->nnodes && N->topo->cpu_node) {
		N->nnodes = N->topo->nnodes;
		N->active = N->nnodes >= 2;
	} else {
		N->topo = NULL;
	}
	uint64_t a = ctx->ts_from ? ctx->ts_from : ctx->span_first;
	uint64_t b = ctx->ts_to ? ctx->ts_to : ctx->span_last;
	if (b < a)
		b = a;
	N->t0 = a;
	N->width = (b - a) / NU_BUCKETS + 1;
	if (N->active) {
		N->nodes = calloc(N->nnodes, sizeof *N->nodes);
		N->buckets = calloc((size_t)NU_BUCKETS * N->nnodes, sizeof *N->buckets);
		if (!N->nodes || !N->buckets) {
			free(N->nodes);
			free(N->buckets);
			free(N);
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
	}
	*state = N;
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static unsigned bucket_of(const struct numa_state *N, uint64_t ts)
{
	uint64_t i = ts > N->t0 ? (ts - N->t0) / N->width : 0;
	return i < NU_BUCKETS ? (unsigned)i : NU_BUCKETS - 1;
}

/* Closes the buckets before ts's: their live_end is the live now. */
static void advance(struct numa_state *N, uint64_t ts)
{
	unsigned k = bucket_of(N, ts);
	for (; N->cur < k; N->cur++)
		for (uint32_t n = 0; n < N->nnodes; n++)
			N->buckets[(size_t)N->cur * N->nnodes + n].live_end =
				sat_add(N->nodes[n].live, N->nodes[n].klive);
}

/* The cpu's node in the topology, -1 when unknown. */
static int32_t cpu_node(const struct numa_state *N, uint32_t cpu)
{
	if (!N->topo || cpu >= N->topo->ncpus)
		return -1;
	int32_t n = N->topo->cpu_node[cpu];
	return n >= 0 && (uint32_t)n < N->nnodes ? n : -1;
}

/* Program blocks only: the tracer's, the start-up's and inherited copies
 * (counted in the parent) are left out. */
static int counted(const struct mpa_block *b, int kernel)
{
	return kernel || !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP | MPA_BLK_INHERITED));
}

static void live_add(struct numa_state *N, const struct mpa_block *b, int kernel, uint64_t ts)
{
	struct nu_node *n = &N->nodes[b->node];
	if (kernel)
		n->klive = sat_add(n->klive, b->size);
	else
		n->live = sat_add(n->live, b->size);
	if (sat_add(n->live, n->klive) > n->peak) {
		n->peak = sat_add(n->live, n->klive);
		n->peak_ts = ts;
	}
}

static void live_sub(struct numa_state *N, const struct mpa_block *b, int kernel)
{
	struct nu_node *n = &N->nodes[b->node];
	uint64_t *v = kernel ? &n->klive : &n->live;
	*v = *v > b->size ? *v - b->size : 0;
}

static int known_node(const struct numa_state *N, const struct mpa_block *b)
{
	return b->node >= 0 && (uint32_t)b->node < N->nnodes;
}

static struct nu_thread *thread_of(struct numa_state *N, const struct mpa_row *r)
{
	uint32_t img = r->img ? r->img->id : 0;
	int32_t tid = r->b->tid[r->i];
	uint64_t key = (uint64_t)img << 32 | (uint32_t)tid;
	uint32_t k = mpa_u64map_get(&N->thread_index, key);
	if (k != UINT32_MAX)
		return &N->threads[k];
	if (N->nthreads >= UINT32_MAX - 1)
		return NULL;
	if (N->nthreads == N->capthreads) {
		size_t nc = N->capthreads ? N->capthreads * 2 : 16;
		struct nu_thread *n = realloc(N->threads, nc * sizeof *n);
		if (!n)
			return NULL;
		N->threads = n;
		N->capthreads = nc;
	}
	struct nu_thread *t = &N->threads[N->nthreads];
	memset(t, 0, sizeof *t);
	t->cpu_node = calloc(N->nnodes, sizeof *t->cpu_node);
	t->s.mem_node = calloc(N->nnodes, sizeof *t->s.mem_node);
	if (!t->cpu_node || !t->s.mem_node ||
	    mpa_u64map_put(&N->thread_index, key, (uint32_t)N->nthreads) < 0) {
		free(t->cpu_node);
		free(t->s.mem_node);
		return NULL;
	}
	t->img = img;
	t->pid = r->img ? r->img->pid : r->b->pid[r->i];
	t->tid = tid;
	N->nthreads++;
	return t;
}

static struct nu_site *site_of(struct numa_state *N, uint32_t stack_id)
{
	uint32_t k = mpa_u64map_get(&N->site_index, stack_id);
	if (k != UINT32_MAX)
		return &N->sites[k];
	if (N->nsites >= UINT32_MAX - 1)
		return NULL;
	if (N->nsites == N->capsites) {
		size_t nc = N->capsites ? N->capsites * 2 : 16;
		struct nu_site *n = realloc(N->sites, nc * sizeof *n);
		if (!n)
			return NULL;
		N->sites = n;
		N->capsites = nc;
	}
	struct nu_site *s = &N->sites[N->nsites];
	memset(s, 0, sizeof *s);
	s->stack_id = stack_id;
	s->s.mem_node = calloc(N->nnodes, sizeof *s->s.mem_node);
	if (!s->s.mem_node || mpa_u64map_put(&N->site_index, stack_id, (uint32_t)N->nsites) < 0) {
		free(s->s.mem_node);
		return NULL;
	}
	N->nsites++;
	return s;
}

static void sample_add(struct nu_samples *s, int32_t mem, int remote, uint64_t bytes)
{
	s->samples++;
	s->mem_node[mem]++;
	s->bytes = sat_add(s->bytes, bytes);
	if (remote) {
		s->remote++;
		s->remote_bytes = sat_add(s->remote_bytes, bytes);
	}
}

static int on_place(struct numa_state *N, const struct mpa_row *r)
{
	const struct mpt_batch *b = r->b;
	int32_t mem = b->node[r->i];
	if (mem < 0 || (uint32_t)mem >= N->nnodes) {
		N->place_bad_node++;
		return 0;
	}
	N->nodes[mem].samples++;
	int32_t cn = cpu_node(N, b->cpu[r->i]);
	if (cn < 0) {
		N->place_unknown_cpu++;
		return 0;
	}
	const struct mpa_block *blk = r->img ? mpa_image_find(r->img, b->ptr[r->i]) : NULL;
	if (!blk)
		N->place_no_block++;
	uint64_t bytes = blk ? blk->size : 0;
	struct nu_thread *t = thread_of(N, r);
	if (!t)
		return -1;
	sample_add(&t->s, mem, mem != cn, bytes);
	if (blk) {
		struct nu_site *s = site_of(N, blk->stack_id);
		if (!s)
			return -1;
		sample_add(&s->s, mem, mem != cn, bytes);
	}
	return 0;
}

static int numa_on_row(void *state, const struct mpa_row *r)
{
	struct numa_state *N = state;
	const struct mpt_batch *b = r->b;
	/* what any capture can say: the nodes its records name */
	if ((r->kind == MPA_KIND_NUMA_PLACE || r->kind == MPA_KIND_KALLOC) &&
	    b->node[r->i] > N->max_seen_node)
		N->max_seen_node = b->node[r->i];
	if (r->kind == MPA_KIND_NUMA_PLACE)
		N->place_rows++;
	if (!N->active)
		return 0;
	advance(N, r->ts);
	int kernel = r->kind == MPA_KIND_KALLOC || r->kind == MPA_KIND_KFREE;
	if (r->kind == MPA_KIND_NUMA_PLACE)
		return on_place(N, r);
	if (r->failed)
		return 0;
	if (r->dup && counted(r->dup, kernel) && known_node(N, r->dup))
		live_sub(N, r->dup, kernel);
	if (r->old && counted(r->old, kernel) && known_node(N, r->old))
		live_sub(N, r->old, kernel);
	const struct mpa_block *blk = r->blk;
	if (!blk || !counted(blk, kernel))
		return 0;
	if (kernel && b->node[r->i] < 0)
		N->kalloc_any++;
	if (!known_node(N, blk)) {
		N->unknown_node_allocs++;
		N->unknown_node_bytes = sat_add(N->unknown_node_bytes, blk->size);
		return 0;
	}
	struct nu_node *n = &N->nodes[blk->node];
	struct nu_bucket *k = &N->buckets[(size_t)N->cur * N->nnodes + (uint32_t)blk->node];
	if (kernel) {
		n->kallocs++;
		n->kbytes = sat_add(n->kbytes, blk->size);
		k->kbytes = sat_add(k->kbytes, blk->size);
		if (b->node[r->i] >= 0)
			n->kallocs_requested++;
	} else {
		n->allocs++;
		n->bytes = sat_add(n->bytes, blk->size);
		k->bytes = sat_add(k->bytes, blk->size);
		int32_t cn = cpu_node(N, b->cpu[r->i]);
		if (cn >= 0) {
			struct nu_thread *t = thread_of(N, r);
			if (!t)
				return -1;
			t->allocs++;
			t->bytes = sat_add(t->bytes, blk->size);
			t->cpu_node[cn]++;
		}
	}
	live_add(N, blk, kernel, r->ts);
	return 0;
}

/* An exited or exec'd image's blocks leave the live bytes; at the capture's
 * end they stay (live at the end). */
static int numa_on_image_end(void *state, const struct mpa_image *img)
{
	struct numa_state *N = state;
	if (!N->active || img->how == MPA_IMAGE_CAPTURE_END)
		return 0;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(img, &cur));)
		if (counted(b, img->kernel) && known_node(N, b))
			live_sub(N, b, img->kernel);
	return 0;
}

static int numa_end(void *state, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	struct numa_state *N = state;
	if (N->active) {
		for (; N->cur < NU_BUCKETS; N->cur++)
			for (uint32_t n = 0; n < N->nnodes; n++)
				N->buckets[(size_t)N->cur * N->nnodes + n].live_end =
					sat_add(N->nodes[n].live, N->nodes[n].klive);
		N->cur = NU_BUCKETS - 1;
	}
	return 0;
}

double mpa_numa_remote_ratio(const struct nu_samples *s)
{
	return s->samples ? (double)s->remote / (double)s->samples : -1;
}

int32_t mpa_numa_argmax(const uint64_t *v, uint32_t nnodes)
{
	int32_t best = -1;
	for (uint32_t n = 0; n < nnodes; n++)
		if (v[n] && (best < 0 || v[n] > v[best]))
			best = (int32_t)n;
	return best;
}

static void numa_headline(void *state, char *line, size_t len)
{
	struct numa_state *N = state;
	if (!N->topo) {
		snprintf(line, len, "no topology in this capture: NUMA placement not analyzed");
		return;
	}
	if (!N->active) {
		snprintf(line, len, "1 NUMA node: no placement to analyze");
		return;
	}
	struct nu_samples all = {0};
	for (size_t i = 0; i < N->nthreads; i++) {
		all.samples += N->threads[i].s.samples;
		all.remote += N->threads[i].s.remote;
	}
	if (all.samples)
		snprintf(line, len, "%" PRIu32 " nodes; %" PRIu64 " placement samples, %.1f %% remote",
			 N->nnodes, all.samples, 100.0 * (double)all.remote / (double)all.samples);
	else
		snprintf(line, len, "%" PRIu32 " nodes; no placement samples", N->nnodes);
}

static void numa_release(void *state)
{
	struct numa_state *N = state;
	if (!N)
		return;
	for (size_t i = 0; i < N->nthreads; i++) {
		free(N->threads[i].cpu_node);
		free(N->threads[i].s.mem_node);
	}
	for (size_t i = 0; i < N->nsites; i++)
		free(N->sites[i].s.mem_node);
	free(N->threads);
	free(N->sites);
	free(N->nodes);
	free(N->buckets);
	mpa_u64map_release(&N->thread_index);
	mpa_u64map_release(&N->site_index);
	free(N);
}

const struct mpa_analyzer mpa_analyzer_numa = {
	.name = "numa",
	.summary = "bytes per NUMA node over time, remote placement per thread and site, imbalance",
	.kinds = MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
		 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_KALLOC) |
		 MPT_KINDBIT(MPA_KIND_KFREE) | MPT_KINDBIT(MPA_KIND_NUMA_PLACE),
	.columns = MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_CPU) |
		   MPT_COLBIT(MPT_COL_NODE) | MPT_COLBIT(MPT_COL_PTR),
	.options = numa_options,
	.begin = numa_begin,
	.on_row = numa_on_row,
	.on_image_end = numa_on_image_end,
	.end = numa_end,
	.emit = mpa_numa_emit,
	.release = numa_release,
	.headline = numa_headline,
};
