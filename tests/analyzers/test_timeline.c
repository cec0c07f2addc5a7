/* The timeline analyzer on hand-built batches: exact peak and its sites,
 * buckets, rates, heaptrack temporaries, sizes, trend, phases, pressure,
 * exec/exit, unknown frees, kernel series, realloc chains, recommendations,
 * and a randomized comparison with a naive model of the live heap. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../analyzers/timeline/timeline.h"
#include "../../analyzers/core/pass.h"

#define S(x) ((uint64_t)((x) * 1e9 + 0.5)) /* seconds -> ns */

/* A batch under construction. */
struct bb {
	uint32_t n, cap;
	uint8_t *kind;
	uint16_t *flags;
	uint64_t *ts, *ptr, *new_ptr, *size, *usable;
	int32_t *pid;
	uint32_t *stack_id, *str_id;
};

static void bb_add(struct bb *b, uint8_t kind, uint64_t ts, int32_t pid, uint64_t ptr,
		   uint64_t new_ptr, uint64_t size, uint32_t stack)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
#define G(f) cr_assert_not_null(b->f = realloc(b->f, b->cap * sizeof *b->f))
		G(kind);
		G(flags);
		G(ts);
		G(ptr);
		G(new_ptr);
		G(size);
		G(usable);
		G(pid);
		G(stack_id);
		G(str_id);
#undef G
	}
	uint32_t i = b->n++;
	b->kind[i] = kind;
	b->flags[i] = 0;
	b->ts[i] = ts;
	b->pid[i] = pid;
	b->ptr[i] = ptr;
	b->new_ptr[i] = new_ptr;
	b->size[i] = size;
	b->usable[i] = 0;
	b->stack_id[i] = stack;
	b->str_id[i] = 0;
}

#define ALLOC(b, t, pid, p, sz, stk) bb_add(b, MPA_KIND_ALLOC, S(t), pid, p, 0, sz, stk)
#define FREE(b, t, pid, p) bb_add(b, MPA_KIND_FREE, S(t), pid, p, 0, 0, 0)
#define REALLOC(b, t, pid, p, np, sz, stk) bb_add(b, MPA_KIND_REALLOC, S(t), pid, p, np, sz, stk)

static struct mpt_batch bb_batch(const struct bb *b)
{
	struct mpt_batch m;
	memset(&m, 0, sizeof m);
	m.n = b->n;
	m.kind = b->kind;
	m.flags = b->flags;
	m.ts = b->ts;
	m.pid = b->pid;
	m.ptr = b->ptr;
	m.new_ptr = b->new_ptr;
	m.size = b->size;
	m.usable = b->usable;
	m.stack_id = b->stack_id;
	m.str_id = b->str_id;
	return m;
}

static void bb_free(struct bb *b)
{
	free(b->kind);
	free(b->flags);
	free(b->ts);
	free(b->ptr);
	free(b->new_ptr);
	free(b->size);
	free(b->usable);
	free(b->pid);
	free(b->stack_id);
	free(b->str_id);
	memset(b, 0, sizeof *b);
}

/* The passes of run() (a few at a time); tl_done() frees one with the
 * timeline's state. */
static struct mpa_pass *g_passes[4];
static struct mpa_tl_params g_params;
static const struct mpa_ctx g_ctx;

static int begin_params(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	return mpa_timeline_begin_with(ctx, &g_params, state, err, errlen);
}

/* A pass of the heap model and the timeline with params p. */
static struct mpa_pass *new_pass(const struct mpa_tl_params *p)
{
	static struct mpa_analyzer an;
	static const struct mpa_analyzer *list[1];
	an = mpa_analyzer_timeline;
	an.begin = begin_params;
	list[0] = &an;
	g_params = *p;
	char err[256] = "";
	size_t k = 0;
	while (k < 4 && g_passes[k])
		k++;
	cr_assert_lt(k, 4, "too many runs at once");
	g_passes[k] = mpa_pass_create(&g_ctx, list, 1, err, sizeof err);
	cr_assert(g_passes[k], "%s", err);
	return g_passes[k];
}

/* Runs the heap model and the timeline over b with params p, fed in slices
 * of `slice` rows to cross batch boundaries. */
static struct mpa_tl_state *run(const struct mpa_tl_params *p, const struct bb *b, uint32_t slice)
{
	char err[256] = "";
	struct mpa_pass *g_pass = new_pass(p);
	struct mpt_batch all = bb_batch(b);
	if (!slice)
		slice = all.n ? all.n : 1;
	for (uint32_t off = 0; off < all.n; off += slice) {
		struct mpt_batch m = all;
		m.n = all.n - off < slice ? all.n - off : slice;
		m.kind += off;
		m.flags += off;
		m.ts += off;
		m.pid += off;
		m.ptr += off;
		m.new_ptr += off;
		m.size += off;
		m.usable += off;
		m.stack_id += off;
		m.str_id += off;
		cr_assert_eq(mpa_pass_feed(g_pass, &m, err, sizeof err), 0, "%s", err);
	}
	cr_assert_eq(mpa_pass_finish(g_pass, 0, err, sizeof err), 0, "%s", err);
	return mpa_pass_state(g_pass, 0);
}

static void tl_done(struct mpa_tl_state *st)
{
	for (size_t k = 0; k < 4; k++)
		if (g_passes[k] && mpa_pass_state(g_passes[k], 0) == st) {
			mpa_pass_free(g_passes[k]);
			g_passes[k] = NULL;
			return;
		}
	cr_assert_fail("no pass holds this state");
}

static void params(struct mpa_tl_params *p, uint64_t from, uint64_t to, uint32_t points)
{
	mpa_timeline_params_default(p);
	p->range_from = from;
	p->range_to = to;
	p->points = points;
}

static const struct mpa_tl_group *group(const struct mpa_tl_state *st, uint32_t kernel,
					const char *name)
{
	for (uint32_t i = 0; i < st->ngroups; i++)
		if (st->groups[i].kernel == kernel && !strcmp(st->groups[i].name, name))
			return &st->groups[i];
	return NULL;
}

