/* mpt_bench — size and speed of the .mpt format on a malloc-shaped stream.
 *
 *   mpt_bench [-n RECORDS] [-o DIR] [--seed N] [--keep] [--ctf-bpe X] [--also FILE.mpt]
 *
 * The records come from a deterministic model of a real malloc-heavy program
 * recorded with LTTng's stock libc wrapper (bench/README.md has the recording
 * and the numbers the model follows): per-thread glibc arenas with tcache
 * (7 LIFO entries per 16-byte class), per-class free lists, chunk splitting
 * and a growing top chunk; sizes from the observed histogram with its long
 * tail; loop bodies that repeat the same calls from the same sites with
 * their usual sizes (half the blocks die within ~16 events); timestamps 100-300 ns
 * apart on a ~10 ns grid with a long tail; two busy threads that take turns
 * in long runs (plus a quiet main thread), each mostly on one CPU.
 *
 * It writes N records (default 10M) with libmpt, reads them back with every
 * column and with two, and prints bytes/record (overall and per column),
 * records/s for writing and scanning, the projection speedup, and the ratio
 * to the CTF trace's bytes/event.  Nothing here needs a trace at run time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpa/mpt.h"

/* ---- observations the model follows (bench/README.md) -------------------- */

/* CTF bytes/event of the LTTng recording of the reference program. */
#define CTF_BPE_MEASURED 34.87
/* The figure in the issue for its reference workload. */
#define CTF_BPE_ISSUE 36.5
/* zstd -19 of the recording's CTF streams (53 819 883 bytes), and the
 * issue's figures for zstd -19 and heaptrack on its workload. */
#define ZSTD19_BPE_MEASURED 5.13
#define ZSTD19_BPE_ISSUE 7.6
#define HEAPTRACK_BPE_ISSUE 2.1

/* ts deltas between consecutive events (ns): CDF points (quantile, value). */
static const double ts_cdf[][2] = {
	{ 0.0, 90 },    { 0.01, 110 },  { 0.10, 120 },   { 0.25, 130 },  { 0.50, 151 },
	{ 0.75, 200 },  { 0.90, 271 },  { 0.99, 751 },   { 0.999, 4267 }, { 1.0, 40000 },
};
/* Most deltas are a multiple of 10 ns; ~27 % are one more. */
#define TS_PLUS1 0.27

/* Lifetime (thread events) of the blocks that outlive their loop. */
static const double long_life_cdf[][2] = {
	{ 0.0, 256 }, { 0.05, 4096 }, { 0.15, 65536 }, { 1.0, 3.7e6 },
};

/* Request sizes: the 30 most frequent (92.4 % of all), then a long tail. */
static const struct { uint32_t size; double p; } top_sizes[] = {
	{ 32, .1476 }, { 28, .0646 },   { 53, .0624 },  { 67, .0559 },  { 64, .0515 },
	{ 72, .0451 }, { 48, .0449 },   { 55, .0444 },  { 120, .0302 }, { 152, .0299 },
	{ 69, .0295 }, { 1, .0294 },    { 1094, .0294 }, { 68, .0280 }, { 20, .0269 },
	{ 58, .0268 }, { 51, .0149 },   { 144, .0148 }, { 192, .0148 }, { 96, .0148 },
	{ 160, .0148 }, { 128, .0148 }, { 155, .0147 }, { 60, .0134 },  { 70, .0128 },
	{ 21, .0125 }, { 54, .0112 },   { 38, .0111 },  { 57, .0067 },  { 66, .0060 },
};

/* Among allocating calls (malloc, calloc, realloc): calloc, realloc(NULL)
 * and realloc of a live block. */
#define P_CALLOC 0.0151
#define P_REALLOC_NULL 0.15
#define P_REALLOC_LIVE 0.10

/* Call sites seen per kind, and how often a site asks its usual size. */
#define SITES_MALLOC 233
#define SITES_CALLOC 21
#define SITES_REALLOC 42
#define SITES_FREE 530
#define P_SITE_SIZE 0.66   /* when the loop body is made */
#define P_SIZE_VARY 0.06   /* each time it runs */

/* Blocks: kept past their loop; freed when the loop iteration ends. */
#define P_KEEP 0.016
#define P_ITER_SCOPED 0.4
/* Bursts: a loop inside the body fills a container with blocks of one site
 * (8-48 of them), all freed when the body ends. */
#define P_BURST 0.002

/* Loop bodies: how many, and their length in calls (log-uniform). */
#define NTMPL 100
#define TMPL_MIN 6
#define TMPL_MAX 200

/* Of the allocations glibc serves without an exact fit in its free lists,
 * this share splits a bigger free chunk (else the top chunk grows). */
#define P_SPLIT 0.8

/* Threads: two busy ones taking turns in long runs, a quiet main thread. */
#define RUN_MEDIAN 25000

