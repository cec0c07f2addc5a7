/* libmpt: the reader.
 *
 * Open validates header, trailer, footer and loads the tables (each
 * checksummed).  Chunks are read on demand: the chunk header first, then
 * only the byte ranges of the columns a scan needs (pread), each checked
 * against its checksum, decompressed, decoded and scattered into row
 * arrays.  Memory: the tables plus one chunk's worth of buffers.
 * Every length, count and offset is checked against the file size and the
 * limits in mpt_internal.h before anything is allocated. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "mpt_internal.h"

struct chunk_ent {
	uint64_t offset, length;
	uint32_t hlen, rows, kinds;
	uint64_t ts_min, ts_max;
};

struct coldesc {
	uint8_t col, enc, comp;
	uint32_t values, raw, enc_bytes, stored;
	uint64_t hash;
	uint64_t off; /* offset of the stored bytes from the chunk start */
	uint64_t io;  /* offset in r->io once read */
	int needed;
};

struct mpt_reader {
	char *path; /* (owned by this) */
	int fd;
	uint64_t size;
	uint16_t major, minor;

	uint32_t nchunks;
	struct chunk_ent *chunks; /* (owned by this) */
	uint64_t total_rows;
	uint32_t max_rows; /* largest chunk */

	/* tables (owned by this) */
	uint32_t nstrings;
	char *str_blob;     /* strings, each followed by a NUL */
	uint64_t *str_off;
	uint32_t *str_len;
	uint32_t nframes;
	struct mpt_frame *frames; /* [nframes], id i at [i-1] */
	uint32_t nstacks;
	uint64_t *stack_off;      /* [nstacks + 1] into stack_frames */
	uint32_t *stack_frames;
	uint32_t nbinaries;
	struct mpt_binary *binaries;
	struct mpt_topology topo;
	int has_topo;
	uint32_t nmeta;
	char **meta_k, **meta_v; /* point into meta_blob */
	char *meta_blob;

	/* scan state */
	struct mpt_scan scan;
	uint64_t need_cols; /* projection incl. kind and ts */
	uint32_t cursor;
	uint64_t bytes_read;

	/* one chunk's buffers (owned by this) */
	uint8_t *hdr;
	size_t hdr_cap;
	struct coldesc desc[MPT_MAX_COLS_ON_DISK];
	unsigned ndesc;
	int col_desc[MPT_COL_COUNT_]; /* index in desc or -1 */
	uint8_t *io;
	size_t io_cap;
	uint8_t *zout;
	size_t zcap;
	uint64_t *vals;
	uint64_t *ctxv[MPT_NCTX]; /* rows of the context columns (owned by this) */
	void *arr[MPT_COL_COUNT_];
	uint32_t zeroed[MPT_COL_COUNT_]; /* leading rows of arr[c] known to be 0 */
	uint32_t cap_rows;
	uint32_t *keep;
	struct mpt_batch batch;
	ZSTD_DCtx *dctx;
	struct mpt_work work;
};

/* ---- small helpers ------------------------------------------------------- */

static enum mpt_status rerr(const mpt_reader *r, struct mpt_error *err, enum mpt_status code,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum mpt_status rerr(const mpt_reader *r, struct mpt_error *err, enum mpt_status code,
			    const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return mpt__err(err, code, "'%s': %s", r->path, msg);
}

static const char *colname(unsigned col)
{
	const char *n = mpt_column_name(col);
	return n ? n : "unknown";
}

/* Reads exactly n bytes at off; a short read is truncation. */
static enum mpt_status rd(mpt_reader *r, void *buf, size_t n, uint64_t off, const char *what,
			  struct mpt_error *err)
{
	size_t done = 0;
	if (off > r->size || n > r->size - off)
		return rerr(r, err, MPT_E_TRUNCATED, "%s: ends past the end of the file", what);
	while (done < n) {
		ssize_t k = pread(r->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return rerr(r, err, MPT_E_IO, "%s: read failed: %s", what, strerror(errno));
		}
		if (k == 0)
			return rerr(r, err, MPT_E_TRUNCATED, "%s: file ends early", what);
		done += (size_t)k;
	}
	return MPT_OK;
}

/* ---- tables -------------------------------------------------------------- */

static enum mpt_status parse_strings(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	uint64_t n = mpt__get_varint(c);
	if (c->bad || n == 0 || n > mpt__cur_left(c) || n > UINT32_MAX - 1)
		return rerr(r, err, MPT_E_FORMAT, "string table: bad count");
	r->str_off = malloc(sizeof *r->str_off * n);
	r->str_len = malloc(sizeof *r->str_len * n);
	r->str_blob = malloc(mpt__cur_left(c) + n);
	if (!r->str_off || !r->str_len || !r->str_blob)
		return rerr(r, err, MPT_E_NOMEM, "string table: out of memory");
	size_t at = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t len = mpt__get_varint(c);
		const uint8_t *s = c->bad || len > mpt__cur_left(c) ? NULL : mpt__get_bytes(c, len);
		if (!s)
			return rerr(r, err, MPT_E_FORMAT, "string table: string %llu overruns the table",
				    (unsigned long long)i);
		memcpy(r->str_blob + at, s, len);
		r->str_blob[at + len] = 0;
		r->str_off[i] = at;
		r->str_len[i] = (uint32_t)len;
		at += len + 1;
	}
	if (r->str_len[0] != 0)
		return rerr(r, err, MPT_E_FORMAT, "string table: string 0 is not empty");
	r->nstrings = (uint32_t)n;
	return MPT_OK;
}

static enum mpt_status parse_frames(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	uint64_t n = mpt__get_varint(c);
	if (c->bad || n > mpt__cur_left(c) / 6 || n > UINT32_MAX - 1)
		return rerr(r, err, MPT_E_FORMAT, "frame table: bad count");
	r->frames = calloc(n ? n : 1, sizeof *r->frames);
	if (!r->frames)
		return rerr(r, err, MPT_E_NOMEM, "frame table: out of memory");
	for (uint64_t i = 0; i < n; i++) {
		struct mpt_frame *f = &r->frames[i];
		f->ip = mpt__get_varint(c);
		f->bin_off = mpt__get_varint(c);
		uint64_t a = mpt__get_varint(c), b = mpt__get_varint(c), d = mpt__get_varint(c),
			 l = mpt__get_varint(c);
		if (c->bad || a > UINT32_MAX || b > UINT32_MAX || d > UINT32_MAX || l > UINT32_MAX)
			return rerr(r, err, MPT_E_FORMAT, "frame table: frame %llu is malformed",
				    (unsigned long long)i + 1);
		f->bin = (uint32_t)a;
		f->func = (uint32_t)b;
		f->file = (uint32_t)d;
		f->line = (uint32_t)l;
	}
	r->nframes = (uint32_t)n;
	return MPT_OK;
}

static enum mpt_status parse_stacks(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	uint64_t n = mpt__get_varint(c);
	size_t left = mpt__cur_left(c);
	if (c->bad || n > left || n > UINT32_MAX - 1)
		return rerr(r, err, MPT_E_FORMAT, "stack table: bad count");
	r->stack_off = malloc(sizeof *r->stack_off * (n + 1));
	/* every frame id takes at least one byte */
	r->stack_frames = malloc(sizeof *r->stack_frames * (left ? left : 1));
	if (!r->stack_off || !r->stack_frames)
		return rerr(r, err, MPT_E_NOMEM, "stack table: out of memory");
	uint64_t at = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t nf = mpt__get_varint(c);
		if (c->bad || nf > mpt__cur_left(c))
			return rerr(r, err, MPT_E_FORMAT, "stack table: stack %llu is malformed",
				    (unsigned long long)i + 1);
		r->stack_off[i] = at;
		for (uint64_t j = 0; j < nf; j++) {
			uint64_t f = mpt__get_varint(c);
			if (c->bad || f > UINT32_MAX)
				return rerr(r, err, MPT_E_FORMAT,
					    "stack table: stack %llu is malformed",
					    (unsigned long long)i + 1);
			r->stack_frames[at++] = (uint32_t)f;
		}
	}
	r->stack_off[n] = at;
	r->nstacks = (uint32_t)n;
	return MPT_OK;
}

