/*
 * source.mpa.perf — reads perf.data files with perf_data.c and emits
 * Babeltrace2 messages.  The trace IR it builds is documented in
 * src_perf.h (the contract with the sink) and doc/perf-data.md.
 *
 * Component: validates the inputs (opens each file once, header, attrs and
 * features) and builds the trace classes, one per input, sharing one clock
 * class.  Message iterator: opens its own readers, creates the traces and
 * streams, merges the inputs by time and converts each record.
 */
#include "src_perf.h"

#include "perf_data.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Payload member indexes of a sample event class (-1 = absent). */
enum sample_member {
	SM_IP, SM_TID, SM_PID, SM_ADDR, SM_CPU, SM_PERIOD, SM_WEIGHT,
	SM_DATA_SRC, SM_PHYS_ADDR, SM_CALLCHAIN, SM_COUNT,
};

static const struct {
	const char *name;
	uint64_t bit;
	bool is_signed;
	bool hex;
} sample_members[SM_COUNT] = {
	[SM_IP] = { "perf_ip", MPA_PERF_SAMPLE_IP, false, true },
	[SM_TID] = { "perf_tid", MPA_PERF_SAMPLE_TID, true, false },
	[SM_PID] = { "perf_pid", MPA_PERF_SAMPLE_TID, true, false },
	[SM_ADDR] = { "perf_addr", MPA_PERF_SAMPLE_ADDR, false, true },
	[SM_CPU] = { "perf_cpu", MPA_PERF_SAMPLE_CPU, false, false },
	[SM_PERIOD] = { "perf_period", MPA_PERF_SAMPLE_PERIOD, false, false },
	[SM_WEIGHT] = { "perf_weight",
		MPA_PERF_SAMPLE_WEIGHT | MPA_PERF_SAMPLE_WEIGHT_STRUCT, false, false },
	[SM_DATA_SRC] = { "perf_data_src", MPA_PERF_SAMPLE_DATA_SRC, false, true },
	[SM_PHYS_ADDR] = { "perf_phys_addr", MPA_PERF_SAMPLE_PHYS_ADDR, false, true },
	[SM_CALLCHAIN] = { "perf_callchain", MPA_PERF_SAMPLE_CALLCHAIN, false, true },
};

struct sample_class {
	bt_event_class *ec;        /* (weak: owned by the stream class) */
	int member[SM_COUNT];      /* payload index of each member, or -1 */
	size_t nr_tp;              /* tracepoint fields in the format */
	int *tp_member;            /* payload index of each tracepoint field,
				      or -1 (owned by this) */
};

/* Per input file: its classes (component-wide, read-only once built). */
struct input_classes {
	char *path;                         /* (owned by this) */
	bt_trace_class *tc;                 /* (owned by this) */
	bt_stream_class *sc;                /* (weak: owned by tc) */
	struct sample_class *samples;       /* one per attr (owned by this) */
	size_t nr_samples;
	bt_event_class *comm_ec, *mmap_ec, *fork_ec, *exit_ec; /* (weak) */
	bool per_cpu;
};

struct perf_src_comp {
	bt_self_component *self_comp;       /* (weak) */
	bt_clock_class *cc;                 /* (owned by this) */
	struct input_classes *inputs;       /* (owned by this) */
	size_t nr_inputs;
};

#define NOCPU_STREAM_ID 0xffffffffULL   /* perf's (u32)-1, "any cpu" */
#define MAX_CPUS 8192                   /* Linux's largest NR_CPUS */

struct stream_state {
	uint64_t id;
	bt_stream *stream;                  /* (owned by this) */
};

/* Per input file, per iterator. */
struct input_iter {
	const struct input_classes *cls;    /* (weak) */
	struct mpa_perf_file *f;            /* (owned by this) */
	bt_trace *trace;                    /* (owned by this) */
	struct stream_state *streams;       /* (owned by this) */
	size_t nr_streams, cap_streams;
	bt_stream **by_cpu;                  /* MAX_CPUS + 1 entries, the last
						for NOCPU (weak; owned by
						streams[]) (owned by this) */
	struct mpa_perf_record rec;         /* the peeked record */
	bool has_rec;
	bool done;
};

#define PENDING_MAX 4

struct perf_src_iter {
	bt_self_message_iterator *self_iter; /* (weak) */
	struct perf_src_comp *comp;         /* (weak) */
	struct input_iter *inputs;          /* (owned by this) */
	size_t nr_inputs;
	const bt_message *pending[PENDING_MAX]; /* (owned by this) */
	size_t nr_pending, pending_pos;
	uint64_t last_ts;
	bool any_ts;
	bool ended;                          /* stream-end messages queued */
	size_t end_input, end_stream;        /* progress of the end phase */
	char *buildid_hex;                   /* scratch (owned by this) */
	const bt_error *deferred;            /* error to report at the next
						call, after the messages made
						before it (owned by this) */
};

/* ---- helpers ------------------------------------------------------------- */

static bt_field_class *int_fc(bt_trace_class *tc, bool is_signed, bool hex)
{
	bt_field_class *fc = is_signed ? bt_field_class_integer_signed_create(tc) :
		bt_field_class_integer_unsigned_create(tc);

	if (fc && hex)
		bt_field_class_integer_set_preferred_display_base(fc,
			BT_FIELD_CLASS_INTEGER_PREFERRED_DISPLAY_BASE_HEXADECIMAL);
	return fc;
}

