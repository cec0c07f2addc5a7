/* libmpt: the proc_fork record (kind 20, column 28 ppid), new in format 2.0.
 * A capture holding one is written as version 2.0, any other as 1.0 (so
 * that 1.0 readers keep reading them); a 1.0 file may not hold one; the
 * field survives a round trip, projection and kind filters; mpa-cat shows
 * it in every output format. */
#include <sys/wait.h>
#include <xxhash.h>

#include "mpt_test_util.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* alloc and free in the parent (pid 100), the fork of child 101 (its ppid
 * 100), a free of an inherited block and an exit in the child; with ppid
 * values of both signs elsewhere so that zigzag is exercised. */
static uint32_t fork_stream(struct mpa_event *ev)
{
	uint32_t n = 0;
	struct mpa_event e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_ALLOC, e.ts = 10, e.pid = e.tid = 100, e.ptr = 0x1000, e.size = 48;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_PROC_FORK, e.ts = 20, e.pid = e.tid = 101, e.cpu = 1, e.ppid = 100;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_FREE, e.ts = 30, e.pid = e.tid = 101, e.ptr = 0x1000;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_PROC_FORK, e.ts = 35, e.pid = e.tid = 7, e.ppid = -2;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_PROC_FORK, e.ts = 36, e.pid = e.tid = 8, e.ppid = INT32_MAX;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_PROC_EXIT, e.ts = 40, e.pid = e.tid = 101;
	ev[n++] = e;
	memset(&e, 0, sizeof e);
	e.kind = MPA_KIND_FREE, e.ts = 50, e.pid = e.tid = 100, e.ptr = 0x1000;
	ev[n++] = e;
	return n;
}

static void write_events(const char *path, const struct mpa_event *ev, uint32_t n,
			 uint32_t chunk_rows)
{
	/* the encodings of format 3.0 at most: these tests are about 1.0/2.0 */
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows, .format_major = 3 };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(path, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(mpt_writer_append(w, &ev[i], &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
}

Test(mpt_fork, round_trip_is_version_2_0)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "fork.mpt");
	struct mpa_event ev[8];
	uint32_t n = fork_stream(ev);
	/* one chunk, then chunks of 2 rows: proc_fork rows alone in a chunk,
	 * and beside other kinds */
	for (uint32_t rows = 0; rows <= 2; rows += 2) {
		write_events(p, ev, n, rows);
		size_t len;
		uint8_t *b = tu_slurp(p, &len);
		cr_assert_eq(rd16(b + 8), 2, "header major");
		cr_assert_eq(rd16(b + len - 48 + 24), 2, "trailer major");
		free(b);
		mpt_reader *r;
		struct mpt_error err;
		cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(mpt_reader_version_major(r), 2);
		cr_assert_eq(mpt_reader_version_minor(r), 0);
		cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
		const struct mpt_batch *bt;
		uint32_t i = 0;
		enum mpt_status st;
		while ((st = mpt_reader_next(r, &bt, &err)) == MPT_OK)
			for (uint32_t j = 0; j < bt->n; j++, i++) {
				struct mpa_event e;
				mpt_batch_get(bt, j, &e);
				cr_assert(tu_event_eq(&e, &ev[i]), "record %u differs", i);
				cr_assert_eq(bt->ppid[j], ev[i].ppid);
			}
		cr_assert_eq(st, MPT_END, "%s", err.msg);
		cr_assert_eq(i, n);
		mpt_reader_close(r);
	}
	free(p);
	tu_rmdir(dir);
}

