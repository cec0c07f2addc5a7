/* mpa analyzers — the shared emitters: CSV tables (libcsv), JSON documents
 * (jansson), and plots (gnuplot data + script, rendered after emit).
 *
 * Every file is written under a temporary name (NAME.tmp.<pid>) and renamed
 * once complete, so a reader never sees half a file under a final name.
 * Nothing here depends on the time of the run: the same results give
 * byte-identical files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csv.h>

#include "out.h"
#include "util.h"

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* ---- atomic files ------------------------------------------------------------- */

int mpa_afile_open(struct mpa_afile *a, const char *path)
{
	memset(a, 0, sizeof *a);
	a->path = strdup(path);
	a->tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if (!a->path || !a->tmp)
		goto fail;
	a->f = fopen(a->tmp, "wb");
	if (!a->f)
		goto fail;
	return 0;
fail: {
	int e = errno ? errno : ENOMEM;
	free(a->path);
	free(a->tmp);
	memset(a, 0, sizeof *a);
	errno = e;
	return -1;
}
}

int mpa_afile_commit(struct mpa_afile *a)
{
	int rc = 0, e = 0;
	if (fflush(a->f) != 0 || ferror(a->f)) {
		rc = -1;
		e = errno ? errno : EIO;
	}
	if (fclose(a->f) != 0 && !rc) {
		rc = -1;
		e = errno;
	}
	a->f = NULL;
	if (!rc && rename(a->tmp, a->path) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc)
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	errno = e;
	return rc;
}

void mpa_afile_abort(struct mpa_afile *a)
{
	if (a->f)
		fclose(a->f);
	if (a->tmp)
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	memset(a, 0, sizeof *a);
}

int mpa_write_json(const char *path, json_t *v)
{
	struct mpa_afile a;
	if (mpa_afile_open(&a, path) < 0)
		return -1;
	if (json_dumpf(v, a.f, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(12)) < 0 ||
	    fputc('\n', a.f) == EOF) {
		mpa_afile_abort(&a);
		errno = EIO;
		return -1;
	}
	return mpa_afile_commit(&a);
}

/* ---- formats ---------------------------------------------------------------------- */

int mpa_formats_parse(const char *s, unsigned *formats, char *err, size_t errlen)
{
	unsigned f = 0;
	const char *p = s;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 3 && !strncmp(p, "csv", 3))
			f |= MPA_FMT_CSV;
		else if (n == 4 && !strncmp(p, "json", 4))
			f |= MPA_FMT_JSON;
		else if (n == 3 && !strncmp(p, "svg", 3))
			f |= MPA_FMT_SVG;
		else if (n == 3 && !strncmp(p, "png", 3))
			f |= MPA_FMT_PNG;
		else {
			mpa_errf(err, errlen, "unknown format '%.*s' (expected csv, json, svg, png)",
			       (int)n, p);
			return -1;
		}
		if (!c)
			break;
		p = c + 1;
	}
	*formats = f;
	return 0;
}

/* ---- the output set ----------------------------------------------------------------- */

struct outfile {
	char *path;      /* relative to dir (owned) */
	char *analyzer;  /* (owned) */
	char *kind;      /* (owned) */
};

struct pending_plot {
	char *base;      /* plots/<analyzer>_<name> relative (owned) */
	char *analyzer;  /* (owned) */
};

struct mpa_outset {
	char *dir;                  /* (owned) */
	unsigned formats;
	int width, height;
	struct outfile *files;      /* (owned) */
	size_t nfiles, capfiles;
	struct pending_plot *plots; /* (owned) */
	size_t nplots, capplots;
	char **images;              /* rendered plot images, relative (owned) */
	size_t nimages;
	int plots_dir_made;
};

int mpa_mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0777) != 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(buf, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

struct mpa_outset *mpa_outset_create(const char *dir, unsigned formats, int plot_width,
				     int plot_height, char *err, size_t errlen)
{
	if (mpa_mkdir_p(dir) < 0) {
		mpa_errf(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
		return NULL;
	}
	struct mpa_outset *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		mpa_errf(err, errlen, "out of memory");
		return NULL;
	}
	s->formats = formats;
	s->width = plot_width > 0 && plot_width <= 10000 ? plot_width : 900;
	s->height = plot_height > 0 && plot_height <= 10000 ? plot_height : 540;
	return s;
}

void mpa_outset_free(struct mpa_outset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].path);
		free(s->files[i].analyzer);
		free(s->files[i].kind);
	}
	for (size_t i = 0; i < s->nplots; i++) {
		free(s->plots[i].base);
		free(s->plots[i].analyzer);
	}
	for (size_t i = 0; i < s->nimages; i++)
		free(s->images[i]);
	free(s->files);
	free(s->plots);
	free(s->images);
	free(s->dir);
	free(s);
}

