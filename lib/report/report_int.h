/*
 * Library-internal interface of the run report (report.h), not installed.
 *
 * facts.c reads the run's artifacts once into one `struct report`: the
 * manifest's header facts and trials, the saved config, the scores and the
 * finish-reason rows, the doctor's findings, the sampled answers with their
 * gold, and the headline numbers. html.c (with the charts of svg.c) and
 * markdown.c only render those facts: they read no file and compute no fact
 * of their own, so the page and the summary always agree. report.c holds the
 * public entry points.
 *
 * Every artifact is read through the module that owns its format: paths
 * from rundir.h, the manifest as struct lleval_manifest, result lines
 * through lleval_result_decode(), predictions.csv through the predictions
 * reader, scores.json as struct lleval_scores with its headline metric
 * (scores.h). Strings in the facts are owned by the facts (freed by
 * lleval_report_facts_release()) or borrowed from the manifest and the
 * scores they keep, as each field says.
 */
#ifndef LLEVAL_REPORT_INT_H
#define LLEVAL_REPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include "lleval/config/config.h"
#include "lleval/doctor/doctor.h"
#include "lleval/report/report.h"
#include "lleval/run/rundir.h"
#include "lleval/score/compare.h"
#include "lleval/score/leaderboard.h"
#include "lleval/score/items.h"
#include "lleval/score/scores.h"
#include "lleval/util/idset.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

#define REPORT_TEXT_MAX     700 /* bytes of a prediction shown */
#define REPORT_QUESTION_MAX 400 /* bytes of a question shown */
#define REPORT_GOLD_MAX     200 /* bytes of one gold answer shown */
#define REPORT_GOLD_SHOWN   5   /* gold answers shown per item */
#define REPORT_LABEL_MAX    34  /* characters of a chart label */
#define REPORT_MD_CELL_MAX  300 /* bytes of one Markdown cell */

/* A value with its 95% interval. */
struct metric {
    bool has;         /* the metric applies and was measured */
    bool na;          /* it applies but nothing was measured: no successful answer ("n/a") */
    double v, lo, hi; /* lo and hi are NaN without an interval */
};

/* A number the manifest may leave out or set to null. */
struct opt_num {
    bool has;
    double v;
};

/* One row of scores.json; strings borrowed from the report's scores. */
struct grp {
    const char *dataset, *prompt; /* prompt NULL on an overall row */
    char *model_dataset;          /* owned: "<model>/<dataset>" (a run of several models) */
    char temp[32];
    bool overall, mc;
    bool shown; /* in the scores tables: every group, and an overall row over several */
    long n;
    long stop, length, error, other;
    struct metric em, f1, contains, acc, trunc, err, lat, tps;
};

/* One sampled answer. */
struct sample {
    char *custom_id, *item_id;
    char *answer; /* the extracted answer, when scored */
    bool scored, correct, mc;
    double f1;
    int choice;
    bool have_row, ok;
    char *prediction, *finish, *error;
    json_t *item; /* the gold item (own reference), or NULL */
};

/* The samples of one dataset x prompt type x temperature. */
struct sgroup {
    char *dataset, *prompt, *temp;
    struct sample *s;
    size_t n, cap;
    size_t kept_wrong, kept_right;
    long wrong, right, rows;
};

/* Finish reasons counted from results_combined.jsonl (runs without scores). */
struct fcount {
    char *dataset, *prompt, *temp;
    long stop, length, error, other;
};

/* One finish-reason row: from a scores group, else from the results.
 * Strings borrowed from the grp or fcount it comes from. */
struct frow {
    const char *dataset, *prompt, *temp;
    long stop, length, error, other;
};

/* One trial of the manifest; strings borrowed from the manifest (its telemetry too). */
struct trial {
    const char *name; /* may be NULL */
    long long parts_done, parts_total;
    long long answered, requests, errors;
    long long prompt_tokens, completion_tokens;
    double elapsed;                     /* seconds, 0 when unknown */
    struct opt_num rps, wall_tps;       /* answered and completion tokens per elapsed second */
    struct opt_num prompt_tps, gen_tps; /* the engine's own speeds */
    const char *tstatus;                /* telemetry status, "disabled" when absent */
    bool has_gpu;                       /* telemetry ok with a GPU object */
    const char *gpu_name;               /* may be NULL */
    struct opt_num mem_peak, mem_total, util_mean, util_peak, temp_peak, power_mean, energy,
        energy_per_token;
    struct opt_num cpu_mean, cpu_peak, rss_peak;
};

/* The headline numbers over the groups (overall rows left out). */
struct headline {
    bool have_main, have_f1, have_trunc, have_tps, have_lat;
    double main, f1, trunc, tps, lat;
    const char *main_label; /* "EM" (QA groups) or "accuracy" (multiple choice only); static */
    /* accuracy beside an EM main: a run with both kinds shows both, never a mix */
    bool have_acc;
    double acc;
};

