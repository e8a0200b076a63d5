/*
 * Synthesized llama models for tests and demos: a SentencePiece-style
 * vocabulary, seeded random weights (splitmix64, never rand()), the metadata
 * llama.cpp's llama architecture needs, and a ChatML chat template. Also
 * finds llama.cpp's tools and runs llama-quantize on the result.
 *
 * Design notes (docs/gguf.md has the user-facing version):
 *  - the rows of output.weight for control tokens and for byte tokens other
 *    than printable ASCII are zero, so their logits are 0 while the others get
 *    logits of a few units: greedy and top-k sampling produce printable text,
 *    never broken UTF-8 or </s>; a generation therefore always runs to its
 *    token limit (or a stop string);
 *  - matrices are uniform in +-1/sqrt(fan_in) (embeddings +-1, norms 1), so
 *    activations stay O(1) and F16 never overflows;
 *  - every tensor has its own PRNG stream (seed, tensor index), so a shape
 *    change elsewhere does not change a tensor's values.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/platform/platform.h"
#include "lleval/model/synth.h"
#include "lleval/util/idset.h"
#include "lleval/util/util.h"

/* ---- options --------------------------------------------------------------- */

void lleval_synth_opts_init(struct lleval_synth_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->layers = 2;
    o->embd = 64;
    o->heads = 4;
    o->vocab = 1024;
    o->ctx = 2048;
    o->type = LLEVAL_GGML_F16;
    o->seed = 42;
}

int lleval_synth_resolve(struct lleval_synth_opts *o, struct lleval_err *err)
{
    if (o->layers < 1 || o->layers > 512)
        return lleval_err_set(err, LLEVAL_EINVAL, "--layers %ld is out of range (1 to 512)",
                              o->layers);
    if (o->embd < 2 || o->embd > 65536)
        return lleval_err_set(err, LLEVAL_EINVAL, "--embd %ld is out of range (2 to 65536)",
                              o->embd);
    if (o->heads < 1 || o->heads > o->embd || o->embd % o->heads)
        return lleval_err_set(
            err, LLEVAL_EINVAL,
            "--heads %ld must divide --embd %ld (the head dimension is embd/heads)", o->heads,
            o->embd);
    if ((o->embd / o->heads) % 2)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "head dimension %ld (--embd %ld / --heads %ld) must be even for RoPE",
                              o->embd / o->heads, o->embd, o->heads);
    if (!o->kv_heads)
        o->kv_heads = o->heads;
    if (o->kv_heads < 1 || o->kv_heads > o->heads || o->heads % o->kv_heads)
        return lleval_err_set(err, LLEVAL_EINVAL, "--kv-heads %ld must divide --heads %ld",
                              o->kv_heads, o->heads);
    if (!o->ff)
        o->ff = (4 * o->embd + 31) / 32 * 32;
    if (o->ff < 1 || o->ff > (1L << 20))
        return lleval_err_set(err, LLEVAL_EINVAL, "--ff %ld is out of range (1 to %ld)", o->ff,
                              1L << 20);
    if (o->vocab < LLEVAL_SYNTH_MIN_VOCAB || o->vocab > LLEVAL_SYNTH_MAX_VOCAB)
        return lleval_err_set(
            err, LLEVAL_EINVAL,
            "--vocab %ld is out of range (%d: 3 special and 256 byte tokens, to %d)", o->vocab,
            LLEVAL_SYNTH_MIN_VOCAB, LLEVAL_SYNTH_MAX_VOCAB);
    if (o->ctx < 1 || o->ctx > (1L << 24))
        return lleval_err_set(err, LLEVAL_EINVAL, "--ctx %ld is out of range (1 to %ld)", o->ctx,
                              1L << 24);
    if (o->type != LLEVAL_GGML_F32 && o->type != LLEVAL_GGML_F16)
        return lleval_err_set(err, LLEVAL_EINVAL, "--type must be f32 or f16");
    {
        /* A sanity bound: this is for tests and demos, not for faking big models. */
        uint64_t bytes = lleval_synth_param_count(o) * (o->type == LLEVAL_GGML_F32 ? 4 : 2);
        if (bytes > (64ull << 30))
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "the model would take %" PRIu64
                                  " GiB; make it smaller (at most 64 GiB)",
                                  bytes >> 30);
    }
    return 0;
}

