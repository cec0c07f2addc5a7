/* The leak analyzer: heap blocks never freed, per process image, grouped by
 * allocation site; growth suspects; resources never released (mappings,
 * pool objects, pools); fragmentation-retained memory; suppressions; and
 * anomalies (double frees, frees and reallocs of unknown pointers).
 *
 * State grows with the live heap: one hash table per running process image
 * (address -> block), freed when the image ends; per-site counters sized by
 * the capture's stack table; result groups keyed by (class, image, site).
 * Every metric is defined in doc/analyzers.md ("Leak analyzer").
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpa/analyzer.h"

#define NS_PER_S 1000000000.0

/* ---- options ---------------------------------------------------------------------- */

static const struct mpa_option leak_options[] = {
	{"alerts", "leak_detection_enabled", MPA_OPT_BOOL, "true",
	 "run the leak analyzer under --all (an explicit --leak always runs it)"},
	{"alerts", "fragmentation_threshold", MPA_OPT_FLOAT, "0.5",
	 "alert when the final heap's fragmentation ratio exceeds this (fraction 0..1)"},
	{"leak", "growth_min_age_s", MPA_OPT_FLOAT, "60",
	 "a growth suspect's oldest live block is at least this old at the end (s)"},
	{"leak", "growth_min_bytes", MPA_OPT_INT, "1024",
	 "a growth suspect holds at least this many live bytes at the end (bytes)"},
	{"leak", "growth_windows", MPA_OPT_INT, "10",
	 "windows the analyzed span is split into to follow each site's live bytes (count)"},
	{"leak", "growth_min_monotonic", MPA_OPT_FLOAT, "0.75",
	 "share of window steps in which a growth suspect's live bytes did not fall (fraction)"},
	{"leak", "frag_max_fill", MPA_OPT_FLOAT, "0.25",
	 "a page whose live bytes are below this share of the page is sparse (fraction)"},
	{"leak", "suppressions", MPA_OPT_STRING, "\"\"",
	 "user suppression file, lines 'leak:PATTERN' or 'leak-site:PATTERN' (path)"},
	{"leak", "default_suppressions", MPA_OPT_BOOL, "true",
	 "apply the built-in suppressions of runtime-internal blocks"},
	{"leak", "max_examples", MPA_OPT_INT, "10", "examples kept per anomaly type (count)"},
	{"leak", "top_blocks", MPA_OPT_INT, "100", "largest unfreed blocks listed (count)"},
	{"leak", "top_sites", MPA_OPT_INT, "20", "sites shown in the top-sites plot (count)"},
	{"leak", "fail_on_leak", MPA_OPT_INT, "-1",
	 "mpa-analyze exits 3 when definitely lost bytes exceed this (bytes, -1 = off)"},
	{NULL, NULL, MPA_OPT_BOOL, NULL, NULL}
};

/* ---- suppressions ---------------------------------------------------------------- */

struct supp {
	char *pattern;     /* (owned) */
	int site_only;     /* 1: match only the allocation site frame;
			    * 3: every frame's binary matches one of the '|' alternatives */
	char *source;      /* (owned) "builtin" or FILE:LINE */
	const char *reason;/* (weak; "" for user rules) */
	uint64_t blocks, bytes;
};

/* Runtime-internal blocks that live until exit by design.  valgrind frees
 * most of them at exit (glibc's __libc_freeres, libstdc++'s __freeres); a
 * trace sees them as still allocated. */
static const struct {
	const char *pattern;
	int site_only;
	const char *reason;
} builtin_supps[] = {
	{"allocate_dtv", 0,
	 "glibc's per-thread dynamic thread vector (DTV) from pthread_create; released only by "
	 "libc's freeres at exit"},
	{"_dl_allocate_tls", 0,
	 "glibc's static TLS block of a new thread (pthread_create); reused by the thread cache"},
	{"liblttng-ust", 0,
	 "LTTng-UST's own allocations (e.g. the two 48-byte callocs of liblttng-ust-tracepoint.so "
	 "at registration), not the traced program's"},
	{"ld-linux", 1,
	 "the dynamic loader's own allocations (link maps, search paths, dlopen TLS): "
	 "process-lifetime by design"},
	{"^_dl_", 1, "a dynamic-loader internal function made the allocation"},
	{"_IO_file_doallocate", 0, "a stdio stream buffer, released by libc's freeres at exit"},
	{"^_nl_", 0, "locale data loaded by setlocale, released by libc's freeres at exit"},
	{"__gconv_", 0, "iconv/gconv conversion state cached by libc"},
	{"tzset_internal", 0, "timezone data cached by libc (localtime, tzset)"},
	{"__tzfile_read", 0, "timezone data cached by libc (localtime, tzset)"},
	{"__nss_", 0, "NSS module state (getpwnam, getaddrinfo...) cached by libc"},
	{"__new_exitfn", 0, "atexit/on_exit handler list, released by libc at exit"},
	{"_GLOBAL__sub_I_eh_alloc.cc", 0,
	 "libstdc++'s emergency exception-handling pool, released by __gnu_cxx::__freeres"},
	{"__cxa_get_globals", 0, "libstdc++'s per-thread exception globals"},
	{"new_composite_name", 0, "setlocale's composite locale name, released by libc's freeres"},
	{"set_binding_values", 0, "bindtextdomain's domain bindings, released by libc's freeres"},
	{"__wcsmbs_load_conv", 0, "the locale's multibyte conversion state, released by freeres"},
	{"__tzstring", 0, "timezone name strings cached by libc, released by freeres"},
	{"/libc.so.", 3,
	 "every frame inside libc (no caller outside it): libc's own process-lifetime state, e.g. "
	 "the locale names setlocale strdup's, released by freeres at exit"},
	{"libnuma.so|ld-linux", 3,
	 "every frame in libnuma or the loader: libnuma's constructor (numa_init) keeps its node "
	 "and CPU masks for the process's life; libnuma is loaded by liblttng-ust (the tracer), "
	 "so valgrind never sees them"},
	{"libstdc++.so|ld-linux", 3,
	 "every frame in libstdc++ or the loader: libstdc++'s constructor allocates the emergency "
	 "exception-handling pool, released by __gnu_cxx::__freeres at exit (matched by binary: "
	 "Debian's libstdc++ has no symbol for it)"},
};

/* Glob match of p against s: '*' is any run of characters.  With
 * anchor_end the whole of s must match, else a prefix of it. */
static int glob_at(const char *p, const char *s, int anchor_end)
{
	while (*p) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return 1;
			for (;; s++) {
				if (glob_at(p, s, anchor_end))
					return 1;
				if (!*s)
					return 0;
			}
		}
		if (!*s || *p != *s)
			return 0;
		p++;
		s++;
	}
	return anchor_end ? !*s : 1;
}

/* LSan-style: the pattern matches anywhere in s unless anchored with a
 * leading ^ or a trailing $. */
static int pattern_match(const char *pat, const char *s)
{
	char buf[512];
	size_t pl = strlen(pat);
	if (!s || !*s || !pl || pl >= sizeof buf)
		return 0;
	memcpy(buf, pat, pl + 1);
	int end = buf[pl - 1] == '$';
	if (end)
		buf[pl - 1] = 0;
	if (buf[0] == '^')
		return glob_at(buf + 1, s, end);
	for (const char *q = s; *q; q++)
		if (glob_at(buf, q, end))
			return 1;
	return 0;
}

/* pattern_match() of any of the '|'-separated alternatives of pat. */
static int pattern_match_any(const char *pat, const char *s)
{
	char alt[512];

	for (const char *p = pat;;) {
		size_t l = strcspn(p, "|");
		if (l < sizeof alt) {
			memcpy(alt, p, l);
			alt[l] = 0;
			if (pattern_match(alt, s))
				return 1;
		}
		if (!p[l])
			return 0;
		p += l + 1;
	}
}

static inline uint64_t hash_ptr(uint64_t p)
{
	p ^= p >> 29;
	p *= UINT64_C(0x9E3779B97F4A7C15);
	return p ^ (p >> 32);
}

/* ---- results ---------------------------------------------------------------------------- */

enum gclass { G_DEFINITE, G_LIVE_AT_END, G_MAP, G_POOL_OBJECT, G_POOL, G_KERNEL, G_NCLASS };
static const char *const gclass_name[] = {"definite", "live_at_end", "map", "pool_object",
					  "pool", "kernel"};
enum gstate { S_EXIT, S_EXEC, S_END, S_POOL_DESTROY, S_NSTATE };
static const char *const gstate_name[] = {"exit", "exec", "capture_end", "pool_destroy"};

struct group {
	uint8_t cls, state;
	uint32_t image, stack, name;  /* name: pool name string id; kernel: call-site index */
	uint64_t blocks, bytes;
	uint64_t first_ts, last_ts, max_age;
	uint64_t procs;
	uint32_t last_inst;
	uint8_t used;
};

