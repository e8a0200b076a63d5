/* Unit tests for several endpoints in the config (lib/config/endpoints.c):
 * base_url as a list, the endpoints list with its per-endpoint keys and their
 * origins, launch.instances / launch.devices, the problems each can have, and
 * the round trip through config.resolved.yaml. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"
#include "lleval/util/util.h"

static void test_base_url_list(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nbase_url: [\"http://a:1\", \"http://b:2\", "
                                    "\"http://c:3\"]\n"),
                     0);
    assert_int_equal(f->cfg.n_base_urls, 3);
    assert_string_equal(f->cfg.base_url, "http://a:1");
    assert_string_equal(f->cfg.base_urls[2], "http://c:3");
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    /* a list of one is that address */
    assert_int_equal(tu_cfg_load(f, "base_url: [\"http://a:1\"]\n"), 0);
    assert_int_equal(f->cfg.n_base_urls, 0);
    assert_string_equal(f->cfg.base_url, "http://a:1");
    /* --set with commas */
    assert_int_equal(lleval_config_set(&f->cfg, "base_url", "http://x:1,http://y:2", NULL, &f->err),
                     0);
    assert_int_equal(f->cfg.n_base_urls, 2);
    assert_string_equal(f->cfg.base_urls[1], "http://y:2");
    /* every address is checked */
    assert_int_equal(tu_cfg_load(f, "base_url: [\"http://a:1\", \"ftp://b\"]\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "'base_url[1]' must start with http://"));
    assert_int_equal(tu_cfg_load(f, "base_url: []\n"), LLEVAL_EINVAL);
}

static void test_endpoints_list(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\n"
                                    "endpoints:\n"
                                    "  - {base_url: \"http://a:1\", concurrency: 4}\n"
                                    "  - http://b:2\n"
                                    "  - {base_url: \"http://c:3/v1\", engine: openai}\n"),
                     0);
    assert_int_equal(f->cfg.n_endpoints, 3);
    assert_string_equal(f->cfg.endpoints[0].base_url, "http://a:1");
    assert_int_equal(f->cfg.endpoints[0].concurrency, 4);
    assert_false(f->cfg.endpoints[0].engine_set);
    assert_string_equal(f->cfg.endpoints[1].base_url, "http://b:2");
    assert_int_equal(f->cfg.endpoints[1].concurrency, 0);
    assert_true(f->cfg.endpoints[2].engine_set);
    assert_int_equal(f->cfg.endpoints[2].engine, LLEVAL_ENGINE_OPENAI);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    {
        char *want = lleval_xasprintf("%s:3:43", f->path);
        tu_assert_origin(&f->cfg, "endpoints[0].concurrency", want);
        free(want);
    }

    /* typos are named with a suggestion; bad values with their range */
    assert_int_equal(tu_cfg_load(f, "endpoints:\n  - {base_url: \"http://a:1\", concurency: 4}\n"),
                     LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "did you mean 'concurrency'"));
    assert_int_equal(tu_cfg_load(f, "endpoints:\n  - {base_url: \"http://a:1\", concurrency: 0}\n"),
                     LLEVAL_EINVAL);
    assert_int_equal(tu_cfg_load(f, "endpoints:\n  - {concurrency: 2}\n"), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "has no 'base_url'"));
    assert_int_equal(tu_cfg_load(f, "endpoints:\n  - {base_url: \"http://a:1\", engine: dry}\n"),
                     LLEVAL_EINVAL);
    /* endpoints and a list of base_url together: one too many */
    assert_int_equal(tu_cfg_load(f, "base_url: [\"http://a:1\", \"http://b:2\"]\n"
                                    "endpoints: [\"http://c:3\"]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "keep one of them"));
}

static void test_launch_instances(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nlaunch:\n  model: m.gguf\n  instances: 3\n"
                                    "  devices: [\"0\", \"1\", \"2\"]\n"),
                     0);
    assert_int_equal(f->cfg.launch.instances, 3);
    assert_int_equal(f->cfg.launch.n_devices, 3);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    /* one device selection per instance */
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nlaunch:\n  model: m.gguf\n  instances: 2\n"
                                    "  devices: [\"0\", \"1\", \"2\"]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "3 device selections for 2 instances"));
    /* instances without launch, and launch with endpoints */
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nlaunch:\n  instances: 2\n"), 0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_int_equal(tu_cfg_load(f, "engine: llamacpp\nlaunch: {model: m.gguf}\n"
                                    "endpoints: [\"http://a:1\"]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_int_equal(
        tu_cfg_load(f, "engine: llamacpp\nlaunch:\n  model: m.gguf\n  instances: 65\n"),
        LLEVAL_EINVAL);
}

/* Loads content into a config of its own (tu_cfg_load applies over what the fixture holds). */
static int load_fresh(struct fixture *f, const char *content)
{
    lleval_config_release(&f->cfg);
    lleval_config_init(&f->cfg);
    return tu_cfg_load(f, content);
}

/* Settings that make sense for one server only are refused for several, each named. */
static void test_several_servers_refuse(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_fresh(f, "engine: llamacpp\n"
                                   "base_url: [\"http://a:1\", \"http://b:2\"]\n"
                                   "max_concurrent_jobs: auto\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, ":3:22: 'max_concurrent_jobs: auto' measures one server"));
    assert_int_equal(load_fresh(f, "engine: openai_batch\n"
                                   "endpoints: [\"http://a:1/v1\", \"http://b:2/v1\"]\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, ":1:9: a cloud batch engine sends its jobs to one"));
    assert_int_equal(load_fresh(f, "engine: llamacpp\n"
                                   "models:\n"
                                   "  - {id: a, launch: {model: a.gguf}}\n"
                                   "  - {id: b, launch: {model: b.gguf}}\n"
                                   "launch: {instances: 2}\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_non_null(strstr(f->err.msg, "'launch.instances' must be 1"));
    /* one server: auto and a batch engine are fine */
    assert_int_equal(load_fresh(f, "engine: openai_batch\nbase_url: \"http://a:1/v1\"\n"
                                   "max_concurrent_jobs: auto\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct lleval_config back;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *y1, *y2, *path;

    assert_int_equal(tu_cfg_load(f, "engine: ollama\n"
                                    "endpoints:\n"
                                    "  - {base_url: \"http://a:1\", concurrency: 4}\n"
                                    "  - {base_url: \"http://c:3/v1\", engine: llamacpp}\n"
                                    "launch: {instances: 1, devices: [\"7\"]}\n"),
                     0);
    y1 = lleval_config_to_yaml(&f->cfg, false);
    path = tu_write(f->dir, "resolved.yaml", y1);
    lleval_config_init(&back);
    if (lleval_config_load_file(&back, path, &err))
        print_error("%s\n---\n%s\n", err.msg, y1);
    assert_int_equal(err.code, 0);
    y2 = lleval_config_to_yaml(&back, false);
    assert_string_equal(y1, y2);
    assert_int_equal(back.n_endpoints, 2);
    assert_int_equal(back.endpoints[0].concurrency, 4);
    assert_int_equal(back.endpoints[1].engine, LLEVAL_ENGINE_LLAMACPP);
    assert_string_equal(back.launch.devices[0], "7");
    lleval_config_release(&back);
    free(path);
    free(y1);
    free(y2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_url_list, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_endpoints_list, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_launch_instances, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_several_servers_refuse, tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, tu_cfg_setup, tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
