/*
 * perf_data — perf.data reader.  See perf_data.h and doc/perf-data.md.
 *
 * The file is mapped read-only; every access goes through a bounds check
 * against the mapping (or a sub-range of it) and memcpy, so neither a short
 * file nor an unaligned field is undefined behaviour.
 *
 * This file: open, header, attrs, accessors; perf_meta.c: feature sections
 * and tracepoint formats; perf_records.c: records and iteration.
 */
#include "perf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* "PERFILE2" as stored by a little-endian writer, read byte by byte. */
static const unsigned char magic_le[8] = { 'P', 'E', 'R', 'F', 'I', 'L', 'E', '2' };
static const unsigned char magic_be[8] = { '2', 'E', 'L', 'I', 'F', 'R', 'E', 'P' };
static const unsigned char magic_v1[8] = { 'P', 'E', 'R', 'F', 'F', 'I', 'L', 'E' };

int mpa_perf__set_err(struct mpa_perf_file *f, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	f->status = status;
	return status;
}

uint64_t mpa_perf_u64_at(const unsigned char *p, uint64_t i)
{
	return rd64(p + 8 * i);
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
void mpa_perf__decode_attr(const unsigned char *p, size_t sz, struct mpa_perf_attr *a)
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

const char *mpa_perf__default_name(const struct mpa_perf_attr *a)
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
	mpa_perf__decode_attr(p, asz, a);
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

const struct mpa_perf_attr *mpa_perf__attr_by_id(const struct mpa_perf_file *f,
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
				ret = mpa_perf__parse_feature(f, (unsigned)bit, r + 16, size - 16u, pos);
				if (ret < 0)
					return ret;
			}
		}
		if (pass == 1 && type == MPA_PERF_RECORD_HEADER_TRACING_DATA &&
				span > size) {
			ret = mpa_perf__parse_tracing_data(f, r + size, span - size, pos + size);
			if (ret < 0)
				return ret;
		}
		if (pass == 1 && type == MPA_PERF_RECORD_HEADER_BUILD_ID) {
			struct cur c = { r, r + size, false };

			ret = mpa_perf__feat_build_ids(f, &c);
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
				mpa_perf__attr_by_id(f, rd64(r + EVENT_HEADER_SIZE + 8));
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
	mpa_perf__link_tracepoints(f);
	return mpa_perf__name_attrs(f);
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
	ret = mpa_perf__read_features(f, h);
	if (ret < 0)
		return ret;
	mpa_perf__link_tracepoints(f);
	return mpa_perf__name_attrs(f);
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

