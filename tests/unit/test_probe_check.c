/*
 * Unit tests for the health check as steps (lleval_engine_check_start and
 * lleval_engine_check_reply), which the scheduler drives for an endpoint out
 * of rotation: for each adapter, scripted replies (a status and body, or no
 * reply) and the requests each step asks for (path, bound, wait) up to the
 * verdict, which must be the blocking probe's for the same replies (the
 * probe's rules: engine/probe.h and each adapter's probe). No server, no
 * clock: the time is passed in.
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/util/util.h"

#define BASE "http://127.0.0.1:9"

/* One step of a script: the reply to the request out (NULL body: no reply
 * arrived), at t seconds after the start; then what the check does next. */
struct step {
    double t;
    long status;
    const char *body; /* NULL: not answered */
    enum lleval_check_next next;
    const char *path;  /* LLEVAL_CHECK_SEND: the next request's path */
    long timeout_ms;   /* and its bound */
    long wait_ms;      /* and its wait */
    const char *error; /* LLEVAL_CHECK_FAIL: a part of the message */
};

struct script {
    const char *name;
    enum lleval_engine_kind kind;
    const char *base_url;
    long bound_s;
    const char *first_path; /* the start's request */
    long first_timeout_ms;
    struct step steps[8];
    size_t n;
};

#define MODELS_OK  "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\"}]}"
#define TAGS_OK    "{\"models\":[{\"name\":\"m:latest\",\"model\":\"m:latest\"}]}"
#define TAGS_OTHER "{\"models\":[{\"name\":\"other:latest\"}]}"
#define PROPS_OK   "{\"total_slots\":4,\"default_generation_settings\":{\"n_ctx\":4096}}"

