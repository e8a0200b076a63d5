/*
 * The steps of a run (see run_int.h) and their sequence as a table: each
 * step is a function of the run; lleval_run_steps runs them in order up to
 * the requested last step, recording each one done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/doctor/doctor.h"
#include "lleval/engine/http.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/report/report.h"
#include "lleval/result/result.h"
#include "lleval/run/parse.h"
#include "lleval/run/events.h"
#include "lleval/score/items.h"
#include "lleval/score/score.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "remote_int.h"
#include "endpoints_int.h"
#include "run_int.h"

/* Prepares the datasets; a run that has its batches is resumed: its prepared data stays. */
static int step_prepare(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    (void)res;
    if (r->o->skip_prepare || r->have_batches)
        return 0;
    for (size_t i = 0; i < r->cfg->n_datasets; i++) {
        struct lleval_prepare_stats st;
        int rc;
        lleval_prepare_stats_init(&st);
        rc = lleval_dataset_prepare_run(&r->cfg->datasets[i], r->cfg->prepared_dir,
                                        r->cfg->limit_items, &st, err);
        if (rc) {
            lleval_prepare_stats_release(&st);
            return rc;
        }
        lleval_run_event(r, "prepare: %s: %ld items", r->cfg->datasets[i].name, (long)st.items);
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
        char *to = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_BUILD);
        rc = lleval_copy_file_atomic(from, to, err);
        free(from);
        free(to);
    }
    lleval_build_result_release(&src);
    return rc;
}

static int step_build(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    int rc = 0;
    if (!r->have_batches) {
        if (r->o->skip_build) {
            rc = copy_batches(r, err);
            if (!rc)
                lleval_run_event(r, "build: using the batches in %s", r->cfg->batches_dir);
        } else {
            struct lleval_build_result br;
            rc = lleval_build_batches(r->cfg, r->batches_dir, &br, err);
            if (!rc)
                lleval_run_event(r, "build: %ld requests in %zu part files", br.total_requests,
                                 br.n_parts);
            lleval_build_result_release(&br);
        }
        if (rc)
            return rc;
    }
    rc = lleval_build_load(r->batches_dir, &r->build, err);
    if (!rc)
        rc = lleval_rs_load(&r->st, &r->build, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->st.n_parts && !rc; i++) {
        const struct lleval_rs_part *p = &r->st.parts[i];
        const struct lleval_journal_stats *js = lleval_journal_stats(p->journal);
        if (js->repaired)
            lleval_run_warning(r,
                               "%s: cut %zu bytes of a torn last line (a crash mid-write); that "
                               "request will be asked again",
                               p->journal_path, js->repaired);
        rc = lleval_rs_write_part(&r->st, i, r->tel, err);
    }
    if (rc)
        return rc;
    lleval_rs_restore(&r->st, &r->old);
    for (size_t i = 0; i < r->st.n_parts; i++)
        r->session_start_answered += r->st.parts[i].answered;
    res->requests = r->build.total_requests > 0 ? (size_t)r->build.total_requests : 0;
    return 0;
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
    for (size_t i = 0; i < r->st.n_parts; i++) {
        struct lleval_request_reader rr;
        const struct lleval_request_view *v;
        if (lleval_request_open(&rr, r->st.parts[i].info->batch_path, NULL))
            continue;
        while (lleval_request_next(&rr, &v, NULL) > 0) {
            long need = lleval_request_need(v);
            total++;
            if (need > slot_ctx) {
                over++;
                if (need > worst) {
                    worst = need;
                    snprintf(worst_id, sizeof(worst_id), "%s", v->custom_id ? v->custom_id : "?");
                }
            }
        }
        lleval_request_close(&rr);
    }
    if (over)
        lleval_run_warning(
            r,
            "%ld of %ld requests may not fit the engine's context of %ld tokens per slot: "
            "prompt + max_tokens is up to ~%ld tokens (e.g. %s); raise the context "
            "(llama-server -c / launch.ctx_size, or context_length for Ollama) or lower "
            "max_new_tokens",
            over, total, slot_ctx, worst, worst_id);
}

