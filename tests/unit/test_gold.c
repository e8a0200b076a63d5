/*
 * Unit tests for the gold set of the scorer (lib/score/gold.c, items read
 * again from their lines): lines the scanner reads and lines left to the
 * full JSON reader give the same items (ids with escapes and surrogate
 * pairs, answers, choices, the gold choice, skipped nested values with braces
 * and quotes in strings), ids are found and absent ones are not, a repeated
 * id is its first line, SQuAD 2.0 items are told, and damaged files are
 * refused with a message that says to prepare again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "../../lib/score/score_int.h"
#include "lleval/platform/fs.h"
#include "lleval/score/normalize.h"
#include "lleval/util/util.h"

/* One item: its JSON line fields as written, and the decoded values expected. */
struct item_case {
    const char *id_json;      /* the JSON string literal of the id, escapes included */
    const char *id;           /* decoded */
    const char *answers_json; /* the answers array as written */
    const char *answers[3];   /* decoded (NULL-terminated) */
    const char *extra;        /* more members, written before "answers" ("" for none) */
};

static const struct item_case qa_items[] = {
    {"\"q-1\"", "q-1", "[\"Paris\"]", {"Paris"}, ""},
    {"\"caf\\u00e9-2\"",
     "caf\xc3\xa9-2",
     "[\"the Eiffel Tower\", \"Eiffel\"]",
     {"the Eiffel Tower", "Eiffel"},
     ""},
    {"\"smile-\\ud83d\\ude00\"",
     "smile-\xf0\x9f\x98\x80",
     "[\"\\\"quoted\\\" answer\", \"tab\\there\", \"a\\/b\"]",
     {"\"quoted\" answer", "tab\there", "a/b"},
     ""},
    {"\"raw-\xc3\xa9\xe2\x82\xac\"",
     "raw-\xc3\xa9\xe2\x82\xac",
     "[]",
     {NULL},
     ", \"meta\": {\"note\": \"} { ] [ \\\" \\\\\", \"n\": [1, 2.5e3, true, false, null, {}]}"},
    {"\"q-5\"",
     "q-5",
     "[\"1,000\", \"  spaced   out  \"]",
     {"1,000", "  spaced   out  "},
     ", \"context\": \"A long context with \\n newlines and \\u0041 escapes.\""},
};

static const struct item_case mc_items[] = {
    {"\"mc-1\"", "mc-1", "[\"B\"]", {"B"}, ", \"choices\": [\"red\", \"blue\", \"green\"]"},
    {"\"mc-2\"", "mc-2", "[\"green\"]", {"green"}, ", \"choices\": [\"red\", \"blue\", \"green\"]"},
    {"\"mc-3\"", "mc-3", "[\"purple\"]", {"purple"}, ", \"choices\": [\"x\", \"y\"]"},
    {"\"mc-\\u00e9\"",
     "mc-\xc3\xa9",
     "[\"A\"]",
     {"A"},
     ", \"choices\": [\"\\u00e9t\\u00e9\", \"y\"]"},
};
static const int mc_gold_choice[] = {1, 2, -1, 0};
static const char *const mc_choice0[] = {"red", "red", "x", "\xc3\xa9t\xc3\xa9"};

static char *item_line(const char *dataset, const char *type, const struct item_case *c)
{
    return lleval_xasprintf("{\"id\": %s, \"dataset\": \"%s\", \"type\": \"%s\", "
                            "\"question\": \"Q?\"%s, \"answers\": %s}\n",
                            c->id_json, dataset, type, c->extra, c->answers_json);
}

/* Writes <dir>/<name>.jsonl with the items (and the extra line when not NULL) and its info. */
static void write_prepared(const char *dir, const char *name, const char *type, const char *scoring,
                           const struct item_case *items, size_t n, const char *extra_line,
                           long info_items)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char *file, *info, *p;
    for (size_t i = 0; i < n; i++) {
        char *line = item_line(name, type, &items[i]);
        lleval_sb_adds(&sb, line);
        free(line);
    }
    if (extra_line)
        lleval_sb_adds(&sb, extra_line);
    file = lleval_xasprintf("%s.jsonl", name);
    p = tu_write(dir, file, sb.buf);
    free(p);
    free(file);
    file = lleval_xasprintf("%s.info.json", name);
    info = lleval_xasprintf("{\"dataset\": \"%s\", \"type\": \"%s\", \"scoring\": \"%s\", "
                            "\"items\": %ld}\n",
                            name, type, scoring, info_items);
    p = tu_write(dir, file, info);
    free(p);
    free(info);
    free(file);
    lleval_sb_release(&sb);
}

