/* libFuzzer target for the analyzers: the input is a compact program that
 * builds a VALID capture full of HOSTILE values, written with the libmpt
 * writer; then every analyzer of the mpa_analyzers[] table runs on it
 * through mpa_run() (CSV + JSON outputs into a fresh directory, removed
 * afterwards), with --from/--to, --pid and a few configuration values also
 * drawn from the input.  The analyzers must not crash, hang, trip UBSan or
 * leak; a clean error from mpa_run() is an acceptable outcome.
 *
 * The input, byte by byte (every read past the end gives 0, and all-zero
 * bytes mean "ordinary"):
 *
 *   header, FA_HDR bytes, fixed size so that mutations of the records do not
 *   shift the options:
 *     [0] chunk rows (0 = 512, else 1..255; raised to input size / 64:
 *         about 16 chunks at most)
 *     [1] run flags: 1 --from, 2 --to, 4 --pid, 8 decode threads 2,
 *         16 analyzer threads 2, 32 metadata, 64 topology, 128 binaries
 *     [2] --from selector, [3] --to selector, [4] --pid selector
 *     [5..10] three configuration changes: (option, value) selector pairs
 *     [11] metadata selector, [12] topology selector
 *     [13] bit 0: the file given to path-valued options (the leak
 *          suppressions) ends with the bytes of the records section
 *     [14..15] reserved
 *   tables: a count byte then that many strings (length byte, raw bytes;
 *     length 255 = a long generated string), a count byte then frames, a
 *     count byte then stacks (depth selector, frame id selectors);
 *     a fixed set of realistic strings, frames and stacks always comes first
 *   records until the input ends (at most FA_MAX_ROWS rows): an op byte,
 *     whose low 5 bits pick
 *       0..18   one record of kind 1..19: a mode byte (timestamp step, pid,
 *               tid, flags, domain, cpu), then one selector per field the
 *               kind carries (mpt_kind_columns())
 *       19..20  alloc, free or realloc (op >> 5), the same way
 *       21..31  a sequence (fa_sequence()): a burst of short-lived blocks,
 *               exit then pid reuse, exec with live blocks, a fork-like
 *               child freeing its parent's blocks, a pool's life, a map and
 *               odd unmaps, a thread, lost events, another current pid,
 *               kernel pages of any order freed twice, realloc chains
 *
 * Value pickers lean to edge cases: sizes 0, 1, 2^63, 2^64-1 and sums near
 * 2^64; pointers 0, tiny, huge, equal to earlier ones, inside earlier
 * blocks and maps; timestamps equal, backwards, 0, UINT64_MAX; pids 0, -1,
 * INT32_MIN/MAX, reused after exit; stack and string ids past their
 * tables; enum bytes (api, counter, domain, order) outside their enums.
 *
 * Environment: FUZZ_ANALYZE_VERBOSE=1 (or 2) prints what an input does,
 * FUZZ_ANALYZE_PLOTS=1 turns the plot emitters on (see below).
 *
 * tests/fuzz/test_fuzz_analyze.c includes this file with MPA_FUZZ_NO_ENTRY
 * defined and replays tests/fuzz/corpus/analyze/ through fuzz_analyze_one().
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <signal.h>
#include <unistd.h>

#include <jansson.h>

#include "mpa/analyzer.h"
#include "mpa/mpt.h"
#include "../../analyzers/framework.h"

#define FA_REQUIRE(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_analyze: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* FUZZ_ANALYZE_VERBOSE=1 in the environment: print the run options and the
 * outcome of each input on stderr; 2: every record written as well (to read
 * a finding). */
static int fa_verbose;
/* FUZZ_ANALYZE_PLOTS=1: the SVG format too, so that the plot emitters write
 * their data and scripts; MPA_GNUPLOT then names a program that does not
 * exist, so nothing is rendered (the run notes that gnuplot is missing). */
static int fa_plots;

/* What the last input did (for tests/fuzz/test_fuzz_analyze.c). */
struct fa_stats {
	uint32_t rows;
	uint32_t kinds;          /* MPT_KINDBIT mask of the kinds written */
	int rc;                  /* mpa_run's */
	int from, to, pid;       /* whether --from, --to, --pid were given */
	char err[1024];          /* mpa_run's message when rc != 0 */
};
static struct fa_stats fa_last;

#define FA_HDR 16
#define FA_MAX_ROWS 2000
#define FA_RECENT 64
#define FA_MAX_PIDS 16

/* ---- reading the input ------------------------------------------------------ */

