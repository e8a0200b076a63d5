/*
 * The scorer's summary table and its notes (include/lleval/score/score.h,
 * docs/scoring.md); scores.json is written by scores.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/leaderboard.h"
#include "lleval/score/score.h"
#include "lleval/util/format.h"
#include "lleval/util/util.h"

static double pct(long part, long whole)
{
    return lleval_pct((double)part, (double)whole);
}

/* ---- the summary table ---- */

static const char *const table_header[] = {"dataset", "prompt", "temp",     "n",
                                           "EM",      "F1",     "contains", "acc",
                                           "trunc%",  "err%",   "lat ms",   "tok/s"};

/* A metric with its interval; without a value: "n/a" when the group has rows
 * but no successful answer (na), else "-" (the metric does not apply) */
static char *fmt_ci(const struct lleval_ci *ci, double scale, int decimals, bool with_ci, bool na)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    if (ci->n == 0 || !isfinite(ci->mean))
        return lleval_xstrdup(na ? "n/a" : "-");
    lleval_sb_add_ci(&sb, ci->mean * scale, with_ci ? ci->lo * scale : NAN,
                     with_ci ? ci->hi * scale : NAN, decimals, " [", "]");
    return lleval_sb_detach(&sb, NULL);
}

static char *fmt_pct(long part, long whole)
{
    char buf[64];
    return lleval_xstrdup(lleval_fmt_fixed(buf, sizeof(buf), pct(part, whole), 1, "-"));
}

/* Overall rows are shown when a dataset has more than one group (or in JSON mode). */
static bool show_group(const struct lleval_score_result *res, size_t i)
{
    const struct lleval_score_group *g = &res->groups[i];
    if (!g->overall || res->squad_json)
        return true;
    return i >= 2 && !res->groups[i - 2].overall &&
           !strcmp(res->groups[i - 2].dataset, g->dataset) &&
           !strcmp(res->groups[i - 2].model ? res->groups[i - 2].model : "",
                   g->model ? g->model : "");
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
        bool na = g->n > 0 && g->errors >= g->n; /* no successful answer */
        if (!show_group(res, i))
            continue;
        /* a run of several models: "<model>/<dataset>" */
        row[0] =
            g->model ? lleval_xasprintf("%s/%s", g->model, g->dataset) : lleval_xstrdup(g->dataset);
        row[1] = lleval_xstrdup(g->overall ? "all" : (*g->prompt_type ? g->prompt_type : "-"));
        row[2] = lleval_xstrdup(g->overall ? "all" : (*g->temperature ? g->temperature : "-"));
        row[3] = lleval_xasprintf("%ld", g->n);
        row[4] = mc ? lleval_xstrdup("-") : fmt_ci(&g->em, 100.0, dec, true, na);
        row[5] = mc ? lleval_xstrdup("-") : fmt_ci(&g->f1, 100.0, dec, true, na);
        row[6] = mc ? lleval_xstrdup("-") : fmt_ci(&g->contains, 100.0, 1, false, na);
        row[7] = mc ? fmt_ci(&g->accuracy, 100.0, 1, true, na) : lleval_xstrdup("-");
        row[8] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->finish_length, g->n);
        row[9] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->errors, g->n);
        row[10] = fmt_ci(&g->latency_ms, 1.0, 0, false, na);
        row[11] = fmt_ci(&g->tokens_per_s, 1.0, 1, false, na);
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

/* "HasAns EM 50.0 F1 61.2 (96), NoAns EM 40.0 (112)" of a SQuAD 2.0 group. */
static void v2_line(const struct lleval_score_group *g, struct lleval_sb *out)
{
    const struct lleval_squad2_part *h = &g->v2_eval.has_ans, *n = &g->v2_eval.no_ans;
    char label[300];
    if (g->overall)
        snprintf(label, sizeof(label), "%s", g->dataset);
    else
        snprintf(label, sizeof(label), "%s/%s/t%s", g->dataset, g->prompt_type, g->temperature);
    lleval_sb_addf(out, "SQuAD 2.0 %s:", label);
    if (h->total)
        lleval_sb_addf(out, " HasAns EM %.1f F1 %.1f (%ld)",
                       100.0 * h->exact_sum / (double)h->total,
                       100.0 * h->f1_sum / (double)h->total, h->total);
    if (n->total)
        lleval_sb_addf(out, "%s NoAns EM %.1f (%ld)", h->total ? "," : "",
                       100.0 * n->exact_sum / (double)n->total, n->total);
    lleval_sb_addf(out, "; %ld answers abstained\n", g->abstained);
}

void lleval_score_notes(const struct lleval_score_result *res, struct lleval_sb *out)
{
    if (res->squad_v2) {
        /* what evaluate-v2.0 prints, then the counts */
        for (size_t i = 0; i < res->n_missing_ids; i++)
            lleval_sb_addf(out, "Missing prediction for %s\n", res->missing_ids[i]);
        lleval_squad2_format(&res->v2, out);
        lleval_sb_addf(out,
                       "(%ld questions scored: %ld answerable, %ld unanswerable; %ld without a "
                       "prediction)\n",
                       res->v2.all.total, res->v2.has_ans.total, res->v2.no_ans.total,
                       res->missing);
    } else if (res->squad_json) {
        lleval_sb_addf(out,
                       "{\"exact_match\": %.3f, \"f1\": %.3f}  (%ld questions, %ld without "
                       "a prediction)\n",
                       res->exact_match, res->f1, res->total, res->missing);
    }
    for (size_t i = 0; !res->squad_json && i < res->n_groups; i++)
        if (res->groups[i].v2 && (!res->groups[i].overall || show_group(res, i)))
            v2_line(&res->groups[i], out);
    if (!res->squad_json && res->missing > 0) {
        lleval_sb_addf(out, "missing: %ld gold items have no prediction:", res->missing);
        for (size_t i = 0; i < res->n_groups; i++) {
            const struct lleval_score_group *g = &res->groups[i];
            if (!g->overall && g->missing > 0)
                lleval_sb_addf(out, " %s/%s/t%s %ld", g->dataset, g->prompt_type, g->temperature,
                               g->missing);
        }
        lleval_sb_addch(out, '\n');
    }
    if (res->unknown > 0)
        lleval_sb_addf(out, "unknown: %ld predictions name no gold item (not scored)\n",
                       res->unknown);
    if (res->duplicates > 0)
        lleval_sb_addf(out, "duplicates: %ld repeated rows (not scored)\n", res->duplicates);
}

char *lleval_score_format_table(const struct lleval_score_result *res)
{
    /* the tool's table style, without its trimming: the first three columns
     * (dataset, prompt, temp) left-aligned, the numbers right-aligned */
    static const struct lleval_table_style style = {"  ", "", "", false};
    struct lleval_score_table t;
    struct lleval_table *tab;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_score_table(res, &t);
    tab = lleval_table_new(t.ncols);
    for (size_t c = 0; c < t.ncols; c++)
        lleval_table_align(tab, c, c < 3 ? LLEVAL_ALIGN_LEFT : LLEVAL_ALIGN_RIGHT);
    lleval_table_header(tab, (const char *const *)t.cells);
    for (size_t r = 1; r < t.nrows; r++)
        lleval_table_row(tab, (const char *const *)t.cells + r * t.ncols);
    lleval_table_render(tab, &style, &sb);
    lleval_score_notes(res, &sb);
    if (res->leaderboard)
        lleval_leaderboard_format(res->leaderboard, &sb);
    lleval_table_free(tab);
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
