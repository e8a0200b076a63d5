/*
 * Unit tests for the GGUF reader and writer and the synthesized models: the
 * type table, the shared tiny model, synthesized models of several shapes
 * read back exactly, every value type, split files, and truncated or corrupt
 * files (every prefix of a header, seeded random mutations) that must give
 * errors, never crashes (CI runs this under ASan). The message for each damaged
 * field is checked in test_gguf_errors.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "testutil.h"
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/model/synth.h"
#include "lleval/util/util.h"

/* ---- a byte builder for hand-made files ------------------------------------ */

static void put(struct lleval_sb *sb, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        lleval_sb_addch(sb, (char)(unsigned char)(v >> (8 * i)));
}

static void put_s(struct lleval_sb *sb, const char *s)
{
    put(sb, strlen(s), 8);
    lleval_sb_adds(sb, s);
}

static void header(struct lleval_sb *sb, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    lleval_sb_add(sb, "GGUF", 4);
    put(sb, version, 4);
    put(sb, n_tensors, 8);
    put(sb, n_kv, 8);
}

/* A tensor info: name, dims, type, offset. */
static void tinfo(struct lleval_sb *sb, const char *name, uint32_t n_dims, const uint64_t *ne,
                  uint32_t type, uint64_t offset)
{
    put_s(sb, name);
    put(sb, n_dims, 4);
    for (uint32_t i = 0; i < n_dims; i++)
        put(sb, ne[i], 8);
    put(sb, type, 4);
    put(sb, offset, 8);
}

/* Pads to 32 and appends n zero bytes of tensor data. */
static void data(struct lleval_sb *sb, size_t n)
{
    while (sb->len % 32)
        lleval_sb_addch(sb, '\0');
    for (size_t i = 0; i < n; i++)
        lleval_sb_addch(sb, '\0');
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_type_table(void **state)
{
    static const struct {
        uint32_t type;
        const char *name;
        uint32_t block, bytes;
    } cases[] = {
        {LLEVAL_GGML_F32, "F32", 1, 4},           {LLEVAL_GGML_F16, "F16", 1, 2},
        {LLEVAL_GGML_BF16, "BF16", 1, 2},         {LLEVAL_GGML_Q4_0, "Q4_0", 32, 18},
        {LLEVAL_GGML_Q4_1, "Q4_1", 32, 20},       {LLEVAL_GGML_Q5_0, "Q5_0", 32, 22},
        {LLEVAL_GGML_Q5_1, "Q5_1", 32, 24},       {LLEVAL_GGML_Q8_0, "Q8_0", 32, 34},
        {LLEVAL_GGML_Q8_1, "Q8_1", 32, 36},       {LLEVAL_GGML_Q2_K, "Q2_K", 256, 84},
        {LLEVAL_GGML_Q3_K, "Q3_K", 256, 110},     {LLEVAL_GGML_Q4_K, "Q4_K", 256, 144},
        {LLEVAL_GGML_Q5_K, "Q5_K", 256, 176},     {LLEVAL_GGML_Q6_K, "Q6_K", 256, 210},
        {LLEVAL_GGML_Q8_K, "Q8_K", 256, 292},     {LLEVAL_GGML_IQ2_XXS, "IQ2_XXS", 256, 66},
        {LLEVAL_GGML_IQ2_XS, "IQ2_XS", 256, 74},  {LLEVAL_GGML_IQ3_XXS, "IQ3_XXS", 256, 98},
        {LLEVAL_GGML_IQ1_S, "IQ1_S", 256, 50},    {LLEVAL_GGML_IQ4_NL, "IQ4_NL", 32, 18},
        {LLEVAL_GGML_IQ3_S, "IQ3_S", 256, 110},   {LLEVAL_GGML_IQ2_S, "IQ2_S", 256, 82},
        {LLEVAL_GGML_IQ4_XS, "IQ4_XS", 256, 136}, {LLEVAL_GGML_I8, "I8", 1, 1},
        {LLEVAL_GGML_I16, "I16", 1, 2},           {LLEVAL_GGML_I32, "I32", 1, 4},
        {LLEVAL_GGML_I64, "I64", 1, 8},           {LLEVAL_GGML_F64, "F64", 1, 8},
        {LLEVAL_GGML_IQ1_M, "IQ1_M", 256, 56},    {LLEVAL_GGML_TQ1_0, "TQ1_0", 256, 54},
        {LLEVAL_GGML_TQ2_0, "TQ2_0", 256, 66},    {LLEVAL_GGML_MXFP4, "MXFP4", 32, 17},
        {LLEVAL_GGML_NVFP4, "NVFP4", 64, 36},     {LLEVAL_GGML_Q1_0, "Q1_0", 128, 18},
        {LLEVAL_GGML_Q2_0, "Q2_0", 64, 18},
    };
    static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38, 43, 1000};
    char buf[32];
    uint64_t n;
    uint32_t t;
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        const struct lleval_ggml_type_info *ti = lleval_ggml_type_info(cases[i].type);
        assert_non_null(ti);
        assert_string_equal(ti->name, cases[i].name);
        assert_int_equal(ti->block_size, cases[i].block);
        assert_int_equal(ti->type_size, cases[i].bytes);
        assert_int_equal(lleval_ggml_type_parse(cases[i].name, &t), 0);
        assert_int_equal(t, cases[i].type);
    }
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(removed); i++)
        assert_null(lleval_ggml_type_info(removed[i]));
    assert_string_equal(lleval_ggml_type_name(99, buf, sizeof(buf)), "type99");
    assert_int_equal(lleval_ggml_type_parse("q4_k", &t), 0);
    assert_int_equal(t, LLEVAL_GGML_Q4_K);
    assert_int_not_equal(lleval_ggml_type_parse("q4_k_m", &t), 0);
    assert_true(lleval_ggml_nbytes(LLEVAL_GGML_Q4_K, 4096 * 256, &n));
    assert_int_equal(n, 4096 * 144);
    assert_false(lleval_ggml_nbytes(LLEVAL_GGML_Q4_K, 100, &n));
    assert_false(lleval_ggml_nbytes(LLEVAL_GGML_F64, UINT64_MAX / 2, &n));
}

