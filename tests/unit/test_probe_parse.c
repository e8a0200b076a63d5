/*
 * Unit tests for the reply halves of the engine probes (engine/probe.h):
 * llama-server's GET /health and /props, Ollama's GET /api/tags and
 * /api/version, an OpenAI-compatible server's GET /models. Good replies are
 * shaped like each server's published API (llama.cpp tools/server/README.md,
 * Ollama docs/api.md, OpenAI's "List models"); hostile ones have wrong types,
 * huge numbers, missing fields, non-object JSON, invalid UTF-8, and the API
 * key or the URL password echoed where a message or the detail line quotes
 * the server. No server: test_engines.c probes the fakes end to end.
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/engine/probe.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

#define KEY_ENV   "LLEVAL_TEST_PROBE_KEY"
#define KEY       "sk-probe-5b7e21c9d04f8a36"
#define PASSWORD  "pw-probe-3c9a61f0"
#define UNSET_ENV "LLEVAL_TEST_PROBE_UNSET"

/* One open engine and the address its messages show. */
struct probe_env {
    struct lleval_config cfg;
    struct lleval_engine *e;
    char *where;
};

static void env_open(struct probe_env *p, enum lleval_engine_kind kind, const char *base_url,
                     const char *key_env, const char *model, long context_length)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    tu_setenv(KEY_ENV, KEY);
    tu_unsetenv(UNSET_ENV);
    memset(&p->cfg, 0, sizeof(p->cfg));
    p->cfg.engine = kind;
    p->cfg.base_url = (char *)base_url;
    p->cfg.api_key_env = (char *)key_env;
    p->cfg.model_id = (char *)model;
    p->cfg.context_length = context_length;
    p->cfg.max_concurrent_jobs = 1;
    if (lleval_engine_open(&p->e, &p->cfg, &err)) {
        print_error("lleval_engine_open: %s\n", err.msg);
        fail();
    }
    p->where = lleval_http_url_redact(lleval_engine_base_url(p->e));
}

static void env_close(struct probe_env *p)
{
    lleval_engine_close(p->e);
    free(p->where);
}

/* Returns pattern with each "WHERE" replaced by where; owned. */
static char *with_where(const char *pattern, const char *where)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *at;
    while ((at = strstr(pattern, "WHERE"))) {
        lleval_sb_add(&sb, pattern, (size_t)(at - pattern));
        lleval_sb_adds(&sb, where);
        pattern = at + 5;
    }
    lleval_sb_adds(&sb, pattern);
    return lleval_sb_detach(&sb, NULL);
}

static void assert_no_secret(const char *text)
{
    if (!text)
        return;
    if (strstr(text, KEY) || strstr(text, PASSWORD)) {
        print_error("a secret is in: %s\n", text);
        fail();
    }
}

static void assert_utf8(const char *s)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t n = lleval_utf8_seq(s + i, len - i);
        assert_true(n > 0);
        i += n;
    }
}

/* ---- llama-server ------------------------------------------------------------------------------
 */

static void test_llamacpp_health(void **state)
{
    struct probe_env p;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char loading[] =
        "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}";
    static const char leak[] = "{\"error\":{\"code\":500,\"message\":\"bad key " KEY "\"}}";
    (void)state;
    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://127.0.0.1:8080", KEY_ENV, NULL, 0);

    assert_int_equal(
        lleval_llamacpp_health_reply(p.e, p.where, 200, "{\"status\":\"ok\"}", 15, &err),
        LLEVAL_HEALTH_READY);
    assert_string_equal(err.msg, "");
    assert_int_equal(
        lleval_llamacpp_health_reply(p.e, p.where, 503, loading, strlen(loading), &err),
        LLEVAL_HEALTH_LOADING);
    assert_string_equal(err.msg, "");

    assert_int_equal(lleval_llamacpp_health_reply(p.e, p.where, 404, "Not Found", 9, &err),
                     LLEVAL_HEALTH_FAILED);
    assert_int_equal(err.code, LLEVAL_EENGINE);
    assert_string_equal(err.msg, "http://127.0.0.1:8080 answered HTTP 404 to GET /health: is it "
                                 "llama-server? (for Ollama use engine ollama, for other servers "
                                 "engine openai)");

    assert_int_equal(lleval_llamacpp_health_reply(p.e, p.where, 500, leak, strlen(leak), &err),
                     LLEVAL_HEALTH_FAILED);
    assert_string_equal(err.msg,
                        "llama-server at http://127.0.0.1:8080 answered HTTP 500 to GET /health: "
                        "bad key ***");
    assert_int_equal(lleval_llamacpp_health_reply(p.e, p.where, 0, NULL, 0, &err),
                     LLEVAL_HEALTH_FAILED);
    assert_string_equal(err.msg,
                        "llama-server at http://127.0.0.1:8080 answered HTTP 0 to GET /health");
    env_close(&p);
}

