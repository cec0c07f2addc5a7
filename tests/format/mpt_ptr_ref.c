/* Reference implementation of the allocator address model (encoding 7), kept
 * verbatim from libmpt 1.0's format/mpt_ptr.c (hash maps and a Fenwick
 * tree) except for the two entry points' names.  The fast implementation
 * in format/mpt_ptr.c must produce and accept exactly the same bytes:
 * tests/format/test_mpt_ptr.c compares the two on random inputs.
 *
 * Original description follows.
 *
 * libmpt: the allocator address model (encoding 7, ptr column only).
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
 * state machine (size class, top update, cache pushes). */
#include <stdlib.h>

#include "../../format/mpt_internal.h"
#include "mpt_ptr_ref.h"

#define TC_DEPTH 8
#define TID_SLOTS 1024  /* per-thread top table (fixed: both sides agree) */
#define TC_SLOTS 4096   /* (tid, class) cache table */
#define TOP_NEAR (UINT64_C(1) << 20) /* a literal this close above top moves it */
#define CLS_UNKNOWN UINT64_MAX       /* blocks freed by a literal: size unknown */

enum { ROLE_NONE, ROLE_ALLOC, ROLE_FREE, ROLE_OTHER };

static int role(uint8_t kind)
{
	switch (kind) {
	case MPA_KIND_ALLOC:
	case MPA_KIND_KALLOC:
	case MPA_KIND_POOL_ALLOC:
		return ROLE_ALLOC;
	case MPA_KIND_FREE:
	case MPA_KIND_KFREE:
	case MPA_KIND_POOL_FREE:
	case MPA_KIND_REALLOC:
		return ROLE_FREE;
	case MPA_KIND_MAP:
	case MPA_KIND_UNMAP:
	case MPA_KIND_NUMA_PLACE:
	case MPA_KIND_THREAD_START:
	case MPA_KIND_CACHE_SAMPLE:
	case MPA_KIND_LEAK_SCAN:
		return ROLE_OTHER;
	}
	return ROLE_NONE;
}

/* glibc chunk size of a request: header 8, 16-byte granules, minimum 32. */
static uint64_t chunk_size(uint64_t size)
{
	if (size > UINT64_MAX - 64)
		return 0;
	uint64_t c = (size + 8 + 15) & ~(uint64_t)15;
	return c < 32 ? 32 : c;
}

static inline uint32_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return (uint32_t)k;
}

struct tid_ent {
	uint64_t tid; /* zigzagged tid + 1; 0 = empty */
	uint64_t top;
};

struct tc_ent {
	uint64_t tid;  /* zigzagged tid + 1; 0 = empty */
	uint64_t cls;
	uint32_t n;
	uint64_t blk[TC_DEPTH]; /* [n-1] most recent */
};

struct model {
	struct tid_ent tids[TID_SLOTS];
	struct tc_ent *tc;      /* [tc_cap] */
	uint32_t tc_cap;        /* power of two <= TC_SLOTS; never fills below TC_SLOTS */
	uint32_t tc_used;
	/* live blocks allocated in this chunk: ordinal -> address/size, a hash
	 * map address -> ordinal, and a Fenwick tree of live ordinals */
	uint64_t *addr, *size;
	uint32_t *fen;          /* [cap + 1] */
	uint32_t cap, nord, nlive;
	uint32_t *map;          /* ordinal + 1, 0 empty, UINT32_MAX deleted */
	uint32_t mapmask;
	uint64_t other_prev;
	uint64_t free_prev; /* last literal of a free-like row */
};


/* cap: rows that add a live block (ordinals never exceed it); pushes: rows
 * that may push onto a cache list (free-like rows). */
static int model_init(struct model *m, uint32_t cap, uint32_t pushes, struct mpt_work *w)
{
	memset(m, 0, sizeof *m);
	m->cap = cap;
	/* a table twice the pushes never fills, so it behaves like the full
	 * TC_SLOTS one: only its memory differs */
	m->tc_cap = 16;
	while (m->tc_cap < TC_SLOTS && m->tc_cap < 2 * pushes)
		m->tc_cap <<= 1;
	uint32_t ms = 16;
	while (ms < cap * 2u && ms < (1u << 31))
		ms <<= 1;
	m->mapmask = ms - 1;
	m->tc = mpt__scratch(w, MPT_SL_TC, sizeof *m->tc * m->tc_cap, 1);
	m->addr = mpt__scratch(w, MPT_SL_ADDR, sizeof *m->addr * ((size_t)cap + 1), 0);
	m->size = mpt__scratch(w, MPT_SL_SIZE, sizeof *m->size * ((size_t)cap + 1), 0);
	m->fen = mpt__scratch(w, MPT_SL_FEN, sizeof *m->fen * ((size_t)cap + 1), 1);
	m->map = mpt__scratch(w, MPT_SL_MAP, sizeof *m->map * ms, 1);
	return m->tc && m->addr && m->size && m->fen && m->map ? 0 : -1;
}

