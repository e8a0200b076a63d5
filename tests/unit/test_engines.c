/*
 * Unit tests for the HTTP engine adapters (ollama, llamacpp, openai) and
 * lib/engine/http.c: requests built from a batch body, replies shaped like the
 * engines' documentation (and captured from a real llama-server), and
 * probes against the python fakes in tests/fakes (skipped without python3)
 * and against a real llama-server when one is provisioned.
 * Over 800 lines: the three adapters are tested side by side against the
 * same servers and shared request/reply tables, which one file keeps together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/engine/http.h"
#include "lleval/util/json.h"

#define MODEL   "llama3.1:8b-instruct-q4_K_M"
#define KEY_ENV "LLEVAL_TEST_ENGINE_KEY"
#define KEY     "sk-test-0123456789abcdef"

static const char *batch_body =
    "{\"model\": \"" MODEL "\","
    " \"messages\": [{\"role\": \"system\", \"content\": \"Answer briefly.\"},"
    "               {\"role\": \"user\", \"content\": \"Question: what is the capital of "
    "France?\"}],"
    " \"max_tokens\": 512, \"temperature\": 0, \"top_p\": 1.0, \"top_k\": 50,"
    " \"stop\": [\"\\n\\n\"], \"seed\": 1234}";

/* ---- helpers -------------------------------------------------------------------------------- */

static void open_engine(struct lleval_engine **e, struct lleval_config *cfg,
                        enum lleval_engine_kind kind, const char *base_url, const char *key_env)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    memset(cfg, 0, sizeof(*cfg));
    cfg->engine = kind;
    cfg->base_url = (char *)base_url;
    cfg->api_key_env = (char *)key_env;
    cfg->model_id = (char *)MODEL;
    cfg->context_length = 4096;
    cfg->keep_alive = (char *)"5m";
    cfg->max_concurrent_jobs = 1;
    if (lleval_engine_open(e, cfg, &err)) {
        print_error("lleval_engine_open: %s\n", err.msg);
        fail();
    }
}

static json_t *load_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        print_error("bad test JSON: %s: %s\n", jerr.text, text);
        fail();
    }
    return j;
}

static bool has_header(const struct lleval_http_request *r, const char *line)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcmp(r->headers[i], line))
            return true;
    return false;
}

static bool has_header_named(const struct lleval_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strncasecmp(r->headers[i], name, strlen(name)))
            return true;
    return false;
}

static json_t *request_json(struct lleval_engine *e, const char *body_text,
                            struct lleval_http_request *req)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *body = load_json(body_text);
    json_t *sent;
    if (lleval_engine_make_request(e, body, req, &err)) {
        print_error("make_request: %s\n", err.msg);
        fail();
    }
    json_decref(body);
    assert_non_null(req->url);
    assert_non_null(req->body);
    sent = load_json(req->body);
    return sent;
}

struct reply_case {
    const char *name;
    long status;
    const char *body;
    enum lleval_reply want;
    const char *content; /* expected content when OK */
    enum lleval_finish finish;
    long prompt_tokens, completion_tokens;
    const char *err_has; /* expected in err.msg when not OK */
};

static void run_reply_cases(struct lleval_engine *e, const struct reply_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct reply_case *c = &cases[i];
        struct lleval_answer a;
        struct lleval_err err = LLEVAL_ERR_INIT;
        enum lleval_reply got =
            lleval_engine_parse_reply(e, c->status, c->body, strlen(c->body), &a, &err);
        if (got != c->want) {
            print_error("case '%s': verdict %d, want %d (err: %s)\n", c->name, (int)got,
                        (int)c->want, err.msg);
            fail();
        }
        if (got == LLEVAL_REPLY_OK) {
            if (!a.content || strcmp(a.content, c->content)) {
                print_error("case '%s': content \"%s\", want \"%s\"\n", c->name,
                            a.content ? a.content : "(null)", c->content);
                fail();
            }
            if (a.finish != c->finish || a.prompt_tokens != c->prompt_tokens ||
                a.completion_tokens != c->completion_tokens) {
                print_error("case '%s': finish %d tokens %ld/%ld, want %d %ld/%ld\n", c->name,
                            (int)a.finish, a.prompt_tokens, a.completion_tokens, (int)c->finish,
                            c->prompt_tokens, c->completion_tokens);
                fail();
            }
        } else if (c->err_has) {
            tu_assert_contains(err.msg, c->err_has);
        }
        if (lleval_engine_api_key(e) && strstr(err.msg, lleval_engine_api_key(e))) {
            print_error("case '%s': the API key leaked into \"%s\"\n", c->name, err.msg);
            fail();
        }
        lleval_answer_release(&a);
    }
}

static char *error_text(const char *body, const char *key)
{
    return lleval_http_error_text(body, strlen(body), key);
}

static json_t *json_decode(const char *body, char *why, size_t size)
{
    return lleval_http_json_decode(body, strlen(body), why, size);
}

/* ---- http.c ------------------------------------------------------------------------------- */

/* The opaque handle: what open() sets, the accessors, and the calls a kind
 * of engine does not have. */
static void test_engine_handle(void **state)
{
    static const struct {
        enum lleval_engine_kind kind;
        const char *base_url; /* NULL: the engine's default */
        const char *name, *want_url;
        long probe_timeout_s;
        bool local;
    } cases[] = {
        {LLEVAL_ENGINE_DRY, NULL, "dry", "", 10, true},
        {LLEVAL_ENGINE_OLLAMA, NULL, "ollama", "http://127.0.0.1:11434", 10, false},
        {LLEVAL_ENGINE_OLLAMA, "http://gpu-box:11434///", "ollama", "http://gpu-box:11434", 10,
         false},
        {LLEVAL_ENGINE_LLAMACPP, NULL, "llamacpp", "http://127.0.0.1:8080", 120, false},
        {LLEVAL_ENGINE_OPENAI, "https://api.example.com/v1/", "openai",
         "https://api.example.com/v1", 10, false},
    };
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *body = load_json(batch_body);
    static char sentinel;
    (void)state;

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        struct lleval_http_request req;
        struct lleval_answer a;
        open_engine(&e, &cfg, cases[i].kind, cases[i].base_url, NULL);
        assert_string_equal(lleval_engine_name(e), cases[i].name);
        assert_string_equal(lleval_engine_base_url(e), cases[i].want_url);
        assert_int_equal(lleval_engine_probe_timeout_s(e), cases[i].probe_timeout_s);
        assert_int_equal(lleval_engine_is_local(e), cases[i].local);
        assert_null(lleval_engine_api_key(e));
        assert_int_equal(lleval_engine_local_delay_ms(e), 0);
        if (cases[i].local) {
            assert_int_equal(lleval_engine_make_request(e, body, &req, &err), LLEVAL_EINVAL);
            assert_null(req.url);
            assert_int_equal(lleval_engine_parse_reply(e, 200, "{}", 2, &a, &err),
                             LLEVAL_REPLY_FAIL);
            assert_null(a.content);
        } else {
            assert_int_equal(lleval_engine_answer_local(e, "x", body, &a, &err), LLEVAL_EINVAL);
            tu_assert_contains(err.msg, "over HTTP");
        }
        /* a managed server moves the engine: trailing slashes go, even from its own URL */
        lleval_engine_set_base_url(e, "http://127.0.0.1:40123/");
        assert_string_equal(lleval_engine_base_url(e), "http://127.0.0.1:40123");
        lleval_engine_set_base_url(e, lleval_engine_base_url(e));
        assert_string_equal(lleval_engine_base_url(e), "http://127.0.0.1:40123");
        lleval_engine_set_probe_timeout_s(e, 3);
        assert_int_equal(lleval_engine_probe_timeout_s(e), 3);
        lleval_engine_close(e);
    }
    lleval_engine_close(NULL);

    /* a base_url that is not http(s) opens nothing */
    memset(&cfg, 0, sizeof(cfg));
    cfg.engine = LLEVAL_ENGINE_OLLAMA;
    cfg.base_url = (char *)"ftp://127.0.0.1:11434";
    e = (struct lleval_engine *)(void *)&sentinel; /* open() must set it to NULL */
    assert_int_equal(lleval_engine_open(&e, &cfg, &err), LLEVAL_EINVAL);
    assert_null(e);
    tu_assert_contains(err.msg, "must start with http:// or https://");
    json_decref(body);
}

