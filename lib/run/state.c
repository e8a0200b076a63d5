/*
 * The run's state model (see state.h): parts and trials, their counts and
 * statuses, and their rendering into state.json and the manifest's trials.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "state.h"

void lleval_rs_init(struct lleval_run_state *st, const char *run_dir, const char *run_id)
{
    memset(st, 0, sizeof(*st));
    st->run_dir = run_dir;
    st->run_id = run_id;
    st->session_start = lleval_now();
}

void lleval_rs_release(struct lleval_run_state *st)
{
    for (size_t i = 0; i < st->n_parts; i++) {
        lleval_journal_close(st->parts[i].journal, NULL);
        free(st->parts[i].name);
        free(st->parts[i].state_path);
        free(st->parts[i].journal_path);
        free(st->parts[i].last_state);
        json_decref(st->parts[i].remote);
    }
    for (size_t t = 0; t < st->n_trials; t++) {
        free(st->trials[t].name);
        free(st->trials[t].model);
        free(st->trials[t].dataset);
    }
    free(st->parts);
    free(st->trials);
    {
        double t0 = st->session_start;
        lleval_rs_init(st, st->run_dir, st->run_id);
        st->session_start = t0;
    }
}

static size_t trial_index(struct lleval_run_state *st, const struct lleval_part_info *info)
{
    const char *model = info->model, *dataset = info->dataset;
    double temp = info->temp;
    struct lleval_rs_trial *t;
    for (size_t i = 0; i < st->n_trials; i++)
        if (!strcmp(st->trials[i].dataset, dataset) && st->trials[i].temp == temp &&
            !strcmp(st->trials[i].model ? st->trials[i].model : "", model ? model : ""))
            return i;
    st->trials = lleval_xrealloc(st->trials, (st->n_trials + 1) * sizeof(*st->trials));
    t = &st->trials[st->n_trials];
    memset(t, 0, sizeof(*t));
    t->model = model ? lleval_xstrdup(model) : NULL;
    t->dataset = lleval_xstrdup(dataset);
    t->temp = temp;
    t->name = lleval_run_trial_name(info->folder ? info->folder : dataset, temp);
    return st->n_trials++;
}

size_t lleval_rs_add_part(struct lleval_run_state *st, const struct lleval_part_info *info)
{
    struct lleval_rs_part *p;
    st->parts = lleval_xrealloc(st->parts, (st->n_parts + 1) * sizeof(*st->parts));
    p = &st->parts[st->n_parts];
    memset(p, 0, sizeof(*p));
    p->info = info;
    p->trial = trial_index(st, info);
    /* the folder: <dataset>, or <model folder>/<dataset> in a run of several models */
    const char *folder = info->folder ? info->folder : info->dataset;
    p->name = lleval_run_part_name(folder, info->temp, info->index);
    p->state_path = lleval_run_state_path(st->run_dir, folder, info->temp, info->index);
    p->journal_path = lleval_run_journal_path(st->run_dir, folder, info->temp, info->index);
    p->requests = info->requests > 0 ? (size_t)info->requests : 0;
    p->status = LLEVAL_RUN_QUEUED;
    st->trials[p->trial].parts++;
    st->trials[p->trial].requests += p->requests;
    return st->n_parts++;
}

static int mkdir_of(const char *path, struct lleval_err *err)
{
    char *dir = lleval_path_dirname(path);
    int rc = lleval_mkdirs(dir, err);
    free(dir);
    return rc;
}

/* Opens part i's journal and takes its counts, and what an earlier session
 * wrote into its state.json. */
