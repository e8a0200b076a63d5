/*
 * `lleval plan`: the VRAM budget planner. For a GGUF file (exact weights) or
 * an Ollama tag (estimated from /api/show), what llama-server allocates at a
 * context, slot count, KV cache type and offload, on the GPU and in host
 * memory, against the card's memory (NVML, --vram, or the guide's 16 GiB);
 * the verdict and the largest context and slot count that fit. `--suggest`
 * works out the guide's presets and quantization table for the card. The
 * memory model is lib/model/vram.c, the suggestions lib/model/suggest.c, the
 * /api/show query lib/engine/ollama.c; this file parses options and prints.
 * docs/planner.md explains the model.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "lleval/engine/ollama.h"
#include "lleval/model/budget.h"
#include "lleval/model/gguf.h"
#include "lleval/model/suggest.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "lleval/model/vram.h"

static const char plan_usage[] =
    "lleval plan MODEL.gguf [--ctx N | --ctx-per-slot N] [--parallel N] [--kv-type f16|q8_0|q4_0]\n"
    "                   [--gpu-layers N] [--vram SIZE] [--device gpu|cpu] [--json]\n"
    "   or: lleval plan --ollama TAG [--base-url URL] [options]\n"
    "   or: lleval plan --suggest [MODEL.gguf] [--vram SIZE] [--json]";
static const char plan_desc[] =
    "Plans the memory llama.cpp's llama-server needs for a model: weights (on the GPU and\n"
    "on the CPU), KV cache, output and compute buffers and the CUDA runtime overhead,\n"
    "against the card's memory (read through NVML when an NVIDIA driver is present, else\n"
    "--vram, else the guide's 16 GiB). It prints the verdict (fits, tight above 90%, does not\n"
    "fit) and the largest context and slot count that fit at the other settings.\n"
    "--ctx is llama-server's -c: the total context, split across the --parallel slots and\n"
    "padded to 256 each; --ctx-per-slot is what each request gets (Ollama's num_ctx).\n"
    "--ollama plans a pulled Ollama model from its /api/show facts (parameter count x\n"
    "bits per weight of its quantization: an estimate). --suggest works out the guide's\n"
    "presets and every quantization from Q8_0 to Q3_K_M for the card, for the given model's\n"
    "shape or for the Llama 3.1 8B and Llama 2 13B reference shapes. --device cpu plans an\n"
    "all-CPU run against host memory. Exit status: 0 fits or tight, 1 does not fit.\n"
    "docs/planner.md describes the formulas and their accuracy.";

struct plan_opts {
    const char *model_path;
    const char *ollama;
    const char *base_url;
    const char *kv_type;
    const char *flash_attn;
    const char *device;
    const char *vram;
    const char *overhead;
    long ctx, ctx_per_slot, parallel, gpu_layers;
    double bpw;
    bool seen_ctx, seen_ctx_per_slot, seen_parallel, seen_overhead;
    bool suggest, json;
};

struct budget {
    uint64_t bytes;
    char source[160];
};

/* ---- small formatting helpers ---------------------------------------------- */

static double mib(uint64_t bytes)
{
    return (double)bytes / (double)LLEVAL_MIB;
}

static const char *fmt_mib(char *buf, size_t size, uint64_t bytes)
{
    snprintf(buf, size, "%.2f", mib(bytes));
    return buf;
}

static const char *fmt_gib(char *buf, size_t size, uint64_t bytes)
{
    snprintf(buf, size, "%.2f GiB", (double)bytes / (double)LLEVAL_GIB);
    return buf;
}

/* GiB as a bare number, for table cells whose header names the unit. */
static const char *gib(char *buf, size_t size, uint64_t bytes)
{
    snprintf(buf, size, "%.2f", (double)bytes / (double)LLEVAL_GIB);
    return buf;
}

static double pct(uint64_t need, uint64_t budget)
{
    return budget ? 100.0 * (double)need / (double)budget : 0;
}