Test(mpt_fork, captures_without_it_stay_version_1_0)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "plain.mpt");
	struct mpa_event ev[8];
	uint32_t n = fork_stream(ev), k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (ev[i].kind != MPA_KIND_PROC_FORK)
			ev[k++] = ev[i];
	write_events(p, ev, k, 0);
	size_t len;
	uint8_t *b = tu_slurp(p, &len);
	cr_assert_eq(rd16(b + 8), 1);
	cr_assert_eq(rd16(b + len - 48 + 24), 1);
	free(b);
	/* random records of every other kind, over many chunks (with the
	 * encodings of 3.0 at most: a 4.0 encoding would make the file 4.0) */
	uint64_t seed = 5, ts = 0;
	struct mpt_writer_opts o = { .chunk_rows = 100, .format_major = 3 };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(p, &o, &w, &err), MPT_OK, "%s", err.msg);
	for (int i = 0; i < 5000; i++) {
		struct mpa_event e;
		tu_random_event(&e, &seed, &ts);
		if (e.kind != MPA_KIND_PROC_FORK && e.kind != MPA_KIND_LEAK_SCAN)
			cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), 1);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

/* A file that says 1.0 cannot hold a proc_fork: the footer's kinds
 * statistics are refused before any chunk is read. */
Test(mpt_fork, version_1_0_file_with_proc_fork_refused)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "fork.mpt"), *q = tu_path(dir, "lie.mpt");
	struct mpa_event ev[8];
	write_events(p, ev, fork_stream(ev), 0);
	size_t len;
	uint8_t *b = tu_slurp(p, &len);
	uint8_t *t = b + len - 48;
	b[8] = 1;
	t[24] = 1;
	uint64_t h = XXH64(t, 32, 0);
	for (int i = 0; i < 8; i++)
		t[32 + i] = (uint8_t)(h >> (8 * i));
	tu_spit(q, b, len);
	free(b);
	mpt_reader *r = NULL;
	struct mpt_error err;
	enum mpt_status st = mpt_reader_open(q, &r, &err);
	cr_assert_eq(st, MPT_E_FORMAT, "got %s: %s", mpt_status_name(st), err.msg);
	cr_assert(strstr(err.msg, "chunk 0") && strstr(err.msg, "lie.mpt"), "%s", err.msg);
	mpt_reader_close(r);
	free(p);
	free(q);
	tu_rmdir(dir);
}

/* 2.0 is a superset of 1.0: a file labeled 2.0 without any proc_fork (as
 * another writer may label every file) reads like its 1.0 twin. */
Test(mpt_fork, version_2_0_label_without_proc_fork_accepted)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "one.mpt"), *q = tu_path(dir, "two.mpt");
	struct mpa_event ev[64];
	uint64_t seed = 11, ts = 0;
	uint32_t n = 0;
	while (n < 64) {
		tu_random_event(&ev[n], &seed, &ts);
		if (ev[n].kind != MPA_KIND_PROC_FORK && ev[n].kind != MPA_KIND_LEAK_SCAN)
			n++;
	}
	write_events(p, ev, n, 16);
	size_t len;
	uint8_t *b = tu_slurp(p, &len);
	uint8_t *t = b + len - 48;
	cr_assert_eq(b[8], 1);
	b[8] = 2;
	t[24] = 2;
	uint64_t h = XXH64(t, 32, 0);
	for (int i = 0; i < 8; i++)
		t[32 + i] = (uint8_t)(h >> (8 * i));
	tu_spit(q, b, len);
	free(b);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(q, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), 2);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *bt;
	uint32_t i = 0;
	while (mpt_reader_next(r, &bt, &err) == MPT_OK)
		for (uint32_t j = 0; j < bt->n; j++, i++) {
			struct mpa_event e;
			mpt_batch_get(bt, j, &e);
			cr_assert(tu_event_eq(&e, &ev[i]), "record %u differs", i);
		}
	cr_assert_eq(i, n);
	mpt_reader_close(r);
	free(p);
	free(q);
	tu_rmdir(dir);
}

