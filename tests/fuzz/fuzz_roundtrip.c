/* libFuzzer round-trip target for libmpt: the input is turned into records
 * (every kind, every field, addresses that repeat and grow like an
 * allocator's, timestamps that jump and go backwards, chunk sizes from 1 up),
 * written with the libmpt writer, read back, and compared field by field.
 * Any difference, any error from the writer or reader, or a verify failure
 * is a bug and aborts.
 *
 * The fuzz_reader target cannot reach deep into the decoders (every mutation
 * breaks a checksum first); this one drives the encoders and decoders with
 * valid but adversarial data instead.
 *
 * tests/fuzz/test_fuzz_roundtrip.c includes this file with MPA_FUZZ_NO_ENTRY
 * defined and runs fuzz_roundtrip_one() on fixed pseudo-random inputs. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpa/mpt.h"

#define RT_REQUIRE(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_roundtrip: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

#define RT_MAX_RECORDS 20000

struct rt_in {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t rt_u8(struct rt_in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static uint64_t rt_var(struct rt_in *in)
{
	uint64_t v = 0;

	for (int sh = 0; sh < 64; sh += 7) {
		uint8_t b = rt_u8(in);

		v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static const uint8_t rt_apis[] = {
	MPA_API_UNKNOWN,        MPA_API_MALLOC,    MPA_API_CALLOC,     MPA_API_REALLOC,
	MPA_API_REALLOCARRAY,   MPA_API_MEMALIGN,  MPA_API_POSIX_MEMALIGN, MPA_API_ALIGNED_ALLOC,
	MPA_API_VALLOC,         MPA_API_PVALLOC,   MPA_API_NEW,        MPA_API_NEW_ARRAY,
	MPA_API_FREE,           MPA_API_DELETE,    MPA_API_DELETE_ARRAY, MPA_API_MMAP,
	MPA_API_MUNMAP,         MPA_API_MREMAP,    MPA_API_BRK,        MPA_API_SBRK,
	MPA_API_KMALLOC,        MPA_API_KMEM_CACHE, MPA_API_PAGE,
};

struct rt_gen {
	uint64_t ts, top;
	uint64_t recent[64];    /* addresses used lately */
	unsigned nrecent;
};

static uint64_t rt_addr(struct rt_in *in, struct rt_gen *g)
{
	uint8_t m = rt_u8(in);
	uint64_t p;

	switch (m % 8) {
	case 0:
		return 0;
	case 5: /* fresh: the top grows */
		p = g->top;
		g->top += 16 * (1 + (uint64_t)rt_u8(in));
		break;
	case 6:
		p = rt_var(in);
		break;
	case 7:
		p = (g->nrecent ? g->recent[rt_u8(in) % g->nrecent] : g->top) +
		    (uint64_t)(int64_t)(int8_t)rt_u8(in) * 16;
		break;
	default: /* a recent address, most often the newest ones */
		if (!g->nrecent)
			return g->top;
		p = g->recent[(g->nrecent - 1 - (rt_u8(in) % (m % 8 == 1 ? 2 : g->nrecent))) % 64];
		return p;
	}
	if (g->nrecent < 64)
		g->recent[g->nrecent++] = p;
	else
		g->recent[rt_u8(in) % 64] = p;
	return p;
}

/* Keeps only the fields the kind carries, as the reader returns them. */
static void rt_mask(struct mpa_event *e)
{
	uint64_t cols = mpt_kind_columns(e->kind);

#define RT_KEEP(col, field)                                                    \
	if (!(cols & MPT_COLBIT(col)))                                         \
		e->field = 0;
	RT_KEEP(MPT_COL_PTR, ptr)
	RT_KEEP(MPT_COL_NEW_PTR, new_ptr)
	RT_KEEP(MPT_COL_SIZE, size)
	RT_KEEP(MPT_COL_USABLE, usable)
	RT_KEEP(MPT_COL_ALIGN, align)
	RT_KEEP(MPT_COL_API, api)
	RT_KEEP(MPT_COL_STACK_ID, stack_id)
	RT_KEEP(MPT_COL_PROT, prot)
	RT_KEEP(MPT_COL_MFLAGS, mflags)
	RT_KEEP(MPT_COL_NODE, node)
	RT_KEEP(MPT_COL_ORDER, order)
	RT_KEEP(MPT_COL_IP, ip)
	RT_KEEP(MPT_COL_POOL_ID, pool_id)
	RT_KEEP(MPT_COL_FRAME_DEPTH, frame_depth)
	RT_KEEP(MPT_COL_COUNTER, counter)
	RT_KEEP(MPT_COL_PERIOD, period)
	RT_KEEP(MPT_COL_WEIGHT, weight)
	RT_KEEP(MPT_COL_DATA_SRC, data_src)
	RT_KEEP(MPT_COL_STR_ID, str_id)
	RT_KEEP(MPT_COL_STATUS, status)
	RT_KEEP(MPT_COL_END_TS, end_ts)
	RT_KEEP(MPT_COL_PPID, ppid)
#undef RT_KEEP
}