static double round2(double v)
{
    return (double)(long long)(v * 100.0 + (v < 0 ? -0.5 : 0.5)) / 100.0;
}

/* The lowercase name llama-server's -ctk takes ("f16", "q8_0"). */
static const char *kv_name(char *buf, size_t size, uint32_t type)
{
    snprintf(buf, size, "%s", lleval_ggml_type_name(type, buf, size));
    for (char *c = buf; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return buf;
}

/* A JSON string, or "?" for bytes that are not UTF-8 (a path from argv). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("?");
}

static json_t *jbytes(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static const char *verdict_color(const struct cli_ctx *ctx, enum lleval_vram_verdict v)
{
    return v == LLEVAL_VRAM_FITS    ? cli_green(ctx)
           : v == LLEVAL_VRAM_TIGHT ? cli_yellow(ctx)
                                    : cli_red(ctx);
}

/* ---- the budget: --vram, NVML, host RAM, or the guide's card ------------------- */

static int resolve_budget(const struct plan_opts *o, enum lleval_vram_device dev, struct budget *b,
                          struct cli_ctx *ctx)
{
    if (o->vram) {
        if (lleval_parse_size(o->vram, &b->bytes) || !b->bytes) {
            cli_error(ctx, "option '--vram' wants a size like 16GiB or 12288MiB, not '%s'",
                      o->vram);
            return 2;
        }
        snprintf(b->source, sizeof(b->source), "--vram %s", o->vram);
        return 0;
    }
    b->bytes = lleval_vram_default_budget(dev, b->source, sizeof(b->source));
    return 0;
}

/* ---- settings ------------------------------------------------------------------ */

static int build_params(const struct plan_opts *o, struct lleval_vram_params *p,
                        struct cli_ctx *ctx)
{
    lleval_vram_params_init(p);
    if (o->seen_ctx && o->seen_ctx_per_slot) {
        cli_error(ctx, "give '--ctx' (the total, llama-server's -c) or '--ctx-per-slot', not both");
        return 2;
    }
    if (o->seen_parallel)
        p->parallel = o->parallel;
    if (o->seen_ctx)
        p->ctx = o->ctx;
    else if (o->seen_ctx_per_slot)
        p->ctx = o->ctx_per_slot * p->parallel;
    else
        p->ctx = 4096 * p->parallel;
    p->gpu_layers = o->gpu_layers;
    if (o->kv_type) {
        if (lleval_ggml_type_parse(o->kv_type, &p->kv_type) ||
            !lleval_vram_kv_type_ok(p->kv_type)) {
            cli_error(ctx,
                      "option '--kv-type' wants f16, q8_0 or q4_0 (or f32, bf16, q4_1, q5_0, "
                      "q5_1, iq4_nl), not '%s'",
                      o->kv_type);
            return 2;
        }
    }
    if (o->flash_attn) {
        if (!strcmp(o->flash_attn, "on"))
            p->flash_attn = true;
        else if (!strcmp(o->flash_attn, "off"))
            p->flash_attn = false;
        else {
            cli_error(ctx, "option '--flash-attn' wants on or off, not '%s'", o->flash_attn);
            return 2;
        }
    }
    if (o->device) {
        if (!strcmp(o->device, "gpu"))
            p->device = LLEVAL_VRAM_GPU;
        else if (!strcmp(o->device, "cpu"))
            p->device = LLEVAL_VRAM_CPU;
        else {
            cli_error(ctx, "option '--device' wants gpu or cpu, not '%s'", o->device);
            return 2;
        }
    }
    if (o->overhead) {
        if (lleval_parse_size(o->overhead, &p->overhead)) {
            cli_error(ctx, "option '--overhead' wants a size like 400MiB, not '%s'", o->overhead);
            return 2;
        }
    }
    return 0;
}

/* ---- one plan -------------------------------------------------------------------- */

static const char *device_name(enum lleval_vram_device d)
{
    return d == LLEVAL_VRAM_CPU ? "cpu" : "gpu";
}

static const char *source_name(const struct plan_opts *o)
{
    return o->ollama ? "ollama" : "gguf";
}

static json_t *model_json(const struct lleval_vram_model *m, const char *source, const char *where)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(m->name));
    json_object_set_new(j, "source", json_string(source));
    json_object_set_new(j, where && !strcmp(source, "ollama") ? "tag" : "path",
                        where ? jstr(where) : json_null());
    json_object_set_new(j, "architecture", json_string(m->arch));
    json_object_set_new(j, "quantization", m->quant[0] ? json_string(m->quant) : json_null());
    json_object_set_new(j, "estimated", json_boolean(m->source == LLEVAL_VRAM_FROM_SHAPE));
    json_object_set_new(j, "parameters", jbytes(m->n_params));
    json_object_set_new(j, "layers", json_integer(m->n_layer));
    json_object_set_new(j, "embedding_length", json_integer(m->n_embd));
    json_object_set_new(j, "heads", json_integer(m->n_head));
    json_object_set_new(j, "kv_heads", json_integer(m->n_head_kv));
    json_object_set_new(j, "head_dim_k", json_integer(m->head_dim_k));
    json_object_set_new(j, "head_dim_v", json_integer(m->head_dim_v));
    json_object_set_new(j, "feed_forward_length", json_integer(m->n_ff));
    json_object_set_new(j, "vocab_size", m->n_vocab ? json_integer(m->n_vocab) : json_null());
    json_object_set_new(j, "context_length",
                        m->n_ctx_train ? json_integer(m->n_ctx_train) : json_null());
    json_object_set_new(j, "weights_bytes", jbytes(m->w_total));
    return j;
}

