#!/usr/bin/env bash
# Runs the Windows lleval.exe ($LLEVAL_WINE_EXE) under Wine with the given
# arguments; wine's exit status is the exe's. The tests in tests/wine set
# LLEVAL to this script and reuse tests/cli/lib.sh.
set -euo pipefail
: "${LLEVAL_WINE_EXE:?set LLEVAL_WINE_EXE to lleval.exe}"
# Wine maps Windows file names to Unix ones in the Unix locale's charset: under
# LC_ALL=C (as ctest sets) a non-ASCII name ("Zoë") cannot be created or found.
# UTF-8, as on any current Linux desktop; Windows itself stores UTF-16 names.
LC_ALL=C.UTF-8 exec wine "$LLEVAL_WINE_EXE" "$@"
