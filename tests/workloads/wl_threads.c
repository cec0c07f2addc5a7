/* wl-threads: 4 threads.  Each runs mpa_wl_thread_work: 100 pairs of
 * malloc(1000 + index) + free.  Thread 0 also recurses mpa_wl_deep() 20
 * levels deep and, at the bottom, allocates 777 bytes and frees them.
 * Thread 3 ends with pthread_exit instead of returning.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define NTHREADS 4

void *volatile wl_sink;

NOINLINE int mpa_wl_deep(int n)
{
	volatile char pad[16];
	int r;

	pad[0] = (char)n;
	if (n == 0) {
		char *p = malloc(777);

		memset(p, 7, 777);
		wl_sink = p;
		free(p);
		return pad[0];
	}
	r = mpa_wl_deep(n - 1);
	return r + pad[0];
}

NOINLINE void mpa_wl_thread_work(intptr_t index)
{
	for (int i = 0; i < 100; i++) {
		char *p = malloc(1000 + (size_t)index);

		p[0] = (char)i;
		wl_sink = p;
		free(p);
	}
	if (index == 0)
		wl_sink = (void *)(intptr_t)mpa_wl_deep(19); /* 20 frames of mpa_wl_deep */
}

static void *thread_main(void *arg)
{
	mpa_wl_thread_work((intptr_t)arg);
	if ((intptr_t)arg == 3)
		pthread_exit(NULL);
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];

	for (intptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)i) != 0)
			return 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
