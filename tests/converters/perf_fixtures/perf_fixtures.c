/*
 * perf_fixtures — see perf_fixtures.h.  Layouts follow what perf 6.x
 * writes for these events (checked by the tests with `perf script`).
 */
#include "perf_fixtures.h"

#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* perf_event_attr bitfield word */
#define F_DISABLED       (1ULL << 0)
#define F_INHERIT        (1ULL << 1)
#define F_MMAP           (1ULL << 8)
#define F_COMM           (1ULL << 9)
#define F_FREQ           (1ULL << 10)
#define F_ENABLE_ON_EXEC (1ULL << 12)
#define F_TASK           (1ULL << 13)
#define F_PRECISE(n)     ((uint64_t)(n) << 15)
#define F_MMAP_DATA      (1ULL << 17)
#define F_SAMPLE_ID_ALL  (1ULL << 18)
#define F_EXCLUDE_GUEST  (1ULL << 20)
#define F_MMAP2          (1ULL << 23)
#define F_COMM_EXEC      (1ULL << 24)

#define PERF_RECORD_FLAGS (F_DISABLED | F_MMAP | F_COMM | F_FREQ | F_TASK | \
	F_MMAP_DATA | F_SAMPLE_ID_ALL | F_EXCLUDE_GUEST | F_MMAP2 | F_COMM_EXEC)

static const uint8_t memhog_build_id[20] = {
	0x8f, 0x3a, 0x11, 0x42, 0x5c, 0x9d, 0x01, 0x77, 0xaa, 0xbb,
	0xcc, 0xdd, 0xee, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60,
};

static void count_sample(struct pf_expect *e, size_t attr)
{
	e->nr_samples++;
	e->nr_samples_per_attr[attr]++;
}

/* ---- mem-loads / mem-stores ------------------------------------------------- */

struct mem_s {
	size_t attr;
	uint64_t id;
	uint32_t cpu;
	uint64_t time;
};

static void mem_sample(struct pw *w, struct pf_expect *e, size_t attr,
		uint64_t id, uint32_t cpu, uint32_t pid, uint64_t t)
{
	struct pw_sample s = { 0 };

	s.id = id;
	s.ip = 0x401000 + t;
	s.pid = pid;
	s.tid = pid + (cpu ? 1 : 0);
	s.time = t;
	s.addr = 0x7f0000001000ULL + t * 64;
	s.cpu = cpu;
	s.period = 1000 + t % 7;
	s.weight = 30 + t % 97;              /* load latency, cycles */
	s.data_src = attr ? 0x5080144ULL : 0x68100142ULL;
	s.misc = PERF_RECORD_MISC_USER;
	pw_sample(w, attr, &s);
	count_sample(e, attr);
}

static struct pw_sample tr(uint32_t pid, uint32_t tid, uint64_t t,
		uint64_t id, uint32_t cpu)
{
	struct pw_sample s = { 0 };

	s.pid = pid;
	s.tid = tid;
	s.time = t;
	s.id = id;
	s.cpu = cpu;
	return s;
}

