/*
 * GGUF queries: ggml's type tables, typed getters over a file's metadata,
 * the tensor type mix, summaries and the short number formats used to show
 * them. The reader that fills struct lleval_gguf is gguf.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/model/gguf.h"
#include "lleval/util/util.h"
#include "gguf_int.h"

/* ---- type tables ------------------------------------------------------ */

/* Block sizes and bytes per block, as ggml defines them (ggml.c type_traits). */
static const struct lleval_ggml_type_info type_infos[LLEVAL_GGML_TYPE_COUNT] = {
    [LLEVAL_GGML_F32] = {"F32", 1, 4},
    [LLEVAL_GGML_F16] = {"F16", 1, 2},
    [LLEVAL_GGML_Q4_0] = {"Q4_0", 32, 18},
    [LLEVAL_GGML_Q4_1] = {"Q4_1", 32, 20},
    [LLEVAL_GGML_Q5_0] = {"Q5_0", 32, 22},
    [LLEVAL_GGML_Q5_1] = {"Q5_1", 32, 24},
    [LLEVAL_GGML_Q8_0] = {"Q8_0", 32, 34},
    [LLEVAL_GGML_Q8_1] = {"Q8_1", 32, 36},
    [LLEVAL_GGML_Q2_K] = {"Q2_K", 256, 84},
    [LLEVAL_GGML_Q3_K] = {"Q3_K", 256, 110},
    [LLEVAL_GGML_Q4_K] = {"Q4_K", 256, 144},
    [LLEVAL_GGML_Q5_K] = {"Q5_K", 256, 176},
    [LLEVAL_GGML_Q6_K] = {"Q6_K", 256, 210},
    [LLEVAL_GGML_Q8_K] = {"Q8_K", 256, 292},
    [LLEVAL_GGML_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [LLEVAL_GGML_IQ2_XS] = {"IQ2_XS", 256, 74},
    [LLEVAL_GGML_IQ3_XXS] = {"IQ3_XXS", 256, 98},
    [LLEVAL_GGML_IQ1_S] = {"IQ1_S", 256, 50},
    [LLEVAL_GGML_IQ4_NL] = {"IQ4_NL", 32, 18},
    [LLEVAL_GGML_IQ3_S] = {"IQ3_S", 256, 110},
    [LLEVAL_GGML_IQ2_S] = {"IQ2_S", 256, 82},
    [LLEVAL_GGML_IQ4_XS] = {"IQ4_XS", 256, 136},
    [LLEVAL_GGML_I8] = {"I8", 1, 1},
    [LLEVAL_GGML_I16] = {"I16", 1, 2},
    [LLEVAL_GGML_I32] = {"I32", 1, 4},
    [LLEVAL_GGML_I64] = {"I64", 1, 8},
    [LLEVAL_GGML_F64] = {"F64", 1, 8},
    [LLEVAL_GGML_IQ1_M] = {"IQ1_M", 256, 56},
    [LLEVAL_GGML_BF16] = {"BF16", 1, 2},
    [LLEVAL_GGML_TQ1_0] = {"TQ1_0", 256, 54},
    [LLEVAL_GGML_TQ2_0] = {"TQ2_0", 256, 66},
    [LLEVAL_GGML_MXFP4] = {"MXFP4", 32, 17},
    [LLEVAL_GGML_NVFP4] = {"NVFP4", 64, 36},
    [LLEVAL_GGML_Q1_0] = {"Q1_0", 128, 18},
    [LLEVAL_GGML_Q2_0] = {"Q2_0", 64, 18},
};

const struct lleval_ggml_type_info *lleval_ggml_type_info(uint32_t type)
{
    if (type >= LLEVAL_GGML_TYPE_COUNT || !type_infos[type].name)
        return NULL;
    return &type_infos[type];
}

const char *lleval_ggml_type_name(uint32_t type, char *buf, size_t size)
{
    const struct lleval_ggml_type_info *ti = lleval_ggml_type_info(type);
    if (ti)
        return ti->name;
    snprintf(buf, size, "type%" PRIu32, type);
    return buf;
}

int lleval_ggml_type_parse(const char *name, uint32_t *out)
{
    for (uint32_t t = 0; t < LLEVAL_GGML_TYPE_COUNT; t++) {
        const char *n = type_infos[t].name;
        size_t i = 0;
        if (!n)
            continue;
        while (n[i] && name[i] && toupper((unsigned char)name[i]) == n[i])
            i++;
        if (!n[i] && !name[i]) {
            *out = t;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

bool lleval_ggml_nbytes(uint32_t type, uint64_t n_elements, uint64_t *out)
{
    const struct lleval_ggml_type_info *ti = lleval_ggml_type_info(type);
    uint64_t blocks;
    if (!ti || n_elements % ti->block_size)
        return false;
    blocks = n_elements / ti->block_size;
    if (blocks > UINT64_MAX / ti->type_size)
        return false;
    *out = blocks * ti->type_size;
    return true;
}

static const char *const vtype_names[LLEVAL_GGUF_VTYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};
/* Bytes of one element of a fixed-size value type; 0 for string and array. */
size_t lleval_gguf_vtype_size(enum lleval_gguf_vtype t)
{
    static const size_t sizes[LLEVAL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t < LLEVAL_GGUF_VTYPE_COUNT ? sizes[t] : 0;
}

const char *lleval_gguf_vtype_name(enum lleval_gguf_vtype t)
{
    return (unsigned)t < LLEVAL_GGUF_VTYPE_COUNT ? vtype_names[t] : "unknown";
}

/* ---- getters -------------------------------------------------------------- */

const struct lleval_gguf_kv *lleval_gguf_find_kv(const struct lleval_gguf_kv *kv, size_t n,
                                                 const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return &kv[i];
    return NULL;
}

const struct lleval_gguf_kv *lleval_gguf_find(const struct lleval_gguf *g, const char *key)
{
    return lleval_gguf_find_kv(g->kv, g->n_kv, key);
}

static bool is_unsigned(enum lleval_gguf_vtype t)
{
    return t == LLEVAL_GGUF_U8 || t == LLEVAL_GGUF_U16 || t == LLEVAL_GGUF_U32 ||
           t == LLEVAL_GGUF_U64;
}

static bool is_signed(enum lleval_gguf_vtype t)
{
    return t == LLEVAL_GGUF_I8 || t == LLEVAL_GGUF_I16 || t == LLEVAL_GGUF_I32 ||
           t == LLEVAL_GGUF_I64;
}

bool lleval_gguf_kv_uint(const struct lleval_gguf_kv *kv, uint64_t *out)
{
    if (is_unsigned(kv->type)) {
        *out = kv->v.u;
        return true;
    }
    if (is_signed(kv->type) && kv->v.i >= 0) {
        *out = (uint64_t)kv->v.i;
        return true;
    }
    if (kv->type == LLEVAL_GGUF_BOOL) {
        *out = kv->v.b;
        return true;
    }
    return false;
}

const char *lleval_gguf_get_str(const struct lleval_gguf *g, const char *key)
{
    const struct lleval_gguf_kv *kv = lleval_gguf_find(g, key);
    return kv && kv->type == LLEVAL_GGUF_STRING ? kv->v.str.s : NULL;
}

bool lleval_gguf_get_uint(const struct lleval_gguf *g, const char *key, uint64_t *out)
{
    const struct lleval_gguf_kv *kv = lleval_gguf_find(g, key);
    return kv && lleval_gguf_kv_uint(kv, out);
}

bool lleval_gguf_get_float(const struct lleval_gguf *g, const char *key, double *out)
{
    const struct lleval_gguf_kv *kv = lleval_gguf_find(g, key);
    if (!kv)
        return false;
    if (kv->type == LLEVAL_GGUF_F32 || kv->type == LLEVAL_GGUF_F64) {
        *out = kv->v.f;
        return true;
    }
    if (is_unsigned(kv->type)) {
        *out = (double)kv->v.u;
        return true;
    }
    if (is_signed(kv->type)) {
        *out = (double)kv->v.i;
        return true;
    }
    return false;
}

const struct lleval_gguf_kv *lleval_gguf_get_arr(const struct lleval_gguf *g, const char *key,
                                                 enum lleval_gguf_vtype *elem_type, uint64_t *n)
{
    const struct lleval_gguf_kv *kv = lleval_gguf_find(g, key);
    if (!kv || kv->type != LLEVAL_GGUF_ARRAY)
        return NULL;
    if (elem_type)
        *elem_type = kv->arr_type;
    if (n)
        *n = kv->arr_n;
    return kv;
}

/* Decodes one fixed-size scalar of type t from b into the kv's value. */
void lleval_gguf_set_scalar(struct lleval_gguf_kv *kv, enum lleval_gguf_vtype t,
                            const unsigned char *b)
{
    uint64_t raw = lleval_gguf_le(b, (int)lleval_gguf_vtype_size(t));
    switch (t) {
    case LLEVAL_GGUF_U8:
    case LLEVAL_GGUF_U16:
    case LLEVAL_GGUF_U32:
    case LLEVAL_GGUF_U64:
        kv->v.u = raw;
        break;
    case LLEVAL_GGUF_I8:
        kv->v.i = (int8_t)raw;
        break;
    case LLEVAL_GGUF_I16:
        kv->v.i = (int16_t)raw;
        break;
    case LLEVAL_GGUF_I32:
        kv->v.i = (int32_t)(uint32_t)raw;
        break;
    case LLEVAL_GGUF_I64:
        kv->v.i = (int64_t)raw;
        break;
    case LLEVAL_GGUF_F32: {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case LLEVAL_GGUF_F64:
        memcpy(&kv->v.f, &raw, 8);
        break;
    case LLEVAL_GGUF_BOOL:
        kv->v.b = raw != 0;
        break;
    default:
        break;
    }
}

/* Reads element i of a numeric array as a scalar kv. */
static bool arr_elem(const struct lleval_gguf_kv *kv, uint64_t i, struct lleval_gguf_kv *tmp)
{
    size_t es;
    unsigned char b[8];
    if (kv->type != LLEVAL_GGUF_ARRAY || i >= kv->arr_n || !kv->arr)
        return false;
    es = lleval_gguf_vtype_size(kv->arr_type);
    if (!es)
        return false;
    memset(tmp, 0, sizeof(*tmp));
    tmp->type = kv->arr_type;
    /* Elements are stored in host order; turn them back into little-endian bytes. */
    switch (es) {
    case 1:
        b[0] = ((const uint8_t *)kv->arr)[i];
        break;
    case 2: {
        uint16_t v = ((const uint16_t *)kv->arr)[i];
        for (int k = 0; k < 2; k++)
            b[k] = (unsigned char)(v >> (8 * k));
        break;
    }
    case 4: {
        uint32_t v = ((const uint32_t *)kv->arr)[i];
        for (int k = 0; k < 4; k++)
            b[k] = (unsigned char)(v >> (8 * k));
        break;
    }
    default: {
        uint64_t v = ((const uint64_t *)kv->arr)[i];
        for (int k = 0; k < 8; k++)
            b[k] = (unsigned char)(v >> (8 * k));
        break;
    }
    }
    lleval_gguf_set_scalar(tmp, tmp->type, b);
    return true;
}

bool lleval_gguf_arr_uint(const struct lleval_gguf_kv *kv, uint64_t i, uint64_t *out)
{
    struct lleval_gguf_kv tmp;
    return arr_elem(kv, i, &tmp) && lleval_gguf_kv_uint(&tmp, out);
}

bool lleval_gguf_arr_float(const struct lleval_gguf_kv *kv, uint64_t i, double *out)
{
    struct lleval_gguf_kv tmp;
    if (!arr_elem(kv, i, &tmp))
        return false;
    if (tmp.type == LLEVAL_GGUF_F32 || tmp.type == LLEVAL_GGUF_F64)
        *out = tmp.v.f;
    else if (is_unsigned(tmp.type))
        *out = (double)tmp.v.u;
    else if (is_signed(tmp.type))
        *out = (double)tmp.v.i;
    else
        return false;
    return true;
}

const struct lleval_gguf_str *lleval_gguf_arr_str(const struct lleval_gguf_kv *kv, uint64_t i)
{
    if (kv->type != LLEVAL_GGUF_ARRAY || kv->arr_type != LLEVAL_GGUF_STRING || i >= kv->arr_n)
        return NULL;
    return &((const struct lleval_gguf_str *)kv->arr)[i];
}

const char *lleval_gguf_arch(const struct lleval_gguf *g)
{
    return lleval_gguf_get_str(g, "general.architecture");
}

bool lleval_gguf_get_arch_uint(const struct lleval_gguf *g, const char *suffix, uint64_t *out)
{
    const char *arch = lleval_gguf_arch(g);
    const struct lleval_gguf_kv *kv;
    char *key;
    bool found = false;

    if (!arch)
        return false;
    key = lleval_xasprintf("%s.%s", arch, suffix);
    kv = lleval_gguf_find(g, key);
    free(key);
    if (!kv)
        return false;
    if (kv->type != LLEVAL_GGUF_ARRAY)
        return lleval_gguf_kv_uint(kv, out);
    /* Per-layer values (head counts of hybrid models): the largest. */
    *out = 0;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint64_t v;
        if (lleval_gguf_arr_uint(kv, i, &v)) {
            if (!found || v > *out)
                *out = v;
            found = true;
        }
    }
    return found;
}

const struct lleval_gguf_tensor *lleval_gguf_tensor(const struct lleval_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

static int cmp_stat(const void *a, const void *b)
{
    const struct lleval_gguf_type_stat *x = a, *y = b;
    if (x->n_bytes != y->n_bytes)
        return x->n_bytes < y->n_bytes ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

size_t lleval_gguf_type_mix(const struct lleval_gguf *g, struct lleval_gguf_type_stat *out)
{
    struct lleval_gguf_type_stat all[LLEVAL_GGML_TYPE_COUNT];
    size_t n = 0;
    memset(all, 0, sizeof(all));
    for (size_t i = 0; i < g->n_tensors; i++) {
        const struct lleval_gguf_tensor *t = &g->tensors[i];
        if (t->type >= LLEVAL_GGML_TYPE_COUNT)
            continue;
        all[t->type].n_tensors++;
        all[t->type].n_bytes += t->n_bytes;
        all[t->type].n_elements += t->n_elements;
    }
    for (uint32_t t = 0; t < LLEVAL_GGML_TYPE_COUNT; t++) {
        if (!all[t].n_tensors)
            continue;
        all[t].type = t;
        out[n++] = all[t];
    }
    qsort(out, n, sizeof(*out), cmp_stat);
    return n;
}

void lleval_gguf_summarize(const struct lleval_gguf *g, struct lleval_gguf_summary *s)
{
    const struct lleval_gguf_tensor *embd;
    uint64_t v;

    memset(s, 0, sizeof(*s));
    s->arch = lleval_gguf_arch(g);
    s->name = lleval_gguf_get_str(g, "general.name");
    s->file_size = g->file_size;
    s->n_tensors = g->n_tensors;
    for (size_t i = 0; i < g->n_tensors; i++) {
        s->n_params += g->tensors[i].n_elements;
        s->tensor_bytes += g->tensors[i].n_bytes;
    }
    lleval_gguf_get_arch_uint(g, "context_length", &s->context_length);
    lleval_gguf_get_arch_uint(g, "embedding_length", &s->embedding);
    lleval_gguf_get_arch_uint(g, "block_count", &s->layers);
    lleval_gguf_get_arch_uint(g, "attention.head_count", &s->heads);
    lleval_gguf_get_arch_uint(g, "feed_forward_length", &s->feed_forward);
    if (!lleval_gguf_get_arch_uint(g, "attention.head_count_kv", &s->kv_heads))
        s->kv_heads = s->heads;
    if (!lleval_gguf_get_arch_uint(g, "attention.key_length", &s->head_dim) && s->heads)
        s->head_dim = s->embedding / s->heads;
    if (!lleval_gguf_get_arch_uint(g, "vocab_size", &s->vocab_size) &&
        !lleval_gguf_get_arr(g, "tokenizer.ggml.tokens", NULL, &s->vocab_size)) {
        embd = lleval_gguf_tensor(g, "token_embd.weight");
        if (embd && embd->n_dims >= 2)
            s->vocab_size = (uint64_t)embd->ne[1];
    }
    if (lleval_gguf_get_uint(g, "general.file_type", &v)) {
        s->has_file_type = true;
        s->file_type = v;
    }
}

const char *lleval_gguf_file_type_name(uint64_t file_type)
{
    /* llama_ftype values (llama.h); 4-6 and 33-35 were removed. */
    static const char *const names[] = {
        [0] = "F32",      [1] = "F16",      [2] = "Q4_0",       [3] = "Q4_1",    [7] = "Q8_0",
        [8] = "Q5_0",     [9] = "Q5_1",     [10] = "Q2_K",      [11] = "Q3_K_S", [12] = "Q3_K_M",
        [13] = "Q3_K_L",  [14] = "Q4_K_S",  [15] = "Q4_K_M",    [16] = "Q5_K_S", [17] = "Q5_K_M",
        [18] = "Q6_K",    [19] = "IQ2_XXS", [20] = "IQ2_XS",    [21] = "Q2_K_S", [22] = "IQ3_XS",
        [23] = "IQ3_XXS", [24] = "IQ1_S",   [25] = "IQ4_NL",    [26] = "IQ3_S",  [27] = "IQ3_M",
        [28] = "IQ2_S",   [29] = "IQ2_M",   [30] = "IQ4_XS",    [31] = "IQ1_M",  [32] = "BF16",
        [36] = "TQ1_0",   [37] = "TQ2_0",   [38] = "MXFP4_MOE", [39] = "NVFP4",  [40] = "Q1_0",
        [41] = "Q2_0",
    };
    if (file_type >= LLEVAL_ARRAY_SIZE(names))
        return NULL;
    return names[file_type];
}

/* Prints v with up to three significant digits and the unit, dropping trailing zeros. */
static void fmt_short(char *buf, size_t size, double v, const char *unit)
{
    char num[32];
    size_t len;
    snprintf(num, sizeof(num), "%.*f", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v);
    len = strlen(num);
    if (strchr(num, '.')) {
        while (len && num[len - 1] == '0')
            num[--len] = '\0';
        if (len && num[len - 1] == '.')
            num[--len] = '\0';
    }
    snprintf(buf, size, "%s %s", num, unit);
}

const char *lleval_gguf_fmt_count(char *buf, size_t size, uint64_t n)
{
    static const char *const units[] = {"K", "M", "B", "T"};
    double v = (double)n;
    int u = -1;
    if (n < 1000) {
        snprintf(buf, size, "%" PRIu64, n);
        return buf;
    }
    while (v >= 999.5 && u < 3) {
        v /= 1000.0;
        u++;
    }
    fmt_short(buf, size, v, units[u]);
    return buf;
}

const char *lleval_gguf_fmt_bytes(char *buf, size_t size, uint64_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = -1;
    if (n < 1024) {
        snprintf(buf, size, "%" PRIu64 " B", n);
        return buf;
    }
    while (v >= 1023.5 && u < 3) {
        v /= 1024.0;
        u++;
    }
    fmt_short(buf, size, v, units[u]);
    return buf;
}
