/*
 * The report's HTML page (see report.h and docs/report.md): one
 * self-contained document with inline CSS (style.c), SVG charts (svg.c) and
 * the item explorer (explorer.c, the only script), nothing fetched. It
 * renders the facts of report_int.h and reads nothing else; every string
 * from outside is escaped here.
 */
#include <stdio.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/util/format.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

#define DASH "<span class=\"muted\">&ndash;</span>"

static void he(struct lleval_sb *sb, const char *s)
{
    lleval_html_escape(sb, s);
}

/* Escapes at most max bytes of s, with an ellipsis and the bytes left out when cut. */
static void html_trunc(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len, cut;
    if (!s)
        return;
    len = strlen(s);
    cut = lleval_utf8_cut(s, len, max);
    lleval_html_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_addf(sb, "&hellip; <span class=\"muted\">(%zu more bytes)</span>", len - cut);
}

static void html_note(struct lleval_sb *sb, const char *note)
{
    lleval_sb_adds(sb, "<p class=\"note\">");
    he(sb, note);
    lleval_sb_adds(sb, "</p>\n");
}

/* A run file's path relative to the run directory ("results/scores.json"). */
static const char *rel(enum lleval_run_file f)
{
    return lleval_run_file_rel(f);
}

/* A run file's name without its folder ("predictions.csv"). */
static const char *base(enum lleval_run_file f)
{
    const char *s = lleval_run_file_rel(f), *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* "dataset &middot; prompt &middot; t0.7" */
static void group_label(struct lleval_sb *sb, const char *dataset, const char *prompt,
                        const char *temp)
{
    he(sb, dataset);
    lleval_sb_adds(sb, " &middot; ");
    he(sb, prompt ? prompt : "all");
    lleval_sb_adds(sb, " &middot; t");
    he(sb, temp);
}

/* A value with its interval below it, or a dash when absent. */
static void td_metric(struct lleval_sb *sb, const struct metric *m, bool ms)
{
    lleval_sb_adds(sb, "<td class=\"n\">");
    if (m->has)
        lleval_sb_add_ci(sb, m->v, m->lo, m->hi, ms ? lleval_ms_decimals(m->v) : 1,
                         "<span class=\"ci\">[", "]</span>");
    else
        lleval_sb_adds(sb, m->na ? "n/a" : DASH);
    lleval_sb_adds(sb, "</td>");
}

/* An optional number with a printf format of one double, or a dash. */
static void opt(struct lleval_sb *sb, struct opt_num n, const char *fmt)
{
    if (n.has)
        lleval_sb_addf(sb, fmt, n.v);
    else
        lleval_sb_adds(sb, DASH);
}

static void fact(struct lleval_sb *sb, const char *label, const char *value)
{
    lleval_sb_addf(sb, "<div><dt>%s</dt><dd>", label);
    he(sb, value);
    lleval_sb_adds(sb, "</dd></div>\n");
}

static void html_header(struct lleval_sb *sb, const struct report *r)
{
    char started[40], last[40], dur[32], gen[40], buf[128];

    lleval_fmt_utc(started, sizeof(started), r->started);
    lleval_fmt_utc(last, sizeof(last), r->last);
    lleval_fmt_utc(gen, sizeof(gen), r->generated);
    lleval_fmt_duration(dur, sizeof(dur), r->duration, LLEVAL_DUR_TENTHS);

    lleval_sb_adds(sb, "<header>\n<h1>lleval report: ");
    he(sb, r->run_id);
    lleval_sb_addf(sb, " <span class=\"badge %s\">", r->status_class);
    he(sb, r->status_word);
    lleval_sb_adds(sb, "</span></h1>\n<p class=\"sub\">");
    he(sb, *r->model ? r->model : "(no model)");
    lleval_sb_adds(sb, " on ");
    he(sb, *r->engine ? r->engine : "(unknown engine)");
    if (*r->engine_detail) {
        lleval_sb_adds(sb, " &middot; ");
        he(sb, r->engine_detail);
    }
    lleval_sb_adds(sb, "</p>\n<dl class=\"facts\">\n");
    fact(sb, "run id", r->run_id);
    fact(sb, r->models ? "models" : "model", *r->model ? r->model : "-");
    fact(sb, "engine", *r->engine ? r->engine : "-");
    if (r->base_url)
        fact(sb, "base url", r->base_url);
    fact(sb, "status", r->status_word);
    fact(sb, "started", r->started > 0 ? started : "-");
    fact(sb, r->status != LLEVAL_RUN_DONE ? "last update" : "finished", r->last > 0 ? last : "-");
    fact(sb, "duration", dur);
    snprintf(buf, sizeof(buf), "%ld of %ld answered", r->answered, r->total);
    fact(sb, "requests", buf);
    snprintf(buf, sizeof(buf), "%ld", r->errors);
    if (r->errors && r->total)
        snprintf(buf, sizeof(buf), "%ld (%.1f%%)", r->errors, r->err_pct);
    fact(sb, "errors", buf);
    if (*r->prompt_set)
        fact(sb, "prompt set", r->prompt_set);
    snprintf(buf, sizeof(buf), "%lld", r->concurrency);
    fact(sb, "concurrency", buf);
    fact(sb, "report generated", gen);
    lleval_sb_adds(sb, "</dl>\n");
    if (*r->last_error) {
        lleval_sb_adds(sb, "<p class=\"note\"><b>last error:</b> ");
        he(sb, r->last_error);
        lleval_sb_adds(sb, "</p>\n");
    }
    lleval_sb_adds(sb, "<nav><a href=\"#headline\">Headline</a><a href=\"#scores\">Scores</a>"
                       "<a href=\"#finish\">Finish reasons</a><a href=\"#speed\">Speed &amp; "
                       "telemetry</a><a href=\"#doctor\">Doctor</a><a href=\"#samples\">Sample "
                       "answers</a><a href=\"#explorer\">Items</a><a "
                       "href=\"#settings\">Settings</a></nav>\n</header>\n");
}

static void card(struct lleval_sb *sb, const char *label, const char *value, const char *detail)
{
    lleval_sb_addf(sb, "<div class=\"card\"><div class=\"l\">%s</div><div class=\"v\">%s</div>",
                   label, value);
    if (detail)
        lleval_sb_addf(sb, "<div class=\"d\">%s</div>", detail);
    lleval_sb_adds(sb, "</div>\n");
}

static void html_headline(struct lleval_sb *sb, const struct report *r)
{
    const struct headline *h = &r->h;
    char v[64], d[128];

    lleval_sb_adds(sb, "<section id=\"headline\">\n<h2>Headline</h2>\n<div class=\"cards\">\n");
    if (h->have_main) {
        snprintf(v, sizeof(v), "%.1f%%", h->main);
        card(sb, h->main_label, v,
             h->have_acc ? "item-weighted over the QA groups" : "item-weighted over the groups");
    }
    if (h->have_acc) {
        snprintf(v, sizeof(v), "%.1f%%", h->acc);
        card(sb, "accuracy", v, "item-weighted over the multiple-choice groups");
    }
    if (h->have_f1) {
        snprintf(v, sizeof(v), "%.1f%%", h->f1);
        card(sb, "F1", v, "QA groups");
    }
    snprintf(v, sizeof(v), "%ld / %ld", r->answered, r->total);
    card(sb, "requests", v, "answered / total");
    snprintf(v, sizeof(v), "%ld", r->errors);
    snprintf(d, sizeof(d), "%.1f%% of the requests", r->err_pct);
    card(sb, "errors", v, d);
    if (h->have_trunc) {
        snprintf(v, sizeof(v), "%.1f%%", h->trunc);
        card(sb, "truncation", v, "finish_reason length (guide: under 10%)");
    }
    if (h->have_tps) {
        snprintf(v, sizeof(v), "%.1f", h->tps);
        card(sb, "tokens/s", v, "mean generation speed per request");
    }
    if (h->have_lat) {
        lleval_sb_adds(sb, "<div class=\"card\"><div class=\"l\">latency</div><div class=\"v\">");
        lleval_sb_addf(sb, "%.*f", lleval_ms_decimals(h->lat), h->lat);
        lleval_sb_adds(sb, " ms</div><div class=\"d\">mean per request</div></div>\n");
    }
    lleval_fmt_duration(v, sizeof(v), r->duration, LLEVAL_DUR_TENTHS);
    card(sb, "duration", v, "active time, summed over the sessions");
    lleval_sb_adds(sb, "</div>\n");
    if (!r->scores)
        lleval_sb_adds(sb, "<p class=\"muted\">No scores yet: see <a href=\"#scores\">Scores"
                           "</a>.</p>\n");
    lleval_sb_adds(sb, "</section>\n");
}

static void html_scores(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<section id=\"scores\">\n<h2>Scores</h2>\n");
    if (!r->scores) {
        html_note(sb, r->scores_note);
        lleval_sb_adds(sb, "</section>\n");
        return;
    }
    lleval_sb_adds(
        sb, "<p class=\"muted\">Per dataset &times; prompt type &times; temperature; percentages "
            "with their 95% confidence interval (percentile bootstrap) below the value.</p>\n");
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>dataset</th><th>prompt"
                       "</th><th class=\"n\">temp</th><th class=\"n\">n</th>"
                       "<th class=\"n\">EM&nbsp;%</th><th class=\"n\">F1&nbsp;%</th>"
                       "<th class=\"n\">contains&nbsp;%</th><th class=\"n\">accuracy&nbsp;%</th>"
                       "<th class=\"n\">truncated&nbsp;%</th><th class=\"n\">errors&nbsp;%</th>"
                       "<th class=\"n\">latency&nbsp;ms</th><th class=\"n\">tokens/s</th>"
                       "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        if (!g->shown)
            continue;
        lleval_sb_adds(sb, g->overall ? "<tr class=\"overall\"><td>" : "<tr><td>");
        he(sb, g->dataset);
        lleval_sb_adds(sb, "</td><td>");
        he(sb, g->overall ? "all" : g->prompt ? g->prompt : "");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        he(sb, g->overall ? "all" : g->temp);
        lleval_sb_addf(sb, "</td><td class=\"n\">%ld</td>", g->n);
        td_metric(sb, &g->em, false);
        td_metric(sb, &g->f1, false);
        td_metric(sb, &g->contains, false);
        td_metric(sb, &g->acc, false);
        td_metric(sb, &g->trunc, false);
        td_metric(sb, &g->err, false);
        td_metric(sb, &g->lat, true);
        td_metric(sb, &g->tps, false);
        lleval_sb_adds(sb, "</tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n");
    lleval_report_svg_scores(sb, r);
    lleval_sb_addf(sb,
                   "<ul class=\"notes\"><li>%lld rows scored of %lld; %lld missing, %lld "
                   "unknown, %lld duplicate</li>\n",
                   r->scored, r->rows, r->missing, r->unknown, r->duplicates);
    for (size_t i = 0; i < r->n_warnings; i++) {
        lleval_sb_adds(sb, "<li class=\"s-warn\">");
        he(sb, r->warnings[i]);
        lleval_sb_adds(sb, "</li>\n");
    }
    lleval_sb_adds(sb, "</ul>\n</section>\n");
}

