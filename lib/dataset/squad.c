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
 *
 * The file is read in two passes of the one-pass scanner through a window,
 * without a tree (issue 13; "The streaming path" below); a file it cannot
 * vouch for goes through the tree path (the whole document in jansson), which
 * words every error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/platform/fs.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"

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

struct sq_stream;
static long stream_locate(struct sq_stream *s, const char *id);

struct squad_ctx {
    struct lleval_ds_builder *b;
    const char *path;
    struct id_locator loc; /* the tree path's */
    struct sq_stream *st;  /* the streaming path's (it locates ids), or NULL */
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
    line = c->st ? stream_locate(c->st, json_string_value(id))
                 : locate_id(&c->loc, json_string_value(id));
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

int lleval_ds_import_squad_tree(struct lleval_ds_builder *b, struct lleval_err *err)
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

/*
 * The streaming path (issue 13): the file is read through a window with the
 * one-pass scanner (lib/util/jscan.c), never as a tree. Pass 1 checks the
 * whole document (that jansson would read it, the shape of data[],
 * paragraphs[] and qas[], ids written without escapes, so the raw text
 * locates them as the tree path does) and finds whether it is SQuAD 2.0; on
 * anything it cannot vouch for, the tree path reads the file and words the
 * error. Pass 2 walks data[].paragraphs[].qas[] again, keeps the title and
 * context of the article and paragraph at hand and writes each question as it
 * is read; a question that is not plainly valid goes through jansson alone
 * (squad_qa(), which words its error). Memory is the window: the largest
 * question or context, or, when a member comes after the one that needs it
 * (XQuAD writes "title" after "paragraphs", SQuAD 2.0 "context" after "qas"),
 * the article or paragraph, whose start stays in the window and is walked
 * again once the member was read.
 */

#define WIN_START (64u * 1024u)
#define NO_POS    UINT64_MAX

struct sq_stream {
    struct lleval_jscan js; /* first: the member callbacks get &s->js */
    FILE *f;
    unsigned char *buf; /* the window: bytes [base, base + len) of the file */
    size_t cap, len;
    uint64_t base;
    bool eof, ioerr;
    uint64_t pin;     /* the window keeps the bytes from here on (NO_POS: none) */
    bool locating;    /* pass 2: the window keeps the bytes from loc_pos on */
    uint64_t loc_pos; /* where the next id is looked for (as locate_id) */
    long loc_line;
    bool check;        /* pass 1 */
    bool vouch;        /* pass 1: false once the tree path must read the file */
    bool v2;           /* pass 1: a SQuAD 2.0 file */
    bool done;         /* pass 2: the item limit was reached */
    int depth;         /* of the question objects */
    size_t ai, pi, qi; /* the question's place: data[ai].paragraphs[pi].qas[qi] */
    struct lleval_sb text, key, title, context;
    /* one question (pass 2): offsets into text, (size_t)-1 when missing */
    size_t id, question;
    bool id_bad, id_literal, question_bad, answers, answers_odd, answer_text;
    int impossible; /* -1 absent, 0 false, 1 true, 2 not a boolean */
    size_t *ans;    /* each answer text's offset */
    size_t n_ans, cap_ans;
    const char **pick;
    size_t *pick_lens, cap_pick;
};

static uint64_t at(const struct sq_stream *s)
{
    return s->base + (uint64_t)(s->js.p - s->buf);
}

static void go(struct sq_stream *s, uint64_t off)
{
    s->js.p = s->buf + (size_t)(off - s->base);
}

/* Drops the window's bytes before keep (or the pin, or where ids are looked
 * for), grows it when it is full, and reads more. False when it may not grow
 * or the file cannot be read; at the end of the file it sets eof. */
static bool refill(struct sq_stream *s, uint64_t keep)
{
    size_t p_off = (size_t)(s->js.p - s->buf), drop, n;
    if (s->pin < keep)
        keep = s->pin;
    if (s->locating && s->loc_pos < keep)
        keep = s->loc_pos;
    drop = (size_t)(keep - s->base);
    if (s->eof)
        return true;
    if (drop) {
        memmove(s->buf, s->buf + drop, s->len - drop);
        s->len -= drop;
        s->base += drop;
        p_off -= drop;
    }
    if (s->len == s->cap) {
        if (s->cap >= SQUAD_MAX_BYTES)
            return false;
        s->cap *= 2;
        s->buf = lleval_xrealloc(s->buf, s->cap);
    }
    n = fread(s->buf + s->len, 1, s->cap - s->len, s->f);
    s->len += n;
    if (!n || feof(s->f) || ferror(s->f)) {
        s->ioerr = ferror(s->f) != 0;
        s->eof = true;
    }
    s->js.p = s->buf + p_off;
    s->js.end = s->buf + s->len;
    return !s->ioerr;
}

/* The next byte after white space (not consumed), -1 at the end of the file
 * or when it cannot be read. */
static int peekc(struct sq_stream *s)
{
    for (;;) {
        lleval_jscan_ws(&s->js);
        if (s->js.p < s->js.end)
            return *s->js.p;
        if (s->eof || !refill(s, at(s)))
            return -1;
    }
}

/* Consumes the next byte after white space when it is c. */
static bool take(struct sq_stream *s, int c)
{
    if (peekc(s) != c)
        return false;
    s->js.p++;
    return true;
}

typedef bool (*sq_fn)(struct sq_stream *s, void *arg);

/* Runs fn on the value at the current place with the window holding it whole
 * and a byte after it: when fn fails or ends at the window's end before the
 * end of the file, the window is refilled (or grown) and fn runs again from
 * the value's start. False when fn fails on the whole rest of the file. */
static bool step(struct sq_stream *s, sq_fn fn, void *arg)
{
    uint64_t mark;
    if (peekc(s) < 0)
        return false;
    mark = at(s);
    for (;;) {
        bool ok = fn(s, arg);
        if (ok && (s->js.p < s->js.end || s->eof))
            return true;
        if (!ok && s->eof)
            return false;
        go(s, mark);
        if (!refill(s, mark))
            return false;
    }
}

static bool fn_skip(struct sq_stream *s, void *arg)
{
    (void)arg;
    return lleval_jscan_skip(&s->js, s->depth);
}

/* A value met before the member its items need: skipped (pass 1 checked it
 * already) from the least depth, since it is walked again later. */
static bool fn_skip_top(struct sq_stream *s, void *arg)
{
    (void)arg;
    return lleval_jscan_skip(&s->js, 0);
}

/* The length of a string read by fn_str() (the scanner counts its NUL). */
static size_t str_len(const struct lleval_sb *sb)
{
    return sb->len ? sb->len - 1 : 0;
}

static bool fn_str(struct sq_stream *s, void *arg)
{
    lleval_sb_reset(arg);
    return lleval_jscan_str(&s->js, arg);
}

/* The keys met in one object of the walked levels, for the duplicate check
 * (JSON_REJECT_DUPLICATES); an object with many or long keys is left to the
 * tree path. */
struct keyset {
    char buf[512];
    size_t used;
};

static bool key_new(struct keyset *ks, const char *key, size_t len)
{
    for (size_t i = 0; i < ks->used; i += strlen(ks->buf + i) + 1)
        if (!strcmp(ks->buf + i, key))
            return false;
    if (len + 1 > sizeof(ks->buf) - ks->used)
        return false;
    memcpy(ks->buf + ks->used, key, len + 1);
    ks->used += len + 1;
    return true;
}

/* One member's key and its ':' (into s->key): false when the object must be
 * left to the tree path. */
static bool member_key(struct sq_stream *s, struct keyset *ks)
{
    if (peekc(s) != '"' || !step(s, fn_str, &s->key))
        return false;
    return key_new(ks, s->key.buf, strlen(s->key.buf)) && take(s, ':');
}

/* After a member: true and *more for ',', true and !*more for the closer. */
static bool member_next(struct sq_stream *s, int closer, bool *more)
{
    int ch = peekc(s);
    if (ch != ',' && ch != closer)
        return false;
    s->js.p++;
    *more = ch == ',';
    return true;
}

/* ---- one question ---- */

static bool check_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sq_stream *s = (struct sq_stream *)j;
    (void)seen;
    if (LLEVAL_JSCAN_KEY_IS(key, "is_impossible"))
        s->v2 = true;
    if (LLEVAL_JSCAN_KEY_IS(key, "id") && lleval_jscan_peek(j, '"')) {
        const unsigned char *raw = j->p;
        if (!lleval_jscan_str(j, NULL))
            return false;
        /* an id with an escape is not in the raw text as it reads: locate_id()
         * would look further (the tree path does that) */
        if (memchr(raw + 1, '\\', (size_t)(j->p - raw - 1)))
            s->vouch = false;
        return true;
    }
    return lleval_jscan_skip(j, depth);
}

