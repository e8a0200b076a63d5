/*
 * doctor's rules over the engine's behavior (see doctor_int.h): a managed
 * llama-server that died, connection failures (the guide's "Connection &
 * Service Issues" with the engine's own address and this platform's
 * commands), HTTP 404 (a wrong base_url or model_id), requests over the
 * context window, empty answers whose tokens went to reasoning, and
 * multiple-choice answers without a readable letter.
 */
#include <stdlib.h>
#include <string.h>
#include "doctor_int.h"
#include "lleval/run/events.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/util/json.h"

/* Multiple-choice rows without a readable letter above this share get a finding. */
#define MC_UNREADABLE_WARN 0.10

void lleval_dr_read_scores(struct evidence *ev, const char *run_dir)
{
    char *path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_SCORES);
    struct lleval_err ignored = LLEVAL_ERR_INIT;
    json_t *j = lleval_path_exists(path) ? lleval_json_load_file(path, &ignored) : NULL;
    const json_t *g;
    double *worst = lleval_xcalloc(ev->n_models ? ev->n_models : 1, sizeof(*worst));
    size_t i;

    free(path);
    for (i = 0; i < ev->n_models; i++)
        worst[i] = -1;
    json_array_foreach(json_object_get(j, "groups"), i, g)
    {
        json_int_t n = json_integer_value(json_object_get(g, "n"));
        json_int_t bad = json_integer_value(json_object_get(g, "unparseable"));
        const char *ds = json_string_value(json_object_get(g, "dataset"));
        /* a run of several models: each group names its model */
        const char *model = json_string_value(json_object_get(g, "model"));
        struct model_ev *m = (struct model_ev *)lleval_dr_model(ev, model);
        size_t k;
        if (!m && ev->n_models == 1 && !ev->models[0].id)
            m = &ev->models[0]; /* one model: every group is its */
        if (!m || !json_is_true(json_object_get(g, "overall")) ||
            !json_is_integer(json_object_get(g, "unparseable")) || n <= 0 || bad < 0 || bad > n)
            continue; /* multiple choice only; an overall row per dataset counts each row once */
        k = (size_t)(m - ev->models);
        m->mc_rows += (long)n;
        m->mc_unreadable += (long)bad;
        if ((double)bad / (double)n > worst[k] && bad > 0) {
            worst[k] = (double)bad / (double)n;
            free(m->mc_groups);
            m->mc_groups =
                lleval_xasprintf("%s: %lld of %lld", ds ? ds : "?", (long long)bad, (long long)n);
        }
    }
    free(worst);
    json_decref(j);
}

/* The engine's address: the run's base_url, else the managed server's last
 * one (in a run of several models, model m's server's when it has one: m NULL
 * or of the run's only model, the last of any), else the engine's default. */
static const char *engine_address(const struct evidence *ev, const struct model_ev *m)
{
    size_t n = json_array_size(ev->manifest.engine_events);
    const char *addr = NULL;
    if (ev->manifest.base_url && *ev->manifest.base_url)
        return ev->manifest.base_url;
    if (ev->have_cfg && ev->cfg.base_url && *ev->cfg.base_url)
        return ev->cfg.base_url;
    for (size_t i = n; m && m->id && i > 0 && !addr; i--) {
        const json_t *e = json_array_get(ev->manifest.engine_events, i - 1);
        const char *model = json_string_value(json_object_get(e, "model"));
        if (model && !strcmp(model, m->id))
            addr = json_string_value(json_object_get(e, "address"));
    }
    if (!addr && n)
        addr = json_string_value(
            json_object_get(json_array_get(ev->manifest.engine_events, n - 1), "address"));
    if (addr)
        return addr;
    if (ev->engine && !strcmp(ev->engine, "ollama"))
        return "http://127.0.0.1:11434";
    return "http://127.0.0.1:8080";
}