static void pct_cell(struct lleval_sb *sb, long k, long total)
{
    lleval_sb_addf(sb, "<td class=\"n\">%ld", k);
    if (total)
        lleval_sb_addf(sb, "<span class=\"ci\">%.1f%%</span>", 100.0 * (double)k / (double)total);
    lleval_sb_adds(sb, "</td>");
}

static void html_finish(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<section id=\"finish\">\n<h2>Finish reasons</h2>\n");
    if (!r->scores && r->finish_note)
        html_note(sb, r->finish_note);
    if (!r->n_frows) {
        if (r->scores || !r->finish_note)
            lleval_sb_adds(sb, "<p class=\"muted\">No answers yet.</p>\n");
        lleval_sb_adds(sb, "</section>\n");
        return;
    }
    if (!r->scores)
        lleval_sb_addf(sb, "<p class=\"muted\">Counted from %s (the run has no scores).</p>\n",
                       rel(LLEVAL_RUN_FILE_COMBINED));
    lleval_sb_adds(sb, "<div class=\"legend\"><span><i class=\"f-stop\"></i>stop</span><span>"
                       "<i class=\"f-length\"></i>length (cut at max_new_tokens)</span><span>"
                       "<i class=\"f-error\"></i>error</span><span><i class=\"f-other\"></i>"
                       "other</span></div>\n");
    lleval_report_svg_finish(sb, r);
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>group</th>"
                       "<th class=\"n\">answers</th><th class=\"n\">stop</th><th class=\"n\">"
                       "length</th><th class=\"n\">error</th><th class=\"n\">other</th></tr>"
                       "</thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n_frows; i++) {
        const struct frow *f = &r->frows[i];
        long total = f->stop + f->length + f->error + f->other;
        lleval_sb_adds(sb, "<tr><td>");
        group_label(sb, f->dataset, f->prompt, f->temp);
        lleval_sb_addf(sb, "</td><td class=\"n\">%ld</td>", total);
        pct_cell(sb, f->stop, total);
        pct_cell(sb, f->length, total);
        pct_cell(sb, f->error, total);
        pct_cell(sb, f->other, total);
        lleval_sb_adds(sb, "</tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
}

