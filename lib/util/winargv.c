/*
 * Windows command lines (winargv.h): quoting for CreateProcessW and a
 * splitter with CommandLineToArgvW's rules, portable C with no Win32 call so
 * tests/unit/test_winargv.c checks them on Linux too.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/util/winargv.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void lleval_winargv_quote(struct lleval_sb *out, const char *arg)
{
    if (*arg && !strpbrk(arg, " \t\n\v\"")) {
        lleval_sb_adds(out, arg);
        return;
    }
    lleval_sb_addch(out, '"');
    for (const char *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        if (!*p) {
            /* doubled: the closing quote must stay a quote */
            for (size_t i = 0; i < 2 * slashes; i++)
                lleval_sb_addch(out, '\\');
            break;
        }
        if (*p == '"') {
            for (size_t i = 0; i < 2 * slashes + 1; i++)
                lleval_sb_addch(out, '\\');
        } else {
            for (size_t i = 0; i < slashes; i++)
                lleval_sb_addch(out, '\\');
        }
        lleval_sb_addch(out, *p);
    }
    lleval_sb_addch(out, '"');
}

char *lleval_winargv_join(char *const argv[])
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (argv[0]) {
        bool q = !*argv[0] || strpbrk(argv[0], " \t");
        if (q)
            lleval_sb_addch(&sb, '"');
        lleval_sb_adds(&sb, argv[0]);
        if (q)
            lleval_sb_addch(&sb, '"');
        for (size_t i = 1; argv[i]; i++) {
            lleval_sb_addch(&sb, ' ');
            lleval_winargv_quote(&sb, argv[i]);
        }
    }
    return lleval_sb_detach(&sb, NULL);
}

char **lleval_winargv_split(const char *cmdline, int *argc)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *p = cmdline;
    struct lleval_sb sb = LLEVAL_SB_INIT;

    /* the program: up to white space outside quotes, backslashes literal */
    if (*p) {
        bool quoted = false;
        for (; *p && (quoted || !is_blank(*p)); p++) {
            if (*p == '"')
                quoted = !quoted;
            else
                lleval_sb_addch(&sb, *p);
        }
        LLEVAL_GROW(v, n, cap);
        v[n++] = lleval_sb_detach(&sb, NULL);
    }
    for (;;) {
        bool quoted = false;
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        while (*p && (quoted || !is_blank(*p))) {
            size_t slashes = 0;
            while (*p == '\\') {
                slashes++;
                p++;
            }
            if (*p == '"') {
                for (size_t i = 0; i < slashes / 2; i++)
                    lleval_sb_addch(&sb, '\\');
                if (slashes % 2) {
                    lleval_sb_addch(&sb, '"');
                } else if (quoted && p[1] == '"') {
                    lleval_sb_addch(&sb, '"'); /* "" inside quotes: a quote, still quoted */
                    p++;
                } else {
                    quoted = !quoted;
                }
                p++;
                continue;
            }
            for (size_t i = 0; i < slashes; i++)
                lleval_sb_addch(&sb, '\\');
            if (slashes)
                continue; /* the character after them is looked at again */
            lleval_sb_addch(&sb, *p++);
        }
        LLEVAL_GROW(v, n, cap);
        v[n++] = lleval_sb_detach(&sb, NULL);
    }
    LLEVAL_GROW(v, n, cap);
    v[n] = NULL;
    *argc = (int)n;
    lleval_sb_release(&sb);
    return v;
}

void lleval_winargv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}
