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

static bool same_or_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* lleval_cid_decode() of cid, and lleval_cid_decode_in() agrees with it: the
 * same return, the same message, the same components. */
static int decode_both(const char *cid, struct lleval_cid *c)
{
    struct lleval_sb buf = LLEVAL_SB_INIT;
    struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT;
    struct lleval_cid in;
    int rc = lleval_cid_decode(cid, c, &e1);
    lleval_sb_adds(&buf, "left over from an earlier id");
    assert_int_equal(lleval_cid_decode_in(cid, &in, &buf, &e2), rc);
    if (rc) {
        assert_string_equal(e1.msg, e2.msg);
    } else if (!same_or_null(c->model, in.model) || !same_or_null(c->dataset, in.dataset) ||
               !same_or_null(c->item_id, in.item_id) ||
               !same_or_null(c->prompt_type, in.prompt_type) || !same_or_null(c->temp, in.temp) ||
               c->sample != in.sample) {
        print_error("'%s': lleval_cid_decode_in differs\n", cid);
        fail();
    }
    lleval_sb_release(&buf);
    return rc;
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
        char want_temp[32];

        lleval_cid_encode(&sb, ds, item, pt, temp, sample);
        for (size_t i = 0; i < sb.len; i++) {
            unsigned char ch = (unsigned char)sb.buf[i];
            assert_true(ch > 0x20 && ch < 0x7F); /* printable ASCII, no spaces */
        }
        assert_int_equal(decode_both(sb.buf, &c), 0);
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
        "",
        "a:b:c:t0",
        "a:b:c:t0:s0:extra",
        "a::c:t0:s0",
        "a:b:c:x0:s0",
        "a:b:c:t0:q0",
        "a:b:c:tz:s0",
        "a:b%4:c:t0:s0",
        "a:b%41:c:t0:s0", /* plain escaped */
        "a:b c:p:t0:s0",
        "a:b:c:t0:s-1",
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad); i++) {
        struct lleval_cid c;
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_int_not_equal(decode_both(bad[i], &c), 0);
        if (lleval_cid_decode(bad[i], &c, &err) == 0) {
            print_error("accepted malformed custom_id '%s'\n", bad[i]);
            fail();
        }
        tu_assert_contains(err.msg, "malformed custom_id");
    }
}

/* The temperature and sample of a custom_id are taken or refused as
 * lleval_parse_double() and lleval_parse_long(0..2^30) take them (the
 * decoder reads plain ones itself), and a component's escape, good or bad,
 * decodes the same at every offset of a plain run. */
