/* mpa-convert — the end of a live session from the relay's list (cvt_live.h). */
#include <stdlib.h>
#include <string.h>

#include "cvt_live.h"

struct cvt_live_watch {
	const bt_component_class_source *cls; /* weak: the plugin outlives us */
	char *base;            /* net://RELAY[:PORT] */
	char *host, *session;  /* the URL's HOSTNAME and SESSION */
	uint64_t last_query_ns;
	uint64_t gone_since_ns; /* 0: listed at the last query */
	uint64_t gone_messages; /* the sink's count when that began */
};

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

struct cvt_live_watch *cvt_live_watch_new(const bt_component_class_source *live_cls,
					  const char *url)
{
	const char *h = strstr(url, "/host/");
	const char *slash = h ? strchr(h + 6, '/') : NULL;
	if (!live_cls || !h || !slash || slash == h + 6 || !slash[1] || strchr(slash + 1, '/'))
		return NULL;
	struct cvt_live_watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->cls = live_cls;
	w->base = dup_n(url, (size_t)(h - url));
	w->host = dup_n(h + 6, (size_t)(slash - h - 6));
	w->session = strdup(slash + 1);
	if (!w->base || !w->host || !w->session) {
		cvt_live_watch_free(w);
		return NULL;
	}
	return w;
}

/* 1 listed, 0 not listed, -1 the relay did not answer the query */
static int listed(const struct cvt_live_watch *w)
{
	bt_value *params = bt_value_map_create();
	bt_query_executor *q = NULL;
	const bt_value *res = NULL;
	int rc = -1;
	if (!params || bt_value_map_insert_string_entry(params, "url", w->base))
		goto end;
	q = bt_query_executor_create(bt_component_class_source_as_component_class_const(w->cls),
				     "sessions", params);
	if (!q)
		goto end;
	bt_query_executor_set_logging_level(q, BT_LOGGING_LEVEL_NONE);
	if (bt_query_executor_query(q, &res) != BT_QUERY_EXECUTOR_QUERY_STATUS_OK ||
	    !res || !bt_value_is_array(res)) {
		bt_current_thread_clear_error();
		goto end;
	}
	rc = 0;
	for (uint64_t i = 0; i < bt_value_array_get_length(res) && !rc; i++) {
		const bt_value *e = bt_value_array_borrow_element_by_index_const(res, i);
		if (!bt_value_is_map(e))
			continue;
		const bt_value *n = bt_value_map_borrow_entry_value_const(e, "session-name");
		const bt_value *t = bt_value_map_borrow_entry_value_const(e, "target-hostname");
		if (n && t && bt_value_is_string(n) && bt_value_is_string(t) &&
		    !strcmp(bt_value_string_get(n), w->session) &&
		    !strcmp(bt_value_string_get(t), w->host))
			rc = 1;
	}
end:
	bt_value_put_ref(res);
	bt_query_executor_put_ref(q);
	bt_value_put_ref(params);
	return rc;
}

int cvt_live_watch_idle(struct cvt_live_watch *w, uint64_t messages, uint64_t now_ns,
			uint64_t grace_ns)
{
	if (!w)
		return 0;
	if (w->gone_since_ns && messages != w->gone_messages) {
		/* the source still delivers: the grace starts again */
		w->gone_since_ns = now_ns;
		w->gone_messages = messages;
	}
	if (now_ns - w->last_query_ns < UINT64_C(1000000000))
		return w->gone_since_ns && now_ns - w->gone_since_ns >= grace_ns;
	w->last_query_ns = now_ns;
	if (listed(w) == 1) {
		w->gone_since_ns = 0;
		return 0;
	}
	if (!w->gone_since_ns) {
		w->gone_since_ns = now_ns;
		w->gone_messages = messages;
	}
	return now_ns - w->gone_since_ns >= grace_ns;
}

void cvt_live_watch_free(struct cvt_live_watch *w)
{
	if (!w)
		return;
	free(w->base);
	free(w->host);
	free(w->session);
	free(w);
}
