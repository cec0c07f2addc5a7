/*
 * perf_writer — see perf_writer.h.  Written from the kernel's uapi
 * (<linux/perf_event.h>) and perf's file layout, independently of the
 * parser under test (which has its own constants).
 */
#include "perf_writer.h"

#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define FEAT_TRACING_DATA 1
#define FEAT_BUILD_ID   2
#define FEAT_HOSTNAME   3
#define FEAT_OSRELEASE  4
#define FEAT_VERSION    5
#define FEAT_ARCH       6
#define FEAT_NRCPUS     7
#define FEAT_CMDLINE    11
#define FEAT_EVENT_DESC 12
#define FEAT_CLOCKID    23
#define FEAT_COMPRESSED 27
#define FEAT_CLOCK_DATA 29
#define REC_COMPRESSED  81
#define REC_FINISHED_ROUND 68

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		abort();
	return q;
}

static void b_put(struct buf *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void b_zero(struct buf *b, size_t n)
{
	static const unsigned char z[64];

	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		b_put(b, z, k);
		n -= k;
	}
}

static void b_u8(struct buf *b, uint8_t v) { b_put(b, &v, 1); }

static void b_u16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	b_put(b, x, 2);
}

static void b_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	b_put(b, x, 4);
}

static void b_u64(struct buf *b, uint64_t v)
{
	b_u32(b, (uint32_t)v);
	b_u32(b, (uint32_t)(v >> 32));
}

static void set_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

/* perf's feature string: u32 length (padded to 64), bytes, NUL padding. */
static void b_string(struct buf *b, const char *s)
{
	size_t len = strlen(s) + 1;
	size_t padded = (len + 63) / 64 * 64;

	b_u32(b, (uint32_t)padded);
	b_put(b, s, len);
	b_zero(b, padded - len);
}

struct pw_event {
	struct pw_attr a;
	char *name;
	uint64_t *ids;
	size_t nr_ids;
};

struct pw {
	struct pw_event *ev;
	size_t nr_ev;
	struct buf data;
	char *hostname;
	int has_clockid;
	uint64_t clock_res_ns;
	int has_clock_data;
	uint32_t cd_clockid;
	uint64_t cd_tod, cd_clk;
	struct buf build_ids;
	size_t compress;          /* input bytes per COMPRESSED record, 0 = off */
	int pipe;                 /* write pipe mode */
	struct buf tracing;       /* HEADER_TRACING_DATA blob */
};

struct pw *pw_create(void)
{
	struct pw *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	return w;
}

void pw_free(struct pw *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->nr_ev; i++) {
		free(w->ev[i].name);
		free(w->ev[i].ids);
	}
	free(w->ev);
	free(w->data.p);
	free(w->build_ids.p);
	free(w->tracing.p);
	free(w->hostname);
	free(w);
}

size_t pw_add_attr(struct pw *w, const struct pw_attr *a, const char *name,
		const uint64_t *ids, size_t nr_ids)
{
	struct pw_event *e;

	w->ev = xrealloc(w->ev, (w->nr_ev + 1) * sizeof(*w->ev));
	e = &w->ev[w->nr_ev];
	e->a = *a;
	if (!e->a.size)
		e->a.size = PERF_ATTR_SIZE_VER7;
	e->name = strdup(name);
	e->ids = xrealloc(NULL, nr_ids * sizeof(uint64_t));
	if (!e->name)
		abort();
	if (nr_ids)
		memcpy(e->ids, ids, nr_ids * sizeof(uint64_t));
	e->nr_ids = nr_ids;
	return w->nr_ev++;
}

void pw_set_hostname(struct pw *w, const char *host)
{
	free(w->hostname);
	w->hostname = strdup(host);
}

void pw_set_tracing_data(struct pw *w, const void *blob, size_t size)
{
	w->tracing.n = 0;
	b_put(&w->tracing, blob, size);
}

void pw_set_clockid(struct pw *w, uint64_t res_ns)
{
	w->has_clockid = 1;
	w->clock_res_ns = res_ns;
}

