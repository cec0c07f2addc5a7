/* The heap model (analyzers/core/heap.c) through a pass: what it hands an
 * analyzer for each row and at each image's end, exactly. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/analyzer.h"
#include "../../analyzers/core/pass.h"

#define S(x) ((uint64_t)((x) * 1e9 + 0.5))

/* ---- rows ------------------------------------------------------------------ */

enum { MAXR = 64 };

struct rows {
	uint32_t n;
	uint8_t kind[MAXR];
	uint16_t flags[MAXR];
	uint8_t api[MAXR], order[MAXR];
	uint64_t ts[MAXR], ptr[MAXR], new_ptr[MAXR], size[MAXR], usable[MAXR], ip[MAXR];
	int32_t pid[MAXR], status[MAXR], ppid[MAXR];
	uint32_t stack[MAXR], str[MAXR], pool[MAXR];
};

static void add(struct rows *r, uint8_t kind, double t, int32_t pid, uint64_t ptr, uint64_t np,
		uint64_t size, uint32_t stack)
{
	cr_assert_lt(r->n, MAXR);
	uint32_t i = r->n++;
	r->kind[i] = kind;
	r->ts[i] = S(t);
	r->pid[i] = pid;
	r->ptr[i] = ptr;
	r->new_ptr[i] = np;
	r->size[i] = size;
	r->stack[i] = stack;
}

static struct mpt_batch batch(struct rows *r)
{
	struct mpt_batch b = {0};
	b.n = r->n;
	b.kind = r->kind;
	b.flags = r->flags;
	b.api = r->api;
	b.order = r->order;
	b.ts = r->ts;
	b.ptr = r->ptr;
	b.new_ptr = r->new_ptr;
	b.size = r->size;
	b.usable = r->usable;
	b.ip = r->ip;
	b.pid = r->pid;
	b.status = r->status;
	b.stack_id = r->stack;
	b.str_id = r->str;
	b.pool_id = r->pool;
	b.ppid = r->ppid;
	return b;
}

/* ---- a recording analyzer -------------------------------------------------- */

struct seen_row {
	uint8_t kind, anomaly, failed;
	uint32_t img;          /* image id, 0 none */
	int exited;
	int has_blk, has_old, has_dup;
	struct mpa_block blk, old, dup;
	uint64_t unmapped;
};

struct seen_end {
	struct mpa_image img;
	uint32_t nblocks;
	uint64_t bytes;        /* program blocks still live */
	uint64_t first_ptr;
};

struct rec {
	struct seen_row row[MAXR];
	uint32_t nrow;
	struct seen_end end[16];
	uint32_t nend;
	uint32_t forks, fork_parent, fork_child;
	uint64_t fork_child_blocks;
};

static int r_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t len)
{
	(void)ctx, (void)err, (void)len;
	*state = calloc(1, sizeof(struct rec));
	return *state ? 0 : -1;
}

static int r_row(void *state, const struct mpa_row *r)
{
	struct rec *R = state;
	struct seen_row *s = &R->row[R->nrow++];
	s->kind = r->kind;
	s->anomaly = r->anomaly;
	s->failed = r->failed;
	s->img = r->img ? r->img->id : 0;
	s->exited = r->img ? r->img->exited : 0;
	if ((s->has_blk = r->blk != NULL))
		s->blk = *r->blk;
	if ((s->has_old = r->old != NULL))
		s->old = *r->old;
	if ((s->has_dup = r->dup != NULL))
		s->dup = *r->dup;
	s->unmapped = r->unmapped;
	return 0;
}

static int r_end(void *state, const struct mpa_image *img)
{
	struct rec *R = state;
	cr_assert_lt(R->nend, 16);
	struct seen_end *e = &R->end[R->nend++];
	e->img = *img;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(img, &cur));) {
		if (!e->nblocks || b->ptr < e->first_ptr)
			e->first_ptr = b->ptr;
		e->nblocks++;
		if (!(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP)))
			e->bytes += b->size;
	}
	cr_assert_eq(e->bytes, img->live_bytes, "the image's own count agrees with its live set");
	return 0;
}

static int r_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct rec *R = state;
	R->forks++;
	R->fork_parent = parent ? parent->id : 0;
	R->fork_child = child->id;
	R->fork_child_blocks = child->live_blocks;
	return 0;
}

static int r_fin(void *state, char *err, size_t len)
{
	(void)state, (void)err, (void)len;
	return 0;
}

static int r_emit(void *state, mpa_out *o, char *err, size_t len)
{
	(void)state, (void)o, (void)err, (void)len;
	return 0;
}

static void r_release(void *state)
{
	free(state);
}

static const struct mpa_analyzer recorder = {
	.name = "recorder",
	.begin = r_begin,
	.on_row = r_row,
	.on_image_end = r_end,
	.on_fork = r_fork,
	.end = r_fin,
	.emit = r_emit,
	.release = r_release,
};

static const struct mpa_ctx no_capture;

