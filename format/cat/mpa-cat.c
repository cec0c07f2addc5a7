/* mpa-cat — shows what is inside an .mpt capture.
 *
 *   mpa-cat FILE.mpt                 summary: metadata, table sizes, kinds,
 *                                    chunks, columns
 *   mpa-cat --table T[,T] FILE       the capture-wide tables in full
 *   mpa-cat --events [filters] FILE  records as text, CSV or JSON Lines
 *   mpa-cat --verify FILE            every checksum and invariant
 *
 * It uses only the public libmpt API (include/mpa/mpt.h).  Output is written
 * through stdio; a reader that goes away (`| head`) ends the program quietly
 * with status 0.  Errors: one line on stderr, status 1; usage errors status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/mpt.h"

#define EXIT_USAGE 2

enum mode { MODE_SUMMARY, MODE_EVENTS, MODE_VERIFY, MODE_TABLES };
enum fmt { FMT_TEXT, FMT_CSV, FMT_JSONL };

/* The capture-wide tables --table lists, in the order they are printed. */
enum table { TAB_STRINGS, TAB_FRAMES, TAB_STACKS, TAB_BINARIES, TAB_TOPOLOGY, TAB_COUNT_ };
static const char *const table_names[TAB_COUNT_] = { "strings", "frames", "stacks",
						     "binaries", "topology" };

struct cat_opts {
	enum mode mode;
	enum fmt fmt;
	uint32_t kinds;          /* MPT_KINDBIT mask, 0 = all */
	const char *from, *to;   /* ts filter texts (mpt_time_parse), NULL = none (weak: argv) */
	int32_t pid;             /* 0 = every process */
	unsigned tables;         /* --table: bit (1 << enum table) */
	int stacks;              /* resolve stack ids into frames */
	unsigned ncols;          /* --columns given: the list, in the user's order */
	unsigned cols[MPT_COL_COUNT_];
	const char *path;        /* (weak: argv) */
};

static const char *prog = "mpa-cat";
static const char *cur_path = "";
static mpt_reader *the_reader; /* (owned by main) the open capture */

/* ---- errors and output -------------------------------------------------- */

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}

/* Drops a leading "'PATH': " or "PATH: " from a library message, so that the
 * file is named once. */
static const char *strip_path(const char *msg)
{
	size_t n = strlen(cur_path);

	if (n == 0)
		return msg;
	if (msg[0] == '\'' && strncmp(msg + 1, cur_path, n) == 0 && msg[n + 1] == '\'' &&
	    msg[n + 2] == ':')
		msg += n + 3;
	else if (strncmp(msg, cur_path, n) == 0 && msg[n] == ':')
		msg += n + 1;
	while (*msg == ' ')
		msg++;
	return msg;
}

static void file_error(enum mpt_status st, const struct mpt_error *err)
	__attribute__((noreturn));
static void file_error(enum mpt_status st, const struct mpt_error *err)
{
	const char *m = err && err->msg[0] ? strip_path(err->msg) : mpt_status_name(st);

	fflush(stdout);
	fprintf(stderr, "%s: '%s': %s\n", prog, cur_path, m && *m ? m : "unknown error");
	mpt_reader_close(the_reader);
	exit(EXIT_FAILURE);
}

/* Checks that everything written so far reached stdout.  A closed pipe is a
 * normal way for a reader to stop: leave quietly. */
static void out_check(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno == EPIPE)
		exit(EXIT_SUCCESS);
	fprintf(stderr, "%s: 'stdout': %s\n", prog, strerror(errno));
	exit(EXIT_FAILURE);
}

/* ---- fast output ---------------------------------------------------------- */

/* Record dumps print millions of numbers: these skip printf's format parsing
 * and stdio's locking (one thread). */
static void out_s(const char *s)
{
	fputs_unlocked(s, stdout);
}

static void out_c(char c)
{
	putc_unlocked(c, stdout);
}

static void out_u64(uint64_t v)
{
	char b[24];
	int i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(b + i, 1, sizeof(b) - (size_t)i, stdout);
}

static void out_i64(int64_t v)
{
	if (v < 0) {
		out_c('-');
		out_u64((uint64_t)0 - (uint64_t)v);
	} else {
		out_u64((uint64_t)v);
	}
}