struct pw *pf_mem_loads(struct pf_expect *e)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t load_ids[] = { 101, 102 };
	static const uint64_t store_ids[] = { 201, 202 };
	struct pw_sample t;
	size_t L, S;

	memset(e, 0, sizeof(*e));
	a.type = PERF_TYPE_RAW;
	a.size = PERF_ATTR_SIZE_VER7;
	a.config = PF_MEM_LOADS_CONFIG;
	a.config1 = 30;                       /* ldlat=30 */
	a.sample_period = 4000;
	a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
		PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | PERF_SAMPLE_CPU |
		PERF_SAMPLE_PERIOD | PERF_SAMPLE_WEIGHT | PERF_SAMPLE_DATA_SRC;
	a.read_format = PERF_FORMAT_ID;
	a.flags = PERF_RECORD_FLAGS | F_PRECISE(3);
	L = pw_add_attr(w, &a, "cpu/mem-loads,ldlat=30/P", load_ids, 2);
	a.config = PF_MEM_STORES_CONFIG;
	a.config1 = 0;
	a.flags &= ~(F_MMAP | F_COMM | F_TASK | F_MMAP2 | F_COMM_EXEC | F_MMAP_DATA);
	S = pw_add_attr(w, &a, "cpu/mem-stores/P", store_ids, 2);
	pw_set_hostname(w, PF_HOST);
	pw_add_build_id(w, -1, memhog_build_id, 20, "/usr/bin/memhog");

	/* synthesized by perf record: zero trailers */
	pw_comm(w, L, 1000, 1000, "memhog", 0, NULL);
	e->nr_comm++;
	pw_mmap2(w, L, 1000, 1000, 0x400000, 0x10000, 0, memhog_build_id, 20,
		"/usr/bin/memhog", NULL);
	e->nr_mmap++;
	pw_mmap2(w, L, 1000, 1000, 0x7f1000000000ULL, 0x200000, 0, NULL, 0,
		"/usr/lib/x86_64-linux-gnu/libc.so.6", NULL);
	e->nr_mmap++;
	pw_finished_round(w);

	/* round 1 */
	mem_sample(w, e, L, 101, 0, 1000, 1000);
	mem_sample(w, e, L, 101, 0, 1000, 1100);
	mem_sample(w, e, L, 101, 0, 1000, 1200);
	t = tr(1000, 1001, 1020, 102, 1);
	pw_task(w, L, 0, 1000, 1000, 1001, 1000, 1020, &t);
	e->nr_fork++;
	mem_sample(w, e, S, 202, 1, 1000, 1050);
	mem_sample(w, e, S, 202, 1, 1000, 1500);
	pw_finished_round(w);

	/* round 2: cpu1 has times below round 1's maximum */
	mem_sample(w, e, L, 101, 0, 1000, 1300);
	mem_sample(w, e, S, 201, 0, 1000, 1400);
	mem_sample(w, e, L, 102, 1, 1000, 1150);
	t = tr(1000, 1001, 1160, 102, 1);
	pw_lost(w, L, 102, 7, &t);
	e->lost += 7;
	e->nr_lost_records++;
	t = tr(1001, 1001, 1170, 102, 1);
	pw_comm(w, L, 1001, 1001, "memhog-child", 1, &t);
	e->nr_comm++;
	pw_finished_round(w);

	/* round 3 */
	mem_sample(w, e, L, 101, 0, 1000, 1600);
	t = tr(1000, 1000, 1650, 101, 0);
	pw_lost_samples(w, L, 3, &t);
	e->lost += 3;
	e->nr_lost_records++;
	mem_sample(w, e, S, 202, 1, 1000, 1700);
	t = tr(1000, 1001, 1800, 102, 1);
	pw_task(w, L, 1, 1000, 1000, 1001, 1000, 1800, &t);
	e->nr_exit++;
	pw_finished_round(w);
	e->nr_cpus = 2;
	return w;
}

/* ---- cache-misses with callchains -------------------------------------------- */