uint64_t lleval_synth_param_count(const struct lleval_synth_opts *o)
{
    uint64_t e = (uint64_t)o->embd, v = (uint64_t)o->vocab, ff = (uint64_t)o->ff;
    uint64_t kv = (uint64_t)o->kv_heads * (e / (uint64_t)o->heads);
    uint64_t layer = 2 * e + 2 * e * e + 2 * e * kv + 3 * e * ff;
    return 2 * v * e + e + (uint64_t)o->layers * layer;
}

/* ---- vocabulary ------------------------------------------------------------------ */

/* Frequent English words, and words that QA prompts and answers use. */
static const char *const words[] = {
    "the",       "of",         "and",        "to",        "in",          "is",       "was",
    "that",      "for",        "on",         "as",        "with",        "by",       "he",
    "The",       "What",       "Who",        "When",      "Where",       "Which",    "How",
    "In",        "It",         "A",          "Answer",    "Question",    "it",       "at",
    "from",      "his",        "an",         "are",       "were",        "which",    "be",
    "this",      "has",        "had",        "or",        "not",         "but",      "its",
    "first",     "their",      "also",       "they",      "after",       "new",      "been",
    "one",       "who",        "have",       "two",       "her",         "she",      "there",
    "all",       "more",       "when",       "into",      "other",       "time",     "year",
    "years",     "can",        "only",       "would",     "most",        "some",     "may",
    "many",      "such",       "than",       "over",      "city",        "world",    "state",
    "used",      "during",     "known",      "about",     "three",       "later",    "between",
    "where",     "these",      "under",      "what",      "how",         "why",      "many",
    "much",      "name",       "called",     "people",    "number",      "part",     "school",
    "war",       "country",    "government", "united",    "states",      "american", "national",
    "history",   "family",     "music",      "film",      "game",        "team",     "season",
    "river",     "water",      "earth",      "life",      "king",        "church",   "century",
    "area",      "house",      "system",     "group",     "company",     "language", "answer",
    "question",  "context",    "choice",     "choices",   "correct",     "true",     "false",
    "yes",       "no",         "none",       "both",      "each",        "every",    "because",
    "therefore", "however",    "before",     "since",     "until",       "while",    "though",
    "again",     "still",      "then",       "now",       "here",        "very",     "well",
    "good",      "great",      "small",      "large",     "long",        "short",    "high",
    "low",       "old",        "young",      "early",     "late",        "same",     "different",
    "important", "public",     "general",    "political", "social",      "major",    "main",
    "best",      "north",      "south",      "east",      "west",        "english",  "french",
    "german",    "british",    "european",   "london",    "paris",       "york",     "france",
    "england",   "china",      "india",      "japan",     "africa",      "europe",   "president",
    "minister",  "university", "college",    "science",   "energy",      "power",    "law",
    "court",     "money",      "market",     "price",     "day",         "days",     "week",
    "month",     "hour",       "today",      "born",      "died",        "made",     "make",
    "took",      "take",       "gave",       "give",      "said",        "say",      "found",
    "find",      "became",     "become",     "began",     "begin",       "led",      "lead",
    "won",       "win",        "wrote",      "write",     "built",       "build",    "is",
    "am",        "do",         "does",       "did",       "will",        "should",   "could",
    "might",     "must",       "we",         "you",       "your",        "our",      "us",
    "him",       "them",       "my",         "me",        "i",           "a",        "if",
    "so",        "up",         "out",        "down",      "off",         "back",     "just",
    "like",      "than",       "any",        "own",       "through",     "against",  "around",
    "without",   "within",     "along",      "among",     "above",       "below",    "near",
    "far",       "left",       "right",      "side",      "end",         "point",    "place",
    "way",       "form",       "line",       "level",     "order",       "case",     "fact",
    "result",    "example",    "reason",     "problem",   "information", "data",     "model",
    "test",      "book",       "word",       "words",     "text",        "one",      "zero",
    "four",      "five",       "six",        "seven",     "eight",       "nine",     "ten",
    "hundred",   "thousand",   "million",    "percent",   "red",         "blue",     "green",
    "black",     "white",      "light",      "dark",      "sun",         "moon",     "star",
    "sea",       "land",       "island",     "mountain",  "lake",        "road",     "town",
    "village",   "food",       "body",       "health",    "disease",     "animal",   "plant",
    "species",   "cell",       "human",      "man",       "woman",       "men",      "women",
    "child",     "children",   "father",     "mother",    "son",         "daughter", "brother",
    "sister",    "friend",     "work",       "play",      "art",         "design",   "computer",
    "network",   "software",   "internet",
};

