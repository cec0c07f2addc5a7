/* mpa — the heap model: the one replay of a capture that every analyzer
 * shares (analyzers/core/heap.c).
 *
 * Like perf's `machine` for the heap: processes and their images, blocks,
 * mappings, pools and kernel objects live here once.  The pass feeds every
 * row to the model first; the model updates itself and hands each analyzer
 * the row together with what it derived (struct mpa_row: the image, the
 * block that became live, the block that ended, anomalies), and calls the
 * lifecycle hooks (image ended with its live set, process forked).
 *
 * Rules that exist only here (doc/heap-model.md has them with reasons):
 *  - an image is a pid from its first row, its fork or its exec to its exec,
 *    its exit (+ the exit grace) or the capture's end;
 *  - rows of a pid up to MPA_EXIT_GRACE_NS after its proc_exit belong to the
 *    exiting image (libraries' destructors free after the exit hook); a
 *    later row, or a proc_fork of that pid, starts a new image (pid reuse);
 *  - proc_fork copies the parent's live blocks, mappings, pools and pool
 *    objects into the child (MPA_BLK_INHERITED); the child's frees of them
 *    are ordinary frees;
 *  - a free of a pointer that is not live is an anomaly: a double free when
 *    the image freed that address before, else an unknown free;
 *  - blocks whose stack is the tracer's own (mpa_sites_is_tracer) carry
 *    MPA_BLK_TRACER; early blocks with at most one frame carry
 *    MPA_BLK_STARTUP; analyzers leave both out of the program's numbers;
 *  - kernel objects (kalloc/kfree) live in one kernel image (pid -1); those
 *    allocated in the context of a pid that has no image carry
 *    MPA_BLK_HOST (host-wide events, not the traced tree's).
 */
#ifndef MPA_HEAP_H
#define MPA_HEAP_H

#include <stdint.h>

#include "mpt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of a pid this long after its proc_exit still belong to it. */
#define MPA_EXIT_GRACE_NS UINT64_C(1000000000)

enum mpa_blk_flag {
	MPA_BLK_EARLY = 1u << 0,     /* allocated before the tracer was live */
	MPA_BLK_TRACER = 1u << 1,    /* the tracer's own allocation (by its stack) */
	MPA_BLK_STARTUP = 1u << 2,   /* early, with no usable stack: the start-up */
	MPA_BLK_INHERITED = 1u << 3, /* copied from the parent at fork */
	MPA_BLK_REALLOC = 1u << 4,   /* made by a realloc */
	MPA_BLK_HOST = 1u << 5       /* a kernel object allocated in the context of
				      * a pid outside the traced tree (no image):
				      * host-wide, not the program's */
};

/* One heap block (or pool object, or kernel object). */
struct mpa_block {
	uint64_t ptr;
	uint64_t size;      /* bytes requested */
	uint64_t usable;    /* usable size, 0 = unknown */
	uint64_t ts;        /* allocation time (ns, capture clock) */
	uint32_t stack_id;  /* allocation stack (0 = none); pool objects too */
	uint32_t aux;       /* pool objects: pool id; kernel objects: call-site index */
	uint16_t chain;     /* growing reallocs that led to this block (saturates) */
	uint8_t flags;      /* enum mpa_blk_flag */
	uint8_t state : 4;  /* internal: live / freed */
	/* Where it was made, when the pass decodes the cpu (and node) column,
	 * i.e. when an analyzer asks for MPT_COL_CPU (MPT_COL_NODE): */
	uint16_t cpu;       /* the allocating row's cpu, UINT16_MAX = unknown */
	int16_t node;       /* kalloc's node when it names one, else the cpu's node
			     * in the capture's topology; -1 = unknown */
	uint8_t reach : 4; /* exit-time reachability scan: 0 = no status,
			     * else 1 + enum mpa_reach (leak_scan rows) */
	/* One word for the analyzer of the pass that sets
	 * MPA_NEED_BLOCK_SCRATCH (at most one may): 0 when the block becomes
	 * live (fork copies too), then the analyzer's alone
	 * (mpa_block_set_scratch), e.g. an index into its own per-block
	 * derived state, so it needs no table keyed by address.  It is
	 * read back from the block the row ends (row->old, row->dup).
	 * It sits in the struct's padding. */
	uint32_t scratch;
};

/* Sets b's scratch word (the analyzer owning it only; blocks handed out
 * are the model's, const for everything else). */
static inline void mpa_block_set_scratch(const struct mpa_block *b, uint32_t v)
{
	((struct mpa_block *)b)->scratch = v;
}

/* A mapping of an image: [start, start + len). */
struct mpa_map {
	uint64_t start, len, ts;
	uint32_t stack_id;
	uint32_t prot;
	uint8_t api;        /* enum mpa_api: mmap, mremap, brk, sbrk */
	uint8_t flags;      /* MPA_BLK_TRACER / MPA_BLK_STARTUP / MPA_BLK_INHERITED */
};

/* A custom pool (mpa pool API). */
struct mpa_pool {
	uint32_t id, name;        /* name: string id */
	uint64_t obj_size, capacity, ts;
};

enum mpa_image_end {
	MPA_IMAGE_RUNNING = 0,
	MPA_IMAGE_EXIT = 1,        /* proc_exit (ended after the grace) */
	MPA_IMAGE_EXEC = 2,        /* replaced by exec */
	MPA_IMAGE_CAPTURE_END = 3  /* still running when the capture ended */
};

