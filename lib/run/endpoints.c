/*
 * Several endpoints in one run (see docs/design.md, "Several endpoints"):
 * the servers a config names (a list of base_url, `endpoints:`, or
 * launch.instances managed llama-servers) are opened, each as an engine of
 * its own, and probed before the run; each gets its slots (its concurrency,
 * else its probed slot count, else max_concurrent_jobs, never more than the
 * probe's). The poll step hands them to one scheduler
 * (lleval_sched_run_endpoints); their counters go to the manifest's
 * `endpoints` array (docs/formats.md), summed over the run's sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/platform.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"
#include "endpoints_int.h"
#include "run_int.h"

/* One endpoint: a shallow copy of the run's config with its engine and
 * address (its strings are borrowed from the run's config and never freed
 * here), the engine opened on it, and its managed server, if any. */
struct run_endpoint {
    struct lleval_config cfg;
    struct lleval_engine *e; /* owned, except the first: r->engine */
    struct lleval_launch *launch;
    long restarts_seen;
};

struct run_endpoints {
    struct run_endpoint *v;
    size_t n;
    struct lleval_sched_endpoint *sched; /* the scheduler's view, counters included */
    double active_s;                     /* this session's time in the poll step */
    json_t *final; /* the manifest's array once the endpoints are closed, or NULL */
};

bool lleval_run_several_endpoints(const struct lleval_config *cfg)
{
    /* one managed server with a device selection is an instance too */
    return cfg->n_endpoints > 0 || cfg->n_base_urls > 1 ||
           (cfg->launch.enabled && (cfg->launch.instances > 1 || cfg->launch.n_devices > 0));
}

size_t lleval_run_endpoints_count(const struct run *r)
{
    return r->eps ? r->eps->n : 0;
}

struct lleval_sched_endpoint *lleval_run_endpoints_sched(struct run *r)
{
    return r->eps ? r->eps->sched : NULL;
}

/* Starts managed server i (its own port, log and device selection). */
static int start_instance(struct run *r, size_t i, struct run_endpoint *ep, struct lleval_err *err)
{
    char *one = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_LLAMA_LOG);
    /* logs/llama-server.log -> logs/llama-server.N.log (and .N.pid beside it) */
    char *log = lleval_xasprintf("%.*s.%zu.log", (int)(strlen(one) - 4), one, i + 1);
    const char *dev = r->cfg->launch.n_devices ? r->cfg->launch.devices[i] : NULL;
    int rc;

    free(one);
    lleval_run_event(r, "submit: starting llama-server %zu of %ld with %s%s%s (log %s)", i + 1,
                     r->cfg->launch.instances, r->cfg->launch.model,
                     dev ? ", CUDA_VISIBLE_DEVICES=" : "", dev ? dev : "", log);
    rc = lleval_launch_start_device(r->cfg, log, 0, dev, &ep->launch, err);
    if (!rc)
        lleval_run_event(r, "submit: llama-server %zu pid %ld listening at %s", i + 1,
                         lleval_launch_pid(ep->launch), lleval_launch_base_url(ep->launch));
    free(log);
    return rc;
}

/* Opens and probes endpoint i; its slots into r->eps->sched[i]. */
/* A server that does not answer its probe starts out of rotation (*failed
 * gets its code); a managed one that cannot start fails the run. */
static int open_endpoint(struct run *r, size_t i, int *failed, struct lleval_err *err)
{
    struct run_endpoint *ep = &r->eps->v[i];
    struct lleval_sched_endpoint *se = &r->eps->sched[i];
    struct lleval_probe_info info = {0};
    long want = 0;
    int rc;

    ep->cfg = *r->cfg;
    if (r->cfg->n_endpoints) {
        const struct lleval_endpoint_cfg *c = &r->cfg->endpoints[i];
        ep->cfg.base_url = c->base_url;
        if (c->engine_set)
            ep->cfg.engine = c->engine;
        want = c->concurrency;
    } else if (r->cfg->n_base_urls > 1) {
        ep->cfg.base_url = r->cfg->base_urls[i];
    } else if ((rc = start_instance(r, i, ep, err))) {
        return rc;
    }
    rc = lleval_engine_open(&ep->e, &ep->cfg, err);
    if (rc)
        return rc;
    if (ep->launch)
        lleval_engine_set_base_url(ep->e, lleval_launch_base_url(ep->launch));
    se->e = ep->e;
    rc = lleval_engine_probe(ep->e, &info, err);
    if (rc) {
        lleval_err_prefix(err, "endpoint %zu (%s)", i + 1, lleval_engine_base_url(ep->e));
        if (!ep->launch) {
            /* the others can start: this one waits out of rotation for its health check */
            size_t n = strlen(err->msg) < sizeof(se->last_error) - 1 ? strlen(err->msg)
                                                                     : sizeof(se->last_error) - 1;
            lleval_run_warning(r, "%s; it starts out of rotation", err->msg);
            memcpy(se->last_error, err->msg, n);
            se->last_error[n] = '\0';
            se->down = true;
            se->down_since = lleval_monotonic();
            se->slots = want > 0 ? want : r->cfg->max_concurrent_jobs;
            *failed = rc;
            rc = 0;
        }
    } else {
        long slots = want > 0 ? want : info.slots > 0 ? info.slots : r->cfg->max_concurrent_jobs;
        if (info.slots > 0 && slots > info.slots) {
            lleval_run_warning(r,
                               "endpoint %zu (%s): concurrency %ld clamped to %ld: the server has "
                               "%ld slot%s",
                               i + 1, lleval_engine_base_url(ep->e), slots, info.slots, info.slots,
                               info.slots == 1 ? "" : "s");
            slots = info.slots;
        }
        se->slots = slots > 0 ? slots : 1;
        lleval_run_event(r, "submit: endpoint %zu: engine %s at %s ok, %ld slot%s%s%s", i + 1,
                         lleval_engine_name(ep->e), lleval_engine_base_url(ep->e), se->slots,
                         se->slots == 1 ? "" : "s", info.detail ? ": " : "",
                         info.detail ? info.detail : "");
        if (i == 0)
            snprintf(r->engine_detail, sizeof(r->engine_detail), "%s",
                     info.detail ? info.detail : "");
    }
    lleval_probe_info_release(&info);
    return rc;
}

