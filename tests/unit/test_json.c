/*
 * Unit tests for the jansson helpers (lib/util/json.c): typed getters with
 * their defaults, dotted paths through objects and arrays, the compact dump
 * (insertion order, 15 significant digits), atomic pretty writes read back,
 * and load errors that name the place or the unreadable file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char *doc =
    "{\"s\": \"text\", \"i\": 42, \"neg\": -7, \"r\": 2.75, \"big\": 9007199254740993,"
    " \"t\": true, \"n\": null, \"a\": [10, {\"k\": \"deep\"}, [\"x\", \"y\"]],"
    " \"o\": {\"p\": {\"q\": 1.5}, \"dotted.key\": 3}, \"\": \"empty key\"}";

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) {
        print_error("bad test JSON: %s\n", e.text);
        fail();
    }
    return j;
}

static void test_getters(void **state)
{
    static const struct {
        const char *key;
        const char *str; /* lleval_json_str */
        double num;      /* lleval_json_num with default -1 */
        long long i;     /* lleval_json_int with default -1 */
    } cases[] = {
        {"s", "text", -1, -1},
        {"i", NULL, 42, 42},
        {"neg", NULL, -7, -7},
        {"r", NULL, 2.75, 2},
        {"big", NULL, 9007199254740992.0, 9007199254740993LL},
        {"t", NULL, -1, -1},
        {"n", NULL, -1, -1},
        {"a", NULL, -1, -1},
        {"o", NULL, -1, -1},
        {"absent", NULL, -1, -1},
        {"", "empty key", -1, -1},
    };
    json_t *j = parse(doc);
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *s = lleval_json_str(j, cases[c].key);
        double num = lleval_json_num(j, cases[c].key, -1);
        long long i = lleval_json_int(j, cases[c].key, -1);
        if ((s == NULL) != (cases[c].str == NULL) || (s && strcmp(s, cases[c].str)) ||
            num != cases[c].num || i != cases[c].i) {
            print_error("key '%s': str %s num %.17g int %lld; want %s %.17g %lld\n", cases[c].key,
                        s ? s : "(null)", num, i, cases[c].str ? cases[c].str : "(null)",
                        cases[c].num, cases[c].i);
            fail();
        }
    }
    /* not an object: every getter answers its default */
    {
        json_t *arr = json_array();
        assert_null(lleval_json_str(arr, "s"));
        assert_null(lleval_json_str(NULL, "s"));
        assert_true(lleval_json_num(arr, "i", 0.5) == 0.5);
        assert_int_equal(lleval_json_int(NULL, "i", 9), 9);
        json_decref(arr);
    }
    json_decref(j);
}

static void test_path(void **state)
{
    static const struct {
        const char *path;
        const char *want; /* compact dump of the value, NULL: not found */
    } cases[] = {
        {"s", "\"text\""},
        {"a.0", "10"},
        {"a.1.k", "\"deep\""},
        {"a.2.1", "\"y\""},
        {"a.2.2", NULL},
        {"a.-1", NULL},
        {"a.x", NULL},
        {"a.1.k.more", NULL},
        {"o.p.q", "1.5"},
        {"o.p", "{\"q\":1.5}"},
        {"o.dotted.key", NULL}, /* a dot always separates */
        {"o.nope.q", NULL},
        {"absent", NULL},
        {"", NULL}, /* the root itself: checked below */
    };
    json_t *j = parse(doc);
    char longkey[300];
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        json_t *v = lleval_json_path(j, cases[c].path);
        char *got = NULL;
        if (!*cases[c].path) {
            assert_ptr_equal(v, j);
            continue;
        }
        if (v)
            got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if ((got == NULL) != (cases[c].want == NULL) || (got && strcmp(got, cases[c].want))) {
            print_error("path '%s': %s, want %s\n", cases[c].path, got ? got : "(none)",
                        cases[c].want ? cases[c].want : "(none)");
            fail();
        }
        free(got);
    }
    /* a path segment too long for the key buffer is not found, not truncated */
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_null(lleval_json_path(j, longkey));
    assert_null(lleval_json_path(NULL, "a"));
    json_decref(j);
}

static void test_dump_sb(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"{\"z\": 1, \"a\": 2, \"m\": [true, null]}", "{\"z\":1,\"a\":2,\"m\":[true,null]}"},
        {"{\"x\": 0.1}", "{\"x\":0.1}"},
        {"{\"x\": 3.14159265358979323}", "{\"x\":3.14159265358979}"},
        {"{\"u\": \"caf\\u00e9 \\\"q\\\"\"}", "{\"u\":\"caf\xc3\xa9 \\\"q\\\"\"}"},
        {"[]", "[]"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        json_t *j = parse(cases[c].in);
        lleval_sb_adds(&sb, "prefix:");
        assert_int_equal(lleval_json_dump_sb(j, &sb), 0);
        if (strncmp(sb.buf, "prefix:", 7) || strcmp(sb.buf + 7, cases[c].want)) {
            print_error("dump of %s: '%s', want 'prefix:%s'\n", cases[c].in, sb.buf, cases[c].want);
            fail();
        }
        assert_int_equal(sb.len, strlen(sb.buf));
        lleval_sb_release(&sb);
        json_decref(j);
    }
}

