/*
 * Generic importers: JSONL (one object per line) and CSV (header row by
 * default), with the config's field mapping (`fields:` with id, question,
 * context, answers, choices; struct fields field_id ... field_choices). Both turn a record into a
 * JSON object and share one record reader:
 *   id       string or integer; missing, null or empty -> "<dataset>-<row>"
 *   question non-empty string
 *   context  string (open book only)
 *   choices  list of 2-26 strings (multiple choice only; in CSV a JSON array)
 *   answers  string or list of strings (in CSV one string, or a JSON array);
 *            multiple choice: one letter, the exact text of a choice, or
 *            (JSON only) a 0-based integer index
 * <row> counts data records from 1 (blank lines and the CSV header excluded).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/util/csv.h"
#include "lleval/platform/fs.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"

struct mapping {
    const char *id, *question, *context, *answers, *choices;
};

static void get_mapping(const struct lleval_dataset_cfg *ds, struct mapping *m)
{
    m->id = ds->field_id && *ds->field_id ? ds->field_id : "id";
    m->question = ds->field_question && *ds->field_question ? ds->field_question : "question";
    m->context = ds->field_context && *ds->field_context ? ds->field_context : "context";
    m->answers = ds->field_answers && *ds->field_answers ? ds->field_answers : "answers";
    m->choices = ds->field_choices && *ds->field_choices ? ds->field_choices : "choices";
}

/* In a CSV cell, "[...]" holds a JSON array. Returns an owned value: the
 * parsed array, or the cell itself as a string; NULL with err set. */
static json_t *csv_cell_value(const json_t *cell, const char *path, long line, const char *field,
                              bool must_be_array, struct lleval_err *err)
{
    const char *s = json_string_value(cell);
    const char *p = s;
    json_error_t jerr;
    json_t *v;

    while (isspace((unsigned char)*p))
        p++;
    if (*p != '[') {
        if (!must_be_array)
            return json_incref((json_t *)cell);
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s:%ld: column '%s' must hold a JSON array of strings, like "
                       "[\"red\", \"green\"]",
                       path, line, field);
        return NULL;
    }
    v = json_loads(p, 0, &jerr);
    if (!v) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s:%ld: column '%s' starts with '[' but is not a JSON array (%s at "
                       "column %d of the cell); write it like [\"a\", \"b\"]",
                       path, line, field, lleval_json_error_text(&jerr),
                       jerr.position + (int)(p - s));
        return NULL;
    }
    return v;
}

static int string_list(const json_t *v, const char *path, long line, const char *field,
                       const char *cfg_key, struct lleval_err *err)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v))
        return lleval_ds_field_error(path, line, field, v, "a list of strings", cfg_key, err);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: field '%s' must be a list of strings, but element %zu "
                                  "is a %s",
                                  path, line, field, i + 1, lleval_ds_json_type(e));
    }
    return 0;
}

/* Builds the answers array for a multiple-choice item (one letter). */
static int mc_answers(const json_t *a, const json_t *choices, const char *path, long line,
                      const char *field, json_t **out, struct lleval_err *err)
{
    const json_t *one = a;
    char letter[2] = {0, 0};
    int rc;

    *out = NULL;
    if (json_is_array(a)) {
        if (json_array_size(a) != 1)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: field '%s' holds %zu answers; a multiple-choice item "
                                  "has exactly one (a letter, a choice's text or an index)",
                                  path, line, field, json_array_size(a));
        one = json_array_get(a, 0);
    }
    if (json_is_string(one)) {
        if (lleval_ds_blank(json_string_value(one), json_string_length(one)))
            return 0; /* no answer: the caller skips the item */
        rc = lleval_ds_mc_letter(choices, json_string_value(one), -1, letter, err);
    } else if (json_is_integer(one)) {
        json_int_t k = json_integer_value(one);
        rc = lleval_ds_mc_letter(choices, NULL, k < 0 ? 1000 : (long)k, letter, err);
    } else {
        return lleval_ds_field_error(path, line, field, one,
                                     "a choice letter, a choice's text or a 0-based index", NULL,
                                     err);
    }
    if (rc)
        return lleval_err_prefix(err, "%s:%ld: field '%s'", path, line, field);
    *out = json_pack("[s]", letter);
    return 0;
}

