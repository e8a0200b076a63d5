/*
 * Scoring: streams predictions.csv (or reads a SQuAD-style JSON object),
 * looks up each row's gold answers in the prepared datasets, scores it with
 * the dataset's metric, aggregates per dataset x prompt type x temperature
 * with bootstrap intervals, and writes scores.json through scores.c. See
 * include/lleval/score/score.h.
 *
 * Over 800 lines on purpose: one streaming pipeline (row -> gold -> metric ->
 * group) around one state struct; its fast path is measured as a whole by
 * bench/score, and splitting it would expose that state to other files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/predictions.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/run/batch.h"
#include "lleval/util/json.h"
#include "lleval/score/leaderboard.h"
#include "lleval/score/score.h"
#include "lleval/util/util.h"
#include "speeds.h"
#include "score_int.h"

/* ---- options ---- */

void lleval_score_opts_init(struct lleval_score_opts *o)
{
    o->extraction = LLEVAL_EXTRACT_NONE;
    o->strip_think = true;
    o->bootstrap = LLEVAL_BOOTSTRAP_DEFAULT;
    o->seed = 12345;
    o->truncation_warn = LLEVAL_TRUNCATION_WARN;
    o->limit_items = 0;
    o->results_jsonl = NULL;
    memset(o->abstain, 0, sizeof(o->abstain));
    snprintf(o->abstain[0], sizeof(o->abstain[0]), "%s", "unanswerable");
    o->n_abstain = 1;
}

void lleval_score_opts_from_config(struct lleval_score_opts *o, const struct lleval_config *cfg)
{
    enum lleval_extract e;
    lleval_score_opts_init(o);
    if (!cfg)
        return;
    if (cfg->answer_extraction && !lleval_extract_parse(cfg->answer_extraction, &e))
        o->extraction = e;
    o->strip_think = cfg->strip_think;
    if (cfg->bootstrap_samples >= 0 && cfg->bootstrap_samples <= LLEVAL_BOOTSTRAP_MAX)
        o->bootstrap = cfg->bootstrap_samples;
    o->seed = (uint64_t)cfg->bootstrap_seed;
    o->n_abstain = 0;
    for (size_t i = 0; i < cfg->n_abstain_phrases && o->n_abstain < LLEVAL_ABSTAIN_MAX; i++)
        if (cfg->abstain_phrases[i] && strlen(cfg->abstain_phrases[i]) < LLEVAL_ABSTAIN_LEN)
            snprintf(o->abstain[o->n_abstain++], LLEVAL_ABSTAIN_LEN, "%s", cfg->abstain_phrases[i]);
}

/* ---- accumulators ---- */

enum { FIN_STOP, FIN_LENGTH, FIN_ERROR, FIN_OTHER };

struct acc {
    struct gold_set *gold; /* borrowed from the scorer */
    char *model;           /* a run of several models: the model of the rows; NULL: one model */
    char *prompt_type;     /* NULL: all (SQuAD-JSON mode, overall rows) */
    char *temperature;
    double temp_value;
    long n, unknown, duplicates, errors, empty, unparseable;
    long fin[4];
    struct lleval_dist em, f1, contains, accuracy, latency, tps;
    struct lleval_squad2_eval v2; /* SQuAD 2.0 data: the HasAns / NoAns sums */
    long abstained;
    uint8_t **seen; /* per sample: bitset over the gold items */
    size_t n_seen;
};

static void acc_free(struct acc *a)
{
    if (!a)
        return;
    free(a->model);
    free(a->prompt_type);
    free(a->temperature);
    lleval_dist_release(&a->em);
    lleval_dist_release(&a->f1);
    lleval_dist_release(&a->contains);
    lleval_dist_release(&a->accuracy);
    lleval_dist_release(&a->latency);
    lleval_dist_release(&a->tps);
    for (size_t i = 0; i < a->n_seen; i++)
        free(a->seen[i]);
    free(a->seen);
    free(a);
}

/* Marks (sample, item) as seen; returns false when it already was. */
static bool acc_mark(struct acc *a, long sample, size_t item)
{
    size_t s = (size_t)sample;
    if (s >= a->n_seen) {
        a->seen = lleval_xrealloc(a->seen, (s + 1) * sizeof(*a->seen));
        memset(a->seen + a->n_seen, 0, (s + 1 - a->n_seen) * sizeof(*a->seen));
        a->n_seen = s + 1;
    }
    if (!a->seen[s])
        a->seen[s] = lleval_xcalloc(a->gold->n_items / 8 + 1, 1);
    if (a->seen[s][item / 8] & (1u << (item % 8)))
        return false;
    a->seen[s][item / 8] |= (uint8_t)(1u << (item % 8));
    return true;
}

/* The gold items without a row, per sample, among the items asked: the first
 * limit of them (a run's --limit_items; 0: all). */
