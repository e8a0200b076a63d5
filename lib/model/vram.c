/*
 * The VRAM planner's memory model (include/lleval/model/vram.h): model
 * descriptions from GGUF tensor infos, shapes and Ollama's /api/show, and the
 * plan of what llama.cpp allocates where. docs/planner.md derives every
 * formula and constant.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "lleval/model/vram.h"
#include "lleval/platform/fs.h"

/* ---- model descriptions ---------------------------------------------------- */

/* Copies a name from a file or a server for display and JSON: truncated to
 * size, control characters and bytes that are not valid UTF-8 become '?'. */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t len, off = 0, bad;

    snprintf(dst, size, "%s", src ? src : "");
    len = strlen(dst);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7F)
            dst[i] = '?';
    while (off < len && !lleval_utf8_valid(dst + off, len - off, &bad)) {
        dst[off + bad] = '?';
        off += bad + 1;
    }
}

/* Block index of a tensor named "blk.N.*", or -1. */
static long block_index(const char *name)
{
    long n = 0;
    const char *p;

    if (strncmp(name, "blk.", 4))
        return -1;
    p = name + 4;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        n = n * 10 + (*p - '0');
        if (n > 1000000)
            return -1;
    }
    return *p == '.' ? n : -1;
}

/* Tensors of llama.cpp's input layer: placed on the CPU whatever -ngl says. */
static bool is_input_tensor(const char *name)
{
    return lleval_str_starts_with(name, "token_embd.") ||
           lleval_str_starts_with(name, "token_embd_norm.") ||
           lleval_str_starts_with(name, "token_types.") ||
           lleval_str_starts_with(name, "pos_embd.");
}

static bool fits_u32(uint64_t v)
{
    return v <= UINT32_MAX;
}

int lleval_vram_model_from_gguf(struct lleval_vram_model *m, const struct lleval_gguf *g,
                                struct lleval_err *err)
{
    struct lleval_gguf_summary s;
    struct lleval_gguf_type_stat mix[LLEVAL_GGML_TYPE_COUNT];
    const struct lleval_gguf_tensor *embd;
    const char *base, *ft = NULL;
    uint64_t v;
    char key[96];

    memset(m, 0, sizeof(*m));
    lleval_gguf_summarize(g, &s);
    if (!s.layers || s.layers > LLEVAL_VRAM_MAX_LAYERS)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': %s.block_count is %s; the planner needs 1 to %d layers",
                              g->path, s.arch ? s.arch : "<arch>",
                              s.layers ? "too large" : "missing", LLEVAL_VRAM_MAX_LAYERS);
    if (!s.embedding || !fits_u32(s.embedding))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': %s.embedding_length is missing or too large", g->path,
                              s.arch ? s.arch : "<arch>");
    if (!s.heads || !fits_u32(s.heads) || !fits_u32(s.kv_heads) || !fits_u32(s.head_dim) ||
        !s.head_dim)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': %s.attention.head_count is missing or out of range", g->path,
                              s.arch ? s.arch : "<arch>");

    base = lleval_path_basename(g->path);
    copy_str(m->name, sizeof(m->name), s.name ? s.name : base);
    copy_str(m->arch, sizeof(m->arch), s.arch);
    if (s.has_file_type)
        ft = lleval_gguf_file_type_name(s.file_type);
    if (ft)
        copy_str(m->quant, sizeof(m->quant), ft);
    else if (lleval_gguf_type_mix(g, mix) > 0)
        lleval_ggml_type_name(mix[0].type, m->quant, sizeof(m->quant));
    m->source = LLEVAL_VRAM_FROM_GGUF;
    m->n_params = s.n_params;
    m->n_layer = (uint32_t)s.layers;
    m->n_embd = (uint32_t)s.embedding;
    m->n_head = (uint32_t)s.heads;
    m->n_head_kv = (uint32_t)(s.kv_heads ? s.kv_heads : s.heads);
    m->head_dim_k = (uint32_t)s.head_dim;
    m->head_dim_v = m->head_dim_k;
    if (s.arch) {
        snprintf(key, sizeof(key), "%s.attention.value_length", s.arch);
        if (lleval_gguf_get_uint(g, key, &v) && v && fits_u32(v))
            m->head_dim_v = (uint32_t)v;
    }
    m->n_ff = fits_u32(s.feed_forward) ? (uint32_t)s.feed_forward : 0;
    m->n_vocab = fits_u32(s.vocab_size) ? (uint32_t)s.vocab_size : 0;
    m->n_ctx_train = fits_u32(s.context_length) ? (uint32_t)s.context_length : 0;

    for (size_t i = 0; i < g->n_tensors; i++) {
        const struct lleval_gguf_tensor *t = &g->tensors[i];
        long b = block_index(t->name);
        m->w_total += t->n_bytes;
        if (b >= 0 && b < (long)m->n_layer)
            m->w_layer[b] += t->n_bytes;
        else if (is_input_tensor(t->name))
            m->w_input += t->n_bytes;
        else
            m->w_output += t->n_bytes;
    }
    embd = lleval_gguf_tensor(g, "token_embd.weight");
    if (embd && !lleval_gguf_tensor(g, "output.weight"))
        m->w_tied_output = embd->n_bytes;
    return 0;
}

