/* doc/format.md as a specification: tests/format/spec_reader.py is a second,
 * independent reader written from that document alone (Python, zstandard,
 * xxhash).  Its JSON Lines dump must equal `mpa-cat --events -f jsonl`
 * byte for byte on real captures; on captures it has re-encoded itself in
 * each column encoding of section 7 (so libmpt must read what the spec
 * says), also with more threads than the per-thread limits of TIDCTX and
 * PTR; and on captures with bits flipped inside columns behind recomputed
 * checksums (both readers refuse, or both read the same records).  Both
 * must refuse truncated and bit-flipped copies.  mpa-cat --pid is checked on
 * the re-encoded captures (the pid column in every encoding).  The tables
 * too: `spec_reader.py --tables` must equal `mpa-cat --table all`.
 * tests/format/data/fork.mpt (format 2.0) is read and re-encoded too.
 * samples/python3-json.mpt (3.9 M records) is left out: the Python reader
 * needs ~40 s on it (its dump equals mpa-cat's there too). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpa/mpt.h"
#include "mpt_test_util.h"

#define PYTHON "/usr/bin/python3"

static const char *src_dir(void)
{
	const char *s = getenv("MPA_SRC");
	return s && *s ? s : ".";
}

static const char *build_dir(void)
{
	const char *s = getenv("MPA_BUILD");
	return s && *s ? s : "build";
}

static char *cat2(const char *a, const char *b)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

/* Run argv with stdout and stderr sent to files; the exit status, or -1
 * when it did not exit normally. */
static int run(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	cr_assert(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	cr_assert(fseek(f, 0, SEEK_END) == 0);
	long n = ftell(f);
	cr_assert(n >= 0);
	rewind(f);
	char *b = malloc((size_t)n + 1);
	cr_assert(b);
	cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	b[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *path, const char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	cr_assert(fwrite(b, 1, n, f) == n);
	cr_assert(fclose(f) == 0);
}

static size_t count_lines(const char *b, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += b[i] == '\n';
	return c;
}

struct ctx {
	char dir[64];
	char *reader, *cat;
	char *a, *b, *e1, *e2;
};

static void ctx_init(struct ctx *c)
{
	strcpy(c->dir, "/tmp/mpa-spec-reader-XXXXXX");
	cr_assert(mkdtemp(c->dir));
	c->reader = cat2(src_dir(), "tests/format/spec_reader.py");
	c->cat = cat2(build_dir(), "bin/mpa-cat");
	c->a = cat2(c->dir, "spec.jsonl");
	c->b = cat2(c->dir, "cat.jsonl");
	c->e1 = cat2(c->dir, "spec.err");
	c->e2 = cat2(c->dir, "cat.err");
}

static void ctx_fini(struct ctx *c)
{
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "rm -rf '%s'", c->dir) > 0);
	cr_assert(system(cmd) == 0);
	free(cmd);
	free(c->reader);
	free(c->cat);
	free(c->a);
	free(c->b);
	free(c->e1);
	free(c->e2);
}

static int spec_dump(struct ctx *c, const char *file)
{
	char *argv[] = { PYTHON, c->reader, (char *)file, NULL };
	return run(argv, c->a, c->e1);
}

static int cat_dump(struct ctx *c, const char *file)
{
	char *argv[] = { c->cat, "--events", "-f", "jsonl", (char *)file, NULL };
	return run(argv, c->b, c->e2);
}

/* mpa-cat's dump of the records of one pid (--pid). */
static char *cat_pid_dump(struct ctx *c, const char *file, long pid, size_t *len)
{
	char p[24];
	snprintf(p, sizeof p, "%ld", pid);
	char *argv[] = { c->cat, "--events", "-f", "jsonl", "--pid", p, (char *)file, NULL };
	cr_assert_eq(run(argv, c->b, c->e2), 0, "mpa-cat --pid %ld failed on %s", pid, file);
	return slurp(c->b, len);
}

/* The pid filter on a file whose pid column is in some encoding: the pid of
 * the first record keeps exactly the dump's lines of that pid (all of them
 * for the one-process samples; the parent's for the fork capture), an
 * absent pid none.  KSPLIT and TIDCTX pid columns take the reader's
 * row-by-row path, the others its pid-first path. */
