/* mpa analyzers — one run: open the capture, one pass over it for every
 * selected analyzer, then the outputs (per-analyzer files, summary.json,
 * report.html, rendered plots).
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

#include "framework.h"

void mpa_errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- sites ---------------------------------------------------------------------- */

/* Functions that are the allocator (or a thin allocating wrapper), never the
 * interesting caller. */
static const char *const alloc_funcs[] = {
	"malloc", "calloc", "realloc", "free", "reallocarray", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "cfree",
	"__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free", "__libc_memalign",
	"__libc_valloc", "__libc_pvalloc", "__posix_memalign", "__libc_reallocarray",
	"strdup", "strndup", "__strdup", "__strndup", "wcsdup",
	"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	/* the checked wrappers of GNU programs (bash, coreutils, gcc) and glib */
	"xmalloc", "xcalloc", "xzalloc", "xrealloc", "xstrdup", "xmemdup", "xcharalloc",
	"g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0",
	"g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_strdup", "g_strndup",
	"g_memdup2",
	NULL
};

/* Binaries whose frames are the tracer or our hooks. */
static const char *const tracer_bins[] = {
	"libmpa-preload", "liblttng-ust", "libheaptrack", "vgpreload_", NULL
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int skip_frame(const struct mpa_ctx *ctx, const struct mpt_frame *f)
{
	const char *func = mpt_reader_string(ctx->reader, f->func, NULL);
	const char *bin = mpt_reader_string(ctx->reader, f->bin, NULL);
	if (func && *func) {
		for (size_t i = 0; alloc_funcs[i]; i++)
			if (!strcmp(func, alloc_funcs[i]))
				return 1;
		if (!strncmp(func, "operator new", 12) || !strncmp(func, "operator delete", 15))
			return 1;
	}
	if (bin && *bin) {
		const char *b = base_name(bin);
		for (size_t i = 0; tracer_bins[i]; i++)
			if (!strncmp(b, tracer_bins[i], strlen(tracer_bins[i])))
				return 1;
	}
	return 0;
}

static const char *frame_name(const struct mpa_ctx *ctx, const struct mpt_frame *f, char *buf,
			      size_t len)
{
	const char *func = mpt_reader_string(ctx->reader, f->func, NULL);
	const char *file = mpt_reader_string(ctx->reader, f->file, NULL);
	const char *bin = mpt_reader_string(ctx->reader, f->bin, NULL);
	if (func && *func) {
		if (file && *file && f->line)
			snprintf(buf, len, "%s (%s:%" PRIu32 ")", func, file, f->line);
		else if (file && *file)
			snprintf(buf, len, "%s (%s)", func, file);
		else if (bin && *bin)
			snprintf(buf, len, "%s (%s)", func, base_name(bin));
		else
			snprintf(buf, len, "%s", func);
	} else if (bin && *bin) {
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(bin), f->bin_off);
	} else {
		snprintf(buf, len, "0x%" PRIx64, f->ip);
	}
	return buf;
}

int mpa_site_frame(const struct mpa_ctx *ctx, uint32_t stack_id)
{
	uint32_t n = 0;
	const uint32_t *fr = ctx && ctx->reader ? mpt_reader_stack(ctx->reader, stack_id, &n) : NULL;
	int first = -1;
	for (uint32_t i = 0; fr && i < n; i++) {
		const struct mpt_frame *f = mpt_reader_frame(ctx->reader, fr[i]);
		if (!f)
			continue;
		if (first < 0)
			first = (int)i;
		if (!skip_frame(ctx, f))
			return (int)i;
	}
	return first;
}

const char *mpa_site_name(const struct mpa_ctx *ctx, uint32_t stack_id, char *buf, size_t len)
{
	if (!len)
		return buf;
	int i = mpa_site_frame(ctx, stack_id);
	if (i < 0) {
		snprintf(buf, len, "??");
		return buf;
	}
	uint32_t n = 0;
	const uint32_t *fr = mpt_reader_stack(ctx->reader, stack_id, &n);
	return frame_name(ctx, mpt_reader_frame(ctx->reader, fr[i]), buf, len);
}

/* ---- time arguments ---------------------------------------------------------------- */

int mpa_time_parse(const char *s, uint64_t *value, int *absolute, char *err, size_t errlen)
{
	if (!s || !*s) {
		mpa_errf(err, errlen, "empty time");
		return -1;
	}
	if (*s == '@') {
		char *end;
		errno = 0;
		if (s[1] < '0' || s[1] > '9')
			goto bad;
		unsigned long long v = strtoull(s + 1, &end, 10);
		if (errno || *end)
			goto bad;
		*value = v;
		*absolute = 1;
		return 0;
	}
	if (*s < '0' || *s > '9')
		goto bad;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || !isfinite(d) || d < 0)
		goto bad;
	double mult;
	if (!*end || !strcmp(end, "s"))
		mult = 1e9;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ns"))
		mult = 1;
	else
		goto bad;
	double ns = d * mult;
	if (ns >= 18446744073709549568.0)
		goto bad;
	*value = (uint64_t)llround(ns);
	*absolute = 0;
	return 0;
