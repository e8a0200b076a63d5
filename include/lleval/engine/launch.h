/*
 * A managed llama-server: with `engine: llamacpp` and a `launch:` section in
 * the config, lleval starts llama.cpp's server itself on a free loopback
 * port, waits until GET /health answers 200, watches it during the run
 * (restarting it when it dies, at most launch.max_restarts times) and stops
 * it at the end. docs/llamacpp.md describes it for users.
 *
 * The server's stdout and stderr go to a log file (appended, one header line
 * per start); its pid is kept next to it in "<log>.pid" (without ".log"), and
 * its identity, "<pid> <start id>" (platform.h, lleval_proc_identify), in
 * "<log>.identity". The server dies with lleval however lleval ends
 * (LLEVAL_SPAWN_DIE_WITH_PARENT); a server left by an earlier lleval without
 * that guarantee is stopped by the next start, only when its identity file
 * names it by pid and start id.
 *
 * Processes are started, watched and stopped through include/lleval/platform.h,
 * so a Windows port changes lib/platform/posix.c, not this module.
 */
#ifndef LLEVAL_LAUNCH_H
#define LLEVAL_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"

struct lleval_proc_exit;

/* How long start and restart wait for GET /health 200 (model loading). */
#define LLEVAL_LAUNCH_HEALTH_TIMEOUT_S 300

struct lleval_launch;

/*
 * Finds the llama-server binary: explicit (launch.binary: a file, or a
 * directory holding llama-server) when not NULL; else $LLEVAL_LLAMA_BIN_DIR;
 * else PATH; else the cache that scripts/provision-llama.sh fills
 * ($LLEVAL_CACHE, else $XDG_CACHE_HOME/lleval, else ~/.cache/lleval; then
 * llama.cpp-nlc-3.21.1/bin). Returns an owned path, or NULL with err saying
 * where it looked and what to do.
 */
char *lleval_launch_find_binary(const char *explicit_path, struct lleval_err *err);

/* The slots the server gets: launch.parallel, else max_concurrent_jobs (>= 1). */
long lleval_launch_parallel(const struct lleval_config *cfg);
/* The total context passed to -c: launch.ctx_size, else context_length x
 * slots (llama-server divides -c among its slots). */
long lleval_launch_ctx_size(const struct lleval_config *cfg);

/*
 * The server's argument vector (binary borrowed, copied into argv[0]):
 *   binary -m MODEL --host 127.0.0.1 --port PORT -c CTX -np SLOTS
 *          [-ngl GPU_LAYERS] --metrics EXTRA_ARGS...
 * Returns an owned, NULL-terminated vector (free with lleval_launch_argv_free)
 * and its length in *argc when argc is not NULL.
 */
char **lleval_launch_argv(const struct lleval_config *cfg, const char *binary, int port,
                          size_t *argc);
void lleval_launch_argv_free(char **argv);

/* Returns a free TCP port on 127.0.0.1 (bind to port 0, read it, close), or
 * a negative LLEVAL_EIO with err set. */
int lleval_launch_free_port(struct lleval_err *err);

/*
 * Starts llama-server for cfg (borrowed; cfg->launch must be enabled and name
 * a model) with its output appended to log_path (borrowed; its directory must
 * exist), and waits up to health_timeout_s (<= 0: the default above) for GET
 * /health 200. A port taken between choosing and binding is retried with
 * another port. On success *out is an owned handle (stop it with
 * lleval_launch_stop). Errors: LLEVAL_EENGINE when the binary or the model is
 * missing, the server exits early (the message quotes the log's last lines)
 * or is not healthy in time (it is then killed); LLEVAL_EIO when the log
 * cannot be written.
 */
int lleval_launch_start(const struct lleval_config *cfg, const char *log_path,
                        long health_timeout_s, struct lleval_launch **out, struct lleval_err *err);

/* lleval_launch_start for one instance of several (launch.instances): device
 * (borrowed; NULL: none) is the CUDA_VISIBLE_DEVICES value the server gets,
 * at its start and every restart. */
int lleval_launch_start_device(const struct lleval_config *cfg, const char *log_path,
                               long health_timeout_s, const char *device,
                               struct lleval_launch **out, struct lleval_err *err);

/* "http://127.0.0.1:PORT" of the current server; borrowed, valid until the
 * next check/restart (a restart may move to another port) or stop. */
const char *lleval_launch_base_url(const struct lleval_launch *l);
/* The current server's pid, or 0 when none runs. */
long lleval_launch_pid(const struct lleval_launch *l);
/* Restarts done so far. */
long lleval_launch_restarts(const struct lleval_launch *l);
/* How the last server that died exited (exit status or signal) into *ex;
 * false when unknown (none died, or its exit could not be read). */
bool lleval_launch_last_exit(const struct lleval_launch *l, struct lleval_proc_exit *ex);

/*
 * Checks that the server still runs (without blocking unless it must
 * restart). Returns 0 when it runs; 1 when it had died and was restarted
 * (note, when not NULL, gets one line: "llama-server died (exit status 1);
 * restarted (1 of 3)"); LLEVAL_EENGINE when it died and could not be
 * restarted (max_restarts spent, or the restart failed: err says why).
 */
int lleval_launch_check(struct lleval_launch *l, char *note, size_t note_size,
                        struct lleval_err *err);

/*
 * For when requests cannot connect: waits up to wait_ms for a dying server
 * to exit, then restarts it as lleval_launch_check does. Returns 1 when it
 * was restarted (note as above), 0 when it still runs (it is alive but not
 * answering: not lleval's to fix), LLEVAL_EENGINE when it could not be
 * restarted.
 */
int lleval_launch_revive(struct lleval_launch *l, long wait_ms, char *note, size_t note_size,
                         struct lleval_err *err);

/*
 * Stops the server (SIGTERM, then SIGKILL after a few seconds; the process
 * is always reaped), removes the pid and identity files and frees the handle.
 * NULL is fine.
 */
void lleval_launch_stop(struct lleval_launch *l);

#endif
