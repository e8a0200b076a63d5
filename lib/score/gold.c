/*
 * The scorer's inputs, read fast: the gold answers of a prepared dataset and
 * a SQuAD-style predictions object. A gold set holds the dataset's compact
 * item index with file offsets (lleval_item_index, LLEVAL_INDEX_OFFSETS: 8
 * bytes a line plus the id hash, whatever the items hold) and reads an
 * item's line again when a row asks for it, normalizing its golds then: a
 * million items cost about 32 MB, not the 300 MB their normalized golds and
 * questions took when held. Rows come in runs of one item (its samples, its
 * prompt types), and in file order, so an item is read once per run and the
 * file mostly front to back. See lib/score_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "score_int.h"

/* ---- gold sets ---- */

void lleval_gold_free(struct gold_set *g)
{
    if (!g)
        return;
    lleval_item_index_free(g->ix);
    free(g->gtoks);
    free(g->gsorted);
    free(g->refs);
    lleval_sb_release(&g->gtext);
    lleval_norm_release(&g->work);
    free(g->kept_line);
    free(g->kept_at);
    lleval_sb_release(&g->kept);
    free(g->name);
    free(g->type);
    free(g);
}

int lleval_gold_find(struct gold_set *g, const char *id, long *idx, struct lleval_err *err)
{
    g->cur = -1; /* the index may read other lines to compare ids */
    return lleval_item_index_find(g->ix, id, true, idx, err);
}

void lleval_gold_views(const struct gold_set *g, uint32_t first, uint32_t count,
                       struct lleval_norm *views)
{
    for (uint32_t i = 0; i < count; i++) {
        struct lleval_norm *v = &views[i];
        const struct gold_ref *r = &g->refs[first + i];
        memset(v, 0, sizeof(*v));
        v->text.buf = g->gtext.buf + r->off;
        v->text.len = r->len;
        v->text.alloc = 0;
        v->toks = g->gtoks + r->tok;
        v->sorted = g->gsorted + r->tok;
        v->n_toks = v->cap = r->ntok;
    }
}

/* The index of the gold answer among the choices: a letter "B", else a choice's text. */
static int gold_choice_of(const char *gold, const char *const *choices, size_t n)
{
    size_t len = strlen(gold);
    if (len == 1 && gold[0] >= 'A' && gold[0] <= 'Z' && (n == 0 || (size_t)(gold[0] - 'A') < n))
        return gold[0] - 'A';
    for (size_t i = 0; i < n; i++) {
        if (lleval_exact_match(gold, choices[i], false))
            return (int)i;
    }
    return -1;
}

/* Adds one normalized gold (in g->work) to the current item's arenas. */
static void add_gold(struct gold_set *g)
{
    struct lleval_norm *work = &g->work;
    struct gold_ref *r;
    LLEVAL_GROW(g->refs, g->n_golds, g->cap_golds);
    r = &g->refs[g->n_golds++];
    r->off = g->gtext.len;
    r->len = (uint32_t)work->text.len;
    r->tok = (uint32_t)g->n_gtoks;
    r->ntok = (uint32_t)work->n_toks;
    lleval_sb_add(&g->gtext, work->text.buf, work->text.len);
    lleval_sb_addch(&g->gtext, '\0');
    while (g->n_gtoks + work->n_toks > g->cap_gtoks) {
        g->cap_gtoks = g->cap_gtoks ? g->cap_gtoks * 2 : 256;
        g->gtoks = lleval_xrealloc(g->gtoks, g->cap_gtoks * sizeof(*g->gtoks));
        g->gsorted = lleval_xrealloc(g->gsorted, g->cap_gtoks * sizeof(*g->gsorted));
    }
    if (work->n_toks) {
        memcpy(g->gtoks + g->n_gtoks, work->toks, work->n_toks * sizeof(*g->gtoks));
        memcpy(g->gsorted + g->n_gtoks, work->sorted, work->n_toks * sizeof(*g->gsorted));
    }
    g->n_gtoks += work->n_toks;
}

