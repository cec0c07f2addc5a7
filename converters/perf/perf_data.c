/*
 * perf_data — perf.data reader.  See perf_data.h and doc/perf-data.md.
 *
 * The file is mapped read-only; every access goes through a bounds check
 * against the mapping (or a sub-range of it) and memcpy, so neither a short
 * file nor an unaligned field is undefined behaviour.
 */
#include "perf_data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define FILE_HEADER_SIZE 104u   /* struct perf_file_header */
#define PIPE_HEADER_SIZE 16u
#define ATTR_SIZE_VER0   64u
#define ATTR_SIZE_MAX    4096u  /* far above any kernel's perf_event_attr */
#define FILE_SECTION_SIZE 16u
#define EVENT_HEADER_SIZE 8u
#define DEFAULT_WINDOW_CAP ((size_t)1 << 20)

/* "PERFILE2" as stored by a little-endian writer, read byte by byte. */
static const unsigned char magic_le[8] = { 'P', 'E', 'R', 'F', 'I', 'L', 'E', '2' };
static const unsigned char magic_be[8] = { '2', 'E', 'L', 'I', 'F', 'R', 'E', 'P' };
static const unsigned char magic_v1[8] = { 'P', 'E', 'R', 'F', 'F', 'I', 'L', 'E' };

struct id_entry {
	uint64_t id;
	size_t attr;
};

/*
 * Decompressed data (perf record -z): a COMPRESSED record holds part of a
 * zstd stream whose decompressed bytes are ordinary records; a record may
 * straddle two COMPRESSED records.  Each COMPRESSED record's output (with
 * the unread tail of the previous one in front) becomes a chunk; queued
 * records keep their chunk alive.
 */
struct chunk {
	size_t refs;
	size_t size;
	size_t *live;               /* the file's count of live chunk bytes */
	uint64_t file_off;          /* of the COMPRESSED record */
	unsigned char data[];
};

static void chunk_put(struct chunk *c)
{
	if (c && --c->refs == 0) {
		*c->live -= c->size;
		free(c);
	}
}

struct queued {
	uint64_t ts;
	uint64_t seq;
	uint64_t off;               /* in the file, or in chunk */
	struct chunk *chunk;        /* decompressed data holding the record
				       (one reference), NULL: the file */
	bool real;
	bool clamped;
};

struct mpa_perf_file {
	const unsigned char *map;   /* whole file (owned when owns_map) */
	size_t size;
	bool owns_map;
	unsigned flags;

	int status;                 /* sticky error, 0 if none */
	char err[320];

	struct mpa_perf_attr *attrs; /* nr_attrs (owned by this) */
	size_t nr_attrs;
	char **names;               /* attr names (owned by this) */
	uint64_t **ids;             /* per attr id arrays (owned by this) */
	struct id_entry *idmap;     /* sorted by id (owned by this) */
	size_t nr_idmap;
	int sample_id_pos;          /* u64 index in a SAMPLE body, -1: none,
				       -2: attrs disagree */
	int trailer_id_pos;         /* u64 index from the record end, idem */
	bool sample_id_all;

	struct mpa_perf_info info;
	char *strs[16];             /* feature strings (owned by this) */
	size_t nr_strs;
	struct mpa_perf_build_id *bids; /* (owned by this) */
	char **bid_names;
	size_t nr_bids, cap_bids;
	bool pipe;                  /* pipe-mode file (perf record -o -) */
	struct mpa_perf_tp_format *tps; /* tracepoint formats (owned by this) */
	size_t nr_tps;

	uint64_t data_off, data_end, pos;

	/* Ordering: a binary min-heap on (ts, seq). */
	struct queued *heap;        /* (owned by this) */
	size_t heap_n, heap_cap;
	size_t window_cap;
	uint64_t seq;
	uint64_t max_ts_seen;       /* over all real times scanned */
	uint64_t round_max;         /* max_ts_seen at the previous round end */
	uint64_t flush_limit;       /* records up to this time may go out */
	bool have_limit;
	bool eof;
	bool scan_failed;           /* f->status set while reading ahead */
	uint64_t last_emitted;
	bool any_emitted;

	/* Compressed data (perf record -z). */
	uint32_t comp_type;         /* HEADER_COMPRESSED type; 1 = zstd */
	ZSTD_DStream *zds;          /* (owned by this) */
	struct chunk *cur;          /* being scanned (one reference) */
	size_t cur_pos;
	struct chunk *held;         /* of the last returned record (one ref) */
	size_t chunk_bytes;         /* decompressed bytes held in memory */

	struct mpa_perf_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

static int set_err(struct mpa_perf_file *f, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct mpa_perf_file *f, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	f->status = status;
	return status;
}

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint64_t mpa_perf_u64_at(const unsigned char *p, uint64_t i)
{
	return rd64(p + 8 * i);
}

/* A bounded reader over [p, end). */
struct cur {
	const unsigned char *p, *end;
	bool bad;
};

static bool cur_has(struct cur *c, uint64_t n)
{
	if (c->bad || (uint64_t)(c->end - c->p) < n) {
		c->bad = true;
		return false;
	}
	return true;
}

/* Consumes n bytes: returns their start, or NULL (and marks c bad) when
 * fewer remain. */
static const unsigned char *cur_take(struct cur *c, uint64_t n)
{
	const unsigned char *p = c->p;

	if (!cur_has(c, n))
		return NULL;
	c->p += n;
	return p;
}

static uint64_t cur_u64(struct cur *c)
{
	const unsigned char *p = cur_take(c, 8);

	return p ? rd64(p) : 0;
}

static uint32_t cur_u32(struct cur *c)
{
	const unsigned char *p = cur_take(c, 4);

	return p ? rd32(p) : 0;
}

static void cur_skip(struct cur *c, uint64_t n)
{
	cur_take(c, n);
}

/* Skips n u64 values, refusing counts that cannot fit. */
static void cur_skip_u64s(struct cur *c, uint64_t n)
{
	if (c->bad)
		return;
	if (n > (uint64_t)(c->end - c->p) / 8) {
		c->bad = true;
		return;
	}
	c->p += 8 * n;
}

static unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/* perf's string encoding in feature sections: u32 len, then len bytes
 * holding a NUL-terminated string (padded). Returns a malloc'd copy. */
static char *cur_string(struct cur *c, bool *nomem)
{
	uint32_t len = cur_u32(c);
	const unsigned char *s;
	const unsigned char *nul;
	char *copy;

	if (!cur_has(c, len))
		return NULL;
	s = c->p;
	nul = memchr(s, 0, len);
	if (!nul) {
		c->bad = true;
		return NULL;
	}
	c->p += len;
	copy = strdup((const char *)s);
	if (!copy)
		*nomem = true;
	return copy;
}

const char *mpa_perf_record_type_name(uint32_t type)
{
	static const char *const names[] = {
		[MPA_PERF_RECORD_MMAP] = "MMAP",
		[MPA_PERF_RECORD_LOST] = "LOST",
		[MPA_PERF_RECORD_COMM] = "COMM",
		[MPA_PERF_RECORD_EXIT] = "EXIT",
		[MPA_PERF_RECORD_THROTTLE] = "THROTTLE",
		[MPA_PERF_RECORD_UNTHROTTLE] = "UNTHROTTLE",
		[MPA_PERF_RECORD_FORK] = "FORK",
		[MPA_PERF_RECORD_READ] = "READ",
		[MPA_PERF_RECORD_SAMPLE] = "SAMPLE",
		[MPA_PERF_RECORD_MMAP2] = "MMAP2",
		[MPA_PERF_RECORD_AUX] = "AUX",
		[MPA_PERF_RECORD_ITRACE_START] = "ITRACE_START",
		[MPA_PERF_RECORD_LOST_SAMPLES] = "LOST_SAMPLES",
		[MPA_PERF_RECORD_SWITCH] = "SWITCH",
		[MPA_PERF_RECORD_SWITCH_CPU_WIDE] = "SWITCH_CPU_WIDE",
		[MPA_PERF_RECORD_NAMESPACES] = "NAMESPACES",
		[MPA_PERF_RECORD_KSYMBOL] = "KSYMBOL",
		[MPA_PERF_RECORD_BPF_EVENT] = "BPF_EVENT",
		[MPA_PERF_RECORD_CGROUP] = "CGROUP",
		[MPA_PERF_RECORD_TEXT_POKE] = "TEXT_POKE",
		[21] = "AUX_OUTPUT_HW_ID",
		[MPA_PERF_RECORD_HEADER_ATTR] = "HEADER_ATTR",
		[65] = "HEADER_EVENT_TYPE",
		[MPA_PERF_RECORD_HEADER_TRACING_DATA] = "HEADER_TRACING_DATA",
		[MPA_PERF_RECORD_HEADER_BUILD_ID] = "HEADER_BUILD_ID",
		[MPA_PERF_RECORD_FINISHED_ROUND] = "FINISHED_ROUND",
		[MPA_PERF_RECORD_ID_INDEX] = "ID_INDEX",
		[MPA_PERF_RECORD_AUXTRACE_INFO] = "AUXTRACE_INFO",
		[MPA_PERF_RECORD_AUXTRACE] = "AUXTRACE",
		[72] = "AUXTRACE_ERROR",
		[73] = "THREAD_MAP",
		[74] = "CPU_MAP",
		[75] = "STAT_CONFIG",
		[76] = "STAT",
		[77] = "STAT_ROUND",
		[78] = "EVENT_UPDATE",
		[79] = "TIME_CONV",
		[80] = "HEADER_FEATURE",
		[MPA_PERF_RECORD_COMPRESSED] = "COMPRESSED",
		[MPA_PERF_RECORD_FINISHED_INIT] = "FINISHED_INIT",
		[MPA_PERF_RECORD_COMPRESSED2] = "COMPRESSED2",
	};

	if (type >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[type];
}

void mpa_perf_build_id_hex(const uint8_t *id, size_t size, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < size; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * size] = '\0';
}

/* ---- attrs ---------------------------------------------------------------- */

static size_t trailer_size(const struct mpa_perf_attr *a)
{
	static const uint64_t bits = MPA_PERF_SAMPLE_TID | MPA_PERF_SAMPLE_TIME |
		MPA_PERF_SAMPLE_ID | MPA_PERF_SAMPLE_STREAM_ID |
		MPA_PERF_SAMPLE_CPU | MPA_PERF_SAMPLE_IDENTIFIER;

	if (!a->sample_id_all)
		return 0;
	return 8 * (size_t)popcount64(a->sample_type & bits);
}

static int sample_id_pos(uint64_t st)
{
	if (st & MPA_PERF_SAMPLE_IDENTIFIER)
		return 0;
	if (!(st & MPA_PERF_SAMPLE_ID))
		return -1;
	return (int)popcount64(st & (MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID |
		MPA_PERF_SAMPLE_TIME | MPA_PERF_SAMPLE_ADDR));
}

static int trailer_id_pos(uint64_t st)
{
	if (st & MPA_PERF_SAMPLE_IDENTIFIER)
		return 1;
	if (!(st & MPA_PERF_SAMPLE_ID))
		return -1;
	return 1 + (int)popcount64(st & (MPA_PERF_SAMPLE_STREAM_ID |
		MPA_PERF_SAMPLE_CPU));
}

/* Decodes a perf_event_attr of `sz` bytes at p (sz already validated to be
 * >= ATTR_SIZE_VER0); fields beyond sz stay zero. */
static void decode_attr(const unsigned char *p, size_t sz, struct mpa_perf_attr *a)
{
	unsigned char buf[128];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, p, sz < sizeof(buf) ? sz : sizeof(buf));
	memset(a, 0, sizeof(*a));
	a->type = rd32(buf);
	a->size = rd32(buf + 4);
	a->config = rd64(buf + 8);
	a->sample_period = rd64(buf + 16);
	a->sample_type = rd64(buf + 24);
	a->read_format = rd64(buf + 32);
	a->flags = rd64(buf + 40);
	a->config1 = rd64(buf + 56);
	a->config2 = rd64(buf + 64);
	a->branch_sample_type = rd64(buf + 72);
	a->sample_regs_user = rd64(buf + 80);
	a->sample_stack_user = rd32(buf + 88);
	a->clockid = (int32_t)rd32(buf + 92);
	a->sample_regs_intr = rd64(buf + 96);
	a->sample_id_all = (a->flags & MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL) != 0;
	a->id_hdr_size = trailer_size(a);
}