void lleval_run_follow_server(struct run *r)
{
    /* the managed server's address; never written to config.resolved.yaml */
    lleval_engine_set_base_url(r->engine, lleval_launch_base_url(r->launch));
}

/* True when every request of the run has a result (all answered before,
 * e.g. imported with `lleval import`): then no engine is needed. */
static bool all_answered(const struct run *r)
{
    for (size_t i = 0; i < r->st.n_parts; i++)
        if (r->st.parts[i].answered < r->st.parts[i].requests)
            return false;
    return r->st.n_parts > 0;
}

/* True when the run starts a llama-server per model, in turn (models: with launch). */
static bool server_per_model(const struct run *r)
{
    return r->cfg->engine == LLEVAL_ENGINE_LLAMACPP && r->cfg->launch.enabled &&
           r->cfg->n_models > 1;
}

/* The model of the first part with requests left (NULL: none, or a run of one model). */
static const char *first_model_left(const struct run *r)
{
    for (size_t i = 0; i < r->st.n_parts; i++)
        if (r->st.parts[i].answered < r->st.parts[i].requests)
            return r->st.parts[i].info->model;
    return NULL;
}

/* True when some part of model has requests left. */
static bool model_has_work(const struct run *r, const char *model)
{
    for (size_t i = 0; i < r->st.n_parts; i++) {
        const char *m = r->st.parts[i].info->model;
        if (m && !strcmp(m, model) && r->st.parts[i].answered < r->st.parts[i].requests)
            return true;
    }
    return false;
}

void lleval_run_tag_event(struct run *r, size_t before)
{
    size_t n = json_array_size(r->engine_events);
    if (n > before && r->server_model)
        json_object_set_new(json_array_get(r->engine_events, n - 1), "model",
                            json_string(r->server_model));
}

void lleval_run_note_server_exit(struct run *r, struct lleval_launch *l, const char *kind,
                                 const char *cause)
{
    struct lleval_proc_exit ex;
    bool known = lleval_launch_last_exit(l, &ex);
    size_t before = json_array_size(r->engine_events);
    lleval_events_add(&r->engine_events, kind, cause, known && !ex.signaled ? ex.code : -1,
                      known && ex.signaled ? ex.code : -1, lleval_launch_base_url(l),
                      lleval_launch_restarts(l));
    lleval_run_tag_event(r, before); /* a server per model: whose server it was */
}

/* Records the start or stop of a model's server as an engine event (the
 * events of earlier sessions first, as poll.c's events_begin does). */
static void server_event(struct run *r, const char *kind, const char *cause)
{
    size_t before;
    if (!r->engine_events && r->old.engine_events)
        r->engine_events = json_deep_copy(r->old.engine_events);
    before = json_array_size(r->engine_events);
    lleval_events_add(&r->engine_events, kind, cause, -1, -1,
                      r->launch ? lleval_launch_base_url(r->launch) : NULL,
                      r->launch ? lleval_launch_restarts(r->launch) : 0);
    lleval_run_tag_event(r, before);
}

/* Starts the managed llama-server with c's launch settings (the run's, or a model's). */
static int start_server(struct run *r, const struct lleval_config *c, const char *model,
                        struct lleval_err *err)
{
    char *log = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_LLAMA_LOG);
    int rc;
    lleval_run_event(r, "submit: %s%s%sstarting llama-server with %s (log %s)",
                     model ? "model " : "", model ? model : "", model ? ": " : "", c->launch.model,
                     log);
    rc = lleval_launch_start(c, log, 0, &r->launch, err);
    free(log);
    if (rc)
        return model ? lleval_err_prefix(err, "model '%s'", model) : rc;
    lleval_run_event(r, "submit: llama-server pid %ld listening at %s",
                     lleval_launch_pid(r->launch), lleval_launch_base_url(r->launch));
    if (model) {
        char cause[512];
        snprintf(cause, sizeof(cause), "llama-server pid %ld started for model %s with %s",
                 lleval_launch_pid(r->launch), model, c->launch.model);
        server_event(r, "start", cause);
    }
    return 0;
}