Test(timeline, peak_sites_and_buckets)
{
	struct bb b = {0};
	ALLOC(&b, 0.5, 1, 0xa0, 100, 1);
	ALLOC(&b, 1.5, 1, 0xb0, 200, 2);
	ALLOC(&b, 2.5, 1, 0xc0, 300, 1);
	FREE(&b, 3.5, 1, 0xb0);
	ALLOC(&b, 4.5, 1, 0xd0, 50, 3);
	FREE(&b, 5.5, 1, 0xa0);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);

	cr_assert_eq(st->width, S(1));
	cr_assert_eq(st->buckets, 10);
	cr_assert_eq(st->user.peak, 600);
	cr_assert_eq(st->user.peak_blocks, 3);
	cr_assert_eq(st->user.peak_ts, S(2.5));
	cr_assert_eq(st->user.live, 350);
	cr_assert_eq(st->user.blocks, 2);
	cr_assert_eq(st->user.allocs, 4);
	cr_assert_eq(st->user.frees, 2);

	const struct mpa_tl_group *g1 = group(st, 0, "stack 1"), *g2 = group(st, 0, "stack 2"),
				  *g3 = group(st, 0, "stack 3");
	cr_assert(g1 && g2 && g3);
	cr_assert_eq(g1->peak_bytes, 400);
	cr_assert_eq(g1->peak_blocks, 2);
	cr_assert_eq(g2->peak_bytes, 200);
	cr_assert_eq(g3->peak_bytes, 0);
	cr_assert_eq(g1->live_end, 300);
	cr_assert_eq(g3->live_end, 50);
	cr_assert_eq(g1->calls, 2);
	cr_assert_eq(g1->bytes, 400);

	static const uint64_t max[10] = {100, 300, 600, 600, 450, 450, 350, 350, 350, 350};
	static const uint64_t end[10] = {100, 300, 600, 400, 450, 350, 350, 350, 350, 350};
	static const uint64_t allocs[10] = {1, 1, 1, 0, 1, 0, 0, 0, 0, 0};
	static const uint64_t frees[10] = {0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
	for (uint64_t a = 0; a < 10; a++) {
		struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
		cr_expect_eq(k.live_max, max[a], "bucket %lu max %lu", (unsigned long)a,
			     (unsigned long)k.live_max);
		cr_expect_eq(k.live_end, end[a], "bucket %lu end", (unsigned long)a);
		cr_expect_eq(k.allocs, allocs[a], "bucket %lu allocs", (unsigned long)a);
		cr_expect_eq(k.frees, frees[a], "bucket %lu frees", (unsigned long)a);
	}
	/* the process image has the same series */
	cr_assert_eq(st->nprocs, 1);
	cr_assert_eq(st->procs[0].pid, 1);
	cr_assert_eq(st->procs[0].s.peak, 600);
	cr_assert_eq(st->procs[0].s.peak_ts, S(2.5));
	tl_done(st);
	bb_free(&b);
}

