/* mpa-monitor on writer-built captures (exact numbers per interval) and on
 * samples/demo.mpt (the same pass as mpa-analyze: the same counts). */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "mon_test_util.h"

#define MS UINT64_C(1000000)
#define T0 AU_SEC

/* pid 100: grow (prog.c:10) keeps 100 then 300 bytes; tmp (prog.c:20)
 * frees 1000 bytes 0.1 ms after allocating them, then keeps 50; 7 events
 * lost at 2.2 ms; the process exits at 3.5 ms with 450 bytes live. */
static void build(struct au_cap *c)
{
	au_open(c);
	uint32_t grow = au_site(c, "grow", 10), tmp = au_site(c, "tmp", 20);
	au_alloc(c, T0, 100, 0x1000, 100, grow);
	au_alloc(c, T0 + MS / 2, 100, 0x2000, 1000, tmp);
	au_free(c, T0 + MS / 2 + MS / 10, 100, 0x2000);
	au_alloc(c, T0 + MS + MS / 2, 100, 0x3000, 300, grow);
	struct mpa_event lost = {0};
	lost.kind = MPA_KIND_LOST;
	lost.ts = T0 + 2 * MS + MS / 5;
	lost.size = 7;
	au_ev(c, &lost);
	au_alloc(c, T0 + 2 * MS + MS / 2, 100, 0x4000, 50, tmp);
	au_exit(c, T0 + 3 * MS + MS / 2, 100);
	au_close(c);
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

static int nlines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(monitor, json_one_object_per_interval_with_exact_numbers)
{
	struct au_cap c;
	build(&c);
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){c.path, "--interval", "1ms", "--format", "json", "--speed", "0",
				      "--no-config", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(nlines(p.out), 4, "%s", p.out);
	json_t *j = line_json(p.out, 0);
	cr_expect_eq(geti(j, "t_ns"), 1000000);
	cr_expect_eq(geti(j, "interval_ns"), 1000000);
	cr_expect_eq(geti(j, "live_bytes"), 100);
	cr_expect_eq(geti(j, "peak_bytes"), 1100);
	cr_expect_eq(geti(j, "allocs"), 2);
	cr_expect_eq(geti(j, "frees"), 1);
	cr_expect_eq(geti(j, "alloc_bytes"), 1100);
	cr_expect_eq(geti(j, "free_bytes"), 1000);
	cr_expect(json_real_value(json_object_get(j, "alloc_rate_per_s")) == 2000.0);
	cr_expect(json_real_value(json_object_get(j, "free_bytes_per_s")) == 1000000.0);
	cr_expect(json_is_false(json_object_get(j, "pressure")));
	cr_expect_eq(geti(j, "pressure_threshold_bytes"), 1073741824);
	json_t *g = json_object_get(j, "top_growing_site");
	cr_expect_str_eq(json_string_value(json_object_get(g, "site")), "grow (prog.c:10)");
	cr_expect_eq(geti(g, "growth_bytes"), 100);
	cr_expect_eq(geti(j, "lost_events"), 0);
	json_decref(j);

	j = line_json(p.out, 1);
	cr_expect_eq(geti(j, "live_bytes"), 400);
	cr_expect_eq(geti(json_object_get(j, "top_growing_site"), "growth_bytes"), 300);
	json_decref(j);

	j = line_json(p.out, 2);
	cr_expect_eq(geti(j, "live_bytes"), 450);
	cr_expect_eq(geti(j, "lost_events"), 7);
	cr_expect_eq(geti(j, "lost_events_total"), 7);
	g = json_object_get(j, "top_growing_site");
	cr_expect_str_eq(json_string_value(json_object_get(g, "site")), "tmp (prog.c:20)");
	cr_expect_eq(geti(g, "growth_bytes"), 50);
	json_decref(j);

	/* the exit takes the process's blocks with it */
	j = line_json(p.out, 3);
	cr_expect_eq(geti(j, "t_ns"), 4000000);
	cr_expect_eq(geti(j, "live_bytes"), 0);
	cr_expect_eq(geti(j, "peak_bytes"), 450);
	cr_expect_eq(geti(j, "lost_events"), 0);
	cr_expect_eq(geti(j, "lost_events_total"), 7);
	cr_expect(json_is_null(json_object_get(j, "top_growing_site")));
	json_decref(j);
	au_rmrf(c.dir);
	mon_proc_release(&p);
}

Test(monitor, human_lines_and_pressure)
{
	struct au_cap c;
	build(&c);
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){c.path, "--interval", "1ms", "--speed", "0", "--no-config",
				      "--set", "alerts.memory_pressure_threshold=399", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(nlines(p.out), 4, "%s", p.out);
	/* interval 1 peaks at 1100 bytes, above 399: pressure */
	const char *l2 = strchr(p.out, '\n') + 1;
	cr_expect(strstr(p.out, "live      100 B  peak     1100 B") < l2, "%s", p.out);
	cr_expect(strstr(p.out, "pressure YES") < l2, "%s", p.out);
	cr_expect(strstr(p.out, "growing grow (prog.c:10) (+100 B)") < l2, "%s", p.out);
	cr_expect(strstr(l2, "live      400 B"), "%s", p.out);
	cr_expect(strstr(l2, "lost 7  growing tmp (prog.c:20) (+50 B)"), "%s", p.out);
	au_rmrf(c.dir);
	mon_proc_release(&p);
}

Test(monitor, demo_counts_agree_with_the_leak_analyzer)
{
	char demo[1024];
	snprintf(demo, sizeof demo, "%s/samples/demo.mpt", mon_src());
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){demo, "--format", "json", "--speed", "0", "--no-config", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	int n = nlines(p.out);
	cr_expect_eq(n, 146);
	long long allocs = 0, peak = 0;
	for (int k = 0; k < n; k++) {
		json_t *j = line_json(p.out, k);
		allocs += geti(j, "allocs");
		if (geti(j, "peak_bytes") > peak)
			peak = geti(j, "peak_bytes");
		if (k == n - 1)
			cr_expect_eq(geti(j, "live_bytes"), 0);
		json_decref(j);
	}
	/* leak.json of the demo: 15411 allocs + 625 reallocs */
	cr_expect_eq(allocs, 15411 + 625);
	cr_expect_eq(peak, 31112);
	mon_proc_release(&p);
}

Test(monitor, bad_input_gives_one_line)
{
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor", (const char *const[]){"/nonexistent.mpt", "--speed", "0", NULL});
	cr_expect_eq(p.status, 1);
	cr_expect(strncmp(p.err, "mpa-monitor: /nonexistent.mpt: ", 31) == 0, "%s", p.err);
	cr_expect_eq(nlines(p.err), 1, "%s", p.err);
	char demo[1024];
	snprintf(demo, sizeof demo, "%s/samples/demo.mpt", mon_src());
	mon_cli(&p, "mpa-monitor", (const char *const[]){demo, "--pid", "4242", "--speed", "0", NULL});
	cr_expect_eq(p.status, 1);
	cr_expect(strstr(p.err, "the selection is empty: no event of pid 4242 in the capture"), "%s", p.err);
	cr_expect_str_eq(p.out, "");
	mon_cli(&p, "mpa-monitor", (const char *const[]){"x.mpt", "--interval", "10", NULL});
	cr_expect_eq(p.status, 2);
	cr_expect(strstr(p.err, "--interval '10'"), "%s", p.err);
	mon_cli(&p, "mpa-monitor", (const char *const[]){"x.mpt", "--format", "xml", NULL});
	cr_expect_eq(p.status, 2);
	mon_cli(&p, "mpa-monitor", (const char *const[]){"x.mpt", "--speed", "-1", NULL});
	cr_expect_eq(p.status, 2);
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){"x.mpt", "--set", "monitoring.max_intervals=1", NULL});
	cr_expect_eq(p.status, 1);
	cr_expect(strstr(p.err, "max_intervals") || strstr(p.err, "x.mpt"), "%s", p.err);
	mon_proc_release(&p);
}

