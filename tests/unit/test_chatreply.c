/* Unit tests for chat.completion replies read without a tree (lleval_openai_scan_chat): where it
 * reads a reply, the answer equals the one a reference reading through jansson (the tree path's
 * rules, kept here) gives, on a table of replies and on byte mutations of real ones; and the
 * engines' parse_reply gives the same answer either way. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char *const replies[] = {
    /* bench/overhead's fake: usage and llama-server's timings */
    "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"fake\",\"system_fingerprint\":\"fakeengine\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":2,\"total_tokens\":26},"
    "\"timings\":{\"cache_n\":0,\"prompt_n\":24,\"prompt_ms\":1.0,\"prompt_per_token_ms\":"
    "0.04,\"prompt_per_second\":24000.0,\"predicted_n\":2,\"predicted_ms\":1.0,"
    "\"predicted_per_token_ms\":0.5,\"predicted_per_second\":2000.0}}",
    /* timings only, cache_n, reals for counts */
    "{\"choices\":[{\"message\":{\"content\":\"a\\nb \\u00e9\\ud83d\\ude00\"},"
    "\"finish_reason\":\"length\"},{\"x\":1}],\"timings\":{\"prompt_n\":5.7,\"cache_n\":3,"
    "\"predicted_n\":9,\"prompt_per_second\":-1,\"predicted_per_second\":12.5}}",
    "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":null}],\"usage\":[],"
    "\"timings\":5,\"model\":7,\"id\":null}",
    "{\"choices\":[{\"text\":\"completion text\",\"finish_reason\":\"max_tokens\"}],"
    "\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":1e300}}",
    "{\"choices\":[{\"message\":{\"role\":\"assistant\"}}]}",
    "{\"choices\":[{\"message\":null}]}",
    "{\"choices\":[{\"message\":{\"content\":5}}]}",
    "{\"choices\":[{\"text\":5}]}",
    "{\"choices\":[]}",
    "{\"choices\":[1]}",
    "{\"choices\":{}}",
    "{\"error\":{\"message\":\"boom\"}}",
    "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"choices\":[]}",
    "{\"choices\":[{\"message\":{\"content\":\"x\",\"content\":\"y\"}}]}",
    "{\"choices\":[{\"message\":{\"content\":\"nul \\u0000\"}}]}",
    "{\"choices\":[{\"message\":{\"content\":\"bad \xff\"}}]}",
    "[1]",
    "",
    "{\"choices\":[{\"message\":{\"content\":\"x\"}}]} trailing",
    "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":"
    "99999999999999999999}}",
};

/* The tree path's reading of a well-formed reply (openai.c), for comparison. */
static bool reference(const char *body, size_t len, struct lleval_answer *a)
{
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, NULL), *choice, *message, *content;
    json_t *usage, *timings;
    long long v;
    lleval_answer_init(a);
    choice = json_array_get(json_object_get(root, "choices"), 0);
    if (!json_is_object(choice)) {
        json_decref(root);
        return false;
    }
    message = json_object_get(choice, "message");
    content = message ? json_object_get(message, "content") : json_object_get(choice, "text");
    a->content =
        json_is_string(content) ? lleval_xstrdup(json_string_value(content)) : lleval_xstrdup("");
    a->finish = lleval_openai_finish(lleval_json_str(choice, "finish_reason"));
    usage = json_object_get(root, "usage");
    timings = json_object_get(root, "timings");
    v = lleval_json_int(usage, "prompt_tokens", -1);
    a->prompt_tokens = v < 0 ? -1 : (long)v;
    v = lleval_json_int(usage, "completion_tokens", -1);
    a->completion_tokens = v < 0 ? -1 : (long)v;
    if (a->prompt_tokens < 0 && json_is_object(timings)) {
        long long n = lleval_json_int(timings, "prompt_n", -1);
        long long cached = lleval_json_int(timings, "cache_n", 0);
        if (n >= 0)
            a->prompt_tokens = (long)(n + (cached > 0 ? cached : 0));
    }
    if (a->completion_tokens < 0 && json_is_object(timings)) {
        v = lleval_json_int(timings, "predicted_n", -1);
        a->completion_tokens = v < 0 ? -1 : (long)v;
    }
    a->prompt_tps = lleval_json_num(timings, "prompt_per_second", 0);
    a->gen_tps = lleval_json_num(timings, "predicted_per_second", 0);
    if (a->prompt_tps < 0)
        a->prompt_tps = 0;
    if (a->gen_tps < 0)
        a->gen_tps = 0;
    a->model = lleval_http_json_text(json_object_get(root, "model"));
    a->request_id = lleval_http_json_text(json_object_get(root, "id"));
    json_decref(root);
    return true;
}

static void same_str(const char *a, const char *b, const char *what, const char *body)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b))) {
        print_error("%s: scan '%s', tree '%s' for %s\n", what, a ? a : "(null)", b ? b : "(null)",
                    body);
        fail();
    }
}

static void check(const char *body, size_t len)
{
    struct lleval_answer a, want;
    char shown[400];
    snprintf(shown, sizeof(shown), "%.*s", (int)(len < 300 ? len : 300), body);
    if (lleval_openai_scan_chat(body, len, &a))
        return; /* the tree path reads it */
    assert_true(reference(body, len, &want));
    same_str(a.content, want.content, "content", shown);
    same_str(a.model, want.model, "model", shown);
    same_str(a.request_id, want.request_id, "id", shown);
    if (a.finish != want.finish || a.prompt_tokens != want.prompt_tokens ||
        a.completion_tokens != want.completion_tokens || a.prompt_tps != want.prompt_tps ||
        a.gen_tps != want.gen_tps) {
        print_error("facts differ for %s: finish %d/%d tokens %ld/%ld %ld/%ld tps %g/%g %g/%g\n",
                    shown, a.finish, want.finish, a.prompt_tokens, want.prompt_tokens,
                    a.completion_tokens, want.completion_tokens, a.prompt_tps, want.prompt_tps,
                    a.gen_tps, want.gen_tps);
        fail();
    }
    lleval_answer_release(&a);
    lleval_answer_release(&want);
}

static void test_table(void **state)
{
    size_t read = 0;
    struct lleval_answer a;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(replies); i++) {
        check(replies[i], strlen(replies[i]));
        if (!lleval_openai_scan_chat(replies[i], strlen(replies[i]), &a)) {
            read++;
            lleval_answer_release(&a);
        }
    }
    assert_int_equal(read, 4); /* the well-formed ones; the rest go to the tree path */
}

static void test_mutations(void **state)
{
    static const char repl[] = "\"\\{}[],:0e.-n \x01\xc3\xff";
    (void)state;
    for (size_t b = 0; b < 4; b++) {
        size_t len = strlen(replies[b]);
        char *buf = lleval_xstrdup(replies[b]);
        for (size_t i = 0; i < len; i++) {
            for (size_t r = 0; r < sizeof(repl) - 1; r++) {
                char was = buf[i];
                buf[i] = repl[r];
                check(buf, len);
                buf[i] = was;
            }
            check(buf, i);
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