Test(timeline, bucket_keeps_peak_inside_it)
{
	struct bb b = {0};
	ALLOC(&b, 0.1, 1, 0x10, 10, 1);
	ALLOC(&b, 1.2, 1, 0x20, 1000, 2);
	FREE(&b, 1.3, 1, 0x20);
	ALLOC(&b, 1.4, 1, 0x30, 5, 2);
	struct mpa_tl_params p;
	params(&p, 0, S(2), 2);
	struct mpa_tl_state *st = run(&p, &b, 1);
	struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, 1);
	cr_assert_eq(k.live_max, 1010);
	cr_assert_eq(k.live_end, 15);
	cr_assert_eq(k.blocks_max, 2);
	cr_assert_eq(k.allocs, 2);
	cr_assert_eq(k.frees, 1);
	cr_assert_eq(k.bytes_alloc, 1005);
	cr_assert_eq(k.bytes_freed, 1000);
	cr_assert_eq(st->user.peak, 1010);
	cr_assert_eq(st->user.peak_ts, S(1.2));
	/* the block freed before the end holds nothing at the peak? it held
	 * 1000 of the 1010 at the peak instant */
	cr_assert_eq(group(st, 0, "stack 2")->peak_bytes, 1000);
	cr_assert_eq(group(st, 0, "stack 1")->peak_bytes, 10);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, peak_first_time_reached_and_later_sites)
{
	/* the peak value is reached twice; the first time counts, and the
	 * sites are those of that moment even though they change later */
	struct bb b = {0};
	ALLOC(&b, 1, 1, 0x1, 500, 1);
	FREE(&b, 2, 1, 0x1);
	ALLOC(&b, 3, 1, 0x2, 500, 2);
	ALLOC(&b, 4, 1, 0x3, 100, 3);
	FREE(&b, 5, 1, 0x3);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 2);
	cr_assert_eq(st->user.peak, 600);
	cr_assert_eq(st->user.peak_ts, S(4));
	cr_assert_eq(group(st, 0, "stack 1")->peak_bytes, 0);
	cr_assert_eq(group(st, 0, "stack 2")->peak_bytes, 500);
	cr_assert_eq(group(st, 0, "stack 3")->peak_bytes, 100);
	tl_done(st);

	bb_free(&b);
	ALLOC(&b, 1, 1, 0x1, 500, 1);
	FREE(&b, 2, 1, 0x1);
	ALLOC(&b, 3, 1, 0x2, 500, 2);
	st = run(&p, &b, 0);
	cr_assert_eq(st->user.peak, 500);
	cr_assert_eq(st->user.peak_ts, S(1));
	cr_assert_eq(group(st, 0, "stack 1")->peak_bytes, 500);
	cr_assert_eq(group(st, 0, "stack 2")->peak_bytes, 0);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, temporary_as_heaptrack_defines_it)
{
	struct bb b = {0};
	ALLOC(&b, 0.001, 1, 0x1, 8, 1);
	FREE(&b, 0.002, 1, 0x1); /* temporary */
	ALLOC(&b, 0.003, 1, 0x2, 8, 1);
	ALLOC(&b, 0.004, 1, 0x3, 8, 1);
	FREE(&b, 0.005, 1, 0x3); /* temporary */
	FREE(&b, 0.006, 1, 0x2); /* not: a free came in between */
	ALLOC(&b, 0.007, 1, 0x4, 8, 1);
	FREE(&b, 0.008, 1, 0x99); /* unknown: ignored, as heaptrack does */
	FREE(&b, 0.009, 1, 0x4); /* temporary */
	ALLOC(&b, 0.010, 1, 0x5, 8, 2);
	REALLOC(&b, 0.011, 1, 0x5, 0x6, 16, 2); /* the free half is temporary */
	FREE(&b, 0.012, 1, 0x6); /* temporary: 0x6 is the latest allocation */
	ALLOC(&b, 0.013, 1, 0x7, 8, 3);
	ALLOC(&b, 0.014, 2, 0x8, 8, 3); /* other process: does not interfere */
	FREE(&b, 0.015, 1, 0x7); /* temporary within pid 1 */
	FREE(&b, 0.016, 2, 0x8); /* temporary within pid 2 */
	ALLOC(&b, 0.017, 1, 0x9, 8, 3);
	ALLOC(&b, 0.018, 1, 0xa, 8, 3);
	FREE(&b, 0.019, 1, 0x9); /* not: 0xa came after */
	struct mpa_tl_params p;
	params(&p, 0, S(1), 10);
	p.short_ns = 0;
	struct mpa_tl_state *st = run(&p, &b, 3);
	cr_assert_eq(st->user.temporary, 7);
	cr_assert_eq(st->user.unknown_frees, 1);
	cr_assert_eq(group(st, 0, "stack 1")->temporary, 3);
	cr_assert_eq(group(st, 0, "stack 2")->temporary, 2);
	cr_assert_eq(group(st, 0, "stack 3")->temporary, 2);
	cr_assert_eq(st->procs[0].s.temporary, 6);
	cr_assert_eq(st->procs[1].s.temporary, 1);
	cr_assert_eq(st->user.short_lived, 0);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, short_lived_threshold)
{
	struct bb b = {0};
	ALLOC(&b, 1.0, 1, 0x1, 8, 1);
	ALLOC(&b, 1.0, 1, 0x2, 8, 1);
	ALLOC(&b, 1.0, 1, 0x3, 8, 1);
	FREE(&b, 1.0005, 1, 0x1);  /* 0.5 ms */
	FREE(&b, 1.000999, 1, 0x2); /* 0.999 ms */
	FREE(&b, 1.002, 1, 0x3);   /* 2 ms */
	struct mpa_tl_params p;
	params(&p, 0, S(2), 10);
	p.short_ns = 1000000;
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->user.short_lived, 2);
	cr_assert_eq(group(st, 0, "stack 1")->short_lived, 2);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, size_distribution)
{
	struct bb b = {0};
	static const uint64_t sizes[] = {0, 1, 2, 3, 4, 7, 8, 1000, 1024};
	uint64_t ptr = 0x1000;
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++)
		ALLOC(&b, 0.1, 1, ptr += 16, sizes[i], 1);
	for (int i = 0; i < 5; i++)
		ALLOC(&b, 0.2, 1, ptr += 16, 32, 2);
	for (int i = 0; i < 3; i++)
		ALLOC(&b, 0.2, 1, ptr += 16, 64, 2);
	for (int i = 0; i < 3; i++)
		ALLOC(&b, 0.2, 1, ptr += 16, 16, 2);
	struct mpa_tl_params p;
	params(&p, 0, S(1), 10);
	p.top_n = 3;
	struct mpa_tl_state *st = run(&p, &b, 0);
	uint64_t exp[MPA_TL_POW2] = {0};
	exp[0] = 1;  /* 0 */
	exp[1] = 1;  /* 1 */
	exp[2] = 2;  /* 2..3 */
	exp[3] = 2;  /* 4..7 */
	exp[4] = 1;  /* 8..15 */
	exp[5] = 3;  /* 16..31 */
	exp[6] = 5;  /* 32..63 */
	exp[7] = 3;  /* 64..127 */
	exp[10] = 1; /* 512..1023 */
	exp[11] = 1; /* 1024..2047 */
	for (unsigned k = 0; k < MPA_TL_POW2; k++)
		cr_expect_eq(st->pow2_count[k], exp[k], "pow2 bucket %u", k);
	cr_assert_eq(st->pow2_bytes[3], 11);
	cr_assert_eq(st->size_total, 20);
	cr_assert_eq(st->ntop_sizes, 3);
	cr_assert_eq(st->top_sizes[0].size, 32);
	cr_assert_eq(st->top_sizes[0].count, 5);
	cr_assert_eq(st->top_sizes[1].size, 16); /* tie with 64: smaller first */
	cr_assert_eq(st->top_sizes[1].count, 3);
	cr_assert_eq(st->top_sizes[2].size, 64);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, trend_on_linear_ramp)
{
	/* 100 bytes at t = 0, 1, ..., m s: live(t) = 100 (floor(t) + 1) on
	 * [0, m]; its least-squares slope is 100 (1 - 1/m^2) bytes/s */
	struct bb b = {0};
	const unsigned m = 10;
	for (unsigned i = 0; i <= m; i++)
		ALLOC(&b, i, 1, 0x100 + i * 16, 100, 1);
	struct mpa_tl_params p;
	params(&p, 0, S(m) + 1, 100);
	struct mpa_tl_state *st = run(&p, &b, 4);
	double exp = 100.0 * (1.0 - 1.0 / (m * m));
	cr_assert(fabs(st->user.slope - exp) < 1e-6, "slope %.9f expected %.9f", st->user.slope, exp);
	/* r2 of that staircase is (m^2 - 1) / m^2 */
	cr_assert(fabs(st->user.r2 - 0.99) < 1e-9, "r2 %.12f", st->user.r2);
	tl_done(st);
	bb_free(&b);

	/* one step of H at the middle of [0, 2 s]: slope 3H/4 */
	ALLOC(&b, 0, 1, 0x1, 0, 1);
	ALLOC(&b, 1, 1, 0x2, 4000, 1);
	ALLOC(&b, 2, 1, 0x3, 0, 1);
	st = run(&p, &b, 0);
	cr_assert(fabs(st->user.slope - 3000.0) < 1e-6, "slope %.9f", st->user.slope);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, exec_starts_a_fresh_heap)
{
	struct bb b = {0};
	ALLOC(&b, 1, 7, 0x10, 100, 1);
	ALLOC(&b, 2, 7, 0x20, 200, 1);
	ALLOC(&b, 2, 8, 0x10, 1000, 2);       /* same address, other pid */
	bb_add(&b, MPA_KIND_PROC_EXEC, S(3), 7, 0, 0, 0, 0);
	b.str_id[b.n - 1] = 5;
	ALLOC(&b, 4, 7, 0x30, 50, 3);
	FREE(&b, 5, 7, 0x10);                 /* old image's block: unknown now */
	FREE(&b, 6, 8, 0x10);                 /* pid 8's block is untouched */
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->nprocs, 3);
	const struct mpa_tl_proc *a = &st->procs[0], *c = &st->procs[2];
	cr_assert_eq(a->pid, 7);
	cr_assert_eq(a->ended, MPA_TL_EXECED);
	cr_assert_eq(a->end_ts, S(3));
	cr_assert_eq(a->s.peak, 300);
	cr_assert_eq(a->s.live, 0);
	cr_assert_eq(a->s.released_bytes, 300);
	cr_assert_eq(c->pid, 7);
	cr_assert_eq(c->seq, 1);
	cr_assert_eq(c->image, 5);
	cr_assert_eq(c->s.live, 50);
	cr_assert_eq(c->s.unknown_frees, 1);
	cr_assert_eq(st->user.peak, 1300);
	cr_assert_eq(st->user.live, 50);
	cr_assert_eq(st->user.blocks, 1);
	cr_assert_eq(st->user.frees, 1);
	cr_assert_eq(st->user.unknown_frees, 1);
	cr_assert_eq(mpa_timeline_bucket(&st->user, 3).live_end, 1000);
	cr_assert_eq(mpa_timeline_bucket(&st->user, 6).live_end, 50);
	cr_assert_eq(group(st, 0, "stack 1")->live_end, 0);
	cr_assert_eq(group(st, 0, "stack 1")->peak_bytes, 300);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, exit_releases_and_pid_reuse_is_a_new_image)
{
	struct bb b = {0};
	ALLOC(&b, 1, 9, 0x10, 100, 1);
	bb_add(&b, MPA_KIND_PROC_EXIT, S(2), 9, 0, 0, 0, 0);
	ALLOC(&b, 3.5, 9, 0x10, 40, 1); /* past the 1 s exit grace: a new process */
	FREE(&b, 4, 9, 0x10);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->nprocs, 2);
	cr_assert_eq(st->procs[0].ended, MPA_TL_EXITED);
	cr_assert_eq(st->procs[0].s.live, 0);
	cr_assert_eq(st->procs[1].seq, 1);
	cr_assert_eq(st->procs[1].s.frees, 1);
	cr_assert_eq(st->procs[1].s.unknown_frees, 0);
	cr_assert_eq(st->user.live, 0);
	cr_assert_eq(st->user.peak, 100);
	cr_assert_eq(st->user.dup_allocs, 0);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, unknown_frees_and_odd_rows)
{
	struct bb b = {0};
	FREE(&b, 1, 1, 0x123);                       /* never allocated */
	FREE(&b, 1, 1, 0);                           /* free(NULL) */
	ALLOC(&b, 2, 1, 0x10, 64, 1);
	ALLOC(&b, 2, 1, 0x10, 32, 1);                /* missed free: replaced */
	ALLOC(&b, 2, 1, 0, 32, 1);                   /* failed malloc */
	REALLOC(&b, 3, 1, 0x10, 0, 128, 1);          /* failed realloc: block stays */
	REALLOC(&b, 3, 1, 0x999, 0x40, 16, 1);       /* realloc of an unknown pointer */
	FREE(&b, 4, 1, 0x10);
	FREE(&b, 4, 1, 0x10);                        /* double free */
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->user.unknown_frees, 2);
	cr_assert_eq(st->user.free_null, 1);
	cr_assert_eq(st->nprocs, 1); /* frees alone do not start an image */
	cr_assert_eq(st->user.dup_allocs, 1);
	cr_assert_eq(st->user.failed, 2);
	cr_assert_eq(st->user.unknown_reallocs, 1);
	cr_assert_eq(st->user.live, 16);
	cr_assert_eq(st->user.blocks, 1);
	cr_assert_eq(st->user.peak, 64);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, kernel_series_is_separate)
{
	struct bb b = {0};
	ALLOC(&b, 1, 1, 0x10, 100, 1);
	bb_add(&b, MPA_KIND_KALLOC, S(2), 0, 0xffff0001, 0, 4096, 1);
	bb_add(&b, MPA_KIND_KALLOC, S(2), 55, 0xffff0002, 0, 0, 2);
	b.usable[b.n - 1] = 512; /* bytes_req unknown: bytes_alloc used */
	bb_add(&b, MPA_KIND_KFREE, S(3), 77, 0xffff0001, 0, 0, 0); /* other pid context */
	bb_add(&b, MPA_KIND_KFREE, S(3), 77, 0xffff0009, 0, 0, 0);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->user.peak, 100);
	cr_assert_eq(st->user.live, 100);
	cr_assert_eq(st->kernel.peak, 4608);
	cr_assert_eq(st->kernel.live, 512);
	cr_assert_eq(st->kernel.frees, 1);
	cr_assert_eq(st->kernel.unknown_frees, 1);
	cr_assert_eq(st->nprocs, 1);
	cr_assert_eq(mpa_timeline_bucket(&st->kernel, 2).live_max, 4608);
	cr_assert_eq(mpa_timeline_bucket(&st->kernel, 3).live_end, 512);
	const struct mpa_tl_group *g = group(st, 1, "stack 1");
	cr_assert(g);
	cr_assert_eq(g->peak_bytes, 4096);
	cr_assert_eq(group(st, 0, "stack 1")->peak_bytes, 100);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, realloc_chains)
{
	struct bb b = {0};
	ALLOC(&b, 1, 1, 0x10, 10, 1);
	REALLOC(&b, 2, 1, 0x10, 0x10, 20, 2);
	REALLOC(&b, 3, 1, 0x10, 0x20, 40, 2);
	REALLOC(&b, 4, 1, 0x20, 0x30, 80, 2);
	REALLOC(&b, 5, 1, 0x30, 0x30, 60, 2);  /* shrink: not growth */
	ALLOC(&b, 6, 1, 0x40, 10, 1);
	REALLOC(&b, 7, 1, 0x40, 0x50, 20, 2);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	const struct mpa_tl_group *g = group(st, 0, "stack 2");
	cr_assert(g);
	cr_assert_eq(g->reallocs, 5);
	cr_assert_eq(g->grow_reallocs, 4);
	cr_assert_eq(g->chains, 2);
	cr_assert_eq(g->max_chain, 3);
	cr_assert_eq(st->user.live, 80);
	cr_assert_eq(st->user.blocks, 2);
	cr_assert_eq(st->user.peak, 80);
	cr_assert_eq(st->user.allocs, 7);
	cr_assert_eq(st->user.frees, 5);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, adaptive_buckets_without_a_known_range)
{
	struct bb b = {0};
	uint64_t ptr = 0x100;
	for (int i = 0; i < 10; i++)
		ALLOC(&b, i, 1, ptr += 16, 100, 1);
	ALLOC(&b, 9.5, 1, 0x9999, 5000, 1);
	FREE(&b, 9.6, 1, 0x9999);
	struct mpa_tl_params p;
	params(&p, 0, 0, 4);
	struct mpa_tl_state *st = run(&p, &b, 3);
	/* width doubled from 1 ns until 9.6 s fits in 4 buckets: 2^32 ns */
	cr_assert_eq(st->width, UINT64_C(1) << 32);
	cr_assert_eq(st->buckets, 3);
	uint64_t allocs = 0, mx = 0;
	for (uint64_t a = 0; a < st->buckets; a++) {
		struct mpa_tl_bucket k = mpa_timeline_bucket(&st->user, a);
		allocs += k.allocs;
		if (k.live_max > mx)
			mx = k.live_max;
	}
	cr_assert_eq(allocs, 11);
	cr_assert_eq(mx, 6000);
	cr_assert_eq(st->user.peak, 6000);
	/* 0..4.29 s holds the allocations at 0..4 s */
	cr_assert_eq(mpa_timeline_bucket(&st->user, 0).allocs, 5);
	cr_assert_eq(mpa_timeline_bucket(&st->user, 0).live_end, 500);
	cr_assert_eq(mpa_timeline_bucket(&st->user, 2).live_end, 1000);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, phases_from_bucket_rates)
{
	static const unsigned counts[10] = {2, 2, 2, 20, 2, 2, 20, 20, 0, 2};
	struct bb b = {0};
	uint64_t ptr = 0x1000;
	for (unsigned a = 0; a < 10; a++)
		for (unsigned i = 0; i < counts[a]; i++)
			ALLOC(&b, a + 0.001 * (i + 1), 1, ptr += 16, 8, 1);
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	struct mpa_tl_state *st = run(&p, &b, 7);
	static const int kinds[] = {MPA_TL_STEADY, MPA_TL_SPIKE, MPA_TL_STEADY, MPA_TL_BURST,
				    MPA_TL_IDLE, MPA_TL_STEADY};
	static const uint64_t first[] = {0, 3, 4, 6, 8, 9}, last[] = {2, 3, 5, 7, 8, 9};
	cr_assert_eq(st->nphases, 6);
	for (unsigned i = 0; i < 6; i++) {
		cr_expect_eq(st->phases[i].kind, kinds[i], "phase %u", i);
		cr_expect_eq(st->phases[i].first, first[i], "phase %u", i);
		cr_expect_eq(st->phases[i].last, last[i], "phase %u", i);
	}
	cr_assert_eq(st->phases[3].allocs, 40);
	cr_assert_eq(st->phases[3].live_start, 8 * 30);
	cr_assert_eq(st->phases[3].live_end, 8 * 70);
	cr_assert_eq(st->phase_median, 2);
	cr_assert_eq(st->phase_group, 1);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, phases_on_merged_buckets)
{
	/* 20 one-second buckets, phase_buckets 5: phase buckets of 4 s with
	 * allocation counts 8, 8, 40, 8, 0 -> median 8, high >= 24 */
	static const unsigned counts[20] = {2, 2, 2, 2, 2, 2, 2, 2, 10, 10,
					    10, 10, 2, 2, 2, 2, 0, 0, 0, 0};
	struct bb b = {0};
	uint64_t ptr = 0x1000;
	for (unsigned a = 0; a < 20; a++)
		for (unsigned i = 0; i < counts[a]; i++)
			ALLOC(&b, a + 0.001 * (i + 1), 1, ptr += 16, 8, 1);
	bb_add(&b, MPA_KIND_PROC_EXIT, S(19.5), 2, 0, 0, 0, 0); /* extends the capture */
	struct mpa_tl_params p;
	params(&p, 0, S(20), 20);
	p.phase_buckets = 5;
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->buckets, 20);
	cr_assert_eq(st->phase_group, 4);
	cr_assert_eq(st->phase_median, 8);
	cr_assert_eq(st->nphases, 4);
	static const int kinds[] = {MPA_TL_STEADY, MPA_TL_SPIKE, MPA_TL_STEADY, MPA_TL_IDLE};
	static const uint64_t first[] = {0, 8, 12, 16}, last[] = {7, 11, 15, 19};
	for (unsigned i = 0; i < 4; i++) {
		cr_expect_eq(st->phases[i].kind, kinds[i], "phase %u", i);
		cr_expect_eq(st->phases[i].first, first[i], "phase %u", i);
		cr_expect_eq(st->phases[i].last, last[i], "phase %u", i);
	}
	cr_assert_eq(st->phases[1].allocs, 40);
	cr_assert_eq(st->phases[1].live_start, 16 * 8);
	cr_assert_eq(st->phases[1].live_end, 56 * 8);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, memory_pressure_intervals)
{
	struct bb b = {0};
	ALLOC(&b, 1, 1, 0x10, 400, 1);
	ALLOC(&b, 2, 1, 0x20, 200, 1);  /* 600 > 500: starts */
	ALLOC(&b, 3, 1, 0x30, 100, 1);  /* 700 */
	FREE(&b, 4, 1, 0x30);           /* 600 */
	FREE(&b, 5, 1, 0x20);           /* 400: ends */
	ALLOC(&b, 6, 1, 0x40, 100, 1);  /* 500: not above */
	ALLOC(&b, 7, 1, 0x50, 1, 1);    /* 501: starts, open at the end */
	ALLOC(&b, 8, 2, 0x60, 1, 1);    /* last event */
	struct mpa_tl_params p;
	params(&p, 0, S(10), 10);
	p.pressure_bytes = 500;
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->pressure_count, 2);
	cr_assert_eq(st->npressure, 2);
	cr_assert_eq(st->pressure[0].start, S(2));
	cr_assert_eq(st->pressure[0].end, S(5));
	cr_assert_eq(st->pressure[0].max_bytes, 700);
	cr_assert_eq(st->pressure[0].open, 0);
	cr_assert_eq(st->pressure[1].start, S(7));
	cr_assert_eq(st->pressure[1].end, S(8));
	cr_assert_eq(st->pressure[1].max_bytes, 502);
	cr_assert_eq(st->pressure[1].open, 1);
	cr_assert_eq(st->pressure_ns, S(4));
	tl_done(st);
	bb_free(&b);
}

