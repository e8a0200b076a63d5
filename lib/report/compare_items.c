/*
 * The comparison page's items from each run's results/items.jsonl (issue 13:
 * one parse per record per step): the score step's verdicts read by the fast
 * reader (lleval_items_each_fast), instead of scoring predictions.csv again
 * twice per run (once for the statistics, once for the flipped items' rows),
 * which held each run's gold set and every prepared item as a JSON tree. See
 * compare_int.h for when a run's items.jsonl is used and when the page falls
 * back to scoring again.
 *
 * The first pass keeps per item what lib/score/compare.c pairs (custom_id,
 * verdict, EM, F1, contains), a hash of what the scorer's F1 came from and
 * its line; a second pass reads only the lines of the flipped items the page
 * shows (at most its limit each way) and keeps their texts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare_int.h"
#include "lleval/platform/fs.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/score/extract.h"
#include "lleval/score/items.h"
#include "lleval/score/scores.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* An item as the first pass keeps it: the record and its scoring inputs' hash. */
struct crec {
    struct lleval_item_rec rec;
    uint64_t key;
    long line; /* in items.jsonl */
};

struct pass1 {
    struct crec *v;
    size_t n, cap;
};

static uint64_t mix(uint64_t h, const char *s)
{
    return (h ^ lleval_hash64(s)) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
}

static int on_item(const struct lleval_item_row *r, void *ud)
{
    struct pass1 *p = ud;
    struct crec *c;
    uint64_t key = mix(0, r->type);
    LLEVAL_GROW(p->v, p->n, p->cap);
    c = &p->v[p->n++];
    c->rec.custom_id = lleval_xstrdup(r->custom_id);
    c->rec.sample = r->sample;
    c->rec.ok = r->ok;
    c->rec.mc = r->mc;
    /* the scorer's record has 0 where items.jsonl has null (multiple choice) */
    c->rec.em = r->mc || isnan(r->em) ? 0 : r->em;
    c->rec.f1 = r->mc || isnan(r->f1) ? 0 : r->f1;
    c->rec.contains = r->mc || isnan(r->contains) ? 0 : r->contains;
    c->rec.correct = r->correct;
    /* the same answer to the same golds has the same F1, to the last bit */
    key = mix(key, r->ok ? r->answer : "\x01");
    for (size_t i = 0; i < r->n_gold; i++)
        key = mix(key, r->gold[i]);
    c->key = key;
    c->line = r->line;
    return 0;
}

static void pass1_reset(void *ud)
{
    struct pass1 *p = ud;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].rec.custom_id);
    p->n = 0;
}

static int cmp_crec(const void *a, const void *b)
{
    return strcmp(((const struct crec *)a)->rec.custom_id, ((const struct crec *)b)->rec.custom_id);
}

/* Whether the run's scores.json says items.jsonl holds every row of its
 * predictions.csv, each once, scored with the options the page would use. */
static bool scores_match(const char *dir, const struct lleval_config *cfg, size_t n_items)
{
    char *path = lleval_run_file_path(dir, LLEVAL_RUN_FILE_SCORES);
    struct lleval_scores s;
    struct lleval_score_opts so;
    struct lleval_err e = LLEVAL_ERR_INIT;
    bool ok;
    lleval_score_opts_init(&so);
    lleval_score_opts_from_config(&so, cfg);
    ok = !lleval_scores_load(path, &s, &e) && !s.squad_json && s.rows >= 0 &&
         (size_t)s.rows == n_items && s.scored == s.rows && !s.unknown && !s.duplicates &&
         s.answer_extraction && !strcmp(s.answer_extraction, lleval_extract_name(so.extraction)) &&
         s.strip_think == so.strip_think && s.prepared_dir && cfg->prepared_dir &&
         !strcmp(s.prepared_dir, cfg->prepared_dir);
    lleval_scores_release(&s);
    free(path);
    return ok;
}

