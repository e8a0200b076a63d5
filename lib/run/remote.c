/*
 * The cloud batch driver (see remote_int.h): runs each part's remote job
 * through its provider (batchapi.h). The provider says which request comes
 * next and reads each reply into the job; the driver performs the request
 * (remote_http.c), records the job in the part's state.json whenever it
 * changed (before the next request goes out), journals downloaded result
 * lines exactly once (converted as `lleval import` converts them: one path
 * for both), and resubmits the requests still missing when a job ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/result/result.h"
#include "lleval/run/import.h"
#include "lleval/util/idset.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"
#include "remote_int.h"
#include "run_int.h"

/* Bound on one reply held in memory (an output file of a full part). */
#define REMOTE_MAX_BODY ((size_t)1 << 30)
/* Bound on one request: an upload of 200 MB, a download of as much. */
#define REMOTE_TIMEOUT_S 1800L

struct driver {
    struct run *r;
    const struct lleval_batch_provider *pv;
    char *base_url;
    const char *key; /* borrowed from the environment; a secret */
    struct lleval_bjob *jobs;
    bool *have;               /* jobs[i] was loaded or started */
    double *next_poll;        /* lleval_now() of part i's next status check */
    struct lleval_idset *ids; /* the custom_ids of each part's requests (built when needed) */
    bool *ids_built;
    size_t duplicates, unknown, malformed, skipped;
    size_t retries;
    const char *step; /* "submit" or "poll", for messages */
};

static void ctx_of(struct driver *d, size_t i, struct lleval_batch_ctx *c)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    memset(c, 0, sizeof(*c));
    c->cfg = d->r->cfg;
    c->base_url = d->base_url;
    c->api_key = d->key;
    c->run_id = d->r->id;
    c->part = p->name;
    c->model = p->info->model ? p->info->model : d->r->cfg->model_id;
    c->run_dir = d->r->dir;
}

static int driver_open(struct driver *d, struct run *r, struct lleval_err *err)
{
    const char *url = lleval_config_base_url(r->cfg);
    size_t n = r->st.n_parts ? r->st.n_parts : 1, len;

    memset(d, 0, sizeof(*d));
    d->r = r;
    d->step = "poll";
    d->pv = lleval_batch_provider_for(r->cfg->engine);
    if (!d->pv)
        return lleval_err_set(err, LLEVAL_EINVAL, "engine '%s' is not a batch engine",
                              lleval_engine_kind_name(r->cfg->engine));
    if (!url ||
        (!lleval_str_starts_with(url, "http://") && !lleval_str_starts_with(url, "https://")))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "base_url '%s' must start with http:// or https://", url ? url : "");
    if (r->cfg->api_key_env && *r->cfg->api_key_env) {
        d->key = getenv(r->cfg->api_key_env);
        if (!d->key || !*d->key)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "engine %s needs an API key: set the variable %s (api_key_env "
                                  "names it)",
                                  d->pv->name, r->cfg->api_key_env);
        lleval_redact_add(d->key); /* never in a message or a file from now on */
    }
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    d->base_url = lleval_xstrndup(url, len);
    d->jobs = lleval_xcalloc(n, sizeof(*d->jobs));
    d->have = lleval_xcalloc(n, sizeof(*d->have));
    d->next_poll = lleval_xcalloc(n, sizeof(*d->next_poll));
    d->ids = lleval_xcalloc(n, sizeof(*d->ids));
    d->ids_built = lleval_xcalloc(n, sizeof(*d->ids_built));
    return 0;
}

static void driver_close(struct driver *d)
{
    for (size_t i = 0; d->jobs && i < d->r->st.n_parts; i++) {
        if (d->have[i])
            lleval_bjob_release(&d->jobs[i]);
        lleval_idset_release(&d->ids[i]);
    }
    free(d->jobs);
    free(d->have);
    free(d->next_poll);
    free(d->ids);
    free(d->ids_built);
    free(d->base_url);
}

/* The upload name of part i's attempt: unique per run, part and attempt. */
static char *upload_name(const struct driver *d, size_t i, long attempt)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addf(&sb, "lleval-%s-", d->r->id);
    for (const char *s = d->r->st.parts[i].name; *s; s++)
        lleval_sb_addch(&sb, *s == '/' ? '-' : *s);
    lleval_sb_addf(&sb, "-a%ld.jsonl", attempt);
    return lleval_sb_detach(&sb, NULL);
}