Test(timeline, recommendations_with_their_numbers)
{
	struct bb b = {0};
	double t = 0;
	uint64_t ptr = 0x10000;
	/* stack 1: 200 temporary allocations */
	for (int i = 0; i < 200; i++) {
		ALLOC(&b, t += 0.001, 1, 0x500, 24 + (i % 3), 1);
		FREE(&b, t += 0.001, 1, 0x500);
	}
	/* stack 2: 150 allocations of 48 bytes, freed later (not temporary) */
	for (int i = 0; i < 150; i++)
		ALLOC(&b, t += 0.001, 1, ptr + (uint64_t)i * 64, 48, 2);
	for (int i = 0; i < 150; i++)
		FREE(&b, t += 0.001, 1, ptr + (uint64_t)i * 64);
	/* stack 3 grows two buffers by realloc: 10 + 10 growth steps */
	for (int c = 0; c < 2; c++) {
		uint64_t q = 0x90000 + (uint64_t)c * 0x1000;
		ALLOC(&b, t += 0.001, 1, q, 16, 4);
		for (int i = 1; i <= 10; i++)
			REALLOC(&b, t += 0.001, 1, q, q, 16u << i, 3);
	}
	struct mpa_tl_params p;
	params(&p, 0, S(t) + 1, 10);
	p.pressure_bytes = 0;
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->nrecs, 3);
	/* sorted by kind */
	cr_assert_str_eq(st->recs[0].kind, "pool");
	cr_assert_str_eq(st->recs[0].site, "stack 2");
	cr_assert_eq(st->recs[0].calls, 150);
	cr_assert_eq(st->recs[0].value, 48.0);
	cr_assert_str_eq(st->recs[1].kind, "reserve");
	cr_assert_str_eq(st->recs[1].site, "stack 3");
	cr_assert_eq(st->recs[1].count, 20);
	cr_assert_eq(st->recs[1].value, 10.0);
	cr_assert_str_eq(st->recs[2].kind, "reuse-buffer");
	cr_assert_str_eq(st->recs[2].site, "stack 1");
	cr_assert_eq(st->recs[2].count, 200);
	cr_assert_eq(st->recs[2].calls, 200);
	cr_assert_not_null(strstr(st->recs[2].message, "200 of 200"));
	tl_done(st);
	bb_free(&b);
}