static enum mpt_status parse_binaries(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	uint64_t n = mpt__get_varint(c);
	if (c->bad || n > mpt__cur_left(c) / 5 || n > UINT32_MAX - 1)
		return rerr(r, err, MPT_E_FORMAT, "binary table: bad count");
	r->binaries = calloc(n ? n : 1, sizeof *r->binaries);
	if (!r->binaries)
		return rerr(r, err, MPT_E_NOMEM, "binary table: out of memory");
	for (uint64_t i = 0; i < n; i++) {
		struct mpt_binary *b = &r->binaries[i];
		uint64_t pid = mpt__get_varint(c), path = mpt__get_varint(c),
			 bid = mpt__get_varint(c);
		b->base = mpt__get_varint(c);
		b->size = mpt__get_varint(c);
		if (c->bad || pid > UINT32_MAX || path > UINT32_MAX || bid > UINT32_MAX)
			return rerr(r, err, MPT_E_FORMAT, "binary table: entry %llu is malformed",
				    (unsigned long long)i);
		b->pid = (int32_t)mpt__unzz(pid);
		b->path = (uint32_t)path;
		b->build_id = (uint32_t)bid;
	}
	r->nbinaries = (uint32_t)n;
	return MPT_OK;
}

static enum mpt_status parse_topology(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	struct mpt_topology *t = &r->topo;
	uint64_t v[7];
	for (int i = 0; i < 7; i++)
		v[i] = mpt__get_varint(c);
	uint8_t has_dist = mpt__get_u8(c);
	if (c->bad || v[0] > MPT_MAX_CPUS || v[1] > MPT_MAX_NODES || v[2] > UINT32_MAX ||
	    v[3] > UINT32_MAX || has_dist > 1)
		return rerr(r, err, MPT_E_FORMAT, "topology table: bad header");
	uint64_t nd = has_dist ? v[1] * v[1] : 0;
	if (v[0] + nd > mpt__cur_left(c))
		return rerr(r, err, MPT_E_FORMAT, "topology table: counts overrun the table");
	t->ncpus = (uint32_t)v[0];
	t->nnodes = (uint32_t)v[1];
	t->page_size = (uint32_t)v[2];
	t->cache_line = (uint32_t)v[3];
	t->l1d_size = v[4];
	t->l2_size = v[5];
	t->l3_size = v[6];
	t->cpu_node = calloc(t->ncpus ? t->ncpus : 1, sizeof *t->cpu_node);
	if (!t->cpu_node)
		return rerr(r, err, MPT_E_NOMEM, "topology table: out of memory");
	for (uint32_t i = 0; i < t->ncpus; i++) {
		uint64_t x = mpt__get_varint(c);
		if (x > UINT32_MAX)
			c->bad = 1;
		t->cpu_node[i] = (int32_t)mpt__unzz(x);
	}
	if (nd) {
		t->distance = malloc(sizeof *t->distance * nd);
		if (!t->distance)
			return rerr(r, err, MPT_E_NOMEM, "topology table: out of memory");
		for (uint64_t i = 0; i < nd; i++) {
			uint64_t x = mpt__get_varint(c);
			if (x > UINT32_MAX)
				c->bad = 1;
			t->distance[i] = (uint32_t)x;
		}
	}
	if (c->bad)
		return rerr(r, err, MPT_E_FORMAT, "topology table: malformed");
	r->has_topo = 1;
	return MPT_OK;
}

static enum mpt_status parse_meta(mpt_reader *r, struct mpt_cur *c, struct mpt_error *err)
{
	uint64_t n = mpt__get_varint(c);
	size_t left = mpt__cur_left(c);
	if (c->bad || n > left / 2)
		return rerr(r, err, MPT_E_FORMAT, "metadata table: bad count");
	r->meta_k = malloc(sizeof(char *) * (n ? n : 1));
	r->meta_v = malloc(sizeof(char *) * (n ? n : 1));
	r->meta_blob = malloc(left + 2 * n + 1);
	if (!r->meta_k || !r->meta_v || !r->meta_blob)
		return rerr(r, err, MPT_E_NOMEM, "metadata table: out of memory");
	size_t at = 0;
	for (uint64_t i = 0; i < n; i++) {
		for (int kv = 0; kv < 2; kv++) {
			uint64_t len = mpt__get_varint(c);
			const uint8_t *s =
				c->bad || len > mpt__cur_left(c) ? NULL : mpt__get_bytes(c, len);
			if (!s || memchr(s, 0, len))
				return rerr(r, err, MPT_E_FORMAT, "metadata table: entry %llu is malformed",
					    (unsigned long long)i);
			memcpy(r->meta_blob + at, s, len);
			r->meta_blob[at + len] = 0;
			(kv ? r->meta_v : r->meta_k)[i] = r->meta_blob + at;
			at += len + 1;
		}
		if (i && strcmp(r->meta_k[i - 1], r->meta_k[i]) >= 0)
			return rerr(r, err, MPT_E_FORMAT, "metadata table: keys not sorted or duplicated");
	}
	r->nmeta = (uint32_t)n;
	return MPT_OK;
}

static const char *table_name(uint32_t type)
{
	switch (type) {
	case MPT_TAB_STRINGS: return "string";
	case MPT_TAB_FRAMES: return "frame";
	case MPT_TAB_STACKS: return "stack";
	case MPT_TAB_BINARIES: return "binary";
	case MPT_TAB_TOPOLOGY: return "topology";
	case MPT_TAB_META: return "metadata";
	}
	return "unknown";
}

static enum mpt_status load_table(mpt_reader *r, uint32_t type, uint8_t comp, uint64_t off,
				  uint64_t stored, uint64_t raw, uint64_t hash,
				  struct mpt_error *err)
{
	const char *tn = table_name(type);
	char what[64];
	snprintf(what, sizeof what, "%s table", tn);
	if (comp > 1)
		return rerr(r, err, MPT_E_FORMAT, "%s table: unknown compression %u", tn, comp);
	if (raw > MPT_MAX_TABLE_RAW || (comp && raw > stored * MPT_TABLE_MAX_RATIO + 4096) ||
	    (!comp && raw != stored))
		return rerr(r, err, MPT_E_LIMIT, "%s table: declared size %llu not justified by %llu stored bytes",
			    tn, (unsigned long long)raw, (unsigned long long)stored);
	uint8_t *s = malloc(stored ? stored : 1);
	if (!s)
		return rerr(r, err, MPT_E_NOMEM, "%s table: out of memory", tn);
	enum mpt_status st = rd(r, s, stored, off, what, err);
	if (st != MPT_OK) {
		free(s);
		return st;
	}
	if (mpt__hash(s, stored) != hash) {
		free(s);
		return rerr(r, err, MPT_E_CHECKSUM, "%s table: checksum mismatch", tn);
	}
	uint8_t *p = s;
	if (comp) {
		p = malloc(raw ? raw : 1);
		if (!p) {
			free(s);
			return rerr(r, err, MPT_E_NOMEM, "%s table: out of memory", tn);
		}
		const char *why = mpt__unzstd(r->dctx, s, stored, p, raw);
		free(s);
		if (why) {
			free(p);
			return rerr(r, err, MPT_E_FORMAT, "%s table: %s", tn, why);
		}
	}
	struct mpt_cur c;
	mpt__cur_init(&c, p, raw);
	switch (type) {
	case MPT_TAB_STRINGS: st = parse_strings(r, &c, err); break;
	case MPT_TAB_FRAMES: st = parse_frames(r, &c, err); break;
	case MPT_TAB_STACKS: st = parse_stacks(r, &c, err); break;
	case MPT_TAB_BINARIES: st = parse_binaries(r, &c, err); break;
	case MPT_TAB_TOPOLOGY: st = parse_topology(r, &c, err); break;
	case MPT_TAB_META: st = parse_meta(r, &c, err); break;
	default: break; /* a newer minor's table: skipped */
	}
	if (st == MPT_OK && type <= MPT_TAB_META && mpt__cur_left(&c))
		st = rerr(r, err, MPT_E_FORMAT, "%s table: trailing bytes", tn);
	free(p);
	return st;
}