struct fa_in {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t fa_u8(struct fa_in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

/* LEB128, up to 64 bits. */
static uint64_t fa_var(struct fa_in *in)
{
	uint64_t v = 0;

	for (int sh = 0; sh < 64; sh += 7) {
		uint8_t b = fa_u8(in);

		v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* Realistic names first (the analyzers look for allocator and runtime
 * frames by name), then CSV/JSON/format-string troublemakers. */
static const char *const fa_names[] = {
	"malloc", "/usr/lib/x86_64-linux-gnu/libmpa-preload.so", "work", "/usr/bin/prog",
	"prog.c", "main", "_dl_allocate_tls", "/lib64/ld-linux-x86-64.so.2",
	"_IO_file_doallocate", "/lib/x86_64-linux-gnu/libc.so.6", "operator new(unsigned long)",
	"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "liblttng-ust.so.1", "xmalloc",
	"a \"quoted\", comma;\nnew line\t<tag>&amp;", "%s%n%x%%", "\xff\xfe\xc3 not UTF-8",
	"leak:work", "/tmp/image-after-exec",
};
#define FA_NNAMES (sizeof(fa_names) / sizeof(*fa_names))
#define FA_NAME_PROG 3   /* "/usr/bin/prog" */
#define FA_NAME_IMAGE 18 /* "/tmp/image-after-exec" */

/* ---- the generator's state ---------------------------------------------------- */

struct fa_gen {
	struct fa_in in;
	mpt_writer *w;
	uint64_t ts;
	uint64_t top;                 /* next fresh address */
	uint64_t ptrs[FA_RECENT];     /* addresses handed out lately */
	uint64_t sizes[FA_RECENT];    /* their sizes (as recorded) */
	unsigned nptrs, ptr_at;
	uint64_t size_sum;            /* running sum of the sizes recorded */
	uint64_t last_size;
	int32_t pids[FA_MAX_PIDS];    /* pids seen, [0] the main one */
	unsigned npids;
	int32_t pid, tid;             /* the current process and thread */
	uint32_t pool_ids[8];
	unsigned npools;
	uint32_t nstrings, nframes, nstacks; /* ids handed out by the writer */
	uint32_t name_id[FA_NNAMES];  /* string ids of fa_names[] */
	uint64_t frame_ip;            /* an ip that is in the frame table */
	uint32_t rows;
	uint64_t ts_min, ts_max, row_ts[8];
};

static void fa_emit(struct fa_gen *g, const struct mpa_event *e)
{
	struct mpt_error err = { 0 };
	enum mpt_status st;

	if (g->rows >= FA_MAX_ROWS)
		return;
	st = mpt_writer_append(g->w, e, &err);
	fa_last.kinds |= MPT_KINDBIT(e->kind);
	FA_REQUIRE(st == MPT_OK, "append of a %s record: %s", mpa_kind_name(e->kind), err.msg);
	if (!g->rows || e->ts < g->ts_min)
		g->ts_min = e->ts;
	if (!g->rows || e->ts > g->ts_max)
		g->ts_max = e->ts;
	g->row_ts[g->rows % 8] = e->ts;
	if (fa_verbose >= 2)
		fprintf(stderr,
			"fuzz_analyze: row %u %s ts %" PRIu64 " pid %" PRId32 " tid %" PRId32
			" ptr 0x%" PRIx64 " new_ptr 0x%" PRIx64 " size %" PRIu64 " usable %" PRIu64
			" api %u stack %" PRIu32 " pool %" PRIu32 " str %" PRIu32 " flags 0x%x domain %u\n",
			g->rows, mpa_kind_name(e->kind), e->ts, e->pid, e->tid, e->ptr, e->new_ptr,
			e->size, e->usable, e->api, e->stack_id, e->pool_id, e->str_id, e->flags,
			e->domain);
	g->rows++;
}

static void fa_remember(struct fa_gen *g, uint64_t p, uint64_t size)
{
	unsigned k;

	if (g->nptrs < FA_RECENT) {
		k = g->nptrs++;
	} else {
		k = g->ptr_at;
		g->ptr_at = (g->ptr_at + 1) % FA_RECENT;
	}
	g->ptrs[k] = p;
	g->sizes[k] = size;
}

/* The k-th most recent remembered address (0 = newest). */
static unsigned fa_recent_ix(struct fa_gen *g, unsigned k)
{
	unsigned newest = g->nptrs < FA_RECENT ? g->nptrs - 1 : (g->ptr_at + FA_RECENT - 1) % FA_RECENT;

	k %= g->nptrs;
	return (newest + FA_RECENT - k) % FA_RECENT;
}

/* ---- value pickers -------------------------------------------------------------- */

/* Any 64-bit value, most selectors an edge case. */
static uint64_t fa_edge64(struct fa_gen *g, uint64_t prev)
{
	uint8_t s = fa_u8(&g->in);

	switch (s % 16) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 2;
	case 3: return UINT64_C(1) << 63;
	case 4: return (UINT64_C(1) << 63) - 1;
	case 5: return UINT64_MAX;
	case 6: return UINT64_MAX - fa_u8(&g->in);
	case 7: return UINT64_C(1) << 32;
	case 8: return UINT32_MAX;
	case 9: return prev;
	case 10: return UINT64_MAX - prev + 1 + fa_u8(&g->in); /* prev + this wraps */
	case 11: return fa_var(&g->in);
	case 12: return UINT64_C(1) << (fa_u8(&g->in) % 64);
	case 13: return (UINT64_C(1) << (fa_u8(&g->in) % 64)) - 1;
	case 14: return (UINT64_C(1) << 31) + fa_u8(&g->in);
	default: return fa_u8(&g->in);
	}
}

/* A size: mostly allocator-like, else an edge case, or one that makes the
 * running sum of sizes land near 2^63 or 2^64. */
static uint64_t fa_size(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);
	uint64_t v;

	if (s < 96)
		v = 16 * (uint64_t)(1 + s % 64) - (s & 7);
	else if (s < 128)
		v = (uint64_t)fa_u8(&g->in) << (12 + s % 20);
	else if (s < 136)
		v = UINT64_MAX - g->size_sum + 1 + (s & 3);      /* the sum wraps to ~0 */
	else if (s < 144)
		v = (UINT64_C(1) << 63) - g->size_sum + (s & 3); /* the sum crosses 2^63 */
	else
		v = fa_edge64(g, g->last_size);
	g->size_sum += v;
	g->last_size = v;
	return v;
}

/* An address: 0, tiny, huge, one handed out before (or inside one, or just
 * past its end), or a fresh one from a growing top. */
static uint64_t fa_ptr(struct fa_gen *g, uint64_t size_hint)
{
	uint8_t s = fa_u8(&g->in);
	uint64_t p;
	unsigned k;

	switch (s % 16) {
	case 0:
		return 0;
	case 1:
		return 1 + fa_u8(&g->in);
	case 2:
		return UINT64_MAX - fa_u8(&g->in);
	case 3:
		return (UINT64_C(1) << 63) + 16 * (uint64_t)fa_u8(&g->in);
	case 4: case 5: case 6: case 7: case 8: case 9:
		if (!g->nptrs)
			break;
		/* the newest ones most often */
		return g->ptrs[fa_recent_ix(g, s < 128 ? s >> 6 : fa_u8(&g->in))];
	case 10: /* inside an earlier block or map */
		if (!g->nptrs)
			break;
		k = fa_recent_ix(g, fa_u8(&g->in));
		return g->ptrs[k] + (g->sizes[k] ? fa_var(&g->in) % g->sizes[k] : 8);
	case 11: /* just past the end of an earlier one */
		if (!g->nptrs)
			break;
		k = fa_recent_ix(g, fa_u8(&g->in));
		return g->ptrs[k] + g->sizes[k] - (s >> 7);
	case 13:
		return fa_var(&g->in);
	default:
		break;
	}
	p = g->top;
	g->top += 16 + ((size_hint < (UINT64_C(1) << 32) ? size_hint : 4096) + 15) / 16 * 16;
	return p;
}

static uint64_t fa_ts(struct fa_gen *g, uint8_t mode)
{
	switch (mode & 7) {
	case 0: case 1: case 2: case 3:
		g->ts += 1 + fa_u8(&g->in) * (uint64_t)(1 + (mode & 3) * 1000);
		break;
	case 4: /* same time */
		break;
	case 5: /* backwards */
		g->ts -= 1 + fa_u8(&g->in);
		break;
	case 6: {
		uint8_t s = fa_u8(&g->in);

		switch (s % 6) {
		case 0: g->ts = 0; break;
		case 1: g->ts = UINT64_MAX; break;
		case 2: g->ts = UINT64_MAX - fa_u8(&g->in); break;
		case 3: g->ts = UINT64_C(1) << 63; break;
		case 4: g->ts += UINT64_C(1) << (20 + s % 40); break; /* a long quiet time */
		default: g->ts = fa_var(&g->in); break;
		}
		break;
	}
	default:
		g->ts += fa_var(&g->in);
		break;
	}
	return g->ts;
}

/* pid + d, wrapping (no signed overflow in the harness itself). */
static int32_t fa_pid_add(int32_t pid, uint32_t d)
{
	return (int32_t)((uint32_t)pid + d);
}

static int32_t fa_new_pid(struct fa_gen *g, int32_t pid)
{
	for (unsigned k = 0; k < g->npids; k++)
		if (g->pids[k] == pid)
			return pid;
	if (g->npids < FA_MAX_PIDS)
		g->pids[g->npids++] = pid;
	return pid;
}

static int32_t fa_pick_pid(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);

	switch (s % 12) {
	case 6: return fa_new_pid(g, 0);
	case 7: return fa_new_pid(g, -1);
	case 8: return fa_new_pid(g, INT32_MIN);
	case 9: return fa_new_pid(g, INT32_MAX);
	case 10: return fa_new_pid(g, (int32_t)(uint32_t)fa_var(&g->in));
	case 11: return fa_new_pid(g, fa_pid_add(g->pids[g->npids - 1], 1)); /* INT32_MAX + 1 wraps */
	default: return g->pids[(s >> 3) % g->npids];
	}
}

static uint32_t fa_stack_id(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);

