/* A library the converter tests dlopen from cvt-workload (argument `dl`),
 * so that its allocations are symbolized through lttng_ust_dl:dlopen. */
#include <stdlib.h>

__attribute__((noinline)) void *cvt_dlib_alloc(void)
{
	return malloc(7777); /* SITE:dlib */
}
