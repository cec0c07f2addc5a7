/* Helpers shared by the libmpt tests: temp dirs, random records of every
 * kind, record comparison, file byte surgery. */
#ifndef MPT_TEST_UTIL_H
#define MPT_TEST_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "mpa/mpt.h"

static inline uint64_t tu_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A value of varied magnitude: tiny, small, medium or full width. */
static inline uint64_t tu_val(uint64_t *s, unsigned bits)
{
	uint64_t r = tu_rand(s);
	unsigned b;
	switch (r & 3) {
	case 0: b = 2; break;
	case 1: b = 12; break;
	case 2: b = 33; break;
	default: b = 64; break;
	}
	if (b > bits)
		b = bits;
	uint64_t v = tu_rand(s);
	return b == 64 ? v : v & ((UINT64_C(1) << b) - 1);
}

static inline void tu_set(struct mpa_event *e, unsigned col, uint64_t *s)
{
	switch (col) {
	case MPT_COL_KIND: break;
	case MPT_COL_TS: break;
	case MPT_COL_PID: e->pid = (int32_t)tu_val(s, 32); break;
	case MPT_COL_TID: e->tid = (int32_t)tu_val(s, 32); break;
	case MPT_COL_CPU: e->cpu = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_DOMAIN: e->domain = (uint8_t)tu_val(s, 8); break;
	case MPT_COL_FLAGS: e->flags = (uint16_t)tu_val(s, 16); break;
	case MPT_COL_PTR: e->ptr = tu_val(s, 64); break;
	case MPT_COL_NEW_PTR: e->new_ptr = tu_val(s, 64); break;
	case MPT_COL_SIZE: e->size = tu_val(s, 64); break;
	case MPT_COL_USABLE: e->usable = tu_val(s, 64); break;
	case MPT_COL_ALIGN: e->align = tu_val(s, 64); break;
	case MPT_COL_API: e->api = (uint8_t)tu_val(s, 8); break;
	case MPT_COL_STACK_ID: e->stack_id = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_PROT: e->prot = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_MFLAGS: e->mflags = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_NODE: e->node = (int32_t)tu_val(s, 32); break;
	case MPT_COL_ORDER: e->order = (uint8_t)tu_val(s, 8); break;
	case MPT_COL_IP: e->ip = tu_val(s, 64); break;
	case MPT_COL_POOL_ID: e->pool_id = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_FRAME_DEPTH: e->frame_depth = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_COUNTER: e->counter = (uint8_t)tu_val(s, 8); break;
	case MPT_COL_PERIOD: e->period = tu_val(s, 64); break;
	case MPT_COL_WEIGHT: e->weight = tu_val(s, 64); break;
	case MPT_COL_DATA_SRC: e->data_src = tu_val(s, 64); break;
	case MPT_COL_STR_ID: e->str_id = (uint32_t)tu_val(s, 32); break;
	case MPT_COL_STATUS: e->status = (int32_t)tu_val(s, 32); break;
	case MPT_COL_END_TS: e->end_ts = tu_val(s, 64); break;
	case MPT_COL_PPID: e->ppid = (int32_t)tu_val(s, 32); break;
	}
}

/* A random record of a random kind; only the kind's fields are set.
 * ts mostly increases, sometimes jumps back. */
static inline void tu_random_event(struct mpa_event *e, uint64_t *s, uint64_t *ts)
{
	memset(e, 0, sizeof *e);
	e->kind = (uint8_t)(1 + tu_rand(s) % (MPA_KIND_COUNT_ - 1));
	uint64_t r = tu_rand(s);
	if ((r & 31) == 0)
		*ts -= r >> 50;
	else if ((r & 31) == 1)
		*ts = tu_rand(s);
	else
		*ts += (r >> 40) & 1023;
	e->ts = *ts;
	uint64_t cols = mpt_kind_columns(e->kind);
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if (cols & MPT_COLBIT(c))
			tu_set(e, c, s);
}

