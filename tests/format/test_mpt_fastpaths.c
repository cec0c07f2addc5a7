/* libmpt: decode fast paths against their reference — KSPLIT decoded
 * straight into row order (the reader's path) gives exactly the values of
 * the in-order decoder scattered over the rows, and accepts or refuses
 * damaged input alike. */
#include "mpt_test_util.h"

#include "../../format/mpt_internal.h"

#define R 6000

Test(mpt_fastpaths, ksplit_by_row_matches_in_order_decode)
{
	static uint8_t kind[R];
	static uint64_t tid[R], size[R], np[R], v[R], back[R], rowv[R], want[R];
	static struct mpt_work work;
	uint64_t s = 77;
	static const unsigned cols[] = { MPT_COL_SIZE, MPT_COL_USABLE, MPT_COL_API,
					 MPT_COL_STACK_ID, MPT_COL_NEW_PTR, MPT_COL_PTR };
	for (unsigned round = 0; round < 60; round++) {
		uint32_t rows = 1 + (uint32_t)(tu_rand(&s) % R);
		unsigned nk = 1 + round % 5; /* few or many kinds in the chunk */
		for (uint32_t i = 0; i < rows; i++)
			kind[i] = (uint8_t)(1 + (round * 7 + tu_rand(&s) % nk * 3) % (MPA_KIND_COUNT_ - 1));
		unsigned col = cols[round % (sizeof cols / sizeof *cols)];
		uint32_t n = 0;
		for (uint32_t i = 0; i < rows; i++)
			if (mpt__cols[col].kinds & MPT_KINDBIT(kind[i]))
				v[n++] = round % 2 ? tu_rand(&s) % 300 : tu_rand(&s);
		if (n == 0)
			continue;
		struct mpt_codec_ctx ctx = { &work, rows, kind, tid, size, np };
		struct mpt_buf out = { 0 };
		cr_assert_eq(mpt__encode(col, MPT_ENC_KSPLIT, v, n, &ctx, &out), 0);
		const char *why;
		cr_assert_eq(mpt__decode(col, MPT_ENC_KSPLIT, out.p, out.len, back, n, &ctx, &why), 0,
			     "%s", why);
		cr_assert(memcmp(back, v, sizeof *v * n) == 0);
		for (uint32_t i = 0, j = 0; i < rows; i++)
			want[i] = mpt__cols[col].kinds & MPT_KINDBIT(kind[i]) ? back[j++] : 0;
		cr_assert_eq(mpt__decode_ksplit_rows(col, out.p, out.len, rowv, n, &ctx, &why), 0,
			     "%s", why);
		cr_assert(memcmp(rowv, want, sizeof *want * rows) == 0, "round %u: rows differ",
			  round);
		/* wrong counts and damaged bytes: both refuse or both accept alike */
		cr_assert_neq(mpt__decode_ksplit_rows(col, out.p, out.len, rowv, n + 1, &ctx, &why), 0);
		for (int k = 0; k < 30; k++) {
			uint8_t *d = malloc(out.len);
			memcpy(d, out.p, out.len);
			size_t len = out.len;
			uint64_t r = tu_rand(&s);
			if (k % 3 == 0)
				len = (size_t)(r % len);
			else
				d[r % len] ^= (uint8_t)(1u << ((r >> 32) % 8));
			int a = mpt__decode(col, MPT_ENC_KSPLIT, d, len, back, n, &ctx, &why);
			int b = mpt__decode_ksplit_rows(col, d, len, rowv, n, &ctx, &why);
			cr_assert_eq(a != 0, b != 0, "round %u damage %d: paths disagree", round, k);
			if (a == 0) {
				for (uint32_t i = 0, j = 0; i < rows; i++)
					want[i] = mpt__cols[col].kinds & MPT_KINDBIT(kind[i]) ? back[j++] : 0;
				cr_assert(memcmp(rowv, want, sizeof *want * rows) == 0);
			}
			free(d);
		}
		mpt__buf_free(&out);
	}
	mpt__work_free(&work);
}