void pw_set_clock_data(struct pw *w, uint32_t clockid, uint64_t tod_ns,
		uint64_t clockid_ns)
{
	w->has_clock_data = 1;
	w->cd_clockid = clockid;
	w->cd_tod = tod_ns;
	w->cd_clk = clockid_ns;
}

void pw_set_pipe(struct pw *w)
{
	w->pipe = 1;
}

void pw_set_compress(struct pw *w, size_t piece)
{
	w->compress = piece;
}

/*
 * Compresses one batch of records the way perf record does
 * (zstd_compress_stream_to_records): one zstd stream for the whole file,
 * never ended; each COMPRESSED record holds what ZSTD_compressStream +
 * ZSTD_flushStream produce for the next `piece` input bytes, so every
 * record decompresses to something (perf requires it) and records of the
 * input straddle COMPRESSED records.
 */
static void put_compressed(ZSTD_CStream *zcs, struct buf *out,
		const unsigned char *p, size_t n, size_t piece)
{
	size_t cap = ZSTD_compressBound(piece) + 1024;
	unsigned char *z = xrealloc(NULL, cap);
	size_t pos = 0;

	while (pos < n) {
		size_t k = n - pos < piece ? n - pos : piece;
		ZSTD_inBuffer in = { p + pos, k, 0 };
		ZSTD_outBuffer o = { z, cap, 0 };
		size_t r;

		while (in.pos < in.size)
			if (ZSTD_isError(ZSTD_compressStream(zcs, &o, &in)))
				abort();
		do {
			r = ZSTD_flushStream(zcs, &o);
			if (ZSTD_isError(r))
				abort();
		} while (r != 0);
		if (8 + o.pos > 0xffff)
			abort();
		b_u32(out, REC_COMPRESSED);
		b_u16(out, 0);
		b_u16(out, (uint16_t)(8 + o.pos));   /* no padding, as perf 6.1 */
		b_put(out, z, o.pos);
		pos += k;
	}
	free(z);
}

/* The data section as perf record -z writes it. */
static void compress_data(const struct buf *in, struct buf *out, size_t piece)
{
	ZSTD_CStream *zcs = ZSTD_createCStream();
	size_t pos = 0, batch = 0;

	if (!zcs || ZSTD_isError(ZSTD_initCStream(zcs, 1)))
		abort();
	while (pos < in->n) {
		uint32_t type = (uint32_t)in->p[pos] | (uint32_t)in->p[pos + 1] << 8 |
			(uint32_t)in->p[pos + 2] << 16 | (uint32_t)in->p[pos + 3] << 24;
		size_t size = (size_t)in->p[pos + 6] | (size_t)in->p[pos + 7] << 8;

		if (size < 8 || size > in->n - pos)
			abort();   /* only for well-formed fixtures */
		if (type == REC_FINISHED_ROUND) {
			put_compressed(zcs, out, in->p + batch, pos - batch, piece);
			b_put(out, in->p + pos, size);
			batch = pos + size;
		}
		pos += size;
	}
	put_compressed(zcs, out, in->p + batch, pos - batch, piece);
	ZSTD_freeCStream(zcs);
}

void pw_add_build_id(struct pw *w, int32_t pid, const uint8_t *id,
		size_t size, const char *filename)
{
	struct buf *b = &w->build_ids;
	size_t start = b->n;
	size_t flen = strlen(filename) + 1;
	size_t total = 8 + 4 + 24 + (flen + 63) / 64 * 64;  /* as perf: NAME_ALIGN */
	uint8_t bid[24] = { 0 };

	memcpy(bid, id, size > 20 ? 20 : size);
	bid[20] = (uint8_t)size;
	b_u32(b, PERF_RECORD_MISC_KERNEL);  /* type field: unused by perf */
	b_u16(b, 1 << 15);                  /* PERF_RECORD_MISC_BUILD_ID_SIZE */
	b_u16(b, (uint16_t)total);
	b_u32(b, (uint32_t)pid);
	b_put(b, bid, 24);
	b_put(b, filename, flen);
	b_zero(b, total - (b->n - start));
}

