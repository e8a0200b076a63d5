# CMake toolchain file: cross-compile for 64-bit Windows (x86_64-w64-mingw32)
# with Debian's mingw-w64 GCC, win32 thread model. Used both for lleval itself
# (make windows) and for the libraries scripts/provision-windows.sh builds.
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#         -DLLEVAL_WINDOWS_DEPS=<the directory provision-windows.sh prints>
#
# LLEVAL_WINDOWS_DEPS (cache variable or environment variable) is the prefix
# holding the static libraries and their pkg-config files; pkg-config then
# looks only there (PKG_CONFIG_LIBDIR), never at the host's Linux libraries.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(LLEVAL_MINGW_TRIPLE x86_64-w64-mingw32)
# The -win32 compiler names pick the win32 thread model explicitly, whatever
# update-alternatives says; fall back to the plain names on other distributions.
find_program(LLEVAL_MINGW_CC NAMES ${LLEVAL_MINGW_TRIPLE}-gcc-win32 ${LLEVAL_MINGW_TRIPLE}-gcc
             REQUIRED)
set(CMAKE_C_COMPILER ${LLEVAL_MINGW_CC})
find_program(LLEVAL_MINGW_CXX NAMES ${LLEVAL_MINGW_TRIPLE}-g++-win32 ${LLEVAL_MINGW_TRIPLE}-g++)
if(LLEVAL_MINGW_CXX)
  set(CMAKE_CXX_COMPILER ${LLEVAL_MINGW_CXX})
endif()
set(CMAKE_RC_COMPILER ${LLEVAL_MINGW_TRIPLE}-windres)
set(CMAKE_AR ${LLEVAL_MINGW_TRIPLE}-ar CACHE FILEPATH "archiver")
set(CMAKE_RANLIB ${LLEVAL_MINGW_TRIPLE}-ranlib CACHE FILEPATH "ranlib")

if(NOT LLEVAL_WINDOWS_DEPS AND DEFINED ENV{LLEVAL_WINDOWS_DEPS})
  set(LLEVAL_WINDOWS_DEPS "$ENV{LLEVAL_WINDOWS_DEPS}")
endif()
set(LLEVAL_WINDOWS_DEPS "${LLEVAL_WINDOWS_DEPS}" CACHE PATH
    "prefix of the Windows libraries (scripts/provision-windows.sh prints it)")

# Headers and libraries come from the mingw sysroot and the deps prefix only;
# programs (pkg-config, cmake helpers) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${LLEVAL_MINGW_TRIPLE} ${LLEVAL_WINDOWS_DEPS})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config: only the deps prefix's .pc files (they are written for static
# linking: Libs carries the system libraries, Cflags the *_STATIC defines).
if(LLEVAL_WINDOWS_DEPS)
  set(ENV{PKG_CONFIG_LIBDIR} "${LLEVAL_WINDOWS_DEPS}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
endif()

# Test executables run under Wine when CMake/ctest needs to run one.
find_program(LLEVAL_WINE NAMES wine wine64)
if(LLEVAL_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LLEVAL_WINE})
endif()