	switch (s % 10) {
	case 0: return 0;
	case 7: return g->nstacks + 1 + (s >> 6);          /* past the table */
	case 8: return UINT32_MAX - (s >> 6);
	case 9: return (uint32_t)fa_var(&g->in);
	default: return g->nstacks ? 1 + (uint32_t)(s >> 3) % g->nstacks : 0;
	}
}

static uint32_t fa_str_id(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);

	switch (s % 8) {
	case 0: return 0;
	case 5: return g->nstrings + (s >> 6);              /* past the table */
	case 6: return UINT32_MAX;
	case 7: return (uint32_t)fa_var(&g->in);
	default: return 1 + (uint32_t)(s >> 3) % (g->nstrings - 1);
	}
}

static uint32_t fa_u32_edge(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);

	switch (s % 8) {
	case 0: return 0;
	case 1: return 1;
	case 2: return UINT32_MAX;
	case 3: return INT32_MAX;
	case 4: return (uint32_t)INT32_MIN;
	case 5: return (uint32_t)fa_var(&g->in);
	default: return s >> 3;
	}
}

static uint32_t fa_pool_id(struct fa_gen *g)
{
	uint8_t s = fa_u8(&g->in);

	if (s < 160 && g->npools)
		return g->pool_ids[s % g->npools];
	if (s < 200) {
		uint32_t id = s < 192 ? 1u + s % 8u : fa_u32_edge(g);

		if (g->npools < 8)
			g->pool_ids[g->npools++] = id;
		return id;
	}
	return fa_u32_edge(g);
}

static uint8_t fa_api(struct fa_gen *g, unsigned kind)
{
	static const uint8_t heap[] = { MPA_API_MALLOC, MPA_API_CALLOC, MPA_API_REALLOC,
		MPA_API_REALLOCARRAY, MPA_API_MEMALIGN, MPA_API_POSIX_MEMALIGN,
		MPA_API_ALIGNED_ALLOC, MPA_API_VALLOC, MPA_API_PVALLOC, MPA_API_NEW,
		MPA_API_NEW_ARRAY, MPA_API_FREE, MPA_API_DELETE, MPA_API_DELETE_ARRAY };
	static const uint8_t maps[] = { MPA_API_MMAP, MPA_API_MUNMAP, MPA_API_MREMAP,
		MPA_API_BRK, MPA_API_SBRK };
	static const uint8_t kern[] = { MPA_API_KMALLOC, MPA_API_KMEM_CACHE, MPA_API_PAGE };
	uint8_t s = fa_u8(&g->in);

	if (s >= 224)
		return s & 1 ? (uint8_t)(MPA_API_COUNT_ + (s >> 1) % 8) : fa_u8(&g->in); /* not an api */
	if (s >= 200)
		return (uint8_t)(s % MPA_API_COUNT_); /* any api, whatever the kind */
	switch (kind) {
	case MPA_KIND_MAP: case MPA_KIND_UNMAP:
		return maps[s % sizeof(maps)];
	case MPA_KIND_KALLOC: case MPA_KIND_KFREE:
		return kern[s % sizeof(kern)];
	case MPA_KIND_FREE:
		return s & 1 ? MPA_API_FREE : heap[s % sizeof(heap)];
	default:
		return s < 100 ? MPA_API_MALLOC : heap[s % sizeof(heap)];
	}
}

/* ---- tables ------------------------------------------------------------------ */

static uint32_t fa_string(struct fa_gen *g, const char *s, size_t len)
{
	struct mpt_error err = { 0 };
	uint32_t id = 0;
	enum mpt_status st = mpt_writer_string(g->w, s, len, &id, &err);

	FA_REQUIRE(st == MPT_OK, "string: %s", err.msg);
	if (id >= g->nstrings)
		g->nstrings = id + 1;
	return id;
}

static uint32_t fa_frame(struct fa_gen *g, const struct mpt_frame *f)
{
	struct mpt_error err = { 0 };
	uint32_t id = 0;
	enum mpt_status st = mpt_writer_frame(g->w, f, &id, &err);

	FA_REQUIRE(st == MPT_OK, "frame: %s", err.msg);
	if (id > g->nframes)
		g->nframes = id;
	return id;
}

static uint32_t fa_stack(struct fa_gen *g, const uint32_t *fr, uint32_t n)
{
	struct mpt_error err = { 0 };
	uint32_t id = 0;
	enum mpt_status st = mpt_writer_stack(g->w, fr, n, &id, &err);

	FA_REQUIRE(st == MPT_OK, "stack of %u frames: %s", n, err.msg);
	if (id > g->nstacks)
		g->nstacks = id;
	return id;
}

