/* libmpt: names of kinds, APIs, counters, statuses and columns; the column
 * table (which kinds carry which field). */
#include <stddef.h>
#include <string.h>

#include "mpt_internal.h"

static const char *const kind_names[MPA_KIND_COUNT_] = {
	[MPA_KIND_ALLOC] = "alloc",
	[MPA_KIND_FREE] = "free",
	[MPA_KIND_REALLOC] = "realloc",
	[MPA_KIND_MAP] = "map",
	[MPA_KIND_UNMAP] = "unmap",
	[MPA_KIND_KALLOC] = "kalloc",
	[MPA_KIND_KFREE] = "kfree",
	[MPA_KIND_POOL_CREATE] = "pool_create",
	[MPA_KIND_POOL_ALLOC] = "pool_alloc",
	[MPA_KIND_POOL_FREE] = "pool_free",
	[MPA_KIND_POOL_DESTROY] = "pool_destroy",
	[MPA_KIND_THREAD_START] = "thread_start",
	[MPA_KIND_THREAD_EXIT] = "thread_exit",
	[MPA_KIND_STACK_SAMPLE] = "stack_sample",
	[MPA_KIND_NUMA_PLACE] = "numa_place",
	[MPA_KIND_CACHE_SAMPLE] = "cache_sample",
	[MPA_KIND_PROC_EXEC] = "proc_exec",
	[MPA_KIND_PROC_EXIT] = "proc_exit",
	[MPA_KIND_LOST] = "lost",
	[MPA_KIND_PROC_FORK] = "proc_fork",
	[MPA_KIND_LEAK_SCAN] = "leak_scan",
};

const char *mpa_kind_name(unsigned kind)
{
	return kind < MPA_KIND_COUNT_ ? kind_names[kind] : NULL;
}

unsigned mpa_kind_from_name(const char *name)
{
	if (!name)
		return 0;
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	return 0;
}

static const char *const api_names[MPA_API_COUNT_] = {
	[MPA_API_UNKNOWN] = "unknown",
	[MPA_API_MALLOC] = "malloc",
	[MPA_API_CALLOC] = "calloc",
	[MPA_API_REALLOC] = "realloc",
	[MPA_API_REALLOCARRAY] = "reallocarray",
	[MPA_API_MEMALIGN] = "memalign",
	[MPA_API_POSIX_MEMALIGN] = "posix_memalign",
	[MPA_API_ALIGNED_ALLOC] = "aligned_alloc",
	[MPA_API_VALLOC] = "valloc",
	[MPA_API_PVALLOC] = "pvalloc",
	[MPA_API_NEW] = "new",
	[MPA_API_NEW_ARRAY] = "new[]",
	[MPA_API_FREE] = "free",
	[MPA_API_DELETE] = "delete",
	[MPA_API_DELETE_ARRAY] = "delete[]",
	[MPA_API_MMAP] = "mmap",
	[MPA_API_MUNMAP] = "munmap",
	[MPA_API_MREMAP] = "mremap",
	[MPA_API_BRK] = "brk",
	[MPA_API_SBRK] = "sbrk",
	[MPA_API_KMALLOC] = "kmalloc",
	[MPA_API_KMEM_CACHE] = "kmem_cache",
	[MPA_API_PAGE] = "page",
};

const char *mpa_api_name(unsigned api)
{
	if (api < MPA_API_COUNT_ && api_names[api])
		return api_names[api];
	return "unknown";
}

static const char *const counter_names[MPA_CTR_COUNT_] = {
	[MPA_CTR_UNKNOWN] = "unknown",
	[MPA_CTR_L1D_MISS] = "l1d_miss",
	[MPA_CTR_LLC_MISS] = "llc_miss",
	[MPA_CTR_DTLB_MISS] = "dtlb_miss",
	[MPA_CTR_CACHE_REF] = "cache_ref",
	[MPA_CTR_CACHE_MISS] = "cache_miss",
	[MPA_CTR_MEM_LOAD] = "mem_load",
	[MPA_CTR_MEM_STORE] = "mem_store",
	[MPA_CTR_PAGE_FAULT] = "page_fault",
};

const char *mpa_counter_name(unsigned counter)
{
	return counter < MPA_CTR_COUNT_ ? counter_names[counter] : "unknown";
}

const char *mpt_status_name(enum mpt_status st)
{
	switch (st) {
	case MPT_OK: return "ok";
	case MPT_END: return "end";
	case MPT_E_IO: return "i/o error";
	case MPT_E_NOMEM: return "out of memory";
	case MPT_E_FORMAT: return "invalid format";
	case MPT_E_VERSION: return "unsupported version";
	case MPT_E_CHECKSUM: return "checksum mismatch";
	case MPT_E_TRUNCATED: return "truncated file";
	case MPT_E_ARG: return "invalid argument";
	case MPT_E_LIMIT: return "size limit exceeded";
	case MPT_E_COMPRESS: return "compression error";
	}
	return "unknown status";
}

