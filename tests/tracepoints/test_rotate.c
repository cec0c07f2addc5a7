/* tests/tracepoints: conversion while recording (issue 12 item 1, issue 13
 * item 6; doc/recording.md "Conversion while recording").  mpa-record
 * rotates the session into chunks and converts each while the program
 * runs; the capture must be the one a single conversion of all the chunks
 * writes, hold every record of the program, and the trace's disk use must
 * stay bounded by a few chunks.  Nothing here measures time: the bounds
 * are in bytes and chunks, with generous margins, and the timeouts are
 * minutes because the host may be loaded.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp_test_util.h"

static char *bin(const char *name)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *b = buf[k++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tp_build_dir(), name);
	return b;
}

static char *mkscratch(void)
{
	char *d = strdup("/tmp/mpa-test-rotate-XXXXXX");

	cr_assert(d != NULL && mkdtemp(d) != NULL);
	return d;
}

/* Output of a shell command (stdout), NUL-terminated; caller frees. */
static char *sh_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);

	cr_assert(p != NULL && buf != NULL);
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert(buf != NULL);
		}
	}
	buf[len] = 0;
	pclose(p);
	return buf;
}

static long count_of(const char *cmd)
{
	char *o = sh_out(cmd);
	long v = strtol(o, NULL, 10);

	free(o);
	return v;
}

/* The "N chunks" mpa-record reports converting while recording, -1 if none. */
static long chunks_converted(const char *err)
{
	char *log = tp_slurp(err);
	const char *p = strstr(log, "converted while recording: ");
	long n = p ? strtol(p + strlen("converted while recording: "), NULL, 10) : -1;

	free(log);
	return n;
}

/* A recording in several chunks converted while recording is the capture
 * one conversion of all the kept chunks writes: the same records in the
 * same order, the same tables, the same metadata but the command line. */