/* host and port of an http(s) URL (host "127.0.0.1" and the scheme's port when absent). */
static void split_address(const char *url, char *host, size_t host_size, long *port)
{
    const char *p = strstr(url, "://"), *end, *colon;
    bool tls = !strncmp(url, "https", 5);
    size_t n;
    p = p ? p + 3 : url;
    if (strchr(p, '@') && strchr(p, '@') < p + strcspn(p, "/"))
        p = strchr(p, '@') + 1; /* userinfo is never shown */
    end = p + strcspn(p, "/?#");
    colon = memchr(p, ':', (size_t)(end - p));
    *port = tls ? 443 : 80;
    if (colon) {
        char *e;
        long v = strtol(colon + 1, &e, 10);
        if (e != colon + 1 && v > 0 && v < 65536)
            *port = v;
    }
    n = (size_t)((colon ? colon : end) - p);
    if (!n) {
        snprintf(host, host_size, "127.0.0.1");
        return;
    }
    snprintf(host, host_size, "%.*s", (int)n, p);
}

/* The URL that answers when the engine is up: Ollama's /api/tags (the
 * guide's check), llama-server's /health, an OpenAI server's /models. */
static char *health_url(const struct evidence *ev, const char *addr)
{
    size_t n = strlen(addr);
    while (n && addr[n - 1] == '/')
        n--;
    if (ev->engine && !strcmp(ev->engine, "ollama"))
        return lleval_xasprintf("%.*s/api/tags", (int)n, addr);
    if (ev->engine && !strcmp(ev->engine, "llamacpp"))
        return lleval_xasprintf("%.*s/health", (int)n, addr);
    return lleval_xasprintf("%.*s/models", (int)n, addr);
}

static bool is_engine(const struct evidence *ev, const char *name)
{
    return ev->engine && !strcmp(ev->engine, name);
}

/* The guide's "Connection & Service Issues" fixes, in its order, with the
 * engine's address and this platform's commands. */
/* True in a run of several models (each has its own model_ev, with its id). */
static bool several_models(const struct evidence *ev)
{
    return ev->n_models > 1 || (ev->n_models == 1 && ev->models[0].id);
}

static void connection_fixes(struct lleval_finding *f, const struct evidence *ev,
                             const struct model_ev *m, const char *run_id)
{
    const char *addr = engine_address(ev, m);
    char host[128];
    long port;
    char *health = health_url(ev, addr);

    split_address(addr, host, sizeof(host), &port);
    if (is_engine(ev, "ollama"))
        lleval_dr_fix(f, "start the Ollama service: ollama serve (it listens on %s:%ld)", host,
                      port);
    else if (is_engine(ev, "llamacpp") && ev->have_cfg && ev->cfg.launch.model)
        lleval_dr_fix(f, "lleval starts llama-server itself (launch:): read its log "
                         "logs/llama-server.log in the run directory for why it stopped");
    else if (is_engine(ev, "llamacpp"))
        lleval_dr_fix(f,
                      "start llama-server on %s:%ld (or add a launch: section so lleval "
                      "manages it)",
                      host, port);
    else
        lleval_dr_fix(f, "start the engine's server on %s:%ld", host, port);
    if (lleval_platform_is_windows()) {
        lleval_dr_fix(f, "verify the service (PowerShell): Invoke-WebRequest %s", health);
        lleval_dr_fix(f,
                      "check that something listens on the port: Test-NetConnection %s -Port %ld; "
                      "netstat -ano | findstr :%ld",
                      host, port, port);
        lleval_dr_fix(f, "check Windows firewall / antivirus: allow %s through for port %ld",
                      is_engine(ev, "ollama") ? "ollama.exe" : "llama-server.exe", port);
    } else {
        lleval_dr_fix(f, "verify the service: curl -sS %s", health);
        lleval_dr_fix(f, "check that something listens on the port: ss -ltnp | grep ':%ld'", port);
        lleval_dr_fix(f, "check the firewall / antivirus for port %ld (e.g. sudo ufw status)",
                      port);
    }
    if (is_engine(ev, "ollama") && several_models(ev)) {
        /* the models whose requests failed, or every model when none did */
        bool any = false;
        for (size_t i = 0; i < ev->n_models; i++)
            any |= ev->models[i].conn.count > 0;
        for (size_t i = 0; i < ev->n_models; i++)
            if (!any || ev->models[i].conn.count)
                lleval_dr_fix(f, "verify the model download: ollama pull %s", ev->models[i].id);
    } else if (is_engine(ev, "ollama")) {
        lleval_dr_fix(f, "verify the model download: ollama pull %s",
                      ev->model_id && *ev->model_id ? ev->model_id : "<model_id>");
    }
    lleval_dr_fix(f, "then finish the run: lleval runs resume %s", run_id);
    free(health);
}

