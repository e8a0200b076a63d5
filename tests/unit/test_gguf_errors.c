/*
 * Unit tests for the GGUF reader's error messages: a small valid image is built
 * byte by byte while the offset of every field is recorded, then each table case
 * damages one field (a huge length, an unknown type, too many dimensions, a cut
 * inside the field, ...) and checks that the message names that field and the
 * offset where it starts, both for an image in memory and for a file on disk.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/model/gguf.h"
#include "lleval/util/util.h"

/* ---- the image and the offsets of its fields ------------------------------- */

enum fld {
    F_MAGIC,
    F_VERSION,
    F_NT,
    F_NKV,
    F_K0,
    F_K1_TYPE,
    F_K1_VAL,
    F_K2_TYPE,
    F_K2_VAL,
    F_K3_ETYPE,
    F_K3_ALEN,
    F_K3_E1,
    F_K3_E2,
    F_K4_ALEN,
    F_K5,
    F_K5_VAL,
    F_T0,
    F_T0_NDIMS,
    F_T0_DIM0,
    F_T0_DIM1,
    F_T0_TYPE,
    F_T0_OFF,
    F_T1,
    F_T1_DIM0,
    F_T1_TYPE,
    F_T1_OFF,
    F_INFOS_END,
    F_DATA,
    F_END,
    F_COUNT
};

struct image {
    struct lleval_sb sb;
    uint64_t at[F_COUNT]; /* where each field starts */
};

static void put(struct image *im, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        lleval_sb_addch(&im->sb, (char)(unsigned char)(v >> (8 * i)));
}

static void put_s(struct image *im, const char *s)
{
    put(im, strlen(s), 8);
    lleval_sb_adds(&im->sb, s);
}

static void mark(struct image *im, enum fld f)
{
    im->at[f] = im->sb.len;
}

#define T0_NAME "blk.0.attn_q.weight"
#define T1_NAME "blk.0.attn_k.weight"

/* 6 keys (string, u32 alignment, string, string array, f32 array, u16) and 2
 * tensors (F32 32x2 at data offset 0, Q4_K 256 at 256), with their data. */
static void build(struct image *im)
{
    lleval_sb_reset(&im->sb);
    mark(im, F_MAGIC), lleval_sb_add(&im->sb, "GGUF", 4);
    mark(im, F_VERSION), put(im, 3, 4);
    mark(im, F_NT), put(im, 2, 8);
    mark(im, F_NKV), put(im, 6, 8);
    mark(im, F_K0), put_s(im, "general.architecture");
    put(im, LLEVAL_GGUF_STRING, 4), put_s(im, "llama");
    put_s(im, "general.alignment");
    mark(im, F_K1_TYPE), put(im, LLEVAL_GGUF_U32, 4);
    mark(im, F_K1_VAL), put(im, 32, 4);
    put_s(im, "general.name");
    mark(im, F_K2_TYPE), put(im, LLEVAL_GGUF_STRING, 4);
    mark(im, F_K2_VAL), put_s(im, "tiny");
    put_s(im, "tokenizer.ggml.tokens"), put(im, LLEVAL_GGUF_ARRAY, 4);
    mark(im, F_K3_ETYPE), put(im, LLEVAL_GGUF_STRING, 4);
    mark(im, F_K3_ALEN), put(im, 3, 8);
    put_s(im, "a");
    mark(im, F_K3_E1), put_s(im, "bc");
    mark(im, F_K3_E2), put_s(im, "d");
    put_s(im, "x.f32s"), put(im, LLEVAL_GGUF_ARRAY, 4), put(im, LLEVAL_GGUF_F32, 4);
    mark(im, F_K4_ALEN), put(im, 3, 8);
    put(im, 0, 4), put(im, 0, 4), put(im, 0, 4);
    mark(im, F_K5), put_s(im, "x.u16s"), put(im, LLEVAL_GGUF_U16, 4);
    mark(im, F_K5_VAL), put(im, 7, 2);
    mark(im, F_T0), put_s(im, T0_NAME);
    mark(im, F_T0_NDIMS), put(im, 2, 4);
    mark(im, F_T0_DIM0), put(im, 32, 8);
    mark(im, F_T0_DIM1), put(im, 2, 8);
    mark(im, F_T0_TYPE), put(im, LLEVAL_GGML_F32, 4);
    mark(im, F_T0_OFF), put(im, 0, 8);
    mark(im, F_T1), put_s(im, T1_NAME), put(im, 1, 4);
    mark(im, F_T1_DIM0), put(im, 256, 8);
    mark(im, F_T1_TYPE), put(im, LLEVAL_GGML_Q4_K, 4);
    mark(im, F_T1_OFF), put(im, 256, 8);
    mark(im, F_INFOS_END);
    while (im->sb.len % 32)
        lleval_sb_addch(&im->sb, '\0');
    mark(im, F_DATA);
    for (int i = 0; i < 256 + 144; i++)
        lleval_sb_addch(&im->sb, '\0');
    mark(im, F_END);
}

