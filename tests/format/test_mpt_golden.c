/* libmpt: the format-1.0 compatibility fixture (a real capture, see
 * data/README.md) must always decode to the same records, and re-encoding
 * it must stay within the size target of issue 2 (<= 3 bytes/record on a
 * malloc-heavy stream, keeping every ns timestamp, tid and cpu). */
#include <xxhash.h>

#include "mpt_test_util.h"

/* digest_ex(..., 1) of tests/format/data/fork.mpt */
#define GOLDEN_FORK_DIGEST UINT64_C(0xa71f1be8a33737af)

static char *data_path(const char *name)
{
	const char *src = getenv("MPA_SRC");
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/tests/format/data/%s", src && *src ? src : ".", name) > 0);
	return p;
}

static char *golden_path(void)
{
	return data_path("python-malloc.mpt");
}

/* A digest of every field of every record; with_ppid: the fields of
 * format 2.0 too (the 1.0 fixture's digest predates them). */
static uint64_t digest_ex(mpt_reader *r, uint64_t *rows, int with_ppid)
{
	XXH64_state_t *h = XXH64_createState();
	XXH64_reset(h, 0);
	const struct mpt_batch *b;
	struct mpt_error err;
	enum mpt_status st;
	*rows = 0;
	cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++) {
			struct mpa_event e;
			mpt_batch_get(b, i, &e);
			uint64_t f[] = { e.ts, e.ptr, e.new_ptr, e.size, e.usable, e.align, e.ip,
					 e.period, e.weight, e.data_src, e.end_ts, (uint64_t)e.pid,
					 (uint64_t)e.tid, (uint64_t)e.node, (uint64_t)e.status, e.cpu,
					 e.stack_id, e.prot, e.mflags, e.pool_id, e.frame_depth,
					 e.str_id, e.flags, e.kind, e.domain, e.api, e.order,
					 e.counter };
			XXH64_update(h, f, sizeof f);
			if (with_ppid)
				XXH64_update(h, &e.ppid, sizeof e.ppid);
			(*rows)++;
		}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	uint64_t d = XXH64_digest(h);
	XXH64_freeState(h);
	return d;
}

static uint64_t digest(mpt_reader *r, uint64_t *rows)
{
	return digest_ex(r, rows, 0);
}

Test(mpt_golden, version_1_0_capture_decodes_identically)
{
	char *p = golden_path();
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), 1);
	cr_assert_eq(mpt_reader_version_minor(r), 0);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_rows(r), 147754);
	cr_assert_str_eq(mpt_reader_meta(r, "records"), "147754");
	cr_assert_eq(mpt_reader_frame_count(r), 805);
	cr_assert_eq(mpt_reader_stack_count(r), 997);
	cr_assert_eq(mpt_reader_binary_count(r), 15);
	uint64_t rows;
	cr_assert_eq(digest(r, &rows), UINT64_C(0xc2afd1cb64cd4ab3));
	cr_assert_eq(rows, 147754);

	/* kinds through a filtered scan */
	struct mpt_scan s = { .kinds = MPT_KINDBIT(MPA_KIND_REALLOC) };
	cr_assert_eq(mpt_reader_scan(r, &s, &err), MPT_OK);
	const struct mpt_batch *b;
	uint64_t n = 0;
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		n += b->n;
	cr_assert_eq(n, 6069);
	mpt_reader_close(r);
	free(p);
}

Test(mpt_golden, reencoded_capture_meets_the_size_target)
{
	char *p = golden_path();
	char *dir = tu_tmpdir();
	char *q = tu_path(dir, "re.mpt");
	mpt_reader *r;
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_writer_open(q, NULL, &w, &err), MPT_OK, "%s", err.msg);
	const struct mpt_batch *b;
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++) {
			struct mpa_event e;
			mpt_batch_get(b, i, &e);
			cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
		}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	mpt_reader *r2;
	cr_assert_eq(mpt_reader_open(q, &r2, &err), MPT_OK, "%s", err.msg);
	uint64_t rows;
	cr_assert_eq(digest(r2, &rows), UINT64_C(0xc2afd1cb64cd4ab3));
	double bpr = (double)mpt_reader_file_size(r2) / (double)rows;
	cr_log_info("python malloc capture re-encoded: %.3f bytes/record", bpr);
	cr_assert_leq(bpr, 3.0, "%.3f bytes/record exceeds the 3 B target", bpr);
	mpt_reader_close(r2);
	mpt_reader_close(r);
	free(q);
	free(p);
	tu_rmdir(dir);
}

/* The format-2.0 fixture (a real recording of tests/workloads/wl_fork.c,
 * see data/README.md): its proc_fork record and every record decode
 * identically, also after a re-encoding. */
Test(mpt_golden, version_2_0_fork_capture_decodes_identically)
{
	char *p = data_path("fork.mpt");
	char *dir = tu_tmpdir();
	char *q = tu_path(dir, "re.mpt");
	mpt_reader *r;
	struct mpt_error err;
	cr_assert_eq(mpt_reader_open(p, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), 2);
	cr_assert_eq(mpt_reader_version_minor(r), 0);
	cr_assert_eq(mpt_reader_verify(r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_rows(r), 1929);
	uint64_t rows, d = digest_ex(r, &rows, 1);
	cr_assert_eq(rows, 1929);
	cr_assert_eq(d, GOLDEN_FORK_DIGEST, "digest 0x%016llx", (unsigned long long)d);

	/* the fork: one record, before every other record of the child */
	const struct mpt_batch *b;
	size_t forks = 0, child_rows = 0;
	cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
	while (mpt_reader_next(r, &b, &err) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++) {
			if (b->kind[i] == MPA_KIND_PROC_FORK) {
				forks++;
				cr_assert_eq(b->pid[i], 5768);
				cr_assert_eq(b->tid[i], 5768);
				cr_assert_eq(b->ppid[i], 5765);
				cr_assert_eq(child_rows, 0);
			}
			child_rows += b->pid[i] == 5768;
		}
	cr_assert_eq(forks, 1);
	cr_assert_gt(child_rows, 4);

	/* re-encoded by this libmpt with the encodings of 3.0 at most: the same
	 * records, still format 2.0; with every encoding (the default): 4.0
	 * (USIZE on usable), the same records */
	for (unsigned fm = 3; fm <= 4; fm++) {
		struct mpt_writer_opts wo = { .format_major = fm };
		mpt_writer *w;
		unlink(q);
		cr_assert_eq(mpt_writer_open(q, fm == 4 ? NULL : &wo, &w, &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(mpt_reader_scan(r, NULL, &err), MPT_OK);
		while (mpt_reader_next(r, &b, &err) == MPT_OK)
			for (uint32_t i = 0; i < b->n; i++) {
				struct mpa_event e;
				mpt_batch_get(b, i, &e);
				cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
			}
		cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
		mpt_reader *r2;
		cr_assert_eq(mpt_reader_open(q, &r2, &err), MPT_OK, "%s", err.msg);
		cr_assert_eq(mpt_reader_version_major(r2), fm == 4 ? 4 : 2);
		cr_assert_eq(digest_ex(r2, &rows, 1), d);
		mpt_reader_close(r2);
	}
	mpt_reader_close(r);
	free(q);
	free(p);
	tu_rmdir(dir);
}
