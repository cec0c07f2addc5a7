/* mpa analysis core — the heap model: the one replay of the capture's
 * processes, images, blocks, mappings, pools and kernel objects.  Rules:
 * include/mpa/heap.h and doc/heap-model.md.
 *
 * Memory grows with what is live: one block table per running image (freed
 * when the image ends, no tombstones), the mappings and pools of running
 * images, and a bounded memory of recent frees (to tell a double free from
 * an unknown one).
 */
#include <stdlib.h>
#include <string.h>

#include "heap_internal.h"


/* Exited images waiting for their grace to end, at most. */
#define MAX_EXITED 256

static const char *const anomaly_names[MPA_ANOM_COUNT_] = {
	"none", "double_free", "unknown_free", "unknown_realloc", "realloc_of_freed",
	"alloc_of_live_pointer", "pool_double_free", "pool_unknown_free"};

const char *mpa_anomaly_name(unsigned a)
{
	return a < MPA_ANOM_COUNT_ ? anomaly_names[a] : "unknown";
}

uint64_t mpa_heap_columns(void)
{
	return MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) | MPT_COLBIT(MPT_COL_PID) |
	       MPT_COLBIT(MPT_COL_DOMAIN) | MPT_COLBIT(MPT_COL_FLAGS) | MPT_COLBIT(MPT_COL_PTR) |
	       MPT_COLBIT(MPT_COL_NEW_PTR) | MPT_COLBIT(MPT_COL_SIZE) |
	       MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_API) |
	       MPT_COLBIT(MPT_COL_STACK_ID) | MPT_COLBIT(MPT_COL_STR_ID) |
	       MPT_COLBIT(MPT_COL_POOL_ID) | MPT_COLBIT(MPT_COL_STATUS) |
	       MPT_COLBIT(MPT_COL_PROT) | MPT_COLBIT(MPT_COL_IP) | MPT_COLBIT(MPT_COL_ORDER) |
	       MPT_COLBIT(MPT_COL_PPID);
}

/* The kinds the model replays. */
#define HEAP_KINDS                                                                            \
	(MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |                          \
	 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_MAP) |                          \
	 MPT_KINDBIT(MPA_KIND_UNMAP) | MPT_KINDBIT(MPA_KIND_KALLOC) |                         \
	 MPT_KINDBIT(MPA_KIND_KFREE) | MPT_KINDBIT(MPA_KIND_POOL_CREATE) |                    \
	 MPT_KINDBIT(MPA_KIND_POOL_ALLOC) | MPT_KINDBIT(MPA_KIND_POOL_FREE) |                 \
	 MPT_KINDBIT(MPA_KIND_POOL_DESTROY) | MPT_KINDBIT(MPA_KIND_THREAD_START) |            \
	 MPT_KINDBIT(MPA_KIND_PROC_EXEC) | MPT_KINDBIT(MPA_KIND_PROC_EXIT) |                 \
	 MPT_KINDBIT(MPA_KIND_PROC_FORK) | MPT_KINDBIT(MPA_KIND_LEAK_SCAN))

uint32_t mpa_heap_kinds(void)
{
	return HEAP_KINDS;
}

/* ---- block tables ------------------------------------------------------------ */

static inline uint64_t hash_ptr(uint64_t p)
{
	p ^= p >> 29;
	p *= UINT64_C(0x9E3779B97F4A7C15);
	return p ^ (p >> 32);
}

#define bt_find mpa_heap__bt_find

struct mpa_block *mpa_heap__bt_find(const struct btab *h, uint64_t ptr)
{
	if (!h->cap)
		return NULL;
	uint64_t m = h->cap - 1, i = hash_ptr(ptr) & m;
	for (;;) {
		struct mpa_block *b = &h->t[i];
		if (b->state == B_EMPTY)
			return NULL;
		if (b->ptr == ptr)
			return b;
		i = (i + 1) & m;
	}
}

static int bt_grow(struct btab *h, uint64_t cap)
{
	struct mpa_block *nt = calloc(cap, sizeof *nt);
	if (!nt)
		return -1;
	uint64_t m = cap - 1;
	for (uint64_t k = 0; k < h->cap; k++) {
		const struct mpa_block *b = &h->t[k];
		if (b->state == B_EMPTY)
			continue;
		uint64_t i = hash_ptr(b->ptr) & m;
		while (nt[i].state != B_EMPTY)
			i = (i + 1) & m;
		nt[i] = *b;
	}
	free(h->t);
	h->t = nt;
	h->cap = cap;
	return 0;
}

/* A new live entry for ptr (absent); NULL when out of memory. */
static struct mpa_block *bt_insert(struct btab *h, uint64_t ptr)
{
	if ((h->live + 1) * 2 > h->cap) {
		if (h->cap > (UINT64_MAX >> 2) / sizeof *h->t ||
		    bt_grow(h, h->cap ? h->cap * 2 : 64) < 0)
			return NULL;
	}
	uint64_t m = h->cap - 1, i = hash_ptr(ptr) & m;
	while (h->t[i].state != B_EMPTY)
		i = (i + 1) & m;
	h->live++;
	memset(&h->t[i], 0, sizeof h->t[i]);
	h->t[i].ptr = ptr;
	h->t[i].state = B_LIVE;
	return &h->t[i];
}

/* The entry of ptr made live: an existing one (*was_live set, its old
 * contents copied to *dup) or a new one.  NULL when out of memory. */
static struct mpa_block *bt_take(struct btab *h, uint64_t ptr, struct mpa_block *dup,
				 int *was_live)
{
	*was_live = 0;
	struct mpa_block *b = bt_find(h, ptr);
	if (b) {
		*dup = *b;
		*was_live = 1;
		return b;
	}
	return bt_insert(h, ptr);
}