static void out_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char b[20];
	int i = sizeof(b);

	do {
		b[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	b[--i] = 'x';
	b[--i] = '0';
	fwrite_unlocked(b + i, 1, sizeof(b) - (size_t)i, stdout);
}

/* ---- value formatting --------------------------------------------------- */

enum vtype { V_UNSIGNED, V_SIGNED, V_HEX, V_KIND, V_DOMAIN, V_API, V_COUNTER, V_FLAGS };

static enum vtype col_type(unsigned c)
{
	switch (c) {
	case MPT_COL_KIND: return V_KIND;
	case MPT_COL_DOMAIN: return V_DOMAIN;
	case MPT_COL_API: return V_API;
	case MPT_COL_COUNTER: return V_COUNTER;
	case MPT_COL_FLAGS: return V_FLAGS;
	case MPT_COL_PID: case MPT_COL_TID: case MPT_COL_NODE: case MPT_COL_STATUS:
	case MPT_COL_PPID:
		return V_SIGNED;
	case MPT_COL_PTR: case MPT_COL_NEW_PTR: case MPT_COL_IP: case MPT_COL_DATA_SRC:
	case MPT_COL_MFLAGS:
		return V_HEX;
	default:
		return V_UNSIGNED;
	}
}

/* The value of column c in ev, widened.  Signed columns are sign-extended. */
static uint64_t ev_value(const struct mpa_event *ev, unsigned c)
{
	switch (c) {
	case MPT_COL_KIND: return ev->kind;
	case MPT_COL_TS: return ev->ts;
	case MPT_COL_PID: return (uint64_t)(int64_t)ev->pid;
	case MPT_COL_TID: return (uint64_t)(int64_t)ev->tid;
	case MPT_COL_CPU: return ev->cpu;
	case MPT_COL_DOMAIN: return ev->domain;
	case MPT_COL_FLAGS: return ev->flags;
	case MPT_COL_PTR: return ev->ptr;
	case MPT_COL_NEW_PTR: return ev->new_ptr;
	case MPT_COL_SIZE: return ev->size;
	case MPT_COL_USABLE: return ev->usable;
	case MPT_COL_ALIGN: return ev->align;
	case MPT_COL_API: return ev->api;
	case MPT_COL_STACK_ID: return ev->stack_id;
	case MPT_COL_PROT: return ev->prot;
	case MPT_COL_MFLAGS: return ev->mflags;
	case MPT_COL_NODE: return (uint64_t)(int64_t)ev->node;
	case MPT_COL_ORDER: return ev->order;
	case MPT_COL_IP: return ev->ip;
	case MPT_COL_POOL_ID: return ev->pool_id;
	case MPT_COL_FRAME_DEPTH: return ev->frame_depth;
	case MPT_COL_COUNTER: return ev->counter;
	case MPT_COL_PERIOD: return ev->period;
	case MPT_COL_WEIGHT: return ev->weight;
	case MPT_COL_DATA_SRC: return ev->data_src;
	case MPT_COL_STR_ID: return ev->str_id;
	case MPT_COL_STATUS: return (uint64_t)(int64_t)ev->status;
	case MPT_COL_END_TS: return ev->end_ts;
	case MPT_COL_PPID: return (uint64_t)(int64_t)ev->ppid;
	default: return 0;
	}
}

static const char *const flag_names[] = { "early", "failed", "ts_approx", "synth" };

/* Writes the value of column c.  names: enums as names (else numbers). */
static void put_value(unsigned c, uint64_t v, int names, int quote)
{
	const char *s = NULL;
	const char *q = quote ? "\"" : "";

	switch (col_type(c)) {
	case V_SIGNED:
		out_i64((int64_t)v);
		return;
	case V_HEX:
		out_s(q);
		out_hex(v);
		out_s(q);
		return;
	case V_KIND:
		s = mpa_kind_name((unsigned)v);
		break;
	case V_DOMAIN:
		s = v == MPA_DOMAIN_USER ? "user" : v == MPA_DOMAIN_KERNEL ? "kernel" : NULL;
		break;
	case V_API:
		s = v < MPA_API_COUNT_ ? mpa_api_name((unsigned)v) : NULL;
		break;
	case V_COUNTER:
		s = v < MPA_CTR_COUNT_ ? mpa_counter_name((unsigned)v) : NULL;
		break;
	case V_FLAGS:
		if (names && v != 0) {
			int first = 1;

			for (unsigned i = 0; i < 16; i++) {
				if (!(v & (1u << i)))
					continue;
				if (i < sizeof(flag_names) / sizeof(flag_names[0]))
					printf("%s%s", first ? "" : "|", flag_names[i]);
				else
					printf("%s0x%x", first ? "" : "|", 1u << i);
				first = 0;
			}
			return;
		}
		break;
	default:
		break;
	}
	if (names && s && *s) {
		out_s(q);
		out_s(s);
		out_s(q);
	} else {
		out_u64(v);
	}
}

/* Text: printable ASCII as is, the rest as \xNN, so a record stays one line. */
static void put_escaped(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			putc(ch, out);
		else
			fprintf(out, "\\x%02x", ch);
	}
}

static void put_text_str_to(FILE *out, const char *s, size_t n)
{
	putc('"', out);
	put_escaped(out, s, n);
	putc('"', out);
}

static void put_text_str(const char *s, size_t n)
{
	put_text_str_to(stdout, s, n);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* JSON string.  Invalid UTF-8 bytes become the code point of the same value
 * (as if Latin-1), so the output is always valid JSON. */
static void put_json_str(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		size_t l;

		if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
			i++;
		} else if (ch == '\n') {
			fputs("\\n", stdout);
			i++;
		} else if (ch == '\t') {
			fputs("\\t", stdout);
			i++;
		} else if (ch < 0x20 || ch == 0x7f) {
			printf("\\u%04x", ch);
			i++;
		} else if ((l = utf8_len(s + i, n - i)) != 0) {
			fwrite(s + i, 1, l, stdout);
			i += l;
		} else {
			printf("\\u%04x", ch);
			i++;
		}
	}
	putchar('"');
}

/* CSV field (RFC 4180): quoted when it holds a separator, a quote or a line
 * break. */
static void put_csv_str(const char *s, size_t n)
{
	int quote = n == 0 ? 0 : (memchr(s, ',', n) || memchr(s, '"', n) ||
				   memchr(s, '\n', n) || memchr(s, '\r', n));

	if (!quote) {
		fwrite(s, 1, n, stdout);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			putchar('"');
		putchar(s[i]);
	}
	putchar('"');
}

static void put_str(enum fmt f, const char *s, size_t n)
{
	if (f == FMT_JSONL)
		put_json_str(s, n);
	else if (f == FMT_CSV)
		put_csv_str(s, n);
	else
		put_text_str(s, n);
}

/* ---- stacks ------------------------------------------------------------- */

/* One frame as "0xIP func file:line bin+0xOFF" (unknown parts left out);
 * text quotes the strings, CSV keeps them raw (the field is quoted whole). */
static void put_frame_to(FILE *out, const mpt_reader *r, const struct mpt_frame *fr, enum fmt f)
{
	const uint32_t ids[3] = { fr->func, fr->file, fr->bin };

	fprintf(out, "0x%" PRIx64, fr->ip);
	for (int k = 0; k < 3; k++) {
		size_t n;
		const char *s = mpt_reader_string(r, ids[k], &n);

		if (!n)
			continue;
		putc(' ', out);
		if (f == FMT_TEXT)
			put_text_str_to(out, s, n);
		else
			fwrite(s, 1, n, out);
		if (k == 1 && fr->line)
			fprintf(out, ":%" PRIu32, fr->line);
		if (k == 2)
			fprintf(out, "+0x%" PRIx64, fr->bin_off);
	}
}

