/* Creates the probes of the `mpa` provider (linked into libmpa-preload.so). */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "mpa_tp.h"