/* ---- damage and checks ------------------------------------------------------ */

enum op { SET1, SET4, SET8, BYTES, CUT };

/* How the message begins: "'NAME': LEAD <offset> JOIN <where>: ". */
enum kind { CORRUPT, TRUNCATED, UNSUPPORTED, NOT_GGUF };

struct ecase {
    enum op op;
    enum fld dmg;      /* the damaged field */
    int delta;         /* bytes into it */
    uint64_t value;    /* SET*: the new value */
    const char *bytes; /* BYTES: the new bytes */
    enum kind kind;
    enum fld at;       /* the field the message must name and point at */
    const char *where; /* its name */
    const char *detail;
};

/* Applies c's damage to a copy of the image; returns its length. */
static size_t damage(const struct image *im, const struct ecase *c, char *out)
{
    uint64_t at = im->at[c->dmg] + (uint64_t)c->delta;
    int n = c->op == SET1 ? 1 : c->op == SET4 ? 4 : 8;
    memcpy(out, im->sb.buf, im->sb.len);
    if (c->op == CUT)
        return (size_t)at;
    if (c->op == BYTES) {
        memcpy(out + at, c->bytes, strlen(c->bytes));
        return im->sb.len;
    }
    for (int i = 0; i < n; i++)
        out[at + (uint64_t)i] = (char)(unsigned char)(c->value >> (8 * i));
    return im->sb.len;
}

/* Checks that msg starts with the expected "'name': ... offset N ... where: " and
 * holds the detail. */
static void check_msg(const char *label, const char *msg, const char *name, const struct image *im,
                      const struct ecase *c)
{
    static const char *const lead[] = {"corrupt GGUF at offset", "truncated at offset",
                                       "unsupported GGUF at offset", "not a GGUF file at offset"};
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "'%s': %s %" PRIu64 " %s %s: ", name, lead[c->kind],
             im->at[c->at], c->kind == TRUNCATED ? "while reading" : "in", c->where);
    if (strncmp(msg, prefix, strlen(prefix)))
        fail_msg("%s: expected a message starting with\n  \"%s\", got\n  \"%s\"", label, prefix,
                 msg);
    if (!strstr(msg, c->detail))
        fail_msg("%s: expected \"%s\" in\n  \"%s\"", label, c->detail, msg);
}

#define K3 "metadata key 3 ('tokenizer.ggml.tokens')"
#define T0 "tensor info 0 ('" T0_NAME "')"
#define T1 "tensor info 1 ('" T1_NAME "')"

