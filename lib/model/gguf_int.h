/*
 * Internal to lib/model: what the GGUF reader (gguf.c) and the GGUF queries
 * (gguf_info.c) share.
 */
#ifndef LLEVAL_MODEL_GGUF_INT_H
#define LLEVAL_MODEL_GGUF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/model/gguf.h"

/* The unsigned integer in the n little-endian bytes at b. */
uint64_t lleval_gguf_le(const unsigned char *b, int n);

/* Bytes of one element of a fixed-size value type; 0 for string and array. */
size_t lleval_gguf_vtype_size(enum lleval_gguf_vtype t);

/* The first of n key/values named key, or NULL. Borrows kv; the result points into it. */
const struct lleval_gguf_kv *lleval_gguf_find_kv(const struct lleval_gguf_kv *kv, size_t n,
                                                 const char *key);

/* An unsigned or non-negative signed integer value of any width. */
bool lleval_gguf_kv_uint(const struct lleval_gguf_kv *kv, uint64_t *out);

/* Sets kv's scalar value of type t from its little-endian bytes b. */
void lleval_gguf_set_scalar(struct lleval_gguf_kv *kv, enum lleval_gguf_vtype t,
                            const unsigned char *b);

#endif