/* Feeds rows in slices of `slice` and finishes; the recorder's state. */
static struct rec *replay(struct rows *r, uint32_t slice, struct mpa_pass **pp)
{
	const struct mpa_analyzer *const list[] = {&recorder};
	char err[256] = "";
	struct mpa_pass *p = mpa_pass_create(&no_capture, list, 1, err, sizeof err);
	cr_assert(p, "%s", err);
	struct mpt_batch all = batch(r);
	if (!slice)
		slice = all.n ? all.n : 1;
	for (uint32_t off = 0; off < all.n; off += slice) {
		struct rows part;
		memset(&part, 0, sizeof part);
		for (uint32_t i = off; i < all.n && i < off + slice; i++) {
			uint32_t j = part.n++;
			part.kind[j] = r->kind[i], part.flags[j] = r->flags[i], part.api[j] = r->api[i];
			part.order[j] = r->order[i], part.ts[j] = r->ts[i], part.ptr[j] = r->ptr[i];
			part.new_ptr[j] = r->new_ptr[i], part.size[j] = r->size[i];
			part.usable[j] = r->usable[i], part.ip[j] = r->ip[i], part.pid[j] = r->pid[i];
			part.status[j] = r->status[i], part.stack[j] = r->stack[i];
			part.str[j] = r->str[i], part.pool[j] = r->pool[i];
			part.ppid[j] = r->ppid[i];
		}
		struct mpt_batch b = batch(&part);
		cr_assert_eq(mpa_pass_feed(p, &b, err, sizeof err), 0, "%s", err);
	}
	cr_assert_eq(mpa_pass_finish(p, 0, err, sizeof err), 0, "%s", err);
	*pp = p;
	return mpa_pass_state(p, 0);
}

/* ---- tests ------------------------------------------------------------------- */

Test(heap, blocks_frees_and_anomalies)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 10, 0x100, 0, 40, 3);     /* 0 */
	add(&r, MPA_KIND_ALLOC, 1.1, 10, 0x200, 0, 8, 4);    /* 1 */
	add(&r, MPA_KIND_FREE, 1.2, 10, 0x100, 0, 0, 9);     /* 2 */
	add(&r, MPA_KIND_FREE, 1.3, 10, 0x100, 0, 0, 9);     /* 3: double free */
	add(&r, MPA_KIND_FREE, 1.4, 10, 0x999, 0, 0, 9);     /* 4: unknown */
	add(&r, MPA_KIND_ALLOC, 1.5, 10, 0x200, 0, 16, 5);   /* 5: over a live block */
	add(&r, MPA_KIND_FREE, 1.6, 11, 0x200, 0, 0, 0);     /* 6: a pid never seen */
	add(&r, MPA_KIND_ALLOC, 1.7, 10, 0, 0, 64, 5);       /* 7: failed malloc */
	add(&r, MPA_KIND_FREE, 1.8, 10, 0, 0, 0, 0);         /* 8: free(NULL) */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 2, &p);
	cr_assert_eq(R->nrow, 9);
	cr_assert(R->row[0].has_blk && !R->row[0].has_old);
	cr_assert_eq(R->row[0].blk.size, 40);
	cr_assert_eq(R->row[0].blk.ts, S(1));
	cr_assert_eq(R->row[0].blk.stack_id, 3);
	cr_assert(R->row[2].has_old);
	cr_assert_eq(R->row[2].old.size, 40, "a free carries its block's size");
	cr_assert_eq(R->row[2].old.stack_id, 3, "and its allocation site");
	cr_assert_eq(R->row[2].old.ts, S(1), "and its allocation time");
	cr_assert_eq(R->row[3].anomaly, MPA_ANOM_DOUBLE_FREE);
	cr_assert_eq(R->row[4].anomaly, MPA_ANOM_UNKNOWN_FREE);
	cr_assert_eq(R->row[5].anomaly, MPA_ANOM_ALLOC_LIVE);
	cr_assert(R->row[5].has_dup);
	cr_assert_eq(R->row[5].dup.size, 8);
	cr_assert_eq(R->row[6].img, 0, "a free does not start a process");
	cr_assert_eq(R->row[6].anomaly, MPA_ANOM_UNKNOWN_FREE);
	cr_assert(R->row[7].failed);
	cr_assert(!R->row[8].has_old && !R->row[8].anomaly);
	/* one image, still running at the end, holding the 16-byte block */
	cr_assert_eq(R->nend, 2);
	cr_assert_eq(R->end[0].img.pid, 10);
	cr_assert_eq(R->end[0].img.how, MPA_IMAGE_CAPTURE_END);
	cr_assert_eq(R->end[0].img.end_ts, S(1.8));
	cr_assert_eq(R->end[0].nblocks, 1);
	cr_assert_eq(R->end[0].bytes, 16);
	cr_assert(R->end[1].img.kernel, "the kernel image ends last");
	struct mpa_heap_stats st;
	mpa_pass_heap_stats(p, &st);
	cr_assert_eq(st.anomalies[MPA_ANOM_UNKNOWN_FREE], 2);
	cr_assert_eq(st.anomalies[MPA_ANOM_DOUBLE_FREE], 1);
	cr_assert_eq(st.images, 1);
	mpa_pass_free(p);
}

