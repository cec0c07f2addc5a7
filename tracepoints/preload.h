/* libmpa-preload.so internals shared by its source files: preload.c (the
 * hooks, the early table, the process life cycle) and preload_stack.c (a
 * thread's stack range and the stack walkers).  Nothing here is exported:
 * the library is built with -fvisibility=hidden, and only MPA_EXPORT
 * symbols (the hooks, mpa_capture_stack) are visible to programs. */
#ifndef MPA_PRELOAD_H
#define MPA_PRELOAD_H

#include <stdint.h>

#include "mpa/event.h"

#define MPA_EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define STACK_MAX 128          /* hard cap of MPA_STACK_DEPTH */
#define FRAME_DEPTH_MAX 4096   /* stack_sample: most frames counted */

/* Per-thread state (initial-exec TLS: no allocation, no lazy TLS). */
struct mpa_tls {
	int guard;              /* inside a hook: nested calls pass through */
	int stack_state;        /* 0 unknown, 1 known, 2 unavailable */
	uintptr_t stack_lo;     /* lowest address of this thread's stack */
	uintptr_t stack_hi;     /* one past its highest address */
	uint32_t sample_ctr;    /* allocations since the last stack_sample */
	uint32_t numa_ctr;      /* allocations since the last numa_place */
	int scan_slot;          /* 1 + this thread's entry among the scan's threads, 0 none */
	uint32_t fp_walks;      /* frame-pointer walks of this thread not yet summed */
	uint32_t fp_shallow;    /* of them, the stacks left one frame deep */
	int in_live;            /* inside a live-set shard lock (the scan's stop waits) */
};

extern __thread struct mpa_tls mpa_tls __attribute__((tls_model("initial-exec")));

/* The stack walker (MPA_UNWIND), chosen once by the constructor.  auto:
 * frame pointers, and the DWARF unwind tables (libgcc's unwinder, lock-free)
 * when the frame-pointer walk stops after one frame (code built without
 * frame pointers). */
enum mpa_unwinder { MPA_UNWIND_FP, MPA_UNWIND_LIBUNWIND, MPA_UNWIND_AUTO };
extern enum mpa_unwinder mpa_cfg_unwind;
extern int (*mpa_unw_backtrace)(void **, int); /* libunwind's, when chosen */

/* Fills the calling thread's stack range once (may allocate: call with the
 * guard set, after libc is initialized). */
void mpa_stack_range_init(struct mpa_tls *t);
/* Frame-pointer walk from the hook frame fp0, never reading at or above hi
 * (0: only the first frame); up to max return addresses, innermost first;
 * the frame count (up to FRAME_DEPTH_MAX) into *depth when depth is set. */
unsigned mpa_walk_range(const uintptr_t *fp0, uintptr_t hi, uint64_t *buf, unsigned max,
	uint32_t *depth);
/* mpa_walk_range over the calling thread's stack, once its range is known. */
unsigned mpa_walk_fp(const uintptr_t *fp0, uint64_t *buf, unsigned max, uint32_t *depth);
/* The stack of the hook whose frame is fp0, with the configured walker. */
unsigned mpa_capture(const uintptr_t *fp0, uint64_t *buf, unsigned max);
/* libgcc's unwinder (no lock, no allocation): up to max return addresses
 * from the frame whose return address is `first` on (this library's own
 * frames before it skipped, at most 8); the count. */
unsigned mpa_unwind_from(uintptr_t first, uint64_t *buf, unsigned max);
/* Adds the calling thread's walk counts to the process's (at thread exit
 * and process exit). */
void mpa_stack_stats_flush(struct mpa_tls *t);
/* At process exit: appends "WALKS SHALLOW\n" (frame-pointer walks, and
 * those that stopped after one frame) to the file MPA_STACK_STATS names,
 * for mpa-record's shallow-stack warning.  No stdio, no allocation. */
void mpa_stack_stats_write(const char *path);

