/* mpa analysis core — sites: the frame classifier and the site names (rules
 * and their reasons: sites.h). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sites.h"

/* libstdc++'s demangler, the Itanium C++ ABI's __cxa_demangle (declared in
 * <cxxabi.h>, a C++ header; the symbol has C linkage). */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* Bounds on what a hostile capture can make us build or scan. */
enum {
	DEMANGLE_MAX = 4096,  /* longer mangled names are shown as they are */
	FUNC_MAX = 2048,      /* bytes of a function in a name */
	FILE_MAX = 512,       /* bytes of a source file in a name (the tail is kept) */
	BIN_MAX = 256,        /* bytes of a binary's base name */
	PATH_MAX_JSON = 1024, /* bytes of a binary's path in the JSON (the tail is kept) */
	BASE_SCAN = 4096,     /* bytes scanned back for a '/' */
	NAME_CAP = FUNC_MAX + FILE_MAX + 64
};

#define ELLIPSIS "\xe2\x80\xa6"     /* U+2026 */
#define REPLACEMENT "\xef\xbf\xbd"  /* U+FFFD */

/* ---- the object ------------------------------------------------------------------ */

/* Per frame byte: the public class in bits 0-3, and in bits 4-5 what the
 * frame's binary makes of it for the tracer rule. */
enum tr_role { TR_SKIP = 0, TR_TRACER, TR_DEP, TR_PROGRAM };
#define CLS(b) ((enum mpa_frame_class)((b) & 0x0f))
#define ROLE(b) ((enum tr_role)(((b) >> 4) & 3))

struct mpa_sites {
	const mpt_reader *r;      /* (weak) */
	uint32_t nframes;         /* frame ids 1..nframes */
	uint32_t nstacks;         /* stack ids 1..nstacks */
	uint8_t *fclass;          /* [nframes + 1] class | role << 4 (owned) */
	int32_t *site;            /* [nstacks + 1] site frame index, -1 none (owned) */
	uint8_t *tracer;          /* [nstacks + 1] 1 = the tracer's (owned) */
	const char *alloc_fns;    /* the user's allocation functions, during create (weak) */
	uint32_t stacks_known;    /* stacks with at least one frame */
	uint32_t stacks_shallow;  /* of them, at most one frame besides the tracer's */
	uint32_t nstrings;        /* string ids 0..nstrings-1 */
	_Atomic(char *) *fname;   /* [nframes + 1] names filled on demand (owned, each owned) */
	_Atomic(char *) *ftext;   /* [nstrings] functions' display text, filled on demand:
				   * 'D' (demangled) or 'R' (as recorded), then the text
				   * (owned, each owned) */
};

const char *mpa_frame_class_name(enum mpa_frame_class c)
{
	switch (c) {
	case MPA_FRAME_PROGRAM: return "program";
	case MPA_FRAME_ALLOCATOR: return "allocator";
	case MPA_FRAME_RUNTIME: return "runtime";
	case MPA_FRAME_TRACER: return "tracer";
	case MPA_FRAME_PASSTHROUGH: return "passthrough";
	case MPA_FRAME_TRACER_DEP: return "tracer_dep";
	case MPA_FRAME_UNRESOLVED: return "unresolved";
	}
	return "?";
}

/* ---- classification ---------------------------------------------------------------- */

/* Binary kinds, by base-name prefix, in the order they are tested. */
enum bin_kind { BK_NONE = 1, BK_RUNTIME, BK_PRELOAD, BK_UST_DL, BK_TRACER, BK_DEP, BK_OTHER };

static const char *const runtime_bins[] = {
	"libc.so", "libc-", "ld-linux", "ld64.so", "libgcc_s", "libstdc++", "libpthread",
	"libdl.so", "libdl-", "librt", "libm.so", "libm-", NULL,
};
static const char *const tracer_bins[] = {"liblttng-ust", "libheaptrack", "vgpreload_", NULL};
static const char *const tracer_deps[] = {"libnuma", NULL};

static const char *const preload_passthrough[] = {
	"thread_tramp", "main_hook", "__libc_start_main", "pthread_create", "exit",
	"_exit", "_Exit", NULL,
};
static const char *const ust_dl_passthrough[] = {"dlopen", "dlmopen", "dlclose", NULL};