static long acc_missing(const struct acc *a, long limit)
{
    size_t asked = limit > 0 && (size_t)limit < a->gold->n_items ? (size_t)limit : a->gold->n_items;
    long missing = 0;
    bool any = false;
    for (size_t s = 0; s < a->n_seen; s++) {
        long seen = 0;
        if (!a->seen[s])
            continue;
        any = true;
        for (size_t i = 0; i < asked; i++)
            seen += (a->seen[s][i / 8] >> (i % 8)) & 1;
        missing += (long)asked - seen;
    }
    return any ? missing : (long)asked;
}

/* ---- the scorer ---- */

/* String equality for the short cells compared on every row (dataset,
 * prompt type, temperature, finish reason): inline, no library call. */
static inline bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

#define MAX_SAMPLE 100000

struct scorer {
    struct lleval_norm *gviews; /* the current item's golds (views) */
    size_t cap_gviews;
    const char *prepared_dir;
    const char *path;
    struct lleval_score_opts o;
    struct gold_set **sets;
    size_t n_sets, cap_sets;
    struct acc **accs;
    size_t n_accs, cap_accs;
    struct acc *last;
    long rows, scored, unknown, duplicates;
    char *first_unknown, *first_duplicate;
    long first_unknown_line, first_duplicate_line;
    struct lleval_sb answer;
    struct lleval_norm pred;
    struct lleval_speeds *speeds; /* unrounded gen_tps by custom_id; NULL: the CSV's */
    char **models;                /* the models of a run of several, in the order their rows came */
    size_t n_models, cap_models;
    char *row_model; /* the current row's model (NULL: a custom_id without one) */
};

static void scorer_init(struct scorer *s, const char *prepared_dir, const char *path,
                        const struct lleval_score_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->prepared_dir = prepared_dir;
    s->path = path;
    if (o)
        s->o = *o;
    else
        lleval_score_opts_init(&s->o);
    lleval_sb_init(&s->answer, 0);
    lleval_norm_init(&s->pred);
    s->speeds = lleval_speeds_load(s->o.results_jsonl);
}

static void scorer_release(struct scorer *s)
{
    for (size_t i = 0; i < s->n_accs; i++)
        acc_free(s->accs[i]);
    for (size_t i = 0; i < s->n_sets; i++)
        lleval_gold_free(s->sets[i]);
    free(s->accs);
    free(s->sets);
    free(s->first_unknown);
    free(s->first_duplicate);
    lleval_sb_release(&s->answer);
    lleval_norm_release(&s->pred);
    free(s->gviews);
    lleval_speeds_free(s->speeds);
    for (size_t i = 0; i < s->n_models; i++)
        free(s->models[i]);
    free(s->models);
    free(s->row_model);
}

static int scorer_gold(struct scorer *s, const char *name, struct gold_set **out,
                       struct lleval_err *err)
{
    int rc;
    for (size_t i = 0; i < s->n_sets; i++) {
        if (!strcmp(s->sets[i]->name, name)) {
            *out = s->sets[i];
            return 0;
        }
    }
    rc = lleval_gold_load(s->prepared_dir, name, out, err);
    if (rc)
        return rc;
    LLEVAL_GROW(s->sets, s->n_sets, s->cap_sets);
    s->sets[s->n_sets++] = *out;
    return 0;
}

static bool model_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* The model a custom_id names ("<model>:<dataset>:..." in a run of several
 * models) into s->row_model, remembered in s->models; NULL for the usual id. */
static void scorer_row_model(struct scorer *s, const char *custom_id)
{
    struct lleval_cid c;
    size_t colons = 0;
    free(s->row_model);
    s->row_model = NULL;
    for (const char *p = custom_id; *p; p++)
        colons += *p == ':';
    if (colons != 5 || lleval_cid_decode(custom_id, &c, NULL))
        return;
    s->row_model = c.model;
    c.model = NULL;
    lleval_cid_release(&c);
    for (size_t i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i], s->row_model))
            return;
    LLEVAL_GROW(s->models, s->n_models, s->cap_models);
    s->models[s->n_models++] = lleval_xstrdup(s->row_model);
}

static struct acc *scorer_acc(struct scorer *s, struct gold_set *g, const char *prompt,
                              const char *temp, double temp_value)
{
    struct acc *a = s->last;
    if (a && a->gold == g && str_eq(a->prompt_type, prompt) && str_eq(a->temperature, temp) &&
        model_eq(a->model, s->row_model))
        return a;
    for (size_t i = 0; i < s->n_accs; i++) {
        a = s->accs[i];
        if (a->gold == g && !strcmp(a->prompt_type, prompt) && !strcmp(a->temperature, temp) &&
            model_eq(a->model, s->row_model))
            return s->last = a;
    }
    a = lleval_xcalloc(1, sizeof(*a));
    a->gold = g;
    a->model = s->row_model ? lleval_xstrdup(s->row_model) : NULL;
    a->prompt_type = lleval_xstrdup(prompt);
    a->temperature = lleval_xstrdup(temp);
    a->temp_value = temp_value;
    LLEVAL_GROW(s->accs, s->n_accs, s->cap_accs);
    s->accs[s->n_accs++] = a;
    return s->last = a;
}

