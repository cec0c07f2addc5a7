/* mpa-cat: runs the built binary ($MPA_BUILD/bin/mpa-cat) on captures written
 * with the libmpt writer and parses every output format back. */
#include <criterion/criterion.h>
#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpa/mpt.h"

extern char **environ;

/* ---- fixture: a temp dir and a capture with known records --------------- */

#define NEV 1000
#define CHUNK_ROWS 128
#define TS0 UINT64_C(1000000000)

static char tmpdir[PATH_MAX];
static char capture[PATH_MAX + 32];
static struct mpa_event evs[NEV];
static uint32_t stack_ids[3];
static uint32_t exec_str, lost_str;
static const char *const exec_path = "/opt/a,b \"quoted\"/prog";

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mpa-cat-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void rm_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", tmpdir);
	tmpdir[0] = 0;
}

static void check(enum mpt_status st, const struct mpt_error *err)
{
	cr_assert_eq(st, MPT_OK, "libmpt: %s", err->msg);
}

/* Deterministic records of many kinds: alloc/free pairs, reallocs, maps, a
 * kernel alloc, an exec, and two lost records. */
static void gen_events(void)
{
	uint64_t ts = TS0;
	uint32_t seed = 12345;

	memset(evs, 0, sizeof(evs));
	for (int i = 0; i < NEV; i++) {
		struct mpa_event *e = &evs[i];

		seed = seed * 1103515245u + 12345u;
		ts += 100 + (seed >> 16) % 200;
		e->ts = ts;
		e->pid = 4000 + (i % 50 == 49);
		e->tid = e->pid + (i & 1);
		e->cpu = (uint32_t)(i % 3);
		if (i == 10) {
			e->kind = MPA_KIND_PROC_EXEC;
			e->str_id = exec_str;
		} else if (i == 20 || i == 700) {
			e->kind = MPA_KIND_LOST;
			e->size = i == 20 ? 5 : 7;
			e->str_id = lost_str;
			e->end_ts = ts + 50;
		} else if (i % 97 == 3) {
			e->kind = MPA_KIND_MAP;
			e->ptr = UINT64_C(0x7f0000000000) + (uint64_t)i * 4096;
			e->size = 1 << 20;
			e->prot = 3;
			e->mflags = 0x22;
			e->api = MPA_API_MMAP;
		} else if (i % 89 == 5) {
			e->kind = MPA_KIND_KALLOC;
			e->domain = MPA_DOMAIN_KERNEL;
			e->ptr = UINT64_C(0xffff888000000000) + (uint64_t)i * 64;
			e->size = 100;
			e->usable = 128;
			e->node = -1;
			e->ip = UINT64_C(0xffffffff81000000) + (uint64_t)i;
			e->api = MPA_API_KMALLOC;
			e->mflags = 0xcc0;
		} else if (i % 31 == 7) {
			e->kind = MPA_KIND_REALLOC;
			e->ptr = 0x10000 + (uint64_t)(i - 1) * 32;
			e->new_ptr = 0x900000 + (uint64_t)i * 64;
			e->size = 48;
			e->api = MPA_API_REALLOC;
			e->stack_id = stack_ids[2];
		} else if (i & 1) {
			e->kind = MPA_KIND_FREE;
			e->ptr = 0x10000 + (uint64_t)(i - 1) * 32;
			e->api = MPA_API_FREE;
			e->stack_id = stack_ids[1];
		} else {
			e->kind = MPA_KIND_ALLOC;
			e->ptr = 0x10000 + (uint64_t)i * 32;
			e->size = 1 + (seed >> 8) % 500;
			e->usable = (e->size + 15) & ~UINT64_C(15);
			e->api = (i % 10 == 4) ? MPA_API_CALLOC : MPA_API_MALLOC;
			e->stack_id = stack_ids[0];
			if (i == 42)
				e->flags = MPA_FLAG_FAILED;
		}
	}
}

/* Writes PATH with the known records and tables (nev records). */
static void write_capture(const char *path, int nev)
{
	struct mpt_error err = { 0 };
	struct mpt_writer_opts wo = { .chunk_rows = CHUNK_ROWS };
	mpt_writer *w = NULL;
	uint32_t s_main, s_work, s_file, s_bin, f1, f2, f3, fr[3];
	int32_t cpu_node[2] = { 0, 0 };
	uint32_t dist[1] = { 10 };
	struct mpt_topology topo = { .ncpus = 2, .nnodes = 1, .page_size = 4096,
				     .cache_line = 64, .l1d_size = 32768,
				     .cpu_node = cpu_node, .distance = dist };
	struct mpt_binary bin = { .pid = 4000, .base = 0x400000, .size = 0x10000 };

	check(mpt_writer_open(path, &wo, &w, &err), &err);
	check(mpt_writer_string(w, "main", 4, &s_main, &err), &err);
	check(mpt_writer_string(w, "worker_loop", 11, &s_work, &err), &err);
	check(mpt_writer_string(w, "prog.c", 6, &s_file, &err), &err);
	check(mpt_writer_string(w, "/usr/bin/prog", 13, &s_bin, &err), &err);
	check(mpt_writer_string(w, exec_path, strlen(exec_path), &exec_str, &err), &err);
	check(mpt_writer_string(w, "ch_0", 4, &lost_str, &err), &err);
	struct mpt_frame a = { .ip = 0x401234, .bin_off = 0x1234, .bin = s_bin, .func = s_main,
			       .file = s_file, .line = 42 };
	struct mpt_frame b = { .ip = 0x405678, .bin_off = 0x5678, .bin = s_bin, .func = s_work,
			       .file = s_file, .line = 7 };
	struct mpt_frame c = { .ip = 0x7f00dead };
	check(mpt_writer_frame(w, &a, &f1, &err), &err);
	check(mpt_writer_frame(w, &b, &f2, &err), &err);
	check(mpt_writer_frame(w, &c, &f3, &err), &err);
	fr[0] = f2;
	fr[1] = f1;
	check(mpt_writer_stack(w, fr, 2, &stack_ids[0], &err), &err);
	fr[0] = f1;
	check(mpt_writer_stack(w, fr, 1, &stack_ids[1], &err), &err);
	fr[0] = f3;
	fr[1] = f2;
	fr[2] = f1;
	check(mpt_writer_stack(w, fr, 3, &stack_ids[2], &err), &err);
	bin.path = s_bin;
	check(mpt_writer_binary(w, &bin, &err), &err);
	check(mpt_writer_topology(w, &topo, &err), &err);
	check(mpt_writer_meta(w, "hostname", "testhost", &err), &err);
	check(mpt_writer_meta(w, "lost_events", "12", &err), &err);
	check(mpt_writer_meta(w, "lost_packets", "2", &err), &err);
	check(mpt_writer_meta(w, "lost_other", "0", &err), &err);
	check(mpt_writer_meta(w, "command", "prog --flag", &err), &err);
	gen_events();
	for (int i = 0; i < nev; i++)
		check(mpt_writer_append(w, &evs[i], &err), &err);
	check(mpt_writer_close(w, &err), &err);
}

