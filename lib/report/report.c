/*
 * The run report (see report.h): gathers a run's facts read-only (manifest,
 * saved config, scores, the doctor's findings, a sample of answers with their
 * gold) and renders them as one self-contained HTML page with inline SVG
 * charts and as a short Markdown summary.
 *
 * Gathering never fails on a missing artifact: each part keeps a note that
 * says what is missing and why, and the renderers print the note in place of
 * the section. Only an unreadable manifest (not a run) is an error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/config/config.h"
#include "lleval/util/csv.h"
#include "lleval/dataset/dataset.h"
#include "lleval/doctor/doctor.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/report/report.h"
#include "lleval/score/score.h"
#include "lleval/score/stats.h"
#include "lleval/util/util.h"

#define TEXT_MAX     700 /* bytes of a prediction shown */
#define QUESTION_MAX 400 /* bytes of a question shown */
#define GOLD_MAX     200 /* bytes of one gold answer shown */
#define GOLD_SHOWN   5   /* gold answers shown per item */
#define LABEL_MAX    34  /* characters of a chart label */
#define MD_CELL_MAX  300 /* bytes of one Markdown cell */
/* a sample's index in the custom_id lookup: group * SLOTS + sample */
#define SLOTS (LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT)

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* ---- escaping ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1 for ASCII), 0 when invalid. */
static size_t utf8_seq(const char *p, size_t left)
{
    unsigned char c = (unsigned char)p[0];
    size_t n, bad;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (n > left || !lleval_utf8_valid(p, n, &bad))
        return 0;
    return n;
}

/* Copies the non-ASCII UTF-8 sequence at s (a bad byte becomes U+FFFD);
 * returns the bytes consumed. Both escapers share it. */
static size_t copy_utf8(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t n = utf8_seq(s, len);
    if (!n) {
        lleval_sb_adds(sb, replacement);
        return 1;
    }
    lleval_sb_add(sb, s, n);
    return n;
}

static void html_escape_n(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '&':
                lleval_sb_adds(sb, "&amp;");
                break;
            case '<':
                lleval_sb_adds(sb, "&lt;");
                break;
            case '>':
                lleval_sb_adds(sb, "&gt;");
                break;
            case '"':
                lleval_sb_adds(sb, "&quot;");
                break;
            case '\'':
                lleval_sb_adds(sb, "&#39;");
                break;
            case '\t':
            case '\n':
            case '\r':
                lleval_sb_addch(sb, (char)c);
                break;
            default:
                if (c < 0x20 || c == 0x7F)
                    lleval_sb_adds(sb, replacement);
                else
                    lleval_sb_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        i += copy_utf8(sb, s + i, len - i);
    }
}

void lleval_html_escape(struct lleval_sb *sb, const char *s)
{
    if (s)
        html_escape_n(sb, s, strlen(s));
}

/* Where to cut s to at most max bytes without splitting a UTF-8 sequence. */
static size_t cut_at(const char *s, size_t len, size_t max)
{
    size_t cut;
    if (len <= max)
        return len;
    cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

/* Escapes at most max bytes of s, with an ellipsis when cut. */
static void html_trunc(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len, cut;
    if (!s)
        return;
    len = strlen(s);
    cut = cut_at(s, len, max);
    html_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_addf(sb, "&hellip; <span class=\"muted\">(%zu more bytes)</span>", len - cut);
}

static bool ascii_punct(unsigned char c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

static void md_escape_n(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '\\':
                /* a backslash escapes only punctuation: keep "\n" as written */
                if (i + 1 < len && ascii_punct((unsigned char)s[i + 1]))
                    lleval_sb_addch(sb, '\\');
                lleval_sb_addch(sb, '\\');
                break;
            case '`':
            case '|':
            case '<':
                lleval_sb_addch(sb, '\\');
                lleval_sb_addch(sb, (char)c);
                break;
            case '\n':
            case '\r':
            case '\t':
                lleval_sb_addch(sb, ' ');
                break;
            default:
                if (c >= 0x20 && c != 0x7F)
                    lleval_sb_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        i += copy_utf8(sb, s + i, len - i);
    }
}

void lleval_md_escape(struct lleval_sb *sb, const char *s)
{
    if (s)
        md_escape_n(sb, s, strlen(s));
}

static void md_trunc(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len, cut;
    if (!s)
        return;
    len = strlen(s);
    cut = cut_at(s, len, max);
    md_escape_n(sb, s, cut);
    if (cut < len)
        lleval_sb_adds(sb, "...");
}

/* Appends at most max characters (code points) of s, escaped, with an ellipsis when cut. */
static void html_chars(struct lleval_sb *sb, const char *s, size_t max)
{
    size_t len = strlen(s), i = 0, chars = 0;
    while (i < len && chars < max) {
        size_t n = utf8_seq(s + i, len - i);
        i += n ? n : 1;
        chars++;
    }
    html_escape_n(sb, s, i);
    if (i < len)
        lleval_sb_adds(sb, "&hellip;");
}

/* ---- numbers ------------------------------------------------------------ */

enum num_kind {
    NUM_PCT, /* percent, one decimal */
    NUM_MS,  /* milliseconds: one decimal under 100, none above */
    NUM_TPS, /* tokens per second, one decimal */
};

static void put_num(struct lleval_sb *sb, enum num_kind k, double v, double ref)
{
    if (k == NUM_MS && fabs(ref) >= 100)
        lleval_sb_addf(sb, "%.0f", v);
    else
        lleval_sb_addf(sb, "%.1f", v);
}

/* A value with its 95% interval. */
struct metric {
    bool has;         /* the metric applies and was measured */
    double v, lo, hi; /* lo and hi are NaN without an interval */
};

static bool has_ci(const struct metric *m)
{
    return m->has && !isnan(m->lo) && !isnan(m->hi);
}

/* "31.2 [12.5, 56.2]" in Markdown; the interval in a span in HTML; a dash when absent. */
static void put_metric(struct lleval_sb *sb, const struct metric *m, enum num_kind k, bool html)
{
    if (!m->has) {
        lleval_sb_adds(sb, html ? "<span class=\"muted\">&ndash;</span>" : "-");
        return;
    }
    put_num(sb, k, m->v, m->v);
    if (!has_ci(m))
        return;
    lleval_sb_adds(sb, html ? "<span class=\"ci\">[" : " [");
    put_num(sb, k, m->lo, m->v);
    lleval_sb_adds(sb, ", ");
    put_num(sb, k, m->hi, m->v);
    lleval_sb_adds(sb, html ? "]</span>" : "]");
}

static void fmt_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0))
        snprintf(buf, size, "?");
    else if (s < 10)
        snprintf(buf, size, "%.1fs", s);
    else if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* ---- gathered facts ----------------------------------------------------- */

/* One row of scores.json; strings borrowed from the scores document. */
struct grp {
    const char *dataset, *prompt;
    char temp[32];
    bool overall, mc;
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

struct report {
    const char *dir;
    char *run_id;
    json_t *manifest;
    const char *status;
    double generated;
    struct lleval_config cfg;
    bool have_cfg;
    char *cfg_note;
    json_t *scores;
    char *scores_note;
    struct grp *grps;
    size_t n_grps;
    struct lleval_doctor_report doc;
    bool have_doc;
    char *doc_note;
    struct sgroup *sg;
    size_t n_sg, cap_sg;
    bool gold; /* samples scored against the prepared data */
    char *samples_note;
    struct fcount *fc;
    size_t n_fc, cap_fc;
    char *finish_note;
};

static void sgroups_free(struct sgroup *sg, size_t n)
{
    for (size_t g = 0; g < n; g++) {
        for (size_t i = 0; i < sg[g].n; i++) {
            struct sample *s = &sg[g].s[i];
            free(s->custom_id);
            free(s->item_id);
            free(s->answer);
            free(s->prediction);
            free(s->finish);
            free(s->error);
            json_decref(s->item);
        }
        free(sg[g].s);
        free(sg[g].dataset);
        free(sg[g].prompt);
        free(sg[g].temp);
    }
    free(sg);
}

static void report_release(struct report *r)
{
    free(r->run_id);
    json_decref(r->manifest);
    lleval_config_release(&r->cfg);
    free(r->cfg_note);
    json_decref(r->scores);
    free(r->scores_note);
    free(r->grps);
    if (r->have_doc)
        lleval_doctor_report_release(&r->doc);
    free(r->doc_note);
    sgroups_free(r->sg, r->n_sg);
    free(r->samples_note);
    for (size_t i = 0; i < r->n_fc; i++) {
        free(r->fc[i].dataset);
        free(r->fc[i].prompt);
        free(r->fc[i].temp);
    }
    free(r->fc);
    free(r->finish_note);
}

static char *run_path(const struct report *r, const char *rel)
{
    return lleval_path_join(r->dir, rel);
}

/* The manifest's steps_done as "prepare, build, ...", owned. */
static char *steps_done(const struct report *r)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const json_t *steps = json_object_get(r->manifest, "steps_done"), *s;
    size_t i;
    json_array_foreach(steps, i, s)
    {
        if (!json_is_string(s))
            continue;
        if (sb.len)
            lleval_sb_adds(&sb, ", ");
        lleval_sb_adds(&sb, json_string_value(s));
    }
    if (!sb.len)
        lleval_sb_adds(&sb, "none");
    return lleval_sb_detach(&sb, NULL);
}

static int load_manifest(struct report *r, struct lleval_err *err)
{
    char *path = run_path(r, "manifest.json");
    const char *id, *slash;
    if (!lleval_path_exists(path)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "no manifest.json in '%s': not a run directory (see `lleval runs list`)",
                       r->dir);
        free(path);
        return LLEVAL_EINVAL;
    }
    r->manifest = lleval_json_load_file(path, err);
    free(path);
    if (!r->manifest)
        return err->code ? err->code : LLEVAL_EINVAL;
    if (!json_is_object(r->manifest))
        return lleval_err_set(err, LLEVAL_EINVAL, "'%s/manifest.json' is not a JSON object",
                              r->dir);
    id = lleval_json_str(r->manifest, "run_id");
    slash = strrchr(r->dir, '/');
    r->run_id = lleval_xstrdup(id && *id ? id : slash ? slash + 1 : r->dir);
    return 0;
}

