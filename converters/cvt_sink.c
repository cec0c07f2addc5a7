/* sink.mpa.mpt: lifecycle, message handling and the end of conversion
 * (symbolization, capture metadata, writer close).  Event mapping lives in
 * cvt_evmap.c. */
#include "cvt_ksyms.h"
#include "cvt_sink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cvt_plugin.h"
#include "cvt_topo.h"
#include "mpa/event.h"

#define SELF_COMP(s) bt_self_component_sink_as_self_component((s)->self)
#define APPEND_CAUSE(s, ...) \
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(SELF_COMP(s), __VA_ARGS__)

#define PROGRESS_EVERY 65536

static void sink_free(struct cvt_sink *s)
{
	if (!s)
		return;
	bt_message_iterator_put_ref(s->iter);
	cvt_wpipe_free(s->pipe); /* first: its thread may be using the writer */
	mpt_writer_abort(s->w); /* still open: conversion did not complete */
	cvt_symtab_free(s->st);
	cvt_ksyms_free(s->ksyms);
	for (size_t i = 0; i < s->nclasses; i++)
		cvt_class_free(s->classes[i]);
	free(s->classes);
	cvt_map_release(&s->class_index);
	for (size_t i = 0; i < s->nstreams; i++) {
		bt_stream_put_ref(s->streams[i].stream);
		free(s->streams[i].name);
	}
	free(s->streams);
	cvt_map_release(&s->stream_index);
	for (size_t i = 0; i < s->nsnames; i++)
		free(s->snames[i].name);
	free(s->snames);
	for (size_t i = 0; i < s->ntraces; i++) {
		if (s->traces[i].trace)
			bt_trace_put_ref(s->traces[i].trace);
		free(s->traces[i].desc);
		free(s->traces[i].host);
		free(s->traces[i].tracer);
	}
	cvt_shards_free(s->shards);
	bt_value_put_ref(s->shard_param);
	free(s->traces);
	cvt_map_release(&s->single_stacks);
	cvt_map_release(&s->forked);
	cvt_map_release(&s->stack_defs);
	cvt_map_release(&s->stack_epochs);
	free(s->stack_buf);
	free(s->ip_buf);
	free(s->path);
	free(s->command);
	free(s->topology);
	bt_value_put_ref(s->extra_meta);
	free(s);
}

/* ---- parameters ------------------------------------------------------------ */

