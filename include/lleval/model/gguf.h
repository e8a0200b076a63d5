/*
 * GGUF model files (llama.cpp's format): a bounds-checked reader of the
 * header, the metadata and the tensor infos (never the tensor data, so a
 * many-GB file costs a few MB), split files (`name-00001-of-00003.gguf`),
 * summaries for `lleval gguf info` and the VRAM planner, and a streaming
 * writer used by `lleval synth-model`.
 *
 * Every read is checked against the file size: a truncated or corrupt file
 * gives an error like "'m.gguf': truncated at offset 812 while reading tensor
 * info 3 ('blk.0.attn_q.weight'): dimension 1: ...", never a crash. Lengths and counts from the
 * file are capped before anything is allocated.
 *
 * Ownership: struct lleval_gguf owns everything it points to;
 * lleval_gguf_release() frees it. Getters return borrowed pointers that live
 * as long as the struct.
 */
#ifndef LLEVAL_GGUF_H
#define LLEVAL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"

/* ggml tensor types, numbered as in ggml.h (ids 4, 5, 31-33, 36-38 were removed). */
enum lleval_ggml_type {
    LLEVAL_GGML_F32 = 0,
    LLEVAL_GGML_F16 = 1,
    LLEVAL_GGML_Q4_0 = 2,
    LLEVAL_GGML_Q4_1 = 3,
    LLEVAL_GGML_Q5_0 = 6,
    LLEVAL_GGML_Q5_1 = 7,
    LLEVAL_GGML_Q8_0 = 8,
    LLEVAL_GGML_Q8_1 = 9,
    LLEVAL_GGML_Q2_K = 10,
    LLEVAL_GGML_Q3_K = 11,
    LLEVAL_GGML_Q4_K = 12,
    LLEVAL_GGML_Q5_K = 13,
    LLEVAL_GGML_Q6_K = 14,
    LLEVAL_GGML_Q8_K = 15,
    LLEVAL_GGML_IQ2_XXS = 16,
    LLEVAL_GGML_IQ2_XS = 17,
    LLEVAL_GGML_IQ3_XXS = 18,
    LLEVAL_GGML_IQ1_S = 19,
    LLEVAL_GGML_IQ4_NL = 20,
    LLEVAL_GGML_IQ3_S = 21,
    LLEVAL_GGML_IQ2_S = 22,
    LLEVAL_GGML_IQ4_XS = 23,
    LLEVAL_GGML_I8 = 24,
    LLEVAL_GGML_I16 = 25,
    LLEVAL_GGML_I32 = 26,
    LLEVAL_GGML_I64 = 27,
    LLEVAL_GGML_F64 = 28,
    LLEVAL_GGML_IQ1_M = 29,
    LLEVAL_GGML_BF16 = 30,
    LLEVAL_GGML_TQ1_0 = 34,
    LLEVAL_GGML_TQ2_0 = 35,
    LLEVAL_GGML_MXFP4 = 39,
    LLEVAL_GGML_NVFP4 = 40,
    LLEVAL_GGML_Q1_0 = 41,
    LLEVAL_GGML_Q2_0 = 42,
    LLEVAL_GGML_TYPE_COUNT = 43,
};

/* A ggml type's storage: elements per block and bytes per block. */
struct lleval_ggml_type_info {
    const char *name;    /* "Q4_K", "F16", "IQ2_XXS", ... */
    uint32_t block_size; /* elements per block */
    uint32_t type_size;  /* bytes per block */
};

/* Returns the static info of a type id, or NULL for an unknown or removed id. */
const struct lleval_ggml_type_info *lleval_ggml_type_info(uint32_t type);
/* The type's name, or "type<N>" in buf for an unknown id. */
const char *lleval_ggml_type_name(uint32_t type, char *buf, size_t size);
/* Parses a name like "q8_0" or "F16" (case-insensitive). Returns 0 or LLEVAL_EINVAL. */
int lleval_ggml_type_parse(const char *name, uint32_t *out);
/* Bytes that n_elements of type take; false when the type is unknown, n is not a
 * multiple of the block size, or the size overflows. */
