/* mpa-analyze --export: folded stacks, speedscope (validated against
 * speedscope's published schema, vendored in tests/export/speedscope/) and
 * Chrome trace events, exactly, on a writer-built capture. */
#include "analyze_test_util.h"

/* alpha leaks 100; beta allocates 300 + 40 (leaks 40); tmp is a temporary */
static void capture(struct au_cap *c)
{
	au_open(c);
	uint32_t a = au_site(c, "alpha", 10), b = au_site(c, "beta", 20), t = au_site(c, "tmp", 30);
	au_alloc(c, 100, 7, 0x1000, 100, a);
	au_alloc(c, 200, 7, 0x2000, 300, b);
	au_alloc(c, 300, 7, 0x3000, 50, t);
	au_free(c, 310, 7, 0x3000);
	au_free(c, 500, 7, 0x2000);
	au_alloc(c, 700, 7, 0x5000, 40, b);
	au_exit(c, 800, 7);
	au_close(c);
}

static char *slurp_in(const char *dir, const char *name)
{
	char p[800];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	char *s = au_slurp(p, NULL);
	cr_assert(s, "%s missing", p);
	return s;
}

Test(export, folded_speedscope_perfetto)
{
	struct au_cap c;
	capture(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	const char *args[] = {c.path, "--leak", "--timeline", "--flame", "-o", out, "-q",
			      "--export", "folded,speedscope,perfetto", NULL};
	au_cli(&p, NULL, NULL, args);
	cr_assert_eq(p.status, 0, "%s", p.err);

	/* folded: root first, the preload's malloc left out, one line a stack */
	char *f = slurp_in(out, "export/leaked_bytes.folded");
	/* in the stacks table's order: allocated bytes first */
	cr_assert_str_eq(f, "main;beta 40\nmain;alpha 100\n");
	free(f);
	f = slurp_in(out, "export/allocated_bytes.folded");
	cr_assert_str_eq(f, "main;beta 340\nmain;alpha 100\nmain;tmp 50\n");
	free(f);
	f = slurp_in(out, "export/temporary.folded");
	cr_assert_str_eq(f, "main;tmp 1\n");
	free(f);

	/* speedscope: valid against the published schema, one profile a weight */
	const char *src = getenv("MPA_SRC");
	cr_assert(src);
	char cmd[2400];
	snprintf(cmd, sizeof cmd,
		 "python3 -c 'import json,sys,jsonschema; "
		 "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "
		 "'%s/export/speedscope.json' '%s/tests/export/speedscope/file-format-schema.json'",
		 out, src);
	cr_assert_eq(system(cmd), 0, "speedscope.json does not validate (python3-jsonschema in DEB_PACKAGES)");
	json_t *ss = au_json(out, "export/speedscope.json");
	json_t *prof = json_object_get(ss, "profiles");
	cr_assert_eq(json_array_size(prof), 5);
	json_t *leaked = json_array_get(prof, 0);
	cr_assert_str_eq(json_string_value(json_object_get(leaked, "unit")), "bytes");
	cr_assert_eq(json_integer_value(json_object_get(leaked, "endValue")), 140);
	cr_assert_eq(json_array_size(json_object_get(leaked, "samples")), 2);
	json_t *calls = json_array_get(prof, 3);
	cr_assert_str_eq(json_string_value(json_object_get(calls, "unit")), "none");
	cr_assert_eq(json_integer_value(json_object_get(calls, "endValue")), 4);
	json_decref(ss);

	/* Chrome trace events: counters for the total and the process, the
	 * peak and the leak alert as instant events */
	json_t *tr = au_json(out, "export/trace.json");
	json_t *ev = json_object_get(tr, "traceEvents");
	cr_assert(json_array_size(ev) > 10);
	double max_total = 0, max_proc = 0;
	int peak = 0, alert = 0, pname = 0;
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e) {
		const char *ph = json_string_value(json_object_get(e, "ph"));
		const char *nm = json_string_value(json_object_get(e, "name"));
		cr_assert(ph && nm && json_is_integer(json_object_get(e, "pid")));
		cr_assert(!strcmp(ph, "C") || !strcmp(ph, "M") || !strcmp(ph, "i"), "phase %s", ph);
		json_int_t pid = json_integer_value(json_object_get(e, "pid"));
		if (!strcmp(ph, "C")) {
			cr_assert(json_is_number(json_object_get(e, "ts")));
			double v = json_number_value(json_object_get(json_object_get(e, "args"), "bytes"));
			if (!strcmp(nm, "live heap") && pid == 0 && v > max_total)
				max_total = v;
			if (!strcmp(nm, "live heap") && pid == 7000 && v > max_proc)
				max_proc = v;
		} else if (!strcmp(ph, "i")) {
			if (!strcmp(nm, "peak heap")) {
				peak = 1;
				cr_assert_eq(json_integer_value(json_object_get(json_object_get(e, "args"), "bytes")), 450);
			}
			/* a capture without the exit scan: its leak alert says "not
			 * freed at exit" (doc/analyzers-leak-kinds.md) */
			if (!strcmp(nm, "not_freed_at_exit"))
				alert = 1;
		} else if (!strcmp(nm, "process_name") && pid == 7000) {
			pname = 1;
		}
	}
	cr_assert_float_eq(max_total, 450, 1e-9);
	cr_assert_float_eq(max_proc, 450, 1e-9);
	cr_assert(peak && alert && pname);
	json_decref(tr);
	au_rmrf(c.dir);
}

Test(export, bad_or_unfed_exports_are_one_line)
{
	struct au_cap c;
	capture(&c);
	char out[400];
	snprintf(out, sizeof out, "%s/r", c.dir);
	struct au_proc p;
	const char *bad[] = {c.path, "-o", out, "--export", "svgz", NULL};
	au_cli(&p, NULL, NULL, bad);
	cr_assert_eq(p.status, 2);
	cr_assert(strstr(p.err, "unknown format 'svgz'"), "%s", p.err);
	/* folded needs the flame analyzer */
	const char *nofl[] = {c.path, "--leak", "-o", out, "-q", "--export", "folded", NULL};
	au_cli(&p, NULL, NULL, nofl);
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, "need --flame"), "%s", p.err);
	cr_assert_eq(strchr(p.err, '\n'), strrchr(p.err, '\n'), "one line: %s", p.err);
	au_rmrf(c.dir);
}
