/*
 * The item explorer's data from results/items.jsonl (see report_int.h,
 * struct xdata): the rows of the scored items, written as they stream by
 * with the JSON writer (util/jwrite.h), without a JSON tree and without the
 * gold set (issue 13). The text is the one explorer.c built with jansson
 * from predictions.csv scored again: {"t": [...], "rows": [[...], ...]},
 * each row the fields of the script's COLS, repeated values (dataset names,
 * prompts, questions, gold lists) stored once in "t" in the order rows
 * first use them.
 *
 * Above LLEVAL_REPORT_EXPLORER_MAX items the rows are a sample: the items
 * whose hash of the custom_id falls under a cut that keeps about that many,
 * so the choice needs no memory, is the same in every run of the same items
 * (a comparison joins them) and a run with more items keeps a subset of
 * what a run with fewer keeps. The page says how many of how many it shows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/platform/fs.h"
#include "lleval/run/batch.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"
#include "lleval/util/text.h"
#include "report_int.h"

/* Bytes of one text (answer, prompt, question) kept in the page (as explorer.c). */
#define X_TEXT_MAX 65536

uint64_t lleval_report_sample_hash(const char *custom_id)
{
    /* a finalizer over the FNV hash, so that the low and high bits both vary */
    uint64_t h = lleval_hash64(custom_id);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

uint64_t lleval_report_sample_cut(size_t total, size_t max)
{
    if (total <= max)
        return UINT64_MAX;
    return (UINT64_MAX / total) * max;
}

void lleval_report_xdata_release(struct xdata *xd)
{
    lleval_sb_release(&xd->t);
    lleval_sb_release(&xd->rows);
    lleval_idset_release(&xd->seen);
    lleval_sb_release(&xd->tmp);
    lleval_sb_release(&xd->val);
    free(xd->toff);
    json_decref(xd->qitem);
    json_decref(xd->picked);
    json_decref(xd->want);
    for (int i = 0; i < X_LAST_COLS; i++)
        free(xd->last[i]);
    for (size_t i = 0; i < xd->n_pc; i++) {
        free(xd->pc[i].name);
        free(xd->pc[i].prefix);
        free(xd->pc[i].suffix);
    }
    free(xd->pc);
    memset(xd, 0, sizeof(*xd));
}

/* s[0..len) as explorer.c's jtext() writes it: control characters but line
 * breaks and tabs, DEL and bad UTF-8 bytes as U+FFFD, at most X_TEXT_MAX
 * bytes with a note of how many were left out; as a JSON string. */
static void jtext(struct xdata *xd, struct lleval_sb *out, const char *s)
{
    size_t len, cut, i = 0;
    bool plain = true;
    if (!s) {
        lleval_jw_null(out);
        return;
    }
    len = strlen(s);
    for (size_t k = 0; k < len && plain; k++) {
        unsigned char c = (unsigned char)s[k];
        plain = c >= 0x20 ? c < 0x7F : c == '\n' || c == '\t';
    }
    if (plain && len <= X_TEXT_MAX) {
        lleval_jw_strn(out, s, len);
        return;
    }
    lleval_sb_reset(&xd->tmp);
    cut = lleval_utf8_cut(s, len, X_TEXT_MAX);
    while (i < cut) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
            lleval_sb_adds(&xd->tmp, LLEVAL_UTF8_REPLACEMENT);
            i++;
        } else {
            i += lleval_utf8_copy(&xd->tmp, s + i, cut - i);
        }
    }
    if (cut < len)
        lleval_sb_addf(&xd->tmp, "\n[... %zu more bytes not shown]", len - cut);
    lleval_jw_strn(out, xd->tmp.buf ? xd->tmp.buf : "", xd->tmp.len);
}