/* Appends a member; takes the reference of `fc`.  Returns 0 or -1. */
static int add_member(bt_field_class *st, const char *name, bt_field_class *fc)
{
	int ret = -1;

	if (!fc)
		return -1;
	if (bt_field_class_structure_append_member(st, name, fc) ==
			BT_FIELD_CLASS_STRUCTURE_APPEND_MEMBER_STATUS_OK)
		ret = 0;
	bt_field_class_put_ref(fc);
	return ret;
}

/* Member kinds for the special classes. */
enum mk { MK_S64, MK_U64, MK_U64_HEX, MK_U8, MK_STRING };

static bt_event_class *make_special_class(bt_stream_class *sc, const char *name,
		const char *const *names, const enum mk *kinds, size_t n)
{
	bt_trace_class *tc = bt_stream_class_borrow_trace_class(sc);
	bt_event_class *ec = NULL;
	bt_field_class *payload = NULL;
	size_t i;

	payload = bt_field_class_structure_create(tc);
	if (!payload)
		goto error;
	for (i = 0; i < n; i++) {
		bt_field_class *fc = NULL;

		switch (kinds[i]) {
		case MK_S64:
			fc = int_fc(tc, true, false);
			break;
		case MK_U64:
			fc = int_fc(tc, false, false);
			break;
		case MK_U64_HEX:
			fc = int_fc(tc, false, true);
			break;
		case MK_U8:
			fc = int_fc(tc, false, false);
			if (fc)
				bt_field_class_integer_set_field_value_range(fc, 8);
			break;
		case MK_STRING:
			fc = bt_field_class_string_create(tc);
			break;
		}
		if (add_member(payload, names[i], fc))
			goto error;
	}
	ec = bt_event_class_create(sc);
	if (!ec)
		goto error;
	if (bt_event_class_set_name(ec, name) != BT_EVENT_CLASS_SET_NAME_STATUS_OK ||
			bt_event_class_set_payload_field_class(ec, payload) !=
			BT_EVENT_CLASS_SET_FIELD_CLASS_STATUS_OK)
		goto error;
	bt_field_class_put_ref(payload);
	bt_event_class_put_ref(ec);    /* the stream class keeps it */
	return ec;

error:
	bt_field_class_put_ref(payload);
	bt_event_class_put_ref(ec);
	return NULL;
}

static int make_sample_class(bt_stream_class *sc, const struct mpa_perf_attr *a,
		struct sample_class *out)
{
	bt_trace_class *tc = bt_stream_class_borrow_trace_class(sc);
	bt_field_class *payload = NULL;
	bt_event_class *ec = NULL;
	int idx = 0, i;

	payload = bt_field_class_structure_create(tc);
	if (!payload)
		goto error;
	for (i = 0; i < SM_COUNT; i++) {
		bt_field_class *fc;

		out->member[i] = -1;
		if (!(a->sample_type & sample_members[i].bit) &&
		    !(i == SM_PERIOD && !(a->flags & MPA_PERF_ATTR_FLAG_FREQ)))
			continue; /* the period of a fixed-period event is known */
		if (i == SM_CALLCHAIN) {
			bt_field_class *elem = int_fc(tc, false, true);

			if (!elem)
				goto error;
			fc = bt_field_class_array_dynamic_create(tc, elem, NULL);
			bt_field_class_put_ref(elem);
		} else {
			fc = int_fc(tc, sample_members[i].is_signed,
				sample_members[i].hex);
		}
		if (add_member(payload, sample_members[i].name, fc))
			goto error;
		out->member[i] = idx++;
	}
	/* tracepoint fields, as perf's CTF conversion names them */
	if ((a->sample_type & MPA_PERF_SAMPLE_RAW) && a->tp) {
		size_t k;

		/* the format itself belongs to the file: the iterator uses
		 * its own reader's copy, same order */
		out->nr_tp = a->tp->nr_fields;
		out->tp_member = malloc((out->nr_tp + 1) * sizeof(int));
		if (!out->tp_member)
			goto error;
		for (k = 0; k < out->nr_tp; k++) {
			const struct mpa_perf_tp_field *fd = &a->tp->fields[k];
			bt_field_class *fc = NULL;

			out->tp_member[k] = -1;
			if (strncmp(fd->name, "perf_", 5) == 0 ||
					bt_field_class_structure_borrow_member_by_name(
						payload, fd->name))
				continue;   /* would collide */
			if (fd->kind == MPA_PERF_TP_INT)
				fc = int_fc(tc, fd->is_signed, !fd->is_signed &&
					fd->size == 8);
			else if (fd->kind == MPA_PERF_TP_STRING ||
					fd->kind == MPA_PERF_TP_DATA_LOC)
				fc = bt_field_class_string_create(tc);
			else
				continue;   /* not decoded */
			if (add_member(payload, fd->name, fc))
				goto error;
			out->tp_member[k] = idx++;
		}
	}
	ec = bt_event_class_create(sc);
	if (!ec)
		goto error;
	if (bt_event_class_set_name(ec, a->name) != BT_EVENT_CLASS_SET_NAME_STATUS_OK ||
			bt_event_class_set_payload_field_class(ec, payload) !=
			BT_EVENT_CLASS_SET_FIELD_CLASS_STATUS_OK)
		goto error;
	bt_field_class_put_ref(payload);
	out->ec = ec;
	bt_event_class_put_ref(ec);
	return 0;

error:
	bt_field_class_put_ref(payload);
	bt_event_class_put_ref(ec);
	return -1;
}

