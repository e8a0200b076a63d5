/*
 * Unit tests for the platform layer (lib/platform/posix.c, platform.h + fs.h):
 * spawning, polling, waiting for and terminating processes; sorted directory
 * listings; append-only files; the line reader's offsets; finding
 * executables and llama.cpp's cache directory; files inside a run directory
 * opened as what they claim to be (no links, no FIFOs); a free loopback port; the
 * stop signal count. The programs run are /bin/true, /bin/false, /bin/echo
 * and /bin/sleep (no shell). Identities, dying with the parent and lock
 * files: test_platform_proc.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#include <sys/stat.h>
#include <unistd.h>
#endif
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

/* Skips the test when a program it runs is missing here. On Windows always: the programs are
 * POSIX ones (under Wine "/bin/sleep" even names the host's ELF file, which cannot start). */
#ifdef _WIN32
#define NEED(prog)                                                                                 \
    do {                                                                                           \
        print_message("%s is a POSIX program; skipped on Windows\n", prog);                        \
        skip();                                                                                    \
    } while (0)
#else
#define NEED(prog)                                                                                 \
    do {                                                                                           \
        if (!lleval_is_executable(prog)) {                                                         \
            print_message("%s is not here; skipped\n", prog);                                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)
#endif

/* Polls child pid until it exits (the machine may be slow: up to 60 s). */
static int poll_until_exit(long pid, struct lleval_proc_exit *ex)
{
    for (int i = 0; i < 6000; i++) {
        int r = lleval_proc_poll(pid, ex);
        if (r)
            return r;
        lleval_sleep_ms(10);
    }
    return 0;
}

static void test_run_true_false(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "run.log");
    char *t_argv[] = {"true", NULL};
    char *f_argv[] = {"false", NULL};
    struct lleval_proc_exit ex = {true, -1};
    struct lleval_err err = LLEVAL_ERR_INIT;
    char how[128];
    (void)state;
    NEED("/bin/true");
    NEED("/bin/false");

    assert_int_equal(lleval_proc_run("/bin/true", t_argv, log, 0, &ex, &err), 0);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 0);
    assert_string_equal(lleval_proc_describe(&ex, how, sizeof(how)), "exit status 0");
    assert_true(lleval_path_exists(log)); /* the log is created even when empty */

    assert_int_equal(lleval_proc_run("/bin/false", f_argv, log, 0, &ex, &err), 0);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 1);
    assert_string_equal(lleval_proc_describe(&ex, how, sizeof(how)), "exit status 1");
    tu_rmtree(dir);
    free(log);
    free(dir);
}

static void test_spawn_poll(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "poll.log");
    char *argv[] = {"false", NULL};
    struct lleval_proc_exit ex = {true, -1};
    struct lleval_err err = LLEVAL_ERR_INIT;
    long pid = 0;
    (void)state;
    NEED("/bin/false");

    assert_int_equal(lleval_proc_spawn("/bin/false", argv, log, 0, &pid, &err), 0);
    assert_true(pid > 0);
    assert_int_equal(poll_until_exit(pid, &ex), 1);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 1);
    /* reaped: no longer ours to wait for */
    assert_int_equal(lleval_proc_poll(pid, &ex), 2);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 0);
    assert_int_equal(lleval_proc_poll(0, &ex), 2); /* never "any child" */
    assert_int_equal(lleval_proc_wait(-1, &ex, &err), LLEVAL_EIO);
    tu_rmtree(dir);
    free(log);
    free(dir);
}

static void test_spawn_log_append_truncate(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "echo.log");
    char *argv[] = {"echo", "hello", NULL};
    struct lleval_proc_exit ex;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *text;
    (void)state;
    NEED("/bin/echo");

    assert_int_equal(lleval_proc_run("/bin/echo", argv, log, LLEVAL_SPAWN_APPEND_LOG, &ex, &err),
                     0);
    assert_int_equal(lleval_proc_run("/bin/echo", argv, log, LLEVAL_SPAWN_APPEND_LOG, &ex, &err),
                     0);
    text = tu_read(log);
    assert_string_equal(text, "hello\nhello\n");
    free(text);
    /* without APPEND_LOG the log starts over */
    assert_int_equal(lleval_proc_run("/bin/echo", argv, log, 0, &ex, &err), 0);
    text = tu_read(log);
    assert_string_equal(text, "hello\n");
    free(text);
    tu_rmtree(dir);
    free(log);
    free(dir);
}

