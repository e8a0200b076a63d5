/*
 * The platform layer (Windows), files opened as what they claim to be, and
 * the UTF-8 / UTF-16 crossing every path makes. Inside a run directory lleval
 * refuses symbolic links and junctions (reparse points that are name
 * surrogates: FILE_FLAG_OPEN_REPARSE_POINT, then the handle's attributes and
 * reparse tag) and anything but a regular disk file (a folder, a pipe, a
 * device), as posix_open.c does with O_NOFOLLOW and fstat; elsewhere links
 * are followed (docs/design.md, "Files inside a run directory"). Other
 * reparse points (OneDrive placeholders, deduplicated files) are regular
 * files with a filter on top and are opened normally.
 *
 * The build compiles this file on Windows only (posix*.c elsewhere); the
 * guard below keeps a plain glob of lib/ building on other systems.
 */
#ifndef _WIN32
typedef int lleval_win32_open_unused; /* ISO C wants a declaration in every file */
#else
#include "win32_int.h" /* first: it includes io.h past banned.h */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "lleval/platform/fs.h"

/* ---- UTF-8 and UTF-16 ---------------------------------------------------------- */

wchar_t *lleval_w32_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    wchar_t *w;
    if (n <= 0)
        return lleval_xcalloc(1, sizeof(wchar_t));
    w = lleval_xmalloc((size_t)n * sizeof(wchar_t));
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

char *lleval_w32_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s;
    if (n <= 0)
        return lleval_xstrdup("");
    s = lleval_xmalloc((size_t)n);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

char *lleval_w32_getenv(const char *name)
{
    wchar_t *wname = lleval_w32_wide(name);
    const wchar_t *v = _wgetenv(wname);
    free(wname);
    return v ? lleval_w32_utf8(v) : NULL;
}

int lleval_w32_set_errno(DWORD code)
{
    switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_NETPATH:
    case ERROR_INVALID_DRIVE:
        errno = ENOENT;
        break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
        errno = EACCES;
        break;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
        errno = EEXIST;
        break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        errno = ENOSPC;
        break;
    case ERROR_DIR_NOT_EMPTY:
        errno = ENOTEMPTY;
        break;
    case ERROR_DIRECTORY:
        errno = ENOTDIR;
        break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        errno = ENOMEM;
        break;
    case ERROR_WRITE_PROTECT:
        errno = EROFS;
        break;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
        errno = EPIPE;
        break;
    default:
        errno = EIO;
    }
    return -1;
}

const char *lleval_w32_strerror(DWORD code, char *buf, size_t size)
{
    wchar_t msg[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             0, msg, LLEVAL_ARRAY_SIZE(msg), NULL);
    char *s;
    size_t len;
    if (!n) {
        snprintf(buf, size, "Windows error %lu", (unsigned long)code);
        return buf;
    }
    s = lleval_w32_utf8(msg);
    len = strlen(s);
    while (len &&
           (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == '.' || s[len - 1] == ' '))
        s[--len] = '\0';
    snprintf(buf, size, "%s", s);
    free(s);
    return buf;
}

int lleval_w32_err(struct lleval_err *err, const char *what, const char *path, DWORD code)
{
    char msg[512];
    return lleval_err_set(err, LLEVAL_EIO, "%s '%s': %s", what, path,
                          lleval_w32_strerror(code, msg, sizeof(msg)));
}

FILE *lleval_w32_fdopen(HANDLE h, const char *mode)
{
    int fd = _open_osfhandle((intptr_t)h, (mode[0] == 'r' ? _O_RDONLY : _O_WRONLY) | _O_BINARY);
    FILE *f;
    if (fd < 0) {
        CloseHandle(h);
        errno = EMFILE;
        return NULL;
    }
    f = _fdopen(fd, mode);
    if (!f)
        _close(fd);
    return f;
}

HANDLE lleval_w32_handle(FILE *f)
{
    return (HANDLE)_get_osfhandle(_fileno(f));
}

/* ---- what a path is --------------------------------------------------------------- */

enum kind { K_REGULAR, K_LINK, K_DIR, K_PIPE, K_DEVICE };

