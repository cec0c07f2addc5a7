# converters/perf: the perf.data reader (pure C) and source.mpa.perf.
#
# MPA_PERF_LIB      libc-only perf.data parser (perf_data.c: open, header,
#                   attrs; perf_meta.c: feature sections, tracepoint formats;
#                   perf_records.c: records, ordering, -z data, iteration)
# MPA_PERF_SRC_LIB  parser + the Babeltrace2 source component class; the mpa
#                   plugin links it (objects are -fPIC) and registers the
#                   class with the lines shown in converters/perf/src_perf.h.

MPA_PERF_OBJS     := $(BUILD)/converters/perf/perf_data.o $(BUILD)/converters/perf/perf_meta.o \
                     $(BUILD)/converters/perf/perf_records.o
MPA_PERF_SRC_OBJS := $(MPA_PERF_OBJS) $(BUILD)/converters/perf/src_perf.o
MPA_PERF_LIB      := $(BUILD)/converters/perf/libmpa-perf.a
MPA_PERF_SRC_LIB  := $(BUILD)/converters/perf/libmpa-perf-src.a

$(MPA_PERF_LIB): $(MPA_PERF_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(MPA_PERF_SRC_LIB): $(MPA_PERF_SRC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# What a program linking either library needs besides libbabeltrace2:
# zstd, for perf record -z files.
MPA_PERF_LDLIBS := -lzstd

ALL_TARGETS += $(MPA_PERF_LIB) $(MPA_PERF_SRC_LIB)

# Tests: the parser and the source, a perf.data writer for fixtures with
# real hardware-event layouts, and a small workload for real recordings.
MPA_PERF_FIXTURE_OBJS := $(BUILD)/tests/converters/perf_fixtures/perf_writer.o \
                         $(BUILD)/tests/converters/perf_fixtures/perf_fixtures.o
MPA_PERF_FIXTURE_LIB  := $(BUILD)/tests/converters/perf_fixtures/libperf-fixtures.a
MPA_PERF_TOUCH        := $(BUILD)/tests/converters/perf-touch-mem

$(MPA_PERF_FIXTURE_LIB): $(MPA_PERF_FIXTURE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Built without sanitizers, even in build/san: it runs under perf and under
# LD_PRELOAD of LTTng's libc wrapper (ASan wants to come first).
$(MPA_PERF_TOUCH): tests/converters/perf_fixtures/touch_mem.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror $(CFLAGS) -o $@ $<

TEST_SRCS   += $(sort $(wildcard tests/converters/test_perf*.c))
TEST_LIBS   += $(MPA_PERF_FIXTURE_LIB) $(MPA_PERF_SRC_LIB)
TEST_LDLIBS += $(shell $(PKG_CONFIG) --libs babeltrace2) $(MPA_PERF_LDLIBS)
TEST_DEPS   += $(MPA_PERF_TOUCH)

# Fuzzing the reader (libFuzzer, clang):
#   make fuzz-perf          long run (FUZZ_PERF_TIME seconds, default 600)
#   make fuzz-perf-smoke    short run (FUZZ_PERF_SMOKE_TIME, default 20), in make check
# Seeds are the fixtures; crashes land in $(BUILD)/fuzz-perf/artifacts/.
FUZZ_PERF_CC         ?= clang
FUZZ_PERF_TIME       ?= 600
FUZZ_PERF_SMOKE_TIME ?= 20
FUZZ_PERF_DIR        := $(BUILD)/fuzz-perf
FUZZ_PERF            := $(FUZZ_PERF_DIR)/fuzz_perf
FUZZ_PERF_GEN        := $(BUILD)/tests/converters/gen-perf-seeds
FUZZ_PERF_FLAGS      := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -Iinclude -Wall -Wextra -Werror \
	-fsanitize=fuzzer-no-link,address,undefined
FUZZ_PERF_ARGS        = -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix=$(FUZZ_PERF_DIR)/artifacts/ -print_final_stats=1

$(FUZZ_PERF_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_PERF_CC) $(FUZZ_PERF_FLAGS) -MMD -MP -c $< -o $@

$(FUZZ_PERF): $(FUZZ_PERF_DIR)/obj/tests/converters/perf_fixtures/fuzz_perf.o \
		$(FUZZ_PERF_DIR)/obj/converters/perf/perf_data.o \
		$(FUZZ_PERF_DIR)/obj/converters/perf/perf_meta.o \
		$(FUZZ_PERF_DIR)/obj/converters/perf/perf_records.o
	$(FUZZ_PERF_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(MPA_PERF_LDLIBS)

$(FUZZ_PERF_GEN): $(BUILD)/tests/converters/perf_fixtures/gen_perf_seeds.o $(MPA_PERF_FIXTURE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $^ $(MPA_PERF_LDLIBS)

$(FUZZ_PERF_DIR)/seeds/.stamp: $(FUZZ_PERF_GEN)
	rm -rf $(FUZZ_PERF_DIR)/seeds && mkdir -p $(FUZZ_PERF_DIR)/seeds
	$(FUZZ_PERF_GEN) $(FUZZ_PERF_DIR)/seeds
	@touch $@

.PHONY: fuzz-perf fuzz-perf-smoke
fuzz-perf: $(FUZZ_PERF) $(FUZZ_PERF_DIR)/seeds/.stamp
	@mkdir -p $(FUZZ_PERF_DIR)/corpus-run $(FUZZ_PERF_DIR)/artifacts
	$(FUZZ_PERF) $(FUZZ_PERF_ARGS) -max_total_time=$(FUZZ_PERF_TIME) \
		$(FUZZ_PERF_DIR)/corpus-run $(FUZZ_PERF_DIR)/seeds

fuzz-perf-smoke: $(FUZZ_PERF) $(FUZZ_PERF_DIR)/seeds/.stamp
	@mkdir -p $(FUZZ_PERF_DIR)/corpus-run $(FUZZ_PERF_DIR)/artifacts
	$(FUZZ_PERF) $(FUZZ_PERF_ARGS) -max_total_time=$(FUZZ_PERF_SMOKE_TIME) \
		$(FUZZ_PERF_DIR)/corpus-run $(FUZZ_PERF_DIR)/seeds

FUZZERS   += fuzz-perf
CHECK_PRE += fuzz-perf-smoke
