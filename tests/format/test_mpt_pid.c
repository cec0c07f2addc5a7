/* libmpt: the scan's pid filter (struct mpt_scan.pid) — exact rows and every
 * column against what was written, over chunks of one process (CONST pid
 * column), of several (RLE, DICT, ...), a pid absent from the file,
 * combined with the kind and time filters and with projection, and random
 * access.  Uses the library's column table. */
#include "mpt_test_util.h"

#include "../../format/mpt_internal.h"

#define NCHUNK 8
#define ROWS 1000
#define N (NCHUNK * ROWS)

static struct mpa_event ev[N];

/* Chunk c's pids: 0, 5: only 100; 1: only 200; 2: 100 and 200 in runs;
 * 3: 100, 200 and 300 at random; 4: only 300; 6: 200 and one row of 100;
 * 7: 100 and 200 alternating. */
static int32_t pid_of(uint32_t i, uint64_t *s)
{
	uint32_t c = i / ROWS, j = i % ROWS;
	switch (c) {
	case 0:
	case 5: return 100;
	case 1: return 200;
	case 2: return (j / 37) % 2 ? 200 : 100;
	case 3: return 100 * (int32_t)(1 + tu_rand(s) % 3);
	case 4: return 300;
	case 6: return j == 517 ? 100 : 200;
	default: return j % 2 ? 200 : 100;
	}
}

