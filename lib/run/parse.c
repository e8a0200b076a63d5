/* parse: results JSONL -> predictions.csv with reconciliation (see parse.h). */
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/util/csv.h"
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/idset.h"
#include "lleval/run/parse.h"
#include "lleval/util/util.h"

void lleval_parse_report_release(struct lleval_parse_report *r)
{
    for (size_t i = 0; i < r->n_missing_ids; i++)
        free(r->missing_ids[i]);
    for (size_t i = 0; i < r->n_duplicate_ids; i++)
        free(r->duplicate_ids[i]);
    for (size_t i = 0; i < r->n_unknown_ids; i++)
        free(r->unknown_ids[i]);
    for (size_t i = 0; i < r->n_non200_ids; i++)
        free(r->non200_ids[i]);
    for (size_t i = 0; i < r->n_parts; i++)
        free(r->parts[i].name);
    free(r->parts);
    memset(r, 0, sizeof(*r));
}

bool lleval_parse_mismatch(const struct lleval_parse_report *r)
{
    return r->missing || r->duplicates || r->unknown || r->malformed;
}

static void note(char **list, size_t *n, const char *id)
{
    if (*n < LLEVAL_PARSE_LIST_MAX)
        list[(*n)++] = lleval_xstrdup(id);
}

/* Loads every request custom_id of the build into set (value = part + 1). */
static int load_requests(const char *batches_dir, struct lleval_idset *set,
                         struct lleval_parse_report *rep, struct lleval_err *err)
{
    struct lleval_build_result br;
    int rc = lleval_build_load(batches_dir, &br, err);
    if (rc)
        return rc;
    rep->parts = lleval_xcalloc(br.n_parts ? br.n_parts : 1, sizeof(*rep->parts));
    rep->n_parts = br.n_parts;
    for (size_t p = 0; p < br.n_parts && !rc; p++) {
        struct lleval_lines lr;
        char tdir[40];
        int more;
        rep->parts[p].name =
            lleval_xasprintf("%s/%s/part-%03ld", br.parts[p].dataset,
                             lleval_temp_dir(tdir, sizeof(tdir), br.parts[p].temp),
                             br.parts[p].index);
        rc = lleval_lines_open(&lr, br.parts[p].batch_path, err);
        if (rc)
            break;
        while ((more = lleval_lines_next(&lr, err)) > 0) {
            json_t *obj = json_loadb(lr.line, lr.len, 0, NULL);
            const char *cid = obj ? lleval_json_str(obj, "custom_id") : NULL;
            bool found;
            if (!cid) {
                json_decref(obj);
                rc = lleval_err_set(err, LLEVAL_EINVAL,
                                    "%s:%ld: request line without a custom_id: rebuild the "
                                    "batches with `lleval build`",
                                    br.parts[p].batch_path, lr.lineno);
                break;
            }
            lleval_idset_put(set, lleval_idset_hash(cid), (uint32_t)p + 1, &found);
            rep->parts[p].requests++;
            rep->requests++;
            json_decref(obj);
        }
        if (more < 0)
            rc = more;
        lleval_lines_close(&lr);
    }
    lleval_build_result_release(&br);
    return rc;
}

/* dataset -> {item id -> type}, loaded on first use. */
static const char *item_type(json_t *types, const char *prepared_dir, const struct lleval_cid *c)
{
    json_t *m = json_object_get(types, c->dataset);
    if (!m) {
        json_t *items = lleval_prepared_load(prepared_dir, c->dataset, NULL, NULL);
        json_t *it;
        size_t i;
        m = json_object();
        json_array_foreach(items, i, it)
        {
            const char *id = lleval_json_str(it, "id"), *t = lleval_json_str(it, "type");
            if (id && t)
                json_object_set_new(m, id, json_string(t));
        }
        json_decref(items);
        json_object_set_new(types, c->dataset, m);
    }
    return lleval_json_str(m, c->item_id);
}