static bool fn_qa_check(struct sq_stream *s, void *arg)
{
    (void)arg;
    return lleval_jscan_object(&s->js, s->depth, check_member);
}

static bool answer_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sq_stream *s = (struct sq_stream *)j;
    (void)seen;
    if (LLEVAL_JSCAN_KEY_IS(key, "text")) {
        if (!lleval_jscan_peek(j, '"')) {
            s->answers_odd = true;
            return lleval_jscan_skip(j, depth);
        }
        LLEVAL_GROW(s->ans, s->n_ans, s->cap_ans);
        s->ans[s->n_ans++] = j->out->len;
        s->answer_text = true;
        return lleval_jscan_str(j, j->out);
    }
    return lleval_jscan_skip(j, depth);
}

static bool answers_value(struct sq_stream *s, int depth)
{
    struct lleval_jscan *j = &s->js;
    if (!lleval_jscan_peek(j, '[')) {
        s->answers_odd = true;
        return lleval_jscan_skip(j, depth);
    }
    s->answers = true;
    j->p++;
    if (lleval_jscan_eat(j, ']'))
        return true;
    do {
        if (lleval_jscan_peek(j, '{')) {
            s->answer_text = false;
            if (!lleval_jscan_object(j, depth + 1, answer_member))
                return false;
            if (!s->answer_text)
                s->answers_odd = true;
        } else {
            s->answers_odd = true;
            if (!lleval_jscan_skip(j, depth + 1))
                return false;
        }
    } while (lleval_jscan_eat(j, ','));
    return lleval_jscan_eat(j, ']');
}

