/* Unit tests for the result-line scanner (lib/result/scan.c): on lleval's own
 * lines it answers without jansson, and on every line (hand-picked odd ones and
 * byte mutations of real ones) its view and return equal jansson's decoder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/result/result.h"
#include "lleval/result/scan.h"

static const char *const seeds[] = {
    /* the scheduler's layout */
    "{\"id\":\"batch_req_1\",\"custom_id\":\"nq:q1:direct:t0:s0\",\"response\":{\"status_code\":"
    "200,"
    "\"request_id\":\"batch_req_1\",\"body\":{\"object\":\"chat.completion\",\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":35,\"completion_tokens\":2,"
    "\"total_tokens\":37}}},\"error\":null,\"lleval\":{\"engine\":\"dry\",\"finish_reason\":"
    "\"stop\",\"latency_ms\":1049.75395699876,\"prompt_tokens\":35,\"completion_tokens\":2,"
    "\"prompt_tps\":500.0,\"gen_tps\":20.0,\"load_ms\":0.0,\"attempts\":1,\"finished_at\":"
    "1796664628.49642}}",
    /* a failure */
    "{\"id\":\"batch_req_2\",\"custom_id\":\"nq:q2:direct:t0:s0\",\"response\":{\"status_code\":"
    "500,"
    "\"request_id\":\"batch_req_2\",\"body\":null},\"error\":{\"code\":\"http_error\",\"message\":"
    "\"CUDA error: out of "
    "memory\"},\"lleval\":{\"engine\":\"llamacpp\",\"finish_reason\":\"error\","
    "\"latency_ms\":99.5,\"attempts\":3,\"finished_at\":1.5e9}}",
    /* a foreign batch output (no lleval object), escapes and UTF-8 */
    "{\"custom_id\":\"ds:q\\u0033:direct:t0:s1\",\"response\":{\"status_code\":200,\"body\":{"
    "\"choices\":[{\"message\":{\"content\":\"caf\xc3\xa9 \\\"q\\\"\\n\\u20ac \\ud83d\\ude00 "
    "\\/\\b\\f\\r\\t\\\\\"},\"finish_reason\":\"length\"},{\"x\":[1,2.5e3,-0,true,false,null]}],"
    "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9.9}}},\"error\":null}",
};