/* The /props of llama-server started with -c 8192 -np 4 (README: GET /props). */
static const char props_good[] =
    "{\"default_generation_settings\":{\"id\":0,\"id_task\":-1,\"n_ctx\":2048,"
    "\"speculative\":false,\"is_processing\":false,\"params\":{\"n_predict\":-1,"
    "\"temperature\":0.8}},\"total_slots\":4,"
    "\"model_path\":\"/models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf\","
    "\"chat_template\":\"{% for m in messages %}{{ m.content }}{% endfor %}\","
    "\"modalities\":{\"vision\":false},\"build_info\":\"b5630-2e89f76b\"}";

static void test_llamacpp_props_good(void **state)
{
    struct probe_env p;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char alias[] =
        "{\"default_generation_settings\":{\"n_ctx\":8192},\"total_slots\":1,"
        "\"model_path\":\"/m/q.gguf\",\"model_alias\":\"qwen\"}";
    (void)state;
    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://127.0.0.1:8080/v1", NULL, NULL, 2048);

    assert_int_equal(lleval_llamacpp_props_reply(p.e, "http://h:8080", 200, props_good,
                                                 strlen(props_good), &info, &err),
                     0);
    assert_int_equal(info.slots, 4);
    assert_int_equal(info.slot_ctx, 2048);
    assert_string_equal(info.model, "/models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf");
    assert_string_equal(info.detail, "llama-server b5630-2e89f76b at http://h:8080: 4 slots of "
                                     "2048 tokens each, model "
                                     "'/models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf'");
    lleval_probe_info_release(&info);

    /* the alias wins over the path; one slot smaller than context_length warns */
    p.cfg.context_length = 16384;
    assert_int_equal(
        lleval_llamacpp_props_reply(p.e, "http://h:8080", 200, alias, strlen(alias), &info, &err),
        0);
    assert_int_equal(info.slots, 1);
    assert_string_equal(info.model, "qwen");
    assert_string_equal(info.detail,
                        "llama-server at http://h:8080: 1 slot of 8192 tokens each, model 'qwen'; "
                        "warning: context_length 16384 is larger than the 8192 tokens of one "
                        "llama-server slot (raise its -c; -np N splits -c into N slots unless "
                        "the KV cache is unified): longer requests will be refused");
    lleval_probe_info_release(&info);
    env_close(&p);
}

static void test_llamacpp_props_key(void **state)
{
    struct probe_env p;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char denied[] = "{\"error\":{\"code\":401,\"message\":\"Invalid API Key\"}}";
    (void)state;

    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://127.0.0.1:8080", UNSET_ENV, NULL, 0);
    assert_int_equal(
        lleval_llamacpp_props_reply(p.e, p.where, 401, denied, strlen(denied), &info, &err),
        LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "the environment variable " UNSET_ENV " (api_key_env) is not set");
    assert_null(info.detail);
    env_close(&p);

    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://127.0.0.1:8080", KEY_ENV, NULL, 0);
    assert_int_equal(
        lleval_llamacpp_props_reply(p.e, p.where, 403, denied, strlen(denied), &info, &err),
        LLEVAL_EENGINE);
    assert_string_equal(err.msg,
                        "llama-server at http://127.0.0.1:8080 refused the API key in "
                        "the environment variable " KEY_ENV " (api_key_env): check its value");
    env_close(&p);

    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://127.0.0.1:8080", NULL, NULL, 0);
    assert_int_equal(lleval_llamacpp_props_reply(p.e, p.where, 401, "", 0, &info, &err),
                     LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "set api_key_env in the config");
    env_close(&p);
}

