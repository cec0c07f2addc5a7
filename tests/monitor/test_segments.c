/* A capture read as it is written: segments whose tables grow (the live
 * path of monitor/session.c over analyzers/core's mpa_pass_tables_grew).
 * The same rows cut into segments give the same numbers as the whole
 * capture, a site that first appears in a later segment is named, a tracer
 * stack that first appears later is classified, and mpa-monitor follows a
 * directory still being written. */
#include <criterion/criterion.h>
#include <signal.h>
#include <time.h>

#include "mon_test_util.h"

#define MS UINT64_C(1000000)
#define T0 AU_SEC

struct tabs {
	uint32_t grow, tmp, late, tracer;
};

/* The tables as the converter interns them: level 1 = what segment 1
 * knows, level 2 adds a site and a tracer stack (ids continue). */
static void tables(struct au_cap *c, int level, struct tabs *t)
{
	au_next_ip = 0x401000;
	t->grow = au_site(c, "grow", 10);
	t->tmp = au_site(c, "tmp", 20);
	if (level < 2)
		return;
	t->late = au_site(c, "late", 30);
	uint32_t m = au_frame(c, "malloc", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t u = au_frame(c, "lttng_ust_init", "/usr/lib/x86_64-linux-gnu/liblttng-ust.so.1",
			      NULL, 0);
	t->tracer = au_stack(c, 2, m, u);
}

static void open_at(struct au_cap *c, const char *path)
{
	memset(c->path, 0, sizeof c->path);
	snprintf(c->path, sizeof c->path, "%s", path);
	struct mpt_error e = {0};
	struct mpt_writer_opts o = {0};
	o.chunk_rows = 3;
	cr_assert_eq(mpt_writer_open(c->path, &o, &c->w, &e), MPT_OK, "%s", e.msg);
}

/* rows of segment 1: grow keeps 100, tmp allocates and frees 1000 */
static void rows1(struct au_cap *c, const struct tabs *t)
{
	au_alloc(c, T0, 100, 0x1000, 100, t->grow);
	au_alloc(c, T0 + MS / 2, 100, 0x2000, 1000, t->tmp);
	au_free(c, T0 + MS / 2 + MS / 10, 100, 0x2000);
}

/* rows of segment 2: late keeps 700 (its stack is new), the tracer's own
 * 5000 bytes are not the program's, grow frees its block, then the exit */
static void rows2(struct au_cap *c, const struct tabs *t)
{
	au_alloc(c, T0 + MS + MS / 2, 100, 0x3000, 700, t->late);
	au_alloc(c, T0 + MS + MS / 2 + 1000, 100, 0x5000, 5000, t->tracer);
	au_free(c, T0 + 2 * MS + MS / 2, 100, 0x1000);
	au_exit(c, T0 + 3 * MS + MS / 2, 100);
}

/* Writes segment k of dir (tables of that level, rows of set rows) aside
 * and renames it in, as the converter does. */
static void write_seg(const char *dir, int k, int level, int rows)
{
	char tmp[512], path[512];
	snprintf(tmp, sizeof tmp, "%s/.seg-%06d.mpt.tmp", dir, k);
	snprintf(path, sizeof path, "%s/seg-%06d.mpt", dir, k);
	struct au_cap c;
	struct tabs t;
	open_at(&c, tmp);
	tables(&c, level, &t);
	if (rows == 1)
		rows1(&c, &t);
	else
		rows2(&c, &t);
	au_close(&c);
	cr_assert_eq(rename(tmp, path), 0);
}

static void segment(const char *dir, int k)
{
	write_seg(dir, k, k, k);
}

static void whole(const char *path)
{
	struct au_cap c;
	struct tabs t;
	open_at(&c, path);
	tables(&c, 2, &t);
	rows1(&c, &t);
	rows2(&c, &t);
	au_close(&c);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fclose(f);
}

static json_t *line_json(const char *s, int k)
{
	for (int i = 0; i < k && s; i++) {
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	cr_assert(s && *s, "no line %d", k);
	const char *e = strchr(s, '\n');
	json_error_t je;
	json_t *j = json_loadb(s, e ? (size_t)(e - s) : strlen(s), 0, &je);
	cr_assert(j, "line %d is not JSON: %s", k, je.text);
	return j;
}

static long long geti(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	cr_assert(json_is_integer(v), "%s is not an integer", k);
	return json_integer_value(v);
}

static const char *const jargs[] = {"--interval", "1ms", "--format", "json", "--speed", "0",
				    "--no-config"};

Test(segments, same_numbers_as_the_whole_capture_and_new_ids_named)
{
	char dir[256], sdir[300], wpath[300];
	au_mkdtemp(dir, sizeof dir);
	snprintf(sdir, sizeof sdir, "%s/segs", dir);
	snprintf(wpath, sizeof wpath, "%s/whole.mpt", dir);
	cr_assert_eq(mkdir(sdir, 0755), 0);
	segment(sdir, 1);
	segment(sdir, 2);
	touch(sdir, "done");
	whole(wpath);

	struct mon_proc ps = {0}, pw = {0};
	mon_cli(&ps, "mpa-monitor",
		(const char *const[]){"--segments", sdir, jargs[0], jargs[1], jargs[2], jargs[3],
				      jargs[6], NULL});
	cr_assert_eq(ps.status, 0, "%s", ps.err);
	mon_cli(&pw, "mpa-monitor",
		(const char *const[]){wpath, jargs[0], jargs[1], jargs[2], jargs[3], jargs[4],
				      jargs[5], jargs[6], NULL});
	cr_assert_eq(pw.status, 0, "%s", pw.err);
	cr_expect_str_eq(ps.out, pw.out);

	/* the interval of segment 2's rows: late's 700 bytes are live, the
	 * tracer's 5000 are not the program's */
	json_t *j = line_json(ps.out, 1);
	cr_expect_eq(geti(j, "t_ns"), 2000000);
	cr_expect_eq(geti(j, "live_bytes"), 800);
	cr_expect_eq(geti(j, "allocs"), 2);
	json_t *g = json_object_get(j, "top_growing_site");
	cr_expect_str_eq(json_string_value(json_object_get(g, "site")), "late (prog.c:30)");
	cr_expect_eq(geti(g, "growth_bytes"), 700);
	json_decref(j);
	j = line_json(ps.out, 2);
	cr_expect_eq(geti(j, "live_bytes"), 700);
	json_decref(j);
	mon_proc_release(&ps);
	mon_proc_release(&pw);
	au_rmrf(dir);
}

/* A segment whose tables are smaller than the previous one's is not a
 * continuation: one line, non-zero exit. */
Test(segments, tables_that_shrink_are_refused)
{
	char dir[256];
	au_mkdtemp(dir, sizeof dir);
	write_seg(dir, 1, 2, 1);
	write_seg(dir, 2, 1, 1);
	touch(dir, "done");
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){"--segments", dir, "--format", "json", "--no-config", NULL});
	cr_expect_eq(p.status, 1, "%s", p.out);
	cr_expect(strstr(p.err, "not a continuation of the capture"), "%s", p.err);
	mon_proc_release(&p);
	au_rmrf(dir);
}

