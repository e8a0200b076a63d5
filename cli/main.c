/* lleval's entry point: global options and the command table (git.c commands[]). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "lleval/platform/platform.h"
#include "lleval/util/util.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run the pipeline: prepare, build, submit, poll, parse, score"},
    {"prepare", cmd_prepare, "import datasets into the prepared JSONL format"},
    {"build", cmd_build, "build batch request files from prepared datasets"},
    {"parse", cmd_parse, "turn a results JSONL into predictions.csv, reconciling counts"},
    {"score", cmd_score, "score predictions against the prepared gold answers"},
    {"smoke", cmd_smoke, "run the whole pipeline on a few items and check every artifact"},
    {"runs", cmd_runs, "list, compare, stop and resume runs"},
    {"import", cmd_import, "import a batch service's results (OpenAI batch output) into a run"},
    {"doctor", cmd_doctor, "diagnose a run with the guide's decision tree"},
    {"report", cmd_report, "write a run's report.html and report.md (scores, charts, findings)"},
    {"config", cmd_config, "show the resolved configuration and where each value came from"},
    {"gguf", cmd_gguf, "describe a GGUF model file: architecture, parameters, quantization mix"},
    {"synth-model", cmd_synth_model, "write a small random-weight llama GGUF for tests and demos"},
    {"tune", cmd_tune,
     "measure the concurrency that serves the engine fastest (max_concurrent_jobs auto)"},
    {"plan", cmd_plan, "plan VRAM: what a model needs at a context and slot count, and what fits"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lleval [--version] [--help] <command> [<args>]\n\n"
               "Evaluate local LLMs (Ollama, llama-server, OpenAI-compatible) on QA datasets.\n\n"
               "commands:\n");
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-12s  %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'lleval <command> --help' describes a command.\n"
               "Exit status: 0 success, 1 some requests failed or a threshold was missed,\n"
               "2 usage or config error, 3 engine unreachable or model missing, 4 I/O error,\n"
               "130 interrupted (the run is resumable).\n");
}

/* Ends the process once a command is done and standard output is flushed and
 * checked: stdio is flushed and the process ends without the shared libraries'
 * destructors, which tear down what GnuTLS, p11-kit and Kerberos set up when
 * libcurl loaded them (about 0.35 MB of pages touched for that alone); the
 * memory and the open files go with the process. Sanitizer builds return
 * normally, so that the leak check at exit runs. */
static int end_process(int status)
{
#if defined(__SANITIZE_ADDRESS__)
    return status;
#else
    fflush(NULL);
    _Exit(status);
#endif
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    const char *no_color = getenv("NO_COLOR");
    bool color_ok = !(no_color && *no_color);

    lleval_process_init(&argc, &argv); /* UTF-8 arguments and console (Windows) */
    ctx.prog = "lleval";
    ctx.tty_out = lleval_isatty(1);
    ctx.tty_err = lleval_isatty(2);
    ctx.color_out = color_ok && lleval_term_colors(1);
    ctx.color_err = color_ok && lleval_term_colors(2);
    lleval_ignore_sigpipe();

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return end_process(cli_finish_stdout(&ctx, 0));
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("lleval 0.1.0\n");
        return end_process(cli_finish_stdout(&ctx, 0));
    }
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(commands); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            int status = commands[i].fn(argc - 1, argv + 1, &ctx);
            return end_process(cli_finish_stdout(&ctx, status));
        }
    }
    {
        const char *names[LLEVAL_ARRAY_SIZE(commands)];
        for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(commands); i++)
            names[i] = commands[i].name;
        const char *best = lleval_did_you_mean(argv[1], names, LLEVAL_ARRAY_SIZE(commands));
        if (best)
            cli_error(&ctx, "unknown command '%s'; did you mean '%s'?", argv[1], best);
        else
            cli_error(&ctx, "unknown command '%s'; see 'lleval --help'", argv[1]);
    }
    return 2;
}
