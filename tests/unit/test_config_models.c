/* Unit tests for several models in one run (issue 11, point 3): model_id as a list
 * (lib/config/apply.c), its validation (validate.c: duplicates, launch) and its
 * round trip through config.resolved.yaml (yaml.c), which a resumed run reads back. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"

static void test_list_of_models(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodel_id: [\"llama3.1:8b\", qwen2.5-7b]\n"), 0);
    assert_int_equal(f->cfg.n_models, 2);
    assert_string_equal(f->cfg.models[0], "llama3.1:8b");
    assert_string_equal(f->cfg.models[1], "qwen2.5-7b");
    assert_string_equal(f->cfg.model_id, "llama3.1:8b");
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    /* a later scalar replaces the list */
    assert_int_equal(lleval_config_set(&f->cfg, "model_id", "one", NULL, &f->err), 0);
    assert_int_equal(f->cfg.n_models, 0);
    assert_null(f->cfg.models);
    assert_string_equal(f->cfg.model_id, "one");
    /* --set model_id=a,b is a list */
    assert_int_equal(lleval_config_set(&f->cfg, "model_id", "a, b,c", NULL, &f->err), 0);
    assert_int_equal(f->cfg.n_models, 3);
    assert_string_equal(f->cfg.models[2], "c");
    assert_string_equal(f->cfg.model_id, "a");
}

static void test_list_of_one_is_one_model(void **state)
{
    struct fixture *f = *state;
    char *y;
    assert_int_equal(tu_cfg_load(f, "model_id: [solo]\n"), 0);
    assert_int_equal(f->cfg.n_models, 0);
    assert_string_equal(f->cfg.model_id, "solo");
    y = lleval_config_to_yaml(&f->cfg, false);
    tu_assert_contains(y, "\nmodel_id: solo\n"); /* written as today's single model */
    free(y);
}

static void test_bad_lists(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "model_id: []\n"), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'model_id' is an empty list");
    assert_int_equal(tu_cfg_load(f, "model_id: [a, {x: 1}]\n"), LLEVAL_EINVAL);
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodel_id: [a, b, a]\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'model_id' lists 'a' twice");
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodel_id: [a, \"..\"]\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "is not a model name");
    /* one managed llama-server serves one model file */
    assert_int_equal(
        tu_cfg_load(f, "engine: llamacpp\nmodel_id: [a, b]\nlaunch:\n  model: m.gguf\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'model_id' lists 2 models, but 'launch' starts one");
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    char *y1, *y2, *path;
    struct lleval_config back;
    assert_int_equal(tu_cfg_load(f, "model_id: [\"llama3.1:8b\", \"a b\", c]\n"), 0);
    y1 = lleval_config_to_yaml(&f->cfg, false);
    tu_assert_contains(y1, "\nmodel_id: [\"llama3.1:8b\", \"a b\", c]\n");
    path = tu_write(f->dir, "resolved.yaml", y1);
    lleval_config_init(&back);
    assert_int_equal(lleval_config_load_file(&back, path, &f->err), 0);
    assert_int_equal(back.n_models, 3);
    assert_string_equal(back.models[1], "a b");
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);
    free(y1);
    free(y2);
    free(path);
    lleval_config_release(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_of_models, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_list_of_one_is_one_model, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_bad_lists, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, tu_cfg_setup, tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
