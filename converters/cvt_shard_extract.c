/* The extract stage of parallel decoding (see cvt_shards.c): one process
 * decodes one piece of a stream file with src.ctf.fs and writes its events
 * as plain records (cvt_shards_proto.h).  It maps nothing: classes are
 * resolved as the sink resolves them (cvt_class_new), and an event is read
 * into registers and payload members as the sink reads it
 * (cvt_read_event); the mapping runs once, in the sink, over the merge. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvt_shards_proto.h"
#include "cvt_sink.h"

#define OUT_BUF (1u << 18)

struct wk {
	int fd;
	uint8_t *buf;
	size_t len;
	int io_failed;
	struct cvt_class **cls;
	size_t n, cap;
	struct cvt_map idx;     /* event class pointer -> local id */
	struct {
		const bt_event_class *ec;
		uint16_t id;
	} cache[64];
	int sent_trace;
	const char *fallback;   /* reason, when the sequential order cannot be reproduced */
	uint64_t max_packets;   /* decode this many packets (0: all) */
	uint64_t packets;
	int stop;
	uint64_t stack_cap;
	uint64_t *stack;
	/* stacks sent (SHARD_STACK): hash -> id, and their addresses */
	struct cvt_map stacks;
	uint64_t *arena;
	size_t arena_len, arena_cap;
	size_t *stk_off;
	uint32_t *stk_n;
	uint32_t nstk, capstk;
};

