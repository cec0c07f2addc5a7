/*
 * gen-perf-seeds DIR — writes the perf.data fixtures (plain, compressed,
 * pipe) into DIR as seeds for the perf.data fuzzer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "perf_fixtures.h"

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		struct pw *(*fn)(struct pf_expect *);
	} fx[] = {
		{ "mem_loads", pf_mem_loads },
		{ "cache_misses", pf_cache_misses },
		{ "skip_fields", pf_skip_fields },
		{ "ver0", pf_ver0 },
		{ "mem_loads_z", pf_mem_loads_z },
		{ "cache_misses_z", pf_cache_misses_z },
		{ "mem_loads_pipe", pf_mem_loads_pipe },
		{ "cache_misses_pipe_z", pf_cache_misses_pipe_z },
		{ "kmem", pf_kmem },
		{ "kmem_pipe", pf_kmem_pipe },
	};
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-perf-seeds DIR\n");
		return 2;
	}
	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct pf_expect e;
		struct pw *w = fx[i].fn(&e);
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.data", argv[1], fx[i].name);
		if (pw_write(w, path) != 0) {
			fprintf(stderr, "gen-perf-seeds: '%s': cannot write\n", path);
			pw_free(w);
			return 1;
		}
		pw_free(w);
	}
	return 0;
}