static bool qa_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sq_stream *s = (struct sq_stream *)j;
    (void)seen;
    if (LLEVAL_JSCAN_KEY_IS(key, "id")) {
        const unsigned char *raw;
        if (!lleval_jscan_peek(j, '"')) {
            s->id_bad = true;
            return lleval_jscan_skip(j, depth);
        }
        raw = j->p;
        s->id = j->out->len;
        if (!lleval_jscan_str(j, j->out))
            return false;
        s->id_literal = (size_t)(j->p - raw - 2) == strlen(j->out->buf + s->id);
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "question")) {
        if (!lleval_jscan_peek(j, '"')) {
            s->question_bad = true;
            return lleval_jscan_skip(j, depth);
        }
        s->question = j->out->len;
        return lleval_jscan_str(j, j->out);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "is_impossible")) {
        const char *w;
        lleval_jscan_ws(j);
        w = lleval_jscan_literal(j);
        if (w && *w != 'n') {
            s->impossible = *w == 't';
            return true;
        }
        s->impossible = 2;
        return w || lleval_jscan_skip(j, depth);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "answers"))
        return answers_value(s, depth);
    return lleval_jscan_skip(j, depth);
}

static bool fn_qa(struct sq_stream *s, void *arg)
{
    (void)arg;
    lleval_sb_reset(&s->text);
    s->id = s->question = (size_t)-1;
    s->id_bad = s->id_literal = s->question_bad = s->answers = s->answers_odd = false;
    s->impossible = -1;
    s->n_ans = 0;
    return lleval_jscan_object(&s->js, s->depth, qa_member);
}

