# tests/fuzz: the libFuzzer targets for libmpt (reader, round trip), the seeds, and the
# corpus replay inside the Criterion runner.
#
#   make fuzz                 long runs of both targets (FUZZ_TIME seconds each, default 600)
#   make fuzz-reader-smoke fuzz-roundtrip-smoke
#                             short runs (30 s and 20 s), part of make check
#
# The fuzzer needs clang and its own build of libmpt with coverage and
# sanitizers: format/*.c are compiled here into $(BUILD)/fuzz/obj/.
# Inputs that crash land in $(BUILD)/fuzz/artifacts/; the working corpus
# grows in $(BUILD)/fuzz/corpus-run/ (copy the interesting small ones to
# tests/fuzz/corpus/ to keep them as regression inputs).

FUZZ_CC         ?= clang
FUZZ_TIME       ?= 600
FUZZ_SMOKE_TIME ?= 30
FUZZ_RT_SMOKE_TIME ?= 20
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_SANS       := address,undefined
FUZZ_CFLAGS     := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -Iinclude -I$(BUILD)/gen -Wall -Wextra
FUZZ_LIB_OBJS    = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(if $(LIBMPT_SRCS),$(LIBMPT_SRCS),$(wildcard format/*.c)))
FUZZ_READER     := $(FUZZ_DIR)/fuzz_reader
FUZZ_SEEDS      := $(FUZZ_DIR)/seeds
FUZZ_GEN        := $(FUZZ_DIR)/gen_seeds
FUZZ_ARGS        = -max_len=65536 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
	-dict=tests/fuzz/mpt.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1

# Library code (not ours) without -Werror: clang warns differently from gcc.
$(FUZZ_DIR)/obj/format/%.o: format/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(MOD_CFLAGS_format) -fsanitize=fuzzer-no-link,$(FUZZ_SANS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer-no-link,$(FUZZ_SANS) -MMD -MP -c $< -o $@

$(FUZZ_READER): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_reader.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANS) -o $@ $^ $(LIBMPT_LDLIBS)

# The seed generator is an ordinary libmpt user (built like the rest).
$(FUZZ_GEN): $(BUILD)/tests/fuzz/gen_seeds.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/tests/fuzz/gen_seeds.o $(LIBMPT_A) $(LIBMPT_LDLIBS)

$(FUZZ_SEEDS)/.stamp: $(FUZZ_GEN)
	rm -rf $(FUZZ_SEEDS)
	$(FUZZ_GEN) $(FUZZ_SEEDS)
	@touch $@

.PHONY: fuzz-reader fuzz-reader-smoke
# The fuzzer writes new inputs into the first directory only.
fuzz-reader: $(FUZZ_READER) $(FUZZ_SEEDS)/.stamp
	@mkdir -p $(FUZZ_DIR)/corpus-run $(FUZZ_DIR)/artifacts
	$(FUZZ_READER) $(FUZZ_ARGS) -max_total_time=$(FUZZ_TIME) \
		$(FUZZ_DIR)/corpus-run $(FUZZ_SEEDS) tests/fuzz/corpus

fuzz-reader-smoke: $(FUZZ_READER) $(FUZZ_SEEDS)/.stamp
	@mkdir -p $(FUZZ_DIR)/corpus-run $(FUZZ_DIR)/artifacts
	$(FUZZ_READER) $(FUZZ_ARGS) -max_total_time=$(FUZZ_SMOKE_TIME) \
		$(FUZZ_DIR)/corpus-run $(FUZZ_SEEDS) tests/fuzz/corpus

FUZZERS   += fuzz-reader
CHECK_PRE += fuzz-reader-smoke
TEST_SRCS += tests/fuzz/test_fuzz_corpus.c tests/fuzz/test_fuzz_roundtrip.c
TEST_DEPS += $(FUZZ_SEEDS)/.stamp

# ---- round trip: records from the input, written, read back, compared
FUZZ_RT := $(FUZZ_DIR)/fuzz_roundtrip

$(FUZZ_RT): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_roundtrip.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANS) -o $@ $^ $(LIBMPT_LDLIBS)

.PHONY: fuzz-roundtrip fuzz-roundtrip-smoke
fuzz-roundtrip: $(FUZZ_RT)
	@mkdir -p $(FUZZ_DIR)/corpus-rt $(FUZZ_DIR)/artifacts
	$(FUZZ_RT) $(FUZZ_RT_ARGS) -max_total_time=$(FUZZ_TIME) $(FUZZ_DIR)/corpus-rt

fuzz-roundtrip-smoke: $(FUZZ_RT)
	@mkdir -p $(FUZZ_DIR)/corpus-rt $(FUZZ_DIR)/artifacts
	$(FUZZ_RT) $(FUZZ_RT_ARGS) -max_total_time=$(FUZZ_RT_SMOKE_TIME) $(FUZZ_DIR)/corpus-rt

FUZZ_RT_ARGS = -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
	-artifact_prefix=$(FUZZ_DIR)/artifacts/rt- -print_final_stats=1

FUZZERS   += fuzz-roundtrip
CHECK_PRE += fuzz-roundtrip-smoke

# ---- analyzers: a valid capture with hostile values, every analyzer on it
#
# fuzz_analyze.c builds a capture from the input with the libmpt writer and
# runs every analyzer of mpa_analyzers[] through mpa_run().  The analyzers'
# own files (whatever analyzers/module.mk lists) are compiled here with
# coverage and sanitizers.  Inputs that crash land in
# $(FUZZ_DIR)/artifacts/analyze-*; the working corpus grows in
# $(FUZZ_DIR)/corpus-analyze/; tests/fuzz/corpus/analyze/ holds the committed
# seeds (replayed by test_fuzz_analyze.c in make check).
#
# FUZZ_ANALYZE_CHECK: 1 = the short run in make check fails on a finding;
# 0 = it still runs but a finding only prints a warning (only while a
# finding of tests/fuzz/findings/analyze/README.md is open; none is).
FUZZ_ANALYZE_CHECK ?= 1
FUZZ_AN_SMOKE_TIME ?= 20
FUZZ_AN         := $(FUZZ_DIR)/fuzz_analyze
FUZZ_AN_OBJS     = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(MPA_ANALYZE_LIB_SRCS))
# -entropic=0: the entropic schedule's bookkeeping took more time than the
# target here (14 against 26 runs/s measured, with less coverage).
FUZZ_AN_ARGS     = -max_len=1024 -entropic=0 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
	-artifact_prefix=$(FUZZ_DIR)/artifacts/analyze- -print_final_stats=1

$(FUZZ_DIR)/obj/analyzers/%.o: analyzers/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(MOD_CFLAGS_analyzers) -fsanitize=fuzzer-no-link,$(FUZZ_SANS) -MMD -MP -c $< -o $@

# The table lists an analyzer only when its file exists (analyzers/module.mk).
$(FUZZ_DIR)/obj/analyzers/registry.o: $(MPA_ANALYZE_LIB_SRCS) analyzers/module.mk

# report.html's embedded template and libraries (data only: analyzers/module.mk)
$(FUZZ_AN): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_analyze.o $(FUZZ_AN_OBJS) $(FUZZ_LIB_OBJS) $(REPORT_ASSETS_O)
	$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANS) -o $@ $^ $(LIBMPT_LDLIBS) $(MPA_ANALYZE_LDLIBS)

.PHONY: fuzz-analyze fuzz-analyze-smoke
fuzz-analyze: $(FUZZ_AN)
	@mkdir -p $(FUZZ_DIR)/corpus-analyze $(FUZZ_DIR)/artifacts
	$(FUZZ_AN) $(FUZZ_AN_ARGS) -max_total_time=$(FUZZ_TIME) \
		$(FUZZ_DIR)/corpus-analyze tests/fuzz/corpus/analyze

fuzz-analyze-smoke: $(FUZZ_AN)
	@mkdir -p $(FUZZ_DIR)/corpus-analyze $(FUZZ_DIR)/artifacts
ifeq ($(FUZZ_ANALYZE_CHECK),1)
	$(FUZZ_AN) $(FUZZ_AN_ARGS) -max_total_time=$(FUZZ_AN_SMOKE_TIME) \
		$(FUZZ_DIR)/corpus-analyze tests/fuzz/corpus/analyze
else
	@if $(FUZZ_AN) $(FUZZ_AN_ARGS) -max_total_time=$(FUZZ_AN_SMOKE_TIME) \
		$(FUZZ_DIR)/corpus-analyze tests/fuzz/corpus/analyze \
		> $(FUZZ_DIR)/fuzz-analyze-smoke.log 2>&1; then \
		tail -n 12 $(FUZZ_DIR)/fuzz-analyze-smoke.log; \
	else \
		grep -m 3 -E '^(SUMMARY|==[0-9]+==ERROR|.*runtime error)' $(FUZZ_DIR)/fuzz-analyze-smoke.log; \
		echo "fuzz-analyze-smoke: FINDING TOLERATED (FUZZ_ANALYZE_CHECK=0, see tests/fuzz/findings/analyze/README.md); log: $(FUZZ_DIR)/fuzz-analyze-smoke.log"; \
	fi
endif

FUZZERS   += fuzz-analyze
CHECK_PRE += fuzz-analyze-smoke
TEST_SRCS += tests/fuzz/test_fuzz_analyze.c
