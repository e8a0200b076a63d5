/*
 * The run orchestrator (see run.h): run directory, lock, steps, the poll loop
 * that routes results into per-part journals, state.json per part and the
 * manifest with job_counts per trial.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/dataset/dataset.h"
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/run/journal.h"
#include "lleval/util/json.h"
#include "lleval/engine/launch.h"
#include "lleval/report/report.h"
#include "lleval/telemetry/telemetry.h"
#include "lleval/run/run.h"
#include "lleval/score/score.h"
#include "lleval/util/util.h"

static const char *const step_names[LLEVAL_N_STEPS] = {
    "prepare", "build", "submit", "poll", "parse", "score", "report",
};

const char *lleval_step_name(enum lleval_step s)
{
    return s < LLEVAL_N_STEPS ? step_names[s] : "?";
}

int lleval_step_parse(const char *s, enum lleval_step *out)
{
    for (int i = 0; i < LLEVAL_N_STEPS; i++) {
        if (!strcmp(s, step_names[i])) {
            *out = (enum lleval_step)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

void lleval_run_opts_init(struct lleval_run_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->to_step = LLEVAL_STEP_REPORT;
}

void lleval_run_result_release(struct lleval_run_result *r)
{
    free(r->run_id);
    free(r->run_dir);
    free(r->scores_path);
    free(r->summary);
    lleval_parse_report_release(&r->parse);
    memset(r, 0, sizeof(*r));
}

bool lleval_run_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (!n || n > 128 || id[0] == '.')
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

char *lleval_run_dir(const char *runs_dir, const char *id, struct lleval_err *err)
{
    if (!lleval_run_id_valid(id)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "invalid run id '%.100s': use letters, digits, '_', '-' and '.' only "
                       "(like run_20240909_123456)",
                       id);
        return NULL;
    }
    return lleval_path_join(runs_dir, id);
}

/* ---- the run's state ---------------------------------------------------- */

struct part {
    struct lleval_part_info *info;
    size_t trial;
    char *name;         /* dataset/t0/part-001 */
    char *state_path;
    char *journal_path;
    struct lleval_journal *journal;
    size_t requests;
    size_t answered, ok, errors;
    long prompt_tokens, completion_tokens;
    double started_at, finished_at;
    const char *status; /* queued | running | done | stopped | failed */
    bool dirty;
    size_t first_job; /* index of its first job in this session's poll (telemetry) */
    struct lleval_telemetry_acc tel;
};

struct trial {
    char *name; /* dataset/t0 */
    char *dataset;
    double temp;
    size_t parts, requests, answered, errors;
    double started_at, finished_at;
    /* engine-reported speeds: sums and counts of the non-zero ones */
    double prompt_tps_sum, gen_tps_sum;
    long prompt_tps_n, gen_tps_n;
    struct lleval_telemetry_acc tel;
};

struct run {
    struct lleval_config *cfg;
    const struct lleval_run_opts *o;
    char *id, *dir, *batches_dir, *lock_path, *stop_path, *manifest_path;
    struct lleval_build_result build;
    struct part *parts;
    size_t n_parts;
    struct trial *trials;
    size_t n_trials;
    const char *status;
    double started_at;
    double last_flush;
    int steps_done; /* number of steps completed */
    char engine_detail[256];
    char last_error[512];
    bool stop_requested;
    struct lleval_telemetry *tel; /* the sampler (telemetry.h) */
    json_t *old_trials;           /* the manifest's trials before this session */
    /* a managed llama-server (launch section), and the engine it serves */
    struct lleval_launch *launch;
    struct lleval_engine *engine;
    long launch_restarts_seen;
    struct lleval_err launch_err; /* why the managed server could not be kept up */
    /* progress arrays */
    const char **trial_names;
    size_t *trial_done, *trial_total;
    size_t session_start_answered;
};

static void event(struct run *r, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
static void event(struct run *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!r->o->on_event)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->o->on_event(r->o->ud, msg);
}

static void warning(struct run *r, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
static void warning(struct run *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!r->o->on_warning)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->o->on_warning(r->o->ud, msg);
}

static char *new_run_id(const char *runs_dir)
{
    char utc[40], base[64];
    /* "2024-09-09T12:34:56Z" -> "run_20240909_123456", the guide's form */
    lleval_fmt_utc(utc, sizeof(utc), lleval_now());
    snprintf(base, sizeof(base), "run_%.4s%.2s%.2s_%.2s%.2s%.2s", utc, utc + 5, utc + 8, utc + 11,
             utc + 14, utc + 17);
    for (int i = 1;; i++) {
        char *id = i == 1 ? lleval_xstrdup(base) : lleval_xasprintf("%s_%d", base, i);
        char *dir = lleval_path_join(runs_dir, id);
        bool taken = lleval_path_exists(dir);
        free(dir);
        if (!taken)
            return id;
        free(id);
    }
}

static int acquire_lock(struct run *r, struct lleval_err *err)
{
    long pid;
    int rc = lleval_lock_acquire(r->lock_path, &pid, err);
    if (rc == 1)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' is being run by process %ld; stop it with "
                              "`lleval runs stop %s` or wait for it to finish",
                              r->id, pid, r->id);
    return rc;
}

static json_t *part_state_json(const struct run *r, const struct part *p)
{
    char tdir[40];
    json_t *j = json_object();
    json_object_set_new(j, "run_id", json_string(r->id));
    json_object_set_new(j, "part", json_string(p->name));
    json_object_set_new(j, "dataset", json_string(p->info->dataset));
    json_object_set_new(j, "temperature", json_real(p->info->temp));
    json_object_set_new(j, "trial", json_string(r->trials[p->trial].name));
    json_object_set_new(j, "index", json_integer(p->info->index));
    json_object_set_new(j, "status", json_string(p->status));
    json_object_set_new(j, "requests", json_integer((json_int_t)p->requests));
    json_object_set_new(j, "answered", json_integer((json_int_t)p->answered));
    json_object_set_new(j, "ok", json_integer((json_int_t)p->ok));
    json_object_set_new(j, "errors", json_integer((json_int_t)p->errors));
    json_object_set_new(j, "prompt_tokens", json_integer(p->prompt_tokens));
    json_object_set_new(j, "completion_tokens", json_integer(p->completion_tokens));
    json_object_set_new(j, "started_at", p->started_at ? json_real(p->started_at) : json_null());
    json_object_set_new(j, "finished_at",
                        p->finished_at ? json_real(p->finished_at) : json_null());
    json_object_set_new(j, "elapsed_s",
                        json_real(p->started_at ? (p->finished_at ? p->finished_at : lleval_now()) -
                                                      p->started_at
                                                : 0));
    json_object_set_new(j, "batch_file",
                        json_string(p->info->batch_path + strlen(r->dir) + 1));
    json_object_set_new(j, "results_file", json_string(p->journal_path + strlen(r->dir) + 1));
    json_object_set_new(j, "telemetry",
                        lleval_telemetry_json(r->tel, &p->tel, p->completion_tokens));
    (void)tdir;
    return j;
}