/* locate_id() on the window, which holds the text from loc_pos to the
 * question being read (its id is there as it reads, pass 1 saw to that). */
static long stream_locate(struct sq_stream *s, const char *id)
{
    size_t n = strlen(id) + 2;
    const unsigned char *from = s->buf + (size_t)(s->loc_pos - s->base), *end = s->js.end;
    const unsigned char *q = from, *hit = NULL;
    while ((q = memchr(q, '"', (size_t)(end - q))) != NULL) {
        if ((size_t)(end - q) >= n && q[1] == (unsigned char)id[0] && q[n - 1] == '"' &&
            !memcmp(q + 1, id, n - 2)) {
            hit = q;
            break;
        }
        q++;
    }
    if (!hit)
        return 0; /* cannot be: pass 1 vouched for the ids */
    for (q = from; (q = memchr(q, '\n', (size_t)(hit - q))) != NULL; q++)
        s->loc_line++;
    s->loc_pos = s->base + (uint64_t)(hit + n - s->buf);
    return s->loc_line;
}

/* The decimal digits of v (no printf: this is once per question). */
/* The question's item written without a tree. */
static int qa_write(struct squad_ctx *c, struct sq_stream *s, struct lleval_err *err)
{
    struct lleval_ds_builder *b = c->b;
    struct lleval_sb *o = &b->out;
    const char *id = s->text.buf + s->id, *q = s->text.buf + s->question;
    size_t n = 0;
    long line = stream_locate(s, id);
    int rc;

    if (s->impossible != 1) { /* lleval_ds_answer_add(): no blank answers, no repeats */
        if (s->cap_pick < s->n_ans) {
            s->cap_pick = s->n_ans;
            s->pick = lleval_xrealloc(s->pick, s->cap_pick * sizeof(*s->pick));
            s->pick_lens = lleval_xrealloc(s->pick_lens, s->cap_pick * sizeof(*s->pick_lens));
        }
        for (size_t i = 0; i < s->n_ans; i++) {
            const char *a = s->text.buf + s->ans[i];
            size_t alen = strlen(a), k;
            if (lleval_ds_blank(a, alen))
                continue;
            for (k = 0; k < n && strcmp(s->pick[k], a); k++)
                ;
            if (k < n)
                continue;
            s->pick[n] = a;
            s->pick_lens[n++] = alen;
        }
        if (!n) {
            lleval_ds_skip(b, "no_answers");
            return 0;
        }
    }
    /* "path:line (data[..].paragraphs[..].qas[..])", as squad_qa() writes it */
    lleval_sb_reset(&b->where);
    lleval_sb_adds(&b->where, c->path);
    if (line > 0) {
        lleval_sb_addch(&b->where, ':');
        lleval_jw_int(&b->where, line);
    }
    lleval_sb_adds(&b->where, " (data[");
    lleval_jw_int(&b->where, (long long)s->ai);
    lleval_sb_adds(&b->where, "].paragraphs[");
    lleval_jw_int(&b->where, (long long)s->pi);
    lleval_sb_adds(&b->where, "].qas[");
    lleval_jw_int(&b->where, (long long)s->qi);
    lleval_sb_adds(&b->where, "])");
    rc = lleval_ds_claim_id(b, id, b->where.buf, err);
    if (rc)
        return rc;
    /* the members in lleval_ds_item()'s order, then squad_qa()'s */
    lleval_ds_item_head(b, id, q, strlen(q), s->context.buf, str_len(&s->context));
    lleval_sb_add(o, ",\"answers\":", 11);
    lleval_ds_str_list(o, (const char *const *)s->pick, s->pick_lens, n);
    lleval_sb_add(o, ",\"meta\":{\"title\":", 17);
    lleval_jw_strn(o, s->title.buf, str_len(&s->title));
    if (line > 0) {
        lleval_sb_add(o, ",\"line\":", 8);
        lleval_jw_int(o, line);
    }
    lleval_sb_addch(o, '}');
    if (c->v2)
        lleval_sb_adds(o,
                       s->impossible == 1 ? ",\"unanswerable\":true" : ",\"unanswerable\":false");
    lleval_sb_add(o, "}\n", 2);
    return lleval_ds_line_done(b, err);
}