static void test_spawn_missing_binary(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "missing.log");
    char *bin = lleval_path_join(dir, "no-such-program");
    char *argv[] = {bin, NULL};
    struct lleval_proc_exit ex;
    struct lleval_err err = LLEVAL_ERR_INIT;
    long pid = 7;
    (void)state;

    assert_int_equal(lleval_proc_spawn(bin, argv, log, 0, &pid, &err), LLEVAL_EIO);
    assert_int_equal(pid, 0);
    tu_assert_contains(err.msg, "cannot start '");
    tu_assert_contains(err.msg, "no-such-program'");
    memset(&err, 0, sizeof(err));
    assert_int_equal(lleval_proc_run(bin, argv, log, 0, &ex, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "cannot start '");
    tu_rmtree(dir);
    free(bin);
    free(log);
    free(dir);
}

/* sleep 5, then terminate: SIGTERM ends it long before the grace is over,
 * and it is reaped (flags: with and without its own process group). */
static void test_terminate(void **state)
{
    static const unsigned flag_sets[] = {LLEVAL_SPAWN_OWN_GROUP, 0};
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "sleep.log");
    char *argv[] = {"sleep", "5", NULL};
    (void)state;
    NEED("/bin/sleep");

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(flag_sets); i++) {
        struct lleval_proc_exit ex;
        struct lleval_err err = LLEVAL_ERR_INIT;
        long pid = 0;
        assert_int_equal(lleval_proc_spawn("/bin/sleep", argv, log, flag_sets[i], &pid, &err), 0);
        assert_true(lleval_pid_alive(pid));
        assert_int_equal(lleval_proc_poll(pid, &ex), 0); /* still sleeping */
        lleval_proc_terminate(pid, 30000);
        assert_false(lleval_pid_alive(pid)); /* gone and reaped, not a zombie */
        assert_int_equal(lleval_proc_poll(pid, &ex), 2);
    }
    lleval_proc_terminate(0, 10); /* no process: a no-op */
    assert_false(lleval_proc_terminate_other(NULL, 10));
    {
        struct lleval_proc_id none = {-1, 0};
        assert_false(lleval_proc_terminate_other(&none, 10));
    }
    tu_rmtree(dir);
    free(log);
    free(dir);
}

#ifndef _WIN32
/* POSIX only: Windows has no signals to kill a process with (test_terminate covers ending one). */
static void test_wait_signaled(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "sleep.log");
    char *argv[] = {"sleep", "5", NULL};
    struct lleval_proc_exit ex = {false, -1};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb name = LLEVAL_SB_INIT;
    char how[128];
    long pid = 0;
    (void)state;
    NEED("/bin/sleep");

    assert_int_equal(lleval_proc_spawn("/bin/sleep", argv, log, 0, &pid, &err), 0);
    /* argv[0] as the process was started, where the platform can tell; the
     * child may still be inside exec for a moment */
    for (int i = 0; i < 500 && lleval_proc_argv0(pid, &name); i++)
        lleval_sleep_ms(10);
    if (name.len)
        assert_string_equal(name.buf, "sleep");
    else
        print_message("lleval_proc_argv0 knows nothing here; not checked\n");
    lleval_sb_release(&name);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    assert_int_equal(lleval_proc_wait(pid, &ex, &err), 0);
    assert_true(ex.signaled);
    assert_int_equal(ex.code, SIGKILL);
    tu_assert_contains(lleval_proc_describe(&ex, how, sizeof(how)), "killed by signal 9, SIGKILL");
    /* waiting again: it is gone */
    assert_int_equal(lleval_proc_wait(pid, &ex, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "cannot wait for process");
    tu_rmtree(dir);
    free(log);
    free(dir);
}
#endif

/* The same process cases with tests/unit/tu_child.c's program, which every platform has (on
 * Windows the only ones: the /bin programs are skipped there): exit statuses through run, spawn
 * and poll, the log appended or started over, a sleeping child terminated and reaped. */
static void test_tu_child(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "child.log");
    char *exit0[] = {"tu_child", "exit", "0", NULL};
    char *exit3[] = {"tu_child", "exit", "3", NULL};
    char *print[] = {"tu_child", "print", "hello", "world", NULL};
    char *sleep[] = {"tu_child", "sleep", "30000", NULL};
#ifdef _WIN32
    const char *nl = "\r\n"; /* the child's stdout is a text-mode file */
#else
    const char *nl = "\n";
