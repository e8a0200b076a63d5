/*
 * The planner's answers on top of the memory model (vram.h): one
 * configuration evaluated against a budget (the plan, its verdict, the
 * largest context and slot count that fit), and `lleval plan --suggest`:
 * the performance-tuning guide's hardware presets and every quantization
 * from Q8_0 to Q3_K_M worked out for a card, for a model's shape or for the
 * reference shapes. Nothing here allocates except the suggestion arrays,
 * prints or touches the network.
 */
#ifndef LLEVAL_SUGGEST_H
#define LLEVAL_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/model/vram.h"
#include "lleval/util/error.h"

/* A plan judged against a budget. */
struct lleval_vram_outcome {
    struct lleval_vram_plan plan;
    enum lleval_vram_verdict verdict;
    long max_ctx, max_parallel; /* lleval_vram_max_ctx() (no limit), lleval_vram_max_parallel() */
    bool max_ctx_capped, max_parallel_capped;
};

/* Plans m at p (both borrowed) and judges it against budget bytes. Returns 0
 * or lleval_vram_plan()'s error. */
int lleval_vram_evaluate(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         uint64_t budget, struct lleval_vram_outcome *out, struct lleval_err *err);

/* One row of `plan --suggest`: a model at a quantization and settings, judged. */
struct lleval_vram_suggestion {
    const char *preset; /* the guide's preset name ("throughput"); NULL in the quantization table */
    const char *quant;  /* static: "Q4_K_M" */
    struct lleval_vram_model model;
    struct lleval_vram_params params;
    struct lleval_vram_outcome outcome;
    double bpw; /* quantization table: 8 x weight bytes / parameters (0 when unknown) */
};

struct lleval_vram_suggestions {
    /* performance-tuning-guide.md's presets, throughput, quality, stretch: each at
     * the top of its per-slot context range, lowered to the bottom when that does
     * not fit */
    struct lleval_vram_suggestion *presets;
    size_t n_presets;
    /* each model (the file's, or each reference shape) at each quantization of
     * lleval_vram_suggest_quants(), 4096 context, 1 slot */
    struct lleval_vram_suggestion *quants;
    size_t n_quants;
};

/*
 * Works out the suggestions against budget bytes with base's other settings
 * (KV type, flash attention, device, offload, overhead; borrowed). file
 * (borrowed, may be NULL) is the model of a GGUF file: at its own
 * quantization it is used as is, at the others its shape with estimated
 * weights; without a file the presets use the guide's reference shapes and
 * the quantization table both of them. Returns 0 and fills out (release it
 * with lleval_vram_suggestions_release()), or an error (out left empty).
 */
int lleval_vram_suggest(const struct lleval_vram_model *file, const struct lleval_vram_params *base,
                        uint64_t budget, struct lleval_vram_suggestions *out,
                        struct lleval_err *err);
void lleval_vram_suggestions_release(struct lleval_vram_suggestions *s);

#endif