static struct gold_set *load(const char *dir, const char *name)
{
    struct gold_set *g = NULL;
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_gold_load(dir, name, &g, &err)) {
        print_error("lleval_gold_load '%s': %s\n", name, err.msg);
        fail();
    }
    return g;
}

/* The index of id in g (-1: none); fails the test on an error. */
static long find(struct gold_set *g, const char *id)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    long idx = -2;
    if (lleval_gold_find(g, id, &idx, &err)) {
        print_error("lleval_gold_find '%s': %s\n", id, err.msg);
        fail();
    }
    return idx;
}

/* Item k of g, read again (its golds valid until g's next find or item). */
static const struct gold_item *item(struct gold_set *g, size_t k)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    const struct gold_item *it = NULL;
    if (lleval_gold_item(g, k, &it, &err)) {
        print_error("lleval_gold_item %zu: %s\n", k, err.msg);
        fail();
    }
    return it;
}

/* The normalized text of answer a as the scorer normalizes golds. */
static char *normalized(const char *a, bool nfd)
{
    struct lleval_norm n = LLEVAL_NORM_INIT;
    char *out;
    lleval_norm_set(&n, a, strlen(a), nfd);
    out = lleval_xstrndup(n.text.buf, n.text.len);
    lleval_norm_release(&n);
    return out;
}

/* QA: the fast file (only usual lines) and the same lines followed by one line only the full
 * reader takes (a number among the answers) give the same items, as the table says. */
static void test_qa_fast_equals_full(void **state)
{
    static const struct {
        const char *scoring;
        bool nfd;
    } schemes[] = {{"squad", false}, {"nq", true}};
    const size_t n = sizeof(qa_items) / sizeof(qa_items[0]);
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        struct gold_set *fast, *full;
        write_prepared(dir, "fast", "closed_book", schemes[s].scoring, qa_items, n, NULL, (long)n);
        write_prepared(dir, "full", "closed_book", schemes[s].scoring, qa_items, n,
                       "{\"id\": \"odd\", \"dataset\": \"full\", \"type\": \"closed_book\", "
                       "\"question\": \"Q?\", \"answers\": [5, \"five\"]}\n",
                       (long)n + 1);
        fast = load(dir, "fast");
        full = load(dir, "full");
        assert_int_equal(fast->n_items, n);
        assert_int_equal(full->n_items, n + 1);
        for (size_t i = 0; i < n; i++) {
            const struct gold_item *a, *b;
            size_t want = 0;
            while (want < 3 && qa_items[i].answers[want])
                want++;
            assert_int_equal(find(fast, qa_items[i].id), (long)i);
            assert_int_equal(find(full, qa_items[i].id), (long)i);
            a = item(fast, i);
            b = item(full, i);
            assert_string_equal(a->id, qa_items[i].id);
            assert_string_equal(b->id, qa_items[i].id);
            if (a->count != want || b->count != want) {
                print_error("%s item %zu: %u and %u golds, want %zu\n", schemes[s].scoring, i,
                            a->count, b->count, want);
                fail();
            }
            for (size_t k = 0; k < want; k++) {
                char *w = normalized(qa_items[i].answers[k], schemes[s].nfd);
                struct lleval_norm va, vb;
                const struct lleval_norm *ga = &va, *gb = &vb;
                lleval_gold_views(fast, a->first + k, 1, &va);
                lleval_gold_views(full, b->first + k, 1, &vb);
                if (ga->text.len != strlen(w) || memcmp(ga->text.buf, w, ga->text.len) ||
                    gb->text.len != strlen(w) || memcmp(gb->text.buf, w, gb->text.len) ||
                    ga->n_toks != gb->n_toks) {
                    print_error("%s item %zu gold %zu: fast \"%.*s\" (%zu tokens), full "
                                "\"%.*s\" (%zu tokens), want \"%s\"\n",
                                schemes[s].scoring, i, k, (int)ga->text.len, ga->text.buf,
                                ga->n_toks, (int)gb->text.len, gb->text.buf, gb->n_toks, w);
                    fail();
                }
                free(w);
            }
        }
        /* the odd line: the number skipped, the string kept */
        assert_int_equal(item(full, n)->count, 1);
        assert_int_equal(find(fast, "odd"), -1);
        assert_int_equal(find(full, "odd"), (long)n);
        assert_int_equal(find(fast, "q-"), -1);
        assert_int_equal(find(fast, ""), -1);
        lleval_gold_free(fast);
        lleval_gold_free(full);
    }
    tu_rmtree(dir);
    free(dir);
}