Test(timeline, steady_growth_recommendation)
{
	struct bb b = {0};
	for (int i = 0; i <= 100; i++)
		ALLOC(&b, i * 0.1, 1, 0x100 + (uint64_t)i * 16, 1000, 1);
	struct mpa_tl_params p;
	params(&p, 0, S(11), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->nrecs, 1);
	cr_assert_str_eq(st->recs[0].kind, "growth");
	cr_assert(fabs(st->recs[0].value - 10000.0) < 10.0, "slope %f", st->recs[0].value);
	tl_done(st);
	bb_free(&b);
}

/* A naive model: arrays of live blocks, searched linearly. */
struct nblk {
	int32_t pid;
	uint32_t image;
	uint64_t ptr, size;
};

Test(timeline, random_against_naive_model)
{
	srand(12345);
	struct bb b = {0};
	struct nblk *live = calloc(20000, sizeof *live);
	uint32_t nlive = 0;
	uint32_t image[4] = {0, 0, 0, 0};
	uint64_t total = 0, peak = 0, unknown = 0, allocs = 0;
	uint64_t pl[4] = {0};
	double t = 0;
	for (int i = 0; i < 20000; i++) {
		int32_t pid = 1 + rand() % 4;
		int op = rand() % 100;
		t += 0.0001;
		if (op < 50 || nlive == 0) {
			uint64_t ptr = 0x1000 + (uint64_t)(rand() % 3000) * 16;
			uint64_t size = 1 + (uint64_t)(rand() % 500);
			/* keep the model simple: skip addresses live in this pid */
			int dup = 0;
			for (uint32_t j = 0; j < nlive; j++)
				if (live[j].pid == pid && live[j].ptr == ptr)
					dup = 1;
			if (dup)
				continue;
			ALLOC(&b, t, pid, ptr, size, 1 + (uint32_t)(rand() % 7));
			live[nlive++] = (struct nblk){pid, image[pid - 1], ptr, size};
			total += size;
			pl[pid - 1] += size;
			allocs++;
			if (total > peak)
				peak = total;
		} else if (op < 95) {
			uint32_t j = (uint32_t)rand() % nlive;
			if (rand() % 10 == 0) {
				FREE(&b, t, pid, 0x7777000 + (uint64_t)i);
				unknown++;
				continue;
			}
			FREE(&b, t, live[j].pid, live[j].ptr);
			total -= live[j].size;
			pl[live[j].pid - 1] -= live[j].size;
			live[j] = live[--nlive];
		} else {
			int ex = op < 98;
			bb_add(&b, ex ? MPA_KIND_PROC_EXEC : MPA_KIND_PROC_EXIT, S(t), pid, 0, 0, 0, 0);
			/* rows of an exited pid within the 1 s exit grace belong to
			 * the exited process: the next rows come after it */
			if (!ex)
				t += 1.5;
			image[pid - 1]++;
			for (uint32_t j = 0; j < nlive;) {
				if (live[j].pid == pid) {
					total -= live[j].size;
					live[j] = live[--nlive];
				} else {
					j++;
				}
			}
			pl[pid - 1] = 0;
		}
	}
	struct mpa_tl_params p;
	params(&p, 0, S(t) + 1, 50);
	struct mpa_tl_state *st = run(&p, &b, 333);
	cr_assert_eq(st->user.live, total);
	cr_assert_eq(st->user.blocks, nlive);
	cr_assert_eq(st->user.peak, peak);
	cr_assert_eq(st->user.allocs, allocs);
	cr_assert_eq(st->user.unknown_frees, unknown);
	uint64_t sum_end = 0, sum_peak = 0;
	for (uint32_t i = 0; i < st->ngroups; i++) {
		sum_end += st->groups[i].live_end;
		sum_peak += st->groups[i].peak_bytes;
	}
	cr_assert_eq(sum_end, total);
	cr_assert_eq(sum_peak, peak, "sites at the peak sum to %lu, peak %lu",
		     (unsigned long)sum_peak, (unsigned long)peak);
	for (uint32_t i = 0; i < st->nprocs; i++) {
		const struct mpa_tl_proc *pr = &st->procs[i];
		if (!pr->ended)
			cr_assert_eq(pr->s.live, pl[pr->pid - 1], "pid %d", pr->pid);
		else
			cr_assert_eq(pr->s.live, 0);
	}
	/* the last bucket ends at the final value; no bucket max exceeds the peak */
	cr_assert_eq(mpa_timeline_bucket(&st->user, st->buckets - 1).live_end, total);
	uint64_t mx = 0;
	for (uint64_t a = 0; a < st->buckets; a++)
		if (mpa_timeline_bucket(&st->user, a).live_max > mx)
			mx = mpa_timeline_bucket(&st->user, a).live_max;
	cr_assert_eq(mx, peak);
	/* one batch of all rows (longer than the analyzer's internal slices)
	 * gives the same results */
	struct mpa_tl_state *st2 = run(&p, &b, 0);
	cr_assert_eq(st2->user.peak, st->user.peak);
	cr_assert_eq(st2->user.peak_ts, st->user.peak_ts);
	cr_assert_eq(st2->user.temporary, st->user.temporary);
	cr_assert_eq(st2->user.slope, st->user.slope);
	for (uint64_t a = 0; a < st->buckets; a++) {
		struct mpa_tl_bucket x = mpa_timeline_bucket(&st->user, a),
				     y = mpa_timeline_bucket(&st2->user, a);
		cr_assert(!memcmp(&x, &y, sizeof x), "bucket %lu differs", (unsigned long)a);
	}
	tl_done(st2);
	tl_done(st);
	free(live);
	bb_free(&b);
}

