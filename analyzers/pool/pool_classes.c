/* pool: the size-class models of glibc malloc, jemalloc, tcmalloc and
 * mimalloc, generated from the rules their sources document (the sources
 * and versions are cited in doc/analyzers-pool.md, "Size-class models"),
 * the optimal-classes dynamic programme, a log-linear histogram and a
 * small hash map.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

const char *const mpa_pl_alloc_name[PL_NALLOC] = {"glibc", "jemalloc", "tcmalloc", "mimalloc"};
const char *const mpa_pl_alloc_source[PL_NALLOC] = {
	"glibc 2.36 malloc/malloc.c (request2size, mmap threshold)",
	"jemalloc 5.3.0 src/sc.c (size_classes, slab_size)",
	"gperftools 2.10 src/common.cc (SizeMap::Init, AlignmentForSize)",
	"mimalloc 2.0.9 src/page-queue.c (mi_bin), src/segment.c (large pages)"};

static unsigned flog2(uint64_t v) /* v > 0 */
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static uint64_t round_up(uint64_t v, uint64_t a) /* a a power of two */
{
	uint64_t r = (v + a - 1) & ~(a - 1);
	return r < v ? UINT64_MAX & ~(a - 1) : r;
}

/* ---- glibc ---------------------------------------------------------------- */

/* 64-bit: SIZE_SZ 8, MALLOC_ALIGNMENT 16, MINSIZE 32; a heap chunk is the
 * request plus one size word, rounded up to 16, at least 32 bytes. */

/* an mmapped chunk: the chunk plus one size word, rounded up to the page */
uint64_t mpa_pl_glibc_mmapped(uint64_t n)
{
	uint64_t c = mpa_pl_glibc_chunk(n);
	return round_up(c + 8 < c ? c : c + 8, 4096);
}

uint64_t mpa_pl_glibc_usable(uint64_t n, int mmapped)
{
	return mmapped ? mpa_pl_glibc_mmapped(n) - 16 : mpa_pl_glibc_chunk(n) - 8;
}

/* ---- jemalloc --------------------------------------------------------------- */

/* LG_QUANTUM 4, SC_LG_TINY_MIN 3, SC_LG_NGROUP 2, LG_PAGE 12: 8, then 16,
 * 32, 48, 64, then four classes per doubling (base + k * base / 4).
 * Classes below PAGE << SC_LG_NGROUP (16 KiB) are small: slabs of
 * lcm(size, page) bytes; larger ones are page extents of the class size. */
