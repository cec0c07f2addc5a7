/* mpa — the normalized event model.
 *
 * This header is the contract between the converter (which maps every trace
 * source onto it), the .mpt format (which stores it column by column) and the
 * analyzers (which read it back).  See ../../doc/format.md for the on-disk
 * form and DESIGN.md for where each field comes from.
 *
 * One record = one struct mpa_event.  Every record has kind, ts, pid, tid,
 * cpu, domain and flags; the other fields are meaningful only for the kinds
 * listed beside them (mpa_kind_fields() gives the exact set) and are 0
 * otherwise.  Only the meaningful fields are stored in a capture.
 */
#ifndef MPA_EVENT_H
#define MPA_EVENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Record kinds.  Values are stored on disk: never renumber, only append. */
enum mpa_kind {
	MPA_KIND_ALLOC = 1,        /* a heap block was handed out */
	MPA_KIND_FREE = 2,         /* a heap block was returned */
	MPA_KIND_REALLOC = 3,      /* ptr (old) became new_ptr; keeps the link */
	MPA_KIND_MAP = 4,          /* mmap / mremap target / brk growth */
	MPA_KIND_UNMAP = 5,        /* munmap / mremap source / brk shrink */
	MPA_KIND_KALLOC = 6,       /* kernel kmalloc / kmem_cache_alloc / page alloc */
	MPA_KIND_KFREE = 7,        /* kernel kfree / kmem_cache_free / page free */
	MPA_KIND_POOL_CREATE = 8,  /* custom pool created (mpa pool API) */
	MPA_KIND_POOL_ALLOC = 9,   /* object taken from a custom pool */
	MPA_KIND_POOL_FREE = 10,   /* object returned to a custom pool */
	MPA_KIND_POOL_DESTROY = 11,/* custom pool destroyed */
	MPA_KIND_THREAD_START = 12,/* thread started: stack range */
	MPA_KIND_THREAD_EXIT = 13, /* thread exited */
	MPA_KIND_STACK_SAMPLE = 14,/* stack depth sample */
	MPA_KIND_NUMA_PLACE = 15,  /* page/block found on a NUMA node */
	MPA_KIND_CACHE_SAMPLE = 16,/* hardware/software counter sample */
	MPA_KIND_PROC_EXEC = 17,   /* pid replaced its image: its heap starts afresh */
	MPA_KIND_PROC_EXIT = 18,   /* process exited */
	MPA_KIND_LOST = 19,        /* the tracer discarded events */
	MPA_KIND_PROC_FORK = 20,   /* pid was created by fork from ppid: it starts
				    * with a copy of the parent's live heap */
	MPA_KIND_LEAK_SCAN = 21,   /* exit-time reachability scan (format 3.0):
				    * ptr != 0: the live block at ptr, status =
				    * enum mpa_reach; ptr == 0: the scan of
				    * this process is complete, status = the
				    * other threads still running (not stopped) */
	MPA_KIND_COUNT_ = 22       /* one past the last valid kind */
};

/* A block's reachability at exit (leak_scan rows' status), valgrind
 * memcheck's leak kinds.  Stored on disk. */
enum mpa_reach {
	MPA_REACH_REACHABLE = 0,  /* still reachable: a pointer to its start */
	MPA_REACH_POSSIBLE = 1,   /* possibly lost: only interior pointers reach it */
	MPA_REACH_INDIRECT = 2,   /* indirectly lost: reachable only from lost blocks */
	MPA_REACH_DEFINITE = 3,   /* definitely lost: no pointer to it outside lost blocks */
	MPA_REACH_COUNT_ = 4
};

enum mpa_domain {
	MPA_DOMAIN_USER = 0,
	MPA_DOMAIN_KERNEL = 1
};

/* Record flags (bit set in mpa_event.flags). Stored on disk. */
enum mpa_flag {
	MPA_FLAG_EARLY = 1u << 0,      /* recorded before the tracer was live, emitted later */
	MPA_FLAG_FAILED = 1u << 1,     /* the call failed (ptr is 0 / result != 0) */
	MPA_FLAG_TS_APPROX = 1u << 2,  /* timestamp is an estimate (e.g. early events) */
	MPA_FLAG_SYNTH = 1u << 3       /* synthesized by the converter (e.g. realloc split) */
};

/* Allocation APIs (mpa_event.api for alloc, realloc, free). Stored on disk. */
enum mpa_api {
	MPA_API_UNKNOWN = 0,
	MPA_API_MALLOC = 1,
	MPA_API_CALLOC = 2,
	MPA_API_REALLOC = 3,
	MPA_API_REALLOCARRAY = 4,
	MPA_API_MEMALIGN = 5,
	MPA_API_POSIX_MEMALIGN = 6,
	MPA_API_ALIGNED_ALLOC = 7,
	MPA_API_VALLOC = 8,
	MPA_API_PVALLOC = 9,
	MPA_API_NEW = 10,
	MPA_API_NEW_ARRAY = 11,
	MPA_API_FREE = 12,
	MPA_API_DELETE = 13,
	MPA_API_DELETE_ARRAY = 14,
	/* map kinds */
	MPA_API_MMAP = 20,
	MPA_API_MUNMAP = 21,
	MPA_API_MREMAP = 22,
	MPA_API_BRK = 23,
	MPA_API_SBRK = 24,
	/* kernel allocator families (kalloc/kfree) */
	MPA_API_KMALLOC = 30,
	MPA_API_KMEM_CACHE = 31,
	MPA_API_PAGE = 32,
	MPA_API_COUNT_ = 33
};

