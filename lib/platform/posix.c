/*
 * The platform layer (POSIX; fs.h and platform.h declare it), part 1: files,
 * atomic writes, directories and their sorted listings, append-only files,
 * where llama.cpp's tools live, a free loopback port, clocks, dynamic
 * libraries, host facts (/proc) for telemetry and the stop signals.
 * Processes, process identities and lock files are in posix_proc.c; opening
 * files as what they claim to be (no links, no FIFOs inside a run directory)
 * in posix_open.c. No other file calls these OS interfaces; win32*.c are the
 * Windows counterparts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "portable_int.h"
#include "posix_int.h"

/* ---- files and directories ------------------------------------------------------ */

int lleval_fsync_file(FILE *f, const char *path, struct lleval_err *err)
{
    if (fflush(f) || fsync(fileno(f)))
        return lleval_err_errno(err, "cannot flush", path);
    return 0;
}

int lleval_fsync_dir(const char *dir, struct lleval_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return lleval_err_errno(err, "cannot open directory", dir);
    /* Some file systems refuse fsync on directories; that is not a data loss. */
    if (fsync(fd) && errno != EINVAL && errno != EROFS) {
        int rc = lleval_err_errno(err, "cannot sync directory", dir);
        close(fd);
        return rc;
    }
    close(fd);
    return 0;
}

/* See portable_int.h: rename(2) of the temp file, whose bytes the caller
 * fsynced, so the name holds the old or the new bytes after any crash. The
 * folder is not fsynced per file (a disk flush each, 3 to 40 ms on a busy
 * disk; fs.h, "Durability", says why none is needed). */
int lleval_plat_replace(const char *tmp, const char *path, struct lleval_err *err)
{
    if (rename(tmp, path))
        return lleval_err_errno(err, "cannot rename to", path);
    return 0;
}

void lleval_plat_remove(const char *path)
{
    unlink(path);
}

int lleval_mkdirs(const char *path, struct lleval_err *err)
{
    char *p = lleval_xstrdup(path);
    int rc = 0;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) && errno != EEXIST) {
            rc = lleval_err_errno(err, "cannot create directory", p);
            goto out;
        }
        *s = '/';
    }
    if (mkdir(p, 0777) && errno != EEXIST)
        rc = lleval_err_errno(err, "cannot create directory", p);
    else if (!lleval_is_dir(p))
        rc = lleval_err_set(err, LLEVAL_EIO, "'%s' exists and is not a directory", p);
out:
    free(p);
    return rc;
}

int lleval_remove_tree(const char *path, struct lleval_err *err)
{
    struct stat st;
    if (lstat(path, &st))
        return errno == ENOENT ? 0 : lleval_err_errno(err, "cannot stat", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d)
            return lleval_err_errno(err, "cannot open directory", path);
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *child = lleval_path_join(path, de->d_name);
            int rc = lleval_remove_tree(child, err);
            free(child);
            if (rc) {
                closedir(d);
                return rc;
            }
        }
        closedir(d);
        if (rmdir(path))
            return lleval_err_errno(err, "cannot remove", path);
        return 0;
    }
    if (unlink(path))
        return lleval_err_errno(err, "cannot remove", path);
    return 0;
}

bool lleval_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool lleval_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *lleval_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (!la || b[0] == '/')
        return lleval_xstrdup(b);
    return lleval_xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

const char *lleval_path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char *lleval_path_under(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        return strncmp(path, dir, n) ? NULL : path + n;
    if (!n || strncmp(path, dir, n) || path[n] != '/')
        return NULL;
    return path + n + 1;
}

char *lleval_path_portable(const char *path)
{
    return lleval_xstrdup(path);
}

char *lleval_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return lleval_xstrdup(".");
    if (slash == path)
        return lleval_xstrdup("/");
    return lleval_xstrndup(path, (size_t)(slash - path));
}

bool lleval_is_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

int64_t lleval_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (int64_t)st.st_size;
}

int lleval_file_mtime(const char *path, int64_t *ns)
{
    struct stat st;
    if (stat(path, &st))
        return -1;
    *ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
    return 0;
}

int lleval_list_dir(const char *dir, struct lleval_dir_list *out, struct lleval_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    if (!d)
        return lleval_err_errno(err, "cannot open directory", dir);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        LLEVAL_GROW(out->names, out->n, cap);
        out->names[out->n++] = lleval_xstrdup(de->d_name);
    }
    closedir(d);
    lleval_plat_sort_names(out);
    return 0;
}

/* ---- append-only files ---------------------------------------------------------- */

struct lleval_afile {
    int fd;
    char *path;
    char *label;
};

/* Sets err to "<what> <label> 'path': strerror(errno)" and returns LLEVAL_EIO. */
static int afile_errno(const struct lleval_afile *f, struct lleval_err *err, const char *what)
{
    return lleval_err_set(err, LLEVAL_EIO, "%s %s '%s': %s", what, f->label, f->path,
                          strerror(errno));
}

