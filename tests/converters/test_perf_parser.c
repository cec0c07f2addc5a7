/*
 * perf.data reader: generated fixtures with real hardware-event layouts
 * (checked against `perf script` on the same files), ordering, and corrupt
 * inputs (truncations, lying sizes, mutations).
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../converters/perf/perf_data.h"
#include "perf_fixtures/perf_fixtures.h"

/* ---- helpers ---------------------------------------------------------------- */

struct counts {
	size_t samples, per_attr[4], comm, mmap, fork, exit, lost_recs, other;
	uint64_t lost;
};

/* Reads every record of an open file; checks time order; returns status. */
static int read_all(struct mpa_perf_file *f, struct counts *c,
		struct mpa_perf_record **out, size_t *nout)
{
	struct mpa_perf_record rec;
	uint64_t last = 0;
	size_t n = 0, cap = 0;
	int st;

	memset(c, 0, sizeof(*c));
	while ((st = mpa_perf_next(f, &rec)) == MPA_PERF_OK) {
		cr_assert_geq(rec.time, last, "record at offset %" PRIu64
			" goes back in time", rec.offset);
		last = rec.time;
		switch (rec.type) {
		case MPA_PERF_RECORD_SAMPLE:
			c->samples++;
			c->per_attr[mpa_perf_attr_index(f, rec.attr)]++;
			break;
		case MPA_PERF_RECORD_COMM:
			c->comm++;
			break;
		case MPA_PERF_RECORD_MMAP:
		case MPA_PERF_RECORD_MMAP2:
			c->mmap++;
			break;
		case MPA_PERF_RECORD_FORK:
			c->fork++;
			break;
		case MPA_PERF_RECORD_EXIT:
			c->exit++;
			break;
		case MPA_PERF_RECORD_LOST:
		case MPA_PERF_RECORD_LOST_SAMPLES:
			c->lost_recs++;
			c->lost += rec.u.lost.lost;
			break;
		default:
			c->other++;
		}
		if (out) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				*out = realloc(*out, cap * sizeof(**out));
				cr_assert_not_null(*out);
			}
			(*out)[n++] = rec;
		}
	}
	if (nout)
		*nout = n;
	return st;
}

static void check_counts(const struct counts *c, const struct pf_expect *e)
{
	cr_expect_eq(c->samples, e->nr_samples, "samples %zu, expected %zu",
		c->samples, e->nr_samples);
	for (size_t i = 0; i < 4; i++)
		cr_expect_eq(c->per_attr[i], e->nr_samples_per_attr[i]);
	cr_expect_eq(c->comm, e->nr_comm);
	cr_expect_eq(c->mmap, e->nr_mmap);
	cr_expect_eq(c->fork, e->nr_fork);
	cr_expect_eq(c->exit, e->nr_exit);
	cr_expect_eq(c->lost, e->lost);
	cr_expect_eq(c->lost_recs, e->nr_lost_records);
}

typedef struct pw *(*fixture_fn)(struct pf_expect *);

static unsigned char *build(fixture_fn fn, struct pf_expect *e, size_t *size)
{
	struct pw *w = fn(e);
	unsigned char *p = pw_build(w, size);

	pw_free(w);
	return p;
}

/* Writes a fixture into a fresh temp dir; returns the file path. */
static char *write_fixture(fixture_fn fn, struct pf_expect *e, char **dir)
{
	struct pw *w = fn(e);
	char *path;

	*dir = pf_mkdtemp();
	cr_assert_not_null(*dir);
	path = pf_join(*dir, "perf.data");
	cr_assert_eq(pw_write(w, path), 0);
	pw_free(w);
	return path;
}

/* ---- fixtures ---------------------------------------------------------------- */

