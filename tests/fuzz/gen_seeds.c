/* Writes small valid .mpt files into DIR: the fuzzer's seed corpus.
 *
 *   gen_seeds DIR
 *
 * Each seed is a few hundred bytes to a few KiB, so that libFuzzer's
 * mutations land in every part of the format: header, chunk headers, each
 * column encoding, tables, footer, trailer.  Deterministic: the same files
 * every time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpa/mpt.h"

static const char *dir;
static struct mpt_error err;

static int fail(const char *what)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, err.msg);
	return 1;
}

#define TRY(x)                                                                 \
	do {                                                                   \
		if ((x) != MPT_OK)                                             \
			return fail(#x);                                       \
	} while (0)

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng >> 11) % n);
}

static mpt_writer *open_seed(const char *name, uint32_t chunk_rows)
{
	char path[4096];
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows };
	mpt_writer *w = NULL;

	snprintf(path, sizeof(path), "%s/%s.mpt", dir, name);
	if (mpt_writer_open(path, &o, &w, &err) != MPT_OK) {
		fail(path);
		return NULL;
	}
	return w;
}

/* A malloc-like stream: LIFO reuse, a growing top, two threads. */
static int malloc_stream(mpt_writer *w, int n, uint32_t stack)
{
	uint64_t live[64], top = 0x5555a000, ts = 1700000000000000000u;
	int nlive = 0;

	for (int i = 0; i < n; i++) {
		struct mpa_event e = { 0 };

		ts += 100 + rnd(200);
		e.ts = ts;
		e.pid = 1234;
		e.tid = 1234 + (i / 40) % 2;
		e.cpu = (uint32_t)e.tid % 2;
		e.stack_id = stack;
		if (nlive > 0 && (nlive == 64 || rnd(2))) {
			int k = nlive - 1 - (int)rnd(nlive < 3 ? (uint32_t)nlive : 3);

			e.kind = MPA_KIND_FREE;
			e.api = MPA_API_FREE;
			e.ptr = live[k];
			live[k] = live[--nlive];
		} else {
			e.kind = MPA_KIND_ALLOC;
			e.api = rnd(10) ? MPA_API_MALLOC : MPA_API_CALLOC;
			e.size = rnd(8) ? 8 + rnd(120) : 4096 + rnd(60000);
			e.usable = (e.size + 8 + 15) & ~15ull;
			e.ptr = top;
			top += e.usable + 16;
			live[nlive++] = e.ptr;
		}
		TRY(mpt_writer_append(w, &e, &err));
	}
	return 0;
}

