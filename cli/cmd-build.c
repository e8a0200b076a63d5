/* lleval build (the guide's build_batches): prepared datasets -> batch request files. */
#include <stdlib.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/run/batch.h"
#include "lleval/util/json.h"

int cmd_build(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct lleval_config cfg;
    struct lleval_build_result br;
    struct lleval_err err = LLEVAL_ERR_INIT;
    const char *out = NULL;
    bool json = false;
    int npos, rc;
    const struct cli_option opts[] = {
        CLI_CFG_OPTIONS(&cf),
        {"out-dir", 'o', CLI_OPT_STRING, &out, "DIR",
         "where to write the batches (default: paths.batches_dir)", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "list the part files as JSON", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval build --config FILE [options]";
    static const char desc[] =
        "Builds one request file per part in the OpenAI batch format from the prepared\n"
        "datasets: items x prompt types x temperatures. `lleval run --skip_build` uses them.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; see 'lleval build --help'", argv[1]);
        return 2;
    }
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    rc = lleval_build_batches(&cfg, out ? out : cfg.batches_dir, &br, &err);
    if (rc) {
        lleval_config_release(&cfg);
        return cli_error_lib(ctx, &err);
    }
    if (json) {
        json_t *parts = json_array();
        for (size_t i = 0; i < br.n_parts; i++)
            json_array_append_new(
                parts, json_pack("{s:s, s:f, s:I, s:s, s:I}", "dataset", br.parts[i].dataset,
                                 "temperature", br.parts[i].temp, "part",
                                 (json_int_t)br.parts[i].index, "path", br.parts[i].batch_path,
                                 "requests", (json_int_t)br.parts[i].requests));
        json_t *j = json_pack("{s:I, s:o}", "total_requests", (json_int_t)br.total_requests,
                              "parts", parts);
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        struct cli_table *t = cli_table_new(5);
        char temp[32], idx[32], n[32];
        cli_table_header(t, "dataset", "temp", "part", "requests", "file");
        for (size_t i = 0; i < br.n_parts; i++) {
            lleval_fmt_num(temp, sizeof(temp), br.parts[i].temp);
            snprintf(idx, sizeof(idx), "%ld", br.parts[i].index);
            snprintf(n, sizeof(n), "%ld", br.parts[i].requests);
            cli_table_row(t, br.parts[i].dataset, temp, idx, n, br.parts[i].batch_path);
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
        printf("%ld requests in %zu part files\n", br.total_requests, br.n_parts);
    }
    lleval_build_result_release(&br);
    lleval_config_release(&cfg);
    return 0;
}
