/*
 * items.csv and items.jsonl (see items.h): every scored row of
 * predictions.csv with its question, gold answers and verdicts. The rows
 * come from the scorer's per-row callback (lleval_score_each()), joined with
 * the questions of the prepared datasets; the writer writes both files
 * atomically, and the reader streams items.jsonl back as typed rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/score/items.h"
#include "lleval/score/predictions.h"
#include "lleval/util/csv.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"

/* ---- the columns ----------------------------------------------------------- */

/* The CSV header; items.jsonl has the same fields, in this order. */
static const char *const csv_cols[] = {
    "custom_id",
    "dataset",
    "item_id",
    "type",
    "prompt_type",
    "temperature",
    "sample",
    "status",
    "question",
    "gold_answers",
    "choices",
    "prediction",
    "answer",
    "em",
    "f1",
    "contains",
    "mc_letter",
    "correct",
    "finish_reason",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "error",
};
#define N_CSV_COLS (sizeof(csv_cols) / sizeof(csv_cols[0]))

void lleval_items_csv_header(struct lleval_sb *sb)
{
    for (size_t i = 0; i < N_CSV_COLS; i++)
        lleval_csv_add_field(sb, csv_cols[i], i == 0);
    lleval_csv_end_record(sb);
}

/* A JSON string of s, valid UTF-8 or not (bad bytes become U+FFFD). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (!j) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        size_t len = strlen(s), i = 0;
        while (i < len)
            i += lleval_utf8_copy(&sb, s + i, len - i);
        j = json_string(sb.buf);
        lleval_sb_release(&sb);
    }
    return j;
}

static json_t *jstr_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, jstr(v[i]));
    return a;
}

/* A number, or null when it does not apply (NaN). */
static json_t *jnum(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

/* A 0/1 metric as an integer, any other value as a real, null for NaN. */
static json_t *jmetric(double v)
{
    if (v == 0.0 || v == 1.0)
        return json_integer((json_int_t)v);
    return jnum(v);
}

static json_t *row_json(const struct lleval_item_row *r)
{
    json_t *o = json_object();
    double temp = 0;
    char letter[2] = {r->mc_letter, '\0'};
    json_object_set_new(o, "custom_id", jstr(r->custom_id));
    json_object_set_new(o, "dataset", jstr(r->dataset));
    json_object_set_new(o, "item_id", jstr(r->item_id));
    json_object_set_new(o, "type", jstr(r->type));
    json_object_set_new(o, "prompt_type", jstr(r->prompt_type));
    if (lleval_parse_double(r->temperature, &temp) || !isfinite(temp))
        temp = 0;
    json_object_set_new(o, "temperature", json_real(temp));
    json_object_set_new(o, "sample", json_integer(r->sample));
    json_object_set_new(o, "status", json_string(r->ok ? "ok" : "error"));
    json_object_set_new(o, "question", jstr(r->question));
    json_object_set_new(o, "gold_answers", jstr_array(r->gold, r->n_gold));
    json_object_set_new(o, "choices", r->mc ? jstr_array(r->choices, r->n_choices) : json_null());
    json_object_set_new(o, "prediction", jstr(r->prediction));
    json_object_set_new(o, "answer", jstr(r->answer));
    json_object_set_new(o, "em", jmetric(r->mc ? NAN : r->em));
    json_object_set_new(o, "f1", jmetric(r->mc ? NAN : r->f1));
    json_object_set_new(o, "contains", jmetric(r->mc ? NAN : r->contains));
    json_object_set_new(o, "mc_letter", r->mc ? json_string(letter) : json_null());
    json_object_set_new(o, "correct", json_boolean(r->correct));
    json_object_set_new(o, "finish_reason", jstr(r->finish_reason));
    json_object_set_new(o, "latency_ms", jnum(r->latency_ms));
    json_object_set_new(o, "prompt_tokens",
                        r->prompt_tokens < 0 ? json_null()
                                             : json_integer((json_int_t)r->prompt_tokens));
    json_object_set_new(o, "completion_tokens",
                        r->completion_tokens < 0 ? json_null()
                                                 : json_integer((json_int_t)r->completion_tokens));
    json_object_set_new(o, "error", jstr(r->error));
    return o;
}

void lleval_items_json_row(struct lleval_sb *sb, const struct lleval_item_row *r)
{
    json_t *o = row_json(r), *red = lleval_redact_json(o);
    lleval_json_dump_sb(red ? red : o, sb);
    lleval_sb_addch(sb, '\n');
    json_decref(red);
    json_decref(o);
}

/* A cell of a numeric column: never guarded; empty when it does not apply. */
static void num_field(struct lleval_sb *sb, double v, const char *fmt)
{
    char buf[64] = "";
    if (!isnan(v))
        snprintf(buf, sizeof(buf), fmt, v);
    lleval_csv_add_field(sb, buf, false);
}

static void int_field(struct lleval_sb *sb, long long v)
{
    char buf[32] = "";
    if (v >= 0)
        snprintf(buf, sizeof(buf), "%lld", v);
    lleval_csv_add_field(sb, buf, false);
}

/* A list of strings as one cell: its JSON array text. */
static void list_field(struct lleval_sb *sb, const char *const *v, size_t n)
{
    json_t *a = jstr_array(v, n);
    struct lleval_sb t = LLEVAL_SB_INIT;
    lleval_json_dump_sb(a, &t);
    lleval_csv_add_text_field(sb, t.buf, false);
    lleval_sb_release(&t);
    json_decref(a);
}

void lleval_items_csv_row(struct lleval_sb *sb, const struct lleval_item_row *r)
{
    char letter[2] = {r->mc_letter, '\0'};
    lleval_csv_add_text_field(sb, r->custom_id, true);
    lleval_csv_add_text_field(sb, r->dataset, false);
    lleval_csv_add_text_field(sb, r->item_id, false);
    lleval_csv_add_text_field(sb, r->type, false);
    lleval_csv_add_text_field(sb, r->prompt_type, false);
    lleval_csv_add_field(sb, r->temperature, false);
    int_field(sb, r->sample);
    lleval_csv_add_text_field(sb, r->ok ? "ok" : "error", false);
    lleval_csv_add_text_field(sb, r->question, false);
    list_field(sb, r->gold, r->n_gold);
    if (r->mc)
        list_field(sb, r->choices, r->n_choices);
    else
        lleval_csv_add_field(sb, "", false);
    lleval_csv_add_text_field(sb, r->prediction, false);
    lleval_csv_add_text_field(sb, r->answer, false);
    num_field(sb, r->mc ? NAN : r->em, "%.0f");
    num_field(sb, r->mc ? NAN : r->f1, "%.6g");
    num_field(sb, r->mc ? NAN : r->contains, "%.0f");
    lleval_csv_add_text_field(sb, r->mc ? letter : "", false);
    lleval_csv_add_field(sb, r->correct ? "1" : "0", false);
    lleval_csv_add_text_field(sb, r->finish_reason, false);
    num_field(sb, r->latency_ms, "%.1f");
    int_field(sb, r->prompt_tokens);
    int_field(sb, r->completion_tokens);
    lleval_csv_add_text_field(sb, r->error, false);
    lleval_csv_end_record(sb);
}

/* ---- computing the rows ------------------------------------------------------ */

/* One prepared dataset's questions: item id -> {question, answers, choices, type}. */
struct qset {
    char *name;
    json_t *index;
};

struct compute {
    const char *prepared_dir;
    struct qset *sets;
    size_t n_sets, cap_sets;
    struct qset *last;
    lleval_item_row_fn fn;
    void *ud;
    struct lleval_err *err;
    const char **gold, **choices;
    size_t cap_gold, cap_choices;
};

/* Loads a dataset's questions, keeping only what a row shows (no context). */
static int qset_load(struct compute *c, const char *name, struct qset **out)
{
    struct lleval_prepared_reader pr;
    json_t *item, *index = json_object();
    int rc = lleval_prepared_open(&pr, c->prepared_dir, name, c->err);
    if (rc) {
        json_decref(index);
        return rc;
    }
    while ((rc = lleval_prepared_next(&pr, &item, c->err)) == 1) {
        const char *id = lleval_json_str(item, "id");
        json_t *keep = json_object();
        static const char *const keys[] = {"question", "answers", "choices", "type"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            json_t *v = json_object_get(item, keys[i]);
            if (v)
                json_object_set(keep, keys[i], v);
        }
        if (id)
            json_object_set_new(index, id, keep);
        else
            json_decref(keep);
        json_decref(item);
    }
    lleval_prepared_close(&pr);
    if (rc < 0) {
        json_decref(index);
        return rc;
    }
    LLEVAL_GROW(c->sets, c->n_sets, c->cap_sets);
    c->sets[c->n_sets].name = lleval_xstrdup(name);
    c->sets[c->n_sets].index = index;
    *out = &c->sets[c->n_sets++];
    return 0;
}

static int qset_get(struct compute *c, const char *name, struct qset **out)
{
    if (c->last && !strcmp(c->last->name, name)) {
        *out = c->last;
        return 0;
    }
    for (size_t i = 0; i < c->n_sets; i++) {
        if (!strcmp(c->sets[i].name, name)) {
            *out = c->last = &c->sets[i];
            return 0;
        }
    }
    if (qset_load(c, name, out))
        return c->err->code ? c->err->code : LLEVAL_EIO;
    c->last = *out;
    return 0;
}

/* The strings of a JSON array into *v (grown as needed); returns their count. */
static size_t str_list(const json_t *a, const char ***v, size_t *cap)
{
    size_t n = 0, i;
    const json_t *x;
    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x))
            continue;
        LLEVAL_GROW(*v, n, *cap);
        (*v)[n++] = json_string_value(x);
    }
    return n;
}

