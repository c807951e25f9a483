# vudo: the two commands are `make demo` and `make test` (see README.md).
# Both install what is missing first (scripts/install-deps.sh).

JOBS ?= 2
FUZZ_SECONDS ?= 10
export CTEST_OUTPUT_ON_FAILURE := 1

.PHONY: all deps build build-asan test unit asan interop integration scenarios fuzz-smoke bench demo clean format

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# Unit tests (release), unit tests again under ASan+UBSan, interop tests
# against the real reference peers, fuzz smoke runs.
test: build build-asan
	@$(MAKE) --no-print-directory unit asan interop integration scenarios fuzz-smoke

unit:
	ctest --preset release -j $(JOBS)

asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --preset asan -j $(JOBS)

interop:
	VUDO_BIN=$(CURDIR)/build/release/src/cli/vudo node --test --test-concurrency=1 tests/interop/

# Multi-node tests: real vudo processes on loopback.
integration:
	VUDO_BIN=$(CURDIR)/build/release/src/cli/vudo node --test --test-concurrency=1 tests/integration/

# The network lab's self-test and the report's scenarios (S1, S6) in network
# namespaces; they need root (exit 77 otherwise, which counts as skipped and
# says so loudly).
scenarios:
	bash tests/scenarios/netlab_test.sh || [ $$? -eq 77 ]
	bash tests/scenarios/run.sh $(CURDIR)/build/release/src/cli/vudo || [ $$? -eq 77 ]

fuzz-smoke:
	bash scripts/fuzz-smoke.sh build/asan $(FUZZ_SECONDS)

bench: build
	bash scripts/bench.sh

demo: build
	bash scripts/demo.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