/* ---- estimates from a shape ------------------------------------------------ */

struct bpw_entry {
    const char *name;
    double bpw;
};

/*
 * K-quant mixes: llama.cpp's examples/quantize/README.md (Llama 2 7B). Plain
 * types: bytes per block x 8 / elements per block (ggml's type traits).
 */
static const struct bpw_entry bpw_table[] = {
    {"F32", 32.0},    {"F16", 16.0},    {"BF16", 16.0},   {"Q8_0", 8.5},    {"Q6_K", 6.5625},
    {"Q5_K_M", 5.68}, {"Q5_K_S", 5.52}, {"Q5_1", 6.0},    {"Q5_0", 5.5},    {"Q4_K_M", 4.84},
    {"Q4_K_S", 4.58}, {"Q4_1", 5.0},    {"Q4_0", 4.5},    {"Q3_K_L", 4.27}, {"Q3_K_M", 3.91},
    {"Q3_K_S", 3.50}, {"Q2_K", 3.35},   {"Q2_K_S", 3.00}, {"IQ4_XS", 4.25}, {"IQ4_NL", 4.5},
    {"Q4_K", 4.5},    {"Q5_K", 5.5},    {"Q3_K", 3.4375}, {"Q8_K", 9.125},
};

bool lleval_vram_quant_bpw(const char *quant, double *bpw)
{
    if (!quant)
        return false;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bpw_table); i++) {
        const char *n = bpw_table[i].name;
        size_t k = 0;
        while (n[k] && quant[k] && toupper((unsigned char)quant[k]) == n[k])
            k++;
        if (!n[k] && !quant[k]) {
            *bpw = bpw_table[i].bpw;
            return true;
        }
    }
    return false;
}

