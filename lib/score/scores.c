/*
 * scores.json: its one writer (from struct lleval_score_result) and its one
 * reader (the typed struct lleval_scores), and the headline metric computed
 * from it. See include/lleval/score/scores.h and docs/scoring.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/score/leaderboard.h"
#include "lleval/score/score.h"
#include "lleval/score/scores.h"
#include "lleval/score/stats.h"
#include "lleval/util/format.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* ---- writing ------------------------------------------------------------------ */

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {"value": mean * scale, "ci95": [lo, hi] | null, "n": n}, or null without data. */
static json_t *metric_json(const struct lleval_ci *ci, double scale)
{
    json_t *o;
    if (ci->n == 0 || !isfinite(ci->mean))
        return json_null();
    o = json_object();
    json_object_set_new(o, "value", json_real(ci->mean * scale));
    if (isfinite(ci->lo) && isfinite(ci->hi))
        json_object_set_new(o, "ci95", json_pack("[ff]", ci->lo * scale, ci->hi * scale));
    else
        json_object_set_new(o, "ci95", json_null());
    json_object_set_new(o, "n", json_integer((json_int_t)ci->n));
    return o;
}

static double pct(long part, long whole)
{
    return lleval_pct((double)part, (double)whole);
}

static json_t *group_json(const struct lleval_score_group *g)
{
    json_t *o = json_object();
    bool mc = g->scoring == LLEVAL_SCORING_MC;
    double t;
    if (g->model) /* a run of several models only */
        json_object_set_new(o, "model", json_string(g->model));
    json_object_set_new(o, "dataset", json_string(g->dataset));
    json_object_set_new(o, "prompt_type",
                        g->prompt_type && *g->prompt_type ? json_string(g->prompt_type)
                                                          : json_null());
    if (g->temperature && *g->temperature && !lleval_parse_double(g->temperature, &t))
        json_object_set_new(o, "temperature", json_real(t));
    else
        json_object_set_new(o, "temperature", json_null());
    json_object_set_new(o, "overall", json_boolean(g->overall));
    json_object_set_new(o, "type", json_string(g->type ? g->type : ""));
    json_object_set_new(o, "scoring", json_string(lleval_scoring_name(g->scoring)));
    json_object_set_new(o, "n", json_integer(g->n));
    json_object_set_new(o, "missing", json_integer(g->missing));
    json_object_set_new(o, "unknown", json_integer(g->unknown));
    json_object_set_new(o, "duplicates", json_integer(g->duplicates));
    json_object_set_new(o, "exact_match", mc ? json_null() : metric_json(&g->em, 100.0));
    json_object_set_new(o, "f1", mc ? json_null() : metric_json(&g->f1, 100.0));
    json_object_set_new(o, "contains", mc ? json_null() : metric_json(&g->contains, 100.0));
    json_object_set_new(o, "accuracy", mc ? metric_json(&g->accuracy, 100.0) : json_null());
    json_object_set_new(o, "unparseable", mc ? json_integer(g->unparseable) : json_null());
    json_object_set_new(o, "finish_reason",
                        json_pack("{sIsIsIsI}", "stop", (json_int_t)g->finish_stop, "length",
                                  (json_int_t)g->finish_length, "error",
                                  (json_int_t)g->finish_error, "other",
                                  (json_int_t)g->finish_other));
    json_object_set_new(o, "truncation_pct", real_or_null(pct(g->finish_length, g->n)));
    json_object_set_new(o, "error_pct", real_or_null(pct(g->errors, g->n)));
    json_object_set_new(o, "empty_pct", real_or_null(pct(g->empty, g->n)));
    json_object_set_new(o, "latency_ms", metric_json(&g->latency_ms, 1.0));
    json_object_set_new(o, "tokens_per_s", metric_json(&g->tokens_per_s, 1.0));
    return o;
}

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

