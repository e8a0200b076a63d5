/*
 * lleval score (the guide's score_predictions): predictions.csv, or a
 * SQuAD-style JSON object, plus the prepared gold answers -> scores.json and
 * a summary table with 95% bootstrap intervals.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/score/items.h"
#include "lleval/score/score.h"
#include "lleval/util/util.h"

static void print_table(const struct lleval_score_result *res, struct cli_ctx *ctx)
{
    struct lleval_score_table t;
    struct cli_table *ct;
    struct lleval_sb notes = LLEVAL_SB_INIT;
    const char *const *h;
    lleval_score_table(res, &t);
    h = (const char *const *)t.cells;
    ct = cli_table_new((int)t.ncols);
    /* lleval_score_table() has 12 columns; row 0 is the header */
    cli_table_header(ct, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11]);
    for (size_t r = 1; r < t.nrows; r++)
        cli_table_rowv(ct, h + r * t.ncols);
    cli_table_print(ct, stdout, ctx);
    cli_table_free(ct);
    lleval_score_table_release(&t);
    lleval_score_notes(res, &notes);
    cli_print_text(stdout, notes.buf); /* notes name datasets and quote counts of errors */
    lleval_sb_release(&notes);
}

/* Loads only the scoring section and paths.prepared_dir from a config file. */
static int load_config(struct cli_ctx *ctx, const char *path, struct lleval_score_opts *so,
                       char **prepared_dir)
{
    struct lleval_config cfg;
    struct lleval_err err = LLEVAL_ERR_INIT;
    lleval_config_init(&cfg);
    if (lleval_config_load_file(&cfg, path, &err)) {
        lleval_config_release(&cfg);
        return cli_error_lib(ctx, &err);
    }
    lleval_score_opts_from_config(so, &cfg);
    *prepared_dir = lleval_xstrdup(cfg.prepared_dir);
    lleval_config_release(&cfg);
    return 0;
}