int lleval_report_cmp_load(struct lleval_report_cmp_run *r, const char *runs_dir, const char *id)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    char *cfg_path, *pred = NULL;
    struct pass1 p;
    int rc = 1;

    memset(r, 0, sizeof(*r));
    memset(&p, 0, sizeof(p));
    r->run.dir = lleval_run_dir(runs_dir, id, &e);
    if (!r->run.dir || !lleval_is_dir(r->run.dir))
        return 1;
    cfg_path = lleval_run_file_path(r->run.dir, LLEVAL_RUN_FILE_CONFIG);
    lleval_config_init(&r->run.cfg);
    r->run.cfg_loaded = true;
    if (lleval_config_load_file(&r->run.cfg, cfg_path, &e))
        goto out;
    pred = lleval_run_file_path(r->run.dir, LLEVAL_RUN_FILE_PREDICTIONS);
    r->items_path = lleval_run_file_path(r->run.dir, LLEVAL_RUN_FILE_ITEMS_JSONL);
    /* without its prepared data the run cannot be scored again: the page
     * says so as before, rather than showing verdicts it could not check */
    if (!lleval_path_exists(pred) || !lleval_path_exists(r->items_path) ||
        !r->run.cfg.prepared_dir || !lleval_is_dir(r->run.cfg.prepared_dir))
        goto out;
    if (lleval_items_each_fast(r->items_path, on_item, pass1_reset, &p, &e))
        goto out;
    if (!scores_match(r->run.dir, &r->run.cfg, p.n))
        goto out;
    if (p.n)
        qsort(p.v, p.n, sizeof(*p.v), cmp_crec);
    for (size_t i = 1; i < p.n; i++)
        if (!strcmp(p.v[i - 1].rec.custom_id, p.v[i].rec.custom_id))
            goto out; /* a custom_id twice: not what the score step writes */
    r->run.items.items = lleval_xcalloc(p.n ? p.n : 1, sizeof(*r->run.items.items));
    r->keys = lleval_xcalloc(p.n ? p.n : 1, sizeof(*r->keys));
    r->lines = lleval_xcalloc(p.n ? p.n : 1, sizeof(*r->lines));
    for (size_t i = 0; i < p.n; i++) {
        r->run.items.items[i] = p.v[i].rec;
        r->keys[i] = p.v[i].key;
        r->lines[i] = p.v[i].line;
    }
    r->run.items.n = p.n;
    p.n = 0;
    rc = 0;
out:
    pass1_reset(&p);
    free(p.v);
    free(cfg_path);
    free(pred);
    return rc;
}

void lleval_report_cmp_release(struct lleval_report_cmp_run *r)
{
    lleval_compare_run_release(&r->run);
    free(r->keys);
    free(r->lines);
    free(r->items_path);
    memset(r, 0, sizeof(*r));
}

/* ---- the same bytes as scoring again ---------------------------------------- */

/* What a group's F1 figures may be off by: the items whose F1 items.jsonl
 * holds to 15 digits only (all but 0 and 1). */
struct unsure {
    size_t a, b, pairs; /* A's values, B's values, pairs whose difference is unsure */
};

static bool f1_exact(double v)
{
    return v == 0.0 || v == 1.0;
}

/* Whether fmt prints 100 * v the same for every value within d of v. */
static bool prints_same(const char *fmt, double v, double d)
{
    char lo[64], mid[64], hi[64];
    if (isnan(v))
        return true;
    snprintf(lo, sizeof(lo), fmt, 100.0 * (v - d));
    snprintf(mid, sizeof(mid), fmt, 100.0 * v);
    snprintf(hi, sizeof(hi), fmt, 100.0 * (v + d));
    return !strcmp(lo, mid) && !strcmp(mid, hi);
}

bool lleval_report_cmp_same_bytes(const struct lleval_report_cmp_run *a,
                                  const struct lleval_report_cmp_run *b,
                                  const struct lleval_compare_result *res)
{
    const struct lleval_item_scores *x = &a->run.items, *y = &b->run.items;
    struct unsure *u = lleval_xcalloc(res->n_groups ? res->n_groups : 1, sizeof(*u));
    bool same = true;
    size_t last = 0;

    /* the pairs as lleval_compare_items() merges them */
    for (size_t i = 0, j = 0; i < x->n && j < y->n;) {
        const struct lleval_item_rec *p = &x->items[i], *q = &y->items[j];
        int c = strcmp(p->custom_id, q->custom_id);
        if (c) {
            i += c < 0;
            j += c > 0;
            continue;
        }
        if (!p->mc && (!f1_exact(p->f1) || !f1_exact(q->f1))) {
            char key[512];
            size_t k = last;
            lleval_compare_group_key(p->custom_id, key, sizeof(key));
            if (k >= res->n_groups || strcmp(res->groups[k].key, key))
                for (k = 0; k < res->n_groups && strcmp(res->groups[k].key, key); k++)
                    ;
            if (k < res->n_groups) {
                last = k;
                u[k].a += !f1_exact(p->f1);
                u[k].b += !f1_exact(q->f1);
                u[k].pairs += a->keys[i] != b->keys[j];
            }
        }
        i++;
        j++;
    }
    for (size_t k = 0; k < res->n_groups && same; k++) {
        const struct lleval_compare_group *g = &res->groups[k];
        /* Each unsure F1 is within 6e-16 of the scorer's (15 digits, then
         * rounded to a double); a mean or a resample's mean of n values is
         * then within that plus the two sums' rounding (n ulps of n), and an
         * interval's end, between two resamples, within three times it. */
        double d = 4 * (6e-16 + 4.5e-16 * (double)g->n);
        if (g->mc)
            continue;
        if (u[k].a && !prints_same("%.1f", g->a_f1, d))
            same = false;
        if (u[k].b && !prints_same("%.1f", g->b_f1, d))
            same = false;
        if (u[k].pairs &&
            (!prints_same("%+.1f", g->diff_f1.mean, d) || !prints_same("%+.1f", g->diff_f1.lo, d) ||
             !prints_same("%+.1f", g->diff_f1.hi, d)))
            same = false;
    }
    free(u);
    return same;
}