static void setup_capture(void)
{
	make_tmpdir();
	snprintf(capture, sizeof(capture), "%s/cap.mpt", tmpdir);
	write_capture(capture, NEV);
}

/* ---- running the binary ------------------------------------------------- */

struct run {
	int status;    /* exit status, or 128 + signal */
	char *out;     /* (owned) stdout */
	size_t out_len;
	char *err;     /* (owned) stderr */
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static const char *cat_bin(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("MPA_BUILD");

	cr_assert_not_null(b, "MPA_BUILD is not set (run through make check)");
	snprintf(path, sizeof(path), "%s/bin/mpa-cat", b);
	cr_assert_eq(access(path, X_OK), 0, "%s: %s", path, strerror(errno));
	return path;
}

/* Runs mpa-cat with args (NULL-terminated, without argv[0]). */
static struct run run_cat(const char *const *args)
{
	struct run r = { 0 };
	char outp[PATH_MAX + 16], errp[PATH_MAX + 16];
	const char *argv[32];
	int n = 0, st;
	pid_t pid;
	posix_spawn_file_actions_t fa;

	argv[n++] = "mpa-cat";
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, cat_bin(), &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(outp, &r.out_len);
	r.err = slurp(errp, NULL);
	return r;
}

#define RUN(...) run_cat((const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Checks the error contract: status 1, stdout empty-or-not, exactly one
 * stderr line "mpa-cat: 'PATH': reason". */
static void assert_one_error_line(const struct run *r, const char *path)
{
	char prefix[PATH_MAX + 32];

	cr_assert_eq(r->status, 1, "status %d, stderr: %s", r->status, r->err);
	snprintf(prefix, sizeof(prefix), "mpa-cat: '%s': ", path);
	cr_assert_eq(strncmp(r->err, prefix, strlen(prefix)), 0, "stderr: %s", r->err);
	cr_assert_gt(strlen(r->err), strlen(prefix) + 1, "no reason: %s", r->err);
	cr_assert_eq(count_lines(r->err), 1, "stderr is not one line: %s", r->err);
	cr_assert_eq(r->err[strlen(r->err) - 1], '\n');
	cr_assert_neq(r->err[strlen(r->err) - 2], '.', "trailing period: %s", r->err);
}

static int ev_in_filter(const struct mpa_event *e, uint32_t kinds, uint64_t from, uint64_t to,
			int32_t pid)
{
	return (!kinds || (kinds & MPT_KINDBIT(e->kind))) && e->ts >= from && (!to || e->ts < to) &&
	       (!pid || e->pid == pid);
}

TestSuite(cat, .init = setup_capture, .fini = rm_tmpdir, .timeout = 60);

/* ---- summary ------------------------------------------------------------ */

Test(cat, summary)
{
	struct run r = RUN(capture);
	unsigned long long recs = 0;
	unsigned chunks = 0;
	const char *p;

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	/* lost events at the top: 5 + 7 in two records, and the metadata key */
	p = strstr(r.out, "LOST ");
	cr_assert_not_null(p, "%s", r.out);
	cr_assert_lt(p - r.out, 200, "lost line is not at the top");
	cr_assert_not_null(strstr(p, "12 events in 2 lost records"), "%s", r.out);
	cr_assert_not_null(strstr(p, "lost_events = \"12\""), "%s", r.out);
	cr_assert_not_null(strstr(p, "lost_packets = \"2\""), "%s", r.out);
	{
		char lost_line[512];
		size_t l = strcspn(p, "\n");

		cr_assert_lt(l, sizeof(lost_line));
		memcpy(lost_line, p, l);
		lost_line[l] = 0;
		cr_assert_null(strstr(lost_line, "lost_other"), "a zero count is not a loss: %s", lost_line);
	}
	p = strstr(r.out, "\nrecords ");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "\nrecords %llu in %u chunks", &recs, &chunks), 2);
	cr_assert_eq(recs, NEV);
	cr_assert_eq(chunks, (NEV + CHUNK_ROWS - 1) / CHUNK_ROWS);
	cr_assert_not_null(strstr(r.out, "\"hostname\" = \"testhost\""), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"command\" = \"prog --flag\""));
	cr_assert_not_null(strstr(r.out, "  frames    3\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  stacks    3\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  binaries  1\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\ntables (--table NAME[,NAME] lists them, --table all every one)\n"),
			   "%s", r.out);
	cr_assert_not_null(strstr(r.out, "topology  2 cpus, 1 node, page 4096 B"), "%s", r.out);
	/* the tables' contents are behind --table */
	cr_assert_null(strstr(r.out, "/usr/bin/prog"), "%s", r.out);
	cr_assert_null(strstr(r.out, "node of cpu"), "%s", r.out);
	cr_assert_null(strstr(r.out, "distance"), "%s", r.out);

	/* kind counts match what was written */
	unsigned long long cnt[MPA_KIND_COUNT_] = { 0 };
	for (int i = 0; i < NEV; i++)
		cnt[evs[i].kind]++;
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++) {
		char line[128];

		if (!cnt[k])
			continue;
		snprintf(line, sizeof(line), "\n  %-14s %12llu ", mpa_kind_name(k), cnt[k]);
		cr_assert_not_null(strstr(r.out, line), "no '%s' in %s", line, r.out);
	}

	/* one line per chunk with its row count and kinds; first and last chunk */
	char line[256];
	snprintf(line, sizeof(line), "\n  %6u %8u %20" PRIu64 " ", 0u, CHUNK_ROWS, evs[0].ts);
	cr_assert_not_null(strstr(r.out, line), "no '%s' in %s", line, r.out);
	snprintf(line, sizeof(line), "\n  %6u %8u ", chunks - 1, NEV - (chunks - 1) * CHUNK_ROWS);
	cr_assert_not_null(strstr(r.out, line), "no '%s' in %s", line, r.out);

	/* the columns table: ptr row with its value count, and totals */
	unsigned long long nptr = 0, v = 0;
	for (int i = 0; i < NEV; i++)
		nptr += (mpt_kind_columns(evs[i].kind) & MPT_COLBIT(MPT_COL_PTR)) != 0;
	p = strstr(r.out, "\n  ptr ");
	cr_assert_not_null(p, "%s", r.out);
	cr_assert_eq(sscanf(p, "\n  ptr %llu", &v), 1);
	cr_assert_eq(v, nptr);
	p = strstr(r.out, "\n  kind ");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "\n  kind %llu", &v), 1);
	cr_assert_eq(v, NEV);
	cr_assert_not_null(strstr(r.out, "\n  file "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "B/rec"));

	/* every encoding is shown by its libmpt name, never as a bare number */
	p = strstr(r.out, "\ncolumns");
	cr_assert_not_null(p);
	for (p = strchr(p + 1, '\n'); p && p[1] == ' '; p = strchr(p + 1, '\n')) {
		char col[64], encs[128];

		if (sscanf(p, "\n  %63s %*s %127s", col, encs) != 2 ||
		    mpt_column_from_name(col) < 0)
			continue; /* the totals below the table */
		for (char *e = strtok(encs, ","); e; e = strtok(NULL, ","))
			cr_assert(e[0] < '0' || e[0] > '9', "column %s: encoding '%s' has no name",
				  col, e);
	}
	run_free(&r);
}

