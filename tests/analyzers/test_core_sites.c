/* analyzers/core/sites: the frame classes, the tracer rule, the site of a
 * stack, names (demangled, bounded, valid UTF-8), plot labels, the JSON
 * stack, hostile ids and strings, and concurrent readers. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_test_util.h"
#include "../../analyzers/core/sites.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"
#define LIBC LIBDIR "libc.so.6"
#define PRELOAD "/opt/mpa/lib/libmpa-preload.so"
#define UST LIBDIR "liblttng-ust.so.1.0.0"
#define UST_DL LIBDIR "liblttng-ust-dl.so.1.0.0"
#define PROG "/usr/bin/prog"
#define ELL "\xe2\x80\xa6"

static mpt_reader *reader;
static mpa_sites *sites;
static struct au_cap cap;

/* Closes the capture being written and opens it with a sites object. */
static void finish(void)
{
	au_close(&cap);
	struct mpt_error e = {0};
	cr_assert_eq(mpt_reader_open(cap.path, &reader, &e), MPT_OK, "%s", e.msg);
	char err[256];
	sites = mpa_sites_create(reader, err, sizeof err);
	cr_assert_not_null(sites, "%s", err);
}

static void setup(void)
{
	reader = NULL;
	sites = NULL;
	au_open(&cap);
}

static void teardown(void)
{
	mpa_sites_free(sites);
	mpt_reader_close(reader);
	if (cap.w)
		mpt_writer_abort(cap.w);
	au_rmrf(cap.dir);
}

TestSuite(core_sites, .init = setup, .fini = teardown);

