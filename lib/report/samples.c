/*
 * The report's sampled answers (see report_int.h): per dataset x prompt type
 * x temperature, the first few wrong and right answers of predictions.csv,
 * scored again against the prepared data (lleval_score_each(), without
 * intervals) and shown with their question and gold answers; when the
 * prepared data is gone, the first answers of each group without verdicts.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/score/items.h"
#include "lleval/score/predictions.h"
#include "lleval/score/score.h"
#include "lleval/util/csv.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "report_int.h"

/* a sample's index in the custom_id lookup: group * SLOTS + sample */
#define SLOTS (LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT)

void lleval_report_samples_release(struct report *r)
{
    struct sgroup *sg = r->sg;
    size_t n = r->n_sg;
    for (size_t g = 0; g < n; g++) {
        for (size_t i = 0; i < sg[g].n; i++) {
            struct sample *s = &sg[g].s[i];
            free(s->custom_id);
            free(s->item_id);
            free(s->answer);
            free(s->prediction);
            free(s->finish);
            free(s->error);
            json_decref(s->item);
        }
        free(sg[g].s);
        free(sg[g].dataset);
        free(sg[g].prompt);
        free(sg[g].temp);
    }
    free(sg);
    r->sg = NULL;
    r->n_sg = r->cap_sg = 0;
}

/* ---- sampled answers ---------------------------------------------------- */

static struct sgroup *sgroup_get(struct report *r, const char *dataset, const char *prompt,
                                 const char *temp)
{
    struct sgroup *g;
    for (size_t i = 0; i < r->n_sg; i++) {
        g = &r->sg[i];
        if (!strcmp(g->dataset, dataset) && !strcmp(g->prompt, prompt) && !strcmp(g->temp, temp))
            return g;
    }
    LLEVAL_GROW(r->sg, r->n_sg, r->cap_sg);
    g = &r->sg[r->n_sg++];
    memset(g, 0, sizeof(*g));
    g->dataset = lleval_xstrdup(dataset);
    g->prompt = lleval_xstrdup(prompt);
    g->temp = lleval_xstrdup(temp);
    return g;
}

static struct sample *sample_add(struct sgroup *g, const char *custom_id, const char *item_id)
{
    struct sample *s;
    LLEVAL_GROW(g->s, g->n, g->cap);
    s = &g->s[g->n++];
    memset(s, 0, sizeof(*s));
    s->custom_id = lleval_xstrdup(custom_id);
    s->item_id = lleval_xstrdup(item_id);
    s->choice = -1;
    return s;
}

static int on_scored(const struct lleval_item_score *is, void *ud)
{
    struct report *r = ud;
    struct sgroup *g;
    struct sample *s;
    if (is->state != LLEVAL_ITEM_SCORED)
        return 0;
    g = sgroup_get(r, is->dataset, is->prompt_type, is->temperature);
    g->rows++;
    if (is->correct)
        g->right++;
    else
        g->wrong++;
    if (is->correct ? g->kept_right >= LLEVAL_REPORT_RIGHT : g->kept_wrong >= LLEVAL_REPORT_WRONG)
        return 0;
    if (is->correct)
        g->kept_right++;
    else
        g->kept_wrong++;
    s = sample_add(g, is->custom_id, is->item_id);
    s->scored = true;
    s->correct = is->correct;
    s->ok = is->ok;
    s->mc = is->scoring == LLEVAL_SCORING_MC;
    s->f1 = is->f1;
    s->choice = is->choice;
    s->answer = lleval_xstrdup(is->answer ? is->answer : "");
    return 0;
}

/* The columns the samples read: predictions.h's reader requires them. */
static const enum lleval_pred_col used_cols[] = {
    LLEVAL_PRED_CUSTOM_ID,     LLEVAL_PRED_DATASET,     LLEVAL_PRED_ITEM_ID,
    LLEVAL_PRED_PROMPT_TYPE,   LLEVAL_PRED_TEMPERATURE, LLEVAL_PRED_STATUS,
    LLEVAL_PRED_FINISH_REASON, LLEVAL_PRED_PREDICTION,  LLEVAL_PRED_ERROR,
};
#define N_USED (sizeof(used_cols) / sizeof(used_cols[0]))

