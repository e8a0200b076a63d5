/*
 * The managed llama-server (see launch.h): finding the binary, a free
 * loopback port, the argument vector, spawning it without a shell, the
 * health wait, restarts after a crash, and a stop that always reaps.
 *
 * Processes, ports and paths go through the platform layer (platform.h):
 * this file has no OS calls of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/engine/http.h"
#include "lleval/engine/launch.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

#define SERVER_NAME    "llama-server"
#define BIND_ATTEMPTS  3
#define STOP_GRACE_MS  5000
#define HEALTH_POLL_MS 200
#define LOG_TAIL_LINES 6
#define LOG_TAIL_BYTES 900
#define DEVICE_ENV     "CUDA_VISIBLE_DEVICES" /* launch.devices sets it per instance */

struct lleval_launch {
    const struct lleval_config *cfg; /* borrowed; outlives the handle */
    char *binary;
    char *log_path;
    char *pid_path;
    char *identity_path; /* "<pid> <start id>" of the server, for the orphan check */
    long health_timeout_s;
    long pid; /* 0: none runs */
    int port;
    char base_url[64];
    long starts;
    long restarts;
    struct lleval_proc_exit last_exit; /* how the last server died */
    bool last_exit_known;
    char *device; /* CUDA_VISIBLE_DEVICES for this server (launch.devices), or NULL */
};

/* ---- finding llama-server ------------------------------------------------ */

char *lleval_launch_find_binary(const char *explicit_path, struct lleval_err *err)
{
    char *found, *cache;

    if (explicit_path && *explicit_path) {
        if (lleval_is_dir(explicit_path)) {
            if ((found = lleval_executable_in(explicit_path, SERVER_NAME)))
                return found;
            lleval_err_set(err, LLEVAL_EENGINE,
                           "launch.binary '%s' is a directory without an executable "
                           "llama-server: name the binary itself or its directory",
                           explicit_path);
            return NULL;
        }
        if (lleval_is_executable(explicit_path))
            return lleval_xstrdup(explicit_path);
        lleval_err_set(err, LLEVAL_EENGINE,
                       "launch.binary '%s' is not an executable file: fix the path, or remove "
                       "the key to use llama-server from PATH or scripts/provision-llama.sh",
                       explicit_path);
        return NULL;
    }
    if ((found = lleval_executable_in(getenv("LLEVAL_LLAMA_BIN_DIR"), SERVER_NAME)))
        return found;
    if ((found = lleval_find_in_path(SERVER_NAME)))
        return found;
    cache = lleval_llama_cache_bin_dir();
    found = lleval_executable_in(cache, SERVER_NAME);
    if (!found)
        lleval_err_set(err, LLEVAL_EENGINE,
                       "llama-server not found in $LLEVAL_LLAMA_BIN_DIR, PATH or '%s': build it "
                       "with scripts/provision-llama.sh, or set launch.binary",
                       cache ? cache : LLEVAL_LLAMA_CACHE_HINT);
    free(cache);
    return found;
}

/* ---- argv -------------------------------------------------------------- */

long lleval_launch_parallel(const struct lleval_config *cfg)
{
    if (cfg->launch.parallel > 0)
        return cfg->launch.parallel;
    return cfg->max_concurrent_jobs > 0 ? cfg->max_concurrent_jobs : 1;
}

long lleval_launch_ctx_size(const struct lleval_config *cfg)
{
    if (cfg->launch.ctx_size > 0)
        return cfg->launch.ctx_size;
    return cfg->context_length * lleval_launch_parallel(cfg);
}

char **lleval_launch_argv(const struct lleval_config *cfg, const char *binary, int port,
                          size_t *argc)
{
    size_t cap = 16 + cfg->launch.n_extra_args, n = 0;
    char **argv = lleval_xcalloc(cap, sizeof(char *));

    argv[n++] = lleval_xstrdup(binary);
    argv[n++] = lleval_xstrdup("-m");
    argv[n++] = lleval_xstrdup(cfg->launch.model ? cfg->launch.model : "");
    argv[n++] = lleval_xstrdup("--host");
    argv[n++] = lleval_xstrdup("127.0.0.1");
    argv[n++] = lleval_xstrdup("--port");
    argv[n++] = lleval_xasprintf("%d", port);
    argv[n++] = lleval_xstrdup("-c");
    argv[n++] = lleval_xasprintf("%ld", lleval_launch_ctx_size(cfg));
    argv[n++] = lleval_xstrdup("-np");
    argv[n++] = lleval_xasprintf("%ld", lleval_launch_parallel(cfg));
    if (cfg->launch.gpu_layers >= 0) {
        argv[n++] = lleval_xstrdup("-ngl");
        argv[n++] = lleval_xasprintf("%ld", cfg->launch.gpu_layers);
    }
    argv[n++] = lleval_xstrdup("--metrics");
    for (size_t i = 0; i < cfg->launch.n_extra_args; i++)
        argv[n++] = lleval_xstrdup(cfg->launch.extra_args[i]);
    argv[n] = NULL;
    if (argc)
        *argc = n;
    return argv;
}

