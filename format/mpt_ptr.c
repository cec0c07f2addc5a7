/* libmpt: the allocator address model (encoding 7, ptr column only).
 *
 * Heap addresses are not random: glibc's tcache hands back the block the
 * same thread most recently freed in the same size class; fresh blocks are
 * carved from the top chunk right after the previous one; and a free names
 * a block that is live, usually a recent one.  Both sides run the same
 * model over the chunk's rows (reset at every chunk, so a chunk decodes
 * alone) and the stream stores which prediction held:
 *
 *  alloc-like rows (alloc, kalloc, pool_alloc), one code byte:
 *    0 literal: varint zz(ptr - top(tid)) follows in the varint stream
 *    1 top: ptr = top(tid)
 *    2+i (i < 8): the i-th most recent freed block of (tid, size class)
 *    10+i (i < 8): the i-th most recent block freed by tid with a literal
 *      (a block from an earlier chunk: its size class is unknown)
 *    255: ptr = 0
 *  free-like rows (free, kfree, pool_free, realloc's old ptr), one code byte:
 *    0 literal: varint zz(ptr - previous free-like literal)
 *    1+r (r < 250): the live block with r live blocks allocated after it
 *    251: same, r = 250 + varint
 *    255: ptr = 0
 *    then, on a realloc row, its new_ptr (from the new_ptr column) becomes
 *    a live block like a fresh allocation
 *  other rows (map, unmap, numa_place, thread_start, cache_sample): no code
 *    byte; varint zz(ptr - previous such ptr).
 *
 * Layout: the code bytes of all alloc/free-like rows in row order, then the
 * varints in the order the rows consume them.  doc/format.md has the exact
 * state machine (size class, top update, cache pushes).
 *
 * Implementation (both sides; only the behaviour above is the format, the
 * data structures are free): the live set is a bitmap over allocation
 * ordinals plus a count per 1024 ordinals, so "r live blocks after it" is a
 * popcount walk from the newest ordinal (ranks are small: a few words); an
 * address -> newest ordinal map (4-byte slots, cleared per chunk) that is
 * never deleted from (an entry is live iff its ordinal's bit is set), so a
 * free by rank needs no hashing; flat open-addressing tid and cache tables
 * stamped with a per-chunk generation, so a chunk starts without clearing
 * them; cache lists are rings (a push onto a full list moves nothing);
 * per-row kind roles from a table; a one-entry tid cache.
 * tests/format/mpt_ptr_ref.c keeps the original implementation and
 * tests/format/test_mpt_ptr.c checks both agree byte for byte. */
#include <stdlib.h>

#include "mpt_internal.h"

#define TC_DEPTH 8 /* a power of two */
#define TID_MAX 1024   /* distinct tids with per-thread state (both sides agree) */
#define TID_SLOTS 2048 /* table slots: at most half full */
#define TC_MAX 4096    /* distinct (tid, class) pairs that get a cache list */
#define TC_SLOTS 8192
#define TOP_NEAR (UINT64_C(1) << 20) /* a literal this close above top moves it */
#define CLS_UNKNOWN UINT64_MAX       /* blocks freed by a literal: size unknown */
#define SB_SHIFT 10                  /* ordinals per superblock count: 1024 */
#define SB_WORDS (1u << (SB_SHIFT - 6)) /* bitmap words per superblock */
#define RING 1024       /* PTR2: addresses freed lately, any class (a power of two) */
#define RING_CODE 18    /* PTR2: alloc code "the i-th most recent freed address" */
#define RING_HASH 4096  /* writer: direct-mapped address -> push number */
/* PTR2 free codes: 1..128 rank c - 1; 129..250 rank RK_LO + (c - 129) * 256
 * + one byte of the value stream; 251 rank RK_ESC + varint */
#define RK_LO 128
#define RK_ESC (RK_LO + 122 * 256)

