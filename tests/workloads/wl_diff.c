/* wl-diff: the program mpa-diff's end-to-end test records twice
 * (tests/analyzers/test_diff.c).  Exactly known behaviour:
 *   mpa_wl_work         100 blocks of 1000 bytes live at once, then freed;
 *                       200 pairs malloc(32) + free
 *   mpa_wl_keep         3 blocks of 4096 bytes, never freed
 *   mpa_wl_added_leak   only with the argument "leak": 24 blocks of 65536
 *                       bytes (1.5 MiB), never freed — the regression
 * Exits 0.  Prints nothing (no stdio buffer allocations).
 */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;
static void *kept[3], *added[24];

NOINLINE void mpa_wl_work(void)
{
	void *b[100];
	for (int i = 0; i < 100; i++) {
		b[i] = malloc(1000);
		memset(b[i], 1, 1000);
	}
	for (int i = 0; i < 100; i++)
		free(b[i]);
	for (int i = 0; i < 200; i++) {
		wl_sink = malloc(32);
		free(wl_sink);
	}
}

NOINLINE void mpa_wl_keep(void)
{
	for (int i = 0; i < 3; i++) {
		kept[i] = malloc(4096);
		memset(kept[i], 2, 4096);
	}
}

NOINLINE void mpa_wl_added_leak(void)
{
	for (int i = 0; i < 24; i++) {
		added[i] = malloc(65536);
		memset(added[i], 3, 65536);
	}
}

int main(int argc, char **argv)
{
	mpa_wl_work();
	mpa_wl_keep();
	if (argc > 1 && !strcmp(argv[1], "leak"))
		mpa_wl_added_leak();
	wl_sink = kept[0];
	wl_sink = added[0];
	return 0;
}
