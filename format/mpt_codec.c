/* libmpt: column encodings.  Every encoding maps n unsigned 64-bit values
 * (signed columns are zigzagged first) to bytes and back; the byte layouts
 * are specified in doc/format.md.  Decoders trust nothing: every value
 * count, index and length is checked against the input. */
#include <stdlib.h>

#include "mpt_internal.h"

/* ---- a small u64 -> u32 hash map (dictionary building) ------------------ */

struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* 0 = empty slot; else value + 1 */
	uint32_t mask;
	uint32_t count;
};

static int u64map_init(struct u64map *m, uint32_t expect, struct mpt_work *w)
{
	uint32_t cap = 64;
	while (cap < expect * 2u && cap < (1u << 30))
		cap <<= 1;
	m->keys = mpt__scratch(w, MPT_SL_DKEYS, sizeof *m->keys * cap, 0);
	m->vals = mpt__scratch(w, MPT_SL_DVALS, sizeof *m->vals * cap, 1);
	m->mask = cap - 1;
	m->count = 0;
	return m->keys && m->vals ? 0 : -1;
}

static inline uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return (uint32_t)k;
}

/* Returns a pointer to the value slot of key (inserting val if absent). */
static uint32_t *u64map_get(struct u64map *m, uint64_t key, uint32_t val, int *inserted)
{
	uint32_t i = hash64(key) & m->mask;
	for (;;) {
		if (!m->vals[i]) {
			m->keys[i] = key;
			m->vals[i] = val + 1;
			m->count++;
			*inserted = 1;
			return &m->vals[i];
		}
		if (m->keys[i] == key) {
			*inserted = 0;
			return &m->vals[i];
		}
		i = (i + 1) & m->mask;
	}
}

/* ---- encoders ------------------------------------------------------------ */

uint64_t mpt__enc_bound(uint32_t n)
{
	/* DICT worst case: count + n dictionary values + n indices */
	return (uint64_t)n * 13 + 16;
}

const unsigned mpt__ctx_cols[MPT_NCTX] = { MPT_COL_TID, MPT_COL_SIZE, MPT_COL_NEW_PTR };

uint64_t mpt__enc_deps(unsigned col, unsigned enc)
{
	if (col == MPT_COL_PTR && (enc == MPT_ENC_PTR || enc == MPT_ENC_PTR2))
		return MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_SIZE) |
		       MPT_COLBIT(MPT_COL_NEW_PTR);
	if (enc == MPT_ENC_TIDCTX && col != MPT_COL_TID)
		return MPT_COLBIT(MPT_COL_TID);
	if (enc == MPT_ENC_USIZE && col == MPT_COL_USABLE)
		return MPT_COLBIT(MPT_COL_SIZE);
	return 0;
}

/* ---- usable size predicted from the size (USIZE, format 4.0) --------------- */

/* glibc's usable size of a heap block of s bytes: its chunk size (section
 * 7.1's chunksize) minus the 8-byte size field; 0 for s = 0 or a size whose
 * chunk size overflows. */
static inline uint64_t usize_pred(uint64_t s)
{
	if (s == 0 || s > UINT64_MAX - 64)
		return 0;
	uint64_t cs = (s + 23) & ~(uint64_t)15;
	return (cs < 32 ? 32 : cs) - 8;
}

static int enc_usize(unsigned col, const uint64_t *v, uint32_t n,
		     const struct mpt_codec_ctx *ctx, struct mpt_buf *out)
{
	if (col != MPT_COL_USABLE || !ctx || !ctx->kind || !ctx->size)
		return -1;
	uint32_t mask = mpt__cols[col].kinds, j = 0;
	for (uint32_t i = 0; i < ctx->rows; i++) {
		if (!(mask & MPT_KINDBIT(ctx->kind[i])))
			continue;
		if (j == n)
			return -1;
		mpt__put_varint(out, mpt__zz((int64_t)(v[j] - usize_pred(ctx->size[i]))));
		j++;
	}
	return j == n && !out->oom ? 0 : -1;
}

