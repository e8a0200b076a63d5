/*
 * GGUF reader: header, metadata and tensor infos of one file, a set of split
 * parts, or an in-memory image; type tables; summaries. The tensor data is
 * never read: only its place is checked against the file size.
 *
 * All integers are little-endian in the file and decoded byte by byte. Every
 * read goes through src_read(), which refuses to go past the end and records
 * what was being read, so corrupt input ends in a message, not a crash.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "lleval/model/gguf.h"
#include "lleval/util/util.h"

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
static size_t vtype_size(enum lleval_gguf_vtype t)
{
    static const size_t sizes[LLEVAL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t < LLEVAL_GGUF_VTYPE_COUNT ? sizes[t] : 0;
}

const char *lleval_gguf_vtype_name(enum lleval_gguf_vtype t)
{
    return (unsigned)t < LLEVAL_GGUF_VTYPE_COUNT ? vtype_names[t] : "unknown";
}

/* ---- the bounded source ------------------------------------------------- */

/* A file or a memory image, read front to back with every read bounded. */
struct src {
    FILE *f;
    const unsigned char *mem;
    uint64_t size;
    uint64_t pos;
    const char *name;
    char what[160]; /* what is being read, for messages */
};

#define ADVICE "the file is incomplete or corrupt: download or convert it again"

/* "'name': truncated at offset N while reading WHAT: DETAIL; ADVICE" */
static int truncated(struct src *s, struct lleval_err *err, const char *fmt, ...)
    LLEVAL_PRINTF(3, 4);
static int truncated(struct src *s, struct lleval_err *err, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "'%s': truncated at offset %" PRIu64 " while reading %s: %s; " ADVICE,
                          s->name, s->pos, s->what, detail);
}

static int src_read(struct src *s, void *buf, uint64_t n, struct lleval_err *err)
{
    if (n > s->size || s->pos > s->size - n)
        return truncated(s, err, "%" PRIu64 " more bytes needed, the file has %" PRIu64, n,
                         s->size);
    if (s->mem) {
        memcpy(buf, s->mem + s->pos, (size_t)n);
    } else if (n && fread(buf, 1, (size_t)n, s->f) != (size_t)n) {
        if (ferror(s->f))
            return lleval_err_set(err, LLEVAL_EIO, "'%s': cannot read at offset %" PRIu64 ": %s",
                                  s->name, s->pos, strerror(errno));
        return truncated(s, err, "the file ended early");
    }
    s->pos += n;
    return 0;
}

