/*
 * Concurrency tuning (run/tune.h): the candidates, the steady-state rate of
 * a sample, the stop rule and the pick, the measurement through the
 * scheduler (a capped job source and a result callback that times each
 * answer before handing it on), the manifest's "tune" object and its table;
 * and the run's hook (run_int.h): a run with max_concurrent_jobs auto
 * measures on its first requests and goes on at the concurrency picked.
 */
#include "lleval/run/tune.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/model/budget.h"
#include "lleval/model/gguf.h"
#include "lleval/model/vram.h"
#include "lleval/platform/platform.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "run_int.h"

void lleval_tune_result_init(struct lleval_tune_result *t)
{
    memset(t, 0, sizeof(*t));
}

static size_t add_candidate(long *out, size_t n, size_t cap, long c, long max)
{
    if (c < 1 || c > max || n >= cap)
        return n;
    for (size_t i = 0; i < n; i++)
        if (out[i] == c)
            return n;
    out[n++] = c;
    for (size_t i = n - 1; i > 0 && out[i] < out[i - 1]; i--) { /* kept ascending */
        long x = out[i];
        out[i] = out[i - 1];
        out[i - 1] = x;
    }
    return n;
}

size_t lleval_tune_candidates(long slots, long max, long *out, size_t cap)
{
    size_t n = 0;
    if (max < 1)
        max = 256;
    if (slots <= 0) {
        for (long c = 1; c <= LLEVAL_TUNE_MAX_UNKNOWN; c *= 2)
            n = add_candidate(out, n, cap, c, max);
        return n;
    }
    for (long c = 1; c < slots; c *= 2)
        n = add_candidate(out, n, cap, c, max);
    n = add_candidate(out, n, cap, slots, max);
    n = add_candidate(out, n, cap, slots + 1, max);
    n = add_candidate(out, n, cap, slots + 2, max);
    n = add_candidate(out, n, cap, slots + slots / 2, max);
    n = add_candidate(out, n, cap, 2 * slots, max);
    return n;
}

size_t lleval_tune_sample_size(long c)
{
    size_t a = (size_t)c * LLEVAL_TUNE_ROUNDS, b = 2 * (size_t)c + 6;
    return a > b ? a : b;
}

double lleval_tune_rate(const double *pull, size_t n, const size_t *answered, size_t n_answered,
                        long c)
{
    double cycles = 0;
    size_t counted = 0;
    if (!n || !n_answered)
        return 0;
    if (c < 1)
        c = 1;
    /* the k-th answer freed the place that the (c + k)-th job took; the first
     * c jobs met an idle engine (no queue yet): their cycles are left out */
    for (size_t k = 0; k < n_answered && (size_t)c + k < n; k++) {
        if (answered[k] >= n || answered[k] < (size_t)c)
            continue;
        cycles += pull[(size_t)c + k] - pull[answered[k]];
        counted++;
    }
    if (counted && cycles > 1e-9)
        return (double)c * (double)counted / cycles; /* Little's law over the closed loop */
    return (double)n_answered / (pull[n - 1] > 1e-6 ? pull[n - 1] : 1e-6);
}

static double best_rate(const struct lleval_tune_result *t, size_t upto)
{
    double best = 0;
    for (size_t i = 0; i < upto; i++)
        if (t->points[i].rps > best)
            best = t->points[i].rps;
    return best;
}

bool lleval_tune_should_stop(const struct lleval_tune_result *t)
{
    size_t n = t->n_points;
    if (n < 3)
        return false;
    for (size_t k = n - 2; k < n; k++)
        if (t->points[k].rps >= best_rate(t, k) * (1 + LLEVAL_TUNE_GAIN_PCT / 100))
            return false;
    return true;
}

long lleval_tune_pick(const struct lleval_tune_result *t)
{
    double best = best_rate(t, t->n_points);
    for (size_t i = 0; i < t->n_points; i++) /* ascending concurrency */
        if (t->points[i].rps >= best * (1 - LLEVAL_TUNE_TIE_PCT / 100))
            return t->points[i].concurrency;
    return 0;
}

/* ---- measuring through the scheduler ---------------------------------- */

