#!/usr/bin/env bash
# Runs the whole test suite of one build directory with ctest.
# The provisioned llama-server is put on PATH for the integration tests.
set -euo pipefail
build="${1:-build}"
bindir=$(bash "$(dirname "$0")/provision-llama.sh" 2>/dev/null | tail -n 1 || true)
if [ -n "$bindir" ] && [ -x "$bindir/llama-server" ]; then
	export LLEVAL_LLAMA_BIN_DIR="$bindir"
fi
export LC_ALL=C NO_COLOR=1
# llama-server with one compute thread: its threads spin-wait on each other, so
# on a loaded 2-core machine two of them run 10-40x slower than one (measured:
# 3 x 128 tokens in 19 s against 0.5 s beside `stress-ng --cpu 2`). Managed
# servers inherit it (llama.cpp reads LLAMA_ARG_THREADS as -t).
export LLAMA_ARG_THREADS="${LLAMA_ARG_THREADS:-1}"
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900
