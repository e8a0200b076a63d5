/*
 * The report's facts (see report_int.h): every artifact of the run is read
 * here, once, into one struct report that the HTML and Markdown renderers
 * share. Read-only: nothing in the run directory changes.
 *
 * Gathering never fails on a missing or damaged artifact: each part keeps a
 * note that says what is missing and why, and the renderers print the note
 * in place of the section. Only an unreadable manifest (not a run) is an
 * error. The sampled answers are scored again against the prepared data
 * (without intervals) to show verdicts and gold answers next to them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/config/config.h"
#include "lleval/doctor/doctor.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/score/score.h"
#include "lleval/score/scores.h"
#include "lleval/score/stats.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "report_int.h"

void lleval_report_facts_release(struct report *r)
{
    free(r->run_id);
    free(r->models);
    free(r->steps_done);
    free(r->trials);
    free(r->warnings);
    free(r->frows);
    lleval_manifest_release(&r->m);
    lleval_config_release(&r->cfg);
    free(r->cfg_note);
    if (r->scores)
        lleval_scores_release(r->scores);
    free(r->scores);
    free(r->scores_note);
    lleval_leaderboard_release(&r->lb);
    for (size_t i = 0; r->grps && i < r->n_grps; i++)
        free(r->grps[i].model_dataset);
    free(r->grps);
    if (r->have_doc)
        lleval_doctor_report_release(&r->doc);
    free(r->doc_note);
    lleval_report_samples_release(r);
    lleval_report_xdata_release(&r->xd);
    free(r->samples_note);
    for (size_t i = 0; i < r->n_fc; i++) {
        free(r->fc[i].dataset);
        free(r->fc[i].prompt);
        free(r->fc[i].temp);
    }
    free(r->fc);
    free(r->finish_note);
}

/* The manifest's steps_done as "prepare, build, ...", owned. */
static char *join_steps(const struct report *r)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t s = 0; s < r->m.steps_done; s++) {
        if (sb.len)
            lleval_sb_adds(&sb, ", ");
        lleval_sb_adds(&sb, lleval_step_name((enum lleval_step)s));
    }
    if (!sb.len)
        lleval_sb_adds(&sb, "none");
    return lleval_sb_detach(&sb, NULL);
}

/* The manifest (rundir.h): a missing, damaged or newer one is the only error. */
static int load_manifest(struct report *r, struct lleval_err *err)
{
    const char *id;
    int rc = lleval_manifest_load(r->dir, &r->m, err);
    if (rc)
        return rc;
    id = r->m.run_id;
    r->run_id = lleval_xstrdup(id && *id ? id : lleval_path_basename(r->dir));
    return 0;
}

static void load_config(struct report *r)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    const char *rel = lleval_run_file_rel(LLEVAL_RUN_FILE_CONFIG);
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_CONFIG);
    if (!lleval_path_exists(path))
        r->cfg_note = lleval_xasprintf("%s is missing from the run directory", rel);
    else if (lleval_config_load_file(&r->cfg, path, &e))
        r->cfg_note = lleval_xasprintf("%s could not be read: %s", rel, e.msg);
    else
        r->have_cfg = true;
    free(path);
}

/* A metric of scores.json as the renderers take it. */
static void scores_metric(struct metric *m, const struct lleval_scores_metric *sm)
{
    memset(m, 0, sizeof(*m));
    m->lo = m->hi = NAN;
    if (!sm->has)
        return;
    m->has = true;
    m->v = sm->value;
    m->lo = sm->lo;
    m->hi = sm->hi;
}

/* k of n as a percentage with a percentile bootstrap interval, computed the
 * way the scorer computes its own (same resamples, a seed per label). */
static void prop_metric(struct metric *m, long k, long n, long resamples, uint64_t seed,
                        const char *label)
{
    struct lleval_dist d;
    struct lleval_ci ci;
    memset(m, 0, sizeof(*m));
    m->lo = m->hi = NAN;
    if (n <= 0 || k < 0 || k > n)
        return;
    m->has = true;
    m->v = 100.0 * (double)k / (double)n;
    if (resamples <= 0)
        return;
    lleval_dist_init(&d);
    for (long i = 0; i < n; i++)
        lleval_dist_add(&d, i < k ? 1.0 : 0.0);
    if (!lleval_bootstrap_dist(&d, resamples, lleval_seed_derive(seed, label), &ci, NULL)) {
        m->lo = 100.0 * ci.lo;
        m->hi = 100.0 * ci.hi;
    }
    lleval_dist_release(&d);
}

