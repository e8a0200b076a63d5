/*
 * `lleval import` (see import.h): reads an OpenAI batch output file, checks
 * every line first (nothing is written from a file with a malformed line),
 * converts each line into the result line the poll step would have
 * journaled for that reply (the openai adapter's reply parser reads the
 * chat.completion body; result.h writes the line, redacted), and appends it
 * to its part's journal once: custom_ids already journaled or repeated in
 * the file are duplicates, ids that are not the run's requests unknown.
 * Then the parts' state.json and the manifest's counts are rewritten, so
 * `lleval runs list` shows the progress and `lleval runs resume` goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/config/config.h"
#include "lleval/engine/engine.h"
#include "lleval/engine/http.h"
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/result/result.h"
#include "lleval/run/batch.h"
#include "lleval/run/import.h"
#include "lleval/run/rundir.h"
#include "lleval/util/idset.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "state.h"

/* The engine name result lines of imported replies carry (lleval.engine). */
#define IMPORT_ENGINE "import"
#define IMPORT_LABEL  "the batch service"

void lleval_import_stats_init(struct lleval_import_stats *s)
{
    memset(s, 0, sizeof(*s));
}

void lleval_import_stats_release(struct lleval_import_stats *s)
{
    free(s->first_duplicate);
    free(s->first_unknown);
    memset(s, 0, sizeof(*s));
}

/* The run's requests: their custom_ids (owned) and parts, indexed by hash. */
struct req_index {
    char **ids;
    size_t *part;
    bool *seen; /* a line of the file had this id */
    size_t n, cap;
    struct lleval_idset set;
};

static void index_release(struct req_index *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->ids[i]);
    free(x->ids);
    free(x->part);
    free(x->seen);
    lleval_idset_release(&x->set);
}

/* The request index of custom_id, or -1 when the run has no such request. */
static long index_find(const struct req_index *x, const char *custom_id)
{
    uint32_t v;
    for (size_t pos = 0; lleval_idset_next(&x->set, lleval_idset_hash(custom_id), &pos, &v);)
        if (!strcmp(x->ids[v], custom_id))
            return (long)v;
    return -1;
}

/* Reads the custom_ids of every part's batch file into x. */
static int index_build(struct req_index *x, const struct lleval_run_state *st,
                       struct lleval_err *err)
{
    for (size_t i = 0; i < st->n_parts; i++) {
        struct lleval_request_reader rr;
        const struct lleval_request_view *v;
        int more, rc = lleval_request_open(&rr, st->parts[i].info->batch_path, err);
        if (rc)
            return rc;
        while ((more = lleval_request_next(&rr, &v, err)) > 0) {
            if (!v->custom_id)
                continue; /* the poll step names such a line; import cannot answer it */
            if (x->n == x->cap) {
                x->cap = x->cap ? x->cap * 2 : 256;
                x->ids = lleval_xrealloc(x->ids, x->cap * sizeof(*x->ids));
                x->part = lleval_xrealloc(x->part, x->cap * sizeof(*x->part));
            }
            x->ids[x->n] = lleval_xstrdup(v->custom_id);
            x->part[x->n] = i;
            lleval_idset_add(&x->set, lleval_idset_hash(v->custom_id), (uint32_t)x->n);
            x->n++;
        }
        lleval_request_close(&rr);
        if (more < 0)
            return more;
    }
    x->seen = lleval_xcalloc(x->n ? x->n : 1, sizeof(*x->seen));
    return 0;
}

/* An error object's code and message: strings when present, else NULL. */
static void error_fields(const json_t *error, const char **code, const char **msg)
{
    const json_t *c = json_object_get(error, "code");
    const json_t *m = json_object_get(error, "message");
    *code = json_is_string(c) ? json_string_value(c) : NULL;
    *msg = json_is_string(m) ? json_string_value(m) : NULL;
}

/* The result line of a reply whose status is 2xx and whose line has no error. */
static json_t *convert_reply(struct lleval_engine *e, const char *cid, long status,
                             const json_t *body, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_answer a;
    struct lleval_err why = LLEVAL_ERR_INIT;
    enum lleval_reply verdict;
    json_t *line;

    if (!json_is_object(body)) {
        lleval_err_set(err, LLEVAL_EINVAL,
                       "'response.body' is %s, not an object (a chat completion)",
                       lleval_http_json_kind(body));
        return NULL;
    }
    lleval_json_dump_sb(body, &sb);
    verdict = lleval_engine_parse_reply(e, status, sb.buf, sb.len, &a, &why);
    lleval_sb_release(&sb);
    if (verdict == LLEVAL_REPLY_OK)
        line = lleval_result_line(cid, IMPORT_ENGINE, &a, status, NULL, NULL, 0, 1);
    else /* a 2xx body that is no reply: the request failed, as the poll step records it */
        line = lleval_result_line(cid, IMPORT_ENGINE, NULL, status, "invalid_reply", why.msg, 0, 1);
    lleval_answer_release(&a);
    return line;
}

