/* Helpers for the analyzer tests: build captures with the libmpt writer,
 * run the framework through the library or the mpa-analyze binary, read
 * the outputs back. */
#ifndef MPA_ANALYZE_TEST_UTIL_H
#define MPA_ANALYZE_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "mpa/analyzer.h"
#include "mpa/mpt.h"
#include "../../analyzers/framework.h"

struct au_cap {
	char dir[256];
	char path[300];
	mpt_writer *w;
};

static inline void au_mkdtemp(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/mpa-analyze-test-XXXXXX");
	cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static inline void au_open(struct au_cap *c)
{
	memset(c, 0, sizeof *c);
	au_mkdtemp(c->dir, sizeof c->dir);
	snprintf(c->path, sizeof c->path, "%s/cap.mpt", c->dir);
	struct mpt_error e = {0};
	struct mpt_writer_opts o = {0};
	o.chunk_rows = 7; /* many chunks: batches cross event groups */
	cr_assert_eq(mpt_writer_open(c->path, &o, &c->w, &e), MPT_OK, "%s", e.msg);
}

static inline uint32_t au_str(struct au_cap *c, const char *s)
{
	uint32_t id;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_string(c->w, s, strlen(s), &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

static uint64_t au_next_ip = 0x401000;

/* A frame "func" in binary bin at file:line (file may be NULL). */
static inline uint32_t au_frame(struct au_cap *c, const char *func, const char *bin,
				const char *file, uint32_t line)
{
	struct mpt_frame f = {0};
	f.ip = au_next_ip += 0x10;
	f.bin_off = f.ip - 0x400000;
	f.func = au_str(c, func ? func : "");
	f.bin = au_str(c, bin ? bin : "");
	f.file = au_str(c, file ? file : "");
	f.line = line;
	uint32_t id;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_frame(c->w, &f, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

/* A stack of n frame ids, innermost first. */
static inline uint32_t au_stack(struct au_cap *c, uint32_t n, ...)
{
	uint32_t fr[32];
	va_list ap;
	va_start(ap, n);
	for (uint32_t i = 0; i < n && i < 32; i++)
		fr[i] = va_arg(ap, uint32_t);
	va_end(ap);
	uint32_t id;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_stack(c->w, fr, n, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

/* A user-code stack: malloc (in the preload) <- func (prog.c:line) <- main. */
static inline uint32_t au_site(struct au_cap *c, const char *func, uint32_t line)
{
	uint32_t m = au_frame(c, "malloc", "/usr/lib/libmpa-preload.so", NULL, 0);
	uint32_t f = au_frame(c, func, "/usr/bin/prog", "prog.c", line);
	uint32_t mn = au_frame(c, "main", "/usr/bin/prog", "prog.c", 1);
	return au_stack(c, 3, m, f, mn);
}

static inline void au_ev(struct au_cap *c, const struct mpa_event *ev)
{
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_append(c->w, ev, &e), MPT_OK, "%s", e.msg);
}

#define AU_SEC UINT64_C(1000000000)

static inline void au_alloc(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t ptr,
			    uint64_t size, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_ALLOC;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = ptr;
	e.size = size;
	e.api = MPA_API_MALLOC;
	e.stack_id = stack;
	au_ev(c, &e);
}

static inline void au_free(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t ptr)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_FREE;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = ptr;
	e.api = MPA_API_FREE;
	au_ev(c, &e);
}

static inline void au_realloc(struct au_cap *c, uint64_t ts, int32_t pid, uint64_t old,
			      uint64_t np, uint64_t size, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_REALLOC;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = old;
	e.new_ptr = np;
	e.size = size;
	e.api = MPA_API_REALLOC;
	e.stack_id = stack;
	au_ev(c, &e);
}

static inline void au_exit(struct au_cap *c, uint64_t ts, int32_t pid)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_PROC_EXIT;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	au_ev(c, &e);
}

static inline void au_exec(struct au_cap *c, uint64_t ts, int32_t pid, const char *path)
{
	struct mpa_event e = {0};
	e.kind = MPA_KIND_PROC_EXEC;
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.str_id = au_str(c, path);
	au_ev(c, &e);
}

static inline void au_meta(struct au_cap *c, const char *k, const char *v)
{
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_meta(c->w, k, v, &e), MPT_OK, "%s", e.msg);
}

static inline void au_close(struct au_cap *c)
{
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_close(c->w, &e), MPT_OK, "%s", e.msg);
	c->w = NULL;
}

static inline void au_rmrf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *sub;
			if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
				continue;
			au_rmrf(sub);
			free(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* ---- running ------------------------------------------------------------------ */

/* Runs the framework through the library with the given analyzers (names,
 * NULL-terminated list in a string "leak,timeline") and config text. */
static inline int au_lib_run(const char *capture, const char *outdir, const char *names,
			     const char *config_text, json_t **summary, char *err, size_t errlen)
{
	mpa_config *cfg = mpa_config_create(err, errlen);
	cr_assert(cfg, "%s", err);
	if (config_text &&
	    mpa_config_load_text(cfg, config_text, strlen(config_text), "test.toml", err, errlen) < 0) {
		mpa_config_free(cfg);
		return -1;
	}
	const struct mpa_analyzer *sel[64];
	size_t n = 0;
	for (size_t i = 0; mpa_analyzers[i]; i++) {
		cr_assert_lt(n, 64);
		const char *nm = mpa_analyzers[i]->name;
		const char *p = strstr(names, nm);
		size_t l = strlen(nm);
		if (p && (p == names || p[-1] == ',') && (p[l] == 0 || p[l] == ','))
			sel[n++] = mpa_analyzers[i];
	}
	struct mpa_run_opts o = {0};
	o.capture = capture;
	o.outdir = outdir;
	o.formats = MPA_FMT_CSV | MPA_FMT_JSON | MPA_FMT_SVG;
	o.config = cfg;
	o.analyzers = sel;
	o.nanalyzers = n;
	struct mpa_run_result res;
	int rc = mpa_run(&o, &res, err, errlen);
	if (!rc && summary)
		*summary = json_incref(res.summary);
	if (!rc)
		mpa_run_result_release(&res);
	mpa_config_free(cfg);
	return rc;
}

static inline char *au_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

struct au_proc {
	int status;      /* exit code, or 128+signal */
	char out[65536];
	char err[65536];
};

/* Runs build/bin/mpa-analyze with args (NULL-terminated) in directory cwd
 * (NULL = current); extra environment "K=V" strings may be given in env
 * (NULL-terminated, may be NULL). */
static inline void au_cli(struct au_proc *p, const char *cwd, const char *const *env,
			  const char *const *args)
{
	const char *build = getenv("MPA_BUILD");
	cr_assert(build, "MPA_BUILD not set");
	char bin[1024], outf[300], errf[300], tmp[256];
	snprintf(bin, sizeof bin, "%s/bin/mpa-analyze", build);
	au_mkdtemp(tmp, sizeof tmp);
	snprintf(outf, sizeof outf, "%s/out", tmp);
	snprintf(errf, sizeof errf, "%s/err", tmp);
	const char *argv[64];
	size_t n = 0;
	argv[n++] = "mpa-analyze";
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0)
			_exit(125);
		dup2(fo, 1);
		dup2(fe, 2);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	char *o = au_slurp(outf, NULL), *e = au_slurp(errf, NULL);
	snprintf(p->out, sizeof p->out, "%s", o ? o : "");
	snprintf(p->err, sizeof p->err, "%s", e ? e : "");
	free(o);
	free(e);
	au_rmrf(tmp);
}

static inline json_t *au_json(const char *dir, const char *file)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert(j, "cannot load %s: %s", path, je.text);
	return j;
}

/* summary.analyzers.<a>.<k1>.<k2> as an integer (k2 may be NULL). */
static inline long long au_get(json_t *summary, const char *a, const char *k1, const char *k2)
{
	json_t *o = json_object_get(json_object_get(json_object_get(summary, "analyzers"), a), k1);
	if (k2)
		o = json_object_get(o, k2);
	cr_assert(json_is_integer(o), "no integer at %s.%s.%s", a, k1, k2 ? k2 : "");
	return (long long)json_integer_value(o);
}

static inline int au_exists(const char *dir, const char *file)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

#endif
