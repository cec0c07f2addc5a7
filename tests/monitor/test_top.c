/* mpa-top driven in tmux on samples/demo.mpt: what a person sees.  The
 * demo (samples/README.md) peaks at 31112 bytes live (30.4 KiB) in its
 * 67th 50-us interval and leaks exactly 50 blocks of 200 bytes from
 * leaky_audit_log. */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "mon_test_util.h"

static char demo[1024];

static void start(struct tx *t, int cols, int rows, const char *extra)
{
	char args[2048];
	snprintf(demo, sizeof demo, "%s/samples/demo.mpt", mon_src());
	snprintf(args, sizeof args, "%s %s", extra, demo);
	tx_start(t, cols, rows, args);
	tx_wait(t, "Live heap");
}

Test(top_tmux, memory_view_shows_the_peak_at_the_cursor)
{
	struct tx t;
	start(&t, 80, 24, "");
	/* the cursor starts at the peak */
	cr_expect(strstr(t.screen, "cursor 3.4 ms / 7.3 ms"), "%s", t.screen);
	cr_expect(strstr(t.screen, "(step 50 us, 67/146)"), "%s", t.screen);
	cr_expect(strstr(t.screen, "peak 30.4 KiB at 3.3 ms"), "%s", t.screen);
	cr_expect(strstr(t.screen, "Pressure  no"), "%s", t.screen);
	cr_expect(strstr(t.screen, "Lost events  0 in this interval, 0 in the capture"), "%s", t.screen);
	/* the footer's keys fit in 80 columns */
	cr_expect(strstr(t.screen, "? help  q quit"), "%s", t.screen);
	/* scrub: End, Home, Right, p */
	tx_keys(&t, "End");
	tx_wait(&t, "(step 50 us, 146/146)");
	cr_expect(strstr(t.screen, "Live heap  0 B at the cursor"), "%s", t.screen);
	tx_keys(&t, "Home");
	tx_wait(&t, "(step 50 us, 1/146)");
	tx_keys(&t, "Right");
	tx_wait(&t, "(step 50 us, 2/146)");
	tx_keys(&t, "]");
	tx_wait(&t, "(step 50 us, 12/146)");
	tx_keys(&t, "p");
	tx_wait(&t, "(step 50 us, 67/146)");
	tx_stop(&t);
}

Test(top_tmux, sites_view_sorts_and_opens_the_demangled_stack)
{
	struct tx t;
	start(&t, 80, 24, "");
	tx_keys(&t, "2");
	tx_wait(&t, "Top sites at the cursor by live");
	/* at the peak the leaking site holds the most: 50 x 200 bytes */
	char *row = strstr(t.screen, "LIVE*");
	cr_assert(row, "%s", t.screen);
	char *first = strchr(row, '\n');
	cr_assert(first && strstr(first, "9.77 KiB"), "%s", t.screen);
	cr_expect(strstr(first, "(mpa-demo.c:51)") < strstr(first, "(mpa-demo.c:71)"), "%s", t.screen);
	tx_keys(&t, "s");
	tx_wait(&t, "LEAKED*");
	tx_keys(&t, "s");
	tx_wait(&t, "ALLOC*");
	tx_keys(&t, "s s s");
	tx_wait(&t, "LIVE*");
	tx_keys(&t, "Enter");
	tx_wait(&t, "#0  leaky_audit_log");
	cr_expect(strstr(t.screen, "samples/demo/mpa-demo.c:51"), "%s", t.screen);
	cr_expect(strstr(t.screen, "#1  main"), "%s", t.screen);
	tx_keys(&t, "Escape");
	for (int i = 0; i < 600 && strstr(t.screen, "#0  leaky"); i++) {
		usleep(100000);
		tx_capture(&t);
	}
	cr_expect(!strstr(t.screen, "#0  leaky_audit_log"), "%s", t.screen);
	tx_stop(&t);
}

Test(top_tmux, search_keeps_matching_sites)
{
	struct tx t;
	start(&t, 80, 24, "");
	tx_keys(&t, "2 / w o r k e r Enter");
	tx_wait(&t, "search \"worker\"");
	cr_expect(strstr(t.screen, "worker (mpa-demo.c:93)"), "%s", t.screen);
	cr_expect(strstr(t.screen, "1 shown"), "%s", t.screen);
	cr_expect(!strstr(t.screen, "(mpa-demo.c:71)"), "%s", t.screen);
	cr_expect(!strstr(t.screen, "(mpa-demo.c:51)"), "%s", t.screen);
	tx_keys(&t, "Escape");
	tx_wait(&t, "/ search");
	cr_expect(strstr(t.screen, "7 shown"), "%s", t.screen);
	cr_expect(strstr(t.screen, "(mpa-demo.c:71)"), "%s", t.screen);
	tx_stop(&t);
}