static void load_config(struct report *r)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    char *path = run_path(r, "config.resolved.yaml");
    if (!lleval_path_exists(path))
        r->cfg_note = lleval_xstrdup("config.resolved.yaml is missing from the run directory");
    else if (lleval_config_load_file(&r->cfg, path, &e))
        r->cfg_note = lleval_xasprintf("config.resolved.yaml could not be read: %s", e.msg);
    else
        r->have_cfg = true;
    free(path);
}

static void json_metric(struct metric *m, const json_t *g, const char *key)
{
    const json_t *o = json_object_get(g, key), *v, *ci;
    memset(m, 0, sizeof(*m));
    m->lo = m->hi = NAN;
    if (!json_is_object(o))
        return;
    v = json_object_get(o, "value");
    if (!json_is_number(v))
        return;
    m->has = true;
    m->v = json_number_value(v);
    ci = json_object_get(o, "ci95");
    if (json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
        json_is_number(json_array_get(ci, 1))) {
        m->lo = json_number_value(json_array_get(ci, 0));
        m->hi = json_number_value(json_array_get(ci, 1));
    }
}

/* k of n as a percentage with a percentile bootstrap interval, computed the
 * way the scorer computes its own (same resamples, a seed per label). */
static void prop_metric(struct metric *m, long k, long n, long resamples, uint64_t seed,
                        const char *label)
{
    struct lleval_dist d;
    struct lleval_ci ci;
    memset(m, 0, sizeof(*m));
    m->lo = m->hi = NAN;
    if (n <= 0 || k < 0 || k > n)
        return;
    m->has = true;
    m->v = 100.0 * (double)k / (double)n;
    if (resamples <= 0)
        return;
    lleval_dist_init(&d);
    for (long i = 0; i < n; i++)
        lleval_dist_add(&d, i < k ? 1.0 : 0.0);
    if (!lleval_bootstrap_dist(&d, resamples, lleval_seed_derive(seed, label), &ci, NULL)) {
        m->lo = 100.0 * ci.lo;
        m->hi = 100.0 * ci.hi;
    }
    lleval_dist_release(&d);
}

static void load_scores(struct report *r)
{
    char *path = run_path(r, "results/scores.json");
    struct lleval_err e = LLEVAL_ERR_INIT;
    const json_t *groups, *g, *opts;
    long resamples;
    uint64_t seed;
    size_t i;

    if (!lleval_path_exists(path)) {
        char *steps = steps_done(r);
        r->scores_note = lleval_xasprintf(
            "scores are missing: results/scores.json was not written (steps done: %s); run the "
            "score step with `lleval runs resume %s` or `lleval score`",
            steps, r->run_id);
        free(steps);
        free(path);
        return;
    }
    r->scores = lleval_json_load_file(path, &e);
    free(path);
    if (!r->scores) {
        r->scores_note = lleval_xasprintf("scores are missing: %s", e.msg);
        return;
    }
    groups = json_object_get(r->scores, "groups");
    opts = json_object_get(r->scores, "options");
    resamples = (long)lleval_json_int(opts, "bootstrap_resamples", LLEVAL_BOOTSTRAP_DEFAULT);
    seed = (uint64_t)lleval_json_int(opts, "bootstrap_seed", 12345);
    r->grps = lleval_xcalloc(json_array_size(groups) + 1, sizeof(*r->grps));
    json_array_foreach(groups, i, g)
    {
        struct grp *x = &r->grps[r->n_grps];
        const json_t *fr = json_object_get(g, "finish_reason"), *t;
        const char *scoring = lleval_json_str(g, "scoring");
        char label[512];
        long errors;
        if (!json_is_object(g) || !lleval_json_str(g, "dataset"))
            continue;
        x->dataset = lleval_json_str(g, "dataset");
        x->prompt = lleval_json_str(g, "prompt_type");
        t = json_object_get(g, "temperature");
        if (json_is_number(t))
            lleval_fmt_num(x->temp, sizeof(x->temp), json_number_value(t));
        else if (json_is_string(t))
            snprintf(x->temp, sizeof(x->temp), "%s", json_string_value(t));
        x->overall = json_is_true(json_object_get(g, "overall"));
        x->n = (long)lleval_json_int(g, "n", 0);
        x->stop = (long)lleval_json_int(fr, "stop", 0);
        x->length = (long)lleval_json_int(fr, "length", 0);
        x->error = (long)lleval_json_int(fr, "error", 0);
        x->other = (long)lleval_json_int(fr, "other", 0);
        json_metric(&x->em, g, "exact_match");
        json_metric(&x->f1, g, "f1");
        json_metric(&x->contains, g, "contains");
        json_metric(&x->acc, g, "accuracy");
        json_metric(&x->lat, g, "latency_ms");
        json_metric(&x->tps, g, "tokens_per_s");
        x->mc = (scoring && !strcmp(scoring, "mc")) || (x->acc.has && !x->em.has);
        errors = (long)floor(lleval_json_num(g, "error_pct", 0) * (double)x->n / 100.0 + 0.5);
        snprintf(label, sizeof(label), "%s/%s/t%s/truncation", x->dataset,
                 x->prompt ? x->prompt : "all", x->overall ? "all" : x->temp);
        prop_metric(&x->trunc, x->length, x->n, resamples, seed, label);
        snprintf(label, sizeof(label), "%s/%s/t%s/errors", x->dataset,
                 x->prompt ? x->prompt : "all", x->overall ? "all" : x->temp);
        prop_metric(&x->err, errors, x->n, resamples, seed, label);
        r->n_grps++;
    }
}

static void run_doctor(struct report *r)
{
    struct lleval_doctor_opts o;
    struct lleval_err e = LLEVAL_ERR_INIT;
    memset(&o, 0, sizeof(o));
    if (lleval_doctor_examine(r->dir, &o, &r->doc, &e))
        r->doc_note = lleval_xasprintf("the doctor could not examine this run: %s", e.msg);
    else
        r->have_doc = true;
}

/* ---- sampled answers ---------------------------------------------------- */

static struct sgroup *sgroup_get(struct report *r, const char *dataset, const char *prompt,
                                 const char *temp)
{
    struct sgroup *g;
    for (size_t i = 0; i < r->n_sg; i++) {
        g = &r->sg[i];
        if (!strcmp(g->dataset, dataset) && !strcmp(g->prompt, prompt) && !strcmp(g->temp, temp))
            return g;
    }
    LLEVAL_GROW(r->sg, r->n_sg, r->cap_sg);
    g = &r->sg[r->n_sg++];
    memset(g, 0, sizeof(*g));
    g->dataset = lleval_xstrdup(dataset);
    g->prompt = lleval_xstrdup(prompt);
    g->temp = lleval_xstrdup(temp);
    return g;
}

static struct sample *sample_add(struct sgroup *g, const char *custom_id, const char *item_id)
{
    struct sample *s;
    LLEVAL_GROW(g->s, g->n, g->cap);
    s = &g->s[g->n++];
    memset(s, 0, sizeof(*s));
    s->custom_id = lleval_xstrdup(custom_id);
    s->item_id = lleval_xstrdup(item_id);
    s->choice = -1;
    return s;
}

static int on_scored(const struct lleval_item_score *is, void *ud)
{
    struct report *r = ud;
    struct sgroup *g;
    struct sample *s;
    if (is->state != LLEVAL_ITEM_SCORED)
        return 0;
    g = sgroup_get(r, is->dataset, is->prompt_type, is->temperature);
    g->rows++;
    if (is->correct)
        g->right++;
    else
        g->wrong++;
    if (is->correct ? g->kept_right >= LLEVAL_REPORT_RIGHT : g->kept_wrong >= LLEVAL_REPORT_WRONG)
        return 0;
    if (is->correct)
        g->kept_right++;
    else
        g->kept_wrong++;
    s = sample_add(g, is->custom_id, is->item_id);
    s->scored = true;
    s->correct = is->correct;
    s->ok = is->ok;
    s->mc = is->scoring == LLEVAL_SCORING_MC;
    s->f1 = is->f1;
    s->choice = is->choice;
    s->answer = lleval_xstrdup(is->answer ? is->answer : "");
    return 0;
}

static void free_samples(struct report *r)
{
    sgroups_free(r->sg, r->n_sg);
    r->sg = NULL;
    r->n_sg = r->cap_sg = 0;
}

enum {
    COL_CID,
    COL_DATASET,
    COL_ITEM,
    COL_PROMPT,
    COL_TEMP,
    COL_STATUS,
    COL_FINISH,
    COL_PRED,
    COL_ERROR,
    N_COLS
};
static const char *const col_names[N_COLS] = {
    "custom_id", "dataset",       "item_id",    "prompt_type", "temperature",
    "status",    "finish_reason", "prediction", "error",
};

/* Reads predictions.csv: fills the rows of the sampled custom_ids (gold
 * mode), or samples the first rows of each group (predictions only). */
