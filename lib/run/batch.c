/*
 * Batch building: custom_id encoding, prompt rendering and the part files in
 * the OpenAI batch input format (docs/formats.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/batchapi.h"
#include "lleval/run/batch.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"

static bool cid_plain(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

static void cid_escape(struct lleval_sb *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (cid_plain(c)) {
            lleval_sb_addch(sb, (char)c);
        } else {
            lleval_sb_addch(sb, '%');
            lleval_sb_addch(sb, hex[c >> 4]);
            lleval_sb_addch(sb, hex[c & 15]);
        }
    }
}

const char *lleval_temp_dir(char *buf, size_t size, double temp)
{
    char num[32];
    snprintf(buf, size, "t%s", lleval_fmt_num(num, sizeof(num), temp));
    return buf;
}

void lleval_cid_encode(struct lleval_sb *sb, const char *dataset, const char *item_id,
                       const char *prompt_type, double temp, long sample)
{
    char num[32];
    cid_escape(sb, dataset);
    lleval_sb_addch(sb, ':');
    cid_escape(sb, item_id);
    lleval_sb_addch(sb, ':');
    cid_escape(sb, prompt_type);
    lleval_sb_addf(sb, ":t%s:s%ld", lleval_fmt_num(num, sizeof(num), temp), sample);
}

void lleval_cid_encode_model(struct lleval_sb *sb, const char *model, const char *dataset,
                             const char *item_id, const char *prompt_type, double temp, long sample)
{
    if (model) {
        cid_escape(sb, model);
        lleval_sb_addch(sb, ':');
    }
    lleval_cid_encode(sb, dataset, item_id, prompt_type, temp, sample);
}

char *lleval_model_folder(const char *model)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    cid_escape(&sb, model);
    return lleval_sb_detach(&sb, NULL);
}

char *lleval_trial_folder(const char *model, const char *dataset)
{
    char *m, *out;
    if (!model)
        return lleval_xstrdup(dataset);
    m = lleval_model_folder(model);
    out = lleval_xasprintf("%s/%s", m, dataset);
    free(m);
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one %XX-escaped component; NULL on malformed input. */
static char *cid_unescape(const char *s, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                goto bad;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || cid_plain((unsigned char)(hi * 16 + lo)) || !(hi | lo))
                goto bad;
            lleval_sb_addch(&sb, (char)(hi * 16 + lo));
            i += 2;
        } else if (cid_plain(c)) {
            lleval_sb_addch(&sb, (char)c);
        } else {
            goto bad;
        }
    }
    return lleval_sb_detach(&sb, NULL);
bad:
    lleval_sb_release(&sb);
    return NULL;
}

void lleval_cid_release(struct lleval_cid *c)
{
    free(c->model);
    free(c->dataset);
    free(c->item_id);
    free(c->prompt_type);
    free(c->temp);
    memset(c, 0, sizeof(*c));
}

int lleval_cid_decode(const char *custom_id, struct lleval_cid *out, struct lleval_err *err)
{
    const char *all[6], **parts = all;
    size_t all_lens[6], *lens = all_lens;
    const char *p = custom_id;
    int n = 0;
    double t;

    memset(out, 0, sizeof(*out));
    while (n < 6) {
        const char *colon = strchr(p, ':');
        parts[n] = p;
        lens[n] = colon ? (size_t)(colon - p) : strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
    if (n < 5 || strchr(parts[n - 1], ':'))
        goto bad;
    for (int i = 0; i < n; i++)
        if (!lens[i])
            goto bad;
    if (n == 6) { /* a run of several models: the model first */
        out->model = cid_unescape(parts[0], lens[0]);
        if (!out->model)
            goto bad;
        parts++;
        lens++;
    }
    out->dataset = cid_unescape(parts[0], lens[0]);
    out->item_id = cid_unescape(parts[1], lens[1]);
    out->prompt_type = cid_unescape(parts[2], lens[2]);
    if (!out->dataset || !out->item_id || !out->prompt_type)
        goto bad;
    if (parts[3][0] != 't' || parts[4][0] != 's')
        goto bad;
    out->temp = lleval_xstrndup(parts[3] + 1, lens[3] - 1);
    if (lleval_parse_double(out->temp, &t) ||
        lleval_parse_long(parts[4] + 1, 0, 1L << 30, &out->sample))
        goto bad;
    return 0;
bad:
    lleval_cid_release(out);
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "malformed custom_id '%.200s': expected "
                          "[model:]dataset:item:prompt_type:t<temp>:s<sample>",
                          custom_id);
}