/* Row roles, from the kind (the kinds carrying the ptr column). */
enum {
	R_NONE = 0,
	R_ALLOC = 1, /* alloc, kalloc, pool_alloc */
	R_FREE = 2,  /* free, kfree, pool_free, realloc (old ptr) */
	R_OTHER = 3, /* map, unmap, numa_place, thread_start, cache_sample */
	R_MASK = 3,
	R_ADDS = 4,  /* the row adds a live block (alloc-like and realloc) */
	R_REALLOC = 8,
};
static const uint8_t role_tab[256] = {
	[MPA_KIND_ALLOC] = R_ALLOC | R_ADDS,
	[MPA_KIND_KALLOC] = R_ALLOC | R_ADDS,
	[MPA_KIND_POOL_ALLOC] = R_ALLOC | R_ADDS,
	[MPA_KIND_FREE] = R_FREE,
	[MPA_KIND_KFREE] = R_FREE,
	[MPA_KIND_POOL_FREE] = R_FREE,
	[MPA_KIND_REALLOC] = R_FREE | R_ADDS | R_REALLOC,
	[MPA_KIND_MAP] = R_OTHER,
	[MPA_KIND_UNMAP] = R_OTHER,
	[MPA_KIND_NUMA_PLACE] = R_OTHER,
	[MPA_KIND_THREAD_START] = R_OTHER,
	[MPA_KIND_CACHE_SAMPLE] = R_OTHER,
	[MPA_KIND_LEAK_SCAN] = R_OTHER,
};

/* glibc chunk size of a request: header 8, 16-byte granules, minimum 32. */
static inline uint64_t chunk_size(uint64_t size)
{
	if (size > UINT64_MAX - 64)
		return 0;
	uint64_t c = (size + 8 + 15) & ~(uint64_t)15;
	return c < 32 ? 32 : c;
}

static inline uint32_t hmul(uint64_t k, unsigned bits)
{
	k ^= k >> 29;
	k *= UINT64_C(0x9e3779b97f4a7c15);
	return (uint32_t)(k >> (64 - bits));
}

struct tid_ent {
	uint64_t key; /* zigzagged tid + 1 */
	uint64_t top;
	uint32_t gen; /* entry is empty unless gen == state gen */
};

struct tc_ent {
	uint64_t key; /* zigzagged tid + 1 */
	uint64_t cls;
	uint32_t gen;
	uint16_t n, head;        /* a ring: oldest at blk[head] */
	uint64_t blk[TC_DEPTH];
};
#define TC_MASK (TC_DEPTH - 1) /* TC_DEPTH is a power of two */

/* The i-th most recent block of e (i < e->n). */
static inline uint64_t tc_at(const struct tc_ent *e, uint32_t i)
{
	return e->blk[(e->head + e->n - 1 - i) & TC_MASK];
}

/* Kept across chunks (in struct mpt_work) so nothing is cleared per chunk
 * but the live bitmap. */
struct mpt_ptr_state {
	uint32_t gen;
	struct tid_ent tids[TID_SLOTS];
	struct tc_ent tc[TC_SLOTS];
	uint32_t *map;   /* address -> newest ordinal + 1 (0 = empty); cleared per chunk */
	uint32_t mapcap;
	uint32_t ordcap; /* ordinals addr, bits, sbc hold */
	uint64_t *addr;  /* [2 * ordinal] address, [2 * ordinal + 1] size class */
	uint64_t *bits;  /* live ordinals */
	uint32_t *sbc;   /* live ordinals per SB_WORDS words */
	uint64_t ring[RING];       /* PTR2: freed addresses, push number & (RING - 1) */
	uint64_t rh_addr[RING_HASH]; /* PTR2 writer: address of the slot's last push */
	uint32_t rh_push[RING_HASH]; /* ... its push number + 1 (0: none this chunk) */
	uint32_t rh_gen[RING_HASH];  /* slot valid when == gen */
};

void mpt__ptr_state_free(struct mpt_ptr_state *s)
{
	if (!s)
		return;
	free(s->map);
	free(s->addr);
	free(s->bits);
	free(s->sbc);
	free(s);
}

struct model {
	struct mpt_ptr_state *s;
	uint32_t gen;
	uint32_t tids_used, tc_used;
	uint32_t *map, mapmask, mapbits;
	uint64_t *addr;
	uint32_t cap, nord, nlive;
	int hw; /* popcount instruction available */
	uint64_t last_key;      /* one-entry tid cache */
	struct tid_ent *last_te;
	uint64_t other_prev;
	uint64_t free_prev; /* last literal of a free-like row */
	int v2;             /* PTR2: the ring of freed addresses is on */
	uint32_t npush;     /* PTR2: addresses pushed onto the ring this chunk */
};