#define SPACE_PIECE "\xe2\x96\x81" /* U+2581, SentencePiece's word boundary */

struct vocab_builder {
    struct lleval_synth_vocab *v;
    size_t want;
    struct lleval_idset set; /* token hash -> index in v->tokens, to keep tokens unique */
};

/* True when text is already a token of the vocabulary being built. */
static bool vb_has(const struct vocab_builder *b, const char *text, uint64_t h)
{
    uint32_t k;
    for (size_t pos = 0; lleval_idset_next(&b->set, h, &pos, &k);)
        if (!strcmp(b->v->tokens[k], text))
            return true;
    return false;
}

/* Appends a token (copied) when there is room and it is new. */
static void vb_add(struct vocab_builder *b, const char *text, int32_t type)
{
    struct lleval_synth_vocab *v = b->v;
    uint64_t h = lleval_idset_hash(text);
    char *copy;
    if (v->n >= b->want || vb_has(b, text, h))
        return;
    copy = lleval_xstrdup(text);
    lleval_idset_add(&b->set, h, (uint32_t)v->n);
    if (type == 1 && v->first_normal == b->want)
        v->first_normal = v->n;
    v->tokens[v->n] = copy;
    v->types[v->n] = type;
    /* Normal tokens: earlier ones score higher (SentencePiece merges by score). */
    v->scores[v->n] = type == 1 ? -(float)(v->n - v->first_normal) : 0.0f;
    v->n++;
}

/* Adds every word-piece of length len over a..z, with and without the boundary. */
static void vb_fill_letters(struct vocab_builder *b, int len, bool boundary)
{
    char buf[16];
    size_t total = 1;
    for (int i = 0; i < len; i++)
        total *= 26;
    for (size_t k = 0; k < total && b->v->n < b->want; k++) {
        size_t x = k, off = 0;
        if (boundary) {
            memcpy(buf, SPACE_PIECE, 3);
            off = 3;
        }
        for (int i = len - 1; i >= 0; i--) {
            buf[off + (size_t)i] = (char)('a' + x % 26);
            x /= 26;
        }
        buf[off + (size_t)len] = '\0';
        vb_add(b, buf, 1);
    }
}

void lleval_synth_vocab_build(struct lleval_synth_vocab *v, size_t n)
{
    struct vocab_builder b;
    char buf[64];

    memset(v, 0, sizeof(*v));
    v->tokens = lleval_xcalloc(n ? n : 1, sizeof(char *));
    v->scores = lleval_xcalloc(n ? n : 1, sizeof(float));
    v->types = lleval_xcalloc(n ? n : 1, sizeof(int32_t));
    v->first_normal = n;
    b.v = v;
    b.want = n;
    b.set = (struct lleval_idset)LLEVAL_IDSET_INIT;
    lleval_idset_reserve(&b.set, n);

    vb_add(&b, "<unk>", 2);
    vb_add(&b, "<s>", 3);
    vb_add(&b, "</s>", 3);
    for (int c = 0; c < 256; c++) {
        snprintf(buf, sizeof(buf), "<0x%02X>", c);
        vb_add(&b, buf, 6);
    }
    vb_add(&b, "<|im_start|>", 3);
    vb_add(&b, "<|im_end|>", 3);
    vb_add(&b, SPACE_PIECE, 1);
    for (int c = 0x21; c < 0x7F; c++) {
        buf[0] = (char)c;
        buf[1] = '\0';
        vb_add(&b, buf, 1);
    }
    /* Every prefix of "▁word", so SentencePiece's pairwise merges can reach the word. */
    for (size_t w = 0; w < LLEVAL_ARRAY_SIZE(words); w++) {
        size_t len = strlen(words[w]);
        for (size_t k = 1; k <= len; k++) {
            snprintf(buf, sizeof(buf), SPACE_PIECE "%.*s", (int)k, words[w]);
            vb_add(&b, buf, 1);
        }
    }
    vb_fill_letters(&b, 2, false);
    vb_fill_letters(&b, 2, true);
    vb_fill_letters(&b, 3, false);
    vb_fill_letters(&b, 3, true);
    for (size_t k = 0; v->n < n; k++) {
        snprintf(buf, sizeof(buf), SPACE_PIECE "w%zu", k);
        vb_add(&b, buf, 1);
    }
    lleval_idset_release(&b.set);
}

