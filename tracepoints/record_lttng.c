/* mpa-record: the LTTng session through liblttng-ctl (no `lttng` process
 * per step: each cost a fork, an exec and lttng's own start, and `lttng
 * stop` and `destroy` poll the session daemon every 200 ms).  See
 * record.h and doc/recording.md. */
#include <errno.h>
#include <lttng/lttng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int failed(const char *what, int code)
{
	fprintf(stderr, PROG_NAME ": lttng %s failed: %s\n", what,
		lttng_strerror(code < 0 ? code : -code));
	return -1;
}

/* "4M", "64k", "1G" or bytes, rounded up to a power of two (as the lttng
 * command line does); 0 when malformed. */
static uint64_t pow2_size(const char *s)
{
	char *end;
	unsigned long long v, m = 1, p = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		m = 1ULL << 10;
	else if (*end == 'M')
		m = 1ULL << 20;
	else if (*end == 'G')
		m = 1ULL << 30;
	if (m > 1)
		end++;
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (1ULL << 40) / m)
		return 0;
	v *= m;
	while (p < v)
		p <<= 1;
	return p;
}

int mpa_rec_ctl_setup(const struct mpa_rec_session_cfg *c, int *made)
{
	struct lttng_domain dom;
	struct lttng_handle *h = NULL;
	struct lttng_channel *chan = NULL;
	static const enum lttng_event_context_type ctxs[] = {
		LTTNG_EVENT_CONTEXT_VPID, LTTNG_EVENT_CONTEXT_VTID, LTTNG_EVENT_CONTEXT_IP,
	};
	static const char *const events[] = {
		"mpa:*", "lttng_ust_statedump:*", "lttng_ust_dl:*",
	};
	uint64_t subbuf = pow2_size(c->subbuf_size), nsub = pow2_size(c->num_subbuf);
	int rc = -1, r;

	*made = 0;
	if (!subbuf || subbuf < 4096) {
		fprintf(stderr, PROG_NAME ": --subbuf-size '%s': expected a size of at least 4k "
			"(bytes, or with k, M, G)\n", c->subbuf_size);
		return -1;
	}
	if (!nsub || nsub < 2 || nsub > (1u << 20)) {
		fprintf(stderr, PROG_NAME ": --num-subbuf '%s': expected 2 to 1048576\n",
			c->num_subbuf);
		return -1;
	}
	if ((r = lttng_create_session(c->session, c->tracedir)) < 0)
		return failed("create", r);
	*made = 1;
	memset(&dom, 0, sizeof dom);
	dom.type = LTTNG_DOMAIN_UST;
	dom.buf_type = LTTNG_BUFFER_PER_UID;
	h = lttng_create_handle(c->session, &dom);
	chan = lttng_channel_create(&dom);
	if (!h || !chan) {
		fprintf(stderr, PROG_NAME ": out of memory\n");
		goto end;
	}
	snprintf(chan->name, sizeof chan->name, "mpa");
	chan->attr.subbuf_size = subbuf;
	chan->attr.num_subbuf = nsub;
	if (c->lossless && lttng_channel_set_blocking_timeout(chan, -1) != 0) {
		fprintf(stderr, PROG_NAME ": lttng enable-channel failed: cannot set the "
			"blocking timeout\n");
		goto end;
	}
	if ((r = lttng_enable_channel(h, chan)) < 0) {
		failed("enable-channel", r);
		goto end;
	}
	for (size_t i = 0; i < sizeof ctxs / sizeof ctxs[0]; i++) {
		struct lttng_event_context ctx;

		if (ctxs[i] == LTTNG_EVENT_CONTEXT_IP && !c->with_ip)
			continue;

		memset(&ctx, 0, sizeof ctx);
		ctx.ctx = ctxs[i];
		if ((r = lttng_add_context(h, &ctx, NULL, "mpa")) < 0) {
			failed("add-context", r);
			goto end;
		}
	}
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		struct lttng_event *ev = lttng_event_create();

		if (!ev) {
			fprintf(stderr, PROG_NAME ": out of memory\n");
			goto end;
		}
		ev->type = LTTNG_EVENT_TRACEPOINT;
		ev->loglevel_type = LTTNG_EVENT_LOGLEVEL_ALL;
		ev->loglevel = -1;
		snprintf(ev->name, sizeof ev->name, "%s", events[i]);
		r = lttng_enable_event_with_filter(h, ev, "mpa", c->filter);
		lttng_event_destroy(ev);
		if (r < 0) {
			failed("enable-event", r);
			goto end;
		}
	}
	if ((r = lttng_start_tracing(c->session)) < 0) {
		failed("start", r);
		goto end;
	}
	rc = 0;
