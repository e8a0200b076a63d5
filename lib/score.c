/*
 * Scoring: streams predictions.csv (or reads a SQuAD-style JSON object),
 * looks up each row's gold answers in the prepared datasets, scores it with
 * the dataset's metric, aggregates per dataset x prompt type x temperature
 * with bootstrap intervals, and writes scores.json. See include/lleval/score.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/csv.h"
#include "lleval/dataset.h"
#include "lleval/fs.h"
#include "lleval/json.h"
#include "lleval/score.h"
#include "lleval/util.h"

/* ---- options ---- */

void lleval_score_opts_init(struct lleval_score_opts *o)
{
    o->extraction = LLEVAL_EXTRACT_NONE;
    o->strip_think = true;
    o->bootstrap = LLEVAL_BOOTSTRAP_DEFAULT;
    o->seed = 12345;
    o->truncation_warn = LLEVAL_TRUNCATION_WARN;
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
}

/* ---- gold sets ---- */

struct gold_item {
    char *id;
    uint32_t first; /* QA: first gold in set->golds; MC: first choice in set->choices */
    uint32_t count; /* golds or choices */
    int gold_choice; /* MC: index of the right choice, -1 when the gold names none */
};

struct gold_set {
    char *name;
    char *type;
    enum lleval_scoring scoring;
    struct gold_item *items;
    size_t n_items, cap_items;
    struct lleval_norm *golds;
    size_t n_golds, cap_golds;
    char **choices;
    size_t n_choices, cap_choices;
    uint32_t *slots; /* id hash table: item index + 1, 0 when empty */
    size_t n_slots;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return h;
}

static void gold_free(struct gold_set *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_items; i++)
        free(g->items[i].id);
    for (size_t i = 0; i < g->n_golds; i++)
        lleval_norm_release(&g->golds[i]);
    for (size_t i = 0; i < g->n_choices; i++)
        free(g->choices[i]);
    free(g->items);
    free(g->golds);
    free(g->choices);
    free(g->slots);
    free(g->name);
    free(g->type);
    free(g);
}

static long gold_find(const struct gold_set *g, const char *id)
{
    if (!g->n_slots)
        return -1;
    for (size_t i = (size_t)hash_str(id) & (g->n_slots - 1);; i = (i + 1) & (g->n_slots - 1)) {
        uint32_t v = g->slots[i];
        if (!v)
            return -1;
        if (!strcmp(g->items[v - 1].id, id))
            return (long)(v - 1);
    }
}

/* Builds the id index; a repeated id keeps its first item. */
static void gold_index(struct gold_set *g)
{
    g->n_slots = 16;
    while (g->n_slots < 2 * g->n_items + 1)
        g->n_slots *= 2;
    g->slots = lleval_xcalloc(g->n_slots, sizeof(*g->slots));
    for (size_t k = 0; k < g->n_items; k++) {
        size_t i = (size_t)hash_str(g->items[k].id) & (g->n_slots - 1);
        bool dup = false;
        while (g->slots[i] && !(dup = !strcmp(g->items[g->slots[i] - 1].id, g->items[k].id)))
            i = (i + 1) & (g->n_slots - 1);
        if (!dup)
            g->slots[i] = (uint32_t)(k + 1);
    }
}

/* A compact copy of a normalized answer (no scratch buffers). */
static void norm_keep(struct lleval_norm *dst, const struct lleval_norm *src)
{
    lleval_norm_init(dst);
    lleval_sb_add(&dst->text, src->text.buf, src->text.len);
    if (src->n_toks) {
        dst->toks = lleval_xmalloc(src->n_toks * sizeof(*dst->toks));
        dst->sorted = lleval_xmalloc(src->n_toks * sizeof(*dst->sorted));
        memcpy(dst->toks, src->toks, src->n_toks * sizeof(*dst->toks));
        memcpy(dst->sorted, src->sorted, src->n_toks * sizeof(*dst->sorted));
    }
    dst->n_toks = dst->cap = src->n_toks;
}

