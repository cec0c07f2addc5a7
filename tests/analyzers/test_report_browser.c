/* report.html in a real browser: headless Chromium (Debian's chromium, in
 * DEB_PACKAGES) loads the page offline and dumps the DOM after its scripts
 * ran; the page's status element says "ok" only when its script finished
 * and no script raised an error (page.html records every error into the
 * DOM).  Numbers are the demo capture's (samples/demo.mpt), exactly. */
#include "analyze_test_util.h"

/* The DOM of dir/report.html after its scripts ran (malloc'd). */
static char *dump_dom(const char *dir)
{
	char url[1200], prof[1100], outf[1100];
	snprintf(url, sizeof url, "file://%s/report.html", dir);
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

#define HAS(dom, s) cr_assert(strstr(dom, s), "the page lacks: %s", s)

static void ran_clean(const char *dom)
{
	HAS(dom, "id=\"mpa-status\" data-state=\"ok\"");
	HAS(dom, "<ul id=\"mpa-errors\" hidden=\"\"></ul>");
}

Test(report_browser, demo_report_draws_with_the_numbers)
{
	const char *src = getenv("MPA_SRC");
	cr_assert(src, "MPA_SRC not set");
	char cap[1024], dir[256], out[400], err[1024];
	snprintf(cap, sizeof cap, "%s/samples/demo.mpt", src);
	au_mkdtemp(dir, sizeof dir);
	snprintf(out, sizeof out, "%s/r", dir);
	cr_assert_eq(au_lib_run(cap, out, "leak,timeline,cache,flame", NULL, NULL, err, sizeof err), 0,
		     "%s", err);
	char *dom = dump_dom(out);
	ran_clean(dom);
	/* the first screen: peak and leak in human units, the top leak site,
	 * no lost event, both alerts with their advice */
	HAS(dom, "<div class=\"big\">30.4 KiB</div>");
	HAS(dom, "at 3.33 ms after the start");
	HAS(dom, "<div class=\"big\">9.77 KiB</div>");
	HAS(dom, "9.77 KiB in 50 blocks — leaky_audit_log (samples/demo/mpa-demo.c:51)");
	HAS(dom, "<div class=\"big\">none</div>");
	HAS(dom, "Alerts (2)");
	HAS(dom, "→ free these blocks before the process ends");
	/* the flamegraph: weighted by leaked bytes first (before suppressions:
	 * 10000 + libc's stdio buffer 4096 + the DTV 336) */
	HAS(dom, "id=\"flame\" data-metric=\"leaked_bytes\" data-total=\"14432\"");
	HAS(dom, "data-name=\"leaky_audit_log\" data-value=\"10000\"");
	HAS(dom, "data-name=\"main\"");
	/* the timeline: drawn by dygraphs (a canvas), the series' maximum is
	 * the peak */
	HAS(dom, "data-points=\"1000\" data-max=\"31112\"");
	char *tl = strstr(dom, "id=\"timeline\"");
	cr_assert(tl && strstr(tl, "<canvas"), "the timeline has no canvas");
	/* sites over the range (the whole capture at first) */
	HAS(dom, "Sites over the whole capture");
	HAS(dom, "data-table=\"range_sites\"");
	HAS(dom, "<td data-v=\"11200\" class=\"num\">10.9 KiB</td>");
	/* leak sites with their stack, the analyzers' sections and tables */
	HAS(dom, "data-table=\"sites\" data-rows=\"1\"");
	HAS(dom, "title=\"show the stack\"");
	HAS(dom, "data-analyzer=\"leak\"");
	HAS(dom, "data-analyzer=\"timeline\"");
	HAS(dom, "data-analyzer=\"cache\"");
	HAS(dom, "data-analyzer=\"flame\"");
	HAS(dom, "data-table-of=\"timeline.hotspots\"");
	HAS(dom, "data-table=\"stacks\" data-rows=\"8\"");
	/* the plots are inlined */
	HAS(dom, "src=\"data:image/svg+xml;base64,");
	/* nothing is fetched: no external script or stylesheet */
	cr_assert_null(strstr(dom, "<script src"));
	cr_assert_null(strstr(dom, "<link "));
	free(dom);
	au_rmrf(dir);
}

Test(report_browser, hostile_names_stay_text)
{
	struct au_cap c;
	au_open(&c);
	/* a function name that would end the data script and start another */
	uint32_t s = au_site(&c, "</script><script>window.pwned=1</script><b id=\"x\">", 7);
	au_alloc(&c, 100, 9, 0x1000, 64, s);
	au_exit(&c, 200, 9);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	cr_assert_eq(au_lib_run(c.path, out, "leak,timeline,flame", NULL, NULL, err, sizeof err), 0,
		     "%s", err);
	char *dom = dump_dom(out);
	ran_clean(dom);
	cr_assert_null(strstr(dom, "<b id=\"x\">"), "a site name became markup");
	HAS(dom, "&lt;/script&gt;&lt;script&gt;window.pwned=1");
	HAS(dom, "<div class=\"big\">64 B</div>");
	free(dom);
	au_rmrf(c.dir);
}

Test(report_browser, a_capture_without_heap_events_says_so)
{
	struct au_cap c;
	au_open(&c);
	au_exit(&c, 200, 9);
	au_close(&c);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	cr_assert_eq(au_lib_run(c.path, out, "cache", NULL, NULL, err, sizeof err), 0, "%s", err);
	char *dom = dump_dom(out);
	ran_clean(dom);
	HAS(dom, "the timeline analyzer did not run (--timeline)");
	HAS(dom, "the leak analyzer did not run (--leak)");
	HAS(dom, "id=\"flame-section\" hidden=\"\"");
	free(dom);
	au_rmrf(c.dir);
}
