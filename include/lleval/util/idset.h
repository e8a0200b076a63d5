/*
 * The hash set of the tree: 64-bit keys with a 32-bit value each, in one
 * open-addressing table (linear probing, at most 3/4 full, doubling).
 *
 * Keys are hashes the caller makes, usually lleval_idset_hash() of a string.
 * Two ways to use it:
 *  - as a set of hashes (lleval_idset_put/find/has): the strings themselves
 *    are not kept, so memory grows by 12-16 bytes per key, not by the key's
 *    length (parse and the journals stay small with millions of custom_ids).
 *    Two different strings collide with a chance of about 3e-8 among a
 *    million, and then count as one.
 *  - as an exact index (lleval_idset_add/next): the caller keeps its keys
 *    (strings, tokens, bins) in its own array, adds (hash, index) pairs, and
 *    compares the real keys of the entries lleval_idset_next() yields for a
 *    hash: collisions cost one comparison, never a wrong answer.
 *
 * Key 0 marks an empty slot: the functions map a key of 0 to 1, so every
 * uint64_t can be passed. Entries are never removed.
 */
#ifndef LLEVAL_IDSET_H
#define LLEVAL_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lleval_idset {
    uint64_t *keys; /* cap slots; 0 marks an empty slot */
    uint32_t *vals; /* the value of each slot */
    size_t cap, n;  /* cap is 0 or a power of two; n entries */
};

#define LLEVAL_IDSET_INIT                                                                          \
    {                                                                                              \
        NULL, NULL, 0, 0                                                                           \
    }

/* The key of a string (lleval_hash64(); never 0). */
uint64_t lleval_idset_hash(const char *s);
/* Makes room for n entries in all without growing on the way. */
void lleval_idset_reserve(struct lleval_idset *s, size_t n);
/* Inserts h with val unless present; returns its slot, *found says which. */
size_t lleval_idset_put(struct lleval_idset *s, uint64_t h, uint32_t val, bool *found);
/* Inserts h with val even when h is present (an exact index: see above). */
void lleval_idset_add(struct lleval_idset *s, uint64_t h, uint32_t val);
/* The slot of h (the first added, for a set that only used put), or -1.
 * A slot stays valid until the next insertion. */
long lleval_idset_find(const struct lleval_idset *s, uint64_t h);
/*
 * Yields the values added under h one by one, in no particular order: start
 * with *pos = 0 and call while it returns true (it sets *val). Typical use:
 *   for (size_t pos = 0; lleval_idset_next(s, h, &pos, &v);)
 *       if (!strcmp(items[v].key, key)) return v;
 */
bool lleval_idset_next(const struct lleval_idset *s, uint64_t h, size_t *pos, uint32_t *val);
/* Convenience: is the string's hash in the set. */
bool lleval_idset_has(const struct lleval_idset *s, const char *id);
/* Frees the table; s is empty and reusable. */
void lleval_idset_release(struct lleval_idset *s);

#endif