/* ---- records ---------------------------------------------------------------- */

static const struct pw_attr *attr_of(struct pw *w, size_t i)
{
	if (i >= w->nr_ev)
		abort();
	return &w->ev[i].a;
}

static size_t begin_rec(struct buf *b, uint32_t type, uint16_t misc)
{
	size_t start = b->n;

	b_u32(b, type);
	b_u16(b, misc);
	b_u16(b, 0);   /* size, patched by end_rec */
	return start;
}

static void end_rec(struct buf *b, size_t start)
{
	size_t size = b->n - start;

	if (size % 8)
		abort();   /* callers keep records 8-byte aligned */
	if (size > 0xffff)
		abort();
	set_u16(b->p + start + 6, (uint16_t)size);
}

static void put_trailer(struct buf *b, const struct pw_attr *a,
		const struct pw_sample *s)
{
	static const struct pw_sample zero;
	uint64_t st = a->sample_type;

	if (!(a->flags & (1ULL << 18)))   /* sample_id_all */
		return;
	if (!s)
		s = &zero;
	if (st & PERF_SAMPLE_TID) {
		b_u32(b, s->pid);
		b_u32(b, s->tid);
	}
	if (st & PERF_SAMPLE_TIME)
		b_u64(b, s->time);
	if (st & PERF_SAMPLE_ID)
		b_u64(b, s->id);
	if (st & PERF_SAMPLE_STREAM_ID)
		b_u64(b, s->stream_id);
	if (st & PERF_SAMPLE_CPU) {
		b_u32(b, s->cpu);
		b_u32(b, 0);
	}
	if (st & PERF_SAMPLE_IDENTIFIER)
		b_u64(b, s->id);
}

static void put_regs(struct buf *b, uint64_t mask, uint64_t seed)
{
	unsigned n = (unsigned)__builtin_popcountll(mask), i;

	b_u64(b, PERF_SAMPLE_REGS_ABI_64);
	for (i = 0; i < n; i++)
		b_u64(b, seed + i);
}

