/* libmpt: every column encoding on its own — round trips over value
 * patterns that favour each one, and decoders fed damaged input (never a
 * crash, never an out-of-bounds access). Uses the library's internals. */
#include "mpt_test_util.h"

#include "../../format/mpt_internal.h"

#define N 5000

struct pattern {
	const char *name;
	unsigned col;
};

/* Fills v (n values of column col for rows ctx->kind) with pattern p. */
static void fill(unsigned p, unsigned col, uint64_t *v, uint32_t n, uint64_t *s)
{
	unsigned w = mpt__cols[col].width;
	uint64_t lim = w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * w)) - 1;
	uint64_t x = tu_rand(s) & lim;
	for (uint32_t i = 0; i < n; i++) {
		switch (p) {
		case 0: v[i] = x; break;                                 /* constant */
		case 1: v[i] = (i / 37) & lim; break;                    /* runs */
		case 2: v[i] = (tu_rand(s) % 5 * 977) & lim; break;      /* few values */
		case 3: x += 100 + tu_rand(s) % 200; v[i] = x & lim; break; /* ts-like */
		case 4: x += tu_rand(s) % 3 ? 150 : 100000; v[i] = x & lim; break; /* escapes */
		case 5: v[i] = tu_rand(s) & lim; break;                  /* noise */
		case 6: v[i] = (i % 2 ? 0 : lim); break;                 /* extremes */
		default: x -= tu_rand(s) % 1000; v[i] = x & lim; break;  /* decreasing */
		}
	}
}

/* A chunk's context: kinds, tids, sizes, new_ptrs for `rows` rows. */
struct ctxbuf {
	uint8_t kind[N];
	uint64_t tid[N], size[N], new_ptr[N];
	struct mpt_codec_ctx ctx;
};

static void make_ctx(struct ctxbuf *c, uint64_t *s, unsigned nthreads)
{
	for (uint32_t i = 0; i < N; i++) {
		c->kind[i] = (uint8_t)(1 + tu_rand(s) % (MPA_KIND_COUNT_ - 1));
		if (i % 3)
			c->kind[i] = (uint8_t)(1 + i % 3); /* many alloc/free/realloc */
		c->tid[i] = mpt__zz((int32_t)(tu_rand(s) % nthreads));
		c->size[i] = (mpt__cols[MPT_COL_SIZE].kinds & MPT_KINDBIT(c->kind[i])) ?
				     tu_rand(s) % 300 : 0;
		c->new_ptr[i] = c->kind[i] == MPA_KIND_REALLOC ? tu_rand(s) % 4 * 0x1000 : 0;
	}
	static struct mpt_work work;
	c->ctx = (struct mpt_codec_ctx){ &work, N, c->kind, c->tid, c->size, c->new_ptr };
}

static uint32_t gather_count(unsigned col, const struct ctxbuf *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < N; i++)
		if (mpt__cols[col].kinds & MPT_KINDBIT(c->kind[i]))
			n++;
	return n;
}

Test(mpt_codec, every_encoding_round_trips)
{
	static struct ctxbuf c;
	uint64_t s = 11;
	static uint64_t v[N], back[N];
	unsigned tested[MPT_ENC_COUNT_] = { 0 };
	for (unsigned nthreads = 1; nthreads <= 2000; nthreads *= 45) {
		make_ctx(&c, &s, nthreads);
		for (unsigned col = 0; col < MPT_COL_COUNT_; col++) {
			uint32_t n = gather_count(col, &c);
			if (col == MPT_COL_KIND) {
				continue; /* the kind column is the context itself */
			}
			for (unsigned p = 0; p < 8; p++) {
				fill(p, col, v, n, &s);
				for (unsigned enc = 0; enc < MPT_ENC_COUNT_; enc++) {
					struct mpt_buf out = { 0 };
					if (mpt__encode(col, enc, v, n, &c.ctx, &out)) {
						mpt__buf_free(&out);
						continue;
					}
					cr_assert_leq(out.len, mpt__enc_bound(n), "col %u enc %u", col, enc);
					const char *why = NULL;
					memset(back, 0xa5, sizeof back);
					int rc = mpt__decode(col, enc, out.p, out.len, back, n, &c.ctx, &why);
					cr_assert_eq(rc, 0, "col %s enc %u pattern %u: %s",
						     mpt__cols[col].name, enc, p, why);
					cr_assert_eq(memcmp(v, back, sizeof *v * n), 0,
						     "col %s enc %u pattern %u differs",
						     mpt__cols[col].name, enc, p);
					tested[enc]++;
					/* damaged: truncated and bit-flipped inputs */
					for (unsigned k = 0; k < 6 && out.len; k++) {
						size_t cut = (size_t)(tu_rand(&s) % out.len);
						mpt__decode(col, enc, out.p, cut, back, n, &c.ctx, &why);
						uint8_t *d = malloc(out.len);
						memcpy(d, out.p, out.len);
						d[tu_rand(&s) % out.len] ^= (uint8_t)(1u << (k % 8));
						mpt__decode(col, enc, d, out.len, back, n, &c.ctx, &why);
						free(d);
					}
					mpt__buf_free(&out);
				}
			}
		}
	}
	for (unsigned enc = 0; enc < MPT_ENC_COUNT_; enc++)
		cr_assert_gt(tested[enc], 0, "encoding %u never exercised", enc);
}

