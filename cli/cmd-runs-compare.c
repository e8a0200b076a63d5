/*
 * lleval runs compare A B (the guide's compare_runs): per-group deltas on the
 * items both runs answered, with paired bootstrap confidence intervals and
 * McNemar's exact test, and the items whose outcome flipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/run/batch.h"
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/run/run.h"
#include "lleval/score/score.h"
#include "lleval/score/stats.h"
#include "lleval/util/util.h"

int cli_runs_compare(int argc, char **argv, struct cli_ctx *ctx, const char *runs_dir);

struct side {
    char *dir;
    struct lleval_config cfg;
    bool cfg_loaded;
    struct lleval_item_scores items;
};

/* One comparison group: dataset x prompt type x temperature. */
struct group {
    char *key; /* dataset/prompt/t<temp> */
    bool mc;
    size_t n;
    double *a_main, *b_main; /* EM (QA) or accuracy (MC) */
    double *a_f1, *b_f1;     /* QA only */
    size_t cap;
    long a_only_right, b_only_right; /* McNemar's discordant pairs */
    struct lleval_ci diff_main, diff_f1;
    double p;
};

struct flip {
    const char *custom_id; /* borrowed from side A */
    bool a_right;
};

static int load_side(struct side *s, const char *runs_dir, const char *id,
                     const struct lleval_score_opts *cli_opts, bool have_cli_opts,
                     struct lleval_err *err)
{
    char *cfg_path, *pred;
    struct lleval_score_opts so;
    int rc;

    memset(s, 0, sizeof(*s));
    s->dir = lleval_run_dir(runs_dir, id, err);
    if (!s->dir)
        return err->code;
    if (!lleval_is_dir(s->dir))
        return lleval_err_set(err, LLEVAL_EINVAL, "no run '%s' in '%s': see `lleval runs list`",
                              id, runs_dir);
    cfg_path = lleval_path_join(s->dir, "config.resolved.yaml");
    lleval_config_init(&s->cfg);
    s->cfg_loaded = true;
    rc = lleval_config_load_file(&s->cfg, cfg_path, err);
    free(cfg_path);
    if (rc)
        return rc;
    pred = lleval_path_join(s->dir, "results/predictions.csv");
    if (!lleval_path_exists(pred)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "run '%s' has no predictions.csv yet: finish it with `lleval runs "
                            "resume %s`",
                            id, id);
        free(pred);
        return rc;
    }
    lleval_score_opts_from_config(&so, &s->cfg);
    if (have_cli_opts)
        so = *cli_opts;
    rc = lleval_item_scores_load(pred, s->cfg.prepared_dir, &so, &s->items, err);
    free(pred);
    if (rc)
        lleval_err_prefix(err, "run '%s'", id);
    return rc;
}

static void release_side(struct side *s)
{
    free(s->dir);
    if (s->cfg_loaded)
        lleval_config_release(&s->cfg);
    lleval_item_scores_release(&s->items);
}

static struct group *find_group(struct group **gs, size_t *ng, size_t *cap, const char *key,
                                bool mc)
{
    for (size_t i = 0; i < *ng; i++)
        if (!strcmp((*gs)[i].key, key))
            return &(*gs)[i];
    LLEVAL_GROW(*gs, *ng, *cap);
    memset(&(*gs)[*ng], 0, sizeof(**gs));
    (*gs)[*ng].key = lleval_xstrdup(key);
    (*gs)[*ng].mc = mc;
    return &(*gs)[(*ng)++];
}

static void push(struct group *g, double am, double bm, double af, double bf)
{
    if (g->n + 1 > g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->a_main = lleval_xrealloc(g->a_main, g->cap * sizeof(double));
        g->b_main = lleval_xrealloc(g->b_main, g->cap * sizeof(double));
        g->a_f1 = lleval_xrealloc(g->a_f1, g->cap * sizeof(double));
        g->b_f1 = lleval_xrealloc(g->b_f1, g->cap * sizeof(double));
    }
    g->a_main[g->n] = am;
    g->b_main[g->n] = bm;
    g->a_f1[g->n] = af;
    g->b_f1[g->n] = bf;
    g->n++;
}

