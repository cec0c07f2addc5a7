# format/cat: mpa-cat, the capture inspector.  It uses only libmpt's public
# API and links the static library (format/module.mk: LIBMPT_A, LIBMPT_LDLIBS;
# named by path in the prerequisites because this fragment is read first).
MPA_CAT := $(BUILD)/bin/mpa-cat

$(MPA_CAT): $(BUILD)/format/cat/mpa-cat.o $(LIBMPT_A)
	@mkdir -p $(dir $@)
	$(CC) $(MPA_LDFLAGS) -o $@ $(BUILD)/format/cat/mpa-cat.o $(LIBMPT_A) $(LIBMPT_LDLIBS)

ALL_TARGETS += $(MPA_CAT)
BINS        += $(MPA_CAT)
MANS        += doc/man/mpa-cat.1
TEST_SRCS   += tests/cat/test_cat.c
TEST_LDLIBS += -lcsv -ljansson
TEST_DEPS   += $(MPA_CAT)