static struct tid_ent *tid_get(struct model *m, uint64_t tid)
{
	uint64_t key = tid + 1;
	uint32_t h = mix(key) & (TID_SLOTS - 1);
	for (unsigned probe = 0; probe < TID_SLOTS; probe++) {
		struct tid_ent *e = &m->tids[h];
		if (e->tid == key)
			return e;
		if (e->tid == 0) {
			e->tid = key;
			e->top = 0;
			return e;
		}
		h = (h + 1) & (TID_SLOTS - 1);
	}
	return NULL; /* table full: no per-thread state for this tid */
}

static struct tc_ent *tc_get(struct model *m, uint64_t tid, uint64_t cls, int create)
{
	uint64_t key = tid + 1;
	uint32_t mask = m->tc_cap - 1;
	uint32_t h = mix(key * 0x9e3779b97f4a7c15u ^ cls) & mask;
	for (unsigned probe = 0; probe < m->tc_cap; probe++) {
		struct tc_ent *e = &m->tc[h];
		if (e->tid == key && e->cls == cls)
			return e;
		if (e->tid == 0) {
			/* the first TC_SLOTS distinct pairs get a list */
			if (!create || m->tc_used >= TC_SLOTS)
				return NULL;
			e->tid = key;
			e->cls = cls;
			e->n = 0;
			m->tc_used++;
			return e;
		}
		h = (h + 1) & mask;
	}
	return NULL;
}

static void tc_push(struct model *m, uint64_t tid, uint64_t cls, uint64_t blk)
{
	struct tc_ent *e = tc_get(m, tid, cls, 1);
	if (!e)
		return;
	if (e->n == TC_DEPTH) {
		memmove(e->blk, e->blk + 1, sizeof e->blk[0] * (TC_DEPTH - 1));
		e->n--;
	}
	e->blk[e->n++] = blk;
}

static void tc_take(struct tc_ent *e, uint32_t i)
{
	/* i counts from the most recent */
	uint32_t pos = e->n - 1 - i;
	memmove(e->blk + pos, e->blk + pos + 1, sizeof e->blk[0] * (e->n - 1 - pos));
	e->n--;
}

static void fen_add(struct model *m, uint32_t ord, int32_t d)
{
	for (uint32_t i = ord + 1; i <= m->cap; i += i & -i)
		m->fen[i] = (uint32_t)((int32_t)m->fen[i] + d);
}

/* Number of live ordinals <= ord. */
static uint32_t fen_prefix(const struct model *m, uint32_t ord)
{
	uint32_t s = 0;
	for (uint32_t i = ord + 1; i > 0; i -= i & -i)
		s += m->fen[i];
	return s;
}

/* Ordinal of the k-th live block (k >= 1) in ascending order. */
static uint32_t fen_kth(const struct model *m, uint32_t k)
{
	uint32_t pos = 0, step = 1;
	while (step * 2 <= m->cap)
		step *= 2;
	for (; step; step >>= 1)
		if (pos + step <= m->cap && m->fen[pos + step] < k) {
			pos += step;
			k -= m->fen[pos];
		}
	return pos; /* 0-based ordinal */
}

/* Map slot holding addr, or the slot where it would go. */
static uint32_t *map_slot(struct model *m, uint64_t addr, int for_insert)
{
	uint32_t h = mix(addr) & m->mapmask;
	uint32_t *tomb = NULL;
	for (;;) {
		uint32_t *s = &m->map[h];
		if (*s == 0)
			return for_insert && tomb ? tomb : s;
		if (*s == UINT32_MAX) {
			if (!tomb)
				tomb = s;
		} else if (m->addr[*s - 1] == addr) {
			return s;
		}
		h = (h + 1) & m->mapmask;
	}
}

static void live_remove(struct model *m, uint32_t *slot)
{
	uint32_t ord = *slot - 1;
	*slot = UINT32_MAX;
	fen_add(m, ord, -1);
	m->nlive--;
}

static void live_add(struct model *m, uint64_t addr, uint64_t size)
{
	if (m->nord >= m->cap)
		return; /* cannot happen: cap counts every row that adds a block */
	uint32_t *s = map_slot(m, addr, 0);
	if (*s != 0 && *s != UINT32_MAX)
		live_remove(m, s); /* allocated twice without a free we saw */
	s = map_slot(m, addr, 1);
	uint32_t ord = m->nord++;
	m->addr[ord] = addr;
	m->size[ord] = size;
	*s = ord + 1;
	fen_add(m, ord, 1);
	m->nlive++;
}

