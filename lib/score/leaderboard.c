/*
 * The leaderboard of a run of several models (include/lleval/score/leaderboard.h):
 * per-model correctness with bootstrap intervals and pairwise McNemar tests on
 * the items the models share.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/score/leaderboard.h"
#include "lleval/util/format.h"
#include "lleval/util/text.h"

/* The escaped model component of a custom_id with six components, as a length
 * into id; 0 for an id without a model. */
static size_t model_prefix(const char *id)
{
    size_t colons = 0;
    for (const char *p = id; *p; p++)
        colons += *p == ':';
    return colons == 5 ? strcspn(id, ":") : 0;
}

static size_t model_index(struct lleval_leaderboard *lb, char ***esc, const char *id, size_t len)
{
    struct lleval_cid c;
    for (size_t i = 0; i < lb->n_models; i++)
        if (strlen((*esc)[i]) == len && !strncmp((*esc)[i], id, len))
            return i;
    lb->models = lleval_xrealloc(lb->models, (lb->n_models + 1) * sizeof(*lb->models));
    *esc = lleval_xrealloc(*esc, (lb->n_models + 1) * sizeof(**esc));
    memset(&lb->models[lb->n_models], 0, sizeof(*lb->models));
    (*esc)[lb->n_models] = lleval_xstrndup(id, len);
    if (!lleval_cid_decode(id, &c, NULL)) {
        lb->models[lb->n_models].model = c.model;
        c.model = NULL;
        lleval_cid_release(&c);
    } else {
        lb->models[lb->n_models].model = lleval_xstrndup(id, len);
    }
    return lb->n_models++;
}

/* Which value of an item a metric of the leaderboard averages. */
enum lb_metric { LB_CORRECT, LB_F1, LB_CONTAINS };

/* Model m's values of metric (correct: every item, 1 right 0 wrong; F1 and
 * contains: its QA items) bootstrapped into out; none: n 0, mean NaN. */
static int metric_ci(const struct lleval_item_scores *s, const size_t *of, size_t m,
                     enum lb_metric metric, long bootstrap, uint64_t seed, const char *model,
                     struct lleval_ci *out, struct lleval_err *err)
{
    static const char *const names[] = {"", "/f1", "/contains"};
    double *x = lleval_xmalloc((s->n ? s->n : 1) * sizeof(*x));
    size_t n = 0;
    char *label = lleval_xasprintf("leaderboard/%s%s", model, names[metric]);
    int rc = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct lleval_item_rec *it = &s->items[i];
        if (of[i] != m || (metric != LB_CORRECT && it->mc))
            continue;
        x[n++] = metric == LB_F1         ? it->f1
                 : metric == LB_CONTAINS ? it->contains
                                         : (it->correct ? 1.0 : 0.0);
    }
    if (n || metric == LB_CORRECT) {
        rc = lleval_bootstrap_mean(x, n, bootstrap, lleval_seed_derive(seed, label), out, err);
    } else {
        memset(out, 0, sizeof(*out));
        out->mean = out->lo = out->hi = NAN;
    }
    free(label);
    free(x);
    return rc;
}

/* Model m's metrics over its items, bootstrapped (seeds of their own per metric). */
static int model_ci(const struct lleval_item_scores *s, const size_t *of, size_t m, long bootstrap,
                    uint64_t seed, struct lleval_lb_model *out, struct lleval_err *err)
{
    int rc = metric_ci(s, of, m, LB_CORRECT, bootstrap, seed, out->model, &out->correct, err);
    if (!rc)
        rc = metric_ci(s, of, m, LB_F1, bootstrap, seed, out->model, &out->f1, err);
    if (!rc)
        rc = metric_ci(s, of, m, LB_CONTAINS, bootstrap, seed, out->model, &out->contains, err);
    return rc;
}

/* McNemar between models a and b: each item of a whose id, with b's model
 * component, b answered too. */