static void test_http_helpers(void **state)
{
    char *s;
    char why[200];
    json_t *j;
    (void)state;

    assert_int_equal(lleval_http_classify(200), LLEVAL_REPLY_OK);
    assert_int_equal(lleval_http_classify(0), LLEVAL_REPLY_RETRY);
    assert_int_equal(lleval_http_classify(429), LLEVAL_REPLY_RETRY);
    assert_int_equal(lleval_http_classify(500), LLEVAL_REPLY_RETRY);
    assert_int_equal(lleval_http_classify(503), LLEVAL_REPLY_RETRY);
    assert_int_equal(lleval_http_classify(400), LLEVAL_REPLY_FAIL);
    assert_int_equal(lleval_http_classify(401), LLEVAL_REPLY_FAIL);
    assert_int_equal(lleval_http_classify(404), LLEVAL_REPLY_FAIL);

    s = lleval_http_url_redact("https://user:secret@example.com:8443/v1?x=@");
    assert_string_equal(s, "https://example.com:8443/v1?x=@");
    free(s);
    s = lleval_http_url_redact("http://127.0.0.1:11434");
    assert_string_equal(s, "http://127.0.0.1:11434");
    free(s);

    s = error_text("{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}", NULL);
    assert_string_equal(s, "model \"x\" not found, try pulling it first");
    free(s);
    s = error_text("{\"error\":{\"message\":\"bad key " KEY "\",\"type\":\"x\"}}", KEY);
    assert_string_equal(s, "bad key ***");
    free(s);
    s = error_text("<html>\n<b>502 Bad Gateway</b>\r\n</html>", NULL);
    assert_string_equal(s, "<html> <b>502 Bad Gateway</b> </html>");
    free(s);
    {
        char big[2000];
        memset(big, 'x', sizeof(big));
        s = lleval_http_error_text(big, sizeof(big), NULL);
        assert_true(strlen(s) < 320);
        tu_assert_contains(s, "...");
        free(s);
    }

    /* invalid UTF-8 and lone surrogates are repaired, not rejected */
    j = json_decode("{\"a\":\"x\xff y\"}", why, sizeof(why));
    assert_non_null(j);
    assert_string_equal(lleval_json_str(j, "a"), "x\xef\xbf\xbd y");
    json_decref(j);
    j = json_decode("{\"a\":\"\\ud800z\\ud83d\\ude00\"}", why, sizeof(why));
    assert_non_null(j);
    assert_string_equal(lleval_json_str(j, "a"), "\xef\xbf\xbdz\xf0\x9f\x98\x80");
    json_decref(j);
    j = json_decode("{\"a\":\"\\\\ud800\"}", why, sizeof(why));
    assert_non_null(j); /* an escaped backslash, not an escape */
    assert_string_equal(lleval_json_str(j, "a"), "\\ud800");
    json_decref(j);
    assert_null(json_decode("{\"a\":", why, sizeof(why)));
    assert_true(why[0] != '\0');
    j = json_stringn("a\0b", 3);
    s = lleval_http_json_text(j);
    assert_string_equal(s, "a\xef\xbf\xbd\x62"); /* "a", U+FFFD, "b" */
    free(s);
    json_decref(j);
}

/* lleval_utf8_sanitize: one U+FFFD for each broken sequence (its first byte
 * and the continuation bytes after it), NUL bytes as spaces, the rest as it is. */
static void test_utf8_sanitize(void **state)
{
#define R "\xef\xbf\xbd"
#define C(in, want)                                                                                \
    {                                                                                              \
        in, sizeof(in) - 1, want                                                                   \
    }
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        C("", ""),
        C("plain ascii", "plain ascii"),
        C("a\0b\0", "a b "),
        C("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
        C("a\xffz", "a" R "z"),
        C("\xff\xfe", R R),                  /* two bad bytes: two characters */
        C("\x80\x80\x80z", R "z"),           /* stray continuations: one */
        C("x\xe2\x82", "x" R),               /* cut short at the end */
        C("\xe2\x82z", R "z"),               /* cut short before ASCII */
        C("\xe2\x82\xc3\xa9", R "\xc3\xa9"), /* cut short before a sequence */
        C("\xc0\xaf!", R "!"),               /* overlong */
        C("\xed\xa0\x80.", R "."),           /* surrogate */
        C("\xf4\x90\x80\x80", R),            /* above U+10FFFF */
        C("\xf8\x88\x80\x80\x80", R),        /* 5-byte form */
        C("\xc3\xa9\xa9\xa9", "\xc3\xa9" R), /* a sequence, then strays */
        C("\xc3\0", R " "),                  /* NUL ends a broken sequence */
        C("ok\xe2\x82\xac\xe2", "ok\xe2\x82\xac" R),
    };
#undef C
#undef R
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        char *got = lleval_utf8_sanitize(cases[i].in, cases[i].len);
        if (strcmp(got, cases[i].want)) {
            print_error("case %zu: got \"%s\", want \"%s\"\n", i, got, cases[i].want);
            fail();
        }
        free(got);
    }
}

/* The engine error text is cut (at 300 bytes) at a character boundary. */
static void test_error_text_cut(void **state)
{
    (void)state;
    for (size_t pad = 0; pad < 3; pad++) {
        struct lleval_sb body = LLEVAL_SB_INIT;
        char *s;
        for (size_t i = 0; i < pad; i++)
            lleval_sb_addch(&body, 'x');
        for (size_t i = 0; i < 200; i++)
            lleval_sb_adds(&body, "\xe2\x82\xac"); /* U+20AC, 3 bytes */
        s = lleval_http_error_text(body.buf, body.len, NULL);
        assert_true(lleval_utf8_valid(s, strlen(s), NULL));
        assert_true(lleval_str_ends_with(s, "..."));
        /* 300 bytes moved back to the start of the character at the cut */
        assert_int_equal(strlen(s) - 3, pad + (300 - pad) / 3 * 3);
        assert_memory_equal(s, body.buf, strlen(s) - 3);
        free(s);
        lleval_sb_release(&body);
    }
}

