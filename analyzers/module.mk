# analyzers/ — the one-pass analyzer framework, the analyzers, the shared
# emitters (CSV, JSON, gnuplot) and mpa-analyze.
#
# Every analyzers/*.c, analyzers/core/*.c and analyzers/*/*.c (an analyzer
# that is a folder) except the CLI goes into libmpa-analyze.a (the core's
# demangler is libstdc++'s); the table of analyzers is analyzers/registry.c.

MPA_ANALYZE_LIB_SRCS := $(filter-out analyzers/mpa-analyze.c,$(sort $(wildcard analyzers/*.c analyzers/*/*.c)))
MPA_ANALYZE_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MPA_ANALYZE_LIB_SRCS))
MPA_ANALYZE_A := $(BUILD)/lib/libmpa-analyze.a
MPA_ANALYZE_LDLIBS := -lcsv -ljansson -lJudy -lstdc++ -lm -lpthread
MPA_ANALYZE_BIN := $(BUILD)/bin/mpa-analyze

$(MPA_ANALYZE_A): $(MPA_ANALYZE_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# libmpt's variables come from format/module.mk, read after this file:
# prerequisites name the archive by its path, recipes use the variables.
$(MPA_ANALYZE_BIN): $(BUILD)/analyzers/mpa-analyze.o $(MPA_ANALYZE_A) $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/analyzers/mpa-analyze.o $(MPA_ANALYZE_A) \
		$(LIBMPT_A) $(LIBMPT_LDLIBS) $(MPA_ANALYZE_LDLIBS)

ALL_TARGETS += $(MPA_ANALYZE_A) $(MPA_ANALYZE_BIN)
BINS += $(MPA_ANALYZE_BIN)
LIBS += $(MPA_ANALYZE_A)
MANS += doc/man/mpa-analyze.1
TEST_SRCS += $(sort $(wildcard tests/analyzers/*.c))
TEST_LIBS += $(MPA_ANALYZE_A)
TEST_LDLIBS += $(MPA_ANALYZE_LDLIBS)
TEST_DEPS += $(MPA_ANALYZE_BIN)

# ---- benchmark ----------------------------------------------------------------
ANALYZE_BENCH_GEN := $(BUILD)/bench/analyze_bench_gen
ANALYZE_BENCH_WORKLOAD := $(BUILD)/bench/analyze_bench_workload

$(ANALYZE_BENCH_GEN): $(BUILD)/bench/analyze_bench_gen.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $< $(LIBMPT_A) $(LIBMPT_LDLIBS) -lm

$(ANALYZE_BENCH_WORKLOAD): bench/analyze_bench_workload.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -fno-omit-frame-pointer -o $@ $< -lpthread

.PHONY: analyze-bench
# mpa-cat (format/cat) times the decoding alone; named by path: its
# fragment is read after this one
analyze-bench: $(MPA_ANALYZE_BIN) $(ANALYZE_BENCH_GEN) $(ANALYZE_BENCH_WORKLOAD) $(BUILD)/bin/mpa-cat
	MPA_BUILD=$(abspath $(BUILD)) sh bench/analyze_bench.sh

BENCHES += analyze-bench
