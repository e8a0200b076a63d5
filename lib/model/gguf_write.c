/*
 * GGUF writer (version 3, little-endian): metadata and tensor infos are
 * collected first, then the header is written and tensor data is streamed in
 * declaration order into a temporary file that is renamed over the target
 * only when complete, so a crash never leaves a half-written model behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/util/util.h"

/* One key and its value, already serialized (type id and payload). */
struct wkv {
    char *key;
    struct lleval_sb value;
};

struct wtensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[LLEVAL_GGUF_MAX_DIMS];
    uint32_t type;
    uint64_t n_bytes;
    uint64_t offset;
};

struct lleval_gguf_writer {
    struct wkv *kv;
    size_t n_kv, cap_kv;
    struct wtensor *t;
    size_t n_t, cap_t;
    uint32_t alignment;

    /* streaming state */
    FILE *f;
    char *path;
    char *tmp;
    size_t cur;       /* tensor receiving data */
    uint64_t cur_off; /* bytes of it written */
    bool failed;
};

struct lleval_gguf_writer *lleval_gguf_writer_new(void)
{
    struct lleval_gguf_writer *w = lleval_xcalloc(1, sizeof(*w));
    w->alignment = 32;
    return w;
}

void lleval_gguf_writer_free(struct lleval_gguf_writer *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        remove(w->tmp);
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        lleval_sb_release(&w->kv[i].value);
    }
    free(w->kv);
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->t);
    free(w->path);
    free(w->tmp);
    free(w);
}

static void put_le(struct lleval_sb *sb, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        lleval_sb_addch(sb, (char)(unsigned char)(v >> (8 * i)));
}

static void put_str(struct lleval_sb *sb, const char *s, size_t len)
{
    put_le(sb, len, 8);
    lleval_sb_add(sb, s, len);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Returns the value buffer of key, emptied, adding the key when new. */
static struct lleval_sb *slot(struct lleval_gguf_writer *w, const char *key,
                              enum lleval_gguf_vtype type)
{
    struct lleval_sb *sb = NULL;
    for (size_t i = 0; i < w->n_kv && !sb; i++)
        if (!strcmp(w->kv[i].key, key))
            sb = &w->kv[i].value;
    if (!sb) {
        LLEVAL_GROW(w->kv, w->n_kv, w->cap_kv);
        w->kv[w->n_kv].key = lleval_xstrdup(key);
        lleval_sb_init(&w->kv[w->n_kv].value, 16);
        sb = &w->kv[w->n_kv++].value;
    }
    lleval_sb_reset(sb);
    put_le(sb, (uint64_t)type, 4);
    return sb;
}

void lleval_gguf_writer_set_u32(struct lleval_gguf_writer *w, const char *key, uint32_t v)
{
    put_le(slot(w, key, LLEVAL_GGUF_U32), v, 4);
}

void lleval_gguf_writer_set_i32(struct lleval_gguf_writer *w, const char *key, int32_t v)
{
    put_le(slot(w, key, LLEVAL_GGUF_I32), (uint32_t)v, 4);
}

void lleval_gguf_writer_set_u64(struct lleval_gguf_writer *w, const char *key, uint64_t v)
{
    put_le(slot(w, key, LLEVAL_GGUF_U64), v, 8);
}

void lleval_gguf_writer_set_f32(struct lleval_gguf_writer *w, const char *key, float v)
{
    put_le(slot(w, key, LLEVAL_GGUF_F32), f32_bits(v), 4);
}

void lleval_gguf_writer_set_bool(struct lleval_gguf_writer *w, const char *key, bool v)
{
    put_le(slot(w, key, LLEVAL_GGUF_BOOL), v ? 1 : 0, 1);
}

void lleval_gguf_writer_set_str(struct lleval_gguf_writer *w, const char *key, const char *v)
{
    put_str(slot(w, key, LLEVAL_GGUF_STRING), v, strlen(v));
}

void lleval_gguf_writer_set_arr_str(struct lleval_gguf_writer *w, const char *key,
                                    const char *const *v, size_t n)
{
    struct lleval_sb *sb = slot(w, key, LLEVAL_GGUF_ARRAY);
    put_le(sb, LLEVAL_GGUF_STRING, 4);
    put_le(sb, n, 8);
    for (size_t i = 0; i < n; i++)
        put_str(sb, v[i], strlen(v[i]));
}

void lleval_gguf_writer_set_arr_f32(struct lleval_gguf_writer *w, const char *key, const float *v,
                                    size_t n)
{
    struct lleval_sb *sb = slot(w, key, LLEVAL_GGUF_ARRAY);
    put_le(sb, LLEVAL_GGUF_F32, 4);
    put_le(sb, n, 8);
    for (size_t i = 0; i < n; i++)
        put_le(sb, f32_bits(v[i]), 4);
}

void lleval_gguf_writer_set_arr_i32(struct lleval_gguf_writer *w, const char *key, const int32_t *v,
                                    size_t n)
{
    struct lleval_sb *sb = slot(w, key, LLEVAL_GGUF_ARRAY);
    put_le(sb, LLEVAL_GGUF_I32, 4);
    put_le(sb, n, 8);
    for (size_t i = 0; i < n; i++)
        put_le(sb, (uint32_t)v[i], 4);
}

int lleval_gguf_writer_set_alignment(struct lleval_gguf_writer *w, uint32_t alignment,
                                     struct lleval_err *err)
{
    if (!alignment || (alignment & (alignment - 1)) || alignment > (1u << 30))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf alignment %" PRIu32 " is not a power of two up to 2^30",
                              alignment);
    w->alignment = alignment;
    lleval_gguf_writer_set_u32(w, "general.alignment", alignment);
    return 0;
}