bad:
	mpa_errf(err, errlen, "bad time '%s' (expected seconds like 1.5, 1.5s, 200ms, 30us, 100ns, or @NS)",
	       s);
	return -1;
}

void mpa_needs(const struct mpa_analyzer *const *a, size_t n, uint64_t *columns, uint32_t *kinds)
{
	uint64_t c = 0;
	uint32_t k = 0;
	int all_kinds = 0;
	for (size_t i = 0; i < n; i++) {
		c |= a[i]->columns;
		if (!a[i]->kinds)
			all_kinds = 1;
		k |= a[i]->kinds;
	}
	*columns = c;
	*kinds = all_kinds ? 0 : k;
}

/* ---- the scan ------------------------------------------------------------------------ */

/* A batch restricted to one pid (--pid): the rows are copied here. */
struct pidbuf {
	struct mpt_batch b;
	void *col[MPT_COL_COUNT_]; /* (owned) */
	uint32_t cap;
};

struct colref {
	size_t off;  /* offset of the pointer in struct mpt_batch */
	size_t size; /* element size */
};

static const struct colref colrefs[MPT_COL_COUNT_] = {
	[MPT_COL_KIND] = {offsetof(struct mpt_batch, kind), 1},
	[MPT_COL_TS] = {offsetof(struct mpt_batch, ts), 8},
	[MPT_COL_PID] = {offsetof(struct mpt_batch, pid), 4},
	[MPT_COL_TID] = {offsetof(struct mpt_batch, tid), 4},
	[MPT_COL_CPU] = {offsetof(struct mpt_batch, cpu), 4},
	[MPT_COL_DOMAIN] = {offsetof(struct mpt_batch, domain), 1},
	[MPT_COL_FLAGS] = {offsetof(struct mpt_batch, flags), 2},
	[MPT_COL_PTR] = {offsetof(struct mpt_batch, ptr), 8},
	[MPT_COL_NEW_PTR] = {offsetof(struct mpt_batch, new_ptr), 8},
	[MPT_COL_SIZE] = {offsetof(struct mpt_batch, size), 8},
	[MPT_COL_USABLE] = {offsetof(struct mpt_batch, usable), 8},
	[MPT_COL_ALIGN] = {offsetof(struct mpt_batch, align), 8},
	[MPT_COL_API] = {offsetof(struct mpt_batch, api), 1},
	[MPT_COL_STACK_ID] = {offsetof(struct mpt_batch, stack_id), 4},
	[MPT_COL_PROT] = {offsetof(struct mpt_batch, prot), 4},
	[MPT_COL_MFLAGS] = {offsetof(struct mpt_batch, mflags), 4},
	[MPT_COL_NODE] = {offsetof(struct mpt_batch, node), 4},
	[MPT_COL_ORDER] = {offsetof(struct mpt_batch, order), 1},
	[MPT_COL_IP] = {offsetof(struct mpt_batch, ip), 8},
	[MPT_COL_POOL_ID] = {offsetof(struct mpt_batch, pool_id), 4},
	[MPT_COL_FRAME_DEPTH] = {offsetof(struct mpt_batch, frame_depth), 4},
	[MPT_COL_COUNTER] = {offsetof(struct mpt_batch, counter), 1},
	[MPT_COL_PERIOD] = {offsetof(struct mpt_batch, period), 8},
	[MPT_COL_WEIGHT] = {offsetof(struct mpt_batch, weight), 8},
	[MPT_COL_DATA_SRC] = {offsetof(struct mpt_batch, data_src), 8},
	[MPT_COL_STR_ID] = {offsetof(struct mpt_batch, str_id), 4},
	[MPT_COL_STATUS] = {offsetof(struct mpt_batch, status), 4},
	[MPT_COL_END_TS] = {offsetof(struct mpt_batch, end_ts), 8},
};

static const void *batch_col(const struct mpt_batch *b, unsigned c)
{
	return *(const void *const *)((const char *)b + colrefs[c].off);
}

static void set_batch_col(struct mpt_batch *b, unsigned c, const void *p)
{
	*(const void **)((char *)b + colrefs[c].off) = p;
}

