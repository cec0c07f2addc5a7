/* The configuration reader (.mpa.toml) and the shared emitters' formats. */
#include "analyze_test_util.h"

static mpa_config *cfg_new(void)
{
	char err[512];
	mpa_config *c = mpa_config_create(err, sizeof err);
	cr_assert(c, "%s", err);
	return c;
}

static int load(mpa_config *c, const char *text, char *err, size_t errlen)
{
	return mpa_config_load_text(c, text, strlen(text), ".mpa.toml", err, errlen);
}

Test(analyze_config, defaults_and_values)
{
	mpa_config *c = cfg_new();
	cr_assert_eq(mpa_config_int(c, "leak", "growth_min_bytes"), 1024);
	cr_assert_float_eq(mpa_config_float(c, "leak", "growth_min_age_s"), 60.0, 1e-12);
	cr_assert_eq(mpa_config_bool(c, "alerts", "leak_detection_enabled"), 1);
	cr_assert_str_eq(mpa_config_string(c, "visualization", "formats"), "csv,json,svg");
	char err[512];
	const char *text =
		"# a comment\n"
		"[leak]  # trailing comment\n"
		"growth_min_bytes = 4_096\n"
		"growth_min_age_s = 1.5e1\n"
		"suppressions = \"a \\\"b\\\" \\u00e9\"\n"
		"\n"
		"[alerts]\r\n"
		"leak_detection_enabled = false\r\n"
		"fragmentation_threshold = 1   # an integer is a fine float\n"
		"[visualization]\n"
		"output_dir = 'C:\\raw\\path'\n"
		"plot_width = 0x400\n";
	cr_assert_eq(load(c, text, err, sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_config_int(c, "leak", "growth_min_bytes"), 4096);
	cr_assert_float_eq(mpa_config_float(c, "leak", "growth_min_age_s"), 15.0, 1e-12);
	cr_assert_str_eq(mpa_config_string(c, "leak", "suppressions"), "a \"b\" \xc3\xa9");
	cr_assert_eq(mpa_config_bool(c, "alerts", "leak_detection_enabled"), 0);
	cr_assert_float_eq(mpa_config_float(c, "alerts", "fragmentation_threshold"), 1.0, 1e-12);
	cr_assert_str_eq(mpa_config_string(c, "visualization", "output_dir"), "C:\\raw\\path");
	cr_assert_eq(mpa_config_int(c, "visualization", "plot_width"), 1024);
	/* command line on top */
	cr_assert_eq(mpa_config_set(c, "leak", "growth_min_bytes", "7", "command line", err,
				    sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_config_int(c, "leak", "growth_min_bytes"), 7);
	cr_assert_eq(mpa_config_set(c, "leak", "suppressions", "/x/y z", "command line", err,
				    sizeof err), 0);
	cr_assert_str_eq(mpa_config_string(c, "leak", "suppressions"), "/x/y z");

	/* --show-config: every value with its source, parseable back */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(mpa_config_write(c, f), 0);
	fclose(f);
	cr_assert(strstr(buf, "growth_min_bytes = 7  # integer; from command line;"), "%s", buf);
	cr_assert(strstr(buf, "growth_min_age_s = 15.0  # float; from .mpa.toml:4;"), "%s", buf);
	cr_assert(strstr(buf, "leak_detection_enabled = false  # boolean; from .mpa.toml:8;"), "%s", buf);
	cr_assert(strstr(buf, "top_blocks = 100  # integer; from default;"), "%s", buf);
	mpa_config *c2 = cfg_new();
	cr_assert_eq(load(c2, buf, err, sizeof err), 0, "show-config output must load: %s", err);
	cr_assert_eq(mpa_config_int(c2, "leak", "growth_min_bytes"), 7);
	cr_assert_str_eq(mpa_config_string(c2, "visualization", "output_dir"), "C:\\raw\\path");
	free(buf);
	mpa_config_free(c2);
	mpa_config_free(c);
}

struct bad {
	const char *text, *msg;
};

Test(analyze_config, errors_name_file_and_line)
{
	static const struct bad cases[] = {
		{"[nope]\n", ".mpa.toml:1: unknown table '[nope]'"},
		{"[leak]\n\nbogus = 1\n", ".mpa.toml:3: unknown key 'bogus' in table '[leak]'"},
		{"[leak]\ngrowth_min_bytes = \"x\"\n", ".mpa.toml:2: 'growth_min_bytes' in [leak] must be an integer"},
		{"[leak]\ngrowth_min_bytes = 1.5\n", ".mpa.toml:2: 'growth_min_bytes' in [leak] must be an integer"},
		{"[alerts]\nleak_detection_enabled = yes\n", ".mpa.toml:2: 'leak_detection_enabled' in [alerts]: bad value"},
		{"[leak]\nsuppressions = \"abc\n", ".mpa.toml:2: 'suppressions' in [leak]: unterminated string"},
		{"growth_min_bytes = 1\n", ".mpa.toml:1: key 'growth_min_bytes' outside a table"},
		{"[leak]\ngrowth_min_bytes = 1 2\n", ".mpa.toml:2: 'growth_min_bytes' in [leak]: unexpected text after the value"},
		{"[leak]\ngrowth_min_bytes = 1\ngrowth_min_bytes = 2\n", ".mpa.toml:3: key 'growth_min_bytes' set twice in table '[leak]'"},
		{"[leak]\n[leak]\n", ".mpa.toml:2: table '[leak]' defined twice"},
		{"[leak.x]\n", ".mpa.toml:1: nested tables are not supported"},
		{"[[leak]]\n", ".mpa.toml:1: arrays of tables are not supported"},
		{"[leak]\ngrowth_min_bytes = [1]\n", "arrays and inline tables are not supported"},
		{"[leak]\ngrowth_min_bytes = 99999999999999999999\n", "integer out of range"},
		{"[leak]\ngrowth_min_age_s = nan\n", "inf and nan are not allowed"},
		{"[leak]\ngrowth_min_bytes = 012\n", "leading zeros are not allowed"},
		{"[leak]\ngrowth_min_bytes = 1__0\n", "bad value"},
		{"[leak]\ngrowth_min_bytes\n", ".mpa.toml:2: expected '=' after the key"},
		{"[leak\n", ".mpa.toml:1: bad table header"},
		{"[leak]\nsuppressions = \"\\q\"\n", "unknown escape '\\q'"},
		{"[leak]\nsuppressions = \"\"\"x\"\"\"\n", "multi-line strings are not supported"},
		{"[leak]\na.b = 1\n", ".mpa.toml:2: dotted keys are not supported"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		mpa_config *c = cfg_new();
		char err[512] = "";
		cr_assert_eq(load(c, cases[i].text, err, sizeof err), -1, "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].msg), "case %zu: got '%s', want '%s'", i, err,
			  cases[i].msg);
		cr_assert_null(strchr(err, '\n'), "one line");
		mpa_config_free(c);
	}
	/* NUL byte */
	mpa_config *c = cfg_new();
	char err[512];
	cr_assert_eq(mpa_config_load_text(c, "[leak]\0", 7, "f", err, sizeof err), -1);
	cr_assert(strstr(err, "NUL byte"), "%s", err);
	/* set errors */
	cr_assert_eq(mpa_config_set(c, "leak", "nokey", "1", "cl", err, sizeof err), -1);
	cr_assert(strstr(err, "unknown key 'nokey' in table '[leak]'"), "%s", err);
	cr_assert_eq(mpa_config_set(c, "zzz", "k", "1", "cl", err, sizeof err), -1);
	cr_assert(strstr(err, "unknown table '[zzz]'"), "%s", err);
	cr_assert_eq(mpa_config_set(c, "leak", "top_blocks", "ten", "cl", err, sizeof err), -1);
	/* a missing file */
	cr_assert_eq(mpa_config_load_file(c, "/nonexistent/.mpa.toml", err, sizeof err), -1);
	cr_assert(strstr(err, "'/nonexistent/.mpa.toml': No such file"), "%s", err);
	mpa_config_free(c);
}

static const struct mpa_option opt_a[] = {{"leak", "top_blocks", MPA_OPT_INT, "100", "x"},
					  {NULL, NULL, 0, NULL, NULL}};
static const struct mpa_option opt_b[] = {{"leak", "top_blocks", MPA_OPT_INT, "5", "x"},
					  {NULL, NULL, 0, NULL, NULL}};

Test(analyze_config, duplicate_declarations)
{
	mpa_config *c = cfg_new();
	char err[512];
	/* the same declaration twice is fine; a different default is not */
	cr_assert_eq(mpa_config_declare(c, "other", opt_a, err, sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_config_declare(c, "other", opt_b, err, sizeof err), -1);
	cr_assert(strstr(err, "declared by leak and other"), "%s", err);
	mpa_config_free(c);
}

Test(analyze_config, time_and_formats)
{
	uint64_t v;
	int abs;
	char err[256];
	struct mpt_error te;
	/* mpa-analyze's --from/--to go through libmpt's one parser */
	cr_assert_eq(mpt_time_parse("1.5", &v, &abs, &te), MPT_OK);
	cr_assert_eq(v, 1500000000);
	cr_assert_eq(abs, 0);
	cr_assert_eq(mpt_time_parse("200ms", &v, &abs, &te), MPT_OK);
	cr_assert_eq(v, 200000000);
	cr_assert_eq(mpt_time_parse("30us", &v, &abs, &te), MPT_OK);
	cr_assert_eq(v, 30000);
	cr_assert_eq(mpt_time_parse("7ns", &v, &abs, &te), MPT_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(mpt_time_parse("@123456789012", &v, &abs, &te), MPT_OK);
	cr_assert_eq(v, 123456789012ull);
	cr_assert_eq(abs, 1);
	const char *bad[] = {"", "-1", "1h", "x", "@", "@-5", "1e400", "nan"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_neq(mpt_time_parse(bad[i], &v, &abs, &te), MPT_OK, "'%s'", bad[i]);
	unsigned f;
	cr_assert_eq(mpa_formats_parse("csv,json", &f, err, sizeof err), 0);
	cr_assert_eq(f, MPA_FMT_CSV | MPA_FMT_JSON);
	cr_assert_eq(mpa_formats_parse("svg, png", &f, err, sizeof err), 0);
	cr_assert_eq(f, MPA_FMT_SVG | MPA_FMT_PNG);
	cr_assert_eq(mpa_formats_parse("csv,pdf", &f, err, sizeof err), -1);
	cr_assert(strstr(err, "unknown format 'pdf'"), "%s", err);
	char b[64];
	mpa_fmt_double(b, sizeof b, 0.1);
	cr_assert_str_eq(b, "0.1");
	mpa_fmt_double(b, sizeof b, -0.0);
	cr_assert_str_eq(b, "0");
	mpa_fmt_double(b, sizeof b, 12345.5);
	cr_assert_str_eq(b, "12345.5");
	mpa_fmt_double(b, sizeof b, 3.0);
	cr_assert_str_eq(b, "3");
	mpa_fmt_double(b, sizeof b, 1e-7);
	cr_assert_str_eq(b, "1e-07");
}

/* The emitters through a tiny analyzer-less output set. */
Test(analyze_emit, csv_json_plot_files)
{
	char dir[256], err[256];
	au_mkdtemp(dir, sizeof dir);
	struct mpa_outset *s = mpa_outset_create(dir, MPA_FMT_CSV | MPA_FMT_JSON | MPA_FMT_SVG,
						 400, 300, err, sizeof err);
	cr_assert(s, "%s", err);
	json_t *sum = json_object();
	mpa_out *o = mpa_out_create(s, "demo", sum);
	static const char *const h[] = {"name", "count", "delta", "ratio"};
	mpa_table *t = mpa_table_open(o, "rows", 4, h);
	cr_assert(t);
	mpa_table_str(t, "plain");
	mpa_table_u64(t, 18446744073709551615ull);
	mpa_table_i64(t, -5);
	mpa_table_f64(t, 0.25);
	cr_assert_eq(mpa_table_end_row(t), 0);
	mpa_table_str(t, "with \"quotes\", commas\nand newline");
	mpa_table_u64(t, 0);
	mpa_table_i64(t, 0);
	mpa_table_f64(t, 1.0 / 3.0);
	cr_assert_eq(mpa_table_end_row(t), 0);
	/* no temporary name survives; the final name appears only at close */
	char path[600];
	snprintf(path, sizeof path, "%s/demo_rows.csv", dir);
	cr_assert_neq(access(path, F_OK), 0, "the CSV must not appear before it is complete");
	cr_assert_eq(mpa_table_close(t), 0);
	char *csv = au_slurp(path, NULL);
	cr_assert_str_eq(csv, "\"name\",\"count\",\"delta\",\"ratio\"\n"
			      "\"plain\",18446744073709551615,-5,0.25\n"
			      "\"with \"\"quotes\"\", commas\nand newline\",0,0,0.333333\n");
	free(csv);
	/* a bad row is an error */
	t = mpa_table_open(o, "bad", 2, h);
	mpa_table_str(t, "only one");
	cr_assert_eq(mpa_table_end_row(t), -1);
	cr_assert_eq(mpa_table_close(t), -1);
	snprintf(path, sizeof path, "%s/demo_bad.csv", dir);
	cr_assert_neq(access(path, F_OK), 0);

	json_object_set_new(mpa_out_json(o), "zeta", json_integer(1));
	json_object_set_new(mpa_out_json(o), "alpha", json_real(0.5));
	mpa_plot *p = mpa_plot_open(o, "sizes", "Sizes \"quoted\"", "x", "y", MPA_PLOT_BOXES);
	cr_assert(p);
	mpa_plot_series(p, "s1");
	mpa_plot_label(p, 0, 10, "first_label");
	mpa_plot_label(p, 1, 20, "second \"one\"");
	cr_assert_eq(mpa_plot_close(p), 0);
	cr_assert_eq(mpa_out_finish(o), 0, "%s", mpa_out_error(o));
	mpa_out_free(o);
	char *js = au_slurp((snprintf(path, sizeof path, "%s/demo.json", dir), path), NULL);
	cr_assert_str_eq(js, "{\n  \"alpha\": 0.5,\n  \"zeta\": 1\n}\n");
	free(js);
	snprintf(path, sizeof path, "%s/plots/demo_sizes.dat", dir);
	char *dat = au_slurp(path, NULL);
	cr_assert(strstr(dat, "0 10 \"first_label\"\n1 20 \"second 'one'\"\n"), "%s", dat);
	free(dat);
	char note[512];
	int rc = mpa_outset_render(s, note, sizeof note, err, sizeof err);
	cr_assert_eq(rc, 0, "%s %s", err, note);
	snprintf(path, sizeof path, "%s/plots/demo_sizes.svg", dir);
	char *svg = au_slurp(path, NULL);
	cr_assert(svg && strstr(svg, "<svg"), "rendered svg");
	cr_assert(strstr(svg, "first_label"), "labels reach the plot untouched (noenhanced)");
	free(svg);
	json_t *files = mpa_outset_files_json(s);
	cr_assert_eq(json_array_size(files), 5); /* csv, json, dat, gp, svg */
	json_decref(files);
	mpa_outset_free(s);
	json_decref(sum);
	au_rmrf(dir);
}
