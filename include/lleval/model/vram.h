/*
 * The VRAM planner's memory model: what llama.cpp's llama-server allocates
 * for a model at a context size, a slot count, a KV cache type and a number
 * of GPU layers, and where (GPU or host memory), so that `lleval plan` can
 * say whether a configuration fits a card before a run starts, and find the
 * largest context and slot count that do. docs/planner.md gives every
 * formula, its constants and where they come from (llama.cpp's sources and
 * the log lines of the llama.cpp build lleval provisions), and the accuracy
 * measured against that build.
 *
 * A model is described by struct lleval_vram_model: its shape (layers,
 * widths, heads, vocabulary) and its weight bytes split by where llama.cpp
 * puts them (token embeddings on the CPU, each block on its layer's device,
 * the output layer last). It comes from a GGUF file's tensor infos (exact),
 * from a shape and a bits-per-weight figure (an estimate: the reference
 * shapes of `plan --suggest`, Ollama's /api/show), and is a plain value.
 *
 * Nothing here allocates, prints or touches the network: the CLI reads files
 * and NVML, the ollama engine module asks Ollama (engine/ollama.h), and
 * suggest.h judges plans against a budget and works out `plan --suggest`.
 */
#ifndef LLEVAL_VRAM_H
#define LLEVAL_VRAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/util/error.h"
#include "lleval/model/gguf.h"

#define LLEVAL_MIB ((uint64_t)1 << 20)
#define LLEVAL_GIB ((uint64_t)1 << 30)

/* llama.cpp pads the context to a multiple of this, and each slot's share too. */
#define LLEVAL_VRAM_CTX_PAD 256
/* llama-server's default physical and logical batch sizes (-ub, -b). */
#define LLEVAL_VRAM_UBATCH 512
#define LLEVAL_VRAM_BATCH  2048
/* llama.cpp's LLAMA_MAX_SEQ: the most slots a context can have. */
#define LLEVAL_VRAM_MAX_SLOTS 256
/* Blocks a model may have here (the largest public models have under 200). */
#define LLEVAL_VRAM_MAX_LAYERS 1024
/*
 * What a CUDA process holds on the card besides llama.cpp's buffers: the CUDA
 * context, the kernel images of ggml-cuda, cuBLAS handles and workspace.
 * Typically 250-500 MiB (docs/planner.md); `plan --overhead` overrides it.
 */
#define LLEVAL_VRAM_GPU_OVERHEAD ((uint64_t)400 << 20)
/* Above this share of the budget a plan is "tight". */
#define LLEVAL_VRAM_TIGHT_PERCENT 90

/* Where the plan must fit: a GPU's memory, or (all layers on the CPU) host RAM. */
enum lleval_vram_device {
    LLEVAL_VRAM_GPU = 0,
    LLEVAL_VRAM_CPU = 1,
};

/* Where a model description came from. */
enum lleval_vram_source {
    LLEVAL_VRAM_FROM_GGUF = 0, /* tensor sizes: exact */
    LLEVAL_VRAM_FROM_SHAPE,    /* parameters x bits per weight: an estimate */
};

/*
 * A model's memory-relevant facts. 0 in a count means unknown. Weights are
 * split the way llama.cpp places tensors: w_input (token_embd and other input
 * tensors) always stays on the CPU; block N's tensors go with layer N; the
 * rest (output_norm, output) form the output layer, offloaded only when every
 * layer is. A model without output.weight reuses token_embd as its output
 * matrix: llama.cpp then puts a second copy, w_tied_output bytes, on the
 * output layer's device.
 */