static const char *clock_name(int32_t clockid)
{
	switch (clockid) {
	case -1:
		return "perf";
	case 0:
		return "realtime";
	case 1:
		return "monotonic";
	case 4:
		return "monotonic_raw";
	case 7:
		return "boottime";
	case 11:
		return "tai";
	default:
		return "other";
	}
}

/* Opens a perf.data file, appending an error cause on failure. */
static struct mpa_perf_file *open_input(const char *path,
		bt_self_component *self_comp, bt_self_message_iterator *self_iter)
{
	struct mpa_perf_file *f = NULL;
	int st = mpa_perf_open(path, 0, &f);

	if (st >= 0)
		return f;
	if (self_iter)
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
			"Failed to open perf.data file: path=\"%s\": %s", path,
			mpa_perf_errmsg(f));
	else
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_comp,
			"Failed to open perf.data file: path=\"%s\": %s", path,
			mpa_perf_errmsg(f));
	mpa_perf_close(f);
	return NULL;
}

/* ---- component ------------------------------------------------------------ */

static void comp_destroy(struct perf_src_comp *comp)
{
	size_t i;

	if (!comp)
		return;
	for (i = 0; i < comp->nr_inputs; i++) {
		size_t k;

		for (k = 0; comp->inputs[i].samples &&
				k < comp->inputs[i].nr_samples; k++)
			free(comp->inputs[i].samples[k].tp_member);
		free(comp->inputs[i].path);
		free(comp->inputs[i].samples);
		bt_trace_class_put_ref(comp->inputs[i].tc);
	}
	free(comp->inputs);
	bt_clock_class_put_ref(comp->cc);
	free(comp);
}

/* Reads `inputs` / `path` into comp->inputs[].path. */
static int parse_params(struct perf_src_comp *comp, const bt_value *params)
{
	const bt_value *inputs = NULL, *path = NULL;
	uint64_t i, n;

	if (params && bt_value_is_map(params)) {
		inputs = bt_value_map_borrow_entry_value_const(params, "inputs");
		path = bt_value_map_borrow_entry_value_const(params, "path");
	}
	if ((inputs != NULL) == (path != NULL)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
			"Expecting exactly one of the `inputs` (array of strings) and `path` (string) parameters");
		return -1;
	}
	if (path) {
		if (!bt_value_is_string(path)) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
				"`path` parameter: expecting a string");
			return -1;
		}
		n = 1;
	} else {
		if (!bt_value_is_array(inputs) ||
				bt_value_array_get_length(inputs) == 0) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
				"`inputs` parameter: expecting a non-empty array of strings");
			return -1;
		}
		n = bt_value_array_get_length(inputs);
	}
	comp->inputs = calloc(n, sizeof(*comp->inputs));
	if (!comp->inputs) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
			"Failed to allocate inputs");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const bt_value *v = path ? path :
			bt_value_array_borrow_element_by_index_const(inputs, i);

		if (!bt_value_is_string(v)) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
				"`inputs` parameter: element %" PRIu64 " is not a string", i);
			return -1;
		}
		comp->inputs[i].path = strdup(bt_value_string_get(v));
		if (!comp->inputs[i].path) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
				"Failed to allocate a path");
			return -1;
		}
		comp->nr_inputs++;
	}
	return 0;
}

/* The clock class, from the first input; others must use the same clock. */
static int make_clock_class(struct perf_src_comp *comp,
		struct mpa_perf_file **files)
{
	const struct mpa_perf_info *info = mpa_perf_info(files[0]);
	size_t i;

	for (i = 1; i < comp->nr_inputs; i++) {
		if (mpa_perf_info(files[i])->clockid != info->clockid) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
				"Inputs were recorded with different clocks: "
				"path=\"%s\", clock=%s, path=\"%s\", clock=%s",
				comp->inputs[0].path, clock_name(info->clockid),
				comp->inputs[i].path,
				clock_name(mpa_perf_info(files[i])->clockid));
			return -1;
		}
	}
	comp->cc = bt_clock_class_create(comp->self_comp);
	if (!comp->cc)
		goto nomem;
	if (bt_clock_class_set_name(comp->cc, "perf") != BT_CLOCK_CLASS_SET_NAME_STATUS_OK)
		goto nomem;
	bt_clock_class_set_frequency(comp->cc, UINT64_C(1000000000));
	bt_clock_class_set_origin_is_unix_epoch(comp->cc, BT_FALSE);
	if (info->has_clock_data &&
			(int64_t)info->clock_data_clockid == (int64_t)info->clockid) {
		/* Wall clock = recording clock + (tod - clockid_ns). */
		int64_t off = (int64_t)(info->clock_tod_ns - info->clock_clockid_ns);
		int64_t s = off / 1000000000;
		int64_t c = off % 1000000000;

		if (c < 0) {
			c += 1000000000;
			s--;
		}
		bt_clock_class_set_offset(comp->cc, s, (uint64_t)c);
		bt_clock_class_set_origin_is_unix_epoch(comp->cc, BT_TRUE);
	}
	return 0;

nomem:
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
		"Failed to create the clock class");
	return -1;
}