struct explorer;
struct report;

/*
 * The item explorer's data read from results/items.jsonl (explorer_rows.c):
 * the JSON text of the string table (its values, comma-separated) and of the
 * rows, built as the items stream by. Above LLEVAL_REPORT_EXPLORER_MAX items
 * only a sample is kept (see lleval_report_sample_cut()). Owned by the report.
 */
#define X_LAST_COLS 5

/* What a prompt type asks of the items of one type (explorer_rows.c). */
struct xprompt {
    char *name;
    int type;
    bool context, choices; /* uses {context}; {choices} or {choice_letters} */
    bool simple;           /* a system text without placeholders, a user text with one {question} */
    char *prefix, *suffix; /* simple: the user text around {question} */
    long long idx;         /* the simple cell's index in t, -2 until known */
};

struct xdata {
    bool ready;            /* read from items.jsonl: the explorer shows this */
    size_t total, shown;   /* items read, rows kept */
    uint64_t cut;          /* a row is kept when its sample hash is below */
    struct lleval_sb t;    /* the table's values, comma-separated */
    struct lleval_sb rows; /* the rows, comma-separated */
    struct lleval_idset seen;
    size_t *toff; /* offset and length in t of each value */
    size_t n_t, cap_t;
    struct lleval_sb tmp, val; /* scratch */
    json_t *qitem;             /* scratch: an item of the row's question and choices */
    json_t *want;   /* dataset -> {item id: true}: rows whose prompt needs the prepared item */
    json_t *picked; /* dataset -> {item id -> prepared item} of want, on the second pass */
    char *last[X_LAST_COLS];         /* the last value of the few-valued columns */
    long long last_idx[X_LAST_COLS]; /* and its index in t */
    struct xprompt *pc;              /* per prompt type and item type */
    size_t n_pc, cap_pc;
    /* the reals written last, by a hash of their bits (F1 fractions and
     * latencies repeat: each is formatted once); prec 0: empty */
    struct xreal {
        uint64_t bits;
        int prec;
        unsigned char len;
        char text[32];
    } reals[16];
};

/* Items the explorer embeds whole; above, a deterministic sample of about as many.
 * 10,000 rows keep the page at a few MB for short answers (tens of MB for long
 * ones), the report's memory flat and the browser's filters instant, and keep
 * every run up to 10,000 items (most benchmarks' test sets) whole. */
#define LLEVAL_REPORT_EXPLORER_MAX 10000

/* The hash that samples the explorer's rows (of the custom_id; every run the same). */
uint64_t lleval_report_sample_hash(const char *custom_id);
/* The cut for total rows to keep about max: UINT64_MAX (all) when total <= max. */
uint64_t lleval_report_sample_cut(size_t total, size_t max);
/* Adds one scored item (borrowed) to xd: kept when its hash is under xd->cut. */
void lleval_report_xdata_row(struct xdata *xd, const struct report *r,
                             const struct lleval_item_row *w);
/* Reads the prepared items of xd->want (rows whose prompt needs more than the row
 * holds: a {context}) into xd->picked, only those parsed, for a second pass. */
void lleval_report_xdata_pick(struct xdata *xd, const char *prepared_dir);
void lleval_report_xdata_release(struct xdata *xd);

/*
 * Appends JSON text to sb so that it can sit inside <script
 * type="application/json">: '<', '>' and '&' (which JSON text holds only
 * inside strings) and U+2028/U+2029 are written as \u escapes, so nothing in
 * it can end the element or start a comment; JSON.parse reads the same value.
 */
void lleval_report_script_json(struct lleval_sb *sb, const char *s, size_t len);

struct report {
    const char *dir; /* borrowed */
    char *run_id;
    struct lleval_manifest m;
    enum lleval_run_status status; /* the caller's, else the manifest's */
    /* how the status is shown: its word, except a done run with failed requests
     * ("done with errors"; "done, every request failed" when none succeeded),
     * and the badge's class (s-ok only for a done run without errors) */
    const char *status_word, *status_class;
    double generated;
    char *steps_done; /* "prepare, build, ..." or "none" */

    /* header facts from the manifest; strings borrowed, "" when absent */
    const char *model, *engine, *engine_detail, *last_error, *prompt_set;
    char *models; /* a run of several models: every model, "a, b" (owned; model points here) */
    const char *base_url;           /* NULL when the manifest has none */
    double started, last, duration; /* seconds since the epoch (0: unknown); duration -1 */
    long total, answered, errors;
    double err_pct; /* errors of total in percent, 0 without requests */
    long long concurrency;

