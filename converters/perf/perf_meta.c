/*
 * perf_data — the feature sections (cmdline, event descriptions, build ids,
 * strings) and the tracing data (tracepoint formats) of a perf.data file.
 */
#include "perf_internal.h"

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
		mpa_perf__decode_attr(c->p, sz, &da);
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
				mpa_perf__attr_by_id(f, rd64(c->p));

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

int mpa_perf__feat_build_ids(struct mpa_perf_file *f, struct cur *c)
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

int mpa_perf__parse_tracing_data(struct mpa_perf_file *f, const unsigned char *p,
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
void mpa_perf__link_tracepoints(struct mpa_perf_file *f)
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
int mpa_perf__parse_feature(struct mpa_perf_file *f, unsigned bit,
		const unsigned char *p, uint64_t size, uint64_t off)
{
	struct cur c;
	int ret = 0;

	c.p = p;
	c.end = p + size;
	c.bad = false;
	switch (bit) {
	case MPA_PERF_FEAT_TRACING_DATA:
		ret = mpa_perf__parse_tracing_data(f, p, size, off);
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
		ret = mpa_perf__feat_build_ids(f, &c);
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

int mpa_perf__read_features(struct mpa_perf_file *f, const unsigned char *hdr)
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
		ret = mpa_perf__parse_feature(f, bit, f->map + off, size, off);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int mpa_perf__name_attrs(struct mpa_perf_file *f)
{
	size_t i;

	for (i = 0; i < f->nr_attrs; i++) {
		const char *d;
		char buf[48];

		if (f->names[i])
			continue;
		d = mpa_perf__default_name(&f->attrs[i]);
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

