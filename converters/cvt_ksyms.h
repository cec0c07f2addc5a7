/* Kernel symbols from a kallsyms file (`/proc/kallsyms` as root on the
 * traced host, copied by mpa-record), so kernel call sites and sampled
 * kernel ips get function names in the capture's frame table.
 *
 * Only text symbols (types t, T, w, W) are kept; lines whose address is 0
 * (kptr_restrict) are skipped.  Memory: the text symbols, once.
 */
#ifndef MPA_CVT_KSYMS_H
#define MPA_CVT_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct cvt_ksyms;

/* Loads path; NULL with a one-line reason in err (unreadable, a line that
 * is not "ADDR TYPE NAME [MODULE]", no text symbol at all). */
struct cvt_ksyms *cvt_ksyms_load(const char *path, char *err, size_t errlen);
void cvt_ksyms_free(struct cvt_ksyms *k);
size_t cvt_ksyms_count(const struct cvt_ksyms *k);

/* The function holding ip ("name" or "name [module]"), NULL when ip is
 * below every symbol or more than 1 MiB past the nearest one. */
const char *cvt_ksyms_find(const struct cvt_ksyms *k, uint64_t ip);

/* The kernel's half of the address space: where kallsyms applies. */
static inline int cvt_ksyms_is_kernel(uint64_t ip)
{
	return ip >= UINT64_C(0xffff800000000000);
}

#endif /* MPA_CVT_KSYMS_H */