int mpt__decode_usize_rows(const uint8_t *in, size_t len, uint64_t *rowv, uint32_t n,
			   const struct mpt_codec_ctx *ctx, const char **why)
{
	if (!ctx || !ctx->kind || !ctx->size) {
		*why = "usable-from-size encoding without the size column";
		return -1;
	}
	uint32_t mask = mpt__cols[MPT_COL_USABLE].kinds, j = 0;
	struct mpt_cur c;
	mpt__cur_init(&c, in, len);
	for (uint32_t i = 0; i < ctx->rows; i++) {
		if (!(mask & MPT_KINDBIT(ctx->kind[i]))) {
			rowv[i] = 0;
			continue;
		}
		uint64_t x;
		if (c.pos < c.len && c.p[c.pos] < 0x80) /* one-byte residual */
			x = c.p[c.pos++];
		else
			x = mpt__get_varint(&c);
		rowv[i] = usize_pred(ctx->size[i]) + (uint64_t)mpt__unzz(x);
		j++;
	}
	if (j != n) {
		*why = "value count disagrees with the kind column";
		return -1;
	}
	if (c.bad) {
		*why = "encoded data ends early or holds a bad varint";
		return -1;
	}
	if (c.pos != c.len) {
		*why = "trailing bytes after the encoded values";
		return -1;
	}
	return 0;
}

static int dec_usize(unsigned col, struct mpt_cur *c, uint64_t *v, uint32_t n,
		     const struct mpt_codec_ctx *ctx, const char **why)
{
	if (col != MPT_COL_USABLE || !ctx || !ctx->kind || !ctx->size) {
		*why = "usable-from-size encoding on another column or without the size column";
		return -1;
	}
	uint32_t mask = mpt__cols[col].kinds, j = 0;
	for (uint32_t i = 0; i < ctx->rows && !c->bad; i++) {
		if (!(mask & MPT_KINDBIT(ctx->kind[i])))
			continue;
		if (j == n)
			break;
		uint64_t x;
		if (c->pos < c->len && c->p[c->pos] < 0x80) /* one-byte residual */
			x = c->p[c->pos++];
		else
			x = mpt__get_varint(c);
		v[j++] = usize_pred(ctx->size[i]) + (uint64_t)mpt__unzz(x);
	}
	if (j != n) {
		*why = "value count disagrees with the kind column";
		return -1;
	}
	return 0;
}

/* ---- per-thread context (TIDCTX) ------------------------------------------ */

#define TIDCTX_SLOTS 1024

struct tidctx {
	uint64_t key[TIDCTX_SLOTS]; /* zigzagged tid + 1; 0 = empty */
	uint64_t last[TIDCTX_SLOTS];
	uint64_t global_last;       /* used when the table is full */
};

/* The slot of tid (created if absent), or NULL when the table is full. */
static uint64_t *tidctx_last(struct tidctx *t, uint64_t tid)
{
	uint64_t key = tid + 1;
	uint32_t h = hash64(key) & (TIDCTX_SLOTS - 1);
	for (unsigned p = 0; p < TIDCTX_SLOTS; p++) {
		if (t->key[h] == key)
			return &t->last[h];
		if (t->key[h] == 0) {
			t->key[h] = key;
			t->last[h] = 0;
			return &t->last[h];
		}
		h = (h + 1) & (TIDCTX_SLOTS - 1);
	}
	return NULL;
}

/* Row of every value of column col, in order; returns -1 on mismatch. */
static int value_rows(unsigned col, const struct mpt_codec_ctx *ctx, uint32_t n, uint32_t *rows)
{
	uint32_t mask = mpt__cols[col].kinds, j = 0;
	for (uint32_t i = 0; i < ctx->rows; i++)
		if (mask & MPT_KINDBIT(ctx->kind[i])) {
			if (j == n)
				return -1;
			rows[j++] = i;
		}
	return j == n ? 0 : -1;
}