/* One record (a JSON object) -> one item or a skip. row is 1-based. */
static int generic_record(struct lleval_ds_builder *b, const struct mapping *m, const json_t *rec,
                          bool from_csv, const char *path, long line, long row,
                          struct lleval_err *err)
{
    const json_t *idv = json_object_get(rec, m->id);
    const json_t *q = json_object_get(rec, m->question);
    const json_t *ctx = json_object_get(rec, m->context);
    const json_t *av = json_object_get(rec, m->answers);
    json_t *choices = NULL, *answers = NULL, *a = NULL, *meta;
    char *id = NULL, *where = NULL;
    int rc = 0;

    if (json_is_string(idv) && !lleval_ds_blank(json_string_value(idv), json_string_length(idv)))
        id = lleval_xstrdup(json_string_value(idv));
    else if (json_is_integer(idv))
        id = lleval_xasprintf("%lld", (long long)json_integer_value(idv));
    else if (!idv || json_is_null(idv) || json_is_string(idv))
        id = lleval_xasprintf("%s-%ld", b->ds->name, row);
    else
        return lleval_ds_field_error(path, line, m->id, idv, "a string or an integer", NULL, err);

    if (!json_is_string(q)) {
        rc = lleval_ds_field_error(path, line, m->question, q, "a string", "fields.question", err);
        goto out;
    }
    if (lleval_ds_blank(json_string_value(q), json_string_length(q))) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: field '%s' (the question) is empty", path,
                            line, m->question);
        goto out;
    }
    if (b->type == LLEVAL_OPEN_BOOK && !json_is_string(ctx)) {
        rc = lleval_ds_field_error(path, line, m->context, ctx, "a string (the passage)",
                                   "fields.context", err);
        goto out;
    }
    if (b->type == LLEVAL_MULTIPLE_CHOICE) {
        const json_t *cv = json_object_get(rec, m->choices);
        if (!cv) {
            rc = lleval_ds_field_error(path, line, m->choices, cv, "a list of strings",
                                       "fields.choices", err);
            goto out;
        }
        choices = from_csv ? csv_cell_value(cv, path, line, m->choices, true, err)
                           : json_incref((json_t *)cv);
        if (!choices) {
            rc = LLEVAL_EINVAL;
            goto out;
        }
        rc = string_list(choices, path, line, m->choices, "fields.choices", err);
        if (rc)
            goto out;
        if (json_array_size(choices) < 2 || json_array_size(choices) > 26) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: field '%s' holds %zu choices; multiple choice needs 2 "
                                "to 26",
                                path, line, m->choices, json_array_size(choices));
            goto out;
        }
    }
    if (!av) {
        rc = lleval_ds_field_error(path, line, m->answers, av, "a string or a list of strings",
                                   "fields.answers", err);
        goto out;
    }
    a = from_csv ? csv_cell_value(av, path, line, m->answers, false, err)
                 : json_incref((json_t *)av);
    if (!a) {
        rc = LLEVAL_EINVAL;
        goto out;
    }
    if (b->type == LLEVAL_MULTIPLE_CHOICE) {
        rc = mc_answers(a, choices, path, line, m->answers, &answers, err);
        if (rc)
            goto out;
    } else {
        if (json_is_string(a)) {
            answers = json_array();
            lleval_ds_answer_add(answers, json_string_value(a));
        } else if (json_is_array(a)) {
            size_t i;
            json_t *e;
            rc = string_list(a, path, line, m->answers, "fields.answers", err);
            if (rc)
                goto out;
            answers = json_array();
            json_array_foreach(a, i, e)
            {
                lleval_ds_answer_add(answers, json_string_value(e));
            }
        } else {
            rc = lleval_ds_field_error(path, line, m->answers, a, "a string or a list of strings",
                                       NULL, err);
            goto out;
        }
    }
    if (!answers || !json_array_size(answers)) {
        lleval_ds_skip(b, "no_answers");
        goto out;
    }
    meta = json_pack("{s:I}", "line", (json_int_t)line);
    where = lleval_xasprintf("%s:%ld", path, line);
    rc = lleval_ds_add(b,
                       lleval_ds_item(b, id, json_string_value(q),
                                      ctx ? json_string_value(ctx) : NULL, choices, answers, meta),
                       where, err);
    choices = answers = NULL; /* taken by lleval_ds_item */
out:
    json_decref(choices);
    json_decref(answers);
    json_decref(a);
    free(id);
    free(where);
    return rc;
}

/*
 * The JSONL fast path (issue 13), as nq.c's: a line is read with the one-pass
 * scanner and its item written with the JSON writer; a line that is not a
 * plainly valid record (the scanner gives up, a mapped field is missing or of
 * another type, the question is blank) goes through jansson as before, which
 * words the error. Closed and open book only, with mapped names the scanner
 * hands to its callback (under LLEVAL_JSCAN_KEY_SIZE bytes) and no two alike.
 */
