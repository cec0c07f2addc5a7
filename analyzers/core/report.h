/* mpa analysis core — report.html from summary.json and the rendered plots. */
#ifndef MPA_CORE_REPORT_H
#define MPA_CORE_REPORT_H

#include <jansson.h>

#include "out.h"

/* Writes DIR/report.html atomically.  0, or -1 with errno. */
int mpa_write_report(const char *dir, json_t *summary, struct mpa_outset *set);

#endif /* MPA_CORE_REPORT_H */