static const char *const alloc_funcs[] = {
	"malloc", "calloc", "realloc", "free", "reallocarray", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "cfree",
	"__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free", "__libc_memalign",
	"__libc_valloc", "__libc_pvalloc", "__posix_memalign", "__libc_reallocarray",
	"strdup", "strndup", "__strdup", "__strndup", "wcsdup",
	/* the checked wrappers of GNU programs (gnulib: bash, coreutils, gcc),
	 * git's, and glib's */
	"xmalloc", "xcalloc", "xzalloc", "xrealloc", "xstrdup", "xstrndup", "xmemdup",
	"xcharalloc", "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc", "xreallocarray",
	"ximalloc", "xicalloc", "xizalloc", "xirealloc", "ximemdup", "ximemdup0",
	"xmallocz", "xmemdupz",
	"g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0",
	"g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_try_malloc_n",
	"g_try_malloc0_n", "g_try_realloc_n", "g_strdup", "g_strndup", "g_memdup",
	"g_memdup2", "g_slice_alloc", "g_slice_alloc0",
	/* perl's and CPython's allocation entry points: their callers are the
	 * interpreter code that wanted the memory */
	"Perl_safesysmalloc", "Perl_safesyscalloc", "Perl_safesysrealloc", "Perl_savepv",
	"Perl_savepvn", "Perl_savesharedpv", "Perl_savesharedpvn",
	"PyMem_RawMalloc", "PyMem_RawCalloc", "PyMem_RawRealloc", "PyMem_Malloc",
	"PyMem_Calloc", "PyMem_Realloc", "PyObject_Malloc", "PyObject_Calloc",
	"PyObject_Realloc", "_PyMem_RawMalloc", "_PyMem_RawCalloc", "_PyMem_RawRealloc",
	"_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyMem_DebugRawAlloc",
	"_PyMem_DebugRawMalloc", "_PyMem_DebugRawCalloc", "_PyMem_DebugRawRealloc",
	"_PyMem_DebugMalloc", "_PyMem_DebugCalloc", "_PyMem_DebugRealloc",
	"pymalloc_alloc", "pymalloc_realloc", "_PyObject_GC_Alloc", "_PyObject_GC_Malloc",
	"gc_alloc",
	NULL
};

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static int prefix_in(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (has_prefix(s, *prefixes))
			return 1;
	return 0;
}

/* Whether fn[0, len) is one of names. */
static int name_in(const char *fn, size_t len, const char *const *names)
{
	if (!len)
		return 0;
	for (; *names; names++)
		if (**names == *fn && strlen(*names) == len && !memcmp(fn, *names, len))
			return 1;
	return 0;
}

/* The base name of a path (after its last '/').  Only the last BASE_SCAN
 * bytes are searched, so a hostile path costs a bounded scan. */
static const char *base_name(const char *p, size_t len, size_t *blen)
{
	size_t from = len > BASE_SCAN ? len - BASE_SCAN : 0;
	const char *s = memrchr(p + from, '/', len - from);
	const char *b = s ? s + 1 : p + from;
	*blen = (size_t)(p + len - b);
	return b;
}

static enum bin_kind bin_kind(const char *bin, size_t len)
{
	/* C-string semantics, as the rules always had: an embedded NUL ends it */
	len = strnlen(bin, len);
	if (!len)
		return BK_NONE;
	size_t blen;
	const char *b = base_name(bin, len, &blen);
	if (prefix_in(b, runtime_bins))
		return BK_RUNTIME;
	if (has_prefix(b, "libmpa-preload"))
		return BK_PRELOAD;
	if (has_prefix(b, "liblttng-ust-dl"))
		return BK_UST_DL;
	if (prefix_in(b, tracer_bins))
		return BK_TRACER;
	if (prefix_in(b, tracer_deps))
		return BK_DEP;
	return BK_OTHER;
}

/* Facts about a string used as a function name. */
enum { FN_ALLOC = 1, FN_PRELOAD_PT = 2, FN_DL_PT = 4 };

/* Whether fn[0, len) is one of the user's allocation functions: a
 * comma-separated list of names, each exact, or a prefix when it ends in
 * '*'.  Blanks around names are ignored. */
static int user_alloc_fn(const char *fn, size_t len, const char *list)
{
	if (!list || !len)
		return 0;
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m && p[m - 1] == '*') {
			if (m - 1 <= len && !memcmp(fn, p, m - 1))
				return 1;
		} else if (m && m == len && !memcmp(fn, p, m)) {
			return 1;
		}
		p += n;
	}
	return 0;
}