/* PTR2: a free-like row's address joins the ring (and, writing, the
 * direct-mapped index of the last push of each address). */
static inline void ring_push(struct model *m, uint64_t addr, int index)
{
	m->s->ring[m->npush & (RING - 1)] = addr;
	if (index) {
		uint32_t h = hmul(addr, 12);
		m->s->rh_addr[h] = addr;
		m->s->rh_push[h] = m->npush + 1;
		m->s->rh_gen[h] = m->gen;
	}
	m->npush++;
}

/* PTR2 writer: ring index of addr (0 = most recent push), or -1. */
static inline int64_t ring_find(const struct model *m, uint64_t addr)
{
	uint32_t h = hmul(addr, 12);
	if (m->s->rh_gen[h] != m->gen || m->s->rh_addr[h] != addr || !m->s->rh_push[h])
		return -1;
	uint32_t age = m->npush - m->s->rh_push[h]; /* pushes since */
	return age < RING ? (int64_t)age : -1;
}

static int have_popcnt(void);

/* cap: rows that add a live block (ordinals never exceed it). */
static int model_init(struct model *m, uint32_t cap, struct mpt_work *w)
{
	memset(m, 0, sizeof *m);
	if (!w->ptr && !(w->ptr = calloc(1, sizeof *w->ptr)))
		return -1;
	struct mpt_ptr_state *s = w->ptr;
	m->s = s;
	if (++s->gen == 0) { /* wrapped: every stamp may look current */
		for (unsigned i = 0; i < TID_SLOTS; i++)
			s->tids[i].gen = 0;
		for (unsigned i = 0; i < TC_SLOTS; i++)
			s->tc[i].gen = 0;
		for (unsigned i = 0; i < RING_HASH; i++)
			s->rh_gen[i] = 0;
		s->gen = 1;
	}
	m->gen = s->gen;
	/* at most cap entries: load <= 2/3, small enough to stay in cache */
	unsigned bits = 4;
	while ((1u << bits) < cap + cap / 2 && bits < 31)
		bits++;
	if ((1u << bits) > s->mapcap || !s->map) {
		free(s->map);
		s->mapcap = 0;
		if (!(s->map = malloc(sizeof *s->map << bits)))
			return -1;
		s->mapcap = 1u << bits;
	}
	memset(s->map, 0, sizeof *s->map << bits);
	m->map = s->map;
	m->mapbits = bits;
	m->mapmask = (1u << bits) - 1;
	if (cap + 1 > s->ordcap || !s->addr) {
		uint32_t c = cap + 64;
		free(s->addr);
		free(s->bits);
		free(s->sbc);
		s->ordcap = 0;
		s->addr = malloc(sizeof *s->addr * 2 * (size_t)c);
		s->bits = malloc(sizeof *s->bits * (c / 64 + 1));
		s->sbc = malloc(sizeof *s->sbc * (c / 64 / SB_WORDS + 1));
		if (!s->addr || !s->bits || !s->sbc)
			return -1;
		s->ordcap = c;
	}
	m->cap = cap;
	m->addr = s->addr;
	memset(s->bits, 0, sizeof *s->bits * (cap / 64 + 1));
	memset(s->sbc, 0, sizeof *s->sbc * (cap / 64 / SB_WORDS + 1));
	m->last_te = NULL;
	m->hw = have_popcnt();
	return 0;
}

/* Per-thread state of tid (created if absent), or NULL once TID_MAX tids
 * have one. */
static inline struct tid_ent *tid_get(struct model *m, uint64_t tid)
{
	uint64_t key = tid + 1;
	if (m->last_te && m->last_key == key)
		return m->last_te;
	uint32_t h = hmul(key, 11) & (TID_SLOTS - 1);
	for (;;) {
		struct tid_ent *e = &m->s->tids[h];
		if (e->gen != m->gen) {
			if (m->tids_used >= TID_MAX)
				return NULL;
			m->tids_used++;
			e->gen = m->gen;
			e->key = key;
			e->top = 0;
			break;
		}
		if (e->key == key)
			break;
		h = (h + 1) & (TID_SLOTS - 1);
	}
	m->last_key = key;
	m->last_te = &m->s->tids[h];
	return m->last_te;
}

