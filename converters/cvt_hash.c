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
	free(m->ka);
	free(m->kb);
	free(m->val);
	free(m->used);
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
		if (!m->used[i])
			return NULL;
		if (m->ka[i] == a && m->kb[i] == b)
			return &m->val[i];
	}
}

static int grow(struct cvt_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct cvt_map n = { 0 };
	n.ka = malloc(ncap * sizeof(uint64_t));
	n.kb = malloc(ncap * sizeof(uint64_t));
	n.val = malloc(ncap * sizeof(uint64_t));
	n.used = calloc(ncap, 1);
	if (!n.ka || !n.kb || !n.val || !n.used) {
		cvt_map_release(&n);
		return -1;
	}
	n.cap = ncap;
	size_t mask = ncap - 1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		size_t j = slot_of(m->ka[i], m->kb[i], mask);
		while (n.used[j])
			j = (j + 1) & mask;
		n.used[j] = 1;
		n.ka[j] = m->ka[i];
		n.kb[j] = m->kb[i];
		n.val[j] = m->val[i];
	}
	n.len = m->len;
	cvt_map_release(m);
	*m = n;
	return 0;
}

int cvt_map_put(struct cvt_map *m, uint64_t a, uint64_t b, uint64_t v, int *was_new)
{
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
		return -1;
	size_t mask = m->cap - 1;
	size_t i = slot_of(a, b, mask);
	while (m->used[i]) {
		if (m->ka[i] == a && m->kb[i] == b) {
			m->val[i] = v;
			if (was_new)
				*was_new = 0;
			return 0;
		}
		i = (i + 1) & mask;
	}
	m->used[i] = 1;
	m->ka[i] = a;
	m->kb[i] = b;
	m->val[i] = v;
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
		if (!m->used[j])
			break;
		size_t home = slot_of(m->ka[j], m->kb[j], mask);
		/* j may move to i if home is not cyclically in (i, j]. */
		int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->ka[i] = m->ka[j];
		m->kb[i] = m->kb[j];
		m->val[i] = m->val[j];
		i = j;
	}
	m->used[i] = 0;
	m->len--;
}

int cvt_map_del(struct cvt_map *m, uint64_t a, uint64_t b)
{
	if (m->cap == 0)
		return 0;
	size_t mask = m->cap - 1;
	for (size_t i = slot_of(a, b, mask);; i = (i + 1) & mask) {
		if (!m->used[i])
			return 0;
		if (m->ka[i] == a && m->kb[i] == b) {
			del_slot(m, i);
			return 1;
		}
	}
}

void cvt_map_del_all_a(struct cvt_map *m, uint64_t a)
{
	for (size_t i = 0; i < m->cap;) {
		/* A backward shift may move an unvisited entry into slot i:
		 * look at i again after deleting. */
		if (m->used[i] && m->ka[i] == a)
			del_slot(m, i);
		else
			i++;
	}
}