Test(timeline, absent_columns_read_as_zero)
{
	struct bb b = {0};
	ALLOC(&b, 1, 1, 0x10, 100, 1);
	ALLOC(&b, 2, 1, 0x20, 50, 2);
	FREE(&b, 3, 1, 0x10);
	struct mpt_batch m = bb_batch(&b);
	m.flags = NULL;
	m.usable = NULL;
	m.str_id = NULL;
	m.new_ptr = NULL;
	m.stack_id = NULL;
	struct mpa_tl_params p;
	params(&p, 0, S(4), 4);
	char err[256];
	struct mpa_pass *ps = new_pass(&p);
	cr_assert_eq(mpa_pass_feed(ps, &m, err, sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_pass_finish(ps, 0, err, sizeof err), 0, "%s", err);
	struct mpa_tl_state *st = mpa_pass_state(ps, 0);
	cr_assert_eq(st->user.peak, 150);
	cr_assert_eq(st->user.live, 50);
	cr_assert_eq(st->ngroups, 1); /* every row on stack 0 */
	cr_assert_str_eq(st->groups[0].name, "??");
	m.kind = NULL;
	cr_assert_eq(mpa_pass_feed(ps, &m, err, sizeof err), -1);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, bad_settings_are_refused)
{
	struct mpa_tl_params p;
	void *st = NULL;
	char err[256];
	params(&p, 0, 0, 0);
	cr_assert_eq(mpa_timeline_begin_with(NULL, &p, &st, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "timeline_points"));
	params(&p, 0, 0, 10);
	p.burst_factor = 0.5;
	cr_assert_eq(mpa_timeline_begin_with(NULL, &p, &st, err, sizeof err), -1);
	cr_assert_null(st);
}

Test(timeline, empty_capture)
{
	struct bb b = {0};
	struct mpa_tl_params p;
	params(&p, 0, 0, 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->buckets, 0);
	cr_assert_eq(st->user.peak, 0);
	cr_assert_eq(st->nphases, 0);
	cr_assert_eq(st->nrecs, 0);
	tl_done(st);
}

Test(timeline, fixed_interval)
{
	struct bb b = {0};
	ALLOC(&b, 0.2, 1, 0x10, 100, 1);
	ALLOC(&b, 0.7, 1, 0x20, 100, 1);
	FREE(&b, 1.6, 1, 0x10);
	struct mpa_tl_params p;
	params(&p, 0, S(3), 10);
	p.interval_ns = S(0.5);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->width, S(0.5));
	cr_assert_eq(st->buckets, 6); /* 3 s of 0.5 s */
	static const uint64_t max[6] = {100, 200, 200, 200, 100, 100};
	static const uint64_t end[6] = {100, 200, 200, 100, 100, 100};
	for (uint64_t a = 0; a < 6; a++) {
		cr_expect_eq(mpa_timeline_bucket(&st->user, a).live_max, max[a], "bucket %lu",
			     (unsigned long)a);
		cr_expect_eq(mpa_timeline_bucket(&st->user, a).live_end, end[a], "bucket %lu",
			     (unsigned long)a);
	}
	tl_done(st);
	bb_free(&b);
}

