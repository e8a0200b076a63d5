/*
 * Unit tests for the QA metrics: the data-driven cases in
 * the tables in tests/fixtures/metrics (SQuAD and NQ normalization, multiple-choice
 * extraction, answer extraction) plus properties the tables cannot show.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/score/metrics.h"
#include "lleval/score/score.h"
#include "lleval/util/util.h"

/* Decodes the fixture escapes \n \t \r \\ \| \uXXXX; a pipe from \| becomes
 * byte 0x01 so that the caller can split golds on real pipes first. */
static char *unescape(const char *s)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            lleval_sb_addch(&sb, *s);
            continue;
        }
        s++;
        switch (*s) {
        case 'n':
            lleval_sb_addch(&sb, '\n');
            break;
        case 't':
            lleval_sb_addch(&sb, '\t');
            break;
        case 'r':
            lleval_sb_addch(&sb, '\r');
            break;
        case '\\':
            lleval_sb_addch(&sb, '\\');
            break;
        case '|':
            lleval_sb_addch(&sb, '\x01');
            break;
        case 'u': {
            char hex[5] = {0};
            unsigned long cp;
            memcpy(hex, s + 1, 4);
            cp = strtoul(hex, NULL, 16);
            if (cp < 0x80) {
                lleval_sb_addch(&sb, (char)cp);
            } else if (cp < 0x800) {
                lleval_sb_addch(&sb, (char)(0xC0 | (cp >> 6)));
                lleval_sb_addch(&sb, (char)(0x80 | (cp & 0x3F)));
            } else {
                lleval_sb_addch(&sb, (char)(0xE0 | (cp >> 12)));
                lleval_sb_addch(&sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
                lleval_sb_addch(&sb, (char)(0x80 | (cp & 0x3F)));
            }
            s += 4;
            break;
        }
        default:
            lleval_sb_addch(&sb, '\\');
            lleval_sb_addch(&sb, *s);
        }
    }
    return lleval_sb_detach(&sb, NULL);
}

static void restore_pipes(char *s)
{
    for (; *s; s++)
        if (*s == '\x01')
            *s = '|';
}

/* Splits a line on tabs into at most max fields (pointers into line). */
static int split(char *line, char sep, char **out, int max)
{
    int n = 0;
    out[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == sep) {
            *p = '\0';
            out[n++] = p + 1;
        }
    }
    return n;
}

typedef void (*case_fn)(const char *where, char **cols, int ncols, int *failures);

/* Runs fn on every non-comment line of a fixture; returns the number of cases. */
static int run_fixture(const char *name, case_fn fn, int *failures)
{
    char *path = lleval_xasprintf("%s/tests/fixtures/metrics/%s", LLEVAL_SOURCE_DIR, name);
    char *text = tu_read(path);
    int cases = 0, lineno = 0;
    assert_non_null(text);
    for (char *line = text, *next; line && *line; line = next) {
        char *cols[8];
        int ncols;
        char where[512];
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*line || *line == '#')
            continue;
        ncols = split(line, '\t', cols, 8);
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        fn(where, cols, ncols, failures);
        cases++;
    }
    free(text);
    free(path);
    return cases;
}

