/* Unit tests for the RFC 4180 CSV reader and writer: a table of inputs, errors, and a random round
 * trip. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/csv.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"

struct csv_case {
    const char *name;
    const char *input;
    size_t len; /* 0: strlen(input) */
    const char
        *expect; /* records as "L<line>[f1|f2]" concatenated; NULL when an error is expected */
    const char *error; /* substring of the error message */
};

static const struct csv_case cases[] = {
    {"simple LF", "a,b,c\nd,e,f\n", 0, "L1[a|b|c]L2[d|e|f]", NULL},
    {"CRLF", "a,b\r\nc,d\r\n", 0, "L1[a|b]L2[c|d]", NULL},
    {"lone CR", "a,b\rc,d\r", 0, "L1[a|b]L2[c|d]", NULL},
    {"no final newline", "a,b\nc,d", 0, "L1[a|b]L2[c|d]", NULL},
    {"empty file", "", 0, "", NULL},
    {"empty fields", ",,\n,x,\n", 0, "L1[||]L2[|x|]", NULL},
    {"quoted comma", "\"a,b\",c\n", 0, "L1[a,b|c]", NULL},
    {"doubled quotes", "\"say \"\"hi\"\"\",x\n", 0, "L1[say \"hi\"|x]", NULL},
    {"quoted empty", "\"\",\"\"\n", 0, "L1[|]", NULL},
    {"quoted LF", "\"one\ntwo\",x\nnext,y\n", 0, "L1[one\ntwo|x]L3[next|y]", NULL},
    {"quoted CRLF", "\"one\r\ntwo\",x\r\nnext,y\r\n", 0, "L1[one\r\ntwo|x]L3[next|y]", NULL},
    {"quoted lone CR", "\"a\rb\"\nc\n", 0, "L1[a\rb]L3[c]", NULL},
    {"blank lines", "a\n\nb\n", 0, "L1[a]L2[]L3[b]", NULL},
    {"utf-8 bom dropped",
     "\xef\xbb\xbf"
     "a,b\n",
     0, "L1[a|b]", NULL},
    {"utf-8 kept", "h\xc3\xa9,\"\xf0\x9f\x98\x80,\"\n", 0, "L1[h\xc3\xa9|\xf0\x9f\x98\x80,]", NULL},
    {"spaces kept", " a , b \n", 0, "L1[ a | b ]", NULL},
    {"mmlu row", "\"Find x, y\",0,4,\"0,1\",\"0,4\",D\n", 0, "L1[Find x, y|0|4|0,1|0,4|D]", NULL},
    {"unterminated quote", "a,b\nc,\"open\nmore\n", 0, NULL, ":2: unterminated quoted field 2"},
    {"stray quote", "a,b\nc,d\"e\n", 0, NULL, ":2: stray double quote in unquoted field 2"},
    {"text after closing quote", "\"ab\"c,d\n", 0, NULL,
     ":1: unexpected text after the closing quote"},
    {"nul byte", "a,b\nc,d\0e\n", 10, NULL, ":2: NUL byte"},
    {"nul in quoted field", "\"a\0\"\n", 5, NULL, ":1: NUL byte"},
};

static void render_records(struct lleval_csv_reader *r, struct lleval_sb *out, int *rc_out,
                           struct lleval_err *err)
{
    int rc;
    while ((rc = lleval_csv_next(r, err)) == 1) {
        lleval_sb_addf(out, "L%ld[", r->line);
        for (size_t i = 0; i < r->n_fields; i++) {
            if (i)
                lleval_sb_addch(out, '|');
            lleval_sb_adds(out, r->fields[i]);
        }
        lleval_sb_addch(out, ']');
    }
    *rc_out = rc;
}

static void test_reader_table(void **state)
{
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const struct csv_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->input);
        char *path = tu_write_bytes(dir, "case.csv", c->input, len);
        struct lleval_csv_reader r;
        struct lleval_err err = LLEVAL_ERR_INIT;
        struct lleval_sb got = LLEVAL_SB_INIT;
        int rc;

        assert_int_equal(lleval_csv_open(&r, path, &err), 0);
        render_records(&r, &got, &rc, &err);
        if (c->expect) {
            if (rc != 0 || strcmp(got.buf, c->expect)) {
                print_error("case '%s': rc %d (%s)\n  expected %s\n  got      %s\n", c->name, rc,
                            err.msg, c->expect, got.buf);
                fail();
            }
        } else {
            if (rc != LLEVAL_EINVAL) {
                print_error("case '%s': expected an error, got rc %d and %s\n", c->name, rc,
                            got.buf);
                fail();
            }
            tu_assert_contains(err.msg, c->error);
            tu_assert_contains(err.msg, path);
        }
        lleval_csv_close(&r);
        lleval_sb_release(&got);
        free(path);
    }
    tu_rmtree(dir);
    free(dir);
}

