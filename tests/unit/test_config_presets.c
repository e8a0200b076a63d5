/* Unit tests for where presets sit among the layers (lib/config/presets.c, read.c,
 * origin.c): a preset named on the command line applies over the config file's values
 * (and below the other flags), the file's `preset:` key applies beneath the file's own
 * keys, and every value that replaced another says what it won over and why, in
 * lleval_config_origin_over(), `config show`'s YAML comments and its JSON. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* Asserts what key won over: want NULL = nothing but a default; else the exact text
 * with "%s" standing for the fixture's file path. */
static void assert_over(const struct fixture *f, const char *key, const char *want_fmt)
{
    char *got = lleval_config_origin_over(&f->cfg, key);
    char *want = want_fmt ? lleval_xasprintf(want_fmt, f->path) : NULL;
    bool differ = (got == NULL) != (want == NULL) || (got && strcmp(got, want));
    if (differ)
        print_error("over of '%s': want \"%s\", got \"%s\"\n", key, want ? want : "(null)",
                    got ? got : "(null)");
    free(got);
    free(want);
    if (differ)
        fail();
}

/* The example file of the issue: its own 8B model and 1024 open-book tokens. */
static const char example[] = "preset: conservative\n"
                              "model_id: \"llama3.1:8b-instruct-q4_K_M\"\n"
                              "context_length: 4096\n"
                              "max_new_tokens:\n"
                              "  closed_book: 512\n"
                              "  open_book: 1024\n"
                              "top_k: 40\n";

static void test_cli_preset_applies_over_the_file(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;

    assert_int_equal(lleval_config_apply_preset(c, "stretch", &f->err), 0);
    assert_int_equal(tu_cfg_load(f, example), 0);
    assert_int_equal(lleval_config_validate(c, &f->err), 0);

    assert_string_equal(c->preset, "stretch");
    assert_string_equal(c->model_id, "llama3.1:13b-instruct-q4_K_M");
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 512);
    assert_int_equal(c->max_new_tokens[LLEVAL_CLOSED_BOOK], 512);
    assert_int_equal(c->top_k, 40); /* stretch leaves top_k alone: the file's value stays */
    tu_assert_origin(c, "model_id", "preset stretch");
    tu_assert_origin(c, "max_new_tokens.open_book", "preset stretch");
    tu_assert_origin(c, "preset", "--preset");
    assert_over(f, "model_id", "%s:2:11 (--preset applies over the config file)");
    assert_over(f, "max_new_tokens.open_book", "%s:6:14 (--preset applies over the config file)");
    assert_over(f, "preset",
                "%s:1:9: 'preset: conservative', not applied (--preset replaces the file's "
                "preset)");
    /* the file's preset is not applied: top_p never came from it */
    tu_assert_origin(c, "top_p", "default");
    assert_over(f, "top_k", NULL);
}

static void test_flags_apply_over_the_cli_preset(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;

    assert_int_equal(lleval_config_set(c, "preset", "throughput", "--preset", &f->err), 0);
    assert_int_equal(tu_cfg_load(f, example), 0);
    assert_int_equal(lleval_config_set(c, "max_new_tokens.open_book", "700", "--set", &f->err), 0);
    assert_int_equal(
        lleval_config_set(c, "max_concurrent_jobs", "1", "--max-concurrent-jobs", &f->err), 0);
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 700);
    assert_int_equal(c->max_concurrent_jobs, 1);
    assert_int_equal(c->context_length, 8192); /* throughput, over the file's 4096 */
    tu_assert_origin(c, "max_new_tokens.open_book", "--set");
    assert_over(f, "max_new_tokens.open_book",
                "preset throughput (command-line flags apply over the config file and presets)");
    assert_over(f, "context_length", "%s:3:17 (--preset applies over the config file)");
}

static void test_file_preset_applies_beneath_the_file(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;

    assert_int_equal(tu_cfg_load(f, "model_id: mine\n"
                                    "max_new_tokens: {open_book: 900}\n"
                                    "preset: stretch\n"),
                     0);
    assert_string_equal(c->model_id, "mine");
    assert_int_equal(c->max_new_tokens[LLEVAL_OPEN_BOOK], 900);
    assert_int_equal(c->max_new_tokens[LLEVAL_CLOSED_BOOK], 512);
    assert_int_equal(c->context_length, 4096);
    tu_assert_origin(c, "max_new_tokens.closed_book", "preset stretch");
    assert_over(f, "model_id", "preset stretch (the config file applies over its preset)");
    assert_over(f, "max_new_tokens.closed_book", NULL);
    assert_over(f, "preset", NULL);
}

static void test_cli_preset_without_a_file(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lleval_config_apply_preset(&f->cfg, "quality", &f->err), 0);
    assert_string_equal(f->cfg.model_id, "llama3.1:8b-instruct-q6_K");
    tu_assert_origin(&f->cfg, "model_id", "preset quality");
    assert_over(f, "model_id", NULL);
}

static void test_config_show_says_which_won_and_why(void **state)
{
    struct fixture *f = *state;
    struct lleval_config *c = &f->cfg;
    char *yaml, *want;
    json_t *over;

    assert_int_equal(lleval_config_apply_preset(c, "stretch", &f->err), 0);
    assert_int_equal(tu_cfg_load(f, example), 0);
    yaml = lleval_config_to_yaml(c, true);
    want = lleval_xasprintf("# preset stretch; wins over %s:6:14 (--preset applies over the "
                            "config file)\n",
                            f->path);
    tu_assert_contains(yaml, "  open_book: 512 ");
    tu_assert_contains(yaml, want);
    free(want);
    free(yaml);
    /* without origins, no comment at all: the YAML a run saves */
    yaml = lleval_config_to_yaml(c, false);
    assert_null(strstr(yaml, "wins over"));
    free(yaml);

    over = lleval_config_overs_json(c);
    want = lleval_xasprintf("%s:2:11 (--preset applies over the config file)", f->path);
    assert_string_equal(json_string_value(json_object_get(over, "model_id")), want);
    assert_null(json_object_get(over, "seed"));
    free(want);
    json_decref(over);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_preset_applies_over_the_file, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_flags_apply_over_the_cli_preset, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_file_preset_applies_beneath_the_file, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_cli_preset_without_a_file, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_config_show_says_which_won_and_why, tu_cfg_setup,
                                        tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