static void pair_of(const struct lleval_item_scores *s, const size_t *of, char **esc, size_t a,
                    size_t b, struct lleval_lb_pair *p)
{
    struct lleval_sb key = LLEVAL_SB_INIT;
    memset(p, 0, sizeof(*p));
    p->a = a;
    p->b = b;
    for (size_t i = 0; i < s->n; i++) {
        const struct lleval_item_rec *ra = &s->items[i], *rb;
        if (of[i] != a)
            continue;
        lleval_sb_reset(&key);
        lleval_sb_addf(&key, "%s%s", esc[b], ra->custom_id + strlen(esc[a]));
        rb = lleval_item_scores_find(s, key.buf);
        if (!rb)
            continue;
        p->n++;
        if (ra->correct && !rb->correct)
            p->a_only++;
        else if (!ra->correct && rb->correct)
            p->b_only++;
    }
    p->mcnemar_p = lleval_mcnemar_exact(p->a_only, p->b_only);
    lleval_sb_release(&key);
}

int lleval_leaderboard_build(const struct lleval_item_scores *s, long bootstrap, uint64_t seed,
                             struct lleval_leaderboard *out, struct lleval_err *err)
{
    char **esc = NULL;
    size_t *of = lleval_xmalloc((s->n ? s->n : 1) * sizeof(*of));
    int rc = 0;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < s->n; i++) {
        size_t len = model_prefix(s->items[i].custom_id);
        of[i] = len ? model_index(out, &esc, s->items[i].custom_id, len) : (size_t)-1;
    }
    for (size_t m = 0; m < out->n_models && !rc; m++)
        rc = model_ci(s, of, m, bootstrap, seed, &out->models[m], err);
    if (!rc && out->n_models > 1) {
        out->pairs = lleval_xcalloc(out->n_models * (out->n_models - 1) / 2, sizeof(*out->pairs));
        for (size_t a = 0; a < out->n_models; a++)
            for (size_t b = a + 1; b < out->n_models; b++)
                pair_of(s, of, esc, a, b, &out->pairs[out->n_pairs++]);
    }
    free(of);
    for (size_t i = 0; i < out->n_models; i++)
        free(esc[i]);
    free(esc);
    if (rc)
        lleval_leaderboard_release(out);
    return rc;
}

void lleval_leaderboard_release(struct lleval_leaderboard *lb)
{
    for (size_t i = 0; i < lb->n_models; i++)
        free(lb->models[i].model);
    free(lb->models);
    free(lb->pairs);
    memset(lb, 0, sizeof(*lb));
}

/* model text for a terminal: controls and escapes made visible */
static char *clean(const char *s)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_term_sanitize(&sb, s, false);
    return lleval_sb_detach(&sb, NULL);
}

/* "61.5 [52.0, 70.1]" of a fraction as a percentage; "n/a" without a value. Owned. */
static char *ci_text(const struct lleval_ci *c)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (!c->n || !isfinite(c->mean))
        return lleval_xstrdup("n/a");
    lleval_sb_add_ci(&sb, c->mean * 100.0, c->resamples ? c->lo * 100.0 : NAN,
                     c->resamples ? c->hi * 100.0 : NAN, 1, " [", "]");
    return lleval_sb_detach(&sb, NULL);
}

/* Best first; ties keep the models' order. */
static int cmp_rank(const void *x, const void *y)
{
    const struct lleval_lb_model *a = *(const struct lleval_lb_model *const *)x;
    const struct lleval_lb_model *b = *(const struct lleval_lb_model *const *)y;
    if (a->correct.mean != b->correct.mean)
        return a->correct.mean > b->correct.mean ? -1 : 1;
    return a < b ? -1 : 1;
}