/* True when engine event e is about model m: in a run of one model every
 * event is; in a run of several, each event names the model whose server it
 * was (m NULL: the events that name none of the run's models). */
static bool event_of(const struct evidence *ev, const json_t *e, const struct model_ev *m)
{
    const char *model = json_string_value(json_object_get(e, "model"));
    if (!several_models(ev))
        return true;
    if (m)
        return model && !strcmp(model, m->id);
    return !model || !lleval_dr_model(ev, model);
}

static void restart_rule(const struct evidence *ev, const struct model_ev *m,
                         struct lleval_doctor_report *rep)
{
    const json_t *events = ev->manifest.engine_events, *e;
    long restarts = 0, died = 0, killed9 = 0;
    size_t shown = 0, all = 0;
    struct lleval_finding *f;
    size_t i;

    json_array_foreach(events, i, e)
    {
        const char *kind;
        if (!event_of(ev, e, m))
            continue;
        all++;
        kind = json_string_value(json_object_get(e, "kind"));
        if (kind && !strcmp(kind, "restart"))
            restarts++;
        else if (kind && !strcmp(kind, "died"))
            died++;
        if (json_integer_value(json_object_get(e, "signal")) == 9)
            killed9++;
    }
    if (!restarts && !died)
        return;
    f = lleval_dr_finding(rep, LLEVAL_FIND_ENGINE_RESTART,
                          "the managed llama-server died %ld time%s (%ld restarted%s)",
                          restarts + died, restarts + died == 1 ? "" : "s", restarts,
                          died ? ", then it was given up" : "");
    json_array_foreach(events, i, e)
    {
        const json_t *code = json_object_get(e, "exit_status"), *sig = json_object_get(e, "signal");
        const char *at = json_string_value(json_object_get(e, "at_utc"));
        const char *addr = json_string_value(json_object_get(e, "address"));
        if (!event_of(ev, e, m))
            continue;
        if (shown >= 5) {
            lleval_dr_evidence(f, "... %zu more in manifest.json engine_events", all - shown);
            break;
        }
        shown++;
        char how[48];
        if (json_is_integer(sig))
            snprintf(how, sizeof(how), "killed by signal %lld", (long long)json_integer_value(sig));
        else if (json_is_integer(code))
            snprintf(how, sizeof(how), "exit status %lld", (long long)json_integer_value(code));
        else
            snprintf(how, sizeof(how), "exit unknown");
        lleval_dr_evidence(f, "%s %s: %s (restarts %lld)%s%s", at ? at : "?",
                           json_is_string(json_object_get(e, "kind"))
                               ? json_string_value(json_object_get(e, "kind"))
                               : "?",
                           how, (long long)json_integer_value(json_object_get(e, "restarts")),
                           addr ? " at " : "", addr ? addr : "");
    }
    lleval_dr_fix(f, "read the server's log: logs/llama-server.log in the run directory");
    if (killed9)
        lleval_dr_fix(f, "signal 9 from outside lleval is often the system's out-of-memory "
                         "killer: check `journalctl -k | grep -i 'killed process'` (or dmesg), "
                         "then the guide's OOM fixes: lower context_length, max_concurrent_jobs 1, "
                         "a lower quantization");
    else
        lleval_dr_fix(f, "a crash under load is often out of memory: the guide's OOM fixes "
                         "(context_length 4096, then 2048; max_concurrent_jobs 1; a lower "
                         "quantization)");
    if (died)
        lleval_dr_fix(f,
                      "launch.max_restarts %ld -> %ld lets a run outlive more crashes; then "
                      "lleval runs resume %s",
                      ev->have_cfg ? ev->cfg.launch.max_restarts : 0,
                      ev->have_cfg ? ev->cfg.launch.max_restarts + 2 : 2, rep->run_id);
    lleval_dr_name_model(f, m);
}