Test(heap, realloc_links_and_chains)
{
	struct rows r = {0};
	add(&r, MPA_KIND_REALLOC, 1, 5, 0, 0x10, 10, 1);     /* 0: realloc(NULL) = malloc */
	add(&r, MPA_KIND_REALLOC, 2, 5, 0x10, 0x20, 20, 1);  /* 1: grows */
	add(&r, MPA_KIND_REALLOC, 3, 5, 0x20, 0x30, 40, 1);  /* 2: grows */
	add(&r, MPA_KIND_REALLOC, 4, 5, 0x30, 0x30, 8, 1);   /* 3: shrinks in place */
	add(&r, MPA_KIND_REALLOC, 5, 5, 0x30, 0, 99, 1);     /* 4: failed: block stays */
	add(&r, MPA_KIND_REALLOC, 6, 5, 0x777, 0x40, 4, 2);  /* 5: unknown old pointer */
	add(&r, MPA_KIND_REALLOC, 7, 5, 0x40, 0, 0, 2);      /* 6: realloc(p, 0) frees */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 0, &p);
	cr_assert(R->row[0].has_blk && !R->row[0].has_old && !R->row[0].anomaly);
	cr_assert_eq(R->row[0].blk.chain, 0);
	cr_assert_eq(R->row[1].old.size, 10);
	cr_assert_eq(R->row[1].blk.chain, 1);
	cr_assert_eq(R->row[2].blk.chain, 2);
	cr_assert_eq(R->row[3].old.ptr, 0x30);
	cr_assert_eq(R->row[3].blk.chain, 2, "a shrink keeps the chain");
	cr_assert(R->row[3].blk.flags & MPA_BLK_REALLOC);
	cr_assert(R->row[4].failed);
	cr_assert_eq(R->row[5].anomaly, MPA_ANOM_UNKNOWN_REALLOC);
	cr_assert(R->row[5].has_blk);
	cr_assert(R->row[6].has_old && !R->row[6].has_blk);
	cr_assert_eq(R->end[0].nblocks, 1);
	cr_assert_eq(R->end[0].bytes, 8);
	mpa_pass_free(p);
}

Test(heap, exit_grace_and_pid_reuse)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 7, 0x100, 0, 100, 1);
	add(&r, MPA_KIND_ALLOC, 1, 7, 0x200, 0, 50, 1);
	add(&r, MPA_KIND_PROC_EXIT, 2, 7, 0, 0, 0, 0);
	r.status[r.n - 1] = 3;
	add(&r, MPA_KIND_FREE, 2.5, 7, 0x100, 0, 0, 0);      /* 3: a destructor, in the grace */
	add(&r, MPA_KIND_ALLOC, 2.6, 8, 0x100, 0, 1, 1);     /* 4: another pid */
	add(&r, MPA_KIND_ALLOC, 3.5, 7, 0x200, 0, 7, 1);     /* 5: past the grace: pid reuse */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 1, &p);
	cr_assert(R->row[3].has_old, "a free in the exit grace is an ordinary free");
	cr_assert(R->row[3].exited);
	cr_assert_eq(R->row[3].img, R->row[0].img);
	cr_assert_neq(R->row[5].img, R->row[0].img, "a new process in the old pid");
	cr_assert(!R->row[5].has_dup, "nothing of the old process is live in the new");
	/* the exited image ended at its exit, when its grace was over */
	cr_assert_eq(R->end[0].img.pid, 7);
	cr_assert_eq(R->end[0].img.how, MPA_IMAGE_EXIT);
	cr_assert_eq(R->end[0].img.end_ts, S(2));
	cr_assert_eq(R->end[0].img.exit_status, 3);
	cr_assert_eq(R->end[0].img.seq, 0);
	cr_assert_eq(R->end[0].nblocks, 1);
	cr_assert_eq(R->end[0].bytes, 50);
	cr_assert_eq(R->nend, 4);
	cr_assert_eq(R->end[1].img.pid, 8, "then the running ones, in order of appearance");
	cr_assert_eq(R->end[2].img.pid, 7);
	cr_assert_eq(R->end[2].img.seq, 1);
	cr_assert_eq(R->end[2].img.how, MPA_IMAGE_CAPTURE_END);
	struct mpa_heap_stats st;
	mpa_pass_heap_stats(p, &st);
	cr_assert_eq(st.exits, 1);
	mpa_pass_free(p);
}

Test(heap, exec_replaces_the_heap)
{
	struct rows r = {0};
	add(&r, MPA_KIND_PROC_EXEC, 0.5, 4, 0, 0, 0, 0);
	r.str[r.n - 1] = 11;                                  /* named, nothing seen yet */
	add(&r, MPA_KIND_ALLOC, 1, 4, 0x100, 0, 100, 1);
	add(&r, MPA_KIND_PROC_EXEC, 2, 4, 0, 0, 0, 0);
	r.str[r.n - 1] = 12;
	add(&r, MPA_KIND_FREE, 3, 4, 0x100, 0, 0, 0);        /* the old image's block */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 0, &p);
	cr_assert_eq(R->end[0].img.how, MPA_IMAGE_EXEC);
	cr_assert_eq(R->end[0].img.path, 11);
	cr_assert_eq(R->end[0].img.end_ts, S(2));
	cr_assert_eq(R->end[0].bytes, 100);
	cr_assert_eq(R->row[3].anomaly, MPA_ANOM_UNKNOWN_FREE, "exec released it");
	cr_assert_eq(R->end[1].img.path, 12);
	cr_assert_eq(R->end[1].img.seq, 1);
	mpa_pass_free(p);
}