void lleval_leaderboard_format(const struct lleval_leaderboard *lb, struct lleval_sb *out)
{
    static const struct lleval_table_style style = {"  ", "", "", false};
    static const char *const head[] = {
        "rank", "model", "n", "correct% [95% CI]", "F1 [95% CI]", "contains% [95% CI]"};
    const struct lleval_lb_model **order;
    struct lleval_table *tab;

    if (lb->n_models < 2)
        return;
    order = lleval_xmalloc(lb->n_models * sizeof(*order));
    for (size_t i = 0; i < lb->n_models; i++)
        order[i] = &lb->models[i];
    qsort(order, lb->n_models, sizeof(*order), cmp_rank);
    lleval_sb_adds(out, "leaderboard (correct: exact match on QA, the gold letter on multiple "
                        "choice; F1 and contains: QA items only):\n");
    tab = lleval_table_new(6);
    lleval_table_align(tab, 1, LLEVAL_ALIGN_LEFT);
    lleval_table_header(tab, head);
    for (size_t i = 0; i < lb->n_models; i++) {
        char *cells[6];
        const struct lleval_ci *c = &order[i]->correct;
        cells[0] = lleval_xasprintf("%zu", i + 1);
        cells[1] = clean(order[i]->model);
        cells[2] = lleval_xasprintf("%llu", (unsigned long long)c->n);
        cells[3] = ci_text(c);
        cells[4] = ci_text(&order[i]->f1);
        cells[5] = ci_text(&order[i]->contains);
        lleval_table_row(tab, (const char *const *)cells);
        for (int k = 0; k < 6; k++)
            free(cells[k]);
    }
    lleval_table_render(tab, &style, out);
    lleval_table_free(tab);
    free(order);
    for (size_t i = 0; i < lb->n_pairs; i++) {
        const struct lleval_lb_pair *p = &lb->pairs[i];
        char *a = clean(lb->models[p->a].model);
        char *b = clean(lb->models[p->b].model);
        lleval_sb_addf(out,
                       "%s vs %s: %zu paired items, %ld right for %s only, %ld for %s only, "
                       "McNemar exact p = %.4g\n",
                       a, b, p->n, p->a_only, a, p->b_only, b, p->mcnemar_p);
        free(a);
        free(b);
    }
}

/* A number of a JSON object, NaN when absent or not a number. */
static double num_or_nan(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The index of the model named by key of o in lb, or lb->n_models when none. */
static size_t find_model(const struct lleval_leaderboard *lb, const json_t *o, const char *key)
{
    const char *name = json_string_value(json_object_get(o, key));
    size_t i;
    for (i = 0; name && i < lb->n_models; i++)
        if (!strcmp(lb->models[i].model, name))
            break;
    return name ? i : lb->n_models;
}

/* A metric object {"value", "ci95", "n"} (a percentage) into c as a fraction; null or
 * absent: n 0, mean NaN. */
static void read_metric(const json_t *o, struct lleval_ci *c)
{
    const json_t *ci = json_object_get(o, "ci95"), *n = json_object_get(o, "n");
    memset(c, 0, sizeof(*c));
    c->mean = num_or_nan(o, "value") / 100.0;
    c->lo = json_is_array(ci) ? json_number_value(json_array_get(ci, 0)) / 100.0 : NAN;
    c->hi = json_is_array(ci) ? json_number_value(json_array_get(ci, 1)) / 100.0 : NAN;
    c->resamples = json_is_array(ci) ? 1 : 0;
    c->n = json_is_integer(n) && json_integer_value(n) > 0 ? (uint64_t)json_integer_value(n) : 0;
}

void lleval_leaderboard_read(const json_t *doc, struct lleval_leaderboard *out)
{
    const json_t *lb = json_object_get(doc, "leaderboard");
    const json_t *models = json_object_get(lb, "models"), *pairs = json_object_get(lb, "pairs");
    const json_t *m;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!json_is_array(models) || !json_array_size(models))
        return;
    out->models = lleval_xcalloc(json_array_size(models), sizeof(*out->models));
    json_array_foreach(models, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "model"));
        struct lleval_lb_model *x = &out->models[out->n_models];
        if (!name)
            continue; /* not a model entry: left out */
        x->model = lleval_xstrdup(name);
        read_metric(json_object_get(m, "correct"), &x->correct);
        read_metric(json_object_get(m, "f1"), &x->f1);
        read_metric(json_object_get(m, "contains"), &x->contains);
        out->n_models++;
    }
    if (!json_is_array(pairs) || !json_array_size(pairs))
        return;
    out->pairs = lleval_xcalloc(json_array_size(pairs), sizeof(*out->pairs));
    json_array_foreach(pairs, i, m)
    {
        struct lleval_lb_pair *p = &out->pairs[out->n_pairs];
        const json_t *n = json_object_get(m, "n");
        p->a = find_model(out, m, "a");
        p->b = find_model(out, m, "b");
        if (p->a >= out->n_models || p->b >= out->n_models)
            continue; /* names no model of the list */
        p->n = json_is_integer(n) && json_integer_value(n) > 0 ? (size_t)json_integer_value(n) : 0;
        p->a_only = (long)json_integer_value(json_object_get(m, "a_only"));
        p->b_only = (long)json_integer_value(json_object_get(m, "b_only"));
        p->mcnemar_p = num_or_nan(m, "mcnemar_p");
        out->n_pairs++;
    }
}