/* ---- the flipped items' rows --------------------------------------------------- */

struct pass2 {
    const struct lleval_compare_result *res;
    struct xrows *x;
    long *lines; /* the lines of the flips shown, ascending */
    size_t n_lines, next;
};

/* Whether a line holds a flip shown (asked in ascending order). */
static bool want_line(long line, void *ud)
{
    struct pass2 *p = ud;
    while (p->next < p->n_lines && p->lines[p->next] < line)
        p->next++;
    return p->next < p->n_lines && p->lines[p->next] == line;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static int cmp_flip(const void *key, const void *f)
{
    return strcmp(key, ((const struct lleval_compare_flip *)f)->custom_id);
}

static int on_flip_item(const struct lleval_item_row *r, void *ud)
{
    struct pass2 *p = ud;
    struct xrow *w;
    json_t *item, *golds;
    if (!p->res->n_flips ||
        !bsearch(r->custom_id, p->res->flips, p->res->n_flips, sizeof(*p->res->flips), cmp_flip))
        return 0;
    if (json_object_get(p->x->by_cid, r->custom_id))
        return 0;
    LLEVAL_GROW(p->x->rows, p->x->n, p->x->cap);
    w = &p->x->rows[p->x->n];
    memset(w, 0, sizeof(*w));
    json_object_set_new(p->x->by_cid, r->custom_id, json_integer((json_int_t)p->x->n));
    p->x->n++;
    w->custom_id = lleval_xstrdup(r->custom_id);
    w->dataset = lleval_xstrdup(r->dataset);
    w->item_id = lleval_xstrdup(r->item_id);
    w->prompt = lleval_xstrdup(r->prompt_type);
    w->temp = lleval_xstrdup(r->temperature);
    w->sample = r->sample;
    w->verdict = !r->ok ? XV_ERROR : r->correct ? XV_RIGHT : XV_WRONG;
    w->mc = r->mc;
    w->f1 = r->mc ? NAN : r->f1;
    w->choice = r->mc && r->mc_letter >= 'A' && r->mc_letter <= 'Z' ? r->mc_letter - 'A' : -1;
    w->prediction = lleval_xstrdup(r->prediction);
    w->answer = lleval_xstrdup(r->answer);
    w->finish = lleval_xstrdup(r->finish_reason);
    w->error = lleval_xstrdup(r->error);
    w->latency_ms = r->latency_ms;
    w->tokens = r->completion_tokens;
    /* the question and golds as the prepared item has them, for lleval_report_golds() */
    item = json_object();
    json_object_set_new(item, "question", json_string(r->question));
    golds = json_array();
    for (size_t i = 0; i < r->n_gold; i++)
        json_array_append_new(golds, json_string(r->gold[i]));
    json_object_set_new(item, "answers", golds);
    if (r->mc) {
        json_t *choices = json_array();
        for (size_t i = 0; i < r->n_choices; i++)
            json_array_append_new(choices, json_string(r->choices[i]));
        json_object_set_new(item, "choices", choices);
    }
    json_object_set_new(p->x->golds, r->custom_id, item);
    w->item = item;
    return 0;
}

static void pass2_reset(void *ud)
{
    struct pass2 *p = ud;
    lleval_report_xrows_release(p->x);
    p->x->by_cid = json_object();
    p->x->golds = json_object();
}

int lleval_report_cmp_flips(const struct lleval_report_cmp_run *r,
                            const struct lleval_compare_result *res, size_t shown, struct xrows *x)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    struct pass2 p;
    size_t n_a = 0, n_b = 0;
    int rc = 0;
    memset(x, 0, sizeof(*x));
    memset(&p, 0, sizeof(p));
    p.res = res;
    p.x = x;
    x->by_cid = json_object();
    x->golds = json_object();
    if (!res->n_flips)
        goto out;
    /* the lines of the flips the page shows: the first `shown` each way */
    p.lines = lleval_xcalloc(res->n_flips, sizeof(*p.lines));
    for (size_t k = 0; k < res->n_flips; k++) {
        const struct lleval_item_rec *it;
        size_t *n = res->flips[k].a_right ? &n_a : &n_b;
        if (*n >= shown)
            continue;
        (*n)++;
        it = lleval_item_scores_find(&r->run.items, res->flips[k].custom_id);
        if (it)
            p.lines[p.n_lines++] = r->lines[it - r->run.items.items];
    }
    qsort(p.lines, p.n_lines, sizeof(*p.lines), cmp_long);
    if (lleval_items_each_fast_lines(r->items_path, want_line, on_flip_item, pass2_reset, &p, &e)) {
        lleval_report_xrows_release(x);
        rc = 1;
    }
out:
    free(p.lines);
    x->gold = !rc;
    return rc;
}
