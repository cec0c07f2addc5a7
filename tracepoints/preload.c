/* libmpa-preload.so: allocator, mapping, thread and process hooks that emit
 * the `mpa` LTTng-UST events (mpa_tp.h).  Loaded with LD_PRELOAD (mpa-record
 * does that); every hook forwards to the next definition (dlsym RTLD_NEXT).
 * Thread stack ranges and the stack walkers are in preload_stack.c (shared
 * declarations: preload.h).
 *
 * Rules this file keeps, because it runs inside other people's programs:
 *   - no recursion: an initial-exec TLS guard; a call made while the guard
 *     is set (by lttng-ust, by dlsym, by ourselves) goes straight through.
 *   - no dlsym recursion: while dlsym runs, allocations come from a static
 *     bootstrap arena whose blocks are never handed to the real free.
 *   - no stdio, no locks, no allocation on the traced path.  Stacks are
 *     captured into stack buffers; the early table is a static lock-free
 *     hash table.
 *   - nothing is captured when the event is disabled
 *     (lttng_ust_tracepoint_enabled is the first test).
 *   - frame-pointer walking never leaves the current thread's stack: each
 *     step must stay inside [current frame, stack top), be 8-aligned and
 *     strictly increasing, so code built without frame pointers yields a
 *     shorter (possibly partial) stack, never a fault.
 *
 * Environment (read once, in the constructor):
 *   MPA_STACK_DEPTH=N   frames per call stack (default 16, 0 = none, max 128)
 *   MPA_FREE_STACK_DEPTH=N  frames for mpa:free and mpa:unmap (default:
 *                       MPA_STACK_DEPTH; 0 halves the stack cost when free
 *                       sites do not matter)
 *   MPA_UNWIND=auto|fp|libunwind  stack walker (default auto: fp, DWARF
 *                       where the fp walk stops after one frame)
 *   MPA_LEAK_SCAN=0|1   keep the live-block set and run the exit-time
 *                       reachability scan (default 1; preload_scan.c)
 *   MPA_LIBC_FREERES=0|1  run libstdc++'s and glibc's freeres at exit, as
 *                       valgrind does (default 1)
 *   MPA_STACK_STATS=FILE  at exit, append "WALKS SHALLOW" (frame-pointer
 *                       walks, and those that stopped after one frame) to
 *                       FILE (mpa-record's shallow-stack warning)
 *   MPA_STACK_IDS=N     stacks interned per process image (default 262144,
 *                       0 = every event carries its frames; preload_stacks.c)
 *   MPA_STACK_SAMPLE=N  one mpa:stack_sample per N allocations per thread
 *                       (default 1024, 0 = off)
 *   MPA_NUMA_SAMPLE=N   every N allocations per thread, the node of the page
 *                       holding the block (move_pages): one mpa:numa_place
 *                       when that page is placed
 *                       (default 4096, 0 = off)
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unwind.h>

#include "mpa/event.h"
#include "mpa_tp.h"
#include "preload.h"

/* ---- configuration -------------------------------------------------------- */

static unsigned cfg_depth = 16;
static unsigned cfg_free_depth = 16; /* mpa:free and mpa:unmap stacks */
static uint32_t cfg_stack_sample = 1024;
static uint32_t cfg_numa_sample = 4096;

/* ---- the next definitions ------------------------------------------------- */

struct real_fns {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off64_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	void *(*sbrk)(intptr_t);
	int (*brk)(void *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *,
		void *(*)(void *), void *);
	void (*exit)(int);
	void (*_exit)(int);
	void (*_Exit)(int);
	int (*libc_start_main)(int (*)(int, char **, char **), int, char **,
		void (*)(void), void (*)(void), void (*)(void), void *);
};

static struct real_fns real;
static volatile int resolving; /* dlsym in progress: use the bootstrap arena */

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define RESOLVE(field, name) \
	__atomic_store_n((void **)&real.field, next_sym(name), __ATOMIC_RELAXED)

static void resolve_all(void)
{
	if (resolving)
		return;
	resolving = 1;
	RESOLVE(malloc, "malloc");
	RESOLVE(calloc, "calloc");
	RESOLVE(realloc, "realloc");
	RESOLVE(reallocarray, "reallocarray");
	RESOLVE(free, "free");
	RESOLVE(memalign, "memalign");
	RESOLVE(posix_memalign, "posix_memalign");
	RESOLVE(aligned_alloc, "aligned_alloc");
	RESOLVE(valloc, "valloc");
	RESOLVE(pvalloc, "pvalloc");
	RESOLVE(malloc_usable_size, "malloc_usable_size");
	RESOLVE(mmap, "mmap");
	RESOLVE(mmap64, "mmap64");
	RESOLVE(munmap, "munmap");
	RESOLVE(mremap, "mremap");
	RESOLVE(sbrk, "sbrk");
	RESOLVE(brk, "brk");
	RESOLVE(pthread_create, "pthread_create");
	RESOLVE(exit, "exit");
	RESOLVE(_exit, "_exit");
	RESOLVE(_Exit, "_Exit");
	RESOLVE(libc_start_main, "__libc_start_main");
	resolving = 0;
}

/* ---- bootstrap arena (only while dlsym runs) ------------------------------ */

static char boot_buf[64 * 1024] __attribute__((aligned(64)));
static size_t boot_used;

static int boot_owns(const void *p)
{
	return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof boot_buf;
}

static void *boot_alloc(size_t size, size_t align, int zero)
{
	size_t need, off;
	uintptr_t p;

	(void)zero; /* the arena is never reused: always zero */
	if (align < 16)
		align = 16;
	if (size > sizeof boot_buf || align > 4096)
		return NULL;
	need = (size + align + 16 + 15) & ~(size_t)15;
	off = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (off + need > sizeof boot_buf)
		return NULL;
	p = ((uintptr_t)boot_buf + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = size;
	return (void *)p;
}

static size_t boot_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* Call the next malloc/calloc/...: resolve first if needed; during dlsym
 * (or if resolution failed) use the arena. */
#define NEED(field) \
	(LIKELY(real.field != NULL) || (!resolving && (resolve_all(), real.field != NULL)))

static void *call_malloc(size_t n)
{
	return NEED(malloc) ? real.malloc(n) : boot_alloc(n, 16, 0);
}

static void *call_calloc(size_t n, size_t m)
{
	size_t total;

	if (NEED(calloc))
		return real.calloc(n, m);
	if (__builtin_mul_overflow(n, m, &total))
		return NULL;
	return boot_alloc(total, 16, 1);
}

static void call_free(void *p)
{
	if (p == NULL || boot_owns(p))
		return;
	if (NEED(free))
		real.free(p);
}

static size_t usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (boot_owns(p))
		return boot_size(p);
	return NEED(malloc_usable_size) ? real.malloc_usable_size(p) : 0;
}

/* ---- early allocations ---------------------------------------------------------- */

