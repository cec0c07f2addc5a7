/* wl-recurse: known stack depths for the stack analyzer.
 *
 * The main thread calls mpa_wl_recurse(40): each level n = 40..1 holds a
 * 1000-byte local, allocates 16 bytes (a stack_sample with
 * MPA_STACK_SAMPLE=1), recurses to n - 1, then frees.  At the deepest
 * allocation mpa_wl_recurse is on the stack 40 times.
 *
 * Then one thread with a 256 KiB stack calls mpa_wl_recurse(200): about
 * 200 KB of its 256 KiB in use, less than 64 KiB left (the analyzer's
 * default overflow headroom).  Exits 0.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;

NOINLINE int mpa_wl_recurse(int n)
{
	volatile char pad[1000];
	int r;

	if (n == 0)
		return 0;
	pad[0] = (char)n;
	pad[999] = (char)n;
	char *p = malloc(16);
	memset(p, n, 16);
	wl_sink = p;
	r = mpa_wl_recurse(n - 1);
	free(p);
	return r + pad[0] + pad[999];
}

static void *thread_main(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)mpa_wl_recurse(200);
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t th;
	void *ret;

	mpa_wl_recurse(40);
	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 << 10) != 0 ||
			pthread_create(&th, &attr, thread_main, NULL) != 0)
		return 1;
	pthread_join(th, &ret);
	pthread_attr_destroy(&attr);
	return 0;
}
