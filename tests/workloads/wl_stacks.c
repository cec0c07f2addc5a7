/* wl-stacks: many distinct call stacks, first used in bursts, for the
 * lost-definition test of stack interning
 * (tests/tracepoints/test_stack_intern.c).
 *   64 site functions x 8 depths (through mpa_wl_stacks_down) = 512
 *   stacks; ROUNDS rounds, each calling every (site, depth) once:
 *   malloc(10000 + 16 * k + depth) (k the site's number, 10..87), then free.  The size names the
 *   stack: records of one size must all have the same stack.
 * usage: wl-stacks [ROUNDS]   (default 20)
 */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, noipa))
#define DEPTHS 8

void *volatile wl_sink;
volatile int wl_depth_sum;

NOINLINE static void leaf(size_t n)
{
	char *p = malloc(n);

	if (p == NULL)
		exit(1);
	p[0] = 1;
	wl_sink = p;
	free(p);
}

NOINLINE static void mpa_wl_stacks_down(int d, size_t n)
{
	if (d > 0)
		mpa_wl_stacks_down(d - 1, n);
	else
		leaf(n);
	wl_depth_sum += d; /* no tail call */
}

#define SITE(k) \
	NOINLINE static void site_##k(int d) \
	{ \
		mpa_wl_stacks_down(d, 10000 + 16 * (k) + (size_t)d); \
		wl_depth_sum += (k); \
	}
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
#define REF8(a) site_##a##0, site_##a##1, site_##a##2, site_##a##3, site_##a##4, site_##a##5, site_##a##6, site_##a##7
SITES8(1) SITES8(2) SITES8(3) SITES8(4) SITES8(5) SITES8(6) SITES8(7) SITES8(8)
/* sites 10..17, 20..27, ... 80..87: sizes 10160 + 16 k + depth, unique
 * per (site, depth) since depth < 16 */
static void (*const sites[64])(int) = { REF8(1), REF8(2), REF8(3), REF8(4),
	REF8(5), REF8(6), REF8(7), REF8(8) };

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;

	for (int r = 0; r < rounds; r++)
		for (int s = 0; s < 64; s++)
			for (int d = 0; d < DEPTHS; d++)
				sites[s](d);
	return 0;
}
