/* The topology table end to end: `mpa-record --save-topology` reads a
 * sysfs fixture tree with 2 NUMA nodes, `mpa-convert --topology` stores it
 * in the capture, `mpa-cat` prints it; hostile topology files fail with one
 * clear line. */
#include "cvt_test_util.h"

static void put(const char *root, const char *rel, const char *text)
{
	char *p = ct_fmt("%s/%s", root, rel);
	char *dir = ct_fmt("%s", p);
	*strrchr(dir, '/') = 0;
	cr_assert_eq(ct_sh("mkdir -p '%s'", dir), 0);
	FILE *f = fopen(p, "w");
	cr_assert(f, "cannot write %s", p);
	fputs(text, f);
	fclose(f);
}

/* 4 cpus on 2 nodes (cpu 2 on node 0: the lists need not be ranges),
 * caches of cpu0 in sysfs units, an instruction cache that is skipped. */
static char *sysfs_fixture(const char *tmp)
{
	char *root = ct_fmt("%s/sys", tmp);
	put(root, "devices/system/cpu/possible", "0-3\n");
	put(root, "devices/system/node/possible", "0-1\n");
	put(root, "devices/system/node/node0/cpulist", "0,2\n");
	put(root, "devices/system/node/node1/cpulist", "1,3\n");
	put(root, "devices/system/node/node0/distance", "10 21\n");
	put(root, "devices/system/node/node1/distance", "21 10\n");
	const char *idx[][4] = { { "1", "Data", "48K", "64" }, { "1", "Instruction", "32K", "64" },
				 { "2", "Unified", "2048K", "64" }, { "3", "Unified", "32M", "64" } };
	for (int i = 0; i < 4; i++) {
		put(root, ct_fmt("devices/system/cpu/cpu0/cache/index%d/level", i), idx[i][0]);
		put(root, ct_fmt("devices/system/cpu/cpu0/cache/index%d/type", i), idx[i][1]);
		put(root, ct_fmt("devices/system/cpu/cpu0/cache/index%d/size", i), idx[i][2]);
		put(root, ct_fmt("devices/system/cpu/cpu0/cache/index%d/coherency_line_size", i),
		    idx[i][3]);
	}
	return root;
}

static void gen_mpa_fixture(const char *dir)
{
	cr_assert_eq(ct_sh("/usr/bin/python3 '%s/tests/converters/gen_fixture.py' mpa '%s' >/dev/null 2>&1",
			   ct_env("MPA_SRC"), dir), 0, "gen_fixture.py failed");
}

Test(topology, sysfs_to_file_to_capture_to_cat, .timeout = 120)
{
	char *tmp = ct_tmpdir();
	char *root = sysfs_fixture(tmp);
	char *topo = ct_fmt("%s/topology", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --save-topology '%s' --sysfs '%s'", ct_env("MPA_BUILD"),
			   topo, root), 0);
	long page = sysconf(_SC_PAGESIZE);
	char *want = ct_fmt("mpa-topology 1\ncpus 4\nnodes 2\npage_size %ld\ncache_line 64\n"
			    "l1d 49152\nl2 2097152\nl3 33554432\ncpu_node 0 1 0 1\n"
			    "distance 0 10 21\ndistance 1 21 10\n", page);
	cr_assert_str_eq(ct_read_file(topo), want);

	char *trace = ct_fmt("%s/mpa", tmp);
	gen_mpa_fixture(trace);
	char *out = ct_fmt("%s/t.mpt", tmp), *err = ct_fmt("%s/err", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-convert' -q --topology '%s' -o '%s' '%s' 2>'%s'",
			   ct_env("MPA_BUILD"), topo, out, trace, err), 0, "%s", ct_read_file(err));
	mpt_reader *r = NULL;
	struct mpt_error e = { 0 };
	cr_assert_eq(mpt_reader_open(out, &r, &e), MPT_OK, "%s", e.msg);
	const struct mpt_topology *t = mpt_reader_topology(r);
	cr_assert_not_null(t);
	cr_assert_eq(t->ncpus, 4);
	cr_assert_eq(t->nnodes, 2);
	cr_assert_eq(t->cpu_node[2], 0);
	cr_assert_eq(t->cpu_node[3], 1);
	cr_assert_eq(t->distance[1], 21);
	cr_assert_eq(t->l3_size, 32u << 20);
	mpt_reader_close(r);

	char *cat = ct_fmt("%s/cat", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-cat' -t topology '%s' >'%s'", ct_env("MPA_BUILD"), out, cat), 0);
	cr_assert_str_eq(ct_read_file(cat),
			 ct_fmt("topology\n  4 cpus, 2 nodes, page %ld B, cache line 64 B, l1d 48 KiB, "
				"l2 2 MiB, l3 32 MiB\n  node of cpu: 0 1 0 1\n"
				"  distance 0: 10 21\n  distance 1: 21 10\n",
				page));
	ct_rmrf(tmp);
	ct_cleanup();
}

