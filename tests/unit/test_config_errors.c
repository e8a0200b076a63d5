/* Unit tests for errors that point at the config (lib/config/problems.c, validate.c,
 * apply.c, read.c): every problem of a file and every cross-field problem is listed,
 * not the first only (one per line, then "... and N more" when they do not fit), and a
 * dataset path that does not exist names the dataset, the file:line:column of its path
 * and the directory it was resolved against. */
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <direct.h>
#define test_getcwd _getcwd
#else
#include <unistd.h>
#define test_getcwd getcwd
#endif
#include "testutil.h"
#include "tu_config.h"
#include "lleval/config/config.h"
#include "lleval/util/util.h"

static size_t count_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Asserts msg holds "<path>:line:col: want". */
static void assert_at(const struct fixture *f, const char *msg, int line, int col, const char *want)
{
    char *at = lleval_xasprintf("%s:%d:%d: %s", f->path, line, col, want);
    tu_assert_contains(msg, at);
    free(at);
}

static void test_every_bad_key_of_a_file_is_listed(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "top_k: -5\n"
                                    "model_idd: x\n"
                                    "temps: [9]\n"
                                    "max_new_tokens: {open_book: abc}\n"
                                    "preset: turbo\n"
                                    "seed: 7\n"),
                     LLEVAL_EINVAL);
    assert_int_equal(f->err.code, LLEVAL_EINVAL);
    assert_int_equal(count_lines(f->err.msg), 5);
    assert_at(f, f->err.msg, 1, 8, "'top_k' must be from 0 to");
    assert_at(f, f->err.msg, 2, 1, "unknown key 'model_idd'; did you mean 'model_id'?");
    assert_at(f, f->err.msg, 3, 9, "'temps[0]' must be from 0 to 2");
    assert_at(f, f->err.msg, 4, 29, "'max_new_tokens.open_book' must be a whole number");
    assert_at(f, f->err.msg, 5, 9, "unknown preset 'turbo'");
}

static void test_every_cross_field_problem_is_listed(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(tu_cfg_load(f, "temps: [0.0, 0.0]\n"
                                    "context_length: 300\n"
                                    "base_url: localhost:11434\n"
                                    "prompt_set: nope\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_int_equal(count_lines(f->err.msg), 5);
    assert_at(f, f->err.msg, 1, 8, "'temps' lists 0 twice");
    assert_at(f, f->err.msg, 2, 17, "'max_new_tokens.closed_book' (512) leaves no room");
    assert_at(f, f->err.msg, 2, 17, "'max_new_tokens.open_book' (1024) leaves no room");
    assert_at(f, f->err.msg, 3, 11, "'base_url' must start with http://");
    assert_at(f, f->err.msg, 4, 13, "prompt set 'nope' does not exist");
}

static void test_many_problems_end_with_how_many_more(void **state)
{
    struct fixture *f = *state;
    struct lleval_sb yaml = LLEVAL_SB_INIT;
    for (int i = 0; i < 40; i++)
        lleval_sb_addf(&yaml, "unknown_key_number_%02d: 1\n", i);
    assert_int_equal(tu_cfg_load(f, yaml.buf), LLEVAL_EINVAL);
    lleval_sb_release(&yaml);
    assert_true(strlen(f->err.msg) < LLEVAL_ERR_MAX);
    tu_assert_contains(f->err.msg, "unknown key 'unknown_key_number_00'");
    tu_assert_contains(f->err.msg, "more problems in the configuration");
    {
        /* the lines shown and the "more" count add up to the 40 */
        const char *more = strstr(f->err.msg, "... and ");
        long rest = strtol(more + 8, NULL, 10);
        assert_int_equal((long)count_lines(f->err.msg) - 1 + rest, 40);
    }
}

static void test_a_missing_dataset_names_dataset_place_and_directory(void **state)
{
    struct fixture *f = *state;
    char cwd[4096];
    char *want;
    assert_non_null(test_getcwd(cwd, sizeof(cwd)));
    assert_int_equal(tu_cfg_load(f, "datasets:\n"
                                    "  - name: nq_missing\n"
                                    "    format: nq_open\n"
                                    "    path: no/such/dir/nq.jsonl\n"
                                    "  - {name: mmlu_missing, format: mmlu, path: no/such/mmlu}\n"),
                     0);
    assert_int_equal(lleval_config_validate(&f->cfg, &f->err), 0);
    assert_int_equal(lleval_config_check_datasets(&f->cfg, &f->err), LLEVAL_EINVAL);
    assert_int_equal(count_lines(f->err.msg), 2); /* both datasets, not the first only */
    assert_at(f, f->err.msg, 4, 11,
              "dataset 'nq_missing': path 'no/such/dir/nq.jsonl' does not exist (resolved "
              "against '");
    assert_at(f, f->err.msg, 5, 46, "dataset 'mmlu_missing': path 'no/such/mmlu' does not exist");
    want = lleval_xasprintf("resolved against '%s'", cwd);
    tu_assert_contains(f->err.msg, want);
    free(want);
}

static void test_a_path_relative_to_the_config_file_is_pointed_out(void **state)
{
    struct fixture *f = *state;
    char *data =
        tu_write(f->dir, "nq_beside.jsonl", "{\"question\": \"q\", \"answer\": [\"a\"]}\n");
    assert_int_equal(tu_cfg_load(f, "datasets: [{name: beside, format: nq_open, path: "
                                    "nq_beside.jsonl}]\n"),
                     0);
    assert_int_equal(lleval_config_check_datasets(&f->cfg, &f->err), LLEVAL_EINVAL);
    tu_assert_contains(f->err.msg, "exists, relative to the config file");
    tu_assert_contains(f->err.msg, data);
    free(data);
}

static void test_existing_datasets_pass(void **state)
{
    struct fixture *f = *state;
    char *data = tu_write(f->dir, "nq.jsonl", "{\"question\": \"q\", \"answer\": [\"a\"]}\n");
    char *yaml = lleval_xasprintf("datasets: [{name: nq, format: nq_open, path: '%s'}]\n", data);
    assert_int_equal(tu_cfg_load(f, yaml), 0);
    assert_int_equal(lleval_config_check_datasets(&f->cfg, &f->err), 0);
    free(yaml);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_bad_key_of_a_file_is_listed, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_every_cross_field_problem_is_listed, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_many_problems_end_with_how_many_more, tu_cfg_setup,
                                        tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_dataset_names_dataset_place_and_directory,
                                        tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_a_path_relative_to_the_config_file_is_pointed_out,
                                        tu_cfg_setup, tu_cfg_teardown),
        cmocka_unit_test_setup_teardown(test_existing_datasets_pass, tu_cfg_setup, tu_cfg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
