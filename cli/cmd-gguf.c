/* `lleval gguf info FILE [--json]`: what a GGUF model file holds, without reading its weights. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "lleval/model/gguf.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char gguf_usage[] = "lleval gguf info FILE [--json] [--metadata] [--tensors]";
static const char gguf_desc[] =
    "Shows a GGUF model's architecture, parameter count, quantization mix (bytes and\n"
    "tensors per type), context length, shape and vocabulary size. Reads only the header,\n"
    "metadata and tensor infos. For a split model, give any part: every part is read.";

/* A value cell: the number, or "-" when unknown. */
static const char *num_or_dash(char *buf, size_t size, uint64_t v)
{
    if (!v)
        return "-";
    snprintf(buf, size, "%" PRIu64, v);
    return buf;
}

/* Short rendering of a metadata value for the --metadata table. */
static void render_value(const struct lleval_gguf_kv *kv, struct lleval_sb *sb)
{
    char buf[64];
    switch (kv->type) {
    case LLEVAL_GGUF_STRING: {
        size_t n = kv->v.str.len > 80 ? 80 : (size_t)kv->v.str.len;
        lleval_sb_addch(sb, '"');
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)kv->v.str.s[i];
            if (c == '\n')
                lleval_sb_adds(sb, "\\n");
            else if (c < 0x20 || c == 0x7F)
                lleval_sb_addch(sb, '?');
            else
                lleval_sb_addch(sb, (char)c);
        }
        lleval_sb_adds(sb, kv->v.str.len > 80 ? "\"..." : "\"");
        break;
    }
    case LLEVAL_GGUF_ARRAY:
        lleval_sb_addf(sb, "[%s x %" PRIu64 "]", lleval_gguf_vtype_name(kv->arr_type), kv->arr_n);
        break;
    case LLEVAL_GGUF_BOOL:
        lleval_sb_adds(sb, kv->v.b ? "true" : "false");
        break;
    case LLEVAL_GGUF_F32:
    case LLEVAL_GGUF_F64:
        lleval_sb_adds(sb, lleval_fmt_num(buf, sizeof(buf), kv->v.f));
        break;
    case LLEVAL_GGUF_I8:
    case LLEVAL_GGUF_I16:
    case LLEVAL_GGUF_I32:
    case LLEVAL_GGUF_I64:
        lleval_sb_addf(sb, "%" PRId64, kv->v.i);
        break;
    default:
        lleval_sb_addf(sb, "%" PRIu64, kv->v.u);
        break;
    }
}

static json_t *json_uint_or_null(uint64_t v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

/* An owned copy of bytes from the file where NULs and invalid UTF-8 bytes are '?'. */
static char *sanitize(const char *s, size_t len)
{
    char *copy = lleval_xstrndup(s, len);
    size_t off = 0, bad;
    for (size_t i = 0; i < len; i++)
        if (!copy[i])
            copy[i] = '?';
    while (!lleval_utf8_valid(copy + off, len - off, &bad)) {
        copy[off + bad] = '?';
        off += bad + 1;
    }
    return copy;
}

/* An owned copy safe to print on a terminal: sanitized, control characters as '?'. */
static char *display(const char *s)
{
    char *copy = sanitize(s, strlen(s));
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F)
            *c = '?';
    return copy;
}

static json_t *json_bytes(const char *s, size_t len)
{
    char *copy = sanitize(s, len);
    json_t *j = json_stringn(copy, len);
    free(copy);
    return j ? j : json_null();
}

static json_t *kv_to_json(const struct lleval_gguf_kv *kv)
{
    switch (kv->type) {
    case LLEVAL_GGUF_STRING:
        return json_bytes(kv->v.str.s, (size_t)kv->v.str.len);
    case LLEVAL_GGUF_ARRAY:
        return json_pack("{s:s, s:I}", "array_of", lleval_gguf_vtype_name(kv->arr_type), "length",
                         (json_int_t)kv->arr_n);
    case LLEVAL_GGUF_BOOL:
        return json_boolean(kv->v.b);
    case LLEVAL_GGUF_F32:
    case LLEVAL_GGUF_F64:
        return json_real(kv->v.f);
    case LLEVAL_GGUF_I8:
    case LLEVAL_GGUF_I16:
    case LLEVAL_GGUF_I32:
    case LLEVAL_GGUF_I64:
        return json_integer((json_int_t)kv->v.i);
    default:
        return json_integer((json_int_t)kv->v.u);
    }
}