static void test_format_counts(void **state)
{
    static const struct {
        uint64_t n;
        const char *count, *bytes;
    } cases[] = {
        {0, "0", "0 B"},
        {950, "950", "950 B"},
        {4200, "4.2 K", "4.1 KiB"},
        {513048, "513 K", "501 KiB"},
        {1240000000, "1.24 B", "1.15 GiB"},
        {8030261248ull, "8.03 B", "7.48 GiB"},
        {70553706496ull, "70.6 B", "65.7 GiB"},
    };
    char buf[32];
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++) {
        assert_string_equal(lleval_gguf_fmt_count(buf, sizeof(buf), cases[i].n), cases[i].count);
        assert_string_equal(lleval_gguf_fmt_bytes(buf, sizeof(buf), cases[i].n), cases[i].bytes);
    }
    assert_string_equal(lleval_gguf_file_type_name(15), "Q4_K_M");
    assert_string_equal(lleval_gguf_file_type_name(1), "F16");
    assert_null(lleval_gguf_file_type_name(5));
    assert_null(lleval_gguf_file_type_name(100000));
}

static void test_shared_tiny_model(void **state)
{
    char *path = tu_shared("models/llama-2-tiny-random.gguf");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    struct lleval_gguf_type_stat mix[LLEVAL_GGML_TYPE_COUNT];
    size_t n_mix;
    (void)state;
    if (!path)
        skip();
    assert_int_equal(lleval_gguf_open(&g, path, &err), 0);
    assert_int_equal(g.version, 3);
    assert_string_equal(lleval_gguf_arch(&g), "llama");
    lleval_gguf_summarize(&g, &s);
    assert_int_equal(s.n_params, 513048);
    assert_int_equal(s.n_tensors, 12);
    assert_int_equal(s.file_size, 1750560);
    assert_int_equal(s.layers, 1);
    assert_int_equal(s.embedding, 8);
    assert_int_equal(s.heads, 2);
    assert_int_equal(s.kv_heads, 2);
    assert_int_equal(s.head_dim, 4);
    assert_int_equal(s.vocab_size, 32000);
    assert_int_equal(s.context_length, 4096);
    n_mix = lleval_gguf_type_mix(&g, mix);
    assert_int_equal(n_mix, 2);
    assert_int_equal(mix[0].type, LLEVAL_GGML_F16);
    assert_int_equal(mix[0].n_tensors, 9);
    assert_int_equal(mix[1].type, LLEVAL_GGML_F32);
    assert_int_equal(mix[1].n_tensors, 3);
    assert_int_equal(mix[0].n_bytes + mix[1].n_bytes, s.tensor_bytes);
    {
        enum lleval_gguf_vtype et;
        uint64_t n;
        const struct lleval_gguf_kv *tok =
            lleval_gguf_get_arr(&g, "tokenizer.ggml.tokens", &et, &n);
        assert_non_null(tok);
        assert_int_equal(et, LLEVAL_GGUF_STRING);
        assert_int_equal(n, 32000);
        assert_string_equal(lleval_gguf_arr_str(tok, 1)->s, "<s>");
        assert_string_equal(lleval_gguf_arr_str(tok, 13)->s, "<0x0A>");
        assert_null(lleval_gguf_arr_str(tok, 32000));
    }
    lleval_gguf_release(&g);
    free(path);
}