Test(top_tmux, leaks_view_shows_the_demo_leak)
{
	struct tx t;
	start(&t, 80, 24, "");
	tx_keys(&t, "3");
	tx_wait(&t, "Lost or not freed at exit: 9.77 KiB in 50 blocks");
	cr_expect(strstr(t.screen, "50 unfreed    leaky_audit_log (mpa-demo.c:51)"),
		  "%s", t.screen);
	/* at the peak the leaking site holds all its 50 blocks; at the end
	 * the process has exited */
	cr_expect(strstr(t.screen, "at the cursor these sites hold 9.77 KiB live"), "%s", t.screen);
	tx_keys(&t, "End");
	tx_wait(&t, "at the cursor these sites hold 0 B live");
	tx_keys(&t, "Enter");
	tx_wait(&t, "#0  leaky_audit_log");
	tx_stop(&t);
}

Test(top_tmux, views_without_events_say_so)
{
	struct tx t;
	start(&t, 80, 24, "");
	/* the demo probed one block's node */
	tx_keys(&t, "5");
	tx_wait(&t, "NUMA placement samples up to the cursor: 1");
	cr_expect(strstr(t.screen, "     0          1 "), "%s", t.screen);
	tx_keys(&t, "6");
	tx_wait(&t, "no data in this capture (no cache_sample events were recorded)");
	/* without the pool analyzer, or with it on a capture without pools */
	tx_keys(&t, "8");
	int shown = 0;
	for (int i = 0; i < 1200 && !shown; i++) {
		tx_capture(&t);
		shown = strstr(t.screen, "no pool analyzer in this build") ||
			strstr(t.screen, "no data in this capture (no pool events were recorded)");
		if (!shown)
			usleep(100000);
	}
	cr_expect(shown, "%s", t.screen);
	tx_keys(&t, "4");
	tx_wait(&t, "Threads at the cursor: 2 running");
	/* the main thread at the peak: its 8 MiB stack, 992 bytes deep at most */
	cr_expect(strstr(t.screen, "10630   10630      6035      5624   11.5 MiB  8.00 MiB     992 B running"),
		  "%s", t.screen);
	tx_stop(&t);
}

Test(top_tmux, cache_view_on_a_capture_with_samples)
{
	struct tx t;
	char args[2048];
	snprintf(args, sizeof args, "%s/samples/demo-pagefaults.mpt", mon_src());
	tx_start(&t, 80, 24, args);
	tx_wait(&t, "Live heap");
	tx_keys(&t, "6");
	tx_wait(&t, "Cache and TLB samples up to the cursor");
	cr_expect(strstr(t.screen, "page_fault"), "%s", t.screen);
	cr_expect(strstr(t.screen, "The cache analyzer at the capture's end:"), "%s", t.screen);
	cr_expect(strstr(t.screen, "samples: 129"), "%s", t.screen);
	tx_stop(&t);
}

Test(top_tmux, help_resize_theme_and_quit)
{
	struct tx t;
	start(&t, 80, 24, "--theme light");
	tx_keys(&t, "?");
	tx_wait(&t, "mpa-top keys");
	cr_expect(strstr(t.screen, "jump to the peak of the live heap"), "%s", t.screen);
	tx_keys(&t, "Escape");
	tx_sh("tmux -L %s resize-window -t top -x 120 -y 40", t.sock);
	/* redrawn at the new size: the footer on the 40th line */
	for (int i = 0; i < 600; i++) {
		tx_capture(&t);
		int lines = 0;
		const char *last = t.screen;
		for (const char *p = t.screen; *p; p++)
			if (*p == '\n') {
				lines++;
				if (lines == 39)
					last = p + 1;
			}
		if (lines >= 39 && strstr(last, "q quit") && !strstr(t.screen, "mpa-top keys"))
			break;
		usleep(100000);
	}
	const char *foot = t.screen;
	for (int l = 0; l < 39 && foot; l++) {
		foot = strchr(foot, '\n');
		if (foot)
			foot++;
	}
	cr_expect(foot && strstr(foot, "q quit"), "%s", t.screen);
	tx_keys(&t, "q");
	int gone = 0;
	for (int i = 0; i < 600 && !gone; i++) {
		gone = tx_sh("tmux -L %s has-session -t top >/dev/null 2>&1", t.sock) != 0;
		usleep(100000);
	}
	cr_expect(gone, "q did not quit");
	tx_stop(&t);
}

Test(top_cli, refuses_a_non_terminal_stdout)
{
	struct mon_proc p = {0};
	snprintf(demo, sizeof demo, "%s/samples/demo.mpt", mon_src());
	mon_cli(&p, "mpa-top", (const char *const[]){demo, NULL});
	cr_expect_eq(p.status, 2);
	cr_expect(strstr(p.err, "mpa-top: stdout is not a terminal"), "%s", p.err);
	cr_expect(strstr(p.err, "mpa-monitor"), "%s", p.err);
	mon_cli(&p, "mpa-top", (const char *const[]){"--theme", "blue", demo, NULL});
	cr_expect_eq(p.status, 2);
	cr_expect(strstr(p.err, "--theme 'blue': want dark or light"), "%s", p.err);
	mon_proc_release(&p);
}
