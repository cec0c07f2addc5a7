/* wl-early: its library libwl-early.so allocates in its constructor before
 * tracing is live (see wl_early_lib.c).  main frees the 4242-byte block
 * (its early allocation must precede that free in the trace) and all
 * WL_EARLY_MANY blocks, keeps the 4141-byte one, and exits 0. */
#include <stdio.h>
#include <stdlib.h>

extern void *mpa_early_block;
extern void *mpa_early_kept;
extern void **mpa_early_many;
extern unsigned long mpa_early_many_n;

int main(void)
{
	if (mpa_early_block == NULL || mpa_early_kept == NULL)
		return 1;
	free(mpa_early_block);
	for (unsigned long i = 0; i < mpa_early_many_n; i++)
		free(mpa_early_many[i]);
	free(mpa_early_many);
	printf("early %p\n", mpa_early_kept);
	return 0;
}
