/* sink.mpa.mpt: the state of one sink component and the pieces shared by
 * its files (cvt_sink.c: lifecycle and messages; cvt_evmap.c: event class
 * resolution and the mapping of source events onto struct mpa_event).
 */
#ifndef MPA_CVT_SINK_H
#define MPA_CVT_SINK_H

#include <babeltrace2/babeltrace.h>
#include <stdint.h>

#include "cvt_hash.h"
#include "cvt_sink_hooks.h"
#include "cvt_symtab.h"
#include "cvt_wpipe.h"
#include "mpa/mpt.h"

/* Where a mapped value comes from. */
enum cvt_scope {
	CVT_SCOPE_PAYLOAD = 0,
	CVT_SCOPE_SPEC_CTX,   /* event specific context */
	CVT_SCOPE_COMMON_CTX, /* event common context (LTTng's vpid, vtid, ip) */
	CVT_SCOPE_PACKET_CTX, /* packet context (cpu_id) */
	CVT_SCOPE_COUNT_
};

/* Logical inputs of a mapping ("registers" filled from trace fields). */
enum cvt_reg {
	R_PTR, R_NEW_PTR, R_SIZE, R_NMEMB, R_ALIGN, R_USABLE, R_RESULT, R_API,
	R_FLAGS, R_PID, R_TID, R_CPU, R_IP, R_CALL_SITE, R_BYTES_REQ,
	R_BYTES_ALLOC, R_GFP, R_NODE, R_PFN, R_PAGE, R_ORDER, R_PROT, R_MFLAGS,
	R_POOL, R_FDEPTH, R_STATUS, R_PERIOD, R_ADDR, R_WEIGHT, R_DSRC, R_EXEC,
	R_LEN, R_PGOFF, R_BADDR, R_MEMSZ, R_PIC, R_PPID, R_PPTID,
	R_STACK_ID,   /* mpa:* interned stack id (cvt_stackdef.c) */
	R_COUNT_
};

/* What a class of events becomes. */
enum cvt_mapper {
	M_UNKNOWN = 0,
	M_UST_MALLOC, M_UST_CALLOC, M_UST_REALLOC, M_UST_FREE, M_UST_MEMALIGN,
	M_UST_POSIX_MEMALIGN,
	M_MPA_ALLOC, M_MPA_FREE, M_MPA_REALLOC, M_MPA_MAP, M_MPA_UNMAP,
	M_MPA_THREAD_START, M_MPA_THREAD_EXIT, M_MPA_STACK_SAMPLE, M_MPA_NUMA,
	M_MPA_POOL_CREATE, M_MPA_POOL_ALLOC, M_MPA_POOL_FREE, M_MPA_POOL_DESTROY,
	M_MPA_PROC_EXEC, M_MPA_PROC_EXIT, M_MPA_EARLY_DROPPED, M_MPA_PROC_FORK,
	M_MPA_LEAK_SCAN, M_MPA_LEAK_SCAN_END,
	M_MPA_STACK_DEF, /* mpa:stack: a stack's definition, no record */
	M_K_KMALLOC, M_K_CACHE_ALLOC, M_K_KFREE, M_K_CACHE_FREE, M_K_PAGE_ALLOC,
	M_K_PAGE_FREE,
	M_PERF_SAMPLE, M_PERF_COMM, M_PERF_MMAP, M_PERF_FORK, M_PERF_EXIT,
	/* symbolization input, no record */
	M_SD_START, M_SD_BIN_INFO, M_SD_BUILD_ID, M_SD_DEBUG_LINK, M_SD_OTHER,
	M_DL_OPEN, M_DL_CLOSE, M_DL_BUILD_ID, M_DL_DEBUG_LINK,
	M_COUNT_
};

#define CVT_MAX_PROG 24

struct cvt_prog {
	uint16_t index;  /* member index in the scope's structure */
	uint8_t scope;   /* enum cvt_scope */
	uint8_t reg;     /* enum cvt_reg */
	uint8_t is_signed;
};

