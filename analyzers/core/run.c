/* mpa analyzers — one run over a capture file: open it, check the output
 * directory first, one pass (core/pass.c) over the selected analyzers,
 * then the outputs (per-analyzer files, summary.json, report.html, plots),
 * written into a fresh directory that replaces the old report at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

#include "../framework.h"
#include "pass.h"
#include "report.h"
#include "sites.h"
#include "source.h"

/* ---- time arguments ---------------------------------------------------------------- */


void mpa_needs(const struct mpa_analyzer *const *a, size_t n, uint64_t *columns, uint32_t *kinds)
{
	mpa_pass_needs(a, n, columns, kinds);
}

/* ---- the run ----------------------------------------------------------------------------- */

/* Events the capture says it lost.  The converter writes every loss as a
 * `lost` record AND adds its count to the metadata total `lost_events`, so
 * the two are the same events, counted once: the sum of the records, or
 * the metadata total when it is larger (a writer that kept no records).
 * Records without a count (discarded packets) and `lost_events_uncounted`
 * make the capture incomplete without adding a number.  bad is set when a
 * metadata value is not a number (the capture is then incomplete too). */
static uint64_t meta_u64(mpt_reader *r, const char *key, int *bad)
{
	const char *m = mpt_reader_meta(r, key);
	if (!m || !*m)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(m, &end, 10);
	if (errno || *end || *m == '-') {
		*bad = 1;
		return 0;
	}
	return v;
}

static int count_lost(mpt_reader *r, uint64_t *lost, int *uncounted, int *bad, char *err,
		      size_t errlen)
{
	*lost = 0;
	*bad = 0;
	uint64_t meta = meta_u64(r, "lost_events", bad);
	*uncounted = meta_u64(r, "lost_events_uncounted", bad) > 0;
	uint32_t nch = mpt_reader_chunk_count(r);
	int any = 0;
	for (uint32_t c = 0; c < nch; c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) == MPT_OK &&
		    (ci.kinds & MPT_KINDBIT(MPA_KIND_LOST)))
			any = 1;
	}
	uint64_t sum = 0;
	if (any) {
		struct mpt_scan sc = {.columns = MPT_COLBIT(MPT_COL_SIZE), .kinds = MPT_KINDBIT(MPA_KIND_LOST)};
		struct mpt_error e = {0};
		if (mpt_reader_scan(r, &sc, &e) != MPT_OK) {
			mpa_errf(err, errlen, "%s", e.msg);
			return -1;
		}
		for (;;) {
			const struct mpt_batch *b;
			enum mpt_status st = mpt_reader_next(r, &b, &e);
			if (st == MPT_END)
				break;
			if (st != MPT_OK) {
				mpa_errf(err, errlen, "%s", e.msg);
				return -1;
			}
			for (uint32_t i = 0; i < b->n; i++) {
				if (b->kind[i] != MPA_KIND_LOST)
					continue;
				if (!b->size[i])
					*uncounted = 1;
				sum = sum + b->size[i] < sum ? UINT64_MAX : sum + b->size[i];
			}
		}
	}
	*lost = meta > sum ? meta : sum;
	return 0;
}

static json_t *capture_json(mpt_reader *r, const char *path, uint64_t first, uint64_t last)
{
	json_t *meta = json_object();
	uint32_t nm = mpt_reader_meta_count(r);
	for (uint32_t i = 0; meta && i < nm; i++) {
		const char *k, *v;
		mpt_reader_meta_at(r, i, &k, &v);
		/* metadata comes from a file: keep only what JSON can carry */
		json_t *s = json_string(v ? v : "");
		if (!s)
			s = json_string("(not valid UTF-8)");
		if (k && json_object_set_new(meta, k, s) < 0)
			break;
	}
	char ver[32];
	snprintf(ver, sizeof ver, "%" PRIu32 ".%" PRIu32, mpt_reader_version_major(r),
		 mpt_reader_version_minor(r));
	return json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}", "path", path,
			 "file_bytes", (json_int_t)mpt_reader_file_size(r), "format_version", ver,
			 "rows", (json_int_t)mpt_reader_rows(r), "chunks",
			 (json_int_t)mpt_reader_chunk_count(r), "first_ts_ns", (json_int_t)first,
			 "last_ts_ns", (json_int_t)last, "duration_ns", (json_int_t)(last - first),
			 "strings", (json_int_t)mpt_reader_string_count(r), "stacks",
			 (json_int_t)mpt_reader_stack_count(r), "metadata", meta);
}