/* ---- a small deterministic RNG ------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double rndu(void)
{
	return (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t rndn(uint32_t n)
{
	return (uint32_t)(((rnd64() >> 32) * (uint64_t)n) >> 32);
}

/* Inverse of a piecewise-linear CDF. */
static double from_cdf(const double (*cdf)[2], size_t n)
{
	double u = rndu();

	for (size_t i = 1; i < n; i++) {
		if (u <= cdf[i][0]) {
			double f = (u - cdf[i - 1][0]) / (cdf[i][0] - cdf[i - 1][0]);

			return cdf[i - 1][1] + f * (cdf[i][1] - cdf[i - 1][1]);
		}
	}
	return cdf[n - 1][1];
}

/* Zipf-like choice in [0, n): small values are much more popular. */
static uint32_t zipf(uint32_t n)
{
	double u = rndu();

	return (uint32_t)((double)n * u * u * u) % n;
}

static uint32_t draw_size(void)
{
	double u = rndu(), acc = 0;

	for (size_t i = 0; i < sizeof(top_sizes) / sizeof(top_sizes[0]); i++) {
		acc += top_sizes[i].p;
		if (u < acc)
			return top_sizes[i].size;
	}
	/* the tail (7.6 %): log-uniform, most below 2 KiB, a few up to 100 KiB */
	if (rndu() < 0.85)
		return (uint32_t)exp(log(2.0) + rndu() * (log(2048.0) - log(2.0)));
	return (uint32_t)exp(log(2048.0) + rndu() * (log(104000.0) - log(2048.0)));
}