static int load_part(struct lleval_run_state *st, size_t i, struct lleval_err *err)
{
    struct lleval_rs_part *p = &st->parts[i];
    struct lleval_rs_trial *t = &st->trials[p->trial];
    const struct lleval_journal_stats *js;
    struct lleval_part_state old;
    int rc = mkdir_of(p->state_path, err);

    lleval_part_state_init(&old);
    if (!rc)
        rc = mkdir_of(p->journal_path, err);
    if (!rc)
        rc = lleval_journal_open(p->journal_path, &p->journal, err);
    if (rc)
        return rc;
    js = lleval_journal_stats(p->journal);
    p->answered = js->lines;
    p->ok = js->ok;
    p->errors = js->lines - js->ok;
    p->status = p->answered >= p->requests ? LLEVAL_RUN_DONE : LLEVAL_RUN_QUEUED;
    /* keep timings and token counts from an earlier session; a damaged
     * state.json is an error (exit 4), never silently replaced */
    if (lleval_path_exists(p->state_path)) {
        rc = lleval_part_state_load(p->state_path, &old, err);
        if (rc) { /* unloaded: the flush leaves the part's files as they are */
            lleval_part_state_release(&old);
            lleval_journal_close(p->journal, NULL);
            p->journal = NULL;
            return rc;
        }
        p->started_at = old.started_at;
        p->finished_at = p->answered >= p->requests ? old.finished_at : 0;
        p->elapsed_before = old.elapsed_s > 0 ? old.elapsed_s : 0;
        p->prompt_tokens = old.prompt_tokens;
        p->completion_tokens = old.completion_tokens;
        lleval_telemetry_acc_restore(&p->tel, old.telemetry);
        p->remote = json_incref(old.remote); /* the job a batch engine submitted */
    }
    lleval_part_state_release(&old);
    t->answered += p->answered;
    t->errors += p->errors;
    if (p->started_at && (!t->started_at || p->started_at < t->started_at))
        t->started_at = p->started_at;
    return 0;
}

int lleval_rs_load(struct lleval_run_state *st, const struct lleval_build_result *build,
                   struct lleval_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < build->n_parts; i++)
        lleval_rs_add_part(st, &build->parts[i]);
    for (size_t i = 0; i < st->n_parts && !rc; i++)
        rc = load_part(st, i, err);
    return rc;
}

void lleval_rs_restore(struct lleval_run_state *st, const struct lleval_manifest *old)
{
    for (size_t k = 0; k < old->n_trials; k++) {
        const struct lleval_manifest_trial *o = &old->trials[k];
        for (size_t t = 0; o->trial && t < st->n_trials; t++) {
            struct lleval_rs_trial *tr = &st->trials[t];
            if (strcmp(o->trial, tr->name))
                continue;
            lleval_telemetry_acc_restore(&tr->tel, o->telemetry);
            tr->elapsed_before = o->elapsed_s > 0 ? o->elapsed_s : 0;
            if (tr->requests && tr->answered >= tr->requests && !tr->finished_at)
                tr->finished_at = o->finished_at;
            if (!tr->answered)
                continue;
            if (o->prompt_tps > 0) {
                tr->prompt_tps_n = (long)tr->answered;
                tr->prompt_tps_sum = o->prompt_tps * (double)tr->answered;
            }
            if (o->gen_tps > 0) {
                tr->gen_tps_n = (long)tr->answered;
                tr->gen_tps_sum = o->gen_tps * (double)tr->answered;
            }
        }
    }
}

size_t lleval_rs_start(struct lleval_run_state *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n_parts; i++) {
        struct lleval_rs_part *p = &st->parts[i];
        if (p->answered >= p->requests)
            continue;
        p->status = LLEVAL_RUN_RUNNING;
        p->first_job = n; /* jobs go out in part order */
        n += p->requests - p->answered;
        p->session_start = lleval_now();
        if (!p->started_at)
            p->started_at = p->session_start;
        if (!st->trials[p->trial].started_at)
            st->trials[p->trial].started_at = p->started_at;
        if (!st->trials[p->trial].session_start)
            st->trials[p->trial].session_start = p->session_start;
        p->dirty = true;
    }
    return n;
}

