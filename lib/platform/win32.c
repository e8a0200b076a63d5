/*
 * The platform layer (Windows; fs.h and platform.h declare it), part 1:
 * files, atomic writes (MoveFileExW with MOVEFILE_REPLACE_EXISTING |
 * MOVEFILE_WRITE_THROUGH after FlushFileBuffers), directories and their
 * sorted listings, append-only files, where llama.cpp's tools live, a free
 * loopback port (winsock), clocks (QueryPerformanceCounter), dynamic
 * libraries (LoadLibraryW) and host facts for telemetry. Processes,
 * identities, lock files, the console and the stop events are in
 * win32_proc.c; opening files as what they claim to be in win32_open.c. The
 * POSIX counterparts are posix*.c.
 *
 * The build compiles this file on Windows only; the guard below keeps a plain
 * glob of lib/ building on other systems.
 */
#ifndef _WIN32
typedef int lleval_win32_unused; /* ISO C wants a declaration in every file */
#else
#include <winsock2.h>
#include <ws2tcpip.h>
#include "win32_int.h"
#include <errno.h>
#include <malloc.h>
#include <psapi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"

/* ---- files and directories ------------------------------------------------------ */

int lleval_fsync_file(FILE *f, const char *path, struct lleval_err *err)
{
    if (fflush(f))
        return lleval_err_errno(err, "cannot flush", path);
    if (!FlushFileBuffers(lleval_w32_handle(f))) {
        lleval_w32_set_errno(GetLastError());
        return lleval_err_errno(err, "cannot flush", path);
    }
    return 0;
}

int lleval_fsync_dir(const char *dir, struct lleval_err *err)
{
    /* NTFS journals the rename itself (MOVEFILE_WRITE_THROUGH waits for it):
     * there is no directory to flush, only one to find */
    if (!lleval_is_dir(dir)) {
        errno = ENOENT;
        return lleval_err_errno(err, "cannot open directory", dir);
    }
    return 0;
}

/* See portable_int.h: MoveFileExW with write-through (NTFS journals the rename itself). */
int lleval_plat_replace(const char *tmp, const char *path, struct lleval_err *err)
{
    DWORD e = lleval_w32_replace(tmp, path);
    if (e) {
        lleval_w32_set_errno(e);
        return lleval_err_errno(err, "cannot rename to", path);
    }
    return 0;
}

/* See portable_int.h: by its UTF-8 name (remove() takes the ANSI code page). */
void lleval_plat_remove(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    DeleteFileW(w);
    free(w);
}

int lleval_fsize(FILE *f, uint64_t *size)
{
    LARGE_INTEGER li;
    if (!GetFileSizeEx(lleval_w32_handle(f), &li))
        return lleval_w32_set_errno(GetLastError());
    *size = (uint64_t)li.QuadPart;
    return 0;
}

static bool is_sep(char c)
{
    return c == '/' || c == '\\';
}

/* The length of path's root: "C:\" 3, "C:" 2, "\\server\share\" up to the
 * share, "\" 1, a relative path 0. */
static size_t root_len(const char *p)
{
    if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':')
        return is_sep(p[2]) ? 3 : 2;
    if (is_sep(p[0]) && is_sep(p[1])) {
        size_t i = 2;
        for (int part = 0; part < 2 && p[i]; part++) {
            while (p[i] && !is_sep(p[i]))
                i++;
            if (p[i])
                i++;
        }
        return i;
    }
    return is_sep(p[0]) ? 1 : 0;
}

int lleval_mkdirs(const char *path, struct lleval_err *err)
{
    char *p = lleval_xstrdup(path);
    int rc = 0;
    for (char *s = p + root_len(p);; s++) {
        bool end = !*s;
        wchar_t *w;
        if (!end && !is_sep(*s))
            continue;
        if (s > p && !is_sep(s[-1])) {
            char saved = *s;
            *s = '\0';
            w = lleval_w32_wide(p);
            if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
                DWORD e = GetLastError();
                free(w);
                lleval_w32_set_errno(e);
                rc = lleval_err_errno(err, "cannot create directory", p);
                goto out;
            }
            free(w);
            *s = saved;
        }
        if (end)
            break;
    }
    if (!lleval_is_dir(p))
        rc = lleval_err_set(err, LLEVAL_EIO, "'%s' exists and is not a directory", p);
out:
    free(p);
    return rc;
}