static unsigned func_facts(const char *fn, const char *user_fns)
{
	/* the part before any "@VERSION" is the name (scanned once per string) */
	size_t len = strcspn(fn, "@");
	unsigned facts = 0;
	if (user_alloc_fn(fn, len, user_fns))
		facts |= FN_ALLOC;
	if (name_in(fn, len, preload_passthrough))
		facts |= FN_PRELOAD_PT;
	if (name_in(fn, len, ust_dl_passthrough))
		facts |= FN_DL_PT;
	const char *a = has_prefix(fn, "__GI_") ? fn + 5 : fn;
	size_t alen = len - (size_t)(a - fn);
	if (name_in(a, alen, alloc_funcs) || has_prefix(fn, "operator new") ||
	    has_prefix(fn, "operator delete") || has_prefix(fn, "_Znw") || has_prefix(fn, "_Zna") ||
	    has_prefix(fn, "_Zdl") || has_prefix(fn, "_Zda"))
		facts |= FN_ALLOC;
	return facts;
}

static uint8_t classify(enum bin_kind bk, unsigned facts)
{
	enum mpa_frame_class c;
	enum tr_role role;
	switch (bk) {
	case BK_NONE:
		role = TR_SKIP;
		break;
	case BK_RUNTIME:
		role = TR_SKIP;
		break;
	case BK_PRELOAD:
		/* its allocator entry points (the malloc hook, operator new...)
		 * pass the caller's call through, like its thread trampoline */
		role = facts & (FN_PRELOAD_PT | FN_ALLOC) ? TR_SKIP : TR_TRACER;
		break;
	case BK_UST_DL:
		role = facts & FN_DL_PT ? TR_SKIP : TR_TRACER;
		break;
	case BK_TRACER:
		role = TR_TRACER;
		break;
	case BK_DEP:
		role = TR_DEP;
		break;
	default:
		role = TR_PROGRAM;
		break;
	}
	if (bk == BK_PRELOAD || bk == BK_UST_DL || bk == BK_TRACER)
		c = role == TR_SKIP ? MPA_FRAME_PASSTHROUGH : MPA_FRAME_TRACER;
	else if (facts & FN_ALLOC)
		c = MPA_FRAME_ALLOCATOR;
	else if (bk == BK_NONE)
		c = MPA_FRAME_UNRESOLVED;
	else if (bk == BK_RUNTIME)
		c = MPA_FRAME_RUNTIME;
	else if (bk == BK_DEP)
		c = MPA_FRAME_TRACER_DEP;
	else
		c = MPA_FRAME_PROGRAM;
	return (uint8_t)(c | role << 4);
}

/* Classifies every frame.  Facts are cached per string id (frames share
 * binaries and functions), so each string is scanned once whatever the
 * number of frames naming it. */
static int classify_frames(mpa_sites *s, uint32_t from)
{
	uint32_t nstr = mpt_reader_string_count(s->r);
	/* per string: bits 0-2 bin kind (0 = not yet), bit 3 facts known,
	 * bits 4-6 function facts */
	uint8_t *memo = calloc(nstr ? nstr : 1, 1);
	if (!memo)
		return -1;
	s->fclass[0] = (uint8_t)(MPA_FRAME_UNRESOLVED | TR_SKIP << 4);
	for (uint32_t id = from; id <= s->nframes; id++) {
		const struct mpt_frame *f = mpt_reader_frame(s->r, id);
		enum bin_kind bk = BK_NONE;
		unsigned facts = 0;
		if (f->bin < nstr) {
			if (!(memo[f->bin] & 7)) {
				size_t len;
				const char *b = mpt_reader_string(s->r, f->bin, &len);
				memo[f->bin] |= (uint8_t)bin_kind(b, len);
			}
			bk = (enum bin_kind)(memo[f->bin] & 7);
		}
		if (f->func < nstr) {
			if (!(memo[f->func] & 8)) {
				const char *fn = mpt_reader_string(s->r, f->func, NULL);
				memo[f->func] |= (uint8_t)(8 | func_facts(fn, s->alloc_fns) << 4);
			}
			facts = (memo[f->func] >> 4) & 7;
		}
		s->fclass[id] = classify(bk, facts);
	}
	free(memo);
	return 0;
}

