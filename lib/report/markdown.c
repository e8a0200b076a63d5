/*
 * The report's Markdown summary, report.md (see report.h): the header facts,
 * the headline, the scores and finish-reason tables, the speed per trial and
 * the doctor's findings, as short tables to paste into an issue. It renders
 * the same facts as the HTML page (report_int.h); every string from outside
 * is Markdown-escaped, so a cell never breaks its table and no HTML passes.
 */
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/util/format.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

/* Escapes at most max bytes of s, with "..." when cut. */
static void md_trunc(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len, cut;
    if (!s)
        return;
    len = strlen(s);
    cut = lleval_utf8_cut(s, len, max);
    lleval_md_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_adds(sb, "...");
}

/* " 31.2 [12.5, 56.2] |", or " - |" when absent. */
static void md_metric(struct lleval_sb *sb, const struct metric *m, bool ms)
{
    lleval_sb_adds(sb, " ");
    if (m->has)
        lleval_sb_add_ci(sb, m->v, m->lo, m->hi, ms ? lleval_ms_decimals(m->v) : 1, " [", "]");
    else
        lleval_sb_adds(sb, m->na ? "n/a" : "-");
    lleval_sb_adds(sb, " |");
}

/* " 12.5 |" with a format of one double, or " - |". */
static void md_opt(struct lleval_sb *sb, struct opt_num n, const char *fmt)
{
    if (n.has)
        lleval_sb_addf(sb, fmt, n.v);
    else
        lleval_sb_adds(sb, " - |");
}

static void md_header(struct lleval_sb *sb, const struct report *r)
{
    const struct headline *h = &r->h;
    char started[40], dur[32];

    lleval_fmt_utc(started, sizeof(started), r->started);
    lleval_fmt_duration(dur, sizeof(dur), r->duration, LLEVAL_DUR_TENTHS);
    lleval_sb_adds(sb, "# lleval report: ");
    lleval_md_escape(sb, r->run_id);
    lleval_sb_adds(sb, r->models ? "\n\n- **models** " : "\n\n- **model** ");
    lleval_md_escape(sb, *r->model ? r->model : "-");
    lleval_sb_adds(sb, " on **");
    lleval_md_escape(sb, *r->engine ? r->engine : "-");
    lleval_sb_adds(sb, "**, status **");
    lleval_md_escape(sb, r->status_word);
    lleval_sb_addf(sb, "**\n- started %s, duration %s\n", r->started > 0 ? started : "-", dur);
    lleval_sb_addf(sb, "- requests: %ld of %ld answered, %ld error%s", r->answered, r->total,
                   r->errors, r->errors == 1 ? "" : "s");
    if (r->errors && r->total)
        lleval_sb_addf(sb, " (%.1f%%)", r->err_pct);
    lleval_sb_adds(sb, "\n");
    if (*r->last_error) {
        lleval_sb_adds(sb, "- last error: ");
        md_trunc(sb, r->last_error, REPORT_MD_CELL_MAX);
        lleval_sb_adds(sb, "\n");
    }
    if (h->have_main || h->have_tps) {
        lleval_sb_adds(sb, "- headline:");
        if (h->have_main)
            lleval_sb_addf(sb, " %s %.1f%%", h->main_label, h->main);
        if (h->have_acc)
            lleval_sb_addf(sb, ", accuracy %.1f%%", h->acc);
        if (h->have_f1)
            lleval_sb_addf(sb, ", F1 %.1f%%", h->f1);
        if (h->have_trunc)
            lleval_sb_addf(sb, ", truncation %.1f%%", h->trunc);
        if (h->have_tps)
            lleval_sb_addf(sb, ", %.1f tokens/s", h->tps);
        lleval_sb_adds(sb, "\n");
    }
}

static void md_scores(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "\n## Scores (95% CI)\n\n");
    if (!r->scores) {
        md_trunc(sb, r->scores_note, 1000);
        lleval_sb_adds(sb, "\n");
        return;
    }
    lleval_sb_adds(sb, "| dataset | prompt | temp | n | EM % | F1 % | contains % | acc % | "
                       "trunc % | err % | latency ms | tok/s |\n"
                       "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        if (!g->shown)
            continue;
        lleval_sb_adds(sb, "| ");
        lleval_md_escape(sb, g->dataset);
        lleval_sb_adds(sb, " | ");
        lleval_md_escape(sb, g->overall ? "all" : g->prompt ? g->prompt : "");
        lleval_sb_adds(sb, " | ");
        lleval_md_escape(sb, g->overall ? "all" : g->temp);
        lleval_sb_addf(sb, " | %ld |", g->n);
        md_metric(sb, &g->em, false);
        md_metric(sb, &g->f1, false);
        md_metric(sb, &g->contains, false);
        md_metric(sb, &g->acc, false);
        md_metric(sb, &g->trunc, false);
        md_metric(sb, &g->err, false);
        md_metric(sb, &g->lat, true);
        md_metric(sb, &g->tps, false);
        lleval_sb_adds(sb, "\n");
    }
    if (r->warnings_listed)
        lleval_sb_adds(sb, "\n");
    for (size_t i = 0; i < r->n_warnings; i++) {
        lleval_sb_adds(sb, "- warning: ");
        md_trunc(sb, r->warnings[i], REPORT_MD_CELL_MAX);
        lleval_sb_adds(sb, "\n");
    }
}

