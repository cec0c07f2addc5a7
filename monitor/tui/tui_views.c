/* mpa-top — the table of views (tab order).  A view for a new analyzer is
 * one line: its tab name, the analyzer's name (its summary is shown at the
 * capture's end; "not in this build" when the registry lacks it), the
 * event kinds it needs.
 */
#include "mpa/event.h"
#include "tui.h"

#define K(k) MPT_KINDBIT(MPA_KIND_##k)

const struct top_view top_views[] = {
	{"Memory", NULL, 0, NULL, top_view_memory},
	{"Sites", NULL, K(ALLOC) | K(REALLOC), "allocation", top_view_sites},
	{"Leaks", "leak", K(ALLOC) | K(REALLOC), "allocation", top_view_leaks},
	{"Threads", NULL, K(ALLOC) | K(REALLOC) | K(THREAD_START) | K(STACK_SAMPLE),
	 "allocation or thread", top_view_threads},
	{"NUMA", NULL, K(NUMA_PLACE), "numa_place", top_view_numa},
	{"Cache", "cache", K(CACHE_SAMPLE), "cache_sample", top_view_cache},
	{"Frag", "frag", K(ALLOC) | K(REALLOC), "allocation", top_view_analyzer},
	{"Pools", "pool", K(POOL_CREATE) | K(POOL_ALLOC), "pool", top_view_analyzer},
};

const size_t top_nviews = sizeof top_views / sizeof top_views[0];