static int cmp_id(const void *a, const void *b)
{
	const struct id_entry *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->attr < y->attr ? -1 : x->attr > y->attr;
}

static const char *default_name(const struct mpa_perf_attr *a)
{
	static const char *const hw[] = {
		"cycles", "instructions", "cache-references", "cache-misses",
		"branches", "branch-misses", "bus-cycles",
		"stalled-cycles-frontend", "stalled-cycles-backend",
		"ref-cycles",
	};
	static const char *const sw[] = {
		"cpu-clock", "task-clock", "page-faults", "context-switches",
		"cpu-migrations", "minor-faults", "major-faults",
		"alignment-faults", "emulation-faults", "dummy", "bpf-output",
		"cgroup-switches",
	};

	if (a->type == MPA_PERF_TYPE_HARDWARE &&
			a->config < sizeof(hw) / sizeof(hw[0]))
		return hw[a->config];
	if (a->type == MPA_PERF_TYPE_SOFTWARE &&
			a->config < sizeof(sw) / sizeof(sw[0]))
		return sw[a->config];
	return NULL;
}

/* Adds an event: its perf_event_attr (asz bytes, validated by the caller)
 * and nr_ids sample ids at `ids`. */
static int add_attr(struct mpa_perf_file *f, const unsigned char *p,
		uint32_t asz, const unsigned char *ids, size_t nr_ids)
{
	size_t i = f->nr_attrs, j;
	struct mpa_perf_attr *na;
	char **nn;
	uint64_t **ni;
	struct mpa_perf_attr *a;

	if (i >= 4096)
		return set_err(f, MPA_PERF_ERR_FORMAT, "more than 4096 events");
	na = realloc(f->attrs, (i + 1) * sizeof(*na));
	if (!na)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	f->attrs = na;
	nn = realloc(f->names, (i + 1) * sizeof(*nn));
	if (!nn)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	f->names = nn;
	ni = realloc(f->ids, (i + 1) * sizeof(*ni));
	if (!ni)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	f->ids = ni;
	f->names[i] = NULL;
	f->ids[i] = NULL;
	f->nr_attrs++;
	a = &f->attrs[i];
	decode_attr(p, asz, a);
	a->size = asz;
	if (a->sample_type & ~MPA_PERF_SAMPLE_KNOWN_MASK)
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"attr %zu: unknown sample_type bits 0x%llx", i,
			(unsigned long long)(a->sample_type & ~MPA_PERF_SAMPLE_KNOWN_MASK));
	a->nr_ids = nr_ids;
	if (nr_ids) {
		f->ids[i] = malloc(nr_ids * sizeof(uint64_t));
		if (!f->ids[i])
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		for (j = 0; j < nr_ids; j++)
			f->ids[i][j] = rd64(ids + 8 * j);
	}
	f->nr_idmap += nr_ids;
	return 0;
}

/* Once every event is known: the id map and how records name their event. */
static int finish_attrs(struct mpa_perf_file *f)
{
	size_t i, k, n = f->nr_attrs;

	if (n == 0)
		return set_err(f, MPA_PERF_ERR_FORMAT, "header: no event (empty attrs section)");
	for (i = 0; i < n; i++)
		f->attrs[i].ids = f->ids[i];
	f->idmap = calloc(f->nr_idmap ? f->nr_idmap : 1, sizeof(*f->idmap));
	if (!f->idmap)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	for (i = 0, k = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < f->attrs[i].nr_ids; j++) {
			f->idmap[k].id = f->ids[i][j];
			f->idmap[k].attr = i;
			k++;
		}
	}
	qsort(f->idmap, f->nr_idmap, sizeof(*f->idmap), cmp_id);

	f->sample_id_all = f->attrs[0].sample_id_all;
	f->sample_id_pos = sample_id_pos(f->attrs[0].sample_type);
	f->trailer_id_pos = trailer_id_pos(f->attrs[0].sample_type);
	for (i = 1; i < n; i++) {
		if (f->attrs[i].sample_id_all != f->sample_id_all)
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"attr %zu: sample_id_all differs from attr 0", i);
		if (sample_id_pos(f->attrs[i].sample_type) != f->sample_id_pos)
			f->sample_id_pos = -2;
		if (trailer_id_pos(f->attrs[i].sample_type) != f->trailer_id_pos)
			f->trailer_id_pos = -2;
	}
	if (n > 1 && (f->sample_id_pos < 0 ||
			(f->sample_id_all && f->trailer_id_pos < 0)))
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: %zu events whose records cannot be told apart (no common sample id position)",
			n);

	f->info.clockid = (f->attrs[0].flags & MPA_PERF_ATTR_FLAG_USE_CLOCKID) ?
		f->attrs[0].clockid : -1;
	return 0;
}

static int read_attrs(struct mpa_perf_file *f, uint64_t attr_size,
		uint64_t off, uint64_t size)
{
	size_t i, n;
	int ret;

	if (attr_size < ATTR_SIZE_VER0 + FILE_SECTION_SIZE ||
			attr_size > ATTR_SIZE_MAX + FILE_SECTION_SIZE)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: attr entry size %llu out of range [%u, %u]",
			(unsigned long long)attr_size,
			ATTR_SIZE_VER0 + FILE_SECTION_SIZE,
			ATTR_SIZE_MAX + FILE_SECTION_SIZE);
	if (off > f->size || size > f->size - off)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: attrs section [%llu, +%llu) beyond end of file (%zu bytes)",
			(unsigned long long)off, (unsigned long long)size, f->size);
	if (size % attr_size != 0)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: attrs section size %llu is not a multiple of the entry size %llu",
			(unsigned long long)size, (unsigned long long)attr_size);
	n = (size_t)(size / attr_size);

	for (i = 0; i < n; i++) {
		const unsigned char *e = f->map + off + i * attr_size;
		uint32_t asz = rd32(e + 4);
		uint64_t ids_off, ids_size;

		if (asz == 0)
			asz = ATTR_SIZE_VER0;
		if (asz < ATTR_SIZE_VER0 || asz > attr_size - FILE_SECTION_SIZE)
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"attr %zu: size %u out of range [%u, %llu]", i,
				asz, ATTR_SIZE_VER0,
				(unsigned long long)(attr_size - FILE_SECTION_SIZE));
		ids_off = rd64(e + attr_size - FILE_SECTION_SIZE);
		ids_size = rd64(e + attr_size - FILE_SECTION_SIZE + 8);
		if (ids_off > f->size || ids_size > f->size - ids_off || ids_size % 8)
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"attr %zu: ids section [%llu, +%llu) invalid for a file of %zu bytes",
				i, (unsigned long long)ids_off,
				(unsigned long long)ids_size, f->size);
		ret = add_attr(f, e, asz, f->map + ids_off, (size_t)(ids_size / 8));
		if (ret < 0)
			return ret;
	}
	return finish_attrs(f);
}

static const struct mpa_perf_attr *attr_by_id(const struct mpa_perf_file *f,
		uint64_t id)
{
	size_t lo = 0, hi = f->nr_idmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->idmap[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->nr_idmap && f->idmap[lo].id == id)
		return &f->attrs[f->idmap[lo].attr];
	return NULL;
}

/* ---- feature sections ----------------------------------------------------- */

static int keep_str(struct mpa_perf_file *f, char *s, const char **dst)
{
	if (f->nr_strs == sizeof(f->strs) / sizeof(f->strs[0])) {
		free(s);
		return 0;
	}
	f->strs[f->nr_strs++] = s;
	*dst = s;
	return 0;
}

static int feat_string(struct mpa_perf_file *f, struct cur *c, const char **dst)
{
	bool nomem = false;
	char *s = cur_string(c, &nomem);

	if (nomem)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	if (!s)
		return 0;   /* c->bad reports it */
	return keep_str(f, s, dst);
}

