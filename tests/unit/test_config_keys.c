/* Unit tests for the key table of the configuration (lib/config/keys.c, names.c):
 * every key has a type, a default and a documented row in docs/config.md that agree
 * with the table and with lleval_config_init; lookups; and the did-you-mean
 * suggestions for unknown keys and names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "../../lib/config/config_int.h"
#include "lleval/config/config.h"
#include "lleval/util/util.h"

/* ---- the table itself ----------------------------------------------------------------------- */

static void test_public_key_list_is_the_table(void **state)
{
    const char *const *keys = lleval_config_keys();
    size_t n = 0;
    (void)state;
    for (; keys[n]; n++) {
        assert_string_equal(keys[n], lleval_cfg_key_defs[n].path);
        assert_int_equal(lleval_config_key_index(keys[n]), (int)n);
        assert_int_equal(lleval_cfg_key_index_checked(keys[n]), (int)n);
        for (size_t j = 0; j < n; j++)
            if (!strcmp(keys[j], keys[n]))
                fail_msg("key '%s' is in the table twice", keys[n]);
    }
    assert_int_equal(n, LLEVAL_CFG_N_KEYS);
    assert_int_equal(lleval_config_key_index("max_new_tokens"), -1); /* a group, not a key */
    assert_int_equal(lleval_config_key_index("model"), -1);
    assert_int_equal(lleval_config_key_index(""), -1);
    assert_int_equal(lleval_config_key_index(NULL), -1);
}

static void test_every_key_has_a_type_and_a_sane_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++) {
        const struct lleval_cfg_key *k = &lleval_cfg_key_defs[i];
        const char *dot = strrchr(k->path, '.');
        assert_true(k->kind <= LLEVAL_CFG_MODEL_CFGS);
        assert_true(k->off < sizeof(struct lleval_config));
        if (k->kind == LLEVAL_CFG_LONG || k->kind == LLEVAL_CFG_DOUBLE ||
            k->kind == LLEVAL_CFG_DLIST) {
            if (!(k->min < k->max))
                fail_msg("'%s': empty range %g..%g", k->path, k->min, k->max);
        }
        /* a dotted key lives in a group the reader knows */
        if (dot) {
            char group[64];
            snprintf(group, sizeof(group), "%.*s", (int)(dot - k->path), k->path);
            if (!lleval_cfg_is_group(group))
                fail_msg("'%s': '%s' is not a group", k->path, group);
        }
        assert_false(lleval_cfg_is_group(k->path));
        assert_false(lleval_cfg_is_api_key(k->path));
    }
    assert_true(lleval_cfg_is_group("max_new_tokens"));
    assert_true(lleval_cfg_is_group("launch"));
    assert_false(lleval_cfg_is_group("path"));
    assert_true(lleval_cfg_is_api_key("api_key"));
    assert_true(lleval_cfg_is_api_key("launch.apikey"));
    assert_true(lleval_cfg_is_api_key("openai.api-key"));
    assert_false(lleval_cfg_is_api_key("api_key_env"));
}

/* The value of key k in cfg as docs/config.md writes a default ("4096", "`5m`", "null"). */
static char *default_text(const struct lleval_config *cfg, const struct lleval_cfg_key *k)
{
    const void *v = (const char *)cfg + k->off;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    switch (k->kind) {
    case LLEVAL_CFG_LONG:
        lleval_sb_addf(&sb, "%ld", *(const long *)v);
        break;
    case LLEVAL_CFG_DOUBLE:
        lleval_sb_addf(&sb, "%.1f", *(const double *)v);
        break;
    case LLEVAL_CFG_BOOL:
        lleval_sb_adds(&sb, *(const bool *)v ? "true" : "false");
        break;
    case LLEVAL_CFG_PRESET:
    case LLEVAL_CFG_STR:
    case LLEVAL_CFG_MODELS:
    case LLEVAL_CFG_NSTR:
    case LLEVAL_CFG_URLS:
    case LLEVAL_CFG_EXTRACTION: {
        const char *s = *(char *const *)v;
        if (s)
            lleval_sb_addf(&sb, "`%s`", s);
        else
            lleval_sb_adds(&sb, "null");
        break;
    }
    case LLEVAL_CFG_ENGINE:
        lleval_sb_addf(&sb, "`%s`", lleval_engine_kind_name(cfg->engine));
        break;
    case LLEVAL_CFG_DLIST:
        lleval_sb_adds(&sb, "`[");
        for (size_t i = 0; i < cfg->n_temps; i++)
            lleval_sb_addf(&sb, "%s%.1f", i ? ", " : "", cfg->temps[i]);
        lleval_sb_adds(&sb, "]`");
        break;
    case LLEVAL_CFG_SLIST:
        if (!strcmp(k->path, "scoring.abstain_phrases")) { /* the one list with a default */
            assert_int_equal(cfg->n_abstain_phrases, 1);
            lleval_sb_addf(&sb, "`[\"%s\"]`", cfg->abstain_phrases[0]);
            break;
        }
        /* stop and launch.extra_args are empty by default */
        assert_int_equal(!strcmp(k->path, "stop") ? cfg->n_stop : cfg->launch.n_extra_args, 0);
        lleval_sb_adds(&sb, "`[]`");
        break;
    case LLEVAL_CFG_PROMPT_SETS:
        lleval_sb_adds(&sb, "built-in sets");
        break;
    case LLEVAL_CFG_ENDPOINTS:
        assert_int_equal(cfg->n_endpoints, 0);
        lleval_sb_adds(&sb, "`[]`");
        break;
    case LLEVAL_CFG_DATASETS:
    case LLEVAL_CFG_MODEL_CFGS:
        break;
    }
    return lleval_sb_detach(&sb, NULL);
}

