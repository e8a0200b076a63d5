/*
 * NQ-open importer: JSONL lines {"question": str, "answer": [str, ...]}.
 * Item ids are "nq-" + the 1-based line number, zero-padded to 5 digits
 * (nq-00001), so they stay stable when lines are skipped. A question whose
 * answer list is empty (after dropping blank answers) is skipped and counted
 * as "no_answers"; blank lines are ignored.
 */
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"

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
    int rc;

    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    while (!lleval_ds_full(b) && (rc = lleval_lines_next(&lr, err)) == 1) {
        json_t *obj;
        if (lleval_ds_blank(lr.line, lr.len))
            continue;
        b->records++;
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
    return rc < 0 ? rc : 0;
}
