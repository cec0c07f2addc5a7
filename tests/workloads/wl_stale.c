/* wl-stale: leaked blocks that glibc malloc's own words point into
 * (issue 11).  valgrind calls every lost block here "definitely lost"; a
 * conservative scan that took glibc's free-list words for pointers made
 * them possibly or indirectly lost, or even reachable:
 *
 *   bins   a leaked 200-byte block P1 is followed by a free chunk in
 *          main_arena's unsorted bin: the bin (libc's data, a root) holds
 *          the address of that chunk's header, which lies inside P1's last
 *          8 requested bytes;
 *   stale  a reachable 184-byte block Z carved from a chunk that sat alone
 *          in a large bin keeps, in bytes the program never wrote, the
 *          chunk's fd_nextsize/bk_nextsize words: the address of its own
 *          header, inside the leaked 184-byte block P2 just before it;
 *   arena  a worker thread stores the only pointer to a leaked 100-byte
 *          block L in a block of its own arena and frees that block: freed
 *          memory is no root.
 *
 * Expected with glibc 2.36: 484 bytes in 3 blocks definitely lost, Z and a
 * guard block (384 bytes in 2 blocks) still reachable, nothing else.  The program checks that glibc laid
 * the memory out as assumed and prints "layout bins=1 stale=1 arena=1" (a
 * 0 says that case did not arise, and the test fails: it would prove
 * nothing). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile keep_z;     /* Z: still reachable */
void *volatile keep_guard; /* still reachable */
static int bins_ok, stale_ok, arena_ok;

static __attribute__((noinline)) void scrub(void)
{
	volatile char buf[16384];

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 0;
}

/* Blocks set aside while looking for the layout a case needs (the tracer's
 * own allocations leave free chunks of their own around), freed after. */
static void *spare[256];
static int nspare;

static void set_aside(void *p)
{
	if (nspare < (int)(sizeof spare / sizeof *spare))
		spare[nspare++] = p;
	else
		free(p);
}

static void free_spares(void)
{
	while (nspare)
		free(spare[--nspare]);
}

static __attribute__((noinline)) void stale_case(void)
{
	char *volatile p2; /* chunk 192, usable 184 */
	char *volatile b;  /* chunk 2016: a large bin's size */
	void *volatile guard;
	void *volatile q;
	char *volatile z;
	uintptr_t w[2];

	for (int i = 0; i < 32; i++) { /* p2, b, guard adjacent (else the last) */
		p2 = malloc(184);
		b = malloc(2000);
		guard = malloc(2000);
		if (i == 31 || ((uintptr_t)b - 16 == (uintptr_t)p2 + 176 &&
				(uintptr_t)guard - 16 == (uintptr_t)b + 2000))
			break;
		set_aside(p2);
		set_aside(b);
		set_aside(guard);
	}
	memset(p2, 'b', 184);
	free(b);          /* unsorted */
	q = malloc(3000); /* sorts b into its large bin: fd/bk_nextsize = b's header */
	for (int i = 0; i < 64; i++) { /* carved from b: z == b (else the last) */
		z = malloc(184);
		if (z == b || i == 63)
			break;
		set_aside(z);
	}
	memcpy(w, z + 16, sizeof w);
	stale_ok = z == b && (uintptr_t)b - 16 == (uintptr_t)p2 + 176 &&
		   (w[0] == (uintptr_t)z - 16 || w[1] == (uintptr_t)z - 16);
	memset(z, 'z', 8); /* the rest stays as glibc left it */
	keep_z = z;
	free((void *)q);
	free((void *)guard);
	free_spares();
	p2 = NULL;
	b = NULL;
	z = NULL;
}

static __attribute__((noinline)) void bins_case(void)
{
	void *volatile t[7];
	char *volatile p1; /* chunk 208, usable 200 */
	char *volatile y;
	void *volatile guard;

	for (int i = 0; i < 32; i++) { /* p1, y, guard adjacent (else the last) */
		p1 = malloc(200);
		y = malloc(200);
		guard = malloc(200); /* y stays out of the top chunk */
		if (i == 31 || ((uintptr_t)y - 16 == (uintptr_t)p1 + 192 &&
				(uintptr_t)guard - 16 == (uintptr_t)y + 192))
			break;
		set_aside(p1);
		set_aside(y);
		set_aside(guard);
	}
	keep_guard = guard;
	for (int i = 0; i < 7; i++)
		t[i] = malloc(200);
	for (int i = 0; i < 7; i++)
		free(t[i]); /* the tcache of 208-byte chunks is full */
	memset(p1, 'a', 200);
	free(y); /* unsorted bin: main_arena points at y's header = p1 + 192 */
	bins_ok = (uintptr_t)y - 16 == (uintptr_t)p1 + 192;
	free_spares();
	p1 = NULL;
	y = NULL;
}

static void *worker(void *arg)
{
	void *volatile *cell = malloc(64);

	(void)arg;
	cell[4] = malloc(100); /* L: from this thread's arena */
	memset((void *)cell[4], 'l', 100);
	arena_ok = 1;
	free((void *)cell); /* the only pointer to L is now in freed memory */
	scrub();            /* ... and in no dead frame of this (cached) stack */
	return NULL;
}

static __attribute__((noinline)) void arena_case(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, worker, NULL) != 0)
		exit(2);
	pthread_join(th, NULL);
}

int main(void)
{
	char line[64];
	int n;

	stale_case();
	arena_case(); /* before bins_case: pthread_create allocates */
	bins_case();
	scrub();
	n = snprintf(line, sizeof line, "layout bins=%d stale=%d arena=%d\n", bins_ok, stale_ok,
		     arena_ok);
	if (write(1, line, (size_t)n) != n)
		return 1;
	return 0;
}