/* After an alloc-like row: top moves past a fresh block. */
static void after_alloc(struct model *m, struct tid_ent *te, int code, uint64_t ptr,
			uint64_t size)
{
	if (ptr == 0)
		return;
	if (te && (code == 1 || (code == 0 && (te->top == 0 || (ptr >= te->top &&
								    ptr - te->top < TOP_NEAR)))))
		te->top = ptr + chunk_size(size);
	live_add(m, ptr, size);
}

/* After a realloc row: its new block (from the new_ptr column) is live. */
static void after_realloc(struct model *m, const struct mpt_codec_ctx *ctx, uint32_t i)
{
	if (ctx->kind[i] != MPA_KIND_REALLOC || ctx->new_ptr[i] == 0)
		return;
	struct tid_ent *te = tid_get(m, ctx->tid[i]);
	after_alloc(m, te, 0, ctx->new_ptr[i], ctx->size[i]);
}

/* Rows that add a live block (alloc-like and realloc) and free-like rows. */
static void count_rows(const struct mpt_codec_ctx *ctx, uint32_t *adds, uint32_t *frees)
{
	*adds = *frees = 0;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		int ro = role(ctx->kind[i]);
		if (ro == ROLE_ALLOC || ctx->kind[i] == MPA_KIND_REALLOC)
			(*adds)++;
		if (ro == ROLE_FREE)
			(*frees)++;
	}
}

static void encode_free(struct model *m, const struct mpt_codec_ctx *ctx, uint32_t i,
			uint64_t ptr, struct mpt_buf *out, struct mpt_buf *vs)
{
	if (ptr == 0) {
		mpt__put_u8(out, 255);
		return;
	}
	uint32_t *s = map_slot(m, ptr, 0);
	if (*s == 0 || *s == UINT32_MAX) {
		mpt__put_u8(out, 0);
		mpt__put_varint(vs, mpt__zz((int64_t)(ptr - m->free_prev)));
		m->free_prev = ptr;
		tc_push(m, ctx->tid[i], CLS_UNKNOWN, ptr);
		return;
	}
	uint32_t ord = *s - 1;
	uint32_t rank = m->nlive - fen_prefix(m, ord);
	if (rank < 250) {
		mpt__put_u8(out, (uint8_t)(1 + rank));
	} else {
		mpt__put_u8(out, 251);
		mpt__put_varint(vs, rank - 250);
	}
	uint64_t bsize = m->size[ord];
	live_remove(m, s);
	tc_push(m, ctx->tid[i], chunk_size(bsize) >> 4, ptr);
}

int ref_ptr_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
		    struct mpt_buf *out)
{
	if (!ctx->work || !ctx->kind || !ctx->tid || !ctx->size || !ctx->new_ptr)
		return -1;
	struct model m;
	uint32_t nalloc, nfree;
	count_rows(ctx, &nalloc, &nfree);
	if (model_init(&m, nalloc, nfree, ctx->work))
		return -1;
	struct mpt_buf vs = ctx->work->slot[MPT_SL_VS];
	vs.len = 0;
	uint32_t j = 0;
	int rc = -1;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		int ro = role(ctx->kind[i]);
		if (ro == ROLE_NONE || !(mpt__cols[MPT_COL_PTR].kinds & MPT_KINDBIT(ctx->kind[i])))
			continue;
		if (j >= n)
			goto end;
		uint64_t ptr = v[j++];
		if (ro == ROLE_OTHER) {
			mpt__put_varint(&vs, mpt__zz((int64_t)(ptr - m.other_prev)));
			m.other_prev = ptr;
			continue;
		}
		struct tid_ent *te = tid_get(&m, ctx->tid[i]);
		uint64_t top = te ? te->top : 0;
		if (ro == ROLE_ALLOC) {
			uint64_t cls = chunk_size(ctx->size[i]) >> 4;
			int code = 0;
			if (ptr == 0) {
				code = 255;
			} else if (te && top && ptr == top) {
				code = 1;
			} else {
				struct tc_ent *e = tc_get(&m, ctx->tid[i], cls, 0);
				for (uint32_t k = 0; e && k < e->n; k++)
					if (e->blk[e->n - 1 - k] == ptr) {
						code = 2 + (int)k;
						tc_take(e, k);
						break;
					}
				e = code ? NULL : tc_get(&m, ctx->tid[i], CLS_UNKNOWN, 0);
				for (uint32_t k = 0; e && k < e->n; k++)
					if (e->blk[e->n - 1 - k] == ptr) {
						code = 2 + TC_DEPTH + (int)k;
						tc_take(e, k);
						break;
					}
			}
			mpt__put_u8(out, (uint8_t)code);
			if (code == 0)
				mpt__put_varint(&vs, mpt__zz((int64_t)(ptr - top)));
			after_alloc(&m, te, code, ptr, ctx->size[i]);
		} else {
			encode_free(&m, ctx, i, ptr, out, &vs);
			after_realloc(&m, ctx, i);
		}
	}
	if (j != n)
		goto end;
	mpt__put_bytes(out, vs.p, vs.len);
	rc = out->oom || vs.oom ? -1 : 0;