void lleval_launch_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* ---- ports ------------------------------------------------------------- */

int lleval_launch_free_port(struct lleval_err *err)
{
    return lleval_free_loopback_port(SERVER_NAME, err);
}

/* ---- the log ----------------------------------------------------------- */

static long file_size(const char *path)
{
    int64_t size = lleval_file_size(path);
    return size < 0 ? 0 : (long)size;
}

/* The last lines the server wrote since offset, joined by " | " (owned). */
static char *log_tail(const char *path, long offset)
{
    struct lleval_sb sb = LLEVAL_SB_INIT, out = LLEVAL_SB_INIT;
    const char *start, *p;
    int lines = 0;

    if (lleval_read_file(path, &sb, 64u << 20, NULL)) {
        lleval_sb_release(&sb);
        return lleval_xstrdup("(log unreadable)");
    }
    lleval_sb_rtrim(&sb);
    start = offset > 0 && (size_t)offset <= sb.len ? sb.buf + offset : sb.buf;
    p = sb.buf + sb.len;
    while (p > start && lines < LOG_TAIL_LINES && (size_t)(sb.buf + sb.len - p) < LOG_TAIL_BYTES) {
        p--;
        if (*p == '\n')
            lines++;
    }
    if (*p == '\n')
        p++;
    for (; *p; p++) {
        if (*p == '\n')
            lleval_sb_adds(&out, " | ");
        else if (*p != '\r')
            lleval_sb_addch(&out, *p);
    }
    lleval_sb_release(&sb);
    if (!out.len)
        lleval_sb_adds(&out, "(empty)");
    return lleval_sb_detach(&out, NULL);
}

static bool log_says(const char *path, long offset, const char *what)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    bool found = false;
    if (!lleval_read_file(path, &sb, 64u << 20, NULL) && offset >= 0 && (size_t)offset <= sb.len)
        found = strstr(sb.buf + offset, what) != NULL;
    lleval_sb_release(&sb);
    return found;
}

/* Appends one line to the log (lleval's own lines start with "--- lleval:"). */
static int log_line(const struct lleval_launch *l, const char *line, struct lleval_err *err)
{
    FILE *f = fopen(l->log_path, "a");
    if (!f)
        return lleval_err_errno(err, "cannot open the llama-server log", l->log_path);
    fprintf(f, "--- lleval: %s\n", line);
    if (fclose(f))
        return lleval_err_errno(err, "cannot write the llama-server log", l->log_path);
    return 0;
}

/* ---- processes --------------------------------------------------------- */

/* SIGTERM to the server's process group, SIGKILL after the grace, reaped. */
static void kill_server(struct lleval_launch *l)
{
    if (l->pid <= 0)
        return;
    lleval_proc_terminate(l->pid, STOP_GRACE_MS);
    l->pid = 0;
}

/* Reads "<pid> <start id>" from the identity file; false when there is none
 * or it is not that. */
static bool read_identity(const char *path, struct lleval_proc_id *id)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *end;
    bool ok = false;
    if (!lleval_read_file(path, &sb, 64, NULL)) {
        char *space = strchr(sb.buf, ' ');
        lleval_sb_rtrim(&sb);
        if (space) {
            *space = '\0';
            errno = 0;
            id->start = strtoull(space + 1, &end, 10);
            ok = end != space + 1 && !*end && !errno &&
                 !lleval_parse_long(sb.buf, 2, 1L << 30, &id->pid);
        }
    }
    lleval_sb_release(&sb);
    return ok;
}

/*
 * A server that an earlier lleval left behind: one started before
 * LLEVAL_SPAWN_DIE_WITH_PARENT, or on a platform without it. Its identity
 * file names it by pid and start id, so only that very process is stopped,
 * never an unrelated one that got its pid since; a file without a start id
 * (older lleval) names nothing. The files are removed either way.
 */
