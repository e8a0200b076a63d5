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
    char item[160]; /* the header, a metadata key or a tensor info, for messages */
    char field[64]; /* the field of item being read ("value length", "dimension 1") */
    uint64_t at;    /* where that field starts */
};

#define ADVICE "the file is incomplete or corrupt: download or convert it again"

static void set_item(struct src *s, const char *fmt, ...) LLEVAL_PRINTF(2, 3);
static void set_item(struct src *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->item, sizeof(s->item), fmt, ap);
    va_end(ap);
}

/* Names the field of the current item that starts at offset at. */
static void set_field(struct src *s, uint64_t at, const char *fmt, ...) LLEVAL_PRINTF(3, 4);
static void set_field(struct src *s, uint64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->field, sizeof(s->field), fmt, ap);
    va_end(ap);
    s->at = at;
}

enum fault { CORRUPT, TRUNCATED, UNSUPPORTED };

/* "'name': corrupt GGUF at offset N in ITEM: FIELD: DETAIL", "'name': truncated at
 * offset N while reading ITEM: FIELD: DETAIL; ADVICE" or "'name': unsupported GGUF at
 * offset N in ITEM: FIELD: DETAIL", N being where the field starts. */
static int fault(struct src *s, struct lleval_err *err, enum fault kind, const char *fmt, ...)
    LLEVAL_PRINTF(4, 5);
static int fault(struct src *s, struct lleval_err *err, enum fault kind, const char *fmt, ...)
{
    static const char *const lead[] = {"corrupt GGUF at offset", "truncated at offset",
                                       "unsupported GGUF at offset"};
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return lleval_err_set(err, LLEVAL_EINVAL, "'%s': %s %" PRIu64 " %s %s: %s: %s%s", s->name,
                          lead[kind], s->at, kind == TRUNCATED ? "while reading" : "in", s->item,
                          s->field, detail, kind == TRUNCATED ? "; " ADVICE : "");
}

static int src_read(struct src *s, void *buf, uint64_t n, struct lleval_err *err)
{
    if (n > s->size || s->pos > s->size - n)
        return fault(s, err, TRUNCATED,
                     "%" PRIu64 " bytes needed from offset %" PRIu64 ", the file has %" PRIu64
                     " bytes",
                     n, s->pos, s->size);
    if (s->mem) {
        memcpy(buf, s->mem + s->pos, (size_t)n);
    } else if (n && fread(buf, 1, (size_t)n, s->f) != (size_t)n) {
        if (ferror(s->f))
            return lleval_err_set(err, LLEVAL_EIO,
                                  "'%s': cannot read at offset %" PRIu64 " (%s: %s): %s", s->name,
                                  s->pos, s->item, s->field, strerror(errno));
        return fault(s, err, TRUNCATED, "the file ended early, before offset %" PRIu64, s->pos + n);
    }
    s->pos += n;
    return 0;
}

uint64_t lleval_gguf_le(const unsigned char *b, int n)
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
        *out = (uint32_t)lleval_gguf_le(b, 4);
    return rc;
}

static int rd_u64(struct src *s, uint64_t *out, struct lleval_err *err)
{
    unsigned char b[8];
    int rc = src_read(s, b, 8, err);
    if (!rc)
        *out = lleval_gguf_le(b, 8);
    return rc;
}

/* Reads a length-prefixed string of at most max bytes into an owned, NUL-terminated
 * copy. label names the field ("key", "value", "element 3"); its length is "<label>
 * length". Both start where the length does. */