static void connection_rule(const struct evidence *ev, struct lleval_doctor_report *rep)
{
    const char *last = ev->manifest.last_error;
    const char *rsample = NULL;
    long retried = lleval_events_retry_count(ev->manifest.retries, "connection", &rsample);
    bool unreachable = last && (lleval_dr_contains_ci(last, "unreachable") ||
                                lleval_dr_contains_ci(last, "connection refused") ||
                                lleval_dr_contains_ci(last, "couldn't connect") ||
                                lleval_dr_contains_ci(last, "could not connect"));
    /* retries around a recorded restart are the restart's: that rule says so */
    bool retries_alone = retried && !json_array_size(ev->manifest.engine_events);
    bool several = several_models(ev);
    /* a run of several models: the retries record no model, so the count is of
     * the failed requests, which do; "only": the one model they are all of */
    long counted = several ? ev->conn.count : ev->conn.count + retried;
    const struct model_ev *only = NULL;
    size_t models = 0;
    struct lleval_finding *f;

    if (!ev->conn.count && !unreachable && !retries_alone)
        return;
    for (size_t i = 0; several && i < ev->n_models; i++) {
        if (ev->models[i].conn.count) {
            only = &ev->models[i];
            models++;
        }
    }
    if (models != 1)
        only = NULL;
    if (counted)
        f = lleval_dr_finding(rep, LLEVAL_FIND_CONNECTION,
                              "connection failures: %ld request%s failed to reach the engine "
                              "at %s%s",
                              counted, counted == 1 ? "" : "s", engine_address(ev, only),
                              unreachable ? "; the run stopped with the engine unreachable" : "");
    else if (retried && !unreachable) /* several models, retries alone */
        f = lleval_dr_finding(rep, LLEVAL_FIND_CONNECTION,
                              "connection failures: %ld attempt%s to reach the engine at %s "
                              "failed and %s retried",
                              retried, retried == 1 ? "" : "s", engine_address(ev, NULL),
                              retried == 1 ? "was" : "were");
    else
        f = lleval_dr_finding(rep, LLEVAL_FIND_CONNECTION,
                              "connection failures: the engine at %s could not be reached; the "
                              "run stopped",
                              engine_address(ev, NULL));
    if (ev->conn.count)
        lleval_dr_ids(f, "custom_ids", ev->conn.ids, ev->conn.n_ids, ev->conn.count);
    if (several && ev->conn.count) {
        /* one engine serves the models: one finding, the failed requests by model */
        struct lleval_sb sb = LLEVAL_SB_INIT;
        size_t listed = 0;
        for (size_t i = 0; i < ev->n_models; i++) {
            const struct model_ev *m = &ev->models[i];
            if (m->conn.count)
                lleval_sb_addf(&sb, "%s%s %ld", listed++ ? ", " : "", m->id, m->conn.count);
        }
        lleval_dr_evidence(f, "failed requests by model: %s", sb.buf);
        lleval_sb_release(&sb);
    }
    if (ev->conn.sample)
        lleval_dr_evidence(f, "error: %s", ev->conn.sample);
    if (retried)
        lleval_dr_evidence(f, "manifest.json retries.by_class.connection: %ld attempt%s (%s)%s",
                           retried, retried == 1 ? "" : "s", rsample ? rsample : "",
                           several ? "; of the whole run: retries do not record their model" : "");
    if (unreachable)
        lleval_dr_evidence(f, "manifest last_error: %s", last);
    connection_fixes(f, ev, only, rep->run_id);
    lleval_dr_name_model(f, only);
}

/* The model a run that stopped on HTTP 404s was asking: the stop message
 * names it (the poll's "model_id '<id>'", the probe's "model 2 of 2
 * ('<id>'): "); NULL when it names none of the run's. */
static const struct model_ev *stopped_model(const struct evidence *ev, const char *last)
{
    const struct model_ev *best = NULL;
    for (size_t i = 0; last && i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        char *quoted = lleval_xasprintf("model_id '%s'", m->id ? m->id : "");
        char *probed = lleval_xasprintf("('%s'): ", m->id ? m->id : "");
        if (m->id && (strstr(last, quoted) || strstr(last, probed)))
            best = m;
        free(quoted);
        free(probed);
    }
    return best;
}