/* {"models": [{"model", "correct", "f1", "contains": metric}], "pairs": [{"a", "b", "n",
 * "a_only", "b_only", "mcnemar_p"}]}: metrics as percentages (f1 and contains null
 * for a model without QA items) */
static json_t *leaderboard_json(const struct lleval_leaderboard *lb)
{
    json_t *models = json_array(), *pairs = json_array();
    for (size_t i = 0; i < lb->n_models; i++)
        json_array_append_new(models,
                              json_pack("{s:s, s:o, s:o, s:o}", "model", lb->models[i].model,
                                        "correct", metric_json(&lb->models[i].correct, 100.0), "f1",
                                        metric_json(&lb->models[i].f1, 100.0), "contains",
                                        metric_json(&lb->models[i].contains, 100.0)));
    for (size_t i = 0; i < lb->n_pairs; i++) {
        const struct lleval_lb_pair *p = &lb->pairs[i];
        json_array_append_new(pairs,
                              json_pack("{s:s, s:s, s:I, s:I, s:I, s:f}", "a",
                                        lb->models[p->a].model, "b", lb->models[p->b].model, "n",
                                        (json_int_t)p->n, "a_only", (json_int_t)p->a_only, "b_only",
                                        (json_int_t)p->b_only, "mcnemar_p", p->mcnemar_p));
    }
    return json_pack("{s:o, s:o}", "models", models, "pairs", pairs);
}

json_t *lleval_score_result_json(const struct lleval_score_result *res)
{
    json_t *o = json_object(), *groups = json_array(), *warns = json_array();
    char when[64];
    lleval_fmt_utc(when, sizeof(when), lleval_now());
    json_object_set_new(o, "mode", json_string(res->squad_json ? "squad_json" : "csv"));
    json_object_set_new(o, "predictions", json_string(res->predictions ? res->predictions : ""));
    json_object_set_new(o, "prepared_dir", json_string(res->prepared_dir ? res->prepared_dir : ""));
    json_object_set_new(o, "scored_at", json_string(when));
    json_object_set_new(
        o, "options",
        json_pack("{sssbsIsIsfss}", "answer_extraction", lleval_extract_name(res->opts.extraction),
                  "strip_think", res->opts.strip_think, "bootstrap_resamples",
                  (json_int_t)res->opts.bootstrap, "bootstrap_seed", (json_int_t)res->opts.seed,
                  "ci_level", LLEVAL_CI_LEVEL, "ci_method", "percentile bootstrap"));
    if (res->squad_json) {
        /* the official script's output, with three decimals */
        json_object_set_new(o, "exact_match", json_real(round3(res->exact_match)));
        json_object_set_new(o, "f1", json_real(round3(res->f1)));
        json_object_set_new(o, "total", json_integer(res->total));
    }
    json_object_set_new(o, "totals",
                        json_pack("{sIsIsIsIsI}", "rows", (json_int_t)res->rows, "scored",
                                  (json_int_t)res->scored, "unknown", (json_int_t)res->unknown,
                                  "duplicates", (json_int_t)res->duplicates, "missing",
                                  (json_int_t)res->missing));
    for (size_t i = 0; i < res->n_groups; i++)
        json_array_append_new(groups, group_json(&res->groups[i]));
    json_object_set_new(o, "groups", groups);
    if (res->leaderboard)
        json_object_set_new(o, "leaderboard", leaderboard_json(res->leaderboard));
    for (size_t i = 0; i < res->n_warnings; i++)
        json_array_append_new(warns, json_string(res->warnings[i]));
    json_object_set_new(o, "warnings", warns);
    return o;
}

