/* mpa analysis core — the source: batches of a capture in chunk order,
 * decoded by worker threads, restricted to one pid when asked.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"

/* ---- the scan ------------------------------------------------------------------------ */

/* A batch restricted to one pid (--pid): the rows are copied here. */

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
	[MPT_COL_PPID] = {offsetof(struct mpt_batch, ppid), 4},
};

const void *mpa_batch_col(const struct mpt_batch *b, unsigned c)
{
	return *(const void *const *)((const char *)b + colrefs[c].off);
}

void mpa_batch_set_col(struct mpt_batch *b, unsigned c, const void *p)
{
	*(const void **)((char *)b + colrefs[c].off) = p;
}


/* ---- batches, decoded in parallel -------------------------------------------------------- */

/* Chunks are independent: N worker threads, each with its own reader, decode
 * chunks i = w, w + N, w + 2N ... of the selected list; the main thread takes
 * the batches strictly in chunk order, so the analyzers see exactly what a
 * sequential scan gives.  Each worker holds at most one decoded chunk, so
 * memory stays bounded by N chunks. */


static void *worker_main(void *arg)
{
	struct mpa_worker *w = arg;
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

static void source_release(struct mpa_source *s)
{
	if (!s->pending)
		return;
	struct mpa_worker *w = s->pending;
	pthread_mutex_lock(&w->mu);
	w->full = 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	s->pending = NULL;
}

void mpa_source_close(struct mpa_source *s)
{
	for (unsigned i = 0; s->w && i < s->nw; i++) {
		struct mpa_worker *w = &s->w[i];
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
int mpa_source_open(struct mpa_source *s, const char *path, mpt_reader *r,
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
		struct mpa_worker *w = &s->w[i];
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
	mpa_source_close(s);
	return -1;
}

/* 1 with a batch, 0 at the end, -1 on error. */
int mpa_source_next(struct mpa_source *s, const struct mpt_batch **b, char *err, size_t errlen)
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
		struct mpa_worker *w = &s->w[s->pos % s->nw];
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
unsigned mpa_decode_threads(const mpa_config *c)
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



size_t mpa_col_size(unsigned c)
{
	return c < MPT_COL_COUNT_ ? colrefs[c].size : 0;
}
