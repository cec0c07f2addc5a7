/* mpa-diff: per-site comparison, gate rules, outputs (diff.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"

const char *const mpa_diff_metrics[MPA_DIFF_NMETRICS] = {"allocated_bytes", "calls", "peak_bytes",
							 "leaked_bytes", "temporary"};
const char *const mpa_diff_rule_names[MPA_DIFF_NMETRICS] = {"allocated", "calls", "peak", "leaked",
							    "temporary"};
static const int metric_bytes[MPA_DIFF_NMETRICS] = {1, 0, 1, 1, 0};

/* site -> {"base": [5], "new": [5]} summed over the stacks of that site */
static int add_side(json_t *by_site, json_t *flame, const char *side)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(flame, "stacks"), i, r) {
		const char *site = json_string_value(json_object_get(r, "site"));
		if (!site)
			continue;
		json_t *e = json_object_get(by_site, site);
		if (!e) {
			e = json_pack("{s:[iiiii], s:[iiiii]}", "base", 0, 0, 0, 0, 0, "new", 0, 0, 0, 0, 0);
			if (!e || json_object_set_new(by_site, site, e) < 0)
				return -1;
		}
		json_t *a = json_object_get(e, side);
		for (int m = 0; m < MPA_DIFF_NMETRICS; m++) {
			json_int_t v = json_integer_value(json_object_get(r, mpa_diff_metrics[m]));
			json_int_t cur = json_integer_value(json_array_get(a, (size_t)m));
			json_array_set_new(a, (size_t)m, json_integer(cur + v));
		}
	}
	return 0;
}

static json_t *side_obj(json_t *a)
{
	json_t *o = json_object();
	for (int m = 0; o && m < MPA_DIFF_NMETRICS; m++)
		json_object_set(o, mpa_diff_metrics[m], json_array_get(a, (size_t)m));
	return o;
}

static json_t *cmp_obj(json_t *b, json_t *n, int ratio)
{
	json_t *o = json_object();
	for (int m = 0; o && m < MPA_DIFF_NMETRICS; m++) {
		json_int_t x = json_integer_value(json_array_get(b, (size_t)m));
		json_int_t y = json_integer_value(json_array_get(n, (size_t)m));
		json_object_set_new(o, mpa_diff_metrics[m],
				    ratio ? (x ? json_real((double)y / (double)x) : json_null())
					  : json_integer(y - x));
	}
	return o;
}

static json_int_t absdelta(json_t *s, const char *m)
{
	json_int_t d = json_integer_value(json_object_get(json_object_get(s, "delta"), m));
	return d < 0 ? -d : d;
}

static int cmp_sites(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const order[] = {"leaked_bytes", "peak_bytes", "allocated_bytes"};
	for (int k = 0; k < 3; k++) {
		json_int_t dx = absdelta(x, order[k]), dy = absdelta(y, order[k]);
		if (dx != dy)
			return dx > dy ? -1 : 1;
	}
	return strcmp(json_string_value(json_object_get(x, "site")),
		      json_string_value(json_object_get(y, "site")));
}

