/* wl-aligned: in mpa_wl_aligned, one allocation of each aligned API, each
 * freed:  aligned_alloc(64, 640), valloc(1000), pvalloc(1000),
 * memalign(128, 300), posix_memalign(&p, 256, 500).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile wl_sink;

static void use(void *p, size_t n)
{
	memset(p, 3, n);
	wl_sink = p;
	free(p);
}

NOINLINE void mpa_wl_aligned(void)
{
	void *p;

	use(aligned_alloc(64, 640), 640);
	use(valloc(1000), 1000);
	use(pvalloc(1000), 1000);
	use(memalign(128, 300), 300);
	if (posix_memalign(&p, 256, 500) != 0)
		exit(1);
	use(p, 500);
}

int main(void)
{
	mpa_wl_aligned();
	return 0;
}
