#!/usr/bin/env bash
# Scheduler overhead benchmark (not a test; never run by ctest): lleval's
# request path against a bare libcurl multi client, on a zero-latency fake
# engine, on one with a fixed 10 ms latency and on the real llama-server,
# plus lleval's peak RSS for 1k, 10k and 50k requests. Prints a table;
# docs/benchmarks.md explains it and records results. About 3-4 minutes on
# 2 cores.
#
#   bash bench/overhead/run.sh [build-dir]
#
# build-dir (default $BUILD_DIR, else build-overhead) is configured as a
# Release build of lleval if it does not exist, and built (target lleval
# only). The benchmark's own programs (fakeengine.c, refclient.c,
# microcost.c) are compiled with the system cc into the scratch directory:
# they are not CMake targets, so the project build never depends on them.
#
# Environment (all optional):
#   REQUESTS=20000        requests per run against the zero-latency fake
#   CONCURRENCY=1,4,16,64
#   REPEATS=3             interleaved runs per tool and point; the best shown
#   MEM_SIZES=1000,10000,50000
#   DELAY_MS=10           the fixed-latency fake's delay (0: skip that scenario)
#   DELAY_ROUNDS=150      requests per slot there (c=64: 9600 requests)
#   LLAMA_REQUESTS=400    requests per run against llama-server (-np 4; 0: skip that scenario)
#   LLAMA_SERVER=...      default ~/.cache/lleval/llama.cpp-nlc-3.21.1/bin/llama-server
#   MODEL=...             default $LLEVAL_SHARED_DIR/models/llama-2-tiny-random.gguf
#   LLEVAL_SHARED_DIR     default ../shared next to the repository
#   XARGS=1               also time `xargs -P 4 curl` (one process per request)
#   WORK=DIR              scratch directory (kept); default a temp dir, removed
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/overhead
build=${1:-${BUILD_DIR:-$root/build-overhead}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
shared=${LLEVAL_SHARED_DIR:-$root/../shared}

if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
	if [ -f "$build/CMakeCache.txt" ]; then
		echo "bench/overhead: note: $build is not a Release build; timing it as it is" >&2
	else
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLEVAL_TESTS=OFF >/dev/null 2>&1
	fi
fi
if ! cmake --build "$build" -j2 --target lleval >"${TMPDIR:-/tmp}/lleval-bench-build.$$.log" 2>&1; then
	cat "${TMPDIR:-/tmp}/lleval-bench-build.$$.log" >&2
	rm -f "${TMPDIR:-/tmp}/lleval-bench-build.$$.log"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/lleval-bench-build.$$.log"

# every server here is on loopback: never through a proxy from the environment
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

work=${WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/bin"
cflags=(-O2 -std=c11 -Wall -Wextra -Wpedantic -Werror)
cc "${cflags[@]}" -o "$work/bin/fakeengine" "$here/fakeengine.c"
cc "${cflags[@]}" -o "$work/bin/refclient" "$here/refclient.c" $(pkg-config --cflags --libs libcurl)
microcost=()
if [ -f "$build/liblleval_core.a" ] &&
	cc "${cflags[@]}" -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$root/include" \
		-o "$work/bin/microcost" "$here/microcost.c" "$build/liblleval_core.a" \
		$(pkg-config --cflags --libs libcurl yaml-0.1 jansson libutf8proc) -ldl -lm -lpthread; then
	microcost=(--microcost "$work/bin/microcost")
fi

echo "lleval: $build/lleval ($(grep '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2))" >&2
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg), $(curl-config --version 2>/dev/null || echo libcurl)" >&2

python3 "$here/bench.py" \
	--lleval "$build/lleval" --fakeengine "$work/bin/fakeengine" --refclient "$work/bin/refclient" \
	"${microcost[@]}" \
	--llama-server "${LLAMA_SERVER:-$HOME/.cache/lleval/llama.cpp-nlc-3.21.1/bin/llama-server}" \
	--model "${MODEL:-$shared/models/llama-2-tiny-random.gguf}" \
	--work "$work" \
	--requests "${REQUESTS:-20000}" --concurrency "${CONCURRENCY:-1,4,16,64}" \
	--repeats "${REPEATS:-3}" --mem-sizes "${MEM_SIZES:-1000,10000,50000}" \
	--llama-requests "${LLAMA_REQUESTS:-400}" --xargs "${XARGS:-1}" \
	--delay-ms "${DELAY_MS:-10}" --delay-rounds "${DELAY_ROUNDS:-150}"
