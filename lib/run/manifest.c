/*
 * The typed run files (see rundir.h): manifest.json and each part's
 * state.json, written field by field in a fixed order (the bytes of a save
 * depend only on the struct), read back with every field's type checked, so
 * a damaged file is an error naming it and the field, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* ---- writing ------------------------------------------------------------------ */

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* A time or speed: 0 (unknown) is null. */
static json_t *real_or_null(double v)
{
    return v ? json_real(v) : json_null();
}

/* v as the file keeps it: JSON reals are written with 15 significant digits
 * (lleval_json_save), so a text derived from a real (started_at_utc) is
 * derived from this, and names the same second as the number beside it when
 * the file is read again. */
static double as_stored(double v)
{
    char num[40];
    double back;
    snprintf(num, sizeof(num), "%.15g", v);
    return lleval_parse_double(num, &back) ? v : back;
}

static json_t *owned_or_null(const json_t *j)
{
    return j ? json_incref((json_t *)j) : json_null();
}

static json_t *trial_json(const struct lleval_manifest_trial *t)
{
    json_t *j = json_pack(
        "{s:o, s:o, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, "
        "s:{s:I, s:I}, s:o, s:o, s:f, s:o, s:{s:o, s:o}}",
        "trial", str_or_empty(t->trial), "dataset", str_or_empty(t->dataset), "temperature",
        t->temperature, "job_counts", "total", (json_int_t)t->jobs_total, "queued",
        (json_int_t)t->jobs_queued, "running", (json_int_t)t->jobs_running, "done",
        (json_int_t)t->jobs_done, "stopped", (json_int_t)t->jobs_stopped, "failed",
        (json_int_t)t->jobs_failed, "requests", "total", (json_int_t)t->requests, "answered",
        (json_int_t)t->answered, "errors", (json_int_t)t->errors, "tokens", "prompt",
        (json_int_t)t->prompt_tokens, "completion", (json_int_t)t->completion_tokens, "started_at",
        real_or_null(t->started_at), "finished_at", real_or_null(t->finished_at), "elapsed_s",
        t->elapsed_s, "telemetry", owned_or_null(t->telemetry), "engine_speed", "prompt_tps",
        real_or_null(t->prompt_tps), "gen_tps", real_or_null(t->gen_tps));
    if (t->model) /* a run of several models only */
        json_object_set_new(j, "model", json_string(t->model));
    return j;
}

static json_t *manifest_json(const struct lleval_manifest *m)
{
    json_t *j = json_object(), *steps = json_array(), *trials = json_array();
    char when[40];

    for (size_t s = 0; s < m->steps_done && s < LLEVAL_N_STEPS; s++)
        json_array_append_new(steps, json_string(lleval_step_name((enum lleval_step)s)));
    for (size_t t = 0; t < m->n_trials; t++)
        json_array_append_new(trials, trial_json(&m->trials[t]));
    json_object_set_new(j, "format_version", json_integer(LLEVAL_MANIFEST_FORMAT));
    json_object_set_new(j, "run_id", str_or_empty(m->run_id));
    json_object_set_new(j, "status", json_string(lleval_run_status_name(m->status)));
    json_object_set_new(j, "pid", json_integer(m->pid));
    json_object_set_new(j, "model_id", str_or_empty(m->model_id));
    json_object_set_new(j, "engine", str_or_empty(m->engine));
    json_object_set_new(j, "base_url", m->base_url ? json_string(m->base_url) : json_null());
    json_object_set_new(j, "prompt_set", str_or_empty(m->prompt_set));
    json_object_set_new(j, "max_concurrent_jobs", json_integer(m->max_concurrent_jobs));
    json_object_set_new(j, "started_at", json_real(m->started_at));
    json_object_set_new(j, "started_at_utc",
                        json_string(lleval_fmt_utc(when, sizeof(when), as_stored(m->started_at))));
    json_object_set_new(j, "updated_at", json_real(m->updated_at));
    json_object_set_new(j, "to_step", json_string(lleval_step_name(m->to_step)));
    json_object_set_new(j, "steps_done", steps);
    json_object_set_new(j, "requests",
                        json_pack("{s:I, s:I, s:I}", "total", (json_int_t)m->requests, "answered",
                                  (json_int_t)m->answered, "errors", (json_int_t)m->errors));
    json_object_set_new(j, "engine_detail", str_or_empty(m->engine_detail));
    json_object_set_new(j, "last_error", str_or_empty(m->last_error));
    json_object_set_new(j, "trials", trials);
    if (m->headline)
        json_object_set(j, "headline", m->headline);
    json_object_set_new(j, "created_at", json_real(m->created_at));
    if (m->active_s > 0) /* absent in manifests written before it */
        json_object_set_new(j, "active_s", json_real(m->active_s));
    if (m->engine_events) /* absent when nothing happened, and before the field */
        json_object_set(j, "engine_events", m->engine_events);
    if (m->retries)
        json_object_set(j, "retries", m->retries);
    if (m->tune) /* absent without max_concurrent_jobs auto */
        json_object_set(j, "tune", m->tune);
    if (m->endpoints) /* a run of several endpoints only */
        json_object_set(j, "endpoints", m->endpoints);
    return j;
}

