/*
 * Unit tests for the VRAM planner's memory model (lib/model/vram.c): the KV cache
 * formula on known shapes, context padding and the split across slots,
 * quantized KV sizes, the offload split between GPU and CPU, the compute
 * buffer against sizes llama.cpp logged, verdicts, the largest-context and
 * slot-count searches, and model descriptions from GGUF files, reference
 * shapes and Ollama's /api/show.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/model/synth.h"
#include "lleval/util/util.h"
#include "lleval/model/vram.h"

#define MIB LLEVAL_MIB

static void reference(struct lleval_vram_model *m, enum lleval_vram_reference ref,
                      const char *quant)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_vram_model_reference(m, ref, quant, &err))
        fail_msg("reference: %s", err.msg);
}

static void plan_ok(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                    struct lleval_vram_plan *out)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_vram_plan(m, p, out, &err))
        fail_msg("plan: %s", err.msg);
}

/* A hand-made model: 4 layers of 10, 20, 30, 40 MiB, input 5 MiB, output 7 MiB. */
static void toy_model(struct lleval_vram_model *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "toy");
    m->n_layer = 4;
    m->n_embd = 512;
    m->n_head = 8;
    m->n_head_kv = 2;
    m->head_dim_k = m->head_dim_v = 64;
    m->n_ff = 2048;
    m->n_vocab = 8000;
    m->n_ctx_train = 8192;
    for (int i = 0; i < 4; i++)
        m->w_layer[i] = (uint64_t)(i + 1) * 10 * MIB;
    m->w_input = 5 * MIB;
    m->w_output = 7 * MIB;
    m->w_total = 112 * MIB;
}

static void test_kv_known_shapes(void **state)
{
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    (void)state;

    /* Llama 3.1 8B, f16, 8192 tokens: 32 layers x 2 x 8 heads x 128 x 2 bytes x 8192 = 1 GiB */
    reference(&m, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&p);
    p.ctx = 8192;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.n_ctx, 8192);
    assert_int_equal(x.kv_k + x.kv_v, 1024 * MIB);
    assert_int_equal(x.kv_k, 512 * MIB);
    assert_int_equal(x.kv_per_slot, 1024 * MIB);
    assert_int_equal(x.kv_gpu, 1024 * MIB);
    assert_int_equal(x.kv_cpu, 0);

    /* Llama 2 13B (no GQA), f16, 4096 tokens: 40 x 2 x 5120 x 2 x 4096 = 3200 MiB */
    reference(&m, LLEVAL_VRAM_REF_13B, "Q4_K_M");
    p.ctx = 4096;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.kv_k + x.kv_v, 3200 * MIB);

    /* the same context split across 2 slots: the same total, half per slot */
    p.parallel = 2;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.kv_k + x.kv_v, 3200 * MIB);
    assert_int_equal(x.kv_per_slot, 1600 * MIB);
}

static void test_context_padding(void **state)
{
    static const struct {
        long ctx, parallel, n_ctx, slot, tokens;
    } cases[] = {
        {3000, 1, 3072, 3072, 512}, /* padded to 256 */
        {3000, 2, 3072, 1536, 512}, /* split across slots */
        {3000, 5, 3840, 768, 512},  /* 3072 / 5 = 614, padded to 768 per slot */
        {100, 1, 256, 256, 100},    /* the batch is limited by the context */
        {256, 4, 1024, 256, 256},   /* each slot gets at least 256 */
        {8192, 3, 8448, 2816, 512}, /* 2730 -> 2816 */
        {1, 1, 256, 256, 1},
    };
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    (void)state;

    toy_model(&m);
    lleval_vram_params_init(&p);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        p.ctx = cases[i].ctx;
        p.parallel = cases[i].parallel;
        plan_ok(&m, &p, &x);
        if (x.n_ctx != cases[i].n_ctx || x.n_ctx_slot != cases[i].slot ||
            x.n_tokens != cases[i].tokens)
            fail_msg("-c %ld -np %ld: n_ctx %ld (want %ld), slot %ld (want %ld), tokens %ld (want "
                     "%ld)",
                     cases[i].ctx, cases[i].parallel, x.n_ctx, cases[i].n_ctx, x.n_ctx_slot,
                     cases[i].slot, x.n_tokens, cases[i].tokens);
        /* toy KV: 4 layers x (128 + 128) values x 2 bytes per cell */
        assert_int_equal(x.kv_k + x.kv_v, (uint64_t)x.n_ctx * 4 * 256 * 2);
        assert_int_equal(x.kv_per_slot * (uint64_t)p.parallel, x.kv_k + x.kv_v);
        assert_int_equal(x.output, 8000u * 4 * (uint64_t)p.parallel);
    }
}

