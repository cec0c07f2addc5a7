/* Helpers of the tests of tests/tracepoints/ that run mpa-record and the
 * other built programs as a user would (test_record.c keeps its own). */
#ifndef MPA_TP_TEST_UTIL_H
#define MPA_TP_TEST_UTIL_H

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *tp_build_dir(void)
{
	const char *b = getenv("MPA_BUILD");

	cr_assert(b != NULL && *b, "MPA_BUILD is not set");
	return b;
}

/* Runs argv (no shell) with stdout and stderr into files and env (NAME=VALUE,
 * or NULL) added; the exit status (128 + signal when killed). */
static inline int tp_run(char *const argv[], const char *env, const char *out, const char *err)
{
	pid_t pid = fork();
	int st;

	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0)
			_exit(126);
		dup2(fo, 1);
		dup2(fe, 2);
		/* nothing of the runner's own preloads reaches the programs */
		unsetenv("LD_PRELOAD");
		/* under ASan, LeakSanitizer's exit-time scan (which stops the
		 * world with ptrace) intermittently fails in the recording
		 * pipeline's converter ("LeakSanitizer does not work under
		 * ptrace") and turns a good recording into an error; the
		 * converter's leaks are checked by its own tests */
		const char *ao = getenv("ASAN_OPTIONS");
		if (ao) {
			static char opts[1024];
			snprintf(opts, sizeof opts, "%s:detect_leaks=0", ao);
			setenv("ASAN_OPTIONS", opts, 1);
		}
		if (env)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		cr_assert(errno == EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The whole file as a string ("" when it cannot be read); caller frees. */
static inline char *tp_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	cr_assert(buf != NULL);
	len = (long)fread(buf, 1, (size_t)len, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static inline int tp_rm_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes dir and everything under it. */
static inline void tp_rmrf(const char *dir)
{
	nftw(dir, tp_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