/* One element of qas[]: 1 when read, 0 when the tree path must read the
 * file, negative on an error. */
static int walk_qa(struct squad_ctx *c, struct sq_stream *s, struct lleval_err *err)
{
    uint64_t start;
    bool plain;
    json_error_t jerr;
    json_t *qa;
    int rc;

    if (s->check)
        return step(s, peekc(s) == '{' ? fn_qa_check : fn_skip, NULL);
    c->b->records++;
    if (peekc(s) == '{') {
        start = at(s);
        if (!step(s, fn_qa, NULL))
            return 0;
        plain = s->id != (size_t)-1 && !s->id_bad && s->id_literal && s->text.buf[s->id] &&
                s->question != (size_t)-1 && !s->question_bad &&
                !lleval_ds_blank(s->text.buf + s->question, strlen(s->text.buf + s->question)) &&
                s->impossible != 2 && (s->impossible == 1 || (s->answers && !s->answers_odd));
        if (plain)
            return (rc = qa_write(c, s, err)) ? rc : 1;
    } else {
        start = at(s);
        if (!step(s, fn_skip, NULL))
            return 0;
    }
    /* not plainly valid: jansson reads this question alone and words the error */
    snprintf(c->jpath, sizeof(c->jpath), "data[%zu].paragraphs[%zu].qas[%zu]", s->ai, s->pi, s->qi);
    qa = json_loadb((const char *)s->buf + (size_t)(start - s->base), (size_t)(at(s) - start),
                    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!qa)
        return 0;
    rc = squad_qa(c, qa, s->title.buf, s->context.buf, err);
    json_decref(qa);
    return rc ? rc : 1;
}

/* The elements of a list (its '[' next) through each(): 1, 0 (tree path) or an error. */
static int walk_list(struct squad_ctx *c, struct sq_stream *s, size_t i0, size_t i1,
                     int (*each)(struct squad_ctx *, struct sq_stream *, size_t, size_t, size_t,
                                 struct lleval_err *),
                     struct lleval_err *err)
{
    bool more = true;
    if (!take(s, '['))
        return 0;
    if (take(s, ']'))
        return 1;
    for (size_t i = 0; more; i++) {
        int rc = each(c, s, i0, i1, i, err);
        if (rc <= 0 || s->done)
            return rc;
        if (!member_next(s, ']', &more))
            return 0;
    }
    return 1;
}

static int each_qa(struct squad_ctx *c, struct sq_stream *s, size_t ai, size_t pi, size_t qi,
                   struct lleval_err *err)
{
    int rc;
    s->ai = ai; /* c->jpath is written when a message needs it */
    s->pi = pi;
    s->qi = qi;
    rc = walk_qa(c, s, err);
    if (rc > 0 && !s->check && lleval_ds_full(c->b))
        s->done = true;
    return rc;
}

/* An object of the walked levels: each member through member() (its key in
 * s->key), which returns 1, 0 (tree path) or an error. */
static int walk_object(struct squad_ctx *c, struct sq_stream *s, size_t i0, size_t i1,
                       int (*member)(struct squad_ctx *, struct sq_stream *, size_t, size_t, void *,
                                     struct lleval_err *),
                       void *arg, struct lleval_err *err)
{
    struct keyset ks;
    bool more = true;
    ks.used = 0;
    if (!take(s, '{'))
        return 0;
    if (take(s, '}'))
        return 1;
    while (more) {
        int rc;
        if (!member_key(s, &ks))
            return 0;
        rc = member(c, s, i0, i1, arg, err);
        if (rc <= 0 || s->done)
            return rc;
        if (!member_next(s, '}', &more))
            return 0;
    }
    return 1;
}

