/*
 * Two runs' items for a comparison (`lleval runs compare A B` and the page of
 * `lleval report A B`, issue 13: one parse per record per step): each run's
 * results/items.jsonl, the score step's verdicts read by the fast reader
 * (lleval_items_each_fast), instead of scoring predictions.csv again, which
 * holds the run's gold set and prepared items. A run whose items.jsonl cannot
 * be trusted to be what scoring again gives, and a comparison whose F1
 * figures could show otherwise, are scored again (lib/score/compare.c), so
 * the output is the same bytes either way; see compare.h for when.
 *
 * Per item the reading keeps what lleval_compare_items() pairs (custom_id,
 * verdict, EM, F1, contains), a hash of what the scorer's F1 came from and
 * its line, so the page can read only the lines of the flipped items it
 * shows (lib/report/compare_flips.c). For F1 to the last bit (`runs compare
 * --json`), each F1 other than 0 and 1 is computed again from the item's
 * answer and golds in items.jsonl (the metric without the prepared data),
 * and kept only when it prints as items.jsonl has it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/score/compare.h"
#include "lleval/score/extract.h"
#include "lleval/score/items.h"
#include "lleval/score/metrics.h"
#include "lleval/score/scores.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "score_int.h"

/* A dataset's normalization, from its prepared info file: NFD first (NQ-open). */
struct scheme {
    char *dataset;
    int nfd; /* 1, 0, or -1: not a QA dataset lleval can score again here */
};

struct pass1 {
    bool exact; /* F1 to the last bit: each one other than 0 or 1 computed again */
    const char *prepared_dir;
    /* per item in file order: the record, a hash of its scoring inputs, its line */
    struct lleval_item_rec *items;
    uint64_t *keys;
    long *lines;
    size_t n, cap;
    struct scheme *schemes;
    size_t n_schemes, cap_schemes;
    struct lleval_norm pred, *golds;
    size_t cap_golds;
};

static uint64_t mix(uint64_t h, const char *s)
{
    return (h ^ lleval_hash64(s)) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
}

static int nfd_of(struct pass1 *p, const char *dataset)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    enum lleval_scoring sc;
    json_t *info;
    struct scheme *s;
    for (size_t i = p->n_schemes; i-- > 0;)
        if (!strcmp(p->schemes[i].dataset, dataset))
            return p->schemes[i].nfd;
    LLEVAL_GROW(p->schemes, p->n_schemes, p->cap_schemes);
    s = &p->schemes[p->n_schemes++];
    s->dataset = lleval_xstrdup(dataset);
    info = lleval_prepared_info(p->prepared_dir, dataset, &e);
    s->nfd = !info || lleval_scoring_parse(lleval_json_str(info, "scoring"), &sc) ||
                     sc == LLEVAL_SCORING_MC
                 ? -1
                 : sc == LLEVAL_SCORING_NQ;
    json_decref(info);
    return s->nfd;
}

/*
 * The scorer's F1 of r to the last bit (items.jsonl has 15 digits): its
 * extracted answer against its golds, normalized as its dataset's prepared
 * info says, as score.c scores it (an F1 other than 0 and 1 is no
 * abstention and no SQuAD 2.0 "no answer"). 0, or 1 when it cannot be, or
 * the value does not print as items.jsonl has it: then scoring again.
 */
static int exact_f1(struct pass1 *p, const struct lleval_item_row *r, double *out)
{
    struct lleval_qa_score sc;
    size_t n = r->n_gold < GOLD_MAX_STRINGS ? r->n_gold : GOLD_MAX_STRINGS;
    char want[32], got[32];
    int nfd = nfd_of(p, r->dataset);
    if (nfd < 0 || !n)
        return 1;
    if (n > p->cap_golds) {
        p->golds = lleval_xrealloc(p->golds, n * sizeof(*p->golds));
        for (size_t i = p->cap_golds; i < n; i++)
            lleval_norm_init(&p->golds[i]);
        p->cap_golds = n;
    }
    lleval_norm_set(&p->pred, r->answer, strlen(r->answer), nfd);
    for (size_t i = 0; i < n; i++)
        lleval_norm_set(&p->golds[i], r->gold[i], strlen(r->gold[i]), nfd);
    lleval_qa_score(&p->pred, p->golds, n, &sc);
    snprintf(want, sizeof(want), "%.15g", r->f1);
    snprintf(got, sizeof(got), "%.15g", sc.f1);
    if (strcmp(want, got))
        return 1;
    *out = sc.f1;
    return 0;
}

