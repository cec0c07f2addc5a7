/* tests/tracepoints: a recording holds its own process tree and nothing
 * else, leaves nothing behind after kill -9, and fails cleanly when its
 * resources do (issue 13; doc/recording.md "Isolation and clean-up").
 *
 * These tests run beside other recordings on purpose: two mpa-record at
 * once, and programs with the preload or the stock wrapper that nobody
 * records.  Their timeouts are generous (minutes) because the host may be
 * loaded; nothing here measures time.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tp_test_util.h"

static char *bin(const char *name)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *b = buf[k++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tp_build_dir(), name);
	return b;
}

/* Starts argv in the background, stdout+stderr into `log`, env entries
 * (NAME=VALUE) added; its pid. */
static pid_t spawn(char *const argv[], char *const env[], const char *log)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		if (fd < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		unsetenv("LD_PRELOAD");
		unsetenv("ASAN_OPTIONS"); /* see tp_run: no LeakSanitizer in the pipeline */
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		cr_assert(errno == EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Output of a shell command (caller frees). */
static char *sh_out(const char *tmp, const char *cmd)
{
	char out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };

	snprintf(out, sizeof out, "%s/sh.out", tmp);
	snprintf(err, sizeof err, "%s/sh.err", tmp);
	tp_run(argv, NULL, out, err);
	return tp_slurp(out);
}

/* Allocation sizes of a capture, counted per size, and its processes. */
struct census {
	long by_size[8];     /* allocations of sizes[i] */
	long foreign;        /* allocations of any size in `forbidden` */
	int pids[64];
	int npids;
};

static void census(const char *tmp, const char *mpt, const size_t sizes[8],
	const size_t *forbidden, size_t nforbidden, struct census *c)
{
	char cmd[PATH_MAX * 3];
	char *txt, *line, *save = NULL;

	memset(c, 0, sizeof *c);
	snprintf(cmd, sizeof cmd, "'%s' -f csv -k alloc -c pid,size '%s'",
		bin("bin/mpa-cat"), mpt);
	txt = sh_out(tmp, cmd);
	for (line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid, seen = 0;
		unsigned long long size;

		if (sscanf(line, "%d,%llu", &pid, &size) != 2)
			continue; /* the header */
		for (int i = 0; i < 8; i++)
			if (sizes[i] && size == sizes[i])
				c->by_size[i]++;
		for (size_t i = 0; i < nforbidden; i++)
			if (size == forbidden[i])
				c->foreign++;
		for (int i = 0; i < c->npids; i++)
			seen |= c->pids[i] == pid;
		if (!seen && c->npids < 64)
			c->pids[c->npids++] = pid;
	}
	free(txt);
}

/* Two mpa-record at once, of different programs (each a tree: fork, then
 * exec in the child), beside a program running with the mpa preload and
 * one with the stock libc wrapper that nobody records: each capture holds
 * exactly its own program's allocations, from its own two processes. */
Test(record_isolation, two_recordings_beside_foreign_preloads, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-XXXXXX";
	char log[4][PATH_MAX], mpt[2][PATH_MAX], pre[PATH_MAX + 32];
	char *busy = bin("tests/workloads/wl-busy");
	char *pre_env[] = { pre, NULL };
	char *stock_env[] = { "LD_PRELOAD=liblttng-ust-libc-wrapper.so", NULL };
	/* they run until killed below (300 s at most if the test dies) */
	char *foreign1[] = { busy, "3331", "300", "loop", NULL };
	char *foreign2[] = { busy, "3332", "300", "loop", NULL };
	pid_t f1, f2, r[2];
	const size_t all[] = { 1110, 1111, 1112, 2220, 2221, 2222, 3331, 3332, 3333 };

	cr_assert(mkdtemp(tmp) != NULL);
	for (int i = 0; i < 4; i++)
		snprintf(log[i], sizeof log[i], "%s/log%d", tmp, i);
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s", bin("lib/libmpa-preload.so"));
	f1 = spawn(foreign1, pre_env, log[2]);
	f2 = spawn(foreign2, stock_env, log[3]);
	for (int i = 0; i < 2; i++) {
		char size[16];
		char *argv[] = { bin("bin/mpa-record"), "-q", "--lossless", "-o", mpt[i], "--",
			busy, size, "3000", "tree", NULL };

		snprintf(mpt[i], sizeof mpt[i], "%s/rec%d.mpt", tmp, i);
		snprintf(size, sizeof size, "%d", i ? 2220 : 1110);
		r[i] = spawn(argv, NULL, log[i]);
	}
	for (int i = 0; i < 2; i++) {
		int st = wait_status(r[i]);
		char *txt = tp_slurp(log[i]);

		/* expect, not assert: the unrecorded programs must be ended below */
		cr_expect_eq(st, 0, "recording %d: status %d:\n%s", i, st, txt);
		free(txt);
	}
	kill(f1, SIGKILL);
	kill(f2, SIGKILL);
	wait_status(f1);
	wait_status(f2);

	for (int i = 0; i < 2; i++) {
		size_t own = i ? 2220 : 1110;
		size_t sizes[8] = { own, own + 1, own + 2 };
		size_t forbidden[6];
		size_t nf = 0;
		struct census c;
		char cmd[PATH_MAX * 3], *meta;

		for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
			if (all[k] < own || all[k] > own + 2)
				forbidden[nf++] = all[k];
		census(tmp, mpt[i], sizes, forbidden, nf, &c);
		cr_expect_eq(c.by_size[0], 3000, "capture %d: %ld allocations of %zu in the parent",
			i, c.by_size[0], own);
		cr_expect_eq(c.by_size[1], 3000, "capture %d: %ld of %zu in the forked child",
			i, c.by_size[1], own + 1);
		cr_expect_eq(c.by_size[2], 3000, "capture %d: %ld of %zu after the exec",
			i, c.by_size[2], own + 2);
		cr_expect_eq(c.foreign, 0, "capture %d holds %ld allocations of other programs",
			i, c.foreign);
		cr_expect_eq(c.npids, 2, "capture %d: %d processes (parent and child expected)",
			i, c.npids);
		snprintf(cmd, sizeof cmd, "'%s' '%s'", bin("bin/mpa-cat"), mpt[i]);
		meta = sh_out(tmp, cmd);
		cr_expect(strstr(meta, "\"record.isolation\" = \"uts-namespace\"") != NULL,
			"capture %d does not say it is isolated:\n%s", i, meta);
		free(meta);
	}
	tp_rmrf(tmp);
}

/* Is a session whose name starts with `prefix` listed? */
static int session_listed(const char *tmp, const char *prefix)
{
	char *txt = sh_out(tmp, "lttng list");
	int found = strstr(txt, prefix) != NULL;

	free(txt);
	return found;
}

static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	cr_assert(d != NULL);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static pid_t read_pid(const char *path)
{
	char *txt;
	pid_t pid;

	/* the workload starts under a loaded tracer: minutes, not seconds */
	for (int i = 0; i < 3000 && access(path, R_OK) != 0; i++)
		sleep_ms(100);
	txt = tp_slurp(path);
	pid = (pid_t)atoi(txt);
	free(txt);
	cr_assert_gt(pid, 0, "no pid in '%s'", path);
	return pid;
}

/* A /proc file (whose size reads as 0: tp_slurp cannot) into buf. */
static const char *proc_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Has pid ended (gone, or a zombie waiting for whoever adopted it)? */
static int gone(pid_t pid)
{
	for (int i = 0; i < 600; i++) {
		char path[64], st[1024], *p;
		int z;

		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		proc_read(path, st, sizeof st);
		p = strrchr(st, ')');
		z = st[0] == '\0' || (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
		if (z)
			return 1;
		sleep_ms(100);
	}
	return 0;
}

/* The pid of mpa-record's guardian: a child of rec named mpa-record. */
static pid_t guardian_of(pid_t rec, pid_t not_this)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;

	cr_assert(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char path[64], buf[512], *p;
		FILE *f;
		int ppid;
		long pid = atol(de->d_name);

		if (pid <= 0 || pid == not_this)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		buf[0] = '\0';
		if (fgets(buf, sizeof buf, f) == NULL)
			buf[0] = '\0';
		fclose(f);
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == rec &&
				strstr(buf, "(mpa-record)"))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/* kill -9 of mpa-record: the traced tree dies, the session is destroyed
 * and the temporary trace removed (by the guardian), no capture appears.
 * Then the guardian killed too: `mpa-record --cleanup` removes what is
 * left, and leaves alone the sessions of live recorders and sessions that
 * are not mpa-record's. */
Test(record_isolation, kill9_leaves_nothing_running_or_recording, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-k9-XXXXXX";
	char traces[PATH_MAX], pidfile[PATH_MAX], cpidfile[PATH_MAX], mpt[PATH_MAX];
	char log[PATH_MAX], tmpenv[PATH_MAX + 8], prefix[64], cmd[PATH_MAX * 3];
	char *env[] = { tmpenv, NULL };
	char *busy = bin("tests/workloads/wl-busy");

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(traces, sizeof traces, "%s/traces", tmp);
	cr_assert_eq(mkdir(traces, 0755), 0);
	snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", traces);
	snprintf(mpt, sizeof mpt, "%s/out.mpt", tmp);
	snprintf(log, sizeof log, "%s/log", tmp);

	for (int round = 0; round < 2; round++) {
		pid_t rec, prog, child, guard;
		/* 300 s: killed long before, unless the test itself dies */
		char *argv[] = { bin("bin/mpa-record"), "-q", "-o", mpt, "--", busy, "4440",
			"300", "loop", pidfile, NULL };

		snprintf(pidfile, sizeof pidfile, "%s/pid%d", tmp, round);
		snprintf(cpidfile, sizeof cpidfile, "%s/pid%d.child", tmp, round);
		rec = spawn(argv, env, log);
		prog = read_pid(pidfile);
		child = read_pid(cpidfile);
		snprintf(prefix, sizeof prefix, "mpa-record-%d-", (int)rec);
		cr_assert(session_listed(tmp, prefix), "no session '%s*'", prefix);
		cr_assert_eq(count_entries(traces, "mpa-trace-"), 1);
		guard = guardian_of(rec, prog);
		cr_assert_gt(guard, 0, "no guardian of mpa-record %d", (int)rec);
		if (round == 1)
			kill(guard, SIGKILL); /* and nobody finishes the job */
		kill(rec, SIGKILL);
		cr_assert_eq(wait_status(rec), 128 + SIGKILL);
		/* PROG dies with mpa-record (PR_SET_PDEATHSIG) */
		cr_assert(gone(prog), "the traced program %d lives on", (int)prog);
		if (round == 0) {
			/* the guardian kills the rest of the tree, destroys the
			 * session, removes the trace */
			cr_assert(gone(child), "the traced program's child %d lives on",
				(int)child);
			for (int i = 0; i < 600 && session_listed(tmp, prefix); i++)
				sleep_ms(100);
			cr_assert_not(session_listed(tmp, prefix), "session '%s*' left", prefix);
			for (int i = 0; i < 600 && count_entries(traces, "mpa-trace-"); i++)
				sleep_ms(100);
			cr_assert_eq(count_entries(traces, "mpa-trace-"), 0, "trace left");
		} else {
			char live[128], other[128];
			unsigned long long start = 0;
			char *txt;

			/* without the guardian, the forked child outlives its
			 * parent (only PROG has the death signal): the test ends it */
			kill(child, SIGKILL);
			cr_assert(session_listed(tmp, prefix));
			/* a session named for a live recorder (this test) and one
			 * that is not mpa-record's must stay */
			snprintf(cmd, sizeof cmd, "/proc/%d/stat", (int)getpid());
			{
				char st[1024], *p = strrchr(proc_read(cmd, st, sizeof st), ')');

				if (p)
					p++; /* the space before field 3 */
				for (int f = 3; p && f < 22; f++)
					p = strchr(p + 1, ' ');
				cr_assert(p != NULL);
				start = strtoull(p, NULL, 10);
			}
			snprintf(live, sizeof live, "mpa-record-%d-%llu-0", (int)getpid(), start);
			snprintf(other, sizeof other, "mpa-iso-other-%d", (int)getpid());
			snprintf(cmd, sizeof cmd, "lttng create %s --output=%s/live >/dev/null && "
				"lttng create %s --output=%s/other >/dev/null && echo ok", live, tmp,
				other, tmp);
			txt = sh_out(tmp, cmd);
			cr_assert_str_eq(txt, "ok\n");
			free(txt);
			/* any mpa-record starting meanwhile on this host (other
			 * tests, other users) cleans a dead recorder's session up
			 * too, before our explicit --cleanup: then the session is
			 * gone already and --cleanup has nothing to say of it */
			int left = session_listed(tmp, prefix);
			snprintf(cmd, sizeof cmd, "TMPDIR='%s' '%s' --cleanup 2>&1",
				traces, bin("bin/mpa-record"));
			txt = sh_out(tmp, cmd);
			cr_assert(strstr(txt, prefix) != NULL || !left,
				"--cleanup says nothing of '%s':\n%s", prefix, txt);
			cr_expect(strstr(txt, live) == NULL, "--cleanup removed '%s':\n%s", live, txt);
			cr_expect_not(session_listed(tmp, prefix), "session '%s*' left", prefix);
			cr_expect_eq(count_entries(traces, "mpa-trace-"), 0, "trace left");
			cr_expect(session_listed(tmp, live), "a live recorder's session was destroyed");
			cr_expect(session_listed(tmp, other), "a foreign session was destroyed");
			free(txt);
			snprintf(cmd, sizeof cmd, "lttng destroy %s >/dev/null; lttng destroy %s "
				">/dev/null", live, other);
			free(sh_out(tmp, cmd));
		}
		cr_assert_neq(access(mpt, F_OK), 0, "a capture appeared after kill -9");
	}
	tp_rmrf(tmp);
}

/* A trace folder on a small file system that fills up: one clear error,
 * exit 4, no capture and no temporary capture, the session destroyed, the
 * partial trace removed.  Then the capture's own folder full: the
 * conversion fails, no file under the final name. */
Test(record_isolation, full_file_system, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-full-XXXXXX";
	char small[256], mpt[PATH_MAX], out[PATH_MAX], err[PATH_MAX], tmpenv[PATH_MAX + 8];
	char *busy = bin("tests/workloads/wl-busy");
	char *txt, *nl, prefix[64];
	int st, errors = 0;

	if (geteuid() != 0)
		cr_skip_test("needs root to mount a small tmpfs");
	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(small, sizeof small, "%s/small", tmp);
	cr_assert_eq(mkdir(small, 0755), 0);
	if (mount("tmpfs", small, "tmpfs", 0, "size=3m") != 0) {
		tp_rmrf(tmp);
		cr_skip_test("cannot mount a tmpfs here: %s", strerror(errno));
	}
	snprintf(mpt, sizeof mpt, "%s/out.mpt", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", small);
	{
		/* 400k pairs with 16-frame stacks: far more than 3 MiB of trace */
		char *argv[] = { bin("bin/mpa-record"), "-q", "--lossless", "-o", mpt, "--",
			busy, "5550", "400000", "leaf", NULL };
		char *env[] = { tmpenv, NULL };
		pid_t rec = spawn(argv, env, err);

		st = wait_status(rec);
		snprintf(prefix, sizeof prefix, "mpa-record-%d-", (int)rec);
	}
	txt = tp_slurp(err);
	for (char *p = txt; (nl = strchr(p, '\n')); p = nl + 1)
		errors += strncmp(p, "mpa-record:", 11) == 0;
	cr_expect_eq(st, 4, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "no space left") != NULL, "%s", txt);
	cr_expect_eq(errors, 1, "one error line expected:\n%s", txt);
	free(txt);
	cr_expect_neq(access(mpt, F_OK), 0, "a capture under the final name");
	cr_expect_eq(count_entries(tmp, "out.mpt"), 0, "a temporary capture is left");
	cr_expect_eq(count_entries(small, "mpa-trace-"), 0, "the partial trace is left");
	cr_expect_not(session_listed(tmp, prefix), "session '%s*' is left", prefix);

	/* the capture's folder is the full one now: fill it to the brim */
	snprintf(mpt, sizeof mpt, "%s/out.mpt", small);
	{
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof cmd, "dd if=/dev/zero of='%s/fill' bs=64k 2>/dev/null; "
			"echo done", small);
		free(sh_out(tmp, cmd));
	}
	{
		char *argv[] = { bin("bin/mpa-record"), "-q", "-o", mpt, "--", busy, "5551",
			"20000", "leaf", NULL };

		st = tp_run(argv, NULL, out, err);
	}
	txt = tp_slurp(err);
	cr_expect_eq(st, 2, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "conversion to") != NULL, "%s", txt);
	free(txt);
	cr_expect_eq(count_entries(small, "out.mpt"), 0, "a (temporary) capture is left");
	umount(small);
	tp_rmrf(tmp);
}

