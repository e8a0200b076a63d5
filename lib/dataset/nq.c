/*
 * NQ-open importer: JSONL lines {"question": str, "answer": [str, ...]}.
 * Item ids are "nq-" + the 1-based line number, zero-padded to 5 digits
 * (nq-00001), so they stay stable when lines are skipped. A question whose
 * answer list is empty (after dropping blank answers) is skipped and counted
 * as "no_answers"; blank lines are ignored.
 *
 * A line is read with the one-pass scanner and its item written with the
 * JSON writer (issue 13); any line that is not a plainly valid record (the
 * scanner gives up, a field is missing or of another type, the question is
 * blank) goes through jansson as before, which words the error.
 */
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/platform/fs.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"

/* The fast path's scan of one line: offsets into the scratch buffer. */
struct nq_scan {
    struct lleval_jscan js; /* first: the member callback gets &sc.js */
    size_t question;        /* (size_t)-1 until met */
    bool has_answer;
    size_t *ans; /* each answer's offset */
    size_t n_ans, cap_ans;
};

static bool nq_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct nq_scan *sc = (struct nq_scan *)j;
    (void)seen; /* the scan rejects every repeated key (unique) */
    if (LLEVAL_JSCAN_KEY_IS(key, "question")) {
        sc->question = j->out->len;
        return lleval_jscan_str(j, j->out);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "answer")) {
        sc->has_answer = true;
        if (!lleval_jscan_eat(j, '['))
            return false;
        if (lleval_jscan_eat(j, ']'))
            return true;
        do {
            LLEVAL_GROW(sc->ans, sc->n_ans, sc->cap_ans);
            sc->ans[sc->n_ans++] = j->out->len;
            if (!lleval_jscan_str(j, j->out))
                return false;
        } while (lleval_jscan_eat(j, ','));
        return lleval_jscan_eat(j, ']');
    }
    return lleval_jscan_skip(j, depth);
}

/* One line the fast way: 1 when it was handled (an item written or a skip
 * counted), 0 when the jansson path must read it, negative on an error. */
static int nq_fast(struct lleval_ds_builder *b, struct nq_scan *sc, struct lleval_sb *text,
                   const char *path, long line, const char *s, size_t len, struct lleval_err *err)
{
    const char *ans[64];
    size_t lens[64], n = 0, qlen;
    const char *q;
    char id[32];

    sc->js.p = (const unsigned char *)s;
    sc->js.end = (const unsigned char *)s + len;
    sc->js.out = text;
    sc->js.unique = true; /* lines are parsed with JSON_REJECT_DUPLICATES */
    sc->question = (size_t)-1;
    sc->has_answer = false;
    sc->n_ans = 0;
    lleval_sb_reset(text);
    if (!lleval_jscan_peek(&sc->js, '{') || !lleval_jscan_object(&sc->js, 0, nq_member) ||
        !lleval_jscan_end(&sc->js) || sc->question == (size_t)-1 || !sc->has_answer ||
        sc->n_ans > 64)
        return 0;
    q = text->buf + sc->question;
    qlen = strlen(q);
    if (lleval_ds_blank(q, qlen))
        return 0;
    /* lleval_ds_answer_add(): no blank answers, no repeats, in order */
    for (size_t i = 0; i < sc->n_ans; i++) {
        const char *a = text->buf + sc->ans[i];
        size_t alen = strlen(a), k;
        if (lleval_ds_blank(a, alen))
            continue;
        for (k = 0; k < n && strcmp(ans[k], a); k++)
            ;
        if (k < n)
            continue;
        ans[n] = a;
        lens[n++] = alen;
    }
    if (!n) {
        lleval_ds_skip(b, "no_answers");
        return 1;
    }
    snprintf(id, sizeof(id), "nq-%05ld", line);
    lleval_sb_reset(&b->where);
    lleval_sb_addf(&b->where, "%s:%ld", path, line);
    int rc = lleval_ds_write_item(b, id, q, qlen, NULL, 0, NULL, NULL, 0, ans, lens, n, line,
                                  b->where.buf, err);
    return rc ? rc : 1;
}

static int nq_line(struct lleval_ds_builder *b, const char *path, long line, const json_t *obj,
                   struct lleval_err *err)
{
    const json_t *q = json_object_get(obj, "question");
    const json_t *a = json_object_get(obj, "answer");
    json_t *answers, *meta, *v;
    char id[32], *where;
    size_t i;
    int rc;

    if (!json_is_string(q))
        return lleval_ds_field_error(path, line, "question", q, "a string", NULL, err);
    if (lleval_ds_blank(json_string_value(q), json_string_length(q)))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: field 'question' is empty", path, line);
    if (!json_is_array(a))
        return lleval_ds_field_error(path, line, "answer", a, "a list of strings", NULL, err);
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: field 'answer' must be a list of strings, but element "
                                  "%zu is a %s",
                                  path, line, i + 1, lleval_ds_json_type(v));
    }
    answers = json_array();
    json_array_foreach(a, i, v)
    {
        lleval_ds_answer_add(answers, json_string_value(v));
    }
    if (!json_array_size(answers)) {
        json_decref(answers);
        lleval_ds_skip(b, "no_answers");
        return 0;
    }
    snprintf(id, sizeof(id), "nq-%05ld", line);
    meta = json_pack("{s:I}", "line", (json_int_t)line);
    where = lleval_xasprintf("%s:%ld", path, line);
    rc = lleval_ds_add(b, lleval_ds_item(b, id, json_string_value(q), NULL, NULL, answers, meta),
                       where, err);
    free(where);
    return rc;
}

int lleval_ds_import_nq(struct lleval_ds_builder *b, struct lleval_err *err)
{
    const char *path = b->ds->path;
    struct lleval_lines lr;
    struct nq_scan sc;
    struct lleval_sb text = LLEVAL_SB_INIT;
    int rc;

    memset(&sc, 0, sizeof(sc));
    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    while (!lleval_ds_full(b) && (rc = lleval_lines_next(&lr, err)) == 1) {
        json_t *obj;
        int fast;
        if (lleval_ds_blank(lr.line, lr.len))
            continue;
        b->records++;
        fast = nq_fast(b, &sc, &text, path, lr.lineno, lr.line, lr.len, err);
        if (fast < 0) {
            rc = fast;
            break;
        }
        if (fast)
            continue;
        obj = lleval_ds_parse_line(path, lr.lineno, lr.line, lr.len, err);
        if (!obj) {
            rc = err ? err->code : LLEVAL_EINVAL;
            break;
        }
        rc = nq_line(b, path, lr.lineno, obj, err);
        json_decref(obj);
        if (rc)
            break;
    }
    lleval_lines_close(&lr);
    lleval_sb_release(&text);
    free(sc.ans);
    return rc < 0 ? rc : 0;
}
