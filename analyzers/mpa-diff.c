/* mpa-diff: compares two captures per allocation site (function and source
 * location, not address): allocated bytes and calls, live bytes at the
 * peak, leaked bytes, temporaries, with deltas and ratios; writes
 * diff.json, diff.csv and diff.html (a differential flamegraph) and checks
 * CI gate rules (--fail-if).  doc/man/mpa-diff.1.
 *
 * Exit status: 0 success, 1 error, 2 usage error, 3 a --fail-if rule
 * tripped (one line per rule on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framework.h"
#include "diff/diff.h"

#define PROG "mpa-diff"
#define MAX_RULES 32

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " BASE.mpt NEW.mpt [-o DIR] [--fail-if RULE ...]\n"
		"                [--config FILE | --no-config] [-q]\n"
		"\n"
		"  -o, --output DIR   where diff.json, diff.csv, diff.html and the two runs'\n"
		"                     flame reports (DIR/base, DIR/new) go (default mpa-diff)\n"
		"  --fail-if RULE     exit 3 when RULE holds, one line per tripped rule:\n"
		"                     METRIC>+AMOUNT (growth), METRIC>+N%% (relative growth) or\n"
		"                     METRIC>AMOUNT (new total); METRIC: allocated, calls, peak,\n"
		"                     leaked, temporary; AMOUNT: 1MiB, 500KB, 1000 ...\n"
		"                     e.g. --fail-if 'leaked>+1MiB' --fail-if 'peak>+10%%'\n"
		"  --config FILE      configuration file (default ./.mpa.toml when present)\n"
		"  --no-config        ignore ./.mpa.toml\n"
		"  -q, --quiet        print only errors and tripped rules\n");
}

/* DIR may be written: absent, empty, or an earlier mpa-diff output. */
static int outdir_ok(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(st.st_mode))
		return 0;
	char p[4200];
	snprintf(p, sizeof p, "%s/diff.json", dir);
	if (access(p, F_OK) == 0)
		return 1;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int empty = 1;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

static json_t *run_one(const char *cap, const char *dir, const mpa_config *cfg, char *err,
		       size_t errlen)
{
	const struct mpa_analyzer *sel[1] = {NULL};
	for (size_t i = 0; mpa_analyzers[i]; i++)
		if (!strcmp(mpa_analyzers[i]->name, "flame"))
			sel[0] = mpa_analyzers[i];
	if (!sel[0]) {
		snprintf(err, errlen, "the flame analyzer is not built in");
		return NULL;
	}
	struct mpa_run_opts o = {0};
	o.capture = cap;
	o.outdir = dir;
	o.formats = MPA_FMT_JSON | MPA_FMT_CSV;
	o.config = cfg;
	o.analyzers = sel;
	o.nanalyzers = 1;
	struct mpa_run_result res;
	char e[1024];
	if (mpa_run(&o, &res, e, sizeof e) < 0) {
		snprintf(err, errlen, "%.200s: %.800s", cap, e);
		return NULL;
	}
	mpa_run_result_release(&res);
	char p[4200];
	snprintf(p, sizeof p, "%s/flame.json", dir);
	json_t *j = json_load_file(p, 0, NULL);
	if (!j)
		snprintf(err, errlen, "cannot read '%.900s'", p);
	return j;
}