/* A kernel without NUMA (no devices/system/node): one node with every
 * cpu, no distances; no cache folder: sizes unknown (a fixture root is not
 * the running host, so nothing comes from sysconf). */
Test(topology, no_numa_folder_is_one_node)
{
	char *tmp = ct_tmpdir();
	char *root = ct_fmt("%s/sys", tmp);
	put(root, "devices/system/cpu/possible", "0-2\n");
	char *topo = ct_fmt("%s/topology", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --save-topology '%s' --sysfs '%s'", ct_env("MPA_BUILD"),
			   topo, root), 0);
	cr_assert_str_eq(ct_read_file(topo),
			 ct_fmt("mpa-topology 1\ncpus 3\nnodes 1\npage_size %ld\ncache_line 0\n"
				"l1d 0\nl2 0\nl3 0\ncpu_node 0 0 0\n", sysconf(_SC_PAGESIZE)));
	/* no cpu list at all: one clear line, exit 2 */
	char *err = ct_fmt("%s/err", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --save-topology '%s/x' --sysfs '%s/none' 2>'%s'",
			   ct_env("MPA_BUILD"), tmp, tmp, err), 2);
	cr_assert_str_eq(ct_read_file(err),
			 ct_fmt("mpa-record: topology: '%s/none/devices/system/cpu/possible': cannot "
				"read the cpu list\n", tmp));
	ct_rmrf(tmp);
	ct_cleanup();
}

/* mpa-record's own options: refused with one line before anything runs. */
Test(topology, record_options_checked)
{
	char *tmp = ct_tmpdir();
	char *err = ct_fmt("%s/err", tmp);
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --save-topology '%s/t' -- true 2>'%s'",
			   ct_env("MPA_BUILD"), tmp, err), 2);
	cr_assert_str_eq(ct_read_file(err),
			 "mpa-record: --save-topology records nothing: no program expected\n");
	cr_assert(!ct_exists(ct_fmt("%s/t", tmp)));
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --stack-sample -1 -- true 2>'%s'",
			   ct_env("MPA_BUILD"), err), 2);
	cr_assert_str_eq(ct_read_file(err),
			 "mpa-record: --stack-sample '-1': expected 0 (off) to 4294967295\n");
	cr_assert_eq(ct_sh("'%s/bin/mpa-record' --numa-sample 4294967296 -- true 2>'%s'",
			   ct_env("MPA_BUILD"), err), 2);
	cr_assert_str_eq(ct_read_file(err),
			 "mpa-record: --numa-sample '4294967296': expected 0 (off) to 4294967295\n");
	ct_rmrf(tmp);
	ct_cleanup();
}

