/*
 * Internal to lib/platform: the helpers portable.c shares with the
 * platform files (posix*.c, win32*.c).
 */
#ifndef LLEVAL_PLATFORM_PORTABLE_INT_H
#define LLEVAL_PLATFORM_PORTABLE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"

/* Sorts list's names bytewise (lleval_list_dir()'s order on every platform). */
void lleval_plat_sort_names(struct lleval_dir_list *list);

/* Parses a process identity file's text "<pid>[ <start id>]" (then optional
 * white space) into id (start 0 = not given); false when it is not that. */
bool lleval_plat_parse_identity(const char *text, struct lleval_proc_id *id);

/* The hooks portable.c's atomic writes use; one of each per platform. */
/* LLEVAL_EIO (err set) when path, the target of an atomic write, exists
 * inside a run directory as a link or a non-regular file (a rename would
 * replace it without a word); 0 otherwise. posix_open.c, win32_open.c. */
int lleval_plat_check_target(const char *path, struct lleval_err *err);
/* Moves the finished, flushed temp file tmp over path: after a crash (of
 * the process or the machine) path holds the old or the new content, never a
 * torn one (POSIX: rename; Windows: MoveFileExW write-through, retried while
 * path is held open). The folder is not flushed: fs.h, "Durability". */
int lleval_plat_replace(const char *tmp, const char *path, struct lleval_err *err);
/* The size of path when it is a regular file itself (not a link, a folder, a
 * FIFO or a device), else -1. posix_open.c, win32_open.c. */
int64_t lleval_plat_regular_size(const char *path);
/* Removes a file by its UTF-8 name; errors ignored (a temp file's clean-up). */
void lleval_plat_remove(const char *path);

#endif