/* Starts attempt `attempt` of part i's job with input (a path in the run, borrowed). */
static void job_start(struct driver *d, size_t i, long attempt, const char *input, long requests)
{
    struct lleval_bjob *j = &d->jobs[i];
    if (d->have[i])
        lleval_bjob_release(j);
    lleval_bjob_init(j);
    d->have[i] = true;
    j->provider = lleval_xstrdup(d->pv->name);
    j->attempt = attempt;
    j->input = lleval_run_rel_path(d->r->dir, input);
    j->input_requests = requests;
    j->upload_name = upload_name(d, i, attempt);
}

/* Loads part i's job from its state.json's "remote", or starts attempt 1. */
static int job_load(struct driver *d, size_t i, struct lleval_err *err)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    int rc;
    if (d->have[i])
        return 0;
    if (!p->remote) {
        job_start(d, i, 1, p->info->batch_path, (long)p->requests);
        return 0;
    }
    rc = lleval_bjob_from_json(p->remote, &d->jobs[i], err);
    d->have[i] = true;
    if (!rc && (!d->jobs[i].provider || strcmp(d->jobs[i].provider, d->pv->name)))
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "%s: its job was submitted with engine '%s', not '%s': resume the run "
                            "with its own engine",
                            p->state_path, d->jobs[i].provider ? d->jobs[i].provider : "?",
                            d->pv->name);
    if (rc)
        return lleval_err_prefix(err, "%s", p->name);
    return 0;
}

/* Writes part i's state.json when its job changed since it was last written. */
static int job_save(struct driver *d, size_t i, struct lleval_err *err)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    json_t *now = lleval_bjob_to_json(&d->jobs[i]);
    int rc;
    if (p->remote && json_equal(p->remote, now) && !p->dirty) {
        json_decref(now);
        return 0;
    }
    json_decref(p->remote);
    p->remote = now;
    rc = lleval_journal_sync(p->journal, err); /* results first, then the state that counts them */
    if (!rc)
        rc = lleval_rs_write_part(&d->r->st, i, d->r->tel, err);
    return rc;
}

static int build_ids(struct driver *d, size_t i, struct lleval_err *err)
{
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    int more, rc;
    if (d->ids_built[i])
        return 0;
    rc = lleval_request_open(&rr, d->r->st.parts[i].info->batch_path, err);
    if (rc)
        return rc;
    while ((more = lleval_request_next(&rr, &v, err)) > 0)
        if (v->custom_id)
            lleval_idset_add(&d->ids[i], lleval_idset_hash(v->custom_id), 0);
    lleval_request_close(&rr);
    d->ids_built[i] = more == 0;
    return more < 0 ? more : 0;
}

/* Journals one result line of part i (owned by the caller) unless its
 * custom_id is unknown to the part or journaled already. */
static int journal_one(struct driver *d, size_t i, json_t *res, struct lleval_err *err)
{
    struct run *r = d->r;
    struct lleval_rs_part *p = &r->st.parts[i];
    const char *cid = lleval_result_custom_id(res);
    json_t *facts = json_object_get(res, "lleval");
    struct lleval_result_view v;
    int rc;

    if (!cid || !lleval_idset_has(&d->ids[i], cid)) {
        d->unknown++;
        return 0;
    }
    if (lleval_journal_has(p->journal, cid)) {
        d->duplicates++;
        return 0;
    }
    if (json_is_object(facts)) /* `lleval import` names itself; a run names its engine */
        json_object_set_new(facts, "engine", json_string(d->pv->name));
    rc = lleval_journal_append(p->journal, res, err);
    if (rc)
        return rc;
    lleval_result_decode(res, &v, NULL);
    if (v.failed)
        lleval_rs_set_error(&r->st, "%s: %s", v.custom_id ? v.custom_id : "?",
                            v.error_message ? v.error_message : "error");
    lleval_rs_count(&r->st, i, &v);
    return 0;
}

