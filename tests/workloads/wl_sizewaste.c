/* wl-sizewaste: a size distribution that wastes a lot under glibc's
 * classes and little under jemalloc's, tcmalloc's and mimalloc's.
 * Exactly known behaviour, checked by tests/analyzers/test_pool_record.c:
 *   mpa_wl_tiny   30000 blocks of 8 bytes live at once (glibc: 32-byte
 *                 chunks, 24 bytes wasted each; the others: 8-byte class)
 *   mpa_wl_odd    1000 blocks of 25 bytes live at once (glibc: 48-byte
 *                 chunks, 23 wasted; the others: 32, 7 wasted)
 *   mpa_wl_sweep  malloc + free of every size 0, 7, 14 ... 4088 and of
 *                 200 KiB, 1 MiB and 3 MiB (mmapped chunks; the glibc
 *                 usable-size self-check sees every kind of chunk)
 * then everything is freed.  Exits 0.  Prints nothing.
 */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;           /* keeps -O2 from deleting allocations */
static void *tiny[30000], *odd[1000];

NOINLINE void mpa_wl_tiny(void)
{
	for (int i = 0; i < 30000; i++) {
		tiny[i] = malloc(8);
		memset(tiny[i], i, 8);
		wl_sink = tiny[i];
	}
}

NOINLINE void mpa_wl_odd(void)
{
	for (int i = 0; i < 1000; i++) {
		odd[i] = malloc(25);
		memset(odd[i], i, 25);
		wl_sink = odd[i];
	}
}

NOINLINE void mpa_wl_sweep(void)
{
	static const size_t big[] = {200 * 1024, 1024 * 1024, 3 * 1024 * 1024};

	for (size_t n = 0; n < 4096; n += 7) {
		char *p = malloc(n);

		if (p && n)
			p[n - 1] = 1;
		wl_sink = p;
		free(p);
	}
	for (int i = 0; i < 3; i++) {
		char *p = malloc(big[i]);

		if (p)
			p[big[i] - 1] = 1;
		wl_sink = p;
		free(p);
	}
}

int main(void)
{
	mpa_wl_tiny();
	mpa_wl_odd();
	mpa_wl_sweep();
	for (int i = 0; i < 30000; i++)
		free(tiny[i]);
	for (int i = 0; i < 1000; i++)
		free(odd[i]);
	return 0;
}
