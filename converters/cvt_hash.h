/* Open-addressing hash maps used by the converter: keys are two u64 words,
 * values one u64.  Linear probing with backward-shift deletion (no
 * tombstones), so memory and probe lengths stay bounded under churn (the
 * live-allocation set sees one insert and one delete per malloc/free pair).
 */
#ifndef MPA_CVT_HASH_H
#define MPA_CVT_HASH_H

#include <stddef.h>
#include <stdint.h>

struct cvt_map {
	uint64_t *ka;     /* [cap] first key word (owned by this) */
	uint64_t *kb;     /* [cap] second key word (owned by this) */
	uint64_t *val;    /* [cap] values (owned by this) */
	uint8_t *used;    /* [cap] 1 = slot holds an entry (owned by this) */
	size_t cap;       /* power of two, 0 before the first insert */
	size_t len;
};

void cvt_map_init(struct cvt_map *m);
void cvt_map_release(struct cvt_map *m);
/* Returns a pointer to the value of (a, b) or NULL when absent.  The pointer
 * is valid until the next insert or delete. */
uint64_t *cvt_map_find(const struct cvt_map *m, uint64_t a, uint64_t b);
/* Sets (a, b) to v (inserting or replacing); *was_new tells which (may be
 * NULL).  Returns 0, or -1 when out of memory. */
int cvt_map_put(struct cvt_map *m, uint64_t a, uint64_t b, uint64_t v, int *was_new);
/* Removes (a, b); returns 1 if it was present, else 0. */
int cvt_map_del(struct cvt_map *m, uint64_t a, uint64_t b);
/* Removes every entry whose first key word is a (O(capacity)). */
void cvt_map_del_all_a(struct cvt_map *m, uint64_t a);

#endif /* MPA_CVT_HASH_H */
