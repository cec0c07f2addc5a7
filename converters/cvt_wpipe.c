/* Writer pipeline thread, see cvt_wpipe.h. */
#include "cvt_wpipe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUF 4          /* buffers in flight: one filling, up to 3 queued/written */
#define BUF_RECS 8192   /* records per buffer */
#define SLICE 512       /* records appended per hold of the writer lock */

struct cvt_wpipe {
	mpt_writer *w;              /* weak */
	int threaded;
	int running;                /* the thread exists and is not joined */
	pthread_t thread;
	pthread_mutex_t wlock;      /* serializes every use of w */
	pthread_mutex_t qlock;      /* protects everything below */
	pthread_cond_t qcond;       /* the queue or the free list changed */
	struct mpa_event *buf[NBUF];/* (owned by this) */
	uint32_t fill[NBUF];
	unsigned queue[NBUF], qhead, qcount; /* full buffers, oldest first */
	unsigned freeb[NBUF], nfree;/* empty buffers */
	unsigned cur;               /* the buffer being filled (sink's thread) */
	int stop;                   /* no more buffers will come */
	int discard;                /* drop what is queued (abort) */
	int failed;
	struct mpt_error err;       /* first append error */
	struct mpa_event scratch;   /* the reserved slot when not threaded */
};

static void *writer_main(void *arg)
{
	struct cvt_wpipe *p = arg;
	pthread_mutex_lock(&p->qlock);
	for (;;) {
		while (p->qcount == 0 && !p->stop)
			pthread_cond_wait(&p->qcond, &p->qlock);
		if (p->qcount == 0)
			break;
		unsigned b = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % NBUF;
		p->qcount--;
		int skip = p->failed || p->discard;
		pthread_mutex_unlock(&p->qlock);

		struct mpt_error err = { 0 };
		enum mpt_status st = MPT_OK;
		for (uint32_t i = 0; !skip && st == MPT_OK && i < p->fill[b]; i += SLICE) {
			uint32_t end = i + SLICE < p->fill[b] ? i + SLICE : p->fill[b];
			pthread_mutex_lock(&p->wlock);
			for (uint32_t k = i; k < end && st == MPT_OK; k++)
				st = mpt_writer_append(p->w, &p->buf[b][k], &err);
			pthread_mutex_unlock(&p->wlock);
		}

		pthread_mutex_lock(&p->qlock);
		if (st != MPT_OK && !p->failed) {
			p->failed = 1;
			p->err = err;
			p->err.code = st;
		}
		p->fill[b] = 0;
		p->freeb[p->nfree++] = b;
		pthread_cond_broadcast(&p->qcond);
	}
	pthread_mutex_unlock(&p->qlock);
	return NULL;
}

struct cvt_wpipe *cvt_wpipe_create(mpt_writer *w, int threaded)
{
	struct cvt_wpipe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->w = w;
	p->threaded = threaded;
	pthread_mutex_init(&p->wlock, NULL);
	pthread_mutex_init(&p->qlock, NULL);
	pthread_cond_init(&p->qcond, NULL);
	if (!threaded)
		return p;
	for (unsigned i = 0; i < NBUF; i++) {
		p->buf[i] = malloc(BUF_RECS * sizeof(struct mpa_event));
		if (!p->buf[i])
			goto fail;
		if (i > 0)
			p->freeb[p->nfree++] = i;
	}
	p->cur = 0;
	if (pthread_create(&p->thread, NULL, writer_main, p) != 0)
		goto fail;
	p->running = 1;
	return p;
fail:
	cvt_wpipe_free(p);
	return NULL;
}

static enum mpt_status copy_failure(struct cvt_wpipe *p, struct mpt_error *err)
{
	if (err)
		*err = p->err;
	return p->err.code ? p->err.code : MPT_E_IO;
}

/* Hands the current buffer to the thread and takes an empty one. */
static enum mpt_status submit(struct cvt_wpipe *p, struct mpt_error *err)
{
	enum mpt_status st = MPT_OK;
	pthread_mutex_lock(&p->qlock);
	if (p->failed) {
		/* Nothing more is written: drop the buffer, so a later
		 * reserve or append stays inside it. */
		p->fill[p->cur] = 0;
		st = copy_failure(p, err);
		goto end;
	}
	p->queue[(p->qhead + p->qcount) % NBUF] = p->cur;
	p->qcount++;
	pthread_cond_broadcast(&p->qcond);
	while (p->nfree == 0)
		pthread_cond_wait(&p->qcond, &p->qlock);
	p->cur = p->freeb[--p->nfree];
end:
	pthread_mutex_unlock(&p->qlock);
	return st;
}

enum mpt_status cvt_wpipe_append(struct cvt_wpipe *p, const struct mpa_event *e,
				 struct mpt_error *err)
{
	if (!p->running)
		return mpt_writer_append(p->w, e, err);
	p->buf[p->cur][p->fill[p->cur]++] = *e;
	if (p->fill[p->cur] == BUF_RECS)
		return submit(p, err);
	return MPT_OK;
}

struct mpa_event *cvt_wpipe_reserve(struct cvt_wpipe *p)
{
	if (!p->running)
		return &p->scratch;
	return &p->buf[p->cur][p->fill[p->cur]];
}

enum mpt_status cvt_wpipe_commit(struct cvt_wpipe *p, struct mpt_error *err)
{
	if (!p->running)
		return mpt_writer_append(p->w, &p->scratch, err);
	if (++p->fill[p->cur] == BUF_RECS)
		return submit(p, err);
	return MPT_OK;
}

void cvt_wpipe_lock(struct cvt_wpipe *p)
{
	if (p->running)
		pthread_mutex_lock(&p->wlock);
}

void cvt_wpipe_unlock(struct cvt_wpipe *p)
{
	if (p->running)
		pthread_mutex_unlock(&p->wlock);
}

static void stop_thread(struct cvt_wpipe *p, int discard)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->qlock);
	p->stop = 1;
	p->discard |= discard;
	pthread_cond_broadcast(&p->qcond);
	pthread_mutex_unlock(&p->qlock);
	pthread_join(p->thread, NULL);
	p->running = 0;
}

enum mpt_status cvt_wpipe_finish(struct cvt_wpipe *p, struct mpt_error *err)
{
	enum mpt_status st = MPT_OK;
	if (!p->running)
		return MPT_OK;
	if (p->fill[p->cur] > 0)
		st = submit(p, err);
	stop_thread(p, 0);
	if (st == MPT_OK && p->failed)
		st = copy_failure(p, err);
	return st;
}

void cvt_wpipe_free(struct cvt_wpipe *p)
{
	if (!p)
		return;
	stop_thread(p, 1);
	for (unsigned i = 0; i < NBUF; i++)
		free(p->buf[i]);
	pthread_cond_destroy(&p->qcond);
	pthread_mutex_destroy(&p->qlock);
	pthread_mutex_destroy(&p->wlock);
	free(p);
}