static void check_pid_filter(struct ctx *c, const char *file, const char *all, size_t n)
{
	const char *at = strstr(all, "\"pid\":");
	cr_assert_not_null(at, "no pid in the dump of %s", file);
	long pid = strtol(at + 6, NULL, 10);
	/* the lines of all whose pid is pid */
	char key[40];
	snprintf(key, sizeof key, "\"pid\":%ld,", pid);
	char *want = malloc(n + 1);
	cr_assert_not_null(want);
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(all + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (all + i)) + 1 : n - i;
		char *line = strndup(all + i, len);
		cr_assert_not_null(line);
		if (strstr(line, key)) {
			memcpy(want + w, all + i, len);
			w += len;
		}
		free(line);
		i += len;
	}
	size_t m;
	char *got = cat_pid_dump(c, file, pid, &m);
	cr_assert(w > 0 && m == w && memcmp(got, want, w) == 0,
		  "%s: --pid %ld is not every record of that pid", file, pid);
	free(got);
	free(want);
	/* a pid the capture does not hold (the fork capture holds pid + 1) */
	long absent = pid + 1;
	snprintf(key, sizeof key, "\"pid\":%ld,", absent);
	while (memmem(all, n, key, strlen(key)))
		snprintf(key, sizeof key, "\"pid\":%ld,", ++absent);
	got = cat_pid_dump(c, file, absent, &m);
	cr_assert_eq(m, 0, "%s: --pid %ld is not empty", file, absent);
	free(got);
}

/* Both readers dump `file`; the dumps must be identical and hold at least
 * min_rows records.  Returns mpa-cat's dump (caller frees). */
static char *same_dump(struct ctx *c, const char *file, size_t min_rows, size_t *len)
{
	int rs = spec_dump(c, file);
	size_t el;
	char *err = slurp(c->e1, &el);
	cr_assert_eq(rs, 0, "spec_reader failed on %s: %s", file, err);
	free(err);
	cr_assert_eq(cat_dump(c, file), 0, "mpa-cat failed on %s", file);
	size_t na, nb;
	char *a = slurp(c->a, &na), *b = slurp(c->b, &nb);
	cr_assert(count_lines(b, nb) >= min_rows, "%s: only %zu records", file, count_lines(b, nb));
	if (na != nb || memcmp(a, b, na) != 0) {
		size_t i = 0, line = 1;
		while (i < na && i < nb && a[i] == b[i])
			line += a[i++] == '\n';
		cr_assert_fail("%s: spec_reader and mpa-cat differ at line %zu (byte %zu)", file, line, i);
	}
	free(a);
	*len = nb;
	return b;
}

static void check_capture(const char *rel, size_t min_rows)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(src_dir(), rel);
	size_t n;
	free(same_dump(&c, f, min_rows, &n));
	free(f);
	ctx_fini(&c);
}

/* Both readers list the tables of `file`; the listings must be identical. */
static void same_tables(struct ctx *c, const char *file)
{
	char *sargv[] = { PYTHON, c->reader, "--tables", (char *)file, NULL };
	int rs = run(sargv, c->a, c->e1);
	size_t el;
	char *err = slurp(c->e1, &el);
	cr_assert_eq(rs, 0, "spec_reader --tables failed on %s: %s", file, err);
	free(err);
	char *cargv[] = { c->cat, "--table", "all", (char *)file, NULL };
	cr_assert_eq(run(cargv, c->b, c->e2), 0, "mpa-cat --table all failed on %s", file);
	size_t na, nb;
	char *a = slurp(c->a, &na), *b = slurp(c->b, &nb);
	cr_assert_gt(nb, 0);
	if (na != nb || memcmp(a, b, na) != 0) {
		size_t i = 0, line = 1;
		while (i < na && i < nb && a[i] == b[i])
			line += a[i++] == '\n';
		cr_assert_fail("%s: the tables of spec_reader and mpa-cat differ at line %zu", file,
			       line);
	}
	free(a);
	free(b);
}

Test(spec_reader, tables)
{
	struct ctx c;
	ctx_init(&c);
	const char *caps[] = { "samples/demo.mpt", "samples/demo-pagefaults.mpt",
			       "samples/python3-json.mpt", "tests/format/data/python-malloc.mpt" };
	for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
		char *f = cat2(src_dir(), caps[i]);
		same_tables(&c, f);
		free(f);
	}
	ctx_fini(&c);
}

#define OK(x) cr_assert_eq((x), MPT_OK, "%s", err.msg)

/* Tables the samples lack: strings with quotes, backslashes and bytes
 * outside ASCII, frames without function, file, line or binary, a negative
 * pid, a build id, a topology with distances and cache sizes in every unit. */