/* Writes a synthesized model, reads it back and checks everything that was computed. */
static void check_synth(const char *dir, struct lleval_synth_opts *o)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *path = lleval_path_join(dir, "synth.gguf");
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    struct lleval_synth_vocab v;
    uint64_t u, expect_off = 0, kvd;
    size_t es = o->type == LLEVAL_GGML_F32 ? 4 : 2;
    const struct lleval_gguf_kv *kv;
    double f;

    assert_int_equal(lleval_synth_resolve(o, &err), 0);
    if (lleval_synth_write(o, path, &err))
        fail_msg("synth write: %s", err.msg);
    if (lleval_gguf_open(&g, path, &err))
        fail_msg("open: %s", err.msg);
    lleval_gguf_summarize(&g, &s);
    assert_string_equal(s.arch, "llama");
    assert_string_equal(s.name, "lleval-synth");
    assert_int_equal(s.layers, o->layers);
    assert_int_equal(s.embedding, o->embd);
    assert_int_equal(s.heads, o->heads);
    assert_int_equal(s.kv_heads, o->kv_heads);
    assert_int_equal(s.head_dim, o->embd / o->heads);
    assert_int_equal(s.feed_forward, o->ff);
    assert_int_equal(s.vocab_size, o->vocab);
    assert_int_equal(s.context_length, o->ctx);
    assert_int_equal(s.n_params, lleval_synth_param_count(o));
    assert_true(s.has_file_type);
    assert_int_equal(s.file_type, o->type == LLEVAL_GGML_F32 ? 0 : 1);
    assert_int_equal(g.n_tensors, 9 * (size_t)o->layers + 3);
    assert_true(lleval_gguf_get_uint(&g, "llama.rope.dimension_count", &u));
    assert_int_equal(u, o->embd / o->heads);
    assert_true(lleval_gguf_get_float(&g, "llama.attention.layer_norm_rms_epsilon", &f));
    assert_true(f > 0.9e-5 && f < 1.1e-5);
    assert_string_equal(lleval_gguf_get_str(&g, "tokenizer.ggml.model"), "llama");
    tu_assert_contains(lleval_gguf_get_str(&g, "tokenizer.chat_template"), "<|im_start|>");
    assert_true(lleval_gguf_get_uint(&g, "tokenizer.ggml.eos_token_id", &u));
    assert_int_equal(u, 2);
    assert_true(lleval_gguf_get_uint(&g, "tokenizer.ggml.add_bos_token", &u));
    assert_int_equal(u, 1);

    /* The vocabulary arrays are exactly what the builder makes. */
    lleval_synth_vocab_build(&v, (size_t)o->vocab);
    assert_int_equal(v.n, o->vocab);
    kv = lleval_gguf_find(&g, "tokenizer.ggml.tokens");
    assert_non_null(kv);
    assert_int_equal(kv->arr_n, v.n);
    for (size_t i = 0; i < v.n; i++) {
        uint64_t t;
        double sc;
        assert_string_equal(lleval_gguf_arr_str(kv, i)->s, v.tokens[i]);
        assert_true(lleval_gguf_arr_uint(lleval_gguf_find(&g, "tokenizer.ggml.token_type"), i, &t));
        assert_int_equal(t, v.types[i]);
        assert_true(lleval_gguf_arr_float(lleval_gguf_find(&g, "tokenizer.ggml.scores"), i, &sc));
        assert_true(sc == v.scores[i]);
    }
    assert_string_equal(v.tokens[0], "<unk>");
    assert_string_equal(v.tokens[3 + 0x0A], "<0x0A>");
    assert_int_equal(v.types[3 + 0x0A], 6);
    lleval_synth_vocab_release(&v);

    /* Shapes, sizes and offsets as computed. */
    kvd = (uint64_t)o->kv_heads * (uint64_t)(o->embd / o->heads);
    for (size_t i = 0; i < g.n_tensors; i++) {
        const struct lleval_gguf_tensor *t = &g.tensors[i];
        bool norm = t->n_dims == 1;
        assert_int_equal(t->offset, expect_off);
        assert_int_equal(t->type, norm ? LLEVAL_GGML_F32 : o->type);
        assert_int_equal(t->n_bytes, t->n_elements * (norm ? 4 : es));
        if (strstr(t->name, "attn_k.") || strstr(t->name, "attn_v.")) {
            assert_int_equal(t->ne[0], o->embd);
            assert_int_equal(t->ne[1], kvd);
        } else if (strstr(t->name, "ffn_down.")) {
            assert_int_equal(t->ne[0], o->ff);
            assert_int_equal(t->ne[1], o->embd);
        } else if (!strcmp(t->name, "token_embd.weight") || !strcmp(t->name, "output.weight")) {
            assert_int_equal(t->ne[1], o->vocab);
        }
        expect_off += (t->n_bytes + 31) / 32 * 32;
    }
    assert_non_null(lleval_gguf_tensor(&g, "output.weight"));
    assert_non_null(lleval_gguf_tensor(&g, "blk.0.ffn_gate.weight"));
    assert_int_equal(g.file_size, g.data_offset + expect_off);
    lleval_gguf_release(&g);
    free(path);
}

static void test_synth_shapes(void **state)
{
    static const struct {
        long layers, embd, heads, kv_heads, ff, vocab, ctx;
        uint32_t type;
    } shapes[] = {
        {1, 8, 2, 0, 0, 259, 128, LLEVAL_GGML_F32},
        {2, 64, 4, 2, 0, 1024, 2048, LLEVAL_GGML_F16},
        {3, 32, 8, 1, 48, 600, 512, LLEVAL_GGML_F16},
        {1, 48, 3, 3, 100, 2000, 4096, LLEVAL_GGML_F32},
    };
    char *dir = tu_tmpdir();
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(shapes); i++) {
        struct lleval_synth_opts o;
        lleval_synth_opts_init(&o);
        o.layers = shapes[i].layers;
        o.embd = shapes[i].embd;
        o.heads = shapes[i].heads;
        o.kv_heads = shapes[i].kv_heads;
        o.ff = shapes[i].ff;
        o.vocab = shapes[i].vocab;
        o.ctx = shapes[i].ctx;
        o.type = shapes[i].type;
        check_synth(dir, &o);
    }
    tu_rmtree(dir);
    free(dir);
}

