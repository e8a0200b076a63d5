/*
 * libFuzzer target for a dataset importer, built once per format with
 * -DFUZZ_FORMAT_NAME=squad (nq_open, mmlu, jsonl, csv; see tests/fuzz/run.sh). The input is the raw
 * dataset file; it goes through the public entry point, lleval_dataset_prepare(), into a scratch
 * prepared directory. The generic formats (jsonl, csv) need a type: an input that starts with a
 * line "open_book" or "multiple_choice" gets that one (the line is not part of the file), any other
 * closed_book. What a prepare writes must load again (lleval_prepared_load and the streaming
 * reader, item for item); every item and the stats are walked.
 */
#include <jansson.h>
#include "fuzz_common.h"
#include "lleval/dataset/dataset.h"

#ifndef FUZZ_FORMAT_NAME
#define FUZZ_FORMAT_NAME jsonl
#endif
#define FUZZ_STR2(x) #x
#define FUZZ_STR(x)  FUZZ_STR2(x)
#define FUZZ_FORMAT  FUZZ_STR(FUZZ_FORMAT_NAME)

static char prepared[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_path(prepared, sizeof(prepared), "prepared");
    return 0;
}

static void walk_json(const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_STRING:
        fuzz_use(json_string_value(j));
        break;
    case JSON_ARRAY:
        json_array_foreach(j, i, v) walk_json(v);
        break;
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, key, v)
        {
            fuzz_use(key);
            walk_json(v);
        }
        break;
    default:
        break;
    }
}

/* The prepared files must read back: all at once and one at a time. */
static void load_back(long items)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_prepared_reader r;
    json_t *info = NULL, *item, *index;
    json_t *all = lleval_prepared_load(prepared, "fuzz", &info, &err);
    long n = 0;
    int rc;

    FUZZ_CHECK(all != NULL, "a prepared dataset does not load: %s", err.msg);
    FUZZ_CHECK((long)json_array_size(all) == items, "prepare wrote %ld items, load read %zu", items,
               json_array_size(all));
    walk_json(all);
    walk_json(info);
    index = lleval_prepared_index(all);
    FUZZ_CHECK(json_object_size(index) == json_array_size(all), "item ids are not unique");
    json_decref(index);
    rc = lleval_prepared_open(&r, prepared, "fuzz", &err);
    FUZZ_CHECK(rc == 0, "the prepared file does not open: %s", err.msg);
    while ((rc = lleval_prepared_next(&r, &item, &err)) == 1) {
        FUZZ_CHECK(json_equal(item, json_array_get(all, (size_t)n)), "item %ld differs", n);
        json_decref(item);
        n++;
    }
    FUZZ_CHECK(rc == 0 && n == items, "the streaming reader read %ld of %ld items: %s", n, items,
               err.msg);
    lleval_prepared_close(&r);
    json_decref(all);
    json_decref(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lleval_dataset_cfg ds;
    struct lleval_prepare_stats st;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char path[300];
    json_t *stats;

    /* mmlu names the subject after the file: <subject>_<split>.csv */
    fuzz_path(path, sizeof(path), "fuzz_test." FUZZ_FORMAT);
    if (!strcmp(FUZZ_FORMAT, "mmlu") || !strcmp(FUZZ_FORMAT, "csv"))
        fuzz_path(path, sizeof(path), "fuzz_test.csv");
    memset(&ds, 0, sizeof(ds));
    if (!strcmp(FUZZ_FORMAT, "jsonl") || !strcmp(FUZZ_FORMAT, "csv")) {
        static const char *const types[] = {"closed_book\n", "open_book\n", "multiple_choice\n"};
        ds.has_type = true;
        ds.type = LLEVAL_CLOSED_BOOK;
        for (int t = 0; t < 3; t++) {
            size_t n = strlen(types[t]);
            if (size >= n && !memcmp(data, types[t], n)) {
                ds.type = (enum lleval_item_type)t;
                data += n;
                size -= n;
            }
        }
    }
    fuzz_write(path, data, size);
    ds.name = "fuzz";
    ds.format = FUZZ_FORMAT;
    ds.path = path;
    ds.csv_header = true;
    lleval_prepare_stats_init(&st);
    if (!lleval_dataset_prepare(&ds, prepared, 0, &st, &err)) {
        stats = lleval_prepare_stats_json(&st);
        walk_json(stats);
        json_decref(stats);
        load_back(st.items);
    }
    fuzz_use(err.msg);
    lleval_prepare_stats_release(&st);
    return 0;
}