/*
 * A QA item's normalized golds are kept once computed, so the next row of
 * the item (another sample, prompt type or temperature) copies them instead
 * of normalizing its answers again: a slot per line modulo the slots (as
 * many as the prepared lines, a power of two, up to KEPT_SLOTS), the first
 * line to come keeps it, KEPT_BYTES in all, whatever the items.
 */
#define KEPT_SLOTS 8192
#define KEPT_BYTES ((size_t)4 << 20)

struct kept_head {
    uint32_t n_golds, n_gtoks, text_len, count;
    bool v2, no_ans;
};

/* Restores the golds of QA item k (g->item but its id) when they were kept. */
static bool kept_get(struct gold_set *g, size_t k)
{
    struct kept_head h;
    const char *p;
    size_t slot = k & g->kept_mask;
    if (!g->kept_line || g->kept_line[slot] != (uint32_t)k + 1)
        return false;
    p = g->kept.buf + g->kept_at[slot];
    memcpy(&h, p, sizeof(h));
    p += sizeof(h);
    if (h.n_golds > g->cap_golds) {
        g->cap_golds = h.n_golds;
        g->refs = lleval_xrealloc(g->refs, h.n_golds * sizeof(*g->refs));
    }
    if (h.n_gtoks > g->cap_gtoks) {
        g->cap_gtoks = h.n_gtoks;
        g->gtoks = lleval_xrealloc(g->gtoks, h.n_gtoks * sizeof(*g->gtoks));
        g->gsorted = lleval_xrealloc(g->gsorted, h.n_gtoks * sizeof(*g->gsorted));
    }
    if (h.n_golds)
        memcpy(g->refs, p, h.n_golds * sizeof(*g->refs));
    p += h.n_golds * sizeof(*g->refs);
    if (h.n_gtoks) {
        memcpy(g->gtoks, p, h.n_gtoks * sizeof(*g->gtoks));
        p += h.n_gtoks * sizeof(*g->gtoks);
        memcpy(g->gsorted, p, h.n_gtoks * sizeof(*g->gsorted));
        p += h.n_gtoks * sizeof(*g->gsorted);
    }
    lleval_sb_reset(&g->gtext);
    lleval_sb_add(&g->gtext, p, h.text_len);
    g->n_golds = h.n_golds;
    g->n_gtoks = h.n_gtoks;
    g->item.first = 0;
    g->item.count = h.count;
    g->item.gold_choice = -1;
    g->item.v2 = h.v2;
    g->item.no_ans = h.no_ans;
    return true;
}

/* Keeps the golds of QA item k (just normalized) when its slot is free and they fit. */
static void kept_put(struct gold_set *g, size_t k)
{
    struct kept_head h;
    size_t slot, need;
    if (k >= UINT32_MAX || g->gtext.len > UINT32_MAX || g->n_gtoks > UINT32_MAX)
        return;
    if (!g->kept_line) {
        size_t slots = 1, lines = lleval_item_index_count(g->ix);
        while (slots < KEPT_SLOTS && slots < lines)
            slots *= 2;
        g->kept_mask = slots - 1;
        g->kept_line = lleval_xcalloc(slots, sizeof(*g->kept_line));
        g->kept_at = lleval_xcalloc(slots, sizeof(*g->kept_at));
    }
    slot = k & g->kept_mask;
    need = sizeof(h) + g->n_golds * sizeof(*g->refs) +
           g->n_gtoks * (sizeof(*g->gtoks) + sizeof(*g->gsorted)) + g->gtext.len;
    if (g->kept_line[slot] || g->kept.len + need > KEPT_BYTES)
        return;
    memset(&h, 0, sizeof(h));
    h.n_golds = (uint32_t)g->n_golds;
    h.n_gtoks = (uint32_t)g->n_gtoks;
    h.text_len = (uint32_t)g->gtext.len;
    h.count = g->item.count;
    h.v2 = g->item.v2;
    h.no_ans = g->item.no_ans;
    g->kept_line[slot] = (uint32_t)k + 1;
    g->kept_at[slot] = (uint32_t)g->kept.len;
    lleval_sb_add(&g->kept, (const char *)&h, sizeof(h));
    if (g->n_golds)
        lleval_sb_add(&g->kept, (const char *)g->refs, g->n_golds * sizeof(*g->refs));
    if (g->n_gtoks) {
        lleval_sb_add(&g->kept, (const char *)g->gtoks, g->n_gtoks * sizeof(*g->gtoks));
        lleval_sb_add(&g->kept, (const char *)g->gsorted, g->n_gtoks * sizeof(*g->gsorted));
    }
    lleval_sb_add(&g->kept, g->gtext.buf, g->gtext.len);
}