/* Extracts and scores one answer of item it; fills the score fields of r.
 * abstain: a SQuAD 2.0 answer that abstains (scoring.abstain_phrases) is
 * scored as the empty answer, "no answer" (predictions.csv; the official
 * script's JSON input abstains with the empty string only). */
static void score_answer(struct scorer *s, const struct gold_set *g, const struct gold_item *it,
                         const char *text, size_t len, bool ok, bool abstain,
                         struct lleval_item_score *r)
{
    lleval_sb_reset(&s->answer);
    if (ok)
        lleval_extract_answer(text, len, s->o.extraction, s->o.strip_think, &s->answer);
    r->answer = s->answer.buf;
    r->scoring = g->scoring;
    r->em = r->f1 = r->contains = 0;
    r->choice = -1;
    r->correct = false;
    r->v2 = it->v2;
    r->no_ans = it->no_ans;
    r->abstained = false;
    if (!ok)
        return;
    if (g->scoring == LLEVAL_SCORING_MC) {
        r->choice =
            lleval_mc_extract(s->answer.buf, s->answer.len, g->choices + it->first, it->count);
        r->correct = r->choice >= 0 && r->choice == it->gold_choice;
        return;
    }
    struct lleval_qa_score sc;
    r->abstained = it->v2 && abstain && lleval_squad2_abstains(s->answer.buf, s->answer.len, &s->o);
    lleval_norm_set_unsorted(&s->pred, r->abstained ? "" : s->answer.buf,
                             r->abstained ? 0 : s->answer.len, g->scoring == LLEVAL_SCORING_NQ);
    if (it->count > s->cap_gviews) {
        s->cap_gviews = it->count;
        s->gviews = lleval_xrealloc(s->gviews, it->count * sizeof(*s->gviews));
    }
    lleval_gold_views(g, it->first, it->count, s->gviews);
    lleval_qa_score_unsorted(&s->pred, s->gviews, it->count, &sc);
    if (it->v2 && sc.em == 1.0 && !s->pred.n_toks)
        sc.f1 = 1.0; /* evaluate-v2.0: no answer for no answer has F1 1 (v1.1: 0) */
    r->em = sc.em;
    r->f1 = sc.f1;
    r->contains = sc.contains;
    r->correct = sc.em == 1.0;
}

/* Adds one scored row; fin is a FIN_* kind, or -1 when the input has none. */
static void acc_add(struct acc *a, const struct lleval_item_score *r, int fin, double latency,
                    double tps)
{
    a->n++;
    if (fin >= 0)
        a->fin[fin]++;
    if (!r->ok)
        a->errors++;
    else if (!r->answer[0])
        a->empty++;
    if (r->v2) {
        lleval_squad2_add(&a->v2.all, r->em, r->f1);
        lleval_squad2_add(r->no_ans ? &a->v2.no_ans : &a->v2.has_ans, r->em, r->f1);
        a->abstained += r->abstained;
    }
    if (a->gold->scoring == LLEVAL_SCORING_MC) {
        if (r->ok && r->choice < 0)
            a->unparseable++;
        lleval_dist_add(&a->accuracy, r->correct ? 1.0 : 0.0);
    } else {
        lleval_dist_add(&a->em, r->em);
        lleval_dist_add(&a->f1, r->f1);
        lleval_dist_add(&a->contains, r->contains);
    }
    if (r->ok && latency >= 0)
        lleval_dist_add(&a->latency, latency);
    if (r->ok && tps > 0)
        lleval_dist_add(&a->tps, tps);
}

/* A gold question without a prediction (SQuAD-JSON mode): scores 0 and counts. */
static void acc_add_missing(struct acc *a)
{
    a->n++;
    if (a->gold->scoring == LLEVAL_SCORING_MC) {
        lleval_dist_add(&a->accuracy, 0.0);
    } else {
        lleval_dist_add(&a->em, 0.0);
        lleval_dist_add(&a->f1, 0.0);
        lleval_dist_add(&a->contains, 0.0);
    }
}

/* ---- predictions.csv ---- */

/* The columns the scorer cannot do without; the others read as empty when absent. */
static const unsigned required_cols =
    LLEVAL_PRED_BIT(LLEVAL_PRED_CUSTOM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_DATASET) |
    LLEVAL_PRED_BIT(LLEVAL_PRED_ITEM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_PREDICTION);

static void note_first(char **first, long *first_line, const char *id, long line)
{
    if (*first)
        return;
    *first = lleval_xstrdup(id);
    *first_line = line;
}

