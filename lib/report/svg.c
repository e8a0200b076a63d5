/*
 * The report's inline SVG charts (see report_int.h): horizontal score bars
 * with 95% interval whiskers, stacked finish-reason bars, and the small
 * memory meter of the telemetry table. Colours come from the page's CSS
 * classes (light and dark mode); every label is HTML-escaped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

/* "dataset · prompt · t0.7" (UTF-8 middle dots), a chart's label; owned. */
static char *chart_label(const char *dataset, const char *prompt, const char *temp)
{
    struct lleval_sb label = LLEVAL_SB_INIT;
    lleval_sb_adds(&label, dataset);
    lleval_sb_adds(&label, " \xC2\xB7 ");
    lleval_sb_adds(&label, prompt);
    lleval_sb_adds(&label, " \xC2\xB7 t");
    lleval_sb_adds(&label, temp);
    return lleval_sb_detach(&label, NULL);
}

/* Appends at most max characters (code points) of s, escaped, with an ellipsis when cut. */
static void label_chars(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len = strlen(s), cut = lleval_utf8_cut_chars(s, len, max);
    lleval_html_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_adds(sb, "&hellip;");
}

/* Horizontal bars of EM and F1 (QA) or accuracy (multiple choice) per group,
 * with 95% interval whiskers, on a 0-100% axis. */
void lleval_report_svg_scores(struct lleval_sb *sb, const struct report *r)
{
    const double W = 900, LX = 250, PW = 560, TOP = 30, BAR = 12, GAP = 3, PAD = 10;
    double y, H = TOP + 8;
    size_t rows = 0;

    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        if (g->overall)
            continue;
        rows++;
        H += 2 * PAD + (g->mc ? 1 : 2) * (BAR + GAP) - GAP;
    }
    if (!rows)
        return;
    lleval_sb_adds(sb, "<div class=\"legend\"><span><i class=\"b-em\"></i>exact match</span>"
                       "<span><i class=\"b-f1\"></i>F1</span><span><i class=\"b-acc\"></i>"
                       "accuracy (multiple choice)</span><span>whiskers: 95% CI</span></div>\n");
    lleval_sb_addf(sb,
                   "<div class=\"scroll\"><svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" "
                   "role=\"img\" aria-label=\"scores per group with 95%% confidence "
                   "intervals\">\n",
                   W, H);
    for (int t = 0; t <= 100; t += 25) {
        double x = LX + PW * t / 100.0;
        lleval_sb_addf(sb,
                       "<line class=\"grid\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
                       "<text class=\"axis\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d%%"
                       "</text>\n",
                       x, TOP - 8, x, H - 4, x, TOP - 14, t);
    }
    y = TOP;
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        const struct metric *ms[2];
        const char *cls[2];
        int nb = 0;
        double rowh;
        char *label;
        if (g->overall)
            continue;
        if (g->mc) {
            ms[nb] = &g->acc;
            cls[nb++] = "b-acc";
        } else {
            ms[nb] = &g->em;
            cls[nb++] = "b-em";
            ms[nb] = &g->f1;
            cls[nb++] = "b-f1";
        }
        rowh = 2 * PAD + nb * (BAR + GAP) - GAP;
        label = chart_label(g->dataset, g->prompt ? g->prompt : "all", g->temp);
        lleval_sb_adds(sb, "<g><title>");
        lleval_html_escape(sb, label);
        lleval_sb_addf(sb, " (n=%ld)</title>", g->n);
        lleval_sb_addf(sb,
                       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                       "dominant-baseline=\"middle\">",
                       LX - 10, y + rowh / 2);
        label_chars(sb, label, REPORT_LABEL_MAX);
        lleval_sb_adds(sb, "</text>\n");
        free(label);
        for (int b = 0; b < nb; b++) {
            const struct metric *m = ms[b];
            double by = y + PAD + b * (BAR + GAP), cy = by + BAR / 2, end;
            double v = m->has ? fmax(0, fmin(100, m->v)) : 0;
            lleval_sb_addf(sb,
                           "<rect class=\"%s\" x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%.0f\" rx=\"2\"/>",
                           cls[b], LX, by, PW * v / 100.0, BAR);
            end = LX + PW * v / 100.0;
            if (m->has && !isnan(m->lo) && !isnan(m->hi)) {
                double x1 = LX + PW * fmax(0, fmin(100, m->lo)) / 100.0;
                double x2 = LX + PW * fmax(0, fmin(100, m->hi)) / 100.0;
                lleval_sb_addf(sb,
                               "<line class=\"wh\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                               "y2=\"%.1f\"/><line class=\"wh\" x1=\"%.1f\" y1=\"%.1f\" "
                               "x2=\"%.1f\" y2=\"%.1f\"/><line class=\"wh\" x1=\"%.1f\" "
                               "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                               x1, cy, x2, cy, x1, cy - 4, x1, cy + 4, x2, cy - 4, x2, cy + 4);
                if (x2 > end)
                    end = x2;
            }
            lleval_sb_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" dominant-baseline=\"middle\">", end + 6,
                           cy);
            if (m->has)
                lleval_sb_addf(sb, "%.1f", m->v);
            else
                lleval_sb_adds(sb, "&ndash;");
            lleval_sb_adds(sb, "</text>\n");
        }
        lleval_sb_adds(sb, "</g>\n");
        y += rowh;
    }
    lleval_sb_adds(sb, "</svg></div>\n");
}