static void test_synth_options(void **state)
{
    static const struct {
        long embd, heads, kv_heads, vocab;
        const char *msg;
    } bad[] = {
        {64, 5, 0, 1024, "--heads 5 must divide --embd 64"},
        {12, 4, 0, 1024, "must be even"},
        {64, 4, 3, 1024, "--kv-heads 3 must divide --heads 4"},
        {64, 4, 0, 258, "--vocab 258 is out of range"},
    };
    struct lleval_synth_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;
    lleval_synth_opts_init(&o);
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    assert_int_equal(o.ff, 256);
    assert_int_equal(o.kv_heads, 4);
    o.embd = 40;
    o.ff = 0;
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    assert_int_equal(o.ff, 160);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(bad); i++) {
        lleval_synth_opts_init(&o);
        o.embd = bad[i].embd;
        o.heads = bad[i].heads;
        o.kv_heads = bad[i].kv_heads;
        o.vocab = bad[i].vocab;
        assert_int_equal(lleval_synth_resolve(&o, &err), LLEVAL_EINVAL);
        tu_assert_contains(err.msg, bad[i].msg);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_synth_vocab(void **state)
{
    struct lleval_synth_vocab v;
    (void)state;
    /* Large vocabularies stay unique (fillers skip taken pieces). */
    lleval_synth_vocab_build(&v, 40000);
    assert_int_equal(v.n, 40000);
    {
        char **sorted = lleval_xmalloc(v.n * sizeof(char *));
        memcpy(sorted, v.tokens, v.n * sizeof(char *));
        qsort(sorted, v.n, sizeof(char *), cmp_str);
        for (size_t i = 1; i < v.n; i++)
            assert_string_not_equal(sorted[i - 1], sorted[i]);
        free(sorted);
    }
    assert_string_equal(v.tokens[1], "<s>");
    assert_string_equal(v.tokens[259], "<|im_start|>");
    assert_string_equal(v.tokens[260], "<|im_end|>");
    assert_int_equal(v.types[260], 3);
    assert_int_equal(v.first_normal, 261);
    assert_string_equal(v.tokens[261], "\xe2\x96\x81");
    assert_true(v.scores[262] < v.scores[261]);
    lleval_synth_vocab_release(&v);
    lleval_synth_vocab_build(&v, 259);
    assert_int_equal(v.n, 259);
    assert_int_equal(v.first_normal, 259);
    assert_string_equal(v.tokens[258], "<0xFF>");
    lleval_synth_vocab_release(&v);
}

static void test_synth_deterministic(void **state)
{
    char *dir = tu_tmpdir();
    char *a = lleval_path_join(dir, "a.gguf"), *b = lleval_path_join(dir, "b.gguf");
    char *c = lleval_path_join(dir, "c.gguf");
    struct lleval_synth_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb x = LLEVAL_SB_INIT, y = LLEVAL_SB_INIT, z = LLEVAL_SB_INIT;
    (void)state;
    lleval_synth_opts_init(&o);
    o.vocab = 300;
    o.embd = 16;
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    assert_int_equal(lleval_synth_write(&o, a, &err), 0);
    assert_int_equal(lleval_synth_write(&o, b, &err), 0);
    o.seed = 7;
    assert_int_equal(lleval_synth_write(&o, c, &err), 0);
    assert_int_equal(lleval_read_file(a, &x, 0, &err), 0);
    assert_int_equal(lleval_read_file(b, &y, 0, &err), 0);
    assert_int_equal(lleval_read_file(c, &z, 0, &err), 0);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.buf, y.buf, x.len);
    assert_int_equal(x.len, z.len);
    assert_memory_not_equal(x.buf, z.buf, x.len);
    lleval_sb_release(&x);
    lleval_sb_release(&y);
    lleval_sb_release(&z);
    tu_rmtree(dir);
    free(a);
    free(b);
    free(c);
    free(dir);
}

