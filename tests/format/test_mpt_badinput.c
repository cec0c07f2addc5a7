/* libmpt: hostile input.  Truncation anywhere, bad magic, newer version,
 * flipped bits, lying lengths/counts/offsets (with checksums recomputed so
 * the lie reaches the structural checks), huge declared sizes.  Every case
 * must end in an MPT_E_* status with a message naming the file, never a
 * crash, a hang or a huge allocation (ASan would catch those). */
#include <xxhash.h>

#include "mpt_test_util.h"

#define TRAILER 48

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* File layout helpers over an in-memory copy. */
static uint64_t footer_off(const uint8_t *f, size_t n) { return rd64(f + n - TRAILER); }
static uint64_t footer_len(const uint8_t *f, size_t n) { return rd64(f + n - TRAILER + 8); }
static uint8_t *chunk_entry(uint8_t *f, size_t n, uint32_t i)
{
	return f + footer_off(f, n) + 24 + 48 * (size_t)i;
}
static uint8_t *table_entry(uint8_t *f, size_t n, uint32_t i)
{
	uint32_t nchunks = rd32(f + footer_off(f, n) + 4);
	return f + footer_off(f, n) + 24 + 48 * (size_t)nchunks + 40 * (size_t)i;
}
/* Recomputes the footer checksum and the trailer checksum. */
static void fix_footer(uint8_t *f, size_t n)
{
	uint8_t *t = f + n - TRAILER;
	wr64(t + 16, XXH64(f + footer_off(f, n), footer_len(f, n), 0));
	wr64(t + 32, XXH64(t, 32, 0));
}
/* Recomputes the header checksum of chunk i. */
static void fix_chunk(uint8_t *f, size_t n, uint32_t i)
{
	uint8_t *e = chunk_entry(f, n, i);
	uint8_t *h = f + rd64(e);
	uint32_t hlen = rd32(e + 16);
	wr64(h + hlen - 8, XXH64(h, hlen - 8, 0));
}

/* Opens path, verifies and scans everything.  Returns the first failure
 * status, or MPT_OK; with exp, also compares the records read. */
static enum mpt_status try_read(const char *path, struct mpt_error *err,
				const struct mpa_event *exp, uint32_t nexp)
{
	mpt_reader *r;
	enum mpt_status st = mpt_reader_open(path, &r, err);
	if (st != MPT_OK)
		return st;
	st = mpt_reader_verify(r, err);
	if (st == MPT_OK) {
		const struct mpt_batch *b;
		uint32_t i = 0;
		while ((st = mpt_reader_next(r, &b, err)) == MPT_OK)
			for (uint32_t j = 0; j < b->n; j++, i++) {
				struct mpa_event e;
				mpt_batch_get(b, j, &e);
				if (exp)
					cr_assert(i < nexp && tu_event_eq(&e, &exp[i]),
						  "a damaged file read back different data at row %u", i);
			}
		if (st == MPT_END) {
			st = MPT_OK;
			if (exp)
				cr_assert_eq(i, nexp, "a damaged file read back a different row count");
		}
	}
	/* column_info and read_chunk on every chunk must not crash either */
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_column_info ci[MPT_COL_COUNT_];
		struct mpt_error e2;
		const struct mpt_batch *b;
		mpt_reader_column_info(r, c, ci, &e2);
		mpt_reader_read_chunk(r, c, &b, &e2);
	}
	mpt_reader_close(r);
	return st;
}

struct fixture {
	char *dir, *good, *bad;
	uint8_t *bytes;
	size_t len;
	struct mpa_event *ev;
	uint32_t n;
};

/* A small file: n random records in chunks of chunk_rows, plus tables. */
static void make_fixture(struct fixture *fx, uint32_t n, uint32_t chunk_rows, int tables)
{
	fx->dir = tu_tmpdir();
	fx->good = tu_path(fx->dir, "good.mpt");
	fx->bad = tu_path(fx->dir, "bad.mpt");
	fx->n = n;
	fx->ev = malloc(sizeof *fx->ev * (n ? n : 1));
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(fx->good, &o, &w, &err), MPT_OK, "%s", err.msg);
	uint64_t seed = 99, ts = 5;
	for (uint32_t i = 0; i < n; i++) {
		tu_random_event(&fx->ev[i], &seed, &ts);
		cr_assert_eq(mpt_writer_append(w, &fx->ev[i], &err), MPT_OK);
	}
	if (tables) {
		uint32_t s, f, st;
		cr_assert_eq(mpt_writer_string(w, "libfoo.so", 9, &s, &err), MPT_OK);
		struct mpt_frame fr = { 0x1234, 0x34, s, s, 0, 7 };
		cr_assert_eq(mpt_writer_frame(w, &fr, &f, &err), MPT_OK);
		cr_assert_eq(mpt_writer_stack(w, &f, 1, &st, &err), MPT_OK);
		struct mpt_binary b = { 1, s, 0, 0x1000, 0x2000 };
		cr_assert_eq(mpt_writer_binary(w, &b, &err), MPT_OK);
		cr_assert_eq(mpt_writer_meta(w, "host", "h", &err), MPT_OK);
		int32_t cn[2] = { 0, 0 };
		struct mpt_topology t = { 2, 1, 4096, 64, 0, 0, 0, cn, NULL };
		cr_assert_eq(mpt_writer_topology(w, &t, &err), MPT_OK);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	fx->bytes = tu_slurp(fx->good, &fx->len);
}

