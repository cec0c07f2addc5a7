/* libmpt — the .mpt columnar capture format: writer and reader.
 *
 * A capture is a sequence of chunks (up to ~64 Ki records each); inside a
 * chunk every column (a field of struct mpa_event) is encoded and compressed
 * on its own, holding values only for the rows whose kind carries that field.
 * Capture-wide tables (strings, frames, stacks, binaries, topology, metadata)
 * follow the chunks; a footer indexes everything and a trailer points at the
 * footer.  The byte-level specification is doc/format.md.
 *
 * Conventions (zstd-like):
 *  - handles are opaque; *_close() and *_free() accept NULL;
 *  - every call that can fail returns enum mpt_status (MPT_OK == 0) and, if
 *    the caller passes a struct mpt_error, fills it with one human-readable
 *    line naming the file, the chunk and the column where relevant;
 *  - the library never prints and never exits.
 */
#ifndef MPA_MPT_H
#define MPA_MPT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest format this library reads: 1.0, 2.0, 3.0 and 4.0 (2.0 = 1.0
 * plus the proc_fork kind and its ppid column; 3.0 = 2.0 plus the leak_scan
 * kind; 4.0 = 3.0 plus the USIZE encoding of the usable column).  Readers
 * refuse a newer major; a newer minor only adds things old readers may
 * skip.  The writer labels a file with the lowest version that holds it:
 * 4.0 when a column uses a 4.0 encoding, else 3.0 when it has a leak_scan
 * record, else 2.0 when it has a proc_fork record, else 1.0
 * (doc/format.md, section 3). */
#define MPT_VERSION_MAJOR 4
#define MPT_VERSION_MINOR 0

enum mpt_status {
	MPT_OK = 0,
	MPT_END = 1,          /* iteration finished (not an error) */
	MPT_E_IO = -1,        /* open/read/write/fsync/rename failed (errno in err) */
	MPT_E_NOMEM = -2,
	MPT_E_FORMAT = -3,    /* not an .mpt file, or structurally invalid */
	MPT_E_VERSION = -4,   /* newer major version than this reader */
	MPT_E_CHECKSUM = -5,  /* a checksum did not match */
	MPT_E_TRUNCATED = -6, /* file ends early */
	MPT_E_ARG = -7,       /* bad argument from the caller */
	MPT_E_LIMIT = -8,     /* a declared size exceeds what the file can justify */
	MPT_E_COMPRESS = -9   /* zstd failed */
};

struct mpt_error {
	enum mpt_status code;
	char msg[512];        /* one line, no trailing newline */
};

/* "ok", "end", "i/o error", ... */
const char *mpt_status_name(enum mpt_status st);

/* Columns: one per field of struct mpa_event.  Values are stored on disk. */
enum mpt_column {
	MPT_COL_KIND = 0,
	MPT_COL_TS,
	MPT_COL_PID,
	MPT_COL_TID,
	MPT_COL_CPU,
	MPT_COL_DOMAIN,
	MPT_COL_FLAGS,
	MPT_COL_PTR,
	MPT_COL_NEW_PTR,
	MPT_COL_SIZE,
	MPT_COL_USABLE,
	MPT_COL_ALIGN,
	MPT_COL_API,
	MPT_COL_STACK_ID,
	MPT_COL_PROT,
	MPT_COL_MFLAGS,
	MPT_COL_NODE,
	MPT_COL_ORDER,
	MPT_COL_IP,
	MPT_COL_POOL_ID,
	MPT_COL_FRAME_DEPTH,
	MPT_COL_COUNTER,
	MPT_COL_PERIOD,
	MPT_COL_WEIGHT,
	MPT_COL_DATA_SRC,
	MPT_COL_STR_ID,
	MPT_COL_STATUS,
	MPT_COL_END_TS,
	MPT_COL_PPID,      /* format 2.0 */
	MPT_COL_COUNT_
};

#define MPT_COLBIT(c) (UINT64_C(1) << (c))
#define MPT_KINDBIT(k) (UINT32_C(1) << (k))
/* Columns every kind has. */
#define MPT_COLS_COMMON                                                        \
	(MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) |                   \
	 MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_TID) |                   \
	 MPT_COLBIT(MPT_COL_CPU) | MPT_COLBIT(MPT_COL_DOMAIN) |                \
	 MPT_COLBIT(MPT_COL_FLAGS))
#define MPT_COLS_ALL ((UINT64_C(1) << MPT_COL_COUNT_) - 1)

/* Column name ("ts", "ptr", ...) or NULL; column from name or -1. */
const char *mpt_column_name(unsigned col);
int mpt_column_from_name(const char *name);
/* Bitmask (MPT_COLBIT) of the columns a kind carries, common ones included;
 * 0 for an invalid kind. */
