/* mpa-analyze — run the analyzers over a capture in one pass and write a
 * report directory (CSV, JSON, plots, summary.json, report.html).
 *
 * Exit status: 0 success, 1 error, 2 usage error, 3 leak gate exceeded
 * (--fail-on-leak).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framework.h"

#define PROG "mpa-analyze"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " CAPTURE.mpt [--all | --NAME ...] [-o DIR] [--format LIST]\n"
		"                   [--config FILE | --no-config] [--from T] [--to T] [--pid P]\n"
		"                   [--suppressions FILE] [--fail-on-leak BYTES] [--set SECTION.KEY=VALUE]\n"
		"       " PROG " --list\n"
		"       " PROG " --show-config [--config FILE] [options]\n"
		"\n"
		"  --all               run every analyzer (the default when none is named)\n"
		"  --NAME              run analyzer NAME (see --list)\n"
		"  -o, --output DIR    report directory (default mpa-report)\n"
		"  --format LIST       any of csv,json,svg,png (default csv,json,svg)\n"
		"  --config FILE       configuration file (default ./.mpa.toml when present)\n"
		"  --no-config         ignore ./.mpa.toml\n"
		"  --from T, --to T    analyze [T1, T2): seconds from the capture start (1.5, 200ms,\n"
		"                      30us, 100ns) or @NS for an absolute timestamp\n"
		"  --pid P             only process P\n"
		"  --suppressions FILE leak suppressions ('leak:PATTERN' lines)\n"
		"  --fail-on-leak B    exit 3 when more than B bytes are definitely lost\n"
		"  --set S.K=V         set configuration key K of table [S]\n"
		"  -q, --quiet         print only errors and the leak gate\n"
		"  --list              list analyzers, the kinds and columns each reads, their options\n"
		"  --show-config       print every effective setting and where it came from\n");
}

static const struct mpa_analyzer *find_analyzer(const char *name)
{
	for (size_t i = 0; mpa_analyzers[i]; i++)
		if (!strcmp(mpa_analyzers[i]->name, name))
			return mpa_analyzers[i];
	return NULL;
}

static void list_analyzers(void)
{
	printf("analyzers (select with --NAME, or --all):\n");
	for (size_t i = 0; mpa_analyzers[i]; i++) {
		const struct mpa_analyzer *a = mpa_analyzers[i];
		printf("\n  %s\n      %s\n      kinds:", a->name, a->summary ? a->summary : "");
		if (!a->kinds)
			printf(" all");
		for (unsigned k = 1; k < MPA_KIND_COUNT_; k++)
			if ((a->kinds & MPT_KINDBIT(k)) && mpa_kind_name(k))
				printf(" %s", mpa_kind_name(k));
		printf("\n      columns:");
		for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
			if ((a->columns & MPT_COLBIT(c)) && mpt_column_name(c))
				printf(" %s", mpt_column_name(c));
		printf("\n");
		if (a->options && a->options[0].section) {
			printf("      options:\n");
			for (const struct mpa_option *o = a->options; o->section; o++)
				printf("        [%s] %s = %s  # %s\n", o->section, o->key, o->def,
				       o->help ? o->help : "");
		}
	}
	printf("\n  (framework)\n      options:\n");
	for (const struct mpa_option *o = mpa_framework_options; o->section; o++)
		printf("        [%s] %s = %s  # %s\n", o->section, o->key, o->def,
		       o->help ? o->help : "");
}

struct setting {
	const char *section, *key, *value;
	char buf[256];
};

/* What main() allocates, released on every way out. */
static mpa_config *g_cfg;
static const struct mpa_analyzer **g_sel, **g_run;
static struct setting *g_sets;

static int done(int rc)
{
	mpa_config_free(g_cfg);
	free(g_sel);
	free(g_run);
	free(g_sets);
	g_cfg = NULL;
	g_sel = g_run = NULL;
	g_sets = NULL;
	return rc;
}

/* "--name=value" or "--name value". */
static int take_arg(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, PROG ": option '%s' needs a value\n", name);
		exit(done(2));
	}
	*val = argv[++*i];
	return 1;
}

