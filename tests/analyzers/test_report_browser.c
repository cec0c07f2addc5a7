/* report.html in a real browser: headless Chromium (Debian's chromium, in
 * DEB_PACKAGES) loads the page offline and dumps the DOM after its scripts
 * ran; the page's status element says "ok" only when its script finished
 * and no script raised an error (page.html records every error into the
 * DOM).  Numbers are the demo capture's (samples/demo.mpt), exactly. */
#include "analyze_test_util.h"
#include "browser_util.h"

#define HAS(dom, s) cr_assert(strstr(dom, s), "the page lacks: %s", s)

static void ran_clean(const char *dom)
{
	HAS(dom, "id=\"mpa-status\" data-state=\"ok\" data-ms=\"");
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
	cr_assert_eq(au_lib_run(cap, out, "leak,timeline,cache,frag,pool,flame", NULL, NULL, err, sizeof err), 0,
		     "%s", err);
	char *dom = dump_dom(out, "report.html");
	ran_clean(dom);
	/* the first screen: peak and leak in human units, the top leak site,
	 * no lost event, the leak's alert with its advice */
	HAS(dom, "<div class=\"big\">30.4 KiB</div>");
	HAS(dom, "at 3.33 ms after the start");
	HAS(dom, "<div class=\"big\">9.77 KiB</div>");
	HAS(dom, "9.77 KiB in 50 blocks — leaky_audit_log (samples/demo/mpa-demo.c:51)");
	HAS(dom, "<div class=\"big\">none</div>");
	HAS(dom, "Alerts (1)");
	HAS(dom, "→ without a reachability scan their kind is unknown");
	/* the timeline's recommendations, with their text */
	HAS(dom, "Recommendations (3)");
	HAS(dom, "[timeline] use a pool or free list: all 10000 allocations at site 'worker "
		 "(samples/demo/mpa-demo.c:93)' are 56 bytes");
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
	HAS(dom, "data-analyzer=\"frag\"");
	HAS(dom, "data-analyzer=\"pool\"");
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
	char *dom = dump_dom(out, "report.html");
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
	char *dom = dump_dom(out, "report.html");
	ran_clean(dom);
	HAS(dom, "the timeline analyzer did not run (--timeline)");
	HAS(dom, "the leak analyzer did not run (--leak)");
	HAS(dom, "id=\"flame-section\" hidden=\"\"");
	free(dom);
	au_rmrf(c.dir);
}
