/*
 * Two runs compared item by item (the guide's compare_runs): pairing by
 * custom_id, per-group paired bootstrap intervals, McNemar's exact test and
 * the flipped items. `lleval runs compare` prints what this computes. See
 * include/lleval/score/compare.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/score/compare.h"
#include "lleval/util/util.h"

/* A group's paired outcomes while the items are merged. */
struct pairs {
    double *a_main, *b_main; /* EM (QA) or accuracy (MC) */
    double *a_f1, *b_f1;
    size_t n, cap;
};

static size_t find_group(struct lleval_compare_result *r, struct pairs **ps, size_t *cap,
                         const char *key, bool mc)
{
    size_t k;
    for (k = 0; k < r->n_groups; k++)
        if (!strcmp(r->groups[k].key, key))
            return k;
    if (r->n_groups + 1 > *cap) {
        *cap = *cap ? *cap * 2 : 8;
        r->groups = lleval_xrealloc(r->groups, *cap * sizeof(*r->groups));
        *ps = lleval_xrealloc(*ps, *cap * sizeof(**ps));
    }
    memset(&r->groups[k], 0, sizeof(r->groups[k]));
    memset(&(*ps)[k], 0, sizeof((*ps)[k]));
    r->groups[k].key = lleval_xstrdup(key);
    r->groups[k].mc = mc;
    r->n_groups++;
    return k;
}

static void push(struct pairs *g, double am, double bm, double af, double bf)
{
    if (g->n + 1 > g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->a_main = lleval_xrealloc(g->a_main, g->cap * sizeof(double));
        g->b_main = lleval_xrealloc(g->b_main, g->cap * sizeof(double));
        g->a_f1 = lleval_xrealloc(g->a_f1, g->cap * sizeof(double));
        g->b_f1 = lleval_xrealloc(g->b_f1, g->cap * sizeof(double));
    }
    g->a_main[g->n] = am;
    g->b_main[g->n] = bm;
    g->a_f1[g->n] = af;
    g->b_f1[g->n] = bf;
    g->n++;
}

static double mean(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return n ? s / (double)n : NAN;
}

void lleval_compare_group_key(const char *custom_id, char *key, size_t size)
{
    struct lleval_cid cid;
    if (lleval_cid_decode(custom_id, &cid, NULL) == 0) {
        snprintf(key, size, "%s/%s/t%s", cid.dataset, cid.prompt_type, cid.temp);
        lleval_cid_release(&cid);
    } else {
        snprintf(key, size, "(other)");
    }
}

static void add_flip(struct lleval_compare_result *r, size_t *cap, const char *custom_id,
                     bool a_right)
{
    LLEVAL_GROW(r->flips, r->n_flips, *cap);
    r->flips[r->n_flips].custom_id = lleval_xstrdup(custom_id);
    r->flips[r->n_flips].a_right = a_right;
    r->n_flips++;
}

int lleval_compare_items(const struct lleval_item_scores *a, const struct lleval_item_scores *b,
                         long bootstrap, uint64_t seed, struct lleval_compare_result *out,
                         struct lleval_err *err)
{
    struct pairs *ps = NULL;
    size_t gcap = 0, fcap = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->bootstrap = bootstrap;
    /* both lists are sorted by custom_id: merge them */
    for (size_t i = 0, j = 0; i < a->n || j < b->n;) {
        int c = i >= a->n   ? 1
                : j >= b->n ? -1
                            : strcmp(a->items[i].custom_id, b->items[j].custom_id);
        if (c < 0) {
            out->only_a++;
            i++;
        } else if (c > 0) {
            out->only_b++;
            j++;
        } else {
            const struct lleval_item_rec *x = &a->items[i], *y = &b->items[j];
            char key[512];
            size_t k;
            lleval_compare_group_key(x->custom_id, key, sizeof(key));
            k = find_group(out, &ps, &gcap, key, x->mc);
            push(&ps[k], x->correct ? 1 : 0, y->correct ? 1 : 0, x->f1, y->f1);
            if (x->correct != y->correct) {
                if (x->correct)
                    out->groups[k].a_only_right++;
                else
                    out->groups[k].b_only_right++;
                add_flip(out, &fcap, x->custom_id, x->correct);
            }
            out->paired++;
            i++;
            j++;
        }
    }
    for (size_t k = 0; k < out->n_groups; k++) {
        struct lleval_compare_group *g = &out->groups[k];
        const struct pairs *p = &ps[k];
        uint64_t s1 = lleval_seed_derive(seed, g->key);
        g->n = p->n;
        g->a_main = mean(p->a_main, p->n);
        g->b_main = mean(p->b_main, p->n);
        g->a_f1 = mean(p->a_f1, p->n);
        g->b_f1 = mean(p->b_f1, p->n);
        if ((rc = lleval_bootstrap_paired_diff(p->b_main, p->a_main, p->n, bootstrap, s1,
                                               &g->diff_main, err)) ||
            (rc = lleval_bootstrap_paired_diff(p->b_f1, p->a_f1, p->n, bootstrap, s1 + 1,
                                               &g->diff_f1, err)))
            break;
        g->mcnemar_p = lleval_mcnemar_exact(g->a_only_right, g->b_only_right);
    }
    for (size_t k = 0; k < out->n_groups; k++) {
        free(ps[k].a_main);
        free(ps[k].b_main);
        free(ps[k].a_f1);
        free(ps[k].b_f1);
    }
    free(ps);
    if (rc)
        lleval_compare_result_release(out);
    return rc;
}

