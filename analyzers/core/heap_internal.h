/* mpa analysis core — the heap model's internal state, shared by heap.c
 * (the replay) and heap_addr.c (the address index).  Nothing outside
 * analyzers/core/heap*.c includes this.
 */
#ifndef MPA_CORE_HEAP_INTERNAL_H
#define MPA_CORE_HEAP_INTERNAL_H

#include <stdint.h>

#include "heap.h"

enum { B_EMPTY = 0, B_LIVE = 1 };

/* Addresses freed lately, to tell a double free from a free of an address
 * never seen: direct-mapped on (image, address), so a later free that
 * lands on the same slot forgets the older one (bounded memory, no
 * tombstones in the block tables). */
#define RECENT_BITS 16

struct recent {
	uint64_t ptr;
	uint32_t img;   /* image id + 1 (0 = empty); pool objects have bit 31 */
	uint32_t pad;
};

/* Open addressing on the address, linear probing, at most half full, no
 * tombstones (a delete shifts the following cluster back). */
struct btab {
	struct mpa_block *t;    /* (owned) */
	uint64_t cap;           /* power of two, 0 = no table */
	uint64_t live;
};

/* The address index, built lazily (doc/heap-model.md): `base` holds the
 * addresses live when it was last built, sorted; addresses allocated since
 * go into the small sorted `delta`; frees only count (`dead`): a candidate
 * is always checked against the block table.  Too many changes drop the
 * index; the next query rebuilds it from the block table with a radix sort.
 * A walk in address order merges the delta into base first and drops the
 * ended entries it meets as it goes, so walks rebuild nothing.
 * Rows therefore pay nothing while nobody asks, and little between asks. */
#define AIDX_DELTA 1024
struct aidx {
	uint64_t *base, *tmp;   /* (owned) sorted addresses; sort buffer */
	uint64_t nbase, cap;
	uint64_t *delta;        /* (owned) AIDX_DELTA slots, sorted */
	uint32_t ndelta;
	uint64_t dead;          /* frees since the build (an upper bound on
				 * base's ended entries) */
	int valid;              /* base (+ delta) covers every live block */
	int walking;            /* a walk is compacting base: [0, w) kept,
				 * [w, r) stale, [r, nbase) still to read */
	uint64_t w, r;
};

struct himg {
	struct mpa_image pub;   /* first: analyzers get &pub */
	struct btab heap;       /* malloc blocks */
	struct btab pobj;       /* pool objects */
	struct aidx aidx;       /* address index of heap's live blocks, when the
				 * pass asked for it */
	struct mpa_heap *owner; /* (weak) */
	struct mpa_map *maps;   /* sorted, disjoint (owned) */
	uint64_t nmaps, capmaps;
	struct mpa_pool *pools; /* (owned) */
	uint64_t npools, cappools;
	uint64_t *ksites;       /* kernel image: call sites (owned) */
	uint32_t nks, capks;
	uint32_t *ksmap;        /* open addressing: index + 1 (owned) */
	uint32_t kscap;
	int queued;             /* in the exited queue */
	int seen;               /* anything happened in it (for exec renaming) */
	struct himg *next;      /* pid hash chain */
};

/* Images a pid has had so far (for mpa_image.seq). */
struct pseq {
	int32_t pid;
	uint32_t next;
	int used;
};

struct mpa_heap {
	mpa_sites *sites;             /* (weak) */
	struct pseq *pseq;            /* open addressing on pid (owned) */
	size_t pseq_cap, pseq_used;
	const mpt_reader *reader;     /* (weak) */
	struct mpa_heap_hooks hooks;
	struct himg **buckets;        /* (owned) */
	size_t nbuckets, nimgs;
	struct himg *last;            /* lookup cache (weak) */
	struct himg *kernel;          /* (owned) */
	struct himg **exq;            /* exited images in exit order (owned array) */
	size_t nexq, capexq;
	uint32_t next_id;
	uint64_t now;
	int started;
	uint32_t nstacks;
	uint64_t page_size;
	const int32_t *cpu_node;  /* the topology's node of each cpu (weak), NULL = none */
	uint32_t ncpus, nnodes;
	/* copies handed out in rows */
	struct mpa_block oldc, dupc;
	struct mpa_map mapc;
	struct mpa_pool poolc;
	/* deferred pool destroy */
	struct himg *pd_img;
	uint32_t pd_id;
	int pd;
	struct recent *recent;        /* (owned) 1 << RECENT_BITS entries */
	struct mpa_heap_stats st;
	int addr_index;               /* keep himg.aidx (mpa_heap_set_addr_index) */
	int aidx_oom;                 /* a query could not build its index */
};

/* The live entry of ptr in h, NULL when none (heap.c). */
struct mpa_block *mpa_heap__bt_find(const struct btab *h, uint64_t ptr);

/* The address index (heap_addr.c): a block became live at ptr in g / a
 * block of g ended / g is freed. */
void mpa_heap__aidx_add(const struct mpa_heap *h, struct himg *g, uint64_t ptr);
void mpa_heap__aidx_del(const struct mpa_heap *h, struct himg *g);
void mpa_heap__aidx_free(struct aidx *x);

#endif /* MPA_CORE_HEAP_INTERNAL_H */