/* What a telemetry status means, for the note when no trial recorded any. */
static void telemetry_reason(struct lleval_sb *sb, const char *status)
{
    if (!strcmp(status, "disabled"))
        lleval_sb_adds(sb, "Telemetry disabled: set enable_local_telemetry: true to record GPU "
                           "memory, utilization, temperature and power during a run.");
    else {
        lleval_sb_adds(sb, "Telemetry ");
        he(sb, status);
        lleval_sb_adds(sb, ".");
    }
}

/* The telemetry notes of a run without GPU telemetry: one per distinct status. */
static void telemetry_notes(struct lleval_sb *sb, const struct report *r)
{
    for (size_t i = 0; i < r->n_trials; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(r->trials[k].tstatus, r->trials[i].tstatus);
        if (seen)
            continue;
        lleval_sb_adds(sb, "<p class=\"note\">");
        telemetry_reason(sb, r->trials[i].tstatus);
        lleval_sb_adds(sb, "</p>\n");
    }
    if (!r->n_trials)
        lleval_sb_adds(sb, "<p class=\"muted\">No trials in the manifest.</p>\n");
}

/* The cells of one trial with GPU telemetry, after its name (and GPU). */
static void telemetry_cells(struct lleval_sb *sb, const struct trial *t)
{
    lleval_sb_adds(sb, "<td class=\"n\">");
    if (t->mem_peak.has && t->mem_total.has && t->mem_total.v > 0) {
        double f = t->mem_peak.v / t->mem_total.v;
        lleval_sb_addf(sb, "%.0f / %.0f MiB (%.1f%%)<br>", t->mem_peak.v, t->mem_total.v,
                       100.0 * f);
        lleval_report_svg_meter(sb, f, f > 0.95 ? "s-bad" : f > 0.9 ? "s-warn" : "");
    } else {
        opt(sb, t->mem_peak, "%.0f MiB");
    }
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    if (t->util_mean.has) {
        lleval_sb_addf(sb, "<span class=\"%s\">%.1f%%</span>", t->util_mean.v < 50 ? "s-warn" : "",
                       t->util_mean.v);
        if (t->util_peak.has)
            lleval_sb_addf(sb, " / %.0f%%", t->util_peak.v);
    } else {
        lleval_sb_adds(sb, DASH);
    }
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    if (t->temp_peak.has)
        lleval_sb_addf(sb, "<span class=\"%s\">%.0f &deg;C</span>",
                       t->temp_peak.v > 85   ? "s-bad"
                       : t->temp_peak.v > 80 ? "s-warn"
                                             : "",
                       t->temp_peak.v);
    else
        lleval_sb_adds(sb, DASH);
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    opt(sb, t->power_mean, "%.1f W");
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    if (t->energy.has)
        lleval_sb_addf(sb, t->energy.v >= 10000 ? "%.1f kJ" : "%.0f J",
                       t->energy.v >= 10000 ? t->energy.v / 1000 : t->energy.v);
    else
        lleval_sb_adds(sb, DASH);
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    opt(sb, t->energy_per_token, "%.3f J");
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    if (t->cpu_mean.has) {
        lleval_sb_addf(sb, "%.1f%%", t->cpu_mean.v);
        if (t->cpu_peak.has)
            lleval_sb_addf(sb, " / %.0f%%", t->cpu_peak.v);
    } else {
        lleval_sb_adds(sb, DASH);
    }
    lleval_sb_adds(sb, "</td><td class=\"n\">");
    opt(sb, t->rss_peak, "%.0f MiB");
    lleval_sb_adds(sb, "</td></tr>\n");
}

