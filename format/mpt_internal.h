/* libmpt internals shared by the writer, the reader and the codecs.
 * Nothing here is public API; every external name is prefixed mpt__ and
 * hidden from the shared library's symbol table.
 *
 * Dependency order inside format/: mpt_names.c and mpt_buf.c depend on
 * nothing; mpt_codec.c on mpt_buf.c; mpt_tables.c on mpt_buf.c;
 * mpt_writer.c and mpt_reader.c on all of them.  libc, zstd and xxhash only.
 */
#ifndef MPT_INTERNAL_H
#define MPT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mpa/mpt.h"

#define MPT_HIDDEN __attribute__((visibility("hidden")))

/* ---- on-disk constants (doc/format.md) ---------------------------------- */

#define MPT_FILE_MAGIC "\x89MPT\r\n\x1a\n" /* 8 bytes, header and trailer */
#define MPT_HEADER_SIZE 16
#define MPT_TRAILER_SIZE 48
#define MPT_CHUNK_MAGIC 0x4354504Du  /* "MPTC" little-endian */
#define MPT_FOOTER_MAGIC 0x4654504Du /* "MPTF" */
#define MPT_CHUNK_FIXED 40           /* chunk header bytes before descriptors */
#define MPT_COLDESC_SIZE 32          /* column descriptor size written by v1.0 */
#define MPT_CHUNK_ENTRY_SIZE 48      /* footer chunk entry size written by v1.0 */
#define MPT_TABLE_ENTRY_SIZE 40      /* footer table entry size written by v1.0 */
#define MPT_FOOTER_FIXED 24

/* Hard limits a reader enforces before allocating anything. */
#define MPT_MAX_CHUNK_ROWS (1u << 18)   /* rows in one chunk */
#define MPT_MAX_COLS_ON_DISK 64         /* column ids 0..63 (unknown ones skipped) */
#define MPT_MAX_TABLE_RAW (1ull << 31)  /* decoded bytes of one table */
#define MPT_TABLE_MAX_RATIO 1024ull     /* raw_len <= stored_len * ratio + 4096 */
#define MPT_MAX_STRING_LEN (1u << 24)

/* Table types. */
enum mpt_table_type {
	MPT_TAB_STRINGS = 1,
	MPT_TAB_FRAMES = 2,
	MPT_TAB_STACKS = 3,
	MPT_TAB_BINARIES = 4,
	MPT_TAB_TOPOLOGY = 5,
	MPT_TAB_META = 6,
};

/* Column encodings (byte-exact definitions in doc/format.md). */
enum mpt_encoding {
	MPT_ENC_PLAIN = 0,   /* natural width, little-endian */
	MPT_ENC_VARINT = 1,  /* LEB128 */
	MPT_ENC_DELTA = 2,   /* zigzag(v[i]-v[i-1]) LEB128, v[-1] = 0 */
	MPT_ENC_CONST = 3,   /* one LEB128 value repeated */
	MPT_ENC_RLE = 4,     /* (value, run) LEB128 pairs */
	MPT_ENC_DICT = 5,    /* dictionary + bit-packed indices */
	MPT_ENC_DELTA2 = 6,  /* delta of deltas */
	MPT_ENC_PTR = 7,     /* allocator address model (ptr column) */
	MPT_ENC_KSPLIT = 8,  /* values grouped by row kind, LEB128 */
	MPT_ENC_TIDCTX = 9,  /* zigzag(v - last value of the same tid) LEB128 */
	MPT_ENC_DFOR = 10,   /* delta minus the chunk's smallest delta, 1 or 2 bytes */
	MPT_ENC_USIZE = 11,  /* usable: zigzag(v - glibc usable size of size) (format 4.0) */
	MPT_ENC_PTR2 = 12,   /* PTR plus a ring of freed addresses (format 4.0) */
	MPT_ENC_COUNT_
};

/* ---- growable byte buffer and bounded cursor ---------------------------- */

struct mpt_buf {
	uint8_t *p;  /* (owned by this) */
	size_t len, cap;
	int oom;     /* sticky: an append failed */
};

