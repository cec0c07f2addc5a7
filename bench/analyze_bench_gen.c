/* analyze_bench_gen — writes an .mpt capture of the benchmark's allocation
 * model (analyze_bench_model.h): N events of one process with two threads,
 * 64 allocation sites with 3-frame stacks (the call site innermost), timestamps 100-300 ns apart,
 * glibc-like address reuse (a new block takes the most recently freed
 * address of its size class), ending with the process's exit.
 *
 * usage: analyze_bench_gen -o OUT.mpt -n EVENTS [-s SEED] [-L]
 * -L: no allocation is left unfreed (the 0.1 % leaks become ordinary
 * blocks), so the live heap stays bounded at any length (rss_bench.sh).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpa/mpt.h"
#include "analyze_bench_model.h"

#define NCLASS 66

struct freelist {
	uint64_t *v;
	size_t n, cap;
};

static struct freelist fl[NCLASS];
static uint64_t top = 0x55550000a000ull, mtop = 0x7f0000000000ull;

static unsigned size_class(uint64_t size)
{
	uint64_t c = (size + 15) / 16;
	return c < NCLASS - 1 ? (unsigned)c : NCLASS - 1;
}

static uint64_t take(uint64_t size)
{
	unsigned c = size_class(size);
	if (c < NCLASS - 1 && fl[c].n)
		return fl[c].v[--fl[c].n];
	if (size >= 131072) {
		uint64_t a = mtop;
		mtop += (size + 4096 + 4095) & ~4095ull;
		return a;
	}
	uint64_t a = top;
	top += (size + 16 + 15) & ~15ull;
	return a;
}

static void give(uint64_t addr, uint64_t size)
{
	unsigned c = size_class(size);
	if (c >= NCLASS - 1)
		return;
	struct freelist *f = &fl[c];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->v = realloc(f->v, f->cap * sizeof *f->v);
		if (!f->v) {
			fprintf(stderr, "analyze_bench_gen: out of memory\n");
			exit(1);
		}
	}
	f->v[f->n++] = addr;
}

static void check(enum mpt_status st, const struct mpt_error *e)
{
	if (st != MPT_OK) {
		fprintf(stderr, "analyze_bench_gen: %s\n", e->msg);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t n = 0, seed = 42;
	int opt, leak_off = 0;
	while ((opt = getopt(argc, argv, "o:n:s:L")) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 10);
		else if (opt == 'L')
			leak_off = 1;
		else
			return 2;
	}
	if (!out || !n) {
		fprintf(stderr, "usage: analyze_bench_gen -o OUT.mpt -n EVENTS [-s SEED] [-L]\n");
		return 2;
	}
	struct mpt_error e = {0};
	mpt_writer *w;
	check(mpt_writer_open(out, NULL, &w, &e), &e);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "analyze_bench_gen -n %" PRIu64 " -s %" PRIu64, n, seed);
	check(mpt_writer_meta(w, "recording_command", cmd, &e), &e);
	check(mpt_writer_meta(w, "source", "synthetic: bench/analyze_bench_model.h", &e), &e);

	/* strings, frames, stacks */
	uint32_t s_pre, s_prog, s_libc, s_file, s_malloc, s_free, s_realloc, s_worker, s_start;
	const char *strs[] = {"/usr/local/lib/libmpa-preload.so", "/usr/bin/analyze_bench_workload",
			      "/lib/x86_64-linux-gnu/libc.so.6", "analyze_bench_workload.c",
			      "malloc", "free", "realloc", "worker", "start_thread"};
	uint32_t *ids[] = {&s_pre, &s_prog, &s_libc, &s_file, &s_malloc, &s_free, &s_realloc,
			   &s_worker, &s_start};
	for (int i = 0; i < 9; i++)
		check(mpt_writer_string(w, strs[i], strlen(strs[i]), ids[i], &e), &e);
	uint64_t ip = 0x401000;
	struct mpt_frame fr = {0};
	uint32_t f_worker, f_start;
	/* as mpa-record writes them: the innermost frame is the program's call
	 * site (the preload's wrapper is not part of the stack), so the
	 * analyzers see program blocks, not the tracer's */
	(void)s_pre;
	(void)s_malloc;
	(void)s_free;
	(void)s_realloc;
	fr = (struct mpt_frame){0x402000, 0x2000, s_prog, s_worker, s_file, 200};
	check(mpt_writer_frame(w, &fr, &f_worker, &e), &e);
	fr = (struct mpt_frame){0x7f2000001000, 0x91000, s_libc, s_start, 0, 0};
	check(mpt_writer_frame(w, &fr, &f_start, &e), &e);
	uint32_t st_alloc[BM_SITES], st_free[BM_SITES], st_realloc[BM_SITES];
	for (int k = 0; k < BM_SITES; k++) {
		char name[32];
		uint32_t sn, fs[3];
		uint32_t *st[3] = {&st_alloc[k], &st_free[k], &st_realloc[k]};
		snprintf(name, sizeof name, "site_%02d", k);
		check(mpt_writer_string(w, name, strlen(name), &sn, &e), &e);
		ip += 0x40;
		for (int c = 0; c < 3; c++) {
			/* the malloc, free and realloc calls of the site's function */
			fr = (struct mpt_frame){ip + 0x10 * (uint64_t)c, ip + 0x10 * (uint64_t)c - 0x400000,
						s_prog, sn, s_file, 100 + (uint32_t)(3 * k + c)};
			check(mpt_writer_frame(w, &fr, &fs[c], &e), &e);
			uint32_t a[3] = {fs[c], f_worker, f_start};
			check(mpt_writer_stack(w, a, 3, st[c], &e), &e);
		}
	}

	static struct bm_model m;
	static uint64_t addr[BM_LIVE_MAX];
	bm_init(&m, seed);
	m.leak_off = leak_off;
	static struct bm_model timing;
	bm_init(&timing, seed ^ 0x5bd1e995);
	uint64_t ts = 1000000000000ull;
	int32_t pid = 4242;
	int tsel = 0;
	struct mpa_event ev;
	/* the program cleans up before it exits: the last events free what
	 * is live, so the only unfreed blocks are the model's leaks */
	struct bm_step s;
	for (uint64_t i = 0; bm_step_at(&m, i, n, &s); i++) {
		memset(&ev, 0, sizeof ev);
		/* timing and threads from their own stream: the model's
		 * operations stay those of analyze_bench_workload */
		ts += 100 + bm_rand(&timing) % 201;
		if (bm_rand(&timing) % 64 == 0)
			tsel ^= 1;
		ev.ts = ts;
		ev.pid = pid;
		ev.tid = pid + tsel;
		ev.cpu = (uint32_t)tsel;
		switch (s.op) {
		case BM_ALLOC: {
			uint64_t a = take(s.size);
			if (!s.leak)
				addr[s.slot] = a;
			ev.kind = MPA_KIND_ALLOC;
			ev.ptr = a;
			ev.size = s.size;
			ev.usable = (s.size + 8 + 15) / 16 * 16 - 8;
			ev.api = MPA_API_MALLOC;
			ev.stack_id = st_alloc[s.site];
			break;
		}
		case BM_FREE: {
			uint64_t a = addr[s.slot];
			uint32_t site = m.live_site[s.slot];
			give(a, m.live_size[s.slot]);
			uint32_t last = bm_compact(&m, s.slot);
			addr[s.slot] = addr[last];
			ev.kind = MPA_KIND_FREE;
			ev.ptr = a;
			ev.api = MPA_API_FREE;
			ev.stack_id = st_free[site];
			break;
		}
		case BM_REALLOC: {
			uint64_t old = addr[s.slot], a = old;
			if (size_class(s.old_size) != size_class(s.size) ||
			    size_class(s.size) == NCLASS - 1) {
				a = take(s.size);
				give(old, s.old_size);
			}
			addr[s.slot] = a;
			ev.kind = MPA_KIND_REALLOC;
			ev.ptr = old;
			ev.new_ptr = a;
			ev.size = s.size;
			ev.usable = (s.size + 8 + 15) / 16 * 16 - 8;
			ev.api = MPA_API_REALLOC;
			ev.stack_id = st_realloc[s.site];
			break;
		}
		}
		check(mpt_writer_append(w, &ev, &e), &e);
	}
	memset(&ev, 0, sizeof ev);
	ev.kind = MPA_KIND_PROC_EXIT;
	ev.ts = ts + 1000;
	ev.pid = pid;
	ev.tid = pid;
	check(mpt_writer_append(w, &ev, &e), &e);
	check(mpt_writer_close(w, &e), &e);
	for (int c = 0; c < NCLASS; c++)
		free(fl[c].v);
	return 0;
}