static int write_part_state(struct run *r, struct part *p, struct lleval_err *err)
{
    json_t *j = part_state_json(r, p);
    int rc = lleval_json_write_atomic(p->state_path, j, err);
    json_decref(j);
    p->dirty = false;
    return rc;
}

/* The means of the engine-reported speeds (zeros, i.e. unknown, left out). */
static json_t *engine_speed_json(const struct trial *tr)
{
    return json_pack(
        "{s:o, s:o}", "prompt_tps",
        tr->prompt_tps_n ? json_real(tr->prompt_tps_sum / (double)tr->prompt_tps_n) : json_null(),
        "gen_tps",
        tr->gen_tps_n ? json_real(tr->gen_tps_sum / (double)tr->gen_tps_n) : json_null());
}

static json_t *manifest_json(struct run *r)
{
    json_t *m = json_object(), *trials = json_array(), *steps = json_array();
    size_t total = 0, answered = 0, errors = 0;
    char when[40];

    for (int s = 0; s < r->steps_done && s < LLEVAL_N_STEPS; s++)
        json_array_append_new(steps, json_string(step_names[s]));
    for (size_t t = 0; t < r->n_trials; t++) {
        struct trial *tr = &r->trials[t];
        size_t queued = 0, running = 0, done = 0, failed = 0, stopped = 0;
        long ptok = 0, ctok = 0;
        for (size_t i = 0; i < r->n_parts; i++) {
            struct part *p = &r->parts[i];
            if (p->trial != t)
                continue;
            ptok += p->prompt_tokens;
            ctok += p->completion_tokens;
            if (!strcmp(p->status, "queued"))
                queued++;
            else if (!strcmp(p->status, "running"))
                running++;
            else if (!strcmp(p->status, "done"))
                done++;
            else if (!strcmp(p->status, "stopped"))
                stopped++;
            else
                failed++;
        }
        json_array_append_new(
            trials,
            json_pack("{s:s, s:s, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, "
                      "s:{s:I, s:I}, s:o, s:o, s:f, s:o, s:o}",
                      "trial", tr->name, "dataset", tr->dataset, "temperature", tr->temp,
                      "job_counts", "total", (json_int_t)tr->parts, "queued", (json_int_t)queued,
                      "running", (json_int_t)running, "done", (json_int_t)done, "stopped",
                      (json_int_t)stopped, "failed", (json_int_t)failed, "requests", "total",
                      (json_int_t)tr->requests, "answered", (json_int_t)tr->answered, "errors",
                      (json_int_t)tr->errors, "tokens", "prompt", (json_int_t)ptok, "completion",
                      (json_int_t)ctok, "started_at",
                      tr->started_at ? json_real(tr->started_at) : json_null(), "finished_at",
                      tr->finished_at ? json_real(tr->finished_at) : json_null(), "elapsed_s",
                      tr->started_at
                          ? (tr->finished_at ? tr->finished_at : lleval_now()) - tr->started_at
                          : 0.0,
                      "telemetry", lleval_telemetry_json(r->tel, &tr->tel, ctok),
                      "engine_speed", engine_speed_json(tr)));
        total += tr->requests;
        answered += tr->answered;
        errors += tr->errors;
    }
    json_object_set_new(m, "run_id", json_string(r->id));
    json_object_set_new(m, "status", json_string(r->status));
    json_object_set_new(m, "pid", json_integer(lleval_getpid()));
    json_object_set_new(m, "model_id", json_string(r->cfg->model_id ? r->cfg->model_id : ""));
    json_object_set_new(m, "engine", json_string(lleval_engine_kind_name(r->cfg->engine)));
    json_object_set_new(m, "base_url", r->cfg->base_url ? json_string(r->cfg->base_url)
                                                        : json_null());
    json_object_set_new(m, "prompt_set", json_string(r->cfg->prompt_set ? r->cfg->prompt_set : ""));
    json_object_set_new(m, "max_concurrent_jobs", json_integer(r->cfg->max_concurrent_jobs));
    json_object_set_new(m, "started_at", json_real(r->started_at));
    json_object_set_new(m, "started_at_utc",
                        json_string(lleval_fmt_utc(when, sizeof(when), r->started_at)));
    json_object_set_new(m, "updated_at", json_real(lleval_now()));
    json_object_set_new(m, "to_step", json_string(step_names[r->o->to_step]));
    json_object_set_new(m, "steps_done", steps);
    json_object_set_new(m, "requests",
                        json_pack("{s:I, s:I, s:I}", "total", (json_int_t)total, "answered",
                                  (json_int_t)answered, "errors", (json_int_t)errors));
    json_object_set_new(m, "engine_detail", json_string(r->engine_detail));
    json_object_set_new(m, "last_error", json_string(r->last_error));
    json_object_set_new(m, "trials", trials);
    return m;
}

static int write_manifest(struct run *r, struct lleval_err *err)
{
    json_t *m;
    int rc;
    /* keep headline fields written by later steps (scores) */
    json_t *old = lleval_path_exists(r->manifest_path)
                      ? json_load_file(r->manifest_path, 0, NULL)
                      : NULL;
    m = manifest_json(r);
    if (old) {
        json_t *s = json_object_get(old, "headline");
        if (s)
            json_object_set(m, "headline", s);
        s = json_object_get(old, "created_at");
        if (s)
            json_object_set(m, "created_at", s);
        json_decref(old);
    }
    if (!json_object_get(m, "created_at"))
        json_object_set_new(m, "created_at", json_real(r->started_at));
    rc = lleval_json_write_atomic(r->manifest_path, m, err);
    json_decref(m);
    return rc;
}

