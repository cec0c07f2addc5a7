/* tests/tracepoints: mpa-record checks -o before running the program.  A
 * missing folder, an output that is a folder, a folder it cannot write, a
 * path under a regular file, an empty path: one line
 * "mpa-record: cannot write 'PATH': reason", exit status 2, nothing left
 * behind, and PROG (which would create a marker file) never started.
 * The test holds mpa-record's host lock meanwhile: mpa-record must fail
 * before it would wait for that lock (i.e. before any session exists), and
 * no other mpa-record session can start while it runs.
 */
#include <dirent.h>
#include <limits.h>
#include <sys/file.h>

#include "tp_test_util.h"

#define LOCK_PATH "/tmp/.mpa-record.lock"

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert(d != NULL);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Runs mpa-record -o `out` -- sh -c 'touch MARKER' and checks the refusal;
 * `reason` NULL: any reason. */
static void refused(const char *tmp, const char *out, const char *reason)
{
	char rec[PATH_MAX], marker[128], touch[160], so[96], se[96], want[PATH_MAX + 128];
	char *txt;
	int st;

	snprintf(rec, sizeof rec, "%s/bin/mpa-record", tp_build_dir());
	snprintf(marker, sizeof marker, "%s/started", tmp);
	snprintf(touch, sizeof touch, "touch '%s'", marker);
	snprintf(so, sizeof so, "%s/../so.%d", tmp, (int)getpid());
	snprintf(se, sizeof se, "%s/../se.%d", tmp, (int)getpid());
	{
		char *argv[] = { rec, "-o", (char *)out, "--", "/bin/sh", "-c", touch, NULL };

		st = tp_run(argv, NULL, so, se);
	}
	txt = tp_slurp(se);
	cr_assert_eq(st, 2, "-o '%s': exit status %d, stderr: %s", out, st, txt);
	if (reason)
		snprintf(want, sizeof want, "mpa-record: cannot write '%s': %s\n", out, reason);
	else
		snprintf(want, sizeof want, "mpa-record: cannot write '%s': ", out);
	if (reason)
		cr_assert_str_eq(txt, want);
	else
		cr_assert(strncmp(txt, want, strlen(want)) == 0 && strchr(txt, '\n') ==
			txt + strlen(txt) - 1, "-o '%s': not one line '%s...': %s", out, want, txt);
	free(txt);
	cr_assert_neq(access(marker, F_OK), 0, "-o '%s': the program was started", out);
	unlink(so);
	unlink(se);
}

Test(mpa_record_cli, bad_output_found_before_the_program_runs, .timeout = 600)
{
	char tmp[] = "/tmp/mpa-tp-out-XXXXXX";
	char path[128], file[96], ro[96];
	int lock;

	cr_assert(mkdtemp(tmp) != NULL);
	lock = open(LOCK_PATH, O_RDONLY | O_CREAT, 0644);
	cr_assert(lock >= 0);
	while (flock(lock, LOCK_EX) != 0)
		cr_assert(errno == EINTR);

	snprintf(path, sizeof path, "%s/missing/out.mpt", tmp);
	refused(tmp, path, "no such file or directory");
	refused(tmp, tmp, "is a directory");
	snprintf(path, sizeof path, "%s/", tmp);
	refused(tmp, path, "is a directory");
	snprintf(file, sizeof file, "%s/file", tmp);
	close(open(file, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof path, "%s/out.mpt", file);
	refused(tmp, path, "not a directory");
	refused(tmp, "", "no such file or directory");
	/* a folder that takes no new file: root writes into any mode, not into
	 * sysfs */
	if (geteuid() == 0) {
		refused(tmp, "/sys/mpa-record-test.mpt", NULL);
	} else {
		snprintf(ro, sizeof ro, "%s/ro", tmp);
		cr_assert_eq(mkdir(ro, 0555), 0);
		snprintf(path, sizeof path, "%s/out.mpt", ro);
		refused(tmp, path, "permission denied");
		cr_assert_eq(entries(ro), 0);
	}
	cr_assert_eq(entries(tmp), 1, "only the regular file made by the test is left");
	close(lock);
	tp_rmrf(tmp);
}