static void html_telemetry(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<h3>GPU and host telemetry</h3>\n");
    if (!r->any_gpu) {
        telemetry_notes(sb, r);
        return;
    }
    if (r->one_gpu && r->gpu_name && *r->gpu_name) {
        lleval_sb_adds(sb, "<p>GPU: <b>");
        he(sb, r->gpu_name);
        lleval_sb_adds(sb, "</b></p>\n");
    }
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>trial</th>");
    if (!r->one_gpu)
        lleval_sb_adds(sb, "<th>GPU</th>");
    lleval_sb_adds(sb, "<th>memory peak / total</th><th class=\"n\">utilization mean / peak</th>"
                       "<th class=\"n\">temperature peak</th><th class=\"n\">power mean</th>"
                       "<th class=\"n\">energy</th><th class=\"n\">energy / token</th>"
                       "<th class=\"n\">host CPU mean / peak</th><th class=\"n\">engine RSS "
                       "peak</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n_trials; i++) {
        const struct trial *t = &r->trials[i];
        lleval_sb_adds(sb, "<tr><td>");
        he(sb, t->name);
        lleval_sb_adds(sb, "</td>");
        if (!t->has_gpu) {
            lleval_sb_addf(sb, "<td colspan=\"%d\" class=\"muted\">", r->one_gpu ? 8 : 9);
            telemetry_reason(sb, t->tstatus);
            lleval_sb_adds(sb, "</td></tr>\n");
            continue;
        }
        if (!r->one_gpu) {
            lleval_sb_adds(sb, "<td>");
            he(sb, t->gpu_name ? t->gpu_name : "GPU");
            lleval_sb_adds(sb, "</td>");
        }
        telemetry_cells(sb, t);
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n<p class=\"muted\">Healthy (the guide): GPU "
                       "utilization 80-95%, temperature under 80 &deg;C, memory under the card's "
                       "total with headroom.</p>\n");
}