static json_t *convert(struct lleval_engine *e, const json_t *line, struct lleval_err *err)
{
    const json_t *cidj = json_object_get(line, "custom_id");
    const json_t *resp, *error, *sc, *body;
    const char *cid, *code = NULL, *msg = NULL;
    long status = 0;

    if (!json_is_object(line)) {
        lleval_err_set(err, LLEVAL_EINVAL, "not a JSON object");
        return NULL;
    }
    if (!json_is_string(cidj) || !*json_string_value(cidj)) {
        lleval_err_set(err, LLEVAL_EINVAL, "no custom_id (a non-empty string is needed)");
        return NULL;
    }
    cid = json_string_value(cidj);
    resp = json_object_get(line, "response");
    error = json_object_get(line, "error");
    if (resp && !json_is_object(resp) && !json_is_null(resp)) {
        lleval_err_set(err, LLEVAL_EINVAL, "'response' is %s, not an object or null",
                       lleval_http_json_kind(resp));
        return NULL;
    }
    if (error && !json_is_object(error) && !json_is_null(error)) {
        lleval_err_set(err, LLEVAL_EINVAL, "'error' is %s, not an object or null",
                       lleval_http_json_kind(error));
        return NULL;
    }
    if (!json_is_object(resp) && !json_is_object(error)) {
        lleval_err_set(err, LLEVAL_EINVAL, "neither a 'response' nor an 'error' object");
        return NULL;
    }
    sc = json_object_get(resp, "status_code");
    body = json_object_get(resp, "body");
    if (json_is_object(error)) { /* a failure: its status (lleval writes 0 for none) */
        error_fields(error, &code, &msg);
        if (json_is_integer(sc) && json_integer_value(sc) > 0 && json_integer_value(sc) < 600)
            status = (long)json_integer_value(sc);
        return lleval_result_line(cid, IMPORT_ENGINE, NULL, status, code ? code : "batch_error",
                                  msg ? msg : "the batch service reported an error", 0, 1);
    }
    if (json_is_object(resp)) {
        if (!json_is_integer(sc) || json_integer_value(sc) < 100 || json_integer_value(sc) > 599) {
            lleval_err_set(err, LLEVAL_EINVAL, "'response.status_code' is %s, not an HTTP status",
                           lleval_http_json_kind(sc));
            return NULL;
        }
        status = (long)json_integer_value(sc);
    }
    if (status < 200 || status > 299) {
        /* OpenAI puts a failed request's error into response.body.error */
        char codebuf[32];
        char *text = NULL, *m;
        json_t *r;
        error_fields(json_object_get(body, "error"), &code, &msg);
        if (!msg && body) {
            char *dump = json_dumps(body, JSON_COMPACT);
            text = lleval_http_error_text(dump ? dump : "", dump ? strlen(dump) : 0, NULL);
            free(dump);
        }
        snprintf(codebuf, sizeof(codebuf), "http_%ld", status);
        m = lleval_xasprintf("%s replied HTTP %ld%s%s", IMPORT_LABEL, status,
                             msg || (text && *text) ? ": " : "",
                             msg    ? msg
                             : text ? text
                                    : "");
        r = lleval_result_line(cid, IMPORT_ENGINE, NULL, status, code ? code : codebuf, m, 0, 1);
        free(m);
        free(text);
        return r;
    }
    return convert_reply(e, cid, status, body, err);
}

/* An engine for the reply parser only: the openai adapter, never connected. */
static int parser_engine(struct lleval_config *cfg, struct lleval_engine **e,
                         struct lleval_err *err)
{
    lleval_config_init(cfg);
    cfg->engine = LLEVAL_ENGINE_OPENAI;
    free(cfg->base_url);
    cfg->base_url = lleval_xstrdup("http://127.0.0.1/v1");
    free(cfg->api_key_env);
    cfg->api_key_env = NULL;
    return lleval_engine_open(e, cfg, err);
}