Test(heap, kernel_objects)
{
	struct rows r = {0};
	add(&r, MPA_KIND_KALLOC, 1, 0, 0xffff1000, 0, 100, 0);
	r.usable[r.n - 1] = 128;
	r.ip[r.n - 1] = 0xffffffff81000000;
	add(&r, MPA_KIND_KALLOC, 1, 0, 0xffff2000, 0, 0, 0);
	r.api[r.n - 1] = MPA_API_PAGE;
	r.order[r.n - 1] = 2;
	add(&r, MPA_KIND_KFREE, 2, 55, 0xffff1000, 0, 0, 0);
	add(&r, MPA_KIND_KFREE, 2, 55, 0xffff9000, 0, 0, 0);
	struct mpa_pass *p;
	struct rec *R = replay(&r, 0, &p);
	cr_assert_eq(R->row[0].blk.usable, 128);
	cr_assert_eq(R->row[1].blk.size, 4096 << 2, "a page allocation of order 2");
	cr_assert(R->row[2].has_old, "kernel frees match whatever pid context they run in");
	cr_assert_eq(R->row[3].anomaly, MPA_ANOM_UNKNOWN_FREE);
	cr_assert_eq(R->nend, 1);
	cr_assert(R->end[0].img.kernel);
	cr_assert_eq(R->end[0].nblocks, 1);
	mpa_pass_free(p);
}

Test(heap, maps_and_hostile_values)
{
	struct rows r = {0};
	add(&r, MPA_KIND_MAP, 1, 3, 0x10000, 0, 0x4000, 0);
	add(&r, MPA_KIND_MAP, 1, 3, 0x11000, 0, 0x1000, 0);  /* over the first: replaces */
	add(&r, MPA_KIND_UNMAP, 2, 3, 0x10000, 0, 0x2000, 0);
	add(&r, MPA_KIND_ALLOC, 3, 3, UINT64_MAX, 0, UINT64_MAX, UINT32_MAX);
	add(&r, MPA_KIND_ALLOC, 1, INT32_MIN, 0x1, 0, 1, 0); /* time goes back */
	add(&r, MPA_KIND_MAP, 4, 3, UINT64_MAX - 10, 0, 100, 0); /* wraps */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 0, &p);
	cr_assert_eq(R->row[1].unmapped, 0x1000);
	cr_assert_eq(R->row[2].unmapped, 0x2000);
	cr_assert_eq(R->row[3].blk.size, UINT64_MAX);
	struct mpa_heap_stats st;
	mpa_pass_heap_stats(p, &st);
	cr_assert_eq(st.ts_backwards, 1);
	mpa_pass_free(p);
}

Test(heap, fork_copies_the_live_heap)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 10, 0xa0, 0, 100, 1);      /* 0 */
	add(&r, MPA_KIND_ALLOC, 1.1, 10, 0xb0, 0, 200, 1);    /* 1 */
	add(&r, MPA_KIND_ALLOC, 1.2, 10, 0xc0, 0, 300, 2);    /* 2 */
	add(&r, MPA_KIND_PROC_FORK, 2, 11, 0, 0, 0, 0);       /* 3 */
	r.ppid[r.n - 1] = 10;
	add(&r, MPA_KIND_FREE, 2.1, 11, 0xa0, 0, 0, 0);       /* 4: an inherited block */
	add(&r, MPA_KIND_FREE, 2.2, 11, 0xb0, 0, 0, 0);       /* 5 */
	add(&r, MPA_KIND_ALLOC, 2.3, 11, 0xd0, 0, 7, 3);      /* 6: the child's own */
	add(&r, MPA_KIND_PROC_EXIT, 3, 11, 0, 0, 0, 0);       /* 7 */
	add(&r, MPA_KIND_FREE, 3.5, 10, 0xa0, 0, 0, 0);       /* 8: the parent's copies */
	add(&r, MPA_KIND_FREE, 4.5, 10, 0xb0, 0, 0, 0);       /* 9: past the child's grace */
	add(&r, MPA_KIND_FREE, 4.6, 10, 0xc0, 0, 0, 0);       /* 10 */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 3, &p);
	cr_assert_eq(R->forks, 1);
	cr_assert_eq(R->fork_parent, R->row[0].img);
	cr_assert_eq(R->fork_child_blocks, 3, "the child starts with the parent's live set");
	cr_assert_eq(R->row[3].img, R->fork_child);
	cr_assert(R->row[4].has_old, "a free of an inherited block is an ordinary free");
	cr_assert_eq(R->row[4].old.size, 100);
	cr_assert_eq(R->row[4].old.stack_id, 1, "with the parent's allocation site");
	cr_assert(R->row[4].old.flags & MPA_BLK_INHERITED);
	cr_assert(!R->row[4].anomaly);
	cr_assert(R->row[8].has_old, "the parent's own copy is untouched by the child's free");
	/* the child ended at its exit, holding one inherited block and its own */
	cr_assert_eq(R->end[0].img.pid, 11);
	cr_assert_eq(R->end[0].img.how, MPA_IMAGE_EXIT);
	cr_assert_eq(R->end[0].img.ppid, 10);
	cr_assert_eq(R->end[0].img.parent, R->fork_parent);
	cr_assert_eq(R->end[0].nblocks, 2);
	cr_assert_eq(R->end[0].bytes, 307);
	cr_assert_eq(R->end[0].img.inherited_blocks, 1);
	cr_assert_eq(R->end[0].img.inherited_bytes, 300);
	cr_assert_eq(R->end[1].img.pid, 10);
	cr_assert_eq(R->end[1].nblocks, 0);
	struct mpa_heap_stats st;
	mpa_pass_heap_stats(p, &st);
	cr_assert_eq(st.forks, 1);
	cr_assert_eq(st.anomalies[MPA_ANOM_UNKNOWN_FREE], 0);
	mpa_pass_free(p);
}