void mpa_run_result_release(struct mpa_run_result *res)
{
	if (!res)
		return;
	json_decref(res->summary);
	res->summary = NULL;
}

/* ---- the report directory ------------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether dir may be replaced: absent, empty, or a report of an earlier
 * run (it holds summary.json).  -1 with err otherwise. */
static int outdir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return errno == ENOENT ? 0 : (mpa_errf(err, errlen, "cannot use '%s': %s", dir, strerror(errno)), -1);
	if (!S_ISDIR(st.st_mode)) {
		mpa_errf(err, errlen, "cannot write '%s': it exists and is not a directory", dir);
		return -1;
	}
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/summary.json", dir);
	if (access(p, F_OK) == 0)
		return 0;
	DIR *d = opendir(dir);
	if (!d) {
		mpa_errf(err, errlen, "cannot use '%s': %s", dir, strerror(errno));
		return -1;
	}
	int empty = 1;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	if (!empty) {
		mpa_errf(err, errlen,
			 "cannot write '%s': it holds files that are not an mpa report (choose another -o)",
			 dir);
		return -1;
	}
	return 0;
}

/* Creates the fresh directory the run writes into, beside dir. */
static int outdir_begin(const char *dir, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n + 32 >= sizeof parent || n + 32 >= tmplen) {
		mpa_errf(err, errlen, "cannot write '%s': path too long", dir);
		return -1;
	}
	memcpy(parent, dir, n);
	parent[n] = 0;
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mpa_mkdir_p(parent) < 0) {
			mpa_errf(err, errlen, "cannot create '%s': %s", parent, strerror(errno));
			return -1;
		}
	}
	snprintf(tmp, tmplen, "%.*s.tmp.%ld", (int)n, dir, (long)getpid());
	rm_tree(tmp);
	if (mkdir(tmp, 0777) != 0) {
		mpa_errf(err, errlen, "cannot write '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The finished run replaces dir (an old report goes as a whole). */
static int outdir_commit(const char *dir, const char *tmp, char *err, size_t errlen)
{
	char old[PATH_MAX + 32];
	snprintf(old, sizeof old, "%s.old.%ld", tmp, (long)getpid());
	int had = rename(dir, old) == 0;
	if (!had && errno != ENOENT) {
		if (rmdir(dir) != 0 && errno != ENOENT) {
			mpa_errf(err, errlen, "cannot replace '%s': %s", dir, strerror(errno));
			return -1;
		}
	}
	if (rename(tmp, dir) != 0) {
		mpa_errf(err, errlen, "cannot write '%s': %s", dir, strerror(errno));
		if (had)
			rename(old, dir);
		return -1;
	}
	if (had)
		rm_tree(old);
	return 0;
}

static void human_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns >= UINT64_C(1000000000))
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%" PRIu64 " ns", ns);
}

