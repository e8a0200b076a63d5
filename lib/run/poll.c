/*
 * The poll step (see run_int.h): the job source that streams the unanswered
 * requests of the unfinished parts from their batch files, the scheduler's
 * callbacks (on_result routes each result into its part's journal and
 * counts it; on_tick watches the stop file and the managed server, samples
 * telemetry, flushes the state and reports progress), and the combination
 * of the part journals into results_combined.jsonl. It also records the
 * engine events (events.h: restarts of the managed server, retries by error
 * class) for the manifest, and stops a run whose first answers are all HTTP
 * 404 (a wrong base_url or model_id) before it journals them. A run of
 * several models asks them in turn, one scheduler run per model, and has
 * Ollama unload each model before the next one is asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/ollama.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/run/events.h"
#include "lleval/run/rundir.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "endpoints_int.h"
#include "run_int.h"

/* Where the job source is in the batch files. */
struct job_source {
    size_t part;
    size_t end; /* parts [part, end): the model being asked */
    bool open;
    struct lleval_request_reader rr; /* its lines are read here, unparsed */
    struct lleval_sb scratch;        /* the line scanner's */
};

/* This many HTTP 404s before any answer of the session stop the run (fewer
 * when the session has fewer requests): every request goes to a wrong
 * address or names a model the engine does not have. */
#define NOT_FOUND_STOP 5

/* A 404 result held back until the session has an answer (see on_result). */
struct held {
    size_t tag;
    char *line; /* the result line's text and its '\n' (owned) */
    size_t len;
};

struct poll_ctx {
    struct run *r;
    struct lleval_err *err;
    int io_rc;
    struct job_source src;
    size_t to_send;     /* requests this session sends */
    size_t sent_before; /* jobs sent for the models asked before this one */
    const char *model;  /* a run of several models: the model being asked (borrowed) */
    bool answered_ok;   /* a request of this session got an answer (not a 404) */
    double tick_at;     /* several endpoints: when the poll time was last counted */
    struct held held[NOT_FOUND_STOP];
    size_t n_held;
    size_t *pending; /* parts whose journal holds lines not yet written */
    size_t n_pending, cap_pending;
};

/* Journals one result (its text, and v: what it says) and counts it into its
 * part. The line waits in its journal for flush_pending(), which the scheduler
 * runs once the results that finished together are recorded (one write for
 * them); a state.json that counts it is written only after it. */
static int record(struct poll_ctx *pc, size_t tag, const char *line, size_t len,
                  const struct lleval_result_view *v)
{
    struct run *r = pc->r;
    struct lleval_rs_part *p = &r->st.parts[tag];
    bool was_pending = lleval_journal_pending(p->journal);
    int rc = lleval_journal_add_text(p->journal, v->custom_id, v->failed, line, len, pc->err);

    if (rc) {
        pc->io_rc = rc;
        return rc;
    }
    if (!was_pending && lleval_journal_pending(p->journal)) {
        LLEVAL_GROW(pc->pending, pc->n_pending, pc->cap_pending);
        pc->pending[pc->n_pending++] = tag;
    }
    if (v->failed)
        lleval_rs_set_error(&r->st, "%s: %s", v->custom_id ? v->custom_id : "?",
                            v->error_message ? v->error_message : "error");
    if (lleval_rs_count(&r->st, tag, v)) {
        rc = lleval_journal_flush(p->journal, pc->err); /* the results before their count */
        if (!rc)
            rc = lleval_rs_write_part(&r->st, tag, r->tel, pc->err);
        if (rc)
            pc->io_rc = rc;
    }
    return rc;
}

/* The scheduler's after_results: writes the journal lines recorded since the
 * last call, one write per journal. */
static int flush_pending(void *ud)
{
    struct poll_ctx *pc = ud;
    int rc = 0;
    for (size_t i = 0; i < pc->n_pending && !rc; i++)
        rc = lleval_journal_flush(pc->r->st.parts[pc->pending[i]].journal, pc->err);
    pc->n_pending = 0;
    if (rc)
        pc->io_rc = rc;
    return rc;
}

/* What a held result's line says (the scheduler wrote it: every field is
 * sound); *json is the decoded line the view borrows from. */
static void held_view(const struct held *h, json_t **json, struct lleval_result_view *v)
{
    lleval_result_decode_text(h->line, h->len, json, v, NULL);
}