static void num_field(struct lleval_sb *sb, const json_t *obj, const char *key, bool real)
{
    char buf[64];
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        buf[0] = '\0';
    else if (real)
        snprintf(buf, sizeof(buf), "%.1f", json_number_value(v));
    else
        snprintf(buf, sizeof(buf), "%lld", (long long)json_number_value(v));
    lleval_csv_add_field(sb, buf, false);
}

static void write_row(struct lleval_sb *sb, const json_t *obj, const char *cid,
                      const struct lleval_cid *c, const char *type, long status)
{
    const json_t *facts = json_object_get(obj, "lleval");
    const json_t *body = lleval_json_path(obj, "response.body");
    const json_t *choice = json_array_get(json_object_get(body, "choices"), 0);
    const char *content = lleval_json_str(json_object_get(choice, "message"), "content");
    const char *finish = lleval_json_str(choice, "finish_reason");
    const json_t *error = json_object_get(obj, "error");
    bool ok = status == 200 && (!error || json_is_null(error)) && content;
    char buf[64];

    if (!finish)
        finish = lleval_json_str(facts, "finish_reason");
    if (!ok)
        finish = "error";
    lleval_csv_add_field(sb, cid, true);
    lleval_csv_add_field(sb, c ? c->dataset : "", false);
    lleval_csv_add_field(sb, c ? c->item_id : "", false);
    lleval_csv_add_field(sb, type ? type : "", false);
    lleval_csv_add_field(sb, c ? c->prompt_type : "", false);
    lleval_csv_add_field(sb, c ? c->temp : "", false);
    snprintf(buf, sizeof(buf), "%ld", c ? c->sample : 0);
    lleval_csv_add_field(sb, buf, false);
    lleval_csv_add_field(sb, ok ? "ok" : "error", false);
    lleval_csv_add_field(sb, finish ? finish : "", false);
    lleval_csv_add_field(sb, ok ? content : "", false);
    num_field(sb, facts, "latency_ms", true);
    if (json_object_get(facts, "prompt_tokens")) {
        num_field(sb, facts, "prompt_tokens", false);
        num_field(sb, facts, "completion_tokens", false);
    } else {
        const json_t *usage = json_object_get(body, "usage");
        num_field(sb, usage, "prompt_tokens", false);
        num_field(sb, usage, "completion_tokens", false);
    }
    num_field(sb, facts, "gen_tps", true);
    num_field(sb, facts, "attempts", false);
    if (!ok) {
        const char *msg = json_is_object(error) ? lleval_json_str(error, "message") : NULL;
        if (!msg && status != 200) {
            snprintf(buf, sizeof(buf), "HTTP %ld", status);
            msg = buf;
        }
        lleval_csv_add_field(sb, msg ? msg : "no content in the reply", false);
    } else {
        lleval_csv_add_field(sb, "", false);
    }
    lleval_csv_end_record(sb);
}

static const char *const header[] = {
    "custom_id",     "dataset", "item_id",       "type",        "prompt_type",
    "temperature",   "sample",  "status",        "finish_reason", "prediction",
    "latency_ms",    "prompt_tokens", "completion_tokens", "gen_tps", "attempts",
    "error",
};

int lleval_parse_results(const char *results_jsonl, const char *batches_dir,
                         const char *prepared_dir, const char *out_csv,
                         struct lleval_parse_report *rep, struct lleval_err *err)
{
    struct lleval_idset requests = LLEVAL_IDSET_INIT, seen = LLEVAL_IDSET_INIT;
    struct lleval_lines lr;
    struct lleval_sb out = LLEVAL_SB_INIT;
    char *tmp = NULL;
    FILE *f = NULL;
    json_t *types = json_object();
    int rc, more;