static void free_fixture(struct fixture *fx)
{
	free(fx->good);
	free(fx->bad);
	free(fx->bytes);
	free(fx->ev);
	tu_rmdir(fx->dir);
}

/* Writes the modified bytes and expects status want (0 = any error). */
static void expect_bad(struct fixture *fx, const uint8_t *b, size_t len, enum mpt_status want,
		       const char *needle)
{
	struct mpt_error err = { 0 };
	tu_spit(fx->bad, b, len);
	enum mpt_status st = try_read(fx->bad, &err, NULL, 0);
	cr_assert_lt(st, 0, "damaged file accepted (wanted %s)", mpt_status_name(want));
	if (want)
		cr_assert_eq(st, want, "got %s: %s", mpt_status_name(st), err.msg);
	cr_assert_eq(err.code, st);
	cr_assert(strstr(err.msg, fx->bad) != NULL, "message must name the file: %s", err.msg);
	cr_assert(strchr(err.msg, '\n') == NULL);
	if (needle)
		cr_assert(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

Test(mpt_badinput, good_fixture_reads)
{
	struct fixture fx;
	make_fixture(&fx, 300, 128, 1);
	struct mpt_error err;
	cr_assert_eq(try_read(fx.good, &err, fx.ev, fx.n), MPT_OK, "%s", err.msg);
	free_fixture(&fx);
}

Test(mpt_badinput, truncated_anywhere)
{
	struct fixture fx;
	make_fixture(&fx, 400, 128, 1);
	for (size_t cut = 0; cut < fx.len; cut++) {
		/* every offset near both ends, a stride in the middle */
		if (cut > 300 && cut + 300 < fx.len && cut % 7)
			continue;
		expect_bad(&fx, fx.bytes, cut, 0, NULL);
	}
	/* appended garbage is not silently accepted either */
	uint8_t *more = malloc(fx.len + 5);
	memcpy(more, fx.bytes, fx.len);
	memset(more + fx.len, 0, 5);
	expect_bad(&fx, more, fx.len + 5, MPT_E_TRUNCATED, "truncated");
	free(more);
	free_fixture(&fx);
}

Test(mpt_badinput, empty_and_garbage)
{
	struct fixture fx;
	make_fixture(&fx, 10, 0, 0);
	expect_bad(&fx, fx.bytes, 0, MPT_E_TRUNCATED, NULL);
	uint8_t junk[4096];
	uint64_t s = 1;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)tu_rand(&s);
	expect_bad(&fx, junk, sizeof junk, MPT_E_FORMAT, "bad magic");
	expect_bad(&fx, junk, 5, MPT_E_FORMAT, "bad magic");
	/* a directory is not a capture */
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(fx.dir, &r, &err), MPT_E_IO);
	cr_assert_eq(mpt_reader_open("/nonexistent/x.mpt", &r, &err), MPT_E_IO);
	cr_assert(strstr(err.msg, "/nonexistent/x.mpt") != NULL);
	free_fixture(&fx);
}

Test(mpt_badinput, bad_magic)
{
	struct fixture fx;
	make_fixture(&fx, 10, 0, 0);
	fx.bytes[1] ^= 0x20;
	expect_bad(&fx, fx.bytes, fx.len, MPT_E_FORMAT, "bad magic");
	fx.bytes[1] ^= 0x20;
	fx.bytes[fx.len - 1] ^= 1; /* trailer magic: looks like an unfinished file */
	expect_bad(&fx, fx.bytes, fx.len, MPT_E_TRUNCATED, NULL);
	free_fixture(&fx);
}

