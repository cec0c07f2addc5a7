/* libmpt: the fast allocator address model (format/mpt_ptr.c) against the
 * reference implementation of format 1.0 (tests/format/mpt_ptr_ref.c):
 * on realistic and on adversarial random chunks both encoders write the
 * same bytes, both decoders return the same values (and the fast one the
 * original ones), and on damaged input both accept or refuse alike. */
#include "mpt_test_util.h"

#include "mpt_ptr_ref.h"

#define MAXR 40000

struct chunk {
	uint32_t rows, n;
	uint8_t kind[MAXR];
	uint64_t tid[MAXR], size[MAXR], new_ptr[MAXR], ptr[MAXR];
};

static void add_row(struct chunk *c, uint8_t kind, uint64_t tid, uint64_t size, uint64_t ptr,
		    uint64_t new_ptr)
{
	uint32_t i = c->rows++;
	c->kind[i] = kind;
	c->tid[i] = tid;
	c->size[i] = (mpt__cols[MPT_COL_SIZE].kinds & MPT_KINDBIT(kind)) ? size : 0;
	c->new_ptr[i] = kind == MPA_KIND_REALLOC ? new_ptr : 0;
	if (mpt__cols[MPT_COL_PTR].kinds & MPT_KINDBIT(kind))
		c->ptr[c->n++] = ptr;
}

/* Rows of the malloc-shaped stream of the round-trip tests. */
static void realistic(struct chunk *c, uint32_t rows, uint64_t seed)
{
	static struct tu_stream s;
	tu_stream_init(&s, seed);
	c->rows = c->n = 0;
	for (uint32_t i = 0; i < rows; i++) {
		struct mpa_event e;
		tu_stream_next(&s, &e);
		add_row(c, e.kind, mpt__zz(e.tid), e.size, e.ptr, e.new_ptr);
	}
}

/* Adversarial rows: every kind, thousands of threads and size classes
 * (more than the model's tables hold), a small address pool (double
 * allocations, frees of unknown and of old blocks), zero pointers, deep
 * live sets (ranks past 250), huge sizes. */
static void adversarial(struct chunk *c, uint32_t rows, uint64_t *s, unsigned mode)
{
	static uint64_t live[MAXR];
	uint32_t nlive = 0;
	c->rows = c->n = 0;
	uint64_t top[8] = { 0 };
	for (uint32_t i = 0; i < rows; i++) {
		uint64_t r = tu_rand(s);
		uint8_t kind = (uint8_t)(1 + r % (MPA_KIND_COUNT_ - 1));
		if (r % 5)
			kind = (uint8_t)((r >> 8) % 3 ? ((r >> 8) % 2 ? MPA_KIND_ALLOC : MPA_KIND_FREE)
						      : MPA_KIND_REALLOC);
		uint64_t tid = mode == 1 ? (r >> 12) % 3000 : (r >> 12) % 3;
		uint64_t size = mode == 1 ? (r >> 20) % 100000 : (r >> 20) % 200;
		if ((r >> 40) % 97 == 0)
			size = UINT64_MAX - (r >> 50) % 100;
		uint64_t ptr, np = 0;
		if (mode == 2) { /* tiny pool: doubles and unknowns */
			ptr = 0x1000 + ((r >> 30) % 32) * 16;
			np = 0x1000 + ((r >> 35) % 32) * 16;
		} else if (kind == MPA_KIND_ALLOC || kind == MPA_KIND_KALLOC ||
			   kind == MPA_KIND_POOL_ALLOC) {
			unsigned t = (unsigned)(tid % 8);
			if (!top[t])
				top[t] = UINT64_C(0x550000000000) + ((uint64_t)t << 32);
			ptr = (r >> 33) % 4 ? top[t] : top[t] + ((r >> 36) % 4096) * 16;
			top[t] = ptr + ((size + 24) & ~(uint64_t)15);
			if (nlive < MAXR)
				live[nlive++] = ptr;
		} else if (nlive && (r >> 30) % 8) {
			/* mostly recent blocks, sometimes very old ones */
			uint32_t k = (r >> 33) % 4 ? nlive - 1 - (uint32_t)((r >> 36) % (nlive < 8 ? nlive : 8))
						   : (uint32_t)((r >> 36) % nlive);
			ptr = live[k];
			live[k] = live[--nlive];
			np = ptr + 4096;
		} else {
			ptr = tu_rand(s) & ~(uint64_t)15;
			np = ptr ^ 0x10000;
		}
		if ((r >> 45) % 50 == 0)
			ptr = 0;
		if ((r >> 52) % 50 == 0)
			np = 0;
		add_row(c, kind, tid, size, ptr, np);
	}
}

