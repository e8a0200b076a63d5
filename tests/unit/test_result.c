/* Unit tests for result lines: the writer's layout, write -> decode round trips, and the
 * decoder on missing fields, wrong types, non-objects and huge numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/result/result.h"
#include "lleval/util/util.h"

/* ---- writer -> decoder ---------------------------------------------------- */

struct round_case {
    const char *name;
    bool answered; /* an answer (else a failure) */
    enum lleval_finish finish;
    const char *content;
    long prompt_tokens, completion_tokens; /* -1: the engine did not say */
    double prompt_tps, gen_tps;
    long http_status;
    const char *code, *message;
    double latency_ms;
    long attempts;
    /* expected */
    const char *want_finish;
    long want_status;
    bool want_ok;
};

static const struct round_case round_cases[] = {
    {"ok stop", true, LLEVAL_FINISH_STOP, "Paris", 41, 7, 520.5, 21.25, 200, NULL, NULL, 812.4, 1,
     "stop", 200, true},
    {"length", true, LLEVAL_FINISH_LENGTH, "a long answer that was cut", 12, 64, 0, 33, 0, NULL,
     NULL, 5, 2, "length", 200, true},
    {"unknown tokens", true, LLEVAL_FINISH_STOP, "x", -1, -1, 0, 0, 200, NULL, NULL, 0.5, 1, "stop",
     200, true},
    {"utf-8 and quotes", true, LLEVAL_FINISH_STOP, "caf\xc3\xa9 \"q\"\n\xe2\x82\xac", 3, 4, 1, 2,
     200, NULL, NULL, 1, 1, "stop", 200, true},
    {"http 500", false, LLEVAL_FINISH_ERROR, NULL, 0, 0, 0, 0, 500, "http_error",
     "CUDA error: out of memory", 99.5, 3, "error", 500, false},
    {"connection", false, LLEVAL_FINISH_ERROR, NULL, 0, 0, 0, 0, 0, "connection_error",
     "connection refused", 1, 4, "error", 0, false},
    {"no code", false, LLEVAL_FINISH_ERROR, NULL, 0, 0, 0, 0, 400, NULL, NULL, 2, 1, "error", 400,
     false},
};

static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(round_cases); i++) {
        const struct round_case *c = &round_cases[i];
        struct lleval_answer a;
        struct lleval_result_view v;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *text;
        json_t *line, *back;
        const char *cid = "ds:item-1:direct:t0:s0";

        lleval_answer_init(&a);
        a.content = c->content ? lleval_xstrdup(c->content) : NULL;
        a.finish = c->finish;
        a.prompt_tokens = c->prompt_tokens;
        a.completion_tokens = c->completion_tokens;
        a.prompt_tps = c->prompt_tps;
        a.gen_tps = c->gen_tps;
        line = lleval_result_line(cid, "llamacpp", c->answered ? &a : NULL, c->http_status, c->code,
                                  c->message, c->latency_ms, c->attempts);
        /* through the bytes a journal holds */
        text = json_dumps(line, JSON_COMPACT);
        assert_non_null(text);
        assert_int_equal(lleval_result_decode_text(text, strlen(text), &back, &v, &err), 0);
        print_message("case %s\n", c->name);
        assert_string_equal(v.custom_id, cid);
        assert_int_equal(v.http_status, c->want_status);
        assert_int_equal(v.ok, c->want_ok);
        assert_int_equal(v.failed, !c->answered);
        assert_true(v.has_facts);
        assert_string_equal(v.engine, "llamacpp");
        assert_string_equal(v.finish_reason, c->want_finish);
        assert_int_equal(v.attempts, c->attempts);
        assert_true(fabs(v.latency_ms - c->latency_ms) < 1e-9);
        assert_false(isnan(v.finished_at));
        if (c->answered) {
            assert_string_equal(v.content, c->content);
            assert_string_equal(v.body_finish, c->want_finish);
            assert_null(v.error_code);
            assert_null(v.error_message);
            assert_int_equal(v.prompt_tokens, c->prompt_tokens < 0 ? 0 : c->prompt_tokens);
            assert_int_equal(v.completion_tokens,
                             c->completion_tokens < 0 ? 0 : c->completion_tokens);
            assert_true(v.prompt_tps == c->prompt_tps);
            assert_true(v.gen_tps == c->gen_tps);
        } else {
            assert_null(v.content);
            assert_null(v.body_finish);
            assert_string_equal(v.error_code, c->code ? c->code : "error");
            assert_string_equal(v.error_message, c->message ? c->message : "");
            assert_int_equal(v.prompt_tokens, 0);
            assert_int_equal(v.completion_tokens, 0);
            assert_true(v.gen_tps == 0);
        }
        json_decref(back);
        free(text);
        json_decref(line);
        lleval_answer_release(&a);
    }
}

