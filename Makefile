# lleval's front door on Linux. The real build is CMake (build/); see README.md.
#   make              build lleval (installs missing Debian packages first)
#   make quickstart   build, then run the quickstart evaluation end to end
#   make check        build, then run the whole test suite (unit, end to end, integration)
#   make check-sanitize   the whole suite again under AddressSanitizer + UBSan
#   make bench        the benchmarks in bench/ (prints tables; not part of check)
#   make fuzz         every fuzz target for FUZZ_SECONDS (600) each; check runs them briefly
#   make format       formats every C file with the pinned clang-format (CI fails on a difference)
#   make windows      cross-builds lleval.exe for 64-bit Windows: dist/lleval-<version>-win64.zip
#                     (mingw-w64; the libraries are built once into ~/.cache/lleval; docs/windows.md)

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_TYPE ?= RelWithDebInfo
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=

.PHONY: all deps engine build quickstart check check-sanitize bench fuzz format windows clean

all: build

deps:
	@bash scripts/install-deps.sh

engine: deps
	@bash scripts/provision-llama.sh >/dev/null

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_TYPE) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

quickstart: build engine
	@bash scripts/quickstart.sh $(BUILD)/lleval

# check also cross-builds lleval.exe and the unit tests for Windows (the first run builds
# the Windows libraries into ~/.cache/lleval) and runs them under Wine (tests/wine) with the rest
check: build engine
	@bash scripts/build-windows.sh --all >/dev/null
	@cmake -S . -B $(BUILD) -DLLEVAL_WINE_TESTS=ON -DLLEVAL_WINE_EXE=$(CURDIR)/build-win/lleval.exe >/dev/null
	@bash scripts/run-tests.sh $(BUILD)

check-sanitize: deps engine
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLLEVAL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@bash scripts/run-tests.sh $(ASAN_BUILD)

bench: build engine
	@bash bench/run-all.sh $(BUILD)

fuzz: deps
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

format:
	@bash scripts/check-format.sh --fix

windows:
	@LLEVAL_JOBS=$(JOBS) bash scripts/build-windows.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-win dist
