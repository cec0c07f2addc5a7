/* libmpt: round trips — random records of every kind across chunk
 * boundaries, empty file, one record, tables, projection, filters, random
 * access, atomic writes. */
#include "mpt_test_util.h"

/* Reads the whole file back (all columns) and compares with exp. */
static void check_all(const char *path, const struct mpa_event *exp, uint32_t n)
{
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(path, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_rows(r), n);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *b;
	uint32_t i = 0;
	enum mpt_status st;
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
		for (uint32_t j = 0; j < b->n; j++, i++) {
			struct mpa_event e;
			cr_assert_lt(i, n);
			mpt_batch_get(b, j, &e);
			cr_assert(tu_event_eq(&e, &exp[i]), "record %u differs (kind %u)", i,
				  exp[i].kind);
		}
	}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	cr_assert_eq(i, n);
	mpt_reader_close(r);
}

Test(mpt_roundtrip, random_records_across_chunks)
{
	char *dir = tu_tmpdir();
	static const uint32_t sizes[][2] = { { 1, 1 },      { 2, 1 },     { 999, 100 },
					     { 1000, 100 }, { 5001, 1000 }, { 40000, 4096 },
					     { 70000, 0 } };
	for (unsigned t = 0; t < sizeof sizes / sizeof *sizes; t++) {
		uint32_t n = sizes[t][0];
		char name[32];
		snprintf(name, sizeof name, "r%u.mpt", t);
		char *p = tu_path(dir, name);
		struct mpa_event *ev = malloc(sizeof *ev * n);
		tu_write_random(p, 42 + t, n, sizes[t][1], ev);
		check_all(p, ev, n);
		free(ev);
		free(p);
	}
	tu_rmdir(dir);
}