static void test_blank_flag(void **state)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "b.csv", "a\n\n\"\"\n");
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    assert_int_equal(lleval_csv_open(&r, path, &err), 0);
    assert_int_equal(lleval_csv_next(&r, &err), 1);
    assert_false(lleval_csv_blank(&r));
    assert_int_equal(lleval_csv_next(&r, &err), 1);
    assert_true(lleval_csv_blank(&r));
    assert_int_equal(lleval_csv_next(&r, &err),
                     1); /* "" is a quoted empty field, not a blank line */
    assert_false(lleval_csv_blank(&r));
    assert_int_equal(r.n_fields, 1);
    assert_int_equal(lleval_csv_next(&r, &err), 0);
    lleval_csv_close(&r);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_open_missing(void **state)
{
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    assert_int_equal(lleval_csv_open(&r, "/nonexistent/x.csv", &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "/nonexistent/x.csv");
    lleval_csv_close(&r);
}

struct write_case {
    const char *field;
    const char *written;
};

static void test_writer_table(void **state)
{
    static const struct write_case wc[] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\rhere", "\"cr\rhere\""},
        {"h\xc3\xa9", "h\xc3\xa9"},
        {"=1+2", "=1+2"},
        {"\xEF\xBB\xBFid", "\"\xEF\xBB\xBFid\""},
        {"id\xEF\xBB\xBF", "id\xEF\xBB\xBF"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(wc); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_csv_add_field(&sb, wc[i].field, true);
        assert_string_equal(sb.buf, wc[i].written);
        lleval_sb_release(&sb);
    }
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_csv_add_field(&sb, "a", true);
        lleval_csv_add_field(&sb, "b,c", false);
        lleval_csv_add_field(&sb, "", false);
        lleval_csv_end_record(&sb);
        assert_string_equal(sb.buf, "a,\"b,c\",\r\n");
        lleval_sb_release(&sb);
    }
}

/* The writer as it was before its shortcut for plain fields (redaction, then
 * the guard, then lleval_csv_quote()), for the comparison below. */
static void slow_field(struct lleval_sb *sb, const char *s, bool first, bool text)
{
    char *redacted = lleval_redact_dup(s);
    const char *v = redacted ? redacted : s ? s : "";
    if (!first)
        lleval_sb_addch(sb, ',');
    if (text && lleval_csv_needs_guard(v)) {
        struct lleval_sb g = LLEVAL_SB_INIT;
        lleval_sb_addch(&g, '\'');
        lleval_sb_adds(&g, v);
        lleval_csv_quote(sb, g.buf);
        lleval_sb_release(&g);
    } else {
        lleval_csv_quote(sb, v);
    }
    free(redacted);
}

/* Every byte that ends the writer's plain shortcut (a separator, a quote, a
 * line end, the '@' of a URL's userinfo, a byte order mark, a guard
 * character, a registered secret) at every offset of a field, with and
 * without a secret registered: the same bytes as the writer without it. */
static void test_writer_plain_shortcut(void **state)
{
    static const char *const specials[] = {",",
                                           "\"",
                                           "\r",
                                           "\n",
                                           "@",
                                           "https://user:pass@host/",
                                           "http://[redacted]@h",
                                           "\xEF\xBB\xBF",
                                           "=",
                                           "+",
                                           "-",
                                           "'",
                                           "\t",
                                           "supersecret1",
                                           "\xc3\xa9",
                                           "x",
                                           ""};
    (void)state;
    for (int reg = 0; reg < 2; reg++) {
        if (reg)
            lleval_redact_add("supersecret1");
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(specials); k++)
            for (size_t before = 0; before < 20; before++)
                for (size_t after = 0; after < 3; after++)
                    for (int mode = 0; mode < 4; mode++) {
                        struct lleval_sb f = LLEVAL_SB_INIT, got = LLEVAL_SB_INIT,
                                         want = LLEVAL_SB_INIT;
                        bool first = mode & 1, text = mode & 2;
                        for (size_t i = 0; i < before; i++)
                            lleval_sb_addch(&f, (char)('a' + i % 26));
                        lleval_sb_adds(&f, specials[k]);
                        for (size_t i = 0; i < after; i++)
                            lleval_sb_addch(&f, 'Z');
                        lleval_sb_adds(&got, "x");
                        lleval_sb_adds(&want, "x");
                        if (text)
                            lleval_csv_add_text_field(&got, f.buf, first);
                        else
                            lleval_csv_add_field(&got, f.buf, first);
                        slow_field(&want, f.buf, first, text);
                        assert_string_equal(got.buf, want.buf);
                        lleval_sb_release(&f);
                        lleval_sb_release(&got);
                        lleval_sb_release(&want);
                    }
        {
            struct lleval_sb got = LLEVAL_SB_INIT, want = LLEVAL_SB_INIT;
            lleval_csv_add_text_field(&got, NULL, false);
            slow_field(&want, NULL, false, true);
            assert_string_equal(got.buf, want.buf);
            lleval_sb_release(&got);
            lleval_sb_release(&want);
        }
    }
    lleval_redact_clear();
}

