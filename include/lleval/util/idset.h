/*
 * A set of strings kept as 64-bit hashes (open addressing), with a 32-bit
 * value per entry: memory grows by 12-16 bytes per id, not by the id's
 * length, so parse and the journals stay small with millions of custom_ids.
 * Two different ids collide with a chance of about 3e-8 among a million.
 */
#ifndef LLEVAL_IDSET_H
#define LLEVAL_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lleval_idset {
    uint64_t *keys; /* 0 marks an empty slot */
    uint32_t *vals;
    size_t cap, n;
};

#define LLEVAL_IDSET_INIT {NULL, NULL, 0, 0}

/* The key of a string (never 0). */
uint64_t lleval_idset_hash(const char *s);
/* Inserts h with val unless present; returns its slot, *found says which. */
size_t lleval_idset_put(struct lleval_idset *s, uint64_t h, uint32_t val, bool *found);
/* The slot of h, or -1. */
long lleval_idset_find(const struct lleval_idset *s, uint64_t h);
/* Convenience: is the string in the set. */
bool lleval_idset_has(const struct lleval_idset *s, const char *id);
void lleval_idset_release(struct lleval_idset *s);

#endif