static void render_choices(struct lleval_sb *sb, const json_t *choices, bool letters_only)
{
    size_t i;
    json_t *c;
    json_array_foreach(choices, i, c)
    {
        char letter = (char)('A' + (i < 26 ? i : 25));
        if (letters_only) {
            if (i)
                lleval_sb_adds(sb, i + 1 == json_array_size(choices) ? " or " : ", ");
            lleval_sb_addch(sb, letter);
        } else {
            if (i)
                lleval_sb_addch(sb, '\n');
            lleval_sb_addf(sb, "%c. %s", letter, json_is_string(c) ? json_string_value(c) : "");
        }
    }
}

char *lleval_render_prompt(const char *tmpl, const json_t *item)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            lleval_sb_adds(&sb, p);
            break;
        }
        lleval_sb_add(&sb, p, (size_t)(open - p));
        if (lleval_str_starts_with(open, "{question}")) {
            const char *q = lleval_json_str(item, "question");
            lleval_sb_adds(&sb, q ? q : "");
            p = open + strlen("{question}");
        } else if (lleval_str_starts_with(open, "{context}")) {
            const char *c = lleval_json_str(item, "context");
            lleval_sb_adds(&sb, c ? c : "");
            p = open + strlen("{context}");
        } else if (lleval_str_starts_with(open, "{choices}")) {
            render_choices(&sb, json_object_get(item, "choices"), false);
            p = open + strlen("{choices}");
        } else if (lleval_str_starts_with(open, "{choice_letters}")) {
            render_choices(&sb, json_object_get(item, "choices"), true);
            p = open + strlen("{choice_letters}");
        } else {
            lleval_sb_addch(&sb, '{');
            p = open + 1;
        }
    }
    return lleval_sb_detach(&sb, NULL);
}

void lleval_build_result_release(struct lleval_build_result *r)
{
    for (size_t i = 0; i < r->n_parts; i++) {
        free(r->parts[i].model);
        free(r->parts[i].folder);
        free(r->parts[i].dataset);
        free(r->parts[i].batch_path);
    }
    free(r->parts);
    memset(r, 0, sizeof(*r));
}

static struct lleval_part_info *add_part(struct lleval_build_result *r)
{
    r->parts = lleval_xrealloc(r->parts, (r->n_parts + 1) * sizeof(*r->parts));
    memset(&r->parts[r->n_parts], 0, sizeof(*r->parts));
    return &r->parts[r->n_parts++];
}

/* Appends one request line for item x prompt type x temp x sample to sb. */
static void add_request(struct lleval_sb *sb, const struct lleval_config *cfg, const char *model,
                        const struct lleval_prompt_type *pt, const json_t *item, double temp,
                        long sample)
{
    enum lleval_item_type type = LLEVAL_CLOSED_BOOK;
    const char *tname = lleval_json_str(item, "type");
    struct lleval_sb cid = LLEVAL_SB_INIT;
    json_t *line, *body, *messages, *stop;
    char *sys, *user;

    if (tname)
        lleval_item_type_parse(tname, &type);
    lleval_cid_encode_model(&cid, cfg->n_models > 1 ? model : NULL,
                            lleval_json_str(item, "dataset"), lleval_json_str(item, "id"), pt->name,
                            temp, sample);
    sys = lleval_render_prompt(pt->system[type] ? pt->system[type] : "", item);
    user = lleval_render_prompt(pt->user[type] ? pt->user[type] : "{question}", item);
    if (type == LLEVAL_OPEN_BOOK && json_object_get(item, "unanswerable")) {
        /* SQuAD 2.0: every question of the dataset is told how to abstain */
        char *how = lleval_prompt_abstain(cfg), *both;
        both = *sys ? lleval_xasprintf("%s %s", sys, how) : lleval_xstrdup(how);
        free(sys);
        free(how);
        sys = both;
    }

    messages = json_array();
    if (*sys)
        json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "system", "content", sys));
    json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user", "content", user));
    stop = json_array();
    for (size_t i = 0; i < cfg->n_stop; i++)
        json_array_append_new(stop, json_string(cfg->stop[i]));
    body = json_object();
    json_object_set_new(body, "model", json_string(model ? model : ""));
    json_object_set_new(body, "messages", messages);
    json_object_set_new(body, "max_tokens", json_integer(cfg->max_new_tokens[type]));
    json_object_set_new(body, "temperature", json_real(temp));
    json_object_set_new(body, "top_p", json_real(cfg->top_p));
    json_object_set_new(body, "top_k", json_integer(cfg->top_k));
    json_object_set_new(body, "stop", stop);
    json_object_set_new(body, "seed", json_integer(cfg->seed + sample));
    line = json_object();
    json_object_set_new(line, "custom_id", json_string(cid.buf));
    json_object_set_new(line, "method", json_string("POST"));
    json_object_set_new(line, "url", json_string("/v1/chat/completions"));
    json_object_set_new(line, "body", body);
    lleval_json_dump_sb(line, sb);
    lleval_sb_addch(sb, '\n');
    json_decref(line);
    free(sys);
    free(user);
    lleval_sb_release(&cid);
}

