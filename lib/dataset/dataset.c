/*
 * The prepare driver: resolves a dataset's type
 * and scoring, runs the format's importer, which streams the items to the
 * temp file of <dataset>.jsonl (lib/dataset/writer.c), and only once the
 * whole input was read puts it in place, then <dataset>.info.json, both
 * atomically. Shared importer helpers (item objects, skips, UTF-8 and JSON
 * line checks) live here; the prepared-file reader is lib/dataset/prepared.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"

struct format_def {
    const char *name;
    int (*import)(struct lleval_ds_builder *b, struct lleval_err *err);
    bool has_natural_type;
    enum lleval_item_type natural;
    unsigned allowed;    /* bit per lleval_item_type */
    const char *why_not; /* what to say when a type override is not allowed */
};

#define TYPE_BIT(t) (1u << (t))
#define ALL_TYPES                                                                                  \
    (TYPE_BIT(LLEVAL_CLOSED_BOOK) | TYPE_BIT(LLEVAL_OPEN_BOOK) | TYPE_BIT(LLEVAL_MULTIPLE_CHOICE))

static const struct format_def formats[] = {
    {"squad", lleval_ds_import_squad, true, LLEVAL_OPEN_BOOK,
     TYPE_BIT(LLEVAL_OPEN_BOOK) | TYPE_BIT(LLEVAL_CLOSED_BOOK),
     "SQuAD questions can be asked open book (with the passage) or closed book"},
    {"nq_open", lleval_ds_import_nq, true, LLEVAL_CLOSED_BOOK, TYPE_BIT(LLEVAL_CLOSED_BOOK),
     "NQ-open has no passages and no choices: it is closed book only"},
    {"mmlu", lleval_ds_import_mmlu, true, LLEVAL_MULTIPLE_CHOICE, TYPE_BIT(LLEVAL_MULTIPLE_CHOICE),
     "MMLU is multiple choice only"},
    {"jsonl", lleval_ds_import_jsonl, false, LLEVAL_CLOSED_BOOK, ALL_TYPES, NULL},
    {"csv", lleval_ds_import_csv, false, LLEVAL_CLOSED_BOOK, ALL_TYPES, NULL},
};

static const char *default_scoring(enum lleval_item_type t)
{
    switch (t) {
    case LLEVAL_OPEN_BOOK:
        return "squad";
    case LLEVAL_MULTIPLE_CHOICE:
        return "mc";
    default:
        return "nq";
    }
}

/* ---- stats ---------------------------------------------------------------- */

void lleval_prepare_stats_init(struct lleval_prepare_stats *st)
{
    memset(st, 0, sizeof(*st));
}