#endif
    struct lleval_proc_exit ex = {true, -1};
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *text, *want;
    long pid = 0;
    (void)state;

    assert_int_equal(lleval_proc_run(TU_CHILD, exit0, log, 0, &ex, &err), 0);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 0);
    assert_true(lleval_path_exists(log)); /* the log is created even when empty */
    assert_int_equal(lleval_proc_spawn(TU_CHILD, exit3, log, 0, &pid, &err), 0);
    assert_true(pid > 0);
    assert_int_equal(poll_until_exit(pid, &ex), 1);
    assert_false(ex.signaled);
    assert_int_equal(ex.code, 3);
    assert_int_equal(lleval_proc_poll(pid, &ex), 2); /* reaped */

    assert_int_equal(lleval_proc_run(TU_CHILD, print, log, LLEVAL_SPAWN_APPEND_LOG, &ex, &err), 0);
    assert_int_equal(lleval_proc_run(TU_CHILD, print, log, LLEVAL_SPAWN_APPEND_LOG, &ex, &err), 0);
    text = tu_read(log);
    want = lleval_xasprintf("hello world%shello world%s", nl, nl);
    assert_string_equal(text, want);
    free(want);
    free(text);
    assert_int_equal(lleval_proc_run(TU_CHILD, print, log, 0, &ex, &err), 0);
    text = tu_read(log);
    want = lleval_xasprintf("hello world%s", nl);
    assert_string_equal(text, want);
    free(want);
    free(text);

    for (int own_group = 0; own_group < 2; own_group++) {
        assert_int_equal(lleval_proc_spawn(TU_CHILD, sleep, log,
                                           own_group ? LLEVAL_SPAWN_OWN_GROUP : 0, &pid, &err),
                         0);
        assert_true(lleval_pid_alive(pid));
        assert_int_equal(lleval_proc_poll(pid, &ex), 0); /* still sleeping */
        lleval_proc_terminate(pid, 30000);
        assert_false(lleval_pid_alive(pid)); /* gone and reaped */
        assert_int_equal(lleval_proc_poll(pid, &ex), 2);
    }
    tu_rmtree(dir);
    free(log);
    free(dir);
}

static void test_describe(void **state)
{
    static const struct {
        struct lleval_proc_exit ex;
        const char *want;
    } cases[] = {
        {{false, 0}, "exit status 0"},
        {{false, 127}, "exit status 127"},
#ifdef _WIN32
        /* Windows: no signals; an NTSTATUS exit code tells how the process died */
        {{false, (int)0xC0000005UL}, ": an access violation, a crash"},
#else
        {{true, SIGSEGV}, ", SIGSEGV: a crash"},
        {{true, SIGABRT}, ", SIGABRT: an assertion failed"},
        {{true, SIGTERM}, "killed by signal 15"},
#endif
    };
    char how[128];
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++)
        tu_assert_contains(lleval_proc_describe(&cases[i].ex, how, sizeof(how)), cases[i].want);
}

static void test_list_dir(void **state)
{
    static const char *const want[] = {".hidden", "B", "a", "b.csv", "sub", "z"};
    char *dir = tu_tmpdir();
    char *sub = lleval_path_join(dir, "sub");
    char *missing = lleval_path_join(dir, "missing");
    struct lleval_dir_list list;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    free(tu_write(dir, "z", "1"));
    free(tu_write(dir, "a", "1"));
    free(tu_write(dir, "B", "1"));
    free(tu_write(dir, "b.csv", "1"));
    free(tu_write(dir, ".hidden", "1"));
    assert_int_equal(lleval_mkdirs(sub, &err), 0);
    assert_int_equal(lleval_list_dir(dir, &list, &err), 0);
    assert_int_equal(list.n, LLEVAL_ARRAY_SIZE(want));
    for (size_t i = 0; i < list.n; i++)
        assert_string_equal(list.names[i], want[i]); /* byte-wise: upper case first */
    lleval_dir_list_release(&list);
    assert_int_equal(list.n, 0);
    lleval_dir_list_release(&list); /* twice is fine */

    assert_int_equal(lleval_list_dir(sub, &list, &err), 0); /* empty */
    assert_int_equal(list.n, 0);
    lleval_dir_list_release(&list);

    assert_int_equal(lleval_list_dir(missing, &list, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "cannot open directory '");
    tu_assert_contains(err.msg, "missing'");
    assert_int_equal(list.n, 0);
    tu_rmtree(dir);
    free(missing);
    free(sub);
    free(dir);
}

static void test_afile(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "part.jsonl");
    char *bad = lleval_path_join(dir, "no/such/dir/part.jsonl");
    struct lleval_afile *f = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    uint64_t size = 99;
    char *text;
    (void)state;

    free(tu_write(NULL, path, "old\n"));
    assert_int_equal(lleval_afile_open(path, "journal", &f, &err), 0);
    assert_int_equal(lleval_afile_size(f, &size, &err), 0);
    assert_int_equal(size, 4); /* opening keeps what was there */
    assert_int_equal(lleval_afile_append(f, "abc\n", 4, &err), 0);
    assert_int_equal(lleval_afile_append(f, "torn", 4, &err), 0);
    assert_int_equal(lleval_afile_sync(f, &err), 0);
    assert_int_equal(lleval_afile_size(f, &size, &err), 0);
    assert_int_equal(size, 12);
    text = tu_read(path);
    assert_string_equal(text, "old\nabc\ntorn");
    free(text);

    /* cut the torn tail; later appends go to the new end */
    assert_int_equal(lleval_afile_truncate(f, 8, &err), 0);
    assert_int_equal(lleval_afile_append(f, "xyz\n", 4, &err), 0);
    assert_int_equal(lleval_afile_append(f, "", 0, &err), 0);
    assert_int_equal(lleval_afile_close(f, &err), 0);
    text = tu_read(path);
    assert_string_equal(text, "old\nabc\nxyz\n");
    free(text);
    assert_int_equal(lleval_afile_close(NULL, &err), 0);

    /* f still holds the closed handle's address: a failed open resets it */
    assert_int_equal(lleval_afile_open(bad, "journal", &f, &err), LLEVAL_EIO);
    assert_null(f);
    tu_assert_contains(err.msg, "cannot open journal '");
    tu_rmtree(dir);
    free(bad);
    free(path);
    free(dir);
}