int mpa_outset_add_file(struct mpa_outset *s, const char *relpath, const char *analyzer,
			const char *what)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].path, relpath))
			return 0;
	if (s->nfiles == s->capfiles) {
		size_t nc = s->capfiles ? s->capfiles * 2 : 16;
		struct outfile *nf = realloc(s->files, nc * sizeof *nf);
		if (!nf)
			return -1;
		s->files = nf;
		s->capfiles = nc;
	}
	struct outfile *f = &s->files[s->nfiles];
	f->path = strdup(relpath);
	f->analyzer = strdup(analyzer);
	f->kind = strdup(what);
	if (!f->path || !f->analyzer || !f->kind) {
		free(f->path);
		free(f->analyzer);
		free(f->kind);
		return -1;
	}
	s->nfiles++;
	return 0;
}

static int cmp_outfile(const void *a, const void *b)
{
	return strcmp(((const struct outfile *)a)->path, ((const struct outfile *)b)->path);
}

json_t *mpa_outset_files_json(const struct mpa_outset *s)
{
	if (s->nfiles > 1)
		qsort(s->files, s->nfiles, sizeof *s->files, cmp_outfile);
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	for (size_t i = 0; i < s->nfiles; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "path", s->files[i].path, "analyzer",
				      s->files[i].analyzer, "kind", s->files[i].kind);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *const *mpa_outset_images(const struct mpa_outset *s, size_t *n)
{
	if (s->nimages > 1)
		qsort(s->images, s->nimages, sizeof *s->images, cmp_str);
	*n = s->nimages;
	return (const char *const *)s->images;
}

/* ---- one analyzer's output ------------------------------------------------------------ */

struct mpa_table {
	mpa_out *o;           /* (weak) */
	struct mpa_afile a;   /* a.f NULL when CSV output is off */
	unsigned ncols, col;
	int failed;
	const struct mpa_table_decl *decl; /* (weak) NULL for mpa_table_open tables */
	json_t *rows;         /* (borrowed from o->doc) the JSON side, NULL = none */
	json_t *cur;          /* (owned) the row being written */
	char rel[256];        /* path relative to the output directory */
	struct mpa_table *next;
};

struct mpa_plot {
	mpa_out *o;           /* (weak) */
	struct mpa_afile dat;
	char *name, *title, *xlabel, *ylabel; /* (owned) */
	enum mpa_plot_style style;
	char **series;        /* labels (owned) */
	size_t nseries;
	uint64_t points;
	int has_labels, failed;
	struct mpa_plot *next;
};

struct mpa_out {
	struct mpa_outset *set; /* (weak) */
	char *analyzer;         /* (owned) */
	json_t *doc;            /* <analyzer>.json (owned) */
	json_t *summary;        /* (borrowed from the framework's summary) */
	struct mpa_table *tables; /* open tables (owned) */
	struct mpa_plot *plots;   /* open plots (owned) */
	char err[512];
};

mpa_out *mpa_out_create(struct mpa_outset *s, const char *analyzer, json_t *summary_obj)
{
	mpa_out *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->set = s;
	o->analyzer = strdup(analyzer);
	o->doc = json_object();
	o->summary = summary_obj;
	if (!o->analyzer || !o->doc) {
		mpa_out_free(o);
		return NULL;
	}
	return o;
}

const char *mpa_out_error(const mpa_out *o)
{
	return o && o->err[0] ? o->err : "no error";
}

json_t *mpa_out_json(mpa_out *o)
{
	return o->doc;
}

json_t *mpa_out_summary(mpa_out *o)
{
	return o->summary;
}

static json_t *json_number(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

int mpa_out_alert(mpa_out *o, const struct mpa_alert *a)
{
	static const char *const sev[] = {"info", "warning", "error"};
	if (!o || !a || !a->name || !a->message)
		return -1;
	json_t *arr = json_object_get(o->summary, "alerts");
	if (!arr && (!(arr = json_array()) || json_object_set_new(o->summary, "alerts", arr) < 0))
		goto oom;
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "name", a->name, "analyzer",
			      o->analyzer, "severity",
			      sev[(unsigned)a->severity <= MPA_SEV_ERROR ? a->severity : MPA_SEV_WARNING],
			      "value", json_number(a->value), "unit", a->unit ? a->unit : "",
			      "message", a->message);
	if (!j)
		goto oom;
	if (!isnan(a->threshold))
		json_object_set_new(j, "threshold", json_number(a->threshold));
	if (a->advice)
		json_object_set_new(j, "advice", json_string(a->advice));
	if (json_array_append_new(arr, j) < 0)
		goto oom;
	return 0;
oom:
	snprintf(o->err, sizeof o->err, "out of memory");
	return -1;
}

static int valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Writes a CSV field with libcsv's quoting. */
static void csv_field(FILE *f, const char *s)
{
	csv_fwrite(f, s, strlen(s));
}

mpa_table *mpa_table_open(mpa_out *o, const char *name, unsigned ncols,
			  const char *const *headers)
{
	if (!valid_name(name) || ncols == 0 || !headers) {
		snprintf(o->err, sizeof o->err, "%s: bad table name or columns", o->analyzer);
		return NULL;
	}
	mpa_table *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(o->err, sizeof o->err, "out of memory");
		return NULL;
	}
	t->o = o;
	t->ncols = ncols;
	if (o->set->formats & MPA_FMT_CSV) {
		char rel[256], *path;
		snprintf(rel, sizeof rel, "%s_%s.csv", o->analyzer, name);
		path = xasprintf("%s/%s", o->set->dir, rel);
		if (!path || mpa_afile_open(&t->a, path) < 0) {
			snprintf(o->err, sizeof o->err, "cannot write '%s': %s",
				 path ? path : rel, strerror(errno));
			free(path);
			free(t);
			return NULL;
		}
		free(path);
		snprintf(t->rel, sizeof t->rel, "%s", rel);
		for (unsigned i = 0; i < ncols; i++) {
			if (i)
				fputc(',', t->a.f);
			csv_field(t->a.f, headers[i] ? headers[i] : "");
		}
		fputc('\n', t->a.f);
	}
	t->next = o->tables;
	o->tables = t;
	return t;
}