uint64_t mpt_kind_columns(unsigned kind);

/* ---- capture-wide tables ------------------------------------------------ */

/* A resolved code location.  String fields are string-table ids (0 = ""). */
struct mpt_frame {
	uint64_t ip;        /* runtime address (return address as recorded) */
	uint64_t bin_off;   /* offset of ip inside its binary (0 if unknown) */
	uint32_t bin;       /* binary path */
	uint32_t func;      /* function name */
	uint32_t file;      /* source file */
	uint32_t line;      /* source line (0 = unknown) */
};

/* A loaded binary (for re-symbolization). */
struct mpt_binary {
	int32_t pid;
	uint32_t path;      /* string id */
	uint32_t build_id;  /* string id: lower-case hex, "" if unknown */
	uint64_t base;
	uint64_t size;
};

#define MPT_MAX_CPUS 4096
#define MPT_MAX_NODES 1024

struct mpt_topology {
	uint32_t ncpus;
	uint32_t nnodes;
	uint32_t page_size;
	uint32_t cache_line;
	uint64_t l1d_size, l2_size, l3_size; /* bytes, 0 = unknown */
	int32_t *cpu_node;   /* [ncpus] node of each cpu, -1 unknown (owned by caller / reader) */
	uint32_t *distance;  /* [nnodes*nnodes] SLIT distances, row-major, may be NULL */
};

/* ---- writer ------------------------------------------------------------- */

typedef struct mpt_writer mpt_writer;

#define MPT_DEFAULT_CHUNK_ROWS 131072
struct mpt_writer_opts {
	uint32_t chunk_rows;  /* records per chunk; 0 = default MPT_DEFAULT_CHUNK_ROWS */
	int zstd_level;       /* 0 = default (3) */
	/* newest format whose encodings may be used: 0 = MPT_VERSION_MAJOR;
	 * 1..3 = only the encodings of formats up to 3.0, so readers of 3.0 read
	 * the file (its version then follows from its kinds alone) */
	unsigned format_major;
};

/* Creates PATH.tmp.<pid>; everything goes there until mpt_writer_close()
 * flushes, fsyncs and renames it to PATH.  opts may be NULL. */
enum mpt_status mpt_writer_open(const char *path, const struct mpt_writer_opts *opts,
				mpt_writer **out, struct mpt_error *err);
/* Appends one record.  Records should come in ts order (not required). */
enum mpt_status mpt_writer_append(mpt_writer *w, const struct mpa_event *ev,
				  struct mpt_error *err);
/* Interns a string (len bytes, need not be NUL-terminated); identical strings
 * get the same id; "" is id 0. */
enum mpt_status mpt_writer_string(mpt_writer *w, const char *s, size_t len,
				  uint32_t *id, struct mpt_error *err);
/* Interns a frame (identical frames, all fields equal, get the same id).
 * Frame ids start at 1. */
enum mpt_status mpt_writer_frame(mpt_writer *w, const struct mpt_frame *f,
				 uint32_t *id, struct mpt_error *err);
/* Replaces the content of frame id (e.g. once symbolized). */
enum mpt_status mpt_writer_set_frame(mpt_writer *w, uint32_t id, const struct mpt_frame *f,
				     struct mpt_error *err);
/* Interns a stack: n frame ids, innermost first. Identical stacks share an
 * id; ids start at 1 (0 = no stack). */
enum mpt_status mpt_writer_stack(mpt_writer *w, const uint32_t *frames, uint32_t n,
				 uint32_t *id, struct mpt_error *err);
enum mpt_status mpt_writer_binary(mpt_writer *w, const struct mpt_binary *b,
				  struct mpt_error *err);
/* Sets (or replaces) a metadata key. Keys are kept sorted on disk. */
enum mpt_status mpt_writer_meta(mpt_writer *w, const char *key, const char *value,
				struct mpt_error *err);
/* Copies the topology. */
enum mpt_status mpt_writer_topology(mpt_writer *w, const struct mpt_topology *t,
				    struct mpt_error *err);
/* Flushes the last chunk, writes tables, footer and trailer, fsyncs, renames
 * to the final path and frees w (also on failure, after removing the
 * temporary file). */
enum mpt_status mpt_writer_close(mpt_writer *w, struct mpt_error *err);
/* From now on, keep what mpt_writer_segment() needs (the chunks since the
 * last segment, in memory).  Call it right after the open: rows appended
 * before are in no segment. */