static bt_value_map_foreach_entry_const_func_status check_extra_meta(const char *key,
								     const bt_value *v, void *data)
{
	(void)data;
	if (strncmp(key, "record.", 7) != 0 || key[7] == '\0' || !bt_value_is_string(v))
		return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_INTERRUPT;
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

static int param_uint(struct cvt_sink *s, const bt_value *params, const char *key,
		      uint64_t lo, uint64_t hi, uint64_t *out)
{
	const bt_value *v = bt_value_map_borrow_entry_value_const(params, key);
	if (!v)
		return 0;
	int64_t sv;
	switch (bt_value_get_type(v)) {
	case BT_VALUE_TYPE_UNSIGNED_INTEGER:
		*out = bt_value_integer_unsigned_get(v);
		break;
	case BT_VALUE_TYPE_SIGNED_INTEGER:
		sv = bt_value_integer_signed_get(v);
		if (sv < 0)
			goto bad;
		*out = (uint64_t)sv;
		break;
	default:
		goto bad;
	}
	if (*out < lo || *out > hi)
		goto bad;
	return 0;
bad:
	APPEND_CAUSE(s, "Parameter `%s` must be an integer in [%" PRIu64 ", %" PRIu64 "].",
		     key, lo, hi);
	return -1;
}

static int parse_params(struct cvt_sink *s, const bt_value *params)
{
	const bt_value *v = bt_value_map_borrow_entry_value_const(params, "path");
	if (!v || !bt_value_is_string(v) || !*bt_value_string_get(v)) {
		APPEND_CAUSE(s, "Missing or invalid `path` parameter (a non-empty string).");
		return -1;
	}
	s->path = strdup(bt_value_string_get(v));
	if (!s->path) {
		APPEND_CAUSE(s, "Out of memory copying parameters.");
		return -1;
	}
	uint64_t rows = 0, level = 0;
	if (param_uint(s, params, "chunk-rows", 1, 1u << 24, &rows))
		return -1;
	/* Negative zstd levels are accepted as signed values. */
	const bt_value *lv = bt_value_map_borrow_entry_value_const(params, "compression-level");
	if (lv && bt_value_get_type(lv) == BT_VALUE_TYPE_SIGNED_INTEGER) {
		int64_t l = bt_value_integer_signed_get(lv);
		if (l < -7 || l > 22) {
			APPEND_CAUSE(s, "Parameter `compression-level` must be in [-7, 22].");
			return -1;
		}
		s->opts.zstd_level = (int)l;
	} else if (param_uint(s, params, "compression-level", 0, 22, &level)) {
		return -1;
	} else {
		s->opts.zstd_level = (int)level;
	}
	s->opts.chunk_rows = (uint32_t)rows;
	v = bt_value_map_borrow_entry_value_const(params, "command");
	if (v && bt_value_is_string(v) && !(s->command = strdup(bt_value_string_get(v)))) {
		APPEND_CAUSE(s, "Out of memory copying parameters.");
		return -1;
	}
	/* `meta`: a map of extra metadata from the recorder (mpa-record's
	 * record.* labels); only string values under "record." */
	v = bt_value_map_borrow_entry_value_const(params, "meta");
	if (v) {
		if (!bt_value_is_map(v) ||
		    bt_value_map_foreach_entry_const(v, check_extra_meta, NULL) !=
			    BT_VALUE_MAP_FOREACH_ENTRY_CONST_STATUS_OK) {
			APPEND_CAUSE(s, "Parameter `meta` must map keys starting with `record.` to strings.");
			return -1;
		}
		if (bt_value_copy(v, &s->extra_meta) != BT_VALUE_COPY_STATUS_OK) {
			APPEND_CAUSE(s, "Out of memory copying parameters.");
			return -1;
		}
	}
	s->pipeline = 1;
	v = bt_value_map_borrow_entry_value_const(params, "pipeline");
	if (v) {
		if (!bt_value_is_bool(v)) {
			APPEND_CAUSE(s, "Parameter `pipeline` must be a boolean.");
			return -1;
		}
		s->pipeline = bt_value_bool_get(v);
	}
	v = bt_value_map_borrow_entry_value_const(params, "segments");
	if (v) {
		if (!bt_value_is_string(v) || !*bt_value_string_get(v)) {
			APPEND_CAUSE(s, "Parameter `segments` must be a non-empty string (a directory).");
			return -1;
		}
		if (!(s->segdir = strdup(bt_value_string_get(v)))) {
			APPEND_CAUSE(s, "Out of memory copying parameters.");
			return -1;
		}
		/* segments are cut on the sink's thread: no writer thread */
		s->pipeline = 0;
	}
	uint64_t iv = 0;
	if (param_uint(s, params, "segment-interval-ns", 1000000, UINT64_C(3600000000000), &iv))
		return -1;
	s->seg_interval_ns = iv ? iv : UINT64_C(500000000);
	s->seg_next = 1;
	v = bt_value_map_borrow_entry_value_const(params, "shards");
	if (v) {
		/* an array (streams) of arrays (their pieces, in order) of folders */
		int ok = bt_value_is_array(v) && bt_value_array_get_length(v) > 0;
		for (uint64_t i = 0; ok && i < bt_value_array_get_length(v); i++) {
			const bt_value *a = bt_value_array_borrow_element_by_index_const(v, i);
			ok = bt_value_is_array(a) && bt_value_array_get_length(a) > 0;
			for (uint64_t j = 0; ok && j < bt_value_array_get_length(a); j++)
				ok = bt_value_is_string(bt_value_array_borrow_element_by_index_const(a, j));
		}
		if (!ok || s->segdir) {
			APPEND_CAUSE(s, "Parameter `shards` must be a non-empty array of non-empty arrays of folders (and excludes `segments`).");
			return -1;
		}
		if (bt_value_copy(v, &s->shard_param) != BT_VALUE_COPY_STATUS_OK) {
			APPEND_CAUSE(s, "Out of memory copying parameters.");
			return -1;
		}
	}
	v = bt_value_map_borrow_entry_value_const(params, "topology");
	if (v) {
		if (!bt_value_is_string(v) || !*bt_value_string_get(v)) {
			APPEND_CAUSE(s, "Parameter `topology` must be a non-empty string (a topology file).");
			return -1;
		}
		s->topology = strdup(bt_value_string_get(v));
		if (!s->topology) {
			APPEND_CAUSE(s, "Out of memory copying parameters.");
			return -1;
		}
	}
	s->symbolize = 1;
	v = bt_value_map_borrow_entry_value_const(params, "symbolize");
	if (v) {
		if (!bt_value_is_bool(v)) {
			APPEND_CAUSE(s, "Parameter `symbolize` must be a boolean.");
			return -1;
		}
		s->symbolize = bt_value_bool_get(v);
	}
	v = bt_value_map_borrow_entry_value_const(params, "kallsyms");
	if (v) {
		char kerr[512];
		if (!bt_value_is_string(v) || !*bt_value_string_get(v)) {
			APPEND_CAUSE(s, "Parameter `kallsyms` must be a non-empty string (a path).");
			return -1;
		}
		s->ksyms = cvt_ksyms_load(bt_value_string_get(v), kerr, sizeof kerr);
		if (!s->ksyms) {
			APPEND_CAUSE(s, "%s", kerr);
			return -1;
		}
	}
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

bt_component_class_initialize_method_status mpa_mpt_sink_initialize(
	bt_self_component_sink *self, bt_self_component_sink_configuration *config,
	const bt_value *params, void *init_method_data)
{
	bt_component_class_initialize_method_status status =
		BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
	struct mpt_error err = { 0 };
	struct mpa_sink_hooks *h = init_method_data;
	struct cvt_sink *s;
	(void)config;

	if (h && h->magic != MPA_SINK_HOOKS_MAGIC)
		h = NULL;
	if (h && h->carry && h->carry->state) {
		/* the next window of a capture written in chunks: the state
		 * the previous graph's sink left */
		s = h->carry->state;
		h->carry->state = NULL;
		s->carried = 0;
		s->self = self;
		s->hooks = h;
		if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
		    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
			APPEND_CAUSE(s, "Failed to add the input port.");
			goto error;
		}
		bt_self_component_set_data(SELF_COMP(s), s);
		goto end;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			bt_self_component_sink_as_self_component(self),
			"Failed to allocate the sink state.");
		status = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto end;
	}
	s->self = self;
	cvt_map_init(&s->class_index);
	cvt_map_init(&s->stream_index);
	cvt_map_init(&s->single_stacks);
	cvt_map_init(&s->forked);
	cvt_map_init(&s->stack_defs);
	cvt_map_init(&s->stack_epochs);
	s->hooks = h;
	s->carry = h ? h->carry : NULL;
	if (parse_params(s, params))
		goto error;
	/* the extract processes are forked before the writer thread exists */
	if (s->shard_param && cvt_shards_start(s))
		goto error;
	if (mpt_writer_open(s->path, &s->opts, &s->w, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to open the output capture: %s", err.msg);
		goto error;
	}
	if (s->segdir && mpt_writer_keep_segments(s->w, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to start segments: %s", err.msg);
		goto error;
	}
	if (s->topology) {
		struct mpt_topology t;
		char terr[512];

		if (cvt_topo_load(s->topology, &t, terr, sizeof terr) != 0) {
			APPEND_CAUSE(s, "Failed to read the topology: %s", terr);
			goto error;
		}
		enum mpt_status ts = mpt_writer_topology(s->w, &t, &err);
		cvt_topo_release(&t);
		if (ts != MPT_OK) {
			APPEND_CAUSE(s, "Failed to store the topology: %s", err.msg);
			goto error;
		}
	}
	s->pipe = cvt_wpipe_create(s->w, s->pipeline);
	if (!s->pipe) {
		APPEND_CAUSE(s, "Failed to start the writer thread.");
		goto error;
	}
	s->st = cvt_symtab_create(s->w, s->pipe);
	if (!s->st) {
		APPEND_CAUSE(s, "Failed to allocate the symbol table.");
		goto error;
	}
	cvt_symtab_set_ksyms(s->st, s->ksyms);
	if (!s->shard_param && bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		APPEND_CAUSE(s, "Failed to add the input port.");
		goto error;
	}
	bt_self_component_set_data(SELF_COMP(s), s);
	goto end;
error:
	sink_free(s);
	status = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
end:
	return status;
}

void mpa_mpt_sink_finalize(bt_self_component_sink *self)
{
	struct cvt_sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));

	if (s && !s->carried)
		sink_free(s);
}

