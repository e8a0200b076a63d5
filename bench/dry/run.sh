#!/usr/bin/env bash
# Dry-run cost benchmark (not a test; never run by ctest): instructions per
# item of a whole `lleval run --dry-run` under valgrind's callgrind (stable on
# a noisy machine), and the peak RSS of every pipeline step, each its own
# process, at 10k, 100k and 1M synthetic items. docs/benchmarks.md explains it
# and records results.
#
#   bash bench/dry/run.sh [build-dir]
#
# build-dir (default $BUILD_DIR, else build-bench) is configured as a Release
# build of lleval if it does not exist, and built (target lleval only).
#
# Environment (all optional):
#   SIZES=10000,100000,1000000   item counts for the RSS table (1M: several minutes)
#   CALLGRIND_ITEMS=2000         items of the callgrind run (and half as many)
#   VALGRIND=path                default: valgrind on PATH (Debian: apt-get install valgrind);
#                                without it the count is skipped with a note
#   WORK=DIR                     scratch directory (kept); default a temp dir, removed
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${BUILD_DIR:-$root/build-bench}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLEVAL_TESTS=OFF >/dev/null 2>&1
elif ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
	echo "bench/dry: note: $build is not a Release build; measuring it as it is" >&2
fi
log=${TMPDIR:-/tmp}/lleval-bench-build.$$.log
if ! cmake --build "$build" -j2 --target lleval >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
command -v /usr/bin/time >/dev/null || {
	echo "bench/dry: /usr/bin/time is missing (apt-get install time)" >&2
	exit 2
}
vg=()
valgrind=${VALGRIND:-$(command -v valgrind || true)}
if [ -n "$valgrind" ]; then
	vg=(--valgrind "$valgrind")
else
	echo "bench/dry: valgrind is missing (Debian/Ubuntu: apt-get install valgrind):" \
		"the instruction count is skipped" >&2
fi
work=${WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 "$root/bench/dry/bench.py" --lleval "$build/lleval" "${vg[@]}" --work "$work" \
	--callgrind-items "${CALLGRIND_ITEMS:-2000}" --sizes "${SIZES:-10000,100000,1000000}"
