/*
 * The comparison page of two runs (`lleval report A B`, see report.h and
 * docs/report.md): the per-group numbers of `lleval runs compare` (paired
 * by custom_id, B - A with its 95% paired bootstrap interval, McNemar's
 * exact test) and every flipped item, right in one run and wrong in the
 * other, with its question, gold answers and both runs' answers.
 *
 * One self-contained static page: inline CSS, no script, nothing fetched
 * (its Content-Security-Policy allows no network access). The statistics
 * and the items of each run come from lleval_compare_runs() (lib/score:
 * each run's results/items.jsonl, read once by the fast reader, or, where
 * that could show other figures, its predictions.csv scored again), as
 * `lleval runs compare` has them; the flipped items' texts from items.jsonl
 * again (compare_flips.c) or from scoring again (lleval_report_xrows_load()
 * in explorer.c); every text from the runs is HTML-escaped here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/report/report.h"
#include "lleval/run/batch.h"
#include "lleval/score/compare.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

/* Bytes of one answer shown (the rest is in the run's predictions.csv). */
#define CMP_TEXT_MAX 8000
/* Flipped items listed per direction. */
#define CMP_FLIPS_MAX 5000

static void he(struct lleval_sb *sb, const char *s)
{
    lleval_html_escape(sb, s ? s : "");
}

/* Escapes at most max bytes of s, saying how many were left out. */
static void he_cut(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0, cut = lleval_utf8_cut(s ? s : "", len, max);
    lleval_html_escape_n(sb, s ? s : "", cut);
    if (cut < len)
        lleval_sb_addf(sb, "\n[... %zu more bytes not shown]", len - cut);
}

static void pct(struct lleval_sb *sb, double v)
{
    if (isnan(v))
        lleval_sb_adds(sb, "&ndash;");
    else
        lleval_sb_addf(sb, "%.1f", 100.0 * v);
}

static void delta(struct lleval_sb *sb, const struct lleval_ci *ci)
{
    if (isnan(ci->mean)) {
        lleval_sb_adds(sb, "&ndash;");
        return;
    }
    lleval_sb_addf(sb, "%+.1f", 100.0 * ci->mean);
    if (!isnan(ci->lo))
        lleval_sb_addf(sb, "<span class=\"ci\">[%+.1f, %+.1f]</span>", 100.0 * ci->lo,
                       100.0 * ci->hi);
}

/* One run's answer to a flipped item: the full answer and what was scored. */
static void answer_cell(struct lleval_sb *sb, const struct xrow *w)
{
    lleval_sb_adds(sb, "<td>");
    if (!w) {
        lleval_sb_adds(sb, "<span class=\"muted\">not in predictions.csv</span></td>");
        return;
    }
    if (w->verdict == XV_ERROR) {
        lleval_sb_adds(sb, "<span class=\"s-bad\">error: ");
        he_cut(sb, *w->error ? w->error : "request failed", CMP_TEXT_MAX);
        lleval_sb_adds(sb, "</span>");
    } else {
        lleval_sb_adds(sb, "<pre class=\"x-text\">");
        if (*w->prediction)
            he_cut(sb, w->prediction, CMP_TEXT_MAX);
        else
            lleval_sb_adds(sb, "(empty)");
        lleval_sb_adds(sb, "</pre>");
    }
    if (w->mc && w->verdict != XV_ERROR) {
        if (w->choice >= 0)
            lleval_sb_addf(sb, "<span class=\"small\">read as %c</span>", 'A' + w->choice);
        else
            lleval_sb_adds(sb, "<span class=\"small\">no answer letter could be read</span>");
    } else if (w->answer && strcmp(w->answer, w->prediction)) {
        lleval_sb_adds(sb, "<span class=\"small\">scored answer: ");
        he_cut(sb, w->answer, CMP_TEXT_MAX);
        lleval_sb_adds(sb, "</span>");
    }
    if (w->finish && *w->finish && strcmp(w->finish, "stop")) {
        lleval_sb_adds(sb, "<span class=\"small s-warn\">finish_reason ");
        he(sb, w->finish);
        lleval_sb_adds(sb, "</span>");
    }
    lleval_sb_adds(sb, "</td>");
}

