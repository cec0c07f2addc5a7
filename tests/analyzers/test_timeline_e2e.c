/* The timeline analyzer end to end: a capture written with the libmpt
 * writer (stacks with symbols, exec, exit, kernel rows), analyzed by
 * mpa_run() and by the mpa-analyze binary; checks the CSV and JSON outputs
 * and that two runs give byte-identical files. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../analyzers/framework.h"
#include "../../analyzers/timeline/timeline.h"

#define BASE UINT64_C(1000000000000) /* capture clock origin, ns */
#define SEC UINT64_C(1000000000)

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/mpa-tl-XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	return d;
}

static void rmtree(char *d)
{
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static uint32_t str(mpt_writer *w, const char *s)
{
	uint32_t id;
	struct mpt_error e;
	cr_assert_eq(mpt_writer_string(w, s, strlen(s), &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

static uint32_t frame_in(mpt_writer *w, const char *bin, uint64_t ip, const char *func,
			 const char *file, uint32_t line)
{
	struct mpt_frame f = {ip, ip - 0x400000, str(w, bin), str(w, func), str(w, file), line};
	uint32_t id;
	struct mpt_error e;
	cr_assert_eq(mpt_writer_frame(w, &f, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

static uint32_t frame(mpt_writer *w, uint64_t ip, const char *func, const char *file,
		      uint32_t line)
{
	return frame_in(w, "/usr/bin/demo", ip, func, file, line);
}

static uint32_t stack(mpt_writer *w, const uint32_t *fr, uint32_t n)
{
	uint32_t id;
	struct mpt_error e;
	cr_assert_eq(mpt_writer_stack(w, fr, n, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

static void ev(mpt_writer *w, uint8_t kind, uint64_t ts, int32_t pid, uint64_t ptr,
	       uint64_t size, uint32_t stk)
{
	struct mpa_event e;
	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.ts = BASE + ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = ptr;
	e.size = size;
	e.stack_id = stk;
	if (kind == MPA_KIND_ALLOC)
		e.api = MPA_API_MALLOC;
	if (kind == MPA_KIND_FREE)
		e.api = MPA_API_FREE;
	if (kind == MPA_KIND_KALLOC || kind == MPA_KIND_KFREE) {
		e.domain = MPA_DOMAIN_KERNEL;
		e.api = MPA_API_KMALLOC;
		e.usable = size;
		e.node = -1;
	}
	struct mpt_error er;
	cr_assert_eq(mpt_writer_append(w, &e, &er), MPT_OK, "%s", er.msg);
}

/* The scenario (times in s from BASE, pid 100):
 *  0    alloc 100 @make_buffer (stack A: malloc <- make_buffer)
 *  1    alloc 300 @parse
 *  2    alloc  50 @make_buffer (stack C: make_buffer directly)  -> peak 450
 *  3    free the 300
 *  4    alloc 8 @parse, 4.001 free it (temporary)
 *  5    kalloc 4096
 *  6    exec /bin/next: 150 bytes released
 *  7    alloc 10 @parse (new image)
 *  10-  exit (last row, 1 ns before 10 s)                                 */
static void write_capture(const char *path, uint32_t chunk_rows)
{
	mpt_writer *w;
	struct mpt_error e;
	struct mpt_writer_opts o = { .chunk_rows = chunk_rows };
	cr_assert_eq(mpt_writer_open(path, &o, &w, &e), MPT_OK, "%s", e.msg);
	uint32_t fm = frame(w, 0x401000, "malloc", "malloc.c", 3000);
	uint32_t fb = frame(w, 0x402000, "make_buffer", "demo.c", 10);
	uint32_t fp = frame(w, 0x403000, "parse", "demo.c", 20);
	uint32_t fmain = frame(w, 0x404000, "main", "demo.c", 30);
	uint32_t a[] = {fm, fb, fmain}, c[] = {fb, fmain}, b[] = {fp, fmain}, k[] = {fmain};
	uint32_t sa = stack(w, a, 3), sb = stack(w, b, 2), sc = stack(w, c, 2), sk = stack(w, k, 1);
	ev(w, MPA_KIND_ALLOC, 0, 100, 0x1000, 100, sa);
	ev(w, MPA_KIND_ALLOC, 1 * SEC, 100, 0x2000, 300, sb);
	ev(w, MPA_KIND_ALLOC, 2 * SEC, 100, 0x3000, 50, sc);
	ev(w, MPA_KIND_FREE, 3 * SEC, 100, 0x2000, 0, sb);
	ev(w, MPA_KIND_ALLOC, 4 * SEC, 100, 0x4000, 8, sb);
	ev(w, MPA_KIND_FREE, 4 * SEC + 1000000, 100, 0x4000, 0, sb);
	ev(w, MPA_KIND_KALLOC, 5 * SEC, 0, 0xffff800000001000, 4096, sk);
	struct mpa_event x;
	memset(&x, 0, sizeof x);
	x.kind = MPA_KIND_PROC_EXEC;
	x.ts = BASE + 6 * SEC;
	x.pid = x.tid = 100;
	x.str_id = str(w, "/bin/next");
	cr_assert_eq(mpt_writer_append(w, &x, &e), MPT_OK, "%s", e.msg);
	ev(w, MPA_KIND_ALLOC, 7 * SEC, 100, 0x1000, 10, sb);
	memset(&x, 0, sizeof x);
	x.kind = MPA_KIND_PROC_EXIT;
	x.ts = BASE + 10 * SEC - 1;
	x.pid = x.tid = 100;
	cr_assert_eq(mpt_writer_append(w, &x, &e), MPT_OK, "%s", e.msg);
	cr_assert_eq(mpt_writer_close(w, &e), MPT_OK, "%s", e.msg);
}

static mpa_config *config(const char *points, const char *pressure)
{
	char err[512];
	mpa_config *c = mpa_config_create(err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(mpa_config_set(c, "visualization", "timeline_points", points, "test", err,
				    sizeof err), 0, "%s", err);
	cr_assert_eq(mpa_config_set(c, "alerts", "memory_pressure_threshold", pressure, "test", err,
				    sizeof err), 0, "%s", err);
	return c;
}

static void analyze(const char *cap, const char *out, const mpa_config *c, unsigned formats)
{
	const struct mpa_analyzer *sel[] = {&mpa_analyzer_timeline};
	struct mpa_run_opts o;
	memset(&o, 0, sizeof o);
	o.capture = cap;
	o.outdir = out;
	o.formats = formats;
	o.config = c;
	o.analyzers = sel;
	o.nanalyzers = 1;
	struct mpa_run_result r;
	memset(&r, 0, sizeof r);
	char err[1024] = "";
	cr_assert_eq(mpa_run(&o, &r, err, sizeof err), 0, "%s", err);
	mpa_run_result_release(&r);
}

/* Reads a CSV file into lines (no quoting in the rows we check). */
static char **read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char **lines = NULL;
	*n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[len - 1] = 0;
		lines = realloc(lines, (*n + 1) * sizeof *lines);
		lines[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return lines;
}

static void free_lines(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* Field i (0-based) of a simple CSV line, as a new string. */
static char *field(const char *line, unsigned i)
{
	const char *p = line;
	for (unsigned k = 0; k < i; k++) {
		p = strchr(p, ',');
		cr_assert_not_null(p, "line '%s' has no field %u", line, i);
		p++;
	}
	size_t len = strcspn(p, ",");
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"')
		return strndup(p + 1, len - 2);
	return strndup(p, len);
}

/* Line with fields unquoted, joined by commas (no field we check has a
 * comma or a quote inside). */
static char *plain(const char *line)
{
	char *out = malloc(strlen(line) + 1), *o = out;
	for (const char *p = line; *p; p++)
		if (*p != '"')
			*o++ = *p;
	*o = 0;
	return out;
}

static void expect_line(const char *line, const char *exp, unsigned nfields)
{
	char *pl = plain(line);
	/* compare the first nfields fields exactly */
	const char *a = pl, *b = exp;
	for (unsigned i = 0; i < nfields; i++) {
		size_t la = strcspn(a, ","), lb = strcspn(b, ",");
		cr_assert(la == lb && !strncmp(a, b, la), "field %u of '%s' is not as in '%s'", i,
			  pl, exp);
		a += la + (a[la] == ',');
		b += lb + (b[lb] == ',');
	}
	free(pl);
}

static unsigned col(const char *header, const char *name)
{
	for (unsigned i = 0;; i++) {
		char *f = field(header, i);
		int eq = !strcmp(f, name);
		free(f);
		if (eq)
			return i;
	}
}

static double num(const char *line, unsigned i)
{
	char *f = field(line, i);
	double v = strtod(f, NULL);
	free(f);
	return v;
}

static json_t *load_json(const char *dir, const char *name)
{
	char path[2048];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	return j;
}

static json_int_t jget_int(json_t *o, const char *path)
{
	json_t *v = o;
	char *p = strdup(path), *save = NULL;
	for (char *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		v = json_object_get(v, k);
		cr_assert_not_null(v, "no %s in JSON", path);
	}
	free(p);
	cr_assert(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

Test(timeline_e2e, capture_through_mpa_run)
{
	char *d = tmpdir();
	char cap[1024], out[1024];
	snprintf(cap, sizeof cap, "%s/cap.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	write_capture(cap, 3); /* several chunks */
	mpa_config *c = config("10", "400");
	analyze(cap, out, c, MPA_FMT_CSV | MPA_FMT_JSON | MPA_FMT_SVG);

	char path[2048];
	size_t n;
	snprintf(path, sizeof path, "%s/timeline_timeline.csv", out);
	char **l = read_lines(path, &n);
	cr_assert_eq(n, 11, "timeline rows: %zu", n);
	unsigned cmax = col(l[0], "live_bytes_max"), cend = col(l[0], "live_bytes_end"),
		 cal = col(l[0], "allocs"), crate = col(l[0], "allocs_per_s"),
		 ckmax = col(l[0], "kernel_live_bytes_max"), cts = col(l[0], "t_start_ns");
	static const double max[10] = {100, 400, 450, 450, 158, 150, 150, 10, 10, 10};
	static const double end[10] = {100, 400, 450, 150, 150, 150, 0, 10, 10, 0};
	static const double allocs[10] = {1, 1, 1, 0, 1, 0, 0, 1, 0, 0};
	for (unsigned i = 0; i < 10; i++) {
		cr_expect_eq(num(l[i + 1], cmax), max[i], "bucket %u max", i);
		cr_expect_eq(num(l[i + 1], cend), end[i], "bucket %u end", i);
		cr_expect_eq(num(l[i + 1], cal), allocs[i], "bucket %u allocs", i);
		cr_expect_eq(num(l[i + 1], crate), allocs[i], "bucket %u rate (1 s buckets)", i);
		cr_expect_eq(num(l[i + 1], cts), (double)(i * SEC), "bucket %u start", i);
		cr_expect_eq(num(l[i + 1], ckmax), i >= 5 ? 4096 : 0, "bucket %u kernel", i);
	}
	free_lines(l, n);

	snprintf(path, sizeof path, "%s/timeline_peak_sites.csv", out);
	l = read_lines(path, &n);
	cr_assert_eq(n, 4, "peak_sites rows: %zu", n);
	expect_line(l[1], "user,1,parse (demo.c:20),300,1", 5);
	cr_assert(fabs(num(l[1], 5) - 2.0 / 3.0) < 1e-5);
	expect_line(l[2], "user,2,make_buffer (demo.c:10),150,2", 5);
	expect_line(l[3], "kernel,1,main (demo.c:30),4096,1,1", 6);
	free_lines(l, n);

	snprintf(path, sizeof path, "%s/timeline_processes.csv", out);
	l = read_lines(path, &n);
	cr_assert_eq(n, 3);
	char exp[256];
	snprintf(exp, sizeof exp, "100,0,,%llu,%llu,exec,4,2,458,308,450,3,%llu,0,0,150,0,1",
		 (unsigned long long)0, (unsigned long long)(0 + 6 * SEC),
		 (unsigned long long)(0 + 2 * SEC));
	expect_line(l[1], exp, 18);
	snprintf(exp, sizeof exp, "100,1,/bin/next,%llu,%llu,exit,1,0,10,0,10,1,%llu,0,0,10,0,0",
		 (unsigned long long)(0 + 6 * SEC), (unsigned long long)(0 + 10 * SEC - 1),
		 (unsigned long long)(0 + 7 * SEC));
	expect_line(l[2], exp, 18);
	free_lines(l, n);

	snprintf(path, sizeof path, "%s/timeline_pressure.csv", out);
	l = read_lines(path, &n);
	cr_assert_eq(n, 2);
	snprintf(exp, sizeof exp, "0,%llu,%llu,1,450,no", (unsigned long long)(0 + 2 * SEC),
		 (unsigned long long)(0 + 3 * SEC));
	expect_line(l[1], exp, 6);
	free_lines(l, n);

	snprintf(path, sizeof path, "%s/timeline_temporary.csv", out);
	l = read_lines(path, &n);
	cr_assert_eq(n, 2);
	expect_line(l[1], "1,user,parse (demo.c:20),3,1", 5);
	free_lines(l, n);

	json_t *j = load_json(out, "timeline.json");
	cr_assert_eq(jget_int(j, "peak.bytes"), 450);
	cr_assert_eq(jget_int(j, "peak.ts_ns"), (json_int_t)(2 * SEC));
	cr_assert_eq(jget_int(j, "kernel.peak_bytes"), 4096);
	cr_assert_eq(jget_int(j, "user.temporary"), 1);
	cr_assert_eq(jget_int(j, "user.released_bytes"), 160); /* 150 at exec, 10 at exit */
	cr_assert_eq(jget_int(j, "settings.bucket_ns"), (json_int_t)SEC);
	cr_assert_eq(jget_int(j, "counts.process_images"), 2);
	json_t *sites = json_object_get(json_object_get(j, "peak"), "sites");
	cr_assert_eq(json_array_size(sites), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sites, 0), "site")),
			 "parse (demo.c:20)");
	json_decref(j);

	j = load_json(out, "summary.json");
	cr_assert_eq(jget_int(j, "analyzers.timeline.peak_bytes"), 450);
	json_t *alerts = json_object_get(j, "alerts");
	cr_assert_eq(json_array_size(alerts), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(alerts, 0), "name")),
			 "memory_pressure");
	json_decref(j);
	mpa_config_free(c);
	rmtree(d);
}

/* Runs mpa-analyze in dir (so no .mpa.toml of the caller applies). */
static int run_cli(const char *dir, const char *cap, const char *out)
{
	const char *b = getenv("MPA_BUILD");
	cr_assert_not_null(b, "MPA_BUILD is not set");
	char bin[4096];
	snprintf(bin, sizeof bin, "%s/bin/mpa-analyze", b);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, cap, "--timeline", "-o", out, (char *)NULL);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + *len, 1, cap - *len, f);
		*len += r;
		if (!r)
			break;
	}
	fclose(f);
	return buf;
}

Test(timeline_e2e, cli_outputs_are_deterministic)
{
	char *d = tmpdir();
	char cap[1024], o1[1024], o2[1024];
	snprintf(cap, sizeof cap, "%s/cap.mpt", d);
	snprintf(o1, sizeof o1, "%s/o1", d);
	snprintf(o2, sizeof o2, "%s/o2", d);
	write_capture(cap, 0);
	cr_assert_eq(run_cli(d, cap, o1), 0);
	cr_assert_eq(run_cli(d, cap, o2), 0);
	static const char *const files[] = {
		"timeline.json", "timeline_timeline.csv", "timeline_sizes.csv",
		"timeline_top_sizes.csv", "timeline_hotspots.csv", "timeline_temporary.csv",
		"timeline_phases.csv", "timeline_recommendations.csv", "timeline_peak_sites.csv",
		"timeline_processes.csv", "timeline_process_timeline.csv", "timeline_pressure.csv"};
	for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
		char p1[2048], p2[2048];
		snprintf(p1, sizeof p1, "%s/%s", o1, files[i]);
		snprintf(p2, sizeof p2, "%s/%s", o2, files[i]);
		size_t n1, n2;
		char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
		cr_assert_eq(n1, n2, "%s differs in size", files[i]);
		cr_assert_eq(memcmp(a, b, n1), 0, "%s differs", files[i]);
		free(a);
		free(b);
	}
	/* default 1000 points over 10 s: 10 ms buckets */
	json_t *j = load_json(o1, "timeline.json");
	cr_assert_eq(jget_int(j, "settings.bucket_ns"), 10000000);
	cr_assert_eq(jget_int(j, "settings.buckets"), 1000);
	cr_assert_eq(jget_int(j, "peak.bytes"), 450);
	json_decref(j);
	rmtree(d);
}

/* One row with flags (e.g. MPA_FLAG_EARLY). */
static void ev_flags(mpt_writer *w, uint8_t kind, uint64_t ts, int32_t pid, uint64_t ptr,
		     uint64_t size, uint32_t stk, uint16_t flags)
{
	struct mpa_event e;
	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.ts = BASE + ts;
	e.pid = pid;
	e.tid = pid;
	e.ptr = ptr;
	e.size = size;
	e.stack_id = stk;
	e.flags = flags;
	e.api = MPA_API_MALLOC;
	struct mpt_error er;
	cr_assert_eq(mpt_writer_append(w, &e, &er), MPT_OK, "%s", er.msg);
}

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

/* The tracer's blocks are told by stack (doc/analyzers-timeline.md), early
 * rows included: the runtime and the pass-through wrappers are skipped, the
 * first other frame decides, libnuma alone (its constructor) is the
 * tracer's, and an early row with one frame is the start-up.  With
 * exclude_tracer = false everything counts. */
static void write_tracer_capture(const char *cap)
{
	mpt_writer *w;
	struct mpt_error e;
	cr_assert_eq(mpt_writer_open(cap, NULL, &w, &e), MPT_OK, "%s", e.msg);
	const uint16_t early = MPA_FLAG_EARLY | MPA_FLAG_TS_APPROX;
	uint32_t ld_init = frame_in(w, LIBDIR "ld-linux-x86-64.so.2", 0x7f0000010000, "call_init",
				    "dl-init.c", 74);
	uint32_t ld_dlinit = frame_in(w, LIBDIR "ld-linux-x86-64.so.2", 0x7f0000010100, "_dl_init",
				      "dl-init.c", 121);
	uint32_t ld_new = frame_in(w, LIBDIR "ld-linux-x86-64.so.2", 0x7f0000010200,
				   "_dl_new_object", "dl-object.c", 80);
	uint32_t ld_deps = frame_in(w, LIBDIR "ld-linux-x86-64.so.2", 0x7f0000010300,
				    "_dl_map_object_deps", "rtld-malloc.h", 56);
	uint32_t ld_dtv = frame_in(w, LIBDIR "ld-linux-x86-64.so.2", 0x7f0000010400,
				   "allocate_dtv", "rtld-malloc.h", 44);
	uint32_t c_strdup = frame_in(w, LIBDIR "libc.so.6", 0x7f0000020000, "__strdup", "strdup.c",
				     42);
	uint32_t c_dlopen = frame_in(w, LIBDIR "libc.so.6", 0x7f0000020100, "dlopen@GLIBC_2.2.5",
				     "dlopen.c", 71);
	uint32_t c_pthread = frame_in(w, LIBDIR "libc.so.6", 0x7f0000020200,
				      "pthread_create@GLIBC_2.2.5", "allocatestack.c", 423);
	uint32_t c_start = frame_in(w, LIBDIR "libc.so.6", 0x7f0000020300, "start_thread",
				    "pthread_create.c", 442);
	uint32_t cxx = frame_in(w, LIBDIR "libstdc++.so.6.0.30", 0x7f0000030000, "", "", 0);
	uint32_t numa_bm = frame_in(w, LIBDIR "libnuma.so.1.0.0", 0x7f0000040000,
				    "numa_bitmask_alloc", "", 0);
	uint32_t numa_init = frame_in(w, LIBDIR "libnuma.so.1.0.0", 0x7f0000040100, "", "", 0);
	uint32_t ust = frame_in(w, LIBDIR "liblttng-ust.so.1.0.0", 0x7f0000050000, "", "", 0);
	uint32_t ust_reg = frame_in(w, LIBDIR "liblttng-ust.so.1.0.0", 0x7f0000050100,
				    "lttng_ust_probe_register", "", 0);
	uint32_t ust_dl = frame_in(w, LIBDIR "liblttng-ust-dl.so.1.0.0", 0x7f0000060000, "dlopen",
				   "", 0);
	uint32_t pre_pthread = frame_in(w, "/opt/mpa/lib/libmpa-preload.so", 0x7f0000070000,
					"pthread_create", "preload.c", 1359);
	uint32_t pre_tramp = frame_in(w, "/opt/mpa/lib/libmpa-preload.so", 0x7f0000070100,
				      "thread_tramp", "preload.c", 1340);
	uint32_t pre_ctor = frame_in(w, "/opt/mpa/lib/libmpa-preload.so", 0x7f0000070200,
				     "lttng_ust_constructor_mpa", "ust-tracepoint-event.h", 1218);
	uint32_t lib_ctor = frame_in(w, "/opt/app/libwl-early.so", 0x7f0000080000,
				     "mpa_early_ctor_alloc", "wl_early_lib.c", 21);
	uint32_t unresolved = frame_in(w, "", 0x7f0000090000, "", "", 0);
	uint32_t fmain = frame(w, 0x404000, "main", "demo.c", 30);
	uint32_t fworker = frame(w, 0x405000, "worker", "demo.c", 40);
	struct {
		uint64_t ptr, size;
		uint16_t flags;
		uint32_t n, fr[5];
	} rows[] = {
		/* the program's: 72704 + 4141 + 104 + 1000 + 32 = 77981 */
		{0x1000, 72704, early, 3, {cxx, ld_init, ld_dlinit}},
		{0x3000, 4141, early, 3, {lib_ctor, ld_init, ld_dlinit}},
		{0x7000, 104, 0, 4, {ld_deps, c_dlopen, ust_dl, fmain}},
		{0x9000, 1000, 0, 3, {fworker, pre_tramp, c_start}},
		{0xb000, 32, 0, 2, {numa_bm, fmain}},
		/* the tracer's: 128 + 45 + 336 + 24 + 648 + 48 + 64 = 1293 */
		{0x2000, 128, early, 4, {numa_bm, numa_init, ld_init, ld_dlinit}},
		{0x4000, 45, early, 4, {c_strdup, ust, ust_dl, fmain}},
		{0x5000, 336, early, 4, {ld_dtv, c_pthread, pre_pthread, ust}},
		{0x6000, 24, early, 1, {ld_new}},
		{0x8000, 648, 0, 3, {ust, pre_tramp, c_start}},
		{0xa000, 48, 0, 3, {ust_reg, pre_ctor, ld_init}},
		{0xc000, 64, 0, 2, {unresolved, ust}},
	};
	for (unsigned i = 0; i < sizeof rows / sizeof *rows; i++)
		ev_flags(w, MPA_KIND_ALLOC, i * SEC, 7, rows[i].ptr, rows[i].size,
			 stack(w, rows[i].fr, rows[i].n), rows[i].flags);
	cr_assert_eq(mpt_writer_close(w, &e), MPT_OK, "%s", e.msg);
}

Test(timeline_e2e, tracer_blocks_told_by_stack)
{
	char *d = tmpdir();
	char cap[1024], out[1024], out2[1024];
	snprintf(cap, sizeof cap, "%s/cap.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	snprintf(out2, sizeof out2, "%s/out2", d);
	write_tracer_capture(cap);

	mpa_config *c = config("4", "0");
	analyze(cap, out, c, MPA_FMT_JSON);
	json_t *j = load_json(out, "timeline.json");
	cr_assert_eq(jget_int(j, "user.peak_bytes"), 77981);
	cr_assert_eq(jget_int(j, "user.allocs"), 5);
	cr_assert_eq(jget_int(j, "excluded_tracer.allocs"), 7);
	cr_assert_eq(jget_int(j, "excluded_tracer.bytes"), 1293);
	cr_assert_eq(jget_int(j, "excluded_tracer.startup_allocs"), 1);
	cr_assert_eq(jget_int(j, "excluded_tracer.startup_bytes"), 24);
	json_decref(j);
	mpa_config_free(c);

	char err[512];
	c = config("4", "0");
	cr_assert_eq(mpa_config_set(c, "patterns", "exclude_tracer", "false", "test", err,
				    sizeof err), 0, "%s", err);
	analyze(cap, out2, c, MPA_FMT_JSON);
	j = load_json(out2, "timeline.json");
	cr_assert_eq(jget_int(j, "user.peak_bytes"), 77981 + 1293);
	cr_assert_eq(jget_int(j, "user.allocs"), 12);
	cr_assert_eq(jget_int(j, "excluded_tracer.allocs"), 0);
	json_decref(j);
	mpa_config_free(c);
	rmtree(d);
}

/* Blocks the tracer allocates for itself (liblttng-ust calling strdup in
 * libc) are left out of the live heap, and their frees are not unknown. */
Test(timeline_e2e, tracer_allocations_are_left_out)
{
	char *d = tmpdir();
	char cap[1024], out[1024];
	snprintf(cap, sizeof cap, "%s/cap.mpt", d);
	snprintf(out, sizeof out, "%s/out", d);
	mpt_writer *w;
	struct mpt_error e;
	cr_assert_eq(mpt_writer_open(cap, NULL, &w, &e), MPT_OK, "%s", e.msg);
	uint32_t fm = frame(w, 0x401000, "malloc", "malloc.c", 3000);
	uint32_t fp = frame(w, 0x402000, "parse", "demo.c", 20);
	uint32_t fl = frame_in(w, "/usr/lib/x86_64-linux-gnu/liblttng-ust.so.1.0.0", 0x7f0000001000,
			       "", "", 0);
	uint32_t fmain = frame(w, 0x404000, "main", "demo.c", 30);
	uint32_t fs = frame_in(w, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000002000, "__strdup",
			       "strdup.c", 42);
	uint32_t a[] = {fm, fp, fmain}, t[] = {fs, fl, fmain};
	uint32_t sa = stack(w, a, 3), stt = stack(w, t, 3);
	ev(w, MPA_KIND_ALLOC, 0, 7, 0x1000, 100, sa);
	ev(w, MPA_KIND_ALLOC, SEC, 7, 0x2000, 1000, stt);
	ev(w, MPA_KIND_ALLOC, 2 * SEC, 7, 0x3000, 50, sa);
	ev(w, MPA_KIND_FREE, 3 * SEC, 7, 0x2000, 0, stt);
	ev(w, MPA_KIND_FREE, 4 * SEC, 7, 0x1000, 0, sa);
	cr_assert_eq(mpt_writer_close(w, &e), MPT_OK, "%s", e.msg);
	mpa_config *c = config("4", "0");
	analyze(cap, out, c, MPA_FMT_JSON);
	json_t *j = load_json(out, "timeline.json");
	cr_assert_eq(jget_int(j, "user.peak_bytes"), 150);
	cr_assert_eq(jget_int(j, "user.unknown_frees"), 0);
	cr_assert_eq(jget_int(j, "user.allocs"), 2);
	cr_assert_eq(jget_int(j, "user.frees"), 1);
	cr_assert_eq(jget_int(j, "excluded_tracer.allocs"), 1);
	cr_assert_eq(jget_int(j, "excluded_tracer.bytes"), 1000);
	cr_assert_eq(jget_int(j, "excluded_tracer.frees"), 1);
	json_t *sites = json_object_get(json_object_get(j, "peak"), "sites");
	cr_assert_eq(json_array_size(sites), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sites, 0), "site")),
			 "parse (demo.c:20)");
	json_decref(j);
	mpa_config_free(c);
	rmtree(d);
}