static void *grow(void *p, uint32_t *cap, size_t elem)
{
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(p, (size_t)*cap * elem);
	if (!p) {
		fprintf(stderr, "mpt_bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- the glibc-like allocator model -------------------------------------- */

#define NCLASS 8192        /* 16-byte chunk classes up to 128 KiB */
#define TCACHE_CLASSES 65  /* chunks up to 1040 bytes */
#define TCACHE_COUNT 7
#define FAST_CLASSES 9     /* fastbins: chunks up to 128 bytes, LIFO */
#define RECENT 8           /* recent frees per class kept for the statistics */

/* Freed chunks of one class: fastbins pop the newest, small and large bins
 * the oldest. */
struct bin {
	uint64_t *v;        /* (owned by this) v[head .. head+n) */
	uint32_t head, n, cap;
};

static void bin_push(struct bin *b, uint64_t p)
{
	if (b->head + b->n == b->cap) {
		if (b->head > b->cap / 2) {
			memmove(b->v, b->v + b->head, b->n * sizeof(*b->v));
			b->head = 0;
		} else {
			b->v = grow(b->v, &b->cap, sizeof(*b->v));
		}
	}
	b->v[b->head + b->n++] = p;
}

static uint64_t bin_pop(struct bin *b, int lifo)
{
	b->n--;
	if (lifo)
		return b->v[b->head + b->n];
	return b->v[b->head++];
}

struct arena {
	uint64_t top;                                   /* next fresh chunk */
	uint64_t tcache[TCACHE_CLASSES][TCACHE_COUNT];
	uint8_t tcount[TCACHE_CLASSES];
	struct bin bins[NCLASS];
	uint32_t nonempty;                              /* bins holding chunks */
	uint64_t recent[NCLASS][RECENT];                /* last frees, newest at [0] */
};

/* What the model produced, to compare with the trace. */
struct stats {
	uint64_t tcache, bin, split, fresh;  /* where blocks came from */
	uint64_t rank0, rank_lt8;            /* same class: the last / one of the 8 last frees */
	uint64_t allocs, frees, life4, life16, life64, life256;
	uint64_t kinds[MPA_KIND_COUNT_], realloc_null, realloc_moved, realloc_in_place;
	uint64_t site_size_hits;
};

static uint32_t chunk_class(uint64_t n)
{
	uint64_t c = (n + 8 + 15) & ~UINT64_C(15);

	if (c < 32)
		c = 32;
	c /= 16;
	return c < NCLASS ? (uint32_t)c : NCLASS - 1;
}

static uint64_t arena_alloc_raw(struct arena *a, uint32_t cls, struct stats *st)
{
	struct bin *b;
	uint64_t p;

	if (cls < TCACHE_CLASSES && a->tcount[cls]) {
		st->tcache++;
		return a->tcache[cls][--a->tcount[cls]];
	}
	b = &a->bins[cls];
	if (b->n) {
		int lifo = cls < FAST_CLASSES;

		p = bin_pop(b, lifo);
		/* glibc moves more chunks of the class into the tcache */
		while (cls < TCACHE_CLASSES && b->n && a->tcount[cls] < TCACHE_COUNT)
			a->tcache[cls][a->tcount[cls]++] = bin_pop(b, lifo);
		if (b->n == 0)
			a->nonempty--;
		st->bin++;
		return p;
	}
	/* no exact fit: sometimes split a bigger freed chunk (the rest goes
	 * back to the free lists), else carve from the top */
	if (a->nonempty && rndu() < P_SPLIT) {
		for (uint32_t c = cls + 2, tries = 0; c < NCLASS && tries < 64; c++, tries++) {
			struct bin *big = &a->bins[c], *rest = &a->bins[c - cls];

			if (!big->n)
				continue;
			p = bin_pop(big, 0);
			if (big->n == 0)
				a->nonempty--;
			if (rest->n == 0)
				a->nonempty++;
			bin_push(rest, p + (uint64_t)cls * 16);
			st->split++;
			return p;
		}
	}
	st->fresh++;
	p = a->top + 16;
	a->top += (uint64_t)cls * 16;
	return p;
}

static uint64_t arena_alloc(struct arena *a, uint32_t cls, struct stats *st)
{
	uint64_t p = arena_alloc_raw(a, cls, st);
	uint64_t *r = a->recent[cls];

	for (int i = 0; i < RECENT; i++) {
		if (r[i] == p) {
			st->rank0 += i == 0;
			st->rank_lt8++;
			memmove(r + i, r + i + 1, (RECENT - 1 - (size_t)i) * sizeof(*r));
			r[RECENT - 1] = 0;
			break;
		}
	}
	return p;
}

static void arena_free(struct arena *a, uint64_t p, uint32_t cls)
{
	uint64_t *r = a->recent[cls];

	memmove(r + 1, r, (RECENT - 1) * sizeof(*r));
	r[0] = p;
	if (cls < TCACHE_CLASSES && a->tcount[cls] < TCACHE_COUNT) {
		a->tcache[cls][a->tcount[cls]++] = p;
		return;
	}
	if (a->bins[cls].n == 0)
		a->nonempty++;
	bin_push(&a->bins[cls], p);
}

/* ---- the program model: loop bodies -------------------------------------- */

/* A program spends its time in loops whose bodies make the same calls from
 * the same sites in the same order, with sizes that mostly repeat.  A body
 * is a list of calls on local blocks. */
enum op_kind { OP_ALLOC, OP_FREE, OP_REALLOC };

struct op {
	uint8_t kind;       /* enum op_kind */
	uint8_t api;        /* OP_ALLOC: malloc, calloc or realloc (from NULL) */
	uint8_t keep;       /* OP_ALLOC: the block outlives the loop */
	uint16_t ref;       /* local block made / freed / resized */
	uint32_t site;      /* stack id of the call site */
	uint32_t size;      /* OP_ALLOC, OP_REALLOC */
};

struct tmpl {
	struct op *ops;     /* (owned by this) */
	uint32_t n, cap, nblocks;
};

static const uint32_t SITE_CALLOC0 = SITES_MALLOC + 1;
static const uint32_t SITE_REALLOC0 = SITES_MALLOC + SITES_CALLOC + 1;
static const uint32_t SITE_FREE0 = SITES_MALLOC + SITES_CALLOC + SITES_REALLOC + 1;
#define NSITES (SITES_MALLOC + SITES_CALLOC + SITES_REALLOC + SITES_FREE)

static uint32_t site_size[NSITES + 1];

static void tmpl_add(struct tmpl *t, struct op o)
{
	if (t->n == t->cap)
		t->ops = grow(t->ops, &t->cap, sizeof(*t->ops));
	t->ops[t->n++] = o;
}

static uint32_t free_site_for(uint32_t alloc_site)
{
	return SITE_FREE0 + (rndu() < 0.7 ? alloc_site * 7 % SITES_FREE : zipf(SITES_FREE));
}

static void tmpl_make(struct tmpl *t)
{
	uint32_t len = (uint32_t)exp(log(TMPL_MIN) + rndu() * (log(TMPL_MAX) - log(TMPL_MIN)));
	uint16_t live[4096], scoped[4096];
	uint32_t blk_site[4096];
	uint32_t nlive = 0, nscoped = 0;

	memset(t, 0, sizeof(*t));
	while (t->n < len && t->nblocks < 3800) {
		double pf = nlive ? 0.25 + 0.07 * nlive : 0;
		double u = rndu();

		if (pf > 0.9)
			pf = 0.9;
		if (rndu() < P_BURST) {
			uint32_t k = 8 + rndn(40), site = 1 + zipf(SITES_MALLOC);

			for (uint32_t i = 0; i < k; i++) {
				struct op o = { .kind = OP_ALLOC, .api = MPA_API_MALLOC, .site = site,
						.ref = (uint16_t)t->nblocks++, .size = site_size[site] };

				blk_site[o.ref] = site;
				scoped[nscoped++] = o.ref;
				tmpl_add(t, o);
			}
			continue;
		}
		if (u < pf) {
			/* free a local block: often the newest */
			uint32_t k = rndu() < 0.5 ? nlive - 1 : rndn(nlive);
			uint16_t ref = live[k];

			tmpl_add(t, (struct op){ .kind = OP_FREE, .ref = ref,
						 .site = free_site_for(blk_site[ref]) });
			live[k] = live[--nlive];
			if (k < nlive) { /* keep newest last */
				uint16_t x = live[k];

				memmove(live + k, live + k + 1, (nlive - k - 1) * sizeof(*live));
				live[nlive - 1] = x;
			}
			continue;
		}
		u = rndu();
		if (nlive && u < P_REALLOC_LIVE) {
			uint16_t ref = live[nlive - 1];
			struct op o = { .kind = OP_REALLOC, .ref = ref,
					.site = SITE_REALLOC0 + zipf(SITES_REALLOC) };

			o.size = 16 + rndn(2048);
			tmpl_add(t, o);
			continue;
		}
		struct op o = { .kind = OP_ALLOC, .ref = (uint16_t)t->nblocks++ };

		u = rndu();
		if (u < P_CALLOC) {
			o.api = MPA_API_CALLOC;
			o.site = SITE_CALLOC0 + zipf(SITES_CALLOC);
		} else if (u < P_CALLOC + P_REALLOC_NULL) {
			o.api = MPA_API_REALLOC;
			o.site = SITE_REALLOC0 + zipf(SITES_REALLOC);
		} else {
			o.api = MPA_API_MALLOC;
			o.site = 1 + zipf(SITES_MALLOC);
		}
		o.size = rndu() < P_SITE_SIZE ? site_size[o.site] : draw_size();
		blk_site[o.ref] = o.site;
		if (rndu() < P_KEEP)
			o.keep = 1;
		else if (rndu() < P_ITER_SCOPED)
			scoped[nscoped++] = o.ref;
		else
			live[nlive++] = o.ref;
		tmpl_add(t, o);
	}
	/* the end of the body: what is left dies, newest first */
	while (nlive) {
		uint16_t ref = live[--nlive];

		tmpl_add(t, (struct op){ .kind = OP_FREE, .ref = ref,
					 .site = free_site_for(blk_site[ref]) });
	}
	while (nscoped) {
		uint16_t ref = scoped[--nscoped];

		tmpl_add(t, (struct op){ .kind = OP_FREE, .ref = ref,
					 .site = free_site_for(blk_site[ref]) });
	}
}

/* ---- the event stream ---------------------------------------------------- */

#define NTHREADS 3 /* main (quiet) + 2 workers */

struct local {             /* a live local block */
	uint64_t ptr, birth;
	uint32_t cls;
};

struct kept {              /* a block that outlived its loop */
	uint64_t due, ptr, birth;
	uint32_t cls, site;
};

struct thread {
	int32_t tid;
	uint32_t cpu;
	uint64_t nev;              /* events of this thread so far */
	struct arena *a;           /* (owned by this) */
	uint32_t tmpl, pc;         /* the loop body running, next call in it */
	struct local *loc;         /* (owned by this) [nblocks of the body] */
	uint32_t cap_loc;
	struct kept *kept;         /* (owned by this) min-heap by due */
	uint32_t nkept, cap_kept;
};

struct model {
	struct thread th[NTHREADS];
	struct tmpl tmpls[NTMPL];
	int cur;                   /* running thread */
	uint64_t run_left;         /* its events left in this run */
	uint64_t ts;
	int32_t pid;
	struct stats st;
};

static void kept_push(struct thread *t, struct kept k)
{
	uint32_t i;

	if (t->nkept == t->cap_kept)
		t->kept = grow(t->kept, &t->cap_kept, sizeof(*t->kept));
	i = t->nkept++;
	while (i && t->kept[(i - 1) / 2].due > k.due) {
		t->kept[i] = t->kept[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	t->kept[i] = k;
}

static struct kept kept_pop(struct thread *t)
{
	struct kept top = t->kept[0], last = t->kept[--t->nkept];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= t->nkept)
			break;
		if (c + 1 < t->nkept && t->kept[c + 1].due < t->kept[c].due)
			c++;
		if (t->kept[c].due >= last.due)
			break;
		t->kept[i] = t->kept[c];
		i = c;
	}
	if (t->nkept)
		t->kept[i] = last;
	return top;
}

static void model_init(struct model *m, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	rng_state = seed ? seed * UINT64_C(0x9e3779b97f4a7c15) : 1;
	m->pid = 4647;
	m->ts = UINT64_C(1700000000000000000);
	for (uint32_t s = 1; s <= NSITES; s++)
		site_size[s] = draw_size();
	for (int i = 0; i < NTMPL; i++)
		tmpl_make(&m->tmpls[i]);
	for (int i = 0; i < NTHREADS; i++) {
		struct thread *t = &m->th[i];

		t->tid = m->pid + (i ? 3 + i : 0);
		t->cpu = (uint32_t)(i % 2);
		t->a = calloc(1, sizeof(*t->a));
		if (!t->a) {
			fprintf(stderr, "mpt_bench: out of memory\n");
			exit(1);
		}
		t->tmpl = (uint32_t)i % NTMPL;
		t->pc = m->tmpls[t->tmpl].n; /* starts a new iteration */
	}
	/* main arena after the program's data (main thread and worker 1, which
	 * glibc gives different regions of it here), worker 2 in its own
	 * mmapped arena */
	m->th[0].a->top = UINT64_C(0x55d4350d0000);
	m->th[1].a->top = UINT64_C(0x55d4390d0000);
	m->th[2].a->top = UINT64_C(0x7f3a2c0008b0);
	m->cur = 0;
	m->run_left = 2000;
}

static void model_free(struct model *m)
{
	for (int i = 0; i < NTHREADS; i++) {
		for (uint32_t c = 0; c < NCLASS; c++)
			free(m->th[i].a->bins[c].v);
		free(m->th[i].a);
		free(m->th[i].loc);
		free(m->th[i].kept);
	}
	for (int i = 0; i < NTMPL; i++)
		free(m->tmpls[i].ops);
}

static uint64_t draw_ts_delta(void)
{
	double d = from_cdf(ts_cdf, sizeof(ts_cdf) / sizeof(ts_cdf[0]));

	return (uint64_t)(d / 10.0 + 0.5) * 10 + (rndu() < TS_PLUS1);
}

static void count_free(struct stats *st, uint64_t life)
{
	st->frees++;
	st->life4 += life <= 4;
	st->life16 += life <= 16;
	st->life64 += life <= 64;
	st->life256 += life <= 256;
}

/* Next record. */
static void model_next(struct model *m, struct mpa_event *e)
{
	struct stats *st = &m->st;
	struct thread *t;
	const struct tmpl *tp;
	const struct op *o;

	if (m->run_left == 0) {
		/* switch threads: the workers alternate; main runs rarely */
		m->cur = m->cur == 1 ? 2 : (rndu() < 0.01 ? 0 : 1);
		m->run_left = m->cur == 0 ? 200 + rndn(2000)
					  : (uint64_t)(RUN_MEDIAN * (0.7 + 0.6 * rndu()));
		if (rndu() < 0.02)
			m->th[m->cur].cpu ^= 1;
	}
	m->run_left--;
	t = &m->th[m->cur];
	memset(e, 0, sizeof(*e));
	m->ts += draw_ts_delta();
	e->ts = m->ts;
	e->pid = m->pid;
	e->tid = t->tid;
	e->cpu = t->cpu;
	e->domain = MPA_DOMAIN_USER;
	t->nev++;

	tp = &m->tmpls[t->tmpl];
	if (t->pc == tp->n) {
		/* between iterations: blocks kept from earlier ones die first */
		if (t->nkept && t->kept[0].due <= t->nev) {
			struct kept k = kept_pop(t);

			e->kind = MPA_KIND_FREE;
			e->api = MPA_API_FREE;
			e->ptr = k.ptr;
			e->stack_id = free_site_for(k.site);
			arena_free(t->a, k.ptr, k.cls);
			count_free(st, t->nev - k.birth);
			st->kinds[e->kind]++;
			return;
		}
		t->tmpl = zipf(NTMPL);
		t->pc = 0;
		tp = &m->tmpls[t->tmpl];
		while (t->cap_loc < tp->nblocks)
			t->loc = grow(t->loc, &t->cap_loc, sizeof(*t->loc));
	}
	o = &tp->ops[t->pc++];
	e->stack_id = o->site;
	switch (o->kind) {
	case OP_ALLOC: {
		uint64_t size = rndu() < P_SIZE_VARY ? draw_size() : o->size;
		uint32_t cls = chunk_class(size);
		uint64_t p = arena_alloc(t->a, cls, st);

		st->site_size_hits += size == site_size[o->site];
		st->allocs++;
		if (o->keep)
			kept_push(t, (struct kept){ .ptr = p, .birth = t->nev, .cls = cls, .site = o->site,
						    .due = t->nev + (uint64_t)from_cdf(long_life_cdf, 4) });
		else
			t->loc[o->ref] = (struct local){ .ptr = p, .birth = t->nev, .cls = cls };
		e->size = size;
		e->api = o->api;
		if (o->api == MPA_API_REALLOC) {
			e->kind = MPA_KIND_REALLOC;
			e->new_ptr = p;
			st->realloc_null++;
		} else {
			e->kind = MPA_KIND_ALLOC;
			e->ptr = p;
		}
		break;
	}
	case OP_FREE: {
		struct local *l = &t->loc[o->ref];

		e->kind = MPA_KIND_FREE;
		e->api = MPA_API_FREE;
		e->ptr = l->ptr;
		arena_free(t->a, l->ptr, l->cls);
		count_free(st, t->nev - l->birth);
		break;
	}
	default: { /* OP_REALLOC of a live block */
		struct local *l = &t->loc[o->ref];
		uint64_t size = rndu() < P_SIZE_VARY ? 16 + rndn(2048) : o->size;
		uint32_t cls = chunk_class(size);

		e->kind = MPA_KIND_REALLOC;
		e->api = MPA_API_REALLOC;
		e->ptr = l->ptr;
		e->size = size;
		/* in place when it fits, or (often) when the next chunk is free */
		if (cls <= l->cls || rndu() < 0.35) {
			st->realloc_in_place++;
		} else {
			uint64_t old = l->ptr;
			uint32_t old_cls = l->cls;

			l->ptr = arena_alloc(t->a, cls, st);
			l->cls = cls;
			arena_free(t->a, old, old_cls);
			st->realloc_moved++;
		}
		e->new_ptr = l->ptr;
		break;
	}
	}
	st->kinds[e->kind]++;
}

/* ---- measurement ---------------------------------------------------------- */

static double clock_secs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time and this process's CPU time: on a shared machine the CPU time
 * is the steadier measure. */
struct when {
	double wall, cpu;
};

static struct when now(void)
{
	return (struct when){ clock_secs(CLOCK_MONOTONIC), clock_secs(CLOCK_PROCESS_CPUTIME_ID) };
}

static void since(struct when *acc, struct when t0)
{
	struct when t1 = now();

	acc->wall += t1.wall - t0.wall;
	acc->cpu += t1.cpu - t0.cpu;
}

static void die(const char *what, const struct mpt_error *err) __attribute__((noreturn));
static void die(const char *what, const struct mpt_error *err)
{
	fprintf(stderr, "mpt_bench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

#define BLOCK 4096

/* Writes n records; returns the time spent inside libmpt. */
static struct when write_capture(const char *path, uint64_t n, uint64_t seed, struct model *m)
{
	struct mpt_error err = { 0 };
	mpt_writer *w = NULL;
	static struct mpa_event buf[BLOCK];
	struct when spent = { 0, 0 }, t0;
	uint32_t nsites = NSITES;
	char text[64];

	model_init(m, seed);
	t0 = now();
	if (mpt_writer_open(path, NULL, &w, &err) != MPT_OK)
		die(path, &err);
	/* one frame and one stack per call site, as a converter makes them from
	 * the wrapper's ip context */
	for (uint32_t s = 1; s <= nsites; s++) {
		struct mpt_frame f = { .ip = UINT64_C(0x55d432e00000) + (uint64_t)s * 0x53 };
		uint32_t fid = 0, sid = 0;

		if (mpt_writer_frame(w, &f, &fid, &err) != MPT_OK ||
		    mpt_writer_stack(w, &fid, 1, &sid, &err) != MPT_OK)
			die("tables", &err);
		if (sid != s) {
			fprintf(stderr, "mpt_bench: stack ids are not dense (%u for site %u)\n", sid, s);
			exit(1);
		}
	}
	snprintf(text, sizeof(text), "%" PRIu64, seed);
	if (mpt_writer_meta(w, "bench.seed", text, &err) != MPT_OK ||
	    mpt_writer_meta(w, "bench.model", "lttng_ust_libc trace of python3 json workload", &err) != MPT_OK)
		die("meta", &err);
	since(&spent, t0);
	for (uint64_t done = 0; done < n;) {
		uint32_t k = n - done < BLOCK ? (uint32_t)(n - done) : BLOCK;

		for (uint32_t i = 0; i < k; i++)
			model_next(m, &buf[i]);
		t0 = now();
		for (uint32_t i = 0; i < k; i++)
			if (mpt_writer_append(w, &buf[i], &err) != MPT_OK)
				die("append", &err);
		since(&spent, t0);
		done += k;
	}
	t0 = now();
	if (mpt_writer_close(w, &err) != MPT_OK)
		die("close", &err);
	since(&spent, t0);
	return spent;
}

struct scan_result {
	struct when t;
	uint64_t rows, bytes_read, sink;
};

static struct scan_result scan(const char *path, uint64_t columns)
{
	struct mpt_error err = { 0 };
	mpt_reader *r = NULL;
	const struct mpt_batch *b;
	struct mpt_scan sc = { .columns = columns };
	struct scan_result res = { 0 };
	enum mpt_status st;
	struct when t0 = now();

	if (mpt_reader_open(path, &r, &err) != MPT_OK)
		die(path, &err);
	if (mpt_reader_scan(r, &sc, &err) != MPT_OK)
		die("scan", &err);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
		/* use what was asked for, so that nothing is optimized away */
		uint64_t s = 0;

		for (uint32_t i = 0; i < b->n; i++)
			s += b->ts[i] + b->kind[i];
		if (b->ptr)
			for (uint32_t i = 0; i < b->n; i++)
				s ^= b->ptr[i];
		if (b->size)
			for (uint32_t i = 0; i < b->n; i++)
				s += b->size[i];
#define TOUCH(arr)                                                             \
	if (b->arr)                                                            \
		for (uint32_t i = 0; i < b->n; i++)                            \
			s += (uint64_t)b->arr[i];
		TOUCH(tid) TOUCH(pid) TOUCH(cpu) TOUCH(stack_id) TOUCH(new_ptr) TOUCH(api)
#undef TOUCH
		res.rows += b->n;
		res.sink += s;
	}
	if (st != MPT_END)
		die("scan", &err);
	since(&res.t, t0);
	res.bytes_read = mpt_reader_bytes_read(r);
	mpt_reader_close(r);
	return res;
}

/* Prints the size of every column of the capture at path, then how fast
 * it scans with every column and with two; n = 0: any number of records.
 * Returns bytes/record. */
static double measure(const char *path, uint64_t n, const struct when *wsecs)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		die(path, NULL);
	uint64_t fsize = (uint64_t)sb.st_size;

	/* sizes per column */
	struct mpt_error err = { 0 };
	mpt_reader *r = NULL;
	uint64_t stored[MPT_COL_COUNT_] = { 0 }, values[MPT_COL_COUNT_] = { 0 }, coltot = 0;

	if (mpt_reader_open(path, &r, &err) != MPT_OK)
		die(path, &err);
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_column_info info[MPT_COL_COUNT_];

		if (mpt_reader_column_info(r, c, info, &err) != MPT_OK)
			die("column info", &err);
		for (unsigned k = 0; k < MPT_COL_COUNT_; k++) {
			stored[k] += info[k].stored_bytes;
			values[k] += info[k].values;
			coltot += info[k].stored_bytes;
		}
	}
	if (n == 0)
		n = mpt_reader_rows(r);
	if (mpt_reader_rows(r) != n || n == 0) {
		fprintf(stderr, "mpt_bench: expected %" PRIu64 " records, '%s' has %" PRIu64 "\n", n,
			path, mpt_reader_rows(r));
		exit(1);
	}
	uint32_t chunks = mpt_reader_chunk_count(r);
	mpt_reader_close(r);

	double bpr = (double)fsize / (double)n;
	printf("\nsize: %" PRIu64 " bytes in %" PRIu32 " chunks = %.3f bytes/record\n", fsize, chunks, bpr);
	printf("  %-10s %10s %12s %9s %7s\n", "column", "values", "bytes", "B/record", "share");
	for (unsigned k = 0; k < MPT_COL_COUNT_; k++) {
		if (!values[k] && !stored[k])
			continue;
		printf("  %-10s %10" PRIu64 " %12" PRIu64 " %9.3f %6.1f%%\n", mpt_column_name(k), values[k],
		       stored[k], (double)stored[k] / (double)n, 100.0 * (double)stored[k] / (double)fsize);
	}
	printf("  %-10s %10s %12" PRIu64 " %9.3f %6.1f%%\n", "(other)", "", fsize - coltot,
	       (double)(fsize - coltot) / (double)n, 100.0 * (double)(fsize - coltot) / (double)fsize);

	/* speed */
	struct scan_result full = scan(path, MPT_COLS_ALL);
	struct scan_result two = scan(path, MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_SIZE));
	struct scan_result light = scan(path, MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_SIZE));
	if (full.rows != n || two.rows != n || light.rows != n) {
		fprintf(stderr, "mpt_bench: scans returned %" PRIu64 ", %" PRIu64 " and %" PRIu64 " rows\n",
			full.rows, two.rows, light.rows);
		exit(1);
	}
	printf("\nspeed (one thread; M records/s by CPU time, and by wall time)\n");
	if (wsecs)
		printf("  %-22s %7.2f %7.2f   %.2f s CPU\n", "write", (double)n / wsecs->cpu / 1e6,
		       (double)n / wsecs->wall / 1e6, wsecs->cpu);
	const struct { const char *what; const struct scan_result *r; } sc[] = {
		{ "full scan", &full }, { "scan ptr,size", &two }, { "scan tid,size", &light },
	};
	for (size_t i = 0; i < 3; i++)
		printf("  %-22s %7.2f %7.2f   %.2f s CPU, %" PRIu64 " bytes read\n", sc[i].what,
		       (double)n / sc[i].r->t.cpu / 1e6, (double)n / sc[i].r->t.wall / 1e6, sc[i].r->t.cpu,
		       sc[i].r->bytes_read);
	printf("  2 columns instead of all: ptr,size %.2fx faster (%.2fx fewer bytes), "
	       "tid,size %.2fx faster (%.2fx fewer bytes)\n",
	       full.t.cpu / two.t.cpu, (double)full.bytes_read / (double)(two.bytes_read ? two.bytes_read : 1),
	       full.t.cpu / light.t.cpu,
	       (double)full.bytes_read / (double)(light.bytes_read ? light.bytes_read : 1));
	printf("  (kind and ts are always decoded)\n");

	if ((full.sink ^ two.sink ^ light.sink) == 42) /* keeps the scans' reads alive */
		printf("\n");
	return bpr;
}