static void flip_row(struct lleval_sb *sb, const char *cid, const struct xrows *xa,
                     const struct xrows *xb)
{
    const struct xrow *a = lleval_report_xrows_find(xa, cid),
                      *b = lleval_report_xrows_find(xb, cid);
    const json_t *item = a && a->item ? a->item : b ? b->item : NULL;
    struct lleval_cid c;
    lleval_sb_adds(sb, "<tr class=\"flip\"><td class=\"id\"><code>");
    if (!lleval_cid_decode(cid, &c, NULL)) {
        he(sb, c.dataset);
        lleval_sb_adds(sb, "</code><br><code>");
        he(sb, c.item_id);
        lleval_sb_adds(sb, "</code><br><span class=\"muted\">");
        he(sb, c.prompt_type);
        lleval_sb_adds(sb, " &middot; t");
        he(sb, c.temp);
        lleval_sb_addf(sb, " &middot; s%ld</span>", c.sample);
        lleval_cid_release(&c);
    } else {
        he(sb, cid);
        lleval_sb_adds(sb, "</code>");
    }
    lleval_sb_adds(sb, "</td><td class=\"q\">");
    if (item)
        he_cut(sb, lleval_json_str(item, "question"), CMP_TEXT_MAX);
    else
        lleval_sb_adds(sb, "<span class=\"muted\">not in the prepared data</span>");
    lleval_sb_adds(sb, "</td><td>");
    if (item) {
        json_t *golds = lleval_report_golds(item), *g;
        size_t i;
        lleval_sb_adds(sb, "<ul>");
        json_array_foreach(golds, i, g)
        {
            lleval_sb_adds(sb, "<li>");
            he_cut(sb, json_string_value(g), CMP_TEXT_MAX);
            lleval_sb_adds(sb, "</li>");
        }
        lleval_sb_adds(sb, "</ul>");
        json_decref(golds);
    }
    lleval_sb_adds(sb, "</td>");
    answer_cell(sb, a);
    answer_cell(sb, b);
    lleval_sb_adds(sb, "</tr>\n");
}

