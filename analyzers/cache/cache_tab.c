/* The cache analyzer's small tables and perf's data_src decoder. */
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

void ctab_init(struct ctab *t, size_t esz, uint64_t limit)
{
	memset(t, 0, sizeof *t);
	t->esz = esz;
	t->limit = limit;
}

void ctab_free(struct ctab *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}

static uint64_t hash2(uint64_t a, uint64_t b)
{
	uint64_t h = a * UINT64_C(0x9E3779B97F4A7C15) ^ (b + UINT64_C(0x632BE59BD9B4E019));
	h ^= h >> 31;
	h *= UINT64_C(0xBF58476D1CE4E5B9);
	return h ^ (h >> 29);
}

static struct ckey *slot(const struct ctab *t, uint64_t i)
{
	return (struct ckey *)(t->v + i * t->esz);
}

static int grow(struct ctab *t)
{
	uint64_t nc = t->cap ? t->cap * 2 : 64;
	uint8_t *nv = calloc(nc, t->esz);
	if (!nv)
		return -1;
	for (uint64_t i = 0; i < t->cap; i++) {
		struct ckey *e = slot(t, i);
		if (!e->used)
			continue;
		uint64_t j = hash2(e->a, e->b) & (nc - 1);
		while (((struct ckey *)(nv + j * t->esz))->used)
			j = (j + 1) & (nc - 1);
		memcpy(nv + j * t->esz, e, t->esz);
	}
	free(t->v);
	t->v = nv;
	t->cap = nc;
	return 0;
}

void *ctab_get(struct ctab *t, uint64_t a, uint64_t b, int create)
{
	if (t->cap) {
		uint64_t j = hash2(a, b) & (t->cap - 1);
		for (struct ckey *e; (e = slot(t, j))->used; j = (j + 1) & (t->cap - 1))
			if (e->a == a && e->b == b)
				return e;
	}
	if (!create)
		return NULL;
	if (t->limit && t->n >= t->limit) {
		t->refused++;
		return NULL;
	}
	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	uint64_t j = hash2(a, b) & (t->cap - 1);
	while (slot(t, j)->used)
		j = (j + 1) & (t->cap - 1);
	struct ckey *e = slot(t, j);
	memset(e, 0, t->esz);
	e->a = a;
	e->b = b;
	e->used = 1;
	t->n++;
	return e;
}

void ctab_del(struct ctab *t, void *entry)
{
	uint64_t i = (uint64_t)((uint8_t *)entry - t->v) / t->esz;
	uint64_t mask = t->cap - 1;
	slot(t, i)->used = 0;
	t->n--;
	/* shift the following entries of the run back (no tombstones) */
	for (uint64_t j = (i + 1) & mask; slot(t, j)->used; j = (j + 1) & mask) {
		struct ckey *e = slot(t, j);
		uint64_t h = hash2(e->a, e->b) & mask;
		/* e may move back to i when its home h is no later than i
		 * (cyclically, seen from j) */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			memcpy(slot(t, i), e, t->esz);
			e->used = 0;
			i = j;
		}
	}
}

void *ctab_at(const struct ctab *t, uint64_t i)
{
	if (i >= t->cap)
		return NULL;
	struct ckey *e = slot(t, i);
	return e->used ? e : NULL;
}

void **ctab_list(const struct ctab *t, uint64_t *out_n)
{
	*out_n = 0;
	if (!t->n)
		return NULL;
	void **v = malloc(t->n * sizeof *v);
	if (!v)
		return NULL;
	uint64_t k = 0;
	for (uint64_t i = 0; i < t->cap; i++)
		if (slot(t, i)->used)
			v[k++] = slot(t, i);
	*out_n = k;
	return v;
}

/* ---- data_src (linux/perf_event.h, union perf_mem_data_src) ------------------------------ */

const char *const cache_ds_op[DS_OP_N] = {"na", "load", "store", "prefetch", "exec"};
const char *const cache_ds_level[DS_LVL_N] = {
	"na", "l1", "lfb", "l2", "l3", "l4", "any_cache", "local_ram", "remote_ram",
	"remote_cache", "pmem", "cxl", "io", "uncached"};
