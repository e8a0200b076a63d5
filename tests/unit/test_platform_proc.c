/*
 * Unit tests for lib/platform/posix_proc.c's guarantees (platform.h): a
 * process identity (pid plus start id) never matches another process that got
 * the pid; lleval_proc_terminate_other touches only the process identified;
 * a child spawned with LLEVAL_SPAWN_DIE_WITH_PARENT dies when its parent is
 * killed; lock files are kernel locks: one holder at a time even with many
 * processes racing, the holder named, nothing stale after the holder is
 * killed, and a pid in the file is information only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

#define NEED(prog)                                                                                 \
    do {                                                                                           \
        if (!lleval_is_executable(prog)) {                                                         \
            print_message("%s is not here; skipped\n", prog);                                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Skips the test where the platform cannot identify processes. */
static void need_identities(void)
{
    struct lleval_proc_id me;
    if (lleval_proc_identify(lleval_getpid(), &me)) {
        print_message("no process identities on this platform; skipped\n");
        skip();
    }
}

/* waitpid with WNOHANG until pid changes state, for up to 30 s (a loaded
 * machine); returns the raw status, or -1 when it did not end in time. */
static int wait_status(pid_t pid)
{
    for (int i = 0; i < 3000; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        lleval_sleep_ms(10);
    }
    return -1;
}

/* A pid that no process has now (a child that exited and was reaped). */
static long dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return (long)pid;
}

/* ---- identities ------------------------------------------------------------------ */

static void test_identify(void **state)
{
    struct lleval_proc_id me, again, other;
    (void)state;
    need_identities();
    assert_int_equal(lleval_proc_identify(lleval_getpid(), &me), 0);
    assert_int_equal(me.pid, lleval_getpid());
    assert_true(me.start > 0);
    assert_int_equal(lleval_proc_identify(lleval_getpid(), &again), 0);
    assert_true(again.start == me.start); /* stable */
    assert_true(lleval_proc_is_alive(&me));
    /* the same pid with another start id is another process */
    other = me;
    other.start = me.start + 1;
    assert_false(lleval_proc_is_alive(&other));
    other.start = me.start - 1;
    assert_false(lleval_proc_is_alive(&other));
    /* no process: nothing to identify */
    assert_int_equal(lleval_proc_identify(dead_pid(), &other), LLEVAL_EIO);
    assert_int_equal(lleval_proc_identify(0, &other), LLEVAL_EIO);
    assert_int_equal(lleval_proc_identify(-5, &other), LLEVAL_EIO);
    assert_false(lleval_proc_is_alive(NULL));
}

/* A program name with spaces and parentheses (the kernel's /proc/<pid>/stat
 * quotes it in parentheses) does not shift the fields. */
static void test_identify_odd_name(void **state)
{
    char *dir = tu_tmpdir();
    char *bin = lleval_path_join(dir, "a) b (c");
    char *log = lleval_path_join(dir, "odd.log");
    char *argv[] = {bin, "30", NULL};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_proc_id me, id;
    long pid = 0;
    (void)state;
    NEED("/bin/sleep");
    need_identities();
    assert_int_equal(lleval_copy_file_atomic("/bin/sleep", bin, &err), 0);
    assert_int_equal(chmod(bin, 0755), 0);
    assert_int_equal(lleval_proc_spawn(bin, argv, log, 0, &pid, &err), 0);
    assert_int_equal(lleval_proc_identify(pid, &id), 0);
    assert_int_equal(lleval_proc_identify(lleval_getpid(), &me), 0);
    /* started after this process, in clock ticks: a plausible start time */
    assert_true(id.start >= me.start);
    assert_true(id.start < me.start + 100ULL * 3600 * 1000);
    assert_true(lleval_proc_is_alive(&id));
    lleval_proc_terminate(pid, 30000);
    tu_rmtree(dir);
    free(log);
    free(bin);
    free(dir);
}