/* The HTTP 404 finding of model m (NULL: a run of several models stopped on
 * 404s for a model the message does not name); stopped: the run stopped on them. */
static void not_found_finding(const struct evidence *ev, const struct model_ev *m, bool stopped,
                              struct lleval_doctor_report *rep)
{
    const char *last = ev->manifest.last_error;
    const char *addr = engine_address(ev, m);
    const char *id = m && m->id ? m->id : several_models(ev) ? NULL : ev->model_id;
    const char *model = id && *id ? id : "<model_id>";
    static const struct err_class none;
    const struct err_class *nf = m ? &m->not_found : &none;
    struct lleval_finding *f;
    char *models;

    f = lleval_dr_finding(rep, LLEVAL_FIND_NOT_FOUND,
                          "wrong endpoint or model: %s got HTTP 404 from %s",
                          nf->count ? "requests" : "the first requests", addr);
    if (nf->count)
        lleval_dr_ids(f, "custom_ids", nf->ids, nf->n_ids, nf->count);
    if (nf->sample)
        lleval_dr_evidence(f, "engine said: %s", nf->sample);
    if (stopped)
        lleval_dr_evidence(f, "manifest last_error: %s", last);
    if (is_engine(ev, "ollama")) {
        lleval_dr_fix(f, "check the model name: ollama list; fetch it: ollama pull %s", model);
        lleval_dr_fix(f, "base_url is Ollama's root, without /v1: e.g. http://127.0.0.1:11434");
    } else {
        lleval_dr_fix(f,
                      "base_url is the server's OpenAI API root, usually ending in /v1 (e.g. "
                      "http://127.0.0.1:8080/v1); %s has %s",
                      addr, strstr(addr, "/v1") ? "/v1" : "no /v1");
        models = health_url(ev, addr);
        lleval_dr_fix(f, "model_id '%s' must be one the server lists: curl -sS %s", model, models);
        free(models);
    }
    lleval_dr_fix(f, "then finish the run: lleval runs resume %s", rep->run_id);
    lleval_dr_name_model(f, m);
}

static void not_found_rule(const struct evidence *ev, struct lleval_doctor_report *rep)
{
    const char *last = ev->manifest.last_error;
    bool stopped = last && lleval_dr_contains_ci(last, "HTTP 404");
    const struct model_ev *at = NULL;
    bool told = false;

    if (stopped && several_models(ev))
        at = stopped_model(ev, last);
    for (size_t i = 0; i < ev->n_models; i++) {
        const struct model_ev *m = &ev->models[i];
        /* a run of one model: the stop is its; of several: the model it names */
        bool its_stop = stopped && (several_models(ev) ? m == at : true);
        if (!m->not_found.count && !its_stop)
            continue;
        not_found_finding(ev, m, its_stop, rep);
        told |= its_stop;
    }
    if (stopped && !told) /* no model of the run is named: the run's own */
        not_found_finding(ev, several_models(ev) || !ev->n_models ? NULL : &ev->models[0], true,
                          rep);
}

static void context_rule(const struct evidence *ev, const struct model_ev *m,
                         struct lleval_doctor_report *rep)
{
    long ctx = ev->have_cfg ? ev->cfg.context_length : 0;
    /* one model: the run's effective concurrency (after a clamp to the slots) */
    long jobs = m->id ? m->jobs : ev->manifest.max_concurrent_jobs;
    struct lleval_finding *f;

