/*
 * Helpers shared by the libFuzzer targets in tests/fuzz (header-only, each
 * target is one program): a private scratch directory for the entry points
 * that read files, writing the input there, and "using" strings so that
 * AddressSanitizer sees every byte a parser hands back. See docs/fuzzing.md.
 */
#ifndef LLEVAL_FUZZ_COMMON_H
#define LLEVAL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Stops the run with a message: libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: check failed: %s: ", #cond);                                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char fuzz_dir_path[256];

static void fuzz_dir_remove(void)
{
    char cmd[300];
    if (!fuzz_dir_path[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_path);
}

/* The target's scratch directory (made once per process, removed at exit):
 * under /dev/shm when it exists (no disk writes), else $TMPDIR or /tmp. */
static const char *fuzz_dir(void)
{
    const char *base;
    if (fuzz_dir_path[0])
        return fuzz_dir_path;
    base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/lleval-fuzz-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(fuzz_dir_path)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir_path;
}

/* Returns the path of name in the scratch directory (static buffer per call site: copy it). */
static void fuzz_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", fuzz_dir(), name);
}

/* Writes data[0..size) to path, replacing it. */
static void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
}

/* Reads every byte of s (NULL is fine), so ASan checks the whole string. */
static size_t fuzz_use(const char *s)
{
    volatile size_t sum = 0;
    if (!s)
        return 0;
    for (const char *p = s; *p; p++)
        sum += (unsigned char)*p;
    return sum;
}

/* An owned copy of data[0..size) without a terminating NUL, so that a read
 * past the end is caught. */
static char *fuzz_dup(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);
    return copy;
}

/* True when needle occurs in hay[0..len). */
static int fuzz_contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= len; i++)
        if (!memcmp(hay + i, needle, n))
            return 1;
    return 0;
}

#endif