/* The index of the gold answer among the choices: a letter "B", else a choice's text. */
static int gold_choice_of(const char *gold, char *const *choices, size_t n)
{
    size_t len = strlen(gold);
    if (len == 1 && gold[0] >= 'A' && gold[0] <= 'Z' && (n == 0 || (size_t)(gold[0] - 'A') < n))
        return gold[0] - 'A';
    for (size_t i = 0; i < n; i++) {
        if (lleval_exact_match(gold, choices[i], false))
            return (int)i;
    }
    return -1;
}

static int add_item(struct gold_set *g, const json_t *item, struct lleval_norm *work)
{
    struct gold_item *it;
    const json_t *answers = json_object_get(item, "answers");
    size_t i;
    json_t *v;

    LLEVAL_GROW(g->items, g->n_items, g->cap_items);
    it = &g->items[g->n_items++];
    it->id = lleval_xstrdup(lleval_json_str(item, "id"));
    it->gold_choice = -1;
    if (g->scoring == LLEVAL_SCORING_MC) {
        const json_t *choices = json_object_get(item, "choices");
        it->first = (uint32_t)g->n_choices;
        json_array_foreach(choices, i, v)
        {
            if (i >= LLEVAL_MC_MAX_CHOICES)
                break;
            LLEVAL_GROW(g->choices, g->n_choices, g->cap_choices);
            g->choices[g->n_choices++] = lleval_xstrdup(json_is_string(v) ? json_string_value(v)
                                                                            : "");
        }
        it->count = (uint32_t)(g->n_choices - it->first);
        v = json_array_get(answers, 0);
        if (json_is_string(v))
            it->gold_choice = gold_choice_of(json_string_value(v), g->choices + it->first,
                                             it->count);
        return 0;
    }
    it->first = (uint32_t)g->n_golds;
    json_array_foreach(answers, i, v)
    {
        if (!json_is_string(v))
            continue;
        lleval_norm_set(work, json_string_value(v), json_string_length(v),
                        g->scoring == LLEVAL_SCORING_NQ);
        LLEVAL_GROW(g->golds, g->n_golds, g->cap_golds);
        norm_keep(&g->golds[g->n_golds++], work);
    }
    it->count = (uint32_t)(g->n_golds - it->first);
    return 0;
}

/* Loads <prepared_dir>/<name>.jsonl and its info file into a new gold set. */
static int gold_load(const char *prepared_dir, const char *name, struct gold_set **out,
                     struct lleval_err *err)
{
    struct gold_set *g = lleval_xcalloc(1, sizeof(*g));
    struct lleval_prepared_reader r;
    struct lleval_norm work = LLEVAL_NORM_INIT;
    json_t *info, *item;
    const char *scoring, *type;
    bool reader_open = false;
    long want;
    int rc;

    *out = NULL;
    g->name = lleval_xstrdup(name);
    info = lleval_prepared_info(prepared_dir, name, err);
    if (!info) {
        rc = err ? err->code : LLEVAL_EINVAL;
        goto fail;
    }
    type = lleval_json_str(info, "type");
    scoring = lleval_json_str(info, "scoring");
    g->type = lleval_xstrdup(type ? type : "");
    if (scoring) {
        if (lleval_scoring_parse(scoring, &g->scoring)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s/%s.info.json: unknown scoring '%s'; use squad, nq or mc",
                                prepared_dir, name, scoring);
            goto fail;
        }
    } else {
        g->scoring = type && !strcmp(type, "multiple_choice") ? LLEVAL_SCORING_MC
                                                               : LLEVAL_SCORING_SQUAD;
    }
    want = (long)json_integer_value(json_object_get(info, "items"));
    rc = lleval_prepared_open(&r, prepared_dir, name, err);
    if (rc)
        goto fail;
    reader_open = true;
    while ((rc = lleval_prepared_next(&r, &item, err)) == 1) {
        add_item(g, item, &work);
        json_decref(item);
    }
    if (rc < 0)
        goto fail;
    if ((long)g->n_items != want) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "'%s' holds %zu items but its info file says %ld (an interrupted "
                            "prepare?); run `lleval prepare` again",
                            r.path, g->n_items, want);
        goto fail;
    }
    gold_index(g);
    *out = g;
    g = NULL;
    rc = 0;