    struct trial *trials;
    size_t n_trials;
    bool any_gpu, one_gpu;
    const char *gpu_name; /* the GPU of every trial with telemetry, when one_gpu */

    struct lleval_config cfg;
    bool have_cfg;
    char *cfg_note;

    struct lleval_scores *scores; /* owned; NULL: no scores, scores_note says why */
    struct lleval_leaderboard lb; /* scores.json's leaderboard (several models), owned */
    char *scores_note;
    struct grp *grps;
    size_t n_grps;
    long long scored, rows, missing, unknown, duplicates; /* scores.json totals */
    const char **warnings; /* borrowed from the scores: its string warnings */
    size_t n_warnings;
    bool warnings_listed; /* the warnings array is not empty (strings or not) */

    struct fcount *fc;
    size_t n_fc, cap_fc;
    char *finish_note;
    struct frow *frows; /* from the scores' groups, else from fc */
    size_t n_frows;

    struct lleval_doctor_report doc;
    bool have_doc;
    char *doc_note;

    struct sgroup *sg;
    size_t n_sg, cap_sg;
    bool gold; /* samples scored against the prepared data */
    char *samples_note;

    struct headline h;

    struct explorer *ex; /* the item explorer's data while report.c renders the page, or NULL */
    struct xdata xd;     /* the explorer's rows from items.jsonl (samples.c reads them) */
    size_t explorer_max; /* the options' (0: LLEVAL_REPORT_EXPLORER_MAX) */
    const struct lleval_doctor_lines *doctor_lines; /* the options' (doctor.h) */
};

/*
 * Gathers the facts of the run in dir (borrowed, must outlive r) into r.
 * Fails only when dir holds no readable manifest.json (LLEVAL_EINVAL); every
 * other missing or damaged artifact leaves a note. r is always initialised:
 * call lleval_report_facts_release() in every case. o may be NULL.
 */
int lleval_report_facts_load(struct report *r, const char *dir, const struct lleval_report_opts *o,
                             struct lleval_err *err);
void lleval_report_facts_release(struct report *r);

/* Gathers r->sg, r->gold and r->samples_note (samples.c); needs the manifest,
 * config and scores facts. lleval_report_samples_release() frees the samples
 * and leaves none. */
void lleval_report_load_samples(struct report *r);
void lleval_report_samples_release(struct report *r);

/* The page's style sheet (style.c): strings to concatenate, NULL-terminated. */
extern const char *const lleval_report_css[];

/* Appends the HTML page (html.c) or the Markdown summary (markdown.c). */
void lleval_report_render_html(struct lleval_sb *sb, const struct report *r);
void lleval_report_render_md(struct lleval_sb *sb, const struct report *r);
/* The "Engine events" section (events.c): nothing when the manifest has none. */
void lleval_report_events_html(struct lleval_sb *sb, const struct report *r);
/* The leaderboard of a run of several models (leaderboard_section.c): read from
 * scores.json into r->lb (none without scores), then rendered; one model: nothing. */
void lleval_report_load_leaderboard(struct report *r);
void lleval_report_leaderboard_html(struct lleval_sb *sb, const struct report *r);
void lleval_report_leaderboard_md(struct lleval_sb *sb, const struct report *r);
/* The Settings table's row of `models:` (each model's launch settings and
 * concurrency); nothing without that key. */
void lleval_report_models_setting(struct lleval_sb *sb, const struct lleval_config *c);
void lleval_report_events_md(struct lleval_sb *sb, const struct report *r);
/* The "Concurrency" section (tune.c): nothing without max_concurrent_jobs auto. */
void lleval_report_tune_html(struct lleval_sb *sb, const struct report *r);
void lleval_report_tune_md(struct lleval_sb *sb, const struct report *r);
/* The "Endpoints" section (endpoints.c): one row per server of a run of several; nothing
 * for a run of one. */
void lleval_report_endpoints_html(struct lleval_sb *sb, const struct report *r);
void lleval_report_endpoints_md(struct lleval_sb *sb, const struct report *r);

/* The inline SVG charts (svg.c): score bars with interval whiskers (nothing
 * without groups), stacked finish reasons of r->frows, and a small meter of
 * frac (0..1) with the CSS class cls (borrowed, trusted). */
void lleval_report_svg_scores(struct lleval_sb *sb, const struct report *r);
void lleval_report_svg_finish(struct lleval_sb *sb, const struct report *r);
void lleval_report_svg_meter(struct lleval_sb *sb, double frac, const char *cls);

/* ---- the item explorer (explorer.c, explorer_assets.c) ------------------ */

/* What the explorer knows of an answer. */
enum xverdict { XV_UNSCORED, XV_RIGHT, XV_WRONG, XV_ERROR, XV_UNKNOWN };