static int make_input_classes(struct perf_src_comp *comp,
		struct input_classes *in, struct mpa_perf_file *f)
{
	static const char *const comm_names[] = { "perf_pid", "perf_tid", "comm", "exec" };
	static const enum mk comm_kinds[] = { MK_S64, MK_S64, MK_STRING, MK_U8 };
	static const char *const mmap_names[] = { "perf_pid", "perf_tid", "addr",
		"len", "pgoff", "filename", "build_id" };
	static const enum mk mmap_kinds[] = { MK_S64, MK_S64, MK_U64_HEX, MK_U64,
		MK_U64_HEX, MK_STRING, MK_STRING };
	static const char *const task_names[] = { "perf_pid", "perf_ppid",
		"perf_tid", "perf_ptid" };
	static const enum mk task_kinds[] = { MK_S64, MK_S64, MK_S64, MK_S64 };
	size_t i;

	in->tc = bt_trace_class_create(comp->self_comp);
	if (!in->tc)
		goto error;
	in->sc = bt_stream_class_create(in->tc);
	if (!in->sc)
		goto error;
	bt_stream_class_put_ref(in->sc);   /* the trace class keeps it */
	if (bt_stream_class_set_name(in->sc, "perf") != BT_STREAM_CLASS_SET_NAME_STATUS_OK ||
			bt_stream_class_set_default_clock_class(in->sc, comp->cc) !=
			BT_STREAM_CLASS_SET_DEFAULT_CLOCK_CLASS_STATUS_OK)
		goto error;
	bt_stream_class_set_assigns_automatic_stream_id(in->sc, BT_FALSE);
	bt_stream_class_set_supports_discarded_events(in->sc, BT_TRUE, BT_TRUE);
	in->per_cpu = mpa_perf_has_cpu(f);

	in->nr_samples = mpa_perf_nr_attrs(f);
	in->samples = calloc(in->nr_samples, sizeof(*in->samples));
	if (!in->samples)
		goto error;
	for (i = 0; i < in->nr_samples; i++)
		if (make_sample_class(in->sc, mpa_perf_attr_at(f, i), &in->samples[i]))
			goto error;
	in->comm_ec = make_special_class(in->sc, "perf:comm", comm_names, comm_kinds, 4);
	in->mmap_ec = make_special_class(in->sc, "perf:mmap", mmap_names, mmap_kinds, 7);
	in->fork_ec = make_special_class(in->sc, "perf:fork", task_names, task_kinds, 4);
	in->exit_ec = make_special_class(in->sc, "perf:exit", task_names, task_kinds, 4);
	if (!in->comm_ec || !in->mmap_ec || !in->fork_ec || !in->exit_ec)
		goto error;
	return 0;

error:
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(comp->self_comp,
		"Failed to create the trace classes: path=\"%s\"", in->path);
	return -1;
}

bt_component_class_initialize_method_status mpa_perf_src_initialize(
		bt_self_component_source *self_comp_src,
		bt_self_component_source_configuration *config,
		const bt_value *params, void *init_method_data)
{
	bt_component_class_initialize_method_status status =
		BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
	bt_self_component *self_comp =
		bt_self_component_source_as_self_component(self_comp_src);
	struct perf_src_comp *comp;
	struct mpa_perf_file **files = NULL;
	size_t i, nr_files = 0;

	(void)config;
	(void)init_method_data;
	comp = calloc(1, sizeof(*comp));
	if (!comp) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_comp,
			"Failed to allocate the component");
		status = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto end;
	}
	comp->self_comp = self_comp;
	if (parse_params(comp, params))
		goto error;
	files = calloc(comp->nr_inputs, sizeof(*files));
	if (!files) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_comp,
			"Failed to allocate inputs");
		goto error;
	}
	for (i = 0; i < comp->nr_inputs; i++) {
		files[i] = open_input(comp->inputs[i].path, self_comp, NULL);
		if (!files[i])
			goto error;
		nr_files++;
	}
	if (make_clock_class(comp, files))
		goto error;
	for (i = 0; i < comp->nr_inputs; i++)
		if (make_input_classes(comp, &comp->inputs[i], files[i]))
			goto error;
	if (bt_self_component_source_add_output_port(self_comp_src, "out", NULL,
			NULL) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_comp,
			"Failed to add the output port");
		goto error;
	}
	bt_self_component_set_data(self_comp, comp);
	comp = NULL;
	goto end;

error:
	status = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;

end:
	for (i = 0; i < nr_files; i++)
		mpa_perf_close(files[i]);
	free(files);
	comp_destroy(comp);
	return status;
}

void mpa_perf_src_finalize(bt_self_component_source *self_comp_src)
{
	comp_destroy(bt_self_component_get_data(
		bt_self_component_source_as_self_component(self_comp_src)));
}