/* Multiple choice: choices kept verbatim, the gold choice from a letter or a choice's text. */
static void test_mc(void **state)
{
    const size_t n = sizeof(mc_items) / sizeof(mc_items[0]);
    char *dir = tu_tmpdir();
    struct gold_set *fast, *full;
    (void)state;
    write_prepared(dir, "mcf", "multiple_choice", "mc", mc_items, n, NULL, (long)n);
    write_prepared(dir, "mcs", "multiple_choice", "mc", mc_items, n,
                   "{\"id\": \"odd\", \"dataset\": \"mcs\", \"type\": \"multiple_choice\", "
                   "\"question\": \"Q?\", \"choices\": [\"a\", 1, \"b\"], \"answers\": [\"b\"]}\n",
                   (long)n + 1);
    fast = load(dir, "mcf");
    full = load(dir, "mcs");
    for (size_t i = 0; i < n; i++) {
        struct gold_set *gs[2] = {fast, full};
        for (size_t w = 0; w < 2; w++) {
            const struct gold_item *it = item(gs[w], i);
            if (it->gold_choice != mc_gold_choice[i] ||
                strcmp(gs[w]->choices[it->first], mc_choice0[i])) {
                print_error("%s item %zu: gold choice %d, first choice \"%s\"; want %d, \"%s\"\n",
                            w ? "full" : "fast", i, it->gold_choice, gs[w]->choices[it->first],
                            mc_gold_choice[i], mc_choice0[i]);
                fail();
            }
            assert_string_equal(it->id, mc_items[i].id);
        }
        assert_int_equal(item(fast, i)->count, item(full, i)->count);
    }
    assert_int_equal(item(full, n)->count, 2);
    assert_int_equal(item(full, n)->gold_choice, 1);
    lleval_gold_free(fast);
    lleval_gold_free(full);
    tu_rmtree(dir);
    free(dir);
}

/* A repeated id scores against its first line (the index gives the last to
 * items.jsonl's readers), SQuAD 2.0 items are told, and rows asked out of
 * order read their lines again. */
static void test_first_line_and_v2(void **state)
{
    static const struct item_case items[] = {
        {"\"a\"", "a", "[\"one\"]", {"one"}, ", \"unanswerable\": false"},
        {"\"b\"", "b", "[\"x\"]", {"x"}, ", \"unanswerable\": true"},
        {"\"a\"", "a", "[\"two\"]", {"two"}, ""},
    };
    char *dir = tu_tmpdir();
    struct gold_set *g;
    const struct gold_item *it;
    struct lleval_norm v;
    (void)state;
    write_prepared(dir, "v2", "closed_book", "squad", items, 3, NULL, 3);
    g = load(dir, "v2");
    assert_int_equal(g->n_items, 3);
    assert_true(g->v2);
    assert_int_equal(g->no_ans, 1);
    assert_int_equal(find(g, "b"), 1);
    it = item(g, 1);
    assert_true(it->v2 && it->no_ans);
    assert_int_equal(it->count, 1);
    lleval_gold_views(g, it->first, 1, &v);
    assert_int_equal(v.text.len, 0); /* unanswerable: the one gold is no answer */
    assert_int_equal(find(g, "a"), 0);
    it = item(g, 0);
    assert_true(it->v2 && !it->no_ans);
    lleval_gold_views(g, it->first, 1, &v);
    assert_int_equal(v.text.len, 3);
    assert_memory_equal(v.text.buf, "one", 3);
    it = item(g, 2);
    assert_false(it->v2);
    lleval_gold_views(g, it->first, 1, &v);
    assert_memory_equal(v.text.buf, "two", 3);
    lleval_gold_free(g);
    tu_rmtree(dir);
    free(dir);
}

/* One item's normalized golds as text: each gold's text, tokens and token order. */
static char *golds_text(struct gold_set *g, const struct gold_item *it)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    lleval_sb_addf(&sb, "%s first %u count %u v2 %d no_ans %d choice %d |", it->id, it->first,
                   it->count, it->v2, it->no_ans, it->gold_choice);
    for (uint32_t k = 0; k < it->count; k++) {
        struct lleval_norm v;
        lleval_gold_views(g, it->first + k, 1, &v);
        lleval_sb_addf(&sb, " [%.*s]", (int)v.text.len, v.text.buf);
        for (size_t t = 0; t < v.n_toks; t++)
            lleval_sb_addf(&sb, " %u+%u/%u", v.toks[t].off, v.toks[t].len, v.sorted[t]);
    }
    return lleval_sb_detach(&sb, NULL);
}

/* An item's golds are kept once normalized (a slot per line modulo 8192, the
 * first line keeps it): read again in other orders, more items than slots,
 * every item has what its first read computed (SQuAD 2.0 items, golds that
 * normalize to nothing, many golds, NFD). */