Test(cat, summary_of_empty_capture)
{
	char path[PATH_MAX + 32];
	struct mpt_error err = { 0 };
	mpt_writer *w = NULL;

	snprintf(path, sizeof(path), "%s/empty.mpt", tmpdir);
	check(mpt_writer_open(path, NULL, &w, &err), &err);
	check(mpt_writer_close(w, &err), &err);

	struct run r = RUN(path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "records     0 in 0 chunks"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "lost        none"), "%s", r.out);
	run_free(&r);

	r = RUN("--events", path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);

	r = RUN("--format", "csv", path);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(count_lines(r.out), 1, "csv of nothing is a header: %s", r.out);
	run_free(&r);

	r = RUN("--verify", path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
}

/* ---- tables --------------------------------------------------------------- */

Test(cat, tables)
{
	struct run r = RUN("--table", "binaries", capture);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "binaries (1)\n  pid 4000 0x400000-0x410000 \"/usr/bin/prog\"\n");
	run_free(&r);

	r = RUN("-t", "frames", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "frames (3)\n"
				"        1  0x401234 \"main\" \"prog.c\":42 \"/usr/bin/prog\"+0x1234\n"
				"        2  0x405678 \"worker_loop\" \"prog.c\":7 \"/usr/bin/prog\"+0x5678\n"
				"        3  0x7f00dead\n");
	run_free(&r);

	r = RUN("-t", "stacks", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "stacks (3), frame ids innermost first\n"
				"        1  [2] 2 1\n        2  [1] 1\n        3  [3] 3 2 1\n");
	run_free(&r);

	r = RUN("-t", "topology", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "topology\n  2 cpus, 1 node, page 4096 B, cache line 64 B, l1d 32 KiB\n"
				"  node of cpu: 0 0\n  distance 0: 10\n");
	run_free(&r);

	/* strings: quoted and escaped, one per line, id 0 is "" */
	r = RUN("-t", "strings", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(strncmp(r.out, "strings (7)\n        0  \"\"\n        1  \"main\"\n", 38), 0,
		     "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  \"/opt/a,b \\\"quoted\\\"/prog\"\n"), "%s", r.out);
	cr_assert_eq(count_lines(r.out), 8);
	run_free(&r);

	/* all: every table in one order whatever the order asked, a blank line
	 * between two */
	r = RUN("--table", "all", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	struct run q = RUN("--table", "topology,stacks,binaries,frames,strings,stacks", capture);
	cr_assert_str_eq(q.out, r.out);
	run_free(&q);
	const char *order[] = { "strings (7)\n", "\n\nframes (3)\n", "\n\nstacks (3)",
				"\n\nbinaries (1)\n", "\n\ntopology\n" };
	const char *at = r.out;
	for (unsigned i = 0; i < 5; i++) {
		const char *p = strstr(r.out, order[i]);

		cr_assert_not_null(p, "no %s in %s", order[i], r.out);
		cr_assert_geq(p, at, "%s out of order", order[i]);
		at = p;
	}
	run_free(&r);

	/* a capture without tables */
	char path[PATH_MAX + 32];
	struct mpt_error err = { 0 };
	mpt_writer *w = NULL;

	snprintf(path, sizeof(path), "%s/bare.mpt", tmpdir);
	check(mpt_writer_open(path, NULL, &w, &err), &err);
	check(mpt_writer_close(w, &err), &err);
	r = RUN("-t", "all", path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "strings (1)\n        0  \"\"\n\nframes (0)\n\n"
				"stacks (0), frame ids innermost first\n\nbinaries (0)\n\n"
				"topology none\n");
	run_free(&r);
}

