/* mpa analyzers — a small open-addressing map from a 64-bit key to a
 * 32-bit index, header only, for analyzers' per-site / per-thread tables
 * (stack, numa).  Library rules: returns -1 when out of memory.
 */
#ifndef MPA_U64MAP_H
#define MPA_U64MAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* An open-addressing map from a 64-bit key to an index (UINT32_MAX =
 * empty slot).  Grows at 50 % load. */
struct mpa_u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static inline uint64_t mpa_u64map_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return k;
}

/* The index stored for key, or UINT32_MAX. */
static inline uint32_t mpa_u64map_get(const struct mpa_u64map *m, uint64_t key)
{
	if (!m->cap)
		return UINT32_MAX;
	for (size_t i = mpa_u64map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->vals[i] == UINT32_MAX)
			return UINT32_MAX;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

/* Stores key -> val (key not present).  0, or -1 when out of memory. */
static inline int mpa_u64map_put(struct mpa_u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		uint64_t *k = malloc(nc * sizeof *k);
		uint32_t *v = malloc(nc * sizeof *v);
		if (!k || !v) {
			free(k);
			free(v);
			return -1;
		}
		for (size_t i = 0; i < nc; i++)
			v[i] = UINT32_MAX;
		for (size_t j = 0; j < m->cap; j++) {
			if (m->vals[j] == UINT32_MAX)
				continue;
			size_t i = mpa_u64map_hash(m->keys[j]) & (nc - 1);
			while (v[i] != UINT32_MAX)
				i = (i + 1) & (nc - 1);
			k[i] = m->keys[j];
			v[i] = m->vals[j];
		}
		free(m->keys);
		free(m->vals);
		m->keys = k;
		m->vals = v;
		m->cap = nc;
	}
	size_t i = mpa_u64map_hash(key) & (m->cap - 1);
	while (m->vals[i] != UINT32_MAX)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static inline void mpa_u64map_release(struct mpa_u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

#endif /* MPA_U64MAP_H */