int main(int argc, char **argv)
{
	const char *capture = NULL, *config_path = NULL;
	int all = 0, list = 0, show = 0, no_config = 0, quiet = 0, gate_cli = 0;
	size_t nsel = 0;
	size_t nana = 0;
	while (mpa_analyzers[nana])
		nana++;
	const struct mpa_analyzer **sel = g_sel = calloc(nana + 1, sizeof *sel);
	struct setting *sets = g_sets = calloc((size_t)argc + 1, sizeof *sets);
	size_t nsets = 0;
	char err[1024];
	if (!sel || !sets) {
		fprintf(stderr, PROG ": out of memory\n");
		return done(1);
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return done(0);
		} else if (!strcmp(a, "--version")) {
			printf(PROG " %s\n", MPA_ANALYZE_VERSION);
			return done(0);
		} else if (!strcmp(a, "--all")) {
			all = 1;
		} else if (!strcmp(a, "--list")) {
			list = 1;
		} else if (!strcmp(a, "--show-config")) {
			show = 1;
		} else if (!strcmp(a, "--no-config")) {
			no_config = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (take_arg(argc, argv, &i, "--config", &v)) {
			config_path = v;
		} else if (take_arg(argc, argv, &i, "-o", &v) ||
			   take_arg(argc, argv, &i, "--output", &v)) {
			sets[nsets++] = (struct setting){"visualization", "output_dir", v, ""};
		} else if (take_arg(argc, argv, &i, "--format", &v)) {
			sets[nsets++] = (struct setting){"visualization", "formats", v, ""};
		} else if (take_arg(argc, argv, &i, "--from", &v)) {
			sets[nsets++] = (struct setting){"monitoring", "from", v, ""};
		} else if (take_arg(argc, argv, &i, "--to", &v)) {
			sets[nsets++] = (struct setting){"monitoring", "to", v, ""};
		} else if (take_arg(argc, argv, &i, "--pid", &v)) {
			char *end;
			errno = 0;
			long p = strtol(v, &end, 10);
			if (errno || *end || !*v || p <= 0 || p > INT32_MAX) {
				fprintf(stderr, PROG ": bad pid '%s'\n", v);
				return done(2);
			}
			sets[nsets++] = (struct setting){"monitoring", "pid", v, ""};
		} else if (take_arg(argc, argv, &i, "--suppressions", &v)) {
			sets[nsets++] = (struct setting){"leak", "suppressions", v, ""};
		} else if (take_arg(argc, argv, &i, "--fail-on-leak", &v)) {
			char *end;
			errno = 0;
			long long b = strtoll(v, &end, 10);
			if (errno || *end || !*v || b < 0) {
				fprintf(stderr, PROG ": bad byte count '%s' for --fail-on-leak\n", v);
				return done(2);
			}
			gate_cli = 1;
			sets[nsets++] = (struct setting){"leak", "fail_on_leak", v, ""};
		} else if (take_arg(argc, argv, &i, "--set", &v)) {
			struct setting *s = &sets[nsets];
			const char *dot = strchr(v, '.'), *eq = strchr(v, '=');
			if (!dot || !eq || dot > eq || (size_t)(eq - v) >= sizeof s->buf) {
				fprintf(stderr, PROG ": bad setting '%s' (expected SECTION.KEY=VALUE)\n", v);
				return done(2);
			}
			memcpy(s->buf, v, (size_t)(eq - v));
			s->buf[eq - v] = 0;
			s->buf[dot - v] = 0;
			s->section = s->buf;
			s->key = s->buf + (dot - v) + 1;
			s->value = eq + 1;
			nsets++;
		} else if (a[0] == '-' && a[1] == '-' && find_analyzer(a + 2)) {
			const struct mpa_analyzer *an = find_analyzer(a + 2);
			int dup = 0;
			for (size_t k = 0; k < nsel; k++)
				dup |= sel[k] == an;
			if (!dup)
				sel[nsel++] = an;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, PROG ": unknown option '%s' (see --help and --list)\n", a);
			return done(2);
		} else if (!capture) {
			capture = a;
		} else {
			fprintf(stderr, PROG ": more than one capture given ('%s', '%s')\n", capture, a);
			return done(2);
		}
	}

	if (list) {
		list_analyzers();
		return done(0);
	}

	mpa_config *cfg = g_cfg = mpa_config_create(err, sizeof err);
	if (!cfg) {
		fprintf(stderr, PROG ": %s\n", err);
		return done(1);
	}
	if (config_path) {
		if (mpa_config_load_file(cfg, config_path, err, sizeof err) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return done(1);
		}
	} else if (!no_config && access(".mpa.toml", F_OK) == 0) {
		if (mpa_config_load_file(cfg, ".mpa.toml", err, sizeof err) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return done(1);
		}
	}
	for (size_t k = 0; k < nsets; k++) {
		if (mpa_config_set(cfg, sets[k].section, sets[k].key, sets[k].value, "command line",
				   err, sizeof err) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return done(2);
		}
	}
	/* validate what the framework itself reads, also for --show-config */
	unsigned formats;
	if (mpa_formats_parse(mpa_config_string(cfg, "visualization", "formats"), &formats, err,
			      sizeof err) < 0) {
		fprintf(stderr, PROG ": [visualization] formats: %s\n", err);
		return done(2);
	}
	const char *from = mpa_config_string(cfg, "monitoring", "from");
	const char *to = mpa_config_string(cfg, "monitoring", "to");
	uint64_t tv;
	int tabs;
	if ((*from && mpa_time_parse(from, &tv, &tabs, err, sizeof err) < 0) ||
	    (*to && mpa_time_parse(to, &tv, &tabs, err, sizeof err) < 0)) {
		fprintf(stderr, PROG ": %s\n", err);
		return done(2);
	}
	int64_t pid = mpa_config_int(cfg, "monitoring", "pid");
	if (pid < 0 || pid > INT32_MAX) {
		fprintf(stderr, PROG ": [monitoring] pid out of range\n");
		return done(2);
	}
	const char *outdir = mpa_config_string(cfg, "visualization", "output_dir");
	if (!*outdir) {
		fprintf(stderr, PROG ": [visualization] output_dir is empty\n");
		return done(2);
	}

	if (show) {
		printf("# mpa-analyze effective configuration (value  # type; source; meaning (owner))\n");
		mpa_config_write(cfg, stdout);
		return done(0);
	}
	if (!capture) {
		usage(stderr);
		return done(2);
	}

	/* selection, in table order */
	const struct mpa_analyzer **run = g_run = calloc(nana + 1, sizeof *run);
	size_t nrun = 0;
	if (!run) {
		fprintf(stderr, PROG ": out of memory\n");
		return done(1);
	}
	for (size_t i = 0; i < nana; i++) {
		const struct mpa_analyzer *a = mpa_analyzers[i];
		int picked = 0;
		for (size_t k = 0; k < nsel; k++)
			picked |= sel[k] == a;
		if (!picked && (all || !nsel)) {
			picked = 1;
			if (!strcmp(a->name, "leak") &&
			    !mpa_config_bool(cfg, "alerts", "leak_detection_enabled"))
				picked = 0;
		}
		if (picked)
			run[nrun++] = a;
	}
	int64_t gate = mpa_config_int(cfg, "leak", "fail_on_leak");
	int leak_runs = 0;
	for (size_t k = 0; k < nrun; k++)
		leak_runs |= !strcmp(run[k]->name, "leak");
	if (gate >= 0 && gate_cli && !leak_runs) {
		fprintf(stderr, PROG ": --fail-on-leak needs the leak analyzer (add --leak)\n");
		return done(2);
	}
	if (!nrun) {
		fprintf(stderr, PROG ": no analyzer selected\n");
		return done(2);
	}

	struct mpa_run_opts o = {0};
	o.capture = capture;
	o.outdir = outdir;
	o.formats = formats;
	o.config = cfg;
	o.from = *from ? from : NULL;
	o.to = *to ? to : NULL;
	o.pid = (int32_t)pid;
	o.analyzers = run;
	o.nanalyzers = nrun;
	struct mpa_run_result res;
	if (mpa_run(&o, &res, err, sizeof err) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return done(1);
	}
	if (res.banner[0])
		fprintf(stderr, PROG ": %s\n", res.banner);
	if (res.note[0])
		fprintf(stderr, PROG ": %s\n", res.note);
	if (!quiet) {
		json_t *outs = json_object_get(res.summary, "outputs");
		printf(PROG ": %" PRIu64 " events analyzed; %zu files in '%s' (open %s/report.html)\n",
		       res.rows_scanned, json_array_size(outs), outdir, outdir);
		json_t *lk = json_object_get(json_object_get(res.summary, "analyzers"), "leak");
		if (lk) {
			json_t *d = json_object_get(lk, "definite");
			json_t *e = json_object_get(lk, "live_at_end");
			printf(PROG ": leak: %" JSON_INTEGER_FORMAT " bytes in %" JSON_INTEGER_FORMAT
			       " blocks definitely lost; %" JSON_INTEGER_FORMAT
			       " bytes in %" JSON_INTEGER_FORMAT " blocks live at capture end\n",
			       json_integer_value(json_object_get(d, "bytes")),
			       json_integer_value(json_object_get(d, "blocks")),
			       json_integer_value(json_object_get(e, "bytes")),
			       json_integer_value(json_object_get(e, "blocks")));
		}
	}
	int rc = 0;
	if (gate >= 0 && leak_runs) {
		json_t *d = json_object_get(
			json_object_get(json_object_get(res.summary, "analyzers"), "leak"), "definite");
		json_int_t bytes = json_integer_value(json_object_get(d, "bytes"));
		json_int_t blocks = json_integer_value(json_object_get(d, "blocks"));
		if (bytes > gate) {
			fprintf(stderr,
				PROG ": leak gate: %" JSON_INTEGER_FORMAT " bytes in %" JSON_INTEGER_FORMAT
				     " blocks definitely lost (limit %" PRId64 ")\n",
				bytes, blocks, gate);
			rc = 3;
		}
	}
	mpa_run_result_release(&res);
	return done(rc);
}