/* Every bad file: exit 2, one line naming the file, the line and why. */
Test(topology, hostile_files, .timeout = 60)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "", "empty file (not an mpa topology file)" },
		{ "mpa-topology 2\n", "line 1: not an mpa topology file" },
		{ "mpa-topology 1\ncpus 0\n", "line 2: cpus: one integer in 1..4096 expected" },
		{ "mpa-topology 1\ncpus 99999999999999999999999\n", "line 2: cpus: one integer" },
		{ "mpa-topology 1\ncpus 2\nnodes 1025\n", "line 3: nodes: one integer in 1..1024" },
		{ "mpa-topology 1\ncpus 2\ncpus 2\n", "line 3: 'cpus' given twice" },
		{ "mpa-topology 1\nbogus 1\n", "line 2: unknown key 'bogus'" },
		{ "mpa-topology 1\ncpus 2\nnodes 2\ncpu_node 0\n", "line 4: cpu_node: 2 values of -1..1" },
		{ "mpa-topology 1\ncpus 2\nnodes 2\ncpu_node 0 2\n", "line 4: cpu_node: 2 values" },
		{ "mpa-topology 1\ncpus 1\nnodes 1\ncpu_node 0 0\n", "line 4: cpu_node: more than 1" },
		{ "mpa-topology 1\ncpus 1\nnodes 1\npage_size 4095\n", "line 4: page_size: 4095 is not a power" },
		{ "mpa-topology 1\ncpus 1\nnodes 2\npage_size 4096\ncache_line 64\ncpu_node 1\n"
		  "distance 0 10 20\n", "distances for 1 of 2 nodes" },
		{ "mpa-topology 1\ncpus 1\nnodes 2\ndistance 2 10 20\n", "line 4: distance: bad node number" },
		{ "mpa-topology 1\ncpus 1\nnodes 2\ndistance 0 10 0\n", "line 4: distance 0: 2 values of 1..255" },
		{ "mpa-topology 1\ndistance 0 10\n", "line 2: distance before nodes" },
		{ "mpa-topology 1\ncpus 1\nnodes 1\npage_size 4096\ncache_line 64\n", "'cpu_node' missing" },
		{ "mpa-topology 1\ncpus 1\0\n", "NUL byte" },
	};
	char *tmp = ct_tmpdir();
	char *trace = ct_fmt("%s/mpa", tmp);
	gen_mpa_fixture(trace);
	char *topo = ct_fmt("%s/topology", tmp), *err = ct_fmt("%s/err", tmp);
	char *out = ct_fmt("%s/t.mpt", tmp);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		FILE *f = fopen(topo, "w");
		cr_assert(f);
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].msg, "NUL"))
			len += 2; /* the NUL and the newline after it */
		fwrite(cases[i].text, 1, len, f);
		fclose(f);
		int rc = ct_sh("'%s/bin/mpa-convert' -q --topology '%s' -o '%s' '%s' 2>'%s'",
			       ct_env("MPA_BUILD"), topo, out, trace, err);
		char *msg = ct_read_file(err);
		cr_assert_eq(rc, 2, "case %zu: exit %d: %s", i, rc, msg);
		cr_assert(strstr(msg, ct_fmt("mpa-convert: '%s': ", topo)) == msg, "case %zu: %s", i, msg);
		cr_assert_not_null(strstr(msg, cases[i].msg), "case %zu: want '%s', got %s", i,
				   cases[i].msg, msg);
		cr_assert_eq(strchr(msg, '\n'), msg + strlen(msg) - 1, "one line: %s", msg);
		cr_assert(!ct_exists(out), "no capture from a bad topology");
	}
	/* a file that is not there, and a folder */
	cr_assert_eq(ct_sh("'%s/bin/mpa-convert' -q --topology '%s/nope' -o '%s' '%s' 2>'%s'",
			   ct_env("MPA_BUILD"), tmp, out, trace, err), 2);
	cr_assert_not_null(strstr(ct_read_file(err), "nope': no such file or directory"));
	cr_assert_eq(ct_sh("'%s/bin/mpa-convert' -q --topology '%s' -o '%s' '%s' 2>'%s'",
			   ct_env("MPA_BUILD"), tmp, out, trace, err), 2);
	ct_rmrf(tmp);
	ct_cleanup();
}