Test(mpt_codec, candidates_always_include_a_working_encoding)
{
	static struct ctxbuf c;
	uint64_t s = 5;
	static uint64_t v[N];
	make_ctx(&c, &s, 3);
	for (unsigned col = 1; col < MPT_COL_COUNT_; col++) {
		uint32_t n = gather_count(col, &c);
		for (unsigned p = 0; p < 8; p++) {
			fill(p, col, v, n, &s);
			unsigned cand[MPT_MAX_CANDIDATES];
			unsigned k = mpt__enc_candidates(col, v, n, cand);
			cr_assert_gt(k, 0);
			cr_assert_leq(k, MPT_MAX_CANDIDATES);
			int ok = 0;
			for (unsigned i = 0; i < k; i++) {
				struct mpt_buf out = { 0 };
				ok |= mpt__encode(col, cand[i], v, n, &c.ctx, &out) == 0;
				mpt__buf_free(&out);
			}
			cr_assert(ok, "column %s pattern %u: no candidate applies", mpt__cols[col].name, p);
		}
	}
}

Test(mpt_codec, varint_limits)
{
	struct mpt_cur c;
	const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	mpt__cur_init(&c, max, sizeof max);
	cr_assert_eq(mpt__get_varint(&c), UINT64_MAX);
	cr_assert(!c.bad);
	const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	mpt__cur_init(&c, over, sizeof over);
	mpt__get_varint(&c);
	cr_assert(c.bad);
	const uint8_t longer[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0 };
	mpt__cur_init(&c, longer, sizeof longer);
	mpt__get_varint(&c);
	cr_assert(c.bad);
	const uint8_t cut[] = { 0x80 };
	mpt__cur_init(&c, cut, sizeof cut);
	mpt__get_varint(&c);
	cr_assert(c.bad);
	for (int64_t x = -5; x <= 5; x++)
		cr_assert_eq(mpt__unzz(mpt__zz(x)), x);
	cr_assert_eq(mpt__unzz(mpt__zz(INT64_MIN)), INT64_MIN);
	cr_assert_eq(mpt__unzz(mpt__zz(INT64_MAX)), INT64_MAX);
}

Test(mpt_codec, kind_column_tables_agree)
{
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++) {
		uint64_t m = 0;
		const struct mpt_kindcols *kc = &mpt__kind_cols[k];
		for (unsigned i = 0; i < kc->n; i++) {
			if (i)
				cr_assert_lt(kc->col[i - 1], kc->col[i]);
			m |= MPT_COLBIT(kc->col[i]);
		}
		cr_assert_eq(m, mpt_kind_columns(k), "kind %s", mpa_kind_name(k));
		cr_assert_eq(m & MPT_COLS_COMMON, MPT_COLS_COMMON);
	}
}

/* Random bytes fed to every decoder of every column: never a crash or an
 * out-of-bounds access (ASan), and whatever decodes must re-encode and
 * decode to the same values. */
Test(mpt_codec, garbage_into_every_decoder)
{
	static struct ctxbuf c;
	static uint64_t v[N], v2[N];
	static uint8_t junk[4096];
	uint64_t s = 2024;
	make_ctx(&c, &s, 4);
	unsigned decoded = 0;
	for (unsigned iter = 0; iter < 3000; iter++) {
		unsigned col = 1 + (unsigned)(tu_rand(&s) % (MPT_COL_COUNT_ - 1));
		unsigned enc = (unsigned)(tu_rand(&s) % MPT_ENC_COUNT_);
		uint32_t n = gather_count(col, &c);
		size_t len = (size_t)(tu_rand(&s) % sizeof junk);
		unsigned style = iter % 3;
		if (style == 2) {
			/* a valid encoding with a few bytes changed */
			fill((unsigned)(tu_rand(&s) % 8), col, v, n, &s);
			struct mpt_buf ok = { 0 };
			if (mpt__encode(col, enc, v, n, &c.ctx, &ok) || ok.len > sizeof junk) {
				mpt__buf_free(&ok);
				continue;
			}
			len = ok.len;
			memcpy(junk, ok.p, len);
			mpt__buf_free(&ok);
			for (int k = 0; k < 3 && len; k++)
				junk[tu_rand(&s) % len] ^= (uint8_t)(1u << (tu_rand(&s) % 8));
		} else {
			for (size_t i = 0; i < len; i++) {
				uint64_t r = tu_rand(&s);
				/* plain noise, or small bytes (plausible codes and varints) */
				junk[i] = style == 0 ? (uint8_t)r : (uint8_t)(r % 4);
			}
		}
		const char *why = NULL;
		if (mpt__decode(col, enc, junk, len, v, n, &c.ctx, &why))
			continue;
		decoded++;
		struct mpt_buf out = { 0 };
		if (mpt__encode(col, enc, v, n, &c.ctx, &out) == 0) {
			cr_assert_eq(mpt__decode(col, enc, out.p, out.len, v2, n, &c.ctx, &why), 0,
				     "col %u enc %u: %s", col, enc, why);
			cr_assert_eq(memcmp(v, v2, sizeof *v * n), 0, "col %u enc %u", col, enc);
		}
		mpt__buf_free(&out);
	}
	cr_log_info("%u of 3000 random inputs decoded", decoded);
}
