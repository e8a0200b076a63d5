/*
 * The report's "Leaderboard" section, in report.html and report.md, for a run
 * of several models: each model's share of items answered correctly with its
 * 95% bootstrap interval, best first, and for every pair of models McNemar's
 * exact test on the items both answered (how many each got right where the
 * other did not). Each model's finish reasons (its answers cut at
 * max_new_tokens, its failed requests) are summed from its score groups. The facts are
 * scores.json's "leaderboard" (leaderboard.h), read once by lleval_report_load_leaderboard(); runs
 * of one model render nothing. Model names are escaped (HTML / Markdown) and cut.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/launch.h"
#include "lleval/platform/fs.h"
#include "lleval/util/text.h"
#include "report_int.h"

#define MODEL_MAX     120 /* bytes of a model name shown */
#define P_SIGNIFICANT 0.05

void lleval_report_load_leaderboard(struct report *r)
{
    char *path = lleval_run_file_path(r->dir, LLEVAL_RUN_FILE_SCORES);
    json_t *doc = r->scores ? json_load_file(path, 0, NULL) : NULL;
    memset(&r->lb, 0, sizeof(r->lb));
    if (doc)
        lleval_leaderboard_read(doc, &r->lb);
    json_decref(doc);
    free(path);
}

/* Escapes at most MODEL_MAX bytes of a model name into sb (HTML or Markdown). */
static void esc(struct lleval_sb *sb, const char *s, bool md)
{
    lleval_report_esc_cut(sb, s, MODEL_MAX, md);
}

/* Best first; ties keep the models' order. */
static int cmp_rank(const void *x, const void *y)
{
    const struct lleval_lb_model *a = *(const struct lleval_lb_model *const *)x;
    const struct lleval_lb_model *b = *(const struct lleval_lb_model *const *)y;
    double ma = isfinite(a->correct.mean) ? a->correct.mean : -1;
    double mb = isfinite(b->correct.mean) ? b->correct.mean : -1;
    if (ma != mb)
        return ma > mb ? -1 : 1;
    return a < b ? -1 : 1;
}

/* The models best first; owned array of borrowed pointers. */
static const struct lleval_lb_model **ranked(const struct lleval_leaderboard *lb)
{
    const struct lleval_lb_model **order = lleval_xmalloc(lb->n_models * sizeof(*order));
    for (size_t i = 0; i < lb->n_models; i++)
        order[i] = &lb->models[i];
    qsort(order, lb->n_models, sizeof(*order), cmp_rank);
    return order;
}

/* "61.5" and "[52.0, 70.1]" (or "n/a" and "") into the two buffers. */
static void fmt_ci(const struct lleval_ci *c, char *v, size_t vs, char *ci, size_t cs)
{
    if (isfinite(c->mean))
        snprintf(v, vs, "%.1f", c->mean * 100.0);
    else
        snprintf(v, vs, "n/a");
    if (isfinite(c->lo) && isfinite(c->hi))
        snprintf(ci, cs, "[%.1f, %.1f]", c->lo * 100.0, c->hi * 100.0);
    else
        ci[0] = 0;
}

/* A model's finish reasons, summed over its score groups (overall rows left out). */
struct finish {
    long n, length, error;
};

static struct finish model_finish(const struct report *r, const char *model)
{
    struct finish f = {0, 0, 0};
    for (size_t i = 0; r->scores && i < r->scores->n_groups; i++) {
        const struct lleval_scores_group *g = &r->scores->groups[i];
        if (g->overall || !g->model || strcmp(g->model, model))
            continue;
        f.n += g->finish_stop + g->finish_length + g->finish_error + g->finish_other;
        f.length += g->finish_length;
        f.error += g->finish_error;
    }
    return f;
}