/* Stops the managed server and waits for it to exit (a run of several models:
 * before the next model's server starts, so two never run at once). */
static void stop_server(struct run *r)
{
    long pid = lleval_launch_pid(r->launch);
    char cause[512];
    lleval_launch_stop(r->launch); /* SIGTERM, then SIGKILL; always reaped */
    r->launch = NULL;
    snprintf(cause, sizeof(cause), "llama-server pid %ld of model %s stopped: the model is done",
             pid, r->server_model ? r->server_model : "?");
    server_event(r, "stop", cause);
    lleval_run_event(r, "poll: model %s: llama-server pid %ld stopped", r->server_model, pid);
}

/* Probes the engine (clamping the concurrency to the server's slots); with
 * budget, also checks the context budget of the requests. */
static int probe_engine(struct run *r, bool budget, struct lleval_err *err)
{
    struct lleval_probe_info info = {0};
    int rc = lleval_engine_probe(r->engine, &info, err);
    if (!rc) {
        snprintf(r->engine_detail, sizeof(r->engine_detail), "%s", info.detail ? info.detail : "");
        r->slots = info.slots; /* a clamp; max_concurrent_jobs auto tries around them */
        if (info.slots > 0 && r->jobs > info.slots) {
            lleval_run_warning(r,
                               "max_concurrent_jobs %ld clamped to %ld: the server has %ld slot%s "
                               "(start llama-server with -np N for more)",
                               r->jobs, info.slots, info.slots, info.slots == 1 ? "" : "s");
            r->jobs = info.slots;
        }
        const char *url = lleval_engine_base_url(r->engine);
        lleval_run_event(r, "submit: engine %s at %s ok%s%s", lleval_engine_name(r->engine),
                         url[0] ? url : "(local)", info.detail ? ": " : "",
                         info.detail ? info.detail : "");
        if (budget && info.slot_ctx > 0)
            check_context_budget(r, info.slot_ctx);
    }
    lleval_probe_info_release(&info);
    return rc;
}

/* Probes the engine for one more model of the run (the first was probed with
 * the run's engine), so a model the server lacks stops the run before any
 * request is sent: an engine of its own, with model as its model_id. */
static int probe_other_model(struct run *r, const char *model, size_t nth, struct lleval_err *err)
{
    struct lleval_config c;
    struct lleval_engine *e;
    struct lleval_probe_info info = {0};
    int rc;

    lleval_config_for_model(r->cfg, model, &c);
    rc = lleval_engine_open(&e, &c, err);
    if (rc)
        return rc;
    lleval_engine_set_base_url(e, lleval_engine_base_url(r->engine));
    rc = lleval_engine_probe(e, &info, err);
    if (rc)
        lleval_err_prefix(err, "model %zu of %zu ('%s')", nth, r->cfg->n_models, model);
    else if (info.detail)
        lleval_run_event(r, "submit: model %s: %s", model, info.detail);
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
    return rc;
}

/* A run of several models on a running server: every model with work left is
 * probed before the first request. */
static int probe_other_models(struct run *r, struct lleval_err *err)
{
    int rc = 0;
    for (size_t i = 1; i < r->cfg->n_models && !rc; i++)
        if (model_has_work(r, r->cfg->models[i]))
            rc = probe_other_model(r, r->cfg->models[i], i + 1, err);
    return rc;
}

/* A server per model: every model with work left has a readable model file,
 * checked before the first server starts. */