static int feat_cmdline(struct mpa_perf_file *f, struct cur *c)
{
	uint32_t nr = cur_u32(c), i;
	size_t len = 0;
	char *out = NULL;

	if (c->bad || nr > (uint64_t)(c->end - c->p) / 4) {
		c->bad = true;
		return 0;
	}
	for (i = 0; i < nr; i++) {
		bool nomem = false;
		char *s = cur_string(c, &nomem);
		size_t sl;
		char *grown;

		if (nomem) {
			free(out);
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		}
		if (!s)
			break;
		sl = strlen(s);
		grown = realloc(out, len + sl + 2);
		if (!grown) {
			free(s);
			free(out);
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		}
		out = grown;
		if (len)
			out[len++] = ' ';
		memcpy(out + len, s, sl + 1);
		len += sl;
		free(s);
	}
	if (c->bad) {
		free(out);
		return 0;
	}
	if (!out && !(out = strdup("")))
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	return keep_str(f, out, &f->info.cmdline);
}

static int feat_event_desc(struct mpa_perf_file *f, struct cur *c)
{
	uint32_t nre = cur_u32(c), sz = cur_u32(c), i;

	if (c->bad)
		return 0;
	if (sz < ATTR_SIZE_VER0 || sz > ATTR_SIZE_MAX) {
		c->bad = true;
		return 0;
	}
	if (nre > (uint64_t)(c->end - c->p) / sz) {
		c->bad = true;
		return 0;
	}
	for (i = 0; i < nre; i++) {
		struct mpa_perf_attr da;
		uint32_t nr_ids;
		bool nomem = false;
		char *name;
		size_t target = (size_t)-1;

		if (!cur_has(c, sz))
			return 0;
		decode_attr(c->p, sz, &da);
		c->p += sz;
		nr_ids = cur_u32(c);
		name = cur_string(c, &nomem);
		if (nomem)
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		if (!name)
			return 0;
		if (nr_ids > (uint64_t)(c->end - c->p) / 8) {
			free(name);
			c->bad = true;
			return 0;
		}
		if (nr_ids > 0) {
			const struct mpa_perf_attr *a =
				attr_by_id(f, rd64(c->p));

			if (a)
				target = (size_t)(a - f->attrs);
		}
		if (target == (size_t)-1 && i < f->nr_attrs &&
				f->attrs[i].type == da.type &&
				f->attrs[i].config == da.config)
			target = i;
		c->p += 8 * (size_t)nr_ids;
		if (target != (size_t)-1 && !f->names[target]) {
			f->names[target] = name;
			f->attrs[target].name = name;
		} else {
			free(name);
		}
	}
	return 0;
}

static int feat_build_ids(struct mpa_perf_file *f, struct cur *c)
{
	while (c->p < c->end) {
		uint16_t misc, size;
		const unsigned char *r = c->p, *nul;
		struct mpa_perf_build_id *b;

		if (!cur_has(c, EVENT_HEADER_SIZE + 4 + 24))
			return 0;
		misc = rd16(r + 4);
		size = rd16(r + 6);
		if (size < EVENT_HEADER_SIZE + 4 + 24 + 1 || !cur_has(c, size)) {
			c->bad = true;
			return 0;
		}
		nul = memchr(r + 36, 0, size - 36u);
		if (!nul) {
			c->bad = true;
			return 0;
		}
		if (f->nr_bids == f->cap_bids) {
			size_t ncap = f->cap_bids ? 2 * f->cap_bids : 16;
			void *nb = realloc(f->bids, ncap * sizeof(*f->bids));
			void *nn;

			if (!nb)
				return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
			f->bids = nb;
			nn = realloc(f->bid_names, ncap * sizeof(*f->bid_names));
			if (!nn)
				return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
			f->bid_names = nn;
			f->cap_bids = ncap;
		}
		b = &f->bids[f->nr_bids];
		memset(b, 0, sizeof(*b));
		b->pid = (int32_t)rd32(r + 8);
		b->size = MPA_PERF_BUILD_ID_MAX;
		if (misc & MPA_PERF_MISC_BUILD_ID_SIZE) {
			b->size = r[12 + 20];
			if (b->size > MPA_PERF_BUILD_ID_MAX) {
				c->bad = true;
				return 0;
			}
		}
		memcpy(b->build_id, r + 12, b->size);
		f->bid_names[f->nr_bids] = strdup((const char *)(r + 36));
		if (!f->bid_names[f->nr_bids])
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		b->filename = f->bid_names[f->nr_bids];
		f->nr_bids++;
		c->p += size;
	}
	return 0;
}

/* ---- tracing data (tracepoint formats) ------------------------------------------ */

/*
 * HEADER_TRACING_DATA holds what perf copied from tracefs: a magic, version,
 * endianness, sizes, then the header_page and header_event texts, the
 * ftrace formats, and per system the formats of its events, then kallsyms,
 * printk formats (and saved cmdlines).  Only the event formats are used:
 *
 *   name: kmalloc
 *   ID: 658
 *   format:
 *   	field:unsigned long call_site;	offset:8;	size:8;	signed:0;
 *   ...
 */
static const unsigned char tracing_magic[10] = {
	0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g',
};

/* Copies [p, p + n) as a C string (malloc'd). */
static char *strndup_trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return strndup(p, n);
}

/* Value of "key:VALUE;" in [p, end), or NULL. */
static const char *tp_key(const char *p, const char *end, const char *key,
		size_t *len)
{
	size_t kl = strlen(key);
	const char *q;

	for (q = p; q + kl < end; q++) {
		if (memcmp(q, key, kl) == 0 && (q == p || q[-1] == '\t' ||
				q[-1] == ' ' || q[-1] == ';' || q[-1] == '\n')) {
			const char *v = q + kl, *e = memchr(v, ';', (size_t)(end - v));

			if (!e)
				return NULL;
			*len = (size_t)(e - v);
			return v;
		}
	}
	return NULL;
}

static int tp_parse_field(const char *line, const char *end,
		struct mpa_perf_tp_field *fd)
{
	const char *decl, *v;
	size_t dl, vl;
	char num[24];
	const char *nm, *nm_end;
	bool array, data_loc, is_char;

	decl = tp_key(line, end, "field:", &dl);
	if (!decl)
		return 1;   /* not a field line */
	memset(fd, 0, sizeof(*fd));
	v = tp_key(line, end, "offset:", &vl);
	if (!v || vl == 0 || vl >= sizeof(num))
		return -1;
	memcpy(num, v, vl);
	num[vl] = '\0';
	fd->offset = (uint32_t)strtoul(num, NULL, 10);
	v = tp_key(line, end, "size:", &vl);
	if (!v || vl == 0 || vl >= sizeof(num))
		return -1;
	memcpy(num, v, vl);
	num[vl] = '\0';
	fd->size = (uint32_t)strtoul(num, NULL, 10);
	v = tp_key(line, end, "signed:", &vl);
	fd->is_signed = v && vl && *v == '1';

	/* the name is the last identifier of the declaration, before [N] */
	nm_end = decl + dl;
	while (nm_end > decl && (nm_end[-1] == ' ' || nm_end[-1] == '\t'))
		nm_end--;
	array = nm_end > decl && nm_end[-1] == ']';
	if (array) {
		while (nm_end > decl && nm_end[-1] != '[')
			nm_end--;
		if (nm_end > decl)
			nm_end--;   /* the '[' */
	}
	nm = nm_end;
	while (nm > decl && (nm[-1] == '_' || (nm[-1] >= '0' && nm[-1] <= '9') ||
			(nm[-1] >= 'a' && nm[-1] <= 'z') || (nm[-1] >= 'A' && nm[-1] <= 'Z')))
		nm--;
	if (nm == nm_end)
		return -1;
	fd->name = strndup(nm, (size_t)(nm_end - nm));
	if (!fd->name)
		return -2;
	data_loc = dl >= 10 && memcmp(decl, "__data_loc", 10) == 0;
	is_char = memmem(decl, (size_t)(nm - decl), "char", 4) != NULL;
	if (data_loc)
		fd->kind = is_char && fd->size == 4 ? MPA_PERF_TP_DATA_LOC : MPA_PERF_TP_OTHER;
	else if (array)
		fd->kind = is_char ? MPA_PERF_TP_STRING : MPA_PERF_TP_OTHER;
	else if (fd->size == 1 || fd->size == 2 || fd->size == 4 || fd->size == 8)
		fd->kind = MPA_PERF_TP_INT;
	else
		fd->kind = MPA_PERF_TP_OTHER;
	return 0;
}

/* One event format text; adds it to f->tps.  Malformed text is an error. */
static int tp_parse_format(struct mpa_perf_file *f, const char *sys,
		const char *p, size_t n, uint64_t off)
{
	const char *end = p + n, *line, *v;
	struct mpa_perf_tp_format *t, *nt;
	struct mpa_perf_tp_field *fields = NULL;
	size_t nf = 0, vl;
	char num[24];
	int ret;

	nt = realloc(f->tps, (f->nr_tps + 1) * sizeof(*nt));
	if (!nt)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	f->tps = nt;
	t = &f->tps[f->nr_tps];
	memset(t, 0, sizeof(*t));
	f->nr_tps++;
	t->system = strdup(sys);
	v = tp_key(p, end, "name:", &vl);
	if (v) {
		const char *nl = memchr(v, '\n', (size_t)(end - v));

		vl = nl ? (size_t)(nl - v) : (size_t)(end - v);
		t->name = strndup_trim(v, vl);
	}
	v = tp_key(p, end, "ID:", &vl);
	if (!t->system || !t->name)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"feature TRACING_DATA at offset %llu: event format without a name",
			(unsigned long long)off);
	if (v) {
		const char *nl = memchr(v, '\n', (size_t)(end - v));

		vl = nl ? (size_t)(nl - v) : 0;
		if (vl == 0 || vl >= sizeof(num))
			v = NULL;
		else {
			memcpy(num, v, vl);
			num[vl] = '\0';
			t->id = strtoull(num, NULL, 10);
		}
	}
	if (!v)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"feature TRACING_DATA at offset %llu: event '%s:%s' has no ID",
			(unsigned long long)off, t->system, t->name);
	for (line = p; line < end; ) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		struct mpa_perf_tp_field fd;

		ret = tp_parse_field(line, le, &fd);
		if (ret == -2)
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		if (ret < 0)
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"feature TRACING_DATA at offset %llu: event '%s:%s': bad field line",
				(unsigned long long)off, t->system, t->name);
		if (ret == 0) {
			struct mpa_perf_tp_field *g;

			if (nf == 1024) {
				free((char *)fd.name);
				break;
			}
			g = realloc(fields, (nf + 1) * sizeof(*g));
			if (!g) {
				free((char *)fd.name);
				return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
			}
			fields = g;
			fields[nf++] = fd;
			t->fields = fields;
			t->nr_fields = nf;
		}
		line = le + 1;
	}
	return 0;
}

