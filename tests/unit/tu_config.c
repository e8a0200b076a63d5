/*
 * The config tests' shared fixture (tu_config.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tu_config.h"

int tu_cfg_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    lleval_config_init(&f->cfg);
    *state = f;
    return 0;
}

int tu_cfg_teardown(void **state)
{
    struct fixture *f = *state;
    lleval_config_release(&f->cfg);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

int tu_cfg_load(struct fixture *f, const char *content)
{
    free(f->path);
    f->path = tu_write(f->dir, "eval.yaml", content);
    f->err = (struct lleval_err)LLEVAL_ERR_INIT;
    return lleval_config_load_file(&f->cfg, f->path, &f->err);
}

void tu_assert_origin(const struct lleval_config *cfg, const char *key, const char *want)
{
    char *got = lleval_config_origin(cfg, key);
    /* free before fail(): mingw's cmocka.h does not mark fail() noreturn (use-after-free). */
    bool differ = strcmp(got, want) != 0;
    if (differ)
        print_error("origin of '%s': want \"%s\", got \"%s\"\n", key, want, got);
    free(got);
    if (differ)
        fail();
}