/* ---- ollama ------------------------------------------------------------------------------- */

static void test_ollama_request(void **state)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_http_request req;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *sent, *options, *bad;
    (void)state;

    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, NULL, NULL);
    sent = request_json(e, batch_body, &req);
    assert_string_equal(req.url, "http://127.0.0.1:11434/api/chat");
    assert_true(has_header(&req, "Content-Type: application/json"));
    assert_false(has_header_named(&req, "Authorization"));
    assert_string_equal(lleval_json_str(sent, "model"), MODEL);
    assert_true(json_is_false(json_object_get(sent, "stream")));
    assert_string_equal(lleval_json_str(sent, "keep_alive"), "5m");
    assert_int_equal(json_array_size(json_object_get(sent, "messages")), 2);
    assert_string_equal(
        lleval_json_str(json_array_get(json_object_get(sent, "messages"), 1), "content"),
        "Question: what is the capital of France?");
    options = json_object_get(sent, "options");
    assert_int_equal(lleval_json_int(options, "num_ctx", -1), 4096);
    assert_int_equal(lleval_json_int(options, "num_predict", -1), 512);
    assert_true(lleval_json_num(options, "temperature", -1) == 0);
    assert_int_equal(lleval_json_int(options, "top_k", -1), 50);
    assert_true(lleval_json_num(options, "top_p", -1) == 1.0);
    assert_int_equal(lleval_json_int(options, "seed", -1), 1234);
    assert_string_equal(json_string_value(json_array_get(json_object_get(options, "stop"), 0)),
                        "\n\n");
    /* OpenAI-only fields stay out of Ollama's body */
    assert_null(json_object_get(sent, "max_tokens"));
    json_decref(sent);
    lleval_http_request_release(&req);

    /* keep_alive as a number of seconds, content parts, no stop */
    cfg.keep_alive = (char *)"-1";
    sent = request_json(e,
                        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                        "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],\"stop\":[]}",
                        &req);
    assert_int_equal(lleval_json_int(sent, "keep_alive", 0), -1);
    assert_string_equal(lleval_json_str(sent, "model"), MODEL); /* from model_id */
    assert_string_equal(
        lleval_json_str(json_array_get(json_object_get(sent, "messages"), 0), "content"), "ab");
    assert_null(json_object_get(json_object_get(sent, "options"), "stop"));
    assert_null(json_object_get(json_object_get(sent, "options"), "num_predict"));
    json_decref(sent);
    lleval_http_request_release(&req);

    bad = load_json("{\"model\":\"x\"}");
    assert_int_equal(lleval_engine_make_request(e, bad, &req, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "messages");
    lleval_http_request_release(&req);
    json_decref(bad);
    lleval_engine_close(e);
}

static void test_ollama_replies(void **state)
{
    /* shapes from Ollama's docs/api.md, plus the faults a busy server produces */
    static const struct reply_case cases[] = {
        {"ok", 200,
         "{\"model\":\"llama3.2\",\"created_at\":\"2023-12-12T14:13:43.416799Z\","
         "\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How are you today?\"},"
         "\"done_reason\":\"stop\",\"done\":true,\"total_duration\":5191566416,"
         "\"load_duration\":2154458,\"prompt_eval_count\":26,\"prompt_eval_duration\":383809000,"
         "\"eval_count\":298,\"eval_duration\":4799921000}",
         LLEVAL_REPLY_OK, "Hello! How are you today?", LLEVAL_FINISH_STOP, 26, 298, NULL},
        {"length", 200,
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Paris is\"},"
         "\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":10,\"eval_count\":2}",
         LLEVAL_REPLY_OK, "Paris is", LLEVAL_FINISH_LENGTH, 10, 2, NULL},
        {"no done_reason (older servers)", 200,
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},\"done\":"
         "true}",
         LLEVAL_REPLY_OK, "Paris", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"missing message content", 200, "{\"model\":\"m\",\"done\":true,\"done_reason\":\"stop\"}",
         LLEVAL_REPLY_OK, "", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"streamed NDJSON", 200,
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Par\"},\"done\":false}"
         "\n"
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"is\"},\"done\":false}"
         "\n"
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
         "\"done_reason\":\"stop\",\"prompt_eval_count\":7,\"eval_count\":2}\n",
         LLEVAL_REPLY_OK, "Paris", LLEVAL_FINISH_STOP, 7, 2, NULL},
        {"invalid UTF-8 in content", 200,
         "{\"message\":{\"role\":\"assistant\",\"content\":\"caf\xe9!\"},\"done\":true}",
         LLEVAL_REPLY_OK, "caf\xef\xbf\xbd!", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"500 out of memory", 500,
         "{\"error\":\"llama runner process has terminated: cudaMalloc failed: out of memory\"}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "cudaMalloc failed: out of memory"},
        {"404 model not found", 404,
         "{\"error\":\"model \\\"llama3.1:8b-instruct-q4_K_M\\\" not found, try pulling it "
         "first\"}",
         LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, "ollama pull " MODEL},
        {"404 wrong path", 404, "404 page not found", LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, "base_url"},
        {"400 bad request", 400, "{\"error\":\"invalid options\"}", LLEVAL_REPLY_FAIL, NULL, 0, 0,
         0, "HTTP 400: invalid options"},
        {"429 busy", 429, "{\"error\":\"server busy, please try again.\"}", LLEVAL_REPLY_RETRY,
         NULL, 0, 0, 0, "server busy"},
        {"503 queue full", 503, "{\"error\":\"server busy\"}", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "HTTP 503"},
        {"malformed JSON", 200, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"con",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "malformed reply from ollama"},
        {"empty body", 200, "", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "empty"},
        {"not an object", 200, "[1,2]", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "malformed"},
        {"unrelated object", 200, "{\"status\":\"ok\"}", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "no message"},
        {"error inside a 200 stream", 200,
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Pa\"},\"done\":false}"
         "\n"
         "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "unexpected EOF"},
        {"stream cut short", 200,
         "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Pa\"},\"done\":false}"
         "\n",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "incomplete"},
    };
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_answer a;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *ok = cases[0].body;
    (void)state;

    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, "http://127.0.0.1:11434/", NULL);
    run_reply_cases(e, cases, LLEVAL_ARRAY_SIZE(cases));

    /* durations are nanoseconds */
    assert_int_equal(lleval_engine_parse_reply(e, 200, ok, strlen(ok), &a, &err), LLEVAL_REPLY_OK);
    assert_true(a.gen_tps > 62.08 && a.gen_tps < 62.09);       /* 298 / 4.799921 s */
    assert_true(a.prompt_tps > 67.74 && a.prompt_tps < 67.75); /* 26 / 0.383809 s */
    assert_true(a.load_ms > 2.15 && a.load_ms < 2.16);
    assert_string_equal(a.model, "llama3.2");
    lleval_answer_release(&a);
    lleval_engine_close(e);
}

/* A 2xx reply of the wrong shape is an invalid reply (retried, then recorded as
 * invalid_reply by the scheduler), never a successful empty answer: each
 * adapter, each shape; the message names the field. */