/* ---- one capture over several graphs (struct mpa_sink_carry) -------------- */

static void carry_release(struct mpa_sink_carry *c)
{
	struct cvt_sink *s = c->state;

	c->state = NULL;
	if (s) {
		s->carried = 0;
		sink_free(s);
	}
}

/* The end of one window's graph: drops what belongs to that graph (its
 * iterator, event classes, streams), keeps everything the capture needs
 * (writer, tables, interning, counts: a class seen in several graphs is
 * counted under its name) and leaves the state in the carry. */
static void sink_detach(struct cvt_sink *s)
{
	bt_message_iterator_put_ref(s->iter);
	s->iter = NULL;
	for (size_t i = 0; i < s->nclasses; i++) {
		bt_event_class_put_ref(s->classes[i]->ec);
		s->classes[i]->ec = NULL;
	}
	cvt_map_release(&s->class_index);
	cvt_map_init(&s->class_index);
	memset(s->class_cache, 0, sizeof(s->class_cache));
	for (size_t i = 0; i < s->nstreams; i++) {
		bt_stream_put_ref(s->streams[i].stream);
		free(s->streams[i].name);
	}
	s->nstreams = 0;
	cvt_map_release(&s->stream_index);
	cvt_map_init(&s->stream_index);
	s->self = NULL;
	s->carried = 1;
	s->carry->state = s;
	s->carry->release = carry_release;
}

/* Is this time inside the window (always without a carry)? */
static int in_window(const struct cvt_sink *s, uint64_t ns)
{
	return !s->carry || (ns >= s->carry->lo && ns < s->carry->hi);
}

bt_component_class_sink_graph_is_configured_method_status mpa_mpt_sink_graph_is_configured(
	bt_self_component_sink *self)
{
	bt_component_class_sink_graph_is_configured_method_status status =
		BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
	struct cvt_sink *s = bt_self_component_get_data(
		bt_self_component_sink_as_self_component(self));
	if (s->shard_param)
		return status; /* no upstream: the shards are read directly */
	bt_self_component_port_input *port =
		bt_self_component_sink_borrow_input_port_by_name(self, "in");

	if (!bt_port_is_connected(bt_port_input_as_port_const(
		    bt_self_component_port_input_as_port_input(port)))) {
		APPEND_CAUSE(s, "The input port `in` is not connected.");
		status = BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
		goto end;
	}
	if (bt_message_iterator_create_from_sink_component(self, port, &s->iter) !=
	    BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		APPEND_CAUSE(s, "Failed to create the upstream message iterator.");
		status = BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
end:
	return status;
}

/* ---- streams and traces --------------------------------------------------- */

static const char *env_string(const bt_trace *t, const char *key)
{
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, key);
	return v && bt_value_is_string(v) ? bt_value_string_get(v) : NULL;
}

static int64_t env_int(const bt_trace *t, const char *key, int64_t dflt)
{
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, key);
	if (v && bt_value_get_type(v) == BT_VALUE_TYPE_SIGNED_INTEGER)
		return bt_value_integer_signed_get(v);
	if (v && bt_value_get_type(v) == BT_VALUE_TYPE_UNSIGNED_INTEGER)
		return (int64_t)bt_value_integer_unsigned_get(v);
	return dflt;
}

static int note_trace(struct cvt_sink *s, const bt_stream *stream)
{
	const bt_trace *t = bt_stream_borrow_trace_const(stream);
	const uint8_t *uuid = bt_trace_get_uuid(t);
	for (size_t i = 0; i < s->ntraces; i++) {
		if (s->traces[i].trace == t)
			return 0;
		if (!s->traces[i].trace)
			continue; /* a shard's trace, known by its description */
		/* the same trace read again by a later graph (chunks) */
		const uint8_t *u = bt_trace_get_uuid(s->traces[i].trace);
		if (uuid && u && memcmp(u, uuid, 16) == 0)
			return 0;
	}
	char buf[1024];
	const char *clock, *host, *tracer;
	int has_clock = cvt_trace_describe(stream, buf, sizeof buf, &clock, &host, &tracer);
	return cvt_trace_add(s, t, buf, has_clock ? clock : NULL, host, tracer);
}