static uint64_t td_u(struct cur *c, unsigned n)
{
	return n == 8 ? cur_u64(c) : cur_u32(c);
}

/* A block: n-byte size, then that many bytes; returns its start or NULL. */
static const unsigned char *td_block(struct cur *c, unsigned n, uint64_t *size)
{
	*size = td_u(c, n);
	return cur_take(c, *size);
}

static int parse_tracing_data(struct mpa_perf_file *f, const unsigned char *p,
		uint64_t size, uint64_t off)
{
	struct cur c = { p, p + size, false };
	const unsigned char *nul;
	uint64_t n, len;
	uint32_t nsys, nev, i, j;
	int ret;

	if (!cur_has(&c, sizeof(tracing_magic)) ||
			memcmp(c.p, tracing_magic, sizeof(tracing_magic)) != 0)
		goto bad;
	c.p += sizeof(tracing_magic);
	nul = memchr(c.p, 0, (size_t)(c.end - c.p));
	if (!nul)
		goto bad;
	c.p = nul + 1;                       /* version "0.5" / "0.6" */
	if (!cur_has(&c, 2))
		goto bad;
	if (c.p[0] != 0)
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"feature TRACING_DATA at offset %llu: big-endian tracing data",
			(unsigned long long)off);
	c.p += 2;                            /* endianness, long size */
	cur_u32(&c);                         /* page size */
	for (i = 0; i < 2; i++) {            /* header_page, header_event */
		nul = c.bad ? NULL : memchr(c.p, 0, (size_t)(c.end - c.p));
		if (!nul)
			goto bad;
		c.p = nul + 1;
		if (!td_block(&c, 8, &len))
			goto bad;
	}
	n = cur_u32(&c);                     /* ftrace formats */
	for (i = 0; i < n && !c.bad; i++)
		if (!td_block(&c, 8, &len))
			goto bad;
	nsys = cur_u32(&c);
	for (i = 0; i < nsys && !c.bad; i++) {
		const char *sys;

		nul = memchr(c.p, 0, (size_t)(c.end - c.p));
		if (!nul)
			goto bad;
		sys = (const char *)c.p;
		c.p = nul + 1;
		nev = cur_u32(&c);
		for (j = 0; j < nev && !c.bad; j++) {
			const unsigned char *fmt = td_block(&c, 8, &len);

			if (!fmt)
				goto bad;
			ret = tp_parse_format(f, sys, (const char *)fmt, (size_t)len, off);
			if (ret < 0)
				return ret;
		}
	}
	if (c.bad)
		goto bad;
	/* kallsyms, printk formats, saved cmdlines: not needed */
	return 0;

bad:
	return set_err(f, MPA_PERF_ERR_FORMAT,
		"feature TRACING_DATA at offset %llu (%llu bytes) is truncated or malformed",
		(unsigned long long)off, (unsigned long long)size);
}

/* Ties PERF_TYPE_TRACEPOINT events to their formats. */
static void link_tracepoints(struct mpa_perf_file *f)
{
	size_t i, k;

	for (i = 0; i < f->nr_attrs; i++) {
		if (f->attrs[i].type != MPA_PERF_TYPE_TRACEPOINT)
			continue;
		for (k = 0; k < f->nr_tps; k++)
			if (f->tps[k].id == f->attrs[i].config) {
				f->attrs[i].tp = &f->tps[k];
				break;
			}
	}
}

int mpa_perf_tp_int(const struct mpa_perf_sample *s,
		const struct mpa_perf_tp_field *fd, uint64_t *v)
{
	const unsigned char *p;
	uint64_t x;

	if (fd->kind != MPA_PERF_TP_INT || !s->raw ||
			fd->offset > s->raw_size || fd->size > s->raw_size - fd->offset)
		return -1;
	p = s->raw + fd->offset;
	switch (fd->size) {
	case 1:
		x = p[0];
		if (fd->is_signed)
			x = (uint64_t)(int64_t)(int8_t)x;
		break;
	case 2:
		x = rd16(p);
		if (fd->is_signed)
			x = (uint64_t)(int64_t)(int16_t)x;
		break;
	case 4:
		x = rd32(p);
		if (fd->is_signed)
			x = (uint64_t)(int64_t)(int32_t)x;
		break;
	default:
		x = rd64(p);
		break;
	}
	*v = x;
	return 0;
}

int mpa_perf_tp_str(const struct mpa_perf_sample *s,
		const struct mpa_perf_tp_field *fd, const char **str, size_t *len)
{
	uint32_t o, n, loc;
	const unsigned char *nul;

	if (!s->raw || fd->offset > s->raw_size || fd->size > s->raw_size - fd->offset)
		return -1;
	if (fd->kind == MPA_PERF_TP_STRING) {
		o = fd->offset;
		n = fd->size;
	} else if (fd->kind == MPA_PERF_TP_DATA_LOC) {
		loc = rd32(s->raw + fd->offset);
		o = loc & 0xffff;
		n = loc >> 16;
		if (o > s->raw_size || n > s->raw_size - o)
			return -1;
	} else {
		return -1;
	}
	nul = memchr(s->raw + o, 0, n);
	*str = (const char *)(s->raw + o);
	*len = nul ? (size_t)(nul - (s->raw + o)) : n;
	return 0;
}

/* One feature section, [p, p + size) at file offset off. */
static int parse_feature(struct mpa_perf_file *f, unsigned bit,
		const unsigned char *p, uint64_t size, uint64_t off)
{
	struct cur c;
	int ret = 0;

	c.p = p;
	c.end = p + size;
	c.bad = false;
	switch (bit) {
	case MPA_PERF_FEAT_TRACING_DATA:
		ret = parse_tracing_data(f, p, size, off);
		c.p = c.end;
		break;
	case MPA_PERF_FEAT_HOSTNAME:
		ret = feat_string(f, &c, &f->info.hostname);
		break;
	case MPA_PERF_FEAT_OSRELEASE:
		ret = feat_string(f, &c, &f->info.os_release);
		break;
	case MPA_PERF_FEAT_VERSION:
		ret = feat_string(f, &c, &f->info.version);
		break;
	case MPA_PERF_FEAT_ARCH:
		ret = feat_string(f, &c, &f->info.arch);
		break;
	case MPA_PERF_FEAT_CPUDESC:
		ret = feat_string(f, &c, &f->info.cpudesc);
		break;
	case MPA_PERF_FEAT_NRCPUS:
		f->info.nr_cpus_avail = cur_u32(&c);
		f->info.nr_cpus_online = cur_u32(&c);
		break;
	case MPA_PERF_FEAT_CMDLINE:
		ret = feat_cmdline(f, &c);
		break;
	case MPA_PERF_FEAT_EVENT_DESC:
		ret = feat_event_desc(f, &c);
		break;
	case MPA_PERF_FEAT_BUILD_ID:
		ret = feat_build_ids(f, &c);
		break;
	case MPA_PERF_FEAT_CLOCKID:
		f->info.clockid_res_ns = cur_u64(&c);
		f->info.has_clockid = !c.bad;
		break;
	case MPA_PERF_FEAT_COMPRESSED:
		cur_u32(&c);                       /* version */
		f->info.comp_type = f->comp_type = cur_u32(&c);
		f->info.comp_level = cur_u32(&c);
		break;
	case MPA_PERF_FEAT_CLOCK_DATA: {
		uint32_t version = cur_u32(&c);

		f->info.clock_data_clockid = cur_u32(&c);
		f->info.clock_tod_ns = cur_u64(&c);
		f->info.clock_clockid_ns = cur_u64(&c);
		if (!c.bad && version != 1)
			return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
				"feature CLOCK_DATA: version %u not supported",
				version);
		f->info.has_clock_data = !c.bad;
		break;
	}
	default:
		break;  /* not needed: skipped */
	}
	if (ret < 0)
		return ret;
	if (c.bad)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"feature %u: section at offset %llu (%llu bytes) is truncated or malformed",
			bit, (unsigned long long)off, (unsigned long long)size);
	return 0;
}

static int read_features(struct mpa_perf_file *f, const unsigned char *hdr)
{
	uint64_t feat_off = f->data_end;
	unsigned bit, nr = 0, k = 0;
	int ret;

	for (bit = 0; bit < 4; bit++)
		f->info.features[bit] = rd64(hdr + 72 + 8 * bit);
	for (bit = 0; bit < 256; bit++)
		if (f->info.features[bit / 64] >> (bit % 64) & 1)
			nr++;
	if (nr == 0)
		return 0;
	if (feat_off > f->size || (uint64_t)nr * FILE_SECTION_SIZE > f->size - feat_off)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: feature table (%u entries at offset %llu) beyond end of file (%zu bytes)",
			nr, (unsigned long long)feat_off, f->size);

	for (bit = 0; bit < 256; bit++) {
		const unsigned char *e;
		uint64_t off, size;

		if (!(f->info.features[bit / 64] >> (bit % 64) & 1))
			continue;
		e = f->map + feat_off + (uint64_t)k++ * FILE_SECTION_SIZE;
		off = rd64(e);
		size = rd64(e + 8);
		if (off > f->size || size > f->size - off)
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"feature %u: section [%llu, +%llu) beyond end of file (%zu bytes)",
				bit, (unsigned long long)off,
				(unsigned long long)size, f->size);
		ret = parse_feature(f, bit, f->map + off, size, off);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int name_attrs(struct mpa_perf_file *f)
{
	size_t i;

	for (i = 0; i < f->nr_attrs; i++) {
		const char *d;
		char buf[48];

		if (f->names[i])
			continue;
		d = default_name(&f->attrs[i]);
		if (!d) {
			snprintf(buf, sizeof(buf), "perf:attr%zu", i);
			d = buf;
		}
		f->names[i] = strdup(d);
		if (!f->names[i])
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		f->attrs[i].name = f->names[i];
	}
	return 0;
}

