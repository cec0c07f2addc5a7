# tracepoints/: the `mpa` LTTng-UST provider, libmpa-preload.so, mpa-record,
# and the overhead benchmark (bench-overhead).
#
# libmpa-preload.so is injected into other processes: it is always built
# WITHOUT sanitizers (plain flags, also when SAN=1), with -fexceptions so C++
# exceptions can cross the operator new hooks.

TP_PLAIN_CFLAGS = $(CFLAGS_BASE) $(CFLAGS) -fexceptions -fvisibility=hidden
TP_PRELOAD      = $(BUILD)/lib/libmpa-preload.so
TP_PRELOAD_OBJS = $(BUILD)/tracepoints/plain/mpa_tp.o $(BUILD)/tracepoints/plain/preload.o \
	$(BUILD)/tracepoints/plain/preload_stack.o $(BUILD)/tracepoints/plain/preload_scan.o \
	$(BUILD)/tracepoints/plain/preload_stacks.o

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

TP_RECORD_OBJS = $(BUILD)/tracepoints/mpa_record.o $(BUILD)/tracepoints/record_tools.o \
	$(BUILD)/tracepoints/record_session.o $(BUILD)/tracepoints/mpa_topo.o

$(BUILD)/bin/mpa-record: $(TP_RECORD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $^

# pkg-config for programs using the custom-pool API (include/mpa/pool.h)
TP_POOL_PC = $(BUILD)/lib/pkgconfig/mpa-pool.pc
# rewritten every time: PREFIX may differ between `make` and `make install`
$(TP_POOL_PC): FORCE_TP_POOL_PC
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' '' \
		'Name: mpa-pool' \
		'Description: mpa custom-pool API (header only; events reach LTTng through libmpa-preload.so)' \
		'Version: 1.0.0' \
		'Cflags: -I$${includedir} -DMPA_POOL_ENABLE' \
		'Libs: -ldl' > $@

.PHONY: FORCE_TP_POOL_PC
FORCE_TP_POOL_PC:

ALL_TARGETS += $(TP_PRELOAD) $(BUILD)/bin/mpa-record $(TP_POOL_PC)
PCFILES     += $(TP_POOL_PC)
BINS        += $(BUILD)/bin/mpa-record
LIBS        += $(TP_PRELOAD)
MANS        += doc/man/mpa-record.1
TEST_DEPS   += $(TP_PRELOAD) $(BUILD)/bin/mpa-record $(BUILD)/bench/preload_bench

# The workloads live in tests/workloads/; include their fragment if the top
# Makefile did not already.
ifeq ($(filter tests/workloads/module.mk,$(MAKEFILE_LIST)),)
include tests/workloads/module.mk
endif

TEST_SRCS   += tests/tracepoints/test_record.c tests/tracepoints/test_fork.c \
	tests/tracepoints/test_record_output.c tests/tracepoints/test_isolation.c \
	tests/tracepoints/test_stack_intern.c

# ---- bench-overhead (bench/preload_bench*: ns per malloc+free pair) --------
$(BUILD)/bench/preload_bench: bench/preload_bench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $<

.PHONY: bench-overhead
bench-overhead: $(BUILD)/bench/preload_bench $(TP_PRELOAD) $(BUILD)/bin/mpa-record \
	$(BUILD)/bench/analyze_bench_workload $(BUILD)/bin/mpa-convert
	MPA_BUILD=$(abspath $(BUILD)) sh bench/preload_bench.sh

BENCHES += bench-overhead

# ---- check-beside: `make check` with another recording running beside it --
.PHONY: check-beside
check-beside: all $(WL_DIR)/wl-busy
	sh tests/check_beside.sh $(abspath $(BUILD)) $(MAKE) --no-print-directory check