/* A recorded pid whose start id differs is not touched; the right one is. */
static void test_terminate_other_by_identity(void **state)
{
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "sleep.log");
    char *argv[] = {"sleep", "30", NULL};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_proc_exit ex;
    struct lleval_proc_id id, wrong;
    long pid = 0;
    int status;
    (void)state;
    NEED("/bin/sleep");
    need_identities();

    assert_int_equal(lleval_proc_spawn("/bin/sleep", argv, log, 0, &pid, &err), 0);
    assert_int_equal(lleval_proc_identify(pid, &id), 0);
    wrong = id;
    wrong.start = id.start + 1; /* the recorded process was another one with this pid */
    assert_false(lleval_proc_terminate_other(&wrong, 100));
    lleval_sleep_ms(200);
    assert_int_equal(lleval_proc_poll(pid, &ex), 0); /* still sleeping: untouched */
    assert_true(lleval_proc_is_alive(&id));

    assert_true(lleval_proc_terminate_other(&id, 30000));
    status = wait_status((pid_t)pid);
    assert_true(status != -1);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM); /* the polite signal was enough */
    /* gone: nothing left to touch */
    assert_false(lleval_proc_terminate_other(&id, 10));
    tu_rmtree(dir);
    free(log);
    free(dir);
}

/* ---- LLEVAL_SPAWN_DIE_WITH_PARENT ---------------------------------------------------- */

/*
 * A middle process spawns two sleeps, one with LLEVAL_SPAWN_DIE_WITH_PARENT
 * and one without, then is killed with SIGKILL. This process is their
 * subreaper, so both come to it: the first must die of SIGKILL at once, the
 * second (the control) keeps running.
 */
static void test_die_with_parent(void **state)
{
#ifdef __linux__
    char *dir = tu_tmpdir();
    char *log = lleval_path_join(dir, "sleep.log");
    long pids[2] = {0, 0};
    int fds[2], status;
    pid_t middle;
    (void)state;
    NEED("/bin/sleep");

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    assert_int_equal(pipe(fds), 0);
    middle = fork();
    assert_true(middle >= 0);
    if (middle == 0) {
        char *argv[] = {"sleep", "60", NULL};
        struct lleval_err err = LLEVAL_ERR_INIT;
        long got[2] = {0, 0};
        close(fds[0]);
        if (lleval_proc_spawn("/bin/sleep", argv, log, LLEVAL_SPAWN_DIE_WITH_PARENT, &got[0],
                              &err) ||
            lleval_proc_spawn("/bin/sleep", argv, log, 0, &got[1], &err))
            _exit(1);
        if (write(fds[1], got, sizeof(got)) != (ssize_t)sizeof(got))
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], pids, sizeof(pids)), (ssize_t)sizeof(pids));
    close(fds[0]);
    assert_true(pids[0] > 0 && pids[1] > 0);

    assert_int_equal(kill(middle, SIGKILL), 0);
    assert_int_equal(waitpid(middle, NULL, 0), middle);
    status = wait_status((pid_t)pids[0]);
    if (status == -1)
        fail_msg("the child with LLEVAL_SPAWN_DIE_WITH_PARENT outlived its parent");
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    /* the control: without the flag it lives on */
    assert_int_equal(waitpid((pid_t)pids[1], &status, WNOHANG), 0);
    kill((pid_t)pids[1], SIGKILL);
    assert_int_equal(waitpid((pid_t)pids[1], NULL, 0), (pid_t)pids[1]);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
    tu_rmtree(dir);
    free(log);
    free(dir);
#else
    (void)state;
    skip();
#endif
}

/* ---- lock files -------------------------------------------------------------------- */