static int corrupt(struct src *s, struct lleval_err *err, const char *fmt, ...) LLEVAL_PRINTF(3, 4);
static int corrupt(struct src *s, struct lleval_err *err, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return lleval_err_set(err, LLEVAL_EINVAL, "'%s': corrupt GGUF at offset %" PRIu64 " in %s: %s",
                          s->name, s->pos, s->what, detail);
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static int rd_u32(struct src *s, uint32_t *out, struct lleval_err *err)
{
    unsigned char b[4];
    int rc = src_read(s, b, 4, err);
    if (!rc)
        *out = (uint32_t)le(b, 4);
    return rc;
}

static int rd_u64(struct src *s, uint64_t *out, struct lleval_err *err)
{
    unsigned char b[8];
    int rc = src_read(s, b, 8, err);
    if (!rc)
        *out = le(b, 8);
    return rc;
}

/* Reads a length-prefixed string of at most max bytes into an owned, NUL-terminated copy. */
static int rd_str(struct src *s, struct lleval_gguf_str *out, uint64_t max, struct lleval_err *err)
{
    uint64_t len;
    int rc = rd_u64(s, &len, err);
    if (rc)
        return rc;
    if (len > max)
        return corrupt(s, err, "string length %" PRIu64 " is over the limit of %" PRIu64, len, max);
    if (len > s->size - s->pos)
        return truncated(s, err,
                         "a string of %" PRIu64 " bytes runs past the end (%" PRIu64 " bytes)", len,
                         s->size);
    out->s = lleval_xmalloc((size_t)len + 1);
    rc = src_read(s, out->s, len, err);
    if (rc) {
        free(out->s);
        out->s = NULL;
        return rc;
    }
    out->s[len] = '\0';
    out->len = len;
    return 0;
}

/* ---- metadata ------------------------------------------------------------ */

static void kv_release(struct lleval_gguf_kv *kv)
{
    free(kv->key);
    if (kv->type == LLEVAL_GGUF_STRING)
        free(kv->v.str.s);
    if (kv->type == LLEVAL_GGUF_ARRAY && kv->arr) {
        if (kv->arr_type == LLEVAL_GGUF_STRING) {
            struct lleval_gguf_str *a = kv->arr;
            for (uint64_t i = 0; i < kv->arr_n; i++)
                free(a[i].s);
        }
        free(kv->arr);
    }
    memset(kv, 0, sizeof(*kv));
}

/* Decodes one fixed-size scalar of type t from b into the kv's value. */
static void set_scalar(struct lleval_gguf_kv *kv, enum lleval_gguf_vtype t, const unsigned char *b)
{
    uint64_t raw = le(b, (int)vtype_size(t));
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

/* Stores element i of a fixed-size array from its little-endian bytes in host order. */
static void set_elem(void *arr, enum lleval_gguf_vtype t, uint64_t i, const unsigned char *b)
{
    size_t n = vtype_size(t);
    uint64_t raw = le(b, (int)n);
    unsigned char *dst = (unsigned char *)arr + i * n;
    switch (n) {
    case 1: {
        uint8_t v = (uint8_t)raw;
        memcpy(dst, &v, 1);
        break;
    }
    case 2: {
        uint16_t v = (uint16_t)raw;
        memcpy(dst, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)raw;
        memcpy(dst, &v, 4);
        break;
    }
    default:
        memcpy(dst, &raw, 8);
        break;
    }
}

static int read_array(struct src *s, struct lleval_gguf_kv *kv, struct lleval_err *err)
{
    uint32_t t;
    uint64_t n;
    int rc = rd_u32(s, &t, err);
    if (!rc)
        rc = rd_u64(s, &n, err);
    if (rc)
        return rc;
    if (t == LLEVAL_GGUF_ARRAY)
        return corrupt(s, err, "arrays of arrays are not supported");
    if (t >= LLEVAL_GGUF_VTYPE_COUNT)
        return corrupt(s, err, "array element type %" PRIu32 " is not a GGUF value type", t);
    if (n > LLEVAL_GGUF_MAX_ARRAY_N)
        return corrupt(s, err, "array length %" PRIu64 " is over the limit of %llu", n,
                       (unsigned long long)LLEVAL_GGUF_MAX_ARRAY_N);
    /* Each element takes at least its size (8 bytes for a string's length):
     * refuse counts the rest of the file cannot hold before allocating. */
    {
        uint64_t min = t == LLEVAL_GGUF_STRING ? 8 : vtype_size(t);
        if (n > (s->size - s->pos) / min)
            return truncated(
                s, err, "%" PRIu64 " elements of type %s cannot fit in the %" PRIu64 " bytes left",
                n, vtype_names[t], s->size - s->pos);
    }
    kv->arr_type = (enum lleval_gguf_vtype)t;
    if (t == LLEVAL_GGUF_STRING) {
        struct lleval_gguf_str *a = lleval_xcalloc(n ? (size_t)n : 1, sizeof(*a));
        kv->arr = a;
        for (uint64_t i = 0; i < n; i++) {
            rc = rd_str(s, &a[i], LLEVAL_GGUF_MAX_STRING_LEN, err);
            if (rc)
                return rc;
            kv->arr_n = i + 1;
        }
        return 0;
    }
    {
        size_t es = vtype_size((enum lleval_gguf_vtype)t);
        unsigned char chunk[4096];
        uint64_t done = 0;
        kv->arr = lleval_xmalloc(n ? (size_t)n * es : 1);
        kv->arr_n = n;
        while (done < n) {
            uint64_t k = n - done;
            if (k > sizeof(chunk) / es)
                k = sizeof(chunk) / es;
            rc = src_read(s, chunk, k * es, err);
            if (rc)
                return rc;
            for (uint64_t j = 0; j < k; j++)
                set_elem(kv->arr, (enum lleval_gguf_vtype)t, done + j, chunk + j * es);
            done += k;
        }
    }
    return 0;
}

static int read_kv(struct src *s, struct lleval_gguf_kv *kv, uint64_t index, struct lleval_err *err)
{
    struct lleval_gguf_str key = {NULL, 0};
    uint32_t t;
    int rc;

    snprintf(s->what, sizeof(s->what), "metadata key %" PRIu64, index);
    rc = rd_str(s, &key, LLEVAL_GGUF_MAX_KEY_LEN, err);
    if (rc)
        return rc;
    kv->key = key.s;
    if (!key.len || strlen(key.s) != key.len)
        return corrupt(s, err, "the key is empty or holds a NUL byte");
    snprintf(s->what, sizeof(s->what), "metadata key %" PRIu64 " ('%.100s')", index, key.s);
    rc = rd_u32(s, &t, err);
    if (rc)
        return rc;
    if (t >= LLEVAL_GGUF_VTYPE_COUNT)
        return corrupt(s, err, "value type %" PRIu32 " is not a GGUF value type", t);
    kv->type = (enum lleval_gguf_vtype)t;
    if (t == LLEVAL_GGUF_STRING)
        return rd_str(s, &kv->v.str, LLEVAL_GGUF_MAX_STRING_LEN, err);
    if (t == LLEVAL_GGUF_ARRAY)
        return read_array(s, kv, err);
    {
        unsigned char b[8];
        rc = src_read(s, b, vtype_size(kv->type), err);
        if (!rc)
            set_scalar(kv, kv->type, b);
    }
    return rc;
}

/* ---- one part ------------------------------------------------------------ */

struct part {
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t size;
    struct lleval_gguf_kv *kv;
    size_t n_kv;
    struct lleval_gguf_tensor *tensors;
    size_t n_tensors;
};

static void part_release(struct part *p)
{
    for (size_t i = 0; i < p->n_kv; i++)
        kv_release(&p->kv[i]);
    free(p->kv);
    for (size_t i = 0; i < p->n_tensors; i++)
        free(p->tensors[i].name);
    free(p->tensors);
    memset(p, 0, sizeof(*p));
}

static const struct lleval_gguf_kv *find_kv(const struct lleval_gguf_kv *kv, size_t n,
                                            const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return &kv[i];
    return NULL;
}

static int read_header(struct src *s, struct part *p, uint64_t *n_tensors, uint64_t *n_kv,
                       struct lleval_err *err)
{
    unsigned char magic[4];
    int rc;

    snprintf(s->what, sizeof(s->what), "the header (magic)");
    rc = src_read(s, magic, 4, err);
    if (rc)
        return rc;
    if (memcmp(magic, "GGUF", 4)) {
        char shown[5];
        for (int i = 0; i < 4; i++)
            shown[i] = isprint(magic[i]) ? (char)magic[i] : '?';
        shown[4] = '\0';
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': not a GGUF file (magic '%s', expected 'GGUF'); give a .gguf "
                              "model file",
                              s->name, shown);
    }
    snprintf(s->what, sizeof(s->what), "the header (version)");
    rc = rd_u32(s, &p->version, err);
    if (rc)
        return rc;
    if (p->version == 1)
        return lleval_err_set(
            err, LLEVAL_EINVAL,
            "'%s': GGUF version 1 is no longer supported; convert the model again "
            "with a current llama.cpp",
            s->name);
    if (p->version != 2 && p->version != 3) {
        if ((p->version & 0xFFFF) == 0 && p->version != 0)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s': GGUF version %" PRIu32 " looks byte-swapped: big-endian "
                                  "GGUF files are not supported",
                                  s->name, p->version);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': GGUF version %" PRIu32 " is not supported (only 2 and 3)",
                              s->name, p->version);
    }
    snprintf(s->what, sizeof(s->what), "the header (tensor count)");
    rc = rd_u64(s, n_tensors, err);
    if (rc)
        return rc;
    snprintf(s->what, sizeof(s->what), "the header (metadata count)");
    rc = rd_u64(s, n_kv, err);
    if (rc)
        return rc;
    if (*n_tensors > LLEVAL_GGUF_MAX_TENSORS)
        return corrupt(s, err, "tensor count %" PRIu64 " is over the limit of %llu", *n_tensors,
                       (unsigned long long)LLEVAL_GGUF_MAX_TENSORS);
    if (*n_kv > LLEVAL_GGUF_MAX_KV)
        return corrupt(s, err, "metadata count %" PRIu64 " is over the limit of %llu", *n_kv,
                       (unsigned long long)LLEVAL_GGUF_MAX_KV);
    snprintf(s->what, sizeof(s->what), "the header");
    /* A key/value takes at least 12 bytes and a tensor info at least 24. */
    if (*n_kv > (s->size - s->pos) / 12 || *n_tensors > (s->size - s->pos) / 24)
        return truncated(s, err,
                         "%" PRIu64 " metadata keys and %" PRIu64
                         " tensors cannot fit in the %" PRIu64 " bytes left",
                         *n_kv, *n_tensors, s->size - s->pos);
    return 0;
}

