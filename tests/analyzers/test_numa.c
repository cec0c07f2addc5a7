/* The NUMA analyzer on writer-built captures with a 2-node topology and
 * three threads: bytes per node (user and kernel) and over time, remote
 * ratios per thread and site, imbalance, advice, exactly; one node and no
 * topology say so. */
#include "analyze_test_util.h"

static void topo(struct au_cap *c, uint32_t nnodes)
{
	int32_t cn[4] = {0, 0, 1, 1};
	uint32_t dist[4] = {10, 21, 21, 10};
	struct mpt_topology t = {.ncpus = 4, .nnodes = nnodes, .page_size = 4096,
				 .cache_line = 64, .cpu_node = cn,
				 .distance = nnodes == 2 ? dist : NULL};
	if (nnodes == 1)
		cn[2] = cn[3] = 0;
	struct mpt_error e = {0};
	cr_assert_eq(mpt_writer_topology(c->w, &t, &e), MPT_OK, "%s", e.msg);
}

static void ev(struct au_cap *c, uint8_t kind, uint64_t ts, int32_t tid, uint32_t cpu,
	       uint64_t ptr, uint64_t size, int32_t node, uint32_t stack)
{
	struct mpa_event e = {0};
	e.kind = kind;
	e.ts = ts;
	e.pid = 200;
	e.tid = tid;
	e.cpu = cpu;
	e.ptr = ptr;
	e.size = size;
	e.node = node;
	e.stack_id = stack;
	if (kind == MPA_KIND_ALLOC)
		e.api = MPA_API_MALLOC;
	if (kind == MPA_KIND_FREE)
		e.api = MPA_API_FREE;
	if (kind == MPA_KIND_KALLOC || kind == MPA_KIND_KFREE) {
		e.api = MPA_API_KMALLOC;
		e.domain = MPA_DOMAIN_KERNEL;
		e.usable = size;
	}
	au_ev(c, &e);
}

#define MS (AU_SEC / 1000)

static void build(struct au_cap *c, uint32_t nnodes)
{
	au_open(c);
	if (nnodes)
		topo(c, nnodes);
	uint32_t s1 = au_site(c, "site_one", 11), s2 = au_site(c, "site_two", 22),
		 s3 = au_site(c, "site_three", 33);
	ev(c, MPA_KIND_ALLOC, 1000 * MS, 200, 0, 0x1000, 1000, 0, s1);
	ev(c, MPA_KIND_NUMA_PLACE, 1000 * MS + 1, 200, 0, 0x1000, 0, 0, 0);     /* local */
	ev(c, MPA_KIND_NUMA_PLACE, 1100 * MS, 200, 0, 0x9000, 0, 1, 0);         /* no block */
	ev(c, MPA_KIND_NUMA_PLACE, 1200 * MS, 200, 0, 0x1000, 0, 5, 0);         /* bad node */
	ev(c, MPA_KIND_ALLOC, 1500 * MS, 201, 2, 0x2000, 4000, 0, s2);
	ev(c, MPA_KIND_NUMA_PLACE, 1500 * MS + 1, 201, 2, 0x2000, 0, 0, 0);     /* remote */
	ev(c, MPA_KIND_ALLOC, 2000 * MS, 201, 3, 0x3000, 2000, 0, s2);
	ev(c, MPA_KIND_NUMA_PLACE, 2000 * MS + 1, 201, 3, 0x3000, 0, 0, 0);     /* remote */
	ev(c, MPA_KIND_KALLOC, 2200 * MS, 201, 1, 0xffff0000, 256, 1, 0);       /* node named */
	ev(c, MPA_KIND_KALLOC, 2300 * MS, 201, 2, 0xffff1000, 64, -1, 0);       /* any: cpu 2 */
	ev(c, MPA_KIND_ALLOC, 2500 * MS, 201, 2, 0x4000, 500, 0, s1);
	ev(c, MPA_KIND_NUMA_PLACE, 2500 * MS + 1, 201, 2, 0x4000, 0, 1, 0);     /* local */
	ev(c, MPA_KIND_ALLOC, 3000 * MS, 202, 3, 0x5000, 8000, 0, s3);
	ev(c, MPA_KIND_NUMA_PLACE, 3000 * MS + 1, 202, 3, 0x5000, 0, 0, 0);     /* remote */
	ev(c, MPA_KIND_ALLOC, 3200 * MS, 202, 3, 0x6000, 100, 0, s3);
	ev(c, MPA_KIND_NUMA_PLACE, 3200 * MS + 1, 202, 3, 0x6000, 0, 0, 0);     /* remote */
	ev(c, MPA_KIND_ALLOC, 3300 * MS, 200, 9, 0x7000, 50, 0, s1);            /* cpu 9: unknown */
	ev(c, MPA_KIND_FREE, 3500 * MS, 200, 0, 0x1000, 0, 0, 0);
	ev(c, MPA_KIND_KFREE, 3600 * MS, 201, 1, 0xffff0000, 0, 0, 0);
	au_close(c);
}

