#!/usr/bin/env bash
# Scoring benchmark (not a test; never run by ctest). Builds lleval in Release
# (or uses $LLEVAL), then runs bench/score/bench.py, which prints a table:
# tool, input, items, wall s, cpu s, peak RSS MiB, speedup over the python
# reference (bench/reference/squad_v1_eval.py). What is timed:
#   1. lleval score and the reference on the same predictions.csv (XQuAD's
#      1,190 questions x samples s0..s84 = 101,150 rows by default) against
#      the XQuAD golds (the reference reads xquad.en.json, lleval the prepared
#      dir made once by `lleval prepare`, not timed); best of --repeat runs,
#      interleaved; EM and F1 must agree.
#   2. lleval parse + lleval score of --rows generated result lines and of a
#      tenth of them (peak RSS must not grow with the rows); beside them the
#      floor (two start-ups and the artifacts' bytes through the kernel) and
#      simdjson's on-demand parser pulling the same fields (libsimdjson-dev,
#      installed when missing and root; SIMDJSON=0 skips it).
#
#   bench/score/run.sh [--items N] [--rows N] [--repeat N]
#                      defaults 100000, 1000000, 3; --rows 0 skips part 2
#
# Environment: LLEVAL (a built binary), BUILD_DIR (default build-bench),
# LLEVAL_SHARED_DIR (default ../shared), WORK (scratch dir, default a temp dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${LLEVAL_SHARED_DIR:-$root/../shared}
xquad=$shared/datasets/xquad/xquad.en.json
if [ ! -f "$xquad" ]; then
	echo "bench/score: $xquad is missing; set LLEVAL_SHARED_DIR" >&2
	exit 2
fi
if [ -z "${LLEVAL:-}" ]; then
	build=${BUILD_DIR:-$root/build-bench}
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLEVAL_TESTS=OFF >/dev/null
	cmake --build "$build" -j2 --target lleval >/dev/null
	LLEVAL=$build/lleval
fi
work=${WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
# simdjson (Debian's libsimdjson-dev) for the optional reference row of part 2:
# installed here when missing and this runs as root; SIMDJSON=0 skips it.
simd=()
if [ "${SIMDJSON:-1}" != 0 ]; then
	if [ ! -f /usr/include/simdjson.h ] && [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			libsimdjson-dev >/dev/null 2>&1 || true
	fi
	if [ -f /usr/include/simdjson.h ] && command -v c++ >/dev/null 2>&1 &&
		c++ -O2 -std=c++17 "$root/bench/score/simdjson_fields.cpp" -lsimdjson \
			-o "$work/simdjson_fields" 2>/dev/null; then
		simd=(--simdjson "$work/simdjson_fields")
	else
		echo "bench/score: no simdjson row (apt-get install libsimdjson-dev, then run again)" >&2
	fi
fi
echo "lleval: $LLEVAL" >&2
echo "machine: $(nproc) cores, $(uname -m), $(python3 --version 2>&1)" >&2
python3 "$root/bench/score/bench.py" --lleval "$LLEVAL" \
	--reference "$root/bench/reference/squad_v1_eval.py" --xquad "$xquad" --work "$work" "${simd[@]}" "$@"