Test(perf_parser, mem_loads_fixture)
{
	struct pf_expect e;
	size_t size, n, i;
	unsigned char *buf = build(pf_mem_loads, &e, &size);
	struct mpa_perf_file *f;
	struct mpa_perf_record *recs = NULL;
	struct counts c;
	const struct mpa_perf_attr *a;
	const struct mpa_perf_info *info;
	const struct mpa_perf_build_id *b;
	int saw_lost = 0;

	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	cr_assert_eq(mpa_perf_nr_attrs(f), 2);
	a = mpa_perf_attr_at(f, 0);
	cr_expect_str_eq(a->name, "cpu/mem-loads,ldlat=30/P");
	cr_expect_eq(a->type, MPA_PERF_TYPE_RAW);
	cr_expect_eq(a->config, PF_MEM_LOADS_CONFIG);
	cr_expect_eq(a->config1, 30);
	cr_expect_eq(a->sample_type, MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID |
		MPA_PERF_SAMPLE_TIME | MPA_PERF_SAMPLE_ADDR | MPA_PERF_SAMPLE_ID |
		MPA_PERF_SAMPLE_CPU | MPA_PERF_SAMPLE_PERIOD |
		MPA_PERF_SAMPLE_WEIGHT | MPA_PERF_SAMPLE_DATA_SRC);
	cr_expect(a->sample_id_all);
	cr_expect_eq(a->nr_ids, 2);
	cr_expect_str_eq(mpa_perf_attr_at(f, 1)->name, "cpu/mem-stores/P");
	cr_expect(mpa_perf_has_cpu(f));
	info = mpa_perf_info(f);
	cr_expect_str_eq(info->hostname, PF_HOST);
	cr_expect_str_eq(info->arch, "x86_64");
	cr_expect_eq(info->nr_cpus_online, 4);
	cr_expect_str_eq(info->cmdline, "perf record");
	cr_expect_eq(info->clockid, -1);
	b = mpa_perf_build_id_find(f, "/usr/bin/memhog");
	cr_assert_not_null(b);
	cr_expect_eq(b->size, 20);
	cr_expect_eq(b->build_id[0], 0x8f);

	cr_assert_eq(read_all(f, &c, &recs, &n), MPA_PERF_END, "%s", mpa_perf_errmsg(f));
	check_counts(&c, &e);
	for (i = 0; i < n; i++) {
		const struct mpa_perf_record *r = &recs[i];

		if (r->type == MPA_PERF_RECORD_SAMPLE) {
			uint64_t t = r->s.time;

			cr_expect_eq(r->time, t);
			cr_expect(r->time_is_real);
			cr_expect_eq(r->s.ip, 0x401000 + t);
			cr_expect_eq(r->s.addr, 0x7f0000001000ULL + t * 64);
			cr_expect_eq(r->s.weight, 30 + t % 97);
			cr_expect_eq(r->s.period, 1000 + t % 7);
			cr_expect_eq(r->s.tid, 1000 + r->s.cpu);
			cr_expect_eq(r->cpu, r->s.cpu);
			/* matched by sample id: ids 1xx are loads, 2xx stores */
			cr_expect_eq(mpa_perf_attr_index(f, r->attr), r->s.id / 100 - 1);
			cr_expect_eq(r->s.data_src, r->s.id >= 200 ? 0x5080144ULL : 0x68100142ULL);
		}
		if (r->type == MPA_PERF_RECORD_LOST) {
			cr_expect_eq(r->u.lost.id, 102);
			cr_expect_eq(r->u.lost.lost, 7);
			cr_expect(r->has_cpu);
			cr_expect_eq(r->cpu, 1);
			cr_expect_eq(r->time, 1160);
			saw_lost = 1;
		}
		if (r->type == MPA_PERF_RECORD_COMM && r->time == 1170) {
			cr_expect_str_eq(r->u.comm.comm, "memhog-child");
			cr_expect(r->u.comm.exec);
		}
		if (r->type == MPA_PERF_RECORD_MMAP2 && r->u.mmap.build_id_size) {
			cr_expect_str_eq(r->u.mmap.filename, "/usr/bin/memhog");
			cr_expect_eq(r->u.mmap.build_id[19], 0x60);
		}
		if (r->type == MPA_PERF_RECORD_FORK) {
			cr_expect_eq(r->u.task.pid, 1000);
			cr_expect_eq(r->u.task.tid, 1001);
			cr_expect_eq(r->time, 1020);
		}
	}
	cr_expect(saw_lost);
	/* cpu1's round-2 sample (1150) comes before round 1's 1200 */
	cr_expect_eq(mpa_perf_stats(f)->nr_unordered, 0);
	cr_expect_eq(mpa_perf_stats(f)->nr_rounds, 4);
	free(recs);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, cache_misses_callchain)
{
	struct pf_expect e;
	size_t size, n, i;
	unsigned char *buf = build(pf_cache_misses, &e, &size);
	struct mpa_perf_file *f;
	struct mpa_perf_record *recs = NULL;
	struct counts c;
	size_t chains = 0;

	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	cr_expect_str_eq(mpa_perf_attr_at(f, 0)->name, "cache-misses");
	cr_expect_eq(mpa_perf_attr_at(f, 0)->type, MPA_PERF_TYPE_HARDWARE);
	cr_expect_str_eq(mpa_perf_attr_at(f, 1)->name, "page-faults");
	cr_assert_eq(read_all(f, &c, &recs, &n), MPA_PERF_END, "%s", mpa_perf_errmsg(f));
	check_counts(&c, &e);
	for (i = 0; i < n; i++) {
		const struct mpa_perf_record *r = &recs[i];
		size_t ai;

		if (r->type != MPA_PERF_RECORD_SAMPLE)
			continue;
		ai = mpa_perf_attr_index(f, r->attr);
		cr_expect_eq(r->s.id, ai ? 21 + r->s.cpu : 11 + r->s.cpu);
		if (ai == 0 && r->s.nr_callchain) {
			cr_assert_eq(r->s.nr_callchain, 7);
			cr_expect_eq(mpa_perf_u64_at(r->s.callchain, 0),
				(uint64_t)-128);   /* PERF_CONTEXT_KERNEL */
			cr_expect_eq(mpa_perf_u64_at(r->s.callchain, 3),
				(uint64_t)-512);   /* PERF_CONTEXT_USER */
			cr_expect_eq(mpa_perf_u64_at(r->s.callchain, 4), r->s.ip);
			cr_expect_eq(mpa_perf_u64_at(r->s.callchain, 6), 0x401050);
			chains++;
		}
		if (ai == 1)
			cr_expect_eq(r->s.addr, 0x7ffd00000000ULL + 4096 * ((r->s.ip - 0x401200) / 8));
	}
	cr_expect_eq(chains, 6);
	free(recs);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, skipped_fields_and_weight_struct)
{
	struct pf_expect e;
	size_t size, n, i;
	unsigned char *buf = build(pf_skip_fields, &e, &size);
	struct mpa_perf_file *f;
	struct mpa_perf_record *recs = NULL;
	struct counts c;

	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	cr_assert_eq(read_all(f, &c, &recs, &n), MPA_PERF_END, "%s", mpa_perf_errmsg(f));
	check_counts(&c, &e);
	for (i = 0; i < n; i++) {
		const struct mpa_perf_record *r = &recs[i];
		uint64_t k;

		if (r->type != MPA_PERF_RECORD_SAMPLE)
			continue;
		k = (r->s.time - 500) / 10;
		cr_expect_eq(r->s.ip, 0x401000 + k);
		cr_expect_eq(r->s.nr_branches, k);
		cr_expect_eq(r->s.raw_size, k % 3 == 0 ? 4 : 20, "raw %u", r->s.raw_size);
		cr_expect_eq(r->s.weight, 100 + k);      /* var1_dw */
		cr_expect_eq(r->s.weight_var2, 7 + k);
		cr_expect_eq(r->s.data_src, 0x29080142ULL);
		cr_expect_eq(r->s.phys_addr, 0x1234000ULL + 64 * k);
		cr_expect_eq(r->s.data_page_size, 4096);
		cr_expect_eq(r->s.code_page_size, 2097152);
	}
	free(recs);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, ver0_attrs_without_sample_id_all)
{
	struct pf_expect e;
	size_t size, n, i;
	unsigned char *buf = build(pf_ver0, &e, &size);
	struct mpa_perf_file *f;
	struct mpa_perf_record *recs = NULL;
	struct counts c;

	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	cr_expect_eq(mpa_perf_attr_at(f, 0)->size, 64);
	cr_expect(!mpa_perf_attr_at(f, 0)->sample_id_all);
	cr_expect(!mpa_perf_has_cpu(f));
	cr_assert_eq(read_all(f, &c, &recs, &n), MPA_PERF_END, "%s", mpa_perf_errmsg(f));
	check_counts(&c, &e);
	for (i = 0; i < n; i++) {
		if (recs[i].type == MPA_PERF_RECORD_COMM ||
				recs[i].type == MPA_PERF_RECORD_MMAP ||
				recs[i].type == MPA_PERF_RECORD_LOST)
			cr_expect(!recs[i].time_is_real);
		if (recs[i].type == MPA_PERF_RECORD_FORK)
			cr_expect_eq(recs[i].time, 850);   /* its own time field */
	}
	free(recs);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, attr_size_above_known)
{
	/* A future perf_event_attr (136 bytes, config3): still read. */
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	struct pw_sample s = { 0 };
	static const uint64_t ids[] = { 9 };
	unsigned char *buf;
	size_t size;
	struct mpa_perf_file *f;
	struct counts c;

	a.type = 1;
	a.size = 136;
	a.config = 2;
	a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID | MPA_PERF_SAMPLE_TIME;
	a.flags = MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL;
	pw_add_attr(w, &a, "page-faults", ids, 1);
	s.ip = 0x1234;
	s.time = 77;
	pw_sample(w, 0, &s);
	buf = pw_build(w, &size);
	pw_free(w);
	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	cr_expect_eq(mpa_perf_attr_at(f, 0)->size, 136);
	cr_assert_eq(read_all(f, &c, NULL, NULL), MPA_PERF_END);
	cr_expect_eq(c.samples, 1);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, group_read_format_is_skipped)
{
	/* READ with PERF_FORMAT_GROUP (perf record -e '{a,b}:S'): nr, times,
	 * then {value, id, lost} per member; the fields after it must be
	 * read at the right place. */
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t ids[] = { 3 };
	unsigned char *buf;
	size_t size;
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	size_t n = 0;

	a.type = MPA_PERF_TYPE_HARDWARE;
	a.config = 3;
	a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID |
		MPA_PERF_SAMPLE_TIME | MPA_PERF_SAMPLE_READ |
		MPA_PERF_SAMPLE_CALLCHAIN | MPA_PERF_SAMPLE_DATA_SRC;
	a.read_format = MPA_PERF_FORMAT_GROUP | MPA_PERF_FORMAT_ID |
		MPA_PERF_FORMAT_LOST | MPA_PERF_FORMAT_TOTAL_TIME_ENABLED;
	a.flags = MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL;
	pw_add_attr(w, &a, "{cache-misses,cycles}:S", ids, 1);
	for (int i = 0; i < 3; i++) {
		struct pw_sample s = { 0 };
		uint64_t chain[2] = { 0x1000 + (uint64_t)i, 0x2000 };

		s.ip = 0x400000 + (uint64_t)i;
		s.time = 10 + (uint64_t)i;
		s.read_value = 100 * (uint64_t)(i + 1);
		s.callchain = chain;
		s.nr_callchain = 2;
		s.data_src = 0xabc0 + (uint64_t)i;
		pw_sample(w, 0, &s);
	}
	buf = pw_build(w, &size);
	pw_free(w);
	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0, "%s", mpa_perf_errmsg(f));
	while (mpa_perf_next(f, &rec) == MPA_PERF_OK) {
		cr_expect_eq(rec.s.ip, 0x400000 + n);
		cr_expect_eq(rec.s.nr_callchain, 2);
		cr_expect_eq(mpa_perf_u64_at(rec.s.callchain, 0), 0x1000 + n);
		cr_expect_eq(rec.s.data_src, 0xabc0 + n);
		n++;
	}
	cr_expect_eq(n, 3);
	mpa_perf_close(f);
	free(buf);
}