static int check_model_files(struct run *r, struct lleval_err *err)
{
    for (size_t i = 0; i < r->cfg->n_models; i++) {
        struct lleval_config c;
        if (!model_has_work(r, r->cfg->models[i]))
            continue;
        lleval_config_for_model(r->cfg, r->cfg->models[i], &c);
        if (!c.launch.model || !lleval_is_readable(c.launch.model) || lleval_is_dir(c.launch.model))
            return lleval_err_set(err, LLEVAL_EENGINE,
                                  "model '%s': the model file '%s' is not a readable file; fix "
                                  "its 'launch: {model: ...}' under 'models:', then `lleval runs "
                                  "resume %s`",
                                  r->cfg->models[i], c.launch.model ? c.launch.model : "", r->id);
    }
    return 0;
}

/* lleval_run_model_begin; budget: the probe checks the context budget too. */
static int begin_model(struct run *r, const char *model, bool budget, struct lleval_err *err)
{
    int rc;
    lleval_config_for_model(r->cfg, model, &r->model_cfg);
    if (!server_per_model(r)) {
        if (lleval_config_model(r->cfg, model)) { /* models: this model's concurrency */
            r->jobs = r->model_cfg.max_concurrent_jobs;
            if (r->slots > 0 && r->jobs > r->slots)
                r->jobs = r->slots;
        }
        return 0;
    }
    if (r->launch && r->server_model && !strcmp(r->server_model, model))
        return 0; /* started for this model by the submit step */
    if (r->launch)
        stop_server(r);
    r->server_model = model;
    r->jobs = r->model_cfg.max_concurrent_jobs;
    r->launch_restarts_seen = 0;
    rc = start_server(r, &r->model_cfg, model, err);
    if (rc)
        return rc;
    lleval_run_follow_server(r);
    return probe_engine(r, budget, err);
}

int lleval_run_model_begin(struct run *r, const char *model, struct lleval_err *err)
{
    return begin_model(r, model, false, err);
}

/* Before the first request: a lean TLS library when no address is https (http.h). */
static void tls_setup(const struct lleval_config *c)
{
    size_t n = 1 + c->n_base_urls + c->n_endpoints, k = 0;
    const char **urls = lleval_xcalloc(n, sizeof(*urls));
    urls[k++] = lleval_config_base_url(c);
    for (size_t i = 0; i < c->n_base_urls; i++)
        urls[k++] = c->base_urls[i];
    for (size_t i = 0; i < c->n_endpoints; i++)
        urls[k++] = c->endpoints[i].base_url;
    lleval_http_tls_setup(urls, k);
    free(urls);
}

/* Starts a managed llama-server (with a server per model: the first model's
 * with work left), probes the engine (clamping the run's concurrency to the
 * server's slots; several models: each one) and checks the context budget. */
static int step_submit(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    int rc;
    (void)res;

    if (all_answered(r)) {
        lleval_run_event(r, "submit: every request has a result: no engine needed");
        return 0;
    }
    if (lleval_engine_is_batch(r->cfg->engine)) /* a cloud batch engine: jobs, not requests */
        return lleval_remote_submit(r, err);
    if (r->cfg->engine != LLEVAL_ENGINE_DRY || lleval_run_several_endpoints(r->cfg))
        tls_setup(r->cfg);
    if (lleval_run_several_endpoints(r->cfg))
        return lleval_run_endpoints_submit(r, err);
    if (server_per_model(r)) {
        const char *first = first_model_left(r);
        rc = check_model_files(r, err);
        if (!rc)
            rc = lleval_engine_open(&r->engine, r->cfg, err);
        if (!rc)
            rc = begin_model(r, first, true, err);
        return rc;
    }
    if (r->cfg->engine == LLEVAL_ENGINE_LLAMACPP && r->cfg->launch.enabled) {
        lleval_run_plan_server(r); /* max_concurrent_jobs auto: slots and context (tune.c) */
        rc = start_server(r, r->cfg, NULL, err);
        if (rc)
            return rc;
    }
    rc = lleval_engine_open(&r->engine, r->cfg, err);
    if (rc)
        return rc;
    if (r->launch)
        lleval_run_follow_server(r);
    rc = probe_engine(r, true, err);
    if (!rc && r->cfg->n_models > 1)
        rc = probe_other_models(r, err);
    return rc;
}