static void test_lines_offsets(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "lines.txt", "ab\r\ncd\n\nef");
    static const struct {
        const char *text;
        uint64_t end;
        bool torn;
    } want[] = {{"ab", 4, false}, {"cd", 7, false}, {"", 8, false}, {"ef", 10, true}};
    struct lleval_lines lr;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t i = 0;
    (void)state;

    assert_int_equal(lleval_lines_open(&lr, path, &err), 0);
    while (lleval_lines_next(&lr, &err) > 0) {
        assert_true(i < LLEVAL_ARRAY_SIZE(want));
        assert_string_equal(lr.line, want[i].text);
        assert_int_equal(lr.end, want[i].end);
        assert_int_equal(lr.torn, want[i].torn);
        assert_int_equal(lr.lineno, (long)i + 1);
        i++;
    }
    assert_int_equal(i, LLEVAL_ARRAY_SIZE(want));
    lleval_lines_close(&lr);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_files(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "f.txt", "12345");
    char *missing = lleval_path_join(dir, "missing");
    (void)state;

    assert_int_equal(lleval_file_size(path), 5);
    assert_int_equal(lleval_file_size(missing), -1);
    {
        /* a modification time near now (within a day: clocks and file systems differ) */
        int64_t ns = 0, now = (int64_t)time(NULL) * 1000000000;
        assert_int_equal(lleval_file_mtime(path, &ns), 0);
        assert_true(ns > now - INT64_C(86400000000000) && ns < now + INT64_C(86400000000000));
        assert_int_equal(lleval_file_mtime(missing, &ns), -1);
    }
    assert_true(lleval_is_readable(path));
    assert_true(lleval_is_readable(dir));
    assert_false(lleval_is_readable(missing));
    tu_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}

/*
 * Files inside a run directory are opened as what they claim to be: each
 * opener, on a link to a file outside the run and on a FIFO, is refused with
 * a message naming the file, never blocks, and leaves the victim as it was.
 */
enum open_op {
    OP_READ_FILE,
    OP_FOPEN_READ,
    OP_LINES,
    OP_AFILE,
    OP_WRITE_ATOMIC,
    OP_COPY_TO,
    OP_COPY_FROM,
    N_OPS
};

static int open_as(enum open_op op, const char *path, const char *other, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_lines lr;
    struct lleval_afile *af = NULL;
    FILE *f = NULL;
    int rc = 0;

    switch (op) {
    case OP_READ_FILE:
        rc = lleval_read_file(path, &sb, 0, err);
        break;
    case OP_FOPEN_READ:
        rc = lleval_fopen_read(path, &f, err);
        if (f)
            fclose(f);
        break;
    case OP_LINES:
        rc = lleval_lines_open(&lr, path, err);
        if (!rc)
            while (lleval_lines_next(&lr, err) > 0)
                ;
        lleval_lines_close(&lr);
        break;
    case OP_AFILE:
        rc = lleval_afile_open(path, "journal", &af, err);
        if (!rc) /* what a journal repair does */
            rc = lleval_afile_truncate(af, 3, err);
        lleval_afile_close(af, NULL);
        break;
    case OP_WRITE_ATOMIC:
        rc = lleval_write_file_atomic(path, "new\n", 4, err);
        break;
    case OP_COPY_TO:
        rc = lleval_copy_file_atomic(other, path, err);
        break;
    case OP_COPY_FROM:
        rc = lleval_copy_file_atomic(path, other, err);
        break;
    default:
        fail();
    }
    lleval_sb_release(&sb);
    return rc;
}

/* A run directory in dir: its marker files and a results folder. */
static char *make_run_dir(const char *dir)
{
    char *run = lleval_path_join(dir, "runs/run_1");
    char *res = lleval_path_join(run, "results/parts/ds/t0");
    assert_int_equal(lleval_mkdirs(res, NULL), 0);
    free(tu_write(run, "config.resolved.yaml", "model_id: m\n"));
    free(tu_write(run, "manifest.json", "{}\n"));
    free(res);
    return run;
}

