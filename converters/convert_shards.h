/* mpa-convert --jobs: the plan of parallel decoding (convert_shards.c).
 * See doc/converting.md, "Parallel decoding". */
#ifndef MPA_CONVERT_SHARDS_H
#define MPA_CONVERT_SHARDS_H

#include <babeltrace2/babeltrace.h>
#include <stddef.h>

struct cvt_plan {
	char *tmpdir;      /* folder of the pieces (owned; removed by cvt_plan_free) */
	bt_value *param;   /* sink.mpa.mpt's `shards`: streams, each its pieces (owned) */
	size_t streams, pieces;
	unsigned long long copied; /* bytes copied into pieces */
};

/* Cuts the stream files of the CTF trace folder `dir` (an LTTng trace:
 * `metadata`, stream files, `index/`) into about `jobs` pieces at packet
 * boundaries.  Returns 0 with the plan, 1 when the trace is not cut (why
 * says why: a single piece, discarded events or packets in the index, no
 * usable index...), -1 on a system error (why says which). */
int cvt_plan_make(const char *dir, unsigned jobs, struct cvt_plan *pl, char *why, size_t whylen);
void cvt_plan_free(struct cvt_plan *pl);

#endif /* MPA_CONVERT_SHARDS_H */
