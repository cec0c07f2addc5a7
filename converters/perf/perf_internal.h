/*
 * perf_data internals shared by its three files: perf_data.c (open, header,
 * attrs, accessors), perf_meta.c (feature sections, tracepoint formats) and
 * perf_records.c (records, ordering, compressed data, iteration).  Not
 * installed; nothing here is part of perf_data.h's interface.
 */
#ifndef MPA_PERF_INTERNAL_H
#define MPA_PERF_INTERNAL_H

#include "perf_data.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define FILE_HEADER_SIZE 104u   /* struct perf_file_header */
#define PIPE_HEADER_SIZE 16u
#define ATTR_SIZE_VER0   64u
#define ATTR_SIZE_MAX    4096u  /* far above any kernel's perf_event_attr */
#define FILE_SECTION_SIZE 16u
#define EVENT_HEADER_SIZE 8u
#define DEFAULT_WINDOW_CAP ((size_t)1 << 20)


struct id_entry {
	uint64_t id;
	size_t attr;
};

/*
 * Decompressed data (perf record -z): a COMPRESSED record holds part of a
 * zstd stream whose decompressed bytes are ordinary records; a record may
 * straddle two COMPRESSED records.  Each COMPRESSED record's output (with
 * the unread tail of the previous one in front) becomes a chunk; queued
 * records keep their chunk alive.
 */
struct chunk {
	size_t refs;
	size_t size;
	size_t *live;               /* the file's count of live chunk bytes */
	uint64_t file_off;          /* of the COMPRESSED record */
	unsigned char data[];
};

static inline void chunk_put(struct chunk *c)
{
	if (c && --c->refs == 0) {
		*c->live -= c->size;
		free(c);
	}
}

struct queued {
	uint64_t ts;
	uint64_t seq;
	uint64_t off;               /* in the file, or in chunk */
	struct chunk *chunk;        /* decompressed data holding the record
				       (one reference), NULL: the file */
	bool real;
	bool clamped;
};

struct mpa_perf_file {
	const unsigned char *map;   /* whole file (owned when owns_map) */
	size_t size;
	bool owns_map;
	unsigned flags;

	int status;                 /* sticky error, 0 if none */
	char err[320];

	struct mpa_perf_attr *attrs; /* nr_attrs (owned by this) */
	size_t nr_attrs;
	char **names;               /* attr names (owned by this) */
	uint64_t **ids;             /* per attr id arrays (owned by this) */
	struct id_entry *idmap;     /* sorted by id (owned by this) */
	size_t nr_idmap;
	int sample_id_pos;          /* u64 index in a SAMPLE body, -1: none,
				       -2: attrs disagree */
	int trailer_id_pos;         /* u64 index from the record end, idem */
	bool sample_id_all;

	struct mpa_perf_info info;
	char *strs[16];             /* feature strings (owned by this) */
	size_t nr_strs;
	struct mpa_perf_build_id *bids; /* (owned by this) */
	char **bid_names;
	size_t nr_bids, cap_bids;
	bool pipe;                  /* pipe-mode file (perf record -o -) */
	struct mpa_perf_tp_format *tps; /* tracepoint formats (owned by this) */
	size_t nr_tps;

	uint64_t data_off, data_end, pos;

	/* Ordering: a binary min-heap on (ts, seq). */
	struct queued *heap;        /* (owned by this) */
	size_t heap_n, heap_cap;
	size_t window_cap;
	uint64_t seq;
	uint64_t max_ts_seen;       /* over all real times scanned */
	uint64_t round_max;         /* max_ts_seen at the previous round end */
	uint64_t flush_limit;       /* records up to this time may go out */
	bool have_limit;
	bool eof;
	bool scan_failed;           /* f->status set while reading ahead */
	uint64_t last_emitted;
	bool any_emitted;

	/* Compressed data (perf record -z). */
	uint32_t comp_type;         /* HEADER_COMPRESSED type; 1 = zstd */
	ZSTD_DStream *zds;          /* (owned by this) */
	struct chunk *cur;          /* being scanned (one reference) */
	size_t cur_pos;
	struct chunk *held;         /* of the last returned record (one ref) */
	size_t chunk_bytes;         /* decompressed bytes held in memory */

	struct mpa_perf_stats stats;
};


/* ---- small helpers ------------------------------------------------------ */

int mpa_perf__set_err(struct mpa_perf_file *f, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define set_err mpa_perf__set_err

static inline uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A bounded reader over [p, end). */
struct cur {
	const unsigned char *p, *end;
	bool bad;
};

static inline bool cur_has(struct cur *c, uint64_t n)
{
	if (c->bad || (uint64_t)(c->end - c->p) < n) {
		c->bad = true;
		return false;
	}
	return true;
}

/* Consumes n bytes: returns their start, or NULL (and marks c bad) when
 * fewer remain. */
static inline const unsigned char *cur_take(struct cur *c, uint64_t n)
{
	const unsigned char *p = c->p;

	if (!cur_has(c, n))
		return NULL;
	c->p += n;
	return p;
}

static inline uint64_t cur_u64(struct cur *c)
{
	const unsigned char *p = cur_take(c, 8);

	return p ? rd64(p) : 0;
}

static inline uint32_t cur_u32(struct cur *c)
{
	const unsigned char *p = cur_take(c, 4);

	return p ? rd32(p) : 0;
}

static inline void cur_skip(struct cur *c, uint64_t n)
{
	cur_take(c, n);
}

/* Skips n u64 values, refusing counts that cannot fit. */
static inline void cur_skip_u64s(struct cur *c, uint64_t n)
{
	if (c->bad)
		return;
	if (n > (uint64_t)(c->end - c->p) / 8) {
		c->bad = true;
		return;
	}
	c->p += 8 * n;
}

static inline unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/* perf's string encoding in feature sections: u32 len, then len bytes
 * holding a NUL-terminated string (padded). Returns a malloc'd copy. */
static inline char *cur_string(struct cur *c, bool *nomem)
{
	uint32_t len = cur_u32(c);
	const unsigned char *s;
	const unsigned char *nul;
	char *copy;

	if (!cur_has(c, len))
		return NULL;
	s = c->p;
	nul = memchr(s, 0, len);
	if (!nul) {
		c->bad = true;
		return NULL;
	}
	c->p += len;
	copy = strdup((const char *)s);
	if (!copy)
		*nomem = true;
	return copy;
}

/* ---- across the files (perf_data.c, perf_meta.c, perf_records.c) ---- */

/* perf_data.c: an attr from its file bytes; a default event name; the attr of a sample id */
void mpa_perf__decode_attr(const unsigned char *p, size_t sz, struct mpa_perf_attr *a);
const char *mpa_perf__default_name(const struct mpa_perf_attr *a);
const struct mpa_perf_attr *mpa_perf__attr_by_id(const struct mpa_perf_file *f,
		uint64_t id);
/* perf_meta.c: feature sections, tracing data, attr names */
int mpa_perf__feat_build_ids(struct mpa_perf_file *f, struct cur *c);
int mpa_perf__parse_tracing_data(struct mpa_perf_file *f, const unsigned char *p,
		uint64_t size, uint64_t off);
void mpa_perf__link_tracepoints(struct mpa_perf_file *f);
int mpa_perf__parse_feature(struct mpa_perf_file *f, unsigned bit,
		const unsigned char *p, uint64_t size, uint64_t off);
int mpa_perf__read_features(struct mpa_perf_file *f, const unsigned char *hdr);
int mpa_perf__name_attrs(struct mpa_perf_file *f);

#endif /* MPA_PERF_INTERNAL_H */