/* Every value type, hand-made, read back. */
static void test_all_value_types(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    const struct lleval_gguf_kv *kv;
    uint64_t u;
    double f;
    float f32 = 1.5f;
    double f64 = -2.25;
    uint32_t f32b;
    uint64_t f64b;
    (void)state;
    memcpy(&f32b, &f32, 4);
    memcpy(&f64b, &f64, 8);
    header(&sb, 2, 0, 16);
    put_s(&sb, "a.u8"), put(&sb, LLEVAL_GGUF_U8, 4), put(&sb, 200, 1);
    put_s(&sb, "a.i8"), put(&sb, LLEVAL_GGUF_I8, 4), put(&sb, 0xFE, 1);
    put_s(&sb, "a.u16"), put(&sb, LLEVAL_GGUF_U16, 4), put(&sb, 60000, 2);
    put_s(&sb, "a.i16"), put(&sb, LLEVAL_GGUF_I16, 4), put(&sb, 0xFFFF, 2);
    put_s(&sb, "a.u32"), put(&sb, LLEVAL_GGUF_U32, 4), put(&sb, 4000000000u, 4);
    put_s(&sb, "a.i32"), put(&sb, LLEVAL_GGUF_I32, 4), put(&sb, 0xFFFFFFF6u, 4);
    put_s(&sb, "a.f32"), put(&sb, LLEVAL_GGUF_F32, 4), put(&sb, f32b, 4);
    put_s(&sb, "a.bool"), put(&sb, LLEVAL_GGUF_BOOL, 4), put(&sb, 1, 1);
    put_s(&sb, "a.str"), put(&sb, LLEVAL_GGUF_STRING, 4), put_s(&sb, "h\xc3\xa9llo");
    put_s(&sb, "a.u64"), put(&sb, LLEVAL_GGUF_U64, 4), put(&sb, 1ull << 40, 8);
    put_s(&sb, "a.i64"), put(&sb, LLEVAL_GGUF_I64, 4), put(&sb, (uint64_t)-5, 8);
    put_s(&sb, "a.f64"), put(&sb, LLEVAL_GGUF_F64, 4), put(&sb, f64b, 8);
    put_s(&sb, "a.arr_i16"), put(&sb, LLEVAL_GGUF_ARRAY, 4), put(&sb, LLEVAL_GGUF_I16, 4);
    put(&sb, 3, 8), put(&sb, 1, 2), put(&sb, 0xFFFF, 2), put(&sb, 300, 2);
    put_s(&sb, "a.arr_str"), put(&sb, LLEVAL_GGUF_ARRAY, 4), put(&sb, LLEVAL_GGUF_STRING, 4);
    put(&sb, 2, 8), put_s(&sb, "x"), put_s(&sb, "");
    put_s(&sb, "a.arr_empty"), put(&sb, LLEVAL_GGUF_ARRAY, 4), put(&sb, LLEVAL_GGUF_F64, 4);
    put(&sb, 0, 8);
    put_s(&sb, "llama.attention.head_count"), put(&sb, LLEVAL_GGUF_ARRAY, 4);
    put(&sb, LLEVAL_GGUF_U32, 4), put(&sb, 3, 8), put(&sb, 8, 4), put(&sb, 32, 4), put(&sb, 0, 4);
    /* general.architecture is missing: arch getters say so */
    assert_int_equal(lleval_gguf_parse_mem(&g, sb.buf, sb.len, "types.gguf", &err), 0);
    assert_int_equal(g.version, 2);
    assert_int_equal(g.n_kv, 16);
    assert_true(lleval_gguf_get_uint(&g, "a.u8", &u) && u == 200);
    assert_false(lleval_gguf_get_uint(&g, "a.i8", &u));
    assert_true(lleval_gguf_get_float(&g, "a.i8", &f) && f == -2);
    assert_true(lleval_gguf_get_uint(&g, "a.u16", &u) && u == 60000);
    assert_true(lleval_gguf_get_float(&g, "a.i16", &f) && f == -1);
    assert_true(lleval_gguf_get_uint(&g, "a.u32", &u) && u == 4000000000u);
    assert_true(lleval_gguf_get_float(&g, "a.i32", &f) && f == -10);
    assert_true(lleval_gguf_get_float(&g, "a.f32", &f) && f == 1.5);
    assert_false(lleval_gguf_get_uint(&g, "a.f32", &u));
    assert_true(lleval_gguf_get_uint(&g, "a.bool", &u) && u == 1);
    assert_string_equal(lleval_gguf_get_str(&g, "a.str"), "h\xc3\xa9llo");
    assert_null(lleval_gguf_get_str(&g, "a.u8"));
    assert_true(lleval_gguf_get_uint(&g, "a.u64", &u) && u == 1ull << 40);
    assert_true(lleval_gguf_get_float(&g, "a.i64", &f) && f == -5);
    assert_true(lleval_gguf_get_float(&g, "a.f64", &f) && f == -2.25);
    assert_false(lleval_gguf_get_uint(&g, "missing", &u));
    kv = lleval_gguf_get_arr(&g, "a.arr_i16", NULL, &u);
    assert_non_null(kv);
    assert_int_equal(u, 3);
    assert_true(lleval_gguf_arr_float(kv, 1, &f) && f == -1);
    assert_true(lleval_gguf_arr_uint(kv, 2, &u) && u == 300);
    assert_false(lleval_gguf_arr_uint(kv, 1, &u));
    assert_false(lleval_gguf_arr_uint(kv, 3, &u));
    assert_null(lleval_gguf_arr_str(kv, 0));
    kv = lleval_gguf_get_arr(&g, "a.arr_str", NULL, NULL);
    assert_string_equal(lleval_gguf_arr_str(kv, 0)->s, "x");
    assert_int_equal(lleval_gguf_arr_str(kv, 1)->len, 0);
    assert_non_null(lleval_gguf_get_arr(&g, "a.arr_empty", NULL, &u));
    assert_int_equal(u, 0);
    assert_null(lleval_gguf_arch(&g));
    assert_false(lleval_gguf_get_arch_uint(&g, "attention.head_count", &u));
    lleval_gguf_release(&g);

    /* With an architecture, a per-layer array gives its largest value. */
    put_s(&sb, "general.architecture"), put(&sb, LLEVAL_GGUF_STRING, 4), put_s(&sb, "llama");
    sb.buf[16] = 17; /* n_kv */
    assert_int_equal(lleval_gguf_parse_mem(&g, sb.buf, sb.len, "types.gguf", &err), 0);
    assert_true(lleval_gguf_get_arch_uint(&g, "attention.head_count", &u));
    assert_int_equal(u, 32);
    lleval_gguf_release(&g);
    lleval_sb_release(&sb);
}