struct later {
    bool seen_first, seen_second; /* title / context; paragraphs / qas */
    uint64_t replay;              /* where the list that came first starts, or NO_POS */
};

static int para_member(struct squad_ctx *c, struct sq_stream *s, size_t ai, size_t pi, void *arg,
                       struct lleval_err *err)
{
    struct later *l = arg;
    if (!strcmp(s->key.buf, "context")) {
        l->seen_first = true;
        if (peekc(s) != '"')
            return 0;
        return step(s, s->check ? fn_skip : fn_str, &s->context);
    }
    if (!strcmp(s->key.buf, "qas")) {
        l->seen_second = true;
        if (peekc(s) != '[')
            return 0;
        if (s->check || l->seen_first)
            return walk_list(c, s, ai, pi, each_qa, err);
        l->replay = at(s); /* read once the context is known */
        if (s->pin == NO_POS)
            s->pin = l->replay;
        return step(s, fn_skip_top, NULL);
    }
    return step(s, fn_skip, NULL);
}

/* After an object whose list came before the member its items need: that
 * list walked, then on past the object. */
static int replay(struct squad_ctx *c, struct sq_stream *s, struct later *l, uint64_t pin,
                  size_t i0, size_t i1,
                  int (*each)(struct squad_ctx *, struct sq_stream *, size_t, size_t, size_t,
                              struct lleval_err *),
                  struct lleval_err *err)
{
    uint64_t end = at(s);
    int rc;
    go(s, l->replay);
    s->pin = pin;
    rc = walk_list(c, s, i0, i1, each, err);
    if (rc > 0 && !s->done)
        go(s, end);
    return rc;
}

static int each_para(struct squad_ctx *c, struct sq_stream *s, size_t ai, size_t unused, size_t pi,
                     struct lleval_err *err)
{
    struct later l = {false, false, NO_POS};
    uint64_t pin = s->pin;
    int rc;
    (void)unused;
    lleval_sb_reset(&s->context);
    rc = walk_object(c, s, ai, pi, para_member, &l, err);
    if (rc <= 0 || s->done)
        return rc;
    if (!l.seen_first || !l.seen_second)
        return 0;
    if (l.replay != NO_POS)
        return replay(c, s, &l, pin, ai, pi, each_qa, err);
    return 1;
}

static int article_member(struct squad_ctx *c, struct sq_stream *s, size_t ai, size_t unused,
                          void *arg, struct lleval_err *err)
{
    struct later *l = arg;
    (void)unused;
    if (!strcmp(s->key.buf, "title")) {
        l->seen_first = true;
        if (peekc(s) != '"')
            return 0;
        return step(s, s->check ? fn_skip : fn_str, &s->title);
    }
    if (!strcmp(s->key.buf, "paragraphs")) {
        l->seen_second = true;
        if (peekc(s) != '[')
            return 0;
        if (s->check || l->seen_first)
            return walk_list(c, s, ai, 0, each_para, err);
        l->replay = at(s); /* read once the title is known: it may follow */
        if (s->pin == NO_POS)
            s->pin = l->replay;
        return step(s, fn_skip_top, NULL);
    }
    return step(s, fn_skip, NULL);
}

static int each_article(struct squad_ctx *c, struct sq_stream *s, size_t unused0, size_t unused1,
                        size_t ai, struct lleval_err *err)
{
    struct later l = {false, false, NO_POS};
    uint64_t pin = s->pin;
    int rc;
    (void)unused0;
    (void)unused1;
    lleval_sb_reset(&s->title); /* no title: "" */
    rc = walk_object(c, s, ai, 0, article_member, &l, err);
    if (rc <= 0 || s->done)
        return rc;
    if (!l.seen_second)
        return 0;
    if (l.replay != NO_POS)
        return replay(c, s, &l, pin, ai, 0, each_para, err);
    return 1;
}

