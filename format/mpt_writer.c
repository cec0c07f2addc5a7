/* libmpt: the streaming writer.
 *
 * Records are buffered one chunk at a time (opts.chunk_rows); a full chunk
 * is encoded column by column, each column trying its candidate encodings
 * and keeping the smallest stored form, then appended to PATH.tmp.<pid>.
 * Tables are kept in memory (interned) and written at close, followed by
 * the footer and the trailer; then fsync, rename to PATH, fsync the
 * directory.  Memory: one chunk plus the tables. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zstd.h>

#include "mpt_internal.h"

/* ---- interning of byte strings (strings, frames, stacks) ----------------- */

struct intern {
	struct mpt_buf blob; /* concatenated entries (owned by this) */
	uint64_t *off;       /* [n] (owned by this) */
	uint32_t *len;       /* [n] (owned by this) */
	uint32_t n, cap;
	uint32_t *slots;     /* hash index: entry + 1, 0 = empty (owned by this) */
	uint32_t nslots;     /* power of two */
	int dirty;           /* index must be rebuilt */
};

static uint32_t intern_hash(const void *p, size_t n)
{
	return (uint32_t)mpt__hash(p, n);
}

static int intern_rebuild(struct intern *t, uint32_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof *s);
	if (!s)
		return -1;
	free(t->slots);
	t->slots = s;
	t->nslots = nslots;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = intern_hash(t->blob.p + t->off[i], t->len[i]) & (nslots - 1);
		while (s[h])
			h = (h + 1) & (nslots - 1);
		s[h] = i + 1;
	}
	t->dirty = 0;
	return 0;
}

/* Finds or adds (p, n); *idx = entry index.  Returns 0, -1 on OOM, -2 if
 * the table is full (2^32 - 2 entries). */
static int intern_add(struct intern *t, const void *p, size_t n, uint32_t *idx)
{
	if (t->dirty || (uint64_t)(t->n + 1) * 2 > t->nslots) {
		uint32_t ns = t->nslots ? t->nslots : 1024;
		while ((uint64_t)(t->n + 1) * 2 > ns)
			ns *= 2;
		if (intern_rebuild(t, ns))
			return -1;
	}
	uint32_t mask = t->nslots - 1;
	uint32_t h = intern_hash(p, n) & mask;
	while (t->slots[h]) {
		uint32_t e = t->slots[h] - 1;
		if (t->len[e] == n && (n == 0 || memcmp(t->blob.p + t->off[e], p, n) == 0)) {
			*idx = e;
			return 0;
		}
		h = (h + 1) & mask;
	}
	if (t->n >= UINT32_MAX - 2)
		return -2;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		uint64_t *o = realloc(t->off, sizeof *o * cap);
		if (!o)
			return -1;
		t->off = o;
		uint32_t *l = realloc(t->len, sizeof *l * cap);
		if (!l)
			return -1;
		t->len = l;
		t->cap = cap;
	}
	size_t at = t->blob.len;
	mpt__put_bytes(&t->blob, p, n);
	if (t->blob.oom)
		return -1;
	t->off[t->n] = at;
	t->len[t->n] = (uint32_t)n;
	t->slots[h] = t->n + 1;
	*idx = t->n++;
	return 0;
}

static void intern_free(struct intern *t)
{
	mpt__buf_free(&t->blob);
	free(t->off);
	free(t->len);
	free(t->slots);
}

/* ---- the writer ---------------------------------------------------------- */

struct meta_kv {
	char *key, *value; /* (owned by this) */
};

struct mpt_writer {
	char *path;          /* final path (owned by this) */
	char *tmp;           /* PATH.tmp.<pid> (owned by this) */
	int fd;
	uint64_t off;        /* file offset of the next byte written */
	struct mpt_buf out;  /* pending output bytes */

	uint32_t chunk_rows;
	int level;
	/* the chunk being filled, column by column (owned by this) */
	uint64_t *colv[MPT_COL_COUNT_]; /* [chunk_rows] values of rows having the field */
	uint32_t colcnt[MPT_COL_COUNT_];
	uint32_t nrows;
	uint32_t chunk_kinds;
	uint32_t file_kinds;  /* kinds of every chunk flushed: decide the version */
	uint16_t enc_major;   /* the newest format an encoding written needs (1, 4) */
	uint16_t max_major;   /* opts.format_major: encodings up to this format */
	uint64_t ts_min, ts_max;
	uint64_t total_rows;

	struct mpt_buf chunk_index; /* footer chunk entries */
	uint32_t nchunks;

	/* encoding scratch (owned by this) */
	const uint64_t *vals; /* (weak) the column being encoded */
	uint64_t *ctx_tid, *ctx_size, *ctx_newptr;
	uint8_t *kinds;
	struct mpt_buf enc, best, zbuf, hdr, data;
	struct mpt_buf cand[MPT_MAX_CANDIDATES]; /* encoded candidates */
	uint8_t prev_enc[MPT_COL_COUNT_];        /* last winner + 1, 0 = none */
	struct mpt_work work;
	ZSTD_CCtx *cctx;

	/* tables (owned by this) */
	struct intern strings, frames, stacks;
	struct mpt_buf binaries; /* serialized entries */
	uint32_t nbinaries;
	struct meta_kv *meta;
	uint32_t nmeta, capmeta;
	struct mpt_topology topo;
	int has_topo;

	enum mpt_status failed; /* sticky first failure */
	char failmsg[512];