static const char *const col_type_names[] = {"string", "u64", "i64", "f64"};

mpa_table *mpa_table_begin(mpa_out *o, const struct mpa_table_decl *d)
{
	if (!d || !d->cols || !d->ncols || d->ncols > 256) {
		snprintf(o->err, sizeof o->err, "%s: bad table declaration", o->analyzer);
		return NULL;
	}
	const char *h[256];
	for (unsigned i = 0; i < d->ncols; i++)
		h[i] = d->cols[i].name;
	mpa_table *t = mpa_table_open(o, d->name, d->ncols, h);
	if (!t)
		return NULL;
	t->decl = d;
	json_t *tabs = json_object_get(o->doc, "tables"), *cols = json_array();
	if (!tabs && json_object_set_new(o->doc, "tables", tabs = json_object()) < 0)
		tabs = NULL;
	for (unsigned i = 0; cols && i < d->ncols; i++)
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "name", d->cols[i].name,
						      "type", col_type_names[d->cols[i].type],
						      "unit", d->cols[i].unit ? d->cols[i].unit : ""));
	if (!tabs || !cols || json_object_set_new(tabs, d->name, cols) < 0)
		t->failed = 1;
	if (d->json && (o->set->formats & MPA_FMT_JSON)) {
		/* where the rows are: table_rows[name] = key (the report reads it) */
		json_t *where = json_object_get(o->doc, "table_rows");
		if (!where && json_object_set_new(o->doc, "table_rows", where = json_object()) < 0)
			where = NULL;
		if (!where || json_object_set_new(where, d->name, json_string(d->json)) < 0)
			t->failed = 1;
		t->rows = json_array();
		if (!t->rows || json_object_set_new(o->doc, d->json, t->rows) < 0)
			t->failed = 1;
	}
	return t;
}

/* The JSON side of the next cell (NULL when none). */
static void cell_json(mpa_table *t, json_t *v)
{
	if (!t->rows || !t->decl || t->col == 0 || t->col > t->ncols) {
		json_decref(v);
		return;
	}
	if (!t->cur && !(t->cur = json_object()))
		t->failed = 1;
	if (!v || !t->cur || json_object_set_new(t->cur, t->decl->cols[t->col - 1].name, v) < 0)
		t->failed = 1;
}