static void test_kv_quantized(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    (void)state;

    reference(&m, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&p);
    p.ctx = 8192;
    /* q8_0: 34 bytes per 32 values; q4_0: 18 per 32 */
    p.kv_type = LLEVAL_GGML_Q8_0;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.kv_k + x.kv_v, 544 * MIB);
    p.kv_type = LLEVAL_GGML_Q4_0;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.kv_k + x.kv_v, 288 * MIB);
    p.kv_type = LLEVAL_GGML_F32;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.kv_k + x.kv_v, 2048 * MIB);

    /* llama.cpp refuses a quantized V cache without flash attention */
    p.kv_type = LLEVAL_GGML_Q8_0;
    p.flash_attn = false;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "flash attention");

    /* rows must be whole blocks: 1 kv head x 16 values is not a multiple of 32 */
    p.flash_attn = true;
    m.n_head_kv = 1;
    m.head_dim_k = m.head_dim_v = 16;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "--kv-type f16");

    /* a type llama-server does not accept for its cache */
    p.kv_type = LLEVAL_GGML_Q4_K;
    assert_false(lleval_vram_kv_type_ok(p.kv_type));
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    assert_true(lleval_vram_kv_type_ok(LLEVAL_GGML_Q4_0));
}

static void test_offload_split(void **state)
{
    static const struct {
        long gpu_layers;
        uint64_t gpu_mib, cpu_mib, kv_gpu_layers;
        bool output_on_gpu;
    } cases[] = {
        {-1, 107, 5, 4, true},  /* all: token embeddings stay on the CPU */
        {5, 107, 5, 4, true},   /* n_layer + 1 is all */
        {99, 107, 5, 4, true},  /* more than there are */
        {4, 100, 12, 4, false}, /* every block, not the output layer */
        {2, 70, 42, 2, false},  /* the last two blocks */
        {0, 0, 112, 0, false},  /* none */
    };
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    uint64_t kv_layer;
    (void)state;

    toy_model(&m);
    lleval_vram_params_init(&p);
    p.ctx = 4096;
    kv_layer = 4096u * 256 * 2;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        p.gpu_layers = cases[i].gpu_layers;
        plan_ok(&m, &p, &x);
        if (x.weights_gpu != cases[i].gpu_mib * MIB || x.weights_cpu != cases[i].cpu_mib * MIB ||
            x.output_on_gpu != cases[i].output_on_gpu)
            fail_msg("-ngl %ld: weights gpu %" PRIu64 " cpu %" PRIu64 " MiB (want %" PRIu64
                     ", %" PRIu64 "), output on gpu %d",
                     cases[i].gpu_layers, x.weights_gpu / MIB, x.weights_cpu / MIB,
                     cases[i].gpu_mib, cases[i].cpu_mib, x.output_on_gpu);
        assert_int_equal(x.kv_gpu, kv_layer * cases[i].kv_gpu_layers);
        assert_int_equal(x.kv_cpu, kv_layer * (4 - cases[i].kv_gpu_layers));
        assert_int_equal(x.overhead, LLEVAL_VRAM_GPU_OVERHEAD);
        assert_int_equal(x.total_gpu, x.weights_gpu + x.kv_gpu + x.compute_gpu + x.overhead);
        assert_int_equal(x.total_cpu, x.weights_cpu + x.kv_cpu + x.output + x.compute_cpu);
        assert_int_equal(x.total, x.total_gpu);
        /* a fully offloaded model leaves only the input side of the graph on the host */
        if (cases[i].output_on_gpu)
            assert_true(x.compute_cpu < x.compute_gpu);
        else
            assert_int_equal(x.compute_cpu, x.compute_gpu);
    }

    /* tied embeddings: the output layer gets its own copy of token_embd */
    m.w_tied_output = 5 * MIB;
    p.gpu_layers = -1;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.weights_gpu, 112 * MIB);
    assert_int_equal(x.weights_cpu, 5 * MIB);
    p.gpu_layers = 4;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.weights_cpu, 12 * MIB); /* shares the input's mapping on the CPU */

    /* the CPU device: everything in host memory, no CUDA overhead */
    p.device = LLEVAL_VRAM_CPU;
    p.gpu_layers = -1;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.weights_gpu, 0);
    assert_int_equal(x.weights_cpu, 112 * MIB);
    assert_int_equal(x.kv_gpu, 0);
    assert_int_equal(x.compute_gpu, 0);
    assert_int_equal(x.overhead, 0);
    assert_int_equal(x.total, x.total_cpu);
    assert_int_equal(x.total_gpu, 0);
}

