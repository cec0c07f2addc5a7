/* cache_bench_gen — a capture for the cost of attribution per sample
 * (bench/cache_bench.sh): B live heap blocks from S allocation sites
 * (sizes 16 B .. 64 KiB), then N cache samples (l1d misses and page
 * faults), 90 % at an address inside a live block, 10 % outside every
 * block, with a block freed and another allocated every 64 samples (the
 * live heap stays at B blocks).  With -z the samples carry no address: the
 * same pass without attribution, the baseline.
 *
 * usage: cache_bench_gen -o FILE [-n SAMPLES] [-b BLOCKS] [-s SITES] [-z]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpa/mpt.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what, const struct mpt_error *e)
{
	fprintf(stderr, "cache_bench_gen: %s: %s\n", what, e ? e->msg : "");
	exit(1);
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t n = 1000000, nb = 100000, ns = 64;
	int zero = 0, opt;
	while ((opt = getopt(argc, argv, "o:n:b:s:z")) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'b': nb = strtoull(optarg, NULL, 10); break;
		case 's': ns = strtoull(optarg, NULL, 10); break;
		case 'z': zero = 1; break;
		default:
			fprintf(stderr, "usage: cache_bench_gen -o FILE [-n SAMPLES] [-b BLOCKS] [-s SITES] [-z]\n");
			return 2;
		}
	}
	if (!out || !nb || !ns || ns > 65536) {
		fprintf(stderr, "usage: cache_bench_gen -o FILE [-n SAMPLES] [-b BLOCKS] [-s SITES] [-z]\n");
		return 2;
	}
	struct mpt_error e = {0};
	mpt_writer *w;
	if (mpt_writer_open(out, NULL, &w, &e) != MPT_OK)
		die("open", &e);
	uint32_t *sites = malloc(ns * sizeof *sites);
	uint64_t *ptr = malloc(nb * sizeof *ptr), *size = malloc(nb * sizeof *size);
	if (!sites || !ptr || !size)
		die("out of memory", NULL);
	for (uint64_t i = 0; i < ns; i++) {
		char name[32];
		uint32_t fn, fr, st;
		snprintf(name, sizeof name, "bench_site_%llu", (unsigned long long)i);
		if (mpt_writer_string(w, name, strlen(name), &fn, &e) != MPT_OK)
			die("string", &e);
		struct mpt_frame f = {.ip = 0x401000 + 16 * i, .func = fn};
		if (mpt_writer_frame(w, &f, &fr, &e) != MPT_OK ||
		    mpt_writer_stack(w, &fr, 1, &st, &e) != MPT_OK)
			die("stack", &e);
		sites[i] = st;
	}
	uint64_t ts = 1000, top = 0x10000000;
	struct mpa_event ev;
	/* blocks laid out with gaps (the 10 % outside land there) */
	for (uint64_t i = 0; i < nb; i++) {
		size[i] = 16ULL << (next() % 13);
		ptr[i] = top;
		top += size[i] + 4096;
		memset(&ev, 0, sizeof ev);
		ev.kind = MPA_KIND_ALLOC;
		ev.ts = ts++;
		ev.pid = ev.tid = 100;
		ev.ptr = ptr[i];
		ev.size = size[i];
		ev.api = MPA_API_MALLOC;
		ev.stack_id = sites[next() % ns];
		if (mpt_writer_append(w, &ev, &e) != MPT_OK)
			die("append", &e);
	}
	for (uint64_t k = 0; k < n; k++) {
		if (k % 64 == 63) { /* churn: one block moves */
			uint64_t j = next() % nb;
			memset(&ev, 0, sizeof ev);
			ev.kind = MPA_KIND_FREE;
			ev.ts = ts++;
			ev.pid = ev.tid = 100;
			ev.ptr = ptr[j];
			ev.api = MPA_API_FREE;
			if (mpt_writer_append(w, &ev, &e) != MPT_OK)
				die("append", &e);
			ptr[j] = top;
			top += size[j] + 4096;
			ev.kind = MPA_KIND_ALLOC;
			ev.ts = ts++;
			ev.ptr = ptr[j];
			ev.size = size[j];
			ev.api = MPA_API_MALLOC;
			ev.stack_id = sites[next() % ns];
			if (mpt_writer_append(w, &ev, &e) != MPT_OK)
				die("append", &e);
		}
		uint64_t j = next() % nb, r = next();
		memset(&ev, 0, sizeof ev);
		ev.kind = MPA_KIND_CACHE_SAMPLE;
		ev.ts = ts++;
		ev.pid = 100;
		ev.tid = 100 + (int32_t)(r % 4);
		ev.cpu = (uint32_t)(r % 4);
		ev.counter = r % 2 ? MPA_CTR_L1D_MISS : MPA_CTR_PAGE_FAULT;
		ev.period = r % 2 ? 100 : 1;
		ev.ip = 0x401000 + 16 * (r % ns);
		ev.stack_id = sites[r % ns];
		if (!zero)
			ev.ptr = r % 10 ? ptr[j] + (r >> 8) % size[j] : ptr[j] + size[j] + 64;
		if (mpt_writer_append(w, &ev, &e) != MPT_OK)
			die("append", &e);
	}
	if (mpt_writer_close(w, &e) != MPT_OK)
		die("close", &e);
	free(sites);
	free(ptr);
	free(size);
	return 0;
}