static void fa_tables(struct fa_gen *g)
{
	uint32_t *id = g->name_id;
	uint32_t fr[64], n;
	struct mpt_frame f;
	uint8_t cnt;

	g->nstrings = 1; /* "" */
	for (size_t k = 0; k < FA_NNAMES; k++)
		id[k] = fa_string(g, fa_names[k], strlen(fa_names[k]));
	/* strings from the input */
	cnt = fa_u8(&g->in) % 8;
	for (unsigned k = 0; k < cnt; k++) {
		uint8_t len = fa_u8(&g->in);

		if (len == 255) { /* long: fixed buffers in the emitters */
			size_t l = 256 + 64 * (size_t)fa_u8(&g->in);
			char *s = malloc(l);

			FA_REQUIRE(s != NULL, "out of memory");
			memset(s, 'a' + (int)(l % 26), l);
			fa_string(g, s, l);
			free(s);
		} else {
			char s[255];

			for (unsigned j = 0; j < len; j++)
				s[j] = (char)fa_u8(&g->in);
			fa_string(g, s, len);
		}
	}

	/* canned frames: malloc in the preload, work and main in prog,
	 * a loader and a libc runtime frame, operator new in libstdc++ */
	static const struct { unsigned func, bin, file, line; } cf[] = {
		{ 0, 1, ~0u, 0 }, { 2, 3, 4, 42 }, { 5, 3, 4, 7 },
		{ 6, 7, ~0u, 0 }, { 8, 9, ~0u, 0 }, { 10, 11, ~0u, 0 }, { 13, 3, 14, 3 },
	};
	uint32_t cfid[sizeof(cf) / sizeof(*cf)];

	for (size_t k = 0; k < sizeof(cf) / sizeof(*cf); k++) {
		memset(&f, 0, sizeof(f));
		f.ip = 0x401000 + 0x10 * k;
		f.bin_off = f.ip - 0x400000;
		f.func = id[cf[k].func];
		f.bin = id[cf[k].bin];
		f.file = cf[k].file == ~0u ? 0 : id[cf[k].file];
		f.line = cf[k].line;
		cfid[k] = fa_frame(g, &f);
	}
	g->frame_ip = 0x401010;
	/* frames from the input: string ids past the table, huge lines */
	cnt = fa_u8(&g->in) % 8;
	for (unsigned k = 0; k < cnt; k++) {
		memset(&f, 0, sizeof(f));
		f.ip = fa_edge64(g, g->frame_ip);
		f.bin_off = fa_edge64(g, f.ip);
		f.func = fa_str_id(g);
		f.bin = fa_str_id(g);
		f.file = fa_str_id(g);
		f.line = fa_u32_edge(g);
		fa_frame(g, &f);
	}

	/* canned stacks: malloc <- work <- main; work <- main; the allocator
	 * alone; a loader block; a libc runtime block; operator new <- work */
	fr[0] = cfid[0], fr[1] = cfid[1], fr[2] = cfid[2];
	fa_stack(g, fr, 3);
	fa_stack(g, fr + 1, 2);
	fa_stack(g, fr, 1);
	fr[0] = cfid[0], fr[1] = cfid[3], fr[2] = cfid[2];
	fa_stack(g, fr, 3);
	fr[0] = cfid[4], fr[1] = cfid[6], fr[2] = cfid[2];
	fa_stack(g, fr, 3);
	fr[0] = cfid[5], fr[1] = cfid[1], fr[2] = cfid[2];
	fa_stack(g, fr, 3);
	/* stacks from the input: empty, deep, frame ids 0 / past the table */
	cnt = fa_u8(&g->in) % 8;
	for (unsigned k = 0; k < cnt; k++) {
		uint8_t d = fa_u8(&g->in);
		uint32_t *deep;

		if (d < 200) {
			n = d % 65;
			for (uint32_t j = 0; j < n; j++) {
				uint8_t s = fa_u8(&g->in);

				fr[j] = s < 192 ? 1 + s % g->nframes
					: s < 224 ? (s & 1 ? 0 : g->nframes + 1 + (s & 7))
						  : UINT32_MAX - (s & 3);
			}
			fa_stack(g, fr, n);
			continue;
		}
		/* deep: thousands of frames, a pattern from two bytes */
		n = 256u << (d % 6);
		uint8_t a = fa_u8(&g->in), b = fa_u8(&g->in);

		deep = malloc((size_t)n * sizeof(*deep));
		FA_REQUIRE(deep != NULL, "out of memory");
		for (uint32_t j = 0; j < n; j++)
			deep[j] = (j % (1u + a % 16)) == 0 && (b & 1) ? g->nframes + 1 + b
				: 1 + (j * (1u + b)) % g->nframes;
		fa_stack(g, deep, n);
		free(deep);
	}
}

/* ---- records ------------------------------------------------------------------ */

/* Fills every field the kind carries from the input. */
static void fa_fields(struct fa_gen *g, struct mpa_event *e)
{
	uint64_t cols = mpt_kind_columns(e->kind);

	if (cols & MPT_COLBIT(MPT_COL_SIZE))
		e->size = e->kind == MPA_KIND_LOST ? fa_edge64(g, g->last_size) : fa_size(g);
	if (cols & MPT_COLBIT(MPT_COL_PTR))
		e->ptr = fa_ptr(g, e->size);
	if (cols & MPT_COLBIT(MPT_COL_NEW_PTR))
		e->new_ptr = fa_ptr(g, e->size);
	if (cols & MPT_COLBIT(MPT_COL_USABLE)) {
		uint8_t s = fa_u8(&g->in);

		e->usable = s < 64 ? 0 : s < 160 ? e->size + (s & 15) : s < 192 ? e->size - (s & 15)
			  : fa_edge64(g, e->size);
	}
	if (cols & MPT_COLBIT(MPT_COL_ALIGN)) {
		uint8_t s = fa_u8(&g->in);

		e->align = s < 128 ? 0 : s < 224 ? UINT64_C(1) << (s % 64) : fa_edge64(g, 0);
	}
	if (cols & MPT_COLBIT(MPT_COL_API))
		e->api = fa_api(g, e->kind);
	if (cols & MPT_COLBIT(MPT_COL_STACK_ID))
		e->stack_id = fa_stack_id(g);
	if (cols & MPT_COLBIT(MPT_COL_PROT))
		e->prot = fa_u32_edge(g);
	if (cols & MPT_COLBIT(MPT_COL_MFLAGS))
		e->mflags = fa_u32_edge(g);
	if (cols & MPT_COLBIT(MPT_COL_NODE)) {
		uint8_t s = fa_u8(&g->in);

		e->node = s < 128 ? (int32_t)(s % 4) - 1 : (int32_t)fa_u32_edge(g);
	}
	if (cols & MPT_COLBIT(MPT_COL_ORDER))
		e->order = fa_u8(&g->in); /* page orders past 63 too */
	if (cols & MPT_COLBIT(MPT_COL_IP)) {
		uint8_t s = fa_u8(&g->in);

		e->ip = s < 128 ? g->frame_ip + 0x10 * (s % 8) : fa_edge64(g, g->frame_ip);
	}
	if (cols & MPT_COLBIT(MPT_COL_POOL_ID))
		e->pool_id = fa_pool_id(g);
	if (cols & MPT_COLBIT(MPT_COL_FRAME_DEPTH))
		e->frame_depth = fa_u32_edge(g);
	if (cols & MPT_COLBIT(MPT_COL_COUNTER)) {
		uint8_t s = fa_u8(&g->in);

		e->counter = s < 224 ? (uint8_t)(s % MPA_CTR_COUNT_) : s;
	}
	if (cols & MPT_COLBIT(MPT_COL_PERIOD))
		e->period = fa_edge64(g, 1000);
	if (cols & MPT_COLBIT(MPT_COL_WEIGHT))
		e->weight = fa_edge64(g, 0);
	if (cols & MPT_COLBIT(MPT_COL_DATA_SRC))
		e->data_src = fa_edge64(g, 0);
	if (cols & MPT_COLBIT(MPT_COL_STR_ID))
		e->str_id = fa_str_id(g);
	if (cols & MPT_COLBIT(MPT_COL_STATUS))
		e->status = (int32_t)fa_u32_edge(g);
	if (cols & MPT_COLBIT(MPT_COL_END_TS)) {
		uint8_t s = fa_u8(&g->in);

		e->end_ts = s < 64 ? 0 : s < 160 ? e->ts + fa_var(&g->in) : fa_edge64(g, e->ts);
	}
}

