/*
 * Unit tests for secret redaction (lib/util/redact.c): the registry (several
 * secrets, one containing another, duplicates, too-short values ignored),
 * URL userinfo stripped whether registered or not, the Markdown spelling of a
 * key, nothing copied when there is nothing to redact, JSON trees and error
 * texts (error.c goes through it).
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/error.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"

static int reset(void **state)
{
    (void)state;
    lleval_redact_clear();
    return 0;
}

/* The redaction of in, as an owned string (in itself when nothing changes). */
static char *redacted(const char *in)
{
    char *r = lleval_redact_dup(in);
    return r ? r : lleval_xstrdup(in);
}

static void check(const char *in, const char *want)
{
    char *got = redacted(in);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    assert_string_equal(got, want);
    lleval_sb_adds(&sb, in);
    assert_int_equal(lleval_redact_sb(&sb), strcmp(in, want) != 0);
    assert_string_equal(sb.buf, want);
    assert_int_equal(lleval_redact_needed(in, strlen(in)), strcmp(in, want) != 0);
    lleval_sb_release(&sb);
    free(got);
}

static void test_secrets(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"nothing here", "nothing here"},
        {"key sk-test-KEY-123456 in text", "key [redacted] in text"},
        {"sk-test-KEY-123456sk-test-KEY-123456", "[redacted][redacted]"},
        {"Bearer sk-test-KEY-123456\n", "Bearer [redacted]\n"},
        {"second hunter2hunter2!", "second [redacted]!"},
        /* the longer secret that contains the shorter one goes whole */
        {"x hunter2hunter2-and-more y", "x [redacted] y"},
        /* the Markdown escaper's spelling of the key */
        {"sk\\-test\\-KEY\\-123456", "[redacted]"},
        {"sk-test-KEY-12345", "sk-test-KEY-12345"}, /* a prefix is not the secret */
    };
    (void)state;
    lleval_redact_add("sk-test-KEY-123456");
    lleval_redact_add("hunter2hunter2");
    lleval_redact_add("hunter2hunter2-and-more");
    lleval_redact_add("sk-test-KEY-123456"); /* twice is harmless */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(cases[i].in, cases[i].want);
}

static void test_short_ignored(void **state)
{
    (void)state;
    lleval_redact_add(NULL);
    lleval_redact_add("");
    lleval_redact_add("a");
    lleval_redact_add("ab");
    lleval_redact_add("1234567"); /* LLEVAL_REDACT_MIN_LEN - 1 */
    check("a cab 1234567", "a cab 1234567");
    lleval_redact_add("[redacted]"); /* from a saved config: would match forever */
    lleval_redact_add_url("http://[redacted]@host/v1");
    check("a [redacted] b", "a [redacted] b");
    lleval_redact_add("12345678");
    check("a cab 12345678", "a cab [redacted]");
}

static void test_url_userinfo(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"http://host:8080/v1", "http://host:8080/v1"},
        {"http://user:pw@host/v1", "http://[redacted]@host/v1"},
        {"cannot reach https://u:p@h:1/x: refused",
         "cannot reach https://[redacted]@h:1/x: refused"},
        {"'http://a@b' and http://c:d@e", "'http://[redacted]@b' and http://[redacted]@e"},
        {"http://[redacted]@host", "http://[redacted]@host"},
        {"mail a@b.c, see http://x/y@z", "mail a@b.c, see http://x/y@z"}, /* '@' past the path */
        {"http://u:p@@host", "http://[redacted]@host"},
        {"http://u:p@", "http://[redacted]@"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(cases[i].in, cases[i].want);
}

static void test_url_registered(void **state)
{
    (void)state;
    lleval_redact_add_url("http://alice:s3cretPassw0rd@host:1/v1");
    lleval_redact_add_url("http://host/v1"); /* no userinfo: nothing */
    lleval_redact_add_url(NULL);
    /* the password alone, and the userinfo, wherever they appear */
    check("pw s3cretPassw0rd.", "pw [redacted].");
    check("as alice:s3cretPassw0rd", "as [redacted]");
    check("alice", "alice");
}

static void test_nothing_copied(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *before;
    (void)state;
    lleval_redact_add("sk-test-KEY-123456");
    lleval_sb_adds(&sb, "an answer with user@example.com and http://host/");
    before = sb.buf;
    assert_false(lleval_redact_sb(&sb));
    assert_ptr_equal(sb.buf, before);
    assert_null(lleval_redact_dup("plain"));
    assert_null(lleval_redact_dup(NULL));
    lleval_sb_release(&sb);
}

static void test_json(void **state)
{
    json_t *j, *r;
    char *text;
    (void)state;
    lleval_redact_add("sk-test-KEY-123456");
    j = json_pack("{s:s, s:[s, i], s:{s:s}}", "a", "ok", "b", "x sk-test-KEY-123456", 3, "c",
                  "sk-test-KEY-123456", "http://u:p@h");
    r = json_pack("{s:s}", "a", "ok");
    assert_null(lleval_redact_json(r)); /* nothing to redact: no copy */
    json_decref(r);
    r = lleval_redact_json(j);
    assert_non_null(r);
    text = json_dumps(r, JSON_COMPACT);
    assert_string_equal(text, "{\"a\":\"ok\",\"b\":[\"x [redacted]\",3],\"c\":{\"[redacted]\":"
                              "\"http://[redacted]@h\"}}");
    free(text);
    json_decref(r);
    json_decref(j);
}

static void test_error_texts(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    lleval_redact_add("sk-test-KEY-123456");
    lleval_err_set(&err, LLEVAL_EENGINE, "reply: bad key '%s' at %s", "sk-test-KEY-123456",
                   "http://u:pw@host/v1");
    assert_string_equal(err.msg, "reply: bad key '[redacted]' at http://[redacted]@host/v1");
    lleval_err_prefix(&err, "engine sk-test-KEY-123456");
    assert_string_equal(
        err.msg, "engine [redacted]: reply: bad key '[redacted]' at http://[redacted]@host/v1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_secrets, reset),
        cmocka_unit_test_setup(test_short_ignored, reset),
        cmocka_unit_test_setup(test_url_userinfo, reset),
        cmocka_unit_test_setup(test_url_registered, reset),
        cmocka_unit_test_setup(test_nothing_copied, reset),
        cmocka_unit_test_setup(test_json, reset),
        cmocka_unit_test_setup(test_error_texts, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