/* Whether the overall row of a dataset adds anything (more than one group). */
static bool overall_useful(const struct report *r, const struct grp *o)
{
    long n = 0;
    for (size_t i = 0; i < r->n_grps; i++)
        if (!r->grps[i].overall && !strcmp(r->grps[i].dataset, o->dataset))
            n++;
    return n > 1;
}

/* scores.json through its reader (scores.h): a missing or damaged file is a note. */
static void load_scores(struct report *r)
{
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_SCORES);
    struct lleval_err e = LLEVAL_ERR_INIT;
    const struct lleval_scores *s;
    size_t i;

    if (!lleval_path_exists(path)) {
        r->scores_note = lleval_xasprintf(
            "scores are missing: %s was not written (steps done: %s); run the score step with "
            "`lleval runs resume %s` or `lleval score`",
            lleval_run_file_rel(LLEVAL_RUN_FILE_SCORES), r->steps_done, r->run_id);
        free(path);
        return;
    }
    r->scores = lleval_xmalloc(sizeof(*r->scores));
    if (lleval_scores_load(path, r->scores, &e)) {
        lleval_scores_release(r->scores);
        free(r->scores);
        r->scores = NULL;
        r->scores_note = lleval_xasprintf("scores are missing: %s", e.msg);
        free(path);
        return;
    }
    free(path);
    s = r->scores;
    r->grps = lleval_xcalloc(s->n_groups + 1, sizeof(*r->grps));
    for (i = 0; i < s->n_groups; i++) {
        const struct lleval_scores_group *g = &s->groups[i];
        struct grp *x = &r->grps[r->n_grps];
        double error_pct = isfinite(g->error_pct) ? g->error_pct : 0;
        char label[512];
        long errors;
        if (!g->dataset)
            continue;
        x->dataset = g->dataset;
        if (g->model) { /* a run of several models: each group names its model */
            x->model_dataset = lleval_xasprintf("%s/%s", g->model, g->dataset);
            x->dataset = x->model_dataset;
        }
        x->prompt = g->prompt_type;
        if (g->has_temperature)
            lleval_fmt_num(x->temp, sizeof(x->temp), g->temperature);
        x->overall = g->overall;
        x->n = g->n;
        x->stop = g->finish_stop;
        x->length = g->finish_length;
        x->error = g->finish_error;
        x->other = g->finish_other;
        scores_metric(&x->em, &g->exact_match);
        scores_metric(&x->f1, &g->f1);
        scores_metric(&x->contains, &g->contains);
        scores_metric(&x->acc, &g->accuracy);
        scores_metric(&x->lat, &g->latency_ms);
        scores_metric(&x->tps, &g->tokens_per_s);
        x->mc = (g->scoring && !strcmp(g->scoring, "mc")) || (x->acc.has && !x->em.has);
        errors = (long)floor(error_pct * (double)x->n / 100.0 + 0.5);
        if (x->n > 0 && errors >= x->n) {
            /* no successful answer: the metrics that apply are n/a */
            struct metric *ms[] = {&x->em, &x->f1, &x->contains, &x->acc, &x->lat, &x->tps};
            for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(ms); k++)
                ms[k]->na = !ms[k]->has && (k < 3 ? !x->mc : k == 3 ? x->mc : true);
        }
        snprintf(label, sizeof(label), "%s/%s/t%s/truncation", x->dataset,
                 x->prompt ? x->prompt : "all", x->overall ? "all" : x->temp);
        prop_metric(&x->trunc, x->length, x->n, s->bootstrap_resamples, s->bootstrap_seed, label);
        snprintf(label, sizeof(label), "%s/%s/t%s/errors", x->dataset,
                 x->prompt ? x->prompt : "all", x->overall ? "all" : x->temp);
        prop_metric(&x->err, errors, x->n, s->bootstrap_resamples, s->bootstrap_seed, label);
        r->n_grps++;
    }
    for (i = 0; i < r->n_grps; i++)
        r->grps[i].shown = !r->grps[i].overall || overall_useful(r, &r->grps[i]);
    r->scored = s->scored;
    r->rows = s->rows;
    r->missing = s->missing;
    r->unknown = s->unknown;
    r->duplicates = s->duplicates;
    r->warnings_listed = s->n_warnings + s->skipped_warnings > 0;
    r->warnings = lleval_xcalloc(s->n_warnings + 1, sizeof(*r->warnings));
    for (i = 0; i < s->n_warnings; i++)
        r->warnings[r->n_warnings++] = s->warnings[i];
}