/* The common fields; mode selects how ts, pid, tid, flags and domain move. */
static void fa_head(struct fa_gen *g, struct mpa_event *e, unsigned kind, uint8_t mode)
{
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	e->ts = fa_ts(g, mode);
	if (mode & 0x08)
		g->pid = fa_pick_pid(g);
	e->pid = g->pid;
	e->tid = g->tid;
	if (mode & 0x10) {
		uint8_t s = fa_u8(&g->in);

		e->tid = s < 128 ? fa_pid_add(e->pid, s % 4) : (int32_t)fa_u32_edge(g);
	}
	if (mode & 0x20)
		e->flags = (uint16_t)(fa_u8(&g->in) | (uint16_t)(mode & 0x80 ? fa_u8(&g->in) << 8 : 0));
	e->domain = (kind == MPA_KIND_KALLOC || kind == MPA_KIND_KFREE) ? MPA_DOMAIN_KERNEL
									: MPA_DOMAIN_USER;
	if (mode & 0x40) {
		uint8_t s = fa_u8(&g->in);

		e->domain = s < 128 ? (uint8_t)(s & 1) : s;
	}
	e->cpu = (mode & 0x80) ? fa_u32_edge(g) : (uint32_t)(g->rows & 1);
}

static void fa_one(struct fa_gen *g, unsigned kind, uint8_t mode)
{
	struct mpa_event e;

	fa_head(g, &e, kind, mode);
	fa_fields(g, &e);
	fa_emit(g, &e);
	if (kind == MPA_KIND_ALLOC || kind == MPA_KIND_MAP || kind == MPA_KIND_KALLOC ||
	    kind == MPA_KIND_POOL_ALLOC || kind == MPA_KIND_THREAD_START)
		fa_remember(g, e.ptr, e.size);
	else if (kind == MPA_KIND_REALLOC)
		fa_remember(g, e.new_ptr, e.size);
}

/* A record with only the common fields set from the current state. */
static void fa_plain(struct fa_gen *g, struct mpa_event *e, unsigned kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	e->ts = g->ts += 1 + fa_u8(&g->in);
	e->pid = g->pid;
	e->tid = g->tid;
	e->domain = (kind == MPA_KIND_KALLOC || kind == MPA_KIND_KFREE) ? MPA_DOMAIN_KERNEL
									: MPA_DOMAIN_USER;
}

static void fa_alloc_at(struct fa_gen *g, uint64_t p, uint64_t size, uint32_t stack)
{
	struct mpa_event e;

	fa_plain(g, &e, MPA_KIND_ALLOC);
	e.ptr = p;
	e.size = size;
	e.api = MPA_API_MALLOC;
	e.stack_id = stack;
	fa_emit(g, &e);
	fa_remember(g, p, size);
}

static void fa_free_at(struct fa_gen *g, uint64_t p)
{
	struct mpa_event e;

	fa_plain(g, &e, MPA_KIND_FREE);
	e.ptr = p;
	e.api = MPA_API_FREE;
	fa_emit(g, &e);
}

/* Sequences a single record rarely builds by chance. */
static void fa_sequence(struct fa_gen *g, unsigned which)
{
	struct mpa_event e;
	uint8_t n = fa_u8(&g->in);
	int32_t parent, child;
	uint64_t p, len;
	uint32_t pool;

	switch (which) {
	case 0: /* a burst of short-lived blocks at one site */
		for (unsigned k = 0; k < 1u + n % 64; k++) {
			p = fa_ptr(g, 64);
			fa_alloc_at(g, p, 1 + (uint64_t)(n ^ k) * 8, 1 + (k & 1));
			if (!(n & 0x80) || (k & 3))
				fa_free_at(g, p);
		}
		break;
	case 1: /* exit, then the pid is reused and gets the same addresses */
		fa_plain(g, &e, MPA_KIND_PROC_EXIT);
		e.status = (int32_t)n - 128;
		fa_emit(g, &e);
		for (unsigned k = 0; k < g->nptrs && k < 1u + n % 8; k++)
			fa_alloc_at(g, g->ptrs[fa_recent_ix(g, k)], 32, 1);
		if (n & 1)
			fa_free_at(g, g->nptrs ? g->ptrs[fa_recent_ix(g, n)] : 0);
		break;
	case 2: /* exec with live blocks, then frees of the old image's blocks */
		fa_plain(g, &e, MPA_KIND_PROC_EXEC);
		e.str_id = n & 1 ? fa_str_id(g) : g->name_id[FA_NAME_IMAGE]; /* or any id */
		fa_emit(g, &e);
		for (unsigned k = 0; k < g->nptrs && k < n % 4; k++)
			fa_free_at(g, g->ptrs[fa_recent_ix(g, k)]);
		fa_alloc_at(g, fa_ptr(g, 48), 48, 2);
		break;
	case 3: /* fork-like: a new pid frees the parent's blocks, allocates, exits */
		parent = g->pid;
		child = fa_new_pid(g, fa_pid_add(g->pids[g->npids - 1], 1 + (n % 3 == 0 ? 0 : n % 7)));
		g->pid = g->tid = child;
		for (unsigned k = 0; k < g->nptrs && k < n % 4; k++)
			fa_free_at(g, g->ptrs[fa_recent_ix(g, k)]);
		fa_alloc_at(g, fa_ptr(g, 24), 24, 1);
		if (n & 0x10) {
			fa_plain(g, &e, MPA_KIND_PROC_EXIT);
			fa_emit(g, &e);
		}
		g->pid = g->tid = parent;
		break;
	case 4: /* a pool's life, with objects used after its destruction */
		pool = fa_pool_id(g);
		fa_plain(g, &e, MPA_KIND_POOL_CREATE);
		e.pool_id = pool;
		e.size = fa_size(g);
		e.usable = fa_edge64(g, 16);
		e.str_id = fa_str_id(g);
		fa_emit(g, &e);
		for (unsigned k = 0; k < 1u + n % 6; k++) {
			fa_plain(g, &e, MPA_KIND_POOL_ALLOC);
			e.pool_id = pool;
			e.ptr = fa_ptr(g, 64);
			e.size = 64;
			e.stack_id = 1;
			fa_emit(g, &e);
			fa_remember(g, e.ptr, e.size);
			if (k & 1) {
				fa_plain(g, &e, MPA_KIND_POOL_FREE);
				e.pool_id = pool;
				e.ptr = g->ptrs[fa_recent_ix(g, n)];
				fa_emit(g, &e);
			}
		}
		fa_plain(g, &e, MPA_KIND_POOL_DESTROY);
		e.pool_id = pool;
		fa_emit(g, &e);
		if (n & 0x40) {
			fa_plain(g, &e, MPA_KIND_POOL_ALLOC);
			e.pool_id = pool;
			e.ptr = fa_ptr(g, 8);
			fa_emit(g, &e);
		}
		break;
	case 5: /* a map, then unmaps of its middle, of more than it, of 2^64 bytes */
		p = fa_ptr(g, 1 << 20);
		len = fa_size(g);
		fa_plain(g, &e, MPA_KIND_MAP);
		e.ptr = p;
		e.size = len;
		e.api = MPA_API_MMAP;
		e.prot = 3;
		e.mflags = 0x22;
		fa_emit(g, &e);
		fa_remember(g, p, len);
		fa_plain(g, &e, MPA_KIND_UNMAP);
		e.api = MPA_API_MUNMAP;
		switch (n % 4) {
		case 0: e.ptr = p + len / 4; e.size = len / 2; break;
		case 1: e.ptr = p - 4096; e.size = len + 8192; break;
		case 2: e.ptr = p; e.size = UINT64_MAX; break;
		default: e.ptr = p + len; e.size = UINT64_MAX - len; break;
		}
		fa_emit(g, &e);
		break;
	case 6: /* thread start (stack range that wraps, or not) and exit */
		fa_plain(g, &e, MPA_KIND_THREAD_START);
		g->tid = e.tid = fa_pid_add(g->pid, 1 + n % 4);
		e.ptr = n & 1 ? UINT64_MAX - 4095 : fa_ptr(g, 8 << 20);
		e.size = n & 2 ? UINT64_MAX : UINT64_C(8) << 20;
		fa_emit(g, &e);
		fa_alloc_at(g, fa_ptr(g, 16), 16, 3);
		fa_plain(g, &e, MPA_KIND_THREAD_EXIT);
		fa_emit(g, &e);
		g->tid = g->pid;
		break;
	case 7: /* lost events, up to 2^64 - 1 of them */
		fa_plain(g, &e, MPA_KIND_LOST);
		e.size = n & 1 ? UINT64_MAX : fa_edge64(g, 0);
		e.end_ts = n & 2 ? e.ts - 1 : UINT64_MAX;
		e.str_id = fa_str_id(g);
		fa_emit(g, &e);
		break;
	case 8: /* another process becomes the current one */
		g->pid = g->tid = fa_pick_pid(g);
		break;
	case 9: /* kernel pages of any order, freed twice */
		fa_plain(g, &e, MPA_KIND_KALLOC);
		e.ptr = fa_ptr(g, 4096);
		e.api = n & 1 ? MPA_API_PAGE : MPA_API_KMALLOC;
		e.order = n;
		e.size = fa_size(g);
		e.usable = e.size;
		e.node = -1;
		e.ip = g->frame_ip;
		fa_emit(g, &e);
		p = e.ptr;
		fa_plain(g, &e, MPA_KIND_KFREE);
		e.ptr = p;
		e.api = n & 1 ? MPA_API_PAGE : MPA_API_KMALLOC;
		e.order = n;
		fa_emit(g, &e);
		if (n & 2)
			fa_emit(g, &e);
		break;
	default: /* realloc chains: of unknown pointers, to 0 bytes, in place */
		p = fa_ptr(g, 32);
		for (unsigned k = 0; k < 1u + n % 5; k++) {
			fa_plain(g, &e, MPA_KIND_REALLOC);
			e.ptr = p;
			e.new_ptr = (n >> k) & 1 ? p : fa_ptr(g, 64);
			e.size = (n >> (k + 2)) & 1 ? 0 : fa_size(g);
			e.api = MPA_API_REALLOC;
			e.stack_id = fa_stack_id(g);
			fa_emit(g, &e);
			fa_remember(g, e.new_ptr, e.size);
			p = e.new_ptr;
		}
		break;
	}
}