static int pid_filter(struct pidbuf *pb, const struct mpt_batch *in, int32_t pid,
		      const struct mpt_batch **out)
{
	if (in->n > pb->cap) {
		for (unsigned c = 0; c < MPT_COL_COUNT_; c++) {
			void *np = realloc(pb->col[c], (size_t)in->n * colrefs[c].size);
			if (!np)
				return -1;
			pb->col[c] = np;
		}
		pb->cap = in->n;
	}
	/* the present columns, looked up once per batch rather than per row */
	const char *src[MPT_COL_COUNT_];
	unsigned cols[MPT_COL_COUNT_], ncols = 0;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if ((src[c] = batch_col(in, c)))
			cols[ncols++] = c;
	uint32_t m = 0;
	for (uint32_t i = 0; i < in->n; i++) {
		if (in->pid[i] != pid)
			continue;
		for (unsigned k = 0; k < ncols; k++) {
			unsigned c = cols[k];
			size_t sz = colrefs[c].size;
			memcpy((char *)pb->col[c] + (size_t)m * sz, src[c] + (size_t)i * sz, sz);
		}
		m++;
	}
	memset(&pb->b, 0, sizeof pb->b);
	pb->b.chunk = in->chunk;
	pb->b.n = m;
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		if (batch_col(in, c))
			set_batch_col(&pb->b, c, pb->col[c]);
	*out = &pb->b;
	return 0;
}

/* ---- batches, decoded in parallel -------------------------------------------------------- */

/* Chunks are independent: N worker threads, each with its own reader, decode
 * chunks i = w, w + N, w + 2N ... of the selected list; the main thread takes
 * the batches strictly in chunk order, so the analyzers see exactly what a
 * sequential scan gives.  Each worker holds at most one decoded chunk, so
 * memory stays bounded by N chunks. */
struct worker {
	pthread_t th;
	int started;
	mpt_reader *r;                 /* (owned) */
	const uint32_t *list;          /* chunk indexes (weak: the source's) */
	size_t nlist;
	unsigned id, n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int full;                      /* a batch (or an error) waits for the main thread */
	int quit;
	int failed;
	const struct mpt_batch *batch; /* (weak: the worker's reader's) */
	struct mpt_error err;
};

struct source {
	mpt_reader *main;              /* sequential reader (weak) */
	struct worker *w;              /* (owned) */
	unsigned nw;
	uint32_t *list;                /* (owned) */
	size_t nlist, pos;
	struct worker *pending;        /* holds the batch the caller has now */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (size_t k = w->id; k < w->nlist; k += w->n) {
		const struct mpt_batch *b = NULL;
		struct mpt_error e = {0};
		enum mpt_status st = mpt_reader_read_chunk(w->r, w->list[k], &b, &e);
		pthread_mutex_lock(&w->mu);
		if (st != MPT_OK) {
			w->failed = 1;
			w->err = e;
		}
		w->batch = b;
		w->full = 1;
		pthread_cond_broadcast(&w->cv);
		while (w->full && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		int stop = w->quit || w->failed;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
	}
	return NULL;
}

static void source_release(struct source *s)
{
	if (!s->pending)
		return;
	struct worker *w = s->pending;
	pthread_mutex_lock(&w->mu);
	w->full = 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	s->pending = NULL;
}

static void source_close(struct source *s)
{
	for (unsigned i = 0; s->w && i < s->nw; i++) {
		struct worker *w = &s->w[i];
		if (w->started) {
			pthread_mutex_lock(&w->mu);
			w->quit = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			pthread_join(w->th, NULL);
		}
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		mpt_reader_close(w->r);
	}
	free(s->w);
	free(s->list);
	memset(s, 0, sizeof *s);
}

/* nthreads <= 1: the main reader's own scan.  Otherwise workers. */
static int source_open(struct source *s, const char *path, mpt_reader *r,
		       const struct mpt_scan *sc, unsigned nthreads, char *err, size_t errlen)
{
	struct mpt_error me = {0};
	memset(s, 0, sizeof *s);
	s->main = r;
	if (mpt_reader_scan(r, sc, &me) != MPT_OK) {
		mpa_errf(err, errlen, "%s", me.msg);
		return -1;
	}
	uint32_t nch = mpt_reader_chunk_count(r);
	if (nthreads <= 1 || nch < 2)
		return 0;
	s->list = malloc(nch * sizeof *s->list);
	if (!s->list)
		goto oom;
	for (uint32_t c = 0; c < nch; c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) != MPT_OK)
			continue;
		/* the reader's own exclusion rule (kinds, time range) */
		if (sc->kinds && !(sc->kinds & ci.kinds))
			continue;
		if (ci.ts_max < sc->ts_from || (sc->ts_to && ci.ts_min >= sc->ts_to))
			continue;
		s->list[s->nlist++] = c;
	}
	if (nthreads > s->nlist)
		nthreads = (unsigned)s->nlist;
	if (nthreads <= 1) {
		free(s->list);
		s->list = NULL;
		s->nlist = 0;
		return 0;
	}
	s->w = calloc(nthreads, sizeof *s->w);
	if (!s->w)
		goto oom;
	s->nw = nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		struct worker *w = &s->w[i];
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (mpt_reader_open(path, &w->r, &me) != MPT_OK ||
		    mpt_reader_scan(w->r, sc, &me) != MPT_OK) {
			mpa_errf(err, errlen, "%s", me.msg);
			goto fail;
		}
		w->list = s->list;
		w->nlist = s->nlist;
		w->id = i;
		w->n = nthreads;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&s->w[i].th, NULL, worker_main, &s->w[i]) != 0) {
			mpa_errf(err, errlen, "cannot start a decoding thread");
			goto fail;
		}
		s->w[i].started = 1;
	}
	return 0;