struct lleval_vram_model {
    char name[128]; /* for display: general.name, the Ollama tag, a reference name */
    char arch[32];  /* general.architecture ("llama") */
    char quant[32]; /* "Q4_K_M", "F16", ... or "" when unknown */
    enum lleval_vram_source source;
    uint64_t n_params;
    uint32_t n_layer;
    uint32_t n_embd;
    uint32_t n_head;
    uint32_t n_head_kv;  /* the largest of a per-layer array */
    uint32_t head_dim_k; /* key_length, else n_embd / n_head */
    uint32_t head_dim_v; /* value_length, else head_dim_k */
    uint32_t n_ff;       /* feed_forward_length (largest per layer) */
    uint32_t n_vocab;
    uint32_t n_ctx_train;
    uint64_t w_total;  /* every tensor once (the file's tensor data) */
    uint64_t w_input;  /* token_embd & co: host memory always */
    uint64_t w_output; /* non-block tensors besides the input ones */
    uint64_t w_tied_output;
    uint64_t w_layer[LLEVAL_VRAM_MAX_LAYERS];
};

/*
 * Fills m from a parsed GGUF (borrowed): shape from the metadata
 * (lleval_gguf_summarize), weights from the tensor infos. Returns 0, or
 * LLEVAL_EINVAL when block_count, embedding_length or head_count is missing
 * or out of range (the message names the key).
 */
int lleval_vram_model_from_gguf(struct lleval_vram_model *m, const struct lleval_gguf *g,
                                struct lleval_err *err);

/*
 * Bits per weight of a quantization ("Q4_K_M", "q8_0", "F16", ...: llama.cpp
 * file types and plain ggml types; case-insensitive). The K-quant mixes use
 * llama.cpp's measured averages (examples/quantize/README.md, Llama 2 7B);
 * the plain types their exact block sizes. False for an unknown name.
 */
bool lleval_vram_quant_bpw(const char *quant, double *bpw);
/* The quantizations `plan --suggest` tries, best quality first, NULL-terminated. */
const char *const *lleval_vram_suggest_quants(void);

/*
 * A llama-architecture parameter count from the shape in m (n_layer, n_embd,
 * n_head, n_head_kv, head_dim_k/v, n_ff, n_vocab): token embeddings, an
 * untied output matrix, per block the attention and SwiGLU feed-forward
 * matrices and two norms, and the output norm.
 */
uint64_t lleval_vram_llama_params(const struct lleval_vram_model *m);

/*
 * Fills m's weights from its shape: m->n_params (computed with
 * lleval_vram_llama_params() when 0) times bpw bits, split into token
 * embeddings and output matrix (n_vocab x n_embd each; none when n_vocab is
 * unknown, which puts everything on the GPU: conservative), and equal blocks.
 * Sets source to LLEVAL_VRAM_FROM_SHAPE and quant to quant (borrowed, may be
 * NULL). Returns 0 or LLEVAL_EINVAL when the shape is incomplete.
 */
int lleval_vram_model_estimate(struct lleval_vram_model *m, double bpw, const char *quant,
                               struct lleval_err *err);

/* The reference shapes of `plan --suggest` (docs/planner.md). */
enum lleval_vram_reference {
    LLEVAL_VRAM_REF_8B = 0, /* Llama 3.1 8B */
    LLEVAL_VRAM_REF_13B,    /* Llama 2 13B (the guide's "13B") */
    LLEVAL_VRAM_REF_COUNT,
};
/* Fills m with a reference shape, weights estimated at quant ("Q4_K_M").
 * Returns 0 or LLEVAL_EINVAL for an unknown quantization. */
int lleval_vram_model_reference(struct lleval_vram_model *m, enum lleval_vram_reference ref,
                                const char *quant, struct lleval_err *err);

/*
 * Fills m from the reply of Ollama's POST /api/show (borrowed): model_info's
 * general.architecture, general.parameter_count, <arch>.block_count,
 * <arch>.embedding_length, <arch>.attention.head_count(_kv),
 * <arch>.attention.key_length/value_length, <arch>.feed_forward_length,
 * <arch>.context_length, <arch>.vocab_size (or the tokenizer.ggml.tokens
 * list), and details.quantization_level; weights are estimated from the
 * parameter count and the quantization's bits per weight (bpw > 0 overrides
 * it). tag (borrowed) names the model in messages. Returns 0 or
 * LLEVAL_EINVAL naming the missing field.
 */
int lleval_vram_model_from_ollama(struct lleval_vram_model *m, const json_t *show, const char *tag,
                                  double bpw, struct lleval_err *err);