MPT_HIDDEN int mpt__buf_grow(struct mpt_buf *b, size_t add);
/* Makes room for add more bytes; -1 (and oom set) on failure. */
static inline int mpt__buf_reserve(struct mpt_buf *b, size_t add)
{
	if (!b->oom && add <= b->cap - b->len)
		return 0;
	return mpt__buf_grow(b, add);
}
MPT_HIDDEN void mpt__buf_free(struct mpt_buf *b);

static inline void mpt__put_bytes(struct mpt_buf *b, const void *s, size_t n)
{
	if (n == 0 || mpt__buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}
static inline void mpt__put_u8(struct mpt_buf *b, uint8_t v)
{
	if (mpt__buf_reserve(b, 1))
		return;
	b->p[b->len++] = v;
}
static inline void mpt__le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void mpt__le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void mpt__le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t mpt__rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t mpt__rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t mpt__rd64(const uint8_t *p)
{
	return (uint64_t)mpt__rd32(p) | ((uint64_t)mpt__rd32(p + 4) << 32);
}
static inline void mpt__put_u16(struct mpt_buf *b, uint16_t v)
{
	uint8_t t[2];
	mpt__le16(t, v);
	mpt__put_bytes(b, t, 2);
}
static inline void mpt__put_u32(struct mpt_buf *b, uint32_t v)
{
	uint8_t t[4];
	mpt__le32(t, v);
	mpt__put_bytes(b, t, 4);
}
static inline void mpt__put_u64(struct mpt_buf *b, uint64_t v)
{
	uint8_t t[8];
	mpt__le64(t, v);
	mpt__put_bytes(b, t, 8);
}
static inline void mpt__put_varint(struct mpt_buf *b, uint64_t v)
{
	if (mpt__buf_reserve(b, 10))
		return;
	uint8_t *p = b->p + b->len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->len = (size_t)(p - b->p);
}
static inline uint64_t mpt__zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t mpt__unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
static inline unsigned mpt__varint_len(uint64_t v)
{
	unsigned n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Reading side: every get checks bounds; a failed get sets bad and returns 0. */
struct mpt_cur {
	const uint8_t *p; /* (weak) */
	size_t len, pos;
	int bad;
};

static inline void mpt__cur_init(struct mpt_cur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->pos = 0;
	c->bad = 0;
}
static inline size_t mpt__cur_left(const struct mpt_cur *c)
{
	return c->len - c->pos;
}
static inline const uint8_t *mpt__get_bytes(struct mpt_cur *c, size_t n)
{
	if (c->bad || n > c->len - c->pos) {
		c->bad = 1;
		return NULL;
	}
	const uint8_t *r = c->p + c->pos;
	c->pos += n;
	return r;
}
static inline uint8_t mpt__get_u8(struct mpt_cur *c)
{
	const uint8_t *p = mpt__get_bytes(c, 1);
	return p ? p[0] : 0;
}
static inline uint16_t mpt__get_u16(struct mpt_cur *c)
{
	const uint8_t *p = mpt__get_bytes(c, 2);
	return p ? mpt__rd16(p) : 0;
}
static inline uint32_t mpt__get_u32(struct mpt_cur *c)
{
	const uint8_t *p = mpt__get_bytes(c, 4);
	return p ? mpt__rd32(p) : 0;
}
static inline uint64_t mpt__get_u64(struct mpt_cur *c)
{
	const uint8_t *p = mpt__get_bytes(c, 8);
	return p ? mpt__rd64(p) : 0;
}
/* LEB128, at most 10 bytes, the 10th at most 1 (no overflow, no overlong
 * encodings beyond 64 bits). */
static inline uint64_t mpt__get_varint(struct mpt_cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	if (c->bad)
		return 0;
	if (c->len - c->pos >= 10) {
		/* fast path: the longest varint fits, no per-byte bounds check */
		const uint8_t *p = c->p + c->pos;
		if (p[0] < 0x80) {
			c->pos++;
			return p[0];
		}
		if (p[1] < 0x80) {
			c->pos += 2;
			return (p[0] & 0x7fu) | ((uint64_t)p[1] << 7);
		}
	}
	while (c->pos < c->len) {
		uint8_t b = c->p[c->pos++];
		if (shift == 63 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
		if (shift > 63)
			break;
	}
	c->bad = 1;
	return 0;
}

/* ---- columns ------------------------------------------------------------ */

/* Every valid kind (bits 1..MPA_KIND_COUNT_-1). */
#define MPT_COLS_ALL_KINDS (((UINT32_C(1) << MPA_KIND_COUNT_) - 1) & ~UINT32_C(1))

/* The kinds a file of a given major version may hold: proc_fork (and with
 * it the ppid column) exists from format 2.0 on, leak_scan from 3.0 on. */
static inline uint32_t mpt__kinds_of_major(unsigned major)
{
	return major >= 3   ? MPT_COLS_ALL_KINDS
	       : major == 2 ? MPT_COLS_ALL_KINDS & ~MPT_KINDBIT(MPA_KIND_LEAK_SCAN)
			    : MPT_COLS_ALL_KINDS & ~MPT_KINDBIT(MPA_KIND_PROC_FORK) &
				      ~MPT_KINDBIT(MPA_KIND_LEAK_SCAN);
}

struct mpt_coldef {
	const char *name;
	uint8_t width;      /* natural width in bytes: 1, 2, 4, 8 */
	uint8_t is_signed;  /* int32 columns: stored zigzagged */
	uint32_t kinds;     /* MPT_KINDBIT mask of the kinds carrying it */
	size_t ev_off;      /* offsetof(struct mpa_event, field) */
	size_t batch_off;   /* offsetof(struct mpt_batch, field pointer) */
};

MPT_HIDDEN extern const struct mpt_coldef mpt__cols[MPT_COL_COUNT_];

/* The columns of each kind, in column order. */
struct mpt_kindcols {
	uint8_t n;
	uint8_t col[MPT_COL_COUNT_];
};
MPT_HIDDEN extern const struct mpt_kindcols mpt__kind_cols[MPA_KIND_COUNT_];

/* Column value of an event as the codec sees it (u64; signed zigzagged). */
MPT_HIDDEN uint64_t mpt__ev_get(const struct mpa_event *ev, unsigned col);

/* ---- codecs (mpt_codec.c) ------------------------------------------------ */

/* Context a codec may use: the kind of every row and, for the address
 * model, the values of other columns of the same rows (already decoded).
 * Arrays have `rows` entries (0 for rows without the field). */
/* Reusable scratch memory of a reader or writer: codecs take their
 * temporary arrays from numbered slots instead of malloc/free per chunk. */
enum mpt_slot {
	MPT_SL_ROWS, MPT_SL_TMP, MPT_SL_TIDCTX, MPT_SL_TC, MPT_SL_ADDR, MPT_SL_SIZE,
	MPT_SL_FEN, MPT_SL_MAP, MPT_SL_VS, MPT_SL_DKEYS, MPT_SL_DVALS, MPT_SL_DENTS,
	MPT_SL_DIDS, MPT_SL_DRANK, MPT_SL_DICT, MPT_SL_FCODES, MPT_SL_COUNT_
};
struct mpt_ptr_state; /* the address model's tables (mpt_ptr.c) */
struct mpt_work {
	struct mpt_buf slot[MPT_SL_COUNT_];
	struct mpt_ptr_state *ptr; /* (owned by this) kept across chunks */
};
MPT_HIDDEN void mpt__ptr_state_free(struct mpt_ptr_state *s);
MPT_HIDDEN void mpt__work_free(struct mpt_work *w);
/* At least bytes of slot (zeroed when zero); NULL when w is NULL or on OOM.
 * Valid until the slot is asked for again. */
MPT_HIDDEN void *mpt__scratch(struct mpt_work *w, unsigned slot, size_t bytes, int zero);

struct mpt_codec_ctx {
	struct mpt_work *work;   /* (weak) scratch memory, required */
	uint32_t rows;
	const uint8_t *kind;     /* (weak) [rows] */
	const uint64_t *tid;     /* (weak) [rows] zigzagged tid, or NULL */
	const uint64_t *size;    /* (weak) [rows], or NULL */
	const uint64_t *new_ptr; /* (weak) [rows], or NULL */
};

/* Columns other encodings may depend on, in decoding order (after kind). */
#define MPT_NCTX 3
MPT_HIDDEN extern const unsigned mpt__ctx_cols[MPT_NCTX];

/* Columns (bitmask) an encoding of column col needs decoded first. */
MPT_HIDDEN uint64_t mpt__enc_deps(unsigned col, unsigned enc);

/* Encodes n values of column col with encoding enc into out (appends).
 * Returns 0, or -1 if enc does not apply / out of memory. */
MPT_HIDDEN int mpt__encode(unsigned col, unsigned enc, const uint64_t *v, uint32_t n,
			   const struct mpt_codec_ctx *ctx, struct mpt_buf *out);
/* Decodes exactly n values; returns 0 or -1 (malformed: message in why). */
MPT_HIDDEN int mpt__decode(unsigned col, unsigned enc, const uint8_t *in, size_t len,
			   uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
			   const char **why);
/* KSPLIT decoded by row: rowv[ctx->rows] gets every row's value, 0 on rows
 * whose kind lacks the column (same checks as mpt__decode). */
MPT_HIDDEN int mpt__decode_ksplit_rows(unsigned col, const uint8_t *in, size_t len,
				       uint64_t *rowv, uint32_t n,
				       const struct mpt_codec_ctx *ctx, const char **why);
/* USIZE (usable column) decoded by row, as mpt__decode_ksplit_rows. */
MPT_HIDDEN int mpt__decode_usize_rows(const uint8_t *in, size_t len, uint64_t *rowv, uint32_t n,
				      const struct mpt_codec_ctx *ctx, const char **why);
#ifndef MPT_PTR_MODEL
#define MPT_PTR_MODEL 1
#endif
/* The allocator address model of the ptr column (mpt_ptr.c). */
MPT_HIDDEN int mpt__ptr_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
			       struct mpt_buf *out);
MPT_HIDDEN int mpt__ptr_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
			       const struct mpt_codec_ctx *ctx, const char **why);
/* The same with PTR2's ring of freed addresses (encoding 12, format 4.0). */
MPT_HIDDEN int mpt__ptr2_encode(const uint64_t *v, uint32_t n, const struct mpt_codec_ctx *ctx,
				struct mpt_buf *out);
MPT_HIDDEN int mpt__ptr2_decode(const uint8_t *in, size_t len, uint64_t *v, uint32_t n,
				const struct mpt_codec_ctx *ctx, const char **why);
/* Upper bound of the encoded size of n values (any encoding). */
MPT_HIDDEN uint64_t mpt__enc_bound(uint32_t n);
#define MPT_MAX_CANDIDATES 8
/* Candidate encodings for a column (at most MPT_MAX_CANDIDATES), in
 * preference order; returns the count. */
MPT_HIDDEN unsigned mpt__enc_candidates(unsigned col, const uint64_t *v, uint32_t n,
					unsigned *out);

/* The format major an encoding needs: 4 for USIZE, else 1. */
static inline unsigned mpt__enc_major(unsigned enc)
{
	return enc == MPT_ENC_USIZE || enc == MPT_ENC_PTR2 ? 4 : 1;
}

/* ---- errors -------------------------------------------------------------- */

MPT_HIDDEN enum mpt_status mpt__err(struct mpt_error *err, enum mpt_status code,
				    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- checksum ------------------------------------------------------------ */

MPT_HIDDEN uint64_t mpt__hash(const void *p, size_t n);

/* ---- reader helpers (mpt_util.c) ------------------------------------------ */

/* *p grows to at least need bytes (*cap updated); -1 when out of memory. */
MPT_HIDDEN int mpt__grow(void **p, size_t *cap, size_t need);
struct ZSTD_DCtx_s;
/* One zstd frame of exactly stored bytes into exactly raw bytes: NULL, or
 * the reason it is refused. */
MPT_HIDDEN const char *mpt__unzstd(struct ZSTD_DCtx_s *dctx, const uint8_t *in, size_t stored,
				   uint8_t *out, size_t raw);
/* arr[i] = arr[keep[i]] for i < n, keep increasing; width 1, 2, 4 or 8. */
MPT_HIDDEN void mpt__gather(void *arr, unsigned width, const uint32_t *keep, uint32_t n);

#endif
