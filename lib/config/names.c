/*
 * Names: the item types and engines (names, parsing, default addresses), the
 * fixed lists of names the config accepts (answer extraction, dataset formats,
 * scorings, fields), and the did-you-mean helpers every message uses. The
 * helpers are documented in config_int.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "config_int.h"

const char *const lleval_cfg_item_type_names[LLEVAL_N_ITEM_TYPES] = {"closed_book", "open_book",
                                                                     "multiple_choice"};
const char *const lleval_cfg_engine_names[LLEVAL_CFG_N_ENGINES] = {
    "dry", "ollama", "llamacpp", "openai", "openai_batch", "fireworks_batch"};
const char *const lleval_cfg_extraction_names[LLEVAL_CFG_N_EXTRACTIONS] = {"none", "first_line",
                                                                           "after_answer"};
const char *const lleval_cfg_dataset_formats[LLEVAL_CFG_N_FORMATS] = {"squad", "nq_open", "mmlu",
                                                                      "jsonl", "csv"};
const char *const lleval_cfg_dataset_scorings[LLEVAL_CFG_N_SCORINGS] = {"squad", "nq", "mc"};
const char *const lleval_cfg_field_keys[LLEVAL_CFG_N_FIELDS] = {"id", "question", "context",
                                                                "answers", "choices"};

const char *lleval_item_type_name(enum lleval_item_type t)
{
    return (unsigned)t < LLEVAL_N_ITEM_TYPES ? lleval_cfg_item_type_names[t] : "unknown";
}

int lleval_item_type_parse(const char *s, enum lleval_item_type *out)
{
    for (int i = 0; s && i < LLEVAL_N_ITEM_TYPES; i++) {
        if (!strcmp(s, lleval_cfg_item_type_names[i])) {
            *out = (enum lleval_item_type)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

const char *lleval_engine_kind_name(enum lleval_engine_kind k)
{
    return (unsigned)k < LLEVAL_CFG_N_ENGINES ? lleval_cfg_engine_names[k] : "unknown";
}

int lleval_engine_kind_parse(const char *s, enum lleval_engine_kind *out)
{
    for (size_t i = 0; s && i < LLEVAL_CFG_N_ENGINES; i++) {
        if (!strcmp(s, lleval_cfg_engine_names[i])) {
            *out = (enum lleval_engine_kind)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

const char *lleval_engine_default_base_url(enum lleval_engine_kind k)
{
    switch (k) {
    case LLEVAL_ENGINE_OLLAMA:
        return "http://127.0.0.1:11434";
    case LLEVAL_ENGINE_LLAMACPP:
        return "http://127.0.0.1:8080";
    case LLEVAL_ENGINE_OPENAI:
        return "http://127.0.0.1:8000/v1";
    case LLEVAL_ENGINE_OPENAI_BATCH:
        return "https://api.openai.com/v1";
    case LLEVAL_ENGINE_FIREWORKS_BATCH:
        return "https://api.fireworks.ai/v1";
    default:
        return NULL;
    }
}

const char *lleval_config_base_url(const struct lleval_config *cfg)
{
    return cfg->base_url ? cfg->base_url : lleval_engine_default_base_url(cfg->engine);
}

/* ---- did you mean --------------------------------------------------------------------------- */

const char *lleval_cfg_one_of(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return names[i];
    return NULL;
}

void lleval_cfg_join_names(char *buf, size_t size, const char *const *names, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t i = 0; i < n; i++)
        lleval_sb_addf(&sb, "%s%s", i ? ", " : "", names[i]);
    snprintf(buf, size, "%s", sb.buf);
    lleval_sb_release(&sb);
}

const char *lleval_cfg_guess(const char *word, const char *const *names, size_t n)
{
    const char *best = lleval_did_you_mean(word, names, n), *prefixed = NULL;
    size_t len = strlen(word), hits = 0;
    if (best || len < 3)
        return best;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(names[i], word, len)) {
            prefixed = names[i];
            hits++;
        }
    }
    return hits == 1 ? prefixed : NULL;
}

const char *lleval_cfg_dym(char *buf, size_t size, const char *word, const char *const *names,
                           size_t n)
{
    const char *best = lleval_cfg_guess(word, names, n);
    if (best)
        snprintf(buf, size, "; did you mean '%s'?", best);
    else
        buf[0] = 0;
    return buf;
}

const char *lleval_cfg_dym_mid(char *buf, size_t size, const char *word, const char *const *names,
                               size_t n)
{
    const char *best = lleval_cfg_guess(word, names, n);
    if (best)
        snprintf(buf, size, " (did you mean '%s'?)", best);
    else
        buf[0] = 0;
    return buf;
}

bool lleval_cfg_valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}