    if (!m->ctx.count)
        return;
    f = lleval_dr_finding(rep, LLEVAL_FIND_CONTEXT_EXCEEDED,
                          "requests over the context window: %ld request%s did not fit",
                          m->ctx.count, m->ctx.count == 1 ? "" : "s");
    lleval_dr_ids(f, "custom_ids", m->ctx.ids, m->ctx.n_ids, m->ctx.count);
    lleval_dr_evidence(f, "engine said: %s", m->ctx.sample ? m->ctx.sample : "");
    if (ctx > 0)
        lleval_dr_fix(f, "context_length %ld -> %ld (the prompt and max_new_tokens must fit)", ctx,
                      ctx * 2);
    else
        lleval_dr_fix(f, "raise context_length: the prompt and max_new_tokens must fit");
    if (is_engine(ev, "llamacpp") && jobs > 1)
        lleval_dr_fix(f,
                      "%s %ld -> 1: llama-server divides its context among "
                      "its slots (each gets context_length / slots)",
                      m->jobs_key, jobs);
    lleval_dr_fix(f, "a server you start yourself has its own context: llama-server -c / "
                     "--ctx-size (Ollama: num_ctx) at least context_length");
    lleval_dr_fix(f, "lower max_new_tokens, or shorten the prompts (fewer or shorter passages "
                     "in open_book)");
    lleval_dr_name_model(f, m);
}

static void reasoning_rule(const struct model_ev *m, struct lleval_doctor_report *rep)
{
    struct lleval_finding *f;
    if (!m->reasoning.count)
        return;
    f = lleval_dr_finding(rep, LLEVAL_FIND_REASONING_EMPTY,
                          "empty answers: %ld answer%s spent max_new_tokens on reasoning and "
                          "hold no answer text",
                          m->reasoning.count, m->reasoning.count == 1 ? "" : "s");
    lleval_dr_ids(f, "custom_ids", m->reasoning.ids, m->reasoning.n_ids, m->reasoning.count);
    lleval_dr_evidence(f, "finish_reason length, completion tokens generated, and the content is "
                          "empty (the tokens went to reasoning_content) or an unclosed <think> "
                          "block");
    lleval_dr_fix(f, "raise max_new_tokens (x4 or more) so the reasoning ends and the answer "
                     "follows");
    lleval_dr_fix(f, "or turn the model's reasoning off (e.g. Qwen3's /no_think, llama-server "
                     "--reasoning-budget 0), or use a non-reasoning model");
    lleval_dr_name_model(f, m);
}

static void mc_rule(const struct model_ev *m, struct lleval_doctor_report *rep)
{
    struct lleval_finding *f;
    if (!m->mc_rows || (double)m->mc_unreadable / (double)m->mc_rows <= MC_UNREADABLE_WARN)
        return;
    f = lleval_dr_finding(rep, LLEVAL_FIND_MC_UNREADABLE,
                          "unreadable multiple-choice answers: %ld of %ld have no letter lleval "
                          "can read",
                          m->mc_unreadable, m->mc_rows);
    lleval_dr_evidence(f, "results/scores.json unparseable: %s (above %.0f%%)",
                       m->mc_groups ? m->mc_groups : "?", 100.0 * MC_UNREADABLE_WARN);
    lleval_dr_fix(f, "read the raw answers: the prediction column of results/predictions.csv");
    lleval_dr_fix(f, "scoring.answer_extraction: after_answer (reads \"Answer: B\") or "
                     "first_line");
    lleval_dr_fix(f, "check the prompts ask for the letter alone (\"Answer with A, B, C or D\")");
    lleval_dr_fix(f, "if answers are cut off (finish_reason length), raise "
                     "max_new_tokens.multiple_choice");
    lleval_dr_name_model(f, m);
}

void lleval_dr_engine_rules(const struct evidence *ev, struct lleval_doctor_report *rep)
{
    /* each rule in turn, over the models in the run's order */
    if (several_models(ev)) {
        for (size_t i = 0; i < ev->n_models; i++)
            restart_rule(ev, &ev->models[i], rep);
        restart_rule(ev, NULL, rep); /* events that name no model of the run */
    } else {
        restart_rule(ev, NULL, rep);
    }
    connection_rule(ev, rep);
    not_found_rule(ev, rep);
    for (size_t i = 0; i < ev->n_models; i++)
        context_rule(ev, &ev->models[i], rep);
    for (size_t i = 0; i < ev->n_models; i++)
        reasoning_rule(&ev->models[i], rep);
    for (size_t i = 0; i < ev->n_models; i++)
        mc_rule(&ev->models[i], rep);
}