static void html_speed(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<section id=\"speed\">\n<h2>Speed and telemetry</h2>\n");
    if (!r->n_trials) {
        lleval_sb_adds(sb, "<p class=\"muted\">No trials yet: the run stopped before build."
                           "</p>\n");
    } else {
        lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>trial</th>"
                           "<th class=\"n\">parts done</th><th class=\"n\">answered</th>"
                           "<th class=\"n\">errors</th><th class=\"n\">elapsed</th>"
                           "<th class=\"n\">requests/s</th><th class=\"n\">prompt tokens</th>"
                           "<th class=\"n\">generated tokens</th><th class=\"n\">prompt tok/s"
                           "</th><th class=\"n\">generation tok/s</th><th class=\"n\">wall "
                           "tok/s</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < r->n_trials; i++) {
            const struct trial *t = &r->trials[i];
            char dur[32];
            lleval_fmt_duration(dur, sizeof(dur), t->elapsed, LLEVAL_DUR_TENTHS);
            lleval_sb_adds(sb, "<tr><td>");
            he(sb, t->name);
            lleval_sb_addf(sb,
                           "</td><td class=\"n\">%lld / %lld</td><td class=\"n\">%lld / %lld</td>"
                           "<td class=\"n\">%lld</td><td class=\"n\">%s</td><td class=\"n\">",
                           t->parts_done, t->parts_total, t->answered, t->requests, t->errors, dur);
            opt(sb, t->rps, "%.1f");
            lleval_sb_addf(sb,
                           "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                           "<td class=\"n\">",
                           t->prompt_tokens, t->completion_tokens);
            opt(sb, t->prompt_tps, "%.1f");
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            opt(sb, t->gen_tps, "%.1f");
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            opt(sb, t->wall_tps, "%.1f");
            lleval_sb_adds(sb, "</td></tr>\n");
        }
        lleval_sb_adds(sb, "</tbody></table></div>\n<p class=\"muted\">Prompt and generation "
                           "tok/s: the engine's own per-request speeds (means); wall tok/s: "
                           "generated tokens per second of the trial's wall time, all requests "
                           "in flight together. The guide's 8B Q4_K_M on an RTX 5080: 15-25 "
                           "tok/s generation, ~500 tok/s prompt.</p>\n");
    }
    html_telemetry(sb, r);
    lleval_sb_adds(sb, "</section>\n");
}

static void html_doctor(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<section id=\"doctor\">\n<h2>Doctor</h2>\n");
    if (!r->have_doc) {
        html_note(sb, r->doc_note);
    } else if (!r->doc.n_findings) {
        lleval_sb_adds(sb, "<div class=\"finding healthy\"><h3 class=\"s-ok\">No findings"
                           "</h3><p>None of the guide's decision tree applies: no out-of-memory "
                           "errors, slow generation, truncation, connection or parse problems."
                           "</p></div>\n");
    } else {
        lleval_sb_addf(sb,
                       "<p>%zu finding%s of the guide's decision tree "
                       "(<code>lleval doctor ",
                       r->doc.n_findings, r->doc.n_findings == 1 ? "" : "s");
        he(sb, r->run_id);
        lleval_sb_adds(sb, "</code> prints the same).</p>\n");
        for (size_t i = 0; i < r->doc.n_findings; i++) {
            const struct lleval_finding *f = &r->doc.findings[i];
            lleval_sb_adds(sb, "<div class=\"finding\"><h3>");
            he(sb, f->title);
            lleval_sb_addf(sb, " <code class=\"muted\">%s</code></h3>\n",
                           lleval_finding_name(f->kind));
            if (f->n_evidence) {
                lleval_sb_adds(sb, "<div class=\"k\">evidence</div><ul>\n");
                for (size_t k = 0; k < f->n_evidence; k++) {
                    lleval_sb_adds(sb, "<li>");
                    he(sb, f->evidence[k]);
                    lleval_sb_adds(sb, "</li>\n");
                }
                lleval_sb_adds(sb, "</ul>\n");
            }
            if (f->n_fixes) {
                lleval_sb_adds(sb, "<div class=\"k\">fixes, in order of preference</div><ol>\n");
                for (size_t k = 0; k < f->n_fixes; k++) {
                    lleval_sb_adds(sb, "<li>");
                    he(sb, f->fixes[k]);
                    lleval_sb_adds(sb, "</li>\n");
                }
                lleval_sb_adds(sb, "</ol>\n");
            }
            lleval_sb_adds(sb, "</div>\n");
        }
    }
    lleval_sb_adds(sb, "</section>\n");
}