Test(heap, fork_into_a_used_pid_is_a_new_process)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 20, 0x10, 0, 5, 1);
	add(&r, MPA_KIND_ALLOC, 1, 21, 0x20, 0, 6, 1);        /* pid 21, its exit never seen */
	add(&r, MPA_KIND_PROC_FORK, 2, 21, 0, 0, 0, 0);       /* a new process in pid 21 */
	r.ppid[r.n - 1] = 20;
	add(&r, MPA_KIND_FREE, 3, 21, 0x20, 0, 0, 0);         /* not the old 21's block */
	struct mpa_pass *p;
	struct rec *R = replay(&r, 0, &p);
	cr_assert_eq(R->end[0].img.pid, 21, "the old process in pid 21 ends at the fork");
	cr_assert_eq(R->end[0].img.how, MPA_IMAGE_EXIT);
	cr_assert_eq(R->end[0].bytes, 6);
	cr_assert_eq(R->row[3].anomaly, MPA_ANOM_UNKNOWN_FREE);
	cr_assert_eq(R->nend, 4);
	cr_assert_eq(R->end[2].img.pid, 21);
	cr_assert_eq(R->end[2].img.seq, 1);
	cr_assert_eq(R->end[2].bytes, 5, "the new 21 holds its parent's copy");
	mpa_pass_free(p);
}

/* ---- the address index ---------------------------------------------------------- */

static const uint64_t probes[] = {0x0ff, 0x100, 0x127, 0x128, 0x1ff, 0x200, 0x23f, 0x240, 0x300,
				  0x307, 0x400};
#define NPROBES (sizeof probes / sizeof *probes)

struct idx_rec {
	uint32_t nrow;
	uint64_t owner[MAXR][NPROBES]; /* ptr of the containing block after each row, 0 none */
	uint64_t walk[MAXR];           /* the by-address walk at the image's end */
	uint32_t nwalk, nends, nlive;
};

static int i_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t len)
{
	(void)ctx, (void)err, (void)len;
	*state = calloc(1, sizeof(struct idx_rec));
	return *state ? 0 : -1;
}

static int i_row(void *state, const struct mpa_row *r)
{
	struct idx_rec *R = state;
	cr_assert_lt(R->nrow, MAXR);
	for (size_t k = 0; k < NPROBES; k++) {
		const struct mpa_block *b = r->img ? mpa_image_find_containing(r->img, probes[k]) : NULL;
		R->owner[R->nrow][k] = b ? b->ptr : 0;
	}
	R->nrow++;
	return 0;
}

static int i_end(void *state, const struct mpa_image *img)
{
	struct idx_rec *R = state;
	R->nends++;
	uint64_t cur = 0, prev = 0, n = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block_by_addr(img, &cur));) {
		cr_assert(n == 0 || b->ptr > prev, "increasing addresses");
		prev = b->ptr;
		cr_assert_lt(R->nwalk, MAXR);
		R->walk[R->nwalk++] = b->ptr;
		n++;
	}
	cur = 0;
	while (mpa_image_next_block(img, &cur))
		R->nlive++;
	return 0;
}

static const struct mpa_analyzer indexer = {
	.name = "indexer",
	.begin = i_begin,
	.on_row = i_row,
	.on_image_end = i_end,
	.end = r_fin,
	.emit = r_emit,
	.release = r_release,
	.needs = MPA_NEED_ADDR_INDEX,
};

static struct idx_rec *replay_indexed(struct rows *r, const struct mpa_analyzer *a,
				       struct mpa_pass **pp)
{
	const struct mpa_analyzer *const list[] = {a};
	char err[256] = "";
	struct mpa_pass *p = mpa_pass_create(&no_capture, list, 1, err, sizeof err);
	cr_assert(p, "%s", err);
	struct mpt_batch b = batch(r);
	cr_assert_eq(mpa_pass_feed(p, &b, err, sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_pass_finish(p, 0, err, sizeof err), 0, "%s", err);
	*pp = p;
	return mpa_pass_state(p, 0);
}

Test(heap, address_index_finds_the_containing_block)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 10, 0x100, 0, 40, 1);   /* 0: [0x100, 0x128) */
	add(&r, MPA_KIND_ALLOC, 1.1, 10, 0x200, 0, 48, 1); /* 1: usable 64: [0x200, 0x240) */
	r.usable[r.n - 1] = 64;
	add(&r, MPA_KIND_ALLOC, 1.2, 10, 0x300, 0, 0, 1);  /* 2: size 0: [0x300, 0x301) */
	add(&r, MPA_KIND_FREE, 1.3, 10, 0x100, 0, 0, 0);   /* 3 */
	add(&r, MPA_KIND_REALLOC, 1.4, 10, 0x200, 0x100, 8, 1); /* 4: moves to [0x100, 0x108) */
	add(&r, MPA_KIND_PROC_FORK, 2, 11, 0, 0, 0, 0);    /* 5: the child gets both */
	r.ppid[r.n - 1] = 10;
	add(&r, MPA_KIND_FREE, 2.1, 11, 0x300, 0, 0, 0);   /* 6: in the child only */
	add(&r, MPA_KIND_KALLOC, 2.2, 10, 0x1f0, 0, 32, 0); /* 7: a kernel object [0x1f0, 0x210) */
	struct mpa_pass *p;
	struct idx_rec *R = replay_indexed(&r, &indexer, &p);
	/* probes: 0x0ff 0x100 0x127 0x128 0x1ff 0x200 0x23f 0x240 0x300 0x307 0x400 */
	const uint64_t want[][NPROBES] = {
		{0, 0x100, 0x100, 0, 0, 0, 0, 0, 0, 0, 0},
		{0, 0x100, 0x100, 0, 0, 0x200, 0x200, 0, 0, 0, 0},
		{0, 0x100, 0x100, 0, 0, 0x200, 0x200, 0, 0x300, 0, 0},
		{0, 0, 0, 0, 0, 0x200, 0x200, 0, 0x300, 0, 0},
		{0, 0x100, 0, 0, 0, 0, 0, 0, 0x300, 0, 0},
		{0, 0x100, 0, 0, 0, 0, 0, 0, 0x300, 0, 0},
		{0, 0x100, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 0, 0x1f0, 0x1f0, 0, 0, 0, 0, 0},
	};
	cr_assert_eq(R->nrow, 8);
	for (uint32_t i = 0; i < R->nrow; i++)
		for (size_t k = 0; k < NPROBES; k++)
			cr_assert_eq(R->owner[i][k], want[i][k], "row %u probe %#lx: %#lx, want %#lx", i,
				     (unsigned long)probes[k], (unsigned long)R->owner[i][k],
				     (unsigned long)want[i][k]);
	/* ends at the capture's end in image order: the parent (0x100, 0x300),
	 * the child (0x100), the kernel (0x1f0) last */
	cr_assert_eq(R->nends, 3);
	cr_assert_eq(R->nwalk, 4);
	cr_assert_eq(R->nlive, 4, "the walk sees every live block");
	const uint64_t walk[] = {0x100, 0x300, 0x100, 0x1f0};
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(R->walk[i], walk[i], "walk %u: %#lx", i, (unsigned long)R->walk[i]);
	mpa_pass_free(p);
}

