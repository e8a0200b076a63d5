/*
 * The dry engine (the guide's --dry_run): answers without a model,
 * deterministically from a hash of the custom_id, using the prepared gold
 * answers so that parse and score have real work: about half the answers are
 * right (some wrapped in chatter), some wrong, some empty, and about one in
 * seven is cut off with finish_reason "length".
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"
#include "engine_int.h"

struct dry_state {
    struct dry_set {
        char *dataset;
        struct lleval_item_index *ix;
    } * sets; /* each dataset's item index, loaded on first use */
    size_t n, cap;
};

static int dry_probe(struct lleval_engine *e, struct lleval_probe_info *info,
                     struct lleval_err *err)
{
    const char *delay = getenv("LLEVAL_DRY_DELAY_MS");
    long ms = 0;
    (void)err;
    if (delay && !lleval_parse_long(delay, 0, 60000, &ms))
        e->local_delay_ms = ms;
    info->slots = 0;
    info->model = lleval_xstrdup("dry");
    info->detail = lleval_xstrdup("dry engine: deterministic answers, no model");
    return 0;
}

/* Fills *it with the prepared item of a custom_id (borrowed until the next
 * call), loading its dataset's index once; false when there is none. */
static bool find_item(struct lleval_engine *e, const struct lleval_cid *cid,
                      struct lleval_item_entry *it, struct lleval_err *err)
{
    struct dry_state *st = e->priv;
    struct lleval_item_index *ix;
    if (!st)
        st = e->priv = lleval_xcalloc(1, sizeof(*st));
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->sets[i].dataset, cid->dataset))
            return lleval_item_index_get(st->sets[i].ix, cid->item_id, it);
    if (lleval_item_index_load(e->cfg->prepared_dir, cid->dataset, LLEVAL_INDEX_OFFSETS, &ix, err))
        return false;
    LLEVAL_GROW(st->sets, st->n, st->cap);
    st->sets[st->n].dataset = lleval_xstrdup(cid->dataset);
    st->sets[st->n++].ix = ix;
    return lleval_item_index_get(ix, cid->item_id, it);
}

/* LLEVAL_DRY_LOG=FILE appends every custom_id the engine is asked, one per
 * line: the crash tests use it to prove answered requests are never asked again. */
static void log_request(const char *custom_id)
{
    const char *path = getenv("LLEVAL_DRY_LOG");
    struct lleval_afile *f;
    char *line;
    if (!path || !*path || lleval_afile_open(path, "dry log", &f, NULL))
        return;
    line = lleval_xasprintf("%s\n", custom_id);
    lleval_afile_append(f, line, strlen(line), NULL); /* best effort: the test notices a gap */
    free(line);
    lleval_afile_close(f, NULL);
}