int lleval_remove_tree(const char *path, struct lleval_err *err)
{
    wchar_t *w = lleval_w32_wide(path);
    DWORD attr = GetFileAttributesW(w);
    int rc = 0;

    if (attr == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        free(w);
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return 0;
        lleval_w32_set_errno(e);
        return lleval_err_errno(err, "cannot stat", path);
    }
    if (attr & FILE_ATTRIBUTE_READONLY)
        SetFileAttributesW(w, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
    if ((attr & FILE_ATTRIBUTE_DIRECTORY) && !(attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
        struct lleval_dir_list list;
        rc = lleval_list_dir(path, &list, err);
        for (size_t i = 0; !rc && i < list.n; i++) {
            char *child = lleval_path_join(path, list.names[i]);
            rc = lleval_remove_tree(child, err);
            free(child);
        }
        if (!rc)
            lleval_dir_list_release(&list);
        if (!rc && !RemoveDirectoryW(w)) {
            lleval_w32_set_errno(GetLastError());
            rc = lleval_err_errno(err, "cannot remove", path);
        }
    } else if ((attr & FILE_ATTRIBUTE_DIRECTORY) ? !RemoveDirectoryW(w) : !DeleteFileW(w)) {
        /* a link to a folder goes with RemoveDirectoryW, its target stays */
        lleval_w32_set_errno(GetLastError());
        rc = lleval_err_errno(err, "cannot remove", path);
    }
    free(w);
    return rc;
}

/* GetFileAttributesW of a UTF-8 path, links followed as stat() does. */
static DWORD attributes(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h =
        CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    BY_HANDLE_FILE_INFORMATION info;
    DWORD attr = INVALID_FILE_ATTRIBUTES;
    if (h != INVALID_HANDLE_VALUE) {
        if (GetFileInformationByHandle(h, &info))
            attr = info.dwFileAttributes;
        CloseHandle(h);
    }
    free(w);
    return attr;
}

bool lleval_path_exists(const char *path)
{
    return attributes(path) != INVALID_FILE_ATTRIBUTES;
}

bool lleval_is_dir(const char *path)
{
    DWORD attr = attributes(path);
    return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY);
}

char *lleval_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    char sep, *out;
    if (!la || root_len(b))
        return lleval_xstrdup(b);
    /* a's own separator (a backslash when a has one, else '/'), b's made
     * the same: "runs" + "r1/x" is "runs/r1/x", a path never mixes the two */
    sep = strchr(a, '\\') ? '\\' : '/';
    out = lleval_xasprintf("%s%s%s", a, is_sep(a[la - 1]) ? "" : (sep == '/' ? "/" : "\\"), b);
    for (char *p = out + la; *p; p++)
        if (is_sep(*p))
            *p = sep;
    return out;
}

const char *lleval_path_under(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    while (n > root_len(dir) && is_sep(dir[n - 1]))
        n--;
    if (n && is_sep(dir[n - 1])) /* a root: "C:\" */
        return strncmp(path, dir, n) ? NULL : path + n;
    if (!n || strncmp(path, dir, n) || !is_sep(path[n]))
        return NULL;
    return path + n + 1;
}

char *lleval_path_portable(const char *path)
{
    char *out = lleval_xstrdup(path);
    for (char *p = out; *p; p++)
        if (*p == '\\')
            *p = '/';
    return out;
}

const char *lleval_path_basename(const char *path)
{
    const char *base = path + root_len(path);
    for (const char *p = base; *p; p++)
        if (is_sep(*p))
            base = p + 1;
    return base;
}

char *lleval_path_dirname(const char *path)
{
    size_t root = root_len(path), i = strlen(path);
    while (i > root && !is_sep(path[i - 1]))
        i--;
    if (i <= root)
        return root ? lleval_xstrndup(path, root) : lleval_xstrdup(".");
    while (i > root + 1 && is_sep(path[i - 2]))
        i--; /* "a\\b": "a" */
    return lleval_xstrndup(path, i - 1 > root ? i - 1 : root);
}

bool lleval_is_readable(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    CloseHandle(h);
    return true;
}

