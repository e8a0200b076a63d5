/*
 * The `datasets` list: each entry's keys (name, format, path, split, type,
 * scoring, fields, header) checked against its format, with the origin of
 * every value recorded as datasets[i].key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

static const char *const mmlu_splits[] = {"test", "val", "dev"};

/* A valid name made from s, for suggestions ("nq open" -> "nq_open"). Owned. */
static char *sanitize_name(const char *s)
{
    char *out = lleval_xstrdup(*s ? s : "dataset");
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            *p = '_';
    return out;
}

static void free_dataset(struct lleval_dataset_cfg *d)
{
    free(d->name);
    free(d->format);
    free(d->path);
    free(d->split);
    free(d->scoring);
    free(d->field_id);
    free(d->field_question);
    free(d->field_context);
    free(d->field_answers);
    free(d->field_choices);
}

void lleval_cfg_free_datasets(struct lleval_dataset_cfg *ds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_dataset(&ds[i]);
    free(ds);
}

enum { DS_NAME, DS_FORMAT, DS_PATH, DS_SPLIT, DS_TYPE, DS_SCORING, DS_FIELDS, DS_HEADER, DS_N };
static const char *const dataset_keys[DS_N] = {"name", "format",  "path",   "split",
                                               "type", "scoring", "fields", "header"};

static char **field_slot(struct lleval_dataset_cfg *d, size_t i)
{
    char **slots[] = {&d->field_id, &d->field_question, &d->field_context, &d->field_answers,
                      &d->field_choices};
    return slots[i];
}

/* "datasets[i].key" in buf. */
static const char *dkey(char *buf, size_t size, size_t i, const char *key)
{
    snprintf(buf, size, "datasets[%zu].%s", i, key);
    return buf;
}

static int load_dataset(const struct lleval_cfg_src *s, yaml_node_t *item, size_t i,
                        struct lleval_dataset_cfg *ds)
{
    struct lleval_dataset_cfg *d = &ds[i];
    yaml_node_t *nodes[DS_N] = {0};
    char path[64], kp[96], hint[128], list[256];
    int rc = 0;