static long count_words(const char *s)
{
    long n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n' || *s == '\t';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

/* What the dry engine reads of a request body: its model (a string, else
 * NULL), max_tokens (512 when absent) and the bytes of its messages' contents. */
struct dry_body {
    const char *model;
    long max_tokens;
    long prompt_chars;
};

/* Answers from the body's facts. */
static int answer(struct lleval_engine *e, const char *custom_id, const struct dry_body *b,
                  struct lleval_answer *out, struct lleval_err *err)
{
    struct lleval_cid cid;
    struct lleval_item_entry item;
    const char *gold = NULL, *type;
    /* the model id salts the hash: two "dry models" answer differently */
    const char *model = b->model && strcmp(b->model, "dry") ? b->model : "";
    struct lleval_sb salted = LLEVAL_SB_INIT;
    uint64_t h;
    unsigned roll;
    bool cut;
    int rc;

    lleval_sb_adds(&salted, custom_id);
    lleval_sb_addch(&salted, '|');
    lleval_sb_adds(&salted, model);
    h = lleval_hash64(salted.buf);
    lleval_sb_release(&salted);
    roll = (unsigned)(h % 100);
    /* about one in seven is cut off, spread evenly over the ids */
    cut = (h >> 40) % 7 == 0;
    log_request(custom_id);
    rc = lleval_cid_decode(custom_id, &cid, err);
    if (rc)
        return rc;
    if (!find_item(e, &cid, &item, err)) {
        rc = lleval_err_set(err, LLEVAL_EINVAL, "dry engine: no prepared item '%s' in dataset '%s'",
                            cid.item_id, cid.dataset);
        lleval_cid_release(&cid);
        return rc;
    }
    type = item.type;
    if (item.n_answers)
        gold = item.answers[(h >> 8) % item.n_answers];
    if (!gold)
        gold = "";
    out->finish = LLEVAL_FINISH_STOP;
    if (type && !strcmp(type, "multiple_choice")) {
        size_t nchoices = item.n_choices;
        char wrong = (char)('A' + ((gold[0] - 'A' + 1 + (long)((h >> 16) % 3)) %
                                   (long)(nchoices ? nchoices : 4)));
        if (cut) {
            out->content = lleval_xstrdup("Let us consider each option in");
            out->finish = LLEVAL_FINISH_LENGTH;
        } else if (roll < 40)
            out->content = lleval_xasprintf("%s", gold);
        else if (roll < 55)
            out->content = lleval_xasprintf("Answer: (%s)", gold);
        else if (roll < 80)
            out->content = lleval_xasprintf("%c", wrong);
        else
            out->content = lleval_xstrdup("I cannot tell from the options given.");
    } else {
        if (cut) {
            out->content = lleval_xstrdup("To answer this we first need to recall the");
            out->finish = LLEVAL_FINISH_LENGTH;
        } else if (roll < 40)
            out->content = lleval_xstrdup(gold);
        else if (roll < 55)
            out->content = lleval_xasprintf("The answer is %s.", gold);
        else if (roll < 75)
            out->content = lleval_xstrdup("I do not know.");
        else
            out->content = lleval_xstrdup("");
    }
    out->prompt_tokens = b->prompt_chars / 4 + 1;
    out->completion_tokens = count_words(out->content) + 1;
    if (out->finish == LLEVAL_FINISH_LENGTH)
        out->completion_tokens = b->max_tokens;
    out->prompt_tps = 500.0;
    out->gen_tps = 20.0;
    out->model = lleval_xstrdup("dry");
    lleval_cid_release(&cid);
    return 0;
}

static int dry_answer(struct lleval_engine *e, const char *custom_id, const json_t *body,
                      struct lleval_answer *out, struct lleval_err *err)
{
    struct dry_body b;
    json_t *m;
    size_t i;

    b.model = lleval_json_str(body, "model");
    b.max_tokens = (long)lleval_json_int(body, "max_tokens", 512);
    b.prompt_chars = 0;
    json_array_foreach(json_object_get(body, "messages"), i, m)
    {
        const char *c = lleval_json_str(m, "content");
        if (c)
            b.prompt_chars += (long)strlen(c);
    }
    return answer(e, custom_id, &b, out, err);
}

/* The body scanner's state (the member callbacks get &bs.js). */
struct body_scan {
    struct lleval_jscan js;
    struct dry_body *b;
    size_t model_at; /* the model's offset in js.out + 1; 0: none */
};

static bool message_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct body_scan *bs = (struct body_scan *)j;
    size_t at = j->out->len;
    if (!LLEVAL_JSCAN_KEY_IS(key, "content"))
        return lleval_jscan_skip(j, depth);
    if (!lleval_jscan_first(seen, 0))
        return false; /* twice: jansson keeps the last, let it */
    if (!lleval_jscan_peek(j, '"'))
        return lleval_jscan_skip(j, depth);
    if (!lleval_jscan_str(j, j->out))
        return false;
    bs->b->prompt_chars += (long)(j->out->len - at - 1);
    lleval_sb_setlen(j->out, at);
    return true;
}