const char *const *lleval_vram_suggest_quants(void)
{
    static const char *const q[] = {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_K_S", "Q3_K_M", NULL};
    return q;
}

uint64_t lleval_vram_llama_params(const struct lleval_vram_model *m)
{
    uint64_t e = m->n_embd, v = m->n_vocab, ff = m->n_ff;
    uint64_t hq = (uint64_t)m->n_head * m->head_dim_k;
    uint64_t kk = (uint64_t)m->n_head_kv * m->head_dim_k;
    uint64_t kv = (uint64_t)m->n_head_kv * m->head_dim_v;
    uint64_t ov = (uint64_t)m->n_head * m->head_dim_v;
    uint64_t block = e * hq + e * kk + e * kv + ov * e + 3 * e * ff + 2 * e;
    return 2 * v * e + e + (uint64_t)m->n_layer * block;
}

static void fill_shape_defaults(struct lleval_vram_model *m)
{
    if (!m->n_head_kv)
        m->n_head_kv = m->n_head;
    if (!m->head_dim_k)
        m->head_dim_k = m->n_embd / m->n_head;
    if (!m->head_dim_v)
        m->head_dim_v = m->head_dim_k;
    if (!m->n_ff)
        m->n_ff = 4 * m->n_embd;
}

int lleval_vram_model_estimate(struct lleval_vram_model *m, double bpw, const char *quant,
                               struct lleval_err *err)
{
    uint64_t embd_bytes = 0, rest, per_layer;

    if (!m->n_layer || m->n_layer > LLEVAL_VRAM_MAX_LAYERS || !m->n_embd || !m->n_head)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "model '%s': the shape needs layers (1 to %d), an embedding width "
                              "and a head count",
                              m->name, LLEVAL_VRAM_MAX_LAYERS);
    if (!(bpw > 0 && bpw <= 64))
        return lleval_err_set(err, LLEVAL_EINVAL, "model '%s': bits per weight must be in (0, 64]",
                              m->name);
    fill_shape_defaults(m);
    if (!m->n_params)
        m->n_params = lleval_vram_llama_params(m);
    m->source = LLEVAL_VRAM_FROM_SHAPE;
    if (quant)
        copy_str(m->quant, sizeof(m->quant), quant);
    m->w_total = (uint64_t)((double)m->n_params * bpw / 8.0 + 0.5);
    if (m->n_vocab)
        embd_bytes = (uint64_t)((double)m->n_vocab * m->n_embd * bpw / 8.0 + 0.5);
    if (2 * embd_bytes > m->w_total)
        embd_bytes = 0; /* a parameter count too small for its vocabulary: keep it simple */
    m->w_input = embd_bytes;
    m->w_output = embd_bytes;
    m->w_tied_output = 0;
    rest = m->w_total - 2 * embd_bytes;
    per_layer = rest / m->n_layer;
    memset(m->w_layer, 0, sizeof(m->w_layer));
    for (uint32_t i = 0; i < m->n_layer; i++)
        m->w_layer[i] = per_layer;
    m->w_layer[0] += rest - per_layer * m->n_layer;
    return 0;
}

struct reference_shape {
    const char *name;
    uint32_t layers, embd, heads, kv_heads, head_dim, ff, vocab, ctx;
};

static const struct reference_shape references[LLEVAL_VRAM_REF_COUNT] = {
    [LLEVAL_VRAM_REF_8B] = {"Llama 3.1 8B", 32, 4096, 32, 8, 128, 14336, 128256, 131072},
    [LLEVAL_VRAM_REF_13B] = {"Llama 2 13B", 40, 5120, 40, 40, 128, 13824, 32000, 4096},
};

int lleval_vram_model_reference(struct lleval_vram_model *m, enum lleval_vram_reference ref,
                                const char *quant, struct lleval_err *err)
{
    const struct reference_shape *r;
    double bpw;

    memset(m, 0, sizeof(*m));
    if ((unsigned)ref >= LLEVAL_VRAM_REF_COUNT)
        return lleval_err_set(err, LLEVAL_EINVAL, "unknown reference model %d", (int)ref);
    if (!lleval_vram_quant_bpw(quant, &bpw))
        return lleval_err_set(err, LLEVAL_EINVAL, "unknown quantization '%s'",
                              quant ? quant : "(none)");
    r = &references[ref];
    copy_str(m->name, sizeof(m->name), r->name);
    copy_str(m->arch, sizeof(m->arch), "llama");
    m->n_layer = r->layers;
    m->n_embd = r->embd;
    m->n_head = r->heads;
    m->n_head_kv = r->kv_heads;
    m->head_dim_k = r->head_dim;
    m->head_dim_v = r->head_dim;
    m->n_ff = r->ff;
    m->n_vocab = r->vocab;
    m->n_ctx_train = r->ctx;
    return lleval_vram_model_estimate(m, bpw, quant, err);
}

/* ---- Ollama's /api/show ------------------------------------------------------ */