static int read_predictions(struct report *r, const char *path, struct lleval_err *err)
{
    struct lleval_csv_reader cr;
    json_t *index = json_object();
    int col[N_COLS], rc;
    size_t ncols = 0;

    memset(&cr, 0, sizeof(cr));
    for (size_t g = 0; g < r->n_sg; g++)
        for (size_t i = 0; i < r->sg[g].n; i++)
            json_object_set_new(index, r->sg[g].s[i].custom_id,
                                json_integer((json_int_t)(g * SLOTS + i)));
    rc = lleval_csv_open(&cr, path, err);
    if (rc)
        goto out;
    rc = lleval_csv_next(&cr, err);
    if (rc <= 0) {
        if (!rc)
            rc = lleval_err_set(err, LLEVAL_EINVAL, "'%s' is empty", path);
        goto out;
    }
    ncols = cr.n_fields;
    for (int c = 0; c < N_COLS; c++) {
        col[c] = -1;
        for (size_t k = 0; k < cr.n_fields; k++)
            if (!strcmp(cr.fields[k], col_names[c]))
                col[c] = (int)k;
        if (col[c] < 0) {
            rc = lleval_err_set(err, LLEVAL_EINVAL, "'%s': column '%s' is missing", path,
                                col_names[c]);
            goto out;
        }
    }
    while ((rc = lleval_csv_next(&cr, err)) == 1) {
        struct sample *s;
        char **f = cr.fields;
        if (cr.n_fields != ncols)
            continue;
        if (r->gold) {
            const json_t *at = json_object_get(index, f[col[COL_CID]]);
            json_int_t k;
            if (!at)
                continue;
            k = json_integer_value(at);
            s = &r->sg[k / SLOTS].s[k % SLOTS];
            if (s->have_row)
                continue;
        } else {
            struct sgroup *g =
                sgroup_get(r, f[col[COL_DATASET]], f[col[COL_PROMPT]], f[col[COL_TEMP]]);
            g->rows++;
            if (g->n >= LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT)
                continue;
            s = sample_add(g, f[col[COL_CID]], f[col[COL_ITEM]]);
        }
        s->have_row = true;
        s->ok = !strcmp(f[col[COL_STATUS]], "ok");
        s->prediction = lleval_xstrdup(f[col[COL_PRED]]);
        s->finish = lleval_xstrdup(f[col[COL_FINISH]]);
        s->error = lleval_xstrdup(f[col[COL_ERROR]]);
    }
    if (rc > 0)
        rc = 0;
out:
    lleval_csv_close(&cr);
    json_decref(index);
    return rc;
}

/* Attaches the gold item of every sample (the prepared data is there). */
static void attach_gold(struct report *r, const char *prepared_dir)
{
    for (size_t g = 0; g < r->n_sg; g++) {
        struct lleval_err e = LLEVAL_ERR_INIT;
        json_t *items, *index;
        bool seen = false;
        for (size_t h = 0; h < g && !seen; h++)
            seen = !strcmp(r->sg[h].dataset, r->sg[g].dataset);
        if (seen)
            continue;
        items = lleval_prepared_load(prepared_dir, r->sg[g].dataset, NULL, &e);
        if (!items)
            continue;
        index = lleval_prepared_index(items);
        for (size_t h = g; h < r->n_sg; h++) {
            if (strcmp(r->sg[h].dataset, r->sg[g].dataset))
                continue;
            for (size_t i = 0; i < r->sg[h].n; i++) {
                struct sample *s = &r->sg[h].s[i];
                json_t *item = json_object_get(index, s->item_id);
                if (item)
                    s->item = json_incref(item);
            }
        }
        json_decref(index);
        json_decref(items);
    }
}

/* Where a sample group sits in the scores table (its order), or past the end. */
static size_t sgroup_rank(const struct report *r, const struct sgroup *g)
{
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *x = &r->grps[i];
        if (!x->overall && x->prompt && !strcmp(x->dataset, g->dataset) &&
            !strcmp(x->prompt, g->prompt) && !strcmp(x->temp, g->temp))
            return i;
    }
    return r->n_grps;
}

/* Orders the sample groups like the scores table (stable: insertion sort). */
static void sort_sgroups(struct report *r)
{
    for (size_t i = 1; i < r->n_sg; i++) {
        struct sgroup g = r->sg[i];
        size_t rank = sgroup_rank(r, &g), j = i;
        while (j > 0 && sgroup_rank(r, &r->sg[j - 1]) > rank) {
            r->sg[j] = r->sg[j - 1];
            j--;
        }
        r->sg[j] = g;
    }
}

static void load_samples(struct report *r)
{
    char *pred = run_path(r, "results/predictions.csv");
    const char *prepared = r->have_cfg ? r->cfg.prepared_dir : NULL;
    struct lleval_err e = LLEVAL_ERR_INIT;
    char *why = NULL;

    if (!prepared && r->scores)
        prepared = lleval_json_str(r->scores, "prepared_dir");
    if (!lleval_path_exists(pred)) {
        char *steps = steps_done(r);
        r->samples_note = lleval_xasprintf(
            "no answers to show: results/predictions.csv was not written (steps done: %s)", steps);
        free(steps);
        free(pred);
        return;
    }
    if (!prepared) {
        why = lleval_xstrdup("the run's prepared_dir is unknown (no readable config)");
    } else if (!lleval_is_dir(prepared)) {
        why = lleval_xasprintf("the prepared data in '%s' is gone", prepared);
    } else {
        struct lleval_score_opts so;
        lleval_score_opts_init(&so);
        if (r->have_cfg)
            lleval_score_opts_from_config(&so, &r->cfg);
        so.bootstrap = 0;
        if (lleval_score_each(pred, prepared, &so, on_scored, r, &e)) {
            why = lleval_xasprintf("the answers could not be scored against the prepared data: %s",
                                   e.msg);
            free_samples(r);
        } else {
            r->gold = true;
        }
    }
    if (why)
        r->samples_note = lleval_xasprintf(
            "%s; showing predictions only, without questions and gold answers (prepare the "
            "datasets again with the run's config to see them)",
            why);
    free(why);
    if (read_predictions(r, pred, &e)) {
        free(r->samples_note);
        r->samples_note = lleval_xasprintf("no answers to show: %s", e.msg);
        free_samples(r);
    } else if (r->gold) {
        attach_gold(r, prepared);
    }
    sort_sgroups(r);
    free(pred);
}

/* Finish reasons per group from results_combined.jsonl, for runs without scores. */
static void count_finish(struct report *r)
{
    char *path = run_path(r, "results/results_combined.jsonl");
    struct lleval_lines lr;
    struct lleval_err e = LLEVAL_ERR_INIT;
    int rc;

    if (!lleval_path_exists(path)) {
        r->finish_note = lleval_xstrdup(
            "no finish reasons yet: results/results_combined.jsonl is written when poll ends");
        free(path);
        return;
    }
    if (lleval_lines_open(&lr, path, &e)) {
        r->finish_note = lleval_xasprintf("finish reasons unavailable: %s", e.msg);
        free(path);
        return;
    }
    while ((rc = lleval_lines_next(&lr, &e)) == 1) {
        json_t *j = json_loadb(lr.line, lr.len, 0, NULL);
        struct lleval_cid cid;
        struct lleval_err ce = LLEVAL_ERR_INIT;
        const char *cs = j ? lleval_json_str(j, "custom_id") : NULL, *fr;
        struct fcount *f = NULL;
        if (!cs || lleval_cid_decode(cs, &cid, &ce)) {
            json_decref(j);
            continue;
        }
        fr = lleval_json_str(json_object_get(j, "lleval"), "finish_reason");
        if (!fr)
            fr = json_string_value(lleval_json_path(j, "response.body.choices.0.finish_reason"));
        if (!fr && !json_is_null(json_object_get(j, "error")) && json_object_get(j, "error"))
            fr = "error";
        for (size_t i = 0; i < r->n_fc && !f; i++)
            if (!strcmp(r->fc[i].dataset, cid.dataset) &&
                !strcmp(r->fc[i].prompt, cid.prompt_type) && !strcmp(r->fc[i].temp, cid.temp))
                f = &r->fc[i];
        if (!f) {
            LLEVAL_GROW(r->fc, r->n_fc, r->cap_fc);
            f = &r->fc[r->n_fc++];
            memset(f, 0, sizeof(*f));
            f->dataset = lleval_xstrdup(cid.dataset);
            f->prompt = lleval_xstrdup(cid.prompt_type);
            f->temp = lleval_xstrdup(cid.temp);
        }
        if (fr && !strcmp(fr, "stop"))
            f->stop++;
        else if (fr && !strcmp(fr, "length"))
            f->length++;
        else if (fr && !strcmp(fr, "error"))
            f->error++;
        else
            f->other++;
        lleval_cid_release(&cid);
        json_decref(j);
    }
    if (rc < 0)
        r->finish_note = lleval_xasprintf("finish reasons incomplete: %s", e.msg);
    lleval_lines_close(&lr);
    free(path);
}

/* ---- run facts ---------------------------------------------------------- */

static double run_started(const struct report *r)
{
    double t = lleval_json_num(r->manifest, "created_at", 0);
    return t > 0 ? t : lleval_json_num(r->manifest, "started_at", 0);
}

/* The latest time the run did something: the manifest's update or a trial's end. */
static double run_last(const struct report *r)
{
    double t = lleval_json_num(r->manifest, "updated_at", 0);
    const json_t *trials = json_object_get(r->manifest, "trials"), *tr;
    size_t i;
    json_array_foreach(trials, i, tr)
    {
        double f = lleval_json_num(tr, "finished_at", 0);
        if (f > t)
            t = f;
    }
    return t;
}

static const char *mstr(const struct report *r, const char *key)
{
    const char *s = lleval_json_str(r->manifest, key);
    return s ? s : "";
}

/* The headline numbers over the groups (overall rows left out). */
struct headline {
    bool have_main, have_f1, have_trunc, have_tps, have_lat, qa, mc;
    double main, f1, trunc, tps, lat;
};

static void compute_headline(const struct report *r, struct headline *h)
{
    double main_sum = 0, main_n = 0, f1_sum = 0, f1_n = 0, tr_k = 0, tr_n = 0;
    double tps_sum = 0, tps_n = 0, lat_sum = 0, lat_n = 0;
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        const struct metric *m = g->mc ? &g->acc : &g->em;
        if (g->overall || g->n <= 0)
            continue;
        if (m->has) {
            main_sum += m->v * (double)g->n;
            main_n += (double)g->n;
            if (g->mc)
                h->mc = true;
            else
                h->qa = true;
        }
        if (!g->mc && g->f1.has) {
            f1_sum += g->f1.v * (double)g->n;
            f1_n += (double)g->n;
        }
        tr_k += (double)g->length;
        tr_n += (double)g->n;
        if (g->tps.has) {
            tps_sum += g->tps.v * (double)g->n;
            tps_n += (double)g->n;
        }
        if (g->lat.has) {
            lat_sum += g->lat.v * (double)g->n;
            lat_n += (double)g->n;
        }
    }
    if ((h->have_main = main_n > 0))
        h->main = main_sum / main_n;
    if ((h->have_f1 = f1_n > 0))
        h->f1 = f1_sum / f1_n;
    if ((h->have_trunc = tr_n > 0))
        h->trunc = 100.0 * tr_k / tr_n;
    if ((h->have_tps = tps_n > 0))
        h->tps = tps_sum / tps_n;
    if ((h->have_lat = lat_n > 0))
        h->lat = lat_sum / lat_n;
}