/* The site frame and the tracer flag of every stack, in one pass. */
static void classify_stacks(mpa_sites *s, uint32_t from)
{
	s->site[0] = -1;
	s->tracer[0] = 0;
	for (uint32_t id = from; id <= s->nstacks; id++) {
		uint32_t n = 0;
		const uint32_t *fr = mpt_reader_stack(s->r, id, &n);
		if (n > INT32_MAX)
			n = INT32_MAX; /* an index must fit the int we return */
		int32_t first = -1, site = -1;
		int decided = -1, dep = 0;
		uint32_t depth = 0; /* frames that are not the tracer's */
		int prog = 0;       /* a frame of the program (its code or its wrappers) */
		int32_t last_alloc = -1; /* the outermost ALLOCATOR frame */
		for (uint32_t i = 0; fr && i < n; i++) {
			if (fr[i] == 0 || fr[i] > s->nframes)
				continue;
			uint8_t b = s->fclass[fr[i]];
			enum mpa_frame_class c = CLS(b);
			if (c != MPA_FRAME_TRACER && c != MPA_FRAME_PASSTHROUGH)
				depth++;
			prog |= c == MPA_FRAME_PROGRAM || c == MPA_FRAME_ALLOCATOR;
			if (c == MPA_FRAME_ALLOCATOR)
				last_alloc = (int32_t)i;
			if (first < 0)
				first = (int32_t)i;
			if (site < 0 && c != MPA_FRAME_ALLOCATOR && c != MPA_FRAME_TRACER &&
			    c != MPA_FRAME_PASSTHROUGH)
				site = (int32_t)i;
			if (decided < 0) {
				switch (ROLE(b)) {
				case TR_SKIP: break;
				case TR_DEP: dep = 1; break;
				case TR_TRACER: decided = 1; break;
				case TR_PROGRAM: decided = 0; break;
				}
			}
			if (site >= 0 && decided >= 0 && depth > 1 && prog)
				break;
		}
		/* no caller beyond the wrappers (a stack cut short): the
		 * outermost wrapper says most of where it came from */
		s->site[id] = site >= 0 ? site : last_alloc >= 0 ? last_alloc : first;
		s->tracer[id] = (uint8_t)(decided >= 0 ? decided : dep);
		/* depth of the program's stacks only: the tracer's and the
		 * runtime's own (the loader at start-up) say nothing of it */
		if (depth && prog && !s->tracer[id]) {
			s->stacks_known++;
			s->stacks_shallow += depth == 1;
		}
	}
}

mpa_sites *mpa_sites_create(const mpt_reader *r, char *err, size_t errlen)
{
	return mpa_sites_create_with(r, NULL, err, errlen);
}

mpa_sites *mpa_sites_create_with(const mpt_reader *r, const char *alloc_fns, char *err,
				 size_t errlen)
{
	mpa_sites *s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	s->r = r;
	s->alloc_fns = alloc_fns;
	s->nframes = mpt_reader_frame_count(r);
	s->nstacks = mpt_reader_stack_count(r);
	s->nstrings = mpt_reader_string_count(r);
	s->fclass = malloc((size_t)s->nframes + 1);
	/* zeroed: a lock-free atomic pointer of all-zero bits is NULL, and
	 * mpa_sites_free() may read them after a failure here */
	s->fname = calloc((size_t)s->nframes + 1, sizeof *s->fname);
	s->ftext = calloc((size_t)s->nstrings + 1, sizeof *s->ftext);
	s->site = malloc(((size_t)s->nstacks + 1) * sizeof *s->site);
	s->tracer = malloc((size_t)s->nstacks + 1);
	if (!s->fclass || !s->fname || !s->ftext || !s->site || !s->tracer)
		goto oom;
	if (classify_frames(s, 1) < 0)
		goto oom;
	classify_stacks(s, 1);
	s->alloc_fns = NULL;
	return s;
oom:
	if (err && errlen)
		snprintf(err, errlen, "sites: out of memory for %" PRIu32 " frames and %" PRIu32
		       " stacks", mpt_reader_frame_count(r), mpt_reader_stack_count(r));
	mpa_sites_free(s);
	return NULL;
}

/* realloc of n elements of size sz, the new tail from old_n on zeroed */
static void *grow_zero(void *p, size_t old_n, size_t n, size_t sz)
{
	void *q = realloc(p, (n ? n : 1) * sz);
	if (q && n > old_n)
		memset((char *)q + old_n * sz, 0, (n - old_n) * sz);
	return q;
}

