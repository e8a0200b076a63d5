/*
 * Unit tests for the scanner's strings (lib/util/jscan.c): a string whose
 * special byte (an escape, a control character, a multibyte character, DEL,
 * a stray byte >= 0x80) stands at every offset of a run of plain bytes, so
 * both the 8-byte word test and the byte loop meet it, reads as jansson
 * reads it (the same bytes, or refused where jansson refuses).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/jscan.h"
#include "lleval/util/util.h"

static void same_as_jansson(const char *text, size_t len)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    struct lleval_jscan s;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    bool ok;
    memset(&s, 0, sizeof(s));
    s.p = (const unsigned char *)text;
    s.end = s.p + len;
    s.out = &out;
    ok = lleval_jscan_str(&s, &out) && lleval_jscan_end(&s);
    if (j && json_is_string(j)) {
        assert_true(ok);
        assert_int_equal(out.len - 1, json_string_length(j)); /* out holds a NUL too */
        assert_memory_equal(out.buf, json_string_value(j), json_string_length(j));
    } else {
        assert_false(ok);
    }
    json_decref(j);
    lleval_sb_release(&out);
}

static void test_special_at_every_offset(void **state)
{
    static const char *const specials[] = {"\\n",      "\\\"",     "\\\\",           "\\u00e9",
                                           "\xc3\xa9", "\x7f",     "\x01",           "\x1f",
                                           "\xff",     "\xe2\x82", "\\ud83d\\ude00", "\\x"};
    (void)state;
    for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
        for (size_t before = 0; before < 20; before++)
            for (size_t after = 0; after < 12; after++) {
                struct lleval_sb t = LLEVAL_SB_INIT;
                lleval_sb_addch(&t, '"');
                for (size_t i = 0; i < before; i++)
                    lleval_sb_addch(&t, (char)('a' + i % 26));
                lleval_sb_adds(&t, specials[k]);
                for (size_t i = 0; i < after; i++)
                    lleval_sb_addch(&t, (char)('A' + i % 26));
                lleval_sb_addch(&t, '"');
                same_as_jansson(t.buf, t.len);
                /* cut short: no closing quote */
                same_as_jansson(t.buf, t.len - 1);
                lleval_sb_release(&t);
            }
}

static void test_plain_bytes(void **state)
{
    /* every printable ASCII byte but the two specials, at every offset of a word */
    (void)state;
    for (int c = 0x20; c < 0x7f; c++) {
        if (c == '"' || c == '\\')
            continue;
        for (size_t at = 0; at < 17; at++) {
            char text[40];
            size_t n = 0;
            text[n++] = '"';
            for (size_t i = 0; i < 17; i++)
                text[n++] = i == at ? (char)c : 'x';
            text[n++] = '"';
            same_as_jansson(text, n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_at_every_offset),
        cmocka_unit_test(test_plain_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
