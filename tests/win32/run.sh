#!/bin/bash
# Builds tests/win32/test_platform_win32.c with the platform layer
# (lib/platform/win32*.c) and lib/util with mingw-w64, then runs it under
# Wine (WINE=... to choose the binary; BUILD_ONLY=1 to build only, for a run
# on Windows). Exit status: the test program's.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${OUT_DIR:-$(mktemp -d)}
cc=${CC_WIN:-x86_64-w64-mingw32-gcc}
# error.c includes jansson.h through redact.h (declarations only, nothing of
# it is linked): the Windows dependencies' headers, or the system's copy
inc=${WIN_DEPS_INCLUDE:-}
if [[ -z $inc ]]; then
    inc="$out/include"
    mkdir -p "$inc"
    cp /usr/include/jansson.h /usr/include/jansson_config.h "$inc/"
fi

flags=(-std=c11 -O1 -g -Wall -Wextra -Wpedantic -Werror -Wshadow -Wno-unused-parameter
    -D_WIN32_WINNT=0x0A00 -DUNICODE -D_UNICODE -D__USE_MINGW_ANSI_STDIO=1
    -I"$repo/include" -I"$inc" -include "$repo/include/lleval/util/banned.h")
srcs=("$here/test_platform_win32.c" "$repo"/lib/platform/win32*.c "$repo/lib/platform/portable.c" "$repo/lib/util/util.c"
    "$repo/lib/util/error.c" "$repo/lib/util/winargv.c")

"$cc" "${flags[@]}" "${srcs[@]}" -o "$out/test_platform_win32.exe" -lws2_32 -lpsapi -lshell32
echo "built $out/test_platform_win32.exe"
if [[ ${BUILD_ONLY:-0} == 1 ]]; then
    exit 0
fi
export WINEDEBUG=${WINEDEBUG:--all}
exec "${WINE:-wine}" "$out/test_platform_win32.exe"