/* A non-negative integer from a JSON number, or the largest element of an
 * array of them (per-layer values). */
static bool json_uint(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1.8e19) {
        *out = (uint64_t)json_real_value(v);
        return true;
    }
    if (json_is_array(v) && json_array_size(v) > 0) {
        uint64_t best = 0, x;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!json_uint(json_array_get(v, i), &x))
                return false;
            if (x > best)
                best = x;
        }
        *out = best;
        return true;
    }
    return false;
}

static bool info_uint(const json_t *info, const char *arch, const char *suffix, uint64_t *out)
{
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    return json_uint(json_object_get(info, key), out);
}

static int info_u32(const json_t *info, const char *arch, const char *suffix, uint32_t *out,
                    bool required, const char *tag, struct lleval_err *err)
{
    uint64_t v = 0;
    if (!info_uint(info, arch, suffix, &v) || !v) {
        if (required)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "ollama model '%s': /api/show gave no model_info.%s.%s; "
                                  "plan the GGUF file instead (lleval plan FILE.gguf)",
                                  tag, arch, suffix);
        return 0;
    }
    if (!fits_u32(v))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "ollama model '%s': model_info.%s.%s is too large", tag, arch,
                              suffix);
    *out = (uint32_t)v;
    return 0;
}

int lleval_vram_model_from_ollama(struct lleval_vram_model *m, const json_t *show, const char *tag,
                                  double bpw, struct lleval_err *err)
{
    const json_t *info = json_object_get(show, "model_info");
    const json_t *details = json_object_get(show, "details");
    const json_t *tokens;
    const char *arch, *quant = NULL;
    uint64_t params = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    tag = tag ? tag : "?";
    if (!json_is_object(info))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "ollama model '%s': the /api/show reply has no model_info object",
                              tag);
    arch = lleval_json_str(info, "general.architecture");
    if (!arch || !*arch)
        return lleval_err_set(
            err, LLEVAL_EINVAL,
            "ollama model '%s': /api/show gave no model_info.general.architecture", tag);
    if (!json_uint(json_object_get(info, "general.parameter_count"), &params) || !params)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "ollama model '%s': /api/show gave no model_info.general."
                              "parameter_count",
                              tag);
    if (json_is_object(details))
        quant = lleval_json_str(details, "quantization_level");
    if (bpw <= 0 && !lleval_vram_quant_bpw(quant, &bpw))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "ollama model '%s': unknown quantization level '%s' in "
                              "details.quantization_level; give the bits per weight with --bpw",
                              tag, quant ? quant : "(none)");

    copy_str(m->name, sizeof(m->name), tag);
    copy_str(m->arch, sizeof(m->arch), arch);
    m->n_params = params;
    if ((rc = info_u32(info, arch, "block_count", &m->n_layer, true, tag, err)) ||
        (rc = info_u32(info, arch, "embedding_length", &m->n_embd, true, tag, err)) ||
        (rc = info_u32(info, arch, "attention.head_count", &m->n_head, true, tag, err)) ||
        (rc = info_u32(info, arch, "attention.head_count_kv", &m->n_head_kv, false, tag, err)) ||
        (rc = info_u32(info, arch, "attention.key_length", &m->head_dim_k, false, tag, err)) ||
        (rc = info_u32(info, arch, "attention.value_length", &m->head_dim_v, false, tag, err)) ||
        (rc = info_u32(info, arch, "feed_forward_length", &m->n_ff, false, tag, err)) ||
        (rc = info_u32(info, arch, "context_length", &m->n_ctx_train, false, tag, err)) ||
        (rc = info_u32(info, arch, "vocab_size", &m->n_vocab, false, tag, err)))
        return rc;
    if (!m->n_vocab) {
        tokens = json_object_get(info, "tokenizer.ggml.tokens");
        if (json_is_array(tokens) && json_array_size(tokens) <= UINT32_MAX)
            m->n_vocab = (uint32_t)json_array_size(tokens);
    }
    return lleval_vram_model_estimate(m, bpw, quant ? quant : "", err);
}