static void expect_same_record(const struct mpa_perf_record *a,
		const struct mpa_perf_record *b, size_t i)
{
	cr_assert_eq(a->type, b->type, "record %zu: type %u vs %u", i, a->type, b->type);
	cr_expect_eq(a->time, b->time, "record %zu: time", i);
	cr_expect_eq(a->misc, b->misc);
	cr_expect_eq(a->s.ip, b->s.ip);
	cr_expect_eq(a->s.addr, b->s.addr);
	cr_expect_eq(a->s.tid, b->s.tid);
	cr_expect_eq(a->s.weight, b->s.weight);
	cr_expect_eq(a->s.data_src, b->s.data_src);
	cr_expect_eq(a->s.nr_callchain, b->s.nr_callchain);
	for (uint64_t k = 0; k < a->s.nr_callchain && k < b->s.nr_callchain; k++)
		cr_expect_eq(mpa_perf_u64_at(a->s.callchain, k),
			mpa_perf_u64_at(b->s.callchain, k));
	if (a->type == MPA_PERF_RECORD_COMM)
		cr_expect_str_eq(a->u.comm.comm, b->u.comm.comm);
	if (a->type == MPA_PERF_RECORD_MMAP || a->type == MPA_PERF_RECORD_MMAP2) {
		cr_expect_str_eq(a->u.mmap.filename, b->u.mmap.filename);
		cr_expect_eq(a->u.mmap.build_id_size, b->u.mmap.build_id_size);
	}
	if (a->type == MPA_PERF_RECORD_LOST || a->type == MPA_PERF_RECORD_LOST_SAMPLES)
		cr_expect_eq(a->u.lost.lost, b->u.lost.lost);
}