static int rd_str(struct src *s, struct lleval_gguf_str *out, uint64_t max, const char *label,
                  struct lleval_err *err)
{
    uint64_t at = s->pos, len;
    int rc;
    set_field(s, at, "%s length", label);
    rc = rd_u64(s, &len, err);
    if (rc)
        return rc;
    if (len > max)
        return fault(s, err, CORRUPT, "string length %" PRIu64 " is over the limit of %" PRIu64,
                     len, max);
    if (len > s->size - s->pos)
        return fault(s, err, TRUNCATED,
                     "a string of %" PRIu64 " bytes from offset %" PRIu64
                     " runs past the end (the file has %" PRIu64 " bytes)",
                     len, s->pos, s->size);
    set_field(s, at, "%s", label);
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

/* Stores element i of a fixed-size array from its little-endian bytes in host order. */
static void set_elem(void *arr, enum lleval_gguf_vtype t, uint64_t i, const unsigned char *b)
{
    size_t n = lleval_gguf_vtype_size(t);
    uint64_t raw = lleval_gguf_le(b, (int)n);
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
    int rc;

    set_field(s, s->pos, "array element type");
    rc = rd_u32(s, &t, err);
    if (rc)
        return rc;
    if (t == LLEVAL_GGUF_ARRAY)
        return fault(s, err, CORRUPT, "arrays of arrays are not supported");
    if (t >= LLEVAL_GGUF_VTYPE_COUNT)
        return fault(s, err, CORRUPT, "array element type %" PRIu32 " is not a GGUF value type", t);
    set_field(s, s->pos, "array length");
    rc = rd_u64(s, &n, err);
    if (rc)
        return rc;
    if (n > LLEVAL_GGUF_MAX_ARRAY_N)
        return fault(s, err, CORRUPT, "array length %" PRIu64 " is over the limit of %llu", n,
                     (unsigned long long)LLEVAL_GGUF_MAX_ARRAY_N);
    /* Each element takes at least its size (8 bytes for a string's length):
     * refuse counts the rest of the file cannot hold before allocating. */
    {
        uint64_t min = t == LLEVAL_GGUF_STRING ? 8 : lleval_gguf_vtype_size(t);
        if (n > (s->size - s->pos) / min)
            return fault(s, err, TRUNCATED,
                         "%" PRIu64 " elements of type %s cannot fit in the %" PRIu64
                         " bytes left after offset %" PRIu64,
                         n, lleval_gguf_vtype_name((enum lleval_gguf_vtype)t), s->size - s->pos,
                         s->pos);
    }
    kv->arr_type = (enum lleval_gguf_vtype)t;
    if (t == LLEVAL_GGUF_STRING) {
        struct lleval_gguf_str *a = lleval_xcalloc(n ? (size_t)n : 1, sizeof(*a));
        kv->arr = a;
        for (uint64_t i = 0; i < n; i++) {
            char label[32];
            snprintf(label, sizeof(label), "element %" PRIu64, i);
            rc = rd_str(s, &a[i], LLEVAL_GGUF_MAX_STRING_LEN, label, err);
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
            set_field(s, s->pos, "element %" PRIu64, done);
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

/* Reads metadata key index into kvs[index]; its key must differ from the earlier ones.
 * Sets *type_at to where its value type starts. */
static int read_kv(struct src *s, struct lleval_gguf_kv *kvs, uint64_t index, uint64_t *type_at,
                   struct lleval_err *err)
{
    struct lleval_gguf_kv *kv = &kvs[index];
    const struct lleval_gguf_kv *dup;
    struct lleval_gguf_str key = {NULL, 0};
    uint32_t t;
    int rc;

    set_item(s, "metadata key %" PRIu64, index);
    rc = rd_str(s, &key, LLEVAL_GGUF_MAX_KEY_LEN, "key", err);
    if (rc)
        return rc;
    kv->key = key.s;
    if (!key.len || strlen(key.s) != key.len)
        return fault(s, err, CORRUPT, "the key is empty or holds a NUL byte");
    dup = lleval_gguf_find_kv(kvs, (size_t)index, key.s);
    if (dup)
        return fault(s, err, CORRUPT, "duplicate key '%.100s' (also metadata key %zu)", key.s,
                     (size_t)(dup - kvs));
    set_item(s, "metadata key %" PRIu64 " ('%.100s')", index, key.s);
    *type_at = s->pos;
    set_field(s, s->pos, "value type");
    rc = rd_u32(s, &t, err);
    if (rc)
        return rc;
    if (t >= LLEVAL_GGUF_VTYPE_COUNT)
        return fault(s, err, CORRUPT, "value type %" PRIu32 " is not a GGUF value type", t);
    kv->type = (enum lleval_gguf_vtype)t;
    if (t == LLEVAL_GGUF_STRING)
        return rd_str(s, &kv->v.str, LLEVAL_GGUF_MAX_STRING_LEN, "value", err);
    if (t == LLEVAL_GGUF_ARRAY)
        return read_array(s, kv, err);
    {
        unsigned char b[8];
        set_field(s, s->pos, "value");
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

static int read_header(struct src *s, struct part *p, uint64_t *n_tensors, uint64_t *n_kv,
                       struct lleval_err *err)
{
    unsigned char magic[4];
    int rc;

    set_item(s, "header");
    set_field(s, 0, "magic");
    rc = src_read(s, magic, 4, err);
    if (rc)
        return rc;
    if (memcmp(magic, "GGUF", 4)) {
        char shown[5];
        for (int i = 0; i < 4; i++)
            shown[i] = isprint(magic[i]) ? (char)magic[i] : '?';
        shown[4] = '\0';
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': not a GGUF file at offset 0 in header: magic: '%s', expected "
                              "'GGUF'; give a .gguf model file",
                              s->name, shown);
    }
    set_field(s, 4, "version");
    rc = rd_u32(s, &p->version, err);
    if (rc)
        return rc;
    if (p->version == 1)
        return fault(s, err, UNSUPPORTED,
                     "GGUF version 1 is no longer supported; convert the model again with a "
                     "current llama.cpp");
    if (p->version != 2 && p->version != 3) {
        if ((p->version & 0xFFFF) == 0 && p->version != 0)
            return fault(s, err, UNSUPPORTED,
                         "GGUF version %" PRIu32 " looks byte-swapped: big-endian GGUF files "
                         "are not supported",
                         p->version);
        return fault(s, err, UNSUPPORTED,
                     "GGUF version %" PRIu32 " is not supported (only 2 and 3)", p->version);
    }
    set_field(s, 8, "tensor_count");
    rc = rd_u64(s, n_tensors, err);
    if (rc)
        return rc;
    if (*n_tensors > LLEVAL_GGUF_MAX_TENSORS)
        return fault(s, err, CORRUPT, "tensor count %" PRIu64 " is over the limit of %llu",
                     *n_tensors, (unsigned long long)LLEVAL_GGUF_MAX_TENSORS);
    set_field(s, 16, "metadata_kv_count");
    rc = rd_u64(s, n_kv, err);
    if (rc)
        return rc;
    if (*n_kv > LLEVAL_GGUF_MAX_KV)
        return fault(s, err, CORRUPT, "metadata count %" PRIu64 " is over the limit of %llu", *n_kv,
                     (unsigned long long)LLEVAL_GGUF_MAX_KV);
    /* A key/value takes at least 12 bytes and a tensor info at least 24. */
    if (*n_kv > (s->size - s->pos) / 12)
        return fault(s, err, TRUNCATED,
                     "%" PRIu64 " metadata keys cannot fit in the %" PRIu64 " bytes left", *n_kv,
                     s->size - s->pos);
    if (*n_tensors > (s->size - s->pos) / 24) {
        set_field(s, 8, "tensor_count");
        return fault(s, err, TRUNCATED,
                     "%" PRIu64 " tensor infos cannot fit in the %" PRIu64 " bytes left",
                     *n_tensors, s->size - s->pos);
    }
    return 0;
}

/* Reads tensor info index into p->tensors[index]; its name must differ from the
 * earlier ones and its data offset be aligned. Sets *offset_at to where that
 * data offset starts. */
static int read_tensor_info(struct src *s, struct part *p, uint64_t index, uint64_t *offset_at,
                            struct lleval_err *err)
{
    struct lleval_gguf_tensor *t = &p->tensors[index];
    struct lleval_gguf_str name = {NULL, 0};
    const struct lleval_ggml_type_info *ti;
    int rc;

    set_item(s, "tensor info %" PRIu64, index);
    rc = rd_str(s, &name, LLEVAL_GGUF_MAX_NAME_LEN, "name", err);
    if (rc)
        return rc;
    t->name = name.s;
    if (!name.len || strlen(name.s) != name.len)
        return fault(s, err, CORRUPT, "the tensor name is empty or holds a NUL byte");
    for (uint64_t j = 0; j < index; j++)
        if (!strcmp(p->tensors[j].name, name.s))
            return fault(s, err, CORRUPT,
                         "duplicate tensor name '%.100s' (also tensor info %" PRIu64 ")", name.s,
                         j);
    set_item(s, "tensor info %" PRIu64 " ('%.100s')", index, name.s);
    set_field(s, s->pos, "n_dims");
    rc = rd_u32(s, &t->n_dims, err);
    if (rc)
        return rc;
    if (t->n_dims > LLEVAL_GGUF_MAX_DIMS)
        return fault(s, err, CORRUPT, "%" PRIu32 " dimensions (at most %d)", t->n_dims,
                     LLEVAL_GGUF_MAX_DIMS);
    t->n_elements = 1;
    for (uint32_t d = 0; d < LLEVAL_GGUF_MAX_DIMS; d++) {
        uint64_t v = 1;
        if (d < t->n_dims) {
            set_field(s, s->pos, "dimension %" PRIu32, d);
            rc = rd_u64(s, &v, err);
            if (rc)
                return rc;
            if (v > (uint64_t)INT64_MAX)
                return fault(s, err, CORRUPT, "%" PRIu64 " elements is negative as an int64", v);
            if (v && t->n_elements > (uint64_t)INT64_MAX / v)
                return fault(s, err, CORRUPT,
                             "%" PRIu64 " elements makes the element count overflow", v);
        }
        t->ne[d] = (int64_t)v;
        t->n_elements *= v;
    }
    set_field(s, s->pos, "type");
    rc = rd_u32(s, &t->type, err);
    if (rc)
        return rc;
    ti = lleval_ggml_type_info(t->type);
    if (!ti)
        return fault(s, err, CORRUPT,
                     "ggml type %" PRIu32 " is unknown (this lleval knows ids below %d)", t->type,
                     LLEVAL_GGML_TYPE_COUNT);
    if ((uint64_t)t->ne[0] % ti->block_size)
        return fault(s, err, CORRUPT,
                     "%" PRId64 " elements per row (dimension 0) is not a multiple of the %s "
                     "block size %" PRIu32,
                     t->ne[0], ti->name, ti->block_size);
    if (!lleval_ggml_nbytes(t->type, t->n_elements, &t->n_bytes))
        return fault(s, err, CORRUPT, "the byte size of %" PRIu64 " %s elements overflows",
                     t->n_elements, ti->name);
    *offset_at = s->pos;
    set_field(s, s->pos, "data offset");
    rc = rd_u64(s, &t->offset, err);
    if (rc)
        return rc;
    if (t->offset % p->alignment)
        return fault(s, err, CORRUPT,
                     "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                     t->offset, p->alignment);
    return 0;
}

/* Checks general.alignment (metadata key index, its value type at type_at) and sets it. */
static int set_alignment(struct src *s, struct part *p, size_t index, uint64_t type_at,
                         struct lleval_err *err)
{
    const struct lleval_gguf_kv *al = &p->kv[index];
    set_item(s, "metadata key %zu ('general.alignment')", index);
    set_field(s, type_at, "value type");
    if (al->type != LLEVAL_GGUF_U32)
        return fault(s, err, CORRUPT, "general.alignment is a %s, not a u32",
                     lleval_gguf_vtype_name(al->type));
    set_field(s, type_at + 4, "value");
    if (!al->v.u || (al->v.u & (al->v.u - 1)) || al->v.u > (1u << 30))
        return fault(s, err, CORRUPT,
                     "general.alignment %" PRIu64 " is not a power of two up to 2^30", al->v.u);
    p->alignment = (uint32_t)al->v.u;
    return 0;
}

/* Every tensor's data must lie inside the source: the data section starts at the
 * next multiple of the alignment after the tensor infos. offset_at[i] is where
 * tensor info i's data offset starts. */
static int check_data(struct src *s, struct part *p, const uint64_t *offset_at,
                      struct lleval_err *err)
{
    uint64_t infos_end = s->pos;
    bool has_data = false;

    p->data_offset = infos_end + (p->alignment - infos_end % p->alignment) % p->alignment;
    for (size_t i = 0; i < p->n_tensors; i++)
        has_data = has_data || p->tensors[i].n_bytes;
    if (has_data && p->data_offset > s->size)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "'%s': truncated: the data section would start at offset %" PRIu64
                              " (the tensor infos end at offset %" PRIu64 ", aligned to %" PRIu32
                              "), past the end of the file (%" PRIu64 " bytes); " ADVICE,
                              s->name, p->data_offset, infos_end, p->alignment, s->size);
    for (size_t i = 0; i < p->n_tensors; i++) {
        const struct lleval_gguf_tensor *t = &p->tensors[i];
        uint64_t start, end;
        set_item(s, "tensor info %zu ('%.100s')", i, t->name);
        set_field(s, offset_at[i], "data offset");
        if (t->offset > UINT64_MAX - p->data_offset ||
            t->n_bytes > UINT64_MAX - (p->data_offset + t->offset))
            return fault(s, err, CORRUPT,
                         "data offset %" PRIu64 " overflows (data section at offset %" PRIu64
                         ", %" PRIu64 " bytes)",
                         t->offset, p->data_offset, t->n_bytes);
        start = p->data_offset + t->offset;
        end = start + t->n_bytes;
        if (end > s->size)
            return fault(s, err, TRUNCATED,
                         "the data of tensor %zu ('%.100s', %" PRIu64 " bytes at offset %" PRIu64
                         " = data section %" PRIu64 " + data offset %" PRIu64
                         ") ends at offset %" PRIu64 ", past the end of the file (%" PRIu64
                         " bytes)",
                         i, t->name, t->n_bytes, start, p->data_offset, t->offset, end, s->size);
    }
    return 0;
}

/* Parses one part: header, metadata, tensor infos; every tensor's data must
 * lie inside the source. */
static int parse_part(struct src *s, struct part *p, struct lleval_err *err)
{
    uint64_t n_tensors = 0, n_kv = 0, type_at = 0, *offset_at;
    int rc;

    memset(p, 0, sizeof(*p));
    p->size = s->size;
    p->alignment = 32;
    rc = read_header(s, p, &n_tensors, &n_kv, err);
    if (rc)
        return rc;
    p->kv = lleval_xcalloc(n_kv ? (size_t)n_kv : 1, sizeof(*p->kv));
    for (uint64_t i = 0; i < n_kv; i++) {
        p->n_kv = (size_t)i + 1;
        rc = read_kv(s, p->kv, i, &type_at, err);
        if (!rc && !strcmp(p->kv[i].key, "general.alignment"))
            rc = set_alignment(s, p, (size_t)i, type_at, err);
        if (rc)
            return rc;
    }
    p->tensors = lleval_xcalloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*p->tensors));
    offset_at = lleval_xcalloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*offset_at));
    for (uint64_t i = 0; i < n_tensors && !rc; i++) {
        p->n_tensors = (size_t)i + 1;
        rc = read_tensor_info(s, p, i, &offset_at[i], err);
    }
    if (!rc)
        rc = check_data(s, p, offset_at, err);
    free(offset_at);
    return rc;
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