oom:
	mpa_errf(err, errlen, "out of memory");
fail:
	source_close(s);
	return -1;
}

/* 1 with a batch, 0 at the end, -1 on error. */
static int source_next(struct source *s, const struct mpt_batch **b, char *err, size_t errlen)
{
	if (!s->w) {
		struct mpt_error me = {0};
		enum mpt_status st = mpt_reader_next(s->main, b, &me);
		if (st == MPT_END)
			return 0;
		if (st != MPT_OK) {
			mpa_errf(err, errlen, "%s", me.msg);
			return -1;
		}
		return 1;
	}
	source_release(s);
	while (s->pos < s->nlist) {
		struct worker *w = &s->w[s->pos % s->nw];
		pthread_mutex_lock(&w->mu);
		while (!w->full)
			pthread_cond_wait(&w->cv, &w->mu);
		int failed = w->failed;
		const struct mpt_batch *got = w->batch;
		if (failed)
			mpa_errf(err, errlen, "%s", w->err.msg);
		pthread_mutex_unlock(&w->mu);
		if (failed)
			return -1;
		s->pos++;
		s->pending = w;
		if (!got || !got->n) {
			source_release(s);
			continue;
		}
		*b = got;
		return 1;
	}
	return 0;
}

/* Decoding threads: [monitoring] decode_threads, 0 = the online CPUs (at
 * most 4). */
static unsigned decode_threads(const mpa_config *c)
{
	int64_t n = mpa_config_int(c, "monitoring", "decode_threads");
	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? cpus : 1;
		if (n > 4)
			n = 4;
	}
	return n > 64 ? 64 : (unsigned)n;
}

/* ---- analyzers, run concurrently ------------------------------------------------------- */

/* Analyzers never share state, and a batch is read-only while they use it:
 * with [monitoring] analyzer_threads > 1, analyzer 0 runs on the calling
 * thread and the others each on a thread of their own, all on the same
 * batch; the batch is released only when every one is done (a barrier per
 * batch).  Each analyzer still sees every batch in chunk order, so its
 * results are those of the sequential run.  The decoding workers keep
 * decoding the next chunks meanwhile. */
struct apool;
struct athread {
	pthread_t th;
	int started;
	struct apool *p;
	size_t idx;                   /* analyzer index */
	int rc;                       /* last on_chunk result */
	char err[512];
};

struct apool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;                 /* batches handed out so far */
	size_t pending;               /* threads still busy on the current batch */
	int quit;
	const struct mpt_batch *b;
	const struct mpa_analyzer *const *an;
	void **state;
	struct athread *t;            /* (owned) nt threads: analyzers 1..nt */
	size_t nt;
};

static void *athread_main(void *arg)
{
	struct athread *t = arg;
	struct apool *p = t->p;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		const struct mpt_batch *b = p->b;
		pthread_mutex_unlock(&p->mu);
		if (!t->rc) {
			t->err[0] = 0;
			t->rc = p->an[t->idx]->on_chunk(p->state[t->idx], b, t->err, sizeof t->err) < 0 ? -1 : 0;
		}
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void apool_close(struct apool *p)
{
	if (!p->t)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nt; i++)
		if (p->t[i].started)
			pthread_join(p->t[i].th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->t);
	p->t = NULL;
}

/* nthreads <= 1 or a single analyzer: no threads (p->t stays NULL). */
static int apool_open(struct apool *p, const struct mpa_analyzer *const *an, void **state,
		      size_t na, unsigned nthreads, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->an = an;
	p->state = state;
	if (nthreads <= 1 || na < 2)
		return 0;
	p->t = calloc(na - 1, sizeof *p->t);
	if (!p->t) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->nt = na - 1;
	for (size_t i = 0; i < p->nt; i++) {
		p->t[i].p = p;
		p->t[i].idx = i + 1;
		if (pthread_create(&p->t[i].th, NULL, athread_main, &p->t[i]) != 0) {
			apool_close(p);
			mpa_errf(err, errlen, "cannot start an analyzer thread");
			return -1;
		}
		p->t[i].started = 1;
	}
	return 0;
}

/* Every analyzer consumes b.  0, or -1 with the failure of the first
 * failing analyzer (in table order) in err. */
