/*
 * libFuzzer target for the config reader: the input is a YAML config file
 * (lleval_config_load_file reads a path, so it goes through a scratch file).
 * A config that loads is validated and written back as YAML and JSON (every
 * value and origin walked), and the YAML lleval writes must load again. The
 * input also goes, as one value, through the command line's --set path
 * (lleval_config_set: YAML flow for lists and mappings).
 */
#include <jansson.h>
#include "fuzz_common.h"
#include "lleval/config/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_dir();
    return 0;
}

static void walk(const struct lleval_config *cfg)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *const *keys = lleval_config_keys();
    char *yaml;
    json_t *j;

    lleval_config_validate(cfg, &err);
    fuzz_use(err.msg);
    for (size_t i = 0; keys[i]; i++) {
        char *where = lleval_config_origin(cfg, keys[i]);
        fuzz_use(where);
        free(where);
    }
    for (size_t i = 0; i < cfg->n_datasets; i++) {
        fuzz_use(cfg->datasets[i].name);
        fuzz_use(cfg->datasets[i].path);
    }
    fuzz_use(lleval_config_base_url(cfg));
    yaml = lleval_config_to_yaml(cfg, true);
    fuzz_use(yaml);
    free(yaml);
    j = lleval_config_to_json(cfg);
    free(json_dumps(j, 0));
    json_decref(j);
    j = lleval_config_origins_json(cfg);
    free(json_dumps(j, 0));
    json_decref(j);
}

/* What lleval writes as the resolved config must load again. */
static void reload(const struct lleval_config *cfg)
{
    struct lleval_config again;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char path[300];
    char *yaml = lleval_config_to_yaml(cfg, false);
    int rc;
    fuzz_path(path, sizeof(path), "resolved.yaml");
    fuzz_write(path, yaml, strlen(yaml));
    lleval_config_init(&again);
    rc = lleval_config_load_file(&again, path, &err);
    FUZZ_CHECK(rc == 0, "the config lleval wrote does not load: %s\n%s", err.msg, yaml);
    lleval_config_release(&again);
    free(yaml);
}

/* The key for --set: the flow-valued ones for a value that starts a flow
 * collection, else one picked by the size. */
static const char *set_key(const char *const *keys, size_t n_keys, const char *value, size_t size)
{
    if (value[0] == '[' || value[0] == '{')
        return size % 3 == 0 ? "datasets" : size % 3 == 1 ? "prompt_sets" : "stop";
    return keys[size % n_keys];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lleval_config cfg;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *const *keys = lleval_config_keys();
    size_t n_keys = 0;
    char path[300];
    char *value;

    fuzz_path(path, sizeof(path), "config.yaml");
    fuzz_write(path, data, size);
    lleval_config_init(&cfg);
    if (!lleval_config_load_file(&cfg, path, &err)) {
        walk(&cfg);
        reload(&cfg);
    }
    fuzz_use(err.msg);
    lleval_config_release(&cfg);

    /* --set KEY=VALUE with the input as the value (a C string: up to a NUL) */
    while (keys[n_keys])
        n_keys++;
    value = malloc(size + 1);
    if (size)
        memcpy(value, data, size);
    value[size] = '\0';
    lleval_config_init(&cfg);
    if (!lleval_config_set(&cfg, set_key(keys, n_keys, value, size), value, "--set", &err))
        walk(&cfg);
    fuzz_use(err.msg);
    lleval_config_release(&cfg);
    free(value);
    return 0;
}
