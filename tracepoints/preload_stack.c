/* libmpa-preload.so: a thread's stack range and the stack walkers
 * (frame pointers bounded by the thread's stack, or libunwind), used by the
 * hooks of preload.c; mpa_capture_stack for include/mpa/pool.h.  The rules
 * of preload.c hold here too: no stdio, no locks, nothing allocated on the
 * traced path. */
#include <fcntl.h>
#include <string.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <unwind.h>

#include "preload.h"

__thread struct mpa_tls mpa_tls __attribute__((tls_model("initial-exec")));
enum mpa_unwinder mpa_cfg_unwind = MPA_UNWIND_FP;
int (*mpa_unw_backtrace)(void **, int);

/* ---- thread stack range ----------------------------------------------------- */

/* Fills the calling thread's stack range once.  pthread_getattr_np may
 * allocate (it reads /proc/self/maps for the main thread): call only with the
 * guard set, after libc is initialized. */
void mpa_stack_range_init(struct mpa_tls *t)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;

	t->stack_state = 2;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 0) {
		t->stack_lo = (uintptr_t)addr;
		t->stack_hi = (uintptr_t)addr + size;
		t->stack_state = 1;
	}
	pthread_attr_destroy(&attr);
}

/* ---- stack capture ---------------------------------------------------------------- */

/* Walks frame pointers from `fp0`, the frame of a hook (fp0[0] = the
 * caller's saved frame pointer, fp0[1] = the return address into the
 * caller), never reading at or above `hi`: the caller guarantees that all
 * of [fp0, hi) is mapped stack (hi = 0: only the first frame).  Stores up
 * to `max` return addresses, innermost first; returns how many.  If
 * `depth` is not NULL, keeps counting frames (without storing) up to
 * FRAME_DEPTH_MAX and stores the total there. */
unsigned mpa_walk_range(const uintptr_t *fp0, uintptr_t hi, uint64_t *buf,
	unsigned max, uint32_t *depth)
{
	const uintptr_t *fp = fp0;
	unsigned n = 0, total = 1;

	if (max > 0)
		buf[n++] = fp0[1];
	if (hi <= (uintptr_t)fp0 + 2 * sizeof(uintptr_t)) {
		if (depth)
			*depth = total;
		return n;
	}
	for (;;) {
		uintptr_t next = fp[0], ret;

		if (next <= (uintptr_t)fp || next > hi - 2 * sizeof(uintptr_t) ||
				(next & (sizeof(uintptr_t) - 1)) != 0)
			break;
		ret = ((const uintptr_t *)next)[1];
		if (ret < 4096)
			break;
		fp = (const uintptr_t *)next;
		if (n < max)
			buf[n++] = ret;
		else if (depth == NULL)
			break;
		if (++total >= FRAME_DEPTH_MAX)
			break;
	}
	if (depth)
		*depth = total;
	return n;
}

/* walk_range over the calling thread's stack, once its range is known. */
unsigned mpa_walk_fp(const uintptr_t *fp0, uint64_t *buf, unsigned max,
	uint32_t *depth)
{
	struct mpa_tls *t = &mpa_tls;
	uintptr_t hi = 0;

	if (t->stack_state == 1 && (uintptr_t)fp0 >= t->stack_lo &&
			(uintptr_t)fp0 < t->stack_hi)
		hi = t->stack_hi;
	return mpa_walk_range(fp0, hi, buf, max, depth);
}

/* libunwind: unwinds through the preload's own frames, then keeps what
 * follows the hook's return address (fp0[1]). */
static __attribute__((noinline)) unsigned walk_libunwind(const uintptr_t *fp0,
	uint64_t *buf, unsigned max)
{
	void *ips[STACK_MAX + 8];
	int got = mpa_unw_backtrace(ips, (int)max + 8);
	unsigned n = 0;
	int i = 0;

	while (i < got && (uintptr_t)ips[i] != fp0[1])
		i++;
	for (; i < got && n < max; i++)
		buf[n++] = (uint64_t)(uintptr_t)ips[i];
	return n;
}

/* libgcc's unwinder (DWARF .eh_frame, tables found by _dl_find_object:
 * no lock, no allocation): frames from the hook's return address on.  Not
 * libunwind: it calls dl_iterate_phdr, which takes the loader's lock, from
 * inside malloc -- a deadlock when another thread allocates while holding
 * that lock (lttng-ust's dl_iterate_phdr callbacks strdup) and waits for a
 * lock the first one holds (seen with lttng-ust's own mutex). */