static int apool_run(struct apool *p, size_t na, const struct mpt_batch *b, char *err,
		     size_t errlen)
{
	char aerr[512];
	if (!p->t) {
		for (size_t i = 0; i < na; i++) {
			aerr[0] = 0;
			if (p->an[i]->on_chunk(p->state[i], b, aerr, sizeof aerr) < 0) {
				mpa_errf(err, errlen, "%s: chunk %" PRIu32 ": %s", p->an[i]->name,
				       b->chunk, aerr[0] ? aerr : "failed");
				return -1;
			}
		}
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	p->b = b;
	p->pending = p->nt;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	aerr[0] = 0;
	int rc0 = p->an[0]->on_chunk(p->state[0], b, aerr, sizeof aerr) < 0 ? -1 : 0;
	pthread_mutex_lock(&p->mu);
	while (p->pending)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (rc0 < 0) {
		mpa_errf(err, errlen, "%s: chunk %" PRIu32 ": %s", p->an[0]->name, b->chunk,
		       aerr[0] ? aerr : "failed");
		return -1;
	}
	for (size_t i = 0; i < p->nt; i++)
		if (p->t[i].rc < 0) {
			mpa_errf(err, errlen, "%s: chunk %" PRIu32 ": %s", p->an[i + 1]->name,
			       b->chunk, p->t[i].err[0] ? p->t[i].err : "failed");
			return -1;
		}
	return 0;
}

/* Analyzer threads: [monitoring] analyzer_threads, 0 = one per analyzer
 * when more than two CPUs are online (with two, the decoding threads
 * already keep the second one busy: measured, concurrent analyzers only
 * add switching there), 1 = run them one after another. */
static unsigned analyzer_threads(const mpa_config *c)
{
	int64_t n = mpa_config_int(c, "monitoring", "analyzer_threads");
	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 2 ? 64 : 1;
	}
	return n > 64 ? 64 : (unsigned)n;
}

/* ---- the run --------------------------------------------------------------------------- */

struct scanstats {
	uint64_t rows;
	uint64_t kind_rows[MPA_KIND_COUNT_];
	uint64_t first_ts, last_ts;
	int any;
	uint64_t cache_refs, cache_misses;
};

static void count_batch(struct scanstats *st, const struct mpt_batch *b)
{
	st->rows += b->n;
	for (uint32_t i = 0; i < b->n; i++) {
		unsigned k = b->kind[i];
		if (k < MPA_KIND_COUNT_)
			st->kind_rows[k]++;
		uint64_t t = b->ts[i];
		if (!st->any || t < st->first_ts)
			st->first_ts = t;
		if (!st->any || t > st->last_ts)
			st->last_ts = t;
		st->any = 1;
		if (k == MPA_KIND_CACHE_SAMPLE && b->counter && b->period) {
			uint64_t w = b->period[i] ? b->period[i] : 1;
			if (b->counter[i] == MPA_CTR_CACHE_REF)
				st->cache_refs += w;
			else if (b->counter[i] == MPA_CTR_CACHE_MISS)
				st->cache_misses += w;
		}
	}
}

/* Events the capture says it lost: the metadata key `lost_events` (set by
 * the converter) plus every `lost` record.  bad is set when the metadata
 * value is not a number (then the capture is treated as incomplete). */
static int count_lost(mpt_reader *r, uint64_t *lost, int *bad, char *err, size_t errlen)
{
	*lost = 0;
	*bad = 0;
	const char *m = mpt_reader_meta(r, "lost_events");
	if (m && *m) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(m, &end, 10);
		if (errno || *end || *m == '-')
			*bad = 1;
		else
			*lost = v;
	}
	uint32_t nch = mpt_reader_chunk_count(r);
	int any = 0;
	for (uint32_t c = 0; c < nch; c++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(r, c, &ci) == MPT_OK &&
		    (ci.kinds & MPT_KINDBIT(MPA_KIND_LOST)))
			any = 1;
	}
	if (!any)
		return 0;
	struct mpt_scan sc = {MPT_COLBIT(MPT_COL_SIZE), MPT_KINDBIT(MPA_KIND_LOST), 0, 0};
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
		for (uint32_t i = 0; i < b->n; i++)
			if (b->kind[i] == MPA_KIND_LOST) {
				uint64_t add = b->size[i] ? b->size[i] : 1;
				*lost = *lost + add < *lost ? UINT64_MAX : *lost + add;
			}
	}
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

static void html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One row per scalar of a summary object, keys sorted, nested objects
 * flattened as "a.b"; arrays shown as compact JSON. */
static void html_rows(FILE *f, const char *prefix, json_t *obj)
{
	size_t n = json_object_size(obj), k = 0;
	const char **keys = malloc((n ? n : 1) * sizeof *keys);
	if (!keys)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) keys[k++] = key;
	qsort(keys, k, sizeof *keys, cmp_cstr);
	for (size_t i = 0; i < k; i++) {
		v = json_object_get(obj, keys[i]);
		if (!*prefix && !strcmp(keys[i], "alerts"))
			continue; /* shown under Alerts */
		char path[512];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", keys[i]);
		if (json_is_object(v) && json_object_size(v)) {
			html_rows(f, path, v);
			continue;
		}
		fputs("<tr><th>", f);
		html_esc(f, path);
		fputs("</th><td>", f);
		if (json_is_string(v)) {
			html_esc(f, json_string_value(v));
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT |
						      JSON_REAL_PRECISION(6));
			if (t && strlen(t) > 600)
				strcpy(t + 590, " ...");
			html_esc(f, t ? t : "");
			free(t);
		}
		fputs("</td></tr>\n", f);
	}
	free(keys);
}