/* ---- open / close -------------------------------------------------------- */

void mpt_reader_close(mpt_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->chunks);
	free(r->str_blob);
	free(r->str_off);
	free(r->str_len);
	free(r->frames);
	free(r->stack_off);
	free(r->stack_frames);
	free(r->binaries);
	free(r->topo.cpu_node);
	free(r->topo.distance);
	free(r->meta_k);
	free(r->meta_v);
	free(r->meta_blob);
	free(r->hdr);
	free(r->io);
	free(r->zout);
	free(r->vals);
	for (unsigned c = 0; c < MPT_NCTX; c++)
		free(r->ctxv[c]);
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		free(r->arr[c]);
	free(r->keep);
	ZSTD_freeDCtx(r->dctx);
	mpt__work_free(&r->work);
	free(r);
}

#define VALID_KINDS (((UINT32_C(1) << MPA_KIND_COUNT_) - 1) & ~UINT32_C(1))

static enum mpt_status open_checked(mpt_reader *r, struct mpt_error *err)
{
	enum mpt_status st;
	uint8_t h[MPT_HEADER_SIZE];
	if (r->size < MPT_HEADER_SIZE) {
		uint8_t m[8];
		size_t n = r->size < 8 ? (size_t)r->size : 8;
		if ((st = rd(r, m, n, 0, "header", err)) != MPT_OK)
			return st;
		if (memcmp(m, MPT_FILE_MAGIC, n) != 0)
			return rerr(r, err, MPT_E_FORMAT, "not an .mpt file (bad magic)");
		return rerr(r, err, MPT_E_TRUNCATED, "file too short (%llu bytes): truncated",
			    (unsigned long long)r->size);
	}
	if ((st = rd(r, h, sizeof h, 0, "header", err)) != MPT_OK)
		return st;
	if (memcmp(h, MPT_FILE_MAGIC, 8) != 0)
		return rerr(r, err, MPT_E_FORMAT, "not an .mpt file (bad magic)");
	r->major = mpt__rd16(h + 8);
	r->minor = mpt__rd16(h + 10);
	if (r->major > MPT_VERSION_MAJOR)
		return rerr(r, err, MPT_E_VERSION,
			    "format version %u.%u is newer than this reader (%u.%u): upgrade mpa",
			    r->major, r->minor, MPT_VERSION_MAJOR, MPT_VERSION_MINOR);
	if (r->major < 1)
		return rerr(r, err, MPT_E_VERSION, "format version %u.%u is not supported",
			    r->major, r->minor);
	if (r->size < MPT_HEADER_SIZE + MPT_TRAILER_SIZE)
		return rerr(r, err, MPT_E_TRUNCATED, "file too short (%llu bytes): truncated",
			    (unsigned long long)r->size);

	uint8_t t[MPT_TRAILER_SIZE];
	if ((st = rd(r, t, sizeof t, r->size - MPT_TRAILER_SIZE, "trailer", err)) != MPT_OK)
		return st;
	if (memcmp(t + 40, MPT_FILE_MAGIC, 8) != 0)
		return rerr(r, err, MPT_E_TRUNCATED,
			    "no trailer at the end: file truncated or not closed by its writer");
	if (mpt__hash(t, 32) != mpt__rd64(t + 32))
		return rerr(r, err, MPT_E_CHECKSUM, "trailer: checksum mismatch");
	if (mpt__rd16(t + 24) != r->major || mpt__rd16(t + 26) != r->minor)
		return rerr(r, err, MPT_E_FORMAT, "trailer: version differs from the header");
	uint64_t foff = mpt__rd64(t), flen = mpt__rd64(t + 8), fhash = mpt__rd64(t + 16);
	uint64_t fend = r->size - MPT_TRAILER_SIZE;
	if (foff < MPT_HEADER_SIZE || foff > fend || flen != fend - foff)
		return rerr(r, err, MPT_E_FORMAT, "trailer: footer offset/length out of range");
	if (flen < MPT_FOOTER_FIXED)
		return rerr(r, err, MPT_E_FORMAT, "footer too short");

	uint8_t *f = malloc(flen);
	if (!f)
		return rerr(r, err, MPT_E_NOMEM, "footer: out of memory");
	if ((st = rd(r, f, flen, foff, "footer", err)) != MPT_OK)
		goto end;
	if (mpt__hash(f, flen) != fhash) {
		st = rerr(r, err, MPT_E_CHECKSUM, "footer: checksum mismatch");
		goto end;
	}
	struct mpt_cur c;
	mpt__cur_init(&c, f, flen);
	uint32_t magic = mpt__get_u32(&c), nchunks = mpt__get_u32(&c), ntables = mpt__get_u32(&c);
	uint16_t ces = mpt__get_u16(&c), tes = mpt__get_u16(&c);
	uint64_t total = mpt__get_u64(&c);
	if (magic != MPT_FOOTER_MAGIC) {
		st = rerr(r, err, MPT_E_FORMAT, "footer: bad magic");
		goto end;
	}
	if (ces < MPT_CHUNK_ENTRY_SIZE || tes < MPT_TABLE_ENTRY_SIZE ||
	    (uint64_t)nchunks * ces + (uint64_t)ntables * tes != flen - MPT_FOOTER_FIXED) {
		st = rerr(r, err, MPT_E_FORMAT, "footer: entry counts disagree with its length");
		goto end;
	}
	r->chunks = calloc(nchunks ? nchunks : 1, sizeof *r->chunks);
	if (!r->chunks) {
		st = rerr(r, err, MPT_E_NOMEM, "footer: out of memory");
		goto end;
	}
	uint64_t pos = MPT_HEADER_SIZE, sum = 0;
	for (uint32_t i = 0; i < nchunks; i++) {
		const uint8_t *e = mpt__get_bytes(&c, ces);
		struct chunk_ent *ch = &r->chunks[i];
		ch->offset = mpt__rd64(e);
		ch->length = mpt__rd64(e + 8);
		ch->hlen = mpt__rd32(e + 16);
		ch->rows = mpt__rd32(e + 20);
		ch->kinds = mpt__rd32(e + 24);
		ch->ts_min = mpt__rd64(e + 32);
		ch->ts_max = mpt__rd64(e + 40);
		if (ch->offset != pos || ch->length > foff - pos) {
			st = rerr(r, err, MPT_E_FORMAT, "chunk %u: offset/length out of place", i);
			goto end;
		}
		if (ch->rows == 0 || ch->rows > MPT_MAX_CHUNK_ROWS) {
			st = rerr(r, err, MPT_E_LIMIT, "chunk %u: %u rows (limit %u)", i, ch->rows,
				  MPT_MAX_CHUNK_ROWS);
			goto end;
		}
		if (ch->hlen < MPT_CHUNK_FIXED + 8 || ch->hlen > ch->length ||
		    ch->hlen > MPT_CHUNK_FIXED + 8 + MPT_MAX_COLS_ON_DISK * 1024u) {
			st = rerr(r, err, MPT_E_FORMAT, "chunk %u: bad header length", i);
			goto end;
		}
		if (!ch->kinds || (ch->kinds & ~mpt__kinds_of_major(r->major)) ||
		    ch->ts_min > ch->ts_max) {
			st = rerr(r, err, MPT_E_FORMAT, "chunk %u: bad statistics", i);
			goto end;
		}
		pos += ch->length;
		sum += ch->rows;
		if (ch->rows > r->max_rows)
			r->max_rows = ch->rows;
	}
	if (sum != total) {
		st = rerr(r, err, MPT_E_FORMAT, "footer: row count %llu disagrees with the chunks (%llu)",
			  (unsigned long long)total, (unsigned long long)sum);
		goto end;
	}
	r->nchunks = nchunks;
	r->total_rows = total;
	int seen[MPT_TAB_META + 1] = { 0 };
	for (uint32_t i = 0; i < ntables; i++) {
		const uint8_t *e = mpt__get_bytes(&c, tes);
		uint32_t type = mpt__rd32(e);
		uint8_t comp = e[4];
		uint64_t off = mpt__rd64(e + 8), stored = mpt__rd64(e + 16), raw = mpt__rd64(e + 24),
			 hash = mpt__rd64(e + 32);
		if (off != pos || stored > foff - pos) {
			st = rerr(r, err, MPT_E_FORMAT, "%s table: offset/length out of place",
				  table_name(type));
			goto end;
		}
		pos += stored;
		if (type <= MPT_TAB_META) {
			if (type == 0 || seen[type]++) {
				st = rerr(r, err, MPT_E_FORMAT, "footer: table type %u invalid or repeated",
					  type);
				goto end;
			}
		}
		if ((st = load_table(r, type, comp, off, stored, raw, hash, err)) != MPT_OK)
			goto end;
	}
	if (pos != foff) {
		st = rerr(r, err, MPT_E_FORMAT, "footer: %llu unaccounted bytes before the footer",
			  (unsigned long long)(foff - pos));
		goto end;
	}
	if (!seen[MPT_TAB_STRINGS]) {
		st = rerr(r, err, MPT_E_FORMAT, "string table missing");
		goto end;
	}
	st = MPT_OK;
end:
	free(f);
	return st;
}

