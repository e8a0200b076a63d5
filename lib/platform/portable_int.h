/*
 * Internal to lib/platform: the helpers portable.c shares with the
 * platform files (posix*.c, win32*.c).
 */
#ifndef LLEVAL_PLATFORM_PORTABLE_INT_H
#define LLEVAL_PLATFORM_PORTABLE_INT_H

#include <stdbool.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"

/* Sorts list's names bytewise (lleval_list_dir()'s order on every platform). */
void lleval_plat_sort_names(struct lleval_dir_list *list);

/* Parses a process identity file's text "<pid>[ <start id>]" (then optional
 * white space) into id (start 0 = not given); false when it is not that. */
bool lleval_plat_parse_identity(const char *text, struct lleval_proc_id *id);

#endif
