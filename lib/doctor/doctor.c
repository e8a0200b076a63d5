/*
 * doctor: rules over a run's evidence (see doctor.h). Evidence is gathered
 * read-only from the run directory: config.resolved.yaml, manifest.json,
 * the batch files, the result journals and each part's state.json.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/config/config.h"
#include "lleval/dataset/dataset.h"
#include "lleval/doctor/doctor.h"
#include "lleval/run/events.h"
#include "doctor_int.h"
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/model/vram.h"
#include "lleval/result/result.h"
#include "lleval/result/scan.h"
#include "lleval/run/parse.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char *const finding_names[] = {
    "oom",
    "memory_near_limit",
    "slow_generation",
    "low_gpu_utilization",
    "truncation",
    "connection",
    "parse_mismatch",
    "request_errors",
    "high_temperature",
    "incomplete",
    "engine_restart",
    "wrong_endpoint",
    "context_exceeded",
    "reasoning_empty",
    "mc_unreadable",
};

const char *lleval_finding_name(enum lleval_finding_kind k)
{
    return (size_t)k < LLEVAL_ARRAY_SIZE(finding_names) ? finding_names[k] : "?";
}

/* Case-insensitive substring search. */
bool lleval_dr_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

void lleval_dr_add_id(char **ids, size_t *n, const char *id)
{
    if (*n < MAX_IDS)
        ids[(*n)++] = lleval_xstrdup(id);
}

void lleval_dr_class_add(struct err_class *c, const char *cid, const char *msg)
{
    c->count++;
    lleval_dr_add_id(c->ids, &c->n_ids, cid);
    if (!c->sample && msg)
        c->sample = lleval_xstrndup(msg, strlen(msg) > 200 ? 200 : strlen(msg));
}

void lleval_dr_class_free(struct err_class *c)
{
    for (size_t i = 0; i < c->n_ids; i++)
        free(c->ids[i]);
    free(c->sample);
}

const struct model_ev *lleval_dr_model(const struct evidence *ev, const char *id)
{
    for (size_t i = 0; i < ev->n_models; i++)
        if (id ? ev->models[i].id && !strcmp(ev->models[i].id, id) : !ev->models[i].id)
            return &ev->models[i];
    return NULL;
}

/* The index in ev->models of the model id (NULL: the run's only model),
 * added in the order the parts name them (the run's order: parts are written
 * model by model). */
static size_t model_for(struct evidence *ev, const char *id)
{
    const struct model_ev *found = lleval_dr_model(ev, id);
    struct model_ev *m;
    if (found)
        return (size_t)(found - ev->models);
    ev->models = lleval_xrealloc(ev->models, (ev->n_models + 1) * sizeof(*ev->models));
    m = &ev->models[ev->n_models];
    memset(m, 0, sizeof(*m));
    m->id = id ? lleval_xstrdup(id) : NULL;
    return ev->n_models++;
}

static void free_model(struct model_ev *m)
{
    free(m->id);
    free(m->jobs_key);
    lleval_dr_class_free(&m->oom);
    lleval_dr_class_free(&m->conn);
    lleval_dr_class_free(&m->other);
    lleval_dr_class_free(&m->ctx);
    lleval_dr_class_free(&m->not_found);
    lleval_dr_class_free(&m->reasoning);
    free(m->mc_groups);
}

/* The trial of part pi: its dataset and temperature, and in a run of several
 * models its model too ("<model id>/<dataset>/t<temp>"), so each model's
 * trials are counted and named apart. */
static struct trial_ev *trial_for(struct evidence *ev, const struct lleval_part_info *pi)
{
    const char *dataset = pi->dataset;
    char *name = lleval_run_trial_name(dataset, pi->temp);
    if (pi->model) {
        char *in_model = lleval_xasprintf("%s/%s", pi->model, name);
        free(name);
        name = in_model;
    }
    for (size_t i = 0; i < ev->n_trials; i++) {
        if (!strcmp(ev->trials[i].name, name)) {
            free(name);
            return &ev->trials[i];
        }
    }
    ev->trials = lleval_xrealloc(ev->trials, (ev->n_trials + 1) * sizeof(*ev->trials));
    memset(&ev->trials[ev->n_trials], 0, sizeof(*ev->trials));
    ev->trials[ev->n_trials].name = name;
    ev->trials[ev->n_trials].dataset = lleval_xstrdup(dataset);
    ev->trials[ev->n_trials].model = model_for(ev, pi->model);
    if (ev->have_cfg) {
        json_t *info = lleval_prepared_info(ev->cfg.prepared_dir, dataset, NULL);
        const char *t = lleval_json_str(info, "type");
        if (t)
            ev->trials[ev->n_trials].type = lleval_xstrdup(t);
        json_decref(info);
    }
    return &ev->trials[ev->n_trials++];
}

/* The max_tokens of a part's requests (the first request that sets it). */
static long part_max_tokens(const struct lleval_part_info *pi)
{
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    long mt = 0;
    if (lleval_request_open(&rr, pi->batch_path, NULL))
        return 0;
    while (!mt && lleval_request_next(&rr, &v, NULL) > 0)
        mt = v->max_tokens;
    lleval_request_close(&rr);
    return mt;
}

/* True when an answer holds no text once its reasoning is set aside: empty
 * (the tokens went to reasoning_content, which the answer does not carry),
 * or an unclosed <think> block (the reasoning ran into max_new_tokens). */
static bool reasoning_only(const char *content)
{
    const char *p = content ? content : "";
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (!*p)
        return true;
    return !strncmp(p, "<think>", 7) && !strstr(p, "</think>");
}

/* Counts one answer (a result line with a custom_id, not a repeated answer)
 * into t, the trial of the journal it is in, and t's model. */