Test(record_rotate, chunks_convert_like_one_pass, .timeout = 900)
{
	char *d = mkscratch();
	char trace[PATH_MAX], a[PATH_MAX], b[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char topo[PATH_MAX + 16], cmd[8 * PATH_MAX];
	char *ev_a, *ev_b, *tab_a, *tab_b, *sum_a, *sum_b;

	snprintf(trace, sizeof trace, "%s/trace", d);
	snprintf(a, sizeof a, "%s/rotated.mpt", d);
	snprintf(b, sizeof b, "%s/onepass.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	snprintf(err, sizeof err, "%s/err", d);
	char *rec[] = { bin("bin/mpa-record"), "--lossless", "--subbuf-size", "256k",
		"--num-subbuf", "4", "--rotate-size", "256k", "--keep-trace", trace,
		"-o", a, "--", bin("tests/workloads/wl-busy"), "4321", "500000", "paced", NULL };
	int rc = tp_run(rec, NULL, out, err);
	char *log = tp_slurp(err);

	cr_assert_eq(rc, 0, "mpa-record failed (%d): %s", rc, log);
	free(log);
	cr_assert_geq(chunks_converted(err), 3, "fewer than 3 chunks: the test proves nothing");
	/* the same chunks, converted at once (mpa-record's labels and topology) */
	snprintf(topo, sizeof topo, "%s/topology", trace);
	char *conv[] = { bin("bin/mpa-convert"), "-q", trace, "--topology", topo,
		"--meta", "record.isolation=uts-namespace", "--meta", "record.scope.ust=process-tree",
		"-o", b, NULL };
	rc = tp_run(conv, NULL, out, err);
	log = tp_slurp(err);
	cr_assert_eq(rc, 0, "mpa-convert failed (%d): %s", rc, log);
	free(log);

	snprintf(cmd, sizeof cmd, "%s -e '%s' | md5sum", bin("bin/mpa-cat"), a);
	ev_a = sh_out(cmd);
	snprintf(cmd, sizeof cmd, "%s -e '%s' | md5sum", bin("bin/mpa-cat"), b);
	ev_b = sh_out(cmd);
	cr_expect_str_eq(ev_a, ev_b, "the records differ");
	snprintf(cmd, sizeof cmd, "%s -t all '%s'", bin("bin/mpa-cat"), a);
	tab_a = sh_out(cmd);
	snprintf(cmd, sizeof cmd, "%s -t all '%s'", bin("bin/mpa-cat"), b);
	tab_b = sh_out(cmd);
	cr_expect_str_eq(tab_a, tab_b, "the tables differ");
	/* the summary: metadata, kinds, chunks; not the name, the command
	 * line, the isolation labels (a host without namespaces says none)
	 * or the file's size (the command line is in it) */
	snprintf(cmd, sizeof cmd, "%s '%s' | grep -v -e '^file' -e '^size' -e 'convert.command' "
		 "-e 'record\\.' -e '^metadata (' -e 'tables+rest' -e '^  file '", bin("bin/mpa-cat"), a);
	sum_a = sh_out(cmd);
	snprintf(cmd, sizeof cmd, "%s '%s' | grep -v -e '^file' -e '^size' -e 'convert.command' "
		 "-e 'record\\.' -e '^metadata (' -e 'tables+rest' -e '^  file '", bin("bin/mpa-cat"), b);
	sum_b = sh_out(cmd);
	cr_expect_str_eq(sum_a, sum_b, "the summaries differ");
	cr_expect(strstr(sum_a, "\"lost_events\" = \"0\"") != NULL, "events were lost: %s", sum_a);
	free(ev_a);
	free(ev_b);
	free(tab_a);
	free(tab_b);
	free(sum_a);
	free(sum_b);
	tp_rmrf(d);
	free(d);
}

/* With rotation (the default, small chunks here) and without it, the
 * capture holds every allocation and free of the program. */
Test(record_rotate, same_records_as_without_rotation, .timeout = 900)
{
	char *d = mkscratch();
	char a[PATH_MAX], b[PATH_MAX], out[PATH_MAX], err[PATH_MAX], cmd[4 * PATH_MAX];

	snprintf(a, sizeof a, "%s/rotated.mpt", d);
	snprintf(b, sizeof b, "%s/plain.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	snprintf(err, sizeof err, "%s/err", d);
	char *rec_a[] = { bin("bin/mpa-record"), "--lossless", "--subbuf-size", "256k",
		"--num-subbuf", "4", "--rotate-size", "256k", "-o", a, "--",
		bin("tests/workloads/wl-busy"), "4321", "500000", "paced", NULL };
	char *rec_b[] = { bin("bin/mpa-record"), "--lossless", "--subbuf-size", "256k",
		"--num-subbuf", "4", "--no-rotate", "-o", b, "--",
		bin("tests/workloads/wl-busy"), "4321", "500000", "paced", NULL };
	int rc = tp_run(rec_a, NULL, out, err);
	char *log = tp_slurp(err);

	cr_assert_eq(rc, 0, "mpa-record failed (%d): %s", rc, log);
	free(log);
	cr_assert_geq(chunks_converted(err), 3, "fewer than 3 chunks: the test proves nothing");
	rc = tp_run(rec_b, NULL, out, err);
	log = tp_slurp(err);
	cr_assert_eq(rc, 0, "mpa-record --no-rotate failed (%d): %s", rc, log);
	cr_expect(strstr(log, "converted while recording") == NULL, "--no-rotate rotated: %s", log);
	free(log);
	for (int i = 0; i < 2; i++) {
		const char *f = i ? b : a;
		long allocs, execs, exits;

		snprintf(cmd, sizeof cmd, "%s -f csv -k alloc -c size '%s' | grep -c '^4321$'",
			 bin("bin/mpa-cat"), f);
		allocs = count_of(cmd);
		snprintf(cmd, sizeof cmd, "%s -f csv -k proc_exec -c kind '%s' | grep -vc kind",
			 bin("bin/mpa-cat"), f);
		execs = count_of(cmd);
		snprintf(cmd, sizeof cmd, "%s -f csv -k proc_exit -c kind '%s' | grep -vc kind",
			 bin("bin/mpa-cat"), f);
		exits = count_of(cmd);
		cr_expect_eq(allocs, 500000, "%s: %ld allocations of 4321 bytes, not 500000", f, allocs);
		snprintf(cmd, sizeof cmd, "%s '%s' | grep -c '\"lost_events\" = \"0\"'",
			 bin("bin/mpa-cat"), f);
		cr_assert_eq(count_of(cmd), 1, "%s: events were lost (--lossless, 256k sub-buffers): "
			     "the kinds cannot be compared", f);
		cr_expect_eq(execs, 1, "%s: %ld proc_exec", f, execs);
		cr_expect_eq(exits, 1, "%s: %ld proc_exit", f, exits);
	}
	/* threads: the same.  (Not the other kinds' counts: lttng-ust in the
	 * program allocates, maps and keeps memory as other sessions on the
	 * host start and stop, so its own records differ from run to run.) */
	long threads[2];
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd, "%s -f csv -k thread_start -c kind '%s' | grep -vc kind",
			 bin("bin/mpa-cat"), i ? b : a);
		threads[i] = count_of(cmd);
	}
	cr_expect_eq(threads[0], threads[1], "threads: %ld with rotation, %ld without",
		     threads[0], threads[1]);
	tp_rmrf(d);
	free(d);
}

/* --rotate-size on a recording too short to rotate while it runs: its one
 * chunk (archived at the end) is converted all the same. */
Test(record_rotate, short_recording_one_chunk, .timeout = 600)
{
	char *d = mkscratch();
	char a[PATH_MAX], out[PATH_MAX], err[PATH_MAX], cmd[4 * PATH_MAX];

	snprintf(a, sizeof a, "%s/short.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	snprintf(err, sizeof err, "%s/err", d);
	char *rec[] = { bin("bin/mpa-record"), "--rotate-size", "32M", "-o", a, "--",
		bin("tests/workloads/wl-busy"), "4323", "100", "leaf", NULL };
	int rc = tp_run(rec, NULL, out, err);
	char *log = tp_slurp(err);

	cr_assert_eq(rc, 0, "mpa-record failed (%d): %s", rc, log);
	cr_expect_eq(chunks_converted(err), 1, "%s", log);
	free(log);
	snprintf(cmd, sizeof cmd, "%s -f csv -k alloc -c size '%s' | grep -c '^4323$'",
		 bin("bin/mpa-cat"), a);
	cr_expect_eq(count_of(cmd), 100, "allocations of 4323 bytes missing");
	tp_rmrf(d);
	free(d);
}

/* ---- the disk bound -------------------------------------------------------------- */

struct sampler {
	const char *dir;
	volatile int stop;
	unsigned long long max_bytes;
};

static unsigned long long du_acc;

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path; (void)ftw;
	if (flag == FTW_F)
		du_acc += (unsigned long long)st->st_blocks * 512;
	return 0;
}

static void *sample(void *arg)
{
	struct sampler *s = arg;

	while (!s->stop) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		du_acc = 0;
		nftw(s->dir, du_entry, 16, FTW_PHYS);
		if (du_acc > s->max_bytes)
			s->max_bytes = du_acc;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* A recording many times longer than a chunk keeps at most a few chunks
 * on disk: the temporary folder (the trace, the converter's tails) is
 * sampled every 10 ms while it runs.  The program traces slower than the
 * converter converts (16 pairs every 50 ms, as a long-running service
 * does): each chunk is removed once converted, so the folder holds the
 * chunk being written, one or two archived ones and their metadata.  (A
 * program tracing faster than the converter leaves chunks waiting:
 * --max-trace is then the cap; doc/recording.md.) */
Test(record_rotate, disk_bounded_by_chunks, .timeout = 1200)
{
	char *d = mkscratch();
	char tmp[PATH_MAX], cap[PATH_MAX], out[PATH_MAX], err[PATH_MAX], env[PATH_MAX + 16];
	char cmd[4 * PATH_MAX];
	struct sampler s = { 0 };
	pthread_t th;

	snprintf(tmp, sizeof tmp, "%s/tmp", d);
	cr_assert(mkdir(tmp, 0755) == 0);
	snprintf(cap, sizeof cap, "%s/cap.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	snprintf(err, sizeof err, "%s/err", d);
	snprintf(env, sizeof env, "TMPDIR=%s", tmp);
	s.dir = tmp;
	cr_assert(pthread_create(&th, NULL, sample, &s) == 0);
	char *rec[] = { bin("bin/mpa-record"), "--lossless", "--subbuf-size", "64k",
		"--num-subbuf", "4", "--rotate-size", "64k", "-o", cap, "--",
		bin("tests/workloads/wl-busy"), "4322", "30", "slow", NULL };
	/* tp_run adds one NAME=VALUE: MPA_RECORD_TIMES through the parent */
	setenv("MPA_RECORD_TIMES", "1", 1);
	int rc = tp_run(rec, env, out, err);

	unsetenv("MPA_RECORD_TIMES");
	s.stop = 1;
	pthread_join(th, NULL);
	char *log = tp_slurp(err);
	cr_assert_eq(rc, 0, "mpa-record failed (%d): %s", rc, log);
	long chunks = chunks_converted(err);
	const char *m = strstr(log, "at most ");
	long most = m ? strtol(m + 8, NULL, 10) : -1;
	const char *t = strstr(log, " chunks (");
	double total = t ? strtod(t + 9, NULL) * (1 << 20) : 0;
	cr_assert_geq(chunks, 8, "%ld chunks: the recording was too short to test the bound: %s",
		      chunks, log);
	/* archived chunks on disk at once: the one the converter reads, the
	 * next one (it closes the window), and one more while it works */
	cr_expect(most >= 1 && most <= 3, "%ld archived chunks on disk at once: %s", most, log);
	/* the folder never held half of the trace it carried (about 12
	 * chunks; besides the archived ones on disk, the session's current
	 * chunk and its metadata, a fixed ~300 KiB here, stay in it) */
	cr_expect_lt((double)s.max_bytes, total / 2,
		     "the temporary folder held %llu bytes at once: %s", s.max_bytes, log);
	cr_expect_gt(s.max_bytes, 0, "the sampler saw nothing");
	free(log);
	snprintf(cmd, sizeof cmd, "%s '%s' | grep -c '\"lost_events\" = \"0\"'",
		 bin("bin/mpa-cat"), cap);
	cr_expect_eq(count_of(cmd), 1, "events were lost");
	snprintf(cmd, sizeof cmd, "%s -f csv -k alloc -c size '%s' | grep -c '^4322$'",
		 bin("bin/mpa-cat"), cap);
	cr_expect_gt(count_of(cmd), 16 * 100, "fewer allocations than 5 s of the program");
	tp_rmrf(d);
	free(d);
}
