/*
 * perf_fixtures — perf.data fixtures with the real layouts of events this
 * VM cannot record (hardware memory samples), built with perf_writer, and
 * small helpers shared by the perf tests.
 */
#ifndef MPA_TESTS_PERF_FIXTURES_H
#define MPA_TESTS_PERF_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "perf_writer.h"

/* What a fixture contains, for exact checks. */
struct pf_expect {
	size_t nr_samples;           /* SAMPLE records */
	size_t nr_samples_per_attr[4];
	size_t nr_comm, nr_mmap, nr_fork, nr_exit;
	uint64_t lost;               /* LOST + LOST_SAMPLES total */
	size_t nr_lost_records;
	size_t nr_cpus;              /* distinct CPUs (0 = not sampled) */
};

/*
 * `perf mem record -a` on an Intel machine: cpu/mem-loads,ldlat=30/P and
 * cpu/mem-stores/P (PERF_TYPE_RAW, real configs), sample_type
 * IP|TID|TIME|ADDR|ID|CPU|PERIOD|WEIGHT|DATA_SRC, sample_id_all, two CPUs,
 * records written in rounds whose times overlap, LOST and LOST_SAMPLES.
 */
struct pw *pf_mem_loads(struct pf_expect *e);

/*
 * `perf record -e cache-misses -e page-faults -g -a`: a PERF_TYPE_HARDWARE
 * event with CALLCHAIN (context markers included) and a software event with
 * ADDR; different sample types, so records carry PERF_SAMPLE_IDENTIFIER.
 */
struct pw *pf_cache_misses(struct pf_expect *e);

/*
 * Ice Lake style mem-loads: WEIGHT_STRUCT, PHYS_ADDR, DATA_PAGE_SIZE, plus
 * every field the reader must skip: READ (with TOTAL_TIME_* and ID), RAW,
 * BRANCH_STACK (with HW_INDEX), REGS_USER, STACK_USER, TRANSACTION,
 * REGS_INTR, CODE_PAGE_SIZE.  One CPU field, attr size 128.
 */
struct pw *pf_skip_fields(struct pf_expect *e);

/*
 * An old-style file: attr size 64 (PERF_ATTR_SIZE_VER0), no sample_id_all
 * (COMM/MMAP records carry no time), no CPU, no FINISHED_ROUND.
 */
struct pw *pf_ver0(struct pf_expect *e);

/*
 * `perf record -e kmem:kmalloc -e kmem:kfree -a`: PERF_TYPE_TRACEPOINT
 * events (config = tracefs ID) with RAW samples, and HEADER_TRACING_DATA
 * holding their formats as this machine's tracefs writes them.  The
 * kmalloc samples have ptr = PF_KMEM_PTR(i), bytes_req = 32 * (i + 1).
 */
struct pw *pf_kmem(struct pf_expect *e);
struct pw *pf_kmem_pipe(struct pf_expect *e);
#define PF_KMEM_PTR(i) (0xffff888100000000ULL + 0x40ULL * (i))

/* The same fixtures written as `perf record -z` does (50 input bytes per
 * COMPRESSED record, so most records straddle two of them). */
struct pw *pf_mem_loads_z(struct pf_expect *e);
struct pw *pf_cache_misses_z(struct pf_expect *e);
struct pw *pf_skip_fields_z(struct pf_expect *e);
struct pw *pf_ver0_z(struct pf_expect *e);

/* ... and in pipe mode (perf record -o -), plain and compressed. */
struct pw *pf_mem_loads_pipe(struct pf_expect *e);
struct pw *pf_cache_misses_pipe_z(struct pf_expect *e);

/* Values used by the fixtures, for checks. */
#define PF_MEM_LOADS_CONFIG  0x1cdULL
#define PF_MEM_STORES_CONFIG 0x82d0ULL
#define PF_HOST "fixture-host"

/* Test helpers. */
char *pf_mkdtemp(void);                 /* malloc'd path of a new dir */
void pf_rmtree(const char *dir);        /* rm -rf */
char *pf_join(const char *dir, const char *name); /* malloc'd */
/* Runs a shell command (stdin from /dev/null), returns its stdout
 * (malloc'd) and exit status. */
char *pf_run(const char *cmd, int *status);

#endif /* MPA_TESTS_PERF_FIXTURES_H */