struct sample {
    lleval_sched_next_fn next;
    lleval_sched_result_fn on_result;
    lleval_sched_tick_fn on_tick;
    int (*after_results)(void *ud); /* the caller's, with its ud */
    void *ud;
    size_t left;    /* jobs this sample may still take */
    bool exhausted; /* the caller's source has no job left */
    double t0;
    /* per job in pull order: its custom_id (owned), when it was sent (seconds
     * from t0) and whether it was answered */
    char **ids;
    double *pull;
    bool *answered;
    size_t *order; /* order[k]: the job answered k-th */
    size_t pulled, n, cap;
};

static int sample_next(void *ud, struct lleval_job *job, struct lleval_err *err)
{
    struct sample *s = ud;
    int rc;
    if (!s->left || s->exhausted)
        return 0;
    rc = s->next(s->ud, job, err);
    if (rc == 1) {
        s->left--;
        if (s->pulled < s->cap) {
            s->ids[s->pulled] = lleval_xstrdup(job->custom_id);
            s->pull[s->pulled++] = lleval_monotonic() - s->t0;
        }
    } else if (rc == 0)
        s->exhausted = true;
    return rc;
}

/* The caller's after_results, with the caller's ud. */
static int sample_after(void *ud)
{
    struct sample *s = ud;
    return s->after_results(s->ud);
}

static int sample_result(void *ud, const struct lleval_job *job,
                         const struct lleval_result_text *line)
{
    struct sample *s = ud;
    size_t i = 0;
    while (i < s->pulled && (s->answered[i] || strcmp(s->ids[i], job->custom_id)))
        i++;
    if (i < s->pulled)
        s->answered[i] = true;
    if (s->n < s->cap)
        s->order[s->n] = i; /* s->pulled (no job) is passed over by the rate */
    s->n++;
    return s->on_result(s->ud, job, line);
}

static bool sample_tick(void *ud, const struct lleval_sched_stats *st)
{
    struct sample *s = ud;
    return s->on_tick ? s->on_tick(s->ud, st) : false;
}

int lleval_tune_measure(struct lleval_engine *e, lleval_sched_next_fn next, size_t available,
                        const struct lleval_sched_opts *base, lleval_sched_result_fn on_result,
                        lleval_sched_tick_fn on_tick, void *ud, struct lleval_tune_result *t,
                        size_t *answered, struct lleval_err *err)
{
    long cand[LLEVAL_TUNE_MAX_POINTS];
    size_t nc = lleval_tune_candidates(t->slots, 256, cand, LLEVAL_TUNE_MAX_POINTS);
    struct sample s;
    int rc = 0;

    *answered = 0;
    t->done = true;
    t->n_points = 0;
    snprintf(t->stop_reason, sizeof(t->stop_reason), "every candidate tried");
    memset(&s, 0, sizeof(s));
    s.next = next;
    s.on_result = on_result;
    s.on_tick = on_tick;
    s.ud = ud;
    s.after_results = base->after_results;
    for (size_t i = 0; i < nc && !rc; i++) {
        struct lleval_sched_opts o = *base;
        struct lleval_sched_stats st;
        struct lleval_tune_point *p;
        size_t want = lleval_tune_sample_size(cand[i]);

        if (want > available - *answered) {
            snprintf(t->stop_reason, sizeof(t->stop_reason),
                     "too few requests left to try %ld (a sample of %zu)", cand[i], want);
            break;
        }
        memset(&st, 0, sizeof(st));
        o.max_in_flight = cand[i];
        o.after_results = base->after_results ? sample_after : NULL;
        s.left = want;
        s.n = s.pulled = 0;
        s.cap = want;
        s.ids = lleval_xcalloc(want, sizeof(char *));
        s.pull = lleval_xcalloc(want, sizeof(double));
        s.answered = lleval_xcalloc(want, sizeof(bool));
        s.order = lleval_xcalloc(want, sizeof(size_t));
        s.t0 = lleval_monotonic();
        rc = lleval_sched_run(e, sample_next, want, &o, sample_result, sample_tick, &s, &st, err);
        *answered += st.done;
        if (!rc && s.n) {
            p = &t->points[t->n_points++];
            p->concurrency = cand[i];
            p->requests = s.n;
            p->seconds = lleval_monotonic() - s.t0;
            p->rps =
                lleval_tune_rate(s.pull, s.pulled, s.order, s.n < s.cap ? s.n : s.cap, cand[i]);
            p->tokens_per_s = p->seconds > 0 ? (double)st.completion_tokens / p->seconds : 0;
        }
        for (size_t k = 0; k < s.pulled; k++)
            free(s.ids[k]);
        free(s.ids);
        free(s.pull);
        free(s.answered);
        free(s.order);
        if (!rc && s.exhausted) {
            snprintf(t->stop_reason, sizeof(t->stop_reason), "the run's requests ran out");
            break;
        }
        if (!rc && lleval_tune_should_stop(t)) {
            snprintf(t->stop_reason, sizeof(t->stop_reason), "no gain at %ld and %ld",
                     t->points[t->n_points - 2].concurrency,
                     t->points[t->n_points - 1].concurrency);
            break;
        }
    }
    t->chosen = lleval_tune_pick(t);
    if (t->chosen < 1)
        t->chosen = t->slots > 0 ? t->slots : 1;
    return rc;
}

