/* mpa-analyze — run the analyzers over a capture in one pass and write a
 * report directory (CSV, JSON, plots, summary.json, report.html).
 *
 * Exit status: 0 success, 1 error, 2 usage error, 3 an analyzer's CI gate
 * failed (e.g. --fail-on-leak).  This file names no analyzer: their flags,
 * gates and headlines come from the table (analyzers/registry.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framework.h"
#include "export/export.h"

#define PROG "mpa-analyze"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " CAPTURE.mpt [--all | --NAME ...] [-o DIR] [--format LIST]\n"
		"                   [--config FILE | --no-config] [--from T] [--to T] [--pid P]\n"
		"                   [--set SECTION.KEY=VALUE] [ANALYZER OPTIONS]\n"
		"       " PROG " --list\n"
		"       " PROG " --show-config [--config FILE] [options]\n"
		"\n"
		"  --all               run every analyzer (the default when none is named)\n"
		"  --NAME              run analyzer NAME (see --list)\n"
		"  -o, --output DIR    report directory (default mpa-report)\n"
		"  --format LIST       any of csv,json,svg,png (default csv,json,svg)\n"
		"  --export LIST       also write DIR/export/: any of folded,speedscope,perfetto\n"
		"  --config FILE       configuration file (default ./.mpa.toml when present)\n"
		"  --no-config         ignore ./.mpa.toml\n"
		"  --from T, --to T    analyze [T1, T2): seconds from the capture start (1.5, 200ms,\n"
		"                      30us, 100ns) or @NS for an absolute timestamp\n"
		"  --pid P             only process P\n"
		"  --set S.K=V         set configuration key K of table [S]\n"
		"  -q, --quiet         print only errors and failed gates\n"
		"  --list              list analyzers, the kinds and columns each reads, their options\n"
		"  --show-config       print every effective setting and where it came from\n");
	for (size_t i = 0; mpa_analyzers[i]; i++) {
		const struct mpa_analyzer *a = mpa_analyzers[i];
		for (const struct mpa_cli_flag *fl = a->flags; fl && fl->name; fl++) {
			char left[64];
			snprintf(left, sizeof left, "--%s %s", fl->name, fl->arg ? fl->arg : "");
			fprintf(f, "  %-19s %s (%s)\n", left, fl->help ? fl->help : "", a->name);
		}
	}
}

/* The analyzer flag named by a ("--name"), its analyzer in *owner. */
static const struct mpa_cli_flag *find_flag(const char *a, const struct mpa_analyzer **owner)
{
	if (a[0] != '-' || a[1] != '-')
		return NULL;
	for (size_t i = 0; mpa_analyzers[i]; i++)
		for (const struct mpa_cli_flag *fl = mpa_analyzers[i]->flags; fl && fl->name; fl++) {
			size_t n = strlen(fl->name);
			if (!strncmp(a + 2, fl->name, n) && (a[2 + n] == 0 || a[2 + n] == '=')) {
				*owner = mpa_analyzers[i];
				return fl;
			}
		}
	return NULL;
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
	const struct mpa_cli_flag *flag; /* set by an analyzer's flag, or NULL */
};

/* A flag whose ARG ends with "..." may be repeated: its values are joined
 * with commas into the one option it sets. */
static int flag_repeats(const struct mpa_cli_flag *fl)
{
	size_t n = fl && fl->arg ? strlen(fl->arg) : 0;
	return n > 3 && !strcmp(fl->arg + n - 3, "...");
}

/* What main() allocates, released on every way out. */
static mpa_config *g_cfg;
static const struct mpa_analyzer **g_sel, **g_run;
static struct setting *g_sets;
static char **g_joined; /* per setting: a repeated flag's values so far (owned) */
static size_t g_nsets;