Test(heap, address_index_is_off_unless_asked_and_hostile_addresses)
{
	struct mpa_analyzer plain = indexer;
	plain.needs = 0;
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 10, 0x100, 0, 40, 1);
	struct mpa_pass *p;
	struct idx_rec *R = replay_indexed(&r, &plain, &p);
	cr_assert_eq(R->owner[0][1], 0, "no index, no answer");
	cr_assert_eq(R->nwalk, 0);
	cr_assert_eq(R->nlive, 1);
	mpa_pass_free(p);

	/* blocks at the top of the address space: no wrap-around, no endless walk */
	struct rows h = {0};
	add(&h, MPA_KIND_ALLOC, 1, 10, UINT64_MAX, 0, 16, 1);
	add(&h, MPA_KIND_ALLOC, 1.1, 10, UINT64_MAX - 8, 0, UINT64_MAX, 1);
	add(&h, MPA_KIND_ALLOC, 1.2, 10, 0x10, 0, 0x100, 1);
	R = replay_indexed(&h, &indexer, &p);
	cr_assert_eq(R->owner[2][0], 0x10, "0x0ff: the block at 0x10 holds it");
	cr_assert_eq(R->owner[2][10], 0, "0x400: past every block but the one at the top");
	cr_assert_eq(R->nwalk, 3);
	cr_assert_eq(R->nlive, 3);
	cr_assert_eq(R->walk[0], 0x10);
	cr_assert_eq(R->walk[1], UINT64_MAX - 8);
	cr_assert_eq(R->walk[2], UINT64_MAX);
	mpa_pass_free(p);
}

/* The lazily built index against a brute-force scan of the live set, over
 * thousands of allocations, frees and in-place reallocs between queries
 * (deltas overflowing, many ended blocks in the way, rebuilds). */
struct brute {
	uint64_t queries, hits, seed;
	uint32_t every; /* query after every `every` rows */
	uint64_t rows;
	int walks;      /* walk in address order at row 1 and every `every` rows,
			 * querying during the walk and stopping some walks early */
	uint64_t walked, stopped;
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 17;
}

static int b_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t len)
{
	(void)ctx, (void)err, (void)len;
	struct brute *B = calloc(1, sizeof *B);
	if (!B)
		return -1;
	B->seed = 7;
	*state = B;
	return 0;
}

/* One random probe: the index's answer against a scan of the block table. */
static void b_probe(struct brute *B, const struct mpa_image *img)
{
	uint64_t addr = 0x100000 + lcg(&B->seed) % 0x40000;
	const struct mpa_block *want = NULL;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(img, &cur));) {
		uint64_t ext = b->usable > b->size ? b->usable : b->size;
		if (b->ptr <= addr && addr - b->ptr < (ext ? ext : 1))
			want = b;
	}
	const struct mpa_block *got = mpa_image_find_containing(img, addr);
	cr_assert_eq(got ? got->ptr : 0, want ? want->ptr : 0, "row %lu addr %#lx",
		     (unsigned long)B->rows, (unsigned long)addr);
	B->queries++;
	B->hits += want != NULL;
}

/* A walk in address order (the index merges its delta and drops ended
 * entries as it goes), probed along the way, stopped early one time in
 * three; a complete walk sees every live block once, in order. */