Test(mpt_roundtrip, many_seeds_small_chunks)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "s.mpt");
	for (uint64_t seed = 1; seed <= 40; seed++) {
		uint32_t n = (uint32_t)(seed * 37 % 600) + 1;
		struct mpa_event *ev = malloc(sizeof *ev * n);
		tu_write_random(p, seed, n, (uint32_t)(seed % 7) * 13 + 1, ev);
		check_all(p, ev, n);
		free(ev);
	}
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, empty_file)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "e.mpt");
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_rows(r), 0);
	cr_assert_eq(mpt_reader_chunk_count(r), 0);
	cr_assert_eq(mpt_reader_string_count(r), 1);
	cr_assert_str_eq(mpt_reader_string(r, 0, NULL), "");
	cr_assert_null(mpt_reader_topology(r));
	cr_assert_eq(mpt_reader_version_major(r), 1, "nothing in it needs format 2.0");
	cr_assert_eq(mpt_reader_version_minor(r), MPT_VERSION_MINOR);
	const struct mpt_batch *b;
	cr_assert_eq(mpt_reader_next(r, &b, &err), MPT_END);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_read_chunk(r, 0, &b, &err), MPT_E_ARG);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, one_record)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "one.mpt");
	struct mpa_event e = { 0 };
	e.kind = MPA_KIND_ALLOC;
	e.ts = 123456789;
	e.pid = 42;
	e.tid = -7;
	e.cpu = 3;
	e.ptr = 0x7f0012345670;
	e.size = 24;
	e.usable = 24;
	e.api = MPA_API_MALLOC;
	e.stack_id = 9;
	e.flags = MPA_FLAG_EARLY;
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	check_all(p, &e, 1);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	struct mpt_chunk_info ci;
	cr_assert_eq(mpt_reader_chunk_info(r, 0, &ci), MPT_OK);
	cr_assert_eq(ci.rows, 1);
	cr_assert_eq(ci.ts_min, 123456789);
	cr_assert_eq(ci.ts_max, 123456789);
	cr_assert_eq(ci.kinds, MPT_KINDBIT(MPA_KIND_ALLOC));
	struct mpt_column_info info[MPT_COL_COUNT_];
	cr_assert_eq(mpt_reader_column_info(r, 0, info, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(info[MPT_COL_PTR].values, 1);
	cr_assert_eq(info[MPT_COL_PTR].raw_bytes, 8);
	cr_assert_eq(info[MPT_COL_NEW_PTR].values, 0);
	cr_assert_eq(info[MPT_COL_TID].raw_bytes, 4);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, fields_outside_the_kind_are_not_stored)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "f.mpt");
	struct mpa_event e = { 0 };
	e.kind = MPA_KIND_FREE;
	e.ts = 5;
	e.ptr = 0x1000;
	e.size = 77;      /* free has no size */
	e.new_ptr = 0x20; /* nor new_ptr */
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	struct mpa_event bad = e;
	bad.kind = 0;
	cr_assert_eq(mpt_writer_append(w, &bad, &err), MPT_E_ARG);
	bad.kind = MPA_KIND_COUNT_;
	cr_assert_eq(mpt_writer_append(w, &bad, &err), MPT_E_ARG);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	e.size = 0;
	e.new_ptr = 0;
	check_all(p, &e, 1);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, tables)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "t.mpt");
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	uint32_t s_empty, s_main, s_libc, s_main2, s_file, s_nul, s_bid;
	cr_assert_eq(mpt_writer_string(w, "", 0, &s_empty, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "main", 4, &s_main, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "libc.so.6xyz", 9, &s_libc, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "main", 4, &s_main2, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "a.c", 3, &s_file, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "a\0b", 3, &s_nul, &err), MPT_OK);
	cr_assert_eq(mpt_writer_string(w, "deadbeef", 8, &s_bid, &err), MPT_OK);
	cr_assert_eq(s_empty, 0);
	cr_assert_eq(s_main, s_main2);
	cr_assert_neq(s_main, s_libc);

	struct mpt_frame f1 = { 0x401000, 0x1000, s_libc, s_main, s_file, 12 };
	struct mpt_frame f2 = { 0x401234, 0x1234, s_libc, 0, 0, 0 };
	uint32_t id1, id2, id1b;
	cr_assert_eq(mpt_writer_frame(w, &f1, &id1, &err), MPT_OK);
	cr_assert_eq(mpt_writer_frame(w, &f2, &id2, &err), MPT_OK);
	cr_assert_eq(mpt_writer_frame(w, &f1, &id1b, &err), MPT_OK);
	cr_assert_eq(id1, 1);
	cr_assert_eq(id2, 2);
	cr_assert_eq(id1b, 1);
	f2.func = s_main;
	f2.line = 99;
	cr_assert_eq(mpt_writer_set_frame(w, id2, &f2, &err), MPT_OK);
	cr_assert_eq(mpt_writer_set_frame(w, 3, &f2, &err), MPT_E_ARG);
	uint32_t id2b;
	cr_assert_eq(mpt_writer_frame(w, &f2, &id2b, &err), MPT_OK);
	cr_assert_eq(id2b, id2, "set_frame content must be found by a later intern");

	uint32_t st1[] = { id1, id2 }, st2[] = { id2 }, sid1, sid2, sid1b, sid0;
	cr_assert_eq(mpt_writer_stack(w, st1, 2, &sid1, &err), MPT_OK);
	cr_assert_eq(mpt_writer_stack(w, st2, 1, &sid2, &err), MPT_OK);
	cr_assert_eq(mpt_writer_stack(w, st1, 2, &sid1b, &err), MPT_OK);
	cr_assert_eq(mpt_writer_stack(w, NULL, 0, &sid0, &err), MPT_OK);
	cr_assert_eq(sid1, 1);
	cr_assert_eq(sid1b, 1);
	cr_assert_eq(sid2, 2);

	struct mpt_binary b1 = { 1234, s_libc, s_bid, 0x7f0000000000, 0x200000 };
	struct mpt_binary b2 = { -1, s_main, 0, 0x400000, 0x1000 };
	cr_assert_eq(mpt_writer_binary(w, &b1, &err), MPT_OK);
	cr_assert_eq(mpt_writer_binary(w, &b2, &err), MPT_OK);

	cr_assert_eq(mpt_writer_meta(w, "host", "box", &err), MPT_OK);
	cr_assert_eq(mpt_writer_meta(w, "clock", "monotonic", &err), MPT_OK);
	cr_assert_eq(mpt_writer_meta(w, "host", "box2", &err), MPT_OK);
	cr_assert_eq(mpt_writer_meta(w, "a.key", "", &err), MPT_OK);

	int32_t cn[4] = { 0, 0, 1, -1 };
	uint32_t dist[4] = { 10, 21, 21, 10 };
	struct mpt_topology t = { 4, 2, 4096, 64, 32768, 1 << 20, 32 << 20, cn, dist };
	cr_assert_eq(mpt_writer_topology(w, &t, &err), MPT_OK);
	cn[0] = 5; /* copied: later changes do not matter */

	struct mpa_event e = { 0 };
	e.kind = MPA_KIND_ALLOC;
	e.ts = 1;
	e.stack_id = sid1;
	cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);

	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_string_count(r), 6);
	size_t len;
	cr_assert_str_eq(mpt_reader_string(r, s_main, &len), "main");
	cr_assert_eq(len, 4);
	cr_assert_str_eq(mpt_reader_string(r, s_libc, NULL), "libc.so.6");
	cr_assert_eq(memcmp(mpt_reader_string(r, s_nul, &len), "a\0b", 4), 0);
	cr_assert_eq(len, 3);
	cr_assert_str_eq(mpt_reader_string(r, 999, &len), "");
	cr_assert_eq(len, 0);

	cr_assert_eq(mpt_reader_frame_count(r), 2);
	cr_assert_null(mpt_reader_frame(r, 0));
	cr_assert_null(mpt_reader_frame(r, 3));
	const struct mpt_frame *rf = mpt_reader_frame(r, id1);
	cr_assert_eq(memcmp(rf, &f1, sizeof f1), 0);
	rf = mpt_reader_frame(r, id2);
	cr_assert_eq(memcmp(rf, &f2, sizeof f2), 0);

	uint32_t n;
	cr_assert_eq(mpt_reader_stack_count(r), 3);
	const uint32_t *fr = mpt_reader_stack(r, sid1, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(fr[0], id1);
	cr_assert_eq(fr[1], id2);
	fr = mpt_reader_stack(r, sid2, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(fr[0], id2);
	mpt_reader_stack(r, sid0, &n);
	cr_assert_eq(n, 0);
	cr_assert_null(mpt_reader_stack(r, 0, &n));
	cr_assert_eq(n, 0);
	cr_assert_null(mpt_reader_stack(r, 4, &n));

	cr_assert_eq(mpt_reader_binary_count(r), 2);
	const struct mpt_binary *rb = mpt_reader_binary(r, 0);
	cr_assert(rb->pid == b1.pid && rb->path == b1.path && rb->build_id == b1.build_id &&
		  rb->base == b1.base && rb->size == b1.size);
	rb = mpt_reader_binary(r, 1);
	cr_assert(rb->pid == b2.pid && rb->path == b2.path && rb->build_id == b2.build_id &&
		  rb->base == b2.base && rb->size == b2.size);
	cr_assert_null(mpt_reader_binary(r, 2));

	cr_assert_eq(mpt_reader_meta_count(r), 3);
	const char *k, *v;
	mpt_reader_meta_at(r, 0, &k, &v);
	cr_assert_str_eq(k, "a.key");
	cr_assert_str_eq(v, "");
	mpt_reader_meta_at(r, 1, &k, &v);
	cr_assert_str_eq(k, "clock");
	mpt_reader_meta_at(r, 2, &k, &v);
	cr_assert_str_eq(k, "host");
	cr_assert_str_eq(v, "box2");
	cr_assert_str_eq(mpt_reader_meta(r, "clock"), "monotonic");
	cr_assert_null(mpt_reader_meta(r, "nope"));

	const struct mpt_topology *rt = mpt_reader_topology(r);
	cr_assert_not_null(rt);
	cr_assert_eq(rt->ncpus, 4);
	cr_assert_eq(rt->nnodes, 2);
	cr_assert_eq(rt->page_size, 4096);
	cr_assert_eq(rt->cache_line, 64);
	cr_assert_eq(rt->l1d_size, 32768);
	cr_assert_eq(rt->l2_size, 1 << 20);
	cr_assert_eq(rt->l3_size, 32 << 20);
	cr_assert_eq(rt->cpu_node[0], 0);
	cr_assert_eq(rt->cpu_node[2], 1);
	cr_assert_eq(rt->cpu_node[3], -1);
	cr_assert_not_null(rt->distance);
	cr_assert_eq(rt->distance[1], 21);
	cr_assert_eq(rt->distance[3], 10);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, big_string_table)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "s.mpt");
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	char buf[64];
	for (uint32_t i = 0; i < 50000; i++) {
		int l = snprintf(buf, sizeof buf, "function_%u_in_some_namespace", i);
		uint32_t id;
		cr_assert_eq(mpt_writer_string(w, buf, (size_t)l, &id, &err), MPT_OK);
		cr_assert_eq(id, i + 1);
		struct mpt_frame f = { 0x400000 + i * 16, i * 16, 0, id, 0, i };
		cr_assert_eq(mpt_writer_frame(w, &f, &id, &err), MPT_OK);
		cr_assert_eq(id, i + 1);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_string_count(r), 50001);
	cr_assert_str_eq(mpt_reader_string(r, 12346, NULL), "function_12345_in_some_namespace");
	cr_assert_eq(mpt_reader_frame(r, 50000)->func, 50000);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, projection_reads_fewer_bytes)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "p.mpt");
	uint32_t n = 50000;
	struct mpa_event *ev = malloc(sizeof *ev * n);
	tu_write_random(p, 7, n, 5000, ev);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *b;
	uint64_t before = mpt_reader_bytes_read(r);
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		;
	uint64_t all = mpt_reader_bytes_read(r) - before;

	struct mpt_scan s = { .columns = MPT_COLBIT(MPT_COL_PTR) };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	before = mpt_reader_bytes_read(r);
	uint32_t i = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK) {
		cr_assert_not_null(b->ptr);
		cr_assert_not_null(b->kind);
		cr_assert_not_null(b->ts);
		cr_assert_null(b->size);
		cr_assert_null(b->tid);
		for (uint32_t j = 0; j < b->n; j++, i++) {
			cr_assert_eq(b->ptr[j], ev[i].ptr);
			cr_assert_eq(b->ts[j], ev[i].ts);
			struct mpa_event e;
			mpt_batch_get(b, j, &e);
			cr_assert_eq(e.size, 0);
			cr_assert_eq(e.kind, ev[i].kind);
		}
	}
	cr_assert_eq(i, n);
	uint64_t some = mpt_reader_bytes_read(r) - before;
	cr_assert_lt(some * 2, all, "projection read %llu bytes, full scan %llu",
		     (unsigned long long)some, (unsigned long long)all);
	cr_assert_lt(all, mpt_reader_file_size(r) + 1);
	mpt_reader_close(r);
	free(ev);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, filters_and_chunk_skipping)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "f.mpt");
	/* 10 chunks of 1000 rows, ts = i * 10, kinds alternate per chunk */
	mpt_writer *w;
	struct mpt_error err;
	struct mpt_writer_opts o = { .chunk_rows = 1000 };
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (uint32_t i = 0; i < 10000; i++) {
		struct mpa_event e = { 0 };
		uint32_t chunk = i / 1000;
		e.kind = chunk % 2 ? (i % 2 ? MPA_KIND_FREE : MPA_KIND_ALLOC) : MPA_KIND_MAP;
		e.ts = (uint64_t)i * 10;
		e.ptr = i;
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);

	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_chunk_count(r), 10);
	const struct mpt_batch *b;

	/* time range inside chunks 3..4: [35000, 42000) */
	struct mpt_scan s = { .columns = MPT_COLBIT(MPT_COL_PTR), .ts_from = 35000, .ts_to = 42000 };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	uint64_t before = mpt_reader_bytes_read(r);
	uint32_t rows = 0, chunks = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK) {
		chunks++;
		for (uint32_t j = 0; j < b->n; j++) {
			cr_assert_geq(b->ts[j], 35000);
			cr_assert_lt(b->ts[j], 42000);
			cr_assert_eq(b->ptr[j], b->ts[j] / 10);
		}
		rows += b->n;
	}
	cr_assert_eq(rows, 700);
	cr_assert_eq(chunks, 2);
	uint64_t ranged = mpt_reader_bytes_read(r) - before;

	/* the same projection over everything reads about 5x more */
	s.ts_from = s.ts_to = 0;
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	before = mpt_reader_bytes_read(r);
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		;
	uint64_t full = mpt_reader_bytes_read(r) - before;
	cr_assert_gt(full, ranged * 3, "skipping chunks must save reads (%llu vs %llu)",
		     (unsigned long long)ranged, (unsigned long long)full);

	/* kinds: only free -> odd chunks only, odd rows only */
	s = (struct mpt_scan){ .kinds = MPT_KINDBIT(MPA_KIND_FREE) };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	rows = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK) {
		cr_assert_eq(b->chunk % 2, 1);
		for (uint32_t j = 0; j < b->n; j++)
			cr_assert_eq(b->kind[j], MPA_KIND_FREE);
		rows += b->n;
	}
	cr_assert_eq(rows, 2500);

	/* kinds absent from the file: nothing, and no chunk read */
	s = (struct mpt_scan){ .columns = MPT_COLS_ALL, .kinds = MPT_KINDBIT(MPA_KIND_LOST) };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	before = mpt_reader_bytes_read(r);
	cr_assert_eq(mpt_reader_next(r, &b, &err), MPT_END);
	cr_assert_eq(mpt_reader_bytes_read(r), before);

	/* invalid kinds mask */
	s = (struct mpt_scan){ .kinds = 1u << 30 };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_E_ARG);

	/* random access keeps the scan's filter: chunk 3 has ts 30000..39990 */
	s = (struct mpt_scan){ .columns = MPT_COLBIT(MPT_COL_PTR), .ts_from = 35000 };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	cr_assert_eq(mpt_reader_read_chunk(r, 3, &b, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(b->chunk, 3);
	cr_assert_eq(b->n, 500);
	cr_assert_eq(b->ptr[0], 3500);
	cr_assert_eq(mpt_reader_read_chunk(r, 0, &b, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(b->n, 0);
	cr_assert_eq(mpt_reader_read_chunk(r, 10, &b, &err), MPT_E_ARG);
	cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
	cr_assert_eq(mpt_reader_read_chunk(r, 9, &b, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(b->n, 1000);
	cr_assert_eq(b->ptr[999], 9999);
	cr_assert_not_null(b->end_ts);
	cr_assert_eq(b->end_ts[0], 0);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, atomic_write)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "a.mpt");
	char *tmp = NULL;
	cr_assert(asprintf(&tmp, "%s.tmp.%ld", p, (long)getpid()) > 0);
	mpt_writer *w;
	struct mpt_error err;
	struct mpt_writer_opts o = { .chunk_rows = 100 };
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	uint64_t seed = 3, ts = 0;
	for (int i = 0; i < 1000; i++) {
		struct mpa_event e;
		tu_random_event(&e, &seed, &ts);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK);
	}
	cr_assert(!tu_exists(p), "no final file before close");
	cr_assert(tu_exists(tmp), "the temporary file holds the data");
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	cr_assert(tu_exists(p));
	cr_assert(!tu_exists(tmp));

	/* abort: nothing left, the old file untouched */
	size_t before_len;
	uint8_t *before = tu_slurp(p, &before_len);
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (int i = 0; i < 500; i++) {
		struct mpa_event e;
		tu_random_event(&e, &seed, &ts);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK);
	}
	mpt_writer_abort(w);
	mpt_writer_abort(NULL);
	cr_assert(!tu_exists(tmp));
	size_t after_len;
	uint8_t *after = tu_slurp(p, &after_len);
	cr_assert_eq(before_len, after_len);
	cr_assert_eq(memcmp(before, after, after_len), 0);

	/* a writer into a missing directory fails cleanly */
	char *bad = tu_path(dir, "no/such/dir.mpt");
	cr_assert_eq(mpt_writer_open(bad, NULL, &w, &err), MPT_E_IO);
	cr_assert_null(w);
	cr_assert(strstr(err.msg, "no/such/dir.mpt") != NULL, "%s", err.msg);
	struct mpt_writer_opts huge = { .chunk_rows = 1u << 30 };
	cr_assert_eq(mpt_writer_open(p, &huge, &w, &err), MPT_E_ARG);
	free(bad);
	free(before);
	free(after);
	free(tmp);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_roundtrip, names)
{
	cr_assert_str_eq(mpa_kind_name(MPA_KIND_ALLOC), "alloc");
	cr_assert_str_eq(mpa_kind_name(MPA_KIND_LOST), "lost");
	cr_assert_str_eq(mpa_kind_name(MPA_KIND_PROC_FORK), "proc_fork");
	cr_assert_eq(MPA_KIND_PROC_FORK, 20, "kind values are stored on disk");
	cr_assert_eq(MPT_COL_PPID, 28, "column ids are stored on disk");
	cr_assert_str_eq(mpt_column_name(MPT_COL_PPID), "ppid");
	cr_assert_null(mpa_kind_name(0));
	cr_assert_null(mpa_kind_name(MPA_KIND_COUNT_));
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		cr_assert_eq(mpa_kind_from_name(mpa_kind_name(k)), k);
	cr_assert_eq(mpa_kind_from_name("nope"), 0);
	cr_assert_eq(mpa_kind_from_name(NULL), 0);
	cr_assert_str_eq(mpa_api_name(MPA_API_POSIX_MEMALIGN), "posix_memalign");
	cr_assert_str_eq(mpa_api_name(MPA_API_KMEM_CACHE), "kmem_cache");
	cr_assert_str_eq(mpa_api_name(17), "unknown");
	cr_assert_str_eq(mpa_api_name(200), "unknown");
	cr_assert_str_eq(mpa_counter_name(MPA_CTR_LLC_MISS), "llc_miss");
	cr_assert_str_eq(mpa_counter_name(99), "unknown");
	cr_assert_str_eq(mpt_status_name(MPT_E_CHECKSUM), "checksum mismatch");
	cr_assert_str_eq(mpt_encoding_name(0), "plain");
	cr_assert_str_eq(mpt_encoding_name(7), "ptr");
	cr_assert_str_eq(mpt_encoding_name(10), "dfor");
	cr_assert_str_eq(mpt_encoding_name(11), "usize");
	cr_assert_str_eq(mpt_encoding_name(12), "ptr2");
	cr_assert_str_eq(mpt_encoding_name(13), "unknown");
	cr_assert_str_eq(mpt_encoding_name(255), "unknown");
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		cr_assert_eq(mpt_column_from_name(mpt_column_name(c)), (int)c);
	cr_assert_null(mpt_column_name(MPT_COL_COUNT_));
	cr_assert_eq(mpt_column_from_name("zz"), -1);
	cr_assert_eq(mpt_kind_columns(0), 0);
	cr_assert_eq(mpt_kind_columns(MPA_KIND_THREAD_EXIT), MPT_COLS_COMMON);
	cr_assert_eq(mpt_kind_columns(MPA_KIND_FREE),
		     MPT_COLS_COMMON | MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_API) |
			     MPT_COLBIT(MPT_COL_STACK_ID));
	cr_assert_eq(mpt_kind_columns(MPA_KIND_REALLOC),
		     MPT_COLS_COMMON | MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_NEW_PTR) |
			     MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_USABLE) |
			     MPT_COLBIT(MPT_COL_API) | MPT_COLBIT(MPT_COL_STACK_ID));
	cr_assert_eq(mpt_kind_columns(MPA_KIND_LOST),
		     MPT_COLS_COMMON | MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_STR_ID) |
			     MPT_COLBIT(MPT_COL_END_TS));
	cr_assert_eq(mpt_kind_columns(MPA_KIND_CACHE_SAMPLE),
		     MPT_COLS_COMMON | MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_STACK_ID) |
			     MPT_COLBIT(MPT_COL_IP) | MPT_COLBIT(MPT_COL_COUNTER) |
			     MPT_COLBIT(MPT_COL_PERIOD) | MPT_COLBIT(MPT_COL_WEIGHT) |
			     MPT_COLBIT(MPT_COL_DATA_SRC));
	cr_assert_eq(mpt_kind_columns(MPA_KIND_PROC_FORK),
		     MPT_COLS_COMMON | MPT_COLBIT(MPT_COL_PPID));
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		if (k != MPA_KIND_PROC_FORK)
			cr_assert_eq(mpt_kind_columns(k) & MPT_COLBIT(MPT_COL_PPID), 0,
				     "only proc_fork carries ppid (kind %u)", k);
}

