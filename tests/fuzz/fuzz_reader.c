/* libFuzzer target for the .mpt reader.
 *
 * The input becomes a file (a memfd, opened again through /proc/self/fd, so
 * nothing touches the disk) that goes through everything a consumer of
 * libmpt does: open, tables, chunk index, a full scan with every column, a
 * projected and filtered scan, random access, column sizes, and verify.
 * The library must return errors for bad input, never crash, hang, leak or
 * allocate more than the input justifies.
 *
 * When verify accepts a file, the other calls must agree with it; any
 * disagreement is a bug and aborts.
 *
 * Almost every mutation of a valid file breaks a checksum, and the reader
 * then stops before any decoder sees the data.  So the custom mutator below
 * repairs the checksums (from the layout in doc/format.md) after three
 * mutations out of four: the decoders, not only the checksums, get fuzzed.
 *
 * The same function runs as an ordinary regression test over the corpus:
 * tests/fuzz/test_fuzz_corpus.c includes this file with MPA_FUZZ_NO_ENTRY
 * defined and calls fuzz_reader_one().
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include "mpa/mpt.h"

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_reader: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                    \
			abort();                                               \
		}                                                              \
	} while (0)

static int input_fd = -1;
static char input_path[64];

/* The file that holds the current input: a memfd, or a /dev/shm file when
 * memfd_create is unavailable. */
