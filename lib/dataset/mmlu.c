/*
 * MMLU importer: headerless CSV rows `question,A,B,C,D,answer_letter`, one
 * file per subject named <subject>_<split>.csv. The path is a folder (with
 * <split>/ subfolders as in the hendrycks/test release, or the files side by
 * side) or one CSV file. Files are read in byte-wise sorted name order; item
 * ids are <subject>-<split>-<row> with the 1-based row within the file.
 * Each row's item line is written with the JSON writer (issue 13: no tree
 * per item), byte for byte the jansson dump of lleval_ds_item().
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "dataset_int.h"
#include "lleval/util/csv.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"

/* Lists the names in dir that end with suffix (hidden files excluded), sorted. */
static int list_dir(const char *dir, const char *suffix, struct lleval_dir_list *out,
                    struct lleval_err *err)
{
    size_t kept = 0;
    int rc = lleval_list_dir(dir, out, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        if (out->names[i][0] == '.' || !lleval_str_ends_with(out->names[i], suffix))
            free(out->names[i]);
        else
            out->names[kept++] = out->names[i];
    }
    out->n = kept;
    return 0;
}

static bool split_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* "abstract_algebra_test.csv" -> "abstract_algebra" (owned). */
static char *subject_of(const char *file, const char *split)
{
    const char *base = lleval_path_basename(file);
    char *suffix = lleval_xasprintf("_%s.csv", split);
    size_t n;
    char *s;
    n = strlen(base);
    if (lleval_str_ends_with(base, suffix) && n > strlen(suffix))
        n -= strlen(suffix);
    else if (lleval_str_ends_with(base, ".csv") || lleval_str_ends_with(base, ".CSV"))
        n -= 4;
    s = lleval_xstrndup(base, n);
    free(suffix);
    return s;
}

static int mmlu_row(struct lleval_ds_builder *b, struct lleval_csv_reader *r, const char *subject,
                    const char *split, long row, struct lleval_err *err)
{
    static const char *const what[] = {"the question (field 1)", "choice A (field 2)",
                                       "choice B (field 3)",     "choice C (field 4)",
                                       "choice D (field 5)",     "the answer letter (field 6)"};
    const char *ans;
    char letter[2] = {0, 0};
    char *id;
    size_t alen;
    int rc;

    if (r->n_fields != 6)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s:%ld: expected 6 fields (question,A,B,C,D,answer letter), found "
                              "%zu; quote fields that contain commas",
                              r->path, r->line, r->n_fields);
    for (size_t i = 0; i < 6; i++) {
        rc = lleval_ds_check_utf8(r->fields[i], r->path, r->line, what[i], err);
        if (rc)
            return rc;
    }
    if (lleval_ds_blank(r->fields[0], strlen(r->fields[0])))
        return lleval_err_set(err, LLEVAL_EINVAL, "%s:%ld: the question (field 1) is empty",
                              r->path, r->line);
    ans = r->fields[5];
    while (isspace((unsigned char)*ans))
        ans++;
    alen = strlen(ans);
    while (alen && isspace((unsigned char)ans[alen - 1]))
        alen--;
    if (alen != 1 || !strchr("ABCDabcd", ans[0]))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s:%ld: the answer (field 6) must be one of the letters A, B, C, "
                              "D, found '%s'",
                              r->path, r->line, r->fields[5]);
    letter[0] = (char)toupper((unsigned char)ans[0]);

    /* the item's line as the jansson dump of lleval_ds_item() gives it, without the tree */
    lleval_sb_reset(&b->where);
    lleval_sb_addf(&b->where, "%s:%ld", r->path, r->line);
    {
        size_t bad;
        /* a file name that is not UTF-8 (jansson refused to build the item) */
        if (!lleval_utf8_valid(subject, strlen(subject), &bad))
            return lleval_err_set(err, LLEVAL_EINVAL, "%s: cannot build the item (invalid text)",
                                  b->where.buf);
    }
    id = lleval_xasprintf("%s-%s-%ld", subject, split, row);
    rc = lleval_ds_claim_id(b, id, b->where.buf, err);
    if (!rc) {
        struct lleval_sb *o = &b->out;
        lleval_ds_item_head(b, id, r->fields[0], strlen(r->fields[0]), NULL, 0);
        if (b->type == LLEVAL_MULTIPLE_CHOICE) {
            lleval_sb_add(o, ",\"choices\":[", 12);
            for (size_t i = 1; i <= 4; i++) {
                if (i > 1)
                    lleval_sb_addch(o, ',');
                lleval_jw_str(o, r->fields[i]);
            }
            lleval_sb_addch(o, ']');
        }
        lleval_sb_add(o, ",\"answers\":[", 12);
        lleval_jw_str(o, letter);
        lleval_sb_adds(o, "],\"meta\":{\"subject\":");
        lleval_jw_str(o, subject);
        lleval_sb_adds(o, ",\"split\":");
        lleval_jw_str(o, split);
        lleval_sb_adds(o, ",\"line\":");
        lleval_jw_int(o, r->line);
        lleval_sb_add(o, "}}\n", 3);
        rc = lleval_ds_line_done(b, err);
    }
    free(id);
    return rc;
}