static void b_walk(struct brute *B, const struct mpa_image *img)
{
	uint64_t live = 0, cur = 0;
	while (mpa_image_next_block(img, &cur))
		live++;
	uint64_t stop = lcg(&B->seed) % 3 == 0 ? lcg(&B->seed) % (live + 1) : UINT64_MAX;
	uint64_t prev = 0, n = 0;
	cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block_by_addr(img, &cur));) {
		cr_assert(n == 0 || b->ptr > prev, "row %lu", (unsigned long)B->rows);
		prev = b->ptr;
		if (++n % 97 == 0)
			b_probe(B, img);
		if (n == stop)
			break;
	}
	if (n == stop) {
		B->stopped++;
	} else {
		cr_assert_eq(n, live, "row %lu: the walk sees every live block",
			     (unsigned long)B->rows);
		B->walked++;
	}
}

static int b_row(void *state, const struct mpa_row *r)
{
	struct brute *B = state;
	if (!r->img)
		return 0;
	if (B->walks && (++B->rows == 1 || B->rows % B->every == 0)) {
		b_walk(B, r->img);
		for (int q = 0; q < 4; q++)
			b_probe(B, r->img);
		return 0;
	}
	if (B->walks || ++B->rows % B->every)
		return 0;
	for (int q = 0; q < 8; q++)
		b_probe(B, r->img);
	if (B->rows % (B->every * 16) == 0) {
		uint64_t cur = 0, prev = 0, n = 0, live = 0;
		for (const struct mpa_block *b; (b = mpa_image_next_block_by_addr(r->img, &cur)); n++) {
			cr_assert(n == 0 || b->ptr > prev);
			prev = b->ptr;
		}
		cur = 0;
		while (mpa_image_next_block(r->img, &cur))
			live++;
		cr_assert_eq(n, live, "the walk sees every live block");
	}
	return 0;
}

static const struct mpa_analyzer brute_an = {
	.name = "brute",
	.begin = b_begin,
	.on_row = b_row,
	.end = r_fin,
	.emit = r_emit,
	.release = r_release,
	.needs = MPA_NEED_ADDR_INDEX,
};

/* The brute-force capture: 12000 rows of allocs, frees and in-place
 * reallocs on 4096 slots of 64 bytes, alloc-heavy and free-heavy phases of
 * 3000 rows, fed to a pass of brute_an for each `every` in list. */
static void brute_run(int walks, const uint32_t *everies, unsigned neveries)
{
	enum { N = 12000 };
	static uint8_t kind[N];
	static uint16_t flags[N];
	static uint64_t ts[N], ptr[N], np[N], size[N], usable[N];
	static int32_t pid[N];
	static uint32_t stack[N];
	/* non-overlapping slots of 64 bytes in [0x100000, 0x140000): 4096 slots */
	static uint8_t used[4096];
	uint64_t s = 3;
	uint32_t n = 0;
	while (n < N) {
		uint32_t slot = (uint32_t)(lcg(&s) % 4096);
		uint64_t p = 0x100000 + (uint64_t)slot * 64;
		int phase = (n / 3000) % 2; /* alloc-heavy, then free-heavy */
		kind[n] = used[slot] ? (lcg(&s) % 4 == 0 ? MPA_KIND_REALLOC : MPA_KIND_FREE)
				     : (phase == 0 || lcg(&s) % 3 == 0 ? MPA_KIND_ALLOC : MPA_KIND_FREE);
		ts[n] = 1000 + n;
		pid[n] = 10;
		ptr[n] = p;
		stack[n] = 1;
		if (kind[n] == MPA_KIND_ALLOC) {
			size[n] = 1 + lcg(&s) % 64;
			used[slot] = 1;
		} else if (kind[n] == MPA_KIND_REALLOC) {
			np[n] = p; /* in place */
			size[n] = 1 + lcg(&s) % 48;
			usable[n] = 56;
		} else {
			used[slot] = 0;
		}
		n++;
	}
	struct mpt_batch b = {0};
	b.n = N;
	b.kind = kind, b.flags = flags, b.ts = ts, b.ptr = ptr, b.new_ptr = np;
	b.size = size, b.usable = usable, b.pid = pid, b.stack_id = stack;
	uint8_t api[N] = {0}, order[N] = {0};
	uint64_t ip[N];
	int32_t status[N], ppid[N];
	uint32_t str[N], pool[N];
	memset(ip, 0, sizeof ip), memset(status, 0, sizeof status), memset(ppid, 0, sizeof ppid);
	memset(str, 0, sizeof str), memset(pool, 0, sizeof pool);
	b.api = api, b.order = order, b.ip = ip, b.status = status, b.ppid = ppid;
	b.str_id = str, b.pool_id = pool;
	uint64_t stopped = 0;
	for (unsigned e = 0; e < neveries; e++) {
		const struct mpa_analyzer *const list[] = {&brute_an};
		char err[256] = "";
		struct mpa_pass *p = mpa_pass_create(&no_capture, list, 1, err, sizeof err);
		cr_assert(p, "%s", err);
		struct brute *B = mpa_pass_state(p, 0);
		B->every = everies[e];
		B->walks = walks;
		cr_assert_eq(mpa_pass_feed(p, &b, err, sizeof err), 0, "%s", err);
		cr_assert_eq(mpa_pass_finish(p, 0, err, sizeof err), 0, "%s", err);
		cr_assert_gt(B->queries, 0);
		cr_assert_gt(B->hits, B->queries / 10, "the probes do land in blocks");
		if (walks)
			cr_assert_gt(B->walked, 0, "complete walks");
		stopped += B->stopped;
		mpa_pass_free(p);
	}
	if (walks)
		cr_assert_gt(stopped, 0, "walks stopped part-way");
}

