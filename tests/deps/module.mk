# The dependency order of doc/dependencies.md, checked before the tests.
.PHONY: deps-check
deps-check:
	@sh tests/deps/deps_check.sh

CHECK_PRE += deps-check