static json_t *plan_json(const struct lleval_vram_model *m, const struct lleval_vram_params *p,
                         const struct lleval_vram_outcome *r, const struct budget *b)
{
    const struct lleval_vram_plan *x = &r->plan;
    json_t *j = json_object(), *s = json_object(), *by = json_object(), *mb = json_object();
    char tname[32];
    struct {
        const char *key;
        uint64_t v;
    } rows[] = {
        {"weights_gpu", x->weights_gpu},
        {"weights_cpu", x->weights_cpu},
        {"kv_k", x->kv_k},
        {"kv_v", x->kv_v},
        {"kv_total", x->kv_k + x->kv_v},
        {"kv_gpu", x->kv_gpu},
        {"kv_cpu", x->kv_cpu},
        {"kv_per_slot", x->kv_per_slot},
        {"output", x->output},
        {"compute_gpu", x->compute_gpu},
        {"compute_cpu", x->compute_cpu},
        {"overhead", x->overhead},
        {"total_gpu", x->total_gpu},
        {"total_cpu", x->total_cpu},
        {"total", x->total},
    };

    json_object_set_new(s, "ctx", json_integer(p->ctx));
    json_object_set_new(s, "parallel", json_integer(p->parallel));
    json_object_set_new(s, "ctx_allocated", json_integer(x->n_ctx));
    json_object_set_new(s, "ctx_per_slot", json_integer(x->n_ctx_slot));
    json_object_set_new(s, "kv_type", json_string(kv_name(tname, sizeof(tname), p->kv_type)));
    json_object_set_new(s, "flash_attn", json_boolean(p->flash_attn));
    json_object_set_new(s, "device", json_string(device_name(p->device)));
    json_object_set_new(s, "gpu_layers", json_integer(x->gpu_layers + (x->output_on_gpu ? 1 : 0)));
    json_object_set_new(s, "gpu_layers_of", json_integer((json_int_t)m->n_layer + 1));
    json_object_set_new(s, "output_on_gpu", json_boolean(x->output_on_gpu));
    json_object_set_new(s, "ubatch", json_integer(x->n_tokens));
    json_object_set_new(j, "settings", s);
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(rows); i++) {
        json_object_set_new(by, rows[i].key, jbytes(rows[i].v));
        json_object_set_new(mb, rows[i].key, json_real(round2(mib(rows[i].v))));
    }
    json_object_set_new(j, "bytes", by);
    json_object_set_new(j, "mib", mb);
    json_object_set_new(j, "budget_bytes", jbytes(b->bytes));
    json_object_set_new(j, "budget_source", json_string(b->source));
    json_object_set_new(j, "used_percent", json_real(round2(pct(x->total, b->bytes))));
    json_object_set_new(j, "verdict", json_string(lleval_vram_verdict_name(r->verdict)));
    json_object_set_new(j, "largest_ctx", json_integer(r->max_ctx));
    json_object_set_new(j, "largest_ctx_per_slot",
                        json_integer(p->parallel ? r->max_ctx / p->parallel : r->max_ctx));
    json_object_set_new(j, "largest_ctx_is_model_limit", json_boolean(r->max_ctx_capped));
    json_object_set_new(j, "largest_parallel", json_integer(r->max_parallel));
    json_object_set_new(j, "largest_parallel_is_limit", json_boolean(r->max_parallel_capped));
    return j;
}

