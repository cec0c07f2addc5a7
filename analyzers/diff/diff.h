/* mpa-diff's library: two analyses' flame.json compared per allocation site
 * (function and source location, never addresses, so two builds compare),
 * the CI gate's rules, and the outputs (diff.json, diff.csv, diff.html).
 * doc/man/mpa-diff.1 and doc/reading-the-report.md ("Comparing two runs").
 */
#ifndef MPA_DIFF_H
#define MPA_DIFF_H

#include <stddef.h>

#include <jansson.h>

/* The compared weights, in output order. */
#define MPA_DIFF_NMETRICS 5
extern const char *const mpa_diff_metrics[MPA_DIFF_NMETRICS];     /* flame weight names */
extern const char *const mpa_diff_rule_names[MPA_DIFF_NMETRICS];  /* in rules: "allocated" ... */

/* {"totals": {weight: {base, new, delta, ratio}}, "sites": [{"site", "base":
 * {...}, "new": {...}, "delta": {...}, "ratio": {...}}]} from two flame.json
 * documents (new reference; NULL when out of memory).  Sites are sorted by
 * |delta leaked|, |delta peak|, |delta allocated| (descending), then name.
 * ratio is new / base, null when base is 0. */
json_t *mpa_diff(json_t *base_flame, json_t *new_flame);

/* A gate rule: METRIC>+AMOUNT (growth of the total), METRIC>+N% (relative
 * growth) or METRIC>AMOUNT (the new total); AMOUNT takes B, KB, KiB, MB,
 * MiB, GB, GiB or a plain count. */
struct mpa_diff_rule {
	char text[128];
	int metric;     /* index into mpa_diff_metrics */
	int growth;     /* '+': compares new - base */
	int percent;    /* '%': compares (new - base) / base * 100 */
	double amount;
};

int mpa_diff_rule_parse(const char *s, struct mpa_diff_rule *r, char *err, size_t errlen);

/* 1 when the rule trips (line: one line saying why, with the site that grew
 * most), else 0. */
int mpa_diff_rule_check(const struct mpa_diff_rule *r, json_t *diff, char *line, size_t len);

/* Writes DIR/diff.json, DIR/diff.csv and DIR/diff.html (the differential
 * flamegraph).  0, or -1 with err. */
int mpa_diff_write(const char *dir, json_t *diff, json_t *base_flame, json_t *new_flame,
		   const char *base_name, const char *new_name, char *err, size_t errlen);

#endif /* MPA_DIFF_H */