struct dw_walk {
	uintptr_t first;
	uint64_t *buf;
	unsigned n, max, skipped;
	int found;
};

static _Unwind_Reason_Code dw_step(struct _Unwind_Context *ctx, void *arg)
{
	struct dw_walk *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);

	if (ip == 0)
		return _URC_NORMAL_STOP;
	if (!w->found) {
		/* this library's own frames come first: a few */
		if (ip != w->first)
			return ++w->skipped > 8 ? _URC_NORMAL_STOP : _URC_NO_REASON;
		w->found = 1;
	}
	w->buf[w->n++] = ip;
	return w->n < w->max ? _URC_NO_REASON : _URC_NORMAL_STOP;
}

unsigned mpa_unwind_from(uintptr_t first, uint64_t *buf, unsigned max)
{
	struct dw_walk w = { first, buf, 0, max, 0, 0 };

	_Unwind_Backtrace(dw_step, &w);
	return w.n;
}

static __attribute__((noinline)) unsigned walk_dwarf(const uintptr_t *fp0, uint64_t *buf,
	unsigned max)
{
	return mpa_unwind_from(fp0[1], buf, max);
}

unsigned mpa_capture(const uintptr_t *fp0, uint64_t *buf, unsigned max)
{
	struct mpa_tls *t = &mpa_tls;

	if (max == 0)
		return 0;
	if (UNLIKELY(t->stack_state == 0))
		mpa_stack_range_init(t);
	if (mpa_cfg_unwind == MPA_UNWIND_LIBUNWIND && mpa_unw_backtrace) {
		unsigned n = walk_libunwind(fp0, buf, max);

		if (n > 0)
			return n;
	}
	unsigned n = mpa_walk_fp(fp0, buf, max, NULL);
	/* a walk that stops after the caller's frame is the sign of code
	 * built without frame pointers: auto unwinds it again by the DWARF
	 * tables (only then: frame pointers cost far less) */
	if (n <= 1 && max > 1 && mpa_cfg_unwind == MPA_UNWIND_AUTO) {
		uint64_t deep[STACK_MAX];
		unsigned m = walk_dwarf(fp0, deep, max);

		if (m > n) {
			memcpy(buf, deep, m * sizeof *buf);
			n = m;
		}
	}
	/* thread-local counts (no shared cache line on the hot path) */
	t->fp_walks++;
	t->fp_shallow += n <= 1;
	if (UNLIKELY(t->fp_walks >= (1u << 30)))
		mpa_stack_stats_flush(t);
	return n;
}

static uint64_t stats_walks, stats_shallow;

void mpa_stack_stats_flush(struct mpa_tls *t)
{
	__atomic_fetch_add(&stats_walks, t->fp_walks, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stats_shallow, t->fp_shallow, __ATOMIC_RELAXED);
	t->fp_walks = t->fp_shallow = 0;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

void mpa_stack_stats_write(const char *path)
{
	char line[64], *p = line;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	mpa_stack_stats_flush(&mpa_tls);
	p = put_u64(p, __atomic_load_n(&stats_walks, __ATOMIC_RELAXED));
	*p++ = ' ';
	p = put_u64(p, __atomic_load_n(&stats_shallow, __ATOMIC_RELAXED));
	*p++ = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	/* one short O_APPEND write: lines of concurrent processes never mix */
	if (write(fd, line, (size_t)(p - line)) < 0) {
		/* nothing to do: the warning is advice */
	}
	close(fd);
}

/* Exported for include/mpa/pool.h: the stack of the caller of this
 * function (its return address first). */
MPA_EXPORT __attribute__((noinline)) unsigned int
mpa_capture_stack(uint64_t *stack, unsigned int max)
{
	struct mpa_tls *t = &mpa_tls;
	int saved = t->guard;
	unsigned n;

	if (max > STACK_MAX)
		max = STACK_MAX;
	t->guard = 1;
	if (UNLIKELY(t->stack_state == 0))
		mpa_stack_range_init(t);
	n = mpa_walk_fp(__builtin_frame_address(0), stack, max, NULL);
	t->guard = saved;
	return n;
}

