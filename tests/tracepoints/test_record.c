/* tests/tracepoints: record the workloads of tests/workloads/ for real with
 * mpa-record (LTTng-UST + libmpa-preload.so), read the trace back with the
 * babeltrace2 CLI and check the events exactly: counts, sizes, pointers
 * matched, stacks resolving (addr2line + the statedump's bin_info) to the
 * expected function names.
 *
 * Timeouts are generous (15 minutes): a recording on a loaded host (other
 * recordings beside it, a parallel build) can take minutes; they only stop
 * a hung test, nothing here measures time.
 */
#include <criterion/criterion.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

struct ev {
	char *line;     /* owned: the babeltrace2 text line */
	char name[40];  /* "mpa:alloc" */
	int vpid, vtid;
};

struct rec {
	char tmp[64];          /* owned temporary directory */
	char trace[128];
	int status;            /* mpa-record's exit status */
	char prog[PATH_MAX];   /* the program's real path */
	char *out;             /* owned: the program's stdout */
	char *err;             /* owned: mpa-record's stderr */
	struct ev *ev;         /* owned */
	size_t n, cap;
};

struct sym_cache_entry {
	const struct rec *r;
	int vpid;
	uint64_t addr;
	char fn[128];
};

/* The recording being read (stack() resolves interned stacks in it). */
static const struct rec *cur_rec;

static __thread struct sym_cache_entry sym_cache[512];
static __thread unsigned sym_cache_n;