static void stop_orphan(struct lleval_launch *l)
{
    struct lleval_proc_id id;
    if (read_identity(l->identity_path, &id) && id.pid != lleval_getpid() &&
        lleval_proc_is_alive(&id)) {
        char line[160];
        snprintf(line, sizeof(line), "stopping llama-server pid %ld left by an earlier lleval",
                 id.pid);
        log_line(l, line, NULL);
        lleval_proc_terminate_other(&id, STOP_GRACE_MS);
    }
    remove(l->identity_path);
    remove(l->pid_path);
}

/* Appends arg to sb, single-quoted when it has spaces or quotes (for the log). */
static void add_shell_word(struct lleval_sb *sb, const char *arg)
{
    if (*arg && !strpbrk(arg, " \t\n'\"\\$`")) {
        lleval_sb_adds(sb, arg);
        return;
    }
    lleval_sb_addch(sb, '\'');
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            lleval_sb_adds(sb, "'\\''");
        else
            lleval_sb_addch(sb, *p);
    }
    lleval_sb_addch(sb, '\'');
}

/* Starts one server process on port; *offset gets where its output begins. */
static int spawn_server(struct lleval_launch *l, int port, long *offset, struct lleval_err *err)
{
    char **argv = lleval_launch_argv(l->cfg, l->binary, port, NULL);
    struct lleval_sb head = LLEVAL_SB_INIT;
    char when[40];
    long pid;
    int rc;

    lleval_sb_addf(&head, "start %ld of llama-server at %s on port %d:", l->starts + 1,
                   lleval_fmt_utc(when, sizeof(when), lleval_now()), port);
    for (char **a = argv; *a; a++) {
        lleval_sb_addch(&head, ' ');
        add_shell_word(&head, *a);
    }
    rc = log_line(l, head.buf, err);
    lleval_sb_release(&head);
    if (rc)
        goto out;
    *offset = file_size(l->log_path);

    /* its own process group: a Ctrl-C in the terminal stops lleval, which
     * settles its requests and then stops the server itself; and it dies
     * with lleval, however lleval ends (this is lleval's only thread). One
     * instance of several gets its own devices through the environment it
     * inherits, set around the spawn only. */
    {
        const char *had = l->device ? getenv(DEVICE_ENV) : NULL;
        char *saved = had ? lleval_xstrdup(had) : NULL;
        if (l->device)
            lleval_env_set(DEVICE_ENV, l->device);
        rc = lleval_proc_spawn(l->binary, argv, l->log_path,
                               LLEVAL_SPAWN_APPEND_LOG | LLEVAL_SPAWN_OWN_GROUP |
                                   LLEVAL_SPAWN_DIE_WITH_PARENT,
                               &pid, err);
        if (l->device)
            lleval_env_set(DEVICE_ENV, saved);
        free(saved);
    }
    if (rc) {
        if (err)
            err->code = LLEVAL_EENGINE; /* the message says why */
        rc = LLEVAL_EENGINE;
        goto out;
    }
    l->pid = pid;
    l->port = port;
    l->starts++;
    snprintf(l->base_url, sizeof(l->base_url), "http://127.0.0.1:%d", port);
    {
        /* the identity first: the pid alone names no process for sure */
        struct lleval_proc_id id;
        struct lleval_err ignore = LLEVAL_ERR_INIT;
        char line[64];
        int n;
        if (!lleval_proc_identify(pid, &id)) { /* our unreaped child: the pid is its own */
            n = snprintf(line, sizeof(line), "%ld %llu\n", pid, (unsigned long long)id.start);
            lleval_write_file_atomic(l->identity_path, line, (size_t)n, &ignore);
        }
        n = snprintf(line, sizeof(line), "%ld\n", pid);
        lleval_write_file_atomic(l->pid_path, line, (size_t)n, &ignore);
    }
out:
    lleval_launch_argv_free(argv);
    return rc;
}

enum health { HEALTH_OK = 0, HEALTH_BIND_FAILED = 1 };

/*
 * Waits for GET /health 200 from the server just spawned. Returns HEALTH_OK,
 * HEALTH_BIND_FAILED when it exited because its port was taken (the caller
 * tries another), or a negative error: it exited, it was not ready in time
 * (then it is killed), or lleval was asked to stop.
 */