void lleval_prepare_stats_release(struct lleval_prepare_stats *st)
{
    if (!st)
        return;
    free(st->dataset);
    free(st->format);
    free(st->source);
    free(st->type);
    free(st->scoring);
    free(st->output_path);
    free(st->info_path);
    json_decref(st->skipped);
    memset(st, 0, sizeof(*st));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *lleval_prepare_stats_json(const struct lleval_prepare_stats *st)
{
    json_t *j = json_object();
    json_object_set_new(j, "dataset", str_or_null(st->dataset));
    json_object_set_new(j, "format", str_or_null(st->format));
    json_object_set_new(j, "type", str_or_null(st->type));
    json_object_set_new(j, "scoring", str_or_null(st->scoring));
    json_object_set_new(j, "source", str_or_null(st->source));
    json_object_set_new(j, "output", str_or_null(st->output_path));
    json_object_set_new(j, "info", str_or_null(st->info_path));
    json_object_set_new(j, "items", json_integer(st->items));
    json_object_set_new(j, "skipped", st->skipped ? json_deep_copy(st->skipped) : json_object());
    json_object_set_new(j, "skipped_total", json_integer(st->skipped_total));
    json_object_set_new(j, "limited", json_boolean(st->limited));
    return j;
}

/* ---- names and paths ------------------------------------------------------ */

bool lleval_dataset_name_valid(const char *name)
{
    size_t n;
    if (!name || !*name || name[0] == '.')
        return false;
    n = strlen(name);
    if (n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

char *lleval_prepared_path(const char *prepared_dir, const char *dataset)
{
    char *file = lleval_xasprintf("%s.jsonl", dataset);
    char *path = lleval_path_join(prepared_dir, file);
    free(file);
    return path;
}

char *lleval_prepared_info_path(const char *prepared_dir, const char *dataset)
{
    char *file = lleval_xasprintf("%s.info.json", dataset);
    char *path = lleval_path_join(prepared_dir, file);
    free(file);
    return path;
}

/* ---- importer helpers ----------------------------------------------------- */

json_t *lleval_ds_item(const struct lleval_ds_builder *b, const char *id, const char *question,
                       const char *context, json_t *choices, json_t *answers, json_t *meta)
{
    json_t *item = json_object();
    json_object_set_new(item, "id", json_string(id));
    json_object_set_new(item, "dataset", json_string(b->ds->name));
    json_object_set_new(item, "type", json_string(lleval_item_type_name(b->type)));
    json_object_set_new(item, "question", json_string(question));
    if (b->type == LLEVAL_OPEN_BOOK)
        json_object_set_new(item, "context", json_string(context ? context : ""));
    if (b->type == LLEVAL_MULTIPLE_CHOICE) {
        json_object_set_new(item, "choices", choices ? choices : json_array());
        choices = NULL;
    }
    json_object_set_new(item, "answers", answers ? answers : json_array());
    json_object_set_new(item, "meta", meta ? meta : json_object());
    json_decref(choices); /* not part of a non-multiple-choice item */
    return item;
}

void lleval_ds_skip(struct lleval_ds_builder *b, const char *reason)
{
    json_t *n = json_object_get(b->skipped, reason);
    json_object_set_new(b->skipped, reason, json_integer(n ? json_integer_value(n) + 1 : 1));
    b->skipped_total++;
}

bool lleval_ds_full(const struct lleval_ds_builder *b)
{
    return b->limit > 0 && b->items >= b->limit;
}

void lleval_ds_answer_add(json_t *answers, const char *s)
{
    size_t i;
    json_t *v;
    const char *p = s;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return;
    json_array_foreach(answers, i, v)
    {
        if (!strcmp(json_string_value(v), s))
            return;
    }
    json_array_append_new(answers, json_string(s));
}

const char *lleval_ds_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

int lleval_ds_field_error(const char *path, long line, const char *field, const json_t *v,
                          const char *expected, const char *cfg_key, struct lleval_err *err)
{
    if (!v)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s:%ld: field '%s' is missing (it must be %s)%s%s%s", path, line,
                              field, expected, cfg_key ? "; set " : "", cfg_key ? cfg_key : "",
                              cfg_key ? " in the dataset's config to the field that holds it" : "");
    return lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: field '%s' must be %s, found %s", path, line,
                          field, expected, lleval_ds_json_type(v));
}

bool lleval_ds_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

json_t *lleval_ds_parse_line(const char *path, long line, const char *text, size_t len,
                             struct lleval_err *err)
{
    json_error_t jerr;
    size_t bad;
    json_t *j;
    const char *nul = memchr(text, '\0', len);

    if (line == 1 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3; /* a UTF-8 byte order mark */
        len -= 3;
        nul = memchr(text, '\0', len);
    }
    if (nul) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s:%ld: NUL byte at byte offset %zu of the line; the file is binary or "
                       "UTF-16: re-save it as UTF-8 text",
                       path, line, (size_t)(nul - text));
        return NULL;
    }
    if (!lleval_utf8_valid(text, len, &bad)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s:%ld: invalid UTF-8 at byte offset %zu of the line (byte 0x%02X); "
                       "re-save the file as UTF-8",
                       path, line, bad, (unsigned)(unsigned char)text[bad]);
        return NULL;
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s:%ld:%d: invalid JSON: %s; each line must be one JSON object", path, line,
                       jerr.column > 0 ? jerr.column : 1, lleval_json_error_text(&jerr));
        return NULL;
    }
    if (!json_is_object(j)) {
        lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: expected a JSON object, found %s", path, line,
                       lleval_ds_json_type(j));
        json_decref(j);
        return NULL;
    }
    return j;
}

int lleval_ds_check_utf8(const char *s, const char *path, long line, const char *what,
                         struct lleval_err *err)
{
    size_t bad;
    if (lleval_utf8_valid(s, strlen(s), &bad))
        return 0;
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: invalid UTF-8 in %s at byte offset %zu of the field (byte "
                          "0x%02X); re-save the file as UTF-8",
                          path, line, what, bad, (unsigned)(unsigned char)s[bad]);
}

int lleval_ds_mc_letter(const json_t *choices, const char *answer, long index, char *letter,
                        struct lleval_err *err)
{
    size_t n = json_array_size(choices);
    size_t i;
    json_t *v;