struct gen_scan {
    struct lleval_jscan js; /* first: the member callback gets &sc.js */
    const struct mapping *m;
    bool open_book;
    bool odd;            /* a mapped field of another type: jansson words it */
    int id_kind;         /* 0 missing or null, 1 a string, 2 an integer */
    size_t id, question; /* offsets into the scratch buffer, (size_t)-1 until met */
    size_t context;
    long long id_int;
    int answers; /* 0 missing, 1 a string, 2 a list of strings */
    size_t *ans; /* each answer's offset */
    size_t n_ans, cap_ans;
    const char **pick;
    size_t *pick_lens, cap_pick;
    struct lleval_sb idbuf; /* "<dataset>-<row>" */
};

static bool gen_str_or_odd(struct gen_scan *sc, size_t *off, int depth)
{
    struct lleval_jscan *j = &sc->js;
    if (!lleval_jscan_peek(j, '"')) {
        sc->odd = true;
        return lleval_jscan_skip(j, depth);
    }
    *off = j->out->len;
    return lleval_jscan_str(j, j->out);
}

static bool gen_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct gen_scan *sc = (struct gen_scan *)j;
    (void)seen; /* the scan rejects every repeated key (unique) */
    if (!strcmp(key, sc->m->id)) {
        bool is_int;
        double dv;
        if (lleval_jscan_peek(j, '"')) {
            sc->id_kind = 1;
            return gen_str_or_odd(sc, &sc->id, depth);
        }
        if (lleval_jscan_null(j))
            return true;
        if (lleval_jscan_peek(j, '-') ||
            (j->p < j->end && *j->p >= '0' && *j->p <= '9')) { /* jscan_peek skipped space */
            if (!lleval_jscan_num(j, &is_int, &sc->id_int, &dv))
                return false;
            sc->id_kind = 2;
            sc->odd |= !is_int;
            return true;
        }
        sc->odd = true;
        return lleval_jscan_skip(j, depth);
    }
    if (!strcmp(key, sc->m->question))
        return gen_str_or_odd(sc, &sc->question, depth);
    if (sc->open_book && !strcmp(key, sc->m->context))
        return gen_str_or_odd(sc, &sc->context, depth);
    if (!strcmp(key, sc->m->answers)) {
        if (lleval_jscan_peek(j, '"')) {
            sc->answers = 1;
            LLEVAL_GROW(sc->ans, sc->n_ans, sc->cap_ans);
            sc->ans[sc->n_ans++] = j->out->len;
            return lleval_jscan_str(j, j->out);
        }
        if (!lleval_jscan_eat(j, '[')) {
            sc->odd = true;
            return lleval_jscan_skip(j, depth);
        }
        sc->answers = 2;
        if (lleval_jscan_eat(j, ']'))
            return true;
        do {
            if (!lleval_jscan_peek(j, '"')) {
                sc->odd = true;
                if (!lleval_jscan_skip(j, depth + 1))
                    return false;
                continue;
            }
            LLEVAL_GROW(sc->ans, sc->n_ans, sc->cap_ans);
            sc->ans[sc->n_ans++] = j->out->len;
            if (!lleval_jscan_str(j, j->out))
                return false;
        } while (lleval_jscan_eat(j, ','));
        return lleval_jscan_eat(j, ']');
    }
    return lleval_jscan_skip(j, depth);
}

/* True when the fast path can read records with this mapping and type. */
static bool gen_fast_ok(const struct lleval_ds_builder *b, const struct mapping *m)
{
    const char *names[4] = {m->id, m->question, m->context, m->answers};
    if (b->type == LLEVAL_MULTIPLE_CHOICE)
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (strlen(names[i]) >= LLEVAL_JSCAN_KEY_SIZE)
            return false;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(names[i], names[k]))
                return false;
    }
    return true;
}

/* One line the fast way: 1 when it was handled (an item written or a skip
 * counted), 0 when the jansson path must read it, negative on an error. */
static int gen_fast(struct lleval_ds_builder *b, struct gen_scan *sc, struct lleval_sb *text,
                    const char *path, long line, long row, const char *s, size_t len,
                    struct lleval_err *err)
{
    size_t n = 0, qlen;
    const char *q, *id, *ctx;
    char num[32];
    int rc;

