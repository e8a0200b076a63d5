/*
 * Prompt sets: the built-in ones (default, operational_only, all, made of the
 * prompt types direct and operational), lookups by name, and the
 * `prompt_sets` mapping of a config, whose missing templates are filled from
 * the built-in prompt type of the same name (else direct); and the sentence
 * that tells SQuAD 2.0 open-book prompts how to abstain.
 */
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

struct builtin_type {
    const char *name;
    const char *system[LLEVAL_N_ITEM_TYPES];
    const char *user[LLEVAL_N_ITEM_TYPES];
};

static const struct builtin_type builtin_types[] = {
    {"direct",
     {"You are a knowledgeable assistant. Answer the question accurately and concisely.",
      "You are a careful reader. Answer the question using only the passage, with the shortest "
      "span of the passage that answers it.",
      "You are a knowledgeable assistant. Choose the single best answer to the multiple-choice "
      "question."},
     {"Question: {question}\nAnswer:", "Passage:\n{context}\n\nQuestion: {question}\nAnswer:",
      "Question: {question}\n\n{choices}\n\nAnswer with one letter ({choice_letters}).\n"
      "Answer:"}},
    {"operational",
     {"Reply with the answer only, no explanation. Use as few words as possible and do not "
      "repeat the question.",
      "Reply with the answer only, no explanation: copy the shortest span of the passage that "
      "answers the question.",
      "Reply with the letter of the correct option only ({choice_letters}), no explanation."},
     {"Question: {question}\nAnswer:", "Passage:\n{context}\n\nQuestion: {question}\nAnswer:",
      "Question: {question}\n\n{choices}\n\nAnswer:"}},
};

struct builtin_set {
    const char *name;
    const char *types[3];
};

static const struct builtin_set builtin_sets[] = {
    {"default", {"direct", NULL, NULL}},
    {"operational_only", {"operational", NULL, NULL}},
    {"all", {"direct", "operational", NULL}},
};

/* The built-in prompt type a user type borrows missing templates from. */
static const struct builtin_type *builtin_fallback(const char *type_name)
{
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(builtin_types); i++)
        if (!strcmp(builtin_types[i].name, type_name))
            return &builtin_types[i];
    return &builtin_types[0];
}

static void fill_prompt_type(struct lleval_prompt_type *t, const struct builtin_type *b)
{
    for (int i = 0; i < LLEVAL_N_ITEM_TYPES; i++) {
        if (!t->system[i])
            t->system[i] = lleval_xstrdup(b->system[i]);
        if (!t->user[i])
            t->user[i] = lleval_xstrdup(b->user[i]);
    }
}

static void free_prompt_type(struct lleval_prompt_type *t)
{
    free(t->name);
    for (int i = 0; i < LLEVAL_N_ITEM_TYPES; i++) {
        free(t->system[i]);
        free(t->user[i]);
    }
}

void lleval_cfg_free_prompt_set(struct lleval_prompt_set *s)
{
    for (size_t i = 0; i < s->n_types; i++)
        free_prompt_type(&s->types[i]);
    free(s->types);
    free(s->name);
}

void lleval_cfg_add_builtin_prompt_sets(struct lleval_config *cfg)
{
    size_t n = LLEVAL_ARRAY_SIZE(builtin_sets);
    cfg->prompt_sets = lleval_xcalloc(n, sizeof(*cfg->prompt_sets));
    cfg->n_prompt_sets = n;
    for (size_t i = 0; i < n; i++) {
        struct lleval_prompt_set *ps = &cfg->prompt_sets[i];
        ps->name = lleval_xstrdup(builtin_sets[i].name);
        for (size_t j = 0; j < 3 && builtin_sets[i].types[j]; j++)
            ps->n_types++;
        ps->types = lleval_xcalloc(ps->n_types, sizeof(*ps->types));
        for (size_t j = 0; j < ps->n_types; j++) {
            ps->types[j].name = lleval_xstrdup(builtin_sets[i].types[j]);
            fill_prompt_type(&ps->types[j], builtin_fallback(builtin_sets[i].types[j]));
        }
    }
}