/* Many processes, each with its libraries: the summary stays short, the
 * listing is behind --table binaries. */
Test(cat, summary_is_short_with_many_binaries)
{
	char path[PATH_MAX + 32];
	struct mpt_error err = { 0 };
	mpt_writer *w = NULL;
	enum { NPROC = 100, NLIB = 12 };

	snprintf(path, sizeof(path), "%s/many.mpt", tmpdir);
	check(mpt_writer_open(path, NULL, &w, &err), &err);
	for (int p = 0; p < NPROC; p++)
		for (int l = 0; l < NLIB; l++) {
			char name[64];
			struct mpt_binary b = { .pid = 1000 + p, .base = UINT64_C(0x7f0000000000) +
									 (uint64_t)l * 0x100000,
						.size = 0x80000 };

			snprintf(name, sizeof(name), "/usr/lib/lib%d.so", l);
			check(mpt_writer_string(w, name, strlen(name), &b.path, &err), &err);
			check(mpt_writer_binary(w, &b, &err), &err);
		}
	for (int i = 0; i < 100; i++) {
		struct mpa_event e = { .kind = MPA_KIND_ALLOC, .ts = 1000 + (uint64_t)i,
				       .pid = 1000 + i, .tid = 1000 + i, .ptr = 0x1000, .size = 8 };

		check(mpt_writer_append(w, &e, &err), &err);
	}
	check(mpt_writer_close(w, &err), &err);

	struct run r = RUN(path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "  binaries  1200\n"), "%s", r.out);
	cr_assert_lt(count_lines(r.out), 60, "%d lines: %s", count_lines(r.out), r.out);
	run_free(&r);
	r = RUN("--table", "binaries", path);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 1 + NPROC * NLIB);
	cr_assert_not_null(strstr(r.out, "\n  pid 1099 0x7f0000b00000-0x7f0000b80000 \"/usr/lib/lib11.so\"\n"),
			   "%s", r.out);
	run_free(&r);
}

/* ---- text --------------------------------------------------------------- */

/* Value of "key=" in a text line (up to the next space), or NULL. */
static const char *field(const char *line, const char *key, char *buf, size_t n)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	size_t l = strcspn(p, " \n");
	if (l >= n)
		l = n - 1;
	memcpy(buf, p, l);
	buf[l] = 0;
	return buf;
}

Test(cat, events_text_round_trip)
{
	struct run r = RUN("--events", capture);
	char *save = NULL, buf[128];
	int i = 0;

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		const struct mpa_event *e = &evs[i];
		unsigned long long ts;
		char kind[32];

		cr_assert_lt(i, NEV);
		cr_assert_eq(sscanf(line, "%llu %31s", &ts, kind), 2, "line: %s", line);
		cr_assert_eq(ts, e->ts, "record %d: %s", i, line);
		cr_assert_str_eq(kind, mpa_kind_name(e->kind), "record %d: %s", i, line);
		cr_assert_str_eq(field(line, "pid", buf, sizeof(buf)), (snprintf(kind, sizeof(kind), "%d", e->pid), kind));
		cr_assert_str_eq(field(line, "tid", buf, sizeof(buf)), (snprintf(kind, sizeof(kind), "%d", e->tid), kind));
		if (mpt_kind_columns(e->kind) & MPT_COLBIT(MPT_COL_PTR)) {
			cr_assert_not_null(field(line, "ptr", buf, sizeof(buf)), "%s", line);
			cr_assert_eq(strtoull(buf, NULL, 16), e->ptr, "record %d: %s", i, line);
		} else {
			cr_assert_null(field(line, "ptr", buf, sizeof(buf)), "%s", line);
		}
		if (e->kind == MPA_KIND_ALLOC) {
			cr_assert_eq(strtoull(field(line, "size", buf, sizeof(buf)), NULL, 10), e->size);
			cr_assert_str_eq(field(line, "api", buf, sizeof(buf)), mpa_api_name(e->api));
		}
		if (e->kind == MPA_KIND_KALLOC) {
			cr_assert_str_eq(field(line, "domain", buf, sizeof(buf)), "kernel");
			cr_assert_str_eq(field(line, "node", buf, sizeof(buf)), "-1");
		} else {
			cr_assert_null(field(line, "domain", buf, sizeof(buf)), "%s", line);
		}
		if (e->flags)
			cr_assert_str_eq(field(line, "flags", buf, sizeof(buf)), "failed");
		if (e->kind == MPA_KIND_PROC_EXEC)
			cr_assert_not_null(strstr(line, " str=\"/opt/a,b \\\"quoted\\\"/prog\""), "%s", line);
	}
	cr_assert_eq(i, NEV);
	run_free(&r);
}