/* Compute buffers llama-server (the provisioned build, CPU) logged for synthesized models. */
static void test_compute_buffer(void **state)
{
    static const struct {
        uint32_t layers, embd, heads, kv_heads, ff;
        long tokens, cells;
        bool fa;
        double mib;
    } cases[] = {
        {4, 512, 8, 2, 2048, 512, 1536, true, 17.51},  /* -c 3000 -np 2 */
        {4, 512, 8, 2, 2048, 512, 1536, false, 32.51}, /* the same, -fa off */
        {2, 512, 8, 8, 4096, 512, 8192, true, 36.01},
        {2, 512, 8, 8, 1024, 512, 512, true, 8.51},
        {2, 1024, 16, 16, 4096, 512, 8192, false, 286.01},
        {6, 640, 10, 2, 1792, 512, 2048, true, 17.51},
        {1, 512, 8, 8, 2048, 256, 256, true, 3.13}, /* one layer: no feed-forward peak */
    };
    struct lleval_vram_model m;
    (void)state;

    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        double got;
        memset(&m, 0, sizeof(m));
        m.n_layer = cases[i].layers;
        m.n_embd = cases[i].embd;
        m.n_head = cases[i].heads;
        m.n_head_kv = cases[i].kv_heads;
        m.head_dim_k = m.head_dim_v = cases[i].embd / cases[i].heads;
        m.n_ff = cases[i].ff;
        got = (double)lleval_vram_compute_bytes(&m, cases[i].tokens, cases[i].cells, cases[i].fa) /
              (double)MIB;
        if (got < cases[i].mib * 0.98 || got > cases[i].mib * 1.05)
            fail_msg("case %zu: compute %.2f MiB, llama.cpp logged %.2f", i, got, cases[i].mib);
    }
}

static void test_verdicts(void **state)
{
    (void)state;
    assert_int_equal(lleval_vram_verdict(50, 100), LLEVAL_VRAM_FITS);
    assert_int_equal(lleval_vram_verdict(90, 100), LLEVAL_VRAM_FITS);
    assert_int_equal(lleval_vram_verdict(91, 100), LLEVAL_VRAM_TIGHT);
    assert_int_equal(lleval_vram_verdict(100, 100), LLEVAL_VRAM_TIGHT);
    assert_int_equal(lleval_vram_verdict(101, 100), LLEVAL_VRAM_NO_FIT);
    assert_int_equal(lleval_vram_verdict(1, 0), LLEVAL_VRAM_NO_FIT);
    assert_int_equal(lleval_vram_verdict(15 * LLEVAL_GIB, 16 * LLEVAL_GIB), LLEVAL_VRAM_TIGHT);
    assert_int_equal(lleval_vram_verdict(UINT64_MAX, UINT64_MAX), LLEVAL_VRAM_TIGHT);
    assert_string_equal(lleval_vram_verdict_name(LLEVAL_VRAM_FITS), "fits");
    assert_string_equal(lleval_vram_verdict_name(LLEVAL_VRAM_TIGHT), "tight");
    assert_string_equal(lleval_vram_verdict_name(LLEVAL_VRAM_NO_FIT), "does not fit");
}