#define K(x) MPT_KINDBIT(MPA_KIND_##x)
#define ALLK (((UINT32_C(1) << MPA_KIND_COUNT_) - 1) & ~UINT32_C(1))
#define COL(id, nm, field, w, s, kinds)                                        \
	[id] = { nm, w, s, kinds, offsetof(struct mpa_event, field),           \
		 offsetof(struct mpt_batch, field) }

const struct mpt_coldef mpt__cols[MPT_COL_COUNT_] = {
	COL(MPT_COL_KIND, "kind", kind, 1, 0, ALLK),
	COL(MPT_COL_TS, "ts", ts, 8, 0, ALLK),
	COL(MPT_COL_PID, "pid", pid, 4, 1, ALLK),
	COL(MPT_COL_TID, "tid", tid, 4, 1, ALLK),
	COL(MPT_COL_CPU, "cpu", cpu, 4, 0, ALLK),
	COL(MPT_COL_DOMAIN, "domain", domain, 1, 0, ALLK),
	COL(MPT_COL_FLAGS, "flags", flags, 2, 0, ALLK),
	COL(MPT_COL_PTR, "ptr", ptr, 8, 0,
	    K(ALLOC) | K(FREE) | K(REALLOC) | K(KALLOC) | K(KFREE) | K(POOL_ALLOC) |
		    K(POOL_FREE) | K(MAP) | K(UNMAP) | K(NUMA_PLACE) | K(THREAD_START) |
		    K(CACHE_SAMPLE) | K(LEAK_SCAN)),
	COL(MPT_COL_NEW_PTR, "new_ptr", new_ptr, 8, 0, K(REALLOC)),
	COL(MPT_COL_SIZE, "size", size, 8, 0,
	    K(ALLOC) | K(REALLOC) | K(MAP) | K(UNMAP) | K(KALLOC) | K(POOL_CREATE) |
		    K(POOL_ALLOC) | K(THREAD_START) | K(STACK_SAMPLE) | K(LOST)),
	COL(MPT_COL_USABLE, "usable", usable, 8, 0,
	    K(ALLOC) | K(REALLOC) | K(KALLOC) | K(POOL_CREATE)),
	COL(MPT_COL_ALIGN, "align", align, 8, 0, K(ALLOC)),
	COL(MPT_COL_API, "api", api, 1, 0,
	    K(ALLOC) | K(REALLOC) | K(FREE) | K(MAP) | K(UNMAP) | K(KALLOC) | K(KFREE)),
	COL(MPT_COL_STACK_ID, "stack_id", stack_id, 4, 0,
	    K(ALLOC) | K(FREE) | K(REALLOC) | K(MAP) | K(UNMAP) | K(POOL_ALLOC) |
		    K(POOL_FREE) | K(STACK_SAMPLE) | K(KALLOC) | K(KFREE) | K(CACHE_SAMPLE)),
	COL(MPT_COL_PROT, "prot", prot, 4, 0, K(MAP)),
	COL(MPT_COL_MFLAGS, "mflags", mflags, 4, 0, K(MAP) | K(KALLOC)),
	COL(MPT_COL_NODE, "node", node, 4, 1, K(KALLOC) | K(NUMA_PLACE)),
	COL(MPT_COL_ORDER, "order", order, 1, 0, K(KALLOC) | K(KFREE)),
	COL(MPT_COL_IP, "ip", ip, 8, 0, K(KALLOC) | K(KFREE) | K(CACHE_SAMPLE)),
	COL(MPT_COL_POOL_ID, "pool_id", pool_id, 4, 0,
	    K(POOL_CREATE) | K(POOL_ALLOC) | K(POOL_FREE) | K(POOL_DESTROY)),
	COL(MPT_COL_FRAME_DEPTH, "frame_depth", frame_depth, 4, 0, K(STACK_SAMPLE)),
	COL(MPT_COL_COUNTER, "counter", counter, 1, 0, K(CACHE_SAMPLE)),
	COL(MPT_COL_PERIOD, "period", period, 8, 0, K(CACHE_SAMPLE)),
	COL(MPT_COL_WEIGHT, "weight", weight, 8, 0, K(CACHE_SAMPLE)),
	COL(MPT_COL_DATA_SRC, "data_src", data_src, 8, 0, K(CACHE_SAMPLE)),
	COL(MPT_COL_STR_ID, "str_id", str_id, 4, 0, K(PROC_EXEC) | K(POOL_CREATE) | K(LOST)),
	COL(MPT_COL_STATUS, "status", status, 4, 1, K(PROC_EXIT) | K(LEAK_SCAN)),
	COL(MPT_COL_END_TS, "end_ts", end_ts, 8, 0, K(LOST)),
	COL(MPT_COL_PPID, "ppid", ppid, 4, 1, K(PROC_FORK)),
};