int lleval_afile_open(const char *path, const char *label, struct lleval_afile **out,
                      struct lleval_err *err)
{
    struct lleval_afile *f = lleval_xcalloc(1, sizeof(*f));
    int rc;

    *out = NULL;
    f->path = lleval_xstrdup(path);
    f->label = lleval_xstrdup(label);
    rc = lleval_posix_open(path, O_WRONLY | O_CREAT | O_APPEND, 0666, &f->fd, err);
    if (rc) {
        if (rc == 1)
            rc = afile_errno(f, err, "cannot open");
        lleval_afile_close(f, NULL);
        return rc;
    }
    *out = f;
    return 0;
}

int lleval_afile_size(struct lleval_afile *f, uint64_t *size, struct lleval_err *err)
{
    struct stat st;
    if (fstat(f->fd, &st))
        return afile_errno(f, err, "cannot stat");
    *size = (uint64_t)st.st_size;
    return 0;
}

int lleval_afile_append(struct lleval_afile *f, const void *data, size_t len,
                        struct lleval_err *err)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return afile_errno(f, err, "cannot append to");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lleval_afile_sync(struct lleval_afile *f, struct lleval_err *err)
{
    if (fdatasync(f->fd))
        return afile_errno(f, err, "cannot sync");
    return 0;
}

int lleval_afile_truncate(struct lleval_afile *f, uint64_t size, struct lleval_err *err)
{
    if (ftruncate(f->fd, (off_t)size) || fsync(f->fd))
        return afile_errno(f, err, "cannot truncate");
    return 0;
}

int lleval_afile_close(struct lleval_afile *f, struct lleval_err *err)
{
    int rc = 0;
    if (!f)
        return 0;
    if (f->fd >= 0 && close(f->fd))
        rc = afile_errno(f, err, "cannot close");
    free(f->path);
    free(f->label);
    free(f);
    return rc;
}

/* ---- line reader ---------------------------------------------------------------- */

int lleval_lines_next(struct lleval_lines *lr, struct lleval_err *err)
{
    ssize_t n = getline(&lr->line, &lr->cap, lr->f);
    if (n < 0) {
        if (ferror(lr->f))
            return lleval_err_errno(err, "cannot read", lr->path);
        return 0;
    }
    lr->lineno++;
    lr->start = lr->end;
    lr->end += (uint64_t)n;
    lr->torn = false;
    if (n > 0 && lr->line[n - 1] == '\n')
        lr->line[--n] = '\0';
    else
        lr->torn = true;
    if (n > 0 && lr->line[n - 1] == '\r')
        lr->line[--n] = '\0';
    lr->len = (size_t)n;
    return 1;
}

int lleval_lines_seek(struct lleval_lines *lr, uint64_t off, struct lleval_err *err)
{
    if (off > (uint64_t)INT64_MAX || fseeko(lr->f, (off_t)off, SEEK_SET))
        return lleval_err_errno(err, "cannot seek in", lr->path);
    lr->start = lr->end = off;
    return 0;
}

/* ---- clocks --------------------------------------------------------------------- */

double lleval_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double lleval_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *lleval_fmt_utc(char *buf, size_t size, double t)
{
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* ---- programs and ports --------------------------------------------------------- */

bool lleval_is_executable(const char *path)
{
    return !lleval_is_dir(path) && access(path, X_OK) == 0;
}

char *lleval_executable_in(const char *dir, const char *name)
{
    char *p;
    if (!dir || !*dir)
        return NULL;
    p = lleval_path_join(dir, name);
    if (lleval_is_executable(p))
        return p;
    free(p);
    return NULL;
}

char *lleval_find_in_path(const char *name)
{
    const char *path_env = getenv("PATH");
    while (path_env && *path_env) {
        const char *colon = strchr(path_env, ':');
        size_t len = colon ? (size_t)(colon - path_env) : strlen(path_env);
        char *dir = lleval_xstrndup(path_env, len);
        char *found = len ? lleval_executable_in(dir, name) : NULL;
        free(dir);
        if (found)
            return found;
        path_env = colon ? colon + 1 : NULL;
    }
    return NULL;
}

char *lleval_llama_cache_bin_dir(void)
{
    const char *env;
    char *cache, *bin;
    if ((env = getenv("LLEVAL_CACHE")) && *env)
        cache = lleval_xstrdup(env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        cache = lleval_path_join(env, "lleval");
    else if ((env = getenv("HOME")) && *env)
        cache = lleval_path_join(env, ".cache/lleval");
    else
        return NULL;
    bin = lleval_path_join(cache, "llama.cpp-nlc-3.21.1/bin");
    free(cache);
    return bin;
}

int lleval_free_loopback_port(const char *purpose, struct lleval_err *err)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    if (fd < 0)
        return lleval_err_set(err, LLEVAL_EIO,
                              "cannot open a socket to find a free port for '%s': %s", purpose,
                              strerror(errno));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
        getsockname(fd, (struct sockaddr *)&addr, &len)) {
        int rc = lleval_err_set(err, LLEVAL_EIO,
                                "cannot bind 127.0.0.1:0 to find a free port for '%s': %s", purpose,
                                strerror(errno));
        close(fd);
        return rc;
    }
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

/* ---- dynamic libraries (NVML) ------------------------------------------- */

void *lleval_dl_open(const char *name, char *why, size_t why_size)
{
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h && why && why_size) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e ? e : "cannot load");
    }
    return h;
}