Test(cat, events_text_stacks)
{
	struct run r = RUN("--events", "--stacks", "--kind", "realloc", capture);
	char *l;

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	l = strstr(r.out, " realloc ");
	cr_assert_not_null(l, "%s", r.out);
	l = strchr(l, '\n') + 1;
	/* innermost first: the bare ip, then worker_loop, then main */
	cr_assert_eq(strncmp(l, "    #0  0x7f00dead\n    #1  0x405678 \"worker_loop\" \"prog.c\":7 "
				"\"/usr/bin/prog\"+0x5678\n    #2  0x401234 \"main\"",
			     strlen("    #0  0x7f00dead\n    #1  0x405678 \"worker_loop\" \"prog.c\":7 "
				    "\"/usr/bin/prog\"+0x5678\n    #2  0x401234 \"main\"")),
		     0, "%s", l);
	run_free(&r);
}

/* ---- CSV ---------------------------------------------------------------- */

struct csv_state {
	char fields[40][256];
	int nf, nrows, bad;
	char header[40][32];
	int nheader;
	void (*row)(struct csv_state *);
	uint32_t kinds;
	uint64_t from, to;
	int32_t pid;
	int next;          /* index into evs of the next expected record */
};

static void csv_field_cb(void *s, size_t len, void *data)
{
	struct csv_state *st = data;

	if (st->nf < 40) {
		if (len > 255)
			len = 255;
		memcpy(st->fields[st->nf], s, len);
		st->fields[st->nf][len] = 0;
	}
	st->nf++;
}

static int col_index(const struct csv_state *st, const char *name)
{
	for (int i = 0; i < st->nheader; i++)
		if (strcmp(st->header[i], name) == 0)
			return i;
	return -1;
}

static void check_csv_row(struct csv_state *st)
{
	const struct mpa_event *e;
	int c;

	while (st->next < NEV &&
	       !ev_in_filter(&evs[st->next], st->kinds, st->from, st->to, st->pid))
		st->next++;
	cr_assert_lt(st->next, NEV, "more rows than records");
	e = &evs[st->next++];
	cr_assert_eq(st->nf, st->nheader, "row %d has %d fields", st->nrows, st->nf);
	cr_assert_eq(strtoull(st->fields[col_index(st, "ts")], NULL, 10), e->ts);
	cr_assert_str_eq(st->fields[col_index(st, "kind")], mpa_kind_name(e->kind));
	cr_assert_eq(strtol(st->fields[col_index(st, "pid")], NULL, 10), e->pid);
	if ((c = col_index(st, "ptr")) >= 0) {
		if (mpt_kind_columns(e->kind) & MPT_COLBIT(MPT_COL_PTR))
			cr_assert_eq(strtoull(st->fields[c], NULL, 16), e->ptr);
		else
			cr_assert_str_empty(st->fields[c]);
	}
	if ((c = col_index(st, "size")) >= 0 && (mpt_kind_columns(e->kind) & MPT_COLBIT(MPT_COL_SIZE)))
		cr_assert_eq(strtoull(st->fields[c], NULL, 10), e->size);
	if ((c = col_index(st, "str")) >= 0 && e->kind == MPA_KIND_PROC_EXEC)
		cr_assert_str_eq(st->fields[c], exec_path);
	if ((c = col_index(st, "flags")) >= 0)
		cr_assert_eq(strtoul(st->fields[c], NULL, 10), e->flags);
}

static void csv_row_cb(int ch, void *data)
{
	struct csv_state *st = data;

	(void)ch;
	if (st->nheader == 0) {
		for (int i = 0; i < st->nf && i < 40; i++) {
			size_t l = strnlen(st->fields[i], sizeof(st->header[i]) - 1);

			memcpy(st->header[i], st->fields[i], l);
			st->header[i][l] = 0;
		}
		st->nheader = st->nf;
	} else {
		st->row(st);
		st->nrows++;
	}
	st->nf = 0;
}

static void parse_csv(const char *text, size_t len, struct csv_state *st)
{
	struct csv_parser p;

	cr_assert_eq(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI), 0);
	cr_assert_eq(csv_parse(&p, text, len, csv_field_cb, csv_row_cb, st), len, "csv: %s",
		     csv_strerror(csv_error(&p)));
	cr_assert_eq(csv_fini(&p, csv_field_cb, csv_row_cb, st), 0);
	csv_free(&p);
}

Test(cat, events_csv_round_trip)
{
	struct run r = RUN("--format", "csv", capture);
	struct csv_state st = { .row = check_csv_row };

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	parse_csv(r.out, r.out_len, &st);
	cr_assert_eq(st.nrows, NEV);
	cr_assert_geq(col_index(&st, "ts"), 0);
	cr_assert_geq(col_index(&st, "str"), 0);
	cr_assert_geq(col_index(&st, "new_ptr"), 0);
	cr_assert_lt(col_index(&st, "pool_id"), 0, "no pool kinds in the file, no pool_id column");
	run_free(&r);
}