struct pw *pf_cache_misses(struct pf_expect *e)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t cm_ids[] = { 11, 12 };
	static const uint64_t pf_ids[] = { 21, 22 };
	uint64_t chain[7];
	size_t C, P, i;
	struct pw_sample t;

	memset(e, 0, sizeof(*e));
	a.type = PERF_TYPE_HARDWARE;
	a.size = PERF_ATTR_SIZE_VER7;
	a.config = PERF_COUNT_HW_CACHE_MISSES;
	a.sample_period = 4000;
	a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
		PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_CPU |
		PERF_SAMPLE_PERIOD;
	a.flags = PERF_RECORD_FLAGS;
	C = pw_add_attr(w, &a, "cache-misses", cm_ids, 2);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_PAGE_FAULTS;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
		PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU |
		PERF_SAMPLE_PERIOD;
	a.flags = PERF_RECORD_FLAGS & ~F_FREQ &
		~(F_MMAP | F_COMM | F_TASK | F_MMAP2 | F_COMM_EXEC | F_MMAP_DATA);
	P = pw_add_attr(w, &a, "page-faults", pf_ids, 2);
	pw_set_hostname(w, PF_HOST);

	pw_comm(w, C, 2000, 2000, "cachehog", 0, NULL);
	e->nr_comm++;
	t = tr(2000, 2000, 5, 11, 0);
	pw_mmap(w, C, 2000, 2000, 0x400000, 0x20000, 0, "/usr/bin/cachehog", &t);
	e->nr_mmap++;
	for (i = 0; i < 12; i++) {
		struct pw_sample s = { 0 };
		uint32_t cpu = (uint32_t)(i % 2);
		int is_pf = i % 3 == 2;

		s.id = is_pf ? pf_ids[cpu] : cm_ids[cpu];
		s.ip = 0x401200 + 8 * i;
		s.pid = 2000;
		s.tid = 2000 + cpu;
		s.time = 10000 + 100 * i;
		s.cpu = cpu;
		s.period = is_pf ? 1 : 4000 + i;
		s.misc = PERF_RECORD_MISC_USER;
		if (is_pf) {
			s.addr = 0x7ffd00000000ULL + 4096 * i;
		} else {
			chain[0] = (uint64_t)PERF_CONTEXT_KERNEL;
			chain[1] = 0xffffffff81000100ULL + i;
			chain[2] = 0xffffffff81000200ULL;
			chain[3] = (uint64_t)PERF_CONTEXT_USER;
			chain[4] = s.ip;
			chain[5] = 0x401100;
			chain[6] = 0x401050;
			s.callchain = chain;
			s.nr_callchain = i % 4 == 1 ? 0 : 7;  /* empty chains too */
		}
		pw_sample(w, is_pf ? P : C, &s);
		count_sample(e, is_pf ? P : C);
		if (i % 4 == 3)
			pw_finished_round(w);
	}
	t = tr(2000, 2000, 20000, 12, 1);
	pw_task(w, C, 1, 2000, 1, 2000, 1, 20000, &t);
	e->nr_exit++;
	pw_finished_round(w);
	e->nr_cpus = 2;
	return w;
}

/* ---- every field to skip -------------------------------------------------------- */

struct pw *pf_skip_fields(struct pf_expect *e)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t ids[] = { 7 };
	static const unsigned char raw[13] = "raw-payload!";
	size_t A, i;

	memset(e, 0, sizeof(*e));
	a.type = PERF_TYPE_RAW;
	a.size = PERF_ATTR_SIZE_VER7;
	a.config = 0x1cd;
	a.config1 = 3;
	a.sample_period = 1000;
	a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
		PERF_SAMPLE_ADDR | PERF_SAMPLE_READ | PERF_SAMPLE_ID |
		PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_RAW |
		PERF_SAMPLE_BRANCH_STACK | PERF_SAMPLE_REGS_USER |
		PERF_SAMPLE_STACK_USER | PERF_SAMPLE_WEIGHT_STRUCT |
		PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_TRANSACTION |
		PERF_SAMPLE_REGS_INTR | PERF_SAMPLE_PHYS_ADDR |
		PERF_SAMPLE_DATA_PAGE_SIZE | PERF_SAMPLE_CODE_PAGE_SIZE;
	a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
		PERF_FORMAT_TOTAL_TIME_RUNNING | PERF_FORMAT_ID;
	a.flags = PERF_RECORD_FLAGS & ~F_FREQ;
	a.branch_sample_type = PERF_SAMPLE_BRANCH_USER | PERF_SAMPLE_BRANCH_ANY |
		PERF_SAMPLE_BRANCH_HW_INDEX;
	a.sample_regs_user = 0xff0fffULL;     /* 20 registers */
	a.sample_stack_user = 64;
	a.sample_regs_intr = 0x3;
	A = pw_add_attr(w, &a, "cpu/mem-loads,ldlat=3/PS", ids, 1);

	pw_comm(w, A, 3000, 3000, "skiphog", 0, NULL);
	e->nr_comm++;
	for (i = 0; i < 5; i++) {
		struct pw_sample s = { 0 };

		s.id = 7;
		s.ip = 0x401000 + i;
		s.pid = 3000;
		s.tid = 3000;
		s.time = 500 + 10 * i;
		s.addr = 0x7f2200000000ULL + 64 * i;
		s.cpu = 1;
		s.period = 1000;
		s.read_value = 5000 * (i + 1);
		s.raw = raw;
		s.raw_size = (uint32_t)(i % 3 == 0 ? 0 : sizeof(raw));
		s.nr_branches = i;
		s.stack_user_size = i % 2 ? 64 : 0;
		/* var1_dw = latency, var2_w = instruction latency */
		s.weight = (uint64_t)(100 + i) | (uint64_t)(7 + i) << 32;
		s.data_src = 0x29080142ULL;
		s.transaction = 0;
		s.phys_addr = 0x1234000ULL + 64 * i;
		s.data_page_size = 4096;
		s.code_page_size = 2097152;
		s.misc = PERF_RECORD_MISC_USER;
		pw_sample(w, A, &s);
		count_sample(e, A);
	}
	pw_finished_round(w);
	e->nr_cpus = 1;
	return w;
}