Test(heap, address_index_agrees_with_a_brute_force_scan)
{
	static const uint32_t everies[] = {1, 8, 64, 512};
	brute_run(0, everies, 4);
}

/* The incremental index: walks often (each merges the recent allocations
 * into the sorted array and drops the ended entries it meets), walks
 * stopped part-way, probes during walks, and (every 4096 rows) more than
 * the delta's 1024 allocations between two walks (the index is dropped
 * and rebuilt). */
Test(heap, address_index_incremental_walks_agree_with_a_brute_force_scan)
{
	static const uint32_t everies[] = {37, 700, 4096};
	brute_run(1, everies, 3);
}

/* ---- the block scratch word (MPA_NEED_BLOCK_SCRATCH) ------------------------- */

/* Writes 100 + the row's index into each new block's scratch word and
 * records what the rows and the fork hand back. */
struct scribe {
	uint32_t rows;
	uint32_t fresh[MAXR];     /* blk->scratch when the block was handed out */
	uint32_t old[MAXR];       /* old->scratch (UINT32_MAX: no old) */
	uint32_t dup[MAXR];       /* dup->scratch (UINT32_MAX: no dup) */
	uint32_t child_blocks, child_nonzero;
};

static int sc_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t len)
{
	(void)ctx, (void)err, (void)len;
	*state = calloc(1, sizeof(struct scribe));
	return *state ? 0 : -1;
}

static int sc_row(void *state, const struct mpa_row *r)
{
	struct scribe *S = state;
	uint32_t i = S->rows++;
	S->fresh[i] = r->blk ? r->blk->scratch : UINT32_MAX;
	S->old[i] = r->old ? r->old->scratch : UINT32_MAX;
	S->dup[i] = r->dup ? r->dup->scratch : UINT32_MAX;
	if (r->blk)
		mpa_block_set_scratch(r->blk, 100 + i);
	return 0;
}

static int sc_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct scribe *S = state;
	(void)parent;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(child, &cur));) {
		S->child_blocks++;
		S->child_nonzero += b->scratch != 0;
		mpa_block_set_scratch(b, 7);
	}
	return 0;
}

static const struct mpa_analyzer scribe_an = {
	.name = "scribe",
	.needs = MPA_NEED_BLOCK_SCRATCH,
	.begin = sc_begin,
	.on_row = sc_row,
	.on_fork = sc_fork,
	.end = r_fin,
	.emit = r_emit,
	.release = r_release,
};

Test(heap, block_scratch_word)
{
	struct rows r = {0};
	add(&r, MPA_KIND_ALLOC, 1, 10, 0xa0, 0, 100, 1);      /* 0 */
	add(&r, MPA_KIND_ALLOC, 1.1, 10, 0xb0, 0, 200, 1);    /* 1 */
	add(&r, MPA_KIND_FREE, 1.2, 10, 0xa0, 0, 0, 0);       /* 2: hands back 100 */
	add(&r, MPA_KIND_REALLOC, 1.3, 10, 0xb0, 0xb0, 50, 1); /* 3: in place: old 101, new 0 */
	add(&r, MPA_KIND_ALLOC, 1.4, 10, 0xb0, 0, 8, 1);      /* 4: over a live block: dup 103 */
	add(&r, MPA_KIND_PROC_FORK, 2, 11, 0, 0, 0, 0);       /* 5: the child's copy starts at 0 */
	r.ppid[r.n - 1] = 10;
	add(&r, MPA_KIND_FREE, 2.1, 11, 0xb0, 0, 0, 0);       /* 6: the child's copy: 7 */
	add(&r, MPA_KIND_FREE, 2.2, 10, 0xb0, 0, 0, 0);       /* 7: the parent's: 104 */
	const struct mpa_analyzer *const list[] = {&scribe_an};
	char err[256] = "";
	struct mpa_pass *p = mpa_pass_create(&no_capture, list, 1, err, sizeof err);
	cr_assert(p, "%s", err);
	struct mpt_batch b = batch(&r);
	cr_assert_eq(mpa_pass_feed(p, &b, err, sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_pass_finish(p, 0, err, sizeof err), 0, "%s", err);
	struct scribe *S = mpa_pass_state(p, 0);
	cr_assert_eq(S->fresh[0], 0);
	cr_assert_eq(S->fresh[1], 0);
	cr_assert_eq(S->old[2], 100);
	cr_assert_eq(S->old[3], 101);
	cr_assert_eq(S->fresh[3], 0);
	cr_assert_eq(S->dup[4], 103);
	cr_assert_eq(S->fresh[4], 0);
	cr_assert_eq(S->child_blocks, 1);
	cr_assert_eq(S->child_nonzero, 0, "fork copies start with a zero scratch word");
	cr_assert_eq(S->old[6], 7);
	cr_assert_eq(S->old[7], 104);
	mpa_pass_free(p);
}

/* One word, one owner: two analyzers asking for it cannot share a pass. */
Test(heap, block_scratch_word_has_one_owner)
{
	struct mpa_analyzer other = scribe_an;
	other.name = "other";
	const struct mpa_analyzer *const list[] = {&scribe_an, &recorder, &other};
	char err[256] = "";
	struct mpa_pass *p = mpa_pass_create(&no_capture, list, 3, err, sizeof err);
	cr_assert_null(p);
	cr_assert_str_eq(err, "scribe and other both ask for the block scratch word");
}