static const struct ecase cases[] = {
    /* header */
    {BYTES, F_MAGIC, 0, 0, "GGML", NOT_GGUF, F_MAGIC, "header: magic", "'GGML', expected 'GGUF'"},
    {CUT, F_MAGIC, 2, 0, NULL, TRUNCATED, F_MAGIC, "header: magic", "4 bytes needed from offset 0"},
    {SET4, F_VERSION, 0, 0, NULL, UNSUPPORTED, F_VERSION, "header: version", "version 0 is not"},
    {SET4, F_VERSION, 0, 99, NULL, UNSUPPORTED, F_VERSION, "header: version", "version 99 is not"},
    {SET4, F_VERSION, 0, 1, NULL, UNSUPPORTED, F_VERSION, "header: version", "no longer supported"},
    {SET4, F_VERSION, 0, 3u << 24, NULL, UNSUPPORTED, F_VERSION, "header: version", "byte-swapped"},
    {CUT, F_VERSION, 3, 0, NULL, TRUNCATED, F_VERSION, "header: version", "4 bytes needed"},
    {SET8, F_NT, 0, 1ull << 40, NULL, CORRUPT, F_NT, "header: tensor_count", "over the limit"},
    {SET8, F_NT, 0, 1000, NULL, TRUNCATED, F_NT, "header: tensor_count",
     "1000 tensor infos cannot"},
    {CUT, F_NT, 5, 0, NULL, TRUNCATED, F_NT, "header: tensor_count", "8 bytes needed"},
    {SET8, F_NKV, 0, 1ull << 40, NULL, CORRUPT, F_NKV, "header: metadata_kv_count", "over the"},
    {SET8, F_NKV, 0, 1000, NULL, TRUNCATED, F_NKV, "header: metadata_kv_count", "1000 metadata"},
    {CUT, F_NKV, 7, 0, NULL, TRUNCATED, F_NKV, "header: metadata_kv_count", "8 bytes needed"},
    /* metadata */
    {SET8, F_K0, 0, 1ull << 40, NULL, CORRUPT, F_K0, "metadata key 0: key length",
     "string length 1099511627776 is over the limit of 65535"},
    {SET8, F_K0, 0, 60000, NULL, TRUNCATED, F_K0, "metadata key 0: key length",
     "a string of 60000 bytes from offset 32 runs past the end"},
    {SET8, F_K0, 0, 0, NULL, CORRUPT, F_K0, "metadata key 0: key", "the key is empty"},
    {SET1, F_K0, 12, 0, NULL, CORRUPT, F_K0, "metadata key 0: key", "holds a NUL byte"},
    {CUT, F_K5, 3, 0, NULL, TRUNCATED, F_K5, "metadata key 5: key length", "8 bytes needed"},
    {CUT, F_K5, 10, 0, NULL, TRUNCATED, F_K5, "metadata key 5: key length", "runs past the end"},
    {SET4, F_K2_TYPE, 0, 13, NULL, CORRUPT, F_K2_TYPE,
     "metadata key 2 ('general.name'): value type", "value type 13 is not a GGUF value type"},
    {SET8, F_K2_VAL, 0, 1ull << 40, NULL, CORRUPT, F_K2_VAL,
     "metadata key 2 ('general.name'): value length", "over the limit of 67108864"},
    {SET8, F_K2_VAL, 0, 60000, NULL, TRUNCATED, F_K2_VAL,
     "metadata key 2 ('general.name'): value length", "a string of 60000 bytes"},
    {SET4, F_K3_ETYPE, 0, LLEVAL_GGUF_ARRAY, NULL, CORRUPT, F_K3_ETYPE, K3 ": array element type",
     "arrays of arrays"},
    {SET4, F_K3_ETYPE, 0, 99, NULL, CORRUPT, F_K3_ETYPE, K3 ": array element type",
     "array element type 99 is not"},
    {SET8, F_K3_ALEN, 0, 1ull << 40, NULL, CORRUPT, F_K3_ALEN, K3 ": array length",
     "array length 1099511627776 is over the limit"},
    {SET8, F_K3_ALEN, 0, 1000, NULL, TRUNCATED, F_K3_ALEN, K3 ": array length",
     "1000 elements of type string cannot fit"},
    {SET8, F_K3_E1, 0, 1ull << 40, NULL, CORRUPT, F_K3_E1, K3 ": element 1 length", "over the"},
    {SET8, F_K3_E1, 0, 60000, NULL, TRUNCATED, F_K3_E1, K3 ": element 1 length", "runs past"},
    {CUT, F_K3_E2, 8, 0, NULL, TRUNCATED, F_K3_E2, K3 ": element 2 length", "runs past the end"},
    {SET8, F_K4_ALEN, 0, 10000, NULL, TRUNCATED, F_K4_ALEN,
     "metadata key 4 ('x.f32s'): array length", "10000 elements of type f32 cannot fit"},
    {BYTES, F_K5, 8, 0, "x.f32s", CORRUPT, F_K5, "metadata key 5: key",
     "duplicate key 'x.f32s' (also metadata key 4)"},
    {CUT, F_K5_VAL, 1, 0, NULL, TRUNCATED, F_K5_VAL, "metadata key 5 ('x.u16s'): value",
     "2 bytes needed"},
    {SET4, F_K1_VAL, 0, 48, NULL, CORRUPT, F_K1_VAL, "metadata key 1 ('general.alignment'): value",
     "general.alignment 48 is not a power of two"},
    {SET4, F_K1_TYPE, 0, LLEVAL_GGUF_I32, NULL, CORRUPT, F_K1_TYPE,
     "metadata key 1 ('general.alignment'): value type", "general.alignment is a i32, not a u32"},
    /* tensor infos */
    {SET8, F_T0, 0, 1ull << 40, NULL, CORRUPT, F_T0, "tensor info 0: name length", "over the"},
    {SET8, F_T0, 0, 4000, NULL, TRUNCATED, F_T0, "tensor info 0: name length", "runs past the end"},
    {SET8, F_T0, 0, 0, NULL, CORRUPT, F_T0, "tensor info 0: name", "the tensor name is empty"},
    {BYTES, F_T1, 8 + 11, 0, "q", CORRUPT, F_T1, "tensor info 1: name",
     "duplicate tensor name '" T0_NAME "' (also tensor info 0)"},
    {SET4, F_T0_NDIMS, 0, 9, NULL, CORRUPT, F_T0_NDIMS, T0 ": n_dims", "9 dimensions (at most 4)"},
    {CUT, F_T0_NDIMS, 2, 0, NULL, TRUNCATED, F_T0_NDIMS, T0 ": n_dims", "4 bytes needed"},
    {SET8, F_T0_DIM0, 0, UINT64_MAX, NULL, CORRUPT, F_T0_DIM0, T0 ": dimension 0", "is negative"},
    {SET8, F_T0_DIM1, 0, 1ull << 63, NULL, CORRUPT, F_T0_DIM1, T0 ": dimension 1", "is negative"},
    {SET8, F_T0_DIM1, 0, 1ull << 62, NULL, CORRUPT, F_T0_DIM1, T0 ": dimension 1", "overflow"},
    {CUT, F_T0_DIM1, 4, 0, NULL, TRUNCATED, F_T0_DIM1, T0 ": dimension 1", "8 bytes needed"},
    {SET4, F_T0_TYPE, 0, 99, NULL, CORRUPT, F_T0_TYPE, T0 ": type", "ggml type 99 is unknown"},
    {SET4, F_T0_TYPE, 0, 4, NULL, CORRUPT, F_T0_TYPE, T0 ": type", "ggml type 4 is unknown"},
    {CUT, F_T0_TYPE, 1, 0, NULL, TRUNCATED, F_T0_TYPE, T0 ": type", "4 bytes needed"},
    {SET8, F_T1_DIM0, 0, 255, NULL, CORRUPT, F_T1_TYPE, T1 ": type",
     "255 elements per row (dimension 0) is not a multiple of the Q4_K block size 256"},
    {SET8, F_T0_OFF, 0, 8, NULL, CORRUPT, F_T0_OFF, T0 ": data offset",
     "data offset 8 is not a multiple of the alignment 32"},
    {CUT, F_T0_OFF, 7, 0, NULL, TRUNCATED, F_T0_OFF, T0 ": data offset", "8 bytes needed"},
    {SET8, F_T1_OFF, 0, UINT64_MAX - 31, NULL, CORRUPT, F_T1_OFF, T1 ": data offset", "overflows"},
    {SET8, F_T1_OFF, 0, 1ull << 50, NULL, TRUNCATED, F_T1_OFF, T1 ": data offset",
     "past the end of the file"},
    {CUT, F_END, -1, 0, NULL, TRUNCATED, F_T1_OFF, T1 ": data offset",
     "the data of tensor 1 ('" T1_NAME "', 144 bytes at offset"},
};