int64_t lleval_file_size(const char *path)
{
    wchar_t *w = lleval_w32_wide(path);
    WIN32_FILE_ATTRIBUTE_DATA d;
    BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
    free(w);
    if (!ok)
        return -1;
    return (int64_t)(((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow);
}

int lleval_file_mtime(const char *path, int64_t *ns)
{
    wchar_t *w = lleval_w32_wide(path);
    WIN32_FILE_ATTRIBUTE_DATA d;
    BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
    uint64_t t;
    free(w);
    if (!ok)
        return -1;
    /* 100 ns ticks since 1601-01-01 */
    t = ((uint64_t)d.ftLastWriteTime.dwHighDateTime << 32) | d.ftLastWriteTime.dwLowDateTime;
    *ns = ((int64_t)t - INT64_C(116444736000000000)) * 100;
    return 0;
}

int lleval_list_dir(const char *dir, struct lleval_dir_list *out, struct lleval_err *err)
{
    char *pattern = lleval_path_join(dir, "*");
    wchar_t *w = lleval_w32_wide(pattern);
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(w, &fd);
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    free(pattern);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND && lleval_is_dir(dir))
            return 0; /* an empty drive root has no entries at all */
        lleval_w32_set_errno(e);
        return lleval_err_errno(err, "cannot open directory", dir);
    }
    do {
        if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L".."))
            continue;
        LLEVAL_GROW(out->names, out->n, cap);
        out->names[out->n++] = lleval_w32_utf8(fd.cFileName);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    lleval_plat_sort_names(out);
    return 0;
}

/* ---- append-only files ---------------------------------------------------------- */

struct lleval_afile {
    HANDLE h;
    char *path;
    char *label;
};

/* Sets err to "<what> <label> 'path': <reason>" and returns LLEVAL_EIO. */
static int afile_err(const struct lleval_afile *f, struct lleval_err *err, const char *what,
                     DWORD code)
{
    char msg[512];
    return lleval_err_set(err, LLEVAL_EIO, "%s %s '%s': %s", what, f->label, f->path,
                          lleval_w32_strerror(code, msg, sizeof(msg)));
}

int lleval_afile_open(const char *path, const char *label, struct lleval_afile **out,
                      struct lleval_err *err)
{
    struct lleval_afile *f = lleval_xcalloc(1, sizeof(*f));
    DWORD code;
    int rc;

    *out = NULL;
    f->path = lleval_xstrdup(path);
    f->label = lleval_xstrdup(label);
    /* write access for truncate; every append goes to the end (see below) */
    rc = lleval_w32_open(path, GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS, &f->h, &code, err);
    if (rc) {
        f->h = INVALID_HANDLE_VALUE;
        if (rc == 1)
            rc = afile_err(f, err, "cannot open", code);
        lleval_afile_close(f, NULL);
        return rc;
    }
    *out = f;
    return 0;
}

int lleval_afile_size(struct lleval_afile *f, uint64_t *size, struct lleval_err *err)
{
    LARGE_INTEGER li;
    if (!GetFileSizeEx(f->h, &li))
        return afile_err(f, err, "cannot stat", GetLastError());
    *size = (uint64_t)li.QuadPart;
    return 0;
}

int lleval_afile_append(struct lleval_afile *f, const void *data, size_t len,
                        struct lleval_err *err)
{
    const char *p = data;
    while (len) {
        /* offset 0xFFFFFFFF:0xFFFFFFFF writes at the end of the file in one
         * step, as FILE_APPEND_DATA (O_APPEND) does */
        OVERLAPPED ov = {0};
        DWORD n = 0, chunk = len > (1u << 30) ? (1u << 30) : (DWORD)len;
        ov.Offset = ov.OffsetHigh = 0xFFFFFFFF;
        if (!WriteFile(f->h, p, chunk, &n, &ov))
            return afile_err(f, err, "cannot append to", GetLastError());
        p += n;
        len -= n;
    }
    return 0;
}

int lleval_afile_sync(struct lleval_afile *f, struct lleval_err *err)
{
    if (!FlushFileBuffers(f->h))
        return afile_err(f, err, "cannot sync", GetLastError());
    return 0;
}

int lleval_afile_truncate(struct lleval_afile *f, uint64_t size, struct lleval_err *err)
{
    LARGE_INTEGER li;
    li.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx(f->h, li, NULL, FILE_BEGIN) || !SetEndOfFile(f->h) ||
        !FlushFileBuffers(f->h))
        return afile_err(f, err, "cannot truncate", GetLastError());
    return 0;
}

int lleval_afile_close(struct lleval_afile *f, struct lleval_err *err)
{
    int rc = 0;
    if (!f)
        return 0;
    if (f->h && f->h != INVALID_HANDLE_VALUE && !CloseHandle(f->h))
        rc = afile_err(f, err, "cannot close", GetLastError());
    free(f->path);
    free(f->label);
    free(f);
    return rc;
}

/* ---- line reader ---------------------------------------------------------------- */

