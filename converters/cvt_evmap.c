/* Event class resolution and the mapping of source events onto
 * struct mpa_event (see doc/converting.md for the full table).
 *
 * An event class is resolved once, at its first event: its name picks a
 * mapper, and the mapper's field spec is turned into a small program of
 * (scope, member index, register) steps.  Every later event of the class
 * runs the program, which borrows members by index only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt_sink.h"
#include "mpa/event.h"

#define APPEND_CAUSE(s, ...)                                                   \
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(                   \
		bt_self_component_sink_as_self_component((s)->self), __VA_ARGS__)

static const struct {
	const char *name;
	enum cvt_mapper m;
} known_names[] = {
	{ "lttng_ust_libc:malloc", M_UST_MALLOC },
	{ "lttng_ust_libc:calloc", M_UST_CALLOC },
	{ "lttng_ust_libc:realloc", M_UST_REALLOC },
	{ "lttng_ust_libc:free", M_UST_FREE },
	{ "lttng_ust_libc:memalign", M_UST_MEMALIGN },
	{ "lttng_ust_libc:posix_memalign", M_UST_POSIX_MEMALIGN },
	{ "mpa:alloc", M_MPA_ALLOC },
	{ "mpa:free", M_MPA_FREE },
	{ "mpa:realloc", M_MPA_REALLOC },
	{ "mpa:map", M_MPA_MAP },
	{ "mpa:unmap", M_MPA_UNMAP },
	{ "mpa:thread_start", M_MPA_THREAD_START },
	{ "mpa:thread_exit", M_MPA_THREAD_EXIT },
	{ "mpa:stack_sample", M_MPA_STACK_SAMPLE },
	{ "mpa:numa_place", M_MPA_NUMA },
	{ "mpa:pool_create", M_MPA_POOL_CREATE },
	{ "mpa:pool_alloc", M_MPA_POOL_ALLOC },
	{ "mpa:pool_free", M_MPA_POOL_FREE },
	{ "mpa:pool_destroy", M_MPA_POOL_DESTROY },
	{ "mpa:proc_exec", M_MPA_PROC_EXEC },
	{ "mpa:proc_exit", M_MPA_PROC_EXIT },
	{ "mpa:early_dropped", M_MPA_EARLY_DROPPED },
	{ "mpa:proc_fork", M_MPA_PROC_FORK },
	{ "mpa:leak_scan", M_MPA_LEAK_SCAN },
	{ "mpa:leak_scan_end", M_MPA_LEAK_SCAN_END },
	{ "mpa:stack", M_MPA_STACK_DEF },
	/* LTTng kernel (lttng-modules instrumentation/events/kmem.h) */
	{ "kmem_kmalloc", M_K_KMALLOC },
	{ "kmem_kmalloc_node", M_K_KMALLOC },
	{ "kmem_cache_alloc", M_K_CACHE_ALLOC },
	{ "kmem_cache_alloc_node", M_K_CACHE_ALLOC },
	{ "kmem_kmem_cache_alloc", M_K_CACHE_ALLOC },
	{ "kmem_kmem_cache_alloc_node", M_K_CACHE_ALLOC },
	{ "kmem_kfree", M_K_KFREE },
	{ "kmem_cache_free", M_K_CACHE_FREE },
	{ "kmem_kmem_cache_free", M_K_CACHE_FREE },
	{ "kmem_mm_page_alloc", M_K_PAGE_ALLOC },
	{ "kmem_mm_page_free", M_K_PAGE_FREE },
	{ "kmem_mm_page_free_batched", M_K_PAGE_FREE },
	{ "mm_page_alloc", M_K_PAGE_ALLOC },
	{ "mm_page_free", M_K_PAGE_FREE },
	/* perf CTF (perf data convert --to-ctf) and source.mpa.perf */
	{ "kmem:kmalloc", M_K_KMALLOC },
	{ "kmem:kmalloc_node", M_K_KMALLOC },
	{ "kmem:kmem_cache_alloc", M_K_CACHE_ALLOC },
	{ "kmem:kmem_cache_alloc_node", M_K_CACHE_ALLOC },
	{ "kmem:kfree", M_K_KFREE },
	{ "kmem:kmem_cache_free", M_K_CACHE_FREE },
	{ "kmem:mm_page_alloc", M_K_PAGE_ALLOC },
	{ "kmem:mm_page_free", M_K_PAGE_FREE },
	{ "kmem:mm_page_free_batched", M_K_PAGE_FREE },
	{ "perf:comm", M_PERF_COMM },
	{ "perf:mmap", M_PERF_MMAP },
	{ "perf:fork", M_PERF_FORK },
	{ "perf:exit", M_PERF_EXIT },
	/* perf CTF (perf data convert --all): the same task records */
	{ "perf_fork", M_PERF_FORK },
	{ "perf_exit", M_PERF_EXIT },
	/* symbolization input */
	{ "lttng_ust_statedump:start", M_SD_START },
	{ "lttng_ust_statedump:bin_info", M_SD_BIN_INFO },
	{ "lttng_ust_statedump:build_id", M_SD_BUILD_ID },
	{ "lttng_ust_statedump:debug_link", M_SD_DEBUG_LINK },
	{ "lttng_ust_statedump:procname", M_SD_OTHER },
	{ "lttng_ust_statedump:end", M_SD_OTHER },
	{ "lttng_ust_dl:dlopen", M_DL_OPEN },
	{ "lttng_ust_dl:dlmopen", M_DL_OPEN },
	{ "lttng_ust_dl:dlclose", M_DL_CLOSE },
	{ "lttng_ust_dl:build_id", M_DL_BUILD_ID },
	{ "lttng_ust_dl:debug_link", M_DL_DEBUG_LINK },
	{ "lttng_ust_lib:load", M_DL_OPEN },
	{ "lttng_ust_lib:unload", M_DL_CLOSE },
	{ "lttng_ust_lib:build_id", M_DL_BUILD_ID },
	{ "lttng_ust_lib:debug_link", M_DL_DEBUG_LINK },
};

/* perf sample event names -> counter; the most specific names first. */
static const struct {
	const char *needle;
	uint8_t counter;
} counter_names[] = {
	{ "L1-dcache-load-misses", MPA_CTR_L1D_MISS },
	{ "l1d", MPA_CTR_L1D_MISS },
	{ "LLC-load-misses", MPA_CTR_LLC_MISS },
	{ "LLC-store-misses", MPA_CTR_LLC_MISS },
	{ "dTLB-load-misses", MPA_CTR_DTLB_MISS },
	{ "dTLB-store-misses", MPA_CTR_DTLB_MISS },
	{ "mem-loads", MPA_CTR_MEM_LOAD },
	{ "mem_load", MPA_CTR_MEM_LOAD },
	{ "mem-stores", MPA_CTR_MEM_STORE },
	{ "mem_store", MPA_CTR_MEM_STORE },
	{ "cache-references", MPA_CTR_CACHE_REF },
	{ "cache-misses", MPA_CTR_CACHE_MISS },
	{ "page-faults", MPA_CTR_PAGE_FAULT },
	{ "major-faults", MPA_CTR_PAGE_FAULT },
	{ "minor-faults", MPA_CTR_PAGE_FAULT },
	{ "faults", MPA_CTR_PAGE_FAULT },
};