void lleval_report_svg_finish(struct lleval_sb *sb, const struct report *r)
{
    const struct frow *rows = r->frows;
    size_t n = r->n_frows;
    const double W = 900, LX = 250, PW = 570, ROW = 26, BAR = 16, TOP = 6;
    double H = TOP + ROW * (double)n + 4;
    static const char *const cls[4] = {"f-stop", "f-length", "f-error", "f-other"};
    lleval_sb_addf(sb,
                   "<div class=\"scroll\"><svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" "
                   "role=\"img\" aria-label=\"finish reasons per group\">\n",
                   W, H);
    for (size_t i = 0; i < n; i++) {
        const struct frow *f = &rows[i];
        long c[4] = {f->stop, f->length, f->error, f->other};
        long total = c[0] + c[1] + c[2] + c[3];
        double y = TOP + ROW * (double)i, x = LX;
        char *label = chart_label(f->dataset, f->prompt, f->temp);
        lleval_sb_adds(sb, "<g><title>");
        lleval_html_escape(sb, label);
        lleval_sb_addf(sb, ": %ld stop, %ld length, %ld error, %ld other</title>", c[0], c[1], c[2],
                       c[3]);
        lleval_sb_addf(sb,
                       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                       "dominant-baseline=\"middle\">",
                       LX - 10, y + BAR / 2);
        label_chars(sb, label, REPORT_LABEL_MAX);
        lleval_sb_adds(sb, "</text>");
        free(label);
        if (!total)
            lleval_sb_addf(sb,
                           "<rect class=\"meter\" x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" "
                           "height=\"%.0f\" fill=\"none\" stroke=\"currentColor\"/>",
                           LX, y, PW, BAR);
        for (int k = 0; k < 4 && total; k++) {
            double w = PW * (double)c[k] / (double)total;
            if (!c[k])
                continue;
            lleval_sb_addf(sb,
                           "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%.0f\"/>",
                           cls[k], x, y, w, BAR);
            if (w >= 38)
                lleval_sb_addf(sb,
                               "<text class=\"seg\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                               "dominant-baseline=\"middle\">%.1f%%</text>",
                               x + w / 2, y + BAR / 2 + 0.5, 100.0 * (double)c[k] / (double)total);
            x += w;
        }
        lleval_sb_addf(sb,
                       "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" "
                       "dominant-baseline=\"middle\">n=%ld</text></g>\n",
                       LX + PW + 8, y + BAR / 2, total);
    }
    lleval_sb_adds(sb, "</svg></div>\n");
}

void lleval_report_svg_meter(struct lleval_sb *sb, double frac, const char *cls)
{
    double w = 100.0 * fmax(0, fmin(1, frac));
    lleval_sb_addf(sb,
                   "<svg class=\"meter\" width=\"90\" height=\"9\" viewBox=\"0 0 100 10\" "
                   "aria-hidden=\"true\"><rect class=\"track\" width=\"100\" height=\"10\" "
                   "rx=\"2\"/><rect class=\"fill %s\" width=\"%.1f\" height=\"10\" rx=\"2\"/>"
                   "</svg>",
                   cls, w);
}