/* "12.5" of part in whole, or "-" without answers. */
static const char *pct_text(char *buf, size_t size, long part, long whole)
{
    if (whole <= 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.1f", 100.0 * (double)part / (double)whole);
    return buf;
}

static const char *verdict(double p)
{
    if (!isfinite(p))
        return "no test";
    return p < P_SIGNIFICANT ? "differ (p < 0.05)" : "no significant difference";
}

void lleval_report_leaderboard_html(struct lleval_sb *sb, const struct report *r)
{
    const struct lleval_leaderboard *lb = &r->lb;
    const struct lleval_lb_model **order;
    char v[32], ci[64];

    if (lb->n_models < 2)
        return;
    order = ranked(lb);
    lleval_sb_adds(sb, "<section id=\"leaderboard\">\n<h2>Leaderboard</h2>\n"
                       "<p class=\"muted\">Each model's share of items answered correctly (exact "
                       "match on QA, the gold letter on multiple choice; a failed request is "
                       "wrong), and over its QA items mean F1 and the share of answers that "
                       "contain a gold answer, each with its 95% bootstrap interval, best "
                       "first.</p>\n"
                       "<div class=\"scroll\"><table class=\"leaderboard\">\n<thead><tr>"
                       "<th class=\"n\">rank</th><th>model</th><th class=\"n\">items</th>"
                       "<th class=\"n\">correct %</th><th class=\"n\">95% CI</th>"
                       "<th class=\"n\">F1</th><th class=\"n\">95% CI</th>"
                       "<th class=\"n\">contains %</th><th class=\"n\">95% CI</th>"
                       "<th class=\"n\">cut at max_new_tokens %</th><th class=\"n\">failed "
                       "requests</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < lb->n_models; i++) {
        fmt_ci(&order[i]->correct, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, "<tr><td class=\"n\">%zu</td><td>", i + 1);
        esc(sb, order[i]->model, false);
        struct finish f = model_finish(r, order[i]->model);
        char cut[32];
        lleval_sb_addf(
            sb, "</td><td class=\"n\">%llu</td><td class=\"n\">%s</td><td class=\"n\">%s</td>",
            (unsigned long long)order[i]->correct.n, v, ci);
        fmt_ci(&order[i]->f1, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, "<td class=\"n\">%s</td><td class=\"n\">%s</td>", v, ci);
        fmt_ci(&order[i]->contains, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, "<td class=\"n\">%s</td><td class=\"n\">%s</td>", v, ci);
        lleval_sb_addf(sb, "<td class=\"n\">%s</td><td class=\"n\">%ld</td></tr>\n",
                       pct_text(cut, sizeof(cut), f.length, f.n), f.error);
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n");
    free(order);
    if (lb->n_pairs) {
        lleval_sb_adds(
            sb, "<p class=\"muted\">Paired tests: McNemar's exact test on the items "
                "both models answered. Which items one model got right and the other "
                "wrong: the item explorer below (filter by model and verdict), or "
                "<code>lleval runs compare RUN --model-a A --model-b B</code>.</p>\n"
                "<div class=\"scroll\"><table class=\"pairs\">\n<thead><tr>"
                "<th>model A</th><th>model B</th><th class=\"n\">paired items</th>"
                "<th class=\"n\">right for A only</th><th class=\"n\">right for B only</th>"
                "<th class=\"n\">McNemar exact p</th><th>verdict</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < lb->n_pairs; i++) {
            const struct lleval_lb_pair *p = &lb->pairs[i];
            lleval_sb_adds(sb, "<tr><td>");
            esc(sb, lb->models[p->a].model, false);
            lleval_sb_adds(sb, "</td><td>");
            esc(sb, lb->models[p->b].model, false);
            lleval_sb_addf(sb,
                           "</td><td class=\"n\">%zu</td><td class=\"n\">%ld</td>"
                           "<td class=\"n\">%ld</td><td class=\"n\">%.4g</td><td>%s</td>"
                           "</tr>\n",
                           p->n, p->a_only, p->b_only, p->mcnemar_p, verdict(p->mcnemar_p));
        }
        lleval_sb_adds(sb, "</tbody></table></div>\n");
    }
    lleval_sb_adds(sb, "</section>\n");
}

void lleval_report_leaderboard_md(struct lleval_sb *sb, const struct report *r)
{
    const struct lleval_leaderboard *lb = &r->lb;
    const struct lleval_lb_model **order;
    char v[32], ci[64];

    if (lb->n_models < 2)
        return;
    order = ranked(lb);
    lleval_sb_adds(sb, "\n## Leaderboard (95% CI; F1 and contains over QA items)\n\n"
                       "| rank | model | items | correct % | 95% CI | F1 | 95% CI | contains % | "
                       "95% CI | cut at max_new_tokens % | failed requests |\n"
                       "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < lb->n_models; i++) {
        fmt_ci(&order[i]->correct, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, "| %zu | ", i + 1);
        esc(sb, order[i]->model, true);
        struct finish f = model_finish(r, order[i]->model);
        char cut[32];
        lleval_sb_addf(sb, " | %llu | %s | %s", (unsigned long long)order[i]->correct.n, v, ci);
        fmt_ci(&order[i]->f1, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, " | %s | %s", v, ci);
        fmt_ci(&order[i]->contains, v, sizeof(v), ci, sizeof(ci));
        lleval_sb_addf(sb, " | %s | %s", v, ci);
        lleval_sb_addf(sb, " | %s | %ld |\n", pct_text(cut, sizeof(cut), f.length, f.n), f.error);
    }
    free(order);
    if (!lb->n_pairs)
        return;
    lleval_sb_adds(sb, "\n| model A | model B | paired items | right for A only | right for B "
                       "only | McNemar exact p | verdict |\n|---|---|--:|--:|--:|--:|---|\n");
    for (size_t i = 0; i < lb->n_pairs; i++) {
        const struct lleval_lb_pair *p = &lb->pairs[i];
        lleval_sb_adds(sb, "| ");
        esc(sb, lb->models[p->a].model, true);
        lleval_sb_adds(sb, " | ");
        esc(sb, lb->models[p->b].model, true);
        lleval_sb_addf(sb, " | %zu | %ld | %ld | %.4g | %s |\n", p->n, p->a_only, p->b_only,
                       p->mcnemar_p, verdict(p->mcnemar_p));
    }
}

void lleval_report_models_setting(struct lleval_sb *sb, const struct lleval_config *c)
{
    struct lleval_sb v = LLEVAL_SB_INIT;
    if (!c->n_model_cfgs)
        return;
    for (size_t i = 0; i < c->n_model_cfgs; i++) {
        struct lleval_config m;
        lleval_config_for_model(c, c->model_cfgs[i].id, &m);
        lleval_sb_addf(&v, "%s%s: ", i ? "; " : "", m.model_id);
        if (c->launch.enabled)
            lleval_sb_addf(&v, "%s (ctx_size %ld, parallel %ld, gpu_layers %ld), ",
                           m.launch.model ? m.launch.model : "?", lleval_launch_ctx_size(&m),
                           lleval_launch_parallel(&m), m.launch.gpu_layers);
        lleval_sb_addf(&v, "max_concurrent_jobs %ld", m.max_concurrent_jobs);
    }
    lleval_sb_adds(sb, "<tr><th>models</th><td>");
    lleval_html_escape(sb, v.buf);
    lleval_sb_adds(sb, "</td></tr>\n");
    lleval_sb_release(&v);
}
