/* mpa analyzers — the table of every analyzer, in the order they run and
 * appear in --list, summary.json and the report.  Adding one: see README.md
 * in this folder.
 *
 * An analyzer whose source file is not in the tree yet is left out: the
 * build defines MPA_HAVE_<NAME> when analyzers/<name>.c exists
 * (analyzers/module.mk).
 */
#include "mpa/analyzer.h"

extern const struct mpa_analyzer mpa_analyzer_leak;
#ifdef MPA_HAVE_TIMELINE
extern const struct mpa_analyzer mpa_analyzer_timeline;
#endif
#ifdef MPA_HAVE_PATTERNS
extern const struct mpa_analyzer mpa_analyzer_patterns;
#endif

const struct mpa_analyzer *const mpa_analyzers[] = {
	&mpa_analyzer_leak,
#ifdef MPA_HAVE_TIMELINE
	&mpa_analyzer_timeline,
#endif
#ifdef MPA_HAVE_PATTERNS
	&mpa_analyzer_patterns,
#endif
	NULL
};