/* The type docs/config.md gives a key of that kind and range ("integer 1..256"). */
static char *type_text(const struct lleval_cfg_key *k)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *const *names = NULL;
    size_t n = 0;
    switch (k->kind) {
    case LLEVAL_CFG_LONG:
        if (!strcmp(k->path, "max_concurrent_jobs")) /* 0 in the table is auto */
            lleval_sb_addf(&sb, "integer 1..%ld, or `auto`", (long)k->max);
        else
            lleval_sb_addf(&sb, "integer %ld..%ld", (long)k->min, (long)k->max);
        break;
    case LLEVAL_CFG_DOUBLE:
        lleval_sb_addf(&sb, "number %g..%g", k->min, k->max);
        break;
    case LLEVAL_CFG_DLIST:
        lleval_sb_addf(&sb, "list of numbers %g..%g", k->min, k->max);
        break;
    case LLEVAL_CFG_SLIST:
        lleval_sb_adds(&sb, "list of strings");
        break;
    case LLEVAL_CFG_BOOL:
        lleval_sb_adds(&sb, "boolean");
        break;
    case LLEVAL_CFG_STR:
        lleval_sb_adds(&sb, "string");
        break;
    case LLEVAL_CFG_MODELS:
        lleval_sb_adds(&sb, "string or list of strings");
        break;
    case LLEVAL_CFG_PRESET:
    case LLEVAL_CFG_NSTR:
        lleval_sb_adds(&sb, "string or null");
        break;
    case LLEVAL_CFG_URLS:
        lleval_sb_adds(&sb, "string, null or list of strings");
        break;
    case LLEVAL_CFG_ENDPOINTS:
        lleval_sb_adds(&sb, "list of mappings");
        break;
    case LLEVAL_CFG_PROMPT_SETS:
        lleval_sb_adds(&sb, "mapping");
        break;
    case LLEVAL_CFG_ENGINE:
        names = lleval_cfg_engine_names + 1; /* dry last, as the docs and messages list them */
        n = LLEVAL_CFG_N_ENGINES - 1;
        break;
    case LLEVAL_CFG_EXTRACTION:
        names = lleval_cfg_extraction_names;
        n = LLEVAL_CFG_N_EXTRACTIONS;
        break;
    case LLEVAL_CFG_DATASETS:
    case LLEVAL_CFG_MODEL_CFGS:
        break;
    }
    for (size_t i = 0; i < n; i++)
        lleval_sb_addf(&sb, "%s`%s`", i ? " \\| " : "", names[i]);
    if (k->kind == LLEVAL_CFG_ENGINE)
        lleval_sb_adds(&sb, " \\| `dry`");
    return lleval_sb_detach(&sb, NULL);
}

/* Splits a Markdown table row into at most max cells (an escaped "\|" stays in its cell). */
static size_t split_row(char *row, char **cells, size_t max)
{
    size_t n = 0;
    char *p = row;
    if (*p == '|')
        p++;
    while (*p && n < max) {
        char *start = p, *end;
        while (*p && !(*p == '|' && p[-1] != '\\'))
            p++;
        end = p;
        while (start < end && *start == ' ')
            start++;
        while (end > start && end[-1] == ' ')
            end--;
        if (!*p && end == start)
            break;
        *end = 0;
        cells[n++] = start;
        if (*p)
            p++;
    }
    return n;
}

