/*
 * The comparison page's flipped items from each run's results/items.jsonl
 * (issue 13: one parse per record per step): for a comparison read from
 * items.jsonl (lleval_compare_runs() in lib/score/compare_items.c), a second
 * reading of the file that scans only the lines of the flipped items the page
 * shows (at most its limit each way) and keeps their texts, question and gold
 * answers as the page's rows, instead of scoring predictions.csv again
 * against the prepared items (lleval_report_xrows_load() in explorer.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/compare.h"
#include "lleval/score/items.h"
#include "lleval/util/util.h"
#include "report_int.h"

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

int lleval_report_cmp_flips(const struct lleval_compare_run *r,
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
        it = lleval_item_scores_find(&r->items, res->flips[k].custom_id);
        if (it)
            p.lines[p.n_lines++] = r->lines[it - r->items.items];
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