	/* segments (opts->segments): a copy of the chunks flushed since the
	 * last mpt_writer_segment() and their index entries, offsets counted
	 * from the end of a segment file's header (owned by this) */
	int seg_on;
	struct mpt_buf seg_data, seg_index;
	uint32_t seg_nchunks, seg_kinds;
	uint64_t seg_rows;
};

static enum mpt_status wfail(mpt_writer *w, struct mpt_error *err, enum mpt_status code,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum mpt_status wfail(mpt_writer *w, struct mpt_error *err, enum mpt_status code,
			     const char *fmt, ...)
{
	va_list ap;
	char msg[400];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!w->failed) {
		w->failed = code;
		snprintf(w->failmsg, sizeof w->failmsg, "'%s': %s", w->path, msg);
	}
	return mpt__err(err, code, "'%s': %s", w->path, msg);
}

static enum mpt_status wsticky(mpt_writer *w, struct mpt_error *err)
{
	return mpt__err(err, w->failed, "%s", w->failmsg);
}

static enum mpt_status flush_out(mpt_writer *w, struct mpt_error *err)
{
	size_t done = 0;
	while (done < w->out.len) {
		ssize_t k = write(w->fd, w->out.p + done, w->out.len - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			w->out.len = 0;
			return wfail(w, err, MPT_E_IO, "write failed: %s", strerror(e));
		}
		done += (size_t)k;
	}
	w->out.len = 0;
	return MPT_OK;
}

static enum mpt_status emit(mpt_writer *w, const void *p, size_t n, struct mpt_error *err)
{
	mpt__put_bytes(&w->out, p, n);
	if (w->out.oom)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	w->off += n;
	if (w->out.len >= (1u << 20))
		return flush_out(w, err);
	return MPT_OK;
}

static void writer_free(mpt_writer *w)
{
	if (!w)
		return;
	free(w->path);
	free(w->tmp);
	mpt__buf_free(&w->out);
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		free(w->colv[c]);
	mpt__buf_free(&w->chunk_index);
	mpt__buf_free(&w->seg_data);
	mpt__buf_free(&w->seg_index);
	free(w->ctx_tid);
	free(w->ctx_size);
	free(w->ctx_newptr);
	free(w->kinds);
	mpt__buf_free(&w->enc);
	mpt__buf_free(&w->best);
	for (unsigned i = 0; i < MPT_MAX_CANDIDATES; i++)
		mpt__buf_free(&w->cand[i]);
	mpt__buf_free(&w->zbuf);
	mpt__buf_free(&w->hdr);
	mpt__buf_free(&w->data);
	ZSTD_freeCCtx(w->cctx);
	mpt__work_free(&w->work);
	intern_free(&w->strings);
	intern_free(&w->frames);
	intern_free(&w->stacks);
	mpt__buf_free(&w->binaries);
	for (uint32_t i = 0; i < w->nmeta; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->meta);
	free(w->topo.cpu_node);
	free(w->topo.distance);
	free(w);
}

enum mpt_status mpt_writer_open(const char *path, const struct mpt_writer_opts *opts,
				mpt_writer **out, struct mpt_error *err)
{
	if (!out)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_open: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_open: empty path");
	uint32_t rows = opts && opts->chunk_rows ? opts->chunk_rows : MPT_DEFAULT_CHUNK_ROWS;
	unsigned max_major = opts && opts->format_major ? opts->format_major : MPT_VERSION_MAJOR;
	if (max_major > MPT_VERSION_MAJOR)
		return mpt__err(err, MPT_E_ARG, "'%s': format %u.0 is newer than this library (%u.%u)",
				path, max_major, MPT_VERSION_MAJOR, MPT_VERSION_MINOR);
	if (rows > MPT_MAX_CHUNK_ROWS)
		return mpt__err(err, MPT_E_ARG, "'%s': chunk_rows %u exceeds the maximum %u", path,
				rows, MPT_MAX_CHUNK_ROWS);
	int level = opts && opts->zstd_level ? opts->zstd_level : 3;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return mpt__err(err, MPT_E_ARG, "'%s': zstd level %d out of range", path, level);

	mpt_writer *w = calloc(1, sizeof *w);
	if (!w)
		return mpt__err(err, MPT_E_NOMEM, "'%s': out of memory", path);
	w->fd = -1;
	w->chunk_rows = rows;
	w->max_major = (uint16_t)max_major;
	w->enc_major = 1;
	w->level = level;
	w->path = strdup(path);
	size_t tl = strlen(path) + 32;
	w->tmp = malloc(tl);
	w->ctx_tid = malloc(sizeof *w->ctx_tid * rows);
	w->ctx_size = malloc(sizeof *w->ctx_size * rows);
	w->ctx_newptr = malloc(sizeof *w->ctx_newptr * rows);
	w->kinds = malloc(rows);
	w->cctx = ZSTD_createCCtx();
	if (!w->path || !w->tmp || !w->ctx_tid || !w->ctx_size || !w->ctx_newptr ||
	    !w->kinds || !w->cctx) {
		writer_free(w);
		return mpt__err(err, MPT_E_NOMEM, "'%s': out of memory", path);
	}
	snprintf(w->tmp, tl, "%s.tmp.%ld", path, (long)getpid());
	uint32_t id;
	if (intern_add(&w->strings, "", 0, &id)) {
		writer_free(w);
		return mpt__err(err, MPT_E_NOMEM, "'%s': out of memory", path);
	}
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int e = errno;
		enum mpt_status st = mpt__err(err, MPT_E_IO, "'%s': cannot create: %s", w->tmp,
					      strerror(e));
		writer_free(w);
		return st;
	}
	uint8_t hdr[MPT_HEADER_SIZE] = { 0 };
	memcpy(hdr, MPT_FILE_MAGIC, 8);
	/* version 1.0 until a record needs 2.0: rewritten at close if so */
	mpt__le16(hdr + 8, 1);
	mpt__le16(hdr + 10, MPT_VERSION_MINOR);
	enum mpt_status st = emit(w, hdr, sizeof hdr, err);
	if (st != MPT_OK) {
		mpt_writer_abort(w);
		return st;
	}
	*out = w;
	return MPT_OK;
}