int cvt_trace_add(struct cvt_sink *s, const bt_trace *key, const char *desc, const char *clock,
		  const char *host, const char *tracer)
{
	for (size_t i = 0; i < s->ntraces; i++)
		if (key ? s->traces[i].trace == key
			: (!s->traces[i].trace && strcmp(s->traces[i].desc, desc) == 0))
			return 0;
	if (clock && !s->clock_desc[0])
		snprintf(s->clock_desc, sizeof(s->clock_desc), "%s", clock);
	struct cvt_trace_info *nt = realloc(s->traces, (s->ntraces + 1) * sizeof(*nt));
	if (!nt)
		return -1;
	s->traces = nt;
	nt[s->ntraces] = (struct cvt_trace_info){
		.trace = key, .desc = strdup(desc),
		.host = host ? strdup(host) : NULL, .tracer = tracer ? strdup(tracer) : NULL,
	};
	/* held: the sink's state outlives its graph when a capture is
	 * written in chunks (struct mpa_sink_carry) */
	if (key)
		bt_trace_get_ref(key);
	s->ntraces++;
	if (!nt[s->ntraces - 1].desc || (host && !nt[s->ntraces - 1].host) ||
	    (tracer && !nt[s->ntraces - 1].tracer))
		return -1;
	return 0;
}

int cvt_trace_describe(const bt_stream *stream, char *buf, size_t bufsz, const char **clock,
		       const char **host_out, const char **tracer_out)
{
	const bt_trace *t = bt_stream_borrow_trace_const(stream);
	size_t sizeof_buf = bufsz;
	const char *tracer = env_string(t, "tracer_name");
	const char *host = env_string(t, "hostname");
	if (!host)
		host = env_string(t, "host");
	const char *name = bt_trace_get_name(t);
	if (!name)
		name = env_string(t, "trace_name");
	const char *clk = env_string(t, "perf_clock");
	*host_out = host;
	*tracer_out = tracer;
	*clock = NULL;
	int n = snprintf(buf, sizeof_buf, "tracer=%s", tracer ? tracer : "unknown");
	int64_t major = env_int(t, "tracer_major", -1);
	if (major >= 0)
		n += snprintf(buf + n, sizeof_buf - (size_t)n, " version=%" PRId64 ".%" PRId64 ".%" PRId64,
			      major, env_int(t, "tracer_minor", 0), env_int(t, "tracer_patchlevel", 0));
	const char *domain = env_string(t, "domain");
	if (domain)
		n += snprintf(buf + n, sizeof_buf - (size_t)n, " domain=%s", domain);
	if (host)
		n += snprintf(buf + n, sizeof_buf - (size_t)n, " host=%s", host);
	if (name)
		n += snprintf(buf + n, sizeof_buf - (size_t)n, " name=%s", name);
	if (clk)
		n += snprintf(buf + n, sizeof_buf - (size_t)n, " perf_clock=%s", clk);
	const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(
		bt_stream_borrow_class_const(stream));
	if (cc) {
		int64_t off_s;
		uint64_t off_c;
		bt_clock_class_get_offset(cc, &off_s, &off_c);
		const char *cn = bt_clock_class_get_name(cc);
		snprintf(buf + n, sizeof_buf - (size_t)n,
			 " clock=%s freq=%" PRIu64 " offset_s=%" PRId64 " offset_cycles=%" PRIu64
			 " origin=%s", cn ? cn : "unnamed", bt_clock_class_get_frequency(cc),
			 off_s, off_c, bt_clock_class_origin_is_unix_epoch(cc) ? "unix-epoch" : "other");
		*clock = strstr(buf, "clock=") + 6;
		return 1;
	}
	return 0;
}

/* The name a stream got from the first graph that read it (chunks). */
static struct cvt_stream_name *stream_name_of(struct cvt_sink *s, const bt_stream *stream)
{
	const uint8_t *u = bt_trace_get_uuid(bt_stream_borrow_trace_const(stream));
	uint64_t sc = bt_stream_class_get_id(bt_stream_borrow_class_const(stream));
	uint64_t id = bt_stream_get_id(stream);

	for (size_t i = 0; u && i < s->nsnames; i++)
		if (s->snames[i].sc_id == sc && s->snames[i].id == id &&
		    memcmp(s->snames[i].uuid, u, 16) == 0)
			return &s->snames[i];
	return NULL;
}

static int stream_name_add(struct cvt_sink *s, const bt_stream *stream, const char *name,
			   uint32_t sid)
{
	const uint8_t *u = bt_trace_get_uuid(bt_stream_borrow_trace_const(stream));
	struct cvt_stream_name *n;

	if (!u)
		return 0;
	n = realloc(s->snames, (s->nsnames + 1) * sizeof(*n));
	if (!n)
		return -1;
	s->snames = n;
	n = &s->snames[s->nsnames];
	memcpy(n->uuid, u, 16);
	n->sc_id = bt_stream_class_get_id(bt_stream_borrow_class_const(stream));
	n->id = bt_stream_get_id(stream);
	n->name_sid = sid;
	n->name = strdup(name);
	if (!n->name)
		return -1;
	s->nsnames++;
	return 0;
}

