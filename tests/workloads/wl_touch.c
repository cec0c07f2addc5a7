/* wl-touch: allocation sites whose blocks are touched page by page for the
 * first time (page-fault attribution, tests/analyzers/test_cache_record.c).
 *   mpa_wl_touch_small  3 blocks of 192 KiB (each its own mmap: above
 *                       glibc's mmap threshold), every byte written
 *   mpa_wl_touch_big    1 block of 1 MiB, every byte written
 * All blocks stay live until the end (a free would raise glibc's dynamic
 * mmap threshold), then are freed.  Exit status 0; prints nothing.
 * Every page of a block after its first (written by malloc itself, before
 * the block exists) is first touched by the memset: 48 faults per small
 * block, 256 for the big one.
 */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;

NOINLINE static void *mpa_wl_touch_small(void)
{
	void *p = malloc(192 * 1024);
	if (p)
		memset(p, 1, 192 * 1024);
	wl_sink = p;
	return p;
}

NOINLINE static void *mpa_wl_touch_big(void)
{
	void *p = malloc(1024 * 1024);
	if (p)
		memset(p, 2, 1024 * 1024);
	wl_sink = p;
	return p;
}

int main(void)
{
	void *s[3];
	for (int i = 0; i < 3; i++)
		s[i] = mpa_wl_touch_small();
	void *b = mpa_wl_touch_big();
	for (int i = 0; i < 3; i++)
		free(s[i]);
	free(b);
	return 0;
}
