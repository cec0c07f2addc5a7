/* mpa analysis core — the frame classifier and site names (interim: the
 * rules moved from framework.c and timeline.c; to be replaced by the
 * demangling, thread-safe module).
 */
#ifndef MPA_CORE_SITES_H
#define MPA_CORE_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "mpa/mpt.h"

typedef struct mpa_sites mpa_sites;

mpa_sites *mpa_sites_create(const mpt_reader *r, char *err, size_t errlen);
void mpa_sites_free(mpa_sites *s);
/* Whether an allocation with this stack was the tracer's own. */
int mpa_sites_is_tracer(mpa_sites *s, uint32_t stack_id);
/* Index (innermost = 0) of the site frame, -1 when none. */
int mpa_sites_site_frame(mpa_sites *s, uint32_t stack_id);
/* "func (file:line)" of the site frame; "??" when unknown; owned by s. */
const char *mpa_sites_name(mpa_sites *s, uint32_t stack_id);

#endif
