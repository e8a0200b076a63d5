/*
 * The run report (the pipeline's last step): <run>/report.html, one
 * self-contained page (inline CSS and SVG charts, an item explorer with an
 * inline script and its data as inline JSON, nothing fetched; light and
 * dark mode; prints well), and <run>/report.md, the same facts as short
 * text tables to paste into an issue or a pull request.
 *
 * The report only reads the run directory (manifest.json, config.resolved.yaml,
 * results/scores.json, results/predictions.csv, results/results_combined.jsonl,
 * parts/.../state.json through the doctor), each through the module that owns
 * its format (rundir.h, result.h, predictions.h, runs.h), and the prepared
 * datasets named by the run's config; it never changes a result. Whatever is missing (no scores
 * after --to-step poll, prepared data deleted, telemetry disabled) is said in
 * the report rather than failing it. docs/report.md describes every section.
 *
 * Every string that comes from outside (model output, dataset text, ids,
 * error messages, config values) is escaped where it is rendered.
 */
#ifndef LLEVAL_REPORT_H
#define LLEVAL_REPORT_H

#include "lleval/run/rundir.h" /* enum lleval_run_status */
#include "lleval/util/error.h"
#include "lleval/util/text.h" /* lleval_html_escape(), lleval_md_escape() */
#include "lleval/util/util.h"

/* Answers shown per group: up to this many wrong and right ones. */
#define LLEVAL_REPORT_WRONG 5
#define LLEVAL_REPORT_RIGHT 3

struct lleval_doctor_lines;

struct lleval_report_opts {
    /* The status to show instead of the manifest's (LLEVAL_RUN_UNKNOWN, the
     * default: the manifest's). The run's own report step passes
     * LLEVAL_RUN_DONE: its manifest says "running" until the run ends. */
    enum lleval_run_status status;
    /* The "generated" time, seconds since the epoch (0: now). */
    double generated_at;
    /* Items the explorer embeds whole (0: LLEVAL_REPORT_EXPLORER_MAX, 10,000);
     * above, a sample of about as many, chosen by a hash of the custom_id. */
    size_t explorer_max;
    /* The doctor's facts of the result lines, gathered by the run's parse
     * step in the same process (borrowed; NULL: the doctor reads the journals;
     * doctor.h). The report is the same either way. */
    const struct lleval_doctor_lines *doctor_lines;
};

void lleval_report_opts_init(struct lleval_report_opts *o);

/*
 * Renders the report of the run in run_dir (borrowed) and appends the HTML
 * page to html and the Markdown summary to md. o may be NULL (defaults).
 * Fails with LLEVAL_EINVAL when run_dir holds no readable manifest.json (not
 * a run); every other missing or unreadable artifact becomes a note in the
 * report.
 */
int lleval_report_render(const char *run_dir, const struct lleval_report_opts *o,
                         struct lleval_sb *html, struct lleval_sb *md, struct lleval_err *err);

/* Renders and writes <run_dir>/report.html and <run_dir>/report.md, each
 * atomically (a reader sees the old or the new file). o may be NULL. */
int lleval_report_write_opts(const char *run_dir, const struct lleval_report_opts *o,
                             struct lleval_err *err);
/* lleval_report_write_opts() with the defaults. */
int lleval_report_write(const char *run_dir, struct lleval_err *err);

/* The owned paths "<run_dir>/report.html" and "<run_dir>/report.md". */
char *lleval_report_html_path(const char *run_dir);
char *lleval_report_md_path(const char *run_dir);

/*
 * The comparison page of runs a_id and b_id of runs_dir (all borrowed; `lleval
 * report A B`): the per-group numbers of `lleval runs compare` and every
 * flipped item with its question, gold answers and both runs' answers, one
 * self-contained page without script, appended to html. Fails like
 * lleval_compare_run_load() (an invalid id, an unknown run, a run without
 * predictions.csv: LLEVAL_EINVAL).
 */
int lleval_report_compare_render(const char *runs_dir, const char *a_id, const char *b_id,
                                 struct lleval_sb *html, struct lleval_err *err);
/* Renders the comparison page and writes it to out_path (borrowed) atomically. */
int lleval_report_compare_write(const char *runs_dir, const char *a_id, const char *b_id,
                                const char *out_path, struct lleval_err *err);
/* The owned default path of the comparison page, "<runs_dir>/<b_id>/compare-<a_id>.html",
 * or NULL (err set) when an id is not a valid run id. */
char *lleval_report_compare_path(const char *runs_dir, const char *a_id, const char *b_id,
                                 struct lleval_err *err);

#endif