int cmd_score(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *pred_csv = NULL, *pred_json = NULL, *dataset = NULL, *prepared = NULL;
    const char *out_dir = NULL, *extraction = NULL, *config = NULL;
    bool strip = false, no_strip = false, json = false, seed_seen = false, boot_seen = false;
    long bootstrap = LLEVAL_BOOTSTRAP_DEFAULT, seed = 0;
    struct lleval_score_opts so;
    struct lleval_score_result res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char *cfg_prepared = NULL, *auto_out = NULL;
    int npos, rc;
    const struct cli_option opts[] = {
        {"pred-csv", 0, CLI_OPT_STRING, &pred_csv, "FILE",
         "predictions.csv to score (also accepted as the only argument)", NULL, 0, 0},
        {"pred-json", 0, CLI_OPT_STRING, &pred_json, "FILE",
         "SQuAD-style predictions {\"question id\": \"answer\"} (needs --dataset)", NULL, 0, 0},
        {"dataset", 0, CLI_OPT_STRING, &dataset, "NAME",
         "prepared dataset that --pred-json answers", NULL, 0, 0},
        {"prepared-dir", 0, CLI_OPT_STRING, &prepared, "DIR",
         "prepared datasets with the gold answers (default: the config's, else data/prepared)",
         NULL, 0, 0},
        {"out-dir", 0, CLI_OPT_STRING, &out_dir, "DIR",
         "where scores.json, items.csv and items.jsonl go (default: the predictions file's dir)",
         NULL, 0, 0},
        {"config", 'c', CLI_OPT_STRING, &config, "FILE",
         "take scoring.* and paths.prepared_dir from this config file", NULL, 0, 0},
        {"answer-extraction", 0, CLI_OPT_STRING, &extraction, "MODE",
         "none, first_line or after_answer (text after the last \"Answer:\")", NULL, 0, 0},
        {"strip-think", 0, CLI_OPT_BOOL, &strip, NULL,
         "remove <think>...</think> blocks before scoring (default for CSV)", NULL, 0, 0},
        {"no-strip-think", 0, CLI_OPT_BOOL, &no_strip, NULL,
         "keep <think> blocks (default for --pred-json)", NULL, 0, 0},
        {"bootstrap", 0, CLI_OPT_LONG, &bootstrap, "N",
         "bootstrap resamples per interval, 0 for none (default 1000)", &boot_seen, 0,
         LLEVAL_BOOTSTRAP_MAX},
        {"seed", 0, CLI_OPT_LONG, &seed, "N", "bootstrap seed (default 12345)", &seed_seen, 0,
         2147483647},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print scores.json instead of the table", NULL, 0,
         0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] =
        "lleval score --pred-csv FILE [--prepared-dir DIR] [--out-dir DIR]\n"
        "   or: lleval score --pred-json FILE --dataset NAME [--prepared-dir DIR] [--out-dir DIR]";
    static const char desc[] =
        "Scores predictions against the prepared gold answers: exact match, token F1 and\n"
        "contains (SQuAD v1.1 normalization; NQ-open adds NFD), multiple-choice accuracy,\n"
        "truncation, error and empty rates, latency and tokens/s, per dataset x prompt type x\n"
        "temperature with 95% bootstrap intervals. Writes scores.json (docs/scoring.md) and,\n"
        "for a predictions.csv, every item scored: items.csv and items.jsonl (docs/formats.md).\n"
        "With --pred-json the numbers are the official SQuAD v1.1 script's (percentages).";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos == 1 && !pred_csv && !pred_json) {
        pred_csv = argv[1];
        npos = 0;
    }
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; see 'lleval score --help'", argv[1]);
        return 2;
    }
    if ((pred_csv != NULL) == (pred_json != NULL)) {
        cli_error(ctx, "give one of --pred-csv FILE or --pred-json FILE; see 'lleval score "
                       "--help'");
        return 2;
    }
    if (pred_json && !dataset) {
        cli_error(ctx, "--pred-json needs --dataset NAME (the prepared dataset it answers)");
        return 2;
    }
    if (pred_csv && dataset) {
        cli_error(ctx, "--dataset goes with --pred-json; a predictions.csv names its datasets");
        return 2;
    }
    if (strip && no_strip) {
        cli_error(ctx, "--strip-think and --no-strip-think contradict each other");
        return 2;
    }

    lleval_score_opts_init(&so);
    if (pred_json)
        so.strip_think = false; /* the official script scores the text as it is */
    if (config && (rc = load_config(ctx, config, &so, &cfg_prepared)) != 0)
        return rc;
    if (extraction && lleval_extract_parse(extraction, &so.extraction)) {
        cli_error(ctx, "--answer-extraction wants none, first_line or after_answer, not '%s'",
                  extraction);
        free(cfg_prepared);
        return 2;
    }
    if (strip || no_strip)
        so.strip_think = strip;
    if (boot_seen)
        so.bootstrap = bootstrap;
    if (seed_seen)
        so.seed = (uint64_t)seed;
    if (!prepared)
        prepared = cfg_prepared ? cfg_prepared : "data/prepared";
    if (!out_dir)
        out_dir = auto_out = lleval_path_dirname(pred_csv ? pred_csv : pred_json);

    if (pred_csv) /* scores.json, then every item scored (score/items.h), in one pass */
        rc = lleval_score_items_run(pred_csv, prepared, out_dir, &so, &res, &err);
    else if ((rc = lleval_score_squad_json(pred_json, prepared, dataset, &so, &res, &err)) == 0 &&
             (rc = lleval_score_write(&res, out_dir, &err)) != 0)
        lleval_score_result_release(&res);
    if (rc) {
        free(cfg_prepared);
        free(auto_out);
        return cli_error_lib(ctx, &err);
    }

    if (json) {
        json_t *doc = lleval_score_result_json(&res);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        print_table(&res, ctx);
    }
    for (size_t i = 0; i < res.n_warnings; i++)
        cli_warn(ctx, "%s", res.warnings[i]);
    if (!json) {
        char *path = lleval_path_join(out_dir, LLEVAL_SCORES_FILE);
        printf("wrote %s\n", path);
        free(path);
        for (int i = 0; pred_csv && i < 2; i++) {
            path = lleval_path_join(out_dir, i ? LLEVAL_ITEMS_JSONL : LLEVAL_ITEMS_CSV);
            printf("wrote %s\n", path);
            free(path);
        }
    }
    lleval_score_result_release(&res);
    free(cfg_prepared);
    free(auto_out);
    return 0;
}
