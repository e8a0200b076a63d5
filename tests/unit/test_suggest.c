/*
 * Unit tests for the planner's answers (lib/model/suggest.c): a plan judged
 * against a budget (verdict edges, the limits), and `plan --suggest`: the
 * guide's presets in order with their settings, the context lowered when the
 * top of a preset's range does not fit, the quantization table for the
 * reference shapes and for a file's shape (its own quantization kept
 * exact), and a refused setting leaving nothing to release.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/model/suggest.h"
#include "lleval/util/util.h"

static void reference(struct lleval_vram_model *m, enum lleval_vram_reference ref,
                      const char *quant)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_vram_model_reference(m, ref, quant, &err))
        fail_msg("reference: %s", err.msg);
}

static void evaluate(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                     uint64_t budget, struct lleval_vram_outcome *r)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_vram_evaluate(m, p, budget, r, &err))
        fail_msg("evaluate: %s", err.msg);
}

static void test_evaluate(void **state)
{
    struct lleval_vram_model *m = lleval_xcalloc(1, sizeof(*m));
    struct lleval_vram_params p;
    struct lleval_vram_outcome r, r2;
    struct lleval_vram_plan plan;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    reference(m, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&p);
    assert_int_equal(lleval_vram_plan(m, &p, &plan, &err), 0);
    evaluate(m, &p, plan.total, &r);
    assert_int_equal(r.plan.total, plan.total);
    assert_int_equal(r.verdict, LLEVAL_VRAM_TIGHT); /* exactly the budget: above 90% */
    assert_true(r.max_ctx >= p.ctx && r.max_parallel >= 1);
    assert_int_equal(r.max_ctx, lleval_vram_max_ctx(m, &p, plan.total, 0, NULL));
    assert_int_equal(r.max_parallel, lleval_vram_max_parallel(m, &p, plan.total, NULL));
    evaluate(m, &p, plan.total - 1, &r2);
    assert_int_equal(r2.verdict, LLEVAL_VRAM_NO_FIT);
    assert_true(r2.max_ctx < p.ctx);
    assert_int_equal(r2.max_parallel, 0);
    evaluate(m, &p, plan.total * 2, &r2);
    assert_int_equal(r2.verdict, LLEVAL_VRAM_FITS);

    p.parallel = 0; /* refused by the plan */
    assert_int_equal(lleval_vram_evaluate(m, &p, plan.total, &r, &err), LLEVAL_EINVAL);
    free(m);
}

/* The reference shapes on the guide's 16 GiB card. */
static void test_suggest_reference(void **state)
{
    static const char *const names[] = {"throughput", "quality", "stretch"};
    static const char *const quants[] = {"Q4_K_M", "Q6_K", "Q4_K_M"};
    const char *const *table = lleval_vram_suggest_quants();
    struct lleval_vram_suggestions sg;
    struct lleval_vram_params base;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t nq = 0;
    (void)state;

    while (table[nq])
        nq++;
    lleval_vram_params_init(&base);
    assert_int_equal(lleval_vram_suggest(NULL, &base, 16 * LLEVAL_GIB, &sg, &err), 0);
    assert_int_equal(sg.n_presets, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(sg.presets[i].preset, names[i]);
        assert_string_equal(sg.presets[i].quant, quants[i]);
        assert_true(sg.presets[i].outcome.verdict != LLEVAL_VRAM_NO_FIT);
    }
    assert_string_equal(sg.presets[0].model.name, "Llama 3.1 8B");
    assert_string_equal(sg.presets[2].model.name, "Llama 2 13B");
    assert_int_equal(sg.presets[0].params.parallel, 2);
    assert_int_equal(sg.presets[0].params.ctx, 2 * 8192); /* the top of its range fits */
    assert_int_equal(sg.presets[1].params.parallel, 1);
    assert_int_equal(sg.presets[1].params.ctx, 4096);

    /* both reference shapes at every quantization, 4096 context, 1 slot */
    assert_int_equal(sg.n_quants, 2 * nq);
    for (size_t i = 0; i < sg.n_quants; i++) {
        const struct lleval_vram_suggestion *s = &sg.quants[i];
        struct lleval_vram_model *m = lleval_xcalloc(1, sizeof(*m));
        struct lleval_vram_outcome r;
        double bpw;
        assert_null(s->preset);
        assert_string_equal(s->quant, table[i % nq]);
        assert_string_equal(s->model.name, i < nq ? "Llama 3.1 8B" : "Llama 2 13B");
        assert_int_equal(s->params.ctx, 4096);
        assert_int_equal(s->params.parallel, 1);
        /* the same as planning it by hand */
        reference(m, i < nq ? LLEVAL_VRAM_REF_8B : LLEVAL_VRAM_REF_13B, table[i % nq]);
        evaluate(m, &s->params, 16 * LLEVAL_GIB, &r);
        assert_int_equal(s->outcome.plan.total, r.plan.total);
        assert_int_equal(s->outcome.max_ctx, r.max_ctx);
        assert_int_equal(s->outcome.max_parallel, r.max_parallel);
        assert_true(lleval_vram_quant_bpw(table[i % nq], &bpw));
        assert_true(fabs(s->bpw - bpw) < 0.05);
        free(m);
    }
    lleval_vram_suggestions_release(&sg);
    assert_null(sg.presets);
    assert_int_equal(sg.n_quants, 0);
}