void mpa_table_json(mpa_table *t, const char *key, json_t *v)
{
	if (!t || !t->rows) {
		json_decref(v);
		return;
	}
	if (!t->cur && !(t->cur = json_object()))
		t->failed = 1;
	if (!v || !t->cur || json_object_set_new(t->cur, key, v) < 0)
		t->failed = 1;
}

static void cell_sep(mpa_table *t)
{
	if (t->col >= t->ncols)
		t->failed = 1;
	if (t->col++ && t->a.f)
		fputc(',', t->a.f);
}

/* JSON strings must be UTF-8: other bytes become U+FFFD. */
static json_t *json_str(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	size_t n = strlen(s);
	char *b = malloc(3 * n + 1), *q = b;
	if (!b)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80) {
			*q++ = (char)*p;
		} else {
			*q++ = (char)0xEF;
			*q++ = (char)0xBF;
			*q++ = (char)0xBD;
		}
	}
	*q = 0;
	v = json_string(b);
	free(b);
	return v;
}

void mpa_table_str(mpa_table *t, const char *s)
{
	if (!t)
		return;
	cell_sep(t);
	if (t->a.f)
		csv_field(t->a.f, s ? s : "");
	if (t->rows)
		cell_json(t, json_str(s ? s : ""));
}

void mpa_table_u64(mpa_table *t, uint64_t v)
{
	if (!t)
		return;
	cell_sep(t);
	if (t->a.f)
		fprintf(t->a.f, "%llu", (unsigned long long)v);
	if (t->rows)
		cell_json(t, json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v));
}

void mpa_table_i64(mpa_table *t, int64_t v)
{
	if (!t)
		return;
	cell_sep(t);
	if (t->a.f)
		fprintf(t->a.f, "%lld", (long long)v);
	if (t->rows)
		cell_json(t, json_integer((json_int_t)v));
}

void mpa_table_f64(mpa_table *t, double v)
{
	if (!t)
		return;
	char buf[64];
	cell_sep(t);
	mpa_fmt_double(buf, sizeof buf, v);
	if (t->a.f)
		fputs(buf, t->a.f);
	if (t->rows)
		cell_json(t, isfinite(v) ? json_real(v) : json_null());
}

int mpa_table_end_row(mpa_table *t)
{
	if (!t)
		return -1;
	if (t->col != t->ncols)
		t->failed = 1;
	t->col = 0;
	if (t->a.f)
		fputc('\n', t->a.f);
	if (t->rows) {
		if (!t->cur || json_array_append_new(t->rows, t->cur) < 0)
			t->failed = 1;
		t->cur = NULL;
	}
	if (t->failed) {
		snprintf(t->o->err, sizeof t->o->err, "%s: table row with the wrong number of cells",
			 t->o->analyzer);
		return -1;
	}
	return 0;
}