/* Parses an image from memory and from a file; both must give the expected message. */
static void check_case(const struct image *im, const struct ecase *c, const char *label,
                       const char *dir)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    char *copy = lleval_xmalloc(im->sb.len);
    size_t len = damage(im, c, copy);
    char *path = tu_write_bytes(dir, "e.gguf", copy, len);
    int rc = lleval_gguf_parse_mem(&g, copy, len, "mem.gguf", &err);
    lleval_gguf_release(&g);
    if (rc != LLEVAL_EINVAL)
        fail_msg("%s: rc %d, expected %d (%s)", label, rc, LLEVAL_EINVAL, err.msg);
    check_msg(label, err.msg, "mem.gguf", im, c);
    rc = lleval_gguf_open(&g, path, &err);
    lleval_gguf_release(&g);
    if (rc != LLEVAL_EINVAL)
        fail_msg("%s (file): rc %d, expected %d (%s)", label, rc, LLEVAL_EINVAL, err.msg);
    check_msg(label, err.msg, path, im, c);
    free(path);
    free(copy);
}

static void test_every_field(void **state)
{
    struct image im = {LLEVAL_SB_INIT, {0}};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    char *dir = tu_tmpdir();
    (void)state;
    build(&im);
    /* The image is valid and laid out as recorded. */
    if (lleval_gguf_parse_mem(&g, im.sb.buf, im.sb.len, "mem.gguf", &err))
        fail_msg("the valid image: %s", err.msg);
    assert_int_equal(g.n_kv, 6);
    assert_int_equal(g.n_tensors, 2);
    assert_int_equal(g.data_offset, im.at[F_DATA]);
    assert_int_equal(im.at[F_K0], 24);
    lleval_gguf_release(&g);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        char label[160];
        snprintf(label, sizeof(label), "case %zu (%s: %s)", i, cases[i].where, cases[i].detail);
        check_case(&im, &cases[i], label, dir);
    }
    lleval_sb_release(&im.sb);
    tu_rmtree(dir);
    free(dir);
}