static struct cvt_stream *stream_get(struct cvt_sink *s, const bt_stream *stream)
{
	uint64_t *ix = cvt_map_find(&s->stream_index, (uintptr_t)stream, 0);
	if (ix)
		return &s->streams[*ix];
	if (note_trace(s, stream))
		return NULL;
	if (s->nstreams == s->capstreams) {
		size_t ncap = s->capstreams ? s->capstreams * 2 : 16;
		void *n = realloc(s->streams, ncap * sizeof(*s->streams));
		if (!n)
			return NULL;
		s->streams = n;
		s->capstreams = ncap;
	}
	struct cvt_stream *cs = &s->streams[s->nstreams];
	memset(cs, 0, sizeof(*cs));
	const bt_trace *t = bt_stream_borrow_trace_const(stream);
	const char *tn = bt_trace_get_name(t);
	const char *sn = bt_stream_get_name(stream);
	char name[1024];
	if (sn)
		snprintf(name, sizeof(name), "%s%s%s", tn ? tn : "", tn ? ":" : "", sn);
	else
		snprintf(name, sizeof(name), "%s%sstream %" PRIu64, tn ? tn : "", tn ? ":" : "",
			 bt_stream_get_id(stream));
	/* chunks: a stream keeps the name the first graph gave it (its string
	 * is interned at its first loss, below; the table dedups strings) */
	struct cvt_stream_name *known = s->carry ? stream_name_of(s, stream) : NULL;
	if (known)
		snprintf(name, sizeof(name), "%s", known->name);
	else if (s->carry && stream_name_add(s, stream, name, 0))
		return NULL;
	const char *domain = env_string(t, "domain");
	cs->domain = domain && strcmp(domain, "kernel") == 0 ? MPA_DOMAIN_KERNEL : MPA_DOMAIN_USER;
	cs->name = strdup(name);
	if (!cs->name || cvt_map_put(&s->stream_index, (uintptr_t)stream, 0, s->nstreams, NULL)) {
		free(cs->name);
		return NULL;
	}
	cs->stream = stream;
	bt_stream_get_ref(stream);
	s->nstreams++;
	return cs;
}

/* ---- messages ---------------------------------------------------------- */

static int handle_stream_beginning_msg(struct cvt_sink *s, const bt_message *msg)
{
	if (!stream_get(s, bt_message_stream_beginning_borrow_stream_const(msg))) {
		APPEND_CAUSE(s, "Out of memory recording a stream.");
		return -1;
	}
	return 0;
}

static int handle_packet_beginning_msg(struct cvt_sink *s, const bt_message *msg)
{
	const bt_packet *pk = bt_message_packet_beginning_borrow_packet_const(msg);
	struct cvt_stream *cs = stream_get(s, bt_packet_borrow_stream_const(pk));
	if (!cs) {
		APPEND_CAUSE(s, "Out of memory recording a stream.");
		return -1;
	}
	/* Once per packet, so a by-name lookup is fine here. */
	const bt_field *ctx = bt_packet_borrow_context_field_const(pk);
	if (ctx) {
		const bt_field *cpu = bt_field_structure_borrow_member_field_by_name_const(ctx, "cpu_id");
		if (cpu && bt_field_class_type_is(bt_field_get_class_type(cpu),
						  BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
			cs->cpu = (uint32_t)bt_field_integer_unsigned_get_value(cpu);
	}
	return 0;
}

static int snapshot_ns(const bt_clock_snapshot *cs, uint64_t *out)
{
	int64_t ns;
	if (!cs || bt_clock_snapshot_get_ns_from_origin(cs, &ns) !=
			   BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK || ns < 0)
		return -1;
	*out = (uint64_t)ns;
	return 0;
}

/* Windows (chunks): each discarded-events or -packets message between
 * two packets belongs to the window holding its end time, where both
 * packets are read (the previous window's last packets are read again
 * with the next chunk, see cvt_chunks.c).  A discarded-events message
 * without a count comes from the first packet read of a stream: in a
 * later window that packet is such a re-read one, and its message
 * repeats what the earlier window counted. */
static int discarded_in_window(struct cvt_sink *s, const bt_message *msg, int events)
{
	const bt_stream_class *sc;
	uint64_t count, en;

	if (events) {
		sc = bt_stream_borrow_class_const(bt_message_discarded_events_borrow_stream_const(msg));
		if (!s->carry->first && bt_message_discarded_events_get_count(msg, &count) !=
		    BT_PROPERTY_AVAILABILITY_AVAILABLE)
			return 0;
		if (!bt_stream_class_discarded_events_have_default_clock_snapshots(sc))
			return 1;
		if (snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(msg), &en))
			return 1;
	} else {
		sc = bt_stream_borrow_class_const(bt_message_discarded_packets_borrow_stream_const(msg));
		if (!bt_stream_class_discarded_packets_have_default_clock_snapshots(sc))
			return 1;
		if (snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(msg), &en))
			return 1;
	}
	return in_window(s, en);
}

