/*
 * libFuzzer target for an engine adapter's reply parser
 * (lleval_engine_parse_reply), built once per engine with
 * -DFUZZ_ENGINE=LLEVAL_ENGINE_OPENAI / _OLLAMA / _LLAMACPP (tests/fuzz/run.sh).
 *
 * Input: an optional HTTP status line ("429\n"; 200 when absent), then the
 * reply body. The engine is opened the way a run opens it, with an API key in
 * the environment and a password in base_url, so both are registered secrets;
 * after every parse the target aborts when either secret appears in the error
 * text, or when the answer breaks its documented promises (valid UTF-8
 * content on OK, a message on RETRY/FAIL). The answer is walked, turned into a
 * result line and decoded back. For ollama the body also goes through the
 * /api/show reader of the VRAM planner (lleval_vram_model_from_ollama).
 */
#include <jansson.h>
#include "fuzz_engine.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/model/vram.h"
#include "lleval/result/result.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"

#ifndef FUZZ_ENGINE
#define FUZZ_ENGINE LLEVAL_ENGINE_OPENAI
#endif

static struct lleval_config cfg;
static struct lleval_engine *engine;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)argc;
    (void)argv;
    setenv("LLEVAL_FUZZ_API_KEY", FUZZ_API_KEY, 1);
    lleval_config_init(&cfg);
    cfg.engine = FUZZ_ENGINE;
    free(cfg.model_id);
    cfg.model_id = strdup("fuzz-model:latest");
    free(cfg.base_url);
    cfg.base_url = strdup("http://fuzzuser:" FUZZ_PASSWORD "@127.0.0.1:9/v1");
    free(cfg.api_key_env);
    cfg.api_key_env = strdup("LLEVAL_FUZZ_API_KEY");
    if (lleval_engine_open(&engine, &cfg, &err)) {
        fprintf(stderr, "fuzz: cannot open the engine: %s\n", err.msg);
        abort();
    }
    FUZZ_CHECK(lleval_engine_api_key(engine) != NULL, "the API key was not read");
    return 0;
}

/* Result line from the answer (or the failure), decoded back. */
static void round_trip(const struct lleval_answer *a, long status, const char *error)
{
    struct lleval_result_view v;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *line = lleval_result_line("fuzz-t0-s0-1", lleval_engine_name(engine), a, status,
                                      a ? NULL : "engine_error", error, 12.5, 1);
    char *text = json_dumps(line, JSON_COMPACT);
    json_t *back = NULL;
    int rc = lleval_result_decode_text(text, strlen(text), &back, &v, &err);
    FUZZ_CHECK(rc == 0, "a result line lleval wrote does not decode: %s", err.msg);
    if (a) {
        /* a secret the model echoed is redacted in the line */
        char *redacted = lleval_redact_dup(a->content);
        const char *want = redacted ? redacted : a->content;
        FUZZ_CHECK(v.content && !strcmp(v.content, want), "the content changed");
        free(redacted);
        FUZZ_CHECK(!v.failed, "an answer decoded as failed");
    } else {
        FUZZ_CHECK(v.failed, "a failure decoded as an answer");
        FUZZ_CHECK(v.error_message && !strcmp(v.error_message, error), "the error message changed");
    }
    fuzz_use(v.engine);
    fuzz_use(v.finish_reason);
    json_decref(back);
    free(text);
    json_decref(line);
}

static void ollama_show(const char *body, size_t len)
{
    struct lleval_vram_model m;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *show = lleval_http_json_decode(body, len, NULL, 0);
    if (json_is_object(show) && !lleval_vram_model_from_ollama(&m, show, "fuzz", 0, &err)) {
        fuzz_use(m.name);
        fuzz_use(m.arch);
        fuzz_use(m.quant);
    } else if (json_is_object(show)) {
        fuzz_check_no_secret("/api/show error", err.msg);
    }
    json_decref(show);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lleval_answer a;
    struct lleval_err err = LLEVAL_ERR_INIT;
    long status = fuzz_split_status(&data, &size);
    char *body = fuzz_dup(data, size);
    char *text;
    enum lleval_reply verdict = lleval_engine_parse_reply(engine, status, body, size, &a, &err);

    if (verdict == LLEVAL_REPLY_OK) {
        FUZZ_CHECK(a.content != NULL, "OK without content");
        fuzz_check_utf8("answer content", a.content);
        fuzz_use(a.model);
        fuzz_use(a.request_id);
        fuzz_use(lleval_finish_name(a.finish));
        round_trip(&a, status, NULL);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0', "verdict %d without a message", (int)verdict);
        fuzz_check_no_secret("error message", err.msg);
        round_trip(NULL, status, err.msg);
    }
    lleval_answer_release(&a);

    /* the error text of any reply, as every adapter quotes it: the key (it
     * is given) becomes "***" (the password is the error object's to redact) */
    text = lleval_http_error_text(body, size, lleval_engine_api_key(engine));
    FUZZ_CHECK(!fuzz_contains(text, strlen(text), FUZZ_API_KEY), "the API key is in: %s", text);
    free(text);

    if (FUZZ_ENGINE == LLEVAL_ENGINE_OLLAMA)
        ollama_show(body, size);
    free(body);
    return 0;
}