static void test_run_dir_refuses_links_and_fifos(void **state)
{
    char *dir = tu_tmpdir();
    char *run = make_run_dir(dir);
    char *victim = tu_write(dir, "victim.txt", "victim line 1\nvictim last line\n");
    char *other = tu_write(run, "results/other.txt", "other\n");
    char *path = lleval_path_join(run, "results/parts/ds/t0/part-001.jsonl");
    (void)state;

#ifdef _WIN32
    const int n_kinds = 1; /* links only: Windows has no FIFOs in the file system */
#else
    const int n_kinds = 2;
#endif
    for (int kind = 0; kind < n_kinds; kind++) {
        for (int op = 0; op < N_OPS; op++) {
            struct lleval_err err = LLEVAL_ERR_INIT;
            char *text;
            if (kind == 0)
                tu_symlink_or_skip(victim, path);
#ifndef _WIN32
            else
                assert_int_equal(mkfifo(path, 0600), 0);
#endif
            assert_int_equal(open_as((enum open_op)op, path, other, &err), LLEVAL_EIO);
            tu_assert_contains(err.msg, path);
            tu_assert_contains(err.msg, kind == 0 ? "is a symbolic link: lleval does not follow"
                                                  : "is a FIFO, not a regular file");
            tu_assert_contains(err.msg, "replace it with the file");
            /* the victim and the link itself are as they were */
            text = tu_read(victim);
            assert_string_equal(text, "victim line 1\nvictim last line\n");
            free(text);
#ifdef _WIN32
            assert_true(tu_is_symlink(path));
#else
            {
                struct stat st;
                assert_int_equal(lstat(path, &st), 0);
                assert_true(kind == 0 ? S_ISLNK(st.st_mode) : S_ISFIFO(st.st_mode));
            }
#endif
            assert_int_equal(remove(path), 0);
        }
    }
    tu_rmtree(dir);
    free(path);
    free(other);
    free(victim);
    free(run);
    free(dir);
}

static void test_outside_run_dir_links_are_followed(void **state)
{
    char *dir = tu_tmpdir();
    char *data = tu_write(dir, "data.jsonl", "a\nb\n");
    char *link = lleval_path_join(dir, "link.jsonl");
    char *manifest_only = lleval_path_join(dir, "ds");
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_lines lr;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    /* a dataset folder may hold a manifest.json: that alone is no run directory */
    assert_int_equal(lleval_mkdirs(manifest_only, NULL), 0);
    free(tu_write(manifest_only, "manifest.json", "{}"));
    free(link);
    link = lleval_path_join(manifest_only, "link.jsonl");
    tu_symlink_or_skip(data, link);
    assert_false(lleval_path_in_run_dir(link));
    assert_int_equal(lleval_read_file(link, &sb, 0, &err), 0);
    assert_string_equal(sb.buf, "a\nb\n");
    assert_int_equal(lleval_lines_open(&lr, link, &err), 0);
    assert_int_equal(lleval_lines_next(&lr, &err), 1);
    assert_string_equal(lr.line, "a");
    lleval_lines_close(&lr);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(manifest_only);
    free(link);
    free(data);
    free(dir);
}

static void test_path_in_run_dir(void **state)
{
    char *dir = tu_tmpdir();
    char *run = make_run_dir(dir);
    char *deep = lleval_path_join(run, "results/parts/ds/t0/part-001.jsonl");
    char *top = lleval_path_join(run, "manifest.json");
    char *beside = lleval_path_join(dir, "runs/x.txt");
    char *lock_run = lleval_path_join(dir, "r2");
    char *in_lock_run = lleval_path_join(lock_run, "state.json");
    (void)state;

    assert_true(lleval_path_in_run_dir(deep));
    assert_true(lleval_path_in_run_dir(top));
    assert_false(lleval_path_in_run_dir(beside));
    /* a run that has its config and lock but no manifest yet */
    assert_int_equal(lleval_mkdirs(lock_run, NULL), 0);
    free(tu_write(lock_run, "config.resolved.yaml", "x: 1\n"));
    assert_false(lleval_path_in_run_dir(in_lock_run));
    free(tu_write(lock_run, "lock", ""));
    assert_true(lleval_path_in_run_dir(in_lock_run));
    tu_rmtree(dir);
    free(in_lock_run);
    free(lock_run);
    free(beside);
    free(top);
    free(deep);
    free(run);
    free(dir);
}

/* A temp file name planted as a link (the atomic writer's "<path>.tmp.<pid>")
 * is removed, not written through. */