int mpa_sites_grow(mpa_sites *s, const mpt_reader *r, char *err, size_t errlen)
{
	if (!s)
		return 0;
	uint32_t nf = mpt_reader_frame_count(r), ns = mpt_reader_stack_count(r),
		 nstr = mpt_reader_string_count(r);
	if (nf < s->nframes || ns < s->nstacks || nstr < s->nstrings) {
		if (err && errlen)
			snprintf(err, errlen,
				 "sites: the new tables are smaller than the old ones (%" PRIu32
				 " frames, %" PRIu32 " stacks, %" PRIu32 " strings after %" PRIu32
				 ", %" PRIu32 ", %" PRIu32 "): not a continuation of the capture",
				 nf, ns, nstr, s->nframes, s->nstacks, s->nstrings);
		return -1;
	}
	/* each array grows on its own; a failure leaves the larger ones in
	 * place and the counts unchanged, so the object stays consistent */
	uint8_t *fc = grow_zero(s->fclass, (size_t)s->nframes + 1, (size_t)nf + 1, 1);
	if (!fc)
		goto oom;
	s->fclass = fc;
	_Atomic(char *) *fn = grow_zero((void *)s->fname, (size_t)s->nframes + 1, (size_t)nf + 1,
					sizeof *s->fname);
	if (!fn)
		goto oom;
	s->fname = fn;
	_Atomic(char *) *ft = grow_zero((void *)s->ftext, (size_t)s->nstrings + 1,
					(size_t)nstr + 1, sizeof *s->ftext);
	if (!ft)
		goto oom;
	s->ftext = ft;
	int32_t *si = grow_zero(s->site, (size_t)s->nstacks + 1, (size_t)ns + 1, sizeof *s->site);
	if (!si)
		goto oom;
	s->site = si;
	uint8_t *tr = grow_zero(s->tracer, (size_t)s->nstacks + 1, (size_t)ns + 1, 1);
	if (!tr)
		goto oom;
	s->tracer = tr;
	uint32_t f0 = s->nframes + 1, s0 = s->nstacks + 1;
	s->r = r;
	s->nstrings = nstr;
	s->nframes = nf;
	if (classify_frames(s, f0) < 0) {
		s->nframes = f0 - 1;
		goto oom;
	}
	s->nstacks = ns;
	classify_stacks(s, s0);
	return 0;
oom:
	if (err && errlen)
		snprintf(err, errlen, "sites: out of memory for %" PRIu32 " frames and %" PRIu32
			 " stacks", nf, ns);
	return -1;
}

void mpa_sites_free(mpa_sites *s)
{
	if (!s)
		return;
	if (s->fname)
		for (size_t i = 0; i <= s->nframes; i++)
			free(atomic_load_explicit(&s->fname[i], memory_order_relaxed));
	if (s->ftext)
		for (size_t i = 0; i < s->nstrings; i++)
			free(atomic_load_explicit(&s->ftext[i], memory_order_relaxed));
	free(s->fname);
	free(s->ftext);
	free(s->fclass);
	free(s->site);
	free(s->tracer);
	free(s);
}

void mpa_sites_depth(const mpa_sites *s, uint32_t *stacks, uint32_t *shallow)
{
	*stacks = s ? s->stacks_known : 0;
	*shallow = s ? s->stacks_shallow : 0;
}

enum mpa_frame_class mpa_sites_frame_class(const mpa_sites *s, uint32_t frame_id)
{
	if (!s || frame_id == 0 || frame_id > s->nframes)
		return MPA_FRAME_UNRESOLVED;
	return CLS(s->fclass[frame_id]);
}

int mpa_sites_is_tracer(const mpa_sites *s, uint32_t stack_id)
{
	if (!s || stack_id > s->nstacks)
		return 0;
	return s->tracer[stack_id];
}

int mpa_sites_site_frame(const mpa_sites *s, uint32_t stack_id)
{
	if (!s || stack_id > s->nstacks)
		return -1;
	return s->site[stack_id];
}

/* The site frame's id, 0 when none. */
static uint32_t site_frame_id(const mpa_sites *s, uint32_t stack_id)
{
	int i = mpa_sites_site_frame(s, stack_id);
	if (i < 0)
		return 0;
	uint32_t n = 0;
	const uint32_t *fr = mpt_reader_stack(s->r, stack_id, &n);
	return fr && (uint32_t)i < n ? fr[i] : 0;
}

