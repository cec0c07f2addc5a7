/*
 * source.mpa.perf — a Babeltrace2 source component class that reads
 * perf.data files natively (perf's own CTF conversion drops
 * PERF_SAMPLE_ADDR and PERF_SAMPLE_WEIGHT, so memory samples must be read
 * from perf.data directly).  See doc/perf-data.md.
 *
 * ---------------------------------------------------------------------------
 * Registration: paste these lines into converters/plugin.c (after
 * BT_PLUGIN_MODULE() and BT_PLUGIN(mpa)), with #include "perf/src_perf.h":
 *
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS(perf, mpa_perf_src_msg_iter_next);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_DESCRIPTION(perf,
 *           MPA_PERF_SRC_DESCRIPTION);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_HELP(perf, MPA_PERF_SRC_HELP);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_INITIALIZE_METHOD(perf,
 *           mpa_perf_src_initialize);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_FINALIZE_METHOD(perf,
 *           mpa_perf_src_finalize);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_QUERY_METHOD(perf,
 *           mpa_perf_src_query);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(
 *           perf, mpa_perf_src_msg_iter_initialize);
 *   BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(
 *           perf, mpa_perf_src_msg_iter_finalize);
 *
 * and link the objects listed in converters/perf/module.mk as
 * $(MPA_PERF_SRC_OBJS) (also available as the static library
 * $(MPA_PERF_SRC_LIB) = $(BUILD)/converters/perf/libmpa-perf-src.a; its
 * objects are -fPIC), with $(MPA_PERF_LDLIBS) (-lzstd) after it.
 *
 * Without a plugin (tests, mpa-convert), mpa_perf_src_class_create() makes
 * the same component class at run time (name "perf").
 * ---------------------------------------------------------------------------
 *
 * Parameters:
 *   inputs  array of strings, perf.data paths (like src.ctf.fs), or
 *   path    one string, a perf.data path.
 *   Exactly one of the two.  Several files make several traces.
 *
 * Output: ONE output port named "out".  All streams of all inputs go
 * through it, messages ordered by time (perf's FINISHED_ROUND windows are
 * sorted; see doc/perf-data.md), so no muxer is needed for one file; to
 * merge with other sources, connect "out" to flt.utils.muxer as usual.
 *
 * Trace IR (the sink maps exactly this):
 *   trace, one per input file, environment:
 *     tracer_name = "perf", domain = "kernel",
 *     host        = HEADER_HOSTNAME (absent if the feature is absent),
 *     perf_version, perf_os_release, perf_arch, perf_cmdline (when present
 *     in the feature sections),
 *     perf_clockid = integer clockid of the events (attr.clockid with
 *                    use_clockid; 1 = CLOCK_MONOTONIC, i.e. `perf record
 *                    -k mono`), absent with perf's default clock,
 *     perf_clock   = "monotonic", "monotonic_raw", "realtime", "boottime",
 *                    "tai" or "perf" (perf's default local clock) — same
 *                    information, readable,
 *     perf_path    = the input path.
 *   clock class "perf", frequency 1e9 (ns), origin NOT the Unix epoch,
 *     except when HEADER_CLOCK_DATA gives the wall-clock correspondence:
 *     then offset is set from it and origin_is_unix_epoch = true.
 *   stream class "perf", one stream per CPU (stream id = cpu, name "cpuN")
 *     when every event samples PERF_SAMPLE_CPU (records without a CPU then
 *     go to stream 4294967295, "nocpu"), else one stream (id 0, "all").
 *     Streams have no packets and begin at their first message.  Discarded
 *     events are supported, with clock snapshots.
 *   event classes:
 *     one per perf event (attr), named as in HEADER_EVENT_DESC
 *     ("page-faults", "cpu/mem-loads,ldlat=30/P", "cache-misses", ...;
 *     "perf:attrN" if no description), payload members in this order,
 *     each present only if the attr's sample_type has the bit:
 *       perf_ip        u64   (PERF_SAMPLE_IP)
 *       perf_tid       s64   (PERF_SAMPLE_TID; like LTTng, signed)
 *       perf_pid       s64   (PERF_SAMPLE_TID)
 *       perf_addr      u64   (PERF_SAMPLE_ADDR; data address)
 *       perf_cpu       u64   (PERF_SAMPLE_CPU)
 *       perf_period    u64   (PERF_SAMPLE_PERIOD)
 *       perf_weight    u64   (PERF_SAMPLE_WEIGHT or WEIGHT_STRUCT's
 *                             var1_dw: the access latency)
 *       perf_data_src  u64   (PERF_SAMPLE_DATA_SRC)
 *       perf_phys_addr u64   (PERF_SAMPLE_PHYS_ADDR)
 *       perf_callchain dynamic array of u64 (PERF_SAMPLE_CALLCHAIN; raw:
 *                      PERF_CONTEXT_* markers, >= 0xfffffffffffff001,
 *                      kept, as in perf's CTF)
 *     then, for tracepoints (kmem:kmalloc, ...) whose format is in
 *     HEADER_TRACING_DATA, their fields as perf's CTF conversion names
 *     them: common_type, common_flags, common_preempt_count, common_pid,
 *     then e.g. call_site, ptr, bytes_req, bytes_alloc, gfp_flags, node;
 *     integers s64/u64 as the format's signedness, char arrays and
 *     __data_loc strings as strings, other arrays left out.
 *     special classes (present in every trace):
 *       perf:comm  perf_pid s64, perf_tid s64, comm string, exec u8
 *                  (1 if PERF_RECORD_MISC_COMM_EXEC)
 *       perf:mmap  perf_pid s64, perf_tid s64, addr u64, len u64,
 *                  pgoff u64, filename string, build_id string (hex, ""
 *                  when unknown; from MMAP2 or HEADER_BUILD_ID)
 *       perf:fork  perf_pid s64, perf_ppid s64, perf_tid s64, perf_ptid s64
 *       perf:exit  perf_pid s64, perf_ppid s64, perf_tid s64, perf_ptid s64
 *   Lost records (PERF_RECORD_LOST, PERF_RECORD_LOST_SAMPLES) become
 *   discarded-events messages with the count, on the stream of the CPU they
 *   were recorded on (stream 0, or the "nocpu" stream 4294967295 when the
 *   CPU is sampled but the record carries none).
 *   perf record -z (zstd-compressed) and pipe-mode (perf record -o -)
 *   files are read too.
 */