/* ---- steps -------------------------------------------------------------- */

static int step_prepare(struct run *r, struct lleval_err *err)
{
    for (size_t i = 0; i < r->cfg->n_datasets; i++) {
        struct lleval_prepare_stats st;
        int rc;
        lleval_prepare_stats_init(&st);
        rc = lleval_dataset_prepare(&r->cfg->datasets[i], r->cfg->prepared_dir, 0, &st, err);
        if (rc) {
            lleval_prepare_stats_release(&st);
            return rc;
        }
        event(r, "prepare: %s: %ld items", r->cfg->datasets[i].name, (long)st.items);
        lleval_prepare_stats_release(&st);
    }
    return 0;
}

/* Copies the standalone build (cfg->batches_dir) into the run, file by file. */
static int copy_batches(struct run *r, struct lleval_err *err)
{
    struct lleval_build_result src;
    int rc = lleval_build_load(r->cfg->batches_dir, &src, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < src.n_parts && !rc; i++) {
        const char *rel = src.parts[i].batch_path + strlen(r->cfg->batches_dir) + 1;
        char *dst = lleval_path_join(r->batches_dir, rel);
        char *dir = lleval_path_dirname(dst);
        rc = lleval_mkdirs(dir, err);
        if (!rc)
            rc = lleval_copy_file_atomic(src.parts[i].batch_path, dst, err);
        free(dir);
        free(dst);
    }
    if (!rc) {
        /* build.json last: a run without it has no batches yet */
        char *from = lleval_path_join(r->cfg->batches_dir, "build.json");
        char *to = lleval_path_join(r->batches_dir, "build.json");
        rc = lleval_copy_file_atomic(from, to, err);
        free(from);
        free(to);
    }
    lleval_build_result_release(&src);
    return rc;
}

static size_t trial_index(struct run *r, const char *dataset, double temp)
{
    char tdir[40];
    for (size_t t = 0; t < r->n_trials; t++)
        if (!strcmp(r->trials[t].dataset, dataset) && r->trials[t].temp == temp)
            return t;
    r->trials = lleval_xrealloc(r->trials, (r->n_trials + 1) * sizeof(*r->trials));
    memset(&r->trials[r->n_trials], 0, sizeof(*r->trials));
    r->trials[r->n_trials].dataset = lleval_xstrdup(dataset);
    r->trials[r->n_trials].temp = temp;
    r->trials[r->n_trials].name =
        lleval_xasprintf("%s/%s", dataset, lleval_temp_dir(tdir, sizeof(tdir), temp));
    return r->n_trials++;
}

/* Keeps the telemetry and engine speeds that earlier sessions of a resumed
 * run wrote into the manifest (a speed mean counts as one result each of the
 * trial's results answered before). */
static void restore_trials(struct run *r)
{
    size_t i;
    json_t *old;
    json_array_foreach(r->old_trials, i, old)
    {
        const char *name = lleval_json_str(old, "trial");
        const json_t *speed = json_object_get(old, "engine_speed");
        for (size_t t = 0; name && t < r->n_trials; t++) {
            struct trial *tr = &r->trials[t];
            double v;
            if (strcmp(name, tr->name))
                continue;
            lleval_telemetry_acc_restore(&tr->tel, json_object_get(old, "telemetry"));
            if (!tr->answered)
                continue;
            v = lleval_json_num(speed, "prompt_tps", 0);
            if (v > 0) {
                tr->prompt_tps_n = (long)tr->answered;
                tr->prompt_tps_sum = v * (double)tr->answered;
            }
            v = lleval_json_num(speed, "gen_tps", 0);
            if (v > 0) {
                tr->gen_tps_n = (long)tr->answered;
                tr->gen_tps_sum = v * (double)tr->answered;
            }
        }
    }
}

/* Sets up parts and trials from the run's build, opening each journal. */
static int load_parts(struct run *r, struct lleval_err *err)
{
    int rc = lleval_build_load(r->batches_dir, &r->build, err);
    if (rc)
        return rc;
    r->parts = lleval_xcalloc(r->build.n_parts ? r->build.n_parts : 1, sizeof(*r->parts));
    r->n_parts = r->build.n_parts;
    for (size_t i = 0; i < r->n_parts && !rc; i++) {
        struct part *p = &r->parts[i];
        struct lleval_part_info *pi = &r->build.parts[i];
        const struct lleval_journal_stats *js;
        char tdir[40], rel[512];
        char *dir;
        json_t *old;

        p->info = pi;
        p->trial = trial_index(r, pi->dataset, pi->temp);
        lleval_temp_dir(tdir, sizeof(tdir), pi->temp);
        p->name = lleval_xasprintf("%s/%s/part-%03ld", pi->dataset, tdir, pi->index);
        snprintf(rel, sizeof(rel), "parts/%s", p->name);
        dir = lleval_path_join(r->dir, rel);
        rc = lleval_mkdirs(dir, err);
        p->state_path = lleval_path_join(dir, "state.json");
        free(dir);
        snprintf(rel, sizeof(rel), "results/parts/%s/%s", pi->dataset, tdir);
        dir = lleval_path_join(r->dir, rel);
        if (!rc)
            rc = lleval_mkdirs(dir, err);
        snprintf(rel, sizeof(rel), "part-%03ld.jsonl", pi->index);
        p->journal_path = lleval_path_join(dir, rel);
        free(dir);
        if (rc)
            break;
        rc = lleval_journal_open(p->journal_path, &p->journal, err);
        if (rc)
            break;
        js = lleval_journal_stats(p->journal);
        if (js->repaired)
            warning(r, "%s: cut %zu bytes of a torn last line (a crash mid-write); that "
                       "request will be asked again",
                    p->journal_path, js->repaired);
        p->requests = (size_t)pi->requests;
        p->answered = js->lines;
        p->ok = js->ok;
        p->errors = js->lines - js->ok;
        p->status = p->answered >= p->requests ? "done" : "queued";
        /* keep timings and token counts from an earlier session */
        old = json_load_file(p->state_path, 0, NULL);
        if (old) {
            p->started_at = lleval_json_num(old, "started_at", 0);
            p->finished_at = p->answered >= p->requests ? lleval_json_num(old, "finished_at", 0)
                                                        : 0;
            p->prompt_tokens = (long)lleval_json_int(old, "prompt_tokens", 0);
            p->completion_tokens = (long)lleval_json_int(old, "completion_tokens", 0);
            lleval_telemetry_acc_restore(&p->tel, json_object_get(old, "telemetry"));
            json_decref(old);
        }
        r->trials[p->trial].parts++;
        r->trials[p->trial].requests += p->requests;
        r->trials[p->trial].answered += p->answered;
        r->trials[p->trial].errors += p->errors;
        if (p->started_at && (!r->trials[p->trial].started_at ||
                              p->started_at < r->trials[p->trial].started_at))
            r->trials[p->trial].started_at = p->started_at;
        rc = write_part_state(r, p, err);
    }
    if (!rc)
        restore_trials(r);
    return rc;
}