static void qa_case(const char *where, char **cols, int ncols, bool nfd, int *failures)
{
    char *pred = unescape(cols[0]), *golds_raw = unescape(cols[1]);
    char *golds[32];
    int ng = split(golds_raw, '|', golds, 32);
    struct lleval_norm p = LLEVAL_NORM_INIT, g[32];
    struct lleval_qa_score sc;
    double em, f1, contains = -1;

    assert_true(ncols >= 4);
    restore_pipes(pred);
    lleval_norm_set(&p, pred, strlen(pred), nfd);
    for (int i = 0; i < ng; i++) {
        restore_pipes(golds[i]);
        lleval_norm_init(&g[i]);
        lleval_norm_set(&g[i], golds[i], strlen(golds[i]), nfd);
    }
    lleval_qa_score(&p, g, (size_t)ng, &sc);
    em = strtod(cols[2], NULL);
    f1 = strtod(cols[3], NULL);
    if (ncols >= 5)
        contains = strtod(cols[4], NULL);
    if (fabs(sc.em - em) > 1e-9 || fabs(sc.f1 - f1) > 1e-6 ||
        (contains >= 0 && fabs(sc.contains - contains) > 1e-9)) {
        print_error("%s: expected EM %g F1 %g contains %g, got EM %g F1 %.6f contains %g "
                    "(normalized prediction '%s')\n",
                    where, em, f1, contains, sc.em, sc.f1, sc.contains, p.text.buf);
        (*failures)++;
    }
    /* the one-off helpers agree with the tokenized path for one gold */
    if (ng == 1) {
        assert_int_equal(lleval_exact_match(pred, golds[0], nfd), sc.em == 1.0);
        assert_true(fabs(lleval_f1(pred, golds[0], nfd) - sc.f1) < 1e-12);
    }
    lleval_norm_release(&p);
    for (int i = 0; i < ng; i++)
        lleval_norm_release(&g[i]);
    free(pred);
    free(golds_raw);
}

static void squad_case(const char *where, char **cols, int ncols, int *failures)
{
    qa_case(where, cols, ncols, false, failures);
}

static void nq_case(const char *where, char **cols, int ncols, int *failures)
{
    qa_case(where, cols, ncols, true, failures);
}

static void mc_case(const char *where, char **cols, int ncols, int *failures)
{
    char *answer = unescape(cols[0]), *choices_raw = unescape(cols[1]);
    char *choices[LLEVAL_MC_MAX_CHOICES];
    int nc = split(choices_raw, '|', choices, LLEVAL_MC_MAX_CHOICES);
    int want = cols[2][0] == '-' ? -1 : cols[2][0] - 'A';
    int got;
    assert_int_equal(ncols, 3);
    got = lleval_mc_extract(answer, strlen(answer), (const char *const *)choices, (size_t)nc);
    if (got != want) {
        print_error("%s: answer '%s': expected %c, got %c\n", where, answer,
                    want < 0 ? '-' : 'A' + want, got < 0 ? '-' : 'A' + got);
        (*failures)++;
    }
    free(answer);
    free(choices_raw);
}

static void extract_case(const char *where, char **cols, int ncols, int *failures)
{
    enum lleval_extract mode;
    char *in, *want;
    struct lleval_sb out = LLEVAL_SB_INIT;
    assert_int_equal(ncols, 4);
    assert_int_equal(lleval_extract_parse(cols[0], &mode), 0);
    in = unescape(cols[2]);
    want = unescape(cols[3]);
    lleval_extract_answer(in, strlen(in), mode, cols[1][0] == '1', &out);
    if (strcmp(out.buf, want)) {
        print_error("%s: expected '%s', got '%s'\n", where, want, out.buf);
        (*failures)++;
    }
    lleval_sb_release(&out);
    free(in);
    free(want);
}

static void test_fixture_squad(void **state)
{
    int failures = 0;
    (void)state;
    assert_true(run_fixture("squad.tsv", squad_case, &failures) >= 50);
    assert_int_equal(failures, 0);
}

static void test_fixture_nq(void **state)
{
    int failures = 0;
    (void)state;
    assert_true(run_fixture("nq.tsv", nq_case, &failures) >= 5);
    assert_int_equal(failures, 0);
}

static void test_fixture_mc(void **state)
{
    int failures = 0;
    (void)state;
    assert_true(run_fixture("mc.tsv", mc_case, &failures) >= 40);
    assert_int_equal(failures, 0);
}

static void test_fixture_extract(void **state)
{
    int failures = 0;
    (void)state;
    assert_true(run_fixture("extract.tsv", extract_case, &failures) >= 15);
    assert_int_equal(failures, 0);
}

static void check_norm(const char *in, bool nfd, const char *want)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_normalize_answer(in, strlen(in), nfd, &sb);
    assert_string_equal(sb.buf, want);
    lleval_sb_release(&sb);
}

