/* mpa analysis core — report.html (interim: the page of the first
 * framework, moved here unchanged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One row per scalar of a summary object, keys sorted, nested objects
 * flattened as "a.b"; arrays shown as compact JSON. */
static void html_rows(FILE *f, const char *prefix, json_t *obj)
{
	size_t n = json_object_size(obj), k = 0;
	const char **keys = malloc((n ? n : 1) * sizeof *keys);
	if (!keys)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) keys[k++] = key;
	qsort(keys, k, sizeof *keys, cmp_cstr);
	for (size_t i = 0; i < k; i++) {
		v = json_object_get(obj, keys[i]);
		if (!*prefix && !strcmp(keys[i], "alerts"))
			continue; /* shown under Alerts */
		char path[512];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", keys[i]);
		if (json_is_object(v) && json_object_size(v)) {
			html_rows(f, path, v);
			continue;
		}
		fputs("<tr><th>", f);
		html_esc(f, path);
		fputs("</th><td>", f);
		if (json_is_string(v)) {
			html_esc(f, json_string_value(v));
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT |
						      JSON_REAL_PRECISION(6));
			if (t && strlen(t) > 600)
				strcpy(t + 590, " ...");
			html_esc(f, t ? t : "");
			free(t);
		}
		fputs("</td></tr>\n", f);
	}
	free(keys);
}

int mpa_write_report(const char *dir, json_t *summary, struct mpa_outset *set)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/report.html", dir);
	struct mpa_afile a;
	if (mpa_afile_open(&a, path) < 0)
		return -1;
	FILE *f = a.f;
	json_t *cap = json_object_get(summary, "capture");
	const char *cpath = json_string_value(json_object_get(cap, "path"));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mpa report: ",
	      f);
	html_esc(f, cpath ? cpath : "");
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\n"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\n"
	      ".banner{background:#fdd;border:2px solid #c00;padding:1em;font-weight:bold}\n"
	      ".alert{background:#ffe9c4;border:1px solid #d80;padding:.5em;margin:.3em 0}\n"
	      "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\n"
	      "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}\n"
	      "</style>\n</head>\n<body>\n<h1>mpa-analyze report</h1>\n",
	      f);
	const char *banner = json_string_value(json_object_get(summary, "banner"));
	if (banner) {
		fputs("<p class=\"banner\">", f);
		html_esc(f, banner);
		fputs("</p>\n", f);
	}
	fputs("<h2>Capture</h2>\n<table>\n", f);
	const char *keys[] = {"path", "format_version", "file_bytes", "rows", "chunks",
			      "first_ts_ns", "last_ts_ns", "duration_ns"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		json_t *v = json_object_get(cap, keys[i]);
		fprintf(f, "<tr><th>%s</th><td>", keys[i]);
		if (json_is_string(v))
			html_esc(f, json_string_value(v));
		else if (json_is_integer(v))
			fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "<tr><th>lost_events</th><td>%" JSON_INTEGER_FORMAT "</td></tr>\n",
		json_integer_value(json_object_get(summary, "lost_events")));
	fputs("</table>\n", f);
	json_t *meta = json_object_get(cap, "metadata");
	if (json_object_size(meta)) {
		fputs("<h3>Metadata</h3>\n<table>\n", f);
		const char **mk = malloc(json_object_size(meta) * sizeof *mk);
		size_t nk = 0;
		const char *k;
		json_t *v;
		json_object_foreach(meta, k, v) if (mk) mk[nk++] = k;
		for (size_t i = 1; i < nk; i++)
			for (size_t j = i; j > 0 && strcmp(mk[j - 1], mk[j]) > 0; j--) {
				const char *t = mk[j];
				mk[j] = mk[j - 1];
				mk[j - 1] = t;
			}
		for (size_t i = 0; i < nk; i++) {
			fputs("<tr><th>", f);
			html_esc(f, mk[i]);
			fputs("</th><td>", f);
			html_esc(f, json_string_value(json_object_get(meta, mk[i])));
			fputs("</td></tr>\n", f);
		}
		free(mk);
		fputs("</table>\n", f);
	}
	json_t *alerts = json_object_get(summary, "alerts");
	if (json_array_size(alerts)) {
		fputs("<h2>Alerts</h2>\n", f);
		size_t i;
		json_t *al;
		json_array_foreach(alerts, i, al) {
			fputs("<p class=\"alert\">", f);
			html_esc(f, json_string_value(json_object_get(al, "message")));
			fputs("</p>\n", f);
		}
	}
	size_t nimg;
	const char *const *imgs = mpa_outset_images(set, &nimg);
	if (nimg) {
		fputs("<h2>Plots</h2>\n", f);
		for (size_t i = 0; i < nimg; i++) {
			fputs("<figure><img src=\"", f);
			html_esc(f, imgs[i]);
			fputs("\" alt=\"", f);
			html_esc(f, imgs[i]);
			fputs("\"><figcaption>", f);
			html_esc(f, imgs[i]);
			fputs("</figcaption></figure>\n", f);
		}
	}
	json_t *an = json_object_get(summary, "analyzers");
	if (json_object_size(an)) {
		fputs("<h2>Summaries</h2>\n", f);
		const char *name;
		json_t *obj;
		/* jansson iterates in insertion order; the framework inserted
		 * them in table order. */
		json_object_foreach(an, name, obj) {
			fputs("<h3>", f);
			html_esc(f, name);
			fputs("</h3>\n<table>\n", f);
			html_rows(f, "", obj);
			fputs("</table>\n", f);
		}
	}
	fputs("<h2>Files</h2>\n<ul>\n", f);
	json_t *outs = json_object_get(summary, "outputs");
	size_t i;
	json_t *o;
	json_array_foreach(outs, i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		fputs("<li><a href=\"", f);
		html_esc(f, p);
		fputs("\">", f);
		html_esc(f, p);
		fputs("</a> (", f);
		html_esc(f, json_string_value(json_object_get(o, "analyzer")));
		fputs(", ", f);
		html_esc(f, json_string_value(json_object_get(o, "kind")));
		fputs(")</li>\n", f);
	}
	fputs("</ul>\n</body>\n</html>\n", f);
	return mpa_afile_commit(&a);
}

