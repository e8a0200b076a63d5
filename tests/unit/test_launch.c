/*
 * Unit tests for the managed llama-server (launch.h): the argument vector,
 * finding the binary, free ports, and the process life cycle (start, health
 * wait, crash and restart, max_restarts, early exit quoting the log, a port
 * taken at bind time, a health timeout, stop, the orphan check by pid and
 * start id) against a fake llama-server (tests/unit/tu_fake_llama.c, built as
 * llama-server[.exe] in TU_FAKE_LLAMA_DIR), so no real server is needed. The
 * same cases run on POSIX and on Windows (under Wine too); where Windows
 * differs (no signals, no execute bit) the case says so. The real server is
 * exercised by tests/cli/test_llamacpp_*.sh, tests/cli/test_orphan.sh and
 * tests/wine/test_wine_llamacpp.sh.
 */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/stat.h>
#endif
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/engine/launch.h"
#include "lleval/util/util.h"

/* The server's file name: on Windows "llama-server" is found as llama-server.exe. */
#ifdef _WIN32
#define SERVER_FILE "llama-server.exe"
#else
#define SERVER_FILE "llama-server"
#endif

/* How a server ended by tu_kill(pid, 9) and (pid, 15) is described: Windows has no signals, and
 * tu_kill terminates the process with exit status 128 + the signal's number there. */
#ifdef _WIN32
#define DIED_SIGKILL "exit status 137"
#define DIED_SIGTERM "exit status 143"
#else
#define DIED_SIGKILL "killed by signal 9"
#define DIED_SIGTERM "killed by signal 15"
#endif

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = lleval_xstrdup(value);
}

/* The argv joined by spaces, without argv[0] (owned). */
static char *joined(char **argv)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (char **a = argv + 1; *a; a++)
        lleval_sb_addf(&sb, "%s%s", a == argv + 1 ? "" : " ", *a);
    return lleval_sb_detach(&sb, NULL);
}

static void test_argv_defaults(void **state)
{
    struct lleval_config cfg;
    char **argv;
    char *s;
    size_t argc = 0;
    (void)state;
    lleval_config_init(&cfg);
    set_str(&cfg.launch.model, "models/m.gguf");
    cfg.launch.enabled = true;
    cfg.max_concurrent_jobs = 3;
    cfg.context_length = 4096;
    assert_int_equal(lleval_launch_parallel(&cfg), 3);
    assert_int_equal(lleval_launch_ctx_size(&cfg), 12288);
    argv = lleval_launch_argv(&cfg, "/opt/llama-server", 1234, &argc);
    assert_string_equal(argv[0], "/opt/llama-server");
    s = joined(argv);
    assert_string_equal(s,
                        "-m models/m.gguf --host 127.0.0.1 --port 1234 -c 12288 -np 3 --metrics");
    assert_int_equal(argc, 12);
    assert_null(argv[argc]);
    free(s);
    lleval_launch_argv_free(argv);
    lleval_config_release(&cfg);
}

static void test_argv_explicit(void **state)
{
    struct lleval_config cfg;
    char **argv;
    char *s;
    (void)state;
    lleval_config_init(&cfg);
    set_str(&cfg.launch.model, "a b.gguf");
    cfg.max_concurrent_jobs = 4;
    cfg.launch.parallel = 2;
    cfg.launch.ctx_size = 8192;
    cfg.launch.gpu_layers = 0;
    cfg.launch.extra_args = lleval_xcalloc(2, sizeof(char *));
    cfg.launch.extra_args[0] = lleval_xstrdup("--flash-attn");
    cfg.launch.extra_args[1] = lleval_xstrdup("on");
    cfg.launch.n_extra_args = 2;
    assert_int_equal(lleval_launch_parallel(&cfg), 2);
    assert_int_equal(lleval_launch_ctx_size(&cfg), 8192);
    argv = lleval_launch_argv(&cfg, "llama-server", 80, NULL);
    s = joined(argv);
    /* one argument per element, never a shell: "a b.gguf" stays one */
    assert_string_equal(argv[2], "a b.gguf");
    assert_string_equal(
        s, "-m a b.gguf --host 127.0.0.1 --port 80 -c 8192 -np 2 -ngl 0 --metrics --flash-attn on");
    free(s);
    lleval_launch_argv_free(argv);
    lleval_config_release(&cfg);
}

/* Makes dir/llama-server, a file that is never run (find_binary only looks): an executable
 * script on POSIX (not executable unless exec); llama-server.exe on Windows, where every file
 * counts as executable (so exec must be true there). Returns the owned path. */
static char *make_server(const char *dir, bool exec)
{
#ifdef _WIN32
    assert_true(exec);
    return tu_write(dir, SERVER_FILE, "MZ");
#else
    char *path = tu_write(dir, SERVER_FILE, "#!/bin/sh\n");
    assert_int_equal(chmod(path, exec ? 0755 : 0644), 0);
    return path;
#endif
}

