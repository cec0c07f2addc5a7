/* The `mpa` LTTng-UST tracepoint provider (LTTng-UST 2.13 API).
 *
 * The event schema is a contract with the converter (converters/): see
 * doc/recording.md, section "The mpa provider".  Every event takes the
 * caller's address first (`ip`), which becomes the LTTng `ip` context;
 * pointers are hexadecimal; `stack` is a sequence of return addresses,
 * innermost first.
 *
 * Probes are created in mpa_tp.c (LTTNG_UST_TRACEPOINT_CREATE_PROBES) and
 * live in libmpa-preload.so; the pool events are also declared by
 * include/mpa/pool.h for programs, with the same argument lists.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER mpa

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./mpa_tp.h"

#undef LTTNG_UST_TP_IP_PARAM
#define LTTNG_UST_TP_IP_PARAM ip

#if !defined(MPA_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define MPA_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

#define MPA_TP_PROVIDER_BUILD
#include "mpa/pool.h"

#define MPA_TP_STACK(stack, n) \
	lttng_ust_field_sequence_hex(uint64_t, stack, stack, unsigned int, n)

/* A stack's definition (preload_stacks.c): later events of this process
 * image with stack_id = id have these frames; their own stack[] is empty.
 * stack_id 0: the event carries its frames itself. */
LTTNG_UST_TRACEPOINT_EVENT(mpa, stack,
	LTTNG_UST_TP_ARGS(const void *, ip, uint32_t, id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, id, id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, alloc,
	LTTNG_UST_TP_ARGS(const void *, ip, uint8_t, api, uint16_t, flags,
		const void *, ptr, uint64_t, size, uint64_t, align,
		uint64_t, usable, uint32_t, stack_id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, api, api)
		lttng_ust_field_integer(uint16_t, flags, flags)
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		lttng_ust_field_integer(uint64_t, size, size)
		lttng_ust_field_integer(uint64_t, align, align)
		lttng_ust_field_integer(uint64_t, usable, usable)
		lttng_ust_field_integer(uint32_t, stack_id, stack_id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, free,
	LTTNG_UST_TP_ARGS(const void *, ip, uint8_t, api, uint16_t, flags,
		const void *, ptr, uint32_t, stack_id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, api, api)
		lttng_ust_field_integer(uint16_t, flags, flags)
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		lttng_ust_field_integer(uint32_t, stack_id, stack_id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, realloc,
	LTTNG_UST_TP_ARGS(const void *, ip, uint8_t, api, uint16_t, flags,
		const void *, ptr, const void *, new_ptr, uint64_t, size,
		uint64_t, usable, uint32_t, stack_id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, api, api)
		lttng_ust_field_integer(uint16_t, flags, flags)
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		lttng_ust_field_integer_hex(uint64_t, new_ptr, (uint64_t)(uintptr_t)new_ptr)
		lttng_ust_field_integer(uint64_t, size, size)
		lttng_ust_field_integer(uint64_t, usable, usable)
		lttng_ust_field_integer(uint32_t, stack_id, stack_id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, map,
	LTTNG_UST_TP_ARGS(const void *, ip, uint8_t, api, const void *, addr,
		uint64_t, len, uint32_t, prot, uint32_t, mflags,
		uint32_t, stack_id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, api, api)
		lttng_ust_field_integer_hex(uint64_t, addr, (uint64_t)(uintptr_t)addr)
		lttng_ust_field_integer(uint64_t, len, len)
		lttng_ust_field_integer_hex(uint32_t, prot, prot)
		lttng_ust_field_integer_hex(uint32_t, mflags, mflags)
		lttng_ust_field_integer(uint32_t, stack_id, stack_id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, unmap,
	LTTNG_UST_TP_ARGS(const void *, ip, uint8_t, api, const void *, addr,
		uint64_t, len, uint32_t, stack_id,
		const uint64_t *, stack, unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, api, api)
		lttng_ust_field_integer_hex(uint64_t, addr, (uint64_t)(uintptr_t)addr)
		lttng_ust_field_integer(uint64_t, len, len)
		lttng_ust_field_integer(uint32_t, stack_id, stack_id)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, thread_start,
	LTTNG_UST_TP_ARGS(const void *, ip, uint64_t, stack_base,
		uint64_t, stack_size),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, stack_base, stack_base)
		lttng_ust_field_integer(uint64_t, stack_size, stack_size)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, thread_exit,
	LTTNG_UST_TP_ARGS(const void *, ip),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint8_t, dummy, 0)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, stack_sample,
	LTTNG_UST_TP_ARGS(const void *, ip, uint64_t, sp_depth,
		uint32_t, frame_depth, const uint64_t *, stack,
		unsigned int, nstack),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, sp_depth, sp_depth)
		lttng_ust_field_integer(uint32_t, frame_depth, frame_depth)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, numa_place,
	LTTNG_UST_TP_ARGS(const void *, ip, const void *, addr, int32_t, node),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, addr, (uint64_t)(uintptr_t)addr)
		lttng_ust_field_integer(int32_t, node, node)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_create,
	MPA_POOL_TP_ARGS_CREATE,
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, pool_id, pool_id)
		lttng_ust_field_string(name, name)
		lttng_ust_field_integer(uint64_t, obj_size, obj_size)
		lttng_ust_field_integer(uint64_t, capacity, capacity)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_alloc,
	MPA_POOL_TP_ARGS_ALLOC,
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, pool_id, pool_id)
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		lttng_ust_field_integer(uint64_t, size, size)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_free,
	MPA_POOL_TP_ARGS_FREE,
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, pool_id, pool_id)
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		MPA_TP_STACK(stack, nstack)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, pool_destroy,
	MPA_POOL_TP_ARGS_DESTROY,
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, pool_id, pool_id)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, proc_exec,
	LTTNG_UST_TP_ARGS(const void *, ip, const char *, path),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_string(path, path)
	)
)