/* Text: one indented line per frame after the record. */
static void put_stack_text(const mpt_reader *r, uint32_t id)
{
	uint32_t n = 0;
	const uint32_t *frames = mpt_reader_stack(r, id, &n);

	for (uint32_t i = 0; i < n; i++) {
		const struct mpt_frame *fr = mpt_reader_frame(r, frames[i]);

		printf("    #%-2" PRIu32 " ", i);
		if (fr)
			put_frame_to(stdout, r, fr, FMT_TEXT);
		else
			printf("<bad frame id %" PRIu32 ">", frames[i]);
		putchar('\n');
	}
}

/* CSV: frames joined by "; " in one field, built in memory to be quoted. */
static void put_stack_csv(const mpt_reader *r, uint32_t id)
{
	uint32_t n = 0;
	const uint32_t *frames = mpt_reader_stack(r, id, &n);
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (n == 0)
		return;
	m = open_memstream(&buf, &len);
	if (!m) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct mpt_frame *fr = mpt_reader_frame(r, frames[i]);

		if (i)
			fputs("; ", m);
		if (fr)
			put_frame_to(m, r, fr, FMT_CSV);
		else
			fprintf(m, "<bad frame id %" PRIu32 ">", frames[i]);
	}
	if (fclose(m) != 0 || !buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	put_csv_str(buf, len);
	free(buf);
}

static void put_stack_json(const mpt_reader *r, uint32_t id)
{
	uint32_t n = 0;
	const uint32_t *frames = mpt_reader_stack(r, id, &n);
	size_t len;
	const char *s;

	putchar('[');
	for (uint32_t i = 0; i < n; i++) {
		const struct mpt_frame *fr = mpt_reader_frame(r, frames[i]);

		if (i)
			putchar(',');
		if (!fr) {
			printf("{\"bad_frame_id\":%" PRIu32 "}", frames[i]);
			continue;
		}
		printf("{\"ip\":\"0x%" PRIx64 "\"", fr->ip);
		s = mpt_reader_string(r, fr->func, &len);
		fputs(",\"func\":", stdout);
		put_json_str(s, len);
		s = mpt_reader_string(r, fr->file, &len);
		fputs(",\"file\":", stdout);
		put_json_str(s, len);
		printf(",\"line\":%" PRIu32, fr->line);
		s = mpt_reader_string(r, fr->bin, &len);
		fputs(",\"bin\":", stdout);
		put_json_str(s, len);
		printf(",\"bin_off\":\"0x%" PRIx64 "\"}", fr->bin_off);
	}
	putchar(']');
}

/* ---- events ------------------------------------------------------------- */

struct dump {
	const struct cat_opts *o;
	mpt_reader *r;           /* (weak) */
	unsigned ncols;          /* columns printed (CSV: the header) */
	unsigned cols[MPT_COL_COUNT_];
	uint64_t colmask;        /* MPT_COLBIT of cols */
	int explicit_cols;       /* --columns given */
};

static void put_str_id(const struct dump *d, uint32_t id)
{
	size_t n;
	const char *s = mpt_reader_string(d->r, id, &n);

	put_str(d->o->fmt, s, n);
}

static void dump_text(const struct dump *d, const struct mpa_event *ev, uint64_t has, int stk)
{
	int first = 1;

	if (!d->explicit_cols) {
		out_u64(ev->ts);
		out_c(' ');
		put_value(MPT_COL_KIND, ev->kind, 1, 0);
		first = 0;
	}
	for (unsigned i = 0; i < d->ncols; i++) {
		unsigned c = d->cols[i];
		uint64_t v;

		if (!(has & MPT_COLBIT(c)))
			continue;
		if (!d->explicit_cols) {
			if (c == MPT_COL_TS || c == MPT_COL_KIND)
				continue;
			/* the common case stays quiet: user space, no flags */
			if ((c == MPT_COL_DOMAIN && ev->domain == MPA_DOMAIN_USER) ||
			    (c == MPT_COL_FLAGS && ev->flags == 0))
				continue;
		}
		v = ev_value(ev, c);
		if (!first)
			out_c(' ');
		out_s(mpt_column_name(c));
		out_c('=');
		first = 0;
		put_value(c, v, 1, 0);
		if (c == MPT_COL_STR_ID && v) {
			fputs(" str=", stdout);
			put_str_id(d, (uint32_t)v);
		}
	}
	out_c('\n');
	if (stk)
		put_stack_text(d->r, ev->stack_id);
}

static void dump_csv_header(const struct dump *d)
{
	for (unsigned i = 0; i < d->ncols; i++) {
		printf("%s%s", i ? "," : "", mpt_column_name(d->cols[i]));
		if (d->cols[i] == MPT_COL_STR_ID)
			fputs(",str", stdout);
	}
	if (d->o->stacks)
		fputs(",stack", stdout);
	putchar('\n');
}

static void dump_csv(const struct dump *d, const struct mpa_event *ev, uint64_t has, int stk)
{
	for (unsigned i = 0; i < d->ncols; i++) {
		unsigned c = d->cols[i];
		int have = (has & MPT_COLBIT(c)) != 0;

		if (i)
			out_c(',');
		if (have)
			put_value(c, ev_value(ev, c), c != MPT_COL_FLAGS, 0);
		if (c == MPT_COL_STR_ID) {
			putchar(',');
			if (have && ev->str_id)
				put_str_id(d, ev->str_id);
		}
	}
	if (d->o->stacks) {
		putchar(',');
		if (stk)
			put_stack_csv(d->r, ev->stack_id);
	}
	putchar('\n');
}

