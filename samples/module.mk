# samples/: the demo program recorded by `make demo`, and shipped captures.
DEMO_BIN := $(BUILD)/samples/mpa-demo

# Built like a user's program: optimized, with debug info and frame pointers,
# never with sanitizers (it runs under the LD_PRELOAD hooks).
$(DEMO_BIN): samples/demo/mpa-demo.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread $< -o $@

ALL_TARGETS += $(DEMO_BIN)
TEST_DEPS += $(DEMO_BIN)

DEMO_OUT ?= mpa-report

demo: deps
	$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) DEMO_OUT=$(DEMO_OUT) sh samples/demo.sh
