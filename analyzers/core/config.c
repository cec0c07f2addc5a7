/* mpa analyzers — configuration: the declared options, their effective
 * values, and a small strict reader for the flat TOML subset of .mpa.toml.
 *
 * Accepted: `# comments`, `[table]` headers (bare names), `key = value` with
 * bare keys, values that are basic "strings" (with \" \\ \b \t \n \f \r
 * \uXXXX \UXXXXXXXX escapes) or 'literal strings', integers (decimal with
 * optional sign and single underscores between digits, 0x/0o/0b), floats
 * (fraction and/or exponent) and booleans.  Everything else TOML allows
 * (arrays, inline tables, dotted keys, multi-line strings, dates) is
 * refused with a clear message: no option needs it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

struct cfg_entry {
	const char *section;   /* (weak: the declaring option) */
	const char *key;       /* (weak) */
	enum mpa_opt_type type;
	const char *def;       /* (weak) */
	const char *help;      /* (weak) */
	char *owner;           /* (owned) */
	int b;
	int64_t i;
	double f;
	char *s;               /* (owned) string value */
	char *source;          /* (owned) "default", "FILE:LINE", "command line" */
};

struct mpa_config {
	struct cfg_entry *e;   /* (owned) */
	size_t n, cap;
};

const struct mpa_option mpa_framework_options[] = {
	{"visualization", "formats", MPA_OPT_STRING, "\"csv,json,svg\"",
	 "outputs to write: any of csv,json,svg,png (summary.json and report.html always)"},
	{"visualization", "output_dir", MPA_OPT_STRING, "\"mpa-report\"",
	 "directory the report goes to (-o overrides)"},
	{"visualization", "plot_width", MPA_OPT_INT, "900", "plot width, pixels"},
	{"visualization", "plot_height", MPA_OPT_INT, "540", "plot height, pixels"},
	{"monitoring", "from", MPA_OPT_STRING, "\"\"",
	 "start of the analyzed interval (--from syntax; empty = capture start)"},
	{"monitoring", "to", MPA_OPT_STRING, "\"\"",
	 "end of the analyzed interval (--to syntax; empty = capture end)"},
	{"monitoring", "pid", MPA_OPT_INT, "0", "analyze only this process id (0 = all)"},
	{"monitoring", "decode_threads", MPA_OPT_INT, "0",
	 "threads decoding chunks in parallel (0 = online CPUs, at most 4; 1 = none)"},
	{"sites", "alloc_fns", MPA_OPT_STRING, "\"\"",
	 "your allocation wrappers, skipped when naming a site like valgrind's --alloc-fn "
	 "(comma-separated function names as recorded; NAME* = prefix)"},
	{NULL, NULL, 0, NULL, NULL}
};

static const char *type_name(enum mpa_opt_type t)
{
	switch (t) {
	case MPA_OPT_BOOL: return "boolean";
	case MPA_OPT_INT: return "integer";
	case MPA_OPT_FLOAT: return "float";
	case MPA_OPT_STRING: return "string";
	}
	return "?";
}

static struct cfg_entry *find(const mpa_config *c, const char *section, const char *key)
{
	if (!c || !section || !key)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].section, section) && !strcmp(c->e[i].key, key))
			return &c->e[i];
	return NULL;
}

static int section_known(const mpa_config *c, const char *section)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].section, section))
			return 1;
	return 0;
}

/* ---- value parsing -------------------------------------------------------- */

/* A parsed TOML value. */
struct tval {
	enum { TV_BOOL, TV_INT, TV_FLOAT, TV_STRING } t;
	int b;
	int64_t i;
	double f;
	char *s; /* owned */
};