static void html_gold(struct lleval_sb *sb, const struct sample *s)
{
    const json_t *answers = json_object_get(s->item, "answers"), *choices, *a;
    size_t i, n = json_array_size(answers);
    if (!s->item) {
        lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
        return;
    }
    choices = json_object_get(s->item, "choices");
    lleval_sb_adds(sb, "<ul>");
    json_array_foreach(answers, i, a)
    {
        const char *txt = json_string_value(a);
        if (i >= REPORT_GOLD_SHOWN)
            break;
        lleval_sb_adds(sb, "<li>");
        html_trunc(sb, txt, REPORT_GOLD_MAX);
        if (txt && json_is_array(choices) && strlen(txt) == 1 && txt[0] >= 'A' && txt[0] <= 'Z') {
            const char *c = json_string_value(json_array_get(choices, (size_t)(txt[0] - 'A')));
            if (c) {
                lleval_sb_adds(sb, " <span class=\"muted\">(");
                html_trunc(sb, c, REPORT_GOLD_MAX);
                lleval_sb_adds(sb, ")</span>");
            }
        }
        lleval_sb_adds(sb, "</li>");
    }
    if (n > REPORT_GOLD_SHOWN)
        lleval_sb_addf(sb, "<li class=\"muted\">and %zu more</li>", n - REPORT_GOLD_SHOWN);
    lleval_sb_adds(sb, "</ul>");
}

static void html_sample_row(struct lleval_sb *sb, const struct report *r, const struct sample *s)
{
    lleval_sb_adds(sb, "<tr><td>");
    if (s->have_row && !s->ok) {
        lleval_sb_adds(sb, "<span class=\"tag s-bad\">error</span>");
    } else if (s->scored) {
        lleval_sb_addf(sb, "<span class=\"tag %s\">%s</span>", s->correct ? "s-ok" : "s-bad",
                       s->correct ? "right" : "wrong");
        if (!s->mc)
            lleval_sb_addf(sb, "<span class=\"small\">F1 %.1f</span>", 100.0 * s->f1);
    } else {
        lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
    }
    lleval_sb_adds(sb, "</td><td class=\"id\"><code>");
    he(sb, s->item_id);
    lleval_sb_adds(sb, "</code></td>");
    if (r->gold) {
        lleval_sb_adds(sb, "<td class=\"q\">");
        if (s->item)
            html_trunc(sb, lleval_json_str(s->item, "question"), REPORT_QUESTION_MAX);
        else
            lleval_sb_adds(sb, "<span class=\"muted\">not in the prepared data</span>");
        lleval_sb_adds(sb, "</td>");
    }
    lleval_sb_adds(sb, "<td class=\"text\">");
    if (!s->have_row) {
        lleval_sb_addf(sb, "<span class=\"muted\">row not found in %s</span>",
                       base(LLEVAL_RUN_FILE_PREDICTIONS));
    } else if (!s->ok) {
        lleval_sb_adds(sb, "<span class=\"s-bad\">error: ");
        html_trunc(sb, s->error && *s->error ? s->error : "request failed", REPORT_TEXT_MAX);
        lleval_sb_adds(sb, "</span>");
    } else if (!*s->prediction) {
        lleval_sb_adds(sb, "<span class=\"muted\">(empty)</span>");
    } else {
        html_trunc(sb, s->prediction, REPORT_TEXT_MAX);
    }
    if (s->scored && s->ok && s->have_row) {
        if (s->mc) {
            if (s->choice >= 0)
                lleval_sb_addf(sb, "<span class=\"small\">read as %c</span>", 'A' + s->choice);
            else
                lleval_sb_adds(sb, "<span class=\"small\">no answer letter could be read</span>");
        } else if (s->answer && strcmp(s->answer, s->prediction)) {
            lleval_sb_adds(sb, "<span class=\"small\">scored answer: ");
            html_trunc(sb, s->answer, REPORT_GOLD_MAX);
            lleval_sb_adds(sb, "</span>");
        }
    }
    if (s->have_row && s->ok && s->finish && *s->finish && strcmp(s->finish, "stop"))
        lleval_sb_addf(sb, "<span class=\"small%s\">finish_reason %s</span>",
                       !strcmp(s->finish, "length") ? " s-warn" : "",
                       !strcmp(s->finish, "length")  ? "length"
                       : !strcmp(s->finish, "error") ? "error"
                                                     : "other");
    lleval_sb_adds(sb, "</td>");
    if (r->gold) {
        lleval_sb_adds(sb, "<td>");
        html_gold(sb, s);
        lleval_sb_adds(sb, "</td>");
    }
    lleval_sb_adds(sb, "</tr>\n");
}

