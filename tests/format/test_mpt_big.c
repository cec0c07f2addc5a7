/* libmpt: a 10M-record round trip of a malloc-shaped stream, and its size. */
#include "mpt_test_util.h"

Test(mpt_big, ten_million_records, .timeout = 600)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "big.mpt");
	const uint32_t n = 10000000;
	struct tu_stream *s = malloc(sizeof *s);
	tu_stream_init(s, 1);
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	for (uint32_t i = 0; i < n; i++) {
		struct mpa_event e;
		tu_stream_next(s, &e);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);

	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_rows(r), n);
	double bpr = (double)mpt_reader_file_size(r) / n;
	cr_log_info("10M malloc-shaped records: %.3f bytes/record", bpr);
	tu_stream_init(s, 1);
	const struct mpt_batch *b;
	uint32_t i = 0;
	enum mpt_status st;
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t j = 0; j < b->n; j++, i++) {
			struct mpa_event e, x;
			tu_stream_next(s, &e);
			mpt_batch_get(b, j, &x);
			cr_assert(tu_event_eq(&e, &x), "record %u differs", i);
		}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	cr_assert_eq(i, n);
	mpt_reader_close(r);
	free(s);
	free(p);
	tu_rmdir(dir);
}
