/* Test-support portability layer, Windows side (see testutil.h): environment, temp dirs. */
#include <direct.h>
#include <errno.h>
#include <stdlib.h>
#include <windows.h>
#include "testutil.h"
#include "lleval/util/util.h"

void tu_setenv(const char *name, const char *value)
{
    _putenv_s(name, value);
}

void tu_unsetenv(const char *name)
{
    _putenv_s(name, "");
}

const char *tu_tmp_base(void)
{
    static const char *const names[] = {"TMPDIR", "TEMP", "TMP"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *base = getenv(names[i]);
        if (base && *base)
            return base;
    }
    return "C:/Windows/Temp";
}

char *tu_mkdtemp(const char *prefix)
{
    /* mingw has no mkdtemp: a name from the pid, the tick count and a counter, created with
     * _mkdir, which fails with EEXIST when another process took it first. */
    static unsigned counter;
    for (int attempt = 0; attempt < 1000; attempt++) {
        char *path = lleval_xasprintf("%s%lu-%llu-%u", prefix, (unsigned long)GetCurrentProcessId(),
                                      (unsigned long long)GetTickCount64(), counter++);
        if (_mkdir(path) == 0)
            return path;
        free(path);
        if (errno != EEXIST)
            return NULL;
    }
    return NULL;
}

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

int tu_symlink(const char *target, const char *path)
{
    /* the test paths are ASCII: the A function is enough */
    HANDLE h;
    if (!CreateSymbolicLinkA(path, target, SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE))
        return -1;
    /* The link must lead to its target. Wine 8 creates a host symlink whose text is the Windows
     * path, which dangles: such a link counts as "cannot create" (real Windows resolves it). */
    h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DeleteFileA(path);
        return -1;
    }
    CloseHandle(h);
    return 0;
}

bool tu_is_symlink(const char *path)
{
    DWORD attr = GetFileAttributesA(path);
    return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_REPARSE_POINT);
}