/* Journals the lines of a downloaded output or error file of part i. */
static int collect(struct driver *d, size_t i, const char *body, size_t len, struct lleval_err *err)
{
    struct lleval_batch_ctx c;
    const char *s = body, *end = body + len;
    int rc = build_ids(d, i, err);

    ctx_of(d, i, &c);
    while (!rc && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        struct lleval_err why = LLEVAL_ERR_INIT;
        json_t *line, *conv, *res = NULL;

        line = n ? json_loadb(s, n, 0, NULL) : NULL;
        s += n + (nl ? 1 : 0);
        if (!n || (n == 1 && s[-2] == '\r'))
            continue;
        if (!line) {
            d->malformed++;
            continue;
        }
        conv = d->pv->result_line ? d->pv->result_line(&c, line, &why) : json_incref(line);
        if (conv)
            res = lleval_import_convert(conv, &why);
        if (!conv && !why.code)
            d->skipped++; /* a request the job never ran: missing, for the next attempt */
        else if (!res)
            d->malformed++;
        else
            rc = journal_one(d, i, res, err);
        json_decref(res);
        json_decref(conv);
        json_decref(line);
    }
    return rc;
}

/* Waits ms in short naps; false when a stop was asked for meanwhile. */
static bool nap(struct run *r, long ms)
{
    double until = lleval_now() + (double)ms / 1000.0;
    while (lleval_now() < until) {
        if (lleval_stop_signal() || lleval_path_exists(r->stop_path)) {
            r->stop_requested = true;
            return false;
        }
        lleval_sleep_ms(ms < 100 ? ms : 100);
    }
    return true;
}

/*
 * Runs part i's job until it waits for the remote service (0) or its
 * outputs are collected (1). poll_due: a status check may go out now. A
 * transient failure (429, 5xx, no reply, a download cut short) asks next()
 * again after a backoff, so a request whose reply was lost is looked up
 * before it is sent again; max_retries of them in a row fail the step.
 */
static int drive(struct driver *d, size_t i, bool poll_due, struct lleval_err *err)
{
    struct lleval_batch_ctx c;
    struct lleval_bjob *j = &d->jobs[i];
    long fails = 0, max = d->r->cfg->max_retries > 0 ? d->r->cfg->max_retries : 0;

    ctx_of(d, i, &c);
    for (;;) {
        struct lleval_batch_request req;
        struct lleval_sb body = LLEVAL_SB_INIT;
        struct lleval_err why = LLEVAL_ERR_INIT;
        enum lleval_batch_verdict v;
        long status = 0;
        int act, rc;

        lleval_batch_request_init(&req);
        act = d->pv->next(&c, j, &req, err);
        rc = act < 0 ? act : job_save(d, i, err); /* e.g. UPLOADING, before the upload */
        if (rc || act == LLEVAL_BATCH_NEXT_DONE || (act == LLEVAL_BATCH_NEXT_POLL && !poll_due)) {
            lleval_batch_request_release(&req);
            return rc ? rc : act == LLEVAL_BATCH_NEXT_DONE;
        }
        if (act == LLEVAL_BATCH_NEXT_POLL) {
            poll_due = false;
            d->next_poll[i] = lleval_now() + (double)d->r->cfg->batch.poll_interval_ms / 1000.0;
        }
        if (lleval_remote_fetch(&req, REMOTE_TIMEOUT_S, REMOTE_MAX_BODY, &status, &body, &why))
            status = 0; /* why says what happened; the provider's reading of it is not kept */
        else if (req.sink != LLEVAL_BATCH_SINK_MEMORY && status >= 200 && status < 300)
            rc = collect(d, i, body.buf, body.len, err);
        if (!rc) {
            struct lleval_err said = LLEVAL_ERR_INIT;
            bool journaled = req.sink != LLEVAL_BATCH_SINK_MEMORY && status >= 200 && status < 300;
            v = d->pv->reply(&c, j, &req, status, journaled ? NULL : body.buf,
                             journaled ? 0 : body.len, &said);
            if (status)
                why = said;
            if (v == LLEVAL_BATCH_OK) {
                if (strncmp(req.step, "find_", 5))
                    fails = 0;
                rc = job_save(d, i, err);
            } else if (v == LLEVAL_BATCH_FAIL || fails >= max) {
                rc = lleval_err_set(err, LLEVAL_EENGINE, "%s: %s%s (resume the run to go on)",
                                    d->r->st.parts[i].name, why.msg,
                                    v == LLEVAL_BATCH_FAIL ? "" : ", after retries");
            } else {
                long wait = 250L << (fails < 5 ? fails : 5);
                fails++;
                d->retries++;
                lleval_run_event(d->r, "%s: %s: %s: retrying in %.1f s", d->step,
                                 d->r->st.parts[i].name, why.msg, (double)wait / 1000.0);
                if (!nap(d->r, wait))
                    rc = lleval_err_set(err, LLEVAL_EINTR, "stopped");
            }
        }
        lleval_sb_release(&body);
        lleval_batch_request_release(&req);
        if (rc)
            return rc;
    }
}