static int dump_json(json_t *root)
{
    int rc =
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(root);
    return rc ? 4 : 0;
}

static void describe_model(const struct lleval_vram_model *m, struct lleval_sb *sb)
{
    char buf[64];
    lleval_sb_addf(sb,
                   "%s, %" PRIu32 " layers, embd %" PRIu32 ", %" PRIu32 " heads (%" PRIu32
                   " kv), head dim %" PRIu32,
                   m->arch[0] ? m->arch : "?", m->n_layer, m->n_embd, m->n_head, m->n_head_kv,
                   m->head_dim_k);
    if (m->n_ff)
        lleval_sb_addf(sb, ", ff %" PRIu32, m->n_ff);
    if (m->n_vocab)
        lleval_sb_addf(sb, ", vocab %" PRIu32, m->n_vocab);
    if (m->quant[0])
        lleval_sb_addf(sb, ", %s", m->quant);
    lleval_sb_addf(sb, ", %s of weights", lleval_gguf_fmt_bytes(buf, sizeof(buf), m->w_total));
    if (m->source == LLEVAL_VRAM_FROM_SHAPE)
        lleval_sb_addf(sb, " (estimated from %s parameters)",
                       lleval_gguf_fmt_count(buf, sizeof(buf), m->n_params));
}

static void print_plan(const struct lleval_vram_model *m, const char *where,
                       const struct lleval_vram_params *p, const struct lleval_vram_outcome *r,
                       const struct budget *b, struct cli_ctx *ctx)
{
    const struct lleval_vram_plan *x = &r->plan;
    bool cpu = p->device == LLEVAL_VRAM_CPU;
    struct cli_table *t = cli_table_new(2);
    struct lleval_sb line = LLEVAL_SB_INIT;
    char a[64], tname[32];

    lleval_sb_addf(&line, "%s: ", where);
    describe_model(m, &line);
    cli_table_row(t, "model", line.buf);
    lleval_sb_reset(&line);
    lleval_sb_addf(&line,
                   "-c %ld -np %ld: %ld slot%s x %ld context (allocates %ld), KV %s, "
                   "flash attention %s",
                   p->ctx, p->parallel, p->parallel, p->parallel == 1 ? "" : "s", x->n_ctx_slot,
                   x->n_ctx, kv_name(tname, sizeof(tname), p->kv_type),
                   p->flash_attn ? "on" : "off");
    cli_table_row(t, "settings", line.buf);
    lleval_sb_reset(&line);
    if (cpu)
        lleval_sb_adds(&line, "none: every layer on the CPU (--device cpu)");
    else
        lleval_sb_addf(&line, "%ld/%" PRIu32 " layers on the GPU%s",
                       x->gpu_layers + (x->output_on_gpu ? 1 : 0), m->n_layer + 1,
                       x->output_on_gpu ? " (all; token embeddings stay on the CPU)" : "");
    cli_table_row(t, "offload", line.buf);
    lleval_sb_reset(&line);
    lleval_sb_addf(&line, "%s %s (%s)", fmt_gib(a, sizeof(a), b->bytes), cpu ? "RAM" : "VRAM",
                   b->source);
    cli_table_row(t, "budget", line.buf);
    cli_table_print(t, stdout, ctx);
    cli_table_free(t);
    printf("\n");

    t = cli_table_new(3);
    cli_table_header(t, "component", "MiB", "where");
    if (x->weights_gpu)
        cli_table_row(t, "weights", fmt_mib(a, sizeof(a), x->weights_gpu), "gpu");
    cli_table_row(t, "weights", fmt_mib(a, sizeof(a), x->weights_cpu), "cpu");
    if (x->kv_gpu)
        cli_table_row(t, "KV cache", fmt_mib(a, sizeof(a), x->kv_gpu), "gpu");
    if (x->kv_cpu || !x->kv_gpu)
        cli_table_row(t, "KV cache", fmt_mib(a, sizeof(a), x->kv_cpu), "cpu");
    cli_table_row(t, "output buffer", fmt_mib(a, sizeof(a), x->output), "cpu");
    if (x->compute_gpu)
        cli_table_row(t, "compute buffer", fmt_mib(a, sizeof(a), x->compute_gpu), "gpu");
    cli_table_row(t, "compute buffer", fmt_mib(a, sizeof(a), x->compute_cpu), "cpu");
    if (!cpu)
        cli_table_row(t, "runtime overhead", fmt_mib(a, sizeof(a), x->overhead), "gpu");
    if (!cpu)
        cli_table_row(t, "total", fmt_mib(a, sizeof(a), x->total_gpu), "gpu");
    cli_table_row(t, "total", fmt_mib(a, sizeof(a), x->total_cpu), "cpu");
    cli_table_print(t, stdout, ctx);
    cli_table_free(t);

    printf("\nKV cache per slot: %.2f MiB (%ld cells x %" PRIu32 " layers)\n", mib(x->kv_per_slot),
           x->n_ctx_slot, m->n_layer);
    printf("%s%s%s: %.2f of %.2f MiB %s (%.1f%%)\n", verdict_color(ctx, r->verdict),
           lleval_vram_verdict_name(r->verdict), cli_reset(ctx), mib(x->total), mib(b->bytes),
           cpu ? "RAM" : "VRAM", pct(x->total, b->bytes));
    printf("largest context that fits: %ld; largest slot count: %ld\n", r->max_ctx,
           r->max_parallel);
    if (r->max_ctx)
        printf("%s(context: -c %ld = %ld slot%s x %ld%s", cli_dim(ctx), r->max_ctx, p->parallel,
               p->parallel == 1 ? "" : "s", r->max_ctx / p->parallel,
               r->max_ctx_capped ? ", the model's training context" : "");
    else
        printf("%s(context: not even %d per slot fits", cli_dim(ctx), LLEVAL_VRAM_CTX_PAD);
    printf("; slots: %ld x %ld context%s)%s\n", r->max_parallel, p->ctx / p->parallel,
           r->max_parallel_capped ? ", llama.cpp's slot limit" : "", cli_reset(ctx));
    if (m->source == LLEVAL_VRAM_FROM_SHAPE)
        printf("%sweights are estimated (parameters x %s bits per weight); plan the GGUF file "
               "for exact sizes%s\n",
               cli_dim(ctx), m->quant[0] ? m->quant : "the given", cli_reset(ctx));
    lleval_sb_release(&line);
}