/* Encodes one column's values: tries each candidate, keeps the smallest
 * stored form in w->best; fills the descriptor fields. */
/* Below FULL_TRIAL_LEVEL, full encoding trials run every REPICK chunks (the
 * previous winner is reused in between: ~0.5% larger, ~40% faster); from
 * that zstd level up, on every chunk. */
#define REPICK 8
#define FULL_TRIAL_LEVEL 6

/* zstd-compresses src into w->zbuf at level; returns the size or 0 on error. */
static size_t zcompress(mpt_writer *w, const struct mpt_buf *src, int level, const char **why)
{
	size_t bound = ZSTD_compressBound(src->len);
	w->zbuf.len = 0;
	if (mpt__buf_reserve(&w->zbuf, bound)) {
		*why = "out of memory";
		return 0;
	}
	size_t zr = ZSTD_compressCCtx(w->cctx, w->zbuf.p, bound, src->p, src->len, level);
	if (ZSTD_isError(zr)) {
		*why = ZSTD_getErrorName(zr);
		return 0;
	}
	w->zbuf.len = zr;
	return zr;
}

/* Encodes one column's values: tries each candidate encoding, compressed
 * with a fast zstd level, keeps the smallest; then compresses the winner
 * at the configured level (stored raw when zstd does not help).  The
 * stored bytes end in w->best. */
static enum mpt_status encode_column(mpt_writer *w, unsigned col, uint32_t n,
				     const struct mpt_codec_ctx *ctx, uint8_t *enc_id,
				     uint8_t *comp, uint32_t *enc_bytes, struct mpt_error *err)
{
	unsigned cand[MPT_MAX_CANDIDATES];
	unsigned nc;
	int reuse = 1;
again:
	nc = mpt__enc_candidates(col, w->vals, n, cand);
	/* only the encodings of the formats this writer may write */
	unsigned kept = 0;
	for (unsigned i = 0; i < nc; i++)
		if (mpt__enc_major(cand[i]) <= w->max_major)
			cand[kept++] = cand[i];
	nc = kept;
	/* the best encoding of a column rarely changes from chunk to chunk:
	 * full trials every REPICK chunks, the previous winner in between */
	if (reuse && nc > 1 && w->level < FULL_TRIAL_LEVEL && w->nchunks % REPICK &&
	    w->prev_enc[col]) {
		for (unsigned i = 0; i < nc; i++)
			if (cand[i] == w->prev_enc[col] - 1u) {
				cand[0] = cand[i];
				nc = 1;
				break;
			}
	}
	size_t min_enc = SIZE_MAX, best = SIZE_MAX;
	int trial = w->level > 1 ? 1 : w->level, win = -1;
	const char *why = NULL;
	/* encode every candidate (cheap), then zstd-trial those within 2x of
	 * the smallest encoded form */
	for (unsigned i = 0; i < nc; i++) {
		struct mpt_buf *b = &w->cand[i];
		b->len = 0;
		if (mpt__encode(col, cand[i], w->vals, n, ctx, b)) {
			if (b->oom)
				return wfail(w, err, MPT_E_NOMEM, "out of memory");
			b->len = SIZE_MAX; /* not applicable */
			continue;
		}
		if (b->len > mpt__enc_bound(n)) {
			b->len = SIZE_MAX; /* readers would refuse it */
			continue;
		}
		if (b->len < min_enc)
			min_enc = b->len;
	}
	for (unsigned i = 0; i < nc; i++) {
		struct mpt_buf *b = &w->cand[i];
		if (b->len == SIZE_MAX || (nc > 1 && b->len > 2 * min_enc + 64))
			continue;
		size_t stored = b->len;
		if (nc > 1 && b->len > 24) {
			size_t zr = zcompress(w, b, trial, &why);
			if (!zr)
				return wfail(w, err, MPT_E_COMPRESS, "chunk %u column %s: zstd: %s",
					     w->nchunks, mpt__cols[col].name, why);
			if (zr < stored)
				stored = zr;
		}
		if (stored < best) {
			best = stored;
			win = (int)i;
		}
	}
	if (win < 0 && reuse && nc == 1) {
		reuse = 0; /* the previous winner does not apply here */
		goto again;
	}
	if (win < 0)
		return wfail(w, err, MPT_E_COMPRESS, "chunk %u column %s: no encoding applies",
			     w->nchunks, mpt__cols[col].name);
	*enc_id = (uint8_t)cand[win];
	if (mpt__enc_major(cand[win]) > w->enc_major)
		w->enc_major = (uint16_t)mpt__enc_major(cand[win]);
	if (cand[win] != MPT_ENC_CONST)
		w->prev_enc[col] = (uint8_t)(cand[win] + 1);
	struct mpt_buf t = w->best;
	w->best = w->cand[win];
	w->cand[win] = t;
	/* w->best holds the winning encoded bytes */
	*enc_bytes = (uint32_t)w->best.len;
	*comp = 0;
	if (w->best.len > 24) {
		size_t zr = zcompress(w, &w->best, w->level, &why);
		if (!zr)
			return wfail(w, err, MPT_E_COMPRESS, "chunk %u column %s: zstd: %s", w->nchunks,
				     mpt__cols[col].name, why);
		if (zr < w->best.len) {
			t = w->best;
			w->best = w->zbuf;
			w->zbuf = t;
			*comp = 1;
		}
	}
	return MPT_OK;
}

