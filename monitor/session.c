/* mpa monitor — a monitoring session (session.h): the one pass over a
 * capture, batch by batch, with the interval sampler riding along; the
 * analyzers' JSON documents collected in memory when the pass finishes.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyzers/core/config.h"
#include "../analyzers/core/out.h"
#include "../analyzers/core/pass.h"
#include "../analyzers/core/sites.h"
#include "../analyzers/core/source.h"
#include "session.h"

struct mpa_mon {
	mpt_reader *r;                       /* (owned) */
	mpa_sites *sites;                    /* (owned) */
	struct mpa_ctx ctx;
	const struct mpa_analyzer **an;      /* (owned array) registered ones + the sampler */
	size_t nan;
	struct mpa_pass *pass;               /* (owned) */
	struct mpa_source src;
	int src_open, finished;
	uint64_t first, last, lost;
	json_t *results;                     /* (owned) {name: document} after the end */
	char *path;                          /* (owned) the file being read */
	char *segdir;                        /* (owned) segments: their directory, else NULL */
	uint32_t seg;                        /* segments: the one being read */
	int rm_segs;
	uint64_t stream_ts;                  /* segments: the stream is complete up to here */
	struct mpt_scan scan;
	unsigned threads;
};

int mpa_mon_segment_path(char *buf, size_t len, const char *dir, uint32_t k)
{
	int n = snprintf(buf, len, "%s/seg-%06" PRIu32 ".mpt", dir, k);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The span and lost events of r, merged into m's. */
static void take_span(struct mpa_mon *m, const mpt_reader *r, int first)
{
	int have = !first;
	for (uint32_t c = 0; c < mpt_reader_chunk_count(r); c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) != MPT_OK || !ci.rows)
			continue;
		if (!have || ci.ts_min < m->first)
			m->first = ci.ts_min;
		if (!have || ci.ts_max > m->last)
			m->last = ci.ts_max;
		have = 1;
	}
	const char *lm = mpt_reader_meta(r, "lost_events");
	if (lm)
		m->lost = strtoull(lm, NULL, 10); /* cumulative in every segment */
	const char *sm = m->segdir ? mpt_reader_meta(r, "stream_time_ns") : NULL;
	if (sm)
		m->stream_ts = strtoull(sm, NULL, 10);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

/* Every analyzer's emit() into memory: an output set in a private
 * temporary directory with JSON only (nothing is written there: the
 * documents are taken before they would be). */
static int collect(struct mpa_mon *m, char *err, size_t errlen)
{
	char dir[4096];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/mpa-top.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		mpa_errf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
		return -1;
	}
	int rc = -1;
	struct mpa_outset *set = mpa_outset_create(dir, MPA_FMT_JSON, 0, 0, err, errlen);
	if (!set || !(m->results = json_object()))
		goto out;
	for (size_t i = 0; i + 1 < m->nan; i++) {
		json_t *sum = json_object();
		mpa_out *o = sum ? mpa_out_create(set, m->an[i]->name, sum) : NULL;
		char aerr[512] = "";
		if (!o) {
			json_decref(sum);
			mpa_errf(err, errlen, "out of memory");
			goto out;
		}
		if (m->an[i]->emit(mpa_pass_state(m->pass, i), o, aerr, sizeof aerr) < 0) {
			mpa_errf(err, errlen, "%s: %s", m->an[i]->name, aerr[0] ? aerr : "cannot emit");
			mpa_out_free(o);
			json_decref(sum);
			goto out;
		}
		json_t *doc = mpa_out_json(o);
		if (!json_object_get(doc, "summary"))
			json_object_set(doc, "summary", sum);
		json_object_set(m->results, m->an[i]->name, doc);
		mpa_out_free(o);
		json_decref(sum);
	}
	rc = 0;
out:
	mpa_outset_free(set);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/* 1-2-5 steps: the smallest at or above ns */
static uint64_t nice_step(uint64_t ns)
{
	uint64_t base = 1000;
	for (;;) {
		static const unsigned mul[] = {1, 2, 5};
		for (unsigned k = 0; k < 3; k++)
			if (base * mul[k] >= ns)
				return base * mul[k];
		if (base > UINT64_MAX / 100)
			return base;
		base *= 10;
	}
}