/* Blocks allocated before tracing is live (dynamic loader, lttng-ust's own
 * start, the constructors of libraries initialized before this one) and
 * still alive when it goes live are emitted then, flagged
 * MPA_FLAG_EARLY|MPA_FLAG_TS_APPROX, with the call stack captured at
 * allocation time (up to EARLY_DEPTH frames, see early_capture).
 *
 * Lock-free open addressing: a slot goes EMPTY -> BUSY (being written) ->
 * LIVE -> DEAD (freed, or claimed as BUSY and emitted); DEAD slots are
 * reused but never become EMPTY, so probe chains stay intact.  Static
 * memory only: 2048 slots of 288 bytes (576 KiB of .bss, of which only the
 * pages of used slots are ever touched).  A real program keeps ~300 early
 * blocks live (lttng-ust's start-up is most of them).  An allocation that
 * finds no free slot within EARLY_PROBE of its hash is not recorded: it is
 * counted in early_dropped, which go_live emits as mpa:early_dropped; that
 * block's later free shows as a free of an unknown pointer. */
#define EARLY_SLOTS 2048
#define EARLY_PROBE 64  /* a block sits at most this far from its hash */
#define EARLY_DEPTH 32  /* frames kept per early block (MPA_STACK_DEPTH caps it) */
/* The main thread's stack is walked up to __libc_stack_end (the stack
 * pointer at process entry), other threads' up to their thread descriptor
 * (glibc keeps it at the top of the thread's stack block); the span is
 * bounded so that a frame that is not on that stack is never followed. */
#define EARLY_SPAN_MAX ((uintptr_t)64 << 20)
enum { SLOT_EMPTY, SLOT_BUSY, SLOT_LIVE, SLOT_DEAD };

struct early_slot {
	uint32_t state;
	uint8_t api;
	uint8_t nstack;
	uintptr_t ptr;
	uint64_t size;
	uint64_t align;
	uint64_t stack[EARLY_DEPTH];  /* innermost first; stack[0] = the caller */
};

static struct early_slot early[EARLY_SLOTS];
static int early_open = 1;      /* still recording early allocations */
static int early_pending;       /* the table may hold LIVE slots */
static uint32_t early_dropped;  /* allocations that did not fit */

extern void *__libc_stack_end; /* the loader's: main thread's stack at entry */

/* The highest address the early walk from fp0 may read below, or 0 when
 * only the first frame is safe.  Touches no libc state that may not be
 * ready yet (the loader may be relocating): the stack range of the thread
 * when already known, else the main thread's entry stack pointer or the
 * thread's descriptor, both read without calling into libc beyond
 * syscall(). */
static uintptr_t early_stack_top(const uintptr_t *fp0)
{
	struct mpa_tls *t = &mpa_tls;
	uintptr_t fp = (uintptr_t)fp0, top;

	if (t->stack_state == 1)
		return fp >= t->stack_lo && fp < t->stack_hi ? t->stack_hi : 0;
	if (syscall(SYS_gettid) == syscall(SYS_getpid))
		top = (uintptr_t)__libc_stack_end;
	else
		top = (uintptr_t)pthread_self();
	if (top == 0 || fp >= top || top - fp > EARLY_SPAN_MAX)
		return 0;
	return top;
}

static unsigned early_hash(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ull;

	return (unsigned)(h >> 51) & (EARLY_SLOTS - 1);
}

/* The dynamic loader's address range [lo, hi), from its program headers
 * (AT_BASE); lo = hi = 0 when unknown (e.g. ld.so run as a program). */
static uintptr_t ldso_lo, ldso_hi;
static int ldso_state; /* 0 not yet, 1 known (or unknown for good) */

static void ldso_range_init(void)
{
	uintptr_t base = (uintptr_t)getauxval(AT_BASE), hi = 0;
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;

	if (base != 0 && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
			eh->e_phentsize == sizeof(ElfW(Phdr))) {
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);

		for (unsigned k = 0; k < eh->e_phnum; k++)
			if (ph[k].p_type == PT_LOAD &&
					base + ph[k].p_vaddr + ph[k].p_memsz > hi)
				hi = base + ph[k].p_vaddr + ph[k].p_memsz;
		if (hi > base) {
			ldso_lo = base;
			ldso_hi = hi;
		}
	}
	__atomic_store_n(&ldso_state, 1, __ATOMIC_RELEASE);
}

/* Set at the first early allocation whose caller is outside the loader:
 * the loader's start-up (dl_main) is over, constructors are running. */
static int startup_over;

/* The stack of an early allocation made from the hook whose frame is fp0.
 * System libraries (libc, the loader, liblttng-ust, libnuma...) are built
 * without frame pointers, so a frame-pointer walk stops (or goes astray)
 * at their first frame: the unwinder of libgcc_s (already a dependency of
 * this library, for -fexceptions) follows their .eh_frame instead.  It
 * finds the tables with _dl_find_object (glibc >= 2.35: lock-free, no
 * allocation) or dl_iterate_phdr.  glibc 2.36 sets _dl_find_object up
 * before its loader switches to the real malloc, but a loader that did it
 * afterwards would have half-built tables while its own start-up
 * allocations reach this hook: as long as only the loader has allocated
 * (start-up, before any constructor), allocations from the loader are
 * walked by frame pointers only (their site, a loader function, is all
 * such a block needs).  Whatever the unwinder cannot do, the bounded
 * frame-pointer walk does. */
static __attribute__((noinline)) unsigned early_capture(const uintptr_t *fp0,
	uint64_t *buf)
{
	uintptr_t caller = fp0[1];
	int in_ldso;

	if (UNLIKELY(__atomic_load_n(&ldso_state, __ATOMIC_ACQUIRE) == 0))
		ldso_range_init();
	in_ldso = caller >= ldso_lo && caller < ldso_hi;
	if (!in_ldso && ldso_hi != 0 && !__atomic_load_n(&startup_over, __ATOMIC_RELAXED))
		__atomic_store_n(&startup_over, 1, __ATOMIC_RELAXED);
	if (ldso_hi != 0 && (!in_ldso || __atomic_load_n(&startup_over, __ATOMIC_RELAXED))) {
		unsigned n = mpa_unwind_from(caller, buf, EARLY_DEPTH);

		if (n > 1)
			return n;
	} else if (in_ldso) {
		/* the loader's start-up: it has no frame pointers to follow */
		buf[0] = caller;
		return 1;
	}
	return mpa_walk_range(fp0, early_stack_top(fp0), buf, EARLY_DEPTH, NULL);
}