static int root_member(struct squad_ctx *c, struct sq_stream *s, size_t u0, size_t u1, void *arg,
                       struct lleval_err *err)
{
    bool *data = arg;
    (void)u0;
    (void)u1;
    if (!strcmp(s->key.buf, "data")) {
        *data = true;
        return walk_list(c, s, 0, 0, each_article, err);
    }
    if (s->check && !strcmp(s->key.buf, "version") && peekc(s) == '"') {
        const char *v;
        if (!step(s, fn_str, &s->text))
            return 0;
        v = s->text.buf; /* as squad_is_v2() */
        if (v[0] == '2' || (v[0] == 'v' && v[1] == '2'))
            s->v2 = true;
        return 1;
    }
    return step(s, fn_skip, NULL);
}

/* One pass over the document: 1 when done, 0 when the tree path must read
 * the file, negative on an error. */
static int walk_doc(struct squad_ctx *c, struct sq_stream *s, struct lleval_err *err)
{
    bool data = false;
    int rc;
    s->base = 0;
    s->len = 0;
    s->eof = s->ioerr = false;
    s->js.p = s->js.end = s->buf;
    s->pin = NO_POS;
    s->loc_pos = 0;
    s->loc_line = 1;
    if (!refill(s, 0))
        return 0;
    if (s->len >= 3 && !memcmp(s->buf, "\xEF\xBB\xBF", 3))
        s->js.p += 3; /* a UTF-8 byte order mark (as the tree path) */
    rc = walk_object(c, s, 0, 0, root_member, &data, err);
    if (rc <= 0 || s->done)
        return rc;
    /* only white space may follow (jansson's "end of file expected") */
    return data && peekc(s) < 0 && !s->ioerr ? 1 : 0;
}

int lleval_ds_import_squad(struct lleval_ds_builder *b, struct lleval_err *err)
{
    struct squad_ctx c;
    struct sq_stream s;
    long size;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    c.b = b;
    c.path = b->ds->path;
    /* a file that cannot be opened, is no regular file or is too large: the
     * tree path says so */
    if (lleval_fopen_read(c.path, &s.f, NULL))
        return lleval_ds_import_squad_tree(b, err);
    if (fseek(s.f, 0, SEEK_END) || (size = ftell(s.f)) < 0 || size == 0 ||
        (unsigned long)size > SQUAD_MAX_BYTES || fseek(s.f, 0, SEEK_SET)) {
        fclose(s.f);
        return lleval_ds_import_squad_tree(b, err);
    }
    s.cap = WIN_START;
    s.buf = lleval_xmalloc(s.cap);
    s.js.out = &s.text;
    s.js.unique = true; /* the tree path parses with JSON_REJECT_DUPLICATES */
    s.depth = 6;        /* as deep as a question is in the document */
    s.check = s.vouch = true;
    lleval_sb_init(&s.text, 0);
    lleval_sb_init(&s.key, 0);
    lleval_sb_init(&s.title, 0);
    lleval_sb_init(&s.context, 0);
    rc = walk_doc(&c, &s, err);
    if (rc > 0 && s.vouch) {
        s.check = false;
        s.locating = true;
        s.js.unique = false; /* pass 1 saw no key twice */
        c.st = &s;
        c.v2 = s.v2;
        rewind(s.f);
        rc = walk_doc(&c, &s, err);
        if (!rc) /* pass 1 read it whole */
            rc = lleval_err_set(err, LLEVAL_EIO,
                                "%s: the file changed or could not be read while it was "
                                "prepared; prepare it again",
                                c.path);
    } else if (rc >= 0) { /* nothing was written yet */
        fclose(s.f);
        s.f = NULL;
        rc = lleval_ds_import_squad_tree(b, err);
        goto out;
    }
    rc = rc < 0 ? rc : 0;
out:
    if (s.f)
        fclose(s.f);
    free(s.buf);
    free(s.ans);
    free(s.pick);
    free(s.pick_lens);
    lleval_sb_release(&s.text);
    lleval_sb_release(&s.key);
    lleval_sb_release(&s.title);
    lleval_sb_release(&s.context);
    return rc;
}
