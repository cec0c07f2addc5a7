/* The round-trip fuzz target as a property test: fixed pseudo-random inputs
 * (different sizes, chunk sizes and record mixes) go through
 * fuzz_roundtrip_one(), which writes the records, reads them back and
 * aborts on any difference. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#define MPA_FUZZ_NO_ENTRY
#include "fuzz_roundtrip.c"

static uint64_t rt_rng = 0x853c49e6748fea9bu;

static uint8_t rt_next(void)
{
	rt_rng ^= rt_rng << 13;
	rt_rng ^= rt_rng >> 7;
	rt_rng ^= rt_rng << 17;
	return (uint8_t)(rt_rng >> 24);
}

static void run_inputs(unsigned count, size_t max_len, uint8_t bias)
{
	uint8_t *buf = malloc(max_len);

	cr_assert_not_null(buf);
	for (unsigned k = 0; k < count; k++) {
		size_t len = k == 0 ? 0 : 1 + (size_t)(rt_rng % max_len);

		for (size_t i = 0; i < len; i++) {
			buf[i] = rt_next();
			/* bias: more of the small values that select recent
			 * addresses and small deltas */
			if (bias && (buf[i] & 1))
				buf[i] &= bias;
		}
		fuzz_roundtrip_one(buf, len);
	}
	free(buf);
}

Test(fuzz_roundtrip, random_inputs, .timeout = 300)
{
	run_inputs(150, 6000, 0);
}

Test(fuzz_roundtrip, allocator_like_inputs, .timeout = 300)
{
	rt_rng = 0x1234567887654321u;
	run_inputs(150, 12000, 0x3f);
}

Test(fuzz_roundtrip, many_records_small_chunks, .timeout = 300)
{
	rt_rng = 0xdeadbeefcafef00du;
	run_inputs(4, 200000, 0x1f);
}
