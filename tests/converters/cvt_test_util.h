/* Helpers for the converter tests: temp dirs, running commands, LTTng
 * sessions, reading captures, and the record-by-record comparison with
 * babeltrace2's own reading of a trace (tests/converters/bt2_dump.py). */
#ifndef MPA_CVT_TEST_UTIL_H
#define MPA_CVT_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpa/event.h"
#include "mpa/mpt.h"

static inline const char *ct_env(const char *k)
{
	const char *v = getenv(k);
	cr_assert(v && *v, "%s must be set (run through make check)", k);
	return v;
}

/* Strings made by the helpers live until ct_cleanup() (end of a test). */
static char **ct_owned;
static size_t ct_nowned;

static inline char *ct_own(char *p)
{
	char **n = realloc(ct_owned, (ct_nowned + 1) * sizeof(*n));
	cr_assert(n && p);
	ct_owned = n;
	ct_owned[ct_nowned++] = p;
	return p;
}

static inline void ct_cleanup(void)
{
	for (size_t i = 0; i < ct_nowned; i++)
		free(ct_owned[i]);
	free(ct_owned);
	ct_owned = NULL;
	ct_nowned = 0;
}

static inline char *ct_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	cr_assert(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return ct_own(s);
}

static inline char *ct_tmpdir(void)
{
	char *t = ct_own(strdup("/tmp/mpa-cvt-test.XXXXXX"));
	cr_assert(mkdtemp(t), "mkdtemp failed");
	return t;
}

static inline void ct_rmrf(const char *dir)
{
	char *c = ct_fmt("rm -rf '%s'", dir);
	if (system(c) != 0)
		cr_log_warn("could not remove %s", dir);
}

/* Runs a shell command; returns its exit status (-1 if it did not exit). */
static inline int ct_sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *c = NULL;
	cr_assert(vasprintf(&c, fmt, ap) >= 0);
	va_end(ap);
	int st = system(c);
	free(c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int ct_exists(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0;
}

/* Entries in dir (not . and ..). */
static inline int ct_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static inline char *ct_read_file(const char *p)
{
	FILE *f = fopen(p, "r");
	cr_assert(f, "cannot open %s", p);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r == 0)
			break;
	}
	buf[n] = 0;
	fclose(f);
	return ct_own(buf);
}

/* ---- LTTng ----------------------------------------------------------------- */

static inline int ct_lttng_ready(void)
{
	if (ct_sh("command -v lttng >/dev/null 2>&1") != 0)
		return 0;
	if (ct_sh("pgrep -x lttng-sessiond >/dev/null") != 0 &&
	    ct_sh("lttng-sessiond --daemonize >/dev/null 2>&1") != 0)
		return 0;
	return 1;
}

/* Records `cmd` with the stock libc wrapper (plus the fork and dl helper
 * libraries) into dir/trace; the session name is unique per process and
 * call.  Only cvt-workload threads' allocations are recorded (statedumps
 * run on LTTng's own thread): a session sees every instrumented
 * application of the user, and other tests run at the same time.  lossy: small non-blocking buffers that discard events.  Returns 0
 * on success. */