static int enc_tidctx(unsigned col, const uint64_t *v, uint32_t n,
		      const struct mpt_codec_ctx *ctx, struct mpt_buf *out)
{
	if (!ctx || !ctx->kind || !ctx->tid || col == MPT_COL_TID)
		return -1;
	uint32_t *rows = mpt__scratch(ctx->work, MPT_SL_ROWS, sizeof *rows * n, 0);
	struct tidctx *t = mpt__scratch(ctx->work, MPT_SL_TIDCTX, sizeof *t, 1);
	int rc = -1;
	if (!rows || !t || value_rows(col, ctx, n, rows))
		goto end;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t *last = tidctx_last(t, ctx->tid[rows[i]]);
		if (!last)
			last = &t->global_last;
		mpt__put_varint(out, mpt__zz((int64_t)(v[i] - *last)));
		*last = v[i];
	}
	rc = out->oom ? -1 : 0;
end:
	return rc;
}

static int dec_tidctx(unsigned col, struct mpt_cur *c, uint64_t *v, uint32_t n,
		      const struct mpt_codec_ctx *ctx, const char **why)
{
	if (!ctx || !ctx->kind || !ctx->tid || col == MPT_COL_TID) {
		*why = "per-thread encoding without the tid column";
		return -1;
	}
	uint32_t *rows = mpt__scratch(ctx->work, MPT_SL_ROWS, sizeof *rows * n, 0);
	struct tidctx *t = mpt__scratch(ctx->work, MPT_SL_TIDCTX, sizeof *t, 1);
	int rc = -1;
	*why = "out of memory";
	if (!rows || !t)
		goto end;
	*why = "value count disagrees with the kind column";
	if (value_rows(col, ctx, n, rows))
		goto end;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t *last = tidctx_last(t, ctx->tid[rows[i]]);
		if (!last)
			last = &t->global_last;
		v[i] = *last + (uint64_t)mpt__unzz(mpt__get_varint(c));
		*last = v[i];
	}
	rc = 0;
end:
	return rc;
}

/* ---- values grouped by kind (KSPLIT) ---------------------------------------- */

static int enc_ksplit(unsigned col, const uint64_t *v, uint32_t n,
		      const struct mpt_codec_ctx *ctx, struct mpt_buf *out)
{
	if (!ctx || !ctx->kind)
		return -1;
	uint32_t *rows = mpt__scratch(ctx->work, MPT_SL_ROWS, sizeof *rows * n, 0);
	if (!rows || value_rows(col, ctx, n, rows))
		return -1;
	uint32_t kinds = 0;
	for (uint32_t i = 0; i < n; i++)
		kinds |= MPT_KINDBIT(ctx->kind[rows[i]]);
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++) {
		if (!(kinds & MPT_KINDBIT(k)))
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (ctx->kind[rows[i]] == k)
				mpt__put_varint(out, v[i]);
	}
	return out->oom ? -1 : 0;
}

/* by_row: v has ctx->rows entries and gets the value of every row (0 on
 * rows whose kind lacks the column) instead of the n values in order. */
static int dec_ksplit(unsigned col, struct mpt_cur *c, uint64_t *v, uint32_t n,
		      const struct mpt_codec_ctx *ctx, const char **why, int by_row)
{
	if (!ctx || !ctx->kind) {
		*why = "per-kind encoding without the kind column";
		return -1;
	}
	/* rows per kind (four interleaved histograms: no store-to-load chain) */
	uint32_t mask = mpt__cols[col].kinds;
	uint32_t h[4][32] = { { 0 } };
	const uint8_t *kind = ctx->kind;
	uint32_t i = 0;
	for (; i + 4 <= ctx->rows; i += 4) {
		h[0][kind[i] & 31]++;
		h[1][kind[i + 1] & 31]++;
		h[2][kind[i + 2] & 31]++;
		h[3][kind[i + 3] & 31]++;
	}
	for (; i < ctx->rows; i++)
		h[0][kind[i] & 31]++;
	/* the values of kind k come in row order after those of kinds < k */
	uint32_t start[32] = { 0 }, total = 0;
	for (unsigned k = 0; k < 32; k++) {
		uint32_t cnt = h[0][k] + h[1][k] + h[2][k] + h[3][k];
		if (k < MPA_KIND_COUNT_ && (mask & MPT_KINDBIT(k))) {
			start[k] = total;
			total += cnt;
		} else if (cnt && k >= MPA_KIND_COUNT_) {
			total = UINT32_MAX; /* invalid kind: refuse below */
			break;
		}
	}
	if (total != n) {
		*why = "value count disagrees with the kind column";
		return -1;
	}
	if (n == 0)
		return 0;
	uint64_t *tmp = mpt__scratch(ctx->work, MPT_SL_TMP, sizeof *tmp * n, 0);
	if (!tmp) {
		*why = "out of memory";
		return -1;
	}
	for (uint32_t k = 0; k < n; k++)
		tmp[k] = mpt__get_varint(c);
	if (by_row) {
		for (i = 0; i < ctx->rows; i++) {
			unsigned k = kind[i] & 31;
			uint64_t has = (mask >> k) & 1;
			v[i] = tmp[start[k]] & -has; /* start[k] is 0 for kinds without it */
			start[k] += (uint32_t)has;
		}
		return 0;
	}
	uint64_t sink;
	uint32_t j = 0;
	for (i = 0; i < ctx->rows; i++) {
		unsigned k = kind[i] & 31;
		uint32_t has = (mask >> k) & 1;
		uint64_t *dst = has ? &v[j] : &sink;
		*dst = tmp[start[k]];
		start[k] += has;
		j += has;
	}
	return 0;
}