int mpa_table_close(mpa_table *t)
{
	if (!t)
		return 0;
	mpa_out *o = t->o;
	for (mpa_table **pp = &o->tables; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	int rc = 0;
	json_decref(t->cur);
	t->cur = NULL;
	if (t->failed || t->col != 0) {
		snprintf(o->err, sizeof o->err, "%s: table has an incomplete or bad row", o->analyzer);
		if (t->a.f)
			mpa_afile_abort(&t->a);
		rc = -1;
	} else if (t->a.f) {
		char *p = strdup(t->a.path);
		if (mpa_afile_commit(&t->a) < 0) {
			snprintf(o->err, sizeof o->err, "cannot write '%s': %s", p ? p : "?",
				 strerror(errno));
			rc = -1;
		} else if (mpa_outset_add_file(o->set, t->rel, o->analyzer, "csv") < 0) {
			snprintf(o->err, sizeof o->err, "out of memory");
			rc = -1;
		}
		free(p);
	}
	free(t);
	return rc;
}

/* ---- plots ------------------------------------------------------------------------------ */

static int plots_dir(mpa_out *o)
{
	if (o->set->plots_dir_made)
		return 0;
	char *p = xasprintf("%s/plots", o->set->dir);
	if (!p)
		return -1;
	int rc = mpa_mkdir_p(p);
	if (rc < 0)
		snprintf(o->err, sizeof o->err, "cannot create '%s': %s", p, strerror(errno));
	free(p);
	if (!rc)
		o->set->plots_dir_made = 1;
	return rc;
}

mpa_plot *mpa_plot_open(mpa_out *o, const char *name, const char *title, const char *xlabel,
			const char *ylabel, enum mpa_plot_style style)
{
	if (!valid_name(name)) {
		snprintf(o->err, sizeof o->err, "%s: bad plot name", o->analyzer);
		return NULL;
	}
	if (!(o->set->formats & (MPA_FMT_SVG | MPA_FMT_PNG))) {
		/* No plots wanted: a plot that discards its points. */
		mpa_plot *p = calloc(1, sizeof *p);
		if (p) {
			p->o = o;
			p->next = o->plots;
			o->plots = p;
		}
		return p;
	}
	if (plots_dir(o) < 0)
		return NULL;
	mpa_plot *p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	p->o = o;
	p->style = style;
	p->name = xasprintf("%s_%s", o->analyzer, name);
	p->title = strdup(title ? title : "");
	p->xlabel = strdup(xlabel ? xlabel : "");
	p->ylabel = strdup(ylabel ? ylabel : "");
	if (!p->name || !p->title || !p->xlabel || !p->ylabel)
		goto oom;
	char *path = xasprintf("%s/plots/%s.dat", o->set->dir, p->name);
	if (!path)
		goto oom;
	if (mpa_afile_open(&p->dat, path) < 0) {
		snprintf(o->err, sizeof o->err, "cannot write '%s': %s", path, strerror(errno));
		free(path);
		goto fail;
	}
	free(path);
	fprintf(p->dat.f, "# %s\n", p->title);
	p->next = o->plots;
	o->plots = p;
	return p;
oom:
	snprintf(o->err, sizeof o->err, "out of memory");
fail:
	if (p) {
		free(p->name);
		free(p->title);
		free(p->xlabel);
		free(p->ylabel);
		free(p);
	}
	return NULL;
}

int mpa_plot_series(mpa_plot *p, const char *label)
{
	if (!p)
		return -1;
	if (!p->dat.f)
		return 0;
	char **ns = realloc(p->series, (p->nseries + 1) * sizeof *ns);
	if (!ns)
		goto oom;
	p->series = ns;
	if (!(ns[p->nseries] = strdup(label ? label : "")))
		goto oom;
	/* gnuplot separates data sets ("index") with two blank lines */
	if (p->nseries)
		fputs("\n\n", p->dat.f);
	fprintf(p->dat.f, "# series %zu\n", p->nseries);
	p->nseries++;
	return 0;
oom:
	p->failed = 1;
	snprintf(p->o->err, sizeof p->o->err, "out of memory");
	return -1;
}

/* A label inside a data file: double quotes, no quotes or controls inside. */
static void dat_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		fputc(*c == '"' ? '\'' : *c < 0x20 ? ' ' : *c, f);
	fputc('"', f);
}

static int plot_row(mpa_plot *p, double x, double y, const char *label)
{
	if (!p)
		return -1;
	if (!p->dat.f)
		return 0;
	if (!p->nseries && mpa_plot_series(p, "") < 0)
		return -1;
	char bx[64], by[64];
	mpa_fmt_double(bx, sizeof bx, x);
	mpa_fmt_double(by, sizeof by, y);
	fprintf(p->dat.f, "%s %s", bx, by);
	if (p->style == MPA_PLOT_BOXES || p->style == MPA_PLOT_HBARS) {
		/* a tick label longer than this squeezes the bars out of the plot
		 * (the full text is in the CSV tables): keep its end, where a site
		 * name has the function's last part and file:line, and cut at a
		 * character boundary, never inside a UTF-8 sequence */
		enum { LABEL_MAX = 56 };
		char shortl[LABEL_MAX * 4 + 8];
		const char *l = label ? label : "";
		size_t nchar = 0;
		for (const unsigned char *q = (const unsigned char *)l; *q; q++)
			nchar += (*q & 0xC0) != 0x80;
		if (nchar > LABEL_MAX) {
			size_t skip = nchar - (LABEL_MAX - 1), seen = 0;
			const char *q = l;
			while (*q && seen < skip)
				seen += ((unsigned char)*++q & 0xC0) != 0x80;
			snprintf(shortl, sizeof shortl, "\xe2\x80\xa6%s", q);
			l = shortl;
		}
		fputc(' ', p->dat.f);
		dat_label(p->dat.f, l);
	}
	fputc('\n', p->dat.f);
	p->points++;
	return 0;
}

