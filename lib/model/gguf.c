/*
 * GGUF reader: header, metadata and tensor infos of one file, a set of split
 * parts, or an in-memory image. The tensor data is never read: only its place
 * is checked against the file size. Type tables, getters and summaries are in
 * gguf_info.c.
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
#include "lleval/model/gguf.h"
#include "lleval/platform/fs.h"
#include "lleval/util/util.h"
#include "gguf_int.h"

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
void lleval_gguf_set_scalar(struct lleval_gguf_kv *kv, enum lleval_gguf_vtype t,
                            const unsigned char *b)
{
    uint64_t raw = le(b, (int)lleval_gguf_vtype_size(t));
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
    size_t n = lleval_gguf_vtype_size(t);
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
        uint64_t min = t == LLEVAL_GGUF_STRING ? 8 : lleval_gguf_vtype_size(t);
        if (n > (s->size - s->pos) / min)
            return truncated(
                s, err, "%" PRIu64 " elements of type %s cannot fit in the %" PRIu64 " bytes left",
                n, lleval_gguf_vtype_name((enum lleval_gguf_vtype)t), s->size - s->pos);
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
        size_t es = lleval_gguf_vtype_size((enum lleval_gguf_vtype)t);
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
        rc = src_read(s, b, lleval_gguf_vtype_size(kv->type), err);
        if (!rc)
            lleval_gguf_set_scalar(kv, kv->type, b);
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

const struct lleval_gguf_kv *lleval_gguf_find_kv(const struct lleval_gguf_kv *kv, size_t n,
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
        if (lleval_gguf_find_kv(p->kv, (size_t)i, p->kv[i].key))
            return corrupt(s, err, "duplicate key '%.100s'", p->kv[i].key);
    }
    p->alignment = 32;
    snprintf(s->what, sizeof(s->what), "metadata");
    al = lleval_gguf_find_kv(p->kv, p->n_kv, "general.alignment");
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
    if (lleval_fsize(f, &s.size)) {
        rc = lleval_err_errno(err, "cannot read", path);
        fclose(f);
        return rc;
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
        kv = lleval_gguf_find_kv(p.kv, p.n_kv, "split.no");
        if (kv && (!lleval_gguf_kv_uint(kv, &no) || no != i)) {
            part_release(&p);
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s': split.no is not %u as its file name says", pp, i);
        }
        kv = lleval_gguf_find_kv(p.kv, p.n_kv, "split.count");
        if (kv && (!lleval_gguf_kv_uint(kv, &cnt) || cnt != count)) {
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
    kv = lleval_gguf_find_kv(p.kv, p.n_kv, "split.count");
    if (kv && lleval_gguf_kv_uint(kv, &meta_count) && meta_count > 1) {
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
