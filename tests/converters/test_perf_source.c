/*
 * source.mpa.perf in a Babeltrace2 graph (created at run time with
 * mpa_perf_src_class_create(), no plugin needed): exact event and
 * discarded-event counts, payload layout, environment, clock, ordering
 * through flt.utils.muxer, errors for bad inputs; and a real
 * `perf record -e page-faults -d` recording compared with `perf script`.
 */
#include <criterion/criterion.h>

#include <babeltrace2/babeltrace.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpa/mpt.h"
#include "../../converters/perf/perf_data.h"
#include "../../converters/perf/src_perf.h"
#include "perf_fixtures/perf_fixtures.h"

#define MAX_CLASSES 16

struct sink {
	size_t events, discarded_msgs, stream_begin, stream_end;
	uint64_t discarded;
	struct {
		char name[64];
		size_t count;
	} cls[MAX_CLASSES];
	size_t nr_cls;
	bool monotonic;
	int64_t last_ns;
	bool any;
	/* first event of the class named `probe` */
	const char *probe;
	char probe_members[512];
	uint64_t probe_addr, probe_weight;
	bool probe_seen;
	/* environment of the first trace */
	char host[64], tracer[64], domain[64], clock[32];
	int64_t clockid;
	bool origin_epoch;
	/* samples with data addresses within [lo, hi) for pid */
	uint64_t lo, hi;
	int64_t pid;
	size_t in_range;
	/* discarded-events time ranges stay ordered */
	bool discarded_ok;
	int64_t exit_ns;        /* time of the last perf:exit */
	/* `perf buildid-list` output: perf:mmap build ids checked against it */
	const char *bidlist;
	size_t bid_match, bid_mismatch, bid_kernel;
	char stream_names[128]; /* names of the streams, in order of beginning */
};

static void count_class(struct sink *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nr_cls; i++)
		if (strcmp(s->cls[i].name, name) == 0) {
			s->cls[i].count++;
			return;
		}
	cr_assert_lt(s->nr_cls, MAX_CLASSES);
	snprintf(s->cls[s->nr_cls].name, sizeof(s->cls[0].name), "%s", name);
	s->cls[s->nr_cls++].count = 1;
}

static size_t class_count(const struct sink *s, const char *name)
{
	for (size_t i = 0; i < s->nr_cls; i++)
		if (strcmp(s->cls[i].name, name) == 0)
			return s->cls[i].count;
	return 0;
}

static const bt_field *member_by_name(const bt_field *payload, const char *name)
{
	return bt_field_structure_borrow_member_field_by_name_const(payload, name);
}

static void env_str(const bt_trace *t, const char *name, char *out, size_t n)
{
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, name);

	snprintf(out, n, "%s", v && bt_value_is_string(v) ? bt_value_string_get(v) : "");
}

static void check_time(struct sink *s, const bt_clock_snapshot *cs)
{
	int64_t ns;

	cr_assert_eq(bt_clock_snapshot_get_ns_from_origin(cs, &ns),
		BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK);
	if (s->any && ns < s->last_ns)
		s->monotonic = false;
	s->last_ns = ns;
	s->any = true;
}

static void on_event(struct sink *s, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	const char *name = bt_event_class_get_name(ec);
	const bt_field *p = bt_event_borrow_payload_field_const(ev);

	s->events++;
	count_class(s, name);
	check_time(s, bt_message_event_borrow_default_clock_snapshot_const(msg));
	if (strcmp(name, "perf:exit") == 0)
		s->exit_ns = s->last_ns;
	if (s->bidlist && strcmp(name, "perf:mmap") == 0) {
		const char *file = bt_field_string_get_value(member_by_name(p, "filename"));
		const char *bid = bt_field_string_get_value(member_by_name(p, "build_id"));
		const char *dso = strncmp(file, "[kernel.kallsyms]", 17) == 0 ?
			"[kernel.kallsyms]" : file;
		char needle[4200];
		const char *hit;

		snprintf(needle, sizeof(needle), " %s\n", dso);
		hit = strstr(s->bidlist, needle);
		if (hit && *bid) {
			const char *line = hit;

			while (line > s->bidlist && line[-1] != '\n')
				line--;
			if ((size_t)(hit - line) == strlen(bid) &&
					strncmp(line, bid, strlen(bid)) == 0) {
				s->bid_match++;
				if (dso != file)
					s->bid_kernel++;
			} else {
				s->bid_mismatch++;
			}
		} else if (hit) {
			s->bid_mismatch++;   /* perf knows it, we did not */
		}
	}
	if (s->events == 1) {
		const bt_trace *t = bt_stream_borrow_trace_const(bt_event_borrow_stream_const(ev));
		const bt_value *v;
		const bt_clock_class *cc = bt_clock_snapshot_borrow_clock_class_const(
			bt_message_event_borrow_default_clock_snapshot_const(msg));

		env_str(t, "host", s->host, sizeof(s->host));
		env_str(t, "tracer_name", s->tracer, sizeof(s->tracer));
		env_str(t, "domain", s->domain, sizeof(s->domain));
		env_str(t, "perf_clock", s->clock, sizeof(s->clock));
		v = bt_trace_borrow_environment_entry_value_by_name_const(t, "perf_clockid");
		s->clockid = v && bt_value_is_signed_integer(v) ?
			bt_value_integer_signed_get(v) : -1;
		s->origin_epoch = bt_clock_class_origin_is_unix_epoch(cc);
		cr_expect_eq(bt_clock_class_get_frequency(cc), 1000000000);
	}
	if (s->probe && !s->probe_seen && strcmp(name, s->probe) == 0) {
		const bt_field_class *fc = bt_event_class_borrow_payload_field_class_const(ec);
		uint64_t i, n = bt_field_class_structure_get_member_count(fc);

		s->probe_members[0] = '\0';
		for (i = 0; i < n; i++) {
			const char *mn = bt_field_class_structure_member_get_name(
				bt_field_class_structure_borrow_member_by_index_const(fc, i));

			strncat(s->probe_members, mn, sizeof(s->probe_members) -
				strlen(s->probe_members) - 2);
			strcat(s->probe_members, ",");
		}
		if (member_by_name(p, "perf_addr"))
			s->probe_addr = bt_field_integer_unsigned_get_value(
				member_by_name(p, "perf_addr"));
		if (member_by_name(p, "perf_weight"))
			s->probe_weight = bt_field_integer_unsigned_get_value(
				member_by_name(p, "perf_weight"));
		s->probe_seen = true;
	}
	if (s->hi && member_by_name(p, "perf_addr")) {
		uint64_t a = bt_field_integer_unsigned_get_value(member_by_name(p, "perf_addr"));
		int64_t pid = bt_field_integer_signed_get_value(member_by_name(p, "perf_pid"));

		if (pid == s->pid && a >= s->lo && a < s->hi)
			s->in_range++;
	}
}

