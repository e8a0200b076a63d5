/*
 * The report's "Endpoints" section, in report.html and report.md: for a run
 * spread over several servers, each one's address, engine, slots, answers
 * (ok / failed), requests taken back when it went out of rotation, outages,
 * time out of rotation and speeds, from manifest.json's `endpoints` array
 * (docs/formats.md). Runs of one server render nothing. Every string from
 * the manifest is escaped (HTML / Markdown) and cut.
 */
#include <string.h>
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

#define ENDPOINTS_SHOWN 64 /* rows; the manifest holds the rest */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static double real(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* Escapes at most max bytes of s into sb (HTML or Markdown). */
static void esc(struct lleval_sb *sb, const char *s, size_t max, bool md)
{
    lleval_report_esc_cut(sb, s, max, md);
}

/* One row's cells after the address and engine, in both formats. */
static void numbers(struct lleval_sb *sb, const json_t *e, const char *sep)
{
    lleval_sb_addf(sb, "%lld%s%lld%s%lld%s%lld%s%lld%s%.1f%s%.2f%s%.1f", num(e, "slots"), sep,
                   num(e, "ok"), sep, num(e, "failed"), sep, num(e, "requeued"), sep,
                   num(e, "outages"), sep, real(e, "out_of_rotation_s"), sep,
                   real(e, "requests_per_s"), sep, real(e, "gen_tps"));
}

void lleval_report_endpoints_html(struct lleval_sb *sb, const struct report *r)
{
    const json_t *e;
    size_t i;

    if (!json_array_size(r->m.endpoints))
        return;
    lleval_sb_adds(sb, "<section id=\"endpoints\">\n<h2>Endpoints</h2>\n"
                       "<div class=\"scroll\"><table>\n<thead><tr><th>address</th><th>engine</th>"
                       "<th>slots</th><th>ok</th><th>failed</th><th>requeued</th>"
                       "<th>outages</th><th>out of rotation (s)</th><th>requests/s</th>"
                       "<th>gen tok/s</th><th>in rotation</th><th>last error</th></tr></thead>\n"
                       "<tbody>\n");
    json_array_foreach(r->m.endpoints, i, e)
    {
        if (i >= ENDPOINTS_SHOWN)
            break;
        lleval_sb_adds(sb, "<tr><td>");
        esc(sb, str(e, "base_url"), 100, false);
        lleval_sb_adds(sb, "</td><td>");
        esc(sb, str(e, "engine"), 20, false);
        lleval_sb_adds(sb, "</td><td class=\"num\">");
        numbers(sb, e, "</td><td class=\"num\">");
        lleval_sb_addf(sb, "</td><td>%s</td><td>",
                       json_is_false(json_object_get(e, "in_rotation")) ? "no" : "yes");
        esc(sb, str(e, "last_error"), REPORT_MD_CELL_MAX, false);
        lleval_sb_adds(sb, "</td></tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
}

void lleval_report_endpoints_md(struct lleval_sb *sb, const struct report *r)
{
    const json_t *e;
    size_t i;

    if (!json_array_size(r->m.endpoints))
        return;
    lleval_sb_adds(sb, "\n## Endpoints\n\n"
                       "| address | engine | slots | ok | failed | requeued | outages | out of "
                       "rotation (s) | requests/s | gen tok/s | in rotation | last error |\n"
                       "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n");
    json_array_foreach(r->m.endpoints, i, e)
    {
        if (i >= ENDPOINTS_SHOWN)
            break;
        lleval_sb_adds(sb, "| ");
        esc(sb, str(e, "base_url"), 100, true);
        lleval_sb_adds(sb, " | ");
        esc(sb, str(e, "engine"), 20, true);
        lleval_sb_adds(sb, " | ");
        numbers(sb, e, " | ");
        lleval_sb_addf(sb, " | %s | ",
                       json_is_false(json_object_get(e, "in_rotation")) ? "no" : "yes");
        esc(sb, str(e, "last_error"), REPORT_MD_CELL_MAX, true);
        lleval_sb_adds(sb, " |\n");
    }
}