json_t *lleval_import_convert(const json_t *line, struct lleval_err *err)
{
    struct lleval_config cfg;
    struct lleval_engine *e = NULL;
    json_t *out = NULL;
    if (!parser_engine(&cfg, &e, err))
        out = convert(e, line, err);
    lleval_engine_close(e);
    lleval_config_release(&cfg);
    return out;
}

/* One line to write: its part and its result line. */
struct pending {
    size_t part;
    json_t *line;
};

struct import {
    const char *path;
    struct lleval_run_state *st;
    struct req_index x;
    struct pending *todo;
    size_t n_todo, cap_todo;
    struct lleval_import_stats *stats;
};

/* True for a line of spaces and tabs only (skipped, as blank lines are). */
static bool blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return !*s;
}

static void note(char **first, const char *id)
{
    if (!*first)
        *first = lleval_xstrdup(id);
}

/* Checks and converts every line of the file; writes nothing. */
static int read_file(struct import *im, struct lleval_engine *e, struct lleval_err *err)
{
    struct lleval_lines lr;
    int rc = lleval_lines_open(&lr, im->path, err), more;
    if (rc)
        return rc;
    while ((more = lleval_lines_next(&lr, err)) > 0) {
        json_error_t jerr;
        json_t *j, *res;
        const char *cid;
        long k;
        struct lleval_err why = LLEVAL_ERR_INIT;

        if (blank(lr.line))
            continue;
        im->stats->lines++;
        j = json_loadb(lr.line, lr.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: not JSON (%s): not an OpenAI batch output line; "
                                "nothing was imported",
                                im->path, lr.lineno, lleval_json_error_text(&jerr));
            break;
        }
        res = convert(e, j, &why);
        if (!res) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: %s: not an OpenAI batch output line; nothing was imported",
                                im->path, lr.lineno, why.msg);
            json_decref(j);
            break;
        }
        cid = lleval_result_custom_id(res);
        k = index_find(&im->x, cid);
        if (k < 0) {
            im->stats->unknown++;
            note(&im->stats->first_unknown, cid);
        } else if (im->x.seen[k] || lleval_journal_has(im->st->parts[im->x.part[k]].journal, cid)) {
            im->stats->duplicates++;
            note(&im->stats->first_duplicate, cid);
        } else {
            im->x.seen[k] = true;
            if (im->n_todo == im->cap_todo) {
                im->cap_todo = im->cap_todo ? im->cap_todo * 2 : 64;
                im->todo = lleval_xrealloc(im->todo, im->cap_todo * sizeof(*im->todo));
            }
            im->todo[im->n_todo].part = im->x.part[k];
            im->todo[im->n_todo++].line = json_incref(res);
        }
        json_decref(res);
        json_decref(j);
    }
    if (more < 0 && !rc)
        rc = more;
    lleval_lines_close(&lr);
    return rc;
}

/* Appends the converted lines and counts them into their parts. */
static int write_lines(struct import *im, struct lleval_err *err)
{
    struct lleval_run_state *st = im->st;
    double now = lleval_now();
    for (size_t i = 0; i < im->n_todo; i++) {
        struct lleval_rs_part *p = &st->parts[im->todo[i].part];
        struct lleval_result_view v;
        int rc = lleval_journal_append(p->journal, im->todo[i].line, err);
        if (rc)
            return rc;
        lleval_result_decode(im->todo[i].line, &v, NULL);
        im->stats->imported++;
        if (v.failed) {
            im->stats->failed++;
            lleval_rs_set_error(st, "%s: %s", v.custom_id ? v.custom_id : "?",
                                v.error_message ? v.error_message : "error");
        } else {
            im->stats->ok++;
        }
        if (!p->started_at)
            p->started_at = now;
        if (!st->trials[p->trial].started_at)
            st->trials[p->trial].started_at = p->started_at;
        if (!lleval_rs_count(st, im->todo[i].part, &v))
            p->status = p->answered ? LLEVAL_RUN_STOPPED : p->status; /* resumable */
    }
    return 0;
}

/* Rewrites the manifest's trials and counts from the state (old borrowed). */
static int save_manifest(const char *dir, const struct lleval_run_state *st,
                         struct lleval_manifest *old, const struct lleval_telemetry *tel,
                         struct lleval_err *err)
{
    for (size_t i = 0; i < old->n_trials; i++) {
        free(old->trials[i].trial);
        free(old->trials[i].dataset);
        json_decref(old->trials[i].telemetry);
    }
    free(old->trials);
    old->trials = NULL;
    old->n_trials = 0;
    old->requests = old->answered = old->errors = 0;
    lleval_rs_manifest_trials(st, tel, old);
    old->updated_at = lleval_now();
    if (st->last_error[0]) {
        free(old->last_error);
        old->last_error = lleval_xstrdup(st->last_error);
    }
    return lleval_manifest_save(dir, old, err);
}