static void fa_records(struct fa_gen *g)
{
	while (g->in.i < g->in.n && g->rows < FA_MAX_ROWS) {
		uint8_t op = fa_u8(&g->in);
		unsigned k = op & 31;

		if (k < MPA_KIND_COUNT_ - 1)
			fa_one(g, 1 + k, fa_u8(&g->in));
		else if (k < MPA_KIND_COUNT_ + 1) /* the heap kinds once more */
			fa_one(g, 1 + (op >> 5) % 3, fa_u8(&g->in));
		else
			fa_sequence(g, k - (MPA_KIND_COUNT_ + 1));
	}
}

/* Metadata (lost_events as the converter writes it, and worse), topology,
 * binaries. */
static void fa_capture_tables(struct fa_gen *g, const uint8_t *h)
{
	static const char *const lost[] = { "0", "1", "18446744073709551615",
		"18446744073709551616", "-1", "12abc", "", " 7", "0x10" };
	struct mpt_error err = { 0 };
	enum mpt_status st;

	if (h[1] & 32) {
		st = mpt_writer_meta(g->w, "lost_events", lost[h[11] % 9], &err);
		FA_REQUIRE(st == MPT_OK, "meta: %s", err.msg);
		st = mpt_writer_meta(g->w, h[11] & 0x80 ? "host" : "clock",
				     fa_names[h[11] % FA_NNAMES], &err);
		FA_REQUIRE(st == MPT_OK, "meta: %s", err.msg);
	}
	if (h[1] & 64) {
		static const uint32_t page[] = { 4096, 0, 1, 511, 512, 65536, 1u << 30, 1u << 31,
			UINT32_MAX, 3 << 12 };
		int32_t cpu_node[8];
		uint32_t dist[16];
		struct mpt_topology t = { 0 };

		t.ncpus = 1 + h[12] % 8;
		t.nnodes = h[12] & 0x80 ? 0 : 1 + (h[12] >> 3) % 4;
		t.page_size = page[(h[12] >> 2) % 10];
		t.cache_line = h[12] & 1 ? 0 : 64;
		t.l1d_size = h[12] & 2 ? UINT64_MAX : 32768;
		for (unsigned k = 0; k < t.ncpus; k++)
			cpu_node[k] = h[12] & 0x40 ? (int32_t)k * 1000 - 1 : (int32_t)(k % (t.nnodes ? t.nnodes : 1));
		for (unsigned k = 0; k < 16; k++)
			dist[k] = k % 5 == 0 ? 10 : h[12] & 0x20 ? UINT32_MAX : 20;
		t.cpu_node = cpu_node;
		t.distance = h[12] & 0x10 ? NULL : dist;
		st = mpt_writer_topology(g->w, &t, &err);
		FA_REQUIRE(st == MPT_OK, "topology: %s", err.msg);
	}
	if (h[1] & 128) {
		struct mpt_binary b = { .pid = g->pid, .path = g->name_id[FA_NAME_PROG], .build_id = 0,
					.base = 0x400000, .size = 0x10000 };

		st = mpt_writer_binary(g->w, &b, &err);
		FA_REQUIRE(st == MPT_OK, "binary: %s", err.msg);
		b.pid = -1;
		b.path = g->nstrings + 3; /* past the string table */
		b.base = UINT64_MAX - 10;
		b.size = UINT64_MAX;
		st = mpt_writer_binary(g->w, &b, &err);
		FA_REQUIRE(st == MPT_OK, "binary: %s", err.msg);
	}
}

/* ---- the run options -------------------------------------------------------- */

struct fa_opts {
	char from[48], to[48];
	int has_from, has_to;
	int32_t pid;
	int decode_threads;
	uint8_t cfg[6];          /* (option, value) selector pairs */
	const char *supp_path;   /* a file with input bytes, for path options */
};