/* ---- open / close --------------------------------------------------------- */

/*
 * Pipe mode (perf record -o -): a 16-byte header, then records to the end
 * of the file; the events come as HEADER_ATTR records, the features as
 * HEADER_FEATURE records, build ids as HEADER_BUILD_ID records and names
 * possibly as EVENT_UPDATE records.  They are read first (two passes over
 * the record headers: events, then what refers to them); the records are
 * then read as in a file's data section.  Bad records stop the passes and
 * are reported by mpa_perf_next() at their place.
 */
#define EVENT_UPDATE_NAME 2

static int pipe_pass(struct mpa_perf_file *f, int pass)
{
	uint64_t pos = f->data_off;
	int ret;

	while (f->data_end - pos >= EVENT_HEADER_SIZE) {
		const unsigned char *r = f->map + pos;
		uint32_t type = rd32(r);
		uint16_t size = rd16(r + 6);
		uint64_t span = size, extra = 0;

		if (size < EVENT_HEADER_SIZE || size > f->data_end - pos)
			break;
		if (type == MPA_PERF_RECORD_AUXTRACE && size >= EVENT_HEADER_SIZE + 8)
			extra = rd64(r + 8);
		else if (type == MPA_PERF_RECORD_HEADER_TRACING_DATA &&
				size >= EVENT_HEADER_SIZE + 4)
			extra = rd32(r + 8);
		/* bounded before adding: a huge AUXTRACE size would wrap span
		 * (to 0: the loop would never advance) */
		if (extra > f->data_end - pos - size)
			break;
		span += extra;
		if (pass == 0 && type == MPA_PERF_RECORD_HEADER_ATTR) {
			uint32_t asz;

			if (size < EVENT_HEADER_SIZE + ATTR_SIZE_VER0)
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: HEADER_ATTR record of %u bytes: too short",
					(unsigned long long)pos, size);
			asz = rd32(r + EVENT_HEADER_SIZE + 4);
			if (asz == 0)
				asz = ATTR_SIZE_VER0;
			if (asz < ATTR_SIZE_VER0 || asz > size - EVENT_HEADER_SIZE ||
					(size - EVENT_HEADER_SIZE - asz) % 8)
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: HEADER_ATTR record of %u bytes: attr size %u invalid",
					(unsigned long long)pos, size, asz);
			ret = add_attr(f, r + EVENT_HEADER_SIZE, asz,
				r + EVENT_HEADER_SIZE + asz,
				(size - EVENT_HEADER_SIZE - asz) / 8);
			if (ret < 0)
				return ret;
		}
		if (pass == 1 && type == MPA_PERF_RECORD_HEADER_FEATURE) {
			uint64_t bit;

			if (size < EVENT_HEADER_SIZE + 8)
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: HEADER_FEATURE record of %u bytes: too short",
					(unsigned long long)pos, size);
			bit = rd64(r + EVENT_HEADER_SIZE);
			if (bit < 256) {
				f->info.features[bit / 64] |= 1ULL << (bit % 64);
				ret = parse_feature(f, (unsigned)bit, r + 16, size - 16u, pos);
				if (ret < 0)
					return ret;
			}
		}
		if (pass == 1 && type == MPA_PERF_RECORD_HEADER_TRACING_DATA &&
				span > size) {
			ret = parse_tracing_data(f, r + size, span - size, pos + size);
			if (ret < 0)
				return ret;
		}
		if (pass == 1 && type == MPA_PERF_RECORD_HEADER_BUILD_ID) {
			struct cur c = { r, r + size, false };

			ret = feat_build_ids(f, &c);
			if (ret < 0)
				return ret;
			if (c.bad)
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: HEADER_BUILD_ID record of %u bytes: malformed",
					(unsigned long long)pos, size);
		}
		if (pass == 1 && type == MPA_PERF_RECORD_EVENT_UPDATE &&
				size > EVENT_HEADER_SIZE + 16 &&
				rd64(r + EVENT_HEADER_SIZE) == EVENT_UPDATE_NAME) {
			const struct mpa_perf_attr *a =
				attr_by_id(f, rd64(r + EVENT_HEADER_SIZE + 8));
			const unsigned char *name = r + EVENT_HEADER_SIZE + 16;
			size_t i;

			if (a && memchr(name, 0, size - EVENT_HEADER_SIZE - 16u) &&
					!f->names[i = (size_t)(a - f->attrs)]) {
				f->names[i] = strdup((const char *)name);
				if (!f->names[i])
					return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
				f->attrs[i].name = f->names[i];
			}
		}
		pos += span;
	}
	return 0;
}

static int parse_pipe(struct mpa_perf_file *f)
{
	int ret;

	f->pipe = true;
	f->info.pipe = true;
	f->data_off = PIPE_HEADER_SIZE;
	f->data_end = f->size;
	f->pos = f->data_off;
	ret = pipe_pass(f, 0);
	if (ret < 0)
		return ret;
	ret = finish_attrs(f);
	if (ret < 0)
		return ret;
	ret = pipe_pass(f, 1);
	if (ret < 0)
		return ret;
	link_tracepoints(f);
	return name_attrs(f);
}

static int parse_header(struct mpa_perf_file *f)
{
	const unsigned char *h = f->map;
	uint64_t hsize, attr_size, attrs_off, attrs_size, data_off, data_size;
	int ret;

	if (f->size < 16)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"not a perf.data file: %zu bytes, too short for a header", f->size);
	if (memcmp(h, magic_be, 8) == 0)
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"big-endian perf.data is not supported (recorded on a big-endian machine)");
	if (memcmp(h, magic_v1, 8) == 0)
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"perf.data version 1 (PERFFILE) is not supported");
	if (memcmp(h, magic_le, 8) != 0)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"not a perf.data file: bad magic (expected PERFILE2)");
	hsize = rd64(h + 8);
	if (hsize == PIPE_HEADER_SIZE)
		return parse_pipe(f);
	if (hsize < FILE_HEADER_SIZE || hsize > f->size)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: size %llu invalid (expected >= %u, file has %zu bytes)",
			(unsigned long long)hsize, FILE_HEADER_SIZE, f->size);
	attr_size = rd64(h + 16);
	attrs_off = rd64(h + 24);
	attrs_size = rd64(h + 32);
	data_off = rd64(h + 40);
	data_size = rd64(h + 48);

	if (data_off < hsize || data_off > f->size || data_size > f->size - data_off)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"header: data section [%llu, +%llu) beyond end of file (%zu bytes)",
			(unsigned long long)data_off,
			(unsigned long long)data_size, f->size);
	f->data_off = data_off;
	f->data_end = data_off + data_size;
	f->pos = data_off;

	ret = read_attrs(f, attr_size, attrs_off, attrs_size);
	if (ret < 0)
		return ret;
	ret = read_features(f, h);
	if (ret < 0)
		return ret;
	link_tracepoints(f);
	return name_attrs(f);
}

static struct mpa_perf_file *file_new(unsigned flags)
{
	struct mpa_perf_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->flags = flags;
	f->window_cap = DEFAULT_WINDOW_CAP;
	f->comp_type = 1;   /* zstd, unless HEADER_COMPRESSED says otherwise */
	return f;
}

int mpa_perf_open_mem(const void *buf, size_t size, unsigned flags,
		struct mpa_perf_file **out)
{
	struct mpa_perf_file *f = file_new(flags);

	*out = f;
	if (!f)
		return MPA_PERF_ERR_NOMEM;
	f->map = buf;
	f->size = size;
	return parse_header(f);
}