static int put_utf8(char **o, uint32_t cp)
{
	unsigned char *p = (unsigned char *)*o;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	if (cp < 0x80) {
		*p++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*p++ = (unsigned char)(0xC0 | (cp >> 6));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*p++ = (unsigned char)(0xE0 | (cp >> 12));
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*p++ = (unsigned char)(0xF0 | (cp >> 18));
		*p++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	*o = (char *)p;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parses a string starting at *pp (at the quote) up to end; advances *pp. */
static int parse_string(const char **pp, const char *end, struct tval *v, char *why,
			size_t whylen)
{
	const char *p = *pp;
	char q = *p++;
	if (end - p >= 2 && p[0] == q && p[1] == q) {
		mpa_errf(why, whylen, "multi-line strings are not supported");
		return -1;
	}
	/* Output is never longer than the input (escapes shrink or keep size). */
	char *out = malloc((size_t)(end - p) + 1);
	if (!out) {
		mpa_errf(why, whylen, "out of memory");
		return -1;
	}
	char *o = out;
	for (;;) {
		if (p >= end) {
			mpa_errf(why, whylen, "unterminated string");
			goto fail;
		}
		unsigned char ch = (unsigned char)*p;
		if (ch == (unsigned char)q) {
			p++;
			break;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7F) {
			mpa_errf(why, whylen, "control character in string");
			goto fail;
		}
		if (q == '"' && ch == '\\') {
			p++;
			if (p >= end) {
				mpa_errf(why, whylen, "unterminated string");
				goto fail;
			}
			char e = *p++;
			switch (e) {
			case 'b': *o++ = '\b'; break;
			case 't': *o++ = '\t'; break;
			case 'n': *o++ = '\n'; break;
			case 'f': *o++ = '\f'; break;
			case 'r': *o++ = '\r'; break;
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case 'u':
			case 'U': {
				int nd = e == 'u' ? 4 : 8;
				uint32_t cp = 0;
				if (end - p < nd) {
					mpa_errf(why, whylen, "bad \\%c escape", e);
					goto fail;
				}
				for (int k = 0; k < nd; k++) {
					int h = hexval((unsigned char)p[k]);
					if (h < 0) {
						mpa_errf(why, whylen, "bad \\%c escape", e);
						goto fail;
					}
					cp = cp * 16 + (uint32_t)h;
				}
				p += nd;
				if (cp == 0 || put_utf8(&o, cp) < 0) {
					mpa_errf(why, whylen, "bad unicode escape");
					goto fail;
				}
				break;
			}
			default:
				mpa_errf(why, whylen, "unknown escape '\\%c'", e);
				goto fail;
			}
			continue;
		}
		*o++ = (char)ch;
		p++;
	}
	*o = 0;
	v->t = TV_STRING;
	v->s = out;
	*pp = p;
	return 0;
fail:
	free(out);
	return -1;
}

/* Digits with single underscores between them; copies digits to buf. */
static int take_digits(const char **pp, const char *end, char *buf, size_t *bl, size_t cap,
		       int (*isdig)(int))
{
	const char *p = *pp;
	int any = 0, last_us = 0;
	while (p < end && (isdig((unsigned char)*p) || *p == '_')) {
		if (*p == '_') {
			if (!any || last_us)
				return -1;
			last_us = 1;
		} else {
			if (*bl + 1 >= cap)
				return -1;
			buf[(*bl)++] = *p;
			any = 1;
			last_us = 0;
		}
		p++;
	}
	if (!any || last_us)
		return -1;
	*pp = p;
	return 0;
}

static int is_dec(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return hexval(c) >= 0; }
static int is_oct(int c) { return c >= '0' && c <= '7'; }
static int is_bin(int c) { return c == '0' || c == '1'; }

static int parse_number(const char **pp, const char *end, struct tval *v, char *why,
			size_t whylen)
{
	const char *p = *pp;
	char buf[128];
	size_t bl = 0;
	if (p < end && (*p == '+' || *p == '-'))
		buf[bl++] = *p++;
	if (end - p >= 3 && (!strncmp(p, "inf", 3) || !strncmp(p, "nan", 3))) {
		mpa_errf(why, whylen, "inf and nan are not allowed");
		return -1;
	}
	if (bl == 0 && end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
		int base = p[1] == 'x' ? 16 : p[1] == 'o' ? 8 : 2;
		int (*dig)(int) = base == 16 ? is_hex : base == 8 ? is_oct : is_bin;
		p += 2;
		if (take_digits(&p, end, buf, &bl, sizeof buf, dig) < 0) {
			mpa_errf(why, whylen, "bad number");
			return -1;
		}
		buf[bl] = 0;
		errno = 0;
		unsigned long long u = strtoull(buf, NULL, base);
		if (errno || u > INT64_MAX) {
			mpa_errf(why, whylen, "integer out of range");
			return -1;
		}
		v->t = TV_INT;
		v->i = (int64_t)u;
		*pp = p;
		return 0;
	}
	size_t int_start = bl;
	if (take_digits(&p, end, buf, &bl, sizeof buf, is_dec) < 0) {
		mpa_errf(why, whylen, "bad value");
		return -1;
	}
	if (bl - int_start > 1 && buf[int_start] == '0') {
		mpa_errf(why, whylen, "leading zeros are not allowed");
		return -1;
	}
	int is_float = 0;
	if (p < end && *p == '.') {
		is_float = 1;
		buf[bl++] = *p++;
		if (take_digits(&p, end, buf, &bl, sizeof buf, is_dec) < 0) {
			mpa_errf(why, whylen, "bad float");
			return -1;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		is_float = 1;
		buf[bl++] = *p++;
		if (p < end && (*p == '+' || *p == '-'))
			buf[bl++] = *p++;
		if (take_digits(&p, end, buf, &bl, sizeof buf, is_dec) < 0) {
			mpa_errf(why, whylen, "bad float exponent");
			return -1;
		}
	}
	buf[bl] = 0;
	errno = 0;
	if (is_float) {
		double d = strtod(buf, NULL);
		if (errno == ERANGE && isinf(d)) {
			mpa_errf(why, whylen, "float out of range");
			return -1;
		}
		v->t = TV_FLOAT;
		v->f = d;
	} else {
		long long ll = strtoll(buf, NULL, 10);
		if (errno == ERANGE) {
			mpa_errf(why, whylen, "integer out of range");
			return -1;
		}
		v->t = TV_INT;
		v->i = ll;
	}
	*pp = p;
	return 0;
}

/* Parses one TOML value from [p, end); the rest may only be blanks and a
 * comment. */
static int parse_value(const char *p, const char *end, struct tval *v, char *why, size_t whylen)
{
	memset(v, 0, sizeof *v);
	if (p >= end) {
		mpa_errf(why, whylen, "missing value");
		return -1;
	}
	if (*p == '"' || *p == '\'') {
		if (parse_string(&p, end, v, why, whylen) < 0)
			return -1;
	} else if (end - p >= 4 && !strncmp(p, "true", 4)) {
		v->t = TV_BOOL;
		v->b = 1;
		p += 4;
	} else if (end - p >= 5 && !strncmp(p, "false", 5)) {
		v->t = TV_BOOL;
		v->b = 0;
		p += 5;
	} else if (*p == '[' || *p == '{') {
		mpa_errf(why, whylen, "arrays and inline tables are not supported");
		return -1;
	} else if (*p == '+' || *p == '-' || is_dec((unsigned char)*p) || *p == 'i' || *p == 'n') {
		if (parse_number(&p, end, v, why, whylen) < 0)
			return -1;
	} else {
		mpa_errf(why, whylen, "bad value");
		return -1;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p != '#') {
		free(v->s);
		v->s = NULL;
		mpa_errf(why, whylen, "unexpected text after the value");
		return -1;
	}
	return 0;
}

/* Stores v into e (type-checked).  Takes ownership of v->s. */
static int store(struct cfg_entry *e, struct tval *v, const char *source, char *why,
		 size_t whylen)
{
	switch (e->type) {
	case MPA_OPT_BOOL:
		if (v->t != TV_BOOL)
			goto type;
		e->b = v->b;
		break;
	case MPA_OPT_INT:
		if (v->t != TV_INT)
			goto type;
		e->i = v->i;
		break;
	case MPA_OPT_FLOAT:
		if (v->t == TV_INT)
			e->f = (double)v->i;
		else if (v->t == TV_FLOAT)
			e->f = v->f;
		else
			goto type;
		break;
	case MPA_OPT_STRING:
		if (v->t != TV_STRING)
			goto type;
		free(e->s);
		e->s = v->s;
		v->s = NULL;
		break;
	}
	char *src = strdup(source);
	if (!src) {
		mpa_errf(why, whylen, "out of memory");
		return -1;
	}
	free(e->source);
	e->source = src;
	return 0;
type:
	free(v->s);
	v->s = NULL;
	mpa_errf(why, whylen, "'%s' in [%s] must be %s %s", e->key, e->section,
	       e->type == MPA_OPT_INT ? "an" : "a", type_name(e->type));
	return -1;
}

/* ---- declaration ------------------------------------------------------------ */

static int valid_name(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || is_dec(*s) ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int mpa_config_declare(mpa_config *c, const char *owner, const struct mpa_option *opts,
		       char *err, size_t errlen)
{
	if (!opts)
		return 0;
	for (const struct mpa_option *o = opts; o->section; o++) {
		char why[256];
		if (!valid_name(o->section) || !valid_name(o->key) || !o->def) {
			mpa_errf(err, errlen, "%s: bad option declaration '%s.%s'", owner,
			       o->section, o->key ? o->key : "(null)");
			return -1;
		}
		struct tval v;
		if (parse_value(o->def, o->def + strlen(o->def), &v, why, sizeof why) < 0) {
			mpa_errf(err, errlen, "%s: default of [%s] %s: %s", owner, o->section,
			       o->key, why);
			return -1;
		}
		struct cfg_entry *old = find(c, o->section, o->key);
		if (old) {
			free(v.s);
			if (old->type != o->type || strcmp(old->def, o->def)) {
				mpa_errf(err, errlen,
				       "option [%s] %s declared by %s and %s with different type or default",
				       o->section, o->key, old->owner, owner);
				return -1;
			}
			continue;
		}
		if (c->n == c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 32;
			struct cfg_entry *ne = realloc(c->e, nc * sizeof *ne);
			if (!ne) {
				free(v.s);
				mpa_errf(err, errlen, "out of memory");
				return -1;
			}
			c->e = ne;
			c->cap = nc;
		}
		struct cfg_entry *e = &c->e[c->n];
		memset(e, 0, sizeof *e);
		e->section = o->section;
		e->key = o->key;
		e->type = o->type;
		e->def = o->def;
		e->help = o->help ? o->help : "";
		e->owner = strdup(owner);
		if (!e->owner) {
			free(v.s);
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
		c->n++;
		if (store(e, &v, "default", why, sizeof why) < 0) {
			mpa_errf(err, errlen, "%s: default of [%s] %s: %s", owner, o->section, o->key,
			       why);
			return -1;
		}
	}
	return 0;
}

mpa_config *mpa_config_create(char *err, size_t errlen)
{
	mpa_config *c = calloc(1, sizeof *c);
	if (!c) {
		mpa_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (mpa_config_declare(c, "mpa-analyze", mpa_framework_options, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; mpa_analyzers[i]; i++)
		if (mpa_config_declare(c, mpa_analyzers[i]->name, mpa_analyzers[i]->options, err,
				       errlen) < 0)
			goto fail;
	return c;
fail:
	mpa_config_free(c);
	return NULL;
}

void mpa_config_free(mpa_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].owner);
		free(c->e[i].s);
		free(c->e[i].source);
	}
	free(c->e);
	free(c);
}

/* ---- the file reader --------------------------------------------------------- */

static int bare_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_dec(ch) || ch == '_' ||
	       ch == '-';
}

int mpa_config_load_text(mpa_config *c, const char *text, size_t len, const char *name,
			 char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	char section[128] = "";
	/* Tables and keys already seen in this file: TOML forbids repeats. */
	char **seen = NULL;
	size_t nseen = 0;
	int rc = -1;
	char why[256];

	if (memchr(text, 0, len)) {
		mpa_errf(err, errlen, "%s: NUL byte in file", name);
		return -1;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *next = eol ? eol + 1 : end;
		line++;
		if (le > p && le[-1] == '\r')
			le--;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (p == le || *p == '#') {
			p = next;
			continue;
		}
		if (*p == '[') {
			p++;
			if (p < le && *p == '[') {
				mpa_errf(err, errlen, "%s:%u: arrays of tables are not supported", name, line);
				goto out;
			}
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			const char *ns = p;
			while (p < le && bare_char((unsigned char)*p))
				p++;
			size_t nl = (size_t)(p - ns);
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			if (p < le && *p == '.') {
				mpa_errf(err, errlen, "%s:%u: nested tables are not supported", name, line);
				goto out;
			}
			if (nl == 0 || p >= le || *p != ']' || nl >= sizeof section) {
				mpa_errf(err, errlen, "%s:%u: bad table header", name, line);
				goto out;
			}
			p++;
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			if (p < le && *p != '#') {
				mpa_errf(err, errlen, "%s:%u: unexpected text after the table header",
				       name, line);
				goto out;
			}
			memcpy(section, ns, nl);
			section[nl] = 0;
			if (!section_known(c, section)) {
				mpa_errf(err, errlen, "%s:%u: unknown table '[%s]'", name, line, section);
				goto out;
			}
			char tag[140];
			snprintf(tag, sizeof tag, "[%s]", section);
			for (size_t k = 0; k < nseen; k++)
				if (!strcmp(seen[k], tag)) {
					mpa_errf(err, errlen, "%s:%u: table '[%s]' defined twice", name,
					       line, section);
					goto out;
				}
			char **ns2 = realloc(seen, (nseen + 1) * sizeof *seen);
			if (!ns2 || !(ns2[nseen] = strdup(tag))) {
				if (ns2)
					seen = ns2;
				mpa_errf(err, errlen, "out of memory");
				goto out;
			}
			seen = ns2;
			nseen++;
			p = next;
			continue;
		}
		/* key = value */
		if (*p == '"' || *p == '\'') {
			mpa_errf(err, errlen, "%s:%u: quoted keys are not supported", name, line);
			goto out;
		}
		const char *ks = p;
		while (p < le && bare_char((unsigned char)*p))
			p++;
		size_t kl = (size_t)(p - ks);
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (kl == 0) {
			mpa_errf(err, errlen, "%s:%u: expected a key or a [table]", name, line);
			goto out;
		}
		if (p < le && *p == '.') {
			mpa_errf(err, errlen, "%s:%u: dotted keys are not supported", name, line);
			goto out;
		}
		if (p >= le || *p != '=') {
			mpa_errf(err, errlen, "%s:%u: expected '=' after the key", name, line);
			goto out;
		}
		p++;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		char key[128];
		if (kl >= sizeof key) {
			mpa_errf(err, errlen, "%s:%u: key too long", name, line);
			goto out;
		}
		memcpy(key, ks, kl);
		key[kl] = 0;
		if (!section[0]) {
			mpa_errf(err, errlen, "%s:%u: key '%s' outside a table", name, line, key);
			goto out;
		}
		struct cfg_entry *e = find(c, section, key);
		if (!e) {
			mpa_errf(err, errlen, "%s:%u: unknown key '%s' in table '[%s]'", name, line,
			       key, section);
			goto out;
		}
		char tag[270];
		snprintf(tag, sizeof tag, "%s.%s", section, key);
		for (size_t k = 0; k < nseen; k++)
			if (!strcmp(seen[k], tag)) {
				mpa_errf(err, errlen, "%s:%u: key '%s' set twice in table '[%s]'", name,
				       line, key, section);
				goto out;
			}
		char **ns2 = realloc(seen, (nseen + 1) * sizeof *seen);
		if (!ns2 || !(ns2[nseen] = strdup(tag))) {
			if (ns2)
				seen = ns2;
			mpa_errf(err, errlen, "out of memory");
			goto out;
		}
		seen = ns2;
		nseen++;
		struct tval v;
		if (parse_value(p, le, &v, why, sizeof why) < 0) {
			mpa_errf(err, errlen, "%s:%u: '%s' in [%s]: %s", name, line, key, section, why);
			goto out;
		}
		char src[600];
		snprintf(src, sizeof src, "%s:%u", name, line);
		if (store(e, &v, src, why, sizeof why) < 0) {
			mpa_errf(err, errlen, "%s:%u: %s", name, line, why);
			goto out;
		}
		p = next;
	}
	rc = 0;
out:
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	return rc;
}

int mpa_config_load_file(mpa_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		mpa_errf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	/* A config file is small; refuse anything absurd rather than read it. */
	const size_t max = 1u << 20;
	char *buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = fread(buf, 1, max + 1, f);
	int bad = ferror(f);
	int e = errno;
	fclose(f);
	if (bad) {
		free(buf);
		mpa_errf(err, errlen, "'%s': %s", path, strerror(e));
		return -1;
	}
	if (n > max) {
		free(buf);
		mpa_errf(err, errlen, "'%s': config file larger than 1 MiB", path);
		return -1;
	}
	int rc = mpa_config_load_text(c, buf, n, path, err, errlen);
	free(buf);
	return rc;
}

int mpa_config_set(mpa_config *c, const char *section, const char *key, const char *text,
		   const char *source, char *err, size_t errlen)
{
	struct cfg_entry *e = find(c, section, key);
	char why[256];
	if (!e) {
		if (!section_known(c, section))
			mpa_errf(err, errlen, "unknown table '[%s]'", section);
		else
			mpa_errf(err, errlen, "unknown key '%s' in table '[%s]'", key, section);
		return -1;
	}
	struct tval v;
	if (e->type == MPA_OPT_STRING && text[0] != '"' && text[0] != '\'') {
		memset(&v, 0, sizeof v);
		v.t = TV_STRING;
		v.s = strdup(text);
		if (!v.s) {
			mpa_errf(err, errlen, "out of memory");
			return -1;
		}
	} else if (parse_value(text, text + strlen(text), &v, why, sizeof why) < 0) {
		mpa_errf(err, errlen, "'%s' in [%s]: %s", key, section, why);
		return -1;
	}
	if (store(e, &v, source, why, sizeof why) < 0) {
		mpa_errf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

int mpa_config_has(const mpa_config *c, const char *section, const char *key)
{
	return find(c, section, key) != NULL;
}

/* ---- getters ------------------------------------------------------------------ */

int mpa_config_bool(const mpa_config *c, const char *section, const char *key)
{
	const struct cfg_entry *e = find(c, section, key);
	return e && e->type == MPA_OPT_BOOL ? e->b : 0;
}

int64_t mpa_config_int(const mpa_config *c, const char *section, const char *key)
{
	const struct cfg_entry *e = find(c, section, key);
	return e && e->type == MPA_OPT_INT ? e->i : 0;
}

double mpa_config_float(const mpa_config *c, const char *section, const char *key)
{
	const struct cfg_entry *e = find(c, section, key);
	return e && e->type == MPA_OPT_FLOAT ? e->f : 0.0;
}

const char *mpa_config_string(const mpa_config *c, const char *section, const char *key)
{
	const struct cfg_entry *e = find(c, section, key);
	return e && e->type == MPA_OPT_STRING && e->s ? e->s : "";
}

/* ---- output ---------------------------------------------------------------------- */


static int cmp_entry(const void *a, const void *b)
{
	const struct cfg_entry *x = *(const struct cfg_entry *const *)a;
	const struct cfg_entry *y = *(const struct cfg_entry *const *)b;
	int r = strcmp(x->section, y->section);
	return r ? r : strcmp(x->key, y->key);
}

static const struct cfg_entry **sorted(const mpa_config *c)
{
	const struct cfg_entry **v = malloc((c->n ? c->n : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		v[i] = &c->e[i];
	qsort(v, c->n, sizeof *v, cmp_entry);
	return v;
}

static void write_toml_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7F)
			fprintf(f, "\\u%04X", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int mpa_config_write(const mpa_config *c, FILE *f)
{
	const struct cfg_entry **v = sorted(c);
	if (!v)
		return -1;
	const char *cur = NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = v[i];
		if (!cur || strcmp(cur, e->section)) {
			fprintf(f, "%s[%s]\n", cur ? "\n" : "", e->section);
			cur = e->section;
		}
		fprintf(f, "%s = ", e->key);
		char num[64];
		switch (e->type) {
		case MPA_OPT_BOOL: fputs(e->b ? "true" : "false", f); break;
		case MPA_OPT_INT: fprintf(f, "%" PRId64, e->i); break;
		case MPA_OPT_FLOAT:
			mpa_fmt_double(num, sizeof num, e->f);
			/* keep it a TOML float */
			fputs(num, f);
			if (!strpbrk(num, ".eEn"))
				fputs(".0", f);
			break;
		case MPA_OPT_STRING: write_toml_string(f, e->s ? e->s : ""); break;
		}
		fprintf(f, "  # %s; from %s; %s (%s)\n", type_name(e->type), e->source, e->help,
			e->owner);
	}
	free(v);
	return ferror(f) ? -1 : 0;
}

json_t *mpa_config_json(const mpa_config *c)
{
	json_t *root = json_object();
	if (!root)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->e[i];
		json_t *sec = json_object_get(root, e->section);
		if (!sec) {
			sec = json_object();
			if (!sec || json_object_set_new(root, e->section, sec) < 0)
				goto fail;
		}
		json_t *val = NULL;
		switch (e->type) {
		case MPA_OPT_BOOL: val = json_boolean(e->b); break;
		case MPA_OPT_INT: val = json_integer(e->i); break;
		case MPA_OPT_FLOAT: val = json_real(e->f); break;
		case MPA_OPT_STRING:
			/* a value from a file or the command line may not be UTF-8 */
			val = json_string(e->s ? e->s : "");
			if (!val)
				val = json_string("(not valid UTF-8)");
			break;
		}
		if (!val || json_object_set_new(sec, e->key, val) < 0)
			goto fail;
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}