    snprintf(path, sizeof(path), "datasets[%zu]", i);
    if (item->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(
            s, item,
            "'%s' must be a mapping with name, format and path (e.g. '- name: nq_open'), "
            "not %s",
            path, lleval_cfg_kind_of(item));
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const char *name;
        const char *known;
        char *okey, *where;
        size_t j;
        rc = lleval_cfg_pair_key(s, item, p, path, &name);
        if (rc)
            return rc;
        known = lleval_cfg_one_of(name, dataset_keys, DS_N);
        if (!known)
            return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                   "unknown key '%s.%s'%s; dataset keys: %s", path, name,
                                   lleval_cfg_dym_mid(hint, sizeof(hint), name, dataset_keys, DS_N),
                                   "name, format, path, split, type, scoring, fields, header");
        for (j = 0; j < DS_N && dataset_keys[j] != known; j++)
            ;
        nodes[j] = lleval_cfg_node(s, p->value);
        okey = lleval_xasprintf("%s.%s", path, name);
        where = lleval_cfg_where(s, nodes[j]);
        lleval_cfg_set_extra_origin(s->cfg, okey, s->from, where);
        free(okey);
        free(where);
    }

    if (!nodes[DS_NAME])
        return lleval_cfg_fail(
            s, item,
            "'%s' has no 'name'; add e.g. 'name: nq_open' (letters, digits, '_', '.', "
            "'-')",
            path);
    if ((rc = lleval_cfg_get_string(s, nodes[DS_NAME], dkey(kp, sizeof(kp), i, "name"), false,
                                    &d->name)))
        return rc;
    if (!lleval_cfg_valid_name(d->name)) {
        char *better = sanitize_name(d->name);
        rc = lleval_cfg_fail(
            s, nodes[DS_NAME],
            "dataset name '%.60s' may only contain letters, digits, '_', '.' and '-'; "
            "rename it, e.g. '%.60s'",
            d->name, better);
        free(better);
        return rc;
    }
    for (size_t j = 0; j < i; j++) {
        if (!strcmp(ds[j].name, d->name)) {
            char *okey = lleval_xasprintf("datasets[%zu].name", j);
            char *first = lleval_config_origin(s->cfg, okey);
            rc = lleval_cfg_fail(
                s, nodes[DS_NAME],
                "duplicate dataset name '%s' (first at %s); give each dataset its own name",
                d->name, first);
            free(okey);
            free(first);
            return rc;
        }
    }
    if (!nodes[DS_FORMAT])
        return lleval_cfg_fail(s, item,
                               "dataset '%s' has no 'format'; add one of squad, nq_open, mmlu, "
                               "jsonl, csv",
                               d->name);
    if ((rc = lleval_cfg_get_choice(s, nodes[DS_FORMAT], dkey(kp, sizeof(kp), i, "format"),
                                    lleval_cfg_dataset_formats, LLEVAL_CFG_N_FORMATS, &d->format)))
        return rc;
    if (!nodes[DS_PATH])
        return lleval_cfg_fail(s, item,
                               "dataset '%s' has no 'path'; add the file or folder to read, e.g. "
                               "'path: ../shared/datasets/nq_open/NQ-open.dev.jsonl'",
                               d->name);
    if ((rc = lleval_cfg_get_string(s, nodes[DS_PATH], dkey(kp, sizeof(kp), i, "path"), false,
                                    &d->path)))
        return rc;
    if (!*d->path)
        return lleval_cfg_fail(s, nodes[DS_PATH],
                               "dataset '%s' has an empty 'path'; give the file to read", d->name);

    if (nodes[DS_SPLIT]) {
        if (strcmp(d->format, "mmlu"))
            return lleval_cfg_fail(
                s, nodes[DS_SPLIT],
                "'split' only applies to mmlu datasets, and '%s' is %s; remove it", d->name,
                d->format);
        if ((rc = lleval_cfg_get_choice(s, nodes[DS_SPLIT], dkey(kp, sizeof(kp), i, "split"),
                                        mmlu_splits, LLEVAL_ARRAY_SIZE(mmlu_splits), &d->split)))
            return rc;
    } else if (!strcmp(d->format, "mmlu")) {
        d->split = lleval_xstrdup("test");
    }
    if (nodes[DS_TYPE]) {
        char *t = NULL;
        if ((rc = lleval_cfg_get_string(s, nodes[DS_TYPE], dkey(kp, sizeof(kp), i, "type"), false,
                                        &t)))
            return rc;
        if (lleval_item_type_parse(t, &d->type)) {
            lleval_cfg_join_names(list, sizeof(list), lleval_cfg_item_type_names,
                                  LLEVAL_N_ITEM_TYPES);
            rc =
                lleval_cfg_fail(s, nodes[DS_TYPE],
                                "unknown item type '%.60s' for dataset '%s'%s; use %s", t, d->name,
                                lleval_cfg_dym_mid(hint, sizeof(hint), t,
                                                   lleval_cfg_item_type_names, LLEVAL_N_ITEM_TYPES),
                                list);
            free(t);
            return rc;
        }
        free(t);
        d->has_type = true;
    }
    if (nodes[DS_SCORING] && !lleval_cfg_is_null(nodes[DS_SCORING]) &&
        (rc = lleval_cfg_get_choice(s, nodes[DS_SCORING], dkey(kp, sizeof(kp), i, "scoring"),
                                    lleval_cfg_dataset_scorings, LLEVAL_CFG_N_SCORINGS,
                                    &d->scoring)))
        return rc;
    if (nodes[DS_FIELDS] && !lleval_cfg_is_null(nodes[DS_FIELDS])) {
        yaml_node_t *f = nodes[DS_FIELDS];
        if (strcmp(d->format, "jsonl") && strcmp(d->format, "csv"))
            return lleval_cfg_fail(
                s, f,
                "'fields' only applies to jsonl and csv datasets, and '%s' is %s; "
                "remove it",
                d->name, d->format);
        if (f->type != YAML_MAPPING_NODE)
            return lleval_cfg_fail(s, f,
                                   "'fields' of dataset '%s' must be a mapping like '{question: q, "
                                   "answers: a}', not %s",
                                   d->name, lleval_cfg_kind_of(f));
        for (yaml_node_pair_t *p = f->data.mapping.pairs.start; p < f->data.mapping.pairs.top;
             p++) {
            const char *name;
            size_t j;
            char fpath[96];
            snprintf(fpath, sizeof(fpath), "%s.fields", path);
            if ((rc = lleval_cfg_pair_key(s, f, p, fpath, &name)))
                return rc;
            for (j = 0; j < LLEVAL_CFG_N_FIELDS && strcmp(lleval_cfg_field_keys[j], name); j++)
                ;
            if (j == LLEVAL_CFG_N_FIELDS)
                return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                       "unknown key '%s.%s'%s; fields: id, question, "
                                       "context, answers, choices",
                                       fpath, name,
                                       lleval_cfg_dym_mid(hint, sizeof(hint), name,
                                                          lleval_cfg_field_keys,
                                                          LLEVAL_CFG_N_FIELDS));
            if ((rc = lleval_cfg_get_string(s, lleval_cfg_node(s, p->value),
                                            dkey(kp, sizeof(kp), i, "fields"), false,
                                            field_slot(d, j))))
                return rc;
        }
    }
    if (nodes[DS_HEADER]) {
        if (strcmp(d->format, "csv"))
            return lleval_cfg_fail(
                s, nodes[DS_HEADER],
                "'header' only applies to csv datasets, and '%s' is %s; remove it", d->name,
                d->format);
        if ((rc = lleval_cfg_get_bool(s, nodes[DS_HEADER], dkey(kp, sizeof(kp), i, "header"),
                                      &d->csv_header)))
            return rc;
    }
    return 0;
}

int lleval_cfg_load_datasets(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_dataset_cfg *ds = NULL;
    size_t nd = 0;
    int rc = 0;

    if (!lleval_cfg_is_null(n) && n->type != YAML_SEQUENCE_NODE)
        return lleval_cfg_fail(s, n,
                               "'datasets' must be a list of datasets ('- name: ...'), not %s",
                               lleval_cfg_kind_of(n));
    lleval_cfg_clear_extra_origins(s->cfg, "datasets");
    if (!lleval_cfg_is_null(n)) {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        ds = lleval_xcalloc(total ? total : 1, sizeof(*ds));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            ds[nd].csv_header = true;
            rc = load_dataset(s, lleval_cfg_node(s, *it), nd, ds);
            nd++;
        }
    }
    if (rc) {
        lleval_cfg_free_datasets(ds, nd);
        return rc;
    }
    lleval_cfg_free_datasets(s->cfg->datasets, s->cfg->n_datasets);
    s->cfg->datasets = ds;
    s->cfg->n_datasets = nd;
    return 0;
}