/* The request lines of part i not journaled yet go to a new input file;
 * *path receives it (owned) and *n their number. */
static int write_missing(struct driver *d, size_t i, long attempt, char **path, long *n,
                         struct lleval_err *err)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *dir = lleval_path_dirname(p->state_path), *name;
    int more, rc = lleval_request_open(&rr, p->info->batch_path, err);

    *n = 0;
    name = lleval_xasprintf("input-a%ld.jsonl", attempt);
    *path = lleval_path_join(dir, name);
    free(name);
    free(dir);
    if (rc)
        return rc;
    while ((more = lleval_request_next(&rr, &v, err)) > 0) {
        if (!v->custom_id || !v->line || lleval_journal_has(p->journal, v->custom_id))
            continue;
        lleval_json_dump_sb(v->line, &sb);
        lleval_sb_addch(&sb, '\n');
        (*n)++;
    }
    lleval_request_close(&rr);
    rc = more < 0 ? more : lleval_write_file_atomic(*path, sb.buf, sb.len, err);
    lleval_sb_release(&sb);
    return rc;
}

/* Journals the requests part i still misses as failed: its jobs are spent. */
static int fail_missing(struct driver *d, size_t i, struct lleval_err *err)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    const struct lleval_bjob *j = &d->jobs[i];
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    char *msg =
        lleval_xasprintf("no result after %ld batch job%s (the last one %s%s%s)", j->attempt,
                         j->attempt == 1 ? "" : "s", lleval_bjob_status_name(j->status),
                         j->message ? ": " : "", j->message ? j->message : "");
    int more = 0, rc = build_ids(d, i, err);

    if (!rc)
        rc = lleval_request_open(&rr, p->info->batch_path, err);
    if (rc) {
        free(msg);
        return rc;
    }
    while (!rc && (more = lleval_request_next(&rr, &v, err)) > 0) {
        json_t *line;
        if (!v->custom_id || lleval_journal_has(p->journal, v->custom_id))
            continue;
        line = lleval_result_line(v->custom_id, d->pv->name, NULL, 0, "batch_incomplete", msg, 0,
                                  j->attempt);
        rc = journal_one(d, i, line, err);
        json_decref(line);
    }
    if (!rc && more < 0)
        rc = more;
    lleval_request_close(&rr);
    free(msg);
    return rc;
}

/*
 * Moves part i on: drives its job; when the job's outputs are collected and
 * requests are still missing, starts the next attempt with exactly those
 * (bounded by batch.max_attempts; then they are journaled as failed).
 * Returns 1 when the part is finished, 0 while its job runs.
 */
static int advance(struct driver *d, size_t i, bool poll_due, struct lleval_err *err)
{
    struct lleval_rs_part *p = &d->r->st.parts[i];
    for (;;) {
        struct lleval_bjob *j = &d->jobs[i];
        char *path = NULL;
        long n = 0, attempt;
        int rc = drive(d, i, poll_due, err);
        if (rc <= 0)
            return rc;
        if (p->answered >= p->requests)
            return job_save(d, i, err) ? err->code : 1;
        attempt = j->attempt + 1;
        if (j->attempt >= d->r->cfg->batch.max_attempts) {
            lleval_run_warning(d->r,
                               "%s: %zu requests still without a result after %ld batch jobs: "
                               "recorded as failed",
                               p->name, p->requests - p->answered, j->attempt);
            rc = fail_missing(d, i, err);
            if (!rc)
                rc = job_save(d, i, err);
            return rc ? rc : 1;
        }
        rc = write_missing(d, i, attempt, &path, &n, err);
        if (!rc) {
            lleval_run_event(d->r,
                             "poll: %s: batch %s ended %s with %zu requests missing: "
                             "resubmitting them (attempt %ld of %ld)",
                             p->name, j->job_id ? j->job_id : "?",
                             lleval_bjob_status_name(j->status), p->requests - p->answered, attempt,
                             d->r->cfg->batch.max_attempts);
            job_start(d, i, attempt, path, n);
            rc = job_save(d, i, err);
        }
        free(path);
        if (rc)
            return rc;
        poll_due = false;
    }
}