static void test_find_binary(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *tmp = tu_tmpdir();
    char *envdir = lleval_path_join(tmp, "env");
    char *pathdir = lleval_path_join(tmp, "path");
    char *cache = lleval_path_join(tmp, "cache");
    char *cachebin = lleval_path_join(cache, "llama.cpp-nlc-3.21.1/bin");
    char *noexec = lleval_path_join(tmp, "noexec");
    char *old_path = lleval_xstrdup(getenv("PATH"));
    char *p, *want;
    (void)state;

    assert_int_equal(lleval_mkdirs(envdir, NULL), 0);
    assert_int_equal(lleval_mkdirs(pathdir, NULL), 0);
    assert_int_equal(lleval_mkdirs(cachebin, NULL), 0);
    assert_int_equal(lleval_mkdirs(noexec, NULL), 0);
    free(make_server(envdir, true));
    free(make_server(pathdir, true));
    free(make_server(cachebin, true));
#ifndef _WIN32
    /* Windows has no execute bit: there noexec stays empty, and its llama-server.exe below is a
     * file that does not exist, which is "not an executable file" on both systems */
    free(make_server(noexec, false));
#endif
    tu_setenv("LLEVAL_CACHE", cache);

    /* explicit: a directory, a file, a file that is not executable */
    p = lleval_launch_find_binary(envdir, &err);
    want = lleval_path_join(envdir, SERVER_FILE);
    assert_non_null(p);
    assert_string_equal(p, want);
    free(p);
    p = lleval_launch_find_binary(want, &err);
    assert_string_equal(p, want);
    free(p);
    free(want);
    want = lleval_path_join(noexec, SERVER_FILE);
    assert_null(lleval_launch_find_binary(want, &err));
    assert_int_equal(err.code, LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "is not an executable file");
    free(want);
    assert_null(lleval_launch_find_binary(noexec, &err));
    tu_assert_contains(err.msg, "without an executable llama-server");

    /* $LLEVAL_LLAMA_BIN_DIR, then PATH, then the cache */
    tu_setenv("LLEVAL_LLAMA_BIN_DIR", envdir);
    tu_setenv("PATH", pathdir);
    p = lleval_launch_find_binary(NULL, &err);
    tu_assert_path_contains(p, "/env/" SERVER_FILE);
    free(p);
    tu_unsetenv("LLEVAL_LLAMA_BIN_DIR");
    p = lleval_launch_find_binary(NULL, &err);
    tu_assert_path_contains(p, "/path/" SERVER_FILE);
    free(p);
    tu_setenv("PATH", noexec);
    p = lleval_launch_find_binary(NULL, &err);
    tu_assert_path_contains(p, "/cache/llama.cpp-nlc-3.21.1/bin/" SERVER_FILE);
    free(p);

    /* nowhere: the message names the cache and the provisioning script */
    tu_setenv("LLEVAL_CACHE", noexec);
    assert_null(lleval_launch_find_binary(NULL, &err));
    tu_assert_contains(err.msg, "scripts/provision-llama.sh");
    tu_assert_path_contains(err.msg, "noexec/llama.cpp-nlc-3.21.1/bin");

    tu_setenv("PATH", old_path ? old_path : "/usr/bin:/bin");
    tu_unsetenv("LLEVAL_CACHE");
    free(old_path);
    free(envdir);
    free(pathdir);
    free(cache);
    free(cachebin);
    free(noexec);
    tu_rmtree(tmp);
    free(tmp);
}

static void test_free_port(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int port = lleval_launch_free_port(&err);
    (void)state;
    assert_true(port > 0 && port < 65536);
}

struct fake {
    char *tmp, *model, *log;
    struct lleval_config cfg;
};

static void fake_setup(struct fake *f, const char *mode, long max_restarts)
{
    f->tmp = tu_tmpdir();
    f->model = tu_write(f->tmp, "m.gguf", "GGUF");
    f->log = lleval_path_join(f->tmp, "llama-server.log");
    lleval_config_init(&f->cfg);
    /* its folder: lleval_launch_find_binary finds llama-server[.exe] in it */
    set_str(&f->cfg.launch.binary, TU_FAKE_LLAMA_DIR);
    set_str(&f->cfg.launch.model, f->model);
    f->cfg.launch.enabled = true;
    f->cfg.launch.max_restarts = max_restarts;
    f->cfg.max_concurrent_jobs = 2;
    f->cfg.context_length = 512;
    tu_setenv("FAKE_LLAMA_MODE", mode);
    {
        char *marker = lleval_path_join(f->tmp, "marker");
        tu_setenv("FAKE_LLAMA_MARKER", marker);
        free(marker);
    }
}

