# converters/perf: the perf.data reader (pure C) and source.mpa.perf.
#
# MPA_PERF_LIB      libc-only perf.data parser (perf_data.c)
# MPA_PERF_SRC_LIB  parser + the Babeltrace2 source component class; the mpa
#                   plugin links it (objects are -fPIC) and registers the
#                   class with the lines shown in converters/perf/src_perf.h.

MPA_PERF_OBJS     := $(BUILD)/converters/perf/perf_data.o
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

$(MPA_PERF_TOUCH): $(BUILD)/tests/converters/perf_fixtures/touch_mem.o
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $^

TEST_SRCS   += $(sort $(wildcard tests/converters/test_perf*.c))
TEST_LIBS   += $(MPA_PERF_FIXTURE_LIB) $(MPA_PERF_SRC_LIB)
TEST_LDLIBS += $(shell $(PKG_CONFIG) --libs babeltrace2) $(MPA_PERF_LDLIBS)
TEST_DEPS   += $(MPA_PERF_TOUCH)