static const char *const odd[] = {
    "",
    "[]",
    "null",
    "{}",
    "{\"custom_id\":\"a\"}",
    "{\"custom_id\":\"a\"} x",
    " {\"custom_id\":\"a\"}\r\n",
    "{\"custom_id\":\"a\",\"custom_id\":\"b\"}",
    "{\"custom_id\":\"a\\u0000b\"}",
    "{\"custom_id\":\"\\ud800\"}",
    "{\"custom_id\":\"\\udc00x\"}",
    "{\"custom_id\":\"\xc0\xaf\"}",
    "{\"custom_id\":\"\xed\xa0\x80\"}",
    "{\"custom_id\":\"\xf4\x90\x80\x80\"}",
    "{\"custom_id\":\"a\",\"n\":123456789012345678901234}",
    "{\"custom_id\":\"a\",\"n\":1e999}",
    "{\"custom_id\":\"a\",\"n\":01}",
    "{\"custom_id\":\"a\",\"n\":-}",
    "{\"custom_id\":\"a\",\"n\":1.}",
    "{\"custom_id\":\"a\",\"n\":[1,]}",
    "{\"custom_id\":\"a\",}",
    "{\"custom_id\":7}",
    "{\"custom_id\":\"a\",\"response\":null}",
    "{\"custom_id\":\"a\",\"response\":{\"status_code\":2e2}}",
    "{\"custom_id\":\"a\",\"response\":{\"status_code\":1000}}",
    "{\"custom_id\":\"a\",\"response\":{\"body\":{\"choices\":[7]}}}",
    "{\"custom_id\":\"a\",\"response\":{\"body\":{\"choices\":{}}}}",
    "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"message\":"
    "{\"content\":null}}]}}}",
    "{\"custom_id\":\"a\",\"error\":\"boom\"}",
    "{\"custom_id\":\"a\",\"error\":{}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"attempts\":-1}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"attempts\":1e19}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"gen_tps\":\"fast\"}}",
    "{\"custom_id\":\"a\",\"lleval\":null}",
    "{\"custom_id\":\"a\",\"lleval\":{\"completion_tokens\":4}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"prompt_tokens\":3},\"response\":{\"body\":{\"usage\":7}}}",
    "{\"custom_id\":\"a\",\"response\":{\"body\":{\"usage\":7}}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"latency_ms\":1,\"latency_ms\":2}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"latency_ms\":\"slow\",\"gen_tps\":3}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"engine\":7,\"attempts\":\"x\",\"gen_tps\":3}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"load_ms\":1e999,\"gen_tps\":3}}",
    "{\"custom_id\":\"a\",\"lleval\":{\"finished_at\":[1,{}],\"gen_tps\":3}}",
    "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{"
    "\"message\":{\"content\":\"x\"},\"finish_reason\":null}]}},\"lleval\":{\"gen_tps\":"
    "\"fast\"}}",
    "{\"custom_id\":\"a\",\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]]]]]]]}",
    "{\"custom_id\":\"a\",\"a_very_long_key_name_that_is_skipped\":{\"custom_id\":\"b\"}}",
    "{\"custom_id\":\"a\",\"x\":tru}",
    "{\"custom_id\":\"a\"",
    "{\"custom_id\":\"a\\x\"}",
};

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_real(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Reads text both ways; fails the test on any difference. Returns true when
 * the scanner answered (no jansson tree). */
static bool check_same(const char *text, size_t len, struct lleval_result_hold *hold)
{
    struct lleval_result_view a, b;
    json_t *j = NULL;
    int ra = lleval_result_read(text, len, hold, &a, NULL);
    int rb = lleval_result_decode_text(text, len, &j, &b, NULL);
    bool ok = ra == rb && same_str(a.custom_id, b.custom_id) && a.http_status == b.http_status &&
              a.failed == b.failed && same_str(a.error_code, b.error_code) &&
              same_str(a.error_message, b.error_message) && same_str(a.content, b.content) &&
              same_str(a.body_finish, b.body_finish) &&
              same_str(a.finish_reason, b.finish_reason) && a.ok == b.ok &&
              a.has_facts == b.has_facts && same_str(a.engine, b.engine) &&
              a.prompt_tokens == b.prompt_tokens && a.completion_tokens == b.completion_tokens &&
              a.attempts == b.attempts && same_real(a.latency_ms, b.latency_ms) &&
              same_real(a.prompt_tps, b.prompt_tps) && same_real(a.gen_tps, b.gen_tps) &&
              same_real(a.load_ms, b.load_ms) && same_real(a.finished_at, b.finished_at);
    if (!ok)
        fail_msg("scanner and jansson differ (rc %d / %d) on: %.*s", ra, rb, (int)len, text);
    json_decref(j);
    return hold->json == NULL;
}

/* Reads text for the doctor's fields only (lleval_result_read_some() with
 * none of the optional ones) and by jansson: those fields must agree (the
 * return may not: a damaged field not asked for goes unnoticed). */
static void check_some(const char *text, size_t len, struct lleval_result_hold *hold)
{
    struct lleval_result_view a, b;
    json_t *j = NULL;
    bool ok;
    lleval_result_read_some(text, len, hold, &a, 0, NULL);
    lleval_result_decode_text(text, len, &j, &b, NULL);
    ok = same_str(a.custom_id, b.custom_id) && a.http_status == b.http_status &&
         a.failed == b.failed && same_str(a.error_code, b.error_code) &&
         same_str(a.error_message, b.error_message) && same_str(a.content, b.content) &&
         same_str(a.finish_reason, b.finish_reason) && a.ok == b.ok && a.has_facts == b.has_facts &&
         a.prompt_tokens == b.prompt_tokens && a.completion_tokens == b.completion_tokens &&
         same_real(a.gen_tps, b.gen_tps);
    if (!ok)
        fail_msg("the doctor's fields and jansson differ on: %.*s", (int)len, text);
    json_decref(j);
}

static void test_own_lines_scanned(void **state)
{
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    struct lleval_result_view v;
    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        assert_true(check_same(seeds[i], strlen(seeds[i]), &hold));
        check_some(seeds[i], strlen(seeds[i]), &hold);
        assert_null(hold.json); /* the doctor's read of lleval's lines needs no jansson */
    }
    assert_int_equal(lleval_result_read(seeds[2], strlen(seeds[2]), &hold, &v, NULL), 0);
    assert_null(hold.json);
    assert_string_equal(v.custom_id, "ds:q3:direct:t0:s1");
    assert_string_equal(v.content, "caf\xc3\xa9 \"q\"\n\xe2\x82\xac \xf0\x9f\x98\x80 /\b\f\r\t\\");
    assert_int_equal(v.completion_tokens, 9);
    assert_string_equal(v.body_finish, "length");
    assert_false(v.has_facts);
    lleval_result_hold_release(&hold);
}

static void test_odd_lines_agree(void **state)
{
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    (void)state;
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        check_same(odd[i], strlen(odd[i]), &hold);
        check_some(odd[i], strlen(odd[i]), &hold);
    }
    lleval_result_hold_release(&hold);
}

/* Byte mutations of the seeds (fixed PRNG): replaced, inserted, deleted and
 * cut bytes, from the JSON punctuation, digits, escapes and UTF-8. */
static void test_mutations_agree(void **state)
{
    static const char alphabet[] = "{}[]\":,\\u0123456789.eE-+ntfalsrx\xc3\xa9\xed\xf0\x80";
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char buf[1024];
    (void)state;
    for (int it = 0; it < 60000; it++) {
        const char *seed = seeds[it % 3];
        size_t len = strlen(seed);
        int edits = 1 + it % 3;
        memcpy(buf, seed, len);
        for (int e = 0; e < edits && len > 1; e++) {
            size_t pos;
            char c;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            pos = (size_t)(x % len);
            c = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
            switch ((x >> 40) % 4) {
            case 0:
                buf[pos] = c;
                break;
            case 1:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = c;
                    len++;
                }
                break;
            case 2:
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            default:
                len = pos + 1;
            }
        }
        check_same(buf, len, &hold);
        check_some(buf, len, &hold);
    }
    lleval_result_hold_release(&hold);
}