static void dump_jsonl(const struct dump *d, const struct mpa_event *ev, uint64_t has, int stk)
{
	int first = 1;

	out_c('{');
	for (unsigned i = 0; i < d->ncols; i++) {
		unsigned c = d->cols[i];
		uint64_t v;

		if (!(has & MPT_COLBIT(c)))
			continue;
		v = ev_value(ev, c);
		out_s(first ? "\"" : ",\"");
		out_s(mpt_column_name(c));
		out_s("\":");
		first = 0;
		put_value(c, v, c != MPT_COL_FLAGS, 1);
		if (c == MPT_COL_STR_ID) {
			fputs(",\"str\":", stdout);
			put_str_id(d, (uint32_t)v);
		}
	}
	if (stk) {
		printf("%s\"stack\":", first ? "" : ",");
		put_stack_json(d->r, ev->stack_id);
	}
	out_s("}\n");
}

/* Kinds present anywhere in the file, from the chunk index. */
static uint32_t file_kinds(const mpt_reader *r)
{
	uint32_t mask = 0;
	uint32_t n = mpt_reader_chunk_count(r);

	for (uint32_t i = 0; i < n; i++) {
		struct mpt_chunk_info ci;

		if (mpt_reader_chunk_info(r, i, &ci) == MPT_OK)
			mask |= ci.kinds;
	}
	return mask;
}

/* --from/--to against the open capture (the syntax was checked before). */
static uint64_t resolve_time(mpt_reader *r, const char *opt, const char *s)
{
	struct mpt_error err = { 0 };
	uint64_t ts = 0;

	if (mpt_reader_resolve_time(r, s, &ts, &err) != MPT_OK)
		usage_error("%s: %s", opt, err.msg);
	return ts;
}

static int cmd_events(const struct cat_opts *o, mpt_reader *r)
{
	struct dump d = { .o = o, .r = r };
	struct mpt_scan scan = { 0 };
	struct mpt_error err = { 0 };
	const struct mpt_batch *b;
	enum mpt_status st;
	uint64_t want;

	if (o->ncols) {
		d.explicit_cols = 1;
		d.ncols = o->ncols;
		memcpy(d.cols, o->cols, sizeof(d.cols));
	} else {
		/* every column any selected kind present in the file carries */
		uint32_t kinds = file_kinds(r) & (o->kinds ? o->kinds : UINT32_MAX);
		uint64_t m = MPT_COLS_COMMON;

		for (unsigned k = 0; k < MPA_KIND_COUNT_; k++)
			if (kinds & MPT_KINDBIT(k))
				m |= mpt_kind_columns(k);
		d.cols[d.ncols++] = MPT_COL_TS;
		d.cols[d.ncols++] = MPT_COL_KIND;
		for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
			if ((m & MPT_COLBIT(c)) && c != MPT_COL_TS && c != MPT_COL_KIND)
				d.cols[d.ncols++] = c;
	}
	for (unsigned i = 0; i < d.ncols; i++)
		d.colmask |= MPT_COLBIT(d.cols[i]);
	want = d.colmask;
	if (o->stacks) /* decoded for the frames, printed as a column only if asked */
		want |= MPT_COLBIT(MPT_COL_STACK_ID);

	/* the columns of each kind, once: not recomputed on every row */
	uint64_t kcols[MPA_KIND_COUNT_];
	for (unsigned k = 0; k < MPA_KIND_COUNT_; k++)
		kcols[k] = mpt_kind_columns(k);

	/* durations count from the capture's first record */
	uint64_t from = o->from ? resolve_time(r, "--from", o->from) : 0;
	uint64_t to = o->to ? resolve_time(r, "--to", o->to) : 0;

	if (o->fmt == FMT_CSV)
		dump_csv_header(&d);
	if (o->to && to <= from) {
		out_check();
		return EXIT_SUCCESS; /* an empty interval */
	}
	scan.columns = want;
	scan.kinds = o->kinds;
	scan.ts_from = from;
	scan.ts_to = o->to ? to : 0;
	scan.pid = o->pid;
	st = mpt_reader_scan(r, &scan, &err);
	if (st != MPT_OK)
		file_error(st, &err);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
		for (uint32_t i = 0; i < b->n; i++) {
			struct mpa_event ev;
			uint64_t has;
			int stk;

			mpt_batch_get(b, i, &ev);
			/* the reader rejects kinds outside 1..MPA_KIND_COUNT_-1 */
			has = kcols[ev.kind] & d.colmask;
			stk = o->stacks && ev.stack_id &&
			      (kcols[ev.kind] & MPT_COLBIT(MPT_COL_STACK_ID));
			if (o->fmt == FMT_CSV)
				dump_csv(&d, &ev, has, stk);
			else if (o->fmt == FMT_JSONL)
				dump_jsonl(&d, &ev, has, stk);
			else
				dump_text(&d, &ev, has, stk);
		}
		out_check();
	}
	if (st != MPT_END)
		file_error(st, &err);
	out_check();
	return EXIT_SUCCESS;
}

/* ---- summary ------------------------------------------------------------ */

static void put_bytes_human(uint64_t v)
{
	if (v >= (UINT64_C(1) << 30) && v % (UINT64_C(1) << 30) == 0)
		printf("%" PRIu64 " GiB", v >> 30);
	else if (v >= (UINT64_C(1) << 20) && v % (UINT64_C(1) << 20) == 0)
		printf("%" PRIu64 " MiB", v >> 20);
	else if (v >= 1024 && v % 1024 == 0)
		printf("%" PRIu64 " KiB", v >> 10);
	else
		printf("%" PRIu64 " B", v);
}

static void put_kinds_mask(uint32_t mask)
{
	int first = 1;

	for (unsigned k = 0; k < 32; k++) {
		if (!(mask & MPT_KINDBIT(k)))
			continue;
		const char *n = mpa_kind_name(k);

		if (n)
			printf("%s%s", first ? "" : ",", n);
		else
			printf("%s%u", first ? "" : ",", k);
		first = 0;
	}
	if (first)
		putchar('-');
}

