/* wl-basic (and wl-nofp, the same source built without frame pointers).
 * Exactly known behaviour, checked by tests/tracepoints/:
 *   mpa_wl_leak    K = 5 blocks of 100, 200, 300, 400, 500 bytes, never freed
 *   mpa_wl_peak    8 blocks of 40000 bytes live at once, then all freed
 *   mpa_wl_churn   1000 pairs malloc(24) + free
 *   mpa_wl_resize  malloc(10) -> realloc(1000) -> realloc(50000) -> free;
 *                  calloc(10, 20) + free; reallocarray(NULL, 4, 25) + free
 *   mpa_wl_map     mmap of 3 pages, munmap
 *   mpa_wl_fail    malloc(2^62) fails with errno ENOMEM (exit 10 if the
 *                  hook lost errno)
 *   mpa_wl_brk     sbrk(+4096), touch, sbrk(-4096)
 * Exits with status 3.  Prints nothing (no stdio buffer allocations).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;           /* keeps -O2 from deleting allocations */
static void *leaked[5];

NOINLINE void mpa_wl_leak(void)
{
	for (int i = 0; i < 5; i++) {
		leaked[i] = malloc(100 * (size_t)(i + 1));
		memset(leaked[i], i, 100 * (size_t)(i + 1));
		wl_sink = leaked[i];
	}
}

NOINLINE void mpa_wl_peak(void)
{
	void *b[8];

	for (int i = 0; i < 8; i++) {
		b[i] = malloc(40000);
		memset(b[i], 1, 40000);
		wl_sink = b[i];
	}
	for (int i = 0; i < 8; i++)
		free(b[i]);
}

NOINLINE void mpa_wl_churn(void)
{
	for (int i = 0; i < 1000; i++) {
		char *p = malloc(24);

		p[0] = (char)i;
		wl_sink = p;
		free(p);
	}
}

NOINLINE void mpa_wl_resize(void)
{
	char *p = malloc(10);

	memset(p, 2, 10);
	p = realloc(p, 1000);
	p[999] = 1;
	p = realloc(p, 50000);
	p[49999] = 1;
	wl_sink = p;
	free(p);
	p = calloc(10, 20);
	wl_sink = p;
	free(p);
	p = reallocarray(NULL, 4, 25);
	p[0] = 0;
	wl_sink = p;
	free(p);
}

NOINLINE void mpa_wl_map(void)
{
	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		exit(1);
	m[0] = 1;
	wl_sink = m;
	munmap(m, 3 * 4096);
}

NOINLINE void mpa_wl_fail(void)
{
	void *p;

	errno = 0;
	p = malloc((size_t)1 << 62);
	if (p != NULL || errno != ENOMEM)
		exit(10);
}

NOINLINE void mpa_wl_brk(void)
{
	char *p = sbrk(4096);

	if (p == (void *)-1)
		exit(11);
	p[0] = 1;
	wl_sink = p;
	if (sbrk(-4096) == (void *)-1)
		exit(12);
}

int main(void)
{
	mpa_wl_leak();
	mpa_wl_peak();
	mpa_wl_churn();
	mpa_wl_resize();
	mpa_wl_map();
	mpa_wl_fail();
	mpa_wl_brk();
	return 3;
}