static void usage(void)
{
	fprintf(stderr, "usage: mpt_bench [-n RECORDS] [-o DIR] [--seed N] [--keep] [--ctf-bpe X]"
			" [--also FILE.mpt]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "records", required_argument, NULL, 'n' }, { "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },    { "keep", no_argument, NULL, 'k' },
		{ "ctf-bpe", required_argument, NULL, 'c' }, { "also", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 10000000, seed = 1;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	double ctf_bpe = CTF_BPE_MEASURED;
	int keep = 0, ch;
	char path[4096];
	static struct model m;
	const char *also = NULL;

	while ((ch = getopt_long(argc, argv, "n:o:s:kc:a:", lo, NULL)) != -1) {
		char *end = NULL;

		switch (ch) {
		case 'n':
			n = strtoull(optarg, &end, 10);
			if (*end || n == 0)
				usage();
			break;
		case 'o':
			dir = optarg;
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end)
				usage();
			break;
		case 'k':
			keep = 1;
			break;
		case 'a':
			also = optarg;
			break;
		case 'c':
			ctf_bpe = strtod(optarg, &end);
			if (*end || ctf_bpe <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die(dir, NULL);
	snprintf(path, sizeof(path), "%s/mpt_bench.%d.mpt", dir, (int)getpid());

	printf("mpt_bench: %" PRIu64 " records, malloc model (seed %" PRIu64 ")\n", n, seed);
	struct when wsecs = write_capture(path, n, seed, &m);
	/* the model against the trace it imitates */
	{
		const struct stats *st = &m.st;
		double tot = (double)n, na = (double)(st->tcache + st->bin + st->split + st->fresh);
		double nr = (double)(st->realloc_null + st->realloc_moved + st->realloc_in_place);
		const struct { const char *what; double model, trace; } rows[] = {
			{ "malloc+calloc events", (double)st->kinds[MPA_KIND_ALLOC] / tot, .436 },
			{ "realloc events", (double)st->kinds[MPA_KIND_REALLOC] / tot, .083 },
			{ "free events", (double)st->kinds[MPA_KIND_FREE] / tot, .482 },
			{ "realloc from NULL", (double)st->realloc_null / nr, .555 },
			{ "realloc moved", (double)st->realloc_moved / nr, .288 },
			{ "block = last free of its class", (double)st->rank0 / na, .719 },
			{ "block = one of 8 last of class", (double)st->rank_lt8 / na, .906 },
			{ "block from a bigger free chunk", (double)st->split / na, .057 },
			{ "block fresh (not freed lately)", (double)st->fresh / na, .027 },
			{ "size = the call site's usual", (double)st->site_size_hits / (double)st->allocs, .681 },
			{ "freed within 4 events", (double)st->life4 / (double)st->frees, .326 },
			{ "freed within 16 events", (double)st->life16 / (double)st->frees, .516 },
			{ "freed within 64 events", (double)st->life64 / (double)st->frees, .713 },
			{ "freed within 256 events", (double)st->life256 / (double)st->frees, .984 },
		};

		printf("\nmodel vs trace (lttng_ust_libc, python3, 10.48M events; bench/README.md)\n");
		printf("  %-32s %7s %7s\n", "", "model", "trace");
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			printf("  %-32s %6.1f%% %6.1f%%\n", rows[i].what, 100 * rows[i].model,
			       100 * rows[i].trace);
	}
	model_free(&m);

	double bpr = measure(path, n, &wsecs);

	printf("\nagainst the CTF trace of the recording\n");
	printf("  CTF (LTTng)       %7.2f B/event -> .mpt is %.1fx smaller\n", ctf_bpe, ctf_bpe / bpr);
	printf("  CTF (issue #2)    %7.2f B/event -> .mpt is %.1fx smaller\n", CTF_BPE_ISSUE, CTF_BPE_ISSUE / bpr);
	printf("  zstd -19 of CTF   %7.2f B/event -> .mpt is %.2fx smaller\n", ZSTD19_BPE_MEASURED,
	       ZSTD19_BPE_MEASURED / bpr);
	printf("  zstd -19 (issue)  %7.2f B/event -> .mpt is %.2fx smaller\n", ZSTD19_BPE_ISSUE,
	       ZSTD19_BPE_ISSUE / bpr);
	printf("  heaptrack (issue) %7.2f B/event, no timestamps -> .mpt is %.2fx smaller\n",
	       HEAPTRACK_BPE_ISSUE, HEAPTRACK_BPE_ISSUE / bpr);
	printf("  target            %7.2f B/event: %s\n", 3.0, bpr <= 3.0 ? "met" : "NOT met");
	if (!keep)
		unlink(path);
	else
		printf("\nkept %s\n", path);
	if (also) {
		printf("\n---- %s (an existing capture)\n", also);
		bpr = measure(also, 0, NULL);
		printf("  CTF (LTTng)       %7.2f B/event -> .mpt is %.1fx smaller\n", ctf_bpe, ctf_bpe / bpr);
	}
	return 0;
}
