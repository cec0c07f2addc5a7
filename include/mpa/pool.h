/* mpa — the custom-pool API: tell mpa about objects your own allocator hands out.
 *
 * Header only.  A custom allocator (object pool, arena, slab, free list)
 * calls these four functions so that mpa sees its objects the way it sees
 * malloc blocks:
 *
 *     uint32_t id = mpa_pool_create("conn_pool", sizeof(struct conn), 1024);
 *     struct conn *c = my_pool_get(pool);   mpa_pool_alloc(id, c, sizeof *c);
 *     my_pool_put(pool, c);                 mpa_pool_free(id, c);
 *     mpa_pool_destroy(id);
 *
 * Cost:
 *   - compiled out (MPA_POOL_ENABLE not defined, or MPA_POOL_DISABLE
 *     defined): every call is an empty inline function; nothing is emitted,
 *     nothing is linked.
 *   - compiled in (-DMPA_POOL_ENABLE): each call is one load and one
 *     predictable branch (the LTTng-UST tracepoint state) when no tracing
 *     session records the `mpa:pool_*` events.  The events reach the trace
 *     when the program runs under `mpa-record` (or with libmpa-preload.so
 *     preloaded and a session enabling `mpa:*`).
 *
 * Linking when compiled in: define MPA_POOL_DEFINE in exactly ONE .c file
 * of the program (or shared object) before including this header, and link
 * with -ldl.  Nothing else is needed: the event probes live in
 * libmpa-preload.so and are found at run time.
 *
 * Pool ids are unique within a process (a process-wide counter); 0 is never
 * a valid id and is what mpa_pool_create returns when compiled out.
 */
#ifndef MPA_POOL_H
#define MPA_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Argument lists of the mpa:pool_* events.  The provider
 * (tracepoints/mpa_tp.h) uses these same macros, so the tracepoint
 * signatures in a program and in the probe always match token for token.
 * `ip` feeds the LTTng `ip` context (the caller). */
#define MPA_POOL_TP_ARGS_CREATE LTTNG_UST_TP_ARGS(const void *, ip, \
	uint32_t, pool_id, const char *, name, uint64_t, obj_size, \
	uint64_t, capacity)
#define MPA_POOL_TP_ARGS_ALLOC LTTNG_UST_TP_ARGS(const void *, ip, \
	uint32_t, pool_id, const void *, ptr, uint64_t, size, \
	const uint64_t *, stack, unsigned int, nstack)
#define MPA_POOL_TP_ARGS_FREE LTTNG_UST_TP_ARGS(const void *, ip, \
	uint32_t, pool_id, const void *, ptr, \
	const uint64_t *, stack, unsigned int, nstack)
#define MPA_POOL_TP_ARGS_DESTROY LTTNG_UST_TP_ARGS(const void *, ip, \
	uint32_t, pool_id)

/* Most frames a pool event's call stack holds. */
#define MPA_POOL_STACK_MAX 32

#if defined(MPA_POOL_ENABLE) && !defined(MPA_POOL_DISABLE)

#ifndef MPA_TP_PROVIDER_BUILD /* the provider declares these itself */
#ifdef MPA_POOL_DEFINE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#endif
#include <lttng/tracepoint.h>
LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_create, MPA_POOL_TP_ARGS_CREATE, )
LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_alloc, MPA_POOL_TP_ARGS_ALLOC, )
LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_free, MPA_POOL_TP_ARGS_FREE, )
LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_destroy, MPA_POOL_TP_ARGS_DESTROY, )
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Filled by libmpa-preload.so when it is loaded (weak: NULL otherwise).
 * Writes up to `max` return addresses, innermost first (the first is the
 * return address of this call), returns how many.  Without it the pool
 * events carry the caller's return address as a one-frame stack (what
 * the `ip` context gives, which mpa-record no longer adds by default). */
extern unsigned int mpa_capture_stack(uint64_t *stack, unsigned int max)
	__attribute__((weak));

/* The process-wide pool id counter (weak: one instance per process). */
__attribute__((weak)) uint32_t mpa_pool_last_id_;

static inline __attribute__((always_inline)) uint32_t
mpa_pool_create(const char *name, size_t obj_size, size_t capacity)
{
	uint32_t id = __atomic_add_fetch(&mpa_pool_last_id_, 1, __ATOMIC_RELAXED);

	if (id == 0) /* wrapped: never hand out 0 */
		id = __atomic_add_fetch(&mpa_pool_last_id_, 1, __ATOMIC_RELAXED);
	if (lttng_ust_tracepoint_enabled(mpa, pool_create))
		lttng_ust_do_tracepoint(mpa, pool_create, __builtin_return_address(0),
			id, name ? name : "", (uint64_t)obj_size, (uint64_t)capacity);
	return id;
}

static inline __attribute__((always_inline)) void
mpa_pool_alloc(uint32_t pool_id, const void *ptr, size_t size)
{
	if (lttng_ust_tracepoint_enabled(mpa, pool_alloc)) {
		uint64_t stack[MPA_POOL_STACK_MAX];
		unsigned int n = mpa_capture_stack ?
			mpa_capture_stack(stack, MPA_POOL_STACK_MAX) :
			(stack[0] = (uint64_t)(uintptr_t)__builtin_return_address(0), 1u);

		lttng_ust_do_tracepoint(mpa, pool_alloc, __builtin_return_address(0),
			pool_id, ptr, (uint64_t)size, stack, n);
	}
}

static inline __attribute__((always_inline)) void
mpa_pool_free(uint32_t pool_id, const void *ptr)
{
	if (lttng_ust_tracepoint_enabled(mpa, pool_free)) {
		uint64_t stack[MPA_POOL_STACK_MAX];
		unsigned int n = mpa_capture_stack ?
			mpa_capture_stack(stack, MPA_POOL_STACK_MAX) :
			(stack[0] = (uint64_t)(uintptr_t)__builtin_return_address(0), 1u);

		lttng_ust_do_tracepoint(mpa, pool_free, __builtin_return_address(0),
			pool_id, ptr, stack, n);
	}
}

static inline __attribute__((always_inline)) void
mpa_pool_destroy(uint32_t pool_id)
{
	if (lttng_ust_tracepoint_enabled(mpa, pool_destroy))
		lttng_ust_do_tracepoint(mpa, pool_destroy, __builtin_return_address(0),
			pool_id);
}

#ifdef __cplusplus
}
#endif

#else /* compiled out */

static inline uint32_t
mpa_pool_create(const char *name, size_t obj_size, size_t capacity)
{
	(void)name; (void)obj_size; (void)capacity;
	return 0;
}
static inline void mpa_pool_alloc(uint32_t pool_id, const void *ptr, size_t size)
{
	(void)pool_id; (void)ptr; (void)size;
}
static inline void mpa_pool_free(uint32_t pool_id, const void *ptr)
{
	(void)pool_id; (void)ptr;
}
static inline void mpa_pool_destroy(uint32_t pool_id)
{
	(void)pool_id;
}

#endif /* MPA_POOL_ENABLE */
#endif /* MPA_POOL_H */