bt_component_class_query_method_status mpa_perf_src_query(
		bt_self_component_class_source *comp_cls,
		bt_private_query_executor *query_exec,
		const char *object, const bt_value *params,
		void *method_data, const bt_value **result)
{
	const bt_value *type, *input;
	double weight = 0.0;
	FILE *fp;

	(void)query_exec;
	(void)method_data;
	if (strcmp(object, "babeltrace.support-info") != 0)
		return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_UNKNOWN_OBJECT;
	if (!params || !bt_value_is_map(params)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT_CLASS(
			bt_self_component_class_source_as_self_component_class(comp_cls),
			"babeltrace.support-info: expecting a map of parameters");
		return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_ERROR;
	}
	type = bt_value_map_borrow_entry_value_const(params, "type");
	input = bt_value_map_borrow_entry_value_const(params, "input");
	if (type && input && bt_value_is_string(type) && bt_value_is_string(input) &&
			strcmp(bt_value_string_get(type), "file") == 0) {
		fp = fopen(bt_value_string_get(input), "rb");
		if (fp) {
			char magic[8];

			if (fread(magic, 1, 8, fp) == 8 &&
					(memcmp(magic, "PERFILE2", 8) == 0 ||
					 memcmp(magic, "2ELIFREP", 8) == 0))
				weight = 0.75;
			fclose(fp);
		}
	}
	*result = bt_value_real_create_init(weight);
	if (!*result)
		return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_MEMORY_ERROR;
	return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_OK;
}

/* ---- message iterator ------------------------------------------------------ */

static void iter_destroy(struct perf_src_iter *it)
{
	size_t i, j;

	if (!it)
		return;
	for (i = 0; i < it->nr_inputs; i++) {
		struct input_iter *in = &it->inputs[i];

		for (j = 0; j < in->nr_streams; j++)
			bt_stream_put_ref(in->streams[j].stream);
		free(in->streams);
		free(in->by_cpu);
		bt_trace_put_ref(in->trace);
		mpa_perf_close(in->f);
	}
	free(it->inputs);
	for (i = it->pending_pos; i < it->nr_pending; i++)
		bt_message_put_ref(it->pending[i]);
	free(it->buildid_hex);
	if (it->deferred)
		bt_error_release(it->deferred);
	free(it);
}

static int set_env(bt_trace *trace, const char *name, const char *value)
{
	if (!value)
		return 0;
	return bt_trace_set_environment_entry_string(trace, name, value) ==
		BT_TRACE_SET_ENVIRONMENT_ENTRY_STATUS_OK ? 0 : -1;
}

static int make_trace(struct input_iter *in)
{
	const struct mpa_perf_info *info = mpa_perf_info(in->f);
	bt_trace *t;
	const char *base;

	in->trace = t = bt_trace_create(in->cls->tc);
	if (!t)
		return -1;
	base = strrchr(in->cls->path, '/');
	base = base ? base + 1 : in->cls->path;
	if (bt_trace_set_name(t, base) != BT_TRACE_SET_NAME_STATUS_OK)
		return -1;
	if (set_env(t, "tracer_name", "perf") || set_env(t, "domain", "kernel") ||
			set_env(t, "host", info->hostname) ||
			set_env(t, "perf_version", info->version) ||
			set_env(t, "perf_os_release", info->os_release) ||
			set_env(t, "perf_arch", info->arch) ||
			set_env(t, "perf_cmdline", info->cmdline) ||
			set_env(t, "perf_clock", clock_name(info->clockid)) ||
			set_env(t, "perf_path", in->cls->path))
		return -1;
	if (info->clockid >= 0 && bt_trace_set_environment_entry_integer(t,
			"perf_clockid", info->clockid) !=
			BT_TRACE_SET_ENVIRONMENT_ENTRY_STATUS_OK)
		return -1;
	return 0;
}

/* Queues a message (takes its reference). */
static void push_msg(struct perf_src_iter *it, const bt_message *msg)
{
	it->pending[it->nr_pending++] = msg;
}

/* The stream for a CPU (id < MAX_CPUS or NOCPU_STREAM_ID), created (and its
 * beginning queued) on first use. */
static bt_stream *get_stream(struct perf_src_iter *it, struct input_iter *in,
		uint64_t id)
{
	size_t slot = id == NOCPU_STREAM_ID ? MAX_CPUS : (size_t)id;
	struct stream_state *s;
	const bt_message *msg;
	char name[32];

	if (in->by_cpu[slot])
		return in->by_cpu[slot];
	if (in->nr_streams == in->cap_streams) {
		size_t ncap = in->cap_streams ? 2 * in->cap_streams : 8;
		struct stream_state *ns = realloc(in->streams, ncap * sizeof(*ns));

		if (!ns)
			return NULL;
		in->streams = ns;
		in->cap_streams = ncap;
	}
	s = &in->streams[in->nr_streams];
	s->id = id;
	s->stream = bt_stream_create_with_id(in->cls->sc, in->trace, id);
	if (!s->stream)
		return NULL;
	in->nr_streams++;
	in->by_cpu[slot] = s->stream;
	if (!in->cls->per_cpu)
		snprintf(name, sizeof(name), "all");
	else if (id == NOCPU_STREAM_ID)
		snprintf(name, sizeof(name), "nocpu");
	else
		snprintf(name, sizeof(name), "cpu%" PRIu64, id);
	if (bt_stream_set_name(s->stream, name) != BT_STREAM_SET_NAME_STATUS_OK)
		return NULL;
	msg = bt_message_stream_beginning_create(it->self_iter, s->stream);
	if (!msg)
		return NULL;
	push_msg(it, msg);
	return s->stream;
}