/* ---- delta minus the smallest delta (DFOR) ---------------------------------- */

/* LEB128 v[0]; LEB128 zz(base); u8 width (1 or 2); n-1 little-endian
 * width-byte values x (escape = all ones); then LEB128 x of each escape.
 * v[i] = v[i-1] + base + x (mod 2^64). */
static int enc_dfor(const uint64_t *v, uint32_t n, struct mpt_buf *out)
{
	if (n < 2)
		return -1;
	int64_t base = INT64_MAX;
	for (uint32_t i = 1; i < n; i++) {
		int64_t d = (int64_t)(v[i] - v[i - 1]);
		if (d < base)
			base = d;
	}
	uint64_t cost[3] = { 0, 0, 0 };
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = v[i] - v[i - 1] - (uint64_t)base;
		cost[1] += x >= 0xff ? 1 + mpt__varint_len(x) : 1;
		cost[2] += x >= 0xffff ? 2 + mpt__varint_len(x) : 2;
	}
	unsigned w = cost[1] <= cost[2] ? 1 : 2;
	uint64_t esc = w == 1 ? 0xff : 0xffff;
	mpt__put_varint(out, v[0]);
	mpt__put_varint(out, mpt__zz(base));
	mpt__put_u8(out, (uint8_t)w);
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = v[i] - v[i - 1] - (uint64_t)base;
		if (x > esc)
			x = esc;
		mpt__put_u8(out, (uint8_t)x);
		if (w == 2)
			mpt__put_u8(out, (uint8_t)(x >> 8));
	}
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = v[i] - v[i - 1] - (uint64_t)base;
		if (x >= esc)
			mpt__put_varint(out, x);
	}
	return out->oom ? -1 : 0;
}

static int dec_dfor(struct mpt_cur *c, uint64_t *v, uint32_t n, const char **why)
{
	if (n < 2) {
		*why = "delta-for encoding of fewer than 2 values";
		return -1;
	}
	v[0] = mpt__get_varint(c);
	uint64_t base = (uint64_t)mpt__unzz(mpt__get_varint(c));
	uint8_t w = mpt__get_u8(c);
	if (c->bad || (w != 1 && w != 2)) {
		*why = "delta-for: bad width";
		return -1;
	}
	const uint8_t *fx = mpt__get_bytes(c, (size_t)(n - 1) * w);
	if (!fx) {
		*why = "delta-for: values overrun the column";
		return -1;
	}
	uint64_t esc = w == 1 ? 0xff : 0xffff;
	uint64_t prev = v[0]; /* in a register: no store-to-load chain through v */
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = w == 1 ? fx[i - 1] : mpt__rd16(fx + 2 * (size_t)(i - 1));
		if (__builtin_expect(x == esc, 0)) {
			x = mpt__get_varint(c);
			if (x < esc) {
				*why = "delta-for: escape holds a small value";
				return -1;
			}
		}
		prev += base + x;
		v[i] = prev;
	}
	return 0;
}