/* mpa-monitor follows a directory still being written: it prints the
 * first segment's intervals, waits, and ends only after done. */
Test(segments, follows_a_directory_being_written)
{
	char dir[256], outf[300];
	au_mkdtemp(dir, sizeof dir);
	snprintf(outf, sizeof outf, "%s/out", dir);
	char sdir[300];
	snprintf(sdir, sizeof sdir, "%s/segs", dir);
	cr_assert_eq(mkdir(sdir, 0755), 0);
	char bin[1024];
	snprintf(bin, sizeof bin, "%s/bin/mpa-monitor", mon_build());
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0)
			_exit(125);
		dup2(fo, 1);
		execl(bin, "mpa-monitor", "--segments", sdir, "--interval", "1ms", "--format",
		      "json", "--no-config", (char *)NULL);
		_exit(127);
	}
	/* it waits for the first segment, then for the second */
	segment(sdir, 1);
	size_t len = 0;
	char *out = NULL;
	/* a while later it is still waiting (no done yet), and has not
	 * printed segment 2's interval */
	for (int round = 0; round < 10; round++) {
		int st;
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "mpa-monitor ended before done");
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	out = au_slurp(outf, &len);
	cr_expect(!out || !strstr(out, "\"t_ns\":2000000"), "%s", out);
	free(out);
	segment(sdir, 2);
	touch(sdir, "done");
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	out = au_slurp(outf, &len);
	cr_assert(out);
	json_t *j = line_json(out, 1);
	cr_expect_eq(geti(j, "live_bytes"), 800);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "top_growing_site"),
							     "site")),
			 "late (prog.c:30)");
	json_decref(j);
	free(out);
	au_rmrf(dir);
}
