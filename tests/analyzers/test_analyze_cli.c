/* mpa-analyze as a user runs it: the leak gate, determinism, bad input,
 * configuration errors, lost-event banners, missing gnuplot. */
#include "analyze_test_util.h"

/* pid 100 exits with 150 bytes in 2 blocks; pid 200 still holds 1000. */
static void leaky_capture(struct au_cap *c)
{
	au_open(c);
	uint32_t f1 = au_site(c, "make_a", 10), f2 = au_site(c, "make_b", 20);
	au_alloc(c, 1000, 100, 0x1000, 100, f1);
	au_alloc(c, 1100, 100, 0x2000, 200, f2);
	au_alloc(c, 1200, 100, 0x3000, 50, f1);
	au_alloc(c, 1250, 200, 0x1000, 1000, f2);
	au_free(c, 1300, 100, 0x2000);
	au_exit(c, 5000, 100);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(analyze_cli, leak_gate)
{
	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", out, "--fail-on-leak", "100", "-q", NULL});
	cr_assert_eq(p.status, 3, "stderr: %s", p.err);
	cr_assert_str_eq(p.err, "mpa-analyze: leak gate: 150 bytes in 2 blocks not freed at exit (no reachability scan: kinds unknown) (limit 100)\n");
	cr_assert_str_eq(p.out, "");
	cr_assert(au_exists(out, "leak.json"), "the report is still written");
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", out, "--fail-on-leak=150", NULL});
	cr_assert_eq(p.status, 0, "stderr: %s", p.err);
	cr_assert(strstr(p.out, "leak: 150 bytes in 2 blocks not freed at exit (no reachability scan); 1000 bytes in 1 blocks live at capture end"),
		  "%s", p.out);
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", out, "--fail-on-leak", "-5", NULL});
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, "fail_on_leak"), "%s", p.err);
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", out, "--fail-on-leak", "lots", NULL});
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "--fail-on-leak"), "%s", p.err);
	au_rmrf(c.dir);
}

static void compare_dirs_skip(const char *a, const char *b, const char *rel,
			      const char *const *skip);

static void compare_dirs(const char *a, const char *b, const char *rel)
{
	compare_dirs_skip(a, b, rel, NULL);
}

/* Byte-for-byte, every file but the top-level ones named in skip. */
static void compare_dirs_skip(const char *a, const char *b, const char *rel,
			      const char *const *skip)
{
	char pa[1024], pb[1024];
	snprintf(pa, sizeof pa, "%s/%s", a, rel);
	snprintf(pb, sizeof pb, "%s/%s", b, rel);
	DIR *d = opendir(pa);
	cr_assert(d, "%s", pa);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int skipped = 0;
		for (const char *const *k = skip; !*rel && k && *k; k++)
			skipped |= !strcmp(de->d_name, *k);
		if (skipped)
			continue;
		char sub[600], fa[1700], fb[1700];
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(fa, sizeof fa, "%s/%s", a, sub);
		snprintf(fb, sizeof fb, "%s/%s", b, sub);
		struct stat st;
		cr_assert_eq(stat(fa, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			compare_dirs_skip(a, b, sub, NULL);
			continue;
		}
		cr_assert_null(strstr(de->d_name, ".tmp."), "temporary file left: %s", sub);
		size_t la = 0, lb = 0;
		char *x = au_slurp(fa, &la), *y = au_slurp(fb, &lb);
		cr_assert(x && y, "%s missing in one run", sub);
		cr_assert(la == lb && !memcmp(x, y, la), "%s differs between runs", sub);
		free(x);
		free(y);
		files++;
	}
	closedir(d);
	if (!*rel)
		cr_assert_gt(files, 5);
}

