/* Unit tests for the chat request body written from the batch body's text
 * (lleval_openai_chat_body_text): the same bytes, or the same error, as the tree path
 * (json_loadb + lleval_openai_chat_body) on a table of odd bodies and on byte mutations of a
 * real one, with and without a model_id and top_k 0 dropped or kept. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/util/util.h"

static const char *const bodies[] = {
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,"
    "\"temperature\":0.0,\"top_p\":1.0,\"top_k\":50,\"stop\":[],\"seed\":1234}",
    " { \"messages\" : [ { \"role\" : \"user\" , \"content\" : \"a\\/b \\u00e9 \\ud83d\\ude00 "
    "\\n\\t\\\"\\\\ \\u001f\" } ] , \"top_k\" : 0 , \"stop\" : [ \"x\" , \"\\n\" ] } ",
    "{\"model\":null,\"messages\":[{\"content\":\"x\"}],\"top_k\":0.0,\"stream\":true,"
    "\"stream_options\":{\"include_usage\":true},\"n\":-0,\"f\":-0.0,\"e\":1E2,\"g\":1.5e-7,"
    "\"h\":123456789012345678,\"i\":0.1,\"j\":[[],{},[1,[2,{\"k\":[null,true,false]}]]]}",
    "{\"model\":7,\"messages\":[1,\"two\",{\"content\":null}],\"top_k\":-0}",
    "{\"model\":{\"a\":1},\"messages\":[{}],\"top_k\":5,\"stop\":null,\"x\":\"caf\xc3\xa9\"}",
    "{\"messages\":[{\"content\":\"dup\"}],\"messages\":[{\"content\":\"last\"}]}",
    "{\"messages\":[{\"content\":\"a\",\"content\":\"b\"}],\"model\":\"m\"}",
    "{\"messages\":[]}",
    "{\"messages\":{}}",
    "{\"model\":\"m\"}",
    "{}",
    "[]",
    "\"text\"",
    "null",
    "{\"messages\":[{\"content\":\"x\"}]",
    "{\"messages\":[{\"content\":\"x\"}]} x",
    "{\"messages\":[{\"content\":\"\\u0000\"}]}",
    "{\"messages\":[{\"content\":\"x\"}],\"a_key_longer_than_twenty_three_bytes\":1,"
    "\"\\u006dodel\":\"escaped key\"}",
    "{\"messages\":[{\"content\":\"x\"}],\"big\":1e400,\"small\":1e-400}",
    /* long strings: plain, with raw UTF-8 and with an escape past the 16-byte tests */
    "{\"messages\":[{\"role\":\"user\",\"content\":\"a plain question of more than thirty-two "
    "bytes, copied as it stands\"}],\"s\":\"0123456789abcdef0123456789abcdef\xc3\xa9tail\","
    "\"t\":\"0123456789abcdef0123456789abcdef0123\\ntail\"}",
    /* escapes jansson writes (kept as they stand) and others (written again) */
    "{\"messages\":[{\"content\":\"q \\\" \\\\ \\b \\f \\n \\r \\t \\u001F \\u0001 \\u0010 "
    "\xc3\xa9 / \x7f\"}],\"a\":\"\\u001f\",\"b\":\"\\u000a\",\"c\":\"\\/\",\"d\":\"\\u00e9\","
    "\"e\":\"\\u0008\",\"f\":\"\\u007F\",\"g\":\"\\u0020\",\"h\":\"\\u000D\","
    "\"j\":\"\\u0100\",\"k\":\"\\u1000\",\"l\":\"x\\\"\"}",
    /* a key repeated in a nested object, written another way; the same key at two levels */
    "{\"messages\":[{\"content\":\"a\",\"role\":\"user\",\"r\\u006fle\":\"x\"}]}",
    "{\"messages\":[{\"messages\":\"a\",\"content\":{\"content\":1}}],\"content\":2}",
    "{\"messages\":[{\"content\":\"x\"}],\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]"
    "]"
    "]]]]]]]]]]]]]]]]]]]]]]]]]}",
};

/* The tree path's bytes (rc in *rc). */
static char *tree_body(const struct lleval_engine *e, const char *body, size_t len, bool drop,
                       int *rc)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    *rc = j ? lleval_openai_chat_body(e, j, drop, &sb, &err) : LLEVAL_EINVAL;
    json_decref(j);
    return lleval_sb_detach(&sb, NULL);
}

static void check(const struct lleval_engine *e, const char *body, size_t len, bool drop,
                  const char *what)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    int want_rc, rc = lleval_openai_chat_body_text(e, body, len, drop, &sb, &err);
    char *want = tree_body(e, body, len, drop, &want_rc);
    if ((rc != 0) != (want_rc != 0) || (!rc && strcmp(sb.buf, want))) {
        print_error("%s: body %.*s\n text rc %d: %s\n tree rc %d: %s\n", what, (int)len, body, rc,
                    sb.buf, want_rc, want);
        fail();
    }
    if (rc)
        assert_true(err.msg[0] != '\0');
    free(want);
    lleval_sb_release(&sb);
}

static struct lleval_engine *open_engine(struct lleval_config *cfg, const char *model_id)
{
    struct lleval_engine *e;
    struct lleval_err err = LLEVAL_ERR_INIT;
    memset(cfg, 0, sizeof(*cfg));
    cfg->engine = LLEVAL_ENGINE_OPENAI;
    cfg->base_url = (char *)"http://127.0.0.1:8000/v1";
    cfg->model_id = (char *)model_id;
    assert_int_equal(lleval_engine_open(&e, cfg, &err), 0);
    return e;
}

static void test_table(void **state)
{
    static const char *const models[] = {NULL, "cfg-model", "q\"uote"};
    (void)state;
    for (size_t m = 0; m < LLEVAL_ARRAY_SIZE(models); m++) {
        struct lleval_config cfg;
        struct lleval_engine *e = open_engine(&cfg, models[m]);
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bodies); i++) {
            check(e, bodies[i], strlen(bodies[i]), true, "table");
            check(e, bodies[i], strlen(bodies[i]), false, "table");
        }
        lleval_engine_close(e);
    }
}

/* Every byte of real bodies replaced by a few telling bytes, one at a time. */
static void test_mutations(void **state)
{
    static const char repl[] = "\"\\{}[],:0e.-nu \x01\xc3\xff";
    struct lleval_config cfg;
    struct lleval_engine *e = open_engine(&cfg, "cfg-model");
    (void)state;
    for (size_t b = 0; b < 5; b++) {
        size_t len = strlen(bodies[b]);
        char *buf = lleval_xstrdup(bodies[b]);
        for (size_t i = 0; i < len; i++) {
            for (size_t r = 0; r < sizeof(repl) - 1; r++) {
                char was = buf[i];
                buf[i] = repl[r];
                check(e, buf, len, r % 2 == 0, "mutation");
                buf[i] = was;
            }
            check(e, buf, i, true, "prefix"); /* cut short */
        }
        free(buf);
    }
    lleval_engine_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