enum mpt_status mpt_reader_open(const char *path, mpt_reader **out, struct mpt_error *err)
{
	if (!out || !path)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_open: NULL argument");
	*out = NULL;
	mpt_reader *r = calloc(1, sizeof *r);
	if (!r)
		return mpt__err(err, MPT_E_NOMEM, "'%s': out of memory", path);
	r->fd = -1;
	r->path = strdup(path);
	r->dctx = ZSTD_createDCtx();
	if (!r->path || !r->dctx) {
		mpt_reader_close(r);
		return mpt__err(err, MPT_E_NOMEM, "'%s': out of memory", path);
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (r->fd < 0 || fstat(r->fd, &sb)) {
		enum mpt_status st = mpt__err(err, MPT_E_IO, "'%s': %s", path, strerror(errno));
		mpt_reader_close(r);
		return st;
	}
	if (!S_ISREG(sb.st_mode)) {
		mpt_reader_close(r);
		return mpt__err(err, MPT_E_IO, "'%s': not a regular file", path);
	}
	r->size = (uint64_t)sb.st_size;
	enum mpt_status st = open_checked(r, err);
	if (st != MPT_OK) {
		mpt_reader_close(r);
		return st;
	}
	r->scan.columns = MPT_COLS_ALL;
	r->need_cols = MPT_COLS_ALL;
	*out = r;
	return MPT_OK;
}

/* ---- accessors ----------------------------------------------------------- */

uint32_t mpt_reader_version_major(const mpt_reader *r) { return r ? r->major : 0; }
uint32_t mpt_reader_version_minor(const mpt_reader *r) { return r ? r->minor : 0; }
uint64_t mpt_reader_rows(const mpt_reader *r) { return r ? r->total_rows : 0; }
uint64_t mpt_reader_file_size(const mpt_reader *r) { return r ? r->size : 0; }
uint32_t mpt_reader_chunk_count(const mpt_reader *r) { return r ? r->nchunks : 0; }
uint64_t mpt_reader_bytes_read(const mpt_reader *r) { return r ? r->bytes_read : 0; }

enum mpt_status mpt_reader_chunk_info(const mpt_reader *r, uint32_t chunk,
				      struct mpt_chunk_info *info)
{
	if (!r || !info || chunk >= r->nchunks)
		return MPT_E_ARG;
	const struct chunk_ent *c = &r->chunks[chunk];
	*info = (struct mpt_chunk_info){ c->offset, c->length, c->rows, c->kinds, c->ts_min,
					 c->ts_max };
	return MPT_OK;
}

uint32_t mpt_reader_meta_count(const mpt_reader *r) { return r ? r->nmeta : 0; }

void mpt_reader_meta_at(const mpt_reader *r, uint32_t i, const char **key, const char **value)
{
	int ok = r && i < r->nmeta;
	if (key)
		*key = ok ? r->meta_k[i] : NULL;
	if (value)
		*value = ok ? r->meta_v[i] : NULL;
}

const char *mpt_reader_meta(const mpt_reader *r, const char *key)
{
	if (!r || !key)
		return NULL;
	uint32_t lo = 0, hi = r->nmeta;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->meta_k[mid], key);
		if (c == 0)
			return r->meta_v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint32_t mpt_reader_string_count(const mpt_reader *r) { return r ? r->nstrings : 0; }

const char *mpt_reader_string(const mpt_reader *r, uint32_t id, size_t *len)
{
	if (!r || id >= r->nstrings) {
		if (len)
			*len = 0;
		return "";
	}
	if (len)
		*len = r->str_len[id];
	return r->str_blob + r->str_off[id];
}

uint32_t mpt_reader_frame_count(const mpt_reader *r) { return r ? r->nframes : 0; }

const struct mpt_frame *mpt_reader_frame(const mpt_reader *r, uint32_t id)
{
	if (!r || id == 0 || id > r->nframes)
		return NULL;
	return &r->frames[id - 1];
}

uint32_t mpt_reader_stack_count(const mpt_reader *r) { return r ? r->nstacks : 0; }

const uint32_t *mpt_reader_stack(const mpt_reader *r, uint32_t id, uint32_t *n)
{
	if (!r || id == 0 || id > r->nstacks) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = (uint32_t)(r->stack_off[id] - r->stack_off[id - 1]);
	return r->stack_frames + r->stack_off[id - 1];
}

uint32_t mpt_reader_binary_count(const mpt_reader *r) { return r ? r->nbinaries : 0; }

const struct mpt_binary *mpt_reader_binary(const mpt_reader *r, uint32_t i)
{
	if (!r || i >= r->nbinaries)
		return NULL;
	return &r->binaries[i];
}

const struct mpt_topology *mpt_reader_topology(const mpt_reader *r)
{
	return r && r->has_topo ? &r->topo : NULL;
}

/* ---- chunks -------------------------------------------------------------- */

/* Reads and validates the header of chunk i into r->desc. */
static enum mpt_status load_chunk_header(mpt_reader *r, uint32_t i, struct mpt_error *err)
{
	const struct chunk_ent *ch = &r->chunks[i];
	enum mpt_status st;
	char what[48];
	snprintf(what, sizeof what, "chunk %u header", i);
	if (mpt__grow((void **)&r->hdr, &r->hdr_cap, ch->hlen))
		return rerr(r, err, MPT_E_NOMEM, "chunk %u: out of memory", i);
	if ((st = rd(r, r->hdr, ch->hlen, ch->offset, what, err)) != MPT_OK)
		return st;
	r->bytes_read += ch->hlen;
	const uint8_t *h = r->hdr;
	if (mpt__rd32(h) != MPT_CHUNK_MAGIC)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: bad chunk magic", i);
	if (mpt__hash(h, ch->hlen - 8) != mpt__rd64(h + ch->hlen - 8))
		return rerr(r, err, MPT_E_CHECKSUM, "chunk %u header: checksum mismatch", i);
	uint32_t hlen = mpt__rd32(h + 4), rows = mpt__rd32(h + 8), kinds = mpt__rd32(h + 12);
	uint64_t tmin = mpt__rd64(h + 16), tmax = mpt__rd64(h + 24);
	uint16_t ncols = mpt__rd16(h + 32), dsz = mpt__rd16(h + 34);
	if (hlen != ch->hlen || rows != ch->rows || kinds != ch->kinds || tmin != ch->ts_min ||
	    tmax != ch->ts_max)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: header disagrees with the footer index", i);
	if (dsz < MPT_COLDESC_SIZE || ncols > MPT_MAX_COLS_ON_DISK ||
	    (uint64_t)MPT_CHUNK_FIXED + (uint64_t)ncols * dsz + 8 != hlen)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: bad column descriptor table", i);
	uint64_t off = hlen;
	int prev = -1;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		r->col_desc[c] = -1;
	for (unsigned k = 0; k < ncols; k++) {
		const uint8_t *d = h + MPT_CHUNK_FIXED + (size_t)k * dsz;
		struct coldesc *cd = &r->desc[k];
		cd->col = d[0];
		cd->enc = d[1];
		cd->comp = d[2];
		cd->values = mpt__rd32(d + 4);
		cd->raw = mpt__rd32(d + 8);
		cd->enc_bytes = mpt__rd32(d + 12);
		cd->stored = mpt__rd32(d + 16);
		cd->hash = mpt__rd64(d + 24);
		cd->off = off;
		cd->needed = 0;
		const char *cn = colname(cd->col);
		if ((int)cd->col <= prev || cd->col >= MPT_MAX_COLS_ON_DISK)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u: column ids not increasing", i);
		prev = cd->col;
		if (cd->stored > ch->length - off)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: stored size overruns the chunk",
				    i, cn);
		off += cd->stored;
		if (cd->col >= MPT_COL_COUNT_)
			continue; /* a newer minor's column: skipped */
		if (cd->values == 0 || cd->values > rows)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %u values for %u rows", i,
				    cn, cd->values, rows);
		if (cd->raw != (uint64_t)cd->values * mpt__cols[cd->col].width)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: raw size disagrees with the value count",
				    i, cn);
		if (cd->enc >= MPT_ENC_COUNT_)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: unknown encoding %u", i,
				    cn, cd->enc);
		if (mpt__enc_major(cd->enc) > r->major)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: encoding %u needs format %u.0, the file is %u.%u",
				    i, cn, cd->enc, mpt__enc_major(cd->enc), r->major, r->minor);
		if (cd->comp > 1)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: unknown compression %u",
				    i, cn, cd->comp);
		if (cd->enc_bytes > mpt__enc_bound(cd->values))
			return rerr(r, err, MPT_E_LIMIT, "chunk %u column %s: encoded size %u exceeds the bound for %u values",
				    i, cn, cd->enc_bytes, cd->values);
		if (cd->comp ? (cd->stored == 0 || cd->stored > ZSTD_compressBound(cd->enc_bytes))
			     : cd->stored != cd->enc_bytes)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: stored size disagrees with the encoded size",
				    i, cn);
		r->col_desc[cd->col] = (int)k;
	}
	if (off != ch->length)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: column sizes do not add up to the chunk length",
			    i);
	r->ndesc = ncols;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		int present = r->col_desc[c] >= 0, expect = (mpt__cols[c].kinds & kinds) != 0;
		if (present != expect)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %s", i, colname(c),
				    present ? "present although no row has it" : "missing");
	}
	return MPT_OK;
}