static long long I(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer %s", k);
	return (long long)json_integer_value(v);
}

static double F(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_number(v), "no number %s", k);
	return json_number_value(v);
}

Test(numa, two_nodes_exact)
{
	struct au_cap c;
	build(&c, 2);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "numa", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *ns = json_object_get(json_object_get(s, "analyzers"), "numa");
	cr_assert_eq(I(ns, "numa_nodes"), 2);
	cr_assert_null(json_object_get(ns, "reason"));
	cr_assert_eq(I(ns, "placement_samples"), 8);
	cr_assert_eq(I(ns, "samples_with_nodes"), 7);
	cr_assert_eq(I(ns, "remote_samples"), 5);
	cr_assert_float_eq(F(ns, "remote_ratio"), 5.0 / 7, 1e-9);
	cr_assert_float_eq(F(ns, "remote_bytes_ratio"), 14100.0 / 15600, 1e-9);
	cr_assert_eq(I(ns, "samples_bad_node"), 1);
	cr_assert_eq(I(ns, "samples_unknown_cpu"), 0);
	cr_assert_eq(I(ns, "samples_outside_blocks"), 1);
	cr_assert_eq(I(ns, "allocs_unknown_node"), 1);
	cr_assert_eq(I(ns, "kernel_allocs_any_node"), 1);
	cr_assert_eq(I(ns, "advice_count"), 4);
	json_t *imb = json_object_get(ns, "imbalance");
	cr_assert_float_eq(F(imb, "allocated"), 14920.0 * 2 / 15920, 1e-9);
	cr_assert_float_eq(F(imb, "max_share"), 14920.0 / 15920, 1e-9);
	cr_assert_float_eq(F(imb, "peak_live"), 14920.0 * 2 / (1000 + 14920), 1e-9);
	cr_assert_eq(I(imb, "node"), 1);

	json_t *al = json_array_get(json_object_get(s, "alerts"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(al, "name")), "numa_remote_placement");
	cr_assert_float_eq(F(al, "value"), 1.0, 1e-12);
	cr_assert_float_eq(F(al, "threshold"), 0.8, 1e-12);

	json_t *doc = au_json(out, "numa.json");
	json_t *nodes = json_object_get(doc, "nodes");
	cr_assert_eq(json_array_size(nodes), 2);
	json_t *n0 = json_array_get(nodes, 0), *n1 = json_array_get(nodes, 1);
	cr_assert_eq(I(n0, "cpus"), 2);
	cr_assert_eq(I(n0, "allocs"), 1);
	cr_assert_eq(I(n0, "alloc_bytes"), 1000);
	cr_assert_eq(I(n0, "live_end_bytes"), 0);
	cr_assert_eq(I(n0, "peak_live_bytes"), 1000);
	cr_assert_eq(I(n0, "peak_ns"), 0);
	cr_assert_eq(I(n0, "placement_samples"), 5);
	cr_assert_eq(I(n1, "allocs"), 5);
	cr_assert_eq(I(n1, "alloc_bytes"), 14600);
	cr_assert_eq(I(n1, "kernel_allocs"), 2);
	cr_assert_eq(I(n1, "kernel_alloc_bytes"), 320);
	cr_assert_eq(I(n1, "kernel_allocs_requested"), 1);
	cr_assert_float_eq(F(n1, "alloc_share"), 14920.0 / 15920, 1e-6);
	cr_assert_eq(I(n1, "live_end_bytes"), 14600);
	cr_assert_eq(I(n1, "kernel_live_end_bytes"), 64);
	cr_assert_eq(I(n1, "peak_live_bytes"), 14920);
	cr_assert_eq(I(n1, "peak_ns"), 2200 * MS);
	cr_assert_eq(I(n1, "placement_samples"), 2);

	/* threads: most remote first */
	json_t *th = json_object_get(doc, "threads");
	cr_assert_eq(json_array_size(th), 3);
	json_t *t = json_array_get(th, 0);
	cr_assert_eq(I(t, "tid"), 202);
	cr_assert_eq(I(t, "allocs"), 2);
	cr_assert_eq(I(t, "alloc_bytes"), 8100);
	cr_assert_eq(I(t, "cpu_node"), 1);
	cr_assert_eq(I(t, "cpu_nodes"), 1);
	cr_assert_eq(I(t, "samples"), 2);
	cr_assert_eq(I(t, "remote_samples"), 2);
	cr_assert_float_eq(F(t, "remote_ratio"), 1.0, 1e-9);
	cr_assert_eq(I(t, "remote_bytes"), 8100);
	cr_assert_eq(I(t, "memory_node"), 0);
	t = json_array_get(th, 1);
	cr_assert_eq(I(t, "tid"), 201);
	cr_assert_eq(I(t, "samples"), 3);
	cr_assert_eq(I(t, "remote_samples"), 2);
	cr_assert_float_eq(F(t, "remote_ratio"), 2.0 / 3, 1e-6);
	cr_assert_eq(I(t, "sampled_bytes"), 6500);
	cr_assert_eq(I(t, "remote_bytes"), 6000);
	t = json_array_get(th, 2);
	cr_assert_eq(I(t, "tid"), 200);
	cr_assert_eq(I(t, "allocs"), 1, "the cpu-9 allocation has no node");
	cr_assert_eq(I(t, "cpu_node"), 0);
	cr_assert_eq(I(t, "samples"), 2);
	cr_assert_eq(I(t, "remote_samples"), 1);
	cr_assert_eq(I(t, "sampled_bytes"), 1000);
	cr_assert_eq(I(t, "memory_node"), 0, "ties: the lowest node");

	json_t *sites = json_object_get(doc, "sites");
	cr_assert_eq(json_array_size(sites), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sites, 0), "site")),
			 "site_two (prog.c:22)");
	cr_assert_eq(I(json_array_get(sites, 0), "remote_bytes"), 6000);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sites, 1), "site")),
			 "site_three (prog.c:33)");
	json_t *s1 = json_array_get(sites, 2);
	cr_assert_eq(I(s1, "samples"), 2);
	cr_assert_eq(I(s1, "remote_samples"), 0);
	cr_assert_eq(I(s1, "memory_node"), 0);

	json_t *adv = json_object_get(doc, "advice");
	cr_assert_eq(json_array_size(adv), 4);
	const char *kinds[] = {"thread", "site", "site", "imbalance"};
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(adv, i), "kind")),
				 kinds[i]);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(adv, 0), "subject")),
			 "pid 200 tid 202");
	cr_assert_not_null(strstr(json_string_value(json_object_get(json_array_get(adv, 0), "advice")),
				  "--cpunodebind=0"));
	cr_assert_not_null(strstr(json_string_value(json_object_get(json_array_get(adv, 3), "advice")),
				  "--interleave=all"));

	/* over time: 100 buckets x 2 nodes of 26000001 ns from the first record */
	json_t *ot = json_object_get(doc, "over_time");
	cr_assert_eq(json_array_size(ot), 200);
	json_t *b = json_array_get(ot, 19 * 2 + 1); /* B at 1.5 s, node 1 */
	cr_assert_eq(I(b, "from_ns"), 19LL * 26000001);
	cr_assert_eq(I(b, "alloc_bytes"), 4000);
	cr_assert_eq(I(b, "live_bytes"), 4000);
	b = json_array_get(ot, 99 * 2 + 1);
	cr_assert_eq(I(b, "live_bytes"), 14664);
	cr_assert_eq(I(json_array_get(ot, 99 * 2), "live_bytes"), 0);
	cr_assert_eq(I(json_array_get(ot, 10 * 2), "live_bytes"), 1000);
	cr_assert(au_exists(out, "numa_nodes.csv"));
	cr_assert(au_exists(out, "plots/numa_live.dat"));
	json_decref(doc);
	json_decref(s);
	au_rmrf(out);

	/* a higher threshold: the imbalance stays, no remote advice at 1.0 < ... */
	cr_assert_eq(au_lib_run(c.path, out, "numa", "[numa]\nmigration_threshold = 0.95\n", &s,
				err, sizeof err), 0, "%s", err);
	cr_assert_eq(au_get(s, "numa", "advice_count", NULL), 3, "thread 202, sites two and three");
	json_decref(s);
	au_rmrf(out);
	cr_assert_neq(au_lib_run(c.path, out, "numa", "[numa]\nmigration_threshold = 1.5\n", &s,
				 err, sizeof err), 0);
	cr_assert_str_eq(err, "numa: [numa] migration_threshold must be above 0 and at most 1");
	au_rmrf(c.dir);
}