Test(analyze_cli, deterministic_outputs)
{
	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char out[300], moved[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	snprintf(moved, sizeof moved, "%s/first", c.dir);
	struct au_proc p;
	const char *args[] = {c.path, "--all", "-o", out, "--format", "csv,json,svg,png", NULL};
	au_cli(&p, NULL, NULL, args);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(rename(out, moved), 0);
	au_cli(&p, NULL, NULL, args);
	cr_assert_eq(p.status, 0, "%s", p.err);
	compare_dirs(out, moved, "");
	cr_assert(au_exists(out, "plots/leak_top_sites.svg"));
	cr_assert(au_exists(out, "plots/leak_top_sites.png"));
	char hp[600];
	snprintf(hp, sizeof hp, "%s/report.html", out);
	char *html = au_slurp(hp, NULL);
	/* plots are inlined (the page is one file): data URIs in its data */
	cr_assert(strstr(html, "\"name\":\"leak_top_sites\",\"src\":\"data:image/svg+xml;base64,"),
		  "report shows the plots");
	cr_assert(strstr(html, "<a href=\"leak_sites.csv\">"), "report links every output");
	free(html);
	au_rmrf(c.dir);
}

Test(analyze_cli, bad_capture_one_line_no_output)
{
	char dir[256], path[400], out[400];
	au_mkdtemp(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/junk.mpt", dir);
	snprintf(out, sizeof out, "%s/r", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "this is not a capture, just some text that is long enough to have a trailer\n");
	fclose(f);
	struct au_proc p;
	au_cli(&p, NULL, NULL, (const char *[]){path, "--all", "-o", out, NULL});
	cr_assert_eq(p.status, 1);
	cr_assert_eq(count_lines(p.err), 1, "one line: %s", p.err);
	cr_assert(!strncmp(p.err, "mpa-analyze: ", 13), "%s", p.err);
	cr_assert(strstr(p.err, "junk.mpt"), "names the file: %s", p.err);
	cr_assert_neq(access(out, F_OK), 0, "no output directory");
	/* a missing file */
	au_cli(&p, NULL, NULL, (const char *[]){"/nonexistent/x.mpt", "-o", out, NULL});
	cr_assert_eq(p.status, 1);
	cr_assert_eq(count_lines(p.err), 1, "%s", p.err);
	cr_assert_neq(access(out, F_OK), 0);
	au_rmrf(dir);

	/* a real capture cut short, and one with a flipped byte in a chunk */
	struct au_cap c;
	leaky_capture(&c);
	for (int i = 0; i < 200; i++)
		au_alloc(&c, 6000 + (uint64_t)i, 300, 0x100000 + (uint64_t)i * 64, 24, 0);
	au_close(&c);
	size_t len = 0;
	char *data = au_slurp(c.path, &len);
	snprintf(path, sizeof path, "%s/cut.mpt", c.dir);
	snprintf(out, sizeof out, "%s/r", c.dir);
	f = fopen(path, "wb");
	fwrite(data, 1, len / 2, f);
	fclose(f);
	au_cli(&p, NULL, NULL, (const char *[]){path, "-o", out, NULL});
	cr_assert_eq(p.status, 1);
	cr_assert_eq(count_lines(p.err), 1, "%s", p.err);
	cr_assert_neq(access(out, F_OK), 0);
	for (size_t off = 64; off < len / 2; off += 97) {
		snprintf(path, sizeof path, "%s/flip.mpt", c.dir);
		data[off] ^= 0x5a;
		f = fopen(path, "wb");
		fwrite(data, 1, len, f);
		fclose(f);
		data[off] ^= 0x5a;
		au_cli(&p, NULL, NULL, (const char *[]){path, "-o", out, NULL});
		cr_assert(p.status == 0 || p.status == 1, "offset %zu: status %d", off, p.status);
		if (p.status == 1) {
			cr_assert_eq(count_lines(p.err), 1, "offset %zu: %s", off, p.err);
			cr_assert_neq(access(out, F_OK), 0, "offset %zu: output dir left", off);
		}
		au_rmrf(out);
	}
	free(data);
	au_rmrf(c.dir);
}

Test(analyze_cli, config_file_errors_and_show_config)
{
	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char cfg[400], out[400];
	snprintf(cfg, sizeof cfg, "%s/.mpa.toml", c.dir);
	snprintf(out, sizeof out, "%s/r", c.dir);
	FILE *f = fopen(cfg, "w");
	fprintf(f, "[leak]\ngrowth_min_bytes = 10\n[alerts]\nmemory_pressure_threshhold = 5\n");
	fclose(f);
	struct au_proc p;
	/* read from the current directory */
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "-o", "r", NULL});
	cr_assert_eq(p.status, 1);
	cr_assert_str_eq(p.err, "mpa-analyze: .mpa.toml:4: unknown key 'memory_pressure_threshhold' in table '[alerts]'\n");
	cr_assert_neq(access(out, F_OK), 0);
	/* --no-config ignores it */
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "-o", "r", "--no-config", "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	/* --show-config: sources */
	f = fopen(cfg, "w");
	fprintf(f, "[leak]\ngrowth_min_bytes = 10\n");
	fclose(f);
	au_cli(&p, c.dir, NULL,
	       (const char *[]){"--show-config", "--set", "leak.top_blocks=7", "--pid", "42", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert(strstr(p.out, "growth_min_bytes = 10  # integer; from .mpa.toml:2;"), "%s", p.out);
	cr_assert(strstr(p.out, "top_blocks = 7  # integer; from command line;"), "%s", p.out);
	cr_assert(strstr(p.out, "pid = 42  # integer; from command line;"), "%s", p.out);
	cr_assert(strstr(p.out, "growth_min_age_s = 60.0  # float; from default;"), "%s", p.out);
	/* --config names another file (and the cwd one is not read) */
	char other[400];
	snprintf(other, sizeof other, "%s/other.toml", c.dir);
	f = fopen(other, "w");
	fprintf(f, "[visualization]\nformats = \"csv,pdf\"\n");
	fclose(f);
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "--config", other, NULL});
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "unknown format 'pdf'"), "%s", p.err);
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "--set", "leak.nokey=1", NULL});
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "unknown key 'nokey' in table '[leak]'"), "%s", p.err);
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "--bogus", NULL});
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "unknown option '--bogus'"), "%s", p.err);
	au_cli(&p, c.dir, NULL, (const char *[]){"cap.mpt", "--from", "yesterday", NULL});
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "bad time 'yesterday'"), "%s", p.err);
	au_rmrf(c.dir);
}

