/* `lleval synth-model`: writes a small random-weight llama GGUF that llama-server loads. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/fs.h"
#include "lleval/model/gguf.h"
#include "lleval/model/synth.h"
#include "lleval/util/util.h"

static const char synth_usage[] = "lleval synth-model --out FILE [options]";
static const char synth_desc[] =
    "Writes a small llama-architecture GGUF model with seeded random weights, a\n"
    "SentencePiece vocabulary (byte tokens plus English word pieces) and a ChatML chat\n"
    "template. llama.cpp's llama-server loads it, tokenizes and generates (gibberish),\n"
    "which is all tests and demos need. The same options and seed give the same bytes.\n"
    "--quantize runs llama.cpp's llama-quantize (from --quantize-bin, $LLEVAL_LLAMA_BIN_DIR,\n"
    "the cache that scripts/provision-llama.sh fills, or PATH).";

int cmd_synth_model(int argc, char **argv, struct cli_ctx *ctx)
{
    struct lleval_synth_opts o;
    const char *out = NULL, *type = "f16", *quantize = NULL, *quantize_bin = NULL, *name = NULL;
    long seed = 42;
    bool quiet = false;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *tool = NULL, *tmp = NULL;
    int npos, rc;

    lleval_synth_opts_init(&o);
    {
        struct cli_option opts[] = {
            {"out", 'o', CLI_OPT_STRING, &out, "FILE", "the GGUF file to write (required)", NULL, 0,
             0},
            {"layers", 0, CLI_OPT_LONG, &o.layers, "N", "transformer blocks (default 2)", NULL, 1,
             512},
            {"embd", 0, CLI_OPT_LONG, &o.embd, "N", "embedding width (default 64)", NULL, 2, 65536},
            {"heads", 0, CLI_OPT_LONG, &o.heads, "N", "attention heads (default 4)", NULL, 1,
             65536},
            {"kv-heads", 0, CLI_OPT_LONG, &o.kv_heads, "N", "key/value heads (default: --heads)",
             NULL, 1, 65536},
            {"ff", 0, CLI_OPT_LONG, &o.ff, "N",
             "feed-forward width (default 4*embd rounded up to a multiple of 32)", NULL, 1,
             1L << 20},
            {"vocab", 0, CLI_OPT_LONG, &o.vocab, "N",
             "vocabulary size, at least 259 (default 1024)", NULL, LLEVAL_SYNTH_MIN_VOCAB,
             LLEVAL_SYNTH_MAX_VOCAB},
            {"ctx", 0, CLI_OPT_LONG, &o.ctx, "N", "llama.context_length (default 2048)", NULL, 1,
             1L << 24},
            {"type", 0, CLI_OPT_STRING, &type, "f32|f16", "weight type (default f16)", NULL, 0, 0},
            {"seed", 0, CLI_OPT_LONG, &seed, "N", "random seed (default 42)", NULL, 0, LONG_MAX},
            {"name", 0, CLI_OPT_STRING, &name, "TEXT", "general.name (default lleval-synth)", NULL,
             0, 0},
            {"quantize", 0, CLI_OPT_STRING, &quantize, "TYPE",
             "quantize with llama-quantize: q8_0, q4_k_m, q4_0, q5_k_m, q6_k, ...", NULL, 0, 0},
            {"quantize-bin", 0, CLI_OPT_STRING, &quantize_bin, "PATH",
             "llama-quantize binary, or the directory holding it", NULL, 0, 0},
            {"quiet", 'q', CLI_OPT_BOOL, &quiet, NULL, "print nothing on success", NULL, 0, 0},
            CLI_OPT_END_MARK,
        };
        if ((rc = cli_parse_options(argc, argv, opts, synth_usage, synth_desc, &npos, ctx)) !=
            CLI_CONTINUE)
            return rc;
    }
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; the output file goes after --out", argv[1]);
        return 2;
    }
    if (!out || !*out) {
        cli_error(ctx, "--out FILE is required; see 'lleval synth-model --help'");
        return 2;
    }
    if (!strcmp(type, "f32") || !strcmp(type, "F32"))
        o.type = LLEVAL_GGML_F32;
    else if (!strcmp(type, "f16") || !strcmp(type, "F16"))
        o.type = LLEVAL_GGML_F16;
    else {
        cli_error(ctx, "--type '%s' is not supported; use f32 or f16 (and --quantize for others)",
                  type);
        return 2;
    }
    o.seed = (uint64_t)seed;
    o.name = name;
    if (lleval_synth_resolve(&o, &err))
        return cli_error_lib(ctx, &err);
    if (quantize) {
        const char *const *qt = lleval_synth_quant_types();
        bool known = false;
        for (size_t i = 0; qt[i]; i++)
            if (!strcmp(quantize, qt[i]))
                known = true;
        if (!known) {
            struct lleval_sb list = LLEVAL_SB_INIT;
            for (size_t i = 0; qt[i]; i++)
                lleval_sb_addf(&list, "%s%s", i ? ", " : "", qt[i]);
            cli_error(ctx, "--quantize '%s' is not supported; use one of %s", quantize, list.buf);
            lleval_sb_release(&list);
            return 2;
        }
        tool = lleval_synth_find_tool("llama-quantize", quantize_bin);
        if (!tool) {
            if (quantize_bin)
                cli_error(ctx,
                          "--quantize-bin '%s' is not an executable llama-quantize (or a "
                          "directory holding one)",
                          quantize_bin);
            else
                cli_error(ctx, "llama-quantize not found in $LLEVAL_LLAMA_BIN_DIR, the provisioned "
                               "cache or PATH; run scripts/provision-llama.sh or pass "
                               "--quantize-bin PATH");
            return 3;
        }
        tmp = lleval_xasprintf("%s.unquantized.%ld.gguf", out, lleval_getpid());
    }

    rc = lleval_synth_write(&o, tmp ? tmp : out, &err);
    if (!rc && tmp)
        rc = lleval_synth_quantize(tool, tmp, out, quantize, &err);
    if (tmp)
        remove(tmp);
    free(tmp);
    free(tool);
    if (rc)
        return cli_error_lib(ctx, &err);

    if (!quiet) {
        char p[32], b[32];
        struct lleval_gguf g;
        uint64_t size = 0;
        if (!lleval_gguf_open(&g, out, &err)) {
            size = g.file_size;
            lleval_gguf_release(&g);
        }
        printf("wrote %s: llama, %ld layers, embd %ld, %ld heads (%ld kv), ff %ld, vocab %ld, "
               "ctx %ld, %s parameters, %s, %s\n",
               out, o.layers, o.embd, o.heads, o.kv_heads, o.ff, o.vocab, o.ctx,
               lleval_gguf_fmt_count(p, sizeof(p), lleval_synth_param_count(&o)),
               quantize ? quantize : (o.type == LLEVAL_GGML_F32 ? "f32" : "f16"),
               lleval_gguf_fmt_bytes(b, sizeof(b), size));
    }
    return 0;
}