static void html_samples(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<section id=\"samples\">\n<h2>Sample answers</h2>\n");
    if (r->samples_note)
        html_note(sb, r->samples_note);
    if (r->gold && r->n_sg)
        lleval_sb_addf(sb,
                       "<p class=\"muted\">Up to %d wrong and %d right answers per group, "
                       "the first in the order of %s.</p>\n",
                       LLEVAL_REPORT_WRONG, LLEVAL_REPORT_RIGHT, base(LLEVAL_RUN_FILE_PREDICTIONS));
    else if (r->n_sg)
        lleval_sb_addf(sb, "<p class=\"muted\">The first %d answers per group.</p>\n",
                       LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT);
    for (size_t g = 0; g < r->n_sg; g++) {
        const struct sgroup *sg = &r->sg[g];
        lleval_sb_adds(sb, "<h3>");
        group_label(sb, sg->dataset, sg->prompt, sg->temp);
        lleval_sb_adds(sb, "</h3>\n<p class=\"muted\">");
        if (r->gold)
            lleval_sb_addf(sb,
                           "%ld answers: %ld wrong, %ld right; showing %zu wrong and %zu "
                           "right.",
                           sg->rows, sg->wrong, sg->right, sg->kept_wrong, sg->kept_right);
        else
            lleval_sb_addf(sb, "%ld answers; showing %zu.", sg->rows, sg->n);
        lleval_sb_adds(sb, "</p>\n<div class=\"scroll\"><table class=\"samples\">\n<thead><tr>"
                           "<th>verdict</th><th>item</th>");
        if (r->gold)
            lleval_sb_adds(sb, "<th>question</th>");
        lleval_sb_adds(sb, "<th>prediction</th>");
        if (r->gold)
            lleval_sb_adds(sb, "<th>gold</th>");
        lleval_sb_adds(sb, "</tr></thead>\n<tbody>\n");
        /* wrong answers first, then right ones */
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < sg->n; i++)
                if (!r->gold || (pass == 0) == !sg->s[i].correct)
                    if (r->gold || pass == 0)
                        html_sample_row(sb, r, &sg->s[i]);
        lleval_sb_adds(sb, "</tbody></table></div>\n");
    }
    lleval_sb_adds(sb, "</section>\n");
}

static void kv(struct lleval_sb *sb, const char *key, const char *value)
{
    lleval_sb_adds(sb, "<tr><th>");
    he(sb, key);
    lleval_sb_adds(sb, "</th><td>");
    he(sb, value);
    lleval_sb_adds(sb, "</td></tr>\n");
}

static void html_settings(struct lleval_sb *sb, const struct report *r)
{
    const struct lleval_config *c = &r->cfg;
    struct lleval_sb v = LLEVAL_SB_INIT;
    char num[64];
    lleval_sb_adds(sb, "<section id=\"settings\">\n<h2>Settings</h2>\n");
    if (!r->have_cfg) {
        html_note(sb, r->cfg_note);
        lleval_sb_adds(sb, "</section>\n");
        return;
    }
    lleval_sb_addf(sb,
                   "<p class=\"muted\">From the run's %s.</p>\n"
                   "<div class=\"scroll\"><table class=\"kv\">\n",
                   rel(LLEVAL_RUN_FILE_CONFIG));
    kv(sb, "model_id", c->model_id ? c->model_id : "");
    kv(sb, "engine", lleval_engine_kind_name(c->engine));
    kv(sb, "base_url", lleval_config_base_url(c) ? lleval_config_base_url(c) : "(none)");
    snprintf(num, sizeof(num), "%ld", c->context_length);
    kv(sb, "context_length", num);
    for (size_t i = 0; i < c->n_temps; i++) {
        lleval_sb_adds(&v, i ? ", " : "");
        lleval_sb_adds(&v, lleval_fmt_num(num, sizeof(num), c->temps[i]));
    }
    kv(sb, "temps", v.buf);
    lleval_sb_reset(&v);
    lleval_sb_addf(&v, "closed_book %ld, open_book %ld, multiple_choice %ld",
                   c->max_new_tokens[LLEVAL_CLOSED_BOOK], c->max_new_tokens[LLEVAL_OPEN_BOOK],
                   c->max_new_tokens[LLEVAL_MULTIPLE_CHOICE]);
    kv(sb, "max_new_tokens", v.buf);
    lleval_sb_reset(&v);
    lleval_sb_addf(&v, "top_k %ld, top_p ", c->top_k);
    lleval_sb_adds(&v, lleval_fmt_num(num, sizeof(num), c->top_p));
    lleval_sb_addf(&v, ", seed %ld, samples %ld", c->seed, c->samples);
    kv(sb, "sampling", v.buf);
    lleval_sb_reset(&v);
    {
        json_t *stops = json_array();
        for (size_t i = 0; i < c->n_stop; i++)
            json_array_append_new(stops, json_string(c->stop[i]));
        lleval_json_dump_sb(stops, &v);
        json_decref(stops);
    }
    kv(sb, "stop", v.buf);
    lleval_sb_reset(&v);
    lleval_sb_addf(&v, "%ld (parts_per_dataset %ld)", c->max_concurrent_jobs, c->parts_per_dataset);
    kv(sb, "max_concurrent_jobs", v.buf);
    lleval_sb_reset(&v);
    if (c->limit_items)
        lleval_sb_addf(&v, "%ld", c->limit_items);
    else
        lleval_sb_adds(&v, "0 (every item)");
    kv(sb, "limit_items", v.buf);
    lleval_sb_reset(&v);
    kv(sb, "prompt_set", c->prompt_set ? c->prompt_set : "");
    for (size_t i = 0; i < c->n_datasets; i++) {
        lleval_sb_adds(&v, i ? "; " : "");
        lleval_sb_adds(&v, c->datasets[i].name);
        lleval_sb_adds(&v, " (");
        lleval_sb_adds(&v, c->datasets[i].format ? c->datasets[i].format : "?");
        lleval_sb_adds(&v, ": ");
        lleval_sb_adds(&v, c->datasets[i].path ? c->datasets[i].path : "?");
        lleval_sb_adds(&v, ")");
    }
    kv(sb, "datasets", v.buf);
    lleval_sb_reset(&v);
    kv(sb, "prepared_dir", c->prepared_dir ? c->prepared_dir : "");
    lleval_sb_addf(&v, "answer_extraction %s, strip_think %s, bootstrap %ld resamples (seed %ld)",
                   c->answer_extraction ? c->answer_extraction : "none",
                   c->strip_think ? "true" : "false", c->bootstrap_samples, c->bootstrap_seed);
    kv(sb, "scoring", v.buf);
    lleval_sb_reset(&v);
    kv(sb, "enable_local_telemetry", c->enable_local_telemetry ? "true" : "false");
    if (c->launch.enabled) {
        lleval_sb_adds(&v, c->launch.model ? c->launch.model : c->n_model_cfgs ? "per model" : "?");
        lleval_sb_addf(&v, " (ctx_size %ld, parallel %ld, gpu_layers %ld)", c->launch.ctx_size,
                       c->launch.parallel, c->launch.gpu_layers);
        kv(sb, "launch", v.buf);
        lleval_sb_reset(&v);
    }
    lleval_report_models_setting(sb, c);
    lleval_sb_adds(sb, "</table></div>\n</section>\n");
    lleval_sb_release(&v);
}