/* A small valid image: 2 keys, 2 tensors (the second Q4_K), data included. */
static void valid_image(struct lleval_sb *sb)
{
    uint64_t ne1[2] = {4, 2}, ne2[1] = {256};
    lleval_sb_reset(sb);
    header(sb, 3, 2, 2);
    put_s(sb, "general.architecture"), put(sb, LLEVAL_GGUF_STRING, 4), put_s(sb, "llama");
    put_s(sb, "general.alignment"), put(sb, LLEVAL_GGUF_U32, 4), put(sb, 32, 4);
    tinfo(sb, "a.weight", 2, ne1, LLEVAL_GGML_F32, 0);
    tinfo(sb, "b.weight", 1, ne2, LLEVAL_GGML_Q4_K, 32);
    data(sb, 32 + 144);
}

static void test_hand_made_valid(void **state)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    (void)state;
    valid_image(&sb);
    assert_int_equal(lleval_gguf_parse_mem(&g, sb.buf, sb.len, "v.gguf", &err), 0);
    lleval_gguf_summarize(&g, &s);
    assert_int_equal(s.n_params, 8 + 256);
    assert_int_equal(s.tensor_bytes, 32 + 144);
    assert_int_equal(g.tensors[1].n_bytes, 144);
    assert_int_equal(g.data_offset % 32, 0);
    assert_int_equal(s.layers, 0); /* unknown */
    lleval_gguf_release(&g);
    lleval_sb_release(&sb);
}