static void count_result(struct evidence *ev, struct trial_ev *t,
                         const struct lleval_result_view *v)
{
    struct model_ev *m = &ev->models[t->model];
    m->answered++;
    t->results++;
    t->prompt_tokens += v->prompt_tokens > 0 ? (double)v->prompt_tokens : 0;
    if (v->failed) {
        const char *code = v->error_code;
        if (lleval_error_is_oom(v->error_message))
            lleval_dr_class_add(&m->oom, v->custom_id, v->error_message);
        else if (lleval_error_is_context(v->error_message))
            lleval_dr_class_add(&m->ctx, v->custom_id, v->error_message);
        else if (v->http_status == 404)
            lleval_dr_class_add(&m->not_found, v->custom_id, v->error_message);
        else if (code && (!strcmp(code, "connection_error") || !strcmp(code, "timeout") ||
                          !strcmp(code, "transport_error")))
            lleval_dr_class_add(&m->conn, v->custom_id, v->error_message);
        else
            lleval_dr_class_add(&m->other, v->custom_id, v->error_message);
    } else {
        m->results_ok++;
        if (v->gen_tps > 0) {
            m->gen_tps_sum += v->gen_tps;
            m->gen_tps_n++;
        }
        if (v->finish_reason && !strcmp(v->finish_reason, "length")) {
            t->length++;
            if (reasoning_only(v->content) && v->completion_tokens > 0)
                lleval_dr_class_add(&m->reasoning, v->custom_id, v->content);
        }
    }
}

/* Reads one part's journal (its results), reconciling each answer. */
static int read_part(struct evidence *ev, const char *run_dir, const struct lleval_part_info *pi,
                     struct lleval_reconcile *recon, struct lleval_err *err)
{
    struct trial_ev *t = trial_for(ev, pi);
    struct lleval_lines lr;
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    char *journal;
    int more, rc = 0;

    if (!t->max_tokens)
        t->max_tokens = part_max_tokens(pi);
    journal = lleval_run_journal_path(run_dir, pi->folder, pi->temp, pi->index);
    if (lleval_lines_open(&lr, journal, NULL)) {
        free(journal); /* no journal: nothing answered yet */
        return 0;
    }
    while ((more = lleval_lines_next(&lr, err)) > 0) {
        struct lleval_result_view v;
        /* only what count_result() reads: no times, engine or attempts */
        lleval_result_read_some(lr.line, lr.len, &hold, &v, 0, NULL);
        if (!v.custom_id ||
            lleval_reconcile_add(recon, v.custom_id, NULL) == LLEVAL_RECON_DUPLICATE)
            continue; /* a torn tail (resume repairs it), or a repeated answer */
        count_result(ev, t, &v);
    }
    lleval_result_hold_release(&hold);
    lleval_lines_close(&lr);
    if (more < 0)
        rc = more;
    free(journal);
    return rc;
}

/* The GPU facts of a part's state.json telemetry. A part without a
 * readable state has none; its telemetry counts even when another of its
 * fields is damaged (doctor examines damaged runs). */
static void read_telemetry(struct model_ev *ev, const char *run_dir,
                           const struct lleval_part_info *pi)
{
    char *path = lleval_run_state_path(run_dir, pi->folder, pi->temp, pi->index);
    struct lleval_part_state st;
    struct lleval_err ignored = LLEVAL_ERR_INIT;
    const json_t *gpu;
    lleval_part_state_load(path, &st, &ignored);
    free(path);
    gpu = json_object_get(st.telemetry, "gpu");
    if (json_is_object(gpu)) {
        double peak = lleval_json_num(gpu, "memory_used_peak_mib", -1);
        double total = lleval_json_num(gpu, "memory_total_mib", -1);
        double util = lleval_json_num(gpu, "utilization_mean_pct", -1);
        double temp = lleval_json_num(gpu, "temperature_peak_c", -1);
        ev->have_gpu = true;
        if (peak > ev->mem_peak_mib)
            ev->mem_peak_mib = peak;
        if (total > ev->mem_total_mib)
            ev->mem_total_mib = total;
        if (util >= 0) {
            ev->util_mean_sum += util;
            ev->util_n++;
        }
        if (temp > ev->temp_peak)
            ev->temp_peak = temp;
    }
    lleval_part_state_release(&st);
}

static void free_evidence(struct evidence *ev)
{
    if (ev->have_cfg)
        lleval_config_release(&ev->cfg);
    lleval_manifest_release(&ev->manifest);
    lleval_dr_class_free(&ev->oom);
    lleval_dr_class_free(&ev->conn);
    lleval_dr_class_free(&ev->other);
    lleval_dr_class_free(&ev->ctx);
    lleval_dr_class_free(&ev->not_found);
    lleval_dr_class_free(&ev->reasoning);
    for (size_t i = 0; i < ev->n_models; i++)
        free_model(&ev->models[i]);
    free(ev->models);
    for (size_t i = 0; i < ev->n_trials; i++) {
        free(ev->trials[i].name);
        free(ev->trials[i].dataset);
        free(ev->trials[i].type);
    }
    free(ev->trials);
    lleval_parse_report_release(&ev->recon);
}

/* ---- the result lines' facts, gathered by another step ---------------------- */

struct lleval_doctor_lines {
    char *run_dir; /* the run whose lines these are */
    bool usable, reconciled;
    size_t n, at;       /* the journals, and the one holding the last line */
    uint64_t *ends;     /* where each journal ends in the combined file */
    size_t *trial;      /* journal -> its trial in ev.trials */
    struct evidence ev; /* the line facts only: counts, classes, trials; recon */
};