static json_t *part_state_json(const struct lleval_part_state *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "run_id", str_or_empty(s->run_id));
    json_object_set_new(j, "part", str_or_empty(s->part));
    json_object_set_new(j, "dataset", str_or_empty(s->dataset));
    json_object_set_new(j, "temperature", json_real(s->temperature));
    json_object_set_new(j, "trial", str_or_empty(s->trial));
    json_object_set_new(j, "index", json_integer(s->index));
    json_object_set_new(j, "status", json_string(lleval_run_status_name(s->status)));
    json_object_set_new(j, "requests", json_integer(s->requests));
    json_object_set_new(j, "answered", json_integer(s->answered));
    json_object_set_new(j, "ok", json_integer(s->ok));
    json_object_set_new(j, "errors", json_integer(s->errors));
    json_object_set_new(j, "prompt_tokens", json_integer(s->prompt_tokens));
    json_object_set_new(j, "completion_tokens", json_integer(s->completion_tokens));
    json_object_set_new(j, "started_at", real_or_null(s->started_at));
    json_object_set_new(j, "finished_at", real_or_null(s->finished_at));
    json_object_set_new(j, "elapsed_s", json_real(s->elapsed_s));
    json_object_set_new(j, "batch_file", str_or_empty(s->batch_file));
    json_object_set_new(j, "results_file", str_or_empty(s->results_file));
    json_object_set_new(j, "telemetry", owned_or_null(s->telemetry));
    if (s->remote) /* a cloud batch engine's job only */
        json_object_set(j, "remote", s->remote);
    return j;
}

/* ---- reading ------------------------------------------------------------------ */

/* What to do about a damaged manifest or state file (ends the type errors). */
#define MANIFEST_FIX "lleval wrote it"

/* A JSON value kept as found (telemetry, headline): an object, or null/absent (NULL). */
static void get_json(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                     const char *key, json_t **out)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return;
    if (!json_is_object(v)) {
        lleval_jr_wrong(rd, prefix, key, "an object or null");
        return;
    }
    json_decref(*out);
    *out = json_incref((json_t *)v);
}

/* An array kept as found (engine_events): an array, or null/absent (NULL). */
static void get_array(struct lleval_json_reader *rd, const json_t *o, const char *key, json_t **out)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return;
    if (!json_is_array(v)) {
        lleval_jr_wrong(rd, "", key, "an array or null");
        return;
    }
    json_decref(*out);
    *out = json_incref((json_t *)v);
}

static void get_status(struct lleval_json_reader *rd, const json_t *o, enum lleval_run_status *out)
{
    char *s = NULL;
    lleval_jr_str(rd, o, "", "status", false, &s);
    if (s && lleval_run_status_parse(s, out))
        lleval_jr_wrong(rd, "", "status", "queued, running, done, stopped or failed");
    free(s);
}

static void read_trial(struct lleval_json_reader *rd, const json_t *o, size_t i,
                       struct lleval_manifest_trial *t)
{
    char pre[64], sub[96];
    const json_t *jc, *req, *tok, *speed;