int lleval_gold_item(struct gold_set *g, size_t k, const struct gold_item **out,
                     struct lleval_err *err)
{
    static const char *const no_answer[] = {""};
    struct gold_item *it = &g->item;
    const struct lleval_item_entry *e = &g->entry;
    const char *const *answers;
    size_t n_answers, n_choices;
    bool nq = g->scoring == LLEVAL_SCORING_NQ;
    int rc;

    *out = it;
    if (g->cur == (long)k)
        return 0;
    g->cur = -1;
    rc = lleval_item_index_at(g->ix, k, &g->entry, err);
    if (rc)
        return rc;
    g->cur = (long)k;
    if (g->scoring != LLEVAL_SCORING_MC && kept_get(g, k)) {
        it->id = e->id;
        return 0;
    }
    answers = e->answers;
    n_answers = e->n_answers < GOLD_MAX_STRINGS ? e->n_answers : GOLD_MAX_STRINGS;
    n_choices = e->n_choices < GOLD_MAX_STRINGS ? e->n_choices : GOLD_MAX_STRINGS;
    lleval_sb_reset(&g->gtext);
    g->n_gtoks = g->n_golds = 0;
    it->id = e->id;
    it->first = 0;
    it->gold_choice = -1;
    it->v2 = e->unanswerable >= 0;
    it->no_ans = e->unanswerable == 1;
    if (it->no_ans)
        n_answers = 0;
    if (g->scoring == LLEVAL_SCORING_MC) {
        size_t n = n_choices < LLEVAL_MC_MAX_CHOICES ? n_choices : LLEVAL_MC_MAX_CHOICES;
        g->choices = e->choices;
        it->count = (uint32_t)n;
        if (n_answers)
            it->gold_choice = gold_choice_of(answers[0], e->choices, n);
        return 0;
    }
    if (it->v2 && !it->no_ans) {
        /* evaluate-v2.0: golds that normalize to nothing are dropped; none left is no answer */
        bool any = false;
        for (size_t i = 0; i < n_answers && !any; i++) {
            lleval_norm_set(&g->work, answers[i], strlen(answers[i]), nq);
            any = g->work.text.len > 0;
        }
        if (!any)
            n_answers = 0;
    }
    if (it->v2 && !n_answers) {
        answers = no_answer;
        n_answers = 1;
    }
    for (size_t i = 0; i < n_answers; i++) {
        lleval_norm_set(&g->work, answers[i], strlen(answers[i]), nq);
        if (it->v2 && !g->work.text.len && answers != no_answer)
            continue;
        add_gold(g);
    }
    it->count = (uint32_t)g->n_golds;
    kept_put(g, k);
    return 0;
}

/* Loads the info file and the item index of <prepared_dir>/<name>.jsonl into a new gold set. */
int lleval_gold_load(const char *prepared_dir, const char *name, struct gold_set **out,
                     struct lleval_err *err)
{
    struct gold_set *g = lleval_xcalloc(1, sizeof(*g));
    json_t *info;
    const char *scoring, *type;
    int rc;

