/* mpt_writer_segment: complete captures cut from a capture being written,
 * each with the rows since the last cut and the tables so far (ids shared
 * with the main capture). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpa/mpt.h"

static void add(mpt_writer *w, uint64_t ts, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_ALLOC;
	e.ts = ts;
	e.pid = 7;
	e.tid = 7;
	e.ptr = 0x1000 + ts * 16;
	e.size = 8;
	e.stack_id = stack;
	struct mpt_error er = {0};
	cr_assert_eq(mpt_writer_append(w, &e, &er), MPT_OK, "%s", er.msg);
}

static uint32_t stack_of(mpt_writer *w, const char *func)
{
	struct mpt_error er = {0};
	uint32_t sid, fid, id;
	cr_assert_eq(mpt_writer_string(w, func, strlen(func), &sid, &er), MPT_OK);
	struct mpt_frame f = {.ip = 0x400000 + sid, .func = sid};
	cr_assert_eq(mpt_writer_frame(w, &f, &fid, &er), MPT_OK);
	cr_assert_eq(mpt_writer_stack(w, &fid, 1, &id, &er), MPT_OK);
	return id;
}

/* rows, first and last ts of a capture, and its stack count */
static void summary(const char *path, uint64_t *rows, uint64_t *t0, uint64_t *t1, uint32_t *nst,
		    mpt_reader **out)
{
	struct mpt_error er = {0};
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(path, &r, &er), MPT_OK, "%s: %s", path, er.msg);
	*rows = 0;
	*t0 = UINT64_MAX;
	*t1 = 0;
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_chunk_info ci;
		cr_assert_eq(mpt_reader_chunk_info(r, c, &ci), MPT_OK);
		*rows += ci.rows;
		if (ci.ts_min < *t0)
			*t0 = ci.ts_min;
		if (ci.ts_max > *t1)
			*t1 = ci.ts_max;
	}
	*nst = mpt_reader_stack_count(r);
	*out = r;
}

Test(mpt_segments, rows_since_the_last_cut_and_the_tables_so_far)
{
	char dir[] = "/tmp/mpt-seg-XXXXXX";
	cr_assert(mkdtemp(dir));
	char main_p[64], s1[64], s2[64];
	snprintf(main_p, sizeof main_p, "%s/all.mpt", dir);
	snprintf(s1, sizeof s1, "%s/seg-000001.mpt", dir);
	snprintf(s2, sizeof s2, "%s/seg-000002.mpt", dir);
	struct mpt_writer_opts o = {.chunk_rows = 4};
	struct mpt_error er = {0};
	mpt_writer *w;
	cr_assert_eq(mpt_writer_open(main_p, &o, &w, &er), MPT_OK, "%s", er.msg);
	cr_assert_eq(mpt_writer_keep_segments(w, &er), MPT_OK);
	uint32_t a = stack_of(w, "a");
	for (uint64_t t = 1; t <= 10; t++) /* two full chunks and a partial one */
		add(w, t, a);
	cr_assert_eq(mpt_writer_meta(w, "lost_events", "3", &er), MPT_OK);
	cr_assert_eq(mpt_writer_segment(w, s1, &er), MPT_OK, "%s", er.msg);
	uint32_t b = stack_of(w, "b");
	cr_assert_eq(b, a + 1);
	for (uint64_t t = 11; t <= 15; t++)
		add(w, t, t % 2 ? a : b);
	cr_assert_eq(mpt_writer_segment(w, s2, &er), MPT_OK, "%s", er.msg);
	add(w, 16, b);
	cr_assert_eq(mpt_writer_close(w, &er), MPT_OK, "%s", er.msg);

	uint64_t rows, t0, t1;
	uint32_t nst;
	mpt_reader *r1, *r2, *rm;
	summary(s1, &rows, &t0, &t1, &nst, &r1);
	cr_expect_eq(rows, 10);
	cr_expect_eq(t0, 1);
	cr_expect_eq(t1, 10);
	cr_expect_eq(nst, 1);
	cr_expect_str_eq(mpt_reader_meta(r1, "lost_events"), "3");
	summary(s2, &rows, &t0, &t1, &nst, &r2);
	cr_expect_eq(rows, 5);
	cr_expect_eq(t0, 11);
	cr_expect_eq(t1, 15);
	cr_expect_eq(nst, 2);
	summary(main_p, &rows, &t0, &t1, &nst, &rm);
	cr_expect_eq(rows, 16);
	cr_expect_eq(t0, 1);
	cr_expect_eq(t1, 16);
	cr_expect_eq(nst, 2);
	/* the same ids everywhere */
	uint32_t n1, n2, nm;
	const uint32_t *f1 = mpt_reader_stack(r1, a, &n1), *f2 = mpt_reader_stack(r2, a, &n2),
		       *fm = mpt_reader_stack(rm, b, &nm);
	cr_assert(f1 && f2 && fm && n1 == 1 && n2 == 1 && nm == 1);
	cr_expect_eq(f1[0], f2[0]);
	cr_expect_str_eq(mpt_reader_string(r2, mpt_reader_frame(r2, f2[0])->func, NULL), "a");
	const uint32_t *fb = mpt_reader_stack(r2, b, &n2);
	cr_expect_str_eq(mpt_reader_string(r2, mpt_reader_frame(r2, fb[0])->func, NULL), "b");
	cr_expect_eq(fb[0], fm[0]);
	/* the segment's rows decode */
	struct mpt_scan sc = {.columns = MPT_COLBIT(MPT_COL_STACK_ID) | MPT_COLBIT(MPT_COL_TS)};
	cr_assert_eq(mpt_reader_scan(r2, &sc, &er), MPT_OK, "%s", er.msg);
	const struct mpt_batch *bt;
	uint64_t seen = 0, sum_ts = 0;
	while (mpt_reader_next(r2, &bt, &er) == MPT_OK) {
		for (uint32_t i = 0; i < bt->n; i++) {
			sum_ts += bt->ts[i];
			cr_expect_eq(bt->stack_id[i], bt->ts[i] % 2 ? a : b);
		}
		seen += bt->n;
	}
	cr_expect_eq(seen, 5);
	cr_expect_eq(sum_ts, 11 + 12 + 13 + 14 + 15);
	mpt_reader_close(r1);
	mpt_reader_close(r2);
	mpt_reader_close(rm);
	unlink(s1);
	unlink(s2);
	unlink(main_p);
	rmdir(dir);
}

Test(mpt_segments, refused_unless_asked_for_at_open)
{
	char dir[] = "/tmp/mpt-seg-XXXXXX";
	cr_assert(mkdtemp(dir));
	char main_p[64], s1[64];
	snprintf(main_p, sizeof main_p, "%s/all.mpt", dir);
	snprintf(s1, sizeof s1, "%s/seg-000001.mpt", dir);
	struct mpt_error er = {0};
	mpt_writer *w;
	cr_assert_eq(mpt_writer_open(main_p, NULL, &w, &er), MPT_OK);
	add(w, 1, 0);
	cr_expect_eq(mpt_writer_segment(w, s1, &er), MPT_E_ARG);
	cr_expect(strstr(er.msg, "segments were not asked for"), "%s", er.msg);
	cr_expect_eq(access(s1, F_OK), -1);
	cr_assert_eq(mpt_writer_close(w, &er), MPT_OK, "%s", er.msg);
	unlink(main_p);
	rmdir(dir);
}
