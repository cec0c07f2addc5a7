# analyzers/ — the one-pass analyzer framework, the analyzers, the shared
# emitters (CSV, JSON, gnuplot) and mpa-analyze.
#
# Every analyzers/*.c, analyzers/core/*.c and analyzers/*/*.c (an analyzer
# that is a folder) except the CLI goes into libmpa-analyze.a (the core's
# demangler is libstdc++'s); the table of analyzers is analyzers/registry.c.

MPA_ANALYZE_LIB_SRCS := $(filter-out analyzers/mpa-analyze.c analyzers/mpa-diff.c,$(sort $(wildcard analyzers/*.c analyzers/*/*.c)))
MPA_ANALYZE_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(MPA_ANALYZE_LIB_SRCS))
MPA_ANALYZE_A := $(BUILD)/lib/libmpa-analyze.a
MPA_ANALYZE_LDLIBS := -lcsv -ljansson -lstdc++ -lm -lpthread
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

MPA_DIFF_BIN := $(BUILD)/bin/mpa-diff
$(MPA_DIFF_BIN): $(BUILD)/analyzers/mpa-diff.o $(MPA_ANALYZE_A) $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/analyzers/mpa-diff.o $(MPA_ANALYZE_A) \
		$(LIBMPT_A) $(LIBMPT_LDLIBS) $(MPA_ANALYZE_LDLIBS)

ALL_TARGETS += $(MPA_ANALYZE_A) $(MPA_ANALYZE_BIN) $(MPA_DIFF_BIN)
BINS += $(MPA_ANALYZE_BIN) $(MPA_DIFF_BIN)
LIBS += $(MPA_ANALYZE_A)
MANS += doc/man/mpa-analyze.1 doc/man/mpa-diff.1
TEST_SRCS += $(sort $(wildcard tests/analyzers/*.c))
TEST_LIBS += $(MPA_ANALYZE_A)
TEST_LDLIBS += $(MPA_ANALYZE_LDLIBS)
TEST_DEPS += $(MPA_ANALYZE_BIN) $(MPA_DIFF_BIN)

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

# ---- report.html's template and libraries, embedded at build time -------------
# The page (analyzers/report/) and Debian's libjs-d3 and libjs-dygraphs
# (DEB_PACKAGES) become byte arrays in one generated C file.
REPORT_JS_DIR ?= /usr/share/javascript
REPORT_ASSETS := page_html=analyzers/report/page.html report_css=analyzers/report/report.css \
	report_js=analyzers/report/report.js diff_js=analyzers/report/diff.js d3_js=$(REPORT_JS_DIR)/d3/d3.min.js \
	dygraph_js=$(REPORT_JS_DIR)/dygraphs/dygraph.min.js \
	dygraph_css=$(REPORT_JS_DIR)/dygraphs/dygraph.min.css
REPORT_ASSETS_C := $(BUILD)/gen/report_assets.c
REPORT_ASSETS_O := $(BUILD)/gen/report_assets.o

$(REPORT_ASSETS_C): analyzers/report/embed.sh $(foreach a,$(REPORT_ASSETS),$(lastword $(subst =, ,$(a))))
	@mkdir -p $(dir $@)
	sh analyzers/report/embed.sh $@ $(REPORT_ASSETS)

$(REPORT_ASSETS_O): $(REPORT_ASSETS_C)
	$(CC) $(MPA_CFLAGS) -c $< -o $@

$(MPA_ANALYZE_A): $(REPORT_ASSETS_O)

# ---- screenshots of the demo report in doc/ (doc/reading-the-report.md) ----------
.PHONY: report-screenshots
report-screenshots: $(MPA_ANALYZE_BIN)
	rm -rf $(BUILD)/report-shots
	$(MPA_ANALYZE_BIN) samples/demo.mpt --all -o $(BUILD)/report-shots
	@mkdir -p doc/img
	for s in first-screen:1280,900 full:1280,2700; do \
	  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	    --user-data-dir=$(abspath $(BUILD))/report-shots/profile --virtual-time-budget=5000 \
	    --window-size=$${s#*:} --screenshot=$(CURDIR)/doc/img/report-$${s%%:*}.png \
	    file://$(abspath $(BUILD))/report-shots/report.html 2>/dev/null || exit 1; \
	done

# ---- report.html on a 10 M-event capture: size and draw time (make bench) --------
.PHONY: report-bench
report-bench: $(MPA_ANALYZE_BIN) $(ANALYZE_BENCH_GEN)
	MPA_BUILD=$(abspath $(BUILD)) sh bench/report_bench.sh

BENCHES += report-bench