enum mpt_status mpt_writer_keep_segments(mpt_writer *w, struct mpt_error *err);
/* Writes a complete capture at path (through path.tmp.<pid>, renamed: it
 * appears whole) holding the records appended since the previous segment
 * (or the open) and every table, metadata key and the topology so far;
 * the main capture goes on (the rows pending in its chunk are flushed
 * into it, so each segment ends a chunk).  Ids stay those of the main
 * capture: segment k+1's tables continue segment k's.  Needs
 * mpt_writer_keep_segments().  A failure is sticky, as for the main capture. */
enum mpt_status mpt_writer_segment(mpt_writer *w, const char *path, struct mpt_error *err);
/* Discards everything: removes the temporary file and frees w. NULL ok. */
void mpt_writer_abort(mpt_writer *w);

/* ---- reader ------------------------------------------------------------- */

typedef struct mpt_reader mpt_reader;

/* Per-chunk statistics from the footer index. */
struct mpt_chunk_info {
	uint64_t offset;     /* file offset of the chunk */
	uint64_t length;     /* bytes */
	uint32_t rows;
	uint32_t kinds;      /* MPT_KINDBIT mask of the kinds present */
	uint64_t ts_min, ts_max;
};

/* Name of a column encoding id ("plain", "delta", "ptr", ...; see
 * doc/format.md section 7), or "unknown". */
const char *mpt_encoding_name(unsigned enc);

/* Per-column sizes of one chunk (for mpa-cat). */
struct mpt_column_info {
	uint32_t values;     /* number of values stored (rows having the field) */
	uint8_t encoding;    /* encoding id, see doc/format.md */
	uint8_t compressed;  /* 1 = zstd, 0 = stored raw */
	uint64_t raw_bytes;  /* values * natural width */
	uint64_t enc_bytes;  /* after encoding, before zstd */
	uint64_t stored_bytes; /* on disk */
};

/* Opens and validates trailer, footer and tables.  Does not read chunks. */
enum mpt_status mpt_reader_open(const char *path, mpt_reader **out, struct mpt_error *err);
void mpt_reader_close(mpt_reader *r);

uint32_t mpt_reader_version_major(const mpt_reader *r);
uint32_t mpt_reader_version_minor(const mpt_reader *r);
uint64_t mpt_reader_rows(const mpt_reader *r);
uint64_t mpt_reader_file_size(const mpt_reader *r);
uint32_t mpt_reader_chunk_count(const mpt_reader *r);
enum mpt_status mpt_reader_chunk_info(const mpt_reader *r, uint32_t chunk,
				      struct mpt_chunk_info *info);

/* Metadata: n pairs, sorted by key. Pointers live as long as r. */
uint32_t mpt_reader_meta_count(const mpt_reader *r);
void mpt_reader_meta_at(const mpt_reader *r, uint32_t i, const char **key, const char **value);
/* Value for key, or NULL. */
const char *mpt_reader_meta(const mpt_reader *r, const char *key);

/* Tables.  Returned pointers live as long as r. */
uint32_t mpt_reader_string_count(const mpt_reader *r);
/* String by id ("" for id 0 or an out-of-range id); *len may be NULL. */
const char *mpt_reader_string(const mpt_reader *r, uint32_t id, size_t *len);
uint32_t mpt_reader_frame_count(const mpt_reader *r);   /* ids 1..count */
const struct mpt_frame *mpt_reader_frame(const mpt_reader *r, uint32_t id); /* NULL if bad id */
uint32_t mpt_reader_stack_count(const mpt_reader *r);   /* ids 1..count */
/* Frame ids of a stack, innermost first; NULL and *n = 0 for id 0 or bad id. */
const uint32_t *mpt_reader_stack(const mpt_reader *r, uint32_t id, uint32_t *n);
uint32_t mpt_reader_binary_count(const mpt_reader *r);
const struct mpt_binary *mpt_reader_binary(const mpt_reader *r, uint32_t i);
/* NULL if the capture has no topology. */
const struct mpt_topology *mpt_reader_topology(const mpt_reader *r);

/* A scan: which columns to decode and which rows to keep.  Fields may be
 * appended in later versions, always with 0 meaning "as before": zero the
 * struct (designated initializers or { 0 }) and set what you need.
 * columns: MPT_COLBIT mask; MPT_COL_KIND and MPT_COL_TS are always decoded.
 * kinds: MPT_KINDBIT mask, 0 = all kinds.
 * ts_from/ts_to: keep rows with ts_from <= ts < ts_to (0/0 = no limit;
 * ts_to 0 means no upper limit).  Chunks whose statistics exclude them
 * are skipped without being read.
 * pid: keep only the rows of this process; 0 = every pid.  The pid column
 * is decoded for this even when columns lacks it, but a batch shows it
 * (b->pid) only when columns asks for it, like any other column.  The pid
 * column is read before the others: a chunk without that pid costs its
 * header and that column only, and a chunk of one process (a CONST pid
 * column) is kept or skipped whole without a per-row test. */