/* The cache list of (tid, cls); created (while fewer than TC_MAX exist)
 * when create is set. */
static inline struct tc_ent *tc_get(struct model *m, uint64_t tid, uint64_t cls, int create)
{
	uint64_t key = tid + 1;
	uint32_t h = hmul(key * UINT64_C(0xff51afd7ed558ccd) ^ cls, 13) & (TC_SLOTS - 1);
	for (;;) {
		struct tc_ent *e = &m->s->tc[h];
		if (e->gen != m->gen) {
			if (!create || m->tc_used >= TC_MAX)
				return NULL;
			m->tc_used++;
			e->gen = m->gen;
			e->key = key;
			e->cls = cls;
			e->n = 0;
			e->head = 0;
			return e;
		}
		if (e->key == key && e->cls == cls)
			return e;
		h = (h + 1) & (TC_SLOTS - 1);
	}
}

static inline void tc_push(struct model *m, uint64_t tid, uint64_t cls, uint64_t blk)
{
	struct tc_ent *e = tc_get(m, tid, cls, 1);
	if (!e)
		return;
	if (e->n == TC_DEPTH) { /* full: the oldest drops out */
		e->head = (e->head + 1) & TC_MASK;
		e->n--;
	}
	e->blk[(e->head + e->n) & TC_MASK] = blk;
	e->n++;
}

/* Removes the i-th most recent block of e (i < e->n). */
static inline void tc_take(struct tc_ent *e, uint32_t i)
{
	for (uint32_t k = e->n - 1 - i; k + 1 < e->n; k++)
		e->blk[(e->head + k) & TC_MASK] = e->blk[(e->head + k + 1) & TC_MASK];
	e->n--;
}

static inline unsigned popc(uint64_t x)
{
	x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
	x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
	x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}

static inline void live_set(struct model *m, uint32_t ord)
{
	m->s->bits[ord >> 6] |= UINT64_C(1) << (ord & 63);
	m->s->sbc[ord >> SB_SHIFT]++;
	m->nlive++;
}

static inline void live_clear(struct model *m, uint32_t ord)
{
	m->s->bits[ord >> 6] &= ~(UINT64_C(1) << (ord & 63));
	m->s->sbc[ord >> SB_SHIFT]--;
	m->nlive--;
}

static inline int is_live(const struct model *m, uint32_t ord)
{
	return (m->s->bits[ord >> 6] >> (ord & 63)) & 1;
}

/* Popcount: the instruction where the CPU has it (chosen once at run
 * time; x86-64's baseline lacks it), else the SWAR sum. */
#define POPC(x) (hw ? (unsigned)__builtin_popcountll(x) : popc(x))

/* Number of live ordinals above ord. */
static inline __attribute__((always_inline)) uint32_t rank_above_g(const struct model *m, uint32_t ord, int hw)
{
	const uint64_t *b = m->s->bits;
	uint32_t w = ord >> 6, top = m->nord ? (m->nord - 1) >> 6 : 0;
	uint32_t r = (ord & 63) == 63 ? 0 : POPC(b[w] >> ((ord & 63) + 1));
	uint32_t sbend = (w / SB_WORDS + 1) * SB_WORDS; /* first word of the next superblock */
	uint32_t x;
	for (x = w + 1; x <= top && x < sbend; x++)
		r += POPC(b[x]);
	if (x > top)
		return r;
	uint32_t sbtop = top / SB_WORDS;
	for (uint32_t sb = w / SB_WORDS + 1; sb <= sbtop; sb++)
		r += m->s->sbc[sb];
	return r;
}

/* Ordinal with exactly r live ordinals above it (r < nlive): skip whole
 * superblocks by their counts, then words, then bits. */