/* Closes the endpoints' engines, then the run's (the first endpoint's). */
static void engines_close(struct run *r)
{
    lleval_run_endpoints_close(r); /* before r->engine: the first endpoint's */
    lleval_engine_close(r->engine);
    r->engine = NULL;
}

/* Once poll has combined the journals, this session asks the engine nothing
 * more: the engines (the dry engine's item index among them) and the
 * journals' id sets go, so that a run of a million items in one process
 * carries into parse, score and report only what those steps hold. A
 * managed server stays up until the steps end, as before. */
static int poll_release(struct run *r, struct lleval_err *err)
{
    int rc = 0;
    engines_close(r);
    for (size_t i = 0; i < r->st.n_parts && !rc; i++)
        rc = lleval_journal_seal(r->st.parts[i].journal, err);
    lleval_heap_trim();
    return rc;
}

/* Sends the requests, then combines the part journals into results_combined.jsonl. */
static int step_poll(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    size_t n = r->st.n_trials ? r->st.n_trials : 1;
    char *combined;
    int rc;

    r->trial_names = lleval_xcalloc(n, sizeof(char *));
    r->trial_done = lleval_xcalloc(n, sizeof(size_t));
    r->trial_total = lleval_xcalloc(n, sizeof(size_t));
    for (size_t t = 0; t < r->st.n_trials; t++)
        r->trial_names[t] = r->st.trials[t].name;
    if (lleval_engine_is_batch(r->cfg->engine))
        rc = lleval_remote_poll(r, err);
    else
        rc = r->engine ? lleval_run_poll(r, err) : 0; /* no engine: nothing left to ask */
    lleval_rs_totals(&r->st, &res->answered, &res->failed);
    if (rc)
        return rc;
    combined = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_COMBINED);
    rc = lleval_run_combine(r, combined, err);
    if (!rc)
        lleval_run_event(r, "poll: %zu results in %s", res->answered, combined);
    free(combined);
    return rc ? rc : poll_release(r, err);
}

static void doctor_line(void *ud, uint64_t start, uint64_t end, const struct lleval_result_view *v,
                        bool repeated)
{
    lleval_doctor_lines_add(ud, start, end, v, repeated);
}

/* Writes predictions.csv; when this session's poll step combined the
 * journals, it also gathers the doctor's facts of the lines it reads, so that
 * the report's doctor does not read every journal again. */
static int step_parse(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    char *combined = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_COMBINED);
    char *pred = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_PREDICTIONS);
    struct lleval_parse_watch watch = {doctor_line, NULL};
    int rc;

    lleval_doctor_lines_free(r->doctor_lines);
    r->doctor_lines = NULL;
    if (r->combined_ends) {
        char **journals = lleval_xcalloc(r->st.n_parts ? r->st.n_parts : 1, sizeof(char *));
        for (size_t i = 0; i < r->st.n_parts; i++)
            journals[i] = r->st.parts[i].journal_path;
        r->doctor_lines =
            lleval_doctor_lines_new(r->dir, journals, r->combined_ends, r->st.n_parts);
        watch.ud = r->doctor_lines;
        free(journals);
    }
    rc = lleval_parse_results_watched(combined, r->batches_dir, r->cfg->prepared_dir, pred,
                                      r->doctor_lines ? &watch : NULL, &res->parse, err);
    if (!rc) {
        res->parsed = true;
        if (r->doctor_lines)
            lleval_doctor_lines_reconciled(r->doctor_lines, &res->parse);
        lleval_run_event(r, "parse: %zu rows in %s", res->parse.rows, pred);
    }
    free(combined);
    free(pred);
    return rc;
}