/* The stream of a record: its CPU's, or the only one. */
static bt_stream *record_stream(struct perf_src_iter *it, struct input_iter *in,
		const struct mpa_perf_record *rec)
{
	uint64_t id = 0;

	if (in->cls->per_cpu)
		id = rec->has_cpu ? rec->cpu : NOCPU_STREAM_ID;
	if (id >= MAX_CPUS && id != NOCPU_STREAM_ID) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(it->self_iter,
			"Invalid CPU number in a perf record: path=\"%s\", offset=%" PRIu64
			", cpu=%" PRIu64 ", max=%d", in->cls->path, rec->offset, id,
			MAX_CPUS - 1);
		return NULL;
	}
	return get_stream(it, in, id);
}

static bt_field *member(bt_field *payload, int idx)
{
	return bt_field_structure_borrow_member_field_by_index(payload, (uint64_t)idx);
}

static int fill_sample(const struct sample_class *sc, bt_field *p,
		const struct mpa_perf_record *rec)
{
	const struct mpa_perf_sample *s = &rec->s;

	if (sc->member[SM_IP] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_IP]), s->ip);
	if (sc->member[SM_TID] >= 0) {
		bt_field_integer_signed_set_value(member(p, sc->member[SM_TID]),
			(int32_t)s->tid);
		bt_field_integer_signed_set_value(member(p, sc->member[SM_PID]),
			(int32_t)s->pid);
	}
	if (sc->member[SM_ADDR] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_ADDR]), s->addr);
	if (sc->member[SM_CPU] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_CPU]), s->cpu);
	if (sc->member[SM_PERIOD] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_PERIOD]), s->period);
	if (sc->member[SM_WEIGHT] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_WEIGHT]), s->weight);
	if (sc->member[SM_DATA_SRC] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_DATA_SRC]), s->data_src);
	if (sc->member[SM_PHYS_ADDR] >= 0)
		bt_field_integer_unsigned_set_value(member(p, sc->member[SM_PHYS_ADDR]), s->phys_addr);
	if (sc->nr_tp && rec->attr->tp && rec->attr->tp->nr_fields == sc->nr_tp) {
		const struct mpa_perf_tp_format *tp = rec->attr->tp;
		size_t k;

		for (k = 0; k < sc->nr_tp; k++) {
			const struct mpa_perf_tp_field *fd = &tp->fields[k];
			bt_field *m;
			uint64_t v;
			const char *str;
			size_t len;

			if (sc->tp_member[k] < 0)
				continue;
			m = member(p, sc->tp_member[k]);
			if (fd->kind == MPA_PERF_TP_INT) {
				if (mpa_perf_tp_int(s, fd, &v))
					v = 0;   /* raw data too short: see doc */
				if (fd->is_signed)
					bt_field_integer_signed_set_value(m, (int64_t)v);
				else
					bt_field_integer_unsigned_set_value(m, v);
			} else {
				if (mpa_perf_tp_str(s, fd, &str, &len)) {
					str = "";
					len = 0;
				}
				if (bt_field_string_set_value(m, "") !=
						BT_FIELD_STRING_SET_VALUE_STATUS_OK ||
						bt_field_string_append_with_length(m, str,
						len) != BT_FIELD_STRING_APPEND_STATUS_OK)
					return -1;
			}
		}
	}
	if (sc->member[SM_CALLCHAIN] >= 0) {
		bt_field *arr = member(p, sc->member[SM_CALLCHAIN]);
		uint64_t i;

		if (bt_field_array_dynamic_set_length(arr, s->nr_callchain) !=
				BT_FIELD_DYNAMIC_ARRAY_SET_LENGTH_STATUS_OK)
			return -1;
		for (i = 0; i < s->nr_callchain; i++)
			bt_field_integer_unsigned_set_value(
				bt_field_array_borrow_element_field_by_index(arr, i),
				mpa_perf_u64_at(s->callchain, i));
	}
	return 0;
}

static int set_str(bt_field *f, const char *s)
{
	return bt_field_string_set_value(f, s) == BT_FIELD_STRING_SET_VALUE_STATUS_OK ? 0 : -1;
}

static int fill_special(struct perf_src_iter *it, struct input_iter *in,
		bt_field *p, const struct mpa_perf_record *rec)
{
	switch (rec->type) {
	case MPA_PERF_RECORD_COMM:
		bt_field_integer_signed_set_value(member(p, 0), (int32_t)rec->u.comm.pid);
		bt_field_integer_signed_set_value(member(p, 1), (int32_t)rec->u.comm.tid);
		bt_field_integer_unsigned_set_value(member(p, 3), rec->u.comm.exec);
		return set_str(member(p, 2), rec->u.comm.comm);
	case MPA_PERF_RECORD_MMAP:
	case MPA_PERF_RECORD_MMAP2: {
		const uint8_t *id = rec->u.mmap.build_id;
		size_t n = rec->u.mmap.build_id_size;

		bt_field_integer_signed_set_value(member(p, 0), (int32_t)rec->u.mmap.pid);
		bt_field_integer_signed_set_value(member(p, 1), (int32_t)rec->u.mmap.tid);
		bt_field_integer_unsigned_set_value(member(p, 2), rec->u.mmap.addr);
		bt_field_integer_unsigned_set_value(member(p, 3), rec->u.mmap.len);
		bt_field_integer_unsigned_set_value(member(p, 4), rec->u.mmap.pgoff);
		if (set_str(member(p, 5), rec->u.mmap.filename))
			return -1;
		if (n == 0) {
			/* perf's kernel map "[kernel.kallsyms]_text" is the dso
			 * "[kernel.kallsyms]" in HEADER_BUILD_ID */
			const char *dso = strncmp(rec->u.mmap.filename,
				"[kernel.kallsyms]", 17) == 0 ? "[kernel.kallsyms]" :
				rec->u.mmap.filename;
			const struct mpa_perf_build_id *b =
				mpa_perf_build_id_find(in->f, dso);

			if (b) {
				id = b->build_id;
				n = b->size;
			}
		}
		mpa_perf_build_id_hex(id, n, it->buildid_hex);
		return set_str(member(p, 6), it->buildid_hex);
	}
	default: /* FORK, EXIT */
		bt_field_integer_signed_set_value(member(p, 0), (int32_t)rec->u.task.pid);
		bt_field_integer_signed_set_value(member(p, 1), (int32_t)rec->u.task.ppid);
		bt_field_integer_signed_set_value(member(p, 2), (int32_t)rec->u.task.tid);
		bt_field_integer_signed_set_value(member(p, 3), (int32_t)rec->u.task.ptid);
		return 0;
	}
}