/* Removes entry b, shifting the following cluster back. */
static void bt_delete(struct btab *h, struct mpa_block *b)
{
	uint64_t m = h->cap - 1, i = (uint64_t)(b - h->t), j = i;
	for (;;) {
		j = (j + 1) & m;
		if (h->t[j].state == B_EMPTY)
			break;
		uint64_t k = hash_ptr(h->t[j].ptr) & m;
		/* entry j may move to i unless its home k lies cyclically in (i, j] */
		int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			h->t[i] = h->t[j];
			i = j;
		}
	}
	h->t[i].state = B_EMPTY;
	h->live--;
}

static size_t recent_slot(uint32_t img, uint64_t ptr)
{
	return (size_t)(hash_ptr(ptr ^ ((uint64_t)img << 40)) >> (64 - RECENT_BITS));
}

static void recent_add(struct mpa_heap *h, uint32_t img, uint64_t ptr)
{
	struct recent *r = &h->recent[recent_slot(img, ptr)];
	r->ptr = ptr;
	r->img = img + 1;
}

static int recent_has(const struct mpa_heap *h, uint32_t img, uint64_t ptr)
{
	const struct recent *r = &h->recent[recent_slot(img, ptr)];
	return r->img == img + 1 && r->ptr == ptr;
}

static int prog(const struct mpa_block *b)
{
	return !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

static void live_add(struct himg *g, const struct mpa_block *b)
{
	if (!prog(b))
		return;
	g->pub.live_bytes += b->size;
	g->pub.live_blocks++;
	if (b->flags & MPA_BLK_INHERITED) {
		g->pub.inherited_bytes += b->size;
		g->pub.inherited_blocks++;
	}
}

static void live_sub(struct himg *g, const struct mpa_block *b)
{
	if (!prog(b))
		return;
	g->pub.live_bytes -= b->size;
	g->pub.live_blocks--;
	if (b->flags & MPA_BLK_INHERITED) {
		g->pub.inherited_bytes -= b->size;
		g->pub.inherited_blocks--;
	}
}

/* The block table is far larger than the caches: the pass fetches the slot
 * a later row will probe while the current ones are replayed. */
void mpa_heap_prefetch(const struct mpa_heap *h, const struct mpt_batch *b, uint32_t j)
{
	unsigned k = b->kind[j];
	const struct btab *t;
	if (k == MPA_KIND_KALLOC || k == MPA_KIND_KFREE)
		t = &h->kernel->heap;
	else if ((k == MPA_KIND_ALLOC || k == MPA_KIND_FREE || k == MPA_KIND_REALLOC) && h->last &&
		 h->last->pub.pid == b->pid[j])
		t = &h->last->heap;
	else
		return;
	if (!t->cap)
		return;
	uint64_t m = t->cap - 1;
	__builtin_prefetch(&t->t[hash_ptr(b->ptr[j]) & m]);
	if (k == MPA_KIND_REALLOC)
		__builtin_prefetch(&t->t[hash_ptr(b->new_ptr[j]) & m]);
}

/* ---- public iteration ---------------------------------------------------------- */

static const struct mpa_block *next_live(const struct btab *h, uint64_t *cursor)
{
	for (uint64_t k = *cursor; k < h->cap; k++)
		if (h->t[k].state == B_LIVE) {
			*cursor = k + 1;
			return &h->t[k];
		}
	*cursor = h->cap;
	return NULL;
}

const struct mpa_block *mpa_image_next_block(const struct mpa_image *img, uint64_t *cursor)
{
	return img ? next_live(&((const struct himg *)img)->heap, cursor) : NULL;
}

const struct mpa_block *mpa_image_next_pool_object(const struct mpa_image *img,
						   uint64_t *cursor)
{
	return img ? next_live(&((const struct himg *)img)->pobj, cursor) : NULL;
}

const struct mpa_map *mpa_image_maps(const struct mpa_image *img, uint64_t *n)
{
	const struct himg *g = (const struct himg *)img;
	*n = g ? g->nmaps : 0;
	return g ? g->maps : NULL;
}

const struct mpa_pool *mpa_image_pools(const struct mpa_image *img, uint64_t *n)
{
	const struct himg *g = (const struct himg *)img;
	*n = g ? g->npools : 0;
	return g ? g->pools : NULL;
}

const struct mpa_block *mpa_image_find(const struct mpa_image *img, uint64_t ptr)
{
	return img ? bt_find(&((const struct himg *)img)->heap, ptr) : NULL;
}

uint64_t mpa_image_kernel_site(const struct mpa_image *kimg, uint32_t idx)
{
	const struct himg *g = (const struct himg *)kimg;
	return g && idx < g->nks ? g->ksites[idx] : 0;
}

/* ---- images --------------------------------------------------------------------- */

static void img_free(struct himg *g)
{
	if (!g)
		return;
	free(g->heap.t);
	free(g->pobj.t);
	mpa_heap__aidx_free(&g->aidx);
	free(g->maps);
	free(g->pools);
	free(g->ksites);
	free(g->ksmap);
	free(g);
}

static size_t pid_bucket(const struct mpa_heap *h, int32_t pid)
{
	return hash_ptr((uint64_t)(uint32_t)pid) & (h->nbuckets - 1);
}

static struct himg *img_lookup(struct mpa_heap *h, int32_t pid)
{
	if (h->last && h->last->pub.pid == pid)
		return h->last;
	for (struct himg *g = h->buckets[pid_bucket(h, pid)]; g; g = g->next)
		if (g->pub.pid == pid)
			return h->last = g;
	return NULL;
}

static void img_unlink(struct mpa_heap *h, struct himg *g)
{
	for (struct himg **pp = &h->buckets[pid_bucket(h, g->pub.pid)]; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			h->nimgs--;
			break;
		}
	if (h->last == g)
		h->last = NULL;
}

/* The next image number of pid (counted up); UINT32_MAX when out of memory. */
static uint32_t next_seq(struct mpa_heap *h, int32_t pid)
{
	if ((h->pseq_used + 1) * 2 > h->pseq_cap) {
		size_t nc = h->pseq_cap ? h->pseq_cap * 2 : 64;
		struct pseq *n = calloc(nc, sizeof *n);
		if (!n)
			return UINT32_MAX;
		for (size_t k = 0; k < h->pseq_cap; k++) {
			if (!h->pseq[k].used)
				continue;
			size_t j = hash_ptr((uint64_t)(uint32_t)h->pseq[k].pid) & (nc - 1);
			while (n[j].used)
				j = (j + 1) & (nc - 1);
			n[j] = h->pseq[k];
		}
		free(h->pseq);
		h->pseq = n;
		h->pseq_cap = nc;
	}
	size_t j = hash_ptr((uint64_t)(uint32_t)pid) & (h->pseq_cap - 1);
	while (h->pseq[j].used && h->pseq[j].pid != pid)
		j = (j + 1) & (h->pseq_cap - 1);
	if (!h->pseq[j].used) {
		h->pseq[j].used = 1;
		h->pseq[j].pid = pid;
		h->pseq_used++;
	}
	return h->pseq[j].next++;
}

static struct himg *img_new(struct mpa_heap *h, int32_t pid, uint64_t ts)
{
	uint32_t seq = next_seq(h, pid);
	if (seq == UINT32_MAX)
		return NULL;
	if (h->nimgs + 1 > h->nbuckets * 2) {
		size_t nb = h->nbuckets * 4;
		struct himg **n = calloc(nb, sizeof *n);
		if (!n)
			return NULL;
		for (size_t k = 0; k < h->nbuckets; k++)
			for (struct himg *q = h->buckets[k], *nx; q; q = nx) {
				nx = q->next;
				size_t b = hash_ptr((uint64_t)(uint32_t)q->pub.pid) & (nb - 1);
				q->next = n[b];
				n[b] = q;
			}
		free(h->buckets);
		h->buckets = n;
		h->nbuckets = nb;
	}
	struct himg *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->pub.id = ++h->next_id;
	g->pub.pid = pid;
	g->owner = h;
	g->pub.seq = seq;
	g->pub.start_ts = ts;
	size_t b = pid_bucket(h, pid);
	g->next = h->buckets[b];
	h->buckets[b] = g;
	h->nimgs++;
	h->st.images++;
	return h->last = g;
}

/* Ends g (how, at end_ts): the hook sees its live set, then it is gone. */
static int img_end(struct mpa_heap *h, struct himg *g, enum mpa_image_end how, uint64_t end_ts)
{
	g->pub.how = how;
	g->pub.end_ts = end_ts;
	if (g->queued) {
		for (size_t k = 0; k < h->nexq; k++)
			if (h->exq[k] == g) {
				memmove(&h->exq[k], &h->exq[k + 1], (h->nexq - k - 1) * sizeof *h->exq);
				h->nexq--;
				break;
			}
		g->queued = 0;
	}
	int rc = 0;
	if (h->hooks.image_end)
		rc = h->hooks.image_end(h->hooks.arg, &g->pub);
	img_unlink(h, g);
	img_free(g);
	return rc;
}

static int end_exited(struct mpa_heap *h, struct himg *g)
{
	return img_end(h, g, MPA_IMAGE_EXIT, g->pub.exit_ts);
}

/* The exited images whose grace ended by `now`, and the oldest ones beyond
 * MAX_EXITED. */
static int expire(struct mpa_heap *h)
{
	while (h->nexq) {
		struct himg *g = h->exq[0];
		uint64_t until = g->pub.exit_ts + MPA_EXIT_GRACE_NS;
		if (until < g->pub.exit_ts)
			until = UINT64_MAX;
		if (h->nexq <= MAX_EXITED && h->now <= until)
			break;
		if (end_exited(h, g) < 0)
			return -1;
	}
	return 0;
}

/* The running image of pid at ts; with create, a new one when there is
 * none (or the old one exited more than the grace ago). */
static int img_at(struct mpa_heap *h, int32_t pid, uint64_t ts, int create, struct himg **out)
{
	*out = NULL;
	struct himg *g = img_lookup(h, pid);
	if (g && g->pub.exited && ts > g->pub.exit_ts &&
	    ts - g->pub.exit_ts > MPA_EXIT_GRACE_NS) {
		h->st.pid_reuse++;
		if (end_exited(h, g) < 0)
			return -1;
		g = NULL;
	}
	if (!g && create && !(g = img_new(h, pid, ts)))
		return -1;
	*out = g;
	return 0;
}

/* ---- classification ---------------------------------------------------------------- */

/* Block flags of an allocation (or mapping) made by a row: the site
 * classifier's per-stack answer (computed once at its creation) for the
 * tracer; an early row whose stack has at most one frame is the start-up. */
static uint8_t row_flags(struct mpa_heap *h, uint16_t rflags, uint32_t stack)
{
	uint8_t f = 0;
	if (rflags & MPA_FLAG_EARLY) {
		f |= MPA_BLK_EARLY;
		uint32_t n = 0;
		if (h->reader && stack)
			mpt_reader_stack(h->reader, stack, &n);
		if (n <= 1)
			return f | MPA_BLK_STARTUP;
	}
	if (h->sites && stack && mpa_sites_is_tracer(h->sites, stack))
		f |= MPA_BLK_TRACER;
	return f;
}

/* ---- maps ------------------------------------------------------------------------------- */

static uint64_t map_lower(const struct himg *g, uint64_t a)
{
	uint64_t lo = 0, hi = g->nmaps;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (g->maps[mid].start + g->maps[mid].len <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int map_reserve(struct himg *g, uint64_t extra)
{
	if (g->nmaps + extra <= g->capmaps)
		return 0;
	uint64_t nc = g->capmaps ? g->capmaps * 2 : 16;
	while (nc < g->nmaps + extra)
		nc *= 2;
	struct mpa_map *nm = realloc(g->maps, nc * sizeof *nm);
	if (!nm)
		return -1;
	g->maps = nm;
	g->capmaps = nc;
	return 0;
}

/* Removes [a, a+len) from g's mappings; bytes removed, UINT64_MAX on OOM. */
static uint64_t map_cut(struct himg *g, uint64_t a, uint64_t len)
{
	uint64_t e = a + len < a ? UINT64_MAX : a + len, removed = 0;
	uint64_t i = map_lower(g, a);
	while (i < g->nmaps && g->maps[i].start < e) {
		struct mpa_map *m = &g->maps[i];
		uint64_t ms = m->start, me = m->start + m->len;
		uint64_t lo = ms > a ? ms : a, hi = me < e ? me : e;
		removed += hi - lo;
		if (ms >= a && me <= e) {
			memmove(m, m + 1, (g->nmaps - i - 1) * sizeof *m);
			g->nmaps--;
			continue;
		}
		if (ms < a && me > e) {
			if (map_reserve(g, 1) < 0)
				return UINT64_MAX;
			m = &g->maps[i];
			memmove(m + 1, m, (g->nmaps - i) * sizeof *m);
			g->nmaps++;
			g->maps[i].len = a - ms;
			g->maps[i + 1].start = e;
			g->maps[i + 1].len = me - e;
			break;
		}
		if (ms < a) {
			m->len = a - ms;
			i++;
		} else {
			m->len = me - e;
			m->start = e;
			break;
		}
	}
	return removed;
}

static int map_add(struct himg *g, const struct mpa_map *m, uint64_t *replaced)
{
	*replaced = map_cut(g, m->start, m->len);
	if (*replaced == UINT64_MAX || map_reserve(g, 1) < 0)
		return -1;
	uint64_t i = map_lower(g, m->start);
	memmove(&g->maps[i + 1], &g->maps[i], (g->nmaps - i) * sizeof *g->maps);
	g->maps[i] = *m;
	g->nmaps++;
	return 0;
}

/* ---- kernel call sites --------------------------------------------------------------------- */

static uint32_t ksite(struct himg *k, uint64_t ip)
{
	if ((uint64_t)(k->nks + 1) * 2 > k->kscap) {
		uint32_t nc = k->kscap ? k->kscap * 2 : 256;
		if (nc <= k->kscap)
			return UINT32_MAX;
		uint32_t *nm = calloc(nc, sizeof *nm);
		if (!nm)
			return UINT32_MAX;
		for (uint32_t j = 0; j < k->nks; j++) {
			uint32_t s = (uint32_t)hash_ptr(k->ksites[j]) & (nc - 1);
			while (nm[s])
				s = (s + 1) & (nc - 1);
			nm[s] = j + 1;
		}
		free(k->ksmap);
		k->ksmap = nm;
		k->kscap = nc;
	}
	uint32_t s = (uint32_t)hash_ptr(ip) & (k->kscap - 1);
	while (k->ksmap[s]) {
		if (k->ksites[k->ksmap[s] - 1] == ip)
			return k->ksmap[s] - 1;
		s = (s + 1) & (k->kscap - 1);
	}
	if (k->nks == k->capks) {
		uint32_t nc = k->capks ? k->capks * 2 : 64;
		uint64_t *n = realloc(k->ksites, (size_t)nc * sizeof *n);
		if (!n)
			return UINT32_MAX;
		k->ksites = n;
		k->capks = nc;
	}
	k->ksites[k->nks] = ip;
	k->ksmap[s] = ++k->nks;
	return k->nks - 1;
}

/* ---- rows ---------------------------------------------------------------------------------- */

/* The cpu and node of an allocation row (struct mpa_block); hostile
 * values read as unknown. */
static void where(const struct mpa_heap *h, const struct mpt_batch *b, uint32_t i,
		  struct mpa_block *t)
{
	uint32_t cpu = b->cpu ? b->cpu[i] : UINT32_MAX;
	t->cpu = cpu < UINT16_MAX ? (uint16_t)cpu : UINT16_MAX;
	t->node = -1;
	if (b->node && b->kind[i] == MPA_KIND_KALLOC && b->node[i] >= 0 &&
	    (uint32_t)b->node[i] < (h->nnodes ? h->nnodes : MPT_MAX_NODES))
		t->node = (int16_t)b->node[i];
	else if (b->cpu && cpu < h->ncpus && h->cpu_node[cpu] >= 0 &&
		 (uint32_t)h->cpu_node[cpu] < h->nnodes)
		t->node = (int16_t)h->cpu_node[cpu];
}

/* An allocation of (ptr, size, usable) in table t of g. */
static int put(struct mpa_heap *h, struct himg *g, struct btab *t, struct mpa_row *row,
	       uint64_t ptr, const struct mpa_block *tmpl)
{
	int was;
	struct mpa_block *b = bt_take(t, ptr, &h->dupc, &was);
	if (!b)
		return -1;
	if (was) {
		if (t == &g->heap)
			live_sub(g, &h->dupc);
		row->dup = &h->dupc;
		if (!row->anomaly)
			row->anomaly = MPA_ANOM_ALLOC_LIVE;
		h->st.anomalies[MPA_ANOM_ALLOC_LIVE]++;
	}
	if (!was && t == &g->heap)
		mpa_heap__aidx_add(h, g, ptr);
	*b = *tmpl;
	b->ptr = ptr;
	b->state = B_LIVE;
	if (t == &g->heap)
		live_add(g, b);
	if (b->flags & MPA_BLK_TRACER)
		h->st.tracer_blocks++;
	if (b->flags & MPA_BLK_STARTUP)
		h->st.startup_blocks++;
	row->blk = b;
	g->seen = 1;
	return 0;
}

/* A free of ptr in table t of g: fills row->old or the anomaly. */
static void take(struct mpa_heap *h, struct himg *g, struct btab *t, struct mpa_row *row,
		 uint64_t ptr, uint32_t stack, int realloc_half, int pool)
{
	uint32_t key = g->pub.id | (pool ? UINT32_C(1) << 31 : 0);
	struct mpa_block *b = bt_find(t, ptr);
	if (b) {
		h->oldc = *b;
		if (t == &g->heap) {
			live_sub(g, b);
			mpa_heap__aidx_del(h, g);
		}
		bt_delete(t, b);
		recent_add(h, key, ptr);
		row->old = &h->oldc;
		return;
	}
	if (!pool && h->sites && stack && mpa_sites_is_tracer(h->sites, stack)) {
		/* the tracer freeing what it allocated while this session could
		 * not see it (another session had enabled the events first):
		 * not the program's anomaly */
		row->tracer = 1;
		h->st.tracer_unseen_frees++;
		return;
	}
	int freed = recent_has(h, key, ptr);
	enum mpa_anomaly a = pool ? (freed ? MPA_ANOM_POOL_DOUBLE_FREE : MPA_ANOM_POOL_UNKNOWN_FREE)
			 : realloc_half ? (freed ? MPA_ANOM_FREED_REALLOC : MPA_ANOM_UNKNOWN_REALLOC)
					: (freed ? MPA_ANOM_DOUBLE_FREE : MPA_ANOM_UNKNOWN_FREE);
	row->anomaly = (uint8_t)a;
	h->st.anomalies[a]++;
}

static struct mpa_pool *pool_find(struct himg *g, uint32_t id, uint64_t *idx)
{
	for (uint64_t k = 0; k < g->npools; k++)
		if (g->pools[k].id == id) {
			if (idx)
				*idx = k;
			return &g->pools[k];
		}
	return NULL;
}

static int on_kernel(struct mpa_heap *h, const struct mpt_batch *b, uint32_t i, struct mpa_row *row)
{
	struct himg *k = h->kernel;
	row->img = &k->pub;
	uint64_t ptr = b->ptr[i];
	if (row->kind == MPA_KIND_KFREE) {
		if (ptr)
			take(h, k, &k->heap, row, ptr, b->stack_id[i], 0, 0);
		return 0;
	}
	if ((b->flags[i] & MPA_FLAG_FAILED) || !ptr) {
		row->failed = 1;
		return 0;
	}
	struct mpa_block t = {0};
	t.size = b->size[i];
	t.usable = b->usable[i];
	if (!t.size && !t.usable && b->api[i] == MPA_API_PAGE) {
		unsigned o = b->order[i] < 40 ? b->order[i] : 0;
		t.size = t.usable = h->page_size << o;
	}
	t.ts = row->ts;
	t.stack_id = b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0;
	/* the traced tree is the pids with an image (kernel rows come
	 * host-wide: perf kmem:* -a) */
	if (b->pid[i] > 0 && img_lookup(h, b->pid[i])) {
		h->st.kernel_allocs_traced++;
	} else {
		t.flags |= MPA_BLK_HOST;
		h->st.kernel_allocs_host++;
	}
	if ((t.aux = ksite(k, b->ip[i])) == UINT32_MAX)
		return -1;
	where(h, b, i, &t);
	return put(h, k, &k->heap, row, ptr, &t);
}

/* alloc (or the new half of a realloc) of ptr in g. */
static int alloc_in(struct mpa_heap *h, struct himg *g, const struct mpt_batch *b, uint32_t i,
		    struct mpa_row *row, uint64_t ptr, uint16_t chain, uint8_t extra)
{
	struct mpa_block t = {0};
	t.size = b->size[i];
	t.usable = b->usable[i];
	t.ts = row->ts;
	t.stack_id = b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0;
	t.chain = chain;
	t.flags = row_flags(h, b->flags[i], t.stack_id) | extra;
	where(h, b, i, &t);
	return put(h, g, &g->heap, row, ptr, &t);
}

static int on_realloc(struct mpa_heap *h, struct himg *g, const struct mpt_batch *b, uint32_t i,
		      struct mpa_row *row)
{
	uint64_t old = b->ptr[i], np = b->new_ptr[i], size = b->size[i];
	if (b->flags[i] & MPA_FLAG_FAILED) {
		row->failed = 1;
		return 0;
	}
	if (!old) {
		if (!np) {
			row->failed = 1;
			return 0;
		}
		return alloc_in(h, g, b, i, row, np, 0, MPA_BLK_REALLOC);
	}
	uint32_t stack = b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0;
	if (!np) {
		if (size) {
			row->failed = 1; /* the old block stays */
			return 0;
		}
		take(h, g, &g->heap, row, old, stack, 0, 0); /* realloc(p, 0) freed p */
		return 0;
	}
	take(h, g, &g->heap, row, old, stack, 1, 0);
	uint16_t chain = 0;
	if (row->old) {
		chain = row->old->chain;
		if (size > row->old->size && chain < UINT16_MAX)
			chain++;
	}
	return alloc_in(h, g, b, i, row, np, chain, MPA_BLK_REALLOC);
}

static int on_map(struct mpa_heap *h, struct himg *g, const struct mpt_batch *b, uint32_t i,
		  struct mpa_row *row)
{
	uint64_t a = b->ptr[i], len = b->size[i];
	if ((b->flags[i] & MPA_FLAG_FAILED) || !len) {
		row->failed = 1;
		return 0;
	}
	if (a + len < a)
		len = UINT64_MAX - a;
	struct mpa_map m = {0};
	m.start = a;
	m.len = len;
	m.ts = row->ts;
	m.stack_id = b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0;
	m.prot = b->prot[i];
	m.api = b->api[i];
	m.flags = row_flags(h, b->flags[i], m.stack_id) & (MPA_BLK_TRACER | MPA_BLK_STARTUP);
	h->mapc = m;
	row->map = &h->mapc;
	/* the tracer's own mappings are not the program's: not kept */
	if (m.flags || !g)
		return 0;
	g->seen = 1;
	if (row->kind == MPA_KIND_MAP)
		return map_add(g, &m, &row->unmapped);
	row->unmapped = map_cut(g, a, len);
	return row->unmapped == UINT64_MAX ? -1 : 0;
}

static int on_pool(struct mpa_heap *h, struct himg *g, const struct mpt_batch *b, uint32_t i,
		   struct mpa_row *row)
{
	uint32_t id = b->pool_id[i];
	switch (row->kind) {
	case MPA_KIND_POOL_CREATE: {
		struct mpa_pool *p = pool_find(g, id, NULL);
		if (!p) {
			if (g->npools == g->cappools) {
				uint64_t nc = g->cappools ? g->cappools * 2 : 8;
				struct mpa_pool *n = realloc(g->pools, nc * sizeof *n);
				if (!n)
					return -1;
				g->pools = n;
				g->cappools = nc;
			}
			p = &g->pools[g->npools++];
		}
		*p = (struct mpa_pool){id, b->str_id[i], b->size[i], b->usable[i], row->ts};
		g->seen = 1;
		h->poolc = *p;
		row->pool = &h->poolc;
		return 0;
	}
	case MPA_KIND_POOL_ALLOC: {
		uint64_t ptr = b->ptr[i];
		if (!ptr || (b->flags[i] & MPA_FLAG_FAILED)) {
			row->failed = 1;
			return 0;
		}
		struct mpa_block t = {0};
		t.size = b->size[i];
		t.ts = row->ts;
		t.stack_id = b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0;
		t.aux = id;
		where(h, b, i, &t);
		return put(h, g, &g->pobj, row, ptr, &t);
	}
	case MPA_KIND_POOL_FREE:
		take(h, g, &g->pobj, row, b->ptr[i], b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0,
		     0, 1);
		return 0;
	case MPA_KIND_POOL_DESTROY: {
		struct mpa_pool *p = pool_find(g, id, NULL);
		if (p) {
			h->poolc = *p;
			row->pool = &h->poolc;
		}
		h->pd = 1;
		h->pd_img = g;
		h->pd_id = id;
		return 0;
	}
	default:
		return 0;
	}
}

void mpa_heap_row_done(struct mpa_heap *h, const struct mpa_row *row)
{
	(void)row;
	if (!h->pd)
		return;
	struct himg *g = h->pd_img;
	/* deleting shifts entries: the addresses first, then one delete each
	 * (out of memory: the objects stay, as if never returned) */
	uint64_t n = 0, *v = NULL;
	for (uint64_t k = 0; k < g->pobj.cap; k++)
		n += g->pobj.t[k].state == B_LIVE && g->pobj.t[k].aux == h->pd_id;
	if (n && (v = malloc(n * sizeof *v))) {
		uint64_t m = 0;
		for (uint64_t k = 0; k < g->pobj.cap; k++)
			if (g->pobj.t[k].state == B_LIVE && g->pobj.t[k].aux == h->pd_id)
				v[m++] = g->pobj.t[k].ptr;
		for (uint64_t k = 0; k < m; k++) {
			struct mpa_block *o = bt_find(&g->pobj, v[k]);
			if (o)
				bt_delete(&g->pobj, o);
		}
		free(v);
	}
	uint64_t idx;
	if (pool_find(g, h->pd_id, &idx)) {
		memmove(&g->pools[idx], &g->pools[idx + 1], (g->npools - idx - 1) * sizeof *g->pools);
		g->npools--;
	}
	h->pd = 0;
	h->pd_img = NULL;
}

static int on_exec(struct mpa_heap *h, int32_t pid, uint32_t path, struct mpa_row *row)
{
	struct himg *g;
	if (img_at(h, pid, row->ts, 0, &g) < 0)
		return -1;
	if (g && !g->pub.exited && !g->seen) {
		/* nothing of the old image was seen: this is its name */
		g->pub.path = path;
		row->img = &g->pub;
		return 0;
	}
	if (g) {
		int rc = g->pub.exited ? end_exited(h, g) : img_end(h, g, MPA_IMAGE_EXEC, row->ts);
		if (rc < 0)
			return -1;
		h->st.execs++;
	}
	if (!(g = img_new(h, pid, row->ts)))
		return -1;
	g->pub.path = path;
	row->img = &g->pub;
	return 0;
}

/* A fork (proc_fork row): child pid created from parent ppid at ts. */
static int on_fork(struct mpa_heap *h, int32_t pid, int32_t ppid, struct mpa_row *row)
{
	struct himg *old = img_lookup(h, pid);
	if (old) {
		/* a new process in a pid that had one: the old one is over */
		h->st.pid_reuse++;
		int rc = old->pub.exited ? end_exited(h, old)
					 : img_end(h, old, MPA_IMAGE_EXIT, row->ts);
		if (rc < 0)
			return -1;
	}
	struct himg *p = pid != ppid ? img_lookup(h, ppid) : NULL;
	struct himg *c = img_new(h, pid, row->ts);
	if (!c)
		return -1;
	h->st.forks++;
	c->pub.ppid = ppid;
	row->img = &c->pub;
	if (p) {
		c->pub.parent = p->pub.id;
		c->pub.path = p->pub.path;
		c->seen = 1;
		uint64_t cur = 0;
		for (const struct mpa_block *b; (b = next_live(&p->heap, &cur));) {
			int was;
			struct mpa_block *n = bt_take(&c->heap, b->ptr, &h->dupc, &was);
			if (!n)
				return -1;
			*n = *b;
			n->flags |= MPA_BLK_INHERITED;
			n->scratch = 0;
			live_add(c, n);
			if (!was)
				mpa_heap__aidx_add(h, c, b->ptr);
		}
		cur = 0;
		for (const struct mpa_block *b; (b = next_live(&p->pobj, &cur));) {
			int was;
			struct mpa_block *n = bt_take(&c->pobj, b->ptr, &h->dupc, &was);
			if (!n)
				return -1;
			*n = *b;
			n->flags |= MPA_BLK_INHERITED;
			n->scratch = 0;
		}
		if (p->nmaps) {
			if (map_reserve(c, p->nmaps) < 0)
				return -1;
			memcpy(c->maps, p->maps, p->nmaps * sizeof *c->maps);
			c->nmaps = p->nmaps;
			for (uint64_t k = 0; k < c->nmaps; k++)
				c->maps[k].flags |= MPA_BLK_INHERITED;
		}
		if (p->npools) {
			c->pools = malloc(p->npools * sizeof *c->pools);
			if (!c->pools)
				return -1;
			memcpy(c->pools, p->pools, p->npools * sizeof *c->pools);
			c->npools = c->cappools = p->npools;
		}
	}
	if (h->hooks.fork && h->hooks.fork(h->hooks.arg, p ? &p->pub : NULL, &c->pub) < 0)
		return -1;
	return 0;
}

int mpa_heap_row(struct mpa_heap *h, const struct mpt_batch *b, uint32_t i, struct mpa_row *row)
{
	if (h->aidx_oom)
		return -1; /* an address query ran out of memory */
	memset(row, 0, sizeof *row);
	row->b = b;
	row->i = i;
	row->kind = b->kind[i];
	row->ts = b->ts[i];
	if (!h->started || row->ts > h->now) {
		h->now = row->ts;
		h->started = 1;
	} else if (row->ts < h->now) {
		h->st.ts_backwards++;
	}
	if (h->nexq && expire(h) < 0)
		return -1;
	unsigned kind = row->kind;
	if (kind == MPA_KIND_KALLOC || kind == MPA_KIND_KFREE)
		return on_kernel(h, b, i, row);
	if (kind >= 32 || !(HEAP_KINDS & MPT_KINDBIT(kind)))
		goto attach;
	if (b->domain[i] != MPA_DOMAIN_USER)
		return 0;
	int32_t pid = b->pid[i];
	struct himg *g = NULL;
	switch (kind) {
	case MPA_KIND_ALLOC:
		if (img_at(h, pid, row->ts, 1, &g) < 0)
			return -1;
		row->img = &g->pub;
		if ((b->flags[i] & MPA_FLAG_FAILED) || !b->ptr[i]) {
			row->failed = 1;
			g->seen = 1;
			return 0;
		}
		return alloc_in(h, g, b, i, row, b->ptr[i], 0, 0);
	case MPA_KIND_FREE:
		if (img_at(h, pid, row->ts, 0, &g) < 0)
			return -1;
		row->img = g ? &g->pub : NULL;
		if (!b->ptr[i])
			return 0;
		if (!g) {
			row->anomaly = MPA_ANOM_UNKNOWN_FREE;
			h->st.anomalies[MPA_ANOM_UNKNOWN_FREE]++;
			h->st.orphan_rows++;
			return 0;
		}
		take(h, g, &g->heap, row, b->ptr[i], b->stack_id[i] < h->nstacks ? b->stack_id[i] : 0,
		     0, 0);
		return 0;
	case MPA_KIND_REALLOC:
		if (img_at(h, pid, row->ts, 1, &g) < 0)
			return -1;
		row->img = &g->pub;
		g->seen = 1;
		return on_realloc(h, g, b, i, row);
	case MPA_KIND_MAP:
	case MPA_KIND_UNMAP:
		if (img_at(h, pid, row->ts, kind == MPA_KIND_MAP, &g) < 0)
			return -1;
		row->img = g ? &g->pub : NULL;
		return on_map(h, g, b, i, row);
	case MPA_KIND_POOL_CREATE:
	case MPA_KIND_POOL_ALLOC:
	case MPA_KIND_POOL_FREE:
	case MPA_KIND_POOL_DESTROY:
		if (img_at(h, pid, row->ts, 1, &g) < 0)
			return -1;
		row->img = &g->pub;
		return on_pool(h, g, b, i, row);
	case MPA_KIND_THREAD_START:
		if (img_at(h, pid, row->ts, 1, &g) < 0)
			return -1;
		row->img = &g->pub;
		return 0;
	case MPA_KIND_PROC_EXEC:
		return on_exec(h, pid, b->str_id[i], row);
	case MPA_KIND_PROC_FORK:
		return on_fork(h, pid, b->ppid[i], row);
	case MPA_KIND_LEAK_SCAN:
		/* the exit-time reachability scan: a live block's kind, or the
		 * scan's end; for an image that is no longer running, nothing */
		if (img_at(h, pid, row->ts, 0, &g) < 0)
			return -1;
		row->img = g ? &g->pub : NULL;
		if (!g) {
			h->st.orphan_rows++;
			return 0;
		}
		if (!b->ptr[i]) {
			g->pub.scanned = 1;
			g->pub.scan_threads = b->status[i];
		} else if (b->status[i] >= 0 && b->status[i] < MPA_REACH_COUNT_) {
			struct mpa_block *blk = bt_find(&g->heap, b->ptr[i]);
			if (blk)
				blk->reach = (uint8_t)(1 + b->status[i]);
		}
		return 0;
	case MPA_KIND_PROC_EXIT:
		if (img_at(h, pid, row->ts, 0, &g) < 0)
			return -1;
		row->img = g ? &g->pub : NULL;
		if (!g) {
			h->st.orphan_rows++;
			return 0;
		}
		if (!g->pub.exited) {
			g->pub.exited = 1;
			g->pub.exit_ts = row->ts;
			g->pub.exit_status = b->status[i];
			h->st.exits++;
			if (h->nexq == h->capexq) {
				size_t nc = h->capexq ? h->capexq * 2 : 16;
				struct himg **n = realloc(h->exq, nc * sizeof *n);
				if (!n)
					return -1;
				h->exq = n;
				h->capexq = nc;
			}
			h->exq[h->nexq++] = g;
			g->queued = 1;
			if (h->nexq > MAX_EXITED && expire(h) < 0)
				return -1;
		}
		return 0;
	default:
		return 0;
	}
attach:
	/* other kinds: the running image of their pid, if any; a cache sample
	 * too when its ip was the kernel's (a fault in a system call touches
	 * the process's memory: its domain is the code's, not the data's) */
	if (b->pid && (b->domain[i] == MPA_DOMAIN_USER || row->kind == MPA_KIND_CACHE_SAMPLE)) {
		struct himg *a = img_lookup(h, b->pid[i]);
		row->img = a ? &a->pub : NULL;
	}
	return 0;
}

static int cmp_img(const void *a, const void *b)
{
	const struct himg *x = *(const struct himg *const *)a, *y = *(const struct himg *const *)b;
	return x->pub.id < y->pub.id ? -1 : x->pub.id > y->pub.id;
}

int mpa_heap_finish(struct mpa_heap *h, uint64_t end_ts)
{
	while (h->nexq)
		if (end_exited(h, h->exq[0]) < 0)
			return -1;
	/* the running images, in order of appearance */
	struct himg **v = malloc((h->nimgs ? h->nimgs : 1) * sizeof *v);
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t k = 0; k < h->nbuckets; k++)
		for (struct himg *g = h->buckets[k]; g; g = g->next)
			v[n++] = g;
	qsort(v, n, sizeof *v, cmp_img);
	int rc = 0;
	for (size_t k = 0; k < n && !rc; k++)
		rc = img_end(h, v[k], MPA_IMAGE_CAPTURE_END, end_ts);
	free(v);
	if (rc < 0)
		return -1;
	if (h->kernel) {
		struct himg *k = h->kernel;
		k->pub.how = MPA_IMAGE_CAPTURE_END;
		k->pub.end_ts = end_ts;
		if (h->hooks.image_end && h->hooks.image_end(h->hooks.arg, &k->pub) < 0)
			return -1;
		img_free(k);
		h->kernel = NULL;
	}
	return 0;
}

struct mpa_heap *mpa_heap_create(mpa_sites *sites, const mpt_reader *reader,
				 const struct mpa_heap_hooks *hooks)
{
	struct mpa_heap *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->sites = sites;
	h->reader = reader;
	if (hooks)
		h->hooks = *hooks;
	h->nbuckets = 64;
	h->buckets = calloc(h->nbuckets, sizeof *h->buckets);
	h->kernel = calloc(1, sizeof *h->kernel);
	h->page_size = 4096;
	if (reader) {
		const struct mpt_topology *t = mpt_reader_topology(reader);
		if (t && t->page_size >= 512 && t->page_size <= (1u << 30) &&
		    !(t->page_size & (t->page_size - 1)))
			h->page_size = t->page_size;
		if (t && t->cpu_node && t->nnodes) {
			h->cpu_node = t->cpu_node;
			h->ncpus = t->ncpus;
			h->nnodes = t->nnodes;
		}
		/* stack ids past the table are hostile: they read as 0 */
		h->nstacks = mpt_reader_stack_count(reader) + 1;
	} else {
		/* no capture (tests, streams): ids are taken as they come */
		h->nstacks = UINT32_MAX;
	}
	h->recent = calloc((size_t)1 << RECENT_BITS, sizeof *h->recent);
	if (!h->buckets || !h->kernel || !h->recent) {
		mpa_heap_free(h);
		return NULL;
	}
	h->kernel->owner = h;
	h->kernel->pub.pid = -1;
	h->kernel->pub.kernel = 1;
	h->kernel->pub.id = 0;
	return h;
}

void mpa_heap_tables_grew(struct mpa_heap *h, const mpt_reader *reader)
{
	if (!h || !reader || !h->reader)
		return; /* a heap without a capture takes ids as they come */
	h->reader = reader;
	uint32_t n = mpt_reader_stack_count(reader);
	h->nstacks = n < UINT32_MAX ? n + 1 : UINT32_MAX;
}

void mpa_heap_free(struct mpa_heap *h)
{
	if (!h)
		return;
	for (size_t k = 0; k < h->nbuckets && h->buckets; k++)
		for (struct himg *g = h->buckets[k], *nx; g; g = nx) {
			nx = g->next;
			img_free(g);
		}
	free(h->buckets);
	free(h->pseq);
	img_free(h->kernel);
	free(h->exq);
	free(h->recent);
	free(h);
}

void mpa_heap_set_addr_index(struct mpa_heap *h, int on)
{
	h->addr_index = on != 0;
}

void mpa_heap_stats(const struct mpa_heap *h, struct mpa_heap_stats *st)
{
	*st = h->st;
}
