/* parse: results JSONL -> predictions.csv with reconciliation (see parse.h). */
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/item_reader.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/idset.h"
#include "lleval/result/result.h"
#include "lleval/result/scan.h"
#include "lleval/run/parse.h"
#include "lleval/score/predictions.h"
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

/* ---- reconciliation ------------------------------------------------------- */

/* One set of custom_id hashes for both sides of the reconciliation: a
 * request's value is its part + 1 (0: not a request), with RECON_SEEN set
 * once a result answered it (a result for no request is added as RECON_SEEN
 * alone, so that its repetition counts as a duplicate). 12-16 bytes per id. */
#define RECON_SEEN 0x80000000u

struct lleval_reconcile {
    struct lleval_idset ids; /* custom_id hash -> part + 1 | RECON_SEEN */
    struct lleval_parse_report *rep;
    char *batches_dir;        /* NULL: not reconciled */
    struct lleval_sb cid_buf; /* the strings of the last decoded custom_id */
};

/* Batch lines read without parsing them (issue 13): a line in the build's
 * own shape ({"custom_id":"..." first, a whole object) gives its custom_id to
 * take_cid(), which files it and passes the line over unparsed; any other
 * line (no quick id, cut short, a duplicate in a strict read) is parsed and
 * handled by the caller's loop as before. */
struct quick_ids {
    struct lleval_request_reader *rr;
    struct lleval_idset *set; /* the reconciliation's ids (RECON_SEEN) */
    struct lleval_parse_report *rep;
    size_t part;
    bool lenient;
};

/* True when the line under the reader ends an object, as every whole line the
 * build writes does (a line cut short by a crash does not). */
static bool whole_line(const struct lleval_request_reader *rr)
{
    size_t n = rr->lines.len;
    while (n && (rr->lines.line[n - 1] == ' ' || rr->lines.line[n - 1] == '\r'))
        n--;
    return n && rr->lines.line[n - 1] == '}';
}

static bool take_cid(void *ud, const char *custom_id)
{
    struct quick_ids *q = ud;
    uint64_t h = lleval_idset_hash(custom_id);
    bool found;

    if (!whole_line(q->rr) || (!q->lenient && lleval_idset_find(q->set, h) >= 0))
        return false;
    lleval_idset_put(q->set, h, (uint32_t)q->part + 1, &found);
    q->rep->parts[q->part].requests++;
    q->rep->requests++;
    return true;
}

/* Loads every request custom_id of the build into set (value = part + 1). */
static int load_requests(const char *batches_dir, unsigned flags, struct lleval_idset *set,
                         struct lleval_parse_report *rep, struct lleval_err *err)
{
    bool lenient = flags & LLEVAL_RECON_LENIENT;
    struct lleval_build_result br;
    int rc = lleval_build_load(batches_dir, &br, err);
    if (rc)
        return rc;
    rep->parts = lleval_xcalloc(br.n_parts ? br.n_parts : 1, sizeof(*rep->parts));
    rep->n_parts = br.n_parts;
    {
        size_t total = 0; /* the table at its final size at once (no doubling on the way) */
        for (size_t p = 0; p < br.n_parts; p++)
            total += br.parts[p].requests > 0 ? (size_t)br.parts[p].requests : 0;
        lleval_idset_reserve(set, total);
    }
    for (size_t p = 0; p < br.n_parts && !rc; p++) {
        struct lleval_request_reader rr;
        const struct lleval_request_view *v;
        struct quick_ids q = {&rr, set, rep, p, lenient};
        char tdir[40];
        int more;
        rep->parts[p].name = lleval_xasprintf("%s/%s/part-%03ld", br.parts[p].folder,
                                              lleval_temp_dir(tdir, sizeof(tdir), br.parts[p].temp),
                                              br.parts[p].index);
        rc = lleval_request_open(&rr, br.parts[p].batch_path, lenient ? NULL : err);
        if (rc && lenient) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        while ((more = lleval_request_next_skip(&rr, take_cid, &q, &v, lenient ? NULL : err)) > 0) {
            bool found;
            if (!v->custom_id) {
                if (lenient)
                    continue;
                rc = lleval_err_set(err, LLEVAL_EIO, "%s:%ld: request line without a custom_id; %s",
                                    br.parts[p].batch_path, v->lineno, LLEVAL_RUN_FIX_BATCH);
                break;
            }
            lleval_idset_put(set, lleval_idset_hash(v->custom_id), (uint32_t)p + 1, &found);
            if (found && !lenient) {
                rc = lleval_err_set(err, LLEVAL_EIO, "%s:%ld: custom_id '%s' appears twice; %s",
                                    br.parts[p].batch_path, v->lineno, v->custom_id,
                                    LLEVAL_RUN_FIX_BATCH);
                break;
            }
            rep->parts[p].requests++;
            rep->requests++;
        }
        if (more < 0 && !lenient)
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
        if (!rc && !lenient && br.parts[p].requests &&
            rep->parts[p].requests != br.parts[p].requests) /* cut short or edited */
            rc = lleval_err_set(err, LLEVAL_EIO, "%s: %ld requests, build.json says %ld; %s",
                                br.parts[p].batch_path, rep->parts[p].requests,
                                br.parts[p].requests, LLEVAL_RUN_FIX_BATCH);
        lleval_request_close(&rr);
    }
    lleval_build_result_release(&br);
    return rc;
}

