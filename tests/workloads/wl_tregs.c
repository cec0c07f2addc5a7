/* wl-tregs: at exit, the only reference to a block is in a register of
 * another thread that is still running (issue 11: the scan stops the other
 * threads).  A worker allocates 333 bytes, wipes every stale copy of the
 * address from its stack (the dead frames of malloc below its own), then
 * spins with the address in a register; main exits meanwhile.  valgrind
 * reads every thread's registers: "still reachable".  A scan that read the
 * worker's stack without stopping it would call the block definitely lost.
 * Also 44 bytes definitely lost, so that the scan has a lost block too. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int ready;

static __attribute__((noinline)) void scrub(void)
{
	volatile char buf[16384];

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 0;
}

static void *worker(void *arg)
{
	char *p = malloc(333);

	(void)arg;
	memset(p, 7, 333);
	scrub();
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("" : "+r"(p)); /* p lives in a register only */
	return NULL;
}

static __attribute__((noinline)) void lose(void)
{
	char *volatile q = malloc(44);

	memset(q, 1, 44);
	q = NULL;
}

int main(void)
{
	pthread_t th;

	lose();
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		return 2;
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		;
	scrub();
	exit(0);
}