static int mmlu_file(struct lleval_ds_builder *b, const char *path, const char *split,
                     struct lleval_err *err)
{
    struct lleval_csv_reader r;
    char *subject = subject_of(path, split);
    long row = 0;
    int rc;

    rc = lleval_csv_open(&r, path, err);
    if (rc)
        goto out;
    while (!lleval_ds_full(b) && (rc = lleval_csv_next(&r, err)) == 1) {
        if (lleval_csv_blank(&r))
            continue;
        b->records++;
        row++;
        rc = mmlu_row(b, &r, subject, split, row, err);
        if (rc)
            break;
    }
    if (rc > 0)
        rc = 0;
out:
    lleval_csv_close(&r);
    free(subject);
    return rc;
}

int lleval_ds_import_mmlu(struct lleval_ds_builder *b, struct lleval_err *err)
{
    const char *path = b->ds->path;
    const char *split = b->ds->split && *b->ds->split ? b->ds->split : NULL;
    struct lleval_dir_list files = {NULL, 0};
    char *dir = NULL;
    int rc = 0;

    if (split && !split_valid(split))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': split '%s' is not valid; use test, val or dev",
                              b->ds->name, split);
    if (!lleval_path_exists(path))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "dataset '%s': '%s' does not exist; set 'path' to the MMLU folder "
                              "(with test/, val/, dev/) or to one CSV file",
                              b->ds->name, path);
    if (!lleval_is_dir(path)) {
        /* One file: a name like anatomy_val.csv says its split (the config's
         * split has a default, so the name wins); else the config's, else test. */
        static const char *const known[] = {"test", "val", "dev"};
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(known); i++) {
            char *suffix = lleval_xasprintf("_%s.csv", known[i]);
            bool hit = lleval_str_ends_with(path, suffix);
            free(suffix);
            if (hit) {
                split = known[i];
                break;
            }
        }
        if (!split)
            split = "test";
        b->split = lleval_xstrdup(split);
        return mmlu_file(b, path, split, err);
    }

    if (!split)
        split = "test";
    b->split = lleval_xstrdup(split);
    dir = lleval_path_join(path, split);
    if (lleval_is_dir(dir)) {
        rc = list_dir(dir, ".csv", &files, err);
    } else {
        char *suffix = lleval_xasprintf("_%s.csv", split);
        free(dir);
        dir = lleval_xstrdup(path);
        rc = list_dir(dir, suffix, &files, err);
        free(suffix);
    }
    if (rc)
        goto out;
    if (!files.n) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "dataset '%s': no MMLU files for split '%s' (looked for %s/%s/*.csv "
                            "and %s/*_%s.csv); check 'path' and 'split'",
                            b->ds->name, split, path, split, path, split);
        goto out;
    }
    for (size_t i = 0; i < files.n && !rc && !lleval_ds_full(b); i++) {
        char *file = lleval_path_join(dir, files.names[i]);
        rc = mmlu_file(b, file, split, err);
        free(file);
    }
out:
    lleval_dir_list_release(&files);
    free(dir);
    return rc;
}