static int step_score(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    struct lleval_score_opts so;
    struct lleval_score_result sr;
    char *pred = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_PREDICTIONS);
    char *results_dir = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_RESULTS);
    char *combined = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_COMBINED);
    size_t nw = 0;
    char **warns;
    int rc;

    lleval_heap_trim(); /* parse's freed memory: score's peak is the run's */
    lleval_score_opts_from_config(&so, r->cfg);
    so.limit_items = r->cfg->limit_items; /* missing among the items the run asked only */
    so.results_jsonl = combined;          /* tokens/s from the unrounded speeds */
    /* scores.json, then every item scored (items.csv, items.jsonl), in one pass */
    rc = lleval_score_items_run(pred, r->cfg->prepared_dir, results_dir, &so, &sr, err);
    free(pred);
    free(results_dir);
    free(combined);
    if (rc)
        return rc;
    res->scores_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_SCORES);
    res->summary = lleval_score_format_table(&sr);
    warns = lleval_score_warnings(&sr, &nw);
    for (size_t i = 0; i < nw; i++) {
        lleval_run_warning(r, "%s", warns[i]);
        free(warns[i]);
    }
    free(warns);
    lleval_score_result_release(&sr);
    lleval_run_event(r, "score: %s", res->scores_path);
    return 0;
}

/* Reads the run's artifacts only, so a failure loses no result. */
static int step_report(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    struct lleval_report_opts ropts;
    char *html;
    int rc;
    (void)res;

    lleval_report_opts_init(&ropts);
    ropts.status = LLEVAL_RUN_DONE;       /* the manifest says "running" until the run ends */
    ropts.doctor_lines = r->doctor_lines; /* the parse step's, when it gathered them */
    rc = r->st.n_parts ? lleval_run_flush(r, true, err) : 0; /* the report reads the manifest */
    if (!rc)
        rc = lleval_report_write_opts(r->dir, &ropts, err);
    if (rc)
        return rc;
    html = lleval_report_html_path(r->dir);
    lleval_run_event(r, "report: %s", html);
    free(html);
    return 0;
}

/* The steps in their order (the manifest's steps_done lists the first ones done). */
static const struct step {
    enum lleval_step step;
    int (*run)(struct run *r, struct lleval_run_result *res, struct lleval_err *err);
    bool save_manifest; /* the manifest is written once the step is recorded done */
} steps[] = {
    {LLEVAL_STEP_PREPARE, step_prepare, false},
    {LLEVAL_STEP_BUILD, step_build, true}, /* the parts are known from here on */
    {LLEVAL_STEP_SUBMIT, step_submit, false},
    {LLEVAL_STEP_POLL, step_poll, false},
    {LLEVAL_STEP_PARSE, step_parse, false},
    {LLEVAL_STEP_SCORE, step_score, false},
    {LLEVAL_STEP_REPORT, step_report, false},
};
_Static_assert(sizeof(steps) / sizeof(steps[0]) == LLEVAL_N_STEPS, "one entry per step");

int lleval_run_steps(struct run *r, struct lleval_run_result *res, struct lleval_err *err)
{
    char *build = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_BUILD);
    int rc = 0;

    r->have_batches = lleval_path_exists(build);
    free(build);
    r->steps_done = 0;
    for (size_t i = 0; i < LLEVAL_N_STEPS; i++) {
        rc = steps[i].run(r, res, err);
        if (rc)
            break;
        r->steps_done = i + 1;
        if (steps[i].save_manifest && (rc = lleval_run_write_manifest(r, err)))
            break;
        if (r->o->to_step == steps[i].step)
            break;
    }
    engines_close(r);
    lleval_launch_stop(r->launch); /* every path: done, failed, stopped */
    r->launch = NULL;
    res->last_step = r->steps_done ? steps[r->steps_done - 1].step : LLEVAL_STEP_PREPARE;
    return rc;
}