static unsigned used_bits(void)
{
    unsigned bits = 0;
    for (size_t i = 0; i < N_USED; i++)
        bits |= LLEVAL_PRED_BIT(used_cols[i]);
    return bits;
}

/* Whether path holds no CSV record at all (not even a header). */
static bool csv_empty(const char *path)
{
    struct lleval_csv_reader cr;
    struct lleval_err e = LLEVAL_ERR_INIT;
    bool empty;
    memset(&cr, 0, sizeof(cr));
    empty = !lleval_csv_open(&cr, path, &e) && lleval_csv_next(&cr, &e) == 0;
    lleval_csv_close(&cr);
    return empty;
}

/*
 * Opens predictions.csv with the reader (rows with another field count than
 * the header skipped) and says a failure in the report's own words: "'path'
 * is empty", "'path': column 'X' is missing"; a malformed file keeps the
 * reader's message. A header was read exactly when the reader failed on a
 * missing column, and the reader checks the columns in the table's order
 * (the order of used_cols), so the first used column it did not find is the
 * one it names.
 */
static int open_predictions(struct lleval_pred_reader *pr, const char *path, struct lleval_err *err)
{
    int rc = lleval_pred_open(pr, path, used_bits(), LLEVAL_PRED_SKIP_RAGGED, err);
    if (!rc)
        return 0;
    if (pr->n_header) {
        for (size_t i = 0; i < N_USED; i++)
            if (pr->cols[used_cols[i]] < 0)
                return lleval_err_set(err, LLEVAL_EINVAL, "'%s': column '%s' is missing", path,
                                      lleval_pred_col_name(used_cols[i]));
    } else if (csv_empty(path)) {
        return lleval_err_set(err, LLEVAL_EINVAL, "'%s' is empty", path);
    }
    return rc;
}

/* Reads predictions.csv: fills the rows of the sampled custom_ids (gold
 * mode), or samples the first rows of each group (predictions only). */
static int read_predictions(struct report *r, const char *path, struct lleval_err *err)
{
    struct lleval_pred_reader pr;
    struct lleval_pred_row row;
    json_t *index = json_object();
    int rc;

    for (size_t g = 0; g < r->n_sg; g++)
        for (size_t i = 0; i < r->sg[g].n; i++)
            json_object_set_new(index, r->sg[g].s[i].custom_id,
                                json_integer((json_int_t)(g * SLOTS + i)));
    rc = open_predictions(&pr, path, err);
    if (rc) {
        json_decref(index);
        return rc;
    }
    while ((rc = lleval_pred_next(&pr, &row, err)) == 1) {
        struct sample *s;
        if (r->gold) {
            const json_t *at = json_object_get(index, row.custom_id);
            json_int_t k;
            if (!at)
                continue;
            k = json_integer_value(at);
            s = &r->sg[k / SLOTS].s[k % SLOTS];
            if (s->have_row)
                continue;
        } else {
            struct sgroup *g = sgroup_get(r, row.dataset, row.prompt_type, row.temperature);
            g->rows++;
            if (g->n >= LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT)
                continue;
            s = sample_add(g, row.custom_id, row.item_id);
        }
        s->have_row = true;
        s->ok = !strcmp(row.status, "ok");
        s->prediction = lleval_xstrdup(row.prediction);
        s->finish = lleval_xstrdup(row.finish_reason);
        s->error = lleval_xstrdup(row.error);
    }
    if (rc > 0)
        rc = 0;
    lleval_pred_close(&pr);
    json_decref(index);
    return rc;
}

static bool wanted(void *ud, const char *id)
{
    return json_object_get(ud, id) != NULL;
}

/* Attaches the gold item of every sample (the prepared data is there): only
 * the sampled items of each dataset are read whole (lleval_prepared_pick). */