static enum mpt_status flush_chunk(mpt_writer *w, struct mpt_error *err)
{
	uint32_t n = w->nrows;
	if (n == 0)
		return MPT_OK;
	uint32_t kinds = w->chunk_kinds;
	w->file_kinds |= kinds;
	uint64_t ts_min = w->ts_min, ts_max = w->ts_max;
	struct mpt_codec_ctx ctx = { &w->work, n, w->kinds, w->ctx_tid, w->ctx_size,
				     w->ctx_newptr };

	w->hdr.len = 0;
	w->data.len = 0;
	uint8_t fixed[MPT_CHUNK_FIXED] = { 0 };
	mpt__put_bytes(&w->hdr, fixed, sizeof fixed); /* filled below */
	uint16_t ncols = 0;
	for (unsigned col = 0; col < MPT_COL_COUNT_; col++) {
		uint32_t cnt = w->colcnt[col];
		if (!cnt)
			continue;
		w->vals = w->colv[col];
		uint8_t enc = 0, comp = 0;
		uint32_t enc_bytes = 0;
		enum mpt_status st = encode_column(w, col, cnt, &ctx, &enc, &comp, &enc_bytes, err);
		if (st != MPT_OK)
			return st;
		uint8_t d[MPT_COLDESC_SIZE] = { 0 };
		d[0] = (uint8_t)col;
		d[1] = enc;
		d[2] = comp;
		mpt__le32(d + 4, cnt);
		mpt__le32(d + 8, cnt * mpt__cols[col].width);
		mpt__le32(d + 12, enc_bytes);
		mpt__le32(d + 16, (uint32_t)w->best.len);
		mpt__le64(d + 24, mpt__hash(w->best.p, w->best.len));
		mpt__put_bytes(&w->hdr, d, sizeof d);
		mpt__put_bytes(&w->data, w->best.p, w->best.len);
		ncols++;
	}
	if (w->hdr.oom || w->data.oom || mpt__buf_reserve(&w->hdr, 8))
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	uint32_t hlen = (uint32_t)w->hdr.len + 8;
	uint8_t *f = w->hdr.p;
	mpt__le32(f + 0, MPT_CHUNK_MAGIC);
	mpt__le32(f + 4, hlen);
	mpt__le32(f + 8, n);
	mpt__le32(f + 12, kinds);
	mpt__le64(f + 16, ts_min);
	mpt__le64(f + 24, ts_max);
	mpt__le16(f + 32, ncols);
	mpt__le16(f + 34, MPT_COLDESC_SIZE);
	mpt__put_u64(&w->hdr, mpt__hash(w->hdr.p, w->hdr.len));

	uint64_t offset = w->off;
	uint64_t length = w->hdr.len + w->data.len;
	enum mpt_status st = emit(w, w->hdr.p, w->hdr.len, err);
	if (st == MPT_OK)
		st = emit(w, w->data.p, w->data.len, err);
	if (st != MPT_OK)
		return st;

	uint8_t e[MPT_CHUNK_ENTRY_SIZE] = { 0 };
	mpt__le64(e + 0, offset);
	mpt__le64(e + 8, length);
	mpt__le32(e + 16, hlen);
	mpt__le32(e + 20, n);
	mpt__le32(e + 24, kinds);
	mpt__le64(e + 32, ts_min);
	mpt__le64(e + 40, ts_max);
	mpt__put_bytes(&w->chunk_index, e, sizeof e);
	if (w->chunk_index.oom)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	if (w->seg_on) {
		mpt__le64(e + 0, MPT_HEADER_SIZE + (uint64_t)w->seg_data.len);
		mpt__put_bytes(&w->seg_index, e, sizeof e);
		mpt__put_bytes(&w->seg_data, w->hdr.p, w->hdr.len);
		mpt__put_bytes(&w->seg_data, w->data.p, w->data.len);
		if (w->seg_index.oom || w->seg_data.oom)
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		w->seg_nchunks++;
		w->seg_rows += n;
		w->seg_kinds |= kinds;
	}
	w->nchunks++;
	w->total_rows += n;
	w->nrows = 0;
	w->chunk_kinds = 0;
	memset(w->colcnt, 0, sizeof w->colcnt);
	return MPT_OK;
}