#include <signal.h>
#include <sys/resource.h>

/* A full disk (here: a file size limit) fails the writer cleanly: an
 * MPT_E_IO naming the file, no final file, no temporary left behind. */
Test(mpt_roundtrip, write_error_leaves_nothing)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "full.mpt");
	char *tmp = NULL;
	cr_assert(asprintf(&tmp, "%s.tmp.%ld", p, (long)getpid()) > 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = { 256 * 1024, 256 * 1024 };
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	mpt_writer *w;
	struct mpt_error err;
	struct mpt_writer_opts o = { .chunk_rows = 1000 };
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	uint64_t seed = 9, ts = 0;
	enum mpt_status st = MPT_OK;
	for (int i = 0; i < 2000000 && st == MPT_OK; i++) {
		struct mpa_event e;
		tu_random_event(&e, &seed, &ts);
		st = mpt_writer_append(w, &e, &err);
	}
	cr_assert_eq(st, MPT_E_IO, "got %s", mpt_status_name(st));
	cr_assert(strstr(err.msg, "full.mpt") != NULL, "%s", err.msg);
	/* later calls repeat the first failure; close reports it and cleans up */
	struct mpa_event e = { .kind = MPA_KIND_FREE };
	cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_E_IO);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_E_IO);
	cr_assert(!tu_exists(p));
	cr_assert(!tu_exists(tmp));
	free(tmp);
	free(p);
	tu_rmdir(dir);
}