static int on_item(const struct lleval_item_row *r, void *ud)
{
    struct pass1 *p = ud;
    struct lleval_item_rec *c;
    uint64_t key = mix(0, r->type);
    double f1 = r->f1;
    if (p->exact && !r->mc && !isnan(f1) && f1 != 0.0 && f1 != 1.0 && exact_f1(p, r, &f1))
        return 1; /* not to the last bit: scoring again is the way, read no further */
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->items = lleval_xrealloc(p->items, p->cap * sizeof(*p->items));
        p->keys = lleval_xrealloc(p->keys, p->cap * sizeof(*p->keys));
        p->lines = lleval_xrealloc(p->lines, p->cap * sizeof(*p->lines));
    }
    c = &p->items[p->n];
    c->custom_id = lleval_xstrdup(r->custom_id);
    c->sample = r->sample;
    c->ok = r->ok;
    c->mc = r->mc;
    /* the scorer's record has 0 where items.jsonl has null (multiple choice) */
    c->em = r->mc || isnan(r->em) ? 0 : r->em;
    c->f1 = r->mc || isnan(f1) ? 0 : f1;
    c->contains = r->mc || isnan(r->contains) ? 0 : r->contains;
    c->correct = r->correct;
    /* the same answer to the same golds has the same F1, to the last bit */
    key = mix(key, r->ok ? r->answer : "\x01");
    for (size_t i = 0; i < r->n_gold; i++)
        key = mix(key, r->gold[i]);
    p->keys[p->n] = key;
    p->lines[p->n] = r->line;
    p->n++;
    return 0;
}

static void pass1_reset(void *ud)
{
    struct pass1 *p = ud;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].custom_id);
    p->n = 0;
}

static int cmp_rec_ptr(const void *a, const void *b)
{
    return strcmp((*(const struct lleval_item_rec *const *)a)->custom_id,
                  (*(const struct lleval_item_rec *const *)b)->custom_id);
}

/* Sorts p's items by custom_id, keys and lines in step, in place: the order
 * is found on pointers, then each cycle of it is moved (the three arrays are
 * never copied whole: memory stays at one copy of the records). */