static const char *build_dir(void)
{
	const char *b = getenv("MPA_BUILD");

	cr_assert(b != NULL, "MPA_BUILD is not set");
	return b;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	cr_assert(buf != NULL);
	len = (long)fread(buf, 1, (size_t)len, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Runs argv with stdout and stderr redirected; returns the exit status
 * (128 + signal if killed). */
static int run(char *const argv[], char *const env[], const char *out, const char *err)
{
	pid_t pid = fork();
	int st;

	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0)
			_exit(126);
		dup2(fo, 1);
		dup2(fe, 2);
		/* nothing of the runner's own preloads reaches the programs */
		unsetenv("LD_PRELOAD");
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		cr_assert(errno == EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void parse_line(struct rec *r, char *line)
{
	char *p = strstr(line, ") ");
	char *q, *s;
	struct ev e;

	if (p == NULL)
		return;
	p = strchr(p + 2, ' '); /* skip the host name */
	if (p == NULL)
		return;
	p++;
	q = strstr(p, ": {");
	if (q == NULL || (size_t)(q - p) >= sizeof e.name)
		return;
	memset(&e, 0, sizeof e);
	memcpy(e.name, p, (size_t)(q - p));
	if (strncmp(e.name, "mpa:", 4) != 0 && strcmp(e.name, "lttng_ust_statedump:bin_info") != 0)
		return;
	s = strstr(line, "vpid = ");
	e.vpid = s ? atoi(s + 7) : -1;
	s = strstr(line, "vtid = ");
	e.vtid = s ? atoi(s + 7) : -1;
	e.line = strdup(line);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
		cr_assert(r->ev != NULL);
	}
	r->ev[r->n++] = e;
}

/* Records argv under mpa-record with extra mpa-record options and extra
 * environment, then reads the trace with babeltrace2. */
static void record(struct rec *r, char *const opts[], char *const env[], char *const argv[])
{
	char bin[PATH_MAX], out[128], err[128], bt[128], bterr[128];
	char *args[64];
	size_t k = 0;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;

	memset(r, 0, sizeof *r);
	snprintf(r->tmp, sizeof r->tmp, "/tmp/mpa-tp-test-XXXXXX");
	cr_assert(mkdtemp(r->tmp) != NULL);
	snprintf(r->trace, sizeof r->trace, "%s/trace", r->tmp);
	snprintf(bin, sizeof bin, "%s/bin/mpa-record", build_dir());
	if (realpath(argv[0], r->prog) == NULL)
		snprintf(r->prog, sizeof r->prog, "%s", argv[0]);
	args[k++] = bin;
	args[k++] = "-q";
	args[k++] = "--keep-trace";
	args[k++] = r->trace;
	for (size_t i = 0; opts && opts[i]; i++)
		args[k++] = opts[i];
	args[k++] = "--";
	for (size_t i = 0; argv[i] && k < 62; i++)
		args[k++] = argv[i];
	args[k] = NULL;
	snprintf(out, sizeof out, "%s/stdout", r->tmp);
	snprintf(err, sizeof err, "%s/stderr", r->tmp);
	r->status = run(args, env, out, err);
	r->out = slurp(out);
	r->err = slurp(err);

	{
		char ust[160];
		char *bargs[] = { "babeltrace2", ust, NULL };

		/* the LTTng part only: perf's CTF has another clock */
		snprintf(ust, sizeof ust, "%s/ust", r->trace);

		snprintf(bt, sizeof bt, "%s/bt.txt", r->tmp);
		snprintf(bterr, sizeof bterr, "%s/bt.err", r->tmp);
		cr_assert_eq(run(bargs, NULL, bt, bterr), 0, "babeltrace2 failed on '%s'",
			r->trace);
	}
	f = fopen(bt, "r");
	cr_assert(f != NULL);
	while (getline(&line, &cap, f) > 0)
		parse_line(r, line);
	cur_rec = r;
	free(line);
	fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void rec_free(struct rec *r)
{
	sym_cache_n = 0;
	for (size_t i = 0; i < r->n; i++)
		free(r->ev[i].line);
	free(r->ev);
	free(r->out);
	free(r->err);
	if (r->tmp[0])
		nftw(r->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Field `key` of an event: finds "{ key = " or ", key = ". */
static const char *field(const struct ev *e, const char *key)
{
	char pat[64];
	const char *s;

	snprintf(pat, sizeof pat, ", %s = ", key);
	s = strstr(e->line, pat);
	if (s == NULL) {
		snprintf(pat, sizeof pat, "{ %s = ", key);
		s = strstr(e->line, pat);
	}
	return s ? s + strlen(pat) : NULL;
}

static uint64_t u64(const struct ev *e, const char *key)
{
	const char *s = field(e, key);

	cr_assert(s != NULL, "no field '%s' in: %s", key, e->line);
	return strtoull(s, NULL, 0);
}

static int64_t s64(const struct ev *e, const char *key)
{
	const char *s = field(e, key);

	cr_assert(s != NULL, "no field '%s' in: %s", key, e->line);
	return strtoll(s, NULL, 0);
}

/* String field into buf (no escapes in our paths and names). */
static const char *str(const struct ev *e, const char *key, char *buf, size_t len)
{
	const char *s = field(e, key), *q;

	cr_assert(s != NULL && *s == '"', "no string '%s' in: %s", key, e->line);
	q = strchr(s + 1, '"');
	cr_assert(q != NULL);
	snprintf(buf, len, "%.*s", (int)(q - s - 1), s + 1);
	return buf;
}

static unsigned stack_frames(const struct ev *e, uint64_t *out, unsigned max);

/* The frames of an event: its own stack[], or, for an event made from an
 * interned stack (stack_id != 0, empty stack[]), those of the latest
 * mpa:stack of its process defining that id before it. */
static unsigned stack(const struct ev *e, uint64_t *out, unsigned max)
{
	const char *sid = field(e, "stack_id");
	uint64_t id = sid ? strtoull(sid, NULL, 0) : 0;

	if (id == 0)
		return stack_frames(e, out, max);
	cr_assert_eq(u64(e, "_stack_length"), 0, "stack_id and frames: %s", e->line);
	cr_assert(cur_rec && e >= cur_rec->ev && e < cur_rec->ev + cur_rec->n);
	for (const struct ev *d = e; d-- > cur_rec->ev;)
		if (d->vpid == e->vpid && strcmp(d->name, "mpa:stack") == 0 && u64(d, "id") == id)
			return stack_frames(d, out, max);
	cr_assert_fail("no mpa:stack defining id %" PRIu64 " before: %s", id, e->line);
	return 0;
}

static unsigned stack_frames(const struct ev *e, uint64_t *out, unsigned max)
{
	const char *s = field(e, "stack");
	unsigned n = 0;

	cr_assert(s != NULL, "no stack in: %s", e->line);
	while (n < max && (s = strstr(s, "] = ")) != NULL) {
		char *end;

		s += 4;
		out[n++] = strtoull(s, &end, 0);
		s = end;
		if (*s == ' ' && s[1] == ']')
			break;
	}
	cr_assert_eq((uint64_t)n, u64(e, "_stack_length"));
	return n;
}

static int is(const struct ev *e, const char *name)
{
	return strcmp(e->name, name) == 0;
}

/* Function containing return address `addr` in process `vpid`, from the
 * statedump's bin_info and addr2line; "" if unknown. */
static const char *symbolize_uncached(const struct rec *r, int vpid, uint64_t addr,
	char *fn, size_t len);

/* addr2line is slow to start: remember what each address resolved to */
static const char *symbolize(const struct rec *r, int vpid, uint64_t addr, char *fn, size_t len)
{
	struct sym_cache_entry *c;

	for (unsigned i = 0; i < sym_cache_n; i++) {
		c = &sym_cache[i];
		if (c->r == r && c->vpid == vpid && c->addr == addr) {
			snprintf(fn, len, "%s", c->fn);
			return fn;
		}
	}
	symbolize_uncached(r, vpid, addr, fn, len);
	c = &sym_cache[sym_cache_n++ % 512];
	if (sym_cache_n > 512)
		sym_cache_n = 512;
	c->r = r;
	c->vpid = vpid;
	c->addr = addr;
	snprintf(c->fn, sizeof c->fn, "%s", fn);
	return fn;
}

static const char *symbolize_uncached(const struct rec *r, int vpid, uint64_t addr,
	char *fn, size_t len)
{
	fn[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		uint64_t base, memsz, off;
		char path[PATH_MAX], hex[32], out[160], err[160];

		if (e->vpid != vpid || !is(e, "lttng_ust_statedump:bin_info"))
			continue;
		base = u64(e, "baddr");
		memsz = u64(e, "memsz");
		if (addr < base || addr >= base + memsz)
			continue;
		str(e, "path", path, sizeof path);
		off = u64(e, "is_pic") ? addr - base : addr;
		snprintf(hex, sizeof hex, "0x%" PRIx64, off - 1);
		snprintf(out, sizeof out, "%s/a2l.%d.out", r->tmp, (int)getpid());
		snprintf(err, sizeof err, "%s/a2l.%d.err", r->tmp, (int)getpid());
		{
			/* -i: inlined frames first; the last function is the real one */
			char *args[] = { "addr2line", "-f", "-i", "-e", path, hex, NULL };
			char *txt, *line, *save = NULL;
			int k = 0;

			if (run(args, NULL, out, err) != 0)
				return fn;
			txt = slurp(out);
			for (line = strtok_r(txt, "\n", &save); line;
					line = strtok_r(NULL, "\n", &save), k++)
				if (k % 2 == 0)
					snprintf(fn, len, "%s", line);
			free(txt);
		}
		return fn;
	}
	return fn;
}

/* The recorded program: the first process whose image is `r->prog` (other
 * LTTng sessions on the host may bring in foreign processes). */
static int main_pid_of(const struct rec *r)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < r->n; i++)
		if (is(&r->ev[i], "mpa:proc_exec") &&
				strcmp(str(&r->ev[i], "path", path, sizeof path), r->prog) == 0)
			return r->ev[i].vpid;
	cr_assert_fail("no mpa:proc_exec event");
	return -1;
}

/* Replays the heap of `vpid` from its proc_exec on (before it, a forked
 * child frees blocks inherited from its parent): every free and realloc
 * must match a live block.  Returns the number of unmatched frees. */
struct live { uint64_t ptr, size; };

static size_t unmatched_frees_ex(const struct rec *r, int vpid, int warn)
{
	struct live *l = NULL;
	size_t n = 0, cap = 0, bad = 0;
	int started = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		uint64_t p, q;
		size_t j;

		if (e->vpid != vpid)
			continue;
		if (is(e, "mpa:proc_exec"))
			started = 1;
		if (!started)
			continue;
		if (is(e, "mpa:alloc") && u64(e, "ptr")) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				l = realloc(l, cap * sizeof *l);
			}
			l[n].ptr = u64(e, "ptr");
			l[n++].size = u64(e, "size");
			continue;
		}
		if (!is(e, "mpa:free") && !is(e, "mpa:realloc"))
			continue;
		p = u64(e, "ptr");
		if (p) {
			for (j = n; j-- > 0;)
				if (l[j].ptr == p)
					break;
			if (j == (size_t)-1) {
				bad++;
				if (warn && bad < 5)
					cr_log_warn("unmatched: %s", e->line);
			} else {
				l[j] = l[--n];
			}
		}
		if (is(e, "mpa:realloc") && (q = u64(e, "new_ptr")) != 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				l = realloc(l, cap * sizeof *l);
			}
			l[n].ptr = q;
			l[n++].size = u64(e, "size");
		}
	}
	free(l);
	return bad;
}