struct lleval_doctor_lines *lleval_doctor_lines_new(const char *run_dir, char *const *journals,
                                                    const uint64_t *ends, size_t n)
{
    struct lleval_doctor_lines *dl = lleval_xcalloc(1, sizeof(*dl));
    char *batches = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_BATCHES);
    struct lleval_build_result br;

    dl->run_dir = lleval_xstrdup(run_dir);
    dl->n = n;
    dl->ends = lleval_xcalloc(n ? n : 1, sizeof(*dl->ends));
    dl->trial = lleval_xcalloc(n ? n : 1, sizeof(*dl->trial));
    if (n)
        memcpy(dl->ends, ends, n * sizeof(*ends));
    if (!lleval_build_load(batches, &br, NULL)) {
        /* the journals must be the parts the doctor reads, in its order */
        dl->usable = br.n_parts == n;
        for (size_t i = 0; i < br.n_parts && dl->usable; i++) {
            const struct lleval_part_info *pi = &br.parts[i];
            char *path = lleval_run_journal_path(run_dir, pi->folder, pi->temp, pi->index);
            dl->usable = !strcmp(path, journals[i]);
            free(path);
            dl->trial[i] = (size_t)(trial_for(&dl->ev, pi) - dl->ev.trials);
        }
        lleval_build_result_release(&br);
    }
    free(batches);
    return dl;
}

void lleval_doctor_lines_add(struct lleval_doctor_lines *dl, uint64_t start, uint64_t end,
                             const struct lleval_result_view *v, bool repeated)
{
    if (!dl->usable)
        return;
    while (dl->at < dl->n && start >= dl->ends[dl->at])
        dl->at++;
    if (dl->at == dl->n || end > dl->ends[dl->at]) {
        dl->usable = false; /* the line runs from one journal into the next */
        return;
    }
    if (v && v->custom_id && !repeated)
        count_result(&dl->ev, &dl->ev.trials[dl->trial[dl->at]], v);
}

static void copy_ids(char **to, size_t *n_to, char *const *from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        to[i] = lleval_xstrdup(from[i]);
    *n_to = n;
}

/* The reconciliation's facts the rules use: the counts and the id lists. */
static void copy_recon(struct lleval_parse_report *to, const struct lleval_parse_report *from)
{
    to->requests = from->requests;
    to->missing = from->missing;
    to->duplicates = from->duplicates;
    to->unknown = from->unknown;
    to->reconciled = from->reconciled;
    copy_ids(to->missing_ids, &to->n_missing_ids, from->missing_ids, from->n_missing_ids);
    copy_ids(to->duplicate_ids, &to->n_duplicate_ids, from->duplicate_ids, from->n_duplicate_ids);
    copy_ids(to->unknown_ids, &to->n_unknown_ids, from->unknown_ids, from->n_unknown_ids);
}

void lleval_doctor_lines_reconciled(struct lleval_doctor_lines *dl,
                                    const struct lleval_parse_report *rep)
{
    lleval_parse_report_release(&dl->ev.recon);
    copy_recon(&dl->ev.recon, rep);
    dl->reconciled = true;
}

bool lleval_doctor_lines_usable(const struct lleval_doctor_lines *dl)
{
    return dl && dl->usable && dl->reconciled;
}

void lleval_doctor_lines_free(struct lleval_doctor_lines *dl)
{
    if (!dl)
        return;
    free_evidence(&dl->ev);
    free(dl->run_dir);
    free(dl->ends);
    free(dl->trial);
    free(dl);
}

static void class_copy(struct err_class *to, const struct err_class *from)
{
    to->count = from->count;
    copy_ids(to->ids, &to->n_ids, from->ids, from->n_ids);
    to->sample = from->sample ? lleval_xstrdup(from->sample) : NULL;
}

/* Takes the line facts of dl into ev, whose trials and models are made (same
 * names, same order: both from build.json's parts). */
static void take_lines(struct evidence *ev, const struct lleval_doctor_lines *dl)
{
    const struct evidence *from = &dl->ev;
    for (size_t i = 0; i < from->n_models; i++) {
        const struct model_ev *fm = &from->models[i];
        struct model_ev *m = &ev->models[model_for(ev, fm->id)];
        m->answered = fm->answered;
        m->results_ok = fm->results_ok;
        m->gen_tps_sum = fm->gen_tps_sum;
        m->gen_tps_n = fm->gen_tps_n;
        class_copy(&m->oom, &fm->oom);
        class_copy(&m->conn, &fm->conn);
        class_copy(&m->other, &fm->other);
        class_copy(&m->ctx, &fm->ctx);
        class_copy(&m->not_found, &fm->not_found);
        class_copy(&m->reasoning, &fm->reasoning);
    }
    for (size_t i = 0; i < from->n_trials; i++)
        for (size_t k = 0; k < ev->n_trials; k++)
            if (!strcmp(ev->trials[k].name, from->trials[i].name)) {
                ev->trials[k].results = from->trials[i].results;
                ev->trials[k].length = from->trials[i].length;
                ev->trials[k].prompt_tokens = from->trials[i].prompt_tokens;
                break;
            }
    copy_recon(&ev->recon, &from->recon);
}

/* Adds the counts and first custom_ids of from to the run-wide class to. */
static void class_sum(struct err_class *to, const struct err_class *from)
{
    to->count += from->count;
    for (size_t i = 0; i < from->n_ids; i++)
        lleval_dr_add_id(to->ids, &to->n_ids, from->ids[i]);
    if (!to->sample && from->sample)
        to->sample = lleval_xstrdup(from->sample);
}

/* The run-wide counts: the models' summed in their order (the order the
 * journals are read in, so a run of one model counts exactly as before). */
static void sum_models(struct evidence *ev)
{
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        ev->answered += m->answered;
        ev->results_ok += m->results_ok;
        ev->gen_tps_sum += m->gen_tps_sum;
        ev->gen_tps_n += m->gen_tps_n;
        class_sum(&ev->oom, &m->oom);
        class_sum(&ev->conn, &m->conn);
        class_sum(&ev->other, &m->other);
        class_sum(&ev->ctx, &m->ctx);
        class_sum(&ev->not_found, &m->not_found);
        class_sum(&ev->reasoning, &m->reasoning);
        if (m->have_gpu) {
            ev->have_gpu = true;
            if (m->mem_peak_mib > ev->mem_peak_mib)
                ev->mem_peak_mib = m->mem_peak_mib;
            if (m->mem_total_mib > ev->mem_total_mib)
                ev->mem_total_mib = m->mem_total_mib;
            if (m->temp_peak > ev->temp_peak)
                ev->temp_peak = m->temp_peak;
            ev->util_mean_sum += m->util_mean_sum;
            ev->util_n += m->util_n;
        }
    }
}

