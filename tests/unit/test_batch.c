/* Unit tests for custom_id encoding (a property test over random ids) and prompt rendering. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/run/batch.h"
#include "lleval/util/util.h"

static uint64_t rng_state = 0x1234567890ABCDEFULL;
static uint64_t next_rand(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A random id of 1..40 bytes: any byte but NUL, biased towards tricky ones. */
static char *random_id(void)
{
    static const char tricky[] = ":%% /\\\n\t\"'|,~.-_";
    size_t n = 1 + next_rand() % 40;
    char *s = lleval_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_rand();
        switch (r % 4) {
        case 0:
            s[i] = tricky[(r >> 8) % (sizeof(tricky) - 1)];
            break;
        case 1:
            s[i] = (char)(1 + (r >> 8) % 255); /* any byte, UTF-8 or not */
            break;
        default:
            s[i] = "abcXYZ0189"[(r >> 8) % 10];
        }
    }
    s[n] = '\0';
    return s;
}

static void test_cid_roundtrip_property(void **state)
{
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        char *item = random_id(), *ds = random_id(), *pt = random_id();
        double temps[] = {0, 0.7, 1.25, 0.05, 2};
        double temp = temps[next_rand() % 5];
        long sample = (long)(next_rand() % 5);
        struct lleval_sb sb = LLEVAL_SB_INIT;
        struct lleval_cid c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        char want_temp[32];

        lleval_cid_encode(&sb, ds, item, pt, temp, sample);
        for (size_t i = 0; i < sb.len; i++) {
            unsigned char ch = (unsigned char)sb.buf[i];
            assert_true(ch > 0x20 && ch < 0x7F); /* printable ASCII, no spaces */
        }
        assert_int_equal(lleval_cid_decode(sb.buf, &c, &err), 0);
        assert_string_equal(c.dataset, ds);
        assert_string_equal(c.item_id, item);
        assert_string_equal(c.prompt_type, pt);
        assert_string_equal(c.temp, lleval_fmt_num(want_temp, sizeof(want_temp), temp));
        assert_int_equal(c.sample, sample);
        lleval_cid_release(&c);
        lleval_sb_release(&sb);
        free(item);
        free(ds);
        free(pt);
    }
}

static void test_cid_examples(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    lleval_cid_encode(&sb, "nq_open", "nq-00017", "direct", 0.7, 0);
    assert_string_equal(sb.buf, "nq_open:nq-00017:direct:t0.7:s0");
    lleval_sb_reset(&sb);
    lleval_cid_encode(&sb, "x", "a:b c%", "p", 0, 2);
    assert_string_equal(sb.buf, "x:a%3Ab%20c%25:p:t0:s2");
    lleval_sb_release(&sb);
}

static void test_cid_rejects_malformed(void **state)
{
    const char *bad[] = {
        "",          "a:b:c:t0",       "a:b:c:t0:s0:extra", "a::c:t0:s0", "a:b:c:x0:s0",
        "a:b:c:t0:q0", "a:b:c:tz:s0",  "a:b%4:c:t0:s0",     "a:b%41:c:t0:s0", /* plain escaped */
        "a:b c:p:t0:s0", "a:b:c:t0:s-1",
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad); i++) {
        struct lleval_cid c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        if (lleval_cid_decode(bad[i], &c, &err) == 0) {
            print_error("accepted malformed custom_id '%s'\n", bad[i]);
            fail();
        }
        tu_assert_contains(err.msg, "malformed custom_id");
    }
}

static void test_render_prompt(void **state)
{
    json_t *item = json_pack("{s:s, s:s, s:[s,s,s]}", "question", "Q?", "context", "C.",
                             "choices", "one", "two", "three");
    char *out;
    (void)state;
    out = lleval_render_prompt("{context}|{question}|{unknown}|{", item);
    assert_string_equal(out, "C.|Q?|{unknown}|{");
    free(out);
    out = lleval_render_prompt("{choices}\n{choice_letters}", item);
    assert_string_equal(out, "A. one\nB. two\nC. three\nA, B or C");
    free(out);
    json_decref(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cid_roundtrip_property),
        cmocka_unit_test(test_cid_examples),
        cmocka_unit_test(test_cid_rejects_malformed),
        cmocka_unit_test(test_render_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