Test(spec_reader, tables_odd)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(c.dir, "odd.mpt");
	struct mpt_error err = { 0 };
	mpt_writer *w;
	OK(mpt_writer_open(f, NULL, &w, &err));
	const char *strs[] = { "a \"q\" \\ b", "tab\tnl\n\xff\x01\x7f end", "/lib/x.so", "f.c",
			       "0123abcd" };
	uint32_t id[5], fr[4], st;
	for (int i = 0; i < 5; i++)
		OK(mpt_writer_string(w, strs[i], strlen(strs[i]), &id[i], &err));
	const struct mpt_frame frames[4] = {
		{ .ip = 0x1000, .bin_off = 0x10, .bin = id[2], .func = id[0], .file = id[3], .line = 9 },
		{ .ip = 0xffffffffffffffffull },
		{ .ip = 0x2000, .func = id[1], .file = id[3] },
		{ .ip = 0x3000, .bin_off = 0, .bin = id[2], .line = 5 },
	};
	for (int i = 0; i < 4; i++)
		OK(mpt_writer_frame(w, &frames[i], &fr[i], &err));
	OK(mpt_writer_stack(w, fr, 4, &st, &err));
	OK(mpt_writer_stack(w, fr + 2, 1, &st, &err));
	const struct mpt_binary bins[2] = {
		{ .pid = -1, .path = id[2], .base = 0x7f0000000000, .size = 0x1000 },
		{ .pid = 2147483647, .path = id[1], .build_id = id[4], .base = 0xfffffffffffff000ull,
		  .size = 0x2000 },
	};
	for (int i = 0; i < 2; i++)
		OK(mpt_writer_binary(w, &bins[i], &err));
	int32_t node[3] = { 0, 1, -1 };
	uint32_t dist[4] = { 10, 21, 21, 10 };
	struct mpt_topology t = { .ncpus = 3, .nnodes = 2, .page_size = 4096, .cache_line = 64,
				  .l1d_size = 49152, .l2_size = 1310720, .l3_size = 3ull << 30,
				  .cpu_node = node, .distance = dist };
	OK(mpt_writer_topology(w, &t, &err));
	struct mpa_event e = { .kind = MPA_KIND_THREAD_EXIT, .ts = 1, .pid = 1, .tid = 1 };
	OK(mpt_writer_append(w, &e, &err));
	OK(mpt_writer_close(w, &err));
	same_tables(&c, f);
	free(f);
	ctx_fini(&c);
}

Test(spec_reader, demo)
{
	check_capture("samples/demo.mpt", 30000);
}

Test(spec_reader, demo_pagefaults)
{
	check_capture("samples/demo-pagefaults.mpt", 30000);
}

Test(spec_reader, python_malloc)
{
	check_capture("tests/format/data/python-malloc.mpt", 140000);
}

Test(spec_reader, fork_format_2_0)
{
	check_capture("tests/format/data/fork.mpt", 1900);
}

/* Records of every kind (format 2.0: proc_fork and its ppid column
 * included) with random values in every field, written by libmpt in small
 * chunks: both readers dump the same records. */
Test(spec_reader, random_records_of_every_kind)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(c.dir, "random.mpt");
	tu_write_random(f, 77, 3000, 250, NULL);
	size_t n;
	char *d = same_dump(&c, f, 3000, &n);
	cr_assert(strstr(d, "\"kind\":\"proc_fork\"") && strstr(d, "\"ppid\":"),
		  "the random stream holds proc_fork records");
	free(d);
	free(f);
	ctx_fini(&c);
}

/* Every column rewritten (by the spec reader's own encoder, stored raw) in
 * one encoding at a time: libmpt must accept the result (--verify) and both
 * readers must give back the original records.  For PTR (7) only the ptr
 * column is rewritten.  CONST (3) is left out: every capture already stores
 * its constant columns raw in CONST, so re-encoding would change nothing. */