struct topblk {
	uint8_t cls, state;
	int32_t pid;
	uint32_t image, stack;
	uint64_t ptr, size, ts, age;
};

enum anomaly { A_DOUBLE_FREE, A_UNKNOWN_FREE, A_UNKNOWN_REALLOC, A_FREED_REALLOC, A_ALLOC_LIVE,
	       A_POOL_DOUBLE_FREE, A_POOL_UNKNOWN_FREE, A_NANOM };
static const char *const anomaly_name[] = {"double_free", "unknown_free", "unknown_realloc",
					   "realloc_of_freed", "alloc_of_live_pointer",
					   "pool_double_free", "pool_unknown_free"};

struct example {
	int32_t pid;
	uint64_t ts, ptr;
	uint32_t stack;
};

struct site {
	int64_t live_bytes, live_blocks;
	uint64_t allocs, alloc_bytes;
	uint64_t *win;          /* live bytes at the end of each window (owned) */
	uint64_t oldest_end;    /* oldest live block's alloc ts at capture end */
	uint64_t end_bytes, end_blocks; /* live at capture end (not suppressed) */
	uint64_t frag_blocks, frag_live;
	double frag_retained;
	int32_t supp;           /* suppression index, -1 none, -2 not computed */
};

struct leak {
	const struct mpa_ctx *ctx;   /* (weak) */
	/* settings */
	double growth_min_age_s, growth_min_monotonic, frag_max_fill, frag_threshold;
	int64_t growth_min_bytes;
	uint32_t nwin, max_examples, top_n, top_sites;
	uint64_t page_size;
	/* time */
	uint64_t t0, t1;             /* analyzed span */
	uint32_t widx;               /* windows completed */
	uint64_t next_boundary;
	int snap_failed;
	uint64_t base;               /* first event of the capture: outputs count from it */
	/* processes (the heap model's images, counted as they end) */
	uint64_t procs_seen, procs_exited, procs_exec;
	uint64_t *kips;              /* kernel call sites of the kernel groups (owned) */
	uint32_t nkips, capkips;
	uint32_t *kipmap;            /* open addressing: index + 1 (owned) */
	uint32_t kipcap;
	uint64_t ev_kalloc, ev_kfree, kfree_unknown;
	uint64_t tracer_blocks, tracer_bytes; /* the tracer's own, left out */
	/* sites, indexed by stack id (0 = unknown) */
	struct site *sites;          /* (owned) */
	uint32_t nsites;
	/* suppressions */
	struct supp *supps;          /* (owned) */
	size_t nsupps;
	/* results */
	struct group *groups;        /* open addressing (owned) */
	uint64_t gcap, gused;
	struct topblk *top;          /* min-heap on size (owned) */
	uint32_t ntop;
	uint64_t anom[A_NANOM];
	struct example *ex[A_NANOM]; /* (owned) */
	uint32_t nex[A_NANOM];
	uint64_t ev_alloc, ev_free, ev_realloc, ev_failed, ev_free_null, ev_map, ev_unmap,
		ev_pool;
	uint64_t supp_blocks, supp_bytes;
	uint64_t frag_touched_bytes, frag_live_bytes;
	/* filled by end() */
	int ended;
	uint64_t cls_blocks[G_NCLASS], cls_bytes[G_NCLASS], cls_groups[G_NCLASS];
	uint32_t *growth;            /* growth suspect stack ids (owned) */
	uint32_t ngrowth;
	double *growth_rate, *growth_mono; /* per suspect (owned) */
	uint64_t growth_bytes;
	struct group **sorted;       /* groups in output order (owned array) */
	uint64_t nsorted;
};

/* ---- sites and suppression ------------------------------------------------------------ */

static struct site *site_of(struct leak *L, uint32_t stack)
{
	return &L->sites[stack < L->nsites ? stack : 0];
}

static int32_t suppression_of(struct leak *L, uint32_t stack)
{
	if (stack >= L->nsites)
		stack = 0;
	struct site *s = &L->sites[stack];
	if (s->supp != -2)
		return s->supp;
	s->supp = -1;
	uint32_t n = 0;
	const mpt_reader *r = L->ctx->reader;
	const uint32_t *fr = r ? mpt_reader_stack(r, stack, &n) : NULL;
	if (!fr || !n || !L->nsupps)
		return s->supp;
	int site = mpa_site_frame(L->ctx, stack);
	for (size_t k = 0; k < L->nsupps && s->supp < 0; k++) {
		const struct supp *sp = &L->supps[k];
		if (sp->site_only == 3) {
			uint32_t in = 0;
			for (uint32_t i = 0; i < n; i++) {
				const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
				if (f && pattern_match_any(sp->pattern,
							   mpt_reader_string(r, f->bin, NULL)))
					in++;
			}
			if (in == n)
				s->supp = (int32_t)k;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (sp->site_only && (int)i != site)
				continue;
			const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
			if (!f)
				continue;
			if (pattern_match(sp->pattern, mpt_reader_string(r, f->func, NULL)) ||
			    pattern_match(sp->pattern, mpt_reader_string(r, f->bin, NULL)) ||
			    pattern_match(sp->pattern, mpt_reader_string(r, f->file, NULL))) {
				s->supp = (int32_t)k;
				break;
			}
		}
	}
	return s->supp;
}

static int add_supp(struct leak *L, const char *pattern, int site_only, const char *source,
		    const char *reason)
{
	struct supp *ns = realloc(L->supps, (L->nsupps + 1) * sizeof *ns);
	if (!ns)
		return -1;
	L->supps = ns;
	struct supp *s = &ns[L->nsupps];
	memset(s, 0, sizeof *s);
	s->pattern = strdup(pattern);
	s->source = strdup(source);
	s->reason = reason;
	s->site_only = site_only;
	if (!s->pattern || !s->source) {
		free(s->pattern);
		free(s->source);
		return -1;
	}
	L->nsupps++;
	return 0;
}