/* Parts that still have requests to answer. */
static bool unfinished(const struct run *r, size_t i)
{
    return r->st.parts[i].answered < r->st.parts[i].requests;
}

/* True when `lleval runs stop --cancel` asked for the run's jobs to be cancelled. */
static bool cancel_asked(const struct run *r)
{
    char *cancel = lleval_path_join(r->dir, LLEVAL_REMOTE_CANCEL_FILE);
    bool yes = lleval_path_exists(cancel);
    free(cancel);
    return yes;
}

int lleval_remote_submit(struct run *r, struct lleval_err *err)
{
    struct driver d;
    size_t submitted = 0;
    int rc;

    if (cancel_asked(r)) { /* a stopped run whose jobs are to be cancelled: nothing new */
        lleval_run_event(r, "submit: cancelling the batch jobs: nothing submitted");
        return 0;
    }
    rc = driver_open(&d, r, err);

    d.step = "submit";
    for (size_t i = 0; !rc && i < r->st.n_parts; i++) {
        struct lleval_bjob *j;
        if (!unfinished(r, i))
            continue;
        rc = job_load(&d, i, err);
        j = &d.jobs[i];
        if (rc || j->phase >= LLEVAL_BJOB_SUBMITTED)
            continue; /* submitted by an earlier session: poll follows it */
        rc = advance(&d, i, false, err);
        if (rc >= 0) {
            lleval_run_event(r, "submit: %s: batch %s (%ld requests, attempt %ld)",
                             r->st.parts[i].name, d.jobs[i].job_id ? d.jobs[i].job_id : "?",
                             d.jobs[i].input_requests, d.jobs[i].attempt);
            submitted++;
            rc = 0;
        }
    }
    if (!rc)
        lleval_run_event(r, "submit: engine %s at %s: %zu job%s submitted", d.pv->name, d.base_url,
                         submitted, submitted == 1 ? "" : "s");
    if (rc == LLEVAL_EINTR)
        lleval_err_set(err, LLEVAL_EINTR, "stopped");
    driver_close(&d);
    return rc;
}

static void report_progress(struct driver *d)
{
    struct run *r = d->r;
    struct lleval_sched_stats ss;
    struct lleval_progress pr;
    size_t answered = 0, errors = 0, remote = 0;

    if (!r->o->on_progress)
        return;
    memset(&ss, 0, sizeof(ss));
    memset(&pr, 0, sizeof(pr));
    lleval_rs_totals(&r->st, &answered, &errors);
    for (size_t i = 0; i < r->st.n_parts; i++) {
        const struct lleval_bjob *j = &d->jobs[i];
        if (!d->have[i] || j->phase != LLEVAL_BJOB_SUBMITTED || !unfinished(r, i))
            continue;
        if (j->input_requests > 0)
            ss.in_flight += (size_t)j->input_requests;
        if (j->completed > 0)
            remote += (size_t)j->completed;
        if (j->failed > 0)
            remote += (size_t)j->failed;
    }
    ss.in_flight = ss.in_flight > remote ? ss.in_flight - remote : 0;
    ss.retries = d->retries;
    pr.sched = &ss;
    pr.total = r->build.total_requests > 0 ? (size_t)r->build.total_requests : 0;
    pr.answered = answered + remote; /* done remotely, not downloaded yet, counts */
    if (pr.answered > pr.total)
        pr.answered = pr.total;
    pr.errors = errors;
    pr.eta_s = -1;
    pr.n_trials = r->st.n_trials;
    for (size_t t = 0; t < r->st.n_trials; t++) {
        r->trial_done[t] = r->st.trials[t].answered;
        r->trial_total[t] = r->st.trials[t].requests;
    }
    pr.trial_names = r->trial_names;
    pr.trial_done = r->trial_done;
    pr.trial_total = r->trial_total;
    r->o->on_progress(r->o->ud, &pr);
}