void lleval_synth_vocab_release(struct lleval_synth_vocab *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->tokens[i]);
    free(v->tokens);
    free(v->scores);
    free(v->types);
    memset(v, 0, sizeof(*v));
}

/* ---- weights ----------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) with 24 bits. */
static float uniform(uint64_t *state)
{
    return (float)(splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

/* IEEE half from float, rounding to nearest even. */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    uint32_t sign, exp, mant;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000;
    exp = (x >> 23) & 0xFF;
    mant = x & 0x7FFFFF;
    if (exp == 0xFF)
        return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 : 0));
    if (exp > 142) /* >= 2^16: overflow to infinity */
        return (uint16_t)(sign | 0x7C00);
    if (exp < 113) { /* subnormal half or zero */
        uint32_t shift;
        if (exp < 102)
            return (uint16_t)sign;
        mant |= 0x800000;
        shift = 126 - exp;
        {
            uint32_t half = mant >> shift;
            uint32_t rem = mant & ((1u << shift) - 1);
            uint32_t mid = 1u << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1)))
                half++;
            return (uint16_t)(sign | half);
        }
    }
    {
        uint32_t h = ((exp - 112) << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
            h++; /* may carry into the exponent, which is still correct */
        return (uint16_t)(sign | h);
    }
}

enum fill { FILL_ONES, FILL_UNIFORM };

struct tensor_plan {
    char name[64];
    uint32_t n_dims;
    int64_t ne[2];
    uint32_t type;
    enum fill fill;
    float scale;
    const bool *emit; /* output.weight: rows of tokens not emitted are zero (NULL: none) */
};

static void plan_add(struct tensor_plan *p, size_t *n, const char *name, uint32_t n_dims,
                     int64_t ne0, int64_t ne1, uint32_t type, enum fill fill, float scale)
{
    struct tensor_plan *t = &p[(*n)++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->type = type;
    t->fill = fill;
    t->scale = scale;
}

/* The tensors of the model, in file order. Returns how many (p has room for 9 * layers + 3). */
static size_t plan_tensors(const struct lleval_synth_opts *o, struct tensor_plan *p,
                           const bool *emit)
{
    size_t n = 0;
    int64_t e = o->embd, kv = o->kv_heads * (o->embd / o->heads);
    uint32_t mt = o->type;
    float se = 1.0f / sqrtf((float)e), sf = 1.0f / sqrtf((float)o->ff);
    char name[64];

    plan_add(p, &n, "token_embd.weight", 2, e, o->vocab, mt, FILL_UNIFORM, 1.0f);
    for (long l = 0; l < o->layers; l++) {
        static const char *const attn[] = {"attn_q", "attn_k", "attn_v", "attn_output"};
        snprintf(name, sizeof(name), "blk.%ld.attn_norm.weight", l);
        plan_add(p, &n, name, 1, e, 1, LLEVAL_GGML_F32, FILL_ONES, 1.0f);
        for (int a = 0; a < 4; a++) {
            snprintf(name, sizeof(name), "blk.%ld.%s.weight", l, attn[a]);
            plan_add(p, &n, name, 2, e, (a == 1 || a == 2) ? kv : e, mt, FILL_UNIFORM, se);
        }
        snprintf(name, sizeof(name), "blk.%ld.ffn_norm.weight", l);
        plan_add(p, &n, name, 1, e, 1, LLEVAL_GGML_F32, FILL_ONES, 1.0f);
        snprintf(name, sizeof(name), "blk.%ld.ffn_gate.weight", l);
        plan_add(p, &n, name, 2, e, o->ff, mt, FILL_UNIFORM, se);
        snprintf(name, sizeof(name), "blk.%ld.ffn_up.weight", l);
        plan_add(p, &n, name, 2, e, o->ff, mt, FILL_UNIFORM, se);
        snprintf(name, sizeof(name), "blk.%ld.ffn_down.weight", l);
        plan_add(p, &n, name, 2, o->ff, e, mt, FILL_UNIFORM, sf);
    }
    plan_add(p, &n, "output_norm.weight", 1, e, 1, LLEVAL_GGML_F32, FILL_ONES, 1.0f);
    plan_add(p, &n, "output.weight", 2, e, o->vocab, mt, FILL_UNIFORM, 4.0f * se);
    p[n - 1].emit = emit;
    return n;
}

/* Streams one tensor's values row by row. */
static int write_tensor(struct lleval_gguf_writer *w, const struct tensor_plan *t, uint64_t seed,
                        size_t index, struct lleval_err *err)
{
    size_t row = (size_t)t->ne[0], es = t->type == LLEVAL_GGML_F32 ? 4 : 2;
    unsigned char *buf = lleval_xmalloc(row * es);
    uint64_t state = seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(index + 1));
    int rc = 0;

    for (int64_t r = 0; r < t->ne[1] && !rc; r++) {
        for (size_t i = 0; i < row; i++) {
            float v = t->fill == FILL_ONES ? 1.0f : uniform(&state) * t->scale;
            if (t->emit && !t->emit[r])
                v = 0.0f;
            if (es == 4) {
                uint32_t u;
                memcpy(&u, &v, 4);
                for (int k = 0; k < 4; k++)
                    buf[i * 4 + (size_t)k] = (unsigned char)(u >> (8 * k));
            } else {
                uint16_t h = f32_to_f16(v);
                buf[i * 2] = (unsigned char)h;
                buf[i * 2 + 1] = (unsigned char)(h >> 8);
            }
        }
        rc = lleval_gguf_writer_data(w, buf, row * es, err);
    }
    free(buf);
    return rc;
}

