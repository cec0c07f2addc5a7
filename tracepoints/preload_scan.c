/* libmpa-preload.so: the exit-time reachability scan (issue 11).
 *
 * LeakSanitizer's idea without a rebuild: the preload keeps the set of live
 * heap blocks it handed out (address and requested size), and when the
 * process exits — after the program's destructors, from this library's own
 * late destructor or its _exit hook — it scans the roots conservatively
 * for pointers into those blocks, follows them through the blocks, and
 * tells each block's reachability in the trace (mpa:leak_scan), with
 * valgrind memcheck's kinds:
 *
 *   reachable  a pointer to the block's start was found in a root or in a
 *              reachable block;
 *   possible   only pointers into its interior reach it;
 *   indirect   not reached from the roots, but pointed to by a lost block;
 *   definite   nothing outside lost blocks points to it.
 *
 * Roots: the writable PT_LOAD segments of every loaded object
 * (dl_iterate_phdr), the exiting thread's stack from its stack pointer up
 * and its registers (spilled by __builtin_unwind_init and a jmp_buf), its
 * static and dynamic TLS blocks (dlpi_tls_data) and its thread descriptor,
 * and the whole stack range of every other thread this library saw start.
 * No roots: the brk heap and glibc's thread-arena heaps (free chunks, bins,
 * tcache: their live blocks are scanned when reached), this library's data
 * and the scan's own memory.  With glibc's malloc, a word pointing at the
 * header of the chunk that follows a block (inside the block's last usable
 * word) is glibc's free-list bookkeeping, not a pointer to the block.
 * The other threads are stopped first (preload_stop.c: a signal each, the
 * handler parks with its registers): a stopped thread's registers are
 * roots and its stack is read from its stack pointer up.  Threads that
 * block the signal (lttng-ust's) or do not park in time are read whole,
 * running, through process_vm_readv (a stack freed meanwhile is an error,
 * not a fault); the summary event says how many there were;
 * doc/analyzers-leak-kinds.md has the details.
 *
 * The rules of preload.c hold: no stdio, no locks on the hot path other
 * than the set's short per-shard spin locks, nothing allocated through
 * malloc (tables and scan arrays are mmap'd).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"

int mpa_cfg_scan = 1;
int mpa_cfg_freeres = 1;

/* valgrind's --run-libc-freeres and --run-cxx-freeres (both on by default):
 * libstdc++'s and glibc's own process-lifetime state (locale names, stdio
 * buffers, the emergency exception pool, NSS and gconv caches...) is
 * released before the scan, so what stays allocated at exit is what
 * valgrind calls "in use at exit".  glibc's mtrace does the same from an
 * exit handler.  Run once, with the hooks tracing the frees. */
/* Weak references, bound by the loader: no dlsym (a failed one leaves a
 * dlerror message behind, which is a block of its own). */
extern void __libc_freeres(void) __attribute__((weak));
extern void _ZN9__gnu_cxx9__freeresEv(void) __attribute__((weak));

int mpa_in_freeres;
static int live_incomplete;

/* Only with the scan (its set tells the program's blocks from the
 * tracer's: glibc's freeres also frees what the loader allocated for the
 * tracer's own dlopen of libunwind, untraced). */
void mpa_run_freeres(void)
{
	static int done;

	if (!mpa_cfg_freeres || !mpa_cfg_scan || live_incomplete ||
			__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	__atomic_store_n(&mpa_in_freeres, 1, __ATOMIC_RELEASE);
	if (_ZN9__gnu_cxx9__freeresEv)
		_ZN9__gnu_cxx9__freeresEv();
	if (__libc_freeres)
		__libc_freeres();
	__atomic_store_n(&mpa_in_freeres, 0, __ATOMIC_RELEASE);
}

/* ---- the live set: sharded open addressing, keyed by address -------------------- */

#define SHARDS 64
#define EMPTY 0

struct ent {
	uintptr_t ptr;   /* EMPTY: free slot */
	uint64_t size;
};

struct shard {
	int lock;
	uint32_t pad;
	struct ent *tab; /* mmap'd, cap entries (owned) */
	uint64_t cap, used;
	char align[64 - 32];
};

static struct shard shards[SHARDS] __attribute__((aligned(64)));

static inline uint64_t mix(uintptr_t p)
{
	uint64_t h = (uint64_t)p;

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static inline void spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			sched_yield();
	}
}