static json_t *heap_json(const struct mpa_heap_stats *h)
{
	json_t *an = json_object();
	for (unsigned a = 1; an && a < MPA_ANOM_COUNT_; a++)
		json_object_set_new(an, mpa_anomaly_name(a), json_integer((json_int_t)h->anomalies[a]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}",
			 "images",
			 (json_int_t)h->images, "forks", (json_int_t)h->forks, "execs",
			 (json_int_t)h->execs, "exits", (json_int_t)h->exits, "pid_reuse",
			 (json_int_t)h->pid_reuse, "ts_backwards", (json_int_t)h->ts_backwards,
			 "tracer_blocks", (json_int_t)h->tracer_blocks, "tracer_unseen_frees",
			 (json_int_t)h->tracer_unseen_frees, "startup_blocks",
			 (json_int_t)h->startup_blocks, "orphan_rows", (json_int_t)h->orphan_rows,
			 "kernel_allocs_traced", (json_int_t)h->kernel_allocs_traced,
			 "kernel_allocs_host", (json_int_t)h->kernel_allocs_host, "anomalies", an);
}

/* Stack depth (summary.json -> scan.stacks), and the warning when most
 * stacks are one frame deep: a frame-pointer walk stops at once in a
 * binary built without frame pointers, and every site reads "xmalloc
 * (bash)".  Deterministic: counted over the capture's stack table. */
static int stacks_json(const mpa_sites *sites, json_t *scan, json_t *alerts)
{
	uint32_t known, shallow;
	mpa_sites_depth(sites, &known, &shallow);
	int warn = known >= 4 && (uint64_t)shallow * 2 >= known;
	char msg[400];
	snprintf(msg, sizeof msg,
		 "%" PRIu32 " of %" PRIu32 " call stacks of the program are one frame deep: "
		 "sites may name an allocation wrapper instead of its caller", shallow, known);
	json_t *st = json_pack("{s:I, s:I, s:o}", "stacks", (json_int_t)known, "one_frame",
			       (json_int_t)shallow, "warning", warn ? json_string(msg) : json_null());
	if (!st || json_object_set_new(scan, "stacks", st) < 0)
		return -1;
	if (!warn)
		return 0;
	json_t *al = json_pack("{s:s, s:s, s:s, s:f, s:s, s:s, s:s}", "name", "shallow_stacks",
			       "analyzer", "mpa-analyze", "severity", "warning", "value",
			       (double)shallow / known, "unit", "fraction", "message", msg, "advice",
			       "the program was built without frame pointers: record it again with "
			       "'mpa-record --unwind libunwind' for full call stacks, or name your "
			       "allocation wrappers in .mpa.toml ([sites] alloc_fns)");
	return al ? json_array_append_new(alerts, al) : -1;
}

