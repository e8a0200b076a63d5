/* Test-support portability layer, POSIX side (see testutil.h): environment, temp dirs. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "lleval/util/util.h"

void tu_setenv(const char *name, const char *value)
{
    setenv(name, value, 1);
}

void tu_unsetenv(const char *name)
{
    unsetenv(name);
}

const char *tu_tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

char *tu_mkdtemp(const char *prefix)
{
    char *tmpl = lleval_xasprintf("%sXXXXXX", prefix);
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

int tu_symlink(const char *target, const char *path)
{
    return symlink(target, path);
}

bool tu_is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}
