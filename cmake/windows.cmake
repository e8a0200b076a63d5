# Windows (mingw-w64) settings for lleval's build, included by CMakeLists.txt
# when WIN32. lleval.exe is linked fully static: the libraries come as static
# archives from scripts/provision-windows.sh (their .pc files already list the
# Windows system libraries and the *_STATICLIB defines), and libgcc and the
# mingw runtime are linked in, so the exe needs only DLLs every Windows has.
# See docs/windows.md.
if(CMAKE_VERSION VERSION_LESS 3.19)
  message(FATAL_ERROR "the Windows build needs CMake 3.19 or newer (cmake_language(DEFER))")
endif()

if(NOT LLEVAL_WINDOWS_DEPS)
  message(WARNING "LLEVAL_WINDOWS_DEPS is empty: pkg-config may find no Windows libraries "
                  "(run scripts/provision-windows.sh and pass the directory it prints)")
endif()

# Windows 10 API level; the W (UTF-16) Windows APIs by default; C99 printf/scanf
# from mingw (%zu, %lld, %Lf) rather than msvcrt's.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 UNICODE _UNICODE
                        __USE_MINGW_ANSI_STDIO=1)
add_link_options(-static -static-libgcc)
enable_language(RC) # windres, for packaging/windows/lleval.rc

# Windows system libraries the platform layer (lib/platform/win32*.c) needs;
# libcurl's .pc brings its own (ws2_32, crypt32, bcrypt, advapi32...).
set(LLEVAL_WIN32_SYSTEM_LIBS ws2_32 psapi shell32 CACHE STRING
    "Windows libraries lleval_core links (the platform layer's)")

# When cli/ takes its arguments as UTF-16 through wmain(), the exe links with
# -municode (the test executables keep main()).
option(LLEVAL_WIN32_WMAIN "lleval's entry point is wmain (link lleval.exe with -municode)" OFF)

function(_lleval_windows_targets)
  if(TARGET lleval_core AND LLEVAL_WIN32_SYSTEM_LIBS)
    target_link_libraries(lleval_core PUBLIC ${LLEVAL_WIN32_SYSTEM_LIBS})
  endif()
  # the application manifest: UTF-8 as the ANSI code page (narrow C runtime
  # calls and argv in UTF-8), see packaging/windows/lleval.manifest
  if(TARGET lleval)
    target_sources(lleval PRIVATE ${CMAKE_SOURCE_DIR}/packaging/windows/lleval.rc)
    set_property(SOURCE ${CMAKE_SOURCE_DIR}/packaging/windows/lleval.rc APPEND PROPERTY
                 OBJECT_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/windows/lleval.manifest)
  endif()
  if(TARGET lleval AND LLEVAL_WIN32_WMAIN)
    target_link_options(lleval PRIVATE -municode)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _lleval_windows_targets)