/* The kind of the open handle h (opened with FILE_FLAG_OPEN_REPARSE_POINT). */
static enum kind handle_kind(HANDLE h)
{
    DWORD type = GetFileType(h);
    FILE_ATTRIBUTE_TAG_INFO tag;
    if (type == FILE_TYPE_PIPE)
        return K_PIPE;
    if (type != FILE_TYPE_DISK)
        return K_DEVICE;
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag))) {
        BY_HANDLE_FILE_INFORMATION info;
        /* Wine before 6 lacks the tag class: the attributes alone */
        if (!GetFileInformationByHandle(h, &info))
            return K_DEVICE;
        tag.FileAttributes = info.dwFileAttributes;
        tag.ReparseTag = IO_REPARSE_TAG_SYMLINK;
    }
    if ((tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
        IsReparseTagNameSurrogate(tag.ReparseTag))
        return K_LINK;
    if (tag.FileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        return K_DIR;
    return K_REGULAR;
}

static const char *kind_name(enum kind k)
{
    switch (k) {
    case K_DIR:
        return "a directory";
    case K_PIPE:
        return "a pipe";
    case K_DEVICE:
        return "a device";
    default:
        return "a special file";
    }
}

/* The refusal of a link or non-regular file inside a run directory: LLEVAL_EIO. */
static int refuse_kind(const char *path, enum kind k, struct lleval_err *err)
{
    if (k == K_LINK)
        return lleval_err_set(err, LLEVAL_EIO,
                              "'%s' is a symbolic link: lleval does not follow links inside a "
                              "run directory; replace it with the file",
                              path);
    return lleval_err_set(err, LLEVAL_EIO,
                          "'%s' is %s, not a regular file: lleval opens only regular files "
                          "inside a run directory; replace it with the file",
                          path, kind_name(k));
}

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/* ---- run directories ---------------------------------------------------------------- */

/* True when dir holds an entry called name, of any type (a link is not followed). */
static bool has_entry(const wchar_t *dir, const wchar_t *name)
{
    size_t ld = wcslen(dir), ln = wcslen(name);
    wchar_t *p = lleval_xmalloc((ld + ln + 2) * sizeof(wchar_t));
    bool yes;
    memcpy(p, dir, ld * sizeof(wchar_t));
    if (ld && dir[ld - 1] != L'\\')
        p[ld++] = L'\\';
    memcpy(p + ld, name, (ln + 1) * sizeof(wchar_t));
    yes = GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES;
    free(p);
    return yes;
}

/* The absolute path of directory w with its links resolved (owned; "C:\a\b"
 * or "\\server\share\a"), or NULL when it cannot be opened. */
static wchar_t *final_dir(const wchar_t *w)
{
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    wchar_t *out = NULL;
    DWORD n;
    if (h != INVALID_HANDLE_VALUE) {
        n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        if (n) {
            out = lleval_xmalloc(((size_t)n + 1) * sizeof(wchar_t));
            if (!GetFinalPathNameByHandleW(h, out, n + 1, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS)) {
                free(out);
                out = NULL;
            }
        }
        CloseHandle(h);
    }
    if (!out) { /* no final name (Wine on some file systems): the full name */
        n = GetFullPathNameW(w, 0, NULL, NULL);
        if (!n)
            return NULL;
        out = lleval_xmalloc(((size_t)n + 1) * sizeof(wchar_t));
        if (!GetFullPathNameW(w, n + 1, out, NULL)) {
            free(out);
            return NULL;
        }
    }
    if (!wcsncmp(out, L"\\\\?\\UNC\\", 8)) {
        memmove(out + 2, out + 8, (wcslen(out + 8) + 1) * sizeof(wchar_t));
    } else if (!wcsncmp(out, L"\\\\?\\", 4)) {
        memmove(out, out + 4, (wcslen(out + 4) + 1) * sizeof(wchar_t));
    }
    for (wchar_t *p = out; *p; p++)
        if (*p == L'/')
            *p = L'\\';
    return out;
}

bool lleval_path_in_run_dir(const char *path)
{
    char *parent = lleval_path_dirname(path);
    wchar_t *wparent = lleval_w32_wide(parent);
    wchar_t *dir = final_dir(wparent);
    bool found = false;

    free(parent);
    free(wparent);
    while (dir && !found) {
        wchar_t *slash;
        size_t len = wcslen(dir);
        while (len > 3 && dir[len - 1] == L'\\')
            dir[--len] = L'\0';
        found = has_entry(dir, L"config.resolved.yaml") &&
                (has_entry(dir, L"manifest.json") || has_entry(dir, L"lock"));
        slash = wcsrchr(dir, L'\\');
        if (!slash || !slash[1] || slash == dir)
            break; /* "C:\" or "\": the root was looked at */
        if (slash == dir + 2 && dir[1] == L':')
            slash[1] = L'\0'; /* "C:\a" -> "C:\" */
        else
            *slash = L'\0';
    }
    free(dir);
    return found;
}

/* ---- opening ---------------------------------------------------------------------- */

int lleval_w32_open(const char *path, DWORD access, DWORD disposition, HANDLE *h, DWORD *code,
                    struct lleval_err *err)
{
    wchar_t *w = lleval_w32_wide(path);
    enum kind k;
    int rc = 0;

    *code = 0;
    *h = CreateFileW(
        w, access, SHARE_ALL, NULL, disposition,
        FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (*h == INVALID_HANDLE_VALUE) {
        *code = GetLastError();
        rc = 1;
        goto out;
    }
    k = handle_kind(*h);
    if (k == K_REGULAR)
        goto out;
    CloseHandle(*h);
    *h = INVALID_HANDLE_VALUE;
    if (lleval_path_in_run_dir(path)) {
        rc = refuse_kind(path, k, err);
        goto out;
    }
    /* elsewhere: as CreateFileW opens it, links followed (a folder fails) */
    *h = CreateFileW(w, access, SHARE_ALL, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
    if (*h == INVALID_HANDLE_VALUE) {
        *code = GetLastError();
        rc = 1;
    }
out:
    free(w);
    return rc;
}

int lleval_fopen_read(const char *path, FILE **out, struct lleval_err *err)
{
    HANDLE h;
    DWORD code;
    int rc = lleval_w32_open(path, GENERIC_READ, OPEN_EXISTING, &h, &code, err);

    *out = NULL;
    if (rc == 1) {
        lleval_w32_set_errno(code);
        return lleval_err_errno(err, "cannot open", path);
    }
    if (rc)
        return rc;
    *out = lleval_w32_fdopen(h, "rb");
    if (!*out)
        return lleval_err_errno(err, "cannot open", path);
    return 0;
}

/* Removes whatever path names (a file, a link to a file or a folder) without
 * following a link. Returns 0 when it is gone, or the Win32 error. */
static DWORD remove_entry(const wchar_t *w)
{
    DWORD attr = GetFileAttributesW(w);
    BOOL ok;
    if (attr == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? 0 : e;
    }
    if (attr & FILE_ATTRIBUTE_READONLY)
        SetFileAttributesW(w, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
    if ((attr & FILE_ATTRIBUTE_DIRECTORY) && (attr & FILE_ATTRIBUTE_REPARSE_POINT))
        ok = RemoveDirectoryW(w); /* a link to a folder: the link only */
    else
        ok = DeleteFileW(w);
    return ok ? 0 : GetLastError();
}

int lleval_fopen_new(const char *path, FILE **out, struct lleval_err *err)
{
    wchar_t *w = lleval_w32_wide(path);
    DWORD code = remove_entry(w);
    HANDLE h;

    *out = NULL;
    if (code) {
        free(w);
        lleval_w32_set_errno(code);
        return lleval_err_errno(err, "cannot remove", path);
    }
    h = CreateFileW(w, GENERIC_WRITE, SHARE_ALL, NULL, CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        lleval_w32_set_errno(GetLastError());
        free(w);
        return lleval_err_errno(err, "cannot create", path);
    }
    *out = lleval_w32_fdopen(h, "wb");
    if (!*out) {
        int rc = lleval_err_errno(err, "cannot create", path);
        DeleteFileW(w);
        free(w);
        return rc;
    }
    free(w);
    return 0;
}

/* See portable_int.h. */
int lleval_plat_check_target(const char *path, struct lleval_err *err)
{
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
                           FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    enum kind k = K_REGULAR;
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return 0; /* missing: the rename creates it */
    k = handle_kind(h);
    CloseHandle(h);
    if (k != K_REGULAR && lleval_path_in_run_dir(path))
        return refuse_kind(path, k, err);
    return 0;
}

DWORD lleval_w32_replace(const char *from, const char *to)
{
    wchar_t *wf = lleval_w32_wide(from), *wt = lleval_w32_wide(to);
    DWORD e = 0;
    /* a reader that opened `to` without FILE_SHARE_DELETE (the C runtime's
     * fopen does) blocks the replace until it closes: wait a little */
    for (int attempt = 0; attempt < 100; attempt++) {
        if (MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
            e = 0;
            break;
        }
        e = GetLastError();
        if (e != ERROR_ACCESS_DENIED && e != ERROR_SHARING_VIOLATION)
            break;
        Sleep(20);
    }
    free(wf);
    free(wt);
    return e;
}

int lleval_rename(const char *from, const char *to)
{
    DWORD e = lleval_w32_replace(from, to);
    return e ? lleval_w32_set_errno(e) : 0;
}

/* See portable_int.h: neither a folder nor a reparse point (a link). */
int64_t lleval_plat_regular_size(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    WIN32_FILE_ATTRIBUTE_DATA fa;
    BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &fa);
    free(w);
    if (!ok || (fa.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)))
        return -1;
    return (int64_t)(((uint64_t)fa.nFileSizeHigh << 32) | fa.nFileSizeLow);
}

bool lleval_is_real_dir(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    DWORD attr = GetFileAttributesW(w);
    free(w);
    return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY) &&
           !(attr & FILE_ATTRIBUTE_REPARSE_POINT);
}
#endif
