/* libmpa-preload.so: stack interning.  A call stack's frames are written
 * into the trace once, by an mpa:stack { id, stack[] } event (the
 * definition); every alloc, free, realloc, map and unmap event made from
 * the same stack afterwards carries only its id (`stack_id`, with an empty
 * `stack[]`).  doc/recording.md ("Stack interning") has the contract with
 * the converter; the rules of preload.c hold here too: no stdio, no locks,
 * no allocation through malloc on the traced path.
 *
 * The table: one per process image, shared by its threads, lock-free.
 * Open addressing over slots {key, state, id, frames}: a slot is claimed by
 * a CAS of its key from 0 to the stack's hash, filled (frames copied into
 * an append-only frame arena, an id taken from a counter), the definition
 * emitted, and only then published (state READY, release).  A lookup that
 * meets its hash reads the state (acquire) and compares the frames, so a
 * hash collision never gives a wrong id; a hit writes nothing shared (no
 * per-thread cache is needed in front of it: readers do not bounce cache
 * lines).  A slot still being defined by another thread is a miss for that
 * one event, whose frames are then written inline: an id is never used
 * before its definition is in the trace.
 *
 * Bounded: at most MPA_STACK_IDS stacks (default 262144; 0 turns interning
 * off) and an arena of MPA_STACK_IDS x 16 frames (at most 64 MiB), mapped
 * lazily (MAP_NORESERVE: only pages used are touched) at the first
 * interned event.  When the table is full (or a stack finds no free slot
 * within PROBE_MAX of its hash, or the arena is full), events carry their
 * frames inline as before interning; the converter reads both forms.
 *
 * fork: the child's copy of the table is dropped (mpa_stacks_after_fork,
 * from the preload's atfork child handler) and the child starts a table of
 * its own; ids are per process image (the converter keys them by pid and
 * starts a pid's table afresh at its mpa:proc_exec, mpa:proc_fork and
 * mpa:proc_exit).  exec starts a new image, hence a new table.  The child
 * interns nothing until fork() has returned into the program (the `fork`
 * hook below): in between, liblttng-ust-fork's child handler tears down
 * the tracer's sessions and registers again, and events emitted meanwhile
 * are dropped without a trace, while their tracepoints still read as
 * enabled.  A definition dropped there would leave its id unknown for the
 * child's whole life (seen: lttng-ust's own allocations in the child).  A
 * child made without this hook (_Fork, raw clone) never interns: its
 * events carry their frames.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mpa_tp.h"
#include "preload.h"

#define PROBE_MAX 64
#define ARENA_MAX_FRAMES ((uint64_t)8 << 20) /* 64 MiB of frames */

/* TAB_HOLD: a fork child until fork() returns into the program */
enum { TAB_NONE, TAB_INIT, TAB_READY, TAB_OFF, TAB_HOLD };
enum { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_DEAD };

struct islot {
	uint64_t key;     /* the stack's hash (never 0), 0 = free */
	uint32_t state;   /* SLOT_* */
	uint32_t id;      /* valid once READY */
	uint32_t off;     /* first frame in the arena */
	uint32_t n;       /* frames */
};

uint32_t mpa_cfg_stack_ids = 262144;
unsigned mpa_cfg_stack_frames = 16;

static int tab_state;          /* TAB_* */
static struct islot *slots;
static uint64_t *arena;
static uint64_t mask;          /* slots - 1 */
static size_t slots_bytes, arena_bytes;
static uint64_t arena_cap;     /* frames */
static uint64_t arena_used;    /* frames handed out */
static uint32_t used;          /* slots claimed */
static uint32_t next_id;       /* the last id given */