int mpa_perf_open(const char *path, unsigned flags, struct mpa_perf_file **out)
{
	struct mpa_perf_file *f = file_new(flags);
	struct stat st;
	void *map;
	int fd;

	*out = f;
	if (!f)
		return MPA_PERF_ERR_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_err(f, MPA_PERF_ERR_IO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return set_err(f, MPA_PERF_ERR_IO, "cannot stat: %s", strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"is a directory (directory-format perf.data from 'perf record --threads' is not supported)");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return set_err(f, MPA_PERF_ERR_FORMAT, "empty file");
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return set_err(f, MPA_PERF_ERR_IO, "cannot map: %s", strerror(errno));
	/* read mostly front to back (records are re-read within a window) */
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	f->map = map;
	f->size = (size_t)st.st_size;
	f->owns_map = true;
	return parse_header(f);
}

void mpa_perf_close(struct mpa_perf_file *f)
{
	size_t i;

	if (!f)
		return;
	if (f->owns_map && f->map)
		munmap((void *)f->map, f->size);
	for (i = 0; i < f->nr_attrs; i++) {
		free(f->names[i]);
		free(f->ids[i]);
	}
	free(f->names);
	free(f->ids);
	free(f->attrs);
	free(f->idmap);
	for (i = 0; i < f->nr_strs; i++)
		free(f->strs[i]);
	for (i = 0; i < f->nr_bids; i++)
		free(f->bid_names[i]);
	free(f->bid_names);
	free(f->bids);
	for (i = 0; i < f->nr_tps; i++) {
		size_t j;

		for (j = 0; j < f->tps[i].nr_fields; j++)
			free((char *)f->tps[i].fields[j].name);
		free((void *)f->tps[i].fields);
		free((char *)f->tps[i].system);
		free((char *)f->tps[i].name);
	}
	free(f->tps);
	for (i = 0; i < f->heap_n; i++)
		chunk_put(f->heap[i].chunk);
	free(f->heap);
	chunk_put(f->cur);
	chunk_put(f->held);
	ZSTD_freeDStream(f->zds);
	free(f);
}

const char *mpa_perf_errmsg(const struct mpa_perf_file *f)
{
	return f ? f->err : "out of memory";
}

size_t mpa_perf_nr_attrs(const struct mpa_perf_file *f)
{
	return f->nr_attrs;
}

const struct mpa_perf_attr *mpa_perf_attr_at(const struct mpa_perf_file *f,
		size_t i)
{
	return i < f->nr_attrs ? &f->attrs[i] : NULL;
}

size_t mpa_perf_attr_index(const struct mpa_perf_file *f,
		const struct mpa_perf_attr *attr)
{
	return (size_t)(attr - f->attrs);
}

const struct mpa_perf_info *mpa_perf_info(const struct mpa_perf_file *f)
{
	return &f->info;
}

const struct mpa_perf_stats *mpa_perf_stats(const struct mpa_perf_file *f)
{
	return &f->stats;
}

bool mpa_perf_has_cpu(const struct mpa_perf_file *f)
{
	size_t i;

	for (i = 0; i < f->nr_attrs; i++) {
		const struct mpa_perf_attr *a = &f->attrs[i];

		if (!(a->sample_type & MPA_PERF_SAMPLE_CPU))
			return false;
	}
	return f->nr_attrs > 0;
}

size_t mpa_perf_nr_build_ids(const struct mpa_perf_file *f)
{
	return f->nr_bids;
}

const struct mpa_perf_build_id *mpa_perf_build_id_at(
		const struct mpa_perf_file *f, size_t i)
{
	return i < f->nr_bids ? &f->bids[i] : NULL;
}

const struct mpa_perf_build_id *mpa_perf_build_id_find(
		const struct mpa_perf_file *f, const char *filename)
{
	size_t i;

	for (i = 0; i < f->nr_bids; i++)
		if (strcmp(f->bids[i].filename, filename) == 0)
			return &f->bids[i];
	return NULL;
}

void mpa_perf_set_window_cap(struct mpa_perf_file *f, size_t cap)
{
	f->window_cap = cap ? cap : 1;
}

/* ---- records --------------------------------------------------------------- */

static void parse_read_format(struct cur *c, uint64_t rf)
{
	uint64_t per_value = 1 + !!(rf & MPA_PERF_FORMAT_ID) +
		!!(rf & MPA_PERF_FORMAT_LOST);

	if (rf & MPA_PERF_FORMAT_GROUP) {
		uint64_t nr = cur_u64(c);

		cur_skip_u64s(c, !!(rf & MPA_PERF_FORMAT_TOTAL_TIME_ENABLED) +
			!!(rf & MPA_PERF_FORMAT_TOTAL_TIME_RUNNING));
		if (nr > (uint64_t)(c->end - c->p) / 8 / per_value) {
			c->bad = true;
			return;
		}
		cur_skip_u64s(c, nr * per_value);
	} else {
		cur_skip_u64s(c, per_value +
			!!(rf & MPA_PERF_FORMAT_TOTAL_TIME_ENABLED) +
			!!(rf & MPA_PERF_FORMAT_TOTAL_TIME_RUNNING));
	}
}

static void parse_regs(struct cur *c, uint64_t mask)
{
	uint64_t abi = cur_u64(c);

	if (abi != 0)
		cur_skip_u64s(c, popcount64(mask));
}

/* The body of a SAMPLE record, in the kernel's order. */
static void parse_sample(const struct mpa_perf_attr *a, struct cur *c,
		struct mpa_perf_sample *s)
{
	uint64_t st = a->sample_type;

	s->present = st;
	if (st & MPA_PERF_SAMPLE_IDENTIFIER)
		s->id = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_IP)
		s->ip = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_TID) {
		s->pid = cur_u32(c);
		s->tid = cur_u32(c);
	}
	if (st & MPA_PERF_SAMPLE_TIME)
		s->time = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_ADDR)
		s->addr = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_ID)
		s->id = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_STREAM_ID)
		s->stream_id = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_CPU) {
		s->cpu = cur_u32(c);
		cur_u32(c);
	}
	/* a fixed-period event (-c N) does not sample PERIOD: every sample
	 * stands for attr.sample_period events */
	if (st & MPA_PERF_SAMPLE_PERIOD)
		s->period = cur_u64(c);
	else if (!(a->flags & MPA_PERF_ATTR_FLAG_FREQ))
		s->period = a->sample_period;
	if (st & MPA_PERF_SAMPLE_READ)
		parse_read_format(c, a->read_format);
	if (st & MPA_PERF_SAMPLE_CALLCHAIN) {
		s->nr_callchain = cur_u64(c);
		s->callchain = c->p;
		cur_skip_u64s(c, s->nr_callchain);
	}
	if (st & MPA_PERF_SAMPLE_RAW) {
		s->raw_size = cur_u32(c);
		s->raw = c->p;
		cur_skip(c, s->raw_size);
	}
	if (st & MPA_PERF_SAMPLE_BRANCH_STACK) {
		uint64_t nr = cur_u64(c), words = 3;

		s->nr_branches = nr;
		if (a->branch_sample_type & MPA_PERF_BRANCH_HW_INDEX)
			cur_u64(c);
		if (a->branch_sample_type & MPA_PERF_BRANCH_COUNTERS)
			words = 4;
		if (nr > (uint64_t)(c->end - c->p) / 8 / words)
			c->bad = true;
		else
			cur_skip_u64s(c, nr * words);
	}
	if (st & MPA_PERF_SAMPLE_REGS_USER)
		parse_regs(c, a->sample_regs_user);
	if (st & MPA_PERF_SAMPLE_STACK_USER) {
		uint64_t size = cur_u64(c);

		cur_skip(c, size);
		if (size != 0)
			cur_u64(c);  /* dyn_size */
	}
	if (st & (MPA_PERF_SAMPLE_WEIGHT | MPA_PERF_SAMPLE_WEIGHT_STRUCT)) {
		uint64_t w = cur_u64(c);

		if (st & MPA_PERF_SAMPLE_WEIGHT_STRUCT) {
			s->weight = (uint32_t)w;
			s->weight_var2 = (uint16_t)(w >> 32);
			s->weight_var3 = (uint16_t)(w >> 48);
		} else {
			s->weight = w;
		}
	}
	if (st & MPA_PERF_SAMPLE_DATA_SRC)
		s->data_src = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_TRANSACTION)
		s->transaction = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_REGS_INTR)
		parse_regs(c, a->sample_regs_intr);
	if (st & MPA_PERF_SAMPLE_PHYS_ADDR)
		s->phys_addr = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_CGROUP)
		s->cgroup = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_DATA_PAGE_SIZE)
		s->data_page_size = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_CODE_PAGE_SIZE)
		s->code_page_size = cur_u64(c);
	if (st & MPA_PERF_SAMPLE_AUX) {
		uint64_t size = cur_u64(c);

		cur_skip(c, size);
	}
}

/* The sample_id_all trailer occupying [p, p + a->id_hdr_size). */
static void parse_trailer(const struct mpa_perf_attr *a, const unsigned char *p,
		struct mpa_perf_sample *s)
{
	struct cur c = { p, p + a->id_hdr_size, false };
	uint64_t st = a->sample_type;

	s->present = st & (MPA_PERF_SAMPLE_TID | MPA_PERF_SAMPLE_TIME |
		MPA_PERF_SAMPLE_ID | MPA_PERF_SAMPLE_STREAM_ID |
		MPA_PERF_SAMPLE_CPU | MPA_PERF_SAMPLE_IDENTIFIER);
	if (st & MPA_PERF_SAMPLE_TID) {
		s->pid = cur_u32(&c);
		s->tid = cur_u32(&c);
	}
	if (st & MPA_PERF_SAMPLE_TIME)
		s->time = cur_u64(&c);
	if (st & MPA_PERF_SAMPLE_ID)
		s->id = cur_u64(&c);
	if (st & MPA_PERF_SAMPLE_STREAM_ID)
		s->stream_id = cur_u64(&c);
	if (st & MPA_PERF_SAMPLE_CPU) {
		s->cpu = cur_u32(&c);
		cur_u32(&c);
	}
	if (st & MPA_PERF_SAMPLE_IDENTIFIER)
		s->id = cur_u64(&c);
}

/* Which attr a record belongs to (perf's rule: a single event, records
 * without a trailer, and synthesized records (id 0) go to the first). */
static int record_attr(struct mpa_perf_file *f, const unsigned char *r,
		uint16_t size, bool is_sample, uint64_t off,
		const struct mpa_perf_attr **out)
{
	uint64_t id;
	int pos;

	*out = &f->attrs[0];
	if (f->nr_attrs == 1)
		return 0;
	if (!is_sample && !f->sample_id_all)
		return 0;
	if (is_sample) {
		pos = f->sample_id_pos;
		if ((uint64_t)EVENT_HEADER_SIZE + 8 * (uint64_t)pos + 8 > size)
			goto short_rec;
		id = rd64(r + EVENT_HEADER_SIZE + 8 * pos);
	} else {
		pos = f->trailer_id_pos;
		if ((uint64_t)EVENT_HEADER_SIZE + 8 * (uint64_t)pos > size)
			goto short_rec;
		id = rd64(r + size - 8 * pos);
	}
	if (id == 0)
		return 0;
	*out = attr_by_id(f, id);
	if (!*out)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"offset %llu: record id %llu matches no event",
			(unsigned long long)off, (unsigned long long)id);
	return 0;

short_rec:
	return set_err(f, MPA_PERF_ERR_FORMAT,
		"offset %llu: record of %u bytes too short for its sample id",
		(unsigned long long)off, size);
}

static int bad_record(struct mpa_perf_file *f, uint64_t off, uint32_t type,
		uint16_t size, const char *what)
{
	const char *tn = mpa_perf_record_type_name(type);
	char tbuf[16];

	if (!tn) {
		snprintf(tbuf, sizeof(tbuf), "%u", type);
		tn = tbuf;
	}
	return set_err(f, MPA_PERF_ERR_FORMAT,
		"offset %llu: %s record of %u bytes: %s",
		(unsigned long long)off, tn, size, what);
}