/* Each model's settings the fixes name: its concurrency (and the key that
 * sets it) and its model file. */
static void model_settings(struct evidence *ev, const struct lleval_doctor_opts *o)
{
    for (size_t i = 0; i < ev->n_models; i++) {
        struct model_ev *m = &ev->models[i];
        const struct lleval_model_cfg *mc = m->id ? lleval_config_model(&ev->cfg, m->id) : NULL;
        m->jobs = ev->cfg.max_concurrent_jobs;
        m->gguf = ev->cfg.launch.model;
        if (mc && mc->max_concurrent_jobs != LLEVAL_MODEL_INHERIT) {
            m->jobs = mc->max_concurrent_jobs;
            m->jobs_key = lleval_xasprintf("models[%zu].max_concurrent_jobs",
                                           (size_t)(mc - ev->cfg.model_cfgs));
        } else {
            m->jobs_key = lleval_xstrdup("max_concurrent_jobs");
        }
        if (mc && mc->launch_model)
            m->gguf = mc->launch_model;
        if (o->model_gguf)
            m->gguf = o->model_gguf;
    }
}

/* ---- findings ------------------------------------------------------------ */

struct lleval_finding *lleval_dr_finding(struct lleval_doctor_report *rep,
                                         enum lleval_finding_kind kind, const char *fmt, ...)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_finding *f;
    va_list ap;
    rep->findings = lleval_xrealloc(rep->findings, (rep->n_findings + 1) * sizeof(*f));
    f = &rep->findings[rep->n_findings++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    va_start(ap, fmt);
    lleval_sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    f->title = lleval_sb_detach(&sb, NULL);
    return f;
}

void lleval_dr_name_model(struct lleval_finding *f, const struct model_ev *m)
{
    char *title;
    if (!m || !m->id)
        return;
    title = lleval_xasprintf("model %s: %s", m->id, f->title);
    free(f->title);
    f->title = title;
    free(f->model);
    f->model = lleval_xstrdup(m->id);
}

static void add_line(char ***list, size_t *n, const char *fmt, va_list ap)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_vaddf(&sb, fmt, ap);
    *list = lleval_xrealloc(*list, (*n + 1) * sizeof(char *));
    (*list)[(*n)++] = lleval_sb_detach(&sb, NULL);
}

void lleval_dr_evidence(struct lleval_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(&f->evidence, &f->n_evidence, fmt, ap);
    va_end(ap);
}

void lleval_dr_fix(struct lleval_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(&f->fixes, &f->n_fixes, fmt, ap);
    va_end(ap);
}

void lleval_dr_ids(struct lleval_finding *f, const char *what, char *const *ids, size_t n,
                   long total)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (n > MAX_IDS)
        n = MAX_IDS;
    for (size_t i = 0; i < n; i++)
        lleval_sb_addf(&sb, "%s%s", i ? ", " : "", ids[i]);
    if (total > (long)n)
        lleval_sb_adds(&sb, ", ...");
    lleval_dr_evidence(f, "%s: %s", what, sb.buf);
    lleval_sb_release(&sb);
}

/* Quantization in an Ollama-style tag or file name, and the next lower step
 * of the guide's ladder Q6_K -> Q4_K_M -> Q4_K_S -> Q3_K_M. */
static const char *lower_quant(const char *model, const char **current)
{
    static const char *const ladder[] = {"q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_k_s", "q3_k_m"};
    static const char *const next[] = {"Q6_K", "Q4_K_M", "Q4_K_M", "Q4_K_S", "Q3_K_M", NULL};
    for (size_t i = 0; model && i < LLEVAL_ARRAY_SIZE(ladder); i++) {
        if (lleval_dr_contains_ci(model, ladder[i])) {
            *current = ladder[i];
            return next[i];
        }
    }
    *current = NULL;
    return NULL;
}

/* The guide's size ladder 13B -> 8B -> 7B from a model name. */
static const char *smaller_model(const char *model)
{
    if (model && (lleval_dr_contains_ci(model, "13b") || lleval_dr_contains_ci(model, "14b")))
        return "an 8B model (e.g. llama3.1:8b-instruct-q4_K_M)";
    if (model && lleval_dr_contains_ci(model, "8b"))
        return "a 7B model";
    return "a smaller model (13B -> 8B -> 7B)";
}

/* KV cache size in MiB for a model file at a context and slot count, by the
 * planner (lleval plan). ctx is the per-slot context_length. */
static int doctor_kv_mib(const char *gguf, long ctx, long slots, double *mib)
{
    struct lleval_gguf g;
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan plan;
    int rc = lleval_gguf_open(&g, gguf, NULL);
    if (rc)
        return rc;
    rc = lleval_vram_model_from_gguf(&m, &g, NULL);
    lleval_gguf_release(&g);
    if (rc)
        return rc;
    lleval_vram_params_init(&p);
    p.ctx = ctx * slots;
    p.parallel = slots;
    rc = lleval_vram_plan(&m, &p, &plan, NULL);
    if (!rc)
        *mib = (double)(plan.kv_k + plan.kv_v) / 1048576.0;
    return rc;
}

/* "context_length 8192 -> 4096 frees 512 MiB of KV cache", with the planner's
 * numbers when the model file is known. */