/* One resolved event class: everything needed to map its events without a
 * single by-name lookup. */
struct cvt_class {
	const bt_event_class *ec;  /* (owned by this: one reference) */
	char *name;                /* (owned by this) */
	enum cvt_mapper mapper;
	uint8_t domain;            /* enum mpa_domain */
	uint8_t counter;           /* M_PERF_SAMPLE: enum mpa_counter */
	uint8_t has_clock;         /* stream class has a default clock */
	uint8_t scopes_needed;     /* bit per enum cvt_scope */
	uint8_t nprog;
	struct cvt_prog prog[CVT_MAX_PROG];
	uint64_t present;          /* bit per enum cvt_reg found in the class */
	int32_t stack_index;       /* payload member: sequence of addresses, -1 */
	int32_t str_index;         /* payload member: string (path, name, comm), -1 */
	int32_t str2_index;        /* payload member: 2nd string (build_id), -1 */
	int32_t bytes_index;       /* payload member: byte sequence (build_id), -1 */
	uint64_t count;            /* events of this class seen */
	uint64_t r[R_COUNT_];      /* registers of the event being mapped */
};

/* Per-stream bookkeeping (discarded events need a name and a time). */
struct cvt_stream {
	const bt_stream *stream;   /* (owned by this: one reference) */
	uint32_t name_sid;         /* string id of "trace:stream" (once name_interned) */
	int name_interned;
	char *name;                /* the same string (owned by this) */
	uint64_t last_ts;
	uint32_t cpu;
	uint8_t domain;
};

struct cvt_trace_info {
	const bt_trace *trace;     /* one reference held (NULL: a shard's trace) */
	char *desc;                /* "tracer=... domain=... host=... name=..." (owned) */
	char *host, *tracer;       /* env hostname (or host), tracer_name; NULL if none (owned) */
};

struct cvt_sink {
	bt_self_component_sink *self;          /* weak */
	bt_message_iterator *iter;             /* (owned by this) */
	struct mpa_sink_hooks *hooks;          /* weak, may be NULL */
	struct mpa_sink_carry *carry;          /* weak (hooks'), NULL = one graph */
	int carried;                           /* left in carry->state: not freed */
	char *path;                            /* output path (owned by this) */
	char *command;                         /* conversion command (owned by this) */
	char *topology;                        /* topology file path (owned by this), NULL = none */
	bt_value *extra_meta;                  /* param `meta`: record.* keys (owned by this) */
	struct mpt_writer_opts opts;
	mpt_writer *w;                         /* (owned by this) NULL once closed */
	struct cvt_wpipe *pipe;                /* (owned by this) appends w's records */
	int pipeline;                          /* a writer thread (param `pipeline`) */
	struct cvt_symtab *st;                 /* (owned by this) */
	int symbolize;
	struct cvt_ksyms *ksyms;               /* param `kallsyms` (owned by this), or NULL */
	/* segments (param `segments`): every segment-interval-ns of wall
	 * time with new records, segments/seg-NNNNNN.mpt (mpt_writer_segment),
	 * segments/done after the last */
	char *segdir;                          /* (owned by this) NULL = off */
	uint64_t seg_interval_ns;
	uint32_t seg_next;                     /* number of the next segment */
	uint64_t seg_records, seg_lost;        /* records and lost events at the last cut */
	uint64_t seg_last_ns;                  /* CLOCK_MONOTONIC of the last cut */
	uint64_t stream_ts;                    /* the stream is complete up to here (ns from
						* origin: its latest event or inactivity) */
	uint64_t seg_stream_ts;                /* stream_ts at the last cut */

	/* shards (param `shards`, cvt_shards.c): no input port; the events
	 * come from extract processes, merged in time order */
	bt_value *shard_param;                 /* (owned by this) NULL = off */
	struct cvt_shards *shards;             /* (owned by this) */