struct mpa_mon *mpa_mon_open(const struct mpa_mon_opts *o, char *err, size_t errlen)
{
	struct mpa_mon *m = calloc(1, sizeof *m);
	struct mpt_error me = {0};
	char seg1[4096];
	if (o->segments && mpa_mon_segment_path(seg1, sizeof seg1, o->segments, 1) < 0) {
		free(m);
		mpa_errf(err, errlen, "segment directory name too long");
		return NULL;
	}
	if (!m || !(m->path = strdup(o->segments ? seg1 : o->capture)) ||
	    (o->segments && !(m->segdir = strdup(o->segments)))) {
		if (m)
			free(m->path);
		free(m);
		mpa_errf(err, errlen, "out of memory");
		return NULL;
	}
	m->seg = o->segments ? 1 : 0;
	m->rm_segs = o->remove_segments;
	if (mpt_reader_open(m->path, &m->r, &me) != MPT_OK) {
		mpa_errf(err, errlen, "%s%s%s", o->segments ? m->path : "", o->segments ? ": " : "",
			 me.msg[0] ? me.msg : "cannot open capture");
		goto fail;
	}
	take_span(m, m->r, 1);
	/* a growing capture's span is not known: 500 ms, as the live views */
	uint64_t iv = o->interval_ns  ? o->interval_ns
		      : o->segments ? UINT64_C(500000000)
				    : nice_step((m->last - m->first) / 200 + 1);
	char num[32];
	snprintf(num, sizeof num, "%" PRIu64, iv);
	if (mpa_config_set(o->config, "monitoring", "interval_ns", num, "command line", err,
			   errlen) < 0)
		goto fail;

	size_t n = 0;
	while (mpa_analyzers[n])
		n++;
	if (!(m->an = calloc(n + 1, sizeof *m->an)))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const struct mpa_analyzer *a = mpa_analyzers[i];
		if (a->enable_section && a->enable_key &&
		    !mpa_config_bool(o->config, a->enable_section, a->enable_key))
			continue;
		m->an[m->nan++] = a;
	}
	m->an[m->nan++] = &mpa_snap_analyzer;

	if (!(m->sites = mpa_sites_create(m->r, err, errlen)))
		goto fail;
	m->ctx.reader = m->r;
	m->ctx.config = o->config;
	m->ctx.capture_path = m->path;
	m->ctx.pid_filter = o->pid;
	m->ctx.span_first = m->first;
	m->ctx.span_last = m->last;
	m->ctx.lost_events = m->lost;
	m->ctx.incomplete = m->lost > 0;
	m->ctx.sites = m->sites;
	if (!(m->pass = mpa_pass_create(&m->ctx, m->an, m->nan, err, errlen)))
		goto fail;
	mpa_pass_needs(m->an, m->nan, &m->scan.columns, &m->scan.kinds);
	m->scan.pid = o->pid;
	m->threads = mpa_decode_threads(o->config);
	if (mpa_source_open(&m->src, m->path, m->r, &m->scan, m->threads, err, errlen) < 0)
		goto fail;
	m->src_open = 1;
	return m;
oom:
	mpa_errf(err, errlen, "out of memory");
fail:
	mpa_mon_close(m);
	return NULL;
}

/* At the end of a segment: the next one, 1 opened (its tables taken by
 * the pass), 2 none yet, 0 none and the directory says done, -1. */
static int next_segment(struct mpa_mon *m, char *err, size_t errlen)
{
	char done[4096], next[4096];
	if (snprintf(done, sizeof done, "%s/done", m->segdir) >= (int)sizeof done ||
	    mpa_mon_segment_path(next, sizeof next, m->segdir, m->seg + 1) < 0) {
		mpa_errf(err, errlen, "segment directory name too long");
		return -1;
	}
	/* done first: a segment that comes with it is still read */
	int is_done = access(done, F_OK) == 0;
	if (access(next, F_OK) != 0)
		return is_done ? 0 : 2;
	mpt_reader *r = NULL;
	struct mpt_error me = {0};
	char *path = strdup(next);
	if (!path) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	if (mpt_reader_open(next, &r, &me) != MPT_OK) {
		mpa_errf(err, errlen, "%s: %s", next, me.msg[0] ? me.msg : "cannot open segment");
		free(path);
		return -1;
	}
	/* the pass reads the new tables from now on; the old reader goes */
	m->ctx.reader = r;
	if (mpa_pass_tables_grew(m->pass, err, errlen) < 0) {
		m->ctx.reader = m->r;
		mpt_reader_close(r);
		free(path);
		return -1;
	}
	mpt_reader_close(m->r);
	m->r = r;
	if (m->rm_segs)
		unlink(m->path);
	free(m->path);
	m->path = path;
	m->ctx.capture_path = m->path;
	m->seg++;
	take_span(m, r, 0);
	m->ctx.span_last = m->last;
	m->ctx.lost_events = m->lost;
	m->ctx.incomplete = m->lost > 0;
	if (mpa_source_open(&m->src, m->path, m->r, &m->scan, m->threads, err, errlen) < 0)
		return -1;
	m->src_open = 1;
	return 1;
}