bool lleval_rs_count(struct lleval_run_state *st, size_t i, const struct lleval_result_view *v)
{
    struct lleval_rs_part *p = &st->parts[i];
    struct lleval_rs_trial *t = &st->trials[p->trial];
    bool finished = false;

    p->answered++;
    t->answered++;
    if (!v->failed) {
        p->ok++;
    } else {
        p->errors++;
        t->errors++;
    }
    p->prompt_tokens += (long)(v->prompt_tokens > 0 ? v->prompt_tokens : 0);
    p->completion_tokens += (long)(v->completion_tokens > 0 ? v->completion_tokens : 0);
    if (v->prompt_tps > 0) { /* NAN (absent) compares false */
        t->prompt_tps_sum += v->prompt_tps;
        t->prompt_tps_n++;
    }
    if (v->gen_tps > 0) {
        t->gen_tps_sum += v->gen_tps;
        t->gen_tps_n++;
    }
    p->dirty = true;
    if (p->answered >= p->requests) {
        p->status = LLEVAL_RUN_DONE;
        p->finished_at = lleval_now();
        finished = true;
    }
    if (t->answered >= t->requests && !t->finished_at)
        t->finished_at = lleval_now();
    return finished;
}

void lleval_rs_set_error(struct lleval_run_state *st, const char *fmt, ...)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t n;
    va_list ap;

    va_start(ap, fmt);
    lleval_sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    n = lleval_utf8_cut(sb.buf, sb.len, sizeof(st->last_error) - 1);
    memcpy(st->last_error, sb.buf, n);
    st->last_error[n] = '\0';
    lleval_sb_release(&sb);
}

void lleval_rs_settle(struct lleval_run_state *st, int rc)
{
    for (size_t i = 0; i < st->n_parts; i++) {
        struct lleval_rs_part *p = &st->parts[i];
        if (p->status == LLEVAL_RUN_RUNNING)
            p->status = LLEVAL_RUN_STOPPED;
        else if (rc == LLEVAL_EENGINE && p->status == LLEVAL_RUN_FAILED)
            p->status = LLEVAL_RUN_STOPPED;
    }
}

void lleval_rs_part_state(const struct lleval_run_state *st, size_t i,
                          const struct lleval_telemetry *tel, struct lleval_part_state *out)
{
    const struct lleval_rs_part *p = &st->parts[i];
    lleval_part_state_init(out);
    out->run_id = lleval_xstrdup(st->run_id);
    out->part = lleval_xstrdup(p->name);
    out->dataset = lleval_xstrdup(p->info->dataset);
    out->temperature = p->info->temp;
    out->trial = lleval_xstrdup(st->trials[p->trial].name);
    out->index = p->info->index;
    out->status = p->status;
    out->requests = (long)p->requests;
    out->answered = (long)p->answered;
    out->ok = (long)p->ok;
    out->errors = (long)p->errors;
    out->prompt_tokens = p->prompt_tokens;
    out->completion_tokens = p->completion_tokens;
    out->started_at = p->started_at;
    out->finished_at = p->finished_at;
    out->elapsed_s = lleval_rs_part_elapsed(st, i);
    out->batch_file = lleval_run_rel_path(st->run_dir, p->info->batch_path);
    out->results_file = lleval_run_rel_path(st->run_dir, p->journal_path);
    out->telemetry = lleval_telemetry_json(tel, &p->tel, p->completion_tokens);
    out->remote = json_incref(p->remote);
}

int lleval_rs_write_part(struct lleval_run_state *st, size_t i, const struct lleval_telemetry *tel,
                         struct lleval_err *err)
{
    struct lleval_part_state s;
    int rc;
    lleval_rs_part_state(st, i, tel, &s);
    rc = lleval_part_state_save_changed(st->parts[i].state_path, &s, &st->parts[i].last_state, err);
    lleval_part_state_release(&s);
    st->parts[i].dirty = false;
    return rc;
}

