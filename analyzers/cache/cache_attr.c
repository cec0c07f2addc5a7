/* The cache analyzer's attribution of addresses: which heap block, kernel
 * object, mapping or thread stack held an address (asked of the heap
 * model; only the threads' stack ranges, which the model does not keep,
 * are remembered here), and the --lookup ADDR[@T] queries answered from
 * the rows as time passes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

const char *const cache_owner_name[OWN_N] = {"none", "heap", "pool", "kernel", "mapping",
					     "stack", "no_process"};

/* ---- threads' stacks ------------------------------------------------------------------- */

static int thr_cmp(int32_t pid, uint64_t base, const struct cthread *t)
{
	if (pid != t->pid)
		return pid < t->pid ? -1 : 1;
	return base < t->base ? -1 : base > t->base;
}

/* first index whose (pid, base) >= (pid, base) */
static size_t thr_lower(const struct cache *C, int32_t pid, uint64_t base)
{
	size_t lo = 0, hi = C->nthr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (thr_cmp(pid, base, &C->thr[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void thr_remove_tid(struct cache *C, int32_t pid, int32_t tid)
{
	for (size_t i = 0; i < C->nthr; i++)
		if (C->thr[i].pid == pid && C->thr[i].tid == tid) {
			memmove(&C->thr[i], &C->thr[i + 1], (C->nthr - i - 1) * sizeof *C->thr);
			C->nthr--;
			return;
		}
}

static int thr_start(struct cache *C, int32_t pid, int32_t tid, uint64_t base, uint64_t size,
		     uint64_t ts)
{
	C->thread_starts++;
	thr_remove_tid(C, pid, tid); /* a tid reused without its exit seen */
	if (!size)
		return 0;
	if (size > UINT64_MAX - base)
		size = UINT64_MAX - base;
	if (C->nthr == C->capthr) {
		size_t nc = C->capthr ? C->capthr * 2 : 16;
		struct cthread *n = realloc(C->thr, nc * sizeof *n);
		if (!n)
			return -1;
		C->thr = n;
		C->capthr = nc;
	}
	size_t i = thr_lower(C, pid, base);
	memmove(&C->thr[i + 1], &C->thr[i], (C->nthr - i) * sizeof *C->thr);
	C->thr[i] = (struct cthread){.pid = pid, .tid = tid, .base = base, .size = size, .ts = ts};
	C->nthr++;
	return 0;
}

static const struct cthread *thr_find(const struct cache *C, int32_t pid, uint64_t addr)
{
	size_t i = thr_lower(C, pid, addr);
	/* the stack at addr itself, or the one just below it */
	if (i < C->nthr && C->thr[i].pid == pid && C->thr[i].base == addr)
		return &C->thr[i];
	if (i == 0)
		return NULL;
	const struct cthread *t = &C->thr[i - 1];
	return t->pid == pid && addr - t->base < t->size ? t : NULL;
}

/* ---- owners ---------------------------------------------------------------------------- */

static int blk_contains(const struct mpa_block *b, uint64_t addr)
{
	uint64_t span = b->size > b->usable ? b->size : b->usable;
	if (!span)
		span = 1;
	return addr >= b->ptr && addr - b->ptr < span;
}

static const struct mpa_map *map_find(const struct mpa_image *img, uint64_t addr)
{
	uint64_t n = 0;
	const struct mpa_map *m = mpa_image_maps(img, &n);
	uint64_t lo = 0, hi = n;
	while (lo < hi) { /* first map with start > addr */
		uint64_t mid = lo + (hi - lo) / 2;
		if (m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct mpa_map *c = &m[lo - 1];
	return addr - c->start < c->len ? c : NULL;
}

static void own_block(struct owner *o, const struct mpa_image *img, const struct mpa_block *b)
{
	o->kind = img->kernel ? OWN_KERNEL : OWN_HEAP;
	o->img = img;
	o->blk = b;
	o->base = b->ptr;
	o->size = b->size;
	o->ts = b->ts;
	o->stack = b->stack_id;
}

/* What owned addr in img (blk: the block found there, possibly NULL; skip
 * the mapping skip_map). */
static void owner_rest(const struct cache *C, const struct mpa_image *img, uint64_t addr,
		       const struct mpa_block *blk, const struct mpa_map *skip_map,
		       struct owner *o)
{
	memset(o, 0, sizeof *o);
	o->img = img;
	if (blk) {
		own_block(o, img, blk);
		return;
	}
	if (img->kernel)
		return;
	const struct mpa_map *m = map_find(img, addr);
	if (m && m != skip_map) {
		o->kind = OWN_MAP;
		o->map = m;
		o->base = m->start;
		o->size = m->len;
		o->ts = m->ts;
		o->stack = m->stack_id;
		return;
	}
	const struct cthread *t = thr_find(C, img->pid, addr);
	if (t) {
		o->kind = OWN_STACK;
		o->tid = t->tid;
		o->base = t->base;
		o->size = t->size;
		o->ts = t->ts;
	}
}

/* Kernel addresses (the upper half) are the kernel image's. */
static int kernel_addr(uint64_t addr)
{
	return addr >= UINT64_C(0xffff800000000000);
}

void cache_owner(const struct cache *C, const struct mpa_image *img, uint64_t addr,
		 struct owner *o)
{
	if (kernel_addr(addr) && C->kimg)
		img = C->kimg;
	if (!img) {
		memset(o, 0, sizeof *o);
		o->kind = OWN_NOPROC;
		return;
	}
	owner_rest(C, img, addr, mpa_image_find_containing(img, addr), NULL, o);
}

/* ---- --lookup ADDR[@T] ------------------------------------------------------------------ */

static int q_cmp(const void *a, const void *b)
{
	const struct cquery *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return strcmp(x->text, y->text);
}

static int parse_query(struct cache *C, const char *s, size_t len, struct cquery *q, char *err,
		       size_t errlen)
{
	char buf[96];
	if (len >= sizeof buf) {
		mpa_errf(err, errlen, "[cache] lookup: '%.40s...' is too long (expected ADDR[@T])", s);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	memcpy(q->text, buf, len + 1);
	char *at = strchr(buf, '@');
	if (at)
		*at = 0;
	char *end;
	errno = 0;
	unsigned long long a = strtoull(buf, &end, 0);
	if (!buf[0] || buf[0] == '-' || buf[0] == '+' || *end || errno) {
		mpa_errf(err, errlen,
			 "[cache] lookup: bad address in '%s' (expected ADDR[@T]: ADDR as 0x1f00 "
			 "or decimal, T as 1.5s, 200ms, @NS)",
			 q->text);
		return -1;
	}
	q->addr = a;
	q->t = UINT64_MAX;
	if (at) {
		uint64_t v;
		int abs;
		struct mpt_error te = {0};
		if (mpt_time_parse(at + 1, &v, &abs, &te) != MPT_OK) {
			mpa_errf(err, errlen, "[cache] lookup '%s': %s", q->text, te.msg);
			return -1;
		}
		if (!abs) {
			if (v > UINT64_MAX - 1 - C->ctx->span_first) {
				mpa_errf(err, errlen, "[cache] lookup '%s': time beyond the clock's range",
					 q->text);
				return -1;
			}
			v += C->ctx->span_first;
		}
		q->t = v == UINT64_MAX ? UINT64_MAX - 1 : v;
	}
	return 0;
}

#define MAX_LOOKUPS 4096

int cache_attr_begin(struct cache *C, char *err, size_t errlen)
{
	const char *s = C->lookup_text ? C->lookup_text : "";
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	if (!*s)
		return 0;
	n++;
	if (n > MAX_LOOKUPS) {
		mpa_errf(err, errlen, "[cache] lookup: more than %d addresses", MAX_LOOKUPS);
		return -1;
	}
	C->q = calloc(n, sizeof *C->q);
	if (!C->q) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	for (const char *p = s;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (parse_query(C, p, len, &C->q[C->nq], err, errlen) < 0)
			return -1;
		C->nq++;
		if (!e)
			break;
		p = e + 1;
	}
	qsort(C->q, C->nq, sizeof *C->q, q_cmp);
	return 0;
}

void cache_attr_release(struct cache *C)
{
	for (size_t i = 0; i < C->nq; i++)
		free(C->q[i].own);
	free(C->q);
	free(C->thr);
	ctab_free(&C->imgs);
}

static int add_owner(struct cache *C, struct cquery *q, const struct owner *o, int freed_now,
		     uint64_t free_ts)
{
	if (o->kind == OWN_NONE || o->kind == OWN_NOPROC)
		return 0;
	if (q->nown == q->capown) {
		unsigned nc = q->capown ? q->capown * 2 : 2;
		struct qowner *n = realloc(q->own, nc * sizeof *n);
		if (!n)
			return -1;
		q->own = n;
		q->capown = nc;
	}
	struct qowner *w = &q->own[q->nown++];
	memset(w, 0, sizeof *w);
	w->kind = (uint8_t)o->kind;
	w->pid = o->img->pid;
	w->img = o->img->id;
	w->tid = o->tid;
	w->stack = o->stack;
	w->base = o->base;
	w->size = o->size;
	w->ts = o->ts;
	if (o->blk) {
		w->usable = o->blk->usable;
		w->aux = o->blk->aux;
		if (o->kind == OWN_KERNEL)
			w->ksite = mpa_image_kernel_site(o->img, o->blk->aux);
		if (freed_now) {
			w->ended = 1;
			w->free_ts = free_ts;
		} else {
			C->nwatch++;
		}
	}
	return 0;
}

/* What owned q's address in img at q->t, r the row being given (its
 * effect, already applied by the model, is undone: it came after q->t). */
static int answer_in(struct cache *C, struct cquery *q, const struct mpa_image *img,
		     const struct mpa_row *r)
{
	/* "the end" (no @T) is each image's own end: what it still held */
	if (img->start_ts > q->t ||
	    (q->t != UINT64_MAX && img->exited && q->t >= img->exit_ts))
		return 0;
	uint64_t addr = q->addr;
	if (kernel_addr(addr) != (img->kernel != 0))
		return 0;
	const struct mpa_block *cur = mpa_image_find_containing(img, addr);
	const struct mpa_map *skip = NULL;
	struct owner o;
	if (r && r->img == img) {
		const struct mpa_block *gone = r->old && blk_contains(r->old, addr) ? r->old
					     : r->dup && blk_contains(r->dup, addr) ? r->dup : NULL;
		if (gone && r->kind != MPA_KIND_POOL_FREE) {
			memset(&o, 0, sizeof o);
			own_block(&o, img, gone);
			if (add_owner(C, q, &o, 1, r->ts) < 0)
				return -1;
			q->own[q->nown - 1].at = q->t;
			return 0;
		}
		if (cur && cur == r->blk)
			cur = NULL;
		skip = r->map;
	}
	owner_rest(C, img, addr, cur, skip, &o);
	if (add_owner(C, q, &o, 0, 0) < 0)
		return -1;
	if (q->nown && o.kind != OWN_NONE && o.kind != OWN_NOPROC)
		q->own[q->nown - 1].at = q->t == UINT64_MAX ? img->end_ts : q->t;
	return 0;
}

/* Answers the queries whose time is before ts (r: the row at ts). */
static int settle(struct cache *C, uint64_t ts, const struct mpa_row *r)
{
	while (C->next_q < C->nq && C->q[C->next_q].t < ts) {
		struct cquery *q = &C->q[C->next_q];
		for (uint64_t i = 0; i < C->imgs.cap; i++) {
			const struct cimg *e = ctab_at(&C->imgs, i);
			if (e && answer_in(C, q, e->img, r) < 0)
				return -1;
		}
		q->settled = 1;
		C->next_q++;
	}
	return 0;
}

static int track_image(struct cache *C, const struct mpa_image *img)
{
	struct cimg *e = ctab_get(&C->imgs, img->id, 0, 1);
	if (!e)
		return -1;
	e->img = img;
	return 0;
}

/* The block that ended: answers holding it learn when. */
static void watch_free(struct cache *C, const struct mpa_image *img, const struct mpa_block *b,
		       uint64_t ts)
{
	for (size_t i = 0; i < C->next_q && C->nwatch; i++)
		for (unsigned k = 0; k < C->q[i].nown; k++) {
			struct qowner *w = &C->q[i].own[k];
			if ((w->kind == OWN_HEAP || w->kind == OWN_KERNEL) && !w->ended &&
			    w->img == img->id && w->base == b->ptr && w->ts == b->ts) {
				w->ended = 1;
				w->free_ts = ts;
				C->nwatch--;
			}
		}
}

int cache_attr_row(struct cache *C, const struct mpa_row *r)
{
	if (r->img && r->img->kernel)
		C->kimg = r->img;
	if (C->nq) {
		if (settle(C, r->ts, r) < 0)
			return -1;
		if (r->img && track_image(C, r->img) < 0)
			return -1;
		if (r->old && r->img && C->nwatch)
			watch_free(C, r->img, r->old, r->ts);
		if (r->dup && r->img && C->nwatch)
			watch_free(C, r->img, r->dup, r->ts);
	}
	const struct mpt_batch *b = r->b;
	if (r->kind == MPA_KIND_THREAD_START && b->domain[r->i] == MPA_DOMAIN_USER)
		return thr_start(C, b->pid[r->i], b->tid[r->i], b->ptr[r->i], b->size[r->i], r->ts);
	if (r->kind == MPA_KIND_THREAD_EXIT)
		thr_remove_tid(C, b->pid[r->i], b->tid[r->i]);
	return 0;
}

int cache_attr_fork(struct cache *C, const struct mpa_image *child)
{
	return C->nq ? track_image(C, child) : 0;
}

int cache_attr_image_end(struct cache *C, const struct mpa_image *img)
{
	if (C->nq) {
		/* queries not yet settled at a time the image was alive: the
		 * capture's end (and "the end" itself), or an exec whose row
		 * comes next */
		for (size_t i = C->next_q; i < C->nq; i++) {
			struct cquery *q = &C->q[i];
			if (q->t < img->end_ts || q->t == UINT64_MAX ||
			    img->how == MPA_IMAGE_CAPTURE_END)
				if (answer_in(C, q, img, NULL) < 0)
					return -1;
		}
		for (size_t i = 0; i < C->nq && C->nwatch; i++)
			for (unsigned k = 0; k < C->q[i].nown; k++) {
				struct qowner *w = &C->q[i].own[k];
				if ((w->kind == OWN_HEAP || w->kind == OWN_KERNEL) && !w->ended &&
				    w->img == img->id) {
					w->ended = 2;
					w->how = (uint8_t)img->how;
					w->end_ts = img->end_ts;
					C->nwatch--;
				}
			}
		struct cimg *e = ctab_get(&C->imgs, img->id, 0, 0);
		if (e)
			ctab_del(&C->imgs, e);
	}
	if (img == C->kimg)
		C->kimg = NULL;
	/* its threads are gone with it */
	size_t k = 0;
	for (size_t i = 0; i < C->nthr; i++)
		if (C->thr[i].pid != img->pid || img->kernel)
			C->thr[k++] = C->thr[i];
	C->nthr = k;
	return 0;
}

int cache_attr_end(struct cache *C)
{
	for (size_t i = C->next_q; i < C->nq; i++)
		C->q[i].settled = 1;
	C->next_q = C->nq;
	return 0;
}
