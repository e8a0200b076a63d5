/*
 * Regression tests for what the fuzzers in tests/fuzz found (docs/fuzzing.md):
 * one case per finding, with the input that crashed (or broke a check), cut
 * down, and the behaviour the fix promises. Each case failed before its fix.
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* fuzz_config: a list value given to --set with invalid UTF-8 made libyaml
 * refuse the scalar (node id 0) and abort in yaml_document_append_sequence_item;
 * a plain value gave no root node. Both are an error naming the key now. */
static void test_config_set_invalid_utf8(void **state)
{
    static const struct {
        const char *key;
        const char *value;
    } cases[] = {
        {"stop", "a: &a [0, 0.5]\xfb\ntemps: *a"},
        {"temps", "0, \xff"},
        {"stop", "\xc3"},
        {"model_id", "m\xfe"},
        {"keep_alive", "\xed\xa0\x80"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_config cfg;
        struct lleval_err err = LLEVAL_ERR_INIT;
        lleval_config_init(&cfg);
        assert_int_equal(lleval_config_set(&cfg, cases[i].key, cases[i].value, "--set", &err),
                         LLEVAL_EINVAL);
        tu_assert_contains(err.msg, cases[i].key);
        tu_assert_contains(err.msg, "UTF-8");
        lleval_config_release(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_set_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