/* ---- stack interning (preload_stacks.c) ---- */

/* MPA_STACK_IDS (0 = off) and the deepest stack configured. */
extern uint32_t mpa_cfg_stack_ids;
extern unsigned mpa_cfg_stack_frames;
/* The id of stack f[0..n) in this image's table, defining it (mpa:stack)
 * when new; 0 when the event must carry its frames inline (interning off,
 * mpa:stack not enabled, table full, the stack being defined by another
 * thread). */
uint32_t mpa_stack_intern(const uint64_t *f, unsigned n);
/* mpa_capture, then interning: the frames to write inline (0 when *id is
 * set). */
unsigned mpa_capture_interned(const uintptr_t *fp0, uint64_t *buf, unsigned max,
	unsigned *id);
/* In a fork child: the parent's table is dropped, the child makes its own. */
void mpa_stacks_after_fork(void);

/* ---- the exit-time reachability scan (preload_scan.c) ---- */

/* MPA_LEAK_SCAN (default 1): keep the live-block set and scan at exit. */
extern int mpa_cfg_scan;
/* MPA_LIBC_FREERES (default 1): run libstdc++'s and glibc's freeres at exit,
 * before the scan, as valgrind does. */
extern int mpa_cfg_freeres;
void mpa_run_freeres(void);
/* Set while mpa_run_freeres runs (the live set is then complete): a free
 * of a block not in the set is the tracer's own, allocated untraced. */
extern int mpa_in_freeres;

/* A block's reachability at exit: the mpa:leak_scan `kind` field is an
 * enum mpa_reach (include/mpa/event.h). */
#define MPA_REACH_N MPA_REACH_COUNT_

struct mpa_scan_result {
	int done;                 /* the scan ran */
	uint64_t blocks;          /* live blocks scanned */
	uint64_t count[MPA_REACH_N];
	uint64_t root_bytes;      /* bytes of roots read */
	uint32_t threads_running; /* other threads alive (not stopped) */
	uint64_t ns;              /* time the scan took */
};

typedef void (*mpa_scan_emit_fn)(void *arg, const void *ptr, uint8_t kind);

/* The live set: called by the hooks with the guard set. */
void mpa_live_add(const void *p, uint64_t size);
/* Removes p; its size, or UINT64_MAX when p was not in the set. */
uint64_t mpa_live_del(const void *p);
void mpa_live_lock_all(void);
void mpa_live_unlock_all(void);
/* The stack ranges of the process's threads (a slot, or -1 when full). */
int mpa_scan_thread_add(uintptr_t lo, uintptr_t hi);
void mpa_scan_thread_del(int slot);
/* In a fork child: only the calling thread exists. */
void mpa_scan_threads_after_fork(void);
/* Scans (when enabled and the set is complete), then calls emit for every
 * live block with its kind, the set unlocked.  res->done = 0 when not run. */
/* preload_stop.c: the other threads of the process, stopped for the scan.
 * mpa_stop_threads lists them, signals those that do not block the signal
 * and waits (bounded) for them to park; returns how many were asked (*out:
 * their entries, `state` MPA_PARKED for those parked).  buf: scratch.
 * mpa_resume_threads lets them go. */
#define MPA_PARKED 2
#define MPA_PARKED_REGS 23
struct mpa_parked {
	int tid;
	int state;
	uintptr_t sp;          /* the stack pointer it was stopped at */
	uintptr_t lo, hi;      /* its stack range, when it knows it (else 0) */
	uintptr_t self;        /* pthread_self() */
	uint64_t regs[MPA_PARKED_REGS];
};
int mpa_stop_threads(struct mpa_parked **out, int max, char *buf, size_t buflen);
void mpa_resume_threads(void);

void mpa_leak_scan(struct mpa_scan_result *res, mpa_scan_emit_fn emit, void *arg);

#endif /* MPA_PRELOAD_H */