/* Hostile values in a valid capture: a clock that jumps to the end of
 * time, sizes near 2^64, 70 NUMA nodes, unknown frees, a thread that exits
 * twice.  One object per kept interval, no crash, no endless loop. */
Test(monitor, hostile_values_are_bounded)
{
	struct au_cap c;
	au_open(&c);
	uint32_t st = au_site(&c, "x", 1);
	au_alloc(&c, T0, 1, 0x1000, UINT64_MAX - 10, st);
	au_alloc(&c, T0 + 1, 1, 0x2000, 100, st);
	au_free(&c, T0 + 2, 1, 0x9999);
	for (int n = 0; n < 70; n++) {
		struct mpa_event e = {0};
		e.kind = MPA_KIND_NUMA_PLACE;
		e.ts = T0 + 3;
		e.pid = e.tid = 1;
		e.ptr = 0x2000;
		e.node = n;
		au_ev(&c, &e);
	}
	for (int k = 0; k < 2; k++) {
		struct mpa_event e = {0};
		e.kind = MPA_KIND_THREAD_EXIT;
		e.ts = T0 + 4;
		e.pid = e.tid = 1;
		au_ev(&c, &e);
	}
	au_free(&c, UINT64_MAX - 3, 1, 0x2000);
	au_alloc(&c, UINT64_MAX - 2, 1, 0x3000, 5, st);
	au_close(&c);
	struct mon_proc p = {0};
	mon_cli(&p, "mpa-monitor",
		(const char *const[]){c.path, "--interval", "1s", "--speed", "0", "--format", "json",
				      "--no-config", "--set", "monitoring.max_intervals=5", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	int n = nlines(p.out);
	cr_expect(n >= 2 && n <= 7, "%d lines:\n%s", n, p.out);
	for (int k = 0; k < n; k++)
		json_decref(line_json(p.out, k));
	json_t *last = line_json(p.out, n - 1);
	cr_expect_eq(geti(last, "live_blocks"), 2); /* the huge block and the last one */
	json_decref(last);
	au_rmrf(c.dir);
	mon_proc_release(&p);
}