static double per(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* The topology in one line: counts, page, cache line and sizes. */
static void put_topology_line(const struct mpt_topology *t)
{
	printf("%" PRIu32 " cpu%s, %" PRIu32 " node%s, page %" PRIu32 " B, cache line %" PRIu32
	       " B",
	       t->ncpus, t->ncpus == 1 ? "" : "s", t->nnodes, t->nnodes == 1 ? "" : "s",
	       t->page_size, t->cache_line);
	if (t->l1d_size) {
		fputs(", l1d ", stdout);
		put_bytes_human(t->l1d_size);
	}
	if (t->l2_size) {
		fputs(", l2 ", stdout);
		put_bytes_human(t->l2_size);
	}
	if (t->l3_size) {
		fputs(", l3 ", stdout);
		put_bytes_human(t->l3_size);
	}
	putchar('\n');
}

struct colsum {
	uint64_t values, raw, enc, stored;
	uint32_t chunks, zstd;    /* chunks holding values; of which zstd-compressed */
	uint8_t encs[256 / 8];    /* encodings seen */
};

static int cmd_summary(const struct cat_opts *o, mpt_reader *r)
{
	struct mpt_error err = { 0 };
	enum mpt_status st;
	uint64_t rows = mpt_reader_rows(r);
	uint64_t fsize = mpt_reader_file_size(r);
	uint32_t nch = mpt_reader_chunk_count(r);
	uint64_t kind_count[256] = { 0 };
	uint64_t lost_events = 0, lost_records = 0;
	uint64_t ts_min = UINT64_MAX, ts_max = 0, chunk_bytes = 0;
	uint32_t kinds = 0;
	const struct mpt_batch *b;
	struct mpt_scan scan = { .columns = MPT_COLBIT(MPT_COL_KIND) };
	uint32_t nmeta_lost;
	static struct colsum cs[MPT_COL_COUNT_];

	for (uint32_t i = 0; i < nch; i++) {
		struct mpt_chunk_info ci;

		st = mpt_reader_chunk_info(r, i, &ci);
		if (st != MPT_OK)
			file_error(st, NULL);
		kinds |= ci.kinds;
		chunk_bytes += ci.length;
		if (ci.rows) {
			if (ci.ts_min < ts_min)
				ts_min = ci.ts_min;
			if (ci.ts_max > ts_max)
				ts_max = ci.ts_max;
		}
	}
	/* Counting kinds reads the kind and ts columns only. */
	st = mpt_reader_scan(r, &scan, &err);
	if (st != MPT_OK)
		file_error(st, &err);
	while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK)
		for (uint32_t i = 0; i < b->n; i++)
			kind_count[b->kind[i]]++;
	if (st != MPT_END)
		file_error(st, &err);
	if (kinds & MPT_KINDBIT(MPA_KIND_LOST)) {
		scan.columns = MPT_COLBIT(MPT_COL_SIZE);
		scan.kinds = MPT_KINDBIT(MPA_KIND_LOST);
		st = mpt_reader_scan(r, &scan, &err);
		if (st != MPT_OK)
			file_error(st, &err);
		while ((st = mpt_reader_next(r, &b, &err)) == MPT_OK) {
			for (uint32_t i = 0; i < b->n; i++) {
				lost_records++;
				lost_events += b->size ? b->size[i] : 0;
			}
		}
		if (st != MPT_END)
			file_error(st, &err);
	}

	printf("file        %s\n", o->path);
	/* metadata keys "lost_*" with a value other than "0" (lost_events,
	 * lost_packets, ...) also make the capture incomplete */
	nmeta_lost = 0;
	for (uint32_t i = 0; i < mpt_reader_meta_count(r); i++) {
		const char *k = NULL, *v = NULL;

		mpt_reader_meta_at(r, i, &k, &v);
		if (k && v && strncmp(k, "lost_", 5) == 0 && strcmp(v, "0") != 0 && *v)
			nmeta_lost++;
	}
	if (lost_records || nmeta_lost) {
		int first = 1;

		printf("LOST        ");
		if (lost_records) {
			printf("%" PRIu64 " events in %" PRIu64 " lost record%s", lost_events,
			       lost_records, lost_records == 1 ? "" : "s");
			first = 0;
		}
		for (uint32_t i = 0; i < mpt_reader_meta_count(r); i++) {
			const char *k = NULL, *v = NULL;

			mpt_reader_meta_at(r, i, &k, &v);
			if (!k || !v || strncmp(k, "lost_", 5) != 0 || strcmp(v, "0") == 0 || !*v)
				continue;
			printf("%smetadata ", first ? "" : "; ");
			put_escaped(stdout, k, strlen(k));
			fputs(" = ", stdout);
			put_text_str(v, strlen(v));
			first = 0;
		}
		printf(" - the capture is incomplete\n");
	} else {
		printf("lost        none\n");
	}
	printf("format      mpt %" PRIu32 ".%" PRIu32 "\n", mpt_reader_version_major(r),
	       mpt_reader_version_minor(r));
	printf("size        %" PRIu64 " bytes, %.3f bytes/record\n", fsize, per(fsize, rows));
	printf("records     %" PRIu64 " in %" PRIu32 " chunk%s\n", rows, nch, nch == 1 ? "" : "s");
	if (rows && ts_min <= ts_max)
		printf("time        %" PRIu64 " .. %" PRIu64 " ns (%.9f s)\n", ts_min, ts_max,
		       (double)(ts_max - ts_min) / 1e9);
	else
		printf("time        -\n");

	printf("\nmetadata (%" PRIu32 ")\n", mpt_reader_meta_count(r));
	for (uint32_t i = 0; i < mpt_reader_meta_count(r); i++) {
		const char *k = NULL, *v = NULL;

		mpt_reader_meta_at(r, i, &k, &v);
		fputs("  ", stdout);
		put_text_str(k ? k : "", k ? strlen(k) : 0);
		fputs(" = ", stdout);
		put_text_str(v ? v : "", v ? strlen(v) : 0);
		putchar('\n');
	}

	printf("\ntables (--table NAME[,NAME] lists them, --table all every one)\n");
	printf("  strings   %" PRIu32 "\n", mpt_reader_string_count(r));
	printf("  frames    %" PRIu32 "\n", mpt_reader_frame_count(r));
	printf("  stacks    %" PRIu32 "\n", mpt_reader_stack_count(r));
	printf("  binaries  %" PRIu32 "\n", mpt_reader_binary_count(r));
	if (mpt_reader_topology(r)) {
		fputs("  topology  ", stdout);
		put_topology_line(mpt_reader_topology(r));
	} else {
		printf("  topology  none\n");
	}

	printf("\nkinds\n");
	for (unsigned k = 0; k < 256; k++) {
		const char *n;

		if (!kind_count[k])
			continue;
		n = mpa_kind_name(k);
		if (n)
			printf("  %-14s %12" PRIu64 "  %5.1f%%\n", n, kind_count[k],
			       100.0 * per(kind_count[k], rows));
		else
			printf("  kind %-9u %12" PRIu64 "  %5.1f%%\n", k, kind_count[k],
			       100.0 * per(kind_count[k], rows));
	}
	out_check();

	printf("\nchunks\n  %6s %8s %20s %20s %10s %7s  %s\n", "chunk", "rows", "ts_min", "ts_max",
	       "bytes", "B/rec", "kinds");
	for (uint32_t i = 0; i < nch; i++) {
		struct mpt_chunk_info ci;
		struct mpt_column_info info[MPT_COL_COUNT_];

		st = mpt_reader_chunk_info(r, i, &ci);
		if (st != MPT_OK)
			file_error(st, NULL);
		printf("  %6" PRIu32 " %8" PRIu32 " %20" PRIu64 " %20" PRIu64 " %10" PRIu64
		       " %7.3f  ",
		       i, ci.rows, ci.ts_min, ci.ts_max, ci.length, per(ci.length, ci.rows));
		put_kinds_mask(ci.kinds);
		putchar('\n');
		memset(info, 0, sizeof(info));
		st = mpt_reader_column_info(r, i, info, &err);
		if (st != MPT_OK)
			file_error(st, &err);
		for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
			struct colsum *s = &cs[c];

			if (info[c].values == 0 && info[c].stored_bytes == 0)
				continue;
			s->values += info[c].values;
			s->raw += info[c].raw_bytes;
			s->enc += info[c].enc_bytes;
			s->stored += info[c].stored_bytes;
			s->chunks++;
			s->zstd += info[c].compressed != 0;
			s->encs[info[c].encoding / 8] |= (uint8_t)(1u << (info[c].encoding % 8));
		}
		if (i % 64 == 63)
			out_check();
	}

	{
		uint64_t tv = 0, traw = 0, tenc = 0, tstored = 0;

		printf("\ncolumns (all chunks)\n  %-12s %12s %20s %12s %12s %12s %7s %8s %8s\n",
		       "column", "values", "encodings", "raw", "encoded", "stored", "zstd",
		       "B/value", "B/rec");
		for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
			struct colsum *s = &cs[c];
			char encs[64] = "";
			size_t el = 0;

			if (!s->chunks)
				continue;
			for (unsigned e = 0; e < 256; e++) {
				if (!(s->encs[e / 8] & (1u << (e % 8))))
					continue;
				int w;

				if (strcmp(mpt_encoding_name(e), "unknown") != 0)
					w = snprintf(encs + el, sizeof(encs) - el, "%s%s", el ? "," : "",
						     mpt_encoding_name(e));
				else
					w = snprintf(encs + el, sizeof(encs) - el, "%s%u", el ? "," : "", e);
				if (w < 0 || (size_t)w >= sizeof(encs) - el)
					break;
				el += (size_t)w;
			}
			printf("  %-12s %12" PRIu64 " %20s %12" PRIu64 " %12" PRIu64 " %12" PRIu64
			       " %3" PRIu32 "/%-3" PRIu32 " %8.3f %8.3f\n",
			       mpt_column_name(c), s->values, encs, s->raw, s->enc, s->stored, s->zstd,
			       s->chunks, per(s->stored, s->values), per(s->stored, rows));
			tv += s->values;
			traw += s->raw;
			tenc += s->enc;
			tstored += s->stored;
		}
		printf("  %-12s %12" PRIu64 " %20s %12" PRIu64 " %12" PRIu64 " %12" PRIu64
		       " %7s %8.3f %8.3f\n",
		       "columns", tv, "", traw, tenc, tstored, "", per(tstored, tv), per(tstored, rows));
		printf("  %-12s %12s %20s %12s %12s %12" PRIu64 " %7s %8s %8.3f\n", "chunk hdrs",
		       "", "", "", "", chunk_bytes >= tstored ? chunk_bytes - tstored : 0, "", "",
		       per(chunk_bytes >= tstored ? chunk_bytes - tstored : 0, rows));
		printf("  %-12s %12s %20s %12s %12s %12" PRIu64 " %7s %8s %8.3f\n",
		       "tables+rest", "", "", "", "", fsize >= chunk_bytes ? fsize - chunk_bytes : 0,
		       "", "", per(fsize >= chunk_bytes ? fsize - chunk_bytes : 0, rows));
		printf("  %-12s %12s %20s %12" PRIu64 " %12s %12" PRIu64 " %7s %8s %8.3f\n", "file",
		       "", "", traw, "", fsize, "", "", per(fsize, rows));
		if (tstored)
			printf("  compression %.2fx over raw column values (%.2fx after encoding)\n",
			       per(traw, tstored), per(tenc, tstored));
	}
	out_check();
	return EXIT_SUCCESS;
}