/* Hostile rows (any kind, flags, huge sizes and timestamps, timestamps
 * going back, few addresses so that every odd case happens): no crash, no
 * sanitizer report, and the books still balance. */
Test(timeline, hostile_rows_keep_the_books_balanced)
{
	srand(777);
	struct bb b = {0};
	uint64_t ts = 1000;
	for (int i = 0; i < 30000; i++) {
		uint8_t kind = (uint8_t)(rand() % 24);
		int r = rand() % 100;
		if (r < 5)
			ts -= (uint64_t)(rand() % 1000); /* backwards */
		else if (r < 6)
			ts += UINT64_C(1) << (rand() % 63);
		else
			ts += (uint64_t)(rand() % 100000);
		uint64_t size = rand() % 10 == 0 ? ~(uint64_t)0 >> (rand() % 64) : (uint64_t)(rand() % 5000);
		bb_add(&b, kind, ts, rand() % 5 - 1, (uint64_t)(rand() % 64) * 16,
		       (uint64_t)(rand() % 64) * 16, size, (uint32_t)rand() % 50);
		b.flags[b.n - 1] = (uint16_t)(rand() % 3 == 0 ? rand() : 0);
		b.usable[b.n - 1] = (uint64_t)rand();
		b.str_id[b.n - 1] = (uint32_t)rand();
		if (rand() % 1000 == 0)
			b.stack_id[b.n - 1] = (uint32_t)rand() * 7919u; /* beyond the direct table */
	}
	for (int mode = 0; mode < 2; mode++) {
		struct mpa_tl_params p;
		params(&p, 0, mode ? 0 : ts + 1, 64);
		p.pressure_bytes = 5000;
		struct mpa_tl_state *st = run(&p, &b, 1000);
		uint64_t site_live = 0, site_blocks = 0;
		for (uint32_t i = 0; i < st->nsites; i++) {
			site_live += st->sites[i].live;
			site_blocks += st->sites[i].live_blocks;
		}
		cr_assert_eq(site_live, st->user.live + st->kernel.live);
		cr_assert_eq(site_blocks, st->user.blocks + st->kernel.blocks);
		uint64_t mapped = 0;
		for (uint32_t i = 0; i < st->nprocs; i++) {
			const struct mpa_tl_maps *m = &st->procs[i].maps;
			mapped += m->bytes;
		}
		cr_assert_eq(mapped, st->mapped.live);
		cr_assert_leq(st->buckets, 64);
		tl_done(st);
	}
	bb_free(&b);
}