static uint64_t total_at(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         long ctx, long parallel)
{
    struct lleval_vram_params q = *p;
    struct lleval_vram_plan x;
    q.ctx = ctx;
    q.parallel = parallel;
    plan_ok(m, &q, &x);
    return x.total;
}

static void test_largest_context(void **state)
{
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    uint64_t budget = 16 * LLEVAL_GIB;
    bool capped;
    long c, n;
    (void)state;

    reference(&m, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&p);
    for (long slots = 1; slots <= 3; slots++) {
        p.parallel = slots;
        p.ctx = 4096 * slots;
        c = lleval_vram_max_ctx(&m, &p, budget, 0, &capped);
        assert_false(capped);
        assert_true(c > 4096);
        assert_int_equal(c % LLEVAL_VRAM_CTX_PAD, 0);
        assert_true(total_at(&m, &p, c, slots) <= budget);
        assert_true(total_at(&m, &p, c + LLEVAL_VRAM_CTX_PAD, slots) > budget);

        n = lleval_vram_max_parallel(&m, &p, budget, &capped);
        assert_false(capped);
        assert_true(n >= 1);
        assert_true(total_at(&m, &p, 4096 * n, n) <= budget);
        assert_true(total_at(&m, &p, 4096 * (n + 1), n + 1) > budget);
    }

    /* a limit that fits is reported as such */
    p.parallel = 1;
    p.ctx = 4096;
    c = lleval_vram_max_ctx(&m, &p, budget, 8192, &capped);
    assert_int_equal(c, 8192);
    assert_true(capped);
    c = lleval_vram_max_ctx(&m, &p, 1024 * LLEVAL_GIB, 0, &capped);
    assert_int_equal(c, 131072); /* the model's training context */
    assert_true(capped);
    n = lleval_vram_max_parallel(&m, &p, 1024 * LLEVAL_GIB, &capped);
    assert_int_equal(n, LLEVAL_VRAM_MAX_SLOTS);
    assert_true(capped);

    /* nothing fits a tiny card */
    assert_int_equal(lleval_vram_max_ctx(&m, &p, LLEVAL_GIB, 0, NULL), 0);
    assert_int_equal(lleval_vram_max_parallel(&m, &p, LLEVAL_GIB, NULL), 0);
}

static void test_bits_per_weight(void **state)
{
    const char *const *q = lleval_vram_suggest_quants();
    double bpw = 0;
    (void)state;

    assert_true(lleval_vram_quant_bpw("Q4_K_M", &bpw));
    assert_true(bpw == 4.84);
    assert_true(lleval_vram_quant_bpw("q8_0", &bpw));
    assert_true(bpw == 8.5);
    assert_true(lleval_vram_quant_bpw("F16", &bpw));
    assert_true(bpw == 16.0);
    assert_true(lleval_vram_quant_bpw("Q6_K", &bpw));
    assert_true(bpw == 6.5625);
    assert_false(lleval_vram_quant_bpw("Q4_K_M ", &bpw));
    assert_false(lleval_vram_quant_bpw("Q9", &bpw));
    assert_false(lleval_vram_quant_bpw(NULL, &bpw));
    assert_string_equal(q[0], "Q8_0");
    assert_string_equal(q[3], "Q4_K_M");
    assert_string_equal(q[5], "Q3_K_M");
    assert_null(q[6]);
    for (size_t i = 0; q[i]; i++)
        assert_true(lleval_vram_quant_bpw(q[i], &bpw));
}