static int read_tensor_info(struct src *s, struct lleval_gguf_tensor *t, uint64_t index,
                            struct lleval_err *err)
{
    struct lleval_gguf_str name = {NULL, 0};
    const struct lleval_ggml_type_info *ti;
    int rc;

    snprintf(s->what, sizeof(s->what), "tensor info %" PRIu64 " (name)", index);
    rc = rd_str(s, &name, LLEVAL_GGUF_MAX_NAME_LEN, err);
    if (rc)
        return rc;
    t->name = name.s;
    if (!name.len || strlen(name.s) != name.len)
        return corrupt(s, err, "the tensor name is empty or holds a NUL byte");
    snprintf(s->what, sizeof(s->what), "tensor info %" PRIu64 " ('%.100s')", index, name.s);
    rc = rd_u32(s, &t->n_dims, err);
    if (rc)
        return rc;
    if (t->n_dims > LLEVAL_GGUF_MAX_DIMS)
        return corrupt(s, err, "%" PRIu32 " dimensions (at most %d)", t->n_dims,
                       LLEVAL_GGUF_MAX_DIMS);
    t->n_elements = 1;
    for (uint32_t d = 0; d < LLEVAL_GGUF_MAX_DIMS; d++) {
        uint64_t v = 1;
        if (d < t->n_dims) {
            rc = rd_u64(s, &v, err);
            if (rc)
                return rc;
        }
        if (v > (uint64_t)INT64_MAX)
            return corrupt(s, err, "dimension %" PRIu32 " is negative", d);
        t->ne[d] = (int64_t)v;
        if (v && t->n_elements > (uint64_t)INT64_MAX / v)
            return corrupt(s, err, "the element count overflows");
        t->n_elements *= v;
    }
    rc = rd_u32(s, &t->type, err);
    if (rc)
        return rc;
    ti = lleval_ggml_type_info(t->type);
    if (!ti)
        return corrupt(s, err, "ggml type %" PRIu32 " is unknown (this lleval knows ids below %d)",
                       t->type, LLEVAL_GGML_TYPE_COUNT);
    if ((uint64_t)t->ne[0] % ti->block_size)
        return corrupt(
            s, err, "%" PRId64 " elements per row is not a multiple of the %s block size %" PRIu32,
            t->ne[0], ti->name, ti->block_size);
    if (!lleval_ggml_nbytes(t->type, t->n_elements, &t->n_bytes))
        return corrupt(s, err, "the byte size overflows");
    return rd_u64(s, &t->offset, err);
}