static int write_report(const char *dir, json_t *summary, struct mpa_outset *set)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/report.html", dir);
	struct mpa_afile a;
	if (mpa_afile_open(&a, path) < 0)
		return -1;
	FILE *f = a.f;
	json_t *cap = json_object_get(summary, "capture");
	const char *cpath = json_string_value(json_object_get(cap, "path"));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mpa report: ",
	      f);
	html_esc(f, cpath ? cpath : "");
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\n"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\n"
	      ".banner{background:#fdd;border:2px solid #c00;padding:1em;font-weight:bold}\n"
	      ".alert{background:#ffe9c4;border:1px solid #d80;padding:.5em;margin:.3em 0}\n"
	      "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\n"
	      "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}\n"
	      "</style>\n</head>\n<body>\n<h1>mpa-analyze report</h1>\n",
	      f);
	const char *banner = json_string_value(json_object_get(summary, "banner"));
	if (banner) {
		fputs("<p class=\"banner\">", f);
		html_esc(f, banner);
		fputs("</p>\n", f);
	}
	fputs("<h2>Capture</h2>\n<table>\n", f);
	const char *keys[] = {"path", "format_version", "file_bytes", "rows", "chunks",
			      "first_ts_ns", "last_ts_ns", "duration_ns"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		json_t *v = json_object_get(cap, keys[i]);
		fprintf(f, "<tr><th>%s</th><td>", keys[i]);
		if (json_is_string(v))
			html_esc(f, json_string_value(v));
		else if (json_is_integer(v))
			fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "<tr><th>lost_events</th><td>%" JSON_INTEGER_FORMAT "</td></tr>\n",
		json_integer_value(json_object_get(summary, "lost_events")));
	fputs("</table>\n", f);
	json_t *meta = json_object_get(cap, "metadata");
	if (json_object_size(meta)) {
		fputs("<h3>Metadata</h3>\n<table>\n", f);
		const char **mk = malloc(json_object_size(meta) * sizeof *mk);
		size_t nk = 0;
		const char *k;
		json_t *v;
		json_object_foreach(meta, k, v) if (mk) mk[nk++] = k;
		for (size_t i = 1; i < nk; i++)
			for (size_t j = i; j > 0 && strcmp(mk[j - 1], mk[j]) > 0; j--) {
				const char *t = mk[j];
				mk[j] = mk[j - 1];
				mk[j - 1] = t;
			}
		for (size_t i = 0; i < nk; i++) {
			fputs("<tr><th>", f);
			html_esc(f, mk[i]);
			fputs("</th><td>", f);
			html_esc(f, json_string_value(json_object_get(meta, mk[i])));
			fputs("</td></tr>\n", f);
		}
		free(mk);
		fputs("</table>\n", f);
	}
	json_t *alerts = json_object_get(summary, "alerts");
	if (json_array_size(alerts)) {
		fputs("<h2>Alerts</h2>\n", f);
		size_t i;
		json_t *al;
		json_array_foreach(alerts, i, al) {
			fputs("<p class=\"alert\">", f);
			html_esc(f, json_string_value(json_object_get(al, "message")));
			fputs("</p>\n", f);
		}
	}
	size_t nimg;
	const char *const *imgs = mpa_outset_images(set, &nimg);
	if (nimg) {
		fputs("<h2>Plots</h2>\n", f);
		for (size_t i = 0; i < nimg; i++) {
			fputs("<figure><img src=\"", f);
			html_esc(f, imgs[i]);
			fputs("\" alt=\"", f);
			html_esc(f, imgs[i]);
			fputs("\"><figcaption>", f);
			html_esc(f, imgs[i]);
			fputs("</figcaption></figure>\n", f);
		}
	}
	json_t *an = json_object_get(summary, "analyzers");
	if (json_object_size(an)) {
		fputs("<h2>Summaries</h2>\n", f);
		const char *name;
		json_t *obj;
		/* jansson iterates in insertion order; the framework inserted
		 * them in table order. */
		json_object_foreach(an, name, obj) {
			fputs("<h3>", f);
			html_esc(f, name);
			fputs("</h3>\n<table>\n", f);
			html_rows(f, "", obj);
			fputs("</table>\n", f);
		}
	}
	fputs("<h2>Files</h2>\n<ul>\n", f);
	json_t *outs = json_object_get(summary, "outputs");
	size_t i;
	json_t *o;
	json_array_foreach(outs, i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		fputs("<li><a href=\"", f);
		html_esc(f, p);
		fputs("\">", f);
		html_esc(f, p);
		fputs("</a> (", f);
		html_esc(f, json_string_value(json_object_get(o, "analyzer")));
		fputs(", ", f);
		html_esc(f, json_string_value(json_object_get(o, "kind")));
		fputs(")</li>\n", f);
	}
	fputs("</ul>\n</body>\n</html>\n", f);
	return mpa_afile_commit(&a);
}