/* Converts one record into 0..2 queued messages. */
static int convert_record(struct perf_src_iter *it, struct input_iter *in,
		const struct mpa_perf_record *rec)
{
	const struct sample_class *sc = NULL;
	bt_event_class *ec = NULL;
	bt_stream *stream;
	bt_message *msg;
	uint64_t ts = rec->time;

	switch (rec->type) {
	case MPA_PERF_RECORD_SAMPLE: {
		size_t a = mpa_perf_attr_index(in->f, rec->attr);

		sc = &in->cls->samples[a];
		ec = sc->ec;
		break;
	}
	case MPA_PERF_RECORD_COMM:
		ec = in->cls->comm_ec;
		break;
	case MPA_PERF_RECORD_MMAP:
	case MPA_PERF_RECORD_MMAP2:
		ec = in->cls->mmap_ec;
		break;
	case MPA_PERF_RECORD_FORK:
		ec = in->cls->fork_ec;
		break;
	case MPA_PERF_RECORD_EXIT:
		ec = in->cls->exit_ec;
		break;
	case MPA_PERF_RECORD_LOST:
	case MPA_PERF_RECORD_LOST_SAMPLES:
		if (rec->u.lost.lost == 0)
			return 0;
		stream = record_stream(it, in, rec);
		if (!stream)
			return -1;
		msg = bt_message_discarded_events_create_with_default_clock_snapshots(
			it->self_iter, stream, it->any_ts ? it->last_ts : ts, ts);
		if (!msg)
			return -1;
		bt_message_discarded_events_set_count(msg, rec->u.lost.lost);
		push_msg(it, msg);
		return 0;
	default:
		return 0;   /* not an event for us: see doc/perf-data.md */
	}

	stream = record_stream(it, in, rec);
	if (!stream)
		return -1;
	msg = bt_message_event_create_with_default_clock_snapshot(it->self_iter,
		ec, stream, ts);
	if (!msg)
		return -1;
	{
		bt_field *payload = bt_event_borrow_payload_field(
			bt_message_event_borrow_event(msg));
		int ret = sc ? fill_sample(sc, payload, rec) :
			fill_special(it, in, payload, rec);

		if (ret) {
			bt_message_put_ref(msg);
			return -1;
		}
	}
	push_msg(it, msg);
	return 0;
}

/* Makes sure input i has a peeked record unless it is done. */
static int peek(struct perf_src_iter *it, struct input_iter *in)
{
	int st;

	if (in->has_rec || in->done)
		return 0;
	st = mpa_perf_next(in->f, &in->rec);
	if (st == MPA_PERF_OK) {
		in->has_rec = true;
		return 0;
	}
	if (st == MPA_PERF_END) {
		in->done = true;
		return 0;
	}
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(it->self_iter,
		"Failed to read perf.data file: path=\"%s\": %s", in->cls->path,
		mpa_perf_errmsg(in->f));
	return -1;
}

bt_message_iterator_class_initialize_method_status
mpa_perf_src_msg_iter_initialize(bt_self_message_iterator *self_iter,
		bt_self_message_iterator_configuration *config,
		bt_self_component_port_output *self_port)
{
	bt_message_iterator_class_initialize_method_status status =
		BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
	bt_self_component *self_comp =
		bt_self_message_iterator_borrow_component(self_iter);
	struct perf_src_comp *comp = bt_self_component_get_data(self_comp);
	struct perf_src_iter *it;
	size_t i;

	(void)self_port;
	(void)config;
	it = calloc(1, sizeof(*it));
	if (!it) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
			"Failed to allocate the message iterator");
		status = BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto end;
	}
	it->self_iter = self_iter;
	it->comp = comp;
	it->buildid_hex = malloc(2 * MPA_PERF_BUILD_ID_MAX + 1);
	it->inputs = calloc(comp->nr_inputs, sizeof(*it->inputs));
	if (!it->inputs || !it->buildid_hex) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
			"Failed to allocate the message iterator");
		status = BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto end;
	}
	for (i = 0; i < comp->nr_inputs; i++) {
		struct input_iter *in = &it->inputs[i];

		in->cls = &comp->inputs[i];
		in->by_cpu = calloc(MAX_CPUS + 1, sizeof(*in->by_cpu));
		if (!in->by_cpu) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
				"Failed to allocate the stream table");
			goto error;
		}
		in->f = open_input(in->cls->path, NULL, self_iter);
		if (!in->f)
			goto error;
		it->nr_inputs++;
		if (mpa_perf_nr_attrs(in->f) != in->cls->nr_samples) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
				"perf.data file changed since the component was created: path=\"%s\"",
				in->cls->path);
			goto error;
		}
		if (make_trace(in)) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self_iter,
				"Failed to create the trace: path=\"%s\"", in->cls->path);
			goto error;
		}
	}
	bt_self_message_iterator_set_data(self_iter, it);
	it = NULL;
	goto end;