/* Data bounds: the tensor, its size and the offsets that fall outside the file. */
static void test_data_bounds(void **state)
{
    struct image im = {LLEVAL_SB_INIT, {0}};
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    char want[512];
    uint64_t data, end;
    (void)state;
    build(&im);
    data = im.at[F_DATA];
    end = im.at[F_END];
    assert_true(im.at[F_INFOS_END] % 32 != 0); /* the data section is padded */

    /* Cut one byte short: tensor 1's 144 bytes at data + 256 end at data + 400. */
    assert_int_equal(lleval_gguf_parse_mem(&g, im.sb.buf, end - 1, "m.gguf", &err), LLEVAL_EINVAL);
    lleval_gguf_release(&g);
    snprintf(want, sizeof(want),
             "'m.gguf': truncated at offset %" PRIu64 " while reading " T1 ": data offset: the "
             "data of tensor 1 ('" T1_NAME "', 144 bytes at offset %" PRIu64
             " = data section %" PRIu64 " + data offset 256) ends at offset %" PRIu64
             ", past the end of the file (%" PRIu64 " bytes); ",
             im.at[F_T1_OFF], data + 256, data, end, end - 1);
    tu_assert_contains(err.msg, want);

    /* Cut where the tensor infos end: the data section would start past the end. */
    assert_int_equal(lleval_gguf_parse_mem(&g, im.sb.buf, im.at[F_INFOS_END], "m.gguf", &err),
                     LLEVAL_EINVAL);
    lleval_gguf_release(&g);
    snprintf(want, sizeof(want),
             "'m.gguf': truncated: the data section would start at offset %" PRIu64
             " (the tensor infos end at offset %" PRIu64 ", aligned to 32), past the end of the "
             "file (%" PRIu64 " bytes)",
             data, im.at[F_INFOS_END], im.at[F_INFOS_END]);
    tu_assert_contains(err.msg, want);
    lleval_sb_release(&im.sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_data_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
