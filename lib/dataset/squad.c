/*
 * SQuAD v1.1 / v2.0 importer (also XQuAD): one JSON document
 * {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
 * "answers": [{"text"}], "is_impossible"}]}]}]}. Item ids are the question
 * ids. A SQuAD 2.0 file (top-level "version" "v2..." or any question with an
 * "is_impossible" field) gives every item an "unanswerable" field: true for
 * the questions marked is_impossible, which keep an empty answer list (their
 * gold is "no answer", docs/datasets.md), false for the others. Answerable
 * questions whose answer list is empty are skipped ("no_answers").
 *
 * jansson does not keep source positions, so places are JSON paths
 * (data[3].paragraphs[1].qas[0]) plus the line of the question's id, found by
 * scanning the raw text forward for the quoted id.
 */
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"

#define SQUAD_MAX_BYTES ((size_t)1 << 30)

/* Finds quoted ids in the raw text, moving forward only (linear time). */
struct id_locator {
    const char *buf;
    size_t len;
    size_t pos; /* scan position */
    long line;  /* line at pos */
    bool lost;  /* an id was not found (escaped in the file?): stop looking */
};

/* Returns the line of the next occurrence of "id", or 0 when unknown. */
static long locate_id(struct id_locator *loc, const char *id)
{
    char *needle;
    const char *hit;
    long line = 0;
    if (loc->lost)
        return 0;
    needle = lleval_xasprintf("\"%s\"", id);
    hit = strstr(loc->buf + loc->pos, needle);
    loc->lost = !hit;
    if (hit) {
        for (const char *p = loc->buf + loc->pos; p < hit; p++)
            if (*p == '\n')
                loc->line++;
        loc->pos = (size_t)(hit - loc->buf) + strlen(needle);
        line = loc->line;
    }
    free(needle);
    return line;
}

struct squad_ctx {
    struct lleval_ds_builder *b;
    const char *path;
    struct id_locator loc;
    char jpath[128];
    bool v2; /* a SQuAD 2.0 file: items carry "unanswerable" */
};

/* "path[:line]: data[..]: field 'x' is missing / must be ..., found ..." */
static int squad_error(const struct squad_ctx *c, long line, struct lleval_err *err,
                       const char *field, const json_t *v, const char *expected)
{
    if (line > 0)
        return lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: %s: field '%s' %s %s%s%s", c->path, line,
                              c->jpath, field, v ? "must be" : "is missing; it must be", expected,
                              v ? ", found " : "", v ? lleval_ds_json_type(v) : "");
    return lleval_err_set(err, LLEVAL_EINVAL, "%s: %s: field '%s' %s %s%s%s", c->path, c->jpath,
                          field, v ? "must be" : "is missing; it must be", expected,
                          v ? ", found " : "", v ? lleval_ds_json_type(v) : "");
}

static int squad_qa(struct squad_ctx *c, const json_t *qa, const char *title, const char *context,
                    struct lleval_err *err)
{
    struct lleval_ds_builder *b = c->b;
    const json_t *id = json_object_get(qa, "id");
    const json_t *q = json_object_get(qa, "question");
    const json_t *ans = json_object_get(qa, "answers");
    const json_t *impossible = json_object_get(qa, "is_impossible");
    json_t *answers, *meta, *v, *item;
    char *where;
    long line = 0;
    size_t i;
    int rc;

    if (!json_is_object(qa))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: %s: must be an object, found %s", c->path,
                              c->jpath, lleval_ds_json_type(qa));
    if (!json_is_string(id))
        return squad_error(c, 0, err, "id", id, "a string");
    if (!json_string_length(id))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s: %s: field 'id' is empty", c->path, c->jpath);
    line = locate_id(&c->loc, json_string_value(id));
    if (!json_is_string(q))
        return squad_error(c, line, err, "question", q, "a string");
    if (impossible && !json_is_boolean(impossible))
        return squad_error(c, line, err, "is_impossible", impossible, "true or false");
    if (!json_is_true(impossible) && !json_is_array(ans))
        return squad_error(c, line, err, "answers", ans, "a list of {\"text\": ...} objects");
    if (lleval_ds_blank(json_string_value(q), json_string_length(q)))
        return squad_error(c, line, err, "question", q, "a non-empty string");
    answers = json_array();
    /* an unanswerable question's gold is "no answer": its (plausible) answers are not gold */
    if (!json_is_true(impossible))
        json_array_foreach(ans, i, v)
        {
            const json_t *text = json_object_get(v, "text");
            if (!json_is_string(text)) {
                json_decref(answers);
                snprintf(c->jpath + strlen(c->jpath), sizeof(c->jpath) - strlen(c->jpath),
                         ".answers[%zu]", i);
                return squad_error(c, line, err, "text", json_is_object(v) ? text : v,
                                   json_is_object(v) ? "a string" : "an object with a string");
            }
            lleval_ds_answer_add(answers, json_string_value(text));
        }
    if (!json_array_size(answers) && !json_is_true(impossible)) {
        json_decref(answers);
        lleval_ds_skip(b, "no_answers");
        return 0;
    }
    meta = json_pack("{s:s}", "title", title);
    if (line > 0)
        json_object_set_new(meta, "line", json_integer(line));
    if (line > 0)
        where = lleval_xasprintf("%s:%ld (%s)", c->path, line, c->jpath);
    else
        where = lleval_xasprintf("%s (%s)", c->path, c->jpath);
    item = lleval_ds_item(b, json_string_value(id), json_string_value(q), context, NULL, answers,
                          meta);
    if (c->v2)
        json_object_set_new(item, "unanswerable", json_boolean(json_is_true(impossible)));
    rc = lleval_ds_add(b, item, where, err);
    free(where);
    return rc;
}

