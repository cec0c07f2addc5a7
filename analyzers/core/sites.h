/* mpa analysis core — sites: the one frame classifier, and the readable
 * names of the places that allocate.
 *
 * Every question "is this frame the interesting caller?" is answered here,
 * from one classification of each frame of the capture.
 *
 * ---- the classes (mpa_sites_frame_class) -------------------------------
 * A frame's binary is compared by its base name (after the last '/'), by
 * prefix; its function by its exact name without any "@VERSION" suffix
 * ("malloc@GLIBC_2.2.5" is malloc).  The first rule that matches wins:
 *
 *  1. TRACER — the binary is libmpa-preload*, liblttng-ust* (liblttng-ust,
 *     -tracepoint, -common, -dl ...), libheaptrack* or vgpreload_*: the
 *     tracer's or our hooks' code, never the program's.
 *     PASSTHROUGH instead when the frame only passes the program's own call
 *     through: in libmpa-preload* its allocator entry points (the malloc
 *     family and operator new/delete hooks: a stack that starts there was
 *     the caller's call) and the functions thread_tramp, main_hook,
 *     __libc_start_main, pthread_create, exit, _exit, _Exit (its thread
 *     trampoline, main wrapper and hooks, outer frames of the program's own
 *     calls); in liblttng-ust-dl* the functions dlopen, dlmopen, dlclose
 *     (its wrapper of the program's dlopen: the loader's work for it is the
 *     program's).
 *  2. ALLOCATOR — the function is the allocator or a thin allocating
 *     wrapper, whichever binary holds it: the malloc family and its glibc
 *     aliases (__libc_malloc ..., a "__GI_" prefix is ignored), strdup and
 *     friends, the C++ operators new and delete in both spellings (mangled
 *     _Znw* _Zna* _Zdl* _Zda*, demangled "operator new..."/"operator
 *     delete..."), the checked wrappers of GNU programs (gnulib's and git's
 *     xmalloc family), glib's g_malloc family, perl's Perl_safesysmalloc
 *     family and CPython's PyMem_* / PyObject_Malloc family, and the
 *     user's [sites] alloc_fns (mpa_sites_create_with).  The caller of
 *     such a frame is what the user wants to see.
 *  3. UNRESOLVED — the frame has no binary (a JIT, or a frame-pointer walk
 *     gone astray); its function name, if any, is still shown.  A frame id
 *     outside the frame table is UNRESOLVED too.
 *  4. RUNTIME — libc.so*, libc-*, ld-linux*, ld64.so*, libgcc_s*,
 *     libstdc++*, libpthread*, libdl.so*, libdl-*, librt*, libm.so*,
 *     libm-*: the language runtime and the loader allocate on behalf of
 *     whoever called them (strdup called by LTTng-UST is LTTng-UST's).
 *  5. TRACER_DEP — libnuma*: loaded only because liblttng-ust needs it.
 *  6. PROGRAM — anything else: the program and its libraries.
 *
 * ---- the tracer's own blocks (mpa_sites_is_tracer) ---------------------
 * Whether a user allocation was made by the tracer for itself, so that the
 * live heap is the program's as heaptrack and valgrind report it.  These
 * rules were tuned on real recordings; the stack is read from the
 * innermost frame out, and each frame counts by its BINARY (an ALLOCATOR
 * frame counts as what rules 1 and 3-6 make of its binary):
 *  - skipped: UNRESOLVED, RUNTIME and PASSTHROUGH frames;
 *  - noted and skipped: TRACER_DEP frames;
 *  - decides "tracer": the first TRACER frame (e.g. the provider's
 *    constructor registering its probes in libmpa-preload);
 *  - decides "program": the first frame of any other binary.
 * With no deciding frame the block is the tracer's when a TRACER_DEP frame
 * was seen (libnuma's constructor, run by the loader: numa_bitmask_alloc <-
 * libnuma <- call_init <- _dl_init), else the program's (the runtime's own
 * work, e.g. libstdc++'s emergency exception pool allocated by its
 * constructor before main).  Examples: strdup <- liblttng-ust <- ... <-
 * dlopen@liblttng-ust-dl -> tracer; _dl_map_object_deps <- dlopen@libc <-
 * dlopen@liblttng-ust-dl <- main -> program; allocate_dtv <-
 * pthread_create@libc <- pthread_create@preload <- liblttng-ust -> tracer.
 * Caveat: a program that itself links libnuma also has libnuma's
 * constructor blocks counted as the tracer's.
 *
 * ---- the site of a stack (mpa_sites_site_frame, mpa_sites_name) --------
 * The first frame, from the innermost out, that is neither ALLOCATOR nor
 * TRACER nor PASSTHROUGH: the code that asked for the memory.  Runtime
 * frames ARE sites (a block allocated by libc's fopen is fopen's; leak
 * suppressions of the loader's own blocks rely on it).  When every frame
 * is skipped, the outermost ALLOCATOR frame is the site (a stack cut short
 * after "xmalloc": xmalloc says most), else the first frame that exists.
 *
 * ---- names -------------------------------------------------------------
 * A frame is named "func (file:line)", "func (file)", "func (binary)" or
 * "func" as far as it is known, else "binary+0xOFFSET", else "0xIP"
 * (binary = base name).  C++ names are demangled by libstdc++'s
 * __cxa_demangle ("_ZN3foo3barEv" -> "foo::bar()"; a "@VERSION" suffix is
 * kept after the demangled name).  Capture strings are hostile input: a
 * byte that is not valid UTF-8, or a control character, becomes U+FFFD; a
 * function longer than 2 KiB, a file longer than 512 bytes (its tail is
 * kept) and a binary base name longer than 256 bytes are cut with "…";
 * mangled names longer than 4 KiB are not demangled.  Every string this
 * module returns is valid UTF-8 without control characters, fit for
 * jansson, CSV and gnuplot.
 *
 * ---- use ----------------------------------------------------------------
 * Create one object per capture after opening it; creation classifies every
 * frame and answers is_tracer/site_frame for every stack in one pass (time
 * linear in the size of the tables; memory a byte and a pointer per frame,
 * a pointer per string, five bytes per stack, plus the names asked for).
 * After creation every function may be called from any number of threads
 * at once: the frame classes and stack answers are read-only, and the
 * names and demangled functions are cached on first use (lock-free, the
 * first writer wins) and stay valid until mpa_sites_free().  The reader
 * must outlive the object.  Every function accepts NULL for s (everything
 * unknown).
 *
 * Dependency order: analyzers' core; uses libmpt (tables), jansson and
 * libstdc++'s demangler (link -lstdc++).
 */