Test(perf_parser, compressed_and_pipe_equal_plain)
{
	struct {
		fixture_fn plain, z;
	} fx[] = {
		{ pf_mem_loads, pf_mem_loads_z },
		{ pf_cache_misses, pf_cache_misses_z },
		{ pf_skip_fields, pf_skip_fields_z },
		{ pf_ver0, pf_ver0_z },
		{ pf_mem_loads, pf_mem_loads_pipe },
		{ pf_cache_misses, pf_cache_misses_pipe_z },
	};

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		for (unsigned order = 0; order < 2; order++) {
			struct pf_expect e;
			size_t n1, n2, k = 0;
			unsigned char *b1 = build(fx[i].plain, &e, &n1);
			unsigned char *b2 = build(fx[i].z, &e, &n2);
			struct mpa_perf_file *f1, *f2;
			struct mpa_perf_record r1, r2;
			unsigned flags = order ? MPA_PERF_OPEN_FILE_ORDER : 0;
			int s1, s2;

			cr_assert_eq(mpa_perf_open_mem(b1, n1, flags, &f1), 0);
			cr_assert_eq(mpa_perf_open_mem(b2, n2, flags, &f2), 0,
				"%s", mpa_perf_errmsg(f2));
			cr_expect(mpa_perf_info(f2)->comp_type == 1 || mpa_perf_info(f2)->pipe);
			cr_expect_str_eq(mpa_perf_attr_at(f2, 0)->name,
				mpa_perf_attr_at(f1, 0)->name);
			cr_expect_str_eq(mpa_perf_info(f2)->hostname, PF_HOST);
			for (;;) {
				/* COMPRESSED records are consumed, never returned;
				 * pipe mode has HEADER_ATTR/FEATURE records too */
				s1 = mpa_perf_next(f1, &r1);
				do
					s2 = mpa_perf_next(f2, &r2);
				while (s2 == MPA_PERF_OK &&
					(r2.type == MPA_PERF_RECORD_HEADER_ATTR ||
					 r2.type == MPA_PERF_RECORD_HEADER_FEATURE));
				cr_assert_eq(s1, s2, "fixture %zu record %zu: %d vs %d (%s)",
					i, k, s1, s2, mpa_perf_errmsg(f2));
				if (s1 != MPA_PERF_OK)
					break;
				expect_same_record(&r1, &r2, k++);
			}
			cr_expect_eq(s1, MPA_PERF_END);
			if (!mpa_perf_info(f2)->pipe || i == 5)
				cr_expect_gt(mpa_perf_stats(f2)->nr_compressed, 1);
			mpa_perf_close(f1);
			mpa_perf_close(f2);
			free(b1);
			free(b2);
		}
	}
}

/* ---- against perf script ----------------------------------------------------- */

/* Splits text into whitespace-separated tokens, dropping '[', ']', ':'. */
static char **tokens_of_line(char *line, size_t *n)
{
	char **v = NULL;
	size_t k = 0;
	char *save = NULL, *t;

	for (char *p = line; *p; p++)
		if (*p == '[' || *p == ']' || *p == ':')
			*p = ' ';
	for (t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		v = realloc(v, (k + 1) * sizeof(*v));
		cr_assert_not_null(v);
		v[k++] = t;
	}
	*n = k;
	return v;
}