/* The spreadsheet guard of text fields: which values get the quote, how it
 * sits inside RFC 4180 quoting, and that the reader side removes exactly one. */
static void test_text_field_guard(void **state)
{
    static const struct write_case wc[] = {
        {"plain", "plain"},
        {"", ""},
        {"=1+2", "'=1+2"},
        {"+1", "'+1"},
        {"-1", "'-1"},
        {"@SUM(A1)", "'@SUM(A1)"},
        {"\tx", "'\tx"},
        {"\rx", "\"'\rx\""},
        {"'x", "''x"},
        {"''", "'''"},
        {"=a,\"b\"", "\"'=a,\"\"b\"\"\""},
        {" =1", " =1"},
        {"a=1", "a=1"},
        {"\nx", "\"\nx\""},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(wc); i++) {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_csv_add_text_field(&sb, wc[i].field, true);
        assert_string_equal(sb.buf, wc[i].written);
        assert_int_equal(lleval_csv_needs_guard(wc[i].field),
                         wc[i].written[0] == '\'' || !strncmp(wc[i].written, "\"'", 2));
        lleval_sb_release(&sb);
    }
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_csv_add_text_field(&sb, "a", true);
        lleval_csv_add_text_field(&sb, NULL, false);
        lleval_csv_add_text_field(&sb, "-b", false);
        assert_string_equal(sb.buf, "a,,'-b");
        lleval_sb_release(&sb);
    }
    assert_false(lleval_csv_needs_guard(NULL));
    for (int c = 0; c < 256; c++) { /* every first byte: the set "=+-@\t\r'" */
        char f[3] = {(char)c, 'x', '\0'};
        assert_int_equal(lleval_csv_needs_guard(f), c && strchr("=+-@\t\r'", c) != NULL);
    }
    assert_string_equal(lleval_csv_text_value("'=1"), "=1");
    assert_string_equal(lleval_csv_text_value("''x"), "'x");
    assert_string_equal(lleval_csv_text_value("x'"), "x'");
    assert_string_equal(lleval_csv_text_value(""), "");
}

/* Deterministic pseudo-random numbers (the test must be reproducible); 64-bit state on every
 * platform (Windows' unsigned long has 32 bits). */