static void test_reference_shapes(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model m;
    uint64_t sum;
    (void)state;

    reference(&m, LLEVAL_VRAM_REF_8B, "Q8_0");
    assert_int_equal(m.n_params, 8030261248ull); /* Llama 3.1 8B's parameter count */
    assert_int_equal(m.w_total, (uint64_t)(8030261248.0 * 8.5 / 8 + 0.5));
    assert_int_equal(m.w_input, (uint64_t)(128256.0 * 4096 * 8.5 / 8 + 0.5));
    sum = m.w_input + m.w_output;
    for (uint32_t i = 0; i < m.n_layer; i++)
        sum += m.w_layer[i];
    assert_int_equal(sum, m.w_total);
    assert_int_equal(m.source, LLEVAL_VRAM_FROM_SHAPE);
    assert_string_equal(m.quant, "Q8_0");

    reference(&m, LLEVAL_VRAM_REF_13B, "Q4_K_M");
    assert_int_equal(m.n_params, 13015864320ull); /* Llama 2 13B's */
    assert_int_equal(m.n_ctx_train, 4096);

    assert_int_equal(lleval_vram_model_reference(&m, LLEVAL_VRAM_REF_8B, "Q7_X", &err),
                     LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "Q7_X");
}

static void check_gguf_model(const char *path, const char *want_quant)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    const struct lleval_gguf_tensor *embd;
    uint64_t sum = 0;

    if (lleval_gguf_open(&g, path, &err))
        fail_msg("open: %s", err.msg);
    lleval_gguf_summarize(&g, &s);
    if (lleval_vram_model_from_gguf(&m, &g, &err))
        fail_msg("from gguf: %s", err.msg);
    assert_int_equal(m.source, LLEVAL_VRAM_FROM_GGUF);
    assert_int_equal(m.w_total, s.tensor_bytes);
    assert_int_equal(m.n_layer, s.layers);
    assert_int_equal(m.n_embd, s.embedding);
    assert_int_equal(m.n_head_kv, s.kv_heads);
    assert_int_equal(m.head_dim_k, s.head_dim);
    assert_int_equal(m.n_vocab, s.vocab_size);
    assert_string_equal(m.quant, want_quant);
    embd = lleval_gguf_tensor(&g, "token_embd.weight");
    assert_non_null(embd);
    assert_int_equal(m.w_input, embd->n_bytes);
    sum = m.w_input + m.w_output;
    for (uint32_t i = 0; i < m.n_layer; i++) {
        assert_true(m.w_layer[i] > 0);
        sum += m.w_layer[i];
    }
    assert_int_equal(sum, m.w_total);
    lleval_vram_params_init(&p);
    p.device = LLEVAL_VRAM_CPU;
    plan_ok(&m, &p, &x);
    assert_int_equal(x.weights_cpu, m.w_total);
    lleval_gguf_release(&g);
}

static void test_from_gguf(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_synth_opts o;
    char *dir = tu_tmpdir(), *path = lleval_path_join(dir, "m.gguf"), *tiny;
    (void)state;

    lleval_synth_opts_init(&o);
    o.layers = 3;
    o.embd = 128;
    o.heads = 4;
    o.kv_heads = 2;
    o.vocab = 400;
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    if (lleval_synth_write(&o, path, &err))
        fail_msg("synth: %s", err.msg);
    check_gguf_model(path, "F16");

    tiny = tu_shared("models/llama-2-tiny-random.gguf");
    if (tiny)
        check_gguf_model(tiny, "F16");
    free(tiny);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static const char show_reply[] =
    "{\"details\":{\"format\":\"gguf\",\"family\":\"llama\",\"parameter_size\":\"8.0B\","
    "\"quantization_level\":\"Q4_K_M\"},"
    "\"model_info\":{\"general.architecture\":\"llama\",\"general.file_type\":15,"
    "\"general.parameter_count\":8030261248,\"llama.block_count\":32,"
    "\"llama.context_length\":131072,\"llama.embedding_length\":4096,"
    "\"llama.feed_forward_length\":14336,\"llama.attention.head_count\":32,"
    "\"llama.attention.head_count_kv\":8,\"llama.vocab_size\":128256}}";

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON: %s", je.text);
    return j;
}

