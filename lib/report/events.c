/*
 * The report's "Engine events" section, in report.html and report.md: what
 * manifest.json records of the engine beyond its answers (events.h): each
 * death of a managed llama-server (restarted or not, its exit status or
 * signal) and the failed attempts that were retried, by error class with a
 * sample message. Runs without any render nothing. Every string from the
 * manifest is escaped (HTML / Markdown) and cut.
 */
#include <string.h>
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

#define EVENTS_SHOWN 20 /* events listed; the manifest holds the rest */

/* "killed by signal 9", "exit status 1" or "exit unknown" into buf. */
static const char *how(const json_t *e, char *buf, size_t size)
{
    const json_t *sig = json_object_get(e, "signal"), *code = json_object_get(e, "exit_status");
    const char *kind = json_string_value(json_object_get(e, "kind"));
    if (kind && (!strcmp(kind, "start") || !strcmp(kind, "stop"))) /* a server per model */
        snprintf(buf, size, "%s", !strcmp(kind, "start") ? "started" : "stopped by lleval");
    else if (json_is_integer(sig))
        snprintf(buf, size, "killed by signal %lld", (long long)json_integer_value(sig));
    else if (json_is_integer(code))
        snprintf(buf, size, "exit status %lld", (long long)json_integer_value(code));
    else
        snprintf(buf, size, "exit unknown");
    return buf;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static bool any(const struct report *r)
{
    return json_array_size(r->m.engine_events) || json_object_size(r->m.retries);
}

/* Escapes at most max bytes of s into sb (HTML or Markdown). */
static void esc(struct lleval_sb *sb, const char *s, size_t max, bool md)
{
    lleval_report_esc_cut(sb, s, max, md);
}

void lleval_report_events_html(struct lleval_sb *sb, const struct report *r)
{
    const json_t *e, *c, *by = json_object_get(r->m.retries, "by_class");
    const char *cls;
    size_t i;
    char buf[48];

    if (!any(r))
        return;
    lleval_sb_adds(sb, "<section id=\"engine-events\">\n<h2>Engine events</h2>\n");
    if (json_array_size(r->m.engine_events)) {
        lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>when (UTC)</th>"
                           "<th>event</th><th>how it ended</th><th>restarts</th><th>address</th>"
                           "<th>cause</th></tr></thead>\n<tbody>\n");
        json_array_foreach(r->m.engine_events, i, e)
        {
            if (i >= EVENTS_SHOWN)
                break;
            lleval_sb_adds(sb, "<tr><td>");
            esc(sb, str(e, "at_utc"), 40, false);
            lleval_sb_adds(sb, "</td><td>");
            esc(sb, str(e, "kind"), 20, false);
            if (*str(e, "model")) { /* a run of several models: whose server */
                lleval_sb_adds(sb, " (");
                esc(sb, str(e, "model"), 100, false);
                lleval_sb_adds(sb, ")");
            }
            lleval_sb_addf(sb, "</td><td>%s</td><td class=\"num\">%lld</td><td>",
                           how(e, buf, sizeof(buf)),
                           (long long)json_integer_value(json_object_get(e, "restarts")));
            esc(sb, str(e, "address"), 100, false);
            lleval_sb_adds(sb, "</td><td>");
            esc(sb, str(e, "cause"), REPORT_MD_CELL_MAX, false);
            lleval_sb_adds(sb, "</td></tr>\n");
        }
        lleval_sb_adds(sb, "</tbody></table></div>\n");
    }
    if (json_object_size(by)) {
        lleval_sb_addf(sb,
                       "<p>%lld failed attempt%s tried again (the answers that followed do "
                       "not show them):</p>\n",
                       (long long)json_integer_value(json_object_get(r->m.retries, "total")),
                       json_integer_value(json_object_get(r->m.retries, "total")) == 1 ? " was"
                                                                                       : "s were");
        lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>error class</th>"
                           "<th>retries</th><th>first message</th></tr></thead>\n<tbody>\n");
        json_object_foreach((json_t *)by, cls, c)
        {
            lleval_sb_adds(sb, "<tr><td>");
            esc(sb, cls, 40, false);
            lleval_sb_addf(sb, "</td><td class=\"num\">%lld</td><td>",
                           (long long)json_integer_value(json_object_get(c, "count")));
            esc(sb, str(c, "sample"), REPORT_MD_CELL_MAX, false);
            lleval_sb_adds(sb, "</td></tr>\n");
        }
        lleval_sb_adds(sb, "</tbody></table></div>\n");
    }
    lleval_sb_adds(sb, "</section>\n");
}

void lleval_report_events_md(struct lleval_sb *sb, const struct report *r)
{
    const json_t *e, *c, *by = json_object_get(r->m.retries, "by_class");
    const char *cls;
    size_t i;
    char buf[48];

    if (!any(r))
        return;
    lleval_sb_adds(sb, "\n## Engine events\n\n");
    if (json_array_size(r->m.engine_events)) {
        lleval_sb_adds(sb, "| when (UTC) | event | how it ended | restarts | address | cause |\n"
                           "|---|---|---|--:|---|---|\n");
        json_array_foreach(r->m.engine_events, i, e)
        {
            if (i >= EVENTS_SHOWN)
                break;
            lleval_sb_adds(sb, "| ");
            esc(sb, str(e, "at_utc"), 40, true);
            lleval_sb_adds(sb, " | ");
            esc(sb, str(e, "kind"), 20, true);
            if (*str(e, "model")) {
                lleval_sb_adds(sb, " (");
                esc(sb, str(e, "model"), 100, true);
                lleval_sb_adds(sb, ")");
            }
            lleval_sb_addf(sb, " | %s | %lld | ", how(e, buf, sizeof(buf)),
                           (long long)json_integer_value(json_object_get(e, "restarts")));
            esc(sb, str(e, "address"), 100, true);
            lleval_sb_adds(sb, " | ");
            esc(sb, str(e, "cause"), REPORT_MD_CELL_MAX, true);
            lleval_sb_adds(sb, " |\n");
        }
        lleval_sb_adds(sb, "\n");
    }
    if (json_object_size(by)) {
        lleval_sb_adds(sb, "Failed attempts that were tried again:\n\n"
                           "| error class | retries | first message |\n|---|--:|---|\n");
        json_object_foreach((json_t *)by, cls, c)
        {
            lleval_sb_adds(sb, "| ");
            esc(sb, cls, 40, true);
            lleval_sb_addf(sb, " | %lld | ",
                           (long long)json_integer_value(json_object_get(c, "count")));
            esc(sb, str(c, "sample"), REPORT_MD_CELL_MAX, true);
            lleval_sb_adds(sb, " |\n");
        }
    }
}