static void test_atomic_tmp_is_never_followed(void **state)
{
    char *dir = tu_tmpdir();
    char *victim = tu_write(dir, "victim.txt", "keep me\n");
    char *target = lleval_path_join(dir, "out.json");
    char *tmp = lleval_xasprintf("%s.tmp.%ld", target, lleval_getpid());
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *text;
    (void)state;

    tu_symlink_or_skip(victim, tmp);
    assert_int_equal(lleval_write_file_atomic(target, "new\n", 4, &err), 0);
    text = tu_read(victim);
    assert_string_equal(text, "keep me\n");
    free(text);
    text = tu_read(target);
    assert_string_equal(text, "new\n");
    free(text);
    assert_false(lleval_path_exists(tmp));
    tu_symlink_or_skip(victim, tmp);
    assert_int_equal(lleval_copy_file_atomic(target, victim, &err), 0); /* a plain copy */
    text = tu_read(victim);
    assert_string_equal(text, "new\n");
    free(text);
    tu_rmtree(dir);
    free(tmp);
    free(target);
    free(victim);
    free(dir);
}

/* A file that holds exactly the bytes to write is left as it is (no write,
 * no fsync): a hard link to it still shares its inode afterwards. Other
 * bytes, or a link in its place, are written as ever. */
static void test_atomic_same_bytes_left_alone(void **state)
{
#ifndef _WIN32
    char *dir = tu_tmpdir();
    char *target = lleval_path_join(dir, "out.json");
    char *twin = lleval_path_join(dir, "twin.json");
    char *other = tu_write(dir, "other.txt", "same\n");
    char *lnk = lleval_path_join(dir, "link.txt");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct stat a, b;
    char *text;
    (void)state;

    assert_int_equal(lleval_write_file_atomic(target, "same\n", 5, &err), 0);
    assert_int_equal(link(target, twin), 0);
    assert_int_equal(lleval_write_file_atomic(target, "same\n", 5, &err), 0);
    assert_int_equal(stat(target, &a), 0);
    assert_int_equal(stat(twin, &b), 0);
    assert_true(a.st_ino == b.st_ino);                                        /* not replaced */
    assert_int_equal(lleval_write_file_atomic(target, "sam\n", 4, &err), 0);  /* shorter */
    assert_int_equal(lleval_write_file_atomic(target, "same\n", 5, &err), 0); /* back */
    assert_int_equal(stat(target, &a), 0);
    assert_true(a.st_ino != b.st_ino); /* replaced */
    text = tu_read(twin);
    assert_string_equal(text, "same\n");
    free(text);
    assert_int_equal(lleval_write_file_atomic(target, "sane\n", 5, &err), 0); /* same size */
    text = tu_read(target);
    assert_string_equal(text, "sane\n");
    free(text);
    /* a link (outside a run directory) to a file with these bytes is replaced by a file */
    tu_symlink_or_skip(other, lnk);
    assert_int_equal(lleval_write_file_atomic(lnk, "same\n", 5, &err), 0);
    assert_int_equal(lstat(lnk, &a), 0);
    assert_true(S_ISREG(a.st_mode));
    tu_rmtree(dir);
    free(lnk);
    free(other);
    free(twin);
    free(target);
    free(dir);
#else
    (void)state;
    skip();
#endif
}

/* Sets or (value NULL) unsets an environment variable. */
static void set_env(const char *name, const char *value)
{
    if (value)
        tu_setenv(name, value);
    else
        tu_unsetenv(name);
}

/* An owned copy of an environment variable, NULL when unset. */
static char *save_env(const char *name)
{
    return lleval_xstrdup(getenv(name));
}

#ifndef _WIN32
static void test_executables(void **state)
{
    char *dir = tu_tmpdir();
    char *tool = tu_write(dir, "my-tool", "#!/bin/sh\nexit 0\n");
    char *data = tu_write(dir, "data.txt", "not a program");
    char *old_path = save_env("PATH");
    char *found, *search;
    (void)state;

    assert_int_equal(chmod(tool, 0755), 0);
    assert_true(lleval_is_executable(tool));
    assert_false(lleval_is_executable(data));
    assert_false(lleval_is_executable(dir)); /* a directory is not a program */

    found = lleval_executable_in(dir, "my-tool");
    assert_non_null(found);
    assert_string_equal(found, tool);
    free(found);
    assert_null(lleval_executable_in(dir, "data.txt"));
    assert_null(lleval_executable_in(dir, "absent"));
    assert_null(lleval_executable_in(NULL, "my-tool"));
    assert_null(lleval_executable_in("", "my-tool"));

    /* PATH: empty entries skipped, first match wins */
    search = lleval_xasprintf("::/nonexistent-dir:%s:/bin", dir);
    set_env("PATH", search);
    found = lleval_find_in_path("my-tool");
    assert_non_null(found);
    assert_string_equal(found, tool);
    free(found);
    assert_null(lleval_find_in_path("data.txt"));
    set_env("PATH", NULL);
    assert_null(lleval_find_in_path("my-tool"));
    set_env("PATH", old_path);

    free(search);
    free(old_path);
    tu_rmtree(dir);
    free(data);
    free(tool);
    free(dir);
}
#else
/* Windows: every file is "executable" (no mode bits); a bare name finds "<name>.exe"; PATH
 * entries are separated by ';'. */
