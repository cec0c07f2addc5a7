# tests/workloads/: small programs with exactly known allocation behaviour,
# recorded under LTTng by tests/tracepoints/.  They run under
# libmpa-preload.so, so they are built WITHOUT sanitizers (plain flags, also
# when SAN=1), with -g and frame pointers (except wl-nofp).
ifndef MPA_WORKLOADS_MK
MPA_WORKLOADS_MK := 1

WL_DIR    = $(BUILD)/tests/workloads
WL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS) -O2 -g -fno-omit-frame-pointer -fno-inline-small-functions
WL_C      = basic threads pool aligned forkexec forkstress fork vfork frag sizewaste touch diff recurse busy kinds intern stacks
WL_BINS   = $(addprefix $(WL_DIR)/wl-,$(WL_C)) $(WL_DIR)/wl-nofp $(WL_DIR)/wl-cxx \
	$(WL_DIR)/wl-pool-off

$(WL_DIR)/wl-%: tests/workloads/wl_%.c
	@mkdir -p $(dir $@)
	$(CC) $(WL_CFLAGS) -o $@ $< -lpthread -ldl

# the pool workload with the pool API compiled in
$(WL_DIR)/wl-pool: tests/workloads/wl_pool.c include/mpa/pool.h
	@mkdir -p $(dir $@)
	$(CC) $(WL_CFLAGS) -DMPA_POOL_ENABLE -o $@ $< -ldl

# ... and compiled out (must not reference lttng at all)
$(WL_DIR)/wl-pool-off: tests/workloads/wl_pool.c include/mpa/pool.h
	@mkdir -p $(dir $@)
	$(CC) $(WL_CFLAGS) -o $@ $<

# the basic workload built the way distributions build: no frame pointers
$(WL_DIR)/wl-nofp: tests/workloads/wl_basic.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -O2 -g -fomit-frame-pointer -o $@ $<

$(WL_DIR)/wl-cxx: tests/workloads/wl_cxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $<

# the live test's program (tests/monitor/test_live.c): allocates when told
WL_BINS += $(WL_DIR)/wl-live

TEST_DEPS += $(WL_BINS)

endif