#ifndef MPA_CONVERTERS_PERF_SRC_PERF_H
#define MPA_CONVERTERS_PERF_SRC_PERF_H

#include <babeltrace2/babeltrace.h>

#define MPA_PERF_SRC_NAME "perf"
#define MPA_PERF_SRC_DESCRIPTION \
	"Read perf.data files (samples with data addresses, weights, " \
	"callchains; comm, mmap, fork, exit records)."
#define MPA_PERF_SRC_HELP \
	"Parameters: `inputs` (array of perf.data paths) or `path` " \
	"(one perf.data path). See doc/perf-data.md."

bt_component_class_initialize_method_status mpa_perf_src_initialize(
		bt_self_component_source *self_comp,
		bt_self_component_source_configuration *config,
		const bt_value *params, void *init_method_data);

void mpa_perf_src_finalize(bt_self_component_source *self_comp);

/*
 * Answers `babeltrace.support-info` (a file starting with PERFILE2 gets
 * weight 0.75, so `babeltrace2 --plugin-path=DIR perf.data` finds this
 * source) and nothing else.
 */
bt_component_class_query_method_status mpa_perf_src_query(
		bt_self_component_class_source *comp_cls,
		bt_private_query_executor *query_exec,
		const char *object, const bt_value *params,
		void *method_data, const bt_value **result);

bt_message_iterator_class_initialize_method_status
mpa_perf_src_msg_iter_initialize(bt_self_message_iterator *self_msg_iter,
		bt_self_message_iterator_configuration *config,
		bt_self_component_port_output *self_port);

bt_message_iterator_class_next_method_status mpa_perf_src_msg_iter_next(
		bt_self_message_iterator *self_msg_iter,
		bt_message_array_const msgs, uint64_t capacity,
		uint64_t *count);

void mpa_perf_src_msg_iter_finalize(bt_self_message_iterator *self_msg_iter);

/*
 * The same component class built at run time (no plugin needed), with all
 * the methods above.  Returns a new reference (put it with
 * bt_component_class_source_put_ref) or NULL on memory error.
 */
bt_component_class_source *mpa_perf_src_class_create(void);

#endif /* MPA_CONVERTERS_PERF_SRC_PERF_H */