/* ---- --suggest ------------------------------------------------------------------ */

static int suggest(const struct lleval_vram_model *file, const char *where,
                   const struct lleval_vram_params *base, const struct budget *b, bool json,
                   struct cli_ctx *ctx)
{
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_suggestions sg;
    json_t *root = NULL, *jp = NULL, *jq = NULL;
    struct cli_table *tp = NULL, *tq = NULL;
    char a[64], c[64], d[64], e[64], f[64], g[64], h[64];
    int rc = 0;

    if (lleval_vram_suggest(file, base, b->bytes, &sg, &err))
        return cli_error_lib(ctx, &err);
    root = json_object();
    jp = json_array();
    jq = json_array();
    tp = cli_table_new(11);
    tq = cli_table_new(9);
    cli_table_header(tp, "preset", "model", "quant", "ctx/slot", "slots", "weights GiB", "KV GiB",
                     "total GiB", "use", "verdict", "largest ctx/slot");
    for (size_t i = 0; i < sg.n_presets; i++) {
        const struct lleval_vram_suggestion *sp = &sg.presets[i];
        const struct lleval_vram_model *m = &sp->model;
        const struct lleval_vram_params *p = &sp->params;
        const struct lleval_vram_outcome *r = &sp->outcome;
        json_t *o;

        snprintf(c, sizeof(c), "%ld", p->ctx / p->parallel);
        snprintf(d, sizeof(d), "%ld", p->parallel);
        snprintf(e, sizeof(e), "%.1f%%", pct(r->plan.total, b->bytes));
        snprintf(f, sizeof(f), "%ld%s", r->max_ctx / p->parallel, r->max_ctx_capped ? "+" : "");
        cli_table_row(tp, sp->preset, m->name, sp->quant, c, d,
                      gib(a, sizeof(a), r->plan.weights_gpu + r->plan.weights_cpu),
                      gib(g, sizeof(g), r->plan.kv_k + r->plan.kv_v),
                      gib(h, sizeof(h), r->plan.total), e, lleval_vram_verdict_name(r->verdict), f);
        o = plan_json(m, p, r, b);
        json_object_set_new(o, "preset", json_string(sp->preset));
        json_object_set_new(o, "model", model_json(m, file ? "gguf" : "reference", where));
        json_array_append_new(jp, o);
    }

