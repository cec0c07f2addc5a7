/* mpa-diff: diff.html, the differential flamegraph (d3, embedded like
 * report.html's) with the totals and the per-site table. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "diff.h"

extern const char mpa_asset_d3_js[], mpa_asset_diff_js[], mpa_asset_report_css[];
extern const size_t mpa_asset_d3_js_len, mpa_asset_diff_js_len, mpa_asset_report_css_len;

int mpa_diff_html(FILE *f, json_t *diff, json_t *base_flame, json_t *new_flame,
		  const char *base_name, const char *new_name);

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

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

int mpa_diff_html(FILE *f, json_t *diff, json_t *base_flame, json_t *new_flame,
		  const char *base_name, const char *new_name)
{
	json_t *data = json_pack("{s:O, s:{s:O*, s:O*, s:O*}, s:{s:O*, s:O*, s:O*}, s:s, s:s}", "diff",
				 diff, "base", "frames", json_object_get(base_flame, "frames"), "stacks",
				 json_object_get(base_flame, "stacks"), "other",
				 json_object_get(base_flame, "other"), "new", "frames",
				 json_object_get(new_flame, "frames"), "stacks",
				 json_object_get(new_flame, "stacks"), "other",
				 json_object_get(new_flame, "other"), "base_name", base_name, "new_name",
				 new_name);
	if (!data)
		return -1;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mpa-diff: ", f);
	esc(f, base_name);
	fputs(" → ", f);
	esc(f, new_name);
	fputs("</title>\n<style>\n", f);
	fwrite(mpa_asset_report_css, 1, mpa_asset_report_css_len, f);
	fputs("</style>\n</head>\n<body>\n"
	      "<script>window.mpaErrors=[];window.addEventListener('error',function(e){"
	      "window.mpaErrors.push(e.message);var s=document.getElementById('mpa-status');"
	      "if(s){s.setAttribute('data-state','error');s.textContent='script error: '+e.message;}});</script>\n"
	      "<h1>mpa-diff <span>",
	      f);
	esc(f, base_name);
	fputs(" → ", f);
	esc(f, new_name);
	fputs("</span></h1>\n<p id=\"mpa-status\" data-state=\"loading\">Loading… (it needs JavaScript)</p>\n"
	      "<section><h2>Totals</h2><div id=\"totals\"></div></section>\n"
	      "<section><h2>Differential flamegraph</h2><div class=\"controls\"><label>weight "
	      "<select id=\"flame-metric\"></select></label><span id=\"flame-info\" class=\"muted\"></span></div>\n"
	      "<div id=\"flame\"></div><p class=\"muted\">Width: the larger of the two runs; colour: red grew, "
	      "blue shrank, grey unchanged (deeper for a larger change). Click to zoom.</p></section>\n"
	      "<section><h2>Sites</h2><div id=\"sites\"></div></section>\n"
	      "<script type=\"application/json\" id=\"mpa-data\">",
	      f);
	int rc = json_dump_callback(data, dump_cb, f, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
	json_decref(data);
	fputs("</script>\n<script>\n", f);
	fwrite(mpa_asset_d3_js, 1, mpa_asset_d3_js_len, f);
	fputs("\n</script>\n<script>\n", f);
	fwrite(mpa_asset_diff_js, 1, mpa_asset_diff_js_len, f);
	fputs("</script>\n</body>\n</html>\n", f);
	return rc;
}