static size_t unmatched_frees(const struct rec *r, int vpid)
{
	return unmatched_frees_ex(r, vpid, 1);
}

static char *wl(const char *name)
{
	static __thread char buf[8][PATH_MAX];
	static __thread int k;
	char *b = buf[k++ % 8];

	snprintf(b, PATH_MAX, "%s/tests/workloads/%s", build_dir(), name);
	return b;
}

/* ---- wl-basic ------------------------------------------------------------------ */

Test(tracepoints, basic_leak_peak_realloc_map, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-basic"), NULL };
	char fn[256], path[PATH_MAX];
	int pid, leaks = 0, peak_allocs = 0, churn = 0, churn_free = 0;
	int execs = 0, exits = 0, maps = 0, unmaps = 0, reallocs = 0, failed = 0;
	int sbrks = 0, early = 0;
	uint64_t mapped = 0, live = 0, peak = 0, resize_ptr = 0, last_new = 0, brk_at = 0;

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 3, "mpa-record must exit with the program's status: %d\n%s",
		r.status, r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0, "every free matches an allocation");

	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];
		unsigned n;

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:proc_exec")) {
			execs++;
			str(e, "path", path, sizeof path);
			cr_assert(strstr(path, "/wl-basic") != NULL, "%s", path);
		} else if (is(e, "mpa:proc_exit")) {
			exits++;
			cr_assert_eq(s64(e, "status"), 3);
		} else if (is(e, "mpa:alloc") && u64(e, "size") == (uint64_t)1 << 62) {
			failed++;
			cr_assert_eq(u64(e, "flags"), 2, "MPA_FLAG_FAILED");
			cr_assert_eq(u64(e, "ptr"), 0);
			cr_assert_eq(u64(e, "usable"), 0);
		} else if (is(e, "mpa:alloc") && (u64(e, "flags") & 1)) {
			/* early blocks: flushed right after proc_exec, before main */
			early++;
			cr_assert_eq(u64(e, "flags"), 1 | 4, "EARLY | TS_APPROX");
			cr_assert_eq(execs, 1);
			cr_assert_eq(leaks + churn + peak_allocs, 0);
		} else if (is(e, "mpa:alloc") && !(u64(e, "flags") & 1)) {
			uint64_t size = u64(e, "size");

			n = stack(e, st, 64);
			cr_assert_geq(n, 1);
			if (size >= 100 && size <= 500 && size % 100 == 0 &&
					strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_leak") == 0) {
				leaks++;
				cr_assert_eq(u64(e, "api"), 1);
				cr_assert_eq(size, 100 * (uint64_t)leaks, "leak %d size", leaks);
				cr_assert_geq(u64(e, "usable"), size);
				cr_assert_geq(n, 2);
				cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "main");
				live += size;
			} else if (size == 40000) {
				cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_peak");
				peak_allocs++;
				live += size;
			} else if (size == 24 && u64(e, "api") == 1 &&
					strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_churn") == 0) {
				churn++;
			} else if (size == 10 && u64(e, "api") == 1 &&
					strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_resize") == 0) {
				resize_ptr = u64(e, "ptr");
			} else if (u64(e, "api") == 2 && size == 200) {
				cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_resize");
			}
			if (live > peak)
				peak = live;
		} else if (is(e, "mpa:free")) {
			n = stack(e, st, 64);
			if (strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_peak") == 0)
				live -= 40000;
			else if (strcmp(fn, "mpa_wl_churn") == 0)
				churn_free++;
			else if (strcmp(fn, "mpa_wl_resize") == 0 && last_new &&
					u64(e, "ptr") == last_new)
				last_new = 0;
		} else if (is(e, "mpa:realloc")) {
			uint64_t size = u64(e, "size");

			if (u64(e, "api") == 4) {
				cr_assert_eq(u64(e, "ptr"), 0);
				cr_assert_eq(size, 100);
				continue;
			}
			reallocs++;
			cr_assert_eq(u64(e, "api"), 3);
			cr_assert_eq(u64(e, "ptr"), reallocs == 1 ? resize_ptr : last_new);
			cr_assert_eq(size, reallocs == 1 ? 1000 : 50000);
			cr_assert_geq(u64(e, "usable"), size);
			last_new = u64(e, "new_ptr");
		} else if (is(e, "mpa:map") && u64(e, "api") == 24) {
			sbrks++;
			brk_at = u64(e, "addr");
			cr_assert_eq(u64(e, "len"), 4096);
		} else if (is(e, "mpa:unmap") && u64(e, "api") == 24) {
			sbrks++;
			cr_assert_eq(u64(e, "addr"), brk_at);
			cr_assert_eq(u64(e, "len"), 4096);
		} else if (is(e, "mpa:map")) {
			maps++;
			mapped = u64(e, "addr");
			cr_assert_eq(u64(e, "len"), 3 * 4096);
			cr_assert_eq(u64(e, "prot"), 3);
			cr_assert_eq(u64(e, "api"), 20);
		} else if (is(e, "mpa:unmap")) {
			unmaps++;
			cr_assert_eq(u64(e, "addr"), mapped);
			cr_assert_eq(u64(e, "len"), 3 * 4096);
			cr_assert_eq(u64(e, "api"), 21);
		}
	}
	cr_assert_eq(execs, 1);
	cr_assert_eq(exits, 1);
	cr_assert_eq(leaks, 5, "5 leaked blocks from mpa_wl_leak");
	cr_assert_eq(peak_allocs, 8);
	cr_assert_eq(peak, 1500 + 8 * 40000, "peak of the workload's own blocks");
	cr_assert_eq(live, 1500, "only the leaks stay live");
	cr_assert_eq(churn, 1000);
	cr_assert_eq(churn_free, 1000);
	cr_assert_eq(reallocs, 2);
	cr_assert_eq(last_new, 0, "the resized block was freed");
	cr_assert_eq(maps, 1);
	cr_assert_eq(unmaps, 1);
	cr_assert_eq(failed, 1, "the failed malloc is recorded");
	cr_assert_eq(sbrks, 2, "sbrk(+4096) and sbrk(-4096)");
	cr_assert_gt(early, 0, "allocations made before tracing was live");
	rec_free(&r);
}

/* Built with -fomit-frame-pointer -O2: must not crash, must record the same
 * allocations (stacks may be shorter). */
