/* The Babeltrace2 plugin `mpa`: registration only.
 *   sink.mpa.mpt     cvt_sink.c (+ cvt_evmap.c, cvt_symtab.c)
 *   source.mpa.perf  perf/src_perf.c (when built) */
#include <babeltrace2/babeltrace.h>

#include "cvt_plugin.h"
#ifdef MPA_HAVE_PERF_SOURCE
#include "perf/src_perf.h"
#endif

BT_PLUGIN_MODULE();

BT_PLUGIN(mpa);
BT_PLUGIN_DESCRIPTION("mpa memory profiling: convert traces to .mpt captures");
BT_PLUGIN_AUTHOR("mpa authors");
BT_PLUGIN_LICENSE("MIT");
BT_PLUGIN_VERSION(1, 0, 0, NULL);

BT_PLUGIN_SINK_COMPONENT_CLASS(mpt, mpa_mpt_sink_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(mpt, MPA_MPT_SINK_DESCRIPTION);
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(mpt, MPA_MPT_SINK_HELP);
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(mpt, mpa_mpt_sink_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(mpt, mpa_mpt_sink_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(mpt, mpa_mpt_sink_graph_is_configured);

#ifdef MPA_HAVE_PERF_SOURCE
BT_PLUGIN_SOURCE_COMPONENT_CLASS(perf, mpa_perf_src_msg_iter_next);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_DESCRIPTION(perf, MPA_PERF_SRC_DESCRIPTION);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_HELP(perf, MPA_PERF_SRC_HELP);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_INITIALIZE_METHOD(perf, mpa_perf_src_initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_FINALIZE_METHOD(perf, mpa_perf_src_finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_QUERY_METHOD(perf, mpa_perf_src_query);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(
	perf, mpa_perf_src_msg_iter_initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(
	perf, mpa_perf_src_msg_iter_finalize);
#endif
