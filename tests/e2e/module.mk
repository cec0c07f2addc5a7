# tests/e2e/: the whole pipeline on real recordings (mpa-record -> mpa-convert
# -> mpa-analyze), checked against the known behaviour of the workloads and
# against valgrind's "in use at exit".
TEST_SRCS += $(wildcard tests/e2e/test_*.c)
