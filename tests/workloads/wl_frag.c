/* wl-frag: a fragmented heap, exactly known.  Checked by
 * tests/analyzers/test_frag_record.c:
 *   mpa_wl_frag_small  N = 2000 blocks of 64 bytes (usable 72 under glibc),
 *                      long-lived: still allocated when the program exits
 *   mpa_wl_frag_large  N blocks of 4000 bytes, allocated interleaved with
 *                      the small ones (small, large, small, large, ...) and
 *                      all freed once the N pairs exist
 * With glibc's allocator the pairs are laid one after the other from the
 * top of the heap, so after the large blocks are freed every ~4 KiB of the
 * heap holds one live 64-byte block: the peak heap is dense, the final one
 * a span of ~8 MiB that is almost all free, its pages pinned by the small
 * blocks.  Prints nothing; exits 0.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))
#define N 2000

void *volatile wl_sink;           /* keeps -O2 from deleting allocations */
static void *small[N];            /* long-lived (reachable at exit) */
static void *large[N];

NOINLINE void *mpa_wl_frag_small(int i)
{
	char *p = malloc(64);
	memset(p, i, 64);
	return p;
}

NOINLINE void *mpa_wl_frag_large(int i)
{
	char *p = malloc(4000);
	memset(p, i, 4000);
	return p;
}

int main(void)
{
	/* lttng-ust's listener thread registers the program and dumps its
	 * objects (strdup/free of paths) as main starts; its frees among the
	 * pairs below would make frag's throttled peak walk miss the exact
	 * maximum (doc/analyzers-frag.md, "Peak").  Let it finish first. */
	struct timespec settle = {0, 300 * 1000 * 1000};
	nanosleep(&settle, NULL);
	for (int i = 0; i < N; i++) {
		small[i] = mpa_wl_frag_small(i);
		large[i] = mpa_wl_frag_large(i);
	}
	for (int i = 0; i < N; i++) {
		wl_sink = large[i];
		free(large[i]);
	}
	/* a steady phase on the fragmented heap (the heap map shows it) */
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	long sum = 0;
	for (int i = 0; i < N; i++)
		sum += ((unsigned char *)small[i])[0];
	wl_sink = small;
	return sum == 0 ? 1 : 0;
}
