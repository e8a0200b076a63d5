#!/usr/bin/env bash
# Issue 8 (a): every cmocka unit test, cross-built for Windows, under Wine. The
# executables are built beside lleval.exe ($LLEVAL_WINE_EXE's folder, the
# mingw-w64 build tree) by `scripts/build-windows.sh --all` (`make check`); this
# runs that tree's ctest label "unit", so a test added to tests/unit runs here too.
# The POSIX-only test_platform_proc has its Windows counterpart
# (test_platform_win32); tests/CMakeLists.txt lists what is not built for Windows.
set -euo pipefail
: "${LLEVAL_SOURCE_DIR:?set LLEVAL_SOURCE_DIR}"
if [ -z "${LLEVAL_WINE_EXE:-}" ] || [ ! -f "$LLEVAL_WINE_EXE" ] || ! command -v wine >/dev/null; then
	echo "skipped: set LLEVAL_WINE_EXE to a built lleval.exe and install wine"
	exit 77
fi
build=$(cd "$(dirname "$LLEVAL_WINE_EXE")" && pwd)
[ -f "$build/CTestTestfile.cmake" ] || {
	echo "not ok: $build is not a build tree (build it with scripts/build-windows.sh --all)"
	exit 1
}
n=$(find "$build/tests" -maxdepth 1 -name 'test_*.exe' | wc -l)
want=$(find "$LLEVAL_SOURCE_DIR/tests/unit" -maxdepth 1 -name 'test_*.c' | wc -l)
# every unit test source but the POSIX-only test_platform_proc is built for Windows
echo "# $n unit test executables for $want sources in tests/unit"
if [ "$n" -lt $((want - 1)) ]; then
	echo "not ok: only $n unit test executables in $build/tests: build them with scripts/build-windows.sh --all"
	exit 1
fi
export WINEPREFIX="${WINEPREFIX:-${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}/wine-prefix}"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Wine maps file names through the Unix locale: under C a non-ASCII name ("Zoë")
# cannot be created (Windows stores UTF-16 names and has no such dependency)
export LC_ALL=C.UTF-8
wineserver -p 60 2>/dev/null || true
cd "$build"
exec ctest -L unit --output-on-failure -j2 --timeout 400