    cli_table_header(tq, "model", "quant", "bpw", "weights GiB", "total GiB", "use", "verdict",
                     "largest ctx (1 slot)", "largest slots (4096 each)");
    for (size_t i = 0; i < sg.n_quants; i++) {
        const struct lleval_vram_suggestion *sq = &sg.quants[i];
        const struct lleval_vram_model *m = &sq->model;
        const struct lleval_vram_outcome *r = &sq->outcome;
        json_t *o;

        snprintf(c, sizeof(c), "%.2f", sq->bpw);
        snprintf(e, sizeof(e), "%.1f%%", pct(r->plan.total, b->bytes));
        snprintf(f, sizeof(f), "%ld%s", r->max_ctx, r->max_ctx_capped ? "+" : "");
        snprintf(g, sizeof(g), "%ld%s", r->max_parallel, r->max_parallel_capped ? "+" : "");
        cli_table_row(tq, m->name, sq->quant, c, gib(a, sizeof(a), m->w_total),
                      gib(d, sizeof(d), r->plan.total), e, lleval_vram_verdict_name(r->verdict), f,
                      g);
        o = plan_json(m, &sq->params, r, b);
        json_object_set_new(o, "model", model_json(m, file ? "gguf" : "reference", where));
        json_object_set_new(o, "quantization", json_string(sq->quant));
        json_object_set_new(o, "bits_per_weight", json_real(round2(sq->bpw)));
        json_array_append_new(jq, o);
    }

