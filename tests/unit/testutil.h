/* Helpers for the cmocka unit tests: temporary directories, file contents, shared data. */
#ifndef LLEVAL_TESTUTIL_H
#define LLEVAL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); returns an owned path. */
char *tu_tmpdir(void);
/* Removes a directory tree (ignores errors). */
void tu_rmtree(const char *path);
/* Writes content to dir/name (or to name when dir is NULL); returns the owned full path. */
char *tu_write(const char *dir, const char *name, const char *content);
/* Writes len raw bytes. */
char *tu_write_bytes(const char *dir, const char *name, const void *data, size_t len);
/* Returns the owned contents of a file, or NULL when it cannot be read. */
char *tu_read(const char *path);
/* Path of a file under ../shared (owned); NULL when the file is absent. */
char *tu_shared(const char *rel);
/* Portability (testutil_posix.c / testutil_win32.c, picked by tests/CMakeLists.txt). */

/* Sets the environment variable name to value (borrows both; the process keeps a copy). On
 * Windows an empty value removes the variable (the C runtime's _putenv_s has no empty values). */
void tu_setenv(const char *name, const char *value);
/* Removes the environment variable name. */
void tu_unsetenv(const char *name);
/* Creates a fresh, empty directory with the given prefix path (borrowed) plus a unique suffix;
 * returns the owned path, NULL on failure. */
char *tu_mkdtemp(const char *prefix);
/* The directory for temporary files: $TMPDIR, else (Windows) %TEMP%/%TMP%, else /tmp. Borrowed. */
const char *tu_tmp_base(void);

/* Creates a symbolic link at path pointing to target (both borrowed); 0 on success. On Windows a
 * file symlink (CreateSymbolicLink, unprivileged where developer mode allows it). */
int tu_symlink(const char *target, const char *path);
/* Whether path itself (not what it points to) is a symbolic link. */
bool tu_is_symlink(const char *path);
/* tu_symlink, or (Windows only, where creating links may need a privilege) skip the test. */
#define tu_symlink_or_skip(target, path)                                                           \
    do {                                                                                           \
        if (tu_symlink((target), (path)) != 0) {                                                   \
            assert_false(TU_LINKS_ALWAYS);                                                         \
            print_message("cannot create a symbolic link here; skipped\n");                        \
            skip();                                                                                \
        }                                                                                          \
    } while (0)
#ifdef _WIN32
#define TU_LINKS_ALWAYS false
#else
#define TU_LINKS_ALWAYS true
#endif

/* Asserts that haystack contains needle, printing both when it does not. */
#define tu_assert_contains(haystack, needle)                                                       \
    tu_assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void tu_assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);

#endif
