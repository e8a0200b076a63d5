/*
 * lleval prepare (the guide's prepare_data): imports the configured datasets
 * into <prepared_dir>/<dataset>.jsonl + .info.json and prints what it wrote.
 * Each dataset is prepared on its own: one that fails keeps its previous
 * prepared files, the others still go ahead, and the exit status is that of
 * the first failure.
 */
#include <stdlib.h>
#include <string.h>
#include "cfgopts.h"
#include "cli.h"
#include "lleval/dataset/dataset.h"
#include "lleval/util/json.h"

/* "3 (unanswerable: 2, no_answers: 1)" or "0". Returns an owned string. */
static char *skipped_cell(const struct lleval_prepare_stats *st)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *key;
    json_t *v;
    lleval_sb_addf(&sb, "%ld", st->skipped_total);
    if (st->skipped_total) {
        bool first = true;
        lleval_sb_adds(&sb, " (");
        json_object_foreach(st->skipped, key, v)
        {
            lleval_sb_addf(&sb, "%s%s: %lld", first ? "" : ", ", key,
                           (long long)json_integer_value(v));
            first = false;
        }
        lleval_sb_addch(&sb, ')');
    }
    return lleval_sb_detach(&sb, NULL);
}

/* Checks --dataset names against the config; returns 0 or prints and returns 2. */
static int check_selection(struct cli_ctx *ctx, const struct lleval_config *cfg,
                           const struct cli_strlist *sel)
{
    for (int i = 0; i < sel->n; i++) {
        const char **names = lleval_xcalloc(cfg->n_datasets + 1, sizeof(char *));
        const char *best;
        bool found = false;
        for (size_t d = 0; d < cfg->n_datasets; d++) {
            names[d] = cfg->datasets[d].name;
            found = found || !strcmp(names[d], sel->items[i]);
        }
        if (found) {
            free(names);
            continue;
        }
        best = lleval_did_you_mean(sel->items[i], names, cfg->n_datasets);
        if (best)
            cli_error(ctx, "--dataset '%s' is not in the config; did you mean '%s'?", sel->items[i],
                      best);
        else
            cli_error(ctx, "--dataset '%s' is not in the config; the config lists %zu dataset%s",
                      sel->items[i], cfg->n_datasets, cfg->n_datasets == 1 ? "" : "s");
        free(names);
        return 2;
    }
    return 0;
}

static bool selected(const struct cli_strlist *sel, const char *name)
{
    if (!sel->n)
        return true;
    for (int i = 0; i < sel->n; i++)
        if (!strcmp(sel->items[i], name))
            return true;
    return false;
}

int cmd_prepare(int argc, char **argv, struct cli_ctx *ctx)
{
    struct cli_cfg_flags cf = CLI_CFG_FLAGS_INIT;
    struct cli_strlist sel = {{0}, 0};
    struct lleval_config cfg;
    struct cli_table *table = NULL;
    json_t *jout = NULL, *jdatasets = NULL, *jerrors = NULL;
    long total_items = 0, total_skipped = 0;
    int n_done = 0, n_failed = 0, status = 0;
    bool json = false;
    int npos, rc;
    const struct cli_option opts[] = {
        CLI_CFG_OPTIONS(&cf),
        {"dataset", 'd', CLI_OPT_LIST, &sel, "NAME",
         "prepare only this dataset from the config (repeatable)", NULL, 0, 0},
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print the statistics as JSON", NULL, 0, 0},
        CLI_OPT_END_MARK,
    };
    static const char usage[] =
        "lleval prepare --config FILE [--dataset NAME ...] [--limit-items N] [--json]";
    static const char desc[] =
        "Imports the config's datasets (squad, nq_open, mmlu, jsonl, csv) into the prepared\n"
        "format: <prepared_dir>/<dataset>.jsonl and <dataset>.info.json (docs/datasets.md).\n"
        "Files are replaced atomically and only when the whole input is valid.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos) {
        cli_error(ctx, "unexpected argument '%s'; name datasets with --dataset NAME", argv[1]);
        return 2;
    }
    cf.check_datasets = true;
    if ((rc = cli_cfg_resolve(ctx, &cf, &cfg)) != CLI_CONTINUE)
        return rc;
    if (!cfg.n_datasets) {
        cli_error(ctx, "no datasets configured%s%s%s: add a 'datasets:' list (name, format, path)",
                  cfg.source_path ? " in '" : "", cfg.source_path ? cfg.source_path : "",
                  cfg.source_path ? "'" : "");
        lleval_config_release(&cfg);
        return 2;
    }
    if ((status = check_selection(ctx, &cfg, &sel))) {
        lleval_config_release(&cfg);
        return status;
    }

    if (json) {
        jdatasets = json_array();
        jerrors = json_array();
    } else {
        table = cli_table_new(6);
        cli_table_header(table, "dataset", "format", "type", "items", "skipped", "output");
    }
    for (size_t d = 0; d < cfg.n_datasets; d++) {
        const struct lleval_dataset_cfg *ds = &cfg.datasets[d];
        struct lleval_prepare_stats st;
        struct lleval_err err = LLEVAL_ERR_INIT;

        if (!selected(&sel, ds->name))
            continue;
        lleval_prepare_stats_init(&st);
        rc = lleval_dataset_prepare(ds, cfg.prepared_dir, cfg.limit_items, &st, &err);
        if (rc) {
            int code = cli_error_lib(ctx, &err);
            if (!status)
                status = code;
            n_failed++;
            if (json)
                json_array_append_new(
                    jerrors, json_pack("{s:s, s:s}", "dataset", ds->name, "message", err.msg));
        } else {
            n_done++;
            total_items += st.items;
            total_skipped += st.skipped_total;
            if (json) {
                json_array_append_new(jdatasets, lleval_prepare_stats_json(&st));
            } else {
                char items[32], *skipped = skipped_cell(&st);
                snprintf(items, sizeof(items), "%ld", st.items);
                cli_table_row(table, st.dataset, st.format, st.type, items, skipped,
                              st.output_path);
                free(skipped);
            }
        }
        lleval_prepare_stats_release(&st);
    }

    if (json) {
        jout = json_pack("{s:s, s:I, s:o, s:I, s:I, s:o}", "prepared_dir", cfg.prepared_dir,
                         "limit_items", (json_int_t)cfg.limit_items, "datasets", jdatasets, "items",
                         (json_int_t)total_items, "skipped", (json_int_t)total_skipped, "errors",
                         jerrors);
        json_dumpf(jout, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(jout);
    } else {
        if (n_done)
            cli_table_print(table, stdout, ctx);
        cli_table_free(table);
        printf("prepared %ld items from %d dataset%s into %s", total_items, n_done,
               n_done == 1 ? "" : "s", cfg.prepared_dir);
        if (total_skipped)
            printf(", %ld skipped", total_skipped);
        if (cfg.limit_items > 0)
            printf(" (at most %ld per dataset)", cfg.limit_items);
        if (n_failed)
            printf("; %d dataset%s failed", n_failed, n_failed == 1 ? "" : "s");
        putchar('\n');
    }
    lleval_config_release(&cfg);
    return status;
}