static void run_doctor(struct report *r)
{
    struct lleval_doctor_opts o;
    struct lleval_err e = LLEVAL_ERR_INIT;
    memset(&o, 0, sizeof(o));
    o.lines = r->doctor_lines; /* a whole run's parse step read the journals */
    if (lleval_doctor_examine(r->dir, &o, &r->doc, &e))
        r->doc_note = lleval_xasprintf("the doctor could not examine this run: %s", e.msg);
    else
        r->have_doc = true;
}

/* A result line's finish reason: lleval's, else the engine's, else "error"
 * for a failed request; NULL when the line says none. */
static const char *finish_of(const struct lleval_result_view *v)
{
    if (v->finish_reason)
        return v->finish_reason;
    if (v->body_finish)
        return v->body_finish;
    return v->failed ? "error" : NULL;
}

/* Finish reasons per group from results_combined.jsonl, for runs without scores. */
static void count_finish(struct report *r)
{
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_COMBINED);
    struct lleval_lines lr;
    struct lleval_err e = LLEVAL_ERR_INIT;
    int rc;

    if (!lleval_path_exists(path)) {
        r->finish_note = lleval_xasprintf("no finish reasons yet: %s is written when poll ends",
                                          lleval_run_file_rel(LLEVAL_RUN_FILE_COMBINED));
        free(path);
        return;
    }
    if (lleval_lines_open(&lr, path, &e)) {
        r->finish_note = lleval_xasprintf("finish reasons unavailable: %s", e.msg);
        free(path);
        return;
    }
    while ((rc = lleval_lines_next(&lr, &e)) == 1) {
        json_t *j = NULL;
        struct lleval_result_view v;
        struct lleval_cid cid;
        struct lleval_err ce = LLEVAL_ERR_INIT;
        const char *fr;
        struct fcount *f = NULL;
        /* a damaged field reads as absent; a line without a custom_id is skipped */
        lleval_result_decode_text(lr.line, lr.len, &j, &v, &ce);
        if (!v.custom_id || lleval_cid_decode(v.custom_id, &cid, &ce)) {
            json_decref(j);
            continue;
        }
        fr = finish_of(&v);
        for (size_t i = 0; i < r->n_fc && !f; i++)
            if (!strcmp(r->fc[i].dataset, cid.dataset) &&
                !strcmp(r->fc[i].prompt, cid.prompt_type) && !strcmp(r->fc[i].temp, cid.temp))
                f = &r->fc[i];
        if (!f) {
            LLEVAL_GROW(r->fc, r->n_fc, r->cap_fc);
            f = &r->fc[r->n_fc++];
            memset(f, 0, sizeof(*f));
            f->dataset = lleval_xstrdup(cid.dataset);
            f->prompt = lleval_xstrdup(cid.prompt_type);
            f->temp = lleval_xstrdup(cid.temp);
        }
        if (fr && !strcmp(fr, "stop"))
            f->stop++;
        else if (fr && !strcmp(fr, "length"))
            f->length++;
        else if (fr && !strcmp(fr, "error"))
            f->error++;
        else
            f->other++;
        lleval_cid_release(&cid);
        json_decref(j);
    }
    if (rc < 0)
        r->finish_note = lleval_xasprintf("finish reasons incomplete: %s", e.msg);
    lleval_lines_close(&lr);
    free(path);
}

/* ---- run facts ---------------------------------------------------------- */

static double run_started(const struct report *r)
{
    return r->m.created_at > 0 ? r->m.created_at : r->m.started_at;
}

/* The latest time the run did something: the manifest's update or a trial's end. */
static double run_last(const struct report *r)
{
    double t = r->m.updated_at;
    for (size_t i = 0; i < r->m.n_trials; i++)
        if (r->m.trials[i].finished_at > t)
            t = r->m.trials[i].finished_at;
    return t;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The headline numbers over the groups (overall rows left out); the main
 * metric is the one `lleval runs list` shows first (runs.h), under the
 * report's own label for multiple choice ("accuracy" where the list says
 * "acc"); a run with QA and multiple-choice groups also has accuracy apart. */
