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
/* Asserts that haystack contains needle, printing both when it does not. */
#define tu_assert_contains(haystack, needle)                                                       \
    tu_assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void tu_assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);

#endif