/* Projection on ppid alone, a kind filter, and chunk skipping by kind. */
Test(mpt_fork, projection_and_kind_filter)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "fork.mpt");
	struct mpa_event ev[8];
	uint32_t n = fork_stream(ev);
	write_events(p, ev, n, 2);
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	struct mpt_scan s = { .columns = MPT_COLBIT(MPT_COL_PPID), .kinds = MPT_KINDBIT(MPA_KIND_PROC_FORK) };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *b;
	int32_t got[8];
	uint32_t k = 0, batches = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK) {
		batches++;
		cr_assert_null(b->pid, "pid was not asked for");
		cr_assert_not_null(b->ppid);
		for (uint32_t j = 0; j < b->n; j++) {
			cr_assert_eq(b->kind[j], MPA_KIND_PROC_FORK);
			cr_assert_lt(k, 8);
			got[k++] = b->ppid[j];
		}
	}
	cr_assert_eq(k, 3);
	cr_assert_eq(got[0], 100);
	cr_assert_eq(got[1], -2);
	cr_assert_eq(got[2], INT32_MAX);
	cr_assert_eq(batches, 3, "chunks 0-2 hold the forks; chunk 3 is skipped");
	struct mpt_column_info info[MPT_COL_COUNT_];
	cr_assert_eq(mpt_reader_column_info(r, 0, info, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(info[MPT_COL_PPID].values, 1, "chunk 0: alloc, proc_fork");
	cr_assert_eq(info[MPT_COL_PPID].raw_bytes, 4);
	cr_assert_eq(mpt_reader_column_info(r, 3, info, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(info[MPT_COL_PPID].values, 0, "chunk 3: free only");
	mpt_reader_close(r);
	free(p);
	tu_rmdir(dir);
}

/* Runs build/bin/mpa-cat with args; returns its stdout (caller frees). */
static char *cat_out(char *const args[])
{
	const char *b = getenv("MPA_BUILD");
	char *bin = NULL, *out = NULL;
	cr_assert(asprintf(&bin, "%s/bin/mpa-cat", b && *b ? b : "build") > 0);
	char *dir = tu_tmpdir();
	char *o = tu_path(dir, "out");
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char *argv[16] = { bin };
		for (int i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		if (!freopen(o, "w", stdout))
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mpa-cat failed");
	size_t n;
	uint8_t *t = tu_slurp(o, &n);
	out = malloc(n + 1);
	memcpy(out, t, n);
	out[n] = 0;
	free(t);
	free(o);
	tu_rmdir(dir);
	free(bin);
	return out;
}

Test(mpt_fork, mpa_cat_shows_ppid)
{
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "fork.mpt");
	struct mpa_event ev[8];
	write_events(p, ev, fork_stream(ev), 0);
	char *j = cat_out((char *[]){ "--events", "-f", "jsonl", "--kind", "proc_fork", p, NULL });
	cr_assert_str_eq(j,
			 "{\"ts\":20,\"kind\":\"proc_fork\",\"pid\":101,\"tid\":101,\"cpu\":1,"
			 "\"domain\":\"user\",\"flags\":0,\"ppid\":100}\n"
			 "{\"ts\":35,\"kind\":\"proc_fork\",\"pid\":7,\"tid\":7,\"cpu\":0,"
			 "\"domain\":\"user\",\"flags\":0,\"ppid\":-2}\n"
			 "{\"ts\":36,\"kind\":\"proc_fork\",\"pid\":8,\"tid\":8,\"cpu\":0,"
			 "\"domain\":\"user\",\"flags\":0,\"ppid\":2147483647}\n");
	free(j);
	char *c = cat_out((char *[]){ "--events", "-f", "csv", "--columns", "kind,pid,ppid", p, NULL });
	cr_assert(strstr(c, "kind,pid,ppid\n") == c, "%s", c);
	cr_assert(strstr(c, "\nproc_fork,101,100\n") != NULL, "%s", c);
	cr_assert(strstr(c, "\nfree,101,\n") != NULL, "other kinds leave it empty: %s", c);
	free(c);
	char *t = cat_out((char *[]){ "--events", "--kind", "proc_fork", p, NULL });
	cr_assert(strstr(t, "proc_fork") && strstr(t, "ppid=100"), "%s", t);
	free(t);
	char *s = cat_out((char *[]){ p, NULL });
	cr_assert(strstr(s, "2.0") != NULL, "the summary names the version: %s", s);
	cr_assert(strstr(s, "ppid") != NULL, "the summary lists the column: %s", s);
	free(s);
	free(p);
	tu_rmdir(dir);
}