static void test_cid_fields_as_parsers_read(void **state)
{
    static const char *const temps[] = {"0",
                                        "0.7",
                                        "1.25",
                                        "00.5",
                                        "1.",
                                        ".5",
                                        "1e3",
                                        "inf",
                                        "nan",
                                        "0x10",
                                        " 1",
                                        "1 ",
                                        "-0.5",
                                        "+1",
                                        "1.2.3",
                                        "1..2",
                                        "0.",
                                        "-",
                                        "",
                                        "123456789012345678901234567890",
                                        "1234567890123456789012345678901",
                                        "0.000000000000000000000000000001",
                                        "1e-400",
                                        "1e400"};
    static const char *const samples[] = {
        "0",   "9",          "999999999",   "1000000000", "1073741824", "1073741825",
        "+1",  "-1",         "01",          "",           " 1",         "1a",
        "0x1", "0000000001", "00000000001", "-0",         "9999999999", "99999999999999999999"};
    static const char *const escapes[] = {"%3A", "%25", "%20", "%C3%A9", "%4", "%zz",
                                          "%41", "%00", "%",   " ",      ":",  "\xc3"};
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(temps); i++)
        for (size_t j = 0; j < LLEVAL_ARRAY_SIZE(samples); j++) {
            char *cid = lleval_xasprintf("ds:it:p:t%s:s%s", temps[i], samples[j]);
            struct lleval_cid c;
            double t;
            long want = -1;
            bool ok = lleval_parse_double(temps[i], &t) == 0 &&
                      lleval_parse_long(samples[j], 0, 1L << 30, &want) == 0 && *temps[i] &&
                      *samples[j];
            int rc = decode_both(cid, &c);
            if ((rc == 0) != ok) {
                print_error("'%s': decode %d, parsers %d\n", cid, rc, ok);
                fail();
            }
            if (ok) {
                assert_string_equal(c.temp, temps[i]);
                assert_int_equal(c.sample, want);
                lleval_cid_release(&c);
            }
            free(cid);
        }
    for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(escapes); k++)
        for (size_t before = 0; before < 12; before++)
            for (size_t after = 0; after < 3; after++) {
                struct lleval_sb item = LLEVAL_SB_INIT, want = LLEVAL_SB_INIT;
                struct lleval_cid c;
                char *cid;
                int rc;
                bool bad = !strcmp(escapes[k], "%4") || !strcmp(escapes[k], "%zz") ||
                           !strcmp(escapes[k], "%41") || !strcmp(escapes[k], "%00") ||
                           !strcmp(escapes[k], "%") || !strcmp(escapes[k], " ") ||
                           !strcmp(escapes[k], "\xc3");
                for (size_t i = 0; i < before; i++)
                    lleval_sb_addch(&item, "aZ9._-"[i % 6]);
                lleval_sb_add(&want, item.buf, item.len);
                lleval_sb_adds(&item, escapes[k]);
                lleval_sb_adds(&want, !strcmp(escapes[k], "%3A")   ? ":"
                                      : !strcmp(escapes[k], "%25") ? "%"
                                      : !strcmp(escapes[k], "%20") ? " "
                                                                   : "\xc3\xa9");
                for (size_t i = 0; i < after; i++) {
                    lleval_sb_addch(&item, 'q');
                    lleval_sb_addch(&want, 'q');
                }
                cid = lleval_xasprintf("ds:%s:p:t0:s0", item.buf);
                rc = decode_both(cid, &c);
                if (!strcmp(escapes[k], ":")) { /* a sixth part (a model), empty or not */
                    assert_int_equal(rc == 0, before > 0 && after > 0);
                    if (rc == 0)
                        lleval_cid_release(&c);
                } else if (bad) {
                    assert_int_not_equal(rc, 0);
                } else {
                    assert_int_equal(rc, 0);
                    assert_string_equal(c.item_id, want.buf);
                    lleval_cid_release(&c);
                }
                free(cid);
                lleval_sb_release(&item);
                lleval_sb_release(&want);
            }
}