    sc->js.p = (const unsigned char *)s;
    sc->js.end = (const unsigned char *)s + len;
    sc->js.out = text;
    sc->js.unique = true; /* lines are parsed with JSON_REJECT_DUPLICATES */
    sc->odd = false;
    sc->id_kind = sc->answers = 0;
    sc->id = sc->question = sc->context = (size_t)-1;
    sc->n_ans = 0;
    lleval_sb_reset(text);
    if (!lleval_jscan_peek(&sc->js, '{') || !lleval_jscan_object(&sc->js, 0, gen_member) ||
        !lleval_jscan_end(&sc->js) || sc->odd || sc->question == (size_t)-1 || !sc->answers ||
        (sc->open_book && sc->context == (size_t)-1))
        return 0;
    q = text->buf + sc->question;
    qlen = strlen(q);
    if (lleval_ds_blank(q, qlen))
        return 0;
    if (sc->cap_pick < sc->n_ans) {
        sc->cap_pick = sc->n_ans;
        sc->pick = lleval_xrealloc(sc->pick, sc->cap_pick * sizeof(*sc->pick));
        sc->pick_lens = lleval_xrealloc(sc->pick_lens, sc->cap_pick * sizeof(*sc->pick_lens));
    }
    /* lleval_ds_answer_add(): no blank answers, no repeats, in order */
    for (size_t i = 0; i < sc->n_ans; i++) {
        const char *a = text->buf + sc->ans[i];
        size_t alen = strlen(a), k;
        if (lleval_ds_blank(a, alen))
            continue;
        for (k = 0; k < n && strcmp(sc->pick[k], a); k++)
            ;
        if (k < n)
            continue;
        sc->pick[n] = a;
        sc->pick_lens[n++] = alen;
    }
    if (!n) {
        lleval_ds_skip(b, "no_answers");
        return 1;
    }
    /* the id as generic_record() makes it */
    id = sc->id_kind == 1 ? text->buf + sc->id : NULL;
    if (sc->id_kind == 2) {
        snprintf(num, sizeof(num), "%lld", sc->id_int);
        id = num;
    } else if (!id || lleval_ds_blank(id, strlen(id))) {
        lleval_sb_reset(&sc->idbuf);
        lleval_sb_addf(&sc->idbuf, "%s-%ld", b->ds->name, row);
        id = sc->idbuf.buf;
    }
    ctx = sc->context == (size_t)-1 ? NULL : text->buf + sc->context;
    lleval_sb_reset(&b->where);
    lleval_sb_addf(&b->where, "%s:%ld", path, line);
    rc = lleval_ds_write_item(b, id, q, qlen, ctx, ctx ? strlen(ctx) : 0, NULL, NULL, 0, sc->pick,
                              sc->pick_lens, n, line, b->where.buf, err);
    return rc ? rc : 1;
}

static int import_jsonl(struct lleval_ds_builder *b, bool fast, struct lleval_err *err)
{
    const char *path = b->ds->path;
    struct lleval_lines lr;
    struct mapping m;
    struct gen_scan sc;
    struct lleval_sb text = LLEVAL_SB_INIT;
    long row = 0;
    int rc;

    get_mapping(b->ds, &m);
    memset(&sc, 0, sizeof(sc));
    sc.m = &m;
    lleval_sb_init(&sc.idbuf, 0);
    sc.open_book = b->type == LLEVAL_OPEN_BOOK;
    fast = fast && gen_fast_ok(b, &m);
    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    while (!lleval_ds_full(b) && (rc = lleval_lines_next(&lr, err)) == 1) {
        json_t *obj;
        if (lleval_ds_blank(lr.line, lr.len))
            continue;
        b->records++;
        row++;
        if (fast) {
            int f = gen_fast(b, &sc, &text, path, lr.lineno, row, lr.line, lr.len, err);
            if (f < 0) {
                rc = f;
                break;
            }
            if (f)
                continue;
        }
        obj = lleval_ds_parse_line(path, lr.lineno, lr.line, lr.len, err);
        if (!obj) {
            rc = err ? err->code : LLEVAL_EINVAL;
            break;
        }
        rc = generic_record(b, &m, obj, false, path, lr.lineno, row, err);
        json_decref(obj);
        if (rc)
            break;
    }
    lleval_lines_close(&lr);
    lleval_sb_release(&text);
    free(sc.ans);
    free(sc.pick);
    free(sc.pick_lens);
    lleval_sb_release(&sc.idbuf);
    return rc < 0 ? rc : 0;
}

int lleval_ds_import_jsonl(struct lleval_ds_builder *b, struct lleval_err *err)
{
    return import_jsonl(b, true, err);
}