static int flush_state(struct run *r, bool force, struct lleval_err *err)
{
    double now = lleval_monotonic();
    int rc = 0;
    if (!force && now - r->last_flush < 1.0)
        return 0;
    r->last_flush = now;
    for (size_t i = 0; i < r->n_parts && !rc; i++) {
        rc = lleval_journal_sync(r->parts[i].journal, err);
        if (!rc && (r->parts[i].dirty || force))
            rc = write_part_state(r, &r->parts[i], err);
    }
    if (!rc)
        rc = write_manifest(r, err);
    return rc;
}

/* Where the job source is in the batch files. */
struct job_source {
    size_t part;
    bool open;
    struct lleval_lines lr;
};

struct poll_ctx {
    struct run *r;
    struct lleval_err *err;
    int io_rc;
    struct job_source src;
};

static int on_result(void *ud, const struct lleval_job *job, json_t *line)
{
    struct poll_ctx *pc = ud;
    struct run *r = pc->r;
    struct part *p = &r->parts[job->tag];
    struct trial *t = &r->trials[p->trial];
    bool ok = json_is_null(json_object_get(line, "error"));
    const json_t *facts = json_object_get(line, "lleval");
    int rc = lleval_journal_append(p->journal, line, pc->err);

    if (rc) {
        pc->io_rc = rc;
        return rc;
    }
    p->answered++;
    t->answered++;
    if (ok) {
        p->ok++;
    } else {
        const char *msg = lleval_json_str(json_object_get(line, "error"), "message");
        p->errors++;
        t->errors++;
        snprintf(r->last_error, sizeof(r->last_error), "%s: %s", job->custom_id,
                 msg ? msg : "error");
    }
    p->prompt_tokens += (long)lleval_json_int(facts, "prompt_tokens", 0);
    p->completion_tokens += (long)lleval_json_int(facts, "completion_tokens", 0);
    if (lleval_json_num(facts, "prompt_tps", 0) > 0) {
        t->prompt_tps_sum += lleval_json_num(facts, "prompt_tps", 0);
        t->prompt_tps_n++;
    }
    if (lleval_json_num(facts, "gen_tps", 0) > 0) {
        t->gen_tps_sum += lleval_json_num(facts, "gen_tps", 0);
        t->gen_tps_n++;
    }
    p->dirty = true;
    if (p->answered >= p->requests) {
        p->status = "done";
        p->finished_at = lleval_now();
        rc = write_part_state(r, p, pc->err);
        if (rc)
            pc->io_rc = rc;
    }
    if (t->answered >= t->requests && !t->finished_at)
        t->finished_at = lleval_now();
    return rc;
}

/*
 * Checks the managed llama-server, restarting it when it died (waiting up to
 * wait_ms for a dying one to exit). Returns -1 when it could not be kept up
 * (r->launch_err says why), 1 after a restart, else 0.
 */
static int check_server(struct run *r, long wait_ms)
{
    char note[256];
    int rc = lleval_launch_revive(r->launch, wait_ms, note, sizeof(note), &r->launch_err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        /* a restart may have moved to another port */
        free(r->engine->base_url);
        r->engine->base_url = lleval_xstrdup(lleval_launch_base_url(r->launch));
        warning(r, "%s", note);
    }
    return rc;
}

/* The scheduler's last resort before "engine unreachable" (see revive in scheduler.h). */
static bool revive(void *ud)
{
    struct poll_ctx *pc = ud;
    struct run *r = pc->r;
    long restarts;
    if (!r->launch || r->launch_err.code || lleval_stop_signal)
        return false;
    if (check_server(r, 3000) < 0)
        return false;
    restarts = lleval_launch_restarts(r->launch);
    if (restarts == r->launch_restarts_seen)
        return false; /* it runs but does not answer: not a crash to repair */
    r->launch_restarts_seen = restarts;
    return true;
}

/* A part is worked on when it is unfinished and its first job was sent (jobs
 * go out in order, so the sent ones are about the first done + in flight). */
static bool part_active(const struct part *p, size_t sent)
{
    return !strcmp(p->status, "running") && p->first_job < sent;
}

/* Takes a telemetry sample when one is due and adds it to the parts, and
 * their trials, worked on at this moment. */
static void sample_telemetry(struct run *r, size_t sent)
{
    const struct lleval_telemetry_sample *s = lleval_telemetry_sample(
        r->tel, lleval_monotonic(), r->launch ? lleval_launch_pid(r->launch) : 0);
    if (!s)
        return;
    for (size_t i = 0; i < r->n_parts; i++) {
        if (part_active(&r->parts[i], sent)) {
            lleval_telemetry_acc_add(&r->parts[i].tel, s);
            r->parts[i].dirty = true;
        }
    }
    for (size_t t = 0; t < r->n_trials; t++) {
        for (size_t i = 0; i < r->n_parts; i++) {
            if (r->parts[i].trial == t && part_active(&r->parts[i], sent)) {
                lleval_telemetry_acc_add(&r->trials[t].tel, s);
                break;
            }
        }
    }
}

