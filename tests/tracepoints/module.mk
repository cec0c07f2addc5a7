# tests/tracepoints/: workloads that only the tracepoints tests use (the
# tests themselves are listed by tracepoints/module.mk).  Built without
# sanitizers: they run under libmpa-preload.so.
TPT_DIR = $(BUILD)/tests/tracepoints

# a library whose constructor allocates before tracing is live, built the
# way distributions build (no frame pointers)
$(TPT_DIR)/libwl-early.so: tests/tracepoints/wl_early_lib.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -O2 -g -fomit-frame-pointer -shared \
		-Wl,-soname,libwl-early.so -o $@ $<

$(TPT_DIR)/wl-early: tests/tracepoints/wl_early.c $(TPT_DIR)/libwl-early.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -O2 -g -o $@ $< -L$(TPT_DIR) -lwl-early \
		-Wl,-rpath,'$$ORIGIN'

TEST_DEPS += $(TPT_DIR)/wl-early