int lleval_reconcile_new(struct lleval_reconcile **out, const char *batches_dir, unsigned flags,
                         struct lleval_parse_report *rep, struct lleval_err *err)
{
    struct lleval_reconcile *rc = lleval_xcalloc(1, sizeof(*rc));
    int ret;

    rc->cid_buf = (struct lleval_sb)LLEVAL_SB_INIT;
    rc->rep = rep;
    *out = NULL;
    if (batches_dir) {
        ret = load_requests(batches_dir, flags, &rc->ids, rep, err);
        if (ret) {
            lleval_reconcile_free(rc);
            return ret;
        }
        rc->batches_dir = lleval_xstrdup(batches_dir);
        rep->reconciled = true;
    }
    *out = rc;
    return 0;
}

enum lleval_recon_verdict lleval_reconcile_add(struct lleval_reconcile *rc, const char *custom_id,
                                               struct lleval_cid *cid)
{
    struct lleval_parse_report *rep = rc->rep;
    struct lleval_cid c;
    uint64_t h = lleval_idset_hash(custom_id);
    bool decoded, found;
    size_t slot = lleval_idset_put(&rc->ids, h, RECON_SEEN, &found);
    uint32_t part = 0; /* the request's part + 1, 0: none */

    if (found) {
        if (rc->ids.vals[slot] & RECON_SEEN) {
            rep->duplicates++;
            note(rep->duplicate_ids, &rep->n_duplicate_ids, custom_id);
            return LLEVAL_RECON_DUPLICATE;
        }
        part = rc->ids.vals[slot];
        rc->ids.vals[slot] |= RECON_SEEN;
    }
    decoded = lleval_cid_decode_in(custom_id, &c, &rc->cid_buf, NULL) == 0;
    if (!decoded || (rep->reconciled && !part)) {
        rep->unknown++;
        note(rep->unknown_ids, &rep->n_unknown_ids, custom_id);
        return LLEVAL_RECON_UNKNOWN;
    }
    if (rep->reconciled)
        rep->parts[part - 1].results++;
    if (cid)
        *cid = c;
    return LLEVAL_RECON_NEW;
}

/* Notes custom_id as missing when no result answered it; true: the line is
 * done with (so the reader passes it over unparsed). */
static bool note_missing(void *ud, const char *custom_id)
{
    struct quick_ids *q = ud;
    if (q->rr && !whole_line(q->rr))
        return false;
    long at = lleval_idset_find(q->set, lleval_idset_hash(custom_id));
    if (at < 0 || !(q->set->vals[at] & RECON_SEEN)) {
        q->rep->missing++;
        note(q->rep->missing_ids, &q->rep->n_missing_ids, custom_id);
    }
    return true;
}