static void test_executables(void **state)
{
    char *dir = tu_tmpdir();
    char *tool = tu_write(dir, "my-tool.exe", "MZ");
    char *old_path = save_env("PATH");
    char *found, *search;
    (void)state;

    assert_true(lleval_is_executable(tool));
    assert_false(lleval_is_executable(dir)); /* a directory is not a program */
    found = lleval_executable_in(dir, "my-tool");
    assert_non_null(found);
    assert_string_equal(found, tool);
    free(found);
    found = lleval_executable_in(dir, "my-tool.exe");
    assert_non_null(found);
    assert_string_equal(found, tool);
    free(found);
    assert_null(lleval_executable_in(dir, "absent"));
    assert_null(lleval_executable_in(NULL, "my-tool"));
    assert_null(lleval_executable_in("", "my-tool"));

    /* PATH: empty entries skipped, first match wins */
    search = lleval_xasprintf(";;C:\\nonexistent-dir;%s", dir);
    set_env("PATH", search);
    found = lleval_find_in_path("my-tool");
    assert_non_null(found);
    assert_string_equal(found, tool);
    free(found);
    set_env("PATH", NULL);
    assert_null(lleval_find_in_path("my-tool"));
    set_env("PATH", old_path);

    free(search);
    free(old_path);
    tu_rmtree(dir);
    free(tool);
    free(dir);
}
#endif

#ifndef _WIN32
static void test_llama_cache_bin_dir(void **state)
{
    static const char *const vars[] = {"LLEVAL_CACHE", "XDG_CACHE_HOME", "HOME"};
    static const struct {
        const char *cache, *xdg, *home, *want;
    } cases[] = {
        {"/c", "/x", "/h", "/c/llama.cpp-nlc-3.21.1/bin"},
        {"", "/x", "/h", "/x/lleval/llama.cpp-nlc-3.21.1/bin"},
        {NULL, "/x/", "/h", "/x/lleval/llama.cpp-nlc-3.21.1/bin"},
        {NULL, "", "/h", "/h/.cache/lleval/llama.cpp-nlc-3.21.1/bin"},
        {NULL, NULL, "/h", "/h/.cache/lleval/llama.cpp-nlc-3.21.1/bin"},
        {NULL, NULL, NULL, NULL},
        {"", "", "", NULL},
    };
    char *saved[3];
    (void)state;

    for (size_t v = 0; v < 3; v++)
        saved[v] = save_env(vars[v]);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        char *got;
        set_env("LLEVAL_CACHE", cases[i].cache);
        set_env("XDG_CACHE_HOME", cases[i].xdg);
        set_env("HOME", cases[i].home);
        got = lleval_llama_cache_bin_dir();
        if (!cases[i].want) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].want);
        }
        free(got);
    }
    for (size_t v = 0; v < 3; v++) {
        set_env(vars[v], saved[v]);
        free(saved[v]);
    }
}
#else
/* Windows: $LLEVAL_CACHE, else %LOCALAPPDATA%\lleval (no XDG_CACHE_HOME, no HOME). */
static void test_llama_cache_bin_dir(void **state)
{
    char *saved_cache = save_env("LLEVAL_CACHE"), *saved_local = save_env("LOCALAPPDATA");
    char *got;
    (void)state;
    set_env("LLEVAL_CACHE", "C:\\c");
    got = lleval_llama_cache_bin_dir();
    assert_non_null(got);
    assert_string_equal(got, "C:\\c\\llama.cpp-nlc-3.21.1\\bin");
    free(got);
    set_env("LLEVAL_CACHE", NULL);
    set_env("LOCALAPPDATA", "C:\\l");
    got = lleval_llama_cache_bin_dir();
    assert_non_null(got);
    assert_string_equal(got, "C:\\l\\lleval\\llama.cpp-nlc-3.21.1\\bin");
    free(got);
    set_env("LOCALAPPDATA", NULL);
    assert_null(lleval_llama_cache_bin_dir());
    set_env("LLEVAL_CACHE", saved_cache);
    set_env("LOCALAPPDATA", saved_local);
    free(saved_cache);
    free(saved_local);
}
#endif

/* A function of a library the program started with is found (POSIX; Windows
 * looks nothing up); no name is made up. */
static void test_dl_sym_loaded(void **state)
{
    (void)state;
#ifdef _WIN32
    assert_null(lleval_dl_sym_loaded("malloc"));
#else
    assert_non_null(lleval_dl_sym_loaded("malloc"));
#endif
    assert_null(lleval_dl_sym_loaded("lleval_no_such_function_anywhere"));
}