/* The index in "t" of the JSON text xd->val (interned), or -1 when it is null. */
static long long intern(struct xdata *xd)
{
    const char *v = xd->val.buf ? xd->val.buf : "";
    size_t len = xd->val.len, pos = 0;
    uint32_t k;
    uint64_t h;
    if (!len || (len == 4 && !memcmp(v, "null", 4)))
        return -1;
    h = lleval_hash64(v); /* JSON text holds no NUL */
    while (lleval_idset_next(&xd->seen, h, &pos, &k))
        if (xd->toff[2 * k + 1] == len && !memcmp(xd->t.buf + xd->toff[2 * k], v, len))
            return k;
    if (xd->n_t)
        lleval_sb_addch(&xd->t, ',');
    if (xd->cap_t < xd->n_t + 1) {
        xd->cap_t = xd->cap_t ? 2 * xd->cap_t : 64;
        xd->toff = lleval_xrealloc(xd->toff, 2 * xd->cap_t * sizeof(*xd->toff));
    }
    xd->toff[2 * xd->n_t] = xd->t.len;
    xd->toff[2 * xd->n_t + 1] = len;
    lleval_sb_add(&xd->t, v, len);
    lleval_idset_add(&xd->seen, h, (uint32_t)xd->n_t);
    return (long long)xd->n_t++;
}

/* Writes ",<index of the text of s>" to the row. */
static void cell_text(struct xdata *xd, const char *s)
{
    lleval_sb_reset(&xd->val);
    jtext(xd, &xd->val, s);
    lleval_sb_addch(&xd->rows, ',');
    lleval_jw_int(&xd->rows, intern(xd));
}

/* cell_text() of a column with few values (dataset, prompt, ...): the last
 * value's index is reused while the value stays the same. */
static void cell_same(struct xdata *xd, int col, const char *s)
{
    if (!xd->last[col] || strcmp(xd->last[col], s)) {
        free(xd->last[col]);
        xd->last[col] = lleval_xstrdup(s);
        lleval_sb_reset(&xd->val);
        jtext(xd, &xd->val, s);
        xd->last_idx[col] = intern(xd);
    }
    lleval_sb_addch(&xd->rows, ',');
    lleval_jw_int(&xd->rows, xd->last_idx[col]);
}

/* A real as the page always wrote it (jansson's default 17 digits), null for
 * NaN; prec 15 for items.jsonl's F1, which has no more digits than that. */
static void cell_real(struct xdata *xd, double v, int prec)
{
    lleval_sb_addch(&xd->rows, ',');
    if (isnan(v))
        lleval_jw_null(&xd->rows);
    else if (v == floor(v) && fabs(v) < 1e15 && (v != 0 || !signbit(v))) {
        lleval_jw_int(&xd->rows, (long long)v);
        lleval_sb_add(&xd->rows, ".0", 2);
    } else {
        uint64_t bits;
        struct xreal *c;
        size_t at = xd->rows.len;
        memcpy(&bits, &v, sizeof(bits));
        c = &xd->reals[(bits * 0x9E3779B97F4A7C15ULL) >> 60];
        if (c->prec == prec && c->bits == bits) {
            lleval_sb_add(&xd->rows, c->text, c->len);
            return;
        }
        lleval_jw_real_prec(&xd->rows, v, prec);
        if (xd->rows.len - at <= sizeof(c->text)) {
            c->bits = bits;
            c->prec = prec;
            c->len = (unsigned char)(xd->rows.len - at);
            memcpy(c->text, xd->rows.buf + at, c->len);
        }
    }
}

/* Whether a template uses more of an item than its question. */
static bool uses(const char *tmpl, const char *what)
{
    return tmpl && strstr(tmpl, what);
}