int lleval_ds_import_jsonl_tree(struct lleval_ds_builder *b, struct lleval_err *err)
{
    return import_jsonl(b, false, err);
}

/* Reads the header row into names. Returns 1 when rows may follow, 0 for an
 * empty file, negative on error. Without a header, names stays NULL and
 * columns are named by their 1-based number ("1", "2", ...). */
static int read_header(struct lleval_csv_reader *r, bool has_header, char ***names, size_t *n_names,
                       struct lleval_err *err)
{
    int rc;
    *names = NULL;
    *n_names = 0;
    if (!has_header)
        return 1;
    do {
        rc = lleval_csv_next(r, err);
    } while (rc == 1 && lleval_csv_blank(r));
    if (rc <= 0)
        return rc; /* empty file: no records */
    *names = lleval_xcalloc(r->n_fields, sizeof(char *));
    *n_names = r->n_fields;
    for (size_t i = 0; i < r->n_fields; i++) {
        char what[64];
        snprintf(what, sizeof(what), "header column %zu", i + 1);
        rc = lleval_ds_check_utf8(r->fields[i], r->path, r->line, what, err);
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++)
            if (!strcmp((*names)[k], r->fields[i]))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s:%ld: column '%s' appears twice in the header (columns "
                                      "%zu and %zu); rename one",
                                      r->path, r->line, r->fields[i], k + 1, i + 1);
        (*names)[i] = lleval_xstrdup(r->fields[i]);
    }
    return 1;
}

/* The mapped columns that every item needs must exist before any row is read. */
static int check_columns(const struct lleval_ds_builder *b, const struct mapping *m,
                         const struct lleval_csv_reader *r, char **names, size_t n_names,
                         struct lleval_err *err)
{
    const char *need[3][2] = {{m->question, "fields.question"}, {m->answers, "fields.answers"}};
    size_t n_need = 2;

    if (b->type == LLEVAL_OPEN_BOOK) {
        need[n_need][0] = m->context;
        need[n_need++][1] = "fields.context";
    } else if (b->type == LLEVAL_MULTIPLE_CHOICE) {
        need[n_need][0] = m->choices;
        need[n_need++][1] = "fields.choices";
    }
    for (size_t i = 0; i < n_need; i++) {
        bool found = false;
        if (!names) {
            long col;
            if (lleval_parse_long(need[i][0], 1, 100000, &col))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "dataset '%s': the CSV has no header (header: false), "
                                      "so %s must be a column number (1 = first column), not '%s'",
                                      b->ds->name, need[i][1], need[i][0]);
            continue;
        }
        for (size_t k = 0; k < n_names && !found; k++)
            found = !strcmp(names[k], need[i][0]);
        if (!found) {
            struct lleval_sb cols = LLEVAL_SB_INIT;
            int rc;
            for (size_t k = 0; k < n_names; k++)
                lleval_sb_addf(&cols, "%s'%s'", k ? ", " : "", names[k]);
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: no column '%s' in the header (columns: %s); set %s in "
                                "the dataset's config to the column that holds it",
                                r->path, r->line, need[i][0], cols.buf, need[i][1]);
            lleval_sb_release(&cols);
            return rc;
        }
    }
    return 0;
}

/* The 0-based column of the mapped name: by the header, or without one by
 * its number as the tree path names the columns ("1", "2", ...); -1 when no
 * column can have that name. */
static long csv_col(const char *name, char **names, size_t n_names)
{
    long col;
    char num[32];
    if (names) {
        for (size_t k = 0; k < n_names; k++)
            if (!strcmp(names[k], name))
                return (long)k;
        return -1;
    }
    if (lleval_parse_long(name, 1, 100000, &col))
        return -1;
    snprintf(num, sizeof(num), "%ld", col);
    return strcmp(num, name) ? -1 : col - 1;
}

/* The mapped columns of a CSV (csv_col()), for the fast path. */
struct csv_cols {
    long id, question, context, answers;
};

/* One row the fast way (closed and open book): 1 when it was handled (an
 * item written or a skip counted), 0 when generic_record() must read it (it
 * words the errors), negative on an error. */
static int csv_fast(struct lleval_ds_builder *b, const struct csv_cols *cols,
                    struct lleval_csv_reader *r, long row, struct lleval_sb *idbuf,
                    struct lleval_err *err)
{
    const char *id = NULL, *q, *ctx = NULL, *a, *p;
    size_t alen, bad;
    long n = (long)r->n_fields;
    int rc;