static void check_encoding(const char *rel, size_t min_rows, int enc)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(src_dir(), rel);
	size_t n;
	char *ref = same_dump(&c, f, min_rows, &n);
	char e[8], *out = cat2(c.dir, "re.mpt");
	snprintf(e, sizeof e, "%d", enc);
	char *argv[] = { PYTHON, c.reader, "--reencode", e, f, out, NULL };
	cr_assert_eq(run(argv, c.a, c.e1), 0, "re-encoding in %d failed", enc);
	size_t on, rn;
	char *ob = slurp(f, &rn), *nb = slurp(out, &on);
	cr_assert(on != rn || memcmp(ob, nb, on) != 0, "re-encoding in %d changed nothing", enc);
	free(ob);
	free(nb);
	char *vargv[] = { c.cat, "--verify", out, NULL };
	cr_assert_eq(run(vargv, c.b, c.e2), 0, "mpa-cat --verify refuses encoding %d", enc);
	size_t m;
	char *got = same_dump(&c, out, min_rows, &m);
	cr_assert(m == n && memcmp(got, ref, n) == 0, "encoding %d changes the records", enc);
	check_pid_filter(&c, out, got, m);
	free(got);
	free(out);
	free(ref);
	free(f);
	ctx_fini(&c);
}

#define ENC_TEST(name, enc) \
	Test(spec_reader, encoding_##name) { check_encoding("samples/demo.mpt", 30000, enc); }
ENC_TEST(plain, 0)
ENC_TEST(varint, 1)
ENC_TEST(delta, 2)
ENC_TEST(rle, 4)
ENC_TEST(dict, 5)
ENC_TEST(delta2, 6)
ENC_TEST(ptr, 7)
ENC_TEST(ksplit, 8)
ENC_TEST(tidctx, 9)
ENC_TEST(dfor, 10)
ENC_TEST(usize, 11) /* format 4.0: the file becomes 4.0 */
ENC_TEST(ptr2, 12)  /* format 4.0 */

/* the format-2.0 fixture: KSPLIT orders kind 20 (proc_fork) last */
Test(spec_reader, encoding_ksplit_fork) { check_encoding("tests/format/data/fork.mpt", 1900, 8); }
Test(spec_reader, encoding_plain_fork) { check_encoding("tests/format/data/fork.mpt", 1900, 0); }

/* A damaged copy: both readers fail, the spec reader with one line. */
static void both_fail(struct ctx *c, const char *file, const char *what)
{
	cr_assert_neq(spec_dump(c, file), 0, "spec_reader accepts %s", what);
	cr_assert_neq(cat_dump(c, file), 0, "mpa-cat accepts %s", what);
	size_t el;
	char *err = slurp(c->e1, &el);
	cr_assert(el > 0 && count_lines(err, el) == 1 && err[el - 1] == '\n',
		  "spec_reader on %s: not one error line: %s", what, err);
	cr_assert(strstr(err, "Traceback") == NULL, "spec_reader crashed on %s: %s", what, err);
	free(err);
}

Test(spec_reader, damaged)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(src_dir(), "samples/demo.mpt");
	char *d = cat2(c.dir, "damaged.mpt");
	size_t n;
	char *b = slurp(f, &n);
	cr_assert(n > 1000);
	const size_t cuts[] = { n - 1, n - 48, n - 100, n / 2, 200, 40, 16, 3, 0 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "a copy cut at %zu of %zu bytes", cuts[i], n);
		spit(d, b, cuts[i]);
		both_fail(&c, d, what);
	}
	/* flipped bits: every byte but the header's ignored reserved field is
	 * covered by a checksum or checked */
	const size_t flips[] = { 0, 9, 20, 100, 300, n / 3, n / 2, n - 200, n - 60, n - 30, n - 5 };
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "a copy with byte %zu flipped", flips[i]);
		b[flips[i]] ^= 0x10;
		spit(d, b, n);
		both_fail(&c, d, what);
		b[flips[i]] ^= 0x10;
	}
	spit(d, b, n);
	size_t m;
	free(same_dump(&c, d, 30000, &m));
	free(b);
	free(d);
	free(f);
	ctx_fini(&c);
}

/* More threads than the per-thread state limits of TIDCTX (1024 tids) and
 * PTR (1024 top entries, 4096 (tid, class) lists): the tid of row r becomes
 * (r % 3000) + 1, then every column is re-encoded in TIDCTX, or ptr in PTR.
 * libmpt must accept the file and decode it exactly like the spec reader. */
static void check_many_threads(int enc)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(src_dir(), "samples/demo.mpt");
	char e[8], *out = cat2(c.dir, "threads.mpt");
	snprintf(e, sizeof e, "%d", enc);
	char *argv[] = { PYTHON, c.reader, "--reencode", e, f, out, "3000", NULL };
	cr_assert_eq(run(argv, c.a, c.e1), 0, "re-encoding in %d failed", enc);
	char *vargv[] = { c.cat, "--verify", out, NULL };
	cr_assert_eq(run(vargv, c.b, c.e2), 0, "mpa-cat --verify refuses encoding %d with 3000 tids", enc);
	size_t m;
	char *got = same_dump(&c, out, 30000, &m);
	cr_assert(strstr(got, "\"tid\":2999,") != NULL, "tids were not rewritten");
	free(got);
	free(out);
	free(f);
	ctx_fini(&c);
}

