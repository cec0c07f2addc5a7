/* Helpers shared by the real-recording analyzer tests
 * (tests/analyzers/test_*_record.c): run a tool of the build in a scratch
 * directory with its output in dir/log, read JSON members, remove the
 * directory.  Writer-built captures use analyze_test_util.h instead. */
#ifndef MPA_RECORD_TEST_UTIL_H
#define MPA_RECORD_TEST_UTIL_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* buf = $MPA_BUILD/rel (the test fails when MPA_BUILD is unset). */
static inline void rt_path(char *buf, size_t len, const char *rel)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert_not_null(b, "MPA_BUILD is not set");
	int n = snprintf(buf, len, "%s/%s", b, rel);
	cr_assert(n > 0 && (size_t)n < len, "path too long: %s/%s", b, rel);
}

/* buf = the built workload tests/workloads/name, which must exist. */
static inline void rt_workload(char *buf, size_t len, const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tests/workloads/%s", name);
	rt_path(buf, len, rel);
	cr_assert_eq(access(buf, X_OK), 0, "'%s' is not built", buf);
}

/* Runs argv in dir with stdout and stderr appended to dir/log; returns the
 * exit status (-1 when killed by a signal).  Under ASan, LeakSanitizer's
 * exit scan (ptrace) fails intermittently in the recording pipeline's
 * converter and turns a good recording into an error (as in
 * tests/tracepoints/tp_test_util.h), so it is off for every tool but
 * mpa-analyze, the one under test here. */
static inline int rt_run_in(const char *dir, char *const argv[])
{
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		const char *ao = getenv("ASAN_OPTIONS");
		if (ao && !strstr(argv[0], "mpa-analyze")) {
			static char opts[1024];
			snprintf(opts, sizeof opts, "%s:detect_leaks=0", ao);
			setenv("ASAN_OPTIONS", opts, 1);
		}
		int fd = open("log", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int rt_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

/* Removes dir and everything below it. */
static inline void rt_rm_tree(const char *dir)
{
	nftw(dir, rt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The integer member k of o (the test fails when it is not one). */
static inline long long rt_int(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer '%s'", k);
	return (long long)json_integer_value(v);
}

/* The number member k of o (integer or real). */
static inline double rt_num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_number(v), "no number '%s'", k);
	return json_number_value(v);
}

#endif