static int enc_plain(unsigned col, const uint64_t *v, uint32_t n, struct mpt_buf *out)
{
	unsigned w = mpt__cols[col].width;
	if (mpt__buf_reserve(out, (size_t)n * w))
		return -1;
	uint8_t *p = out->p + out->len;
	for (uint32_t i = 0; i < n; i++)
		for (unsigned b = 0; b < w; b++)
			*p++ = (uint8_t)(v[i] >> (8 * b));
	out->len += (size_t)n * w;
	return 0;
}

struct dict_ent {
	uint64_t value;
	uint32_t count;
	uint32_t first; /* first row: ties keep first-seen order */
	uint32_t id;    /* insertion id in the hash map */
};

static int dict_cmp(const void *a, const void *b)
{
	const struct dict_ent *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Dictionary sorted by descending frequency, so frequent values get the
 * small (one-byte) indices. */
static int enc_dict(const uint64_t *v, uint32_t n, struct mpt_buf *out, struct mpt_work *w)
{
	struct u64map m;
	int rc = -1, ins;
	struct dict_ent *ents = NULL;
	uint32_t *rank = NULL, *ids = NULL;
	if (n == 0 || u64map_init(&m, n, w))
		return -1;
	ents = mpt__scratch(w, MPT_SL_DENTS, sizeof *ents * n, 0);
	ids = mpt__scratch(w, MPT_SL_DIDS, sizeof *ids * n, 0);
	if (!ents || !ids)
		goto end;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t *slot = u64map_get(&m, v[i], m.count, &ins);
		uint32_t id = *slot - 1;
		if (ins)
			ents[id] = (struct dict_ent){ v[i], 0, i, id };
		ents[id].count++;
		ids[i] = id;
	}
	uint32_t k = m.count;
	rank = mpt__scratch(w, MPT_SL_DRANK, sizeof *rank * k, 0);
	if (!rank)
		goto end;
	qsort(ents, k, sizeof *ents, dict_cmp);
	for (uint32_t i = 0; i < k; i++)
		rank[ents[i].id] = i;
	mpt__put_varint(out, k);
	for (uint32_t i = 0; i < k; i++)
		mpt__put_varint(out, ents[i].value);
	for (uint32_t i = 0; i < n; i++)
		mpt__put_varint(out, rank[ids[i]]);
	rc = out->oom ? -1 : 0;
end:
	return rc;
}

int mpt__encode(unsigned col, unsigned enc, const uint64_t *v, uint32_t n,
		const struct mpt_codec_ctx *ctx, struct mpt_buf *out)
{
	uint64_t prev = 0, pd = 0;
	if (mpt__buf_reserve(out, (size_t)n * 10 + 16))
		return -1;
	switch (enc) {
	case MPT_ENC_PLAIN:
		return enc_plain(col, v, n, out);
	case MPT_ENC_VARINT:
		for (uint32_t i = 0; i < n; i++)
			mpt__put_varint(out, v[i]);
		break;
	case MPT_ENC_DELTA:
		for (uint32_t i = 0; i < n; i++) {
			mpt__put_varint(out, mpt__zz((int64_t)(v[i] - prev)));
			prev = v[i];
		}
		break;
	case MPT_ENC_DELTA2:
		for (uint32_t i = 0; i < n; i++) {
			uint64_t d = v[i] - prev;
			mpt__put_varint(out, mpt__zz((int64_t)(d - pd)));
			pd = d;
			prev = v[i];
		}
		break;
	case MPT_ENC_CONST:
		for (uint32_t i = 1; i < n; i++)
			if (v[i] != v[0])
				return -1;
		if (n == 0)
			return -1;
		mpt__put_varint(out, v[0]);
		break;
	case MPT_ENC_RLE:
		for (uint32_t i = 0; i < n;) {
			uint32_t j = i + 1;
			while (j < n && v[j] == v[i])
				j++;
			mpt__put_varint(out, v[i]);
			mpt__put_varint(out, j - i);
			i = j;
		}
		break;
	case MPT_ENC_DICT:
		return enc_dict(v, n, out, ctx ? ctx->work : NULL);
	case MPT_ENC_KSPLIT:
		return enc_ksplit(col, v, n, ctx, out);
	case MPT_ENC_TIDCTX:
		return enc_tidctx(col, v, n, ctx, out);
	case MPT_ENC_DFOR:
		return enc_dfor(v, n, out);
	case MPT_ENC_USIZE:
		return enc_usize(col, v, n, ctx, out);
#if MPT_PTR_MODEL
	case MPT_ENC_PTR:
		if (col != MPT_COL_PTR || !ctx)
			return -1;
		return mpt__ptr_encode(v, n, ctx, out);
	case MPT_ENC_PTR2:
		if (col != MPT_COL_PTR || !ctx)
			return -1;
		return mpt__ptr2_encode(v, n, ctx, out);
#endif
	default:
		return -1;
	}
	return out->oom ? -1 : 0;
}

