/*
 * A corpus of hostile strings (markup, script and javascript: links,
 * Markdown images, spreadsheet formulas, terminal escape sequences, control
 * characters, invalid UTF-8, bidirectional overrides, very long lines)
 * pushed through every renderer of engine and model text: the HTML escaper,
 * the Markdown escaper, predictions.csv's writer and reader, and the
 * terminal sanitizer. Each output is checked for what must never be in it
 * where it is rendered; the CSV must also give every value back exactly.
 * The per-renderer tables are in test_text.c, test_csv.c, test_predictions.c.
 */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/score/predictions.h"
#include "lleval/util/csv.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"

static const char *const corpus[] = {
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "![tracker](http://evil.example/x.png)",
    "<http://evil.example>",
    "www.evil.example and mail@evil.example",
    "<!-- comment --><style>*{}</style>",
    "&lt;script&gt; &#x3C; &amp;",
    "**bold** _em_ ~~s~~ `code` ``x``",
    "# heading\n## two\n> quote\n- list\n1. one\n---\n===",
    "| a | b |\n|---|---|",
    "back\\slash \\| \\* \\\\",
    "=cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
    "'=1",
    "''",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J\x1b[H",
    "\x9b"
    "31m raw C1 byte",
    "\xc2\x9b"
    "31m encoded C1",
    "nul\x01soh\x02\x7f del \x08bs",
    "\xff\xfe bad \xc0\xaf overlong \xed\xa0\x80 surrogate \xe2\x82 cut",
    "\xe2\x80\xae"
    "gpj.exe \xe2\x81\xa6isolate\xe2\x81\xa9 \xe2\x80\xa8ls",
    "caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80",
    "line1\nline2\r\nline3\rline4",
    "",
    "'",
    ",\"\",",
};

/* The corpus plus one very long line (1 MiB of markup and escapes). */
static char *long_line(void)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    while (sb.len < (1u << 20))
        lleval_sb_adds(&sb, "=<b>\x1b[1m|![x](javascript:y)\xe2\x80\xae\xff");
    return lleval_sb_detach(&sb, NULL);
}

static void check_utf8(const char *what, const char *in, const struct lleval_sb *out)
{
    size_t bad;
    if (!lleval_utf8_valid(out->buf, out->len, &bad))
        fail_msg("%s of \"%.40s\": invalid UTF-8 at byte %zu", what, in, bad);
}

/* HTML: no markup character of the input survives, so nothing opens a tag
 * or leaves a quoted attribute; no control character but tab, LF, CR. */
static void check_html(const char *in)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_html_escape(&sb, in);
    check_utf8("html", in, &sb);
    for (size_t i = 0; i < sb.len; i++) {
        unsigned char c = (unsigned char)sb.buf[i];
        if (strchr("<>\"'", c) || (c < 0x20 && !strchr("\t\n\r", c)) || c == 0x7F)
            fail_msg("html of \"%.40s\": raw byte 0x%02x at %zu", in, c, i);
        if (c == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
            bool ok = false;
            for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(ents); k++)
                ok = ok || !strncmp(sb.buf + i, ents[k], strlen(ents[k]));
            if (!ok)
                fail_msg("html of \"%.40s\": & that is not one of ours at %zu", in, i);
        }
    }
    lleval_sb_release(&sb);
}

/* Markdown: one line, no '<', no control character, and every character
 * with a Markdown meaning preceded by its backslash (our own &lt; aside). */
static void check_md(const char *in)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_md_escape(&sb, in);
    check_utf8("md", in, &sb);
    for (size_t i = 0; i < sb.len; i++) {
        unsigned char c = (unsigned char)sb.buf[i];
        if (c < 0x20 || c == 0x7F || c == '<')
            fail_msg("md of \"%.40s\": raw byte 0x%02x at %zu", in, c, i);
        if (c == 0xC2 && i + 1 < sb.len && (unsigned char)sb.buf[i + 1] < 0xA0)
            fail_msg("md of \"%.40s\": C1 control at %zu", in, i);
        if (c == '\\') {
            if (i + 1 == sb.len || !strchr("\\`*_[](){}>#+-.!|~&:@=$^", sb.buf[i + 1]))
                fail_msg("md of \"%.40s\": backslash before '%c' at %zu", in, sb.buf[i + 1], i);
            i++;
            continue;
        }
        if (!strncmp(sb.buf + i, "&lt;", 4)) {
            i += 3;
            continue;
        }
        if (strchr("`*_[](){}>#+-.!|~&:@=$^", c))
            fail_msg("md of \"%.40s\": unescaped '%c' at %zu", in, c, i);
    }
    lleval_sb_release(&sb);
}

/* Terminal: no control character but tab, nothing that a terminal would
 * read as an escape or a reordering, and valid UTF-8 (bad bytes shown). */