static bool body_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct body_scan *bs = (struct body_scan *)j;
    if ((LLEVAL_JSCAN_KEY_IS(key, "model") && !lleval_jscan_first(seen, 0)) ||
        (LLEVAL_JSCAN_KEY_IS(key, "max_tokens") && !lleval_jscan_first(seen, 1)) ||
        (LLEVAL_JSCAN_KEY_IS(key, "messages") && !lleval_jscan_first(seen, 2)))
        return false; /* twice: jansson keeps the last, let it */
    if (LLEVAL_JSCAN_KEY_IS(key, "model") && lleval_jscan_peek(j, '"')) {
        size_t at = j->out->len;
        if (!lleval_jscan_str(j, j->out))
            return false;
        bs->model_at = at + 1;
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "max_tokens") && !lleval_jscan_peek(j, '{') &&
        !lleval_jscan_peek(j, '[') && !lleval_jscan_peek(j, '"') && !lleval_jscan_peek(j, 't') &&
        !lleval_jscan_peek(j, 'f') && !lleval_jscan_peek(j, 'n')) {
        bool is_int;
        long long iv;
        double dv;
        if (!lleval_jscan_num(j, &is_int, &iv, &dv))
            return false;
        if (is_int)
            bs->b->max_tokens = (long)iv;
        else if (dv >= -9223372036854775808.0 && dv < 9223372036854775808.0)
            bs->b->max_tokens = (long)(long long)dv;
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "messages") && lleval_jscan_peek(j, '[')) {
        lleval_jscan_eat(j, '[');
        if (lleval_jscan_eat(j, ']'))
            return true;
        do {
            bool ok = lleval_jscan_peek(j, '{') ? lleval_jscan_object(j, depth + 1, message_member)
                                                : lleval_jscan_skip(j, depth + 1);
            if (!ok)
                return false;
        } while (lleval_jscan_eat(j, ','));
        return lleval_jscan_eat(j, ']');
    }
    return lleval_jscan_skip(j, depth);
}

/* The body read by the scanner (a key it reads met twice goes to jansson,
 * which keeps the last value, as anything the scanner cannot vouch for). */
static int dry_answer_text(struct lleval_engine *e, const char *custom_id, const char *body,
                           size_t len, struct lleval_answer *out, struct lleval_err *err)
{
    struct dry_body b = {NULL, 512, 0};
    struct lleval_sb scratch = LLEVAL_SB_INIT;
    struct body_scan bs;
    int rc;

    memset(&bs, 0, sizeof(bs));
    bs.js.p = (const unsigned char *)body;
    bs.js.end = bs.js.p + len;
    bs.js.out = &scratch;
    bs.b = &b;
    if (lleval_jscan_object(&bs.js, 0, body_member) && lleval_jscan_end(&bs.js)) {
        b.model = bs.model_at ? scratch.buf + bs.model_at - 1 : NULL;
        rc = answer(e, custom_id, &b, out, err);
    } else {
        json_t *j = lleval_engine_body_json(body, len, err);
        rc = j ? dry_answer(e, custom_id, j, out, err) : LLEVAL_EINVAL;
        json_decref(j);
    }
    lleval_sb_release(&scratch);
    return rc;
}

static void dry_release(struct lleval_engine *e)
{
    struct dry_state *st = e->priv;
    if (st) {
        for (size_t i = 0; i < st->n; i++) {
            free(st->sets[i].dataset);
            lleval_item_index_free(st->sets[i].ix);
        }
        free(st->sets);
        free(st);
    }
    e->priv = NULL;
}

const struct lleval_engine_ops lleval_engine_dry_ops = {
    .name = "dry",
    .probe = dry_probe,
    .make_request = NULL,
    .parse_reply = NULL,
    .answer_local = dry_answer,
    .answer_local_text = dry_answer_text,
    .release = dry_release,
};