int lleval_lines_next(struct lleval_lines *lr, struct lleval_err *err)
{
    size_t n = 0;
    int c = EOF;
    /* getline(3): bytes up to and with the newline, NULs included */
    while ((c = _getc_nolock(lr->f)) != EOF) {
        if (n + 2 > lr->cap) {
            lr->cap = lr->cap ? lr->cap * 2 : 256;
            lr->line = lleval_xrealloc(lr->line, lr->cap);
        }
        lr->line[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (!n) {
        if (ferror(lr->f))
            return lleval_err_errno(err, "cannot read", lr->path);
        return 0;
    }
    lr->line[n] = '\0';
    lr->lineno++;
    lr->start = lr->end;
    lr->end += (uint64_t)n;
    lr->torn = false;
    if (lr->line[n - 1] == '\n')
        lr->line[--n] = '\0';
    else
        lr->torn = true;
    if (n > 0 && lr->line[n - 1] == '\r')
        lr->line[--n] = '\0';
    lr->len = n;
    return 1;
}

int lleval_lines_seek(struct lleval_lines *lr, uint64_t off, struct lleval_err *err)
{
    if (off > (uint64_t)INT64_MAX || _fseeki64(lr->f, (__int64)off, SEEK_SET))
        return lleval_err_errno(err, "cannot seek in", lr->path);
    lr->start = lr->end = off;
    return 0;
}

/* ---- clocks --------------------------------------------------------------------- */

double lleval_now(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    /* 100 ns since 1601-01-01; the epoch is 11644473600 s later */
    return (double)(lleval_w32_ft(ft) - 116444736000000000ULL) / 1e7;
}

double lleval_monotonic(void)
{
    static LARGE_INTEGER freq; /* set once; the same on every processor */
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)(now.QuadPart / freq.QuadPart) +
           (double)(now.QuadPart % freq.QuadPart) / (double)freq.QuadPart;
}

const char *lleval_fmt_utc(char *buf, size_t size, double t)
{
    __time64_t secs = (__time64_t)t;
    struct tm tm;
    if (_gmtime64_s(&tm, &secs))
        memset(&tm, 0, sizeof(tm));
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* ---- programs and ports --------------------------------------------------------- */

bool lleval_is_executable(const char *path)
{
    DWORD attr = attributes(path);
    return attr != INVALID_FILE_ATTRIBUTES && !(attr & FILE_ATTRIBUTE_DIRECTORY);
}

char *lleval_executable_in(const char *dir, const char *name)
{
    const char *base = name + strlen(name);
    char *p;
    if (!dir || !*dir)
        return NULL;
    p = lleval_path_join(dir, name);
    if (lleval_is_executable(p))
        return p;
    while (base > name && !is_sep(base[-1]))
        base--;
    if (!strchr(base, '.')) { /* "llama-server" is llama-server.exe here */
        char *exe = lleval_xasprintf("%s.exe", p);
        free(p);
        if (lleval_is_executable(exe))
            return exe;
        p = exe;
    }
    free(p);
    return NULL;
}

char *lleval_find_in_path(const char *name)
{
    char *env = lleval_w32_getenv("PATH");
    const char *path_env = env;
    char *found = NULL;
    while (!found && path_env && *path_env) {
        const char *semi = strchr(path_env, ';');
        size_t len = semi ? (size_t)(semi - path_env) : strlen(path_env);
        char *dir = lleval_xstrndup(path_env, len);
        found = len ? lleval_executable_in(dir, name) : NULL;
        free(dir);
        path_env = semi ? semi + 1 : NULL;
    }
    free(env);
    return found;
}

char *lleval_llama_cache_bin_dir(void)
{
    char *cache = lleval_w32_getenv("LLEVAL_CACHE"), *bin;
    if (!cache || !*cache) {
        char *local = lleval_w32_getenv("LOCALAPPDATA");
        free(cache);
        cache = local && *local ? lleval_path_join(local, "lleval") : NULL;
        free(local);
        if (!cache)
            return NULL;
    }
    bin = lleval_path_join(cache, "llama.cpp-nlc-3.21.1\\bin");
    free(cache);
    return bin;
}

int lleval_free_loopback_port(const char *purpose, struct lleval_err *err)
{
    WSADATA wsa;
    struct sockaddr_in addr;
    int len = sizeof(addr), port = -1;
    SOCKET s;
    char msg[512];

    if (WSAStartup(MAKEWORD(2, 2), &wsa))
        return lleval_err_set(err, LLEVAL_EIO, "cannot start winsock to find a free port for '%s'",
                              purpose);
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        lleval_err_set(err, LLEVAL_EIO, "cannot open a socket to find a free port for '%s': %s",
                       purpose, lleval_w32_strerror((DWORD)WSAGetLastError(), msg, sizeof(msg)));
        WSACleanup();
        return LLEVAL_EIO;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    /* exclusive: no other socket may share the port while we look at it */
    {
        BOOL yes = TRUE;
        setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&yes, sizeof(yes));
    }
    if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) ||
        getsockname(s, (struct sockaddr *)&addr, &len))
        lleval_err_set(err, LLEVAL_EIO, "cannot bind 127.0.0.1:0 to find a free port for '%s': %s",
                       purpose, lleval_w32_strerror((DWORD)WSAGetLastError(), msg, sizeof(msg)));
    else
        port = ntohs(addr.sin_port);
    closesocket(s);
    WSACleanup();
    return port < 0 ? LLEVAL_EIO : port;
}