/* ---- VER0 attrs, no sample_id_all ------------------------------------------------ */

struct pw *pf_ver0(struct pf_expect *e)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t ids[] = { 5 };
	size_t A, i;

	memset(e, 0, sizeof(*e));
	a.type = PERF_TYPE_SOFTWARE;
	a.size = PERF_ATTR_SIZE_VER0;
	a.config = PERF_COUNT_SW_PAGE_FAULTS;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
		PERF_SAMPLE_ADDR | PERF_SAMPLE_PERIOD;
	a.flags = F_DISABLED | F_INHERIT | F_MMAP | F_COMM | F_ENABLE_ON_EXEC;
	A = pw_add_attr(w, &a, "page-faults", ids, 1);

	pw_comm(w, A, 4000, 4000, "oldhog", 0, NULL);
	e->nr_comm++;
	pw_mmap(w, A, 4000, 4000, 0x400000, 0x1000, 0, "/usr/bin/oldhog", NULL);
	e->nr_mmap++;
	/* times out of order: no FINISHED_ROUND, so sorted as one window */
	for (i = 0; i < 6; i++) {
		struct pw_sample s = { 0 };

		s.ip = 0x400100 + i;
		s.pid = 4000;
		s.tid = 4000;
		s.time = 900 - 100 * (i % 3) + i;
		s.addr = 0x600000 + 4096 * i;
		s.period = 1;
		s.misc = PERF_RECORD_MISC_USER;
		pw_sample(w, A, &s);
		count_sample(e, A);
		if (i == 2) {
			pw_task(w, A, 0, 4001, 4000, 4001, 4000, 850, NULL);
			e->nr_fork++;
			pw_lost(w, A, 5, 2, NULL);
			e->lost += 2;
			e->nr_lost_records++;
		}
	}
	pw_task(w, A, 1, 4001, 4000, 4001, 4000, 2000, NULL);
	e->nr_exit++;
	return w;
}

/* ---- kmem tracepoints ----------------------------------------------------------- */

static const char header_page[] =
	"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
	"\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
	"\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
	"\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

static const char header_event[] =
	"# compressed entry header\n"
	"\ttype_len    :    5 bits\n"
	"\ttime_delta  :   27 bits\n"
	"\tarray       :   32 bits\n"
	"\n"
	"\tpadding     : type == 29\n"
	"\ttime_extend : type == 30\n"
	"\ttime_stamp : type == 31\n"
	"\tdata max type_len  == 28\n";