static void test_invalid_replies(void **state)
{
#define CHOICE(msg) "{\"choices\":[{\"index\":0,\"message\":" msg ",\"finish_reason\":\"stop\"}]}"
    static const struct reply_case chat_cases[] = {
        {"content a number", 200, CHOICE("{\"role\":\"assistant\",\"content\":12345}"),
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "choices[0].message.content is a number, not a string"},
        {"content an object", 200, CHOICE("{\"content\":{\"text\":\"Paris\"}}"), LLEVAL_REPLY_RETRY,
         NULL, 0, 0, 0, "choices[0].message.content is an object"},
        {"content an array", 200, CHOICE("{\"content\":[\"Paris\"]}"), LLEVAL_REPLY_RETRY, NULL, 0,
         0, 0, "choices[0].message.content is an array"},
        {"content true", 200, CHOICE("{\"content\":true}"), LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "choices[0].message.content is true"},
        {"content missing", 200, CHOICE("{\"role\":\"assistant\"}"), LLEVAL_REPLY_RETRY, NULL, 0, 0,
         0, "choices[0].message.content is missing"},
        {"message a string", 200, CHOICE("\"Paris\""), LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "choices[0].message is a string, not an object"},
        {"no message, no text", 200, "{\"choices\":[{\"index\":0}]}", LLEVAL_REPLY_RETRY, NULL, 0,
         0, 0, "choices[0] has no message"},
        {"choices missing", 200, "{\"id\":\"x\",\"object\":\"chat.completion\"}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "no choices (\"choices\" is missing)"},
        {"choices an object", 200, "{\"choices\":{\"0\":{}}}", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "no choices (\"choices\" is an object)"},
        {"choices[0] a string", 200, "{\"choices\":[\"Paris\"]}", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "choices[0] is a string, not an object"},
        {"choices[0] null", 200, "{\"choices\":[null]}", LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "choices[0] is null, not an object"},
        /* still answers */
        {"null content is an empty answer", 200, CHOICE("{\"content\":null,\"refusal\":\"no\"}"),
         LLEVAL_REPLY_OK, "", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"completions text", 200, "{\"choices\":[{\"text\":\"Paris\"}]}", LLEVAL_REPLY_OK, "Paris",
         LLEVAL_FINISH_STOP, -1, -1, NULL},
    };
#undef CHOICE
    static const struct reply_case ollama_cases[] = {
        {"content a number", 200,
         "{\"message\":{\"role\":\"assistant\",\"content\":12345},"
         "\"done\":true}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0,
         "invalid reply from ollama: message.content is a number, not a string"},
        {"content an object", 200, "{\"message\":{\"content\":{}},\"done\":true}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "message.content is an object, not a string"},
        {"content an array", 200, "{\"message\":{\"content\":[1]},\"done\":true}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "message.content is an array, not a string"},
        {"message a string", 200, "{\"message\":\"Paris\",\"done\":true}", LLEVAL_REPLY_RETRY, NULL,
         0, 0, 0, "message is a string, not an object"},
        {"response a number", 200, "{\"response\":7,\"done\":true}", LLEVAL_REPLY_RETRY, NULL, 0, 0,
         0, "response is a number, not a string"},
        {"bad piece inside a stream", 200,
         "{\"message\":{\"content\":\"Pa\"},\"done\":false}\n"
         "{\"message\":{\"content\":5},\"done\":true}\n",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "message.content is a number"},
        {"null content is an empty answer", 200,
         "{\"message\":{\"role\":\"assistant\",\"content\":null},\"done\":true}", LLEVAL_REPLY_OK,
         "", LLEVAL_FINISH_STOP, -1, -1, NULL},
    };
    static const enum lleval_engine_kind chat_kinds[] = {LLEVAL_ENGINE_OPENAI,
                                                         LLEVAL_ENGINE_LLAMACPP};
    struct lleval_config cfg;
    struct lleval_engine *e;
    (void)state;
    for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(chat_kinds); k++) {
        open_engine(&e, &cfg, chat_kinds[k], "http://127.0.0.1:1/v1", NULL);
        run_reply_cases(e, chat_cases, LLEVAL_ARRAY_SIZE(chat_cases));
        lleval_engine_close(e);
    }
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, "http://127.0.0.1:11434", NULL);
    run_reply_cases(e, ollama_cases, LLEVAL_ARRAY_SIZE(ollama_cases));
    lleval_engine_close(e);
}

/* Parse errors reach users in plain words, never jansson's own texts (its
 * flag names, the bytes it quotes near the error), and keep line:column: in
 * reply bodies and in JSON files. */
static void test_json_messages(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"a\": \"x\\u0000y\"}", "contains a NUL character (\\u0000)"},
        {"hello", "is not JSON: expected an object or a list"},
        {"", "is empty"},
        {"{\"a\": 1} trailing", "has more text after the JSON value"},
        {"{\"a\": ", "ends too early"},
        {"{\"a\": 1, \"a\": 2}", "has a duplicate key"},
        {"{\"a\" 1}", "expected ':' after a key"},
        {"{\"a\": [1 2]}", "expected ',' or ']'"},
        {"{\"a\": 1 \"b\": 2}", "expected ',' or '}'"},
        {"{a: 1}", "expected a quoted key or '}'"},
        {"{\"a\": tru}", "not JSON"},
        {"{\"a\": \"x\\qy\"}", "invalid escape"},
        {"{\"a\": 99999999999999999999999}", "number too large"},
        {"{\"a\": \"\xff\"}", "not valid UTF-8"},
        {"{\"a\": \"line\nbreak\"}", "has a line break inside a string"},
        {"{\"a\": \"bell\x07\"}", "has a control character inside a string"},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        json_error_t jerr;
        json_t *j = json_loadb(cases[i].text, strlen(cases[i].text), JSON_REJECT_DUPLICATES, &jerr);
        const char *plain;
        assert_null(j);
        plain = lleval_json_error_text(&jerr);
        if (!strstr(plain, cases[i].want)) {
            print_error("'%s': jansson says \"%s\", mapped to \"%s\", want \"%s\"\n", cases[i].text,
                        jerr.text, plain, cases[i].want);
            fail();
        }
        /* the same through a file: path:line:column kept, no jansson text */
        {
            struct lleval_err err = LLEVAL_ERR_INIT;
            char *p = tu_write(dir, "bad.json", cases[i].text);
            char *where = lleval_xasprintf("%s:%d:%d: invalid JSON: ", p, jerr.line, jerr.column);
            assert_null(lleval_json_load_file(p, &err));
            tu_assert_contains(err.msg, where);
            tu_assert_contains(err.msg, cases[i].want);
            assert_null(strstr(err.msg, "JSON_ALLOW_NUL"));
            assert_null(strstr(err.msg, " near "));
            free(where);
            free(p);
        }
    }
    {
        /* a reply body: the bytes near the error (here a key) are not quoted */
        char why[200];
        assert_null(json_decode("{\"k\": " KEY "}", why, sizeof(why)));
        assert_null(strstr(why, KEY));
        assert_null(strstr(why, " near "));
        tu_assert_contains(why, "(line 1, column");
        assert_null(json_decode("", why, sizeof(why)));
        tu_assert_contains(why, "the body is empty");
    }
    tu_rmtree(dir);
    free(dir);
}