    if (n < 2 || n > 26)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "multiple choice needs 2 to 26 choices, found %zu", n);
    if (index >= 0) {
        if ((size_t)index >= n)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "answer index %ld is out of range for %zu choices (indexes "
                                  "start at 0)",
                                  index, n);
        *letter = (char)('A' + index);
        return 0;
    }
    if (answer) {
        const char *p = answer, *e = answer + strlen(answer);
        while (*p && isspace((unsigned char)*p))
            p++;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        if (e - p == 1 && isalpha((unsigned char)*p)) {
            int k = toupper((unsigned char)*p) - 'A';
            if ((size_t)k < n) {
                *letter = (char)('A' + k);
                return 0;
            }
        }
        json_array_foreach(choices, i, v)
        {
            if (!strcmp(json_string_value(v), answer)) {
                *letter = (char)('A' + i);
                return 0;
            }
        }
    }
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "answer '%s' is neither a choice letter (A-%c) nor the text of a choice",
                          answer ? answer : "", (char)('A' + n - 1));
}

/* ---- prepare -------------------------------------------------------------- */

static const struct format_def *find_format(const char *name)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(formats); i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

static int resolve(const struct lleval_dataset_cfg *ds, const struct format_def **fmt_out,
                   enum lleval_item_type *type, const char **scoring, struct lleval_err *err)
{
    const struct format_def *fmt;

    if (!lleval_dataset_name_valid(ds->name))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset name '%s' is not valid: use letters, digits, '_', '.' and "
                              "'-' (not starting with a dot)",
                              ds->name ? ds->name : "");
    if (!ds->format || !*ds->format)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': 'format' is missing; use squad, nq_open, mmlu, jsonl "
                              "or csv",
                              ds->name);
    fmt = find_format(ds->format);
    if (!fmt) {
        const char *names[LLEVAL_ARRAY_SIZE(formats)];
        const char *best;
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(formats); i++)
            names[i] = formats[i].name;
        best = lleval_did_you_mean(ds->format, names, LLEVAL_ARRAY_SIZE(formats));
        if (best)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "dataset '%s': unknown format '%s'; did you mean '%s'?", ds->name,
                                  ds->format, best);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': unknown format '%s'; use squad, nq_open, mmlu, "
                              "jsonl or csv",
                              ds->name, ds->format);
    }
    if (!ds->path || !*ds->path)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': 'path' is missing; set it to the dataset file%s",
                              ds->name, strcmp(fmt->name, "mmlu") ? "" : " or folder");
    if (ds->has_type) {
        if ((unsigned)ds->type >= LLEVAL_N_ITEM_TYPES || !(fmt->allowed & TYPE_BIT(ds->type)))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "dataset '%s': type '%s' does not fit format '%s' (%s); remove "
                                  "'type' or change it",
                                  ds->name, lleval_item_type_name(ds->type), fmt->name,
                                  fmt->why_not);
        *type = ds->type;
    } else if (fmt->has_natural_type) {
        *type = fmt->natural;
    } else {
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': format '%s' needs 'type' in its config entry "
                              "(closed_book, open_book or multiple_choice)",
                              ds->name, fmt->name);
    }
    if (ds->scoring && *ds->scoring) {
        bool mc = *type == LLEVAL_MULTIPLE_CHOICE;
        if (strcmp(ds->scoring, "squad") && strcmp(ds->scoring, "nq") && strcmp(ds->scoring, "mc"))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "dataset '%s': unknown scoring '%s'; use squad, nq or mc",
                                  ds->name, ds->scoring);
        if (mc != !strcmp(ds->scoring, "mc"))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "dataset '%s': scoring '%s' does not fit type '%s' (mc is for "
                                  "multiple choice, squad and nq for free answers)",
                                  ds->name, ds->scoring, lleval_item_type_name(*type));
        *scoring = ds->scoring;
    } else {
        *scoring = strcmp(fmt->name, "squad") == 0     ? "squad"
                   : strcmp(fmt->name, "nq_open") == 0 ? "nq"
                                                       : default_scoring(*type);
    }
    *fmt_out = fmt;
    return 0;
}

static json_t *info_json(const struct lleval_ds_builder *b, const char *scoring, long limit_items)
{
    char when[64];
    json_t *info = json_object();
    json_object_set_new(info, "dataset", json_string(b->ds->name));
    json_object_set_new(info, "format", json_string(b->ds->format));
    json_object_set_new(info, "source", json_string(b->ds->path));
    json_object_set_new(info, "type", json_string(lleval_item_type_name(b->type)));
    json_object_set_new(info, "scoring", json_string(scoring));
    json_object_set_new(info, "items", json_integer(b->items));
    json_object_set(info, "skipped", b->skipped);
    json_object_set_new(info, "prepared_at",
                        json_string(lleval_fmt_utc(when, sizeof(when), lleval_now())));
    json_object_set_new(info, "limit_items", json_integer(limit_items));
    if (b->split)
        json_object_set_new(info, "split", json_string(b->split));
    return info;
}