static uint32_t stackv(const uint32_t *fr, uint32_t n)
{
	uint32_t id;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_stack(cap.w, fr, n, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

/* A frame whose strings are given with their lengths (may hold NULs). */
static uint32_t rawframe(const char *func, size_t flen, const char *file, size_t filelen,
			 const char *bin, size_t blen, uint32_t line)
{
	struct mpt_frame f = {0};
	struct mpt_error e = {0};
	f.ip = au_next_ip += 0x10;
	f.bin_off = f.ip - 0x400000;
	cr_assert_eq(mpt_writer_string(cap.w, func, flen, &f.func, &e), MPT_OK, "%s", e.msg);
	cr_assert_eq(mpt_writer_string(cap.w, file, filelen, &f.file, &e), MPT_OK, "%s", e.msg);
	cr_assert_eq(mpt_writer_string(cap.w, bin, blen, &f.bin, &e), MPT_OK, "%s", e.msg);
	f.line = line;
	uint32_t id;
	cr_assert_eq(mpt_writer_frame(cap.w, &f, &id, &e), MPT_OK, "%s", e.msg);
	return id;
}

/* Valid UTF-8 without control characters (what jansson and gnuplot need). */
static int clean_text(const char *s)
{
	json_t *j = json_string(s);
	int ok = j != NULL;
	json_decref(j);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ok = 0;
	return ok;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* ---- classes ------------------------------------------------------------------- */

Test(core_sites, every_class)
{
	static const struct {
		const char *func, *bin;
		enum mpa_frame_class want;
	} cases[] = {
		{"parse_args", PROG, MPA_FRAME_PROGRAM},
		{"g_hash_table_insert", LIBDIR "libglib-2.0.so.0", MPA_FRAME_PROGRAM},
		{"numa_bitmask_alloc", LIBDIR "libnuma.so.1.0.0", MPA_FRAME_TRACER_DEP},
		{"", LIBDIR "libnuma.so.1", MPA_FRAME_TRACER_DEP},
		{"malloc", LIBC, MPA_FRAME_ALLOCATOR},
		{"malloc@GLIBC_2.2.5", LIBC, MPA_FRAME_ALLOCATOR},
		{"__GI___libc_malloc", LIBC, MPA_FRAME_ALLOCATOR},
		{"__strdup", LIBC, MPA_FRAME_ALLOCATOR},
		{"xmalloc", "/usr/bin/bash", MPA_FRAME_ALLOCATOR},
		{"g_malloc0", LIBDIR "libglib-2.0.so.0", MPA_FRAME_ALLOCATOR},
		{"_Znwm", LIBDIR "libstdc++.so.6", MPA_FRAME_ALLOCATOR},
		{"_ZdlPvm", LIBDIR "libstdc++.so.6", MPA_FRAME_ALLOCATOR},
		{"operator new(unsigned long)", LIBDIR "libstdc++.so.6", MPA_FRAME_ALLOCATOR},
		{"operator delete[](void*)", PROG, MPA_FRAME_ALLOCATOR},
		{"malloc", "", MPA_FRAME_ALLOCATOR},
		{"fopen", LIBC, MPA_FRAME_RUNTIME},
		{"dlopen@GLIBC_2.2.5", LIBC, MPA_FRAME_RUNTIME},
		{"_dl_init", LIBDIR "ld-linux-x86-64.so.2", MPA_FRAME_RUNTIME},
		{"_Unwind_Find_FDE", LIBDIR "libgcc_s.so.1", MPA_FRAME_RUNTIME},
		{"", LIBDIR "libstdc++.so.6.0.30", MPA_FRAME_RUNTIME},
		{"pthread_once", "/lib/libpthread.so.0", MPA_FRAME_RUNTIME},
		{"sin", LIBDIR "libm.so.6", MPA_FRAME_RUNTIME},
		{"mpa_hook_alloc", PRELOAD, MPA_FRAME_TRACER},
		{"malloc", PRELOAD, MPA_FRAME_PASSTHROUGH}, /* the hook passes the caller's call through */
		{"lttng_ust_constructor_mpa", PRELOAD, MPA_FRAME_TRACER},
		{"", UST, MPA_FRAME_TRACER},
		{"lttng_ust_probe_register", LIBDIR "liblttng-ust-tracepoint.so.1", MPA_FRAME_TRACER},
		{"lttng_ust_dl_update", UST_DL, MPA_FRAME_TRACER},
		{"Heaptrack::writeTimestamp", LIBDIR "heaptrack/libheaptrack_preload.so",
		 MPA_FRAME_TRACER},
		{"malloc", LIBDIR "valgrind/vgpreload_memcheck-amd64-linux.so", MPA_FRAME_TRACER},
		{"thread_tramp", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"main_hook", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"__libc_start_main", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"pthread_create", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"pthread_create@@GLIBC_2.34", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"exit", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"_exit", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"_Exit", PRELOAD, MPA_FRAME_PASSTHROUGH},
		{"dlopen", UST_DL, MPA_FRAME_PASSTHROUGH},
		{"dlmopen", UST_DL, MPA_FRAME_PASSTHROUGH},
		{"dlclose", UST_DL, MPA_FRAME_PASSTHROUGH},
		{"dlopen", UST, MPA_FRAME_TRACER}, /* only liblttng-ust-dl wraps dlopen */
		{"", "", MPA_FRAME_UNRESOLVED},
		{"jit_code", "", MPA_FRAME_UNRESOLVED},
	};
	size_t n = sizeof cases / sizeof *cases;
	uint32_t ids[64];
	cr_assert(n <= 64);
	for (size_t i = 0; i < n; i++)
		ids[i] = au_frame(&cap, cases[i].func, cases[i].bin, NULL, 0);
	finish();
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(mpa_sites_frame_class(sites, ids[i]), cases[i].want,
			     "%s in %s: %s, want %s", cases[i].func, cases[i].bin,
			     mpa_frame_class_name(mpa_sites_frame_class(sites, ids[i])),
			     mpa_frame_class_name(cases[i].want));
	cr_expect_eq(mpa_sites_frame_class(sites, 0), MPA_FRAME_UNRESOLVED);
	cr_expect_eq(mpa_sites_frame_class(sites, (uint32_t)n + 1), MPA_FRAME_UNRESOLVED);
	cr_expect_eq(mpa_sites_frame_class(sites, UINT32_MAX), MPA_FRAME_UNRESOLVED);
	cr_expect_str_eq(mpa_frame_class_name(MPA_FRAME_TRACER_DEP), "tracer_dep");
	cr_expect_str_eq(mpa_frame_class_name((enum mpa_frame_class)99), "?");
}

Test(core_sites, allocator_spellings)
{
	static const char *const yes[] = {
		"malloc", "calloc", "realloc", "free", "reallocarray", "memalign", "posix_memalign",
		"aligned_alloc", "valloc", "pvalloc", "cfree", "__libc_malloc", "__libc_calloc",
		"__libc_realloc", "__libc_free", "__libc_memalign", "__libc_valloc",
		"__libc_pvalloc", "__posix_memalign", "__libc_reallocarray", "strdup", "strndup",
		"__strdup", "__strndup", "wcsdup", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t",
		"_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdlPvSt11align_val_t", "xmalloc", "xcalloc",
		"xzalloc", "xrealloc", "xstrdup", "xmemdup", "xcharalloc", "xnmalloc",
		"x2nrealloc", "xmallocz", "g_malloc", "g_malloc0", "g_realloc", "g_try_malloc",
		"g_try_malloc0", "g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n",
		"g_strdup", "g_strndup", "g_memdup2", "malloc@GLIBC_2.2.5", "calloc@@GLIBC_2.2.5",
		"__GI___strdup", "operator new(unsigned long)",
		"operator new(unsigned long, std::nothrow_t const&)", "operator new[](unsigned long)",
		"operator delete(void*, unsigned long)", "Perl_safesysmalloc", "Perl_safesyscalloc",
		"Perl_safesysrealloc", "PyMem_RawMalloc", "PyMem_Malloc", "PyObject_Malloc",
		"_PyObject_Malloc", "PyMem_RawRealloc", "g_slice_alloc",
	};
	static const char *const no[] = {
		"mallocx", "my_malloc", "malloc_usable_size", "_ZN3foo6mallocEv", "xmalloc_stats",
		"g_malloc_wrapper", "strdupa", "operator+(int)", "_Z3newv", "newline", "@malloc",
	};
	size_t ny = sizeof yes / sizeof *yes, nn = sizeof no / sizeof *no;
	uint32_t idy[96], idn[16];
	cr_assert(ny <= 96 && nn <= 16);
	for (size_t i = 0; i < ny; i++)
		idy[i] = au_frame(&cap, yes[i], PROG, "x.c", 1);
	for (size_t i = 0; i < nn; i++)
		idn[i] = au_frame(&cap, no[i], PROG, "x.c", 1);
	finish();
	for (size_t i = 0; i < ny; i++)
		cr_expect_eq(mpa_sites_frame_class(sites, idy[i]), MPA_FRAME_ALLOCATOR, "%s", yes[i]);
	for (size_t i = 0; i < nn; i++)
		cr_expect_eq(mpa_sites_frame_class(sites, idn[i]), MPA_FRAME_PROGRAM, "%s", no[i]);
}

/* [sites] alloc_fns: the user's wrappers are ALLOCATOR frames (exact
 * names, NAME* prefixes, blanks ignored, "@VERSION" ignored), skipped when
 * naming a site like valgrind's --alloc-fn; other names are untouched. */
Test(core_sites, user_alloc_fns)
{
	uint32_t a = au_frame(&cap, "arena_alloc", PROG, "arena.c", 3);
	uint32_t b = au_frame(&cap, "_ZN5Arena4growEm", PROG, "arena.cc", 9);
	uint32_t c = au_frame(&cap, "my_new@V1", PROG, NULL, 0);
	uint32_t d = au_frame(&cap, "arena_alloc_stats", PROG, NULL, 0);
	uint32_t caller = au_frame(&cap, "load_table", PROG, "table.c", 77);
	uint32_t sa = au_stack(&cap, 2, a, caller), sb = au_stack(&cap, 3, b, a, caller);
	uint32_t sc = au_stack(&cap, 2, c, caller), sd = au_stack(&cap, 2, d, caller);
	au_close(&cap);
	struct mpt_error e = {0};
	cr_assert_eq(mpt_reader_open(cap.path, &reader, &e), MPT_OK, "%s", e.msg);
	char err[256];
	sites = mpa_sites_create_with(reader, " arena_alloc , _ZN5Arena*,my_new,,", err, sizeof err);
	cr_assert_not_null(sites, "%s", err);
	cr_expect_eq(mpa_sites_frame_class(sites, a), MPA_FRAME_ALLOCATOR);
	cr_expect_eq(mpa_sites_frame_class(sites, b), MPA_FRAME_ALLOCATOR);
	cr_expect_eq(mpa_sites_frame_class(sites, c), MPA_FRAME_ALLOCATOR);
	cr_expect_eq(mpa_sites_frame_class(sites, d), MPA_FRAME_PROGRAM, "exact names only");
	cr_expect_str_eq(mpa_sites_name(sites, sa), "load_table (table.c:77)");
	cr_expect_str_eq(mpa_sites_name(sites, sb), "load_table (table.c:77)");
	cr_expect_str_eq(mpa_sites_name(sites, sc), "load_table (table.c:77)");
	cr_expect_str_eq(mpa_sites_name(sites, sd), "arena_alloc_stats (prog)");
	/* without the list, the same frames are the program's */
	mpa_sites *plain = mpa_sites_create(reader, err, sizeof err);
	cr_assert_not_null(plain);
	cr_expect_eq(mpa_sites_frame_class(plain, a), MPA_FRAME_PROGRAM);
	cr_expect_str_eq(mpa_sites_name(plain, sa), "arena_alloc (arena.c:3)");
	mpa_sites_free(plain);
}

/* Stack depth: the program's stacks (not the tracer's, not the runtime's
 * alone) with one frame besides the tracer's are counted as shallow. */
Test(core_sites, depth_counts_the_programs_shallow_stacks)
{
	uint32_t hook = au_frame(&cap, "malloc", PRELOAD, NULL, 0);
	uint32_t xm = au_frame(&cap, "xmalloc", "/usr/bin/bash", NULL, 0);
	uint32_t fn = au_frame(&cap, "make_word", "/usr/bin/bash", NULL, 0);
	uint32_t ld = au_frame(&cap, "_dl_new_object", LIBDIR "ld-linux-x86-64.so.2", NULL, 0);
	uint32_t ust = au_frame(&cap, "lttng_ust_init", UST, NULL, 0);
	au_stack(&cap, 2, hook, xm);        /* shallow */
	au_stack(&cap, 2, hook, fn);        /* shallow */
	au_stack(&cap, 3, hook, xm, fn);    /* deep */
	au_stack(&cap, 1, ld);              /* the runtime's alone: not counted */
	au_stack(&cap, 2, hook, ust);       /* the tracer's: not counted */
	au_stack(&cap, 1, hook);            /* no frame besides the tracer's */
	finish();
	uint32_t known, shallow;
	mpa_sites_depth(sites, &known, &shallow);
	cr_expect_eq(known, 3);
	cr_expect_eq(shallow, 2);
	mpa_sites_depth(NULL, &known, &shallow);
	cr_expect_eq(known, 0);
}

/* ---- the site of a stack ------------------------------------------------------------ */

/* The cases of tests/analyzers/test_sites.c: the same answers as the
 * framework's mpa_site_name(). */
Test(core_sites, site_is_the_first_interesting_frame)
{
	static const struct {
		const char *func, *bin;
	} wrappers[] = {
		{"malloc", LIBC},
		{"__strdup", LIBC},
		{"xmalloc", "/usr/bin/bash"},
		{"g_malloc0", LIBDIR "libglib-2.0.so.0"},
		{"operator new(unsigned long)", "/usr/lib/libstdc++.so.6"},
		{"mpa_hook_alloc", "/usr/local/lib/libmpa-preload.so"},
		{"malloc@GLIBC_2.2.5", LIBC},
		{"_Znwm", "/usr/lib/libstdc++.so.6"},
	};
	size_t nw = sizeof wrappers / sizeof *wrappers;
	uint32_t st[8];
	uint32_t caller = au_frame(&cap, "parse_args", PROG, "args.c", 42);
	uint32_t mn = au_frame(&cap, "main", PROG, "main.c", 3);
	for (size_t i = 0; i < nw; i++)
		st[i] = au_stack(&cap, 3, au_frame(&cap, wrappers[i].func, wrappers[i].bin, NULL, 0),
				 caller, mn);
	uint32_t own = au_stack(&cap, 2, au_frame(&cap, "make_buffer", PROG, "buf.c", 7), mn);
	/* several skipped frames: the preload's hook, malloc, a passthrough */
	uint32_t pt = au_frame(&cap, "thread_tramp", PRELOAD, "preload.c", 1340);
	uint32_t deep = au_stack(&cap, 5, au_frame(&cap, "mpa_hook_alloc", PRELOAD, NULL, 0),
				 au_frame(&cap, "malloc", LIBC, NULL, 0), pt,
				 au_frame(&cap, "worker", PROG, "w.c", 9), mn);
	/* the runtime is a site: libc's fopen allocated its FILE */
	uint32_t fopen_st = au_stack(&cap, 3, au_frame(&cap, "malloc", LIBC, NULL, 0),
				     au_frame(&cap, "fopen", LIBC, "iofopen.c", 86), mn);
	/* nothing but skipped frames: the first existing frame */
	uint32_t m = au_frame(&cap, "malloc", LIBC, NULL, 0);
	uint32_t allskip_fr[] = {0, 4242, m, pt};
	uint32_t allskip = stackv(allskip_fr, 4);
	finish();

	for (size_t i = 0; i < nw; i++) {
		cr_expect_str_eq(mpa_sites_name(sites, st[i]), "parse_args (args.c:42)", "wrapper %s",
				 wrappers[i].func);
		cr_expect_eq(mpa_sites_site_frame(sites, st[i]), 1, "wrapper %s", wrappers[i].func);
	}
	cr_expect_str_eq(mpa_sites_name(sites, own), "make_buffer (buf.c:7)");
	cr_expect_eq(mpa_sites_site_frame(sites, own), 0);
	cr_expect_str_eq(mpa_sites_name(sites, deep), "worker (w.c:9)");
	cr_expect_eq(mpa_sites_site_frame(sites, deep), 3);
	cr_expect_str_eq(mpa_sites_name(sites, fopen_st), "fopen (iofopen.c:86)");
	cr_expect_eq(mpa_sites_site_frame(sites, allskip), 2);
	cr_expect_str_eq(mpa_sites_name(sites, allskip), "malloc (libc.so.6)");
	cr_expect_str_eq(mpa_sites_name(sites, 0), "??");
	cr_expect_eq(mpa_sites_site_frame(sites, 0), -1);
	/* the same site frame: the same pointer */
	cr_expect_eq(mpa_sites_name(sites, st[0]), mpa_sites_name(sites, st[1]));
	cr_expect_eq(mpa_sites_name(sites, st[0]), mpa_sites_frame_name(sites, caller));
}

/* ---- the tracer's own blocks ---------------------------------------------------------- */

/* The stacks of tests/analyzers/test_timeline_e2e.c (tracer_blocks_told_by_
 * stack), each rule of the tracer rule with a case. */
Test(core_sites, tracer_rule)
{
	struct au_cap *c = &cap;
	uint32_t ld_init = au_frame(c, "call_init", LIBDIR "ld-linux-x86-64.so.2", "dl-init.c", 74);
	uint32_t ld_dlinit = au_frame(c, "_dl_init", LIBDIR "ld-linux-x86-64.so.2", "dl-init.c", 121);
	uint32_t ld_new = au_frame(c, "_dl_new_object", LIBDIR "ld-linux-x86-64.so.2", NULL, 0);
	uint32_t ld_deps = au_frame(c, "_dl_map_object_deps", LIBDIR "ld-linux-x86-64.so.2", NULL, 0);
	uint32_t ld_dtv = au_frame(c, "allocate_dtv", LIBDIR "ld-linux-x86-64.so.2", NULL, 0);
	uint32_t c_strdup = au_frame(c, "__strdup", LIBC, "strdup.c", 42);
	uint32_t c_dlopen = au_frame(c, "dlopen@GLIBC_2.2.5", LIBC, "dlopen.c", 71);
	uint32_t c_pthread = au_frame(c, "pthread_create@GLIBC_2.2.5", LIBC, NULL, 0);
	uint32_t c_start = au_frame(c, "start_thread", LIBC, NULL, 0);
	uint32_t cxx = au_frame(c, "", LIBDIR "libstdc++.so.6.0.30", NULL, 0);
	uint32_t numa_bm = au_frame(c, "numa_bitmask_alloc", LIBDIR "libnuma.so.1.0.0", NULL, 0);
	uint32_t numa_init = au_frame(c, "", LIBDIR "libnuma.so.1.0.0", NULL, 0);
	uint32_t ust = au_frame(c, "", UST, NULL, 0);
	uint32_t ust_reg = au_frame(c, "lttng_ust_probe_register", UST, NULL, 0);
	uint32_t ust_dl = au_frame(c, "dlopen", UST_DL, NULL, 0);
	uint32_t pre_pthread = au_frame(c, "pthread_create", PRELOAD, "preload.c", 1359);
	uint32_t pre_tramp = au_frame(c, "thread_tramp", PRELOAD, "preload.c", 1340);
	uint32_t pre_ctor = au_frame(c, "lttng_ust_constructor_mpa", PRELOAD, NULL, 0);
	uint32_t pre_malloc = au_frame(c, "malloc", PRELOAD, NULL, 0);
	uint32_t lib_ctor = au_frame(c, "mpa_early_ctor_alloc", "/opt/app/libwl-early.so", NULL, 0);
	uint32_t unresolved = au_frame(c, "", "", NULL, 0);
	uint32_t named_unres = au_frame(c, "main", "", NULL, 0);
	uint32_t fmain = au_frame(c, "main", "/usr/bin/demo", "demo.c", 30);
	uint32_t fworker = au_frame(c, "worker", "/usr/bin/demo", "demo.c", 40);
	uint32_t prog_malloc = au_frame(c, "malloc", "/usr/bin/demo", "mymalloc.c", 5);
	uint32_t heaptrack = au_frame(c, "", LIBDIR "heaptrack/libheaptrack_preload.so", NULL, 0);
	uint32_t vg = au_frame(c, "", LIBDIR "valgrind/vgpreload_memcheck-amd64-linux.so", NULL, 0);
	struct {
		const char *why;
		int want;
		uint32_t n, fr[5];
	} rows[] = {
		/* test_timeline_e2e's program rows */
		{"libstdc++'s pool, from its constructor: runtime only", 0, 3, {cxx, ld_init, ld_dlinit}},
		{"a library constructor decides", 0, 3, {lib_ctor, ld_init, ld_dlinit}},
		{"ust-dl's dlopen passes main's dlopen through", 0, 4, {ld_deps, c_dlopen, ust_dl, fmain}},
		{"preload trampoline passes the worker through", 0, 3, {fworker, pre_tramp, c_start}},
		{"libnuma called by the program", 0, 2, {numa_bm, fmain}},
		/* its tracer rows */
		{"libnuma's constructor alone", 1, 4, {numa_bm, numa_init, ld_init, ld_dlinit}},
		{"strdup called by liblttng-ust", 1, 4, {c_strdup, ust, ust_dl, fmain}},
		{"a DTV of liblttng-ust's thread", 1, 4, {ld_dtv, c_pthread, pre_pthread, ust}},
		{"liblttng-ust's thread through the trampoline", 1, 3, {ust, pre_tramp, c_start}},
		{"the provider's constructor in the preload", 1, 3, {ust_reg, pre_ctor, ld_init}},
		{"unresolved frames are skipped", 1, 2, {unresolved, ust}},
		/* the one-frame start-up row is not told by the stack rule */
		{"the loader alone", 0, 1, {ld_new}},
		/* one case per rule */
		{"rule 1: a named frame without binary is skipped", 1, 2, {named_unres, ust}},
		{"rule 2: runtime skipped, program decides", 0, 3, {c_strdup, cxx, fmain}},
		{"rule 3: passthrough then tracer", 1, 3, {pre_pthread, ust_reg, fmain}},
		{"rule 4: heaptrack", 1, 2, {heaptrack, fmain}},
		{"rule 4: valgrind's preload", 1, 2, {vg, fmain}},
		{"the preload's malloc hook passes main's call through", 0, 2, {pre_malloc, fmain}},
		{"the preload's malloc hook called by the preload itself", 1, 3,
		 {pre_malloc, pre_ctor, ld_init}},
		{"rule 4: tracer before a dependency", 1, 3, {ust, numa_bm, fmain}},
		{"rule 5: dependency then program", 0, 3, {numa_init, fworker, ust}},
		{"rule 5: dependency and runtime only", 1, 3, {c_strdup, numa_init, ld_init}},
		{"rule 6: the program decides first", 0, 2, {fworker, ust}},
		{"an allocator in the program's binary counts as the program", 0, 2,
		 {prog_malloc, ust}},
		{"nothing but passthrough frames", 0, 2, {pre_tramp, ust_dl}},
	};
	size_t n = sizeof rows / sizeof *rows;
	uint32_t ids[32];
	cr_assert(n <= 32);
	for (size_t i = 0; i < n; i++)
		ids[i] = stackv(rows[i].fr, rows[i].n);
	uint32_t empty = stackv(NULL, 0);
	finish();
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(mpa_sites_is_tracer(sites, ids[i]), rows[i].want, "%s", rows[i].why);
	cr_expect_eq(mpa_sites_is_tracer(sites, empty), 0);
	cr_expect_eq(mpa_sites_is_tracer(sites, 0), 0);
	cr_expect_eq(mpa_sites_is_tracer(sites, UINT32_MAX), 0);
}

/* ---- names ---------------------------------------------------------------------------- */

Test(core_sites, names_are_demangled)
{
	uint32_t f1 = au_frame(&cap, "_ZN3foo3barEv", PROG, "foo.cc", 3);
	uint32_t f2 = au_frame(&cap, "_ZN3foo3barEv@@LIB_1.0", PROG, "foo.cc", 4);
	uint32_t f3 = au_frame(&cap, "_ZNK5mylib6detail6Parser9parseBodyERKNSt7__cxx1112basic_"
				     "stringIcSt11char_traitsIcESaIcEEE", PROG, "parser.cc", 12);
	uint32_t f4 = au_frame(&cap, "_Zbogus", PROG, "x.c", 1);
	uint32_t f5 = au_frame(&cap, "i", PROG, "x.c", 2); /* a C name, not the type int */
	uint32_t f6 = au_frame(&cap, "_Z3foov.cold", PROG, NULL, 0);
	uint32_t f7 = au_frame(&cap, "helper", PROG, "h.c", 0);
	uint32_t f8 = au_frame(&cap, "helper2", LIBDIR "libx.so.1", NULL, 0);
	uint32_t f9 = au_frame(&cap, "", LIBDIR "libx.so.1", NULL, 0);
	uint32_t f10 = au_frame(&cap, "", "", NULL, 0);
	uint32_t f11 = au_frame(&cap, "lonely", "", NULL, 0);
	uint32_t st = au_stack(&cap, 2, au_frame(&cap, "_Znwm", LIBDIR "libstdc++.so.6", NULL, 0), f3);
	finish();
	cr_expect_str_eq(mpa_sites_frame_name(sites, f1), "foo::bar() (foo.cc:3)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f2), "foo::bar()@@LIB_1.0 (foo.cc:4)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f3),
			 "mylib::detail::Parser::parseBody(std::__cxx11::basic_string<char, "
			 "std::char_traits<char>, std::allocator<char> > const&) const "
			 "(parser.cc:12)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f4), "_Zbogus (x.c:1)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f5), "i (x.c:2)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f6), "foo() [clone .cold] (prog)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f7), "helper (h.c)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, f8), "helper2 (libx.so.1)");
	char want[64];
	const struct mpt_frame *fr9 = mpt_reader_frame(reader, f9);
	snprintf(want, sizeof want, "libx.so.1+0x%" PRIx64, fr9->bin_off);
	cr_expect_str_eq(mpa_sites_frame_name(sites, f9), want);
	snprintf(want, sizeof want, "0x%" PRIx64, mpt_reader_frame(reader, f10)->ip);
	cr_expect_str_eq(mpa_sites_frame_name(sites, f10), want);
	cr_expect_str_eq(mpa_sites_frame_name(sites, f11), "lonely");
	cr_expect_str_eq(mpa_sites_name(sites, st), mpa_sites_frame_name(sites, f3));
	cr_expect_eq(mpa_sites_site_frame(sites, st), 1);
}

/* ---- labels ----------------------------------------------------------------------------- */

Test(core_sites, labels_keep_what_tells_sites_apart)
{
	const char *pre = "_ZNK5mylib6detail8protocol12StreamParser";
	const char *arg = "ERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE";
	char m1[256], m2[256];
	snprintf(m1, sizeof m1, "%s11parseHeader%s", pre, arg);
	snprintf(m2, sizeof m2, "%s9parseBody%s", pre, arg);
	uint32_t mn = au_frame(&cap, "main", PROG, "main.c", 3);
	uint32_t s1 = au_stack(&cap, 2, au_frame(&cap, m1, PROG, "/src/proto/stream_parser.cc", 120), mn);
	uint32_t s2 = au_stack(&cap, 2, au_frame(&cap, m2, PROG, "/src/proto/stream_parser.cc", 180), mn);
	uint32_t s3 = au_stack(&cap, 2, au_frame(&cap, "very_long_module_prefix_shared_by_sites_a",
						 PROG, "/src/m.c", 10), mn);
	uint32_t s4 = au_stack(&cap, 2, au_frame(&cap, "very_long_module_prefix_shared_by_sites_a",
						 PROG, "/src/m.c", 20), mn);
	uint32_t s5 = au_stack(&cap, 2, au_frame(&cap, "parse_args", PROG, "/src/args.c", 42), mn);
	uint32_t s6 = au_stack(&cap, 2, au_frame(&cap, "_ZZ4mainENKUliE_clEi", PROG, "l.cc", 5), mn);
	uint32_t s7 = au_stack(&cap, 2, au_frame(&cap, "dlopen@GLIBC_2.2.5", LIBC, "dlopen.c", 71), mn);
	uint32_t s8 = au_stack(&cap, 2, au_frame(&cap, "helper", LIBDIR "libx.so.1", NULL, 0), mn);
	uint32_t f9 = au_frame(&cap, "", LIBDIR "libx.so.1", NULL, 0);
	uint32_t s9 = au_stack(&cap, 1, f9);
	finish();

	char b1[256], b2[256];
	/* short enough: whole, file by its base name, no parameter list */
	cr_expect_str_eq(mpa_sites_label(sites, s5, 40, b1, sizeof b1), "parse_args (args.c:42)");
	cr_expect_str_eq(mpa_sites_label(sites, s1, 200, b1, sizeof b1),
			 "mylib::detail::protocol::StreamParser::parseHeader (stream_parser.cc:120)");
	cr_expect_str_eq(mpa_sites_label(sites, s6, 80, b1, sizeof b1),
			 "main::{lambda(int)#1}::operator() (l.cc:5)");
	cr_expect_str_eq(mpa_sites_label(sites, s7, 80, b1, sizeof b1), "dlopen (dlopen.c:71)");
	/* no file: the function alone, or where in which binary */
	cr_expect_str_eq(mpa_sites_label(sites, s8, 80, b1, sizeof b1), "helper");
	snprintf(b2, sizeof b2, "libx.so.1+0x%" PRIx64, mpt_reader_frame(reader, f9)->bin_off);
	cr_expect_str_eq(mpa_sites_label(sites, s9, 80, b1, sizeof b1), b2);
	/* trimmed from the left: the distinguishing end stays */
	mpa_sites_label(sites, s1, 32, b1, sizeof b1);
	mpa_sites_label(sites, s2, 32, b2, sizeof b2);
	cr_expect_str_eq(b1, ELL "seHeader (stream_parser.cc:120)");
	cr_expect_str_eq(b2, ELL "arseBody (stream_parser.cc:180)");
	cr_expect_eq(utf8_chars(b1), 32, "%s", b1);
	cr_expect_eq(utf8_chars(b2), 32, "%s", b2);
	cr_expect(!strncmp(b1, ELL, 3) && !strncmp(b2, ELL, 3), "%s / %s", b1, b2);
	cr_expect_str_eq(b1 + 3 + strlen(b1 + 3) - strlen("(stream_parser.cc:120)"),
			 "(stream_parser.cc:120)");
	cr_expect_str_neq(b1, b2);
	cr_expect(clean_text(b1) && clean_text(b2));
	mpa_sites_label(sites, s3, 20, b1, sizeof b1);
	mpa_sites_label(sites, s4, 20, b2, sizeof b2);
	cr_expect_str_eq(b1, ELL "by_sites_a (m.c:10)");
	cr_expect_str_eq(b2, ELL "by_sites_a (m.c:20)");
	/* a small buffer trims further, on a character boundary */
	cr_expect_str_eq(mpa_sites_label(sites, s3, 20, b1, 12), ELL "(m.c:10)");
	cr_expect_str_eq(mpa_sites_label(sites, s3, 20, b1, 4), ELL);
	cr_expect_str_eq(mpa_sites_label(sites, s3, 20, b1, 3), "");
	cr_expect_str_eq(mpa_sites_label(sites, s3, 1, b1, sizeof b1), ELL);
	cr_expect_str_eq(mpa_sites_label(sites, s3, 0, b1, sizeof b1), "");
	cr_expect_str_eq(mpa_sites_label(sites, 0, 20, b1, sizeof b1), "??");
	b1[0] = 'x';
	cr_expect_eq(mpa_sites_label(sites, s3, 20, b1, 0), b1);
	cr_expect_eq(b1[0], 'x');
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *jframe(json_t *a, size_t i, const char *key)
{
	return json_object_get(json_array_get(a, i), key);
}

Test(core_sites, stack_json_shows_the_user_frames)
{
	uint32_t hook = au_frame(&cap, "mpa_hook_alloc", PRELOAD, "preload.c", 900);
	uint32_t dup = au_frame(&cap, "__strdup", LIBC, "strdup.c", 42);
	uint32_t own = au_frame(&cap, "_ZN3foo3barEv", "/opt/app/bin/server", "foo.cc", 17);
	uint32_t ustf = au_frame(&cap, "", UST, NULL, 0);
	uint32_t tramp = au_frame(&cap, "thread_tramp", PRELOAD, "preload.c", 1340);
	uint32_t start = au_frame(&cap, "start_thread", LIBC, NULL, 0);
	uint32_t st = au_stack(&cap, 6, hook, dup, own, ustf, tramp, start);
	uint32_t site = au_site(&cap, "parse", 12);
	finish();

	json_t *a = mpa_sites_stack_json(sites, st);
	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a), 3, "%s", json_dumps(a, 0));
	cr_expect_str_eq(json_string_value(jframe(a, 0, "function")), "__strdup");
	cr_expect_str_eq(json_string_value(jframe(a, 0, "file")), "strdup.c");
	cr_expect_eq(json_integer_value(jframe(a, 0, "line")), 42);
	cr_expect_str_eq(json_string_value(jframe(a, 0, "binary")), LIBC);
	cr_expect_str_eq(json_string_value(jframe(a, 1, "function")), "foo::bar()");
	cr_expect_str_eq(json_string_value(jframe(a, 1, "binary")), "/opt/app/bin/server");
	char ip[32];
	snprintf(ip, sizeof ip, "0x%" PRIx64, mpt_reader_frame(reader, own)->ip);
	cr_expect_str_eq(json_string_value(jframe(a, 1, "ip")), ip);
	cr_expect_str_eq(json_string_value(jframe(a, 2, "function")), "start_thread");
	cr_expect_str_eq(json_string_value(jframe(a, 2, "file")), "");
	cr_expect_eq(json_integer_value(jframe(a, 2, "line")), 0);
	cr_expect_eq(json_object_size(json_array_get(a, 2)), 5);
	json_decref(a);

	a = mpa_sites_stack_json(sites, site); /* the preload's malloc is hidden */
	cr_assert_eq(json_array_size(a), 2);
	cr_expect_str_eq(json_string_value(jframe(a, 0, "function")), "parse");
	cr_expect_str_eq(json_string_value(jframe(a, 1, "function")), "main");
	json_decref(a);

	a = mpa_sites_stack_json(sites, 0);
	cr_expect(json_is_array(a) && json_array_size(a) == 0);
	json_decref(a);
}