static int handle_discarded_events_msg(struct cvt_sink *s, const bt_message *msg)
{
	const bt_stream *stream = bt_message_discarded_events_borrow_stream_const(msg);
	struct cvt_stream *cs = stream_get(s, stream);
	struct mpa_event e;
	uint64_t count = 0;

	if (!cs) {
		APPEND_CAUSE(s, "Out of memory recording a stream.");
		return -1;
	}
	if (s->carry && !discarded_in_window(s, msg, 1))
		return 0;
	/* interned at its first loss (not at the stream's beginning: the
	 * string table does not depend on when streams begin) */
	if (!cs->name_interned) {
		if (cvt_intern(s, cs->name, strlen(cs->name), &cs->name_sid))
			return -1;
		cs->name_interned = 1;
	}
	memset(&e, 0, sizeof(e));
	e.kind = MPA_KIND_LOST;
	e.pid = e.tid = -1;
	e.cpu = cs->cpu;
	e.domain = cs->domain;
	e.str_id = cs->name_sid;
	if (bt_message_discarded_events_get_count(msg, &count) ==
	    BT_PROPERTY_AVAILABILITY_AVAILABLE) {
		e.size = count;
		s->lost_events += count;
	} else {
		s->lost_unknown++;
	}
	e.ts = s->last_ts;
	e.flags = MPA_FLAG_TS_APPROX;
	if (bt_stream_class_discarded_events_have_default_clock_snapshots(
		    bt_stream_borrow_class_const(stream))) {
		uint64_t b, en;
		if (snapshot_ns(bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(msg), &b) == 0 &&
		    snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(msg), &en) == 0) {
			e.ts = b;
			e.end_ts = en;
			e.flags = 0;
		}
	}
	return cvt_append(s, &e);
}

static int handle_discarded_packets_msg(struct cvt_sink *s, const bt_message *msg)
{
	const bt_stream *stream = bt_message_discarded_packets_borrow_stream_const(msg);
	struct cvt_stream *cs = stream_get(s, stream);
	struct mpa_event e;
	uint64_t count = 0;
	char name[1400];

	if (!cs) {
		APPEND_CAUSE(s, "Out of memory recording a stream.");
		return -1;
	}
	if (s->carry && !discarded_in_window(s, msg, 0))
		return 0;
	/* A lost packet hides an unknown number of events: the record says so
	 * through its stream string and carries 0 events. */
	memset(&e, 0, sizeof(e));
	e.kind = MPA_KIND_LOST;
	e.pid = e.tid = -1;
	e.cpu = cs->cpu;
	e.domain = cs->domain;
	if (bt_message_discarded_packets_get_count(msg, &count) !=
	    BT_PROPERTY_AVAILABILITY_AVAILABLE)
		count = 1;
	s->lost_packets += count;
	size_t nlen = (size_t)snprintf(name, sizeof(name), "%" PRIu64 " discarded packet%s: %.1200s",
				       count, count == 1 ? "" : "s", cs->name);
	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	if (cvt_intern(s, name, nlen, &e.str_id))
		return -1;
	e.ts = s->last_ts;
	e.flags = MPA_FLAG_TS_APPROX;
	if (bt_stream_class_discarded_packets_have_default_clock_snapshots(
		    bt_stream_borrow_class_const(stream))) {
		uint64_t b, en;
		if (snapshot_ns(bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(msg), &b) == 0 &&
		    snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(msg), &en) == 0) {
			e.ts = b;
			e.end_ts = en;
			e.flags = 0;
		}
	}
	return cvt_append(s, &e);
}

static int handle_event_msg(struct cvt_sink *s, const bt_message *msg)
{
	if (s->carry && bt_message_event_borrow_stream_class_default_clock_class_const(msg)) {
		uint64_t ns;

		/* another window's event (a re-read packet, or one after
		 * this window's end, read again with the next chunk) */
		if (snapshot_ns(bt_message_event_borrow_default_clock_snapshot_const(msg), &ns) == 0 &&
		    !in_window(s, ns))
			return 0;
	}
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	struct cvt_class *c = cvt_class_get(s, ev);
	if (!c)
		return -1;
	s->events_in++;
	if (s->hooks && s->hooks->progress && (s->events_in % PROGRESS_EVERY) == 0)
		s->hooks->progress(s->hooks->user, s->events_in, s->last_ts);
	return cvt_map_event(s, c, msg, ev);
}

/* ---- end of conversion ------------------------------------------------------ */