static void context_fix(struct lleval_finding *f, const struct evidence *ev, const char *gguf,
                        long jobs)
{
    long ctx = ev->cfg.context_length, to = ctx > 4096 ? 4096 : ctx / 2;
    if (ctx <= 2048) {
        lleval_dr_fix(f, "context_length is already %ld: keep it (the guide's floor is 2k)", ctx);
        return;
    }
    if (gguf) {
        double from_mib, to_mib;
        long slots = jobs > 0 ? jobs : 1;
        if (!doctor_kv_mib(gguf, ctx, slots, &from_mib) &&
            !doctor_kv_mib(gguf, to, slots, &to_mib)) {
            lleval_dr_fix(f,
                          "context_length %ld -> %ld frees %.0f MiB of KV cache (%.0f -> %.0f MiB)",
                          ctx, to, from_mib - to_mib, from_mib, to_mib);
            return;
        }
    }
    lleval_dr_fix(
        f,
        "context_length %ld -> %ld (the KV cache shrinks in proportion: about half of it is "
        "freed; pass --model-gguf FILE for exact numbers)",
        ctx, to);
}

void lleval_dr_memory_fixes(struct lleval_finding *f, const struct evidence *ev,
                            const struct model_ev *m)
{
    /* the run as a whole (m NULL): its top-level settings, no model named */
    const char *model = m ? (m->id ? m->id : ev->model_id) : NULL;
    const char *jobs_key = m ? m->jobs_key : "max_concurrent_jobs";
    long jobs = m ? m->jobs : ev->cfg.max_concurrent_jobs;
    const char *cur, *lower = lower_quant(model, &cur);
    context_fix(f, ev, m ? m->gguf : NULL, jobs);
    if (lower)
        lleval_dr_fix(f,
                      "lower the quantization: model_id %s (%s) -> the %s build of the same model",
                      model, cur, lower);
    else
        lleval_dr_fix(f, "lower the quantization: Q6_K -> Q4_K_M -> Q4_K_S -> Q3_K_M");
    if (jobs > 1)
        lleval_dr_fix(f, "%s %ld -> 1 (each slot holds its own KV cache)", jobs_key, jobs);
    else
        lleval_dr_fix(f, "%s is already 1", jobs_key);
    lleval_dr_fix(f, "switch to %s", smaller_model(model));
    lleval_dr_fix(f, "close other GPU applications (games, video editors, browsers with hardware "
                     "acceleration)");
}

/* The out-of-memory finding of model m (NULL: the run as a whole, in a run of
 * several models when only the retries saw it: they do not record a model). */
static void oom_finding(const struct evidence *ev, const struct model_ev *m, long retried,
                        const char *rsample, struct lleval_doctor_report *rep)
{
    const struct err_class *oom = m ? &m->oom : &ev->oom;
    struct lleval_finding *f;
    if (oom->count && m)
        f = lleval_dr_finding(rep, LLEVAL_FIND_OOM,
                              "out of memory: %ld request%s failed with the engine's "
                              "out-of-memory error",
                              oom->count, oom->count == 1 ? "" : "s");
    else
        f = lleval_dr_finding(rep, LLEVAL_FIND_OOM,
                              "out of memory: %ld attempt%s got the engine's "
                              "out-of-memory error and %s retried",
                              retried, retried == 1 ? "" : "s", retried == 1 ? "was" : "were");
    if (oom->count && m)
        lleval_dr_ids(f, "custom_ids", oom->ids, oom->n_ids, oom->count);
    if (retried)
        lleval_dr_evidence(f,
                           "manifest.json retries.by_class.oom: %ld attempt%s retried "
                           "(the answers that followed hide it)%s",
                           retried, retried == 1 ? "" : "s",
                           ev->n_models > 1 ? "; of the whole run: retries do not record "
                                              "their model"
                                            : "");
    lleval_dr_evidence(f, "engine said: %s",
                       m && oom->sample ? oom->sample : (rsample ? rsample : ""));
    lleval_dr_memory_fixes(f, ev, m);
    lleval_dr_name_model(f, m);
}