	struct cvt_class **classes;            /* (owned by this) */
	size_t nclasses, capclasses;
	struct cvt_map class_index;            /* event class ptr -> index */
	/* Direct-mapped class cache (malloc and free alternate, so one entry
	 * would miss on every event).  Classes hold a reference to their
	 * event class: a cached pointer cannot be reused by another class. */
	struct cvt_class_cache {
		const bt_event_class *ec;      /* weak */
		struct cvt_class *c;           /* weak */
	} class_cache[64];

	struct cvt_stream *streams;            /* (owned by this) */
	size_t nstreams, capstreams;
	struct cvt_map stream_index;           /* stream ptr -> index */

	/* Streams by identity (trace UUID, stream class id, stream id) across
	 * graphs (chunks): a stream keeps the name its first graph gave it
	 * (src.ctf.fs names a stream after its first file), as when all the
	 * chunks are read at once. */
	struct cvt_stream_name {
		uint8_t uuid[16];
		uint64_t sc_id, id;
		uint32_t name_sid;
		char *name;                    /* (owned by this) */
	} *snames;
	size_t nsnames;

	struct cvt_trace_info *traces;         /* (owned by this) */
	size_t ntraces;

	struct cvt_map single_stacks;          /* (image << 1 | exact, ip) -> stack id */
	/* Child pid -> parent pid of each proc_fork written, until the child's
	 * exec or exit: a second report of the same fork (perf's FORK record
	 * and the preload's mpa:proc_fork) is not written again. */
	struct cvt_map forked;
	/* Direct-mapped cache in front of single_stacks (entries never go
	 * stale: a (key, ip) pair keeps its stack id for the whole run). */
	struct cvt_ipcache {
		uint64_t key, ip;
		uint32_t stack_id, valid;
	} ipcache[256];

	/* Interned stacks of the mpa provider (cvt_stackdef.c): each pid's
	 * definitions under an epoch renewed at its exec, fork and exit. */
	struct cvt_map stack_defs;     /* (epoch, preload id) -> capture stack id */
	struct cvt_map stack_epochs;   /* pid -> its current epoch */
	uint64_t stack_epoch_next;
	uint64_t stack_defs_read;      /* mpa:stack events */
	uint64_t stack_refs;           /* records whose stack came by id */
	uint64_t stack_refs_unknown;   /* ... whose id had no definition */
	uint32_t stack_unknown_id;     /* the "definition lost" stack, 0 = not made */

	/* counters */
	uint64_t events_in;       /* event messages */
	uint64_t records;         /* records appended */
	uint64_t memory_records;  /* records of memory kinds (not lost) */
	uint64_t lost_events;
	uint64_t lost_packets;
	uint64_t lost_unknown;    /* discarded-events messages without a count */
	uint64_t ts_unavailable;  /* events without a usable timestamp */
	uint64_t last_ts;
	char clock_desc[256];
	uint64_t stack_buf_cap;
	uint32_t *stack_buf;      /* frame ids scratch (owned by this) */
	uint64_t ip_buf_cap;
	uint64_t *ip_buf;         /* addresses scratch (owned by this) */
};

/* The inputs of one event besides its registers (the class's r[]): read
 * from babeltrace2 (payload set) or from a shard's plain record
 * (is_plain, cvt_shards.c). */
#define CVT_MAX_STACK 4096    /* addresses kept of a stack (innermost first) */
#define CVT_MAX_BUILD_ID 256  /* a longer build id is ignored */
struct cvt_in {
	uint64_t ts;
	int ts_ok;                 /* ts is the event's time (else unavailable) */
	int is_plain;
	const bt_field *payload;   /* babeltrace2's payload, or NULL */
	const uint64_t *stack;     /* plain: the stack_index member (truncated) */
	uint64_t nstack;
	const char *str, *str2;    /* plain: str_index, str2_index members */
	uint64_t str_len, str2_len;
	const uint8_t *bytes;      /* plain: bytes_index member (when nbytes <= CVT_MAX_BUILD_ID) */
	uint64_t nbytes;
};