int mpa_mon_step(struct mpa_mon *m, char *err, size_t errlen)
{
	if (m->finished)
		return 0;
	const struct mpt_batch *b;
	int s = 0;
	if (m->src_open) {
		s = mpa_source_next(&m->src, &b, err, errlen);
		if (s < 0)
			return -1;
		if (s > 0)
			return mpa_pass_feed(m->pass, b, err, errlen) < 0 ? -1 : 1;
		mpa_source_close(&m->src);
		m->src_open = 0;
		/* the stream went on without events past the segment's rows:
		 * the intervals up to there are complete */
		if (m->segdir && m->stream_ts) {
			if (mpa_snap_advance(mpa_pass_state(m->pass, m->nan - 1), m->stream_ts) < 0) {
				mpa_errf(err, errlen, "out of memory");
				return -1;
			}
			if (m->stream_ts > m->last)
				m->last = m->stream_ts;
		}
	}
	if (m->segdir) {
		s = next_segment(m, err, errlen);
		if (s != 0)
			return s;
	}
	if (m->ctx.pid_filter && !mpa_pass_rows(m->pass)) {
		mpa_errf(err, errlen, "the selection is empty: no event of pid %" PRId32 " in the capture",
			 m->ctx.pid_filter);
		return -1;
	}
	if (mpa_pass_finish(m->pass, m->last, err, errlen) < 0 || collect(m, err, errlen) < 0)
		return -1;
	m->finished = 1;
	return 0;
}

int mpa_mon_run(struct mpa_mon *m, char *err, size_t errlen)
{
	int s;
	while ((s = mpa_mon_step(m, err, errlen)) > 0)
		;
	return s;
}

const struct mpa_snap *mpa_mon_snap(const struct mpa_mon *m)
{
	return mpa_pass_state(m->pass, m->nan - 1);
}

const struct mpa_ctx *mpa_mon_ctx(const struct mpa_mon *m)
{
	return &m->ctx;
}

json_t *mpa_mon_result(const struct mpa_mon *m, const char *analyzer)
{
	return m->results ? json_object_get(m->results, analyzer) : NULL;
}

int mpa_mon_has(const struct mpa_mon *m, const char *analyzer)
{
	for (size_t i = 0; i + 1 < m->nan; i++)
		if (!strcmp(m->an[i]->name, analyzer))
			return 1;
	return 0;
}

void mpa_mon_span(const struct mpa_mon *m, uint64_t *first, uint64_t *last)
{
	*first = m->first;
	*last = m->last;
}

uint64_t mpa_mon_lost(const struct mpa_mon *m)
{
	return m->lost;
}

uint32_t mpa_mon_segments(const struct mpa_mon *m)
{
	return m->seg;
}

int mpa_mon_finished(const struct mpa_mon *m)
{
	return m->finished;
}

void mpa_mon_close(struct mpa_mon *m)
{
	if (!m)
		return;
	if (m->src_open)
		mpa_source_close(&m->src);
	mpa_pass_free(m->pass);
	mpa_sites_free(m->sites);
	if (m->r)
		mpt_reader_close(m->r);
	json_decref(m->results);
	free(m->an);
	free(m->path);
	free(m->segdir);
	free(m);
}

mpa_config *mpa_mon_config(const char *config_path, int no_config, char *err, size_t errlen)
{
	mpa_config *c = mpa_config_create(err, errlen);
	if (!c)
		return NULL;
	if (mpa_config_declare(c, "mpa-monitor", mpa_snap_options, err, errlen) < 0)
		goto fail;
	if (config_path) {
		if (mpa_config_load_file(c, config_path, err, errlen) < 0)
			goto fail;
	} else if (!no_config && access(".mpa.toml", F_OK) == 0) {
		if (mpa_config_load_file(c, ".mpa.toml", err, errlen) < 0)
			goto fail;
	}
	return c;
fail:
	mpa_config_free(c);
	return NULL;
}

int mpa_mon_config_set(mpa_config *c, const char *assign, char *err, size_t errlen)
{
	const char *dot = strchr(assign, '.'), *eq = strchr(assign, '=');
	if (!dot || !eq || dot > eq || dot == assign || eq == dot + 1) {
		mpa_errf(err, errlen, "--set wants SECTION.KEY=VALUE, not '%s'", assign);
		return -1;
	}
	char sec[128], key[128];
	if ((size_t)(dot - assign) >= sizeof sec || (size_t)(eq - dot - 1) >= sizeof key) {
		mpa_errf(err, errlen, "--set: name too long in '%s'", assign);
		return -1;
	}
	memcpy(sec, assign, (size_t)(dot - assign));
	sec[dot - assign] = 0;
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = 0;
	return mpa_config_set(c, sec, key, eq + 1, "command line", err, errlen);
}

/* ---- formatting ---------------------------------------------------------------- */

void mpa_mon_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;
	double a = b < 0 ? -b : b;
	while (a >= 1024 && u < 5) {
		a /= 1024;
		b /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%.0f B", b);
	else
		snprintf(buf, len, "%.*f %s", a < 10 ? 2 : a < 100 ? 1 : 0, b, unit[u]);
}

void mpa_mon_dur(char *buf, size_t len, uint64_t ns)
{
	if (ns >= UINT64_C(60000000000))
		snprintf(buf, len, "%.1f min", (double)ns / 6e10);
	else if (ns >= 1000000000)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 " ns", ns);
}

int mpa_mon_parse_dur(const char *s, uint64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v > 0))
		return -1;
	double mul;
	if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 6e10;
	else
		return -1;
	double t = v * mul;
	if (t < 1 || t > 1e18)
		return -1;
	*ns = (uint64_t)t;
	return 0;
}