/* Early allocations (recorded before tracing was live) that did not fit
 * the preload's fixed early table: their blocks are unknown to the trace,
 * so their later frees and reallocs show as unknown pointers.  Emitted
 * once per process image, only when count > 0. */
LTTNG_UST_TRACEPOINT_EVENT(mpa, early_dropped,
	LTTNG_UST_TP_ARGS(const void *, ip, uint32_t, count),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, count, count)
	)
)

/* The first event of a process made by fork (the vpid context is the
 * child's): its parent's pid.  The child's heap starts as a copy of the
 * parent's live heap. */
LTTNG_UST_TRACEPOINT_EVENT(mpa, proc_fork,
	LTTNG_UST_TP_ARGS(const void *, ip, int32_t, ppid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int32_t, ppid, ppid)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, proc_exit,
	LTTNG_UST_TP_ARGS(const void *, ip, int32_t, status),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int32_t, status, status)
	)
)

/* The exit-time reachability scan (preload_scan.c): one event per block
 * live at exit, kind 0 reachable, 1 possibly lost, 2 indirectly lost, 3
 * definitely lost; then one summary. */
LTTNG_UST_TRACEPOINT_EVENT(mpa, leak_scan,
	LTTNG_UST_TP_ARGS(const void *, ip, const void *, ptr, uint8_t, kind),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ptr, (uint64_t)(uintptr_t)ptr)
		lttng_ust_field_integer(uint8_t, kind, kind)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(mpa, leak_scan_end,
	LTTNG_UST_TP_ARGS(const void *, ip, uint64_t, blocks, uint64_t, definite,
		uint64_t, indirect, uint64_t, possible, uint64_t, reachable,
		uint64_t, root_bytes, uint32_t, threads_running, uint64_t, ns),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, blocks, blocks)
		lttng_ust_field_integer(uint64_t, definite, definite)
		lttng_ust_field_integer(uint64_t, indirect, indirect)
		lttng_ust_field_integer(uint64_t, possible, possible)
		lttng_ust_field_integer(uint64_t, reachable, reachable)
		lttng_ust_field_integer(uint64_t, root_bytes, root_bytes)
		lttng_ust_field_integer(uint32_t, threads_running, threads_running)
		lttng_ust_field_integer(uint64_t, ns, ns)
	)
)

#endif /* MPA_TP_H */

#include <lttng/tracepoint-event.h>