static int load_supp_file(struct leak *L, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		mpa_errf(err, errlen, "suppression file '%s': %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	unsigned ln = 0;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		ln++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			mpa_errf(err, errlen, "%s:%u: line too long", path, ln);
			rc = -1;
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
			     line[n - 1] == '\t'))
			line[--n] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		int site_only;
		if (!strncmp(p, "leak:", 5)) {
			site_only = 0;
			p += 5;
		} else if (!strncmp(p, "leak-site:", 10)) {
			site_only = 1;
			p += 10;
		} else {
			mpa_errf(err, errlen, "%s:%u: expected 'leak:PATTERN' or 'leak-site:PATTERN'",
			       path, ln);
			rc = -1;
			break;
		}
		if (!*p || (*p == '^' && !p[1]) || !strcmp(p, "$")) {
			mpa_errf(err, errlen, "%s:%u: empty pattern", path, ln);
			rc = -1;
			break;
		}
		if (strlen(p) >= 500) {
			mpa_errf(err, errlen, "%s:%u: pattern too long", path, ln);
			rc = -1;
			break;
		}
		char src[600];
		snprintf(src, sizeof src, "%s:%u", path, ln);
		if (add_supp(L, p, site_only, src, "") < 0) {
			mpa_errf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		mpa_errf(err, errlen, "suppression file '%s': read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

/* ---- groups --------------------------------------------------------------------------- */

static uint64_t group_hash(uint8_t cls, uint8_t st, uint32_t image, uint32_t stack,
			   uint32_t name)
{
	uint64_t h = ((uint64_t)cls << 56) ^ ((uint64_t)st << 48) ^ ((uint64_t)image << 20) ^
		     ((uint64_t)stack * UINT64_C(0x9E3779B97F4A7C15)) ^ ((uint64_t)name << 7);
	return hash_ptr(h);
}

static struct group *group_get(struct leak *L, uint8_t cls, uint8_t st, uint32_t image,
			       uint32_t stack, uint32_t name)
{
	if ((L->gused + 1) * 10 > L->gcap * 7) {
		uint64_t nc = L->gcap ? L->gcap * 2 : 256;
		struct group *ng = calloc(nc, sizeof *ng);
		if (!ng)
			return NULL;
		for (uint64_t k = 0; k < L->gcap; k++) {
			if (!L->groups[k].used)
				continue;
			struct group *g = &L->groups[k];
			uint64_t i = group_hash(g->cls, g->state, g->image, g->stack, g->name) & (nc - 1);
			while (ng[i].used)
				i = (i + 1) & (nc - 1);
			ng[i] = *g;
		}
		free(L->groups);
		L->groups = ng;
		L->gcap = nc;
	}
	uint64_t m = L->gcap - 1, i = group_hash(cls, st, image, stack, name) & m;
	for (;;) {
		struct group *g = &L->groups[i];
		if (!g->used) {
			g->used = 1;
			g->cls = cls;
			g->state = st;
			g->image = image;
			g->stack = stack;
			g->name = name;
			g->first_ts = UINT64_MAX;
			L->gused++;
			return g;
		}
		if (g->cls == cls && g->state == st && g->image == image && g->stack == stack &&
		    g->name == name)
			return g;
		i = (i + 1) & m;
	}
}

static int group_add(struct leak *L, uint8_t cls, uint8_t st, const struct mpa_image *p,
		     uint32_t stack, uint32_t name, uint64_t bytes, uint64_t ts, uint64_t end_ts)
{
	struct group *g = group_get(L, cls, st, p->path, stack, name);
	if (!g)
		return -1;
	g->blocks++;
	g->bytes += bytes;
	if (ts < g->first_ts)
		g->first_ts = ts;
	if (ts > g->last_ts)
		g->last_ts = ts;
	uint64_t age = end_ts > ts ? end_ts - ts : 0;
	if (age > g->max_age)
		g->max_age = age;
	if (g->last_inst != p->id || !g->procs) {
		g->procs++;
		g->last_inst = p->id;
	}
	return 0;
}

/* Largest blocks: a min-heap of L->top_n entries ordered by (size, older first). */
static int top_less(const struct topblk *a, const struct topblk *b)
{
	if (a->size != b->size)
		return a->size < b->size;
	if (a->ts != b->ts)
		return a->ts > b->ts;
	if (a->pid != b->pid)
		return a->pid > b->pid;
	return a->ptr > b->ptr;
}

static void top_offer(struct leak *L, const struct topblk *c)
{
	if (!L->top_n)
		return;
	struct topblk *h = L->top;
	uint32_t i;
	if (L->ntop < L->top_n) {
		i = L->ntop++;
		h[i] = *c;
		while (i && top_less(&h[i], &h[(i - 1) / 2])) {
			struct topblk t = h[i];
			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!top_less(&h[0], c))
		return;
	h[0] = *c;
	i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < L->ntop && top_less(&h[l], &h[m]))
			m = l;
		if (r < L->ntop && top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		struct topblk t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void anomaly(struct leak *L, enum anomaly a, int32_t pid, uint64_t ts, uint64_t ptr,
		    uint32_t stack)
{
	L->anom[a]++;
	if (L->nex[a] < L->max_examples) {
		struct example *e = &L->ex[a][L->nex[a]++];
		e->pid = pid;
		e->ts = ts;
		e->ptr = ptr;
		e->stack = stack;
	}
}

/* ---- fragmentation ------------------------------------------------------------------------ */

struct fblk {
	uint64_t ptr, size;
	uint32_t stack;
	double retained;
	int sparse;
};

static int cmp_fblk(const void *a, const void *b)
{
	const struct fblk *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

struct pagepart {
	uint64_t page;
	uint64_t bytes;
	size_t blk;
};

/* The heap as it stands when an image ends: pages holding live blocks, the
 * share of them that is live, and the sparse pages' free bytes charged to
 * the blocks that pin them (see doc/analyzers.md). */
static int fragmentation(struct leak *L, struct fblk *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_fblk);
	const uint64_t ps = L->page_size;
	struct pagepart *pp = malloc(2 * n * sizeof *pp);
	if (!pp)
		return -1;
	size_t np = 0;
	uint64_t interior_pages = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = v[i].ptr, len = v[i].size ? v[i].size : 1;
		uint64_t e = a + len - 1 < a ? UINT64_MAX : a + len - 1;
		uint64_t fp = a / ps, lp = e / ps;
		if (fp == lp) {
			pp[np++] = (struct pagepart){fp, len, i};
		} else {
			pp[np++] = (struct pagepart){fp, (fp + 1) * ps - a, i};
			pp[np++] = (struct pagepart){lp, e - lp * ps + 1, i};
			interior_pages += lp - fp - 1;
		}
	}
	/* pages appear in ascending order except where blocks overlap (hostile
	 * input): sort the parts to be safe */
	for (size_t i = 1; i < np; i++) {
		if (pp[i].page < pp[i - 1].page) {
			/* rare: fall back to a stable insertion */
			struct pagepart t = pp[i];
			size_t j = i;
			while (j && pp[j - 1].page > t.page) {
				pp[j] = pp[j - 1];
				j--;
			}
			pp[j] = t;
		}
	}
	uint64_t touched = interior_pages, live = interior_pages * ps;
	for (size_t i = 0; i < np;) {
		size_t j = i;
		uint64_t inpage = 0;
		while (j < np && pp[j].page == pp[i].page) {
			inpage += pp[j].bytes;
			j++;
		}
		touched++;
		live += inpage < ps ? inpage : ps;
		if ((double)inpage < L->frag_max_fill * (double)ps && inpage) {
			double free_b = (double)(ps - inpage);
			for (size_t k = i; k < j; k++) {
				struct fblk *b = &v[pp[k].blk];
				b->retained += free_b * (double)pp[k].bytes / (double)inpage;
				b->sparse = 1;
			}
		}
		i = j;
	}
	L->frag_touched_bytes += touched * ps;
	L->frag_live_bytes += live;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].sparse)
			continue;
		struct site *s = site_of(L, v[i].stack);
		s->frag_blocks++;
		s->frag_live += v[i].size;
		s->frag_retained += v[i].retained;
	}
	free(pp);
	return 0;
}

/* ---- ending a process image ---------------------------------------------------------------- */

/* Index of a kernel call site (interned); UINT32_MAX when out of memory. */
static uint32_t kip_index(struct leak *L, uint64_t ip)
{
	if ((L->nkips + 1) * 2 > L->kipcap) {
		uint32_t nc = L->kipcap ? L->kipcap * 2 : 256;
		if (nc <= L->kipcap)
			return UINT32_MAX;
		uint32_t *nm = calloc(nc, sizeof *nm);
		if (!nm)
			return UINT32_MAX;
		for (uint32_t k = 0; k < L->nkips; k++) {
			uint32_t h = (uint32_t)hash_ptr(L->kips[k]) & (nc - 1);
			while (nm[h])
				h = (h + 1) & (nc - 1);
			nm[h] = k + 1;
		}
		free(L->kipmap);
		L->kipmap = nm;
		L->kipcap = nc;
	}
	uint32_t h = (uint32_t)hash_ptr(ip) & (L->kipcap - 1);
	while (L->kipmap[h]) {
		if (L->kips[L->kipmap[h] - 1] == ip)
			return L->kipmap[h] - 1;
		h = (h + 1) & (L->kipcap - 1);
	}
	if (L->nkips == L->capkips) {
		uint32_t nc = L->capkips ? L->capkips * 2 : 64;
		uint64_t *n = realloc(L->kips, nc * sizeof *n);
		if (!n)
			return UINT32_MAX;
		L->kips = n;
		L->capkips = nc;
	}
	L->kips[L->nkips] = ip;
	L->kipmap[h] = ++L->nkips;
	return L->nkips - 1;
}

/* Kernel objects still allocated at the end, by call site. */
static int kernel_end(struct leak *L, const struct mpa_image *k)
{
	uint64_t cur = 0;
	for (const struct mpa_block *o; (o = mpa_image_next_block(k, &cur));) {
		uint32_t ipx = kip_index(L, mpa_image_kernel_site(k, o->aux));
		uint64_t size = o->usable ? o->usable : o->size;
		if (ipx == UINT32_MAX ||
		    group_add(L, G_KERNEL, S_END, k, o->stack_id, ipx, size, o->ts, L->t1) < 0)
			return -1;
	}
	return 0;
}

static int program_block(const struct mpa_block *b)
{
	return !(b->flags & (MPA_BLK_TRACER | MPA_BLK_STARTUP));
}