/* ---- llamacpp ----------------------------------------------------------------------------- */

/* captured from llama-server (node-llama-cpp 3.21.1's llama.cpp) with a tiny random model */
static const char *llamacpp_reply =
    "{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"alph zesificate successo status heutigen\\u0e42gele\"}}],"
    "\"created\":1795692344,\"model\":\"/work/shared/models/llama-2-tiny-random.gguf\","
    "\"system_fingerprint\":\"b1-80fb11a\",\"object\":\"chat.completion\","
    "\"usage\":{\"completion_tokens\":8,\"prompt_tokens\":54,\"total_tokens\":62,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0}},"
    "\"id\":\"chatcmpl-cRNFlO4CrSb6Lu49RbcqyiNlEMnKY128\","
    "\"timings\":{\"cache_n\":0,\"prompt_n\":54,\"prompt_ms\":4.883,"
    "\"prompt_per_token_ms\":0.09042592592592592,\"prompt_per_second\":11058.775343026828,"
    "\"predicted_n\":8,\"predicted_ms\":27.25,\"predicted_per_token_ms\":3.892857142857143,"
    "\"predicted_per_second\":256.88073394495416}}";

static void test_llamacpp_request(void **state)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_http_request req;
    json_t *sent;
    (void)state;

    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, NULL, NULL);
    assert_int_equal(lleval_engine_probe_timeout_s(e), 120);
    sent = request_json(e, batch_body, &req);
    assert_string_equal(req.url, "http://127.0.0.1:8080/v1/chat/completions");
    assert_true(has_header(&req, "Content-Type: application/json"));
    assert_string_equal(lleval_json_str(sent, "model"), MODEL);
    assert_int_equal(lleval_json_int(sent, "max_tokens", -1), 512);
    assert_int_equal(lleval_json_int(sent, "top_k", -1), 50);
    assert_int_equal(lleval_json_int(sent, "seed", -1), 1234);
    assert_true(lleval_json_num(sent, "top_p", -1) == 1.0);
    assert_true(json_is_false(json_object_get(sent, "stream")));
    assert_int_equal(json_array_size(json_object_get(sent, "stop")), 1);
    json_decref(sent);
    lleval_http_request_release(&req);
    lleval_engine_close(e);

    /* a base_url ending in /v1 is tolerated; nulls and an empty stop list are dropped */
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, "http://10.0.0.2:9000/v1", NULL);
    sent = request_json(e,
                        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[],"
                        "\"seed\":null,\"stream\":true}",
                        &req);
    assert_string_equal(req.url, "http://10.0.0.2:9000/v1/chat/completions");
    assert_null(json_object_get(sent, "stop"));
    assert_null(json_object_get(sent, "seed"));
    assert_true(json_is_false(json_object_get(sent, "stream")));
    json_decref(sent);
    lleval_http_request_release(&req);
    lleval_engine_close(e);
}

/* The chat body is written straight from the batch body: exact bytes, fields in their
 * order, the model filled in where it stands (or appended), stream always last and false,
 * top_k 0 left out for OpenAI's API only. */
static void test_chat_body_bytes(void **state)
{
    static const struct {
        enum lleval_engine_kind kind;
        const char *in, *out;
    } cases[] = {
        {LLEVAL_ENGINE_OPENAI,
         "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
         "\"h\\u00e9\\n\\\"\"}],"
         "\"top_k\":0,\"temperature\":0.7,\"stop\":[]}",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"h\xc3\xa9\\n\\\"\"}],"
         "\"temperature\":0.7,\"stream\":false}"},
        {LLEVAL_ENGINE_LLAMACPP,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"model\":null,\"top_k\":0,"
         "\"stream_options\":{\"a\":1},\"max_tokens\":16}",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"top_k\":0,\"max_tokens\":16,"
         "\"model\":\"" MODEL "\",\"stream\":false}"},
        {LLEVAL_ENGINE_OPENAI,
         "{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"top_k\":5,"
         "\"stop\":[\"\\n\"]}",
         "{\"model\":\"" MODEL "\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
         "\"top_k\":5,\"stop\":[\"\\n\"],\"stream\":false}"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lleval_engine *e;
        struct lleval_config cfg;
        struct lleval_http_request req;
        open_engine(&e, &cfg, cases[i].kind, NULL, NULL);
        json_decref(request_json(e, cases[i].in, &req));
        assert_string_equal(req.body, cases[i].out);
        lleval_http_request_release(&req);
        lleval_engine_close(e);
    }
}

static void test_llamacpp_replies(void **state)
{
    static const struct reply_case cases[] = {
        {"captured reply", 200, NULL, LLEVAL_REPLY_OK,
         "alph zesificate successo status heutigen\xe0\xb9\x82gele", LLEVAL_FINISH_LENGTH, 54, 8,
         NULL},
        {"timings without usage", 200,
         "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"message\":{\"role\":"
         "\"assistant\","
         "\"content\":\"Paris\"}}],\"timings\":{\"cache_n\":53,\"prompt_n\":1,"
         "\"predicted_n\":2,\"predicted_per_second\":40.0}}",
         LLEVAL_REPLY_OK, "Paris", LLEVAL_FINISH_STOP, 54, 2, NULL},
        {"context exceeded", 400,
         "{\"error\":{\"code\":400,\"message\":\"request (428 tokens) exceeds the available "
         "context size (256 tokens), try increasing it\",\"type\":\"exceed_context_size_error\","
         "\"n_prompt_tokens\":428,\"n_ctx\":256}}",
         LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, "exceeds the available context size"},
        {"loading", 503,
         "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "llama-server replied HTTP 503: Loading model"},
        {"server error", 500,
         "{\"error\":{\"code\":500,\"message\":\"[json.exception.parse_error.101] parse error\","
         "\"type\":\"server_error\"}}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "parse error"},
        {"api key", 401,
         "{\"error\":{\"message\":\"Invalid API Key\",\"type\":\"authentication_error\","
         "\"code\":401}}",
         LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, "Invalid API Key"},
        {"no choices", 200, "{\"choices\":[],\"object\":\"chat.completion\"}", LLEVAL_REPLY_RETRY,
         NULL, 0, 0, 0, "no choices"},
        {"malformed", 200, "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"mess",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "malformed reply from llama-server"},
    };
    struct reply_case table[LLEVAL_ARRAY_SIZE(cases)];
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_answer a;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    memcpy(table, cases, sizeof(cases));
    table[0].body = llamacpp_reply;
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, NULL, NULL);
    run_reply_cases(e, table, LLEVAL_ARRAY_SIZE(table));

    assert_int_equal(
        lleval_engine_parse_reply(e, 200, llamacpp_reply, strlen(llamacpp_reply), &a, &err),
        LLEVAL_REPLY_OK);
    assert_true(a.gen_tps > 256.88 && a.gen_tps < 256.89);
    assert_true(a.prompt_tps > 11058.77 && a.prompt_tps < 11058.78);
    assert_string_equal(a.request_id, "chatcmpl-cRNFlO4CrSb6Lu49RbcqyiNlEMnKY128");
    assert_string_equal(a.model, "/work/shared/models/llama-2-tiny-random.gguf");
    lleval_answer_release(&a);
    lleval_engine_close(e);
}

/* ---- openai ------------------------------------------------------------------------------- */

static void test_openai_request(void **state)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_http_request req;
    json_t *sent;
    (void)state;

    tu_setenv(KEY_ENV, KEY);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, "https://api.example.com/v1/", KEY_ENV);
    sent = request_json(e, batch_body, &req);
    assert_string_equal(req.url, "https://api.example.com/v1/chat/completions");
    assert_true(has_header(&req, "Authorization: Bearer " KEY));
    assert_string_equal(lleval_json_str(sent, "model"), MODEL);
    assert_int_equal(lleval_json_int(sent, "max_tokens", -1), 512);
    assert_int_equal(lleval_json_int(sent, "top_k", -1), 50);
    assert_true(json_is_false(json_object_get(sent, "stream")));
    /* the key travels in the header only */
    assert_null(strstr(req.body, KEY));
    assert_null(strstr(req.url, KEY));
    json_decref(sent);
    lleval_http_request_release(&req);

    /* top_k 0 (disabled) is left out for servers that do not know it */
    sent = request_json(e, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_k\":0}",
                        &req);
    assert_null(json_object_get(sent, "top_k"));
    json_decref(sent);
    lleval_http_request_release(&req);
    lleval_engine_close(e);

    /* no key in the environment: no Authorization header */
    tu_unsetenv(KEY_ENV);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, NULL, KEY_ENV);
    sent = request_json(e, batch_body, &req);
    assert_string_equal(req.url, "http://127.0.0.1:8000/v1/chat/completions");
    assert_false(has_header_named(&req, "Authorization"));
    json_decref(sent);
    lleval_http_request_release(&req);
    lleval_engine_close(e);
}