/* Parses one part: header, metadata, tensor infos; every tensor's data must
 * lie inside the source. */
static int parse_part(struct src *s, struct part *p, struct lleval_err *err)
{
    uint64_t n_tensors = 0, n_kv = 0;
    const struct lleval_gguf_kv *al;
    int rc;

    memset(p, 0, sizeof(*p));
    p->size = s->size;
    rc = read_header(s, p, &n_tensors, &n_kv, err);
    if (rc)
        return rc;
    p->kv = lleval_xcalloc(n_kv ? (size_t)n_kv : 1, sizeof(*p->kv));
    for (uint64_t i = 0; i < n_kv; i++) {
        p->n_kv = (size_t)i + 1;
        rc = read_kv(s, &p->kv[i], i, err);
        if (rc)
            return rc;
        if (find_kv(p->kv, (size_t)i, p->kv[i].key))
            return corrupt(s, err, "duplicate key '%.100s'", p->kv[i].key);
    }
    p->alignment = 32;
    snprintf(s->what, sizeof(s->what), "metadata");
    al = find_kv(p->kv, p->n_kv, "general.alignment");
    if (al) {
        if (al->type != LLEVAL_GGUF_U32)
            return corrupt(s, err, "general.alignment is a %s, not a u32",
                           lleval_gguf_vtype_name(al->type));
        if (!al->v.u || (al->v.u & (al->v.u - 1)) || al->v.u > (1u << 30))
            return corrupt(s, err, "general.alignment %" PRIu64 " is not a power of two up to 2^30",
                           al->v.u);
        p->alignment = (uint32_t)al->v.u;
    }
    p->tensors = lleval_xcalloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*p->tensors));
    for (uint64_t i = 0; i < n_tensors; i++) {
        p->n_tensors = (size_t)i + 1;
        rc = read_tensor_info(s, &p->tensors[i], i, err);
        if (rc)
            return rc;
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(p->tensors[j].name, p->tensors[i].name))
                return corrupt(s, err, "duplicate tensor name '%.100s'", p->tensors[i].name);
    }
    /* The data section starts at the next multiple of the alignment. */
    p->data_offset = s->pos + (p->alignment - s->pos % p->alignment) % p->alignment;
    for (size_t i = 0; i < p->n_tensors; i++) {
        const struct lleval_gguf_tensor *t = &p->tensors[i];
        uint64_t start, end;
        snprintf(s->what, sizeof(s->what), "tensor info %zu ('%.100s')", i, t->name);
        if (t->offset % p->alignment)
            return corrupt(s, err,
                           "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                           t->offset, p->alignment);
        if (t->offset > UINT64_MAX - p->data_offset ||
            t->n_bytes > UINT64_MAX - (p->data_offset + t->offset))
            return corrupt(s, err, "data offset %" PRIu64 " overflows", t->offset);
        start = p->data_offset + t->offset;
        end = start + t->n_bytes;
        if (end > s->size)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s': truncated: the data of tensor %zu ('%.100s', %" PRIu64
                                  " bytes at offset %" PRIu64 ") ends at offset %" PRIu64
                                  ", past the end of the file (%" PRIu64 " bytes); the file is "
                                  "incomplete: download or convert it again",
                                  s->name, i, t->name, t->n_bytes, start, end, s->size);
    }
    return 0;
}