static void attach_gold(struct report *r, const char *prepared_dir)
{
    for (size_t g = 0; g < r->n_sg; g++) {
        struct lleval_err e = LLEVAL_ERR_INIT;
        json_t *want = json_object(), *index;
        bool seen = false;
        for (size_t h = 0; h < g && !seen; h++)
            seen = !strcmp(r->sg[h].dataset, r->sg[g].dataset);
        if (seen) {
            json_decref(want);
            continue;
        }
        for (size_t h = g; h < r->n_sg; h++)
            for (size_t i = 0; !strcmp(r->sg[h].dataset, r->sg[g].dataset) && i < r->sg[h].n; i++)
                json_object_set_new(want, r->sg[h].s[i].item_id, json_true());
        index = lleval_prepared_pick(prepared_dir, r->sg[g].dataset, wanted, want, &e);
        json_decref(want);
        if (!index)
            continue;
        for (size_t h = g; h < r->n_sg; h++) {
            if (strcmp(r->sg[h].dataset, r->sg[g].dataset))
                continue;
            for (size_t i = 0; i < r->sg[h].n; i++) {
                struct sample *s = &r->sg[h].s[i];
                json_t *item = json_object_get(index, s->item_id);
                if (item)
                    s->item = json_incref(item);
            }
        }
        json_decref(index);
    }
}

/* Where a sample group sits in the scores table (its order), or past the end. */
static size_t sgroup_rank(const struct report *r, const struct sgroup *g)
{
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *x = &r->grps[i];
        if (!x->overall && x->prompt && !strcmp(x->dataset, g->dataset) &&
            !strcmp(x->prompt, g->prompt) && !strcmp(x->temp, g->temp))
            return i;
    }
    return r->n_grps;
}

/* Orders the sample groups like the scores table (stable: insertion sort). */
static void sort_sgroups(struct report *r)
{
    for (size_t i = 1; i < r->n_sg; i++) {
        struct sgroup g = r->sg[i];
        size_t rank = sgroup_rank(r, &g), j = i;
        while (j > 0 && sgroup_rank(r, &r->sg[j - 1]) > rank) {
            r->sg[j] = r->sg[j - 1];
            j--;
        }
        r->sg[j] = g;
    }
}

/* ---- from results/items.jsonl ---------------------------------------------- */

/* The gold item a sample shows: its question, gold answers and choices. */
static json_t *item_of(const struct lleval_item_row *w)
{
    json_t *item = json_object(), *answers = json_array();
    json_object_set_new(item, "question", json_string(w->question));
    for (size_t i = 0; i < w->n_gold; i++)
        json_array_append_new(answers, json_string(w->gold[i]));
    json_object_set_new(item, "answers", answers);
    if (w->n_choices) {
        json_t *choices = json_array();
        for (size_t i = 0; i < w->n_choices; i++)
            json_array_append_new(choices, json_string(w->choices[i]));
        json_object_set_new(item, "choices", choices);
    }
    return item;
}

/* One scored item: counted in its group, kept as a sample (as on_scored() and
 * read_predictions() keep it) and given to the explorer's rows. */
static int on_item(const struct lleval_item_row *w, void *ud)
{
    struct report *r = ud;
    struct sgroup *g = sgroup_get(r, w->dataset, w->prompt_type, w->temperature);
    struct sample *s;
    lleval_report_xdata_row(&r->xd, r, w);
    g->rows++;
    if (w->correct)
        g->right++;
    else
        g->wrong++;
    if (w->correct ? g->kept_right >= LLEVAL_REPORT_RIGHT : g->kept_wrong >= LLEVAL_REPORT_WRONG)
        return 0;
    if (w->correct)
        g->kept_right++;
    else
        g->kept_wrong++;
    s = sample_add(g, w->custom_id, w->item_id);
    s->scored = true;
    s->correct = w->correct;
    s->ok = w->ok;
    s->mc = w->mc;
    s->f1 = w->f1;
    s->choice = w->mc && w->mc_letter >= 'A' && w->mc_letter <= 'Z' ? w->mc_letter - 'A' : -1;
    s->answer = lleval_xstrdup(w->answer);
    s->have_row = true;
    s->prediction = lleval_xstrdup(w->prediction);
    s->finish = lleval_xstrdup(w->finish_reason);
    s->error = lleval_xstrdup(w->error);
    s->item = item_of(w);
    return 0;
}

/* Forgets what on_item() gathered (the scanner gave up: the file is read again). */
static void reset_items(void *ud)
{
    struct report *r = ud;
    uint64_t cut = r->xd.cut;
    json_t *picked = r->xd.picked, *want = r->xd.want;
    r->xd.picked = r->xd.want = NULL;
    lleval_report_samples_release(r);
    lleval_report_xdata_release(&r->xd);
    r->xd.cut = cut;
    r->xd.picked = picked;
    r->xd.want = want;
}