static int done(int rc)
{
	for (size_t k = 0; g_joined && k < g_nsets; k++)
		free(g_joined[k]);
	free(g_joined);
	g_joined = NULL;
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
	int all = 0, list = 0, show = 0, no_config = 0, quiet = 0;
	const struct mpa_analyzer *owner = NULL;
	size_t nsel = 0;
	size_t nana = 0;
	while (mpa_analyzers[nana])
		nana++;
	const struct mpa_analyzer **sel = g_sel = calloc(2 * nana + 2, sizeof *sel);
	const struct mpa_analyzer **flagged = sel + nana + 1;
	size_t nflagged = 0;
	struct setting *sets = g_sets = calloc((size_t)argc + 1, sizeof *sets);
	size_t nsets = 0;
	char err[1024];
	unsigned export_mask = 0;
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
			sets[nsets++] = (struct setting){"visualization", "output_dir", v, "", NULL};
		} else if (take_arg(argc, argv, &i, "--export", &v)) {
			if (mpa_export_parse(v, &export_mask, err, sizeof err) < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				return done(2);
			}
		} else if (take_arg(argc, argv, &i, "--format", &v)) {
			sets[nsets++] = (struct setting){"visualization", "formats", v, "", NULL};
		} else if (take_arg(argc, argv, &i, "--from", &v)) {
			sets[nsets++] = (struct setting){"monitoring", "from", v, "", NULL};
		} else if (take_arg(argc, argv, &i, "--to", &v)) {
			sets[nsets++] = (struct setting){"monitoring", "to", v, "", NULL};
		} else if (take_arg(argc, argv, &i, "--pid", &v)) {
			char *end;
			errno = 0;
			long p = strtol(v, &end, 10);
			if (errno || *end || !*v || p <= 0 || p > INT32_MAX) {
				fprintf(stderr, PROG ": bad pid '%s'\n", v);
				return done(2);
			}
			sets[nsets++] = (struct setting){"monitoring", "pid", v, "", NULL};
		} else if (find_flag(a, &owner)) {
			const struct mpa_cli_flag *fl = find_flag(a, &owner);
			char name[80];
			snprintf(name, sizeof name, "--%s", fl->name);
			if (!take_arg(argc, argv, &i, name, &v)) {
				fprintf(stderr, PROG ": option '%s' needs a value\n", name);
				return done(2);
			}
			if (!*v) {
				fprintf(stderr, PROG ": empty value for '%s'\n", name);
				return done(2);
			}
			
			sets[nsets++] = (struct setting){fl->section, fl->key, v, "", fl};
			/* the flag's analyzer runs */
			int dup = 0;
			for (size_t k = 0; k < nflagged; k++)
				dup |= flagged[k] == owner;
			if (!dup)
				flagged[nflagged++] = owner;
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
	/* repeated flags: each occurrence carries the values before it */
	g_joined = calloc(nsets + 1, sizeof *g_joined);
	if (!g_joined) {
		fprintf(stderr, PROG ": out of memory\n");
		return done(1);
	}
	g_nsets = nsets;
	for (size_t k = 0; k < nsets; k++) {
		if (!flag_repeats(sets[k].flag))
			continue;
		for (size_t j = k; j-- > 0;) {
			if (sets[j].flag != sets[k].flag || !sets[j].value)
				continue;
			if (asprintf(&g_joined[k], "%s,%s", sets[j].value, sets[k].value) < 0) {
				g_joined[k] = NULL;
				fprintf(stderr, PROG ": out of memory\n");
				return done(1);
			}
			sets[k].value = g_joined[k];
			sets[j].value = NULL; /* folded into this one */
			break;
		}
	}
	for (size_t k = 0; k < nsets; k++) {
		if (!sets[k].value)
			continue;
		if (mpa_config_set(cfg, sets[k].section, sets[k].key, sets[k].value, "command line",
				   err, sizeof err) < 0) {
			if (sets[k].flag)
				fprintf(stderr, PROG ": bad value '%s' for --%s: %s\n", sets[k].value,
					sets[k].flag->name, err);
			else
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
	struct mpt_error te = {0};
	if ((*from && mpt_time_parse(from, &tv, &tabs, &te) != MPT_OK) ||
	    (*to && mpt_time_parse(to, &tv, &tabs, &te) != MPT_OK)) {
		fprintf(stderr, PROG ": %s\n", te.msg);
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
		for (size_t k = 0; k < nflagged; k++)
			picked |= flagged[k] == a;
		if (!picked && (all || !nsel)) {
			picked = 1;
			if (a->enable_section && a->enable_key &&
			    !mpa_config_bool(cfg, a->enable_section, a->enable_key))
				picked = 0;
		}
		if (picked)
			run[nrun++] = a;
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
	if (export_mask && mpa_export(outdir, export_mask, err, sizeof err) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		mpa_run_result_release(&res);
		return done(1);
	}
	if (res.note[0])
		fprintf(stderr, PROG ": %s\n", res.note);
	const char *shallow = json_string_value(json_object_get(
		json_object_get(json_object_get(res.summary, "scan"), "stacks"), "warning"));
	if (shallow)
		fprintf(stderr, PROG ": warning: %s (record with 'mpa-record --unwind libunwind' "
			"for full stacks)\n", shallow);
	if (!quiet) {
		json_t *outs = json_object_get(res.summary, "outputs");
		printf(PROG ": %" PRIu64 " events analyzed; %zu files in '%s' (open %s/report.html)\n",
		       res.rows_scanned, json_array_size(outs), outdir, outdir);
		for (char *l = res.headlines, *nl; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (!nl)
				break;
			printf(PROG ": %.*s\n", (int)(nl - l), l);
		}
	}
	int rc = 0;
	if (res.gate_failed) {
		for (char *l = res.gate_lines, *nl; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (!nl)
				break;
			fprintf(stderr, PROG ": %.*s\n", (int)(nl - l), l);
		}
		rc = 3;
	}
	mpa_run_result_release(&res);
	return done(rc);
}