Test(cat, events_csv_filters)
{
	char from[32], to[32];
	struct csv_state st = { .row = check_csv_row };
	int expect = 0;

	st.kinds = MPT_KINDBIT(MPA_KIND_FREE) | MPT_KINDBIT(MPA_KIND_MAP);
	st.from = evs[150].ts;
	st.to = evs[600].ts;
	snprintf(from, sizeof(from), "@%" PRIu64, st.from);
	snprintf(to, sizeof(to), "@%" PRIu64, st.to);
	struct run r = RUN("-f", "csv", "--kind", "free,map", "--from", from, "--to", to, capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	parse_csv(r.out, r.out_len, &st);
	for (int i = 0; i < NEV; i++)
		expect += ev_in_filter(&evs[i], st.kinds, st.from, st.to, 0);
	cr_assert_gt(expect, 100);
	cr_assert_eq(st.nrows, expect);

	/* the same window as durations from the first record, in every unit */
	uint64_t d0 = st.from - evs[0].ts, d1 = st.to - evs[0].ts;
	char f[4][40], t[4][40];
	snprintf(f[0], sizeof f[0], "%" PRIu64 "ns", d0);
	snprintf(t[0], sizeof t[0], "%" PRIu64 "ns", d1);
	snprintf(f[1], sizeof f[1], "%" PRIu64 ".%03" PRIu64 "us", d0 / 1000, d0 % 1000);
	snprintf(t[1], sizeof t[1], "%" PRIu64 ".%03" PRIu64 "us", d1 / 1000, d1 % 1000);
	snprintf(f[2], sizeof f[2], "0.%09" PRIu64 "s", d0);
	snprintf(t[2], sizeof t[2], "0.%06" PRIu64 "ms", d1);
	snprintf(f[3], sizeof f[3], "0.%09" PRIu64, d0);
	snprintf(t[3], sizeof t[3], "%s", to);
	for (int k = 0; k < 4; k++) {
		struct run q = RUN("-f", "csv", "--kind", "free,map", "--from", f[k], "--to", t[k],
				   capture);
		cr_assert_eq(q.status, 0, "%s %s: %s", f[k], t[k], q.err);
		cr_assert_eq(q.out_len, r.out_len, "--from %s --to %s", f[k], t[k]);
		cr_assert_eq(memcmp(q.out, r.out, r.out_len), 0, "--from %s --to %s", f[k], t[k]);
		run_free(&q);
	}
	run_free(&r);
}

Test(cat, events_pid)
{
	int32_t pids[] = { 4000, 4001, 5 };

	for (unsigned k = 0; k < 3; k++) {
		char pid[16];
		int expect = 0;
		struct csv_state st = { .row = check_csv_row, .pid = pids[k] };

		snprintf(pid, sizeof(pid), "%d", pids[k]);
		struct run r = RUN("-f", "csv", "--pid", pid, capture);
		cr_assert_eq(r.status, 0, "stderr: %s", r.err);
		parse_csv(r.out, r.out_len, &st);
		for (int i = 0; i < NEV; i++)
			expect += ev_in_filter(&evs[i], 0, 0, 0, pids[k]);
		cr_assert_eq(st.nrows, expect, "pid %d", pids[k]);
		cr_assert_eq(expect, k == 0 ? NEV - NEV / 50 : k == 1 ? NEV / 50 : 0);
		run_free(&r);
	}
	/* with the kind and time filters, pid not among the printed columns */
	struct csv_state st = { .row = check_csv_row, .pid = 4001,
				.kinds = MPT_KINDBIT(MPA_KIND_FREE), .from = evs[200].ts };
	char from[32];
	int expect = 0;

	snprintf(from, sizeof(from), "@%" PRIu64, st.from);
	struct run r = RUN("-f", "csv", "-p", "4001", "-k", "free", "--from", from, "-c",
			   "ts,kind,ptr,pid", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	parse_csv(r.out, r.out_len, &st);
	for (int i = 0; i < NEV; i++)
		expect += ev_in_filter(&evs[i], st.kinds, st.from, 0, 4001);
	cr_assert_gt(expect, 5);
	cr_assert_eq(st.nrows, expect);
	run_free(&r);
	r = RUN("-p", "4001", "-k", "free", "--from", from, "-c", "ts", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), expect);
	cr_assert_null(strstr(r.out, "pid"), "%s", r.out);
	run_free(&r);
}

Test(cat, events_columns)
{
	struct run r = RUN("-f", "csv", "--columns", "ptr,ts,kind,pid", "--kind", "alloc", capture);
	struct csv_state st = { .row = check_csv_row, .kinds = MPT_KINDBIT(MPA_KIND_ALLOC) };

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(strncmp(r.out, "ptr,ts,kind,pid\n", 16), 0, "%s", r.out);
	parse_csv(r.out, r.out_len, &st);
	cr_assert_gt(st.nrows, 300);
	run_free(&r);

	r = RUN("--columns", "ts,size", "--kind", "alloc", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char want[64];
	snprintf(want, sizeof(want), "ts=%" PRIu64 " size=%" PRIu64 "\n", evs[0].ts, evs[0].size);
	cr_assert_eq(strncmp(r.out, want, strlen(want)), 0, "%s", r.out);
	run_free(&r);
}

/* ---- JSON Lines --------------------------------------------------------- */

static uint64_t json_hex(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_string(v), "%s is not a hex string", key);
	cr_assert_eq(strncmp(json_string_value(v), "0x", 2), 0);
	return strtoull(json_string_value(v), NULL, 16);
}

Test(cat, events_jsonl_round_trip)
{
	struct run r = RUN("--format", "jsonl", "--stacks", capture);
	char *save = NULL;
	int i = 0;

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		const struct mpa_event *e = &evs[i];

		cr_assert_lt(i, NEV);
		cr_assert_not_null(o, "line %d: %s: %s", i, je.text, line);
		cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "ts")), e->ts);
		cr_assert_str_eq(json_string_value(json_object_get(o, "kind")), mpa_kind_name(e->kind));
		cr_assert_eq(json_integer_value(json_object_get(o, "tid")), e->tid);
		if (mpt_kind_columns(e->kind) & MPT_COLBIT(MPT_COL_PTR))
			cr_assert_eq(json_hex(o, "ptr"), e->ptr, "%s", line);
		else
			cr_assert_null(json_object_get(o, "ptr"), "%s", line);
		if (e->kind == MPA_KIND_REALLOC)
			cr_assert_eq(json_hex(o, "new_ptr"), e->new_ptr);
		if (e->kind == MPA_KIND_KALLOC) {
			cr_assert_eq(json_hex(o, "ip"), e->ip);
			cr_assert_eq(json_integer_value(json_object_get(o, "node")), -1);
			cr_assert_str_eq(json_string_value(json_object_get(o, "domain")), "kernel");
		}
		if (e->kind == MPA_KIND_PROC_EXEC)
			cr_assert_str_eq(json_string_value(json_object_get(o, "str")), exec_path);
		if (e->kind == MPA_KIND_LOST) {
			cr_assert_eq(json_integer_value(json_object_get(o, "size")), (json_int_t)e->size);
			cr_assert_str_eq(json_string_value(json_object_get(o, "str")), "ch_0");
		}
		if (e->stack_id) {
			json_t *s = json_object_get(o, "stack");
			size_t want = e->stack_id == stack_ids[0] ? 2 : e->stack_id == stack_ids[1] ? 1 : 3;

			cr_assert(json_is_array(s), "%s", line);
			cr_assert_eq(json_array_size(s), want, "%s", line);
			json_t *last = json_array_get(s, want - 1);
			cr_assert_str_eq(json_string_value(json_object_get(last, "func")), "main");
			cr_assert_eq(json_integer_value(json_object_get(last, "line")), 42);
			cr_assert_eq(json_hex(last, "ip"), 0x401234);
		}
		json_decref(o);
	}
	cr_assert_eq(i, NEV);
	run_free(&r);
}