static void test_lock_basics(void **state)
{
    char *dir = tu_tmpdir();
    char *lock = lleval_path_join(dir, "lock");
    char *bad = lleval_path_join(dir, "no/such/dir/lock");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lock *l = NULL, *l2 = (struct lleval_lock *)&err;
    struct lleval_proc_id me = {lleval_getpid(), 0};
    char want[64];
    long holder = -1;
    char *text;
    (void)state;

    lleval_proc_identify(me.pid, &me);
    assert_int_equal(lleval_lock_owner(lock), 0); /* none yet */
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 0);
    assert_non_null(l);
    assert_int_equal(holder, 0);
    /* the holder's identity, as information */
    snprintf(want, sizeof(want), "%ld %llu\n", me.pid, (unsigned long long)me.start);
    text = tu_read(lock);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(lleval_lock_owner(lock), me.pid);
    assert_true(lleval_lock_is_held(lock));
    assert_true(lleval_lock_is_held(lock)); /* the probe let go of its own try */

    /* a second handle, even in this process, is refused and told who holds it */
    assert_int_equal(lleval_lock_acquire(lock, &l2, &holder, &err), 1);
    assert_null(l2);
    assert_int_equal(holder, me.pid);

    lleval_lock_release(l);
    assert_false(lleval_path_exists(lock)); /* removed while held */
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_owner(lock), 0);
    lleval_lock_release(NULL);

    /* garbage or nothing in a lock file that nobody holds: taken */
    free(tu_write(NULL, lock, "not a pid\n"));
    assert_int_equal(lleval_lock_owner(lock), 0);
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 0);
    lleval_lock_release(l);
    free(tu_write(NULL, lock, ""));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 0);
    lleval_lock_release(l);

    assert_int_equal(lleval_lock_acquire(bad, &l, &holder, &err), LLEVAL_EIO);
    assert_null(l);
    tu_assert_contains(err.msg, "cannot create lock '");
    tu_rmtree(dir);
    free(bad);
    free(lock);
    free(dir);
}

/* A pid in a lock file that nobody holds is information, not a lock: a live
 * process named there (the old pid-liveness test would refuse) does not
 * hold it. */
static void test_lock_live_pid_is_not_a_lock(void **state)
{
    char *dir = tu_tmpdir();
    char *lock = lleval_path_join(dir, "lock");
    char *log = lleval_path_join(dir, "sleep.log");
    char *argv[] = {"sleep", "30", NULL};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lock *l = NULL;
    struct lleval_proc_id id = {0, 0};
    char line[64];
    long child = 0, holder = -1;
    (void)state;
    NEED("/bin/sleep");

    assert_int_equal(lleval_proc_spawn("/bin/sleep", argv, log, 0, &child, &err), 0);
    lleval_proc_identify(child, &id);
    snprintf(line, sizeof(line), "%ld %llu\n", child, (unsigned long long)id.start);
    free(tu_write(NULL, lock, line));
    assert_int_equal(lleval_lock_owner(lock), child);
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 0);
    assert_int_equal(lleval_lock_owner(lock), lleval_getpid());
    lleval_lock_release(l);
    lleval_proc_terminate(child, 30000);
    tu_rmtree(dir);
    free(log);
    free(lock);
    free(dir);
}

/* A child takes the lock: refused here with its pid; the child killed with
 * SIGKILL: the lock is free at once, with no stale state to take over. */
static void test_lock_held_by_child(void **state)
{
    char *dir = tu_tmpdir();
    char *lock = lleval_path_join(dir, "lock");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lock *l = NULL;
    long holder = -1;
    int fds[2];
    char ready = 0;
    pid_t child;
    (void)state;

    assert_int_equal(pipe(fds), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct lleval_lock *mine = NULL;
        long h;
        close(fds[0]);
        ready = lleval_lock_acquire(lock, &mine, &h, &err) == 0 ? 'y' : 'n';
        if (write(fds[1], &ready, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &ready, 1), 1);
    close(fds[0]);
    assert_int_equal(ready, 'y');

    assert_true(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 1);
    assert_null(l);
    assert_int_equal(holder, (long)child);

    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    /* the file still names the dead child; the lock is free all the same */
    assert_int_equal(lleval_lock_owner(lock), (long)child);
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), 0);
    assert_int_equal(lleval_lock_owner(lock), lleval_getpid());
    lleval_lock_release(l);
    tu_rmtree(dir);
    free(lock);
    free(dir);
}