static const struct script scripts[] = {
    /* llama-server: /health (its bound is the 3 s left, plus one, as wait_healthy's), then
     * /props bounded to the 3 s; a 503 is asked again after 500 ms until the bound */
    {"llamacpp ready",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 200, "{\"status\":\"ok\"}", LLEVAL_CHECK_SEND, "/props", 3000, 0, NULL},
      {0.2, 200, PROPS_OK, LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     2},
    {"llamacpp /v1 base, props not JSON",
     LLEVAL_ENGINE_LLAMACPP,
     BASE "/v1",
     3,
     "/health",
     4000,
     {{0.1, 200, "", LLEVAL_CHECK_SEND, "/props", 3000, 0, NULL},
      {0.2, 200, "<html>", LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     2},
    {"llamacpp loading, then ready",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 503, "{\"error\":{\"message\":\"Loading model\"}}", LLEVAL_CHECK_SEND, "/health", 3000,
       500, NULL},
      {0.7, 503, "", LLEVAL_CHECK_SEND, "/health", 2000, 500, NULL},
      {1.3, 200, "{}", LLEVAL_CHECK_SEND, "/props", 3000, 0, NULL},
      {1.4, 404, "", LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     4},
    {"llamacpp still loading at the bound",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 503, "", LLEVAL_CHECK_SEND, "/health", 3000, 500, NULL},
      {2.6, 503, "", LLEVAL_CHECK_FAIL, NULL, 0, 0, "still loading its model after 3 s"}},
     2},
    {"llamacpp health never answered",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{4.0, 0, NULL, LLEVAL_CHECK_FAIL, NULL, 0, 0, "cannot reach llama-server"}},
     1},
    {"llamacpp not llama-server",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 404, "", LLEVAL_CHECK_FAIL, NULL, 0, 0, "is it llama-server?"}},
     1},
    {"llamacpp props never answered",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 200, "{}", LLEVAL_CHECK_SEND, "/props", 3000, 0, NULL},
      {3.1, 0, NULL, LLEVAL_CHECK_FAIL, NULL, 0, 0, "/props"}},
     2},
    {"llamacpp props refuses the key",
     LLEVAL_ENGINE_LLAMACPP,
     BASE,
     3,
     "/health",
     4000,
     {{0.1, 200, "{}", LLEVAL_CHECK_SEND, "/props", 3000, 0, NULL},
      {0.2, 401, "", LLEVAL_CHECK_FAIL, NULL, 0, 0, "wants an API key"}},
     2},
    /* Ollama: /api/tags only (/api/version is for the log) */
    {"ollama pulled",
     LLEVAL_ENGINE_OLLAMA,
     BASE,
     3,
     "/api/tags",
     3000,
     {{0.1, 200, TAGS_OK, LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     1},
    {"ollama not pulled",
     LLEVAL_ENGINE_OLLAMA,
     BASE,
     3,
     "/api/tags",
     3000,
     {{0.1, 200, TAGS_OTHER, LLEVAL_CHECK_FAIL, NULL, 0, 0, "other"}},
     1},
    {"ollama busy",
     LLEVAL_ENGINE_OLLAMA,
     BASE,
     3,
     "/api/tags",
     3000,
     {{0.1, 500, "", LLEVAL_CHECK_FAIL, NULL, 0, 0, NULL}},
     1},
    {"ollama never answered",
     LLEVAL_ENGINE_OLLAMA,
     BASE,
     3,
     "/api/tags",
     3000,
     {{3.0, 0, NULL, LLEVAL_CHECK_FAIL, NULL, 0, 0, "cannot reach Ollama"}},
     1},
    /* OpenAI-compatible: /models, and /v1/models after a 404 */
    {"openai listed",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     3,
     "/v1/models",
     3000,
     {{0.1, 200, MODELS_OK, LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     1},
    {"openai not a list",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     3,
     "/v1/models",
     3000,
     {{0.1, 200, "[1]", LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     1},
    {"openai loading",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     3,
     "/v1/models",
     3000,
     {{0.1, 503, "{\"error\":{\"message\":\"Loading model\"}}", LLEVAL_CHECK_FAIL, NULL, 0, 0,
       "HTTP 503"}},
     1},
    {"openai key refused",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     3,
     "/v1/models",
     3000,
     {{0.1, 403, "", LLEVAL_CHECK_FAIL, NULL, 0, 0, "refused the API key"}},
     1},
    {"openai no list, no /v1 either",
     LLEVAL_ENGINE_OPENAI,
     BASE,
     3,
     "/models",
     3000,
     {{0.1, 404, "", LLEVAL_CHECK_SEND, "/v1/models", 3000, 0, NULL},
      {0.2, 404, "", LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     2},
    {"openai no list, /v1 unanswered",
     LLEVAL_ENGINE_OPENAI,
     BASE,
     3,
     "/models",
     3000,
     {{0.1, 404, "", LLEVAL_CHECK_SEND, "/v1/models", 3000, 0, NULL},
      {3.2, 0, NULL, LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     2},
    {"openai base_url lacks /v1",
     LLEVAL_ENGINE_OPENAI,
     BASE,
     3,
     "/models",
     3000,
     {{0.1, 404, "", LLEVAL_CHECK_SEND, "/v1/models", 3000, 0, NULL},
      {0.2, 200, MODELS_OK, LLEVAL_CHECK_FAIL, NULL, 0, 0, "set base_url to"}},
     2},
    {"openai never answered",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     3,
     "/v1/models",
     3000,
     {{3.0, 0, NULL, LLEVAL_CHECK_FAIL, NULL, 0, 0, "cannot reach"}},
     1},
    /* no bound: the probe's default of 10 s per request */
    {"openai unbounded",
     LLEVAL_ENGINE_OPENAI,
     BASE "/v1",
     0,
     "/v1/models",
     10000,
     {{0.1, 200, MODELS_OK, LLEVAL_CHECK_PASS, NULL, 0, 0, NULL}},
     1},
};

static void open_engine(struct lleval_config *cfg, struct lleval_engine **e,
                        enum lleval_engine_kind kind, const char *base_url)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    memset(cfg, 0, sizeof(*cfg));
    cfg->engine = kind;
    cfg->base_url = (char *)base_url;
    cfg->model_id = (char *)"m";
    cfg->context_length = 4096;
    cfg->max_concurrent_jobs = 1;
    if (lleval_engine_open(e, cfg, &err)) {
        print_error("lleval_engine_open: %s\n", err.msg);
        fail();
    }
}

/* req asks for GET base + path with the engine's headers. */
static void assert_request(const char *name, const struct lleval_http_request *req,
                           const char *path)
{
    const char *root = strstr(req->url, "127.0.0.1:9");
    bool accept = false;
    if (!root || strcmp(root + strlen("127.0.0.1:9"), path) || req->body) {
        print_error("%s: asked for %s %s, wanted GET %s\n", name, req->body ? "POST" : "GET",
                    req->url, path);
        fail();
    }
    for (size_t i = 0; i < req->n_headers; i++)
        accept = accept || !strcmp(req->headers[i], "Accept: application/json");
    assert_true(accept);
}

static void test_scripts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        const struct script *sc = &scripts[i];
        struct lleval_config cfg;
        struct lleval_engine *e;
        struct lleval_check c;
        struct lleval_http_request req;
        struct lleval_err err = LLEVAL_ERR_INIT;
        const double t0 = 1000.0;
        enum lleval_check_next next;

        open_engine(&cfg, &e, sc->kind, sc->base_url);
        next = lleval_engine_check_start(e, &c, sc->bound_s, t0, &req, &err);
        assert_int_equal(next, LLEVAL_CHECK_SEND);
        assert_request(sc->name, &req, sc->first_path);
        assert_int_equal(c.timeout_ms, sc->first_timeout_ms);
        assert_int_equal(c.wait_ms, 0);
        for (size_t k = 0; k < sc->n; k++) {
            const struct step *st = &sc->steps[k];
            struct lleval_check_reply reply = {0};
            reply.answered = st->body != NULL;
            reply.status = st->status;
            reply.body = st->body ? st->body : "";
            reply.len = st->body ? strlen(st->body) : 0;
            reply.why = "Timeout was reached";
            lleval_http_request_release(&req);
            memset(&err, 0, sizeof(err));
            next = lleval_engine_check_reply(e, &c, t0 + st->t, &reply, &req, &err);
            if (next != st->next) {
                print_error("%s, step %zu: next %d, wanted %d (%s)\n", sc->name, k, (int)next,
                            (int)st->next, err.msg);
                fail();
            }
            if (next == LLEVAL_CHECK_SEND) {
                assert_request(sc->name, &req, st->path);
                if (c.timeout_ms != st->timeout_ms || c.wait_ms != st->wait_ms) {
                    print_error("%s, step %zu: bound %ld ms after %ld ms, wanted %ld after %ld\n",
                                sc->name, k, c.timeout_ms, c.wait_ms, st->timeout_ms, st->wait_ms);
                    fail();
                }
            } else {
                assert_null(req.url);
            }
            if (next == LLEVAL_CHECK_FAIL && st->error && !strstr(err.msg, st->error)) {
                print_error("%s: message '%s' lacks '%s'\n", sc->name, err.msg, st->error);
                fail();
            }
        }
        assert_true(next != LLEVAL_CHECK_SEND);
        lleval_http_request_release(&req);
        lleval_engine_close(e);
    }
}

/* A local engine (dry) does no I/O: its check gives the probe's verdict at once. */
static void test_local(void **state)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_check c;
    struct lleval_http_request req;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    open_engine(&cfg, &e, LLEVAL_ENGINE_DRY, NULL);
    assert_int_equal(lleval_engine_check_start(e, &c, 3, 1.0, &req, &err), LLEVAL_CHECK_PASS);
    assert_null(req.url);
    lleval_engine_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