static int input_file(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (input_fd < 0) {
		input_fd = memfd_create("mpt-fuzz", MFD_CLOEXEC);
		if (input_fd >= 0) {
			snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
		} else {
			snprintf(input_path, sizeof(input_path), "/dev/shm/mpt-fuzz.%d", (int)getpid());
			input_fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (input_fd < 0)
				return -1;
			unlink(input_path); /* reopened through /proc below */
			snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
		}
	}
	if (ftruncate(input_fd, 0) != 0)
		return -1;
	while (off < size) {
		ssize_t n = pwrite(input_fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* ---- checksum repair (doc/format.md, sections 4-6) ------------------------ */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes every checksum the structure lets us find; leaves the rest.
 * Every offset and length is checked against the buffer first. */
static void fix_checksums(uint8_t *d, size_t n)
{
	uint8_t *t, *foot;
	uint64_t F, L, C, T, Ec, Et;

	if (n < 16 + 48 + 24)
		return;
	t = d + n - 48;
	F = rd64(t);
	L = rd64(t + 8);
	if (F < 16 || L < 24 || F > n - 48 || L > n - 48 - F)
		goto trailer;
	foot = d + F;
	C = rd32(foot + 4);
	T = rd32(foot + 8);
	Ec = rd16(foot + 12);
	Et = rd16(foot + 14);
	if (Ec < 48 || Et < 40 || C > L / Ec || T > L / Et || 24 + C * Ec + T * Et != L)
		goto footer;
	for (uint64_t i = 0; i < C; i++) {
		const uint8_t *e = foot + 24 + i * Ec;
		uint64_t off = rd64(e), len = rd64(e + 8), H = rd32(e + 16), pos;
		uint8_t *ch;
		uint32_t K, Ed;

		if (off < 16 || off > F || len > F - off || H < 48 || H > len)
			continue;
		ch = d + off;
		K = rd16(ch + 32);
		Ed = rd16(ch + 34);
		if (Ed < 32 || 40 + (uint64_t)K * Ed + 8 != H)
			continue;
		pos = off + H;
		for (uint32_t k = 0; k < K; k++) {
			uint8_t *desc = ch + 40 + (size_t)k * Ed;
			uint64_t S = rd32(desc + 16);

			if (S > off + len - pos)
				break;
			wr64(desc + 24, XXH64(d + pos, (size_t)S, 0));
			pos += S;
		}
		wr64(ch + H - 8, XXH64(ch, (size_t)H - 8, 0));
	}
	for (uint64_t j = 0; j < T; j++) {
		uint8_t *e = foot + 24 + C * Ec + j * Et;
		uint64_t off = rd64(e + 8), S = rd64(e + 16);

		if (off <= F && S <= F - off)
			wr64(e + 32, XXH64(d + off, (size_t)S, 0));
	}
footer:
	wr64(t + 16, XXH64(d + F, (size_t)L, 0));
trailer:
	wr64(t + 32, XXH64(t, 32, 0));
}

/* Reads every element of every decoded array, so that ASan sees any array
 * shorter than b->n; returns a checksum the caller keeps alive. */
static uint64_t touch_batch(const struct mpt_batch *b)
{
	uint64_t s = 0;

	for (uint32_t i = 0; i < b->n; i++) {
		struct mpa_event ev;

		mpt_batch_get(b, i, &ev);
		s += ev.ts ^ ev.ptr ^ ev.new_ptr ^ ev.size ^ ev.usable ^ ev.align ^ ev.ip ^
		     ev.period ^ ev.weight ^ ev.data_src ^ ev.end_ts;
		s += (uint64_t)ev.pid + (uint64_t)ev.tid + (uint64_t)ev.node + (uint64_t)ev.status +
		     ev.cpu + ev.stack_id + ev.prot + ev.mflags + ev.pool_id + ev.frame_depth +
		     ev.str_id + ev.flags + ev.kind + ev.domain + ev.api + ev.order + ev.counter;
	}
	return s;
}

static uint64_t touch_tables(const mpt_reader *r)
{
	uint64_t s = 0;
	size_t len;
	uint32_t n;

	for (uint32_t i = 0; i < mpt_reader_meta_count(r); i++) {
		const char *k = NULL, *v = NULL;

		mpt_reader_meta_at(r, i, &k, &v);
		REQUIRE(k && v);
		s += strlen(k) + strlen(v);
		REQUIRE(mpt_reader_meta(r, k) != NULL);
	}
	n = mpt_reader_string_count(r);
	for (uint32_t i = 0; i <= n + 1; i++) {
		const char *str = mpt_reader_string(r, i, &len);

		REQUIRE(str != NULL);
		if (len)
			s += (unsigned char)str[len - 1];
	}
	n = mpt_reader_frame_count(r);
	for (uint32_t i = 0; i <= n + 1; i++) {
		const struct mpt_frame *f = mpt_reader_frame(r, i);

		REQUIRE((f != NULL) == (i >= 1 && i <= n));
		if (f)
			s += f->ip + f->bin + f->func + f->file + f->line;
	}
	n = mpt_reader_stack_count(r);
	for (uint32_t i = 0; i <= n + 1; i++) {
		uint32_t depth = 0;
		const uint32_t *fr = mpt_reader_stack(r, i, &depth);

		if (i == 0 || i > n)
			REQUIRE(depth == 0);
		for (uint32_t j = 0; j < depth; j++)
			s += fr[j];
	}
	for (uint32_t i = 0; i < mpt_reader_binary_count(r); i++) {
		const struct mpt_binary *b = mpt_reader_binary(r, i);

		REQUIRE(b != NULL);
		s += b->base + b->size + b->path;
	}
	const struct mpt_topology *t = mpt_reader_topology(r);
	if (t) {
		REQUIRE(t->ncpus <= MPT_MAX_CPUS && t->nnodes <= MPT_MAX_NODES);
		for (uint32_t i = 0; t->cpu_node && i < t->ncpus; i++)
			s += (uint64_t)t->cpu_node[i];
		for (uint64_t i = 0; t->distance && i < (uint64_t)t->nnodes * t->nnodes; i++)
			s += t->distance[i];
	}
	return s;
}

static int fuzz_reader_one(const uint8_t *data, size_t size)
{
	mpt_reader *r = NULL;
	struct mpt_error err;
	const struct mpt_batch *b;
	enum mpt_status st, scan_st;
	uint64_t rows = 0, sink = 0, pid_rows = 0, pid_kept = 0;
	uint32_t nch;
	int scan_ok = 1, have_pid = 0;
	int32_t pid = 0;

	if (input_file(data, size) != 0)
		return 0;
	if (mpt_reader_open(input_path, &r, &err) != MPT_OK)
		return 0;
	sink += mpt_reader_version_major(r) + mpt_reader_version_minor(r) + mpt_reader_file_size(r);
	REQUIRE(mpt_reader_version_major(r) <= MPT_VERSION_MAJOR);
	sink += touch_tables(r);

	nch = mpt_reader_chunk_count(r);
	for (uint32_t i = 0; i < nch; i++) {
		struct mpt_chunk_info ci;
		struct mpt_column_info info[MPT_COL_COUNT_];

		REQUIRE(mpt_reader_chunk_info(r, i, &ci) == MPT_OK);
		REQUIRE(ci.rows > 0 ? ci.ts_min <= ci.ts_max : 1);
		if (mpt_reader_column_info(r, i, info, &err) == MPT_OK)
			for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
				sink += info[c].values + info[c].stored_bytes;
	}
	{
		struct mpt_chunk_info ci;

		REQUIRE(mpt_reader_chunk_info(r, nch, &ci) != MPT_OK);
	}

	/* full scan, every column */
	st = mpt_reader_scan(r, NULL, &err);
	if (st == MPT_OK) {
		while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
			struct mpt_chunk_info ci;

			REQUIRE(b->n > 0);
			REQUIRE(b->chunk < nch);
			REQUIRE(b->kind && b->ts && b->ptr && b->size && b->end_ts && b->str_id);
			REQUIRE(mpt_reader_chunk_info(r, b->chunk, &ci) == MPT_OK);
			REQUIRE(b->n <= ci.rows);
			rows += b->n;
			sink += touch_batch(b);
			/* the pid of the last row, for the pid filter below */
			pid = b->pid[b->n - 1];
			have_pid = pid != 0;
		}
	}
	scan_st = st;
	if (scan_st != MPT_END)
		scan_ok = 0;

	/* two columns, one kind, a time window: the path analyzers take */
	{
		struct mpt_scan sc = { .columns = MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_SIZE),
				       .kinds = MPT_KINDBIT(MPA_KIND_ALLOC) |
					       MPT_KINDBIT(MPA_KIND_FREE),
				       .ts_from = 1000, .ts_to = UINT64_MAX / 2 };

		if (mpt_reader_scan(r, &sc, &err) == MPT_OK) {
			while (mpt_reader_next(r, &b, &err) == MPT_OK) {
				REQUIRE(b->ptr && b->size && b->kind && b->ts);
				REQUIRE(b->new_ptr == NULL && b->ip == NULL);
				for (uint32_t i = 0; i < b->n; i++) {
					REQUIRE(b->kind[i] == MPA_KIND_ALLOC || b->kind[i] == MPA_KIND_FREE);
					REQUIRE(b->ts[i] >= 1000 && b->ts[i] < UINT64_MAX / 2);
				}
				sink += touch_batch(b);
			}
		}
		/* random access from the last chunk backwards */
		for (uint32_t i = nch; i-- > 0;) {
			if (mpt_reader_read_chunk(r, i, &b, &err) == MPT_OK) {
				REQUIRE(b->n == 0 || b->chunk == i);
				sink += touch_batch(b);
			}
			if (nch - i > 4)
				break;
		}
	}
	REQUIRE(mpt_reader_read_chunk(r, nch, &b, &err) != MPT_OK);

	/* one process: the pid column is read before the others */
	if (have_pid) {
		struct mpt_scan sc = { .columns = MPT_COLS_ALL, .pid = pid };

		if (scan_ok && mpt_reader_scan(r, NULL, &err) == MPT_OK)
			while (mpt_reader_next(r, &b, &err) == MPT_OK)
				for (uint32_t i = 0; i < b->n; i++)
					pid_rows += b->pid[i] == pid;
		if (mpt_reader_scan(r, &sc, &err) == MPT_OK)
			while (mpt_reader_next(r, &b, &err) == MPT_OK) {
				REQUIRE(b->n > 0 && b->pid);
				for (uint32_t i = 0; i < b->n; i++)
					REQUIRE(b->pid[i] == pid);
				pid_kept += b->n;
				sink += touch_batch(b);
			}
		sc.columns = MPT_COLBIT(MPT_COL_PTR);
		sc.ts_from = 1000;
		if (mpt_reader_scan(r, &sc, &err) == MPT_OK)
			while (mpt_reader_next(r, &b, &err) == MPT_OK) {
				REQUIRE(b->n > 0 && b->ptr && b->pid == NULL);
				sink += touch_batch(b);
			}
	}

	st = mpt_reader_verify(r, &err);
	if (st == MPT_OK) {
		/* verify vouched for the file: the full scan must have agreed */
		if (!scan_ok)
			fprintf(stderr, "fuzz_reader: verify ok but scan failed: %s\n", err.msg);
		REQUIRE(scan_ok);
		REQUIRE(rows == mpt_reader_rows(r));
		REQUIRE(pid_kept == pid_rows);
	} else {
		REQUIRE(err.msg[0] != 0);
		REQUIRE(memchr(err.msg, 0, sizeof(err.msg)) != NULL);
		REQUIRE(strchr(err.msg, '\n') == NULL);
	}
	if (scan_ok)
		REQUIRE(rows == mpt_reader_rows(r));
	mpt_reader_close(r);
	/* keep the reads from being optimized out */
	if (sink == UINT64_C(0x5eed5eed5eed5eed))
		fprintf(stderr, "%s", "");
	return 0;
}

#ifndef MPA_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_reader_one(data, size);
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 4 != 0)
		fix_checksums(data, size);
	return size;
}
#endif