/* ---- dynamic libraries (NVML) ----------------------------------------------------- */

/* name with its %VARIABLE%s expanded (owned): "%ProgramFiles%\\..." */
static wchar_t *expand_env(const char *name)
{
    wchar_t *w = lleval_w32_wide(name);
    DWORD n;
    wchar_t *x;
    if (!strchr(name, '%'))
        return w;
    n = ExpandEnvironmentStringsW(w, NULL, 0);
    if (!n)
        return w;
    x = lleval_xcalloc(n, sizeof(*x));
    if (ExpandEnvironmentStringsW(w, x, n) != n) {
        free(x);
        return w;
    }
    free(w);
    return x;
}

void *lleval_dl_open(const char *name, char *why, size_t why_size)
{
    wchar_t *w = expand_env(name);
    /* a bare name ("nvml.dll") is searched in the application's folder and
     * System32 only, never in the current folder or PATH; a path as given */
    DWORD flags = strpbrk(name, "/\\")
                      ? LOAD_WITH_ALTERED_SEARCH_PATH
                      : LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32;
    HMODULE h = LoadLibraryExW(w, NULL, flags);
    DWORD e = h ? 0 : GetLastError();
    if (!h && e == ERROR_INVALID_PARAMETER) /* no KB2533623 (Wine): plain search */
        h = LoadLibraryW(w);
    free(w);
    if (!h && why && why_size) {
        char msg[400];
        snprintf(why, why_size, "cannot load '%s': %s", name,
                 lleval_w32_strerror(e ? e : GetLastError(), msg, sizeof(msg)));
    }
    return (void *)h;
}

lleval_dl_fn lleval_dl_sym(void *lib, const char *name)
{
    FARPROC p = lib ? GetProcAddress((HMODULE)lib, name) : NULL;
    lleval_dl_fn fn;
    memcpy(&fn, &p, sizeof(fn));
    return fn;
}

void lleval_dl_close(void *lib)
{
    if (lib)
        FreeLibrary((HMODULE)lib);
}

lleval_dl_fn lleval_dl_sym_loaded(const char *name)
{
    (void)name; /* libcurl's TLS is Schannel here: nothing to look up */
    return NULL;
}

/* ---- host facts ----------------------------------------------------------------- */

int lleval_host_mem_bytes(uint64_t *bytes)
{
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof(ms);
    if (!GlobalMemoryStatusEx(&ms))
        return LLEVAL_EIO;
    *bytes = (uint64_t)ms.ullTotalPhys;
    return 0;
}

int lleval_host_cpus(long *n)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    if (si.dwNumberOfProcessors < 1)
        return LLEVAL_EIO;
    *n = (long)si.dwNumberOfProcessors;
    return 0;
}

int lleval_host_cpu_times(uint64_t *busy, uint64_t *total)
{
    FILETIME idle, kernel, user;
    unsigned long long i, k, u;
    if (!GetSystemTimes(&idle, &kernel, &user))
        return LLEVAL_EIO;
    /* kernel time includes idle time; units of 100 ns, not clock ticks: only
     * the ratio of two samples' differences is used */
    i = lleval_w32_ft(idle);
    k = lleval_w32_ft(kernel);
    u = lleval_w32_ft(user);
    *total = k + u;
    *busy = k + u - i;
    return 0;
}

int lleval_proc_rss_kib(long pid, uint64_t *kib)
{
    PROCESS_MEMORY_COUNTERS pmc;
    HANDLE h;
    BOOL ok;
    if (pid <= 0)
        return LLEVAL_EIO;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return LLEVAL_EIO;
    ok = GetProcessMemoryInfo(h, &pmc, sizeof(pmc));
    CloseHandle(h);
    if (!ok)
        return LLEVAL_EIO;
    *kib = (uint64_t)pmc.WorkingSetSize / 1024;
    return 0;
}
#endif

void lleval_heap_trim(void)
{
    _heapmin();
}