static int no_items_error(const struct lleval_ds_builder *b, struct lleval_err *err)
{
    const char *what = strcmp(b->ds->format, "mmlu") ? "the file" : "the selected files";
    if (b->skipped_total) {
        struct lleval_sb why = LLEVAL_SB_INIT;
        const char *key;
        json_t *v;
        int rc;
        json_object_foreach(b->skipped, key, v)
        {
            lleval_sb_addf(&why, "%s%s: %lld", why.len ? ", " : "", key,
                           (long long)json_integer_value(v));
        }
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "%s: no items: all %ld records were skipped (%s); check that this is "
                            "the right file for format '%s'",
                            b->ds->path, b->skipped_total, why.buf, b->ds->format);
        lleval_sb_release(&why);
        return rc;
    }
    if (!b->records)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: no items: %s holds no records; point 'path' of dataset '%s' "
                              "at a non-empty %s file",
                              b->ds->path, what, b->ds->name, b->ds->format);
    return lleval_err_set(err, LLEVAL_EINVAL, "%s: no items found; check the format ('%s')",
                          b->ds->path, b->ds->format);
}

/* True when the file at path starts with the bytes of the file at prefix.
 * Small chunks: every byte of them becomes resident stack for the rest of the
 * process (a 200-item prefix filled 70 KiB of two 64 KiB buffers). */
static bool starts_with_file(const char *path, const char *prefix)
{
    FILE *a = NULL, *b = NULL;
    char x[8192], y[8192];
    size_t n;
    bool same = false;
    if (lleval_fopen_read(path, &a, NULL) || lleval_fopen_read(prefix, &b, NULL))
        goto out;
    for (;;) {
        n = fread(y, 1, sizeof(y), b);
        if (!n) {
            same = !ferror(b);
            break;
        }
        if (fread(x, 1, n, a) != n || memcmp(x, y, n))
            break;
    }
out:
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    return same;
}