void lleval_reconcile_finish(struct lleval_reconcile *rc)
{
    struct lleval_parse_report *rep = rc->rep;
    struct lleval_build_result br;

    if (!rc->batches_dir || lleval_build_load(rc->batches_dir, &br, NULL))
        return;
    /* requests never answered: walk the batch files again for their ids */
    for (size_t p = 0; p < br.n_parts; p++) {
        struct lleval_request_reader rr;
        const struct lleval_request_view *v;
        struct quick_ids q = {&rr, &rc->ids, rep, p, true};
        if (lleval_request_open(&rr, br.parts[p].batch_path, NULL))
            continue;
        while (lleval_request_next_skip(&rr, note_missing, &q, &v, NULL) > 0) {
            if (v->custom_id) {
                q.rr = NULL;
                note_missing(&q, v->custom_id);
                q.rr = &rr;
            }
        }
        lleval_request_close(&rr);
    }
    lleval_build_result_release(&br);
}

void lleval_reconcile_free(struct lleval_reconcile *rc)
{
    if (!rc)
        return;
    lleval_idset_release(&rc->ids);
    lleval_sb_release(&rc->cid_buf);
    free(rc->batches_dir);
    free(rc);
}

/* ---- predictions ----------------------------------------------------------- */

/* Each dataset's item types, read on first use with the tree-less item
 * reader: an item id's hash maps to its type (the last item with that id, as
 * the item index takes it), about 24 bytes an item, where the whole item
 * index (ids, gold answers, choices) was held for the types alone. A dataset
 * that cannot be read gives no types. */
struct type_sets {
    struct type_set {
        char *dataset;
        struct lleval_idset types; /* id hash -> enum lleval_item_type + 1 */
    } * v;
    size_t n, cap;
};

static void read_types(struct type_set *t, const char *prepared_dir)
{
    struct lleval_item_reader rd;
    const struct lleval_item_view *v;
    int rc = lleval_item_reader_open(&rd, prepared_dir, t->dataset, NULL);

    if (rc)
        return;
    while ((rc = lleval_item_reader_next(&rd, &v, NULL)) == 1) {
        bool found;
        size_t slot = lleval_idset_put(&t->types, lleval_idset_hash(v->id), 0, &found);
        t->types.vals[slot] = (uint32_t)v->type + 1;
    }
    lleval_item_reader_close(&rd);
    if (rc < 0) /* a damaged file: no types, as before */
        lleval_idset_release(&t->types);
}

static const char *item_type(struct type_sets *ts, const char *prepared_dir,
                             const struct lleval_cid *c)
{
    struct type_set *t = NULL;
    long slot;
    for (size_t i = 0; i < ts->n && !t; i++)
        if (!strcmp(ts->v[i].dataset, c->dataset))
            t = &ts->v[i];
    if (!t) {
        LLEVAL_GROW(ts->v, ts->n, ts->cap);
        t = &ts->v[ts->n++];
        t->dataset = lleval_xstrdup(c->dataset);
        t->types = (struct lleval_idset)LLEVAL_IDSET_INIT;
        read_types(t, prepared_dir);
    }
    slot = lleval_idset_find(&t->types, lleval_idset_hash(c->item_id));
    return slot < 0 ? NULL
                    : lleval_item_type_name((enum lleval_item_type)(t->types.vals[slot] - 1));
}

static void type_sets_release(struct type_sets *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->v[i].dataset);
        lleval_idset_release(&ts->v[i].types);
    }
    free(ts->v);
}

/* One predictions row from a result line: a failed or empty answer is an
 * error row with the engine's message (or the HTTP status) as its error. */
static void write_row(struct lleval_sb *sb, const struct lleval_result_view *v,
                      const struct lleval_cid *c, const char *type)
{
    struct lleval_pred_record rec = {
        .custom_id = v->custom_id,
        .dataset = c->dataset,
        .item_id = c->item_id,
        .type = type,
        .prompt_type = c->prompt_type,
        .temperature = c->temp,
        .sample = c->sample,
        .ok = v->ok,
        .finish_reason = v->body_finish ? v->body_finish : v->finish_reason,
        .prediction = v->ok ? v->content : "",
        .latency_ms = v->latency_ms,
        .prompt_tokens = v->prompt_tokens,
        .completion_tokens = v->completion_tokens,
        .gen_tps = v->gen_tps,
        .attempts = v->attempts,
        .error = "",
    };
    char buf[64];

    if (!v->ok) {
        rec.finish_reason = "error";
        rec.error = v->error_message;
        if (!rec.error && v->http_status != 200) {
            snprintf(buf, sizeof(buf), "HTTP %ld", v->http_status);
            rec.error = buf;
        }
        if (!rec.error)
            rec.error = "no content in the reply";
    }
    lleval_pred_write_row(sb, &rec);
}

