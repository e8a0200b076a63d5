/* Helpers for the cmocka unit tests (see testutil.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

char *tu_tmpdir(void)
{
    char *prefix = lleval_path_join(tu_tmp_base(), "lleval-test-");
    char *dir = tu_mkdtemp(prefix);
    free(prefix);
    if (!dir) {
        fprintf(stderr, "cannot create a temporary directory\n");
        abort();
    }
    return dir;
}

void tu_rmtree(const char *path)
{
    lleval_remove_tree(path, NULL);
}

char *tu_write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = dir ? lleval_path_join(dir, name) : lleval_xstrdup(name);
    char *parent = lleval_path_dirname(path);
    FILE *f;
    lleval_mkdirs(parent, NULL);
    free(parent);
    f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    return path;
}

char *tu_write(const char *dir, const char *name, const char *content)
{
    return tu_write_bytes(dir, name, content, strlen(content));
}

char *tu_read(const char *path)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (lleval_read_file(path, &sb, 0, NULL)) {
        lleval_sb_release(&sb);
        return NULL;
    }
    return lleval_sb_detach(&sb, NULL);
}

char *tu_shared(const char *rel)
{
    char *path = lleval_path_join(LLEVAL_SHARED_DIR, rel);
    if (!lleval_path_exists(path)) {
        free(path);
        return NULL;
    }
    return path;
}

void tu_assert_contains_impl(const char *haystack, const char *needle, const char *file, int line)
{
    if (!haystack || !strstr(haystack, needle)) {
        print_error("%s:%d: expected to find \"%s\" in \"%s\"\n", file, line, needle,
                    haystack ? haystack : "(null)");
        _fail(file, line);
    }
}

void tu_assert_path_contains_impl(const char *path, const char *needle, const char *file, int line)
{
    char *portable = path ? lleval_path_portable(path) : NULL;
    tu_assert_contains_impl(portable, needle, file, line);
    free(portable);
}

long tu_dead_pid(void)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "child.log");
    char *argv[] = {"tu_child", "exit", "0", NULL};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_proc_exit ex;
    long pid = 0;
    assert_int_equal(lleval_proc_spawn(TU_CHILD, argv, log, 0, &pid, &err), 0);
    assert_true(pid > 0);
    assert_int_equal(lleval_proc_wait(pid, &ex, &err), 0);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 0);
    tu_rmtree(dir);
    free(log);
    free(dir);
    return pid;
}
