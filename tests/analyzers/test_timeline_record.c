/* Truth test: wl-basic (tests/workloads/wl_basic.c, exactly known
 * behaviour) recorded with mpa-record, analyzed by mpa-analyze --timeline.
 * The workload's own sites must show exactly what the program does: the
 * peak is the 8 × 40000 bytes of mpa_wl_peak plus the 5 leaked blocks
 * (1500 bytes) and nothing else, mpa_wl_churn makes 1000 temporary
 * allocations of 24 bytes, mpa_wl_resize 5 temporary ones (heaptrack's
 * definition). */
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

/* Sums the integer member `key` of the array elements whose `site` starts
 * with prefix. */
static json_int_t sum_sites(json_t *arr, const char *prefix, const char *key, int *n)
{
	json_int_t s = 0;
	size_t i;
	json_t *v;
	*n = 0;
	json_array_foreach(arr, i, v) {
		const char *site = json_string_value(json_object_get(v, "site"));
		if (site && !strncmp(site, prefix, strlen(prefix))) {
			s += json_integer_value(json_object_get(v, key));
			(*n)++;
		}
	}
	return s;
}

/* Sums column col of hotspots.csv rows "by"=calls whose site starts with
 * prefix (the site is the 4th field, quoted, without commas). */
static long long sum_hotspots(const char *path, const char *prefix, unsigned col)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char line[4096];
	long long s = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "\"calls\",", 8))
			continue;
		char *fields[16];
		unsigned n = 0;
		for (char *p = strtok(line, ","); p && n < 16; p = strtok(NULL, ","))
			fields[n++] = p;
		if (n <= col)
			continue;
		const char *site = fields[3];
		if (*site == '"')
			site++;
		if (!strncmp(site, prefix, strlen(prefix)))
			s += atoll(fields[col]);
	}
	fclose(f);
	return s;
}

Test(timeline_record, wl_basic_known_numbers, .timeout = 120)
{
	char rec[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_workload(wl, sizeof wl, "wl-basic");

	char dir[] = "/tmp/mpa-tl-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char conf[1100];
	snprintf(conf, sizeof conf, "%s/.mpa.toml", dir);
	FILE *f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[patterns]\ntop_n = 100000\n", f);
	fclose(f);

	char *ra[] = {rec, "-q", "-o", "cap.mpt", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 3, "mpa-record must exit with the workload's status 3");
	char *aa[] = {ana, "cap.mpt", "--timeline", "-o", "out", "--format", "csv,json,svg", NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	char path[1200];
	snprintf(path, sizeof path, "%s/out/timeline.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	json_t *peak = json_object_get(j, "peak");
	json_t *sites = json_object_get(peak, "sites");
	int n;
	cr_assert_eq(sum_sites(sites, "mpa_wl_peak ", "bytes", &n), 320000);
	cr_assert_eq(sum_sites(sites, "mpa_wl_peak ", "blocks", &n), 8);
	cr_assert_eq(sum_sites(sites, "mpa_wl_leak ", "bytes", &n), 1500);
	cr_assert_eq(sum_sites(sites, "mpa_wl_leak ", "blocks", &n), 5);
	/* the sites at the peak add up to the peak exactly */
	json_int_t all = 0;
	size_t i;
	json_t *v;
	json_array_foreach(sites, i, v) all += json_integer_value(json_object_get(v, "bytes"));
	cr_assert_eq(all, json_integer_value(json_object_get(peak, "bytes")));
	/* and nothing else is live then: the tracer's own blocks and those
	 * of its start-up are left out */
	cr_assert_eq(json_integer_value(json_object_get(peak, "bytes")), 321500);
	cr_assert_gt(json_integer_value(json_object_get(
			     json_object_get(j, "excluded_tracer"), "allocs")), 0);
	json_decref(j);

	snprintf(path, sizeof path, "%s/out/timeline_hotspots.csv", dir);
	/* columns: by rank domain site allocs bytes frees temporary ... */
	cr_assert_eq(sum_hotspots(path, "mpa_wl_churn ", 4), 1000);
	cr_assert_eq(sum_hotspots(path, "mpa_wl_churn ", 5), 24000);
	cr_assert_eq(sum_hotspots(path, "mpa_wl_churn ", 7), 1000);
	cr_assert_eq(sum_hotspots(path, "mpa_wl_resize ", 7), 5);
	cr_assert_eq(sum_hotspots(path, "mpa_wl_peak ", 7), 0);
	rt_rm_tree(dir);
}

/* wl-early (tests/tracepoints/wl_early*.c): its library's constructor
 * allocates 4242 and 4141 bytes before tracing is live.  Those early
 * blocks are the program's (their stacks say so) and count; the tracer's
 * own early blocks (LTTng-UST registering, libnuma's constructor) are left
 * out by stack, none as stack-less start-up. */
Test(timeline_record, early_program_blocks_count, .timeout = 120)
{
	char rec[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_path(wl, sizeof wl, "tests/tracepoints/wl-early");
	cr_assert_eq(access(wl, X_OK), 0, "'%s' is not built", wl);

	char dir[] = "/tmp/mpa-tl-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *ra[] = {rec, "-q", "-o", "cap.mpt", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 0, "mpa-record must exit with the workload's status 0");
	char *aa[] = {ana, "--no-config", "cap.mpt", "--timeline", "-o", "out", "--format", "json",
		      NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	char path[1200];
	snprintf(path, sizeof path, "%s/out/timeline.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	json_t *peak = json_object_get(j, "peak");
	int n;
	cr_assert_eq(json_integer_value(json_object_get(peak, "bytes")), 4242 + 4141);
	cr_assert_eq(sum_sites(json_object_get(peak, "sites"), "mpa_early_ctor_alloc ", "bytes",
			       &n), 4242 + 4141);
	json_t *ex = json_object_get(j, "excluded_tracer");
	cr_assert_gt(json_integer_value(json_object_get(ex, "allocs")), 10);
	cr_assert_eq(json_integer_value(json_object_get(ex, "startup_allocs")), 0);
	json_decref(j);
	rt_rm_tree(dir);
}
