/*
 * Checks every artifact of a finished run against the others (lleval smoke):
 * the saved config, a done manifest with job counts, each part's state and
 * journal (one result per request), the combined results, predictions.csv
 * (one record per request), a readable scores.json and a released lock (not
 * held by anyone).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/run/verify.h"
#include "lleval/score/predictions.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

struct checks {
    lleval_verify_fn fn;
    void *ud;
    int failed;
};

static void check(struct checks *c, bool ok, const char *what, const char *fmt, ...)
    LLEVAL_PRINTF(4, 5);
static void check(struct checks *c, bool ok, const char *what, const char *fmt, ...)
{
    struct lleval_sb detail = LLEVAL_SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    lleval_sb_vaddf(&detail, fmt, ap);
    va_end(ap);
    c->fn(c->ud, ok, what, detail.buf);
    lleval_sb_release(&detail);
    if (!ok)
        c->failed++;
}

static long count_lines(const char *path)
{
    struct lleval_lines lr;
    long n = 0;
    if (lleval_lines_open(&lr, path, NULL))
        return -1;
    while (lleval_lines_next(&lr, NULL) > 0)
        n++;
    lleval_lines_close(&lr);
    return n;
}

/* predictions.csv's records: its rows + the header (a prediction may span
 * lines), -1 when it cannot be read. */
static long count_records(const char *path)
{
    struct lleval_pred_reader rd;
    struct lleval_pred_row row;
    long n = 1;
    int more;
    if (lleval_pred_open(&rd, path, 0, 0, NULL))
        return -1;
    while ((more = lleval_pred_next(&rd, &row, NULL)) > 0)
        n++;
    lleval_pred_close(&rd);
    return more < 0 ? -1 : n;
}

static void check_json(struct checks *c, const char *dir, enum lleval_run_file f)
{
    char *path = lleval_run_file_path(dir, f);
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j = lleval_json_load_file(path, &err);
    check(c, j != NULL, lleval_run_file_rel(f), "%s", j ? "valid JSON" : err.msg);
    json_decref(j);
    free(path);
}

static void check_manifest(struct checks *c, const char *run_dir)
{
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int rc = lleval_manifest_load(run_dir, &m, &err);
    check(c, rc == 0, lleval_run_file_rel(LLEVAL_RUN_FILE_MANIFEST), "%s",
          rc == 0 ? "valid JSON" : err.msg);
    if (rc == 0) {
        check(c, m.status == LLEVAL_RUN_DONE, "manifest status", "%s",
              m.status != LLEVAL_RUN_UNKNOWN ? lleval_run_status_name(m.status) : "(none)");
        check(c, m.n_trials > 0 && m.trials[0].jobs_total > 0, "manifest job_counts", "%zu trials",
              m.n_trials);
    }
    lleval_manifest_release(&m);
}

static void check_part(struct checks *c, const char *run_dir, const struct lleval_part_info *pi)
{
    char *state = lleval_run_state_path(run_dir, pi->folder, pi->temp, pi->index);
    char *journal = lleval_run_journal_path(run_dir, pi->folder, pi->temp, pi->index);
    struct lleval_part_state st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool read = lleval_part_state_load(state, &st, &err) == 0;
    long n = count_lines(journal);
    char *state_rel = lleval_run_rel_path(run_dir, state),
         *journal_rel = lleval_run_rel_path(run_dir, journal);

    check(c, read && st.status == LLEVAL_RUN_DONE, state_rel, "status %s",
          read && st.status != LLEVAL_RUN_UNKNOWN ? lleval_run_status_name(st.status)
                                                  : "(missing)");
    if (n < 0)
        check(c, false, journal_rel, "missing or unreadable (%ld requests)", pi->requests);
    else
        check(c, n == pi->requests, journal_rel, "%ld results for %ld requests", n, pi->requests);
    lleval_part_state_release(&st);
    free(state_rel);
    free(journal_rel);
    free(state);
    free(journal);
}

static void check_artifacts(struct checks *c, const char *run_dir, long expected_rows)
{
    struct lleval_build_result br;
    char *batches = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_BATCHES);
    char *p;
    long total = 0;

    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_CONFIG);
    check(c, lleval_path_exists(p), lleval_run_file_rel(LLEVAL_RUN_FILE_CONFIG), "%s", p);
    free(p);
    check_manifest(c, run_dir);
    if (lleval_build_load(batches, &br, NULL) == 0) {
        for (size_t i = 0; i < br.n_parts; i++) {
            check_part(c, run_dir, &br.parts[i]);
            total += br.parts[i].requests;
        }
        check(c, total == expected_rows || expected_rows < 0, "batches",
              "%ld requests in %zu parts", total, br.n_parts);
        lleval_build_result_release(&br);
    } else {
        check(c, false, lleval_run_file_rel(LLEVAL_RUN_FILE_BUILD), "missing");
    }
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_COMBINED);
    {
        long n = count_lines(p);
        if (n < 0) /* a count never shows as -1 */
            check(c, false, "results_combined.jsonl", "missing or unreadable");
        else
            check(c, n == total, "results_combined.jsonl", "%ld lines", n);
    }
    free(p);
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_PREDICTIONS);
    {
        long n = count_records(p);
        if (n < 1)
            check(c, false, "predictions.csv", n < 0 ? "missing or unreadable" : "empty");
        else
            check(c, n == total + 1, "predictions.csv", "%ld rows + header", n - 1);
    }
    free(p);
    check_json(c, run_dir, LLEVAL_RUN_FILE_SCORES);
    /* released, not gone: POSIX removes the lock file, Windows empties it
     * (an open file cannot be removed there; see lleval_lock_release) */
    p = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_LOCK);
    {
        bool held = lleval_lock_is_held(p);
        check(c, !held, "lock released", "%s",
              held                    ? p
              : lleval_path_exists(p) ? "not held"
                                      : "no lock");
    }
    free(p);
    free(batches);
}

int lleval_run_verify(const char *run_dir, long expected_rows, lleval_verify_fn fn, void *ud)
{
    struct checks c = {fn, ud, 0};
    check_artifacts(&c, run_dir, expected_rows);
    return c.failed;
}
