/*
 * Windows counterparts of test_platform_proc.c (POSIX processes, locks and
 * signals) and the Windows-only parts of the platform layer
 * (lib/platform/win32*.c); built on Windows only (tests/CMakeLists.txt), run
 * under Wine by `scripts/build-windows.sh --test` (`make check`). It is its
 * own child too: "child-*" first arguments are the roles the tests start it in.
 *
 * Covered: the argv round trip through a real CreateProcessW child (spaces,
 * quotes, backslashes, non-ASCII, an empty argument, a binary under a
 * "Zoë dir"), exit codes, UTF-8 paths with "Zoë" created, listed, replaced,
 * renamed and locked, the lock refused to another process and released by
 * its death, atomic replace, append + flush + truncate, a link refused inside
 * a run directory, the Job object killing a tied child when its parent is
 * killed, process identities, the monotonic clock, a free port, paths with
 * both slashes, Ctrl-C and Ctrl-Break counted as stops in a console of their own.
 *
 * Where Wine differs from Windows it is said at the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

/* cmocka's assertions under the names the cases were written with */
#define CHECK(cond) assert_true(cond)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        assert_non_null(a_);                                                                       \
        assert_non_null(b_);                                                                       \
        assert_string_equal(a_, b_);                                                               \
    } while (0)

#define ZOE "Zo\xC3\xAB" /* Zoë in UTF-8 */