static uint64_t stack_hash(const uint64_t *a, uint32_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h = (h ^ a[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static void put_u8(struct wk *w, uint8_t v);
static void put_u32(struct wk *w, uint32_t v);
static void put(struct wk *w, const void *p, size_t n);

/* The id of this stack, defined once per piece (SHARD_STACK); a stack
 * whose hash another one has is sent inline. */
static uint32_t stack_id(struct wk *w, const uint64_t *a, uint32_t n)
{
	if (n == 0)
		return SHARD_STACK_INLINE; /* (interned mpa:* events: an empty member) */
	uint64_t h = stack_hash(a, n);
	uint64_t *v = cvt_map_find(&w->stacks, h, n);
	if (v) {
		uint32_t id = (uint32_t)*v;
		if (memcmp(w->arena + w->stk_off[id], a, (size_t)n * 8) == 0)
			return id;
		return SHARD_STACK_INLINE;
	}
	if (w->nstk >= SHARD_STACK_INLINE - 1)
		return SHARD_STACK_INLINE;
	if (w->arena_len + n > w->arena_cap) {
		size_t ncap = w->arena_cap ? w->arena_cap * 2 : 4096;
		while (ncap < w->arena_len + n)
			ncap *= 2;
		uint64_t *na = realloc(w->arena, ncap * sizeof(*na));
		if (!na)
			return SHARD_STACK_INLINE;
		w->arena = na;
		w->arena_cap = ncap;
	}
	if (w->nstk == w->capstk) {
		uint32_t ncap = w->capstk ? w->capstk * 2 : 256;
		size_t *no = realloc(w->stk_off, ncap * sizeof(*no));
		if (!no)
			return SHARD_STACK_INLINE;
		w->stk_off = no;
		uint32_t *nn = realloc(w->stk_n, ncap * sizeof(*nn));
		if (!nn)
			return SHARD_STACK_INLINE;
		w->stk_n = nn;
		w->capstk = ncap;
	}
	if (cvt_map_put(&w->stacks, h, n, w->nstk, NULL))
		return SHARD_STACK_INLINE;
	uint32_t id = w->nstk++;
	memcpy(w->arena + w->arena_len, a, (size_t)n * 8);
	w->stk_off[id] = w->arena_len;
	w->stk_n[id] = n;
	w->arena_len += n;
	put_u8(w, SHARD_STACK);
	put_u32(w, id);
	put_u32(w, n);
	put(w, a, (size_t)n * 8);
	return id;
}

static void flush(struct wk *w)
{
	size_t off = 0;
	while (off < w->len && !w->io_failed) {
		ssize_t r = write(w->fd, w->buf + off, w->len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			w->io_failed = 1;
		else
			off += (size_t)r;
	}
	w->len = 0;
}

static void put(struct wk *w, const void *p, size_t n)
{
	if (w->len + n > OUT_BUF)
		flush(w);
	if (n > OUT_BUF) {
		/* larger than the buffer: straight through */
		size_t off = 0;
		while (off < n && !w->io_failed) {
			ssize_t r = write(w->fd, (const uint8_t *)p + off, n - off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				w->io_failed = 1;
			else
				off += (size_t)r;
		}
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_u8(struct wk *w, uint8_t v) { put(w, &v, 1); }
static void put_u32(struct wk *w, uint32_t v) { put(w, &v, 4); }

static void put_msg(struct wk *w, uint8_t tag, const char *msg)
{
	size_t l = strlen(msg);
	if (l > 1000)
		l = 1000;
	uint16_t l16 = (uint16_t)l;
	put_u8(w, tag);
	put(w, &l16, 2);
	put(w, msg, l);
}

static int class_id(struct wk *w, const bt_event_class *ec, uint16_t *id)
{
	size_t h = ((uintptr_t)ec >> 4 ^ (uintptr_t)ec >> 10) & 63;
	if (w->cache[h].ec == ec) {
		*id = w->cache[h].id;
		return 0;
	}
	uint64_t *ix = cvt_map_find(&w->idx, (uintptr_t)ec, 0);
	if (ix) {
		*id = (uint16_t)*ix;
	} else {
		if (w->n >= UINT16_MAX)
			return -1;
		struct cvt_class *c = cvt_class_new(ec);
		if (!c)
			return -1;
		if (w->n == w->cap) {
			size_t ncap = w->cap ? w->cap * 2 : 32;
			void *nv = realloc(w->cls, ncap * sizeof(*w->cls));
			if (!nv) {
				cvt_class_free(c);
				return -1;
			}
			w->cls = nv;
			w->cap = ncap;
		}
		if (cvt_map_put(&w->idx, (uintptr_t)ec, 0, w->n, NULL)) {
			cvt_class_free(c);
			return -1;
		}
		*id = (uint16_t)w->n;
		w->cls[w->n++] = c;
		size_t nl = strlen(c->name);
		if (nl > UINT16_MAX)
			nl = UINT16_MAX;
		const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
		struct shard_class_def d = {
			.sc_id = bt_stream_class_get_id(sc), .ec_id = bt_event_class_get_id(ec),
			.present = c->present, .stack_index = c->stack_index,
			.str_index = c->str_index, .str2_index = c->str2_index,
			.bytes_index = c->bytes_index, .local_id = *id, .name_len = (uint16_t)nl,
			.mapper = (uint8_t)c->mapper, .domain = c->domain, .counter = c->counter,
			.has_clock = c->has_clock,
		};
		put_u8(w, SHARD_CLASS);
		put(w, &d, sizeof d);
		put(w, c->name, nl);
	}
	w->cache[h].ec = ec;
	w->cache[h].id = *id;
	return 0;
}

static void put_string(struct wk *w, const struct cvt_in *in, const struct cvt_class *c, int32_t index)
{
	uint64_t len = 0;
	const char *v = cvt_in_string(in, c, index, &len);
	if (!v || len > UINT32_MAX - 1)
		len = 0;
	put_u32(w, (uint32_t)len);
	if (len)
		put(w, v, len);
}

static int event(struct wk *w, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	uint16_t id;
	if (class_id(w, bt_event_borrow_class_const(ev), &id))
		return -1;
	struct cvt_class *c = w->cls[id];
	if (c->mapper == M_UNKNOWN) {
		put_u8(w, SHARD_UNKNOWN);
		put(w, &id, 2);
		return 0;
	}
	struct cvt_in in;
	cvt_read_event(c, msg, ev, &in);
	if (!in.ts_ok) {
		w->fallback = "an event without a time";
		return 0;
	}
	/* the stack first: its definition (SHARD_STACK) goes before the event */
	uint32_t n = 0, sid = SHARD_STACK_INLINE;
	if (c->stack_index >= 0 && in.payload) {
		const bt_field *arr = bt_field_structure_borrow_member_field_by_index_const(
			in.payload, (uint64_t)c->stack_index);
		uint64_t len = bt_field_array_get_length(arr);
		if (len > CVT_MAX_STACK)
			len = CVT_MAX_STACK;
		if (len > w->stack_cap) {
			uint64_t *ns = realloc(w->stack, CVT_MAX_STACK * sizeof(*ns));
			if (!ns)
				return -1;
			w->stack = ns;
			w->stack_cap = CVT_MAX_STACK;
		}
		for (uint64_t i = 0; i < len; i++)
			w->stack[i] = bt_field_integer_unsigned_get_value(
				bt_field_array_borrow_element_field_by_index_const(arr, i));
		n = (uint32_t)len;
	}
	/* a stack is sent once per piece, then named by its id */
	if (c->stack_index >= 0)
		sid = stack_id(w, w->stack, n);
	uint8_t rec[1 + SHARD_EVENT_HEAD + 8 * R_COUNT_];
	size_t l = 0;
	rec[l++] = SHARD_EVENT;
	memcpy(rec + l, &id, 2);
	memcpy(rec + l + 2, &in.ts, 8);
	l += SHARD_EVENT_HEAD;
	for (uint64_t m = c->present; m; m &= m - 1, l += 8)
		memcpy(rec + l, &c->r[__builtin_ctzll(m)], 8);
	put(w, rec, l);
	if (c->stack_index < 0 && c->str_index < 0 && c->str2_index < 0 && c->bytes_index < 0)
		return 0;
	if (c->stack_index >= 0) {
		put_u32(w, sid);
		if (sid == SHARD_STACK_INLINE) {
			put_u32(w, n);
			if (n)
				put(w, w->stack, (size_t)n * 8);
		}
	}
	if (c->str_index >= 0)
		put_string(w, &in, c, c->str_index);
	if (c->str2_index >= 0)
		put_string(w, &in, c, c->str2_index);
	if (c->bytes_index >= 0) {
		uint8_t bytes[CVT_MAX_BUILD_ID];
		uint64_t nb = 0;
		if (in.payload)
			nb = cvt_in_bytes(c, &in, bytes);
		put_u32(w, nb > UINT32_MAX ? UINT32_MAX : (uint32_t)nb);
		if (nb && nb <= CVT_MAX_BUILD_ID)
			put(w, bytes, nb);
	}
	return 0;
}

static void trace(struct wk *w, const bt_stream *stream)
{
	char desc[1024];
	const char *clock, *host, *tracer;
	int has_clock = cvt_trace_describe(stream, desc, sizeof desc, &clock, &host, &tracer);
	struct shard_trace_def d = {
		.desc_len = (uint32_t)strlen(desc),
		.clock_len = has_clock ? (uint32_t)strlen(clock) : 0,
		.host_len = host ? (uint32_t)strlen(host) : 0,
		.tracer_len = tracer ? (uint32_t)strlen(tracer) : 0,
		.has_clock = (uint8_t)has_clock, .has_host = host != NULL, .has_tracer = tracer != NULL,
	};
	put_u8(w, SHARD_TRACE);
	put(w, &d, sizeof d);
	put(w, desc, d.desc_len);
	put(w, clock, d.clock_len);
	put(w, host, d.host_len);
	put(w, tracer, d.tracer_len);
	w->sent_trace = 1;
}

static bt_graph_simple_sink_component_consume_func_status consume(bt_message_iterator *it, void *data)
{
	struct wk *w = data;
	bt_message_array_const msgs;
	uint64_t count = 0, i = 0;
	int rc = 0;

	switch (bt_message_iterator_next(it, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (; i < count && rc == 0 && !w->fallback && !w->io_failed && !w->stop; i++) {
		const bt_message *msg = msgs[i];
		switch (bt_message_get_type(msg)) {
		case BT_MESSAGE_TYPE_EVENT:
			rc = event(w, msg);
			break;
		case BT_MESSAGE_TYPE_PACKET_BEGINNING:
			/* a piece read in place ends where the next one begins */
			if (w->max_packets && ++w->packets > w->max_packets)
				w->stop = 1;
			break;
		case BT_MESSAGE_TYPE_STREAM_BEGINNING: {
			const bt_stream *stream = bt_message_stream_beginning_borrow_stream_const(msg);
			const bt_stream_class *sc = bt_stream_borrow_class_const(stream);
			if (!w->sent_trace)
				trace(w, stream);
			/* flt.utils.muxer's order of events at one time */
			uint64_t ids[2] = { bt_stream_class_get_id(sc), bt_stream_get_id(stream) };
			put_u8(w, SHARD_STREAM);
			put(w, ids, sizeof ids);
			put_u8(w, !bt_stream_class_assigns_automatic_stream_id(sc));
			break;
		}
		case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
		case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
			w->fallback = "discarded events or packets";
			break;
		default:
			break;
		}
		bt_message_put_ref(msg);
	}
	for (; i < count; i++)
		bt_message_put_ref(msgs[i]);
	if (rc || w->fallback || w->io_failed)
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	if (w->stop)
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

static int copy_range(const char *from, const char *to, uint64_t off, uint64_t len)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	loff_t o = (loff_t)off;
	int rc = 0;
	while (len > 0) {
		ssize_t n = copy_file_range(in, &o, out, NULL, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* no copy_file_range across these filesystems: read/write */
			static char buf[1 << 20];
			ssize_t r = pread(in, buf, len < sizeof buf ? len : sizeof buf, o);
			if (r <= 0 || write(out, buf, (size_t)r) != r) {
				rc = -1;
				break;
			}
			n = r;
			o += r;
		}
		len -= (uint64_t)n;
	}
	if (close(out) != 0)
		rc = -1;
	close(in);
	return rc;
}

/* The root cause of the current thread's error, one line. */
static void bt_error_line(char *out, size_t n, const char *dflt)
{
	const bt_error *err = bt_current_thread_take_error();
	if (!err || bt_error_get_cause_count(err) == 0) {
		snprintf(out, n, "%s", dflt);
	} else {
		snprintf(out, n, "%s", bt_error_cause_get_message(bt_error_borrow_cause_by_index(err, 0)));
		char *nl = strchr(out, '\n');
		if (nl)
			*nl = 0;
	}
	bt_error_release(err);
}

int cvt_shard_extract(const char *dir, int fd)
{
	struct wk w = { .fd = fd };
	const bt_plugin *ctf = NULL;
	bt_graph *g = NULL;
	bt_value *params = NULL, *arr = NULL;
	const bt_component_source *src = NULL;
	const bt_component_sink *sink = NULL;
	char msg[1024] = "";
	int status = 1;

	cvt_map_init(&w.idx);
	cvt_map_init(&w.stacks);
	w.buf = malloc(OUT_BUF);
	if (!w.buf)
		return 1;
	{
		char pf[4096];
		snprintf(pf, sizeof pf, "%s/" SHARD_PACKETS_FILE, dir);
		FILE *f = fopen(pf, "r");
		unsigned long long n = 0;
		if (f) {
			if (fscanf(f, "%llu", &n) != 1 || n == 0) {
				fclose(f);
				put_msg(&w, SHARD_ERROR, "a piece of the trace has a bad packet count");
				flush(&w);
				return 1;
			}
			fclose(f);
			w.max_packets = n;
		}
		snprintf(pf, sizeof pf, "%s/" SHARD_RANGE_FILE, dir);
		f = fopen(pf, "r");
		if (f) {
			char name[256], src[4200], dst[4400];
			unsigned long long off, len;
			int ok = fscanf(f, "%255s %llu %llu", name, &off, &len) == 3;
			fclose(f);
			snprintf(src, sizeof src, "%s/" SHARD_SRC_FILE, dir);
			snprintf(dst, sizeof dst, "%s/%s", dir, name);
			if (!ok || strchr(name, '/') || copy_range(src, dst, off, len) != 0)
				return 3; /* no room for the piece: one job */
		}
	}
	if (bt_plugin_find("ctf", BT_TRUE, BT_FALSE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf) !=
	    BT_PLUGIN_FIND_STATUS_OK) {
		snprintf(msg, sizeof msg, "cannot load babeltrace2's ctf plugin");
		goto end;
	}
	const bt_component_class_source *fs = bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
	g = bt_graph_create(0);
	params = bt_value_map_create();
	if (!fs || !g || !params || bt_value_map_insert_empty_array_entry(params, "inputs", &arr) ||
	    bt_value_array_append_string_element(arr, dir)) {
		snprintf(msg, sizeof msg, "cannot set up the decoding of '%s'", dir);
		goto end;
	}
	if (bt_graph_add_source_component(g, fs, "shard", params, BT_LOGGING_LEVEL_NONE, &src) !=
		    BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
	    bt_graph_add_simple_sink_component(g, "extract", NULL, consume, NULL, &w, &sink) !=
		    BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		bt_error_line(msg, sizeof msg, "cannot open a piece of the trace");
		goto end;
	}
	if (bt_component_source_get_output_port_count(src) != 1) {
		snprintf(msg, sizeof msg, "a piece of the trace ('%s') holds %" PRIu64 " streams, not one",
			 dir, bt_component_source_get_output_port_count(src));
		goto end;
	}
	if (bt_graph_connect_ports(g, bt_component_source_borrow_output_port_by_index_const(src, 0),
				   bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) !=
	    BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		bt_error_line(msg, sizeof msg, "cannot connect the decoding");
		goto end;
	}
	for (;;) {
		bt_graph_run_status st = bt_graph_run(g);
		if (st == BT_GRAPH_RUN_STATUS_OK)
			break;
		if (st == BT_GRAPH_RUN_STATUS_AGAIN) {
			usleep(1000);
			continue;
		}
		if (!w.fallback && !w.io_failed)
			bt_error_line(msg, sizeof msg, "cannot decode a piece of the trace");
		goto end;
	}
	put_u8(&w, SHARD_END);
	status = 0;
end:
	if (w.fallback) {
		put_msg(&w, SHARD_FALLBACK, w.fallback);
		status = 3;
	} else if (status != 0 && msg[0]) {
		put_msg(&w, SHARD_ERROR, msg);
	}
	flush(&w);
	if (w.io_failed)
		status = 3; /* no room for the records (a spill file): one job */
	/* the process ends here: no teardown of the graph or classes */
	return status;
}