/* ---- tables (--table) -------------------------------------------------- */

static void table_strings(const mpt_reader *r)
{
	uint32_t n = mpt_reader_string_count(r);

	printf("strings (%" PRIu32 ")\n", n);
	for (uint32_t i = 0; i < n; i++) {
		size_t len;
		const char *str = mpt_reader_string(r, i, &len);

		printf("  %7" PRIu32 "  ", i);
		put_text_str(str, len);
		putchar('\n');
		if (i % 4096 == 4095)
			out_check();
	}
}

static void table_frames(const mpt_reader *r)
{
	uint32_t n = mpt_reader_frame_count(r);

	printf("frames (%" PRIu32 ")\n", n);
	for (uint32_t id = 1; id <= n; id++) {
		const struct mpt_frame *fr = mpt_reader_frame(r, id);

		printf("  %7" PRIu32 "  ", id);
		if (fr)
			put_frame_to(stdout, r, fr, FMT_TEXT);
		putchar('\n');
		if (id % 4096 == 0)
			out_check();
	}
}

static void table_stacks(const mpt_reader *r)
{
	uint32_t n = mpt_reader_stack_count(r);

	printf("stacks (%" PRIu32 "), frame ids innermost first\n", n);
	for (uint32_t id = 1; id <= n; id++) {
		uint32_t nf = 0;
		const uint32_t *f = mpt_reader_stack(r, id, &nf);

		printf("  %7" PRIu32 "  [%" PRIu32 "]", id, nf);
		for (uint32_t k = 0; k < nf; k++)
			printf(" %" PRIu32, f[k]);
		putchar('\n');
		if (id % 4096 == 0)
			out_check();
	}
}