/* ---- the manifest's object and the table ------------------------------- */

static double round3(double x)
{
    return isfinite(x) ? round(x * 1000) / 1000 : 0;
}

json_t *lleval_tune_to_json(const struct lleval_tune_result *t)
{
    json_t *j = json_object(), *curve = json_array();
    json_object_set_new(j, "chosen", json_integer(t->chosen));
    json_object_set_new(j, "slots", json_integer(t->slots));
    json_object_set_new(j, "stop_reason", json_string(t->stop_reason));
    for (size_t i = 0; i < t->n_points; i++) {
        const struct lleval_tune_point *p = &t->points[i];
        json_t *o = json_object();
        json_object_set_new(o, "concurrency", json_integer(p->concurrency));
        json_object_set_new(o, "requests", json_integer((json_int_t)p->requests));
        json_object_set_new(o, "seconds", json_real(round3(p->seconds)));
        json_object_set_new(o, "rps", json_real(round3(p->rps)));
        json_object_set_new(o, "tokens_per_s", json_real(round3(p->tokens_per_s)));
        json_array_append_new(curve, o);
    }
    json_object_set_new(j, "curve", curve);
    if (t->server_slots > 0) {
        json_t *s = json_object();
        json_object_set_new(s, "slots", json_integer(t->server_slots));
        json_object_set_new(s, "slot_ctx", json_integer(t->server_slot_ctx));
        json_object_set_new(s, "threads", json_integer(t->server_threads));
        json_object_set_new(s, "note", json_string(t->server_note));
        json_object_set_new(j, "server", s);
    }
    return j;
}