static char *self_path(void)
{
    wchar_t w[MAX_PATH * 4];
    int n = MultiByteToWideChar(CP_UTF8, 0, "", -1, NULL, 0);
    char *s;
    (void)n;
    GetModuleFileNameW(NULL, w, MAX_PATH * 4);
    n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    s = lleval_xmalloc((size_t)n);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

/* Waits up to ms for cond() to hold; the condition is polled every 20 ms. */
static bool wait_for(bool (*cond)(const void *), const void *arg, long ms)
{
    double deadline = lleval_monotonic() + (double)ms / 1000.0;
    while (!cond(arg)) {
        if (lleval_monotonic() >= deadline)
            return false;
        lleval_sleep_ms(20);
    }
    return true;
}

/* ---- child roles ---------------------------------------------------------------- */

static int child_ctrl(bool brk);

static int child(int argc, char **argv)
{
    if (!strcmp(argv[1], "child-argv")) { /* one argument a line, as received */
        for (int i = 2; i < argc; i++)
            printf("[%s]\n", argv[i]);
        return 0;
    }
    if (!strcmp(argv[1], "child-exit"))
        return 7;
    if (!strcmp(argv[1], "child-ctrl-c"))
        return child_ctrl(false);
    if (!strcmp(argv[1], "child-ctrl-break"))
        return child_ctrl(true);
    if (!strcmp(argv[1], "child-sleep")) {
        lleval_sleep_ms(120000);
        return 0;
    }
    if (!strcmp(argv[1], "child-lock") && argc > 2) { /* holds a lock until killed */
        struct lleval_lock *lock;
        struct lleval_err err = LLEVAL_ERR_INIT;
        long holder;
        if (lleval_lock_acquire(argv[2], &lock, &holder, &err))
            return 3;
        lleval_sleep_ms(120000);
        return 0;
    }
    if (!strcmp(argv[1], "child-tie") && argc > 3) {
        /* starts a sleeper tied to this process, writes its pid, then waits
         * to be killed */
        char *exe = self_path();
        char *args[] = {exe, "child-sleep", NULL};
        long pid;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char buf[32];
        if (lleval_proc_spawn(exe, args, argv[2], LLEVAL_SPAWN_DIE_WITH_PARENT, &pid, &err))
            return 3;
        snprintf(buf, sizeof(buf), "%ld\n", pid);
        if (lleval_write_file_atomic(argv[3], buf, strlen(buf), &err))
            return 4;
        lleval_sleep_ms(120000);
        return 0;
    }
    return 2;
}

/* ---- tests ---------------------------------------------------------------------- */

static char *root; /* the test folder, under a "Zoë" name */
static char *exe;  /* this program */

static void test_argv_round_trip(void **state)
{
    static const char *const args[] = {
        "plain",
        "two words",
        "say \"hi\"",
        "trailing\\",
        "C:\\" ZOE " dir\\",
        "",
        "back\\\"q",
        "\xE6\x97\xA5\xE6\x9C\xAC",
        "a=\"b c\"",
        "\\\\srv\\share\\",
        "tab\there",
    };
    char *dir = lleval_path_join(root, ZOE " dir");
    char *copy = lleval_path_join(dir, "t.exe"), *log = lleval_path_join(root, "argv.log");
    char *argv[32];
    size_t n = 0;
    struct lleval_proc_exit ex = {0};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lines lr;
    size_t line = 0;
    int rc;

    /* the binary itself lives under a non-ASCII folder with a space */
    CHECK(!lleval_mkdirs(dir, &err));
    CHECK(!lleval_copy_file_atomic(exe, copy, &err));
    argv[n++] = copy;
    argv[n++] = "child-argv";
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(args); i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    rc = lleval_proc_run(copy, argv, log, 0, &ex, &err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  %s\n", err.msg);
    CHECK(!ex.signaled && ex.code == 0);
    CHECK(!lleval_lines_open(&lr, log, &err));
    while (lleval_lines_next(&lr, &err) == 1) {
        char want[256];
        if (line < LLEVAL_ARRAY_SIZE(args)) {
            snprintf(want, sizeof(want), "[%s]", args[line]);
            CHECK_STR(lr.line, want);
        }
        line++;
    }
    lleval_lines_close(&lr);
    CHECK(line == LLEVAL_ARRAY_SIZE(args));

    /* exit codes come back; a missing binary is an error with its name */
    {
        char *a2[] = {copy, "child-exit", NULL};
        CHECK(!lleval_proc_run(copy, a2, log, LLEVAL_SPAWN_APPEND_LOG, &ex, &err));
        CHECK(ex.code == 7);
        a2[0] = "C:\\no\\such.exe";
        CHECK(lleval_proc_run(a2[0], a2, log, 0, &ex, &err) == LLEVAL_EIO);
        CHECK(strstr(err.msg, "cannot start 'C:\\no\\such.exe'") != NULL);
    }
    free(dir);
    free(copy);
    free(log);
}

static void test_utf8_files(void **state)
{
    char *dir = lleval_path_join(root, ZOE "\\sub/deeper");
    char *a = lleval_path_join(dir, "\xC3\xA4.txt"), *b = lleval_path_join(dir, "b.txt");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_dir_list list;

    CHECK(!lleval_mkdirs(dir, &err));
    CHECK(lleval_is_dir(dir) && lleval_is_real_dir(dir));
    CHECK(!lleval_write_file_atomic(a, "one", 3, &err));
    CHECK(!lleval_write_file_atomic(a, "second", 6, &err)); /* replaces */
    CHECK(lleval_file_size(a) == 6);
    CHECK(!lleval_read_file(a, &sb, 0, &err));
    CHECK_STR(sb.buf, "second");
    CHECK(!lleval_write_file_atomic(b, "bee", 3, &err));
    CHECK(!lleval_list_dir(dir, &list, &err));
    CHECK(list.n == 2);
    if (list.n == 2) { /* byte order: 'b' (0x62) before 0xC3 */
        CHECK_STR(list.names[0], "b.txt");
        CHECK_STR(list.names[1], "\xC3\xA4.txt");
    }
    lleval_dir_list_release(&list);
    /* rename over an existing file replaces it */
    CHECK(lleval_rename(b, a) == 0);
    CHECK(!lleval_path_exists(b));
    lleval_sb_reset(&sb);
    CHECK(!lleval_read_file(a, &sb, 0, &err));
    CHECK_STR(sb.buf, "bee");
    CHECK(lleval_read_file(a, &sb, 2, &err) == LLEVAL_EINVAL);
    /* no temp file left behind */
    CHECK(!lleval_list_dir(dir, &list, &err));
    CHECK(list.n == 1);
    lleval_dir_list_release(&list);
    lleval_sb_release(&sb);
    free(a);
    free(b);
    free(dir);
}

static bool lock_held(const void *path)
{
    return lleval_lock_is_held(path);
}

static bool lock_free(const void *path)
{
    return !lleval_lock_is_held(path);
}

static void test_locks(void **state)
{
    char *path = lleval_path_join(root, ZOE "\\lock"), *path2 = lleval_path_join(root, "lock2");
    char *log = lleval_path_join(root, "lock.log");
    struct lleval_lock *lock = NULL, *again = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    long holder = -1, pid = 0;
    char *args[] = {(char *)exe, "child-lock", path2, NULL};

    CHECK(!lleval_lock_is_held(path));
    CHECK(lleval_lock_acquire(path, &lock, &holder, &err) == 0);
    CHECK(lleval_lock_is_held(path));
    CHECK(lleval_lock_owner(path) == lleval_getpid());
    /* another handle of this process is refused too, and named */
    CHECK(lleval_lock_acquire(path, &again, &holder, &err) == 1);
    CHECK(holder == lleval_getpid());
    lleval_lock_release(lock);
    CHECK(!lleval_lock_is_held(path));
    CHECK(lleval_lock_owner(path) == 0);

    /* held by another process: refused, its pid named; released by its death */
    CHECK(!lleval_proc_spawn(exe, args, log, 0, &pid, &err));
    CHECK(wait_for(lock_held, path2, 20000));
    CHECK(lleval_lock_acquire(path2, &again, &holder, &err) == 1);
    CHECK(holder == pid);
    lleval_proc_terminate(pid, 0); /* TerminateProcess: no release by the holder */
    CHECK(wait_for(lock_free, path2, 20000));
    CHECK(lleval_lock_acquire(path2, &again, &holder, &err) == 0);
    lleval_lock_release(again);
    free(path);
    free(path2);
    free(log);
}

static void test_append(void **state)
{
    char *path = lleval_path_join(root, ZOE "\\journal.jsonl");
    struct lleval_afile *f;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    uint64_t size = 0;

    CHECK(!lleval_afile_open(path, "journal", &f, &err));
    CHECK(!lleval_afile_append(f, "a\n", 2, &err));
    CHECK(!lleval_afile_append(f, "bb\n", 3, &err));
    CHECK(!lleval_afile_sync(f, &err));
    CHECK(!lleval_afile_size(f, &size, &err) && size == 5);
    CHECK(!lleval_afile_truncate(f, 2, &err));
    CHECK(!lleval_afile_append(f, "c", 1, &err)); /* torn tail, at the new end */
    CHECK(!lleval_afile_close(f, &err));
    CHECK(!lleval_afile_open(path, "journal", &f, &err)); /* reopened: appends at the end */
    CHECK(!lleval_afile_append(f, "\n", 1, &err));
    CHECK(!lleval_afile_close(f, &err));
    CHECK(!lleval_read_file(path, &sb, 0, &err));
    CHECK_STR(sb.buf, "a\nc\n");
    lleval_sb_release(&sb);
    free(path);
}

static void test_run_dir_links(void **state)
{
    char *run = lleval_path_join(root, "run"), *target = lleval_path_join(root, "elsewhere.txt");
    char *link = lleval_path_join(run, "state.json"),
         *cfg = lleval_path_join(run, "config.resolved.yaml");
    char *lock = lleval_path_join(run, "lock");
    struct lleval_err err = LLEVAL_ERR_INIT;
    wchar_t wlink[MAX_PATH], wtarget[MAX_PATH];
    FILE *f = NULL;

    CHECK(!lleval_mkdirs(run, &err));
    CHECK(!lleval_write_file_atomic(cfg, "x", 1, &err));
    CHECK(!lleval_write_file_atomic(lock, "", 0, &err));
    CHECK(!lleval_write_file_atomic(target, "secret", 6, &err));
    CHECK(lleval_path_in_run_dir(link));
    CHECK(!lleval_path_in_run_dir(target));
    MultiByteToWideChar(CP_UTF8, 0, link, -1, wlink, MAX_PATH);
    MultiByteToWideChar(CP_UTF8, 0, target, -1, wtarget, MAX_PATH);
    /* Windows needs Developer Mode (or the privilege) for unprivileged links */
    /* Wine 8's CreateSymbolicLinkW returns TRUE and creates nothing: the
     * link is looked for before it is used */
    if (!CreateSymbolicLinkW(wlink, wtarget, SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE) ||
        GetFileAttributesW(wlink) == INVALID_FILE_ATTRIBUTES) {
        printf("skip: cannot create a symbolic link here (Wine, or Windows without Developer "
               "Mode)\n");
    } else {
        CHECK(lleval_fopen_read(link, &f, &err) == LLEVAL_EIO);
        CHECK(strstr(err.msg, "is a symbolic link") != NULL);
        CHECK(lleval_write_file_atomic(link, "y", 1, &err) == LLEVAL_EIO);
        /* outside a run directory a link is followed */
        CHECK(!lleval_fopen_read(target, &f, &err));
        if (f)
            fclose(f);
    }
    /* a folder where a file should be */
    {
        char *sub = lleval_path_join(run, "manifest.json");
        CHECK(!lleval_mkdirs(sub, &err));
        CHECK(lleval_fopen_read(sub, &f, &err) == LLEVAL_EIO);
        CHECK(strstr(err.msg, "is a directory, not a regular file") != NULL);
        free(sub);
    }
    free(run);
    free(target);
    free(link);
    free(cfg);
    free(lock);
}

static bool pid_file_written(const void *path)
{
    return lleval_file_size(path) > 0;
}

static bool proc_gone(const void *id)
{
    return !lleval_proc_is_alive(id);
}

static void test_job_kill(void **state)
{
    char *log = lleval_path_join(root, "tie.log"), *pidf = lleval_path_join(root, "tie.pid");
    char *args[] = {(char *)exe, "child-tie", log, pidf, NULL};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_proc_id sleeper = {0};
    long parent = 0, pid = 0;
    char *end;

    CHECK(!lleval_proc_spawn(exe, args, log, 0, &parent, &err));
    CHECK(wait_for(pid_file_written, pidf, 20000));
    CHECK(!lleval_read_file(pidf, &sb, 64, &err));
    pid = strtol(sb.buf, &end, 10);
    CHECK(pid > 0);
    CHECK(!lleval_proc_identify(pid, &sleeper));
    CHECK(lleval_proc_is_alive(&sleeper));
    /* the parent dies without a word (TerminateProcess, as a kill -9): its
     * job handle closes, and KILL_ON_JOB_CLOSE takes the sleeper with it */
    lleval_proc_terminate(parent, 0);
    CHECK(wait_for(proc_gone, &sleeper, 20000));
    if (lleval_proc_is_alive(&sleeper)) {
        printf("note: the tied child outlived its parent (Wine without job kill-on-close?)\n");
        lleval_proc_terminate_other(&sleeper, 1000);
    }
    lleval_sb_release(&sb);
    free(log);
    free(pidf);
}

static void test_identity_and_clock(void **state)
{
    struct lleval_proc_id me = {0}, other;
    char buf[128];
    struct lleval_proc_exit ex = {false, (int)0xC0000135u};
    struct lleval_err err = LLEVAL_ERR_INIT;
    double t0 = lleval_monotonic(), t1;
    int port;

    CHECK(!lleval_proc_identify(lleval_getpid(), &me));
    CHECK(me.start != 0 && lleval_proc_is_alive(&me));
    other = me;
    other.start++;
    CHECK(!lleval_proc_is_alive(&other));           /* same pid, another start: not it */
    CHECK(!lleval_proc_terminate_other(&other, 0)); /* and never touched */
    CHECK(lleval_pid_alive(lleval_getpid()));
    CHECK(strstr(lleval_proc_describe(&ex, buf, sizeof(buf)), "0xC0000135") != NULL);

    lleval_sleep_ms(50);
    t1 = lleval_monotonic();
    CHECK(t1 - t0 >= 0.045 && t1 - t0 < 10);
    CHECK(lleval_now() > 1.6e9);
    CHECK_STR(lleval_fmt_utc(buf, sizeof(buf), 0), "1970-01-01T00:00:00Z");

    port = lleval_free_loopback_port("test", &err);
    CHECK(port > 0 && port < 65536);

    {
        uint64_t busy, total, kib, mem;
        CHECK(!lleval_host_cpu_times(&busy, &total) && busy <= total);
        CHECK(!lleval_proc_rss_kib(lleval_getpid(), &kib) && kib > 0);
        CHECK(!lleval_host_mem_bytes(&mem) && mem > 0);
    }
}

static void test_paths(void **state)
{
    char *s;
    CHECK_STR(s = lleval_path_join("C:\\a", "b"), "C:\\a\\b");
    free(s);
    CHECK_STR(s = lleval_path_join("C:/a/", "b"), "C:/a/b");
    free(s);
    CHECK_STR(s = lleval_path_join("C:\\a", "D:\\x"), "D:\\x");
    free(s);
    CHECK_STR(s = lleval_path_join("a", "/x"), "/x");
    free(s);
    CHECK_STR(s = lleval_path_dirname("C:\\a\\b.txt"), "C:\\a");
    free(s);
    CHECK_STR(s = lleval_path_dirname("C:/a/b.txt"), "C:/a");
    free(s);
    CHECK_STR(s = lleval_path_dirname("C:\\b.txt"), "C:\\");
    free(s);
    CHECK_STR(s = lleval_path_dirname("b.txt"), ".");
    free(s);
    CHECK_STR(s = lleval_path_dirname("\\\\srv\\share\\f"), "\\\\srv\\share\\");
    free(s);
    CHECK_STR(s = lleval_path_dirname("/x"), "/");
    free(s);
}

static bool stop_seen(const void *unused)
{
    (void)unused;
    return lleval_stop_signal() >= 1;
}

/* Starts this program in a console of its own (CREATE_NEW_CONSOLE: the
 * control events reach only the processes attached to one console) in the
 * role given, plus flags; returns its exit code, -1 when it could not start or
 * did not end within 60 s. */
static long run_in_new_console(const char *role, DWORD flags)
{
    char *cmd = lleval_xasprintf("\"%s\" %s", exe, role);
    int n = MultiByteToWideChar(CP_UTF8, 0, cmd, -1, NULL, 0);
    wchar_t *w = lleval_xmalloc((size_t)n * sizeof(wchar_t));
    STARTUPINFOW si = {.cb = sizeof(si)};
    PROCESS_INFORMATION pi;
    DWORD code = 0;
    long rc = -1;
    MultiByteToWideChar(CP_UTF8, 0, cmd, -1, w, n);
    if (CreateProcessW(NULL, w, NULL, NULL, FALSE, CREATE_NEW_CONSOLE | flags, NULL, NULL, &si,
                       &pi)) {
        if (WaitForSingleObject(pi.hProcess, 60000) == WAIT_OBJECT_0 &&
            GetExitCodeProcess(pi.hProcess, &code))
            rc = (long)code;
        else
            TerminateProcess(pi.hProcess, 1);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    free(w);
    free(cmd);
    return rc;
}

/* Wine's ntdll exports wine_get_version; Windows' does not. */
static bool under_wine(void)
{
    return GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL;
}

/* The child side: with lleval's stop handlers installed, sends the event to
 * its own console (Ctrl-C to every process of it; Ctrl-Break to its own
 * process group) and exits 130 when the handler counted exactly one stop, as
 * lleval exits after SIGINT; 3 when there was no console, 1 when nothing was
 * counted in 20 s. */
static int child_ctrl(bool brk)
{
    lleval_stop_signal_reset();
    lleval_install_stop_handlers();
    if (!GenerateConsoleCtrlEvent(brk ? CTRL_BREAK_EVENT : CTRL_C_EVENT,
                                  brk ? GetCurrentProcessId() : 0))
        return 3;
    if (!wait_for(stop_seen, NULL, 20000))
        return 1;
    lleval_sleep_ms(100); /* a second event would show here */
    return lleval_stop_signal() == 1 ? 130 : 4;
}

/* Ctrl-C and Ctrl-Break count as a stop, as SIGINT does (cli: exit 130,
 * resumable). A child in a console of its own sends them to itself, so this
 * test's own console (ctest's pipe under Wine has none) does not matter.
 * Wine: Ctrl-C reaches the handler; Ctrl-Break to a process group is refused
 * by Wine 8 (GenerateConsoleCtrlEvent fails, the child exits 3): said and not
 * failed there, required on Windows. A closing console (CTRL_CLOSE_EVENT)
 * cannot be sent by a program; the handler treats it as Ctrl-C. */
static void test_ctrl_c(void **state)
{
    long brk;
    assert_int_equal(run_in_new_console("child-ctrl-c", 0), 130);
    brk = run_in_new_console("child-ctrl-break", CREATE_NEW_PROCESS_GROUP);
    if (brk == 3 && under_wine()) {
        print_message("Wine refuses Ctrl-Break to a process group; checked on Windows only\n");
        return;
    }
    assert_int_equal(brk, 130);
}

static void test_dl(void **state)
{
    char why[256] = "";
    void *lib = lleval_dl_open("kernel32.dll", why, sizeof(why));
    CHECK(lib != NULL);
    CHECK(lleval_dl_sym(lib, "GetTickCount64") != NULL);
    lleval_dl_close(lib);
    CHECK(lleval_dl_open("no-such-library-lleval.dll", why, sizeof(why)) == NULL);
    CHECK(strstr(why, "no-such-library-lleval.dll") != NULL);
}

static int setup(void **state)
{
    wchar_t wtmp[MAX_PATH];
    char t[MAX_PATH * 4];
    struct lleval_err err = LLEVAL_ERR_INIT;
    GetTempPathW(MAX_PATH, wtmp);
    WideCharToMultiByte(CP_UTF8, 0, wtmp, -1, t, sizeof(t), NULL, NULL);
    root = lleval_xasprintf("%slleval-win32-" ZOE "-%ld", t, lleval_getpid());
    if (lleval_mkdirs(root, &err)) {
        fprintf(stderr, "cannot create the test folder: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc = lleval_remove_tree(root, &err);
    if (rc || lleval_path_exists(root)) {
        fprintf(stderr, "cannot remove the test folder: %s\n", err.msg);
        rc = -1;
    }
    free(root);
    return rc;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),      cmocka_unit_test(test_argv_round_trip),
        cmocka_unit_test(test_utf8_files), cmocka_unit_test(test_locks),
        cmocka_unit_test(test_append),     cmocka_unit_test(test_run_dir_links),
        cmocka_unit_test(test_job_kill),   cmocka_unit_test(test_identity_and_clock),
        cmocka_unit_test(test_dl),         cmocka_unit_test(test_ctrl_c),
    };
    int rc;
    lleval_process_init(&argc, &argv);
    if (argc > 1 && !strncmp(argv[1], "child-", 6))
        return child(argc, argv);
    exe = self_path();
    rc = cmocka_run_group_tests(tests, setup, teardown);
    free(exe);
    return rc;
}