static bool same_str(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* True when info (may be NULL) describes a whole prepare (not one cut short by
 * a limit) of the same source with the same settings. */
static bool info_whole_same(const json_t *info, const struct lleval_ds_builder *b,
                            const char *scoring)
{
    long limit = (long)json_integer_value(json_object_get(info, "limit_items"));
    long items = (long)json_integer_value(json_object_get(info, "items"));
    const char *split = lleval_json_str(info, "split");
    if (!info || (limit > 0 && items >= limit))
        return false;
    return same_str(lleval_json_str(info, "dataset"), b->ds->name) &&
           same_str(lleval_json_str(info, "format"), b->ds->format) &&
           same_str(lleval_json_str(info, "source"), b->ds->path) &&
           same_str(lleval_json_str(info, "type"), lleval_item_type_name(b->type)) &&
           same_str(lleval_json_str(info, "scoring"), scoring) &&
           ((!split && !b->split) || (split && b->split && !strcmp(split, b->split)));
}

/*
 * The prepare. for_run (lleval_dataset_prepare_run): limit_items only bounds
 * what is read: an import that read the whole source is written as a whole
 * prepare (limit_items 0 in the info file); one cut short by the limit is
 * never written: when the prepared file is a whole prepare of the same source
 * whose first items are these bytes, it stays (*kept = 1), else *kept = -1
 * (the caller prepares the whole source).
 */
static int prepare(const struct lleval_dataset_cfg *ds, const char *prepared_dir, long limit_items,
                   bool for_run, int *kept, struct lleval_prepare_stats *st, struct lleval_err *err)
{
    const struct format_def *fmt = NULL;
    struct lleval_ds_builder b;
    const char *scoring = NULL;
    enum lleval_item_type type = LLEVAL_CLOSED_BOOK;
    char *out_path = NULL, *info_path = NULL;
    json_t *info = NULL;
    int rc;

    memset(&b, 0, sizeof(b));
    lleval_sb_init(&b.out, 0);
    lleval_sb_init(&b.seen, 0);
    lleval_sb_init(&b.where, 0);
    if (st) {
        lleval_prepare_stats_release(st);
        st->dataset = lleval_xstrdup(ds->name);
        st->format = lleval_xstrdup(ds->format);
        st->source = lleval_xstrdup(ds->path);
    }
    if (limit_items < 0)
        return lleval_err_set(err, LLEVAL_EINVAL, "limit_items must be 0 (all) or more, not %ld",
                              limit_items);
    if (!prepared_dir || !*prepared_dir)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no prepared_dir: set paths.prepared_dir in the config");
    rc = resolve(ds, &fmt, &type, &scoring, err);
    if (rc)
        return rc;

    out_path = lleval_prepared_path(prepared_dir, ds->name);
    info_path = lleval_prepared_info_path(prepared_dir, ds->name);
    if (!strcmp(out_path, ds->path) || !strcmp(info_path, ds->path)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "dataset '%s': preparing into '%s' would overwrite its own source; "
                            "set paths.prepared_dir to another folder",
                            ds->name, prepared_dir);
        goto out;
    }
    b.ds = ds;
    b.type = type;
    b.limit = limit_items;
    b.prepared_dir = prepared_dir;
    b.out_path = out_path;
    b.skipped = json_object();
    rc = fmt->import(&b, err);
    if (rc)
        goto out;
    if (!b.items) {
        rc = no_items_error(&b, err);
        goto out;
    }

    if (for_run && lleval_ds_full(&b)) {
        json_t *old = lleval_prepared_info(prepared_dir, ds->name, NULL);
        rc = lleval_ds_flush(&b, err);
        if (!rc)
            rc = lleval_atomic_finish(&b.af, err);
        *kept = !rc && info_whole_same(old, &b, scoring) && starts_with_file(out_path, b.af.tmp)
                    ? 1
                    : -1;
        if (!rc && *kept > 0 && json_is_object(json_object_get(old, "skipped"))) {
            /* the stats of the prepared file that stays (as a whole prepare would give) */
            const char *key;
            json_t *v;
            b.items = (long)json_integer_value(json_object_get(old, "items"));
            json_object_clear(b.skipped);
            b.skipped_total = 0;
            json_object_foreach(json_object_get(old, "skipped"), key, v)
            {
                json_object_set(b.skipped, key, v);
                b.skipped_total += (long)json_integer_value(v);
            }
            b.limit = 0; /* not limited */
        }
        json_decref(old);
        if (rc || *kept < 0)
            goto out;
        lleval_atomic_abort(&b.af); /* the prepared file holds these items already */
    } else {
        info = info_json(&b, scoring, for_run ? 0 : limit_items);
        /* Items first, then the info file: a reader checks that the counts agree. */
        rc = lleval_ds_flush(&b, err);
        if (!rc)
            rc = lleval_atomic_commit(&b.af, err);
        if (!rc)
            rc = lleval_json_write_atomic(info_path, info, err);
        if (rc)
            goto out;
    }

    if (st) {
        st->type = lleval_xstrdup(lleval_item_type_name(type));
        st->scoring = lleval_xstrdup(scoring);
        st->output_path = out_path;
        st->info_path = info_path;
        out_path = info_path = NULL;
        st->items = b.items;
        st->skipped_total = b.skipped_total;
        st->skipped = json_incref(b.skipped);
        st->limited = lleval_ds_full(&b);
    }
out:
    lleval_atomic_abort(&b.af); /* a failed prepare leaves no temp file */
    json_decref(info);
    free(out_path);
    free(info_path);
    lleval_idset_release(&b.ids);
    lleval_sb_release(&b.seen);
    lleval_sb_release(&b.where);
    json_decref(b.skipped);
    free(b.split);
    lleval_sb_release(&b.out);
    return rc;
}

int lleval_dataset_prepare(const struct lleval_dataset_cfg *ds, const char *prepared_dir,
                           long limit_items, struct lleval_prepare_stats *st,
                           struct lleval_err *err)
{
    return prepare(ds, prepared_dir, limit_items, false, NULL, st, err);
}

int lleval_dataset_prepare_run(const struct lleval_dataset_cfg *ds, const char *prepared_dir,
                               long limit_items, struct lleval_prepare_stats *st,
                               struct lleval_err *err)
{
    json_t *info = NULL;
    int kept = 0, rc;
    if (limit_items > 0 && prepared_dir && lleval_dataset_name_valid(ds->name))
        info = lleval_prepared_info(prepared_dir, ds->name, NULL);
    if (!info) /* no limit, or nothing prepared that could stay: the whole source */
        return prepare(ds, prepared_dir, 0, false, NULL, st, err);
    json_decref(info);
    rc = prepare(ds, prepared_dir, limit_items, true, &kept, st, err);
    if (rc || kept >= 0)
        return rc;
    return prepare(ds, prepared_dir, 0, false, NULL, st, err);
}