Test(mpt_badinput, newer_major_version_refused)
{
	struct fixture fx;
	make_fixture(&fx, 10, 0, 0);
	fx.bytes[8] = MPT_VERSION_MAJOR + 1; /* header major, little-endian u16 */
	expect_bad(&fx, fx.bytes, fx.len, MPT_E_VERSION, "newer than this reader");
	fx.bytes[8] = 0;
	expect_bad(&fx, fx.bytes, fx.len, MPT_E_VERSION, NULL);
	free_fixture(&fx);
}

Test(mpt_badinput, newer_minor_version_accepted)
{
	struct fixture fx;
	make_fixture(&fx, 50, 20, 1);
	/* minor bump in header and trailer: additive, still readable */
	fx.bytes[10] = MPT_VERSION_MINOR + 1;
	fx.bytes[fx.len - TRAILER + 26] = MPT_VERSION_MINOR + 1;
	fix_footer(fx.bytes, fx.len);
	tu_spit(fx.bad, fx.bytes, fx.len);
	struct mpt_error err;
	cr_assert_eq(try_read(fx.bad, &err, fx.ev, fx.n), MPT_OK, "%s", err.msg);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(fx.bad, &r, &err), MPT_OK);
	cr_assert_eq(mpt_reader_version_minor(r), MPT_VERSION_MINOR + 1);
	mpt_reader_close(r);
	free_fixture(&fx);
}

Test(mpt_badinput, every_byte_flipped)
{
	struct fixture fx;
	make_fixture(&fx, 60, 25, 1);
	uint8_t *b = malloc(fx.len);
	for (size_t i = 0; i < fx.len; i++) {
		unsigned nbits = (i < 64 || i + 64 >= fx.len) ? 8 : 1;
		for (unsigned k = 0; k < nbits; k++) {
			unsigned bit = nbits == 8 ? k : (unsigned)(i * 5 % 8);
			memcpy(b, fx.bytes, fx.len);
			b[i] ^= (uint8_t)(1u << bit);
			tu_spit(fx.bad, b, fx.len);
			struct mpt_error err = { 0 };
			/* either detected, or harmless: identical records */
			enum mpt_status st = try_read(fx.bad, &err, fx.ev, fx.n);
			if (st != MPT_OK) {
				cr_assert_lt(st, 0);
				cr_assert(strstr(err.msg, fx.bad) != NULL, "%s", err.msg);
			} else {
				/* only the header's reserved bytes may be ignored */
				cr_assert(i >= 12 && i < 16, "flip at byte %zu bit %u undetected", i, bit);
			}
		}
	}
	free(b);
	free_fixture(&fx);
}

Test(mpt_badinput, column_checksum_names_chunk_and_column)
{
	struct fixture fx;
	make_fixture(&fx, 300, 100, 0);
	/* the last byte of chunk 1's data belongs to its last column */
	uint8_t *e = chunk_entry(fx.bytes, fx.len, 1);
	uint64_t end = rd64(e) + rd64(e + 8);
	fx.bytes[end - 1] ^= 0x10;
	expect_bad(&fx, fx.bytes, fx.len, MPT_E_CHECKSUM, "chunk 1 column ");
	free_fixture(&fx);
}

Test(mpt_badinput, lying_trailer_and_footer)
{
	struct fixture fx;
	make_fixture(&fx, 300, 100, 1);
	uint8_t *b = malloc(fx.len);
	uint8_t *t;

	/* footer offset points into a chunk */
	memcpy(b, fx.bytes, fx.len);
	t = b + fx.len - TRAILER;
	wr64(t, 100);
	wr64(t + 32, XXH64(t, 32, 0));
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, NULL);

	/* footer length huge */
	memcpy(b, fx.bytes, fx.len);
	t = b + fx.len - TRAILER;
	wr64(t + 8, UINT64_C(1) << 60);
	wr64(t + 32, XXH64(t, 32, 0));
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, NULL);

	/* chunk count huge */
	memcpy(b, fx.bytes, fx.len);
	wr32(b + footer_off(b, fx.len) + 4, 0x10000000);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "footer");

	/* total rows lie */
	memcpy(b, fx.bytes, fx.len);
	wr64(b + footer_off(b, fx.len) + 16, 301);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "row count");

	/* chunk offset lies */
	memcpy(b, fx.bytes, fx.len);
	wr64(chunk_entry(b, fx.len, 1), 17);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 1");

	/* chunk length lies (overlaps the next) */
	memcpy(b, fx.bytes, fx.len);
	wr64(chunk_entry(b, fx.len, 0) + 8, rd64(chunk_entry(b, fx.len, 0) + 8) + 1);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, NULL);

	/* huge row count in a chunk */
	memcpy(b, fx.bytes, fx.len);
	wr32(chunk_entry(b, fx.len, 0) + 20, 0x40000000);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_LIMIT, "chunk 0");

	/* stats lie: skipping would hide rows; the header cross-check catches it */
	memcpy(b, fx.bytes, fx.len);
	wr64(chunk_entry(b, fx.len, 0) + 40, rd64(chunk_entry(b, fx.len, 0) + 40) + 1);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 0");

	/* table with a huge declared decoded size */
	memcpy(b, fx.bytes, fx.len);
	wr64(table_entry(b, fx.len, 0) + 24, UINT64_C(1) << 40);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_LIMIT, "string table");

	/* table offset lies */
	memcpy(b, fx.bytes, fx.len);
	wr64(table_entry(b, fx.len, 1) + 8, rd64(table_entry(b, fx.len, 1) + 8) - 1);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, NULL);

	/* table type repeated */
	memcpy(b, fx.bytes, fx.len);
	wr32(table_entry(b, fx.len, 1), 1);
	fix_footer(b, fx.len);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, NULL);
	free(b);
	free_fixture(&fx);
}