static void rules(struct evidence *ev, struct lleval_doctor_report *rep)
{
    bool dry = ev->engine && !strcmp(ev->engine, "dry");
    /* a run of one model has one model_ev (id NULL), whose findings name no model */
    bool several = ev->n_models > 1 || (ev->n_models == 1 && ev->models[0].id);
    struct lleval_finding *f;

    /* Out of memory: failed requests, and attempts retried after it */
    {
        const char *rsample = NULL;
        long retried = lleval_events_retry_count(ev->manifest.retries, "oom", &rsample);
        bool any = false;
        for (size_t i = 0; i < ev->n_models; i++) {
            if (ev->models[i].oom.count) {
                oom_finding(ev, &ev->models[i], retried, rsample, rep);
                any = true;
            }
        }
        if (!any && retried)
            oom_finding(ev, several || !ev->n_models ? NULL : &ev->models[0], retried, rsample,
                        rep);
    }
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        if (m->have_gpu && m->mem_total_mib > 0 && m->mem_peak_mib / m->mem_total_mib > 0.95) {
            f = lleval_dr_finding(rep, LLEVAL_FIND_MEMORY_NEAR_LIMIT,
                                  "GPU memory near the limit: peak %.0f of %.0f MiB (%.0f%%)",
                                  m->mem_peak_mib, m->mem_total_mib,
                                  100.0 * m->mem_peak_mib / m->mem_total_mib);
            lleval_dr_evidence(
                f, "the guide: memory spikes to the card's size risk OOM; healthy is 12-15 GB "
                   "of 16 GB");
            lleval_dr_memory_fixes(f, ev, m);
            lleval_dr_name_model(f, m);
        }
    }
    /* Slow generation, by the guide's figure for each model's size */
    for (size_t i = 0; i < ev->n_models && !dry; i++) {
        const struct model_ev *m = &ev->models[i];
        const char *model = m->id ? m->id : ev->model_id;
        double gen_tps = m->gen_tps_n ? m->gen_tps_sum / (double)m->gen_tps_n : 0;
        double expect = 5;
        const char *why = "the guide's symptom threshold of 5 tokens/s";
        if (!m->gen_tps_n)
            continue;
        if (model && (lleval_dr_contains_ci(model, "13b") || lleval_dr_contains_ci(model, "14b"))) {
            expect = 8;
            why = "the guide's 8-15 tokens/s for a 13B Q4_K_M model";
        } else if (model && lleval_dr_contains_ci(model, "8b")) {
            expect = 15;
            why = "the guide's 15-25 tokens/s for an 8B Q4_K_M model";
        }
        if (gen_tps < expect) {
            f = lleval_dr_finding(rep, LLEVAL_FIND_SLOW,
                                  "slow generation: %.1f tokens/s on average, under %s", gen_tps,
                                  why);
            lleval_dr_evidence(f, "mean of %ld engine-reported generation speeds (lleval.gen_tps)",
                               m->gen_tps_n);
            if (ev->cfg.top_k > 20)
                lleval_dr_fix(f, "top_k %ld -> 20 (then 10)", ev->cfg.top_k);
            if (ev->cfg.top_p >= 1.0)
                lleval_dr_fix(f, "top_p %.2g -> 0.95", ev->cfg.top_p);
            if (ev->cfg.n_temps && ev->cfg.temps[0] == 0)
                lleval_dr_fix(f, "temps [0.0] -> [0.1] (slightly above greedy)");
            lleval_dr_fix(f, "try the other engine: engine %s -> %s", ev->engine ? ev->engine : "?",
                          ev->engine && !strcmp(ev->engine, "ollama") ? "llamacpp" : "ollama");
            lleval_dr_fix(f,
                          "check GPU utilization (nvidia-smi, or enable_local_telemetry: true): it "
                          "should be above 80%%");
            lleval_dr_name_model(f, m);
        }
    }
    for (size_t i = 0; i < ev->n_models && !dry; i++) {
        const struct model_ev *m = &ev->models[i];
        if (!m->util_n || m->util_mean_sum / (double)m->util_n >= 50)
            continue;
        f = lleval_dr_finding(rep, LLEVAL_FIND_LOW_UTILIZATION,
                              "low GPU utilization: %.0f%% on average (healthy: 80-95%%)",
                              m->util_mean_sum / (double)m->util_n);
        lleval_dr_evidence(f, "the guide: under 50%% means a CPU bottleneck or poor batching");
        if (ev->engine && !strcmp(ev->engine, "ollama") && m->jobs < 2)
            lleval_dr_fix(f, "%s %ld -> 2 (Ollama serves 2 comfortably on 16 GB)", m->jobs_key,
                          m->jobs);
        lleval_dr_fix(f, "check that the model is fully offloaded (launch.gpu_layers -1 / Ollama's "
                         "`ollama ps` shows 100%% GPU)");
        lleval_dr_fix(f,
                      "avoid concurrent GPU workloads; set MKL_NUM_THREADS / OMP_NUM_THREADS to 8");
        lleval_dr_name_model(f, m);
    }
    /* Frequent length truncation */
    for (size_t i = 0; i < ev->n_trials; i++) {
        struct trial_ev *t = &ev->trials[i];
        double rate = t->results ? (double)t->length / (double)t->results : 0;
        long mnt = t->max_tokens;
        const char *key = t->type ? t->type : "closed_book";
        if (rate <= 0.10)
            continue;
        /* the trial's name starts with its model's id: the title names it already */
        f = lleval_dr_finding(
            rep, LLEVAL_FIND_TRUNCATION,
            "frequent length truncation in %s: %.1f%% of answers hit max_new_tokens", t->name,
            100.0 * rate);
        if (ev->models[t->model].id)
            f->model = lleval_xstrdup(ev->models[t->model].id);
        lleval_dr_evidence(
            f, "%ld of %ld answers have finish_reason length (the guide's threshold: 10%%)",
            t->length, t->results);
        if (mnt > 0)
            lleval_dr_fix(f, "max_new_tokens.%s %ld -> %ld", key, mnt, mnt * 2);
        else
            lleval_dr_fix(f, "raise max_new_tokens.%s", key);
        if (ev->cfg.n_stop == 0)
            lleval_dr_fix(
                f,
                "add stop sequences: stop: [\"\\n\\nQuestion:\", \"Q:\", \"A:\", \"</answer>\"]");
        else
            lleval_dr_fix(
                f,
                "review the stop sequences (%zu set): add the markers your model emits after "
                "an answer",
                ev->cfg.n_stop);
        if (t->results && ev->cfg.context_length > 0) {
            double prompt = t->prompt_tokens / (double)t->results;
            lleval_dr_fix(
                f,
                "review the context budget: prompt ~%.0f + max_new_tokens %ld of context_length "
                "%ld",
                prompt, mnt, ev->cfg.context_length);
        }
    }
    /* The engine: restarts, connection, endpoint, context, reasoning, MC letters */
    lleval_dr_engine_rules(ev, rep);
    if (ev->missing || ev->duplicates || ev->unknown) {
        bool finished = ev->status && !strcmp(ev->status, "done");
        if (finished || ev->duplicates || ev->unknown) {
            f = lleval_dr_finding(
                rep, LLEVAL_FIND_PARSE_MISMATCH,
                "results do not match the requests: %ld missing, %ld duplicate, %ld "
                "unknown custom_ids",
                ev->missing, ev->duplicates, ev->unknown);
            if (ev->missing)
                lleval_dr_ids(f, "missing", ev->recon.missing_ids, ev->recon.n_missing_ids,
                              ev->missing);
            if (ev->duplicates)
                lleval_dr_ids(f, "duplicate", ev->recon.duplicate_ids, ev->recon.n_duplicate_ids,
                              ev->duplicates);
            if (ev->unknown)
                lleval_dr_ids(f, "unknown", ev->recon.unknown_ids, ev->recon.n_unknown_ids,
                              ev->unknown);
            lleval_dr_fix(f,
                          "ensure custom_id echoing: results must carry the request's custom_id");
            lleval_dr_fix(f, "validate the results' JSONL against docs/formats.md");
            lleval_dr_fix(f, "re-run with a smaller batch: --limit_items 10");
            lleval_dr_fix(f, "check the prompts ask for the expected response format");
        }
    }
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        if (!m->other.count)
            continue;
        f = lleval_dr_finding(rep, LLEVAL_FIND_REQUEST_ERRORS, "%ld request%s failed",
                              m->other.count, m->other.count == 1 ? "" : "s");
        lleval_dr_ids(f, "custom_ids", m->other.ids, m->other.n_ids, m->other.count);
        lleval_dr_evidence(f, "error: %s", m->other.sample ? m->other.sample : "");
        lleval_dr_fix(f,
                      "read the error column of results/predictions.csv; a prompt longer than the "
                      "context gets HTTP 400: lower max_new_tokens or raise context_length");
        lleval_dr_name_model(f, m);
    }
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        if (!m->have_gpu || m->temp_peak <= 85)
            continue;
        f = lleval_dr_finding(rep, LLEVAL_FIND_HIGH_TEMPERATURE,
                              "high GPU temperature: peak %.0f C (thermal throttling above 85 C)",
                              m->temp_peak);
        lleval_dr_evidence(f, "healthy: under 80 C");
        lleval_dr_fix(f, "check the cooling and airflow");
        lleval_dr_fix(f, "%s %ld -> %ld to lower the load", m->jobs_key, m->jobs,
                      m->jobs > 1 ? m->jobs - 1 : 1);
        lleval_dr_name_model(f, m);
    }
    if (ev->status && strcmp(ev->status, "done") && ev->missing) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_INCOMPLETE,
                              "the run is %s: %ld of %ld requests answered", ev->status,
                              ev->answered, ev->requests);
        lleval_dr_fix(f, "finish it: lleval runs resume %s", rep->run_id);
    }
}