/* Field specs: "scope:name|scope:name..." alternatives, scope one of
 * p (payload), s (specific context), c (common context), k (packet
 * context).  A leading '!' marks the register as required: a class lacking
 * it is not mapped (counted as unknown). */
struct spec {
	uint8_t reg;
	const char *where;
};

#define SPEC_END { R_COUNT_, NULL }
#define UST_COMMON { R_PID, "c:vpid|c:pid" }, { R_TID, "c:vtid|c:tid" }, \
	{ R_IP, "c:ip" }, { R_CPU, "k:cpu_id" }
#define KERNEL_COMMON { R_PID, "p:perf_pid|c:pid|c:vpid|c:tid" }, \
	{ R_TID, "p:perf_tid|c:tid|c:vtid" }, { R_CPU, "p:perf_cpu|k:cpu_id" }

static const struct spec sp_ust_malloc[] = { { R_SIZE, "!p:size" }, { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_ust_calloc[] = { { R_NMEMB, "!p:nmemb" }, { R_SIZE, "!p:size" }, { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_ust_realloc[] = { { R_PTR, "!p:in_ptr" }, { R_SIZE, "!p:size" }, { R_NEW_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_ust_free[] = { { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_ust_memalign[] = { { R_ALIGN, "!p:alignment" }, { R_SIZE, "!p:size" }, { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_ust_pmemalign[] = { { R_PTR, "!p:out_ptr" }, { R_ALIGN, "!p:alignment" }, { R_SIZE, "!p:size" }, { R_RESULT, "p:result" }, UST_COMMON, SPEC_END };

#define MPA_HEAD { R_API, "p:api" }, { R_FLAGS, "p:flags" }, { R_STACK_ID, "p:stack_id" }
static const struct spec sp_mpa_alloc[] = { MPA_HEAD, { R_PTR, "!p:ptr" }, { R_SIZE, "!p:size" }, { R_ALIGN, "p:align" }, { R_USABLE, "p:usable" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_free[] = { MPA_HEAD, { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_realloc[] = { MPA_HEAD, { R_PTR, "!p:ptr" }, { R_NEW_PTR, "!p:new_ptr" }, { R_SIZE, "!p:size" }, { R_USABLE, "p:usable" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_map[] = { { R_API, "p:api" }, { R_STACK_ID, "p:stack_id" }, { R_PTR, "!p:addr" }, { R_SIZE, "!p:len" }, { R_PROT, "p:prot" }, { R_MFLAGS, "p:mflags" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_unmap[] = { { R_API, "p:api" }, { R_STACK_ID, "p:stack_id" }, { R_PTR, "!p:addr" }, { R_SIZE, "!p:len" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_tstart[] = { { R_PTR, "!p:stack_base" }, { R_SIZE, "!p:stack_size" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_common[] = { UST_COMMON, SPEC_END };
static const struct spec sp_mpa_ssample[] = { { R_SIZE, "!p:sp_depth" }, { R_FDEPTH, "p:frame_depth" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_numa[] = { { R_PTR, "!p:addr" }, { R_NODE, "!p:node" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_pcreate[] = { { R_POOL, "!p:pool_id" }, { R_SIZE, "p:obj_size" }, { R_USABLE, "p:capacity" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_palloc[] = { { R_POOL, "!p:pool_id" }, { R_PTR, "!p:ptr" }, { R_SIZE, "p:size" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_pfree[] = { { R_POOL, "!p:pool_id" }, { R_PTR, "!p:ptr" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_pdestroy[] = { { R_POOL, "!p:pool_id" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_pexit[] = { { R_STATUS, "p:status" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_edrop[] = { { R_SIZE, "!p:count" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_pfork[] = { { R_PPID, "!p:ppid" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_lscan[] = { { R_PTR, "!p:ptr" }, { R_STATUS, "!p:kind" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_stackdef[] = { { R_STACK_ID, "!p:id" }, UST_COMMON, SPEC_END };
static const struct spec sp_mpa_lscan_end[] = { { R_STATUS, "!p:threads_running" }, UST_COMMON, SPEC_END };

static const struct spec sp_k_alloc[] = { { R_CALL_SITE, "p:call_site" }, { R_PTR, "!p:ptr" }, { R_BYTES_REQ, "p:bytes_req" }, { R_BYTES_ALLOC, "p:bytes_alloc" }, { R_GFP, "p:gfp_flags" }, { R_NODE, "p:node" }, KERNEL_COMMON, SPEC_END };
static const struct spec sp_k_free[] = { { R_CALL_SITE, "p:call_site" }, { R_PTR, "!p:ptr" }, KERNEL_COMMON, SPEC_END };
static const struct spec sp_k_page_alloc[] = { { R_PFN, "p:pfn" }, { R_PAGE, "p:page" }, { R_ORDER, "p:order" }, { R_GFP, "p:gfp_flags" }, KERNEL_COMMON, SPEC_END };
static const struct spec sp_k_page_free[] = { { R_PFN, "p:pfn" }, { R_PAGE, "p:page" }, { R_ORDER, "p:order" }, KERNEL_COMMON, SPEC_END };

static const struct spec sp_perf_sample[] = { { R_IP, "p:perf_ip" }, { R_ADDR, "p:perf_addr" }, { R_PERIOD, "p:perf_period" }, { R_WEIGHT, "p:perf_weight" }, { R_DSRC, "p:perf_data_src" }, KERNEL_COMMON, SPEC_END };
static const struct spec sp_perf_comm[] = { { R_EXEC, "p:exec" }, KERNEL_COMMON, SPEC_END };
static const struct spec sp_perf_mmap[] = { { R_PTR, "!p:addr" }, { R_LEN, "!p:len" }, { R_PGOFF, "p:pgoff" }, KERNEL_COMMON, SPEC_END };
/* task records: source.mpa.perf's perf:fork/exit, or perf's CTF perf_fork/exit */
static const struct spec sp_perf_task[] = { { R_PPID, "!p:perf_ppid|p:ppid" },
	{ R_PID, "!p:perf_pid|p:pid" }, { R_TID, "!p:perf_tid|p:tid" },
	{ R_CPU, "p:perf_cpu|k:cpu_id" }, SPEC_END };

static const struct spec sp_sd_start[] = { UST_COMMON, SPEC_END };
static const struct spec sp_sd_bin_info[] = { { R_BADDR, "!p:baddr" }, { R_MEMSZ, "!p:memsz" }, { R_PIC, "p:is_pic" }, UST_COMMON, SPEC_END };
static const struct spec sp_sd_baddr[] = { { R_BADDR, "!p:baddr" }, UST_COMMON, SPEC_END };
static const struct spec sp_none[] = { SPEC_END };

static const struct spec *spec_of(enum cvt_mapper m)
{
	switch (m) {
	case M_UST_MALLOC: return sp_ust_malloc;
	case M_UST_CALLOC: return sp_ust_calloc;
	case M_UST_REALLOC: return sp_ust_realloc;
	case M_UST_FREE: return sp_ust_free;
	case M_UST_MEMALIGN: return sp_ust_memalign;
	case M_UST_POSIX_MEMALIGN: return sp_ust_pmemalign;
	case M_MPA_ALLOC: return sp_mpa_alloc;
	case M_MPA_FREE: return sp_mpa_free;
	case M_MPA_REALLOC: return sp_mpa_realloc;
	case M_MPA_MAP: return sp_mpa_map;
	case M_MPA_UNMAP: return sp_mpa_unmap;
	case M_MPA_THREAD_START: return sp_mpa_tstart;
	case M_MPA_THREAD_EXIT: return sp_mpa_common;
	case M_MPA_STACK_SAMPLE: return sp_mpa_ssample;
	case M_MPA_NUMA: return sp_mpa_numa;
	case M_MPA_POOL_CREATE: return sp_mpa_pcreate;
	case M_MPA_POOL_ALLOC: return sp_mpa_palloc;
	case M_MPA_POOL_FREE: return sp_mpa_pfree;
	case M_MPA_POOL_DESTROY: return sp_mpa_pdestroy;
	case M_MPA_PROC_EXEC: return sp_mpa_common;
	case M_MPA_PROC_EXIT: return sp_mpa_pexit;
	case M_MPA_EARLY_DROPPED: return sp_mpa_edrop;
	case M_MPA_PROC_FORK: return sp_mpa_pfork;
	case M_MPA_LEAK_SCAN: return sp_mpa_lscan;
	case M_MPA_LEAK_SCAN_END: return sp_mpa_lscan_end;
	case M_MPA_STACK_DEF: return sp_mpa_stackdef;
	case M_K_KMALLOC: case M_K_CACHE_ALLOC: return sp_k_alloc;
	case M_K_KFREE: case M_K_CACHE_FREE: return sp_k_free;
	case M_K_PAGE_ALLOC: return sp_k_page_alloc;
	case M_K_PAGE_FREE: return sp_k_page_free;
	case M_PERF_SAMPLE: return sp_perf_sample;
	case M_PERF_COMM: return sp_perf_comm;
	case M_PERF_MMAP: return sp_perf_mmap;
	case M_PERF_FORK: case M_PERF_EXIT: return sp_perf_task;
	case M_SD_START: return sp_sd_start;
	case M_SD_BIN_INFO: case M_DL_OPEN: return sp_sd_bin_info;
	case M_SD_BUILD_ID: case M_SD_DEBUG_LINK: case M_DL_CLOSE:
	case M_DL_BUILD_ID: case M_DL_DEBUG_LINK: return sp_sd_baddr;
	default: return sp_none;
	}
}

/* Which payload members beyond integers a mapper wants. */
static const char *stack_member(enum cvt_mapper m)
{
	switch (m) {
	case M_MPA_ALLOC: case M_MPA_FREE: case M_MPA_REALLOC: case M_MPA_MAP:
	case M_MPA_UNMAP: case M_MPA_STACK_SAMPLE: case M_MPA_POOL_ALLOC:
	case M_MPA_POOL_FREE: case M_MPA_STACK_DEF:
		return "stack";
	case M_PERF_SAMPLE: case M_K_KMALLOC: case M_K_CACHE_ALLOC: case M_K_KFREE:
	case M_K_CACHE_FREE: case M_K_PAGE_ALLOC: case M_K_PAGE_FREE:
		return "perf_callchain";
	default:
		return NULL;
	}
}

static const char *string_member(enum cvt_mapper m)
{
	switch (m) {
	case M_MPA_POOL_CREATE: return "name";
	case M_MPA_PROC_EXEC: return "path";
	case M_PERF_COMM: return "comm";
	case M_PERF_MMAP: return "filename";
	case M_SD_BIN_INFO: case M_DL_OPEN: return "path";
	case M_SD_DEBUG_LINK: case M_DL_DEBUG_LINK: return "filename";
	default: return NULL;
	}
}

static const bt_field_class *scope_class(const bt_event_class *ec, enum cvt_scope sc)
{
	const bt_stream_class *stc = bt_event_class_borrow_stream_class_const(ec);
	switch (sc) {
	case CVT_SCOPE_PAYLOAD:
		return bt_event_class_borrow_payload_field_class_const(ec);
	case CVT_SCOPE_SPEC_CTX:
		return bt_event_class_borrow_specific_context_field_class_const(ec);
	case CVT_SCOPE_COMMON_CTX:
		return bt_stream_class_borrow_event_common_context_field_class_const(stc);
	case CVT_SCOPE_PACKET_CTX:
		if (!bt_stream_class_supports_packets(stc))
			return NULL;
		return bt_stream_class_borrow_packet_context_field_class_const(stc);
	default:
		return NULL;
	}
}

/* Index of member `name` (or `_name`) in structure class fc, or -1. */
static int64_t member_index(const bt_field_class *fc, const char *name, size_t len,
			    const bt_field_class **member_fc)
{
	if (!fc || bt_field_class_get_type(fc) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return -1;
	uint64_t n = bt_field_class_structure_get_member_count(fc);
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < n; i++) {
			const bt_field_class_structure_member *m =
				bt_field_class_structure_borrow_member_by_index_const(fc, i);
			const char *mn = bt_field_class_structure_member_get_name(m);
			if (pass == 1) {
				if (mn[0] != '_')
					continue;
				mn++;
			}
			if (strlen(mn) == len && memcmp(mn, name, len) == 0) {
				*member_fc = bt_field_class_structure_member_borrow_field_class_const(m);
				return (int64_t)i;
			}
		}
	}
	return -1;
}

static int scope_of_char(char c)
{
	switch (c) {
	case 'p': return CVT_SCOPE_PAYLOAD;
	case 's': return CVT_SCOPE_SPEC_CTX;
	case 'c': return CVT_SCOPE_COMMON_CTX;
	case 'k': return CVT_SCOPE_PACKET_CTX;
	default: return -1;
	}
}

/* Compiles one spec entry; returns 0 if found (or optional and absent),
 * -1 if a required member is missing or has the wrong type. */
static int compile_spec(struct cvt_class *c, const struct spec *sp)
{
	const char *w = sp->where;
	int required = 0;
	if (*w == '!') {
		required = 1;
		w++;
	}
	while (*w) {
		const char *end = strchr(w, '|');
		size_t alt_len = end ? (size_t)(end - w) : strlen(w);
		int sc = scope_of_char(w[0]);
		if (sc >= 0 && alt_len > 2 && w[1] == ':') {
			const bt_field_class *mfc = NULL;
			int64_t ix = member_index(scope_class(c->ec, (enum cvt_scope)sc), w + 2,
						  alt_len - 2, &mfc);
			if (ix >= 0 && ix <= UINT16_MAX &&
			    bt_field_class_type_is(bt_field_class_get_type(mfc),
						   BT_FIELD_CLASS_TYPE_INTEGER)) {
				if (c->nprog >= CVT_MAX_PROG)
					return -1;
				struct cvt_prog *p = &c->prog[c->nprog++];
				p->index = (uint16_t)ix;
				p->scope = (uint8_t)sc;
				p->reg = sp->reg;
				p->is_signed = bt_field_class_type_is(bt_field_class_get_type(mfc),
						BT_FIELD_CLASS_TYPE_SIGNED_INTEGER) != 0;
				c->present |= UINT64_C(1) << sp->reg;
				c->scopes_needed |= (uint8_t)(1u << sc);
				return 0;
			}
		}
		w += alt_len;
		if (*w == '|')
			w++;
	}
	return required ? -1 : 0;
}

/* Payload member index of a sequence of integers / a string, or -1. */
static int32_t payload_array(const bt_event_class *ec, const char *name, int want_string)
{
	const bt_field_class *mfc = NULL;
	int64_t ix = member_index(bt_event_class_borrow_payload_field_class_const(ec),
				  name, strlen(name), &mfc);
	if (ix < 0 || ix > INT32_MAX)
		return -1;
	bt_field_class_type t = bt_field_class_get_type(mfc);
	if (want_string)
		return t == BT_FIELD_CLASS_TYPE_STRING ? (int32_t)ix : -1;
	if (!bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY))
		return -1;
	const bt_field_class *el = bt_field_class_array_borrow_element_field_class_const(mfc);
	if (!bt_field_class_type_is(bt_field_class_get_type(el), BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
		return -1;
	return (int32_t)ix;
}

static enum cvt_mapper mapper_of_name(const char *name)
{
	for (size_t i = 0; i < sizeof(known_names) / sizeof(known_names[0]); i++)
		if (strcmp(name, known_names[i].name) == 0)
			return known_names[i].m;
	return M_UNKNOWN;
}

static uint8_t counter_of_name(const char *name)
{
	for (size_t i = 0; i < sizeof(counter_names) / sizeof(counter_names[0]); i++)
		if (strstr(name, counter_names[i].needle))
			return counter_names[i].counter;
	return MPA_CTR_UNKNOWN;
}

static int resolve(struct cvt_class *c)
{
	c->stack_index = c->str_index = c->str2_index = c->bytes_index = -1;
	c->mapper = mapper_of_name(c->name);
	if (c->mapper == M_UNKNOWN) {
		/* A perf sample: a counter name and perf's payload members. */
		uint8_t ctr = counter_of_name(c->name);
		const bt_field_class *mfc;
		if (ctr != MPA_CTR_UNKNOWN &&
		    member_index(bt_event_class_borrow_payload_field_class_const(c->ec),
				 "perf_ip", 7, &mfc) >= 0) {
			c->mapper = M_PERF_SAMPLE;
			c->counter = ctr;
		}
	}
	if (c->mapper == M_UNKNOWN)
		return 0;
	for (const struct spec *sp = spec_of(c->mapper); sp->where; sp++) {
		if (compile_spec(c, sp) != 0) {
			c->mapper = M_UNKNOWN; /* wrong layout: not ours after all */
			c->nprog = 0;
			return 0;
		}
	}
	const char *sm = stack_member(c->mapper);
	if (sm)
		c->stack_index = payload_array(c->ec, sm, 0);
	const char *strm = string_member(c->mapper);
	if (strm) {
		c->str_index = payload_array(c->ec, strm, 1);
		if (c->str_index < 0 && c->mapper != M_MPA_POOL_CREATE && c->mapper != M_PERF_COMM) {
			c->mapper = M_UNKNOWN;
			return 0;
		}
	}
	if (c->mapper == M_PERF_MMAP)
		c->str2_index = payload_array(c->ec, "build_id", 1);
	if (c->mapper == M_SD_BUILD_ID || c->mapper == M_DL_BUILD_ID)
		c->bytes_index = payload_array(c->ec, "build_id", 0);
	if (c->stack_index >= 0 || c->str_index >= 0 || c->str2_index >= 0 || c->bytes_index >= 0)
		c->scopes_needed |= 1u << CVT_SCOPE_PAYLOAD;
	switch (c->mapper) {
	case M_K_KMALLOC: case M_K_CACHE_ALLOC: case M_K_KFREE: case M_K_CACHE_FREE:
	case M_K_PAGE_ALLOC: case M_K_PAGE_FREE:
		c->domain = MPA_DOMAIN_KERNEL;
		break;
	default:
		c->domain = MPA_DOMAIN_USER;
	}
	return 0;
}

void cvt_class_free(struct cvt_class *c)
{
	if (!c)
		return;
	bt_event_class_put_ref(c->ec);
	free(c->name);
	free(c);
}

struct cvt_class *cvt_class_new(const bt_event_class *ec)
{
	struct cvt_class *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	const char *name = bt_event_class_get_name(ec);
	c->name = strdup(name ? name : "(unnamed)");
	if (!c->name) {
		free(c);
		return NULL;
	}
	c->ec = ec;
	bt_event_class_get_ref(ec);
	c->has_clock = bt_stream_class_borrow_default_clock_class_const(
			       bt_event_class_borrow_stream_class_const(ec)) != NULL;
	resolve(c);
	return c;
}

struct cvt_class *cvt_class_get(struct cvt_sink *s, const bt_event *ev)
{
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	struct cvt_class_cache *ce = &s->class_cache[((uintptr_t)ec >> 4 ^ (uintptr_t)ec >> 10) & 63];
	if (ce->ec == ec)
		return ce->c;
	uint64_t *ix = cvt_map_find(&s->class_index, (uintptr_t)ec, 0);
	if (ix) {
		ce->ec = ec;
		ce->c = s->classes[*ix];
		return ce->c;
	}
	struct cvt_class *c = cvt_class_new(ec);
	if (!c)
		goto nomem;
	if (s->nclasses == s->capclasses) {
		size_t ncap = s->capclasses ? s->capclasses * 2 : 32;
		void *n = realloc(s->classes, ncap * sizeof(*s->classes));
		if (!n)
			goto nomem;
		s->classes = n;
		s->capclasses = ncap;
	}
	if (cvt_map_put(&s->class_index, (uintptr_t)ec, 0, s->nclasses, NULL))
		goto nomem;
	s->classes[s->nclasses++] = c;
	ce->ec = ec;
	ce->c = c;
	return c;
nomem:
	cvt_class_free(c);
	APPEND_CAUSE(s, "Out of memory resolving an event class.");
	return NULL;
}

/* ---- per event ------------------------------------------------------------ */

/* Per-event paths clear only what is read back: `= { 0 }` on a struct
 * mpt_error zeroes 516 bytes, which showed as the hottest instruction of
 * the mapping (rep stos) under perf. */
static inline void err_clear(struct mpt_error *err)
{
	err->code = MPT_OK;
	err->msg[0] = 0;
}

/* A zero record, copied into each reserved slot (plain vector stores; a
 * memset of this size became a rep stos, slow to start). */
static const struct mpa_event zero_event;

int cvt_append(struct cvt_sink *s, const struct mpa_event *e)
{
	struct mpt_error err;
	err_clear(&err);
	if (cvt_wpipe_append(s->pipe, e, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to append a record: %s", err.msg);
		return -1;
	}
	s->records++;
	if (e->kind != MPA_KIND_LOST)
		s->memory_records++;
	return 0;
}

/* Commits the record built in the pipe's reserved slot. */
static int cvt_commit(struct cvt_sink *s, const struct mpa_event *e)
{
	struct mpt_error err;
	err_clear(&err);
	unsigned kind = e->kind; /* e is not ours after the commit */
	if (cvt_wpipe_commit(s->pipe, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to append a record: %s", err.msg);
		return -1;
	}
	s->records++;
	if (kind != MPA_KIND_LOST)
		s->memory_records++;
	return 0;
}

static int grow_scratch(struct cvt_sink *s, uint64_t n)
{
	if (n <= s->stack_buf_cap)
		return 0;
	uint64_t ncap = s->stack_buf_cap ? s->stack_buf_cap : 64;
	while (ncap < n)
		ncap *= 2;
	uint32_t *a = realloc(s->stack_buf, ncap * sizeof(uint32_t));
	if (!a)
		return -1;
	s->stack_buf = a;
	uint64_t *b = realloc(s->ip_buf, ncap * sizeof(uint64_t));
	if (!b)
		return -1;
	s->ip_buf = b;
	s->stack_buf_cap = s->ip_buf_cap = ncap;
	return 0;
}

/* Whether records of a kind carry a stack id (cached: asked per event). */
static int kind_has_stack(unsigned kind)
{
	static uint8_t has[MPA_KIND_COUNT_];
	static int ready;
	if (!ready) {
		for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
			has[k] = (mpt_kind_columns(k) & MPT_COLBIT(MPT_COL_STACK_ID)) != 0;
		ready = 1;
	}
	return kind < MPA_KIND_COUNT_ && has[kind];
}

/* Perf callchain context markers (PERF_CONTEXT_*) are >= this. */
#define PERF_CONTEXT_MAX_MARK UINT64_C(0xfffffffffffff000)

/* A one-address stack (LTTng's ip context, a perf sample without
 * callchain): one cache lookup gives the stack id directly. */
static int intern_single(struct cvt_sink *s, int32_t pid, uint64_t ip, int exact, uint32_t *stack_id)
{
	uint64_t key = ((uint64_t)cvt_symtab_image(s->st, pid) << 1) | (exact ? 1u : 0u);
	struct cvt_ipcache *ce = &s->ipcache[(ip ^ (ip >> 8) ^ (key << 3)) & 255];
	if (ce->valid && ce->ip == ip && ce->key == key) {
		*stack_id = ce->stack_id;
		return 0;
	}
	uint64_t *hit = cvt_map_find(&s->single_stacks, key, ip);
	if (hit) {
		*stack_id = (uint32_t)*hit;
		*ce = (struct cvt_ipcache){ .key = key, .ip = ip, .stack_id = *stack_id, .valid = 1 };
		return 0;
	}
	struct mpt_error err = { 0 };
	uint32_t frame;
	if (cvt_symtab_frame(s->st, pid, ip, exact, &frame, &err) != 0) {
		APPEND_CAUSE(s, "Failed to intern a frame: %s", err.msg);
		return -1;
	}
	cvt_wpipe_lock(s->pipe);
	enum mpt_status st = mpt_writer_stack(s->w, &frame, 1, stack_id, &err);
	cvt_wpipe_unlock(s->pipe);
	if (st != MPT_OK) {
		APPEND_CAUSE(s, "Failed to intern a stack: %s", err.msg);
		return -1;
	}
	*ce = (struct cvt_ipcache){ .key = key, .ip = ip, .stack_id = *stack_id, .valid = 1 };
	if (cvt_map_put(&s->single_stacks, key, ip, *stack_id, NULL)) {
		APPEND_CAUSE(s, "Out of memory caching a stack.");
		return -1;
	}
	return 0;
}

/* Interns the stack of an event: the sequence member if present and not
 * empty, else the single address `ip` (when nonzero).  first_exact: the
 * first address is a sampled ip rather than a return address. */
static int intern_stack(struct cvt_sink *s, const struct cvt_class *c, const struct cvt_in *in,
			int32_t pid, uint64_t ip, int first_exact, uint32_t *stack_id)
{
	uint64_t n = 0;
	const bt_field *payload = in->payload;
	*stack_id = 0;
	if (c->stack_index < 0 && ip != 0)
		return intern_single(s, pid, ip, first_exact, stack_id); /* the common case */
	if (c->stack_index >= 0 && (payload || in->is_plain)) {
		const bt_field *arr = payload ? bt_field_structure_borrow_member_field_by_index_const(
			payload, (uint64_t)c->stack_index) : NULL;
		uint64_t len = arr ? bt_field_array_get_length(arr) : in->nstack;
		if (len > CVT_MAX_STACK)
			len = CVT_MAX_STACK; /* a deeper stack is kept truncated to its innermost part */
		if (grow_scratch(s, len + 1))
			goto nomem;
		for (uint64_t i = 0; i < len; i++) {
			uint64_t a = arr ? bt_field_integer_unsigned_get_value(
				bt_field_array_borrow_element_field_by_index_const(arr, i)) : in->stack[i];
			if (a >= PERF_CONTEXT_MAX_MARK || a == 0)
				continue;
			s->ip_buf[n++] = a;
		}
	}
	if (n == 0 && ip != 0) {
		if (grow_scratch(s, 1))
			goto nomem;
		s->ip_buf[n++] = ip;
	}
	if (n == 0)
		return 0;
	struct mpt_error err = { 0 };
	if (n == 1)
		return intern_single(s, pid, s->ip_buf[0], first_exact, stack_id);
	for (uint64_t i = 0; i < n; i++) {
		if (cvt_symtab_frame(s->st, pid, s->ip_buf[i], first_exact && i == 0,
				     &s->stack_buf[i], &err) != 0) {
			APPEND_CAUSE(s, "Failed to intern a frame: %s", err.msg);
			return -1;
		}
	}
	cvt_wpipe_lock(s->pipe);
	enum mpt_status st = mpt_writer_stack(s->w, s->stack_buf, (uint32_t)n, stack_id, &err);
	cvt_wpipe_unlock(s->pipe);
	if (st != MPT_OK) {
		APPEND_CAUSE(s, "Failed to intern a stack: %s", err.msg);
		return -1;
	}
	return 0;
nomem:
	APPEND_CAUSE(s, "Out of memory reading a stack.");
	return -1;
}

/* String member `index` of the event (str_index or str2_index), or NULL. */
static const char *in_string(const struct cvt_in *in, const struct cvt_class *c, int32_t index,
			     uint64_t *len)
{
	if (index < 0)
		return NULL;
	if (in->payload) {
		const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(
			in->payload, (uint64_t)index);
		*len = bt_field_string_get_length(f);
		return bt_field_string_get_value(f);
	}
	if (!in->is_plain)
		return NULL;
	if (index == c->str_index) {
		*len = in->str_len;
		return in->str;
	}
	*len = in->str2_len;
	return in->str2;
}

static int intern_string(struct cvt_sink *s, const struct cvt_class *c, const struct cvt_in *in,
			 int32_t index, uint32_t *sid, const char **str, uint64_t *len)
{
	*sid = 0;
	uint64_t l = 0;
	const char *v = in_string(in, c, index, &l);
	if (!v)
		return 0;
	if (str) {
		*str = v;
		*len = l;
	}
	return cvt_intern(s, v, (size_t)l, sid);
}

int cvt_intern(struct cvt_sink *s, const char *v, size_t len, uint32_t *sid)
{
	struct mpt_error err = { 0 };
	cvt_wpipe_lock(s->pipe);
	enum mpt_status st = mpt_writer_string(s->w, v, len, sid, &err);
	cvt_wpipe_unlock(s->pipe);
	if (st != MPT_OK) {
		APPEND_CAUSE(s, "Failed to intern a string: %s", err.msg);
		return -1;
	}
	return 0;
}

static int symtab_fail(struct cvt_sink *s, const char *what)
{
	APPEND_CAUSE(s, "Out of memory recording %s.", what);
	return -1;
}

/* Process pid was forked from ppid: 1 when this fork is new (the record is
 * to be written; pid's symbolization starts with ppid's mappings), 0 when
 * it repeats the fork last written for pid (another source's report of
 * it), -1 on error. */
static int fork_is_new(struct cvt_sink *s, int32_t pid, int32_t ppid)
{
	uint64_t *p = cvt_map_find(&s->forked, (uint32_t)pid, 0);
	if (p && *p == (uint32_t)ppid)
		return 0;
	if (cvt_map_put(&s->forked, (uint32_t)pid, 0, (uint32_t)ppid, NULL))
		return symtab_fail(s, "a fork");
	if (cvt_symtab_fork(s->st, pid, ppid))
		return symtab_fail(s, "a fork");
	return 1;
}

/* pid's image ended (exec) or the process did (exit): a later fork that
 * makes the same pid is a new one. */
static void fork_done(struct cvt_sink *s, int32_t pid)
{
	cvt_map_del(&s->forked, (uint32_t)pid, 0);
}

uint64_t cvt_in_bytes(const struct cvt_class *c, const struct cvt_in *in, uint8_t *buf)
{
	if (!in->payload) {
		if (in->nbytes <= CVT_MAX_BUILD_ID)
			memcpy(buf, in->bytes, in->nbytes);
		return in->nbytes;
	}
	const bt_field *arr = bt_field_structure_borrow_member_field_by_index_const(
		in->payload, (uint64_t)c->bytes_index);
	uint64_t n = bt_field_array_get_length(arr);
	if (n > CVT_MAX_BUILD_ID)
		return n;
	for (uint64_t i = 0; i < n; i++)
		buf[i] = (uint8_t)bt_field_integer_unsigned_get_value(
			bt_field_array_borrow_element_field_by_index_const(arr, i));
	return n;
}

const char *cvt_in_string(const struct cvt_in *in, const struct cvt_class *c, int32_t index,
			  uint64_t *len)
{
	return in_string(in, c, index, len);
}

void cvt_read_event(struct cvt_class *c, const bt_message *msg, const bt_event *ev,
		    struct cvt_in *in)
{
	/* Registers live in the class: members the class lacks stay 0 from its
	 * creation on, the program overwrites the others every event. */
	uint64_t *r = c->r;
	const bt_field *sc[CVT_SCOPE_COUNT_] = { 0 };

	if (c->scopes_needed & (1u << CVT_SCOPE_PAYLOAD))
		sc[CVT_SCOPE_PAYLOAD] = bt_event_borrow_payload_field_const(ev);
	if (c->scopes_needed & (1u << CVT_SCOPE_SPEC_CTX))
		sc[CVT_SCOPE_SPEC_CTX] = bt_event_borrow_specific_context_field_const(ev);
	if (c->scopes_needed & (1u << CVT_SCOPE_COMMON_CTX))
		sc[CVT_SCOPE_COMMON_CTX] = bt_event_borrow_common_context_field_const(ev);
	if (c->scopes_needed & (1u << CVT_SCOPE_PACKET_CTX)) {
		const bt_packet *pk = bt_event_borrow_packet_const(ev);
		if (pk)
			sc[CVT_SCOPE_PACKET_CTX] = bt_packet_borrow_context_field_const(pk);
	}
	for (unsigned i = 0; i < c->nprog; i++) {
		const struct cvt_prog *p = &c->prog[i];
		const bt_field *base = sc[p->scope];
		if (!base) {
			r[p->reg] = 0;
			continue;
		}
		const bt_field *f = bt_field_structure_borrow_member_field_by_index_const(base, p->index);
		r[p->reg] = p->is_signed ? (uint64_t)bt_field_integer_signed_get_value(f)
					 : bt_field_integer_unsigned_get_value(f);
	}

	in->payload = sc[CVT_SCOPE_PAYLOAD];
	in->is_plain = 0;
	in->ts_ok = 0;
	if (c->has_clock) {
		int64_t ns;
		const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(msg);
		if (bt_clock_snapshot_get_ns_from_origin(cs, &ns) ==
			    BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK && ns >= 0) {
			in->ts = (uint64_t)ns;
			in->ts_ok = 1;
		}
	}
}

int cvt_map_event(struct cvt_sink *s, struct cvt_class *c, const bt_message *msg,
		  const bt_event *ev)
{
	struct cvt_in in;

	c->count++;
	if (c->mapper == M_UNKNOWN)
		return 0;
	cvt_read_event(c, msg, ev, &in);
	return cvt_map_in(s, c, &in);
}

int cvt_map_in(struct cvt_sink *s, struct cvt_class *c, const struct cvt_in *in)
{
	uint64_t *r = c->r;

	/* The record is built in place in the writer pipe's next slot; it
	 * becomes a record only when committed (by cvt_commit below). */
	struct mpa_event *ep = cvt_wpipe_reserve(s->pipe);
	*ep = zero_event;
	if (in->ts_ok) {
		ep->ts = in->ts;
		s->last_ts = ep->ts;
	} else {
		ep->ts = s->last_ts;
		ep->flags |= MPA_FLAG_TS_APPROX;
		s->ts_unavailable++;
	}
	uint64_t present = c->present;
	ep->pid = (present & (UINT64_C(1) << R_PID)) ? (int32_t)r[R_PID] : -1;
	ep->tid = (present & (UINT64_C(1) << R_TID)) ? (int32_t)r[R_TID] : ep->pid;
	ep->cpu = (uint32_t)r[R_CPU];
	ep->domain = c->domain;
	const char *str = "";
	uint64_t len = 0;

	switch (c->mapper) {
	case M_UST_MALLOC:
	case M_UST_CALLOC:
	case M_UST_MEMALIGN:
	case M_UST_POSIX_MEMALIGN:
		ep->kind = MPA_KIND_ALLOC;
		ep->ptr = r[R_PTR];
		ep->size = r[R_SIZE];
		ep->align = r[R_ALIGN];
		ep->api = c->mapper == M_UST_MALLOC ? MPA_API_MALLOC
			: c->mapper == M_UST_CALLOC ? MPA_API_CALLOC
			: c->mapper == M_UST_MEMALIGN ? MPA_API_MEMALIGN : MPA_API_POSIX_MEMALIGN;
		if (c->mapper == M_UST_CALLOC)
			ep->size = __builtin_mul_overflow(r[R_NMEMB], r[R_SIZE], &ep->size) ? UINT64_MAX : ep->size;
		if (c->mapper == M_UST_POSIX_MEMALIGN && (int32_t)r[R_RESULT] != 0)
			ep->ptr = 0; /* out_ptr is not written when the call fails */
		if (ep->ptr == 0)
			ep->flags |= MPA_FLAG_FAILED;
		break;
	case M_UST_REALLOC:
		ep->kind = MPA_KIND_REALLOC;
		ep->api = MPA_API_REALLOC;
		ep->ptr = r[R_PTR];
		ep->new_ptr = r[R_NEW_PTR];
		ep->size = r[R_SIZE];
		goto realloc_failed;
	case M_UST_FREE:
		ep->kind = MPA_KIND_FREE;
		ep->api = MPA_API_FREE;
		ep->ptr = r[R_PTR];
		break;
	case M_MPA_ALLOC:
		ep->kind = MPA_KIND_ALLOC;
		ep->api = (uint8_t)r[R_API];
		ep->flags |= (uint16_t)r[R_FLAGS];
		ep->ptr = r[R_PTR];
		ep->size = r[R_SIZE];
		ep->align = r[R_ALIGN];
		ep->usable = r[R_USABLE];
		if (ep->ptr == 0)
			ep->flags |= MPA_FLAG_FAILED;
		break;
	case M_MPA_FREE:
		ep->kind = MPA_KIND_FREE;
		ep->api = (uint8_t)r[R_API];
		ep->flags |= (uint16_t)r[R_FLAGS];
		ep->ptr = r[R_PTR];
		break;
	case M_MPA_REALLOC:
		ep->kind = MPA_KIND_REALLOC;
		ep->api = (uint8_t)r[R_API];
		ep->flags |= (uint16_t)r[R_FLAGS];
		ep->ptr = r[R_PTR];
		ep->new_ptr = r[R_NEW_PTR];
		ep->size = r[R_SIZE];
		ep->usable = r[R_USABLE];
realloc_failed:
		if (ep->new_ptr == 0 && ep->size != 0)
			ep->flags |= MPA_FLAG_FAILED; /* the old block stays */
		break;
	case M_MPA_MAP:
	case M_MPA_UNMAP:
		ep->kind = c->mapper == M_MPA_MAP ? MPA_KIND_MAP : MPA_KIND_UNMAP;
		ep->api = (uint8_t)r[R_API];
		ep->flags |= (uint16_t)r[R_FLAGS];
		ep->ptr = r[R_PTR];
		ep->size = r[R_SIZE];
		ep->prot = (uint32_t)r[R_PROT];
		ep->mflags = (uint32_t)r[R_MFLAGS];
		break;
	case M_MPA_THREAD_START:
		ep->kind = MPA_KIND_THREAD_START;
		ep->ptr = r[R_PTR];
		ep->size = r[R_SIZE];
		break;
	case M_MPA_THREAD_EXIT:
		ep->kind = MPA_KIND_THREAD_EXIT;
		break;
	case M_MPA_STACK_SAMPLE:
		ep->kind = MPA_KIND_STACK_SAMPLE;
		ep->size = r[R_SIZE];
		ep->frame_depth = (uint32_t)r[R_FDEPTH];
		break;
	case M_MPA_NUMA:
		ep->kind = MPA_KIND_NUMA_PLACE;
		ep->ptr = r[R_PTR];
		ep->node = (int32_t)r[R_NODE];
		break;
	case M_MPA_POOL_CREATE:
		ep->kind = MPA_KIND_POOL_CREATE;
		ep->pool_id = (uint32_t)r[R_POOL];
		ep->size = r[R_SIZE];
		ep->usable = r[R_USABLE];
		if (intern_string(s, c, in, c->str_index, &ep->str_id, NULL, NULL))
			return -1;
		break;
	case M_MPA_POOL_ALLOC:
		ep->kind = MPA_KIND_POOL_ALLOC;
		ep->pool_id = (uint32_t)r[R_POOL];
		ep->ptr = r[R_PTR];
		ep->size = r[R_SIZE];
		break;
	case M_MPA_POOL_FREE:
		ep->kind = MPA_KIND_POOL_FREE;
		ep->pool_id = (uint32_t)r[R_POOL];
		ep->ptr = r[R_PTR];
		break;
	case M_MPA_POOL_DESTROY:
		ep->kind = MPA_KIND_POOL_DESTROY;
		ep->pool_id = (uint32_t)r[R_POOL];
		break;
	case M_MPA_PROC_EXEC:
		ep->kind = MPA_KIND_PROC_EXEC;
		if (intern_string(s, c, in, c->str_index, &ep->str_id, NULL, NULL))
			return -1;
		fork_done(s, ep->pid);
		if (cvt_stackdef_reset(s, ep->pid))
			return -1;
		break;
	case M_MPA_PROC_EXIT:
		ep->kind = MPA_KIND_PROC_EXIT;
		ep->status = (int32_t)r[R_STATUS];
		fork_done(s, ep->pid);
		if (cvt_stackdef_reset(s, ep->pid))
			return -1;
		break;
	case M_MPA_PROC_FORK: {
		ep->kind = MPA_KIND_PROC_FORK;
		ep->ppid = (int32_t)r[R_PPID];
		/* the preload's fork child starts a stack table of its own */
		if (cvt_stackdef_reset(s, ep->pid))
			return -1;
		int n = fork_is_new(s, ep->pid, ep->ppid);
		if (n <= 0)
			return n;
		break;
	}
	case M_MPA_STACK_DEF: {
		/* a stack's definition: interned now, no record */
		uint32_t sid;
		if (intern_stack(s, c, in, ep->pid, 0, 0, &sid) ||
		    cvt_stackdef_define(s, ep->pid, r[R_STACK_ID], sid))
			return -1;
		return 0;
	}
	case M_MPA_LEAK_SCAN:
		/* a block's reachability at exit (format 3.0); a kind the
		 * preload cannot send is no kind at all */
		if (r[R_PTR] == 0 || r[R_STATUS] >= MPA_REACH_COUNT_)
			return 0;
		ep->kind = MPA_KIND_LEAK_SCAN;
		ep->ptr = r[R_PTR];
		ep->status = (int32_t)r[R_STATUS];
		break;
	case M_MPA_LEAK_SCAN_END:
		/* the scan of this process is complete */
		ep->kind = MPA_KIND_LEAK_SCAN;
		ep->ptr = 0;
		ep->status = r[R_STATUS] > INT32_MAX ? INT32_MAX : (int32_t)r[R_STATUS];
		break;
	case M_MPA_EARLY_DROPPED: {
		/* allocations made before the tracer was live that did not fit
		 * the preload's table: never seen, so lost like discarded events */
		static const char stream[] = "mpa preload: early allocation table full";

		ep->kind = MPA_KIND_LOST;
		ep->size = r[R_SIZE];
		s->lost_events += ep->size;
		if (cvt_intern(s, stream, sizeof stream - 1, &ep->str_id))
			return -1;
		break;
	}
	case M_K_KMALLOC:
	case M_K_CACHE_ALLOC:
		ep->kind = MPA_KIND_KALLOC;
		ep->api = c->mapper == M_K_KMALLOC ? MPA_API_KMALLOC : MPA_API_KMEM_CACHE;
		ep->ptr = r[R_PTR];
		ep->size = r[R_BYTES_REQ];
		ep->usable = r[R_BYTES_ALLOC];
		ep->mflags = (uint32_t)r[R_GFP];
		ep->node = (present & (UINT64_C(1) << R_NODE)) ? (int32_t)r[R_NODE] : -1;
		ep->ip = r[R_CALL_SITE];
		if (ep->ptr == 0)
			ep->flags |= MPA_FLAG_FAILED;
		break;
	case M_K_KFREE:
	case M_K_CACHE_FREE:
		ep->kind = MPA_KIND_KFREE;
		ep->api = c->mapper == M_K_KFREE ? MPA_API_KMALLOC : MPA_API_KMEM_CACHE;
		ep->ptr = r[R_PTR];
		ep->ip = r[R_CALL_SITE];
		break;
	case M_K_PAGE_ALLOC:
	case M_K_PAGE_FREE:
		ep->kind = c->mapper == M_K_PAGE_ALLOC ? MPA_KIND_KALLOC : MPA_KIND_KFREE;
		ep->api = MPA_API_PAGE;
		ep->order = (uint8_t)r[R_ORDER];
		/* Pages are keyed by physical address (pfn * 4 KiB) when the
		 * trace has the pfn, else by the struct page pointer. */
		ep->ptr = (present & (UINT64_C(1) << R_PFN)) ? r[R_PFN] << 12 : r[R_PAGE];
		if (ep->kind == MPA_KIND_KALLOC) {
			ep->size = ep->usable = r[R_ORDER] < 32 ? UINT64_C(4096) << r[R_ORDER] : 0;
			ep->mflags = (uint32_t)r[R_GFP];
			ep->node = -1;
		}
		break;
	case M_PERF_SAMPLE:
		ep->kind = MPA_KIND_CACHE_SAMPLE;
		ep->counter = c->counter;
		ep->ip = r[R_IP];
		ep->ptr = r[R_ADDR];
		ep->period = r[R_PERIOD];
		ep->weight = r[R_WEIGHT];
		ep->data_src = r[R_DSRC];
		ep->domain = ep->ip >= UINT64_C(0xffff800000000000) ? MPA_DOMAIN_KERNEL : MPA_DOMAIN_USER;
		if (intern_stack(s, c, in, ep->pid, ep->ip, 1, &ep->stack_id))
			return -1;
		goto append;
	case M_PERF_COMM:
		if (!r[R_EXEC])
			return 0;
		ep->kind = MPA_KIND_PROC_EXEC;
		if (intern_string(s, c, in, c->str_index, &ep->str_id, NULL, NULL))
			return -1;
		if (cvt_symtab_new_image(s->st, ep->pid))
			return symtab_fail(s, "a process image");
		fork_done(s, ep->pid);
		goto append;
	case M_PERF_EXIT:
		/* perf:exit is per thread; the process ends with its main thread. */
		if (ep->pid != ep->tid)
			return 0;
		ep->kind = MPA_KIND_PROC_EXIT;
		fork_done(s, ep->pid);
		goto append;
	case M_PERF_FORK: {
		/* per thread too: a new thread keeps its process's pid (pid ==
		 * ppid); a new process is its own main thread (pid == tid) */
		if (ep->pid == (int32_t)r[R_PPID] || ep->pid != ep->tid)
			return 0;
		ep->kind = MPA_KIND_PROC_FORK;
		ep->ppid = (int32_t)r[R_PPID];
		int n = fork_is_new(s, ep->pid, ep->ppid);
		if (n <= 0)
			return n;
		goto append;
	}
	case M_PERF_MMAP:
		if (intern_string(s, c, in, c->str_index, &ep->str_id, &str, &len))
			return -1;
		if (ep->pid > 0 && r[R_PTR] >= r[R_PGOFF] &&
		    cvt_symtab_map(s->st, ep->pid, r[R_PTR], r[R_LEN], r[R_PTR] - r[R_PGOFF], 1,
				   str, (size_t)len))
			return symtab_fail(s, "a mapping");
		if (ep->pid > 0 && c->str2_index >= 0) {
			uint64_t blen = 0;
			const char *bid = in_string(in, c, c->str2_index, &blen);
			if (bid && blen && cvt_symtab_build_id(s->st, ep->pid, r[R_PTR] - r[R_PGOFF],
							(const uint8_t *)bid, (size_t)blen, 1))
				return symtab_fail(s, "a build id");
		}
		return 0;
	case M_SD_START:
		if (cvt_symtab_new_image(s->st, ep->pid))
			return symtab_fail(s, "a process image");
		return 0;
	case M_SD_BIN_INFO:
	case M_DL_OPEN:
		if (intern_string(s, c, in, c->str_index, &ep->str_id, &str, &len))
			return -1;
		if (cvt_symtab_map(s->st, ep->pid, r[R_BADDR], r[R_MEMSZ], r[R_BADDR],
				   (present & (UINT64_C(1) << R_PIC)) ? (int)r[R_PIC] : 1,
				   str, (size_t)len))
			return symtab_fail(s, "a mapping");
		return 0;
	case M_SD_BUILD_ID:
	case M_DL_BUILD_ID:
		if (c->bytes_index >= 0 && (in->payload || in->is_plain)) {
			uint8_t buf[CVT_MAX_BUILD_ID];
			uint64_t n = cvt_in_bytes(c, in, buf);
			if (n > sizeof(buf))
				return 0;
			if (cvt_symtab_build_id(s->st, ep->pid, r[R_BADDR], buf, (size_t)n, 0))
				return symtab_fail(s, "a build id");
		}
		return 0;
	case M_SD_DEBUG_LINK:
	case M_DL_DEBUG_LINK:
		if (c->str_index >= 0) {
			uint64_t dlen = 0;
			const char *dl = in_string(in, c, c->str_index, &dlen);
			if (dl && cvt_symtab_debug_link(s->st, ep->pid, r[R_BADDR], dl, (size_t)dlen))
				return symtab_fail(s, "a debug link");
		}
		return 0;
	case M_DL_CLOSE:
		cvt_symtab_unmap(s->st, ep->pid, r[R_BADDR]);
		return 0;
	case M_SD_OTHER:
	default:
		return 0;
	}

	/* Stacks of user-space records: the sequence if any, else the caller
	 * (LTTng's ip context is a return address); kernel records carry the
	 * call site in ip and a stack only from a perf callchain. */
	if (!kind_has_stack(ep->kind))
		goto append;
	if (ep->domain == MPA_DOMAIN_USER) {
		/* an mpa:* event made from an interned stack: its id */
		if (r[R_STACK_ID] && (present & (UINT64_C(1) << R_STACK_ID))) {
			if (cvt_stackdef_ref(s, ep->pid, r[R_STACK_ID], &ep->stack_id))
				return -1;
		} else if (intern_stack(s, c, in, ep->pid, r[R_IP], 0, &ep->stack_id))
			return -1;
	} else if (c->stack_index >= 0) {
		if (intern_stack(s, c, in, ep->pid, 0, 1, &ep->stack_id))
			return -1;
	} else if (s->ksyms && ep->ip && (ep->kind == MPA_KIND_KALLOC || ep->kind == MPA_KIND_KFREE)) {
		/* the call site as a one-frame stack, named from kallsyms; one
		 * kernel image (pid -1) whatever the context's pid */
		if (intern_single(s, -1, ep->ip, 0, &ep->stack_id))
			return -1;
	}
append:
	return cvt_commit(s, ep);
}