static inline int tu_event_eq(const struct mpa_event *a, const struct mpa_event *b)
{
	return a->ts == b->ts && a->ptr == b->ptr && a->new_ptr == b->new_ptr &&
	       a->size == b->size && a->usable == b->usable && a->align == b->align &&
	       a->ip == b->ip && a->period == b->period && a->weight == b->weight &&
	       a->data_src == b->data_src && a->end_ts == b->end_ts && a->pid == b->pid &&
	       a->tid == b->tid && a->node == b->node && a->status == b->status &&
	       a->ppid == b->ppid &&
	       a->cpu == b->cpu && a->stack_id == b->stack_id && a->prot == b->prot &&
	       a->mflags == b->mflags && a->pool_id == b->pool_id &&
	       a->frame_depth == b->frame_depth && a->str_id == b->str_id &&
	       a->flags == b->flags && a->kind == b->kind && a->domain == b->domain &&
	       a->api == b->api && a->order == b->order && a->counter == b->counter;
}

/* A fresh temp dir under $TMPDIR (or /tmp); caller frees the string. */
static inline char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/mpt-test-XXXXXX", base && *base ? base : "/tmp") > 0);
	cr_assert_not_null(mkdtemp(p), "mkdtemp: %s", strerror(errno));
	return p;
}