static enum mpt_status ensure_rows(mpt_reader *r, uint32_t rows, struct mpt_error *err)
{
	if (rows <= r->cap_rows)
		return MPT_OK;
	uint32_t cap = rows;
	free(r->vals);
	free(r->keep);
	r->vals = calloc(cap, sizeof *r->vals); /* scatter may read one past the values */
	r->keep = malloc(sizeof *r->keep * cap);
	int ctx_ok = 1;
	for (unsigned c = 0; c < MPT_NCTX; c++) {
		free(r->ctxv[c]);
		r->ctxv[c] = malloc(sizeof(uint64_t) * cap);
		ctx_ok &= r->ctxv[c] != NULL;
	}
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		free(r->arr[c]);
		r->arr[c] = NULL;
		r->zeroed[c] = 0;
	}
	r->cap_rows = 0;
	if (!r->vals || !ctx_ok || !r->keep)
		return rerr(r, err, MPT_E_NOMEM, "out of memory for %u rows", rows);
	r->cap_rows = cap; /* column arrays are allocated on first use */
	return MPT_OK;
}


/* Reads the stored bytes of the needed columns, coalescing neighbours. */
static enum mpt_status read_columns(mpt_reader *r, uint32_t i, struct mpt_error *err)
{
	const struct chunk_ent *ch = &r->chunks[i];
	uint64_t total = 0;
	for (unsigned k = 0; k < r->ndesc; k++)
		if (r->desc[k].needed)
			total += r->desc[k].stored;
	if (mpt__grow((void **)&r->io, &r->io_cap, total ? total : 1))
		return rerr(r, err, MPT_E_NOMEM, "chunk %u: out of memory", i);
	uint64_t at = 0;
	for (unsigned k = 0; k < r->ndesc;) {
		if (!r->desc[k].needed) {
			k++;
			continue;
		}
		unsigned j = k;
		uint64_t len = 0;
		while (j < r->ndesc && r->desc[j].needed) {
			r->desc[j].io = at + len;
			len += r->desc[j].stored;
			j++;
		}
		char what[64];
		snprintf(what, sizeof what, "chunk %u column %s", i, colname(r->desc[k].col));
		enum mpt_status st = rd(r, r->io + at, len, ch->offset + r->desc[k].off, what, err);
		if (st != MPT_OK)
			return st;
		r->bytes_read += len;
		at += len;
		k = j;
	}
	return MPT_OK;
}

/* Checks, decompresses and decodes column desc k into r->vals. */
/* *by_row (when given) is set when r->vals holds one value per row (0 on
 * rows without the field) instead of the column's values in order. */
static enum mpt_status decode_column(mpt_reader *r, uint32_t i, unsigned k,
				     const struct mpt_codec_ctx *ctx, int *by_row,
				     struct mpt_error *err)
{
	if (by_row)
		*by_row = 0;
	const struct coldesc *cd = &r->desc[k];
	const char *cn = colname(cd->col);
	const uint8_t *s = r->io + cd->io;
	if (mpt__hash(s, cd->stored) != cd->hash)
		return rerr(r, err, MPT_E_CHECKSUM, "chunk %u column %s: checksum mismatch", i, cn);
	if (cd->col >= MPT_COL_COUNT_)
		return MPT_OK;
	const uint8_t *e = s;
	if (cd->comp) {
		if (mpt__grow((void **)&r->zout, &r->zcap, cd->enc_bytes ? cd->enc_bytes : 1))
			return rerr(r, err, MPT_E_NOMEM, "chunk %u column %s: out of memory", i, cn);
		const char *why = mpt__unzstd(r->dctx, s, cd->stored, r->zout, cd->enc_bytes);
		if (why)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %s", i, cn, why);
		e = r->zout;
	}
	const char *why;
	uint32_t nv = cd->values;
	if (by_row && cd->enc == MPT_ENC_CONST) {
		/* one value: fill_const() writes the rows, nothing is expanded here */
		struct mpt_cur c;
		mpt__cur_init(&c, e, cd->enc_bytes);
		r->vals[0] = mpt__get_varint(&c);
		if (c.bad)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: encoded data ends early or holds a bad varint",
				    i, cn);
		if (c.pos != c.len)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: trailing bytes after the encoded values",
				    i, cn);
		*by_row = 2;
		nv = 1;
	} else if (by_row && cd->enc == MPT_ENC_KSPLIT && ctx->kind) {
		/* straight into row order: no scatter pass afterwards */
		if (mpt__decode_ksplit_rows(cd->col, e, cd->enc_bytes, r->vals, cd->values, ctx,
					    &why))
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %s", i, cn, why);
		*by_row = 1;
		nv = ctx->rows;
	} else if (by_row && cd->enc == MPT_ENC_USIZE && cd->col == MPT_COL_USABLE && ctx->kind &&
		   ctx->size) {
		if (mpt__decode_usize_rows(e, cd->enc_bytes, r->vals, cd->values, ctx, &why))
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %s", i, cn, why);
		*by_row = 1;
		nv = ctx->rows;
	} else if (mpt__decode(cd->col, cd->enc, e, cd->enc_bytes, r->vals, cd->values, ctx,
			       &why)) {
		return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %s", i, cn, why);
	}
	const struct mpt_coldef *def = &mpt__cols[cd->col];
	if (def->width < 8) {
		/* lim is 2^k - 1: a value exceeds it iff the OR of all does */
		uint64_t lim = (UINT64_C(1) << (8 * def->width)) - 1, any = 0;
		for (uint32_t v = 0; v < nv; v++)
			any |= r->vals[v];
		if (any > lim)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: value out of range",
				    i, cn);
	}
	return MPT_OK;
}