static void test_kept_golds(void **state)
{
    enum { N = 8192 + 500 };
    static const char *const schemes[] = {"squad", "nq"};
    char *dir = tu_tmpdir();
    char **first = lleval_xcalloc(N, sizeof(*first));
    uint64_t x = 0x2545F4914F6CDD1DULL;
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        struct lleval_sb text = LLEVAL_SB_INIT;
        struct gold_set *g;
        char *file, *p;
        for (long k = 0; k < N; k++) {
            lleval_sb_addf(&text,
                           "{\"id\": \"i%ld\", \"dataset\": \"many\", \"type\": \"closed_book\", "
                           "\"question\": \"Q?\", \"answers\": [\"The %ld Caf\\u00e9s\", \"%s\"",
                           k, k, k % 3 ? "a an the !" : "Cafe\\u0301 x");
            for (long a = 0; a < (k % 13 == 0 ? 70 : k % 4); a++)
                lleval_sb_addf(&text, ", \"w%ld %ld\"", a, k);
            lleval_sb_adds(&text, "]");
            if (k % 5 == 0)
                lleval_sb_addf(&text, ", \"unanswerable\": %s", k % 10 ? "true" : "false");
            lleval_sb_adds(&text, "}\n");
        }
        file = lleval_xasprintf("{\"dataset\": \"many\", \"type\": \"closed_book\", "
                                "\"scoring\": \"%s\", \"items\": %d}\n",
                                schemes[s], N);
        free(tu_write(dir, "many.jsonl", text.buf));
        free(tu_write(dir, "many.info.json", file));
        free(file);
        lleval_sb_release(&text);
        g = load(dir, "many");
        for (int pass = 0; pass < 4; pass++) {
            for (long i = 0; i < N; i++) {
                long k = pass == 1 ? N - 1 - i : i;
                char id[32];
                if (pass == 2) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    k = (long)(x % N);
                }
                snprintf(id, sizeof(id), "i%ld", k);
                assert_int_equal(find(g, id), k);
                p = golds_text(g, item(g, (size_t)k));
                if (!pass) {
                    /* its own golds, not those of a line sharing its slot */
                    char want[40];
                    snprintf(want, sizeof(want), " [%ld caf", k);
                    if (!(k % 5 == 0 && k % 10) && !strstr(p, want))
                        fail_msg("%s item %ld: %s", schemes[s], k, p);
                    free(first[k]);
                    first[k] = p;
                    continue;
                }
                if (strcmp(p, first[k]))
                    fail_msg("%s pass %d item %ld:\n%s\n!=\n%s", schemes[s], pass, k, p, first[k]);
                free(p);
            }
        }
        lleval_gold_free(g);
    }
    for (long k = 0; k < N; k++)
        free(first[k]);
    free(first);
    tu_rmtree(dir);
    free(dir);
}

/* Damaged prepared data is refused with a message naming the fix. */
static void test_refused(void **state)
{
    const size_t n = sizeof(qa_items) / sizeof(qa_items[0]);
    char *dir = tu_tmpdir();
    static const struct {
        const char *name;
        const char *scoring;
        long info_items;
        const char *extra;
        const char *msg;
    } cases[] = {
        {"count", "squad", 99, NULL, "its info file says 99"},
        {"scheme", "bleu", 5, NULL, "unknown scoring 'bleu'"},
        {"other", "squad", 6,
         "{\"id\": \"x\", \"dataset\": \"elsewhere\", \"type\": \"closed_book\", "
         "\"question\": \"Q?\", \"answers\": []}\n",
         "belongs to dataset 'elsewhere'"},
        {"broken", "squad", 6, "{\"id\": \"x\", \"dataset\": \"broken\", \"answ\n",
         "broken.jsonl:6:"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct gold_set *g = (struct gold_set *)1;
        struct lleval_err err = LLEVAL_ERR_INIT;
        int rc;
        write_prepared(dir, cases[c].name, "closed_book", cases[c].scoring, qa_items, n,
                       cases[c].extra, cases[c].info_items);
        rc = lleval_gold_load(dir, cases[c].name, &g, &err);
        if (rc != LLEVAL_EINVAL) {
            print_error("%s: rc %d (%s), want LLEVAL_EINVAL\n", cases[c].name, rc, err.msg);
            fail();
        }
        assert_null(g);
        tu_assert_contains(err.msg, cases[c].msg);
    }
    {
        struct gold_set *g = NULL;
        struct lleval_err err = LLEVAL_ERR_INIT;
        assert_true(lleval_gold_load(dir, "absent", &g, &err) < 0);
        assert_null(g);
        tu_assert_contains(err.msg, "prepare");
    }
    lleval_gold_free(NULL);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qa_fast_equals_full),
        cmocka_unit_test(test_mc),
        cmocka_unit_test(test_first_line_and_v2),
        cmocka_unit_test(test_kept_golds),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