    snprintf(pre, sizeof(pre), "trials[%zu].", i);
    if (!json_is_object(o)) {
        snprintf(pre, sizeof(pre), "trials[%zu]", i);
        lleval_jr_wrong(rd, pre, "", "an object");
        return;
    }
    lleval_jr_str(rd, o, pre, "trial", false, &t->trial);
    lleval_jr_str(rd, o, pre, "dataset", false, &t->dataset);
    if (json_object_get(o, "model"))
        lleval_jr_str(rd, o, pre, "model", false, &t->model);
    lleval_jr_num(rd, o, pre, "temperature", false, 0, &t->temperature);
    jc = lleval_jr_obj(rd, o, pre, "job_counts");
    snprintf(sub, sizeof(sub), "%sjob_counts.", pre);
    lleval_jr_long(rd, jc, sub, "total", &t->jobs_total);
    lleval_jr_long(rd, jc, sub, "queued", &t->jobs_queued);
    lleval_jr_long(rd, jc, sub, "running", &t->jobs_running);
    lleval_jr_long(rd, jc, sub, "done", &t->jobs_done);
    lleval_jr_long(rd, jc, sub, "stopped", &t->jobs_stopped);
    lleval_jr_long(rd, jc, sub, "failed", &t->jobs_failed);
    req = lleval_jr_obj(rd, o, pre, "requests");
    snprintf(sub, sizeof(sub), "%srequests.", pre);
    lleval_jr_long(rd, req, sub, "total", &t->requests);
    lleval_jr_long(rd, req, sub, "answered", &t->answered);
    lleval_jr_long(rd, req, sub, "errors", &t->errors);
    tok = lleval_jr_obj(rd, o, pre, "tokens");
    snprintf(sub, sizeof(sub), "%stokens.", pre);
    lleval_jr_long(rd, tok, sub, "prompt", &t->prompt_tokens);
    lleval_jr_long(rd, tok, sub, "completion", &t->completion_tokens);
    lleval_jr_num(rd, o, pre, "started_at", true, 0, &t->started_at);
    lleval_jr_num(rd, o, pre, "finished_at", true, 0, &t->finished_at);
    lleval_jr_num(rd, o, pre, "elapsed_s", false, 0, &t->elapsed_s);
    get_json(rd, o, pre, "telemetry", &t->telemetry);
    speed = lleval_jr_obj(rd, o, pre, "engine_speed");
    snprintf(sub, sizeof(sub), "%sengine_speed.", pre);
    lleval_jr_num(rd, speed, sub, "prompt_tps", true, 0, &t->prompt_tps);
    lleval_jr_num(rd, speed, sub, "gen_tps", true, 0, &t->gen_tps);
}

static void read_steps(struct lleval_json_reader *rd, const json_t *o, struct lleval_manifest *m)
{
    const json_t *steps = json_object_get(o, "steps_done"), *s;
    size_t i;
    char *to = NULL;

    lleval_jr_str(rd, o, "", "to_step", false, &to);
    if (to && lleval_step_parse(to, &m->to_step))
        lleval_jr_wrong(rd, "", "to_step",
                        "a step (prepare, build, submit, poll, parse, score, report)");
    free(to);
    if (!steps)
        return;
    if (!json_is_array(steps) || json_array_size(steps) > LLEVAL_N_STEPS) {
        lleval_jr_wrong(rd, "", "steps_done", "an array of the steps done");
        return;
    }
    json_array_foreach(steps, i, s)
    {
        if (!json_is_string(s) ||
            strcmp(json_string_value(s), lleval_step_name((enum lleval_step)i))) {
            lleval_jr_wrong(rd, "", "steps_done", "the steps done, in their order");
            return;
        }
    }
    m->steps_done = json_array_size(steps);
}