Test(tracepoints, no_frame_pointers, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-nofp"), NULL };
	char fn[256];
	int pid, leaks = 0, churn = 0;

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 3, "%s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];

		if (e->vpid != pid || !is(e, "mpa:alloc") || (u64(e, "flags") & 1))
			continue;
		cr_assert_geq(stack(e, st, 64), 1);
		/* stacks on: no ip context (a stack's first frame is the ip) */
		cr_assert(strstr(e->line, ", ip = ") == NULL, "%s", e->line);
		symbolize(&r, pid, st[0], fn, sizeof fn);
		if (strcmp(fn, "mpa_wl_leak") == 0) {
			leaks++;
			cr_assert_eq(u64(e, "size"), 100 * (uint64_t)leaks);
		} else if (strcmp(fn, "mpa_wl_churn") == 0) {
			churn++;
		}
	}
	cr_assert_eq(leaks, 5);
	cr_assert_eq(churn, 1000);
	rec_free(&r);
}

/* --unwind libunwind reads unwind tables: the no-frame-pointer build gets
 * complete stacks (mpa_wl_leak <- main), which frame pointers cannot give. */
Test(tracepoints, libunwind_stacks_without_frame_pointers, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-nofp"), NULL };
	char *opts[] = { "--unwind", "libunwind", NULL };
	char fn[256];
	int pid, leaks = 0;

	record(&r, opts, NULL, argv);
	cr_assert_eq(r.status, 3, "%s", r.err);
	pid = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];
		unsigned n;

		if (e->vpid != pid || !is(e, "mpa:alloc") || (u64(e, "flags") & 1))
			continue;
		n = stack(e, st, 64);
		if (n < 2 || strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_leak") != 0)
			continue;
		leaks++;
		cr_assert_eq(u64(e, "size"), 100 * (uint64_t)leaks);
		cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "main");
	}
	cr_assert_eq(leaks, 5);
	rec_free(&r);
}

/* --free-stack-depth 0: frees carry no stack, allocations still do. */
Test(tracepoints, free_stack_depth_zero, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-basic"), NULL };
	char *opts[] = { "--free-stack-depth", "0", NULL };
	int pid, frees = 0, allocs = 0;

	record(&r, opts, NULL, argv);
	cr_assert_eq(r.status, 3, "%s", r.err);
	pid = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:free")) {
			frees++;
			cr_assert_eq(u64(e, "_stack_length"), 0, "%s", e->line);
			cr_assert_eq(u64(e, "stack_id"), 0, "%s", e->line);
			/* no stack: the ip context gives the caller */
			cr_assert_gt(u64(e, "ip"), 4096, "%s", e->line);
		} else if (is(e, "mpa:alloc") && u64(e, "size") == 24 && u64(e, "api") == 1 &&
				e->vtid == pid && !(u64(e, "flags") & 1)) {
			uint64_t st[64];

			allocs++; /* mpa_wl_churn <- main <- ... (interned or not) */
			cr_assert_geq(stack(e, st, 64), 2, "%s", e->line);
		}
	}
	cr_assert_geq(frees, 1000);
	cr_assert_geq(allocs, 1000);
	rec_free(&r);
}

/* ---- threads and stack depth -------------------------------------------------------- */

Test(tracepoints, threads_and_stack_depth, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-threads"), NULL };
	char *opts[] = { "--stack-depth", "32", NULL };
	char *env[] = { "MPA_STACK_SAMPLE=1", "MPA_NUMA_SAMPLE=1", NULL };
	char fn[256];
	int pid, starts = 0, exits = 0, deep_allocs = 0, samples = 0, numa = 0;
	int per_thread[4] = { 0 }, per_thread_free = 0, tids[8], ntids = 0;
	uint64_t deep_ptr = 0;

	record(&r, opts, env, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];
		unsigned n;

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:thread_start")) {
			starts++;
			cr_assert_gt(u64(e, "stack_size"), 0);
			cr_assert_lt(ntids, 8);
			tids[ntids++] = e->vtid;
		} else if (is(e, "mpa:thread_exit")) {
			exits++;
			cr_assert_neq(e->vtid, pid);
		} else if (is(e, "mpa:numa_place")) {
			numa++;
			cr_assert_geq(s64(e, "node"), 0);
		} else if (is(e, "mpa:alloc")) {
			uint64_t size = u64(e, "size");

			n = stack(e, st, 64);
			if (size >= 1000 && size < 1004 &&
					strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_thread_work") == 0)
				per_thread[size - 1000]++;
			if (size == 777) {
				unsigned k = 0;

				deep_allocs++;
				deep_ptr = u64(e, "ptr");
				/* 20 levels of mpa_wl_deep, then its caller */
				cr_assert_geq(n, 22);
				while (k < n && strcmp(symbolize(&r, pid, st[k], fn, sizeof fn),
						"mpa_wl_deep") == 0)
					k++;
				cr_assert_eq(k, 20, "frames of mpa_wl_deep: %u", k);
				cr_assert_str_eq(symbolize(&r, pid, st[20], fn, sizeof fn),
					"mpa_wl_thread_work");
				/* the next event of this thread is its stack sample */
				for (size_t j = i + 1; j < r.n; j++) {
					struct ev *s = &r.ev[j];

					if (s->vtid != e->vtid)
						continue;
					cr_assert(is(s, "mpa:stack_sample") || is(s, "mpa:numa_place"),
						"%s", s->line);
					if (!is(s, "mpa:stack_sample"))
						continue;
					samples++;
					cr_assert_geq(u64(s, "frame_depth"), 23);
					cr_assert_gt(u64(s, "sp_depth"), 20 * 16);
					cr_assert_lt(u64(s, "sp_depth"), 8u << 20);
					break;
				}
			}
		} else if (is(e, "mpa:free")) {
			n = stack(e, st, 64);
			if (strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_thread_work") == 0)
				per_thread_free++;
			else if (u64(e, "ptr") == deep_ptr)
				deep_ptr = 0;
		}
	}
	cr_assert_eq(starts, 5, "main + 4 threads");
	cr_assert_eq(exits, 4);
	for (int i = 0; i < ntids; i++)
		for (int j = i + 1; j < ntids; j++)
			cr_assert_neq(tids[i], tids[j]);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(per_thread[i], 100, "thread %d", i);
	cr_assert_eq(per_thread_free, 400);
	cr_assert_eq(deep_allocs, 1);
	cr_assert_eq(deep_ptr, 0, "the deep block was freed");
	cr_assert_eq(samples, 1);
	cr_assert_gt(numa, 400);
	rec_free(&r);
}

/* ---- custom pool ---------------------------------------------------------------- */