/* The writer's key order is the journal's byte layout (docs/formats.md). */
static void test_writer_layout(void **state)
{
    struct lleval_answer a;
    json_t *line;
    char *text;
    (void)state;

    lleval_answer_init(&a);
    a.content = lleval_xstrdup("Paris");
    a.prompt_tokens = 41;
    a.completion_tokens = 7;
    line = lleval_result_line("d:i:p:t0:s0", "dry", &a, 200, NULL, NULL, 1.5, 1);
    json_object_del(json_object_get(line, "lleval"), "finished_at");
    text = json_dumps(line, JSON_COMPACT);
    tu_assert_contains(text, "{\"id\":\"batch_req_");
    tu_assert_contains(text, "\",\"custom_id\":\"d:i:p:t0:s0\",\"response\":{\"status_code\":200,"
                             "\"request_id\":\"batch_req_");
    tu_assert_contains(
        text, "\"body\":{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
              "\"role\":\"assistant\",\"content\":\"Paris\"},\"finish_reason\":\"stop\"}],"
              "\"usage\":{\"prompt_tokens\":41,\"completion_tokens\":7,\"total_tokens\":48}}},"
              "\"error\":null,\"lleval\":{\"engine\":\"dry\",\"finish_reason\":\"stop\","
              "\"latency_ms\":1.5,\"prompt_tokens\":41,\"completion_tokens\":7,\"prompt_tps\":0.0,"
              "\"gen_tps\":0.0,\"load_ms\":0.0,\"attempts\":1}}");
    free(text);
    json_decref(line);

    /* a failure: invalid UTF-8 in the engine's message is replaced */
    line =
        lleval_result_line("d:i:p:t0:s0", "ollama", NULL, 500, "http_error", "bad \xff byte", 3, 2);
    json_object_del(json_object_get(line, "lleval"), "finished_at");
    text = json_dumps(line, JSON_COMPACT);
    tu_assert_contains(text, "\"response\":{\"status_code\":500,\"body\":null},\"error\":{\"code\":"
                             "\"http_error\",\"message\":\"bad \xef\xbf\xbd byte\"},\"lleval\":{"
                             "\"engine\":\"ollama\",\"finish_reason\":\"error\",\"latency_ms\":3.0,"
                             "\"prompt_tokens\":0,\"completion_tokens\":0,\"prompt_tps\":0.0,"
                             "\"gen_tps\":0.0,\"load_ms\":0.0,\"attempts\":2}}");
    free(text);
    json_decref(line);
    lleval_answer_release(&a);
}

/* ---- the decoder on foreign and damaged lines ---------------------------- */

struct dec_case {
    const char *name;
    const char *text;
    int want_rc;          /* 0 or LLEVAL_EINVAL */
    const char *want_err; /* a part of the message, or NULL */
    const char *want_cid; /* NULL: none */
    bool want_ok, want_failed;
    long want_status;
    const char *want_content;
    long long want_prompt, want_completion, want_attempts;
    bool want_latency; /* latency_ms present */
};

#define NONE LLEVAL_RESULT_NO_COUNT