static void compute_headline(struct report *r)
{
    struct headline *h = &r->h;
    struct lleval_headline main = lleval_scores_headline(r->scores);
    double f1_sum = 0, f1_n = 0, tr_k = 0, tr_n = 0;
    double tps_sum = 0, tps_n = 0, lat_sum = 0, lat_n = 0;
    memset(h, 0, sizeof(*h));
    h->have_main = main.have;
    h->main = main.pct;
    h->main_label = !main.have || !strcmp(main.label, "acc") ? "accuracy" : main.label;
    h->have_acc = main.have_em && main.have_acc;
    h->acc = main.acc;
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        if (g->overall || g->n <= 0)
            continue;
        if (!g->mc && g->f1.has) {
            f1_sum += g->f1.v * (double)g->n;
            f1_n += (double)g->n;
        }
        tr_k += (double)g->length;
        tr_n += (double)g->n;
        if (g->tps.has) {
            tps_sum += g->tps.v * (double)g->n;
            tps_n += (double)g->n;
        }
        if (g->lat.has) {
            lat_sum += g->lat.v * (double)g->n;
            lat_n += (double)g->n;
        }
    }
    if ((h->have_f1 = f1_n > 0))
        h->f1 = f1_sum / f1_n;
    if ((h->have_trunc = tr_n > 0))
        h->trunc = 100.0 * tr_k / tr_n;
    if ((h->have_tps = tps_n > 0))
        h->tps = tps_sum / tps_n;
    if ((h->have_lat = lat_n > 0))
        h->lat = lat_sum / lat_n;
}

/* The telemetry status of a trial's telemetry object ("disabled" when absent). */
static const char *trial_tstatus(const json_t *tel)
{
    const char *s = lleval_json_str(tel, "status");
    return s ? s : "disabled";
}

static bool trial_has_gpu(const json_t *tel)
{
    return !strcmp(trial_tstatus(tel), "ok") && json_is_object(json_object_get(tel, "gpu"));
}

/* A number field that may be null or absent. */
static struct opt_num jnum(const json_t *o, const char *key)
{
    const json_t *x = json_object_get(o, key);
    struct opt_num n = {false, 0};
    if (json_is_number(x)) {
        n.has = true;
        n.v = json_number_value(x);
    }
    return n;
}

/* A speed of the manifest, where 0 means unknown (written as null). */
static struct opt_num known(double v)
{
    struct opt_num n = {v != 0, v};
    return n;
}

static struct opt_num per_second(double count, double elapsed)
{
    struct opt_num n = {false, 0};
    if (elapsed > 0) {
        n.has = true;
        n.v = count / elapsed;
    }
    return n;
}

/* A run of several models: its models in the run's order ("a, b"; the
 * manifest's trials name them), where the manifest's model_id is the first;
 * NULL for a run of one model. Owned. */
static char *run_models(const struct lleval_manifest *m)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t i = 0; i < m->n_trials; i++) {
        const char *model = m->trials[i].model;
        bool seen = false;
        for (size_t k = 0; model && k < i && !seen; k++)
            seen = m->trials[k].model && !strcmp(m->trials[k].model, model);
        if (model && !seen)
            lleval_sb_addf(&sb, "%s%s", sb.len ? ", " : "", model);
    }
    if (!sb.len) {
        lleval_sb_release(&sb);
        return NULL;
    }
    return lleval_sb_detach(&sb, NULL);
}

/* The header facts: what the manifest says about the whole run. */
static void load_header(struct report *r)
{
    const struct lleval_manifest *m = &r->m;
    r->models = run_models(m);
    r->model = r->models ? r->models : or_empty(m->model_id);
    r->engine = or_empty(m->engine);
    r->engine_detail = or_empty(m->engine_detail);
    r->last_error = or_empty(m->last_error);
    r->prompt_set = or_empty(m->prompt_set);
    r->base_url = m->base_url;
    r->started = run_started(r);
    r->last = run_last(r);
    /* active time summed over the sessions; a manifest without it: first start to last update */
    r->duration = m->active_s > 0                 ? m->active_s
                  : r->last > 0 && r->started > 0 ? r->last - r->started
                                                  : -1;
    r->total = m->requests;
    r->answered = m->answered;
    r->errors = m->errors;
    r->err_pct = r->total ? 100.0 * (double)r->errors / (double)r->total : 0.0;
    r->concurrency = m->max_concurrent_jobs;
    r->steps_done = join_steps(r);
    r->status_word = lleval_run_status_name(r->status);
    r->status_class = r->status == LLEVAL_RUN_FAILED ? "s-bad" : "s-warn";
    if (r->status == LLEVAL_RUN_DONE && r->errors > 0 && r->errors >= r->answered) {
        r->status_word = "done, every request failed";
        r->status_class = "s-bad";
    } else if (r->status == LLEVAL_RUN_DONE && r->errors > 0) {
        r->status_word = "done with errors";
    } else if (r->status == LLEVAL_RUN_DONE) {
        r->status_class = "s-ok";
    }
}