static int finish_kind(const char *f)
{
    if (str_eq(f, "stop"))
        return FIN_STOP;
    if (str_eq(f, "length"))
        return FIN_LENGTH;
    if (str_eq(f, "error"))
        return FIN_ERROR;
    return FIN_OTHER;
}

/* A number cell: -1 when empty or not a number (the scorer never fails on facts). */
static double num_cell(const char *s)
{
    double v;
    if (!*s)
        return -1;
    if (lleval_pred_plain_number(s, &v))
        return v;
    if (lleval_parse_double(s, &v) || !isfinite(v))
        return -1;
    return v;
}

/* The sample column: plain digits read here, anything else by lleval_parse_long. */
static int sample_cell(const char *s, long *out)
{
    long v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 7; i++)
        v = v * 10 + (s[i] - '0');
    if (i && !s[i] && v <= MAX_SAMPLE) {
        *out = v;
        return 0;
    }
    return lleval_parse_long(s, 0, MAX_SAMPLE, out);
}

static int scan_csv(struct scorer *s, lleval_item_score_fn fn, void *ud, struct lleval_err *err)
{
    struct lleval_pred_reader r;
    struct lleval_pred_row row;
    char temp[40] = "", last_temp_s[40] = "\x01";
    double temp_v = 0;
    struct gold_set *last_g = NULL; /* the previous row's dataset and item */
    long last_idx = -1;
    int rc;

    rc = lleval_pred_open(&r, s->path, required_cols, LLEVAL_PRED_CHECK_CELLS, err);
    if (rc)
        return rc;
    while ((rc = lleval_pred_next(&r, &row, err)) == 1) {
        struct lleval_item_score it;
        struct gold_set *g = NULL;
        const struct gold_item *gi;
        struct acc *a;
        const char *temp_s, *sample_s, *pred;
        long sample = 0, idx;

        s->rows++;
        memset(&it, 0, sizeof(it));
        it.custom_id = row.custom_id;
        scorer_row_model(s, row.custom_id);
        it.dataset = row.dataset;
        it.item_id = row.item_id;
        it.prompt_type = row.prompt_type;
        it.line = row.line;
        it.row = &row;
        it.ok = !str_eq(row.status, "error");
        it.choice = -1;
        it.answer = "";
        temp_s = row.temperature;
        sample_s = row.sample;
        if (!str_eq(temp_s, last_temp_s)) { /* rows come in runs of one temperature */
            temp[0] = '\0';
            temp_v = 0;
            if (*temp_s) {
                if (lleval_parse_double(temp_s, &temp_v) || !isfinite(temp_v)) {
                    rc = lleval_err_set(err, LLEVAL_EINVAL,
                                        "%s:%ld: column 'temperature' holds '%s', not a number",
                                        s->path, row.line, temp_s);
                    goto out;
                }
                lleval_fmt_num(temp, sizeof(temp), temp_v);
            }
            snprintf(last_temp_s, sizeof(last_temp_s), "%s", temp_s);
            if (strlen(temp_s) >= sizeof(last_temp_s))
                last_temp_s[0] = '\x01'; /* too long to cache: never matches */
        }
        it.temperature = temp;
        if (*sample_s && sample_cell(sample_s, &sample)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: column 'sample' holds '%s', not a number from 0 to %d",
                                s->path, row.line, sample_s, MAX_SAMPLE);
            goto out;
        }
        it.sample = sample;

        if (last_g && str_eq(it.dataset, last_g->name)) {
            g = last_g; /* rows come in runs of one dataset */
        } else if (!*it.dataset || !lleval_dataset_name_valid(it.dataset)) {
            /* parse could not decode the custom_id: nothing to score against */
            it.state = LLEVAL_ITEM_UNKNOWN;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, row.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        } else {
            rc = scorer_gold(s, it.dataset, &g, err);
            if (rc)
                goto out;
            last_g = g;
            last_idx = -1;
        }
        a = scorer_acc(s, g, it.prompt_type, temp, temp_v);
        /* and in runs of one item (its samples) */
        if (last_idx >= 0 && g->cur == last_idx && !strcmp(it.item_id, g->item.id)) {
            idx = last_idx;
        } else {
            rc = lleval_gold_find(g, it.item_id, &idx, err);
            if (rc)
                goto out;
            last_idx = idx;
        }
        if (idx < 0) {
            it.state = LLEVAL_ITEM_UNKNOWN;
            a->unknown++;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, row.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        if (!acc_mark(a, sample, (size_t)idx)) {
            it.state = LLEVAL_ITEM_DUPLICATE;
            a->duplicates++;
            s->duplicates++;
            note_first(&s->first_duplicate, &s->first_duplicate_line, it.custom_id, row.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        pred = row.prediction;
        rc = lleval_gold_item(g, (size_t)idx, &gi, err);
        if (rc)
            goto out;
        it.item = &g->entry;
        score_answer(s, g, gi, pred, strlen(pred), it.ok, true, &it);
        it.state = LLEVAL_ITEM_SCORED;
        if (it.ok) {
            /* the journal's unrounded speed when the run's results are at hand */
            double tps = lleval_speeds_get(s->speeds, row.custom_id);
            acc_add(a, &it, finish_kind(row.finish_reason), num_cell(row.latency_ms),
                    isnan(tps) ? num_cell(row.gen_tps) : tps);
        } else
            acc_add(a, &it, FIN_ERROR, -1, -1);
        s->scored++;
        if (fn && (rc = fn(&it, ud)) != 0)
            goto out;
    }
out:
    lleval_pred_close(&r);
    return rc;
}

/* ---- results ---- */

static void ci_of(const struct lleval_dist *d, const struct scorer *s, const char *label,
                  const char *metric, struct lleval_ci *out)
{
    char *l = lleval_xasprintf("%s/%s", label, metric);
    /* resamples were validated by the caller; a failure leaves the mean only */
    if (lleval_bootstrap_dist(d, s->o.bootstrap, lleval_seed_derive(s->o.seed, l), out, NULL))
        lleval_bootstrap_dist(d, 0, 0, out, NULL);
    free(l);
}

static char *group_label(const struct lleval_score_group *g)
{
    if (g->model && g->overall)
        return lleval_xasprintf("%s/%s", g->model, g->dataset);
    if (g->model)
        return lleval_xasprintf("%s/%s/%s/t%s", g->model, g->dataset, g->prompt_type,
                                g->temperature);
    if (g->overall)
        return lleval_xasprintf("%s", g->dataset);
    return lleval_xasprintf("%s/%s/t%s", g->dataset, g->prompt_type, g->temperature);
}

static void add_warning(struct lleval_score_result *res, char *msg)
{
    res->warnings = lleval_xrealloc(res->warnings, (res->n_warnings + 1) * sizeof(char *));
    res->warnings[res->n_warnings++] = msg;
}

/* Fills one result group from an accumulator. */
static void group_from(const struct scorer *s, const struct acc *a, bool overall,
                       struct lleval_score_group *g)
{
    char *label;
    memset(g, 0, sizeof(*g));
    g->dataset = lleval_xstrdup(a->gold->name);
    g->model = a->model ? lleval_xstrdup(a->model) : NULL;
    g->overall = overall;
    if (!overall) {
        g->prompt_type = lleval_xstrdup(a->prompt_type);
        g->temperature = lleval_xstrdup(a->temperature);
    }
    g->scoring = a->gold->scoring;
    g->type = lleval_xstrdup(a->gold->type);
    g->n = a->n;
    g->unknown = a->unknown;
    g->duplicates = a->duplicates;
    g->errors = a->errors;
    g->empty = a->empty;
    g->unparseable = a->unparseable;
    g->finish_stop = a->fin[FIN_STOP];
    g->finish_length = a->fin[FIN_LENGTH];
    g->finish_error = a->fin[FIN_ERROR];
    g->finish_other = a->fin[FIN_OTHER];
    g->v2 = a->gold->v2;
    g->v2_eval = a->v2;
    g->abstained = a->abstained;
    label = overall ? lleval_xasprintf("%s/*/*", a->gold->name)
                    : lleval_xasprintf("%s/%s/%s", a->gold->name, a->prompt_type, a->temperature);
    ci_of(&a->em, s, label, "em", &g->em);
    ci_of(&a->f1, s, label, "f1", &g->f1);
    ci_of(&a->contains, s, label, "contains", &g->contains);
    ci_of(&a->accuracy, s, label, "accuracy", &g->accuracy);
    ci_of(&a->latency, s, label, "latency_ms", &g->latency_ms);
    ci_of(&a->tps, s, label, "tokens_per_s", &g->tokens_per_s);
    free(label);
    if (a->n > 0 && a->errors >= a->n) {
        /* no successful answer: nothing was measured, so no metric (n/a, null in
         * scores.json), not a score of 0 with an interval */
        static const struct lleval_ci none = {NAN, NAN, NAN, 0, 0};
        g->em = g->f1 = g->contains = g->accuracy = none;
    }
}

static void merge_acc(struct acc *into, const struct acc *from)
{
    into->n += from->n;
    into->unknown += from->unknown;
    into->duplicates += from->duplicates;
    into->errors += from->errors;
    into->empty += from->empty;
    into->unparseable += from->unparseable;
    for (int i = 0; i < 4; i++)
        into->fin[i] += from->fin[i];
    into->abstained += from->abstained;
    for (int i = 0; i < 3; i++) {
        struct lleval_squad2_part *t = i == 0   ? &into->v2.all
                                       : i == 1 ? &into->v2.has_ans
                                                : &into->v2.no_ans;
        const struct lleval_squad2_part *f = i == 0   ? &from->v2.all
                                             : i == 1 ? &from->v2.has_ans
                                                      : &from->v2.no_ans;
        t->exact_sum += f->exact_sum;
        t->f1_sum += f->f1_sum;
        t->total += f->total;
    }
    lleval_dist_merge(&into->em, &from->em);
    lleval_dist_merge(&into->f1, &from->f1);
    lleval_dist_merge(&into->contains, &from->contains);
    lleval_dist_merge(&into->accuracy, &from->accuracy);
    lleval_dist_merge(&into->latency, &from->latency);
    lleval_dist_merge(&into->tps, &from->tps);
}

static int cmp_acc(const void *x, const void *y)
{
    const struct acc *a = *(const struct acc *const *)x, *b = *(const struct acc *const *)y;
    int c = strcmp(a->prompt_type, b->prompt_type);
    if (c)
        return c;
    if (a->temp_value != b->temp_value)
        return a->temp_value < b->temp_value ? -1 : 1;
    return strcmp(a->temperature, b->temperature);
}

static void group_warnings(struct lleval_score_result *res, const struct lleval_score_group *g)
{
    char *label = group_label(g);
    if (g->n > 0 && (double)g->finish_length / (double)g->n > res->opts.truncation_warn)
        add_warning(res,
                    lleval_xasprintf("%s: %.1f%% of the answers stopped at max_new_tokens "
                                     "(finish_reason length, %ld of %ld, above %.0f%%); raise "
                                     "max_new_tokens or add stop sequences",
                                     label, 100.0 * (double)g->finish_length / (double)g->n,
                                     g->finish_length, g->n, 100.0 * res->opts.truncation_warn));
    if (g->errors > 0)
        add_warning(res, lleval_xasprintf("%s: %ld of %ld requests failed (status error) and "
                                          "score 0; the error column of predictions.csv says "
                                          "why",
                                          label, g->errors, g->n));
    if (g->scoring == LLEVAL_SCORING_MC && g->n > g->errors &&
        (double)g->unparseable / (double)(g->n - g->errors) > 0.10)
        add_warning(
            res, lleval_xasprintf("%s: no answer letter could be read from %ld of %ld answers; try "
                                  "scoring.answer_extraction after_answer or a prompt that asks "
                                  "for the letter only",
                                  label, g->unparseable, g->n - g->errors));
    free(label);
}

/* Builds res->groups (each dataset's groups sorted, then its overall row) and warnings. */
static void finish_result(struct scorer *s, struct lleval_score_result *res)
{
    res->opts = s->o;
    res->opts.results_jsonl = NULL; /* borrowed by the scorer only */
    res->rows = s->rows;
    res->scored = s->scored;
    res->unknown = s->unknown;
    res->duplicates = s->duplicates;
    /* a run of several models: each model's datasets in turn (rows without a
     * model, the usual run, are "model" NULL: the loop's first turn) */
    for (size_t mi = 0; mi <= s->n_models; mi++) {
        for (size_t d = 0; d < s->n_sets; d++) {
            const char *model = mi ? s->models[mi - 1] : NULL;
            struct gold_set *gs = s->sets[d];
            struct acc **mine = lleval_xmalloc((s->n_accs + 1) * sizeof(*mine));
            struct acc all;
            size_t k = 0;
            long missing = 0;
            for (size_t i = 0; i < s->n_accs; i++)
                if (s->accs[i]->gold == gs && model_eq(s->accs[i]->model, model))
                    mine[k++] = s->accs[i];
            if (!k) {
                free(mine);
                continue;
            }
            qsort(mine, k, sizeof(*mine), cmp_acc);
            memset(&all, 0, sizeof(all));
            all.gold = gs;
            all.model = (char *)model; /* borrowed: all is not acc_free()d */
            res->groups =
                lleval_xrealloc(res->groups, (res->n_groups + k + 1) * sizeof(*res->groups));
            for (size_t i = 0; i < k; i++) {
                struct lleval_score_group *g = &res->groups[res->n_groups++];
                group_from(s, mine[i], false, g);
                g->missing = acc_missing(mine[i], s->o.limit_items);
                missing += g->missing;
                group_warnings(res, g);
                merge_acc(&all, mine[i]);
            }
            group_from(s, &all, true, &res->groups[res->n_groups]);
            res->groups[res->n_groups++].missing = missing;
            res->missing += missing;
            lleval_dist_release(&all.em);
            lleval_dist_release(&all.f1);
            lleval_dist_release(&all.contains);
            lleval_dist_release(&all.accuracy);
            lleval_dist_release(&all.latency);
            lleval_dist_release(&all.tps);
            free(mine);
        }
    }
    if (s->unknown > 0)
        add_warning(
            res, lleval_xasprintf("%ld prediction rows name an item that is not in the prepared "
                                  "gold data and were not scored (first: '%s' at %s:%ld); was the "
                                  "dataset prepared again since the run was built?",
                                  s->unknown, s->first_unknown ? s->first_unknown : "", s->path,
                                  s->first_unknown_line));
    if (s->duplicates > 0)
        add_warning(res,
                    lleval_xasprintf("%ld repeated prediction rows were not scored (first: "
                                     "'%s' at %s:%ld); the first row of each was kept",
                                     s->duplicates, s->first_duplicate ? s->first_duplicate : "",
                                     s->path, s->first_duplicate_line));
}

static int check_opts(const struct lleval_score_opts *o, struct lleval_err *err)
{
    if (o && (o->bootstrap < 0 || o->bootstrap > LLEVAL_BOOTSTRAP_MAX))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "bootstrap resamples must be from 0 to %d, not %ld",
                              LLEVAL_BOOTSTRAP_MAX, o->bootstrap);
    return 0;
}

int lleval_score_csv(const char *pred_csv, const char *prepared_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err)
{
    return lleval_score_csv_each(pred_csv, prepared_dir, o, NULL, NULL, res, err);
}

int lleval_score_csv_each(const char *pred_csv, const char *prepared_dir,
                          const struct lleval_score_opts *o, lleval_item_score_fn fn, void *ud,
                          struct lleval_score_result *res, struct lleval_err *err)
{
    struct scorer s;
    int rc;
    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_csv, o);
    rc = scan_csv(&s, fn, ud, err);
    if (!rc && s.n_models > 1) { /* a run of several models: their leaderboard */
        struct lleval_item_scores items;
        res->leaderboard = lleval_xcalloc(1, sizeof(*res->leaderboard));
        rc = lleval_item_scores_load(pred_csv, prepared_dir, o, &items, err);
        if (!rc)
            rc = lleval_leaderboard_build(&items, s.o.bootstrap, s.o.seed, res->leaderboard, err);
        lleval_item_scores_release(&items);
        if (rc) {
            free(res->leaderboard);
            res->leaderboard = NULL;
        }
    }
    if (!rc) {
        finish_result(&s, res);
        res->predictions = lleval_xstrdup(pred_csv);
        res->prepared_dir = lleval_xstrdup(prepared_dir);
    }
    scorer_release(&s);
    return rc;
}

