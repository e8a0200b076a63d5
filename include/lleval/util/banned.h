/*
 * Functions lleval's library and tool never call (as git's banned.h, curl's
 * checksrc): unbounded copies and formatting, number parsers without error
 * reporting, tokenizers and time functions with hidden static state.
 *
 * The build force-includes this header (-include) into every file of lib/ and
 * cli/, so the system headers that declare these functions are included here
 * first; any later use then fails to compile with a name that says why.
 * Use instead: snprintf / lleval_xasprintf / the string buffer; strtol, strtoul,
 * strtod with an end-pointer and range check; gmtime_r / localtime_r.
 */
#ifndef LLEVAL_UTIL_BANNED_H
#define LLEVAL_UTIL_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef atof
#define atof(x) BANNED(atof)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
