/* Option parsing from a declarative table that also prints --help (git parse-options). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/util/util.h"

static bool name_matches(const char *want, const char *given, size_t n)
{
    /* "--max_concurrent_jobs" matches "max-concurrent-jobs" */
    if (strlen(want) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char g = given[i] == '_' ? '-' : given[i];
        if (g != want[i])
            return false;
    }
    return true;
}

void cli_print_help(FILE *f, const struct cli_option *opts, const char *usage,
                    const char *description)
{
    fprintf(f, "usage: %s\n", usage);
    if (description)
        fprintf(f, "\n%s\n", description);
    fprintf(f, "\noptions:\n");
    for (const struct cli_option *o = opts; o->type != CLI_OPT_END; o++) {
        char left[96];
        if (o->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                     o->argh ? " " : "", o->argh ? o->argh : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->argh ? " " : "",
                     o->argh ? o->argh : "");
        if (strlen(left) > 30)
            fprintf(f, "  %s\n  %-30s  %s\n", left, "", o->help);
        else
            fprintf(f, "  %-30s  %s\n", left, o->help);
    }
    fprintf(f, "  %-30s  %s\n", "-h, --help", "show this help");
    fprintf(f, "\nUnderscore spellings (--max_concurrent_jobs) are accepted for every option.\n");
}

static int set_value(const struct cli_option *o, const char *arg, struct cli_ctx *ctx)
{
    switch (o->type) {
    case CLI_OPT_STRING:
        *(const char **)o->value = arg;
        break;
    case CLI_OPT_LONG: {
        long v, min = o->min, max = o->max;
        if (!min && !max) /* 2^40, or less where long has 32 bits (Windows) */
            max = (long)(LONG_MAX < (1LL << 40) ? LONG_MAX : (1LL << 40));
        if (lleval_parse_long(arg, min, max, &v)) {
            cli_error(ctx, "option '--%s' wants a whole number from %ld to %ld, not '%s'", o->name,
                      min, max, arg);
            return 2;
        }
        *(long *)o->value = v;
        break;
    }
    case CLI_OPT_DOUBLE: {
        double v;
        if (lleval_parse_double(arg, &v)) {
            cli_error(ctx, "option '--%s' wants a number, not '%s'", o->name, arg);
            return 2;
        }
        *(double *)o->value = v;
        break;
    }
    case CLI_OPT_LIST: {
        struct cli_strlist *l = o->value;
        if (l->n >= (int)LLEVAL_ARRAY_SIZE(l->items)) {
            cli_error(ctx, "option '--%s' given too many times", o->name);
            return 2;
        }
        l->items[l->n++] = arg;
        break;
    }
    default:
        break;
    }
    return 0;
}

int cli_parse_options(int argc, char **argv, const struct cli_option *opts, const char *usage,
                      const char *description, int *npos, struct cli_ctx *ctx)
{
    int out = 1;
    bool only_positional = false;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        const struct cli_option *o = NULL;
        const char *inline_val = NULL;

        if (only_positional || a[0] != '-' || !a[1]) {
            argv[out++] = a;
            (*npos)++;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_positional = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_print_help(stdout, opts, usage, description);
            return cli_finish_stdout(ctx, 0);
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            for (const struct cli_option *p = opts; p->type != CLI_OPT_END; p++)
                if (name_matches(p->name, name, n))
                    o = p;
            if (eq)
                inline_val = eq + 1;
            if (!o) {
                const char *cands[128];
                size_t nc = 0;
                char given[128];
                snprintf(given, sizeof(given), "%.*s", (int)n, name);
                for (char *c = given; *c; c++)
                    if (*c == '_')
                        *c = '-';
                for (const struct cli_option *p = opts; p->type != CLI_OPT_END && nc < 128; p++)
                    cands[nc++] = p->name;
                const char *best = lleval_did_you_mean(given, cands, nc);
                if (best)
                    cli_error(ctx, "unknown option '--%s'; did you mean '--%s'?", given, best);
                else
                    cli_error(ctx, "unknown option '--%s'; see '%s --help'", given, argv[0]);
                return 2;
            }
        } else {
            for (const struct cli_option *p = opts; p->type != CLI_OPT_END; p++)
                if (p->short_name && p->short_name == a[1])
                    o = p;
            if (!o || a[2]) {
                cli_error(ctx, "unknown option '%s'; see '%s --help'", a, argv[0]);
                return 2;
            }
        }
        if (o->seen)
            *o->seen = true;
        if (o->type == CLI_OPT_BOOL) {
            if (inline_val) {
                cli_error(ctx, "option '--%s' takes no value", o->name);
                return 2;
            }
            *(bool *)o->value = true;
            continue;
        }
        if (!inline_val) {
            if (i + 1 >= argc) {
                cli_error(ctx, "option '--%s' needs a value (%s)", o->name,
                          o->argh ? o->argh : "VALUE");
                return 2;
            }
            inline_val = argv[++i];
        }
        int rc = set_value(o, inline_val, ctx);
        if (rc)
            return rc;
    }
    argv[out] = NULL;
    return CLI_CONTINUE;
}
