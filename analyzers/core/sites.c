/* mpa analysis core — the frame classifier and site names (interim: the
 * rules moved here from framework.c and timeline.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sites.h"

struct mpa_sites {
	const mpt_reader *r;  /* (weak) */
	uint32_t n;           /* stack ids 0 .. n-1 */
	uint8_t *tracer;      /* 0 unknown, 1 no, 2 yes (owned) */
	char **names;         /* (owned, each owned) */
};

/* Functions that are the allocator (or a thin allocating wrapper), never the
 * interesting caller. */
static const char *const alloc_funcs[] = {
	"malloc", "calloc", "realloc", "free", "reallocarray", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "cfree",
	"__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free", "__libc_memalign",
	"__libc_valloc", "__libc_pvalloc", "__posix_memalign", "__libc_reallocarray",
	"strdup", "strndup", "__strdup", "__strndup", "wcsdup",
	"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	/* the checked wrappers of GNU programs (bash, coreutils, gcc) and glib */
	"xmalloc", "xcalloc", "xzalloc", "xrealloc", "xstrdup", "xmemdup", "xcharalloc",
	"g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0",
	"g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_strdup", "g_strndup",
	"g_memdup2",
	NULL
};

/* Binaries whose frames are the tracer or our hooks. */
static const char *const tracer_bins[] = {
	"libmpa-preload", "liblttng-ust", "libheaptrack", "vgpreload_", NULL
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int skip_frame(const mpt_reader *r, const struct mpt_frame *f)
{
	const char *func = mpt_reader_string(r, f->func, NULL);
	const char *bin = mpt_reader_string(r, f->bin, NULL);
	if (func && *func) {
		for (size_t i = 0; alloc_funcs[i]; i++)
			if (!strcmp(func, alloc_funcs[i]))
				return 1;
		if (!strncmp(func, "operator new", 12) || !strncmp(func, "operator delete", 15))
			return 1;
	}
	if (bin && *bin) {
		const char *b = base_name(bin);
		for (size_t i = 0; tracer_bins[i]; i++)
			if (!strncmp(b, tracer_bins[i], strlen(tracer_bins[i])))
				return 1;
	}
	return 0;
}

static const char *frame_name(const mpt_reader *r, const struct mpt_frame *f, char *buf,
			      size_t len)
{
	const char *func = mpt_reader_string(r, f->func, NULL);
	const char *file = mpt_reader_string(r, f->file, NULL);
	const char *bin = mpt_reader_string(r, f->bin, NULL);
	if (func && *func) {
		if (file && *file && f->line)
			snprintf(buf, len, "%s (%s:%" PRIu32 ")", func, file, f->line);
		else if (file && *file)
			snprintf(buf, len, "%s (%s)", func, file);
		else if (bin && *bin)
			snprintf(buf, len, "%s (%s)", func, base_name(bin));
		else
			snprintf(buf, len, "%s", func);
	} else if (bin && *bin) {
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(bin), f->bin_off);
	} else {
		snprintf(buf, len, "0x%" PRIx64, f->ip);
	}
	return buf;
}

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Whether name (a frame's function, maybe "name@VERSION") is one of names. */
static int func_is(const char *fn, const char *const *names)
{
	if (!fn)
		return 0;
	size_t len = strcspn(fn, "@");
	for (; *names; names++)
		if (strlen(*names) == len && !strncmp(fn, *names, len))
			return 1;
	return 0;
}

/* The language runtime and the loader: they allocate on behalf of their
 * caller, so the frame that called into them decides. */
static const char *const runtime_bins[] = {
	"libc.so", "libc-", "ld-linux", "ld64.so", "libgcc_s", "libstdc++", "libpthread",
	"libdl.so", "libdl-", "librt", "libm.so", "libm-", NULL,
};

/* mpa's preload frames that only pass the program's calls through: its
 * thread trampoline, its main wrapper, its exit hooks, pthread_create. */
static const char *const preload_passthrough[] = {
	"thread_tramp", "main_hook", "__libc_start_main", "pthread_create", "exit",
	"_exit", "_Exit", NULL,
};

/* liblttng-ust-dl wraps the program's dlopen: the loader's work for it is
 * the program's (its own bookkeeping afterwards is in liblttng-ust). */
static const char *const ust_dl_passthrough[] = {"dlopen", "dlmopen", "dlclose", NULL};

/* Libraries loaded only because the tracer needs them (liblttng-ust needs
 * libnuma): their code is the tracer's unless the program called it. */
static const char *const tracer_deps[] = {"libnuma", NULL};

static int bin_in(const char *base, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (has_prefix(base, *prefixes))
			return 1;
	return 0;
}

/* Whether a user allocation was made by the tracer for itself (see
 * doc/analyzers-timeline.md, "the tracer's own blocks").  The frames are
 * read from the innermost out; the first frame that is neither the runtime
 * (libc, the loader, libgcc_s, libstdc++), nor a pass-through wrapper of
 * mpa's preload or of liblttng-ust-dl, nor a tracer dependency (libnuma),
 * nor unresolved, decides: LTTng-UST, mpa's preload, heaptrack or
 * valgrind's preload -> the tracer; anything else -> the program.  With no
 * deciding frame, the block is the tracer's if a tracer dependency's frame
 * was seen (libnuma's constructor run by the loader), else the program's
 * (the runtime's own work, e.g. libstdc++'s emergency pool). */
static int stack_is_tracer(const mpt_reader *r, uint32_t stack_id)
{
	uint32_t n = 0;
	const uint32_t *fr = r ? mpt_reader_stack(r, stack_id, &n) : NULL;
	int dep = 0;
	for (uint32_t i = 0; fr && i < n; i++) {
		const struct mpt_frame *f = mpt_reader_frame(r, fr[i]);
		if (!f)
			continue;
		const char *bin = mpt_reader_string(r, f->bin, NULL);
		if (!bin || !*bin)
			continue; /* unresolved: a JIT, or a frame-pointer walk gone astray */
		const char *fn = mpt_reader_string(r, f->func, NULL);
		const char *base = strrchr(bin, '/');
		base = base ? base + 1 : bin;
		if (bin_in(base, runtime_bins))
			continue;
		if (has_prefix(base, "libmpa-preload")) {
			/* its allocator entry points (malloc, operator new...) pass
			 * the caller's call through, like its thread trampoline */
			if (func_is(fn, preload_passthrough) || func_is(fn, alloc_funcs))
				continue;
			return 1;
		}
		if (has_prefix(base, "liblttng-ust-dl") && func_is(fn, ust_dl_passthrough))
			continue;
		if (has_prefix(base, "liblttng-ust") || has_prefix(base, "libheaptrack") ||
		    has_prefix(base, "vgpreload_"))
			return 1;
		if (bin_in(base, tracer_deps)) {
			dep = 1;
			continue;
		}
		return 0;
	}
	return dep;
}



mpa_sites *mpa_sites_create(const mpt_reader *r, char *err, size_t errlen)
{
	mpa_sites *s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	s->r = r;
	s->n = (r ? mpt_reader_stack_count(r) : 0) + 1;
	s->tracer = calloc(s->n, 1);
	s->names = calloc(s->n, sizeof *s->names);
	if (!s->tracer || !s->names)
		goto oom;
	return s;
oom:
	mpa_sites_free(s);
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
	return NULL;
}

void mpa_sites_free(mpa_sites *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->names && i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->tracer);
	free(s);
}