static void fake_teardown(struct fake *f)
{
    tu_unsetenv("FAKE_LLAMA_MODE");
    tu_unsetenv("FAKE_LLAMA_MARKER");
    lleval_config_release(&f->cfg);
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->model);
    free(f->log);
}

static void test_lifecycle(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char note[256], *log, *url;
    long pid1, pid2;
    (void)state;
    fake_setup(&f, "", 1);

    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 30, &l, &err), 0);
    pid1 = lleval_launch_pid(l);
    assert_true(pid1 > 0);
    url = lleval_xstrdup(lleval_launch_base_url(l));
    tu_assert_contains(url, "http://127.0.0.1:");
    assert_int_equal(lleval_launch_check(l, note, sizeof(note), &err), 0);
    assert_string_equal(note, "");
    log = tu_read(f.log);
    tu_assert_contains(log, "--- lleval: start 1 of llama-server at ");
    tu_assert_contains(log, "fake llama-server argv: -m ");
    tu_assert_contains(log, " -c 1024 -np 2 --metrics");
    free(log);
    {
        char *pidfile = lleval_path_join(f.tmp, "llama-server.pid");
        char *text = tu_read(pidfile);
        char want[32];
        snprintf(want, sizeof(want), "%ld\n", pid1);
        assert_non_null(text);
        assert_string_equal(text, want);
        free(text);
        free(pidfile);
    }

    /* a crash: restarted on the same port, reported */
    assert_int_equal(tu_kill(pid1, 9), 0);
    assert_int_equal(lleval_launch_revive(l, 5000, note, sizeof(note), &err), 1);
    tu_assert_contains(note, "llama-server died (" DIED_SIGKILL);
    tu_assert_contains(note, "restarted (1 of 1)");
    pid2 = lleval_launch_pid(l);
    assert_true(pid2 > 0 && pid2 != pid1);
    assert_string_equal(lleval_launch_base_url(l), url);
    assert_int_equal(lleval_launch_restarts(l), 1);
    log = tu_read(f.log);
    tu_assert_contains(log, "--- lleval: start 2 of llama-server");
    free(log);

    /* a second crash with max_restarts 1: an error that says so */
    assert_int_equal(tu_kill(pid2, 15), 0);
    assert_int_equal(lleval_launch_revive(l, 5000, note, sizeof(note), &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, DIED_SIGTERM);
    tu_assert_contains(err.msg, "launch.max_restarts 1");

    lleval_launch_stop(l);
    assert_true(tu_pid_gone(pid1) && tu_pid_gone(pid2));
    free(url);
    fake_teardown(&f);
}

static void test_stop_reaps(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *pidfile;
    long pid;
    (void)state;
    fake_setup(&f, "", 3);
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 30, &l, &err), 0);
    pid = lleval_launch_pid(l);
    lleval_launch_stop(l);
    assert_true(tu_pid_gone(pid));
    pidfile = lleval_path_join(f.tmp, "llama-server.pid");
    assert_false(lleval_path_exists(pidfile));
    free(pidfile);
    lleval_launch_stop(NULL);
    fake_teardown(&f);
}

/* Waits up to 30 s for our child pid to end and reaps it; true with *ex filled when it did. */
static bool wait_exit(long pid, struct lleval_proc_exit *ex)
{
    double deadline = lleval_monotonic() + 30.0;
    while (lleval_monotonic() < deadline) {
        int r = lleval_proc_poll(pid, ex);
        if (r == 1)
            return true;
        if (r != 0)
            return false;
        lleval_sleep_ms(10);
    }
    return false;
}

/*
 * The orphan check on start: a recorded server is stopped only when its pid
 * AND start id match (the process recorded is still the one running). A
 * tu_child sleeping stands for the recorded process: with another start id in the
 * identity file (the recorded one exited and an unrelated process got its
 * pid) it is left alone; with its own, it is stopped and the log says so. A
 * pid file alone (no identity) names nothing.
 */