int lleval_score_each(const char *pred_csv, const char *prepared_dir,
                      const struct lleval_score_opts *o, lleval_item_score_fn fn, void *ud,
                      struct lleval_err *err)
{
    struct scorer s;
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_csv, o);
    rc = scan_csv(&s, fn, ud, err);
    scorer_release(&s);
    return rc;
}

/* ---- SQuAD-style JSON ---- */

int lleval_score_squad_json(const char *pred_json, const char *prepared_dir, const char *dataset,
                            const struct lleval_score_opts *o, struct lleval_score_result *res,
                            struct lleval_err *err)
{
    struct scorer s;
    struct gold_set *g;
    struct acc *a;
    struct pred_map preds;
    double em_sum = 0, f1_sum = 0;
    long missing = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    rc = lleval_pred_map_load(pred_json, &preds, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_json, o);
    rc = scorer_gold(&s, dataset, &g, err);
    if (rc)
        goto out;
    a = scorer_acc(&s, g, "", "", 0);
    /* the official loop: every gold question in order; no prediction scores 0 */
    for (size_t i = 0; i < g->n_items; i++) {
        struct lleval_item_score it;
        const struct gold_item *gi;
        const struct pred_entry *p;
        rc = lleval_gold_item(g, i, &gi, err);
        if (rc) {
            lleval_score_result_release(res);
            goto out;
        }
        p = lleval_pred_map_get(&preds, gi->id);
        if (p)
            preds.used[p - preds.e] = 1;
        if (!p) {
            missing++;
            if (g->v2) {
                /* evaluate-v2.0 prints "Missing prediction for <qid>" and leaves it out */
                res->missing_ids =
                    lleval_xrealloc(res->missing_ids, (res->n_missing_ids + 1) * sizeof(char *));
                res->missing_ids[res->n_missing_ids++] = lleval_xstrdup(gi->id);
                continue;
            }
            acc_add_missing(a);
            continue;
        }
        memset(&it, 0, sizeof(it));
        it.ok = true;
        score_answer(&s, g, gi, preds.strs.buf + p->val, p->val_len, true, false, &it);
        acc_add(a, &it, -1, -1, -1);
        s.scored++;
        em_sum += g->scoring == LLEVAL_SCORING_MC ? (it.correct ? 1 : 0) : it.em;
        f1_sum += it.f1;
    }
    /* predictions that no gold question asked for: the entries never looked up */
    for (size_t i = 0; i < preds.n; i++) {
        s.rows++;
        if (!preds.used[i]) {
            s.unknown++;
            a->unknown++;
            note_first(&s.first_unknown, &s.first_unknown_line, preds.strs.buf + preds.e[i].key, 0);
        }
    }
    res->total = g->v2 ? a->v2.all.total : (long)g->n_items;
    if (g->v2 && res->total == 0) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "%s: no prediction answers a question of '%s' (evaluate-v2.0 "
                            "divides by zero on such a file); write {\"question id\": \"answer\"} "
                            "with the dataset's question ids",
                            pred_json, dataset);
        lleval_score_result_release(res);
        goto out;
    }
    if (res->total > 0) {
        /* the official script's arithmetic: 100.0 * sum / total */
        res->exact_match = 100.0 * em_sum / (double)res->total;
        res->f1 = 100.0 * f1_sum / (double)res->total;
    }
    /* one group: the dataset as the official script sees it */
    res->opts = s.o;
    res->rows = s.rows;
    res->scored = s.scored;
    res->unknown = s.unknown;
    res->missing = missing;
    res->groups = lleval_xmalloc(sizeof(*res->groups));
    group_from(&s, a, true, &res->groups[0]);
    res->groups[0].missing = missing;
    res->n_groups = 1;
    group_warnings(res, &res->groups[0]);
    if (s.unknown > 0)
        add_warning(res, lleval_xasprintf("%ld predictions name a question id that is not in "
                                          "'%s' and were not scored (first: '%s')",
                                          s.unknown, dataset, s.first_unknown));
    res->squad_json = true;
    res->squad_v2 = g->v2;
    res->v2 = a->v2;
    if (g->v2 && missing > 0)
        add_warning(res, lleval_xasprintf("%ld questions of '%s' have no prediction and are left "
                                          "out of every total, as evaluate-v2.0 leaves them out "
                                          "of its overall numbers (the script itself then stops "
                                          "with a KeyError)",
                                          missing, dataset));
    res->predictions = lleval_xstrdup(pred_json);
    res->prepared_dir = lleval_xstrdup(prepared_dir);
