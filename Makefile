# mpa — the one build entry.
#
#   make          build everything into build/
#   make check    install missing packages, build, run every test (plain and ASan+UBSan)
#   make demo     install missing packages, build, record (or load) a capture, analyze it
#   make install  PREFIX=/usr/local DESTDIR=
#   make deps     install the Debian packages the build needs (prints the command when not root)
#   make asan | ubsan | fuzz | bench
#
# Each source folder contributes a fragment, <folder>/module.mk, that appends
# to the variables below; this file holds the shared rules only.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=

CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif
CXX     ?= g++
AR      ?= ar
PKG_CONFIG ?= pkg-config

OPT     ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror \
	-fPIC -fno-omit-frame-pointer -Iinclude -I$(BUILD)/gen
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(SAN),asan)
SANFLAGS := -fsanitize=address
else ifeq ($(SAN),ubsan)
SANFLAGS := -fsanitize=undefined -fno-sanitize-recover=undefined
else
SANFLAGS :=
endif
MPA_CFLAGS  = $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS)
MPA_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Filled by the fragments.
ALL_TARGETS :=   # built by `make all`
BINS        :=   # installed into $(PREFIX)/bin
LIBS        :=   # installed into $(PREFIX)/lib
PCFILES     :=   # installed into $(PREFIX)/lib/pkgconfig
MANS        :=   # man pages (section from the suffix)
TEST_SRCS   :=   # Criterion test files, linked into one runner
TEST_LIBS   :=   # static libraries the runner links (dependents first)
TEST_LDLIBS :=   # -l flags those libraries need
TEST_DEPS   :=   # other things that must exist before the runner runs
CHECK_PRE   :=   # targets run by `make check` before the tests (e.g. a short fuzz run)
BENCHES     :=   # targets run by `make bench`
FUZZERS     :=   # targets run by `make fuzz` (long fuzzing runs)
INSTALL_EXTRA := # extra install targets

# libmpt is used by most fragments, some read before format/module.mk: define
# its paths here so prerequisites expand correctly everywhere.
LIBMPT_A      := $(BUILD)/lib/libmpt.a
LIBMPT_LDLIBS := -lzstd -lxxhash

.PHONY: all check demo install deps asan ubsan fuzz bench clean test-run test-build
all:

include $(sort $(wildcard */module.mk */*/module.mk))

all: $(ALL_TARGETS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MPA_CFLAGS) $(MOD_CFLAGS_$(firstword $(subst /, ,$<))) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- tests ------------------------------------------------------------------

TEST_OBJS   = $(patsubst %.c,$(BUILD)/%.o,$(TEST_SRCS))
TEST_RUNNER = $(BUILD)/tests/mpa-tests

$(TEST_RUNNER): $(TEST_OBJS) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(TEST_OBJS) $(TEST_LIBS) $(TEST_LDLIBS) -lcriterion -lm -lpthread

test-build: all $(TEST_RUNNER) $(TEST_DEPS)

# MPA_BUILD tells tests where the binaries under test live.
test-run: test-build
	MPA_BUILD=$(abspath $(BUILD)) MPA_SRC=$(CURDIR) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(TEST_RUNNER) $(TEST_ARGS)

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check: deps
	$(MAKE) --no-print-directory -j$(JOBS) all
	$(MAKE) --no-print-directory $(CHECK_PRE)
	@echo "== tests (ASan+UBSan) =="
	$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/san SAN=1 OPT=-O1 test-build
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 OPT=-O1 test-run \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	@echo "== tests (with a recording running beside them) =="
	$(MAKE) --no-print-directory -j$(JOBS) test-build
	sh tests/check_beside.sh $(abspath $(BUILD)) $(MAKE) --no-print-directory test-run

asan:
	$(MAKE) --no-print-directory BUILD=build/asan SAN=asan OPT=-O1 test-run
ubsan:
	$(MAKE) --no-print-directory BUILD=build/ubsan SAN=ubsan OPT=-O1 test-run

bench: all $(BENCHES)
fuzz: $(FUZZERS)

clean:
	rm -rf build

# ---- packages ---------------------------------------------------------------

DEB_PACKAGES := build-essential pkg-config clang libclang-rt-14-dev \
	libzstd-dev zstd libxxhash-dev libcsv-dev libjansson-dev libcriterion-dev \
	gnuplot-nox lttng-tools liblttng-ust-dev babeltrace2 libbabeltrace2-dev \
	python3-bt2 python3-zstandard python3-xxhash libdw-dev libelf-dev libunwind-dev linux-perf valgrind heaptrack \
	binutils procps libjs-d3 libjs-dygraphs chromium python3-jsonschema
DEB_PACKAGES += libncurses-dev tmux

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
	else \
	  echo "deps: missing packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y$$missing"; exit 1; \
	fi

# ---- install ----------------------------------------------------------------

install: all $(INSTALL_EXTRA)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/mpa $(DESTDIR)$(PREFIX)/share/man/man1
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin)
	$(if $(LIBS),cp -P $(LIBS) $(DESTDIR)$(PREFIX)/lib)
	install -m 644 include/mpa/*.h $(DESTDIR)$(PREFIX)/include/mpa
	$(if $(PCFILES),install -m 644 $(PCFILES) $(DESTDIR)$(PREFIX)/lib/pkgconfig)
	$(if $(MANS),install -m 644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1)