/* Cancels every job still running (runs stop --cancel). */
static int cancel_all(struct driver *d, struct lleval_err *err)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < d->r->st.n_parts; i++) {
        struct lleval_batch_ctx c;
        struct lleval_batch_request req;
        struct lleval_sb body = LLEVAL_SB_INIT;
        struct lleval_err why = LLEVAL_ERR_INIT;
        long status = 0;
        if (!d->have[i])
            continue;
        ctx_of(d, i, &c);
        lleval_batch_request_init(&req);
        if (d->pv->cancel(&c, &d->jobs[i], &req, err) == 1) {
            if (lleval_remote_fetch(&req, 60, REMOTE_MAX_BODY, &status, &body, &why))
                status = 0;
            if (d->pv->reply(&c, &d->jobs[i], &req, status, body.buf, body.len, &why) ==
                LLEVAL_BATCH_OK) {
                n++;
                rc = job_save(d, i, err);
            } else {
                lleval_run_warning(d->r, "%s: cannot cancel batch %s: %s", d->r->st.parts[i].name,
                                   d->jobs[i].job_id, why.msg);
            }
        }
        lleval_sb_release(&body);
        lleval_batch_request_release(&req);
    }
    if (!rc)
        lleval_run_event(d->r, "poll: cancelled %zu batch job%s", n, n == 1 ? "" : "s");
    return rc;
}

/* Says what a stop leaves behind, cancelling the jobs when asked to. */
static int stop_jobs(struct driver *d, struct lleval_err *err)
{
    char *cancel = lleval_path_join(d->r->dir, LLEVAL_REMOTE_CANCEL_FILE);
    size_t running = 0;
    int rc = 0;
    for (size_t i = 0; i < d->r->st.n_parts; i++)
        if (d->have[i] && d->jobs[i].phase == LLEVAL_BJOB_SUBMITTED)
            running++;
    if (lleval_path_exists(cancel)) {
        rc = cancel_all(d, err);
        remove(cancel);
    } else if (running) {
        lleval_run_warning(d->r,
                           "%zu batch job%s left running at the provider: `lleval runs resume %s` "
                           "collects their results; `lleval runs stop --cancel %s` cancels them",
                           running, running == 1 ? "" : "s", d->r->id, d->r->id);
    }
    free(cancel);
    return rc ? rc : lleval_err_set(err, LLEVAL_EINTR, "stopped");
}

int lleval_remote_poll(struct run *r, struct lleval_err *err)
{
    struct driver d;
    int rc = driver_open(&d, r, err);
    size_t left = 1;

    lleval_rs_start(&r->st);
    for (size_t i = 0; !rc && i < r->st.n_parts; i++)
        if (unfinished(r, i))
            rc = job_load(&d, i, err);
    if (!rc && cancel_asked(r)) /* runs stop --cancel of a stopped run: cancel, collect nothing */
        rc = LLEVAL_EINTR;
    while (!rc && left) {
        double soonest = 0, now = lleval_now();
        left = 0;
        for (size_t i = 0; !rc && i < r->st.n_parts; i++) {
            int done;
            if (!d.have[i] || !unfinished(r, i))
                continue;
            done = advance(&d, i, d.next_poll[i] <= now, err);
            if (done < 0) {
                rc = done;
                break;
            }
            if (!done) {
                left++;
                if (!soonest || d.next_poll[i] < soonest)
                    soonest = d.next_poll[i];
            }
        }
        if (!rc)
            rc = lleval_run_flush(r, false, err);
        report_progress(&d);
        if (!rc && left && !nap(r, (long)((soonest - lleval_now()) * 1000.0) + 1))
            rc = LLEVAL_EINTR;
    }
    if (rc == LLEVAL_EINTR)
        rc = stop_jobs(&d, err);
    if (d.duplicates || d.unknown || d.malformed)
        lleval_run_warning(r,
                           "batch results: %zu duplicate%s and %zu unknown custom_id%s ignored, "
                           "%zu malformed line%s skipped",
                           d.duplicates, d.duplicates == 1 ? "" : "s", d.unknown,
                           d.unknown == 1 ? "" : "s", d.malformed, d.malformed == 1 ? "" : "s");
    lleval_rs_settle(&r->st, rc);
    driver_close(&d);
    return rc;
}
