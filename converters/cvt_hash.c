/* Two-word-key hash map, see cvt_hash.h. */
#include "cvt_hash.h"

#include <stdlib.h>
#include <string.h>

void cvt_map_init(struct cvt_map *m)
{
	memset(m, 0, sizeof(*m));
}

void cvt_map_release(struct cvt_map *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

static size_t slot_of(uint64_t a, uint64_t b, size_t mask)
{
	/* Mixes both words so pointers that differ only in high or low bits
	 * still spread (splitmix64 finalizer). */
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBull;
	h ^= h >> 31;
	return (size_t)h & mask;
}

uint64_t *cvt_map_find(const struct cvt_map *m, uint64_t a, uint64_t b)
{
	if (m->cap == 0)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = slot_of(a, b, mask);; i = (i + 1) & mask) {
		struct cvt_slot *sl = &m->s[i];
		if (!sl->used)
			return NULL;
		if (sl->a == a && sl->b == b)
			return &sl->v;
	}
}

static int grow(struct cvt_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct cvt_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	size_t mask = ncap - 1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->s[i].used)
			continue;
		size_t j = slot_of(m->s[i].a, m->s[i].b, mask);
		while (ns[j].used)
			j = (j + 1) & mask;
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
	m->cap = ncap;
	return 0;
}

int cvt_map_put(struct cvt_map *m, uint64_t a, uint64_t b, uint64_t v, int *was_new)
{
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
		return -1;
	size_t mask = m->cap - 1;
	size_t i = slot_of(a, b, mask);
	while (m->s[i].used) {
		if (m->s[i].a == a && m->s[i].b == b) {
			m->s[i].v = v;
			if (was_new)
				*was_new = 0;
			return 0;
		}
		i = (i + 1) & mask;
	}
	m->s[i] = (struct cvt_slot){ .a = a, .b = b, .v = v, .used = 1 };
	m->len++;
	if (was_new)
		*was_new = 1;
	return 0;
}

static void del_slot(struct cvt_map *m, size_t i)
{
	size_t mask = m->cap - 1;
	/* Backward shift: pull later members of the probe run into the hole
	 * when their home slot allows it. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->s[j].used)
			break;
		size_t home = slot_of(m->s[j].a, m->s[j].b, mask);
		/* j may move to i if home is not cyclically in (i, j]. */
		int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->s[i] = m->s[j];
		i = j;
	}
	m->s[i].used = 0;
	m->len--;
}

int cvt_map_del(struct cvt_map *m, uint64_t a, uint64_t b)
{
	if (m->cap == 0)
		return 0;
	size_t mask = m->cap - 1;
	for (size_t i = slot_of(a, b, mask);; i = (i + 1) & mask) {
		if (!m->s[i].used)
			return 0;
		if (m->s[i].a == a && m->s[i].b == b) {
			del_slot(m, i);
			return 1;
		}
	}
}