/* Column col holds x on every row whose kind carries it (0 on the others);
 * full, when given, gets the u64 form of every row. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))
#endif
static void fill_const(mpt_reader *r, unsigned col, uint32_t rows, const uint8_t *kind,
		       uint32_t chunk_kinds, uint64_t x, uint64_t *full)
{
	const struct mpt_coldef *def = &mpt__cols[col];
	uint32_t mask = def->kinds;
	int every = (mask & MPT_COLS_ALL_KINDS) == MPT_COLS_ALL_KINDS || (chunk_kinds & ~mask) == 0;
	r->zeroed[col] = 0;
	if (full)
		for (uint32_t i = 0; i < rows; i++)
			full[i] = every ? x : x & -(uint64_t)((mask >> (kind[i] & 31)) & 1);
#define FILL(T, XC)                                                                    \
	do {                                                                           \
		T *out = r->arr[col], xc = (T)(XC);                                    \
		if (every)                                                             \
			for (uint32_t i = 0; i < rows; i++)                            \
				out[i] = xc;                                           \
		else                                                                   \
			for (uint32_t i = 0; i < rows; i++)                            \
				out[i] = xc & (T) - (T)((mask >> (kind[i] & 31)) & 1); \
	} while (0)
	switch (def->width) {
	case 1:
		FILL(uint8_t, x);
		break;
	case 2:
		FILL(uint16_t, x);
		break;
	case 4:
		if (def->is_signed)
			FILL(uint32_t, (uint32_t)(int32_t)mpt__unzz(x));
		else
			FILL(uint32_t, x);
		break;
	default:
		FILL(uint64_t, x);
		break;
	}
#undef FILL
}

/* Scatters r->vals of column col over the rows whose kind carries it
 * (0 on the others); full, when given, gets the u64 form of every row.
 * Branch-free: a row without the field reads the next value (r->vals has
 * room for a value per row, so that read stays in bounds) and masks it. */
#if defined(__GNUC__) && !defined(__clang__)
/* the widening/narrowing copies vectorize; -O2 of gcc 12 does not try */
__attribute__((optimize("tree-vectorize")))
#endif
static void scatter(mpt_reader *r, unsigned col, uint32_t rows, const uint8_t *kind,
		    uint32_t chunk_kinds, int by_row, uint64_t *full)
{
	const struct mpt_coldef *def = &mpt__cols[col];
	uint32_t mask = def->kinds;
	const uint64_t *v = r->vals;
	/* every row has the field when every kind in the chunk carries it */
	int all = by_row || (mask & MPT_COLS_ALL_KINDS) == MPT_COLS_ALL_KINDS ||
		  (chunk_kinds & ~mask) == 0;
	r->zeroed[col] = 0;
	if (full) {
		if (all) {
			memcpy(full, v, sizeof *full * rows);
		} else {
			uint32_t j = 0;
			for (uint32_t i = 0; i < rows; i++) {
				uint64_t has = (mask >> (kind[i] & 31)) & 1;
				full[i] = v[j] & -has;
				j += (uint32_t)has;
			}
		}
		v = full;
		all = 1; /* full is indexed by row now */
	}
#define SCATTER(T, CONV)                                                               \
	do {                                                                           \
		T *out = r->arr[col];                                                  \
		if (all) {                                                             \
			for (uint32_t i = 0; i < rows; i++) {                          \
				uint64_t x = v[i];                                     \
				out[i] = (T)(CONV);                                    \
			}                                                              \
			break;                                                         \
		}                                                                      \
		uint32_t j = 0;                                                        \
		for (uint32_t i = 0; i < rows; i++) {                                  \
			uint64_t has = (mask >> (kind[i] & 31)) & 1;                   \
			uint64_t x = v[j] & -has;                                      \
			j += (uint32_t)has;                                            \
			out[i] = (T)(CONV);                                            \
		}                                                                      \
	} while (0)
	switch (def->width) {
	case 1:
		SCATTER(uint8_t, x);
		break;
	case 2:
		SCATTER(uint16_t, x);
		break;
	case 4:
		if (def->is_signed)
			SCATTER(uint32_t, (uint32_t)(int32_t)mpt__unzz(x));
		else
			SCATTER(uint32_t, x);
		break;
	default:
		if (all && v != r->arr[col])
			memcpy(r->arr[col], v, sizeof *v * rows);
		else if (!all)
			SCATTER(uint64_t, x);
		break;
	}
#undef SCATTER
}

/* The batch of chunk i: the columns in want (absent ones all zero), n rows. */
static enum mpt_status set_batch(mpt_reader *r, uint32_t i, uint64_t want, uint32_t n,
				 uint32_t rows)
{
	struct mpt_batch *b = &r->batch;
	memset(b, 0, sizeof *b);
	b->chunk = i;
	b->n = n;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		if (!(want & MPT_COLBIT(c)))
			continue;
		if (r->col_desc[c] < 0 && r->zeroed[c] < rows) {
			memset(r->arr[c], 0, (size_t)mpt__cols[c].width * rows);
			r->zeroed[c] = rows; /* later chunks without it skip the memset */
		}
		memcpy((char *)b + mpt__cols[c].batch_off, &r->arr[c], sizeof(void *));
	}
	return MPT_OK;
}

/* The pid filter, before anything else of chunk i is read: reads and decodes
 * the pid column alone (unless its encoding needs another column) and sets
 * *match to the rows of pid, so a chunk without it costs its header and
 * this column only, and a CONST pid column (one process) is decided without
 * touching a row.  *match is UINT32_MAX when the column is left to the
 * normal decode (then filtered row by row).  fill: arr[pid] must hold the
 * rows even when they all match. */
static enum mpt_status pid_first(mpt_reader *r, uint32_t i, int32_t pid, int fill,
				 uint32_t *match, struct mpt_error *err)
{
	const struct chunk_ent *ch = &r->chunks[i];
	int d = r->col_desc[MPT_COL_PID];
	*match = UINT32_MAX;
	if (d < 0 || r->desc[d].enc == MPT_ENC_KSPLIT || r->desc[d].enc == MPT_ENC_TIDCTX ||
	    r->desc[d].enc == MPT_ENC_PTR || r->desc[d].enc == MPT_ENC_PTR2)
		return MPT_OK;
	struct coldesc *cd = &r->desc[d];
	if (cd->values != ch->rows)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u column pid: %u values, %u rows have the field",
			    i, cd->values, ch->rows);
	char what[48];
	snprintf(what, sizeof what, "chunk %u column pid", i);
	enum mpt_status st;
	if (mpt__grow((void **)&r->io, &r->io_cap, cd->stored ? cd->stored : 1))
		return rerr(r, err, MPT_E_NOMEM, "chunk %u: out of memory", i);
	if ((st = rd(r, r->io, cd->stored, ch->offset + cd->off, what, err)) != MPT_OK)
		return st;
	r->bytes_read += cd->stored;
	cd->io = 0;
	cd->needed = 0; /* decoded here, not again with the others */
	struct mpt_codec_ctx ctx = { &r->work, ch->rows, NULL, NULL, NULL, NULL };
	int by_row;
	if ((st = decode_column(r, i, (unsigned)d, &ctx, &by_row, err)) != MPT_OK)
		return st;
	if (by_row == 2) {
		int same = (int32_t)mpt__unzz(r->vals[0]) == pid;
		*match = same ? ch->rows : 0;
		if (same && fill)
			fill_const(r, MPT_COL_PID, ch->rows, NULL, ch->kinds, r->vals[0], NULL);
		return MPT_OK;
	}
	scatter(r, MPT_COL_PID, ch->rows, NULL, ch->kinds, 1, NULL);
	const int32_t *p = r->arr[MPT_COL_PID];
	uint32_t m = 0;
	for (uint32_t j = 0; j < ch->rows; j++)
		m += p[j] == pid;
	*match = m;
	return MPT_OK;
}