/* A NUL-terminated string in [p, end), or NULL. */
static const char *rec_string(const unsigned char *p, const unsigned char *end)
{
	if (p >= end || !memchr(p, 0, (size_t)(end - p)))
		return NULL;
	return (const char *)p;
}

/*
 * Parses the record at r, whose header was checked against the `avail`
 * bytes that follow r in its buffer (the data section, or decompressed
 * data); `off` is its file offset (for records from compressed data: the
 * offset of the compressed record they came from), for messages.  *span
 * receives how many bytes it occupies (AUXTRACE data follows its record).
 */
static int parse_record(struct mpa_perf_file *f, const unsigned char *r,
		uint64_t avail, uint64_t off, struct mpa_perf_record *rec,
		uint64_t *span)
{
	const unsigned char *body, *end;
	const struct mpa_perf_attr *a = NULL;
	uint32_t type = rd32(r);
	uint16_t size = rd16(r + 6);
	int ret;

	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->misc = rd16(r + 4);
	rec->size = size;
	rec->offset = off;
	*span = size;
	body = r + EVENT_HEADER_SIZE;
	end = r + size;

	if (type == MPA_PERF_RECORD_SAMPLE) {
		struct cur c;

		ret = record_attr(f, r, size, true, off, &a);
		if (ret < 0)
			return ret;
		rec->attr = a;
		c.p = body;
		c.end = end;
		c.bad = false;
		parse_sample(a, &c, &rec->s);
		if (c.bad)
			return bad_record(f, off, type, size,
				"fields overrun the record");
		if (a->sample_type & MPA_PERF_SAMPLE_TIME) {
			rec->time = rec->s.time;
			rec->time_is_real = true;
		}
		if (a->sample_type & MPA_PERF_SAMPLE_CPU) {
			rec->has_cpu = true;
			rec->cpu = rec->s.cpu;
		}
		return 0;
	}

	if (type >= MPA_PERF_RECORD_HEADER_ATTR) {
		/* perf's own records: no trailer */
		if (type == MPA_PERF_RECORD_AUXTRACE) {
			uint64_t data;

			if (size < EVENT_HEADER_SIZE + 8)
				return bad_record(f, off, type, size, "too short");
			data = rd64(body);
			if (data > avail - size)
				return bad_record(f, off, type, size,
					"trace data beyond the data section");
			*span = size + data;
		} else if (type == MPA_PERF_RECORD_HEADER_TRACING_DATA) {
			uint32_t data;

			if (size < EVENT_HEADER_SIZE + 4)
				return bad_record(f, off, type, size, "too short");
			data = rd32(body);
			if (data > avail - size)
				return bad_record(f, off, type, size,
					"tracing data beyond the data section");
			*span = size + (uint64_t)data;
		} else if (type == MPA_PERF_RECORD_COMPRESSED ||
				type == MPA_PERF_RECORD_COMPRESSED2) {
			return bad_record(f, off, type, size,
				"compressed record inside compressed data");
		}
		return 0;
	}

	/* Kernel records: optional sample_id_all trailer. */
	ret = record_attr(f, r, size, false, off, &a);
	if (ret < 0)
		return ret;
	rec->attr = a;
	if (a->id_hdr_size) {
		if (size < EVENT_HEADER_SIZE + a->id_hdr_size)
			return bad_record(f, off, type, size,
				"too short for its sample_id_all trailer");
		end = r + size - a->id_hdr_size;
		parse_trailer(a, end, &rec->s);
		if (a->sample_type & MPA_PERF_SAMPLE_TIME) {
			rec->time = rec->s.time;
			rec->time_is_real = true;
		}
		if (a->sample_type & MPA_PERF_SAMPLE_CPU) {
			rec->has_cpu = true;
			rec->cpu = rec->s.cpu;
		}
	}

	switch (type) {
	case MPA_PERF_RECORD_COMM:
		if (end - body < 8)
			return bad_record(f, off, type, size, "too short");
		rec->u.comm.pid = rd32(body);
		rec->u.comm.tid = rd32(body + 4);
		rec->u.comm.exec = (rec->misc & MPA_PERF_MISC_COMM_EXEC) != 0;
		rec->u.comm.comm = rec_string(body + 8, end);
		if (!rec->u.comm.comm)
			return bad_record(f, off, type, size,
				"command name not terminated");
		break;
	case MPA_PERF_RECORD_MMAP:
	case MPA_PERF_RECORD_MMAP2: {
		const unsigned char *name = body + 32;

		if (end - body < 32)
			return bad_record(f, off, type, size, "too short");
		rec->u.mmap.pid = rd32(body);
		rec->u.mmap.tid = rd32(body + 4);
		rec->u.mmap.addr = rd64(body + 8);
		rec->u.mmap.len = rd64(body + 16);
		rec->u.mmap.pgoff = rd64(body + 24);
		if (type == MPA_PERF_RECORD_MMAP2) {
			const unsigned char *x = body + 32;

			if (end - body < 64)
				return bad_record(f, off, type, size, "too short");
			rec->u.mmap.is_mmap2 = true;
			if (rec->misc & MPA_PERF_MISC_MMAP_BUILD_ID) {
				uint8_t n = x[0];

				if (n > MPA_PERF_BUILD_ID_MAX)
					return bad_record(f, off, type, size,
						"build id longer than 20 bytes");
				rec->u.mmap.build_id_size = n;
				memcpy(rec->u.mmap.build_id, x + 4, n);
			} else {
				rec->u.mmap.maj = rd32(x);
				rec->u.mmap.min = rd32(x + 4);
				rec->u.mmap.ino = rd64(x + 8);
				rec->u.mmap.ino_generation = rd64(x + 16);
			}
			rec->u.mmap.prot = rd32(x + 24);
			rec->u.mmap.flags = rd32(x + 28);
			name = body + 64;
		}
		rec->u.mmap.filename = rec_string(name, end);
		if (!rec->u.mmap.filename)
			return bad_record(f, off, type, size,
				"file name not terminated");
		break;
	}
	case MPA_PERF_RECORD_FORK:
	case MPA_PERF_RECORD_EXIT:
		if (end - body < 24)
			return bad_record(f, off, type, size, "too short");
		rec->u.task.pid = rd32(body);
		rec->u.task.ppid = rd32(body + 4);
		rec->u.task.tid = rd32(body + 8);
		rec->u.task.ptid = rd32(body + 12);
		rec->u.task.time = rd64(body + 16);
		if (!rec->time_is_real) {
			rec->time = rec->u.task.time;
			rec->time_is_real = true;
		}
		break;
	case MPA_PERF_RECORD_LOST:
		if (end - body < 16)
			return bad_record(f, off, type, size, "too short");
		rec->u.lost.id = rd64(body);
		rec->u.lost.lost = rd64(body + 8);
		break;
	case MPA_PERF_RECORD_LOST_SAMPLES:
		if (end - body < 8)
			return bad_record(f, off, type, size, "too short");
		rec->u.lost.lost = rd64(body);
		break;
	default:
		break;  /* other kernel records: trailer only */
	}
	return 0;
}

/* Validates the header of the record at f->pos. */
static int check_header(struct mpa_perf_file *f, uint32_t *type, uint16_t *size)
{
	const unsigned char *r = f->map + f->pos;

	if (f->data_end - f->pos < EVENT_HEADER_SIZE)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"offset %llu: truncated record header (%llu bytes left in the data section)",
			(unsigned long long)f->pos,
			(unsigned long long)(f->data_end - f->pos));
	*type = rd32(r);
	*size = rd16(r + 6);
	if (*size < EVENT_HEADER_SIZE)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"offset %llu: record type %u has invalid size %u",
			(unsigned long long)f->pos, *type, *size);
	if (*size > f->data_end - f->pos)
		return set_err(f, MPA_PERF_ERR_FORMAT,
			"offset %llu: record type %u of %u bytes overruns the data section (ends at %llu)",
			(unsigned long long)f->pos, *type, *size,
			(unsigned long long)f->data_end);
	return 0;
}

static void count_type(struct mpa_perf_file *f, uint32_t type)
{
	if (type < sizeof(f->stats.nr_by_type) / sizeof(f->stats.nr_by_type[0]))
		f->stats.nr_by_type[type]++;
	else
		f->stats.nr_other_types++;
}

/* ---- ordering heap ---------------------------------------------------------- */

static bool q_less(const struct queued *a, const struct queued *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static int q_push(struct mpa_perf_file *f, const struct queued *q)
{
	size_t i;

	if (f->heap_n == f->heap_cap) {
		size_t ncap = f->heap_cap ? 2 * f->heap_cap : 1024;
		struct queued *nh = realloc(f->heap, ncap * sizeof(*nh));

		if (!nh)
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
		f->heap = nh;
		f->heap_cap = ncap;
	}
	i = f->heap_n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!q_less(q, &f->heap[parent]))
			break;
		f->heap[i] = f->heap[parent];
		i = parent;
	}
	f->heap[i] = *q;
	if (f->heap_n > f->stats.max_queued)
		f->stats.max_queued = f->heap_n;
	return 0;
}

static struct queued q_pop(struct mpa_perf_file *f)
{
	struct queued top = f->heap[0], last = f->heap[--f->heap_n];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= f->heap_n)
			break;
		m = l;
		if (l + 1 < f->heap_n && q_less(&f->heap[l + 1], &f->heap[l]))
			m = l + 1;
		if (!q_less(&f->heap[m], &last))
			break;
		f->heap[i] = f->heap[m];
		i = m;
	}
	if (f->heap_n)
		f->heap[i] = last;
	return top;
}

/* ---- compressed data (perf record -z) ------------------------------------------ */

#define DECOMP_MAX ((size_t)64 << 20)  /* output of one compressed record */
#define CHUNK_BYTES_CAP ((size_t)512 << 20) /* decompressed data held */