/* A number cell of predictions.csv: NaN (unknown) when empty or not a number. */
static double num_of(const char *s)
{
    double v;
    if (!s || !*s || lleval_parse_double(s, &v) || !isfinite(v))
        return NAN;
    return v;
}

static long long count_of(const char *s)
{
    double v = num_of(s);
    return isnan(v) || v < 0 || v > 9e15 ? -1 : (long long)v;
}

static int on_scored(const struct lleval_item_score *s, void *ud)
{
    struct compute *c = ud;
    const struct lleval_pred_row *p = s->row;
    struct lleval_item_row r;
    struct qset *q;
    const json_t *item;
    const char *type;
    int rc;

    if (s->state != LLEVAL_ITEM_SCORED || !p)
        return 0;
    rc = qset_get(c, s->dataset, &q);
    if (rc)
        return rc;
    item = json_object_get(q->index, s->item_id);
    memset(&r, 0, sizeof(r));
    r.custom_id = s->custom_id;
    r.dataset = s->dataset;
    r.item_id = s->item_id;
    type = lleval_json_str(item, "type");
    r.type = type && *type ? type : p->type;
    r.prompt_type = s->prompt_type;
    r.temperature = s->temperature;
    r.sample = s->sample;
    r.ok = s->ok;
    r.question = lleval_json_str(item, "question");
    if (!r.question)
        r.question = "";
    r.n_gold = str_list(json_object_get(item, "answers"), &c->gold, &c->cap_gold);
    r.gold = c->gold;
    r.mc = s->scoring == LLEVAL_SCORING_MC;
    if (r.mc) {
        r.n_choices = str_list(json_object_get(item, "choices"), &c->choices, &c->cap_choices);
        r.choices = c->choices;
        r.mc_letter = s->choice >= 0 && s->choice < 26 ? (char)('A' + s->choice) : 0;
        r.em = r.f1 = r.contains = NAN;
    } else {
        r.em = s->em;
        r.f1 = s->f1;
        r.contains = s->contains;
    }
    r.prediction = p->prediction;
    r.answer = s->answer ? s->answer : "";
    r.correct = s->correct;
    r.finish_reason = p->finish_reason;
    r.latency_ms = num_of(p->latency_ms);
    r.prompt_tokens = count_of(p->prompt_tokens);
    r.completion_tokens = count_of(p->completion_tokens);
    r.error = p->error;
    r.line = s->line;
    return c->fn(&r, c->ud);
}