int main(int argc, char **argv)
{
	const char *caps[2] = {NULL, NULL}, *outdir = "mpa-diff", *config = NULL;
	int no_config = 0, quiet = 0, ncaps = 0, nrules = 0;
	static struct mpa_diff_rule rules[MAX_RULES];
	char err[2048];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf(PROG " %s\n", MPA_ANALYZE_VERSION);
			return 0;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
			outdir = argv[++i];
		} else if (!strcmp(a, "--fail-if") && i + 1 < argc) {
			if (nrules == MAX_RULES) {
				fprintf(stderr, PROG ": at most %d --fail-if rules\n", MAX_RULES);
				return 2;
			}
			if (mpa_diff_rule_parse(argv[++i], &rules[nrules++], err, sizeof err) < 0) {
				fprintf(stderr, PROG ": %s\n", err);
				return 2;
			}
		} else if (!strcmp(a, "--config") && i + 1 < argc) {
			config = argv[++i];
		} else if (!strcmp(a, "--no-config")) {
			no_config = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, PROG ": unknown option or missing value: '%s' (see --help)\n", a);
			return 2;
		} else if (ncaps < 2) {
			caps[ncaps++] = a;
		} else {
			fprintf(stderr, PROG ": one BASE and one NEW capture, not '%s'\n", a);
			return 2;
		}
	}
	if (ncaps != 2) {
		usage(stderr);
		return 2;
	}
	if (!outdir_ok(outdir)) {
		fprintf(stderr, PROG ": cannot write '%s': it holds files that are not an mpa-diff output "
				"(choose another -o)\n",
			outdir);
		return 1;
	}
	if (mpa_mkdir_p(outdir) < 0) {
		fprintf(stderr, PROG ": cannot create '%s': %s\n", outdir, strerror(errno));
		return 1;
	}
	mpa_config *cfg = mpa_config_create(err, sizeof err);
	if (!cfg) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	int rc = 1;
	json_t *fb = NULL, *fn = NULL, *diff = NULL;
	const char *cf = config ? config : !no_config && access(".mpa.toml", F_OK) == 0 ? ".mpa.toml" : NULL;
	if ((cf && mpa_config_load_file(cfg, cf, err, sizeof err) < 0) ||
	    /* every stack is compared, none summed into "other" */
	    mpa_config_set(cfg, "flame", "max_stacks", "1000000", "mpa-diff", err, sizeof err) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	char bd[4200], nd[4200];
	snprintf(bd, sizeof bd, "%s/base", outdir);
	snprintf(nd, sizeof nd, "%s/new", outdir);
	if (!(fb = run_one(caps[0], bd, cfg, err, sizeof err)) ||
	    !(fn = run_one(caps[1], nd, cfg, err, sizeof err))) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	if (!(diff = mpa_diff(fb, fn))) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	/* the rules and their verdicts go into diff.json too */
	json_t *jr = json_array();
	int tripped = 0;
	char lines[MAX_RULES][640];
	for (int k = 0; k < nrules; k++) {
		int t = mpa_diff_rule_check(&rules[k], diff, lines[k], sizeof lines[k]);
		if (!t)
			lines[k][0] = 0;
		tripped += t;
		json_array_append_new(jr, json_pack("{s:s, s:b, s:s}", "rule", rules[k].text, "tripped", t,
						    "message", lines[k]));
	}
	json_object_set_new(diff, "rules", jr);
	json_object_set_new(diff, "base", json_string(caps[0]));
	json_object_set_new(diff, "new", json_string(caps[1]));
	if (mpa_diff_write(outdir, diff, fb, fn, caps[0], caps[1], err, sizeof err) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	if (!quiet) {
		json_t *t = json_object_get(diff, "totals");
		for (int m = 0; m < MPA_DIFF_NMETRICS; m++) {
			json_t *x = json_object_get(t, mpa_diff_metrics[m]);
			printf(PROG ": %-9s %" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT " (%+" JSON_INTEGER_FORMAT ")\n",
			       mpa_diff_rule_names[m], json_integer_value(json_object_get(x, "base")),
			       json_integer_value(json_object_get(x, "new")),
			       json_integer_value(json_object_get(x, "delta")));
		}
		printf(PROG ": %zu sites compared; open %s/diff.html\n",
		       json_array_size(json_object_get(diff, "sites")), outdir);
	}
	for (int k = 0; k < nrules; k++)
		if (lines[k][0])
			fprintf(stderr, PROG ": %s\n", lines[k]);
	rc = tripped ? 3 : 0;
out:
	json_decref(fb);
	json_decref(fn);
	json_decref(diff);
	mpa_config_free(cfg);
	return rc;
}