static bool on_tick(void *ud, const struct lleval_sched_stats *st)
{
    struct poll_ctx *pc = ud;
    struct run *r = pc->r;
    struct lleval_progress pr;
    size_t total = 0, answered = 0, errors = 0;

    if (lleval_path_exists(r->stop_path))
        r->stop_requested = true;
    if (r->launch && !r->launch_err.code && !r->stop_requested && !lleval_stop_signal &&
        check_server(r, 0) < 0)
        return true; /* it died for good: stop, resumable */
    sample_telemetry(r, st->done + st->in_flight);
    if (flush_state(r, false, pc->err))
        pc->io_rc = pc->err->code;
    if (!r->o->on_progress)
        return r->stop_requested;
    for (size_t t = 0; t < r->n_trials; t++) {
        r->trial_done[t] = r->trials[t].answered;
        r->trial_total[t] = r->trials[t].requests;
        total += r->trials[t].requests;
        answered += r->trials[t].answered;
        errors += r->trials[t].errors;
    }
    memset(&pr, 0, sizeof(pr));
    pr.sched = st;
    pr.total = total;
    pr.answered = answered;
    pr.errors = errors;
    pr.rps = st->elapsed > 0 ? (double)st->done / st->elapsed : 0;
    pr.gen_tps = st->elapsed > 0 ? (double)st->completion_tokens / st->elapsed : 0;
    pr.eta_s = pr.rps > 0 ? (double)(total - answered) / pr.rps : -1;
    pr.n_trials = r->n_trials;
    pr.trial_names = r->trial_names;
    pr.trial_done = r->trial_done;
    pr.trial_total = r->trial_total;
    r->o->on_progress(r->o->ud, &pr);
    return r->stop_requested;
}

/*
 * Warns before the run when prompt + max_tokens of some requests can exceed
 * the context of one server slot (llama-server) or num_ctx (Ollama). Prompt
 * tokens are estimated as characters / 4 (Llama-family tokenizers average 3.5
 * to 4.5 characters per token on English text), so this is a warning, not a
 * check: the server has the last word.
 */
static void check_context_budget(struct run *r, long slot_ctx)
{
    long over = 0, total = 0, worst = 0;
    char worst_id[256] = "";
    for (size_t i = 0; i < r->n_parts; i++) {
        struct lleval_lines lr;
        if (lleval_lines_open(&lr, r->parts[i].info->batch_path, NULL))
            continue;
        while (lleval_lines_next(&lr, NULL) > 0) {
            json_t *line = json_loadb(lr.line, lr.len, 0, NULL);
            const json_t *body = json_object_get(line, "body"), *m;
            long chars = 0, need;
            size_t k;
            json_array_foreach(json_object_get(body, "messages"), k, m)
            {
                const char *c = lleval_json_str(m, "content");
                chars += c ? (long)strlen(c) : 0;
            }
            need = chars / 4 + 8 + (long)lleval_json_int(body, "max_tokens", 0);
            total++;
            if (need > slot_ctx) {
                over++;
                if (need > worst) {
                    worst = need;
                    snprintf(worst_id, sizeof(worst_id), "%s",
                             lleval_json_str(line, "custom_id") ? lleval_json_str(line, "custom_id")
                                                                : "?");
                }
            }
            json_decref(line);
        }
        lleval_lines_close(&lr);
    }
    if (over)
        warning(r,
                "%ld of %ld requests may not fit the engine's context of %ld tokens per slot: "
                "prompt + max_tokens is up to ~%ld tokens (e.g. %s); raise the context "
                "(llama-server -c / launch.ctx_size, or context_length for Ollama) or lower "
                "max_new_tokens",
                over, total, slot_ctx, worst, worst_id);
}

/* The custom_id at the start of a batch line as lleval writes it
 * ({"custom_id":"..."; ids are printable ASCII without quotes or backslashes),
 * copied into buf; false for any other shape (the line is then parsed). */
static bool quick_cid(const char *line, size_t len, char *buf, size_t size)
{
    static const char prefix[] = "{\"custom_id\":\"";
    const size_t np = sizeof(prefix) - 1;
    const char *end;
    if (len <= np || memcmp(line, prefix, np))
        return false;
    end = memchr(line + np, '"', len - np);
    if (!end || (size_t)(end - line - np) >= size || memchr(line + np, '\\', (size_t)(end - line - np)))
        return false;
    memcpy(buf, line + np, (size_t)(end - line - np));
    buf[end - line - np] = '\0';
    return true;
}

/* The scheduler's job source: the unanswered requests of the unfinished
 * parts, read from the batch files one line at a time as slots free up, so
 * memory does not grow with the number of requests. */
static int source_next(void *ud, struct lleval_job *job, struct lleval_err *err)
{
    struct poll_ctx *pc = ud;
    struct job_source *src = &pc->src;
    struct run *r = pc->r;
    char cidbuf[512];

    for (;;) {
        struct part *p;
        json_t *line;
        const char *cid;
        int more;

        if (!src->open) {
            while (src->part < r->n_parts &&
                   r->parts[src->part].answered >= r->parts[src->part].requests)
                src->part++;
            if (src->part >= r->n_parts)
                return 0;
            if (lleval_lines_open(&src->lr, r->parts[src->part].info->batch_path, err))
                return err->code;
            src->open = true;
        }
        p = &r->parts[src->part];
        more = lleval_lines_next(&src->lr, err);
        if (more < 0)
            return more;
        if (!more) {
            lleval_lines_close(&src->lr);
            src->open = false;
            src->part++;
            continue;
        }
        if (!src->lr.len)
            continue;
        if (quick_cid(src->lr.line, src->lr.len, cidbuf, sizeof(cidbuf)) &&
            lleval_journal_has(p->journal, cidbuf))
            continue; /* answered before: not even parsed */
        line = json_loadb(src->lr.line, src->lr.len, 0, NULL);
        cid = line ? lleval_json_str(line, "custom_id") : NULL;
        if (!cid || !json_is_object(json_object_get(line, "body"))) {
            json_decref(line);
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: not a batch request line (custom_id and body "
                                  "needed): rebuild the batches",
                                  p->info->batch_path, src->lr.lineno);
        }
        if (lleval_journal_has(p->journal, cid)) {
            json_decref(line);
            continue;
        }
        job->custom_id = lleval_xstrdup(cid);
        job->body = json_incref(json_object_get(line, "body"));
        job->tag = src->part;
        json_decref(line);
        return 1;
    }
}