unsigned mpt__enc_candidates(unsigned col, const uint64_t *v, uint32_t n, unsigned *out)
{
	unsigned k = 0;
	int all_same = n > 0, sorted = 1;
	uint32_t runs = n ? 1 : 0;
	for (uint32_t i = 1; i < n; i++) {
		if (v[i] != v[i - 1]) {
			all_same = 0;
			runs++;
		}
		if (v[i] < v[i - 1])
			sorted = 0;
	}
	if (all_same) {
		out[k++] = MPT_ENC_CONST;
		return k;
	}
	if (col == MPT_COL_TS || col == MPT_COL_END_TS) {
		out[k++] = MPT_ENC_DFOR;
		out[k++] = MPT_ENC_DELTA;
		out[k++] = MPT_ENC_DELTA2;
		if (!sorted)
			out[k++] = MPT_ENC_VARINT;
		return k;
	}
#if MPT_PTR_MODEL
	if (col == MPT_COL_PTR) {
		/* the model nearly always wins; keep one generic fallback */
		out[k++] = MPT_ENC_PTR2; /* dropped by writers of older formats */
		out[k++] = MPT_ENC_PTR;
		out[k++] = MPT_ENC_DELTA;
		return k;
	}
#endif
	if (col == MPT_COL_USABLE)
		out[k++] = MPT_ENC_USIZE; /* dropped by writers of older formats */
	if (runs * 4 <= n)
		out[k++] = MPT_ENC_RLE;
	if (col == MPT_COL_CPU)
		out[k++] = MPT_ENC_TIDCTX;
	if (col != MPT_COL_KIND && !(mpt__cols[col].kinds == MPT_COLS_ALL_KINDS))
		out[k++] = MPT_ENC_KSPLIT;
	out[k++] = MPT_ENC_DICT;
	if (mpt__cols[col].width == 8) {
		out[k++] = MPT_ENC_DELTA;
		out[k++] = MPT_ENC_VARINT;
	} else {
		out[k++] = MPT_ENC_PLAIN;
		out[k++] = MPT_ENC_VARINT;
	}
	return k;
}

/* ---- decoders ------------------------------------------------------------ */