Test(cat, events_time_filter_edges)
{
	char from[32], to[32];
	int n = 0;

	snprintf(from, sizeof(from), "@%" PRIu64, evs[500].ts);
	snprintf(to, sizeof(to), "@%" PRIu64, evs[501].ts);
	struct run r = RUN("-f", "jsonl", "--from", from, "--to", to, capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 1, "%s", r.out);
	run_free(&r);

	/* an empty interval and one past the end */
	r = RUN("--events", "--from", to, "--to", from, capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
	r = RUN("--events", "--to", "@0", capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
	r = RUN("--events", "--to", "0s", capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
	snprintf(from, sizeof(from), "@%" PRIu64, evs[NEV - 1].ts + 1);
	r = RUN("--events", "--from", from, capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
	snprintf(from, sizeof(from), "%" PRIu64 "ns", evs[NEV - 1].ts - evs[0].ts);
	r = RUN("--events", "--from", from, capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(count_lines(r.out), 1, "%s", r.out);
	run_free(&r);
	/* relative 0 is the first record, a timestamp without @ is a duration */
	r = RUN("--events", "--from", "0", capture);
	cr_assert_eq(count_lines(r.out), NEV);
	run_free(&r);
	snprintf(from, sizeof(from), "%" PRIu64, evs[0].ts);
	r = RUN("--events", "--from", from, capture);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.out_len, 0, "%s s after the start is past the end", from);
	run_free(&r);
	/* a duration the clock cannot reach from the first record */
	r = RUN("--events", "--from", "18446744073s", capture);
	cr_assert_eq(r.status, 2, "stderr: %s", r.err);
	cr_assert_str_eq(r.err, "mpa-cat: --from: time '18446744073s' is beyond the clock's range\n"
				"Try 'mpa-cat --help' for more information.\n");
	run_free(&r);

	/* kinds by number */
	r = RUN("--events", "--kind", "19", capture);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	n = count_lines(r.out);
	cr_assert_eq(n, 2, "%s", r.out);
	run_free(&r);
}

/* ---- verify and bad input ----------------------------------------------- */

static void copy_file(const char *from, const char *to, long truncate_at, long flip_at)
{
	size_t len;
	char *buf = slurp(from, &len);
	FILE *f = fopen(to, "wb");

	cr_assert_not_null(f);
	if (flip_at >= 0 && (size_t)flip_at < len)
		buf[flip_at] ^= 0x10;
	if (truncate_at >= 0 && (size_t)truncate_at < len)
		len = (size_t)truncate_at;
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static long file_size(const char *p)
{
	struct stat sb;

	cr_assert_eq(stat(p, &sb), 0);
	return (long)sb.st_size;
}

Test(cat, verify_good)
{
	struct run r = RUN("--verify", capture);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "OK"), "%s", r.out);
	cr_assert_str_empty(r.err);
	run_free(&r);
}

/* A flipped bit inside the chunk data is found by --verify (and named). */
Test(cat, verify_flipped_bits)
{
	char bad[PATH_MAX + 32];
	long size = file_size(capture);
	int caught = 0, tried = 0;

	snprintf(bad, sizeof(bad), "%s/bad.mpt", tmpdir);
	/* every 97th byte: headers, column data, tables, footer, trailer */
	for (long at = 0; at < size; at += 97) {
		copy_file(capture, bad, -1, at);
		struct run r = RUN("--verify", bad);

		tried++;
		cr_assert_neq(r.status, 0, "flip at %ld of %ld not detected: %s", at, size, r.out);
		assert_one_error_line(&r, bad);
		caught++;
		run_free(&r);
	}
	cr_assert_eq(caught, tried);
	/* and the last byte */
	copy_file(capture, bad, -1, size - 1);
	struct run r = RUN("--verify", bad);
	assert_one_error_line(&r, bad);
	run_free(&r);
}

/* ~450 runs of mpa-cat: minutes under ASan on a loaded machine (a hang
 * would still be caught) */
Test(cat, truncated_anywhere, .timeout = 240)
{
	char bad[PATH_MAX + 32];
	long size = file_size(capture);
	const char *modes[][3] = { { "--verify", NULL }, { NULL }, { "--events", NULL },
				   { "--table=all", NULL } };
	unsigned cut = 0;

	snprintf(bad, sizeof(bad), "%s/trunc.mpt", tmpdir);
	for (long at = 0; at < size; at += (at < 64 ? 1 : 131), cut++) {
		copy_file(capture, bad, at, -1);
		/* --table goes through the same open as the summary: every 8th
		 * cut is enough (and keeps the test in its time under ASan) */
		for (unsigned m = 0; m < (cut % 8 ? 3u : 4u); m++) {
			struct run r = modes[m][0] ? RUN(modes[m][0], bad) : RUN(bad);

			assert_one_error_line(&r, bad);
			run_free(&r);
		}
	}
}

Test(cat, missing_and_not_mpt)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/nope.mpt", tmpdir);
	struct run r = RUN(p);
	assert_one_error_line(&r, p);
	run_free(&r);

	snprintf(p, sizeof(p), "%s/text.mpt", tmpdir);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a capture\n", f);
	fclose(f);
	r = RUN("--events", p);
	assert_one_error_line(&r, p);
	run_free(&r);

	r = RUN(tmpdir); /* a directory */
	assert_one_error_line(&r, tmpdir);
	run_free(&r);
}

/* ---- usage -------------------------------------------------------------- */

Test(cat, usage_errors_exit_2)
{
	const char *const cases[][5] = {
		{ "--bogus", "x.mpt", NULL },
		{ "--format", "xml", "x.mpt", NULL },
		{ "--kind", "nosuchkind", "x.mpt", NULL },
		{ "--from", "abc", "x.mpt", NULL },
		{ "--to", "-5", "x.mpt", NULL },
		{ "--from", "1h", "x.mpt", NULL },
		{ "--from", "1e3", "x.mpt", NULL },
		{ "--to", "@", "x.mpt", NULL },
		{ "--to", "99999999999999999999", "x.mpt", NULL },
		{ "--pid", "0", "x.mpt", NULL },
		{ "--pid", "x", "x.mpt", NULL },
		{ "--pid", "99999999999", "x.mpt", NULL },
		{ "--table", "nosuch", "x.mpt", NULL },
		{ "--table", "strings", "--events", "x.mpt" },
		{ "-t", "all", "--verify", "x.mpt" },
		{ "-t", ",", "x.mpt", NULL },
		{ "--columns", "nocol", "x.mpt", NULL },
		{ "--verify", "--events", "x.mpt", NULL },
		{ "a.mpt", "b.mpt", NULL },
		{ "--format", NULL },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = run_cat(cases[i]);

		cr_assert_eq(r.status, 2, "case %u (%s): status %d", i, cases[i][0], r.status);
		cr_assert_eq(strncmp(r.err, "mpa-cat: ", 9), 0, "case %u: %s", i, r.err);
		run_free(&r);
	}
	struct run r = run_cat((const char *const[]){ NULL });
	cr_assert_eq(r.status, 2);
	run_free(&r);

	r = RUN("--help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "usage: mpa-cat"));
	run_free(&r);

	/* the time syntax's one error line, as every mpa command prints it */
	r = RUN("--from", "1h", "x.mpt");
	cr_assert_eq(strncmp(r.err, "mpa-cat: --from: bad time '1h' (expected seconds like 1.5, "
				    "1.5s, 200ms, 30us, 100ns, or @NS)\n",
			     strlen("mpa-cat: --from: bad time '1h' (expected seconds like 1.5, "
				    "1.5s, 200ms, 30us, 100ns, or @NS)\n")),
		     0, "%s", r.err);
	run_free(&r);
}

/* ---- a reader that goes away -------------------------------------------- */

Test(cat, closed_pipe_is_quiet)
{
	int out[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char errp[PATH_MAX + 16], buf[256];
	int st;

	/* enough output to overflow the pipe and stdio buffers many times: the
	 * same records 40 times over, ts shifted */
	{
		struct mpt_error err = { 0 };
		mpt_writer *w = NULL;

		snprintf(capture, sizeof(capture), "%s/big2.mpt", tmpdir);
		check(mpt_writer_open(capture, NULL, &w, &err), &err);
		for (int k = 0; k < 40; k++)
			for (int i = 0; i < NEV; i++) {
				struct mpa_event e = evs[i];

				e.ts += (uint64_t)k * 1000000;
				e.stack_id = 0;
				check(mpt_writer_append(w, &e, &err), &err);
			}
		check(mpt_writer_close(w, &err), &err);
	}
	const char *argv[] = { "mpa-cat", "--events", capture, NULL };

	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	cr_assert_eq(pipe(out), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, cat_bin(), &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	cr_assert_gt(read(out[0], buf, sizeof(buf)), 0);
	close(out[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 0);
	char *e = slurp(errp, NULL);
	cr_assert_str_empty(e, "stderr: %s", e);
	free(e);
}

/* ---- hostile files: the fuzz corpus -------------------------------------- */

/* Every committed fuzz input (damaged behind valid checksums, cut, lying
 * lengths), in every mode: status 0 and nothing on stderr, or status 1 and
 * one error line.  Never a crash or a sanitizer report. */
Test(cat, fuzz_corpus_files)
{
	char dir[PATH_MAX];
	const char *src = getenv("MPA_SRC");
	DIR *d;
	struct dirent *de;
	int files = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", src ? src : ".");
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		const char *const modes[][4] = {
			{ NULL }, { "--events", NULL }, { "-f", "jsonl", "-s", NULL }, { "--verify", NULL },
			{ "-t", "all", NULL }, { "-p", "1", "--from", "0.5ms" },
		};

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		files++;
		for (unsigned m = 0; m < 6; m++) {
			const char *args[6] = { 0 };
			unsigned k = 0;

			while (k < 4 && modes[m][k])
				args[k] = modes[m][k], k++;
			args[k] = path;
			struct run r = run_cat(args);

			if (r.status == 0)
				cr_assert_str_empty(r.err, "%s: %s", path, r.err);
			else
				assert_one_error_line(&r, path);
			run_free(&r);
		}
	}
	closedir(d);
	cr_assert_gt(files, 0);
}