static void test_lock_refuses_links_and_non_files(void **state)
{
    char *dir = tu_tmpdir();
    char *lock = lleval_path_join(dir, "lock");
    char *victim = tu_write(dir, "victim", "precious\n");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_lock *l = NULL;
    long holder = -1;
    char *text;
    (void)state;

    assert_int_equal(symlink(victim, lock), 0);
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), LLEVAL_EIO);
    assert_null(l);
    tu_assert_contains(err.msg, "is a symbolic link");
    assert_false(lleval_lock_is_held(lock));
    assert_int_equal(lleval_lock_owner(lock), 0);
    text = tu_read(victim);
    assert_string_equal(text, "precious\n"); /* never written through the link */
    free(text);
    assert_int_equal(unlink(lock), 0);

    assert_int_equal(mkdir(lock, 0755), 0);
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "not a regular file");
    assert_int_equal(rmdir(lock), 0);
    assert_int_equal(mkfifo(lock, 0644), 0); /* opened without blocking, then refused */
    assert_int_equal(lleval_lock_acquire(lock, &l, &holder, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "not a regular file");
    assert_null(l);
    tu_rmtree(dir);
    free(victim);
    free(lock);
    free(dir);
}

/*
 * Mutual exclusion under a race: several processes take and release the same
 * lock over and over (each release removes the file, so acquirers keep
 * meeting removed files), while another keeps probing it. Inside the lock
 * each one creates a marker file exclusively: a second holder at the same
 * moment would find the marker there.
 */
#define RACERS 6
#define ROUNDS 150
static void test_lock_race(void **state)
{
    char *dir = tu_tmpdir();
    char *lock = lleval_path_join(dir, "lock");
    char *marker = lleval_path_join(dir, "inside");
    pid_t pids[RACERS + 1];
    int statuses[RACERS];
    (void)state;

    for (int i = 0; i <= RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i])
            continue;
        if (i == RACERS) { /* the prober, until killed or orphaned */
            pid_t parent = getppid();
            while (getppid() == parent)
                lleval_lock_is_held(lock);
            _exit(0);
        }
        for (int round = 0; round < ROUNDS;) {
            struct lleval_err err = LLEVAL_ERR_INIT;
            struct lleval_lock *l = NULL;
            long holder;
            int rc = lleval_lock_acquire(lock, &l, &holder, &err), fd;
            if (rc < 0)
                _exit(2);
            if (rc == 1) {
                lleval_sleep_ms(1);
                continue;
            }
            fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd < 0)
                _exit(3); /* two holders at once */
            close(fd);
            lleval_sleep_ms(round % 3);
            unlink(marker);
            lleval_lock_release(l);
            round++;
        }
        _exit(0);
    }
    for (int i = 0; i < RACERS; i++)
        statuses[i] = waitpid(pids[i], &statuses[i], 0) == pids[i] ? statuses[i] : -1;
    kill(pids[RACERS], SIGKILL);
    waitpid(pids[RACERS], NULL, 0);
    for (int i = 0; i < RACERS; i++)
        if (statuses[i] == -1 || !WIFEXITED(statuses[i]) || WEXITSTATUS(statuses[i]))
            fail_msg("racer %d: status %d (exit 3: two holders at once)", i, statuses[i]);
    assert_false(lleval_lock_is_held(lock));
    tu_rmtree(dir);
    free(marker);
    free(lock);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identify),
        cmocka_unit_test(test_identify_odd_name),
        cmocka_unit_test(test_terminate_other_by_identity),
        cmocka_unit_test(test_die_with_parent),
        cmocka_unit_test(test_lock_basics),
        cmocka_unit_test(test_lock_live_pid_is_not_a_lock),
        cmocka_unit_test(test_lock_held_by_child),
        cmocka_unit_test(test_lock_refuses_links_and_non_files),
        cmocka_unit_test(test_lock_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