Test(tracepoints, custom_pool, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-pool"), NULL };
	char fn[256], name[64];
	int pid, creates = 0, allocs = 0, frees = 0, destroys = 0;
	uint64_t id = 0, ptrs[10];

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:pool_create")) {
			creates++;
			id = u64(e, "pool_id");
			cr_assert_neq(id, 0);
			cr_assert_str_eq(str(e, "name", name, sizeof name), "wl_pool");
			cr_assert_eq(u64(e, "obj_size"), 64);
			cr_assert_eq(u64(e, "capacity"), 32);
		} else if (is(e, "mpa:pool_alloc")) {
			cr_assert_eq(u64(e, "pool_id"), id);
			cr_assert_eq(u64(e, "size"), 64);
			cr_assert_lt(allocs, 10);
			ptrs[allocs] = u64(e, "ptr");
			for (int j = 0; j < allocs; j++)
				cr_assert_neq(ptrs[j], ptrs[allocs]);
			allocs++;
			cr_assert_geq(stack(e, st, 64), 2);
			cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_pool_get");
			cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "main");
		} else if (is(e, "mpa:pool_free")) {
			cr_assert_eq(u64(e, "pool_id"), id);
			cr_assert_lt(frees, 7);
			cr_assert_eq(u64(e, "ptr"), ptrs[frees], "frees in allocation order");
			frees++;
			cr_assert_geq(stack(e, st, 64), 1);
			cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_pool_put");
		} else if (is(e, "mpa:pool_destroy")) {
			destroys++;
			cr_assert_eq(u64(e, "pool_id"), id);
			cr_assert_eq(allocs, 10);
			cr_assert_eq(frees, 7);
		}
	}
	cr_assert_eq(creates, 1);
	cr_assert_eq(allocs, 10);
	cr_assert_eq(frees, 7);
	cr_assert_eq(destroys, 1);
	rec_free(&r);
}

/* Compiled out: the binary does not reference LTTng at all and records no
 * pool events. */
Test(tracepoints, custom_pool_compiled_out, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-pool-off"), NULL };
	char *bin = slurp(wl("wl-pool-off"));
	struct stat st;

	cr_assert_eq(stat(wl("wl-pool-off"), &st), 0);
	cr_assert(memmem(bin, (size_t)st.st_size, "lttng", 5) == NULL,
		"compiled-out pool API must not reference lttng");
	free(bin);
	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	for (size_t i = 0; i < r.n; i++)
		cr_assert(strncmp(r.ev[i].name, "mpa:pool_", 9) != 0, "%s", r.ev[i].line);
	rec_free(&r);
}

/* ---- aligned allocations -------------------------------------------------------------- */

Test(tracepoints, aligned_apis, .timeout = 900)
{
	static const struct { uint64_t api, size, align, min_usable; } want[] = {
		{ 7, 640, 64, 640 },      /* aligned_alloc */
		{ 8, 1000, 4096, 1000 },  /* valloc */
		{ 9, 1000, 4096, 4096 },  /* pvalloc rounds up to a page */
		{ 5, 300, 128, 300 },     /* memalign */
		{ 6, 500, 256, 500 },     /* posix_memalign */
	};
	struct rec r;
	char *argv[] = { wl("wl-aligned"), NULL };
	char fn[256];
	int pid, k = 0;
	uint64_t last = 0;

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:alloc") && u64(e, "api") >= 5 && u64(e, "api") <= 9) {
			cr_assert_lt(k, 5);
			cr_assert_eq(last, 0, "previous block freed first");
			cr_assert_eq(u64(e, "api"), want[k].api);
			cr_assert_eq(u64(e, "size"), want[k].size);
			cr_assert_eq(u64(e, "align"), want[k].align);
			cr_assert_eq(u64(e, "ptr") % want[k].align, 0);
			cr_assert_geq(u64(e, "usable"), want[k].min_usable);
			cr_assert_geq(stack(e, st, 64), 1);
			cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_wl_aligned");
			last = u64(e, "ptr");
			k++;
		} else if (is(e, "mpa:free") && last && u64(e, "ptr") == last) {
			cr_assert_eq(u64(e, "api"), 12);
			last = 0;
		}
	}
	cr_assert_eq(k, 5);
	cr_assert_eq(last, 0);
	rec_free(&r);
}

/* ---- fork, exec, exit ------------------------------------------------------------------ */

Test(tracepoints, fork_and_exec, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-forkexec"), NULL };
	char path[PATH_MAX];
	int parent, fork_child = -1, exec_child = -1, execs = 0;
	int status_of[3] = { -1, -1, -1 };

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	parent = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];

		if (is(e, "mpa:proc_exec")) {
			execs++;
			str(e, "path", path, sizeof path);
			cr_assert(strstr(path, "/wl-forkexec") != NULL);
			if (e->vpid != parent)
				exec_child = e->vpid;
		} else if (is(e, "mpa:alloc") && u64(e, "size") == 1111) {
			fork_child = e->vpid;
		} else if (is(e, "mpa:alloc") && u64(e, "size") == 3333) {
			cr_assert_eq(e->vpid, parent);
		} else if (is(e, "mpa:alloc") && u64(e, "size") == 4242) {
			cr_assert_eq(e->vpid, exec_child, "4242 comes after the child's proc_exec");
		}
	}
	cr_assert_eq(execs, 2, "the program and its exec'd child");
	cr_assert_neq(fork_child, -1);
	cr_assert_neq(fork_child, parent);
	cr_assert_neq(fork_child, exec_child);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];

		if (!is(e, "mpa:proc_exit"))
			continue;
		if (e->vpid == parent)
			status_of[0] = (int)s64(e, "status");
		else if (e->vpid == fork_child)
			status_of[1] = (int)s64(e, "status");
		else if (e->vpid == exec_child)
			status_of[2] = (int)s64(e, "status");
	}
	cr_assert_eq(status_of[0], 0);
	cr_assert_eq(status_of[1], 5, "_exit(5) in the forked child");
	cr_assert_eq(status_of[2], 0);
	cr_assert_eq(unmatched_frees(&r, parent), 0);
	cr_assert_eq(unmatched_frees(&r, exec_child), 0);
	rec_free(&r);
}

/* Forks while 4 threads allocate: no deadlock, every child traced to its
 * _exit(7).  Discard mode: the threads' churn may overflow the channel,
 * only the children's proc_exit events are counted. */
Test(tracepoints, fork_while_threads_allocate, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-forkstress"), NULL };
	char *opts[] = { "--stack-depth", "4", NULL };
	int parent, children = 0;

	record(&r, opts, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	parent = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];

		if (is(e, "mpa:proc_exit") && e->vpid != parent && s64(e, "status") == 7)
			children++;
	}
	cr_assert_eq(children, 30, "the 30 children's _exit(7)");
	rec_free(&r);
}

