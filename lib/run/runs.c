/* The runs of a runs directory with their effective status and headline (see runs.h). */
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/run/runs.h"
#include "lleval/util/util.h"

void lleval_run_info_load(const char *run_dir, const char *id, struct lleval_run_info *out)
{
    struct lleval_manifest m;
    struct lleval_err err = LLEVAL_ERR_INIT, serr = LLEVAL_ERR_INIT;
    struct lleval_scores scores;
    char *spath = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_SCORES);
    /* missing or damaged scores: no headline */
    bool have_scores = !lleval_scores_load(spath, &scores, &serr);

    memset(out, 0, sizeof(*out));
    out->id = lleval_xstrdup(id);
    if (lleval_manifest_load(run_dir, &m, &err)) {
        lleval_manifest_release(&m); /* shown with what is known: nothing */
    }
    out->model_id = lleval_xstrdup(m.model_id ? m.model_id : "");
    out->engine = lleval_xstrdup(m.engine ? m.engine : "");
    out->status = lleval_run_effective_status(run_dir, m.status, &out->pid);
    out->requests = m.requests;
    out->answered = m.answered;
    out->errors = m.errors;
    out->started_at = m.created_at > 0 ? m.created_at : m.started_at;
    out->updated_at = m.updated_at > 0 ? m.updated_at : out->started_at;
    out->duration_s = m.active_s > 0 ? m.active_s : out->updated_at - out->started_at;
    out->headline = lleval_scores_headline(have_scores ? &scores : NULL);
    lleval_manifest_release(&m);
    lleval_scores_release(&scores);
    free(spath);
}

void lleval_run_info_release(struct lleval_run_info *r)
{
    free(r->id);
    free(r->model_id);
    free(r->engine);
    memset(r, 0, sizeof(*r));
}

static int cmp_runs(const void *a, const void *b)
{
    const struct lleval_run_info *x = a, *y = b;
    if (x->started_at != y->started_at)
        return x->started_at < y->started_at ? -1 : 1;
    return strcmp(x->id, y->id);
}

int lleval_runs_list(const char *runs_dir, struct lleval_run_info **out, size_t *n,
                     struct lleval_err *err)
{
    struct lleval_dir_list names;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!lleval_path_exists(runs_dir))
        return 0; /* no runs yet */
    if (lleval_list_dir(runs_dir, &names, err))
        return lleval_err_prefix(err, "cannot list the runs");
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.names[i];
        char *dir, *m;
        bool is_run;
        if (name[0] == '.' || !lleval_run_id_valid(name))
            continue;
        dir = lleval_path_join(runs_dir, name);
        m = lleval_run_file_path(dir, LLEVAL_RUN_FILE_MANIFEST);
        is_run = lleval_path_exists(m);
        free(m);
        if (is_run) {
            LLEVAL_GROW(*out, *n, cap);
            lleval_run_info_load(dir, name, &(*out)[(*n)++]);
        }
        free(dir);
    }
    lleval_dir_list_release(&names);
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_runs);
    return 0;
}

void lleval_runs_free(struct lleval_run_info *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lleval_run_info_release(&runs[i]);
    free(runs);
}