error:
	status = BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;

end:
	iter_destroy(it);
	return status;
}

void mpa_perf_src_msg_iter_finalize(bt_self_message_iterator *self_iter)
{
	iter_destroy(bt_self_message_iterator_get_data(self_iter));
}

/* Refills the pending queue: one record, or the stream-end messages. */
static int refill(struct perf_src_iter *it)
{
	struct input_iter *best = NULL;
	size_t i;

	it->nr_pending = 0;
	it->pending_pos = 0;
	if (it->ended) {
		/* one stream end per call */
		while (it->end_input < it->nr_inputs) {
			struct input_iter *in = &it->inputs[it->end_input];

			if (it->end_stream < in->nr_streams) {
				const bt_message *msg = bt_message_stream_end_create(
					it->self_iter,
					in->streams[it->end_stream++].stream);

				if (!msg)
					return -1;
				push_msg(it, msg);
				return 0;
			}
			it->end_input++;
			it->end_stream = 0;
		}
		return 0;
	}
	for (i = 0; i < it->nr_inputs; i++) {
		struct input_iter *in = &it->inputs[i];

		if (peek(it, in))
			return -1;
		if (in->has_rec && (!best || in->rec.time < best->rec.time))
			best = in;
	}
	if (!best) {
		it->ended = true;
		return refill(it);
	}
	best->has_rec = false;
	/* Inputs are merged by time; keep the output monotonic across them. */
	if (it->any_ts && best->rec.time < it->last_ts)
		best->rec.time = it->last_ts;
	if (convert_record(it, best, &best->rec)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(it->self_iter,
			"Failed to convert a perf record: path=\"%s\", offset=%" PRIu64
			", type=%" PRIu32, best->cls->path, best->rec.offset,
			best->rec.type);
		return -1;
	}
	it->last_ts = best->rec.time;
	it->any_ts = true;
	return 0;
}

bt_message_iterator_class_next_method_status mpa_perf_src_msg_iter_next(
		bt_self_message_iterator *self_iter, bt_message_array_const msgs,
		uint64_t capacity, uint64_t *count)
{
	bt_message_iterator_class_next_method_status status =
		BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
	struct perf_src_iter *it = bt_self_message_iterator_get_data(self_iter);
	uint64_t n = 0;

	if (it->deferred) {
		bt_current_thread_move_error(it->deferred);
		it->deferred = NULL;
		status = BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
		goto end;
	}
	while (n < capacity) {
		if (it->pending_pos == it->nr_pending) {
			if (refill(it)) {
				if (n > 0) {
					/* deliver what came before the error */
					it->deferred = bt_current_thread_take_error();
					goto end;
				}
				status = BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
				goto end;
			}
			if (it->nr_pending == 0 && it->ended &&
					it->end_input >= it->nr_inputs)
				break;
			continue;
		}
		msgs[n++] = it->pending[it->pending_pos++];
	}
	if (n == 0)
		status = BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;

end:
	*count = n;
	return status;
}

bt_component_class_source *mpa_perf_src_class_create(void)
{
	bt_message_iterator_class *ic = NULL;
	bt_component_class_source *cls = NULL;

	ic = bt_message_iterator_class_create(mpa_perf_src_msg_iter_next);
	if (!ic)
		goto error;
	if (bt_message_iterator_class_set_initialize_method(ic,
			mpa_perf_src_msg_iter_initialize) !=
			BT_MESSAGE_ITERATOR_CLASS_SET_METHOD_STATUS_OK ||
			bt_message_iterator_class_set_finalize_method(ic,
			mpa_perf_src_msg_iter_finalize) !=
			BT_MESSAGE_ITERATOR_CLASS_SET_METHOD_STATUS_OK)
		goto error;
	cls = bt_component_class_source_create(MPA_PERF_SRC_NAME, ic);
	if (!cls)
		goto error;
	if (bt_component_class_source_set_initialize_method(cls,
			mpa_perf_src_initialize) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
			bt_component_class_source_set_finalize_method(cls,
			mpa_perf_src_finalize) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
			bt_component_class_source_set_query_method(cls,
			mpa_perf_src_query) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
			bt_component_class_set_description(
			bt_component_class_source_as_component_class(cls),
			MPA_PERF_SRC_DESCRIPTION) != BT_COMPONENT_CLASS_SET_DESCRIPTION_STATUS_OK ||
			bt_component_class_set_help(
			bt_component_class_source_as_component_class(cls),
			MPA_PERF_SRC_HELP) != BT_COMPONENT_CLASS_SET_HELP_STATUS_OK)
		goto error;
	bt_message_iterator_class_put_ref(ic);
	return cls;

error:
	bt_component_class_source_put_ref(cls);
	bt_message_iterator_class_put_ref(ic);
	return NULL;
}
