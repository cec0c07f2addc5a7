/* Open-addressing hash maps used by the converter: keys are two u64 words,
 * values one u64.  Linear probing with backward-shift deletion (no
 * tombstones), so memory and probe lengths stay bounded under churn.
 */
#ifndef MPA_CVT_HASH_H
#define MPA_CVT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* One slot: both key words, the value and the used mark side by side, so
 * a probe touches one cache line (the stack maps are hit on most events). */
struct cvt_slot {
	uint64_t a, b, v;
	uint64_t used;    /* 1 = slot holds an entry */
};

struct cvt_map {
	struct cvt_slot *s; /* [cap] (owned by this) */
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

#endif /* MPA_CVT_HASH_H */
