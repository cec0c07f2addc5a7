/*
 * perf_data — a reader for perf.data files ("PERFILE2", little-endian;
 * file or pipe mode, zstd-compressed or not), in plain C with no
 * dependency but libc and libzstd.
 *
 * Usage:
 *
 *   struct mpa_perf_file *f;
 *   struct mpa_perf_record rec;
 *   int st = mpa_perf_open(path, 0, &f);   // f is set even on error
 *   if (st < 0) { puts(mpa_perf_errmsg(f)); mpa_perf_close(f); ... }
 *   while ((st = mpa_perf_next(f, &rec)) == MPA_PERF_OK) { ... }
 *   if (st < 0) puts(mpa_perf_errmsg(f));   // MPA_PERF_END otherwise
 *   mpa_perf_close(f);
 *
 * Records come out in time order (see doc/perf-data.md for the exact
 * rule), unless MPA_PERF_OPEN_FILE_ORDER is given.  Every size, count and
 * offset read from the file is checked against the file; a corrupt file
 * gives an error (with a message naming the offset), never a crash.
 *
 * Pointers inside a record (strings, callchains, raw data) point into the
 * mapped file, or into decompressed data for `perf record -z` files: they
 * stay valid until the next mpa_perf_next() call (until mpa_perf_close()
 * for uncompressed files).  Read arrays through mpa_perf_u64_at() (the file
 * gives no alignment guarantee).
 */
#ifndef MPA_CONVERTERS_PERF_PERF_DATA_H
#define MPA_CONVERTERS_PERF_PERF_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status values: >= 0 success, < 0 error (message in mpa_perf_errmsg()). */
enum mpa_perf_status {
	MPA_PERF_OK = 0,
	MPA_PERF_END = 1,              /* no more records */
	MPA_PERF_ERR_IO = -1,          /* open/stat/mmap failed */
	MPA_PERF_ERR_FORMAT = -2,      /* not a perf.data file, or corrupt */
	MPA_PERF_ERR_UNSUPPORTED = -3, /* valid but not handled (big-endian,
					  pipe mode, compressed data...) */
	MPA_PERF_ERR_NOMEM = -4,
};

/* perf_event_attr.type */
#define MPA_PERF_TYPE_HARDWARE   0
#define MPA_PERF_TYPE_SOFTWARE   1
#define MPA_PERF_TYPE_TRACEPOINT 2
#define MPA_PERF_TYPE_HW_CACHE   3
#define MPA_PERF_TYPE_RAW        4
#define MPA_PERF_TYPE_BREAKPOINT 5

/* perf_event_attr.sample_type bits */
#define MPA_PERF_SAMPLE_IP             (1ULL << 0)
#define MPA_PERF_SAMPLE_TID            (1ULL << 1)
#define MPA_PERF_SAMPLE_TIME           (1ULL << 2)
#define MPA_PERF_SAMPLE_ADDR           (1ULL << 3)
#define MPA_PERF_SAMPLE_READ           (1ULL << 4)
#define MPA_PERF_SAMPLE_CALLCHAIN      (1ULL << 5)
#define MPA_PERF_SAMPLE_ID             (1ULL << 6)
#define MPA_PERF_SAMPLE_CPU            (1ULL << 7)
#define MPA_PERF_SAMPLE_PERIOD         (1ULL << 8)
#define MPA_PERF_SAMPLE_STREAM_ID      (1ULL << 9)
#define MPA_PERF_SAMPLE_RAW            (1ULL << 10)
#define MPA_PERF_SAMPLE_BRANCH_STACK   (1ULL << 11)
#define MPA_PERF_SAMPLE_REGS_USER      (1ULL << 12)
#define MPA_PERF_SAMPLE_STACK_USER     (1ULL << 13)
#define MPA_PERF_SAMPLE_WEIGHT         (1ULL << 14)
#define MPA_PERF_SAMPLE_DATA_SRC       (1ULL << 15)
#define MPA_PERF_SAMPLE_IDENTIFIER     (1ULL << 16)
#define MPA_PERF_SAMPLE_TRANSACTION    (1ULL << 17)
#define MPA_PERF_SAMPLE_REGS_INTR      (1ULL << 18)
#define MPA_PERF_SAMPLE_PHYS_ADDR      (1ULL << 19)
#define MPA_PERF_SAMPLE_AUX            (1ULL << 20)
#define MPA_PERF_SAMPLE_CGROUP         (1ULL << 21)
#define MPA_PERF_SAMPLE_DATA_PAGE_SIZE (1ULL << 22)
#define MPA_PERF_SAMPLE_CODE_PAGE_SIZE (1ULL << 23)
#define MPA_PERF_SAMPLE_WEIGHT_STRUCT  (1ULL << 24)
#define MPA_PERF_SAMPLE_KNOWN_MASK     ((1ULL << 25) - 1)