/* Every prefix of a synthesized file's header and some of its data: errors, never crashes. */
static void test_truncated_everywhere(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "t.gguf");
    char *cut = lleval_path_join(dir, "cut.gguf");
    struct lleval_synth_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_gguf g;
    size_t data_offset;
    (void)state;
    lleval_synth_opts_init(&o);
    o.vocab = 300;
    o.embd = 8;
    o.heads = 2;
    o.layers = 1;
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    assert_int_equal(lleval_synth_write(&o, path, &err), 0);
    assert_int_equal(lleval_read_file(path, &sb, 0, &err), 0);
    assert_int_equal(lleval_gguf_parse_mem(&g, sb.buf, sb.len, "t.gguf", &err), 0);
    data_offset = (size_t)g.data_offset;
    lleval_gguf_release(&g);
    for (size_t len = 0; len < sb.len; len += len < data_offset + 64 ? 1 : 97) {
        int rc = lleval_gguf_parse_mem(&g, sb.buf, len, "t.gguf", &err);
        lleval_gguf_release(&g);
        if (rc != LLEVAL_EINVAL)
            fail_msg("prefix of %zu bytes: rc %d", len, rc);
        if (!strstr(err.msg, "truncated"))
            fail_msg("prefix of %zu bytes: message without 'truncated': %s", len, err.msg);
    }
    /* The same from a file on disk, with its name and the offset in the message. */
    free(tu_write_bytes(NULL, cut, sb.buf, 1000));
    assert_int_equal(lleval_gguf_open(&g, cut, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "cut.gguf': truncated at offset ");
    tu_assert_contains(err.msg, "while reading metadata key ");
    {
        /* cut just after the last tensor's name, inside its info */
        static const char name[] = "output.weight";
        size_t at = 0;
        for (size_t i = 0; i + sizeof(name) - 1 <= sb.len; i++)
            if (!memcmp(sb.buf + i, name, sizeof(name) - 1))
                at = i + sizeof(name) - 1;
        assert_true(at > 0 && at < data_offset);
        free(tu_write_bytes(NULL, cut, sb.buf, at + 3));
    }
    assert_int_equal(lleval_gguf_open(&g, cut, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "while reading tensor info 11 ('output.weight')");
    free(tu_write_bytes(NULL, cut, sb.buf, sb.len - 1));
    assert_int_equal(lleval_gguf_open(&g, cut, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "the data of tensor 11 ('output.weight'");
    assert_int_equal(lleval_gguf_open(&g, "/nonexistent/x.gguf", &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "/nonexistent/x.gguf");
    lleval_gguf_release(&g);
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(cut);
    free(path);
    free(dir);
}

/* Seeded random corruption of a valid header: any result but a crash is fine. */
static void test_random_mutations(void **state)
{
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "m.gguf");
    struct lleval_synth_opts o;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    uint64_t rng = 12345;
    size_t header_len, ok = 0;
    struct lleval_gguf g;
    (void)state;
    lleval_synth_opts_init(&o);
    o.vocab = 270;
    o.embd = 8;
    o.heads = 2;
    o.layers = 1;
    assert_int_equal(lleval_synth_resolve(&o, &err), 0);
    assert_int_equal(lleval_synth_write(&o, path, &err), 0);
    assert_int_equal(lleval_read_file(path, &sb, 0, &err), 0);
    assert_int_equal(lleval_gguf_parse_mem(&g, sb.buf, sb.len, "m.gguf", &err), 0);
    header_len = (size_t)g.data_offset;
    lleval_gguf_release(&g);
    for (int iter = 0; iter < 3000; iter++) {
        char *copy = lleval_xmalloc(sb.len);
        int flips;
        memcpy(copy, sb.buf, sb.len);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        flips = 1 + (int)((rng >> 60) & 3);
        for (int k = 0; k < flips; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            copy[(rng >> 33) % header_len] = (char)(rng >> 13);
        }
        if (lleval_gguf_parse_mem(&g, copy, sb.len, "m.gguf", &err) == 0) {
            struct lleval_gguf_summary s;
            struct lleval_gguf_type_stat mix[LLEVAL_GGML_TYPE_COUNT];
            lleval_gguf_summarize(&g, &s);
            lleval_gguf_type_mix(&g, mix);
            ok++;
        } else {
            assert_true(err.msg[0] != '\0');
        }
        lleval_gguf_release(&g);
        free(copy);
    }
    assert_true(ok < 3000); /* most mutations are caught */
    lleval_sb_release(&sb);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

/* Writes one split part with the generic writer. */
static void write_part(const char *path, unsigned no, unsigned count, const char *tensor,
                       bool with_split_keys)
{
    struct lleval_gguf_writer *w = lleval_gguf_writer_new();
    struct lleval_err err = LLEVAL_ERR_INIT;
    int64_t ne[2] = {64, 3};
    float zeros[64 * 3] = {0};
    if (no == 0) {
        lleval_gguf_writer_set_str(w, "general.architecture", "llama");
        lleval_gguf_writer_set_u32(w, "llama.block_count", 7);
    }
    if (with_split_keys) {
        lleval_gguf_writer_set_u32(w, "split.no", no);
        lleval_gguf_writer_set_u32(w, "split.count", count);
        lleval_gguf_writer_set_i32(w, "split.tensors.count", (int32_t)count);
    }
    assert_int_equal(lleval_gguf_writer_add_tensor(w, tensor, 2, ne, LLEVAL_GGML_F32, &err), 0);
    assert_int_equal(lleval_gguf_writer_begin(w, path, &err), 0);
    assert_int_equal(lleval_gguf_writer_data(w, zeros, sizeof(zeros), &err), 0);
    assert_int_equal(lleval_gguf_writer_end(w, &err), 0);
    lleval_gguf_writer_free(w);
}

static void test_split_files(void **state)
{
    char *dir = tu_tmpdir();
    char *p1 = lleval_path_join(dir, "m-00001-of-00003.gguf");
    char *p2 = lleval_path_join(dir, "m-00002-of-00003.gguf");
    char *p3 = lleval_path_join(dir, "m-00003-of-00003.gguf");
    char *lone = lleval_path_join(dir, "renamed.gguf");
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    uint64_t u;
    (void)state;
    write_part(p1, 0, 3, "a.weight", true);
    write_part(p2, 1, 3, "b.weight", true);
    /* Part 3 missing. */
    assert_int_equal(lleval_gguf_open(&g, p1, &err), LLEVAL_EIO);
    tu_assert_contains(err.msg, "split model part 3 of 3 is missing");
    write_part(p3, 2, 3, "c.weight", true);
    /* Any part opens the whole model. */
    if (lleval_gguf_open(&g, p2, &err))
        fail_msg("open split: %s", err.msg);
    assert_int_equal(g.n_parts, 3);
    assert_int_equal(g.n_tensors, 3);
    assert_string_equal(g.tensors[2].name, "c.weight");
    assert_int_equal(g.tensors[2].part, 2);
    assert_int_equal(g.tensors[2].offset, 0);
    lleval_gguf_summarize(&g, &s);
    assert_int_equal(s.n_params, 3 * 64 * 3);
    assert_int_equal(s.layers, 7);
    {
        uint64_t total = 0;
        struct lleval_sb sb = LLEVAL_SB_INIT;
        for (int i = 0; i < 3; i++) {
            lleval_sb_reset(&sb);
            assert_int_equal(lleval_read_file(g.part_paths[i], &sb, 0, &err), 0);
            total += sb.len;
        }
        assert_int_equal(g.file_size, total);
        lleval_sb_release(&sb);
    }
    assert_true(lleval_gguf_get_uint(&g, "split.count", &u) && u == 3);
    lleval_gguf_release(&g);

    /* A part whose split.no disagrees with its name. */
    write_part(p2, 2, 3, "b.weight", true);
    assert_int_equal(lleval_gguf_open(&g, p1, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "split.no is not 1");
    /* The same tensor in two parts. */
    write_part(p2, 1, 3, "a.weight", true);
    assert_int_equal(lleval_gguf_open(&g, p1, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "appears in two split parts");
    /* A first part under another name. */
    write_part(lone, 0, 3, "a.weight", true);
    assert_int_equal(lleval_gguf_open(&g, lone, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "one part of a model split into 3 files");
    tu_rmtree(dir);
    free(p1);
    free(p2);
    free(p3);
    free(lone);
    free(dir);
}

static void test_writer_checks(void **state)
{
    struct lleval_gguf_writer *w = lleval_gguf_writer_new();
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *dir = tu_tmpdir();
    char *path = lleval_path_join(dir, "w.gguf");
    int64_t ne[1] = {100};
    unsigned char bytes[300] = {0};
    struct lleval_gguf g;
    (void)state;
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "q", 1, ne, LLEVAL_GGML_Q8_0, &err),
                     LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "not a multiple of the Q8_0 block size 32");
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "x", 1, ne, 4, &err), LLEVAL_EINVAL);
    assert_int_equal(lleval_gguf_writer_set_alignment(w, 24, &err), LLEVAL_EINVAL);
    assert_int_equal(lleval_gguf_writer_set_alignment(w, 64, &err), 0);
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "x", 1, ne, LLEVAL_GGML_I16, &err), 0);
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "x", 1, ne, LLEVAL_GGML_I16, &err),
                     LLEVAL_EINVAL);
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "y", 1, ne, LLEVAL_GGML_I8, &err), 0);
    assert_int_equal(lleval_gguf_writer_tensor_bytes(w, 0), 200);
    lleval_gguf_writer_set_str(w, "k", "first");
    lleval_gguf_writer_set_str(w, "k", "second");
    assert_int_equal(lleval_gguf_writer_begin(w, path, &err), 0);
    /* chunks that span tensors */
    assert_int_equal(lleval_gguf_writer_data(w, bytes, 150, &err), 0);
    assert_int_equal(lleval_gguf_writer_data(w, bytes, 100, &err), 0);
    assert_int_equal(lleval_gguf_writer_end(w, &err), LLEVAL_EINVAL);
    tu_assert_contains(err.msg, "tensor 'y' got 50 of its 100 bytes");
    assert_false(lleval_path_exists(path));
    assert_int_equal(lleval_gguf_writer_data(w, bytes, 50, &err), 0);
    assert_int_equal(lleval_gguf_writer_data(w, bytes, 1, &err), LLEVAL_EINVAL);
    assert_int_equal(lleval_gguf_writer_end(w, &err), 0);
    lleval_gguf_writer_free(w);
    assert_int_equal(lleval_gguf_open(&g, path, &err), 0);
    assert_int_equal(g.alignment, 64);
    assert_int_equal(g.n_kv, 2);
    assert_string_equal(lleval_gguf_get_str(&g, "k"), "second");
    assert_int_equal(g.tensors[1].offset, 256);
    assert_int_equal(g.data_offset % 64, 0);
    lleval_gguf_release(&g);
    /* A writer freed before end leaves nothing behind. */
    w = lleval_gguf_writer_new();
    free(path);
    path = lleval_path_join(dir, "abandoned.gguf");
    assert_int_equal(lleval_gguf_writer_add_tensor(w, "x", 1, ne, LLEVAL_GGML_I8, &err), 0);
    assert_int_equal(lleval_gguf_writer_begin(w, path, &err), 0);
    lleval_gguf_writer_free(w);
    assert_false(lleval_path_exists(path));
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_find_tool(void **state)
{
    char *dir = tu_tmpdir();
    char *tool = lleval_path_join(dir, "llama-quantize");
    char *found;
    (void)state;
    free(tu_write(NULL, tool, "#!/bin/sh\nexit 3\n"));
#ifndef _WIN32 /* Windows has no execute bit: any file there counts as a program */
    assert_null(lleval_synth_find_tool("llama-quantize", tool)); /* not executable */
    chmod(tool, 0755);
#endif
    found = lleval_synth_find_tool("llama-quantize", dir);
    assert_string_equal(found, tool);
    free(found);
    tu_setenv("LLEVAL_LLAMA_BIN_DIR", dir);
    found = lleval_synth_find_tool("llama-quantize", NULL);
    assert_string_equal(found, tool);
    free(found);
    tu_unsetenv("LLEVAL_LLAMA_BIN_DIR");
    assert_null(lleval_synth_find_tool("llama-quantize", "/nonexistent"));
    /* A failing tool: its status in the error, no output file. POSIX only: the tool is a shell
     * script, which Windows cannot start. */
#ifndef _WIN32
    {
        struct lleval_err err = LLEVAL_ERR_INIT;
        char *out = lleval_path_join(dir, "q.gguf");
        assert_int_equal(lleval_synth_quantize(tool, "in.gguf", out, "q8_0", &err), LLEVAL_EFAIL);
        tu_assert_contains(err.msg, "failed with status 3");
        assert_false(lleval_path_exists(out));
        assert_int_equal(lleval_synth_quantize(tool, "in.gguf", out, "q9_9", &err), LLEVAL_EINVAL);
        free(out);
    }
#endif
    tu_rmtree(dir);
    free(tool);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),          cmocka_unit_test(test_format_counts),
        cmocka_unit_test(test_shared_tiny_model),   cmocka_unit_test(test_synth_shapes),
        cmocka_unit_test(test_synth_options),       cmocka_unit_test(test_synth_vocab),
        cmocka_unit_test(test_synth_deterministic), cmocka_unit_test(test_all_value_types),
        cmocka_unit_test(test_hand_made_valid),     cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_random_mutations),    cmocka_unit_test(test_split_files),
        cmocka_unit_test(test_writer_checks),       cmocka_unit_test(test_find_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
