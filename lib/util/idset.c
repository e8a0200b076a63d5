/* The hash set of 64-bit keys with open addressing (see idset.h). */
#include <stdlib.h>
#include <string.h>
#include "lleval/util/idset.h"
#include "lleval/util/util.h"

#define MIN_CAP 16

uint64_t lleval_idset_hash(const char *s)
{
    uint64_t h = lleval_hash64(s);
    return h ? h : 1;
}

static uint64_t key_of(uint64_t h)
{
    return h ? h : 1;
}

/* The home slot of key h: a multiplicative mix, so keys that are small
 * integers (not hashes) spread over the table too. */
static size_t home(const struct lleval_idset *s, uint64_t h)
{
    return (size_t)((h * 0x9E3779B97F4A7C15ULL) >> 24) & (s->cap - 1);
}

/* Puts (h, val) in the first empty slot from h's home; returns the slot. */
static size_t place(struct lleval_idset *s, uint64_t h, uint32_t val)
{
    size_t i = home(s, h);
    while (s->keys[i])
        i = (i + 1) & (s->cap - 1);
    s->keys[i] = h;
    s->vals[i] = val;
    s->n++;
    return i;
}

/* Rehashes into a table of cap slots (a power of two that holds n). */
static void rehash(struct lleval_idset *s, size_t cap)
{
    struct lleval_idset big = LLEVAL_IDSET_INIT;
    big.cap = cap;
    big.keys = lleval_xcalloc(big.cap, sizeof(uint64_t));
    big.vals = lleval_xcalloc(big.cap, sizeof(uint32_t));
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i])
            place(&big, s->keys[i], s->vals[i]);
    free(s->keys);
    free(s->vals);
    *s = big;
}

/* Keeps the table at most 3/4 full with n entries. */
static void make_room(struct lleval_idset *s, size_t n)
{
    size_t cap = s->cap ? s->cap : MIN_CAP;
    while (n * 4 >= cap * 3)
        cap *= 2;
    if (cap != s->cap)
        rehash(s, cap);
}

void lleval_idset_reserve(struct lleval_idset *s, size_t n)
{
    make_room(s, n);
}

size_t lleval_idset_put(struct lleval_idset *s, uint64_t h, uint32_t val, bool *found)
{
    long at;
    h = key_of(h);
    at = lleval_idset_find(s, h);
    if (at >= 0) {
        *found = true;
        return (size_t)at;
    }
    make_room(s, s->n + 1);
    *found = false;
    return place(s, h, val);
}

void lleval_idset_add(struct lleval_idset *s, uint64_t h, uint32_t val)
{
    make_room(s, s->n + 1);
    place(s, key_of(h), val);
}

long lleval_idset_find(const struct lleval_idset *s, uint64_t h)
{
    size_t i;
    if (!s->cap)
        return -1;
    h = key_of(h);
    for (i = home(s, h); s->keys[i]; i = (i + 1) & (s->cap - 1))
        if (s->keys[i] == h)
            return (long)i;
    return -1;
}

bool lleval_idset_next(const struct lleval_idset *s, uint64_t h, size_t *pos, uint32_t *val)
{
    size_t i;
    if (!s->cap)
        return false;
    h = key_of(h);
    /* *pos counts the slots already probed from h's home */
    for (i = (home(s, h) + *pos) & (s->cap - 1); s->keys[i]; i = (i + 1) & (s->cap - 1)) {
        (*pos)++;
        if (s->keys[i] == h) {
            *val = s->vals[i];
            return true;
        }
    }
    return false;
}

bool lleval_idset_has(const struct lleval_idset *s, const char *id)
{
    return lleval_idset_find(s, lleval_idset_hash(id)) >= 0;
}

void lleval_idset_release(struct lleval_idset *s)
{
    free(s->keys);
    free(s->vals);
    memset(s, 0, sizeof(*s));
}