static void check_inactive(uint32_t nnodes, const char *reason, const char *headline)
{
	struct au_cap c;
	build(&c, nnodes);
	char out[400], err[1024];
	snprintf(out, sizeof out, "%s/r", c.dir);
	json_t *s = NULL;
	cr_assert_eq(au_lib_run(c.path, out, "numa", NULL, &s, err, sizeof err), 0, "%s", err);
	json_t *ns = json_object_get(json_object_get(s, "analyzers"), "numa");
	cr_assert_str_eq(json_string_value(json_object_get(ns, "reason")), reason);
	if (nnodes)
		cr_assert_eq(I(ns, "numa_nodes"), nnodes);
	else
		cr_assert(json_is_null(json_object_get(ns, "numa_nodes")));
	cr_assert(json_is_null(json_object_get(ns, "remote_ratio")));
	cr_assert(json_is_null(json_object_get(ns, "imbalance")));
	cr_assert_eq(I(ns, "placement_samples"), 8);
	cr_assert_eq(I(ns, "nodes_named_by_records"), 6, "numa_place named node 5");
	cr_assert_eq(json_array_size(json_object_get(s, "alerts")), 0);
	cr_assert(!au_exists(out, "numa_nodes.csv"), "no table of zeros");
	json_decref(s);
	au_rmrf(out);
	struct au_proc p;
	const char *args[] = {c.path, "--numa", "-o", out, NULL};
	au_cli(&p, NULL, NULL, args);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_not_null(strstr(p.out, headline), "%s", p.out);
	au_rmrf(c.dir);
}

Test(numa, one_node_says_so)
{
	check_inactive(1, "1 NUMA node: no placement to analyze", "1 NUMA node: no placement to analyze");
}

Test(numa, no_topology_says_so)
{
	check_inactive(0,
		       "no topology in this capture: the node of each cpu is unknown (record with "
		       "mpa-record, or convert with mpa-convert --topology FILE)",
		       "no topology in this capture");
}