int mpa_sites_is_tracer(mpa_sites *s, uint32_t stack_id)
{
	if (!s || !s->r || stack_id >= s->n)
		return 0;
	if (!s->tracer[stack_id])
		s->tracer[stack_id] = stack_is_tracer(s->r, stack_id) ? 2 : 1;
	return s->tracer[stack_id] == 2;
}

int mpa_sites_site_frame(mpa_sites *s, uint32_t stack_id)
{
	uint32_t n = 0;
	const uint32_t *fr = s && s->r ? mpt_reader_stack(s->r, stack_id, &n) : NULL;
	int first = -1;
	for (uint32_t i = 0; fr && i < n; i++) {
		const struct mpt_frame *f = mpt_reader_frame(s->r, fr[i]);
		if (!f)
			continue;
		if (first < 0)
			first = (int)i;
		if (!skip_frame(s->r, f))
			return (int)i;
	}
	return first;
}

const char *mpa_sites_name(mpa_sites *s, uint32_t stack_id)
{
	if (!s || stack_id >= s->n)
		return "??";
	if (s->names[stack_id])
		return s->names[stack_id];
	char buf[1024];
	int i = mpa_sites_site_frame(s, stack_id);
	if (i < 0) {
		snprintf(buf, sizeof buf, "??");
	} else {
		uint32_t n = 0;
		const uint32_t *fr = mpt_reader_stack(s->r, stack_id, &n);
		frame_name(s->r, mpt_reader_frame(s->r, fr[i]), buf, sizeof buf);
	}
	s->names[stack_id] = strdup(buf);
	return s->names[stack_id] ? s->names[stack_id] : "??";
}

/* ---- the analyzer API's site functions (include/mpa/analyzer.h) -------------- */

#include "mpa/analyzer.h"

const char *mpa_site_name(const struct mpa_ctx *ctx, uint32_t stack_id, char *buf, size_t len)
{
	if (!len)
		return buf;
	mpa_sites *own = NULL, *s = ctx ? ctx->sites : NULL;
	if (!s && ctx && ctx->reader)
		s = own = mpa_sites_create(ctx->reader, NULL, 0);
	snprintf(buf, len, "%s", s ? mpa_sites_name(s, stack_id) : "??");
	mpa_sites_free(own);
	return buf;
}

int mpa_site_frame(const struct mpa_ctx *ctx, uint32_t stack_id)
{
	mpa_sites *own = NULL, *s = ctx ? ctx->sites : NULL;
	if (!s && ctx && ctx->reader)
		s = own = mpa_sites_create(ctx->reader, NULL, 0);
	int i = s ? mpa_sites_site_frame(s, stack_id) : -1;
	mpa_sites_free(own);
	return i;
}