static inline __attribute__((always_inline)) uint32_t select_g(const struct model *m, uint32_t r, int hw)
{
	const uint64_t *b = m->s->bits;
	const uint32_t *sbc = m->s->sbc;
	uint32_t sb = (m->nord - 1) >> SB_SHIFT;
	while (r >= sbc[sb]) /* r < nlive: stops at sb 0 at the latest */
		r -= sbc[sb--];
	uint32_t w = (m->nord - 1) >> 6;
	if (w > sb * SB_WORDS + SB_WORDS - 1)
		w = sb * SB_WORDS + SB_WORDS - 1;
	for (;;) {
		uint32_t c = POPC(b[w]);
		if (r < c)
			break;
		r -= c;
		w--;
	}
	/* the bit of x with exactly r set bits above it: binary search on
	 * the popcount of the bits at and above mid */
	uint64_t x = b[w];
	unsigned lo = 0, hi = 64;
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (POPC(x >> mid) > r)
			lo = mid;
		else
			hi = mid;
	}
	return (w << 6) | lo;
}

#undef POPC

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) static uint32_t rank_above_hw(const struct model *m,
								 uint32_t ord)
{
	return rank_above_g(m, ord, 1);
}
__attribute__((target("popcnt"))) static uint32_t select_hw(const struct model *m, uint32_t r)
{
	return select_g(m, r, 1);
}
static int have_popcnt(void)
{
	/* decoding threads race to fill the cache: relaxed atomics make that
	 * well-defined (every writer stores the same value) */
	static int have = -1;
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
	if (h < 0) {
		h = __builtin_cpu_supports("popcnt") ? 1 : 0;
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h;
}
#else
static uint32_t rank_above_hw(const struct model *m, uint32_t ord)
{
	return rank_above_g(m, ord, 1);
}
static uint32_t select_hw(const struct model *m, uint32_t r)
{
	return select_g(m, r, 1);
}
static int have_popcnt(void)
{
	return 1; /* the compiler's builtin is the best there is */
}
#endif

/* Number of live ordinals above ord. */
static uint32_t rank_above(const struct model *m, uint32_t ord)
{
	return m->hw ? rank_above_hw(m, ord) : rank_above_g(m, ord, 0);
}

/* Ordinal with exactly r live ordinals above it (r < nlive). */
static uint32_t select_from_top(const struct model *m, uint32_t r)
{
	return m->hw ? select_hw(m, r) : select_g(m, r, 0);
}

#define ADDR(m, o) ((m)->addr[2 * (size_t)(o)])
#define CLS(m, o) ((m)->addr[2 * (size_t)(o) + 1])

/* Map slot of addr: its entry, or the empty slot where it goes. */
static inline uint32_t *map_find(const struct model *m, uint64_t addr)
{
	uint32_t h = hmul(addr, m->mapbits);
	for (;;) {
		uint32_t *e = &m->map[h];
		if (*e == 0 || ADDR(m, *e - 1) == addr)
			return e;
		h = (h + 1) & m->mapmask;
	}
}

static inline void live_add(struct model *m, uint64_t addr, uint64_t cls)
{
	if (m->nord >= m->cap)
		return; /* cannot happen: cap counts every row that adds a block */
	uint32_t *e = map_find(m, addr);
	if (*e && is_live(m, *e - 1))
		live_clear(m, *e - 1); /* allocated twice without a free we saw */
	uint32_t ord = m->nord++;
	*e = ord + 1;
	ADDR(m, ord) = addr;
	CLS(m, ord) = cls;
	live_set(m, ord);
}

/* After an alloc-like row: top moves past a fresh block. */
static inline void after_alloc(struct model *m, struct tid_ent *te, int code, uint64_t ptr,
			       uint64_t csize)
{
	if (ptr == 0)
		return;
	if (te && (code == 1 || (code == 0 && (te->top == 0 || (ptr >= te->top &&
								    ptr - te->top < TOP_NEAR)))))
		te->top = ptr + csize;
	live_add(m, ptr, csize >> 4);
}

/* After a realloc row: its new block (from the new_ptr column) is live. */
static inline void after_realloc(struct model *m, const struct mpt_codec_ctx *ctx, uint32_t i)
{
	if (ctx->new_ptr[i] == 0)
		return;
	struct tid_ent *te = tid_get(m, ctx->tid[i]);
	after_alloc(m, te, 0, ctx->new_ptr[i], chunk_size(ctx->size[i]));
}

static int ptr_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
		      struct mpt_buf *out, int v2)
{
	if (!ctx->work || !ctx->kind || !ctx->tid || !ctx->size || !ctx->new_ptr)
		return -1;
	struct model m;
	uint32_t nadd = 0;
	for (uint32_t i = 0; i < ctx->rows; i++)
		nadd += (role_tab[ctx->kind[i]] & R_ADDS) != 0;
	if (model_init(&m, nadd, ctx->work))
		return -1;
	m.v2 = v2;
	int64_t ring_ix = -1;
	struct mpt_buf vs = ctx->work->slot[MPT_SL_VS];
	vs.len = 0;
	/* PTR2: the free-like rows' codes follow those of the alloc-like rows */
	struct mpt_buf fcb = ctx->work->slot[MPT_SL_FCODES];
	fcb.len = 0;
	struct mpt_buf *fc = v2 ? &fcb : out;
	uint32_t j = 0;
	int rc = -1;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		unsigned ro = role_tab[ctx->kind[i]];
		if (!ro)
			continue;
		if (j >= n)
			goto end;
		uint64_t ptr = v[j++];
		if ((ro & R_MASK) == R_OTHER) {
			mpt__put_varint(&vs, mpt__zz((int64_t)(ptr - m.other_prev)));
			m.other_prev = ptr;
			continue;
		}
		uint64_t tid = ctx->tid[i];
		struct tid_ent *te = tid_get(&m, tid);
		uint64_t top = te ? te->top : 0;
		if ((ro & R_MASK) == R_ALLOC) {
			uint64_t csize = chunk_size(ctx->size[i]);
			int code = 0;
			if (ptr == 0) {
				code = 255;
			} else if (te && top && ptr == top) {
				code = 1;
			} else {
				struct tc_ent *e = tc_get(&m, tid, csize >> 4, 0);
				for (uint32_t k = 0; e && k < e->n; k++)
					if (tc_at(e, k) == ptr) {
						code = 2 + (int)k;
						tc_take(e, k);
						break;
					}
				e = code ? NULL : tc_get(&m, tid, CLS_UNKNOWN, 0);
				for (uint32_t k = 0; e && k < e->n; k++)
					if (tc_at(e, k) == ptr) {
						code = 2 + TC_DEPTH + (int)k;
						tc_take(e, k);
						break;
					}
				if (!code && m.v2 && (ring_ix = ring_find(&m, ptr)) >= 0)
					code = RING_CODE;
			}
			mpt__put_u8(out, (uint8_t)code);
			if (code == 0)
				mpt__put_varint(&vs, mpt__zz((int64_t)(ptr - top)));
			else if (code == RING_CODE)
				mpt__put_varint(&vs, (uint64_t)ring_ix);
			after_alloc(&m, te, code, ptr, csize);
			continue;
		}
		if (ptr == 0) {
			mpt__put_u8(fc, 255);
		} else {
			uint32_t *e = map_find(&m, ptr);
			if (!*e || !is_live(&m, *e - 1)) {
				mpt__put_u8(fc, 0);
				mpt__put_varint(&vs, mpt__zz((int64_t)(ptr - m.free_prev)));
				m.free_prev = ptr;
				tc_push(&m, tid, CLS_UNKNOWN, ptr);
				if (m.v2)
					ring_push(&m, ptr, 1);
			} else {
				uint32_t ord = *e - 1;
				uint32_t rank = rank_above(&m, ord);
				if (!v2 && rank < 250) {
					mpt__put_u8(fc, (uint8_t)(1 + rank));
				} else if (!v2) {
					mpt__put_u8(fc, 251);
					mpt__put_varint(&vs, rank - 250);
				} else if (rank < RK_LO) {
					mpt__put_u8(fc, (uint8_t)(1 + rank));
				} else if (rank < RK_ESC) {
					mpt__put_u8(fc, (uint8_t)(129 + ((rank - RK_LO) >> 8)));
					mpt__put_u8(&vs, (uint8_t)(rank - RK_LO));
				} else {
					mpt__put_u8(fc, 251);
					mpt__put_varint(&vs, rank - RK_ESC);
				}
				live_clear(&m, ord);
				tc_push(&m, tid, CLS(&m, ord), ptr);
				if (m.v2)
					ring_push(&m, ptr, 1);
			}
		}
		if (ro & R_REALLOC)
			after_realloc(&m, ctx, i);
	}
	if (j != n)
		goto end;
	if (v2)
		mpt__put_bytes(out, fcb.p, fcb.len);
	mpt__put_bytes(out, vs.p, vs.len);
	rc = out->oom || vs.oom || fcb.oom ? -1 : 0;