#define COMMON_FIELDS \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n" \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n" \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static const char kmalloc_format[] =
	"name: kmalloc\nID: 658\nformat:\n" COMMON_FIELDS
	"\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
	"\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:size_t bytes_req;\toffset:24;\tsize:8;\tsigned:0;\n"
	"\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\tfield:unsigned long gfp_flags;\toffset:40;\tsize:8;\tsigned:0;\n"
	"\tfield:int node;\toffset:48;\tsize:4;\tsigned:1;\n\n"
	"print fmt: \"call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%lx node=%d\", "
	"(void *)REC->call_site, REC->ptr, REC->bytes_req, REC->bytes_alloc, "
	"REC->gfp_flags, REC->node\n";

static const char kfree_format[] =
	"name: kfree\nID: 657\nformat:\n" COMMON_FIELDS
	"\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
	"\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n\n"
	"print fmt: \"call_site=%pS ptr=%p\", (void *)REC->call_site, REC->ptr\n";

static void put_le(unsigned char **p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

static void put_bytes(unsigned char **p, const void *s, size_t n)
{
	memcpy(*p, s, n);
	*p += n;
}

/* The tracing data blob (perf's layout, version 0.6). */
static size_t tracing_blob(unsigned char *b)
{
	static const unsigned char magic[10] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g' };
	unsigned char *p = b;

	put_bytes(&p, magic, sizeof(magic));
	put_bytes(&p, "0.6", 4);
	*p++ = 0;                                  /* little-endian */
	*p++ = 8;                                  /* long size */
	put_le(&p, 4096, 4);                       /* page size */
	put_bytes(&p, "header_page", 12);
	put_le(&p, sizeof(header_page) - 1, 8);
	put_bytes(&p, header_page, sizeof(header_page) - 1);
	put_bytes(&p, "header_event", 13);
	put_le(&p, sizeof(header_event) - 1, 8);
	put_bytes(&p, header_event, sizeof(header_event) - 1);
	put_le(&p, 0, 4);                          /* ftrace formats */
	put_le(&p, 1, 4);                          /* systems */
	put_bytes(&p, "kmem", 5);
	put_le(&p, 2, 4);
	put_le(&p, sizeof(kmalloc_format) - 1, 8);
	put_bytes(&p, kmalloc_format, sizeof(kmalloc_format) - 1);
	put_le(&p, sizeof(kfree_format) - 1, 8);
	put_bytes(&p, kfree_format, sizeof(kfree_format) - 1);
	put_le(&p, 0, 4);                          /* kallsyms */
	put_le(&p, 0, 4);                          /* printk formats */
	put_le(&p, 0, 8);                          /* saved cmdlines */
	return (size_t)(p - b);
}

struct pw *pf_kmem(struct pf_expect *e)
{
	struct pw *w = pw_create();
	struct pw_attr a = { 0 };
	static const uint64_t km_ids[] = { 31, 32 };
	static const uint64_t kf_ids[] = { 41, 42 };
	unsigned char blob[4096];
	size_t KM, KF, i;

	memset(e, 0, sizeof(*e));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = PERF_ATTR_SIZE_VER7;
	a.config = 658;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
		PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_RAW;
	a.read_format = PERF_FORMAT_ID;
	a.flags = F_DISABLED | F_SAMPLE_ID_ALL | F_EXCLUDE_GUEST | F_MMAP | F_COMM |
		F_TASK | F_MMAP2 | F_COMM_EXEC;
	KM = pw_add_attr(w, &a, "kmem:kmalloc", km_ids, 2);
	a.config = 657;
	a.flags &= ~(F_MMAP | F_COMM | F_TASK | F_MMAP2 | F_COMM_EXEC);
	KF = pw_add_attr(w, &a, "kmem:kfree", kf_ids, 2);
	pw_set_hostname(w, PF_HOST);
	pw_set_tracing_data(w, blob, tracing_blob(blob));

	pw_comm(w, KM, 5000, 5000, "kmemhog", 0, NULL);
	e->nr_comm++;
	for (i = 0; i < 8; i++) {
		struct pw_sample s = { 0 };
		unsigned char raw[52], *p = raw;
		int is_free = i % 4 == 3;
		uint32_t cpu = (uint32_t)(i % 2);

		put_le(&p, is_free ? 657 : 658, 2);         /* common_type */
		put_le(&p, 0, 1);
		put_le(&p, 1, 1);
		put_le(&p, 5000, 4);                        /* common_pid */
		put_le(&p, 0xffffffff813ceccc + i, 8);      /* call_site */
		put_le(&p, PF_KMEM_PTR(is_free ? i - 1 : i), 8);
		if (!is_free) {
			put_le(&p, 32 * (i + 1), 8);        /* bytes_req */
			put_le(&p, 64 * (i + 1), 8);        /* bytes_alloc */
			put_le(&p, 0xcc0, 8);               /* gfp_flags */
			put_le(&p, (uint64_t)-1, 4);        /* node */
		}
		s.id = is_free ? kf_ids[cpu] : km_ids[cpu];
		s.ip = 0xffffffff81636e0d;
		s.pid = 5000;
		s.tid = 5000;
		s.time = 7000 + 10 * i;
		s.cpu = cpu;
		s.period = 1;
		s.raw = raw;
		s.raw_size = (uint32_t)(p - raw);
		s.misc = PERF_RECORD_MISC_KERNEL;
		pw_sample(w, is_free ? KF : KM, &s);
		count_sample(e, is_free ? KF : KM);
	}
	pw_finished_round(w);
	e->nr_cpus = 2;
	return w;
}

struct pw *pf_kmem_pipe(struct pf_expect *e)
{
	struct pw *w = pf_kmem(e);

	pw_set_pipe(w);
	return w;
}

/* ---- compressed variants ------------------------------------------------------------ */

#define PF_Z_PIECE 50

struct pw *pf_mem_loads_z(struct pf_expect *e)
{
	struct pw *w = pf_mem_loads(e);

	pw_set_compress(w, PF_Z_PIECE);
	return w;
}

struct pw *pf_cache_misses_z(struct pf_expect *e)
{
	struct pw *w = pf_cache_misses(e);

	pw_set_compress(w, PF_Z_PIECE);
	return w;
}

struct pw *pf_skip_fields_z(struct pf_expect *e)
{
	struct pw *w = pf_skip_fields(e);

	pw_set_compress(w, PF_Z_PIECE);
	return w;
}

struct pw *pf_ver0_z(struct pf_expect *e)
{
	struct pw *w = pf_ver0(e);

	pw_set_compress(w, PF_Z_PIECE);
	return w;
}

struct pw *pf_mem_loads_pipe(struct pf_expect *e)
{
	struct pw *w = pf_mem_loads(e);

	pw_set_pipe(w);
	return w;
}

struct pw *pf_cache_misses_pipe_z(struct pf_expect *e)
{
	struct pw *w = pf_cache_misses(e);

	pw_set_pipe(w);
	pw_set_compress(w, PF_Z_PIECE);
	return w;
}

/* ---- helpers ---------------------------------------------------------------------- */

char *pf_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/mpa-perf-test.XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

void pf_rmtree(const char *dir)
{
	char *cmd;

	if (!dir || strncmp(dir, "/", 1) != 0 || !strstr(dir, "mpa-perf-test."))
		return;   /* never anything but our own temp dirs */
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: cannot remove %s\n", dir);
	free(cmd);
}

char *pf_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

char *pf_run(const char *cmd, int *status)
{
	char *full;
	FILE *fp;
	char *out = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];
	int st;

	/* stdin from /dev/null: perf script waits for the end of its stdin
	 * when it reads a pipe-mode file */
	if (asprintf(&full, "(%s) </dev/null", cmd) < 0)
		abort();
	fp = popen(full, "r");
	free(full);
	if (!fp) {
		*status = -1;
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	if (!out) {
		out = malloc(1);
		if (!out)
			abort();
	}
	out[len] = '\0';
	st = pclose(fp);
	*status = st;
	return out;
}