/* perf_event_attr.read_format bits */
#define MPA_PERF_FORMAT_TOTAL_TIME_ENABLED (1ULL << 0)
#define MPA_PERF_FORMAT_TOTAL_TIME_RUNNING (1ULL << 1)
#define MPA_PERF_FORMAT_ID                 (1ULL << 2)
#define MPA_PERF_FORMAT_GROUP              (1ULL << 3)
#define MPA_PERF_FORMAT_LOST               (1ULL << 4)

/* perf_event_attr.branch_sample_type bits that change the sample layout */
#define MPA_PERF_BRANCH_HW_INDEX (1ULL << 17)
#define MPA_PERF_BRANCH_COUNTERS (1ULL << 19)

/* perf_event_attr flag bits (the bitfield word at offset 40) */
#define MPA_PERF_ATTR_FLAG_FREQ          (1ULL << 10)
#define MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL (1ULL << 18)
#define MPA_PERF_ATTR_FLAG_USE_CLOCKID   (1ULL << 25)

/* perf_event_header.type: kernel records */
#define MPA_PERF_RECORD_MMAP          1
#define MPA_PERF_RECORD_LOST          2
#define MPA_PERF_RECORD_COMM          3
#define MPA_PERF_RECORD_EXIT          4
#define MPA_PERF_RECORD_THROTTLE      5
#define MPA_PERF_RECORD_UNTHROTTLE    6
#define MPA_PERF_RECORD_FORK          7
#define MPA_PERF_RECORD_READ          8
#define MPA_PERF_RECORD_SAMPLE        9
#define MPA_PERF_RECORD_MMAP2         10
#define MPA_PERF_RECORD_AUX           11
#define MPA_PERF_RECORD_ITRACE_START  12
#define MPA_PERF_RECORD_LOST_SAMPLES  13
#define MPA_PERF_RECORD_SWITCH        14
#define MPA_PERF_RECORD_SWITCH_CPU_WIDE 15
#define MPA_PERF_RECORD_NAMESPACES    16
#define MPA_PERF_RECORD_KSYMBOL       17
#define MPA_PERF_RECORD_BPF_EVENT     18
#define MPA_PERF_RECORD_CGROUP        19
#define MPA_PERF_RECORD_TEXT_POKE     20
/* perf tool's own records */
#define MPA_PERF_RECORD_HEADER_ATTR         64
#define MPA_PERF_RECORD_HEADER_TRACING_DATA 66
#define MPA_PERF_RECORD_HEADER_BUILD_ID     67
#define MPA_PERF_RECORD_FINISHED_ROUND      68
#define MPA_PERF_RECORD_ID_INDEX            69
#define MPA_PERF_RECORD_AUXTRACE_INFO       70
#define MPA_PERF_RECORD_AUXTRACE            71
#define MPA_PERF_RECORD_EVENT_UPDATE        78
#define MPA_PERF_RECORD_HEADER_FEATURE      80
#define MPA_PERF_RECORD_COMPRESSED          81
#define MPA_PERF_RECORD_FINISHED_INIT       82
#define MPA_PERF_RECORD_COMPRESSED2         83