/* A SQuAD 2.0 file: its version says so, or a question has an is_impossible field. */
static bool squad_is_v2(const json_t *root)
{
    const char *version = json_string_value(json_object_get(root, "version"));
    const json_t *article, *para, *qa;
    size_t ai, pi, qi;
    if (version && (version[0] == '2' || (version[0] == 'v' && version[1] == '2')))
        return true;
    json_array_foreach(json_object_get(root, "data"), ai, article)
    {
        json_array_foreach(json_object_get(article, "paragraphs"), pi, para)
        {
            json_array_foreach(json_object_get(para, "qas"), qi, qa)
            {
                if (json_object_get(qa, "is_impossible"))
                    return true;
            }
        }
    }
    return false;
}

static int squad_doc(struct squad_ctx *c, const json_t *root, struct lleval_err *err)
{
    const json_t *data = json_object_get(root, "data");
    const json_t *article;
    size_t ai;

    if (!json_is_object(root) || !json_is_array(data))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: not SQuAD JSON: no \"data\" list at the top level; for other "
                              "layouts use format jsonl with a field mapping",
                              c->path);
    json_array_foreach(data, ai, article)
    {
        const json_t *title = json_object_get(article, "title");
        const json_t *paras = json_object_get(article, "paragraphs");
        const json_t *para;
        size_t pi;

        snprintf(c->jpath, sizeof(c->jpath), "data[%zu]", ai);
        if (!json_is_object(article))
            return lleval_err_set(err, LLEVAL_EINVAL, "%s: %s: must be an object, found %s",
                                  c->path, c->jpath, lleval_ds_json_type(article));
        if (title && !json_is_string(title))
            return squad_error(c, 0, err, "title", title, "a string");
        if (!json_is_array(paras))
            return squad_error(c, 0, err, "paragraphs", paras, "a list");
        json_array_foreach(paras, pi, para)
        {
            const json_t *context = json_object_get(para, "context");
            const json_t *qas = json_object_get(para, "qas");
            const json_t *qa;
            size_t qi;

            snprintf(c->jpath, sizeof(c->jpath), "data[%zu].paragraphs[%zu]", ai, pi);
            if (!json_is_object(para))
                return lleval_err_set(err, LLEVAL_EINVAL, "%s: %s: must be an object, found %s",
                                      c->path, c->jpath, lleval_ds_json_type(para));
            if (!json_is_string(context))
                return squad_error(c, 0, err, "context", context, "a string");
            if (!json_is_array(qas))
                return squad_error(c, 0, err, "qas", qas, "a list");
            json_array_foreach(qas, qi, qa)
            {
                int rc;
                snprintf(c->jpath, sizeof(c->jpath), "data[%zu].paragraphs[%zu].qas[%zu]", ai, pi,
                         qi);
                c->b->records++;
                rc = squad_qa(c, qa, title ? json_string_value(title) : "",
                              json_string_value(context), err);
                if (rc)
                    return rc;
                if (lleval_ds_full(c->b))
                    return 0;
            }
        }
    }
    return 0;
}

/* Line and column (1-based) of byte offset off. */
static void line_col(const char *buf, size_t off, long *line, long *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int lleval_ds_import_squad(struct lleval_ds_builder *b, struct lleval_err *err)
{
    struct squad_ctx c;
    struct lleval_sb raw = LLEVAL_SB_INIT;
    json_error_t jerr;
    json_t *root = NULL;
    size_t bad;
    int rc;

    memset(&c, 0, sizeof(c));
    c.b = b;
    c.path = b->ds->path;
    rc = lleval_read_file(c.path, &raw, SQUAD_MAX_BYTES, err);
    if (rc)
        goto out;
    if (lleval_ds_blank(raw.buf, raw.len))
        goto out; /* no records: the driver reports an empty file */
    {
        const char *nul = memchr(raw.buf, '\0', raw.len);
        size_t off = raw.len;
        if (!lleval_utf8_valid(raw.buf, raw.len, &bad))
            off = bad;
        if (nul && (size_t)(nul - raw.buf) < off)
            off = (size_t)(nul - raw.buf);
        if (off < raw.len) {
            long line, col;
            line_col(raw.buf, off, &line, &col);
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld:%ld: %s at byte offset %zu (byte 0x%02X); re-save the "
                                "file as UTF-8",
                                c.path, line, col, raw.buf[off] ? "invalid UTF-8" : "NUL byte", off,
                                (unsigned)(unsigned char)raw.buf[off]);
            goto out;
        }
    }
    {
        /* A UTF-8 byte order mark is not JSON; editors on Windows write one. */
        size_t skip = raw.len >= 3 && !memcmp(raw.buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
        root = json_loadb(raw.buf + skip, raw.len - skip, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!root) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "%s:%d:%d: invalid JSON: %s", c.path, jerr.line,
                            jerr.column, lleval_json_error_text(&jerr));
        goto out;
    }
    c.loc.buf = raw.buf;
    c.loc.len = raw.len;
    c.loc.line = 1;
    c.v2 = squad_is_v2(root);
    rc = squad_doc(&c, root, err);
out:
    json_decref(root);
    lleval_sb_release(&raw);
    return rc;
}