static const char chat_template[] =
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}";

int lleval_synth_write(const struct lleval_synth_opts *o, const char *path, struct lleval_err *err)
{
    struct lleval_gguf_writer *w = lleval_gguf_writer_new();
    struct lleval_synth_vocab v;
    struct tensor_plan *plan;
    bool *emit;
    size_t n_plan;
    char *desc;
    int rc = 0;

    lleval_synth_vocab_build(&v, (size_t)o->vocab);
    plan = lleval_xcalloc((size_t)o->layers * 9 + 3, sizeof(*plan));
    /* Only normal tokens and printable ASCII bytes may be generated. */
    emit = lleval_xcalloc(v.n, sizeof(bool));
    for (size_t i = 0; i < v.n; i++)
        emit[i] = v.types[i] == 1 || (v.types[i] == 6 && i >= 3 + 0x20 && i <= 3 + 0x7E);
    n_plan = plan_tensors(o, plan, emit);

    lleval_gguf_writer_set_str(w, "general.architecture", "llama");
    lleval_gguf_writer_set_str(w, "general.name", o->name ? o->name : "lleval-synth");
    desc = lleval_xasprintf("synthesized by lleval synth-model (seed %" PRIu64
                            "): random weights, generates gibberish; for tests only",
                            o->seed);
    lleval_gguf_writer_set_str(w, "general.description", desc);
    free(desc);
    lleval_gguf_writer_set_u32(w, "general.file_type", o->type == LLEVAL_GGML_F32 ? 0 : 1);
    rc = lleval_gguf_writer_set_alignment(w, 32, err);
    if (rc)
        goto out;
    lleval_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)o->ctx);
    lleval_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)o->embd);
    lleval_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)o->layers);
    lleval_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)o->ff);
    lleval_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)o->heads);
    lleval_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)o->kv_heads);
    lleval_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(o->embd / o->heads));
    lleval_gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    lleval_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    lleval_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)o->vocab);

    lleval_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    lleval_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.tokens, v.n);
    lleval_gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", v.scores, v.n);
    lleval_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", v.types, v.n);
    lleval_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    lleval_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    lleval_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    lleval_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    lleval_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    lleval_gguf_writer_set_str(w, "tokenizer.chat_template", chat_template);

    for (size_t i = 0; i < n_plan && !rc; i++)
        rc = lleval_gguf_writer_add_tensor(w, plan[i].name, plan[i].n_dims, plan[i].ne,
                                           plan[i].type, err);
    if (!rc)
        rc = lleval_gguf_writer_begin(w, path, err);
    for (size_t i = 0; i < n_plan && !rc; i++)
        rc = write_tensor(w, &plan[i], o->seed, i, err);
    if (!rc)
        rc = lleval_gguf_writer_end(w, err);
