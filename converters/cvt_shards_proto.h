/* Records an extract process (cvt_shard_extract.c) sends to the sink in
 * shard mode (cvt_shards.c).  Both ends are the same plugin in processes
 * forked from one another: native layout, no versioning. */
#ifndef MPA_CVT_SHARDS_PROTO_H
#define MPA_CVT_SHARDS_PROTO_H

#include <stdint.h>

/* The cause mpa-convert recognizes: convert again with one job. */
#define CVT_SHARDS_FALLBACK "mpa-shards: the sequential order cannot be reproduced"

enum {
	SHARD_CLASS = 'C',    /* struct shard_class_def, name */
	SHARD_TRACE = 'T',    /* struct shard_trace_def, desc, clock, host, tracer */
	SHARD_STREAM = 'K',   /* u64 stream class id, u64 stream id, u8 ids from
			       * the trace (not assigned by the reader) */
	SHARD_EVENT = 'E',    /* u16 class id, u64 ts, registers (u64 per bit of
			       * the class's present, ascending), then only for
			       * the members the class has: u32 stack id, or
			       * SHARD_STACK_INLINE then u32 n + n u64 stack,
			       * u32 len + string, u32 len + string2, u32 n + bytes
			       * (none when n > CVT_MAX_BUILD_ID) */
	SHARD_UNKNOWN = 'U',  /* u16 class id: an event of an unmapped class */
	SHARD_STACK = 'S',    /* u32 id (0, 1, ... per piece), u32 n, n u64: a
			       * stack events then name by id */
	SHARD_END = 'Z',      /* the piece is complete */
	SHARD_ERROR = 'X',    /* u16 len + message; the process exits 1 */
	SHARD_FALLBACK = 'F', /* u16 len + reason; the process exits 3 */
};

struct shard_class_def {
	uint64_t sc_id, ec_id;  /* stream class and event class ids */
	uint64_t present;
	int32_t stack_index, str_index, str2_index, bytes_index;
	uint16_t local_id;      /* 0, 1, ... in the order of definition */
	uint16_t name_len;
	uint8_t mapper, domain, counter, has_clock;
};

struct shard_trace_def {
	uint32_t desc_len, clock_len, host_len, tracer_len;
	uint8_t has_clock, has_host, has_tracer, pad_;
};

#define SHARD_EVENT_HEAD 10 /* u16 id + u64 ts */
#define SHARD_STACK_INLINE UINT32_MAX

/* A piece that is the start of a stream file read in place (no copy)
 * holds this hidden file: the number of packets to decode. */
#define SHARD_PACKETS_FILE ".mpa-packets"
/* A piece copied from the middle of a stream file: a link to the file and
 * "NAME OFFSET LENGTH", the extract process copies the bytes into NAME. */
#define SHARD_SRC_FILE ".mpa-src"
#define SHARD_RANGE_FILE ".mpa-range"

/* cvt_shard_extract.c: decodes the trace folder dir (one stream file) and
 * writes its records to fd; returns the process's exit status. */
int cvt_shard_extract(const char *dir, int fd);

#endif /* MPA_CVT_SHARDS_PROTO_H */