static void early_insert(uint8_t api, void *p, uint64_t size, uint64_t align,
	const uintptr_t *fp0)
{
	unsigned i = early_hash((uintptr_t)p);
	uint64_t stack[EARLY_DEPTH];
	unsigned n;
	int saved_errno = errno; /* the caller sees the real call's errno */

	if (p == NULL || boot_owns(p))
		return;
	n = early_capture(fp0, stack);
	errno = saved_errno;
	for (unsigned k = 0; k < EARLY_PROBE; k++, i = (i + 1) & (EARLY_SLOTS - 1)) {
		uint32_t st = __atomic_load_n(&early[i].state, __ATOMIC_RELAXED);

		/* DEAD slots are reused: chains stay short however many
		 * blocks come and go before tracing is live */
		if ((st != SLOT_EMPTY && st != SLOT_DEAD) ||
				!__atomic_compare_exchange_n(&early[i].state, &st, SLOT_BUSY,
					0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		early[i].api = api;
		early[i].ptr = (uintptr_t)p;
		early[i].size = size;
		early[i].align = align;
		early[i].nstack = (uint8_t)n;
		memcpy(early[i].stack, stack, n * sizeof *stack);
		__atomic_store_n(&early[i].state, SLOT_LIVE, __ATOMIC_RELEASE);
		__atomic_store_n(&early_pending, 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_add_fetch(&early_dropped, 1, __ATOMIC_RELAXED);
}

static void early_remove(void *p)
{
	unsigned i = early_hash((uintptr_t)p);

	for (unsigned k = 0; k < EARLY_PROBE; k++, i = (i + 1) & (EARLY_SLOTS - 1)) {
		uint32_t st = __atomic_load_n(&early[i].state, __ATOMIC_ACQUIRE);

		if (st == SLOT_EMPTY)
			return;
		if (st == SLOT_LIVE && early[i].ptr == (uintptr_t)p) {
			uint32_t expect = SLOT_LIVE;

			if (__atomic_compare_exchange_n(&early[i].state, &expect,
					SLOT_DEAD, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				return;
		}
	}
}

/* Emits the early allocation of slot i (if still LIVE): exactly once, by
 * whoever wins the LIVE -> BUSY exchange; the slot is copied out before it
 * becomes DEAD (reusable by an insert). */
static void early_emit_slot(unsigned i)
{
	struct early_slot *sl = &early[i];
	uint64_t stack[EARLY_DEPTH];
	uint32_t expect = SLOT_LIVE;
	unsigned n, max = cfg_depth < EARLY_DEPTH ? cfg_depth : EARLY_DEPTH;
	uint8_t api;
	uintptr_t ptr;
	uint64_t size, align, caller;

	if (!__atomic_compare_exchange_n(&sl->state, &expect, SLOT_BUSY, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	api = sl->api;
	ptr = sl->ptr;
	size = sl->size;
	align = sl->align;
	caller = sl->nstack ? sl->stack[0] : 0;
	n = sl->nstack < max ? sl->nstack : max;
	memcpy(stack, sl->stack, n * sizeof *stack);
	__atomic_store_n(&sl->state, SLOT_DEAD, __ATOMIC_RELEASE);
	if (lttng_ust_tracepoint_enabled(mpa, alloc))
		lttng_ust_do_tracepoint(mpa, alloc, (void *)(uintptr_t)caller,
			api, MPA_FLAG_EARLY | MPA_FLAG_TS_APPROX, (void *)ptr,
			size, align, usable_size((void *)ptr), 0, stack, n);
}

/* A traced free or realloc of p while the early table is being emitted:
 * emit p's early allocation first, so it never follows its free. */
static __attribute__((noinline, cold)) void early_emit_ptr(const void *p)
{
	unsigned i = early_hash((uintptr_t)p);

	for (unsigned k = 0; k < EARLY_PROBE; k++, i = (i + 1) & (EARLY_SLOTS - 1)) {
		uint32_t st = __atomic_load_n(&early[i].state, __ATOMIC_ACQUIRE);

		if (st == SLOT_EMPTY)
			return;
		if (st == SLOT_LIVE && early[i].ptr == (uintptr_t)p) {
			early_emit_slot(i);
			return;
		}
	}
}

#define EARLY_BEFORE_FREE(p) \
	do { if (UNLIKELY(__atomic_load_n(&early_pending, __ATOMIC_ACQUIRE)) && (p)) \
		early_emit_ptr(p); } while (0)

/* ---- going live ------------------------------------------------------------------- */

enum { LIVE_NOT_YET, LIVE_GOING, LIVE_DONE, LIVE_FORKED };
static int live_state;            /* LIVE_*: the image's first events emitted? */
/* mpa_preload_init has run.  Before it, with several sessions enabling
 * mpa:*, the tracepoints are already enabled while lttng-ust is still
 * connecting the later sessions (in the probe registration, whose
 * allocations come through the hooks): an image that went live there lost
 * its proc_exec and early allocations in every session.  So until then
 * allocations go to the early table and the constructor goes live. */
static int ctor_done;
#define CTOR_DONE() LIKELY(__atomic_load_n(&ctor_done, __ATOMIC_RELAXED))
static uintptr_t main_stack_base; /* main thread's stack (constructor) */
static uint64_t main_stack_size;
static pid_t self_pid;            /* this process: constructor, fork child */
static pid_t fork_parent;         /* LIVE_FORKED: the parent's pid */

static void emit_thread_start(void)
{
	struct mpa_tls *t = &mpa_tls;

	if (t->stack_state == 0)
		mpa_stack_range_init(t);
	if (t->stack_state == 1 && lttng_ust_tracepoint_enabled(mpa, thread_start))
		lttng_ust_do_tracepoint(mpa, thread_start, NULL,
			(uint64_t)t->stack_lo, (uint64_t)(t->stack_hi - t->stack_lo));
}

/* First time an event is enabled in this process image: say which image
 * this is, describe the main thread, then emit the early allocations. */
static __attribute__((noinline, cold)) void go_live(void)
{
	static char path[4096];
	ssize_t len;
	int expect = 0;
	uint32_t dropped;

	if (!__atomic_compare_exchange_n(&live_state, &expect, LIVE_GOING, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	len = readlink("/proc/self/exe", path, sizeof path - 1);
	path[len > 0 ? len : 0] = '\0';
	if (lttng_ust_tracepoint_enabled(mpa, proc_exec))
		lttng_ust_do_tracepoint(mpa, proc_exec, NULL, path);
	if (main_stack_size && syscall(SYS_gettid) == getpid() &&
			lttng_ust_tracepoint_enabled(mpa, thread_start))
		lttng_ust_do_tracepoint(mpa, thread_start, NULL,
			(uint64_t)main_stack_base, main_stack_size);
	/* closed first: an allocation racing with the scan below is then
	 * either traced (the event is enabled) or already in the table */
	__atomic_store_n(&early_open, 0, __ATOMIC_RELEASE);
	if (__atomic_load_n(&early_pending, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < EARLY_SLOTS; i++)
			early_emit_slot(i);
		__atomic_store_n(&early_pending, 0, __ATOMIC_RELEASE);
	}
	dropped = __atomic_load_n(&early_dropped, __ATOMIC_RELAXED);
	if (dropped && lttng_ust_tracepoint_enabled(mpa, early_dropped))
		lttng_ust_do_tracepoint(mpa, early_dropped, NULL, dropped);
	__atomic_store_n(&live_state, LIVE_DONE, __ATOMIC_RELEASE);
}

/* The first events of a forked child: mpa:proc_fork, once, by whichever
 * thread of the child gets here first, and mpa:thread_start for the main
 * thread when that is the one. */
static __attribute__((noinline, cold)) void fork_live(void)
{
	int expect = LIVE_FORKED;

	if (!__atomic_compare_exchange_n(&live_state, &expect, LIVE_GOING, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	if (lttng_ust_tracepoint_enabled(mpa, proc_fork))
		lttng_ust_do_tracepoint(mpa, proc_fork, NULL, (int32_t)fork_parent);
	/* the thread that forked is the child's main thread (tid == pid):
	 * its stack, copied, is the child's main stack */
	if (syscall(SYS_gettid) == self_pid)
		emit_thread_start();
	__atomic_store_n(&live_state, LIVE_DONE, __ATOMIC_RELEASE);
}

/* Events of a process image start with go_live's (a forked child's with
 * fork_live's); another thread arriving meanwhile (for a few milliseconds
 * at most) waits for it. */
static __attribute__((noinline, cold)) void wait_live(void)
{
	if (!__atomic_load_n(&ctor_done, __ATOMIC_ACQUIRE))
		return; /* see ctor_done */
	if (__atomic_load_n(&live_state, __ATOMIC_ACQUIRE) == LIVE_FORKED)
		fork_live();
	else
		go_live();
	while (__atomic_load_n(&live_state, __ATOMIC_ACQUIRE) != LIVE_DONE)
		sched_yield();
}

#define CHECK_LIVE() \
	do { if (UNLIKELY(__atomic_load_n(&live_state, __ATOMIC_ACQUIRE) != LIVE_DONE)) \
		wait_live(); } while (0)

/* EXIT_EMITTED once mpa:proc_exit is emitted: what the process does
 * afterwards (lttng-ust's own teardown) is not part of its recorded life. */
static int exit_state;
enum { EXIT_NONE, EXIT_NOTED, EXIT_EMITTED };

/* In the child of a fork (glibc runs this before returning from fork,
 * before liblttng-ust-fork's handler has even reset lttng-ust's cached
 * vpid, and with its locks held): no event may be emitted here.  The
 * child's first event, whatever hook makes it, is mpa:proc_fork instead
 * (wait_live); so it comes before the frees of blocks the child inherited,
 * lttng-ust's own included.  A fork while the image was not live yet
 * (no session) leaves the child to go live like any image.  A fork while
 * another thread was inside go_live: that thread does not exist in the
 * child, which must not wait for it.  vfork and posix_spawn run no fork
 * handlers: their child execs at once (its image goes live with
 * mpa:proc_exec) or _exits (see in_own_process). */
static void atfork_child(void)
{
	mpa_live_unlock_all();
	mpa_scan_threads_after_fork();
	mpa_stacks_after_fork();
	fork_parent = self_pid;
	self_pid = (pid_t)syscall(SYS_getpid);
	__atomic_store_n(&exit_state, EXIT_NONE, __ATOMIC_RELAXED);
	if (__atomic_load_n(&live_state, __ATOMIC_ACQUIRE) != LIVE_NOT_YET)
		__atomic_store_n(&live_state, LIVE_FORKED, __ATOMIC_RELEASE);
}

/* ---- emitters (called with the guard set; fp0 = the hook's frame) ------------ */

#define AFTER_EXIT() UNLIKELY(__atomic_load_n(&exit_state, __ATOMIC_RELAXED) == EXIT_EMITTED)

static inline uint64_t page_align(void); /* the page size (below) */

static __attribute__((noinline)) void sample_after_alloc(const uintptr_t *fp0,
	const void *ip, void *p)
{
	struct mpa_tls *t = &mpa_tls;

	if (cfg_stack_sample && ++t->sample_ctr >= cfg_stack_sample &&
			lttng_ust_tracepoint_enabled(mpa, stack_sample)) {
		uint64_t stack[STACK_MAX];
		uint32_t depth = 0;
		unsigned n;

		t->sample_ctr = 0;
		if (t->stack_state == 0)
			mpa_stack_range_init(t);
		n = mpa_walk_fp(fp0, stack, cfg_depth, &depth);
		if (t->stack_state == 1 && (uintptr_t)fp0 >= t->stack_lo &&
				(uintptr_t)fp0 < t->stack_hi)
			lttng_ust_do_tracepoint(mpa, stack_sample, ip,
				(uint64_t)(t->stack_hi - ((uintptr_t)fp0 + 2 * sizeof(uintptr_t))),
				depth, stack, n);
	}
	if (cfg_numa_sample && p && ++t->numa_ctr >= cfg_numa_sample &&
			lttng_ust_tracepoint_enabled(mpa, numa_place)) {
		void *page = (void *)((uintptr_t)p & ~(uintptr_t)(page_align() - 1));
		int status = -1;

		t->numa_ctr = 0;
		/* move_pages without target nodes: the node the page holding p
		 * is on, without faulting it in.  get_mempolicy(MPOL_F_ADDR)
		 * faulted an untouched page in for reading, i.e. mapped the zero
		 * page, and reported the zero page's node: a page not placed yet
		 * (status -ENOENT, or -EFAULT for the zero page) has no node and
		 * gets no sample. */
		if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) == 0) {
			if (status >= 0)
				lttng_ust_do_tracepoint(mpa, numa_place, ip, p, (int32_t)status);
		} else if (errno == ENOSYS) {
			cfg_numa_sample = 0;
		}
	}
}

static __attribute__((noinline)) void emit_alloc(const uintptr_t *fp0,
	const void *ip, uint8_t api, void *p, uint64_t size, uint64_t align,
	int failed)
{
	uint64_t stack[STACK_MAX];
	unsigned n, id;
	/* a traced call leaves errno as the real call set it */
	int saved_errno = errno;

	if (AFTER_EXIT())
		return;
	CHECK_LIVE();
	n = mpa_capture_interned(fp0, stack, cfg_depth, &id);
	lttng_ust_do_tracepoint(mpa, alloc, ip, api,
		failed ? MPA_FLAG_FAILED : 0, p, size, align, usable_size(p),
		id, stack, n);
	sample_after_alloc(fp0, ip, p);
	errno = saved_errno;
}

static __attribute__((noinline)) void emit_free(const uintptr_t *fp0,
	const void *ip, uint8_t api, void *p)
{
	uint64_t stack[STACK_MAX];
	unsigned n, id;
	int saved_errno = errno;

	if (AFTER_EXIT())
		return;
	CHECK_LIVE();
	EARLY_BEFORE_FREE(p);
	n = mpa_capture_interned(fp0, stack, cfg_free_depth, &id);
	lttng_ust_do_tracepoint(mpa, free, ip, api, 0, p, id, stack, n);
	errno = saved_errno;
}

static __attribute__((noinline)) void emit_realloc(const uintptr_t *fp0,
	const void *ip, uint8_t api, void *old, void *p, uint64_t size, int failed)
{
	uint64_t stack[STACK_MAX];
	unsigned n, id;
	int saved_errno = errno;

	if (AFTER_EXIT())
		return;
	CHECK_LIVE();
	EARLY_BEFORE_FREE(old);
	n = mpa_capture_interned(fp0, stack, cfg_depth, &id);
	lttng_ust_do_tracepoint(mpa, realloc, ip, api,
		failed ? MPA_FLAG_FAILED : 0, old, p, size, usable_size(p),
		id, stack, n);
	if (p)
		sample_after_alloc(fp0, ip, p);
	errno = saved_errno;
}

static __attribute__((noinline)) void emit_map(const uintptr_t *fp0,
	const void *ip, uint8_t api, void *addr, uint64_t len, uint32_t prot,
	uint32_t mflags)
{
	uint64_t stack[STACK_MAX];
	unsigned n, id;
	int saved_errno = errno;

	if (AFTER_EXIT())
		return;
	CHECK_LIVE();
	n = mpa_capture_interned(fp0, stack, cfg_depth, &id);
	lttng_ust_do_tracepoint(mpa, map, ip, api, addr, len, prot, mflags, id, stack, n);
	errno = saved_errno;
}

static __attribute__((noinline)) void emit_unmap(const uintptr_t *fp0,
	const void *ip, uint8_t api, void *addr, uint64_t len)
{
	uint64_t stack[STACK_MAX];
	unsigned n, id;
	int saved_errno = errno;

	if (AFTER_EXIT())
		return;
	CHECK_LIVE();
	n = mpa_capture_interned(fp0, stack, cfg_free_depth, &id);
	lttng_ust_do_tracepoint(mpa, unmap, ip, api, addr, len, id, stack, n);
	errno = saved_errno;
}

/* ---- allocation hooks --------------------------------------------------------- */

#define HOOK_ENTER(t) struct mpa_tls *t = &mpa_tls; \
	if (UNLIKELY(t->guard)) goto passthrough; \
	t->guard = 1
#define HOOK_FRAME ((const uintptr_t *)__builtin_frame_address(0))
#define HOOK_IP __builtin_return_address(0)

/* After an allocation `p`: trace it, or remember it while tracing is not live. */
#define AFTER_ALLOC(api, p, size, align, failed) do { \
	if (!(failed)) \
		mpa_live_add((p), (size)); \
	if (lttng_ust_tracepoint_enabled(mpa, alloc) && CTOR_DONE()) \
		emit_alloc(HOOK_FRAME, HOOK_IP, (api), (p), (size), (align), (failed)); \
	else if (UNLIKELY(__atomic_load_n(&early_open, __ATOMIC_RELAXED))) \
		early_insert((api), (p), (size), (align), HOOK_FRAME); \
} while (0)

#define BEFORE_FREE(api, p) do { \
	/* before the free: the exit scan may be reading it; libc's freeres \
	 * also frees blocks the tracer allocated untraced: not recorded */ \
	if (mpa_live_del(p) == UINT64_MAX && UNLIKELY(mpa_in_freeres)) \
		break; \
	if (lttng_ust_tracepoint_enabled(mpa, free) && CTOR_DONE()) \
		emit_free(HOOK_FRAME, HOOK_IP, (api), (p)); \
	else if (UNLIKELY(__atomic_load_n(&early_pending, __ATOMIC_RELAXED))) \
		early_remove(p); \
} while (0)

MPA_EXPORT void *malloc(size_t size)
{
	void *p;

	HOOK_ENTER(t);
	p = call_malloc(size);
	AFTER_ALLOC(MPA_API_MALLOC, p, size, 0, p == NULL);
	t->guard = 0;
	return p;
passthrough:
	return call_malloc(size);
}

MPA_EXPORT void *calloc(size_t n, size_t m)
{
	void *p;
	size_t total;

	HOOK_ENTER(t);
	p = call_calloc(n, m);
	if (__builtin_mul_overflow(n, m, &total))
		total = SIZE_MAX;
	AFTER_ALLOC(MPA_API_CALLOC, p, total, 0, p == NULL);
	t->guard = 0;
	return p;
passthrough:
	return call_calloc(n, m);
}

MPA_EXPORT void free(void *p)
{
	if (p == NULL)
		return;
	HOOK_ENTER(t);
	if (!boot_owns(p))
		BEFORE_FREE(MPA_API_FREE, p);
	call_free(p);
	t->guard = 0;
	return;
passthrough:
	call_free(p);
}

/* realloc of a bootstrap block: move it into the real heap, never free it */
static void *realloc_from_boot(void *old, size_t size)
{
	void *p = call_malloc(size);
	size_t keep = boot_size(old);

	if (p && size)
		memcpy(p, old, keep < size ? keep : size);
	return p;
}

static void *call_realloc(void *old, size_t size)
{
	if (old && boot_owns(old))
		return realloc_from_boot(old, size);
	if (NEED(realloc))
		return real.realloc(old, size);
	if (old)
		return NULL;
	return boot_alloc(size, 16, 0);
}

static void *call_reallocarray(void *old, size_t n, size_t m)
{
	size_t total;

	if (__builtin_mul_overflow(n, m, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if ((old && boot_owns(old)) || !NEED(reallocarray))
		return call_realloc(old, total);
	return real.reallocarray(old, n, m);
}

/* Common tail of realloc/reallocarray: `size` requested, `p` result. */
#define AFTER_REALLOC(api, old, p, size) do { \
	int failed_ = (p) == NULL && (size) != 0; \
	if (failed_ && (old) && old_size_ != UINT64_MAX) \
		mpa_live_add((old), old_size_); /* unchanged */ \
	else if ((p)) \
		mpa_live_add((p), (size)); \
	if (lttng_ust_tracepoint_enabled(mpa, realloc) && CTOR_DONE()) { \
		emit_realloc(HOOK_FRAME, HOOK_IP, (api), (old), (p), (size), failed_); \
	} else if (UNLIKELY(__atomic_load_n(&early_open, __ATOMIC_RELAXED) || \
			__atomic_load_n(&early_pending, __ATOMIC_RELAXED))) { \
		if ((old) && !failed_) \
			early_remove(old); \
		if (__atomic_load_n(&early_open, __ATOMIC_RELAXED)) \
			early_insert((api), (p), (size), 0, HOOK_FRAME); \
	} \
} while (0)

MPA_EXPORT void *realloc(void *old, size_t size)
{
	void *p;

	HOOK_ENTER(t);
	/* out of the live set before the call frees or moves it */
	uint64_t old_size_ = old && !boot_owns(old) ? mpa_live_del(old) : UINT64_MAX;
	p = call_realloc(old, size);
	AFTER_REALLOC(MPA_API_REALLOC, old, p, size);
	t->guard = 0;
	return p;
passthrough:
	return call_realloc(old, size);
}

MPA_EXPORT void *reallocarray(void *old, size_t n, size_t m)
{
	void *p;
	size_t total;

	HOOK_ENTER(t);
	uint64_t old_size_ = old && !boot_owns(old) ? mpa_live_del(old) : UINT64_MAX;
	p = call_reallocarray(old, n, m);
	if (__builtin_mul_overflow(n, m, &total))
		total = SIZE_MAX;
	AFTER_REALLOC(MPA_API_REALLOCARRAY, old, p, total);
	t->guard = 0;
	return p;
passthrough:
	return call_reallocarray(old, n, m);
}

static void *call_memalign(size_t align, size_t size)
{
	return NEED(memalign) ? real.memalign(align, size) : boot_alloc(size, align, 0);
}

MPA_EXPORT void *memalign(size_t align, size_t size)
{
	void *p;

	HOOK_ENTER(t);
	p = call_memalign(align, size);
	AFTER_ALLOC(MPA_API_MEMALIGN, p, size, align, p == NULL);
	t->guard = 0;
	return p;
passthrough:
	return call_memalign(align, size);
}

static int call_posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (NEED(posix_memalign))
		return real.posix_memalign(out, align, size);
	p = boot_alloc(size, align, 0);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

MPA_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int rc;

	HOOK_ENTER(t);
	rc = call_posix_memalign(out, align, size);
	AFTER_ALLOC(MPA_API_POSIX_MEMALIGN, rc == 0 ? *out : NULL, size, align, rc != 0);
	t->guard = 0;
	return rc;
passthrough:
	return call_posix_memalign(out, align, size);
}

static void *call_aligned_alloc(size_t align, size_t size)
{
	return NEED(aligned_alloc) ? real.aligned_alloc(align, size) :
		boot_alloc(size, align, 0);
}

MPA_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	void *p;

	HOOK_ENTER(t);
	p = call_aligned_alloc(align, size);
	AFTER_ALLOC(MPA_API_ALIGNED_ALLOC, p, size, align, p == NULL);
	t->guard = 0;
	return p;
passthrough:
	return call_aligned_alloc(align, size);
}

/* The page size, for the alignment valloc and pvalloc report: cached by the
 * constructor (an earlier call asks sysconf, which does not allocate). */
static uint64_t page_size;

static inline uint64_t page_align(void)
{
	return LIKELY(page_size != 0) ? page_size : (uint64_t)sysconf(_SC_PAGESIZE);
}

/* valloc and pvalloc: the same hook, page-aligned */
#define PAGE_ALLOC_HOOK(sym, api) \
static void *call_##sym(size_t size) \
{ \
	return NEED(sym) ? real.sym(size) : boot_alloc(size, 4096, 0); \
} \
\
MPA_EXPORT void *sym(size_t size) \
{ \
	void *p; \
\
	HOOK_ENTER(t); \
	p = call_##sym(size); \
	AFTER_ALLOC(api, p, size, page_align(), p == NULL); \
	t->guard = 0; \
	return p; \
passthrough: \
	return call_##sym(size); \
}

PAGE_ALLOC_HOOK(valloc, MPA_API_VALLOC)
PAGE_ALLOC_HOOK(pvalloc, MPA_API_PVALLOC)

MPA_EXPORT size_t malloc_usable_size(void *p)
{
	return usable_size(p);
}

/* ---- C++ operators new and delete ------------------------------------------------ */

/* operator new: take the block from the next malloc (or memalign) directly,
 * as libstdc++ does; only when that fails, hand over to the next operator
 * new (new_handler loop, std::bad_alloc) with the guard released, so that
 * what it allocates (the exception object) is traced like any malloc.
 * Deletes call the next operator delete with the guard set (its free is not
 * traced twice); this file is built with -fexceptions and a cleanup handler
 * restores the guard if anything unwinds through. */
static void guard_reset(int *g)
{
	mpa_tls.guard = *g;
}

#define CXX_NEW(sym, api, decl_args, call_args, size_expr, align_expr) \
MPA_EXPORT void *sym decl_args \
{ \
	static void *(*next) decl_args; \
	struct mpa_tls *t = &mpa_tls; \
	size_t sz_ = (size_expr) ? (size_expr) : 1, al_ = (align_expr); \
	void *p; \
	if (UNLIKELY(next == NULL)) \
		next = (void *(*) decl_args)next_sym(#sym); \
	if (t->guard) \
		return next call_args; \
	{ \
		int saved __attribute__((cleanup(guard_reset))) = 0; \
		t->guard = 1; \
		p = al_ ? call_memalign(al_, sz_) : call_malloc(sz_); \
		if (UNLIKELY(p == NULL)) { \
			t->guard = 0; \
			return next call_args; \
		} \
		AFTER_ALLOC(api, p, size_expr, al_, 0); \
	} \
	return p; \
}

#define CXX_DELETE(sym, api, decl_args, call_args) \
MPA_EXPORT void sym decl_args \
{ \
	static void (*next) decl_args; \
	struct mpa_tls *t = &mpa_tls; \
	if (UNLIKELY(next == NULL)) \
		next = (void (*) decl_args)next_sym(#sym); \
	if (t->guard || p == NULL) { \
		next call_args; \
		return; \
	} \
	{ \
		int saved __attribute__((cleanup(guard_reset))) = 0; \
		t->guard = 1; \
		BEFORE_FREE(api, p); \
		next call_args; \
	} \
}

typedef struct { int dummy_; } mpa_nothrow_t; /* std::nothrow_t by reference */

/* declarations keep -Wmissing-prototypes quiet and fix the C linkage names */
void *_Znwm(size_t n);
void *_Znam(size_t n);
void *_ZnwmRKSt9nothrow_t(size_t n, const mpa_nothrow_t *nt);
void *_ZnamRKSt9nothrow_t(size_t n, const mpa_nothrow_t *nt);
void *_ZnwmSt11align_val_t(size_t n, size_t al);
void *_ZnamSt11align_val_t(size_t n, size_t al);
void _ZdlPv(void *p);
void _ZdaPv(void *p);
void _ZdlPvm(void *p, size_t n);
void _ZdaPvm(void *p, size_t n);
void _ZdlPvSt11align_val_t(void *p, size_t al);
void _ZdaPvSt11align_val_t(void *p, size_t al);
void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al);
void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al);

CXX_NEW(_Znwm, MPA_API_NEW, (size_t n), (n), n, 0)
CXX_NEW(_Znam, MPA_API_NEW_ARRAY, (size_t n), (n), n, 0)
CXX_NEW(_ZnwmRKSt9nothrow_t, MPA_API_NEW, (size_t n, const mpa_nothrow_t *nt), (n, nt), n, 0)
CXX_NEW(_ZnamRKSt9nothrow_t, MPA_API_NEW_ARRAY, (size_t n, const mpa_nothrow_t *nt), (n, nt), n, 0)
CXX_NEW(_ZnwmSt11align_val_t, MPA_API_NEW, (size_t n, size_t al), (n, al), n, al)
CXX_NEW(_ZnamSt11align_val_t, MPA_API_NEW_ARRAY, (size_t n, size_t al), (n, al), n, al)
CXX_DELETE(_ZdlPv, MPA_API_DELETE, (void *p), (p))
CXX_DELETE(_ZdaPv, MPA_API_DELETE_ARRAY, (void *p), (p))
CXX_DELETE(_ZdlPvm, MPA_API_DELETE, (void *p, size_t n), (p, n))
CXX_DELETE(_ZdaPvm, MPA_API_DELETE_ARRAY, (void *p, size_t n), (p, n))
CXX_DELETE(_ZdlPvSt11align_val_t, MPA_API_DELETE, (void *p, size_t al), (p, al))
CXX_DELETE(_ZdaPvSt11align_val_t, MPA_API_DELETE_ARRAY, (void *p, size_t al), (p, al))
CXX_DELETE(_ZdlPvmSt11align_val_t, MPA_API_DELETE, (void *p, size_t n, size_t al), (p, n, al))
CXX_DELETE(_ZdaPvmSt11align_val_t, MPA_API_DELETE_ARRAY, (void *p, size_t n, size_t al), (p, n, al))

/* ---- mappings ------------------------------------------------------------------------ */

static void *call_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (NEED(mmap))
		return real.mmap(addr, len, prot, flags, fd, off);
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

MPA_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	HOOK_ENTER(t);
	p = call_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && lttng_ust_tracepoint_enabled(mpa, map))
		emit_map(HOOK_FRAME, HOOK_IP, MPA_API_MMAP, p, len, (uint32_t)prot,
			(uint32_t)flags);
	t->guard = 0;
	return p;
passthrough:
	return call_mmap(addr, len, prot, flags, fd, off);
}

MPA_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	void *p;

	HOOK_ENTER(t);
	p = call_mmap(addr, len, prot, flags, fd, (off_t)off);
	if (p != MAP_FAILED && lttng_ust_tracepoint_enabled(mpa, map))
		emit_map(HOOK_FRAME, HOOK_IP, MPA_API_MMAP, p, len, (uint32_t)prot,
			(uint32_t)flags);
	t->guard = 0;
	return p;
passthrough:
	return call_mmap(addr, len, prot, flags, fd, (off_t)off);
}

static int call_munmap(void *addr, size_t len)
{
	if (NEED(munmap))
		return real.munmap(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

MPA_EXPORT int munmap(void *addr, size_t len)
{
	int rc;

	HOOK_ENTER(t);
	/* before the call: once unmapped, another thread may map the range */
	if (lttng_ust_tracepoint_enabled(mpa, unmap))
		emit_unmap(HOOK_FRAME, HOOK_IP, MPA_API_MUNMAP, addr, len);
	rc = call_munmap(addr, len);
	t->guard = 0;
	return rc;
passthrough:
	return call_munmap(addr, len);
}

static void *call_mremap(void *old, size_t old_len, size_t new_len, int flags,
	void *new_addr)
{
	if (NEED(mremap))
		return real.mremap(old, old_len, new_len, flags, new_addr);
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

MPA_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	HOOK_ENTER(t);
	p = call_mremap(old, old_len, new_len, flags, new_addr);
	if (p != MAP_FAILED && lttng_ust_tracepoint_enabled(mpa, map)) {
		emit_unmap(HOOK_FRAME, HOOK_IP, MPA_API_MREMAP, old, old_len);
		emit_map(HOOK_FRAME, HOOK_IP, MPA_API_MREMAP, p, new_len, 0,
			(uint32_t)flags);
	}
	t->guard = 0;
	return p;
passthrough:
	return call_mremap(old, old_len, new_len, flags, new_addr);
}

static void *call_sbrk(intptr_t inc)
{
	if (NEED(sbrk))
		return real.sbrk(inc);
	errno = ENOMEM;
	return (void *)-1;
}

MPA_EXPORT void *sbrk(intptr_t inc)
{
	void *old;

	HOOK_ENTER(t);
	old = call_sbrk(inc);
	if (old != (void *)-1 && inc != 0) {
		if (inc > 0 && lttng_ust_tracepoint_enabled(mpa, map))
			emit_map(HOOK_FRAME, HOOK_IP, MPA_API_SBRK, old, (uint64_t)inc,
				PROT_READ | PROT_WRITE, 0);
		else if (inc < 0 && lttng_ust_tracepoint_enabled(mpa, unmap))
			emit_unmap(HOOK_FRAME, HOOK_IP, MPA_API_SBRK,
				(char *)old + inc, (uint64_t)-inc);
	}
	t->guard = 0;
	return old;
passthrough:
	return call_sbrk(inc);
}

MPA_EXPORT int brk(void *addr)
{
	void *cur;
	int rc;

	HOOK_ENTER(t);
	cur = call_sbrk(0);
	rc = NEED(brk) ? real.brk(addr) : -1;
	if (rc == 0 && cur != (void *)-1 && addr != cur) {
		if ((char *)addr > (char *)cur && lttng_ust_tracepoint_enabled(mpa, map))
			emit_map(HOOK_FRAME, HOOK_IP, MPA_API_BRK, cur,
				(uint64_t)((char *)addr - (char *)cur), PROT_READ | PROT_WRITE, 0);
		else if ((char *)addr < (char *)cur && lttng_ust_tracepoint_enabled(mpa, unmap))
			emit_unmap(HOOK_FRAME, HOOK_IP, MPA_API_BRK, addr,
				(uint64_t)((char *)cur - (char *)addr));
	}
	t->guard = 0;
	return rc;
passthrough:
	return NEED(brk) ? real.brk(addr) : -1;
}

/* ---- threads --------------------------------------------------------------------------- */

struct tramp {
	void *(*fn)(void *);
	void *arg;
};

static void thread_exit_cleanup(int *unused)
{
	(void)unused;
	mpa_stack_stats_flush(&mpa_tls);
	if (mpa_tls.scan_slot)
		mpa_scan_thread_del(mpa_tls.scan_slot - 1);
	mpa_tls.scan_slot = 0;
	if (lttng_ust_tracepoint_enabled(mpa, thread_exit) && !AFTER_EXIT()) {
		struct mpa_tls *t = &mpa_tls;

		t->guard = 1;
		lttng_ust_do_tracepoint(mpa, thread_exit, NULL);
		t->guard = 0;
	}
}

static void *thread_tramp(void *opaque)
{
	struct tramp tr = *(struct tramp *)opaque;
	struct mpa_tls *t = &mpa_tls;
	int on_exit __attribute__((cleanup(thread_exit_cleanup))) = 0;

	(void)on_exit;
	t->guard = 1;
	call_free(opaque);
	mpa_stack_range_init(t);
	if (t->stack_state == 1)
		t->scan_slot = mpa_scan_thread_add(t->stack_lo, t->stack_hi) + 1;
	if (lttng_ust_tracepoint_enabled(mpa, thread_start)) {
		CHECK_LIVE();
		emit_thread_start();
	}
	t->guard = 0;
	return tr.fn(tr.arg);
}

MPA_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr,
	void *(*fn)(void *), void *arg)
{
	struct mpa_tls *t = &mpa_tls;
	struct tramp *tr;
	int rc, saved = t->guard;

	if (!NEED(pthread_create))
		return EAGAIN;
	t->guard = 1;
	tr = call_malloc(sizeof *tr);
	t->guard = saved;
	if (tr == NULL || boot_owns(tr))
		return real.pthread_create(th, attr, fn, arg);
	tr->fn = fn;
	tr->arg = arg;
	rc = real.pthread_create(th, attr, thread_tramp, tr);
	if (rc != 0) {
		t->guard = 1;
		call_free(tr);
		t->guard = saved;
	}
	return rc;
}

/* ---- process exit ------------------------------------------------------------------------ */

/* exit() and returning from main run atexit handlers and destructors, which
 * still free memory: the status is noted then, and mpa:proc_exit is emitted
 * by this library's destructor, late (it runs before lttng-ust's, which this
 * library depends on).  _exit and _Exit end the process at once: emitted
 * there. */
static int exit_status;
static const char *cfg_stack_stats; /* MPA_STACK_STATS (the environment's string) */

/* False in the child of vfork (or of a clone without fork handlers): it
 * shares (or copied) this library's state without being this process; its
 * _exit must not end the parent's recording, and lttng-ust would record
 * it under the parent's pid anyway. */
static int in_own_process(void)
{
	return self_pid == 0 || (pid_t)syscall(SYS_getpid) == self_pid;
}

static void emit_scan_block(void *arg, const void *ptr, uint8_t kind)
{
	(void)arg;
	lttng_ust_do_tracepoint(mpa, leak_scan, NULL, ptr, kind);
}

/* The exit-time reachability scan (preload_scan.c) runs here, after the
 * program's destructors and before mpa:proc_exit: its mpa:leak_scan
 * events belong to the exiting image. */
static void emit_proc_exit(int status)
{
	struct mpa_tls *t = &mpa_tls;
	int saved = t->guard;

	if (!in_own_process())
		return;
	/* libc's freeres, traced (its frees are the program's): before the
	 * exit is marked, after which nothing is recorded */
	if (__atomic_load_n(&exit_state, __ATOMIC_ACQUIRE) != EXIT_EMITTED &&
			lttng_ust_tracepoint_enabled(mpa, proc_exit))
		mpa_run_freeres();
	if (__atomic_exchange_n(&exit_state, EXIT_EMITTED, __ATOMIC_ACQ_REL) == EXIT_EMITTED)
		return;
	mpa_stack_stats_write(cfg_stack_stats);
	if (!lttng_ust_tracepoint_enabled(mpa, proc_exit))
		return;
	t->guard = 1;
	CHECK_LIVE();
	if (lttng_ust_tracepoint_enabled(mpa, leak_scan)) {
		struct mpa_scan_result res;

		mpa_leak_scan(&res, emit_scan_block, NULL);
		if (res.done)
			lttng_ust_do_tracepoint(mpa, leak_scan_end, NULL, res.blocks,
				res.count[MPA_REACH_DEFINITE], res.count[MPA_REACH_INDIRECT],
				res.count[MPA_REACH_POSSIBLE], res.count[MPA_REACH_REACHABLE],
				res.root_bytes, res.threads_running, res.ns);
	}
	lttng_ust_do_tracepoint(mpa, proc_exit, NULL, (int32_t)status);
	t->guard = saved;
}

static void note_exit(int status)
{
	int expect = EXIT_NONE;

	if (in_own_process() && __atomic_compare_exchange_n(&exit_state, &expect,
			EXIT_NOTED, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		exit_status = status;
}

static __attribute__((destructor)) void mpa_preload_fini(void)
{
	if (__atomic_load_n(&exit_state, __ATOMIC_ACQUIRE) == EXIT_NOTED)
		emit_proc_exit(exit_status);
}

MPA_EXPORT __attribute__((noreturn)) void exit(int status)
{
	note_exit(status);
	if (NEED(exit))
		real.exit(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

MPA_EXPORT __attribute__((noreturn)) void _exit(int status)
{
	emit_proc_exit(status);
	if (NEED(_exit))
		real._exit(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

MPA_EXPORT __attribute__((noreturn)) void _Exit(int status)
{
	emit_proc_exit(status);
	if (NEED(_Exit))
		real._Exit(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

/* Returning from main calls exit() inside libc, out of our reach: wrap main
 * to see its return value. */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_hook(int argc, char **argv, char **envp)
{
	int rc = real_main(argc, argv, envp);

	note_exit(rc);
	return rc;
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
	void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

MPA_EXPORT int __libc_start_main(main_fn main, int argc, char **argv,
	void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
	void *stack_end)
{
	if (!NEED(libc_start_main))
		syscall(SYS_exit_group, 127);
	real_main = main;
	return real.libc_start_main(main_hook, argc, argv, init, fini, rtld_fini,
		stack_end);
}

/* ---- constructor ------------------------------------------------------------------------------ */

static uint32_t env_u32(const char *name, uint32_t def, uint32_t max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0')
		return def;
	return v > max ? max : (uint32_t)v;
}

static __attribute__((constructor)) void mpa_preload_init(void)
{
	struct mpa_tls *t = &mpa_tls;
	const char *unwind;

	t->guard = 1;
	resolve_all();
	page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	cfg_depth = env_u32("MPA_STACK_DEPTH", 16, STACK_MAX);
	cfg_free_depth = env_u32("MPA_FREE_STACK_DEPTH", cfg_depth, STACK_MAX);
	cfg_stack_sample = env_u32("MPA_STACK_SAMPLE", 1024, UINT32_MAX);
	mpa_cfg_stack_ids = env_u32("MPA_STACK_IDS", mpa_cfg_stack_ids, INT32_MAX);
	mpa_cfg_stack_frames = cfg_depth > cfg_free_depth ? cfg_depth : cfg_free_depth;
	cfg_numa_sample = env_u32("MPA_NUMA_SAMPLE", 4096, UINT32_MAX);
	cfg_stack_stats = getenv("MPA_STACK_STATS");
	mpa_cfg_scan = env_u32("MPA_LEAK_SCAN", 1, 1) != 0;
	mpa_cfg_freeres = env_u32("MPA_LIBC_FREERES", 1, 1) != 0;
	unwind = getenv("MPA_UNWIND");
	if (unwind && strcmp(unwind, "libunwind") == 0) {
		void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);

		if (h)
			mpa_unw_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
		if (mpa_unw_backtrace)
			mpa_cfg_unwind = MPA_UNWIND_LIBUNWIND;
	} else if (unwind == NULL || strcmp(unwind, "fp") != 0) {
		mpa_cfg_unwind = MPA_UNWIND_AUTO;
	}
	self_pid = (pid_t)syscall(SYS_getpid);
	pthread_atfork(mpa_live_lock_all, mpa_live_unlock_all, atfork_child);
	mpa_stack_range_init(t);
	if (t->stack_state == 1) {
		main_stack_base = t->stack_lo;
		main_stack_size = t->stack_hi - t->stack_lo;
		t->scan_slot = mpa_scan_thread_add(t->stack_lo, t->stack_hi) + 1;
	}
	__atomic_store_n(&ctor_done, 1, __ATOMIC_RELEASE);
	if (lttng_ust_tracepoint_enabled(mpa, alloc) ||
			lttng_ust_tracepoint_enabled(mpa, proc_exec)) {
		go_live();
	} else {
		/* no session yet: what was allocated so far stays unknown, like
		 * everything allocated before a later session starts */
		__atomic_store_n(&early_open, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&early_pending, 0, __ATOMIC_RELEASE);
	}
	t->guard = 0;
}