/* ---- text: bounded, valid UTF-8 ---------------------------------------------------- */

/* A string being built in a fixed buffer: p[n] == 0, n < cap. */
struct sb {
	char *p;
	size_t n, cap;
};

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	size_t k = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return k;
}

/* Appends a literal (ASCII or valid UTF-8) whole, or nothing. */
static void sb_lit(struct sb *b, const char *s)
{
	size_t k = strlen(s);
	if (b->n + k < b->cap) {
		memcpy(b->p + b->n, s, k + 1);
		b->n += k;
	}
}

/* Removes the last code point (never past byte at). */
static void sb_drop_char(struct sb *b, size_t at)
{
	while (b->n > at) {
		b->n--;
		if (((unsigned char)b->p[b->n] & 0xc0) != 0x80)
			break;
	}
	b->p[b->n] = 0;
}

/* Appends src[0, len) as valid UTF-8 (an invalid byte or a control
 * character becomes U+FFFD), at most max bytes of it; when it does not all
 * fit, what fits ends with "…". */
static void sb_text(struct sb *b, const char *src, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t start = b->n;
	size_t lim = b->cap - 1 - b->n < max ? b->cap - 1 : b->n + max;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(s + i, len - i);
		const char *piece = src + i;
		size_t plen = k;
		if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			piece = REPLACEMENT;
			plen = 3;
			k = 1;
		}
		if (b->n + plen > lim) {
			while (b->n > start && b->n + 3 > lim)
				sb_drop_char(b, start);
			if (b->n + 3 <= lim) {
				memcpy(b->p + b->n, ELLIPSIS, 3);
				b->n += 3;
			}
			break;
		}
		memcpy(b->p + b->n, piece, plen);
		b->n += plen;
		i += k;
	}
	b->p[b->n] = 0;
}

/* Appends the end of src[0, len): "…" and its last bytes when longer than
 * max. */
static void sb_tail(struct sb *b, const char *src, size_t len, size_t max)
{
	if (len <= max) {
		sb_text(b, src, len, max);
		return;
	}
	size_t from = len - (max - 3);
	while (from < len && ((unsigned char)src[from] & 0xc0) == 0x80)
		from++;
	sb_lit(b, ELLIPSIS);
	sb_text(b, src + from, len - from, max - 3);
}

/* Cuts the parameter list (and cv/ref qualifiers, clone suffixes) off a
 * demangled function: "ns::f(int) const" -> "ns::f". */
static void strip_params(char *d)
{
	size_t n = strlen(d);
	for (;;) {
		while (n && d[n - 1] == ' ')
			n--;
		if (n && d[n - 1] == ']') { /* " [clone .cold]" */
			char *o = memrchr(d, '[', n);
			if (!o)
				break;
			n = (size_t)(o - d);
			continue;
		}
		static const char *const quals[] = {" const", " volatile", " &&", " &", " noexcept"};
		int cut = 0;
		for (size_t q = 0; q < sizeof quals / sizeof *quals; q++) {
			size_t ql = strlen(quals[q]);
			if (n > ql && !memcmp(d + n - ql, quals[q], ql)) {
				n -= ql;
				cut = 1;
				break;
			}
		}
		if (!cut)
			break;
	}
	if (n && d[n - 1] == ')') {
		int depth = 0;
		for (size_t i = n; i-- > 0;) {
			if (d[i] == ')')
				depth++;
			else if (d[i] == '(' && --depth == 0) {
				if (i > 0)
					n = i;
				break;
			}
		}
	}
	d[n] = 0;
}

/* Stores text in *slot unless another thread did first; returns what the
 * slot holds then (NULL when text is NULL: out of memory). */
static char *publish(_Atomic(char *) *slot, char *text)
{
	if (!text)
		return NULL;
	char *expected = NULL;
	if (atomic_compare_exchange_strong_explicit(slot, &expected, text, memory_order_acq_rel,
						    memory_order_acquire))
		return text;
	free(text); /* another thread won the race: use its copy */
	return expected;
}