int lleval_gguf_writer_add_tensor(struct lleval_gguf_writer *w, const char *name, uint32_t n_dims,
                                  const int64_t *ne, uint32_t type, struct lleval_err *err)
{
    const struct lleval_ggml_type_info *ti = lleval_ggml_type_info(type);
    struct wtensor t = {0};
    uint64_t n = 1;

    if (w->f)
        return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: tensor '%s' added after begin",
                              name);
    if (!*name || strlen(name) > LLEVAL_GGUF_MAX_NAME_LEN)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: tensor name '%.64s' is empty or too long", name);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name))
            return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: tensor '%s' added twice", name);
    if (!ti)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: tensor '%s' has unknown type %" PRIu32, name, type);
    if (n_dims < 1 || n_dims > LLEVAL_GGUF_MAX_DIMS)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: tensor '%s' has %" PRIu32 " dimensions", name, n_dims);
    for (uint32_t d = 0; d < LLEVAL_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || (t.ne[d] && n > (uint64_t)INT64_MAX / (uint64_t)t.ne[d]))
            return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: tensor '%s' has a bad shape",
                                  name);
        n *= (uint64_t)t.ne[d];
    }
    if ((uint64_t)t.ne[0] % ti->block_size)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: tensor '%s' has %" PRId64
                              " elements per row, not a multiple of the %s block size %" PRIu32,
                              name, t.ne[0], ti->name, ti->block_size);
    if (!lleval_ggml_nbytes(type, n, &t.n_bytes))
        return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: tensor '%s' is too large", name);
    t.name = lleval_xstrdup(name);
    t.n_dims = n_dims;
    t.type = type;
    LLEVAL_GROW(w->t, w->n_t, w->cap_t);
    w->t[w->n_t++] = t;
    return 0;
}

uint64_t lleval_gguf_writer_tensor_bytes(const struct lleval_gguf_writer *w, size_t i)
{
    return i < w->n_t ? w->t[i].n_bytes : 0;
}

static uint64_t pad_to(uint64_t n, uint32_t alignment)
{
    return (alignment - n % alignment) % alignment;
}

static int write_bytes(struct lleval_gguf_writer *w, const void *data, size_t len,
                       struct lleval_err *err)
{
    if (len && fwrite(data, 1, len, w->f) != len) {
        w->failed = true;
        return lleval_err_errno(err, "cannot write", w->tmp);
    }
    return 0;
}

static int write_zeros(struct lleval_gguf_writer *w, uint64_t n, struct lleval_err *err)
{
    static const char zeros[256];
    while (n) {
        size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;
        int rc = write_bytes(w, zeros, k, err);
        if (rc)
            return rc;
        n -= k;
    }
    return 0;
}