int lleval_score_write(const struct lleval_score_result *res, const char *out_dir,
                       struct lleval_err *err)
{
    json_t *doc = lleval_score_result_json(res);
    char *path = lleval_path_join(out_dir, LLEVAL_SCORES_FILE);
    int rc = lleval_mkdirs(out_dir, err);
    if (!rc)
        rc = lleval_json_write_atomic(path, doc, err);
    json_decref(doc);
    free(path);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

/* What to do about a damaged scores.json (ends the type errors). */
#define SCORES_FIX "lleval score writes it; score the predictions again"

/* {"value": number | null, "ci95": [lo, hi] | null, "n": integer}, or null. */
static void get_metric(struct lleval_json_reader *rd, const json_t *g, const char *pre,
                       const char *key, struct lleval_scores_metric *m)
{
    const json_t *o = json_object_get(g, key), *ci;
    char sub[96];
    double v = NAN;

    memset(m, 0, sizeof(*m));
    m->lo = m->hi = NAN;
    if (!o || json_is_null(o))
        return;
    if (!json_is_object(o)) {
        lleval_jr_wrong(rd, pre, key, "an object or null");
        return;
    }
    m->present = true;
    snprintf(sub, sizeof(sub), "%s%s.", pre, key);
    lleval_jr_num(rd, o, sub, "value", true, NAN, &v);
    if (isfinite(v)) {
        m->has = true;
        m->value = v;
    }
    lleval_jr_long(rd, o, sub, "n", &m->n);
    ci = json_object_get(o, "ci95");
    if (!ci || json_is_null(ci))
        return;
    if (!json_is_array(ci) || json_array_size(ci) != 2 || !json_is_number(json_array_get(ci, 0)) ||
        !json_is_number(json_array_get(ci, 1))) {
        lleval_jr_wrong(rd, sub, "ci95", "an array of two numbers or null");
        return;
    }
    m->lo = json_number_value(json_array_get(ci, 0));
    m->hi = json_number_value(json_array_get(ci, 1));
}

static void read_group(struct lleval_json_reader *rd, const json_t *o, size_t i,
                       struct lleval_scores_group *g)
{
    char pre[64], sub[96];
    const json_t *fr;
    double temp = NAN;