/* Journals the held-back 404 results (the session got an answer: they are
 * the items' own failures). */
static int release_held(struct poll_ctx *pc)
{
    int rc = 0;
    for (size_t i = 0; i < pc->n_held; i++) {
        if (!rc) {
            json_t *json;
            struct lleval_result_view v;
            held_view(&pc->held[i], &json, &v);
            rc = record(pc, pc->held[i].tag, pc->held[i].line, pc->held[i].len, &v);
            json_decref(json);
        }
        free(pc->held[i].line);
    }
    pc->n_held = 0;
    return rc;
}

static void drop_held(struct poll_ctx *pc)
{
    for (size_t i = 0; i < pc->n_held; i++)
        free(pc->held[i].line);
    pc->n_held = 0;
}

/* The error that stops a run whose requests all get HTTP 404; the held
 * results stay unjournaled, so a resume after the fix asks them again. */
static int not_found_stop(struct poll_ctx *pc)
{
    struct run *r = pc->r;
    struct lleval_result_view v;
    json_t *json;
    const char *base = lleval_engine_base_url(r->engine);
    const char *model = pc->model ? pc->model : r->cfg->model_id ? r->cfg->model_id : "";
    int rc;

    held_view(&pc->held[0], &json, &v);
    if (r->cfg->engine == LLEVAL_ENGINE_OLLAMA)
        rc = lleval_err_set(pc->err, LLEVAL_EENGINE,
                            "engine not found: the first %zu request%s got HTTP 404 from '%s' "
                            "(%s); the model_id '%s' or the base_url is wrong: check the model "
                            "with `ollama list` and fetch it with `ollama pull %s`; Ollama's "
                            "base_url has no /v1 (e.g. http://127.0.0.1:11434); fix it, then "
                            "`lleval runs resume %s` (nothing was recorded for them)",
                            pc->n_held, pc->n_held == 1 ? "" : "s", base ? base : "",
                            v.error_message ? v.error_message : "not found", model, model, r->id);
    else
        rc = lleval_err_set(pc->err, LLEVAL_EENGINE,
                            "engine not found: the first %zu request%s got HTTP 404 from '%s' "
                            "(%s); the base_url or the model_id '%s' is wrong: an OpenAI-"
                            "compatible server's base_url is its API root, usually ending in "
                            "/v1 (e.g. http://127.0.0.1:8080/v1), and the model must be one it "
                            "lists (curl -sS %s/models); fix the config, then `lleval runs "
                            "resume %s` (nothing was recorded for them)",
                            pc->n_held, pc->n_held == 1 ? "" : "s", base ? base : "",
                            v.error_message ? v.error_message : "not found", model,
                            base ? base : "", r->id);
    json_decref(json);
    lleval_rs_set_error(&r->st, "%s", pc->err->msg);
    drop_held(pc);
    return rc;
}

static int on_result(void *ud, const struct lleval_job *job, const struct lleval_result_text *res)
{
    struct poll_ctx *pc = ud;
    const struct lleval_result_view *v = &res->view;

    if (!pc->answered_ok && v->failed && v->http_status == 404) {
        struct held *h = &pc->held[pc->n_held++];
        h->tag = job->tag;
        h->line = lleval_xstrndup(res->line.buf, res->line.len);
        h->len = res->line.len;
        if (pc->n_held >= NOT_FOUND_STOP || pc->n_held >= pc->to_send)
            return not_found_stop(pc);
        return 0;
    }
    if (!pc->answered_ok) {
        int rc;
        pc->answered_ok = true;
        rc = release_held(pc);
        if (rc)
            return rc;
    }
    return record(pc, job->tag, res->line.buf, res->line.len, v);
}

/* The scheduler's on_retry: counts the retried attempt by its error class. */
static void on_retry(void *ud, long status, const char *code, const char *msg)
{
    struct poll_ctx *pc = ud;
    lleval_events_count_retry(&pc->r->retries, status, code, msg);
}

void lleval_run_events_manifest(const struct run *r, struct lleval_manifest *m)
{
    const json_t *ev = r->engine_events ? r->engine_events : r->old.engine_events;
    const json_t *rt = r->retries ? r->retries : r->old.retries;
    m->engine_events = ev ? json_incref((json_t *)ev) : NULL;
    m->retries = rt ? json_incref((json_t *)rt) : NULL;
    m->endpoints = lleval_run_endpoints_json(r, r->old.endpoints);
}