lleval_dl_fn lleval_dl_sym(void *lib, const char *name)
{
    void *p = lib ? dlsym(lib, name) : NULL;
    lleval_dl_fn fn;
    /* ISO C has no object-to-function pointer conversion; POSIX makes the bytes the same */
    memcpy(&fn, &p, sizeof(fn));
    return fn;
}

void lleval_dl_close(void *lib)
{
    if (lib)
        dlclose(lib);
}

lleval_dl_fn lleval_dl_sym_loaded(const char *name)
{
    void *self = dlopen(NULL, RTLD_LAZY); /* the program: dlsym searches its global scope */
    lleval_dl_fn fn = lleval_dl_sym(self, name);
    lleval_dl_close(self);
    return fn;
}

/* ---- host facts (Linux /proc) ------------------------------------------- */

ssize_t lleval_posix_read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    size_t len = 0;
    if (fd < 0)
        return -1;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

int lleval_host_mem_bytes(uint64_t *bytes)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) {
        *bytes = (uint64_t)pages * (uint64_t)page;
        return 0;
    }
#endif
    return LLEVAL_EIO;
}

int lleval_host_cpus(long *n)
{
    long v = sysconf(_SC_NPROCESSORS_ONLN);
    if (v < 1)
        return LLEVAL_EIO;
    *n = v;
    return 0;
}

int lleval_host_cpu_times(uint64_t *busy, uint64_t *total)
{
    char buf[512];
    const char *p = buf + 3;
    uint64_t v[8] = {0}, sum = 0;
    if (lleval_posix_read_small("/proc/stat", buf, sizeof(buf)) <= 0 || strncmp(buf, "cpu ", 4))
        return LLEVAL_EIO;
    /* cpu  user nice system idle iowait irq softirq steal [guest guest_nice: inside user] */
    for (int i = 0; i < 8; i++) {
        char *end;
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (end == p || errno) {
            if (i < 4)
                return LLEVAL_EIO; /* old kernels have fewer fields */
            break;
        }
        sum += v[i];
        p = end;
    }
    *total = sum;
    *busy = sum - v[3] - v[4];
    return 0;
}

int lleval_proc_rss_kib(long pid, uint64_t *kib)
{
    char path[64], buf[4096];
    const char *line;
    char *end;
    if (pid <= 0)
        return LLEVAL_EIO;
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if (lleval_posix_read_small(path, buf, sizeof(buf)) <= 0)
        return LLEVAL_EIO;
    line = strstr(buf, "\nVmRSS:");
    if (!line)
        return LLEVAL_EIO; /* a zombie or kernel thread has none */
    line += 7;
    while (*line == ' ' || *line == '\t')
        line++;
    errno = 0;
    *kib = strtoull(line, &end, 10);
    if (end == line || errno)
        return LLEVAL_EIO;
    return 0;
}

/* Incremented by the SIGINT/SIGTERM handler (see lleval_stop_signal()). */
static volatile sig_atomic_t stop_signals = 0;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_signals < 100)
        stop_signals++;
}

int lleval_stop_signal(void)
{
    return (int)stop_signals;
}

void lleval_stop_signal_reset(void)
{
    stop_signals = 0;
}

void lleval_install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool lleval_isatty(int fd)
{
    return isatty(fd) != 0;
}

int lleval_term_columns(void)
{
    struct winsize ws;
    if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_col == 0)
        return 0;
    return ws.ws_col;
}

char *lleval_cwd(void)
{
    char buf[4096];
    return getcwd(buf, sizeof(buf)) ? lleval_xstrdup(buf) : NULL;
}

void lleval_ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

bool lleval_term_colors(int fd)
{
    const char *term = getenv("TERM");
    return isatty(fd) && term && strcmp(term, "dumb");
}

void lleval_process_init(int *argc, char ***argv)
{
    (void)argc; /* arguments are bytes, UTF-8 by convention */
    (void)argv;
}

int lleval_fsize(FILE *f, uint64_t *size)
{
    struct stat st;
    if (fstat(fileno(f), &st))
        return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

int lleval_rename(const char *from, const char *to)
{
    return rename(from, to);
}

void lleval_heap_trim(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