/* ---- open, split files -------------------------------------------------- */

static int parse_file(const char *path, struct part *p, struct lleval_err *err)
{
    struct src s = {0};
    FILE *f = fopen(path, "rb");
    int rc;
    if (!f)
        return lleval_err_errno(err, "cannot open model file", path);
    {
        off_t end = -1;
        if (!fseeko(f, 0, SEEK_END))
            end = ftello(f);
        if (end < 0 || fseeko(f, 0, SEEK_SET)) {
            rc = lleval_err_errno(err, "cannot read", path);
            fclose(f);
            return rc;
        }
        s.size = (uint64_t)end;
    }
    s.f = f;
    s.name = path;
    rc = parse_part(&s, p, err);
    fclose(f);
    if (rc)
        part_release(p);
    return rc;
}

/* If path ends in "-NNNNN-of-MMMMM.gguf", sets the prefix length, part number
 * (1-based) and count. */
static bool split_name(const char *path, size_t *prefix_len, unsigned *no, unsigned *count)
{
    size_t len = strlen(path);
    const char *tail;
    static const char pattern[] = "-00000-of-00000.gguf"; /* digits where '0' stands */
    size_t plen = sizeof(pattern) - 1;
    if (len <= plen)
        return false;
    tail = path + len - plen;
    for (size_t i = 0; i < plen; i++) {
        if (pattern[i] == '0' ? !isdigit((unsigned char)tail[i]) : tail[i] != pattern[i])
            return false;
    }
    *no = (unsigned)strtoul(tail + 1, NULL, 10);
    *count = (unsigned)strtoul(tail + 10, NULL, 10);
    *prefix_len = len - plen;
    return *no >= 1 && *count >= 1 && *no <= *count;
}