static void md_finish(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "\n## Finish reasons\n\n");
    if (!r->scores && r->finish_note) {
        md_trunc(sb, r->finish_note, 1000);
        lleval_sb_adds(sb, "\n");
    }
    if (!r->n_frows)
        return;
    if (!r->scores && r->finish_note)
        lleval_sb_adds(sb, "\n");
    lleval_sb_adds(sb, "| group | answers | stop | length | error | other |\n"
                       "|---|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < r->n_frows; i++) {
        const struct frow *f = &r->frows[i];
        long n = f->stop + f->length + f->error + f->other;
        long c[4] = {f->stop, f->length, f->error, f->other};
        lleval_sb_adds(sb, "| ");
        lleval_md_escape(sb, f->dataset);
        lleval_sb_adds(sb, " / ");
        lleval_md_escape(sb, f->prompt ? f->prompt : "all");
        lleval_sb_adds(sb, " / t");
        lleval_md_escape(sb, f->temp);
        lleval_sb_addf(sb, " | %ld |", n);
        for (int k = 0; k < 4; k++)
            lleval_sb_addf(sb, " %ld (%.1f%%) |", c[k], n ? 100.0 * (double)c[k] / (double)n : 0.0);
        lleval_sb_adds(sb, "\n");
    }
}

static void md_speed(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "\n## Speed per trial\n\n");
    if (!r->n_trials) {
        lleval_sb_adds(sb, "No trials yet.\n");
    } else {
        lleval_sb_adds(sb, "| trial | answered | errors | elapsed | prompt tok/s | gen tok/s | "
                           "wall tok/s | telemetry |\n|---|--:|--:|--:|--:|--:|--:|---|\n");
        for (size_t i = 0; i < r->n_trials; i++) {
            const struct trial *t = &r->trials[i];
            char d[32];
            lleval_fmt_duration(d, sizeof(d), t->elapsed, LLEVAL_DUR_TENTHS);
            lleval_sb_adds(sb, "| ");
            lleval_md_escape(sb, t->name);
            lleval_sb_addf(sb, " | %lld / %lld | %lld | %s |", t->answered, t->requests, t->errors,
                           d);
            md_opt(sb, t->prompt_tps, " %.1f |");
            md_opt(sb, t->gen_tps, " %.1f |");
            if (t->wall_tps.has)
                lleval_sb_addf(sb, " %.1f | ", t->wall_tps.v);
            else
                lleval_sb_adds(sb, " - | ");
            lleval_md_escape(sb, t->tstatus);
            lleval_sb_adds(sb, " |\n");
        }
    }
    if (!r->any_gpu)
        return;
    lleval_sb_adds(sb, "\n| trial | GPU | memory peak / total MiB | util mean / peak % | "
                       "temp peak C | power mean W | energy/token J |\n"
                       "|---|---|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < r->n_trials; i++) {
        const struct trial *t = &r->trials[i];
        if (!t->has_gpu)
            continue;
        lleval_sb_adds(sb, "| ");
        lleval_md_escape(sb, t->name);
        lleval_sb_adds(sb, " | ");
        lleval_md_escape(sb, t->gpu_name ? t->gpu_name : "GPU");
        lleval_sb_adds(sb, " |");
        if (t->mem_peak.has && t->mem_total.has)
            lleval_sb_addf(sb, " %.0f / %.0f |", t->mem_peak.v, t->mem_total.v);
        else
            lleval_sb_adds(sb, " - |");
        if (t->util_mean.has && t->util_peak.has)
            lleval_sb_addf(sb, " %.1f / %.0f |", t->util_mean.v, t->util_peak.v);
        else
            lleval_sb_adds(sb, " - |");
        md_opt(sb, t->temp_peak, " %.0f |");
        md_opt(sb, t->power_mean, " %.1f |");
        if (t->energy_per_token.has)
            lleval_sb_addf(sb, " %.3f |\n", t->energy_per_token.v);
        else
            lleval_sb_adds(sb, " - |\n");
    }
}

static void md_doctor(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "\n## Doctor\n\n");
    if (!r->have_doc) {
        md_trunc(sb, r->doc_note, 1000);
        lleval_sb_adds(sb, "\n");
        return;
    }
    if (!r->doc.n_findings) {
        lleval_sb_adds(sb, "No findings: none of the guide's decision tree applies.\n");
        return;
    }
    for (size_t i = 0; i < r->doc.n_findings; i++) {
        const struct lleval_finding *f = &r->doc.findings[i];
        lleval_sb_addf(sb, "%zu. **", i + 1);
        md_trunc(sb, f->title, REPORT_MD_CELL_MAX);
        lleval_sb_addf(sb, "** (`%s`)\n", lleval_finding_name(f->kind));
        for (size_t k = 0; k < f->n_evidence; k++) {
            lleval_sb_adds(sb, "   - evidence: ");
            md_trunc(sb, f->evidence[k], REPORT_MD_CELL_MAX);
            lleval_sb_adds(sb, "\n");
        }
        for (size_t k = 0; k < f->n_fixes; k++) {
            lleval_sb_addf(sb, "   - fix %zu: ", k + 1);
            md_trunc(sb, f->fixes[k], REPORT_MD_CELL_MAX);
            lleval_sb_adds(sb, "\n");
        }
    }
}

void lleval_report_render_md(struct lleval_sb *sb, const struct report *r)
{
    md_header(sb, r);
    lleval_report_leaderboard_md(sb, r);
    md_scores(sb, r);
    md_finish(sb, r);
    md_speed(sb, r);
    md_doctor(sb, r);
    lleval_report_events_md(sb, r);
    lleval_report_tune_md(sb, r);
    lleval_report_endpoints_md(sb, r);
    lleval_sb_adds(sb, "\nSample answers, telemetry details and settings: report.html\n");
}
