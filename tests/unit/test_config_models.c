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
    tu_assert_contains(f->err.msg, "'model_id' lists 2 models, but 'launch' starts llama-server");
    tu_assert_contains(f->err.msg, "list the models under 'models:'");
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

/* models: ids fill model_id and the list; each entry's settings, the others inherited */
static void test_models_key(void **state)
{
    struct fixture *f = *state;
    struct lleval_config m;
    char *o;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\n"
                                    "max_concurrent_jobs: 4\n"
                                    "launch: {model: top.gguf, ctx_size: 4096, extra_args: [-fa]}\n"
                                    "models:\n"
                                    "  - id: a\n"
                                    "    launch: {model: a.gguf, parallel: 2, gpu_layers: 0}\n"
                                    "    max_concurrent_jobs: 2\n"
                                    "  - id: b\n"
                                    "    launch:\n"
                                    "      ctx_size: 8192\n"
                                    "      extra_args: []\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    assert_int_equal(f->cfg.n_model_cfgs, 2);
    assert_int_equal(f->cfg.n_models, 2);
    assert_string_equal(f->cfg.model_id, "a");
    assert_string_equal(f->cfg.models[1], "b");
    assert_true(f->cfg.launch.enabled);
    lleval_config_for_model(&f->cfg, "a", &m);
    assert_string_equal(m.model_id, "a");
    assert_string_equal(m.launch.model, "a.gguf");
    assert_int_equal(m.launch.ctx_size, 4096); /* inherited */
    assert_int_equal(m.launch.parallel, 2);
    assert_int_equal(m.launch.gpu_layers, 0);
    assert_int_equal(m.launch.n_extra_args, 1);
    assert_int_equal(m.max_concurrent_jobs, 2);
    lleval_config_for_model(&f->cfg, "b", &m);
    assert_string_equal(m.model_id, "b");
    assert_string_equal(m.launch.model, "top.gguf");
    assert_int_equal(m.launch.ctx_size, 8192);
    assert_int_equal(m.launch.n_extra_args, 0); /* replaced by an empty list */
    assert_int_equal(m.max_concurrent_jobs, 4);
    assert_null(lleval_config_model(&f->cfg, "c"));
    o = lleval_config_origin(&f->cfg, "models[0].launch.model");
    tu_assert_contains(o, ":6:"); /* file:line:col of the value */
    free(o);
}

static void test_models_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "models:\n  - id: a\n    max_concurent_jobs: 2\n"),
                     LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "unknown key 'models[0].max_concurent_jobs'");
    tu_assert_contains(f->err.msg, "did you mean 'max_concurrent_jobs'");
    assert_int_equal(tu_cfg_load(f, "models:\n  - id: a\n    launch: {ctx: 2}\n"), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "unknown key 'models[0].launch.ctx'");
    tu_assert_contains(f->err.msg, "did you mean 'ctx_size'");
    assert_int_equal(tu_cfg_load(f, "models:\n  - launch: {model: a.gguf}\n"), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'models[0]' has no 'id'");
    assert_int_equal(tu_cfg_load(f, "models: []\n"), LLEVAL_EINVAL);
    assert_int_equal(tu_cfg_load(f, "models:\n  - id: a\n  - id: a\n"), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "lists 'a' twice");
    /* models and model_id together, in either order */
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodel_id: [x, y]\nmodels: [{id: a}, {id: b}]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'model_id' and 'models' both name the models");
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodels: [{id: a}, {id: b}]\nmodel_id: x\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "'model_id' and 'models' both name the models");
    /* launch settings unused without a server (--dry-run turns launch off); a server
     * without a file for a model */
    lleval_config_release(&f->cfg); /* a fresh config: model_id above came from the file */
    lleval_config_init(&f->cfg);
    assert_int_equal(tu_cfg_load(f, "engine: dry\nmodels: [{id: a, launch: {parallel: 2}}]\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\n"
                                    "models: [{id: a, launch: {model: a.gguf}}, {id: b}]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "model 'b' has no model file");
}

/* config.resolved.yaml keeps models (a resumed run reads it back); --set takes flow YAML */
static void test_models_round_trip(void **state)
{
    struct fixture *f = *state;
    char *y1, *y2, *path;
    struct lleval_config back;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\n"
                                    "models:\n"
                                    "  - {id: \"q:7b\", launch: {model: a.gguf, gpu_layers: -1}}\n"
                                    "  - {id: b, max_concurrent_jobs: 3, launch: {model: b.gguf, "
                                    "extra_args: [--jinja]}}\n"),
                     0);
    y1 = lleval_config_to_yaml(&f->cfg, true);
    tu_assert_contains(y1, "\nmodels:");
    tu_assert_contains(y1, "  - id: \"q:7b\"");
    tu_assert_contains(y1, "      model: b.gguf");
    assert_null(strstr(y1, "\nmodel_id:"));
    free(y1);
    y1 = lleval_config_to_yaml(&f->cfg, false);
    path = tu_write(f->dir, "resolved.yaml", y1);
    lleval_config_init(&back);
    assert_int_equal(lleval_config_load_file(&back, path, &f->err), 0);
    assert_int_equal(lleval_config_validate(&back, &f->err), 0);
    assert_int_equal(back.n_model_cfgs, 2);
    assert_int_equal(back.model_cfgs[0].gpu_layers, -1);
    assert_int_equal(back.model_cfgs[1].max_concurrent_jobs, 3);
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);
    assert_int_equal(lleval_config_set(&back, "models", "[{id: x}, {id: y}]", NULL, &f->err), 0);
    assert_int_equal(back.n_models, 2);
    assert_string_equal(back.model_id, "x");
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
        cmocka_unit_test_setup_teardown(test_models_key, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_models_errors, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_models_round_trip, tu_cfg_setup, tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