static void test_files(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "sub/out.json");
    char *sub = lleval_path_join(dir, "sub");
    struct lleval_err err = LLEVAL_ERR_INIT;
    json_t *j = parse(doc), *back;
    char *text;
    (void)state;

    assert_int_equal(lleval_mkdirs(sub, &err), 0);
    assert_int_equal(lleval_json_write_atomic(path, j, &err), 0);
    text = tu_read(path);
    assert_non_null(text);
    assert_true(strlen(text) > 2 && text[strlen(text) - 1] == '\n');
    tu_assert_contains(text, "\n  \"s\": \"text\""); /* pretty, indent 2 */
    free(text);
    back = lleval_json_load_file(path, &err);
    assert_non_null(back);
    assert_true(json_equal(j, back));
    json_decref(back);

    /* errors: invalid JSON names path:line:column; a duplicate key is refused; a missing file
     * is an I/O error */
    {
        static const struct {
            const char *content;
            int code;
            const char *msg;
        } cases[] = {
            {"{\n  \"a\": 1,\n  \"b\": \n}\n", LLEVAL_EINVAL, "bad.json:4:"},
            {"{\"a\": 1, \"a\": 2}", LLEVAL_EINVAL, "duplicate"},
            {NULL, LLEVAL_EIO, "cannot read"},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            char *p = cases[c].content ? tu_write(dir, "bad.json", cases[c].content)
                                       : lleval_path_join(dir, "missing.json");
            struct lleval_err e = LLEVAL_ERR_INIT;
            json_t *got = lleval_json_load_file(p, &e);
            if (got || e.code != cases[c].code) {
                print_error("case %zu: loaded %p, code %d (%s); want NULL and %d\n", c, (void *)got,
                            e.code, e.msg, cases[c].code);
                fail();
            }
            tu_assert_contains(e.msg, cases[c].msg);
            free(p);
        }
    }
    json_decref(j);
    tu_rmtree(dir);
    free(path);
    free(sub);
    free(dir);
}

/* The typed field reader: values of the right type are read, absent fields
 * keep their defaults, null only where nullable, and the first wrong field is
 * the error (file, field path, what it must be, what to do). */
static void test_field_reader(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_json_reader rd = {"runs/x/a.json", "restore it", &err, 0};
    json_t *o = json_loads("{\"s\": \"v\", \"n\": null, \"i\": 7, \"f\": 2.5, \"b\": true,"
                           " \"o\": {\"k\": 1}, \"bad\": \"7\", \"bad2\": [1]}",
                           0, NULL);
    char *str = lleval_xstrdup("default"), *nul = lleval_xstrdup("x");
    long i = -1, absent = 42;
    double f = 0, nv = 1, nv_dflt = 5;
    bool b = false;
    (void)state;

    assert_non_null(o);
    lleval_jr_str(&rd, o, "", "s", false, &str);
    lleval_jr_str(&rd, o, "", "n", true, &nul);
    lleval_jr_long(&rd, o, "", "i", &i);
    lleval_jr_long(&rd, o, "", "nope", &absent);
    lleval_jr_num(&rd, o, "", "f", false, 0, &f);
    lleval_jr_num(&rd, o, "", "n", true, -1, &nv);
    lleval_jr_num(&rd, o, "", "nope", true, -1, &nv_dflt);
    lleval_jr_bool(&rd, o, "", "b", &b);
    assert_non_null(lleval_jr_obj(&rd, o, "", "o"));
    assert_null(lleval_jr_obj(&rd, o, "", "nope"));
    assert_int_equal(rd.rc, 0);
    assert_string_equal(str, "v");
    assert_null(nul);
    assert_int_equal(i, 7);
    assert_int_equal(absent, 42);
    assert_true(f == 2.5 && nv == -1 && nv_dflt == 5 && b);

    lleval_jr_long(&rd, o, "groups[1].", "bad", &i); /* the first error */
    assert_int_equal(rd.rc, LLEVAL_EINVAL);
    assert_int_equal(i, 7);
    assert_string_equal(err.msg, "runs/x/a.json: 'groups[1].bad' must be an integer: the file "
                                 "is damaged (restore it)");
    lleval_jr_str(&rd, o, "", "n", false, &str); /* null where not nullable: kept quiet now */
    assert_null(lleval_jr_obj(&rd, o, "", "bad2"));
    assert_string_equal(str, "v");
    tu_assert_contains(err.msg, "'groups[1].bad'");

    rd.rc = 0;
    lleval_jr_str(&rd, o, "", "n", false, &str);
    tu_assert_contains(err.msg, "'n' must be a string:");
    rd.rc = 0;
    lleval_jr_num(&rd, o, "", "s", true, 0, &f);
    tu_assert_contains(err.msg, "'s' must be a number or null:");
    free(str);
    free(nul);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),      cmocka_unit_test(test_path),
        cmocka_unit_test(test_dump_sb),      cmocka_unit_test(test_files),
        cmocka_unit_test(test_field_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