static void test_llamacpp_props_hostile(void **state)
{
    static const struct {
        long status;
        const char *body;
        long slots, slot_ctx;
        const char *model;
        const char *detail; /* contained */
    } cases[] = {
        /* wrong types: counts unknown, strings ignored */
        {200,
         "{\"total_slots\":\"4\",\"default_generation_settings\":[2048],"
         "\"model_alias\":7,\"model_path\":{\"p\":1},\"build_info\":null}",
         0, 0, NULL, "llama-server at WHERE: slots unknown"},
        {200, "{\"total_slots\":true,\"default_generation_settings\":{\"n_ctx\":\"2048\"}}", 0, 0,
         NULL, "slots unknown"},
        /* negative, zero and huge numbers */
        {200, "{\"total_slots\":-3,\"default_generation_settings\":{\"n_ctx\":0}}", 0, 0, NULL,
         "slots unknown"},
        {200, "{\"total_slots\":2.9,\"default_generation_settings\":{\"n_ctx\":-1e300}}", 2, 0,
         NULL, "WHERE: 2 slots"},
        {200, "{\"total_slots\":99999999999999999999999}", 0, 0, NULL,
         "warning: no usable GET /props (HTTP 200)"},
        /* missing fields, an empty alias, the path as fallback */
        {200, "{}", 0, 0, NULL, "llama-server at WHERE: slots unknown"},
        {200, "{\"model_alias\":\"\",\"model_path\":\"p.gguf\"}", 0, 0, "p.gguf", "'p.gguf'"},
        /* not an object, not JSON, empty, another status */
        {200, "[{\"total_slots\":4}]", 0, 0, NULL, "warning: no usable GET /props (HTTP 200)"},
        {200, "\"props\"", 0, 0, NULL, "no usable GET /props"},
        {200, "{\"total_slots\":4", 0, 0, NULL, "no usable GET /props"},
        {200, "", 0, 0, NULL, "no usable GET /props"},
        {404, "{\"total_slots\":4}", 0, 0, NULL, "no usable GET /props (HTTP 404)"},
        {500, "{\"error\":\"" KEY "\"}", 0, 0, NULL, "(HTTP 500); slots and context unknown"},
        /* invalid UTF-8 becomes U+FFFD */
        {200, "{\"model_alias\":\"q\xff\xfe\",\"build_info\":\"b\xc3\"}", 0, 0,
         "q\xef\xbf\xbd\xef\xbf\xbd", "llama-server b\xef\xbf\xbd at"},
        /* the key and the password echoed */
        {200,
         "{\"model_alias\":\"" KEY "\",\"build_info\":\"b1 " KEY "\",\"total_slots\":1,"
         "\"model_path\":\"http://u:" PASSWORD "@x/m.gguf\"}",
         1, 0, KEY, "llama-server b1 [redacted] at WHERE: 1 slot, model '[redacted]'"},
    };
    struct probe_env p;
    (void)state;
    env_open(&p, LLEVAL_ENGINE_LLAMACPP, "http://user:" PASSWORD "@127.0.0.1:8080", KEY_ENV, NULL,
             4096);
    assert_string_equal(p.where, "http://127.0.0.1:8080");
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_probe_info info;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *want = with_where(cases[i].detail, p.where);
        assert_int_equal(lleval_llamacpp_props_reply(p.e, p.where, cases[i].status, cases[i].body,
                                                     strlen(cases[i].body), &info, &err),
                         0);
        assert_int_equal(info.slots, cases[i].slots);
        assert_int_equal(info.slot_ctx, cases[i].slot_ctx);
        if (cases[i].model)
            assert_string_equal(info.model, cases[i].model);
        else
            assert_null(info.model);
        tu_assert_contains(info.detail, want);
        assert_no_secret(info.detail);
        assert_utf8(info.detail);
        free(want);
        lleval_probe_info_release(&info);
    }
    env_close(&p);
}