static uint64_t rng_next(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

static void test_round_trip(void **state)
{
    static const char *const pieces[] = {
        "a",
        "b",
        "xyz",
        " ",
        ",",
        "\"",
        "\"\"",
        "\r",
        "\n",
        "\r\n",
        "\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "\xe4\xb8\xad\xe6\x96\x87",
        "'",
        ";",
        "\t",
        "=",
        "",
    };
    enum { N_RECORDS = 400, MAX_FIELDS = 7 };
    char *dir = tu_tmpdir();
    struct lleval_sb file = LLEVAL_SB_INIT;
    char **want = lleval_xcalloc(N_RECORDS * MAX_FIELDS, sizeof(char *));
    size_t n_fields[N_RECORDS];
    long lines[N_RECORDS];
    uint64_t seed = 20240909;
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    (void)state;

    for (size_t i = 0; i < N_RECORDS; i++) {
        long line = 1;
        for (size_t k = 0; k < file.len; k++) {
            if (file.buf[k] == '\n' || (file.buf[k] == '\r' && file.buf[k + 1] != '\n'))
                line++;
        }
        lines[i] = line;
        n_fields[i] = 1 + rng_next(&seed) % MAX_FIELDS;
        for (size_t f = 0; f < n_fields[i]; f++) {
            struct lleval_sb field = LLEVAL_SB_INIT;
            size_t n_pieces = rng_next(&seed) % 6;
            for (size_t p = 0; p < n_pieces; p++)
                lleval_sb_adds(&field, pieces[rng_next(&seed) % LLEVAL_ARRAY_SIZE(pieces)]);
            lleval_csv_add_field(&file, field.buf, f == 0);
            want[i * MAX_FIELDS + f] = lleval_sb_detach(&field, NULL);
        }
        lleval_csv_end_record(&file);
    }
    path = tu_write_bytes(dir, "rt.csv", file.buf, file.len);

    assert_int_equal(lleval_csv_open(&r, path, &err), 0);
    for (size_t i = 0; i < N_RECORDS; i++) {
        int rc = lleval_csv_next(&r, &err);
        if (rc != 1) {
            print_error("record %zu: rc %d: %s\n", i, rc, err.msg);
            fail();
        }
        assert_int_equal(r.line, lines[i]);
        assert_int_equal(r.n_fields, n_fields[i]);
        for (size_t f = 0; f < n_fields[i]; f++)
            assert_string_equal(r.fields[f], want[i * MAX_FIELDS + f]);
    }
    assert_int_equal(lleval_csv_next(&r, &err), 0);
    lleval_csv_close(&r);

    for (size_t i = 0; i < N_RECORDS * MAX_FIELDS; i++)
        free(want[i]);
    free(want);
    lleval_sb_release(&file);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* A first field that starts with a byte order mark survives a write and a
 * read (the reader drops one BOM at the file's start; found by fuzz/csv). */
static void test_leading_bom_round_trip(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_sb file = LLEVAL_SB_INIT;
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    (void)state;
    lleval_csv_add_field(&file, "\xEF\xBB\xBFid", true);
    lleval_csv_add_field(&file, "x", false);
    lleval_csv_end_record(&file);
    path = tu_write_bytes(dir, "bom.csv", file.buf, file.len);
    assert_int_equal(lleval_csv_open(&r, path, &err), 0);
    assert_int_equal(lleval_csv_next(&r, &err), 1);
    assert_int_equal(r.n_fields, 2);
    assert_string_equal(r.fields[0], "\xEF\xBB\xBFid");
    assert_string_equal(r.fields[1], "x");
    lleval_csv_close(&r);
    lleval_sb_release(&file);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* A file of several 64 KiB chunks: records, quoted "" pairs, CRLF and embedded
 * newlines fall across every chunk boundary, and one record is larger than a
 * chunk. Every field and every record's first line must come back exactly. */
static void test_chunk_boundaries(void **state)
{
    char *dir = tu_tmpdir();
    struct lleval_sb file = LLEVAL_SB_INIT, want = LLEVAL_SB_INIT;
    struct lleval_csv_reader r;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path;
    long line = 1, *starts = NULL;
    size_t nrec = 0, cap = 0, i;
    int rc;
    (void)state;

    for (i = 0; file.len < 300000; i++) {
        LLEVAL_GROW(starts, nrec, cap);
        starts[nrec++] = line;
        /* field 1: plain; field 2: quoted with "" and, every 3rd record, a CRLF inside */
        lleval_sb_addf(&file, "r%zu,\"a\"\"b%s%zu\"", i, i % 3 ? "" : "\r\n", i);
        if (i % 3 == 0)
            line++;
        if (i == 700) { /* one record bigger than a chunk */
            lleval_sb_adds(&file, ",\"");
            for (int k = 0; k < 70000; k++)
                lleval_sb_addch(&file, k % 1000 == 999 ? '\n' : 'x');
            lleval_sb_addch(&file, '"');
            line += 70;
        }
        lleval_sb_adds(&file, i % 2 ? "\r\n" : "\n");
        line++;
    }
    path = tu_write_bytes(dir, "big.csv", file.buf, file.len);
    assert_int_equal(lleval_csv_open(&r, path, &err), 0);
    for (size_t k = 0; k < nrec; k++) {
        char plain[32];
        rc = lleval_csv_next(&r, &err);
        if (rc != 1)
            print_error("record %zu: rc %d: %s\n", k, rc, err.msg);
        assert_int_equal(rc, 1);
        assert_int_equal(r.line, starts[k]);
        snprintf(plain, sizeof(plain), "r%zu", k);
        assert_string_equal(r.fields[0], plain);
        lleval_sb_reset(&want);
        lleval_sb_addf(&want, "a\"b%s%zu", k % 3 ? "" : "\r\n", k);
        assert_string_equal(r.fields[1], want.buf);
        assert_int_equal(r.n_fields, k == 700 ? 3 : 2);
        if (k == 700)
            assert_int_equal(strlen(r.fields[2]), 70000);
    }
    assert_int_equal(lleval_csv_next(&r, &err), 0);
    lleval_csv_close(&r);
    tu_rmtree(dir);
    free(starts);
    free(path);
    free(dir);
    lleval_sb_release(&file);
    lleval_sb_release(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_table),
        cmocka_unit_test(test_blank_flag),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_writer_table),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_leading_bom_round_trip),
        cmocka_unit_test(test_chunk_boundaries),
        cmocka_unit_test(test_text_field_guard),
        cmocka_unit_test(test_writer_plain_shortcut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
