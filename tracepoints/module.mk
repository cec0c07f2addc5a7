# tracepoints/: the `mpa` LTTng-UST provider, libmpa-preload.so, mpa-record,
# and the overhead benchmark (bench-overhead).
#
# libmpa-preload.so is injected into other processes: it is always built
# WITHOUT sanitizers (plain flags, also when SAN=1), with -fexceptions so C++
# exceptions can cross the operator new hooks.

TP_PLAIN_CFLAGS = $(CFLAGS_BASE) $(CFLAGS) -fexceptions -fvisibility=hidden
TP_PRELOAD      = $(BUILD)/lib/libmpa-preload.so
TP_PRELOAD_OBJS = $(BUILD)/tracepoints/plain/mpa_tp.o $(BUILD)/tracepoints/plain/preload.o

$(BUILD)/tracepoints/plain/%.o: tracepoints/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TP_PLAIN_CFLAGS) $(TP_EXTRA) -Itracepoints -MMD -MP -c $< -o $@

# lttng-ust's generated probe code leaves the `ip` argument unused
$(BUILD)/tracepoints/plain/mpa_tp.o: TP_EXTRA := -Wno-unused-parameter

# mpa_tp.o first: its constructors (probe and tracepoint registration) must
# run before the hooks' constructor.
$(TP_PRELOAD): $(TP_PRELOAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libmpa-preload.so -Wl,-z,now $(LDFLAGS) -o $@ \
		$(TP_PRELOAD_OBJS) -llttng-ust -ldl -lpthread

MOD_CFLAGS_tracepoints := -DMPA_INSTALL_LIBDIR='"$(PREFIX)/lib"'

$(BUILD)/bin/mpa-record: $(BUILD)/tracepoints/mpa_record.o
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $^

ALL_TARGETS += $(TP_PRELOAD) $(BUILD)/bin/mpa-record
BINS        += $(BUILD)/bin/mpa-record
LIBS        += $(TP_PRELOAD)
MANS        += doc/man/mpa-record.1
TEST_DEPS   += $(TP_PRELOAD) $(BUILD)/bin/mpa-record

# The workloads live in tests/workloads/; include their fragment if the top
# Makefile did not already.
ifeq ($(filter tests/workloads/module.mk,$(MAKEFILE_LIST)),)
include tests/workloads/module.mk
endif

TEST_SRCS   += tests/tracepoints/test_record.c

# ---- bench-overhead (bench/preload_bench*: ns per malloc+free pair) --------
$(BUILD)/bench/preload_bench: bench/preload_bench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $<

.PHONY: bench-overhead
bench-overhead: $(BUILD)/bench/preload_bench $(TP_PRELOAD) $(BUILD)/bin/mpa-record
	MPA_BUILD=$(abspath $(BUILD)) sh bench/preload_bench.sh

BENCHES += bench-overhead
