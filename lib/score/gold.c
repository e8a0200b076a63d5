/*
 * The scorer's inputs, read fast: the gold answers of a prepared dataset
 * (a scanner that reads only "id", "dataset", "answers" and "choices" and
 * skips contexts without building JSON trees, falling back to the dataset
 * module's reader for anything unexpected) and a SQuAD-style predictions
 * object. See lib/score_int.h.
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

/* Frees the items and arenas of g, keeping its name, type and scoring. */
static void gold_clear_items(struct gold_set *g)
{
    free(g->items);
    free(g->gtoks);
    free(g->gsorted);
    free(g->refs);
    free(g->choice_offs);
    free(g->choices);
    lleval_idset_release(&g->index);
    lleval_sb_release(&g->strs);
    lleval_sb_release(&g->gtext);
    g->items = NULL;
    g->gtoks = NULL;
    g->gsorted = NULL;
    g->refs = NULL;
    g->choice_offs = NULL;
    g->choices = NULL;
    g->n_items = g->cap_items = g->n_gtoks = g->cap_gtoks = 0;
    g->n_golds = g->cap_golds = g->n_choices = g->cap_choices = 0;
    g->v2 = false;
    g->no_ans = 0;
}

void lleval_gold_free(struct gold_set *g)
{
    if (!g)
        return;
    gold_clear_items(g);
    free(g->name);
    free(g->type);
    free(g);
}

long lleval_gold_find(const struct gold_set *g, const char *id)
{
    uint64_t h = lleval_idset_hash(id);
    uint32_t k;
    for (size_t pos = 0; lleval_idset_next(&g->index, h, &pos, &k);)
        if (!strcmp(g->items[k].id, id))
            return (long)k;
    return -1;
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

/* Once every item is in: sets the views into the arenas and builds the id
 * index (a repeated id keeps its first item). */
static void gold_finish(struct gold_set *g)
{
    g->choices = lleval_xcalloc(g->n_choices + 1, sizeof(*g->choices));
    for (size_t i = 0; i < g->n_choices; i++)
        g->choices[i] = g->strs.buf + g->choice_offs[i];
    for (size_t i = 0; i < g->n_items; i++)
        g->items[i].id = g->strs.buf + g->items[i].id_off;

    lleval_idset_reserve(&g->index, g->n_items);
    for (size_t k = 0; k < g->n_items; k++)
        if (lleval_gold_find(g, g->items[k].id) < 0)
            lleval_idset_add(&g->index, lleval_idset_hash(g->items[k].id), (uint32_t)k);
}

static size_t add_str(struct lleval_sb *sb, const char *s)
{
    size_t off = sb->len;
    lleval_sb_add(sb, s, strlen(s) + 1); /* with its NUL */
    return off;
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

/* SQuAD 2.0 item: unanswerable tells the "unanswerable" field (-1: absent, 0 false, 1 true) */
enum { V1_ITEM = -1 };

/* Adds one item from its strings (all borrowed). */
static void add_item(struct gold_set *g, const char *id, const char *const *answers,
                     size_t n_answers, const char *const *choices, size_t n_choices,
                     int unanswerable, struct lleval_norm *work)
{
    struct gold_item *it;
    static const char *const no_answer[] = {""};
    LLEVAL_GROW(g->items, g->n_items, g->cap_items);
    it = &g->items[g->n_items++];
    it->id = NULL;
    it->id_off = add_str(&g->strs, id);
    it->gold_choice = -1;
    it->v2 = unanswerable != V1_ITEM;
    it->no_ans = unanswerable == 1;
    g->v2 |= it->v2;
    g->no_ans += it->no_ans;
    if (it->no_ans)
        n_answers = 0;
    if (g->scoring == LLEVAL_SCORING_MC) {
        size_t n = n_choices < LLEVAL_MC_MAX_CHOICES ? n_choices : LLEVAL_MC_MAX_CHOICES;
        it->first = (uint32_t)g->n_choices;
        for (size_t i = 0; i < n; i++) {
            LLEVAL_GROW(g->choice_offs, g->n_choices, g->cap_choices);
            g->choice_offs[g->n_choices++] = add_str(&g->strs, choices[i]);
        }
        it->count = (uint32_t)n;
        if (n_answers)
            it->gold_choice = gold_choice_of(answers[0], choices, n);
        return;
    }
    it->first = (uint32_t)g->n_golds;
    if (it->v2 && !it->no_ans) {
        /* evaluate-v2.0: golds that normalize to nothing are dropped; none left is no answer */
        bool any = false;
        for (size_t i = 0; i < n_answers && !any; i++) {
            lleval_norm_set(work, answers[i], strlen(answers[i]), g->scoring == LLEVAL_SCORING_NQ);
            any = work->text.len > 0;
        }
        if (!any)
            n_answers = 0;
    }
    if (it->v2 && !n_answers) {
        answers = no_answer;
        n_answers = 1;
    }
    for (size_t i = 0; i < n_answers; i++) {
        struct gold_ref *r;
        lleval_norm_set(work, answers[i], strlen(answers[i]), g->scoring == LLEVAL_SCORING_NQ);
        if (it->v2 && !work->text.len && answers != no_answer)
            continue;
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
    it->count = (uint32_t)(g->n_golds - it->first);
}

/* Collects the string elements of a JSON array (others are skipped). */
static size_t json_strings(const json_t *arr, const char **out, size_t max)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && n < max)
            out[n++] = json_string_value(v);
    }
    return n;
}

