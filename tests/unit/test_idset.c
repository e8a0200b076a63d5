/*
 * Unit tests for the hash set of ids (lib/util/idset.c): put/find/has, the
 * value kept by the first put, growth past the load factor with every entry
 * still found, linear probing over colliding slots and around the end of the
 * table, and many ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/util/idset.h"
#include "lleval/util/util.h"

static void test_empty(void **state)
{
    struct lleval_idset s = LLEVAL_IDSET_INIT;
    (void)state;
    assert_int_equal(lleval_idset_find(&s, 1), -1);
    assert_int_equal(lleval_idset_find(&s, lleval_idset_hash("x")), -1);
    assert_false(lleval_idset_has(&s, "x"));
    lleval_idset_release(&s);
    lleval_idset_release(&s); /* twice is harmless */
    assert_null(s.keys);
    assert_int_equal(s.n, 0);
}

static void test_hash(void **state)
{
    static const char *const ids[] = {"", "a", "b", "nq_open:q-1", "nq_open:q-2", "squad:56be"};
    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        uint64_t h = lleval_idset_hash(ids[i]);
        assert_true(h != 0); /* 0 marks an empty slot */
        assert_true(h == lleval_idset_hash(ids[i]));
        for (size_t j = 0; j < i; j++)
            if (h == lleval_idset_hash(ids[j])) {
                print_error("'%s' and '%s' hash alike\n", ids[i], ids[j]);
                fail();
            }
    }
}

/* put: a new key is stored with its value; the same key again is found and keeps the first
 * value; find returns the slot put returned. */
static void test_put_find(void **state)
{
    struct lleval_idset s = LLEVAL_IDSET_INIT;
    static const char *const ids[] = {"ds:1", "ds:2", "ds:3", "other:1", "ds:10"};
    size_t slot[5];
    bool found;
    (void)state;
    for (uint32_t i = 0; i < 5; i++) {
        slot[i] = lleval_idset_put(&s, lleval_idset_hash(ids[i]), 100 + i, &found);
        assert_false(found);
        assert_int_equal(s.n, i + 1);
    }
    for (uint32_t i = 0; i < 5; i++) {
        long at = lleval_idset_find(&s, lleval_idset_hash(ids[i]));
        assert_int_equal(at, (long)slot[i]);
        assert_int_equal(s.vals[at], 100 + i);
        assert_true(lleval_idset_has(&s, ids[i]));
        /* again: found, value unchanged, no new entry */
        assert_int_equal(lleval_idset_put(&s, lleval_idset_hash(ids[i]), 999, &found), slot[i]);
        assert_true(found);
        assert_int_equal(s.vals[slot[i]], 100 + i);
        assert_int_equal(s.n, 5);
    }
    assert_false(lleval_idset_has(&s, "ds:4"));
    assert_false(lleval_idset_has(&s, "DS:1"));
    assert_false(lleval_idset_has(&s, ""));
    lleval_idset_release(&s);
}

/* The home slot of key h in a table of the initial capacity: where a table
 * holding only h stores it. Learnt from the set itself, so the test does not
 * depend on how the set mixes its keys. */
static size_t home_slot(uint64_t h, size_t *cap)
{
    struct lleval_idset one = LLEVAL_IDSET_INIT;
    bool found;
    size_t at = lleval_idset_put(&one, h, 0, &found);
    *cap = one.cap;
    lleval_idset_release(&one);
    return at;
}

/* Keys chosen to share one home slot, also the last slot so that probing
 * wraps to the start: each is stored in its own slot and found again, and
 * absent keys on the same chains are not found. */
static void test_collisions(void **state)
{
    struct lleval_idset s = LLEVAL_IDSET_INIT;
    uint64_t same[2][6]; /* [0]: home 7, [1]: home cap - 1; 5 stored, the 6th absent */
    size_t got[2] = {0, 0}, cap = 0, c;
    bool found;
    (void)state;

    home_slot(1, &cap);
    assert_true(cap >= 16 && (cap & (cap - 1)) == 0);
    for (uint64_t h = 1; (got[0] < 6 || got[1] < 6) && h < 10000000; h++) {
        size_t at = home_slot(h, &c);
        assert_int_equal(c, cap);
        if (at == 7 && got[0] < 6)
            same[0][got[0]++] = h;
        else if (at == cap - 1 && got[1] < 6)
            same[1][got[1]++] = h;
    }
    assert_int_equal(got[0], 6);
    assert_int_equal(got[1], 6);

    for (size_t b = 0; b < 2; b++)
        for (size_t k = 0; k < 5; k++) {
            size_t at = lleval_idset_put(&s, same[b][k], (uint32_t)(100 * b + k), &found);
            assert_false(found);
            assert_int_equal(s.keys[at], same[b][k]);
        }
    assert_int_equal(s.cap, cap); /* 10 entries: no growth yet */
    assert_int_equal(s.n, 10);
    /* the chain of the last slot wrapped to the start of the table */
    assert_int_equal(s.keys[cap - 1], same[1][0]);
    assert_true(s.keys[0] == same[1][1] || s.keys[0] == same[0][0]);
    for (size_t b = 0; b < 2; b++) {
        for (size_t k = 0; k < 5; k++) {
            long at = lleval_idset_find(&s, same[b][k]);
            assert_true(at >= 0);
            assert_int_equal(s.keys[at], same[b][k]);
            assert_int_equal(s.vals[at], 100 * b + k);
            lleval_idset_put(&s, same[b][k], 999, &found);
            assert_true(found);
        }
        assert_int_equal(lleval_idset_find(&s, same[b][5]), -1);
    }
    assert_int_equal(s.n, 10);
    lleval_idset_release(&s);
}

/* Growth: the table doubles before it is 3/4 full, and every entry survives the rehash with its
 * value; many ids (300,000) all found, absent ones not. */
static void test_growth_and_many(void **state)
{
    static const size_t counts[] = {1, 767, 768, 769, 1536, 5000, 300000};
    (void)state;
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        struct lleval_idset s = LLEVAL_IDSET_INIT;
        size_t n = counts[c], grows = 0, last_cap = 0;
        char id[64];
        bool found;
        for (size_t i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "sample_closed:item-%zu", i);
            lleval_idset_put(&s, lleval_idset_hash(id), (uint32_t)i, &found);
            if (found) {
                print_error("n %zu: '%s' reported present on its first put\n", n, id);
                fail();
            }
            if (s.cap != last_cap) {
                grows++;
                last_cap = s.cap;
            }
            if (s.n * 4 >= s.cap * 3) {
                print_error("n %zu: %zu entries in %zu slots: past the load factor\n", n, s.n,
                            s.cap);
                fail();
            }
        }
        assert_int_equal(s.n, n);
        assert_true(grows >= 1);
        for (size_t i = 0; i < n; i++) {
            long at;
            snprintf(id, sizeof(id), "sample_closed:item-%zu", i);
            at = lleval_idset_find(&s, lleval_idset_hash(id));
            if (at < 0 || s.vals[at] != (uint32_t)i) {
                print_error("n %zu: '%s' at %ld with value %u, want value %zu\n", n, id, at,
                            at < 0 ? 0u : s.vals[at], i);
                fail();
            }
        }
        for (size_t i = n; i < n + 1000; i++) {
            snprintf(id, sizeof(id), "sample_closed:item-%zu", i);
            assert_false(lleval_idset_has(&s, id));
        }
        lleval_idset_release(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_hash),
        cmocka_unit_test(test_put_find),        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_growth_and_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