static void gguf_from_part(struct lleval_gguf *g, struct part *p, const char *path)
{
    g->version = p->version;
    g->alignment = p->alignment;
    g->data_offset = p->data_offset;
    g->file_size = p->size;
    g->kv = p->kv;
    g->n_kv = p->n_kv;
    g->tensors = p->tensors;
    g->n_tensors = p->n_tensors;
    g->n_parts = 1;
    g->part_paths = lleval_xcalloc(1, sizeof(char *));
    g->part_paths[0] = lleval_xstrdup(path);
    memset(p, 0, sizeof(*p));
}

static bool kv_uint(const struct lleval_gguf_kv *kv, uint64_t *out);

static int open_split(struct lleval_gguf *g, const char *path, size_t prefix_len, unsigned count,
                      struct lleval_err *err)
{
    struct part p;
    int rc = 0;

    if (count > LLEVAL_GGUF_MAX_PARTS)
        return lleval_err_set(err, LLEVAL_EINVAL, "'%s': %u split parts is over the limit of %u",
                              path, count, LLEVAL_GGUF_MAX_PARTS);
    g->part_paths = lleval_xcalloc(count, sizeof(char *));
    for (unsigned i = 0; i < count; i++) {
        char *pp = lleval_xasprintf("%.*s-%05u-of-%05u.gguf", (int)prefix_len, path, i + 1, count);
        const struct lleval_gguf_kv *kv;
        uint64_t no = 0, cnt = 0;
        g->part_paths[i] = pp;
        g->n_parts = i + 1;
        rc = parse_file(pp, &p, err);
        if (rc) {
            if (rc == LLEVAL_EIO)
                lleval_err_prefix(err, "split model part %u of %u is missing or unreadable", i + 1,
                                  count);
            return rc;
        }
        kv = find_kv(p.kv, p.n_kv, "split.no");
        if (kv && (!kv_uint(kv, &no) || no != i)) {
            part_release(&p);
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s': split.no is not %u as its file name says", pp, i);
        }
        kv = find_kv(p.kv, p.n_kv, "split.count");
        if (kv && (!kv_uint(kv, &cnt) || cnt != count)) {
            part_release(&p);
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s': split.count is not %u as its file name says", pp, count);
        }
        if (i == 0) {
            g->version = p.version;
            g->alignment = p.alignment;
            g->data_offset = p.data_offset;
            g->kv = p.kv;
            g->n_kv = p.n_kv;
            p.kv = NULL;
            p.n_kv = 0;
        }
        g->file_size += p.size;
        if (p.n_tensors) {
            g->tensors =
                lleval_xrealloc(g->tensors, (g->n_tensors + p.n_tensors) * sizeof(*g->tensors));
            for (size_t t = 0; t < p.n_tensors; t++) {
                p.tensors[t].part = i;
                g->tensors[g->n_tensors++] = p.tensors[t];
            }
            free(p.tensors);
            p.tensors = NULL;
            p.n_tensors = 0;
        }
        part_release(&p);
    }
    /* Tensor names must be unique across parts too. */
    for (size_t i = 0; i < g->n_tensors; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(g->tensors[i].name, g->tensors[j].name))
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "'%s': tensor '%.100s' appears in two split parts", path,
                                      g->tensors[i].name);
    return 0;
}