Test(mpt_badinput, lying_chunk_header)
{
	struct fixture fx;
	make_fixture(&fx, 300, 100, 0);
	uint8_t *b = malloc(fx.len);
	uint8_t *h, *d;
#define RESET()                                                                                \
	do {                                                                                   \
		memcpy(b, fx.bytes, fx.len);                                                   \
		h = b + rd64(chunk_entry(b, fx.len, 2));                                       \
		d = h + 40;                                                                    \
	} while (0)
	/* descriptor k of chunk 2 is at d + 32k: col, enc, comp, 0, values,
	 * raw, enc_bytes, stored, 0, checksum */
	RESET();
	wr32(d + 4, rd32(d + 4) - 1); /* kind column: one value fewer */
	wr32(d + 8, rd32(d + 8) - 1);
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 2 column kind");

	RESET();
	wr32(d + 32 + 12, 0x7fffffff); /* ts: huge encoded size */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_LIMIT, "chunk 2 column ts");

	RESET();
	wr32(d + 32 + 16, rd32(d + 32 + 16) + 1); /* ts: stored size overruns */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 2 column");

	RESET();
	d[32 + 1] = 200; /* unknown encoding */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "unknown encoding");

	RESET();
	d[32] = 0; /* column ids not increasing */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 2");

	RESET();
	wr32(h + 8, 0x7fffffff); /* rows in the header differ from the footer */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 2");

	RESET();
	b[rd64(chunk_entry(b, fx.len, 2)) + 34] = 8; /* descriptor size below minimum */
	fix_chunk(b, fx.len, 2);
	expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "chunk 2");

	/* each compressed column: content size off by one (bounds kept) */
	for (unsigned k = 0; k < rd32(h + 32) % 65536; k++) {
		RESET();
		uint8_t *dk = d + 32 * k;
		if (!dk[2])
			continue;
		wr32(dk + 12, rd32(dk + 12) - 1);
		fix_chunk(b, fx.len, 2);
		expect_bad(&fx, b, fx.len, 0, "chunk 2 column");
	}
#undef RESET
	free(b);
	free_fixture(&fx);
}

Test(mpt_badinput, lying_table_payload)
{
	/* an empty capture keeps its tiny string table raw: patch its count */
	struct fixture fx;
	make_fixture(&fx, 0, 0, 0);
	uint8_t *te = table_entry(fx.bytes, fx.len, 0);
	cr_assert_eq(rd32(te), 1);
	cr_assert_eq(te[4], 0, "tiny tables are stored raw");
	uint64_t off = rd64(te + 8), stored = rd64(te + 16);
	cr_assert_eq(stored, 2);
	uint8_t *b = malloc(fx.len);
	static const uint8_t payloads[][2] = { { 0x7f, 0 }, { 0, 0 }, { 1, 1 }, { 0xff, 0xff },
					       { 2, 0 } };
	for (unsigned k = 0; k < 5; k++) {
		memcpy(b, fx.bytes, fx.len);
		memcpy(b + off, payloads[k], 2);
		wr64(table_entry(b, fx.len, 0) + 32, XXH64(b + off, 2, 0));
		fix_footer(b, fx.len);
		expect_bad(&fx, b, fx.len, MPT_E_FORMAT, "string table");
	}
	free(b);
	free_fixture(&fx);
}