/* An image ended (heap model): what it still held is classified. */
static int leak_image_end(void *state, const struct mpa_image *p)
{
	struct leak *L = state;
	if (p->kernel)
		return kernel_end(L, p);
	enum gstate st = p->how == MPA_IMAGE_EXEC ? S_EXEC
			 : p->how == MPA_IMAGE_CAPTURE_END ? S_END : S_EXIT;
	uint64_t ts = p->end_ts;
	uint8_t heapcls = st == S_END ? G_LIVE_AT_END : G_DEFINITE;
	struct fblk *fv = NULL;
	size_t nf = 0;
	if (p->live_blocks) {
		fv = malloc(p->live_blocks * sizeof *fv);
		if (!fv)
			return -1;
	}
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(p, &cur));) {
		if (!program_block(b)) {
			/* the tracer's own (the heap model's one rule): left out */
			L->tracer_blocks++;
			L->tracer_bytes += b->size;
			continue;
		}
		struct site *s = site_of(L, b->stack_id);
		if (st != S_END) {
			s->live_bytes -= (int64_t)b->size;
			s->live_blocks--;
		}
		/* exec replaces the whole address space: the blocks a child
		 * inherited from its parent and kept until exec are released */
		if (st == S_EXEC && (b->flags & MPA_BLK_INHERITED))
			continue;
		int32_t sp = suppression_of(L, b->stack_id);
		if (sp >= 0) {
			L->supps[sp].blocks++;
			L->supps[sp].bytes += b->size;
			L->supp_blocks++;
			L->supp_bytes += b->size;
			continue;
		}
		if (group_add(L, heapcls, (uint8_t)st, p, b->stack_id, 0, b->size, b->ts, ts) < 0) {
			free(fv);
			return -1;
		}
		struct topblk tb = {heapcls, (uint8_t)st, p->pid, p->path, b->stack_id,
				    b->ptr, b->size, b->ts, ts > b->ts ? ts - b->ts : 0};
		top_offer(L, &tb);
		if (st == S_END) {
			if (!s->end_blocks || b->ts < s->oldest_end)
				s->oldest_end = b->ts;
			s->end_bytes += b->size;
			s->end_blocks++;
		}
		if (nf < p->live_blocks)
			fv[nf++] = (struct fblk){b->ptr, b->size, b->stack_id, 0, 0};
	}
	int rc = fragmentation(L, fv, nf);
	free(fv);
	if (rc < 0)
		return -1;
	uint64_t nmaps, npools;
	const struct mpa_map *maps = mpa_image_maps(p, &nmaps);
	for (uint64_t i = 0; i < nmaps; i++) {
		const struct mpa_map *m = &maps[i];
		/* brk/sbrk growth is the malloc arena itself */
		if (m->api == MPA_API_BRK || m->api == MPA_API_SBRK)
			continue;
		if (st == S_EXEC && (m->flags & MPA_BLK_INHERITED))
			continue;
		if (suppression_of(L, m->stack_id) >= 0)
			continue;
		if (group_add(L, G_MAP, (uint8_t)st, p, m->stack_id, 0, m->len, m->ts, ts) < 0)
			return -1;
	}
	const struct mpa_pool *pools = mpa_image_pools(p, &npools);
	cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_pool_object(p, &cur));) {
		uint32_t name = 0;
		for (uint64_t i = 0; i < npools; i++)
			if (pools[i].id == b->aux)
				name = pools[i].name;
		if (group_add(L, G_POOL_OBJECT, (uint8_t)st, p, b->stack_id, name, b->size, b->ts, ts) < 0)
			return -1;
	}
	for (uint64_t i = 0; i < npools; i++) {
		const struct mpa_pool *po = &pools[i];
		uint64_t bytes = po->capacity && po->obj_size > UINT64_MAX / po->capacity
					 ? UINT64_MAX
					 : po->obj_size * po->capacity;
		if (group_add(L, G_POOL, (uint8_t)st, p, 0, po->name, bytes, po->ts, ts) < 0)
			return -1;
	}
	L->procs_seen++;
	if (st == S_EXIT)
		L->procs_exited++;
	else if (st == S_EXEC)
		L->procs_exec++;
	return 0;
}

/* A fork: the child's inherited copies are live blocks of their sites. */
static int leak_fork(void *state, const struct mpa_image *parent, const struct mpa_image *child)
{
	struct leak *L = state;
	(void)parent;
	uint64_t cur = 0;
	for (const struct mpa_block *b; (b = mpa_image_next_block(child, &cur));) {
		if (!program_block(b))
			continue;
		struct site *s = site_of(L, b->stack_id);
		s->live_bytes += (int64_t)b->size;
		s->live_blocks++;
	}
	return 0;
}

/* ---- events --------------------------------------------------------------------------------- */

static void window_tick(struct leak *L, uint64_t ts);

static void site_sub(struct leak *L, const struct mpa_block *b)
{
	if (!b || !program_block(b))
		return;
	struct site *s = site_of(L, b->stack_id);
	s->live_bytes -= (int64_t)b->size;
	s->live_blocks--;
}

static void row_anomaly(struct leak *L, const struct mpa_row *r)
{
	if (!r->anomaly || r->anomaly >= MPA_ANOM_COUNT_)
		return;
	const struct mpt_batch *b = r->b;
	anomaly(L, (enum anomaly)(r->anomaly - 1), b->pid[r->i], r->ts, r->dup && !r->old &&
		r->anomaly == MPA_ANOM_ALLOC_LIVE ? r->dup->ptr : b->ptr[r->i], b->stack_id[r->i]);
}