/* One answered item: a row of predictions.csv (the first of its custom_id)
 * with its verdict and gold item. Strings owned. */
struct xrow {
    char *custom_id, *dataset, *item_id, *prompt, *temp;
    long sample;
    enum xverdict verdict;
    bool mc;    /* scored as multiple choice */
    double f1;  /* QA, when scored; NaN otherwise */
    int choice; /* multiple choice: the letter read (0 = A), -1 none */
    char *prediction, *answer, *finish, *error; /* answer NULL when unscored */
    double latency_ms;                          /* NaN when unknown */
    long long tokens;                           /* completion tokens, -1 when unknown */
    const json_t *item;                         /* the gold item, borrowed from golds, or NULL */
};

/* Every answered item of a run. */
struct xrows {
    struct xrow *rows;
    size_t n, cap;
    json_t *by_cid; /* custom_id -> index into rows */
    json_t *golds;  /* dataset -> {item id -> prepared item} (owned) */
    bool gold;      /* verdicts and gold items from the prepared data */
    char *note;     /* why there are no verdicts or no rows, or NULL */
};

/*
 * Gathers the answered items of the run in run_dir (borrowed): every row of
 * its predictions.csv, scored against the prepared data in prepared_dir
 * (NULL or gone: no verdicts, x->note says why) with cfg's scoring options
 * (cfg may be NULL). The one place the explorer and the comparison page read
 * items from. Fails (LLEVAL_EINVAL/EIO, x->note set too) only when
 * predictions.csv cannot be read; x is always initialised: release it.
 */
int lleval_report_xrows_load(struct xrows *x, const char *run_dir, const struct lleval_config *cfg,
                             const char *prepared_dir, struct lleval_err *err);
void lleval_report_xrows_release(struct xrows *x);
/* The row with that custom_id (borrowed), or NULL. */
const struct xrow *lleval_report_xrows_find(const struct xrows *x, const char *custom_id);
/* "right", "wrong", "error", "unknown" or "unscored". */
const char *lleval_report_verdict_name(enum xverdict v);
/* The gold answers of an item as an owned JSON array of strings (a letter
 * with its choice: "B (Paris)"); an empty array without an item. */
json_t *lleval_report_golds(const json_t *item);

/* ---- the comparison page (compare_page.c, compare_flips.c) ----------------- */

/*
 * The rows of res's flipped items of run r (read from items.jsonl: r->lines
 * and r->items_path set) that the page shows, the first `shown` each way, into
 * x (initialised here; release it), their questions and golds as items
 * (x->golds). 0, or 1 when items.jsonl could not be read again.
 */
int lleval_report_cmp_flips(const struct lleval_compare_run *r,
                            const struct lleval_compare_result *res, size_t shown, struct xrows *x);

/* The explorer's data (r->ex), loaded by report.c before the page is
 * rendered; loaded is false when there was nothing to gather (items.note
 * says why). */
struct explorer {
    struct xrows items;
    const struct xdata *xd; /* the rows read from items.jsonl (the report's), else NULL */
    bool loaded;
};
/* Gathers r's items into ex and points r->ex at it (ex borrowed: it must
 * outlive the rendering); release with lleval_report_explorer_release(). */
void lleval_report_explorer_load(struct report *r, struct explorer *ex);
void lleval_report_explorer_release(struct explorer *ex);

/* Appends the explorer's <head> part (the Content-Security-Policy of
 * lleval_report_csp() and its style sheet) and its section (the item data as
 * inline JSON and the script that shows it; explorer.c). */
void lleval_report_explorer_head(struct lleval_sb *sb);
void lleval_report_explorer_html(struct lleval_sb *sb, const struct report *r);

/* The page's Content-Security-Policy <meta> (explorer_csp.c): no network
 * access, inline styles, and only the explorer's script, by its SHA-256. */
void lleval_report_csp(struct lleval_sb *sb);
/* Appends the explorer's script text, exactly the text the policy hashes. */
void lleval_report_explorer_script(struct lleval_sb *sb);
/* SHA-256 (FIPS 180-4) of data[0..len) into out. */
void lleval_report_sha256(const void *data, size_t len, unsigned char out[32]);

/* Inline JavaScript and CSS of the explorer and the comparison page
 * (explorer_assets.c): NULL-terminated lists of strings to concatenate. */
extern const char *const lleval_explorer_js[];
extern const char *const lleval_explorer_css[];

/* Escapes at most max bytes of s (cut at a character boundary, "..." when cut) into sb:
 * Markdown when md, else HTML (report.c). */
void lleval_report_esc_cut(struct lleval_sb *sb, const char *s, size_t max, bool md);

#endif