static void table_binaries(const mpt_reader *r)
{
	uint32_t n = mpt_reader_binary_count(r);

	printf("binaries (%" PRIu32 ")\n", n);
	for (uint32_t i = 0; i < n; i++) {
		const struct mpt_binary *bin = mpt_reader_binary(r, i);
		size_t len;
		const char *str;

		if (!bin)
			continue;
		printf("  pid %" PRId32 " 0x%" PRIx64 "-0x%" PRIx64 " ", bin->pid, bin->base,
		       bin->base + bin->size);
		str = mpt_reader_string(r, bin->path, &len);
		put_text_str(str, len);
		str = mpt_reader_string(r, bin->build_id, &len);
		if (len) {
			fputs(" build-id ", stdout);
			put_text_str(str, len);
		}
		putchar('\n');
		if (i % 4096 == 4095)
			out_check();
	}
}

static void table_topology(const mpt_reader *r)
{
	const struct mpt_topology *t = mpt_reader_topology(r);

	if (!t) {
		printf("topology none\n");
		return;
	}
	fputs("topology\n  ", stdout);
	put_topology_line(t);
	if (t->cpu_node && t->ncpus) {
		fputs("  node of cpu:", stdout);
		for (uint32_t i = 0; i < t->ncpus && i < MPT_MAX_CPUS; i++)
			printf(" %" PRId32, t->cpu_node[i]);
		putchar('\n');
	}
	if (t->distance && t->nnodes) {
		for (uint32_t i = 0; i < t->nnodes && i < MPT_MAX_NODES; i++) {
			printf("  distance %" PRIu32 ":", i);
			for (uint32_t j = 0; j < t->nnodes; j++)
				printf(" %" PRIu32, t->distance[(size_t)i * t->nnodes + j]);
			putchar('\n');
		}
	}
}

static int cmd_tables(const struct cat_opts *o, const mpt_reader *r)
{
	static void (*const print[TAB_COUNT_])(const mpt_reader *) = {
		table_strings, table_frames, table_stacks, table_binaries, table_topology,
	};
	int first = 1;

	for (unsigned t = 0; t < TAB_COUNT_; t++) {
		if (!(o->tables & (1u << t)))
			continue;
		if (!first)
			putchar('\n');
		first = 0;
		print[t](r);
	}
	out_check();
	return EXIT_SUCCESS;
}

/* ---- verify ------------------------------------------------------------- */

static int cmd_verify(const struct cat_opts *o, mpt_reader *r)
{
	struct mpt_error err = { 0 };
	enum mpt_status st = mpt_reader_verify(r, &err);

	if (st != MPT_OK)
		file_error(st, &err);
	printf("'%s': OK (%" PRIu64 " records, %" PRIu32 " chunks, %" PRIu64 " bytes)\n",
	       o->path, mpt_reader_rows(r), mpt_reader_chunk_count(r), mpt_reader_file_size(r));
	out_check();
	return EXIT_SUCCESS;
}

/* ---- command line ------------------------------------------------------- */

static void help(void)
{
	printf("usage: %s [OPTION]... FILE.mpt\n"
	       "Show what is inside an .mpt capture.\n\n"
	       "  (no option)          summary: lost events, metadata, table sizes, kinds,\n"
	       "                       chunks and per-column sizes\n"
	       "  -t, --table T[,T]    list these tables in full: strings, frames, stacks,\n"
	       "                       binaries, topology, or all\n"
	       "  -e, --events         dump the records (text, the default format)\n"
	       "  -f, --format FMT     records as text, csv or jsonl (implies --events)\n"
	       "  -k, --kind K[,K]     only records of these kinds (alloc,free,...)\n"
	       "  -p, --pid P          only records of process P\n"
	       "      --from T         only records with ts >= T\n"
	       "      --to T           only records with ts < T\n"
	       "                       T: time since the first record (1.5, 1.5s, 200ms,\n"
	       "                       30us, 100ns) or an absolute timestamp @NS\n"
	       "  -c, --columns C[,C]  print these columns only, in this order (ts,ptr,...)\n"
	       "  -s, --stacks         resolve stack ids into frames\n"
	       "      --verify         check every checksum and invariant\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        version\n\n"
	       "Exit status: 0 ok, 1 bad or unreadable file, 2 usage error.\n",
	       prog);
}