static int wait_healthy(struct lleval_launch *l, long offset, struct lleval_err *err)
{
    double deadline = lleval_monotonic() + (double)l->health_timeout_s;
    char *url = lleval_xasprintf("%s/health", l->base_url);
    struct lleval_http_request req = {url, NULL, NULL, 0};
    struct lleval_sb body = LLEVAL_SB_INIT;
    int rc = 0;

    for (;;) {
        struct lleval_proc_exit ex;
        long http = 0;
        struct lleval_err ignore = LLEVAL_ERR_INIT;
        if (lleval_proc_poll(l->pid, &ex)) {
            char how[96];
            char *tail;
            l->pid = 0;
            if (log_says(l->log_path, offset, "couldn't bind")) {
                rc = HEALTH_BIND_FAILED;
                break;
            }
            lleval_proc_describe(&ex, how, sizeof(how));
            tail = log_tail(l->log_path, offset);
            rc = lleval_err_set(err, LLEVAL_EENGINE,
                                "llama-server exited (%s) before it was ready; its log '%s' "
                                "ends: %s",
                                how, l->log_path, tail);
            free(tail);
            break;
        }
        if (lleval_stop_signal()) {
            kill_server(l);
            rc = lleval_err_set(err, LLEVAL_EINTR,
                                "interrupted while llama-server was starting; the run is "
                                "resumable");
            break;
        }
        lleval_sb_reset(&body);
        if (!lleval_http_fetch(&req, 2, 4096, &http, &body, &ignore) && http == 200)
            break;
        if (lleval_monotonic() >= deadline) {
            char *tail = log_tail(l->log_path, offset);
            kill_server(l);
            rc = lleval_err_set(err, LLEVAL_EENGINE,
                                "llama-server was not ready (GET /health 200) within %ld s, so "
                                "it was stopped; its log '%s' ends: %s",
                                l->health_timeout_s, l->log_path, tail);
            free(tail);
            break;
        }
        lleval_sleep_ms(HEALTH_POLL_MS);
    }
    lleval_sb_release(&body);
    free(url);
    return rc;
}

/* Starts a server and waits for it; port 0 picks a free one. A port taken
 * in the meantime is retried with a fresh one. */
static int bring_up(struct lleval_launch *l, int port, struct lleval_err *err)
{
    for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        long offset = 0;
        int p = port && attempt == 0 ? port : lleval_launch_free_port(err);
        int rc;
        if (p < 0)
            return p;
        rc = spawn_server(l, p, &offset, err);
        if (rc)
            return rc;
        rc = wait_healthy(l, offset, err);
        if (rc != HEALTH_BIND_FAILED)
            return rc;
    }
    return lleval_err_set(err, LLEVAL_EENGINE,
                          "llama-server could not bind a loopback port in %d tries; see its log "
                          "'%s'",
                          BIND_ATTEMPTS, l->log_path);
}

/* ---- the API ----------------------------------------------------------- */

int lleval_launch_start(const struct lleval_config *cfg, const char *log_path,
                        long health_timeout_s, struct lleval_launch **out, struct lleval_err *err)
{
    return lleval_launch_start_device(cfg, log_path, health_timeout_s, NULL, out, err);
}

int lleval_launch_start_device(const struct lleval_config *cfg, const char *log_path,
                               long health_timeout_s, const char *device,
                               struct lleval_launch **out, struct lleval_err *err)
{
    struct lleval_launch *l;
    char *binary;
    int rc;