static void flips_table(struct lleval_sb *sb, const struct lleval_compare_result *res, bool a_right,
                        const char *id, const char *title, const struct xrows *xa,
                        const struct xrows *xb)
{
    size_t n = 0, shown = 0;
    for (size_t k = 0; k < res->n_flips; k++)
        n += res->flips[k].a_right == a_right;
    lleval_sb_addf(sb, "<section id=\"%s\">\n<h2>%s <span class=\"muted\">(%zu)</span></h2>\n", id,
                   title, n);
    if (!n) {
        lleval_sb_adds(sb, "<p class=\"muted\">None.</p>\n</section>\n");
        return;
    }
    if (n > CMP_FLIPS_MAX)
        lleval_sb_addf(sb,
                       "<p class=\"note\">The first %d in custom_id order; `lleval runs compare "
                       "--json` lists all.</p>\n",
                       CMP_FLIPS_MAX);
    lleval_sb_addf(sb,
                   "<div class=\"scroll\"><table class=\"samples flips\" data-flips=\"%zu\">\n"
                   "<thead><tr><th>item</th><th>question</th><th>gold</th><th>A's answer</th>"
                   "<th>B's answer</th></tr></thead>\n<tbody>\n",
                   n);
    for (size_t k = 0; k < res->n_flips && shown < CMP_FLIPS_MAX; k++) {
        if (res->flips[k].a_right != a_right)
            continue;
        flip_row(sb, res->flips[k].custom_id, xa, xb);
        shown++;
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
}

static void run_fact(struct lleval_sb *sb, const char *label, const char *id,
                     const struct lleval_compare_run *r, size_t answers)
{
    lleval_sb_addf(sb, "<div><dt>%s</dt><dd><code>", label);
    he(sb, id);
    lleval_sb_adds(sb, "</code> &middot; ");
    he(sb, r->cfg.model_id && *r->cfg.model_id ? r->cfg.model_id : "(no model)");
    lleval_sb_adds(sb, " on ");
    he(sb, lleval_engine_kind_name(r->cfg.engine));
    lleval_sb_addf(sb, " &middot; %zu answers</dd></div>\n", answers);
}

static void groups_table(struct lleval_sb *sb, const struct lleval_compare_result *res)
{
    lleval_sb_adds(sb, "<section id=\"groups\">\n<h2>Per group</h2>\n");
    if (!res->n_groups) {
        lleval_sb_adds(sb, "<p class=\"note\">No items in common: nothing to compare.</p>\n"
                           "</section>\n");
        return;
    }
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>group</th><th class=\"n\">"
                       "n</th><th>metric</th><th class=\"n\">A</th><th class=\"n\">B</th>"
                       "<th class=\"n\">B &minus; A [95% CI]</th><th class=\"n\">McNemar p</th>"
                       "<th class=\"n\">A only right</th><th class=\"n\">B only right</th>"
                       "</tr></thead>\n<tbody>\n");
    for (size_t k = 0; k < res->n_groups; k++) {
        const struct lleval_compare_group *g = &res->groups[k];
        lleval_sb_adds(sb, "<tr><td>");
        he(sb, g->key);
        lleval_sb_addf(sb, "</td><td class=\"n\">%zu</td><td>%s</td><td class=\"n\">", g->n,
                       g->mc ? "accuracy" : "EM");
        pct(sb, g->a_main);
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        pct(sb, g->b_main);
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        delta(sb, &g->diff_main);
        lleval_sb_addf(sb,
                       "</td><td class=\"n\">%.4g</td><td class=\"n\">%ld</td>"
                       "<td class=\"n\">%ld</td></tr>\n",
                       g->mcnemar_p, g->a_only_right, g->b_only_right);
        if (!g->mc) {
            lleval_sb_adds(sb, "<tr><td></td><td></td><td>F1</td><td class=\"n\">");
            pct(sb, g->a_f1);
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            pct(sb, g->b_f1);
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            delta(sb, &g->diff_f1);
            lleval_sb_adds(sb, "</td><td></td><td></td><td></td></tr>\n");
        }
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
}

static void render(struct lleval_sb *sb, const char *a_id, const char *b_id,
                   const struct lleval_compare_run *a, const struct lleval_compare_run *b,
                   const struct xrows *xa, const struct xrows *xb, size_t na, size_t nb,
                   const struct lleval_compare_result *res)
{
    char gen[40];
    lleval_sb_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"color-scheme\" content=\"light dark\">\n"
                       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                       "'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                       "form-action 'none'\">\n"
                       "<meta name=\"generator\" content=\"lleval\">\n<title>lleval comparison: ");
    he(sb, a_id);
    lleval_sb_adds(sb, " vs ");
    he(sb, b_id);
    lleval_sb_adds(sb, "</title>\n<style>\n");
    for (size_t i = 0; lleval_report_css[i]; i++)
        lleval_sb_adds(sb, lleval_report_css[i]);
    for (size_t i = 0; lleval_explorer_css[i]; i++)
        lleval_sb_adds(sb, lleval_explorer_css[i]);
    lleval_sb_adds(sb, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>lleval comparison: ");
    he(sb, a_id);
    lleval_sb_adds(sb, " (A) vs ");
    he(sb, b_id);
    lleval_sb_adds(sb, " (B)</h1>\n<dl class=\"facts\">\n");
    run_fact(sb, "run A", a_id, a, na);
    run_fact(sb, "run B", b_id, b, nb);
    lleval_sb_addf(sb,
                   "<div><dt>paired items</dt><dd id=\"paired\">%zu</dd></div>\n"
                   "<div><dt>flipped</dt><dd id=\"flipped\">%zu</dd></div>\n</dl>\n"
                   "<nav><a href=\"#groups\">Per group</a><a href=\"#a-right\">Right in A, "
                   "wrong in B</a><a href=\"#b-right\">Right in B, wrong in A</a></nav>\n"
                   "</header>\n",
                   res->paired, res->n_flips);
    lleval_sb_adds(sb, "<p class=\"muted\">Items are paired by custom_id (dataset, item, prompt "
                       "type, temperature, sample); B &minus; A with a 95% paired bootstrap "
                       "interval");
    lleval_sb_addf(sb,
                   " (%ld resamples) and McNemar's exact test on EM (accuracy for multiple "
                   "choice), as <code>lleval runs compare</code> prints them.</p>\n",
                   res->bootstrap);
    if (res->only_a || res->only_b)
        lleval_sb_addf(sb,
                       "<p class=\"note\">The item sets differ: %zu only in A, %zu only in B; "
                       "they are left out (same datasets, prompt set, temperatures and "
                       "--limit_items make them match).</p>\n",
                       res->only_a, res->only_b);
    if (xa->note || xb->note) {
        lleval_sb_adds(sb, "<p class=\"note\">");
        he(sb, xa->note ? xa->note : xb->note);
        lleval_sb_adds(sb, "</p>\n");
    }
    groups_table(sb, res);
    flips_table(sb, res, true, "a-right", "Right in A, wrong in B", xa, xb);
    flips_table(sb, res, false, "b-right", "Right in B, wrong in A", xa, xb);
    lleval_sb_adds(sb, "<footer>Generated by lleval at ");
    lleval_sb_adds(sb, lleval_fmt_utc(gen, sizeof(gen), lleval_now()));
    lleval_sb_adds(sb, " from <code>");
    he(sb, a->dir);
    lleval_sb_adds(sb, "</code> and <code>");
    he(sb, b->dir);
    lleval_sb_adds(sb, "</code>.</footer>\n</main>\n</body>\n</html>\n");
}

int lleval_report_compare_render(const char *runs_dir, const char *a_id, const char *b_id,
                                 struct lleval_sb *html, struct lleval_err *err)
{
    struct lleval_compare_req q;
    struct lleval_comparison c;
    struct xrows xa, xb;
    int rc;

    memset(&xa, 0, sizeof(xa));
    memset(&xb, 0, sizeof(xb));
    lleval_compare_req_init(&q);
    q.a = a_id;
    q.b = b_id;
    rc = lleval_compare_runs(runs_dir, &q, &c, err);
    if (rc)
        goto out;
    if (c.from_items && (lleval_report_cmp_flips(&c.a, &c.res, CMP_FLIPS_MAX, &xa) ||
                         lleval_report_cmp_flips(&c.b, &c.res, CMP_FLIPS_MAX, &xb))) {
        /* items.jsonl could not be read again: both runs are scored again */
        lleval_report_xrows_release(&xa);
        lleval_report_xrows_release(&xb);
        lleval_comparison_release(&c);
        q.rescore = true;
        if ((rc = lleval_compare_runs(runs_dir, &q, &c, err)) != 0)
            goto out;
    }
    if (!c.from_items) {
        /* predictions.csv of both runs was just read: a failure here is a note */
        struct lleval_err e = LLEVAL_ERR_INIT;
        lleval_report_xrows_load(&xa, c.a.dir, &c.a.cfg, c.a.cfg.prepared_dir, &e);
        lleval_report_xrows_load(&xb, c.b.dir, &c.b.cfg, c.b.cfg.prepared_dir, &e);
    }
    render(html, a_id, b_id, &c.a, &c.b, &xa, &xb, c.from_items ? c.a.items.n : xa.n,
           c.from_items ? c.b.items.n : xb.n, &c.res);
out:
    lleval_report_xrows_release(&xa);
    lleval_report_xrows_release(&xb);
    lleval_comparison_release(&c);
    return rc;
}

char *lleval_report_compare_path(const char *runs_dir, const char *a_id, const char *b_id,
                                 struct lleval_err *err)
{
    char *dir = lleval_run_dir(runs_dir, a_id, err), *path;
    if (!dir)
        return NULL; /* a_id is not a valid run id: it names the file */
    free(dir);
    dir = lleval_run_dir(runs_dir, b_id, err);
    if (!dir)
        return NULL;
    path = lleval_xasprintf("%s/compare-%s.html", dir, a_id);
    free(dir);
    return path;
}

int lleval_report_compare_write(const char *runs_dir, const char *a_id, const char *b_id,
                                const char *out_path, struct lleval_err *err)
{
    struct lleval_sb html = LLEVAL_SB_INIT;
    int rc = lleval_report_compare_render(runs_dir, a_id, b_id, &html, err);
    if (!rc) {
        lleval_redact_sb(&html);
        rc = lleval_write_file_atomic(out_path, html.buf, html.len, err);
    }
    lleval_sb_release(&html);
    return rc;
}