bool lleval_ggml_nbytes(uint32_t type, uint64_t n_elements, uint64_t *out);

/* Metadata value types, numbered as in the file. */
enum lleval_gguf_vtype {
    LLEVAL_GGUF_U8 = 0,
    LLEVAL_GGUF_I8 = 1,
    LLEVAL_GGUF_U16 = 2,
    LLEVAL_GGUF_I16 = 3,
    LLEVAL_GGUF_U32 = 4,
    LLEVAL_GGUF_I32 = 5,
    LLEVAL_GGUF_F32 = 6,
    LLEVAL_GGUF_BOOL = 7,
    LLEVAL_GGUF_STRING = 8,
    LLEVAL_GGUF_ARRAY = 9,
    LLEVAL_GGUF_U64 = 10,
    LLEVAL_GGUF_I64 = 11,
    LLEVAL_GGUF_F64 = 12,
    LLEVAL_GGUF_VTYPE_COUNT = 13,
};

/* "u32", "string", "array", ... */
const char *lleval_gguf_vtype_name(enum lleval_gguf_vtype t);

/* A string from the file: NUL-terminated copy; len counts bytes (it may hold NULs). */
struct lleval_gguf_str {
    char *s;
    uint64_t len;
};

/*
 * One metadata key/value. Scalars live in `v`: integers in v.u (unsigned) or
 * v.i (signed), floats in v.f, bools in v.b, strings in v.str. Arrays (no
 * nested arrays) keep arr_n elements of arr_type in `arr`: a packed host-order
 * array of the element type (uint8_t, int16_t, float, double, ... bool as
 * uint8_t), or struct lleval_gguf_str[] for strings.
 */
struct lleval_gguf_kv {
    char *key;
    enum lleval_gguf_vtype type;
    union {
        uint64_t u;
        int64_t i;
        double f;
        bool b;
        struct lleval_gguf_str str;
    } v;
    enum lleval_gguf_vtype arr_type;
    uint64_t arr_n;
    void *arr;
};

#define LLEVAL_GGUF_MAX_DIMS 4

/* One tensor info. Unused dimensions are 1. */
struct lleval_gguf_tensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[LLEVAL_GGUF_MAX_DIMS];
    uint32_t type;   /* enum lleval_ggml_type */
    uint64_t offset; /* from the start of its part's data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    uint32_t part; /* index of the split part that holds the data (0 when not split) */
};

struct lleval_gguf {
    char *path;                /* the path given to open (or the buffer's name) */
    uint32_t version;          /* 2 or 3 */
    uint32_t alignment;        /* general.alignment or 32 */
    uint64_t data_offset;      /* where the first part's tensor data starts */
    uint64_t file_size;        /* all parts together */
    struct lleval_gguf_kv *kv; /* the first part's metadata, in file order */
    size_t n_kv;
    struct lleval_gguf_tensor *tensors; /* every part's tensors, in order */
    size_t n_tensors;
    char **part_paths; /* n_parts paths (one when not split) */
    uint32_t n_parts;
};

/* Caps on what a file may claim, checked before anything is allocated. */
#define LLEVAL_GGUF_MAX_KEY_LEN    65535u
#define LLEVAL_GGUF_MAX_STRING_LEN (64u << 20)
#define LLEVAL_GGUF_MAX_NAME_LEN   4096u
#define LLEVAL_GGUF_MAX_ARRAY_N    (1ull << 28)
#define LLEVAL_GGUF_MAX_KV         (1ull << 20)
#define LLEVAL_GGUF_MAX_TENSORS    (1ull << 24)
#define LLEVAL_GGUF_MAX_PARTS      999u

/*
 * Opens a GGUF file and reads its header, metadata and tensor infos. A split
 * file (any part of `x-0000N-of-0000M.gguf`, or a file whose split.count > 1)
 * opens every part and merges their tensors. Checks that every tensor's data
 * lies inside its file. Returns 0, LLEVAL_EIO (cannot open/read) or
 * LLEVAL_EINVAL (not GGUF, truncated, corrupt) with a message naming the file
 * and the offset. On failure g is left empty (release is still fine).
 */