static void rt_record(struct rt_in *in, struct rt_gen *g, struct mpa_event *e)
{
	static const int32_t pids[] = { 100, 101, 4242, 1 };
	uint8_t op = rt_u8(in), m = rt_u8(in);

	memset(e, 0, sizeof(*e));
	/* mostly the malloc kinds, as in real captures */
	e->kind = (uint8_t)(op < 160 ? 1 + op % 3 : 1 + op % (MPA_KIND_COUNT_ - 1));
	switch (m % 8) {
	case 6:
		g->ts -= rt_u8(in); /* backwards */
		break;
	case 7:
		g->ts = rt_var(in); /* anywhere */
		break;
	case 5:
		g->ts += rt_var(in);
		break;
	default:
		g->ts += 100 + rt_u8(in);
		break;
	}
	e->ts = g->ts;
	e->pid = (m & 0x10) ? (int32_t)(uint32_t)rt_var(in) : pids[(m >> 5) & 3];
	e->tid = (int32_t)((uint32_t)e->pid + ((m >> 6) & 1u));
	e->cpu = (m & 0x08) ? (uint32_t)rt_var(in) : (uint32_t)(op & 1);
	e->domain = (uint8_t)((e->kind == MPA_KIND_KALLOC || e->kind == MPA_KIND_KFREE) ? 1 : 0);
	e->flags = (uint16_t)((op & 0x40) ? rt_u8(in) & 0x0f : 0);
	e->ptr = rt_addr(in, g);
	e->new_ptr = (e->kind == MPA_KIND_REALLOC) ? rt_addr(in, g) : 0;
	e->size = rt_var(in);
	e->usable = (op & 0x20) ? rt_var(in) : e->size + (rt_u8(in) & 15);
	e->align = (op & 0x10) ? (UINT64_C(1) << (rt_u8(in) % 13)) : 0;
	e->api = rt_apis[rt_u8(in) % sizeof(rt_apis)];
	e->stack_id = rt_u8(in) % 4;
	if (e->kind >= MPA_KIND_MAP) {
		e->prot = rt_u8(in) & 7;
		e->mflags = (uint32_t)rt_var(in);
		e->node = (int32_t)(int8_t)rt_u8(in);
		e->order = rt_u8(in) % 11;
		e->ip = rt_var(in);
		e->pool_id = rt_u8(in);
		e->frame_depth = rt_u8(in);
		e->counter = rt_u8(in) % MPA_CTR_COUNT_;
		e->period = rt_var(in);
		e->weight = rt_var(in);
		e->data_src = rt_var(in);
		e->str_id = rt_u8(in) % 3;
		e->status = (int32_t)(uint32_t)rt_var(in);
		e->end_ts = e->ts + rt_u8(in);
		e->ppid = (int32_t)(uint32_t)rt_var(in);
	}
	rt_mask(e);
}

static char rt_dir[64];

static void rt_cleanup(void)
{
	if (rt_dir[0])
		rmdir(rt_dir);
}

#define RT_SAME(f)                                                             \
	RT_REQUIRE(got.f == want->f, "record %u (%s): " #f " %llu != %llu", row,    \
		   mpa_kind_name(want->kind), (unsigned long long)got.f,         \
		   (unsigned long long)want->f)

static void rt_compare(const struct mpt_batch *b, uint32_t i, const struct mpa_event *want,
		       uint32_t row)
{
	struct mpa_event got;

	mpt_batch_get(b, i, &got);
	RT_SAME(kind);
	RT_SAME(ts);
	RT_SAME(pid);
	RT_SAME(tid);
	RT_SAME(cpu);
	RT_SAME(domain);
	RT_SAME(flags);
	RT_SAME(ptr);
	RT_SAME(new_ptr);
	RT_SAME(size);
	RT_SAME(usable);
	RT_SAME(align);
	RT_SAME(api);
	RT_SAME(stack_id);
	RT_SAME(prot);
	RT_SAME(mflags);
	RT_SAME(node);
	RT_SAME(order);
	RT_SAME(ip);
	RT_SAME(pool_id);
	RT_SAME(frame_depth);
	RT_SAME(counter);
	RT_SAME(period);
	RT_SAME(weight);
	RT_SAME(data_src);
	RT_SAME(str_id);
	RT_SAME(status);
	RT_SAME(end_ts);
	RT_SAME(ppid);
}