    snprintf(pre, sizeof(pre), "groups[%zu].", i);
    if (json_object_get(o, "model"))
        lleval_jr_str(rd, o, pre, "model", false, &g->model);
    lleval_jr_str(rd, o, pre, "dataset", false, &g->dataset);
    lleval_jr_str(rd, o, pre, "prompt_type", true, &g->prompt_type);
    lleval_jr_num(rd, o, pre, "temperature", true, NAN, &temp);
    if (isfinite(temp)) {
        g->has_temperature = true;
        g->temperature = temp;
    }
    lleval_jr_bool(rd, o, pre, "overall", &g->overall);
    lleval_jr_str(rd, o, pre, "type", false, &g->type);
    lleval_jr_str(rd, o, pre, "scoring", false, &g->scoring);
    lleval_jr_long(rd, o, pre, "n", &g->n);
    lleval_jr_long(rd, o, pre, "missing", &g->missing);
    lleval_jr_long(rd, o, pre, "unknown", &g->unknown);
    lleval_jr_long(rd, o, pre, "duplicates", &g->duplicates);
    get_metric(rd, o, pre, "exact_match", &g->exact_match);
    get_metric(rd, o, pre, "f1", &g->f1);
    get_metric(rd, o, pre, "contains", &g->contains);
    get_metric(rd, o, pre, "accuracy", &g->accuracy);
    if (!json_is_null(json_object_get(o, "unparseable")))
        lleval_jr_long(rd, o, pre, "unparseable", &g->unparseable);
    fr = lleval_jr_obj(rd, o, pre, "finish_reason");
    snprintf(sub, sizeof(sub), "%sfinish_reason.", pre);
    lleval_jr_long(rd, fr, sub, "stop", &g->finish_stop);
    lleval_jr_long(rd, fr, sub, "length", &g->finish_length);
    lleval_jr_long(rd, fr, sub, "error", &g->finish_error);
    lleval_jr_long(rd, fr, sub, "other", &g->finish_other);
    lleval_jr_num(rd, o, pre, "truncation_pct", true, NAN, &g->truncation_pct);
    lleval_jr_num(rd, o, pre, "error_pct", true, NAN, &g->error_pct);
    lleval_jr_num(rd, o, pre, "empty_pct", true, NAN, &g->empty_pct);
    get_metric(rd, o, pre, "latency_ms", &g->latency_ms);
    get_metric(rd, o, pre, "tokens_per_s", &g->tokens_per_s);
}

static void read_options(struct lleval_json_reader *rd, const json_t *doc, struct lleval_scores *s)
{
    const json_t *o = lleval_jr_obj(rd, doc, "", "options");
    const json_t *seed = json_object_get(o, "bootstrap_seed");
    lleval_jr_str(rd, o, "options.", "answer_extraction", false, &s->answer_extraction);
    lleval_jr_bool(rd, o, "options.", "strip_think", &s->strip_think);
    lleval_jr_long(rd, o, "options.", "bootstrap_resamples", &s->bootstrap_resamples);
    /* written as a signed JSON integer: the seed's 64 bits as they were */
    if (seed && !json_is_integer(seed))
        lleval_jr_wrong(rd, "options.", "bootstrap_seed", "an integer");
    else if (seed)
        s->bootstrap_seed = (uint64_t)json_integer_value(seed);
    lleval_jr_num(rd, o, "options.", "ci_level", false, NAN, &s->ci_level);
    lleval_jr_str(rd, o, "options.", "ci_method", false, &s->ci_method);
}

static void read_lists(struct lleval_json_reader *rd, const json_t *doc, struct lleval_scores *s)
{
    const json_t *groups = json_object_get(doc, "groups");
    const json_t *warns = json_object_get(doc, "warnings"), *x;
    size_t i;

    if (groups && !json_is_array(groups))
        lleval_jr_wrong(rd, "", "groups", "an array");
    else if (groups) {
        s->groups = lleval_xcalloc(json_array_size(groups) + 1, sizeof(*s->groups));
        json_array_foreach(groups, i, x)
        {
            struct lleval_scores_group *g;
            if (!json_is_object(x)) {
                s->skipped_groups++;
                continue;
            }
            g = &s->groups[s->n_groups++];
            g->unparseable = -1;
            g->truncation_pct = g->error_pct = g->empty_pct = NAN;
            read_group(rd, x, i, g);
        }
    }
    if (warns && !json_is_array(warns))
        lleval_jr_wrong(rd, "", "warnings", "an array");
    else if (warns) {
        s->warnings = lleval_xcalloc(json_array_size(warns) + 1, sizeof(*s->warnings));
        json_array_foreach(warns, i, x)
        {
            if (json_is_string(x))
                s->warnings[s->n_warnings++] = lleval_xstrdup(json_string_value(x));
            else
                s->skipped_warnings++;
        }
    }
}

void lleval_scores_init(struct lleval_scores *s)
{
    memset(s, 0, sizeof(*s));
    s->bootstrap_resamples = LLEVAL_BOOTSTRAP_DEFAULT;
    s->bootstrap_seed = LLEVAL_SCORES_SEED_DEFAULT;
    s->ci_level = NAN;
    s->exact_match = s->f1 = NAN;
}

void lleval_scores_release(struct lleval_scores *s)
{
    for (size_t i = 0; i < s->n_groups; i++) {
        struct lleval_scores_group *g = &s->groups[i];
        free(g->model);
        free(g->dataset);
        free(g->prompt_type);
        free(g->type);
        free(g->scoring);
    }
    free(s->groups);
    for (size_t i = 0; i < s->n_warnings; i++)
        free(s->warnings[i]);
    free(s->warnings);
    free(s->predictions);
    free(s->prepared_dir);
    free(s->scored_at);
    free(s->answer_extraction);
    free(s->ci_method);
    lleval_scores_init(s);
}

int lleval_scores_read(const json_t *doc, const char *name, struct lleval_scores *s,
                       struct lleval_err *err)
{
    struct lleval_json_reader rd = {name, SCORES_FIX, err, 0};
    const json_t *totals;
    char *mode = NULL;