static int step_poll(struct run *r, struct lleval_engine *e, struct lleval_err *err)
{
    size_t n = 0;
    struct lleval_sched_opts so;
    struct lleval_sched_stats st;
    struct poll_ctx pc;
    int rc = 0;

    memset(&pc, 0, sizeof(pc));
    pc.r = r;
    pc.err = err;
    for (size_t i = 0; i < r->n_parts; i++) {
        struct part *p = &r->parts[i];
        if (p->answered >= p->requests)
            continue;
        p->status = "running";
        p->first_job = n; /* jobs go out in part order */
        n += p->requests - p->answered;
        if (!p->started_at)
            p->started_at = lleval_now();
        if (!r->trials[p->trial].started_at)
            r->trials[p->trial].started_at = p->started_at;
        p->dirty = true;
    }
    if (rc)
        goto out;
    event(r, "poll: %zu requests to send (%zu answered before)", n,
          r->session_start_answered);
    lleval_sched_opts_default(&so);
    so.max_in_flight = r->cfg->max_concurrent_jobs > 0 ? r->cfg->max_concurrent_jobs : 1;
    so.timeout_s = (double)r->cfg->request_timeout_s;
    so.max_retries = r->cfg->max_retries;
    so.max_connect_failures = r->cfg->max_connect_failures > 0 ? r->cfg->max_connect_failures : 5;
    if (r->launch)
        so.revive = revive;
    if (r->cfg->enable_local_telemetry)
        event(r, "poll: telemetry: %s (every %ld ms)", lleval_telemetry_start(r->tel),
              lleval_telemetry_interval_ms(r->tel));
    sample_telemetry(r, (size_t)so.max_in_flight); /* the first requests go out now */
    rc = flush_state(r, true, err);
    if (!rc)
        rc = lleval_sched_run(e, source_next, n, &so, on_result, on_tick, &pc, &st, err);
    if (pc.io_rc && !rc)
        rc = pc.io_rc;
    if (r->launch_err.code && (!rc || rc == LLEVAL_EINTR || rc == LLEVAL_EENGINE)) {
        rc = r->launch_err.code; /* the managed server died for good */
        *err = r->launch_err;
    }
    if (rc == 0 && r->stop_requested && st.done < n)
        rc = lleval_err_set(err, LLEVAL_EINTR, "stopped on request");
    for (size_t i = 0; i < r->n_parts; i++) {
        struct part *p = &r->parts[i];
        if (!strcmp(p->status, "running"))
            p->status = rc == LLEVAL_EENGINE ? "failed" : "stopped";
        if (rc == LLEVAL_EENGINE && !strcmp(p->status, "failed"))
            p->status = "stopped";
    }
out:
    lleval_telemetry_stop(r->tel);
    if (pc.src.open)
        lleval_lines_close(&pc.src.lr);
    return rc;
}

/* Concatenates the part journals, in part order, into results_combined.jsonl,
 * streaming through a 64 KiB buffer (memory does not grow with the results)
 * into a temporary file that is synced and renamed over the old one. */
static int combine(struct run *r, const char *out_path, struct lleval_err *err)
{
    char *tmp = lleval_xasprintf("%s.tmp.%ld", out_path, lleval_getpid());
    char *buf = lleval_xmalloc(1 << 16);
    FILE *out = fopen(tmp, "wb");
    int rc = 0;

    if (!out) {
        rc = lleval_err_errno(err, "cannot create", tmp);
        goto done;
    }
    for (size_t i = 0; i < r->n_parts && !rc; i++) {
        FILE *in;
        size_t n;
        rc = lleval_journal_sync(r->parts[i].journal, err);
        if (rc)
            break;
        in = fopen(r->parts[i].journal_path, "rb");
        if (!in) {
            rc = lleval_err_errno(err, "cannot open", r->parts[i].journal_path);
            break;
        }
        while ((n = fread(buf, 1, 1 << 16, in)) > 0)
            if (fwrite(buf, 1, n, out) != n) {
                rc = lleval_err_errno(err, "cannot write", tmp);
                break;
            }
        if (!rc && ferror(in))
            rc = lleval_err_errno(err, "cannot read", r->parts[i].journal_path);
        fclose(in);
    }
    if (!rc)
        rc = lleval_fsync_file(out, tmp, err);
    if (fclose(out) && !rc)
        rc = lleval_err_errno(err, "cannot close", tmp);
    if (!rc && rename(tmp, out_path))
        rc = lleval_err_errno(err, "cannot rename to", out_path);
    if (rc)
        remove(tmp);
done:
    free(buf);
    free(tmp);
    return rc;
}

static void free_run(struct run *r)
{
    for (size_t i = 0; i < r->n_parts; i++) {
        lleval_journal_close(r->parts[i].journal, NULL);
        free(r->parts[i].name);
        free(r->parts[i].state_path);
        free(r->parts[i].journal_path);
    }
    for (size_t t = 0; t < r->n_trials; t++) {
        free(r->trials[t].name);
        free(r->trials[t].dataset);
    }
    free(r->parts);
    free(r->trials);
    free(r->trial_names);
    free(r->trial_done);
    free(r->trial_total);
    lleval_build_result_release(&r->build);
    free(r->id);
    free(r->dir);
    free(r->batches_dir);
    free(r->lock_path);
    free(r->stop_path);
    free(r->manifest_path);
    lleval_telemetry_free(r->tel);
    json_decref(r->old_trials);
}

static int save_config(struct run *r, struct lleval_err *err)
{
    char *path = lleval_path_join(r->dir, "config.resolved.yaml");
    char *yaml = lleval_config_to_yaml(r->cfg, false);
    int rc = lleval_write_file_atomic(path, yaml, strlen(yaml), err);
    free(yaml);
    free(path);
    return rc;
}

static int load_saved_config(struct run *r, struct lleval_err *err)
{
    char *path = lleval_path_join(r->dir, "config.resolved.yaml");
    struct lleval_config saved;
    int rc;
    lleval_config_init(&saved);
    rc = lleval_config_load_file(&saved, path, err);
    if (!rc) {
        lleval_config_release(r->cfg);
        *r->cfg = saved;
    } else {
        lleval_config_release(&saved);
    }
    free(path);
    return rc;
}

