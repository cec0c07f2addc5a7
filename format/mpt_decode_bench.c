/* mpt_decode_bench — decode speed of the libmpt reader, per column and for
 * a full scan, on a realistic capture.
 *
 *   mpt_decode_bench [-n RECORDS] [-i SOURCE.mpt] [-o DIR] [-r REPEAT] [-f CAPTURE.mpt]
 *
 * The capture is SOURCE (default tests/format/data/python-malloc.mpt, a
 * real recording) re-encoded and repeated, timestamps shifted, until it
 * holds RECORDS records (default 10M); it is kept in DIR and reused when it
 * already has the right size.  Times are the process's CPU time (user +
 * system), the best of REPEAT runs (default 3), so other load on the
 * machine disturbs them little.  Per column: rows/s of a scan of kind, ts
 * and that column, and the rate of that column alone (the scan minus a scan
 * of kind and ts only; for ptr also minus its context columns tid, size
 * and new_ptr).  Full scan: every column.  -f measures CAPTURE as it is
 * (no re-encoding, no write measurement). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mpa/mpt.h"

static void die(const char *what, const struct mpt_error *err)
{
	fprintf(stderr, "mpt_decode_bench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

static double cpu_secs(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Reads every record of src into *evs. */
static size_t load(const char *src, struct mpa_event **evs)
{
	struct mpt_error err;
	mpt_reader *r;
	if (mpt_reader_open(src, &r, &err) != MPT_OK)
		die("open", &err);
	size_t n = (size_t)mpt_reader_rows(r), k = 0;
	*evs = calloc(n ? n : 1, sizeof **evs);
	if (!*evs)
		die("out of memory", NULL);
	const struct mpt_batch *b;
	enum mpt_status st;
	if (mpt_reader_scan(r, NULL, &err) != MPT_OK)
		die("scan", &err);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t i = 0; i < b->n && k < n; i++)
			mpt_batch_get(b, i, &(*evs)[k++]);
	if (st != MPT_END)
		die("read", &err);
	mpt_reader_close(r);
	return k;
}

static double write_capture(const char *path, const struct mpa_event *evs, size_t nsrc,
			    uint64_t n)
{
	struct mpt_error err;
	mpt_writer *w;
	uint64_t t0 = evs[0].ts, t1 = evs[nsrc - 1].ts, shift = 0;
	for (size_t i = 0; i < nsrc; i++) {
		if (evs[i].ts < t0)
			t0 = evs[i].ts;
		if (evs[i].ts > t1)
			t1 = evs[i].ts;
	}
	double c0 = cpu_secs();
	if (mpt_writer_open(path, NULL, &w, &err) != MPT_OK)
		die("write", &err);
	for (uint64_t k = 0; k < n;) {
		for (size_t i = 0; i < nsrc && k < n; i++, k++) {
			struct mpa_event e = evs[i];
			e.ts += shift;
			if (mpt_writer_append(w, &e, &err) != MPT_OK)
				die("append", &err);
		}
		shift += t1 - t0 + 1000;
	}
	if (mpt_writer_close(w, &err) != MPT_OK)
		die("close", &err);
	return cpu_secs() - c0;
}

/* CPU seconds of a scan of columns (best of rep); *rows gets the rows seen. */
static double scan(const char *path, uint64_t cols, int rep, uint64_t *rows)
{
	double best = 1e30;
	for (int k = 0; k < rep; k++) {
		struct mpt_error err;
		mpt_reader *r;
		double c0 = cpu_secs();
		if (mpt_reader_open(path, &r, &err) != MPT_OK)
			die("open", &err);
		struct mpt_scan s = { .columns = cols };
		if (mpt_reader_scan(r, &s, &err) != MPT_OK)
			die("scan", &err);
		const struct mpt_batch *b;
		enum mpt_status st;
		uint64_t n = 0, sum = 0;
		while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
			n += b->n;
			sum += b->ts[b->n - 1]; /* touch the batch */
		}
		if (st != MPT_END)
			die("scan", &err);
		mpt_reader_close(r);
		double t = cpu_secs() - c0;
		if (t < best)
			best = t;
		*rows = n + (sum & 0); /* sum keeps the loop honest */
	}
	return best;
}