static json_t *gpu_json(double peak, double total, double util_sum, long util_n, double temp)
{
    return json_pack("{s:f, s:f, s:o, s:f}", "memory_used_peak_mib", peak, "memory_total_mib",
                     total, "utilization_mean_pct",
                     util_n ? json_real(util_sum / (double)util_n) : json_null(),
                     "temperature_peak_c", temp);
}

/* A run of several models: each model's facts, in the run's order (the
 * run-wide counts are their sums; "model_id" stays the first model's). */
static json_t *models_json(const struct evidence *ev)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        json_t *o = json_object(), *trials = json_array();
        json_object_set_new(o, "model_id", json_string(m->id ? m->id : ""));
        json_object_set_new(o, "requests", json_integer(m->requests));
        json_object_set_new(o, "answered", json_integer(m->answered));
        json_object_set_new(o, "ok", json_integer(m->results_ok));
        json_object_set_new(o, "oom_errors", json_integer(m->oom.count));
        json_object_set_new(o, "connection_errors", json_integer(m->conn.count));
        json_object_set_new(o, "other_errors", json_integer(m->other.count));
        json_object_set_new(o, "context_errors", json_integer(m->ctx.count));
        json_object_set_new(o, "not_found_errors", json_integer(m->not_found.count));
        json_object_set_new(o, "reasoning_only", json_integer(m->reasoning.count));
        json_object_set_new(o, "gen_tps_mean",
                            m->gen_tps_n ? json_real(m->gen_tps_sum / (double)m->gen_tps_n)
                                         : json_null());
        for (size_t k = 0; k < ev->n_trials; k++)
            if (ev->trials[k].model == i)
                json_array_append_new(trials, json_string(ev->trials[k].name));
        json_object_set_new(o, "trials", trials);
        if (m->have_gpu)
            json_object_set_new(o, "gpu",
                                gpu_json(m->mem_peak_mib, m->mem_total_mib, m->util_mean_sum,
                                         m->util_n, m->temp_peak));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *facts_json(const struct evidence *ev)
{
    json_t *j = json_object(), *trials = json_array();
    json_object_set_new(j, "status", json_string(ev->status ? ev->status : ""));
    json_object_set_new(j, "engine", json_string(ev->engine ? ev->engine : ""));
    json_object_set_new(j, "model_id", json_string(ev->model_id ? ev->model_id : ""));
    json_object_set_new(j, "requests", json_integer(ev->requests));
    json_object_set_new(j, "answered", json_integer(ev->answered));
    json_object_set_new(j, "ok", json_integer(ev->results_ok));
    json_object_set_new(j, "oom_errors", json_integer(ev->oom.count));
    json_object_set_new(j, "connection_errors", json_integer(ev->conn.count));
    json_object_set_new(j, "other_errors", json_integer(ev->other.count));
    json_object_set_new(j, "context_errors", json_integer(ev->ctx.count));
    json_object_set_new(j, "not_found_errors", json_integer(ev->not_found.count));
    json_object_set_new(j, "reasoning_only", json_integer(ev->reasoning.count));
    json_object_set_new(j, "engine_events",
                        json_integer((json_int_t)json_array_size(ev->manifest.engine_events)));
    json_object_set(j, "retries", ev->manifest.retries ? ev->manifest.retries : json_null());
    json_object_set_new(j, "missing", json_integer(ev->missing));
    json_object_set_new(j, "duplicates", json_integer(ev->duplicates));
    json_object_set_new(j, "unknown", json_integer(ev->unknown));
    json_object_set_new(j, "gen_tps_mean",
                        ev->gen_tps_n ? json_real(ev->gen_tps_sum / (double)ev->gen_tps_n)
                                      : json_null());
    for (size_t i = 0; i < ev->n_trials; i++)
        json_array_append_new(trials, json_pack("{s:s, s:I, s:I}", "trial", ev->trials[i].name,
                                                "results", (json_int_t)ev->trials[i].results,
                                                "length", (json_int_t)ev->trials[i].length));
    json_object_set_new(j, "trials", trials);
    if (ev->have_gpu)
        json_object_set_new(j, "gpu",
                            gpu_json(ev->mem_peak_mib, ev->mem_total_mib, ev->util_mean_sum,
                                     ev->util_n, ev->temp_peak));
    if (ev->n_models > 1 || (ev->n_models == 1 && ev->models[0].id))
        json_object_set_new(j, "models", models_json(ev));
    return j;
}

