# bench/: benchmarks, run by `make bench` (after `make all`).
# Each benchmark adds a phony target to BENCHES; binaries and scratch files
# go under $(BENCH_DIR).  Benchmarks print ratios; they assert nothing.
BENCH_DIR := $(BUILD)/bench

# ---- format: .mpt size and speed on a malloc-shaped stream (bench/README.md)
BENCH_FORMAT := $(BENCH_DIR)/mpt_bench
BENCH_FORMAT_RECORDS ?= 10000000

# libmpt is named by path: this fragment is read before format/module.mk.
$(BENCH_FORMAT): $(BUILD)/bench/mpt_bench.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/bench/mpt_bench.o $(LIBMPT_A) $(LIBMPT_LDLIBS) -lm

.PHONY: bench-format
bench-format: $(BENCH_FORMAT)
	$(BENCH_FORMAT) -n $(BENCH_FORMAT_RECORDS) -o $(BENCH_DIR)/out

ALL_TARGETS += $(BENCH_FORMAT)
BENCHES     += bench-format

# ---- --cache: attribution cost per sample (bench/cache_bench.sh)
CACHE_BENCH_GEN := $(BENCH_DIR)/cache_bench_gen

$(CACHE_BENCH_GEN): $(BUILD)/bench/cache_bench_gen.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/bench/cache_bench_gen.o $(LIBMPT_A) $(LIBMPT_LDLIBS) -lm

.PHONY: cache-bench
cache-bench: $(CACHE_BENCH_GEN) $(BUILD)/bin/mpa-analyze
	MPA_BUILD=$(abspath $(BUILD)) sh bench/cache_bench.sh

ALL_TARGETS += $(CACHE_BENCH_GEN)
BENCHES     += cache-bench

# ---- capture size on issue 12's random workload, against heaptrack's file
.PHONY: random-bench
random-bench: $(BUILD)/bin/mpa-record $(BUILD)/bin/mpa-cat $(BUILD)/tests/workloads/wl-random
	MPA_BUILD=$(abspath $(BUILD)) sh bench/random_bench.sh

ALL_TARGETS += $(BUILD)/tests/workloads/wl-random
BENCHES     += random-bench

# ---- mpa-analyze --all max RSS: 100 M events against 10 M (issue 13, item 6)
.PHONY: rss-bench
rss-bench: $(BUILD)/bench/analyze_bench_gen $(BUILD)/bin/mpa-analyze
	MPA_BUILD=$(abspath $(BUILD)) sh bench/rss_bench.sh

BENCHES     += rss-bench