static inline void spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void *map_pages(uint64_t bytes)
{
	void *p = (void *)syscall(SYS_mmap, NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_pages(void *p, uint64_t bytes)
{
	if (p)
		syscall(SYS_munmap, p, (size_t)bytes);
}

static void put(struct ent *tab, uint64_t cap, uintptr_t ptr, uint64_t size)
{
	uint64_t m = cap - 1, i = mix(ptr) >> 6 & m;

	while (tab[i].ptr != EMPTY && tab[i].ptr != ptr)
		i = (i + 1) & m;
	tab[i].ptr = ptr;
	tab[i].size = size;
}

/* Grows s to twice its capacity (or 1024 slots); 0 or -1 when mmap fails. */
static int grow(struct shard *s)
{
	uint64_t nc = s->cap ? s->cap * 2 : 1024;
	struct ent *nt = map_pages(nc * sizeof *nt);

	if (nt == NULL)
		return -1;
	for (uint64_t k = 0; k < s->cap; k++)
		if (s->tab[k].ptr != EMPTY)
			put(nt, nc, s->tab[k].ptr, s->tab[k].size);
	unmap_pages(s->tab, s->cap * sizeof *s->tab);
	s->tab = nt;
	s->cap = nc;
	return 0;
}

/* live_incomplete (above) is set when an insertion could not be kept
 * (mmap failed): the scan would miss blocks, so it is not run (its absence
 * says "no kinds"). */

void mpa_live_add(const void *p, uint64_t size)
{
	uintptr_t ptr = (uintptr_t)p;
	struct shard *s;

	if (ptr == EMPTY || !mpa_cfg_scan)
		return;
	s = &shards[mix(ptr) & (SHARDS - 1)];
	mpa_tls.in_live = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* before the lock, for the stop's handler */
	spin_lock(&s->lock);
	if ((s->used + 1) * 2 > s->cap && grow(s) < 0) {
		live_incomplete = 1;
	} else {
		uint64_t m = s->cap - 1, i = mix(ptr) >> 6 & m;

		while (s->tab[i].ptr != EMPTY && s->tab[i].ptr != ptr)
			i = (i + 1) & m;
		if (s->tab[i].ptr == EMPTY)
			s->used++;
		s->tab[i].ptr = ptr;
		s->tab[i].size = size;
	}
	spin_unlock(&s->lock);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mpa_tls.in_live = 0;
}

uint64_t mpa_live_del(const void *p)
{
	uintptr_t ptr = (uintptr_t)p;
	uint64_t size = UINT64_MAX;
	struct shard *s;

	if (ptr == EMPTY || !mpa_cfg_scan)
		return size;
	s = &shards[mix(ptr) & (SHARDS - 1)];
	mpa_tls.in_live = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* before the lock, for the stop's handler */
	spin_lock(&s->lock);
	if (s->cap) {
		uint64_t m = s->cap - 1, i = mix(ptr) >> 6 & m;

		while (s->tab[i].ptr != EMPTY && s->tab[i].ptr != ptr)
			i = (i + 1) & m;
		if (s->tab[i].ptr == ptr) {
			/* backward-shift deletion: no tombstones */
			uint64_t j = i;

			size = s->tab[i].size;
			for (;;) {
				j = (j + 1) & m;
				if (s->tab[j].ptr == EMPTY)
					break;
				uint64_t home = mix(s->tab[j].ptr) >> 6 & m;

				if (((j - home) & m) >= ((j - i) & m)) {
					s->tab[i] = s->tab[j];
					i = j;
				}
			}
			s->tab[i].ptr = EMPTY;
			s->used--;
		}
	}
	spin_unlock(&s->lock);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mpa_tls.in_live = 0;
	return size;
}

/* fork: no other thread may hold a shard lock while the child is copied */
void mpa_live_lock_all(void)
{
	for (int k = 0; k < SHARDS; k++)
		spin_lock(&shards[k].lock);
}

void mpa_live_unlock_all(void)
{
	for (int k = SHARDS - 1; k >= 0; k--)
		spin_unlock(&shards[k].lock);
}

/* ---- threads: their stack ranges, for the scan ------------------------------------- */

#define MAX_THREADS 4096

struct thr {
	int used;
	uintptr_t lo, hi;   /* stack range */
	uintptr_t self;     /* pthread_self() (the thread descriptor) */
};

static struct thr threads[MAX_THREADS];

int mpa_scan_thread_add(uintptr_t lo, uintptr_t hi)
{
	for (int k = 0; k < MAX_THREADS; k++) {
		int expect = 0;

		if (__atomic_compare_exchange_n(&threads[k].used, &expect, 2, 0,
				__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			threads[k].lo = lo;
			threads[k].hi = hi;
			threads[k].self = (uintptr_t)pthread_self();
			__atomic_store_n(&threads[k].used, 1, __ATOMIC_RELEASE);
			return k;
		}
	}
	return -1;
}

void mpa_scan_threads_after_fork(void)
{
	uintptr_t me = (uintptr_t)pthread_self();

	for (int k = 0; k < MAX_THREADS; k++)
		if (threads[k].used && threads[k].self != me)
			threads[k].used = 0;
}

void mpa_scan_thread_del(int slot)
{
	if (slot >= 0 && slot < MAX_THREADS)
		__atomic_store_n(&threads[slot].used, 0, __ATOMIC_RELEASE);
}

/* ---- the scan ------------------------------------------------------------------------- */

struct range {
	uintptr_t lo, hi;
};

enum { R_UNREACHED = 0, R_REACHABLE = 1, R_POSSIBLE = 2, R_INDIRECT = 3 };

struct blk {
	uintptr_t ptr;
	uint64_t size;
	uintptr_t hdr;  /* next_chunk_header(), or 0 */
	uint8_t state;
};

/* glibc's malloc: the chunk header that follows a heap block sits inside
 * the block's usable size (its first word, prev_size, is the block's last
 * usable word).  glibc's own free lists -- main_arena's bins in libc's data,
 * and the stale fd/bk/fd_nextsize/bk_nextsize words a reused chunk keeps in
 * the bytes the program has not written yet -- point at chunk headers, not
 * at blocks: such a word is no pointer to the block it falls in. */
#define GLIBC_HEAP_MAX (64u << 20)   /* HEAP_MAX_SIZE: a thread arena's heap */

struct scan {
	struct blk *b;       /* sorted by ptr (mmap'd) */
	uint64_t n;
	uintptr_t lo, hi;    /* [lowest start, highest end) */
	uint32_t *work;      /* DFS stack of block indexes (mmap'd) */
	uint64_t nwork, capwork;
	uint64_t root_bytes;
	char *buf;           /* copy buffer for other threads' memory (mmap'd) */
	int glibc;           /* the allocator below the hooks is glibc's ptmalloc */
	uint64_t arena_bytes; /* thread-arena heaps left out of the roots */
};

/* The address of the chunk header that follows block b inside b's
 * requested bytes (glibc, heap chunks only), or 0. */
static uintptr_t next_chunk_header(const struct scan *S, const struct blk *b)
{
	uint64_t sz;
	uintptr_t h;

	if (!S->glibc)
		return 0;
	memcpy(&sz, (const void *)(b->ptr - 8), sizeof sz);
	if (sz & 2) /* IS_MMAPPED: a mapping of its own, nothing follows */
		return 0;
	h = b->ptr - 16 + (uintptr_t)(sz & ~(uint64_t)7);
	return h >= b->ptr && h - b->ptr < b->size ? h : 0;
}

#define COPY_BUF (64 * 1024)

static void sift(struct blk *a, uint64_t i, uint64_t n)
{
	for (;;) {
		uint64_t l = 2 * i + 1, m = i;

		if (l < n && a[l].ptr > a[m].ptr)
			m = l;
		if (l + 1 < n && a[l + 1].ptr > a[m].ptr)
			m = l + 1;
		if (m == i)
			return;
		struct blk t = a[i];

		a[i] = a[m];
		a[m] = t;
		i = m;
	}
}

/* heapsort: no allocation, O(n log n) whatever the input */
static void sort_blocks(struct blk *a, uint64_t n)
{
	for (uint64_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (uint64_t e = n; e > 1; e--) {
		struct blk t = a[0];

		a[0] = a[e - 1];
		a[e - 1] = t;
		sift(a, 0, e - 1);
	}
}

/* The block holding address v, or -1; *start = 1 when v is its start. A
 * block of size 0 is reached only by its start. */
static int64_t find(const struct scan *S, uintptr_t v, int *start)
{
	uint64_t lo = 0, hi = S->n;

	if (v < S->lo || v >= S->hi)
		return -1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (S->b[mid].ptr <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	const struct blk *b = &S->b[lo - 1];

	if (v == b->ptr) {
		*start = 1;
		return (int64_t)(lo - 1);
	}
	if (v - b->ptr < b->size && !(b->hdr && v == b->hdr)) {
		*start = 0;
		return (int64_t)(lo - 1);
	}
	return -1;
}

static void push(struct scan *S, uint64_t i)
{
	if (S->nwork < S->capwork)
		S->work[S->nwork++] = (uint32_t)i;
}

/* Marks what the words of [p, p + len) point to.  clique: 0 = from the
 * roots or reached blocks (reachable / possible), 1 = from a lost block
 * (unreached blocks become indirect). */
static void scan_words(struct scan *S, const char *p, uint64_t len, int clique, uint64_t self)
{
	uintptr_t a = ((uintptr_t)p + 7) & ~(uintptr_t)7;
	uintptr_t e = (uintptr_t)p + len;

	for (; a + 8 <= e; a += 8) {
		uintptr_t v;
		int start = 0;

		memcpy(&v, (const void *)a, sizeof v);
		int64_t k = find(S, v, &start);

		if (k < 0 || (uint64_t)k == self)
			continue;
		struct blk *b = &S->b[k];

		if (clique) {
			if (b->state == R_UNREACHED) {
				b->state = R_INDIRECT;
				push(S, (uint64_t)k);
			}
		} else if (b->state == R_UNREACHED || b->state == R_INDIRECT ||
				(b->state == R_POSSIBLE && start)) {
			b->state = start ? R_REACHABLE : R_POSSIBLE;
			push(S, (uint64_t)k);
		}
	}
}

static void drain(struct scan *S, int clique)
{
	while (S->nwork) {
		uint64_t k = S->work[--S->nwork];

		scan_words(S, (const char *)S->b[k].ptr, S->b[k].size, clique, k);
	}
}

/* A root that may be unmapped or change under us (another thread's stack,
 * a thread descriptor): copied through process_vm_readv, chunk by chunk. */
static void scan_remote(struct scan *S, uintptr_t lo, uintptr_t hi)
{
	pid_t self = (pid_t)syscall(SYS_getpid);

	while (lo < hi) {
		size_t len = hi - lo > COPY_BUF ? COPY_BUF : (size_t)(hi - lo);
		struct iovec l = { S->buf, len }, r = { (void *)lo, len };
		ssize_t got = syscall(SYS_process_vm_readv, self, &l, 1UL, &r, 1UL, 0UL);

		if (got > 0) {
			scan_words(S, S->buf, (uint64_t)got, 0, UINT64_MAX);
			S->root_bytes += (uint64_t)got;
			drain(S, 0);
		}
		lo += len;
	}
}

#define MAX_SELF 4
static struct range self_ranges[MAX_SELF];
static int nself;
static struct range self_text; /* this library's code */

/* The loaded objects' roots (writable segments, the exiting thread's TLS
 * blocks), collected inside the dl_iterate_phdr call that stops the other
 * threads, before the set is locked: a thread that cannot be stopped
 * (lttng-ust's, which block signals) may be inside dl_iterate_phdr,
 * holding the loader's lock, and free a block there -- it would wait for
 * the set's lock while the scan waited for the loader's.  Scanned later
 * through scan_remote: an object unloaded meanwhile reads as nothing. */
#define MAX_OBJ_ROOTS 8192
static struct range obj_roots[MAX_OBJ_ROOTS];
static int nobj_roots, obj_roots_full;

static void obj_root(uintptr_t lo, uint64_t len)
{
	if (nobj_roots == MAX_OBJ_ROOTS)
		obj_roots_full = 1;
	else
		obj_roots[nobj_roots++] = (struct range){ lo, lo + len };
}

static int collect_object(struct dl_phdr_info *info)
{
	/* this library's own data is no root: its early table and bootstrap
	 * arena hold the addresses of blocks as bookkeeping, not as uses (its
	 * writable segments are remembered: the anonymous-mapping pass must
	 * leave out their .bss pages too) */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr, me = (uintptr_t)&mpa_cfg_scan;

		if (ph->p_type == PT_LOAD && me >= a && me - a < ph->p_memsz) {
			for (int j = 0; j < info->dlpi_phnum && nself < MAX_SELF; j++) {
				const ElfW(Phdr) *q = &info->dlpi_phdr[j];
				uintptr_t lo = info->dlpi_addr + q->p_vaddr;

				if (q->p_type == PT_LOAD && (q->p_flags & PF_W))
					self_ranges[nself++] = (struct range){ lo & ~(uintptr_t)4095,
						(lo + q->p_memsz + 4095) & ~(uintptr_t)4095 };
				else if (q->p_type == PT_LOAD && (q->p_flags & PF_X))
					self_text = (struct range){ lo, lo + q->p_memsz };
			}
			return 0;
		}
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && ph->p_memsz)
			obj_root(info->dlpi_addr + ph->p_vaddr, ph->p_memsz);
		else if (ph->p_type == PT_TLS && ph->p_memsz && info->dlpi_tls_data)
			obj_root((uintptr_t)info->dlpi_tls_data, ph->p_memsz);
	}
	return 0;
}

/* ---- anonymous writable mappings: valgrind's roots beyond the objects' data ---- */

/* valgrind scans every writable client mapping that is not the heap:
 * interpreters keep objects in arenas they mmap themselves (CPython's
 * pymalloc), and those objects point to malloc'd blocks.  Here: every
 * private, writable, anonymous mapping of /proc/self/maps, except the brk
 * heap, the main stack (scanned from the stack pointer), the exiting
 * thread's stack, the scan's own arrays and the set's tables, and the live
 * blocks themselves (a block is scanned only when it is reached) -- what
 * lies between the blocks of a mapping is scanned. */

#define MAX_STACK_SKIP 256
#define MAX_SKIP (SHARDS + 8 + MAX_SELF + 1 + MAX_STACK_SKIP)

static void scan_gap(struct scan *S, uintptr_t lo, uintptr_t hi, const struct range *skip,
	int nskip)
{
	/* cut [lo, hi) by the ranges to skip (few) */
	for (int k = 0; k < nskip && lo < hi; k++) {
		if (skip[k].hi <= lo || skip[k].lo >= hi)
			continue;
		if (skip[k].lo > lo)
			scan_gap(S, lo, skip[k].lo, skip + k + 1, nskip - k - 1);
		lo = skip[k].hi;
	}
	if (lo < hi) {
		scan_words(S, (const char *)lo, hi - lo, 0, UINT64_MAX);
		S->root_bytes += hi - lo;
		drain(S, 0);
	}
}

/* [lo, hi) minus the live blocks inside it */
static void scan_mapping(struct scan *S, uintptr_t lo, uintptr_t hi, const struct range *skip,
	int nskip)
{
	uint64_t a = 0, b = S->n;

	while (a < b) { /* first block ending after lo */
		uint64_t m = a + (b - a) / 2;

		if (S->b[m].ptr + S->b[m].size <= lo)
			a = m + 1;
		else
			b = m;
	}
	for (uint64_t i = a; i < S->n && S->b[i].ptr < hi && lo < hi; i++) {
		uintptr_t bs = S->b[i].ptr, be = bs + S->b[i].size;

		if (bs > lo)
			scan_gap(S, lo, bs, skip, nskip);
		if (be > lo)
			lo = be;
	}
	if (lo < hi)
		scan_gap(S, lo, hi, skip, nskip);
}

/* A thread arena's heap of glibc's malloc at the 64 MiB-aligned address a:
 * heap_info {ar_ptr, prev, size, mprotect_size, pagesize}, the first heap of
 * an arena holding its malloc_state right after (ar_ptr = a + 32 before
 * glibc 2.35, a + 48 since), a later one pointing to the previous heap. */
static int glibc_heap_at(uintptr_t a, uintptr_t hi)
{
	uint64_t w[5];

	if (hi - a < sizeof w)
		return 0;
	memcpy(w, (const void *)a, sizeof w);
	if (w[2] == 0 || w[2] > GLIBC_HEAP_MAX || w[3] < w[2] || w[3] > GLIBC_HEAP_MAX ||
			(w[0] & 15))
		return 0;
	if (w[1] == 0)
		return w[0] == a + 32 || w[0] == a + 48;
	return (w[1] & (GLIBC_HEAP_MAX - 1)) == 0 && w[0] != 0;
}

/* An anonymous mapping minus glibc's thread-arena heaps in it: an arena's
 * free chunks (freed blocks' memory, tcache, bins) are no roots; its live
 * blocks are scanned when reached, like the brk heap's. */
static void scan_anon(struct scan *S, uintptr_t lo, uintptr_t hi, const struct range *skip,
	int nskip)
{
	if (S->glibc) {
		uintptr_t a = (lo + GLIBC_HEAP_MAX - 1) & ~(uintptr_t)(GLIBC_HEAP_MAX - 1);

		for (; a >= lo && a < hi; a += GLIBC_HEAP_MAX) {
			if (!glibc_heap_at(a, hi))
				continue;
			if (a > lo)
				scan_mapping(S, lo, a, skip, nskip);
			lo = hi - a > GLIBC_HEAP_MAX ? a + GLIBC_HEAP_MAX : hi;
			S->arena_bytes += lo - a;
		}
	}
	if (lo < hi)
		scan_mapping(S, lo, hi, skip, nskip);
}

static uintptr_t hexval(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v << 4 | (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

#define MAPS_BUF (8u << 20)

static void scan_anon_mappings(struct scan *S, struct range *skip, int nskip)
{
	char *buf = map_pages(MAPS_BUF);
	size_t len = 0;
	long fd;

	if (buf == NULL)
		return;
	/* this buffer is no root either (room left for it in skip[]) */
	skip[nskip++] = (struct range){ (uintptr_t)buf, (uintptr_t)buf + MAPS_BUF };
	fd = syscall(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		for (;;) {
			long got = syscall(SYS_read, fd, buf + len, MAPS_BUF - 1 - len);

			if (got <= 0)
				break;
			len += (size_t)got;
			if (len >= MAPS_BUF - 1)
				break;
		}
		syscall(SYS_close, fd);
	}
	buf[len] = '\0';
	for (const char *p = buf; *p;) {
		const char *eol = strchr(p, '\n');
		const char *q = p;
		uintptr_t lo = hexval(&q), hi;
		int ok = *q == '-';

		q++;
		hi = hexval(&q);
		/* "lo-hi rw-p off dev inode [path]": private, writable, readable */
		ok = ok && q[0] == ' ' && q[1] == 'r' && q[2] == 'w' && q[4] == 'p';
		if (ok) {
			/* inode 0 and no path (or a [name]): anonymous */
			const char *f = q + 5;
			int field = 0;

			while (*f && f != eol && field < 3) {
				while (*f == ' ')
					f++;
				if (field == 2)
					break;
				while (*f && *f != ' ' && *f != '\n')
					f++;
				field++;
			}
			ok = f[0] == '0' && (f[1] == ' ' || f[1] == '\n' || f[1] == '\0');
			if (ok) {
				const char *name = f + 1;

				while (*name == ' ')
					name++;
				/* the heap, the stack, the kernel's pages are no roots */
				ok = *name == '\n' || *name == '\0';
			}
		}
		if (ok && lo < hi)
			scan_anon(S, lo, hi, skip, nskip);
		if (!eol)
			break;
		p = eol + 1;
	}
	unmap_pages(buf, MAPS_BUF);
}

/* glibc 2.36's struct pthread is 2304 bytes on x86-64: no more is read
 * (the main thread's descriptor sits where the loader put its TLS, and
 * what follows it is no root) */
#define THREAD_DESC_BYTES 2304

/* The exiting thread's stack and registers: the program's frames, from the
 * caller of this library's outermost frame (its destructor or _exit hook)
 * up to the top of the stack.  This library's own frames are no roots:
 * their locals (the scan's tables of ranges, event buffers) are partly
 * uninitialized and overlay the dead frames of earlier hook calls, which
 * held the blocks the program allocated.  What the callers had in their
 * callee-saved registers is kept: in the registers themselves (spilled by
 * __builtin_unwind_init and setjmp) or in the save area just below each of
 * this library's frame pointers (it is built with frame pointers: rbp is
 * pushed first, then the callee-saved registers it uses, at most 5). */
#define SAVE_AREA_WORDS 5

static __attribute__((noinline)) void scan_own_stack(struct scan *S)
{
	struct mpa_tls *t = &mpa_tls;
	jmp_buf regs;
	volatile uintptr_t here = 0;
	const uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t from = (uintptr_t)&here & ~(uintptr_t)7;

	__builtin_unwind_init();
	if (setjmp(regs) != 0)
		return;
	scan_words(S, (const char *)regs, sizeof regs, 0, UINT64_MAX);
	drain(S, 0);
	if (t->stack_state != 1 || from < t->stack_lo || from >= t->stack_hi)
		goto desc;
	for (int k = 0; k < 64; k++) {
		uintptr_t f = (uintptr_t)fp, next = fp[0], ret = fp[1];

		if (f - SAVE_AREA_WORDS * 8 >= from) {
			scan_words(S, (const char *)(f - SAVE_AREA_WORDS * 8), SAVE_AREA_WORDS * 8, 0,
				UINT64_MAX);
			drain(S, 0);
		}
		if (ret < self_text.lo || ret >= self_text.hi) {
			from = f; /* fp's function is this library's outermost */
			break;
		}
		if (next <= f || next + 16 > t->stack_hi || (next & 7))
			break; /* not a frame chain: the whole stack from here */
		fp = (const uintptr_t *)next;
	}
	scan_words(S, (const char *)from, t->stack_hi - from, 0, UINT64_MAX);
	S->root_bytes += t->stack_hi - from;
	drain(S, 0);
desc:
	scan_remote(S, (uintptr_t)pthread_self(), (uintptr_t)pthread_self() + THREAD_DESC_BYTES);
}

/* ---- the other threads, stopped (preload_stop.c) ---- */

struct stop_ctx {
	struct mpa_parked *pk;
	int n;
	char *buf;
	int stopped;
};

static int stop_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct stop_ctx *c = arg;

	(void)size;
	if (!c->stopped) {
		c->n = mpa_stop_threads(&c->pk, MAX_THREADS, c->buf, COPY_BUF);
		c->stopped = 1;
	}
	return collect_object(info);
}

static int is_parked(const struct stop_ctx *c, uintptr_t self)
{
	for (int k = 0; k < c->n; k++)
		if (c->pk[k].state == MPA_PARKED && c->pk[k].self == self)
			return 1;
	return 0;
}

/* A stopped thread: its registers, its stack from the stack pointer it was
 * stopped at (less the 128-byte red zone below it) to the top, and its
 * thread descriptor. */
static void scan_parked(struct scan *S, const struct mpa_parked *p)
{
	uintptr_t lo = p->lo, hi = p->hi, from;

	scan_words(S, (const char *)p->regs, sizeof p->regs, 0, UINT64_MAX);
	drain(S, 0);
	if (hi == 0) /* it never allocated: the range it started with */
		for (int k = 0; k < MAX_THREADS; k++)
			if (__atomic_load_n(&threads[k].used, __ATOMIC_ACQUIRE) == 1 &&
					threads[k].self == p->self) {
				lo = threads[k].lo;
				hi = threads[k].hi;
			}
	if (hi && p->sp >= lo && p->sp < hi) {
		from = p->sp - 128 >= lo ? (p->sp - 128) & ~(uintptr_t)7 : lo;
		scan_remote(S, from, hi);
	}
	scan_remote(S, p->self, p->self + THREAD_DESC_BYTES);
}

/* The malloc below the hooks is glibc's own (libc.so.6), not another
 * allocator preloaded after this library: then its chunk layout is known.
 * Called before the set is locked (dlsym may allocate). */
static int allocator_is_glibc(void)
{
	void *next = dlsym(RTLD_NEXT, "malloc");
	void *libc = dlsym(RTLD_DEFAULT, "__libc_malloc");
	Dl_info a, b;

	if (next == NULL || libc == NULL || !dladdr(next, &a) || !dladdr(libc, &b))
		return 0;
	return a.dli_fbase == b.dli_fbase;
}

void mpa_leak_scan(struct mpa_scan_result *res, mpa_scan_emit_fn emit, void *arg)
{
	struct scan S = { 0 };
	struct timespec t0, t1;
	uint64_t n = 0, bytes_b, bytes_w;

	memset(res, 0, sizeof *res);
	if (!mpa_cfg_scan || live_incomplete)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	S.glibc = allocator_is_glibc();
	S.buf = map_pages(COPY_BUF);
	if (S.buf == NULL)
		return;
	/* 0. the other threads stop, before the set is locked (a thread that
	 * holds a shard lock does not park), inside dl_iterate_phdr (none is
	 * stopped holding the loader's lock, as LeakSanitizer does) */
	struct stop_ctx sc = { NULL, 0, S.buf, 0 };

	nself = 0;
	nobj_roots = obj_roots_full = 0;
	dl_iterate_phdr(stop_cb, &sc);
	if (obj_roots_full)
		goto unstopped; /* too many objects: no result rather than a wrong one */
	mpa_live_lock_all();
	for (int k = 0; k < SHARDS; k++)
		n += shards[k].used;
	bytes_b = (n ? n : 1) * sizeof *S.b;
	bytes_w = 2 * (n ? n : 1) * sizeof *S.work;
	S.b = map_pages(bytes_b);
	S.work = map_pages(bytes_w);
	if (S.b == NULL || S.work == NULL || S.buf == NULL)
		goto out;
	S.capwork = 2 * n;
	for (int k = 0; k < SHARDS; k++)
		for (uint64_t i = 0; i < shards[k].cap; i++)
			if (shards[k].tab[i].ptr != EMPTY && S.n < n) {
				S.b[S.n].ptr = shards[k].tab[i].ptr;
				S.b[S.n].size = shards[k].tab[i].size;
				S.b[S.n].state = R_UNREACHED;
				S.n++;
			}
	sort_blocks(S.b, S.n);
	for (uint64_t i = 0; i < S.n; i++)
		S.b[i].hdr = next_chunk_header(&S, &S.b[i]);
	S.lo = S.n ? S.b[0].ptr : 0;
	S.hi = 0;
	for (uint64_t i = 0; i < S.n; i++) {
		uintptr_t e = S.b[i].ptr + (S.b[i].size ? S.b[i].size : 1);

		if (e > S.hi)
			S.hi = e;
	}

	/* 1. the roots, and what they reach */
	for (int k = 0; k < nobj_roots; k++)
		scan_remote(&S, obj_roots[k].lo, obj_roots[k].hi);
	scan_own_stack(&S);
	{
		struct range skip[MAX_SKIP];
		int nskip = 0;
		struct mpa_tls *t = &mpa_tls;

		skip[nskip++] = (struct range){ (uintptr_t)S.b, (uintptr_t)S.b + bytes_b };
		skip[nskip++] = (struct range){ (uintptr_t)S.work, (uintptr_t)S.work + bytes_w };
		skip[nskip++] = (struct range){ (uintptr_t)S.buf, (uintptr_t)S.buf + COPY_BUF };
		if (t->stack_state == 1)
			skip[nskip++] = (struct range){ t->stack_lo, t->stack_hi };
		for (int k = 0; k < nself; k++)
			skip[nskip++] = self_ranges[k];
		for (int k = 0; k < SHARDS; k++)
			if (shards[k].tab)
				skip[nskip++] = (struct range){ (uintptr_t)shards[k].tab,
					(uintptr_t)(shards[k].tab + shards[k].cap) };
		/* the other threads' stacks are read below (a stopped thread's
		 * from its stack pointer: what lies below is dead frames) */
		for (int k = 0, m = 0; k < MAX_THREADS && m < MAX_STACK_SKIP; k++)
			if (__atomic_load_n(&threads[k].used, __ATOMIC_ACQUIRE) == 1 &&
					threads[k].self != (uintptr_t)pthread_self()) {
				skip[nskip++] = (struct range){ threads[k].lo, threads[k].hi };
				m++;
			}
		scan_anon_mappings(&S, skip, nskip);
	}
	for (int k = 0; k < sc.n; k++)
		if (sc.pk[k].state == MPA_PARKED)
			scan_parked(&S, &sc.pk[k]);
	for (int k = 0; k < MAX_THREADS; k++) {
		if (__atomic_load_n(&threads[k].used, __ATOMIC_ACQUIRE) != 1)
			continue;
		if (threads[k].self == (uintptr_t)pthread_self() || is_parked(&sc, threads[k].self))
			continue;
		res->threads_running++;
		scan_remote(&S, threads[k].lo, threads[k].hi);
		scan_remote(&S, threads[k].self, threads[k].self + THREAD_DESC_BYTES);
	}
	/* 2. lost blocks: each one not yet reached leads a clique; what it
	 * reaches that nothing else did is indirectly lost */
	for (uint64_t i = 0; i < S.n; i++) {
		if (S.b[i].state != R_UNREACHED)
			continue;
		scan_words(&S, (const char *)S.b[i].ptr, S.b[i].size, 1, i);
		drain(&S, 1);
	}
	mpa_resume_threads();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->done = 1;
	res->blocks = S.n;
	res->root_bytes = S.root_bytes;
	res->ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
		(uint64_t)t0.tv_nsec;
	mpa_live_unlock_all();
	for (uint64_t i = 0; i < S.n; i++) {
		static const uint8_t kind[] = {
			[R_UNREACHED] = MPA_REACH_DEFINITE, [R_REACHABLE] = MPA_REACH_REACHABLE,
			[R_POSSIBLE] = MPA_REACH_POSSIBLE, [R_INDIRECT] = MPA_REACH_INDIRECT,
		};

		res->count[kind[S.b[i].state]]++;
		emit(arg, (const void *)S.b[i].ptr, kind[S.b[i].state]);
	}
	unmap_pages(S.b, bytes_b);
	unmap_pages(S.work, bytes_w);
	unmap_pages(S.buf, COPY_BUF);
	return;
out:
	mpa_resume_threads();
	mpa_live_unlock_all();
	unmap_pages(S.b, bytes_b);
	unmap_pages(S.work, bytes_w);
	unmap_pages(S.buf, COPY_BUF);
	return;
unstopped:
	mpa_resume_threads();
	unmap_pages(S.buf, COPY_BUF);
}
