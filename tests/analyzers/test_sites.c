/* mpa_site_name(): the site of a stack is its first frame that is neither the
 * allocator, a thin allocating wrapper, nor the tracer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze_test_util.h"

static void expect_site(const char *wrapper, const char *wrapper_bin)
{
	struct au_cap c;
	struct mpt_error e = {0};
	mpt_reader *r = NULL;
	char buf[256];

	au_open(&c);
	uint32_t w = au_frame(&c, wrapper, wrapper_bin, NULL, 0);
	uint32_t caller = au_frame(&c, "parse_args", "/usr/bin/prog", "args.c", 42);
	uint32_t mn = au_frame(&c, "main", "/usr/bin/prog", "main.c", 3);
	uint32_t st = au_stack(&c, 3, w, caller, mn);
	au_alloc(&c, 1, 100, 0x1000, 10, st);
	au_close(&c);

	cr_assert_eq(mpt_reader_open(c.path, &r, &e), MPT_OK, "%s", e.msg);
	struct mpa_ctx ctx = {.reader = r};
	cr_expect_str_eq(mpa_site_name(&ctx, st, buf, sizeof buf), "parse_args (args.c:42)",
			 "wrapper %s", wrapper);
	cr_expect_eq(mpa_site_frame(&ctx, st), 1);
	mpt_reader_close(r);
	au_rmrf(c.dir);
}

Test(sites, allocator_and_wrappers_are_skipped)
{
	expect_site("malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6");
	expect_site("__strdup", "/usr/lib/x86_64-linux-gnu/libc.so.6");
	expect_site("xmalloc", "/usr/bin/bash");
	expect_site("g_malloc0", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0");
	expect_site("operator new(unsigned long)", "/usr/lib/libstdc++.so.6");
	expect_site("mpa_hook_alloc", "/usr/local/lib/libmpa-preload.so");
}

Test(sites, a_program_function_is_the_site)
{
	struct au_cap c;
	struct mpt_error e = {0};
	mpt_reader *r = NULL;
	char buf[256];

	au_open(&c);
	uint32_t own = au_frame(&c, "make_buffer", "/usr/bin/prog", "buf.c", 7);
	uint32_t mn = au_frame(&c, "main", "/usr/bin/prog", "main.c", 3);
	uint32_t st = au_stack(&c, 2, own, mn);
	au_alloc(&c, 1, 100, 0x1000, 10, st);
	au_close(&c);
	cr_assert_eq(mpt_reader_open(c.path, &r, &e), MPT_OK, "%s", e.msg);
	struct mpa_ctx ctx = {.reader = r};
	cr_expect_str_eq(mpa_site_name(&ctx, st, buf, sizeof buf), "make_buffer (buf.c:7)");
	cr_expect_str_eq(mpa_site_name(&ctx, 0, buf, sizeof buf), "??");
	mpt_reader_close(r);
	au_rmrf(c.dir);
}