static int open_run_dir(struct run *r, struct lleval_err *err)
{
    const struct lleval_run_opts *o = r->o;
    int rc;
    if (o->run_id) {
        r->dir = lleval_run_dir(r->cfg->runs_dir, o->run_id, err);
        if (!r->dir)
            return err->code;
        r->id = lleval_xstrdup(o->run_id);
    } else {
        rc = lleval_mkdirs(r->cfg->runs_dir, err);
        if (rc)
            return rc;
        r->id = new_run_id(r->cfg->runs_dir);
        r->dir = lleval_path_join(r->cfg->runs_dir, r->id);
    }
    if (o->resume && !lleval_path_exists(r->dir))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no run '%s' in '%s': see `lleval runs list` for the runs there",
                              r->id, r->cfg->runs_dir);
    rc = lleval_mkdirs(r->dir, err);
    if (rc)
        return rc;
    r->lock_path = lleval_path_join(r->dir, "lock");
    r->stop_path = lleval_path_join(r->dir, "stop");
    r->manifest_path = lleval_path_join(r->dir, "manifest.json");
    r->batches_dir = lleval_path_join(r->dir, "batches");
    rc = acquire_lock(r, err);
    if (rc)
        return rc;
    remove(r->stop_path); /* an old stop request does not stop a resumed run */
    {
        char *logs = lleval_path_join(r->dir, "logs");
        char *results = lleval_path_join(r->dir, "results");
        rc = lleval_mkdirs(logs, err);
        if (!rc)
            rc = lleval_mkdirs(results, err);
        free(logs);
        free(results);
    }
    return rc;
}

static int run_steps(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    const struct lleval_run_opts *o = r->o;
    struct lleval_engine engine;
    bool engine_open = false;
    bool have_batches;
    char *combined = NULL, *pred = NULL, *results_dir = NULL;
    int rc = 0;

    {
        char *bj = lleval_path_join(r->batches_dir, "build.json");
        have_batches = lleval_path_exists(bj);
        free(bj);
    }
    r->steps_done = 0;

    /* prepare */
    if (!o->skip_prepare && !have_batches) { /* a run that has its batches is resumed: its prepared data stays */
        rc = step_prepare(r, err);
        if (rc)
            goto out;
    }
    r->steps_done = 1;
    if (o->to_step == LLEVAL_STEP_PREPARE)
        goto out;

    /* build */
    if (!have_batches) {
        if (o->skip_build) {
            rc = copy_batches(r, err);
            if (!rc)
                event(r, "build: using the batches in %s", r->cfg->batches_dir);
        } else {
            struct lleval_build_result br;
            rc = lleval_build_batches(r->cfg, r->batches_dir, &br, err);
            if (!rc)
                event(r, "build: %ld requests in %zu part files", br.total_requests,
                      br.n_parts);
            lleval_build_result_release(&br);
        }
        if (rc)
            goto out;
    }
    rc = load_parts(r, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < r->n_parts; i++)
        r->session_start_answered += r->parts[i].answered;
    res->requests = r->build.total_requests > 0 ? (size_t)r->build.total_requests : 0;
    r->steps_done = 2;
    rc = write_manifest(r, err);
    if (rc || o->to_step == LLEVAL_STEP_BUILD)
        goto out;

    /* submit: start a managed llama-server, probe the engine and queue the requests */
    if (r->cfg->engine == LLEVAL_ENGINE_LLAMACPP && r->cfg->launch.enabled) {
        char *log = lleval_path_join(r->dir, "logs/llama-server.log");
        event(r, "submit: starting llama-server with %s (log %s)", r->cfg->launch.model, log);
        rc = lleval_launch_start(r->cfg, log, 0, &r->launch, err);
        if (!rc)
            event(r, "submit: llama-server pid %ld listening at %s",
                  lleval_launch_pid(r->launch), lleval_launch_base_url(r->launch));
        free(log);
        if (rc)
            goto out;
    }
    rc = lleval_engine_open(&engine, r->cfg, err);
    if (rc)
        goto out;
    engine_open = true;
    r->engine = &engine;
    if (r->launch) {
        /* the managed server's address; never written to config.resolved.yaml */
        free(engine.base_url);
        engine.base_url = lleval_xstrdup(lleval_launch_base_url(r->launch));
    }
    {
        struct lleval_probe_info info = {0};
        rc = engine.ops->probe(&engine, &info, err);
        if (!rc) {
            snprintf(r->engine_detail, sizeof(r->engine_detail), "%s",
                     info.detail ? info.detail : "");
            if (info.slots > 0 && r->cfg->max_concurrent_jobs > info.slots) {
                warning(r,
                        "max_concurrent_jobs %ld clamped to %ld: the server has %ld slot%s "
                        "(start llama-server with -np N for more)",
                        r->cfg->max_concurrent_jobs, info.slots, info.slots,
                        info.slots == 1 ? "" : "s");
                r->cfg->max_concurrent_jobs = info.slots;
            }
            event(r, "submit: engine %s at %s ok%s%s", engine.ops->name,
                  engine.base_url[0] ? engine.base_url : "(local)", info.detail ? ": " : "",
                  info.detail ? info.detail : "");
            if (info.slot_ctx > 0)
                check_context_budget(r, info.slot_ctx);
        }
        lleval_probe_info_release(&info);
        if (rc)
            goto out;
    }
    r->steps_done = 3;
    if (o->to_step == LLEVAL_STEP_SUBMIT)
        goto out;

    /* poll */
    r->trial_names = lleval_xcalloc(r->n_trials ? r->n_trials : 1, sizeof(char *));
    r->trial_done = lleval_xcalloc(r->n_trials ? r->n_trials : 1, sizeof(size_t));
    r->trial_total = lleval_xcalloc(r->n_trials ? r->n_trials : 1, sizeof(size_t));
    for (size_t t = 0; t < r->n_trials; t++)
        r->trial_names[t] = r->trials[t].name;
    rc = step_poll(r, &engine, err);
    for (size_t i = 0; i < r->n_parts; i++) {
        res->answered += r->parts[i].answered;
        res->failed += r->parts[i].errors;
    }
    if (rc)
        goto out;
    results_dir = lleval_path_join(r->dir, "results");
    combined = lleval_path_join(results_dir, "results_combined.jsonl");
    rc = combine(r, combined, err);
    if (rc)
        goto out;
    event(r, "poll: %zu results in %s", res->answered, combined);
    r->steps_done = 4;
    if (o->to_step == LLEVAL_STEP_POLL)
        goto out;

    /* parse */
    pred = lleval_path_join(results_dir, "predictions.csv");
    rc = lleval_parse_results(combined, r->batches_dir, r->cfg->prepared_dir, pred, &res->parse,
                              err);
    if (rc)
        goto out;
    res->parsed = true;
    event(r, "parse: %zu rows in %s", res->parse.rows, pred);
    r->steps_done = 5;
    if (o->to_step == LLEVAL_STEP_PARSE)
        goto out;

    /* score */
    {
        struct lleval_score_opts so;
        struct lleval_score_result sr;
        lleval_score_opts_from_config(&so, r->cfg);
        rc = lleval_score_run(pred, r->cfg->prepared_dir, results_dir, &so, &sr, err);
        if (rc)
            goto out;
        res->scores_path = lleval_path_join(results_dir, "scores.json");
        res->summary = lleval_score_format_table(&sr);
        {
            size_t nw = 0;
            char **warns = lleval_score_warnings(&sr, &nw);
            for (size_t i = 0; i < nw; i++) {
                warning(r, "%s", warns[i]);
                free(warns[i]);
            }
            free(warns);
        }
        lleval_score_result_release(&sr);
        event(r, "score: %s", res->scores_path);
    }
    r->steps_done = 6;
    if (o->to_step == LLEVAL_STEP_SCORE)
        goto out;
    /* report: reads the run's artifacts only, so a failure loses no result */
    {
        struct lleval_report_opts ropts;
        char *html;
        lleval_report_opts_init(&ropts);
        ropts.status = "done"; /* the manifest says "running" until the run ends */
        rc = r->n_parts ? flush_state(r, true, err) : 0; /* the report reads the manifest */
        if (!rc)
            rc = lleval_report_write_opts(r->dir, &ropts, err);
        if (rc)
            goto out;
        html = lleval_report_html_path(r->dir);
        event(r, "report: %s", html);
        free(html);
    }
    r->steps_done = 7;
out:
    if (engine_open)
        lleval_engine_close(&engine);
    r->engine = NULL;
    lleval_launch_stop(r->launch); /* every path: done, failed, stopped */
    r->launch = NULL;
    res->last_step = r->steps_done ? (enum lleval_step)(r->steps_done - 1) : LLEVAL_STEP_PREPARE;
    free(combined);
    free(pred);
    free(results_dir);
    return rc;
}

