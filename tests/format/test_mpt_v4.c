/* Format 4.0 (encodings USIZE and PTR2) against 3.0: the same malloc-shaped
 * stream written with every encoding (the default: a 4.0 file) and with the
 * encodings of 3.0 at most (opts.format_major = 3: a 1.0 file, since it
 * holds neither proc_fork nor leak_scan); both read back record for record,
 * the 4.0 one smaller, its usable column in USIZE. */
#include <xxhash.h>

#include "mpt_test_util.h"

#define V4_N 300000

static struct mpa_event v4_ev[V4_N];

static void v4_write(const char *path, unsigned format_major)
{
	struct mpt_writer_opts o = { .format_major = format_major };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(path, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (uint32_t i = 0; i < V4_N; i++)
		cr_assert_eq(mpt_writer_append(w, &v4_ev[i], &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
}

static void v4_check(const char *path, unsigned major)
{
	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *b;
	cr_assert_eq(mpt_reader_open(path, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), major);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK, "%s", err.msg);
	uint32_t k = 0;
	enum mpt_status st;
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++, k++) {
			struct mpa_event e;
			mpt_batch_get(b, i, &e);
			cr_assert(k < V4_N && tu_event_eq(&e, &v4_ev[k]), "%s: record %u differs", path, k);
		}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	cr_assert_eq(k, V4_N);
	struct mpt_column_info info[MPT_COL_COUNT_];
	cr_assert_eq(mpt_reader_column_info(r, 0, info, &err), MPT_OK, "%s", err.msg);
	if (major == 4)
		cr_assert_eq(info[MPT_COL_USABLE].encoding, 11, "usable in %u",
			     info[MPT_COL_USABLE].encoding);
	else
		cr_assert(info[MPT_COL_USABLE].encoding != 11 && info[MPT_COL_PTR].encoding != 12);
	mpt_reader_close(r);
}

Test(mpt_v4, both_versions_round_trip_and_4_0_is_smaller)
{
	struct tu_stream s;
	tu_stream_init(&s, 42);
	uint64_t rs = 7;
	for (uint32_t i = 0; i < V4_N; i++) {
		tu_stream_next(&s, &v4_ev[i]);
		struct mpa_event *e = &v4_ev[i];
		if (e->kind == MPA_KIND_ALLOC) /* glibc's usable size, 2 % otherwise */
			e->usable = tu_rand(&rs) % 50 ? tu_chunk_size(e->size) - 8
						      : e->size + tu_rand(&rs) % 4096;
	}
	char *dir = tu_tmpdir();
	char *p4 = tu_path(dir, "v4.mpt"), *p3 = tu_path(dir, "v3.mpt");
	v4_write(p4, 0);
	v4_write(p3, 3);
	v4_check(p4, 4);
	v4_check(p3, 1);
	struct stat a, b;
	cr_assert_eq(stat(p4, &a), 0);
	cr_assert_eq(stat(p3, &b), 0);
	cr_assert_lt(a.st_size, b.st_size, "4.0: %lld bytes, 3.0 encodings: %lld", (long long)a.st_size,
		     (long long)b.st_size);
	free(p4);
	free(p3);
	tu_rmdir(dir);
}

/* A 4.0 encoding in a file labelled 3.0 is refused: a 3.0 reader could not
 * read it either. */
Test(mpt_v4, a_4_0_encoding_in_a_3_0_file_is_refused)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "x.mpt");
	struct tu_stream s;
	tu_stream_init(&s, 3);
	uint64_t rs = 1;
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	for (uint32_t i = 0; i < 5000; i++) {
		struct mpa_event e;
		tu_stream_next(&s, &e);
		if (e.kind == MPA_KIND_ALLOC)
			e.usable = tu_chunk_size(e.size) - 8 + (tu_rand(&rs) % 9 == 0 ? 16 : 0);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	size_t len;
	uint8_t *b = tu_slurp(p, &len);
	cr_assert_eq(b[8], 4);
	/* relabel as 3.0: header and trailer (and the trailer's checksum) */
	b[8] = 3;
	uint8_t *t = b + len - 48;
	t[24] = 3;
	uint64_t h = XXH64(t, 32, 0);
	for (int i = 0; i < 8; i++)
		t[32 + i] = (uint8_t)(h >> (8 * i));
	tu_spit(p, b, len);
	free(b);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_neq(mpt_reader_verify(r, &err), MPT_OK);
	cr_assert(strstr(err.msg, "needs format 4.0"), "%s", err.msg);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}