static char *write_file(char *dir)
{
	char *p = tu_path(dir, "pid.mpt");
	struct mpt_writer_opts o = { .chunk_rows = ROWS };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	uint64_t seed = 99, ts = 5000, s2 = 7;
	for (uint32_t i = 0; i < N; i++) {
		tu_random_event(&ev[i], &seed, &ts);
		ev[i].pid = pid_of(i, &s2);
		/* ts in order, so that time ranges cover whole chunks, but in
		 * chunk 3 (jumping back and forth) */
		if (i / ROWS != 3)
			ev[i].ts = 5000 + (uint64_t)i * 10;
		cr_assert_eq(mpt_writer_append(w, &ev[i], &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	return p;
}

/* Field col of e set to 0 (through the library's column table, so a column
 * added later is covered too). */
static void zero_col(struct mpa_event *e, unsigned col)
{
	memset((char *)e + mpt__cols[col].ev_off, 0, mpt__cols[col].width);
}

static int keep(const struct mpa_event *e, const struct mpt_scan *s)
{
	return (!s->pid || e->pid == s->pid) && (!s->kinds || (s->kinds & MPT_KINDBIT(e->kind))) &&
	       e->ts >= s->ts_from && (!s->ts_to || e->ts < s->ts_to);
}

/* Scans with s and compares every row (the projected columns; the others
 * must read 0) with the written records that pass s.  Returns the rows. */
static uint32_t check_scan(mpt_reader *r, const struct mpt_scan *s)
{
	struct mpt_error err;
	cr_assert_eq(mpt_reader_scan(r, s, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *b;
	enum mpt_status st;
	uint32_t i = 0, got = 0;
	int64_t last_chunk = -1;
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
		cr_assert_gt(b->n, 0, "an empty batch (chunk %u)", b->chunk);
		cr_assert_gt((int64_t)b->chunk, last_chunk);
		last_chunk = b->chunk;
		cr_assert_eq(b->pid != NULL, (s->columns & MPT_COLBIT(MPT_COL_PID)) != 0,
			     "pid is shown only when asked for");
		for (uint32_t j = 0; j < b->n; j++, got++) {
			while (i < N && !keep(&ev[i], s))
				i++;
			cr_assert_lt(i, N, "more rows than expected");
			cr_assert_eq(i / ROWS, b->chunk, "row %u in the batch of chunk %u", i, b->chunk);
			struct mpa_event e, want = ev[i];
			mpt_batch_get(b, j, &e);
			for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
				if (c != MPT_COL_KIND && c != MPT_COL_TS && !(s->columns & MPT_COLBIT(c)))
					zero_col(&want, c); /* not decoded: reads 0 */
			cr_assert(tu_event_eq(&e, &want), "record %u (kind %u, pid %d) differs", i,
				  ev[i].kind, ev[i].pid);
			i++;
		}
	}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	while (i < N && !keep(&ev[i], s))
		i++;
	cr_assert_eq(i, N, "record %u (pid %d) is missing", i, i < N ? ev[i].pid : 0);
	return got;
}

static uint32_t count(const struct mpt_scan *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < N; i++)
		n += keep(&ev[i], s);
	return n;
}

Test(mpt_pid, exact_rows_every_column)
{
	char *dir = tu_tmpdir(), *p = write_file(dir);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_chunk_count(r), NCHUNK);
	const int32_t pids[] = { 100, 200, 300 };
	for (unsigned k = 0; k < 3; k++) {
		struct mpt_scan s = { .columns = MPT_COLS_ALL, .pid = pids[k] };
		uint32_t n = check_scan(r, &s);
		cr_assert_eq(n, count(&s));
		cr_assert_gt(n, 500, "pid %d: %u rows", pids[k], n);
	}
	/* pid 0 is every pid */
	struct mpt_scan all = { .columns = MPT_COLS_ALL };
	cr_assert_eq(check_scan(r, &all), N);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_pid, projection_without_pid)
{
	char *dir = tu_tmpdir(), *p = write_file(dir);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	/* pid decoded for the filter but not shown; other columns left out */
	uint64_t cols = MPT_COLS_ALL & ~(MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_TID) |
					 MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_CPU));
	for (int32_t pid = 100; pid <= 300; pid += 100) {
		struct mpt_scan s = { .columns = cols, .pid = pid };
		cr_assert_eq(check_scan(r, &s), count(&s));
		s.columns = MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_STACK_ID);
		cr_assert_eq(check_scan(r, &s), count(&s));
		s.columns = 0; /* kind and ts only */
		cr_assert_eq(check_scan(r, &s), count(&s));
	}
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_pid, with_kind_and_time_filters)
{
	char *dir = tu_tmpdir(), *p = write_file(dir);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	uint64_t t0 = ev[ROWS + 300].ts, t1 = ev[6 * ROWS + 700].ts;
	const uint32_t kinds[] = { 0, MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE),
				   MPT_KINDBIT(MPA_KIND_PROC_EXIT) };
	for (int32_t pid = 100; pid <= 300; pid += 100)
		for (unsigned k = 0; k < 3; k++) {
			struct mpt_scan s = { .columns = MPT_COLS_ALL, .kinds = kinds[k],
					      .ts_from = t0, .ts_to = t1, .pid = pid };
			uint32_t n = check_scan(r, &s);
			cr_assert_eq(n, count(&s));
			cr_assert_gt(n, 0, "pid %d kinds %x: nothing to compare", pid, kinds[k]);
			s.ts_to = 0;
			cr_assert_eq(check_scan(r, &s), count(&s));
			s.ts_from = 0;
			s.ts_to = t1;
			cr_assert_eq(check_scan(r, &s), count(&s));
		}
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_pid, absent_pid_reads_little)
{
	char *dir = tu_tmpdir(), *p = write_file(dir);
	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *b;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	struct mpt_scan s = { .columns = MPT_COLS_ALL };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	uint64_t before = mpt_reader_bytes_read(r);
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		;
	uint64_t full = mpt_reader_bytes_read(r) - before;

	const int32_t absent[] = { 999, -1, 400, INT32_MIN, INT32_MAX };
	for (unsigned k = 0; k < sizeof absent / sizeof *absent; k++) {
		s.pid = absent[k];
		cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
		before = mpt_reader_bytes_read(r);
		cr_assert_eq(mpt_reader_next(r, &b, &err), MPT_END, "pid %d: %s", absent[k], err.msg);
		cr_assert_null(b);
		uint64_t got = mpt_reader_bytes_read(r) - before;
		/* chunk headers and pid columns only */
		cr_assert_lt(got * 4, full, "pid %d read %llu bytes, a full scan %llu", absent[k],
			     (unsigned long long)got, (unsigned long long)full);
	}
	/* pid 300 is in chunks 3 and 4 only: the others cost their header and
	 * pid column (CONST in 0, 1, 5: decided without a row) */
	s.pid = 300;
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	before = mpt_reader_bytes_read(r);
	uint32_t chunks = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK) {
		cr_assert(b->chunk == 3 || b->chunk == 4, "chunk %u", b->chunk);
		chunks++;
	}
	cr_assert_eq(chunks, 2);
	uint64_t got = mpt_reader_bytes_read(r) - before;
	cr_assert_lt(got * 2, full, "pid 300 read %llu bytes, a full scan %llu",
		     (unsigned long long)got, (unsigned long long)full);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

Test(mpt_pid, random_access)
{
	char *dir = tu_tmpdir(), *p = write_file(dir);
	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *b;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	struct mpt_scan s = { .columns = MPT_COLS_ALL, .pid = 200 };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	for (uint32_t c = NCHUNK; c-- > 0;) {
		cr_assert_eq(mpt_reader_read_chunk(r, c, &b, &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(b->chunk, c);
		uint32_t want = 0;
		for (uint32_t i = c * ROWS; i < (c + 1) * ROWS; i++) {
			if (ev[i].pid != 200)
				continue;
			cr_assert_lt(want, b->n, "chunk %u: too few rows", c);
			struct mpa_event e;
			mpt_batch_get(b, want++, &e);
			cr_assert(tu_event_eq(&e, &ev[i]), "chunk %u: record %u differs", c, i);
		}
		cr_assert_eq(b->n, want, "chunk %u", c);
		if (c == 0 || c == 4 || c == 5)
			cr_assert_eq(b->n, 0, "chunk %u has no row of pid 200", c);
	}
	/* a later full scan of the same reader is not disturbed */
	cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
	cr_assert_eq(mpt_reader_read_chunk(r, 4, &b, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(b->n, ROWS);
	cr_assert_eq(b->pid[0], 300);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}