/* The non-empty lines of path, or -1 when it cannot be read. */
static long long count_lines(const char *path)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    FILE *f;
    char *buf;
    long long n = 0;
    bool content = false;
    size_t got;
    if (lleval_fopen_read(path, &f, &e))
        return -1;
    buf = lleval_xmalloc(1 << 16);
    while ((got = fread(buf, 1, 1 << 16, f)) > 0) {
        const char *p = buf, *end = buf + got;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                content = true;
                break;
            }
            n += content || nl > p;
            content = false;
            p = nl + 1;
        }
    }
    n += content;
    if (ferror(f))
        n = -1;
    fclose(f);
    free(buf);
    return n;
}

/*
 * The samples and the explorer's rows from results/items.jsonl, in one pass
 * (issue 13: the items scored by the score step, not scored again; no gold
 * set held). False when the file cannot be read: nothing is kept then.
 */
static bool load_from_items(struct report *r, const char *path, const char *prepared)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    long long total = count_lines(path);
    if (total < 0)
        return false;
    memset(&r->xd, 0, sizeof(r->xd));
    r->xd.cut = lleval_report_sample_cut(
        (size_t)total, r->explorer_max ? r->explorer_max : LLEVAL_REPORT_EXPLORER_MAX);
    if (lleval_items_each_fast(path, on_item, reset_items, r, &e))
        goto fail;
    if (r->xd.want) {
        /* prompts with a {context}: read those prepared items, then the rows again */
        reset_items(r);
        lleval_report_xdata_pick(&r->xd, prepared);
        if (lleval_items_each_fast(path, on_item, reset_items, r, &e))
            goto fail;
    }
    r->xd.ready = true;
    return true;
fail:
    lleval_report_samples_release(r);
    lleval_report_xdata_release(&r->xd);
    return false;
}

void lleval_report_load_samples(struct report *r)
{
    char *pred = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_PREDICTIONS);
    char *items = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_ITEMS_JSONL);
    const char *prepared = r->have_cfg ? r->cfg.prepared_dir : NULL;
    struct lleval_err e = LLEVAL_ERR_INIT;
    char *why = NULL;

    if (!prepared && r->scores)
        prepared = r->scores->prepared_dir;
    if (!lleval_path_exists(pred)) {
        r->samples_note =
            lleval_xasprintf("no answers to show: %s was not written (steps done: %s)",
                             lleval_run_file_rel(LLEVAL_RUN_FILE_PREDICTIONS), r->steps_done);
        free(items);
        free(pred);
        return;
    }
    if (!prepared) {
        why = lleval_xstrdup("the run's prepared_dir is unknown (no readable config)");
    } else if (!lleval_is_dir(prepared)) {
        why = lleval_xasprintf("the prepared data in '%s' is gone", prepared);
    } else if (lleval_path_exists(items) && load_from_items(r, items, prepared)) {
        r->gold = true;
        sort_sgroups(r);
        free(items);
        free(pred);
        return;
    } else {
        struct lleval_score_opts so;
        lleval_score_opts_init(&so);
        if (r->have_cfg)
            lleval_score_opts_from_config(&so, &r->cfg);
        so.bootstrap = 0;
        if (lleval_score_each(pred, prepared, &so, on_scored, r, &e)) {
            why = lleval_xasprintf("the answers could not be scored against the prepared data: %s",
                                   e.msg);
            lleval_report_samples_release(r);
        } else {
            r->gold = true;
        }
    }
    if (why)
        r->samples_note = lleval_xasprintf(
            "%s; showing predictions only, without questions and gold answers (prepare the "
            "datasets again with the run's config to see them)",
            why);
    free(why);
    if (read_predictions(r, pred, &e)) {
        free(r->samples_note);
        r->samples_note = lleval_xasprintf("no answers to show: %s", e.msg);
        lleval_report_samples_release(r);
    } else if (r->gold) {
        attach_gold(r, prepared);
    }
    sort_sgroups(r);
    free(items);
    free(pred);
}