enum mpt_status mpt_writer_append(mpt_writer *w, const struct mpa_event *ev,
				  struct mpt_error *err)
{
	if (!w || !ev)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_append: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (ev->kind == 0 || ev->kind >= MPA_KIND_COUNT_)
		return mpt__err(err, MPT_E_ARG, "'%s': record %llu: invalid kind %u", w->path,
				(unsigned long long)(w->total_rows + w->nrows), ev->kind);
	if (w->nchunks == UINT32_MAX)
		return wfail(w, err, MPT_E_LIMIT, "too many chunks");
	uint32_t i = w->nrows;
	if (i == 0) {
		w->ts_min = UINT64_MAX;
		w->ts_max = 0;
	}
	const struct mpt_kindcols *kc = &mpt__kind_cols[ev->kind];
	for (unsigned k = 0; k < kc->n; k++) {
		unsigned c = kc->col[k];
		if (!w->colv[c] && !(w->colv[c] = malloc(sizeof(uint64_t) * w->chunk_rows)))
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		w->colv[c][w->colcnt[c]++] = mpt__ev_get(ev, c);
	}
	w->kinds[i] = ev->kind;
	w->chunk_kinds |= MPT_KINDBIT(ev->kind);
	if (ev->ts < w->ts_min)
		w->ts_min = ev->ts;
	if (ev->ts > w->ts_max)
		w->ts_max = ev->ts;
	w->ctx_tid[i] = mpt__zz(ev->tid);
	w->ctx_size[i] = (mpt__cols[MPT_COL_SIZE].kinds & MPT_KINDBIT(ev->kind)) ? ev->size : 0;
	w->ctx_newptr[i] = ev->kind == MPA_KIND_REALLOC ? ev->new_ptr : 0;
	w->nrows++;
	if (w->nrows == w->chunk_rows)
		return flush_chunk(w, err);
	return MPT_OK;
}

/* ---- tables -------------------------------------------------------------- */

enum mpt_status mpt_writer_string(mpt_writer *w, const char *s, size_t len, uint32_t *id,
				  struct mpt_error *err)
{
	if (!w || !id || (!s && len))
		return mpt__err(err, MPT_E_ARG, "mpt_writer_string: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (len > MPT_MAX_STRING_LEN)
		return mpt__err(err, MPT_E_ARG, "'%s': string of %zu bytes is too long", w->path,
				len);
	int rc = intern_add(&w->strings, s, len, id);
	if (rc == -2)
		return wfail(w, err, MPT_E_LIMIT, "string table full");
	if (rc)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	return MPT_OK;
}

static void frame_bytes(const struct mpt_frame *f, uint8_t b[40])
{
	mpt__le64(b, f->ip);
	mpt__le64(b + 8, f->bin_off);
	mpt__le32(b + 16, f->bin);
	mpt__le32(b + 20, f->func);
	mpt__le32(b + 24, f->file);
	mpt__le32(b + 28, f->line);
	memset(b + 32, 0, 8);
}

enum mpt_status mpt_writer_frame(mpt_writer *w, const struct mpt_frame *f, uint32_t *id,
				 struct mpt_error *err)
{
	if (!w || !f || !id)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_frame: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	uint8_t b[40];
	uint32_t ix;
	frame_bytes(f, b);
	int rc = intern_add(&w->frames, b, sizeof b, &ix);
	if (rc == -2)
		return wfail(w, err, MPT_E_LIMIT, "frame table full");
	if (rc)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	*id = ix + 1;
	return MPT_OK;
}

enum mpt_status mpt_writer_set_frame(mpt_writer *w, uint32_t id, const struct mpt_frame *f,
				     struct mpt_error *err)
{
	if (!w || !f)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_set_frame: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (id == 0 || id > w->frames.n)
		return mpt__err(err, MPT_E_ARG, "'%s': set_frame: no frame %u", w->path, id);
	frame_bytes(f, w->frames.blob.p + w->frames.off[id - 1]);
	w->frames.dirty = 1;
	return MPT_OK;
}

enum mpt_status mpt_writer_stack(mpt_writer *w, const uint32_t *frames, uint32_t n, uint32_t *id,
				 struct mpt_error *err)
{
	if (!w || !id || (!frames && n))
		return mpt__err(err, MPT_E_ARG, "mpt_writer_stack: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (n > (MPT_MAX_STRING_LEN / 4))
		return mpt__err(err, MPT_E_ARG, "'%s': stack of %u frames is too deep", w->path, n);
	w->enc.len = 0;
	for (uint32_t i = 0; i < n; i++)
		mpt__put_u32(&w->enc, frames[i]);
	if (w->enc.oom)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	uint32_t ix;
	int rc = intern_add(&w->stacks, w->enc.p, (size_t)n * 4, &ix);
	if (rc == -2)
		return wfail(w, err, MPT_E_LIMIT, "stack table full");
	if (rc)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	*id = ix + 1;
	return MPT_OK;
}

enum mpt_status mpt_writer_binary(mpt_writer *w, const struct mpt_binary *b,
				  struct mpt_error *err)
{
	if (!w || !b)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_binary: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (w->nbinaries == UINT32_MAX)
		return wfail(w, err, MPT_E_LIMIT, "binary table full");
	mpt__put_varint(&w->binaries, mpt__zz(b->pid));
	mpt__put_varint(&w->binaries, b->path);
	mpt__put_varint(&w->binaries, b->build_id);
	mpt__put_varint(&w->binaries, b->base);
	mpt__put_varint(&w->binaries, b->size);
	if (w->binaries.oom)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	w->nbinaries++;
	return MPT_OK;
}

enum mpt_status mpt_writer_meta(mpt_writer *w, const char *key, const char *value,
				struct mpt_error *err)
{
	if (!w || !key || !value)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_meta: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (strlen(key) > MPT_MAX_STRING_LEN || strlen(value) > MPT_MAX_STRING_LEN)
		return mpt__err(err, MPT_E_ARG, "'%s': metadata key or value too long", w->path);
	char *v = strdup(value);
	if (!v)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < w->nmeta; i++)
		if (strcmp(w->meta[i].key, key) == 0) {
			free(w->meta[i].value);
			w->meta[i].value = v;
			return MPT_OK;
		}
	if (w->nmeta == w->capmeta) {
		uint32_t cap = w->capmeta ? w->capmeta * 2 : 16;
		struct meta_kv *m = realloc(w->meta, sizeof *m * cap);
		if (!m) {
			free(v);
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		}
		w->meta = m;
		w->capmeta = cap;
	}
	char *k = strdup(key);
	if (!k) {
		free(v);
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	}
	w->meta[w->nmeta++] = (struct meta_kv){ k, v };
	return MPT_OK;
}

enum mpt_status mpt_writer_topology(mpt_writer *w, const struct mpt_topology *t,
				    struct mpt_error *err)
{
	if (!w || !t)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_topology: NULL argument");
	if (w->failed)
		return wsticky(w, err);
	if (t->ncpus > MPT_MAX_CPUS || t->nnodes > MPT_MAX_NODES)
		return mpt__err(err, MPT_E_ARG, "'%s': topology: %u cpus / %u nodes exceed the limits",
				w->path, t->ncpus, t->nnodes);
	if (t->ncpus && !t->cpu_node)
		return mpt__err(err, MPT_E_ARG, "'%s': topology: cpu_node is NULL", w->path);
	int32_t *cn = NULL;
	uint32_t *dist = NULL;
	if (t->ncpus) {
		cn = malloc(sizeof *cn * t->ncpus);
		if (!cn)
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		memcpy(cn, t->cpu_node, sizeof *cn * t->ncpus);
	}
	if (t->distance && t->nnodes) {
		size_t nn = (size_t)t->nnodes * t->nnodes;
		dist = malloc(sizeof *dist * nn);
		if (!dist) {
			free(cn);
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		}
		memcpy(dist, t->distance, sizeof *dist * nn);
	}
	free(w->topo.cpu_node);
	free(w->topo.distance);
	w->topo = *t;
	w->topo.cpu_node = cn;
	w->topo.distance = dist;
	w->has_topo = 1;
	return MPT_OK;
}

static int meta_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meta_kv *)a)->key, ((const struct meta_kv *)b)->key);
}