static inline int ct_record_ust_mode(const char *dir, const char *tag, const char *cmd, int lossy)
{
	static int counter;
	char *sess = ct_fmt("mpa-cvt-%d-%d-%s", (int)getpid(), counter++, tag);
	/* One recording at a time, like mpa-record (same lock): a session
	 * enabling lttng_ust_libc:* records every traced program on the machine,
	 * and parallel tests run the same workload. */
	int lock = open("/tmp/.mpa-record.lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (lock >= 0)
		while (flock(lock, LOCK_EX) < 0 && errno == EINTR)
			;
	int rc = ct_sh("lttng create %s -o '%s/trace' >/dev/null && "
		       "lttng enable-channel -s %s -u ch %s >/dev/null && "
		       "lttng enable-event -s %s -u -c ch 'lttng_ust_libc:*' "
		       "--filter '$ctx.procname == \"cvt-workload\"' >/dev/null && "
		       "lttng enable-event -s %s -u -c ch 'lttng_ust_statedump:*,lttng_ust_dl:*' >/dev/null && "
		       "lttng add-context -s %s -u -c ch -t vpid -t vtid -t ip >/dev/null && "
		       "lttng start %s >/dev/null",
		       sess, dir, sess,
		       lossy ? "--subbuf-size=4096 --num-subbuf=2"
			     : "--subbuf-size=1M --num-subbuf=8 --blocking-timeout=inf",
		       sess, sess, sess, sess);
	if (rc == 0)
		rc = ct_sh("%s LD_PRELOAD=liblttng-ust-fork.so:liblttng-ust-dl.so:liblttng-ust-libc-wrapper.so %s",
			   lossy ? "" : "LTTNG_UST_ALLOW_BLOCKING=1", cmd);
	ct_sh("lttng stop %s >/dev/null 2>&1; lttng destroy %s >/dev/null 2>&1", sess, sess);
	if (lock >= 0)
		close(lock); /* releases the lock */
	return rc;
}

static inline int ct_record_ust(const char *dir, const char *tag, const char *cmd)
{
	return ct_record_ust_mode(dir, tag, cmd, 0);
}

/* ---- captures ------------------------------------------------------------------ */

struct ct_capture {
	mpt_reader *r;
	struct mpa_event *ev;
	size_t n;
};

static inline void ct_load(struct ct_capture *c, const char *path)
{
	struct mpt_error err = { 0 };
	memset(c, 0, sizeof(*c));
	cr_assert_eq(mpt_reader_open(path, &c->r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_verify(c->r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_scan(c->r, NULL, &err), MPT_OK, "%s", err.msg);
	size_t cap = 0;
	const struct mpt_batch *b;
	enum mpt_status st;
	while ((st = mpt_reader_next(c->r, &b, &err)) == MPT_OK) {
		for (uint32_t i = 0; i < b->n; i++) {
			if (c->n == cap) {
				cap = cap ? cap * 2 : 1024;
				c->ev = realloc(c->ev, cap * sizeof(*c->ev));
				cr_assert(c->ev);
			}
			mpt_batch_get(b, i, &c->ev[c->n++]);
		}
	}
	cr_assert_eq(st, MPT_END, "%s", err.msg);
	cr_assert_eq(c->n, mpt_reader_rows(c->r));
}

static inline void ct_release(struct ct_capture *c)
{
	mpt_reader_close(c->r);
	free(c->ev);
	memset(c, 0, sizeof(*c));
}

static inline uint64_t ct_meta_u64(const struct ct_capture *c, const char *key)
{
	const char *v = mpt_reader_meta(c->r, key);
	cr_assert(v, "metadata %s missing", key);
	return strtoull(v, NULL, 10);
}

/* ---- comparison with babeltrace2 ------------------------------------------- */

struct ct_expect {
	const char *name;
	uint8_t kind;
	const char *ptr;   /* field giving ptr (NULL: not checked) */
	const char *size;  /* field giving size (NULL: not checked) */
	int ptr_shift;     /* ptr = field << shift (pages: pfn << 12) */
};

static const struct ct_expect ct_expects[] = {
	{ "lttng_ust_libc:malloc", MPA_KIND_ALLOC, "ptr", "size", 0 },
	{ "lttng_ust_libc:calloc", MPA_KIND_ALLOC, "ptr", NULL, 0 },
	{ "lttng_ust_libc:realloc", MPA_KIND_REALLOC, "in_ptr", "size", 0 },
	{ "lttng_ust_libc:free", MPA_KIND_FREE, "ptr", NULL, 0 },
	{ "lttng_ust_libc:memalign", MPA_KIND_ALLOC, "ptr", "size", 0 },
	{ "lttng_ust_libc:posix_memalign", MPA_KIND_ALLOC, "out_ptr", "size", 0 },
	{ "mpa:alloc", MPA_KIND_ALLOC, "ptr", "size", 0 },
	{ "mpa:free", MPA_KIND_FREE, "ptr", NULL, 0 },
	{ "mpa:realloc", MPA_KIND_REALLOC, "ptr", "size", 0 },
	{ "mpa:map", MPA_KIND_MAP, "addr", "len", 0 },
	{ "mpa:unmap", MPA_KIND_UNMAP, "addr", "len", 0 },
	{ "mpa:thread_start", MPA_KIND_THREAD_START, "stack_base", "stack_size", 0 },
	{ "mpa:thread_exit", MPA_KIND_THREAD_EXIT, NULL, NULL, 0 },
	{ "mpa:stack_sample", MPA_KIND_STACK_SAMPLE, NULL, "sp_depth", 0 },
	{ "mpa:numa_place", MPA_KIND_NUMA_PLACE, "addr", NULL, 0 },
	{ "mpa:pool_create", MPA_KIND_POOL_CREATE, NULL, "obj_size", 0 },
	{ "mpa:pool_alloc", MPA_KIND_POOL_ALLOC, "ptr", "size", 0 },
	{ "mpa:pool_free", MPA_KIND_POOL_FREE, "ptr", NULL, 0 },
	{ "mpa:pool_destroy", MPA_KIND_POOL_DESTROY, NULL, NULL, 0 },
	{ "mpa:proc_exec", MPA_KIND_PROC_EXEC, NULL, NULL, 0 },
	{ "mpa:proc_exit", MPA_KIND_PROC_EXIT, NULL, NULL, 0 },
	{ "mpa:proc_fork", MPA_KIND_PROC_FORK, NULL, NULL, 0 },
	{ "mpa:leak_scan", MPA_KIND_LEAK_SCAN, "ptr", NULL, 0 },
	{ "mpa:leak_scan_end", MPA_KIND_LEAK_SCAN, NULL, NULL, 0 },
	{ "kmem_kmalloc", MPA_KIND_KALLOC, "ptr", "bytes_req", 0 },
	{ "kmem_kmalloc_node", MPA_KIND_KALLOC, "ptr", "bytes_req", 0 },
	{ "kmem_cache_alloc", MPA_KIND_KALLOC, "ptr", "bytes_req", 0 },
	{ "kmem_kfree", MPA_KIND_KFREE, "ptr", NULL, 0 },
	{ "kmem_cache_free", MPA_KIND_KFREE, "ptr", NULL, 0 },
	{ "kmem_mm_page_alloc", MPA_KIND_KALLOC, "pfn", NULL, 12 },
	{ "kmem_mm_page_free", MPA_KIND_KFREE, "pfn", NULL, 12 },
	{ "kmem:kmalloc", MPA_KIND_KALLOC, "ptr", "bytes_req", 0 },
	{ "kmem:kmem_cache_alloc", MPA_KIND_KALLOC, "ptr", "bytes_req", 0 },
	{ "kmem:kfree", MPA_KIND_KFREE, "ptr", NULL, 0 },
	{ "kmem:kmem_cache_free", MPA_KIND_KFREE, "ptr", NULL, 0 },
	{ "kmem:mm_page_alloc", MPA_KIND_KALLOC, "pfn", NULL, 12 },
	{ "kmem:mm_page_free", MPA_KIND_KFREE, "pfn", NULL, 12 },
};

static inline const struct ct_expect *ct_expect_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(ct_expects) / sizeof(ct_expects[0]); i++)
		if (strlen(ct_expects[i].name) == len && memcmp(ct_expects[i].name, name, len) == 0)
			return &ct_expects[i];
	return NULL;
}

/* Value of " key=" in a dump line (up to the line end). */
static inline int ct_field(const char *line, const char *eol, const char *key, int64_t *v)
{
	size_t kl = strlen(key);
	for (const char *p = line; p && p < eol; p = strchr(p + 1, ' ')) {
		if (p[0] == ' ' && strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '=') {
			const char *q = p + 2 + kl;
			if (*q == '-' && q[1] >= '0' && q[1] <= '9')
				*v = strtoll(q, NULL, 10);
			else if (*q >= '0' && *q <= '9')
				*v = (int64_t)strtoull(q, NULL, 10);
			else
				return 0; /* "-": not available */
			return 1;
		}
	}
	return 0;
}

struct ct_cmp {
	size_t matched;       /* dump events matched to records */
	size_t skipped;       /* dump events not mapped (symbol input, unknown) */
	size_t lost;          /* discarded-events lines matched to lost records */
	uint64_t lost_count;
	size_t lost_packets;  /* discarded-packets lines matched */
};

/* Runs bt2_dump.py on the trace folders (space-separated, quoted by the
 * caller) and compares line by line with the capture's records, which must
 * be the same events in the same order. */
static inline void ct_compare(const char *traces, const struct ct_capture *c, const char *tmp,
			      struct ct_cmp *res)
{
	char *dump = ct_fmt("%s/dump.txt", tmp);
	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/bt2_dump.py' %s > '%s'",
			   ct_env("MPA_SRC"), traces, dump), 0, "bt2_dump.py failed");
	char *text = ct_read_file(dump);
	memset(res, 0, sizeof(*res));
	size_t ri = 0;
	for (char *line = text; *line;) {
		char *eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		if (line[0] == 'D') {
			cr_assert_lt(ri, c->n, "capture ends before a discarded-events message");
			const struct mpa_event *e = &c->ev[ri++];
			cr_assert_eq(e->kind, MPA_KIND_LOST, "record %zu: kind %u, expected lost", ri - 1, e->kind);
			uint64_t cnt = strtoull(line + 2, NULL, 10);
			cr_assert_eq(e->size, cnt, "record %zu: lost %" PRIu64 ", babeltrace2 says %" PRIu64,
				     ri - 1, e->size, cnt);
			res->lost++;
			res->lost_count += cnt;
		} else if (line[0] == 'P') {
			cr_assert_lt(ri, c->n, "capture ends before a discarded-packets message");
			const struct mpa_event *e = &c->ev[ri++];
			cr_assert_eq(e->kind, MPA_KIND_LOST, "record %zu: kind %u, expected lost", ri - 1, e->kind);
			cr_assert_eq(e->size, 0, "lost packets hide an unknown number of events");
			char want[64];
			snprintf(want, sizeof(want), "%s discarded packet", strtok(ct_fmt("%.*s", (int)(eol - line - 2), line + 2), " "));
			cr_assert(strncmp(mpt_reader_string(c->r, e->str_id, NULL), want, strlen(want)) == 0,
				  "record %zu: %s", ri - 1, mpt_reader_string(c->r, e->str_id, NULL));
			res->lost_packets++;
		} else if (line[0] == 'E') {
			char *name = line + 2, *sp = strchr(name, ' ');
			cr_assert(sp && sp < eol);
			const struct ct_expect *x = ct_expect_of(name, (size_t)(sp - name));
			if (!x) {
				res->skipped++;
			} else {
				cr_assert_lt(ri, c->n, "capture ends before event '%.*s'", (int)(sp - name), name);
				const struct mpa_event *e = &c->ev[ri++];
				uint64_t ts = strtoull(sp + 1, NULL, 10);
				cr_assert_eq(e->kind, x->kind, "record %zu (%s): kind %u, expected %u", ri - 1,
					     x->name, e->kind, x->kind);
				cr_assert_eq(e->ts, ts, "record %zu (%s): ts %" PRIu64 " != %" PRIu64, ri - 1,
					     x->name, e->ts, ts);
				int64_t v;
				if (ct_field(line, eol, "pid", &v))
					cr_assert_eq(e->pid, (int32_t)v, "record %zu (%s): pid", ri - 1, x->name);
				/* The cpu comes from the packet context (cached per
				 * packet by the sink) unless the payload has its own. */
				if (!ct_field(line, eol, "perf_cpu", &v) &&
				    ct_field(line, eol, "pkt_cpu_id", &v))
					cr_assert_eq(e->cpu, (uint32_t)v, "record %zu (%s): cpu %u != %" PRId64,
						     ri - 1, x->name, e->cpu, v);
				if (x->ptr) {
					cr_assert(ct_field(line, eol, x->ptr, &v), "%s: no %s", x->name, x->ptr);
					cr_assert_eq(e->ptr, (uint64_t)v << x->ptr_shift,
						     "record %zu (%s): ptr 0x%" PRIx64 " != 0x%" PRIx64, ri - 1,
						     x->name, e->ptr, (uint64_t)v << x->ptr_shift);
				}
				if (x->size) {
					cr_assert(ct_field(line, eol, x->size, &v), "%s: no %s", x->name, x->size);
					cr_assert_eq(e->size, (uint64_t)v, "record %zu (%s): size", ri - 1, x->name);
				}
				res->matched++;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	cr_assert_eq(ri, c->n, "capture has %zu records, babeltrace2 accounts for %zu", c->n, ri);
}

/* Line number of the `SITE:<name>` marker in tests/converters/<file>. */
static inline uint32_t ct_site_line_in(const char *file, const char *site)
{
	char *p = ct_fmt("%s/tests/converters/%s", ct_env("MPA_SRC"), file);
	char *text = ct_read_file(p);
	char *marker = ct_fmt("SITE:%s */", site);
	char *at = strstr(text, marker);
	cr_assert(at, "marker %s not found", marker);
	uint32_t line = 1;
	for (char *q = text; q < at; q++)
		line += *q == '\n';
	return line;
}

static inline uint32_t ct_site_line(const char *site)
{
	return ct_site_line_in("cvt_workload.c", site);
}

#endif /* MPA_CVT_TEST_UTIL_H */
