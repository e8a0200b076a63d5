/*
 * A tiny child program for the unit tests' process cases, the same on every platform (the
 * tests start it with lleval_proc_spawn where POSIX tests could fork):
 *   tu_child exit N       exits with status N
 *   tu_child sleep MS     sleeps MS milliseconds, then exits 0
 *   tu_child print WORDS  prints the words, space-separated, and a newline
 *   tu_child lock PATH    takes the lock file PATH (lleval_lock_acquire), prints "locked" (or
 *                         the error), then holds it for up to 120 s: the test ends it sooner
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/platform.h"
#include "lleval/util/error.h"

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "exit"))
        return (int)strtol(argv[2], NULL, 10);
    if (argc == 3 && !strcmp(argv[1], "sleep")) {
        lleval_sleep_ms(strtol(argv[2], NULL, 10));
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "print")) {
        for (int i = 2; i < argc; i++)
            printf("%s%s", i > 2 ? " " : "", argv[i]);
        printf("\n");
        return fflush(stdout) ? 1 : 0;
    }
    if (argc == 3 && !strcmp(argv[1], "lock")) {
        struct lleval_lock *held = NULL;
        struct lleval_err err = LLEVAL_ERR_INIT;
        long holder = 0;
        if (lleval_lock_acquire(argv[2], &held, &holder, &err)) {
            printf("not locked: %s\n", err.msg);
            return 1;
        }
        printf("locked\n");
        fflush(stdout);
        lleval_sleep_ms(120000);
        lleval_lock_release(held);
        return 0;
    }
    fprintf(stderr, "usage: tu_child exit N | sleep MS | print WORDS | lock PATH\n");
    return 2;
}