int lleval_run_endpoints_submit(struct run *r, struct lleval_err *err)
{
    const struct lleval_config *cfg = r->cfg;
    size_t n = cfg->n_endpoints       ? cfg->n_endpoints
               : cfg->n_base_urls > 1 ? cfg->n_base_urls
                                      : (size_t)cfg->launch.instances;
    struct lleval_err first = LLEVAL_ERR_INIT;
    size_t down = 0;
    long total = 0;
    int rc = 0;

    r->eps = lleval_xcalloc(1, sizeof(*r->eps));
    r->eps->v = lleval_xcalloc(n, sizeof(*r->eps->v));
    r->eps->sched = lleval_xcalloc(n, sizeof(*r->eps->sched));
    r->eps->n = n;
    for (size_t i = 0; i < n && !rc; i++) {
        int failed = 0;
        struct lleval_err e = LLEVAL_ERR_INIT;
        rc = open_endpoint(r, i, &failed, &e);
        if (failed) {
            down++;
            if (!first.code)
                first = e;
        } else if (rc) {
            *err = e;
        }
    }
    if (!rc && down == n) { /* none answers: as one server that does not */
        *err = first;
        rc = first.code;
    }
    if (r->eps->v[0].e) {
        r->engine = r->eps->v[0].e; /* the run's engine: 404 messages, Ollama unloads */
        r->eps->v[0].e = NULL;
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        total += r->eps->sched[i].slots;
    r->jobs = total;
    lleval_run_event(r, "submit: %zu endpoints, %ld requests in flight at most", n, total);
    return 0;
}

void lleval_run_endpoints_close(struct run *r)
{
    if (!r->eps || r->eps->final)
        return;
    /* the counters stay for the manifest written after the steps */
    r->eps->final = lleval_run_endpoints_json(r, r->old.endpoints);
    for (size_t i = 0; i < r->eps->n; i++) {
        lleval_engine_close(r->eps->v[i].e);
        r->eps->v[i].e = NULL;
        lleval_launch_stop(r->eps->v[i].launch); /* never outlives lleval */
        r->eps->v[i].launch = NULL;
    }
}

void lleval_run_endpoints_free(struct run *r)
{
    if (!r->eps)
        return;
    lleval_run_endpoints_close(r);
    json_decref(r->eps->final);
    free(r->eps->v);
    free(r->eps->sched);
    free(r->eps);
    r->eps = NULL;
}

/* The engine of endpoint i (the first is r->engine). */
static struct lleval_engine *engine_of(struct run *r, size_t i)
{
    return i == 0 ? r->engine : r->eps->v[i].e;
}

int lleval_run_endpoints_check(struct run *r, long wait_ms, bool *restarted)
{
    int result = 0;
    *restarted = false;
    for (size_t i = 0; r->eps && i < r->eps->n; i++) {
        struct run_endpoint *ep = &r->eps->v[i];
        struct lleval_err e = LLEVAL_ERR_INIT;
        char note[256];
        int rc;
        if (!ep->launch)
            continue;
        rc = lleval_launch_revive(ep->launch, wait_ms, note, sizeof(note), &e);
        if (rc < 0) {
            /* the others go on: this one stays out of rotation */
            lleval_run_warning(r, "endpoint %zu: %s", i + 1, e.msg);
            lleval_run_note_server_exit(r, ep->launch, "died", e.msg);
            lleval_launch_stop(ep->launch);
            ep->launch = NULL;
            result = -1;
        } else if (rc == 1) {
            lleval_engine_set_base_url(engine_of(r, i), lleval_launch_base_url(ep->launch));
            lleval_run_warning(r, "endpoint %zu: %s", i + 1, note);
            lleval_run_note_server_exit(r, ep->launch, "restart", note);
            *restarted = true;
        }
    }
    return result;
}

void lleval_run_endpoints_add_time(struct run *r, double seconds)
{
    if (r->eps)
        r->eps->active_s += seconds;
}

/* Adds the number at key of from into to (both objects). */
static void add_num(json_t *to, const json_t *from, const char *key)
{
    const json_t *a = json_object_get(to, key), *b = json_object_get(from, key);
    if (json_is_integer(a) && json_is_integer(b))
        json_object_set_new(to, key, json_integer(json_integer_value(a) + json_integer_value(b)));
    else if (json_is_number(a) && json_is_number(b))
        json_object_set_new(to, key, json_real(json_number_value(a) + json_number_value(b)));
}

static double round3(double x)
{
    return (double)(long long)(x * 1000.0 + (x >= 0 ? 0.5 : -0.5)) / 1000.0;
}

/* A string with no secret in it (a base_url may hold a password). */
static json_t *safe_string(const char *s)
{
    char *red = lleval_redact_dup(s);
    json_t *j = json_string(red ? red : s);
    free(red);
    return j;
}

/* The speeds from the summed counts. */
static void set_speeds(json_t *o)
{
    double t = json_number_value(json_object_get(o, "active_s"));
    json_int_t done = json_integer_value(json_object_get(o, "ok")) +
                      json_integer_value(json_object_get(o, "failed"));
    json_int_t tok = json_integer_value(json_object_get(o, "completion_tokens"));
    json_object_set_new(o, "requests_per_s", json_real(t > 0 ? round3((double)done / t) : 0));
    json_object_set_new(o, "gen_tps", json_real(t > 0 ? round3((double)tok / t) : 0));
}

json_t *lleval_run_endpoints_json(const struct run *r, const json_t *old)
{
    json_t *a;
    if (r->eps && r->eps->final)
        return json_incref(r->eps->final);
    if (!r->eps || !r->eps->n)
        return old ? json_incref((json_t *)old) : NULL;
    a = json_array();
    for (size_t i = 0; i < r->eps->n; i++) {
        const struct lleval_sched_endpoint *se = &r->eps->sched[i];
        struct lleval_engine *e = i == 0 ? r->engine : r->eps->v[i].e;
        const char *url = e ? lleval_engine_base_url(e) : "";
        json_t *o = json_object(), *prev;
        size_t k;
        json_object_set_new(o, "base_url", safe_string(url));
        json_object_set_new(o, "engine", json_string(e ? lleval_engine_name(e) : ""));
        json_object_set_new(o, "slots", json_integer(se->slots));
        json_object_set_new(o, "ok", json_integer((json_int_t)se->ok));
        json_object_set_new(o, "failed", json_integer((json_int_t)se->failed));
        json_object_set_new(o, "requeued", json_integer((json_int_t)se->requeued));
        json_object_set_new(o, "outages", json_integer((json_int_t)se->outages));
        json_object_set_new(o, "prompt_tokens", json_integer(se->prompt_tokens));
        json_object_set_new(o, "completion_tokens", json_integer(se->completion_tokens));
        json_object_set_new(
            o, "out_of_rotation_s",
            json_real(round3(se->out_of_rotation_s +
                             (se->down ? lleval_monotonic() - se->down_since : 0))));
        json_object_set_new(o, "active_s", json_real(round3(r->eps->active_s)));
        json_object_set_new(o, "in_rotation", json_boolean(!se->down));
        if (se->last_error[0])
            json_object_set_new(o, "last_error", safe_string(se->last_error));
        /* the sessions before: the same server's counts go on */
        json_array_foreach(old, k, prev)
        {
            const char *pu = json_string_value(json_object_get(prev, "base_url"));
            if (pu &&
                json_equal(json_object_get(o, "base_url"), json_object_get(prev, "base_url"))) {
                static const char *const keys[] = {"ok",
                                                   "failed",
                                                   "requeued",
                                                   "outages",
                                                   "prompt_tokens",
                                                   "completion_tokens",
                                                   "out_of_rotation_s",
                                                   "active_s"};
                for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(keys); j++)
                    add_num(o, prev, keys[j]);
                if (!se->last_error[0] && json_is_string(json_object_get(prev, "last_error")))
                    json_object_set(o, "last_error", json_object_get(prev, "last_error"));
                break;
            }
        }
        set_speeds(o);
        json_array_append_new(a, o);
    }
    return a;
}