/* Every single-byte edit of text at every offset (a byte replaced, deleted,
 * a byte or a space inserted, the line cut there) reads as jansson reads it:
 * the layout's fast path (lib/result/scan.c, shaped()) gives up at the edit
 * and the walk, or jansson, decides. */
static void every_edit_agrees(const char *text, struct lleval_result_hold *hold)
{
    static const char alphabet[] = "{}[]\":, \\u0123456789.eE-+ntlx\xc3\xa9\xed\x80";
    size_t len = strlen(text);
    char *buf = lleval_xmalloc(len + 2);
    for (size_t pos = 0; pos <= len; pos++) {
        for (size_t k = 0; k < sizeof(alphabet) - 1; k++) {
            if (pos < len) { /* replaced */
                memcpy(buf, text, len);
                buf[pos] = alphabet[k];
                check_same(buf, len, hold);
                check_some(buf, len, hold);
            }
            memcpy(buf, text, pos); /* inserted */
            buf[pos] = alphabet[k];
            memcpy(buf + pos + 1, text + pos, len - pos);
            check_same(buf, len + 1, hold);
        }
        if (pos < len) { /* deleted */
            memcpy(buf, text, pos);
            memcpy(buf + pos, text + pos + 1, len - pos - 1);
            check_same(buf, len - 1, hold);
            check_some(buf, len - 1, hold);
        }
        check_same(text, pos, hold); /* cut */
    }
    free(buf);
}

/* Lines in the writer's own layout (lleval_result_text_build(): with and
 * without a model, an engine's request id, escapes and UTF-8 in the answer,
 * facts left out; a failure) and in bench/score's: the scanner answers them
 * without jansson, and every edit of them agrees with jansson. */
static void test_writer_layout(void **state)
{
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    struct lleval_result_text rt;
    static const char bench[] =
        "{\"id\":\"batch_req_0000000000000001\",\"custom_id\":\"xquad:56beb4343aeaaa14008c925c:"
        "direct:t0:s0\",\"response\":{\"status_code\":200,\"request_id\":\"batch_req_"
        "0000000000000001\",\"body\":{\"object\":\"chat.completion\",\"model\":\"bench\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"I "
        "believe it is 136, of course\"},\"finish_reason\":\"stop\"}],\"usage\":{"
        "\"prompt_tokens\":344,\"completion_tokens\":9,\"total_tokens\":353}}},\"error\":null,"
        "\"lleval\":{\"engine\":\"bench\",\"finish_reason\":\"stop\",\"latency_ms\":"
        "2407.90996720557,\"prompt_tokens\":344,\"completion_tokens\":9,\"prompt_tps\":500.0,"
        "\"gen_tps\":21.37622562016309,\"attempts\":1}}";
    (void)state;
    assert_true(check_same(bench, strlen(bench), &hold));
    every_edit_agrees(bench, &hold);
    lleval_result_text_init(&rt);
    for (int variant = 0; variant < 4; variant++) {
        struct lleval_answer a;
        lleval_answer_init(&a);
        a.content =
            lleval_xstrdup(variant == 1 ? "caf\xc3\xa9 \"q\"\n\\ \xf0\x9f\x98\x80" : "Paris");
        a.finish = variant == 2 ? LLEVAL_FINISH_LENGTH : LLEVAL_FINISH_STOP;
        a.prompt_tokens = variant == 2 ? -1 : 35;
        a.completion_tokens = 2;
        a.prompt_tps = variant == 2 ? NAN : 512.25;
        a.gen_tps = 20.0;
        a.model = variant == 0 ? NULL : lleval_xstrdup("tiny-model");
        a.request_id = variant == 3 ? lleval_xstrdup("chatcmpl-7") : NULL;
        lleval_result_text_build(&rt, "nq:q1:direct:t0:s0", "llamacpp", &a, 200, NULL, NULL,
                                 variant == 2 ? NAN : 1049.75395699876, 1);
        /* the line without its '\n' */
        assert_true(check_same(rt.line.buf, rt.line.len - 1, &hold));
        if (variant < 2) {
            char *line = lleval_xstrndup(rt.line.buf, rt.line.len - 1);
            every_edit_agrees(line, &hold);
            free(line);
        }
        lleval_answer_release(&a);
    }
    lleval_result_text_build(&rt, "nq:q2:direct:t0:s0", "llamacpp", NULL, 500, "http_error",
                             "CUDA error: out of memory", 99.5, 3);
    assert_true(check_same(rt.line.buf, rt.line.len - 1, &hold));
    lleval_result_text_release(&rt);
    lleval_result_hold_release(&hold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_lines_scanned),
        cmocka_unit_test(test_odd_lines_agree),
        cmocka_unit_test(test_mutations_agree),
        cmocka_unit_test(test_writer_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