/* cvt_sink.c: a trace's description (metadata trace.<i>) from one of its
 * streams; returns 1 when its stream class has a clock (then *clock points
 * into desc), else 0. */
int cvt_trace_describe(const bt_stream *stream, char *buf, size_t n, const char **clock,
		       const char **host, const char **tracer);
/* Adds a trace (key: trace object or NULL) unless one with this key (or,
 * for NULL keys, this desc) is known; 0 or -1 (out of memory). */
int cvt_trace_add(struct cvt_sink *s, const bt_trace *key, const char *desc, const char *clock,
		  const char *host, const char *tracer);

/* cvt_shards.c */
struct cvt_shards;
/* Starts one extract process per piece of param `shards` (before any
 * thread of the sink exists); 0 or -1 with a cause. */
int cvt_shards_start(struct cvt_sink *s);
/* Maps the next records in time order: 1 at the end, 0, or -1 with a cause. */
int cvt_shards_step(struct cvt_sink *s);
/* Stops (kills) the extract processes left and removes nothing else. */
void cvt_shards_free(struct cvt_shards *sh);

/* cvt_evmap.c */
struct cvt_class *cvt_class_get(struct cvt_sink *s, const bt_event *ev);
/* A class resolved on its own (no sink: a shard's extract stage). */
struct cvt_class *cvt_class_new(const bt_event_class *ec);
/* Reads an event of a known class: registers into c->r, time, payload. */
void cvt_read_event(struct cvt_class *c, const bt_message *msg, const bt_event *ev,
		    struct cvt_in *in);
/* Maps an event read by cvt_read_event or from a shard record (the class
 * is counted by the caller). */
int cvt_map_in(struct cvt_sink *s, struct cvt_class *c, const struct cvt_in *in);
/* The build id bytes (into buf when the count returned fits CVT_MAX_BUILD_ID). */
uint64_t cvt_in_bytes(const struct cvt_class *c, const struct cvt_in *in, uint8_t *buf);
const char *cvt_in_string(const struct cvt_in *in, const struct cvt_class *c, int32_t index,
			  uint64_t *len);
void cvt_class_free(struct cvt_class *c);
/* Maps one event message; returns 0, or -1 with an error cause appended. */
int cvt_map_event(struct cvt_sink *s, struct cvt_class *c, const bt_message *msg,
		  const bt_event *ev);
/* Appends one record (and counts it); -1 with a cause on failure. */
int cvt_append(struct cvt_sink *s, const struct mpa_event *e);
/* Interns len bytes of v in the capture's string table (under the writer
 * pipe's lock); appends an error cause and returns -1 on failure. */
int cvt_intern(struct cvt_sink *s, const char *v, size_t len, uint32_t *sid);

/* cvt_stackdef.c: the mpa provider's interned stacks.  pid's ids start
 * afresh (a new process image: exec, fork, exit). */
int cvt_stackdef_reset(struct cvt_sink *s, int32_t pid);
/* mpa:stack: preload id `id` of pid is the capture's stack_id. */
int cvt_stackdef_define(struct cvt_sink *s, int32_t pid, uint64_t id, uint32_t stack_id);
/* The capture stack of pid's preload id; an id without a definition (the
 * mpa:stack event was lost) gets the one-frame stack "[unknown: stack
 * definition lost]" and is counted.  -1 with a cause on error. */
int cvt_stackdef_ref(struct cvt_sink *s, int32_t pid, uint64_t id, uint32_t *stack_id);
/* The metadata keys stacks.interned, stacks.by_id, stacks.by_id_unknown
 * (only for a trace with interned stacks). */
int cvt_stackdef_meta(struct cvt_sink *s);

#endif /* MPA_CVT_SINK_H */
