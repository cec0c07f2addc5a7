/* The analyzers' fuzz target as a regression test: every committed input of
 * tests/fuzz/corpus/analyze/ goes through fuzz_analyze_one() (a capture
 * built from the input, every analyzer run on it), once with CSV + JSON and
 * once with the plot emitters on as well.  Under the ASan+UBSan pass of
 * `make check` a crash, UB, leak or hang in an analyzer fails the test and
 * names the input: the inputs run in a child process that reports after
 * each one.
 *
 * Inputs that still crash the analyzers live in tests/fuzz/findings/analyze/
 * (not replayed here); move one into the corpus once it is fixed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MPA_FUZZ_NO_ENTRY
#include "fuzz_analyze.c"

/* In the sanitizers' runtime only (the ASan+UBSan build of make check). */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* What the replayed inputs exercised, summed. */
struct tfa_sum {
	unsigned files, ok, failed, rows, from, to, pid;
	uint32_t kinds;
};

static size_t tfa_read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static int tfa_write_full(int fd, const void *p, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t w = write(fd, (const char *)p + put, n - put);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		put += (size_t)w;
	}
	return 0;
}

static int tfa_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of the committed corpus, in name order. */
static size_t tfa_list(char ***out)
{
	const char *src = getenv("MPA_SRC");
	char dir[PATH_MAX];
	char **paths = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/analyze", src ? src : ".");
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		int pl;

		if (de->d_name[0] == '.')
			continue;
		pl = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cr_assert(pl > 0 && (size_t)pl < sizeof(path), "path too long: %s", de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			paths = realloc(paths, cap * sizeof(*paths));
			cr_assert_not_null(paths);
		}
		paths[n] = strdup(path);
		cr_assert_not_null(paths[n]);
		n++;
	}
	closedir(d);
	if (n)
		qsort(paths, n, sizeof(*paths), tfa_cmp);
	*out = paths;
	return n;
}

/* The child's report on one input. */
struct tfa_rec {
	uint32_t idx;
	struct fa_stats st;
};

/* The inputs run in ONE child process, which reports after each: when a
 * crash, a sanitizer report or a hang (120 s for one input) ends it, the
 * parent names the input that was running.  Leaks are looked for once, at
 * the end; LeakSanitizer's report gives the allocation's stack.  The inputs
 * run on a thread of their own: tests/lsan.supp suppresses every leak whose
 * allocation stack passes through libcriterion.so, which the test's own
 * thread always does.  (LeakSanitizer then notes that a thread "was not
 * suspended": Criterion's, which the fork did not copy.) */
static struct {
	char **paths;   /* (weak: the parent's; global, so that they stay reachable) */
	size_t n;
	int fd;
	int status;     /* the child's exit status, set by the thread */
} tfa_job;

static void *tfa_thread(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < tfa_job.n; i++) {
		FILE *f = fopen(tfa_job.paths[i], "rb");
		static uint8_t buf[1 << 16];
		struct tfa_rec rec;
		size_t len;

		if (!f) {
			tfa_job.status = 5;
			return NULL;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (len == sizeof(buf)) {
			tfa_job.status = 5; /* the fuzzer's inputs are at most a few KiB */
			return NULL;
		}
		alarm(120);
		fuzz_analyze_one(buf, len);
		alarm(0);
		memset(&rec, 0, sizeof(rec));
		rec.idx = (uint32_t)i;
		rec.st = fa_last;
		if (tfa_write_full(tfa_job.fd, &rec, sizeof(rec)) < 0) {
			tfa_job.status = 4;
			return NULL;
		}
	}
	return NULL;
}

static void tfa_child(char **paths, size_t n, int fd)
{
	pthread_t th;

	tfa_job.paths = paths;
	tfa_job.n = n;
	tfa_job.fd = fd;
	if (pthread_create(&th, NULL, tfa_thread, NULL) != 0 || pthread_join(th, NULL) != 0)
		_exit(6);
	if (tfa_job.status)
		_exit(tfa_job.status);
	_exit(__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check() ? 3 : 0);
}