    if (json) {
        json_object_set_new(root, "budget_bytes", jbytes(b->bytes));
        json_object_set_new(root, "budget_source", json_string(b->source));
        json_object_set_new(root, "device", json_string(device_name(base->device)));
        json_object_set_new(root, "presets", jp);
        json_object_set_new(root, "quantizations", jq);
        jp = jq = NULL;
        rc = dump_json(root);
        root = NULL;
    } else {
        printf("budget: %s %s (%s)\n", fmt_gib(a, sizeof(a), b->bytes),
               base->device == LLEVAL_VRAM_CPU ? "RAM" : "VRAM", b->source);
        if (file)
            printf("model: %s (%s), other quantizations estimated from its %s parameters\n", where,
                   file->name, lleval_gguf_fmt_count(a, sizeof(a), file->n_params));
        else
            printf("models: reference shapes Llama 3.1 8B (32 layers, embd 4096, 32 heads, 8 kv, "
                   "vocab 128256) and Llama 2 13B (40 layers, embd 5120, 40 heads, 40 kv, vocab "
                   "32000); weights estimated\n");
        printf("\nthe guide's presets on this card:\n");
        cli_table_print(tp, stdout, ctx);
        printf("\nquantizations (4096 context, 1 slot, KV %s):\n",
               kv_name(a, sizeof(a), base->kv_type));
        cli_table_print(tq, stdout, ctx);
        printf("\n%s+: the limit itself (the model's training context, llama.cpp's %d slots) fits\n"
               "'lleval plan MODEL.gguf --ctx N --parallel N' gives the full breakdown; "
               "docs/planner.md explains the estimates%s\n",
               cli_dim(ctx), LLEVAL_VRAM_MAX_SLOTS, cli_reset(ctx));
    }
    json_decref(jp);
    json_decref(jq);
    json_decref(root);
    cli_table_free(tp);
    cli_table_free(tq);
    lleval_vram_suggestions_release(&sg);
    return rc;
}

