/*
 * Synthesized models: small llama-architecture GGUF files with seeded random
 * weights and a SentencePiece-style vocabulary that llama.cpp's llama-server
 * loads, tokenizes with and generates from (gibberish, deterministically).
 * They let tests and demos run a real engine without downloading a model.
 * docs/gguf.md describes the design.
 *
 * Also: finding llama.cpp's tools (llama-quantize, llama-server) and running
 * llama-quantize on a synthesized file.
 */
#ifndef LLEVAL_SYNTH_H
#define LLEVAL_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"

/* Shape and contents of a synthesized model. 0 in ff / kv_heads means "derive". */
struct lleval_synth_opts {
    long layers;      /* llama.block_count (default 2) */
    long embd;        /* llama.embedding_length (default 64) */
    long heads;       /* llama.attention.head_count (default 4) */
    long kv_heads;    /* llama.attention.head_count_kv (0: heads) */
    long ff;          /* llama.feed_forward_length (0: 4 * embd rounded up to a multiple of 32) */
    long vocab;       /* tokens, at least LLEVAL_SYNTH_MIN_VOCAB (default 1024) */
    long ctx;         /* llama.context_length (default 2048) */
    uint32_t type;    /* LLEVAL_GGML_F32 or LLEVAL_GGML_F16 for the matrices (default F16) */
    uint64_t seed;    /* PRNG seed (default 42); the same options give the same bytes */
    const char *name; /* general.name (borrowed; NULL: "lleval-synth") */
};

/* <unk>, <s>, </s> and the 256 byte tokens. */
#define LLEVAL_SYNTH_MIN_VOCAB 259
#define LLEVAL_SYNTH_MAX_VOCAB 1000000

/* Fills o with the defaults. */
void lleval_synth_opts_init(struct lleval_synth_opts *o);

/* Fills the derived values (ff, kv_heads) and checks the shape: embd divisible
 * by heads, an even head dimension, heads divisible by kv_heads, ranges.
 * Returns 0 or LLEVAL_EINVAL naming the option to change. */
int lleval_synth_resolve(struct lleval_synth_opts *o, struct lleval_err *err);

/* Parameters (tensor elements) a resolved o gives. */
uint64_t lleval_synth_param_count(const struct lleval_synth_opts *o);

/*
 * The vocabulary of n tokens (ids as in the file): 0 <unk>, 1 <s>, 2 </s>,
 * 3..258 <0x00>..<0xFF> (byte tokens), then when room: <|im_start|>,
 * <|im_end|> (control tokens for the ChatML template), "▁", the printable
 * ASCII characters, every prefix of a list of English words with a leading
 * "▁", then filler pieces. token_type as llama.cpp's (1 normal, 2 unknown,
 * 3 control, 6 byte). All arrays are owned by the struct.
 */
struct lleval_synth_vocab {
    char **tokens;
    float *scores;
    int32_t *types;
    size_t n;
    size_t first_normal; /* id of the first normal token (n when none) */
};
void lleval_synth_vocab_build(struct lleval_synth_vocab *v, size_t n);
void lleval_synth_vocab_release(struct lleval_synth_vocab *v);

/* Writes the model described by a resolved o to path (atomically). */
int lleval_synth_write(const struct lleval_synth_opts *o, const char *path, struct lleval_err *err);

/*
 * Finds a llama.cpp tool ("llama-quantize", "llama-server"): explicit when not
 * NULL (a file, or a directory holding the tool), else $LLEVAL_LLAMA_BIN_DIR,
 * else the cache that scripts/provision-llama.sh fills
 * ($LLEVAL_CACHE or $XDG_CACHE_HOME/lleval or ~/.cache/lleval, then
 * llama.cpp-nlc-3.21.1/bin), else PATH. Returns an owned path or NULL.
 */
char *lleval_synth_find_tool(const char *name, const char *explicit_path);

/* Quantize types that `synth-model --quantize` accepts (lowercase, NULL-terminated). */
const char *const *lleval_synth_quant_types(void);

/*
 * Runs `tool in out TYPE` (llama-quantize; TYPE is qtype uppercased) without
 * a shell, its output going to a log that is quoted in the error on failure.
 * The result appears at out atomically. Returns 0, LLEVAL_EINVAL (unknown
 * type), LLEVAL_EIO or LLEVAL_EFAIL (the tool failed).
 */
int lleval_synth_quantize(const char *tool, const char *in, const char *out, const char *qtype,
                          struct lleval_err *err);

#endif