static uint64_t je_class(uint64_t n)
{
	if (n <= 8)
		return 8;
	if (n <= 16)
		return 16;
	if (n <= 64)
		return round_up(n, 16);
	return round_up(n, UINT64_C(1) << (flog2(n - 1) - 2));
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int je_tables(struct pl_tables *t)
{
	uint32_t cap = 64, n = 0;
	struct pl_cls *c = malloc(cap * sizeof *c);
	if (!c)
		return -1;
	for (uint64_t s = 8; s < 16384; s = je_class(s + 1)) {
		c[n].size = s;
		c[n].run = s / gcd64(s, 4096) * 4096; /* lcm(size, page) */
		n++;
	}
	t->c[PL_JE] = c;
	t->n[PL_JE] = n;
	return 0;
}

/* ---- tcmalloc (gperftools) --------------------------------------------------- */

#define TC_PAGE UINT64_C(8192)       /* kPageShift 13 */
#define TC_MAX_SIZE UINT64_C(262144) /* kMaxSize */
#define TC_TRANSFER 32               /* FLAGS_tcmalloc_transfer_num_objects default */

static uint64_t tc_align(uint64_t size)
{
	uint64_t a = 8;
	if (size > TC_MAX_SIZE)
		a = TC_PAGE;
	else if (size >= 128)
		a = (UINT64_C(1) << flog2(size)) / 8;
	else if (size >= 16)
		a = 16;
	return a > TC_PAGE ? TC_PAGE : a;
}

static int tc_tables(struct pl_tables *t)
{
	uint32_t cap = 128, n = 0;
	struct pl_cls *c = malloc(cap * sizeof *c);
	if (!c)
		return -1;
	uint64_t a = 8;
	for (uint64_t s = 8; s <= TC_MAX_SIZE; s += a) {
		a = tc_align(s);
		uint64_t move = 65536 / s;
		if (move < 2)
			move = 2;
		if (move > TC_TRANSFER)
			move = TC_TRANSFER;
		move /= 4;
		/* the fewest pages leaving less than 1/8 unused and holding at
		 * least a quarter of a transfer batch */
		uint64_t ps = 0;
		do {
			ps += TC_PAGE;
			while (ps % s > ps >> 3)
				ps += TC_PAGE;
		} while (ps / s < move);
		if (n && ps == c[n - 1].run && ps / s == c[n - 1].run / c[n - 1].size) {
			c[n - 1].size = s; /* same span, same count: merged */
			continue;
		}
		if (n == cap) {
			struct pl_cls *nc = realloc(c, 2 * cap * sizeof *c);
			if (!nc) {
				free(c);
				return -1;
			}
			c = nc;
			cap *= 2;
		}
		c[n].size = s;
		c[n].run = ps;
		n++;
	}
	t->c[PL_TC] = c;
	t->n[PL_TC] = n;
	return 0;
}

/* ---- mimalloc ----------------------------------------------------------------- */

#define MI_SMALL_MAX UINT64_C(16384)   /* MI_SMALL_OBJ_SIZE_MAX: 64 KiB pages */
#define MI_MEDIUM_MAX UINT64_C(131072) /* MI_MEDIUM_OBJ_SIZE_MAX: 512 KiB pages */

/* Bins in words of 8 bytes: 1, even counts up to 8, then four per
 * doubling (the top three bits of wsize - 1). */
static uint64_t mi_bin_size(uint64_t n)
{
	uint64_t w = (n + 7) / 8;
	if (w <= 1)
		return 8;
	if (w <= 8)
		return ((w + 1) & ~UINT64_C(1)) * 8;
	unsigned b = flog2(w - 1);
	return (((w - 1) >> (b - 2)) + 1) << (b - 2) << 3;
}

/* Beyond the bins an object has a page of its own: 64 KiB slices up to
 * 512 KiB (MI_MEDIUM_PAGE_SIZE), then multiples of it up to 8 MiB, then
 * 1 MiB up to 32 MiB, then 4 MiB (checked against malloc_usable_size of
 * libmimalloc 2.0.9). */
static uint64_t mi_own(uint64_t n)
{
	if (n <= UINT64_C(524288))
		return round_up(n, 65536);
	if (n <= UINT64_C(8388608))
		return round_up(n, 524288);
	if (n <= UINT64_C(33554432))
		return round_up(n, 1048576);
	return round_up(n, 4194304);
}

static int mi_tables(struct pl_tables *t)
{
	uint32_t cap = 96, n = 0;
	struct pl_cls *c = malloc(cap * sizeof *c);
	if (!c)
		return -1;
	for (uint64_t s = 8; s <= MI_MEDIUM_MAX; s = mi_bin_size(s + 1)) {
		c[n].size = s;
		c[n].run = s <= MI_SMALL_MAX ? 65536 : 524288;
		n++;
	}
	t->c[PL_MI] = c;
	t->n[PL_MI] = n;
	return 0;
}

static uint32_t find_class(const struct pl_cls *c, uint32_t n, uint64_t size);

int mpa_pl_tables_init(struct pl_tables *t)
{
	memset(t, 0, sizeof *t);
	if (je_tables(t) < 0 || tc_tables(t) < 0 || mi_tables(t) < 0) {
		mpa_pl_tables_release(t);
		return -1;
	}
	/* sizes up to PL_SMALL_MAX: the class of the largest size of each
	 * 8-byte step serves the whole step only when the step does not cross
	 * a class boundary; every class boundary is a multiple of 8 */
	for (unsigned a = 1; a < PL_NALLOC; a++)
		for (uint32_t i = 0; i < t->n[a]; i++)
			t->c[a][i].per = (uint32_t)(t->c[a][i].run / t->c[a][i].size);
	for (unsigned a = 1; a < PL_NALLOC; a++)
		for (uint32_t i = 0; i <= PL_SMALL_MAX / 8; i++)
			t->small[a][i] = (uint8_t)find_class(t->c[a], t->n[a], (uint64_t)i * 8);
	/* every model's answer for the small sizes, looked up per allocation */
	t->sz = calloc(PL_SMALL_MAX + 1, sizeof *t->sz);
	if (!t->sz) {
		mpa_pl_tables_release(t);
		return -1;
	}
	for (uint32_t n = 0; n <= PL_SMALL_MAX; n++)
		for (unsigned a = 0; a < PL_NALLOC; a++) {
			uint32_t cls;
			t->sz[n].slot[a] = (uint32_t)mpa_pl_slot(t, a, n, PL_GLIBC_MMAP_THRESHOLD, &cls);
			if (a)
				t->sz[n].cls[a - 1] = cls == PL_OWN ? 255 : (uint8_t)cls;
		}
	return 0;
}

void mpa_pl_tables_release(struct pl_tables *t)
{
	for (unsigned a = 0; a < PL_NALLOC; a++)
		free(t->c[a]);
	free(t->sz);
	memset(t, 0, sizeof *t);
}

static uint32_t find_class(const struct pl_cls *c, uint32_t n, uint64_t size)
{
	uint32_t lo = 0, hi = n; /* first class >= size */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c[mid].size < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t mpa_pl_slot(const struct pl_tables *t, unsigned a, uint64_t n, uint64_t mmap_threshold,
		     uint32_t *cls)
{
	*cls = PL_OWN;
	if (a == PL_GLIBC) {
		uint64_t c = mpa_pl_glibc_chunk(n);
		return c >= mmap_threshold ? mpa_pl_glibc_mmapped(n) : c;
	}
	uint32_t i = n <= PL_SMALL_MAX ? t->small[a][(n + 7) / 8] : find_class(t->c[a], t->n[a], n);
	if (i < t->n[a]) {
		*cls = i;
		return t->c[a][i].size;
	}
	switch (a) {
	case PL_JE:
		return je_class(n);
	case PL_TC:
		return round_up(n, TC_PAGE);
	default:
		return mi_own(n);
	}
}

/* ---- optimal classes ------------------------------------------------------------ */

/* Groups of distinct rounded sizes v[0..m): cnt and sum (sizes x counts)
 * prefix sums.  cost(i, j) = v[j] * (C[j+1] - C[i]) - (S[j+1] - S[i]): the
 * waste of one class v[j] serving groups i..j. */
struct dp {
	const uint64_t *v;
	const unsigned __int128 *C, *S;
	const unsigned __int128 *prev;
	unsigned __int128 *cur;
	uint32_t *arg;
};

static unsigned __int128 cost(const struct dp *d, uint32_t i, uint32_t j)
{
	return (unsigned __int128)d->v[j] * (d->C[j + 1] - d->C[i]) - (d->S[j + 1] - d->S[i]);
}

/* cur[j] for j in [lo, hi], the best split in [olo, ohi] (monotone: the
 * cost is a Monge array, so divide and conquer applies). */
static void dc(struct dp *d, uint32_t lo, uint32_t hi, uint32_t olo, uint32_t ohi)
{
	while (lo <= hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		unsigned __int128 best = ~(unsigned __int128)0;
		uint32_t bi = olo;
		uint32_t top = ohi < mid ? ohi : mid;
		for (uint32_t i = olo; i <= top; i++) {
			/* the last class serves groups i..mid; the earlier ones 0..i-1 */
			unsigned __int128 base = i ? d->prev[i - 1] : 0;
			if (i && base == ~(unsigned __int128)0)
				continue;
			unsigned __int128 c = base + cost(d, i, mid);
			if (c < best) {
				best = c;
				bi = i;
			}
		}
		d->cur[mid] = best;
		d->arg[mid] = bi;
		if (mid > lo)
			dc(d, lo, mid - 1, olo, bi);
		lo = mid + 1;
		olo = bi;
	}
}

/* The same with 64-bit sums, when every cost fits (v max x count total and
 * the byte total below 2^62: a best plus a cost stays below 2^63): the
 * same comparisons, the same answer, at a fraction of the 128-bit cost. */
struct dp64 {
	const uint64_t *v, *C, *S;
	const uint64_t *prev;
	uint64_t *cur;
	uint32_t *arg;
};

static void dc64(struct dp64 *d, uint32_t lo, uint32_t hi, uint32_t olo, uint32_t ohi)
{
	while (lo <= hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t best = UINT64_MAX, vm = d->v[mid], cm = d->C[mid + 1], sm = d->S[mid + 1];
		uint32_t bi = olo;
		uint32_t top = ohi < mid ? ohi : mid;
		for (uint32_t i = olo; i <= top; i++) {
			uint64_t base = i ? d->prev[i - 1] : 0;
			if (i && base == UINT64_MAX)
				continue;
			uint64_t c = base + (vm * (cm - d->C[i]) - (sm - d->S[i]));
			if (c < best) {
				best = c;
				bi = i;
			}
		}
		d->cur[mid] = best;
		d->arg[mid] = bi;
		if (mid > lo)
			dc64(d, lo, mid - 1, olo, bi);
		lo = mid + 1;
		olo = bi;
	}
}

/* k - 1 rounds of dc64 over g groups (k < g); the optimal waste, with the
 * split points in arg.  0, or -1 when out of memory. */
static int dp_run64(const uint64_t *v, const unsigned __int128 *C, const unsigned __int128 *S,
		    uint32_t g, uint32_t k, uint32_t *arg, unsigned __int128 *waste)
{
	uint64_t *c = malloc((size_t)(g + 1) * 2 * sizeof *c), *ab = malloc((size_t)g * 2 * sizeof *ab);
	if (!c || !ab) {
		free(c);
		free(ab);
		return -1;
	}
	uint64_t *s = c + g + 1, *a = ab, *b = ab + g;
	for (uint32_t j = 0; j <= g; j++) {
		c[j] = (uint64_t)C[j];
		s[j] = (uint64_t)S[j];
	}
	struct dp64 d = {.v = v, .C = c, .S = s};
	for (uint32_t j = 0; j < g; j++) {
		a[j] = v[j] * c[j + 1] - s[j + 1];
		arg[j] = 0;
	}
	for (uint32_t l = 1; l < k; l++) {
		d.prev = a;
		d.cur = b;
		d.arg = arg + (size_t)l * g;
		dc64(&d, 0, g - 1, 0, g - 1);
		uint64_t *t = a;
		a = b;
		b = t;
	}
	*waste = a[g - 1];
	free(c);
	free(ab);
	return 0;
}

/* The classes from the split points: the last class is v[g-1]. */
static void walk_back(const uint64_t *v, const uint32_t *arg, uint32_t g, uint32_t k,
		      uint64_t *out, uint32_t *nout)
{
	uint32_t j = g - 1, n = 0;
	for (uint32_t l = k; l-- > 0;) {
		out[n++] = v[j];
		uint32_t i = arg[(size_t)l * g + j];
		if (!i || !l)
			break;
		j = i - 1;
	}
	for (uint32_t x = 0; x < n / 2; x++) {
		uint64_t t = out[x];
		out[x] = out[n - 1 - x];
		out[n - 1 - x] = t;
	}
	*nout = n;
}

/* distinct values of the sizes rounded up to align */
static uint32_t groups(const uint64_t *sizes, uint32_t m, uint64_t align)
{
	uint32_t g = 0;
	uint64_t last = 0;
	for (uint32_t i = 0; i < m; i++) {
		uint64_t r = round_up(sizes[i] ? sizes[i] : 1, align);
		if (!g || r != last)
			g++;
		last = r;
	}
	return g;
}

int mpa_pl_optimal_classes(const uint64_t *sizes, const uint64_t *counts, uint32_t m, uint32_t k,
			   uint64_t *alignp, uint64_t *out, uint32_t *nout, unsigned __int128 *waste)
{
	*nout = 0;
	*waste = 0;
	if (!m || !k)
		return 0;
	/* the split points take k x groups entries: past PL_DP_CELLS the
	 * alignment doubles until they fit (exact for that alignment) */
	uint64_t align = *alignp;
	while ((uint64_t)groups(sizes, m, align) * k > PL_DP_CELLS && align < (UINT64_C(1) << 62))
		align *= 2;
	*alignp = align;
	/* group the sizes by their rounded class value */
	uint64_t *v = malloc(m * sizeof *v);
	unsigned __int128 *C = malloc((m + 1) * sizeof *C), *S = malloc((m + 1) * sizeof *S);
	if (!v || !C || !S)
		goto oom;
	uint32_t g = 0;
	C[0] = S[0] = 0;
	for (uint32_t i = 0; i < m; i++) {
		uint64_t r = round_up(sizes[i] ? sizes[i] : 1, align);
		if (!g || v[g - 1] != r) {
			v[g] = r;
			C[g + 1] = C[g];
			S[g + 1] = S[g];
			g++;
		}
		C[g] += counts[i];
		S[g] += (unsigned __int128)sizes[i] * counts[i];
	}
	if (k >= g) {
		memcpy(out, v, g * sizeof *v);
		*nout = g;
		for (uint32_t j = 0; j < g; j++)
			*waste += cost(&(struct dp){.v = v, .C = C, .S = S}, j, j);
		free(v);
		free(C);
		free(S);
		return 0;
	}
	const unsigned __int128 lim = (unsigned __int128)1 << 62;
	if ((unsigned __int128)v[g - 1] * C[g] < lim && S[g] < lim) {
		uint32_t *arg = malloc((size_t)k * g * sizeof *arg);
		if (!arg || dp_run64(v, C, S, g, k, arg, waste) < 0) {
			free(arg);
			goto oom;
		}
		walk_back(v, arg, g, k, out, nout);
		free(arg);
		free(v);
		free(C);
		free(S);
		return 0;
	}
	unsigned __int128 *a = malloc(g * sizeof *a), *b = malloc(g * sizeof *b);
	uint32_t *arg = malloc((size_t)k * g * sizeof *arg);
	if (!a || !b || !arg) {
		free(a);
		free(b);
		free(arg);
		goto oom;
	}
	/* one class: it serves groups 0..j */
	struct dp d = {.v = v, .C = C, .S = S};
	for (uint32_t j = 0; j < g; j++) {
		a[j] = cost(&d, 0, j);
		arg[j] = 0;
	}
	for (uint32_t l = 1; l < k; l++) {
		d.prev = a;
		d.cur = b;
		d.arg = arg + (size_t)l * g;
		dc(&d, 0, g - 1, 0, g - 1);
		unsigned __int128 *t = a;
		a = b;
		b = t;
	}
	*waste = a[g - 1];
	walk_back(v, arg, g, k, out, nout);
	free(a);
	free(b);
	free(arg);
	free(v);
	free(C);
	free(S);
	return 0;
oom:
	free(v);
	free(C);
	free(S);
	return -1;
}

/* ---- histogram ------------------------------------------------------------------- */

uint32_t mpa_pl_hbucket(uint64_t v)
{
	if (v < 16)
		return (uint32_t)v;
	unsigned e = flog2(v); /* 4..63 */
	return 16 + (e - 4) * 8 + (uint32_t)((v >> (e - 3)) & 7);
}

uint64_t mpa_pl_hbucket_hi(uint32_t b)
{
	if (b < 16)
		return b;
	unsigned e = (b - 16) / 8 + 4, s = (b - 16) % 8;
	uint64_t lo = (UINT64_C(1) << e) + ((uint64_t)s << (e - 3));
	uint64_t w = UINT64_C(1) << (e - 3);
	return lo + (w - 1);
}

uint64_t mpa_pl_hist_quantile(const uint64_t *h, double p)
{
	unsigned __int128 tot = 0;
	for (uint32_t b = 0; b < PL_HBUCKETS; b++)
		tot += h[b];
	if (!tot)
		return 0;
	/* the smallest value v with weight(<= v) >= p * total */
	long double need = (long double)p * (long double)tot;
	unsigned __int128 acc = 0;
	for (uint32_t b = 0; b < PL_HBUCKETS; b++) {
		acc += h[b];
		if (h[b] && (long double)acc >= need)
			return mpa_pl_hbucket_hi(b);
	}
	return mpa_pl_hbucket_hi(PL_HBUCKETS - 1);
}

/* ---- map ------------------------------------------------------------------------- */

uint64_t mpa_pl_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

uint32_t mpa_pl_map_get(const struct pl_map *m, uint64_t key)
{
	if (!m->cap)
		return UINT32_MAX;
	uint32_t mask = m->cap - 1;
	for (uint32_t i = (uint32_t)mpa_pl_mix64(key) & mask;; i = (i + 1) & mask) {
		if (m->v[i] == UINT32_MAX)
			return UINT32_MAX;
		if (m->k[i] == key)
			return m->v[i];
	}
}

static int map_rehash(struct pl_map *m, uint32_t ncap)
{
	uint64_t *k = malloc((size_t)ncap * sizeof *k);
	uint32_t *v = malloc((size_t)ncap * sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	memset(v, 0xff, (size_t)ncap * sizeof *v);
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->v[i] == UINT32_MAX)
			continue;
		uint32_t j = (uint32_t)mpa_pl_mix64(m->k[i]) & (ncap - 1);
		while (v[j] != UINT32_MAX)
			j = (j + 1) & (ncap - 1);
		k[j] = m->k[i];
		v[j] = m->v[i];
	}
	free(m->k);
	free(m->v);
	m->k = k;
	m->v = v;
	m->cap = ncap;
	return 0;
}

int mpa_pl_map_put(struct pl_map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		if (m->cap >= (UINT32_C(1) << 31) || map_rehash(m, m->cap ? m->cap * 2 : 64) < 0)
			return -1;
	}
	uint32_t mask = m->cap - 1;
	for (uint32_t i = (uint32_t)mpa_pl_mix64(key) & mask;; i = (i + 1) & mask) {
		if (m->v[i] == UINT32_MAX) {
			m->k[i] = key;
			m->v[i] = val;
			m->n++;
			return 0;
		}
		if (m->k[i] == key) {
			m->v[i] = val;
			return 0;
		}
	}
}

void mpa_pl_map_del(struct pl_map *m, uint64_t key)
{
	if (!m->cap)
		return;
	uint32_t mask = m->cap - 1, i = (uint32_t)mpa_pl_mix64(key) & mask;
	for (;; i = (i + 1) & mask) {
		if (m->v[i] == UINT32_MAX)
			return;
		if (m->k[i] == key)
			break;
	}
	/* backward-shift deletion: no tombstones */
	for (uint32_t j = i;;) {
		j = (j + 1) & mask;
		if (m->v[j] == UINT32_MAX)
			break;
		uint32_t h = (uint32_t)mpa_pl_mix64(m->k[j]) & mask;
		/* can the entry at j move to i? (h not cyclically in (i, j]) */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->k[i] = m->k[j];
			m->v[i] = m->v[j];
			i = j;
		}
	}
	m->v[i] = UINT32_MAX;
	m->n--;
}

void mpa_pl_map_release(struct pl_map *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof *m);
}

int mpa_pl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint64_t nc = *cap ? (uint64_t)*cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	if (nc > UINT32_MAX)
		return -1;
	void *n = realloc(*arr, nc * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = (uint32_t)nc;
	return 0;
}