/* The trials: progress, tokens, speeds and telemetry of each. */
static void load_trials(struct report *r)
{
    r->one_gpu = true;
    r->trials = lleval_xcalloc(r->m.n_trials + 1, sizeof(*r->trials));
    for (size_t i = 0; i < r->m.n_trials; i++) {
        const struct lleval_manifest_trial *tr = &r->m.trials[i];
        struct trial *t = &r->trials[r->n_trials++];
        /* the telemetry object is telemetry.h's format, kept as the manifest holds it */
        const json_t *tel = tr->telemetry;
        const json_t *gpu = json_object_get(tel, "gpu"), *host = json_object_get(tel, "host");
        t->name = tr->trial;
        t->parts_done = tr->jobs_done;
        t->parts_total = tr->jobs_total;
        t->answered = tr->answered;
        t->requests = tr->requests;
        t->errors = tr->errors;
        t->prompt_tokens = tr->prompt_tokens;
        t->completion_tokens = tr->completion_tokens;
        t->elapsed = tr->elapsed_s;
        t->rps = per_second((double)t->answered, t->elapsed);
        t->wall_tps = per_second((double)t->completion_tokens, t->elapsed);
        t->prompt_tps = known(tr->prompt_tps);
        t->gen_tps = known(tr->gen_tps);
        t->tstatus = trial_tstatus(tel);
        t->has_gpu = trial_has_gpu(tel);
        t->gpu_name = lleval_json_str(gpu, "name");
        t->mem_peak = jnum(gpu, "memory_used_peak_mib");
        t->mem_total = jnum(gpu, "memory_total_mib");
        t->util_mean = jnum(gpu, "utilization_mean_pct");
        t->util_peak = jnum(gpu, "utilization_peak_pct");
        t->temp_peak = jnum(gpu, "temperature_peak_c");
        t->power_mean = jnum(gpu, "power_mean_w");
        t->energy = jnum(gpu, "energy_j");
        t->energy_per_token = jnum(gpu, "energy_per_token_j");
        t->cpu_mean = jnum(host, "cpu_mean_pct");
        t->cpu_peak = jnum(host, "cpu_peak_pct");
        t->rss_peak = jnum(host, "engine_rss_peak_mib");
        if (!t->has_gpu)
            continue;
        /* one GPU name for every trial: the page says it once */
        r->any_gpu = true;
        if (!r->gpu_name)
            r->gpu_name = t->gpu_name ? t->gpu_name : "";
        else if (strcmp(r->gpu_name, t->gpu_name ? t->gpu_name : ""))
            r->one_gpu = false;
    }
}

/* The finish-reason rows: from the scores, else from the results. */
static void build_frows(struct report *r)
{
    r->frows = lleval_xcalloc(r->n_grps + r->n_fc + 1, sizeof(*r->frows));
    if (r->scores) {
        for (size_t i = 0; i < r->n_grps; i++) {
            const struct grp *g = &r->grps[i];
            if (g->overall)
                continue;
            r->frows[r->n_frows++] = (struct frow){
                g->dataset, g->prompt ? g->prompt : "", g->temp, g->stop, g->length, g->error,
                g->other};
        }
    } else {
        for (size_t i = 0; i < r->n_fc; i++) {
            const struct fcount *f = &r->fc[i];
            r->frows[r->n_frows++] = (struct frow){f->dataset, f->prompt, f->temp, f->stop,
                                                   f->length,  f->error,  f->other};
        }
    }
}

int lleval_report_facts_load(struct report *r, const char *dir, const struct lleval_report_opts *o,
                             struct lleval_err *err)
{
    int rc;

    memset(r, 0, sizeof(*r));
    lleval_manifest_init(&r->m);
    lleval_config_init(&r->cfg);
    r->dir = dir;
    r->generated = o && o->generated_at > 0 ? o->generated_at : lleval_now();
    r->explorer_max = o ? o->explorer_max : 0;
    r->doctor_lines = o ? o->doctor_lines : NULL;
    rc = load_manifest(r, err);
    if (rc)
        return rc;
    r->status = o && o->status != LLEVAL_RUN_UNKNOWN ? o->status : r->m.status;
    load_header(r);
    load_trials(r);
    load_config(r);
    load_scores(r);
    lleval_report_load_leaderboard(r);
    if (!r->scores)
        count_finish(r);
    build_frows(r);
    run_doctor(r);
    lleval_report_load_samples(r);
    compute_headline(r);
    return 0;
}
