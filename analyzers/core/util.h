/* mpa analysis core — helpers every part uses (no dependency). */
#ifndef MPA_CORE_UTIL_H
#define MPA_CORE_UTIL_H

#include <stddef.h>

/* Formats a double the way every output does: fixed, locale-free,
 * shortest of %.9g that round-trips sensibly; "nan"/"inf" as such. */
void mpa_fmt_double(char *buf, size_t len, double v);

#endif /* MPA_CORE_UTIL_H */
