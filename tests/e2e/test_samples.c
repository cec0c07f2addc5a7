/* The shipped captures in samples/ stay readable by this build and give the
 * documented results (samples/README.md). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"

static void check_sample(const char *name, long long leak_bytes, long long leak_blocks)
{
	const char *build = e2e_env("MPA_BUILD", "build"), *src = e2e_env("MPA_SRC", ".");
	char dir[] = "/tmp/mpa-sample-XXXXXX", cmd[PATH_MAX * 4], path[PATH_MAX];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd, "'%s/bin/mpa-cat' --verify '%s/samples/%s' >/dev/null", build,
		 src, name);
	cr_expect_eq(e2e_sh(cmd), 0, "samples/%s does not verify", name);
	snprintf(cmd, sizeof cmd,
		 "'%s/bin/mpa-analyze' '%s/samples/%s' --all --format csv,json -q -o '%s/rep' "
		 ">/dev/null 2>&1",
		 build, src, name, dir);
	cr_assert_eq(e2e_sh(cmd), 0, "mpa-analyze --all failed on samples/%s", name);
	if (leak_bytes >= 0) {
		json_error_t e;
		snprintf(path, sizeof path, "%s/rep/leak.json", dir);
		json_t *j = json_load_file(path, 0, &e);
		cr_assert_not_null(j, "%s: %s", path, e.text);
		cr_expect_eq(e2e_jnum(j, (const char *const[]){"summary", "in_use_at_exit", "bytes", NULL}),
			     leak_bytes);
		cr_expect_eq(e2e_jnum(j, (const char *const[]){"summary", "in_use_at_exit", "blocks", NULL}),
			     leak_blocks);
		json_decref(j);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	e2e_sh(cmd);
}

Test(samples, demo) { check_sample("demo.mpt", 10000, 50); }
Test(samples, demo_pagefaults) { check_sample("demo-pagefaults.mpt", 10000, 50); }
Test(samples, python3_json) { check_sample("python3-json.mpt", -1, -1); }