fail:
    if (reader_open)
        lleval_prepared_close(&r);
    json_decref(info);
    lleval_norm_release(&work);
    gold_free(g);
    return rc;
}

/* ---- accumulators ---- */

enum { FIN_STOP, FIN_LENGTH, FIN_ERROR, FIN_OTHER };

struct acc {
    struct gold_set *gold; /* borrowed from the scorer */
    char *prompt_type;     /* NULL: all (SQuAD-JSON mode, overall rows) */
    char *temperature;
    double temp_value;
    long n, unknown, duplicates, errors, empty, unparseable;
    long fin[4];
    struct lleval_dist em, f1, contains, accuracy, latency, tps;
    uint8_t **seen; /* per sample: bitset over the gold items */
    size_t n_seen;
};

static void acc_free(struct acc *a)
{
    if (!a)
        return;
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

static long acc_missing(const struct acc *a)
{
    long missing = 0;
    bool any = false;
    for (size_t s = 0; s < a->n_seen; s++) {
        long seen = 0;
        if (!a->seen[s])
            continue;
        any = true;
        for (size_t i = 0; i < a->gold->n_items; i++)
            seen += (a->seen[s][i / 8] >> (i % 8)) & 1;
        missing += (long)a->gold->n_items - seen;
    }
    return any ? missing : (long)a->gold->n_items;
}

/* ---- the scorer ---- */

#define MAX_SAMPLE 100000

struct scorer {
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
}

static void scorer_release(struct scorer *s)
{
    for (size_t i = 0; i < s->n_accs; i++)
        acc_free(s->accs[i]);
    for (size_t i = 0; i < s->n_sets; i++)
        gold_free(s->sets[i]);
    free(s->accs);
    free(s->sets);
    free(s->first_unknown);
    free(s->first_duplicate);
    lleval_sb_release(&s->answer);
    lleval_norm_release(&s->pred);
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
    rc = gold_load(s->prepared_dir, name, out, err);
    if (rc)
        return rc;
    LLEVAL_GROW(s->sets, s->n_sets, s->cap_sets);
    s->sets[s->n_sets++] = *out;
    return 0;
}

static struct acc *scorer_acc(struct scorer *s, struct gold_set *g, const char *prompt,
                              const char *temp, double temp_value)
{
    struct acc *a = s->last;
    if (a && a->gold == g && !strcmp(a->prompt_type, prompt) && !strcmp(a->temperature, temp))
        return a;
    for (size_t i = 0; i < s->n_accs; i++) {
        a = s->accs[i];
        if (a->gold == g && !strcmp(a->prompt_type, prompt) && !strcmp(a->temperature, temp))
            return s->last = a;
    }
    a = lleval_xcalloc(1, sizeof(*a));
    a->gold = g;
    a->prompt_type = lleval_xstrdup(prompt);
    a->temperature = lleval_xstrdup(temp);
    a->temp_value = temp_value;
    LLEVAL_GROW(s->accs, s->n_accs, s->cap_accs);
    s->accs[s->n_accs++] = a;
    return s->last = a;
}

/* Extracts and scores one answer of item it; fills the score fields of r. */
static void score_answer(struct scorer *s, const struct gold_set *g, const struct gold_item *it,
                         const char *text, size_t len, bool ok, struct lleval_item_score *r)
{
    lleval_sb_reset(&s->answer);
    if (ok)
        lleval_extract_answer(text, len, s->o.extraction, s->o.strip_think, &s->answer);
    r->answer = s->answer.buf;
    r->scoring = g->scoring;
    r->em = r->f1 = r->contains = 0;
    r->choice = -1;
    r->correct = false;
    if (!ok)
        return;
    if (g->scoring == LLEVAL_SCORING_MC) {
        r->choice = lleval_mc_extract(s->answer.buf, s->answer.len,
                                      (const char *const *)g->choices + it->first, it->count);
        r->correct = r->choice >= 0 && r->choice == it->gold_choice;
        return;
    }
    struct lleval_qa_score sc;
    lleval_norm_set(&s->pred, s->answer.buf, s->answer.len, g->scoring == LLEVAL_SCORING_NQ);
    lleval_qa_score(&s->pred, g->golds + it->first, it->count, &sc);
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

enum col {
    C_CUSTOM_ID,
    C_DATASET,
    C_ITEM_ID,
    C_PROMPT_TYPE,
    C_TEMPERATURE,
    C_SAMPLE,
    C_STATUS,
    C_FINISH,
    C_PREDICTION,
    C_LATENCY,
    C_GEN_TPS,
    N_COLS,
};

static const char *const col_names[N_COLS] = {
    "custom_id", "dataset",       "item_id",    "prompt_type", "temperature", "sample",
    "status",    "finish_reason", "prediction", "latency_ms",  "gen_tps",
};

static const bool col_required[N_COLS] = {
    [C_CUSTOM_ID] = true, [C_DATASET] = true, [C_ITEM_ID] = true, [C_PREDICTION] = true};

static const char *field(const struct lleval_csv_reader *r, const int *cols, enum col c)
{
    return cols[c] >= 0 ? r->fields[cols[c]] : "";
}

static void note_first(char **first, long *first_line, const char *id, long line)
{
    if (*first)
        return;
    *first = lleval_xstrdup(id);
    *first_line = line;
}

static int finish_kind(const char *f)
{
    if (!strcmp(f, "stop"))
        return FIN_STOP;
    if (!strcmp(f, "length"))
        return FIN_LENGTH;
    if (!strcmp(f, "error"))
        return FIN_ERROR;
    return FIN_OTHER;
}

/* A number cell: -1 when empty or not a number (the scorer never fails on facts). */
static double num_cell(const char *s)
{
    double v;
    if (!*s || lleval_parse_double(s, &v) || !isfinite(v))
        return -1;
    return v;
}

static int read_header(struct lleval_csv_reader *r, int *cols, struct lleval_err *err)
{
    int rc = lleval_csv_next(r, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: empty file: a predictions.csv starts with a header row "
                              "(docs/formats.md)",
                              r->path);
    for (int c = 0; c < N_COLS; c++) {
        cols[c] = -1;
        for (size_t i = 0; i < r->n_fields; i++)
            if (!strcmp(r->fields[i], col_names[c]))
                cols[c] = (int)i;
        if (cols[c] < 0 && col_required[c])
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: not a predictions.csv header: no column '%s' "
                                  "(docs/formats.md lists the columns)",
                                  r->path, r->line, col_names[c]);
    }
    return 0;
}

static int scan_csv(struct scorer *s, lleval_item_score_fn fn, void *ud, struct lleval_err *err)
{
    struct lleval_csv_reader r;
    int cols[N_COLS];
    size_t n_header;
    int rc;

    rc = lleval_csv_open(&r, s->path, err);
    if (rc)
        return rc;
    rc = read_header(&r, cols, err);
    if (rc)
        goto out;
    n_header = r.n_fields;
    while ((rc = lleval_csv_next(&r, err)) == 1) {
        struct lleval_item_score it;
        struct gold_set *g = NULL;
        struct acc *a;
        const char *temp_s, *sample_s, *pred;
        char temp[40];
        double temp_v = 0;
        long sample = 0, idx;

        if (lleval_csv_blank(&r))
            continue;
        if (r.n_fields != n_header) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: the row has %zu fields but the header has %zu; the "
                                "file is damaged: run `lleval parse` again",
                                s->path, r.line, r.n_fields, n_header);
            goto out;
        }
        s->rows++;
        memset(&it, 0, sizeof(it));
        it.custom_id = field(&r, cols, C_CUSTOM_ID);
        it.dataset = field(&r, cols, C_DATASET);
        it.item_id = field(&r, cols, C_ITEM_ID);
        it.prompt_type = field(&r, cols, C_PROMPT_TYPE);
        it.line = r.line;
        it.ok = cols[C_STATUS] < 0 || strcmp(field(&r, cols, C_STATUS), "error") != 0;
        it.choice = -1;
        it.answer = "";
        temp_s = field(&r, cols, C_TEMPERATURE);
        sample_s = field(&r, cols, C_SAMPLE);
        temp[0] = '\0';
        if (*temp_s) {
            if (lleval_parse_double(temp_s, &temp_v) || !isfinite(temp_v)) {
                rc = lleval_err_set(err, LLEVAL_EINVAL,
                                    "%s:%ld: column 'temperature' holds '%s', not a number",
                                    s->path, r.line, temp_s);
                goto out;
            }
            lleval_fmt_num(temp, sizeof(temp), temp_v);
        }
        it.temperature = temp;
        if (*sample_s && lleval_parse_long(sample_s, 0, MAX_SAMPLE, &sample)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: column 'sample' holds '%s', not a number from 0 to %d",
                                s->path, r.line, sample_s, MAX_SAMPLE);
            goto out;
        }
        it.sample = sample;

        if (!*it.dataset || !lleval_dataset_name_valid(it.dataset)) {
            /* parse could not decode the custom_id: nothing to score against */
            it.state = LLEVAL_ITEM_UNKNOWN;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        rc = scorer_gold(s, it.dataset, &g, err);
        if (rc)
            goto out;
        a = scorer_acc(s, g, it.prompt_type, temp, temp_v);
        idx = gold_find(g, it.item_id);
        if (idx < 0) {
            it.state = LLEVAL_ITEM_UNKNOWN;
            a->unknown++;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        if (!acc_mark(a, sample, (size_t)idx)) {
            it.state = LLEVAL_ITEM_DUPLICATE;
            a->duplicates++;
            s->duplicates++;
            note_first(&s->first_duplicate, &s->first_duplicate_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        pred = field(&r, cols, C_PREDICTION);
        score_answer(s, g, &g->items[idx], pred, strlen(pred), it.ok, &it);
        it.state = LLEVAL_ITEM_SCORED;
        acc_add(a, &it,
                it.ok ? finish_kind(field(&r, cols, C_FINISH)) : FIN_ERROR,
                num_cell(field(&r, cols, C_LATENCY)), num_cell(field(&r, cols, C_GEN_TPS)));
        s->scored++;
        if (fn && (rc = fn(&it, ud)) != 0)
            goto out;
    }
out:
    lleval_csv_close(&r);
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
    label = overall ? lleval_xasprintf("%s/*/*", a->gold->name)
                    : lleval_xasprintf("%s/%s/%s", a->gold->name, a->prompt_type,
                                       a->temperature);
    ci_of(&a->em, s, label, "em", &g->em);
    ci_of(&a->f1, s, label, "f1", &g->f1);
    ci_of(&a->contains, s, label, "contains", &g->contains);
    ci_of(&a->accuracy, s, label, "accuracy", &g->accuracy);
    ci_of(&a->latency, s, label, "latency_ms", &g->latency_ms);
    ci_of(&a->tps, s, label, "tokens_per_s", &g->tokens_per_s);
    free(label);
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
        add_warning(res, lleval_xasprintf(
                             "%s: %.1f%% of the answers stopped at max_new_tokens "
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
        add_warning(res, lleval_xasprintf(
                             "%s: no answer letter could be read from %ld of %ld answers; try "
                             "scoring.answer_extraction after_answer or a prompt that asks "
                             "for the letter only",
                             label, g->unparseable, g->n - g->errors));
    free(label);
}

/* Builds res->groups (each dataset's groups sorted, then its overall row) and warnings. */
static void finish_result(struct scorer *s, struct lleval_score_result *res)
{
    res->opts = s->o;
    res->rows = s->rows;
    res->scored = s->scored;
    res->unknown = s->unknown;
    res->duplicates = s->duplicates;
    for (size_t d = 0; d < s->n_sets; d++) {
        struct gold_set *gs = s->sets[d];
        struct acc **mine = lleval_xmalloc((s->n_accs + 1) * sizeof(*mine));
        struct acc all;
        size_t k = 0;
        long missing = 0;
        for (size_t i = 0; i < s->n_accs; i++)
            if (s->accs[i]->gold == gs)
                mine[k++] = s->accs[i];
        if (!k) {
            free(mine);
            continue;
        }
        qsort(mine, k, sizeof(*mine), cmp_acc);
        memset(&all, 0, sizeof(all));
        all.gold = gs;
        res->groups = lleval_xrealloc(res->groups, (res->n_groups + k + 1) * sizeof(*res->groups));
        for (size_t i = 0; i < k; i++) {
            struct lleval_score_group *g = &res->groups[res->n_groups++];
            group_from(s, mine[i], false, g);
            g->missing = acc_missing(mine[i]);
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
    if (s->unknown > 0)
        add_warning(res, lleval_xasprintf(
                             "%ld prediction rows name an item that is not in the prepared "
                             "gold data and were not scored (first: '%s' at %s:%ld); was the "
                             "dataset prepared again since the run was built?",
                             s->unknown, s->first_unknown ? s->first_unknown : "", s->path,
                             s->first_unknown_line));
    if (s->duplicates > 0)
        add_warning(res, lleval_xasprintf("%ld repeated prediction rows were not scored (first: "
                                          "'%s' at %s:%ld); the first row of each was kept",
                                          s->duplicates,
                                          s->first_duplicate ? s->first_duplicate : "", s->path,
                                          s->first_duplicate_line));
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
    struct scorer s;
    int rc;
    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_csv, o);
    rc = scan_csv(&s, NULL, NULL, err);
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
    json_t *preds;
    const char *key;
    json_t *v;
    double em_sum = 0, f1_sum = 0;
    long missing = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    preds = lleval_json_load_file(pred_json, err);
    if (!preds)
        return err ? err->code : LLEVAL_EINVAL;
    if (!json_is_object(preds)) {
        json_decref(preds);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: predictions must be one JSON object {\"question id\": "
                              "\"answer\", ...}",
                              pred_json);
    }
    json_object_foreach(preds, key, v)
    {
        if (!json_is_string(v)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s: the prediction for '%s' is not a string; write "
                                "{\"question id\": \"answer text\"}",
                                pred_json, key);
            json_decref(preds);
            return rc;
        }
    }
    scorer_init(&s, prepared_dir, pred_json, o);
    rc = scorer_gold(&s, dataset, &g, err);
    if (rc)
        goto out;
    a = scorer_acc(&s, g, "", "", 0);
    /* the official loop: every gold question in order; no prediction scores 0 */
    for (size_t i = 0; i < g->n_items; i++) {
        struct lleval_item_score it;
        json_t *p = json_object_get(preds, g->items[i].id);
        if (!p) {
            acc_add_missing(a);
            missing++;
            continue;
        }
        memset(&it, 0, sizeof(it));
        it.ok = true;
        score_answer(&s, g, &g->items[i], json_string_value(p), json_string_length(p), true,
                     &it);
        acc_add(a, &it, -1, -1, -1);
        s.scored++;
        em_sum += g->scoring == LLEVAL_SCORING_MC ? (it.correct ? 1 : 0) : it.em;
        f1_sum += it.f1;
    }
    json_object_foreach(preds, key, v)
    {
        s.rows++;
        if (gold_find(g, key) < 0) {
            s.unknown++;
            a->unknown++;
            note_first(&s.first_unknown, &s.first_unknown_line, key, 0);
        }
    }
    res->total = (long)g->n_items;
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
    res->predictions = lleval_xstrdup(pred_json);
    res->prepared_dir = lleval_xstrdup(prepared_dir);
out:
    scorer_release(&s);
    json_decref(preds);
    return rc;
}

/* ---- output ---- */

void lleval_score_result_release(struct lleval_score_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_groups; i++) {
        free(res->groups[i].dataset);
        free(res->groups[i].prompt_type);
        free(res->groups[i].temperature);
        free(res->groups[i].type);
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        free(res->warnings[i]);
    free(res->groups);
    free(res->warnings);
    free(res->predictions);
    free(res->prepared_dir);
    memset(res, 0, sizeof(*res));
}

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
    return whole > 0 ? 100.0 * (double)part / (double)whole : NAN;
}

static json_t *group_json(const struct lleval_score_group *g)
{
    json_t *o = json_object();
    bool mc = g->scoring == LLEVAL_SCORING_MC;
    double t;
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

json_t *lleval_score_result_json(const struct lleval_score_result *res)
{
    json_t *o = json_object(), *groups = json_array(), *warns = json_array();
    char when[64];
    lleval_fmt_utc(when, sizeof(when), lleval_now());
    json_object_set_new(o, "mode", json_string(res->squad_json ? "squad_json" : "csv"));
    json_object_set_new(o, "predictions", json_string(res->predictions ? res->predictions : ""));
    json_object_set_new(o, "prepared_dir",
                        json_string(res->prepared_dir ? res->prepared_dir : ""));
    json_object_set_new(o, "scored_at", json_string(when));
    json_object_set_new(
        o, "options",
        json_pack("{sssbsIsIsfss}", "answer_extraction",
                  lleval_extract_name(res->opts.extraction), "strip_think",
                  res->opts.strip_think, "bootstrap_resamples", (json_int_t)res->opts.bootstrap,
                  "bootstrap_seed", (json_int_t)res->opts.seed, "ci_level", LLEVAL_CI_LEVEL,
                  "ci_method", "percentile bootstrap"));
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
    for (size_t i = 0; i < res->n_warnings; i++)
        json_array_append_new(warns, json_string(res->warnings[i]));
    json_object_set_new(o, "warnings", warns);
    return o;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    lleval_sb_add(data, buf, size);
    return 0;
}

int lleval_score_write(const struct lleval_score_result *res, const char *out_dir,
                       struct lleval_err *err)
{
    json_t *doc = lleval_score_result_json(res);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *path = lleval_path_join(out_dir, "scores.json");
    int rc = lleval_mkdirs(out_dir, err);
    /* 12 significant digits: the numbers read as written (81.234, not
     * 81.233999999999995); the atomic write is the shared one */
    if (!rc && json_dump_callback(doc, dump_cb, &sb, JSON_INDENT(2) | JSON_REAL_PRECISION(12)))
        rc = lleval_err_set(err, LLEVAL_EIO, "cannot serialize '%s'", path);
    if (!rc) {
        lleval_sb_addch(&sb, '\n');
        rc = lleval_write_file_atomic(path, sb.buf, sb.len, err);
    }
    lleval_sb_release(&sb);
    json_decref(doc);
    free(path);
    return rc;
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

/* ---- the summary table ---- */

static const char *const table_header[] = {"dataset", "prompt", "temp",   "n",
                                           "EM",      "F1",     "contains", "acc",
                                           "trunc%",  "err%",   "lat ms", "tok/s"};

static char *fmt_ci(const struct lleval_ci *ci, double scale, int decimals, bool with_ci)
{
    if (ci->n == 0 || !isfinite(ci->mean))
        return lleval_xstrdup("-");
    if (with_ci && isfinite(ci->lo) && isfinite(ci->hi))
        return lleval_xasprintf("%.*f [%.*f, %.*f]", decimals, ci->mean * scale, decimals,
                                ci->lo * scale, decimals, ci->hi * scale);
    return lleval_xasprintf("%.*f", decimals, ci->mean * scale);
}

static char *fmt_pct(long part, long whole)
{
    return whole > 0 ? lleval_xasprintf("%.1f", pct(part, whole)) : lleval_xstrdup("-");
}

/* Overall rows are shown when a dataset has more than one group (or in JSON mode). */
static bool show_group(const struct lleval_score_result *res, size_t i)
{
    const struct lleval_score_group *g = &res->groups[i];
    if (!g->overall || res->squad_json)
        return true;
    return i >= 2 && !res->groups[i - 2].overall &&
           !strcmp(res->groups[i - 2].dataset, g->dataset);
}

void lleval_score_table(const struct lleval_score_result *res, struct lleval_score_table *t)
{
    size_t ncols = LLEVAL_ARRAY_SIZE(table_header);
    int dec = res->squad_json ? 3 : 1;
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = lleval_xmalloc((res->n_groups + 1) * ncols * sizeof(char *));
    for (size_t c = 0; c < ncols; c++)
        t->cells[c] = lleval_xstrdup(table_header[c]);
    t->nrows = 1;
    for (size_t i = 0; i < res->n_groups; i++) {
        const struct lleval_score_group *g = &res->groups[i];
        char **row = t->cells + t->nrows * ncols;
        bool mc = g->scoring == LLEVAL_SCORING_MC;
        if (!show_group(res, i))
            continue;
        row[0] = lleval_xstrdup(g->dataset);
        row[1] = lleval_xstrdup(g->overall ? "all" : (*g->prompt_type ? g->prompt_type : "-"));
        row[2] = lleval_xstrdup(g->overall ? "all" : (*g->temperature ? g->temperature : "-"));
        row[3] = lleval_xasprintf("%ld", g->n);
        row[4] = mc ? lleval_xstrdup("-") : fmt_ci(&g->em, 100.0, dec, true);
        row[5] = mc ? lleval_xstrdup("-") : fmt_ci(&g->f1, 100.0, dec, true);
        row[6] = mc ? lleval_xstrdup("-") : fmt_ci(&g->contains, 100.0, 1, false);
        row[7] = mc ? fmt_ci(&g->accuracy, 100.0, 1, true) : lleval_xstrdup("-");
        row[8] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->finish_length, g->n);
        row[9] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->errors, g->n);
        row[10] = fmt_ci(&g->latency_ms, 1.0, 0, false);
        row[11] = fmt_ci(&g->tokens_per_s, 1.0, 1, false);
        t->nrows++;
    }
}

void lleval_score_table_release(struct lleval_score_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void lleval_score_notes(const struct lleval_score_result *res, struct lleval_sb *out)
{
    if (res->squad_json)
        lleval_sb_addf(out, "{\"exact_match\": %.3f, \"f1\": %.3f}  (%ld questions, %ld without "
                            "a prediction)\n",
                       res->exact_match, res->f1, res->total, res->missing);
    if (!res->squad_json && res->missing > 0) {
        lleval_sb_addf(out, "missing: %ld gold items have no prediction:", res->missing);
        for (size_t i = 0; i < res->n_groups; i++) {
            const struct lleval_score_group *g = &res->groups[i];
            if (!g->overall && g->missing > 0)
                lleval_sb_addf(out, " %s/%s/t%s %ld", g->dataset, g->prompt_type,
                               g->temperature, g->missing);
        }
        lleval_sb_addch(out, '\n');
    }
    if (res->unknown > 0)
        lleval_sb_addf(out, "unknown: %ld predictions name no gold item (not scored)\n",
                       res->unknown);
    if (res->duplicates > 0)
        lleval_sb_addf(out, "duplicates: %ld repeated rows (not scored)\n", res->duplicates);
}

/* Display width: one column per UTF-8 code point. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

char *lleval_score_format_table(const struct lleval_score_result *res)
{
    struct lleval_score_table t;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t *w;
    lleval_score_table(res, &t);
    w = lleval_xcalloc(t.ncols, sizeof(*w));
    for (size_t r = 0; r < t.nrows; r++)
        for (size_t c = 0; c < t.ncols; c++)
            if (width(t.cells[r * t.ncols + c]) > w[c])
                w[c] = width(t.cells[r * t.ncols + c]);
    for (size_t r = 0; r < t.nrows; r++) {
        for (size_t c = 0; c < t.ncols; c++) {
            const char *cell = t.cells[r * t.ncols + c];
            size_t pad = w[c] - width(cell);
            bool left = c < 3, last = c + 1 == t.ncols;
            if (!left)
                lleval_sb_addf(&sb, "%*s", (int)pad, "");
            lleval_sb_adds(&sb, cell);
            if (left && !last)
                lleval_sb_addf(&sb, "%*s", (int)pad, "");
            if (!last)
                lleval_sb_adds(&sb, "  ");
        }
        lleval_sb_addch(&sb, '\n');
    }
    lleval_score_notes(res, &sb);
    free(w);
    lleval_score_table_release(&t);
    return lleval_sb_detach(&sb, NULL);
}

char **lleval_score_warnings(const struct lleval_score_result *res, size_t *n)
{
    char **out = lleval_xmalloc((res->n_warnings + 1) * sizeof(char *));
    for (size_t i = 0; i < res->n_warnings; i++)
        out[i] = lleval_xstrdup(res->warnings[i]);
    out[res->n_warnings] = NULL;
    *n = res->n_warnings;
    return out;
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
