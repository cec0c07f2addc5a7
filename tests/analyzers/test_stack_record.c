/* Truth test: wl-recurse (tests/workloads/wl_recurse.c, known recursion
 * depths) recorded with mpa-record --stack-sample 1 --stack-depth 128,
 * analyzed by mpa-analyze --stack.  The main thread's deepest chain holds
 * mpa_wl_recurse exactly 40 times; the 256 KiB thread recursed 200 levels
 * deep and has less than the default 64 KiB headroom left; every level
 * adds the same frame size; the capture has the machine's topology, and
 * placement samples for --numa. */
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

#include "mpa/mpt.h"

Test(stack_record, wl_recurse_known_depths, .timeout = 600)
{
	char rec[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_workload(wl, sizeof wl, "wl-recurse");

	char dir[] = "/tmp/mpa-stack-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char conf[1100];
	snprintf(conf, sizeof conf, "%s/.mpa.toml", dir);
	FILE *f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[stack]\ntop_chains = 1000\n", f);
	fclose(f);
	char *ra[] = {rec, "-q", "--stack-depth", "128", "--stack-sample", "1", "--numa-sample", "1",
		      "-o", "cap.mpt", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 0, "mpa-record failed (see %s/log)", dir);
	char *aa[] = {ana, "cap.mpt", "--stack", "--numa", "-o", "out", "--format", "csv,json", NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	char path[1200];
	snprintf(path, sizeof path, "%s/cap.mpt", dir);
	mpt_reader *r = NULL;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_reader_open(path, &r, &e), MPT_OK, "%s", e.msg);
	const struct mpt_topology *topo = mpt_reader_topology(r);
	cr_assert_not_null(topo, "mpa-record stores the topology");
	cr_assert_eq(topo->ncpus, (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	cr_assert_eq(topo->page_size, (uint32_t)sysconf(_SC_PAGESIZE));
	cr_assert_geq(topo->nnodes, 1);
	uint32_t nnodes = topo->nnodes;
	mpt_reader_close(r);

	/* --numa on the same recording: placement samples were taken (one per
	 * allocation); one node says so, more nodes are analyzed */
	snprintf(path, sizeof path, "%s/out/numa.json", dir);
	json_error_t je;
	json_t *nj = json_load_file(path, 0, &je);
	cr_assert_not_null(nj, "%s: %s", path, je.text);
	cr_assert_geq(rt_int(nj, "placement_samples"), 200);
	if (nnodes == 1) {
		cr_assert_str_eq(json_string_value(json_object_get(nj, "reason")),
				 "1 NUMA node: no placement to analyze");
		cr_assert(json_is_null(json_object_get(nj, "remote_ratio")));
	} else {
		cr_assert_eq(rt_int(nj, "numa_nodes"), nnodes);
		cr_assert_geq(rt_int(nj, "samples_with_nodes"), 200);
		cr_assert_eq(rt_int(nj, "samples_outside_blocks"), 0);
	}
	json_decref(nj);

	snprintf(path, sizeof path, "%s/out/stack.json", dir);
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	json_t *threads = json_object_get(j, "threads");
	/* the main thread and the 256 KiB one (lttng-ust's own threads, should
	 * one of them allocate, would be listed too) */
	cr_assert_geq(json_array_size(threads), 2);
	json_t *mainth = NULL, *th = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(threads, i, v) {
		if (rt_int(v, "tid") == rt_int(v, "pid"))
			mainth = v;
		else if (rt_int(v, "stack_size") == 256 << 10)
			th = v;
	}
	cr_assert(mainth && th, "%s", json_dumps(threads, JSON_COMPACT));
	/* both stacks come from thread_start records */
	cr_assert_str_eq(json_string_value(json_object_get(th, "size_source")), "thread_start");
	cr_assert_str_eq(json_string_value(json_object_get(mainth, "size_source")), "thread_start");
	cr_assert_eq(rt_int(th, "stack_size"), 256 << 10);
	cr_assert_eq(rt_int(th, "samples"), 200, "one sample per level (MPA_STACK_SAMPLE=1)");
	cr_assert_geq(rt_int(th, "max_depth_bytes"), 200 * 1000);
	cr_assert_lt(rt_int(th, "headroom_bytes"), 65536);
	cr_assert_gt(rt_int(th, "headroom_bytes"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(th, "risk")), "low_headroom");
	cr_assert_geq(rt_int(th, "max_depth_frames"), 201, "200 levels + thread_main");
	cr_assert_str_eq(json_string_value(json_object_get(mainth, "risk")), "ok");
	cr_assert_geq(rt_int(mainth, "max_depth_frames"), 41);

	/* per chain: the main thread's deepest holds the function 40 times;
	 * the thread's deepest is cut at the 128 captured frames */
	long long main_rep = 0, th_rep = 0, d40 = -1, d31 = -1, d39 = -1;
	json_array_foreach(json_object_get(j, "deepest_chains"), i, v) {
		long long rep = rt_int(v, "max_repeats");
		if (rt_int(v, "tid") == rt_int(mainth, "tid")) {
			if (rep > main_rep)
				main_rep = rep;
			if (rep == 40)
				d40 = rt_int(v, "max_depth_bytes");
			if (rep == 39)
				d39 = rt_int(v, "max_depth_bytes");
			if (rep == 31)
				d31 = rt_int(v, "max_depth_bytes");
		} else if (rt_int(v, "tid") == rt_int(th, "tid") && rep > th_rep) {
			th_rep = rep;
		}
	}
	cr_assert_eq(main_rep, 40);
	cr_assert_eq(th_rep, 128);
	/* each level adds one frame: its 1000-byte local and a little more */
	long long frame = d40 - d39;
	cr_assert(frame >= 1000 && frame <= 1200, "frame size %lld", frame);
	cr_assert_eq(d40 - d31, 9 * frame, "every level the same size");
	json_t *sum = json_object_get(j, "recursion");
	cr_assert_gt(json_array_size(sum), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sum, 0), "function")),
			 "mpa_wl_recurse");
	json_t *top = json_array_get(json_object_get(j, "top_frames"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(top, "function")), "mpa_wl_recurse");
	json_decref(j);
	rt_rm_tree(dir);
}