/* ---- Ollama -----------------------------------------------------------------------------------
 */

/* GET /api/tags as docs/api.md "List Local Models" shows it. */
static const char tags_good[] =
    "{\"models\":[{\"name\":\"deepseek-r1:latest\",\"model\":\"deepseek-r1:latest\","
    "\"modified_at\":\"2025-05-10T08:06:48.639712648-07:00\",\"size\":4683075271,"
    "\"digest\":\"0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163\","
    "\"details\":{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"qwen2\","
    "\"families\":[\"qwen2\"],\"parameter_size\":\"7.6B\",\"quantization_level\":\"Q4_K_M\"}},"
    "{\"name\":\"llama3.2:latest\",\"model\":\"llama3.2:latest\",\"size\":2019393189,"
    "\"details\":{\"format\":\"gguf\",\"family\":\"llama\",\"parameter_size\":\"3.2B\","
    "\"quantization_level\":\"Q4_K_M\"}}]}";

static void test_ollama_tags_good(void **state)
{
    struct probe_env p;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char version[] = "{\"version\":\"0.5.1\"}";
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OLLAMA, "http://127.0.0.1:11434", NULL, "Llama3.2", 4096);

    /* "Llama3.2" is "llama3.2:latest" */
    assert_int_equal(
        lleval_ollama_tags_reply(p.e, p.where, 200, tags_good, strlen(tags_good), &info, &err), 0);
    assert_string_equal(info.model, "llama3.2:latest");
    assert_int_equal(info.slot_ctx, 4096);
    assert_int_equal(info.slots, 0);
    assert_string_equal(info.detail, "Ollama at http://127.0.0.1:11434: model 'llama3.2:latest' "
                                     "(3.2B, Q4_K_M, 2.0 GB), num_ctx 4096");
    lleval_ollama_version_reply(200, version, strlen(version), &info);
    assert_string_equal(info.detail, "Ollama 0.5.1 at http://127.0.0.1:11434: model "
                                     "'llama3.2:latest' (3.2B, Q4_K_M, 2.0 GB), num_ctx 4096");
    lleval_probe_info_release(&info);

    /* the "model" field matches too; no details, no context_length */
    p.cfg.model_id = (char *)"deepseek-r1";
    p.cfg.context_length = 0;
    assert_int_equal(lleval_ollama_tags_reply(p.e, p.where, 200,
                                              "{\"models\":[{\"model\":\"deepseek-r1:latest\"}]}",
                                              43, &info, &err),
                     0);
    assert_string_equal(info.detail,
                        "Ollama at http://127.0.0.1:11434: model 'deepseek-r1:latest'");
    assert_int_equal(info.slot_ctx, 0);
    lleval_probe_info_release(&info);
    env_close(&p);
}