/* The footer: when and from where, with links to the run's sources. */
static void html_footer(struct lleval_sb *sb, const struct report *r)
{
    static const enum lleval_run_file sources[] = {LLEVAL_RUN_FILE_MANIFEST, LLEVAL_RUN_FILE_SCORES,
                                                   LLEVAL_RUN_FILE_PREDICTIONS,
                                                   LLEVAL_RUN_FILE_CONFIG};
    char gen[40];
    lleval_sb_adds(sb, "<footer>Generated by lleval at ");
    lleval_sb_adds(sb, lleval_fmt_utc(gen, sizeof(gen), r->generated));
    lleval_sb_adds(sb, " from <code>");
    he(sb, r->dir);
    lleval_sb_adds(sb, "</code>. Sources: ");
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
        lleval_sb_addf(sb, "%s<a href=\"%s\">%s</a>", i ? ", " : "", rel(sources[i]),
                       rel(sources[i]));
    lleval_sb_addf(sb, ". The Markdown summary is <a href=\"%s\">%s</a>.</footer>\n",
                   rel(LLEVAL_RUN_FILE_REPORT_MD), rel(LLEVAL_RUN_FILE_REPORT_MD));
}

void lleval_report_render_html(struct lleval_sb *sb, const struct report *r)
{
    lleval_sb_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"color-scheme\" content=\"light dark\">\n"
                       "<meta name=\"generator\" content=\"lleval\">\n<title>lleval report: ");
    he(sb, r->run_id);
    lleval_sb_adds(sb, "</title>\n<style>\n");
    for (size_t i = 0; lleval_report_css[i]; i++)
        lleval_sb_adds(sb, lleval_report_css[i]);
    lleval_sb_adds(sb, "</style>\n");
    lleval_report_explorer_head(sb);
    lleval_sb_adds(sb, "</head>\n<body>\n<main>\n");
    html_header(sb, r);
    html_headline(sb, r);
    lleval_report_leaderboard_html(sb, r);
    html_scores(sb, r);
    html_finish(sb, r);
    html_speed(sb, r);
    html_doctor(sb, r);
    lleval_report_events_html(sb, r);
    lleval_report_tune_html(sb, r);
    lleval_report_endpoints_html(sb, r);
    html_samples(sb, r);
    lleval_report_explorer_html(sb, r);
    html_settings(sb, r);
    html_footer(sb, r);
    lleval_sb_adds(sb, "</main>\n</body>\n</html>\n");
}