static void test_free_port(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int port = lleval_free_loopback_port("a test", &err);
    (void)state;
    assert_true(port > 0 && port < 65536);
}

/* Joined paths keep one separator; the part of a path under a directory;
 * artifacts' relative paths use '/' on every platform. */
static void test_path_parts(void **state)
{
    char *p;
    (void)state;
    p = lleval_path_join("runs", "r1/parts/x.json");
    assert_string_equal(p, "runs/r1/parts/x.json");
    free(p);
    p = lleval_path_join("runs/", "r1");
    assert_string_equal(p, "runs/r1");
    free(p);
    assert_string_equal(lleval_path_basename("a/b/c.csv"), "c.csv");
    assert_string_equal(lleval_path_basename("c.csv"), "c.csv");
    assert_string_equal(lleval_path_basename("a/"), "");
    assert_string_equal(lleval_path_under("runs/r1", "runs/r1/parts/x"), "parts/x");
    assert_string_equal(lleval_path_under("runs/r1/", "runs/r1/parts/x"), "parts/x");
    assert_string_equal(lleval_path_under("/", "/etc"), "etc");
    assert_null(lleval_path_under("runs/r1", "runs/r10/x"));
    assert_null(lleval_path_under("runs/r1", "runs/r1"));
    assert_null(lleval_path_under("runs/r1", "other/r1/x"));
    p = lleval_path_portable("a/b");
    assert_string_equal(p, "a/b");
    free(p);
#ifdef _WIN32
    p = lleval_path_join("C:\\Users\\Zo\xc3\xab\\evals", "runs/r1/x.json");
    assert_string_equal(p, "C:\\Users\\Zo\xc3\xab\\evals\\runs\\r1\\x.json");
    free(p);
    p = lleval_path_join("a\\b", "D:\\x");
    assert_string_equal(p, "D:\\x");
    free(p);
    assert_string_equal(lleval_path_basename("C:\\data\\mmlu\\x_test.csv"), "x_test.csv");
    assert_string_equal(lleval_path_basename("C:x.csv"), "x.csv");
    assert_string_equal(lleval_path_basename("runs/r1\\a.csv"), "a.csv");
    assert_string_equal(lleval_path_under("C:\\e\\runs", "C:\\e\\runs\\r1\\a"), "r1\\a");
    assert_string_equal(lleval_path_under("C:\\", "C:\\e"), "e");
    p = lleval_path_portable("parts\\d1\\t0\\state.json");
    assert_string_equal(p, "parts/d1/t0/state.json");
    free(p);
#else
    /* a backslash is part of a file name on POSIX */
    assert_string_equal(lleval_path_basename("a/b\\c"), "b\\c");
    p = lleval_path_portable("a\\b");
    assert_string_equal(p, "a\\b");
    free(p);
#endif
}

#ifndef _WIN32
/* SIGINT and SIGTERM count up through the handler, capped at 100; reset clears. POSIX only:
 * on Windows the count comes from a console control handler, which a test cannot call. */
static void test_stop_signal(void **state)
{
    struct sigaction old_int, old_term;
    (void)state;
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    lleval_stop_signal_reset();
    assert_int_equal(lleval_stop_signal(), 0);
    lleval_install_stop_handlers();
    assert_int_equal(lleval_stop_signal(), 0);
    raise(SIGINT);
    assert_int_equal(lleval_stop_signal(), 1);
    raise(SIGTERM);
    assert_int_equal(lleval_stop_signal(), 2);
    for (int i = 0; i < 150; i++)
        raise(SIGINT);
    assert_int_equal(lleval_stop_signal(), 100);
    lleval_stop_signal_reset();
    assert_int_equal(lleval_stop_signal(), 0);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_true_false),
        cmocka_unit_test(test_spawn_poll),
        cmocka_unit_test(test_spawn_log_append_truncate),
        cmocka_unit_test(test_spawn_missing_binary),
        cmocka_unit_test(test_terminate),
#ifndef _WIN32
        cmocka_unit_test(test_wait_signaled),
#endif
        cmocka_unit_test(test_tu_child),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_list_dir),
        cmocka_unit_test(test_afile),
        cmocka_unit_test(test_lines_offsets),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_run_dir_refuses_links_and_fifos),
        cmocka_unit_test(test_outside_run_dir_links_are_followed),
        cmocka_unit_test(test_path_in_run_dir),
        cmocka_unit_test(test_atomic_tmp_is_never_followed),
        cmocka_unit_test(test_atomic_same_bytes_left_alone),
        cmocka_unit_test(test_executables),
        cmocka_unit_test(test_llama_cache_bin_dir),
        cmocka_unit_test(test_dl_sym_loaded),
        cmocka_unit_test(test_free_port),
        cmocka_unit_test(test_path_parts),
#ifndef _WIN32
        cmocka_unit_test(test_stop_signal),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