/*
 * The fast path for prepared lines: a scanner that reads only the keys the
 * scorer needs ("id", "dataset", "answers", "choices") and skips the rest
 * (contexts are most of the bytes) without building a JSON tree. Anything it
 * does not expect makes the caller fall back to the dataset module's reader,
 * which gives the canonical errors.
 */
#define FAST_MAX_STRINGS 64

struct fast_line {
    const char *p, *end;
    struct lleval_sb buf; /* decoded strings, NUL-separated */
    size_t id, dataset;   /* offsets into buf, or SIZE_MAX */
    size_t answers[FAST_MAX_STRINGS], choices[FAST_MAX_STRINGS];
    size_t n_answers, n_choices;
    bool has_answers, has_choices, has_question, has_type;
    int unanswerable; /* V1_ITEM, 0 or 1 */
};

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

static bool fast_skip(struct fast_line *f, int depth)
{
    if (depth > 32 || f->p >= f->end)
        return false;
    switch (*f->p) {
    case '"':
        return fast_string(f, false, NULL);
    case '{':
    case '[': {
        char close = *f->p == '{' ? '}' : ']';
        bool obj = close == '}';
        f->p++;
        fast_ws(f);
        if (f->p < f->end && *f->p == close) {
            f->p++;
            return true;
        }
        for (;;) {
            if (obj) {
                if (!fast_string(f, false, NULL))
                    return false;
                fast_ws(f);
                if (f->p >= f->end || *f->p++ != ':')
                    return false;
                fast_ws(f);
            }
            if (!fast_skip(f, depth + 1))
                return false;
            fast_ws(f);
            if (f->p >= f->end)
                return false;
            if (*f->p == close) {
                f->p++;
                return true;
            }
            if (*f->p++ != ',')
                return false;
            fast_ws(f);
        }
    }
    default: /* number, true, false, null */
        if (!strchr("-0123456789tfn", *f->p))
            return false;
        while (f->p < f->end && strchr("+-.0123456789eEtruefalsn", *f->p))
            f->p++;
        return true;
    }
}

/* An array of strings into offs[]; false for anything else. */
static bool fast_strings(struct fast_line *f, size_t *offs, size_t *n)
{
    *n = 0;
    if (f->p >= f->end || *f->p != '[')
        return false;
    f->p++;
    fast_ws(f);
    if (f->p < f->end && *f->p == ']') {
        f->p++;
        return true;
    }
    for (;;) {
        if (*n >= FAST_MAX_STRINGS || !fast_string(f, true, &offs[*n]))
            return false;
        (*n)++;
        fast_ws(f);
        if (f->p >= f->end)
            return false;
        if (*f->p == ']') {
            f->p++;
            return true;
        }
        if (*f->p++ != ',')
            return false;
        fast_ws(f);
    }
}

