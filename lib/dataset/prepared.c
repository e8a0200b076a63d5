/*
 * The prepared-file reader: <dataset>.info.json, the items one JSON object at
 * a time (lleval_prepared_open/next) or all at once (lleval_prepared_load),
 * each checked for the fields its type needs, with messages that say to
 * prepare again. The tree-less readers (index.c, item_reader.c) fall back on
 * it for lines their scanner gives up on.
 */
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"

/* Largest line we accept from a prepared file. */
#define MAX_LINE_BYTES (64u * 1024u * 1024u)

/* ---- reading prepared files ----------------------------------------------- */

static int not_prepared(const char *dataset, const char *path, struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "dataset '%s' is not prepared ('%s' does not exist); run `lleval "
                          "prepare --config <file>` first",
                          dataset, path);
}

static int check_dataset_name(const char *dataset, struct lleval_err *err)
{
    if (lleval_dataset_name_valid(dataset))
        return 0;
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "dataset name '%s' is not valid: use letters, digits, '_', '.' and '-'",
                          dataset ? dataset : "");
}

json_t *lleval_prepared_info(const char *prepared_dir, const char *dataset, struct lleval_err *err)
{
    char *path;
    json_t *info;

    if (check_dataset_name(dataset, err))
        return NULL;
    path = lleval_prepared_info_path(prepared_dir, dataset);
    if (!lleval_path_exists(path)) {
        not_prepared(dataset, path, err);
        free(path);
        return NULL;
    }
    info = lleval_json_load_file(path, err);
    if (info && (!json_is_object(info) || !json_is_integer(json_object_get(info, "items")))) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "%s: not a prepared info file (no \"items\" count); run `lleval prepare` "
                       "again",
                       path);
        json_decref(info);
        info = NULL;
    }
    free(path);
    return info;
}

int lleval_prepared_open(struct lleval_prepared_reader *r, const char *prepared_dir,
                         const char *dataset, struct lleval_err *err)
{
    int rc;
    memset(r, 0, sizeof(*r));
    rc = check_dataset_name(dataset, err);
    if (rc)
        return rc;
    r->path = lleval_prepared_path(prepared_dir, dataset);
    if (!lleval_path_exists(r->path)) {
        rc = not_prepared(dataset, r->path, err);
        goto fail;
    }
    rc = lleval_lines_open(&r->lines, r->path, err);
    if (rc)
        goto fail;
    return 0;
fail:
    free(r->path);
    r->path = NULL;
    return rc;
}

static int bad_item(const struct lleval_prepared_reader *r, const char *what,
                    struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: not a prepared item: %s; the file was edited or written by "
                          "another tool: run `lleval prepare` again",
                          r->path, r->lines.lineno, what);
}

static int check_item(const struct lleval_prepared_reader *r, const json_t *item,
                      struct lleval_err *err)
{
    enum lleval_item_type t;
    const char *type = lleval_json_str(item, "type");
    if (!lleval_json_str(item, "id"))
        return bad_item(r, "no string \"id\"", err);
    if (!lleval_json_str(item, "dataset"))
        return bad_item(r, "no string \"dataset\"", err);
    if (!lleval_json_str(item, "question"))
        return bad_item(r, "no string \"question\"", err);
    if (!json_is_array(json_object_get(item, "answers")))
        return bad_item(r, "no \"answers\" array", err);
    if (!type || lleval_item_type_parse(type, &t))
        return bad_item(r, "no valid \"type\"", err);
    if (t == LLEVAL_OPEN_BOOK && !lleval_json_str(item, "context"))
        return bad_item(r, "an open_book item without a string \"context\"", err);
    if (t == LLEVAL_MULTIPLE_CHOICE && !json_is_array(json_object_get(item, "choices")))
        return bad_item(r, "a multiple_choice item without a \"choices\" array", err);
    return 0;
}

int lleval_prepared_next_line(struct lleval_prepared_reader *r, struct lleval_err *err)
{
    int rc;
    for (;;) {
        rc = lleval_lines_next(&r->lines, err);
        if (rc <= 0)
            return rc;
        if (!r->lines.len)
            continue;
        if (r->lines.torn)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: the last line is cut off (an interrupted write); run "
                                  "`lleval prepare` again",
                                  r->path, r->lines.lineno);
        if (r->lines.len > MAX_LINE_BYTES)
            return bad_item(r, "line too long", err);
        return 1;
    }
}

int lleval_prepared_item(struct lleval_prepared_reader *r, json_t **item, struct lleval_err *err)
{
    json_t *j = lleval_ds_parse_line(r->path, r->lines.lineno, r->lines.line, r->lines.len, err);
    int rc;
    *item = NULL;
    if (!j)
        return err ? err->code : LLEVAL_EINVAL;
    rc = check_item(r, j, err);
    if (rc) {
        json_decref(j);
        return rc;
    }
    r->items++;
    *item = j;
    return 1;
}

int lleval_prepared_next(struct lleval_prepared_reader *r, json_t **item, struct lleval_err *err)
{
    int rc = lleval_prepared_next_line(r, err);
    *item = NULL;
    if (rc <= 0)
        return rc;
    return lleval_prepared_item(r, item, err);
}

void lleval_prepared_close(struct lleval_prepared_reader *r)
{
    if (r->path)
        lleval_lines_close(&r->lines);
    free(r->path);
    memset(r, 0, sizeof(*r));
}

json_t *lleval_prepared_load(const char *prepared_dir, const char *dataset, json_t **info_out,
                             struct lleval_err *err)
{
    struct lleval_prepared_reader r;
    json_t *items = NULL, *info = NULL, *item;
    long want;
    int rc;

    if (info_out)
        *info_out = NULL;
    if (lleval_prepared_open(&r, prepared_dir, dataset, err))
        return NULL;
    info = lleval_prepared_info(prepared_dir, dataset, err);
    if (!info)
        goto fail;
    items = json_array();
    while ((rc = lleval_prepared_next(&r, &item, err)) == 1) {
        if (strcmp(lleval_json_str(item, "dataset"), dataset)) {
            lleval_err_set(err, LLEVAL_EINVAL,
                           "%s:%ld: item belongs to dataset '%s', not '%s'; run `lleval "
                           "prepare` again",
                           r.path, r.lines.lineno, lleval_json_str(item, "dataset"), dataset);
            json_decref(item);
            goto fail;
        }
        json_array_append_new(items, item);
    }
    if (rc < 0)
        goto fail;
    want = (long)json_integer_value(json_object_get(info, "items"));
    if (want != (long)json_array_size(items)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "'%s' holds %zu items but its info file says %ld (an interrupted "
                       "prepare?); run `lleval prepare` again",
                       r.path, json_array_size(items), want);
        goto fail;
    }
    lleval_prepared_close(&r);
    if (info_out)
        *info_out = info;
    else
        json_decref(info);
    return items;
fail:
    lleval_prepared_close(&r);
    json_decref(items);
    json_decref(info);
    return NULL;
}

json_t *lleval_prepared_index(const json_t *items)
{
    json_t *index = json_object();
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *id = lleval_json_str(item, "id");
        if (id)
            json_object_set(index, id, item);
    }
    return index;
}