const char *const cache_ds_res[DS_RES_N] = {"na", "hit", "miss"};
const char *const cache_ds_snoop[DS_SNOOP_N] = {"na", "none", "hit", "miss", "hitm"};

#define BITS(v, shift, n) (((v) >> (shift)) & ((UINT64_C(1) << (n)) - 1))

int cache_dsrc_decode(uint64_t v, struct dsrc *d)
{
	memset(d, 0, sizeof *d);
	uint64_t op = BITS(v, 0, 5), lvl = BITS(v, 5, 14), snoop = BITS(v, 19, 5),
		 lock = BITS(v, 24, 2), tlb = BITS(v, 26, 7), lnum = BITS(v, 33, 4),
		 remote = BITS(v, 37, 1), snoopx = BITS(v, 38, 2);
	(void)snoopx;
	/* the op: the first of load, store, prefetch, exec */
	d->op = (op & 0x02) ? DS_OP_LOAD : (op & 0x04) ? DS_OP_STORE : (op & 0x08) ? DS_OP_PFETCH
		: (op & 0x10) ? DS_OP_EXEC : DS_OP_NA;
	d->result = (lvl & 0x02) ? DS_HIT : (lvl & 0x04) ? DS_MISS : DS_NA;
	/* the level: the newer level number when given, else the old bits
	 * (the innermost level named) */
	if (lnum && lnum != 0x0f) {
		switch (lnum) {
		case 1: d->level = DS_LVL_L1; break;
		case 2: d->level = DS_LVL_L2; break;
		case 3: d->level = DS_LVL_L3; break;
		case 4: d->level = DS_LVL_L4; break;
		case 9: d->level = DS_LVL_CXL; break;
		case 0x0a: d->level = DS_LVL_IO; break;
		case 0x0b: d->level = DS_LVL_ANY_CACHE; break;
		case 0x0c: d->level = DS_LVL_LFB; break;
		case 0x0d: d->level = DS_LVL_LOCAL_RAM; break;
		case 0x0e: d->level = DS_LVL_PMEM; break;
		default: d->level = DS_LVL_NA; break;
		}
		if (remote) {
			d->remote = 1;
			if (d->level == DS_LVL_LOCAL_RAM)
				d->level = DS_LVL_REMOTE_RAM;
			else if (d->level != DS_LVL_NA && d->level != DS_LVL_IO)
				d->level = DS_LVL_REMOTE_CACHE;
		}
	} else if (lvl & 0x08) {
		d->level = DS_LVL_L1;
	} else if (lvl & 0x10) {
		d->level = DS_LVL_LFB;
	} else if (lvl & 0x20) {
		d->level = DS_LVL_L2;
	} else if (lvl & 0x40) {
		d->level = DS_LVL_L3;
	} else if (lvl & 0x80) {
		d->level = DS_LVL_LOCAL_RAM;
	} else if (lvl & 0x300) {
		d->level = DS_LVL_REMOTE_RAM;
		d->remote = 1;
	} else if (lvl & 0xc00) {
		d->level = DS_LVL_REMOTE_CACHE;
		d->remote = 1;
	} else if (lvl & 0x1000) {
		d->level = DS_LVL_IO;
	} else if (lvl & 0x2000) {
		d->level = DS_LVL_UNCACHED;
	}
	d->snoop = (snoop & 0x10) ? DS_SNOOP_HITM : (snoop & 0x04) ? DS_SNOOP_HIT
		 : (snoop & 0x08) ? DS_SNOOP_MISS : (snoop & 0x02) ? DS_SNOOP_NONE : DS_SNOOP_NA;
	d->tlb = (tlb & 0x02) ? DS_HIT : (tlb & 0x04) ? DS_MISS : DS_NA;
	d->locked = (lock & 0x02) != 0;
	return d->op != DS_OP_NA || d->level != DS_LVL_NA || d->result != DS_NA ||
	       d->snoop != DS_SNOOP_NA || d->tlb != DS_NA || d->locked;
}