static const char *main_label(const struct headline *h)
{
    return h->qa && h->mc ? "EM/acc" : h->qa ? "EM" : "accuracy";
}

/* Whether the overall row of a dataset adds anything (more than one group). */
static bool overall_useful(const struct report *r, const struct grp *o)
{
    long n = 0;
    for (size_t i = 0; i < r->n_grps; i++)
        if (!r->grps[i].overall && !strcmp(r->grps[i].dataset, o->dataset))
            n++;
    return n > 1;
}

/* The telemetry status of a trial ("disabled" when absent). */
static const char *trial_tstatus(const json_t *tr)
{
    const char *s = lleval_json_str(json_object_get(tr, "telemetry"), "status");
    return s ? s : "disabled";
}

static bool trial_has_gpu(const json_t *tr)
{
    const json_t *t = json_object_get(tr, "telemetry");
    return !strcmp(trial_tstatus(tr), "ok") && json_is_object(json_object_get(t, "gpu"));
}

/* A number field that may be null or absent: false when unknown. */
static bool jnum(const json_t *o, const char *key, double *v)
{
    const json_t *x = json_object_get(o, key);
    if (!json_is_number(x))
        return false;
    *v = json_number_value(x);
    return true;
}

/* ---- HTML --------------------------------------------------------------- */

/* The style sheet, one rule group per string (ISO C bounds string literals). */
static const char *const css[] = {
    ":root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;"
    "--card:#f6f8fa;--accent:#0969da;--c-em:#0969da;--c-f1:#8250df;--c-acc:#1a7f37;"
    "--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--other:#818b98;--track:#e6eaef}\n",
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;"
    "--border:#3d444d;--card:#151b23;--accent:#4493f8;--c-em:#4493f8;--c-f1:#ab7df8;"
    "--c-acc:#3fb950;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--other:#656c76;"
    "--track:#262c36}}\n",
    "*{box-sizing:border-box}\n",
    "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n",
    "main{max-width:1120px;margin:0 auto;padding:28px 20px 40px}\n",
    "h1{font-size:1.6em;margin:0 0 4px;line-height:1.25;overflow-wrap:anywhere}\n",
    "h2{font-size:1.25em;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid "
    "var(--border)}\n",
    "h3{font-size:1.05em;margin:22px 0 6px;overflow-wrap:anywhere}\n",
    "p{margin:8px 0}\n",
    "a{color:var(--accent)}\n",
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}\n",
    ".muted{color:var(--muted)}\n",
    ".sub{color:var(--muted);margin:0 0 16px;overflow-wrap:anywhere}\n",
    ".badge{display:inline-block;padding:1px 10px;border-radius:999px;font-size:.8em;"
    "font-weight:600;border:1px solid currentColor;vertical-align:middle}\n",
    ".s-ok{color:var(--ok)}.s-warn{color:var(--warn)}.s-bad{color:var(--bad)}\n",
    "nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:14px 0 0;font-size:.9em}\n",
    "nav a{text-decoration:none}\n",
    "dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));"
    "gap:10px 24px;margin:0}\n",
    "dl.facts div{min-width:0}\n",
    "dl.facts "
    "dt{color:var(--muted);font-size:.8em;text-transform:uppercase;letter-spacing:.04em}\n",
    "dl.facts dd{margin:0;overflow-wrap:anywhere}\n",
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}\n",
    ".card{background:var(--card);border:1px solid var(--border);border-radius:8px;"
    "padding:12px 14px;break-inside:avoid}\n",
    ".card .l{color:var(--muted);font-size:.8em;text-transform:uppercase;letter-spacing:.04em}\n",
    ".card .v{font-size:1.6em;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.3}\n",
    ".card .d{color:var(--muted);font-size:.8em}\n",
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n",
    "table{border-collapse:collapse;width:100%;font-size:.9em;font-variant-numeric:tabular-nums}\n",
    "th,td{padding:6px 10px;border-bottom:1px solid var(--border);text-align:left;"
    "vertical-align:top}\n",
    "th{font-weight:600;background:var(--card);vertical-align:bottom}\n",
    "td.n,th.n{text-align:right}td.n{white-space:nowrap}\n",
    "tr.overall td{font-weight:600;background:var(--card)}\n",
    ".ci{display:block;color:var(--muted);font-size:.8em;font-weight:400}\n",
    ".notes{color:var(--muted);font-size:.9em;padding-left:20px}\n",
    ".note{background:var(--card);border:1px solid var(--border);border-left:4px solid "
    "var(--warn);border-radius:6px;padding:10px 14px;overflow-wrap:anywhere}\n",
    ".legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85em;color:var(--muted);"
    "margin:6px 0}\n",
    ".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;"
    "vertical-align:-1px}\n",
    "svg.chart{width:100%;min-width:600px;height:auto;display:block;margin:8px 0 4px;"
    "font-family:inherit}\n",
    "svg text{fill:var(--fg);font-size:12px}\n",
    "svg .axis{fill:var(--muted);font-size:11px}\n",
    "svg .grid{stroke:var(--border);stroke-width:1}\n",
    "svg .wh{stroke:var(--fg);stroke-width:1.4}\n",
    "svg .seg{fill:#fff;font-size:11px;font-weight:600}\n",
    ".b-em{fill:var(--c-em);background:var(--c-em)}.b-f1{fill:var(--c-f1);background:var(--c-f1)}"
    ".b-acc{fill:var(--c-acc);background:var(--c-acc)}\n",
    ".f-stop{fill:var(--ok);background:var(--ok)}.f-length{fill:var(--warn);"
    "background:var(--warn)}.f-error{fill:var(--bad);background:var(--bad)}"
    ".f-other{fill:var(--other);background:var(--other)}\n",
    ".meter .track{fill:var(--track)}.meter .fill{fill:var(--c-em)}"
    ".meter .fill.s-warn{fill:var(--warn)}.meter .fill.s-bad{fill:var(--bad)}\n",
    ".finding{background:var(--card);border:1px solid var(--border);border-left:4px solid "
    "var(--warn);border-radius:6px;padding:10px 16px;margin:12px 0;break-inside:avoid}\n",
    ".finding h3{margin:2px 0 6px}\n",
    ".finding ul,.finding ol{margin:4px 0;padding-left:22px}\n",
    ".finding .k{font-size:.8em;font-weight:600;color:var(--muted);text-transform:uppercase;"
    "letter-spacing:.04em;margin-top:8px}\n",
    ".healthy{border-left-color:var(--ok)}\n",
    "table.samples td{font-size:.95em}\n",
    "table.samples td.text{white-space:pre-wrap;overflow-wrap:anywhere;min-width:14em}\n",
    "table.samples td.q{overflow-wrap:anywhere;min-width:12em}table.samples "
    "td.id{white-space:nowrap}\n",
    "table.samples ul{margin:0;padding-left:18px}\n",
    ".tag{display:inline-block;font-size:.75em;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.03em;white-space:nowrap}\n",
    ".small{font-size:.8em;color:var(--muted);display:block;white-space:normal}\n",
    "table.kv th{width:34%;background:none;color:var(--muted);font-weight:400;"
    "vertical-align:top}\n",
    "table.kv td{overflow-wrap:anywhere}\n",
    "footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--border);"
    "color:var(--muted);font-size:.85em;overflow-wrap:anywhere}\n",
    "@media (max-width:640px){main{padding:18px 12px 28px}h1{font-size:1.3em}"
    "th,td{padding:5px 6px}.card .v{font-size:1.3em}"
    "dl.facts,.cards{grid-template-columns:repeat(2,minmax(0,1fr))}}\n",
    "@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--border:#bbb;--card:#f4f4f4;"
    "--accent:#000;--track:#e4e4e4}body{font-size:10.5pt}main{max-width:none;padding:0}"
    "nav{display:none}h2{break-after:avoid}h3{break-after:avoid}tr,svg,.card{break-inside:"
    "avoid}.scroll{overflow:visible}a{text-decoration:none}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n",
    NULL,
};

static void he(struct lleval_sb *sb, const char *s)
{
    lleval_html_escape(sb, s);
}

static void html_note(struct lleval_sb *sb, const char *note)
{
    lleval_sb_adds(sb, "<p class=\"note\">");
    he(sb, note);
    lleval_sb_adds(sb, "</p>\n");
}

static const char *status_class(const char *st)
{
    if (!strcmp(st, "done"))
        return "s-ok";
    if (!strcmp(st, "failed"))
        return "s-bad";
    return "s-warn";
}