static int meta(struct cvt_sink *s, const char *key, const char *value)
{
	struct mpt_error err = { 0 };
	if (mpt_writer_meta(s->w, key, value, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to set metadata `%s`: %s", key, err.msg);
		return -1;
	}
	return 0;
}

static int meta_u64(struct cvt_sink *s, const char *key, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return meta(s, key, buf);
}

static bt_value_map_foreach_entry_const_func_status write_extra_meta(const char *key,
								     const bt_value *v, void *data)
{
	return meta(data, key, bt_value_string_get(v)) ?
		BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_ERROR :
		BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

static int cmp_class_name(const void *a, const void *b)
{
	const struct cvt_class *x = *(struct cvt_class *const *)a, *y = *(struct cvt_class *const *)b;
	return strcmp(x->name, y->name);
}

/* source_events.<name> for every name, unknown_events.<name> for names not
 * mapped (counts summed over classes of the same name in several traces). */
static int write_event_counts(struct cvt_sink *s, uint64_t *unknown_total)
{
	struct cvt_class **sorted = malloc((s->nclasses + 1) * sizeof(*sorted));
	char key[600];
	int rc = 0;
	if (!sorted) {
		APPEND_CAUSE(s, "Out of memory sorting event classes.");
		return -1;
	}
	memcpy(sorted, s->classes, s->nclasses * sizeof(*sorted));
	qsort(sorted, s->nclasses, sizeof(*sorted), cmp_class_name);
	*unknown_total = 0;
	for (size_t i = 0; i < s->nclasses && rc == 0;) {
		uint64_t n = 0;
		int unknown = 1;
		size_t j = i;
		for (; j < s->nclasses && strcmp(sorted[j]->name, sorted[i]->name) == 0; j++) {
			n += sorted[j]->count;
			if (sorted[j]->mapper != M_UNKNOWN)
				unknown = 0;
		}
		snprintf(key, sizeof(key), "source_events.%.500s", sorted[i]->name);
		rc = meta_u64(s, key, n);
		if (rc == 0 && unknown) {
			snprintf(key, sizeof(key), "unknown_events.%.500s", sorted[i]->name);
			rc = meta_u64(s, key, n);
			*unknown_total += n;
		}
		i = j;
	}
	free(sorted);
	return rc;
}

static int write_metadata(struct cvt_sink *s, const struct cvt_symstats *ss, uint64_t *unknown)
{
	char key[64];
	char tracers[1024] = "";
	const char *host = NULL;

	if (write_event_counts(s, unknown))
		return -1;
	/* Records whose trace had no pid context (LTTng without `-t vpid`):
	 * their processes cannot be told apart. */
	uint64_t no_pid = 0;
	for (size_t i = 0; i < s->nclasses; i++)
		if (s->classes[i]->mapper != M_UNKNOWN && !(s->classes[i]->present & (UINT64_C(1) << R_PID)))
			no_pid += s->classes[i]->count;
	if (meta_u64(s, "events_without_pid", no_pid))
		return -1;
	for (size_t i = 0; i < s->ntraces; i++) {
		snprintf(key, sizeof(key), "trace.%zu", i);
		if (meta(s, key, s->traces[i].desc))
			return -1;
		if (!host)
			host = s->traces[i].host;
		const char *tn = s->traces[i].tracer;
		if (tn && !strstr(tracers, tn)) {
			size_t l = strlen(tracers);
			snprintf(tracers + l, sizeof(tracers) - l, "%s%s", l ? "," : "", tn);
		}
	}
	if ((host && meta(s, "host", host)) || (tracers[0] && meta(s, "tracers", tracers)) ||
	    meta_u64(s, "traces", s->ntraces) ||
	    meta(s, "converter", "sink.mpa.mpt " MPA_PLUGIN_VERSION_STR) ||
	    (s->command && meta(s, "convert.command", s->command)) ||
	    (s->clock_desc[0] && meta(s, "clock", s->clock_desc)) ||
	    meta_u64(s, "source_events", s->events_in) ||
	    meta_u64(s, "unknown_events", *unknown) ||
	    meta_u64(s, "records", s->records) ||
	    meta_u64(s, "lost_events", s->lost_events) ||
	    meta_u64(s, "lost_packets", s->lost_packets) ||
	    meta_u64(s, "lost_events_uncounted", s->lost_unknown) ||
	    meta_u64(s, "ts_unavailable", s->ts_unavailable) ||
	    cvt_stackdef_meta(s) ||
	    meta(s, "symbolize", s->symbolize ? "yes" : "no") ||
	    (s->ksyms && meta_u64(s, "symbolize.kernel_symbols", cvt_ksyms_count(s->ksyms))) ||
	    meta_u64(s, "symbolize.frames", ss->frames) ||
	    meta_u64(s, "symbolize.frames_in_binary", ss->frames_in_binary) ||
	    meta_u64(s, "symbolize.frames_func", ss->frames_func) ||
	    meta_u64(s, "symbolize.frames_line", ss->frames_line) ||
	    meta_u64(s, "symbolize.binaries", ss->binaries) ||
	    meta_u64(s, "symbolize.binaries_missing", ss->binaries_missing) ||
	    meta_u64(s, "symbolize.build_id_mismatch", ss->build_id_mismatch))
		return -1;
	if (s->extra_meta && bt_value_map_foreach_entry_const(s->extra_meta, write_extra_meta, s) !=
				     BT_VALUE_MAP_FOREACH_ENTRY_CONST_STATUS_OK)
		return -1;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Cuts a segment when there is something new (or always when force and
 * there are records): frames so far symbolized, metadata so far, then
 * segments/seg-NNNNNN.mpt.  0 or -1 with a cause. */
static int cut_segment(struct cvt_sink *s, int force)
{
	s->seg_last_ns = mono_ns();
	if (s->last_ts > s->stream_ts)
		s->stream_ts = s->last_ts;
	/* a segment without records still tells how far the stream has got
	 * (the monitor closes intervals up to there), once there are records */
	if (s->records == s->seg_records && s->lost_events == s->seg_lost &&
	    (s->stream_ts == s->seg_stream_ts || !s->records) &&
	    !(force && s->seg_next == 1 && s->records))
		return 0;
	struct cvt_symstats ss = { 0 };
	struct mpt_error err = { 0 };
	uint64_t unknown = 0;
	if (cvt_symtab_resolve(s->st, s->symbolize, &ss, &err) != 0) {
		APPEND_CAUSE(s, "Failed to symbolize: %s", err.msg);
		return -1;
	}
	if (write_metadata(s, &ss, &unknown) || meta_u64(s, "stream_time_ns", s->stream_ts))
		return -1;
	size_t n = strlen(s->segdir) + 32;
	char *path = malloc(n);
	if (!path) {
		APPEND_CAUSE(s, "Out of memory.");
		return -1;
	}
	snprintf(path, n, "%s/seg-%06" PRIu32 ".mpt", s->segdir, s->seg_next);
	enum mpt_status st = mpt_writer_segment(s->w, path, &err);
	free(path);
	if (st != MPT_OK) {
		APPEND_CAUSE(s, "Failed to write a segment: %s", err.msg);
		return -1;
	}
	s->seg_next++;
	s->seg_records = s->records;
	s->seg_lost = s->lost_events;
	s->seg_stream_ts = s->stream_ts;
	return 0;
}

/* Segments: the last one and segments/done. */
static int end_segments(struct cvt_sink *s)
{
	if (cut_segment(s, 1))
		return -1;
	size_t n = strlen(s->segdir) + 16;
	char *path = malloc(n);
	if (!path) {
		APPEND_CAUSE(s, "Out of memory.");
		return -1;
	}
	snprintf(path, n, "%s/done", s->segdir);
	FILE *f = fopen(path, "w");
	int bad = !f || fclose(f) != 0;
	if (bad)
		APPEND_CAUSE(s, "Cannot create '%s': %s", path, strerror(errno));
	free(path);
	return bad ? -1 : 0;
}

static int finish(struct cvt_sink *s)
{
	struct cvt_symstats ss = { 0 };
	struct mpt_error err = { 0 };
	uint64_t unknown = 0;

	/* Every record in the writer before the tables are completed. */
	if (cvt_wpipe_finish(s->pipe, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to append records: %s", err.msg);
		return -1;
	}
	if (cvt_symtab_resolve(s->st, s->symbolize, &ss, &err) != 0) {
		APPEND_CAUSE(s, "Failed to symbolize: %s", err.msg);
		return -1;
	}
	if (write_metadata(s, &ss, &unknown))
		return -1;
	if (s->memory_records == 0) {
		APPEND_CAUSE(s, "No memory events in the input: %" PRIu64 " events of %zu "
			     "types, none of them known to mpa; no capture written.",
			     s->events_in, s->nclasses);
		return -1;
	}
	if (s->segdir && end_segments(s))
		return -1;
	mpt_writer *w = s->w;
	s->w = NULL; /* closed (or freed) by mpt_writer_close either way */
	if (mpt_writer_close(w, &err) != MPT_OK) {
		APPEND_CAUSE(s, "Failed to complete the capture: %s", err.msg);
		return -1;
	}
	if (s->hooks && s->hooks->done) {
		struct mpa_sink_summary sum = {
			.events_in = s->events_in, .records = s->records,
			.memory_records = s->memory_records, .unknown_events = unknown,
			.lost_events = s->lost_events,
			.frames = ss.frames, .frames_func = ss.frames_func,
			.frames_line = ss.frames_line,
		};
		s->hooks->done(s->hooks->user, &sum);
	}
	return 0;
}

bt_component_class_sink_consume_method_status mpa_mpt_sink_consume(bt_self_component_sink *self)
{
	bt_component_class_sink_consume_method_status status =
		BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
	struct cvt_sink *s = bt_self_component_get_data(
		bt_self_component_sink_as_self_component(self));
	bt_message_array_const msgs;
	uint64_t count = 0, i = 0;

	if (s->shards) {
		int r = cvt_shards_step(s);
		if (r < 0)
			goto error_cleanup;
		if (r > 0) {
			if (finish(s))
				goto error_cleanup;
			status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
		}
		return status;
	}
	switch (bt_message_iterator_next(s->iter, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		if (s->carry && s->carry->more) {
			sink_detach(s);
			status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
			goto end;
		}
		if (finish(s))
			goto error;
		status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
		goto end;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		if (s->hooks && s->hooks->end_when_idle) {
			/* the application saw the stream end (cvt_live.h) */
			if (finish(s))
				goto error_cleanup;
			status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
			goto end;
		}
		status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
		goto end;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
		goto end;
	default:
		APPEND_CAUSE(s, "Failed to get the next messages from upstream.");
		goto error;
	}
	for (; i < count; i++) {
		const bt_message *msg = msgs[i];
		int rc = 0;
		switch (bt_message_get_type(msg)) {
		case BT_MESSAGE_TYPE_EVENT:
			rc = handle_event_msg(s, msg);
			break;
		case BT_MESSAGE_TYPE_STREAM_BEGINNING:
			rc = handle_stream_beginning_msg(s, msg);
			break;
		case BT_MESSAGE_TYPE_PACKET_BEGINNING:
			rc = handle_packet_beginning_msg(s, msg);
			break;
		case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
			rc = handle_discarded_events_msg(s, msg);
			break;
		case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
			rc = handle_discarded_packets_msg(s, msg);
			break;
		case BT_MESSAGE_TYPE_MESSAGE_ITERATOR_INACTIVITY: {
			/* a live source with nothing new: the stream is
			 * complete up to this time (segments say so) */
			uint64_t ns;
			if (s->segdir &&
			    !snapshot_ns(bt_message_message_iterator_inactivity_borrow_clock_snapshot_const(msg), &ns) &&
			    ns > s->stream_ts)
				s->stream_ts = ns;
			break;
		}
		default:
			break; /* stream/packet ends, inactivity: nothing to record */
		}
		if (s->hooks && bt_message_get_type(msg) != BT_MESSAGE_TYPE_MESSAGE_ITERATOR_INACTIVITY)
			s->hooks->messages++;
		bt_message_put_ref(msg);
		if (rc) {
			i++;
			goto error;
		}
	}
	goto end;
error:
	for (; i < count; i++)
		bt_message_put_ref(msgs[i]);
error_cleanup:
	status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	/* No partial output: the temporary file goes away now. */
	cvt_wpipe_free(s->pipe);
	s->pipe = NULL;
	mpt_writer_abort(s->w);
	s->w = NULL;
	return status;
end:
	if (s->segdir && s->w &&
	    (status == BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK ||
	     status == BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN) &&
	    mono_ns() - s->seg_last_ns >= s->seg_interval_ns && cut_segment(s, 0)) {
		status = BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
		goto error_cleanup;
	}
	return status;
}