/* ---- plans --------------------------------------------------------------------- */

void lleval_vram_params_init(struct lleval_vram_params *p)
{
    memset(p, 0, sizeof(*p));
    p->ctx = 4096;
    p->parallel = 1;
    p->kv_type = LLEVAL_GGML_F16;
    p->gpu_layers = -1;
    p->flash_attn = true;
    p->device = LLEVAL_VRAM_GPU;
    p->overhead = LLEVAL_VRAM_GPU_OVERHEAD;
    p->ubatch = LLEVAL_VRAM_UBATCH;
    p->batch = LLEVAL_VRAM_BATCH;
}

bool lleval_vram_kv_type_ok(uint32_t type)
{
    switch (type) {
    case LLEVAL_GGML_F32:
    case LLEVAL_GGML_F16:
    case LLEVAL_GGML_BF16:
    case LLEVAL_GGML_Q8_0:
    case LLEVAL_GGML_Q4_0:
    case LLEVAL_GGML_Q4_1:
    case LLEVAL_GGML_IQ4_NL:
    case LLEVAL_GGML_Q5_0:
    case LLEVAL_GGML_Q5_1:
        return true;
    default:
        return false;
    }
}

static bool kv_type_quantized(uint32_t type)
{
    return type != LLEVAL_GGML_F32 && type != LLEVAL_GGML_F16 && type != LLEVAL_GGML_BF16;
}

static long pad_ctx(long n)
{
    return (n + LLEVAL_VRAM_CTX_PAD - 1) / LLEVAL_VRAM_CTX_PAD * LLEVAL_VRAM_CTX_PAD;
}

/*
 * The compute buffer: ggml's graph allocator reuses memory, so the buffer is
 * the peak of what is alive at once. Two phases bound it (fitted to the
 * provisioned build's CPU buffers, docs/planner.md): attention, with its
 * Q/K/V activations and the KQ mask (f16 with flash attention; without it,
 * f32 and the full KQ matrix of every head), and the SwiGLU feed-forward of a
 * non-last layer (the last one runs on the output rows only).
 */
uint64_t lleval_vram_compute_bytes(const struct lleval_vram_model *m, long n_tokens, long kv_cells,
                                   bool flash_attn)
{
    uint64_t t = n_tokens > 0 ? (uint64_t)n_tokens : 0;
    uint64_t cells = kv_cells > 0 ? (uint64_t)kv_cells : 0;
    uint64_t e = m->n_embd, ff = m->n_ff ? m->n_ff : 4 * (uint64_t)m->n_embd;
    uint64_t kw = (uint64_t)m->n_head_kv * m->head_dim_k;
    uint64_t vw = (uint64_t)m->n_head_kv * m->head_dim_v;
    /* gate, up and their product (the product reuses a freed hole when ff <= 2 e) */
    uint64_t ffn_act = 4 * e + (ff <= 2 * e ? 2 * ff : 3 * ff);
    uint64_t attn, ffn = 0;

    if (flash_attn) {
        attn = 4 * t * (5 * e + (kw + vw) / 2) + 2 * cells * t;
        if (m->n_layer >= 2)
            ffn = 4 * t * ffn_act + 2 * cells * t;
    } else {
        attn = 4 * t * (5 * e + kw + vw) + 4 * cells * t * ((uint64_t)m->n_head + 1);
        if (m->n_layer >= 2)
            ffn = 4 * t * (ffn_act + (kw + vw) / 2) + 4 * cells * t;
    }
    return attn > ffn ? attn : ffn;
}