static bt_graph_simple_sink_component_consume_func_status consume(
		bt_message_iterator *iter, void *data)
{
	struct sink *s = data;
	bt_message_array_const msgs;
	uint64_t count, i;

	switch (bt_message_iterator_next(iter, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (i = 0; i < count; i++) {
		const bt_message *m = msgs[i];

		switch (bt_message_get_type(m)) {
		case BT_MESSAGE_TYPE_EVENT:
			on_event(s, m);
			break;
		case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
			uint64_t n = 0;
			const bt_clock_snapshot *b, *e;
			int64_t bns, ens;

			cr_expect_eq(bt_message_discarded_events_get_count(m, &n),
				BT_PROPERTY_AVAILABILITY_AVAILABLE);
			s->discarded += n;
			s->discarded_msgs++;
			b = bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(m);
			e = bt_message_discarded_events_borrow_end_default_clock_snapshot_const(m);
			bt_clock_snapshot_get_ns_from_origin(b, &bns);
			bt_clock_snapshot_get_ns_from_origin(e, &ens);
			if (bns > ens || (s->any && bns < s->last_ns))
				s->discarded_ok = false;
			check_time(s, b);
			break;
		}
		case BT_MESSAGE_TYPE_STREAM_BEGINNING: {
			const bt_stream *st = bt_message_stream_beginning_borrow_stream_const(m);
			char buf[48];

			snprintf(buf, sizeof(buf), "%s=%" PRIu64 ",",
				bt_stream_get_name(st), bt_stream_get_id(st));
			strncat(s->stream_names, buf, sizeof(s->stream_names) -
				strlen(s->stream_names) - 1);
			s->stream_begin++;
			break;
		}
		case BT_MESSAGE_TYPE_STREAM_END:
			s->stream_end++;
			break;
		default:
			break;
		}
		bt_message_put_ref(m);
	}
	return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* The current thread's error as one string (caller frees); releases it. */
static char *take_error(void)
{
	const bt_error *err = bt_current_thread_take_error();
	char *out = calloc(1, 4096);
	uint64_t i;

	cr_assert_not_null(out);
	if (!err)
		return out;
	for (i = 0; i < bt_error_get_cause_count(err); i++) {
		strncat(out, bt_error_cause_get_message(
			bt_error_borrow_cause_by_index(err, i)), 4000 - strlen(out));
		strncat(out, " | ", 4000 - strlen(out));
	}
	bt_error_release(err);
	return out;
}

/*
 * Runs source(paths) [-> muxer] -> sink.  Returns 0, or -1 with *error set
 * (caller frees) when the graph could not be built or failed.
 */
static int run_graph(const char *const *paths, size_t n, bool muxer,
		struct sink *s, char **error)
{
	bt_graph *g = bt_graph_create(0);
	bt_component_class_source *cls = mpa_perf_src_class_create();
	bt_value *params = bt_value_map_create();
	bt_value *inputs = NULL;
	const bt_component_source *src = NULL;
	const bt_component_sink *snk = NULL;
	const bt_component_filter *mux = NULL;
	const bt_plugin *utils = NULL;
	bt_graph_run_status rs;
	int ret = -1;

	s->monotonic = true;
	s->discarded_ok = true;
	*error = NULL;
	cr_assert(g && cls && params);
	if (n == 1) {
		cr_assert_eq(bt_value_map_insert_string_entry(params, "path", paths[0]), 0);
	} else {
		cr_assert_eq(bt_value_map_insert_empty_array_entry(params, "inputs", &inputs), 0);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(bt_value_array_append_string_element(inputs, paths[i]), 0);
	}
	if (bt_graph_add_source_component(g, cls, "perf", params,
			BT_LOGGING_LEVEL_WARNING, &src) != BT_GRAPH_ADD_COMPONENT_STATUS_OK)
		goto error;
	cr_assert_eq(bt_graph_add_simple_sink_component(g, "sink", NULL, consume,
		NULL, s, &snk), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	if (muxer) {
		const bt_component_class_filter *mcls;

		cr_assert_eq(bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE,
			BT_TRUE, &utils), BT_PLUGIN_FIND_STATUS_OK);
		mcls = bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
		cr_assert_not_null(mcls);
		cr_assert_eq(bt_graph_add_filter_component(g, mcls, "muxer", NULL,
			BT_LOGGING_LEVEL_WARNING, &mux), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
		cr_assert_eq(bt_graph_connect_ports(g,
			bt_component_source_borrow_output_port_by_name_const(src, "out"),
			bt_component_filter_borrow_input_port_by_index_const(mux, 0), NULL),
			BT_GRAPH_CONNECT_PORTS_STATUS_OK);
		cr_assert_eq(bt_graph_connect_ports(g,
			bt_component_filter_borrow_output_port_by_name_const(mux, "out"),
			bt_component_sink_borrow_input_port_by_index_const(snk, 0), NULL),
			BT_GRAPH_CONNECT_PORTS_STATUS_OK);
	} else {
		cr_assert_eq(bt_graph_connect_ports(g,
			bt_component_source_borrow_output_port_by_name_const(src, "out"),
			bt_component_sink_borrow_input_port_by_index_const(snk, 0), NULL),
			BT_GRAPH_CONNECT_PORTS_STATUS_OK);
	}
	do {
		rs = bt_graph_run(g);
	} while (rs == BT_GRAPH_RUN_STATUS_AGAIN);
	if (rs != BT_GRAPH_RUN_STATUS_OK)
		goto error;
	ret = 0;
	goto end;

error:
	*error = take_error();

end:
	bt_value_put_ref(params);
	bt_component_class_source_put_ref(cls);
	bt_plugin_put_ref(utils);
	bt_graph_put_ref(g);
	return ret;
}

static char *fixture_file(struct pw *(*fn)(struct pf_expect *), struct pf_expect *e,
		char **dir)
{
	struct pw *w = fn(e);
	char *path;

	*dir = pf_mkdtemp();
	cr_assert_not_null(*dir);
	path = pf_join(*dir, "perf.data");
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	return path;
}

static void cleanup(char *path, char *dir)
{
	free(path);
	pf_rmtree(dir);
	free(dir);
}

/* ---- fixtures through the graph ----------------------------------------------- */

static void check_fixture_counts(const struct sink *s, const struct pf_expect *e)
{
	cr_expect_eq(s->events, e->nr_samples + e->nr_comm + e->nr_mmap +
		e->nr_fork + e->nr_exit, "events %zu", s->events);
	cr_expect_eq(class_count(s, "perf:comm"), e->nr_comm);
	cr_expect_eq(class_count(s, "perf:mmap"), e->nr_mmap);
	cr_expect_eq(class_count(s, "perf:fork"), e->nr_fork);
	cr_expect_eq(class_count(s, "perf:exit"), e->nr_exit);
	cr_expect_eq(s->discarded, e->lost);
	cr_expect_eq(s->discarded_msgs, e->nr_lost_records);
	cr_expect(s->monotonic, "messages go back in time");
	cr_expect(s->discarded_ok, "discarded-events time range out of order");
	cr_expect_eq(s->stream_begin, s->stream_end);
}

Test(perf_source, mem_loads_counts_and_payload)
{
	struct pf_expect e;
	char *dir, *path = fixture_file(pf_mem_loads, &e, &dir);
	const char *paths[] = { path };
	struct sink s = { .probe = "cpu/mem-loads,ldlat=30/P" };
	char *err;

	cr_assert_eq(run_graph(paths, 1, false, &s, &err), 0, "%s", err);
	check_fixture_counts(&s, &e);
	cr_expect_eq(class_count(&s, "cpu/mem-loads,ldlat=30/P"), e.nr_samples_per_attr[0]);
	cr_expect_eq(class_count(&s, "cpu/mem-stores/P"), e.nr_samples_per_attr[1]);
	/* one stream per CPU: cpu0 and cpu1 (synthesized records carry cpu 0) */
	cr_expect_eq(s.stream_begin, 2);
	cr_expect_str_eq(s.stream_names, "cpu0=0,cpu1=1,");
	cr_expect_str_eq(s.probe_members, "perf_ip,perf_tid,perf_pid,perf_addr,"
		"perf_cpu,perf_period,perf_weight,perf_data_src,");
	cr_expect_eq(s.probe_addr, 0x7f0000001000ULL + 1000 * 64);
	cr_expect_eq(s.probe_weight, 30 + 1000 % 97);
	cr_expect_str_eq(s.host, PF_HOST);
	cr_expect_str_eq(s.tracer, "perf");
	cr_expect_str_eq(s.domain, "kernel");
	cr_expect_str_eq(s.clock, "perf");
	cr_expect(!s.origin_epoch);
	cleanup(path, dir);
}

Test(perf_source, cache_misses_callchain_class)
{
	struct pf_expect e;
	char *dir, *path = fixture_file(pf_cache_misses, &e, &dir);
	const char *paths[] = { path };
	struct sink s = { .probe = "cache-misses" };
	char *err;

	cr_assert_eq(run_graph(paths, 1, true, &s, &err), 0, "%s", err);
	check_fixture_counts(&s, &e);
	cr_expect_eq(class_count(&s, "cache-misses"), e.nr_samples_per_attr[0]);
	cr_expect_eq(class_count(&s, "page-faults"), e.nr_samples_per_attr[1]);
	cr_expect_str_eq(s.probe_members, "perf_ip,perf_tid,perf_pid,perf_cpu,"
		"perf_period,perf_callchain,");
	cleanup(path, dir);
}

Test(perf_source, skip_fields_and_ver0)
{
	struct pw *(*fx[])(struct pf_expect *) = { pf_skip_fields, pf_ver0 };

	for (size_t i = 0; i < 2; i++) {
		struct pf_expect e;
		char *dir, *path = fixture_file(fx[i], &e, &dir);
		const char *paths[] = { path };
		struct sink s = { 0 };
		char *err;

		cr_assert_eq(run_graph(paths, 1, true, &s, &err), 0, "%s", err);
		check_fixture_counts(&s, &e);
		/* skip: cpu 1, plus cpu 0 of the synthesized COMM's zeroed
		 * trailer; ver0: no CPU sampled: one stream */
		cr_expect_eq(s.stream_begin, i == 0 ? 2 : 1);
		cleanup(path, dir);
	}
}

Test(perf_source, compressed_and_pipe_fixtures)
{
	struct pw *(*fx[])(struct pf_expect *) = { pf_mem_loads_z, pf_cache_misses_z,
		pf_mem_loads_pipe, pf_cache_misses_pipe_z };

	for (size_t i = 0; i < 4; i++) {
		struct pf_expect e;
		char *dir, *path = fixture_file(fx[i], &e, &dir);
		const char *paths[] = { path };
		struct sink s = { 0 };
		char *err;

		cr_assert_eq(run_graph(paths, 1, true, &s, &err), 0, "%s", err);
		check_fixture_counts(&s, &e);
		cleanup(path, dir);
	}
}

Test(perf_source, several_inputs_merge_by_time)
{
	struct pf_expect e1, e2;
	char *d1, *d2;
	char *p1 = fixture_file(pf_mem_loads, &e1, &d1);
	char *p2 = fixture_file(pf_cache_misses, &e2, &d2);
	const char *paths[] = { p1, p2 };
	struct sink s = { 0 };
	char *err;

	cr_assert_eq(run_graph(paths, 2, true, &s, &err), 0, "%s", err);
	cr_expect_eq(s.events, e1.nr_samples + e1.nr_comm + e1.nr_mmap + e1.nr_fork +
		e1.nr_exit + e2.nr_samples + e2.nr_comm + e2.nr_mmap + e2.nr_fork +
		e2.nr_exit);
	cr_expect_eq(s.discarded, e1.lost + e2.lost);
	cr_expect(s.monotonic);
	cr_expect_eq(s.stream_begin, 4);
	cleanup(p1, d1);
	cleanup(p2, d2);
}

Test(perf_source, bad_inputs_fail_cleanly)
{
	struct pf_expect e;
	char *dir, *path = fixture_file(pf_mem_loads, &e, &dir);
	char *bad = pf_join(dir, "bad.data");
	FILE *fp = fopen(bad, "w");
	const char *paths[] = { bad };
	const char *missing[] = { "/nonexistent/perf.data" };
	struct sink s = { 0 };
	char *err;
	size_t size;
	struct pw *w;
	unsigned char *buf;

	/* truncated perf.data */
	w = pf_mem_loads(&e);
	buf = pw_build(w, &size);
	pw_free(w);
	cr_assert_not_null(fp);
	fwrite(buf, 1, size / 2, fp);
	fclose(fp);
	free(buf);
	cr_expect_eq(run_graph(paths, 1, false, &s, &err), -1);
	cr_expect(strstr(err, "bad.data") && strstr(err, "beyond end of file"), "%s", err);
	free(err);
	cr_expect_eq(run_graph(missing, 1, false, &s, &err), -1);
	cr_expect(strstr(err, "No such file"), "%s", err);
	free(err);
	free(bad);
	cleanup(path, dir);
}

Test(perf_source, corrupt_record_mid_stream_is_an_error)
{
	/* A valid header whose data section holds a record of size 0: the
	 * graph fails with the offset, after the good records. */
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	struct pw_sample smp = { 0 };
	static const uint64_t ids[] = { 1 };
	static const unsigned char zero_rec[8] = { 9, 0, 0, 0, 0, 0, 0, 0 };
	char *dir = pf_mkdtemp();
	char *path = pf_join(dir, "perf.data");
	const char *paths[] = { path };
	struct sink s = { 0 };
	char *err;

	a.type = 1;
	a.config = 2;
	a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID | MPA_PERF_SAMPLE_TIME;
	a.flags = MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL;
	pw_add_attr(w, &a, "page-faults", ids, 1);
	smp.time = 10;
	pw_sample(w, 0, &smp);
	pw_raw_record(w, zero_rec, sizeof(zero_rec));
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	cr_expect_eq(run_graph(paths, 1, false, &s, &err), -1);
	cr_expect(strstr(err, "invalid size 0"), "%s", err);
	cr_expect_eq(s.events, 1, "the record before the bad one is delivered");
	free(err);
	cleanup(path, dir);
}

Test(perf_source, absurd_cpu_is_an_error)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	struct pw_sample smp = { 0 };
	static const uint64_t ids[] = { 1 };
	char *dir = pf_mkdtemp();
	char *path = pf_join(dir, "perf.data");
	const char *paths[] = { path };
	struct sink s = { 0 };
	char *err;

	a.type = 1;
	a.config = 2;
	a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TIME | MPA_PERF_SAMPLE_CPU;
	a.flags = MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL;
	pw_add_attr(w, &a, "page-faults", ids, 1);
	smp.time = 10;
	smp.cpu = 3;
	pw_sample(w, 0, &smp);
	smp.cpu = 0x7fffffff;     /* would make a stream per value */
	pw_sample(w, 0, &smp);
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	cr_expect_eq(run_graph(paths, 1, false, &s, &err), -1);
	cr_expect(strstr(err, "Invalid CPU number") && strstr(err, "cpu=2147483647"), "%s", err);
	cr_expect_eq(s.events, 1);
	free(err);
	cleanup(path, dir);
}

Test(perf_source, params_are_checked)
{
	bt_graph *g = bt_graph_create(0);
	bt_component_class_source *cls = mpa_perf_src_class_create();
	bt_value *params = bt_value_map_create();
	const bt_component_source *src = NULL;
	char *err;

	cr_assert(g && cls && params);
	cr_expect_neq(bt_graph_add_source_component(g, cls, "perf", params,
		BT_LOGGING_LEVEL_WARNING, &src), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	err = take_error();
	cr_expect(strstr(err, "`inputs`") != NULL, "%s", err);
	free(err);
	bt_value_put_ref(params);
	bt_component_class_source_put_ref(cls);
	bt_graph_put_ref(g);
}

/* ---- real recordings -------------------------------------------------------------- */

static char *touch_path(void)
{
	const char *b = getenv("MPA_BUILD");

	cr_assert_not_null(b, "MPA_BUILD is not set");
	return pf_join(b, "tests/converters/perf-touch-mem");
}

/* Records `perf record OPTS -e page-faults -c 1 -d -- perf-touch-mem PAGES`;
 * lo and hi receive the range the workload touched (when not NULL). */
static char *record_range(const char *opts, int pages, char **dir,
		uint64_t *lo, uint64_t *hi, int64_t *end_ns)
{
	char *touch = touch_path();
	char *path, *cmd, *out, *touch_out;
	char cmd2[1024];
	int status;

	*dir = pf_mkdtemp();
	cr_assert_not_null(*dir);
	path = pf_join(*dir, "perf.data");
	touch_out = pf_join(*dir, "touch.out");
	if (strstr(opts, "-o -"))   /* pipe mode */
		cr_assert(asprintf(&cmd, "perf record -q %s -e page-faults -c 1 -d -- '%s' %d '%s'"
			" 2>/dev/null > '%s'", opts, touch, pages, touch_out, path) > 0);
	else
		cr_assert(asprintf(&cmd, "perf record -q %s -e page-faults -c 1 -d -o '%s' -- '%s' %d"
			" '%s' >/dev/null 2>&1", opts, path, touch, pages, touch_out) > 0);
	out = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "'%s' failed", cmd);
	free(out);
	snprintf(cmd2, sizeof(cmd2), "cat '%s'", touch_out);
	out = pf_run(cmd2, &status);
	cr_assert_eq(status, 0);
	free(touch_out);
	if (lo) {
		uint64_t len, sum;

		cr_assert_eq(sscanf(out, "%" SCNx64 " %" SCNu64 " %" SCNu64 " %" SCNd64,
			lo, &len, &sum, end_ns), 4, "workload output '%s'", out);
		*hi = *lo + len;
	}
	free(out);
	free(cmd);
	free(touch);
	return path;
}

static char *record(const char *opts, int pages, char **dir)
{
	return record_range(opts, pages, dir, NULL, NULL, NULL);
}

/*
 * Records the workload touching `pages` pages with `opts`, and compares
 * every sample with `perf script -F tid,addr,ip`, in order.
 */
static void match_recording(const char *opts, int pages, bool compressed)
{
	uint64_t anon_lo = 0, anon_hi = 0;
	int64_t end_ns;
	char *dir, *path = record_range(opts, pages, &dir, &anon_lo, &anon_hi, &end_ns);
	char cmd[1024];
	char *out, *line, *save = NULL;
	int status;
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	size_t matched = 0, nlines = 0, in_anon = 0;

	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -G -F tid,addr,ip 2>/dev/null", path);
	out = pf_run(cmd, &status);
	cr_assert_eq(status, 0);
	cr_assert_eq(mpa_perf_open(path, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long tid;
		uint64_t addr, ip;

		nlines++;
		cr_assert_eq(sscanf(line, "%lu %" SCNx64 " %" SCNx64, &tid, &addr, &ip), 3,
			"unexpected perf script line '%s'", line);
		do {
			cr_assert_eq(mpa_perf_next(f, &rec), MPA_PERF_OK,
				"parser ran out of samples at perf script line %zu: %s",
				nlines, mpa_perf_errmsg(f));
		} while (rec.type != MPA_PERF_RECORD_SAMPLE);
		cr_expect_eq(rec.s.tid, tid, "sample %zu: tid", matched);
		cr_expect_eq(rec.s.addr, addr, "sample %zu: addr", matched);
		cr_expect_eq(rec.s.ip, ip, "sample %zu: ip", matched);
		if (rec.s.addr >= anon_lo && rec.s.addr < anon_hi)
			in_anon++;
		matched++;
	}
	while (mpa_perf_next(f, &rec) == MPA_PERF_OK)
		cr_expect_neq(rec.type, MPA_PERF_RECORD_SAMPLE, "parser has extra samples");
	cr_expect_str_eq(mpa_perf_errmsg(f), "");
	cr_expect_gt(matched, (size_t)pages);
	/* every touched page faulted once, with its data address */
	cr_expect_eq(in_anon, (size_t)pages, "%zu faults in the touched mapping", in_anon);
	if (compressed)
		cr_expect_gt(mpa_perf_stats(f)->nr_compressed, 0);
	else
		cr_expect_eq(mpa_perf_stats(f)->nr_compressed, 0);
	mpa_perf_close(f);
	free(out);
	cleanup(path, dir);
}

Test(perf_record, page_faults_match_perf_script, .timeout = 180)
{
	match_recording("", 777, false);
}

Test(perf_record, pipe_recording_matches_perf_script, .timeout = 180)
{
	/* perf record -o -: HEADER_ATTR / HEADER_FEATURE records, no sections */
	match_recording("-o -", 500, false);
}

Test(perf_record, compressed_recording_matches_perf_script, .timeout = 180)
{
	/* perf record -z: zstd COMPRESSED records, records straddling them */
	match_recording("-z", 20000, true);
}

Test(perf_record, page_faults_through_the_source, .timeout = 180)
{
	char *dir, *path = record("", 300, &dir);
	const char *paths[] = { path };
	struct sink s = { .probe = "page-faults" };
	char *err, *out, *bidlist;
	char cmd[1024];
	int status;
	size_t nsamples = 0;

	snprintf(cmd, sizeof(cmd), "perf buildid-list -i '%s' 2>/dev/null", path);
	bidlist = pf_run(cmd, &status);
	s.bidlist = bidlist;
	cr_assert_eq(run_graph(paths, 1, true, &s, &err), 0, "%s", err);
	/* build ids: from MMAP2 records or HEADER_BUILD_ID, as perf has them */
	if (*bidlist)
		cr_expect_gt(s.bid_match, 0, "no perf:mmap build id matched:\n%s", bidlist);
	cr_expect_eq(s.bid_mismatch, 0);
	if (strstr(bidlist, " [kernel.kallsyms]\n"))
		cr_expect_gt(s.bid_kernel, 0, "kernel build id not found");
	free(bidlist);
	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -F tid 2>/dev/null | wc -l", path);
	out = pf_run(cmd, &status);
	nsamples = strtoull(out, NULL, 10);
	free(out);
	cr_expect_eq(class_count(&s, "page-faults"), nsamples);
	/* side-band records: the same counts as perf's own listing */
	{
		static const struct {
			const char *perf, *cls;
		} side[] = {
			{ "PERF_RECORD_COMM", "perf:comm" },
			{ "PERF_RECORD_MMAP", "perf:mmap" },   /* MMAP and MMAP2 */
			{ "PERF_RECORD_FORK", "perf:fork" },
			{ "PERF_RECORD_EXIT", "perf:exit" },
		};

		for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
			snprintf(cmd, sizeof(cmd), "perf script -i '%s' --show-task-events "
				"--show-mmap-events 2>/dev/null | grep -c '%s'",
				path, side[i].perf);
			out = pf_run(cmd, &status);
			cr_expect_eq(class_count(&s, side[i].cls), strtoull(out, NULL, 10),
				"%s: %zu events, perf script lists %s", side[i].cls,
				class_count(&s, side[i].cls), out);
			free(out);
		}
	}
	cr_expect_gt(class_count(&s, "perf:exit"), 0);
	/* -c 1: fixed period, so no PERF_SAMPLE_PERIOD; perf_period still
	 * comes out, from attr.sample_period (each sample = 1 fault) */
	cr_expect_str_eq(s.probe_members, "perf_ip,perf_tid,perf_pid,perf_addr,"
		"perf_period,perf_data_src,");
	cr_expect_str_eq(s.tracer, "perf");
	cr_expect_neq(s.host[0], '\0');
	cr_expect(s.monotonic);
	cr_expect_eq(s.discarded, 0);
	cleanup(path, dir);
}

Test(perf_record, mono_clock_lines_up_with_wall_clock, .timeout = 180)
{
	uint64_t lo, hi;
	int64_t end_ns;
	char *dir, *path = record_range("-k mono", 64, &dir, &lo, &hi, &end_ns);
	const char *paths[] = { path };
	struct sink s = { 0 };
	char *err;

	cr_assert_eq(run_graph(paths, 1, false, &s, &err), 0, "%s", err);
	cr_expect_str_eq(s.clock, "monotonic");
	cr_expect_eq(s.clockid, 1);
	cr_expect_str_eq(s.stream_names, "all=0,");
	/* HEADER_CLOCK_DATA: times from origin are wall-clock times; the
	 * workload read CLOCK_REALTIME just before exiting */
	cr_expect(s.origin_epoch);
	cr_assert_neq(s.exit_ns, 0);
	cr_expect(s.exit_ns >= end_ns - 20000000 && s.exit_ns <= end_ns + 500000000,
		"exit at %" PRId64 " ns, workload's last wall-clock time %" PRId64
		" ns", s.exit_ns, end_ns);
	cleanup(path, dir);
}

Test(perf_record, default_clock_is_not_wall_clock, .timeout = 180)
{
	char *dir, *path = record("", 16, &dir);
	const char *paths[] = { path };
	struct sink s = { 0 };
	char *err;

	cr_assert_eq(run_graph(paths, 1, false, &s, &err), 0, "%s", err);
	cr_expect_str_eq(s.clock, "perf");
	cr_expect_eq(s.clockid, -1);
	cr_expect(!s.origin_epoch);
	cleanup(path, dir);
}

Test(perf_source, support_info_query)
{
	struct pf_expect e;
	char *dir, *path = fixture_file(pf_mem_loads, &e, &dir);
	const char *inputs[] = { path, "/etc/hostname", "/nonexistent" };
	const double weights[] = { 0.75, 0.0, 0.0 };
	bt_component_class_source *cls = mpa_perf_src_class_create();

	for (size_t i = 0; i < 3; i++) {
		bt_value *params = bt_value_map_create();
		bt_query_executor *q;
		const bt_value *res = NULL;

		cr_assert_eq(bt_value_map_insert_string_entry(params, "type", "file"), 0);
		cr_assert_eq(bt_value_map_insert_string_entry(params, "input", inputs[i]), 0);
		q = bt_query_executor_create(bt_component_class_source_as_component_class_const(cls),
			"babeltrace.support-info", params);
		cr_assert_not_null(q);
		cr_assert_eq(bt_query_executor_query(q, &res), BT_QUERY_EXECUTOR_QUERY_STATUS_OK);
		cr_expect(bt_value_is_real(res));
		cr_expect_float_eq(bt_value_real_get(res), weights[i], 1e-9, "%s", inputs[i]);
		bt_value_put_ref(res);
		bt_query_executor_put_ref(q);
		bt_value_put_ref(params);
	}
	bt_component_class_source_put_ref(cls);
	cleanup(path, dir);
}

/* ---- the babeltrace2 CLI with the mpa plugin ------------------------------------ */

/*
 * The plugin of the plain build (the sanitized one cannot be loaded by the
 * uninstrumented babeltrace2 CLI).  make check builds it first.
 */
static char *plain_plugin_dir(void)
{
	const char *src = getenv("MPA_SRC");
	char *dir, *so;

	cr_assert_not_null(src, "MPA_SRC is not set");
	dir = pf_join(src, "build/lib/babeltrace2/plugins");
	so = pf_join(dir, "babeltrace-plugin-mpa.so");
	if (access(so, R_OK) != 0) {
		free(so);
		free(dir);
		return NULL;
	}
	free(so);
	return dir;
}

static uint64_t counter_line(const char *out, const char *what)
{
	const char *p = strstr(out, what);

	cr_assert_not_null(p, "no '%s' in counter output:\n%s", what, out);
	while (p > out && p[-1] == ' ')
		p--;
	while (p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoull(p, NULL, 10);
}

Test(perf_cli, babeltrace2_with_the_mpa_plugin, .timeout = 120)
{
	char *plugins = plain_plugin_dir();
	struct pf_expect e;
	char *dir, *path, *out, *cmd;
	int status;

	if (!plugins)
		cr_skip_test("the mpa plugin is not built in build/ (run make all)");
	path = fixture_file(pf_mem_loads, &e, &dir);
	/* explicit component, then automatic discovery of the perf.data file */
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			cr_assert(asprintf(&cmd, "babeltrace2 --plugin-path='%s' -c source.mpa.perf "
				"-p 'path=\"%s\"' -c sink.utils.counter 2>&1", plugins, path) > 0);
		else
			cr_assert(asprintf(&cmd, "babeltrace2 --plugin-path='%s' '%s' "
				"-c sink.utils.counter 2>&1", plugins, path) > 0);
		out = pf_run(cmd, &status);
		cr_assert_eq(status, 0, "%s:\n%s", cmd, out);
		cr_expect_eq(counter_line(out, " Event messages"), e.nr_samples + e.nr_comm +
			e.nr_mmap + e.nr_fork + e.nr_exit);
		cr_expect_eq(counter_line(out, " Discarded event messages"), e.nr_lost_records);
		cr_expect_eq(counter_line(out, " Stream beginning messages"), 2);
		free(out);
		free(cmd);
	}
	/* a corrupt file: one clear error, non-zero exit */
	{
		FILE *fp = fopen(path, "r+");

		cr_assert_not_null(fp);
		fwrite("PERFILE3", 1, 8, fp);
		fclose(fp);
		cr_assert(asprintf(&cmd, "babeltrace2 --plugin-path='%s' -c source.mpa.perf "
			"-p 'path=\"%s\"' -c sink.utils.counter 2>&1", plugins, path) > 0);
		out = pf_run(cmd, &status);
		cr_expect_neq(status, 0);
		cr_expect(strstr(out, "bad magic") != NULL, "%s", out);
		free(out);
		free(cmd);
	}
	free(plugins);
	cleanup(path, dir);
}

/* A fixture converted by mpa-convert: its proc_fork and proc_exit records
 * (pid, tid, ppid) in order, into rec[max][4] (kind, pid, tid, ppid). */
static size_t convert_tasks(struct pw *(*fn)(struct pf_expect *), struct pf_expect *e,
		int32_t rec[][4], size_t max)
{
	const char *b = getenv("MPA_BUILD");
	char *dir, *path, *out, *cmd, *txt;
	int status;
	size_t n = 0;

	cr_assert_not_null(b, "MPA_BUILD is not set");
	path = fixture_file(fn, e, &dir);
	out = pf_join(dir, "f.mpt");
	cr_assert(asprintf(&cmd, "'%s/bin/mpa-convert' -q '%s' -o '%s' 2>&1", b, path, out) > 0);
	txt = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "%s:\n%s", cmd, txt);
	free(txt);
	free(cmd);

	mpt_reader *r;
	struct mpt_error err;
	const struct mpt_batch *bt;
	struct mpt_scan sc = { .columns = MPT_COLBIT(MPT_COL_PID) | MPT_COLBIT(MPT_COL_TID) |
		MPT_COLBIT(MPT_COL_PPID), .kinds = MPT_KINDBIT(MPA_KIND_PROC_FORK) |
		MPT_KINDBIT(MPA_KIND_PROC_EXIT) };

	cr_assert_eq(mpt_reader_open(out, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_scan(r, &sc, &err), MPT_OK, "%s", err.msg);
	while (mpt_reader_next(r, &bt, &err) == MPT_OK)
		for (uint32_t i = 0; i < bt->n; i++, n++) {
			cr_assert_lt(n, max);
			rec[n][0] = bt->kind[i];
			rec[n][1] = bt->pid[i];
			rec[n][2] = bt->tid[i];
			rec[n][3] = bt->ppid[i];
		}
	mpt_reader_close(r);
	free(out);
	cleanup(path, dir);
	return n;
}

/* perf's task records through mpa-convert: the FORK of a new process
 * becomes a proc_fork record (child pid and tid, parent pid), the FORK of a
 * new thread none; the EXIT of a process's main thread becomes a proc_exit,
 * a thread's none. */
Test(perf_cli, fork_records_become_proc_fork, .timeout = 120)
{
	struct pf_expect e;
	int32_t rec[8][4];
	size_t n;

	/* tid 1001 created in process 1000, and its exit */
	n = convert_tasks(pf_mem_loads, &e, rec, 8);
	cr_assert_eq(e.nr_fork, 1);
	cr_assert_eq(e.nr_exit, 1);
	cr_assert_eq(n, 0, "a thread's fork and exit make no record");
	/* process 4001 forked from 4000, then its exit */
	n = convert_tasks(pf_ver0, &e, rec, 8);
	cr_assert_eq(e.nr_fork, 1);
	cr_assert_eq(n, 2);
	cr_assert_eq(rec[0][0], MPA_KIND_PROC_FORK);
	cr_assert(rec[0][1] == 4001 && rec[0][2] == 4001 && rec[0][3] == 4000,
		  "proc_fork pid %d tid %d ppid %d", rec[0][1], rec[0][2], rec[0][3]);
	cr_assert_eq(rec[1][0], MPA_KIND_PROC_EXIT);
	cr_assert_eq(rec[1][1], 4001);
}

/* ---- one timeline with LTTng ---------------------------------------------------- */

struct timeline {
	int64_t pid;               /* the workload's pid (perf:comm exec) */
	int64_t exec_ns, exit_ns;  /* its exec and exit, from perf */
	size_t lttng_mallocs;      /* lttng_ust_libc:malloc of that pid */
	size_t inside;             /* ... between its exec and exit */
	size_t perf_events;
	bool monotonic;
	int64_t last_ns;
};

static int64_t msg_ns(const bt_message *m)
{
	int64_t ns = 0;

	bt_clock_snapshot_get_ns_from_origin(
		bt_message_event_borrow_default_clock_snapshot_const(m), &ns);
	return ns;
}

static bt_graph_simple_sink_component_consume_func_status timeline_consume(
		bt_message_iterator *iter, void *data)
{
	struct timeline *t = data;
	bt_message_array_const msgs;
	uint64_t count, i;

	switch (bt_message_iterator_next(iter, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (i = 0; i < count; i++) {
		const bt_message *m = msgs[i];

		if (bt_message_get_type(m) == BT_MESSAGE_TYPE_EVENT) {
			const bt_event *ev = bt_message_event_borrow_event_const(m);
			const char *name = bt_event_class_get_name(bt_event_borrow_class_const(ev));
			const bt_field *p = bt_event_borrow_payload_field_const(ev);
			int64_t ns = msg_ns(m);

			if (ns < t->last_ns)
				t->monotonic = false;
			t->last_ns = ns;
			if (strcmp(name, "perf:comm") == 0 &&
					bt_field_integer_unsigned_get_value(member_by_name(p, "exec")) &&
					strcmp(bt_field_string_get_value(member_by_name(p, "comm")),
						"perf-touch-mem") == 0) {
				t->pid = bt_field_integer_signed_get_value(member_by_name(p, "perf_pid"));
				t->exec_ns = ns;
			} else if (strcmp(name, "perf:exit") == 0 && t->pid > 0 &&
					bt_field_integer_signed_get_value(member_by_name(p, "perf_pid")) == t->pid) {
				t->exit_ns = ns;
			} else if (strcmp(name, "lttng_ust_libc:malloc") == 0) {
				const bt_field *ctx = bt_event_borrow_common_context_field_const(ev);
				const bt_field *vpid = ctx ? member_by_name(ctx, "vpid") : NULL;

				if (vpid && t->pid > 0 &&
						bt_field_integer_signed_get_value(vpid) == t->pid) {
					t->lttng_mallocs++;
					if (ns >= t->exec_ns && (!t->exit_ns || ns <= t->exit_ns))
						t->inside++;
				}
			} else if (strncmp(name, "perf:", 5) == 0 || strcmp(name, "page-faults") == 0) {
				t->perf_events++;
			}
		}
		bt_message_put_ref(m);
	}
	return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* The directory holding `metadata` under dir (malloc'd), or NULL. */
static char *find_metadata_dir(const char *dir)
{
	char cmd[1024];
	char *out, *nl;
	int status;

	snprintf(cmd, sizeof(cmd), "find '%s' -name metadata | head -1", dir);
	out = pf_run(cmd, &status);
	nl = strrchr(out, '/');
	if (!nl) {
		free(out);
		return NULL;
	}
	*nl = '\0';
	return out;
}

static void lttng_cmd(const char *fmt, const char *session, const char *arg)
{
	char cmd[1024];
	char *out;
	int status;

	snprintf(cmd, sizeof(cmd), fmt, session, arg);
	out = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "'%s' failed: %s", cmd, out);
	free(out);
}

Test(perf_lttng, one_timeline_with_lttng_ust, .timeout = 240)
{
	char *dir = pf_mkdtemp(), *touch = touch_path();
	char *lt = pf_join(dir, "lttng"), *perf_data = pf_join(dir, "perf.data");
	char *touch_out = pf_join(dir, "touch.out");
	char session[96], cmd[2048], *out, *meta, *err = NULL;
	int status;
	static int counter;
	bt_graph *g;
	bt_component_class_source *pcls = mpa_perf_src_class_create();
	const bt_plugin *ctf = NULL, *utils = NULL;
	const bt_component_source *ctf_src, *perf_src;
	const bt_component_filter *mux;
	const bt_component_sink *snk;
	bt_value *cp = bt_value_map_create(), *pp = bt_value_map_create(), *arr;
	struct timeline t = { .monotonic = true };
	uint64_t i, n, port = 0;
	bt_graph_run_status rs;

	snprintf(session, sizeof(session), "mpa-perf-%d-%d-timeline", (int)getpid(), counter++);
	out = pf_run("pgrep -x lttng-sessiond >/dev/null || lttng-sessiond --daemonize", &status);
	free(out);
	lttng_cmd("lttng create '%s' -o '%s' >/dev/null", session, lt);
	lttng_cmd("lttng enable-event -u -s '%s' 'lttng_ust_libc:malloc' >/dev/null%s", session, "");
	lttng_cmd("lttng add-context -u -s '%s' -t vpid >/dev/null%s", session, "");
	lttng_cmd("lttng start '%s' >/dev/null%s", session, "");
	snprintf(cmd, sizeof(cmd), "perf record -q -k mono -e page-faults -d -o '%s' -- "
		"env LD_PRELOAD=liblttng-ust-libc-wrapper.so '%s' 64 '%s' >/dev/null 2>&1",
		perf_data, touch, touch_out);
	out = pf_run(cmd, &status);
	free(out);
	lttng_cmd("lttng stop '%s' >/dev/null%s", session, "");
	lttng_cmd("lttng destroy '%s' >/dev/null%s", session, "");
	cr_assert_eq(status, 0, "'%s' failed", cmd);
	meta = find_metadata_dir(lt);
	cr_assert_not_null(meta, "no LTTng trace under %s", lt);

	/* src.ctf.fs (LTTng) + source.mpa.perf -> muxer -> sink, no forcing */
	g = bt_graph_create(0);
	cr_assert_eq(bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf),
		BT_PLUGIN_FIND_STATUS_OK);
	cr_assert_eq(bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils),
		BT_PLUGIN_FIND_STATUS_OK);
	cr_assert_eq(bt_value_map_insert_empty_array_entry(cp, "inputs", &arr), 0);
	cr_assert_eq(bt_value_array_append_string_element(arr, meta), 0);
	cr_assert_eq(bt_value_map_insert_string_entry(pp, "path", perf_data), 0);
	cr_assert_eq(bt_graph_add_source_component(g,
		bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs"), "lttng", cp,
		BT_LOGGING_LEVEL_WARNING, &ctf_src), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	cr_assert_eq(bt_graph_add_source_component(g, pcls, "perf", pp,
		BT_LOGGING_LEVEL_WARNING, &perf_src), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	cr_assert_eq(bt_graph_add_filter_component(g,
		bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"), "muxer",
		NULL, BT_LOGGING_LEVEL_WARNING, &mux), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	cr_assert_eq(bt_graph_add_simple_sink_component(g, "sink", NULL, timeline_consume,
		NULL, &t, &snk), BT_GRAPH_ADD_COMPONENT_STATUS_OK);
	n = bt_component_source_get_output_port_count(ctf_src);
	for (i = 0; i < n; i++)
		cr_assert_eq(bt_graph_connect_ports(g,
			bt_component_source_borrow_output_port_by_index_const(ctf_src, i),
			bt_component_filter_borrow_input_port_by_index_const(mux, port++), NULL),
			BT_GRAPH_CONNECT_PORTS_STATUS_OK);
	cr_assert_eq(bt_graph_connect_ports(g,
		bt_component_source_borrow_output_port_by_name_const(perf_src, "out"),
		bt_component_filter_borrow_input_port_by_index_const(mux, port++), NULL),
		BT_GRAPH_CONNECT_PORTS_STATUS_OK);
	cr_assert_eq(bt_graph_connect_ports(g,
		bt_component_filter_borrow_output_port_by_name_const(mux, "out"),
		bt_component_sink_borrow_input_port_by_index_const(snk, 0), NULL),
		BT_GRAPH_CONNECT_PORTS_STATUS_OK);
	do {
		rs = bt_graph_run(g);
	} while (rs == BT_GRAPH_RUN_STATUS_AGAIN);
	if (rs != BT_GRAPH_RUN_STATUS_OK)
		err = take_error();
	cr_assert_eq(rs, BT_GRAPH_RUN_STATUS_OK, "graph failed: %s", err ? err : "");
	cr_expect(t.monotonic);
	cr_assert_gt(t.pid, 0, "no exec of the workload in the perf recording");
	cr_expect_gt(t.exit_ns, t.exec_ns);
	cr_expect_gt(t.perf_events, 0);
	/* the workload's own mallocs (LTTng's clock) fall between its exec
	 * and its exit (perf's clock) */
	cr_expect_gt(t.lttng_mallocs, 0, "no LTTng malloc event of pid %" PRId64, t.pid);
	cr_expect_eq(t.inside, t.lttng_mallocs, "%zu of %zu mallocs outside [exec, exit]",
		t.lttng_mallocs - t.inside, t.lttng_mallocs);

	bt_graph_put_ref(g);
	bt_plugin_put_ref(ctf);
	bt_plugin_put_ref(utils);
	bt_value_put_ref(cp);
	bt_value_put_ref(pp);
	bt_component_class_source_put_ref(pcls);
	free(err);
	free(meta);
	free(touch_out);
	free(perf_data);
	free(lt);
	free(touch);
	pf_rmtree(dir);
	free(dir);
}

/* ---- tracepoints: kmem:* read from perf.data ---------------------------------------- */

/* Records `perf record -e kmem:kmalloc,kmem:kfree -a` around the workload. */
static char *record_kmem(char **dir)
{
	char *touch = touch_path(), *path, *cmd, *out;
	int status;

	*dir = pf_mkdtemp();
	cr_assert_not_null(*dir);
	path = pf_join(*dir, "perf.data");
	cr_assert(asprintf(&cmd, "perf record -q -e kmem:kmalloc -e kmem:kfree -a -o '%s' -- "
		"'%s' 64 /dev/null >/dev/null 2>&1", path, touch) > 0);
	out = pf_run(cmd, &status);
	cr_assert_eq(status, 0, "'%s' failed", cmd);
	free(out);
	free(cmd);
	free(touch);
	return path;
}

/* "key=VALUE" in a perf script trace line, as an integer. */
static bool trace_value(const char *line, const char *key, uint64_t *v)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), " %s=", key);
	p = strstr(line, needle);
	if (!p)
		return false;
	*v = strtoull(p + strlen(needle), NULL, 0);
	return true;
}

/* Every kmem sample of `path` against `perf script -F trace`, in order. */
static void match_kmem(const char *path)
{
	char cmd[1024];
	char *out, *line, *save = NULL;
	int status;
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	size_t matched = 0, kmallocs = 0;

	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -G --ns -F tid,event,trace 2>/dev/null",
		path);
	out = pf_run(cmd, &status);
	cr_assert_eq(status, 0);
	cr_assert_eq(mpa_perf_open(path, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const struct mpa_perf_tp_format *tp;
		const char *ev = strstr(line, "kmem:");
		uint64_t want, got;
		size_t k;

		cr_assert_not_null(ev, "unexpected line '%s'", line);
		do {
			cr_assert_eq(mpa_perf_next(f, &rec), MPA_PERF_OK,
				"parser ran out of samples at '%s'", line);
		} while (rec.type != MPA_PERF_RECORD_SAMPLE);
		tp = rec.attr->tp;
		cr_assert_not_null(tp, "no format for %s", rec.attr->name);
		cr_assert_eq(strncmp(ev, rec.attr->name, strlen(rec.attr->name)), 0,
			"sample %zu: %s vs '%s'", matched, rec.attr->name, line);
		cr_expect_eq(strtoul(line, NULL, 10), rec.s.tid);
		/* every integer field perf prints as a number must agree */
		for (k = 0; k < tp->nr_fields; k++) {
			const char *n = tp->fields[k].name;

			if (strcmp(n, "ptr") && strcmp(n, "bytes_req") &&
					strcmp(n, "bytes_alloc") && strcmp(n, "node"))
				continue;
			if (!trace_value(line, n, &want))
				continue;
			cr_assert_eq(mpa_perf_tp_int(&rec.s, &tp->fields[k], &got), 0);
			cr_expect_eq(got, want, "sample %zu %s: %#" PRIx64 " vs '%s'",
				matched, n, got, line);
		}
		if (strcmp(tp->name, "kmalloc") == 0)
			kmallocs++;
		matched++;
	}
	while (mpa_perf_next(f, &rec) == MPA_PERF_OK)
		cr_expect_neq(rec.type, MPA_PERF_RECORD_SAMPLE, "parser has extra samples");
	cr_expect_gt(kmallocs, 0);
	cr_expect_str_eq(mpa_perf_attr_at(f, 0)->tp->system, "kmem");
	mpa_perf_close(f);
	free(out);
}

Test(perf_tracepoint, kmem_fields_match_perf_script, .timeout = 180)
{
	char *dir, *path = record_kmem(&dir);

	match_kmem(path);
	cleanup(path, dir);
}

Test(perf_tracepoint, kmem_fixtures_match_perf_script)
{
	/* synthesized tracing data, file and pipe mode: perf decodes it too */
	struct pw *(*fx[])(struct pf_expect *) = { pf_kmem, pf_kmem_pipe };

	for (size_t i = 0; i < 2; i++) {
		struct pf_expect e;
		char *dir, *path = fixture_file(fx[i], &e, &dir);
		const char *paths[] = { path };
		struct sink s = { .probe = "kmem:kmalloc" };
		char *err;

		match_kmem(path);
		cr_assert_eq(run_graph(paths, 1, false, &s, &err), 0, "%s", err);
		check_fixture_counts(&s, &e);
		cr_expect_eq(class_count(&s, "kmem:kmalloc"), e.nr_samples_per_attr[0]);
		cr_expect_eq(class_count(&s, "kmem:kfree"), e.nr_samples_per_attr[1]);
		cr_expect_str_eq(s.probe_members, "perf_ip,perf_tid,perf_pid,perf_cpu,"
			"perf_period,common_type,common_flags,common_preempt_count,"
			"common_pid,call_site,ptr,bytes_req,bytes_alloc,gfp_flags,node,");
		cleanup(path, dir);
	}
}

Test(perf_tracepoint, kmem_through_the_source, .timeout = 180)
{
	char *dir, *path = record_kmem(&dir);
	const char *paths[] = { path };
	struct sink s = { .probe = "kmem:kmalloc" };
	char cmd[1024], *err, *out;
	int status;

	cr_assert_eq(run_graph(paths, 1, true, &s, &err), 0, "%s", err);
	cr_expect_str_eq(s.probe_members, "perf_ip,perf_tid,perf_pid,perf_cpu,perf_period,"
		"common_type,common_flags,common_preempt_count,common_pid,call_site,ptr,"
		"bytes_req,bytes_alloc,gfp_flags,node,");
	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -F event 2>/dev/null | grep -c 'kmem:kmalloc'",
		path);
	out = pf_run(cmd, &status);
	cr_expect_eq(class_count(&s, "kmem:kmalloc"), strtoull(out, NULL, 10));
	free(out);
	snprintf(cmd, sizeof(cmd), "perf script -i '%s' -F event 2>/dev/null | grep -c 'kmem:kfree'",
		path);
	out = pf_run(cmd, &status);
	cr_expect_eq(class_count(&s, "kmem:kfree"), strtoull(out, NULL, 10));
	free(out);
	cr_expect(s.monotonic);
	cleanup(path, dir);
}

Test(perf_tracepoint, mutated_tracing_data, .timeout = 180)
{
	/* random damage inside the HEADER_TRACING_DATA section of a real file */
	char *dir, *path = record_kmem(&dir);
	FILE *fp = fopen(path, "rb");
	unsigned char *buf, *m;
	long size;
	uint64_t seed = 0x2545f4914f6cdd1dULL, feat, off = 0, len = 0;

	cr_assert_not_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)size);
	m = malloc((size_t)size);
	cr_assert_eq(fread(buf, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	/* TRACING_DATA is feature bit 1: the first entry of the table */
	cr_assert(buf[72] & 2, "no TRACING_DATA feature");
	memcpy(&feat, buf + 40, 8);
	memcpy(&off, buf + 48, 8);
	feat += off;
	memcpy(&off, buf + feat, 8);
	memcpy(&len, buf + feat + 8, 8);
	cr_assert(len > 0 && off + len <= (uint64_t)size);
	for (int iter = 0; iter < 400; iter++) {
		struct mpa_perf_file *f;
		struct mpa_perf_record rec;
		unsigned char *copy;

		memcpy(m, buf, (size_t)size);
		for (int k = 0; k < 1 + iter % 3; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			m[off + seed % len] = (unsigned char)(seed >> 40);
		}
		copy = malloc((size_t)size);
		memcpy(copy, m, (size_t)size);
		if (mpa_perf_open_mem(copy, (size_t)size, 0, &f) >= 0) {
			size_t n = 0;

			while (mpa_perf_next(f, &rec) == MPA_PERF_OK && n++ < 200) {
				uint64_t v;
				const char *str;
				size_t l, k;

				if (rec.type != MPA_PERF_RECORD_SAMPLE || !rec.attr->tp)
					continue;
				for (k = 0; k < rec.attr->tp->nr_fields; k++) {
					mpa_perf_tp_int(&rec.s, &rec.attr->tp->fields[k], &v);
					if (!mpa_perf_tp_str(&rec.s, &rec.attr->tp->fields[k], &str, &l) && l)
						cr_assert_neq(str[l - 1], '\0');
				}
			}
		} else {
			cr_expect_neq(mpa_perf_errmsg(f)[0], '\0');
		}
		mpa_perf_close(f);
		free(copy);
	}
	free(buf);
	free(m);
	cleanup(path, dir);
}