/*
 * Runs `perf script -F tid,cpu,time,addr,ip --ns` (fields present in the
 * fixture) and compares every sample line, in order, with the parser's
 * records.  file_order: compare with the records as stored (what perf does
 * when sample_id_all is off).
 */
static void compare_with_perf_script(const char *path, bool has_cpu,
		bool has_addr, bool file_order, size_t expect_samples)
{
	char cmd[1024];
	char *out, *line, *save = NULL;
	int status;
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	size_t matched = 0;

	snprintf(cmd, sizeof(cmd),
		"perf script -i '%s' -G --ns -F tid,%stime,%sip 2>/dev/null",
		path, has_cpu ? "cpu," : "", has_addr ? "addr," : "");
	out = pf_run(cmd, &status);
	cr_assert_not_null(out);
	cr_assert_eq(status, 0, "perf script failed on %s", path);
	cr_assert_eq(mpa_perf_open(path, file_order ? MPA_PERF_OPEN_FILE_ORDER : 0, &f),
		0, "%s", mpa_perf_errmsg(f));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t nt, k = 0;
		char **tok;
		int st;
		char buf[64];

		if (!*line)
			continue;
		do {
			st = mpa_perf_next(f, &rec);
			cr_assert_eq(st, MPA_PERF_OK, "perf script has more samples "
				"than the parser (%zu matched): %s", matched, line);
		} while (rec.type != MPA_PERF_RECORD_SAMPLE);
		tok = tokens_of_line(line, &nt);
		cr_assert_eq(nt, 3u + has_cpu + has_addr, "unexpected line '%s'", line);
		snprintf(buf, sizeof(buf), "%" PRIu32, rec.s.tid);
		cr_expect_str_eq(tok[k], buf, "sample %zu tid", matched);
		k++;
		if (has_cpu) {
			snprintf(buf, sizeof(buf), "%03" PRIu32, rec.s.cpu);
			cr_expect_str_eq(tok[k], buf, "sample %zu cpu", matched);
			k++;
		}
		snprintf(buf, sizeof(buf), "%" PRIu64 ".%09" PRIu64,
			rec.s.time / 1000000000, rec.s.time % 1000000000);
		cr_expect_str_eq(tok[k], buf, "sample %zu time", matched);
		k++;
		if (has_addr) {
			snprintf(buf, sizeof(buf), "%" PRIx64, rec.s.addr);
			cr_expect_str_eq(tok[k], buf, "sample %zu addr", matched);
			k++;
		}
		snprintf(buf, sizeof(buf), "%" PRIx64, rec.s.ip);
		cr_expect_str_eq(tok[k], buf, "sample %zu ip", matched);
		free(tok);
		matched++;
	}
	while (mpa_perf_next(f, &rec) == MPA_PERF_OK)
		cr_expect_neq(rec.type, MPA_PERF_RECORD_SAMPLE,
			"the parser has more samples than perf script");
	cr_expect_eq(matched, expect_samples);
	mpa_perf_close(f);
	free(out);
}

Test(perf_parser, fixtures_match_perf_script, .timeout = 120)
{
	struct {
		fixture_fn fn;
		bool cpu, addr, file_order;
	} fx[] = {
		{ pf_mem_loads, true, true, false },
		{ pf_cache_misses, true, false, false },
		{ pf_skip_fields, true, true, false },
		{ pf_ver0, false, true, true },
		{ pf_mem_loads_z, true, true, false },
		{ pf_cache_misses_z, true, false, false },
		{ pf_skip_fields_z, true, true, false },
		{ pf_ver0_z, false, true, true },
		{ pf_mem_loads_pipe, true, true, false },
		{ pf_cache_misses_pipe_z, true, false, false },
	};

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct pf_expect e;
		char *dir, *path = write_fixture(fx[i].fn, &e, &dir);

		compare_with_perf_script(path, fx[i].cpu, fx[i].addr,
			fx[i].file_order, e.nr_samples);
		free(path);
		pf_rmtree(dir);
		free(dir);
	}
}

Test(perf_parser, fixtures_accepted_by_perf_report, .timeout = 120)
{
	fixture_fn fx[] = { pf_mem_loads, pf_cache_misses, pf_skip_fields, pf_ver0,
		pf_mem_loads_z, pf_cache_misses_z, pf_mem_loads_pipe,
		pf_cache_misses_pipe_z };

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct pf_expect e;
		char *dir, *path = write_fixture(fx[i], &e, &dir);
		char cmd[1024];
		char *out;
		int status;
		uint64_t total = 0;
		char *p;

		snprintf(cmd, sizeof(cmd),
			"perf report -i '%s' --stdio --sort comm 2>/dev/null", path);
		out = pf_run(cmd, &status);
		cr_assert_eq(status, 0, "perf report failed on fixture %zu", i);
		/* "# Samples: N  of event 'X'" per event */
		for (p = out; (p = strstr(p, "# Samples: ")); p++)
			total += strtoull(p + 11, NULL, 10);
		cr_expect_eq(total, e.nr_samples, "fixture %zu: perf report counts %"
			PRIu64 " samples, expected %zu", i, total, e.nr_samples);
		free(out);
		free(path);
		pf_rmtree(dir);
		free(dir);
	}
}

