/* mpa analysis core — report.html from summary.json, the analyzers' JSON
 * documents and the rendered plots (report.c, report_data.c). */
#ifndef MPA_CORE_REPORT_H
#define MPA_CORE_REPORT_H

#include <jansson.h>

#include "out.h"

/* Writes DIR/report.html atomically (DIR holds the run's outputs).  0, or
 * -1 with errno. */
int mpa_write_report(const char *dir, json_t *summary, struct mpa_outset *set);

/* Every analyzer's DIR/<name>.json, keyed by name (new reference; an
 * analyzer whose file is absent is left out).  NULL when out of memory. */
json_t *mpa_report_docs(const char *dir, json_t *summary);

/* The page's data: {"summary", "docs" (tables made columnar), "plots":
 * {analyzer: [{"name", "src": data URI}]}} (new reference, NULL when out of
 * memory). */
json_t *mpa_report_data(const char *dir, json_t *summary, struct mpa_outset *set);

#endif /* MPA_CORE_REPORT_H */
