/*
 * The planner's answers: a configuration judged against a budget, and the
 * guide's presets and quantization table for a card (`lleval plan
 * --suggest`). The memory model itself is vram.c; docs/planner.md explains
 * both. See include/lleval/model/suggest.h.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/model/suggest.h"
#include "lleval/util/util.h"

struct preset {
    const char *name;
    enum lleval_vram_reference ref;
    const char *quant;
    long ctx_hi, ctx_lo; /* per slot: the guide's range, tried from the top */
    long slots;
};

/* performance-tuning-guide.md, "Hardware Presets". */
static const struct preset presets[] = {
    {"throughput", LLEVAL_VRAM_REF_8B, "Q4_K_M", 8192, 4096, 2},
    {"quality", LLEVAL_VRAM_REF_8B, "Q6_K", 4096, 4096, 1},
    {"stretch", LLEVAL_VRAM_REF_13B, "Q4_K_M", 4096, 4096, 1},
};

int lleval_vram_evaluate(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         uint64_t budget, struct lleval_vram_outcome *r, struct lleval_err *err)
{
    int rc = lleval_vram_plan(m, p, &r->plan, err);
    if (rc)
        return rc;
    r->verdict = lleval_vram_verdict(r->plan.total, budget);
    r->max_ctx = lleval_vram_max_ctx(m, p, budget, 0, &r->max_ctx_capped);
    r->max_parallel = lleval_vram_max_parallel(m, p, budget, &r->max_parallel_capped);
    return 0;
}

/* The model at quant: the file itself when it has that quantization, else
 * its shape with estimated weights; a reference shape when there is no file. */
static int model_at(const struct lleval_vram_model *file, enum lleval_vram_reference ref,
                    const char *quant, struct lleval_vram_model *m, struct lleval_err *err)
{
    double bpw;
    if (!file)
        return lleval_vram_model_reference(m, ref, quant, err);
    if (!strcmp(file->quant, quant)) {
        *m = *file;
        return 0;
    }
    if (!lleval_vram_quant_bpw(quant, &bpw))
        return lleval_err_set(err, LLEVAL_EINVAL, "unknown quantization '%s'", quant);
    *m = *file;
    return lleval_vram_model_estimate(m, bpw, quant, err);
}

static int suggest_preset(const struct lleval_vram_model *file, const struct preset *ps,
                          const struct lleval_vram_params *base, uint64_t budget,
                          struct lleval_vram_suggestion *s, struct lleval_err *err)
{
    int rc;
    s->preset = ps->name;
    s->quant = ps->quant;
    if ((rc = model_at(file, ps->ref, ps->quant, &s->model, err)))
        return rc;
    s->params = *base;
    s->params.parallel = ps->slots;
    s->params.ctx = ps->ctx_hi * ps->slots;
    if ((rc = lleval_vram_evaluate(&s->model, &s->params, budget, &s->outcome, err)))
        return rc;
    if (s->outcome.verdict == LLEVAL_VRAM_NO_FIT && ps->ctx_lo < ps->ctx_hi) {
        s->params.ctx = ps->ctx_lo * ps->slots;
        rc = lleval_vram_evaluate(&s->model, &s->params, budget, &s->outcome, err);
    }
    return rc;
}

static int suggest_quant(const struct lleval_vram_model *file, enum lleval_vram_reference ref,
                         const char *quant, const struct lleval_vram_params *base, uint64_t budget,
                         struct lleval_vram_suggestion *s, struct lleval_err *err)
{
    int rc;
    s->quant = quant;
    if ((rc = model_at(file, ref, quant, &s->model, err)))
        return rc;
    s->params = *base;
    s->params.parallel = 1;
    s->params.ctx = 4096;
    if ((rc = lleval_vram_evaluate(&s->model, &s->params, budget, &s->outcome, err)))
        return rc;
    if (s->model.n_params)
        s->bpw = 8.0 * (double)s->model.w_total / (double)s->model.n_params;
    return 0;
}

int lleval_vram_suggest(const struct lleval_vram_model *file, const struct lleval_vram_params *base,
                        uint64_t budget, struct lleval_vram_suggestions *out,
                        struct lleval_err *err)
{
    const char *const *quants = lleval_vram_suggest_quants();
    int nref = file ? 1 : LLEVAL_VRAM_REF_COUNT;
    size_t nq = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    while (quants[nq])
        nq++;
    out->presets = lleval_xcalloc(LLEVAL_ARRAY_SIZE(presets), sizeof(*out->presets));
    out->quants = lleval_xcalloc((size_t)nref * nq, sizeof(*out->quants));
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(presets); i++) {
        if ((rc = suggest_preset(file, &presets[i], base, budget, &out->presets[i], err)))
            goto fail;
        out->n_presets++;
    }
    for (int ri = 0; ri < nref; ri++) {
        for (size_t qi = 0; qi < nq; qi++) {
            if ((rc = suggest_quant(file, (enum lleval_vram_reference)ri, quants[qi], base, budget,
                                    &out->quants[out->n_quants], err)))
                goto fail;
            out->n_quants++;
        }
    }
    return 0;
fail:
    lleval_vram_suggestions_release(out);
    return rc;
}

void lleval_vram_suggestions_release(struct lleval_vram_suggestions *s)
{
    free(s->presets);
    free(s->quants);
    memset(s, 0, sizeof(*s));
}
