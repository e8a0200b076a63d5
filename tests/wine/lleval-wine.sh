#!/usr/bin/env bash
# Runs the Windows lleval.exe ($LLEVAL_WINE_EXE) under Wine with the given
# arguments; wine's exit status is the exe's. The tests in tests/wine set
# LLEVAL to this script and reuse tests/cli/lib.sh.
set -euo pipefail
: "${LLEVAL_WINE_EXE:?set LLEVAL_WINE_EXE to lleval.exe}"
exec wine "$LLEVAL_WINE_EXE" "$@"
