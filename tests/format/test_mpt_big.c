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

/* The address model under stress: reallocs, NULL frees, double allocs,
 * more threads than its tables hold, frees of blocks from other chunks. */
Test(mpt_big, address_model_edge_cases)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "m.mpt");
	const uint32_t n = 300000;
	struct mpa_event *ev = malloc(sizeof *ev * n);
	uint64_t s = 77, ts = 1;
	static uint64_t live[3000][4];
	static uint64_t top[3000];
	for (uint32_t i = 0; i < n; i++) {
		struct mpa_event *e = &ev[i];
		memset(e, 0, sizeof *e);
		uint64_t r = tu_rand(&s);
		unsigned t = (unsigned)(i < 100000 ? r % 3000 : r % 3);
		e->ts = ts += r % 300;
		e->pid = 1;
		e->tid = (int32_t)t - 1500;
		e->cpu = t % 4;
		unsigned slot = (unsigned)(r >> 20) % 4;
		switch ((r >> 8) % 10) {
		case 0: case 1: case 2: case 3:
			e->kind = MPA_KIND_ALLOC;
			e->size = 16 + (r >> 30) % 100;
			if (!top[t])
				top[t] = 0x10000000 + (uint64_t)t * 0x100000;
			e->ptr = (r >> 40) % 7 == 0 ? 0 : (r >> 44) % 5 == 0 && live[t][slot]
							? live[t][slot] /* allocated twice */
							: (top[t] += 64);
			live[t][slot] = e->ptr;
			break;
		case 4: case 5: case 6:
			e->kind = MPA_KIND_FREE;
			e->ptr = (r >> 40) % 9 == 0 ? 0 : live[t][slot];
			live[t][slot] = 0;
			break;
		case 7:
			e->kind = MPA_KIND_REALLOC;
			e->ptr = live[t][slot];
			e->size = (r >> 30) % 5000;
			e->new_ptr = (r >> 40) % 3 == 0 ? e->ptr : (top[t] += 0x2000);
			live[t][slot] = e->new_ptr;
			break;
		case 8:
			e->kind = (r >> 40) % 2 ? MPA_KIND_KALLOC : MPA_KIND_KFREE;
			e->ptr = 0xffff888000000000 + ((r >> 44) % 64) * 64;
			if (e->kind == MPA_KIND_KALLOC)
				e->size = 64;
			break;
		default:
			e->kind = (r >> 40) % 2 ? MPA_KIND_MAP : MPA_KIND_CACHE_SAMPLE;
			e->ptr = 0x7f0000000000 + (r >> 36);
			if (e->kind == MPA_KIND_MAP)
				e->size = 4096;
			break;
		}
	}
	for (uint32_t rows = 1000; rows <= 100000; rows *= 10) {
		struct mpt_writer_opts o = { .chunk_rows = rows };
		mpt_writer *w;
		struct mpt_error err;
		cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(mpt_writer_append(w, &ev[i], &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
		mpt_reader *r;
		cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
		/* the ptr column alone (its context columns come along) */
		struct mpt_scan sc = { .columns = MPT_COLBIT(MPT_COL_PTR) };
		cr_assert_eq(mpt_reader_scan(r, &sc, &err), MPT_OK);
		const struct mpt_batch *b;
		uint32_t i = 0;
		while (mpt_reader_next(r, &b, &err) == MPT_OK)
			for (uint32_t j = 0; j < b->n; j++, i++)
				cr_assert_eq(b->ptr[j], ev[i].ptr, "rows %u: record %u", rows, i);
		cr_assert_eq(i, n);
		cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
		i = 0;
		while (mpt_reader_next(r, &b, &err) == MPT_OK)
			for (uint32_t j = 0; j < b->n; j++, i++) {
				struct mpa_event e;
				mpt_batch_get(b, j, &e);
				cr_assert(tu_event_eq(&e, &ev[i]), "rows %u: record %u differs", rows, i);
			}
		cr_assert_eq(i, n);
		struct mpt_column_info ci[MPT_COL_COUNT_];
		cr_assert_eq(mpt_reader_column_info(r, 0, ci, &err), MPT_OK);
		mpt_reader_close(r);
	}
	free(ev);
	free(p);
	tu_rmdir(dir);
}