static double mean(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return n ? s / (double)n : NAN;
}

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
    struct side a, b;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_score_opts so;
    struct group *gs = NULL;
    size_t ng = 0, gcap = 0, only_a = 0, only_b = 0;
    struct flip *flips = NULL;
    size_t nflips = 0, fcap = 0;
    bool json = false;
    long show = 10, bootstrap = -1, seed = -1;
    int npos, rc, status = 0;
    const struct cli_option opts[] = {
        {"json", 0, CLI_OPT_BOOL, &json, NULL, "print everything as JSON (all flipped items)",
         NULL, 0, 0},
        {"flips", 0, CLI_OPT_LONG, &show, "N", "how many flipped items to list (default 10)",
         NULL, 0, 1000000},
        {"bootstrap", 0, CLI_OPT_LONG, &bootstrap, "N",
         "bootstrap resamples (default: run A's scoring.bootstrap_samples)", NULL, 0, 1000000},
        {"seed", 0, CLI_OPT_LONG, &seed, "N", "bootstrap seed (default: run A's)", NULL, 0,
         1L << 40},
        CLI_OPT_END_MARK,
    };
    static const char usage[] = "lleval runs compare RUN_A RUN_B [--json] [--flips N]";
    static const char desc[] =
        "Compares two runs on the items both answered (matched by custom_id): per dataset x\n"
        "prompt type x temperature, the metric of each run and the difference B - A with a\n"
        "95% paired bootstrap interval, McNemar's exact test on EM (accuracy for multiple\n"
        "choice), and the items whose outcome flipped.";

    if ((rc = cli_parse_options(argc, argv, opts, usage, desc, &npos, ctx)) != CLI_CONTINUE)
        return rc;
    if (npos != 2) {
        cli_error(ctx, "give two run ids; see 'lleval runs compare --help'");
        return 2;
    }
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (load_side(&a, runs_dir, argv[1], NULL, false, &err) ||
        load_side(&b, runs_dir, argv[2], NULL, false, &err)) {
        status = cli_error_lib(ctx, &err);
        goto out;
    }
    lleval_score_opts_from_config(&so, &a.cfg);
    if (bootstrap >= 0)
        so.bootstrap = bootstrap;
    if (seed >= 0)
        so.seed = (uint64_t)seed;

    /* both lists are sorted by custom_id: merge them */
    for (size_t i = 0, j = 0; i < a.items.n || j < b.items.n;) {
        int c = i >= a.items.n   ? 1
                : j >= b.items.n ? -1
                                 : strcmp(a.items.items[i].custom_id, b.items.items[j].custom_id);
        if (c < 0) {
            only_a++;
            i++;
        } else if (c > 0) {
            only_b++;
            j++;
        } else {
            const struct lleval_item_rec *x = &a.items.items[i], *y = &b.items.items[j];
            struct lleval_cid cid;
            char key[512];
            struct group *g;
            if (lleval_cid_decode(x->custom_id, &cid, NULL) == 0) {
                snprintf(key, sizeof(key), "%s/%s/t%s", cid.dataset, cid.prompt_type, cid.temp);
                lleval_cid_release(&cid);
            } else {
                snprintf(key, sizeof(key), "(other)");
            }
            g = find_group(&gs, &ng, &gcap, key, x->mc);
            push(g, x->correct ? 1 : 0, y->correct ? 1 : 0, x->f1, y->f1);
            if (x->correct != y->correct) {
                if (x->correct)
                    g->a_only_right++;
                else
                    g->b_only_right++;
                LLEVAL_GROW(flips, nflips, fcap);
                flips[nflips].custom_id = x->custom_id;
                flips[nflips].a_right = x->correct;
                nflips++;
            }
            i++;
            j++;
        }
    }
    for (size_t k = 0; k < ng; k++) {
        struct group *g = &gs[k];
        uint64_t s1 = lleval_seed_derive(so.seed, g->key);
        if (lleval_bootstrap_paired_diff(g->b_main, g->a_main, g->n, so.bootstrap, s1,
                                         &g->diff_main, &err) ||
            lleval_bootstrap_paired_diff(g->b_f1, g->a_f1, g->n, so.bootstrap, s1 + 1,
                                         &g->diff_f1, &err)) {
            status = cli_error_lib(ctx, &err);
            goto out;
        }
        g->p = lleval_mcnemar_exact(g->a_only_right, g->b_only_right);
    }

    if (json) {
        json_t *root = json_object(), *groups = json_array(), *fl = json_array();
        for (size_t k = 0; k < ng; k++) {
            struct group *g = &gs[k];
            json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:f, s:o, s:I, s:I, s:f}", "group",
                                  g->key, "metric", g->mc ? "accuracy" : "em", "n",
                                  (json_int_t)g->n, "a", 100.0 * mean(g->a_main, g->n), "b",
                                  100.0 * mean(g->b_main, g->n), "diff", ci_json(&g->diff_main),
                                  "a_only_right", (json_int_t)g->a_only_right, "b_only_right",
                                  (json_int_t)g->b_only_right, "mcnemar_p", g->p);
            if (!g->mc) {
                json_object_set_new(o, "f1_a", json_real(100.0 * mean(g->a_f1, g->n)));
                json_object_set_new(o, "f1_b", json_real(100.0 * mean(g->b_f1, g->n)));
                json_object_set_new(o, "f1_diff", ci_json(&g->diff_f1));
            }
            json_array_append_new(groups, o);
        }
        for (size_t k = 0; k < nflips; k++)
            json_array_append_new(fl, json_pack("{s:s, s:s}", "custom_id", flips[k].custom_id,
                                                "better", flips[k].a_right ? "a" : "b"));
        json_object_set_new(root, "a", json_string(argv[1]));
        json_object_set_new(root, "b", json_string(argv[2]));
        json_object_set_new(root, "paired_items", json_integer((json_int_t)(a.items.n - only_a)));
        json_object_set_new(root, "only_in_a", json_integer((json_int_t)only_a));
        json_object_set_new(root, "only_in_b", json_integer((json_int_t)only_b));
        json_object_set_new(root, "bootstrap", json_integer(so.bootstrap));
        json_object_set_new(root, "groups", groups);
        json_object_set_new(root, "flips", fl);
        json_dumpf(root, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(root);
        goto out;
    }

    printf("%s (A) vs %s (B): %zu items paired by custom_id\n", argv[1], argv[2],
           a.items.n - only_a);
    if (only_a || only_b)
        printf("note: the item sets differ: %zu only in A, %zu only in B; they are left out "
               "(same datasets, prompt set, temperatures and --limit_items make them match)\n",
               only_a, only_b);
    if (!ng) {
        printf("no items in common: nothing to compare\n");
        goto out;
    }
    {
        struct cli_table *t = cli_table_new(9);
        cli_table_header(t, "group", "n", "metric", "A", "B", "B - A [95% CI]", "McNemar p",
                         "A only", "B only");
        for (size_t k = 0; k < ng; k++) {
            struct group *g = &gs[k];
            char n[32], va[32], vb[32], d[96], p[32], ao[32], bo[32];
            snprintf(n, sizeof(n), "%zu", g->n);
            fmt_pct(va, sizeof(va), mean(g->a_main, g->n));
            fmt_pct(vb, sizeof(vb), mean(g->b_main, g->n));
            fmt_delta(d, sizeof(d), &g->diff_main);
            snprintf(p, sizeof(p), "%.4g", g->p);
            snprintf(ao, sizeof(ao), "%ld", g->a_only_right);
            snprintf(bo, sizeof(bo), "%ld", g->b_only_right);
            cli_table_row(t, g->key, n, g->mc ? "acc" : "EM", va, vb, d, p, ao, bo);
            if (!g->mc) {
                fmt_pct(va, sizeof(va), mean(g->a_f1, g->n));
                fmt_pct(vb, sizeof(vb), mean(g->b_f1, g->n));
                fmt_delta(d, sizeof(d), &g->diff_f1);
                cli_table_row(t, "", "", "F1", va, vb, d, "", "", "");
            }
        }
        cli_table_print(t, stdout, ctx);
        cli_table_free(t);
    }
    if (nflips) {
        printf("\n%zu item%s flipped", nflips, nflips == 1 ? "" : "s");
        if ((size_t)show < nflips)
            printf(" (first %ld; --json lists all)", show);
        printf(":\n");
        for (size_t k = 0; k < nflips && k < (size_t)show; k++)
            printf("  %s  %s\n", flips[k].a_right ? "A right, B wrong" : "B right, A wrong",
                   flips[k].custom_id);
    }
out:
    for (size_t k = 0; k < ng; k++) {
        free(gs[k].key);
        free(gs[k].a_main);
        free(gs[k].b_main);
        free(gs[k].a_f1);
        free(gs[k].b_f1);
    }
    free(gs);
    free(flips);
    release_side(&a);
    release_side(&b);
    return status;
}
