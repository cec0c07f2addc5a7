/* libwl-early.so: a library whose constructor allocates.  The program
 * wl-early needs it, so the loader runs this constructor before
 * libmpa-preload.so's (an LD_PRELOAD library is initialized after the
 * program's own dependencies): its blocks are "early" allocations.
 *
 * Built WITHOUT frame pointers: the early stacks must come from the unwind
 * tables, as for the distributions' libraries (libstdc++, libnuma...).
 *
 * WL_EARLY_MANY=N (environment) also allocates N blocks of 4343 bytes, to
 * overflow the preload's early table. */
#include <stdlib.h>
#include <string.h>

void *mpa_early_block;        /* 4242 bytes, freed by main */
void *mpa_early_kept;         /* 4141 bytes, never freed */
void **mpa_early_many;        /* WL_EARLY_MANY blocks of 4343 bytes */
unsigned long mpa_early_many_n;

__attribute__((noinline)) void *mpa_early_ctor_alloc(size_t size)
{
	void *p = malloc(size);

	/* used after the call: malloc is not a tail call */
	if (p)
		memset(p, 0x5a, size);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) static void mpa_early_many_alloc(unsigned long n)
{
	mpa_early_many = calloc(n, sizeof *mpa_early_many);
	if (mpa_early_many == NULL)
		return;
	for (unsigned long i = 0; i < n; i++)
		mpa_early_many[i] = mpa_early_ctor_alloc(4343);
	mpa_early_many_n = n;
}

__attribute__((constructor, noinline)) void mpa_early_ctor(void)
{
	const char *many = getenv("WL_EARLY_MANY");

	mpa_early_block = mpa_early_ctor_alloc(4242);
	mpa_early_kept = mpa_early_ctor_alloc(4141);
	if (many)
		mpa_early_many_alloc(strtoul(many, NULL, 10));
	__asm__ volatile("" : : : "memory");
}