end:
	vs.oom = 0;
	ctx->work->slot[MPT_SL_VS] = vs; /* keep its memory for the next chunk */
	return rc;
}

int ref_ptr_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
		    const struct mpt_codec_ctx *ctx, const char **why)
{
	if (!ctx->work || !ctx->kind || !ctx->tid || !ctx->size || !ctx->new_ptr) {
		*why = "address model without its context columns";
		return -1;
	}
	uint32_t ncodes = 0, nalloc = 0, nvals = 0, nfree = 0;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		if (!(mpt__cols[MPT_COL_PTR].kinds & MPT_KINDBIT(ctx->kind[i])))
			continue;
		int ro = role(ctx->kind[i]);
		nvals++;
		if (ro == ROLE_ALLOC || ro == ROLE_FREE)
			ncodes++;
		if (ro == ROLE_ALLOC || ctx->kind[i] == MPA_KIND_REALLOC)
			nalloc++;
		if (ro == ROLE_FREE)
			nfree++;
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
	if (model_init(&m, nalloc, nfree, ctx->work)) {
		*why = "out of memory";
		return -1;
	}
	struct mpt_cur vs;
	mpt__cur_init(&vs, in + ncodes, len - ncodes);
	const uint8_t *codes = in;
	uint32_t j = 0, ci = 0;
	int rc = -1;
	*why = "address model: malformed stream";
	for (uint32_t i = 0; i < ctx->rows; i++) {
		if (!(mpt__cols[MPT_COL_PTR].kinds & MPT_KINDBIT(ctx->kind[i])))
			continue;
		int ro = role(ctx->kind[i]);
		uint64_t ptr;
		if (ro == ROLE_OTHER) {
			ptr = m.other_prev + (uint64_t)mpt__unzz(mpt__get_varint(&vs));
			m.other_prev = ptr;
			v[j++] = ptr;
			continue;
		}
		struct tid_ent *te = tid_get(&m, ctx->tid[i]);
		uint64_t top = te ? te->top : 0;
		uint8_t code = codes[ci++];
		if (ro == ROLE_ALLOC) {
			uint64_t cls = chunk_size(ctx->size[i]) >> 4;
			if (code == 255) {
				ptr = 0;
			} else if (code == 0) {
				ptr = top + (uint64_t)mpt__unzz(mpt__get_varint(&vs));
			} else if (code == 1) {
				if (!te || !top) {
					*why = "address model: top prediction without a top";
					goto end;
				}
				ptr = top;
			} else if (code < 2 + 2 * TC_DEPTH) {
				int unk = code >= 2 + TC_DEPTH;
				struct tc_ent *e = tc_get(&m, ctx->tid[i], unk ? CLS_UNKNOWN : cls, 0);
				uint32_t k = code - 2u - (unk ? TC_DEPTH : 0);
				if (!e || k >= e->n) {
					*why = "address model: cache index out of range";
					goto end;
				}
				ptr = e->blk[e->n - 1 - k];
				tc_take(e, k);
			} else {
				*why = "address model: invalid alloc code";
				goto end;
			}
			after_alloc(&m, te, code == 255 ? 0 : code, ptr, ctx->size[i]);
		} else {
			if (code == 255) {
				ptr = 0;
			} else if (code == 0) {
				ptr = m.free_prev + (uint64_t)mpt__unzz(mpt__get_varint(&vs));
				m.free_prev = ptr;
				tc_push(&m, ctx->tid[i], CLS_UNKNOWN, ptr);
			} else if (code <= 251) {
				uint64_t rank = code - 1u;
				if (code == 251)
					rank = 250 + mpt__get_varint(&vs);
				if (vs.bad || rank >= m.nlive) {
					*why = "address model: live block rank out of range";
					goto end;
				}
				uint32_t ord = fen_kth(&m, (uint32_t)(m.nlive - rank));
				ptr = m.addr[ord];
				uint32_t *s = map_slot(&m, ptr, 0);
				if (*s != ord + 1) {
					*why = "address model: inconsistent live set";
					goto end;
				}
				live_remove(&m, s);
				tc_push(&m, ctx->tid[i], chunk_size(m.size[ord]) >> 4, ptr);
			} else {
				*why = "address model: invalid free code";
				goto end;
			}
			v[j++] = ptr;
			after_realloc(&m, ctx, i);
			continue;
		}
		v[j++] = ptr;
	}
	if (vs.bad) {
		*why = "address model: varint stream ends early";
		goto end;
	}
	if (vs.pos != vs.len) {
		*why = "address model: trailing bytes";
		goto end;
	}
	rc = 0;
end:
	return rc;
}
