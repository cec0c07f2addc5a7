/* mpa analysis core — the data of report.html: summary.json, every
 * analyzer's <name>.json as written (tables made columnar) and its plots as
 * data: URIs, in one JSON object the page's script reads.  Also what the
 * exports (report_export.c) read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

/* The whole file, NUL-terminated (len set); NULL with errno. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (n + 1 < cap)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad) {
		free(buf);
		errno = bad ? EIO : ENOMEM;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static char *base64(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*q++ = tab[v >> 18 & 63];
		*q++ = tab[v >> 12 & 63];
		*q++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*q = 0;
	return o;
}

/* rows [{col: v}] -> {"columns": [...], "rows": [[v...]]} in declaration
 * order: a third of the size, and the page needs the order anyway. */
static json_t *columnar(json_t *rows, json_t *decl)
{
	json_t *cols = json_array(), *out = json_array();
	size_t i, j;
	json_t *c, *r;
	json_array_foreach(decl, j, c) json_array_append(cols, json_object_get(c, "name"));
	json_array_foreach(rows, i, r) {
		json_t *a = json_array();
		json_array_foreach(decl, j, c) {
			json_t *v = json_object_get(r, json_string_value(json_object_get(c, "name")));
			json_array_append(a, v ? v : json_null());
		}
		/* JSON-only members (stacks, series) follow as one object */
		json_t *extra = NULL;
		const char *k;
		json_t *v;
		json_object_foreach(r, k, v) {
			int declared = 0;
			json_array_foreach(decl, j, c) if (!strcmp(k, json_string_value(json_object_get(c, "name"))))
				declared = 1;
			if (declared)
				continue;
			if (!extra)
				extra = json_object();
			json_object_set(extra, k, v);
		}
		if (extra)
			json_array_append_new(a, extra);
		json_array_append_new(out, a);
	}
	return json_pack("{s:o, s:o}", "columns", cols, "rows", out);
}

static int compact_tables(json_t *doc)
{
	json_t *where = json_object_get(doc, "table_rows"), *decls = json_object_get(doc, "tables");
	const char *name;
	json_t *key;
	json_object_foreach(where, name, key) {
		const char *k = json_string_value(key);
		json_t *rows = k ? json_object_get(doc, k) : NULL;
		json_t *decl = json_object_get(decls, name);
		if (!json_is_array(rows) || !json_is_array(decl))
			continue;
		json_t *c = columnar(rows, decl);
		if (!c || json_object_set_new(doc, k, c) < 0)
			return -1;
	}
	return 0;
}

json_t *mpa_report_docs(const char *dir, json_t *summary)
{
	json_t *docs = json_object();
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(summary, "analyzers"), name, v) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.json", dir, name);
		json_t *doc = json_load_file(path, 0, NULL);
		if (doc && json_object_set_new(docs, name, doc) < 0) {
			json_decref(docs);
			return NULL;
		}
	}
	return docs;
}

json_t *mpa_report_data(const char *dir, json_t *summary, struct mpa_outset *set)
{
	json_t *docs = mpa_report_docs(dir, summary), *plots = json_object();
	if (!docs || !plots)
		goto fail;
	const char *name;
	json_t *doc;
	json_object_foreach(docs, name, doc) if (compact_tables(doc) < 0) goto fail;
	size_t nimg;
	const char *const *imgs = mpa_outset_images(set, &nimg);
	for (size_t i = 0; i < nimg; i++) {
		const char *base = strrchr(imgs[i], '/');
		base = base ? base + 1 : imgs[i];
		size_t bl = strlen(base);
		if (bl < 5 || strcmp(base + bl - 4, ".svg"))
			continue; /* PNGs duplicate the SVGs */
		/* plots/<analyzer>_<plot>.svg: the longest analyzer name that fits */
		const char *owner = NULL;
		json_t *sv;
		json_object_foreach(json_object_get(summary, "analyzers"), name, sv) {
			size_t nl = strlen(name);
			if (!strncmp(base, name, nl) && base[nl] == '_' && (!owner || nl > strlen(owner)))
				owner = name;
		}
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, imgs[i]);
		size_t len;
		char *svg = slurp(path, &len);
		if (!svg)
			continue; /* the page says which plot is missing: it is not listed */
		char *b64 = base64((const unsigned char *)svg, len);
		free(svg);
		if (!b64)
			goto fail;
		char *uri = malloc(strlen(b64) + 32);
		if (!uri) {
			free(b64);
			goto fail;
		}
		sprintf(uri, "data:image/svg+xml;base64,%s", b64);
		free(b64);
		json_t *list = json_object_get(plots, owner ? owner : "");
		if (!list)
			json_object_set_new(plots, owner ? owner : "", list = json_array());
		json_t *p = json_pack("{s:s%, s:s}", "name", base, bl - 4, "src", uri);
		free(uri);
		if (!p || json_array_append_new(list, p) < 0)
			goto fail;
	}
	return json_pack("{s:O, s:o, s:o}", "summary", summary, "docs", docs, "plots", plots);
fail:
	json_decref(docs);
	json_decref(plots);
	return NULL;
}