/* What to plan for. lleval_vram_params_init() sets llama-server's defaults. */
struct lleval_vram_params {
    long ctx;         /* total context, llama-server's -c (split across slots); default 4096 */
    long parallel;    /* slots, -np (default 1) */
    uint32_t kv_type; /* ggml type of the K and V cache: F16 (default), Q8_0, Q4_0, ... */
    long gpu_layers;  /* -ngl: -1 (default) or n_layer + 1: all; fewer keep the first blocks back */
    bool flash_attn;  /* -fa (default on: what "auto" picks on CUDA and CPU) */
    enum lleval_vram_device device;
    uint64_t overhead; /* runtime overhead on the GPU (default LLEVAL_VRAM_GPU_OVERHEAD) */
    long ubatch;       /* -ub (default 512) */
    long batch;        /* -b (default 2048) */
};
void lleval_vram_params_init(struct lleval_vram_params *p);

/* True for the KV cache types llama-server accepts (-ctk/-ctv): f32, f16,
 * bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1. */
bool lleval_vram_kv_type_ok(uint32_t type);

/* A plan: bytes per component and where they live. */
struct lleval_vram_plan {
    long n_ctx;      /* the context llama.cpp allocates: padded, slots x n_ctx_slot */
    long n_ctx_slot; /* each slot's share, padded to 256 */
    long n_tokens;   /* the largest batch the compute buffer is sized for */
    long gpu_layers; /* repeating layers on the GPU (0..n_layer) */
    bool output_on_gpu;
    uint64_t weights_gpu, weights_cpu;
    uint64_t kv_k, kv_v;     /* all layers, all slots */
    uint64_t kv_gpu, kv_cpu; /* the same, by place */
    uint64_t kv_per_slot;
    uint64_t output; /* logits buffer: host memory */
    uint64_t compute_gpu, compute_cpu;
    uint64_t overhead; /* on the GPU (0 on the CPU device) */
    uint64_t total_gpu, total_cpu;
    uint64_t total; /* what must fit the budget: total_gpu, or total_cpu on the CPU device */
};

/*
 * Works out the plan for m at p (both borrowed). Returns 0, or LLEVAL_EINVAL
 * (with the option to change) for a context below 1, slots outside
 * 1..LLEVAL_VRAM_MAX_SLOTS, an unknown KV type, a quantized KV type whose
 * rows are not whole blocks, quantized V without flash attention (llama.cpp
 * refuses it), or a model without layers or widths.
 */
int lleval_vram_plan(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                     struct lleval_vram_plan *out, struct lleval_err *err);

/* The compute buffer estimate on its own (docs/planner.md): n_tokens tokens
 * per batch, kv_cells cells per slot's stream, one device's graph. */
uint64_t lleval_vram_compute_bytes(const struct lleval_vram_model *m, long n_tokens, long kv_cells,
                                   bool flash_attn);

enum lleval_vram_verdict {
    LLEVAL_VRAM_FITS = 0,
    LLEVAL_VRAM_TIGHT, /* fits, above LLEVAL_VRAM_TIGHT_PERCENT of the budget */
    LLEVAL_VRAM_NO_FIT,
};
/* The verdict for need bytes against budget bytes (budget 0: does not fit). */
enum lleval_vram_verdict lleval_vram_verdict(uint64_t need, uint64_t budget);
/* "fits", "tight", "does not fit". */
const char *lleval_vram_verdict_name(enum lleval_vram_verdict v);

/*
 * The largest total context (a multiple of 256, at p's slot count) whose plan
 * fits budget, searched up to limit (<= 0: the model's training context times
 * the slots, or 1 Mi tokens when unknown). 0 when not even 256 per slot fits.
 * *capped (may be NULL) says the limit itself fits.
 */
long lleval_vram_max_ctx(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         uint64_t budget, long limit, bool *capped);
/*
 * The most slots (up to LLEVAL_VRAM_MAX_SLOTS) that fit budget when each
 * keeps p's per-slot context (p->ctx / p->parallel). 0 when not even one
 * does. *capped as above.
 */
long lleval_vram_max_parallel(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                              uint64_t budget, bool *capped);

#endif