int lleval_doctor_examine(const char *run_dir, const struct lleval_doctor_opts *o,
                          struct lleval_doctor_report *rep, struct lleval_err *err)
{
    struct evidence ev;
    struct lleval_build_result br;
    struct lleval_reconcile *recon = NULL;
    const struct lleval_doctor_lines *lines;
    char *path, *batches;
    int rc;

    memset(rep, 0, sizeof(*rep));
    memset(&ev, 0, sizeof(ev));
    rep->run_id = lleval_xstrdup(lleval_path_basename(run_dir));
    rc = lleval_manifest_load(run_dir, &ev.manifest, err);
    if (rc) {
        path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_MANIFEST);
        if (!lleval_path_exists(path))
            rc = err->code = LLEVAL_EIO; /* doctor's exit status for it has been 4 */
        free(path);
        lleval_manifest_release(&ev.manifest);
        lleval_doctor_report_release(rep);
        return rc;
    }
    ev.status = ev.manifest.status == LLEVAL_RUN_UNKNOWN
                    ? NULL
                    : lleval_run_status_name(ev.manifest.status);
    ev.engine = ev.manifest.engine;
    ev.model_id = ev.manifest.model_id;
    lleval_config_init(&ev.cfg);
    ev.have_cfg = true;
    rc = lleval_run_config_load(run_dir, &ev.cfg, err);
    if (rc)
        goto out;
    lines = lleval_doctor_lines_usable(o->lines) && !strcmp(o->lines->run_dir, run_dir) ? o->lines
                                                                                        : NULL;
    batches = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_BATCHES);
    rc = lleval_build_load(batches, &br, err);
    if (!rc && !lines) {
        rc = lleval_reconcile_new(&recon, batches, LLEVAL_RECON_LENIENT, &ev.recon, err);
        if (rc)
            lleval_build_result_release(&br);
    }
    free(batches);
    if (rc)
        goto out;
    for (size_t i = 0; i < br.n_parts && !rc; i++) {
        struct trial_ev *t = trial_for(&ev, &br.parts[i]);
        struct model_ev *m = &ev.models[t->model];
        m->requests += br.parts[i].requests;
        if (lines) { /* the journals were read by another step: its trial only */
            if (!t->max_tokens)
                t->max_tokens = part_max_tokens(&br.parts[i]);
        } else {
            rc = read_part(&ev, run_dir, &br.parts[i], recon, err);
        }
        read_telemetry(m, run_dir, &br.parts[i]);
    }
    lleval_build_result_release(&br);
    if (rc)
        goto out;
    if (!ev.n_models) /* a run without parts: its one model */
        model_for(&ev, NULL);
    lleval_dr_read_scores(&ev, run_dir);
    if (lines)
        take_lines(&ev, lines);
    else
        lleval_reconcile_finish(recon);
    sum_models(&ev);
    model_settings(&ev, o);
    ev.requests = (long)ev.recon.requests;
    ev.missing = (long)ev.recon.missing;
    ev.duplicates = (long)ev.recon.duplicates;
    ev.unknown = (long)ev.recon.unknown;
    if (!ev.have_gpu && o->vram_bytes) {
        ev.mem_total_mib = (double)o->vram_bytes / 1048576.0;
        for (size_t i = 0; i < ev.n_models; i++)
            ev.models[i].mem_total_mib = ev.mem_total_mib;
    }
    rules(&ev, rep);
    rep->facts = facts_json(&ev);
out:
    lleval_reconcile_free(recon);
    free_evidence(&ev);
    if (rc)
        lleval_doctor_report_release(rep);
    return rc;
}

json_t *lleval_doctor_report_json(const struct lleval_doctor_report *rep)
{
    json_t *j = json_object(), *fs = json_array();
    for (size_t i = 0; i < rep->n_findings; i++) {
        const struct lleval_finding *f = &rep->findings[i];
        json_t *ev = json_array(), *fx = json_array();
        for (size_t k = 0; k < f->n_evidence; k++)
            json_array_append_new(ev, json_string(f->evidence[k]));
        for (size_t k = 0; k < f->n_fixes; k++)
            json_array_append_new(fx, json_string(f->fixes[k]));
        json_t *o = json_pack("{s:s}", "kind", lleval_finding_name(f->kind));
        if (f->model) /* a run of several models: the model it is about */
            json_object_set_new(o, "model", json_string(f->model));
        json_object_set_new(o, "title", json_string(f->title));
        json_object_set_new(o, "evidence", ev);
        json_object_set_new(o, "fixes", fx);
        json_array_append_new(fs, o);
    }
    json_object_set_new(j, "run_id", json_string(rep->run_id ? rep->run_id : ""));
    json_object_set_new(j, "healthy", json_boolean(rep->n_findings == 0));
    json_object_set_new(j, "findings", fs);
    json_object_set(j, "facts", rep->facts ? rep->facts : json_null());
    return j;
}

void lleval_doctor_report_release(struct lleval_doctor_report *rep)
{
    for (size_t i = 0; i < rep->n_findings; i++) {
        struct lleval_finding *f = &rep->findings[i];
        free(f->model);
        free(f->title);
        for (size_t k = 0; k < f->n_evidence; k++)
            free(f->evidence[k]);
        for (size_t k = 0; k < f->n_fixes; k++)
            free(f->fixes[k]);
        free(f->evidence);
        free(f->fixes);
    }
    free(rep->findings);
    free(rep->run_id);
    json_decref(rep->facts);
    memset(rep, 0, sizeof(*rep));
}