/* perf_event_header.misc */
#define MPA_PERF_MISC_CPUMODE_MASK  7
#define MPA_PERF_MISC_COMM_EXEC     (1 << 13)
#define MPA_PERF_MISC_MMAP_BUILD_ID (1 << 14)
#define MPA_PERF_MISC_BUILD_ID_SIZE (1 << 15)

/* Feature bits of the file header (HEADER_*). */
#define MPA_PERF_FEAT_TRACING_DATA 1
#define MPA_PERF_FEAT_BUILD_ID     2
#define MPA_PERF_FEAT_HOSTNAME     3
#define MPA_PERF_FEAT_OSRELEASE    4
#define MPA_PERF_FEAT_VERSION      5
#define MPA_PERF_FEAT_ARCH         6
#define MPA_PERF_FEAT_NRCPUS       7
#define MPA_PERF_FEAT_CPUDESC      8
#define MPA_PERF_FEAT_CPUID        9
#define MPA_PERF_FEAT_TOTAL_MEM    10
#define MPA_PERF_FEAT_CMDLINE      11
#define MPA_PERF_FEAT_EVENT_DESC   12
#define MPA_PERF_FEAT_CLOCKID      23
#define MPA_PERF_FEAT_COMPRESSED   27
#define MPA_PERF_FEAT_CLOCK_DATA   29

#define MPA_PERF_BUILD_ID_MAX 20

/* A tracepoint's field, from the format in HEADER_TRACING_DATA. */
enum mpa_perf_tp_kind {
	MPA_PERF_TP_INT,        /* integer of 1, 2, 4 or 8 bytes */
	MPA_PERF_TP_STRING,     /* char name[N]: NUL-terminated within N */
	MPA_PERF_TP_DATA_LOC,   /* __data_loc char[]: u32 (len << 16 | offset) */
	MPA_PERF_TP_OTHER,      /* anything else (arrays...): not decoded */
};

struct mpa_perf_tp_field {
	const char *name;         /* (owned by the file) */
	uint32_t offset, size;    /* in the raw record */
	bool is_signed;
	enum mpa_perf_tp_kind kind;
};

struct mpa_perf_tp_format {
	uint64_t id;              /* = attr.config of PERF_TYPE_TRACEPOINT */
	const char *system, *name;/* "kmem", "kmalloc" (owned by the file) */
	const struct mpa_perf_tp_field *fields; /* nr_fields (owned by the file) */
	size_t nr_fields;
};

/* One event (perf_event_attr plus what the file says about it). */
struct mpa_perf_attr {
	uint32_t type;
	uint32_t size;            /* attr size as recorded (version) */
	uint64_t config;
	uint64_t sample_period;   /* or sample_freq when freq */
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t flags;           /* the bitfield word: MPA_PERF_ATTR_FLAG_* */
	uint64_t config1, config2;
	uint64_t branch_sample_type;
	uint64_t sample_regs_user;
	uint32_t sample_stack_user;
	int32_t clockid;
	uint64_t sample_regs_intr;
	bool sample_id_all;
	const char *name;         /* HEADER_EVENT_DESC name, or "perf:attrN"
				     (owned by the file) */
	const uint64_t *ids;      /* sample ids of this event (owned by the
				     file), nr_ids of them */
	size_t nr_ids;
	size_t id_hdr_size;       /* bytes of the sample_id_all trailer */
	const struct mpa_perf_tp_format *tp; /* PERF_TYPE_TRACEPOINT with a
				     format in HEADER_TRACING_DATA, else NULL */
};