    if (cols->question < 0 || cols->question >= n || cols->answers < 0 || cols->answers >= n ||
        (b->type == LLEVAL_OPEN_BOOK && (cols->context < 0 || cols->context >= n)))
        return 0;
    for (size_t i = 0; i < r->n_fields; i++)
        if (!lleval_utf8_valid(r->fields[i], strlen(r->fields[i]), &bad))
            return 0;
    q = r->fields[cols->question];
    if (lleval_ds_blank(q, strlen(q)))
        return 0;
    a = r->fields[cols->answers];
    for (p = a; isspace((unsigned char)*p); p++)
        ;
    if (*p == '[')
        return 0; /* a JSON array in the cell: jansson reads it */
    if (!*p) {
        lleval_ds_skip(b, "no_answers");
        return 1;
    }
    if (b->type == LLEVAL_OPEN_BOOK)
        ctx = r->fields[cols->context];
    if (cols->id >= 0 && cols->id < n &&
        !lleval_ds_blank(r->fields[cols->id], strlen(r->fields[cols->id])))
        id = r->fields[cols->id];
    if (!id) {
        lleval_sb_reset(idbuf);
        lleval_sb_addf(idbuf, "%s-%ld", b->ds->name, row);
        id = idbuf->buf;
    }
    alen = strlen(a);
    lleval_sb_reset(&b->where);
    lleval_sb_addf(&b->where, "%s:%ld", r->path, r->line);
    rc = lleval_ds_write_item(b, id, q, strlen(q), ctx, ctx ? strlen(ctx) : 0, NULL, NULL, 0, &a,
                              &alen, 1, r->line, b->where.buf, err);
    return rc ? rc : 1;
}

static int import_csv(struct lleval_ds_builder *b, bool fast, struct lleval_err *err)
{
    const char *path = b->ds->path;
    struct lleval_csv_reader r;
    struct mapping m;
    char **names = NULL;
    size_t n_names = 0;
    long row = 0;
    struct csv_cols cols;
    struct lleval_sb idbuf = LLEVAL_SB_INIT;
    int rc;

    get_mapping(b->ds, &m);
    rc = lleval_csv_open(&r, path, err);
    if (rc)
        return rc;
    rc = read_header(&r, b->ds->csv_header, &names, &n_names, err);
    if (rc <= 0)
        goto out;
    rc = check_columns(b, &m, &r, names, n_names, err);
    if (rc)
        goto out;
    cols.id = csv_col(m.id, names, n_names);
    cols.question = csv_col(m.question, names, n_names);
    cols.context = csv_col(m.context, names, n_names);
    cols.answers = csv_col(m.answers, names, n_names);
    fast = fast && b->type != LLEVAL_MULTIPLE_CHOICE;
    while (!lleval_ds_full(b) && (rc = lleval_csv_next(&r, err)) == 1) {
        json_t *rec;
        if (lleval_csv_blank(&r))
            continue;
        b->records++;
        row++;
        if (names && r.n_fields != n_names) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: row has %zu fields but the header has %zu; quote fields "
                                "that contain commas",
                                path, r.line, r.n_fields, n_names);
            break;
        }
        if (fast) {
            rc = csv_fast(b, &cols, &r, row, &idbuf, err);
            if (rc < 0)
                break;
            if (rc) {
                rc = 0;
                continue;
            }
        }
        rec = json_object();
        rc = 0;
        for (size_t i = 0; i < r.n_fields && !rc; i++) {
            char what[64], num[32];
            snprintf(what, sizeof(what), "field %zu", i + 1);
            rc = lleval_ds_check_utf8(r.fields[i], path, r.line, what, err);
            if (rc)
                break;
            snprintf(num, sizeof(num), "%zu", i + 1);
            json_object_set_new(rec, names ? names[i] : num, json_string(r.fields[i]));
        }
        if (!rc)
            rc = generic_record(b, &m, rec, true, path, r.line, row, err);
        json_decref(rec);
        if (rc)
            break;
    }
out:
    for (size_t i = 0; i < n_names; i++)
        free(names ? names[i] : NULL);
    free(names);
    lleval_csv_close(&r);
    lleval_sb_release(&idbuf);
    return rc < 0 ? rc : 0;
}

int lleval_ds_import_csv(struct lleval_ds_builder *b, struct lleval_err *err)
{
    return import_csv(b, true, err);
}

int lleval_ds_import_csv_tree(struct lleval_ds_builder *b, struct lleval_err *err)
{
    return import_csv(b, false, err);
}