out:
    scorer_release(&s);
    lleval_pred_map_release(&preds);
    return rc;
}

/* ---- results ---- */

void lleval_score_result_release(struct lleval_score_result *res)
{
    if (!res)
        return;
    if (res->leaderboard) {
        lleval_leaderboard_release(res->leaderboard);
        free(res->leaderboard);
    }
    for (size_t i = 0; i < res->n_groups; i++) {
        free(res->groups[i].dataset);
        free(res->groups[i].model);
        free(res->groups[i].prompt_type);
        free(res->groups[i].temperature);
        free(res->groups[i].type);
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        free(res->warnings[i]);
    for (size_t i = 0; i < res->n_missing_ids; i++)
        free(res->missing_ids[i]);
    free(res->missing_ids);
    free(res->groups);
    free(res->warnings);
    free(res->predictions);
    free(res->prepared_dir);
    memset(res, 0, sizeof(*res));
}

int lleval_score_run(const char *pred_csv, const char *prepared_dir, const char *out_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err)
{
    int rc = lleval_score_csv(pred_csv, prepared_dir, o, res, err);
    if (!rc)
        rc = lleval_score_write(res, out_dir, err);
    if (rc)
        lleval_score_result_release(res);
    return rc;
}

/* ---- per-item scores ---- */

struct collect {
    struct lleval_item_scores *out;
    size_t cap;
};

static int collect_one(const struct lleval_item_score *s, void *ud)
{
    struct collect *c = ud;
    struct lleval_item_rec *r;
    if (s->state != LLEVAL_ITEM_SCORED)
        return 0;
    LLEVAL_GROW(c->out->items, c->out->n, c->cap);
    r = &c->out->items[c->out->n++];
    r->custom_id = lleval_xstrdup(s->custom_id);
    r->sample = s->sample;
    r->ok = s->ok;
    r->mc = s->scoring == LLEVAL_SCORING_MC;
    r->em = s->em;
    r->f1 = s->f1;
    r->contains = s->contains;
    r->correct = s->correct;
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(((const struct lleval_item_rec *)a)->custom_id,
                  ((const struct lleval_item_rec *)b)->custom_id);
}

int lleval_item_scores_load(const char *pred_csv, const char *prepared_dir,
                            const struct lleval_score_opts *o, struct lleval_item_scores *out,
                            struct lleval_err *err)
{
    struct collect c = {out, 0};
    int rc;
    memset(out, 0, sizeof(*out));
    rc = lleval_score_each(pred_csv, prepared_dir, o, collect_one, &c, err);
    if (rc) {
        lleval_item_scores_release(out);
        return rc;
    }
    if (out->n)
        qsort(out->items, out->n, sizeof(*out->items), cmp_rec);
    return 0;
}

const struct lleval_item_rec *lleval_item_scores_find(const struct lleval_item_scores *s,
                                                      const char *custom_id)
{
    struct lleval_item_rec key;
    if (!s->n)
        return NULL;
    key.custom_id = (char *)custom_id;
    return bsearch(&key, s->items, s->n, sizeof(*s->items), cmp_rec);
}

void lleval_item_scores_release(struct lleval_item_scores *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].custom_id);
    free(s->items);
    memset(s, 0, sizeof(*s));
}
