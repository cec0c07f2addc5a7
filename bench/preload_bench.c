/* preload_bench: the workload of bench-overhead (see bench/README-overhead.md).
 * Runs PAIRS malloc+free pairs (sizes cycling 16..1024 bytes) from a call
 * stack 20 frames deep, and prints the mean cost of one pair in ns, wall
 * clock and this thread's CPU time (the latter is less disturbed by other
 * processes on a busy machine, but misses time spent blocked):
 *     ns_per_pair=<wall> cpu_ns_per_pair=<cpu> pairs=<n>
 * Built without sanitizers, with frame pointers.  `preload_bench PAIRS
 * THREADS` splits the pairs over THREADS threads (the time-to-capture
 * part of bench-overhead); the CPU column is then one thread's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

void *volatile bench_sink;

static double now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static _Thread_local double cpu_ns_per_pair;

NOINLINE static void loop(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		size_t n = 16 + (size_t)(i & 63) * 16;
		char *p = malloc(n);

		p[0] = (char)i;
		bench_sink = p;
		free(p);
	}
}

NOINLINE static double deep(int depth, long pairs)
{
	volatile int keep = depth;
	double t0, t1, c0, c1;

	if (depth > 0) {
		double r = deep(depth - 1, pairs);

		return r + keep * 0;
	}
	loop(pairs / 100); /* warm up */
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	t0 = now_ns(CLOCK_MONOTONIC);
	loop(pairs);
	t1 = now_ns(CLOCK_MONOTONIC);
	c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	cpu_ns_per_pair = (c1 - c0) / (double)pairs;
	return (t1 - t0) / (double)pairs;
}

/* With THREADS > 1 (the time-to-capture bench): each thread makes
 * PAIRS / THREADS pairs from its own deep stack. */
static long thread_pairs;
static double thread_cpu[64];

static void *worker(void *arg)
{
	deep(18, thread_pairs);
	thread_cpu[(long)arg] = cpu_ns_per_pair;
	return NULL;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 1000000;
	long threads = argc > 2 ? atol(argv[2]) : 1;
	double ns;

	if (pairs <= 0) {
		fprintf(stderr, "preload_bench: bad pair count '%s'\n", argv[1]);
		return 2;
	}
	if (threads < 1 || threads > 64) {
		fprintf(stderr, "preload_bench: bad thread count '%s'\n", argv[2]);
		return 2;
	}
	if (threads > 1) {
		pthread_t th[64];
		double t0 = now_ns(CLOCK_MONOTONIC);

		thread_pairs = pairs / threads;
		for (long i = 0; i < threads; i++)
			if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
				return 1;
		for (long i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		ns = (now_ns(CLOCK_MONOTONIC) - t0) / (double)pairs;
		cpu_ns_per_pair = thread_cpu[0];
	} else {
		ns = deep(18, pairs);
	}
	printf("ns_per_pair=%.1f cpu_ns_per_pair=%.1f pairs=%ld\n", ns,
		cpu_ns_per_pair, pairs);
	return 0;
}