int lleval_gguf_open(struct lleval_gguf *g, const char *path, struct lleval_err *err)
{
    struct part p;
    size_t prefix_len;
    unsigned no, count;
    uint64_t meta_count = 0;
    const struct lleval_gguf_kv *kv;
    int rc;

    memset(g, 0, sizeof(*g));
    if (split_name(path, &prefix_len, &no, &count) && count > 1) {
        g->path = lleval_xstrdup(path);
        rc = open_split(g, path, prefix_len, count, err);
        if (rc)
            lleval_gguf_release(g);
        return rc;
    }
    rc = parse_file(path, &p, err);
    if (rc)
        return rc;
    kv = find_kv(p.kv, p.n_kv, "split.count");
    if (kv && kv_uint(kv, &meta_count) && meta_count > 1) {
        part_release(&p);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': this is one part of a model split into %" PRIu64
                              " files, but its name does not end in '-00001-of-%05" PRIu64
                              ".gguf'; keep the names llama.cpp's gguf-split gave the parts",
                              path, meta_count, meta_count);
    }
    g->path = lleval_xstrdup(path);
    gguf_from_part(g, &p, path);
    return 0;
}

int lleval_gguf_parse_mem(struct lleval_gguf *g, const void *data, size_t len, const char *name,
                          struct lleval_err *err)
{
    struct src s = {0};
    struct part p;
    int rc;

    memset(g, 0, sizeof(*g));
    s.mem = data;
    s.size = len;
    s.name = name;
    rc = parse_part(&s, &p, err);
    if (rc) {
        part_release(&p);
        return rc;
    }
    g->path = lleval_xstrdup(name);
    gguf_from_part(g, &p, name);
    return 0;
}

void lleval_gguf_release(struct lleval_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++)
        kv_release(&g->kv[i]);
    free(g->kv);
    for (size_t i = 0; i < g->n_tensors; i++)
        free(g->tensors[i].name);
    free(g->tensors);
    for (uint32_t i = 0; i < g->n_parts; i++)
        free(g->part_paths[i]);
    free(g->part_paths);
    free(g->path);
    memset(g, 0, sizeof(*g));
}

/* ---- getters -------------------------------------------------------------- */

const struct lleval_gguf_kv *lleval_gguf_find(const struct lleval_gguf *g, const char *key)
{
    return find_kv(g->kv, g->n_kv, key);
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

static bool kv_uint(const struct lleval_gguf_kv *kv, uint64_t *out)
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
    return kv && kv_uint(kv, out);
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

/* Reads element i of a numeric array as a scalar kv. */
static bool arr_elem(const struct lleval_gguf_kv *kv, uint64_t i, struct lleval_gguf_kv *tmp)
{
    size_t es;
    unsigned char b[8];
    if (kv->type != LLEVAL_GGUF_ARRAY || i >= kv->arr_n || !kv->arr)
        return false;
    es = vtype_size(kv->arr_type);
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
    set_scalar(tmp, tmp->type, b);
    return true;
}

bool lleval_gguf_arr_uint(const struct lleval_gguf_kv *kv, uint64_t i, uint64_t *out)
{
    struct lleval_gguf_kv tmp;
    return arr_elem(kv, i, &tmp) && kv_uint(&tmp, out);
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
        return kv_uint(kv, out);
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