/* A budget between the two contexts of the throughput preset lowers it to 4096 per slot. */
static void test_suggest_lowers_context(void **state)
{
    struct lleval_vram_model *m = lleval_xcalloc(1, sizeof(*m));
    struct lleval_vram_params base, p;
    struct lleval_vram_outcome hi, lo;
    struct lleval_vram_suggestions sg;
    struct lleval_err err = LLEVAL_ERR_INIT;
    uint64_t budget;
    (void)state;

    reference(m, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&base);
    p = base;
    p.parallel = 2;
    p.ctx = 2 * 8192;
    evaluate(m, &p, 16 * LLEVAL_GIB, &hi);
    p.ctx = 2 * 4096;
    evaluate(m, &p, 16 * LLEVAL_GIB, &lo);
    assert_true(lo.plan.total < hi.plan.total);
    budget = (lo.plan.total + hi.plan.total) / 2;

    assert_int_equal(lleval_vram_suggest(NULL, &base, budget, &sg, &err), 0);
    assert_int_equal(sg.presets[0].params.ctx, 2 * 4096);
    assert_int_equal(sg.presets[0].outcome.plan.total, lo.plan.total);
    assert_true(sg.presets[0].outcome.verdict != LLEVAL_VRAM_NO_FIT);
    lleval_vram_suggestions_release(&sg);

    /* not even the bottom fits: the bottom is what is shown */
    assert_int_equal(lleval_vram_suggest(NULL, &base, lo.plan.total / 2, &sg, &err), 0);
    assert_int_equal(sg.presets[0].params.ctx, 2 * 4096);
    assert_int_equal(sg.presets[0].outcome.verdict, LLEVAL_VRAM_NO_FIT);
    lleval_vram_suggestions_release(&sg);
    free(m);
}

/* A file's model: one row per quantization, its own kept exact, the others estimated. */
static void test_suggest_file(void **state)
{
    struct lleval_vram_model *file = lleval_xcalloc(1, sizeof(*file));
    const char *const *table = lleval_vram_suggest_quants();
    struct lleval_vram_suggestions sg;
    struct lleval_vram_params base;
    struct lleval_err err = LLEVAL_ERR_INIT;
    size_t nq = 0, own = 0;
    (void)state;

    while (table[nq])
        nq++;
    reference(file, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    snprintf(file->name, sizeof(file->name), "my model");
    file->source = LLEVAL_VRAM_FROM_GGUF;
    file->w_total += 12345; /* not what an estimate gives */
    lleval_vram_params_init(&base);
    assert_int_equal(lleval_vram_suggest(file, &base, 16 * LLEVAL_GIB, &sg, &err), 0);
    assert_int_equal(sg.n_quants, nq);
    for (size_t i = 0; i < nq; i++) {
        const struct lleval_vram_model *m = &sg.quants[i].model;
        assert_int_equal(m->n_layer, file->n_layer);
        assert_string_equal(m->quant, table[i]);
        if (!strcmp(table[i], "Q4_K_M")) {
            own++;
            assert_int_equal(m->w_total, file->w_total);
            assert_int_equal(m->source, LLEVAL_VRAM_FROM_GGUF);
        } else {
            assert_int_equal(m->source, LLEVAL_VRAM_FROM_SHAPE);
        }
    }
    assert_int_equal(own, 1);
    for (size_t i = 0; i < sg.n_presets; i++)
        assert_int_equal(sg.presets[i].model.n_layer, file->n_layer);
    assert_int_equal(sg.presets[0].model.w_total, file->w_total);
    lleval_vram_suggestions_release(&sg);
    free(file);
}

/* A setting the plan refuses: an error, and nothing to release. */
static void test_suggest_refused(void **state)
{
    struct lleval_vram_suggestions sg;
    struct lleval_vram_params base;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    lleval_vram_params_init(&base);
    assert_int_equal(lleval_ggml_type_parse("q8_0", &base.kv_type), 0);
    base.flash_attn = false; /* quantized V needs flash attention */
    assert_int_equal(lleval_vram_suggest(NULL, &base, 16 * LLEVAL_GIB, &sg, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "flash attention");
    assert_null(sg.presets);
    assert_null(sg.quants);
    assert_int_equal(sg.n_presets + sg.n_quants, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_suggest_reference),
        cmocka_unit_test(test_suggest_lowers_context),
        cmocka_unit_test(test_suggest_file),
        cmocka_unit_test(test_suggest_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