/* Fields of a sample (and the sample_id_all trailer of other records). */
struct mpa_perf_sample {
	uint64_t present;         /* MPA_PERF_SAMPLE_* bits that were read */
	uint64_t id;              /* ID or IDENTIFIER */
	uint64_t ip;
	uint32_t pid, tid;
	uint64_t time;
	uint64_t addr;
	uint64_t stream_id;
	uint32_t cpu;
	uint64_t period;
	const unsigned char *callchain; /* nr_callchain u64 (see u64_at) */
	uint64_t nr_callchain;
	const unsigned char *raw;
	uint32_t raw_size;
	uint64_t nr_branches;     /* BRANCH_STACK entries (skipped) */
	uint64_t weight;          /* WEIGHT: the value; WEIGHT_STRUCT: var1_dw */
	uint16_t weight_var2, weight_var3; /* WEIGHT_STRUCT only */
	uint64_t data_src;
	uint64_t transaction;
	uint64_t phys_addr;
	uint64_t cgroup;
	uint64_t data_page_size, code_page_size;
};

struct mpa_perf_record {
	uint32_t type;            /* MPA_PERF_RECORD_* */
	uint16_t misc;
	uint16_t size;
	uint64_t offset;          /* in the file */
	const struct mpa_perf_attr *attr; /* NULL when not identified */

	/*
	 * Time used for ordering, in ns of the recording clock: the sample's
	 * time, the trailer's, or FORK/EXIT's own; for records without one,
	 * and records that came later than the ordering window allowed, the
	 * time of the record before it (time_is_real = false / clamped).
	 */
	uint64_t time;
	bool time_is_real;
	bool clamped;             /* real time was below an emitted record's */
	bool has_cpu;
	uint32_t cpu;

	/* SAMPLE fields, or the trailer's for other records. */
	struct mpa_perf_sample s;

	union {
		struct {
			uint32_t pid, tid;
			const char *comm;
			bool exec;
		} comm;
		struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			const char *filename;
			bool is_mmap2;
			uint32_t maj, min;       /* MMAP2 without build id */
			uint64_t ino, ino_generation;
			uint32_t prot, flags;    /* MMAP2 */
			uint8_t build_id[MPA_PERF_BUILD_ID_MAX];
			uint8_t build_id_size;   /* 0 = none in the record */
		} mmap;
		struct {
			uint32_t pid, ppid, tid, ptid;
			uint64_t time;
		} task;                          /* FORK, EXIT */
		struct {
			uint64_t id;             /* LOST only */
			uint64_t lost;
		} lost;                          /* LOST, LOST_SAMPLES */
	} u;
};

/* What the feature sections say (strings owned by the file, or NULL). */
struct mpa_perf_info {
	const char *hostname, *os_release, *version, *arch, *cpudesc;
	const char *cmdline;      /* arguments joined with spaces */
	uint32_t nr_cpus_avail, nr_cpus_online; /* 0 if unknown */
	bool has_clockid;         /* HEADER_CLOCKID (perf record -k) */
	uint64_t clockid_res_ns;  /* HEADER_CLOCKID: clock resolution, ns */
	int32_t clockid;          /* from the attrs' clockid when use_clockid,
				     -1 = perf's default clock */
	bool has_clock_data;      /* HEADER_CLOCK_DATA */
	uint32_t clock_data_clockid;
	uint64_t clock_tod_ns;    /* wall-clock time (ns since the epoch) ... */
	uint64_t clock_clockid_ns;/* ... at this time of the recording clock */
	uint32_t comp_type;       /* HEADER_COMPRESSED: 1 = zstd, 0 = none */
	uint32_t comp_level;
	uint64_t features[4];     /* the header's feature bitmap (pipe mode:
				     the HEADER_FEATURE records seen) */
	bool pipe;                /* pipe-mode file (perf record -o -) */
};

struct mpa_perf_stats {
	uint64_t nr_records;      /* returned so far */
	uint64_t nr_by_type[128]; /* per header type (types >= 128 counted in
				     nr_other_types) */
	uint64_t nr_other_types;
	uint64_t nr_unordered;    /* clamped to keep time order */
	uint64_t nr_rounds;       /* FINISHED_ROUND records */
	uint64_t max_queued;      /* largest ordering window, in records */
	uint64_t nr_forced_flush; /* flushes forced by the window cap */
	uint64_t nr_compressed;   /* COMPRESSED records decompressed */
};