/* What a prompt type asks of the items of one type (cached per pair). */
static struct xprompt *prompt_of(struct xdata *xd, const struct lleval_prompt_type *pt,
                                 enum lleval_item_type type)
{
    const char *sys = pt->system[type] ? pt->system[type] : "",
               *user = pt->user[type] ? pt->user[type] : "{question}", *q;
    struct xprompt *c;
    for (size_t i = 0; i < xd->n_pc; i++)
        if (xd->pc[i].type == (int)type && !strcmp(xd->pc[i].name, pt->name ? pt->name : ""))
            return &xd->pc[i];
    LLEVAL_GROW(xd->pc, xd->n_pc, xd->cap_pc);
    c = &xd->pc[xd->n_pc++];
    memset(c, 0, sizeof(*c));
    c->name = lleval_xstrdup(pt->name ? pt->name : "");
    c->type = (int)type;
    c->context = uses(sys, "{context}") || uses(user, "{context}");
    c->choices = uses(sys, "{choices}") || uses(user, "{choices}") ||
                 uses(sys, "{choice_letters}") || uses(user, "{choice_letters}");
    /* simple: a system text without placeholders and a user text of one {question} */
    q = strstr(user, "{question}");
    c->simple = !strchr(sys, '{') && q && !memchr(user, '{', (size_t)(q - user)) &&
                !strchr(q + strlen("{question}"), '{');
    if (c->simple) {
        c->prefix = lleval_xstrndup(user, (size_t)(q - user));
        c->suffix = lleval_xstrdup(q + strlen("{question}"));
    }
    c->idx = -2;
    return c;
}

/* The prepared item a row's prompt needs, when it needs more than the row
 * holds (a {context}, or choices the row does not list). */
static bool needs_prepared(const struct xprompt *c, const struct lleval_item_row *w)
{
    return c && (c->context || (c->choices && !w->n_choices));
}

/* An item of the row's question and choices, to render a prompt from. */
static const json_t *row_item(struct xdata *xd, const struct lleval_item_row *w)
{
    if (!xd->qitem)
        xd->qitem = json_object();
    json_object_set_new(xd->qitem, "question", json_string(w->question));
    if (w->n_choices) {
        json_t *a = json_array();
        for (size_t i = 0; i < w->n_choices; i++)
            json_array_append_new(a, json_string(w->choices[i]));
        json_object_set_new(xd->qitem, "choices", a);
    } else {
        json_object_del(xd->qitem, "choices");
    }
    return xd->qitem;
}

/* The prompt cell: [system, before, after] (or [system, user]) as explorer.c's
 * row_prompt() renders it. A simple prompt type's cell is the same for every
 * question that is found where {question} was put: then it is reused. item:
 * the prepared item (prepared: the prompt needs it; NULL when it is not in
 * the prepared data), else NULL: the row's question and choices. */
static void cell_prompt(struct xdata *xd, const struct lleval_prompt_type *pt,
                        enum lleval_item_type type, struct xprompt *c,
                        const struct lleval_item_row *w, bool prepared, const json_t *item)
{
    const char *q, *at;
    char *sys, *user;
    long long idx[3];
    size_t n = 0, qlen;
    bool at_prefix = false;
    lleval_sb_addch(&xd->rows, ',');
    if (!pt || (prepared && !item)) {
        lleval_jw_int(&xd->rows, -1);
        return;
    }
    q = item ? lleval_json_str(item, "question") : w->question;
    qlen = q ? strlen(q) : 0;
    if (c->simple && qlen && qlen <= X_TEXT_MAX && lleval_utf8_valid(q, qlen, NULL)) {
        /* the user text as rendered, and where the question is first found in it */
        lleval_sb_reset(&xd->tmp);
        lleval_sb_adds(&xd->tmp, c->prefix);
        lleval_sb_add(&xd->tmp, q, qlen);
        lleval_sb_adds(&xd->tmp, c->suffix);
        at = strstr(xd->tmp.buf, q);
        at_prefix = at && (size_t)(at - xd->tmp.buf) == strlen(c->prefix);
        if (at_prefix && c->idx != -2) {
            lleval_jw_int(&xd->rows, c->idx);
            return;
        }
    }
    if (!item) /* the row's question and choices as an item, to render from */
        item = row_item(xd, w);
    sys = lleval_render_prompt(pt->system[type] ? pt->system[type] : "", item);
    user = lleval_render_prompt(pt->user[type] ? pt->user[type] : "{question}", item);
    at = q && *q && qlen <= X_TEXT_MAX && lleval_utf8_valid(q, qlen, NULL) ? strstr(user, q) : NULL;
    lleval_sb_reset(&xd->val);
    jtext(xd, &xd->val, sys);
    idx[n++] = intern(xd);
    if (at) {
        const char *after = at + qlen;
        lleval_sb_reset(&xd->val);
        user[at - user] = '\0';
        jtext(xd, &xd->val, user);
        idx[n++] = intern(xd);
        lleval_sb_reset(&xd->val);
        jtext(xd, &xd->val, after);
        idx[n++] = intern(xd);
    } else {
        lleval_sb_reset(&xd->val);
        jtext(xd, &xd->val, user);
        idx[n++] = intern(xd);
    }
    free(sys);
    free(user);
    lleval_sb_reset(&xd->val);
    lleval_sb_addch(&xd->val, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            lleval_sb_addch(&xd->val, ',');
        lleval_jw_int(&xd->val, idx[i]);
    }
    lleval_sb_addch(&xd->val, ']');
    idx[0] = intern(xd);
    if (at_prefix)
        c->idx = idx[0];
    lleval_jw_int(&xd->rows, idx[0]);
}