/* Writes one table (payload in p), compressed when that is smaller;
 * appends its footer entry to idx. */
static enum mpt_status write_table(mpt_writer *w, uint32_t type, struct mpt_buf *p,
				   struct mpt_buf *idx, uint32_t *ntables, struct mpt_error *err)
{
	if (p->oom)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	if (p->len > MPT_MAX_TABLE_RAW)
		return wfail(w, err, MPT_E_LIMIT, "table %u exceeds %llu bytes", type,
			     (unsigned long long)MPT_MAX_TABLE_RAW);
	const uint8_t *stored = p->p;
	size_t slen = p->len;
	uint8_t comp = 0;
	if (p->len > 24) {
		size_t bound = ZSTD_compressBound(p->len);
		w->zbuf.len = 0;
		if (mpt__buf_reserve(&w->zbuf, bound))
			return wfail(w, err, MPT_E_NOMEM, "out of memory");
		size_t zr = ZSTD_compressCCtx(w->cctx, w->zbuf.p, bound, p->p, p->len,
					      w->level < 9 ? 9 : w->level);
		if (ZSTD_isError(zr))
			return wfail(w, err, MPT_E_COMPRESS, "table %u: zstd: %s", type,
				     ZSTD_getErrorName(zr));
		/* readers refuse ratios above MPT_TABLE_MAX_RATIO: store raw then */
		if (zr < p->len && (uint64_t)p->len <= zr * MPT_TABLE_MAX_RATIO + 4096) {
			stored = w->zbuf.p;
			slen = zr;
			comp = 1;
		}
	}
	uint8_t e[MPT_TABLE_ENTRY_SIZE] = { 0 };
	mpt__le32(e, type);
	e[4] = comp;
	mpt__le64(e + 8, w->off);
	mpt__le64(e + 16, slen);
	mpt__le64(e + 24, p->len);
	mpt__le64(e + 32, mpt__hash(stored, slen));
	enum mpt_status st = emit(w, stored, slen, err);
	if (st != MPT_OK)
		return st;
	mpt__put_bytes(idx, e, sizeof e);
	(*ntables)++;
	return MPT_OK;
}

static enum mpt_status write_tables(mpt_writer *w, struct mpt_buf *idx, uint32_t *ntables,
				    struct mpt_error *err)
{
	struct mpt_buf p = { 0 };
	enum mpt_status st;