int lleval_gguf_open(struct lleval_gguf *g, const char *path, struct lleval_err *err);

/* Parses a GGUF image held in memory (borrowed; one part, no split handling),
 * named `name` in messages. For fuzzing and tests. */
int lleval_gguf_parse_mem(struct lleval_gguf *g, const void *data, size_t len, const char *name,
                          struct lleval_err *err);

/* Frees everything g owns and zeroes it. */
void lleval_gguf_release(struct lleval_gguf *g);

/* The key/value named key, or NULL. */
const struct lleval_gguf_kv *lleval_gguf_find(const struct lleval_gguf *g, const char *key);
/* String value of key (borrowed), or NULL when absent or not a string. */
const char *lleval_gguf_get_str(const struct lleval_gguf *g, const char *key);
/* Integer (or bool) value of key that is >= 0; false when absent, negative or not an integer. */
bool lleval_gguf_get_uint(const struct lleval_gguf *g, const char *key, uint64_t *out);
/* Number (float or integer) value of key; false when absent or not a number. */
bool lleval_gguf_get_float(const struct lleval_gguf *g, const char *key, double *out);
/* Array value of key: returns the kv (borrowed) and sets *elem_type and *n, or NULL. */
const struct lleval_gguf_kv *lleval_gguf_get_arr(const struct lleval_gguf *g, const char *key,
                                                 enum lleval_gguf_vtype *elem_type, uint64_t *n);
/* Element i of an array kv as an unsigned integer / number / string (borrowed).
 * False (NULL) when i is out of range or the element type does not fit. */
bool lleval_gguf_arr_uint(const struct lleval_gguf_kv *kv, uint64_t i, uint64_t *out);
bool lleval_gguf_arr_float(const struct lleval_gguf_kv *kv, uint64_t i, double *out);
const struct lleval_gguf_str *lleval_gguf_arr_str(const struct lleval_gguf_kv *kv, uint64_t i);

/* general.architecture (borrowed), or NULL. */
const char *lleval_gguf_arch(const struct lleval_gguf *g);
/* "<arch>.<suffix>" as an unsigned integer; a per-layer array gives its largest
 * element. False when absent. */
bool lleval_gguf_get_arch_uint(const struct lleval_gguf *g, const char *suffix, uint64_t *out);

/* The tensor named name, or NULL. */
const struct lleval_gguf_tensor *lleval_gguf_tensor(const struct lleval_gguf *g, const char *name);

/* Bytes and tensor count of one ggml type in a file. */
struct lleval_gguf_type_stat {
    uint32_t type;
    uint64_t n_tensors;
    uint64_t n_bytes;
    uint64_t n_elements;
};

/* Fills out[] (room for LLEVAL_GGML_TYPE_COUNT) with the types present, largest
 * byte count first; returns how many. */
size_t lleval_gguf_type_mix(const struct lleval_gguf *g, struct lleval_gguf_type_stat *out);

/* What `gguf info` shows and the VRAM planner needs. 0 means unknown. */
struct lleval_gguf_summary {
    const char *arch;      /* borrowed; NULL when absent */
    const char *name;      /* general.name, borrowed; NULL when absent */
    uint64_t n_params;     /* sum of every tensor's elements */
    uint64_t tensor_bytes; /* sum of every tensor's bytes */
    uint64_t file_size;
    uint64_t n_tensors;
    uint64_t context_length; /* <arch>.context_length */
    uint64_t embedding;      /* <arch>.embedding_length */
    uint64_t layers;         /* <arch>.block_count */
    uint64_t heads;          /* <arch>.attention.head_count (largest per layer) */
    uint64_t kv_heads;       /* <arch>.attention.head_count_kv, else heads */
    uint64_t head_dim;       /* <arch>.attention.key_length, else embedding / heads */
    uint64_t feed_forward;   /* <arch>.feed_forward_length */
    uint64_t vocab_size;     /* <arch>.vocab_size, tokenizer.ggml.tokens, or token_embd rows */
    bool has_file_type;
    uint64_t file_type; /* general.file_type (llama_ftype) */
};
void lleval_gguf_summarize(const struct lleval_gguf *g, struct lleval_gguf_summary *s);