void pw_sample(struct pw *w, size_t attr, const struct pw_sample *s)
{
	const struct pw_attr *a = attr_of(w, attr);
	struct buf *b = &w->data;
	uint64_t st = a->sample_type;
	size_t start = begin_rec(b, PERF_RECORD_SAMPLE, s->misc);
	uint64_t i;

	if (st & PERF_SAMPLE_IDENTIFIER)
		b_u64(b, s->id);
	if (st & PERF_SAMPLE_IP)
		b_u64(b, s->ip);
	if (st & PERF_SAMPLE_TID) {
		b_u32(b, s->pid);
		b_u32(b, s->tid);
	}
	if (st & PERF_SAMPLE_TIME)
		b_u64(b, s->time);
	if (st & PERF_SAMPLE_ADDR)
		b_u64(b, s->addr);
	if (st & PERF_SAMPLE_ID)
		b_u64(b, s->id);
	if (st & PERF_SAMPLE_STREAM_ID)
		b_u64(b, s->stream_id);
	if (st & PERF_SAMPLE_CPU) {
		b_u32(b, s->cpu);
		b_u32(b, 0);
	}
	if (st & PERF_SAMPLE_PERIOD)
		b_u64(b, s->period);
	if (st & PERF_SAMPLE_READ) {
		uint64_t rf = a->read_format;

		if (rf & PERF_FORMAT_GROUP) {
			b_u64(b, 2);
			if (rf & PERF_FORMAT_TOTAL_TIME_ENABLED)
				b_u64(b, 1000);
			if (rf & PERF_FORMAT_TOTAL_TIME_RUNNING)
				b_u64(b, 900);
			for (i = 0; i < 2; i++) {
				b_u64(b, s->read_value + i);
				if (rf & PERF_FORMAT_ID)
					b_u64(b, s->id);
				if (rf & PERF_FORMAT_LOST)
					b_u64(b, 0);
			}
		} else {
			b_u64(b, s->read_value);
			if (rf & PERF_FORMAT_TOTAL_TIME_ENABLED)
				b_u64(b, 1000);
			if (rf & PERF_FORMAT_TOTAL_TIME_RUNNING)
				b_u64(b, 900);
			if (rf & PERF_FORMAT_ID)
				b_u64(b, s->id);
			if (rf & PERF_FORMAT_LOST)
				b_u64(b, 0);
		}
	}
	if (st & PERF_SAMPLE_CALLCHAIN) {
		b_u64(b, s->nr_callchain);
		for (i = 0; i < s->nr_callchain; i++)
			b_u64(b, s->callchain[i]);
	}
	if (st & PERF_SAMPLE_RAW) {
		/* u32 size + data, padded so the whole is 8-byte aligned */
		uint32_t padded = (uint32_t)((s->raw_size + 4 + 7) / 8 * 8 - 4);

		b_u32(b, padded);
		b_put(b, s->raw, s->raw_size);
		b_zero(b, padded - s->raw_size);
	}
	if (st & PERF_SAMPLE_BRANCH_STACK) {
		b_u64(b, s->nr_branches);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX)
			b_u64(b, (uint64_t)-1);
		for (i = 0; i < s->nr_branches; i++) {
			b_u64(b, 0x400000 + 16 * i);   /* from */
			b_u64(b, 0x400100 + 16 * i);   /* to */
			b_u64(b, 0);                   /* flags */
		}
	}
	if (st & PERF_SAMPLE_REGS_USER)
		put_regs(b, a->sample_regs_user, 0x1000);
	if (st & PERF_SAMPLE_STACK_USER) {
		b_u64(b, s->stack_user_size);
		for (i = 0; i < s->stack_user_size / 8; i++)
			b_u64(b, 0xdead0000 + i);
		if (s->stack_user_size)
			b_u64(b, s->stack_user_size);  /* dyn_size */
	}
	if (st & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT))
		b_u64(b, s->weight);
	if (st & PERF_SAMPLE_DATA_SRC)
		b_u64(b, s->data_src);
	if (st & PERF_SAMPLE_TRANSACTION)
		b_u64(b, s->transaction);
	if (st & PERF_SAMPLE_REGS_INTR)
		put_regs(b, a->sample_regs_intr, 0x2000);
	if (st & PERF_SAMPLE_PHYS_ADDR)
		b_u64(b, s->phys_addr);
	if (st & PERF_SAMPLE_CGROUP)
		b_u64(b, 1);
	if (st & PERF_SAMPLE_DATA_PAGE_SIZE)
		b_u64(b, s->data_page_size);
	if (st & PERF_SAMPLE_CODE_PAGE_SIZE)
		b_u64(b, s->code_page_size);
	end_rec(b, start);
}

static void put_padded_string(struct buf *b, const char *s)
{
	size_t len = strlen(s) + 1;

	b_put(b, s, len);
	b_zero(b, (len + 7) / 8 * 8 - len);
}