/* Opens the run: its directory, lock, manifest and state (journals open). */
static int open_run(const char *runs_dir, const char *run_id, char **dir, struct lleval_lock **lock,
                    struct lleval_build_result *build, struct lleval_manifest *old,
                    struct lleval_err *err)
{
    char *lock_path, *batches, *build_json;
    long pid = 0;
    int rc;

    *dir = lleval_run_dir(runs_dir, run_id, err);
    if (!*dir)
        return err->code;
    if (!lleval_is_dir(*dir))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no run '%s' in '%s': see `lleval runs list` for the runs there",
                              run_id, runs_dir);
    lock_path = lleval_run_file_path(*dir, LLEVAL_RUN_FILE_LOCK);
    rc = lleval_lock_acquire(lock_path, lock, &pid, err);
    free(lock_path);
    if (rc == 1 && !pid)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' is being run by another process; stop it with `lleval "
                              "runs stop %s` or wait for it to finish, then import",
                              run_id, run_id);
    if (rc == 1)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' is being run by process %ld; stop it with `lleval runs "
                              "stop %s` or wait for it to finish, then import",
                              run_id, pid, run_id);
    if (rc)
        return rc;
    build_json = lleval_run_file_path(*dir, LLEVAL_RUN_FILE_BUILD);
    if (!lleval_path_exists(build_json)) {
        free(build_json);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "run '%s' has no batches yet: build them with `lleval run "
                              "--run-id %s --to_step build` first",
                              run_id, run_id);
    }
    free(build_json);
    rc = lleval_manifest_load(*dir, old, err);
    if (rc)
        return lleval_run_err_damaged(err, LLEVAL_RUN_FIX_MANIFEST);
    batches = lleval_run_file_path(*dir, LLEVAL_RUN_FILE_BATCHES);
    rc = lleval_build_load(batches, build, err);
    free(batches);
    return rc;
}

int lleval_import_results(const char *runs_dir, const char *run_id, const char *path,
                          struct lleval_import_stats *stats, struct lleval_err *err)
{
    struct lleval_run_state st;
    struct lleval_build_result build;
    struct lleval_manifest old;
    struct lleval_lock *lock = NULL;
    struct lleval_config cfg;
    struct lleval_engine *e = NULL;
    struct lleval_telemetry *tel = lleval_telemetry_new(false, 0);
    struct import im;
    char *dir = NULL;
    int rc;

    memset(&build, 0, sizeof(build));
    memset(&im, 0, sizeof(im));
    lleval_manifest_init(&old);
    lleval_config_init(&cfg);
    im.path = path;
    im.st = &st;
    im.stats = stats;
    rc = open_run(runs_dir, run_id, &dir, &lock, &build, &old, err);
    lleval_rs_init(&st, dir ? dir : "", run_id);
    if (!rc)
        rc = lleval_rs_load(&st, &build, err);
    if (!rc) {
        lleval_rs_restore(&st, &old);
        rc = index_build(&im.x, &st, err);
    }
    if (!rc) {
        lleval_config_release(&cfg);
        rc = parser_engine(&cfg, &e, err);
    }
    if (!rc)
        rc = read_file(&im, e, err);
    if (!rc)
        rc = write_lines(&im, err);
    if (!rc && im.n_todo) {
        rc = lleval_rs_flush_parts(&st, false, tel, err);
        if (!rc)
            rc = save_manifest(dir, &st, &old, tel, err);
    }
    lleval_rs_totals(&st, &stats->answered, &(size_t){0});
    stats->requests = build.total_requests > 0 ? (size_t)build.total_requests : 0;
    for (size_t i = 0; i < im.n_todo; i++)
        json_decref(im.todo[i].line);
    free(im.todo);
    index_release(&im.x);
    lleval_engine_close(e);
    lleval_config_release(&cfg);
    lleval_rs_release(&st);
    lleval_build_result_release(&build);
    lleval_manifest_release(&old);
    lleval_telemetry_free(tel);
    lleval_lock_release(lock);
    free(dir);
    return rc;
}