	mpt__put_varint(&p, w->strings.n);
	for (uint32_t i = 0; i < w->strings.n; i++) {
		mpt__put_varint(&p, w->strings.len[i]);
		mpt__put_bytes(&p, w->strings.blob.p + w->strings.off[i], w->strings.len[i]);
	}
	st = write_table(w, MPT_TAB_STRINGS, &p, idx, ntables, err);
	if (st != MPT_OK || !w->frames.n)
		goto stacks;
	p.len = 0;
	mpt__put_varint(&p, w->frames.n);
	for (uint32_t i = 0; i < w->frames.n; i++) {
		const uint8_t *b = w->frames.blob.p + w->frames.off[i];
		mpt__put_varint(&p, mpt__rd64(b));
		mpt__put_varint(&p, mpt__rd64(b + 8));
		mpt__put_varint(&p, mpt__rd32(b + 16));
		mpt__put_varint(&p, mpt__rd32(b + 20));
		mpt__put_varint(&p, mpt__rd32(b + 24));
		mpt__put_varint(&p, mpt__rd32(b + 28));
	}
	st = write_table(w, MPT_TAB_FRAMES, &p, idx, ntables, err);
stacks:
	if (st != MPT_OK || !w->stacks.n)
		goto binaries;
	p.len = 0;
	mpt__put_varint(&p, w->stacks.n);
	for (uint32_t i = 0; i < w->stacks.n; i++) {
		uint32_t nf = w->stacks.len[i] / 4;
		const uint8_t *b = w->stacks.blob.p + w->stacks.off[i];
		mpt__put_varint(&p, nf);
		for (uint32_t j = 0; j < nf; j++)
			mpt__put_varint(&p, mpt__rd32(b + 4 * j));
	}
	st = write_table(w, MPT_TAB_STACKS, &p, idx, ntables, err);
binaries:
	if (st != MPT_OK || !w->nbinaries)
		goto topology;
	p.len = 0;
	mpt__put_varint(&p, w->nbinaries);
	mpt__put_bytes(&p, w->binaries.p, w->binaries.len);
	st = write_table(w, MPT_TAB_BINARIES, &p, idx, ntables, err);
topology:
	if (st != MPT_OK || !w->has_topo)
		goto meta;
	p.len = 0;
	{
		const struct mpt_topology *t = &w->topo;
		mpt__put_varint(&p, t->ncpus);
		mpt__put_varint(&p, t->nnodes);
		mpt__put_varint(&p, t->page_size);
		mpt__put_varint(&p, t->cache_line);
		mpt__put_varint(&p, t->l1d_size);
		mpt__put_varint(&p, t->l2_size);
		mpt__put_varint(&p, t->l3_size);
		mpt__put_u8(&p, t->distance && t->nnodes ? 1 : 0);
		for (uint32_t i = 0; i < t->ncpus; i++)
			mpt__put_varint(&p, mpt__zz(t->cpu_node[i]));
		if (t->distance)
			for (size_t i = 0; i < (size_t)t->nnodes * t->nnodes; i++)
				mpt__put_varint(&p, t->distance[i]);
	}
	st = write_table(w, MPT_TAB_TOPOLOGY, &p, idx, ntables, err);
meta:
	if (st != MPT_OK || !w->nmeta)
		goto end;
	p.len = 0;
	qsort(w->meta, w->nmeta, sizeof *w->meta, meta_cmp);
	mpt__put_varint(&p, w->nmeta);
	for (uint32_t i = 0; i < w->nmeta; i++) {
		size_t kl = strlen(w->meta[i].key), vl = strlen(w->meta[i].value);
		mpt__put_varint(&p, kl);
		mpt__put_bytes(&p, w->meta[i].key, kl);
		mpt__put_varint(&p, vl);
		mpt__put_bytes(&p, w->meta[i].value, vl);
	}
	st = write_table(w, MPT_TAB_META, &p, idx, ntables, err);
end:
	mpt__buf_free(&p);
	return st;
}

/* Tables, footer and trailer after the chunks of w's current output; the
 * version in the header made right.  Everything flushed to w->fd. */
static enum mpt_status write_tail(mpt_writer *w, struct mpt_error *err)
{
	struct mpt_buf idx = { 0 };
	uint32_t ntables = 0;
	enum mpt_status st = write_tables(w, &idx, &ntables, err);
	if (st != MPT_OK)
		goto fail;