static void test_ollama_tags_errors(void **state)
{
    static const struct {
        long status;
        const char *body;
        const char *model;
        const char *msg; /* contained */
    } cases[] = {
        {404, "404 page not found", "m",
         "WHERE answered HTTP 404 to GET /api/tags: it is not "
         "Ollama's native API (base_url is like"},
        {500, "{\"error\":\"cannot load " KEY "\"}", "m",
         "Ollama at WHERE answered HTTP 500 to GET /api/tags: cannot load ***"},
        {401, "", "m", "Ollama at WHERE answered HTTP 401 to GET /api/tags"},
        {200, "{}", "m", "WHERE answered GET /api/tags without a \"models\" list: is it Ollama?"},
        {200, "{\"models\":{\"name\":\"m\"}}", "m", "without a \"models\" list"},
        {200, "[]", "m", "without a \"models\" list"},
        {200, "{\"models\":[", "m", "without a \"models\" list"},
        {200, "\xff\xfe", "m", "without a \"models\" list"},
        {200, "{\"models\":[]}", NULL, "no model to ask Ollama for: set model_id"},
        {200, "{\"models\":[]}", "", "no model to ask Ollama for: set model_id"},
        {200, "{\"models\":[]}", "qwen", "model qwen is not pulled: run `ollama pull qwen`"},
        /* entries of the wrong type, names that are not strings */
        {200, "{\"models\":[\"qwen:latest\",7,null,{\"name\":7,\"model\":[\"qwen\"]}]}", "qwen",
         "model qwen is not pulled"},
        {200, "{\"models\":[{\"name\":\"" KEY "\"}]}", "qwen", "model qwen is not pulled"},
        /* the models the server has are listed, a close one suggested */
        {200, "{\"models\":[]}", "qwen",
         "set model_id to one the server has; Ollama at WHERE has "
         "no models pulled"},
        {200, "{\"models\":[{\"name\":\"llama3.1:8b\"},{\"model\":\"qwen2:7b\"}]}", "qwen2:7",
         "did you mean 'qwen2:7b'? Ollama at WHERE has: llama3.1:8b, qwen2:7b"},
        {200,
         "{\"models\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"},"
         "{\"name\":\"e\"},{\"name\":\"f\"},{\"name\":\"g\"},{\"name\":\"h\"},{\"name\":\"i\"},"
         "{\"name\":\"j\"},{\"name\":\"k\"},{\"name\":\"l\"},{\"name\":\"m2\"},{\"name\":\"n2\"}]}",
         "llama3.1:70b", "Ollama at WHERE has: a, b, c, d, e, f, g, h, i, j, k, l (and 2 more)"},
        {200, "{\"models\":[{\"name\":\"evil\\u001b[31m:1b\"}]}", "qwen",
         "Ollama at WHERE has: evil\\x1b[31m:1b"},
    };
    struct probe_env p;
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OLLAMA, "http://127.0.0.1:11434", KEY_ENV, NULL, 0);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_probe_info info;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *want = with_where(cases[i].msg, p.where);
        p.cfg.model_id = (char *)cases[i].model;
        assert_int_equal(lleval_ollama_tags_reply(p.e, p.where, cases[i].status, cases[i].body,
                                                  strlen(cases[i].body), &info, &err),
                         LLEVAL_EENGINE);
        assert_int_equal(err.code, LLEVAL_EENGINE);
        tu_assert_contains(err.msg, want);
        assert_no_secret(err.msg);
        assert_null(info.model);
        assert_null(info.detail);
        free(want);
    }
    env_close(&p);
}