const struct lleval_prompt_set *lleval_config_find_prompt_set(const struct lleval_config *cfg,
                                                              const char *name)
{
    for (size_t i = 0; name && i < cfg->n_prompt_sets; i++)
        if (!strcmp(cfg->prompt_sets[i].name, name))
            return &cfg->prompt_sets[i];
    return NULL;
}

const struct lleval_prompt_set *lleval_config_prompt_set(const struct lleval_config *cfg)
{
    return lleval_config_find_prompt_set(cfg, cfg->prompt_set);
}

const struct lleval_prompt_type *lleval_prompt_set_find_type(const struct lleval_prompt_set *set,
                                                             const char *name)
{
    for (size_t i = 0; set && name && i < set->n_types; i++)
        if (!strcmp(set->types[i].name, name))
            return &set->types[i];
    return NULL;
}

char *lleval_prompt_abstain(const struct lleval_config *cfg)
{
    const char *phrase = cfg && cfg->n_abstain_phrases && cfg->abstain_phrases[0]
                             ? cfg->abstain_phrases[0]
                             : "unanswerable";
    return lleval_xasprintf("If the passage does not contain the answer, reply with \"%s\" only.",
                            phrase);
}

/* ---- the prompt_sets mapping of a config ---------------------------------------------------- */

static int load_templates(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                          struct lleval_prompt_type *t, enum lleval_item_type it)
{
    static const char *const tkeys[] = {"system", "user"};
    char hint[128];
    int rc;
    if (lleval_cfg_is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(s, n,
                               "'%s' must be a mapping like '{system: \"...\", user: \"Question: "
                               "{question}\"}', not %s",
                               path, lleval_cfg_kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        char **slot;
        char *okey, *where;
        if ((rc = lleval_cfg_pair_key(s, n, p, path, &name)))
            return rc;
        if (!strcmp(name, "system"))
            slot = &t->system[it];
        else if (!strcmp(name, "user"))
            slot = &t->user[it];
        else
            return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                   "unknown key '%s.%s'%s; templates have system and user", path,
                                   name, lleval_cfg_dym_mid(hint, sizeof(hint), name, tkeys, 2));
        okey = lleval_xasprintf("%s.%s", path, name);
        free(*slot);
        rc = lleval_cfg_get_string(s, lleval_cfg_node(s, p->value), okey, true, slot);
        if (!rc) {
            where = lleval_cfg_where(s, lleval_cfg_node(s, p->value));
            lleval_cfg_set_extra_origin(s->cfg, okey, s->from, where);
            free(where);
        }
        free(okey);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_prompt_type(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                            struct lleval_prompt_type *t)
{
    char hint[128], list[256];
    int rc;
    if (lleval_cfg_is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(
            s, n,
            "'%s' must map item types (closed_book, open_book, multiple_choice) to "
            "templates, not %s",
            path, lleval_cfg_kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        enum lleval_item_type it;
        char *ipath;
        if ((rc = lleval_cfg_pair_key(s, n, p, path, &name)))
            return rc;
        if (lleval_item_type_parse(name, &it)) {
            lleval_cfg_join_names(list, sizeof(list), lleval_cfg_item_type_names,
                                  LLEVAL_N_ITEM_TYPES);
            return lleval_cfg_fail(s, lleval_cfg_node(s, p->key),
                                   "unknown item type '%s' in '%s'%s; use %s", name, path,
                                   lleval_cfg_dym_mid(hint, sizeof(hint), name,
                                                      lleval_cfg_item_type_names,
                                                      LLEVAL_N_ITEM_TYPES),
                                   list);
        }
        ipath = lleval_xasprintf("%s.%s", path, name);
        rc = load_templates(s, lleval_cfg_node(s, p->value), ipath, t, it);
        free(ipath);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_prompt_set(const struct lleval_cfg_src *s, yaml_node_t *key, yaml_node_t *n,
                           struct lleval_prompt_set *ps)
{
    char *path = lleval_xasprintf("prompt_sets.%s", ps->name);
    int rc = 0;
    if (lleval_cfg_is_null(n) || n->type != YAML_MAPPING_NODE || !n->data.mapping.pairs.top ||
        n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
        rc = lleval_cfg_fail(
            s, lleval_cfg_is_null(n) ? key : n,
            "prompt set '%s' must map prompt type names to templates, e.g. '%s: {direct: "
            "{closed_book: {user: \"Question: {question}\\nAnswer:\"}}}'",
            ps->name, ps->name);
        goto out;
    }
    ps->types = lleval_xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start),
                               sizeof(*ps->types));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        struct lleval_prompt_type *t;
        char *tpath;
        if ((rc = lleval_cfg_pair_key(s, n, p, path, &name)))
            goto out;
        if (!lleval_cfg_valid_name(name)) {
            rc = lleval_cfg_fail(
                s, lleval_cfg_node(s, p->key),
                "prompt type name '%.60s' in '%s' may only contain letters, digits, '_', "
                "'.' and '-'; rename it",
                name, path);
            goto out;
        }
        t = &ps->types[ps->n_types++];
        t->name = lleval_xstrdup(name);
        tpath = lleval_xasprintf("%s.%s", path, name);
        rc = load_prompt_type(s, lleval_cfg_node(s, p->value), tpath, t);
        free(tpath);
        if (rc)
            goto out;
        fill_prompt_type(t, builtin_fallback(t->name));
    }
out:
    free(path);
    return rc;
}

int lleval_cfg_load_prompt_sets(const struct lleval_cfg_src *s, yaml_node_t *n)
{
    struct lleval_config *cfg = s->cfg;
    int rc;
    if (lleval_cfg_is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return lleval_cfg_fail(
            s, n,
            "'prompt_sets' must map set names to prompt types, e.g. 'prompt_sets: "
            "{myset: {direct: {closed_book: {user: \"...\"}}}}', not %s",
            lleval_cfg_kind_of(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *name;
        struct lleval_prompt_set ps = {0};
        struct lleval_prompt_set *old;
        char *okey, *where;
        if ((rc = lleval_cfg_pair_key(s, n, p, "prompt_sets", &name)))
            return rc;
        if (!lleval_cfg_valid_name(name))
            return lleval_cfg_fail(
                s, lleval_cfg_node(s, p->key),
                "prompt set name '%.60s' may only contain letters, digits, '_', '.' and "
                "'-'; rename it",
                name);
        okey = lleval_xasprintf("prompt_sets.%s", name);
        lleval_cfg_clear_extra_origins(cfg, okey);
        ps.name = lleval_xstrdup(name);
        rc = load_prompt_set(s, lleval_cfg_node(s, p->key), lleval_cfg_node(s, p->value), &ps);
        if (rc) {
            lleval_cfg_free_prompt_set(&ps);
            free(okey);
            return rc;
        }
        where = lleval_cfg_where(s, lleval_cfg_node(s, p->key));
        lleval_cfg_set_extra_origin(cfg, okey, s->from, where);
        free(where);
        free(okey);
        old = (struct lleval_prompt_set *)lleval_config_find_prompt_set(cfg, name);
        if (old) {
            lleval_cfg_free_prompt_set(old);
            *old = ps;
        } else {
            cfg->prompt_sets = lleval_xrealloc(cfg->prompt_sets, (cfg->n_prompt_sets + 1) *
                                                                     sizeof(*cfg->prompt_sets));
            cfg->prompt_sets[cfg->n_prompt_sets++] = ps;
        }
    }
    return 0;
}