out:
    lleval_gguf_writer_free(w);
    free(plan);
    free(emit);
    lleval_synth_vocab_release(&v);
    return rc;
}

/* ---- llama.cpp tools ------------------------------------------------------------------ */

char *lleval_synth_find_tool(const char *name, const char *explicit_path)
{
    char *found, *cache;

    if (explicit_path) {
        if (lleval_is_dir(explicit_path))
            return lleval_executable_in(explicit_path, name);
        return lleval_is_executable(explicit_path) ? lleval_xstrdup(explicit_path) : NULL;
    }
    if ((found = lleval_executable_in(getenv("LLEVAL_LLAMA_BIN_DIR"), name)))
        return found;
    cache = lleval_llama_cache_bin_dir();
    found = lleval_executable_in(cache, name);
    free(cache);
    if (found)
        return found;
    return lleval_find_in_path(name);
}

static const char *const quant_types[] = {
    "q4_0",   "q4_1",   "q5_0",   "q5_1",   "q8_0",   "q2_k", "q3_k_s", "q3_k_m",
    "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", NULL,
};

const char *const *lleval_synth_quant_types(void)
{
    return quant_types;
}

/* The last few lines of a log file, for an error message (owned). */
static char *log_tail(const char *path, size_t max)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *start;
    char *out;
    if (lleval_read_file(path, &sb, 64u << 20, NULL)) {
        lleval_sb_release(&sb);
        return lleval_xstrdup("");
    }
    lleval_sb_rtrim(&sb);
    start = sb.len > max ? sb.buf + sb.len - max : sb.buf;
    out = lleval_xstrdup(start);
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = '|';
    lleval_sb_release(&sb);
    return out;
}

/*
 * Runs argv (no shell) with stdin from the null device and stdout+stderr
 * into log_path; returns the exit status (128 + the signal number when a
 * signal ended it), or -1 with err set when it could not run.
 */
static int run_argv(char *const *argv, const char *log_path, struct lleval_err *err)
{
    struct lleval_proc_exit ex;
    if (lleval_proc_run(argv[0], argv, log_path, LLEVAL_SPAWN_DIE_WITH_PARENT, &ex, err))
        return -1;
    return ex.signaled ? 128 + ex.code : ex.code;
}

int lleval_synth_quantize(const char *tool, const char *in, const char *out, const char *qtype,
                          struct lleval_err *err)
{
    char upper[16];
    char *tmp = NULL, *log = NULL;
    char *argv[5];
    int known = 0, status, rc = 0;

    for (size_t i = 0; quant_types[i]; i++)
        if (!strcmp(qtype, quant_types[i]))
            known = 1;
    if (!known || strlen(qtype) >= sizeof(upper))
        return lleval_err_set(
            err, LLEVAL_EINVAL,
            "unknown quantization '%s'; use q8_0, q4_k_m, q4_0, q5_k_m, q6_k, ...", qtype);
    for (size_t i = 0; i <= strlen(qtype); i++)
        upper[i] = (char)toupper((unsigned char)qtype[i]);
    tmp = lleval_xasprintf("%s.tmp.%ld.gguf", out, lleval_getpid());
    log = lleval_xasprintf("%s.quantize.%ld.log", out, lleval_getpid());
    argv[0] = (char *)tool;
    argv[1] = (char *)in;
    argv[2] = tmp;
    argv[3] = upper;
    argv[4] = NULL;
    status = run_argv(argv, log, err);
    if (status < 0) {
        rc = err ? err->code : LLEVAL_EIO;
        goto out;
    }
    if (status != 0) {
        char *tail = log_tail(log, 600);
        rc = lleval_err_set(err, LLEVAL_EFAIL, "'%s' failed with status %d: ...%s", tool, status,
                            tail);
        free(tail);
        goto out;
    }
    if (!lleval_path_exists(tmp)) {
        rc = lleval_err_set(err, LLEVAL_EFAIL, "'%s' succeeded but wrote no '%s'", tool, tmp);
        goto out;
    }
    if (lleval_rename(tmp, out))
        rc = lleval_err_errno(err, "cannot rename to", out);
out:
    remove(tmp);
    remove(log);
    free(tmp);
    free(log);
    return rc;
}