end:
	lttng_channel_destroy(chan);
	lttng_destroy_handle(h);
	return rc;
}

int mpa_rec_ctl_stop(const char *session)
{
	int r = lttng_stop_tracing_no_wait(session);

	if (r < 0 && r != -LTTNG_ERR_TRACE_ALREADY_STOPPED)
		return failed("stop", r);
	/* the consumer daemon writes what the buffers still hold: 5 ms steps
	 * where the command line sleeps 200 ms */
	for (int i = 0; i < 60000; i++) {
		r = lttng_data_pending(session);
		if (r == 0)
			return 0;
		if (r < 0)
			return failed("stop", r);
		nap_ms(5);
	}
	fprintf(stderr, PROG_NAME ": lttng stop failed: data still pending after 300 s\n");
	return -1;
}

void *mpa_rec_ctl_destroy_start(const char *session)
{
	struct lttng_destruction_handle *dh = NULL;
	enum lttng_error_code r = lttng_destroy_session_ext(session, &dh);

	if (r != LTTNG_OK) {
		failed("destroy", -(int)r);
		return NULL;
	}
	return dh;
}

int mpa_rec_ctl_destroy_wait(void *handle)
{
	struct lttng_destruction_handle *dh = handle;
	enum lttng_error_code res = LTTNG_OK;
	int rc = 0;

	if (!dh)
		return -1;
	if (lttng_destruction_handle_wait_for_completion(dh, -1) != LTTNG_DESTRUCTION_HANDLE_STATUS_COMPLETED ||
	    lttng_destruction_handle_get_result(dh, &res) != LTTNG_DESTRUCTION_HANDLE_STATUS_OK ||
	    res != LTTNG_OK)
		rc = failed("destroy", -(int)(res != LTTNG_OK ? res : LTTNG_ERR_UNK));
	lttng_destruction_handle_destroy(dh);
	return rc;
}

int mpa_rec_ctl_destroy(const char *session)
{
	return mpa_rec_ctl_destroy_wait(mpa_rec_ctl_destroy_start(session));
}

int mpa_rec_ctl_rotate_wait(const char *session)
{
	struct lttng_rotation_handle *rh = NULL;
	enum lttng_rotation_state state = LTTNG_ROTATION_STATE_ONGOING;
	int r;

	/* one may still be under way (asked while the program ran) */
	for (int i = 0; (r = lttng_rotate_session(session, NULL, &rh)) ==
	     -LTTNG_ERR_ROTATION_PENDING && i < 60000; i++)
		nap_ms(5);
	if (r < 0)
		return failed("rotate", r);
	for (int i = 0; i < 60000; i++) {
		if (lttng_rotation_handle_get_state(rh, &state) != LTTNG_ROTATION_STATUS_OK ||
		    state != LTTNG_ROTATION_STATE_ONGOING)
			break;
		nap_ms(5);
	}
	lttng_rotation_handle_destroy(rh);
	if (state != LTTNG_ROTATION_STATE_COMPLETED) {
		fprintf(stderr, PROG_NAME ": lttng rotate failed: the last chunk was not archived\n");
		return -1;
	}
	return 0;
}

int mpa_rec_ctl_rotate(const char *session)
{
	struct lttng_rotation_handle *rh = NULL;
	int r = lttng_rotate_session(session, NULL, &rh);

	/* the archive shows up in OUTPUT/archives when it is complete */
	lttng_rotation_handle_destroy(rh);
	return r < 0 ? -1 : 0;
}
