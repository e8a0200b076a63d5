#!/usr/bin/env bash
# Cross-builds lleval.exe for 64-bit Windows on Debian: provisions the static
# Windows libraries (scripts/provision-windows.sh, cached), configures and
# builds build-win/ with cmake/mingw-w64-x86_64.cmake, then makes
# dist/lleval-<version>-win64/ (lleval.exe, the PowerShell README, sample
# configs, the linked libraries' licenses) and its .zip. Prints the zip's path
# on its last line. `make windows` calls this.
#
#   scripts/build-windows.sh [--all | --test] [BUILD_DIR [DIST_DIR]]
#     --all       also build every target (the unit test executables), which
#                 tests/wine/test_wine_unit.sh runs under Wine (`make check`)
#     --test      --all, then run the unit tests under Wine here (ctest -L unit);
#                 the exit status is ctest's
#   LLEVAL_JOBS   parallel build jobs (default 2)
set -euo pipefail

run_tests="" build_all=""
case "${1:-}" in
--all) build_all=1 && shift ;;
--test) build_all=1 run_tests=1 && shift ;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${1:-$root/build-win}"
dist="${2:-$root/dist}"
jobs="${LLEVAL_JOBS:-2}"
triple=x86_64-w64-mingw32

deps=$(bash "$root/scripts/provision-windows.sh" | tail -1)
[ -f "$deps/VERSIONS" ] || {
	echo "build-windows: provisioning gave no library prefix ('$deps')" >&2
	exit 2
}

cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
	-DLLEVAL_WINDOWS_DEPS="$deps" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs" --target lleval

version=$(sed -n 's/^project(lleval VERSION \([0-9][0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
name="lleval-$version-win64"
out="$dist/$name"
rm -rf "$out" "$dist/$name.zip"
mkdir -p "$out/licenses"
$triple-strip -o "$out/lleval.exe" "$build/lleval.exe"
# CRLF, for Notepad and PowerShell's Get-Content alike.
sed 's/\r*$/\r/' "$root/packaging/windows/README-windows.txt" >"$out/README-windows.txt"
# A first dry run works from the unzipped folder (README-windows.txt, part 2).
mkdir -p "$out/examples"
cp -r "$root/examples/data" "$root/examples/quickstart-dry.yaml" "$root/examples/eval_config.yaml" \
	"$out/examples/"
for f in LICENSE LICENSE.md COPYING; do
	[ -f "$root/$f" ] && cp "$root/$f" "$out/licenses/lleval-$f"
done
# The static exe carries these libraries, so it carries their notices too.
cp -r "$deps/share/licenses/." "$out/licenses/"
mingw_copyright=/usr/share/doc/mingw-w64-x86-64-dev/copyright
if [ -f "$mingw_copyright" ]; then
	mkdir -p "$out/licenses/mingw-w64"
	cp "$mingw_copyright" "$out/licenses/mingw-w64/debian-copyright"
fi
{
	echo "lleval $version for 64-bit Windows, cross-built on Debian with mingw-w64 $($triple-gcc-win32 -dumpfullversion)."
	echo "Libraries linked statically into lleval.exe (Debian source package versions):"
	grep -v -e '^cmocka=' -e '^check:' "$deps/VERSIONS" | sed 's/^/  /'
	echo "(cmocka, whose license is here too, is linked only into lleval's test programs.)"
} | sed 's/\r*$/\r/' >"$out/licenses/VERSIONS.txt"

(cd "$dist" && python3 -m zipfile -c "$name.zip" "$name/")
echo "build-windows: $(du -h "$out/lleval.exe" | cut -f1) lleval.exe in $out" >&2

if [ -n "$build_all" ]; then
	cmake --build "$build" -j "$jobs"
fi
if [ -n "$run_tests" ]; then
	export WINEPREFIX="${WINEPREFIX:-${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}/wine-prefix}"
	export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
	(cd "$build" && LC_ALL=C NO_COLOR=1 ctest -L unit --output-on-failure -j1) >&2
fi
echo "$dist/$name.zip"