/* ---- hostile input ---------------------------------------------------------------------------- */

Test(core_sites, hostile_ids)
{
	/* a frame naming strings past the table, stacks naming missing frames */
	struct mpt_frame bad = {0x1234, 0x34, 888888, 999999, 777777, 5};
	uint32_t badf;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_frame(cap.w, &bad, &badf, &e), MPT_OK, "%s", e.msg);
	uint32_t good = au_frame(&cap, "work", PROG, "w.c", 8);
	uint32_t mixed_fr[] = {0, 77777, UINT32_MAX, good};
	uint32_t mixed = stackv(mixed_fr, 4);
	uint32_t only_bad_fr[] = {0, 77777, UINT32_MAX};
	uint32_t only_bad = stackv(only_bad_fr, 3);
	uint32_t empty = stackv(NULL, 0);
	uint32_t with_bad = au_stack(&cap, 1, badf);
	finish();

	cr_expect_eq(mpa_sites_frame_class(sites, badf), MPA_FRAME_UNRESOLVED);
	cr_expect_str_eq(mpa_sites_frame_name(sites, badf), "0x1234");
	cr_expect_str_eq(mpa_sites_name(sites, with_bad), "0x1234");
	cr_expect_eq(mpa_sites_site_frame(sites, mixed), 3);
	cr_expect_str_eq(mpa_sites_name(sites, mixed), "work (w.c:8)");
	json_t *a = mpa_sites_stack_json(sites, mixed);
	cr_expect_eq(json_array_size(a), 1);
	json_decref(a);
	a = mpa_sites_stack_json(sites, with_bad);
	cr_expect_eq(json_array_size(a), 1);
	cr_expect_str_eq(json_string_value(jframe(a, 0, "function")), "");
	json_decref(a);
	uint32_t none[] = {only_bad, empty, 0, mixed + 100, UINT32_MAX};
	char buf[64];
	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		cr_expect_eq(mpa_sites_site_frame(sites, none[i]), -1, "stack %u", none[i]);
		cr_expect_eq(mpa_sites_is_tracer(sites, none[i]), 0);
		cr_expect_str_eq(mpa_sites_name(sites, none[i]), "??");
		cr_expect_str_eq(mpa_sites_label(sites, none[i], 10, buf, sizeof buf), "??");
		a = mpa_sites_stack_json(sites, none[i]);
		cr_expect(json_is_array(a) && json_array_size(a) == 0);
		json_decref(a);
	}
	cr_expect_str_eq(mpa_sites_frame_name(sites, 0), "??");
	cr_expect_str_eq(mpa_sites_frame_name(sites, UINT32_MAX), "??");
}