struct mpt_scan {
	uint64_t columns;
	uint32_t kinds;
	uint64_t ts_from, ts_to;
	int32_t pid;
};

/* One decoded chunk (after row filtering).  Each array has n entries; an
 * array is NULL when its column was not asked for.  Rows whose kind lacks a
 * field hold 0 there.  Valid until the next mpt_reader_next() / close. */
struct mpt_batch {
	uint32_t chunk;      /* index of the chunk */
	uint32_t n;          /* rows in this batch */
	const uint8_t *kind, *domain, *api, *order, *counter;
	const uint16_t *flags;
	const uint64_t *ts, *ptr, *new_ptr, *size, *usable, *align, *ip,
		*period, *weight, *data_src, *end_ts;
	const int32_t *pid, *tid, *node, *status;
	const uint32_t *cpu, *stack_id, *prot, *mflags, *pool_id,
		*frame_depth, *str_id;
	const int32_t *ppid; /* appended (format 2.0): earlier members keep their offsets */
};

/* Starts (or restarts) a scan.  scan may be NULL (all columns, all rows). */
enum mpt_status mpt_reader_scan(mpt_reader *r, const struct mpt_scan *scan,
				struct mpt_error *err);
/* Next batch with at least one row (chunks left empty by the filters are
 * skipped: n is never 0); MPT_END when done. */
enum mpt_status mpt_reader_next(mpt_reader *r, const struct mpt_batch **batch,
				struct mpt_error *err);
/* Random access: decodes chunk i with the current scan's projection and
 * filters.  The batch is that chunk's, so it may be empty (n == 0) when the
 * filters leave no row of it; a chunk the pid filter leaves empty is not
 * read beyond its header and pid column. */
enum mpt_status mpt_reader_read_chunk(mpt_reader *r, uint32_t chunk,
				      const struct mpt_batch **batch, struct mpt_error *err);
/* Sizes of every column of chunk i as stored (reads the chunk header only). */
enum mpt_status mpt_reader_column_info(mpt_reader *r, uint32_t chunk,
				       struct mpt_column_info info[MPT_COL_COUNT_],
				       struct mpt_error *err);
/* Bytes read from the file by scans so far (to show projection at work). */
uint64_t mpt_reader_bytes_read(const mpt_reader *r);

/* Fills ev from row i of b (fields whose column was not decoded are 0). */
void mpt_batch_get(const struct mpt_batch *b, uint32_t i, struct mpa_event *ev);

/* Full structural check: every chunk, every checksum, every invariant.
 * Returns the first problem found. */
enum mpt_status mpt_reader_verify(mpt_reader *r, struct mpt_error *err);

/* ---- times on the command line ------------------------------------------ */

/* Parses a time argument, the one syntax of every mpa command:
 *   "1.5", "1.5s", "200ms", "30us", "100ns"  a duration (seconds without a
 *                      unit; decimals allowed, exact to the ns, a fraction
 *                      of a ns rounded half up): *absolute = 0, *value in ns;
 *   "@N"               an absolute capture timestamp N in ns (digits only):
 *                      *absolute = 1, *value = N.
 * Nothing else (no sign, no spaces, no exponent).  A value beyond
 * 2^64-1 ns is an error, never a wrap.  On error returns MPT_E_ARG and err
 * says "bad time 'S' (expected seconds like 1.5, 1.5s, 200ms, 30us, 100ns,
 * or @NS)".  value and absolute are written only on success. */
enum mpt_status mpt_time_parse(const char *s, uint64_t *value, int *absolute,
			       struct mpt_error *err);
/* The capture's first and last timestamps, from the chunk index (nothing is
 * decoded).  MPT_END, and 0/0, when the capture holds no record. */
enum mpt_status mpt_reader_time_span(const mpt_reader *r, uint64_t *first, uint64_t *last);
/* Parses s (mpt_time_parse) and resolves it to an absolute timestamp: a
 * duration counts from the capture's first timestamp (mpt_reader_time_span;
 * 0 for a capture without records), "@N" is N.  MPT_E_ARG when s is bad or
 * the sum passes 2^64-1 ns ("time 'S' is beyond the clock's range"). */
enum mpt_status mpt_reader_resolve_time(const mpt_reader *r, const char *s, uint64_t *ts,
					struct mpt_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MPA_MPT_H */
