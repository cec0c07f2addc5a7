/* The topology file (`mpa-record --save-topology FILE`; format in
 * doc/recording.md, "The topology file") read into the capture's topology
 * table.  The file is hostile input: every line is checked. */
#ifndef CVT_TOPO_H
#define CVT_TOPO_H

#include <stddef.h>

#include "mpa/mpt.h"

/* Reads path into t (t->cpu_node and t->distance are allocated: free with
 * cvt_topo_release).  Returns 0, or -1 with one line in err naming the
 * file, the line and the reason. */
int cvt_topo_load(const char *path, struct mpt_topology *t, char *err, size_t errlen);
void cvt_topo_release(struct mpt_topology *t);

#endif
