/* mpa analysis core — report.html: one self-contained page.  The page is
 * the template in analyzers/report/ (page.html, report.css, report.js) and
 * Debian's d3 and dygraphs, embedded at build time (analyzers/report/
 * embed.sh), around the data of report_data.c as one JSON script element.
 * Nothing is fetched when the page opens.  doc/reading-the-report.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

extern const char mpa_asset_page_html[], mpa_asset_report_css[], mpa_asset_report_js[],
	mpa_asset_d3_js[], mpa_asset_dygraph_js[], mpa_asset_dygraph_css[];
extern const size_t mpa_asset_page_html_len, mpa_asset_report_css_len, mpa_asset_report_js_len,
	mpa_asset_d3_js_len, mpa_asset_dygraph_js_len, mpa_asset_dygraph_css_len;

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

/* A library as shipped, without its source-map comment (the page must not
 * ask for any other file). */
static void put_lib(FILE *f, const char *s, size_t n)
{
	const char *m = NULL;
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "sourceMappingURL=", 17)); p++)
		m = p;
	if (m) {
		while (m > s && m[-1] != '\n' && m[-1] != '/' && m[-1] != '*')
			m--;
		while (m > s && (m[-1] == '/' || m[-1] == '*' || m[-1] == '#' || m[-1] == ' '))
			m--;
		n = (size_t)(m - s);
	}
	fwrite(s, 1, n, f);
	fputc('\n', f);
}

/* JSON inside <script>: '<' as \u003c so no "</script>" or "<!--" can end
 * it (outside strings JSON has no '<'). */
static int dump_cb(const char *buf, size_t size, void *data)
{
	FILE *f = data;
	size_t s = 0;
	for (size_t i = 0; i < size; i++) {
		if (buf[i] != '<')
			continue;
		fwrite(buf + s, 1, i - s, f);
		fputs("\\u003c", f);
		s = i + 1;
	}
	fwrite(buf + s, 1, size - s, f);
	return 0;
}

int mpa_write_report(const char *dir, json_t *summary, struct mpa_outset *set)
{
	json_t *data = mpa_report_data(dir, summary, set);
	if (!data)
		return -1;
	char path[4096];
	snprintf(path, sizeof path, "%s/report.html", dir);
	struct mpa_afile a;
	if (mpa_afile_open(&a, path) < 0) {
		json_decref(data);
		return -1;
	}
	FILE *f = a.f;
	json_t *cap = json_object_get(summary, "capture");
	const char *cpath = json_string_value(json_object_get(cap, "path"));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>mpa report: ",
	      f);
	html_esc(f, cpath ? cpath : "");
	fputs("</title>\n<style>\n", f);
	put_lib(f, mpa_asset_dygraph_css, mpa_asset_dygraph_css_len);
	fwrite(mpa_asset_report_css, 1, mpa_asset_report_css_len, f);
	fputs("</style>\n</head>\n<body>\n", f);
	/* lost events are said even where scripts do not run (a mail reader) */
	const char *banner = json_string_value(json_object_get(summary, "banner"));
	if (banner) {
		fputs("<p class=\"banner\">", f);
		html_esc(f, banner);
		fputs("</p>\n", f);
	}
	fwrite(mpa_asset_page_html, 1, mpa_asset_page_html_len, f);
	/* the files beside the page, as plain links (no script needed) */
	fputs("<section id=\"files\"><details><summary><h2 class=\"inline\">Files beside this "
	      "report</h2></summary>\n<ul>\n",
	      f);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(summary, "outputs"), i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		if (!p)
			continue;
		fputs("<li><a href=\"", f);
		html_esc(f, p);
		fputs("\">", f);
		html_esc(f, p);
		fputs("</a> <span class=\"muted\">(", f);
		html_esc(f, json_string_value(json_object_get(o, "analyzer")) ?: "");
		fputs(", ", f);
		html_esc(f, json_string_value(json_object_get(o, "kind")) ?: "");
		fputs(")</span></li>\n", f);
	}
	fputs("</ul>\n</details></section>\n", f);
	fputs("<script type=\"application/json\" id=\"mpa-data\">", f);
	int rc = json_dump_callback(data, dump_cb, f, JSON_COMPACT | JSON_SORT_KEYS |
							 JSON_REAL_PRECISION(9));
	json_decref(data);
	fputs("</script>\n<script>\n", f);
	put_lib(f, mpa_asset_d3_js, mpa_asset_d3_js_len);
	fputs("</script>\n<script>\n", f);
	put_lib(f, mpa_asset_dygraph_js, mpa_asset_dygraph_js_len);
	fputs("</script>\n<script>\n", f);
	fwrite(mpa_asset_report_js, 1, mpa_asset_report_js_len, f);
	fputs("</script>\n</body>\n</html>\n", f);
	if (rc < 0) {
		mpa_afile_abort(&a);
		return -1;
	}
	return mpa_afile_commit(&a);
}