static void test_normalize(void **state)
{
    (void)state;
    check_norm("The  Quick, brown fox!", false, "quick brown fox");
    check_norm("  ", false, "");
    check_norm("", false, "");
    check_norm("a an the", false, "");
    check_norm("A-n apple", false, "apple"); /* "A-n" -> "an" after punctuation removal */
    check_norm("İ", false, "i\xCC\x87");
    check_norm("ΟΔΟΣ ΣΑ", false, "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82 \xCF\x83\xCE\xB1");
    check_norm("caf\xC3\xA9", true, "cafe\xCC\x81");
    /* invalid UTF-8 reads as U+FFFD, never crashes */
    check_norm("ab\xFF\xFE"
               "c",
               false,
               "ab\xEF\xBF\xBD\xEF\xBF\xBD"
               "c");
    check_norm("\xE2\x82", false, "\xEF\xBF\xBD\xEF\xBF\xBD");
    /* a NUL inside the length is kept as a character */
    {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        lleval_normalize_answer("x\0y", 3, false, &sb);
        assert_int_equal(sb.len, 3);
        lleval_sb_release(&sb);
    }
}

/* F1 of long answers (the merge-sort path) equals a quadratic count. */
static void test_f1_long(void **state)
{
    struct lleval_sb p = LLEVAL_SB_INIT, g = LLEVAL_SB_INIT;
    struct lleval_norm pa = LLEVAL_NORM_INIT, ga = LLEVAL_NORM_INIT;
    size_t same = 0;
    bool used[200] = {false};
    uint64_t x = 42;
    (void)state;
    for (int i = 0; i < 300; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        lleval_sb_addf(&p, "w%u ", (unsigned)(x >> 59));
    }
    for (int i = 0; i < 200; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        lleval_sb_addf(&g, "w%u ", (unsigned)(x >> 58));
    }
    lleval_norm_set(&pa, p.buf, p.len, false);
    lleval_norm_set(&ga, g.buf, g.len, false);
    assert_int_equal(pa.n_toks, 300);
    assert_int_equal(ga.n_toks, 200);
    for (size_t i = 0; i < pa.n_toks; i++) {
        for (size_t j = 0; j < ga.n_toks; j++) {
            if (!used[j] && pa.toks[i].len == ga.toks[j].len &&
                !memcmp(pa.text.buf + pa.toks[i].off, ga.text.buf + ga.toks[j].off,
                        pa.toks[i].len)) {
                used[j] = true;
                same++;
                break;
            }
        }
    }
    {
        double pr = (double)same / 300.0, rc = (double)same / 200.0;
        double want = same ? 2 * pr * rc / (pr + rc) : 0.0;
        assert_true(fabs(lleval_norm_f1(&pa, &ga) - want) < 1e-12);
    }
    lleval_norm_release(&pa);
    lleval_norm_release(&ga);
    lleval_sb_release(&p);
    lleval_sb_release(&g);
}

static void test_answer_reuse(void **state)
{
    struct lleval_norm a = LLEVAL_NORM_INIT;
    (void)state;
    lleval_norm_set(&a, "one two three four", 18, false);
    assert_int_equal(a.n_toks, 4);
    lleval_norm_set(&a, "x", 1, false);
    assert_int_equal(a.n_toks, 1);
    assert_string_equal(a.text.buf, "x");
    lleval_norm_set(&a, "", 0, false);
    assert_int_equal(a.n_toks, 0);
    assert_true(lleval_norm_f1(&a, &a) == 0.0);
    lleval_norm_release(&a);
    lleval_norm_release(&a); /* releasing twice is harmless */
}