void lleval_rs_manifest_trials(const struct lleval_run_state *st,
                               const struct lleval_telemetry *tel, struct lleval_manifest *m)
{
    for (size_t t = 0; t < st->n_trials; t++) {
        const struct lleval_rs_trial *tr = &st->trials[t];
        struct lleval_manifest_trial *mt = lleval_manifest_add_trial(m);
        mt->trial = lleval_xstrdup(tr->name);
        mt->dataset = lleval_xstrdup(tr->dataset);
        mt->model = tr->model ? lleval_xstrdup(tr->model) : NULL;
        mt->temperature = tr->temp;
        mt->jobs_total = (long)tr->parts;
        for (size_t i = 0; i < st->n_parts; i++) {
            const struct lleval_rs_part *p = &st->parts[i];
            if (p->trial != t)
                continue;
            mt->prompt_tokens += p->prompt_tokens;
            mt->completion_tokens += p->completion_tokens;
            switch (p->status) {
            case LLEVAL_RUN_QUEUED:
                mt->jobs_queued++;
                break;
            case LLEVAL_RUN_RUNNING:
                mt->jobs_running++;
                break;
            case LLEVAL_RUN_DONE:
                mt->jobs_done++;
                break;
            case LLEVAL_RUN_STOPPED:
                mt->jobs_stopped++;
                break;
            default:
                mt->jobs_failed++;
                break;
            }
        }
        mt->requests = (long)tr->requests;
        mt->answered = (long)tr->answered;
        mt->errors = (long)tr->errors;
        mt->started_at = tr->started_at;
        mt->finished_at = tr->finished_at;
        mt->elapsed_s = lleval_rs_trial_elapsed(st, t);
        mt->telemetry = lleval_telemetry_json(tel, &tr->tel, mt->completion_tokens);
        /* the means of the engine-reported speeds (zeros, i.e. unknown, left out) */
        mt->prompt_tps = tr->prompt_tps_n ? tr->prompt_tps_sum / (double)tr->prompt_tps_n : 0;
        mt->gen_tps = tr->gen_tps_n ? tr->gen_tps_sum / (double)tr->gen_tps_n : 0;
        m->requests += mt->requests;
        m->answered += mt->answered;
        m->errors += mt->errors;
    }
}

int lleval_rs_flush_parts(struct lleval_run_state *st, bool force,
                          const struct lleval_telemetry *tel, struct lleval_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < st->n_parts && !rc; i++) {
        if (!st->parts[i].journal)
            continue; /* not loaded (lleval_rs_load failed): its state.json stays as it was */
        rc = lleval_journal_sync(st->parts[i].journal, err);
        if (!rc && (st->parts[i].dirty || force))
            rc = lleval_rs_write_part(st, i, tel, err);
    }
    return rc;
}

/* before + the time since start (0: not active in this session) up to the
 * finish, when that came in this session, else up to now */
static double active(double before, double start, double finished)
{
    double end;
    if (!start)
        return before;
    end = finished >= start ? finished : lleval_now();
    return before + (end > start ? end - start : 0);
}

double lleval_rs_part_elapsed(const struct lleval_run_state *st, size_t i)
{
    const struct lleval_rs_part *p = &st->parts[i];
    return active(p->elapsed_before, p->session_start, p->finished_at);
}

double lleval_rs_trial_elapsed(const struct lleval_run_state *st, size_t t)
{
    const struct lleval_rs_trial *tr = &st->trials[t];
    return active(tr->elapsed_before, tr->session_start, tr->finished_at);
}

double lleval_rs_active_s(const struct lleval_run_state *st, const struct lleval_manifest *old)
{
    double before = old->active_s, start = old->created_at > 0 ? old->created_at : old->started_at;
    double now = lleval_now();
    if (before <= 0 && start > 0 && old->updated_at > start)
        before = old->updated_at - start; /* written before active_s: all it knew */
    if (before < 0)
        before = 0;
    if (old->status == LLEVAL_RUN_DONE && old->steps_done >= LLEVAL_N_STEPS)
        return before;
    return before + (now > st->session_start ? now - st->session_start : 0);
}

void lleval_rs_totals(const struct lleval_run_state *st, size_t *answered, size_t *failed)
{
    *answered = *failed = 0;
    for (size_t i = 0; i < st->n_parts; i++) {
        *answered += st->parts[i].answered;
        *failed += st->parts[i].errors;
    }
}