/* The trace folder removed while the program runs: one error, exit 4. */
Test(record_isolation, trace_folder_removed, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-gone-XXXXXX";
	char trace[PATH_MAX], pidfile[PATH_MAX], log[PATH_MAX];
	char *busy = bin("tests/workloads/wl-busy");
	char *txt;
	pid_t rec;
	int st;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(trace, sizeof trace, "%s/trace", tmp);
	snprintf(pidfile, sizeof pidfile, "%s/pid", tmp);
	snprintf(log, sizeof log, "%s/log", tmp);
	{
		char *argv[] = { bin("bin/mpa-record"), "-q", "--keep-trace", trace, "--", busy,
			"6660", "8", "loop", pidfile, NULL };

		rec = spawn(argv, NULL, log);
	}
	read_pid(pidfile);
	tp_rmrf(trace);
	st = wait_status(rec);
	txt = tp_slurp(log);
	cr_expect_eq(st, 4, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "the trace folder was removed") != NULL, "%s", txt);
	free(txt);
	cr_expect_neq(access(trace, F_OK), 0);
	tp_rmrf(tmp);
}

/* No session daemon and none can be started: one line, exit 2, PROG never
 * runs.  (The host's daemon is shared: fake lttng tools stand in.) */
Test(record_isolation, no_session_daemon, .timeout = 300)
{
	char tmp[] = "/tmp/mpa-iso-nod-XXXXXX";
	char path[PATH_MAX + 16], out[PATH_MAX], err[PATH_MAX], marker[PATH_MAX], cmd[PATH_MAX * 2];
	char *txt;
	int st;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(cmd, sizeof cmd, "printf '#!/bin/sh\\necho \"Error: No session daemon is "
		"available\" >&2\\nexit 1\\n' > %s/lttng && cp %s/lttng %s/lttng-sessiond && "
		"chmod +x %s/lttng %s/lttng-sessiond && echo ok", tmp, tmp, tmp, tmp, tmp);
	txt = sh_out(tmp, cmd);
	cr_assert_str_eq(txt, "ok\n");
	free(txt);
	snprintf(path, sizeof path, "PATH=%s:/usr/bin:/bin", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	snprintf(marker, sizeof marker, "%s/ran", tmp);
	{
		char mpt[PATH_MAX];
		char *argv[] = { bin("bin/mpa-record"), "-o", mpt, "--", "/usr/bin/touch",
			marker, NULL };

		snprintf(mpt, sizeof mpt, "%s/x.mpt", tmp);

		st = tp_run(argv, path, out, err);
	}
	txt = tp_slurp(err);
	cr_expect_eq(st, 2);
	cr_expect(strstr(txt, "no LTTng session daemon is running") != NULL, "%s", txt);
	cr_expect_eq(strchr(txt, '\n'), txt + strlen(txt) - 1, "one line expected:\n%s", txt);
	free(txt);
	cr_expect_neq(access(marker, F_OK), 0, "the program ran");
	tp_rmrf(tmp);
}

/* --fail-on-loss: a channel far too small for the program, without
 * blocking: the capture is written and the status is 3. */
Test(record_isolation, fail_on_loss, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-loss-XXXXXX";
	char mpt[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	char *txt;
	int st;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(mpt, sizeof mpt, "%s/out.mpt", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	{
		char *argv[] = { bin("bin/mpa-record"), "-q", "--fail-on-loss", "--subbuf-size",
			"4k", "--num-subbuf", "2", "-o", mpt, "--",
			bin("tests/workloads/wl-busy"), "7770", "200000", "leaf", NULL };

		st = tp_run(argv, NULL, out, err);
	}
	txt = tp_slurp(err);
	cr_expect_eq(st, 3, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "error: the tracer discarded") != NULL, "%s", txt);
	free(txt);
	cr_expect_eq(access(mpt, R_OK), 0, "the capture is written all the same");
	tp_rmrf(tmp);
}

/* A recording without isolation waits for the host lock at most
 * --lock-timeout seconds and names who holds it. */
Test(record_isolation, lock_wait_times_out_and_names_the_holder, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-lock-XXXXXX";
	char out[PATH_MAX], err[PATH_MAX], holder[64];
	char *txt;
	int lock, st, got = 0;

	cr_assert(mkdtemp(tmp) != NULL);
	lock = open("/tmp/.mpa-record.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	cr_assert(lock >= 0);
	/* a recording without isolation or a hand-made session may hold it */
	for (int i = 0; i < 3000 && !got; i++) {
		got = flock(lock, LOCK_EX | LOCK_NB) == 0;
		if (!got)
			sleep_ms(100);
	}
	if (!got) {
		tp_rmrf(tmp);
		cr_skip_test("the host lock stayed busy for 5 minutes");
	}
	snprintf(holder, sizeof holder, "pid %d ('the lock test')\n", (int)getpid());
	cr_assert_eq(ftruncate(lock, 0), 0);
	cr_assert_eq(pwrite(lock, holder, strlen(holder), 0), (ssize_t)strlen(holder));
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	{
		char trace[PATH_MAX];
		char *argv[] = { bin("bin/mpa-record"), "--no-isolation", "--lock-timeout", "1",
			"--keep-trace", trace, "--", "/bin/true", NULL };

		snprintf(trace, sizeof trace, "%s/trace", tmp);

		st = tp_run(argv, NULL, out, err);
	}
	cr_assert_eq(ftruncate(lock, 0), 0); /* no stale holder for the next waiter */
	close(lock);
	txt = tp_slurp(err);
	cr_expect_eq(st, 2, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "gave up after 1 s") != NULL, "%s", txt);
	holder[strlen(holder) - 1] = '\0';
	cr_expect(strstr(txt, holder) != NULL, "the holder is not named:\n%s", txt);
	free(txt);
	tp_rmrf(tmp);
}

/* --max-trace: the temporary trace of a long or heavy recording is
 * bounded; past the cap, one error, exit 4, no capture, no trace left. */
Test(record_isolation, max_trace_caps_the_temporary_trace, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-cap-XXXXXX";
	char traces[PATH_MAX], mpt[PATH_MAX], log[PATH_MAX], tmpenv[PATH_MAX + 8];
	char *env[] = { tmpenv, NULL };
	char *txt;
	int st;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(traces, sizeof traces, "%s/traces", tmp);
	cr_assert_eq(mkdir(traces, 0755), 0);
	snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", traces);
	snprintf(mpt, sizeof mpt, "%s/out.mpt", tmp);
	snprintf(log, sizeof log, "%s/log", tmp);
	{
		/* 30 s of about 250 k pairs/s: hundreds of MiB without the cap */
		char *argv[] = { bin("bin/mpa-record"), "-q", "--max-trace", "2M",
			"--subbuf-size", "256k", "-o", mpt, "--",
			bin("tests/workloads/wl-busy"), "8880", "30", "loop", NULL };

		st = wait_status(spawn(argv, env, log));
	}
	txt = tp_slurp(log);
	cr_expect_eq(st, 4, "status %d:\n%s", st, txt);
	cr_expect(strstr(txt, "--max-trace") != NULL, "%s", txt);
	free(txt);
	cr_expect_neq(access(mpt, F_OK), 0, "a capture was written");
	cr_expect_eq(count_entries(traces, "mpa-trace-"), 0, "the trace is left");
	tp_rmrf(tmp);
}

/* SIGTERM to mpa-record: forwarded to the program, and the capture of what
 * ran is written and valid. */
Test(record_isolation, sigterm_gives_a_valid_capture, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-iso-term-XXXXXX";
	char mpt[PATH_MAX], log[PATH_MAX], cmd[PATH_MAX * 3];
	char *txt;
	pid_t rec;
	int st;

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(mpt, sizeof mpt, "%s/out.mpt", tmp);
	snprintf(log, sizeof log, "%s/log", tmp);
	{
		char *argv[] = { bin("bin/mpa-record"), "-q", "-o", mpt, "--",
			bin("tests/workloads/wl-busy"), "9990", "600", "slow", NULL };

		rec = spawn(argv, NULL, log);
	}
	/* the program runs once its first allocations are in the trace: give
	 * it a moment after the session exists */
	{
		char prefix[64];

		snprintf(prefix, sizeof prefix, "mpa-record-%d-", (int)rec);
		for (int i = 0; i < 3000 && !session_listed(tmp, prefix); i++)
			sleep_ms(100);
	}
	sleep_ms(2000);
	kill(rec, SIGTERM);
	st = wait_status(rec);
	txt = tp_slurp(log);
	cr_expect_eq(st, 128 + SIGTERM, "status %d:\n%s", st, txt);
	free(txt);
	snprintf(cmd, sizeof cmd, "'%s' --verify '%s' >/dev/null 2>&1 && echo valid",
		bin("bin/mpa-cat"), mpt);
	txt = sh_out(tmp, cmd);
	cr_expect_str_eq(txt, "valid\n", "the capture is missing or invalid");
	free(txt);
	tp_rmrf(tmp);
}
