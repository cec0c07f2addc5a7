/* wl-pool: a fixed-size object pool reporting through include/mpa/pool.h.
 * Pool "wl_pool": objects of 64 bytes, capacity 32.  Takes 10 objects
 * (mpa_wl_pool_get), returns 7 (mpa_wl_pool_put), destroys the pool.
 * Built twice: wl-pool (-DMPA_POOL_ENABLE) and wl-pool-off (compiled out).
 */
#define MPA_POOL_DEFINE
#include "mpa/pool.h"

#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

struct pool {
	char *mem;          /* owned */
	void *free_list;    /* weak: points into mem */
	size_t obj_size;
	size_t capacity;
	uint32_t id;
};

void *volatile wl_sink;

static int pool_init(struct pool *p, const char *name, size_t obj, size_t cap)
{
	p->mem = malloc(obj * cap);
	if (p->mem == NULL)
		return -1;
	p->free_list = NULL;
	for (size_t i = cap; i-- > 0;) {
		void **slot = (void **)(p->mem + i * obj);

		*slot = p->free_list;
		p->free_list = slot;
	}
	p->obj_size = obj;
	p->capacity = cap;
	p->id = mpa_pool_create(name, obj, cap);
	return 0;
}

NOINLINE void *mpa_wl_pool_get(struct pool *p)
{
	void **slot = p->free_list;

	if (slot == NULL)
		return NULL;
	p->free_list = *slot;
	mpa_pool_alloc(p->id, slot, p->obj_size);
	return slot;
}

NOINLINE void mpa_wl_pool_put(struct pool *p, void *obj)
{
	mpa_pool_free(p->id, obj);
	*(void **)obj = p->free_list;
	p->free_list = obj;
}

static void pool_fini(struct pool *p)
{
	mpa_pool_destroy(p->id);
	free(p->mem);
}

int main(void)
{
	struct pool pool;
	void *objs[10];

	if (pool_init(&pool, "wl_pool", 64, 32) != 0)
		return 1;
	for (int i = 0; i < 10; i++) {
		objs[i] = mpa_wl_pool_get(&pool);
		memset(objs[i], i, 64);
		wl_sink = objs[i];
	}
	for (int i = 0; i < 7; i++)
		mpa_wl_pool_put(&pool, objs[i]);
	pool_fini(&pool);
	return 0;
}