static void sort_items(struct pass1 *p)
{
    const struct lleval_item_rec **by = lleval_xmalloc((p->n ? p->n : 1) * sizeof(*by));
    size_t *from;
    for (size_t i = 0; i < p->n; i++)
        by[i] = &p->items[i];
    if (p->n)
        qsort((void *)by, p->n, sizeof(*by), cmp_rec_ptr);
    from = lleval_xmalloc((p->n ? p->n : 1) * sizeof(*from));
    for (size_t i = 0; i < p->n; i++)
        from[i] = (size_t)(by[i] - p->items); /* position i gets item from[i] */
    free((void *)by);
    for (size_t i = 0; i < p->n; i++) {
        struct lleval_item_rec t;
        uint64_t tk;
        long tl;
        size_t j = i;
        if (from[i] == i)
            continue;
        t = p->items[i];
        tk = p->keys[i];
        tl = p->lines[i];
        while (from[j] != i) {
            size_t k = from[j];
            p->items[j] = p->items[k];
            p->keys[j] = p->keys[k];
            p->lines[j] = p->lines[k];
            from[j] = j;
            j = k;
        }
        p->items[j] = t;
        p->keys[j] = tk;
        p->lines[j] = tl;
        from[j] = j;
    }
    free(from);
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

/*
 * Whether items.jsonl is not older than the run's predictions.csv: a
 * predictions.csv parsed again (or edited) after the score step is scored
 * again. The same time is not older (a coarse clock gives a small run's
 * parse and score the same tick); a time that cannot be read is.
 * The prepared files are not checked so: every run that reads a whole
 * dataset writes them again (lleval_dataset_prepare_run), so they are newer
 * than every run's items.jsonl but the last; scores.json's prepared_dir is
 * what ties the items to them.
 */
static bool items_fresh(const char *items_path, const char *pred)
{
    int64_t items, t;
    return !lleval_file_mtime(items_path, &items) && !lleval_file_mtime(pred, &t) && t <= items;
}

int lleval_compare_run_load_items(struct lleval_compare_run *r, const char *runs_dir,
                                  const char *id, bool exact)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    char *cfg_path, *pred = NULL;
    struct pass1 p;
    int rc = 1;

    memset(r, 0, sizeof(*r));
    memset(&p, 0, sizeof(p));
    p.exact = exact;
    lleval_norm_init(&p.pred);
    r->dir = lleval_run_dir(runs_dir, id, &e);
    if (!r->dir || !lleval_is_dir(r->dir)) {
        lleval_compare_run_release(r);
        return 1;
    }
    cfg_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_CONFIG);
    lleval_config_init(&r->cfg);
    r->cfg_loaded = true;
    if (lleval_config_load_file(&r->cfg, cfg_path, &e))
        goto out;
    pred = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_PREDICTIONS);
    r->items_path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_ITEMS_JSONL);
    /* without its prepared data the run cannot be scored again: scoring
     * again says so, rather than verdicts that could not be checked */
    if (!lleval_path_exists(pred) || !lleval_path_exists(r->items_path) || !r->cfg.prepared_dir ||
        !lleval_is_dir(r->cfg.prepared_dir) || !items_fresh(r->items_path, pred))
        goto out;
    p.prepared_dir = r->cfg.prepared_dir;
    if (lleval_items_each_fast(r->items_path, on_item, pass1_reset, &p, &e))
        goto out;
    if (!scores_match(r->dir, &r->cfg, p.n))
        goto out;
    sort_items(&p);
    for (size_t i = 1; i < p.n; i++)
        if (!strcmp(p.items[i - 1].custom_id, p.items[i].custom_id))
            goto out; /* a custom_id twice: not what the score step writes */
    if (!p.items) {   /* no item: the arrays are still never NULL */
        p.items = lleval_xcalloc(1, sizeof(*p.items));
        p.keys = lleval_xcalloc(1, sizeof(*p.keys));
        p.lines = lleval_xcalloc(1, sizeof(*p.lines));
    }
    r->items.items = p.items;
    r->keys = p.keys;
    r->lines = p.lines;
    r->items.n = p.n;
    r->f1_exact = exact;
    p.items = NULL;
    p.keys = NULL;
    p.lines = NULL;
    p.n = 0;
    rc = 0;
out:
    pass1_reset(&p);
    free(p.items);
    free(p.keys);
    free(p.lines);
    for (size_t i = 0; i < p.n_schemes; i++)
        free(p.schemes[i].dataset);
    free(p.schemes);
    lleval_norm_release(&p.pred);
    for (size_t i = 0; i < p.cap_golds; i++)
        lleval_norm_release(&p.golds[i]);
    free(p.golds);
    free(cfg_path);
    free(pred);
    if (rc)
        lleval_compare_run_release(r);
    return rc;
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