static void test_render_prompt(void **state)
{
    json_t *item = json_pack("{s:s, s:s, s:[s,s,s]}", "question", "Q?", "context", "C.", "choices",
                             "one", "two", "three");
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

/* The request-line reader: fields of well-formed lines, empty lines skipped,
 * a line that is not a request comes back with NULL fields and its number. */
static void test_request_reader(void **state)
{
    char *dir = tu_tmpdir();
    char *path =
        tu_write(dir, "part-001.jsonl",
                 "{\"custom_id\":\"a:1:p:t0:s0\",\"method\":\"POST\",\"body\":{\"max_tokens\":"
                 "64,\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"},{\"role\":"
                 "\"system\",\"content\":\"\\u00e9\"}]}}\n"
                 "\n"
                 "not json\n"
                 "{\"body\":{\"max_tokens\":8}}\n"
                 "{\"custom_id\":\"b\",\"body\":[1]}\n");
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    assert_int_equal(lleval_request_open(&rr, path, &err), 0);
    assert_int_equal(lleval_request_next(&rr, &v, &err), 1);
    assert_int_equal(v->lineno, 1);
    assert_string_equal(v->custom_id, "a:1:p:t0:s0");
    assert_non_null(v->body);
    assert_int_equal(v->max_tokens, 64);
    assert_int_equal(v->prompt_chars, 6); /* "abcd" + U+00E9 in two bytes */
    assert_int_equal(lleval_request_next(&rr, &v, &err), 1);
    assert_int_equal(v->lineno, 3); /* the empty line 2 is skipped */
    assert_null(v->custom_id);
    assert_null(v->body);
    assert_null(v->line);
    assert_int_equal(lleval_request_next(&rr, &v, &err), 1);
    assert_int_equal(v->lineno, 4);
    assert_null(v->custom_id);
    assert_int_equal(v->max_tokens, 8);
    assert_int_equal(lleval_request_next(&rr, &v, &err), 1);
    assert_string_equal(v->custom_id, "b");
    assert_null(v->body); /* not an object */
    assert_int_equal(v->max_tokens, 0);
    assert_int_equal(lleval_request_next(&rr, &v, &err), 0);
    lleval_request_close(&rr);
    assert_int_not_equal(lleval_request_open(&rr, "/nonexistent/part.jsonl", &err), 0);
    tu_assert_contains(err.msg, "/nonexistent/part.jsonl");
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static bool skip_b(void *ud, const char *custom_id)
{
    (*(int *)ud)++;
    return !strcmp(custom_id, "b");
}

/* Lines whose custom_id the skip function names are passed over unparsed;
 * lines of another shape are still read (and parsed). */
static void test_request_skip(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "p.jsonl",
                          "{\"custom_id\":\"a\",\"body\":{}}\n{\"custom_id\":\"b\",\"body\":{}}\n"
                          "{\"body\":{},\"custom_id\":\"b\"}\n{\"custom_id\":\"c\",\"body\":{}}\n");
    struct lleval_request_reader rr;
    const struct lleval_request_view *v;
    int asked = 0;
    (void)state;
    assert_int_equal(lleval_request_open(&rr, path, NULL), 0);
    assert_int_equal(lleval_request_next_skip(&rr, skip_b, &asked, &v, NULL), 1);
    assert_string_equal(v->custom_id, "a");
    assert_int_equal(lleval_request_next_skip(&rr, skip_b, &asked, &v, NULL), 1);
    assert_int_equal(v->lineno, 3); /* line 2 skipped; line 3's id is not at the start */
    assert_string_equal(v->custom_id, "b");
    assert_int_equal(lleval_request_next_skip(&rr, skip_b, &asked, &v, NULL), 1);
    assert_string_equal(v->custom_id, "c");
    assert_int_equal(lleval_request_next_skip(&rr, skip_b, &asked, &v, NULL), 0);
    assert_int_equal(asked, 3); /* a, b, c: line 3 never reaches the fast path */
    lleval_request_close(&rr);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_request_quick_cid(void **state)
{
    static const struct {
        const char *line;
        const char *want; /* NULL: not the fast shape */
        size_t size;
    } cases[] = {
        {"{\"custom_id\":\"nq:1:closed:t0:s0\",\"body\":{}}", "nq:1:closed:t0:s0", 64},
        {"{\"custom_id\":\"\",\"body\":{}}", "", 64},
        {"{\"custom_id\": \"x\"}", NULL, 64},            /* a space: parse it */
        {"{\"body\":{},\"custom_id\":\"x\"}", NULL, 64}, /* other order */
        {"{\"custom_id\":\"a\\\"b\"}", NULL, 64},        /* an escape */
        {"{\"custom_id\":\"abcdef\"}", NULL, 6},         /* does not fit with its NUL */
        {"{\"custom_id\":\"abcde\"}", "abcde", 6},
        {"{\"custom_id\":\"unterminated", NULL, 64},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64] = "";
        bool ok =
            lleval_request_quick_cid(cases[i].line, strlen(cases[i].line), buf, cases[i].size);
        if (ok != (cases[i].want != NULL) || (ok && strcmp(buf, cases[i].want))) {
            print_error("case %zu: %s -> %d '%s'\n", i, cases[i].line, ok, buf);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cid_roundtrip_property),
        cmocka_unit_test(test_cid_examples),
        cmocka_unit_test(test_cid_rejects_malformed),
        cmocka_unit_test(test_cid_fields_as_parsers_read),
        cmocka_unit_test(test_render_prompt),
        cmocka_unit_test(test_request_reader),
        cmocka_unit_test(test_request_skip),
        cmocka_unit_test(test_request_quick_cid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