/* Counters of cache_sample records. Stored on disk. */
enum mpa_counter {
	MPA_CTR_UNKNOWN = 0,
	MPA_CTR_L1D_MISS = 1,
	MPA_CTR_LLC_MISS = 2,
	MPA_CTR_DTLB_MISS = 3,
	MPA_CTR_CACHE_REF = 4,
	MPA_CTR_CACHE_MISS = 5,
	MPA_CTR_MEM_LOAD = 6,
	MPA_CTR_MEM_STORE = 7,
	MPA_CTR_PAGE_FAULT = 8,
	MPA_CTR_COUNT_ = 9
};

/* One normalized record.  Field use by kind (others are 0):
 *
 *  field        kinds: meaning
 *  ptr          alloc, free, realloc (old ptr), kalloc, kfree, pool_alloc,
 *               pool_free: block address; map, unmap: start address;
 *               numa_place: address probed; thread_start: stack base (lowest
 *               address); cache_sample: data address (0 = none)
 *  new_ptr      realloc: the new block (0 if it failed)
 *  size         alloc, realloc: bytes requested; map, unmap: length;
 *               kalloc: bytes_req; pool_create: object size; pool_alloc:
 *               object size; thread_start: stack size; stack_sample: bytes
 *               of stack in use (base - sp); lost: number of events lost
 *  usable       alloc, realloc: malloc_usable_size (0 = unknown);
 *               kalloc: bytes_alloc; pool_create: capacity (objects)
 *  align        alloc: requested alignment (0 = default)
 *  api          alloc, realloc, free, map, unmap, kalloc, kfree: enum mpa_api
 *  stack_id     alloc, free, realloc, map, unmap, pool_alloc, pool_free,
 *               stack_sample, kalloc, kfree, cache_sample: stack table id
 *               (0 = none)
 *  prot         map: PROT_* bits
 *  mflags       map: MAP_* flags; kalloc: gfp flags
 *  node         kalloc: NUMA node (-1 = any); numa_place: node found
 *  order        kalloc, kfree with api page: page order
 *  ip           kalloc, kfree: call_site; cache_sample: sampled ip
 *  pool_id      pool_*: pool identifier
 *  frame_depth  stack_sample: number of frames
 *  counter      cache_sample: enum mpa_counter
 *  period       cache_sample: sample period
 *  weight       cache_sample: weight (e.g. load latency), 0 = none
 *  data_src     cache_sample: perf data_src bits, 0 = none
 *  str_id       proc_exec: new image path; pool_create: pool name;
 *               lost: stream name (string table ids)
 *  status       proc_exit: exit status
 *  end_ts       lost: end of the lost interval (0 = unknown)
 *  ppid         proc_fork: the parent's pid (pid is the child)
 */
struct mpa_event {
	uint64_t ts;        /* ns, one clock per capture */
	uint64_t ptr;
	uint64_t new_ptr;
	uint64_t size;
	uint64_t usable;
	uint64_t align;
	uint64_t ip;
	uint64_t period;
	uint64_t weight;
	uint64_t data_src;
	uint64_t end_ts;
	int32_t pid;
	int32_t tid;
	int32_t node;
	int32_t status;
	uint32_t cpu;
	uint32_t stack_id;
	uint32_t prot;
	uint32_t mflags;
	uint32_t pool_id;
	uint32_t frame_depth;
	uint32_t str_id;
	uint16_t flags;     /* enum mpa_flag bits */
	uint8_t kind;       /* enum mpa_kind */
	uint8_t domain;     /* enum mpa_domain */
	uint8_t api;        /* enum mpa_api */
	uint8_t order;
	uint8_t counter;    /* enum mpa_counter */
	int32_t ppid;       /* appended (format 2.0): earlier members keep their offsets */
};

/* Lower-case names: "alloc", "free", ... ; NULL for an invalid kind. */
const char *mpa_kind_name(unsigned kind);
/* Kind from its name, or 0 if unknown. */
unsigned mpa_kind_from_name(const char *name);
/* "malloc", "calloc", ...; "unknown" for an invalid value. */
const char *mpa_api_name(unsigned api);
/* "l1d_miss", ...; "unknown" for an invalid value. */
const char *mpa_counter_name(unsigned counter);

#ifdef __cplusplus
}
#endif
#endif /* MPA_EVENT_H */
