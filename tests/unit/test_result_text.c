/* Unit tests for the text writer of result lines (lleval_result_text_build): byte for byte the
 * line the json_t writer before issue 13 dumped (kept here as the reference), redaction and odd
 * values included, and its view equal to what the decoder reads from the line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/result/result.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

/* The writer as it was (a json_t built, redacted and dumped), finished_at given. */
static json_t *tree_line(const char *custom_id, const char *engine_name,
                         const struct lleval_answer *a, long http_status, const char *error_code,
                         const char *error_message, double latency_ms, long attempts,
                         double finished_at)
{
    char id[64];
    json_t *line = json_object();
    json_t *facts = json_object();
    const char *finish = a ? lleval_finish_name(a->finish) : "error";

    snprintf(id, sizeof(id), "batch_req_%016llx", (unsigned long long)lleval_hash64(custom_id));
    json_object_set_new(line, "id", json_string(id));
    json_object_set_new(line, "custom_id", json_string(custom_id));
    if (a) {
        json_t *resp = json_object();
        json_t *body = json_object();
        json_t *choice = json_object();
        json_t *usage = json_object();
        long pt = a->prompt_tokens < 0 ? 0 : a->prompt_tokens;
        long ct = a->completion_tokens < 0 ? 0 : a->completion_tokens;

        json_object_set_new(resp, "status_code", json_integer(http_status ? http_status : 200));
        json_object_set_new(resp, "request_id",
                            a->request_id ? json_string(a->request_id) : json_string(id));
        json_object_set_new(body, "object", json_string("chat.completion"));
        if (a->model)
            json_object_set_new(body, "model", json_string(a->model));
        json_object_set_new(choice, "index", json_integer(0));
        json_object_set_new(
            choice, "message",
            json_pack("{s:s, s:s}", "role", "assistant", "content", a->content ? a->content : ""));
        json_object_set_new(choice, "finish_reason", json_string(finish));
        json_object_set_new(body, "choices", json_pack("[o]", choice));
        json_object_set_new(usage, "prompt_tokens", json_integer(pt));
        json_object_set_new(usage, "completion_tokens", json_integer(ct));
        json_object_set_new(usage, "total_tokens", json_integer(pt + ct));
        json_object_set_new(body, "usage", usage);
        json_object_set_new(resp, "body", body);
        json_object_set_new(line, "response", resp);
        json_object_set_new(line, "error", json_null());
    } else {
        char *msg = lleval_utf8_sanitize(error_message ? error_message : "",
                                         error_message ? strlen(error_message) : 0);
        json_object_set_new(
            line, "response",
            json_pack("{s:I, s:n}", "status_code", (json_int_t)http_status, "body"));
        json_object_set_new(
            line, "error",
            json_pack("{s:s, s:s}", "code", error_code ? error_code : "error", "message", msg));
        free(msg);
    }
    json_object_set_new(facts, "engine", json_string(engine_name));
    json_object_set_new(facts, "finish_reason", json_string(finish));
    json_object_set_new(facts, "latency_ms", json_real(latency_ms));
    json_object_set_new(facts, "prompt_tokens",
                        json_integer(a && a->prompt_tokens >= 0 ? a->prompt_tokens : 0));
    json_object_set_new(facts, "completion_tokens",
                        json_integer(a && a->completion_tokens >= 0 ? a->completion_tokens : 0));
    json_object_set_new(facts, "prompt_tps", json_real(a ? a->prompt_tps : 0));
    json_object_set_new(facts, "gen_tps", json_real(a ? a->gen_tps : 0));
    json_object_set_new(facts, "load_ms", json_real(a ? a->load_ms : 0));
    json_object_set_new(facts, "attempts", json_integer(attempts));
    json_object_set_new(facts, "finished_at", json_real(finished_at));
    json_object_set_new(line, "lleval", facts);
    {
        json_t *redacted = lleval_redact_json(line);
        if (redacted) {
            json_decref(line);
            line = redacted;
        }
    }
    return line;
}

struct text_case {
    const char *cid;
    bool answered;
    enum lleval_finish finish;
    const char *content, *model, *request_id;
    long prompt_tokens, completion_tokens;
    double prompt_tps, gen_tps, load_ms;
    long http_status;
    const char *code, *message;
    double latency_ms;
    long attempts;
};

#define SECRET "sk-test-0123456789"

static const struct text_case text_cases[] = {
    {"nq:nq-00001:direct:t0:s0", true, LLEVAL_FINISH_STOP, "Paris", "dry", NULL, 41, 7, 500, 20, 0,
     200, NULL, NULL, 0.012345678901234567, 1},
    {"d:i:p:t0.7:s3", true, LLEVAL_FINISH_LENGTH, "", NULL, "chatcmpl-1", -1, -1, 0, 0, 0, 0, NULL,
     NULL, 1e-7, 2},
    {"d:i:p:t0:s0", true, LLEVAL_FINISH_ERROR,
     "ctl \x01\x1f\x7f \"q\" \\ / \t\n caf\xc3\xa9 \xf0\x9f\x98\x80", "m\"odel", "id\\1", 3, 4,
     1234.5678, 1e21, 12.5, 201, NULL, NULL, 100.0, 3},
    {"d:i:p:t0:s1", true, LLEVAL_FINISH_STOP, "the key is " SECRET " and http://u:pw123456@h/x",
     SECRET, "r-" SECRET, 1, 1, INFINITY, NAN, -0.0, 200, NULL, NULL, 5, 1},
    {"d:i:p:t0:s6", true, LLEVAL_FINISH_STOP, "x", NULL, NULL, 0, 0, 999999999999999.0, -7.0, 1e15,
     200, NULL, NULL, 123456789012345678.0, 1},
    {"d:i:p:t0:s7", true, LLEVAL_FINISH_STOP, "x", NULL, NULL, 0, 0, 0.5, 1e-5, -1e15, 200, NULL,
     NULL, 4503599627370497.0, 1},
    {"d:i:p:t0:s2", false, LLEVAL_FINISH_ERROR, NULL, NULL, NULL, 0, 0, 0, 0, 0, 500, "http_500",
     "CUDA error: out of memory " SECRET, 99.5, 4},
    {"d:i:p:t0:s3", false, LLEVAL_FINISH_ERROR, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
     "bad \xff byte\x00", 1, 1},
    {"d:i:p:t0:s4", false, LLEVAL_FINISH_ERROR, NULL, NULL, NULL, 0, 0, 0, 0, 0, 404, "http_404",
     NULL, 3.5e-320, 0},
    {"d:i:p:t0:s5", false, LLEVAL_FINISH_ERROR, NULL, NULL, NULL, 0, 0, 0, 0, 0, 1000, "x", "y",
     1e300, 2},
};

