/*
 * libFuzzer target for the perf.data reader: any input is opened from
 * memory and read to the end, in time order and in file order, and the
 * pointers of every record are touched (ASan checks they stay inside).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../../converters/perf/perf_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const struct mpa_perf_record *r)
{
	uint64_t i;

	for (i = 0; i < r->s.nr_callchain; i++)
		sink += mpa_perf_u64_at(r->s.callchain, i);
	if (r->s.raw_size)
		sink += r->s.raw[r->s.raw_size - 1];
	if (r->type == MPA_PERF_RECORD_COMM)
		sink += strlen(r->u.comm.comm);
	if (r->type == MPA_PERF_RECORD_MMAP || r->type == MPA_PERF_RECORD_MMAP2)
		sink += strlen(r->u.mmap.filename);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags[2] = { 0, MPA_PERF_OPEN_FILE_ORDER };

	for (int k = 0; k < 2; k++) {
		struct mpa_perf_file *f;
		struct mpa_perf_record rec;
		size_t n = 0, i;

		if (mpa_perf_open_mem(data, size, flags[k], &f) >= 0) {
			const struct mpa_perf_info *info = mpa_perf_info(f);

			if (info->hostname)
				sink += strlen(info->hostname);
			for (i = 0; i < mpa_perf_nr_attrs(f); i++)
				sink += strlen(mpa_perf_attr_at(f, i)->name);
			mpa_perf_set_window_cap(f, 64);
			while (mpa_perf_next(f, &rec) == MPA_PERF_OK && n++ < 1000000)
				touch(&rec);
		}
		mpa_perf_close(f);
	}
	return 0;
}