static void check_term(const char *in)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_term_sanitize(&sb, in, false);
    check_utf8("term", in, &sb);
    for (size_t i = 0; i < sb.len; i++) {
        unsigned char c = (unsigned char)sb.buf[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            fail_msg("term of \"%.40s\": control byte 0x%02x at %zu", in, c, i);
        if (c == 0xC2 && i + 1 < sb.len && (unsigned char)sb.buf[i + 1] < 0xA0)
            fail_msg("term of \"%.40s\": C1 control at %zu", in, i);
        if (c == 0xE2 && i + 2 < sb.len &&
            (((unsigned char)sb.buf[i + 1] == 0x80 && (unsigned char)sb.buf[i + 2] >= 0xA8 &&
              (unsigned char)sb.buf[i + 2] <= 0xAE) ||
             ((unsigned char)sb.buf[i + 1] == 0x81 && (unsigned char)sb.buf[i + 2] >= 0xA6 &&
              (unsigned char)sb.buf[i + 2] <= 0xA9)))
            fail_msg("term of \"%.40s\": bidi or separator control at %zu", in, i);
    }
    lleval_sb_release(&sb);
}

static void test_escapers(void **state)
{
    char *big = long_line();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(corpus); i++) {
        check_html(corpus[i]);
        check_md(corpus[i]);
        check_term(corpus[i]);
    }
    check_html(big);
    check_md(big);
    check_term(big);
    {
        /* the escapers keep the text: plain words and UTF-8 come through */
        struct lleval_sb h = LLEVAL_SB_INIT, m = LLEVAL_SB_INIT, t = LLEVAL_SB_INIT;
        const char *s = "caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80";
        lleval_html_escape(&h, s);
        lleval_md_escape(&m, s);
        lleval_term_sanitize(&t, s, false);
        assert_string_equal(h.buf, s);
        assert_string_equal(m.buf, s);
        assert_string_equal(t.buf, s);
        lleval_sb_release(&h);
        lleval_sb_release(&m);
        lleval_sb_release(&t);
    }
    free(big);
}

/* predictions.csv: every corpus string in every text column reads back
 * exactly, and no text cell of the file starts as a spreadsheet formula. */
static void test_predictions_csv(void **state)
{
    char *dir = tu_tmpdir(), *path, *big = long_line();
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_pred_reader rd;
    struct lleval_csv_reader raw;
    struct lleval_pred_row row;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t n = LLEVAL_ARRAY_SIZE(corpus) + 1;
    (void)state;

    lleval_pred_write_header(&sb);
    for (size_t i = 0; i < n; i++) {
        const char *v = i < LLEVAL_ARRAY_SIZE(corpus) ? corpus[i] : big;
        struct lleval_pred_record r = {
            .custom_id = v,
            .dataset = v,
            .item_id = v,
            .type = v,
            .prompt_type = v,
            .temperature = "0.7",
            .sample = 1,
            .ok = true,
            .finish_reason = v,
            .prediction = v,
            .latency_ms = 1.0,
            .prompt_tokens = 1,
            .completion_tokens = 1,
            .gen_tps = 1.0,
            .attempts = 1,
            .error = v,
        };
        lleval_pred_write_row(&sb, &r);
    }
    path = tu_write(dir, "predictions.csv", sb.buf);

    assert_int_equal(lleval_pred_open(&rd, path, 0, 0, &err), 0);
    for (size_t i = 0; i < n; i++) {
        const char *v = i < LLEVAL_ARRAY_SIZE(corpus) ? corpus[i] : big;
        const char *got[8];
        if (lleval_pred_next(&rd, &row, &err) != 1)
            fail_msg("corpus %zu: %s", i, err.msg);
        got[0] = row.custom_id, got[1] = row.dataset, got[2] = row.item_id, got[3] = row.type;
        got[4] = row.prompt_type, got[5] = row.finish_reason, got[6] = row.prediction;
        got[7] = row.error;
        for (size_t c = 0; c < LLEVAL_ARRAY_SIZE(got); c++)
            if (strcmp(got[c], v))
                fail_msg("corpus %zu column %zu: wrote \"%.40s\", read \"%.40s\"", i, c, v, got[c]);
        assert_string_equal(row.status, "ok");
    }
    assert_int_equal(lleval_pred_next(&rd, &row, &err), 0);
    lleval_pred_close(&rd);

    assert_int_equal(lleval_csv_open(&raw, path, &err), 0);
    assert_int_equal(lleval_csv_next(&raw, &err), 1);
    while (lleval_csv_next(&raw, &err) == 1) {
        assert_int_equal(raw.n_fields, LLEVAL_PRED_NCOLS);
        for (size_t f = 0; f < raw.n_fields; f++)
            if (raw.fields[f][0] && strchr("=+-@\t\r", raw.fields[f][0]))
                fail_msg("line %ld field %zu starts a formula: \"%.40s\"", raw.line, f,
                         raw.fields[f]);
    }
    lleval_csv_close(&raw);

    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(path);
    free(dir);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapers),
        cmocka_unit_test(test_predictions_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
