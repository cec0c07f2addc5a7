/* Tests that open a page in a real browser. */
#ifndef MPA_TEST_BROWSER_UTIL_H
#define MPA_TEST_BROWSER_UTIL_H

#include "analyze_test_util.h"

/* The DOM of dir/page after its scripts ran (malloc'd), by headless
 * Chromium (Debian's chromium, in DEB_PACKAGES). */
static inline char *dump_dom(const char *dir, const char *page)
{
	char url[1200], prof[1100], outf[1100];
	snprintf(url, sizeof url, "file://%s/%s", dir, page);
	snprintf(prof, sizeof prof, "--user-data-dir=%s/chromium-profile", dir);
	snprintf(outf, sizeof outf, "%s/dom.html", dir);
	const char *bin = access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : "chromium";
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open("/dev/null", O_WRONLY);
		if (fo < 0 || fe < 0)
			_exit(125);
		dup2(fo, 1);
		dup2(fe, 2);
		execlp(bin, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		       "--disable-extensions", "--virtual-time-budget=10000", prof, "--dump-dom", url,
		       (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 127,
		  "chromium is not installed (make deps installs it: it is in DEB_PACKAGES)");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chromium failed on %s (status %d)", url,
		  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	char *dom = au_slurp(outf, NULL);
	cr_assert(dom && strlen(dom) > 1000, "chromium dumped no DOM");
	return dom;
}

#endif