static void group_label(struct lleval_sb *sb, const char *dataset, const char *prompt,
                        const char *temp, bool html)
{
    if (html) {
        he(sb, dataset);
        lleval_sb_adds(sb, " &middot; ");
        he(sb, prompt ? prompt : "all");
        lleval_sb_adds(sb, " &middot; t");
        he(sb, temp);
    } else {
        lleval_md_escape(sb, dataset);
        lleval_sb_adds(sb, " / ");
        lleval_md_escape(sb, prompt ? prompt : "all");
        lleval_sb_adds(sb, " / t");
        lleval_md_escape(sb, temp);
    }
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
    double t0 = run_started(r), t1 = run_last(r);
    const json_t *req = json_object_get(r->manifest, "requests");
    long total = (long)lleval_json_int(req, "total", 0);
    long answered = (long)lleval_json_int(req, "answered", 0);
    long errors = (long)lleval_json_int(req, "errors", 0);
    const char *model = mstr(r, "model_id"), *engine = mstr(r, "engine");
    const char *detail = mstr(r, "engine_detail"), *last_error = mstr(r, "last_error");

    lleval_fmt_utc(started, sizeof(started), t0);
    lleval_fmt_utc(last, sizeof(last), t1);
    lleval_fmt_utc(gen, sizeof(gen), r->generated);
    fmt_duration(dur, sizeof(dur), t1 > 0 && t0 > 0 ? t1 - t0 : -1);

    lleval_sb_adds(sb, "<header>\n<h1>lleval report: ");
    he(sb, r->run_id);
    lleval_sb_addf(sb, " <span class=\"badge %s\">", status_class(r->status));
    he(sb, r->status);
    lleval_sb_adds(sb, "</span></h1>\n<p class=\"sub\">");
    he(sb, *model ? model : "(no model)");
    lleval_sb_adds(sb, " on ");
    he(sb, *engine ? engine : "(unknown engine)");
    if (*detail) {
        lleval_sb_adds(sb, " &middot; ");
        he(sb, detail);
    }
    lleval_sb_adds(sb, "</p>\n<dl class=\"facts\">\n");
    fact(sb, "run id", r->run_id);
    fact(sb, "model", *model ? model : "-");
    fact(sb, "engine", *engine ? engine : "-");
    if (json_is_string(json_object_get(r->manifest, "base_url")))
        fact(sb, "base url", mstr(r, "base_url"));
    fact(sb, "status", r->status);
    fact(sb, "started", t0 > 0 ? started : "-");
    fact(sb, strcmp(r->status, "done") ? "last update" : "finished", t1 > 0 ? last : "-");
    fact(sb, "duration", dur);
    snprintf(buf, sizeof(buf), "%ld of %ld answered", answered, total);
    fact(sb, "requests", buf);
    snprintf(buf, sizeof(buf), "%ld", errors);
    if (errors && total)
        snprintf(buf, sizeof(buf), "%ld (%.1f%%)", errors, 100.0 * (double)errors / (double)total);
    fact(sb, "errors", buf);
    if (*mstr(r, "prompt_set"))
        fact(sb, "prompt set", mstr(r, "prompt_set"));
    snprintf(buf, sizeof(buf), "%lld",
             (long long)lleval_json_int(r->manifest, "max_concurrent_jobs", 0));
    fact(sb, "concurrency", buf);
    fact(sb, "report generated", gen);
    lleval_sb_adds(sb, "</dl>\n");
    if (*last_error) {
        lleval_sb_adds(sb, "<p class=\"note\"><b>last error:</b> ");
        he(sb, last_error);
        lleval_sb_adds(sb, "</p>\n");
    }
    lleval_sb_adds(sb, "<nav><a href=\"#headline\">Headline</a><a href=\"#scores\">Scores</a>"
                       "<a href=\"#finish\">Finish reasons</a><a href=\"#speed\">Speed &amp; "
                       "telemetry</a><a href=\"#doctor\">Doctor</a><a href=\"#samples\">Sample "
                       "answers</a><a href=\"#settings\">Settings</a></nav>\n</header>\n");
}

static void card(struct lleval_sb *sb, const char *label, const char *value, const char *detail)
{
    lleval_sb_addf(sb, "<div class=\"card\"><div class=\"l\">%s</div><div class=\"v\">%s</div>",
                   label, value);
    if (detail)
        lleval_sb_addf(sb, "<div class=\"d\">%s</div>", detail);
    lleval_sb_adds(sb, "</div>\n");
}

static void html_headline(struct lleval_sb *sb, const struct report *r, const struct headline *h)
{
    char v[64], d[128];
    const json_t *req = json_object_get(r->manifest, "requests");
    long total = (long)lleval_json_int(req, "total", 0);
    long answered = (long)lleval_json_int(req, "answered", 0);
    long errors = (long)lleval_json_int(req, "errors", 0);
    double t0 = run_started(r), t1 = run_last(r);

    lleval_sb_adds(sb, "<section id=\"headline\">\n<h2>Headline</h2>\n<div class=\"cards\">\n");
    if (h->have_main) {
        snprintf(v, sizeof(v), "%.1f%%", h->main);
        card(sb, main_label(h), v, "item-weighted over the groups");
    }
    if (h->have_f1) {
        snprintf(v, sizeof(v), "%.1f%%", h->f1);
        card(sb, "F1", v, "QA groups");
    }
    snprintf(v, sizeof(v), "%ld / %ld", answered, total);
    card(sb, "requests", v, "answered / total");
    snprintf(v, sizeof(v), "%ld", errors);
    snprintf(d, sizeof(d), "%.1f%% of the requests",
             total ? 100.0 * (double)errors / (double)total : 0.0);
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
        put_num(sb, NUM_MS, h->lat, h->lat);
        lleval_sb_adds(sb, " ms</div><div class=\"d\">mean per request</div></div>\n");
    }
    fmt_duration(v, sizeof(v), t1 > 0 && t0 > 0 ? t1 - t0 : -1);
    card(sb, "duration", v, "first start to last update");
    lleval_sb_adds(sb, "</div>\n");
    if (!r->scores)
        lleval_sb_adds(sb, "<p class=\"muted\">No scores yet: see <a href=\"#scores\">Scores"
                           "</a>.</p>\n");
    lleval_sb_adds(sb, "</section>\n");
}

static void td_metric(struct lleval_sb *sb, const struct metric *m, enum num_kind k)
{
    lleval_sb_adds(sb, "<td class=\"n\">");
    put_metric(sb, m, k, true);
    lleval_sb_adds(sb, "</td>");
}

/* Horizontal bars of EM and F1 (QA) or accuracy (multiple choice) per group,
 * with 95% interval whiskers, on a 0-100% axis. */