json_t *mpa_diff(json_t *base_flame, json_t *new_flame)
{
	json_t *by = json_object(), *sites = json_array(), *totals = json_object();
	if (!by || !sites || !totals || add_side(by, base_flame, "base") < 0 ||
	    add_side(by, new_flame, "new") < 0)
		goto fail;
	const char *k;
	json_t *e;
	size_t n = json_object_size(by), i = 0;
	json_t **v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		goto fail;
	json_object_foreach(by, k, e) {
		json_t *b = json_object_get(e, "base"), *nw = json_object_get(e, "new");
		v[i++] = json_pack("{s:s, s:o, s:o, s:o, s:o}", "site", k, "base", side_obj(b), "new",
				   side_obj(nw), "delta", cmp_obj(b, nw, 0), "ratio", cmp_obj(b, nw, 1));
	}
	qsort(v, n, sizeof *v, cmp_sites);
	for (i = 0; i < n; i++)
		json_array_append_new(sites, v[i]);
	free(v);
	/* totals: every stack, "other" included; the peak is the heap's peak */
	json_t *bt = json_object_get(base_flame, "totals"), *nt = json_object_get(new_flame, "totals");
	for (int m = 0; m < MPA_DIFF_NMETRICS; m++) {
		json_int_t x = json_integer_value(json_object_get(bt, mpa_diff_metrics[m]));
		json_int_t y = json_integer_value(json_object_get(nt, mpa_diff_metrics[m]));
		if (!strcmp(mpa_diff_metrics[m], "peak_bytes")) {
			x = json_integer_value(json_object_get(json_object_get(base_flame, "peak"), "bytes"));
			y = json_integer_value(json_object_get(json_object_get(new_flame, "peak"), "bytes"));
		}
		json_object_set_new(totals, mpa_diff_metrics[m],
				    json_pack("{s:I, s:I, s:I, s:o}", "base", x, "new", y, "delta", y - x,
					      "ratio", x ? json_real((double)y / (double)x) : json_null()));
	}
	json_decref(by);
	return json_pack("{s:o, s:o}", "totals", totals, "sites", sites);
fail:
	json_decref(by);
	json_decref(sites);
	json_decref(totals);
	return NULL;
}

/* ---- gate rules ------------------------------------------------------------- */

int mpa_diff_rule_parse(const char *s, struct mpa_diff_rule *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	snprintf(r->text, sizeof r->text, "%s", s);
	const char *gt = strchr(s, '>');
	r->metric = -1;
	for (int m = 0; gt && m < MPA_DIFF_NMETRICS; m++)
		if ((size_t)(gt - s) == strlen(mpa_diff_rule_names[m]) &&
		    !strncmp(s, mpa_diff_rule_names[m], (size_t)(gt - s)))
			r->metric = m;
	if (!gt || r->metric < 0)
		goto bad;
	const char *p = gt + 1;
	if (*p == '+') {
		r->growth = 1;
		p++;
	}
	char *end;
	errno = 0;
	r->amount = strtod(p, &end);
	if (end == p || errno || !isfinite(r->amount) || r->amount < 0)
		goto bad;
	static const struct {
		const char *u;
		double f;
	} units[] = {{"", 1},       {"B", 1},           {"KB", 1e3},          {"KiB", 1024},
		     {"MB", 1e6},   {"MiB", 1048576.0}, {"GB", 1e9},          {"GiB", 1073741824.0},
		     {"k", 1e3},    {"M", 1e6},         {"%", 0}};
	size_t u;
	for (u = 0; u < sizeof units / sizeof *units; u++)
		if (!strcmp(end, units[u].u))
			break;
	if (u == sizeof units / sizeof *units)
		goto bad;
	if (!strcmp(end, "%")) {
		if (!r->growth)
			goto bad;
		r->percent = 1;
	} else {
		/* counts take no byte unit */
		if (!metric_bytes[r->metric] && *end && strcmp(end, "k") && strcmp(end, "M"))
			goto bad;
		r->amount *= units[u].f;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "--fail-if '%s': expected METRIC>+AMOUNT, METRIC>+N%% or METRIC>AMOUNT with METRIC one of "
		 "allocated, calls, peak, leaked, temporary and AMOUNT like 1MiB, 500KB, 1000",
		 s);
	return -1;
}

static void human(char *b, size_t n, double v, int bytes)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	if (!bytes) {
		snprintf(b, n, "%.0f", v);
		return;
	}
	double a = fabs(v);
	int i = 0;
	while (a >= 1024 && i < 4) {
		a /= 1024;
		v /= 1024;
		i++;
	}
	if (i)
		snprintf(b, n, "%.2f %s", v, u[i]);
	else
		snprintf(b, n, "%.0f B", v);
}