    *out = NULL;
    g->name = lleval_xstrdup(name);
    g->cur = -1;
    lleval_norm_init(&g->work);
    lleval_sb_init(&g->gtext, 0);
    lleval_sb_init(&g->kept, 0);
    info = lleval_prepared_info(prepared_dir, name, err);
    if (!info) {
        rc = err ? err->code : LLEVAL_EINVAL;
        goto fail;
    }
    type = lleval_json_str(info, "type");
    scoring = lleval_json_str(info, "scoring");
    g->type = lleval_xstrdup(type ? type : "");
    if (scoring) {
        if (lleval_scoring_parse(scoring, &g->scoring)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s/%s.info.json: unknown scoring '%s'; use squad, nq or mc",
                                prepared_dir, name, scoring);
            goto fail;
        }
    } else {
        g->scoring =
            type && !strcmp(type, "multiple_choice") ? LLEVAL_SCORING_MC : LLEVAL_SCORING_SQUAD;
    }
    rc = lleval_item_index_load(prepared_dir, name, LLEVAL_INDEX_OFFSETS | LLEVAL_INDEX_QUESTIONS,
                                &g->ix, err);
    if (rc)
        goto fail;
    g->n_items = lleval_item_index_count(g->ix);
    {
        size_t v2, no_ans;
        lleval_item_index_v2(g->ix, &v2, &no_ans);
        g->v2 = v2 > 0;
        g->no_ans = no_ans;
    }
    *out = g;
    g = NULL;
    rc = 0;
fail:
    json_decref(info);
    lleval_gold_free(g);
    return rc;
}

/* ---- a flat JSON object of strings, scanned without a tree ---- */

struct fast_line {
    const char *p, *end;
    struct lleval_sb buf; /* decoded strings, NUL-separated */
};

static size_t add_str(struct lleval_sb *sb, const char *s)
{
    size_t off = sb->len;
    lleval_sb_add(sb, s, strlen(s) + 1); /* with its NUL */
    return off;
}

static void fast_ws(struct fast_line *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\r' || *f->p == '\n'))
        f->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

/* Reads a JSON string at f->p; appends it (NUL-terminated) to f->buf when
 * keep, and sets *off to its offset. */
static bool fast_string(struct fast_line *f, bool keep, size_t *off)
{
    const char *p = f->p + 1;
    if (f->p >= f->end || *f->p != '"')
        return false;
    if (!keep) {
        /* skipping (contexts): find the first quote not escaped by an odd
         * number of backslashes; the line was written by `lleval prepare` and
         * the full reader checks anything unusual */
        for (;;) {
            const char *q = memchr(p, '"', (size_t)(f->end - p)), *b;
            if (!q)
                return false;
            for (b = q; b > p && b[-1] == '\\';)
                b--;
            p = q + 1;
            if ((q - b) % 2 == 0)
                break;
        }
        f->p = p;
        return true;
    }
    *off = f->buf.len;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(f->end - p));
        const char *bs;
        if (!q)
            return false;
        bs = memchr(p, '\\', (size_t)(q - p));
        if (!bs) { /* no escape before the quote: one span */
            for (const char *c = p; c < q; c++)
                if ((unsigned char)*c < 0x20)
                    return false;
            if (keep)
                lleval_sb_add(&f->buf, p, (size_t)(q - p));
            p = q + 1;
            break;
        }
        if (keep)
            lleval_sb_add(&f->buf, p, (size_t)(bs - p));
        p = bs + 1;
        if (p >= f->end)
            return false;
        switch (*p) {
        case '"':
        case '\\':
        case '/':
            if (keep)
                lleval_sb_addch(&f->buf, *p);
            p++;
            break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            if (keep)
                lleval_sb_addch(&f->buf, *p == 'b'   ? '\b'
                                         : *p == 'f' ? '\f'
                                         : *p == 'n' ? '\n'
                                         : *p == 'r' ? '\r'
                                                     : '\t');
            p++;
            break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(p + 1, f->end, &cp))
                return false;
            p += 5;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (f->end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, f->end, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if ((cp >= 0xDC00 && cp < 0xE000) || cp == 0) {
                return false;
            }
            if (keep)
                lleval_utf8_encode(&f->buf, (int32_t)cp);
            break;
        }
        default:
            return false;
        }
    }
    if (keep)
        lleval_sb_addch(&f->buf, '\0');
    f->p = p;
    return true;
}

/* ---- SQuAD-style predictions ---- */

void lleval_pred_map_release(struct pred_map *m)
{
    lleval_sb_release(&m->strs);
    free(m->e);
    free(m->used);
    lleval_idset_release(&m->index);
    memset(m, 0, sizeof(*m));
}

