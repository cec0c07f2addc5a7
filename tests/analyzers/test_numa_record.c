/* The NUMA path on a real recording: wl-threads recorded with
 * mpa-record --numa-sample 1 --keep-trace, converted with mpa-convert
 * --topology and a topology file that spreads this host's cpus over 2 (or
 * more) nodes; --numa's counts must match the capture's own numa_place rows
 * exactly: a sample is remote when its cpu's node in that topology is not
 * the node the kernel reported. */
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

Test(numa_record, wl_threads_on_a_two_node_topology, .timeout = 600)
{
	char rec[1024], conv[1024], ana[1024], wl[1024];
	rt_path(rec, sizeof rec, "bin/mpa-record");
	rt_path(conv, sizeof conv, "bin/mpa-convert");
	rt_path(ana, sizeof ana, "bin/mpa-analyze");
	rt_workload(wl, sizeof wl, "wl-threads");

	char dir[] = "/tmp/mpa-numa-rec-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *ra[] = {rec, "-q", "--numa-sample", "1", "--keep-trace", "trace", "--", wl, NULL};
	cr_assert_eq(rt_run_in(dir, ra), 0, "mpa-record failed (see %s/log)", dir);
	/* the recording kept this host's topology with the trace */
	char path[1200];
	snprintf(path, sizeof path, "%s/trace/topology", dir);
	cr_assert_eq(access(path, R_OK), 0, "no topology kept with the trace");

	/* a first conversion with the host's topology, to read the nodes the
	 * kernel reported */
	char *ca[] = {conv, "-q", "trace", "--topology", "trace/topology", "-o", "host.mpt", NULL};
	cr_assert_eq(rt_run_in(dir, ca), 0, "mpa-convert failed (see %s/log)", dir);
	snprintf(path, sizeof path, "%s/host.mpt", dir);
	mpt_reader *r = NULL;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_reader_open(path, &r, &e), MPT_OK, "%s", e.msg);
	const struct mpt_topology *ht = mpt_reader_topology(r);
	cr_assert_not_null(ht);
	uint32_t ncpus = ht->ncpus, nnodes = ht->nnodes > 2 ? ht->nnodes : 2;
	struct mpt_scan sc = {.columns = MPT_COLBIT(MPT_COL_CPU) | MPT_COLBIT(MPT_COL_NODE),
			      .kinds = MPT_KINDBIT(MPA_KIND_NUMA_PLACE)};
	cr_assert_eq(mpt_reader_scan(r, &sc, &e), MPT_OK, "%s", e.msg);
	const struct mpt_batch *bt;
	long long rows = 0, remote = 0, on_node[64] = {0};
	enum mpt_status st;
	while ((st = mpt_reader_next(r, &bt, &e)) == MPT_OK) {
		for (uint32_t i = 0; i < bt->n; i++) {
			cr_assert_lt(bt->cpu[i], ncpus);
			cr_assert_geq(bt->node[i], 0);
			cr_assert_lt(bt->node[i], 64);
			rows++;
			on_node[bt->node[i]]++;
			remote += (uint32_t)bt->node[i] != bt->cpu[i] % nnodes;
		}
	}
	cr_assert_eq(st, MPT_END, "%s", e.msg);
	mpt_reader_close(r);
	cr_assert_geq(rows, 400, "one placement per allocation of the 4 threads' work");

	/* the test's topology: cpu k on node k % nnodes */
	snprintf(path, sizeof path, "%s/spread.topology", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "mpa-topology 1\ncpus %u\nnodes %u\npage_size 4096\ncache_line 64\ncpu_node",
		ncpus, nnodes);
	for (uint32_t k = 0; k < ncpus; k++)
		fprintf(f, " %u", k % nnodes);
	fputc('\n', f);
	fclose(f);
	char *cb[] = {conv, "-q", "trace", "--topology", "spread.topology", "-o", "spread.mpt", NULL};
	cr_assert_eq(rt_run_in(dir, cb), 0, "mpa-convert failed (see %s/log)", dir);
	char *aa[] = {ana, "--no-config", "spread.mpt", "--numa", "-o", "out", "--format", "json",
		      NULL};
	cr_assert_eq(rt_run_in(dir, aa), 0, "mpa-analyze failed (see %s/log)", dir);

	snprintf(path, sizeof path, "%s/out/numa.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	cr_assert_eq(rt_int(j, "numa_nodes"), nnodes);
	cr_assert_eq(rt_int(j, "placement_samples"), rows);
	cr_assert_eq(rt_int(j, "samples_with_nodes"), rows);
	cr_assert_eq(rt_int(j, "remote_samples"), remote);
	cr_assert_eq(rt_int(j, "samples_outside_blocks"), 0, "every sampled address is a live block");
	cr_assert_eq(rt_int(j, "allocs_unknown_node"), 0);
	json_t *nodes = json_object_get(j, "nodes");
	cr_assert_eq(json_array_size(nodes), nnodes);
	for (uint32_t n = 0; n < nnodes && n < 64; n++)
		cr_assert_eq(rt_int(json_array_get(nodes, n), "placement_samples"), on_node[n], "node %u", n);
	/* per thread: samples add up, and each thread's remote count is its
	 * samples on cpus of another node than the reported one */
	long long sum = 0, rsum = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(j, "threads"), i, v) {
		sum += rt_int(v, "samples");
		rsum += rt_int(v, "remote_samples");
	}
	cr_assert_eq(sum, rows);
	cr_assert_eq(rsum, remote);
	json_decref(j);
	rt_rm_tree(dir);
}