enum key_kind {
    K_OTHER,
    K_ID,
    K_DATASET,
    K_ANSWERS,
    K_CHOICES,
    K_QUESTION,
    K_TYPE,
    K_UNANSWERABLE
};

static enum key_kind key_kind(const char *k, size_t len)
{
    switch (len) {
    case 2:
        return !memcmp(k, "id", 2) ? K_ID : K_OTHER;
    case 4:
        return !memcmp(k, "type", 4) ? K_TYPE : K_OTHER;
    case 7:
        if (!memcmp(k, "dataset", 7))
            return K_DATASET;
        if (!memcmp(k, "answers", 7))
            return K_ANSWERS;
        return !memcmp(k, "choices", 7) ? K_CHOICES : K_OTHER;
    case 8:
        return !memcmp(k, "question", 8) ? K_QUESTION : K_OTHER;
    case 12:
        return !memcmp(k, "unanswerable", 12) ? K_UNANSWERABLE : K_OTHER;
    default:
        return K_OTHER;
    }
}

/* Scans one line; false when the full reader must decide. */
static bool fast_scan(struct fast_line *f, const char *line, size_t len)
{
    f->p = line;
    f->end = line + len;
    lleval_sb_reset(&f->buf);
    f->id = f->dataset = SIZE_MAX;
    f->n_answers = f->n_choices = 0;
    f->has_answers = f->has_choices = f->has_question = f->has_type = false;
    f->unanswerable = V1_ITEM;
    fast_ws(f);
    if (f->p >= f->end || *f->p++ != '{')
        return false;
    fast_ws(f);
    if (f->p < f->end && *f->p == '}')
        return false; /* an empty object: let the reader say what is missing */
    for (;;) {
        size_t key, mark = f->buf.len;
        if (!fast_string(f, true, &key))
            return false;
        fast_ws(f);
        if (f->p >= f->end || *f->p++ != ':')
            return false;
        fast_ws(f);
        switch (key_kind(f->buf.buf + key, f->buf.len - key - 1)) {
        case K_ID:
        case K_DATASET: {
            size_t *dst =
                key_kind(f->buf.buf + key, f->buf.len - key - 1) == K_ID ? &f->id : &f->dataset;
            if (*dst != SIZE_MAX || !fast_string(f, true, dst))
                return false; /* repeated key or not a string */
            break;
        }
        case K_ANSWERS:
            if (f->has_answers || !fast_strings(f, f->answers, &f->n_answers))
                return false;
            f->has_answers = true;
            break;
        case K_CHOICES:
            if (f->has_choices || !fast_strings(f, f->choices, &f->n_choices))
                return false;
            f->has_choices = true;
            break;
        case K_UNANSWERABLE:
            if (f->unanswerable != V1_ITEM)
                return false;
            if (f->end - f->p >= 4 && !memcmp(f->p, "true", 4))
                f->unanswerable = 1;
            else if (f->end - f->p >= 5 && !memcmp(f->p, "false", 5))
                f->unanswerable = 0;
            else
                return false;
            f->p += f->unanswerable ? 4 : 5;
            lleval_sb_setlen(&f->buf, mark);
            break;
        case K_QUESTION:
        case K_TYPE:
            if (f->p >= f->end || *f->p != '"')
                return false;
            if (key_kind(f->buf.buf + key, f->buf.len - key - 1) == K_QUESTION)
                f->has_question = true;
            else
                f->has_type = true;
            /* their values are not needed: skipped below */
            /* fall through */
        default:
            lleval_sb_setlen(&f->buf, mark); /* the key is not needed any more */
            if (!fast_skip(f, 0))
                return false;
        }
        fast_ws(f);
        if (f->p >= f->end)
            return false;
        if (*f->p == '}') {
            f->p++;
            break;
        }
        if (*f->p++ != ',')
            return false;
        fast_ws(f);
    }
    fast_ws(f);
    return f->p == f->end && f->id != SIZE_MAX && f->dataset != SIZE_MAX && f->has_answers &&
           f->has_question && f->has_type;
}

/* Reads the items with the fast scanner. Returns 1 when done, 0 when the full
 * reader must take over (g is then emptied), negative on an I/O error. */
