/*
 * Unit tests for asking Ollama about a model (lib/engine/ollama.c,
 * lleval_ollama_show / lleval_ollama_vram_model): the URL and request body,
 * the reply decoded into the planner's model, and each failure (404 with the
 * pull hint, another HTTP error, a reply that is not a JSON object, nothing
 * listening, a URL that is not http). A one-connection HTTP server in a
 * thread of the test plays Ollama.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/ollama.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

static const char show_reply[] =
    "{\"details\":{\"format\":\"gguf\",\"family\":\"llama\",\"parameter_size\":\"8.0B\","
    "\"quantization_level\":\"Q4_K_M\"},"
    "\"model_info\":{\"general.architecture\":\"llama\",\"general.parameter_count\":8030261248,"
    "\"llama.block_count\":32,\"llama.context_length\":131072,\"llama.embedding_length\":4096,"
    "\"llama.feed_forward_length\":14336,\"llama.attention.head_count\":32,"
    "\"llama.attention.head_count_kv\":8,\"llama.vocab_size\":128256}}";

/* One canned answer for one connection, and what the client sent. */
struct server {
    tu_socket fd;
    int port;
    int status;
    const char *body;
    char request[4096];
    tu_thread thread;
};

static void *serve_one(void *arg)
{
    struct server *s = arg;
    size_t got = 0;
    tu_socket c = tu_accept(s->fd);
    if (c == TU_BAD_SOCKET)
        return NULL;
    /* read the headers and the body (Content-Length) */
    for (;;) {
        long n = tu_recv(c, s->request + got, sizeof(s->request) - 1 - got, false);
        char *end, *cl;
        if (n <= 0)
            break;
        got += (size_t)n;
        s->request[got] = '\0';
        end = strstr(s->request, "\r\n\r\n");
        if (!end)
            continue;
        cl = strstr(s->request, "Content-Length: ");
        if (!cl || strlen(end + 4) >= strtoul(cl + 16, NULL, 10))
            break;
    }
    {
        char head[256];
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          s->status, strlen(s->body));
        if (tu_send(c, head, (size_t)hl) < 0 || tu_send(c, s->body, strlen(s->body)) < 0)
            perror("send");
    }
    tu_close_socket(c);
    return NULL;
}

static void server_start(struct server *s, int status, const char *body)
{
    memset(s, 0, sizeof(*s));
    s->status = status;
    s->body = body;
    s->fd = tu_listen_loopback(&s->port, 1);
    assert_true(s->fd != TU_BAD_SOCKET);
    assert_int_equal(tu_thread_start(&s->thread, serve_one, s), 0);
}

static void server_join(struct server *s)
{
    tu_thread_join(s->thread);
    tu_close_socket(s->fd);
}

static char *url(const struct server *s, const char *suffix)
{
    return lleval_xasprintf("http://127.0.0.1:%d%s", s->port, suffix);
}

/* The reply decoded into the planner's model; the request as Ollama documents it. */
static void test_show_model(void **state)
{
    struct server s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model *m = lleval_xcalloc(1, sizeof(*m));
    char *base;
    (void)state;

    server_start(&s, 200, show_reply);
    base = url(&s, "//"); /* trailing slashes are dropped */
    if (lleval_ollama_vram_model(base, "llama3.1:8b", 0, m, &err))
        fail_msg("show: %s", err.msg);
    server_join(&s);
    tu_assert_contains(s.request, "POST /api/show HTTP/1.1\r\n");
    tu_assert_contains(s.request, "Content-Type: application/json");
    tu_assert_contains(s.request, "\r\n\r\n{\"model\":\"llama3.1:8b\"}");
    assert_string_equal(m->name, "llama3.1:8b");
    assert_string_equal(m->quant, "Q4_K_M");
    assert_int_equal(m->n_params, 8030261248ull);
    assert_int_equal(m->n_layer, 32);
    assert_int_equal(m->n_head_kv, 8);
    assert_int_equal(m->n_vocab, 128256);
    assert_int_equal(m->source, LLEVAL_VRAM_FROM_SHAPE);
    free(base);

    /* bpw overrides the quantization's bits per weight */
    server_start(&s, 200, show_reply);
    base = url(&s, "");
    if (lleval_ollama_vram_model(base, "llama3.1:8b", 8.0, m, &err))
        fail_msg("show: %s", err.msg);
    server_join(&s);
    assert_int_equal(m->w_total, 8030261248ull);
    free(base);
    free(m);
}

static void test_show_json(void **state)
{
    struct server s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *show = NULL;
    char *base;
    (void)state;

    server_start(&s, 200, show_reply);
    base = url(&s, "");
    assert_int_equal(lleval_ollama_show(base, "t", &show, &err), 0);
    server_join(&s);
    assert_true(json_is_object(show));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(show, "details"), "quantization_level")),
        "Q4_K_M");
    json_decref(show);
    free(base);
}

/* Each failure: its code, a message that says what to do, and no reply. */
static void test_show_errors(void **state)
{
    static const struct {
        int status;
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {404, "{\"error\":\"model 'nope' not found\"}", LLEVAL_EENGINE,
         "has no model 'nope': pull it first (ollama pull nope)"},
        {500, "{\"error\":\"out of memory\"}", LLEVAL_EENGINE,
         "/api/show for 'nope' answered HTTP 500: out of memory"},
        {200, "[1, 2]", LLEVAL_EENGINE, "reply for 'nope' is not a JSON object"},
        {200, "{\"model_info\":", LLEVAL_EENGINE, "reply for 'nope' is not a JSON object"},
    };
    (void)state;

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct server s;
        struct lleval_err err = LLEVAL_ERR_INIT;
        json_t *show = (json_t *)1;
        char *base;
        server_start(&s, cases[i].status, cases[i].body);
        base = url(&s, "");
        assert_int_equal(lleval_ollama_show(base, "nope", &show, &err), cases[i].code);
        server_join(&s);
        assert_null(show);
        tu_assert_contains(err.msg, cases[i].msg);
        free(base);
    }
}

static void test_show_unreachable(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model *m = lleval_xcalloc(1, sizeof(*m));
    json_t *show = NULL;
    int port;
    char *base;
    (void)state;

    /* a port that was free a moment ago: nothing listens there */
    port = lleval_free_loopback_port("the test", &err);
    assert_true(port > 0);
    base = lleval_xasprintf("http://127.0.0.1:%d", port);
    assert_int_not_equal(lleval_ollama_vram_model(base, "x", 0, m, &err), 0);
    tu_assert_contains(err.msg, "cannot ask Ollama about 'x' (is `ollama serve` running?)");
    free(base);

    assert_int_equal(lleval_ollama_show("ftp://host", "x", &show, &err), LLEVAL_EINVAL);
    assert_null(show);
    tu_assert_contains(err.msg, "'ftp://host'");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_show_model),
        cmocka_unit_test(test_show_json),
        cmocka_unit_test(test_show_errors),
        cmocka_unit_test(test_show_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
