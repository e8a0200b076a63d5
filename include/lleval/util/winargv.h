/*
 * Windows command lines, built and split by the rules of the Microsoft C
 * runtime and CommandLineToArgvW, as pure string functions (no Win32 call),
 * so they are tested on every platform. lib/platform/win32_proc.c builds the
 * command line of CreateProcessW with lleval_winargv_join; the splitter is
 * the reference the tests check the quoting against.
 *
 * The rules, for an argument after the first: white space (space, tab)
 * separates arguments outside quotes; a '"' opens or closes a quoted part;
 * 2n backslashes before a '"' give n backslashes and the quote acts, 2n+1
 * give n backslashes and a literal '"'; backslashes before anything else are
 * literal. The first argument (the program) ends at the first white space
 * outside quotes, and backslashes there are always literal. Strings are
 * UTF-8; bytes above 0x7F pass through unchanged.
 */
#ifndef LLEVAL_UTIL_WINARGV_H
#define LLEVAL_UTIL_WINARGV_H

#include "lleval/util/util.h"

/* Appends arg (borrowed), quoted so that it splits back to itself as an
 * argument after the first, to out. Quotes only where needed: an empty
 * argument or one with white space or '"'. */
void lleval_winargv_quote(struct lleval_sb *out, const char *arg);

/* The command line for argv (borrowed, NULL-terminated, argv[0] the program
 * name: quoted when it holds white space; it cannot hold '"'), as an owned
 * string. */
char *lleval_winargv_join(char *const argv[]);

/* Splits cmdline as CommandLineToArgvW does (the rules above). Returns an
 * owned, NULL-terminated array of owned strings (lleval_winargv_free), its
 * count in *argc. An empty command line gives zero arguments. */
char **lleval_winargv_split(const char *cmdline, int *argc);

/* Frees what lleval_winargv_split returned; NULL is fine. */
void lleval_winargv_free(char **argv);

#endif