static void test_openai_replies(void **state)
{
    static const struct reply_case cases[] = {
        {"ok", 200,
         "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion\",\"created\":1677652288,"
         "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{"
         "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Paris.\"},"
         "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
         "\"completion_tokens\":2,\"total_tokens\":11}}",
         LLEVAL_REPLY_OK, "Paris.", LLEVAL_FINISH_STOP, 9, 2, NULL},
        {"length", 200,
         "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Par\"},"
         "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}",
         LLEVAL_REPLY_OK, "Par", LLEVAL_FINISH_LENGTH, 9, 1, NULL},
        {"content filter", 200,
         "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
         "\"finish_reason\":\"content_filter\"}]}",
         LLEVAL_REPLY_OK, "", LLEVAL_FINISH_ERROR, -1, -1, NULL},
        {"null content, tool calls", 200,
         "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
         "\"tool_calls\":[]},\"finish_reason\":\"tool_calls\"}]}",
         LLEVAL_REPLY_OK, "", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"missing finish_reason and usage", 200,
         "{\"choices\":[{\"message\":{\"content\":\"Paris\"}}]}", LLEVAL_REPLY_OK, "Paris",
         LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"invalid UTF-8", 200,
         "{\"choices\":[{\"message\":{\"content\":\"\xff\xfeParis\"},\"finish_reason\":\"stop\"}]}",
         LLEVAL_REPLY_OK, "\xef\xbf\xbd\xef\xbf\xbdParis", LLEVAL_FINISH_STOP, -1, -1, NULL},
        {"rate limited", 429,
         "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\","
         "\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
         LLEVAL_REPLY_RETRY, NULL, 0, 0, 0, "HTTP 429: Rate limit reached"},
        {"unauthorized echoing the key", 401,
         "{\"error\":{\"message\":\"Incorrect API key provided: " KEY "\",\"type\":"
         "\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
         LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, KEY_ENV},
        {"model missing", 404,
         "{\"error\":{\"message\":\"The model `x` does not exist\",\"type\":"
         "\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
         LLEVAL_REPLY_FAIL, NULL, 0, 0, 0, "does not exist"},
        {"gateway", 502, "<html><body>502 Bad Gateway</body></html>", LLEVAL_REPLY_RETRY, NULL, 0,
         0, 0, "502 Bad Gateway"},
        {"error in a 200", 200, "{\"error\":{\"message\":\"overloaded\"}}", LLEVAL_REPLY_RETRY,
         NULL, 0, 0, 0, "overloaded"},
        {"malformed", 200, "{\"id\":\"chatcmpl-1\",\"choices\":[{", LLEVAL_REPLY_RETRY, NULL, 0, 0,
         0, "malformed"},
    };
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_answer a;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *ok = cases[0].body;
    (void)state;

    tu_setenv(KEY_ENV, KEY);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, NULL, KEY_ENV);
    assert_string_equal(lleval_engine_api_key(e), KEY);
    run_reply_cases(e, cases, LLEVAL_ARRAY_SIZE(cases));
    assert_int_equal(lleval_engine_parse_reply(e, 200, ok, strlen(ok), &a, &err), LLEVAL_REPLY_OK);
    assert_string_equal(a.request_id, "chatcmpl-123");
    assert_string_equal(a.model, "gpt-4o-mini");
    assert_true(a.gen_tps == 0 && a.prompt_tps == 0);
    lleval_answer_release(&a);
    lleval_engine_close(e);
    tu_unsetenv(KEY_ENV);

    assert_int_equal(lleval_openai_finish(NULL), LLEVAL_FINISH_STOP);
    assert_int_equal(lleval_openai_finish("eos"), LLEVAL_FINISH_STOP);
    assert_int_equal(lleval_openai_finish("max_tokens"), LLEVAL_FINISH_LENGTH);
}

/* ---- probes against the fakes --------------------------------------------------------------- */

struct fake {
    long pid;
    int port;
    char url[64];
    char *dir; /* holds the fake's output (its first line: PORT <n>) */
};

/* python3 on PATH (owned), or NULL: the fakes are skipped without it. */
static char *python_binary(void)
{
    return lleval_find_in_path("python3");
}

static bool have_python(void)
{
    char *py = python_binary();
    free(py);
    return py != NULL;
}

/* Starts tests/fakes/<script> with args (NULL-terminated), its output into a file, and reads
 * its PORT line from there (waiting up to 60 s for it). */