/* The gold answers as lleval_report_golds() lists them ("B (Paris)"). */
static void cell_golds(struct xdata *xd, const struct lleval_item_row *w, const json_t *picked)
{
    lleval_sb_reset(&xd->val);
    if (picked) {
        json_t *g = lleval_report_golds(picked);
        char *text = json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(g);
        lleval_sb_adds(&xd->val, text ? text : "[]");
        free(text);
    } else {
        lleval_sb_addch(&xd->val, '[');
        for (size_t i = 0; i < w->n_gold; i++) {
            const char *txt = w->gold[i], *c = NULL;
            if (i)
                lleval_sb_addch(&xd->val, ',');
            if (w->n_choices && strlen(txt) == 1 && txt[0] >= 'A' && txt[0] <= 'Z' &&
                (size_t)(txt[0] - 'A') < w->n_choices)
                c = w->choices[txt[0] - 'A'];
            if (c) {
                char *s = lleval_xasprintf("%s (%s)", txt, c);
                lleval_jw_str(&xd->val, s);
                free(s);
            } else {
                lleval_jw_str(&xd->val, txt);
            }
        }
        lleval_sb_addch(&xd->val, ']');
    }
    lleval_sb_addch(&xd->rows, ',');
    lleval_jw_int(&xd->rows, intern(xd));
}

/* The model a custom_id names (a run of several models: five ':'), or null. */
static void cell_model(struct xdata *xd, const char *custom_id)
{
    struct lleval_cid c;
    size_t colons = 0;
    for (const char *p = custom_id; *p; p++)
        colons += *p == ':';
    lleval_sb_reset(&xd->val);
    if (colons >= 5 && !lleval_cid_decode(custom_id, &c, NULL)) {
        if (c.model)
            jtext(xd, &xd->val, c.model);
        lleval_cid_release(&c);
    }
    lleval_sb_addch(&xd->rows, ',');
    lleval_jw_int(&xd->rows, intern(xd));
}

static const char *verdict_of(const struct lleval_item_row *w)
{
    return !w->ok ? "error" : w->correct ? "right" : "wrong";
}

/* Notes a row whose prompt needs its prepared item (read on the second pass). */
static void want(struct xdata *xd, const struct lleval_item_row *w)
{
    json_t *ids;
    if (!xd->want)
        xd->want = json_object();
    ids = json_object_get(xd->want, w->dataset);
    if (!ids) {
        ids = json_object();
        json_object_set_new(xd->want, w->dataset, ids);
    }
    json_object_set_new(ids, w->item_id, json_true());
}