static struct mpt_work wfast, wref; /* reused across chunks, like a reader's */

static void check_chunk(struct chunk *c, uint64_t *s, const char *what)
{
	struct mpt_codec_ctx cf = { &wfast, c->rows, c->kind, c->tid, c->size, c->new_ptr };
	struct mpt_codec_ctx cr = { &wref, c->rows, c->kind, c->tid, c->size, c->new_ptr };
	struct mpt_buf bf = { 0 }, br = { 0 };
	int rf = mpt__ptr_encode(c->ptr, c->n, &cf, &bf);
	int rr = ref_ptr_encode(c->ptr, c->n, &cr, &br);
	cr_assert_eq(rf, rr, "%s: encoders disagree on success", what);
	cr_assert_eq(rf, 0, "%s: encode failed", what);
	cr_assert_eq(bf.len, br.len, "%s: encoded sizes differ (%zu vs %zu)", what, bf.len, br.len);
	cr_assert(memcmp(bf.p, br.p, bf.len) == 0, "%s: encoded bytes differ", what);
	static uint64_t vf[MAXR], vr[MAXR];
	const char *why;
	cr_assert_eq(mpt__ptr_decode(bf.p, bf.len, vf, c->n, &cf, &why), 0, "%s: %s", what, why);
	cr_assert(memcmp(vf, c->ptr, sizeof *vf * c->n) == 0, "%s: fast decode differs", what);
	/* damaged input: both decoders agree on acceptance and on the values */
	for (int k = 0; k < 40 && bf.len; k++) {
		uint8_t *d = malloc(bf.len);
		memcpy(d, bf.p, bf.len);
		size_t len = bf.len;
		uint64_t r = tu_rand(s);
		switch (k % 4) {
		case 0: d[r % len] ^= (uint8_t)(1u << ((r >> 32) % 8)); break;
		case 1: d[r % len] = (uint8_t)(r >> 40); break;
		case 2: len = (size_t)(r % len); break;
		default: d[r % len] = (uint8_t)(1 + (r >> 40) % 20); break; /* plausible codes */
		}
		const char *w1, *w2;
		int a = mpt__ptr_decode(d, len, vf, c->n, &cf, &w1);
		int b = ref_ptr_decode(d, len, vr, c->n, &cr, &w2);
		cr_assert_eq(a, b, "%s: damage %d: fast %d (%s) vs reference %d (%s)", what, k, a,
			     a ? w1 : "ok", b, b ? w2 : "ok");
		if (a == 0)
			cr_assert(memcmp(vf, vr, sizeof *vf * c->n) == 0,
				  "%s: damage %d: decoders return different values", what, k);
		free(d);
	}
	mpt__buf_free(&bf);
	mpt__buf_free(&br);
}

Test(mpt_ptr, fast_model_matches_reference_on_realistic_chunks)
{
	static struct chunk c;
	uint64_t s = 11;
	static const uint32_t sizes[] = { 1, 2, 17, 1000, 40000, 300, 65, 20000 };
	for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		char what[64];
		snprintf(what, sizeof what, "realistic %u rows", sizes[k]);
		realistic(&c, sizes[k], 1000 + k);
		check_chunk(&c, &s, what);
	}
}

Test(mpt_ptr, fast_model_matches_reference_on_adversarial_chunks)
{
	static struct chunk c;
	uint64_t s = 99;
	for (unsigned k = 0; k < 24; k++) {
		uint32_t rows = k % 3 == 1 ? 40000 : 1 + (uint32_t)(tu_rand(&s) % 8000);
		char what[64];
		snprintf(what, sizeof what, "adversarial %u mode %u rows %u", k, k % 3, rows);
		adversarial(&c, rows, &s, k % 3);
		check_chunk(&c, &s, what);
	}
}

Test(mpt_ptr, deep_live_sets_use_escaped_ranks)
{
	/* 20000 allocations, then frees from oldest to newest: ranks far past
	 * 250 and across many bitmap superblocks */
	static struct chunk c;
	c.rows = c.n = 0;
	for (uint32_t i = 0; i < 20000; i++)
		add_row(&c, MPA_KIND_ALLOC, 2, 48, UINT64_C(0x7f0000000000) + (uint64_t)i * 4096, 0);
	for (uint32_t i = 0; i < 20000; i += 3)
		add_row(&c, MPA_KIND_FREE, 2, 0, UINT64_C(0x7f0000000000) + (uint64_t)i * 4096, 0);
	for (uint32_t i = 19999; i > 0; i -= 7)
		add_row(&c, MPA_KIND_FREE, 4, 0, UINT64_C(0x7f0000000000) + (uint64_t)i * 4096, 0);
	uint64_t s = 5;
	check_chunk(&c, &s, "deep live set");
	struct mpt_codec_ctx cf = { &wfast, c.rows, c.kind, c.tid, c.size, c.new_ptr };
	struct mpt_buf b = { 0 };
	cr_assert_eq(mpt__ptr_encode(c.ptr, c.n, &cf, &b), 0);
	unsigned escaped = 0;
	for (uint32_t i = 20000; i < c.rows; i++)
		escaped += b.p[i] == 251;
	cr_assert_gt(escaped, 1000, "expected many escaped ranks, got %u", escaped);
	mpt__buf_free(&b);
}