int mpa_plot_point(mpa_plot *p, double x, double y)
{
	return plot_row(p, x, y, NULL);
}

int mpa_plot_label(mpa_plot *p, double x, double y, const char *label)
{
	if (p)
		p->has_labels = 1;
	return plot_row(p, x, y, label);
}

/* A gnuplot double-quoted string. */
static void gp_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fputc('\\', f);
		fputc(*c < 0x20 ? ' ' : *c, f);
	}
	fputc('"', f);
}

static int write_script(mpa_plot *p)
{
	mpa_out *o = p->o;
	char *path = xasprintf("%s/plots/%s.gp", o->set->dir, p->name);
	struct mpa_afile a;
	if (!path || mpa_afile_open(&a, path) < 0) {
		snprintf(o->err, sizeof o->err, "cannot write '%s': %s", path ? path : p->name,
			 strerror(errno));
		free(path);
		return -1;
	}
	FILE *f = a.f;
	fprintf(f, "# mpa-analyze plot: gnuplot %s.gp writes %s.svg\n", p->name, p->name);
	fprintf(f, "# (gnuplot -e \"fmt='png'\" %s.gp writes %s.png); data: %s.dat\n", p->name,
		p->name, p->name);
	fprintf(f, "if (!exists(\"fmt\")) fmt = \"svg\"\n");
	fprintf(f, "if (!exists(\"outfile\")) outfile = \"%s.\" . fmt\n", p->name);
	fprintf(f, "if (fmt eq \"png\") {\n"
		   "  set terminal pngcairo size %d,%d noenhanced font \"sans,9\" background \"white\"\n"
		   "} else {\n"
		   "  set terminal svg size %d,%d dynamic noenhanced font \"sans,9\" background \"white\"\n"
		   "}\n",
		o->set->width, o->set->height, o->set->width, o->set->height);
	fprintf(f, "set output outfile\n");
	fprintf(f, "set title ");
	gp_string(f, p->title);
	fprintf(f, "\nset xlabel ");
	gp_string(f, p->xlabel);
	fprintf(f, "\nset ylabel ");
	gp_string(f, p->ylabel);
	fprintf(f, "\nset grid\nset key below center horizontal\n");
	fprintf(f, "set datafile missing \"nan\"\n");
	if (p->points == 0) {
		fprintf(f, "set xrange [0:1]\nset yrange [0:1]\nunset key\n"
			   "set label \"no data\" at graph 0.5,0.5 center\nplot NaN notitle\n");
	} else {
		const char *using, *with;
		switch (p->style) {
		case MPA_PLOT_BOXES:
			fprintf(f, "set style fill solid 0.6 border -1\nset boxwidth 0.8 relative\n"
				   "set yrange [0:*]\n");
			if (p->has_labels)
				fprintf(f, "set xtics rotate by -45 left\n");
			using = p->has_labels ? "1:2:xtic(3)" : "1:2";
			with = "boxes";
			break;
		case MPA_PLOT_HBARS:
			fprintf(f, "set style fill solid 0.6 border -1\nset yrange [*:*] reverse\n"
				   "set xrange [0:*]\nset format x \"%%.1s%%c\"\n");
			using = p->has_labels ? "($2/2):1:($2/2):(0.4):ytic(3)"
					      : "($2/2):1:($2/2):(0.4)";
			with = "boxxyerror";
			break;
		case MPA_PLOT_STEPS:
			using = "1:2";
			with = "steps";
			break;
		case MPA_PLOT_AREAS:
			fprintf(f, "set style fill solid 0.85 noborder\nset yrange [0:*]\n");
			using = "1:2";
			with = "fillsteps";
			break;
		case MPA_PLOT_LINES:
		default:
			using = "1:2";
			with = "lines";
			break;
		}
		if (p->nseries <= 1 && (!p->nseries || !p->series[0][0]))
			fprintf(f, "unset key\n");
		fprintf(f, "plot ");
		size_t ns = p->nseries ? p->nseries : 1;
		for (size_t i = 0; i < ns; i++) {
			fprintf(f, "%s", i ? ", \\\n     " : "");
			if (i)
				fprintf(f, "''");
			else
				fprintf(f, "'%s.dat'", p->name);
			fprintf(f, " index %zu using %s with %s title ", i, using, with);
			gp_string(f, p->nseries ? p->series[i] : "");
		}
		fputc('\n', f);
	}
	free(path);
	if (mpa_afile_commit(&a) < 0) {
		snprintf(o->err, sizeof o->err, "cannot write plot script '%s.gp': %s", p->name,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void plot_free(mpa_plot *p)
{
	for (size_t i = 0; i < p->nseries; i++)
		free(p->series[i]);
	free(p->series);
	free(p->name);
	free(p->title);
	free(p->xlabel);
	free(p->ylabel);
	free(p);
}

int mpa_plot_close(mpa_plot *p)
{
	if (!p)
		return 0;
	mpa_out *o = p->o;
	for (mpa_plot **pp = &o->plots; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (!p->dat.f) {
		plot_free(p);
		return 0;
	}
	int rc = 0;
	if (p->failed) {
		mpa_afile_abort(&p->dat);
		plot_free(p);
		return -1;
	}
	if (mpa_afile_commit(&p->dat) < 0) {
		snprintf(o->err, sizeof o->err, "cannot write plot data '%s.dat': %s", p->name,
			 strerror(errno));
		plot_free(p);
		return -1;
	}
	if (write_script(p) < 0)
		rc = -1;
	char rel[300];
	struct mpa_outset *s = o->set;
	if (!rc) {
		snprintf(rel, sizeof rel, "plots/%s.dat", p->name);
		if (mpa_outset_add_file(s, rel, o->analyzer, "plot-data") < 0)
			rc = -1;
		snprintf(rel, sizeof rel, "plots/%s.gp", p->name);
		if (!rc && mpa_outset_add_file(s, rel, o->analyzer, "plot-script") < 0)
			rc = -1;
		if (!rc) {
			struct pending_plot *np = realloc(s->plots, (s->nplots + 1) * sizeof *np);
			if (!np) {
				rc = -1;
			} else {
				s->plots = np;
				np[s->nplots].base = strdup(p->name);
				np[s->nplots].analyzer = strdup(o->analyzer);
				if (!np[s->nplots].base || !np[s->nplots].analyzer) {
					free(np[s->nplots].base);
					free(np[s->nplots].analyzer);
					rc = -1;
				} else {
					s->nplots++;
				}
			}
		}
		if (rc)
			snprintf(o->err, sizeof o->err, "out of memory");
	}
	plot_free(p);
	return rc;
}

/* ---- finishing and rendering ------------------------------------------------------------- */

int mpa_out_finish(mpa_out *o)
{
	int rc = 0;
	char keep[512] = "";
	while (o->tables) {
		if (mpa_table_close(o->tables) < 0 && !keep[0]) {
			rc = -1;
			snprintf(keep, sizeof keep, "%s", o->err);
		}
	}
	while (o->plots) {
		if (mpa_plot_close(o->plots) < 0 && !keep[0]) {
			rc = -1;
			snprintf(keep, sizeof keep, "%s", o->err);
		}
	}
	if (!rc && (o->set->formats & MPA_FMT_JSON)) {
		char rel[256];
		snprintf(rel, sizeof rel, "%s.json", o->analyzer);
		char *path = xasprintf("%s/%s", o->set->dir, rel);
		if (!path || mpa_write_json(path, o->doc) < 0) {
			snprintf(keep, sizeof keep, "cannot write '%s': %s", path ? path : rel,
				 strerror(errno));
			rc = -1;
		} else if (mpa_outset_add_file(o->set, rel, o->analyzer, "json") < 0) {
			snprintf(keep, sizeof keep, "out of memory");
			rc = -1;
		}
		free(path);
	}
	if (rc)
		snprintf(o->err, sizeof o->err, "%s", keep);
	return rc;
}

void mpa_out_free(mpa_out *o)
{
	if (!o)
		return;
	while (o->tables) {
		mpa_table *t = o->tables;
		o->tables = t->next;
		if (t->a.f)
			mpa_afile_abort(&t->a);
		free(t);
	}
	while (o->plots) {
		mpa_plot *p = o->plots;
		o->plots = p->next;
		if (p->dat.f)
			mpa_afile_abort(&p->dat);
		plot_free(p);
	}
	json_decref(o->doc);
	free(o->analyzer);
	free(o);
}

/* The gnuplot to run: $MPA_GNUPLOT (tests point it elsewhere), else the
 * first `gnuplot` on PATH.  NULL when there is none. */
static char *find_gnuplot(void)
{
	const char *env = getenv("MPA_GNUPLOT");
	if (env && *env)
		return access(env, X_OK) == 0 ? strdup(env) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	while (*p) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char *cand = xasprintf("%.*s/gnuplot", (int)(n ? n : 1), n ? p : ".");
		if (cand && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!c)
			break;
		p = c + 1;
	}
	return NULL;
}

/* Runs gnuplot in the plots directory; returns 0 on success, else -1 with
 * the first line gnuplot printed in msg. */
static int run_gnuplot(const char *gp, const char *plotdir, const char *script, const char *fmt,
		       const char *outfile, char *msg, size_t msglen)
{
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return -1;
	}
	char *expr = xasprintf("fmt='%s'; outfile='%s'", fmt, outfile);
	if (!expr) {
		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		free(expr);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		if (chdir(plotdir) != 0)
			_exit(126);
		execl(gp, "gnuplot", "-e", expr, script, (char *)NULL);
		_exit(127);
	}
	free(expr);
	close(pipefd[1]);
	char buf[1024];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(pipefd[0], buf + have, sizeof buf - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have == sizeof buf - 1) {
			/* keep draining, keep only the start */
			char sink[4096];
			while (read(pipefd[0], sink, sizeof sink) > 0)
				;
			break;
		}
	}
	buf[have] = 0;
	close(pipefd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	/* first non-empty line of gnuplot's complaint */
	char *line = buf;
	while (*line == '\n' || *line == ' ')
		line++;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(msg, msglen, "cannot run '%s'", gp);
	else
		snprintf(msg, msglen, "%.400s", *line ? line : "gnuplot failed");
	return -1;
}

int mpa_outset_render(struct mpa_outset *s, char *note, size_t notelen, char *err,
		      size_t errlen)
{
	if (note && notelen)
		note[0] = 0;
	if (!s->nplots)
		return 0;
	char *gp = find_gnuplot();
	if (!gp) {
		mpa_errf(note, notelen,
		       "gnuplot not found: plots left as gnuplot scripts and data in '%s/plots'",
		       s->dir);
		return 1;
	}
	char *plotdir = xasprintf("%s/plots", s->dir);
	if (!plotdir) {
		free(gp);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	static const struct {
		unsigned bit;
		const char *ext;
	} fmts[] = {{MPA_FMT_SVG, "svg"}, {MPA_FMT_PNG, "png"}};
	for (size_t i = 0; i < s->nplots && !rc; i++) {
		for (size_t k = 0; k < 2 && !rc; k++) {
			if (!(s->formats & fmts[k].bit))
				continue;
			char script[300], tmp[340], fin[320], msg[600];
			snprintf(script, sizeof script, "%s.gp", s->plots[i].base);
			snprintf(fin, sizeof fin, "%s.%s", s->plots[i].base, fmts[k].ext);
			snprintf(tmp, sizeof tmp, "%s.tmp.%ld", fin, (long)getpid());
			if (run_gnuplot(gp, plotdir, script, fmts[k].ext, tmp, msg, sizeof msg) < 0) {
				char *t = xasprintf("%s/%s", plotdir, tmp);
				if (t)
					unlink(t);
				free(t);
				mpa_errf(err, errlen, "gnuplot failed on '%s/%s': %s", plotdir, script,
				       msg);
				rc = -1;
				break;
			}
			char *from = xasprintf("%s/%s", plotdir, tmp);
			char *to = xasprintf("%s/%s", plotdir, fin);
			char rel[340];
			snprintf(rel, sizeof rel, "plots/%s", fin);
			if (!from || !to || rename(from, to) != 0) {
				mpa_errf(err, errlen, "cannot write '%s': %s", to ? to : fin,
				       strerror(errno));
				if (from)
					unlink(from);
				rc = -1;
			} else if (mpa_outset_add_file(s, rel, s->plots[i].analyzer, fmts[k].ext) < 0) {
				mpa_errf(err, errlen, "out of memory");
				rc = -1;
			} else if (fmts[k].bit == MPA_FMT_SVG ||
				   !(s->formats & MPA_FMT_SVG)) {
				char **ni = realloc(s->images, (s->nimages + 1) * sizeof *ni);
				if (!ni || !(ni[s->nimages] = strdup(rel))) {
					if (ni)
						s->images = ni;
					mpa_errf(err, errlen, "out of memory");
					rc = -1;
				} else {
					s->images = ni;
					s->nimages++;
				}
			}
			free(from);
			free(to);
		}
	}
	free(plotdir);
	free(gp);
	return rc;
}