int lleval_vram_plan(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                     struct lleval_vram_plan *out, struct lleval_err *err)
{
    uint64_t row_k, row_v, kv_layer, compute, host_compute;
    uint32_t n_layer = m->n_layer, first_gpu;
    long ctx_pad, gl;
    char tname[32];

    memset(out, 0, sizeof(*out));
    if (!n_layer || n_layer > LLEVAL_VRAM_MAX_LAYERS || !m->n_embd || !m->n_head || !m->n_head_kv ||
        !m->head_dim_k || !m->head_dim_v)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "model '%s' lacks its shape (layers, widths, heads): cannot plan",
                              m->name);
    if (p->ctx < 1 || p->ctx > (1L << 24))
        return lleval_err_set(err, LLEVAL_EINVAL, "context %ld is out of range: use 1 to %ld",
                              p->ctx, 1L << 24);
    if (p->parallel < 1 || p->parallel > LLEVAL_VRAM_MAX_SLOTS)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%ld parallel slots is out of range: use 1 to %d (llama.cpp's limit)",
                              p->parallel, LLEVAL_VRAM_MAX_SLOTS);
    if (!lleval_vram_kv_type_ok(p->kv_type))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "KV cache type '%s' is not one llama-server accepts: use f16, q8_0 "
                              "or q4_0",
                              lleval_ggml_type_name(p->kv_type, tname, sizeof(tname)));
    if (kv_type_quantized(p->kv_type) && !p->flash_attn)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "a quantized V cache (%s) needs flash attention: llama.cpp refuses "
                              "it otherwise; turn flash attention on or use --kv-type f16",
                              lleval_ggml_type_name(p->kv_type, tname, sizeof(tname)));
    if (!lleval_ggml_nbytes(p->kv_type, (uint64_t)m->n_head_kv * m->head_dim_k, &row_k) ||
        !lleval_ggml_nbytes(p->kv_type, (uint64_t)m->n_head_kv * m->head_dim_v, &row_v))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "KV cache type '%s' needs rows of whole blocks, but model '%s' has "
                              "%" PRIu32 " x %" PRIu32 " values per K row: use --kv-type f16",
                              lleval_ggml_type_name(p->kv_type, tname, sizeof(tname)), m->name,
                              m->n_head_kv, m->head_dim_k);

    /* Context: padded to 256, each slot's share padded again (llama_context). */
    ctx_pad = pad_ctx(p->ctx);
    out->n_ctx_slot = pad_ctx(ctx_pad / p->parallel);
    out->n_ctx = out->n_ctx_slot * p->parallel;
    out->n_tokens = p->ctx;
    if (p->batch > 0 && out->n_tokens > p->batch)
        out->n_tokens = p->batch;
    if (p->ubatch > 0 && out->n_tokens > p->ubatch)
        out->n_tokens = p->ubatch;

    /* Offload: the last gl repeating layers, then the output layer. */
    gl = p->device == LLEVAL_VRAM_CPU ? 0 : p->gpu_layers;
    if (gl < 0 || gl > (long)n_layer + 1)
        gl = (long)n_layer + 1;
    out->gpu_layers = gl > (long)n_layer ? (long)n_layer : gl;
    out->output_on_gpu = gl > (long)n_layer;
    first_gpu = n_layer - (uint32_t)out->gpu_layers;

    out->weights_cpu = m->w_input;
    for (uint32_t i = 0; i < n_layer; i++) {
        if (i >= first_gpu)
            out->weights_gpu += m->w_layer[i];
        else
            out->weights_cpu += m->w_layer[i];
    }
    if (out->output_on_gpu)
        out->weights_gpu += m->w_output + m->w_tied_output;
    else
        out->weights_cpu += m->w_output;

    /* KV cache: per layer, a K and a V row per cell, on the layer's device. */
    out->kv_k = row_k * (uint64_t)out->n_ctx * n_layer;
    out->kv_v = row_v * (uint64_t)out->n_ctx * n_layer;
    kv_layer = (row_k + row_v) * (uint64_t)out->n_ctx;
    out->kv_gpu = kv_layer * (uint64_t)out->gpu_layers;
    out->kv_cpu = kv_layer * (n_layer - (uint64_t)out->gpu_layers);
    out->kv_per_slot = (row_k + row_v) * (uint64_t)out->n_ctx_slot * n_layer;

    /* Logits of one output row per slot, in host memory. */
    out->output = (uint64_t)m->n_vocab * (uint64_t)p->parallel * 4;

    compute = lleval_vram_compute_bytes(m, out->n_tokens, out->n_ctx_slot, p->flash_attn);
    if (p->device == LLEVAL_VRAM_CPU) {
        out->compute_cpu = compute;
    } else {
        /* The GPU's graph buffer; the host keeps the input embeddings and the
         * mask when every layer is offloaded, else runs layers itself. */
        host_compute = 4 * (uint64_t)out->n_tokens * m->n_embd +
                       (p->flash_attn ? 2 : 4) * (uint64_t)out->n_ctx_slot * out->n_tokens;
        out->compute_gpu = compute;
        out->compute_cpu =
            out->output_on_gpu && out->gpu_layers == (long)n_layer ? host_compute : compute;
        out->overhead = p->overhead;
    }
    out->total_gpu = out->weights_gpu + out->kv_gpu + out->compute_gpu + out->overhead;
    out->total_cpu = out->weights_cpu + out->kv_cpu + out->output + out->compute_cpu;
    out->total = p->device == LLEVAL_VRAM_CPU ? out->total_cpu : out->total_gpu;
    return 0;
}