static void *map_anon(size_t len)
{
	void *p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static __attribute__((noinline, cold)) int tab_init(void)
{
	int expect = TAB_NONE;
	uint64_t nslots = 64;

	if (!__atomic_compare_exchange_n(&tab_state, &expect, TAB_INIT, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expect == TAB_READY;
	while (nslots < 2 * (uint64_t)mpa_cfg_stack_ids)
		nslots *= 2;
	arena_cap = (uint64_t)mpa_cfg_stack_ids * (mpa_cfg_stack_frames ? mpa_cfg_stack_frames : 1);
	if (arena_cap > ARENA_MAX_FRAMES)
		arena_cap = ARENA_MAX_FRAMES;
	slots_bytes = nslots * sizeof *slots;
	arena_bytes = arena_cap * sizeof *arena;
	slots = map_anon(slots_bytes);
	arena = slots ? map_anon(arena_bytes) : NULL;
	if (arena == NULL) {
		if (slots)
			syscall(SYS_munmap, slots, slots_bytes);
		slots = NULL;
		__atomic_store_n(&tab_state, TAB_OFF, __ATOMIC_RELEASE);
		return 0;
	}
	mask = nslots - 1;
	__atomic_store_n(&tab_state, TAB_READY, __ATOMIC_RELEASE);
	return 1;
}

static inline uint64_t stack_hash(const uint64_t *f, unsigned n)
{
	uint64_t h = 0x243F6A8885A308D3ull ^ n;

	for (unsigned i = 0; i < n; i++) {
		h = (h ^ f[i]) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 31;
	}
	return h | 1;
}

/* Defines the stack in the slot just claimed: frames, id, mpa:stack. */
static uint32_t define(struct islot *s, const uint64_t *f, unsigned n)
{
	uint64_t off = __atomic_fetch_add(&arena_used, n, __ATOMIC_RELAXED);
	uint32_t id;

	if (off + n > arena_cap) {
		/* the arena is full: so is the table, from now on */
		__atomic_store_n(&used, mpa_cfg_stack_ids, __ATOMIC_RELAXED);
		__atomic_store_n(&s->state, SLOT_DEAD, __ATOMIC_RELEASE);
		return 0;
	}
	memcpy(arena + off, f, n * sizeof *f);
	s->off = (uint32_t)off;
	s->n = n;
	id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	s->id = id;
	lttng_ust_do_tracepoint(mpa, stack, NULL, id, f, n);
	__atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
	return id;
}

uint32_t mpa_stack_intern(const uint64_t *f, unsigned n)
{
	uint64_t h, i;

	if (n == 0 || mpa_cfg_stack_ids == 0 || !lttng_ust_tracepoint_enabled(mpa, stack))
		return 0;
	if (UNLIKELY(__atomic_load_n(&tab_state, __ATOMIC_ACQUIRE) != TAB_READY) && !tab_init())
		return 0;
	h = stack_hash(f, n);
	i = h & mask;
	for (unsigned k = 0; k < PROBE_MAX; ) {
		struct islot *s = &slots[i];
		uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (key == 0) {
			if (__atomic_load_n(&used, __ATOMIC_RELAXED) >= mpa_cfg_stack_ids)
				return 0; /* full: inline */
			if (!__atomic_compare_exchange_n(&s->key, &key, h, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				continue; /* taken meanwhile: look at it again */
			__atomic_add_fetch(&used, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&s->state, SLOT_BUSY, __ATOMIC_RELAXED);
			return define(s, f, n);
		}
		if (key == h) {
			uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

			/* claimed but not yet defined (FREE: its state is not
			 * written yet): inline this once */
			if (st == SLOT_BUSY || st == SLOT_FREE)
				return 0;
			if (st == SLOT_READY && s->n == n &&
					memcmp(arena + s->off, f, n * sizeof *f) == 0)
				return s->id;
		}
		i = (i + 1) & mask;
		k++;
	}
	return 0;
}

unsigned mpa_capture_interned(const uintptr_t *fp0, uint64_t *buf, unsigned max,
	unsigned *id)
{
	unsigned n = mpa_capture(fp0, buf, max);

	*id = mpa_stack_intern(buf, n);
	return *id ? 0 : n;
}

/* fork: see the top of this file.  Before liblttng-ust-fork.so in
 * LD_PRELOAD, so this runs around its fork. */
MPA_EXPORT pid_t fork(void)
{
	static pid_t (*next)(void);
	pid_t pid;

	if (next == NULL)
		next = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
	if (next == NULL) {
		errno = ENOSYS;
		return (pid_t)-1;
	}
	pid = next();
	if (pid == 0) {
		int expect = TAB_HOLD;

		__atomic_compare_exchange_n(&tab_state, &expect, TAB_NONE, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
	return pid;
}

void mpa_stacks_after_fork(void)
{
	if (__atomic_load_n(&tab_state, __ATOMIC_ACQUIRE) == TAB_READY) {
		syscall(SYS_munmap, slots, slots_bytes);
		syscall(SYS_munmap, arena, arena_bytes);
	}
	slots = NULL;
	arena = NULL;
	arena_used = 0;
	used = 0;
	next_id = 0;
	/* (a table still being made by a thread of the parent: the child
	 * makes its own) after fork() returns */
	__atomic_store_n(&tab_state, TAB_HOLD, __ATOMIC_RELEASE);
}