static const struct dec_case dec_cases[] = {
    /* an OpenAI batch output line, without lleval's facts: tokens from usage */
    {"foreign ok",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"message\":"
     "{\"content\":\"hi\"},\"finish_reason\":\"content_filter\"}],\"usage\":{\"prompt_tokens\":5,"
     "\"completion_tokens\":2}}},\"error\":null}",
     0, NULL, "a", true, false, 200, "hi", 5, 2, NONE, false},
    {"minimal", "{\"custom_id\":\"a\"}", 0, NULL, "a", false, false, 0, NULL, NONE, NONE, NONE,
     false},
    {"no custom_id", "{\"response\":{\"status_code\":200}}", LLEVAL_EINVAL, "no 'custom_id'", NULL,
     false, false, 200, NULL, NONE, NONE, NONE, false},
    {"custom_id a number", "{\"custom_id\":7}", LLEVAL_EINVAL, "'custom_id' is an integer", NULL,
     false, false, 0, NULL, NONE, NONE, NONE, false},
    {"array", "[1,2]", LLEVAL_EINVAL, "an array, not an object", NULL, false, false, 0, NULL, NONE,
     NONE, NONE, false},
    {"bare string", "\"x\"", LLEVAL_EINVAL, "not JSON", NULL, false, false, 0, NULL, NONE, NONE,
     NONE, false},
    {"not json", "{\"custom_id\":", LLEVAL_EINVAL, "not JSON", NULL, false, false, 0, NULL, NONE,
     NONE, NONE, false},
    {"content a number",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"message\":"
     "{\"content\":5}}]}},\"error\":null}",
     LLEVAL_EINVAL, "'response.body.choices[0].message.content' is an integer", "a", false, false,
     200, NULL, NONE, NONE, NONE, false},
    {"choices an object",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":{}}}}",
     LLEVAL_EINVAL, "'response.body.choices' is an object, not an array", "a", false, false, 200,
     NULL, NONE, NONE, NONE, false},
    {"status a string",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":\"200\",\"body\":{\"choices\":[{"
     "\"message\":{\"content\":\"x\"}}]}}}",
     LLEVAL_EINVAL, "'response.status_code' is a string", "a", false, false, 0, "x", NONE, NONE,
     NONE, false},
    {"response an array", "{\"custom_id\":\"a\",\"response\":[]}", LLEVAL_EINVAL,
     "'response' is an array, not an object", "a", false, false, 0, NULL, NONE, NONE, NONE, false},
    {"error a string",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"message\":"
     "{\"content\":\"x\"}}]}},\"error\":\"boom\"}",
     LLEVAL_EINVAL, "'error' is a string, not an object or null", "a", false, true, 200, "x", NONE,
     NONE, NONE, false},
    {"lleval an array", "{\"custom_id\":\"a\",\"lleval\":[1]}", LLEVAL_EINVAL,
     "'lleval' is an array, not an object", "a", false, false, 0, NULL, NONE, NONE, NONE, false},
    {"latency a string",
     "{\"custom_id\":\"a\",\"lleval\":{\"latency_ms\":\"slow\",\"prompt_tokens\":3,"
     "\"completion_tokens\":4,\"attempts\":1}}",
     LLEVAL_EINVAL, "'lleval.latency_ms' is a string, not a number", "a", false, false, 0, NULL, 3,
     4, 1, false},
    {"tokens negative",
     "{\"custom_id\":\"a\",\"lleval\":{\"prompt_tokens\":-3,\"completion_tokens\":4,"
     "\"latency_ms\":2}}",
     LLEVAL_EINVAL, "'lleval.prompt_tokens' is an integer, not a count", "a", false, false, 0, NULL,
     NONE, 4, NONE, true},
    {"huge real count",
     "{\"custom_id\":\"a\",\"lleval\":{\"prompt_tokens\":1e300,\"completion_tokens\":2.9,"
     "\"attempts\":1e19}}",
     LLEVAL_EINVAL, "'lleval.attempts' is a real number, not a count", "a", false, false, 0, NULL,
     NONE, 2, NONE, false},
    {"huge integer count",
     "{\"custom_id\":\"a\",\"lleval\":{\"prompt_tokens\":9223372036854775807,"
     "\"completion_tokens\":0}}",
     0, NULL, "a", false, false, 0, NULL, 9223372036854775807LL, 0, NONE, false},
    {"huge latency", "{\"custom_id\":\"a\",\"lleval\":{\"latency_ms\":1e308}}", 0, NULL, "a", false,
     false, 0, NULL, NONE, NONE, NONE, true},
    {"status out of range", "{\"custom_id\":\"a\",\"response\":{\"status_code\":123456}}",
     LLEVAL_EINVAL, "'response.status_code' is an integer, not an HTTP status", "a", false, false,
     0, NULL, NONE, NONE, NONE, false},
    {"error object with a numeric message",
     "{\"custom_id\":\"a\",\"response\":{\"status_code\":500,\"body\":null},\"error\":{\"code\":"
     "\"x\",\"message\":7}}",
     LLEVAL_EINVAL, "'error.message' is an integer, not a string", "a", false, true, 500, NULL,
     NONE, NONE, NONE, false},
};