Test(core_sites, no_reader_and_no_object)
{
	char err[128];
	mpa_sites *s = mpa_sites_create(NULL, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	char buf[16];
	mpa_sites *objs[] = {s, NULL};
	for (int k = 0; k < 2; k++) {
		mpa_sites *o = objs[k];
		cr_expect_eq(mpa_sites_frame_class(o, 1), MPA_FRAME_UNRESOLVED);
		cr_expect_eq(mpa_sites_is_tracer(o, 1), 0);
		cr_expect_eq(mpa_sites_site_frame(o, 1), -1);
		cr_expect_str_eq(mpa_sites_name(o, 1), "??");
		cr_expect_str_eq(mpa_sites_frame_name(o, 1), "??");
		cr_expect_str_eq(mpa_sites_label(o, 1, 8, buf, sizeof buf), "??");
		json_t *a = mpa_sites_stack_json(o, 1);
		cr_expect(json_is_array(a) && json_array_size(a) == 0);
		json_decref(a);
	}
	mpa_sites_free(s);
	mpa_sites_free(NULL);
	au_close(&cap);
}

Test(core_sites, hostile_strings)
{
	/* absurdly long: a 100 KB function, a 100 KB mangled name, a 20 KB path,
	 * a 100 KB binary path without a '/' */
	size_t big = 100000;
	char *longf = malloc(big + 1), *longm = malloc(big + 1), *longp = malloc(20001),
	     *longb = malloc(big + 1);
	cr_assert(longf && longm && longp && longb);
	memset(longf, 'a', big);
	longf[big] = 0;
	memset(longm, '1', big);
	memcpy(longm, "_ZN", 3);
	longm[big] = 0;
	memset(longp, 'd', 20000);
	for (size_t i = 100; i < 20000; i += 100)
		longp[i] = '/';
	memcpy(longp + 20000 - 8, "/deep.cc", 8);
	longp[20000] = 0;
	memset(longb, 'b', big);
	longb[big] = 0;
	uint32_t fl = au_frame(&cap, longf, PROG, "x.c", 1);
	uint32_t fm = au_frame(&cap, longm, PROG, "x.c", 1);
	uint32_t fp = au_frame(&cap, "f", PROG, longp, 5);
	uint32_t fb = au_frame(&cap, "", longb, NULL, 0);
	uint32_t fb2 = au_frame(&cap, "g", longb, NULL, 0);
	/* bytes that are not UTF-8: invalid lead, overlong, surrogate, cut
	 * sequence, past U+10FFFF, controls; and an embedded NUL */
	static const char badf[] = "bad\xff\xfe name\x01\n\x7f caf\xc3";
	static const char badfile[] = "f\xc0\xafile\xed\xa0\x80.c\xf4\x90\x80\x80";
	static const char badbin[] = "/lib/\xe2\x28\xa1x\x1b[31m.so";
	static const char nulf[] = "mall\0oc";
	uint32_t fu = rawframe(badf, sizeof badf - 1, badfile, sizeof badfile - 1, badbin,
			       sizeof badbin - 1, 9);
	uint32_t fn = rawframe(nulf, sizeof nulf - 1, "", 0, "/lib/libz\0.so", 13, 0);
	uint32_t fok = au_frame(&cap, "caf\xc3\xa9_\xf0\x9f\x98\x80", PROG, "\xe6\x97\xa5.c", 3);
	uint32_t st = au_stack(&cap, 3, fu, fn, fok);
	finish();
	free(longf);
	free(longm);
	free(longp);
	free(longb);

	uint32_t all[] = {fl, fm, fp, fb, fb2, fu, fn, fok};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
		const char *nm = mpa_sites_frame_name(sites, all[i]);
		cr_expect(strlen(nm) <= 4096, "frame %zu: %zu bytes", i, strlen(nm));
		cr_expect(clean_text(nm), "frame %zu is not clean text", i);
	}
	const char *nm = mpa_sites_frame_name(sites, fl);
	cr_expect(strstr(nm, ELL " (x.c:1)") != NULL, "%.40s...", nm);
	nm = mpa_sites_frame_name(sites, fm); /* not demangled: too long */
	cr_expect(!strncmp(nm, "_ZN111", 6));
	nm = mpa_sites_frame_name(sites, fp); /* the file's tail is kept */
	cr_expect(!strncmp(nm, "f (" ELL, 6), "%.20s", nm);
	cr_expect(strstr(nm, "/deep.cc:5)") != NULL);
	cr_expect_str_eq(mpa_sites_frame_name(sites, fu),
			 "bad\xef\xbf\xbd\xef\xbf\xbd name\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 " caf\xef\xbf\xbd (f\xef\xbf\xbd\xef\xbf\xbdile\xef\xbf\xbd\xef\xbf\xbd"
			 "\xef\xbf\xbd.c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd:9)");
	cr_expect_str_eq(mpa_sites_frame_name(sites, fn), "mall\xef\xbf\xbdoc (libz\xef\xbf\xbd.so)");
	cr_expect_eq(mpa_sites_frame_class(sites, fn), MPA_FRAME_PROGRAM);
	cr_expect_str_eq(mpa_sites_frame_name(sites, fok), "caf\xc3\xa9_\xf0\x9f\x98\x80 (\xe6\x97\xa5.c:3)");

	json_t *a = mpa_sites_stack_json(sites, st);
	cr_assert_not_null(a);
	cr_assert_eq(json_array_size(a), 3);
	char *dump = json_dumps(a, 0);
	cr_assert_not_null(dump);
	json_error_t je;
	json_t *back = json_loads(dump, 0, &je);
	cr_expect_not_null(back, "%s", je.text);
	cr_expect(strstr(dump, "\\u001b") == NULL, "a control character reached the JSON");
	json_decref(back);
	free(dump);
	json_decref(a);

	char lab[64];
	/* labels of hostile sites are bounded and clean */
	cr_expect(clean_text(mpa_sites_label(sites, st, 16, lab, sizeof lab)));
	cr_expect_leq(utf8_chars(lab), 16);
}

/* ---- concurrency ------------------------------------------------------------------------------- */

enum { NTHREADS = 8, NSTACKS = 300 };

struct worker {
	mpa_sites *s;
	pthread_barrier_t *go;
	uint32_t first_stack;
	unsigned seed;
	const char *names[NSTACKS];
	int tracer[NSTACKS];
	int json_frames[NSTACKS];
	char labels[NSTACKS][48];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(w->go);
	for (int round = 0; round < 3; round++) {
		for (uint32_t k = 0; k < NSTACKS; k++) {
			/* each thread walks the stacks in its own order */
			uint32_t i = (k * 7 + w->seed * 31 + (unsigned)round) % NSTACKS;
			uint32_t id = w->first_stack + i;
			const char *n = mpa_sites_name(w->s, id);
			if (round > 0 && n != w->names[i])
				w->names[i] = NULL; /* a name moved: reported below */
			else
				w->names[i] = n;
			w->tracer[i] = mpa_sites_is_tracer(w->s, id);
			mpa_sites_label(w->s, id, 24, w->labels[i], sizeof w->labels[i]);
			json_t *a = mpa_sites_stack_json(w->s, id);
			w->json_frames[i] = a ? (int)json_array_size(a) : -1;
			json_decref(a);
		}
	}
	return NULL;
}

Test(core_sites, concurrent_readers)
{
	uint32_t mn = au_frame(&cap, "main", PROG, "main.c", 1);
	uint32_t ust = au_frame(&cap, "", UST, NULL, 0);
	uint32_t first = 0;
	for (uint32_t i = 0; i < NSTACKS; i++) {
		char fn[64];
		/* C++ names, so that the demangler runs in every thread */
		snprintf(fn, sizeof fn, "_ZN6module4funcILi%uEEEvi", i);
		uint32_t f = au_frame(&cap, fn, PROG, "mod.cc", i + 1);
		uint32_t m = au_frame(&cap, "malloc", LIBC, NULL, 0);
		uint32_t id = i % 3 == 0 ? au_stack(&cap, 3, m, ust, mn) : au_stack(&cap, 3, m, f, mn);
		if (i == 0)
			first = id;
		cr_assert_eq(id, first + i);
	}
	finish();

	/* expected answers from a second object, built and asked alone */
	mpa_sites *ref = mpa_sites_create(reader, NULL, 0);
	cr_assert_not_null(ref);
	static struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NTHREADS);
	for (unsigned t = 0; t < NTHREADS; t++) {
		memset(&w[t], 0, sizeof w[t]);
		w[t].s = sites;
		w[t].go = &go;
		w[t].first_stack = first;
		w[t].seed = t;
		cr_assert_eq(pthread_create(&th[t], NULL, work, &w[t]), 0);
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&go);

	for (uint32_t i = 0; i < NSTACKS; i++) {
		uint32_t id = first + i;
		const char *want = mpa_sites_name(ref, id);
		char wl[48];
		mpa_sites_label(ref, id, 24, wl, sizeof wl);
		json_t *a = mpa_sites_stack_json(ref, id);
		int nj = (int)json_array_size(a);
		json_decref(a);
		for (unsigned t = 0; t < NTHREADS; t++) {
			cr_assert_not_null(w[t].names[i], "thread %u saw stack %u's name move", t, id);
			cr_assert_eq(w[t].names[i], w[0].names[i], "thread %u: another pointer", t);
			cr_assert_str_eq(w[t].names[i], want);
			cr_assert_eq(w[t].tracer[i], mpa_sites_is_tracer(ref, id));
			cr_assert_str_eq(w[t].labels[i], wl);
			cr_assert_eq(w[t].json_frames[i], nj);
		}
		if (i % 3 == 0) {
			cr_assert_eq(mpa_sites_is_tracer(ref, id), 1);
		} else {
			char e[64];
			snprintf(e, sizeof e, "void module::func<%u>(int) (mod.cc:%u)", i, i + 1);
			cr_assert_str_eq(want, e);
		}
	}
	mpa_sites_free(ref);
}