/* This session's events start from the old manifest's (deep copies, so the
 * counts go on across sessions). */
static void events_begin(struct run *r)
{
    if (!r->engine_events && r->old.engine_events)
        r->engine_events = json_deep_copy(r->old.engine_events);
    if (!r->retries && r->old.retries)
        r->retries = json_deep_copy(r->old.retries);
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
    if (rc < 0) {
        lleval_run_note_server_exit(r, r->launch, "died", r->launch_err.msg);
        return -1;
    }
    if (rc == 1) {
        lleval_run_note_server_exit(r, r->launch, "restart", note);
        lleval_run_follow_server(r); /* a restart may have moved to another port */
        lleval_run_warning(r, "%s", note);
    }
    return rc;
}

/* The scheduler's last resort before "engine unreachable" (see revive in scheduler.h). */
static bool revive(void *ud)
{
    struct poll_ctx *pc = ud;
    struct run *r = pc->r;
    long restarts;
    if (r->eps) { /* every endpoint is out: restart the managed servers that died */
        bool restarted = false;
        if (!lleval_stop_signal())
            lleval_run_endpoints_check(r, 3000, &restarted);
        return restarted;
    }
    if (!r->launch || r->launch_err.code || lleval_stop_signal())
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
static bool part_active(const struct lleval_rs_part *p, size_t sent)
{
    return p->status == LLEVAL_RUN_RUNNING && p->first_job < sent;
}

/* Takes a telemetry sample when one is due and adds it to the parts, and
 * their trials, worked on at this moment. */
static void sample_telemetry(struct run *r, size_t sent)
{
    const struct lleval_telemetry_sample *s = lleval_telemetry_sample(
        r->tel, lleval_monotonic(), r->launch ? lleval_launch_pid(r->launch) : 0);
    if (!s)
        return;
    for (size_t i = 0; i < r->st.n_parts; i++) {
        if (part_active(&r->st.parts[i], sent)) {
            lleval_telemetry_acc_add(&r->st.parts[i].tel, s);
            r->st.parts[i].dirty = true;
        }
    }
    for (size_t t = 0; t < r->st.n_trials; t++) {
        for (size_t i = 0; i < r->st.n_parts; i++) {
            if (r->st.parts[i].trial == t && part_active(&r->st.parts[i], sent)) {
                lleval_telemetry_acc_add(&r->st.trials[t].tel, s);
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
    if (r->launch && !r->launch_err.code && !r->stop_requested && !lleval_stop_signal() &&
        check_server(r, 0) < 0)
        return true; /* it died for good: stop, resumable */
    if (r->eps) {
        bool restarted;
        double now = lleval_monotonic();
        if (!r->stop_requested && !lleval_stop_signal())
            lleval_run_endpoints_check(r, 0, &restarted); /* a dead one stays out of rotation */
        lleval_run_endpoints_add_time(r, now - pc->tick_at);
        pc->tick_at = now;
    }
    sample_telemetry(r, pc->sent_before + st->done + st->in_flight);
    if (lleval_run_flush(r, false, pc->err))
        pc->io_rc = pc->err->code;
    if (!r->o->on_progress)
        return r->stop_requested;
    for (size_t t = 0; t < r->st.n_trials; t++) {
        r->trial_done[t] = r->st.trials[t].answered;
        r->trial_total[t] = r->st.trials[t].requests;
        total += r->st.trials[t].requests;
        answered += r->st.trials[t].answered;
        errors += r->st.trials[t].errors;
    }
    memset(&pr, 0, sizeof(pr));
    pr.sched = st;
    pr.total = total;
    pr.answered = answered;
    pr.errors = errors;
    pr.rps = st->elapsed > 0 ? (double)st->done / st->elapsed : 0;
    pr.gen_tps = st->elapsed > 0 ? (double)st->completion_tokens / st->elapsed : 0;
    pr.eta_s = pr.rps > 0 ? (double)(total - answered) / pr.rps : -1;
    pr.n_trials = r->st.n_trials;
    pr.trial_names = r->trial_names;
    pr.trial_done = r->trial_done;
    pr.trial_total = r->trial_total;
    r->o->on_progress(r->o->ud, &pr);
    return r->stop_requested;
}

/* What the scanner of a batch line keeps (the member callbacks get &ls.js). */
struct line_scan {
    struct lleval_jscan js;
    const unsigned char *body, *body_end; /* the body object's text */
    size_t cid_at;                        /* custom_id's offset in js.out + 1; 0: none */
};

static bool line_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct line_scan *ls = (struct line_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "custom_id")) {
        size_t at = j->out->len;
        if (!lleval_jscan_first(seen, 0))
            return false; /* twice: jansson keeps the last, let it */
        if (!lleval_jscan_peek(j, '"'))
            return lleval_jscan_skip(j, depth);
        if (!lleval_jscan_str(j, j->out))
            return false;
        ls->cid_at = at + 1;
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "body")) {
        if (!lleval_jscan_first(seen, 1))
            return false;
        if (!lleval_jscan_peek(j, '{'))
            return lleval_jscan_skip(j, depth);
        ls->body = j->p;
        if (!lleval_jscan_skip(j, depth))
            return false;
        ls->body_end = j->p;
        return true;
    }
    return lleval_jscan_skip(j, depth);
}

/*
 * A batch line's custom_id and body text, without a JSON tree: 1 with
 * job->custom_id and job->text set (owned), 0 when the line is valid JSON
 * without them (not a request line), -1 when it is not JSON. The scanner
 * validates the whole line; where it cannot vouch for jansson's reading, the
 * line is parsed (the body's text is then written from the tree).
 */
static int read_line(const char *line, size_t len, struct lleval_sb *scratch,
                     struct lleval_job *job)
{
    struct line_scan ls;
    json_t *root, *body;
    const char *cid;
    struct lleval_sb sb = LLEVAL_SB_INIT;

    memset(&ls, 0, sizeof(ls));
    lleval_sb_reset(scratch);
    ls.js.p = (const unsigned char *)line;
    ls.js.end = ls.js.p + len;
    ls.js.out = scratch;
    if (lleval_jscan_object(&ls.js, 0, line_member) && lleval_jscan_end(&ls.js)) {
        if (!ls.cid_at || !ls.body)
            return 0;
        job->custom_id = lleval_xstrdup(scratch->buf + ls.cid_at - 1);
        job->text_len = (size_t)(ls.body_end - ls.body);
        job->text = lleval_xstrndup((const char *)ls.body, job->text_len);
        return 1;
    }
    root = json_loadb(line, len, 0, NULL);
    if (!root)
        return -1;
    cid = lleval_json_str(root, "custom_id");
    body = json_object_get(root, "body");
    if (!cid || !json_is_object(body)) {
        json_decref(root);
        return 0;
    }
    lleval_json_dump_sb(body, &sb);
    job->custom_id = lleval_xstrdup(cid);
    job->text = lleval_sb_detach(&sb, &job->text_len);
    json_decref(root);
    return 1;
}

/* The scheduler's job source: the unanswered requests of the unfinished
 * parts, read from the batch files one line at a time as slots free up, so
 * memory does not grow with the number of requests. A line's text is kept
 * (the body's), never a parsed tree; requests answered before are passed
 * over by their custom_id, read without parsing the line. */
static int source_next(void *ud, struct lleval_job *job, struct lleval_err *err)
{
    struct poll_ctx *pc = ud;
    struct job_source *src = &pc->src;
    struct run *r = pc->r;

    for (;;) {
        struct lleval_rs_part *p;
        struct lleval_lines *lr = &src->rr.lines;
        char cid[512];
        int more;

        if (!src->open) {
            while (src->part < src->end &&
                   r->st.parts[src->part].answered >= r->st.parts[src->part].requests)
                src->part++;
            if (src->part >= src->end)
                return 0;
            if (lleval_request_open(&src->rr, r->st.parts[src->part].info->batch_path, err))
                return err->code;
            src->open = true;
        }
        p = &r->st.parts[src->part];
        more = lleval_lines_next(lr, err);
        if (more < 0)
            return more;
        if (!more) {
            lleval_request_close(&src->rr);
            src->open = false;
            src->part++;
            continue;
        }
        if (!lr->len)
            continue;
        if (lleval_request_quick_cid(lr->line, lr->len, cid, sizeof(cid)) &&
            lleval_journal_has(p->journal, cid))
            continue;
        if (read_line(lr->line, lr->len, &src->scratch, job) <= 0)
            return lleval_err_set(err, LLEVAL_EIO,
                                  "%s:%ld: not a batch request line (custom_id and body "
                                  "needed); %s",
                                  p->info->batch_path, lr->lineno, LLEVAL_RUN_FIX_BATCH);
        if (lleval_journal_has(p->journal, job->custom_id)) {
            free(job->custom_id);
            free(job->text);
            job->custom_id = job->text = NULL;
            continue;
        }
        job->tag = src->part;
        return 1;
    }
}

static bool same_model(const struct lleval_rs_part *a, const struct lleval_rs_part *b)
{
    return !strcmp(a->info->model ? a->info->model : "", b->info->model ? b->info->model : "");
}

/* Requests of parts [lo, hi) not answered yet. */
static size_t left_in(const struct run *r, size_t lo, size_t hi)
{
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        if (r->st.parts[i].answered < r->st.parts[i].requests)
            n += r->st.parts[i].requests - r->st.parts[i].answered;
    return n;
}

/* Asks the unanswered requests of parts [lo, hi) (one model's, or all of a
 * run of one model); *done counts the answers. */
static int poll_range(struct poll_ctx *pc, const struct lleval_sched_opts *so, size_t lo, size_t hi,
                      size_t n, size_t *done)
{
    struct run *r = pc->r;
    struct lleval_sched_stats st;
    struct lleval_sched_opts so2 = *so;
    size_t tuned;
    int rc;

    memset(&st, 0, sizeof(st));
    if (pc->model) { /* each model's first answers may all be 404: that model is not there */
        pc->answered_ok = false;
        pc->to_send = n;
    }
    pc->src.part = lo;
    pc->src.end = hi;
    pc->tick_at = lleval_monotonic();
    if (r->eps) { /* several endpoints: each one's slots (auto is refused by the config) */
        rc =
            lleval_sched_run_endpoints(lleval_run_endpoints_sched(r), lleval_run_endpoints_count(r),
                                       source_next, n, so, on_result, on_tick, pc, &st, pc->err);
    } else {
        rc = lleval_run_tune(r, source_next, on_result, on_tick, pc, so, n, &tuned, pc->err);
        n -= tuned; /* auto: the first requests measured the concurrency (tune.c) */
        *done += tuned;
        pc->sent_before += tuned;
        so2.max_in_flight = r->jobs > 0 ? r->jobs : 1;
        if (!rc && !r->stop_requested)
            rc = lleval_sched_run(r->engine, source_next, n, &so2, on_result, on_tick, pc, &st,
                                  pc->err);
    }
    if (!rc && pc->n_held)
        rc = pc->answered_ok ? release_held(pc) : not_found_stop(pc);
    drop_held(pc);
    {
        int frc = flush_pending(pc); /* the held results just recorded */
        if (!rc)
            rc = frc;
    }
    if (pc->src.open) {
        lleval_request_close(&pc->src.rr);
        pc->src.open = false;
    }
    pc->sent_before += st.done + st.in_flight;
    *done += st.done;
    return rc;
}

int lleval_run_poll(struct run *r, struct lleval_err *err)
{
    size_t n, done = 0;
    struct lleval_sched_opts so;
    struct poll_ctx pc;
    int rc = 0;

    memset(&pc, 0, sizeof(pc));
    lleval_sb_init(&pc.src.scratch, 0);
    pc.r = r;
    pc.err = err;
    events_begin(r);
    n = lleval_rs_start(&r->st);
    pc.to_send = n;
    lleval_run_event(r, "poll: %zu requests to send (%zu answered before)", n,
                     r->session_start_answered);
    lleval_sched_opts_default(&so);
    so.max_in_flight = r->jobs > 0 ? r->jobs : 1;
    so.timeout_s = (double)r->cfg->request_timeout_s;
    so.max_retries = r->cfg->max_retries;
    so.max_connect_failures = r->cfg->max_connect_failures > 0 ? r->cfg->max_connect_failures : 5;
    if (r->launch || r->eps)
        so.revive = revive;
    so.on_retry = on_retry;
    so.after_results = flush_pending;
    if (r->cfg->enable_local_telemetry)
        lleval_run_event(r, "poll: telemetry: %s (every %ld ms)", lleval_telemetry_start(r->tel),
                         lleval_telemetry_interval_ms(r->tel));
    sample_telemetry(r, (size_t)so.max_in_flight); /* the first requests go out now */
    rc = lleval_run_flush(r, true, err);
    /* the parts are model-major (batch.c): each model's run of parts is asked to
     * the end before the next model's first request */
    for (size_t lo = 0, hi; !rc && lo < r->st.n_parts && !r->stop_requested; lo = hi) {
        const char *model = r->st.parts[lo].info->model;
        size_t left;
        for (hi = lo + 1; hi < r->st.n_parts && same_model(&r->st.parts[hi], &r->st.parts[lo]);
             hi++)
            ;
        left = left_in(r, lo, hi);
        if (!left && model) /* one model: the scheduler runs as it always did */
            continue;
        pc.model = model;
        if (model) {
            lleval_run_event(r, "poll: model %s: %zu requests", model, left);
            /* its concurrency; a server per model: the previous one stopped, this one up */
            if ((rc = lleval_run_model_begin(r, model, err)))
                break;
            so.max_in_flight = r->jobs > 0 ? r->jobs : 1;
        }
        rc = poll_range(&pc, &so, lo, hi, left, &done);
        if (!rc && model && r->cfg->engine == LLEVAL_ENGINE_OLLAMA) {
            /* a 16 GB card never holds two models: this one goes before the next loads */
            struct lleval_err uerr = LLEVAL_ERR_INIT;
            if (lleval_ollama_unload(r->engine, model, &uerr))
                lleval_run_warning(r, "poll: %s", uerr.msg);
            else
                lleval_run_event(r, "poll: model %s unloaded (keep_alive 0)", model);
        }
    }
    if (pc.io_rc && !rc)
        rc = pc.io_rc;
    if (r->launch_err.code && (!rc || rc == LLEVAL_EINTR || rc == LLEVAL_EENGINE)) {
        rc = r->launch_err.code; /* the managed server died for good */
        *err = r->launch_err;
    }
    if (rc == 0 && r->stop_requested && done < n)
        rc = lleval_err_set(err, LLEVAL_EINTR, "stopped on request");
    lleval_rs_settle(&r->st, rc);
    lleval_telemetry_stop(r->tel);
    lleval_sb_release(&pc.src.scratch);
    free(pc.pending);
    return rc;
}

/* Concatenates the part journals, in part order, into results_combined.jsonl,
 * streaming through a 64 KiB buffer (memory does not grow with the results)
 * into a temporary file that is synced and renamed over the old one. */
int lleval_run_combine(struct run *r, const char *out_path, struct lleval_err *err)
{
    char *tmp = lleval_xasprintf("%s.tmp.%ld", out_path, lleval_getpid());
    char *buf = lleval_xmalloc(1 << 16);
    uint64_t *ends = lleval_xcalloc(r->st.n_parts ? r->st.n_parts : 1, sizeof(*ends));
    uint64_t total = 0;
    FILE *out;
    int rc = lleval_fopen_new(tmp, &out, err); /* never through a planted link */

    free(r->combined_ends);
    r->combined_ends = NULL;
    if (rc)
        goto done;
    for (size_t i = 0; i < r->st.n_parts && !rc; i++) {
        FILE *in;
        size_t n;
        rc = lleval_journal_sync(r->st.parts[i].journal, err);
        if (rc)
            break;
        rc = lleval_fopen_read(r->st.parts[i].journal_path, &in, err);
        if (rc)
            break;
        while ((n = fread(buf, 1, 1 << 16, in)) > 0) {
            if (fwrite(buf, 1, n, out) != n) {
                rc = lleval_err_errno(err, "cannot write", tmp);
                break;
            }
            total += n;
        }
        ends[i] = total;
        if (!rc && ferror(in))
            rc = lleval_err_errno(err, "cannot read", r->st.parts[i].journal_path);
        fclose(in);
    }
    if (!rc)
        rc = lleval_fsync_file(out, tmp, err);
    if (fclose(out) && !rc)
        rc = lleval_err_errno(err, "cannot close", tmp);
    if (!rc && lleval_rename(tmp, out_path)) {
        rc = lleval_err_errno(err, "cannot rename to", out_path);
        if (lleval_is_dir(out_path))
            lleval_run_err_damaged(err, LLEVAL_RUN_FIX_OUTPUT);
    }
    if (rc)
        remove(tmp);
    else
        r->combined_ends = ends, ends = NULL; /* the parse step's doctor facts (steps.c) */
done:
    free(ends);
    free(buf);
    free(tmp);
    return rc;
}