    *out = NULL;
    if (!cfg->launch.model || !*cfg->launch.model)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'launch' has no model; add 'launch: {model: path/to/model.gguf}'");
    if (!lleval_is_readable(cfg->launch.model) || lleval_is_dir(cfg->launch.model))
        return lleval_err_set(err, LLEVAL_EENGINE,
                              "launch.model '%s' is not a readable file: fix the path (relative "
                              "paths start from the current directory) or make a test model "
                              "with `lleval synth-model --out FILE`",
                              cfg->launch.model);
    for (size_t i = 0; i < cfg->launch.n_extra_args; i++) {
        static const char *const owned[] = {"--port", "--host", "-m", "--model"};
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(owned); k++)
            if (!strcmp(cfg->launch.extra_args[i], owned[k]))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "launch.extra_args must not contain '%s': lleval sets the "
                                      "model (launch.model), the host and the port itself",
                                      owned[k]);
    }
    binary = lleval_launch_find_binary(cfg->launch.binary, err);
    if (!binary)
        return err->code;

    l = lleval_xcalloc(1, sizeof(*l));
    l->cfg = cfg;
    l->binary = binary;
    l->log_path = lleval_xstrdup(log_path);
    l->device = device ? lleval_xstrdup(device) : NULL;
    if (lleval_str_ends_with(log_path, ".log"))
        l->pid_path = lleval_xasprintf("%.*s.pid", (int)(strlen(log_path) - 4), log_path);
    else
        l->pid_path = lleval_xasprintf("%s.pid", log_path);
    l->identity_path =
        lleval_xasprintf("%.*s.identity", (int)(strlen(l->pid_path) - 4), l->pid_path);
    l->health_timeout_s = health_timeout_s > 0 ? health_timeout_s : LLEVAL_LAUNCH_HEALTH_TIMEOUT_S;
    stop_orphan(l);
    rc = bring_up(l, 0, err);
    if (rc) {
        lleval_launch_stop(l);
        return rc;
    }
    *out = l;
    return 0;
}

const char *lleval_launch_base_url(const struct lleval_launch *l)
{
    return l->base_url;
}

long lleval_launch_pid(const struct lleval_launch *l)
{
    return l->pid;
}

long lleval_launch_restarts(const struct lleval_launch *l)
{
    return l->restarts;
}

bool lleval_launch_last_exit(const struct lleval_launch *l, struct lleval_proc_exit *ex)
{
    if (l->last_exit_known)
        *ex = l->last_exit;
    return l->last_exit_known;
}

static void log_died(const struct lleval_launch *l, const char *how)
{
    char line[200];
    snprintf(line, sizeof(line), "llama-server died (%s)", how);
    log_line(l, line, NULL);
}

int lleval_launch_check(struct lleval_launch *l, char *note, size_t note_size,
                        struct lleval_err *err)
{
    char how[96] = "not running";
    int rc;

    if (note && note_size)
        note[0] = '\0';
    if (l->pid > 0) {
        struct lleval_proc_exit ex = {0};
        int r = lleval_proc_poll(l->pid, &ex);
        if (r == 0)
            return 0;
        if (r == 1)
            lleval_proc_describe(&ex, how, sizeof(how));
        l->last_exit = ex;
        l->last_exit_known = r == 1;
        l->pid = 0;
    }
    if (l->restarts >= l->cfg->launch.max_restarts) {
        char *tail = log_tail(l->log_path, 0);
        log_died(l, how);
        rc = lleval_err_set(err, LLEVAL_EENGINE,
                            "llama-server died (%s) after %ld restart%s (launch.max_restarts "
                            "%ld); the run is resumable; its log '%s' ends: %s",
                            how, l->restarts, l->restarts == 1 ? "" : "s",
                            l->cfg->launch.max_restarts, l->log_path, tail);
        free(tail);
        return rc;
    }
    log_died(l, how);
    l->restarts++;
    /* the same port first: requests being retried keep their address */
    rc = bring_up(l, l->port, err);
    if (rc)
        return lleval_err_prefix(err, "llama-server died (%s) and its restart failed", how);
    if (note && note_size)
        snprintf(note, note_size, "llama-server died (%s); restarted (%ld of %ld) at %s", how,
                 l->restarts, l->cfg->launch.max_restarts, l->base_url);
    return 1;
}

int lleval_launch_revive(struct lleval_launch *l, long wait_ms, char *note, size_t note_size,
                         struct lleval_err *err)
{
    double deadline = lleval_monotonic() + (double)wait_ms / 1000.0;
    for (;;) {
        int rc = lleval_launch_check(l, note, note_size, err);
        if (rc || lleval_monotonic() >= deadline || lleval_stop_signal())
            return rc;
        lleval_sleep_ms(50);
    }
}

void lleval_launch_stop(struct lleval_launch *l)
{
    if (!l)
        return;
    if (l->pid > 0) {
        char line[64];
        snprintf(line, sizeof(line), "stopping llama-server pid %ld", l->pid);
        log_line(l, line, NULL);
        kill_server(l);
    }
    if (l->pid_path)
        remove(l->pid_path);
    if (l->identity_path)
        remove(l->identity_path);
    free(l->binary);
    free(l->log_path);
    free(l->pid_path);
    free(l->identity_path);
    free(l->device);
    free(l);
}