/* ---- the command ---------------------------------------------------------------- */

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx)
{
    struct plan_opts o = {0};
    struct cli_option opts[] = {
        {"ctx", 'c', CLI_OPT_LONG, &o.ctx, "N",
         "total context, llama-server's -c, split across the slots (default 4096 per slot)",
         &o.seen_ctx, 1, 1L << 24},
        {"ctx-per-slot", 0, CLI_OPT_LONG, &o.ctx_per_slot, "N",
         "context of each slot (Ollama's num_ctx); the total is N x --parallel",
         &o.seen_ctx_per_slot, 1, 1L << 24},
        {"parallel", 'p', CLI_OPT_LONG, &o.parallel, "N",
         "slots, llama-server's -np (Ollama's OLLAMA_NUM_PARALLEL) (default 1)", &o.seen_parallel,
         1, LLEVAL_VRAM_MAX_SLOTS},
        {"kv-type", 0, CLI_OPT_STRING, &o.kv_type, "TYPE",
         "KV cache type: f16 (default), q8_0 or q4_0 (-ctk/-ctv)", NULL, 0, 0},
        {"gpu-layers", 0, CLI_OPT_LONG, &o.gpu_layers, "N",
         "layers on the GPU, llama-server's -ngl: -1 all (default), of layers + 1", NULL, -1,
         1000000},
        {"flash-attn", 0, CLI_OPT_STRING, &o.flash_attn, "on|off",
         "flash attention (default on, what llama.cpp's auto picks on CUDA)", NULL, 0, 0},
        {"device", 0, CLI_OPT_STRING, &o.device, "gpu|cpu",
         "plan for the GPU (default) or for an all-CPU run in host memory", NULL, 0, 0},
        {"vram", 0, CLI_OPT_STRING, &o.vram, "SIZE",
         "memory budget, like 16GiB (default: NVML's total, else 16 GiB; host RAM for cpu)", NULL,
         0, 0},
        {"overhead", 0, CLI_OPT_STRING, &o.overhead, "SIZE",
         "CUDA runtime overhead on the GPU (default 400MiB)", &o.seen_overhead, 0, 0},
        {"ollama", 0, CLI_OPT_STRING, &o.ollama, "TAG",
         "plan an Ollama model from its /api/show facts (estimated weights)", NULL, 0, 0},
        {"base-url", 0, CLI_OPT_STRING, &o.base_url, "URL",
         "Ollama's address (default " LLEVAL_OLLAMA_DEFAULT_URL ")", NULL, 0, 0},
        {"bpw", 0, CLI_OPT_DOUBLE, &o.bpw, "N",
         "bits per weight for --ollama when its quantization is unknown", NULL, 0, 0},
        {"suggest", 0, CLI_OPT_BOOL, &o.suggest, NULL,
         "work out the guide's presets and quantizations for the card", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &o.json, NULL, "print JSON instead of tables", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_vram_params p;
    struct lleval_vram_model *m = NULL;
    struct lleval_gguf g;
    struct lleval_vram_outcome r;
    struct budget b = {0};
    bool have_gguf = false;
    const char *where;
    int npos, rc;

    o.gpu_layers = -1;
    if ((rc = cli_parse_options(argc, argv, opts, plan_usage, plan_desc, &npos, ctx)) !=
        CLI_CONTINUE)
        return rc;
    if (npos > 1) {
        cli_error(ctx, "'plan' wants at most one model file; see 'lleval plan --help'");
        return 2;
    }
    o.model_path = npos ? argv[1] : NULL;
    if (o.model_path && o.ollama) {
        cli_error(ctx, "give a GGUF file or '--ollama TAG', not both");
        return 2;
    }
    if (!o.model_path && !o.ollama && !o.suggest) {
        cli_error(ctx, "'plan' wants a GGUF file, '--ollama TAG' or '--suggest'; see 'lleval plan "
                       "--help'");
        return 2;
    }
    if (o.bpw < 0 || o.bpw > 64) {
        cli_error(ctx, "option '--bpw' wants bits per weight from 1 to 64, not %g", o.bpw);
        return 2;
    }
    if ((rc = build_params(&o, &p, ctx)))
        return rc;
    if ((rc = resolve_budget(&o, p.device, &b, ctx)))
        return rc;

    m = lleval_xcalloc(1, sizeof(*m));
    if (o.model_path) {
        if (lleval_gguf_open(&g, o.model_path, &err)) {
            rc = cli_error_lib(ctx, &err);
            goto out;
        }
        have_gguf = true;
        rc = lleval_vram_model_from_gguf(m, &g, &err);
    } else if (o.ollama) {
        const char *base = o.base_url ? o.base_url : LLEVAL_OLLAMA_DEFAULT_URL;
        if (!lleval_str_starts_with(base, "http://") && !lleval_str_starts_with(base, "https://")) {
            cli_error(ctx, "option '--base-url' wants an http:// or https:// URL, not '%s'", base);
            rc = 2;
            goto out;
        }
        rc = lleval_ollama_vram_model(base, o.ollama, o.bpw, m, &err);
    }
    if (rc) {
        rc = cli_error_lib(ctx, &err);
        goto out;
    }
    where = o.model_path ? o.model_path : o.ollama;

    if (o.suggest) {
        if (o.ollama) {
            cli_error(ctx, "'--suggest' works from a GGUF file or the reference shapes, not "
                           "'--ollama'");
            rc = 2;
            goto out;
        }
        rc = suggest(o.model_path ? m : NULL, where, &p, &b, o.json, ctx);
        goto out;
    }
    if (lleval_vram_evaluate(m, &p, b.bytes, &r, &err)) {
        rc = cli_error_lib(ctx, &err);
        goto out;
    }
    if (o.json) {
        json_t *root = json_object();
        json_object_set_new(root, "model", model_json(m, source_name(&o), where));
        json_t *pj = plan_json(m, &p, &r, &b);
        json_object_update(root, pj);
        json_decref(pj);
        rc = dump_json(root);
        if (!rc && r.verdict == LLEVAL_VRAM_NO_FIT)
            rc = 1;
    } else {
        print_plan(m, where, &p, &r, &b, ctx);
        rc = r.verdict == LLEVAL_VRAM_NO_FIT ? 1 : 0;
    }
out:
    if (have_gguf)
        lleval_gguf_release(&g);
    free(m);
    return rc;
}