/* ---- early allocations ------------------------------------------------------------- */

static char *tpt(const char *name)
{
	static __thread char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s/tests/tracepoints/%s", build_dir(), name);
	return buf;
}

/* Early blocks of wl-early (made by its library's constructor, before
 * tracing is live): one event per block of `size`, flags EARLY|TS_APPROX,
 * stack innermost first into st; returns how many such events. */
static int early_of_size(const struct rec *r, int pid, uint64_t size, uint64_t *st,
	unsigned *n)
{
	int k = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->ev[i];

		if (e->vpid != pid || !is(e, "mpa:alloc") || u64(e, "size") != size)
			continue;
		cr_assert_eq(u64(e, "flags"), 1 | 4, "EARLY | TS_APPROX: %s", e->line);
		*n = stack(e, st, 64);
		k++;
	}
	return k;
}

/* A library constructor (built without frame pointers) allocates before
 * the preload's constructor: the early blocks carry their whole stack,
 * from the unwind tables, resolving to the constructor's functions; the
 * freed one is matched, the kept one stays. */
Test(tracepoints, early_allocations_have_stacks, .timeout = 900)
{
	struct rec r;
	char *argv[] = { tpt("wl-early"), NULL };
	char fn[256];
	uint64_t st[64];
	unsigned n = 0;
	int pid, multi = 0, early = 0;

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0, "the early block's free follows it");

	cr_assert_eq(early_of_size(&r, pid, 4242, st, &n), 1);
	cr_assert_geq(n, 3, "the constructor, the loader's init below it");
	cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_early_ctor_alloc");
	cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "mpa_early_ctor");
	cr_assert_eq(early_of_size(&r, pid, 4141, st, &n), 1);
	cr_assert_geq(n, 3);
	cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_early_ctor_alloc");
	cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "mpa_early_ctor");

	/* the tracer's own early blocks (LTTng-UST registering) have stacks
	 * too, and nothing was left out */
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];

		cr_assert(!is(e, "mpa:early_dropped"), "%s", e->line);
		if (e->vpid != pid || !is(e, "mpa:alloc") || !(u64(e, "flags") & 1))
			continue;
		early++;
		multi += stack(e, st, 64) >= 3;
	}
	cr_assert_gt(early, 10);
	cr_assert_geq(multi * 10, early * 9, "%d of %d early stacks have 3+ frames", multi,
		early);
	rec_free(&r);
}

/* --stack-depth caps early stacks like the others. */
Test(tracepoints, early_stacks_follow_stack_depth, .timeout = 900)
{
	struct rec r;
	char *argv[] = { tpt("wl-early"), NULL };
	char *opts[] = { "--stack-depth", "2", NULL };
	char fn[256];
	uint64_t st[64];
	unsigned n = 0;
	int pid;

	record(&r, opts, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(early_of_size(&r, pid, 4242, st, &n), 1);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(symbolize(&r, pid, st[0], fn, sizeof fn), "mpa_early_ctor_alloc");
	cr_assert_str_eq(symbolize(&r, pid, st[1], fn, sizeof fn), "mpa_early_ctor");
	for (size_t i = 0; i < r.n; i++)
		if (r.ev[i].vpid == pid && is(&r.ev[i], "mpa:alloc"))
			cr_assert_leq(stack(&r.ev[i], st, 64), 2, "%s", r.ev[i].line);
	rec_free(&r);
}

/* More live early blocks than the early table holds: the rest are counted
 * in one mpa:early_dropped event, and only they are unknown to the trace
 * (their frees are the only unmatched ones). */
Test(tracepoints, early_table_overflow_counted, .timeout = 900)
{
	struct rec r;
	char *argv[] = { tpt("wl-early"), NULL };
	char *env[] = { "WL_EARLY_MANY=3000", NULL };
	uint64_t st[64];
	unsigned n = 0;
	int pid, many = 0, events = 0;
	uint64_t dropped = 0;
	size_t unmatched;

	record(&r, NULL, env, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	pid = main_pid_of(&r);
	many = early_of_size(&r, pid, 4343, st, &n);
	for (size_t i = 0; i < r.n; i++) {
		if (r.ev[i].vpid != pid || !is(&r.ev[i], "mpa:early_dropped"))
			continue;
		events++;
		dropped = u64(&r.ev[i], "count");
	}
	cr_assert_eq(events, 1, "one mpa:early_dropped per process image");
	cr_assert_gt(dropped, 0);
	cr_assert_leq(many, 2048, "the table holds 2048 blocks");
	cr_assert_geq((uint64_t)many + dropped, 3000, "%d kept + %" PRIu64 " dropped", many,
		dropped);
	unmatched = unmatched_frees_ex(&r, pid, 0); /* expected: no warnings */
	cr_assert_gt(unmatched, 0);
	cr_assert_leq(unmatched, dropped, "only dropped blocks are unknown");

	/* the converter turns the count into a lost record: mpa-cat shows it */
	{
		char conv[PATH_MAX], cat[PATH_MAX], mpt[PATH_MAX + 16], so[PATH_MAX + 16],
			se[PATH_MAX + 16];
		char *out, *lost;
		unsigned long long nlost = 0;

		snprintf(conv, sizeof conv, "%s/bin/mpa-convert", build_dir());
		snprintf(cat, sizeof cat, "%s/bin/mpa-cat", build_dir());
		if (access(conv, X_OK) != 0 || access(cat, X_OK) != 0)
			cr_skip_test("mpa-convert or mpa-cat is not built");
		snprintf(mpt, sizeof mpt, "%s.mpt", r.trace);
		snprintf(so, sizeof so, "%s.out", r.trace);
		snprintf(se, sizeof se, "%s.err", r.trace);
		{
			char *args[] = { conv, "-q", "-o", mpt, r.trace, NULL };
			cr_assert_eq(run(args, NULL, so, se), 0, "mpa-convert failed");
		}
		{
			char *args[] = { cat, mpt, NULL };
			cr_assert_eq(run(args, NULL, so, se), 0, "mpa-cat failed");
		}
		out = slurp(so);
		lost = strstr(out, "LOST ");
		cr_assert(lost != NULL, "no LOST line: %.400s", out);
		cr_assert_eq(sscanf(lost, "LOST %llu", &nlost), 1, "%.200s", lost);
		cr_assert_geq(nlost, dropped, "%.200s", lost);
		free(out);
		unlink(mpt);
		unlink(so);
		unlink(se);
	}
	rec_free(&r);
}

/* ---- C++ ------------------------------------------------------------------------------------ */

Test(tracepoints, cxx_new_delete, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-cxx"), NULL };
	char fn[256];
	int pid, k = 0;
	uint64_t ptr = 0;
	static const struct { uint64_t api, size; } want[] = {
		{ 10, 48 }, { 11, 400 }, { 11, 555 } /* after the caught bad_alloc */
	};

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "the workload catches std::bad_alloc: %s", r.err);
	pid = main_pid_of(&r);
	cr_assert_eq(unmatched_frees(&r, pid), 0);
	for (size_t i = 0; i < r.n; i++) {
		struct ev *e = &r.ev[i];
		uint64_t st[64];

		if (e->vpid != pid)
			continue;
		if (is(e, "mpa:alloc") && (u64(e, "api") == 10 || u64(e, "api") == 11)) {
			cr_assert_geq(stack(e, st, 64), 1);
			if (strcmp(symbolize(&r, pid, st[0], fn, sizeof fn), "_Z10mpa_wl_cxxv") != 0 &&
					strcmp(fn, "mpa_wl_cxx") != 0)
				continue;
			cr_assert_lt(k, 3);
			cr_assert_eq(ptr, 0);
			cr_assert_eq(u64(e, "api"), want[k].api);
			cr_assert_eq(u64(e, "size"), want[k].size);
			ptr = u64(e, "ptr");
			k++;
		} else if (is(e, "mpa:free") && ptr && u64(e, "ptr") == ptr) {
			cr_assert_eq(u64(e, "api"), want[k - 1].api == 10 ? 13 : 14);
			ptr = 0;
		}
	}
	cr_assert_eq(k, 3);
	cr_assert_eq(ptr, 0);
	rec_free(&r);
}

/* ---- real programs ---------------------------------------------------------------------- */

Test(tracepoints, python3, .timeout = 900)
{
	struct rec r;
	char *argv[] = { "/usr/bin/python3", "-c", "print(sum(range(10)))", NULL };
	int pid, allocs = 0;

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "45\n");
	pid = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++)
		allocs += r.ev[i].vpid == pid && is(&r.ev[i], "mpa:alloc");
	cr_assert_gt(allocs, 1000);
	cr_assert_eq(unmatched_frees(&r, pid), 0, "early allocations cover the start");
	rec_free(&r);
}