static int print_json(const struct lleval_gguf *g, const struct lleval_gguf_summary *s,
                      const struct lleval_gguf_type_stat *mix, size_t n_mix, bool metadata,
                      bool tensors)
{
    json_t *root = json_object(), *q = json_array();
    const char *ft = s->has_file_type ? lleval_gguf_file_type_name(s->file_type) : NULL;
    char buf[64];
    int rc;

    json_object_set_new(root, "file", json_bytes(g->path, strlen(g->path)));
    json_object_set_new(root, "gguf_version", json_integer(g->version));
    json_object_set_new(root, "architecture",
                        s->arch ? json_bytes(s->arch, strlen(s->arch)) : json_null());
    json_object_set_new(root, "name", s->name ? json_bytes(s->name, strlen(s->name)) : json_null());
    json_object_set_new(root, "file_type", ft ? json_string(ft) : json_null());
    json_object_set_new(root, "parameters", json_integer((json_int_t)s->n_params));
    json_object_set_new(root, "parameters_human",
                        json_string(lleval_gguf_fmt_count(buf, sizeof(buf), s->n_params)));
    json_object_set_new(root, "file_size", json_integer((json_int_t)s->file_size));
    json_object_set_new(root, "tensor_bytes", json_integer((json_int_t)s->tensor_bytes));
    json_object_set_new(root, "tensors", json_integer((json_int_t)s->n_tensors));
    json_object_set_new(root, "split_parts", json_integer(g->n_parts));
    json_object_set_new(root, "alignment", json_integer(g->alignment));
    json_object_set_new(root, "data_offset", json_integer((json_int_t)g->data_offset));
    json_object_set_new(root, "context_length", json_uint_or_null(s->context_length));
    json_object_set_new(root, "embedding_length", json_uint_or_null(s->embedding));
    json_object_set_new(root, "layers", json_uint_or_null(s->layers));
    json_object_set_new(root, "heads", json_uint_or_null(s->heads));
    json_object_set_new(root, "kv_heads", json_uint_or_null(s->kv_heads));
    json_object_set_new(root, "head_dim", json_uint_or_null(s->head_dim));
    json_object_set_new(root, "feed_forward_length", json_uint_or_null(s->feed_forward));
    json_object_set_new(root, "vocab_size", json_uint_or_null(s->vocab_size));
    for (size_t i = 0; i < n_mix; i++) {
        double pct = s->tensor_bytes ? 100.0 * (double)mix[i].n_bytes / (double)s->tensor_bytes : 0;
        json_array_append_new(q, json_pack("{s:s, s:I, s:I, s:I, s:f}", "type",
                                           lleval_ggml_type_name(mix[i].type, buf, sizeof(buf)),
                                           "tensors", (json_int_t)mix[i].n_tensors, "bytes",
                                           (json_int_t)mix[i].n_bytes, "parameters",
                                           (json_int_t)mix[i].n_elements, "percent",
                                           (double)(long long)(pct * 100.0 + 0.5) / 100.0));
    }
    json_object_set_new(root, "quantization", q);
    if (metadata) {
        json_t *m = json_object();
        for (size_t i = 0; i < g->n_kv; i++) {
            char *key = sanitize(g->kv[i].key, strlen(g->kv[i].key));
            json_object_set_new(m, key, kv_to_json(&g->kv[i]));
            free(key);
        }
        json_object_set_new(root, "metadata", m);
    }
    if (tensors) {
        json_t *a = json_array();
        for (size_t i = 0; i < g->n_tensors; i++) {
            const struct lleval_gguf_tensor *t = &g->tensors[i];
            json_t *shape = json_array();
            for (uint32_t d = 0; d < t->n_dims; d++)
                json_array_append_new(shape, json_integer(t->ne[d]));
            json_array_append_new(a,
                                  json_pack("{s:o, s:s, s:o, s:I, s:I, s:i}", "name",
                                            json_bytes(t->name, strlen(t->name)), "type",
                                            lleval_ggml_type_name(t->type, buf, sizeof(buf)),
                                            "shape", shape, "bytes", (json_int_t)t->n_bytes,
                                            "offset", (json_int_t)t->offset, "part", (int)t->part));
        }
        json_object_set_new(root, "tensor_infos", a);
    }
    rc = json_dumpf(root, stdout,
                    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
                        JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(root);
    return rc ? 4 : 0;
}

static void print_text(const struct lleval_gguf *g, const struct lleval_gguf_summary *s,
                       const struct lleval_gguf_type_stat *mix, size_t n_mix, bool metadata,
                       bool tensors, struct cli_ctx *ctx)
{
    struct cli_table *t = cli_table_new(2);
    char a[64], b[64], c[160];
    const char *ft = s->has_file_type ? lleval_gguf_file_type_name(s->file_type) : NULL;

    cli_table_row(t, "file", g->path);
    if (g->n_parts > 1) {
        snprintf(c, sizeof(c), "%" PRIu32 " parts", g->n_parts);
        cli_table_row(t, "split", c);
    }
    snprintf(c, sizeof(c), "GGUF v%" PRIu32, g->version);
    cli_table_row(t, "format", c);
    {
        char *arch = display(s->arch ? s->arch : "-"), *name = display(s->name ? s->name : "-");
        cli_table_row(t, "architecture", arch);
        cli_table_row(t, "name", name);
        free(arch);
        free(name);
    }
    if (ft)
        cli_table_row(t, "file type", ft);
    snprintf(c, sizeof(c), "%s (%" PRIu64 ")", lleval_gguf_fmt_count(a, sizeof(a), s->n_params),
             s->n_params);
    cli_table_row(t, "parameters", c);
    snprintf(c, sizeof(c), "%s (%" PRIu64 " bytes)",
             lleval_gguf_fmt_bytes(a, sizeof(a), s->file_size), s->file_size);
    cli_table_row(t, "file size", c);
    cli_table_row(t, "context length", num_or_dash(a, sizeof(a), s->context_length));
    cli_table_row(t, "embedding", num_or_dash(a, sizeof(a), s->embedding));
    cli_table_row(t, "layers", num_or_dash(a, sizeof(a), s->layers));
    cli_table_row(t, "heads", num_or_dash(a, sizeof(a), s->heads));
    cli_table_row(t, "kv heads", num_or_dash(a, sizeof(a), s->kv_heads));
    cli_table_row(t, "head dim", num_or_dash(a, sizeof(a), s->head_dim));
    cli_table_row(t, "feed forward", num_or_dash(a, sizeof(a), s->feed_forward));
    cli_table_row(t, "vocab size", num_or_dash(a, sizeof(a), s->vocab_size));
    snprintf(c, sizeof(c), "%" PRIu64, s->n_tensors);
    cli_table_row(t, "tensors", c);
    cli_table_print(t, stdout, ctx);
    cli_table_free(t);

    printf("\n");
    t = cli_table_new(4);
    cli_table_header(t, "type", "tensors", "bytes", "%");
    for (size_t i = 0; i < n_mix; i++) {
        double pct = s->tensor_bytes ? 100.0 * (double)mix[i].n_bytes / (double)s->tensor_bytes : 0;
        char n[32], pc[32];
        snprintf(n, sizeof(n), "%" PRIu64, mix[i].n_tensors);
        snprintf(pc, sizeof(pc), "%.1f", pct);
        cli_table_row(t, lleval_ggml_type_name(mix[i].type, a, sizeof(a)), n,
                      lleval_gguf_fmt_bytes(b, sizeof(b), mix[i].n_bytes), pc);
    }
    cli_table_print(t, stdout, ctx);
    cli_table_free(t);

    if (metadata) {
        printf("\n");
        t = cli_table_new(3);
        cli_table_header(t, "key", "type", "value");
        for (size_t i = 0; i < g->n_kv; i++) {
            struct lleval_sb v = LLEVAL_SB_INIT;
            char *key = display(g->kv[i].key), *val;
            render_value(&g->kv[i], &v);
            val = display(v.buf);
            cli_table_row(t, key, lleval_gguf_vtype_name(g->kv[i].type), val);
            free(key);
            free(val);
            lleval_sb_release(&v);
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
    }
    if (tensors) {
        printf("\n");
        t = cli_table_new(4);
        cli_table_header(t, "tensor", "type", "shape", "bytes");
        for (size_t i = 0; i < g->n_tensors; i++) {
            const struct lleval_gguf_tensor *x = &g->tensors[i];
            struct lleval_sb shape = LLEVAL_SB_INIT;
            char n[32];
            for (uint32_t d = 0; d < x->n_dims; d++)
                lleval_sb_addf(&shape, "%s%" PRId64, d ? " x " : "", x->ne[d]);
            char *name = display(x->name);
            snprintf(n, sizeof(n), "%" PRIu64, x->n_bytes);
            cli_table_row(t, name, lleval_ggml_type_name(x->type, a, sizeof(a)), shape.buf, n);
            free(name);
            lleval_sb_release(&shape);
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
    }
}

static int gguf_info(int argc, char **argv, struct cli_ctx *ctx)
{
    bool json = false, metadata = false, tensors = false;
    struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print JSON instead of tables", NULL, 0, 0},
        {"metadata", 0, CLI_OPT_BOOL, &metadata, NULL, "also list every metadata key", NULL, 0, 0},
        {"tensors", 0, CLI_OPT_BOOL, &tensors, NULL, "also list every tensor", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_gguf g;
    struct lleval_gguf_summary s;
    struct lleval_gguf_type_stat mix[LLEVAL_GGML_TYPE_COUNT];
    size_t n_mix;
    int npos, rc;

    if ((rc = cli_parse_options(argc, argv, opts, gguf_usage, gguf_desc, &npos, ctx)) !=
        CLI_CONTINUE)
        return rc;
    if (npos != 1) {
        cli_error(ctx, "'gguf info' wants one model file; see 'lleval gguf info --help'");
        return 2;
    }
    if (lleval_gguf_open(&g, argv[1], &err))
        return cli_error_lib(ctx, &err);
    lleval_gguf_summarize(&g, &s);
    n_mix = lleval_gguf_type_mix(&g, mix);
    if (json)
        rc = print_json(&g, &s, mix, n_mix, metadata, tensors);
    else {
        print_text(&g, &s, mix, n_mix, metadata, tensors, ctx);
        rc = 0;
    }
    lleval_gguf_release(&g);
    return rc;
}

int cmd_gguf(int argc, char **argv, struct cli_ctx *ctx)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: %s\n\n%s\n\nsubcommands:\n  info   describe a GGUF file\n", gguf_usage,
                gguf_desc);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "info"))
        return gguf_info(argc - 1, argv + 1, ctx);
    cli_error(ctx, "unknown 'gguf' subcommand '%s'; try 'lleval gguf info FILE'", argv[1]);
    return 2;
}
