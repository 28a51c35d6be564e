# The two commands a newcomer needs: `make run` and `make test`. Every target installs what it
# is missing first (Debian packages, pinned npm packages, llama.cpp from its npm bundle), so a
# fresh Debian 12 machine needs nothing else, and a second call skips what is done.
BUILD_DIR ?= build/parley
export BUILD_DIR
JOBS      ?= $(shell nproc)
CTEST_ARGS ?=
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

# Seconds each fuzz target runs: `make fuzz` (FUZZ_SECONDS=600 make fuzz for a longer hunt);
# `make test` runs each for TEST_FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 5
# `make test-sanitize SANITIZE_TARGETS="parley_core_test ..."` builds and runs only those.
SANITIZE_TARGETS ?=
# The unit tests `make test` also runs under ASan + UBSan (TEST_SANITIZE=0 leaves them out).
TEST_SANITIZE ?= 1
TEST_SANITIZE_TARGETS ?= parley_core_test parley_gateway_test parley_worker_test

.PHONY: all deps llama build web test test-cpp test-web test-sanitize fuzz run bench chaos clean

all: build

deps:
	@scripts/install-deps.sh

llama: deps
	@scripts/build-llama.sh llama-server llama-batched-bench

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: llama $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

web: deps
	@scripts/build-web.sh

test: build web
	$(MAKE) --no-print-directory test-cpp test-web
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@if [ "$(TEST_SANITIZE)" != 0 ]; then $(MAKE) --no-print-directory test-sanitize SANITIZE_TARGETS="$(TEST_SANITIZE_TARGETS)"; fi

test-cpp:
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

test-web:
	@scripts/test-web.sh

# Every C++ test again (or SANITIZE_TARGETS only), in build/sanitize, built with AddressSanitizer
# + UBSan (docs/testing.md).
test-sanitize: llama
	@JOBS=$(JOBS) CTEST_ARGS="$(CTEST_ARGS)" SANITIZE_TARGETS="$(SANITIZE_TARGETS)" scripts/test-sanitize.sh

# The libFuzzer targets of tests/fuzz (clang, build/fuzz), FUZZ_SECONDS each.
fuzz: deps
	@JOBS=$(JOBS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

run: build web
	@scripts/run.sh

bench: build
	@scripts/bench.sh

# The chaos suite's full form (its short form runs in `make test`); see docs/chaos.md.
chaos: build
	@scripts/chaos.sh

clean:
	rm -rf $(BUILD_DIR) build/sanitize build/fuzz web/dist