static int decompress(struct mpa_perf_file *f, const unsigned char *src,
		size_t n, uint64_t off)
{
	size_t rem = f->cur ? f->cur->size - f->cur_pos : 0;
	size_t cap = rem + (n * 8 > 65536 ? n * 8 : 65536);
	struct chunk *c;
	ZSTD_inBuffer in = { src, n, 0 };
	ZSTD_outBuffer out;

	if (f->comp_type != 1)
		return set_err(f, MPA_PERF_ERR_UNSUPPORTED,
			"offset %llu: compression type %u is not supported (only zstd)",
			(unsigned long long)off, f->comp_type);
	if (!f->zds) {
		f->zds = ZSTD_createDStream();
		if (!f->zds || ZSTD_isError(ZSTD_initDStream(f->zds)))
			return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	}
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
	if (rem)
		memcpy(c->data, f->cur->data + f->cur_pos, rem);
	out.dst = c->data;
	out.size = cap;
	out.pos = rem;
	for (;;) {
		size_t r;

		if (out.pos == out.size) {
			struct chunk *g;

			if (cap - rem >= DECOMP_MAX) {
				free(c);
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: compressed record expands to more than %zu MiB",
					(unsigned long long)off, DECOMP_MAX >> 20);
			}
			cap *= 2;
			g = realloc(c, sizeof(*c) + cap);
			if (!g) {
				free(c);
				return set_err(f, MPA_PERF_ERR_NOMEM, "out of memory");
			}
			c = g;
			out.dst = c->data;
			out.size = cap;
		}
		r = ZSTD_decompressStream(f->zds, &out, &in);
		if (ZSTD_isError(r)) {
			free(c);
			return set_err(f, MPA_PERF_ERR_FORMAT,
				"offset %llu: corrupt compressed data: %s",
				(unsigned long long)off, ZSTD_getErrorName(r));
		}
		if (in.pos == in.size && out.pos < out.size)
			break;   /* all input consumed, nothing left to flush */
	}
	c->refs = 1;
	c->size = out.pos;
	c->file_off = off;
	c->live = &f->chunk_bytes;
	f->chunk_bytes += c->size;
	chunk_put(f->cur);
	f->cur = c;
	f->cur_pos = 0;
	f->stats.nr_compressed++;
	return 0;
}

/* The payload of a COMPRESSED (81) or COMPRESSED2 (83) record. */
static int compressed_payload(struct mpa_perf_file *f, const unsigned char *r,
		uint32_t type, uint16_t size, const unsigned char **p, size_t *n)
{
	if (type == MPA_PERF_RECORD_COMPRESSED) {
		*p = r + EVENT_HEADER_SIZE;
		*n = size - EVENT_HEADER_SIZE;
		return 0;
	}
	if (size < EVENT_HEADER_SIZE + 8 ||
			rd64(r + EVENT_HEADER_SIZE) > size - EVENT_HEADER_SIZE - 8u)
		return bad_record(f, f->pos, type, size, "data size beyond the record");
	*p = r + EVENT_HEADER_SIZE + 8;
	*n = (size_t)rd64(r + EVENT_HEADER_SIZE);
	return 0;
}

/*
 * Where the next record is: in decompressed data (*c set, ref not taken)
 * or in the file (*c NULL).  Decompresses COMPRESSED records as needed.
 * Returns 0 with *r NULL at the end of the data section.
 */
static int next_raw(struct mpa_perf_file *f, const unsigned char **r,
		uint64_t *avail, uint64_t *off, struct chunk **c)
{
	for (;;) {
		uint32_t type = 0;
		uint16_t size = 0;
		const unsigned char *p = NULL;
		size_t n = 0;
		int ret;

		if (f->cur) {
			size_t left = f->cur->size - f->cur_pos;
			const unsigned char *h = f->cur->data + f->cur_pos;

			if (left >= EVENT_HEADER_SIZE) {
				size = rd16(h + 6);
				if (size < EVENT_HEADER_SIZE)
					return set_err(f, MPA_PERF_ERR_FORMAT,
						"offset %llu: decompressed record type %u has invalid size %u",
						(unsigned long long)f->cur->file_off, rd32(h), size);
				if (size <= left) {
					*r = h;
					*avail = left;
					*off = f->cur->file_off;
					*c = f->cur;
					return 0;
				}
			}
			/* incomplete: the rest comes with the next compressed record */
		}
		*c = NULL;
		if (f->pos >= f->data_end) {
			if (f->cur && f->cur_pos < f->cur->size)
				return set_err(f, MPA_PERF_ERR_FORMAT,
					"offset %llu: compressed data ends inside a record",
					(unsigned long long)f->cur->file_off);
			*r = NULL;
			return 0;
		}
		ret = check_header(f, &type, &size);
		if (ret < 0)
			return ret;
		if (type != MPA_PERF_RECORD_COMPRESSED &&
				type != MPA_PERF_RECORD_COMPRESSED2) {
			*r = f->map + f->pos;
			*avail = f->data_end - f->pos;
			*off = f->pos;
			return 0;
		}
		ret = compressed_payload(f, f->map + f->pos, type, size, &p, &n);
		if (ret < 0)
			return ret;
		count_type(f, type);
		ret = decompress(f, p, n, f->pos);
		if (ret < 0)
			return ret;
		f->pos += size;
	}
}

/* Moves past the record next_raw() returned. */
static void advance(struct mpa_perf_file *f, struct chunk *c, uint64_t span)
{
	if (c)
		f->cur_pos += (size_t)span;
	else
		f->pos += span;
}

/* Makes the record just returned keep its chunk alive until the next call. */
static void hold(struct mpa_perf_file *f, struct chunk *c)
{
	chunk_put(f->held);
	f->held = c;
}

/* ---- iteration ---------------------------------------------------------------- */

static int next_file_order(struct mpa_perf_file *f, struct mpa_perf_record *rec)
{
	const unsigned char *r;
	uint64_t avail, off, span;
	struct chunk *c;
	int ret;

	ret = next_raw(f, &r, &avail, &off, &c);
	if (ret < 0)
		return ret;
	if (!r)
		return MPA_PERF_END;
	ret = parse_record(f, r, avail, off, rec, &span);
	if (ret < 0)
		return ret;
	if (c)
		c->refs++;
	hold(f, c);
	advance(f, c, span);
	count_type(f, rec->type);
	if (rec->type == MPA_PERF_RECORD_FINISHED_ROUND)
		f->stats.nr_rounds++;
	f->stats.nr_records++;
	return MPA_PERF_OK;
}

/* Reads one record into the queue (or handles a round marker).  Sets
 * f->eof at the end of the data section. */
static int scan_one(struct mpa_perf_file *f)
{
	struct mpa_perf_record rec;
	const unsigned char *r;
	uint64_t avail, off, span;
	struct chunk *c;
	struct queued q;
	int ret;

	ret = next_raw(f, &r, &avail, &off, &c);
	if (ret < 0)
		return ret;
	if (!r) {
		f->eof = true;
		return 0;
	}
	if (rd32(r) == MPA_PERF_RECORD_FINISHED_ROUND) {
		/*
		 * Everything up to the largest time seen before the previous
		 * round marker has now been read: perf reads every ring
		 * buffer once per round, each buffer in time order.
		 */
		f->flush_limit = f->round_max;
		f->have_limit = true;
		f->round_max = f->max_ts_seen;
		f->stats.nr_rounds++;
		count_type(f, MPA_PERF_RECORD_FINISHED_ROUND);
		advance(f, c, rd16(r + 6));
		return 0;
	}
	ret = parse_record(f, r, avail, off, &rec, &span);
	if (ret < 0)
		return ret;
	if (rec.type == MPA_PERF_RECORD_FINISHED_INIT) {
		count_type(f, rec.type);
		advance(f, c, span);
		return 0;
	}
	q.chunk = c;
	q.off = c ? (uint64_t)(r - c->data) : off;
	q.seq = f->seq++;
	q.clamped = false;
	q.real = rec.time_is_real;
	if (rec.time_is_real) {
		q.ts = rec.time;
		if (rec.time > f->max_ts_seen)
			f->max_ts_seen = rec.time;
		if (f->any_emitted && rec.time < f->last_emitted) {
			q.ts = f->last_emitted;
			q.clamped = true;
			f->stats.nr_unordered++;
		}
	} else {
		/* No time: delivered as soon as possible, like perf does. */
		q.ts = f->any_emitted ? f->last_emitted : 0;
	}
	ret = q_push(f, &q);
	if (ret < 0)
		return ret;
	if (c)
		c->refs++;   /* the queue entry's */
	advance(f, c, span);
	return 0;
}

int mpa_perf_next(struct mpa_perf_file *f, struct mpa_perf_record *rec)
{
	int ret;

	/* After a bad record, the records read before it still come out;
	 * then the error, for good. */
	if (f->status < 0 && !(f->scan_failed && f->heap_n > 0))
		return f->status;
	if (f->flags & MPA_PERF_OPEN_FILE_ORDER)
		return next_file_order(f, rec);

	for (;;) {
		if (f->heap_n > 0) {
			const struct queued *top = &f->heap[0];
			bool forced = f->heap_n > f->window_cap ||
				f->chunk_bytes > CHUNK_BYTES_CAP;

			if (f->eof || forced ||
					(f->have_limit && top->ts <= f->flush_limit)) {
				struct queued q = q_pop(f);
				const unsigned char *r;
				uint64_t span, avail, off;

				if (forced && !f->eof &&
						!(f->have_limit && q.ts <= f->flush_limit))
					f->stats.nr_forced_flush++;
				if (q.chunk) {
					r = q.chunk->data + q.off;
					avail = q.chunk->size - q.off;
					off = q.chunk->file_off;
				} else {
					r = f->map + q.off;
					avail = f->data_end - q.off;
					off = q.off;
				}
				hold(f, q.chunk);   /* takes the entry's ref */
				ret = parse_record(f, r, avail, off, rec, &span);
				if (ret < 0)
					return ret;
				rec->time = q.ts;
				rec->time_is_real = q.real;
				rec->clamped = q.clamped;
				f->last_emitted = q.ts;
				f->any_emitted = true;
				count_type(f, rec->type);
				f->stats.nr_records++;
				return MPA_PERF_OK;
			}
		}
		if (f->eof)
			return f->scan_failed ? f->status : MPA_PERF_END;
		ret = scan_one(f);
		if (ret < 0) {
			f->scan_failed = true;
			f->eof = true;
		}
	}
}