void pw_comm(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		const char *comm, int exec, const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, PERF_RECORD_COMM,
		exec ? PERF_RECORD_MISC_COMM_EXEC : 0);

	b_u32(b, pid);
	b_u32(b, tid);
	put_padded_string(b, comm);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_mmap(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		uint64_t addr, uint64_t len, uint64_t pgoff, const char *file,
		const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, PERF_RECORD_MMAP, PERF_RECORD_MISC_USER);

	b_u32(b, pid);
	b_u32(b, tid);
	b_u64(b, addr);
	b_u64(b, len);
	b_u64(b, pgoff);
	put_padded_string(b, file);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_mmap2(struct pw *w, size_t attr, uint32_t pid, uint32_t tid,
		uint64_t addr, uint64_t len, uint64_t pgoff,
		const uint8_t *build_id, size_t build_id_size, const char *file,
		const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER |
		(build_id ? PERF_RECORD_MISC_MMAP_BUILD_ID : 0));

	b_u32(b, pid);
	b_u32(b, tid);
	b_u64(b, addr);
	b_u64(b, len);
	b_u64(b, pgoff);
	if (build_id) {
		uint8_t id[20] = { 0 };

		memcpy(id, build_id, build_id_size > 20 ? 20 : build_id_size);
		b_u8(b, (uint8_t)build_id_size);
		b_u8(b, 0);
		b_u16(b, 0);
		b_put(b, id, 20);
	} else {
		b_u32(b, 8);       /* maj */
		b_u32(b, 1);       /* min */
		b_u64(b, 123456);  /* ino */
		b_u64(b, 0);       /* ino_generation */
	}
	b_u32(b, 5);               /* PROT_READ | PROT_EXEC */
	b_u32(b, 2);               /* MAP_PRIVATE */
	put_padded_string(b, file);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_task(struct pw *w, size_t attr, int exit, uint32_t pid,
		uint32_t ppid, uint32_t tid, uint32_t ptid, uint64_t time,
		const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, exit ? PERF_RECORD_EXIT : PERF_RECORD_FORK, 0);

	b_u32(b, pid);
	b_u32(b, ppid);
	b_u32(b, tid);
	b_u32(b, ptid);
	b_u64(b, time);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_lost(struct pw *w, size_t attr, uint64_t id, uint64_t lost,
		const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, PERF_RECORD_LOST, 0);

	b_u64(b, id);
	b_u64(b, lost);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_lost_samples(struct pw *w, size_t attr, uint64_t lost,
		const struct pw_sample *trailer)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, PERF_RECORD_LOST_SAMPLES, 0);

	b_u64(b, lost);
	put_trailer(b, attr_of(w, attr), trailer);
	end_rec(b, start);
}

void pw_finished_round(struct pw *w)
{
	struct buf *b = &w->data;
	size_t start = begin_rec(b, REC_FINISHED_ROUND, 0);

	end_rec(b, start);
}

void pw_raw_record(struct pw *w, const void *rec, size_t size)
{
	b_put(&w->data, rec, size);
}

/* ---- file ------------------------------------------------------------------ */

static void put_attr(struct buf *b, const struct pw_attr *a)
{
	struct buf t = { 0 };

	b_u32(&t, a->type);
	b_u32(&t, a->size);
	b_u64(&t, a->config);
	b_u64(&t, a->sample_period);
	b_u64(&t, a->sample_type);
	b_u64(&t, a->read_format);
	b_u64(&t, a->flags);
	b_u32(&t, 0);                  /* wakeup_events */
	b_u32(&t, 0);                  /* bp_type */
	b_u64(&t, a->config1);
	b_u64(&t, a->config2);
	b_u64(&t, a->branch_sample_type);
	b_u64(&t, a->sample_regs_user);
	b_u32(&t, a->sample_stack_user);
	b_u32(&t, (uint32_t)a->clockid);
	b_u64(&t, a->sample_regs_intr);
	b_zero(&t, 64);
	b_put(b, t.p, a->size);
	free(t.p);
}

static void put_feature(struct buf *out, struct buf *table,
		const struct buf *content)
{
	b_u64(table, 0);   /* offset, patched later */
	b_u64(table, content->n);
	b_put(out, content->p, content->n);
}