/* The columns of each kind (must agree with mpt__cols: checked by a test). */
const struct mpt_kindcols mpt__kind_cols[MPA_KIND_COUNT_] = {
	[MPA_KIND_ALLOC] = { 13, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE, MPT_COL_USABLE, MPT_COL_ALIGN, MPT_COL_API, MPT_COL_STACK_ID } },
	[MPA_KIND_FREE] = { 10, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_API, MPT_COL_STACK_ID } },
	[MPA_KIND_REALLOC] = { 13, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_NEW_PTR, MPT_COL_SIZE, MPT_COL_USABLE, MPT_COL_API, MPT_COL_STACK_ID } },
	[MPA_KIND_MAP] = { 13, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE, MPT_COL_API, MPT_COL_STACK_ID, MPT_COL_PROT, MPT_COL_MFLAGS } },
	[MPA_KIND_UNMAP] = { 11, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE, MPT_COL_API, MPT_COL_STACK_ID } },
	[MPA_KIND_KALLOC] = { 16, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE, MPT_COL_USABLE, MPT_COL_API, MPT_COL_STACK_ID, MPT_COL_MFLAGS, MPT_COL_NODE, MPT_COL_ORDER, MPT_COL_IP } },
	[MPA_KIND_KFREE] = { 12, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_API, MPT_COL_STACK_ID, MPT_COL_ORDER, MPT_COL_IP } },
	[MPA_KIND_POOL_CREATE] = { 11, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_SIZE, MPT_COL_USABLE, MPT_COL_POOL_ID, MPT_COL_STR_ID } },
	[MPA_KIND_POOL_ALLOC] = { 11, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE, MPT_COL_STACK_ID, MPT_COL_POOL_ID } },
	[MPA_KIND_POOL_FREE] = { 10, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_STACK_ID, MPT_COL_POOL_ID } },
	[MPA_KIND_POOL_DESTROY] = { 8, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_POOL_ID } },
	[MPA_KIND_THREAD_START] = { 9, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_SIZE } },
	[MPA_KIND_THREAD_EXIT] = { 7, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS } },
	[MPA_KIND_STACK_SAMPLE] = { 10, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_SIZE, MPT_COL_STACK_ID, MPT_COL_FRAME_DEPTH } },
	[MPA_KIND_NUMA_PLACE] = { 9, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_NODE } },
	[MPA_KIND_CACHE_SAMPLE] = { 14, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_STACK_ID, MPT_COL_IP, MPT_COL_COUNTER, MPT_COL_PERIOD, MPT_COL_WEIGHT, MPT_COL_DATA_SRC } },
	[MPA_KIND_PROC_EXEC] = { 8, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_STR_ID } },
	[MPA_KIND_PROC_EXIT] = { 8, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_STATUS } },
	[MPA_KIND_LOST] = { 10, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_SIZE, MPT_COL_STR_ID, MPT_COL_END_TS } },
	[MPA_KIND_PROC_FORK] = { 8, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PPID } },
	[MPA_KIND_LEAK_SCAN] = { 9, { MPT_COL_KIND, MPT_COL_TS, MPT_COL_PID, MPT_COL_TID, MPT_COL_CPU, MPT_COL_DOMAIN, MPT_COL_FLAGS, MPT_COL_PTR, MPT_COL_STATUS } },
};

const char *mpt_column_name(unsigned col)
{
	return col < MPT_COL_COUNT_ ? mpt__cols[col].name : NULL;
}

int mpt_column_from_name(const char *name)
{
	if (!name)
		return -1;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if (strcmp(mpt__cols[c].name, name) == 0)
			return (int)c;
	return -1;
}

uint64_t mpt_kind_columns(unsigned kind)
{
	if (kind == 0 || kind >= MPA_KIND_COUNT_)
		return 0;
	uint64_t m = 0;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if (mpt__cols[c].kinds & MPT_KINDBIT(kind))
			m |= MPT_COLBIT(c);
	return m;
}

uint64_t mpt__ev_get(const struct mpa_event *ev, unsigned col)
{
	const struct mpt_coldef *d = &mpt__cols[col];
	const unsigned char *p = (const unsigned char *)ev + d->ev_off;
	switch (d->width) {
	case 1:
		return *p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		if (d->is_signed)
			return mpt__zz((int32_t)v);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

const char *mpt_encoding_name(unsigned enc)
{
	static const char *const names[MPT_ENC_COUNT_] = {
		[MPT_ENC_PLAIN] = "plain",   [MPT_ENC_VARINT] = "varint", [MPT_ENC_DELTA] = "delta",
		[MPT_ENC_CONST] = "const",   [MPT_ENC_RLE] = "rle",       [MPT_ENC_DICT] = "dict",
		[MPT_ENC_DELTA2] = "delta2", [MPT_ENC_PTR] = "ptr",       [MPT_ENC_KSPLIT] = "ksplit",
		[MPT_ENC_TIDCTX] = "tidctx", [MPT_ENC_DFOR] = "dfor", [MPT_ENC_USIZE] = "usize", [MPT_ENC_PTR2] = "ptr2",
	};
	return enc < MPT_ENC_COUNT_ ? names[enc] : "unknown";
}
