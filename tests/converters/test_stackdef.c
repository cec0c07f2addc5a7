/* converters: the mpa provider's interned stacks (mpa:stack definitions,
 * stack_id in alloc/free/realloc/map/unmap; converters/cvt_stackdef.c), on
 * a python3-bt2 fixture (gen_fixture.py intern): ids resolved per process
 * image, a fork child's and a new image's ids never taken from another
 * image, an id without definition (its mpa:stack lost) given the
 * "[unknown: stack definition lost]" stack and counted, never guessed, and
 * an event carrying its frames inline (stack_id 0) read as before. */
#include "cvt_test_util.h"

static const char unknown[] = "[unknown: stack definition lost]";

/* The stack of a record as "0x..,0x.." (or the unknown marker). */
static const char *frames_of(const struct ct_capture *c, uint32_t stack_id)
{
	uint32_t n = 0;
	const uint32_t *fr = mpt_reader_stack(c->r, stack_id, &n);
	char buf[512] = "";
	size_t len = 0;

	cr_assert(fr && n > 0, "stack %u", stack_id);
	for (uint32_t i = 0; i < n; i++) {
		const struct mpt_frame *f = mpt_reader_frame(c->r, fr[i]);
		const char *fn = f->func ? mpt_reader_string(c->r, f->func, NULL) : "";

		if (strcmp(fn, unknown) == 0) {
			cr_assert_eq(n, 1);
			return unknown;
		}
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s0x%" PRIx64, i ? "," : "", f->ip);
	}
	return ct_fmt("%s", buf);
}

Test(convert_mpa, interned_stacks_by_image_and_lost_definitions, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/intern", tmp);
	char *out = ct_fmt("%s/intern.mpt", tmp);
	char *err = ct_fmt("%s/err.txt", tmp);

	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/gen_fixture.py' intern '%s' "
			   ">/dev/null 2>&1", ct_env("MPA_SRC"), trace), 0);
	cr_assert_eq(ct_sh("'%s/bin/mpa-convert' -q -o '%s' '%s' 2>'%s'", ct_env("MPA_BUILD"), out,
			   trace, err), 0, "mpa-convert failed: %s", ct_read_file(err));
	struct ct_capture c;
	ct_load(&c, out);
	struct ct_cmp res;
	/* record by record: mpa:stack makes no record */
	ct_compare(ct_fmt("'%s'", trace), &c, tmp, &res);
	cr_assert_eq(res.skipped, 3, "the 3 mpa:stack definitions");
	static const struct {
		int32_t pid;
		uint64_t size;
		const char *frames;
	} want[] = {
		{ 3001, 101, "0x401000,0x402000,0x403000" },
		{ 3001, 103, unknown },                        /* never defined */
		{ 3001, 104, "0x401200,0x402200,0x403200,0x404200" }, /* inline */
		{ 3001, 106, "0x401000,0x402000,0x403000" },
		{ 3002, 201, unknown },                        /* not the parent's id 1 */
		{ 3002, 202, "0x401300" },
		{ 3001, 107, "0x401000,0x402000,0x403000" },   /* the parent's own again */
		{ 3001, 105, unknown },                        /* exec: a new image */
	};
	size_t k = 0, frees = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct mpa_event *e = &c.ev[i];
		if (e->kind == MPA_KIND_FREE) {
			cr_assert_str_eq(frames_of(&c, e->stack_id), "0x401100,0x402100");
			frees++;
		}
		if (e->kind != MPA_KIND_ALLOC)
			continue;
		cr_assert_lt(k, sizeof want / sizeof want[0]);
		cr_assert_eq(e->pid, want[k].pid, "alloc %zu", k);
		cr_assert_eq(e->size, want[k].size, "alloc %zu", k);
		cr_assert_str_eq(frames_of(&c, e->stack_id), want[k].frames, "alloc of %" PRIu64,
				 e->size);
		k++;
	}
	cr_assert_eq(k, sizeof want / sizeof want[0]);
	cr_assert_eq(frees, 1);
	cr_assert_eq(ct_meta_u64(&c, "stacks.interned"), 3);
	cr_assert_eq(ct_meta_u64(&c, "stacks.by_id"), 8, "7 allocations and a free by id");
	cr_assert_eq(ct_meta_u64(&c, "stacks.by_id_unknown"), 3);
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}

/* A trace without interning (every event with its frames, as recorded
 * before mpa:stack existed) has no stacks.* keys. */
Test(convert_mpa, trace_without_interning_has_no_stack_keys, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/mpa", tmp);
	char *out = ct_fmt("%s/mpa.mpt", tmp);

	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/gen_fixture.py' mpa '%s' 50 "
			   ">/dev/null 2>&1", ct_env("MPA_SRC"), trace), 0);
	cr_assert_eq(ct_sh("'%s/bin/mpa-convert' -q -o '%s' '%s' 2>/dev/null", ct_env("MPA_BUILD"),
			   out, trace), 0);
	struct ct_capture c;
	ct_load(&c, out);
	cr_assert_null(mpt_reader_meta(c.r, "stacks.interned"));
	cr_assert_null(mpt_reader_meta(c.r, "stacks.by_id_unknown"));
	ct_release(&c);
	ct_rmrf(tmp);
	ct_cleanup();
}