/* A --from/--to text: fixed forms, malformed ones, and times of records of
 * the capture (relative and absolute). */
static void fa_time_text(char *buf, size_t len, uint8_t s, const struct fa_gen *g)
{
	static const char *const fixed[] = { "0", "0ns", "1ns", "1.5", "200ms", "30us", "@0", "@1",
		"@18446744073709551615", "@18446744073709551616", "1e300", "18446744073.709551615",
		"18446744073.709551616", "-1", "abc", "@", "1x", "nan", "inf", "", "0.000000001",
		"1e-300", "@-1", "@ 5", "9999999999999999999999999ns" };
	const size_t nfixed = sizeof(fixed) / sizeof(*fixed);
	uint64_t t = g->row_ts[(s >> 2) % 8];

	switch (s & 3) {
	case 0:
		snprintf(buf, len, "%s", fixed[(s >> 2) % nfixed]);
		break;
	case 1:
		snprintf(buf, len, "@%" PRIu64, t + (s >> 5) - 3);
		break;
	case 2:
		snprintf(buf, len, "%" PRIu64 "ns", t - g->ts_min);
		break;
	default:
		snprintf(buf, len, "%.9f", (double)(t - g->ts_min) / 1e9);
		break;
	}
}

static void fa_options(struct fa_opts *o, const uint8_t *h, const struct fa_gen *g)
{
	static const int32_t odd_pids[] = { -1, INT32_MIN, INT32_MAX, 1, 424242, 0 };

	memset(o, 0, sizeof(*o));
	o->has_from = h[1] & 1;
	o->has_to = (h[1] >> 1) & 1;
	if (o->has_from)
		fa_time_text(o->from, sizeof(o->from), h[2], g);
	if (o->has_to)
		fa_time_text(o->to, sizeof(o->to), h[3], g);
	if (h[1] & 4)
		o->pid = h[4] < 192 ? g->pids[h[4] % g->npids] : odd_pids[h[4] % 6];
	o->decode_threads = h[1] & 8 ? 2 : 1;
	/* h[1] & 16 chose concurrent analyzers, which the one heap replay
	 * replaced: the bit is left unused so the corpus keeps its meaning */
	memcpy(o->cfg, h + 5, sizeof(o->cfg));
}

/* ---- the glue to the framework ------------------------------------------------ */

struct fa_optname {
	const char *section, *key;
	int type; /* a JSON type: the option's */
};

static int fa_optname_cmp(const void *a, const void *b)
{
	const struct fa_optname *x = a, *y = b;
	int c = strcmp(x->section, y->section);

	return c ? c : strcmp(x->key, y->key);
}

/* A hostile text for an option of JSON type t: out of range, of the wrong
 * type, a file path, or valid. */
static const char *fa_opt_value(int t, uint8_t s, const char *supp_path)
{
	static const char *const ints[] = { "0", "1", "-1", "2", "3", "7", "64", "1000",
		"1000000", "2147483647", "-2147483648", "9223372036854775807",
		"-9223372036854775808", "99999999999999999999", "1.5", "true" };
	static const char *const reals[] = { "0", "0.0", "-1", "0.5", "1", "2", "1e-300", "1e300",
		"-1e300", "1e9", "0.000001", "nan", "1e400", "-0.0", "\"x\"", "3" };
	static const char *const strs[] = { "", "malloc", "work", "^_dl_", "work|main", "|", "^",
		"\"quoted\"", "[", "prog.c:42", "\\", "csv,json", "%s%n", "\xff\xfe", "/nonexistent/x",
		NULL /* the input-bytes file */ };

	switch (t) {
	case JSON_TRUE: case JSON_FALSE:
		return (s & 3) == 3 ? "1" : s & 1 ? "true" : "false";
	case JSON_INTEGER:
		return ints[s % 16];
	case JSON_REAL:
		return reals[s % 16];
	default:
		return strs[s % 16] ? strs[s % 16] : supp_path;
	}
}

/* Applies the configuration changes: options are enumerated from the
 * configuration itself (so the list follows the analyzers), sorted. */
static void fa_configure(mpa_config *cfg, const struct fa_opts *o)
{
	char err[512], n[8];
	json_t *all = mpa_config_json(cfg), *sec, *v;
	const char *sname, *key;
	struct fa_optname *opt = NULL;
	size_t nopt = 0, cap = 0;

	snprintf(n, sizeof(n), "%d", o->decode_threads);
	mpa_config_set(cfg, "monitoring", "decode_threads", n, "fuzz", err, sizeof(err));
	FA_REQUIRE(all != NULL, "mpa_config_json failed");
	json_object_foreach(all, sname, sec) {
		json_object_foreach(sec, key, v) {
			if (nopt == cap) {
				cap = cap ? 2 * cap : 64;
				opt = realloc(opt, cap * sizeof(*opt));
				FA_REQUIRE(opt != NULL, "out of memory");
			}
			opt[nopt].section = sname;
			opt[nopt].key = key;
			opt[nopt].type = (int)json_typeof(v);
			nopt++;
		}
	}
	if (nopt)
		qsort(opt, nopt, sizeof(*opt), fa_optname_cmp);
	for (int k = 0; k < 3 && nopt; k++) {
		const struct fa_optname *x = &opt[o->cfg[2 * k] % nopt];

		if (!o->cfg[2 * k] && !o->cfg[2 * k + 1])
			continue; /* zero bytes: no change */
		const char *val = fa_opt_value(x->type, o->cfg[2 * k + 1], o->supp_path);
		int rc = mpa_config_set(cfg, x->section, x->key, val, "fuzz", err, sizeof(err));

		if (fa_verbose)
			fprintf(stderr, "fuzz_analyze: [%s] %s = '%s'%s%s\n", x->section, x->key, val,
				rc ? ": refused: " : "", rc ? err : "");
	}
	free(opt);
	json_decref(all);
}

/* THE call into the analysis core: every analyzer of the table on the
 * capture, CSV and JSON into outdir (no plots, so nothing runs gnuplot; but
 * see fa_plots).  0, or -1 with one line in err (an acceptable outcome). */
static int fa_run_analyzers(const char *capture, const char *outdir, const struct fa_opts *o,
			    char *err, size_t errlen)
{
	mpa_config *cfg = mpa_config_create(err, errlen);
	struct mpa_run_opts ro = { 0 };
	struct mpa_run_result res;
	size_t na = 0;
	int rc;

	FA_REQUIRE(cfg != NULL, "mpa_config_create: %s", err);
	fa_configure(cfg, o);
	while (mpa_analyzers[na])
		na++;
	ro.capture = capture;
	ro.outdir = outdir;
	ro.formats = MPA_FMT_CSV | MPA_FMT_JSON | (fa_plots ? MPA_FMT_SVG : 0);
	ro.config = cfg;
	ro.from = o->has_from ? o->from : NULL;
	ro.to = o->has_to ? o->to : NULL;
	ro.pid = o->pid;
	ro.analyzers = mpa_analyzers;
	ro.nanalyzers = na;
	if (fa_verbose)
		fprintf(stderr, "fuzz_analyze: %zu analyzers, from '%s', to '%s', pid %" PRId32
			", decode threads %d\n", na, ro.from ? ro.from : "(none)",
			ro.to ? ro.to : "(none)", ro.pid, o->decode_threads);
	rc = mpa_run(&ro, &res, err, errlen);
	if (rc == 0)
		mpa_run_result_release(&res);
	mpa_config_free(cfg);
	return rc;
}

