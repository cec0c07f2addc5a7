/* mpa exports — a report directory's data in the formats of the viewers
 * people already use (doc/reading-the-report.md, "Exports"):
 *   folded      export/<weight>.folded: one "root;...;leaf value" line per
 *               stack (flamegraph.pl, inferno, speedscope)
 *   speedscope  export/speedscope.json: speedscope's file format, one
 *               profile per weight
 *   perfetto    export/trace.json: Chrome trace-event JSON (Perfetto UI,
 *               chrome://tracing): counter tracks for the live heap, mapped
 *               bytes and rates, in total and per process; instant events
 *               for the peak and the alerts
 * They read the outputs an analysis wrote (flame.json, timeline.json and
 * summary.json): a consumer of those files, like report.html.
 */
#ifndef MPA_EXPORT_H
#define MPA_EXPORT_H

#include <stddef.h>

/* Parses "folded,speedscope,perfetto" (any subset) into *mask.  0, or -1
 * with err. */
int mpa_export_parse(const char *list, unsigned *mask, char *err, size_t errlen);

enum { MPA_EXPORT_FOLDED = 1, MPA_EXPORT_SPEEDSCOPE = 2, MPA_EXPORT_PERFETTO = 4 };

/* Writes the exports in mask under dir/export/.  0, or -1 with one line in
 * err (e.g. the analysis that feeds it did not run). */
int mpa_export(const char *dir, unsigned mask, char *err, size_t errlen);

#endif /* MPA_EXPORT_H */
