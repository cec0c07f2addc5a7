# converters/ — the Babeltrace2 plugin `mpa` (sink.mpa.mpt, and
# source.mpa.perf from converters/perf/ when present) and mpa-convert.
# Depends on libmpt (format/), libbabeltrace2 and elfutils (libdw).

MOD_CFLAGS_converters := $(shell $(PKG_CONFIG) --cflags babeltrace2 libdw)
CVT_BT_LIBS := $(shell $(PKG_CONFIG) --libs babeltrace2)
CVT_DW_LIBS := $(shell $(PKG_CONFIG) --libs libdw) -lelf

# babeltrace2's system plugin directory (its .pc has no plugindir variable
# on Debian 12; libdir/babeltrace2/plugins is where its own plugins live).
CVT_SYS_PLUGIN_DIR := $(or $(shell $(PKG_CONFIG) --variable=plugindir babeltrace2 2>/dev/null),$(shell $(PKG_CONFIG) --variable=libdir babeltrace2 2>/dev/null)/babeltrace2/plugins)

CVT_CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,converters/cvt_hash.c converters/cvt_wpipe.c converters/cvt_symtab.c \
	converters/cvt_evmap.c converters/cvt_sink.c converters/cvt_ksyms.c converters/cvt_topo.c \
	converters/cvt_stackdef.c converters/cvt_shards.c converters/cvt_shard_extract.c)
CVT_PLUGIN_OBJ := $(BUILD)/converters/plugin.o
CVT_PLUGIN_DIR := $(BUILD)/lib/babeltrace2/plugins
CVT_PLUGIN     := $(CVT_PLUGIN_DIR)/babeltrace-plugin-mpa.so
MPA_CONVERT    := $(BUILD)/bin/mpa-convert

# source.mpa.perf joins the plugin once its source file exists.
CVT_HAVE_PERF := $(wildcard converters/perf/src_perf.c)
ifneq ($(CVT_HAVE_PERF),)
# (converters/perf/module.mk is read after this file: name its archive.)
CVT_PERF_LIB := $(BUILD)/converters/perf/libmpa-perf-src.a
$(CVT_PLUGIN_OBJ): MOD_CFLAGS_converters += -DMPA_HAVE_PERF_SOURCE
endif
$(CVT_PLUGIN_OBJ): converters/module.mk $(CVT_HAVE_PERF)

# Sanitized builds cannot use -z defs (the ASan runtime comes from the
# executable).  libmpt's symbols stay internal to the plugin.
CVT_SO_LDFLAGS := -shared -Wl,--exclude-libs,ALL $(if $(SAN),,-Wl,-z,defs)

# format/module.mk is read after this file: its archive by name here
# (prerequisites expand at once; recipes later).

$(CVT_PLUGIN): $(CVT_PLUGIN_OBJ) $(CVT_CORE_OBJS) $(CVT_PERF_LIB) $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) $(CVT_SO_LDFLAGS) -o $@ $(CVT_PLUGIN_OBJ) $(CVT_CORE_OBJS) \
		$(CVT_PERF_LIB) $(LIBMPT_A) $(LIBMPT_LDLIBS) $(CVT_DW_LIBS) $(CVT_BT_LIBS) -lpthread

$(BUILD)/converters/mpa_convert.o: MOD_CFLAGS_converters += \
	-DMPA_SYS_PLUGIN_DIR='"$(CVT_SYS_PLUGIN_DIR)"' \
	-DMPA_PREFIX_PLUGIN_DIR='"$(PREFIX)/lib/babeltrace2/plugins"'
$(BUILD)/converters/mpa_convert.o: converters/module.mk

$(MPA_CONVERT): $(BUILD)/converters/mpa_convert.o $(BUILD)/converters/cvt_topo.o \
	$(BUILD)/converters/cvt_chunks.o $(BUILD)/converters/convert_shards.o \
	$(BUILD)/converters/cvt_live.o
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $^ $(CVT_BT_LIBS)

.PHONY: install-mpa-plugin convert-bench
install-mpa-plugin: $(CVT_PLUGIN)
	install -d $(DESTDIR)$(CVT_SYS_PLUGIN_DIR) $(DESTDIR)$(PREFIX)/lib/babeltrace2/plugins
	install -m 644 $(CVT_PLUGIN) $(DESTDIR)$(CVT_SYS_PLUGIN_DIR)/
	install -m 644 $(CVT_PLUGIN) $(DESTDIR)$(PREFIX)/lib/babeltrace2/plugins/

# bench: CVT_BENCH_EVENTS=10000000 by default (recorded once under /tmp).
convert-bench: $(CVT_PLUGIN) $(MPA_CONVERT) $(BUILD)/tests/converters/cvt-workload
	MPA_BUILD=$(abspath $(BUILD)) sh bench/convert_bench.sh

# A small allocation workload for real LTTng-UST recordings in the tests,
# built without sanitizers (it runs under LD_PRELOAD of the LTTng wrapper)
# and without optimization so its frames map to its own source lines.
CVT_WORKLOAD := $(BUILD)/tests/converters/cvt-workload
$(CVT_WORKLOAD): tests/converters/cvt_workload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O0 -o $@ $< -ldl -lpthread

CVT_DLIB := $(BUILD)/tests/converters/libcvt-dlib.so
$(CVT_DLIB): tests/converters/cvt_dlib.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O0 -shared -o $@ $<

ALL_TARGETS += $(CVT_PLUGIN) $(MPA_CONVERT)
BINS        += $(MPA_CONVERT)
MANS        += doc/man/mpa-convert.1
INSTALL_EXTRA += install-mpa-plugin
BENCHES     += convert-bench
TEST_SRCS   += $(filter-out tests/converters/test_perf%,$(sort $(wildcard tests/converters/test_*.c)))
TEST_DEPS   += $(CVT_PLUGIN) $(MPA_CONVERT) $(CVT_WORKLOAD) $(CVT_DLIB)