/* ---- ordering ------------------------------------------------------------------- */

Test(perf_parser, window_cap_keeps_order)
{
	struct pf_expect e;
	size_t size;
	unsigned char *buf = build(pf_mem_loads, &e, &size);
	struct mpa_perf_file *f;
	struct counts c;

	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0);
	mpa_perf_set_window_cap(f, 2);
	/* read_all asserts the output never goes back in time */
	cr_assert_eq(read_all(f, &c, NULL, NULL), MPA_PERF_END, "%s", mpa_perf_errmsg(f));
	check_counts(&c, &e);
	cr_expect_leq(mpa_perf_stats(f)->max_queued, 3);
	cr_expect_gt(mpa_perf_stats(f)->nr_forced_flush, 0);
	mpa_perf_close(f);
	free(buf);
}

Test(perf_parser, late_record_is_clamped_not_dropped)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	struct pw_sample s = { 0 };
	static const uint64_t ids[] = { 1 };
	unsigned char *buf;
	size_t size;
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	uint64_t times[] = { 100, 200, 300, 150 /* late: breaks the round rule */, 400 };
	uint64_t got[5];
	size_t n = 0;
	bool clamped = false;

	a.type = 1;
	a.config = 2;
	a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_TID | MPA_PERF_SAMPLE_TIME;
	a.flags = MPA_PERF_ATTR_FLAG_SAMPLE_ID_ALL;
	pw_add_attr(w, &a, "page-faults", ids, 1);
	for (size_t i = 0; i < 5; i++) {
		s.ip = i;
		s.time = times[i];
		pw_sample(w, 0, &s);
		pw_finished_round(w);
	}
	buf = pw_build(w, &size);
	pw_free(w);
	cr_assert_eq(mpa_perf_open_mem(buf, size, 0, &f), 0);
	while (mpa_perf_next(f, &rec) == MPA_PERF_OK) {
		cr_assert_lt(n, 5);
		got[n++] = rec.time;
		if (rec.s.ip == 3) {
			clamped = rec.clamped;
			cr_expect_eq(rec.s.time, 150);  /* the real time stays visible */
		}
	}
	cr_expect_eq(n, 5);
	cr_expect(clamped);
	cr_expect_eq(mpa_perf_stats(f)->nr_unordered, 1);
	for (size_t i = 1; i < n; i++)
		cr_expect_geq(got[i], got[i - 1]);
	mpa_perf_close(f);
	free(buf);
}

/* ---- corrupt inputs ------------------------------------------------------------- */

/* Opens a private copy of exactly `size` bytes (so ASan sees overreads) and
 * reads it to the end; returns the final status. */
static int try_parse(const unsigned char *src, size_t size, size_t *nrec)
{
	unsigned char *copy = malloc(size ? size : 1);
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	size_t n = 0;
	int st;

	cr_assert_not_null(copy);
	memcpy(copy, src, size);
	st = mpa_perf_open_mem(copy, size, 0, &f);
	if (st >= 0) {
		while ((st = mpa_perf_next(f, &rec)) == MPA_PERF_OK) {
			n++;
			/* records are >= 8 bytes; decompressed data can hold
			 * more than the file (zstd ratios stay below 2^16) */
			cr_assert_leq(n, mpa_perf_stats(f)->nr_compressed ?
				size / 8 * 65536 : size / 8,
				"more records than the file can hold");
		}
	}
	if (st < 0) {
		cr_expect_neq(mpa_perf_errmsg(f)[0], '\0', "error without a message");
		/* sticky */
		if (f && mpa_perf_nr_attrs(f))
			cr_expect_eq(mpa_perf_next(f, &rec), st);
	}
	mpa_perf_close(f);
	free(copy);
	if (nrec)
		*nrec = n;
	return st;
}

Test(perf_parser, truncated_everywhere, .timeout = 120)
{
	fixture_fn fx[] = { pf_mem_loads, pf_cache_misses, pf_skip_fields, pf_ver0,
		pf_mem_loads_z, pf_cache_misses_z, pf_kmem };

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct pf_expect e;
		size_t size, cut;
		unsigned char *buf = build(fx[i], &e, &size);

		cr_assert_eq(try_parse(buf, size, NULL), MPA_PERF_END);
		for (cut = 0; cut < size; cut++) {
			int st = try_parse(buf, cut, NULL);

			/* the feature sections end the file: any cut loses some */
			cr_expect_eq(st, MPA_PERF_ERR_FORMAT,
				"fixture %zu cut at %zu: status %d", i, cut, st);
		}
		free(buf);
	}
}