/* Preloaded without any session: programs run normally (and the hooks
 * record nothing, which other tests' sessions could not tell apart, so
 * only the programs' behaviour is checked here). */
Test(tracepoints, preload_without_session, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-tp-nosess-XXXXXX", out[64], err[64], pre[PATH_MAX + 16];
	char *env[] = { pre, NULL };
	char *py[] = { "/usr/bin/python3", "-c", "print(sum(range(10)))", NULL };
	char *cxx[] = { wl("wl-cxx"), NULL };
	char *thr[] = { wl("wl-threads"), NULL };
	char *fe[] = { wl("wl-forkexec"), NULL };
	char *basic[] = { wl("wl-basic"), NULL };
	char *txt;

	int lock;

	/* hold mpa-record's host lock: no mpa-record session (of a parallel
	 * test) may record these programs */
	lock = open("/tmp/.mpa-record.lock", O_RDONLY | O_CREAT, 0644);
	cr_assert(lock >= 0);
	while (flock(lock, LOCK_EX) != 0)
		cr_assert(errno == EINTR);
	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s/lib/libmpa-preload.so", build_dir());
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(err, sizeof err, "%s/err", tmp);
	cr_assert_eq(run(py, env, out, err), 0);
	txt = slurp(out);
	cr_assert_str_eq(txt, "45\n");
	free(txt);
	cr_assert_eq(run(cxx, env, out, err), 0);
	cr_assert_eq(run(thr, env, out, err), 0);
	cr_assert_eq(run(fe, env, out, err), 0);
	cr_assert_eq(run(basic, env, out, err), 3);
	txt = slurp(err);
	cr_assert_str_eq(txt, "", "nothing printed by the hooks");
	free(txt);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	close(lock);
}

/* ---- mpa-record itself ------------------------------------------------------------------ */

