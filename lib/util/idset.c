/* A set of 64-bit string hashes with open addressing (see idset.h). */
#include <stdlib.h>
#include <string.h>
#include "lleval/util/idset.h"
#include "lleval/util/util.h"

uint64_t lleval_idset_hash(const char *s)
{
    uint64_t h = lleval_hash64(s);
    return h ? h : 1;
}

static void grow(struct lleval_idset *s)
{
    struct lleval_idset big = LLEVAL_IDSET_INIT;
    bool found;
    big.cap = s->cap ? s->cap * 2 : 1024;
    big.keys = lleval_xcalloc(big.cap, sizeof(uint64_t));
    big.vals = lleval_xcalloc(big.cap, sizeof(uint32_t));
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i])
            lleval_idset_put(&big, s->keys[i], s->vals[i], &found);
    free(s->keys);
    free(s->vals);
    *s = big;
}

size_t lleval_idset_put(struct lleval_idset *s, uint64_t h, uint32_t val, bool *found)
{
    size_t i;
    if ((s->n + 1) * 4 >= s->cap * 3)
        grow(s);
    i = (size_t)h & (s->cap - 1);
    while (s->keys[i]) {
        if (s->keys[i] == h) {
            *found = true;
            return i;
        }
        i = (i + 1) & (s->cap - 1);
    }
    s->keys[i] = h;
    s->vals[i] = val;
    s->n++;
    *found = false;
    return i;
}

long lleval_idset_find(const struct lleval_idset *s, uint64_t h)
{
    size_t i;
    if (!s->cap)
        return -1;
    i = (size_t)h & (s->cap - 1);
    while (s->keys[i]) {
        if (s->keys[i] == h)
            return (long)i;
        i = (i + 1) & (s->cap - 1);
    }
    return -1;
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