static void test_decode_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(dec_cases); i++) {
        const struct dec_case *c = &dec_cases[i];
        struct lleval_result_view v;
        struct lleval_err err = LLEVAL_ERR_INIT;
        json_t *j;
        int rc;

        print_message("case %s\n", c->name);
        rc = lleval_result_decode_text(c->text, strlen(c->text), &j, &v, &err);
        assert_int_equal(rc, c->want_rc);
        if (c->want_err)
            tu_assert_contains(err.msg, c->want_err);
        if (c->want_cid)
            assert_string_equal(v.custom_id, c->want_cid);
        else
            assert_null(v.custom_id);
        assert_int_equal(v.ok, c->want_ok);
        assert_int_equal(v.failed, c->want_failed);
        assert_int_equal(v.http_status, c->want_status);
        if (c->want_content)
            assert_string_equal(v.content, c->want_content);
        else
            assert_null(v.content);
        assert_true(v.prompt_tokens == c->want_prompt);
        assert_true(v.completion_tokens == c->want_completion);
        assert_true(v.attempts == c->want_attempts);
        assert_int_equal(!isnan(v.latency_ms), c->want_latency);
        json_decref(j);
    }
}

/* The raw decoder on values no text produces: NULL and scalars. */
static void test_decode_non_objects(void **state)
{
    struct lleval_result_view v;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *n = json_integer(5);
    (void)state;

    assert_int_equal(lleval_result_decode(NULL, &v, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "nothing, not an object");
    assert_null(v.custom_id);
    assert_true(isnan(v.gen_tps));
    assert_int_equal(lleval_result_decode(n, &v, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "an integer, not an object");
    assert_true(v.prompt_tokens == LLEVAL_RESULT_NO_COUNT);
    /* err may be NULL */
    assert_int_equal(lleval_result_decode(n, &v, NULL), LLEVAL_EINVAL);
    json_decref(n);
}

/* The first damaged field is the one named; later fields still decode. */
static void test_first_damage_named_rest_decoded(void **state)
{
    const char *text = "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{"
                       "\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":1}]}},"
                       "\"error\":null,\"lleval\":{\"engine\":2,\"gen_tps\":12.5,"
                       "\"finish_reason\":\"stop\"}}";
    struct lleval_result_view v;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j;
    (void)state;

    assert_int_equal(lleval_result_decode_text(text, strlen(text), &j, &v, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "'response.body.choices[0].finish_reason' is an integer");
    assert_true(v.ok);
    assert_null(v.body_finish);
    assert_null(v.engine);
    assert_string_equal(v.finish_reason, "stop");
    assert_true(v.gen_tps == 12.5);
    json_decref(j);
}

/* The journal's quick looks agree with the decoder: custom_id only when a
 * string in an object, failed when "error" is there and not null. */
static void test_custom_id_and_failed(void **state)
{
    static const struct {
        const char *text;
        const char *want_id; /* NULL: none */
        bool want_failed;
    } cases[] = {
        {"{\"custom_id\":\"a-1\",\"error\":null}", "a-1", false},
        {"{\"custom_id\":\"a-2\"}", "a-2", false},
        {"{\"custom_id\":\"a-3\",\"error\":{\"code\":\"timeout\"}}", "a-3", true},
        {"{\"custom_id\":\"a-4\",\"error\":\"broken\"}", "a-4", true},
        {"{\"custom_id\":7,\"error\":null}", NULL, false},
        {"{\"id\":\"x\",\"error\":false}", NULL, true},
        {"[\"custom_id\"]", NULL, false},
        {"\"custom_id\"", NULL, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
        struct lleval_result_view v;
        const char *id;
        assert_non_null(j);
        id = lleval_result_custom_id(j);
        if (cases[i].want_id)
            assert_string_equal(id, cases[i].want_id);
        else
            assert_null(id);
        assert_int_equal(lleval_result_failed(j), cases[i].want_failed);
        lleval_result_decode(j, &v, NULL);
        assert_true(v.custom_id == id); /* the same string */
        assert_int_equal(v.failed, cases[i].want_failed);
        json_decref(j);
    }
    assert_null(lleval_result_custom_id(NULL));
    assert_false(lleval_result_failed(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_writer_layout),
        cmocka_unit_test(test_decode_cases),
        cmocka_unit_test(test_decode_non_objects),
        cmocka_unit_test(test_first_damage_named_rest_decoded),
        cmocka_unit_test(test_custom_id_and_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
