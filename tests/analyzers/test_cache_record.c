/* Truth test: wl-touch (tests/workloads/wl_touch.c) recorded with
 * mpa-record --cache (page-fault samples with data addresses: this VM has
 * no PMU) and analyzed with --all: the first-touch faults are attributed to
 * the allocation sites that own the pages, exactly (48 per 192 KiB block,
 * 256 for the 1 MiB one: every page but the first, which malloc writes
 * before the block exists). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record_test_util.h"

static json_t *site_row(json_t *sites, const char *prefix)
{
	size_t i;
	json_t *v;
	json_array_foreach(sites, i, v)
	{
		const char *s = json_string_value(json_object_get(v, "site"));
		if (s && !strncmp(s, prefix, strlen(prefix)))
			return v;
	}
	return NULL;
}

Test(cache_record, page_faults_name_their_allocation_sites, .timeout = 180)
{
	char rec[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_workload(wl, sizeof wl, "wl-touch");

	char dir[] = "/tmp/mpa-cache-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *ra[] = {rec, "-q", "--cache", "-o", "cap.mpt", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 0, "mpa-record failed (see %s/log)", dir);
	char *aa[] = {ana, "--no-config", "cap.mpt", "--all", "-o", "out", "--format", "csv,json",
		      NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	char path[1200];
	snprintf(path, sizeof path, "%s/out/cache.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	json_t *sites = json_object_get(j, "sites");
	json_t *big = site_row(sites, "mpa_wl_touch_big "), *small = site_row(sites, "mpa_wl_touch_small ");
	cr_assert_not_null(big, "no fault attributed to mpa_wl_touch_big");
	cr_assert_not_null(small, "no fault attributed to mpa_wl_touch_small");
	cr_assert_eq(json_integer_value(json_object_get(big, "page_fault")), 256);
	cr_assert_eq(json_integer_value(json_object_get(big, "allocated_bytes")), 1 << 20);
	cr_assert_eq(json_integer_value(json_object_get(small, "page_fault")), 3 * 48, "%lld",
		     (long long)json_integer_value(json_object_get(small, "page_fault")));
	cr_assert_eq(json_integer_value(json_object_get(small, "allocated_blocks")), 3);
	cr_assert_float_eq(json_real_value(json_object_get(small, "faults_per_kib")), 0.25, 1e-12);
	cr_assert_eq(json_integer_value(json_object_get(small, "max_object_size")), 192 * 1024);
	/* the tracer's and malloc's own faults are counted, not dropped */
	json_t *att = json_object_get(j, "attribution");
	cr_assert_geq(json_integer_value(json_object_get(att, "in_heap_objects")), 256 + 144);
	cr_assert_gt(json_integer_value(json_object_get(att, "samples_with_address")),
		     json_integer_value(json_object_get(att, "in_heap_objects")));
	json_decref(j);

	snprintf(path, sizeof path, "%s/out/summary.json", dir);
	j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	json_t *cs = json_object_get(json_object_get(j, "analyzers"), "cache");
	const char *top = json_string_value(json_object_get(cs, "top_site_by_faults"));
	cr_assert(top && !strncmp(top, "mpa_wl_touch_big ", 17), "top site by faults: %s",
		  top ? top : "null");
	json_decref(j);
	rt_rm_tree(dir);
}