int lleval_parse_results(const char *results_jsonl, const char *batches_dir,
                         const char *prepared_dir, const char *out_csv,
                         struct lleval_parse_report *rep, struct lleval_err *err)
{
    return lleval_parse_results_watched(results_jsonl, batches_dir, prepared_dir, out_csv, NULL,
                                        rep, err);
}

int lleval_parse_results_watched(const char *results_jsonl, const char *batches_dir,
                                 const char *prepared_dir, const char *out_csv,
                                 const struct lleval_parse_watch *watch,
                                 struct lleval_parse_report *rep, struct lleval_err *err)
{
    struct lleval_reconcile *recon = NULL;
    struct lleval_lines lr;
    struct lleval_sb out = LLEVAL_SB_INIT;
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    char *tmp = NULL;
    FILE *f = NULL;
    struct type_sets types = {NULL, 0, 0};
    uint64_t start = 0; /* where the line read starts in the file */
    int rc, more;

    memset(rep, 0, sizeof(*rep));
    rc = lleval_reconcile_new(&recon, batches_dir, 0, rep, err);
    if (rc)
        goto out;
    rc = lleval_lines_open(&lr, results_jsonl, err);
    if (rc)
        goto out;
    tmp = lleval_xasprintf("%s.tmp.%ld", out_csv, lleval_getpid());
    rc = lleval_fopen_new(tmp, &f, err); /* never through a planted link */
    if (rc) {
        lleval_lines_close(&lr);
        goto out;
    }
    lleval_pred_write_header(&out);

    while ((more = lleval_lines_next(&lr, err)) > 0) {
        struct lleval_result_view v;
        struct lleval_cid c;
        enum lleval_recon_verdict verdict;
        uint64_t at = start;

        start = lr.end;
        rep->lines++;
        if (!lr.len) {
            if (watch)
                watch->line(watch->ud, at, lr.end, NULL, false);
            continue;
        }
        lleval_result_read(lr.line, lr.len, &hold, &v, NULL);
        if (!v.custom_id) {
            rep->malformed++;
            if (rep->n_malformed_lines < LLEVAL_PARSE_LIST_MAX)
                rep->malformed_lines[rep->n_malformed_lines++] = lr.lineno;
            if (watch)
                watch->line(watch->ud, at, lr.end, &v, false);
            continue;
        }
        verdict = lleval_reconcile_add(recon, v.custom_id, &c);
        if (watch)
            watch->line(watch->ud, at, lr.end, &v, verdict == LLEVAL_RECON_DUPLICATE);
        if (verdict != LLEVAL_RECON_NEW)
            continue;
        if (v.http_status != 200) {
            rep->non200++;
            note(rep->non200_ids, &rep->n_non200_ids, v.custom_id);
        }
        write_row(&out, &v, &c, prepared_dir ? item_type(&types, prepared_dir, &c) : NULL);
        rep->rows++;
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
    if (!rc && lleval_rename(tmp, out_csv)) {
        rc = lleval_err_errno(err, "cannot rename to", out_csv);
        if (lleval_is_dir(out_csv))
            lleval_run_err_damaged(err, LLEVAL_RUN_FIX_OUTPUT);
    }
    if (rc)
        remove(tmp);
    if (!rc)
        lleval_reconcile_finish(recon);
out:
    if (f)
        fclose(f);
    free(tmp);
    type_sets_release(&types);
    lleval_result_hold_release(&hold);
    lleval_sb_release(&out);
    lleval_reconcile_free(recon);
    return rc;
}