static void test_ollama_tags_hostile(void **state)
{
    static const struct {
        const char *body;
        const char *detail;
    } cases[] = {
        /* details of the wrong types, a negative and a huge size */
        {"{\"models\":[{\"name\":\"q:latest\",\"size\":-5,\"details\":{\"parameter_size\":7,"
         "\"quantization_level\":[\"Q4\"]}}]}",
         "Ollama at WHERE: model 'q:latest', num_ctx 2048"},
        {"{\"models\":[{\"name\":\"q:latest\",\"size\":\"4 GB\",\"details\":\"Q4\"}]}",
         "Ollama at WHERE: model 'q:latest', num_ctx 2048"},
        {"{\"models\":[{\"name\":\"q\",\"size\":1e12,\"details\":{\"quantization_level\":\"Q8_0\"}}"
         "]}",
         "Ollama at WHERE: model 'q' (Q8_0, 1000.0 GB), num_ctx 2048"},
        {"{\"models\":[{\"name\":\"Q:LATEST\",\"size\":1.5e300}]}",
         "Ollama at WHERE: model 'Q:LATEST' (1500000000000000"},
        /* the key and the password echoed in what the detail quotes */
        {"{\"models\":[{\"model\":\"q\",\"name\":\"q\",\"details\":{\"parameter_size\":\"" KEY
         "\",\"quantization_level\":\"" PASSWORD "\"}}]}",
         "Ollama at WHERE: model 'q' ([redacted], [redacted]), num_ctx 2048"},
        /* invalid UTF-8 */
        {"{\"models\":[{\"name\":\"q\",\"details\":{\"parameter_size\":\"7\xc0\xaf"
         "B\"}}]}",
         "(7\xef\xbf\xbd\xef\xbf\xbd"
         "B)"},
    };
    struct probe_env p;
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OLLAMA, "http://me:" PASSWORD "@127.0.0.1:11434", KEY_ENV, "q",
             2048);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_probe_info info;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *want = with_where(cases[i].detail, p.where);
        assert_int_equal(lleval_ollama_tags_reply(p.e, p.where, 200, cases[i].body,
                                                  strlen(cases[i].body), &info, &err),
                         0);
        tu_assert_contains(info.detail, want);
        assert_no_secret(info.detail);
        assert_utf8(info.detail);
        free(want);
        lleval_probe_info_release(&info);
    }
    env_close(&p);
}

static void test_ollama_version(void **state)
{
    static const struct {
        long status;
        const char *body;
        const char *prefix; /* of the detail after */
    } cases[] = {
        {200, "{\"version\":\"0.6.2\"}", "Ollama 0.6.2 at "},
        {200, "{\"version\":\"\"}", "Ollama  at "},
        {404, "{\"version\":\"0.6.2\"}", "Ollama at "},
        {200, "{\"version\":6}", "Ollama at "},
        {200, "[\"0.6.2\"]", "Ollama at "},
        {200, "{\"version\":", "Ollama at "},
        {200, "", "Ollama at "},
        {200, "{\"version\":\"0.1 " KEY "\"}", "Ollama 0.1 [redacted] at "},
        {200, "{\"version\":\"0.\xff\"}", "Ollama 0.\xef\xbf\xbd at "},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_probe_info info = {0};
        info.detail = lleval_xstrdup("Ollama at http://h:11434: model 'q'");
        lleval_ollama_version_reply(cases[i].status, cases[i].body, strlen(cases[i].body), &info);
        assert_true(lleval_str_starts_with(info.detail, cases[i].prefix));
        assert_true(lleval_str_ends_with(info.detail, " at http://h:11434: model 'q'"));
        assert_no_secret(info.detail);
        lleval_probe_info_release(&info);
    }
    /* no detail (the tags reply failed): nothing to add to */
    {
        struct lleval_probe_info info = {0};
        lleval_ollama_version_reply(200, "{\"version\":\"1\"}", 15, &info);
        assert_null(info.detail);
    }
}

/* ---- OpenAI-compatible -------------------------------------------------------------------------
 */