static json_t *part_json(const struct lleval_part_info *p, const char *out_dir)
{
    const char *rel = p->batch_path + strlen(out_dir) + 1;
    json_t *j =
        json_pack("{s:s, s:f, s:I, s:s, s:I}", "dataset", p->dataset, "temperature", p->temp,
                  "part", (json_int_t)p->index, "path", rel, "requests", (json_int_t)p->requests);
    if (p->model) /* a run of several models only: one model's build.json stays as it was */
        json_object_set_new(j, "model", json_string(p->model));
    return j;
}

static int write_build_json(const char *out_dir, const struct lleval_build_result *res,
                            struct lleval_err *err)
{
    json_t *root = json_object(), *parts = json_array();
    char *path = lleval_path_join(out_dir, "build.json");
    int rc;
    for (size_t i = 0; i < res->n_parts; i++)
        json_array_append_new(parts, part_json(&res->parts[i], out_dir));
    json_object_set_new(root, "total_requests", json_integer(res->total_requests));
    json_object_set_new(root, "parts", parts);
    rc = lleval_json_write_atomic(path, root, err);
    json_decref(root);
    free(path);
    return rc;
}

/* The limits of one part file (a cloud batch engine's, lowered by batch.*); 0: none. */
struct part_limits {
    long requests;
    long long bytes;
};

static struct part_limits part_limits(const struct lleval_config *cfg)
{
    const struct lleval_batch_provider *pv = lleval_batch_provider_for(cfg->engine);
    struct part_limits l = {0, 0};
    if (!pv)
        return l;
    l.requests = pv->max_requests;
    l.bytes = pv->max_bytes;
    if (cfg->batch.max_requests > 0 && (!l.requests || cfg->batch.max_requests < l.requests))
        l.requests = cfg->batch.max_requests;
    if (cfg->batch.max_bytes > 0 && (!l.bytes || cfg->batch.max_bytes < l.bytes))
        l.bytes = cfg->batch.max_bytes;
    return l;
}

static bool over_limits(struct part_limits l, long requests, size_t bytes)
{
    return (l.requests > 0 && requests > l.requests) || (l.bytes > 0 && (long long)bytes > l.bytes);
}

/* Adds part idx (1-based) of a dataset and temperature to res, its folder made. */
static struct lleval_part_info *new_part(const struct lleval_config *cfg, const char *model,
                                         const char *name, double temp, size_t idx,
                                         const char *out_dir, struct lleval_build_result *res,
                                         int *rc, struct lleval_err *err)
{
    struct lleval_part_info *pi = add_part(res);
    char tdir[40], *rel, *dir;
    (void)cfg;
    lleval_temp_dir(tdir, sizeof(tdir), temp);
    pi->model = model ? lleval_xstrdup(model) : NULL;
    pi->folder = lleval_trial_folder(model, name);
    pi->dataset = lleval_xstrdup(name);
    pi->temp = temp;
    pi->index = (long)idx;
    rel = lleval_xasprintf("%s/%s", pi->folder, tdir);
    dir = lleval_path_join(out_dir, rel);
    free(rel);
    *rc = lleval_mkdirs(dir, err);
    rel = lleval_xasprintf("part-%03zu.jsonl", idx);
    pi->batch_path = lleval_path_join(dir, rel);
    free(rel);
    free(dir);
    return pi;
}