static void test_every_key_is_documented_with_its_type_and_default(void **state)
{
    char *path = lleval_xasprintf("%s/docs/config.md", LLEVAL_SOURCE_DIR);
    char *doc = tu_read(path);
    struct lleval_config cfg;
    (void)state;
    assert_non_null(doc);
    lleval_config_init(&cfg);
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++) {
        const struct lleval_cfg_key *k = &lleval_cfg_key_defs[i];
        char *head = lleval_xasprintf("\n| `%s` |", k->path);
        const char *at = strstr(doc, head);
        char *row, *cells[8], *want_type, *want_default;
        size_t n;
        if (k->kind == LLEVAL_CFG_DATASETS) { /* a section of its own */
            tu_assert_contains(doc, "\n### Datasets\n\n`datasets` is a list; none by default.");
            free(head);
            continue;
        }
        if (k->kind == LLEVAL_CFG_MODEL_CFGS) { /* a section of its own too */
            tu_assert_contains(doc, "\n### Models\n\n`models` is a list; none by default.");
            free(head);
            continue;
        }
        if (!at)
            fail_msg("docs/config.md has no table row for key '%s'", k->path);
        at++;
        row = lleval_xstrndup(at, strcspn(at, "\n"));
        n = split_row(row, cells, LLEVAL_ARRAY_SIZE(cells));
        if (n != 4)
            fail_msg("'%s': the row has %zu cells, not 4 (key, type, default, meaning)", k->path,
                     n);
        want_type = type_text(k);
        want_default = default_text(&cfg, k);
        if (strcmp(cells[1], want_type))
            fail_msg("'%s': docs say type \"%s\", the table \"%s\"", k->path, cells[1], want_type);
        if (strcmp(cells[2], want_default))
            fail_msg("'%s': docs say default \"%s\", lleval_config_init \"%s\"", k->path, cells[2],
                     want_default);
        if (strlen(cells[3]) < 10)
            fail_msg("'%s': the meaning \"%s\" is too short to help", k->path, cells[3]);
        free(want_type);
        free(want_default);
        free(row);
        free(head);
    }
    lleval_config_release(&cfg);
    free(doc);
    free(path);
}

static void test_every_default_has_origin_default_and_validates(void **state)
{
    struct lleval_config cfg;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    lleval_config_init(&cfg);
    for (size_t i = 0; i < LLEVAL_CFG_N_KEYS; i++) {
        char *o = lleval_config_origin(&cfg, lleval_cfg_key_defs[i].path);
        if (strcmp(o, "default"))
            fail_msg("'%s': origin \"%s\" after init", lleval_cfg_key_defs[i].path, o);
        free(o);
    }
    assert_int_equal(lleval_config_validate(&cfg, &err), 0);
    lleval_config_release(&cfg);
}

/* ---- did you mean --------------------------------------------------------------------------- */