Test(analyze_cli, lost_events_banner)
{
	struct au_cap c;
	leaky_capture(&c);
	au_meta(&c, "lost_events", "5");
	struct mpa_event e = {0};
	e.kind = MPA_KIND_LOST;
	e.ts = 2000;
	e.size = 3;
	au_ev(&c, &e);
	au_close(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "-o", out, "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	/* the metadata total counts the lost records' events too (the
	 * converter adds each record's count to it): 5, not 5 + 3 */
	cr_assert(strstr(p.err, "mpa-analyze: WARNING: the capture lost 5 events: results may be partial"),
		  "%s", p.err);
	json_t *s = au_json(out, "summary.json");
	cr_assert(json_is_true(json_object_get(s, "incomplete")));
	cr_assert_eq(json_integer_value(json_object_get(s, "lost_events")), 5);
	cr_assert(strstr(json_string_value(json_object_get(s, "banner")), "lost 5 events"));
	cr_assert(json_is_true(json_object_get(
		json_object_get(json_object_get(s, "analyzers"), "leak"), "incomplete")));
	json_decref(s);
	char path[600];
	snprintf(path, sizeof path, "%s/report.html", out);
	char *html = au_slurp(path, NULL);
	cr_assert(strstr(html, "class=\"banner\">WARNING: the capture lost 5 events"), "banner in report");
	free(html);
	au_rmrf(c.dir);

	/* as the converter writes it: records and the same total, counted once */
	leaky_capture(&c);
	au_meta(&c, "lost_events", "3");
	au_ev(&c, &e);
	au_close(&c);
	snprintf(out, sizeof out, "%s/r", c.dir);
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "-o", out, "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	s = au_json(out, "summary.json");
	cr_assert_eq(json_integer_value(json_object_get(s, "lost_events")), 3);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(analyze_cli, no_gnuplot_keeps_scripts)
{
	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	au_cli(&p, NULL, (const char *[]){"MPA_GNUPLOT=/nonexistent/gnuplot", NULL},
	       (const char *[]){c.path, "--leak", "-o", out, "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert(strstr(p.err, "gnuplot not found: plots left as gnuplot scripts and data"), "%s", p.err);
	cr_assert(au_exists(out, "plots/leak_top_sites.gp"));
	cr_assert(au_exists(out, "plots/leak_top_sites.dat"));
	cr_assert(!au_exists(out, "plots/leak_top_sites.svg"));
	au_rmrf(c.dir);
}

Test(analyze_cli, list_and_selection)
{
	struct au_proc p;
	au_cli(&p, NULL, NULL, (const char *[]){"--list", NULL});
	cr_assert_eq(p.status, 0);
	cr_assert(strstr(p.out, "\n  leak\n"), "%s", p.out);
	cr_assert(strstr(p.out, "kinds: alloc free realloc map unmap"), "%s", p.out);
	cr_assert(strstr(p.out, "columns: kind ts pid"), "%s", p.out);
	cr_assert(strstr(p.out, "[leak] growth_min_age_s = 60"), "%s", p.out);

	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char cfg[400], out[400];
	snprintf(cfg, sizeof cfg, "%s/c.toml", c.dir);
	snprintf(out, sizeof out, "%s/r", c.dir);
	FILE *f = fopen(cfg, "w");
	fprintf(f, "[alerts]\nleak_detection_enabled = false\n");
	fclose(f);
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--all", "--config", cfg, "-o", out, "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert(!au_exists(out, "leak.json"), "leak detection disabled under --all");
	json_t *s = au_json(out, "summary.json");
	cr_assert_null(json_object_get(json_object_get(s, "analyzers"), "leak"));
	json_decref(s);
	au_rmrf(out);
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "--config", cfg, "-o", out, "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert(au_exists(out, "leak.json"), "an explicit --leak still runs");
	au_rmrf(c.dir);
}

Test(analyze_cli, suppressions_flag_and_pid)
{
	struct au_cap c;
	leaky_capture(&c);
	au_close(&c);
	char supp[400], out[400];
	snprintf(supp, sizeof supp, "%s/s.supp", c.dir);
	snprintf(out, sizeof out, "%s/r", c.dir);
	FILE *f = fopen(supp, "w");
	fprintf(f, "leak:make_a\n");
	fclose(f);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", out, "--suppressions", supp,
				"--fail-on-leak", "0", NULL});
	cr_assert_eq(p.status, 0, "all definite bytes suppressed: %s", p.err);
	json_t *s = au_json(out, "summary.json");
	cr_assert_eq(au_get(s, "leak", "suppressed", "bytes"), 150);
	json_decref(s);
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "-o", out, "--pid", "200", "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	s = au_json(out, "summary.json");
	cr_assert_eq(au_get(s, "leak", "not_freed_at_exit", "bytes"), 0);
	cr_assert_eq(au_get(s, "leak", "live_at_end", "bytes"), 1000);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "scan"), "pid")), 200);
	json_decref(s);
	au_rmrf(c.dir);
}