/* The feature sections, in bit order; returns how many. */
static int build_features(struct pw *w, size_t attr_size, struct buf *feats,
		int *bits)
{
	int nf = 0;
	size_t i;

	memset(feats, 0, 32 * sizeof(*feats));
	if (w->tracing.n && !w->pipe) {
		/* (pipe mode sends it as a HEADER_TRACING_DATA record) */
		bits[nf] = FEAT_TRACING_DATA;
		b_put(&feats[nf++], w->tracing.p, w->tracing.n);
	}
	if (w->build_ids.n) {
		bits[nf] = FEAT_BUILD_ID;
		b_put(&feats[nf++], w->build_ids.p, w->build_ids.n);
	}
	bits[nf] = FEAT_HOSTNAME;
	b_string(&feats[nf++], w->hostname ? w->hostname : "fixture-host");
	bits[nf] = FEAT_OSRELEASE;
	b_string(&feats[nf++], "6.1.0-fixture");
	bits[nf] = FEAT_VERSION;
	b_string(&feats[nf++], "6.1.192");
	bits[nf] = FEAT_ARCH;
	b_string(&feats[nf++], "x86_64");
	bits[nf] = FEAT_NRCPUS;
	b_u32(&feats[nf], 4);
	b_u32(&feats[nf++], 4);
	bits[nf] = FEAT_CMDLINE;
	b_u32(&feats[nf], 2);
	b_string(&feats[nf], "perf");
	b_string(&feats[nf++], "record");
	bits[nf] = FEAT_EVENT_DESC;
	b_u32(&feats[nf], (uint32_t)w->nr_ev);
	b_u32(&feats[nf], (uint32_t)(attr_size - 16));
	for (i = 0; i < w->nr_ev; i++) {
		struct buf *e = &feats[nf];
		size_t start = e->n, j;

		put_attr(e, &w->ev[i].a);
		b_zero(e, attr_size - 16 - (e->n - start));
		b_u32(e, (uint32_t)w->ev[i].nr_ids);
		b_string(e, w->ev[i].name);
		for (j = 0; j < w->ev[i].nr_ids; j++)
			b_u64(e, w->ev[i].ids[j]);
	}
	nf++;
	if (w->has_clockid) {
		bits[nf] = FEAT_CLOCKID;
		b_u64(&feats[nf++], w->clock_res_ns);
	}
	if (w->compress) {
		bits[nf] = FEAT_COMPRESSED;
		b_u32(&feats[nf], 1);          /* version */
		b_u32(&feats[nf], 1);          /* zstd */
		b_u32(&feats[nf], 1);          /* level */
		b_u32(&feats[nf], 4);          /* ratio */
		b_u32(&feats[nf++], 528384);   /* mmap_len: perf's default */
	}
	if (w->has_clock_data) {
		bits[nf] = FEAT_CLOCK_DATA;
		b_u32(&feats[nf], 1);
		b_u32(&feats[nf], w->cd_clockid);
		b_u64(&feats[nf], w->cd_tod);
		b_u64(&feats[nf++], w->cd_clk);
	}

	return nf;
}

/* Pipe mode: HEADER_ATTR and HEADER_FEATURE records, then the data. */
static unsigned char *build_pipe(struct pw *w, size_t *size)
{
	struct buf f = { 0 };
	struct buf feats[32];
	int bits[32], nf, k;
	size_t attr_size = 0, i;

	for (i = 0; i < w->nr_ev; i++)
		if (w->ev[i].a.size + 16u > attr_size)
			attr_size = w->ev[i].a.size + 16u;
	b_put(&f, "PERFILE2", 8);
	b_u64(&f, 16);
	for (i = 0; i < w->nr_ev; i++) {
		size_t start = begin_rec(&f, 64 /* HEADER_ATTR */, 0), j;

		put_attr(&f, &w->ev[i].a);
		for (j = 0; j < w->ev[i].nr_ids; j++)
			b_u64(&f, w->ev[i].ids[j]);
		end_rec(&f, start);
	}
	if (w->tracing.n) {
		/* HEADER_TRACING_DATA: u32 size, the blob (8-aligned) follows */
		size_t padded = (w->tracing.n + 7) / 8 * 8;
		size_t start = begin_rec(&f, 66, 0);

		b_u32(&f, (uint32_t)padded);
		b_u32(&f, 0);
		end_rec(&f, start);
		b_put(&f, w->tracing.p, w->tracing.n);
		b_zero(&f, padded - w->tracing.n);
	}
	nf = build_features(w, attr_size, feats, bits);
	for (k = 0; k < nf; k++) {
		size_t start = begin_rec(&f, 80 /* HEADER_FEATURE */, 0);

		b_u64(&f, (uint64_t)bits[k]);
		b_put(&f, feats[k].p, feats[k].n);
		/* size = header + id + section, unpadded, as perf writes it */
		set_u16(f.p + start + 6, (uint16_t)(f.n - start));
		free(feats[k].p);
	}
	if (w->compress) {
		struct buf z = { 0 };

		compress_data(&w->data, &z, w->compress);
		b_put(&f, z.p, z.n);
		free(z.p);
	} else {
		b_put(&f, w->data.p, w->data.n);
	}
	*size = f.n;
	return f.p;
}