end:
	vs.oom = 0;
	fcb.oom = 0;
	ctx->work->slot[MPT_SL_VS] = vs; /* keep its memory for the next chunk */
	ctx->work->slot[MPT_SL_FCODES] = fcb;
	return rc;
}

int mpt__ptr_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
		    struct mpt_buf *out)
{
	return ptr_encode(v, n, ctx, out, 0);
}

int mpt__ptr2_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
		     struct mpt_buf *out)
{
	return ptr_encode(v, n, ctx, out, 1);
}

/* LEB128 from the address model's value stream (bounds checked). */
static inline uint64_t vs_get(const uint8_t *p, size_t len, size_t *pos, int *bad)
{
	size_t i = *pos;
	if (len - i >= 10) {
		/* fast path: the whole varint is in bounds */
		uint64_t b = p[i];
		if (b < 0x80) {
			*pos = i + 1;
			return b;
		}
		uint64_t v = b & 0x7f;
		for (unsigned shift = 7; shift < 70; shift += 7) {
			b = p[++i];
			if (shift == 63 && b > 1)
				break;
			v |= (b & 0x7f) << shift;
			if (b < 0x80) {
				*pos = i + 1;
				return v;
			}
		}
		*bad = 1;
		*pos = len;
		return 0;
	}
	struct mpt_cur c = { p, len, i, 0 };
	uint64_t v = mpt__get_varint(&c);
	if (c.bad) {
		*bad = 1;
		*pos = len;
		return 0;
	}
	*pos = c.pos;
	return v;
}