/* Where "@VERSION" starts in fn[0, len) (len when none, or too far in). */
static size_t version_at(const char *fn, size_t len)
{
	size_t scan = len < DEMANGLE_MAX + 1 ? len : DEMANGLE_MAX + 1;
	const char *at = memchr(fn, '@', scan);
	return at ? (size_t)(at - fn) : len;
}

/* The display text of the function named by string sid, without any
 * "@VERSION": demangled when it is a C++ name, valid UTF-8, bounded.  Its
 * first byte says 'D' (demangled) or 'R' (as recorded).  Cached per
 * string; NULL when out of memory. */
static const char *func_text(mpa_sites *s, uint32_t sid)
{
	if (sid >= s->nstrings)
		return "R";
	char *have = atomic_load_explicit(&s->ftext[sid], memory_order_acquire);
	if (have)
		return have;
	size_t len;
	const char *fn = mpt_reader_string(s->r, sid, &len);
	size_t base = version_at(fn, len);
	char buf[FUNC_MAX + 8];
	struct sb b = {buf, 0, sizeof buf};
	buf[0] = 0;
	sb_lit(&b, "R");
	if (base >= 2 && base <= DEMANGLE_MAX && fn[0] == '_' && fn[1] == 'Z' &&
	    !memchr(fn, 0, base)) {
		char tmp[DEMANGLE_MAX + 1];
		memcpy(tmp, fn, base);
		tmp[base] = 0;
		int status = -1;
		char *d = __cxa_demangle(tmp, NULL, NULL, &status);
		if (d && status == 0) {
			buf[0] = 'D';
			sb_text(&b, d, strlen(d), FUNC_MAX);
		}
		free(d);
	}
	if (buf[0] == 'R')
		sb_text(&b, fn, base, FUNC_MAX);
	return publish(&s->ftext[sid], strdup(buf));
}

/* Appends a frame's function (string sid, non-empty): for a name with its
 * "@VERSION" kept, for a label without it and without the parameter list.
 * -1 when out of memory. */
static int put_function(mpa_sites *s, struct sb *b, uint32_t sid, int label)
{
	const char *t = func_text(s, sid);
	if (!t)
		return -1;
	if (label) {
		char tmp[FUNC_MAX + 8];
		snprintf(tmp, sizeof tmp, "%s", t + 1);
		if (t[0] == 'D')
			strip_params(tmp);
		sb_text(b, tmp, strlen(tmp), FUNC_MAX);
	} else {
		size_t m = b->n, len;
		sb_text(b, t + 1, strlen(t + 1), FUNC_MAX);
		const char *fn = mpt_reader_string(s->r, sid, &len);
		size_t at = version_at(fn, len);
		sb_text(b, fn + at, len - at, FUNC_MAX - (b->n - m));
	}
	return 0;
}

/* Builds the name (label = 0) or the untrimmed label (label = 1) of f.
 * -1 when out of memory. */
static int frame_text(mpa_sites *s, const struct mpt_frame *f, int label, struct sb *b)
{
	size_t flen, filelen, binlen, blen = 0;
	mpt_reader_string(s->r, f->func, &flen);
	const char *file = mpt_reader_string(s->r, f->file, &filelen);
	const char *bin = mpt_reader_string(s->r, f->bin, &binlen);
	const char *bbase = binlen ? base_name(bin, binlen, &blen) : bin;
	char num[32];
	if (flen) {
		if (put_function(s, b, f->func, label) < 0)
			return -1;
		if (filelen) {
			sb_lit(b, " (");
			if (label) {
				size_t l;
				const char *fb = base_name(file, filelen, &l);
				sb_tail(b, fb, l, FILE_MAX);
			} else {
				sb_tail(b, file, filelen, FILE_MAX);
			}
			if (f->line) {
				snprintf(num, sizeof num, ":%" PRIu32, f->line);
				sb_lit(b, num);
			}
			sb_lit(b, ")");
		} else if (blen && !label) {
			/* a label keeps to the function: trimmed from the left, a
			 * binary after it would be all that is left */
			sb_lit(b, " (");
			sb_tail(b, bbase, blen, BIN_MAX);
			sb_lit(b, ")");
		}
	} else if (blen) {
		sb_tail(b, bbase, blen, BIN_MAX);
		snprintf(num, sizeof num, "+0x%" PRIx64, f->bin_off);
		sb_lit(b, num);
	} else {
		snprintf(num, sizeof num, "0x%" PRIx64, f->ip);
		sb_lit(b, num);
	}
	return 0;
}