/* "MOSTLY_Q4_K_M"-style name of a general.file_type value without the prefix
 * ("Q4_K_M", "F16", ...), or NULL when unknown. */
const char *lleval_gguf_file_type_name(uint64_t file_type);

/* Formats a count the short way: "950", "4.2 K", "1.24 B" (three significant digits). */
const char *lleval_gguf_fmt_count(char *buf, size_t size, uint64_t n);
/* Formats bytes: "812 B", "1.7 MiB", "4.58 GiB". */
const char *lleval_gguf_fmt_bytes(char *buf, size_t size, uint64_t n);

/*
 * Writer: collects metadata and tensor infos, then streams tensor data to a
 * temporary file that replaces `path` atomically on lleval_gguf_writer_end().
 *
 *     struct lleval_gguf_writer *w = lleval_gguf_writer_new();
 *     lleval_gguf_writer_set_str(w, "general.architecture", "llama");
 *     lleval_gguf_writer_add_tensor(w, "x", 2, ne, LLEVAL_GGML_F32, &err);
 *     lleval_gguf_writer_begin(w, path, &err);      header, metadata, infos
 *     lleval_gguf_writer_data(w, bytes, n, &err);   tensor data in order, any chunking
 *     lleval_gguf_writer_end(w, &err);              checks, fsync, rename
 *     lleval_gguf_writer_free(w);                   removes the temp file if not ended
 *
 * Setters copy their arguments; setting a key again replaces its value.
 */
struct lleval_gguf_writer;

struct lleval_gguf_writer *lleval_gguf_writer_new(void);
void lleval_gguf_writer_free(struct lleval_gguf_writer *w);

void lleval_gguf_writer_set_u32(struct lleval_gguf_writer *w, const char *key, uint32_t v);
void lleval_gguf_writer_set_i32(struct lleval_gguf_writer *w, const char *key, int32_t v);
void lleval_gguf_writer_set_u64(struct lleval_gguf_writer *w, const char *key, uint64_t v);
void lleval_gguf_writer_set_f32(struct lleval_gguf_writer *w, const char *key, float v);
void lleval_gguf_writer_set_bool(struct lleval_gguf_writer *w, const char *key, bool v);
void lleval_gguf_writer_set_str(struct lleval_gguf_writer *w, const char *key, const char *v);
void lleval_gguf_writer_set_arr_str(struct lleval_gguf_writer *w, const char *key,
                                    const char *const *v, size_t n);
void lleval_gguf_writer_set_arr_f32(struct lleval_gguf_writer *w, const char *key, const float *v,
                                    size_t n);
void lleval_gguf_writer_set_arr_i32(struct lleval_gguf_writer *w, const char *key, const int32_t *v,
                                    size_t n);
/* Alignment of the data section and of every tensor (power of two; default 32).
 * Also written as general.alignment. */
int lleval_gguf_writer_set_alignment(struct lleval_gguf_writer *w, uint32_t alignment,
                                     struct lleval_err *err);

/* Declares the next tensor (data comes in declaration order). Fails when the
 * type is unknown, ne[0] is not a multiple of its block size, or the name is
 * empty, too long or taken. */
int lleval_gguf_writer_add_tensor(struct lleval_gguf_writer *w, const char *name, uint32_t n_dims,
                                  const int64_t *ne, uint32_t type, struct lleval_err *err);
/* Bytes the data of tensor i takes (without padding). */
uint64_t lleval_gguf_writer_tensor_bytes(const struct lleval_gguf_writer *w, size_t i);

/* Opens a temporary file beside path and writes everything before the data. */
int lleval_gguf_writer_begin(struct lleval_gguf_writer *w, const char *path,
                             struct lleval_err *err);
/* Appends tensor data; a chunk may span tensors. Padding is inserted between tensors. */
int lleval_gguf_writer_data(struct lleval_gguf_writer *w, const void *data, size_t len,
                            struct lleval_err *err);
/* Checks that every tensor got all of its bytes, syncs, and renames into place. */
int lleval_gguf_writer_end(struct lleval_gguf_writer *w, struct lleval_err *err);

#endif