int mpa_diff_rule_check(const struct mpa_diff_rule *r, json_t *diff, char *line, size_t len)
{
	const char *m = mpa_diff_metrics[r->metric];
	json_t *t = json_object_get(json_object_get(diff, "totals"), m);
	double b = (double)json_integer_value(json_object_get(t, "base"));
	double n = (double)json_integer_value(json_object_get(t, "new"));
	double d = n - b, measured;
	if (r->percent)
		measured = b > 0 ? d / b * 100 : (d > 0 ? INFINITY : 0);
	else
		measured = r->growth ? d : n;
	if (!(measured > r->amount))
		return 0;
	/* the site that grew most in that weight */
	const char *top = NULL;
	json_int_t best = 0;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(diff, "sites"), i, s) {
		json_int_t sd = json_integer_value(json_object_get(json_object_get(s, "delta"), m));
		if (sd > best) {
			best = sd;
			top = json_string_value(json_object_get(s, "site"));
		}
	}
	int by = metric_bytes[r->metric];
	char hb[64], hn[64], hd[64], hs[64];
	human(hb, sizeof hb, b, by);
	human(hn, sizeof hn, n, by);
	human(hd, sizeof hd, d, by);
	human(hs, sizeof hs, (double)best, by);
	char pct[48] = "";
	if (b > 0)
		snprintf(pct, sizeof pct, ", %+.1f%%", d / b * 100);
	snprintf(line, len, "gate '%s' tripped: %s %s -> %s (%s%s%s)%s%s%s%s", r->text,
		 mpa_diff_rule_names[r->metric], hb, hn, d >= 0 ? "+" : "", hd, pct,
		 top ? "; grew most at " : "", top ? top : "", top ? " +" : "", top ? hs : "");
	return 1;
}

/* ---- outputs ---------------------------------------------------------------- */

static int commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
	int bad = fflush(f) != 0 || ferror(f);
	if (fclose(f) != 0)
		bad = 1;
	if (bad || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static FILE *open_tmp(const char *dir, const char *name, char *path, char *tmp, size_t len,
		      char *err, size_t errlen)
{
	snprintf(path, len, "%s/%s", dir, name);
	snprintf(tmp, len, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
	return f;
}

static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int mpa_diff_html(FILE *f, json_t *diff, json_t *base_flame, json_t *new_flame,
		  const char *base_name, const char *new_name);

int mpa_diff_write(const char *dir, json_t *diff, json_t *base_flame, json_t *new_flame,
		   const char *base_name, const char *new_name, char *err, size_t errlen)
{
	char path[4400], tmp[4400];
	FILE *f = open_tmp(dir, "diff.json", path, tmp, sizeof path, err, errlen);
	if (!f)
		return -1;
	json_dumpf(diff, f, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
	fputc('\n', f);
	if (commit(f, tmp, path, err, errlen) < 0)
		return -1;

	if (!(f = open_tmp(dir, "diff.csv", path, tmp, sizeof path, err, errlen)))
		return -1;
	fputs("\"site\"", f);
	for (int m = 0; m < MPA_DIFF_NMETRICS; m++)
		fprintf(f, ",\"base_%s\",\"new_%s\",\"delta_%s\",\"ratio_%s\"", mpa_diff_metrics[m],
			mpa_diff_metrics[m], mpa_diff_metrics[m], mpa_diff_metrics[m]);
	fputc('\n', f);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(diff, "sites"), i, s) {
		csv_str(f, json_string_value(json_object_get(s, "site")));
		for (int m = 0; m < MPA_DIFF_NMETRICS; m++) {
			const char *k = mpa_diff_metrics[m];
			fprintf(f, ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",",
				json_integer_value(json_object_get(json_object_get(s, "base"), k)),
				json_integer_value(json_object_get(json_object_get(s, "new"), k)),
				json_integer_value(json_object_get(json_object_get(s, "delta"), k)));
			json_t *r = json_object_get(json_object_get(s, "ratio"), k);
			if (json_is_real(r))
				fprintf(f, "%.6g", json_real_value(r));
		}
		fputc('\n', f);
	}
	if (commit(f, tmp, path, err, errlen) < 0)
		return -1;

	if (!(f = open_tmp(dir, "diff.html", path, tmp, sizeof path, err, errlen)))
		return -1;
	if (mpa_diff_html(f, diff, base_flame, new_flame, base_name, new_name) < 0) {
		fclose(f);
		unlink(tmp);
		snprintf(err, errlen, "cannot write '%s': out of memory", path);
		return -1;
	}
	return commit(f, tmp, path, err, errlen);
}