/* A program killed by a signal: 128 + signal, and the session is gone. */
Test(tracepoints, record_signal_status_and_cleanup, .timeout = 900)
{
	struct rec r;
	char *argv[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	char out[128], err[128], *txt;
	char *list[] = { "lttng", "list", NULL };

	record(&r, NULL, NULL, argv);
	cr_assert_eq(r.status, 128 + SIGTERM, "%d %s", r.status, r.err);
	snprintf(out, sizeof out, "%s/list.out", r.tmp);
	snprintf(err, sizeof err, "%s/list.err", r.tmp);
	run(list, NULL, out, err);
	txt = slurp(out);
	cr_assert(strstr(txt, r.trace) == NULL, "session not destroyed:\n%s", txt);
	free(txt);
	rec_free(&r);
}

/* Sum of babeltrace2's "discarded N events" warnings. */
static uint64_t bt_discarded(const struct rec *r)
{
	char path[128];
	char *txt, *s;
	uint64_t sum = 0;

	snprintf(path, sizeof path, "%s/bt.err", r->tmp);
	txt = slurp(path);
	for (s = txt; (s = strstr(s, "discarded ")) != NULL; s += 10)
		sum += strtoull(s + 10, NULL, 10);
	free(txt);
	return sum;
}

/* A tiny channel loses events: mpa-record must report exactly what the
 * trace says.  --lossless (blocking) on a small channel loses nothing even
 * under 2 x 10^5 malloc+free pairs (one writer thread: with several threads
 * per CPU, a writer preempted inside a tiny sub-buffer can still make others
 * drop, see doc/recording.md; 64 KiB sub-buffers also leave room for the
 * statedump bursts of unrelated LTTng-UST applications starting meanwhile,
 * which never block). */
Test(tracepoints, lost_events_reported_and_lossless, .timeout = 900)
{
	struct rec r;
	char bench[PATH_MAX];
	char *bargv[] = { bench, "100000", NULL };
	char *tiny[] = { "--subbuf-size", "4096", "--num-subbuf", "2", NULL };
	char *lossless[] = { "--subbuf-size", "64K", "--num-subbuf", "4", "--lossless",
		"--stack-depth", "0", NULL };
	const char *s;
	uint64_t said, bt;
	int pid, frees = 0;

	/* a tight loop of 20000 pairs: far more than 2 x 4 KiB can hold, however
	 * slowly a loaded machine runs the program */
	snprintf(bench, sizeof bench, "%s/bench/preload_bench", build_dir());
	bargv[1] = "20000";
	record(&r, tiny, NULL, bargv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	bt = bt_discarded(&r);
	cr_assert_gt(bt, 0, "a 2 x 4 KiB channel should lose events");
	s = strstr(r.err, "discarded ");
	cr_assert(s != NULL, "mpa-record must report the loss: %s", r.err);
	said = strtoull(s + 10, NULL, 10);
	cr_assert_eq(said, bt, "mpa-record said %" PRIu64 ", the trace says %" PRIu64, said, bt);
	rec_free(&r);

	bargv[1] = "100000";
	record(&r, lossless, NULL, bargv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* No zero-discard assertion on the channel: other LTTng-UST programs
	 * started by parallel tests emit their statedump into every session
	 * enabling lttng_ust_statedump:*, without blocking, and may overflow it.
	 * What --lossless promises is checked below: every event of the
	 * program itself is there. */
	pid = main_pid_of(&r);
	for (size_t i = 0; i < r.n; i++)
		frees += r.ev[i].vpid == pid && is(&r.ev[i], "mpa:free");
	/* the measured loop and its 1 % warm-up, every pair recorded */
	cr_assert_geq(frees, 101000);
	rec_free(&r);
}

/* ---- perf and conversion ------------------------------------------------------------ */

static int exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_size > 0);
}

/* --kernel and --cache: perf runs alongside, the choice of cache event is
 * stated, perf.data and its CTF form are kept in the trace folder. */
Test(tracepoints, kernel_and_cache_with_perf, .timeout = 900)
{
	struct rec r;
	char *argv[] = { wl("wl-basic"), NULL };
	char *opts[] = { "--kernel", "--cache", NULL };

	record(&r, opts, NULL, argv);
	cr_assert_eq(r.status, 3, "%s", r.err);
	cr_assert(strstr(r.err, "cache:") != NULL, "the PMU choice is stated: %s", r.err);
	cr_assert(strstr(r.err, "mem-loads") || strstr(r.err, "cache-misses") ||
		strstr(r.err, "page-faults"), "%s", r.err);
	cr_assert(exists(r.trace, "perf-kmem.data"), "%s", r.err);
	cr_assert(exists(r.trace, "kernel-ctf/metadata"), "%s", r.err);
	cr_assert(exists(r.trace, "perf-cache.data"), "%s", r.err);
	cr_assert(exists(r.trace, "cache-ctf/metadata"), "%s", r.err);
	cr_assert_gt(r.n, 1000, "the LTTng trace is still there");
	rec_free(&r);
}

/* -o: with mpa-convert next to mpa-record, a capture is written and the
 * temporary trace removed. */
Test(tracepoints, record_converts_to_mpt, .timeout = 900)
{
	char conv[PATH_MAX], tmp[] = "/tmp/mpa-tp-conv-XXXXXX", out[PATH_MAX + 16];
	char so[PATH_MAX + 16], se[PATH_MAX + 16], bin[PATH_MAX];
	char *err;
	struct stat st;
	int status;

	snprintf(conv, sizeof conv, "%s/bin/mpa-convert", build_dir());
	if (access(conv, X_OK) != 0)
		cr_skip_test("mpa-convert is not built");
	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(out, sizeof out, "%s/out.mpt", tmp);
	snprintf(so, sizeof so, "%s/stdout", tmp);
	snprintf(se, sizeof se, "%s/stderr", tmp);
	snprintf(bin, sizeof bin, "%s/bin/mpa-record", build_dir());
	{
		char *args[] = { bin, "-o", out, "--", wl("wl-basic"), NULL };
		char *env[] = { "TMPDIR=", NULL };

		env[0] = malloc(strlen(tmp) + 8);
		sprintf(env[0], "TMPDIR=%s", tmp);
		status = run(args, env, so, se);
		free(env[0]);
	}
	err = slurp(se);
	cr_assert_eq(status, 3, "%s", err);
	cr_assert(stat(out, &st) == 0 && st.st_size > 0, "no capture: %s", err);
	cr_assert(strstr(err, "wrote") != NULL, "%s", err);
	free(err);
	{
		/* only out.mpt, stdout and stderr remain: the trace is gone */
		int n = 0;
		DIR *d = opendir(tmp);
		struct dirent *de;

		cr_assert(d != NULL);
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		cr_assert_eq(n, 3, "the temporary trace must be removed");
	}
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* SIGINT to mpa-record reaches PROG; mpa-record still stops and destroys
 * the session, and exits with PROG's status (130). */
Test(tracepoints, record_forwards_sigint, .timeout = 900)
{
	char tmp[] = "/tmp/mpa-tp-int-XXXXXX", trace[64], bin[PATH_MAX], out[96];
	char *list[] = { "lttng", "list", NULL };
	char *txt;
	pid_t pid;
	int st;
	time_t t0 = time(NULL);

	cr_assert(mkdtemp(tmp) != NULL);
	snprintf(trace, sizeof trace, "%s/trace", tmp);
	snprintf(bin, sizeof bin, "%s/bin/mpa-record", build_dir());
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 1);
		dup2(nul, 2);
		execl(bin, bin, "-q", "--keep-trace", trace, "--", "/bin/sleep", "600",
			(char *)NULL);
		_exit(127);
	}
	/* wait until the program runs under the session (its trace appears) */
	for (int i = 0; i < 200; i++) {
		char ust[96];
		struct stat sb;

		snprintf(ust, sizeof ust, "%s/ust", trace);
		if (stat(ust, &sb) == 0)
			break;
		usleep(100 * 1000);
	}
	usleep(500 * 1000);
	kill(pid, SIGINT);
	while (waitpid(pid, &st, 0) < 0)
		cr_assert(errno == EINTR);
	cr_assert(WIFEXITED(st), "mpa-record must exit, not die");
	cr_assert_eq(WEXITSTATUS(st), 128 + SIGINT);
	/* PROG sleeps 600 s unless it got the signal; the bound leaves a
	 * loaded host minutes for the recording's own start and end */
	cr_assert_lt(time(NULL) - t0, 400, "PROG got the signal");
	snprintf(out, sizeof out, "%s/list.out", tmp);
	{
		char err[96];

		snprintf(err, sizeof err, "%s/list.err", tmp);
		run(list, NULL, out, err);
	}
	txt = slurp(out);
	cr_assert(strstr(txt, trace) == NULL, "session not destroyed:\n%s", txt);
	free(txt);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