const struct pred_entry *lleval_pred_map_get(const struct pred_map *m, const char *key)
{
    uint64_t h = lleval_idset_hash(key);
    uint32_t k;
    for (size_t pos = 0; lleval_idset_next(&m->index, h, &pos, &k);)
        if (!strcmp(m->strs.buf + m->e[k].key, key))
            return &m->e[k];
    return NULL;
}

/* Indexes the entries; false on a repeated key. */
static bool pred_map_index(struct pred_map *m)
{
    lleval_idset_reserve(&m->index, m->n);
    m->used = lleval_xcalloc(m->n + 1, 1);
    for (size_t k = 0; k < m->n; k++) {
        const char *key = m->strs.buf + m->e[k].key;
        if (lleval_pred_map_get(m, key))
            return false;
        lleval_idset_add(&m->index, lleval_idset_hash(key), (uint32_t)k);
    }
    return true;
}

static void pred_map_add(struct pred_map *m, size_t key, size_t val, size_t val_len)
{
    LLEVAL_GROW(m->e, m->n, m->cap);
    m->e[m->n].key = key;
    m->e[m->n].val = val;
    m->e[m->n].val_len = val_len;
    m->n++;
}

/* The fast path: a flat object of strings, scanned without a JSON tree. */
static bool pred_map_fast(struct pred_map *m, const char *text, size_t len)
{
    struct fast_line f;
    bool ok = false;
    memset(&f, 0, sizeof(f));
    lleval_sb_init(&f.buf, len + 16);
    f.p = text;
    f.end = text + len;
    if (!lleval_utf8_valid(text, len, NULL))
        goto out;
    fast_ws(&f);
    if (f.p >= f.end || *f.p++ != '{')
        goto out;
    fast_ws(&f);
    if (f.p < f.end && *f.p == '}') {
        f.p++;
    } else {
        for (;;) {
            size_t key, val;
            if (!fast_string(&f, true, &key))
                goto out;
            fast_ws(&f);
            if (f.p >= f.end || *f.p++ != ':')
                goto out;
            fast_ws(&f);
            if (!fast_string(&f, true, &val))
                goto out;
            pred_map_add(m, key, val, f.buf.len - val - 1);
            fast_ws(&f);
            if (f.p >= f.end)
                goto out;
            if (*f.p == '}') {
                f.p++;
                break;
            }
            if (*f.p++ != ',')
                goto out;
            fast_ws(&f);
        }
    }
    fast_ws(&f);
    ok = f.p == f.end;
out:
    m->strs = f.buf; /* handed over either way */
    return ok && pred_map_index(m);
}

/* Loads the predictions object. Anything the fast scanner does not expect
 * (errors included) goes through jansson, which names file:line:column. */
int lleval_pred_map_load(const char *path, struct pred_map *m, struct lleval_err *err)
{
    struct lleval_sb text = LLEVAL_SB_INIT;
    json_t *preds;
    const char *key;
    json_t *v;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = lleval_read_file(path, &text, 0, err);
    if (rc) {
        lleval_sb_release(&text);
        return rc;
    }
    if (pred_map_fast(m, text.buf, text.len)) {
        lleval_sb_release(&text);
        return 0;
    }
    lleval_sb_release(&text);
    lleval_pred_map_release(m);
    preds = lleval_json_load_file(path, err);
    if (!preds)
        return err ? err->code : LLEVAL_EINVAL;
    if (!json_is_object(preds)) {
        json_decref(preds);
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: predictions must be one JSON object {\"question id\": "
                              "\"answer\", ...}",
                              path);
    }
    json_object_foreach(preds, key, v)
    {
        size_t k, val;
        if (!json_is_string(v)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s: the prediction for '%s' is not a string; write "
                                "{\"question id\": \"answer text\"}",
                                path, key);
            json_decref(preds);
            lleval_pred_map_release(m);
            return rc;
        }
        k = add_str(&m->strs, key);
        val = m->strs.len;
        lleval_sb_add(&m->strs, json_string_value(v), json_string_length(v));
        lleval_sb_addch(&m->strs, '\0');
        pred_map_add(m, k, val, json_string_length(v));
    }
    json_decref(preds);
    pred_map_index(m); /* jansson already refused repeated keys */
    return 0;
}