static long int_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static double num_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static void str_of(const json_t *o, const char *key, char *buf, size_t size)
{
    const json_t *v = json_object_get(o, key);
    snprintf(buf, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

bool lleval_tune_from_json(const json_t *j, struct lleval_tune_result *t)
{
    const json_t *curve = json_object_get(j, "curve"), *s, *p;
    size_t i;
    lleval_tune_result_init(t);
    if (!json_is_object(j) || !json_is_array(curve))
        return false;
    t->done = true;
    t->chosen = int_of(j, "chosen");
    t->slots = int_of(j, "slots");
    str_of(j, "stop_reason", t->stop_reason, sizeof(t->stop_reason));
    json_array_foreach(curve, i, p)
    {
        struct lleval_tune_point *q;
        if (t->n_points >= LLEVAL_TUNE_MAX_POINTS || !json_is_object(p))
            break;
        q = &t->points[t->n_points++];
        q->concurrency = int_of(p, "concurrency");
        q->requests = (size_t)(int_of(p, "requests") > 0 ? int_of(p, "requests") : 0);
        q->seconds = num_of(p, "seconds");
        q->rps = num_of(p, "rps");
        q->tokens_per_s = num_of(p, "tokens_per_s");
    }
    if (json_is_object(s = json_object_get(j, "server"))) {
        t->server_slots = int_of(s, "slots");
        t->server_slot_ctx = int_of(s, "slot_ctx");
        t->server_threads = int_of(s, "threads");
        str_of(s, "note", t->server_note, sizeof(t->server_note));
    }
    return true;
}

char *lleval_tune_format_table(const struct lleval_tune_result *t, const char *indent)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    double best = best_rate(t, t->n_points);
    lleval_sb_addf(&sb, "%s%11s %8s %8s %9s %9s %7s\n", indent, "concurrency", "requests",
                   "seconds", "req/s", "tok/s", "vs best");
    for (size_t i = 0; i < t->n_points; i++) {
        const struct lleval_tune_point *p = &t->points[i];
        lleval_sb_addf(&sb, "%s%11ld %8zu %8.2f %9.3f %9.1f %6.1f%%%s\n", indent, p->concurrency,
                       p->requests, p->seconds, p->rps, p->tokens_per_s,
                       best > 0 ? 100 * p->rps / best : 0,
                       p->concurrency == t->chosen ? "  <- chosen" : "");
    }
    lleval_sb_addf(&sb, "%schosen: %ld (slots: %ld; %s)\n", indent, t->chosen, t->slots,
                   t->stop_reason);
    if (t->server_slots > 0)
        lleval_sb_addf(&sb, "%sserver: -np %ld, %ld tokens per slot, %ld threads (%s)\n", indent,
                       t->server_slots, t->server_slot_ctx, t->server_threads, t->server_note);
    return lleval_sb_detach(&sb, NULL);
}

/* ---- the run's hook ----------------------------------------------------- */

int lleval_run_tune(struct run *r, lleval_sched_next_fn next, lleval_sched_result_fn on_result,
                    lleval_sched_tick_fn on_tick, void *ud, const struct lleval_sched_opts *so,
                    size_t n, size_t *answered, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc;

    *answered = 0;
    if (r->cfg->max_concurrent_jobs != LLEVAL_JOBS_AUTO || r->tune.done)
        return 0;
    r->tune.slots = r->slots;
    lleval_run_event(r, "tune: measuring concurrency on the run's first requests (slots: %ld)",
                     r->slots);
    rc = lleval_tune_measure(r->engine, next, n, so, on_result, on_tick, ud, &r->tune, answered,
                             err);
    r->jobs = r->tune.chosen;
    for (size_t i = 0; i < r->tune.n_points; i++)
        lleval_sb_addf(&sb, "%s%ld: %.2f", i ? ", " : "", r->tune.points[i].concurrency,
                       r->tune.points[i].rps);
    lleval_run_event(r, "tune: concurrency %ld (req/s by concurrency: %s; %s)", r->jobs,
                     sb.len ? sb.buf : "none measured", r->tune.stop_reason);
    lleval_sb_release(&sb);
    if (!rc && r->o->tune_only)
        r->stop_requested = true; /* `lleval tune`: the rest waits for `lleval runs resume` */
    return rc;
}

/* ---- a managed llama-server's slots, context and threads ----------------- */

/* The most tokens one request of the run needs: prompt (characters / 4, as
 * the context warning of steps.c estimates) + 8 + max_tokens. */
static long largest_request(const struct run *r)
{
    long worst = 0;
    for (size_t i = 0; i < r->st.n_parts; i++) {
        struct lleval_request_reader rr;
        const struct lleval_request_view *v;
        if (lleval_request_open(&rr, r->st.parts[i].info->batch_path, NULL))
            continue;
        while (lleval_request_next(&rr, &v, NULL) > 0) {
            long need = lleval_request_need(v);
            if (need > worst)
                worst = need;
        }
        lleval_request_close(&rr);
    }
    return worst;
}

static bool has_arg(const struct lleval_config *cfg, const char *a, const char *b)
{
    for (size_t i = 0; i < cfg->launch.n_extra_args; i++)
        if (!strcmp(cfg->launch.extra_args[i], a) || !strcmp(cfg->launch.extra_args[i], b))
            return true;
    return false;
}

static void add_args(struct lleval_config *cfg, const char *a, long v)
{
    size_t n = cfg->launch.n_extra_args;
    cfg->launch.extra_args = lleval_xrealloc(cfg->launch.extra_args, (n + 2) * sizeof(char *));
    cfg->launch.extra_args[n] = lleval_xstrdup(a);
    cfg->launch.extra_args[n + 1] = lleval_xasprintf("%ld", v);
    cfg->launch.n_extra_args = n + 2;
}

/* The device the server will run on: the CPU when no layer is offloaded or no
 * NVIDIA GPU answers; *budget is 90% of its memory. */
static enum lleval_vram_device server_device(const struct lleval_config *cfg, uint64_t *budget,
                                             char *src, size_t size)
{
    enum lleval_vram_device dev = cfg->launch.gpu_layers == 0 ? LLEVAL_VRAM_CPU : LLEVAL_VRAM_GPU;
    uint64_t b = lleval_vram_default_budget(dev, src, size);
    if (dev == LLEVAL_VRAM_GPU && strncmp(src, "NVML", 4)) {
        dev = LLEVAL_VRAM_CPU;
        b = lleval_vram_default_budget(dev, src, size);
    }
    *budget = b / 10 * 9;
    return dev;
}

void lleval_run_plan_server(struct run *r)
{
    struct lleval_config *cfg = r->cfg;
    struct lleval_vram_model *m;
    struct lleval_vram_params p;
    struct lleval_gguf g;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_tune_result *t = &r->tune;
    enum lleval_vram_device dev;
    uint64_t budget;
    char src[160];
    long need, slot_ctx, slots, threads = 0;

    if (cfg->max_concurrent_jobs != LLEVAL_JOBS_AUTO || !cfg->launch.enabled ||
        cfg->launch.parallel > 0 || cfg->launch.ctx_size > 0 || has_arg(cfg, "-np", "--parallel") ||
        has_arg(cfg, "-c", "--ctx-size"))
        return; /* the user's own server settings stay */
    memset(&g, 0, sizeof(g));
    m = lleval_xcalloc(1, sizeof(*m));
    if (lleval_gguf_open(&g, cfg->launch.model ? cfg->launch.model : "", &err) ||
        lleval_vram_model_from_gguf(m, &g, &err)) {
        lleval_run_warning(r, "tune: cannot plan llama-server's slots (%s): its defaults stay",
                           err.msg);
        goto done;
    }
    need = largest_request(r);
    slot_ctx = (need + LLEVAL_VRAM_CTX_PAD - 1) / LLEVAL_VRAM_CTX_PAD * LLEVAL_VRAM_CTX_PAD;
    if (slot_ctx < 2 * LLEVAL_VRAM_CTX_PAD)
        slot_ctx = 2 * LLEVAL_VRAM_CTX_PAD;
    dev = server_device(cfg, &budget, src, sizeof(src));
    lleval_vram_params_init(&p);
    p.device = dev;
    p.ctx = slot_ctx;
    p.parallel = 1;
    if (dev == LLEVAL_VRAM_GPU && cfg->launch.gpu_layers > 0)
        p.gpu_layers = cfg->launch.gpu_layers;
    slots = lleval_vram_max_parallel(m, &p, budget, NULL);
    if (slots < 1) {
        lleval_run_warning(r,
                           "tune: not even one llama-server slot of %ld tokens fits 90%% of %s "
                           "by the planner: its defaults stay",
                           slot_ctx, src);
        goto done;
    }
    if (slots > LLEVAL_TUNE_MAX_SLOTS)
        slots = LLEVAL_TUNE_MAX_SLOTS;
    cfg->launch.parallel = slots;
    cfg->launch.ctx_size = slots * slot_ctx;
    cfg->context_length = slot_ctx; /* each slot's, as the probe compares it */
    if (dev == LLEVAL_VRAM_CPU && !has_arg(cfg, "-t", "--threads") &&
        !getenv("LLAMA_ARG_THREADS") && !lleval_host_cpus(&threads))
        add_args(cfg, "-t", threads);
    t->server_slots = slots;
    t->server_slot_ctx = slot_ctx;
    t->server_threads = threads;
    snprintf(t->server_note, sizeof(t->server_note),
             "the largest request needs ~%ld tokens; %s, 90%% of %s; at most %d slots", need,
             dev == LLEVAL_VRAM_CPU ? "CPU" : "GPU", src, LLEVAL_TUNE_MAX_SLOTS);
    lleval_run_event(r, "tune: llama-server with -np %ld -c %ld%s (%s)", slots,
                     cfg->launch.ctx_size, threads ? " and threads = cores" : "", t->server_note);
done:
    lleval_gguf_release(&g);
    free(m);
}