int lleval_run_execute(struct lleval_config *cfg, const struct lleval_run_opts *o,
                       struct lleval_run_result *res, struct lleval_err *err)
{
    struct run r;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.o = o;
    r.status = "running";
    r.started_at = lleval_now();
    rc = open_run_dir(&r, err);
    if (rc) {
        bool locked_by_other = r.lock_path && rc == LLEVAL_EINVAL;
        (void)locked_by_other;
        free_run(&r);
        return rc;
    }
    res->run_id = lleval_xstrdup(r.id);
    res->run_dir = lleval_xstrdup(r.dir);
    {
        char *saved = lleval_path_join(r.dir, "config.resolved.yaml");
        if (lleval_path_exists(saved) && (o->resume || o->run_id))
            rc = load_saved_config(&r, err);
        else
            rc = save_config(&r, err);
        free(saved);
    }
    r.tel = lleval_telemetry_new(r.cfg->enable_local_telemetry, r.cfg->telemetry_interval_ms);
    if (!rc) {
        json_t *old = json_load_file(r.manifest_path, 0, NULL);
        if (old) {
            double created = lleval_json_num(old, "created_at", 0);
            if (created > 0)
                r.started_at = created;
            r.old_trials = json_incref(json_object_get(old, "trials"));
            json_decref(old);
        }
        rc = write_manifest(&r, err);
    }
    if (!rc)
        rc = run_steps(&r, res, err);

    if (rc == LLEVAL_EINTR)
        r.status = "stopped";
    else if (rc == LLEVAL_EENGINE)
        r.status = "stopped";
    else if (rc)
        r.status = "failed";
    else if (r.steps_done < LLEVAL_N_STEPS && (int)o->to_step + 1 == r.steps_done)
        r.status = "done"; /* stopped after --to_step as asked */
    else
        r.status = "done";
    if (rc)
        snprintf(r.last_error, sizeof(r.last_error), "%s", err->msg);
    {
        struct lleval_err ferr = LLEVAL_ERR_INIT;
        int frc = r.n_parts ? flush_state(&r, true, &ferr) : write_manifest(&r, &ferr);
        if (frc && !rc) {
            *err = ferr;
            rc = frc;
        }
    }
    if (!rc && (res->failed || (res->parsed && lleval_parse_mismatch(&res->parse))))
        rc = lleval_err_set(err, LLEVAL_EFAIL,
                            res->failed ? "%zu of %zu requests failed: see the error column of "
                                          "predictions.csv"
                                        : "parse found results that do not match the requests",
                            res->failed, res->requests);
    lleval_lock_release(r.lock_path);
    free_run(&r);
    return rc;
}

int lleval_run_request_stop(const char *runs_dir, const char *id, long *pid_out,
                            struct lleval_err *err)
{
    char *dir = lleval_run_dir(runs_dir, id, err);
    char *lock, *stop;
    long pid;
    int rc = 0;

    if (!dir)
        return err->code;
    *pid_out = 0;
    if (!lleval_is_dir(dir)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "no run '%s' in '%s'", id, runs_dir);
        free(dir);
        return rc;
    }
    lock = lleval_path_join(dir, "lock");
    stop = lleval_path_join(dir, "stop");
    pid = lleval_lock_owner(lock);
    if (!pid || !lleval_pid_alive(pid)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s' is not running; resume it with `lleval runs resume %s`", id,
                            id);
    } else {
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", lleval_getpid());
        rc = lleval_write_file_atomic(stop, line, (size_t)n, err);
        *pid_out = pid;
    }
    free(lock);
    free(stop);
    free(dir);
    return rc;
}