static inline __attribute__((always_inline)) int
ptr_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
	   const struct mpt_codec_ctx *ctx, const char **why, int v2)
{
	if (!ctx->work || !ctx->kind || !ctx->tid || !ctx->size || !ctx->new_ptr) {
		*why = "address model without its context columns";
		return -1;
	}
	uint32_t ncodes = 0, nadd = 0, nvals = 0, nalloc = 0;
	const uint8_t *kind = ctx->kind;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		unsigned ro = role_tab[kind[i]];
		nvals += ro != 0;
		ncodes += (ro & R_MASK) == R_ALLOC || (ro & R_MASK) == R_FREE;
		nalloc += (ro & R_MASK) == R_ALLOC;
		nadd += (ro & R_ADDS) != 0;
	}
	if (nvals != n) {
		*why = "address model: value count disagrees with the kind column";
		return -1;
	}
	if (ncodes > len) {
		*why = "address model: code bytes overrun the column";
		return -1;
	}
	struct model m;
	if (model_init(&m, nadd, ctx->work)) {
		*why = "out of memory";
		return -1;
	}
	m.v2 = v2;
	const uint8_t *vp = in + ncodes;
	size_t vlen = len - ncodes, vpos = 0;
	int bad = 0;
	/* PTR: one code per alloc/free-like row in row order; PTR2: those of
	 * the alloc-like rows, then those of the free-like rows */
	const uint8_t *codes = in, *fcodes = v2 ? in + nalloc : in;
	const uint64_t *tids = ctx->tid, *sizes = ctx->size;
	uint32_t j = 0, ci = 0, fi = 0;
	*why = "address model: malformed stream";
	for (uint32_t i = 0; i < ctx->rows; i++) {
		unsigned ro = role_tab[kind[i]];
		if (!ro)
			continue;
		uint64_t ptr;
		if ((ro & R_MASK) == R_OTHER) {
			ptr = m.other_prev + (uint64_t)mpt__unzz(vs_get(vp, vlen, &vpos, &bad));
			m.other_prev = ptr;
			v[j++] = ptr;
			continue;
		}
		uint64_t tid = tids[i];
		struct tid_ent *te = tid_get(&m, tid);
		uint64_t top = te ? te->top : 0;
		unsigned code = v2 && (ro & R_MASK) == R_FREE ? fcodes[fi++] : codes[ci++];
		if ((ro & R_MASK) == R_ALLOC) {
			uint64_t csize = chunk_size(sizes[i]);
			if (code == 1) {
				if (!top) {
					*why = "address model: top prediction without a top";
					return -1;
				}
				ptr = top;
				te->top = ptr + csize;
				live_add(&m, ptr, csize >> 4);
			} else if (code == 0) {
				ptr = top + (uint64_t)mpt__unzz(vs_get(vp, vlen, &vpos, &bad));
				after_alloc(&m, te, 0, ptr, csize);
			} else if (code < 2 + 2 * TC_DEPTH) {
				int unk = code >= 2 + TC_DEPTH;
				struct tc_ent *e = tc_get(&m, tid, unk ? CLS_UNKNOWN : csize >> 4, 0);
				uint32_t k = code - 2u - (unk ? TC_DEPTH : 0);
				if (!e || k >= e->n) {
					*why = "address model: cache index out of range";
					return -1;
				}
				ptr = tc_at(e, k);
				tc_take(e, k);
				if (ptr) /* 0 only from a malformed literal free */
					live_add(&m, ptr, csize >> 4);
			} else if (code == 255) {
				ptr = 0;
			} else if (v2 && code == RING_CODE) {
				uint64_t k = vs_get(vp, vlen, &vpos, &bad);
				if (bad || k >= RING || k >= m.npush) {
					*why = "address model: freed-address index out of range";
					return -1;
				}
				ptr = m.s->ring[(m.npush - 1 - (uint32_t)k) & (RING - 1)];
				if (ptr)
					live_add(&m, ptr, csize >> 4);
			} else {
				*why = "address model: invalid alloc code";
				return -1;
			}
			v[j++] = ptr;
			continue;
		}
		if (v2 && code - 129u < 122u) { /* PTR2: rank's high part + a byte */
			if (vpos >= vlen) {
				*why = "address model: varint stream ends early";
				return -1;
			}
			uint32_t rank = RK_LO + ((code - 129u) << 8) + vp[vpos++];
			if (rank >= m.nlive) {
				*why = "address model: live block rank out of range";
				return -1;
			}
			uint32_t ord = select_from_top(&m, rank);
			ptr = ADDR(&m, ord);
			live_clear(&m, ord);
			tc_push(&m, tid, CLS(&m, ord), ptr);
			ring_push(&m, ptr, 0);
		} else if (code - 1u < 250u) {
			uint32_t rank = code - 1u;
			if (rank >= m.nlive) {
				*why = "address model: live block rank out of range";
				return -1;
			}
			uint32_t ord = select_from_top(&m, rank);
			ptr = ADDR(&m, ord);
			live_clear(&m, ord);
			tc_push(&m, tid, CLS(&m, ord), ptr);
			if (v2)
				ring_push(&m, ptr, 0);
		} else if (code == 0) {
			ptr = m.free_prev + (uint64_t)mpt__unzz(vs_get(vp, vlen, &vpos, &bad));
			m.free_prev = ptr;
			tc_push(&m, tid, CLS_UNKNOWN, ptr);
			if (v2)
				ring_push(&m, ptr, 0);
		} else if (code == 251) {
			uint64_t rank = (v2 ? RK_ESC : 250) + vs_get(vp, vlen, &vpos, &bad);
			if (bad || rank >= m.nlive) {
				*why = "address model: live block rank out of range";
				return -1;
			}
			uint32_t ord = select_from_top(&m, (uint32_t)rank);
			ptr = ADDR(&m, ord);
			live_clear(&m, ord);
			tc_push(&m, tid, CLS(&m, ord), ptr);
			if (v2)
				ring_push(&m, ptr, 0);
		} else if (code == 255) {
			ptr = 0;
		} else {
			*why = "address model: invalid free code";
			return -1;
		}
		v[j++] = ptr;
		if (ro & R_REALLOC)
			after_realloc(&m, ctx, i);
	}
	if (bad) {
		*why = "address model: varint stream ends early";
		return -1;
	}
	if (vpos != vlen) {
		*why = "address model: trailing bytes";
		return -1;
	}
	return 0;
}

int mpt__ptr_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
		    const struct mpt_codec_ctx *ctx, const char **why)
{
	return ptr_decode(in, len, v, n, ctx, why, 0);
}

int mpt__ptr2_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
		     const struct mpt_codec_ctx *ctx, const char **why)
{
	return ptr_decode(in, len, v, n, ctx, why, 1);
}