static void test_openai_models_good(void **state)
{
    /* GET /v1/models as OpenAI's API reference shows it */
    static const char models[] =
        "{\"object\":\"list\",\"data\":[{\"id\":\"model-id-0\",\"object\":\"model\","
        "\"created\":1686935002,\"owned_by\":\"organization-owner\"},{\"id\":\"model-id-1\","
        "\"object\":\"model\",\"created\":1686935002,\"owned_by\":\"organization-owner\"},"
        "{\"id\":\"model-id-2\",\"object\":\"model\",\"created\":1686935002,"
        "\"owned_by\":\"openai\"}]}";
    static const char many[] = "{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"},"
                               "{\"id\":\"d\"},{\"id\":\"e\"},{\"id\":\"f\"},{\"id\":\"g\"}]}";
    struct probe_env p;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OPENAI, "http://127.0.0.1:8000/v1", KEY_ENV, "model-id-1", 0);

    assert_int_equal(
        lleval_openai_models_reply(p.e, p.where, 200, models, strlen(models), 0, &info, &err), 0);
    assert_string_equal(info.model, "model-id-1");
    assert_string_equal(info.detail, "the OpenAI-compatible server at http://127.0.0.1:8000/v1 "
                                     "serves model 'model-id-1'");
    lleval_probe_info_release(&info);

    p.cfg.model_id = (char *)"gpt-x";
    assert_int_equal(
        lleval_openai_models_reply(p.e, p.where, 200, many, strlen(many), 0, &info, &err), 0);
    assert_null(info.model);
    assert_string_equal(info.detail,
                        "warning: model 'gpt-x' is not among the models the OpenAI-compatible "
                        "server at http://127.0.0.1:8000/v1 lists ('a', 'b', 'c', 'd', 'e' and 2 "
                        "more); servers often alias names, so requests will ask for 'gpt-x' "
                        "anyway");
    lleval_probe_info_release(&info);

    p.cfg.model_id = NULL;
    assert_int_equal(
        lleval_openai_models_reply(p.e, p.where, 201, models, strlen(models), 0, &info, &err), 0);
    assert_string_equal(info.detail, "the OpenAI-compatible server at http://127.0.0.1:8000/v1 "
                                     "lists 3 models");
    lleval_probe_info_release(&info);
    env_close(&p);
}

static void test_openai_models_errors(void **state)
{
    struct probe_env p;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    static const char leak[] =
        "{\"error\":{\"message\":\"Incorrect API key provided: " KEY "\",\"type\":\"x\"}}";
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OPENAI, "http://127.0.0.1:8000", KEY_ENV, "m", 0);

    assert_int_equal(
        lleval_openai_models_reply(p.e, p.where, 401, leak, strlen(leak), 0, &info, &err),
        LLEVAL_EENGINE);
    assert_string_equal(err.msg, "the OpenAI-compatible server at http://127.0.0.1:8000 refused "
                                 "the API key (HTTP 401): check the API key in the environment "
                                 "variable " KEY_ENV " (api_key_env)");
    assert_null(info.detail);

    /* 404 and {base}/v1/models answers: base_url lacks /v1 */
    assert_int_equal(lleval_openai_models_reply(p.e, p.where, 404, "", 0, 200, &info, &err),
                     LLEVAL_EENGINE);
    assert_string_equal(err.msg, "http://127.0.0.1:8000 has no /models but "
                                 "http://127.0.0.1:8000/v1/models answers: set base_url to "
                                 "http://127.0.0.1:8000/v1");
    /* 404 and no /v1 either: a warning only */
    assert_int_equal(lleval_openai_models_reply(p.e, p.where, 404, "", 0, 404, &info, &err), 0);
    assert_string_equal(info.detail, "warning: the OpenAI-compatible server at "
                                     "http://127.0.0.1:8000 has no model list (HTTP 404 for GET "
                                     "/models); requests go to "
                                     "http://127.0.0.1:8000/chat/completions");
    lleval_probe_info_release(&info);

    assert_int_equal(
        lleval_openai_models_reply(p.e, p.where, 500, leak, strlen(leak), 0, &info, &err),
        LLEVAL_EENGINE);
    assert_string_equal(err.msg, "the OpenAI-compatible server at http://127.0.0.1:8000 answered "
                                 "HTTP 500 to GET /models: Incorrect API key provided: ***");
    assert_int_equal(lleval_openai_models_reply(p.e, p.where, 0, NULL, 0, 0, &info, &err),
                     LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "answered HTTP 0 to GET /models");
    env_close(&p);

    env_open(&p, LLEVAL_ENGINE_OPENAI, "http://127.0.0.1:8000", UNSET_ENV, "m", 0);
    assert_int_equal(lleval_openai_models_reply(p.e, p.where, 403, "", 0, 0, &info, &err),
                     LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "the environment variable " UNSET_ENV
                                " (api_key_env) is not set: export it");
    env_close(&p);
}