unsigned char *pw_build(struct pw *w, size_t *size)
{
	struct buf f = { 0 };
	uint64_t *ids_off = xrealloc(NULL, w->nr_ev * sizeof(uint64_t));
	uint64_t attrs_off, data_off, data_size, feat_off, bitmap[4] = { 0 };
	size_t attr_size = 0, i;
	struct buf feats[32];
	int bits[32], nf = 0, k;
	struct buf table = { 0 }, body = { 0 };
	uint64_t body_off;

	if (w->pipe) {
		free(ids_off);
		return build_pipe(w, size);
	}
	for (i = 0; i < w->nr_ev; i++)
		if (w->ev[i].a.size + 16u > attr_size)
			attr_size = w->ev[i].a.size + 16u;

	b_zero(&f, 104);                       /* header, filled at the end */
	for (i = 0; i < w->nr_ev; i++) {
		size_t j;

		ids_off[i] = f.n;
		for (j = 0; j < w->ev[i].nr_ids; j++)
			b_u64(&f, w->ev[i].ids[j]);
	}
	attrs_off = f.n;
	for (i = 0; i < w->nr_ev; i++) {
		size_t start = f.n;

		put_attr(&f, &w->ev[i].a);
		b_zero(&f, attr_size - 16 - (f.n - start));
		b_u64(&f, ids_off[i]);
		b_u64(&f, w->ev[i].nr_ids * 8);
	}
	data_off = f.n;
	if (w->compress) {
		struct buf z = { 0 };

		compress_data(&w->data, &z, w->compress);
		b_put(&f, z.p, z.n);
		data_size = z.n;
		free(z.p);
	} else {
		b_put(&f, w->data.p, w->data.n);
		data_size = w->data.n;
	}

	nf = build_features(w, attr_size, feats, bits);

	feat_off = f.n;
	for (k = 0; k < nf; k++) {
		bitmap[bits[k] / 64] |= 1ULL << (bits[k] % 64);
		put_feature(&body, &table, &feats[k]);
		free(feats[k].p);
	}
	body_off = feat_off + table.n;
	{
		uint64_t off = body_off;

		for (k = 0; k < nf; k++) {
			unsigned char *e = table.p + 16 * (size_t)k;
			uint64_t sz = 0;
			int byte;

			for (byte = 7; byte >= 0; byte--)
				sz = sz << 8 | e[8 + byte];
			for (byte = 0; byte < 8; byte++)
				e[byte] = (unsigned char)(off >> (8 * byte));
			off += sz;
		}
	}
	b_put(&f, table.p, table.n);
	b_put(&f, body.p, body.n);
	free(table.p);
	free(body.p);

	/* header */
	{
		struct buf h = { 0 };

		b_put(&h, "PERFILE2", 8);
		b_u64(&h, 104);
		b_u64(&h, attr_size);
		b_u64(&h, attrs_off);
		b_u64(&h, w->nr_ev * attr_size);
		b_u64(&h, data_off);
		b_u64(&h, data_size);
		b_u64(&h, 0);   /* event_types: unused */
		b_u64(&h, 0);
		for (k = 0; k < 4; k++)
			b_u64(&h, bitmap[k]);
		memcpy(f.p, h.p, 104);
		free(h.p);
	}
	free(ids_off);
	*size = f.n;
	return f.p;
}

int pw_write(struct pw *w, const char *path)
{
	size_t n;
	unsigned char *p = pw_build(w, &n);
	FILE *fp = fopen(path, "wb");
	int ret = 0;

	if (!fp) {
		free(p);
		return -1;
	}
	if (fwrite(p, 1, n, fp) != n)
		ret = -1;
	if (fclose(fp) != 0)
		ret = -1;
	free(p);
	return ret;
}