static int read_manifest(struct lleval_json_reader *rd, const json_t *o, struct lleval_manifest *m)
{
    const json_t *req, *trials, *t;
    size_t i;

    if (!json_is_object(o))
        return lleval_err_set(rd->err, LLEVAL_EINVAL, "'%s' is not a JSON object", rd->name);
    lleval_jr_long(rd, o, "", "format_version", &m->format_version);
    if (rd->rc)
        return rd->rc;
    if (m->format_version > LLEVAL_MANIFEST_FORMAT)
        return lleval_err_set(rd->err, LLEVAL_EINVAL,
                              "%s: format_version %ld is newer than this lleval reads (%d): "
                              "read this run with the newer lleval that wrote it, or upgrade",
                              rd->name, m->format_version, LLEVAL_MANIFEST_FORMAT);
    if (m->format_version < 1)
        lleval_jr_wrong(rd, "", "format_version", "1 or more");
    lleval_jr_str(rd, o, "", "run_id", false, &m->run_id);
    get_status(rd, o, &m->status);
    lleval_jr_long(rd, o, "", "pid", &m->pid);
    lleval_jr_str(rd, o, "", "model_id", false, &m->model_id);
    lleval_jr_str(rd, o, "", "engine", false, &m->engine);
    lleval_jr_str(rd, o, "", "base_url", true, &m->base_url);
    lleval_jr_str(rd, o, "", "prompt_set", false, &m->prompt_set);
    lleval_jr_long(rd, o, "", "max_concurrent_jobs", &m->max_concurrent_jobs);
    lleval_jr_num(rd, o, "", "started_at", false, 0, &m->started_at);
    lleval_jr_num(rd, o, "", "updated_at", false, 0, &m->updated_at);
    read_steps(rd, o, m);
    req = lleval_jr_obj(rd, o, "", "requests");
    lleval_jr_long(rd, req, "requests.", "total", &m->requests);
    lleval_jr_long(rd, req, "requests.", "answered", &m->answered);
    lleval_jr_long(rd, req, "requests.", "errors", &m->errors);
    lleval_jr_str(rd, o, "", "engine_detail", false, &m->engine_detail);
    lleval_jr_str(rd, o, "", "last_error", false, &m->last_error);
    trials = json_object_get(o, "trials");
    if (trials && !json_is_array(trials))
        lleval_jr_wrong(rd, "", "trials", "an array");
    json_array_foreach(trials, i, t)
    {
        read_trial(rd, t, i, lleval_manifest_add_trial(m));
    }
    get_json(rd, o, "", "headline", &m->headline);
    lleval_jr_num(rd, o, "", "created_at", false, 0, &m->created_at);
    lleval_jr_num(rd, o, "", "active_s", false, 0, &m->active_s);
    get_array(rd, o, "engine_events", &m->engine_events);
    get_json(rd, o, "", "retries", &m->retries);
    get_json(rd, o, "", "tune", &m->tune);
    get_array(rd, o, "endpoints", &m->endpoints);
    return rd->rc;
}

/* ---- manifest.json ------------------------------------------------------------ */

void lleval_manifest_init(struct lleval_manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->format_version = LLEVAL_MANIFEST_FORMAT;
    m->to_step = LLEVAL_STEP_REPORT;
}

void lleval_manifest_release(struct lleval_manifest *m)
{
    for (size_t i = 0; i < m->n_trials; i++) {
        free(m->trials[i].trial);
        free(m->trials[i].dataset);
        free(m->trials[i].model);
        json_decref(m->trials[i].telemetry);
    }
    free(m->trials);
    free(m->run_id);
    free(m->model_id);
    free(m->engine);
    free(m->base_url);
    free(m->prompt_set);
    free(m->engine_detail);
    free(m->last_error);
    json_decref(m->headline);
    json_decref(m->engine_events);
    json_decref(m->retries);
    json_decref(m->tune);
    json_decref(m->endpoints);
    lleval_manifest_init(m);
}

struct lleval_manifest_trial *lleval_manifest_add_trial(struct lleval_manifest *m)
{
    m->trials = lleval_xrealloc(m->trials, (m->n_trials + 1) * sizeof(*m->trials));
    memset(&m->trials[m->n_trials], 0, sizeof(*m->trials));
    return &m->trials[m->n_trials++];
}

int lleval_manifest_save(const char *run_dir, const struct lleval_manifest *m,
                         struct lleval_err *err)
{
    char *path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_MANIFEST);
    json_t *j = manifest_json(m);
    int rc = lleval_json_write_atomic(path, j, err);
    json_decref(j);
    free(path);
    return rc;
}

int lleval_manifest_load(const char *run_dir, struct lleval_manifest *m, struct lleval_err *err)
{
    char *path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_MANIFEST);
    struct lleval_json_reader rd = {path, MANIFEST_FIX, err, 0};
    json_t *j = NULL;
    int rc;

    lleval_manifest_init(m);
    if (!lleval_path_exists(path)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "no manifest.json in '%s': not a run directory (see `lleval runs "
                            "list`)",
                            run_dir);
        goto out;
    }
    j = lleval_json_load_file(path, err);
    if (!j) {
        rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_MANIFEST);
        goto out;
    }
    rc = read_manifest(&rd, j, m);
    if (rc && m->format_version <= LLEVAL_MANIFEST_FORMAT) {
        rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_MANIFEST);
    } else if (rc) { /* a newer lleval's: unusable too, the message says what to do */
        rc = LLEVAL_EIO;
        if (err)
            err->code = rc;
    }