/* One process image.  Fields are read-only for analyzers. */
struct mpa_image {
	uint32_t id;              /* 1.. in order of appearance; unique in the pass */
	int32_t pid;              /* -1 for the kernel image */
	uint32_t seq;             /* earlier images of this pid in the pass */
	uint32_t path;            /* string id of the exec'd image, 0 unknown */
	uint32_t parent;          /* id of the image it was forked from, 0 none */
	int32_t ppid;             /* parent pid from proc_fork, 0 unknown */
	int kernel;               /* the kernel's objects */
	int exited;               /* proc_exit seen (rows in the grace still come) */
	int32_t exit_status;
	uint64_t start_ts;        /* first row, fork or exec */
	uint64_t exit_ts;         /* proc_exit time (when exited) */
	uint64_t end_ts;          /* when it ended (exit time for an exit) */
	enum mpa_image_end how;
	/* program blocks now live (neither tracer nor start-up) */
	uint64_t live_bytes, live_blocks;
	uint64_t inherited_bytes, inherited_blocks; /* copied at fork */
	/* the process's exit-time reachability scan completed (a leak_scan
	 * row with ptr 0): its blocks then carry `reach`; scan_threads = the
	 * other threads that were still running during it */
	int scanned;
	int32_t scan_threads;
};

enum mpa_anomaly {
	MPA_ANOM_NONE = 0,
	MPA_ANOM_DOUBLE_FREE,         /* free of an address this image freed before */
	MPA_ANOM_UNKNOWN_FREE,        /* free of an address never seen live */
	MPA_ANOM_UNKNOWN_REALLOC,     /* realloc of an address never seen live */
	MPA_ANOM_FREED_REALLOC,       /* realloc of a freed address */
	MPA_ANOM_ALLOC_LIVE,          /* allocation at an address still live */
	MPA_ANOM_POOL_DOUBLE_FREE,
	MPA_ANOM_POOL_UNKNOWN_FREE,
	MPA_ANOM_COUNT_
};

/* "double_free", ... */
const char *mpa_anomaly_name(unsigned a);

/* One row with what the heap model derived from it.  Pointers are valid
 * during the call only. */
struct mpa_row {
	const struct mpt_batch *b;   /* the batch (weak) */
	uint32_t i;                  /* the row in it */
	uint8_t kind;
	uint8_t anomaly;             /* enum mpa_anomaly */
	uint8_t failed;              /* the call failed or returned NULL: nothing changed */
	uint8_t tracer;              /* a free by the tracer itself (by its stack) of a
				      * block never seen live: no anomaly, nothing
				      * changed; analyzers leave it out */
	uint64_t ts;
	struct mpa_image *img;       /* the row's image (the kernel image for
				      * kalloc/kfree); NULL for rows that
				      * belong to no image (a free in a pid
				      * never seen, kind not replayed) */
	/* alloc, realloc, kalloc, pool_alloc: the block that became live */
	const struct mpa_block *blk;
	/* free, realloc, kfree, pool_free: the block that ended */
	const struct mpa_block *old;
	/* alloc/realloc/kalloc/pool_alloc at a live address: the block it
	 * replaced (its free was never seen) */
	const struct mpa_block *dup;
	/* map: the mapping added; unmap: bytes of known mappings removed */
	const struct mpa_map *map;
	uint64_t unmapped;
	/* pool_create, pool_destroy: the pool (destroy: before it is dropped,
	 * its objects still iterable with mpa_image_next_pool_object) */
	const struct mpa_pool *pool;
	/* proc_exec: the image it ended (already passed to on_image_end) */
	const struct mpa_image *ended;
};

/* Iterates an image's live blocks (program, tracer and start-up alike; see
 * flags).  Start with *cursor = 0; NULL at the end.  Order is unspecified. */
const struct mpa_block *mpa_image_next_block(const struct mpa_image *img, uint64_t *cursor);
/* Same for its live pool objects (aux = pool id). */
const struct mpa_block *mpa_image_next_pool_object(const struct mpa_image *img,
						   uint64_t *cursor);
/* Its mappings, sorted by start, disjoint. */
const struct mpa_map *mpa_image_maps(const struct mpa_image *img, uint64_t *n);
/* Its pools. */
const struct mpa_pool *mpa_image_pools(const struct mpa_image *img, uint64_t *n);
/* The call site (ip) of kernel objects' aux index, 0 when unknown. */
uint64_t mpa_image_kernel_site(const struct mpa_image *kimg, uint32_t idx);
/* Live block at ptr in img, NULL when none. */
const struct mpa_block *mpa_image_find(const struct mpa_image *img, uint64_t ptr);

/* Address-ordered queries over an image's live heap blocks (kernel objects
 * in the kernel image).  They work only when an analyzer of the pass sets
 * MPA_NEED_ADDR_INDEX in its `needs`; without it both return NULL.  The
 * index is built lazily from the block table (doc/heap-model.md): a query
 * right after many changes costs O(live blocks), later ones O(log n). */
/* The live block with ptr <= addr < ptr + max(size, usable, 1) (of
 * overlapping blocks, which only a contradictory capture has, the one with
 * the highest ptr <= addr); NULL when none. */
const struct mpa_block *mpa_image_find_containing(const struct mpa_image *img, uint64_t addr);
/* Live blocks in increasing ptr order: start with *cursor = 0; NULL at the
 * end.  The image must not change during the walk (an analyzer's callback
 * never sees it change). */
const struct mpa_block *mpa_image_next_block_by_addr(const struct mpa_image *img,
						    uint64_t *cursor);

#ifdef __cplusplus
}
#endif
#endif /* MPA_HEAP_H */