int lleval_items_compute(const char *pred_csv, const char *prepared_dir,
                         const struct lleval_score_opts *o, lleval_item_row_fn fn, void *ud,
                         struct lleval_err *err)
{
    struct compute c;
    int rc;
    memset(&c, 0, sizeof(c));
    c.prepared_dir = prepared_dir;
    c.fn = fn;
    c.ud = ud;
    c.err = err;
    rc = lleval_score_each(pred_csv, prepared_dir, o, on_scored, &c, err);
    for (size_t i = 0; i < c.n_sets; i++) {
        free(c.sets[i].name);
        json_decref(c.sets[i].index);
    }
    free(c.sets);
    free(c.gold);
    free(c.choices);
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

/* One output file: a temp file beside it, filled through a buffer. */
struct out_file {
    char *path, *tmp;
    FILE *f;
    struct lleval_sb buf;
};

static int out_open(struct out_file *o, const char *dir, const char *name, struct lleval_err *err)
{
    memset(o, 0, sizeof(*o));
    lleval_sb_init(&o->buf, 0);
    o->path = lleval_path_join(dir, name);
    o->tmp = lleval_xasprintf("%s.tmp.%ld", o->path, lleval_getpid());
    return lleval_fopen_new(o->tmp, &o->f, err); /* never through a planted link */
}

static int out_flush(struct out_file *o, struct lleval_err *err)
{
    if (o->buf.len && fwrite(o->buf.buf, 1, o->buf.len, o->f) != o->buf.len)
        return lleval_err_errno(err, "cannot write", o->tmp);
    lleval_sb_reset(&o->buf);
    return 0;
}

/* Flushes, syncs and closes the temp file. */
static int out_close(struct out_file *o, struct lleval_err *err)
{
    int rc = out_flush(o, err);
    if (!rc)
        rc = lleval_fsync_file(o->f, o->tmp, err);
    if (fclose(o->f) && !rc)
        rc = lleval_err_errno(err, "cannot close", o->tmp);
    o->f = NULL;
    return rc;
}

static void out_release(struct out_file *o, bool remove_tmp)
{
    if (o->f)
        fclose(o->f);
    if (remove_tmp && o->tmp)
        remove(o->tmp);
    free(o->path);
    free(o->tmp);
    lleval_sb_release(&o->buf);
}

struct writer {
    struct out_file csv, jsonl;
    struct lleval_err *err;
    size_t rows;
};

static int write_one(const struct lleval_item_row *r, void *ud)
{
    struct writer *w = ud;
    int rc = 0;
    lleval_items_csv_row(&w->csv.buf, r);
    lleval_items_json_row(&w->jsonl.buf, r);
    w->rows++;
    if (w->csv.buf.len > (1u << 20))
        rc = out_flush(&w->csv, w->err);
    if (!rc && w->jsonl.buf.len > (1u << 20))
        rc = out_flush(&w->jsonl, w->err);
    return rc;
}

static int out_commit(struct out_file *o, struct lleval_err *err)
{
    if (lleval_rename(o->tmp, o->path))
        return lleval_err_errno(err, "cannot rename to", o->path);
    free(o->tmp);
    o->tmp = NULL; /* renamed: nothing to remove */
    return 0;
}

int lleval_items_write(const char *pred_csv, const char *prepared_dir,
                       const struct lleval_score_opts *o, const char *out_dir, size_t *rows,
                       struct lleval_err *err)
{
    struct writer w;
    int rc;
    memset(&w, 0, sizeof(w));
    w.err = err;
    if (rows)
        *rows = 0;
    rc = lleval_mkdirs(out_dir, err);
    if (rc)
        return rc;
    rc = out_open(&w.csv, out_dir, LLEVAL_ITEMS_CSV, err);
    if (!rc)
        rc = out_open(&w.jsonl, out_dir, LLEVAL_ITEMS_JSONL, err);
    if (rc)
        goto out;
    lleval_items_csv_header(&w.csv.buf);
    rc = lleval_items_compute(pred_csv, prepared_dir, o, write_one, &w, err);
    if (!rc)
        rc = out_close(&w.csv, err);
    if (!rc)
        rc = out_close(&w.jsonl, err);
    if (!rc)
        rc = out_commit(&w.csv, err);
    if (!rc)
        rc = out_commit(&w.jsonl, err);
    if (!rc && rows)
        *rows = w.rows;
out:
    out_release(&w.csv, true);
    out_release(&w.jsonl, true);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

struct reader {
    const char *path;
    int code; /* of its errors: LLEVAL_EIO inside a run directory */
    const char **gold, **choices;
    size_t cap_gold, cap_choices;
    char temp[40];
};

/* A string field; "" when null (never written so) and an error for another type. */
static int get_str(const struct reader *rd, const json_t *o, long line, const char *key,
                   const char **out, struct lleval_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a string", rd->path, line, key);
    *out = json_string_value(v);
    return 0;
}

/* A number field; NaN when null or absent. */
static int get_num(const struct reader *rd, const json_t *o, long line, const char *key,
                   double *out, struct lleval_err *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a number or null", rd->path,
                              line, key);
    *out = json_number_value(v);
    return 0;
}

static int get_list(const struct reader *rd, const json_t *o, long line, const char *key,
                    const char ***v, size_t *cap, size_t *n, struct lleval_err *err)
{
    const json_t *a = json_object_get(o, key), *x;
    size_t i;
    *n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a list of strings", rd->path,
                              line, key);
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x))
            return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a list of strings", rd->path,
                                  line, key);
        LLEVAL_GROW(*v, *n, *cap);
        (*v)[(*n)++] = json_string_value(x);
    }
    return 0;
}