static void tfa_replay(struct tfa_sum *sum)
{
	char **paths;
	size_t n = tfa_list(&paths), done = 0;
	struct tfa_rec rec;
	int fds[2], status;
	pid_t pid;

	memset(sum, 0, sizeof(*sum));
	fuzz_analyze_setup(); /* the child works in its directory */
	cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		tfa_child(paths, n, fds[1]);
	}
	close(fds[1]);
	while (tfa_read_full(fds[0], &rec, sizeof(rec)) == sizeof(rec)) {
		cr_assert_eq(rec.idx, done, "the child skipped an input");
		sum->files++;
		sum->rows += rec.st.rows;
		sum->kinds |= rec.st.kinds;
		sum->from += rec.st.from;
		sum->to += rec.st.to;
		sum->pid += rec.st.pid;
		if (rec.st.rc == 0)
			sum->ok++;
		else
			sum->failed++;
		done++;
	}
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s", strerror(errno));
	{
		const char *what = done < n ? paths[done] : "after the last input";

		if (WIFSIGNALED(status))
			cr_assert_fail("%s: killed by signal %d%s", what, WTERMSIG(status),
				       WTERMSIG(status) == SIGALRM ? " (over 120 s: a hang)" : "");
		cr_assert(WIFEXITED(status), "%s: child status %d", what, status);
		cr_assert_eq(WEXITSTATUS(status), 0, "%s: exited with %d (%s)", what,
			     WEXITSTATUS(status),
			     WEXITSTATUS(status) == 3 ? "a leak: LeakSanitizer's report above"
			     : WEXITSTATUS(status) == 5 ? "cannot read it, or over 64 KiB"
			     : WEXITSTATUS(status) == 6 ? "no thread" : "a sanitizer report above");
	}
	cr_assert_eq(done, n, "%zu of %zu inputs reported", done, n);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	fuzz_analyze_cleanup();
}

/* The corpus must keep exercising what the target is for: every kind,
 * windows and pid filters, runs that succeed and runs that are refused. */
static void tfa_check_reach(const struct tfa_sum *s)
{
	cr_log_info("%u inputs: %u runs ok, %u refused, %u rows, kinds 0x%x, --from %u, --to %u, --pid %u",
		    s->files, s->ok, s->failed, s->rows, s->kinds, s->from, s->to, s->pid);
	cr_assert_geq(s->files, 20, "only %u inputs in tests/fuzz/corpus/analyze", s->files);
	for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
		cr_expect(s->kinds & MPT_KINDBIT(k), "no input of the corpus writes a %s record",
			  mpa_kind_name(k));
	cr_expect_geq(s->ok, s->files / 4, "only %u of %u runs succeeded", s->ok, s->files);
	cr_expect_geq(s->failed, 1, "no input makes mpa_run refuse its options");
	cr_expect_geq(s->from, 3, "--from in %u inputs only", s->from);
	cr_expect_geq(s->to, 3, "--to in %u inputs only", s->to);
	cr_expect_geq(s->pid, 3, "--pid in %u inputs only", s->pid);
	cr_expect_geq(s->rows, 1000, "%u rows in all", s->rows);
}

Test(fuzz_analyze, replay_committed_corpus, .timeout = 600)
{
	struct tfa_sum s;

	tfa_replay(&s);
	tfa_check_reach(&s);
}

/* The same inputs with plots: the plot emitters write their data and
 * scripts; MPA_GNUPLOT names a missing program, so nothing is rendered. */
Test(fuzz_analyze, replay_committed_corpus_with_plots, .timeout = 600)
{
	struct tfa_sum s;

	cr_assert_eq(setenv("FUZZ_ANALYZE_PLOTS", "1", 1), 0);
	tfa_replay(&s);
	cr_assert(fa_plots, "FUZZ_ANALYZE_PLOTS=1 did not turn the plots on");
	cr_assert_geq(s.files, 20);
}

/* The generator itself: fixed programs give the records they describe. */
Test(fuzz_analyze, generator_writes_what_the_program_says)
{
	/* header of zeros (chunks of 512 rows, no options), no extra strings, frames or
	 * stacks; then alloc (op 0, mode 0: ts + 1, one selector byte per field:
	 * size 16, ptr from the fresh top, usable 0, align 0, api malloc,
	 * stack 0), free (op 1: the newest pointer, api free, stack 0), lost
	 * (op 18: 0 lost, string 0, end 0) */
	static const uint8_t prog[] = { 0, 0, 0,
		0, 0, 0, 0, 15, 0, 0, 0, 0,
		1, 0, 0, 4, 1, 0,
		MPA_KIND_LOST - 1, 0, 0, 0, 0, 0 };
	uint8_t in[FA_HDR + sizeof(prog)] = { 0 };

	memcpy(in + FA_HDR, prog, sizeof(prog));
	fuzz_analyze_one(in, sizeof(in));
	cr_assert_eq(fa_last.rc, 0, "mpa_run: %s", fa_last.err);
	cr_assert_eq(fa_last.kinds, MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
				    MPT_KINDBIT(MPA_KIND_LOST),
		     "kinds 0x%x", fa_last.kinds);
	cr_assert_eq(fa_last.rows, 3);
	cr_assert(!fa_last.from && !fa_last.to && !fa_last.pid);

	/* an empty input: an empty capture, analyzed fine */
	fuzz_analyze_one(in, 0);
	cr_assert_eq(fa_last.rc, 0, "mpa_run on an empty capture: %s", fa_last.err);
	cr_assert_eq(fa_last.rows, 0);
	fuzz_analyze_cleanup();
}