#ifndef MPA_CORE_SITES_H
#define MPA_CORE_SITES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mpa/mpt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpa_sites mpa_sites;

/* What a frame is (rules above). */
enum mpa_frame_class {
	MPA_FRAME_PROGRAM = 0, /* the program or its libraries */
	MPA_FRAME_ALLOCATOR,   /* malloc family, operator new/delete, xmalloc, g_malloc, strdup... */
	MPA_FRAME_RUNTIME,     /* libc, the loader, libgcc_s, libstdc++, libpthread, libdl, librt, libm */
	MPA_FRAME_TRACER,      /* libmpa-preload, liblttng-ust*, libheaptrack, vgpreload_ */
	MPA_FRAME_PASSTHROUGH, /* a tracer frame that only passes the program's call through */
	MPA_FRAME_TRACER_DEP,  /* libnuma: loaded only for the tracer */
	MPA_FRAME_UNRESOLVED   /* no binary, or no such frame */
};

/* "program", "allocator", "runtime", "tracer", "passthrough", "tracer_dep",
 * "unresolved"; "?" for a value outside the enum. */
const char *mpa_frame_class_name(enum mpa_frame_class c);

/* Classifies every frame of r's frame table and every stack of its stack
 * table.  r may be NULL (a capture without tables: every frame unknown,
 * every stack empty); it is borrowed and must outlive the object.  NULL
 * when out of memory, with one line in err (err may be NULL). */
mpa_sites *mpa_sites_create(const mpt_reader *r, char *err, size_t errlen);