/* The worked example of doc/format.md section 13, byte for byte where the
 * document shows bytes. */
Test(mpt_roundtrip, documented_example_bytes)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "ex.mpt");
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, NULL, &w, &err), MPT_OK, "%s", err.msg);
	struct mpa_event e = { 0 };
	e.kind = MPA_KIND_THREAD_EXIT;
	e.ts = 1000;
	e.pid = 7;
	e.tid = 7;
	cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	size_t n;
	uint8_t *b = tu_slurp(p, &n);
	cr_assert_eq(n, 458);
	static const uint8_t head[] = { 0x89, 0x4d, 0x50, 0x54, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x50, 0x54, 0x43,
					0x10, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x20 };
	cr_assert_eq(memcmp(b, head, sizeof head), 0);
	static const uint8_t desc0[] = { 0x00, 0x03, 0x00, 0x00, 0x01, 0, 0, 0, 0x01, 0, 0, 0,
					 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0,
					 0x8b, 0x73, 0xad, 0x38, 0xad, 0xe1, 0x78, 0x20 };
	cr_assert_eq(memcmp(b + 0x38, desc0, sizeof desc0), 0);
	static const uint8_t data[] = { 0x0d, 0xe8, 0x07, 0x0e, 0x0e, 0x00, 0x00, 0x00, 0x01, 0x00,
					0x4d, 0x50, 0x54, 0x46 };
	cr_assert_eq(memcmp(b + 0x120, data, sizeof data), 0);
	cr_assert_eq(memcmp(b + n - 8, head, 8), 0);
	free(b);
	free(p);
	tu_rmdir(dir);
}