    lleval_scores_init(s);
    if (!json_is_object(doc))
        return lleval_err_set(err, LLEVAL_EINVAL, "'%s' is not a JSON object", name);
    lleval_jr_str(&rd, doc, "", "mode", false, &mode);
    if (mode && strcmp(mode, "csv") && strcmp(mode, "squad_json"))
        lleval_jr_wrong(&rd, "", "mode", "\"csv\" or \"squad_json\"");
    s->squad_json = mode && !strcmp(mode, "squad_json");
    free(mode);
    lleval_jr_str(&rd, doc, "", "predictions", false, &s->predictions);
    lleval_jr_str(&rd, doc, "", "prepared_dir", false, &s->prepared_dir);
    lleval_jr_str(&rd, doc, "", "scored_at", false, &s->scored_at);
    read_options(&rd, doc, s);
    lleval_jr_num(&rd, doc, "", "exact_match", false, NAN, &s->exact_match);
    lleval_jr_num(&rd, doc, "", "f1", false, NAN, &s->f1);
    lleval_jr_long(&rd, doc, "", "total", &s->total);
    totals = lleval_jr_obj(&rd, doc, "", "totals");
    lleval_jr_long(&rd, totals, "totals.", "rows", &s->rows);
    lleval_jr_long(&rd, totals, "totals.", "scored", &s->scored);
    lleval_jr_long(&rd, totals, "totals.", "unknown", &s->unknown);
    lleval_jr_long(&rd, totals, "totals.", "duplicates", &s->duplicates);
    lleval_jr_long(&rd, totals, "totals.", "missing", &s->missing);
    read_lists(&rd, doc, s);
    return rd.rc;
}

int lleval_scores_load(const char *path, struct lleval_scores *s, struct lleval_err *err)
{
    json_t *doc;
    int rc;

    lleval_scores_init(s);
    doc = lleval_json_load_file(path, err);
    if (!doc)
        return err->code ? err->code : LLEVAL_EIO;
    rc = lleval_scores_read(doc, path, s, err);
    json_decref(doc);
    return rc;
}

/* ---- the headline --------------------------------------------------------------- */

struct lleval_headline lleval_scores_headline(const struct lleval_scores *s)
{
    struct lleval_headline h = {false, "-", 0, false, false, 0, 0};
    double sum[2] = {0, 0}, n[2] = {0, 0}; /* exact match, accuracy */

    for (size_t i = 0; s && i < s->n_groups; i++) {
        const struct lleval_scores_group *g = &s->groups[i];
        const struct lleval_scores_metric *m =
            g->exact_match.present ? &g->exact_match : &g->accuracy;
        if (g->overall || !m->has || g->n <= 0)
            continue;
        sum[m != &g->exact_match] += m->value * (double)g->n;
        n[m != &g->exact_match] += (double)g->n;
    }
    if ((h.have_em = n[0] > 0))
        h.em = sum[0] / n[0];
    if ((h.have_acc = n[1] > 0))
        h.acc = sum[1] / n[1];
    h.have = h.have_em || h.have_acc;
    if (h.have) {
        h.label = h.have_em ? "EM" : "acc";
        h.pct = h.have_em ? h.em : h.acc;
    }
    return h;
}

const char *lleval_headline_text(const struct lleval_headline *h, char *buf, size_t size)
{
    if (h->have_em && h->have_acc)
        snprintf(buf, size, "EM %.1f, acc %.1f", h->em, h->acc);
    else if (h->have)
        snprintf(buf, size, "%s %.1f", h->label, h->pct);
    else
        snprintf(buf, size, "-");
    return buf;
}