int mpt__decode(unsigned col, unsigned enc, const uint8_t *in, size_t len, uint64_t *v,
		uint32_t n, const struct mpt_codec_ctx *ctx, const char **why)
{
	struct mpt_cur c;
	uint64_t prev = 0, pd = 0;
	mpt__cur_init(&c, in, len);
	*why = "malformed encoded data";
	switch (enc) {
	case MPT_ENC_PLAIN: {
		unsigned w = mpt__cols[col].width;
		if (len != (size_t)n * w) {
			*why = "plain column has the wrong length";
			return -1;
		}
		if (w == 1) { /* the common case (kind, domain): a widening copy */
			for (uint32_t i = 0; i < n; i++)
				v[i] = in[i];
			return 0;
		}
		if (w == 2) {
			for (uint32_t i = 0; i < n; i++)
				v[i] = mpt__rd16(in + 2 * (size_t)i);
			return 0;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t x = 0;
			for (unsigned b = 0; b < w; b++)
				x |= (uint64_t)in[(size_t)i * w + b] << (8 * b);
			v[i] = x;
		}
		return 0;
	}
	case MPT_ENC_VARINT:
		for (uint32_t i = 0; i < n; i++)
			v[i] = mpt__get_varint(&c);
		break;
	case MPT_ENC_DELTA:
		for (uint32_t i = 0; i < n; i++) {
			prev += (uint64_t)mpt__unzz(mpt__get_varint(&c));
			v[i] = prev;
		}
		break;
	case MPT_ENC_DELTA2:
		for (uint32_t i = 0; i < n; i++) {
			pd += (uint64_t)mpt__unzz(mpt__get_varint(&c));
			prev += pd;
			v[i] = prev;
		}
		break;
	case MPT_ENC_CONST: {
		uint64_t x = mpt__get_varint(&c);
		for (uint32_t i = 0; i < n; i++)
			v[i] = x;
		break;
	}
	case MPT_ENC_RLE:
		for (uint32_t i = 0; i < n && !c.bad;) {
			uint64_t x = mpt__get_varint(&c);
			uint64_t run = mpt__get_varint(&c);
			if (c.bad)
				break;
			if (run == 0 || run > n - i) {
				*why = "run length out of range";
				return -1;
			}
			for (uint64_t j = 0; j < run; j++)
				v[i++] = x;
		}
		break;
	case MPT_ENC_KSPLIT:
		if (dec_ksplit(col, &c, v, n, ctx, why, 0))
			return -1;
		break;
	case MPT_ENC_TIDCTX:
		if (dec_tidctx(col, &c, v, n, ctx, why))
			return -1;
		break;
	case MPT_ENC_DFOR:
		if (dec_dfor(&c, v, n, why))
			return -1;
		break;
	case MPT_ENC_USIZE:
		if (dec_usize(col, &c, v, n, ctx, why))
			return -1;
		break;
	case MPT_ENC_DICT: {
		uint64_t k = mpt__get_varint(&c);
		if (c.bad || k == 0 || k > n || k > mpt__cur_left(&c)) {
			*why = "dictionary size out of range";
			return -1;
		}
		uint64_t *dict = mpt__scratch(ctx ? ctx->work : NULL, MPT_SL_DICT, sizeof *dict * k, 0);
		if (!dict) {
			*why = "out of memory";
			return -1;
		}
		for (uint64_t i = 0; i < k; i++)
			dict[i] = mpt__get_varint(&c);
		for (uint32_t i = 0; i < n && !c.bad; i++) {
			uint64_t ix;
			if (c.pos < c.len && c.p[c.pos] < 0x80) /* one-byte index */
				ix = c.p[c.pos++];
			else
				ix = mpt__get_varint(&c);
			if (ix >= k) {
				*why = "dictionary index out of range";
				return -1;
			}
			v[i] = dict[ix];
		}
		break;
	}
#if MPT_PTR_MODEL
	case MPT_ENC_PTR:
		if (col != MPT_COL_PTR || !ctx) {
			*why = "address-model encoding on a column other than ptr";
			return -1;
		}
		return mpt__ptr_decode(in, len, v, n, ctx, why);
	case MPT_ENC_PTR2:
		if (col != MPT_COL_PTR || !ctx) {
			*why = "address-model encoding on a column other than ptr";
			return -1;
		}
		return mpt__ptr2_decode(in, len, v, n, ctx, why);
#endif
	default:
		*why = "unknown encoding";
		return -1;
	}
	if (c.bad) {
		*why = "encoded data ends early or holds a bad varint";
		return -1;
	}
	if (c.pos != c.len) {
		*why = "trailing bytes after the encoded values";
		return -1;
	}
	return 0;
}

int mpt__decode_ksplit_rows(unsigned col, const uint8_t *in, size_t len, uint64_t *rowv,
			    uint32_t n, const struct mpt_codec_ctx *ctx, const char **why)
{
	struct mpt_cur c;
	mpt__cur_init(&c, in, len);
	if (dec_ksplit(col, &c, rowv, n, ctx, why, 1))
		return -1;
	if (c.bad) {
		*why = "encoded data ends early or holds a bad varint";
		return -1;
	}
	if (c.pos != c.len) {
		*why = "trailing bytes after the encoded values";
		return -1;
	}
	return 0;
}