/* Decodes one line's object into r (strings borrowed from o). */
static int decode(struct reader *rd, const json_t *o, long line, struct lleval_item_row *r,
                  struct lleval_err *err)
{
    const char *status = "", *letter = "";
    double temp, sample, pt, ct;
    const json_t *corr = json_object_get(o, "correct"), *mcl = json_object_get(o, "mc_letter");
    int rc;

    memset(r, 0, sizeof(*r));
    r->line = line;
    if ((rc = get_str(rd, o, line, "custom_id", &r->custom_id, err)) ||
        (rc = get_str(rd, o, line, "dataset", &r->dataset, err)) ||
        (rc = get_str(rd, o, line, "item_id", &r->item_id, err)) ||
        (rc = get_str(rd, o, line, "type", &r->type, err)) ||
        (rc = get_str(rd, o, line, "prompt_type", &r->prompt_type, err)) ||
        (rc = get_num(rd, o, line, "temperature", &temp, err)) ||
        (rc = get_num(rd, o, line, "sample", &sample, err)) ||
        (rc = get_str(rd, o, line, "status", &status, err)) ||
        (rc = get_str(rd, o, line, "question", &r->question, err)) ||
        (rc = get_list(rd, o, line, "gold_answers", &rd->gold, &rd->cap_gold, &r->n_gold, err)) ||
        (rc = get_list(rd, o, line, "choices", &rd->choices, &rd->cap_choices, &r->n_choices,
                       err)) ||
        (rc = get_str(rd, o, line, "prediction", &r->prediction, err)) ||
        (rc = get_str(rd, o, line, "answer", &r->answer, err)) ||
        (rc = get_num(rd, o, line, "em", &r->em, err)) ||
        (rc = get_num(rd, o, line, "f1", &r->f1, err)) ||
        (rc = get_num(rd, o, line, "contains", &r->contains, err)) ||
        (rc = get_str(rd, o, line, "mc_letter", &letter, err)) ||
        (rc = get_str(rd, o, line, "finish_reason", &r->finish_reason, err)) ||
        (rc = get_num(rd, o, line, "latency_ms", &r->latency_ms, err)) ||
        (rc = get_num(rd, o, line, "prompt_tokens", &pt, err)) ||
        (rc = get_num(rd, o, line, "completion_tokens", &ct, err)) ||
        (rc = get_str(rd, o, line, "error", &r->error, err)))
        return rc;
    if (!*r->custom_id)
        return lleval_err_set(err, rd->code, "%s:%ld: 'custom_id' is missing", rd->path, line);
    if (!json_is_boolean(corr))
        return lleval_err_set(err, rd->code, "%s:%ld: 'correct' must be true or false", rd->path,
                              line);
    r->gold = rd->gold;
    r->choices = rd->choices;
    r->correct = json_is_true(corr);
    r->ok = strcmp(status, "error") != 0;
    r->mc = mcl && !json_is_null(mcl);
    r->mc_letter = r->mc ? letter[0] : 0;
    r->sample = isnan(sample) ? 0 : (long)sample;
    r->prompt_tokens = isnan(pt) ? -1 : (long long)pt;
    r->completion_tokens = isnan(ct) ? -1 : (long long)ct;
    lleval_fmt_num(rd->temp, sizeof(rd->temp), isnan(temp) ? 0 : temp);
    r->temperature = rd->temp;
    return 0;
}