int main(int argc, char **argv)
{
	mpt_writer *w;
	uint32_t s1, s2, s3, f1, f2, st1, st2, fr[2];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_seeds: '%s': %s\n", dir, strerror(errno));
		return 1;
	}

	/* 1. nothing at all */
	if (!(w = open_seed("empty", 0)))
		return 1;
	TRY(mpt_writer_close(w, &err));

	/* 2. one record */
	if (!(w = open_seed("one", 0)))
		return 1;
	{
		struct mpa_event e = { .kind = MPA_KIND_ALLOC, .ts = 42, .pid = 1, .tid = 1,
				       .ptr = 0x1000, .size = 16, .api = MPA_API_MALLOC };
		TRY(mpt_writer_append(w, &e, &err));
	}
	TRY(mpt_writer_close(w, &err));

	/* 3. tables only */
	if (!(w = open_seed("tables", 0)))
		return 1;
	{
		int32_t cpu_node[4] = { 0, 0, 1, 1 };
		uint32_t dist[4] = { 10, 21, 21, 10 };
		struct mpt_topology t = { .ncpus = 4, .nnodes = 2, .page_size = 4096,
					  .cache_line = 64, .l1d_size = 32768, .l2_size = 1 << 20,
					  .l3_size = 32 << 20, .cpu_node = cpu_node, .distance = dist };
		TRY(mpt_writer_string(w, "main", 4, &s1, &err));
		TRY(mpt_writer_string(w, "/usr/bin/prog", 13, &s2, &err));
		TRY(mpt_writer_string(w, "prog.c", 6, &s3, &err));
		struct mpt_frame a = { .ip = 0x401000, .bin_off = 0x1000, .bin = s2, .func = s1,
				       .file = s3, .line = 10 };
		struct mpt_frame b = { .ip = 0x7f0012345678 };
		TRY(mpt_writer_frame(w, &a, &f1, &err));
		TRY(mpt_writer_frame(w, &b, &f2, &err));
		fr[0] = f2;
		fr[1] = f1;
		TRY(mpt_writer_stack(w, fr, 2, &st1, &err));
		TRY(mpt_writer_stack(w, fr + 1, 1, &st2, &err));
		struct mpt_binary bin = { .pid = 7, .path = s2, .base = 0x400000, .size = 0x2000 };
		TRY(mpt_writer_binary(w, &bin, &err));
		TRY(mpt_writer_topology(w, &t, &err));
		TRY(mpt_writer_meta(w, "hostname", "seed", &err));
		TRY(mpt_writer_meta(w, "lost_events", "3", &err));
	}
	TRY(mpt_writer_close(w, &err));

	/* 4. every kind, small chunks */
	if (!(w = open_seed("kinds", 8)))
		return 1;
	TRY(mpt_writer_string(w, "pool", 4, &s1, &err));
	{
		struct mpt_frame a = { .ip = 0x401000 };
		TRY(mpt_writer_frame(w, &a, &f1, &err));
		TRY(mpt_writer_stack(w, &f1, 1, &st1, &err));
	}
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++) {
		for (int j = 0; j < 3; j++) {
			struct mpa_event e = { 0 };

			e.kind = (uint8_t)k;
			e.ts = 1000 + k * 100 + (uint64_t)j * 7;
			e.pid = 10 + j;
			e.tid = 20 + j;
			e.cpu = (uint32_t)j;
			e.domain = (k == MPA_KIND_KALLOC || k == MPA_KIND_KFREE) ? MPA_DOMAIN_KERNEL
										 : MPA_DOMAIN_USER;
			e.flags = j == 2 ? MPA_FLAG_SYNTH : 0;
			e.ptr = 0x10000 + k * 0x100 + (uint64_t)j * 16;
			e.new_ptr = e.ptr + 0x1000;
			e.size = 16u << j;
			e.usable = e.size + 8;
			e.align = j ? 64 : 0;
			e.api = (uint8_t)(k == MPA_KIND_MAP ? MPA_API_MMAP : MPA_API_MALLOC);
			e.stack_id = st1;
			e.prot = 3;
			e.mflags = 0x22;
			e.node = j - 1;
			e.order = (uint8_t)j;
			e.ip = 0xffffffff81000000u + k;
			e.pool_id = 5;
			e.frame_depth = 3;
			e.counter = MPA_CTR_LLC_MISS;
			e.period = 1000;
			e.weight = 30;
			e.data_src = 0x1234;
			e.str_id = s1;
			e.status = j;
			e.ppid = 9 - j;
			e.end_ts = e.ts + 5;
			TRY(mpt_writer_append(w, &e, &err));
		}
	}
	TRY(mpt_writer_close(w, &err));

	/* 5. a malloc-like stream over several chunks */
	if (!(w = open_seed("malloc", 64)))
		return 1;
	{
		struct mpt_frame a = { .ip = 0x401000 };
		TRY(mpt_writer_frame(w, &a, &f1, &err));
		TRY(mpt_writer_stack(w, &f1, 1, &st1, &err));
	}
	if (malloc_stream(w, 300, st1))
		return 1;
	TRY(mpt_writer_meta(w, "tracer", "lttng-ust 2.13", &err));
	TRY(mpt_writer_close(w, &err));

	/* 6. the same in one chunk, out-of-order timestamps at the end */
	if (!(w = open_seed("malloc1", 0)))
		return 1;
	if (malloc_stream(w, 150, 0))
		return 1;
	{
		struct mpa_event e = { .kind = MPA_KIND_FREE, .ts = 5, .pid = 1, .tid = 1,
				       .ptr = 0x5555a000 };
		TRY(mpt_writer_append(w, &e, &err));
	}
	TRY(mpt_writer_close(w, &err));
	return 0;
}