/* ---- names -------------------------------------------------------------------------- */

const char *mpa_sites_frame_name(mpa_sites *s, uint32_t frame_id)
{
	if (!s || frame_id == 0 || frame_id > s->nframes)
		return "??";
	char *have = atomic_load_explicit(&s->fname[frame_id], memory_order_acquire);
	if (have)
		return have;
	char buf[NAME_CAP];
	struct sb b = {buf, 0, sizeof buf};
	buf[0] = 0;
	if (frame_text(s, mpt_reader_frame(s->r, frame_id), 0, &b) < 0)
		return "??";
	const char *name = publish(&s->fname[frame_id], strdup(buf));
	return name ? name : "??";
}

const char *mpa_sites_name(mpa_sites *s, uint32_t stack_id)
{
	uint32_t fid = site_frame_id(s, stack_id);
	return fid ? mpa_sites_frame_name(s, fid) : "??";
}

const char *mpa_sites_label(mpa_sites *s, uint32_t stack_id, size_t width, char *buf,
			    size_t len)
{
	if (!buf || !len)
		return buf;
	uint32_t fid = site_frame_id(s, stack_id);
	char full[NAME_CAP];
	struct sb b = {full, 0, sizeof full};
	full[0] = 0;
	if (!fid || frame_text(s, mpt_reader_frame(s->r, fid), 1, &b) < 0) {
		b.n = 0;
		sb_lit(&b, "??");
	}
	/* keep the last characters that fit both width and len */
	size_t chars = 0;
	for (size_t i = 0; i < b.n; i++)
		chars += ((unsigned char)full[i] & 0xc0) != 0x80;
	if (chars <= width && b.n < len) {
		memcpy(buf, full, b.n + 1);
		return buf;
	}
	if (width == 0 || len < sizeof ELLIPSIS) {
		buf[0] = 0;
		return buf;
	}
	size_t room = len - sizeof ELLIPSIS; /* bytes after the ellipsis */
	size_t from = b.n, kept = 0;
	while (from > 0 && kept + 1 < width) {
		size_t p = from - 1;
		while (p > 0 && ((unsigned char)full[p] & 0xc0) == 0x80)
			p--;
		if (b.n - p > room)
			break;
		from = p;
		kept++;
	}
	memcpy(buf, ELLIPSIS, sizeof ELLIPSIS - 1);
	memcpy(buf + sizeof ELLIPSIS - 1, full + from, b.n - from + 1);
	return buf;
}

/* ---- JSON -------------------------------------------------------------------------------- */

json_t *mpa_sites_stack_json(mpa_sites *s, uint32_t stack_id)
{
	json_t *a = json_array();
	if (!a || !s || stack_id == 0 || stack_id > s->nstacks)
		return a;
	uint32_t n = 0;
	const uint32_t *fr = mpt_reader_stack(s->r, stack_id, &n);
	for (uint32_t i = 0; fr && i < n; i++) {
		uint32_t id = fr[i];
		if (id == 0 || id > s->nframes)
			continue;
		enum mpa_frame_class c = CLS(s->fclass[id]);
		if (c == MPA_FRAME_TRACER || c == MPA_FRAME_PASSTHROUGH)
			continue;
		const struct mpt_frame *f = mpt_reader_frame(s->r, id);
		char fbuf[FUNC_MAX + 8], filebuf[FILE_MAX + 8], binbuf[PATH_MAX_JSON + 8], ip[24];
		struct sb fb = {fbuf, 0, sizeof fbuf}, fileb = {filebuf, 0, sizeof filebuf},
			  bb = {binbuf, 0, sizeof binbuf};
		fbuf[0] = filebuf[0] = binbuf[0] = 0;
		size_t l;
		const char *str = mpt_reader_string(s->r, f->func, &l);
		if (l && put_function(s, &fb, f->func, 0) < 0) {
			json_decref(a);
			return NULL;
		}
		str = mpt_reader_string(s->r, f->file, &l);
		sb_tail(&fileb, str, l, FILE_MAX);
		str = mpt_reader_string(s->r, f->bin, &l);
		sb_tail(&bb, str, l, PATH_MAX_JSON);
		snprintf(ip, sizeof ip, "0x%" PRIx64, f->ip);
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "function", fbuf, "file", filebuf,
				      "line", (json_int_t)f->line, "binary", binbuf, "ip", ip);
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