/* Decodes chunk i: the columns in want (plus kind, ts and dependencies),
 * then keeps the rows passing the scan's filters when filter is set. */
static enum mpt_status decode_chunk(mpt_reader *r, uint32_t i, uint64_t want, int filter,
				    int all_bytes, struct mpt_error *err)
{
	enum mpt_status st;
	const struct chunk_ent *ch = &r->chunks[i];
	if ((st = load_chunk_header(r, i, err)) != MPT_OK)
		return st;
	if ((st = ensure_rows(r, ch->rows, err)) != MPT_OK)
		return st;
	uint32_t rows = ch->rows;
	want |= MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS);
	int32_t pid = filter ? r->scan.pid : 0;
	/* decoded: what the caller wants, and pid for the pid filter */
	uint64_t dec = want | (pid ? MPT_COLBIT(MPT_COL_PID) : 0), need = 0;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if ((dec & MPT_COLBIT(c)) && r->col_desc[c] >= 0) {
			const struct coldesc *cd = &r->desc[r->col_desc[c]];
			need |= MPT_COLBIT(c) | mpt__enc_deps(c, cd->enc);
		}
	for (unsigned k = 0; k < r->ndesc; k++) {
		unsigned c = r->desc[k].col;
		r->desc[k].needed = all_bytes || (c < MPT_COL_COUNT_ && (need & MPT_COLBIT(c)));
	}
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		int used = ((need | want) & MPT_COLBIT(c)) || (all_bytes && r->col_desc[c] >= 0);
		if (used && !r->arr[c] &&
		    !(r->arr[c] = malloc((size_t)mpt__cols[c].width * r->cap_rows)))
			return rerr(r, err, MPT_E_NOMEM, "chunk %u: out of memory", i);
	}
	uint32_t pid_match = rows;
	if (pid && (st = pid_first(r, i, pid, (want & MPT_COLBIT(MPT_COL_PID)) != 0, &pid_match,
				   err)) != MPT_OK)
		return st;
	if (pid_match == 0) /* no row of pid: nothing else is read */
		return set_batch(r, i, want, 0, rows);
	if ((st = read_columns(r, i, err)) != MPT_OK)
		return st;

	/* kind first: it says which rows every other column covers */
	struct mpt_codec_ctx ctx = { &r->work, rows, NULL, NULL, NULL, NULL };
	int kd = r->col_desc[MPT_COL_KIND];
	if (r->desc[kd].values != rows)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u column kind: %u values for %u rows", i,
			    r->desc[kd].values, rows);
	if ((st = decode_column(r, i, (unsigned)kd, &ctx, NULL, err)) != MPT_OK)
		return st;
	uint8_t *kind = r->arr[MPT_COL_KIND];
	uint32_t per_kind[MPA_KIND_COUNT_] = { 0 }, seen = 0;
	/* validate and narrow (branch-free), then count with four interleaved
	 * histograms (no store-to-load chain on runs of one kind) */
	uint64_t badk = 0;
	for (uint32_t j = 0; j < rows; j++) {
		uint64_t k = r->vals[j];
		badk |= (uint64_t)(k - 1 >= MPA_KIND_COUNT_ - 1);
		kind[j] = (uint8_t)k;
	}
	if (badk) {
		for (uint32_t j = 0; j < rows; j++) {
			uint64_t k = r->vals[j];
			if (k == 0 || k >= MPA_KIND_COUNT_)
				return rerr(r, err, MPT_E_FORMAT, "chunk %u column kind: invalid kind %llu at row %u",
					    i, (unsigned long long)k, j);
		}
	}
	{
		uint32_t h[4][32] = { { 0 } };
		uint32_t j = 0;
		for (; j + 4 <= rows; j += 4) {
			h[0][kind[j]]++;
			h[1][kind[j + 1]]++;
			h[2][kind[j + 2]]++;
			h[3][kind[j + 3]]++;
		}
		for (; j < rows; j++)
			h[0][kind[j]]++;
		for (unsigned k = 1; k < MPA_KIND_COUNT_; k++) {
			per_kind[k] = h[0][k] + h[1][k] + h[2][k] + h[3][k];
			if (per_kind[k])
				seen |= MPT_KINDBIT(k);
		}
	}
	if (seen != ch->kinds)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: kinds statistics disagree with the kind column",
			    i);
	ctx.kind = kind;
	for (unsigned k = 0; k < r->ndesc; k++) {
		unsigned c = r->desc[k].col;
		if (c >= MPT_COL_COUNT_)
			continue;
		uint32_t expect = 0;
		for (unsigned kk = 1; kk < MPA_KIND_COUNT_; kk++)
			if (mpt__cols[c].kinds & MPT_KINDBIT(kk))
				expect += per_kind[kk];
		if (r->desc[k].values != expect)
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: %u values, %u rows have the field",
				    i, colname(c), r->desc[k].values, expect);
	}
	/* the context columns other encodings depend on next (tid, size,
	 * new_ptr: absent ones are all zero), then the rest */
	const uint64_t **ctxp[MPT_NCTX] = { &ctx.tid, &ctx.size, &ctx.new_ptr };
	for (unsigned f = 0; f < MPT_NCTX; f++) {
		unsigned c = mpt__ctx_cols[f];
		int d = r->col_desc[c];
		if (d < 0) {
			memset(r->ctxv[f], 0, sizeof(uint64_t) * rows);
			*ctxp[f] = r->ctxv[f];
			continue;
		}
		if (!r->desc[d].needed)
			continue;
		if (mpt__enc_deps(c, r->desc[d].enc) & ~MPT_COLBIT(MPT_COL_TID) ||
		    (mpt__enc_deps(c, r->desc[d].enc) && !ctx.tid))
			return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: encoding %u not allowed here",
				    i, colname(c), r->desc[d].enc);
		int by_row;
		if ((st = decode_column(r, i, (unsigned)d, &ctx, &by_row, err)) != MPT_OK)
			return st;
		if (by_row == 2)
			fill_const(r, c, rows, kind, seen, r->vals[0], r->ctxv[f]);
		else
			scatter(r, c, rows, kind, seen, by_row, r->ctxv[f]);
		*ctxp[f] = r->ctxv[f];
	}
	for (unsigned k = 0; k < r->ndesc; k++) {
		unsigned c = r->desc[k].col;
		if (!r->desc[k].needed || c == MPT_COL_KIND || c == MPT_COL_TID || c == MPT_COL_SIZE ||
		    c == MPT_COL_NEW_PTR)
			continue;
		if (c < MPT_COL_COUNT_) {
			uint64_t deps = mpt__enc_deps(c, r->desc[k].enc);
			if (((deps & MPT_COLBIT(MPT_COL_TID)) && !ctx.tid) ||
			    ((deps & MPT_COLBIT(MPT_COL_SIZE)) && !ctx.size) ||
			    ((deps & MPT_COLBIT(MPT_COL_NEW_PTR)) && !ctx.new_ptr))
				return rerr(r, err, MPT_E_FORMAT, "chunk %u column %s: dependency missing",
					    i, colname(c));
		}
		int by_row;
		if ((st = decode_column(r, i, k, &ctx, &by_row, err)) != MPT_OK)
			return st;
		if (c < MPT_COL_COUNT_)
			by_row == 2 ? fill_const(r, c, rows, kind, seen, r->vals[0], NULL)
				    : scatter(r, c, rows, kind, seen, by_row, NULL);
	}
	const uint64_t *ts = r->arr[MPT_COL_TS];
	/* four independent lanes: no compare chain through one register */
	uint64_t mn[4] = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX }, mx[4] = { 0 };
	uint32_t jj = 0;
	for (; jj + 4 <= rows; jj += 4)
		for (unsigned l = 0; l < 4; l++) {
			uint64_t t = ts[jj + l];
			mn[l] = t < mn[l] ? t : mn[l];
			mx[l] = t > mx[l] ? t : mx[l];
		}
	for (; jj < rows; jj++) {
		mn[0] = ts[jj] < mn[0] ? ts[jj] : mn[0];
		mx[0] = ts[jj] > mx[0] ? ts[jj] : mx[0];
	}
	uint64_t tmin = mn[0], tmax = mx[0];
	for (unsigned l = 1; l < 4; l++) {
		tmin = mn[l] < tmin ? mn[l] : tmin;
		tmax = mx[l] > tmax ? mx[l] : tmax;
	}
	if (tmin != ch->ts_min || tmax != ch->ts_max)
		return rerr(r, err, MPT_E_FORMAT, "chunk %u: time statistics disagree with the ts column", i);

	/* row filter: a test is made per row only where the chunk's statistics
	 * (kinds, time range, a CONST pid) do not already decide it */
	const struct mpt_scan *sc = &r->scan;
	int byk = filter && sc->kinds && (ch->kinds & ~sc->kinds);
	int byt = filter && ((sc->ts_from && ch->ts_min < sc->ts_from) ||
			     (sc->ts_to && ch->ts_max >= sc->ts_to));
	int byp = pid && pid_match != rows;
	uint32_t n = rows;
	if (byk || byt || byp) {
		const int32_t *pv = r->arr[MPT_COL_PID];
		n = 0;
		for (uint32_t j = 0; j < rows; j++) {
			if (byk && !(sc->kinds & MPT_KINDBIT(kind[j])))
				continue;
			if (byt && (ts[j] < sc->ts_from || (sc->ts_to && ts[j] >= sc->ts_to)))
				continue;
			if (byp && pv[j] != pid)
				continue;
			r->keep[n++] = j;
		}
		if (n != rows) /* the columns the batch shows; the others stay as decoded */
			for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
				if (want & MPT_COLBIT(c) && r->col_desc[c] >= 0)
					mpt__gather(r->arr[c], mpt__cols[c].width, r->keep, n);
	}
	return set_batch(r, i, want, n, rows);
}

