/* wl-random: the "random workload" of the size goal (issue 12): 2 threads,
 * each doing OPS/2 operations on its own table of 2048 slots: a random slot
 * is freed when it holds a block, else it gets a new block, so lifetimes are
 * random (geometric).  Sizes: 92 % uniform 8..256 B, 5 % uniform 257..4096 B,
 * 3 % log-uniform 4 KiB..1 MiB.  Deterministic for a seed (each thread has
 * its own generator); what the allocator returns and the timing are the
 * real ones.  Every block is freed before the thread ends.
 *
 * usage: wl-random [OPS [SEED]]   (default 200000 operations, seed 1)
 * prints "ops N" (allocation-function calls made, frees included).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define NTHREADS 2
#define NSLOTS 2048

struct wl_thread {
	uint64_t rng, ops, calls;
	void *slot[NSLOTS];
};

static uint64_t wl_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t wl_size(uint64_t *s)
{
	uint64_t r = wl_rand(s) % 100;

	if (r < 92)
		return 8 + wl_rand(s) % 249;
	if (r < 97)
		return 257 + wl_rand(s) % 3840;
	/* log-uniform over [4096, 1 MiB] */
	double u = (double)(wl_rand(s) >> 11) / 9007199254740992.0;
	return (size_t)exp(log(4096.0) + u * (log(1048576.0) - log(4096.0)));
}

NOINLINE static void *wl_alloc(size_t n)
{
	char *p = malloc(n);

	if (p)
		p[0] = (char)n;
	return p;
}

NOINLINE static void wl_release(void *p)
{
	free(p);
}

static void *wl_main(void *arg)
{
	struct wl_thread *t = arg;

	for (uint64_t i = 0; i < t->ops; i++) {
		uint32_t k = (uint32_t)(wl_rand(&t->rng) % NSLOTS);

		if (t->slot[k]) {
			wl_release(t->slot[k]);
			t->slot[k] = NULL;
		} else if (!(t->slot[k] = wl_alloc(wl_size(&t->rng)))) {
			abort();
		}
		t->calls++;
	}
	for (uint32_t k = 0; k < NSLOTS; k++)
		if (t->slot[k]) {
			wl_release(t->slot[k]);
			t->slot[k] = NULL;
			t->calls++;
		}
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t ops = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	static struct wl_thread th[NTHREADS];
	pthread_t id[NTHREADS];
	uint64_t calls = 0;

	for (int i = 0; i < NTHREADS; i++) {
		th[i].rng = seed * 1000003 + (uint64_t)i;
		th[i].ops = ops / NTHREADS;
		if (pthread_create(&id[i], NULL, wl_main, &th[i]) != 0)
			return 1;
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(id[i], NULL);
		calls += th[i].calls;
	}
	printf("ops %llu\n", (unsigned long long)calls);
	return 0;
}