static void test_from_ollama(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model m, ref;
    struct lleval_vram_params p;
    struct lleval_vram_plan a, b;
    json_t *show = parse(show_reply), *info;
    (void)state;

    if (lleval_vram_model_from_ollama(&m, show, "llama3.1:8b", 0, &err))
        fail_msg("from ollama: %s", err.msg);
    assert_string_equal(m.name, "llama3.1:8b");
    assert_string_equal(m.quant, "Q4_K_M");
    assert_int_equal(m.n_params, 8030261248ull);
    assert_int_equal(m.n_layer, 32);
    assert_int_equal(m.n_head_kv, 8);
    assert_int_equal(m.head_dim_k, 128);
    assert_int_equal(m.n_ff, 14336);
    assert_int_equal(m.n_vocab, 128256);
    assert_int_equal(m.n_ctx_train, 131072);
    assert_int_equal(m.w_total, (uint64_t)(8030261248.0 * 4.84 / 8 + 0.5));
    /* the same facts as the reference 8B shape: the same plan */
    reference(&ref, LLEVAL_VRAM_REF_8B, "Q4_K_M");
    lleval_vram_params_init(&p);
    plan_ok(&m, &p, &a);
    plan_ok(&ref, &p, &b);
    assert_int_equal(a.total, b.total);

    /* per-layer KV heads (an array): the largest; the vocabulary from the token list */
    info = json_object_get(show, "model_info");
    json_object_set_new(info, "llama.attention.head_count_kv", parse("[8, 8, 4]"));
    json_object_del(info, "llama.vocab_size");
    json_object_set_new(info, "tokenizer.ggml.tokens", parse("[\"a\", \"b\", \"c\"]"));
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 0, &err), 0);
    assert_int_equal(m.n_head_kv, 8);
    assert_int_equal(m.n_vocab, 3);

    /* names are made safe to print */
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "bad\x1b[2Jtag\xff", 0, &err), 0);
    assert_string_equal(m.name, "bad?[2Jtag?");

    /* an unknown quantization needs --bpw */
    json_object_set_new(json_object_get(show, "details"), "quantization_level",
                        json_string("Q9_X"));
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 0, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "--bpw");
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 5.0, &err), 0);
    assert_int_equal(m.w_total, (uint64_t)(8030261248.0 * 5.0 / 8 + 0.5));

    /* missing facts are named */
    json_object_del(info, "llama.block_count");
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 5.0, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "llama.block_count");
    json_object_del(info, "general.parameter_count");
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 5.0, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "general.parameter_count");
    json_object_del(show, "model_info");
    assert_int_equal(lleval_vram_model_from_ollama(&m, show, "t", 5.0, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "model_info");
    json_decref(show);
}

static void test_plan_errors(void **state)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_model m;
    struct lleval_vram_params p;
    struct lleval_vram_plan x;
    (void)state;

    toy_model(&m);
    lleval_vram_params_init(&p);
    p.parallel = 0;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "slots");
    p.parallel = LLEVAL_VRAM_MAX_SLOTS + 1;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    p.parallel = LLEVAL_VRAM_MAX_SLOTS;
    p.ctx = 256L * LLEVAL_VRAM_MAX_SLOTS;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), 0);
    p.ctx = 0;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "context");
    p.ctx = 4096;
    p.parallel = 1;
    m.n_layer = 0;
    assert_int_equal(lleval_vram_plan(&m, &p, &x, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "toy");
    m.n_layer = 4;
    memset(&m, 0, sizeof(m));
    assert_int_equal(lleval_vram_model_estimate(&m, 4.5, "Q4_0", &err), LLEVAL_EINVAL);
    toy_model(&m);
    assert_int_equal(lleval_vram_model_estimate(&m, 0, "Q4_0", &err), LLEVAL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_known_shapes),  cmocka_unit_test(test_context_padding),
        cmocka_unit_test(test_kv_quantized),     cmocka_unit_test(test_offload_split),
        cmocka_unit_test(test_compute_buffer),   cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_largest_context),  cmocka_unit_test(test_bits_per_weight),
        cmocka_unit_test(test_reference_shapes), cmocka_unit_test(test_from_gguf),
        cmocka_unit_test(test_from_ollama),      cmocka_unit_test(test_plan_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
