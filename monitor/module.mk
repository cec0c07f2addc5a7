# monitor/ — the live views on the analysis core: the interval sampler and
# a monitoring session (one pass of the registered analyzers, fed from a
# capture or a stream), mpa-monitor (lines / JSON objects per interval) and
# mpa-top (the ncurses terminal UI, views in monitor/tui/).

MPA_MON_LIB_SRCS := monitor/snap.c monitor/session.c monitor/live.c monitor/cli.c
MPA_MON_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MPA_MON_LIB_SRCS))
MPA_MON_A := $(BUILD)/lib/libmpa-monitor.a
MPA_TOP_SRCS := $(sort $(wildcard monitor/tui/*.c))
MPA_TOP_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MPA_TOP_SRCS))
MPA_TOP_BIN := $(BUILD)/bin/mpa-top
MPA_MONITOR_BIN := $(BUILD)/bin/mpa-monitor
NCURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)
MOD_CFLAGS_monitor := $(NCURSES_CFLAGS)

$(MPA_MON_A): $(MPA_MON_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(MPA_MONITOR_BIN): $(BUILD)/monitor/mpa-monitor.o $(MPA_MON_A) $(MPA_ANALYZE_A) $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/monitor/mpa-monitor.o $(MPA_MON_A) $(MPA_ANALYZE_A) \
		$(LIBMPT_A) $(LIBMPT_LDLIBS) $(MPA_ANALYZE_LDLIBS)

$(MPA_TOP_BIN): $(MPA_TOP_OBJS) $(MPA_MON_A) $(MPA_ANALYZE_A) $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(MPA_TOP_OBJS) $(MPA_MON_A) $(MPA_ANALYZE_A) \
		$(LIBMPT_A) $(LIBMPT_LDLIBS) $(MPA_ANALYZE_LDLIBS) $(NCURSES_LIBS)

ALL_TARGETS += $(MPA_MON_A) $(MPA_MONITOR_BIN) $(MPA_TOP_BIN)
BINS += $(MPA_MONITOR_BIN) $(MPA_TOP_BIN)
MANS += doc/man/mpa-top.1 doc/man/mpa-monitor.1
TEST_SRCS += $(sort $(wildcard tests/monitor/*.c))
TEST_DEPS += $(MPA_MONITOR_BIN) $(MPA_TOP_BIN)

# ---- benchmark ----------------------------------------------------------------
.PHONY: monitor-bench
monitor-bench: $(MPA_ANALYZE_BIN) $(MPA_MONITOR_BIN) $(ANALYZE_BENCH_GEN)
	MPA_BUILD=$(abspath $(BUILD)) sh bench/monitor_bench.sh

BENCHES += monitor-bench

# live mode: allocation -> mpa-monitor latency, the traced program's
# slowdown live vs file (needs lttng-sessiond and lttng-relayd: skipped,
# saying so, without them)
.PHONY: live-bench
live-bench: $(MPA_MONITOR_BIN) $(BUILD)/tests/workloads/wl-live $(BUILD)/tests/converters/cvt-workload
	MPA_BUILD=$(abspath $(BUILD)) bash bench/live_bench.sh

BENCHES += live-bench