static void test_names(void **state)
{
    enum lleval_scoring s;
    enum lleval_extract e;
    (void)state;
    assert_int_equal(lleval_scoring_parse("nq", &s), 0);
    assert_int_equal(s, LLEVAL_SCORING_NQ);
    assert_string_equal(lleval_scoring_name(LLEVAL_SCORING_MC), "mc");
    assert_int_not_equal(lleval_scoring_parse("squad2", &s), 0);
    assert_int_equal(lleval_extract_parse("after-answer", &e), 0);
    assert_int_equal(e, LLEVAL_EXTRACT_AFTER_ANSWER);
    assert_int_equal(lleval_extract_parse("first_line", &e), 0);
    assert_int_equal(e, LLEVAL_EXTRACT_FIRST_LINE);
    assert_int_not_equal(lleval_extract_parse("last_line", &e), 0);
    assert_string_equal(lleval_extract_name(LLEVAL_EXTRACT_NONE), "none");
}

static void test_mc_edges(void **state)
{
    const char *choices[] = {"yes", "no"};
    (void)state;
    /* only as many letters as choices */
    assert_int_equal(lleval_mc_extract("B", 1, choices, 2), 1);
    assert_int_equal(lleval_mc_extract("C", 1, choices, 2), -1);
    /* no choice texts known */
    assert_int_equal(lleval_mc_extract("Answer: D", 9, NULL, 4), 3);
    assert_int_equal(lleval_mc_extract("yes", 3, NULL, 4), -1);
    assert_int_equal(lleval_mc_extract(NULL, 0, NULL, 4), -1);
}

/* SQuAD 2.0: Python's float repr (what evaluate-v2.0 prints), its output
 * object and the pipeline's abstentions. */
static void test_squad2(void **state)
{
    static const struct {
        double v;
        const char *want; /* python3 -c 'print(repr(v))' */
    } reprs[] = {
        {100.0, "100.0"},
        {0.0, "0.0"},
        {100.0 * 10 / 37, "27.027027027027028"},
        {100.0 * 34 / 86, "39.53488372093023"},
        {0.1, "0.1"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e16, "1e+16"},
        {123456789012345.6, "123456789012345.6"},
        {-2.5, "-2.5"},
        {1.0 / 3, "0.3333333333333333"},
    };
    struct lleval_score_opts o;
    struct lleval_squad2_eval e;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(reprs); i++) {
        lleval_sb_reset(&sb);
        lleval_fmt_pyfloat(reprs[i].v, &sb);
        assert_string_equal(sb.buf, reprs[i].want);
    }

    memset(&e, 0, sizeof(e));
    lleval_squad2_add(&e.all, 1, 1.0);
    lleval_squad2_add(&e.no_ans, 1, 1.0);
    lleval_squad2_add(&e.all, 0, 0.5);
    lleval_squad2_add(&e.no_ans, 0, 0.5);
    lleval_sb_reset(&sb);
    lleval_squad2_format(&e, &sb); /* no answerable question: no HasAns_ keys */
    assert_string_equal(sb.buf, "{\n  \"exact\": 50.0,\n  \"f1\": 75.0,\n  \"total\": 2,\n"
                                "  \"NoAns_exact\": 50.0,\n  \"NoAns_f1\": 75.0,\n"
                                "  \"NoAns_total\": 2\n}\n");
    lleval_sb_release(&sb);

    lleval_score_opts_init(&o);
    assert_true(lleval_squad2_abstains("", 0, &o));
    assert_true(lleval_squad2_abstains(" The ", 5, &o));
    assert_true(lleval_squad2_abstains("Unanswerable.", 13, &o));
    assert_false(lleval_squad2_abstains("unanswerable question", 21, &o));
    assert_false(lleval_squad2_abstains("no answer", 9, &o));
    snprintf(o.abstain[0], sizeof(o.abstain[0]), "%s", "No answer");
    assert_true(lleval_squad2_abstains("no answer!", 10, &o));
    assert_false(lleval_squad2_abstains("unanswerable", 12, &o));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_squad), cmocka_unit_test(test_fixture_nq),
        cmocka_unit_test(test_fixture_mc),    cmocka_unit_test(test_fixture_extract),
        cmocka_unit_test(test_normalize),     cmocka_unit_test(test_f1_long),
        cmocka_unit_test(test_answer_reuse),  cmocka_unit_test(test_names),
        cmocka_unit_test(test_mc_edges),      cmocka_unit_test(test_squad2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
