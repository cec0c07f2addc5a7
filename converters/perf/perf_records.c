/*
 * perf_data — records: sample layouts, the ordering heap, compressed data
 * (perf record -z) and iteration.
 */
#include "perf_internal.h"

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
	*out = mpa_perf__attr_by_id(f, id);
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
