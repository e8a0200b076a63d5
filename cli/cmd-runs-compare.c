/*
 * lleval runs compare A B (the guide's compare_runs): per-group deltas on the
 * items both runs answered, with paired bootstrap confidence intervals and
 * McNemar's exact test, and the items whose outcome flipped. The items and
 * the statistics are lib/score (lleval_compare_runs: each run's items.jsonl
 * where that shows what scoring again would, else its predictions.csv scored
 * again); this file parses the options and prints.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/score/compare.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static void fmt_pct(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.1f", 100.0 * v);
}

static void fmt_delta(char *buf, size_t size, const struct lleval_ci *ci)
{
    if (isnan(ci->mean))
        snprintf(buf, size, "-");
    else if (isnan(ci->lo))
        snprintf(buf, size, "%+.1f", 100.0 * ci->mean);
    else
        snprintf(buf, size, "%+.1f [%+.1f, %+.1f]", 100.0 * ci->mean, 100.0 * ci->lo,
                 100.0 * ci->hi);
}

static json_t *ci_json(const struct lleval_ci *ci)
{
    return json_pack("{s:o, s:o, s:o}", "delta",
                     isnan(ci->mean) ? json_null() : json_real(100.0 * ci->mean), "lo",
                     isnan(ci->lo) ? json_null() : json_real(100.0 * ci->lo), "hi",
                     isnan(ci->hi) ? json_null() : json_real(100.0 * ci->hi));
}

int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir)
{
    struct lleval_compare_req q;
    struct lleval_comparison c;
    const struct lleval_compare_result *res = &c.res;
    struct lleval_err err = LLEVAL_ERR_INIT;
    bool json = false;
    long show = 10, bootstrap = -1, seed = -1;
    const char *model_a = NULL, *model_b = NULL, *id_b;
    int npos, rc, status = 0;
    const struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print everything as JSON (all flipped items)", NULL,
         0, 0},
        {"model-a", 0, CLI_OPT_STRING, &model_a, "MODEL",
         "compare this model of run A (a run of several models)", NULL, 0, 0},
        {"model-b", 0, CLI_OPT_STRING, &model_b, "MODEL",
         "compare this model of run B (with one run id: of the same run)", NULL, 0, 0},
        {"flips", 0, CLI_OPT_LONG, &show, "N", "how many flipped items to list (default 10)", NULL,
         0, 1000000},
        {"bootstrap", 0, CLI_OPT_LONG, &bootstrap, "N",
         "bootstrap resamples (default: run A's scoring.bootstrap_samples)", NULL, 0, 1000000},
        {"seed", 0, CLI_OPT_LONG, &seed, "N", "bootstrap seed (default: run A's)", NULL, 0,
         (long)(LONG_MAX < (1LL << 40) ? LONG_MAX : (1LL << 40))},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval runs compare RUN_A RUN_B [--json] [--flips N]\n"
                                "       lleval runs compare RUN --model-a A --model-b B";
    static const char desc[] =
        "Compares two runs on the items both answered (matched by custom_id): per dataset x\n"
        "prompt type x temperature, the metric of each run and the difference B - A with a\n"
        "95% paired bootstrap interval, McNemar's exact test on EM (accuracy for multiple\n"
        "choice), and the items whose outcome flipped. Two models of one run of several\n"
        "models compare the same way (--model-a, --model-b: items paired by the custom_id\n"
        "without its model); `lleval runs items RUN --grep ID --full` shows a flipped item's\n"
        "answers.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 2 && !(npos == 1 && model_a && model_b)) {
        cli_error(ctx, "give two run ids, or one run id with --model-a and --model-b; see "
                       "'lleval runs compare --help'");
        return 2;
    }
    id_b = npos == 2 ? argv[2] : argv[1];
    lleval_compare_req_init(&q);
    q.a = argv[1];
    q.b = id_b;
    q.model_a = model_a;
    q.model_b = model_b;
    q.bootstrap = bootstrap;
    q.seed = seed;
    q.exact = json; /* --json prints F1 to the last bit, the table to one decimal */
    if (lleval_compare_runs(runs_dir, &q, &c, &err)) {
        status = cli_error_lib(ctx, &err);
        goto out;
    }

    if (json) {
        json_t *root = json_object(), *groups = json_array(), *fl = json_array();
        for (size_t k = 0; k < res->n_groups; k++) {
            const struct lleval_compare_group *g = &res->groups[k];
            json_t *o =
                json_pack("{s:s, s:s, s:I, s:f, s:f, s:o, s:I, s:I, s:f}", "group", g->key,
                          "metric", g->mc ? "accuracy" : "em", "n", (json_int_t)g->n, "a",
                          100.0 * g->a_main, "b", 100.0 * g->b_main, "diff", ci_json(&g->diff_main),
                          "a_only_right", (json_int_t)g->a_only_right, "b_only_right",
                          (json_int_t)g->b_only_right, "mcnemar_p", g->mcnemar_p);
            if (!g->mc) {
                json_object_set_new(o, "f1_a", json_real(100.0 * g->a_f1));
                json_object_set_new(o, "f1_b", json_real(100.0 * g->b_f1));
                json_object_set_new(o, "f1_diff", ci_json(&g->diff_f1));
            }
            json_array_append_new(groups, o);
        }
        for (size_t k = 0; k < res->n_flips; k++)
            json_array_append_new(fl, json_pack("{s:s, s:s}", "custom_id", res->flips[k].custom_id,
                                                "better", res->flips[k].a_right ? "a" : "b"));
        json_object_set_new(root, "a", json_string(argv[1]));
        json_object_set_new(root, "b", json_string(id_b));
        json_object_set_new(root, "model_a", model_a ? json_string(model_a) : json_null());
        json_object_set_new(root, "model_b", model_b ? json_string(model_b) : json_null());
        json_object_set_new(root, "paired_items", json_integer((json_int_t)res->paired));
        json_object_set_new(root, "only_in_a", json_integer((json_int_t)res->only_a));
        json_object_set_new(root, "only_in_b", json_integer((json_int_t)res->only_b));
        json_object_set_new(root, "bootstrap", json_integer(res->bootstrap));
        json_object_set_new(root, "groups", groups);
        json_object_set_new(root, "flips", fl);
        json_dumpf(root, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(root);
        goto out;
    }

    {
        struct lleval_sb ma = LLEVAL_SB_INIT, mb = LLEVAL_SB_INIT;
        printf("%s%s%s (A) vs %s%s%s (B): %zu items paired by custom_id%s\n", argv[1],
               model_a ? " model " : "", model_a ? cli_safe(&ma, model_a) : "", id_b,
               model_b ? " model " : "", model_b ? cli_safe(&mb, model_b) : "", res->paired,
               model_a || model_b ? " (without the model)" : "");
        lleval_sb_release(&ma);
        lleval_sb_release(&mb);
    }
    if (res->only_a || res->only_b)
        printf("note: the item sets differ: %zu only in A, %zu only in B; they are left out "
               "(same datasets, prompt set, temperatures and --limit_items make them match)\n",
               res->only_a, res->only_b);
    if (!res->n_groups) {
        printf("no items in common: nothing to compare\n");
        goto out;
    }
    {
        struct cli_table *t = cli_table_new(9);
        cli_table_header(t, "group", "n", "metric", "A", "B", "B - A [95% CI]", "McNemar p",
                         "A only", "B only");
        for (size_t k = 0; k < res->n_groups; k++) {
            const struct lleval_compare_group *g = &res->groups[k];
            char n[32], va[32], vb[32], d[96], p[32], ao[32], bo[32];
            snprintf(n, sizeof(n), "%zu", g->n);
            fmt_pct(va, sizeof(va), g->a_main);
            fmt_pct(vb, sizeof(vb), g->b_main);
            fmt_delta(d, sizeof(d), &g->diff_main);
            snprintf(p, sizeof(p), "%.4g", g->mcnemar_p);
            snprintf(ao, sizeof(ao), "%ld", g->a_only_right);
            snprintf(bo, sizeof(bo), "%ld", g->b_only_right);
            cli_table_row(t, g->key, n, g->mc ? "acc" : "EM", va, vb, d, p, ao, bo);
            if (!g->mc) {
                fmt_pct(va, sizeof(va), g->a_f1);
                fmt_pct(vb, sizeof(vb), g->b_f1);
                fmt_delta(d, sizeof(d), &g->diff_f1);
                cli_table_row(t, "", "", "F1", va, vb, d, "", "", "");
            }
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
    }
    if (res->n_flips) {
        printf("\n%zu item%s flipped", res->n_flips, res->n_flips == 1 ? "" : "s");
        if ((size_t)show < res->n_flips)
            printf(" (first %ld; --json lists all)", show);
        printf(":\n");
        /* custom_ids carry dataset item ids: printed sanitized */
        struct lleval_sb safe = LLEVAL_SB_INIT;
        for (size_t k = 0; k < res->n_flips && k < (size_t)show; k++)
            printf("  %s  %s\n", res->flips[k].a_right ? "A right, B wrong" : "B right, A wrong",
                   cli_safe(&safe, res->flips[k].custom_id));
        lleval_sb_release(&safe);
    }
out:
    lleval_comparison_release(&c);
    return status;
}
