/* analyze_bench_workload — performs the benchmark's allocation model
 * (analyze_bench_model.h) with the real allocator, so that heaptrack (or
 * mpa-record) can record the same workload the generator writes as a
 * capture.  64 allocation sites are 64 distinct functions.
 *
 * usage: analyze_bench_workload OPS [SEED]
 * Prints the operations done, what leaked, and the time the operations
 * took (wall and process CPU ns: the program's own time, for
 * bench-overhead's slowdown under a tracer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze_bench_model.h"

#define SITE(k)                                                                \
	static __attribute__((noinline)) void *site_##k(size_t n)              \
	{                                                                      \
		char *p = malloc(n);                                           \
		if (p)                                                         \
			p[0] = (char)(k);                                      \
		return p;                                                      \
	}                                                                      \
	static __attribute__((noinline)) void *resite_##k(void *o, size_t n)   \
	{                                                                      \
		char *p = realloc(o, n);                                       \
		if (p)                                                         \
			p[n - 1] = (char)(k);                                  \
		return p;                                                      \
	}
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
SITES8(1) SITES8(2) SITES8(3) SITES8(4) SITES8(5) SITES8(6) SITES8(7) SITES8(8)
#define REF8(a) site_##a##0, site_##a##1, site_##a##2, site_##a##3, site_##a##4, site_##a##5, site_##a##6, site_##a##7
#define REREF8(a) resite_##a##0, resite_##a##1, resite_##a##2, resite_##a##3, resite_##a##4, resite_##a##5, resite_##a##6, resite_##a##7
static void *(*const sites[BM_SITES])(size_t) = {REF8(1), REF8(2), REF8(3), REF8(4),
						 REF8(5), REF8(6), REF8(7), REF8(8)};
static void *(*const resites[BM_SITES])(void *, size_t) = {
	REREF8(1), REREF8(2), REREF8(3), REREF8(4), REREF8(5), REREF8(6), REREF8(7), REREF8(8)};

static struct bm_model m;
static void *blk[BM_LIVE_MAX];

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: analyze_bench_workload OPS [SEED]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[1], NULL, 10);
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	bm_init(&m, seed);
	uint64_t leaked = 0, sum = 0;
	/* the same operations as analyze_bench_gen: n - 1 calls, the last
	 * ones freeing what is live */
	struct bm_step s;
	uint64_t ops = 0;
	struct timespec w0, w1, c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (uint64_t i = 0; bm_step_at(&m, i, n, &s); i++, ops++) {
		switch (s.op) {
		case BM_ALLOC: {
			void *p = sites[s.site](s.size);
			if (!p)
				return 1;
			sum += (uintptr_t)p & 0xff;
			if (s.leak)
				leaked += s.size;
			else
				blk[s.slot] = p;
			break;
		}
		case BM_FREE: {
			free(blk[s.slot]);
			uint32_t last = bm_compact(&m, s.slot);
			blk[s.slot] = blk[last];
			break;
		}
		case BM_REALLOC: {
			void *p = resites[s.site](blk[s.slot], s.size);
			if (!p)
				return 1;
			blk[s.slot] = p;
			break;
		}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &w1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("ops %llu\nleaked %llu bytes (checksum %llu)\n", (unsigned long long)ops,
	       (unsigned long long)leaked, (unsigned long long)sum);
	printf("elapsed_ns %lld cpu_ns %lld\n",
	       (long long)(w1.tv_sec - w0.tv_sec) * 1000000000LL + (w1.tv_nsec - w0.tv_nsec),
	       (long long)(c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec));
	return 0;
}