static int finish_part(struct lleval_part_info *pi, struct lleval_build_result *res,
                       struct lleval_sb *sb, struct lleval_err *err)
{
    res->total_requests += pi->requests;
    return lleval_write_file_atomic(pi->batch_path, sb->buf, sb->len, err);
}

/* The parts of one dataset (index d) for one model (NULL: the run's one model). */
static int build_dataset(const struct lleval_config *cfg, const struct lleval_prompt_set *set,
                         const char *model, size_t d, const char *out_dir,
                         struct lleval_build_result *res, struct lleval_sb *sb,
                         struct lleval_err *err)
{
    const char *name = cfg->datasets[d].name;
    const char *body_model = model ? model : (cfg->model_id ? cfg->model_id : "");
    json_t *items = lleval_prepared_load(cfg->prepared_dir, name, NULL, err);
    struct part_limits lim = part_limits(cfg);
    size_t n, parts;
    int rc = 0;

    if (!items)
        return err ? err->code : LLEVAL_EINVAL;
    n = json_array_size(items);
    if (cfg->limit_items > 0 && (size_t)cfg->limit_items < n)
        n = (size_t)cfg->limit_items;
    parts = cfg->parts_per_dataset > 0 ? (size_t)cfg->parts_per_dataset : 1;
    if (parts > n)
        parts = n ? n : 1;
    for (size_t t = 0; t < cfg->n_temps && !rc; t++) {
        double temp = cfg->temps[t];
        size_t idx = 0; /* part files written for this temperature */
        for (size_t p = 0; p < parts && !rc; p++) {
            /* contiguous, nearly equal slices: [n*p/parts, n*(p+1)/parts) */
            size_t lo = n * p / parts, hi = n * (p + 1) / parts;
            struct lleval_part_info *pi =
                new_part(cfg, model, name, temp, ++idx, out_dir, res, &rc, err);
            lleval_sb_reset(sb);
            for (size_t i = lo; i < hi && !rc; i++)
                for (size_t k = 0; k < set->n_types && !rc; k++)
                    for (long s = 0; s < (cfg->samples > 0 ? cfg->samples : 1) && !rc; s++) {
                        size_t before = sb->len;
                        add_request(sb, cfg, body_model, &set->types[k], json_array_get(items, i),
                                    temp, s);
                        if (pi->requests && over_limits(lim, pi->requests + 1, sb->len)) {
                            /* the provider's limit per file: this line opens the next part */
                            struct lleval_sb line = LLEVAL_SB_INIT;
                            lleval_sb_add(&line, sb->buf + before, sb->len - before);
                            sb->len = before;
                            sb->buf[before] = '\0';
                            rc = finish_part(pi, res, sb, err);
                            if (!rc)
                                pi =
                                    new_part(cfg, model, name, temp, ++idx, out_dir, res, &rc, err);
                            lleval_sb_reset(sb);
                            lleval_sb_add(sb, line.buf, line.len);
                            lleval_sb_release(&line);
                        }
                        pi->requests++;
                    }
            if (!rc)
                rc = finish_part(pi, res, sb, err);
        }
    }
    json_decref(items);
    return rc;
}

int lleval_build_batches(const struct lleval_config *cfg, const char *out_dir,
                         struct lleval_build_result *res, struct lleval_err *err)
{
    const struct lleval_prompt_set *set = lleval_config_prompt_set(cfg);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t n_models = cfg->n_models > 1 ? cfg->n_models : 1;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if (!set)
        return lleval_err_set(err, LLEVAL_EINVAL, "prompt set '%s' is not defined",
                              cfg->prompt_set ? cfg->prompt_set : "");
    if (!cfg->n_datasets)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no datasets configured: add a 'datasets:' list to the config");
    /* model-major: all of one model's parts before the next model's (the poll asks in
     * this order, so an engine holds one model at a time) */
    for (size_t m = 0; m < n_models && !rc; m++)
        for (size_t d = 0; d < cfg->n_datasets && !rc; d++)
            rc = build_dataset(cfg, set, cfg->n_models > 1 ? cfg->models[m] : NULL, d, out_dir, res,
                               &sb, err);
    if (!rc)
        rc = write_build_json(out_dir, res, err);
    lleval_sb_release(&sb);
    if (rc)
        lleval_build_result_release(res);
    return rc;
}