static void test_orphan_identity(void **state)
{
    static const struct {
        const char *what;
        int start_delta; /* added to the process's real start id; -1: no identity file */
        bool stopped;
    } cases[] = {
        {"another start id: a reused pid", 1, false},
        {"a pid file without an identity", -1, false},
        {"its own pid and start id", 0, true},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct fake f;
        struct lleval_launch *l = NULL;
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_proc_id id, server;
        struct lleval_proc_exit ex;
        char *argv[] = {"tu_child", "sleep", "60000", NULL};
        char line[64], want[96], *log, *idpath, *text;
        long pid = 0;
        fake_setup(&f, "", 3);
        idpath = lleval_path_join(f.tmp, "llama-server.identity");
        assert_int_equal(lleval_proc_spawn(TU_CHILD, argv, f.log, 0, &pid, &err), 0);
        if (lleval_proc_identify(pid, &id)) {
            lleval_proc_terminate(pid, 1000);
            fake_teardown(&f);
            free(idpath);
            skip(); /* no identities on this platform */
        }
        snprintf(line, sizeof(line), "%ld\n", pid);
        free(tu_write(f.tmp, "llama-server.pid", line));
        if (cases[i].start_delta >= 0) {
            snprintf(line, sizeof(line), "%ld %llu\n", pid,
                     (unsigned long long)(id.start + (uint64_t)cases[i].start_delta));
            free(tu_write(NULL, idpath, line));
        }

        assert_int_equal(lleval_launch_start(&f.cfg, f.log, 30, &l, &err), 0);
        /* the new server's own identity replaced the old one */
        assert_int_equal(lleval_proc_identify(lleval_launch_pid(l), &server), 0);
        snprintf(line, sizeof(line), "%ld %llu\n", server.pid, (unsigned long long)server.start);
        text = tu_read(idpath);
        assert_non_null(text);
        assert_string_equal(text, line);
        free(text);
        log = tu_read(f.log);
        snprintf(want, sizeof(want), "stopping llama-server pid %ld left by an earlier lleval",
                 pid);
        if (cases[i].stopped) {
            /* stopped well before its 60 s: POSIX by SIGTERM, Windows by TerminateProcess
             * with exit status 1 (lleval_proc_terminate_other) */
            if (!wait_exit(pid, &ex))
                fail_msg("%s: the recorded process was not stopped", cases[i].what);
#ifdef _WIN32
            if (ex.signaled || ex.code != 1)
#else
            if (!ex.signaled)
#endif
                fail_msg("%s: the recorded process ended by itself (%d, %d)", cases[i].what,
                         (int)ex.signaled, ex.code);
            tu_assert_contains(log, want);
        } else {
            if (lleval_proc_poll(pid, &ex) != 0)
                fail_msg("%s: the process was touched", cases[i].what);
            if (strstr(log, want))
                fail_msg("%s: the log says it was stopped", cases[i].what);
            lleval_proc_terminate(pid, 1000);
        }
        free(log);
        lleval_launch_stop(l);
        assert_false(lleval_path_exists(idpath)); /* removed at the stop */
        free(idpath);
        fake_teardown(&f);
    }
}

static void test_early_exit_quotes_log(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    fake_setup(&f, "exit", 3);
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 30, &l, &err), LLEVAL_EENGINE);
    assert_null(l);
    tu_assert_contains(err.msg, "llama-server exited (exit status 3) before it was ready");
    tu_assert_contains(err.msg, "fake: cannot load the model");
    fake_teardown(&f);
}

static void test_bind_race_retried(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *log;
    (void)state;
    fake_setup(&f, "bind-once", 3);
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 30, &l, &err), 0);
    log = tu_read(f.log);
    tu_assert_contains(log, "couldn't bind");
    tu_assert_contains(log, "--- lleval: start 2 of llama-server");
    free(log);
    assert_int_equal(lleval_launch_restarts(l), 0);
    lleval_launch_stop(l);
    fake_teardown(&f);
}

static void test_health_timeout(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    fake_setup(&f, "hang", 3);
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 1, &l, &err), LLEVAL_EENGINE);
    assert_null(l);
    tu_assert_contains(err.msg, "was not ready (GET /health 200) within 1 s, so it was stopped");
    fake_teardown(&f);
}

static void test_missing_model(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    fake_setup(&f, "", 3);
    set_str(&f.cfg.launch.model, "/no/such/model.gguf");
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 1, &l, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "launch.model '/no/such/model.gguf' is not a readable file");
    tu_assert_contains(err.msg, "lleval synth-model");
    fake_teardown(&f);
}

static void test_extra_args_cannot_take_over(void **state)
{
    struct fake f;
    struct lleval_launch *l = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    fake_setup(&f, "", 3);
    f.cfg.launch.extra_args = lleval_xcalloc(2, sizeof(char *));
    f.cfg.launch.extra_args[0] = lleval_xstrdup("--port");
    f.cfg.launch.extra_args[1] = lleval_xstrdup("8080");
    f.cfg.launch.n_extra_args = 2;
    assert_int_equal(lleval_launch_start(&f.cfg, f.log, 1, &l, &err), LLEVAL_EINVAL);
    assert_null(l);
    tu_assert_contains(err.msg, "launch.extra_args must not contain '--port'");
    fake_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_defaults),
        cmocka_unit_test(test_argv_explicit),
        cmocka_unit_test(test_find_binary),
        cmocka_unit_test(test_free_port),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_stop_reaps),
        cmocka_unit_test(test_orphan_identity),
        cmocka_unit_test(test_early_exit_quotes_log),
        cmocka_unit_test(test_bind_race_retried),
        cmocka_unit_test(test_health_timeout),
        cmocka_unit_test(test_missing_model),
        cmocka_unit_test(test_extra_args_cannot_take_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