static int gold_read_fast(struct gold_set *g, const char *path, struct lleval_norm *work,
                          struct lleval_err *err)
{
    struct lleval_lines lr;
    struct fast_line f;
    int rc, done = 1;
    memset(&f, 0, sizeof(f));
    lleval_sb_init(&f.buf, 0);
    if (!lleval_path_exists(path))
        return 0;
    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    setvbuf(lr.f, NULL, _IOFBF, 1 << 20); /* big reads: contexts make these files large */
    while ((rc = lleval_lines_next(&lr, err)) == 1) {
        const char *ans[FAST_MAX_STRINGS], *cho[FAST_MAX_STRINGS];
        if (!lr.len)
            continue;
        if (lr.torn || memchr(lr.line, '\0', lr.len) || !fast_scan(&f, lr.line, lr.len) ||
            strcmp(f.buf.buf + f.dataset, g->name) ||
            (g->scoring == LLEVAL_SCORING_MC && !f.has_choices) ||
            !lleval_utf8_valid(f.buf.buf, f.buf.len, NULL)) {
            done = 0;
            break;
        }
        for (size_t i = 0; i < f.n_answers; i++)
            ans[i] = f.buf.buf + f.answers[i];
        for (size_t i = 0; i < f.n_choices; i++)
            cho[i] = f.buf.buf + f.choices[i];
        add_item(g, f.buf.buf + f.id, ans, f.n_answers, cho, f.n_choices, f.unanswerable, work);
    }
    lleval_lines_close(&lr);
    lleval_sb_release(&f.buf);
    if (rc < 0)
        return rc;
    return done;
}

/* Loads <prepared_dir>/<name>.jsonl and its info file into a new gold set. */
int lleval_gold_load(const char *prepared_dir, const char *name, struct gold_set **out,
                     struct lleval_err *err)
{
    struct gold_set *g = lleval_xcalloc(1, sizeof(*g));
    struct lleval_prepared_reader r;
    struct lleval_norm work = LLEVAL_NORM_INIT;
    json_t *info, *item;
    const char *scoring, *type;
    char *path = NULL;
    bool reader_open = false;
    long want;
    int rc;

    *out = NULL;
    g->name = lleval_xstrdup(name);
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
    want = (long)json_integer_value(json_object_get(info, "items"));
    path = lleval_prepared_path(prepared_dir, name);
    rc = gold_read_fast(g, path, &work, err);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        /* something unusual: the dataset module's reader decides (and explains) */
        gold_clear_items(g);
        rc = lleval_prepared_open(&r, prepared_dir, name, err);
        if (rc)
            goto fail;
        reader_open = true;
        while ((rc = lleval_prepared_next(&r, &item, err)) == 1) {
            const char *ans[FAST_MAX_STRINGS], *cho[FAST_MAX_STRINGS];
            const char *ds = lleval_json_str(item, "dataset");
            if (strcmp(ds, name)) {
                rc = lleval_err_set(err, LLEVAL_EINVAL,
                                    "%s:%ld: item belongs to dataset '%s', not '%s'; run "
                                    "`lleval prepare` again",
                                    r.path, r.lines.lineno, ds, name);
                json_decref(item);
                goto fail;
            }
            const json_t *un = json_object_get(item, "unanswerable");
            add_item(g, lleval_json_str(item, "id"), ans,
                     json_strings(json_object_get(item, "answers"), ans, FAST_MAX_STRINGS), cho,
                     json_strings(json_object_get(item, "choices"), cho, FAST_MAX_STRINGS),
                     un ? json_is_true(un) : V1_ITEM, &work);
            json_decref(item);
        }
        if (rc < 0)
            goto fail;
    }
    if ((long)g->n_items != want) {
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "'%s' holds %zu items but its info file says %ld (an interrupted "
                            "prepare?); run `lleval prepare` again",
                            path, g->n_items, want);
        goto fail;
    }
    gold_finish(g);
    *out = g;
    g = NULL;
    rc = 0;
fail:
    if (reader_open)
        lleval_prepared_close(&r);
    json_decref(info);
    free(path);
    lleval_norm_release(&work);
    lleval_gold_free(g);
    return rc;
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