    memset(rep, 0, sizeof(*rep));
    if (batches_dir) {
        rc = load_requests(batches_dir, &requests, rep, err);
        if (rc)
            goto out;
        rep->reconciled = true;
    }
    rc = lleval_lines_open(&lr, results_jsonl, err);
    if (rc)
        goto out;
    tmp = lleval_xasprintf("%s.tmp.%ld", out_csv, lleval_getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        rc = lleval_err_errno(err, "cannot create", tmp);
        lleval_lines_close(&lr);
        goto out;
    }
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(header); i++)
        lleval_csv_add_field(&out, header[i], i == 0);
    lleval_csv_end_record(&out);

    while ((more = lleval_lines_next(&lr, err)) > 0) {
        json_t *obj;
        const char *cid;
        struct lleval_cid c;
        bool decoded, found;
        long status;
        uint64_t h;

        rep->lines++;
        if (!lr.len)
            continue;
        obj = json_loadb(lr.line, lr.len, 0, NULL);
        cid = json_is_object(obj) ? lleval_json_str(obj, "custom_id") : NULL;
        if (!cid) {
            rep->malformed++;
            if (rep->n_malformed_lines < LLEVAL_PARSE_LIST_MAX)
                rep->malformed_lines[rep->n_malformed_lines++] = lr.lineno;
            json_decref(obj);
            continue;
        }
        h = lleval_idset_hash(cid);
        lleval_idset_put(&seen, h, 0, &found);
        if (found) {
            rep->duplicates++;
            note(rep->duplicate_ids, &rep->n_duplicate_ids, cid);
            json_decref(obj);
            continue;
        }
        decoded = lleval_cid_decode(cid, &c, NULL) == 0;
        if (!decoded || (rep->reconciled && lleval_idset_find(&requests, h) < 0)) {
            rep->unknown++;
            note(rep->unknown_ids, &rep->n_unknown_ids, cid);
            if (decoded)
                lleval_cid_release(&c);
            json_decref(obj);
            continue;
        }
        if (rep->reconciled)
            rep->parts[requests.vals[lleval_idset_find(&requests, h)] - 1].results++;
        status = (long)json_integer_value(lleval_json_path(obj, "response.status_code"));
        if (status != 200) {
            rep->non200++;
            note(rep->non200_ids, &rep->n_non200_ids, cid);
        }
        write_row(&out, obj, cid, &c,
                  prepared_dir ? item_type(types, prepared_dir, &c) : NULL, status);
        rep->rows++;
        lleval_cid_release(&c);
        json_decref(obj);
        if (out.len > (1u << 20)) {
            if (fwrite(out.buf, 1, out.len, f) != out.len) {
                rc = lleval_err_errno(err, "cannot write", tmp);
                break;
            }
            lleval_sb_reset(&out);
        }
    }
    lleval_lines_close(&lr);
    if (more < 0)
        rc = more;
    if (!rc && out.len && fwrite(out.buf, 1, out.len, f) != out.len)
        rc = lleval_err_errno(err, "cannot write", tmp);
    if (!rc)
        rc = lleval_fsync_file(f, tmp, err);
    if (fclose(f) && !rc)
        rc = lleval_err_errno(err, "cannot close", tmp);
    f = NULL;
    if (!rc && rename(tmp, out_csv))
        rc = lleval_err_errno(err, "cannot rename to", out_csv);
    if (rc)
        remove(tmp);

    if (!rc && rep->reconciled) {
        /* requests never answered: walk the batch files again for their ids */
        struct lleval_build_result br;
        if (!lleval_build_load(batches_dir, &br, NULL)) {
            for (size_t p = 0; p < br.n_parts; p++) {
                struct lleval_lines bl;
                if (lleval_lines_open(&bl, br.parts[p].batch_path, NULL))
                    continue;
                while (lleval_lines_next(&bl, NULL) > 0) {
                    json_t *obj = json_loadb(bl.line, bl.len, 0, NULL);
                    const char *cid = lleval_json_str(obj, "custom_id");
                    if (cid && lleval_idset_find(&seen, lleval_idset_hash(cid)) < 0) {
                        rep->missing++;
                        note(rep->missing_ids, &rep->n_missing_ids, cid);
                    }
                    json_decref(obj);
                }
                lleval_lines_close(&bl);
            }
            lleval_build_result_release(&br);
        }
    }
out:
    if (f)
        fclose(f);
    free(tmp);
    json_decref(types);
    lleval_sb_release(&out);
    lleval_idset_release(&requests);
    lleval_idset_release(&seen);
    return rc;
}