struct mpa_perf_build_id {
	const char *filename;     /* owned by the file */
	int32_t pid;
	uint8_t build_id[MPA_PERF_BUILD_ID_MAX];
	uint8_t size;
};

struct mpa_perf_file;

/* mpa_perf_open() flags */
#define MPA_PERF_OPEN_FILE_ORDER 1u  /* return records as stored, including
					FINISHED_ROUND; no reordering
					(COMPRESSED records are still
					expanded into what they hold) */

/*
 * Opens and maps `path`, reads the header, attrs and feature sections.
 * *out is always set (to NULL only when out of memory) so that
 * mpa_perf_errmsg() can tell what failed; close it in every case.
 */
int mpa_perf_open(const char *path, unsigned flags, struct mpa_perf_file **out);

/* Like mpa_perf_open() on a caller's buffer (kept, not copied). */
int mpa_perf_open_mem(const void *buf, size_t size, unsigned flags,
		struct mpa_perf_file **out);

void mpa_perf_close(struct mpa_perf_file *f); /* accepts NULL */

/* The last error, one line without trailing period ("" if none). */
const char *mpa_perf_errmsg(const struct mpa_perf_file *f);

/* The next record (MPA_PERF_OK), MPA_PERF_END, or an error (< 0; then every
   later call returns the same error).  The records stored before a bad one
   all come out before its error. */
int mpa_perf_next(struct mpa_perf_file *f, struct mpa_perf_record *rec);

size_t mpa_perf_nr_attrs(const struct mpa_perf_file *f);
const struct mpa_perf_attr *mpa_perf_attr_at(const struct mpa_perf_file *f,
		size_t i);
size_t mpa_perf_attr_index(const struct mpa_perf_file *f,
		const struct mpa_perf_attr *attr);
const struct mpa_perf_info *mpa_perf_info(const struct mpa_perf_file *f);
const struct mpa_perf_stats *mpa_perf_stats(const struct mpa_perf_file *f);

/* True when every record can be tied to a CPU (all attrs sample CPU). */
bool mpa_perf_has_cpu(const struct mpa_perf_file *f);

size_t mpa_perf_nr_build_ids(const struct mpa_perf_file *f);
const struct mpa_perf_build_id *mpa_perf_build_id_at(
		const struct mpa_perf_file *f, size_t i);
/* The HEADER_BUILD_ID entry for `filename`, or NULL. */
const struct mpa_perf_build_id *mpa_perf_build_id_find(
		const struct mpa_perf_file *f, const char *filename);

/*
 * A tracepoint field of a sample's PERF_SAMPLE_RAW data: integers (sign-
 * extended when signed) into *v, strings as a pointer and length (not
 * necessarily NUL-terminated).  0, or -1 when the field lies outside the
 * raw data or has another kind.
 */
int mpa_perf_tp_int(const struct mpa_perf_sample *s,
		const struct mpa_perf_tp_field *fd, uint64_t *v);
int mpa_perf_tp_str(const struct mpa_perf_sample *s,
		const struct mpa_perf_tp_field *fd, const char **str, size_t *len);

/* Element i of a u64 array inside the file (callchains). */
uint64_t mpa_perf_u64_at(const unsigned char *p, uint64_t i);

/* Hex of a build id into out (2 * size + 1 bytes). */
void mpa_perf_build_id_hex(const uint8_t *id, size_t size, char *out);

/* Name of a record type ("SAMPLE", "MMAP2", ...) or NULL if unknown. */
const char *mpa_perf_record_type_name(uint32_t type);

/* Ordering window cap (records), for tests; default 1<<20. */
void mpa_perf_set_window_cap(struct mpa_perf_file *f, size_t cap);

#endif /* MPA_CONVERTERS_PERF_PERF_DATA_H */