out:
    json_decref(j);
    free(path);
    return rc;
}

/* ---- state.json --------------------------------------------------------------- */

void lleval_part_state_init(struct lleval_part_state *s)
{
    memset(s, 0, sizeof(*s));
}

void lleval_part_state_release(struct lleval_part_state *s)
{
    free(s->run_id);
    free(s->part);
    free(s->dataset);
    free(s->trial);
    free(s->batch_file);
    free(s->results_file);
    json_decref(s->telemetry);
    json_decref(s->remote);
    lleval_part_state_init(s);
}

int lleval_part_state_save(const char *path, const struct lleval_part_state *s,
                           struct lleval_err *err)
{
    return lleval_part_state_save_changed(path, s, NULL, err);
}

int lleval_part_state_save_changed(const char *path, const struct lleval_part_state *s, char **last,
                                   struct lleval_err *err)
{
    json_t *j = part_state_json(s);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc = lleval_json_render_file(j, &sb);
    json_decref(j);
    if (rc)
        rc = lleval_err_set(err, LLEVAL_EIO, "cannot serialize JSON for '%s'", path);
    else if (last && *last && !strcmp(*last, sb.buf) && lleval_path_exists(path))
        rc = 0; /* the file holds these bytes already: no write, no fsync */
    else
        rc = lleval_write_file_atomic(path, sb.buf, sb.len, err);
    if (last) {
        free(*last);
        *last = rc ? NULL : lleval_sb_detach(&sb, NULL);
    }
    lleval_sb_release(&sb);
    return rc;
}

int lleval_part_state_load(const char *path, struct lleval_part_state *s, struct lleval_err *err)
{
    struct lleval_json_reader rd = {path, MANIFEST_FIX, err, 0};
    json_t *j;

    lleval_part_state_init(s);
    j = lleval_json_load_file(path, err);
    if (!j)
        return lleval_run_err_damaged(err, LLEVAL_RUN_FIX_STATE);
    if (!json_is_object(j)) {
        json_decref(j);
        lleval_err_set(err, LLEVAL_EIO, "'%s' is not a JSON object", path);
        return lleval_run_err_damaged(err, LLEVAL_RUN_FIX_STATE);
    }
    lleval_jr_str(&rd, j, "", "run_id", false, &s->run_id);
    lleval_jr_str(&rd, j, "", "part", false, &s->part);
    lleval_jr_str(&rd, j, "", "dataset", false, &s->dataset);
    lleval_jr_num(&rd, j, "", "temperature", false, 0, &s->temperature);
    lleval_jr_str(&rd, j, "", "trial", false, &s->trial);
    lleval_jr_long(&rd, j, "", "index", &s->index);
    get_status(&rd, j, &s->status);
    lleval_jr_long(&rd, j, "", "requests", &s->requests);
    lleval_jr_long(&rd, j, "", "answered", &s->answered);
    lleval_jr_long(&rd, j, "", "ok", &s->ok);
    lleval_jr_long(&rd, j, "", "errors", &s->errors);
    lleval_jr_long(&rd, j, "", "prompt_tokens", &s->prompt_tokens);
    lleval_jr_long(&rd, j, "", "completion_tokens", &s->completion_tokens);
    lleval_jr_num(&rd, j, "", "started_at", true, 0, &s->started_at);
    lleval_jr_num(&rd, j, "", "finished_at", true, 0, &s->finished_at);
    lleval_jr_num(&rd, j, "", "elapsed_s", false, 0, &s->elapsed_s);
    lleval_jr_str(&rd, j, "", "batch_file", false, &s->batch_file);
    lleval_jr_str(&rd, j, "", "results_file", false, &s->results_file);
    get_json(&rd, j, "", "telemetry", &s->telemetry);
    get_json(&rd, j, "", "remote", &s->remote);
    json_decref(j);
    return rd.rc ? lleval_run_err_damaged(err, LLEVAL_RUN_FIX_STATE) : 0;
}