Test(timeline, startup_rows_are_left_out)
{
	struct bb b = {0};
	ALLOC(&b, 0.1, 1, 0x10, 5000, 1);
	b.flags[b.n - 1] = MPA_FLAG_EARLY | MPA_FLAG_TS_APPROX;
	ALLOC(&b, 0.2, 1, 0x20, 100, 2);
	ALLOC(&b, 0.3, 1, 0x30, 7, 2);
	FREE(&b, 0.4, 1, 0x10);       /* the start-up block: known, not counted */
	FREE(&b, 0.5, 1, 0x30);       /* temporary: the start-up free did not reset */
	REALLOC(&b, 0.6, 1, 0x20, 0x40, 200, 2);
	b.flags[b.n - 1] = MPA_FLAG_EARLY; /* odd, but: the program block leaves */
	struct mpa_tl_params p;
	params(&p, 0, S(1), 10);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->user.peak, 107);
	cr_assert_eq(st->user.unknown_frees, 0);
	cr_assert_eq(st->user.temporary, 1);
	cr_assert_eq(st->user.live, 0);
	cr_assert_eq(st->user.frees, 2);
	cr_assert_eq(st->tracer_allocs, 2);
	cr_assert_eq(st->startup_allocs, 2);
	cr_assert_eq(st->startup_bytes, 5200);
	cr_assert_eq(st->tracer_frees, 1);
	cr_assert_eq(st->ngroups, 1);
	cr_assert_eq(st->size_total, 2);
	tl_done(st);

	/* with exclude_tracer off they are ordinary rows */
	p.exclude_tracer = 0;
	st = run(&p, &b, 0);
	cr_assert_eq(st->user.peak, 5107);
	cr_assert_eq(st->user.live, 200);
	cr_assert_eq(st->tracer_allocs, 0);
	tl_done(st);
	bb_free(&b);
}

Test(timeline, mapped_bytes)
{
	struct bb b = {0};
	bb_add(&b, MPA_KIND_MAP, S(1), 1, 0x10000, 0, 0x4000, 1);
	bb_add(&b, MPA_KIND_MAP, S(2), 1, 0x20000, 0, 0x1000, 1);
	bb_add(&b, MPA_KIND_UNMAP, S(3), 1, 0x11000, 0, 0x1000, 2);  /* a hole: split */
	bb_add(&b, MPA_KIND_MAP, S(4), 1, 0x13000, 0, 0x2000, 1);    /* over 0x13000-0x14000 */
	bb_add(&b, MPA_KIND_UNMAP, S(5), 1, 0, 0, 0x100000, 2);      /* everything and more */
	bb_add(&b, MPA_KIND_UNMAP, S(5), 9, 0x5000, 0, 0x1000, 2);   /* pid without an image */
	bb_add(&b, MPA_KIND_MAP, S(6), 1, 0x30000, 0, 0x2000, 1);
	bb_add(&b, MPA_KIND_PROC_EXIT, S(7), 1, 0, 0, 0, 0);
	struct mpa_tl_params p;
	params(&p, 0, S(8), 8);
	struct mpa_tl_state *st = run(&p, &b, 0);
	cr_assert_eq(st->mapped.peak, 20480);
	cr_assert_eq(st->mapped.peak_ts, S(2));
	cr_assert_eq(st->mapped.live, 0);
	cr_assert_eq(st->maps, 4);
	cr_assert_eq(st->unmaps, 3);
	cr_assert_eq(st->replaced_map_bytes, 4096);
	cr_assert_eq(st->unknown_unmap_bytes, 0x100000 - 20480 + 0x1000);
	cr_assert_eq(st->mapped.released_bytes, 8192);
	static const uint64_t end[8] = {0, 16384, 20480, 16384, 20480, 0, 8192, 0};
	static const uint64_t max[8] = {0, 16384, 20480, 20480, 20480, 20480, 8192, 8192};
	for (uint64_t a = 0; a < 8; a++) {
		cr_expect_eq(mpa_timeline_bucket(&st->mapped, a).live_end, end[a], "bucket %lu",
			     (unsigned long)a);
		cr_expect_eq(mpa_timeline_bucket(&st->mapped, a).live_max, max[a], "bucket %lu",
			     (unsigned long)a);
	}
	cr_assert_eq(st->procs[0].maps.peak, 20480);
	/* mappings are not heap blocks */
	cr_assert_eq(st->user.peak, 0);
	tl_done(st);
	bb_free(&b);
}