/* The line without its finished_at value (which is the clock's). */
static size_t until_finished_at(const char *line)
{
    const char *p = strstr(line, "\"finished_at\":");
    assert_non_null(p);
    return (size_t)(p - line);
}

static void test_text_equals_tree(void **state)
{
    (void)state;
    lleval_redact_add(SECRET);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(text_cases); i++) {
        const struct text_case *c = &text_cases[i];
        struct lleval_answer a;
        struct lleval_result_text rt;
        struct lleval_result_view v;
        struct lleval_sb want = LLEVAL_SB_INIT;
        json_t *tree, *back;
        size_t n;

        lleval_answer_init(&a);
        a.content = c->content ? lleval_xstrdup(c->content) : NULL;
        a.model = c->model ? lleval_xstrdup(c->model) : NULL;
        a.request_id = c->request_id ? lleval_xstrdup(c->request_id) : NULL;
        a.finish = c->finish;
        a.prompt_tokens = c->prompt_tokens;
        a.completion_tokens = c->completion_tokens;
        a.prompt_tps = c->prompt_tps;
        a.gen_tps = c->gen_tps;
        a.load_ms = c->load_ms;
        lleval_result_text_init(&rt);
        /* twice: a second build replaces the first */
        lleval_result_text_build(&rt, "other", "x", NULL, 1, "c", "m", 1, 1);
        lleval_result_text_build(&rt, c->cid, "llamacpp", c->answered ? &a : NULL, c->http_status,
                                 c->code, c->message, c->latency_ms, c->attempts);
        tree = tree_line(c->cid, "llamacpp", c->answered ? &a : NULL, c->http_status, c->code,
                         c->message, c->latency_ms, c->attempts, 1.0);
        assert_int_equal(lleval_json_dump_sb(tree, &want), 0);
        n = until_finished_at(want.buf);
        if (until_finished_at(rt.line.buf) != n || memcmp(rt.line.buf, want.buf, n)) {
            print_error("case %zu:\n text %s\n tree %s\n", i, rt.line.buf, want.buf);
            fail();
        }
        assert_int_equal(rt.line.buf[rt.line.len - 1], '\n');
        assert_null(memchr(rt.line.buf, '\n', rt.line.len - 1));
        assert_null(strstr(rt.line.buf, SECRET));

        /* the view is what the decoder reads from the line */
        back = json_loadb(rt.line.buf, rt.line.len, 0, NULL);
        assert_non_null(back);
        lleval_result_decode(back, &v, NULL);
        assert_string_equal(v.custom_id, rt.view.custom_id);
        assert_int_equal(v.http_status, rt.view.http_status);
        assert_int_equal(v.failed, rt.view.failed);
        assert_int_equal(v.ok, rt.view.ok);
        assert_int_equal(v.prompt_tokens, rt.view.prompt_tokens);
        assert_int_equal(v.completion_tokens, rt.view.completion_tokens);
        assert_int_equal(v.attempts, rt.view.attempts);
        assert_string_equal(v.engine, rt.view.engine);
        assert_string_equal(v.finish_reason, rt.view.finish_reason);
        if (v.content)
            assert_string_equal(v.content, rt.view.content);
        else
            assert_null(rt.view.content);
        if (v.error_message)
            assert_string_equal(v.error_message, rt.view.error_message);
        else
            assert_null(rt.view.error_message);
        if (v.error_code)
            assert_string_equal(v.error_code, rt.view.error_code);
        assert_true(isnan(v.gen_tps) ? isnan(rt.view.gen_tps) : v.gen_tps == rt.view.gen_tps);
        assert_true(isnan(v.prompt_tps) ? isnan(rt.view.prompt_tps)
                                        : v.prompt_tps == rt.view.prompt_tps);
        assert_true(v.latency_ms == rt.view.latency_ms);

        /* the json_t form is the text parsed */
        json_decref(back);
        back = lleval_result_line(c->cid, "llamacpp", c->answered ? &a : NULL, c->http_status,
                                  c->code, c->message, c->latency_ms, c->attempts);
        assert_non_null(back);
        lleval_sb_reset(&want);
        lleval_json_dump_sb(back, &want);
        n = until_finished_at(want.buf);
        assert_int_equal(until_finished_at(rt.line.buf), n);
        assert_memory_equal(rt.line.buf, want.buf, n);

        json_decref(back);
        json_decref(tree);
        lleval_sb_release(&want);
        lleval_result_text_release(&rt);
        lleval_answer_release(&a);
    }
    lleval_redact_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_equals_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