int lleval_gguf_writer_begin(struct lleval_gguf_writer *w, const char *path, struct lleval_err *err)
{
    struct lleval_sb head = LLEVAL_SB_INIT;
    uint64_t off = 0;
    int rc;

    if (w->f)
        return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: begin called twice");
    lleval_sb_add(&head, "GGUF", 4);
    put_le(&head, 3, 4);
    put_le(&head, w->n_t, 8);
    put_le(&head, w->n_kv, 8);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&head, w->kv[i].key, strlen(w->kv[i].key));
        lleval_sb_add(&head, w->kv[i].value.buf, w->kv[i].value.len);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        struct wtensor *t = &w->t[i];
        t->offset = off;
        off += t->n_bytes + pad_to(t->n_bytes, w->alignment);
        put_str(&head, t->name, strlen(t->name));
        put_le(&head, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_le(&head, (uint64_t)t->ne[d], 8);
        put_le(&head, t->type, 4);
        put_le(&head, t->offset, 8);
    }
    {
        uint64_t pad = pad_to(head.len, w->alignment);
        for (uint64_t i = 0; i < pad; i++)
            lleval_sb_addch(&head, '\0');
    }

    w->path = lleval_xstrdup(path);
    w->tmp = lleval_xasprintf("%s.tmp.%ld", path, lleval_getpid());
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        rc = lleval_err_errno(err, "cannot create", w->tmp);
        lleval_sb_release(&head);
        return rc;
    }
    rc = write_bytes(w, head.buf, head.len, err);
    lleval_sb_release(&head);
    w->cur = 0;
    w->cur_off = 0;
    return rc;
}

/* Finishes tensors that are complete (zero-size ones included): writes their padding. */
static int advance(struct lleval_gguf_writer *w, struct lleval_err *err)
{
    while (w->cur < w->n_t && w->cur_off == w->t[w->cur].n_bytes) {
        int rc = write_zeros(w, pad_to(w->t[w->cur].n_bytes, w->alignment), err);
        if (rc)
            return rc;
        w->cur++;
        w->cur_off = 0;
    }
    return 0;
}

int lleval_gguf_writer_data(struct lleval_gguf_writer *w, const void *data, size_t len,
                            struct lleval_err *err)
{
    const unsigned char *p = data;
    int rc;

    if (!w->f || w->failed)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: data written before begin or after an error");
    rc = advance(w, err);
    while (!rc && len) {
        uint64_t left;
        size_t k;
        if (w->cur >= w->n_t)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "gguf writer: %zu bytes of data beyond the declared tensors",
                                  len);
        left = w->t[w->cur].n_bytes - w->cur_off;
        k = left < len ? (size_t)left : len;
        rc = write_bytes(w, p, k, err);
        if (rc)
            return rc;
        p += k;
        len -= k;
        w->cur_off += k;
        rc = advance(w, err);
    }
    return rc;
}

int lleval_gguf_writer_end(struct lleval_gguf_writer *w, struct lleval_err *err)
{
    char *dir;
    int rc;

    if (!w->f || w->failed)
        return lleval_err_set(err, LLEVAL_EINVAL, "gguf writer: end without a successful begin");
    rc = advance(w, err);
    if (rc)
        return rc;
    if (w->cur < w->n_t)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "gguf writer: tensor '%s' got %" PRIu64 " of its %" PRIu64 " bytes",
                              w->t[w->cur].name, w->cur_off, w->t[w->cur].n_bytes);
    rc = lleval_fsync_file(w->f, w->tmp, err);
    if (fclose(w->f) && !rc)
        rc = lleval_err_errno(err, "cannot close", w->tmp);
    w->f = NULL;
    if (!rc && lleval_rename(w->tmp, w->path))
        rc = lleval_err_errno(err, "cannot rename to", w->path);
    if (rc) {
        remove(w->tmp);
        return rc;
    }
    dir = lleval_path_dirname(w->path);
    rc = lleval_fsync_dir(dir, err);
    free(dir);
    return rc;
}