void lleval_compare_result_release(struct lleval_compare_result *r)
{
    for (size_t k = 0; k < r->n_groups; k++)
        free(r->groups[k].key);
    free(r->groups);
    for (size_t k = 0; k < r->n_flips; k++)
        free(r->flips[k].custom_id);
    free(r->flips);
    memset(r, 0, sizeof(*r));
}

int lleval_compare_run_load(struct lleval_compare_run *r, const char *runs_dir, const char *id,
                            struct lleval_err *err)
{
    char *cfg_path, *pred;
    struct lleval_score_opts so;
    int rc;

    memset(r, 0, sizeof(*r));
    r->dir = lleval_run_dir(runs_dir, id, err);
    if (!r->dir)
        return err->code;
    if (!lleval_is_dir(r->dir))
        return lleval_err_set(err, LLEVAL_EINVAL, "no run '%s' in '%s': see `lleval runs list`", id,
                              runs_dir);
    cfg_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_CONFIG);
    lleval_config_init(&r->cfg);
    r->cfg_loaded = true;
    rc = lleval_config_load_file(&r->cfg, cfg_path, err);
    free(cfg_path);
    if (rc)
        return rc;
    pred = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_PREDICTIONS);
    if (!lleval_path_exists(pred)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s' has no predictions.csv yet: finish it with `lleval runs "
                            "resume %s`",
                            id, id);
        free(pred);
        return rc;
    }
    lleval_score_opts_from_config(&so, &r->cfg);
    rc = lleval_item_scores_load(pred, r->cfg.prepared_dir, &so, &r->items, err);
    free(pred);
    if (rc)
        lleval_err_prefix(err, "run '%s'", id);
    return rc;
}

void lleval_compare_run_release(struct lleval_compare_run *r)
{
    free(r->dir);
    if (r->cfg_loaded)
        lleval_config_release(&r->cfg);
    lleval_item_scores_release(&r->items);
    free(r->keys);
    free(r->lines);
    free(r->items_path);
    memset(r, 0, sizeof(*r));
}

/* lleval_item_scores_of_model(); from (may be NULL) gets, per item kept, its
 * index in all (owned, NULL when none is kept). */
static int of_model(const struct lleval_item_scores *all, const char *model,
                    struct lleval_item_scores *out, size_t **from, struct lleval_err *err)
{
    char *prefix = lleval_model_folder(model);
    size_t len = strlen(prefix);
    memset(out, 0, sizeof(*out));
    out->items = lleval_xcalloc(all->n ? all->n : 1, sizeof(*out->items));
    if (from)
        *from = lleval_xcalloc(all->n ? all->n : 1, sizeof(**from));
    for (size_t i = 0; i < all->n; i++) {
        const struct lleval_item_rec *it = &all->items[i];
        if (strncmp(it->custom_id, prefix, len) || it->custom_id[len] != ':')
            continue;
        if (from)
            (*from)[out->n] = i;
        out->items[out->n] = *it;
        out->items[out->n++].custom_id = lleval_xstrdup(it->custom_id + len + 1);
    }
    free(prefix);
    if (!out->n) {
        lleval_item_scores_release(out);
        if (from) {
            free(*from);
            *from = NULL;
        }
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no scored item of model '%s' in this run: give one of the models "
                              "of its model_id (`lleval runs list` shows them)",
                              model);
    }
    return 0;
}

int lleval_item_scores_of_model(const struct lleval_item_scores *all, const char *model,
                                struct lleval_item_scores *out, struct lleval_err *err)
{
    return of_model(all, model, out, NULL, err);
}

int lleval_compare_run_of_model(struct lleval_compare_run *r, const char *model,
                                struct lleval_err *err)
{
    struct lleval_item_scores mine;
    size_t *from = NULL;
    int rc = of_model(&r->items, model, &mine, r->keys ? &from : NULL, err);
    if (rc)
        return lleval_err_prefix(err, "run '%s'", r->dir);
    /* the items' keys and lines in step (from[k] >= k: moved down in place) */
    for (size_t k = 0; r->keys && k < mine.n; k++) {
        r->keys[k] = r->keys[from[k]];
        r->lines[k] = r->lines[from[k]];
    }
    free(from);
    lleval_item_scores_release(&r->items);
    r->items = mine;
    return 0;
}