static void test_openai_models_hostile(void **state)
{
    static const struct {
        const char *body;
        const char *model;
        const char *detail; /* contained */
    } cases[] = {
        {"[{\"id\":\"m\"}]", NULL,
         "warning: the model list from WHERE is not a JSON object; the "
         "model name is not checked"},
        {"{\"data\":", NULL, "is not a JSON object"},
        {"\xff", NULL, "is not a JSON object"},
        {"", NULL, "is not a JSON object"},
        {"{}", NULL, "lists (none)"},
        {"{\"data\":{\"id\":\"m\"}}", NULL, "lists (none)"},
        {"{\"data\":[\"m\",7,null,{\"id\":7},{\"id\":[\"m\"]},{\"name\":\"m\"}]}", NULL,
         "lists (none)"},
        {"{\"data\":[{\"id\":\"q\xfe\"}]}", NULL, "lists ('q\xef\xbf\xbd')"},
        {"{\"data\":[{\"id\":\"m\"}],\"object\":1e999}", NULL, "is not a JSON object"},
        {"{\"data\":[{\"id\":\"" KEY "\"},{\"id\":\"http://u:" PASSWORD "@h/x\"}]}", NULL,
         "lists ('[redacted]', 'http://[redacted]@h/x')"},
        {"{\"data\":[{\"id\":\"m\",\"owned_by\":\"" KEY "\"}]}", "m", "serves model 'm'"},
    };
    struct probe_env p;
    (void)state;
    env_open(&p, LLEVAL_ENGINE_OPENAI, "https://u:" PASSWORD "@api.example.com/v1", KEY_ENV, "m",
             0);
    assert_string_equal(p.where, "https://api.example.com/v1");
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_probe_info info;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *want = with_where(cases[i].detail, p.where);
        assert_int_equal(lleval_openai_models_reply(p.e, p.where, 200, cases[i].body,
                                                    strlen(cases[i].body), 0, &info, &err),
                         0);
        if (cases[i].model)
            assert_string_equal(info.model, cases[i].model);
        else
            assert_null(info.model);
        tu_assert_contains(info.detail, want);
        assert_no_secret(info.detail);
        assert_utf8(info.detail);
        free(want);
        lleval_probe_info_release(&info);
    }
    env_close(&p);
}

/* ---- fuzz findings ------------------------------------------------------------------------------
 */

/* probe_llamacpp: {"default_generation_settings":{"n_ctx":-1e300}} made
 * lleval_json_int convert a real beyond long long (undefined behaviour; x86
 * gives LLONG_MIN). Such a real is the default now, in every reader. */
static void test_finding_huge_real(void **state)
{
    static const struct {
        const char *json;
        long long want;
    } cases[] = {
        {"{\"n\":1e300}", -7},
        {"{\"n\":-1e300}", -7},
        {"{\"n\":9.3e18}", -7},
        {"{\"n\":-9.3e18}", -7},
        {"{\"n\":9.2e18}", 9200000000000000000LL},
        {"{\"n\":-2.9}", -2},
        {"{\"n\":12}", 12},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        json_t *j = lleval_http_json_decode(cases[i].json, strlen(cases[i].json), NULL, 0);
        assert_non_null(j);
        assert_int_equal(lleval_json_int(j, "n", -7), cases[i].want);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llamacpp_health),       cmocka_unit_test(test_llamacpp_props_good),
        cmocka_unit_test(test_llamacpp_props_key),    cmocka_unit_test(test_llamacpp_props_hostile),
        cmocka_unit_test(test_ollama_tags_good),      cmocka_unit_test(test_ollama_tags_errors),
        cmocka_unit_test(test_ollama_tags_hostile),   cmocka_unit_test(test_ollama_version),
        cmocka_unit_test(test_openai_models_good),    cmocka_unit_test(test_openai_models_errors),
        cmocka_unit_test(test_openai_models_hostile), cmocka_unit_test(test_finding_huge_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