Test(perf_parser, pipe_cut_anywhere, .timeout = 120)
{
	/* A pipe has no trailing sections: a cut on a record boundary is a
	 * shorter stream, anywhere else an error. */
	fixture_fn fx[] = { pf_mem_loads_pipe, pf_cache_misses_pipe_z, pf_kmem_pipe };

	for (size_t i = 0; i < 3; i++) {
		struct pf_expect e;
		size_t size, n, full = 0;
		unsigned char *buf = build(fx[i], &e, &size);

		cr_assert_eq(try_parse(buf, size, &full), MPA_PERF_END);
		for (size_t cut = 0; cut < size; cut++) {
			int st = try_parse(buf, cut, &n);

			cr_expect(st == MPA_PERF_END || st == MPA_PERF_ERR_FORMAT,
				"fixture %zu cut %zu: status %d", i, cut, st);
			cr_expect_leq(n, full);
		}
		free(buf);
	}
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void cut_data_section(fixture_fn fn)
{
	/* Header says the data section is shorter (no features): records are
	 * cut at every possible byte; either a clean end on a record boundary
	 * or a format error, never more records than fit. */
	struct pf_expect e;
	size_t size;
	unsigned char *buf = build(fn, &e, &size);
	uint64_t data_size = get64(buf + 48);
	size_t full = 0;

	memset(buf + 72, 0, 32);   /* no features */
	for (uint64_t k = 0; k <= data_size; k++) {
		size_t n;
		int st;

		put64(buf + 48, k);
		st = try_parse(buf, size, &n);
		cr_expect(st == MPA_PERF_END || st == MPA_PERF_ERR_FORMAT,
			"cut %" PRIu64 ": status %d", k, st);
		if (k == data_size) {
			cr_expect_eq(st, MPA_PERF_END);
			full = n;
		}
	}
	cr_expect_gt(full, e.nr_samples);
	free(buf);
}

Test(perf_parser, data_section_cut_anywhere)
{
	cut_data_section(pf_mem_loads);
	cut_data_section(pf_mem_loads_z);   /* cuts inside compressed data */
}

static void expect_error(const unsigned char *buf, size_t size, int status,
		const char *needle)
{
	unsigned char *copy = malloc(size);
	struct mpa_perf_file *f;
	struct mpa_perf_record rec;
	int st;

	memcpy(copy, buf, size);
	st = mpa_perf_open_mem(copy, size, 0, &f);
	while (st >= 0 && (st = mpa_perf_next(f, &rec)) == MPA_PERF_OK)
		;
	cr_expect_eq(st, status, "status %d, expected %d (%s)", st, status,
		mpa_perf_errmsg(f));
	cr_expect(strstr(mpa_perf_errmsg(f), needle) != NULL,
		"message '%s' lacks '%s'", mpa_perf_errmsg(f), needle);
	mpa_perf_close(f);
	free(copy);
}

Test(perf_parser, bad_headers)
{
	struct pf_expect e;
	size_t size;
	unsigned char *buf = build(pf_mem_loads, &e, &size);
	unsigned char *m = malloc(size);

	memcpy(m, buf, size);
	memcpy(m, "PERFILE3", 8);
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "bad magic");
	memcpy(m, "2ELIFREP", 8);
	expect_error(m, size, MPA_PERF_ERR_UNSUPPORTED, "big-endian");
	memcpy(m, "PERFFILE", 8);
	expect_error(m, size, MPA_PERF_ERR_UNSUPPORTED, "version 1");
	memcpy(m, buf, size);
	put64(m + 8, 16);    /* pipe-mode header on a file-mode body: garbage */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "");
	expect_error((const unsigned char *)"PERFILE2\x10\0\0\0\0\0\0\0", 16,
		MPA_PERF_ERR_FORMAT, "no event");   /* empty pipe */
	{
		/* pipe: an AUXTRACE size that would wrap the record's span to 0
		 * (the header scan used to loop forever) */
		unsigned char p[32] = "PERFILE2\x10";

		p[16] = 71;     /* AUXTRACE */
		p[22] = 16;     /* size */
		put64(p + 24, (uint64_t)-16);
		expect_error(p, sizeof(p), MPA_PERF_ERR_FORMAT, "no event");
	}
	memcpy(m, buf, size);
	put64(m + 8, 1ULL << 40);               /* header size lies */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "header: size");
	memcpy(m, buf, size);
	put64(m + 16, 7);                       /* attr entry size */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "attr entry size");
	memcpy(m, buf, size);
	put64(m + 32, get64(m + 32) - 8);       /* attrs not a multiple */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "not a multiple");
	memcpy(m, buf, size);
	put64(m + 24, (uint64_t)-8);            /* attrs offset wraps */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "attrs section");
	memcpy(m, buf, size);
	put64(m + 48, (uint64_t)-1);            /* data size lies */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "data section");
	memcpy(m, buf, size);
	put64(m + 32, 0);                       /* no attrs */
	expect_error(m, size, MPA_PERF_ERR_FORMAT, "no event");
	{
		/* ids section of attr 0 beyond the file */
		uint64_t attrs = get64(m + 24), asz = get64(m + 16);

		memcpy(m, buf, size);
		put64(m + attrs + asz - 8, 1ULL << 50);
		expect_error(m, size, MPA_PERF_ERR_FORMAT, "ids section");
		/* attr size larger than the entry */
		memcpy(m, buf, size);
		m[attrs + 4] = 0xff;
		m[attrs + 5] = 0x7f;
		expect_error(m, size, MPA_PERF_ERR_FORMAT, "attr 0: size");
	}
	{
		/* a feature section pointing past the end */
		uint64_t feat = get64(m + 40) + get64(m + 48);

		memcpy(m, buf, size);
		put64(m + feat + 8, size);
		expect_error(m, size, MPA_PERF_ERR_FORMAT, "feature");
	}
	expect_error((const unsigned char *)"PERF", 4, MPA_PERF_ERR_FORMAT, "too short");
	free(m);
	free(buf);
}