static bool fake_start(struct fake *f, const char *script, const char *const *args)
{
    char *path = lleval_xasprintf("%s/tests/fakes/%s", LLEVAL_SOURCE_DIR, script);
    char *py = python_binary();
    char *log;
    const char *argv[32];
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_proc_exit ex;
    int n = 0;
    long port = 0;

    memset(f, 0, sizeof(*f));
    argv[n++] = "python3";
    argv[n++] = path;
    for (; args && *args && n < 30; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    f->dir = tu_tmpdir();
    log = lleval_path_join(f->dir, "fake.log");
    if (!py || lleval_proc_spawn(py, (char *const *)argv, log, 0, &f->pid, &err)) {
        print_error("%s\n", err.msg);
        f->pid = 0;
    }
    for (double until = lleval_monotonic() + 60.0; f->pid > 0 && lleval_monotonic() < until;) {
        char *text = tu_read(log);
        char *nl = text ? strchr(text, '\n') : NULL;
        if (nl && !strncmp(text, "PORT ", 5)) {
            *nl = '\0';
            if (nl > text && nl[-1] == '\r')
                nl[-1] = '\0';
            if (lleval_parse_long(text + 5, 1, 65535, &port))
                port = 0;
            free(text);
            break;
        }
        free(text);
        if (nl || lleval_proc_poll(f->pid, &ex) != 0)
            break; /* another first line, or it ended */
        lleval_sleep_ms(20);
    }
    free(log);
    free(path);
    free(py);
    if (!port) {
        lleval_proc_terminate(f->pid, 5000);
        f->pid = 0;
        tu_rmtree(f->dir);
        free(f->dir);
        f->dir = NULL;
        return false;
    }
    f->port = (int)port;
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
    return true;
}

static void fake_stop(struct fake *f)
{
    lleval_proc_terminate(f->pid, 5000);
    f->pid = 0;
    if (f->dir) {
        tu_rmtree(f->dir);
        free(f->dir);
        f->dir = NULL;
    }
}

#define START_FAKE(f, script, ...)                                                                 \
    do {                                                                                           \
        static const char *const fake_args_[] = {__VA_ARGS__, NULL};                               \
        if (!have_python())                                                                        \
            skip();                                                                                \
        if (!fake_start((f), (script), fake_args_)) {                                              \
            print_error("cannot start tests/fakes/%s\n", (script));                                \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* A loopback port nobody listens on. */
static int dead_port(void)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    int port = lleval_free_loopback_port("the test", &err);
    assert_true(port > 0);
    return port;
}

/* GET url/__stats from a fake; owned JSON. */
static json_t *fake_stats(const struct fake *f)
{
    struct lleval_http_request req = {0};
    struct lleval_sb body = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    long status = 0;
    json_t *j;
    req.url = lleval_xasprintf("%s/__stats", f->url);
    assert_int_equal(lleval_http_fetch(&req, 10, 0, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    j = load_json(body.buf);
    lleval_sb_release(&body);
    lleval_http_request_release(&req);
    return j;
}

/* make_request -> POST -> parse_reply, the way the scheduler does it. */
static enum lleval_reply round_trip(struct lleval_engine *e, struct lleval_answer *a,
                                    struct lleval_err *err)
{
    struct lleval_http_request req;
    struct lleval_sb body = LLEVAL_SB_INIT;
    json_t *batch = load_json(batch_body);
    long status = 0;
    enum lleval_reply r;
    assert_int_equal(lleval_engine_make_request(e, batch, &req, err), 0);
    json_decref(batch);
    if (lleval_http_fetch(&req, 120, 0, &status, &body, err)) {
        print_error("%s: %s\n", req.url, err->msg);
        fail();
    }
    r = lleval_engine_parse_reply(e, status, body.buf, body.len, a, err);
    lleval_sb_release(&body);
    lleval_http_request_release(&req);
    return r;
}

static void test_ollama_probe(void **state)
{
    struct fake f;
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_answer a;
    char url[64];
    json_t *stats;
    (void)state;

    START_FAKE(&f, "fake_ollama.py", "--model", MODEL, "--model", "qwen2.5");

    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, f.url, NULL);
    assert_int_equal(lleval_engine_probe(e, &info, &err), 0);
    assert_string_equal(info.model, MODEL);
    assert_int_equal(info.slot_ctx, 4096);
    tu_assert_contains(info.detail, "Ollama");
    tu_assert_contains(info.detail, "Q4_K_M");
    lleval_probe_info_release(&info);

    /* a real request round trip: the fake saw num_ctx */
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_OK);
    tu_assert_contains(a.content, "echo: Question: what is the capital");
    assert_true(a.completion_tokens > 0 && a.gen_tps > 0 && a.load_ms > 0);
    lleval_answer_release(&a);
    stats = fake_stats(&f);
    assert_int_equal(
        lleval_json_int(json_object_get(json_object_get(stats, "last_request"), "options"),
                        "num_ctx", -1),
        4096);
    json_decref(stats);

    /* "qwen2.5" is pulled as "qwen2.5:latest" */
    cfg.model_id = (char *)"Qwen2.5:latest";
    assert_int_equal(lleval_engine_probe(e, &info, &err), 0);
    lleval_probe_info_release(&info);

    cfg.model_id = (char *)"mistral:7b";
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "model mistral:7b is not pulled: run `ollama pull mistral:7b`");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
    fake_stop(&f);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, url, NULL);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "cannot reach Ollama at http://127.0.0.1:");
    tu_assert_contains(err.msg, "is `ollama serve` running?");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
}

static void test_ollama_faults(void **state)
{
    struct fake f;
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_answer a;
    (void)state;

    START_FAKE(&f, "fake_ollama.py", "--error-500-every", "1");
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, f.url, NULL);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_RETRY);
    tu_assert_contains(err.msg, "out of memory");
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);

    START_FAKE(&f, "fake_ollama.py", "--not-found");
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, f.url, NULL);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_FAIL);
    tu_assert_contains(err.msg, "run `ollama pull " MODEL "`");
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);

    START_FAKE(&f, "fake_ollama.py", "--malformed-every", "1");
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, f.url, NULL);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_RETRY);
    tu_assert_contains(err.msg, "malformed");
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);

    START_FAKE(&f, "fake_ollama.py", "--invalid-utf8-every", "1");
    open_engine(&e, &cfg, LLEVAL_ENGINE_OLLAMA, f.url, NULL);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_OK);
    tu_assert_contains(a.content, "\xef\xbf\xbd");
    assert_true(lleval_utf8_valid(a.content, strlen(a.content), NULL));
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);
}

static void test_openai_probe(void **state)
{
    struct fake f;
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_answer a;
    char url[96];
    json_t *stats;
    (void)state;

    START_FAKE(&f, "fake_openai.py", "--require-key", KEY, "--model", MODEL, "--model", "other");
    snprintf(url, sizeof(url), "%s/v1", f.url);

    /* no key in the environment */
    tu_unsetenv(KEY_ENV);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, url, KEY_ENV);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, KEY_ENV);
    tu_assert_contains(err.msg, "not set");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);

    /* a wrong key: named by its variable, never shown */
    tu_setenv(KEY_ENV, "sk-wrong-key-42");
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, url, KEY_ENV);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, KEY_ENV);
    assert_null(strstr(err.msg, "sk-wrong-key-42"));
    lleval_probe_info_release(&info);
    lleval_engine_close(e);

    /* the right key */
    tu_setenv(KEY_ENV, KEY);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, url, KEY_ENV);
    assert_int_equal(lleval_engine_probe(e, &info, &err), 0);
    assert_string_equal(info.model, MODEL);
    lleval_probe_info_release(&info);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_OK);
    tu_assert_contains(a.content, "echo: Question:");
    assert_int_equal(a.completion_tokens, 7); /* "echo:" and 6 words */
    lleval_answer_release(&a);
    stats = fake_stats(&f);
    assert_true(json_is_true(json_object_get(stats, "last_authorized")));
    json_decref(stats);

    /* a model the server does not list: a warning, not an error */
    cfg.model_id = (char *)"gpt-unlisted";
    assert_int_equal(lleval_engine_probe(e, &info, &err), 0);
    assert_null(info.model);
    tu_assert_contains(info.detail, "warning: model 'gpt-unlisted'");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);

    /* base_url without /v1 */
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, f.url, KEY_ENV);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "set base_url to http://127.0.0.1:");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
    tu_unsetenv(KEY_ENV);
    fake_stop(&f);

    /* rate limiting is transient */
    START_FAKE(&f, "fake_openai.py", "--rate-limit-every", "1", "--retry-after", "3");
    snprintf(url, sizeof(url), "%s/v1", f.url);
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, url, NULL);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_RETRY);
    tu_assert_contains(err.msg, "HTTP 429");
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", dead_port());
    open_engine(&e, &cfg, LLEVAL_ENGINE_OPENAI, url, NULL);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "cannot reach");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
}

