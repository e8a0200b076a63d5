/*
 * The report's "Concurrency" section, in report.html and report.md: for a run
 * with max_concurrent_jobs auto, the concurrency picked, the measured curve
 * (requests/s and tokens/s at each concurrency tried, the pick marked) and,
 * for a managed llama-server, the slots, per-slot context and threads it was
 * started with (the manifest's "tune" object, run/tune.h). Runs without it
 * render nothing. The texts from the manifest are escaped (HTML / Markdown).
 */
#include <string.h>
#include "lleval/run/tune.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

static double best_of(const struct lleval_tune_result *t)
{
    double best = 0;
    for (size_t i = 0; i < t->n_points; i++)
        if (t->points[i].rps > best)
            best = t->points[i].rps;
    return best;
}

static void esc(struct lleval_sb *sb, const char *s, bool md)
{
    if (md)
        lleval_md_escape(sb, s);
    else
        lleval_html_escape(sb, s);
}

/* The sentence above the table. */
static void summary(struct lleval_sb *sb, const struct lleval_tune_result *t, bool md)
{
    lleval_sb_addf(sb,
                   "max_concurrent_jobs auto picked %ld (the lowest within %g%% of the best "
                   "throughput; the server's slots: ",
                   t->chosen, LLEVAL_TUNE_TIE_PCT);
    if (t->slots > 0)
        lleval_sb_addf(sb, "%ld", t->slots);
    else
        lleval_sb_adds(sb, "unknown");
    lleval_sb_adds(sb, "; the series ended: ");
    esc(sb, t->stop_reason, md);
    lleval_sb_adds(sb, ").");
    if (t->server_slots > 0) {
        lleval_sb_addf(sb,
                       " The managed llama-server was started with %ld slots of %ld tokens "
                       "and %ld threads (",
                       t->server_slots, t->server_slot_ctx, t->server_threads);
        esc(sb, t->server_note, md);
        lleval_sb_adds(sb, ").");
    }
}

void lleval_report_tune_html(struct lleval_sb *sb, const struct report *r)
{
    struct lleval_tune_result t;
    double best;
    if (!r->m.tune || !lleval_tune_from_json(r->m.tune, &t))
        return;
    best = best_of(&t);
    lleval_sb_adds(sb, "<section id=\"concurrency\">\n<h2>Concurrency</h2>\n<p>");
    summary(sb, &t, false);
    lleval_sb_adds(sb, "</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>concurrency</th>"
                       "<th>requests</th><th>seconds</th><th>req/s</th><th>tok/s</th>"
                       "<th>vs best</th><th></th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < t.n_points; i++) {
        const struct lleval_tune_point *p = &t.points[i];
        lleval_sb_addf(sb,
                       "<tr><td class=\"num\">%ld</td><td class=\"num\">%zu</td>"
                       "<td class=\"num\">%.2f</td><td class=\"num\">%.3f</td>"
                       "<td class=\"num\">%.1f</td><td class=\"num\">%.1f%%</td><td>%s</td></tr>\n",
                       p->concurrency, p->requests, p->seconds, p->rps, p->tokens_per_s,
                       best > 0 ? 100 * p->rps / best : 0,
                       p->concurrency == t.chosen ? "chosen" : "");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
}

void lleval_report_tune_md(struct lleval_sb *sb, const struct report *r)
{
    struct lleval_tune_result t;
    double best;
    if (!r->m.tune || !lleval_tune_from_json(r->m.tune, &t))
        return;
    best = best_of(&t);
    lleval_sb_adds(sb, "\n## Concurrency\n\n");
    summary(sb, &t, true);
    lleval_sb_adds(sb, "\n\n| concurrency | requests | seconds | req/s | tok/s | vs best | |\n"
                       "|--:|--:|--:|--:|--:|--:|---|\n");
    for (size_t i = 0; i < t.n_points; i++) {
        const struct lleval_tune_point *p = &t.points[i];
        lleval_sb_addf(sb, "| %ld | %zu | %.2f | %.3f | %.1f | %.1f%% | %s |\n", p->concurrency,
                       p->requests, p->seconds, p->rps, p->tokens_per_s,
                       best > 0 ? 100 * p->rps / best : 0,
                       p->concurrency == t.chosen ? "chosen" : "");
    }
}