int mpa_run(const struct mpa_run_opts *opts, struct mpa_run_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	int rc = -1;
	mpt_reader *r = NULL;
	struct mpt_error me = {0};
	size_t na = opts->nanalyzers;
	struct mpa_source src = {0};
	struct mpa_pass *pass = NULL;
	struct mpa_outset *set = NULL;
	mpa_sites *sites = NULL;
	json_t *summary = NULL, *anjson = NULL;
	char aerr[512], tmpdir[PATH_MAX] = "";

	if (!na) {
		mpa_errf(err, errlen, "no analyzer selected");
		return -1;
	}
	if (mpt_reader_open(opts->capture, &r, &me) != MPT_OK) {
		mpa_errf(err, errlen, "%s", me.msg[0] ? me.msg : "cannot open capture");
		return -1;
	}

	/* The capture's span, from the chunk index. */
	uint64_t span_first = 0, span_last = 0;
	int have_span = 0;
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) != MPT_OK || !ci.rows)
			continue;
		if (!have_span || ci.ts_min < span_first)
			span_first = ci.ts_min;
		if (!have_span || ci.ts_max > span_last)
			span_last = ci.ts_max;
		have_span = 1;
	}

	struct mpa_ctx ctx = {0};
	ctx.reader = r;
	ctx.config = opts->config;
	ctx.capture_path = opts->capture;
	ctx.pid_filter = opts->pid;
	ctx.span_first = span_first;
	ctx.span_last = span_last;
	for (int w = 0; w < 2; w++) {
		const char *t = w ? opts->to : opts->from;
		if (!t || !*t)
			continue;
		/* the one time syntax (libmpt): durations from the first event, @NS */
		uint64_t at;
		if (mpt_reader_resolve_time(r, t, &at, &me) != MPT_OK) {
			mpa_errf(err, errlen, "%s", me.msg);
			goto out;
		}
		if (w)
			ctx.ts_to = at;
		else
			ctx.ts_from = at;
	}
	if (ctx.ts_to && ctx.ts_to <= ctx.ts_from) {
		mpa_errf(err, errlen, "--to ('%s') is not after --from ('%s')", opts->to,
			 opts->from ? opts->from : "capture start");
		goto out;
	}
	if (have_span && ctx.ts_from > span_last) {
		char a[64], d[64];
		human_ns(a, sizeof a, ctx.ts_from - span_first);
		human_ns(d, sizeof d, span_last - span_first);
		mpa_errf(err, errlen, "the selection is empty: --from '%s' (%s) is after the capture's end (%s)",
			 opts->from, a, d);
		goto out;
	}

	/* The output directory is checked before any work. */
	if (outdir_check(opts->outdir, err, errlen) < 0 ||
	    outdir_begin(opts->outdir, tmpdir, sizeof tmpdir, err, errlen) < 0) {
		tmpdir[0] = 0;
		goto out;
	}

	int badmeta = 0, uncounted = 0;
	if (count_lost(r, &ctx.lost_events, &uncounted, &badmeta, err, errlen) < 0)
		goto out;
	ctx.incomplete = ctx.lost_events > 0 || uncounted || badmeta;
	res->lost_events = ctx.lost_events;
	res->incomplete = ctx.incomplete;
	if (badmeta)
		snprintf(res->banner, sizeof res->banner,
			 "WARNING: the capture's lost-event metadata is unreadable: results may be partial");
	else if (ctx.lost_events)
		snprintf(res->banner, sizeof res->banner,
			 "WARNING: the capture lost %" PRIu64
			 " events: results may be partial (leaks may be frees that were lost)",
			 ctx.lost_events);
	else if (uncounted)
		snprintf(res->banner, sizeof res->banner,
			 "WARNING: the capture lost events (the tracer did not say how many): results may be partial");

	if (!(sites = mpa_sites_create_with(r, mpa_config_string(opts->config, "sites", "alloc_fns"),
					    err, errlen)))
		goto out;
	ctx.sites = sites;
	if (!(pass = mpa_pass_create(&ctx, opts->analyzers, na, err, errlen)))
		goto out;

	/* ONE pass: the union of what the heap model and the analyzers read. */
	struct mpt_scan sc = {0};
	mpa_pass_needs(opts->analyzers, na, &sc.columns, &sc.kinds);
	sc.pid = opts->pid; /* libmpt keeps only that process's rows */
	sc.ts_from = ctx.ts_from;
	sc.ts_to = ctx.ts_to;
	if (mpa_source_open(&src, opts->capture, r, &sc, mpa_decode_threads(opts->config), err,
			    errlen) < 0)
		goto out;
	uint64_t kind_rows[MPA_KIND_COUNT_] = {0}, first_ts = 0, last_ts = 0;
	int any = 0;
	for (;;) {
		const struct mpt_batch *b;
		int s = mpa_source_next(&src, &b, err, errlen);
		if (s == 0)
			break;
		if (s < 0)
			goto out;
		for (uint32_t i = 0; i < b->n; i++) {
			if (b->kind[i] < MPA_KIND_COUNT_)
				kind_rows[b->kind[i]]++;
			uint64_t t = b->ts[i];
			if (!any || t < first_ts)
				first_ts = t;
			if (!any || t > last_ts)
				last_ts = t;
			any = 1;
		}
		if (mpa_pass_feed(pass, b, err, errlen) < 0)
			goto out;
	}
	mpa_source_close(&src);
	res->rows_scanned = mpa_pass_rows(pass);
	if (!res->rows_scanned) {
		if (opts->pid)
			mpa_errf(err, errlen, "the selection is empty: no event of pid %" PRId32 "%s",
				 opts->pid, ctx.ts_from || ctx.ts_to ? " in the time range" : " in the capture");
		else if (ctx.ts_from || ctx.ts_to)
			mpa_errf(err, errlen, "the selection is empty: no event in the time range");
		if (opts->pid || ctx.ts_from || ctx.ts_to)
			goto out;
		/* an empty capture is a result: the report says 0 events */
	}
	/* the capture's end, as far as the selection goes */
	uint64_t end_ts = span_last;
	if (ctx.ts_to && ctx.ts_to - 1 < end_ts)
		end_ts = ctx.ts_to - 1;
	if (end_ts < last_ts)
		end_ts = last_ts;
	if (mpa_pass_finish(pass, end_ts, err, errlen) < 0)
		goto out;

	/* The summary. */
	summary = json_object();
	anjson = json_object();
	if (!summary || !anjson)
		goto oom;
	json_t *kinds = json_object();
	for (unsigned k = 1; kinds && k < MPA_KIND_COUNT_; k++)
		if (kind_rows[k] && mpa_kind_name(k))
			json_object_set_new(kinds, mpa_kind_name(k), json_integer((json_int_t)kind_rows[k]));
	json_t *cols = json_array();
	for (unsigned c = 0; cols && c < MPT_COL_COUNT_; c++)
		if ((sc.columns & MPT_COLBIT(c)) && mpt_column_name(c))
			json_array_append_new(cols, json_string(mpt_column_name(c)));
	json_t *names = json_array();
	for (size_t i = 0; names && i < na; i++)
		json_array_append_new(names, json_string(opts->analyzers[i]->name));
	struct mpa_heap_stats hs;
	mpa_pass_heap_stats(pass, &hs);
	json_t *scan = json_pack("{s:I, s:I, s:i, s:I, s:I, s:I, s:o*, s:o*, s:o*, s:o*}", "from_ns",
				 (json_int_t)ctx.ts_from, "to_ns", (json_int_t)ctx.ts_to, "pid",
				 (int)ctx.pid_filter, "rows", (json_int_t)res->rows_scanned,
				 "first_ts_ns", (json_int_t)(any ? first_ts : 0), "last_ts_ns",
				 (json_int_t)(any ? last_ts : 0), "kinds", kinds, "columns", cols,
				 "analyzers", names, "heap", heap_json(&hs));
	json_t *cap = capture_json(r, opts->capture, span_first, span_last);
	json_t *alerts = json_array();
	if (scan && alerts && stacks_json(sites, scan, alerts) < 0)
		goto oom;
	json_t *tool = json_pack("{s:s, s:s}", "name", "mpa-analyze", "version", MPA_ANALYZE_VERSION);
	if (!scan || !cap || !alerts || !tool ||
	    json_object_set_new(summary, "tool", tool) < 0 ||
	    json_object_set_new(summary, "capture", cap) < 0 ||
	    json_object_set_new(summary, "scan", scan) < 0 ||
	    json_object_set_new(summary, "lost_events", json_integer((json_int_t)ctx.lost_events)) < 0 ||
	    json_object_set_new(summary, "incomplete", json_boolean(ctx.incomplete)) < 0 ||
	    json_object_set_new(summary, "banner",
				res->banner[0] ? json_string(res->banner) : json_null()) < 0 ||
	    json_object_set_new(summary, "alerts", alerts) < 0 ||
	    json_object_set(summary, "analyzers", anjson) < 0)
		goto oom;
	json_t *cfg = mpa_config_json(opts->config);
	if (!cfg || json_object_set_new(summary, "config", cfg) < 0)
		goto oom;

	/* Gates and headlines, in table order. */
	json_t *gates = json_array();
	if (!gates || json_object_set_new(summary, "gates", gates) < 0)
		goto oom;
	for (size_t i = 0; i < na; i++) {
		const struct mpa_analyzer *a = opts->analyzers[i];
		void *st = mpa_pass_state(pass, i);
		char line[512] = "";
		if (a->headline) {
			a->headline(st, line, sizeof line);
			if (line[0]) {
				size_t l = strlen(res->headlines);
				snprintf(res->headlines + l, sizeof res->headlines - l, "%s: %s\n", a->name, line);
			}
		}
		line[0] = 0;
		if (a->gate && a->gate(st, line, sizeof line) == 1) {
			res->gate_failed = 1;
			size_t l = strlen(res->gate_lines);
			snprintf(res->gate_lines + l, sizeof res->gate_lines - l, "%s\n", line);
			json_array_append_new(gates, json_pack("{s:s, s:s}", "analyzer", a->name,
							       "message", line));
		}
	}

	/* Outputs: into the fresh directory. */
	set = mpa_outset_create(tmpdir, opts->formats,
				(int)mpa_config_int(opts->config, "visualization", "plot_width"),
				(int)mpa_config_int(opts->config, "visualization", "plot_height"), err,
				errlen);
	if (!set)
		goto out;
	for (size_t i = 0; i < na; i++) {
		const struct mpa_analyzer *a = opts->analyzers[i];
		json_t *obj = json_object();
		if (!obj || json_object_set_new(anjson, a->name, obj) < 0)
			goto oom;
		mpa_out *o = mpa_out_create(set, a->name, obj);
		if (!o)
			goto oom;
		aerr[0] = 0;
		int erc = a->emit(mpa_pass_state(pass, i), o, aerr, sizeof aerr);
		if (erc < 0) {
			mpa_errf(err, errlen, "%s: %s", a->name, aerr[0] ? aerr : mpa_out_error(o));
			mpa_out_free(o);
			goto out;
		}
		if (mpa_out_finish(o) < 0) {
			mpa_errf(err, errlen, "%s: %s", a->name, mpa_out_error(o));
			mpa_out_free(o);
			goto out;
		}
		mpa_out_free(o);
		/* alerts raised by analyzers: summary.<name>.alerts[] */
		json_t *aal = json_object_get(obj, "alerts");
		size_t k;
		json_t *al;
		json_array_foreach(aal, k, al) json_array_append(alerts, al);
	}
	if (mpa_outset_render(set, res->note, sizeof res->note, err, errlen) < 0)
		goto out;
	if (mpa_outset_add_file(set, "summary.json", "mpa-analyze", "json") < 0 ||
	    mpa_outset_add_file(set, "report.html", "mpa-analyze", "html") < 0)
		goto oom;
	json_t *files = mpa_outset_files_json(set);
	if (!files || json_object_set_new(summary, "outputs", files) < 0)
		goto oom;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/summary.json", tmpdir);
	if (mpa_write_json(path, summary) < 0) {
		mpa_errf(err, errlen, "cannot write '%s/summary.json': %s", opts->outdir, strerror(errno));
		goto out;
	}
	if (mpa_write_report(tmpdir, summary, set) < 0) {
		mpa_errf(err, errlen, "cannot write '%s/report.html': %s", opts->outdir,
			 strerror(errno));
		goto out;
	}
	if (outdir_commit(opts->outdir, tmpdir, err, errlen) < 0)
		goto out;
	tmpdir[0] = 0;
	res->summary = summary;
	summary = NULL;
	rc = 0;
	goto out;
oom:
	mpa_errf(err, errlen, "out of memory");
out:
	mpa_source_close(&src);
	mpa_pass_free(pass);
	mpa_sites_free(sites);
	mpa_outset_free(set);
	if (tmpdir[0])
		rm_tree(tmpdir);
	json_decref(summary);
	json_decref(anjson);
	mpt_reader_close(r);
	return rc;
}