Test(perf_parser, lying_records)
{
	static const uint64_t ids[] = { 1 };
	struct {
		const char *what;
		unsigned char rec[40];
		size_t size;
		const char *needle;
	} cases[] = {
		/* type SAMPLE, size 0: must not loop */
		{ "size 0", { 9, 0, 0, 0, 0, 0, 0, 0 }, 8, "invalid size 0" },
		/* size 4 (< header) */
		{ "size 4", { 9, 0, 0, 0, 0, 0, 4, 0 }, 8, "invalid size 4" },
		/* claims 64 bytes, 16 present */
		{ "overrun", { 9, 0, 0, 0, 0, 0, 64, 0 }, 16, "overruns" },
		/* SAMPLE whose callchain count is huge */
		{ "callchain", { 9, 0, 0, 0, 0, 0, 24, 0, 1, 0, 0, 0, 0, 0, 0, 0,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f }, 24, "overrun the record" },
		/* COMM without terminating NUL */
		{ "comm", { 3, 0, 0, 0, 0, 0, 24, 0, 1, 0, 0, 0, 1, 0, 0, 0,
			'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' }, 24, "not terminated" },
		/* MMAP too short */
		{ "mmap", { 1, 0, 0, 0, 0, 0, 16, 0 }, 16, "too short" },
		/* compressed record whose payload is not zstd */
		{ "zstd", { 81, 0, 0, 0, 0, 0, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, 16,
			"corrupt compressed data" },
		/* COMPRESSED2 whose data size lies */
		{ "zstd2", { 83, 0, 0, 0, 0, 0, 24, 0, 100, 0, 0, 0, 0, 0, 0, 0 }, 24,
			"data size beyond" },
		/* AUXTRACE whose data runs past the section */
		{ "auxtrace", { 71, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 16, "beyond" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw *w = pw_create();
		struct pw_attr a = { 0 };
		unsigned char *buf;
		size_t size;

		a.type = 1;
		a.config = 2;
		a.sample_type = MPA_PERF_SAMPLE_IP | MPA_PERF_SAMPLE_CALLCHAIN;
		pw_add_attr(w, &a, "page-faults", ids, 1);
		pw_raw_record(w, cases[i].rec, cases[i].size);
		buf = pw_build(w, &size);
		pw_free(w);
		expect_error(buf, size, MPA_PERF_ERR_FORMAT, cases[i].needle);
		free(buf);
	}
}

Test(perf_parser, unknown_sample_id)
{
	struct pf_expect e;
	struct pw *w = pf_mem_loads(&e);
	struct pw_sample s = { 0 };
	unsigned char *buf;
	size_t size;

	s.id = 999;                 /* matches no event */
	s.time = 5000;
	pw_sample(w, 0, &s);
	buf = pw_build(w, &size);
	pw_free(w);
	expect_error(buf, size, MPA_PERF_ERR_FORMAT, "id 999 matches no event");
	free(buf);
}

Test(perf_parser, random_mutations, .timeout = 120)
{
	fixture_fn fx[] = { pf_mem_loads, pf_cache_misses, pf_skip_fields, pf_ver0,
		pf_mem_loads_z, pf_cache_misses_z, pf_mem_loads_pipe,
		pf_cache_misses_pipe_z, pf_kmem, pf_kmem_pipe };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct pf_expect e;
		size_t size;
		unsigned char *buf = build(fx[i], &e, &size);
		unsigned char *m = malloc(size);

		for (int iter = 0; iter < 1500; iter++) {
			int flips = 1 + iter % 4;

			memcpy(m, buf, size);
			for (int k = 0; k < flips; k++) {
				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				m[seed % size] ^= (unsigned char)(1u << (seed >> 32) % 8);
				if (iter % 3 == 0)   /* whole bytes to extremes */
					m[(seed >> 16) % size] = (seed & 1) ? 0xff : 0;
			}
			try_parse(m, size, NULL);
		}
		free(m);
		free(buf);
	}
}

Test(perf_parser, file_errors)
{
	struct mpa_perf_file *f;
	char *dir = pf_mkdtemp();
	char *empty = pf_join(dir, "empty.data");
	FILE *fp = fopen(empty, "w");

	cr_assert_not_null(fp);
	fclose(fp);
	cr_expect_eq(mpa_perf_open("/nonexistent/perf.data", 0, &f), MPA_PERF_ERR_IO);
	cr_expect(strstr(mpa_perf_errmsg(f), "No such file") != NULL, "%s", mpa_perf_errmsg(f));
	mpa_perf_close(f);
	cr_expect_eq(mpa_perf_open(dir, 0, &f), MPA_PERF_ERR_UNSUPPORTED);
	cr_expect(strstr(mpa_perf_errmsg(f), "directory") != NULL);
	mpa_perf_close(f);
	cr_expect_eq(mpa_perf_open(empty, 0, &f), MPA_PERF_ERR_FORMAT);
	cr_expect_str_eq(mpa_perf_errmsg(f), "empty file");
	mpa_perf_close(f);
	free(empty);
	pf_rmtree(dir);
	free(dir);
}