enum mpt_status mpt_reader_scan(mpt_reader *r, const struct mpt_scan *scan,
				struct mpt_error *err)
{
	if (!r)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_scan: NULL reader");
	if (scan) {
		if (scan->kinds & ~VALID_KINDS)
			return rerr(r, err, MPT_E_ARG, "scan: invalid kinds mask 0x%x", scan->kinds);
		r->scan = *scan;
	} else {
		r->scan = (struct mpt_scan){ .columns = MPT_COLS_ALL };
	}
	r->need_cols = (r->scan.columns & MPT_COLS_ALL) | MPT_COLBIT(MPT_COL_KIND) |
		       MPT_COLBIT(MPT_COL_TS);
	r->cursor = 0;
	return MPT_OK;
}

static int chunk_excluded(const mpt_reader *r, const struct chunk_ent *ch)
{
	const struct mpt_scan *s = &r->scan;
	if (s->kinds && !(s->kinds & ch->kinds))
		return 1;
	if (ch->ts_max < s->ts_from)
		return 1;
	if (s->ts_to && ch->ts_min >= s->ts_to)
		return 1;
	return 0;
}

enum mpt_status mpt_reader_next(mpt_reader *r, const struct mpt_batch **batch,
				struct mpt_error *err)
{
	if (!r || !batch)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_next: NULL argument");
	*batch = NULL;
	while (r->cursor < r->nchunks) {
		uint32_t i = r->cursor++;
		if (chunk_excluded(r, &r->chunks[i]))
			continue;
		enum mpt_status st = decode_chunk(r, i, r->need_cols, 1, 0, err);
		if (st != MPT_OK) {
			r->cursor = r->nchunks;
			return st;
		}
		if (r->batch.n) {
			*batch = &r->batch;
			return MPT_OK;
		}
	}
	return MPT_END;
}

enum mpt_status mpt_reader_read_chunk(mpt_reader *r, uint32_t chunk,
				      const struct mpt_batch **batch, struct mpt_error *err)
{
	if (!r || !batch)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_read_chunk: NULL argument");
	*batch = NULL;
	if (chunk >= r->nchunks)
		return rerr(r, err, MPT_E_ARG, "no chunk %u (the file has %u)", chunk, r->nchunks);
	enum mpt_status st = decode_chunk(r, chunk, r->need_cols, 1, 0, err);
	if (st == MPT_OK)
		*batch = &r->batch;
	return st;
}

enum mpt_status mpt_reader_column_info(mpt_reader *r, uint32_t chunk,
				       struct mpt_column_info info[MPT_COL_COUNT_],
				       struct mpt_error *err)
{
	if (!r || !info)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_column_info: NULL argument");
	if (chunk >= r->nchunks)
		return rerr(r, err, MPT_E_ARG, "no chunk %u (the file has %u)", chunk, r->nchunks);
	uint64_t saved = r->bytes_read;
	enum mpt_status st = load_chunk_header(r, chunk, err);
	r->bytes_read = saved;
	if (st != MPT_OK)
		return st;
	memset(info, 0, sizeof *info * MPT_COL_COUNT_);
	for (unsigned k = 0; k < r->ndesc; k++) {
		const struct coldesc *cd = &r->desc[k];
		if (cd->col >= MPT_COL_COUNT_)
			continue;
		struct mpt_column_info *ci = &info[cd->col];
		ci->values = cd->values;
		ci->encoding = cd->enc;
		ci->compressed = cd->comp;
		ci->raw_bytes = cd->raw;
		ci->enc_bytes = cd->enc_bytes;
		ci->stored_bytes = cd->stored;
	}
	return MPT_OK;
}

void mpt_batch_get(const struct mpt_batch *b, uint32_t i, struct mpa_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (!b || i >= b->n)
		return;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		const struct mpt_coldef *def = &mpt__cols[c];
		const void *arr;
		memcpy(&arr, (const char *)b + def->batch_off, sizeof arr);
		if (!arr)
			continue;
		memcpy((char *)ev + def->ev_off, (const char *)arr + (size_t)i * def->width,
		       def->width);
	}
}

enum mpt_status mpt_reader_verify(mpt_reader *r, struct mpt_error *err)
{
	if (!r)
		return mpt__err(err, MPT_E_ARG, "mpt_reader_verify: NULL reader");
	uint64_t saved = r->bytes_read;
	enum mpt_status st = MPT_OK;
	for (uint32_t i = 0; i < r->nchunks && st == MPT_OK; i++)
		st = decode_chunk(r, i, MPT_COLS_ALL, 0, 1, err);
	r->bytes_read = saved;
	if (st != MPT_OK)
		return st;
	/* table cross-references */
	for (uint32_t i = 0; i < r->nframes; i++) {
		const struct mpt_frame *f = &r->frames[i];
		if (f->bin >= r->nstrings || f->func >= r->nstrings || f->file >= r->nstrings)
			return rerr(r, err, MPT_E_FORMAT, "frame table: frame %u names a missing string",
				    i + 1);
	}
	for (uint64_t i = 0; i < (r->nstacks ? r->stack_off[r->nstacks] : 0); i++)
		if (r->stack_frames[i] == 0 || r->stack_frames[i] > r->nframes)
			return rerr(r, err, MPT_E_FORMAT, "stack table: a stack names a missing frame");
	for (uint32_t i = 0; i < r->nbinaries; i++)
		if (r->binaries[i].path >= r->nstrings || r->binaries[i].build_id >= r->nstrings)
			return rerr(r, err, MPT_E_FORMAT, "binary table: entry %u names a missing string",
				    i);
	return MPT_OK;
}
