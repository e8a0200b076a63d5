/*
 * The prepared file as it is written (issue 13): item lines go to a buffer
 * that is handed to the file's temp file as it fills, so a prepare holds one
 * block of lines and the ids, not the whole file; ids are checked for
 * uniqueness in an arena of "id\0where\0" records with a hash index
 * (lleval_idset), where "where" is kept without the dataset's path when it
 * starts with it. lleval_ds_write_item() writes an item line with the JSON
 * writer, byte for byte what the jansson dump of lleval_ds_item() gives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"

/* Lines are handed to the temp file in blocks of this size. */
#define FLUSH_BYTES (256u * 1024u)

/* Writes the buffered lines to the temp file, creating it (and the
 * prepared_dir) first. */
int lleval_ds_flush(struct lleval_ds_builder *b, struct lleval_err *err)
{
    int rc = 0;
    if (!b->af.tmp) {
        rc = lleval_mkdirs(b->prepared_dir, err);
        if (!rc)
            rc = lleval_atomic_open(&b->af, b->out_path, err);
        if (rc)
            return rc;
    }
    rc = lleval_atomic_write(&b->af, b->out.buf, b->out.len, err);
    lleval_sb_reset(&b->out);
    return rc;
}

/* Records id as met at where; fails on an id met before, naming both places. */
int lleval_ds_claim_id(struct lleval_ds_builder *b, const char *id, const char *where,
                       struct lleval_err *err)
{
    const char *path = b->ds->path;
    size_t plen = strlen(path), at;
    uint64_t h = lleval_idset_hash(id);
    uint32_t v;

    for (size_t pos = 0; lleval_idset_next(&b->ids, h, &pos, &v);) {
        const char *seen = b->seen.buf + v;
        if (strcmp(seen, id))
            continue;
        seen += strlen(seen) + 1;
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: duplicate id '%s' (first used at %s%s); ids must be unique "
                              "within a dataset: fix the source or map fields.id to a unique "
                              "field",
                              where, id, *seen == '\1' ? path : "", seen + (*seen == '\1'));
    }
    at = b->seen.len;
    if (at > UINT32_MAX - 1)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: too many items to check their ids (over 4 GiB of ids); split "
                              "the dataset",
                              where);
    lleval_sb_add(&b->seen, id, strlen(id) + 1);
    if (!strncmp(where, path, plen)) {
        lleval_sb_addch(&b->seen, '\1'); /* "the dataset's path" */
        where += plen;
    }
    lleval_sb_add(&b->seen, where, strlen(where) + 1);
    lleval_idset_add(&b->ids, h, (uint32_t)at);
    return 0;
}

/* The line of an item is in b->out: counted, and written out when the buffer is full. */
int lleval_ds_line_done(struct lleval_ds_builder *b, struct lleval_err *err)
{
    b->items++;
    return b->out.len >= FLUSH_BYTES ? lleval_ds_flush(b, err) : 0;
}

int lleval_ds_add(struct lleval_ds_builder *b, json_t *item, const char *where,
                  struct lleval_err *err)
{
    const char *id = lleval_json_str(item, "id");
    size_t mark = b->out.len;
    int rc = 0;

    if (!id || !json_is_string(json_object_get(item, "question"))) {
        /* json_string() returns NULL for invalid UTF-8: importers check first. */
        rc = lleval_err_set(err, LLEVAL_EINVAL, "%s: cannot build the item (invalid text)", where);
        goto out;
    }
    rc = lleval_ds_claim_id(b, id, where, err);
    if (rc)
        goto out;
    if (lleval_json_dump_sb(item, &b->out)) {
        lleval_sb_setlen(&b->out, mark);
        rc = lleval_err_set(err, LLEVAL_EINVAL, "%s: cannot serialize item '%s'", where, id);
        goto out;
    }
    lleval_sb_addch(&b->out, '\n');
    rc = lleval_ds_line_done(b, err);
out:
    json_decref(item);
    return rc;
}

void lleval_ds_str_list(struct lleval_sb *sb, const char *const *s, const size_t *lens, size_t n)
{
    lleval_sb_addch(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            lleval_sb_addch(sb, ',');
        lleval_jw_strn(sb, s[i], lens[i]);
    }
    lleval_sb_addch(sb, ']');
}

void lleval_ds_item_head(struct lleval_ds_builder *b, const char *id, const char *question,
                         size_t question_len, const char *context, size_t context_len)
{
    struct lleval_sb *o = &b->out;
    /* the members in lleval_ds_item()'s order */
    lleval_sb_add(o, "{\"id\":", 6);
    lleval_jw_str(o, id);
    lleval_sb_add(o, ",\"dataset\":", 11);
    lleval_jw_str(o, b->ds->name);
    lleval_sb_add(o, ",\"type\":", 8);
    lleval_jw_str(o, lleval_item_type_name(b->type));
    lleval_sb_add(o, ",\"question\":", 12);
    lleval_jw_strn(o, question, question_len);
    if (b->type == LLEVAL_OPEN_BOOK) {
        lleval_sb_add(o, ",\"context\":", 11);
        lleval_jw_strn(o, context ? context : "", context ? context_len : 0);
    }
}

int lleval_ds_write_item(struct lleval_ds_builder *b, const char *id, const char *question,
                         size_t question_len, const char *context, size_t context_len,
                         const char *const *choices, const size_t *choice_lens, size_t m,
                         const char *const *answers, const size_t *answer_lens, size_t n, long line,
                         const char *where, struct lleval_err *err)
{
    struct lleval_sb *o = &b->out;
    int rc = lleval_ds_claim_id(b, id, where, err);
    if (rc)
        return rc;
    lleval_ds_item_head(b, id, question, question_len, context, context_len);
    if (b->type == LLEVAL_MULTIPLE_CHOICE) {
        lleval_sb_add(o, ",\"choices\":", 11);
        lleval_ds_str_list(o, choices, choice_lens, m);
    }
    lleval_sb_add(o, ",\"answers\":", 11);
    lleval_ds_str_list(o, answers, answer_lens, n);
    lleval_sb_add(o, ",\"meta\":{\"line\":", 16);
    lleval_jw_int(o, line);
    lleval_sb_add(o, "}}\n", 3);
    return lleval_ds_line_done(b, err);
}