static inline char *tu_path(const char *dir, const char *name)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Removes dir and every file directly inside it. */
static inline void tu_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *p = tu_path(dir, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

static inline uint8_t *tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	cr_assert_not_null(b);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static inline void tu_spit(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "create %s: %s", path, strerror(errno));
	if (len)
		cr_assert_eq(fwrite(b, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static inline int tu_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Writes n records from generator state seed to path; returns them if out. */
static inline void tu_write_random(const char *path, uint64_t seed, uint32_t n, uint32_t chunk_rows,
				   struct mpa_event *out)
{
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(path, &o, &w, &err), MPT_OK, "%s", err.msg);
	uint64_t ts = 1000;
	for (uint32_t i = 0; i < n; i++) {
		struct mpa_event e;
		tu_random_event(&e, &seed, &ts);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
		if (out)
			out[i] = e;
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
}

#endif

/* ---- a malloc-shaped stream ------------------------------------------------
 * Models what glibc does under a malloc-heavy program, as seen through
 * lttng_ust_libc: a few threads, each with its arena top and a per-size-class
 * LIFO cache of freed blocks (tcache), sizes mostly small with a long tail,
 * about half the blocks short-lived, timestamps 100-300 ns apart with
 * jitter, call sites tied to sizes, occasional CPU migrations. */

#define TU_THREADS 4
#define TU_LIVE_MAX 50000

struct tu_block {
	uint64_t ptr, size;
	uint32_t stack;
	int32_t tid;
};

struct tu_stream {
	uint64_t seed, ts;
	uint64_t top[TU_THREADS];
	uint64_t cache[TU_THREADS][64][8]; /* per class LIFO of freed blocks */
	uint8_t ncache[TU_THREADS][64];
	uint32_t cpu[TU_THREADS];
	struct tu_block live[TU_LIVE_MAX];
	uint32_t nlive;
	struct tu_block pending[TU_THREADS][16]; /* short-lived, freed soon */
	uint32_t npending[TU_THREADS];
	int32_t pid;
	unsigned last; /* thread of the previous record */
};

static inline void tu_stream_init(struct tu_stream *s, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->ts = UINT64_C(1700000000000000000);
	s->pid = 4242;
	for (int t = 0; t < TU_THREADS; t++) {
		s->top[t] = UINT64_C(0x55d0c0a00000) + (uint64_t)t * UINT64_C(0x7f0000000000) / 8;
		s->cpu[t] = (uint32_t)t;
	}
}

static inline uint64_t tu_chunk_size(uint64_t size)
{
	uint64_t c = (size + 8 + 15) & ~(uint64_t)15;
	return c < 32 ? 32 : c;
}

static inline uint64_t tu_pick_size(struct tu_stream *s, uint32_t *stack)
{
	static const uint64_t common[] = { 16, 24, 32, 48, 64, 24, 40, 128, 96, 32, 56, 80 };
	uint64_t r = tu_rand(&s->seed);
	if ((r & 7) < 6) {
		unsigned i = (unsigned)((r >> 8) % 12);
		*stack = 1 + i * 3 + (unsigned)((r >> 20) % 3);
		return common[i];
	}
	/* long tail: log-uniform up to 64 KiB */
	unsigned bits = 4 + (unsigned)((r >> 8) % 13);
	uint64_t sz = (UINT64_C(1) << bits) + ((r >> 24) & ((UINT64_C(1) << bits) - 1));
	*stack = 40 + (unsigned)((r >> 40) % 60);
	return sz;
}

/* Next record of the stream. */
static inline void tu_stream_next(struct tu_stream *s, struct mpa_event *e)
{
	memset(e, 0, sizeof *e);
	uint64_t r = tu_rand(&s->seed);
	unsigned t = (unsigned)(r % TU_THREADS);
	/* threads run in bursts: mostly stay on the previous thread */
	if ((r >> 8) % 8)
		t = s->last;
	s->last = t;
	s->ts += 100 + (r >> 16) % 200 + (((r >> 30) & 63) == 0 ? 5000 : 0);
	e->ts = s->ts;
	e->pid = s->pid;
	e->tid = s->pid + (int32_t)t;
	if (((r >> 40) & 4095) == 0)
		s->cpu[t] = (uint32_t)((r >> 52) % 8);
	e->cpu = s->cpu[t];
	e->domain = MPA_DOMAIN_USER;

	int do_free = 0;
	uint64_t pick = (r >> 36) % 100;
	if (s->npending[t] && pick < 45)
		do_free = 1; /* short-lived block dies */
	else if (s->nlive > 1000 && pick < 55)
		do_free = 2; /* a long-lived block dies */
	if (do_free) {
		struct tu_block b;
		if (do_free == 1) {
			uint32_t k = s->npending[t] - 1 - (uint32_t)((r >> 50) % (s->npending[t] > 2 ? 2 : 1));
			b = s->pending[t][k];
			memmove(&s->pending[t][k], &s->pending[t][k + 1],
				sizeof b * (s->npending[t] - 1 - k));
			s->npending[t]--;
		} else {
			uint32_t k = (uint32_t)((r >> 20) % s->nlive);
			b = s->live[k];
			s->live[k] = s->live[--s->nlive];
		}
		e->kind = MPA_KIND_FREE;
		e->ptr = b.ptr;
		e->api = MPA_API_FREE;
		e->stack_id = b.stack + 1000;
		unsigned cls = (unsigned)(tu_chunk_size(b.size) / 16);
		if (cls < 64 && s->ncache[t][cls] < 8)
			s->cache[t][cls][s->ncache[t][cls]++] = b.ptr;
		return;
	}
	uint32_t stack;
	uint64_t size = tu_pick_size(s, &stack);
	unsigned cls = (unsigned)(tu_chunk_size(size) / 16);
	uint64_t ptr;
	if (cls < 64 && s->ncache[t][cls])
		ptr = s->cache[t][cls][--s->ncache[t][cls]];
	else {
		ptr = s->top[t] + 16;
		s->top[t] += tu_chunk_size(size);
	}
	e->kind = MPA_KIND_ALLOC;
	e->ptr = ptr;
	e->size = size;
	e->api = (r >> 56) % 16 == 0 ? MPA_API_CALLOC : MPA_API_MALLOC;
	e->stack_id = stack;
	struct tu_block b = { ptr, size, stack, e->tid };
	if ((r >> 58) % 2 && s->npending[t] < 16)
		s->pending[t][s->npending[t]++] = b;
	else if (s->nlive < TU_LIVE_MAX)
		s->live[s->nlive++] = b;
}