/* The tables grew (a live capture: the same capture's tables, later):
 * r's frame, stack and string tables hold s's so far with the same ids and
 * contents, plus new ones at the end.  Classifies the new frames and
 * stacks; from now on s reads r (borrowed, it must outlive s; the old
 * reader may be closed).  Names returned so far stay valid.  Not to be
 * called while another thread uses s.  0, or -1 with err when r's tables
 * are smaller (not a continuation) or out of memory (s is then unchanged
 * for the ids it knew, and still reads the old reader's ids only). */
int mpa_sites_grow(mpa_sites *s, const mpt_reader *r, char *err, size_t errlen);

/* The same, with the user's allocation functions ([sites] alloc_fns): a
 * comma-separated list of function names as recorded ("@VERSION" ignored),
 * each exact or, ending in '*', a prefix.  Their frames are ALLOCATOR
 * frames, skipped when naming a site like valgrind's --alloc-fn.
 * alloc_fns may be NULL; it is read during the call only. */
mpa_sites *mpa_sites_create_with(const mpt_reader *r, const char *alloc_fns, char *err,
				 size_t errlen);

/* Stack depth: *stacks = the program's stacks of the table (not the
 * tracer's, with a PROGRAM or ALLOCATOR frame), *shallow = those with
 * exactly one frame that is not the tracer's (a frame-pointer walk that
 * stopped in a binary built without frame pointers looks like this). */
void mpa_sites_depth(const mpa_sites *s, uint32_t *stacks, uint32_t *shallow);

/* Frees s and every name it returned.  NULL ok. */
void mpa_sites_free(mpa_sites *s);

/* The class of frame_id; MPA_FRAME_UNRESOLVED for 0 or an id outside the
 * frame table. */
enum mpa_frame_class mpa_sites_frame_class(const mpa_sites *s, uint32_t frame_id);

/* 1 when the stack says the block is the tracer's own (rules above), else
 * 0 (also for stack 0, an id outside the table, or an empty stack). */
int mpa_sites_is_tracer(const mpa_sites *s, uint32_t stack_id);

/* Index (innermost = 0) of the site frame of stack_id, -1 when the stack is
 * empty, unknown, or names no existing frame. */
int mpa_sites_site_frame(const mpa_sites *s, uint32_t stack_id);

/* The name of the site frame of stack_id ("func (file:line)", demangled),
 * "??" when there is none.  The pointer is owned by s and stays valid
 * until mpa_sites_free(); two calls for stacks with the same site frame
 * return the same pointer.  "??" also when out of memory. */
const char *mpa_sites_name(mpa_sites *s, uint32_t stack_id);

/* The same name for one frame; "??" for 0 or an id outside the table. */
const char *mpa_sites_frame_name(mpa_sites *s, uint32_t frame_id);

/* A short label of the site of stack_id for plots, at most width
 * characters (code points): the function (demangled, without its
 * parameter list or version) then "(file:line)" with the file's base name
 * (no binary after a function without file: "binary+0xOFFSET" only when
 * the function is unknown).
 * Too long, it is trimmed FROM THE LEFT and starts with "…", so that what
 * tells two sites apart (the end of a qualified name, the file and line)
 * stays.  Written to buf (len bytes, NUL-terminated; 4 * width + 1 bytes
 * always suffice, a smaller buf trims further); "??" when the stack has no
 * site.  Returns buf (untouched when len is 0).  Labels of different sites
 * differ in what they keep, but are not guaranteed unique. */
const char *mpa_sites_label(mpa_sites *s, uint32_t stack_id, size_t width, char *buf,
			    size_t len);

/* The frames of stack_id a user should see, innermost first, as a new JSON
 * array of {"function", "file", "line", "binary", "ip"}: function
 * demangled ("" unknown), file as recorded ("" unknown), line (0 unknown),
 * binary's full path ("" unknown), ip as a "0x..." string.  TRACER and
 * PASSTHROUGH frames (mpa's preload, LTTng-UST, heaptrack, valgrind) and
 * frame ids outside the table are left out.  [] for stack 0 or an unknown
 * stack.  NULL when out of memory. */
json_t *mpa_sites_stack_json(mpa_sites *s, uint32_t stack_id);

#ifdef __cplusplus
}
#endif
#endif /* MPA_CORE_SITES_H */