static int leak_on_row(void *state, const struct mpa_row *r)
{
	struct leak *L = state;
	const struct mpt_batch *b = r->b;
	uint32_t i = r->i;
	unsigned kind = r->kind;
	if (kind == MPA_KIND_KALLOC) {
		L->ev_kalloc++;
		return 0;
	}
	if (kind == MPA_KIND_KFREE) {
		L->ev_kfree++;
		if (b->ptr[i] && !r->old)
			L->kfree_unknown++; /* allocated before the capture, mostly */
		return 0;
	}
	if (b->domain[i] != MPA_DOMAIN_USER)
		return 0;
	if (r->ts >= L->next_boundary)
		window_tick(L, r->ts);
	switch (kind) {
	case MPA_KIND_ALLOC:
	case MPA_KIND_REALLOC:
		if (kind == MPA_KIND_REALLOC)
			L->ev_realloc++;
		else if (!r->failed)
			L->ev_alloc++;
		if (r->failed) {
			L->ev_failed++;
			return 0;
		}
		row_anomaly(L, r);
		site_sub(L, r->old);
		site_sub(L, r->dup);
		if (r->blk) {
			if (!program_block(r->blk))
				return 0;
			struct site *s = site_of(L, r->blk->stack_id);
			s->live_bytes += (int64_t)r->blk->size;
			s->live_blocks++;
			s->allocs++;
			s->alloc_bytes += r->blk->size;
		}
		return 0;
	case MPA_KIND_FREE:
		if (!b->ptr[i]) {
			L->ev_free_null++;
			return 0;
		}
		L->ev_free++;
		row_anomaly(L, r);
		site_sub(L, r->old);
		return 0;
	case MPA_KIND_MAP:
		if (b->api[i] != MPA_API_BRK && b->api[i] != MPA_API_SBRK)
			L->ev_map++;
		return 0;
	case MPA_KIND_UNMAP:
		if (b->api[i] != MPA_API_BRK && b->api[i] != MPA_API_SBRK)
			L->ev_unmap++;
		return 0;
	case MPA_KIND_POOL_CREATE:
	case MPA_KIND_POOL_ALLOC:
	case MPA_KIND_POOL_FREE:
		L->ev_pool++;
		row_anomaly(L, r);
		return 0;
	case MPA_KIND_POOL_DESTROY: {
		L->ev_pool++;
		if (!r->img)
			return 0;
		/* objects still taken from the pool were never returned */
		uint32_t id = b->pool_id[i], name = r->pool ? r->pool->name : 0;
		uint64_t cur = 0;
		for (const struct mpa_block *o; (o = mpa_image_next_pool_object(r->img, &cur));) {
			if (o->aux != id)
				continue;
			if (group_add(L, G_POOL_OBJECT, S_POOL_DESTROY, r->img, o->stack_id, name,
				      o->size, o->ts, r->ts) < 0)
				return -1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- growth windows --------------------------------------------------------------------------- */

static uint64_t boundary(const struct leak *L, uint32_t w)
{
	/* end of window w (exclusive) */
	long double span = (long double)(L->t1 - L->t0) + 1;
	return L->t0 + (uint64_t)(span * (w + 1) / L->nwin);
}

static int snapshot(struct leak *L, uint32_t w)
{
	for (uint32_t s = 0; s < L->nsites; s++) {
		struct site *st = &L->sites[s];
		if (!st->win) {
			if (st->live_bytes <= 0)
				continue;
			st->win = calloc(L->nwin, sizeof *st->win);
			if (!st->win)
				return -1;
		}
		st->win[w] = st->live_bytes > 0 ? (uint64_t)st->live_bytes : 0;
	}
	return 0;
}

static void window_tick(struct leak *L, uint64_t ts)
{
	while (L->widx < L->nwin - 1 && ts >= L->next_boundary) {
		if (snapshot(L, L->widx) < 0)
			L->snap_failed = 1;
		L->widx++;
		L->next_boundary = L->widx < L->nwin - 1 ? boundary(L, L->widx) : UINT64_MAX;
	}
	if (L->widx >= L->nwin - 1)
		L->next_boundary = UINT64_MAX;
}

/* ---- the interface ------------------------------------------------------------------------------ */

static void leak_release(void *state);

static int leak_begin(const struct mpa_ctx *ctx, void **state, char *err, size_t errlen)
{
	struct leak *L = calloc(1, sizeof *L);
	if (!L) {
		mpa_errf(err, errlen, "out of memory");
		return -1;
	}
	*state = L;
	L->ctx = ctx;
	const mpa_config *c = ctx->config;
	L->growth_min_age_s = mpa_config_float(c, "leak", "growth_min_age_s");
	L->growth_min_bytes = mpa_config_int(c, "leak", "growth_min_bytes");
	int64_t nwin = mpa_config_int(c, "leak", "growth_windows");
	L->growth_min_monotonic = mpa_config_float(c, "leak", "growth_min_monotonic");
	L->frag_max_fill = mpa_config_float(c, "leak", "frag_max_fill");
	L->frag_threshold = mpa_config_float(c, "alerts", "fragmentation_threshold");
	int64_t mex = mpa_config_int(c, "leak", "max_examples");
	int64_t topb = mpa_config_int(c, "leak", "top_blocks");
	int64_t tops = mpa_config_int(c, "leak", "top_sites");
	if (!(L->growth_min_age_s >= 0) || L->growth_min_age_s > 1e9) {
		mpa_errf(err, errlen, "[leak] growth_min_age_s must be between 0 and 1e9");
		goto fail;
	}
	if (L->growth_min_bytes < 0) {
		mpa_errf(err, errlen, "[leak] growth_min_bytes must not be negative");
		goto fail;
	}
	if (nwin < 2 || nwin > 1000) {
		mpa_errf(err, errlen, "[leak] growth_windows must be between 2 and 1000");
		goto fail;
	}
	if (!(L->growth_min_monotonic >= 0 && L->growth_min_monotonic <= 1)) {
		mpa_errf(err, errlen, "[leak] growth_min_monotonic must be between 0 and 1");
		goto fail;
	}
	if (!(L->frag_max_fill > 0 && L->frag_max_fill <= 1)) {
		mpa_errf(err, errlen, "[leak] frag_max_fill must be above 0 and at most 1");
		goto fail;
	}
	if (!(L->frag_threshold >= 0 && L->frag_threshold <= 1)) {
		mpa_errf(err, errlen, "[alerts] fragmentation_threshold must be between 0 and 1");
		goto fail;
	}
	if (mpa_config_int(c, "leak", "fail_on_leak") < -1) {
		mpa_errf(err, errlen, "[leak] fail_on_leak must be a byte count, or -1 (off)");
		goto fail;
	}
	if (mex < 0 || mex > 100000 || topb < 0 || topb > 1000000 || tops < 0 || tops > 1000) {
		mpa_errf(err, errlen,
		       "[leak] max_examples (0..100000), top_blocks (0..1000000) and top_sites (0..1000) out of range");
		goto fail;
	}
	L->nwin = (uint32_t)nwin;
	L->max_examples = (uint32_t)mex;
	L->top_n = (uint32_t)topb;
	L->top_sites = (uint32_t)tops;
	const struct mpt_topology *topo = ctx->reader ? mpt_reader_topology(ctx->reader) : NULL;
	L->page_size = topo && topo->page_size >= 512 && topo->page_size <= (1u << 30) &&
				       !(topo->page_size & (topo->page_size - 1))
			       ? topo->page_size
			       : 4096;

	/* sites: one per stack id */
	uint32_t ns = ctx->reader ? mpt_reader_stack_count(ctx->reader) : 0;
	L->nsites = ns + 1;
	L->sites = calloc(L->nsites, sizeof *L->sites);
	L->top = calloc(L->top_n ? L->top_n : 1, sizeof *L->top);
	if (!L->sites || !L->top)
		goto oom;
	for (uint32_t s = 0; s < L->nsites; s++)
		L->sites[s].supp = -2;
	for (int a = 0; a < A_NANOM; a++) {
		L->ex[a] = calloc(L->max_examples ? L->max_examples : 1, sizeof *L->ex[a]);
		if (!L->ex[a])
			goto oom;
	}

	/* suppressions: built-in first, then the user's */
	if (mpa_config_bool(c, "leak", "default_suppressions")) {
		for (size_t k = 0; k < sizeof builtin_supps / sizeof *builtin_supps; k++) {
			if (add_supp(L, builtin_supps[k].pattern, builtin_supps[k].site_only,
				     "builtin", builtin_supps[k].reason) < 0)
				goto oom;
		}
	}
	const char *uf = mpa_config_string(c, "leak", "suppressions");
	if (uf && *uf && load_supp_file(L, uf, err, errlen) < 0)
		goto fail;

	/* the analyzed span, from the chunk index and --from/--to */
	uint64_t lo = UINT64_MAX, hi = 0;
	uint32_t nch = ctx->reader ? mpt_reader_chunk_count(ctx->reader) : 0;
	for (uint32_t k = 0; k < nch; k++) {
		struct mpt_chunk_info ci;
		if (mpt_reader_chunk_info(ctx->reader, k, &ci) != MPT_OK || !ci.rows)
			continue;
		if (ci.ts_min < lo)
			lo = ci.ts_min;
		if (ci.ts_max > hi)
			hi = ci.ts_max;
	}
	if (lo > hi)
		lo = hi = 0;
	L->base = lo;
	if (ctx->ts_from > lo)
		lo = ctx->ts_from;
	if (ctx->ts_to && ctx->ts_to - 1 < hi)
		hi = ctx->ts_to - 1;
	if (hi < lo)
		hi = lo;
	L->t0 = lo;
	L->t1 = hi;
	L->next_boundary = boundary(L, 0);
	return 0;
oom:
	mpa_errf(err, errlen, "out of memory");
fail:
	leak_release(L);
	*state = NULL;
	return -1;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a;
	const struct group *y = *(const struct group *const *)b;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->image != y->image)
		return x->image < y->image ? -1 : 1;
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int leak_end(void *state, char *err, size_t errlen)
{
	struct leak *L = state;
	/* the remaining windows see the final state */
	while (L->widx < L->nwin) {
		if (snapshot(L, L->widx) < 0)
			goto oom;
		L->widx++;
	}
	if (L->snap_failed)
		goto oom;

	/* growth suspects */
	L->growth = malloc(L->nsites * sizeof *L->growth);
	L->growth_rate = malloc(L->nsites * sizeof *L->growth_rate);
	L->growth_mono = malloc(L->nsites * sizeof *L->growth_mono);
	if (!L->growth || !L->growth_rate || !L->growth_mono)
		goto oom;
	for (uint32_t s = 0; s < L->nsites; s++) {
		struct site *st = &L->sites[s];
		if (!st->win || !st->end_blocks)
			continue;
		uint64_t last = st->win[L->nwin - 1];
		if (st->end_bytes < (uint64_t)L->growth_min_bytes)
			continue;
		double age = (double)(L->t1 - st->oldest_end) / NS_PER_S;
		if (age < L->growth_min_age_s)
			continue;
		uint32_t first = 0;
		while (first < L->nwin && !st->win[first])
			first++;
		if (first >= L->nwin - 1 || last <= st->win[first])
			continue;
		uint32_t steps = L->nwin - 1 - first, up = 0;
		for (uint32_t w = first; w + 1 < L->nwin; w++)
			if (st->win[w + 1] >= st->win[w])
				up++;
		double mono = (double)up / steps;
		if (mono < L->growth_min_monotonic)
			continue;
		/* least-squares slope of live bytes over the window ends */
		double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
		for (uint32_t w = first; w < L->nwin; w++) {
			double x = (double)(boundary(L, w) - L->t0) / NS_PER_S;
			double y = (double)st->win[w];
			sx += x;
			sy += y;
			sxx += x * x;
			sxy += x * y;
			n++;
		}
		double den = n * sxx - sx * sx;
		double slope = den > 0 ? (n * sxy - sx * sy) / den : 0;
		L->growth[L->ngrowth] = s;
		L->growth_rate[L->ngrowth] = slope;
		L->growth_mono[L->ngrowth] = mono;
		L->ngrowth++;
		L->growth_bytes += st->end_bytes;
	}

	/* groups in output order */
	L->sorted = malloc((L->gused ? L->gused : 1) * sizeof *L->sorted);
	if (!L->sorted)
		goto oom;
	for (uint64_t k = 0; k < L->gcap; k++)
		if (L->groups[k].used) {
			struct group *g = &L->groups[k];
			L->sorted[L->nsorted++] = g;
			L->cls_blocks[g->cls] += g->blocks;
			L->cls_bytes[g->cls] += g->bytes;
			L->cls_groups[g->cls]++;
		}
	qsort(L->sorted, L->nsorted, sizeof *L->sorted, cmp_group);
	L->ended = 1;
	return 0;
oom:
	mpa_errf(err, errlen, "out of memory");
	return -1;
}

/* ---- emit ----------------------------------------------------------------------------------------- */

static const char *str(const struct leak *L, uint32_t id)
{
	const char *s = L->ctx->reader ? mpt_reader_string(L->ctx->reader, id, NULL) : NULL;
	return s ? s : "";
}

/* Times in outputs: ns since the capture's first event. */
static uint64_t rel(const struct leak *L, uint64_t ts)
{
	return ts > L->base ? ts - L->base : 0;
}

static json_t *stack_json(const struct leak *L, uint32_t stack)
{
	json_t *a = json_array();
	uint32_t n = 0;
	const mpt_reader *r = L->ctx->reader;
	const uint32_t *fr = r ? mpt_reader_stack(r, stack, &n) : NULL;
	for (uint32_t i = 0; a && fr && i < n; i++) {
		const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
		if (!f)
			continue;
		char buf[700], where[300];
		const char *func = mpt_reader_string(r, f->func, NULL);
		const char *file = mpt_reader_string(r, f->file, NULL);
		const char *bin = mpt_reader_string(r, f->bin, NULL);
		if (file && *file && f->line)
			snprintf(where, sizeof where, " (%s:%" PRIu32 ")", file, f->line);
		else if (file && *file)
			snprintf(where, sizeof where, " (%s)", file);
		else
			where[0] = 0;
		snprintf(buf, sizeof buf, "%s%s [%s+0x%" PRIx64 "]", func && *func ? func : "??",
			 where, bin && *bin ? bin : "?", bin && *bin ? f->bin_off : f->ip);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static const struct mpa_col group_cols[] = {
	{"class", MPA_COL_STR, ""},          {"state", MPA_COL_STR, ""},
	{"image", MPA_COL_STR, ""},          {"site", MPA_COL_STR, ""},
	{"stack_id", MPA_COL_U64, "id"},     {"pool", MPA_COL_STR, ""},
	{"blocks", MPA_COL_U64, "count"},    {"bytes", MPA_COL_U64, "bytes"},
	{"first_alloc_ns", MPA_COL_U64, "ns"}, {"last_alloc_ns", MPA_COL_U64, "ns"},
	{"max_age_ns", MPA_COL_U64, "ns"},   {"processes", MPA_COL_U64, "count"},
};
static const struct mpa_table_decl sites_table = {"sites", "sites", group_cols,
						  MPA_NCOLS(group_cols)};
static const struct mpa_table_decl resources_table = {"resources", "resources", group_cols,
						      MPA_NCOLS(group_cols)};
static const struct mpa_table_decl kernel_table = {"kernel", "kernel", group_cols,
						   MPA_NCOLS(group_cols)};

static int emit_groups(struct leak *L, mpa_out *out, uint8_t lo, uint8_t hi,
		       const struct mpa_table_decl *decl)
{
	mpa_table *t = mpa_table_begin(out, decl);
	if (!t)
		return -1;
	for (uint64_t k = 0; k < L->nsorted; k++) {
		const struct group *g = L->sorted[k];
		if (g->cls < lo || g->cls > hi)
			continue;
		char site[512];
		if (g->cls == G_POOL) {
			snprintf(site, sizeof site, "pool %s", str(L, g->name));
		} else if (g->cls == G_KERNEL) {
			/* the call site, and the stack's site when there is one */
			uint64_t ip = g->name < L->nkips ? L->kips[g->name] : 0;
			char st[400];
			if (g->stack) {
				mpa_site_name(L->ctx, g->stack, st, sizeof st);
				snprintf(site, sizeof site, "%s [call_site 0x%" PRIx64 "]", st, ip);
			} else {
				snprintf(site, sizeof site, "0x%" PRIx64, ip);
			}
		} else {
			mpa_site_name(L->ctx, g->stack, site, sizeof site);
		}
		mpa_table_str(t, gclass_name[g->cls]);
		mpa_table_str(t, gstate_name[g->state]);
		mpa_table_str(t, str(L, g->image));
		mpa_table_str(t, site);
		mpa_table_u64(t, g->stack);
		mpa_table_str(t, g->cls == G_POOL_OBJECT || g->cls == G_POOL ? str(L, g->name) : "");
		mpa_table_u64(t, g->blocks);
		mpa_table_u64(t, g->bytes);
		mpa_table_u64(t, rel(L, g->first_ts));
		mpa_table_u64(t, rel(L, g->last_ts));
		mpa_table_u64(t, g->max_age);
		mpa_table_u64(t, g->procs);
		mpa_table_json(t, "stack", stack_json(L, g->stack));
		if (mpa_table_end_row(t) < 0)
			return -1;
	}
	return mpa_table_close(t);
}

static int cmp_top(const void *a, const void *b)
{
	const struct topblk *x = a, *y = b;
	/* largest first, then the usual deterministic order */
	if (top_less(x, y))
		return 1;
	if (top_less(y, x))
		return -1;
	return 0;
}

static int cmp_growth_idx(const void *a, const void *b, void *arg)
{
	const struct leak *L = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t bx = L->sites[L->growth[x]].end_bytes, by = L->sites[L->growth[y]].end_bytes;
	if (bx != by)
		return bx > by ? -1 : 1;
	return L->growth[x] < L->growth[y] ? -1 : L->growth[x] > L->growth[y];
}

static int cmp_frag(const void *a, const void *b, void *arg)
{
	const struct leak *L = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	double rx = L->sites[x].frag_retained, ry = L->sites[y].frag_retained;
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x < y ? -1 : x > y;
}

static json_t *cls_json(const struct leak *L, int c)
{
	return json_pack("{s:I, s:I, s:I}", "blocks", (json_int_t)L->cls_blocks[c], "bytes",
			 (json_int_t)L->cls_bytes[c], "sites", (json_int_t)L->cls_groups[c]);
}

/* "site @ image #stack": the stack id tells apart sites of the same name. */
static void plot_label(struct leak *L, mpa_plot *p, const struct group *g, uint32_t y)
{
	char site[512], lab[700];
	mpa_site_name(L->ctx, g->stack, site, sizeof site);
	snprintf(lab, sizeof lab, "%s%s%s #%" PRIu32, site, g->image ? " @ " : "",
		 g->image ? str(L, g->image) : "", g->stack);
	mpa_plot_label(p, y, (double)g->bytes, lab);
}

static int leak_emit(void *state, mpa_out *out, char *err, size_t errlen)
{
	struct leak *L = state;
	json_t *doc = mpa_out_json(out), *sum = mpa_out_summary(out);
	char site[512];

	/* sites: definite and live at end */
	if (emit_groups(L, out, G_DEFINITE, G_LIVE_AT_END, &sites_table) < 0 ||
	    emit_groups(L, out, G_MAP, G_POOL, &resources_table) < 0 ||
	    emit_groups(L, out, G_KERNEL, G_KERNEL, &kernel_table) < 0)
		goto fail;

	/* largest blocks */
	{
		static const struct mpa_col cols[] = {
			{"class", MPA_COL_STR, ""},    {"state", MPA_COL_STR, ""},
			{"pid", MPA_COL_I64, "pid"},   {"image", MPA_COL_STR, ""},
			{"ptr", MPA_COL_STR, "address"}, {"size", MPA_COL_U64, "bytes"},
			{"alloc_ns", MPA_COL_U64, "ns"}, {"age_ns", MPA_COL_U64, "ns"},
			{"site", MPA_COL_STR, ""},     {"stack_id", MPA_COL_U64, "id"},
		};
		static const struct mpa_table_decl decl = {"blocks", "top_blocks", cols,
							   MPA_NCOLS(cols)};
		qsort(L->top, L->ntop, sizeof *L->top, cmp_top);
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!t)
			goto fail;
		for (uint32_t k = 0; k < L->ntop; k++) {
			const struct topblk *b = &L->top[k];
			char ptr[32];
			snprintf(ptr, sizeof ptr, "0x%" PRIx64, b->ptr);
			mpa_site_name(L->ctx, b->stack, site, sizeof site);
			mpa_table_str(t, gclass_name[b->cls]);
			mpa_table_str(t, gstate_name[b->state]);
			mpa_table_i64(t, b->pid);
			mpa_table_str(t, str(L, b->image));
			mpa_table_str(t, ptr);
			mpa_table_u64(t, b->size);
			mpa_table_u64(t, rel(L, b->ts));
			mpa_table_u64(t, b->age);
			mpa_table_str(t, site);
			mpa_table_u64(t, b->stack);
			if (mpa_table_end_row(t) < 0)
				goto fail;
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* growth suspects */
	{
		static const struct mpa_col cols[] = {
			{"site", MPA_COL_STR, ""},
			{"stack_id", MPA_COL_U64, "id"},
			{"live_bytes", MPA_COL_U64, "bytes"},
			{"live_blocks", MPA_COL_U64, "count"},
			{"oldest_age_ns", MPA_COL_U64, "ns"},
			{"growth_bytes_per_s", MPA_COL_F64, "bytes/s"},
			{"monotonic_fraction", MPA_COL_F64, "fraction"},
			{"allocs", MPA_COL_U64, "count"},
			{"alloc_bytes", MPA_COL_U64, "bytes"},
		};
		static const struct mpa_table_decl decl = {"growth", "growth", cols, MPA_NCOLS(cols)};
		uint32_t *idx = malloc((L->ngrowth ? L->ngrowth : 1) * sizeof *idx);
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!idx || !t) {
			free(idx);
			goto fail;
		}
		for (uint32_t k = 0; k < L->ngrowth; k++)
			idx[k] = k;
		qsort_r(idx, L->ngrowth, sizeof *idx, cmp_growth_idx, L);
		for (uint32_t k = 0; k < L->ngrowth; k++) {
			uint32_t s = L->growth[idx[k]];
			const struct site *st = &L->sites[s];
			mpa_site_name(L->ctx, s, site, sizeof site);
			uint64_t age = L->t1 - st->oldest_end;
			mpa_table_str(t, site);
			mpa_table_u64(t, s);
			mpa_table_u64(t, st->end_bytes);
			mpa_table_u64(t, st->end_blocks);
			mpa_table_u64(t, age);
			mpa_table_f64(t, L->growth_rate[idx[k]]);
			mpa_table_f64(t, L->growth_mono[idx[k]]);
			mpa_table_u64(t, st->allocs);
			mpa_table_u64(t, st->alloc_bytes);
			json_t *w = json_array();
			for (uint32_t i = 0; w && i < L->nwin; i++)
				json_array_append_new(w, json_integer((json_int_t)st->win[i]));
			mpa_table_json(t, "window_live_bytes", w);
			mpa_table_json(t, "stack", stack_json(L, s));
			if (mpa_table_end_row(t) < 0) {
				free(idx);
				goto fail;
			}
		}
		free(idx);
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* fragmentation */
	uint64_t frag_blocks = 0;
	double frag_retained = 0;
	{
		static const char *const h[] = {"site", "stack_id", "blocks", "live_bytes",
						"retained_bytes"};
		uint32_t *idx = malloc(L->nsites * sizeof *idx);
		uint32_t n = 0;
		mpa_table *t = mpa_table_open(out, "fragmentation", 5, h);
		json_t *arr = json_array();
		if (!idx || !t || !arr) {
			free(idx);
			goto fail;
		}
		for (uint32_t s = 0; s < L->nsites; s++)
			if (L->sites[s].frag_blocks)
				idx[n++] = s;
		qsort_r(idx, n, sizeof *idx, cmp_frag, L);
		for (uint32_t k = 0; k < n; k++) {
			const struct site *st = &L->sites[idx[k]];
			frag_blocks += st->frag_blocks;
			frag_retained += st->frag_retained;
			mpa_site_name(L->ctx, idx[k], site, sizeof site);
			uint64_t ret = (uint64_t)llround(st->frag_retained);
			mpa_table_str(t, site);
			mpa_table_u64(t, idx[k]);
			mpa_table_u64(t, st->frag_blocks);
			mpa_table_u64(t, st->frag_live);
			mpa_table_u64(t, ret);
			if (mpa_table_end_row(t) < 0) {
				free(idx);
				goto fail;
			}
			json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:I}", "site", site,
							     "stack_id", (json_int_t)idx[k], "blocks",
							     (json_int_t)st->frag_blocks, "live_bytes",
							     (json_int_t)st->frag_live, "retained_bytes",
							     (json_int_t)ret));
		}
		free(idx);
		double ratio = L->frag_touched_bytes
				       ? 1.0 - (double)L->frag_live_bytes / (double)L->frag_touched_bytes
				       : 0.0;
		json_object_set_new(doc, "fragmentation",
				    json_pack("{s:I, s:I, s:I, s:I, s:f, s:o}", "page_size",
					      (json_int_t)L->page_size, "pages_bytes",
					      (json_int_t)L->frag_touched_bytes, "live_bytes",
					      (json_int_t)L->frag_live_bytes, "retained_bytes",
					      (json_int_t)llround(frag_retained), "ratio", ratio,
					      "sites", arr));
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* suppressions */
	{
		static const struct mpa_col cols[] = {
			{"pattern", MPA_COL_STR, ""}, {"scope", MPA_COL_STR, ""},
			{"source", MPA_COL_STR, ""},  {"reason", MPA_COL_STR, ""},
			{"blocks", MPA_COL_U64, "count"}, {"bytes", MPA_COL_U64, "bytes"},
		};
		static const struct mpa_table_decl decl = {"suppressions", "suppressions", cols,
							   MPA_NCOLS(cols)};
		mpa_table *t = mpa_table_begin(out, &decl);
		if (!t)
			goto fail;
		for (size_t k = 0; k < L->nsupps; k++) {
			const struct supp *s = &L->supps[k];
			const char *scope = s->site_only == 3   ? "all-frames"
					    : s->site_only	 ? "site"
								 : "stack";
			mpa_table_str(t, s->pattern);
			mpa_table_str(t, scope);
			mpa_table_str(t, s->source);
			mpa_table_str(t, s->reason);
			mpa_table_u64(t, s->blocks);
			mpa_table_u64(t, s->bytes);
			if (mpa_table_end_row(t) < 0)
				goto fail;
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* anomalies */
	json_t *an_sum = json_object();
	{
		static const char *const h[] = {"type", "pid", "ts_ns", "ptr", "site", "stack_id"};
		mpa_table *t = mpa_table_open(out, "anomalies", 6, h);
		json_t *obj = json_object();
		if (!t || !obj || !an_sum)
			goto fail;
		json_object_set_new(doc, "anomalies", obj);
		for (int a = 0; a < A_NANOM; a++) {
			json_t *ex = json_array();
			for (uint32_t k = 0; k < L->nex[a]; k++) {
				const struct example *e = &L->ex[a][k];
				char ptr[32];
				snprintf(ptr, sizeof ptr, "0x%" PRIx64, e->ptr);
				mpa_site_name(L->ctx, e->stack, site, sizeof site);
				mpa_table_str(t, anomaly_name[a]);
				mpa_table_i64(t, e->pid);
				mpa_table_u64(t, rel(L, e->ts));
				mpa_table_str(t, ptr);
				mpa_table_str(t, site);
				mpa_table_u64(t, e->stack);
				if (mpa_table_end_row(t) < 0)
					goto fail;
				json_array_append_new(ex, json_pack("{s:i, s:I, s:s, s:s, s:I}", "pid",
								    (int)e->pid, "ts_ns",
								    (json_int_t)rel(L, e->ts), "ptr", ptr,
								    "site", site, "stack_id",
								    (json_int_t)e->stack));
			}
			json_object_set_new(obj, anomaly_name[a],
					    json_pack("{s:I, s:o}", "count", (json_int_t)L->anom[a],
						      "examples", ex));
			json_object_set_new(an_sum, anomaly_name[a], json_integer((json_int_t)L->anom[a]));
		}
		if (mpa_table_close(t) < 0)
			goto fail;
	}

	/* the top-sites plot: definite and live-at-end sites by bytes */
	{
		mpa_plot *p = mpa_plot_open(out, "top_sites", "Unfreed bytes by allocation site",
					    "bytes", "", MPA_PLOT_HBARS);
		if (!p)
			goto fail;
		uint32_t shown = 0;
		for (uint64_t k = 0; k < L->nsorted && shown < L->top_sites; k++) {
			const struct group *g = L->sorted[k];
			if (g->cls != G_DEFINITE)
				continue;
			if (!shown)
				mpa_plot_series(p, "definite");
			plot_label(L, p, g, shown++);
		}
		uint32_t s2 = 0;
		for (uint64_t k = 0; k < L->nsorted && shown < L->top_sites; k++) {
			const struct group *g = L->sorted[k];
			if (g->cls != G_LIVE_AT_END)
				continue;
			if (!s2++)
				mpa_plot_series(p, "live at capture end");
			plot_label(L, p, g, shown++);
		}
		if (mpa_plot_close(p) < 0)
			goto fail;
	}

	/* the summary, also the head of leak.json */
	double ratio = L->frag_touched_bytes
			       ? 1.0 - (double)L->frag_live_bytes / (double)L->frag_touched_bytes
			       : 0.0;
	json_t *alerts = json_array();
	if (L->cls_bytes[G_DEFINITE]) {
		char msg[256];
		snprintf(msg, sizeof msg, "%" PRIu64 " bytes in %" PRIu64
			 " blocks definitely lost (process exited or exec'd with them allocated)",
			 L->cls_bytes[G_DEFINITE], L->cls_blocks[G_DEFINITE]);
		json_array_append_new(alerts, json_pack("{s:s, s:I, s:s}", "name", "definite_leak",
							"value", (json_int_t)L->cls_bytes[G_DEFINITE],
							"message", msg));
	}
	if (L->frag_touched_bytes && ratio > L->frag_threshold) {
		char msg[256], r1[32], r2[32];
		snprintf(r1, sizeof r1, "%.4f", ratio);
		snprintf(r2, sizeof r2, "%.4f", L->frag_threshold);
		snprintf(msg, sizeof msg,
			 "heap fragmentation ratio %s at process end is above the threshold %s", r1, r2);
		json_array_append_new(alerts, json_pack("{s:s, s:f, s:f, s:s}", "name",
							"fragmentation", "value", ratio, "threshold",
							L->frag_threshold, "message", msg));
	}
	if (L->ngrowth) {
		char msg[256];
		snprintf(msg, sizeof msg, "%" PRIu32 " allocation sites keep growing (%" PRIu64
			 " live bytes at the end)", L->ngrowth, L->growth_bytes);
		json_array_append_new(alerts, json_pack("{s:s, s:I, s:s}", "name", "growth",
							"value", (json_int_t)L->growth_bytes,
							"message", msg));
	}
	json_t *top = json_array();
	uint32_t shown = 0;
	for (uint64_t k = 0; top && k < L->nsorted && shown < 5; k++) {
		const struct group *g = L->sorted[k];
		if (g->cls != G_DEFINITE)
			continue;
		mpa_site_name(L->ctx, g->stack, site, sizeof site);
		json_array_append_new(top, json_pack("{s:s, s:s, s:I, s:I}", "site", site, "image",
						     str(L, g->image), "bytes", (json_int_t)g->bytes,
						     "blocks", (json_int_t)g->blocks));
		shown++;
	}
	json_t *s = json_pack(
		"{s:o, s:o, s:{s:I, s:I}, s:{s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}},"
		" s:{s:I, s:I, s:f}, s:{s:I, s:I}, s:{s:I, s:I}, s:o, s:{s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:o, s:o, s:I}",
		"definite", cls_json(L, G_DEFINITE), "live_at_end", cls_json(L, G_LIVE_AT_END),
		"growth", "sites", (json_int_t)L->ngrowth, "live_bytes", (json_int_t)L->growth_bytes,
		"resource", "maps", "count", (json_int_t)L->cls_blocks[G_MAP], "bytes",
		(json_int_t)L->cls_bytes[G_MAP], "pool_objects", "count",
		(json_int_t)L->cls_blocks[G_POOL_OBJECT], "bytes",
		(json_int_t)L->cls_bytes[G_POOL_OBJECT], "pools", "count",
		(json_int_t)L->cls_blocks[G_POOL], "bytes", (json_int_t)L->cls_bytes[G_POOL],
		"fragmentation", "blocks", (json_int_t)frag_blocks, "retained_bytes",
		(json_int_t)llround(frag_retained), "ratio", ratio, "suppressed", "blocks",
		(json_int_t)L->supp_blocks, "bytes", (json_int_t)L->supp_bytes, "tracer", "blocks",
		(json_int_t)L->tracer_blocks, "bytes", (json_int_t)L->tracer_bytes, "anomalies", an_sum,
		"processes", "seen", (json_int_t)L->procs_seen, "exited",
		(json_int_t)L->procs_exited, "exec", (json_int_t)L->procs_exec, "events", "alloc",
		(json_int_t)L->ev_alloc, "free", (json_int_t)L->ev_free, "realloc",
		(json_int_t)L->ev_realloc, "failed", (json_int_t)L->ev_failed, "free_null",
		(json_int_t)L->ev_free_null, "map", (json_int_t)L->ev_map, "unmap",
		(json_int_t)L->ev_unmap, "pool", (json_int_t)L->ev_pool, "incomplete",
		L->ctx->incomplete, "alerts", alerts, "top_definite_sites", top, "lost_events",
		(json_int_t)L->ctx->lost_events);
	if (!s)
		goto fail;
	json_object_set_new(s, "kernel",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "blocks",
				      (json_int_t)L->cls_blocks[G_KERNEL], "bytes",
				      (json_int_t)L->cls_bytes[G_KERNEL], "sites",
				      (json_int_t)L->cls_groups[G_KERNEL], "kalloc",
				      (json_int_t)L->ev_kalloc, "kfree", (json_int_t)L->ev_kfree,
				      "kfree_unknown", (json_int_t)L->kfree_unknown));
	if (json_object_update(sum, s) < 0 || json_object_set(doc, "summary", s) < 0) {
		json_decref(s);
		goto fail;
	}
	json_decref(s);
	json_object_set_new(doc, "growth_params",
			    json_pack("{s:f, s:I, s:I, s:f, s:I, s:I}", "min_age_s",
				      L->growth_min_age_s, "min_bytes",
				      (json_int_t)L->growth_min_bytes, "windows", (json_int_t)L->nwin,
				      "min_monotonic", L->growth_min_monotonic, "span_from_ns",
				      (json_int_t)rel(L, L->t0), "span_to_ns",
				      (json_int_t)rel(L, L->t1)));
	return 0;
fail:
	mpa_errf(err, errlen, "%s", mpa_out_error(out));
	return -1;
}

static void leak_release(void *state)
{
	struct leak *L = state;
	if (!L)
		return;
	if (L->sites)
		for (uint32_t s = 0; s < L->nsites; s++)
			free(L->sites[s].win);
	free(L->sites);
	for (size_t k = 0; k < L->nsupps; k++) {
		free(L->supps[k].pattern);
		free(L->supps[k].source);
	}
	free(L->supps);
	free(L->groups);
	free(L->kips);
	free(L->kipmap);
	free(L->top);
	for (int a = 0; a < A_NANOM; a++)
		free(L->ex[a]);
	free(L->growth);
	free(L->growth_rate);
	free(L->growth_mono);
	free(L->sorted);
	free(L);
}

/* The CI gate: [leak] fail_on_leak (--fail-on-leak). */
static int leak_gate(void *state, char *line, size_t len)
{
	struct leak *L = state;
	int64_t gate = mpa_config_int(L->ctx->config, "leak", "fail_on_leak");
	if (gate < 0 || L->cls_bytes[G_DEFINITE] <= (uint64_t)gate)
		return 0;
	snprintf(line, len,
		 "leak gate: %" PRIu64 " bytes in %" PRIu64 " blocks definitely lost (limit %" PRId64 ")",
		 L->cls_bytes[G_DEFINITE], L->cls_blocks[G_DEFINITE], gate);
	return 1;
}

static void leak_headline(void *state, char *line, size_t len)
{
	struct leak *L = state;
	snprintf(line, len,
		 "%" PRIu64 " bytes in %" PRIu64 " blocks definitely lost; %" PRIu64
		 " bytes in %" PRIu64 " blocks live at capture end",
		 L->cls_bytes[G_DEFINITE], L->cls_blocks[G_DEFINITE], L->cls_bytes[G_LIVE_AT_END],
		 L->cls_blocks[G_LIVE_AT_END]);
}

static const struct mpa_cli_flag leak_flags[] = {
	{"suppressions", "FILE", "leak", "suppressions",
	 "leak suppressions ('leak:PATTERN' / 'leak-site:PATTERN' lines)"},
	{"fail-on-leak", "BYTES", "leak", "fail_on_leak",
	 "exit 3 when more than BYTES bytes are definitely lost"},
	{NULL, NULL, NULL, NULL, NULL}
};

const struct mpa_analyzer mpa_analyzer_leak = {
	.name = "leak",
	.summary = "blocks never freed (definite / live at end), growth suspects, unreleased "
		   "maps and pools, fragmentation-retained blocks, anomalies",
	.kinds = MPT_KINDBIT(MPA_KIND_ALLOC) | MPT_KINDBIT(MPA_KIND_FREE) |
		 MPT_KINDBIT(MPA_KIND_REALLOC) | MPT_KINDBIT(MPA_KIND_MAP) |
		 MPT_KINDBIT(MPA_KIND_UNMAP) | MPT_KINDBIT(MPA_KIND_POOL_CREATE) |
		 MPT_KINDBIT(MPA_KIND_POOL_ALLOC) | MPT_KINDBIT(MPA_KIND_POOL_FREE) |
		 MPT_KINDBIT(MPA_KIND_POOL_DESTROY) | MPT_KINDBIT(MPA_KIND_PROC_EXEC) |
		 MPT_KINDBIT(MPA_KIND_PROC_EXIT) | MPT_KINDBIT(MPA_KIND_KALLOC) |
		 MPT_KINDBIT(MPA_KIND_KFREE),
	.columns = MPT_COLBIT(MPT_COL_KIND) | MPT_COLBIT(MPT_COL_TS) | MPT_COLBIT(MPT_COL_PID) |
		   MPT_COLBIT(MPT_COL_DOMAIN) | MPT_COLBIT(MPT_COL_FLAGS) |
		   MPT_COLBIT(MPT_COL_PTR) | MPT_COLBIT(MPT_COL_NEW_PTR) |
		   MPT_COLBIT(MPT_COL_SIZE) | MPT_COLBIT(MPT_COL_USABLE) | MPT_COLBIT(MPT_COL_API) |
		   MPT_COLBIT(MPT_COL_STACK_ID) | MPT_COLBIT(MPT_COL_POOL_ID) |
		   MPT_COLBIT(MPT_COL_STR_ID) | MPT_COLBIT(MPT_COL_IP) | MPT_COLBIT(MPT_COL_ORDER),
	.options = leak_options,
	.flags = leak_flags,
	.enable_section = "alerts",
	.enable_key = "leak_detection_enabled",
	.begin = leak_begin,
	.on_row = leak_on_row,
	.on_image_end = leak_image_end,
	.on_fork = leak_fork,
	.end = leak_end,
	.gate = leak_gate,
	.headline = leak_headline,
	.emit = leak_emit,
	.release = leak_release,
};