Test(analyze_cli, parallel_decoding_gives_the_same_report)
{
	struct au_cap c;
	au_open(&c);
	uint32_t f = au_site(&c, "w", 1), g = au_site(&c, "v", 2);
	for (uint64_t i = 0; i < 3000; i++) {
		au_alloc(&c, 10 * i, (int32_t)(1 + i % 3), 0x1000 + (i % 500) * 32, 8 + i % 100,
			 i % 7 ? f : g);
		if (i % 5)
			au_free(&c, 10 * i + 5, (int32_t)(1 + i % 3), 0x1000 + (i % 500) * 32);
	}
	au_close(&c);
	char o1[300], o3[300], p1[400], p3[400];
	snprintf(o1, sizeof o1, "%s/one", c.dir);
	snprintf(o3, sizeof o3, "%s/three", c.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", o1, "-q", "--set", "monitoring.decode_threads=1", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	au_cli(&p, NULL, NULL,
	       (const char *[]){c.path, "--leak", "-o", o3, "-q", "--set", "monitoring.decode_threads=3", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	const char *files[] = {"leak.json", "leak_sites.csv", "leak_anomalies.csv", "leak_blocks.csv"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p1, sizeof p1, "%s/%s", o1, files[i]);
		snprintf(p3, sizeof p3, "%s/%s", o3, files[i]);
		char *a = au_slurp(p1, NULL), *b = au_slurp(p3, NULL);
		cr_assert(a && b);
		cr_assert_str_eq(a, b, "%s differs", files[i]);
		free(a);
		free(b);
	}
	json_t *s = au_json(o3, "summary.json");
	cr_assert_gt(au_get(s, "leak", "anomalies", "alloc_of_live_pointer"), 0);
	json_decref(s);
	au_rmrf(c.dir);
}

/* Analyzers on their own threads (each consuming the same batches) must give
 * exactly the outputs of the sequential run, whatever the decoding threads. */
Test(analyze_cli, decoding_threads_give_the_same_report)
{
	struct au_cap c;
	au_open(&c);
	uint32_t f = au_site(&c, "w", 1), g = au_site(&c, "v", 2), h = au_site(&c, "u", 3);
	au_exec(&c, 1, 1, "/usr/bin/prog");
	for (uint64_t i = 0; i < 4000; i++) {
		int32_t pid = (int32_t)(1 + i % 3);
		uint64_t p = 0x1000 + (i % 600) * 32;
		au_alloc(&c, 10 * i + 2, pid, p, 8 + i % 300, i % 7 ? f : g);
		if (i % 11 == 3)
			au_realloc(&c, 10 * i + 4, pid, p, p + 0x100000, 64 + i % 50, h);
		else if (i % 5)
			au_free(&c, 10 * i + 5, pid, p);
	}
	au_exit(&c, 50000, 2);
	au_close(&c);
	const char *sets[][2] = {{"monitoring.decode_threads=1", "monitoring.pid=0"},
				 {"monitoring.decode_threads=2", "monitoring.pid=0"},
				 {"monitoring.decode_threads=0", "monitoring.pid=0"}};
	char out[3][300];
	for (int k = 0; k < 3; k++) {
		snprintf(out[k], sizeof out[k], "%s/r%d", c.dir, k);
		struct au_proc p;
		au_cli(&p, NULL, NULL,
		       (const char *[]){c.path, "--all", "-o", out[k], "-q", "--format", "csv,json",
					"--set", sets[k][0], "--set", sets[k][1], NULL});
		cr_assert_eq(p.status, 0, "%s", p.err);
	}
	/* summary.json and report.html show the settings and the directory */
	static const char *const skip[] = {"summary.json", "report.html", NULL};
	for (int k = 1; k < 3; k++) {
		compare_dirs_skip(out[0], out[k], "", skip);
		json_t *a = au_json(out[0], "summary.json"), *b = au_json(out[k], "summary.json");
		cr_assert(a && b);
		json_object_del(a, "config");
		json_object_del(b, "config");
		cr_assert(json_equal(a, b), "summary.json differs (run %d)", k);
		json_decref(a);
		json_decref(b);
	}
	json_t *s = au_json(out[0], "summary.json");
	cr_assert_gt(au_get(s, "leak", "not_freed_at_exit", "bytes"), 0);
	cr_assert(au_exists(out[0], "timeline_timeline.csv"));
	json_decref(s);
	au_rmrf(c.dir);
}

Test(analyze_cli, empty_capture_and_csv_only)
{
	struct au_cap c;
	au_open(&c);
	au_close(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--all", "-o", out, "--format", "csv", "-q", NULL});
	cr_assert_eq(p.status, 0, "%s", p.err);
	json_t *s = au_json(out, "summary.json");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "scan"), "rows")), 0);
	cr_assert_eq(au_get(s, "leak", "not_freed_at_exit", "bytes"), 0);
	cr_assert(json_is_false(json_object_get(s, "incomplete")));
	json_decref(s);
	cr_assert(au_exists(out, "leak_sites.csv"));
	cr_assert(au_exists(out, "report.html"));
	cr_assert(!au_exists(out, "leak.json"), "json not asked for");
	cr_assert(!au_exists(out, "plots"), "no plots asked for");
	/* a window after the end of the capture, or a pid that is not in it:
	 * the selection is empty, said clearly, and nothing is written */
	au_rmrf(c.dir);
	leaky_capture(&c);
	au_close(&c);
	snprintf(out, sizeof out, "%s/r", c.dir);
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "-o", out, "--from", "100s", "-q", NULL});
	cr_assert_eq(p.status, 1, "%s", p.err);
	cr_assert(strstr(p.err, "the selection is empty: --from '100s'"), "%s", p.err);
	cr_assert(!au_exists(out, "summary.json"));
	au_cli(&p, NULL, NULL, (const char *[]){c.path, "--leak", "-o", out, "--pid", "4242", "-q", NULL});
	cr_assert_eq(p.status, 1, "%s", p.err);
	cr_assert_str_eq(p.err, "mpa-analyze: the selection is empty: no event of pid 4242 in the capture\n");
	cr_assert(!au_exists(out, "summary.json"));
	au_rmrf(c.dir);
}