static void svg_scores(struct lleval_sb *sb, const struct report *r)
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
        struct lleval_sb label = LLEVAL_SB_INIT;
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
        lleval_sb_adds(&label, g->dataset);
        lleval_sb_adds(&label, " \xC2\xB7 ");
        lleval_sb_adds(&label, g->prompt ? g->prompt : "all");
        lleval_sb_adds(&label, " \xC2\xB7 t");
        lleval_sb_adds(&label, g->temp);
        lleval_sb_adds(sb, "<g><title>");
        he(sb, label.buf);
        lleval_sb_addf(sb, " (n=%ld)</title>", g->n);
        lleval_sb_addf(sb,
                       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                       "dominant-baseline=\"middle\">",
                       LX - 10, y + rowh / 2);
        html_chars(sb, label.buf, LABEL_MAX);
        lleval_sb_adds(sb, "</text>\n");
        lleval_sb_release(&label);
        for (int b = 0; b < nb; b++) {
            const struct metric *m = ms[b];
            double by = y + PAD + b * (BAR + GAP), cy = by + BAR / 2, end;
            double v = m->has ? fmax(0, fmin(100, m->v)) : 0;
            lleval_sb_addf(sb,
                           "<rect class=\"%s\" x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%.0f\" rx=\"2\"/>",
                           cls[b], LX, by, PW * v / 100.0, BAR);
            end = LX + PW * v / 100.0;
            if (has_ci(m)) {
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

static void html_scores(struct lleval_sb *sb, const struct report *r)
{
    const json_t *totals, *warns, *w;
    size_t i;
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
    for (i = 0; i < r->n_grps; i++) {
        const struct grp *g = &r->grps[i];
        if (g->overall && !overall_useful(r, g))
            continue;
        lleval_sb_adds(sb, g->overall ? "<tr class=\"overall\"><td>" : "<tr><td>");
        he(sb, g->dataset);
        lleval_sb_adds(sb, "</td><td>");
        he(sb, g->overall ? "all" : g->prompt ? g->prompt : "");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        he(sb, g->overall ? "all" : g->temp);
        lleval_sb_addf(sb, "</td><td class=\"n\">%ld</td>", g->n);
        td_metric(sb, &g->em, NUM_PCT);
        td_metric(sb, &g->f1, NUM_PCT);
        td_metric(sb, &g->contains, NUM_PCT);
        td_metric(sb, &g->acc, NUM_PCT);
        td_metric(sb, &g->trunc, NUM_PCT);
        td_metric(sb, &g->err, NUM_PCT);
        td_metric(sb, &g->lat, NUM_MS);
        td_metric(sb, &g->tps, NUM_TPS);
        lleval_sb_adds(sb, "</tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n");
    svg_scores(sb, r);
    totals = json_object_get(r->scores, "totals");
    warns = json_object_get(r->scores, "warnings");
    lleval_sb_addf(sb,
                   "<ul class=\"notes\"><li>%lld rows scored of %lld; %lld missing, %lld "
                   "unknown, %lld duplicate</li>\n",
                   (long long)lleval_json_int(totals, "scored", 0),
                   (long long)lleval_json_int(totals, "rows", 0),
                   (long long)lleval_json_int(totals, "missing", 0),
                   (long long)lleval_json_int(totals, "unknown", 0),
                   (long long)lleval_json_int(totals, "duplicates", 0));
    json_array_foreach(warns, i, w)
    {
        if (!json_is_string(w))
            continue;
        lleval_sb_adds(sb, "<li class=\"s-warn\">");
        he(sb, json_string_value(w));
        lleval_sb_adds(sb, "</li>\n");
    }
    lleval_sb_adds(sb, "</ul>\n</section>\n");
}

/* One finish-reason row for the renderers. */
struct frow {
    const char *dataset, *prompt, *temp;
    long stop, length, error, other;
};

/* The finish-reason rows: from the scores, else from the results. Owned array. */
static struct frow *finish_rows(const struct report *r, size_t *n)
{
    struct frow *rows = lleval_xcalloc(r->n_grps + r->n_fc + 1, sizeof(*rows));
    *n = 0;
    if (r->scores) {
        for (size_t i = 0; i < r->n_grps; i++) {
            const struct grp *g = &r->grps[i];
            if (g->overall)
                continue;
            rows[*n] = (struct frow){
                g->dataset, g->prompt ? g->prompt : "", g->temp, g->stop, g->length, g->error,
                g->other};
            (*n)++;
        }
    } else {
        for (size_t i = 0; i < r->n_fc; i++) {
            const struct fcount *f = &r->fc[i];
            rows[*n] = (struct frow){f->dataset, f->prompt, f->temp, f->stop,
                                     f->length,  f->error,  f->other};
            (*n)++;
        }
    }
    return rows;
}

static void svg_finish(struct lleval_sb *sb, const struct frow *rows, size_t n)
{
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
        struct lleval_sb label = LLEVAL_SB_INIT;
        lleval_sb_adds(&label, f->dataset);
        lleval_sb_adds(&label, " \xC2\xB7 ");
        lleval_sb_adds(&label, f->prompt);
        lleval_sb_adds(&label, " \xC2\xB7 t");
        lleval_sb_adds(&label, f->temp);
        lleval_sb_adds(sb, "<g><title>");
        he(sb, label.buf);
        lleval_sb_addf(sb, ": %ld stop, %ld length, %ld error, %ld other</title>", c[0], c[1], c[2],
                       c[3]);
        lleval_sb_addf(sb,
                       "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                       "dominant-baseline=\"middle\">",
                       LX - 10, y + BAR / 2);
        html_chars(sb, label.buf, LABEL_MAX);
        lleval_sb_adds(sb, "</text>");
        lleval_sb_release(&label);
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

static void pct_cell(struct lleval_sb *sb, long k, long total)
{
    lleval_sb_addf(sb, "<td class=\"n\">%ld", k);
    if (total)
        lleval_sb_addf(sb, "<span class=\"ci\">%.1f%%</span>", 100.0 * (double)k / (double)total);
    lleval_sb_adds(sb, "</td>");
}

static void html_finish(struct lleval_sb *sb, const struct report *r)
{
    size_t n;
    struct frow *rows = finish_rows(r, &n);
    lleval_sb_adds(sb, "<section id=\"finish\">\n<h2>Finish reasons</h2>\n");
    if (!r->scores && r->finish_note)
        html_note(sb, r->finish_note);
    if (!n) {
        if (r->scores || !r->finish_note)
            lleval_sb_adds(sb, "<p class=\"muted\">No answers yet.</p>\n");
        lleval_sb_adds(sb, "</section>\n");
        free(rows);
        return;
    }
    if (!r->scores)
        lleval_sb_adds(sb, "<p class=\"muted\">Counted from results/results_combined.jsonl "
                           "(the run has no scores).</p>\n");
    lleval_sb_adds(sb, "<div class=\"legend\"><span><i class=\"f-stop\"></i>stop</span><span>"
                       "<i class=\"f-length\"></i>length (cut at max_new_tokens)</span><span>"
                       "<i class=\"f-error\"></i>error</span><span><i class=\"f-other\"></i>"
                       "other</span></div>\n");
    svg_finish(sb, rows, n);
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>group</th>"
                       "<th class=\"n\">answers</th><th class=\"n\">stop</th><th class=\"n\">"
                       "length</th><th class=\"n\">error</th><th class=\"n\">other</th></tr>"
                       "</thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct frow *f = &rows[i];
        long total = f->stop + f->length + f->error + f->other;
        lleval_sb_adds(sb, "<tr><td>");
        group_label(sb, f->dataset, f->prompt, f->temp, true);
        lleval_sb_addf(sb, "</td><td class=\"n\">%ld</td>", total);
        pct_cell(sb, f->stop, total);
        pct_cell(sb, f->length, total);
        pct_cell(sb, f->error, total);
        pct_cell(sb, f->other, total);
        lleval_sb_adds(sb, "</tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n</section>\n");
    free(rows);
}

static void td_num(struct lleval_sb *sb, const json_t *o, const char *key, const char *fmt)
{
    double v;
    if (jnum(o, key, &v))
        lleval_sb_addf(sb, fmt, v);
    else
        lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
}

static void meter(struct lleval_sb *sb, double frac, const char *cls)
{
    double w = 100.0 * fmax(0, fmin(1, frac));
    lleval_sb_addf(sb,
                   "<svg class=\"meter\" width=\"90\" height=\"9\" viewBox=\"0 0 100 10\" "
                   "aria-hidden=\"true\"><rect class=\"track\" width=\"100\" height=\"10\" "
                   "rx=\"2\"/><rect class=\"fill %s\" width=\"%.1f\" height=\"10\" rx=\"2\"/>"
                   "</svg>",
                   cls, w);
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

static void html_telemetry(struct lleval_sb *sb, const struct report *r)
{
    const json_t *trials = json_object_get(r->manifest, "trials"), *tr;
    const char *gpu_name = NULL;
    size_t i;
    bool any = false, one_gpu = true;
    json_array_foreach(trials, i, tr) any = any || trial_has_gpu(tr);
    lleval_sb_adds(sb, "<h3>GPU and host telemetry</h3>\n");
    if (!any) {
        /* one line per distinct status */
        json_array_foreach(trials, i, tr)
        {
            const json_t *prev;
            size_t k;
            bool seen = false;
            json_array_foreach(trials, k, prev)
            {
                if (k >= i)
                    break;
                seen = seen || !strcmp(trial_tstatus(prev), trial_tstatus(tr));
            }
            if (seen)
                continue;
            lleval_sb_adds(sb, "<p class=\"note\">");
            telemetry_reason(sb, trial_tstatus(tr));
            lleval_sb_adds(sb, "</p>\n");
        }
        if (!json_array_size(trials))
            lleval_sb_adds(sb, "<p class=\"muted\">No trials in the manifest.</p>\n");
        return;
    }
    /* one GPU name for every trial: say it once instead of in a column */
    json_array_foreach(trials, i, tr)
    {
        const char *name =
            lleval_json_str(json_object_get(json_object_get(tr, "telemetry"), "gpu"), "name");
        if (!trial_has_gpu(tr))
            continue;
        if (!gpu_name)
            gpu_name = name ? name : "";
        else if (strcmp(gpu_name, name ? name : ""))
            one_gpu = false;
    }
    if (one_gpu && gpu_name && *gpu_name) {
        lleval_sb_adds(sb, "<p>GPU: <b>");
        he(sb, gpu_name);
        lleval_sb_adds(sb, "</b></p>\n");
    }
    lleval_sb_adds(sb, "<div class=\"scroll\"><table>\n<thead><tr><th>trial</th>");
    if (!one_gpu)
        lleval_sb_adds(sb, "<th>GPU</th>");
    lleval_sb_adds(sb, "<th>memory peak / total</th><th class=\"n\">utilization mean / peak</th>"
                       "<th class=\"n\">temperature peak</th><th class=\"n\">power mean</th>"
                       "<th class=\"n\">energy</th><th class=\"n\">energy / token</th>"
                       "<th class=\"n\">host CPU mean / peak</th><th class=\"n\">engine RSS "
                       "peak</th></tr></thead>\n<tbody>\n");
    json_array_foreach(trials, i, tr)
    {
        const json_t *t = json_object_get(tr, "telemetry");
        const json_t *gpu = json_object_get(t, "gpu"), *host = json_object_get(t, "host");
        double peak, total, um, up, temp, v;
        lleval_sb_adds(sb, "<tr><td>");
        he(sb, lleval_json_str(tr, "trial"));
        lleval_sb_adds(sb, "</td>");
        if (!trial_has_gpu(tr)) {
            lleval_sb_addf(sb, "<td colspan=\"%d\" class=\"muted\">", one_gpu ? 8 : 9);
            telemetry_reason(sb, trial_tstatus(tr));
            lleval_sb_adds(sb, "</td></tr>\n");
            continue;
        }
        if (!one_gpu) {
            lleval_sb_adds(sb, "<td>");
            he(sb, lleval_json_str(gpu, "name") ? lleval_json_str(gpu, "name") : "GPU");
            lleval_sb_adds(sb, "</td>");
        }
        lleval_sb_adds(sb, "<td class=\"n\">");
        if (jnum(gpu, "memory_used_peak_mib", &peak) && jnum(gpu, "memory_total_mib", &total) &&
            total > 0) {
            double f = peak / total;
            lleval_sb_addf(sb, "%.0f / %.0f MiB (%.1f%%)<br>", peak, total, 100.0 * f);
            meter(sb, f, f > 0.95 ? "s-bad" : f > 0.9 ? "s-warn" : "");
        } else {
            td_num(sb, gpu, "memory_used_peak_mib", "%.0f MiB");
        }
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        if (jnum(gpu, "utilization_mean_pct", &um)) {
            lleval_sb_addf(sb, "<span class=\"%s\">%.1f%%</span>", um < 50 ? "s-warn" : "", um);
            if (jnum(gpu, "utilization_peak_pct", &up))
                lleval_sb_addf(sb, " / %.0f%%", up);
        } else {
            lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
        }
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        if (jnum(gpu, "temperature_peak_c", &temp))
            lleval_sb_addf(sb, "<span class=\"%s\">%.0f &deg;C</span>",
                           temp > 85   ? "s-bad"
                           : temp > 80 ? "s-warn"
                                       : "",
                           temp);
        else
            lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        td_num(sb, gpu, "power_mean_w", "%.1f W");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        if (jnum(gpu, "energy_j", &v))
            lleval_sb_addf(sb, v >= 10000 ? "%.1f kJ" : "%.0f J", v >= 10000 ? v / 1000 : v);
        else
            lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        td_num(sb, gpu, "energy_per_token_j", "%.3f J");
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        if (jnum(host, "cpu_mean_pct", &v)) {
            lleval_sb_addf(sb, "%.1f%%", v);
            if (jnum(host, "cpu_peak_pct", &v))
                lleval_sb_addf(sb, " / %.0f%%", v);
        } else {
            lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
        }
        lleval_sb_adds(sb, "</td><td class=\"n\">");
        td_num(sb, host, "engine_rss_peak_mib", "%.0f MiB");
        lleval_sb_adds(sb, "</td></tr>\n");
    }
    lleval_sb_adds(sb, "</tbody></table></div>\n<p class=\"muted\">Healthy (the guide): GPU "
                       "utilization 80-95%, temperature under 80 &deg;C, memory under the card's "
                       "total with headroom.</p>\n");
}

static void html_speed(struct lleval_sb *sb, const struct report *r)
{
    const json_t *trials = json_object_get(r->manifest, "trials"), *tr;
    size_t i;
    lleval_sb_adds(sb, "<section id=\"speed\">\n<h2>Speed and telemetry</h2>\n");
    if (!json_array_size(trials)) {
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
        json_array_foreach(trials, i, tr)
        {
            const json_t *jc = json_object_get(tr, "job_counts");
            const json_t *rq = json_object_get(tr, "requests");
            const json_t *tok = json_object_get(tr, "tokens");
            const json_t *es = json_object_get(tr, "engine_speed");
            double el = lleval_json_num(tr, "elapsed_s", 0);
            long answered = (long)lleval_json_int(rq, "answered", 0);
            long ctok = (long)lleval_json_int(tok, "completion", 0);
            char dur[32];
            fmt_duration(dur, sizeof(dur), el);
            lleval_sb_adds(sb, "<tr><td>");
            he(sb, lleval_json_str(tr, "trial"));
            lleval_sb_addf(sb,
                           "</td><td class=\"n\">%lld / %lld</td><td class=\"n\">%ld / %lld</td>"
                           "<td class=\"n\">%lld</td><td class=\"n\">%s</td><td class=\"n\">",
                           (long long)lleval_json_int(jc, "done", 0),
                           (long long)lleval_json_int(jc, "total", 0), answered,
                           (long long)lleval_json_int(rq, "total", 0),
                           (long long)lleval_json_int(rq, "errors", 0), dur);
            if (el > 0)
                lleval_sb_addf(sb, "%.1f", (double)answered / el);
            else
                lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
            lleval_sb_addf(sb,
                           "</td><td class=\"n\">%lld</td><td class=\"n\">%ld</td>"
                           "<td class=\"n\">",
                           (long long)lleval_json_int(tok, "prompt", 0), ctok);
            td_num(sb, es, "prompt_tps", "%.1f");
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            td_num(sb, es, "gen_tps", "%.1f");
            lleval_sb_adds(sb, "</td><td class=\"n\">");
            if (el > 0)
                lleval_sb_addf(sb, "%.1f", (double)ctok / el);
            else
                lleval_sb_adds(sb, "<span class=\"muted\">&ndash;</span>");
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
        if (i >= GOLD_SHOWN)
            break;
        lleval_sb_adds(sb, "<li>");
        html_trunc(sb, txt, GOLD_MAX);
        if (txt && json_is_array(choices) && strlen(txt) == 1 && txt[0] >= 'A' && txt[0] <= 'Z') {
            const char *c = json_string_value(json_array_get(choices, (size_t)(txt[0] - 'A')));
            if (c) {
                lleval_sb_adds(sb, " <span class=\"muted\">(");
                html_trunc(sb, c, GOLD_MAX);
                lleval_sb_adds(sb, ")</span>");
            }
        }
        lleval_sb_adds(sb, "</li>");
    }
    if (n > GOLD_SHOWN)
        lleval_sb_addf(sb, "<li class=\"muted\">and %zu more</li>", n - GOLD_SHOWN);
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
            html_trunc(sb, lleval_json_str(s->item, "question"), QUESTION_MAX);
        else
            lleval_sb_adds(sb, "<span class=\"muted\">not in the prepared data</span>");
        lleval_sb_adds(sb, "</td>");
    }
    lleval_sb_adds(sb, "<td class=\"text\">");
    if (!s->have_row) {
        lleval_sb_adds(sb, "<span class=\"muted\">row not found in predictions.csv</span>");
    } else if (!s->ok) {
        lleval_sb_adds(sb, "<span class=\"s-bad\">error: ");
        html_trunc(sb, s->error && *s->error ? s->error : "request failed", TEXT_MAX);
        lleval_sb_adds(sb, "</span>");
    } else if (!*s->prediction) {
        lleval_sb_adds(sb, "<span class=\"muted\">(empty)</span>");
    } else {
        html_trunc(sb, s->prediction, TEXT_MAX);
    }
    if (s->scored && s->ok && s->have_row) {
        if (s->mc) {
            if (s->choice >= 0)
                lleval_sb_addf(sb, "<span class=\"small\">read as %c</span>", 'A' + s->choice);
            else
                lleval_sb_adds(sb, "<span class=\"small\">no answer letter could be read</span>");
        } else if (s->answer && strcmp(s->answer, s->prediction)) {
            lleval_sb_adds(sb, "<span class=\"small\">scored answer: ");
            html_trunc(sb, s->answer, GOLD_MAX);
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
                       "the first in the order of predictions.csv.</p>\n",
                       LLEVAL_REPORT_WRONG, LLEVAL_REPORT_RIGHT);
    else if (r->n_sg)
        lleval_sb_addf(sb, "<p class=\"muted\">The first %d answers per group.</p>\n",
                       LLEVAL_REPORT_WRONG + LLEVAL_REPORT_RIGHT);
    for (size_t g = 0; g < r->n_sg; g++) {
        const struct sgroup *sg = &r->sg[g];
        lleval_sb_adds(sb, "<h3>");
        group_label(sb, sg->dataset, sg->prompt, sg->temp, true);
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
    lleval_sb_adds(sb, "<p class=\"muted\">From the run's config.resolved.yaml.</p>\n"
                       "<div class=\"scroll\"><table class=\"kv\">\n");
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
        lleval_sb_adds(&v, c->launch.model ? c->launch.model : "?");
        lleval_sb_addf(&v, " (ctx_size %ld, parallel %ld, gpu_layers %ld)", c->launch.ctx_size,
                       c->launch.parallel, c->launch.gpu_layers);
        kv(sb, "launch", v.buf);
        lleval_sb_reset(&v);
    }
    lleval_sb_adds(sb, "</table></div>\n</section>\n");
    lleval_sb_release(&v);
}

static void render_html(struct lleval_sb *sb, const struct report *r, const struct headline *h)
{
    lleval_sb_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"color-scheme\" content=\"light dark\">\n"
                       "<meta name=\"generator\" content=\"lleval\">\n<title>lleval report: ");
    he(sb, r->run_id);
    lleval_sb_adds(sb, "</title>\n<style>\n");
    for (size_t i = 0; css[i]; i++)
        lleval_sb_adds(sb, css[i]);
    lleval_sb_adds(sb, "</style>\n</head>\n<body>\n<main>\n");
    html_header(sb, r);
    html_headline(sb, r, h);
    html_scores(sb, r);
    html_finish(sb, r);
    html_speed(sb, r);
    html_doctor(sb, r);
    html_samples(sb, r);
    html_settings(sb, r);
    {
        char gen[40];
        lleval_sb_adds(sb, "<footer>Generated by lleval at ");
        lleval_sb_adds(sb, lleval_fmt_utc(gen, sizeof(gen), r->generated));
        lleval_sb_adds(sb, " from <code>");
        he(sb, r->dir);
        lleval_sb_adds(sb, "</code>. Sources: <a href=\"manifest.json\">manifest.json</a>, "
                           "<a href=\"results/scores.json\">results/scores.json</a>, "
                           "<a href=\"results/predictions.csv\">results/predictions.csv</a>, "
                           "<a href=\"config.resolved.yaml\">config.resolved.yaml</a>. "
                           "The Markdown summary is <a href=\"report.md\">report.md</a>."
                           "</footer>\n");
    }
    lleval_sb_adds(sb, "</main>\n</body>\n</html>\n");
}

/* ---- Markdown ----------------------------------------------------------- */

static void md_metric(struct lleval_sb *sb, const struct metric *m, enum num_kind k)
{
    lleval_sb_adds(sb, " ");
    put_metric(sb, m, k, false);
    lleval_sb_adds(sb, " |");
}

static void render_md(struct lleval_sb *sb, const struct report *r, const struct headline *h)
{
    const json_t *req = json_object_get(r->manifest, "requests");
    const json_t *trials = json_object_get(r->manifest, "trials"), *tr;
    long total = (long)lleval_json_int(req, "total", 0);
    long answered = (long)lleval_json_int(req, "answered", 0);
    long errors = (long)lleval_json_int(req, "errors", 0);
    double t0 = run_started(r), t1 = run_last(r);
    char started[40], dur[32];
    size_t i, nf;
    struct frow *rows;
    bool any_gpu = false;

    lleval_fmt_utc(started, sizeof(started), t0);
    fmt_duration(dur, sizeof(dur), t1 > 0 && t0 > 0 ? t1 - t0 : -1);
    lleval_sb_adds(sb, "# lleval report: ");
    lleval_md_escape(sb, r->run_id);
    lleval_sb_adds(sb, "\n\n- **model** ");
    lleval_md_escape(sb, *mstr(r, "model_id") ? mstr(r, "model_id") : "-");
    lleval_sb_adds(sb, " on **");
    lleval_md_escape(sb, *mstr(r, "engine") ? mstr(r, "engine") : "-");
    lleval_sb_adds(sb, "**, status **");
    lleval_md_escape(sb, r->status);
    lleval_sb_addf(sb, "**\n- started %s, duration %s\n", t0 > 0 ? started : "-", dur);
    lleval_sb_addf(sb, "- requests: %ld of %ld answered, %ld error%s", answered, total, errors,
                   errors == 1 ? "" : "s");
    if (errors && total)
        lleval_sb_addf(sb, " (%.1f%%)", 100.0 * (double)errors / (double)total);
    lleval_sb_adds(sb, "\n");
    if (*mstr(r, "last_error")) {
        lleval_sb_adds(sb, "- last error: ");
        md_trunc(sb, mstr(r, "last_error"), MD_CELL_MAX);
        lleval_sb_adds(sb, "\n");
    }
    if (h->have_main || h->have_tps) {
        lleval_sb_adds(sb, "- headline:");
        if (h->have_main)
            lleval_sb_addf(sb, " %s %.1f%%", main_label(h), h->main);
        if (h->have_f1)
            lleval_sb_addf(sb, ", F1 %.1f%%", h->f1);
        if (h->have_trunc)
            lleval_sb_addf(sb, ", truncation %.1f%%", h->trunc);
        if (h->have_tps)
            lleval_sb_addf(sb, ", %.1f tokens/s", h->tps);
        lleval_sb_adds(sb, "\n");
    }

    lleval_sb_adds(sb, "\n## Scores (95% CI)\n\n");
    if (!r->scores) {
        md_trunc(sb, r->scores_note, 1000);
        lleval_sb_adds(sb, "\n");
    } else {
        lleval_sb_adds(sb, "| dataset | prompt | temp | n | EM % | F1 % | contains % | acc % | "
                           "trunc % | err % | latency ms | tok/s |\n"
                           "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (i = 0; i < r->n_grps; i++) {
            const struct grp *g = &r->grps[i];
            if (g->overall && !overall_useful(r, g))
                continue;
            lleval_sb_adds(sb, "| ");
            lleval_md_escape(sb, g->dataset);
            lleval_sb_adds(sb, " | ");
            lleval_md_escape(sb, g->overall ? "all" : g->prompt ? g->prompt : "");
            lleval_sb_adds(sb, " | ");
            lleval_md_escape(sb, g->overall ? "all" : g->temp);
            lleval_sb_addf(sb, " | %ld |", g->n);
            md_metric(sb, &g->em, NUM_PCT);
            md_metric(sb, &g->f1, NUM_PCT);
            md_metric(sb, &g->contains, NUM_PCT);
            md_metric(sb, &g->acc, NUM_PCT);
            md_metric(sb, &g->trunc, NUM_PCT);
            md_metric(sb, &g->err, NUM_PCT);
            md_metric(sb, &g->lat, NUM_MS);
            md_metric(sb, &g->tps, NUM_TPS);
            lleval_sb_adds(sb, "\n");
        }
        {
            const json_t *w, *warns = json_object_get(r->scores, "warnings");
            if (json_array_size(warns))
                lleval_sb_adds(sb, "\n");
            json_array_foreach(warns, i, w)
            {
                if (!json_is_string(w))
                    continue;
                lleval_sb_adds(sb, "- warning: ");
                md_trunc(sb, json_string_value(w), MD_CELL_MAX);
                lleval_sb_adds(sb, "\n");
            }
        }
    }

    rows = finish_rows(r, &nf);
    lleval_sb_adds(sb, "\n## Finish reasons\n\n");
    if (!r->scores && r->finish_note) {
        md_trunc(sb, r->finish_note, 1000);
        lleval_sb_adds(sb, "\n");
    }
    if (nf) {
        if (!r->scores && r->finish_note)
            lleval_sb_adds(sb, "\n");
        lleval_sb_adds(sb, "| group | answers | stop | length | error | other |\n"
                           "|---|--:|--:|--:|--:|--:|\n");
        for (i = 0; i < nf; i++) {
            const struct frow *f = &rows[i];
            long n = f->stop + f->length + f->error + f->other;
            long c[4] = {f->stop, f->length, f->error, f->other};
            lleval_sb_adds(sb, "| ");
            group_label(sb, f->dataset, f->prompt, f->temp, false);
            lleval_sb_addf(sb, " | %ld |", n);
            for (int k = 0; k < 4; k++)
                lleval_sb_addf(sb, " %ld (%.1f%%) |", c[k],
                               n ? 100.0 * (double)c[k] / (double)n : 0.0);
            lleval_sb_adds(sb, "\n");
        }
    }
    free(rows);

    lleval_sb_adds(sb, "\n## Speed per trial\n\n");
    if (!json_array_size(trials)) {
        lleval_sb_adds(sb, "No trials yet.\n");
    } else {
        lleval_sb_adds(sb, "| trial | answered | errors | elapsed | prompt tok/s | gen tok/s | "
                           "wall tok/s | telemetry |\n|---|--:|--:|--:|--:|--:|--:|---|\n");
        json_array_foreach(trials, i, tr)
        {
            const json_t *rq = json_object_get(tr, "requests");
            const json_t *es = json_object_get(tr, "engine_speed");
            double el = lleval_json_num(tr, "elapsed_s", 0), v;
            long ctok = (long)lleval_json_int(json_object_get(tr, "tokens"), "completion", 0);
            char d[32];
            fmt_duration(d, sizeof(d), el);
            any_gpu = any_gpu || trial_has_gpu(tr);
            lleval_sb_adds(sb, "| ");
            lleval_md_escape(sb, lleval_json_str(tr, "trial"));
            lleval_sb_addf(sb, " | %lld / %lld | %lld | %s |",
                           (long long)lleval_json_int(rq, "answered", 0),
                           (long long)lleval_json_int(rq, "total", 0),
                           (long long)lleval_json_int(rq, "errors", 0), d);
            if (jnum(es, "prompt_tps", &v))
                lleval_sb_addf(sb, " %.1f |", v);
            else
                lleval_sb_adds(sb, " - |");
            if (jnum(es, "gen_tps", &v))
                lleval_sb_addf(sb, " %.1f |", v);
            else
                lleval_sb_adds(sb, " - |");
            if (el > 0)
                lleval_sb_addf(sb, " %.1f | ", (double)ctok / el);
            else
                lleval_sb_adds(sb, " - | ");
            lleval_md_escape(sb, trial_tstatus(tr));
            lleval_sb_adds(sb, " |\n");
        }
    }
    if (any_gpu) {
        lleval_sb_adds(sb, "\n| trial | GPU | memory peak / total MiB | util mean / peak % | "
                           "temp peak C | power mean W | energy/token J |\n"
                           "|---|---|--:|--:|--:|--:|--:|\n");
        json_array_foreach(trials, i, tr)
        {
            const json_t *gpu = json_object_get(json_object_get(tr, "telemetry"), "gpu");
            double a, b;
            if (!trial_has_gpu(tr))
                continue;
            lleval_sb_adds(sb, "| ");
            lleval_md_escape(sb, lleval_json_str(tr, "trial"));
            lleval_sb_adds(sb, " | ");
            lleval_md_escape(sb,
                             lleval_json_str(gpu, "name") ? lleval_json_str(gpu, "name") : "GPU");
            lleval_sb_adds(sb, " |");
            if (jnum(gpu, "memory_used_peak_mib", &a) && jnum(gpu, "memory_total_mib", &b))
                lleval_sb_addf(sb, " %.0f / %.0f |", a, b);
            else
                lleval_sb_adds(sb, " - |");
            if (jnum(gpu, "utilization_mean_pct", &a) && jnum(gpu, "utilization_peak_pct", &b))
                lleval_sb_addf(sb, " %.1f / %.0f |", a, b);
            else
                lleval_sb_adds(sb, " - |");
            if (jnum(gpu, "temperature_peak_c", &a))
                lleval_sb_addf(sb, " %.0f |", a);
            else
                lleval_sb_adds(sb, " - |");
            if (jnum(gpu, "power_mean_w", &a))
                lleval_sb_addf(sb, " %.1f |", a);
            else
                lleval_sb_adds(sb, " - |");
            if (jnum(gpu, "energy_per_token_j", &a))
                lleval_sb_addf(sb, " %.3f |\n", a);
            else
                lleval_sb_adds(sb, " - |\n");
        }
    }

    lleval_sb_adds(sb, "\n## Doctor\n\n");
    if (!r->have_doc) {
        md_trunc(sb, r->doc_note, 1000);
        lleval_sb_adds(sb, "\n");
    } else if (!r->doc.n_findings) {
        lleval_sb_adds(sb, "No findings: none of the guide's decision tree applies.\n");
    } else {
        for (i = 0; i < r->doc.n_findings; i++) {
            const struct lleval_finding *f = &r->doc.findings[i];
            lleval_sb_addf(sb, "%zu. **", i + 1);
            md_trunc(sb, f->title, MD_CELL_MAX);
            lleval_sb_addf(sb, "** (`%s`)\n", lleval_finding_name(f->kind));
            for (size_t k = 0; k < f->n_evidence; k++) {
                lleval_sb_adds(sb, "   - evidence: ");
                md_trunc(sb, f->evidence[k], MD_CELL_MAX);
                lleval_sb_adds(sb, "\n");
            }
            for (size_t k = 0; k < f->n_fixes; k++) {
                lleval_sb_addf(sb, "   - fix %zu: ", k + 1);
                md_trunc(sb, f->fixes[k], MD_CELL_MAX);
                lleval_sb_adds(sb, "\n");
            }
        }
    }
    lleval_sb_adds(sb, "\nSample answers, telemetry details and settings: report.html\n");
}

/* ---- entry points ------------------------------------------------------- */

void lleval_report_opts_init(struct lleval_report_opts *o)
{
    memset(o, 0, sizeof(*o));
}

char *lleval_report_html_path(const char *run_dir)
{
    return lleval_path_join(run_dir, "report.html");
}

char *lleval_report_md_path(const char *run_dir)
{
    return lleval_path_join(run_dir, "report.md");
}

int lleval_report_render(const char *run_dir, const struct lleval_report_opts *o,
                         struct lleval_sb *html, struct lleval_sb *md, struct lleval_err *err)
{
    struct report r;
    struct headline h;
    const char *st;
    int rc;

    memset(&r, 0, sizeof(r));
    lleval_config_init(&r.cfg);
    r.dir = run_dir;
    r.generated = o && o->generated_at > 0 ? o->generated_at : lleval_now();
    rc = load_manifest(&r, err);
    if (rc)
        goto out;
    st = lleval_json_str(r.manifest, "status");
    r.status = o && o->status ? o->status : st && *st ? st : "unknown";
    load_config(&r);
    load_scores(&r);
    if (!r.scores)
        count_finish(&r);
    run_doctor(&r);
    load_samples(&r);
    compute_headline(&r, &h);
    if (html)
        render_html(html, &r, &h);
    if (md)
        render_md(md, &r, &h);
out:
    report_release(&r);
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