static void test_unknown_key_hints(void **state)
{
    static const struct {
        const char *path, *group, *hint;
    } cases[] = {
        /* close in spelling, at the top level and inside a group */
        {"max_new_token", NULL, "did you mean 'max_new_tokens'?"},
        {"modle_id", NULL, "did you mean 'model_id'?"},
        {"max_new_tokens.open_bok", "max_new_tokens", "did you mean 'max_new_tokens.open_book'?"},
        {"launch.modle", "launch", "did you mean 'launch.model'?"},
        {"paths.runs_dri", "paths", "did you mean 'paths.runs_dir'?"},
        /* the only key a word starts */
        {"scoring.strip", "scoring", "did you mean 'scoring.strip_think'?"},
        /* the guide's and other tools' names */
        {"temperature", NULL, "did you mean 'temps'?"},
        {"concurrency", NULL, "did you mean 'max_concurrent_jobs'?"},
        {"num_ctx", NULL, "did you mean 'context_length'?"},
        {"dry_run", NULL, "did you mean 'engine: dry'?"},
        {"model", NULL, "did you mean 'model_id'?"}, /* not the close 'models' */
        {"modles", NULL, "did you mean 'models'?"},
        /* a key of a group written at the wrong level */
        {"runs_dir", NULL, "did you mean 'paths.runs_dir' (under 'paths:')?"},
        {"strip_think", NULL, "did you mean 'scoring.strip_think' (under 'scoring:')?"},
        {"launch.bootstrap_seed", "launch",
         "did you mean 'scoring.bootstrap_seed' (under 'scoring:')?"},
        /* nothing close */
        {"zzzzzzzzzzzz", NULL, "the keys are listed in docs/config.md and by 'lleval config show'"},
        {"paths.qqqqqqqq", "paths",
         "the keys are listed in docs/config.md and by 'lleval config show'"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        char buf[256];
        const char *got =
            lleval_cfg_unknown_key_hint(buf, sizeof(buf), cases[i].path, cases[i].group);
        assert_ptr_equal(got, buf);
        if (strcmp(got, cases[i].hint))
            fail_msg("hint for '%s': want \"%s\", got \"%s\"", cases[i].path, cases[i].hint, got);
    }
}

static void test_guess_key_for_set(void **state)
{
    static const struct {
        const char *key, *want; /* want NULL: no suggestion */
    } cases[] = {
        {"max_new_token", "max_new_tokens"}, /* a group */
        {"max_new_tokens.open_bok", "max_new_tokens.open_book"},
        {"paths.runs", "paths.runs_dir"},
        {"topk", "top_k"},
        {"launch.m", "launch"}, /* by spelling, before launch.model or launch.max_restarts */
        {"xyzzyxyzzy", NULL},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const char *got = lleval_cfg_guess_key(cases[i].key);
        if (!cases[i].want != !got || (got && strcmp(got, cases[i].want)))
            fail_msg("guess for '%s': want %s, got %s", cases[i].key,
                     cases[i].want ? cases[i].want : "none", got ? got : "none");
    }
}

static void test_guess_and_messages(void **state)
{
    static const char *const fruits[] = {"apple", "apricot", "banana"};
    char buf[128];
    (void)state;
    assert_string_equal(lleval_cfg_guess("closed", lleval_cfg_item_type_names, LLEVAL_N_ITEM_TYPES),
                        "closed_book");
    assert_string_equal(
        lleval_cfg_guess("multiple", lleval_cfg_item_type_names, LLEVAL_N_ITEM_TYPES),
        "multiple_choice");
    assert_string_equal(lleval_cfg_guess("olama", lleval_cfg_engine_names, LLEVAL_CFG_N_ENGINES),
                        "ollama");
    assert_null(lleval_cfg_guess("ap", fruits, 3)); /* too short to guess from */
    assert_string_equal(lleval_cfg_guess("apr", fruits, 3), "apricot");
    assert_string_equal(lleval_cfg_guess("bannana", fruits, 3), "banana");
    assert_null(lleval_cfg_guess("cherry", fruits, 3));

    assert_string_equal(lleval_cfg_dym(buf, sizeof(buf), "bananna", fruits, 3),
                        "; did you mean 'banana'?");
    assert_string_equal(lleval_cfg_dym(buf, sizeof(buf), "cherry", fruits, 3), "");
    assert_string_equal(lleval_cfg_dym_mid(buf, sizeof(buf), "bananna", fruits, 3),
                        " (did you mean 'banana'?)");
    assert_string_equal(lleval_cfg_dym_mid(buf, sizeof(buf), "cherry", fruits, 3), "");

    lleval_cfg_join_names(buf, sizeof(buf), fruits, 3);
    assert_string_equal(buf, "apple, apricot, banana");
    lleval_cfg_join_names(buf, 8, fruits, 3);
    assert_string_equal(buf, "apple, ");
    assert_ptr_equal(lleval_cfg_one_of("apricot", fruits, 3), fruits[1]);
    assert_null(lleval_cfg_one_of("Apricot", fruits, 3));
    assert_null(lleval_cfg_one_of(NULL, fruits, 3));
}

static void test_names(void **state)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"nq_open", true},  {"xquad.en-1", true}, {"A9", true}, {"", false},
        {"nq open", false}, {"a/b", false},       {"é", false}, {"a:b", false},
    };
    enum lleval_item_type t;
    enum lleval_engine_kind e;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++)
        if (lleval_cfg_valid_name(cases[i].s) != cases[i].ok)
            fail_msg("valid_name(\"%s\") should be %d", cases[i].s, cases[i].ok);
    assert_false(lleval_cfg_valid_name(NULL));
    for (int i = 0; i < LLEVAL_N_ITEM_TYPES; i++) {
        assert_int_equal(lleval_item_type_parse(lleval_item_type_name(i), &t), 0);
        assert_int_equal(t, i);
    }
    for (int i = 0; i < LLEVAL_CFG_N_ENGINES; i++) {
        assert_int_equal(lleval_engine_kind_parse(lleval_engine_kind_name(i), &e), 0);
        assert_int_equal(e, i);
    }
    assert_string_equal(lleval_item_type_name(LLEVAL_N_ITEM_TYPES), "unknown");
    assert_string_equal(lleval_engine_kind_name(LLEVAL_CFG_N_ENGINES), "unknown");
    assert_int_equal(lleval_engine_kind_parse("llama.cpp", &e), LLEVAL_EINVAL);
    assert_int_equal(lleval_item_type_parse(NULL, &t), LLEVAL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_key_list_is_the_table),
        cmocka_unit_test(test_every_key_has_a_type_and_a_sane_range),
        cmocka_unit_test(test_every_key_is_documented_with_its_type_and_default),
        cmocka_unit_test(test_every_default_has_origin_default_and_validates),
        cmocka_unit_test(test_unknown_key_hints),
        cmocka_unit_test(test_guess_key_for_set),
        cmocka_unit_test(test_guess_and_messages),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