Test(spec_reader, tidctx_many_threads)
{
	check_many_threads(9);
}

Test(spec_reader, ptr_many_threads)
{
	check_many_threads(7);
}

/* Differential check of the decoders: bits flipped inside raw columns with
 * their checksums recomputed (the spec reader's --mutate).  Each damaged
 * file must be refused by both readers or read identically by both. */
static void check_mutations(int enc)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(src_dir(), "samples/demo.mpt");
	char e[8], *re = cat2(c.dir, "re.mpt"), *m = cat2(c.dir, "mut.mpt");
	snprintf(e, sizeof e, "%d", enc);
	char *argv[] = { PYTHON, c.reader, "--reencode", e, f, re, NULL };
	cr_assert_eq(run(argv, c.a, c.e1), 0);
	for (int seed = 1; seed <= 6; seed++) {
		char sd[16];
		snprintf(sd, sizeof sd, "%d", seed * 7919 + enc);
		char *margv[] = { PYTHON, c.reader, "--mutate", sd, re, m, NULL };
		cr_assert_eq(run(margv, c.a, c.e1), 0);
		int rs = spec_dump(&c, m), rc = cat_dump(&c, m);
		cr_assert_eq(rs == 0, rc == 0, "encoding %d seed %s: spec_reader exit %d, mpa-cat exit %d",
			     enc, sd, rs, rc);
		if (rs != 0)
			continue;
		size_t na, nb;
		char *a = slurp(c.a, &na), *b = slurp(c.b, &nb);
		cr_assert(na == nb && memcmp(a, b, na) == 0, "encoding %d seed %s: readers disagree", enc, sd);
		free(a);
		free(b);
	}
	free(re);
	free(m);
	free(f);
	ctx_fini(&c);
}

Test(spec_reader, mutations_varint) { check_mutations(1); }
Test(spec_reader, mutations_dict) { check_mutations(5); }
Test(spec_reader, mutations_ptr) { check_mutations(7); }
Test(spec_reader, mutations_usize) { check_mutations(11); }
Test(spec_reader, mutations_ptr2) { check_mutations(12); }
Test(spec_reader, mutations_ksplit) { check_mutations(8); }
Test(spec_reader, mutations_tidctx) { check_mutations(9); }
Test(spec_reader, mutations_dfor) { check_mutations(10); }

/* A format-4.0 capture as libmpt writes it (a malloc-shaped stream with
 * glibc's usable sizes: ptr in PTR2, usable in USIZE): both readers dump
 * the same records. */
Test(spec_reader, format_4_0_ptr2_usize)
{
	struct ctx c;
	ctx_init(&c);
	char *f = cat2(c.dir, "v4.mpt");
	struct mpt_writer_opts o = { .chunk_rows = 6000 };
	mpt_writer *w;
	struct mpt_error err;
	cr_assert_eq(mpt_writer_open(f, &o, &w, &err), MPT_OK, "%s", err.msg);
	struct tu_stream s;
	tu_stream_init(&s, 9);
	for (uint32_t i = 0; i < 20000; i++) {
		struct mpa_event e;
		tu_stream_next(&s, &e);
		if (e.kind == MPA_KIND_ALLOC)
			e.usable = tu_chunk_size(e.size) - 8 + (i % 37 == 0 ? 16 : 0);
		cr_assert_eq(mpt_writer_append(w, &e, &err), MPT_OK, "%s", err.msg);
	}
	cr_assert_eq(mpt_writer_close(w, &err), MPT_OK, "%s", err.msg);
	mpt_reader *r;
	cr_assert_eq(mpt_reader_open(f, &r, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(mpt_reader_version_major(r), 4);
	struct mpt_column_info info[MPT_COL_COUNT_];
	cr_assert_eq(mpt_reader_column_info(r, 0, info, &err), MPT_OK, "%s", err.msg);
	cr_assert_eq(info[MPT_COL_PTR].encoding, 12);
	cr_assert_eq(info[MPT_COL_USABLE].encoding, 11);
	mpt_reader_close(r);
	size_t n;
	free(same_dump(&c, f, 20000, &n));
	free(f);
	ctx_fini(&c);
}
