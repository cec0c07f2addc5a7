/* The methods of sink.mpa.mpt, registered by plugin.c. */
#ifndef MPA_CVT_PLUGIN_H
#define MPA_CVT_PLUGIN_H

#include <babeltrace2/babeltrace.h>

#define MPA_PLUGIN_VERSION_STR "1.0.0"

bt_component_class_initialize_method_status mpa_mpt_sink_initialize(
	bt_self_component_sink *self, bt_self_component_sink_configuration *config,
	const bt_value *params, void *init_method_data);
void mpa_mpt_sink_finalize(bt_self_component_sink *self);
bt_component_class_sink_graph_is_configured_method_status mpa_mpt_sink_graph_is_configured(
	bt_self_component_sink *self);
bt_component_class_sink_consume_method_status mpa_mpt_sink_consume(bt_self_component_sink *self);

#define MPA_MPT_SINK_DESCRIPTION \
	"Write memory events (LTTng-UST libc/mpa, LTTng kernel kmem, perf) to an .mpt capture."
#define MPA_MPT_SINK_HELP \
	"Parameters: `path` (string, required): output .mpt file; `chunk-rows` " \
	"(integer): records per chunk; `compression-level` (integer): zstd level; " \
	"`symbolize` (bool, default true); `pipeline` (bool, default true): " \
	"encode on a second thread; `command` (string): recorded in the " \
	"capture metadata. See doc/converting.md."

#endif /* MPA_CVT_PLUGIN_H */