int lleval_build_load(const char *out_dir, struct lleval_build_result *res, struct lleval_err *err)
{
    char *path = lleval_path_join(out_dir, "build.json");
    json_t *root = lleval_json_load_file(path, err);
    json_t *parts, *p;
    size_t i;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if (!root) {
        if (!lleval_path_exists(path))
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "no batches in '%s': run `lleval build` first, or drop "
                                "--skip_build",
                                out_dir);
        else /* lleval wrote it: damaged (exit 4) */
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
        free(path);
        return rc;
    }
    parts = json_object_get(root, "parts");
    json_array_foreach(parts, i, p)
    {
        const char *ds = lleval_json_str(p, "dataset"), *rel = lleval_json_str(p, "path");
        const char *model = lleval_json_str(p, "model");
        struct lleval_part_info *pi;
        if (!ds || !rel || strstr(rel, "..") || (json_object_get(p, "model") && !model)) {
            lleval_err_set(err, LLEVAL_EIO, "%s: part %zu is malformed", path, i + 1);
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
            break;
        }
        pi = add_part(res);
        pi->model = model ? lleval_xstrdup(model) : NULL;
        pi->folder = lleval_trial_folder(model, ds);
        pi->dataset = lleval_xstrdup(ds);
        pi->temp = lleval_json_num(p, "temperature", 0);
        pi->index = (long)lleval_json_int(p, "part", (long long)i + 1);
        pi->batch_path = lleval_path_join(out_dir, rel);
        pi->requests = (long)lleval_json_int(p, "requests", 0);
        res->total_requests += pi->requests;
    }
    json_decref(root);
    free(path);
    if (rc)
        lleval_build_result_release(res);
    return rc;
}

/* ---- reading request lines back ---------------------------------------------------- */

int lleval_request_open(struct lleval_request_reader *rr, const char *batch_path,
                        struct lleval_err *err)
{
    memset(rr, 0, sizeof(*rr));
    if (lleval_lines_open(&rr->lines, batch_path, err)) /* lleval wrote it: exit 4 */
        return lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
    return 0;
}

int lleval_request_next(struct lleval_request_reader *rr, const struct lleval_request_view **v,
                        struct lleval_err *err)
{
    return lleval_request_next_skip(rr, NULL, NULL, v, err);
}

int lleval_request_next_skip(struct lleval_request_reader *rr,
                             bool (*skip)(void *ud, const char *custom_id), void *ud,
                             const struct lleval_request_view **v, struct lleval_err *err)
{
    struct lleval_request_view *rv = &rr->view;
    char cid[512];
    int more;
    const json_t *m;
    size_t k;

    json_decref(rv->line);
    memset(rv, 0, sizeof(*rv));
    for (;;) {
        more = lleval_lines_next(&rr->lines, err);
        if (more <= 0)
            return more;
        if (!rr->lines.len)
            continue;
        if (skip && lleval_request_quick_cid(rr->lines.line, rr->lines.len, cid, sizeof(cid)) &&
            skip(ud, cid))
            continue;
        break;
    }
    rv->lineno = rr->lines.lineno;
    rv->line = json_loadb(rr->lines.line, rr->lines.len, 0, NULL);
    rv->custom_id = lleval_json_str(rv->line, "custom_id");
    rv->body = json_object_get(rv->line, "body");
    if (!json_is_object(rv->body))
        rv->body = NULL;
    rv->max_tokens = (long)lleval_json_int(rv->body, "max_tokens", 0);
    json_array_foreach(json_object_get(rv->body, "messages"), k, m)
    {
        const char *c = lleval_json_str(m, "content");
        rv->prompt_chars += c ? strlen(c) : 0;
    }
    *v = rv;
    return 1;
}

void lleval_request_close(struct lleval_request_reader *rr)
{
    json_decref(rr->view.line);
    lleval_lines_close(&rr->lines);
    memset(rr, 0, sizeof(*rr));
}

bool lleval_request_quick_cid(const char *line, size_t len, char *buf, size_t size)
{
    static const char prefix[] = "{\"custom_id\":\"";
    const size_t np = sizeof(prefix) - 1;
    const char *end;
    if (len <= np || memcmp(line, prefix, np))
        return false;
    end = memchr(line + np, '"', len - np);
    if (!end || (size_t)(end - line - np) >= size ||
        memchr(line + np, '\\', (size_t)(end - line - np)))
        return false;
    memcpy(buf, line + np, (size_t)(end - line - np));
    buf[end - line - np] = '\0';
    return true;
}
