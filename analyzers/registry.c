/* mpa analyzers — the table of every analyzer, in the order they run and
 * appear in --list, summary.json and the report.  Adding one: one file,
 * one line here (and its extern), its doc, its test — see README.md in
 * this folder.
 */
#include "mpa/analyzer.h"

extern const struct mpa_analyzer mpa_analyzer_leak;
extern const struct mpa_analyzer mpa_analyzer_timeline;
extern const struct mpa_analyzer mpa_analyzer_cache;
extern const struct mpa_analyzer mpa_analyzer_frag;
extern const struct mpa_analyzer mpa_analyzer_pool;
extern const struct mpa_analyzer mpa_analyzer_flame;
extern const struct mpa_analyzer mpa_analyzer_stack;
extern const struct mpa_analyzer mpa_analyzer_numa;

const struct mpa_analyzer *const mpa_analyzers[] = {
	&mpa_analyzer_leak,
	&mpa_analyzer_timeline,
	&mpa_analyzer_cache,
	&mpa_analyzer_frag,
	&mpa_analyzer_pool,
	&mpa_analyzer_flame,
	&mpa_analyzer_stack,
	&mpa_analyzer_numa,
	NULL
};
