/*
 * libFuzzer target for an engine adapter's probe replies (engine/probe.h),
 * built once per engine with -DFUZZ_ENGINE=LLEVAL_ENGINE_LLAMACPP / _OLLAMA /
 * _OPENAI (tests/fuzz/run.sh: probe_llamacpp, probe_ollama, probe_openai).
 *
 * Input: an optional HTTP status line ("503\n"; 200 when absent), then the
 * reply body. llamacpp: the body as GET /health and as GET /props; ollama: as
 * GET /api/tags and, when the model was found, as GET /api/version; openai:
 * as GET /models (a 404 both with and without a {base}/v1/models that
 * answers). Each reply goes to two engines: one with an API key in the
 * environment, a password in base_url, a model_id and a context_length; one
 * with an api_key_env that is not set and neither model nor context. The
 * target aborts when a registered secret appears in a message or the detail
 * line, when a failure has no message or leaves info filled, or when a
 * success has no detail line or one that is not valid UTF-8.
 */
#include <jansson.h>
#include "fuzz_engine.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/engine/probe.h"
#include "lleval/util/text.h"

#ifndef FUZZ_ENGINE
#define FUZZ_ENGINE LLEVAL_ENGINE_LLAMACPP
#endif

struct fuzz_engine {
    struct lleval_config cfg;
    struct lleval_engine *e;
    char *where;
};

static struct fuzz_engine engines[2];

static void open_one(struct fuzz_engine *f, const char *url, const char *key_env, const char *model,
                     long context_length)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_config_init(&f->cfg);
    f->cfg.engine = FUZZ_ENGINE;
    free(f->cfg.model_id);
    f->cfg.model_id = model ? strdup(model) : NULL;
    free(f->cfg.base_url);
    f->cfg.base_url = strdup(url);
    free(f->cfg.api_key_env);
    f->cfg.api_key_env = strdup(key_env);
    f->cfg.context_length = context_length;
    if (lleval_engine_open(&f->e, &f->cfg, &err)) {
        fprintf(stderr, "fuzz: cannot open the engine: %s\n", err.msg);
        abort();
    }
    f->where = lleval_http_url_redact(lleval_engine_base_url(f->e));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("LLEVAL_FUZZ_API_KEY", FUZZ_API_KEY, 1);
    unsetenv("LLEVAL_FUZZ_NO_KEY");
    open_one(&engines[0], "http://fuzzuser:" FUZZ_PASSWORD "@127.0.0.1:9/v1", "LLEVAL_FUZZ_API_KEY",
             "fuzz-model:latest", 8192);
    open_one(&engines[1], "http://127.0.0.1:9", "LLEVAL_FUZZ_NO_KEY", NULL, 0);
    FUZZ_CHECK(lleval_engine_api_key(engines[0].e) != NULL, "the API key was not read");
    return 0;
}

/* The promises of a probe reply function that returned rc. */
static void check_outcome(int rc, const struct lleval_probe_info *info,
                          const struct lleval_err *err)
{
    if (rc) {
        FUZZ_CHECK(rc == LLEVAL_EENGINE, "a probe failed with %d", rc);
        FUZZ_CHECK(err->msg[0] != '\0', "a probe failed without a message");
        fuzz_check_no_secret("error message", err->msg);
        FUZZ_CHECK(!info->model && !info->detail, "a failed probe filled info");
        return;
    }
    FUZZ_CHECK(info->detail != NULL, "a probe succeeded without a detail line");
    FUZZ_CHECK(info->slots >= 0 && info->slot_ctx >= 0, "negative slots or context");
    fuzz_check_no_secret("detail", info->detail);
    fuzz_check_utf8("detail", info->detail);
    fuzz_use(info->model);
}

static void probe_llamacpp(struct fuzz_engine *f, long status, const char *body, size_t len)
{
    struct lleval_err err = LLEVAL_ERR_INIT, props_err = LLEVAL_ERR_INIT;
    struct lleval_probe_info info;
    enum lleval_health health =
        lleval_llamacpp_health_reply(f->e, f->where, status, body, len, &err);
    if (health == LLEVAL_HEALTH_FAILED) {
        FUZZ_CHECK(err.msg[0] != '\0', "GET /health failed without a message");
        fuzz_check_no_secret("/health error message", err.msg);
    } else {
        FUZZ_CHECK(err.msg[0] == '\0', "GET /health %d with a message: %s", (int)health, err.msg);
        FUZZ_CHECK((status == 200) == (health == LLEVAL_HEALTH_READY), "HTTP %ld is ready", status);
    }
    check_outcome(lleval_llamacpp_props_reply(f->e, f->where, status, body, len, &info, &props_err),
                  &info, &props_err);
    lleval_probe_info_release(&info);
}

static void probe_ollama(struct fuzz_engine *f, long status, const char *body, size_t len)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_probe_info info;
    int rc = lleval_ollama_tags_reply(f->e, f->where, status, body, len, &info, &err);
    check_outcome(rc, &info, &err);
    if (!rc) {
        lleval_ollama_version_reply(status, body, len, &info);
        check_outcome(0, &info, &err);
    }
    lleval_probe_info_release(&info);
}

static void probe_openai(struct fuzz_engine *f, long status, const char *body, size_t len)
{
    static const long v1_status[] = {0, 200};
    for (size_t i = 0; i < (status == 404 ? 2u : 1u); i++) {
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_probe_info info;
        check_outcome(lleval_openai_models_reply(f->e, f->where, status, body, len, v1_status[i],
                                                 &info, &err),
                      &info, &err);
        lleval_probe_info_release(&info);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long status = fuzz_split_status(&data, &size);
    char *body = fuzz_dup(data, size);
    for (size_t i = 0; i < 2; i++) {
        if (FUZZ_ENGINE == LLEVAL_ENGINE_LLAMACPP)
            probe_llamacpp(&engines[i], status, body, size);
        else if (FUZZ_ENGINE == LLEVAL_ENGINE_OLLAMA)
            probe_ollama(&engines[i], status, body, size);
        else
            probe_openai(&engines[i], status, body, size);
    }
    free(body);
    return 0;
}