int main(int argc, char **argv)
{
	uint64_t n = 10000000;
	const char *src = NULL, *dir = "build/bench/decode", *given = NULL;
	int rep = 3, o;
	while ((o = getopt(argc, argv, "n:i:o:r:f:h")) != -1) {
		switch (o) {
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'i': src = optarg; break;
		case 'o': dir = optarg; break;
		case 'f': given = optarg; break;
		case 'r': rep = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		default:
			fprintf(stderr, "usage: mpt_decode_bench [-n RECORDS] [-i SOURCE.mpt] [-o DIR] [-r REPEAT] [-f CAPTURE.mpt]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	char def_src[4096];
	if (!src) {
		const char *s = getenv("MPA_SRC");
		snprintf(def_src, sizeof def_src, "%s/tests/format/data/python-malloc.mpt", s ? s : ".");
		src = def_src;
	}
	char path[4096];
	if (given) {
		snprintf(path, sizeof path, "%s", given);
		goto measure;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		die(dir, NULL);
	snprintf(path, sizeof path, "%s/decode-%" PRIu64 ".mpt", dir, n);

	struct mpa_event *evs;
	size_t nsrc = load(src, &evs);
	if (!nsrc) {
		fprintf(stderr, "mpt_decode_bench: '%s': no records\n", src);
		return 1;
	}
	/* write (always: it is also the write benchmark; 1M records is enough) */
	char wpath[4200];
	snprintf(wpath, sizeof wpath, "%s/write-probe.mpt", dir);
	uint64_t wn = n < 2000000 ? n : 2000000;
	double wt = write_capture(wpath, evs, nsrc, wn);
	remove(wpath);
	struct mpt_error err;
	mpt_reader *r;
	int reuse = 0;
	if (mpt_reader_open(path, &r, &err) == MPT_OK) {
		reuse = mpt_reader_rows(r) == n;
		mpt_reader_close(r);
	}
	if (!reuse)
		write_capture(path, evs, nsrc, n);
	free(evs);
	struct stat sb;
	if (stat(path, &sb))
		die(path, NULL);
	printf("capture: %s: %" PRIu64 " records (%s x%.1f), %.2f bytes/record\n", path, n, src,
	       (double)n / (double)nsrc, (double)sb.st_size / (double)n);
	printf("write: %.2f M records/s (cpu)\n", (double)wn / wt / 1e6);

measure:;
	uint64_t rows;
	uint64_t base_cols = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS);
	double tb = scan(path, base_cols, rep, &rows);
	uint64_t ctx_cols = base_cols | MPT_COLBIT(MPT_COL_TID) | MPT_COLBIT(MPT_COL_SIZE) |
			    MPT_COLBIT(MPT_COL_NEW_PTR);
	double tctx = scan(path, ctx_cols, rep, &rows);
	printf("%-12s %14s %16s\n", "column", "scan rows/s", "column rows/s");
	printf("%-12s %13.1fM %16s\n", "kind+ts", (double)rows / tb / 1e6, "-");
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
		if (c == MPT_COL_KIND || c == MPT_COL_TS)
			continue;
		double t = scan(path, base_cols | MPT_COLBIT(c), rep, &rows);
		double alone = t - (c == MPT_COL_PTR ? tctx : tb);
		char a[32];
		if (alone > 1e-4)
			snprintf(a, sizeof a, "%.1fM", (double)rows / alone / 1e6);
		else
			snprintf(a, sizeof a, ">%.0fM", (double)rows / 1e-4 / 1e6);
		printf("%-12s %13.1fM %16s\n", mpt_column_name(c), (double)rows / t / 1e6, a);
	}
	double tf = scan(path, MPT_COLS_ALL, rep, &rows);
	printf("full scan (all columns): %.1f M rows/s (%.3f s cpu for %" PRIu64 " rows)\n",
	       (double)rows / tf / 1e6, tf, rows);
	return 0;
}
