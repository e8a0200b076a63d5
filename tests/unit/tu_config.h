/*
 * The config tests' shared fixture (test_config*.c): a temporary directory,
 * a config initialised with the defaults, and a file loaded over it.
 */
#ifndef TU_CONFIG_H
#define TU_CONFIG_H

#include "lleval/config/config.h"
#include "lleval/util/error.h"

struct fixture {
    char *dir;  /* owned: the temporary directory, removed by the teardown */
    char *path; /* owned: the last file load() wrote */
    struct lleval_config cfg;
    struct lleval_err err;
};

/* cmocka setup/teardown: *state is a struct fixture. */
int tu_cfg_setup(void **state);
int tu_cfg_teardown(void **state);
/* Writes content as eval.yaml in the fixture's directory and loads it over
 * f->cfg; returns lleval_config_load_file's code, f->err its error. */
int tu_cfg_load(struct fixture *f, const char *content);
/* Fails unless lleval_config_origin(cfg, key) is want. */
void tu_assert_origin(const struct lleval_config *cfg, const char *key, const char *want);

#endif