enum lleval_vram_verdict lleval_vram_verdict(uint64_t need, uint64_t budget)
{
    if (!budget || need > budget)
        return LLEVAL_VRAM_NO_FIT;
    /* need / budget > 90 %, without overflow for any byte count */
    if ((double)need > (double)budget * LLEVAL_VRAM_TIGHT_PERCENT / 100.0)
        return LLEVAL_VRAM_TIGHT;
    return LLEVAL_VRAM_FITS;
}

const char *lleval_vram_verdict_name(enum lleval_vram_verdict v)
{
    switch (v) {
    case LLEVAL_VRAM_FITS:
        return "fits";
    case LLEVAL_VRAM_TIGHT:
        return "tight";
    default:
        return "does not fit";
    }
}

static bool plan_fits(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                      uint64_t budget)
{
    struct lleval_vram_plan plan;
    if (lleval_vram_plan(m, p, &plan, NULL))
        return false;
    return plan.total <= budget;
}

long lleval_vram_max_ctx(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         uint64_t budget, long limit, bool *capped)
{
    struct lleval_vram_params q = *p;
    long lo, hi, slots = p->parallel > 0 ? p->parallel : 1;

    if (capped)
        *capped = false;
    if (limit <= 0)
        limit = m->n_ctx_train ? (long)m->n_ctx_train * slots : 1L << 20;
    if (limit > (1L << 24))
        limit = 1L << 24;
    /* steps of 256: lo fits, hi + 1 does not (or is past the limit) */
    lo = 0;
    hi = limit / LLEVAL_VRAM_CTX_PAD;
    if (hi < 1)
        hi = 1;
    q.ctx = hi * LLEVAL_VRAM_CTX_PAD;
    if (plan_fits(m, &q, budget)) {
        if (capped)
            *capped = true;
        return q.ctx;
    }
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        q.ctx = mid * LLEVAL_VRAM_CTX_PAD;
        if (plan_fits(m, &q, budget))
            lo = mid;
        else
            hi = mid;
    }
    return lo * LLEVAL_VRAM_CTX_PAD;
}

long lleval_vram_max_parallel(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                              uint64_t budget, bool *capped)
{
    struct lleval_vram_params q = *p;
    long per_slot = p->parallel > 0 ? p->ctx / p->parallel : p->ctx;
    long lo = 0, hi = LLEVAL_VRAM_MAX_SLOTS;

    if (capped)
        *capped = false;
    if (per_slot < 1)
        per_slot = 1;
    q.parallel = hi;
    q.ctx = per_slot * hi;
    if (plan_fits(m, &q, budget)) {
        if (capped)
            *capped = true;
        return hi;
    }
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        q.parallel = mid;
        q.ctx = per_slot * mid;
        if (plan_fits(m, &q, budget))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