int lleval_items_each(const char *path, lleval_item_row_fn fn, void *ud, struct lleval_err *err)
{
    struct reader rd;
    struct lleval_lines lr;
    int rc, more;

    memset(&rd, 0, sizeof(rd));
    rd.path = path;
    rd.code = lleval_path_in_run_dir(path) ? LLEVAL_EIO : LLEVAL_EINVAL;
    if (!lleval_path_exists(path))
        return lleval_err_set(err, rd.code, "'%s' does not exist", path);
    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    while ((more = lleval_lines_next(&lr, err)) > 0) {
        json_error_t jerr;
        struct lleval_item_row r;
        json_t *o;
        if (!lr.len)
            continue;
        o = json_loadb(lr.line, lr.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(o)) {
            rc = lleval_err_set(err, rd.code, "%s:%ld: %s", path, lr.lineno,
                                o ? "not a JSON object" : lleval_json_error_text(&jerr));
            json_decref(o);
            break;
        }
        rc = decode(&rd, o, lr.lineno, &r, err);
        if (!rc)
            rc = fn(&r, ud);
        json_decref(o);
        if (rc)
            break;
    }
    if (more < 0 && !rc)
        rc = more;
    lleval_lines_close(&lr);
    free(rd.gold);
    free(rd.choices);
    return rc;
}
