/*
 * The run report's entry points (see report.h): gathers the run's facts once
 * (facts.c, samples.c) and renders them as the HTML page (html.c, svg.c,
 * style.c) and the Markdown summary (markdown.c), then writes both files
 * atomically.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/report/report.h"
#include "lleval/run/rundir.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

void lleval_report_opts_init(struct lleval_report_opts *o)
{
    memset(o, 0, sizeof(*o));
}

char *lleval_report_html_path(const char *run_dir)
{
    return lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_REPORT_HTML);
}

char *lleval_report_md_path(const char *run_dir)
{
    return lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_REPORT_MD);
}

int lleval_report_render(const char *run_dir, const struct lleval_report_opts *o,
                         struct lleval_sb *html, struct lleval_sb *md, struct lleval_err *err)
{
    struct report r;
    struct explorer ex;
    int rc = lleval_report_facts_load(&r, run_dir, o, err);
    memset(&ex, 0, sizeof(ex));
    if (!rc) {
        if (html) {
            lleval_report_explorer_load(&r, &ex);
            lleval_report_render_html(html, &r);
        }
        if (md)
            lleval_report_render_md(md, &r);
    }
    lleval_report_explorer_release(&ex);
    lleval_report_facts_release(&r);
    return rc;
}

int lleval_report_write_opts(const char *run_dir, const struct lleval_report_opts *o,
                             struct lleval_err *err)
{
    struct lleval_sb html = LLEVAL_SB_INIT, md = LLEVAL_SB_INIT;
    char *hp = NULL, *mp = NULL;
    int rc = lleval_report_render(run_dir, o, &html, &md, err);
    if (rc)
        goto out;
    /* the last line of defence: the inputs are redacted where they were written */
    lleval_redact_sb(&html);
    lleval_redact_sb(&md);
    hp = lleval_report_html_path(run_dir);
    mp = lleval_report_md_path(run_dir);
    rc = lleval_write_file_atomic(hp, html.buf, html.len, err);
    if (!rc)
        rc = lleval_write_file_atomic(mp, md.buf, md.len, err);
out:
    free(hp);
    free(mp);
    lleval_sb_release(&html);
    lleval_sb_release(&md);
    return rc;
}

int lleval_report_write(const char *run_dir, struct lleval_err *err)
{
    return lleval_report_write_opts(run_dir, NULL, err);
}

void lleval_report_esc_cut(struct lleval_sb *sb, const char *s, size_t max, bool md)
{
    size_t len = strlen(s), cut = lleval_utf8_cut(s, len, max);
    if (md)
        lleval_md_escape_n(sb, s, cut);
    else
        lleval_html_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_adds(sb, "...");
}
