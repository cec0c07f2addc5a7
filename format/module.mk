# format/ — libmpt, the .mpt capture format (writer, reader, encodings).
# Depends on libc, zstd and xxhash only.

LIBMPT_SRCS := format/mpt_util.c format/mpt_names.c format/mpt_codec.c \
	format/mpt_ptr.c format/mpt_writer.c format/mpt_reader.c format/mpt_time.c
LIBMPT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIBMPT_SRCS))
LIBMPT_VERSION := 1.0.0
LIBMPT_SONAME := libmpt.so.1

# LIBMPT_A and LIBMPT_LDLIBS are defined in the top Makefile, before any
# fragment is read, so every fragment can name them in prerequisites.
LIBMPT_SO := $(BUILD)/lib/libmpt.so
LIBMPT_PC := $(BUILD)/libmpt.pc

$(LIBMPT_A): $(LIBMPT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/lib/libmpt.so.$(LIBMPT_VERSION): $(LIBMPT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -shared -Wl,-soname,$(LIBMPT_SONAME) -Wl,-z,defs -o $@ $^ $(LIBMPT_LDLIBS)

$(BUILD)/lib/$(LIBMPT_SONAME): $(BUILD)/lib/libmpt.so.$(LIBMPT_VERSION)
	ln -sf libmpt.so.$(LIBMPT_VERSION) $@

$(LIBMPT_SO): $(BUILD)/lib/$(LIBMPT_SONAME)
	ln -sf $(LIBMPT_SONAME) $@

# Regenerated when PREFIX changes (the stamp holds the prefix).
$(BUILD)/libmpt.pc.prefix: FORCE_MPT_PC
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

$(LIBMPT_PC): $(BUILD)/libmpt.pc.prefix format/module.mk
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' 'libdir=$${prefix}/lib' \
		'includedir=$${prefix}/include' '' 'Name: libmpt' \
		'Description: mpa .mpt columnar memory-profiling capture format' \
		'Version: $(LIBMPT_VERSION)' 'Requires.private: libzstd libxxhash' \
		'Libs: -L$${libdir} -lmpt' 'Libs.private: -lzstd -lxxhash' \
		'Cflags: -I$${includedir}' > $@

.PHONY: FORCE_MPT_PC
FORCE_MPT_PC:

LIBS += $(LIBMPT_A) $(BUILD)/lib/libmpt.so.$(LIBMPT_VERSION) $(BUILD)/lib/$(LIBMPT_SONAME) $(LIBMPT_SO)
PCFILES += $(LIBMPT_PC)
ALL_TARGETS += $(LIBMPT_A) $(LIBMPT_SO) $(LIBMPT_PC)
TEST_SRCS += $(sort $(wildcard tests/format/*.c))
TEST_LIBS += $(LIBMPT_A)
TEST_LDLIBS += $(LIBMPT_LDLIBS)

# ---- decode micro-benchmark (make bench only): rows/s per column and full scan
MPT_DECODE_BENCH := $(BUILD)/format/mpt_decode_bench
MPT_DECODE_BENCH_RECORDS ?= 10000000

$(MPT_DECODE_BENCH): $(BUILD)/format/mpt_decode_bench.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $< $(LIBMPT_A) $(LIBMPT_LDLIBS)

.PHONY: bench-decode
bench-decode: $(MPT_DECODE_BENCH)
	MPA_SRC=$(CURDIR) $(MPT_DECODE_BENCH) -n $(MPT_DECODE_BENCH_RECORDS) -o $(BUILD)/bench

BENCHES += bench-decode