	struct mpt_buf f = { 0 };
	mpt__put_u32(&f, MPT_FOOTER_MAGIC);
	mpt__put_u32(&f, w->nchunks);
	mpt__put_u32(&f, ntables);
	mpt__put_u16(&f, MPT_CHUNK_ENTRY_SIZE);
	mpt__put_u16(&f, MPT_TABLE_ENTRY_SIZE);
	mpt__put_u64(&f, w->total_rows);
	mpt__put_bytes(&f, w->chunk_index.p, w->chunk_index.len);
	mpt__put_bytes(&f, idx.p, idx.len);
	if (f.oom) {
		mpt__buf_free(&f);
		st = wfail(w, err, MPT_E_NOMEM, "out of memory");
		goto fail;
	}
	/* the lowest version that holds every record: older readers still
	 * read captures that do not need the newer format */
	uint16_t major = (w->file_kinds & ~mpt__kinds_of_major(2))   ? 3
			 : (w->file_kinds & ~mpt__kinds_of_major(1)) ? 2
								      : 1;
	if (w->enc_major > major)
		major = w->enc_major;
	uint8_t t[MPT_TRAILER_SIZE] = { 0 };
	mpt__le64(t, w->off);
	mpt__le64(t + 8, f.len);
	mpt__le64(t + 16, mpt__hash(f.p, f.len));
	mpt__le16(t + 24, major);
	mpt__le16(t + 26, MPT_VERSION_MINOR);
	mpt__le64(t + 32, mpt__hash(t, 32));
	memcpy(t + 40, MPT_FILE_MAGIC, 8);
	st = emit(w, f.p, f.len, err);
	mpt__buf_free(&f);
	if (st == MPT_OK)
		st = emit(w, t, sizeof t, err);
	if (st == MPT_OK)
		st = flush_out(w, err);
	if (st != MPT_OK)
		goto fail;
	if (major != 1) {
		uint8_t v[2];
		mpt__le16(v, major);
		if (pwrite(w->fd, v, sizeof v, 8) != (ssize_t)sizeof v) {
			st = wfail(w, err, MPT_E_IO, "write failed: %s", strerror(errno));
			goto fail;
		}
	}
	mpt__buf_free(&idx);
	return MPT_OK;
fail:
	mpt__buf_free(&idx);
	return st;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

enum mpt_status mpt_writer_close(mpt_writer *w, struct mpt_error *err)
{
	if (!w)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_close: NULL writer");
	enum mpt_status st = MPT_OK;
	if (w->failed) {
		st = wsticky(w, err);
		goto fail;
	}
	if ((st = flush_chunk(w, err)) != MPT_OK)
		goto fail;
	if ((st = write_tail(w, err)) != MPT_OK)
		goto fail;
	if (fsync(w->fd)) {
		st = wfail(w, err, MPT_E_IO, "fsync failed: %s", strerror(errno));
		goto fail;
	}
	int fd = w->fd;
	w->fd = -1;
	if (close(fd)) {
		st = wfail(w, err, MPT_E_IO, "close failed: %s", strerror(errno));
		goto fail;
	}
	if (rename(w->tmp, w->path)) {
		st = wfail(w, err, MPT_E_IO, "rename from '%s' failed: %s", w->tmp,
			   strerror(errno));
		goto fail;
	}
	if (fsync_dir(w->path)) {
		/* the file is complete under its final name; only durability of
		 * the rename is in doubt */
		st = mpt__err(err, MPT_E_IO, "'%s': fsync of the directory failed: %s", w->path,
			      strerror(errno));
		writer_free(w);
		return st;
	}
	writer_free(w);
	return MPT_OK;
fail:
	mpt_writer_abort(w);
	return st;
}

enum mpt_status mpt_writer_keep_segments(mpt_writer *w, struct mpt_error *err)
{
	if (!w)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_keep_segments: NULL writer");
	w->seg_on = 1;
	return MPT_OK;
}

enum mpt_status mpt_writer_segment(mpt_writer *w, const char *path, struct mpt_error *err)
{
	if (!w || !path || !*path)
		return mpt__err(err, MPT_E_ARG, "mpt_writer_segment: NULL argument");
	if (!w->seg_on)
		return mpt__err(err, MPT_E_ARG,
				"'%s': segments were not asked for (mpt_writer_keep_segments)",
				w->path);
	if (w->failed)
		return wsticky(w, err);
	enum mpt_status st = flush_chunk(w, err);
	if (st != MPT_OK)
		return st;
	size_t tl = strlen(path) + 32;
	char *tmp = malloc(tl);
	if (!tmp)
		return wfail(w, err, MPT_E_NOMEM, "out of memory");
	snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		st = wfail(w, err, MPT_E_IO, "segment '%s': cannot create: %s", tmp,
			   strerror(errno));
		free(tmp);
		return st;
	}
	/* the segment's file in place of the main one, for the tail's code */
	int main_fd = w->fd;
	uint64_t main_off = w->off, main_rows = w->total_rows;
	uint32_t main_nchunks = w->nchunks, main_kinds = w->file_kinds;
	struct mpt_buf main_out = w->out, main_index = w->chunk_index;
	w->fd = fd;
	w->off = 0;
	w->out = (struct mpt_buf){ 0 };
	w->chunk_index = w->seg_index;
	w->nchunks = w->seg_nchunks;
	w->total_rows = w->seg_rows;
	w->file_kinds = w->seg_kinds;
	uint8_t hdr[MPT_HEADER_SIZE] = { 0 };
	memcpy(hdr, MPT_FILE_MAGIC, 8);
	mpt__le16(hdr + 8, 1);
	mpt__le16(hdr + 10, MPT_VERSION_MINOR);
	st = emit(w, hdr, sizeof hdr, err);
	if (st == MPT_OK)
		st = emit(w, w->seg_data.p, w->seg_data.len, err);
	if (st == MPT_OK)
		st = write_tail(w, err);
	mpt__buf_free(&w->out);
	w->seg_index = w->chunk_index;
	w->fd = main_fd;
	w->off = main_off;
	w->out = main_out;
	w->chunk_index = main_index;
	w->nchunks = main_nchunks;
	w->total_rows = main_rows;
	w->file_kinds = main_kinds;
	if (close(fd) && st == MPT_OK)
		st = wfail(w, err, MPT_E_IO, "segment '%s': close failed: %s", tmp,
			   strerror(errno));
	/* no fsync: a segment is read at once and rewritten by the whole
	 * capture; the rename makes it appear complete */
	if (st == MPT_OK && rename(tmp, path))
		st = wfail(w, err, MPT_E_IO, "segment: rename from '%s' failed: %s", tmp,
			   strerror(errno));
	if (st != MPT_OK)
		unlink(tmp);
	free(tmp);
	w->seg_data.len = 0;
	w->seg_index.len = 0;
	w->seg_nchunks = 0;
	w->seg_rows = 0;
	w->seg_kinds = 0;
	return st;
}

void mpt_writer_abort(mpt_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp)
		unlink(w->tmp);
	writer_free(w);
}