void lleval_report_xdata_row(struct xdata *xd, const struct report *r,
                             const struct lleval_item_row *w)
{
    const struct lleval_prompt_set *set = r->have_cfg ? lleval_config_prompt_set(&r->cfg) : NULL;
    const struct lleval_prompt_type *pt =
        set ? lleval_prompt_set_find_type(set, w->prompt_type) : NULL;
    enum lleval_item_type type = LLEVAL_CLOSED_BOOK;
    struct xprompt *c = NULL;
    const json_t *picked = NULL;
    bool same, prepared;
    xd->total++;
    if (xd->cut != UINT64_MAX && lleval_report_sample_hash(w->custom_id) >= xd->cut)
        return;
    if (pt) {
        if (*w->type)
            lleval_item_type_parse(w->type, &type);
        c = prompt_of(xd, pt, type);
    }
    prepared = needs_prepared(c, w);
    if (prepared && !xd->picked) {
        want(xd, w); /* this pass's rows are thrown away: the next has the items */
        return;
    }
    if (prepared) {
        const json_t *ds = json_object_get(xd->picked, w->dataset);
        picked = ds ? json_object_get(ds, w->item_id) : NULL;
        if (picked && pt) {
            /* the type the prepared item names, as the page always read it */
            const char *tname = lleval_json_str(picked, "type");
            type = LLEVAL_CLOSED_BOOK;
            if (tname)
                lleval_item_type_parse(tname, &type);
            c = prompt_of(xd, pt, type);
        }
    }
    if (xd->shown++)
        lleval_sb_addch(&xd->rows, ',');
    lleval_sb_addch(&xd->rows, '[');
    jtext(xd, &xd->rows, w->custom_id);
    cell_same(xd, 0, w->dataset);
    lleval_sb_addch(&xd->rows, ',');
    jtext(xd, &xd->rows, w->item_id);
    cell_same(xd, 1, w->prompt_type);
    cell_same(xd, 2, w->temperature);
    lleval_sb_addch(&xd->rows, ',');
    lleval_jw_int(&xd->rows, w->sample);
    cell_same(xd, 3, verdict_of(w));
    cell_same(xd, 4, w->finish_reason);
    cell_real(xd, w->mc ? NAN : w->f1, 15);
    lleval_sb_addch(&xd->rows, ',');
    jtext(xd, &xd->rows, w->prediction);
    /* the extracted answer: 0 when it is the whole prediction */
    lleval_sb_addch(&xd->rows, ',');
    same = !strcmp(w->answer, w->prediction);
    if (same)
        lleval_jw_int(&xd->rows, 0);
    else
        jtext(xd, &xd->rows, w->answer);
    lleval_sb_addch(&xd->rows, ',');
    jtext(xd, &xd->rows, w->error);
    cell_prompt(xd, pt, type, c, w, prepared, picked);
    if (prepared && !picked) {
        /* not in the prepared data: no question, no gold answers */
        lleval_sb_adds(&xd->rows, ",-1,-1");
    } else {
        cell_text(xd, picked ? lleval_json_str(picked, "question") : w->question);
        cell_golds(xd, w, picked);
    }
    cell_real(xd, w->latency_ms, 17);
    lleval_sb_addch(&xd->rows, ',');
    if (w->completion_tokens >= 0)
        lleval_jw_int(&xd->rows, w->completion_tokens);
    else
        lleval_jw_null(&xd->rows);
    lleval_sb_addch(&xd->rows, ',');
    if (w->mc)
        lleval_jw_int(&xd->rows,
                      w->mc_letter >= 'A' && w->mc_letter <= 'Z' ? w->mc_letter - 'A' : -1);
    else
        lleval_jw_null(&xd->rows);
    cell_model(xd, w->custom_id);
    lleval_sb_addch(&xd->rows, ']');
}

/* ---- the prepared items a prompt needs ------------------------------------ */

static bool wanted(void *ud, const char *id)
{
    return json_object_get(ud, id) != NULL;
}

void lleval_report_xdata_pick(struct xdata *xd, const char *prepared_dir)
{
    const char *ds;
    json_t *ids;
    json_decref(xd->picked);
    xd->picked = json_object();
    json_object_foreach(xd->want, ds, ids)
    {
        struct lleval_err e = LLEVAL_ERR_INIT;
        json_t *index = lleval_prepared_pick(prepared_dir, ds, wanted, ids, &e);
        json_object_set_new(xd->picked, ds, index ? index : json_object());
    }
}