static void test_llamacpp_probe_fake(void **state)
{
    struct fake f;
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_answer a;
    char url[64];
    (void)state;

    /* 503 while loading, then ready: the probe waits */
    START_FAKE(&f, "fake_openai.py", "--llamacpp", "--slots", "2", "--n-ctx", "2048",
               "--loading-ms", "1200");
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, f.url, NULL);
    assert_int_equal(lleval_engine_probe(e, &info, &err), 0);
    assert_int_equal(info.slots, 2);
    assert_int_equal(info.slot_ctx, 2048);
    assert_string_equal(info.model, "/models/fake.gguf");
    tu_assert_contains(info.detail, "2 slots of 2048 tokens each");
    tu_assert_contains(info.detail, "warning: context_length 4096");
    lleval_probe_info_release(&info);
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_OK);
    assert_true(a.gen_tps > 49.9 && a.gen_tps < 50.1);
    assert_true(a.prompt_tps > 499.9 && a.prompt_tps < 500.1);
    lleval_answer_release(&a);
    lleval_engine_close(e);
    fake_stop(&f);

    /* still loading when the bound runs out */
    START_FAKE(&f, "fake_openai.py", "--llamacpp", "--loading-ms", "600000");
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, f.url, NULL);
    lleval_engine_set_probe_timeout_s(e, 1);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "still loading");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
    fake_stop(&f);

    /* --api-key on the server, no key here */
    START_FAKE(&f, "fake_openai.py", "--llamacpp", "--require-key", KEY);
    tu_unsetenv(KEY_ENV);
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, f.url, KEY_ENV);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "wants an API key");
    tu_assert_contains(err.msg, KEY_ENV);
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
    fake_stop(&f);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, url, NULL);
    assert_int_equal(lleval_engine_probe(e, &info, &err), LLEVAL_EENGINE);
    tu_assert_contains(err.msg, "cannot reach llama-server at");
    lleval_probe_info_release(&info);
    lleval_engine_close(e);
}

/* ---- the real llama-server, when provisioned ----------------------------------------------- */

static char *llama_server_binary(void)
{
    const char *env = getenv("LLEVAL_LLAMA_SERVER");
    char *path;
    if (env && *env)
        return lleval_is_executable(env) ? lleval_xstrdup(env) : NULL;
#ifdef _WIN32
    /* llama-server.exe in llama.cpp's cache (HOME, which Wine passes through, would name the
     * host's Linux build) */
    {
        char *dir = lleval_llama_cache_bin_dir();
        path = lleval_executable_in(dir, "llama-server");
        free(dir);
        return path;
    }
#else
    {
        const char *home = getenv("HOME");
        if (!home)
            return NULL;
        path = lleval_xasprintf("%s/.cache/lleval/llama.cpp-nlc-3.21.1/bin/llama-server", home);
        if (lleval_is_executable(path))
            return path;
        free(path);
        return NULL;
    }
#endif
}

/* The llama-server the real-server test started: stopped by the teardown even
 * when an assertion ends the test early, so no server outlives the test. */
static long real_server_pid;
static char *real_server_dir; /* holds its log */

static int stop_real_server(void **state)
{
    (void)state;
    lleval_proc_terminate(real_server_pid, 5000);
    real_server_pid = 0;
    if (real_server_dir) {
        tu_rmtree(real_server_dir);
        free(real_server_dir);
        real_server_dir = NULL;
    }
    return 0;
}

static void test_llamacpp_real_server(void **state)
{
    char *binary = llama_server_binary();
    char *model = tu_shared("models/llama-2-tiny-random.gguf");
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_probe_info info;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_answer a;
    char port[16], url[64];
    char *log;
    int rc;
    (void)state;

    if (!binary || !model) {
        free(binary);
        free(model);
        skip();
    }
    snprintf(port, sizeof(port), "%d", dead_port());
    snprintf(url, sizeof(url), "http://127.0.0.1:%s", port);
    real_server_dir = tu_tmpdir();
    log = lleval_path_join(real_server_dir, "llama-server.log");
    {
        char *argv[] = {binary, "-m",     model,       "-c",     "512", "-np",
                        "2",    "--host", "127.0.0.1", "--port", port,  NULL};
        rc = lleval_proc_spawn(binary, argv, log, 0, &real_server_pid, &err);
        if (rc)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, 0);
    }
    free(log);
    free(binary);
    free(model);

    open_engine(&e, &cfg, LLEVAL_ENGINE_LLAMACPP, url, NULL);
    /* the server may not listen yet: give it a moment before the probe */
    for (int i = 0; i < 100; i++) {
        struct lleval_sb body = LLEVAL_SB_INIT;
        long status = 0;
        rc = lleval_http_get(e, "/health", 2, &status, &body, NULL);
        lleval_sb_release(&body);
        if (!rc)
            break;
        lleval_sleep_ms(100);
    }
    rc = lleval_engine_probe(e, &info, &err);
    if (rc)
        print_error("probe: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(info.slots, 2);
    assert_int_equal(info.slot_ctx, 256); /* -c 512 shared by -np 2 */
    lleval_probe_info_release(&info);

    cfg.context_length = 256;
    assert_int_equal(round_trip(e, &a, &err), LLEVAL_REPLY_OK);
    assert_true(a.prompt_tokens > 0 && a.completion_tokens > 0);
    assert_true(a.gen_tps > 0 && a.prompt_tps > 0);
    assert_true(lleval_utf8_valid(a.content, strlen(a.content), NULL));
    lleval_answer_release(&a);
    lleval_engine_close(e);
    stop_real_server(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_handle),
        cmocka_unit_test(test_http_helpers),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_error_text_cut),
        cmocka_unit_test(test_ollama_request),
        cmocka_unit_test(test_ollama_replies),
        cmocka_unit_test(test_invalid_replies),
        cmocka_unit_test(test_json_messages),
        cmocka_unit_test(test_llamacpp_request),
        cmocka_unit_test(test_chat_body_bytes),
        cmocka_unit_test(test_llamacpp_replies),
        cmocka_unit_test(test_openai_request),
        cmocka_unit_test(test_openai_replies),
        cmocka_unit_test(test_ollama_probe),
        cmocka_unit_test(test_ollama_faults),
        cmocka_unit_test(test_openai_probe),
        cmocka_unit_test(test_llamacpp_probe_fake),
        cmocka_unit_test_teardown(test_llamacpp_real_server, stop_real_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