static int fuzz_roundtrip_one(const uint8_t *data, size_t size)
{
	struct rt_in in = { data, size, 0 };
	struct rt_gen g = { .ts = 1000000, .top = 0x55550000a000 };
	struct mpt_writer_opts wo = { 0 };
	struct mpt_error err = { 0 };
	mpt_writer *w = NULL;
	mpt_reader *r = NULL;
	struct mpa_event *evs = NULL;
	const struct mpt_batch *b;
	enum mpt_status st;
	uint32_t n = 0, row = 0, ids[4];
	char path[96];

	if (!rt_dir[0]) {
		snprintf(rt_dir, sizeof(rt_dir), "/dev/shm/mpa-fuzz-rt.XXXXXX");
		if (!mkdtemp(rt_dir)) {
			snprintf(rt_dir, sizeof(rt_dir), "/tmp/mpa-fuzz-rt.XXXXXX");
			RT_REQUIRE(mkdtemp(rt_dir) != NULL, "mkdtemp: %s", strerror(errno));
		}
		atexit(rt_cleanup);
	}
	snprintf(path, sizeof(path), "%s/c.mpt", rt_dir);

	wo.chunk_rows = 1 + (rt_u8(&in) | (uint32_t)rt_u8(&in) << 8) % 700;
	evs = malloc(RT_MAX_RECORDS * sizeof(*evs));
	RT_REQUIRE(evs != NULL, "out of memory");
	st = mpt_writer_open(path, &wo, &w, &err);
	RT_REQUIRE(st == MPT_OK, "open: %s", err.msg);
	/* three strings, three frames, three stacks: ids 1..3 */
	for (uint32_t i = 1; i <= 3; i++) {
		char s[16];
		struct mpt_frame f = { .ip = 0x400000 + i, .func = 0 };
		uint32_t sid, fid, stid;

		snprintf(s, sizeof(s), "str%u", i);
		RT_REQUIRE(mpt_writer_string(w, s, strlen(s), &sid, &err) == MPT_OK, "%s", err.msg);
		f.func = sid;
		RT_REQUIRE(mpt_writer_frame(w, &f, &fid, &err) == MPT_OK, "%s", err.msg);
		ids[i - 1] = fid;
		RT_REQUIRE(mpt_writer_stack(w, ids, i, &stid, &err) == MPT_OK, "%s", err.msg);
		RT_REQUIRE(stid == i, "stack id %u for the %u-th stack", stid, i);
	}
	while (in.i < in.n && n < RT_MAX_RECORDS) {
		rt_record(&in, &g, &evs[n]);
		st = mpt_writer_append(w, &evs[n], &err);
		RT_REQUIRE(st == MPT_OK, "append of record %u (%s): %s", n,
			   mpa_kind_name(evs[n].kind), err.msg);
		n++;
	}
	st = mpt_writer_close(w, &err);
	RT_REQUIRE(st == MPT_OK, "close: %s", err.msg);

	st = mpt_reader_open(path, &r, &err);
	RT_REQUIRE(st == MPT_OK, "reopen: %s", err.msg);
	RT_REQUIRE(mpt_reader_rows(r) == n, "%llu rows, wrote %u",
		   (unsigned long long)mpt_reader_rows(r), n);
	RT_REQUIRE(mpt_reader_scan(r, NULL, &err) == MPT_OK, "scan: %s", err.msg);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++, row++) {
			RT_REQUIRE(row < n, "more rows than written");
			rt_compare(b, i, &evs[row], row);
		}
	RT_REQUIRE(st == MPT_END, "scan: %s", err.msg);
	RT_REQUIRE(row == n, "read %u rows of %u", row, n);

	/* a filtered, projected scan returns exactly the matching rows */
	if (n) {
		struct mpt_scan sc = { .columns = MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_SIZE),
				       .kinds = MPT_KINDBIT(evs[n / 2].kind) | MPT_KINDBIT(MPA_KIND_FREE),
				       .ts_from = evs[n / 3].ts, .ts_to = evs[n / 2].ts };
		uint32_t k = 0;

		if (sc.ts_to == 0)
			sc.ts_to = 1;
		RT_REQUIRE(mpt_reader_scan(r, &sc, &err) == MPT_OK, "scan: %s", err.msg);
		while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
			for (uint32_t i = 0; i < b->n; i++, k++) {
				while (k < n && !((sc.kinds & MPT_KINDBIT(evs[k].kind)) &&
						  evs[k].ts >= sc.ts_from && evs[k].ts < sc.ts_to))
					k++;
				RT_REQUIRE(k < n, "filtered scan returned an extra row");
				RT_REQUIRE(b->ts[i] == evs[k].ts && b->kind[i] == evs[k].kind,
					   "filtered row %u: ts %llu kind %u, want record %u", i,
					   (unsigned long long)b->ts[i], b->kind[i], k);
				RT_REQUIRE(b->ptr[i] == evs[k].ptr && b->size[i] == evs[k].size,
					   "filtered row: record %u ptr/size differ", k);
			}
		}
		RT_REQUIRE(st == MPT_END, "filtered scan: %s", err.msg);
		while (k < n && !((sc.kinds & MPT_KINDBIT(evs[k].kind)) && evs[k].ts >= sc.ts_from &&
				  evs[k].ts < sc.ts_to))
			k++;
		RT_REQUIRE(k == n, "filtered scan missed record %u", k);
	}
	st = mpt_reader_verify(r, &err);
	RT_REQUIRE(st == MPT_OK, "verify: %s", err.msg);
	mpt_reader_close(r);
	unlink(path);
	free(evs);
	return 0;
}

#ifndef MPA_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_roundtrip_one(data, size);
}
#endif