bool lleval_compare_same_figures(const struct lleval_compare_run *a,
                                 const struct lleval_compare_run *b,
                                 const struct lleval_compare_result *res, bool exact)
{
    const struct lleval_item_scores *x = &a->items, *y = &b->items;
    struct unsure *u = lleval_xcalloc(res->n_groups ? res->n_groups : 1, sizeof(*u));
    /* the same answer to the same golds has the same F1 when the golds come
     * from the same prepared data: both runs' (each not older than it) */
    bool keys = a->keys && b->keys && a->cfg.prepared_dir && b->cfg.prepared_dir &&
                !strcmp(a->cfg.prepared_dir, b->cfg.prepared_dir);
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
        bool ua = !a->f1_exact && !f1_exact(p->f1), ub = !b->f1_exact && !f1_exact(q->f1);
        if (!p->mc && (ua || ub)) {
            char key[512];
            size_t k = last;
            lleval_compare_group_key(p->custom_id, key, sizeof(key));
            if (k >= res->n_groups || strcmp(res->groups[k].key, key))
                for (k = 0; k < res->n_groups && strcmp(res->groups[k].key, key); k++)
                    ;
            if (k < res->n_groups) {
                last = k;
                u[k].a += ua;
                u[k].b += ub;
                /* both rounded alike from the same F1: a difference of exactly 0 */
                u[k].pairs += !(ua && ub && keys && a->keys[i] == b->keys[j]);
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
        if (exact) {
            /* to the last bit: only from the same values, or differences of
             * exactly zero (the same answer to the same golds) */
            same = !u[k].a && !u[k].b && !u[k].pairs;
            continue;
        }
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

/* ---- two runs ------------------------------------------------------------------ */

void lleval_compare_req_init(struct lleval_compare_req *q)
{
    memset(q, 0, sizeof(*q));
    q->bootstrap = -1;
    q->seed = -1;
}

/* Loads both sides (from items.jsonl when `items`, each F1 to the last bit
 * when `exact`) and compares them; the errors of scoring again, in the order
 * `runs compare` always gave them. */
static int load_and_compare(const char *runs_dir, const struct lleval_compare_req *q, bool items,
                            bool exact, struct lleval_comparison *c, struct lleval_err *err)
{
    struct lleval_score_opts so;
    int rc;
    if (items) {
        if (lleval_compare_run_load_items(&c->a, runs_dir, q->a, exact) ||
            lleval_compare_run_load_items(&c->b, runs_dir, q->b, exact))
            return 1;
    } else if ((rc = lleval_compare_run_load(&c->a, runs_dir, q->a, err)) ||
               (rc = lleval_compare_run_load(&c->b, runs_dir, q->b, err))) {
        return rc;
    }
    if ((q->model_a && (rc = lleval_compare_run_of_model(&c->a, q->model_a, err))) ||
        (q->model_b && (rc = lleval_compare_run_of_model(&c->b, q->model_b, err))))
        return rc;
    lleval_score_opts_from_config(&so, &c->a.cfg);
    if (q->bootstrap >= 0)
        so.bootstrap = q->bootstrap;
    if (q->seed >= 0)
        so.seed = (uint64_t)q->seed;
    return lleval_compare_items(&c->a.items, &c->b.items, so.bootstrap, so.seed, &c->res, err);
}

/* The comparison from items.jsonl: 0, or 1 when it could show other figures
 * than scoring again (c is then released). */
static int from_items(const char *runs_dir, const struct lleval_compare_req *q, bool exact,
                      struct lleval_comparison *c, bool *unsure)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    int rc = load_and_compare(runs_dir, q, true, exact, c, &e);
    *unsure = !rc && !lleval_compare_same_figures(&c->a, &c->b, &c->res, q->exact);
    if (!rc && !*unsure) {
        c->from_items = true;
        return 0;
    }
    lleval_comparison_release(c);
    return 1;
}

int lleval_compare_runs(const char *runs_dir, const struct lleval_compare_req *q,
                        struct lleval_comparison *c, struct lleval_err *err)
{
    bool unsure = false;
    memset(c, 0, sizeof(*c));
    /* to one decimal, items.jsonl's 15 digits are enough but near a rounding
     * boundary: there each F1 is computed again (rarely needed, it costs the
     * metric per item), and only what cannot be is scored again */
    if (!q->rescore && (!from_items(runs_dir, q, q->exact, c, &unsure) ||
                        (unsure && !q->exact && !from_items(runs_dir, q, true, c, &unsure))))
        return 0;
    return load_and_compare(runs_dir, q, false, false, c, err);
}

void lleval_comparison_release(struct lleval_comparison *c)
{
    lleval_compare_result_release(&c->res);
    lleval_compare_run_release(&c->a);
    lleval_compare_run_release(&c->b);
    c->from_items = false;
}