/* ---- one input ------------------------------------------------------------------ */

static char fa_dir[64];

static int fa_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fa_rmrf(const char *path)
{
	nftw(path, fa_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes the working directory (atexit under libFuzzer; the regression
 * test calls it itself). */
static void fuzz_analyze_cleanup(void)
{
	if (fa_dir[0])
		fa_rmrf(fa_dir);
	fa_dir[0] = 0;
}

/* A crash ends a fuzzer without its atexit cleanup: the working directory
 * is named after the pid (BASE/mpa-fuzz-an.PID), and those of processes
 * that are gone are removed here.  Only directories of this user are
 * touched.  1 when fa_dir is ready. */
static int fa_workdir(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	struct stat st;
	char path[96];

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;
		int n;

		if (strncmp(de->d_name, "mpa-fuzz-an.", 12))
			continue;
		errno = 0;
		pid = strtol(de->d_name + 12, &end, 10);
		if (errno || *end || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		if (n > 0 && (size_t)n < sizeof(path) && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
			fa_rmrf(path);
	}
	closedir(d);
	if (snprintf(fa_dir, sizeof(fa_dir), "%s/mpa-fuzz-an.%ld", base, (long)getpid()) >=
	    (int)sizeof(fa_dir)) {
		fa_dir[0] = 0;
		return 0;
	}
	if (lstat(fa_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
		fa_rmrf(fa_dir); /* an earlier process with this pid */
	if (mkdir(fa_dir, 0700) == 0)
		return 1;
	fa_dir[0] = 0;
	return 0;
}

/* The working directory and the environment switches, once (again after
 * fuzz_analyze_cleanup()). */
static void fuzz_analyze_setup(void)
{
	static int registered;

	if (fa_dir[0])
		return;
	if (!fa_workdir("/dev/shm") && !fa_workdir("/tmp")) {
		snprintf(fa_dir, sizeof(fa_dir), "/tmp/mpa-fuzz-an.XXXXXX");
		FA_REQUIRE(mkdtemp(fa_dir) != NULL, "mkdtemp: %s", strerror(errno));
	}
	if (!registered)
		atexit(fuzz_analyze_cleanup);
	registered = 1;
	fa_verbose = getenv("FUZZ_ANALYZE_VERBOSE") ? atoi(getenv("FUZZ_ANALYZE_VERBOSE")) : 0;
	fa_plots = getenv("FUZZ_ANALYZE_PLOTS") && !strcmp(getenv("FUZZ_ANALYZE_PLOTS"), "1");
	if (fa_plots)
		FA_REQUIRE(setenv("MPA_GNUPLOT", "/nonexistent/mpa-fuzz-no-gnuplot", 1) == 0,
			   "setenv: %s", strerror(errno));
}

static int fuzz_analyze_one(const uint8_t *data, size_t size)
{
	uint8_t h[FA_HDR] = { 0 };
	struct fa_gen *g;
	struct fa_opts o;
	struct mpt_writer_opts wo = { 0 };
	struct mpt_error werr = { 0 };
	char cap[96], out[96], supp[96], err[1024];
	enum mpt_status st;
	int rc;

	fuzz_analyze_setup();
	snprintf(cap, sizeof(cap), "%s/c.mpt", fa_dir);
	snprintf(out, sizeof(out), "%s/out", fa_dir);
	snprintf(supp, sizeof(supp), "%s/supp.txt", fa_dir);
	fa_rmrf(out);

	memset(&fa_last, 0, sizeof(fa_last));
	memcpy(h, data, size < FA_HDR ? size : FA_HDR);
	g = calloc(1, sizeof(*g));
	FA_REQUIRE(g != NULL, "out of memory");
	g->in.p = data;
	g->in.n = size;
	g->in.i = size < FA_HDR ? size : FA_HDR;
	g->ts = 1000000000;
	g->top = 0x55550000a000;
	g->pid = g->tid = 1000;
	g->pids[0] = 1000;
	g->pids[1] = 1001;
	g->npids = 2;

	/* 0: 512 rows (the writer's default of 65536 rows costs ms per run in
	 * buffers alone).  Otherwise small chunks, but at most about 16 of
	 * them: every chunk costs the codecs' tables. */
	wo.chunk_rows = h[0] ? h[0] : 512;
	if (wo.chunk_rows < size / 64)
		wo.chunk_rows = (uint32_t)(size / 64);
	st = mpt_writer_open(cap, &wo, &g->w, &werr);
	FA_REQUIRE(st == MPT_OK, "writer open: %s", werr.msg);
	fa_tables(g);
	fa_capture_tables(g, h);
	fa_records(g);
	st = mpt_writer_close(g->w, &werr);
	FA_REQUIRE(st == MPT_OK, "writer close: %s", werr.msg);

	/* a file for path-valued options (suppressions): valid lines, then
	 * maybe the input's own bytes */
	{
		FILE *f = fopen(supp, "w");
		size_t at = size > FA_HDR ? FA_HDR : size, len = size - at < 512 ? size - at : 512;

		FA_REQUIRE(f != NULL, "%s: %s", supp, strerror(errno));
		fputs("# suppressions\n\nleak:work\nleak-site:^main\nleak:libc.so|ld-linux\n"
		      "leak:%s\nleak-site:\xff\xfe\n", f);
		if (h[13] & 1)
			fwrite(data + at, 1, len, f);
		FA_REQUIRE(fclose(f) == 0, "%s: %s", supp, strerror(errno));
	}
	fa_options(&o, h, g);
	o.supp_path = supp;

	err[0] = 0;
	rc = fa_run_analyzers(cap, out, &o, err, sizeof(err));
	fa_last.rows = g->rows;
	fa_last.rc = rc;
	fa_last.from = o.has_from;
	fa_last.to = o.has_to;
	fa_last.pid = o.pid != 0;
	snprintf(fa_last.err, sizeof(fa_last.err), "%s", rc ? err : "");
	if (fa_verbose)
		fprintf(stderr, "fuzz_analyze: %u rows, %u stacks, %u strings: %s%s\n", g->rows,
			g->nstacks, g->nstrings, rc ? "error: " : "ok", rc ? err : "");
	FA_REQUIRE(rc == 0 || (rc == -1 && err[0] && !strchr(err, '\n')),
		   "mpa_run returned %d with the message '%s' (want 0, or -1 and one line)", rc, err);
	fa_rmrf(out);
	unlink(cap);
	unlink(supp);
	free(g);
	return 0;
}

#ifndef MPA_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_analyze_one(data, size);
}
#endif