/* Checks a --from/--to argument now (resolved once the file is open). */
static const char *check_time(const char *opt, const char *s)
{
	struct mpt_error err = { 0 };
	uint64_t v;
	int absolute;

	if (mpt_time_parse(s, &v, &absolute, &err) != MPT_OK)
		usage_error("%s: %s", opt, err.msg);
	return s;
}

static int32_t parse_pid(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *s == ' ' || *s == '+' || errno || *end || v == 0 || v < INT32_MIN ||
	    v > INT32_MAX)
		usage_error("--pid: '%s' is not a process id (a non-zero integer)", s);
	return (int32_t)v;
}

static unsigned parse_tables(const char *arg)
{
	unsigned mask = 0;
	char *dup = strdup(arg), *save = NULL;

	if (!dup) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned k = 0;

		if (strcmp(t, "all") == 0) {
			mask |= (1u << TAB_COUNT_) - 1;
			continue;
		}
		while (k < TAB_COUNT_ && strcmp(t, table_names[k]) != 0)
			k++;
		if (k == TAB_COUNT_) {
			fprintf(stderr,
				"%s: unknown table '%s' (strings, frames, stacks, binaries, topology or all)\n",
				prog, t);
			free(dup);
			exit(EXIT_USAGE);
		}
		mask |= 1u << k;
	}
	free(dup);
	if (!mask)
		usage_error("--table: no table given");
	return mask;
}

static uint32_t parse_kinds(const char *arg)
{
	uint32_t mask = 0;
	char *dup = strdup(arg), *save = NULL;

	if (!dup) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned k = mpa_kind_from_name(t);

		if (k == 0 || k >= MPA_KIND_COUNT_) {
			char *end;
			unsigned long n = strtoul(t, &end, 10);

			if (*t >= '0' && *t <= '9' && !*end && n > 0 && n < MPA_KIND_COUNT_) {
				k = (unsigned)n;
			} else {
				fprintf(stderr, "%s: unknown kind '%s'\n", prog, t);
				free(dup);
				exit(EXIT_USAGE);
			}
		}
		mask |= MPT_KINDBIT(k);
	}
	free(dup);
	if (!mask)
		usage_error("--kind: no kind given");
	return mask;
}

static void parse_columns(struct cat_opts *o, const char *arg)
{
	char *dup = strdup(arg), *save = NULL;
	uint64_t seen = 0;

	if (!dup) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	o->ncols = 0;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int c = mpt_column_from_name(t);

		if (c < 0 || c >= MPT_COL_COUNT_) {
			fprintf(stderr, "%s: unknown column '%s'\n", prog, t);
			free(dup);
			exit(EXIT_USAGE);
		}
		if (seen & MPT_COLBIT(c))
			continue;
		seen |= MPT_COLBIT(c);
		o->cols[o->ncols++] = (unsigned)c;
	}
	free(dup);
	if (!o->ncols)
		usage_error("--columns: no column given");
}

int main(int argc, char **argv)
{
	enum { OPT_FROM = 256, OPT_TO, OPT_VERIFY };
	static const struct option longopts[] = {
		{ "events", no_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "kind", required_argument, NULL, 'k' },
		{ "pid", required_argument, NULL, 'p' },
		{ "table", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "columns", required_argument, NULL, 'c' },
		{ "stacks", no_argument, NULL, 's' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cat_opts o = { .mode = MODE_SUMMARY, .fmt = FMT_TEXT };
	int events = 0, verify = 0, ch;
	mpt_reader *r = NULL;
	struct mpt_error err = { 0 };
	enum mpt_status st;
	int rc;

	static char obuf[1 << 16];

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ef:k:p:t:c:shV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			events = 1;
			break;
		case 'f':
			events = 1;
			if (strcmp(optarg, "text") == 0)
				o.fmt = FMT_TEXT;
			else if (strcmp(optarg, "csv") == 0)
				o.fmt = FMT_CSV;
			else if (strcmp(optarg, "jsonl") == 0 || strcmp(optarg, "json") == 0)
				o.fmt = FMT_JSONL;
			else
				usage_error("unknown format '%s' (text, csv or jsonl)", optarg);
			break;
		case 'k':
			events = 1;
			o.kinds = parse_kinds(optarg);
			break;
		case 'p':
			events = 1;
			o.pid = parse_pid(optarg);
			break;
		case 't':
			o.tables |= parse_tables(optarg);
			break;
		case OPT_FROM:
			events = 1;
			o.from = check_time("--from", optarg);
			break;
		case OPT_TO:
			events = 1;
			o.to = check_time("--to", optarg);
			break;
		case 'c':
			events = 1;
			parse_columns(&o, optarg);
			break;
		case 's':
			events = 1;
			o.stacks = 1;
			break;
		case OPT_VERIFY:
			verify = 1;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case 'V':
			printf("%s (mpa) reads .mpt format %d.%d\n", prog, MPT_VERSION_MAJOR,
			       MPT_VERSION_MINOR);
			return EXIT_SUCCESS;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (verify && events)
		usage_error("--verify cannot be combined with event options");
	if (o.tables && (verify || events))
		usage_error("--table cannot be combined with %s",
			    verify ? "--verify" : "event options");
	if (optind != argc - 1)
		usage_error(optind == argc ? "no input file" : "one input file only");
	o.mode = verify ? MODE_VERIFY : events ? MODE_EVENTS : o.tables ? MODE_TABLES : MODE_SUMMARY;
	o.path = argv[optind];
	cur_path = o.path;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

	st = mpt_reader_open(o.path, &r, &err);
	if (st != MPT_OK)
		file_error(st, &err);
	the_reader = r;
	switch (o.mode) {
	case MODE_VERIFY:
		rc = cmd_verify(&o, r);
		break;
	case MODE_EVENTS:
		rc = cmd_events(&o, r);
		break;
	case MODE_TABLES:
		rc = cmd_tables(&o, r);
		break;
	default:
		rc = cmd_summary(&o, r);
		break;
	}
	the_reader = NULL;
	mpt_reader_close(r);
	return rc;
}