/* PTR2 (format 4.0): PTR plus alloc code 18, an index into the ring of the
 * last 1024 freed addresses.  Exact values back on realistic and adversarial
 * chunks, ring codes actually used where blocks come back out of order, and
 * damaged streams refused or decoded without a fault (ASan). */
static unsigned check_chunk_v2(struct chunk *c, uint64_t *s, const char *what)
{
	struct mpt_codec_ctx cf = { &wfast, c->rows, c->kind, c->tid, c->size, c->new_ptr };
	struct mpt_buf b = { 0 };
	cr_assert_eq(mpt__ptr2_encode(c->ptr, c->n, &cf, &b), 0, "%s: encode failed", what);
	static uint64_t v[MAXR];
	const char *why;
	cr_assert_eq(mpt__ptr2_decode(b.p, b.len, v, c->n, &cf, &why), 0, "%s: %s", what, why);
	cr_assert(memcmp(v, c->ptr, sizeof *v * c->n) == 0, "%s: PTR2 decode differs", what);
	unsigned ring = 0, ci = 0;
	for (uint32_t i = 0; i < c->rows; i++) {
		unsigned k = c->kind[i];
		int alloc = k == MPA_KIND_ALLOC || k == MPA_KIND_KALLOC || k == MPA_KIND_POOL_ALLOC;
		int freel = k == MPA_KIND_FREE || k == MPA_KIND_KFREE || k == MPA_KIND_POOL_FREE ||
			    k == MPA_KIND_REALLOC;
		(void)freel; /* PTR2: the alloc-like rows' codes come first */
		if (alloc && ci < b.len)
			ring += b.p[ci] == 18;
		ci += alloc;
	}
	for (int k = 0; k < 40 && b.len; k++) {
		uint8_t *d = malloc(b.len);
		memcpy(d, b.p, b.len);
		size_t len = b.len;
		uint64_t r = tu_rand(s);
		switch (k % 4) {
		case 0: d[r % len] ^= (uint8_t)(1u << ((r >> 32) % 8)); break;
		case 1: d[r % len] = 18; break;
		case 2: len = (size_t)(r % len); break;
		default: d[r % len] = (uint8_t)(1 + (r >> 40) % 20); break;
		}
		(void)mpt__ptr2_decode(d, len, v, c->n, &cf, &why);
		free(d);
	}
	mpt__buf_free(&b);
	return ring;
}

Test(mpt_ptr, ptr2_round_trips_and_uses_the_ring)
{
	static struct chunk c;
	uint64_t s = 17;
	unsigned ring = 0;
	static const uint32_t sizes[] = { 1, 2, 17, 1000, 40000, 300 };
	for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		char what[64];
		snprintf(what, sizeof what, "realistic %u rows", sizes[k]);
		realistic(&c, sizes[k], 2000 + k);
		ring += check_chunk_v2(&c, &s, what);
	}
	for (unsigned k = 0; k < 12; k++) {
		uint32_t rows = k % 3 == 1 ? 40000 : 1 + (uint32_t)(tu_rand(&s) % 8000);
		char what[64];
		snprintf(what, sizeof what, "adversarial %u rows %u", k, rows);
		adversarial(&c, rows, &s, k % 3);
		check_chunk_v2(&c, &s, what);
	}
	/* a block freed, then 20 frees of other classes, then allocated again
	 * with a size of another class: only the ring names it */
	c.rows = c.n = 0;
	for (uint32_t i = 0; i < 30; i++)
		add_row(&c, MPA_KIND_ALLOC, 2, 32 + 16 * i, UINT64_C(0x5500000) + i * 4096, 0);
	for (uint32_t i = 0; i < 30; i++)
		add_row(&c, MPA_KIND_FREE, 2, 0, UINT64_C(0x5500000) + i * 4096, 0);
	add_row(&c, MPA_KIND_ALLOC, 2, 3000, UINT64_C(0x5500000) + 3 * 4096, 0);
	cr_assert_eq(check_chunk_v2(&c, &s, "out of class"), 1);
	cr_assert_gt(ring, 0, "the realistic chunks never used the ring");
}
