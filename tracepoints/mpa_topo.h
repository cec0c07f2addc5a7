/* The machine's topology read from sysfs, written as an mpa topology file
 * (doc/recording.md, "The topology file") for the converter's --topology.
 * Used by mpa-record; tracepoints/ never links libmpt, so this has its own
 * struct with the same limits as the capture's topology table. */
#ifndef MPA_TOPO_H
#define MPA_TOPO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPA_TOPO_MAX_CPUS 4096
#define MPA_TOPO_MAX_NODES 1024

struct mpa_topo {
	uint32_t ncpus;        /* highest possible cpu + 1 */
	uint32_t nnodes;       /* highest possible node + 1 (1 without NUMA) */
	uint32_t page_size;
	uint32_t cache_line;   /* bytes, 0 = unknown */
	uint64_t l1d, l2, l3;  /* bytes, 0 = unknown */
	int32_t cpu_node[MPA_TOPO_MAX_CPUS];   /* -1 = unknown */
	int has_distance;
	uint16_t distance[MPA_TOPO_MAX_NODES][MPA_TOPO_MAX_NODES]; /* only when has_distance */
};

/* Reads sysfs under `sysfs` (normally "/sys"; tests point it at a fixture
 * tree): devices/system/cpu/possible, devices/system/node/{possible,
 * nodeN/cpulist, nodeN/distance}, devices/system/cpu/cpu0/cache/indexK/
 * {level,type,size,coherency_line_size}.  A machine without
 * devices/system/node is one node holding every cpu.  Cache sizes sysfs
 * lacks come from sysconf() when sysfs is "/sys" (the running host).
 * Returns 0, or -1 with one line in err. */
int mpa_topo_read(const char *sysfs, struct mpa_topo *t, char *err, size_t errlen);

/* Writes t in the topology file format.  Returns 0, or -1 (errno set). */
int mpa_topo_write(FILE *f, const struct mpa_topo *t);

#endif
