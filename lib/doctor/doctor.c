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
 * into ev and t, the trial of the journal it is in. */
static void count_result(struct evidence *ev, struct trial_ev *t,
                         const struct lleval_result_view *v)
{
    ev->answered++;
    t->results++;
    t->prompt_tokens += v->prompt_tokens > 0 ? (double)v->prompt_tokens : 0;
    if (v->failed) {
        const char *code = v->error_code;
        if (lleval_error_is_oom(v->error_message))
            lleval_dr_class_add(&ev->oom, v->custom_id, v->error_message);
        else if (lleval_error_is_context(v->error_message))
            lleval_dr_class_add(&ev->ctx, v->custom_id, v->error_message);
        else if (v->http_status == 404)
            lleval_dr_class_add(&ev->not_found, v->custom_id, v->error_message);
        else if (code && (!strcmp(code, "connection_error") || !strcmp(code, "timeout") ||
                          !strcmp(code, "transport_error")))
            lleval_dr_class_add(&ev->conn, v->custom_id, v->error_message);
        else
            lleval_dr_class_add(&ev->other, v->custom_id, v->error_message);
    } else {
        ev->results_ok++;
        if (v->gen_tps > 0) {
            ev->gen_tps_sum += v->gen_tps;
            ev->gen_tps_n++;
        }
        if (v->finish_reason && !strcmp(v->finish_reason, "length")) {
            t->length++;
            if (reasoning_only(v->content) && v->completion_tokens > 0)
                lleval_dr_class_add(&ev->reasoning, v->custom_id, v->content);
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
static void read_telemetry(struct evidence *ev, const char *run_dir,
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
    free(ev->mc_groups);
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

/* Takes the line facts of dl into ev, whose trials are made (same names, same
 * order: both from build.json's parts). */
static void take_lines(struct evidence *ev, const struct lleval_doctor_lines *dl)
{
    const struct evidence *from = &dl->ev;
    ev->answered = from->answered;
    ev->results_ok = from->results_ok;
    ev->gen_tps_sum = from->gen_tps_sum;
    ev->gen_tps_n = from->gen_tps_n;
    class_copy(&ev->oom, &from->oom);
    class_copy(&ev->conn, &from->conn);
    class_copy(&ev->other, &from->other);
    class_copy(&ev->ctx, &from->ctx);
    class_copy(&ev->not_found, &from->not_found);
    class_copy(&ev->reasoning, &from->reasoning);
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
static void context_fix(struct lleval_finding *f, const struct evidence *ev, const char *gguf)
{
    long ctx = ev->cfg.context_length, to = ctx > 4096 ? 4096 : ctx / 2;
    if (ctx <= 2048) {
        lleval_dr_fix(f, "context_length is already %ld: keep it (the guide's floor is 2k)", ctx);
        return;
    }
    if (gguf) {
        double from_mib, to_mib;
        long slots = ev->cfg.max_concurrent_jobs > 0 ? ev->cfg.max_concurrent_jobs : 1;
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

void lleval_dr_memory_fixes(struct lleval_finding *f, const struct evidence *ev, const char *gguf)
{
    const char *cur, *lower = lower_quant(ev->model_id, &cur);
    context_fix(f, ev, gguf);
    if (lower)
        lleval_dr_fix(f,
                      "lower the quantization: model_id %s (%s) -> the %s build of the same model",
                      ev->model_id, cur, lower);
    else
        lleval_dr_fix(f, "lower the quantization: Q6_K -> Q4_K_M -> Q4_K_S -> Q3_K_M");
    if (ev->cfg.max_concurrent_jobs > 1)
        lleval_dr_fix(f, "max_concurrent_jobs %ld -> 1 (each slot holds its own KV cache)",
                      ev->cfg.max_concurrent_jobs);
    else
        lleval_dr_fix(f, "max_concurrent_jobs is already 1");
    lleval_dr_fix(f, "switch to %s", smaller_model(ev->model_id));
    lleval_dr_fix(f, "close other GPU applications (games, video editors, browsers with hardware "
                     "acceleration)");
}

static void rules(struct evidence *ev, const struct lleval_doctor_opts *o,
                  struct lleval_doctor_report *rep)
{
    const char *gguf =
        o->model_gguf ? o->model_gguf : (ev->cfg.launch.model ? ev->cfg.launch.model : NULL);
    bool dry = ev->engine && !strcmp(ev->engine, "dry");
    double gen_tps = ev->gen_tps_n ? ev->gen_tps_sum / (double)ev->gen_tps_n : 0;
    struct lleval_finding *f;

    /* Out of memory: failed requests, and attempts retried after it */
    {
        const char *rsample = NULL;
        long retried = lleval_events_retry_count(ev->manifest.retries, "oom", &rsample);
        if (ev->oom.count || retried) {
            if (ev->oom.count)
                f = lleval_dr_finding(rep, LLEVAL_FIND_OOM,
                                      "out of memory: %ld request%s failed with the engine's "
                                      "out-of-memory error",
                                      ev->oom.count, ev->oom.count == 1 ? "" : "s");
            else
                f = lleval_dr_finding(rep, LLEVAL_FIND_OOM,
                                      "out of memory: %ld attempt%s got the engine's "
                                      "out-of-memory error and %s retried",
                                      retried, retried == 1 ? "" : "s",
                                      retried == 1 ? "was" : "were");
            if (ev->oom.count)
                lleval_dr_ids(f, "custom_ids", ev->oom.ids, ev->oom.n_ids, ev->oom.count);
            if (retried)
                lleval_dr_evidence(f,
                                   "manifest.json retries.by_class.oom: %ld attempt%s retried "
                                   "(the answers that followed hide it)",
                                   retried, retried == 1 ? "" : "s");
            lleval_dr_evidence(f, "engine said: %s",
                               ev->oom.sample ? ev->oom.sample : (rsample ? rsample : ""));
            lleval_dr_memory_fixes(f, ev, gguf);
        }
    }
    if (ev->have_gpu && ev->mem_total_mib > 0 && ev->mem_peak_mib / ev->mem_total_mib > 0.95) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_MEMORY_NEAR_LIMIT,
                              "GPU memory near the limit: peak %.0f of %.0f MiB (%.0f%%)",
                              ev->mem_peak_mib, ev->mem_total_mib,
                              100.0 * ev->mem_peak_mib / ev->mem_total_mib);
        lleval_dr_evidence(
            f, "the guide: memory spikes to the card's size risk OOM; healthy is 12-15 GB "
               "of 16 GB");
        lleval_dr_memory_fixes(f, ev, gguf);
    }
    /* Slow generation */
    if (!dry && ev->gen_tps_n) {
        double expect = 5;
        const char *why = "the guide's symptom threshold of 5 tokens/s";
        if (ev->model_id && (lleval_dr_contains_ci(ev->model_id, "13b") ||
                             lleval_dr_contains_ci(ev->model_id, "14b"))) {
            expect = 8;
            why = "the guide's 8-15 tokens/s for a 13B Q4_K_M model";
        } else if (ev->model_id && lleval_dr_contains_ci(ev->model_id, "8b")) {
            expect = 15;
            why = "the guide's 15-25 tokens/s for an 8B Q4_K_M model";
        }
        if (gen_tps < expect) {
            f = lleval_dr_finding(rep, LLEVAL_FIND_SLOW,
                                  "slow generation: %.1f tokens/s on average, under %s", gen_tps,
                                  why);
            lleval_dr_evidence(f, "mean of %ld engine-reported generation speeds (lleval.gen_tps)",
                               ev->gen_tps_n);
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
        }
    }
    if (!dry && ev->util_n && ev->util_mean_sum / (double)ev->util_n < 50) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_LOW_UTILIZATION,
                              "low GPU utilization: %.0f%% on average (healthy: 80-95%%)",
                              ev->util_mean_sum / (double)ev->util_n);
        lleval_dr_evidence(f, "the guide: under 50%% means a CPU bottleneck or poor batching");
        if (ev->engine && !strcmp(ev->engine, "ollama") && ev->cfg.max_concurrent_jobs < 2)
            lleval_dr_fix(f, "max_concurrent_jobs %ld -> 2 (Ollama serves 2 comfortably on 16 GB)",
                          ev->cfg.max_concurrent_jobs);
        lleval_dr_fix(f, "check that the model is fully offloaded (launch.gpu_layers -1 / Ollama's "
                         "`ollama ps` shows 100%% GPU)");
        lleval_dr_fix(f,
                      "avoid concurrent GPU workloads; set MKL_NUM_THREADS / OMP_NUM_THREADS to 8");
    }
    /* Frequent length truncation */
    for (size_t i = 0; i < ev->n_trials; i++) {
        struct trial_ev *t = &ev->trials[i];
        double rate = t->results ? (double)t->length / (double)t->results : 0;
        long mnt = t->max_tokens;
        const char *key = t->type ? t->type : "closed_book";
        if (rate <= 0.10)
            continue;
        f = lleval_dr_finding(
            rep, LLEVAL_FIND_TRUNCATION,
            "frequent length truncation in %s: %.1f%% of answers hit max_new_tokens", t->name,
            100.0 * rate);
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
    lleval_dr_engine_rules(ev, gguf, rep);
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
    if (ev->other.count) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_REQUEST_ERRORS, "%ld request%s failed",
                              ev->other.count, ev->other.count == 1 ? "" : "s");
        lleval_dr_ids(f, "custom_ids", ev->other.ids, ev->other.n_ids, ev->other.count);
        lleval_dr_evidence(f, "error: %s", ev->other.sample ? ev->other.sample : "");
        lleval_dr_fix(f,
                      "read the error column of results/predictions.csv; a prompt longer than the "
                      "context gets HTTP 400: lower max_new_tokens or raise context_length");
    }
    if (ev->have_gpu && ev->temp_peak > 85) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_HIGH_TEMPERATURE,
                              "high GPU temperature: peak %.0f C (thermal throttling above 85 C)",
                              ev->temp_peak);
        lleval_dr_evidence(f, "healthy: under 80 C");
        lleval_dr_fix(f, "check the cooling and airflow");
        lleval_dr_fix(f, "max_concurrent_jobs %ld -> %ld to lower the load",
                      ev->cfg.max_concurrent_jobs,
                      ev->cfg.max_concurrent_jobs > 1 ? ev->cfg.max_concurrent_jobs - 1 : 1);
    }
    if (ev->status && strcmp(ev->status, "done") && ev->missing) {
        f = lleval_dr_finding(rep, LLEVAL_FIND_INCOMPLETE,
                              "the run is %s: %ld of %ld requests answered", ev->status,
                              ev->answered, ev->requests);
        lleval_dr_fix(f, "finish it: lleval runs resume %s", rep->run_id);
    }
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
        json_object_set_new(
            j, "gpu",
            json_pack("{s:f, s:f, s:o, s:f}", "memory_used_peak_mib", ev->mem_peak_mib,
                      "memory_total_mib", ev->mem_total_mib, "utilization_mean_pct",
                      ev->util_n ? json_real(ev->util_mean_sum / (double)ev->util_n) : json_null(),
                      "temperature_peak_c", ev->temp_peak));
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
        if (lines) { /* the journals were read by another step: its trial only */
            struct trial_ev *t = trial_for(&ev, &br.parts[i]);
            if (!t->max_tokens)
                t->max_tokens = part_max_tokens(&br.parts[i]);
        } else {
            rc = read_part(&ev, run_dir, &br.parts[i], recon, err);
        }
        read_telemetry(&ev, run_dir, &br.parts[i]);
    }
    lleval_build_result_release(&br);
    if (rc)
        goto out;
    lleval_dr_read_scores(&ev, run_dir);
    if (lines)
        take_lines(&ev, lines);
    else
        lleval_reconcile_finish(recon);
    ev.requests = (long)ev.recon.requests;
    ev.missing = (long)ev.recon.missing;
    ev.duplicates = (long)ev.recon.duplicates;
    ev.unknown = (long)ev.recon.unknown;
    if (!ev.have_gpu && o->vram_bytes)
        ev.mem_total_mib = (double)o->vram_bytes / 1048576.0;
    rules(&ev, o, rep);
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
        json_array_append_new(fs, json_pack("{s:s, s:s, s:o, s:o}", "kind",
                                            lleval_finding_name(f->kind), "title", f->title,
                                            "evidence", ev, "fixes", fx));
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