void mpa_run_result_release(struct mpa_run_result *res)
{
	if (!res)
		return;
	json_decref(res->summary);
	res->summary = NULL;
}

int mpa_run(const struct mpa_run_opts *opts, struct mpa_run_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	int rc = -1;
	mpt_reader *r = NULL;
	struct mpt_error me = {0};
	void **state = NULL;
	size_t nbegun = 0, na = opts->nanalyzers;
	struct pidbuf pb = {0};
	struct source src = {0};
	struct apool pool = {0};
	struct mpa_outset *set = NULL;
	json_t *summary = NULL, *anjson = NULL;
	char aerr[512];

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
	for (int w = 0; w < 2; w++) {
		const char *t = w ? opts->to : opts->from;
		if (!t || !*t)
			continue;
		uint64_t v;
		int abs;
		if (mpa_time_parse(t, &v, &abs, err, errlen) < 0)
			goto out;
		uint64_t at = abs ? v : span_first + v;
		if (!abs && at < span_first) {
			mpa_errf(err, errlen, "time '%s' is beyond the clock's range", t);
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

	int badmeta = 0;
	if (count_lost(r, &ctx.lost_events, &badmeta, err, errlen) < 0)
		goto out;
	ctx.incomplete = ctx.lost_events > 0 || badmeta;
	res->lost_events = ctx.lost_events;
	res->incomplete = ctx.incomplete;
	if (ctx.incomplete) {
		if (badmeta)
			snprintf(res->banner, sizeof res->banner,
				 "WARNING: the capture's lost_events metadata is unreadable: results may be partial");
		else
			snprintf(res->banner, sizeof res->banner,
				 "WARNING: the capture lost %" PRIu64
				 " events: results may be partial (leaks may be frees that were lost)",
				 ctx.lost_events);
	}

	state = calloc(na, sizeof *state);
	if (!state) {
		mpa_errf(err, errlen, "out of memory");
		goto out;
	}
	for (; nbegun < na; nbegun++) {
		aerr[0] = 0;
		if (opts->analyzers[nbegun]->begin(&ctx, &state[nbegun], aerr, sizeof aerr) < 0) {
			mpa_errf(err, errlen, "%s: %s", opts->analyzers[nbegun]->name,
			       aerr[0] ? aerr : "cannot start");
			goto out;
		}
	}

	/* ONE pass: the union of what the analyzers read. */
	struct mpt_scan sc = {0};
	mpa_needs(opts->analyzers, na, &sc.columns, &sc.kinds);
	/* the framework's own needs: kind and ts (always decoded), pid for
	 * --pid, counter and period for the cache hit ratio */
	sc.columns |= MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS);
	if (opts->pid)
		sc.columns |= MPT_COLBIT(MPT_COL_PID);
	if (sc.kinds)
		sc.kinds |= MPT_KINDBIT(MPA_KIND_CACHE_SAMPLE);
	sc.columns |= MPT_COLBIT(MPT_COL_COUNTER) | MPT_COLBIT(MPT_COL_PERIOD);
	sc.ts_from = ctx.ts_from;
	sc.ts_to = ctx.ts_to;
	if (source_open(&src, opts->capture, r, &sc, decode_threads(opts->config), err, errlen) < 0)
		goto out;
	if (apool_open(&pool, opts->analyzers, state, na, analyzer_threads(opts->config), err,
		       errlen) < 0)
		goto out;
	struct scanstats st = {0};
	for (;;) {
		const struct mpt_batch *b;
		int s = source_next(&src, &b, err, errlen);
		if (s == 0)
			break;
		if (s < 0)
			goto out;
		if (opts->pid) {
			if (pid_filter(&pb, b, opts->pid, &b) < 0) {
				mpa_errf(err, errlen, "out of memory");
				goto out;
			}
			if (!b->n)
				continue;
		}
		count_batch(&st, b);
		if (apool_run(&pool, na, b, err, errlen) < 0)
			goto out;
	}
	apool_close(&pool);
	source_close(&src);
	for (size_t i = 0; i < na; i++) {
		aerr[0] = 0;
		if (opts->analyzers[i]->end(state[i], aerr, sizeof aerr) < 0) {
			mpa_errf(err, errlen, "%s: %s", opts->analyzers[i]->name,
			       aerr[0] ? aerr : "failed");
			goto out;
		}
	}
	res->rows_scanned = st.rows;

	/* The summary. */
	summary = json_object();
	anjson = json_object();
	if (!summary || !anjson)
		goto oom;
	json_t *kinds = json_object();
	for (unsigned k = 1; kinds && k < MPA_KIND_COUNT_; k++)
		if (st.kind_rows[k] && mpa_kind_name(k))
			json_object_set_new(kinds, mpa_kind_name(k), json_integer((json_int_t)st.kind_rows[k]));
	json_t *cols = json_array();
	for (unsigned c = 0; cols && c < MPT_COL_COUNT_; c++)
		if ((sc.columns & MPT_COLBIT(c)) && mpt_column_name(c))
			json_array_append_new(cols, json_string(mpt_column_name(c)));
	json_t *names = json_array();
	for (size_t i = 0; names && i < na; i++)
		json_array_append_new(names, json_string(opts->analyzers[i]->name));
	json_t *scan = json_pack("{s:I, s:I, s:i, s:I, s:I, s:I, s:o*, s:o*, s:o*}", "from_ns",
				 (json_int_t)ctx.ts_from, "to_ns", (json_int_t)ctx.ts_to, "pid",
				 (int)ctx.pid_filter, "rows", (json_int_t)st.rows, "first_ts_ns",
				 (json_int_t)(st.any ? st.first_ts : 0), "last_ts_ns",
				 (json_int_t)(st.any ? st.last_ts : 0), "kinds", kinds, "columns",
				 cols, "analyzers", names);
	json_t *cap = capture_json(r, opts->capture, span_first, span_last);
	json_t *alerts = json_array();
	json_t *cache = NULL;
	if (st.cache_refs) {
		double hit = 1.0 - (double)st.cache_misses / (double)st.cache_refs;
		double thr = mpa_config_float(opts->config, "alerts", "cache_hit_ratio_threshold");
		cache = json_pack("{s:I, s:I, s:f}", "references", (json_int_t)st.cache_refs,
				  "misses", (json_int_t)st.cache_misses, "hit_ratio", hit);
		if (hit < thr && alerts) {
			char msg[256], h[32], t[32];
			mpa_fmt_double(h, sizeof h, hit);
			mpa_fmt_double(t, sizeof t, thr);
			snprintf(msg, sizeof msg, "cache hit ratio %s is below the threshold %s", h, t);
			json_array_append_new(alerts, json_pack("{s:s, s:f, s:f, s:s}", "name",
								 "cache_hit_ratio", "value", hit,
								 "threshold", thr, "message", msg));
		}
	} else {
		cache = json_null();
	}
	json_t *tool = json_pack("{s:s, s:s}", "name", "mpa-analyze", "version", MPA_ANALYZE_VERSION);
	if (!scan || !cap || !alerts || !cache || !tool ||
	    json_object_set_new(summary, "tool", tool) < 0 ||
	    json_object_set_new(summary, "capture", cap) < 0 ||
	    json_object_set_new(summary, "scan", scan) < 0 ||
	    json_object_set_new(summary, "lost_events", json_integer((json_int_t)ctx.lost_events)) < 0 ||
	    json_object_set_new(summary, "incomplete", json_boolean(ctx.incomplete)) < 0 ||
	    json_object_set_new(summary, "banner",
				res->banner[0] ? json_string(res->banner) : json_null()) < 0 ||
	    json_object_set_new(summary, "cache", cache) < 0 ||
	    json_object_set_new(summary, "alerts", alerts) < 0 ||
	    json_object_set(summary, "analyzers", anjson) < 0)
		goto oom;
	json_t *cfg = mpa_config_json(opts->config);
	if (!cfg || json_object_set_new(summary, "config", cfg) < 0)
		goto oom;

	/* Outputs: only now does the directory appear. */
	set = mpa_outset_create(opts->outdir, opts->formats,
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
		int erc = a->emit(state[i], o, aerr, sizeof aerr);
		if (erc < 0) {
			mpa_errf(err, errlen, "%s: %s", a->name,
			       aerr[0] ? aerr : mpa_out_error(o));
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
	char path[4096];
	snprintf(path, sizeof path, "%s/summary.json", opts->outdir);
	if (mpa_write_json(path, summary) < 0) {
		mpa_errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (write_report(opts->outdir, summary, set) < 0) {
		mpa_errf(err, errlen, "cannot write '%s/report.html': %s", opts->outdir,
		       strerror(errno));
		goto out;
	}
	res->summary = summary;
	summary = NULL;
	rc = 0;
	goto out;
oom:
	mpa_errf(err, errlen, "out of memory");
out:
	apool_close(&pool);
	source_close(&src);
	for (size_t i = 0; i < nbegun; i++)
		opts->analyzers[i]->release(state[i]);
	free(state);
	for (unsigned c = 0; c < MPT_COL_COUNT_; c++)
		free(pb.col[c]);
	mpa_outset_free(set);
	json_decref(summary);
	json_decref(anjson);
	mpt_reader_close(r);
	return rc;
}
