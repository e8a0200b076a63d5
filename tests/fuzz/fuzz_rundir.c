/*
 * libFuzzer target for the JSON files of a run directory that lleval reads
 * back (a crashed, damaged or hand-edited run): the input's first byte picks
 * the file (m: manifest.json, s: a part's state.json, b: the batches'
 * build.json, c: scores.json; any other byte: by its value modulo 4), the
 * rest is its content. Each goes through its one reader; a failure must say
 * which file, and what a reader accepts must survive its writer: saved and
 * read again, it saves to the same bytes (manifest and state).
 */
#include <errno.h>
#include <sys/stat.h>
#include "fuzz_common.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/score/scores.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

static char run[300], again[300];

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) && errno != EEXIST) {
        perror(path);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_path(run, sizeof(run), "run");
    fuzz_path(again, sizeof(again), "again");
    make_dir(run);
    make_dir(again);
    return 0;
}

/* The bytes of path (owned), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
            abort();
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static void same_file(const char *a, const char *b, const char *what)
{
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    FUZZ_CHECK(x && y, "%s: a saved file is missing", what);
    FUZZ_CHECK(la == lb && !memcmp(x, y, la), "%s: saved again, it differs:\n%.*s\n---\n%.*s", what,
               (int)la, x, (int)lb, y);
    free(x);
    free(y);
}

static void manifest(void)
{
    struct lleval_manifest m, m2;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char first[400], second[400];
    int rc = lleval_manifest_load(run, &m, &err);

    if (rc) {
        FUZZ_CHECK(strstr(err.msg, "manifest.json"), "the error names no file: %s", err.msg);
        lleval_manifest_release(&m);
        return;
    }
    FUZZ_CHECK(!lleval_manifest_save(again, &m, &err), "cannot save what was read: %s", err.msg);
    snprintf(first, sizeof(first), "%s/manifest.json", again);
    snprintf(second, sizeof(second), "%s/manifest.2.json", again);
    FUZZ_CHECK(!lleval_manifest_load(again, &m2, &err), "what lleval saved does not read: %s",
               err.msg);
    if (rename(first, second))
        abort();
    FUZZ_CHECK(!lleval_manifest_save(again, &m2, &err), "cannot save again: %s", err.msg);
    same_file(second, first, "manifest.json");
    lleval_manifest_release(&m);
    lleval_manifest_release(&m2);
}

static void part_state(const char *path)
{
    struct lleval_part_state s, s2;
    struct lleval_err err = LLEVAL_ERR_INIT;
    char first[400], second[400];
    int rc = lleval_part_state_load(path, &s, &err);

    if (rc) {
        FUZZ_CHECK(strstr(err.msg, "state.json"), "the error names no file: %s", err.msg);
        lleval_part_state_release(&s);
        return;
    }
    snprintf(first, sizeof(first), "%s/state.json", again);
    snprintf(second, sizeof(second), "%s/state.2.json", again);
    FUZZ_CHECK(!lleval_part_state_save(first, &s, &err), "cannot save what was read: %s", err.msg);
    FUZZ_CHECK(!lleval_part_state_load(first, &s2, &err), "what lleval saved does not read: %s",
               err.msg);
    FUZZ_CHECK(!lleval_part_state_save(second, &s2, &err), "cannot save again: %s", err.msg);
    same_file(first, second, "state.json");
    lleval_part_state_release(&s);
    lleval_part_state_release(&s2);
}

static void build(void)
{
    struct lleval_build_result b;
    struct lleval_err err = LLEVAL_ERR_INIT;
    memset(&b, 0, sizeof(b));
    if (lleval_build_load(run, &b, &err))
        FUZZ_CHECK(strstr(err.msg, "build.json"), "the error names no file: %s", err.msg);
    lleval_build_result_release(&b);
}

static void scores(const char *path)
{
    struct lleval_scores s;
    struct lleval_err err = LLEVAL_ERR_INIT;
    if (lleval_scores_load(path, &s, &err))
        FUZZ_CHECK(strstr(err.msg, "scores.json"), "the error names no file: %s", err.msg);
    lleval_scores_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[400];
    int kind;
    if (!size)
        return 0;
    kind = data[0] == 'm'   ? 0
           : data[0] == 's' ? 1
           : data[0] == 'b' ? 2
           : data[0] == 'c' ? 3
                            : data[0] % 4;
    data++;
    size--;
    switch (kind) {
    case 0:
        snprintf(path, sizeof(path), "%s/manifest.json", run);
        fuzz_write(path, data, size);
        manifest();
        break;
    case 1:
        snprintf(path, sizeof(path), "%s/state.json", run);
        fuzz_write(path, data, size);
        part_state(path);
        break;
    case 2:
        snprintf(path, sizeof(path), "%s/build.json", run);
        fuzz_write(path, data, size);
        build();
        break;
    default:
        snprintf(path, sizeof(path), "%s/scores.json", run);
        fuzz_write(path, data, size);
        scores(path);
        break;
    }
    return 0;
}
