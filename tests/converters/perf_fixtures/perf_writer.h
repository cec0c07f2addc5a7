/*
 * perf_writer — writes perf.data files (PERFILE2, little-endian) with the
 * layout perf record itself produces: header, per-event id arrays, the
 * attrs section, the data section, then the feature table and sections
 * (HOSTNAME, OSRELEASE, VERSION, ARCH, NRCPUS, CMDLINE, EVENT_DESC, and
 * optionally BUILD_ID, CLOCKID, CLOCK_DATA).  Tests use it to make fixtures
 * for events this machine cannot record (hardware memory samples) and check
 * that `perf script` accepts what it writes.
 *
 * Test-only code: aborts on out-of-memory.
 */
#ifndef MPA_TESTS_PERF_WRITER_H
#define MPA_TESTS_PERF_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct pw_attr {
	uint32_t type;
	uint32_t size;            /* perf_event_attr size to write: 64..136 */
	uint64_t config, config1, config2;
	uint64_t sample_period;
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t flags;           /* bitfield word (offset 40) */
	uint64_t branch_sample_type;
	uint64_t sample_regs_user;
	uint32_t sample_stack_user;
	int32_t clockid;
	uint64_t sample_regs_intr;
};

/* Values for a SAMPLE record, or a sample_id_all trailer. */
struct pw_sample {
	uint64_t id;              /* ID / IDENTIFIER */
	uint64_t ip;
	uint32_t pid, tid;
	uint64_t time;
	uint64_t addr;
	uint64_t stream_id;
	uint32_t cpu;
	uint64_t period;
	uint64_t read_value;       /* READ: counter value (perf delivers a
				      sample only when it grew) */
	const uint64_t *callchain;
	uint64_t nr_callchain;
	const void *raw;          /* raw_size bytes; padded by the writer */
	uint32_t raw_size;
	uint64_t nr_branches;     /* junk entries to skip */
	uint64_t stack_user_size; /* bytes of junk user stack (multiple of 8) */
	uint64_t weight;          /* full u64 (WEIGHT_STRUCT: var1 | var2<<32 ...) */
	uint64_t data_src;
	uint64_t transaction;
	uint64_t phys_addr;
	uint64_t data_page_size, code_page_size;
	uint16_t misc;            /* header misc (cpumode...) */
};

struct pw;

struct pw *pw_create(void);
void pw_free(struct pw *w);

/* Adds an event; returns its index.  ids are copied. */
size_t pw_add_attr(struct pw *w, const struct pw_attr *a, const char *name,
		const uint64_t *ids, size_t nr_ids);

void pw_set_hostname(struct pw *w, const char *host);
/* HEADER_TRACING_DATA: the blob as perf copies it from tracefs (copied). */
void pw_set_tracing_data(struct pw *w, const void *blob, size_t size);
void pw_set_clockid(struct pw *w, uint64_t res_ns);          /* CLOCKID */
void pw_set_clock_data(struct pw *w, uint32_t clockid, uint64_t tod_ns,
		uint64_t clockid_ns);                         /* CLOCK_DATA */
void pw_add_build_id(struct pw *w, int32_t pid, const uint8_t *id,
		size_t size, const char *filename);

/*
 * Write the data section as `perf record -z` does: one zstd stream, each
 * PERF_RECORD_COMPRESSED record holding the flushed compression of the next
 * `piece` bytes of records (a small piece makes records straddle
 * COMPRESSED records), FINISHED_ROUND left uncompressed, and the
 * HEADER_COMPRESSED feature.
 */
void pw_set_compress(struct pw *w, size_t piece);

/* Write pipe mode (perf record -o -): a 16-byte header, HEADER_ATTR and
 * HEADER_FEATURE records, then the records. */
void pw_set_pipe(struct pw *w);

/* Records (attr = index of the event whose trailer layout is used). */
void pw_sample(struct pw *w, size_t attr, const struct pw_sample *s);
void pw_comm(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		const char *comm, int exec, const struct pw_sample *trailer);
void pw_mmap(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		uint64_t addr, uint64_t len, uint64_t pgoff, const char *file,
		const struct pw_sample *trailer);
/* MMAP2; build_id NULL writes maj/min/ino instead. */
void pw_mmap2(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		uint64_t addr, uint64_t len, uint64_t pgoff,
		const uint8_t *build_id, size_t build_id_size, const char *file,
		const struct pw_sample *trailer);
void pw_task(struct pw *w, size_t attr, int exit, uint32_t pid,
		uint32_t ppid, uint32_t tid, uint32_t ptid, uint64_t time,
		const struct pw_sample *trailer);
void pw_lost(struct pw *w, size_t attr, uint64_t id, uint64_t lost,
		const struct pw_sample *trailer);
void pw_lost_samples(struct pw *w, size_t attr, uint64_t lost,
		const struct pw_sample *trailer);
void pw_finished_round(struct pw *w);
/* Any bytes as a record (header included by the caller). */
void pw_raw_record(struct pw *w, const void *rec, size_t size);

/* Writes the file; 0 or -1 (errno set). */
int pw_write(struct pw *w, const char *path);

/* The whole file in memory (malloc'd, caller frees). */
unsigned char *pw_build(struct pw *w, size_t *size);

#endif /* MPA_TESTS_PERF_WRITER_H */
