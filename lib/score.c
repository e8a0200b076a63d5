/*
 * Scoring: streams predictions.csv (or reads a SQuAD-style JSON object),
 * looks up each row's gold answers in the prepared datasets, scores it with
 * the dataset's metric, aggregates per dataset x prompt type x temperature
 * with bootstrap intervals, and writes scores.json. See include/lleval/score.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/csv.h"
#include "lleval/dataset.h"
#include "lleval/fs.h"
#include "lleval/json.h"
#include "lleval/score.h"
#include "lleval/util.h"

/* ---- options ---- */

void lleval_score_opts_init(struct lleval_score_opts *o)
{
    o->extraction = LLEVAL_EXTRACT_NONE;
    o->strip_think = true;
    o->bootstrap = LLEVAL_BOOTSTRAP_DEFAULT;
    o->seed = 12345;
    o->truncation_warn = LLEVAL_TRUNCATION_WARN;
}

void lleval_score_opts_from_config(struct lleval_score_opts *o, const struct lleval_config *cfg)
{
    enum lleval_extract e;
    lleval_score_opts_init(o);
    if (!cfg)
        return;
    if (cfg->answer_extraction && !lleval_extract_parse(cfg->answer_extraction, &e))
        o->extraction = e;
    o->strip_think = cfg->strip_think;
    if (cfg->bootstrap_samples >= 0 && cfg->bootstrap_samples <= LLEVAL_BOOTSTRAP_MAX)
        o->bootstrap = cfg->bootstrap_samples;
    o->seed = (uint64_t)cfg->bootstrap_seed;
}

/* ---- gold sets ---- */

struct gold_item {
    const char *id; /* in set->strs (a view, set once loading is done) */
    size_t id_off;
    uint32_t first;  /* QA: first gold in set->golds; MC: first choice in set->choices */
    uint32_t count;  /* golds or choices */
    int gold_choice; /* MC: index of the right choice, -1 when the gold names none */
};

/* A hash table slot: entry index + 1 (0: empty) and the top of the key's hash. */
struct slot {
    uint32_t idx;
    uint32_t hash;
};

/* Where one normalized gold answer lies in the set's arenas. */
struct gold_ref {
    size_t off;
    uint32_t len, tok, ntok;
};

/*
 * One prepared dataset's gold answers. Strings and normalized answers live in
 * a few arenas (no allocation per answer); once loading is done, items[].id,
 * golds[] and choices[] are read-only views into them.
 */
struct gold_set {
    char *name;
    char *type;
    enum lleval_scoring scoring;
    struct gold_item *items;
    size_t n_items, cap_items;
    struct lleval_sb strs;      /* ids and choice texts, NUL-terminated */
    struct lleval_sb gtext;     /* normalized gold texts */
    struct lleval_token *gtoks; /* their tokens (offsets relative to each text) */
    uint32_t *gsorted;          /* token order per gold (relative indexes) */
    size_t n_gtoks, cap_gtoks;
    struct gold_ref *refs;
    size_t n_golds, cap_golds;
    struct lleval_norm *golds; /* views: text.alloc 0, never released one by one */
    size_t *choice_offs;
    size_t n_choices, cap_choices;
    const char **choices; /* views */
    struct slot *slots;   /* id hash table */
    size_t n_slots;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return h;
}

/* Frees the items and arenas of g, keeping its name, type and scoring. */
static void gold_clear_items(struct gold_set *g)
{
    free(g->items);
    free(g->gtoks);
    free(g->gsorted);
    free(g->refs);
    free(g->golds);
    free(g->choice_offs);
    free(g->choices);
    free(g->slots);
    lleval_sb_release(&g->strs);
    lleval_sb_release(&g->gtext);
    g->items = NULL;
    g->gtoks = NULL;
    g->gsorted = NULL;
    g->refs = NULL;
    g->golds = NULL;
    g->choice_offs = NULL;
    g->choices = NULL;
    g->slots = NULL;
    g->n_items = g->cap_items = g->n_gtoks = g->cap_gtoks = 0;
    g->n_golds = g->cap_golds = g->n_choices = g->cap_choices = g->n_slots = 0;
}

static void gold_free(struct gold_set *g)
{
    if (!g)
        return;
    gold_clear_items(g);
    free(g->name);
    free(g->type);
    free(g);
}

static long gold_find(const struct gold_set *g, const char *id)
{
    uint64_t h = hash_str(id);
    if (!g->n_slots)
        return -1;
    for (size_t i = (size_t)h & (g->n_slots - 1);; i = (i + 1) & (g->n_slots - 1)) {
        const struct slot *sl = &g->slots[i];
        if (!sl->idx)
            return -1;
        if (sl->hash == (uint32_t)(h >> 32) && !strcmp(g->items[sl->idx - 1].id, id))
            return (long)(sl->idx - 1);
    }
}

/* Once every item is in: sets the views into the arenas and builds the id
 * index (a repeated id keeps its first item). */
static void gold_finish(struct gold_set *g)
{
    g->golds = lleval_xcalloc(g->n_golds + 1, sizeof(*g->golds));
    for (size_t i = 0; i < g->n_golds; i++) {
        struct lleval_norm *v = &g->golds[i];
        const struct gold_ref *r = &g->refs[i];
        v->text.buf = g->gtext.buf + r->off;
        v->text.len = r->len;
        v->text.alloc = 0;
        v->toks = g->gtoks + r->tok;
        v->sorted = g->gsorted + r->tok;
        v->n_toks = v->cap = r->ntok;
    }
    g->choices = lleval_xcalloc(g->n_choices + 1, sizeof(*g->choices));
    for (size_t i = 0; i < g->n_choices; i++)
        g->choices[i] = g->strs.buf + g->choice_offs[i];
    for (size_t i = 0; i < g->n_items; i++)
        g->items[i].id = g->strs.buf + g->items[i].id_off;

    g->n_slots = 16;
    while (g->n_slots < 2 * g->n_items + 1)
        g->n_slots *= 2;
    g->slots = lleval_xcalloc(g->n_slots, sizeof(*g->slots));
    for (size_t k = 0; k < g->n_items; k++) {
        uint64_t h = hash_str(g->items[k].id);
        size_t i = (size_t)h & (g->n_slots - 1);
        bool dup = false;
        while (g->slots[i].idx &&
               !(dup = g->slots[i].hash == (uint32_t)(h >> 32) &&
                       !strcmp(g->items[g->slots[i].idx - 1].id, g->items[k].id)))
            i = (i + 1) & (g->n_slots - 1);
        if (!dup) {
            g->slots[i].idx = (uint32_t)(k + 1);
            g->slots[i].hash = (uint32_t)(h >> 32);
        }
    }
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

/* Adds one item from its strings (all borrowed). */
static void add_item(struct gold_set *g, const char *id, const char *const *answers,
                     size_t n_answers, const char *const *choices, size_t n_choices,
                     struct lleval_norm *work)
{
    struct gold_item *it;
    LLEVAL_GROW(g->items, g->n_items, g->cap_items);
    it = &g->items[g->n_items++];
    it->id = NULL;
    it->id_off = add_str(&g->strs, id);
    it->gold_choice = -1;
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
    for (size_t i = 0; i < n_answers; i++) {
        struct gold_ref *r;
        lleval_norm_set(work, answers[i], strlen(answers[i]), g->scoring == LLEVAL_SCORING_NQ);
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

static void put_utf8(struct lleval_sb *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    lleval_sb_add(sb, b, n);
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
                put_utf8(&f->buf, cp);
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

enum key_kind { K_OTHER, K_ID, K_DATASET, K_ANSWERS, K_CHOICES, K_QUESTION, K_TYPE };

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
        add_item(g, f.buf.buf + f.id, ans, f.n_answers, cho, f.n_choices, work);
    }
    lleval_lines_close(&lr);
    lleval_sb_release(&f.buf);
    if (rc < 0)
        return rc;
    return done;
}

/* Loads <prepared_dir>/<name>.jsonl and its info file into a new gold set. */
static int gold_load(const char *prepared_dir, const char *name, struct gold_set **out,
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
            add_item(g, lleval_json_str(item, "id"), ans,
                     json_strings(json_object_get(item, "answers"), ans, FAST_MAX_STRINGS), cho,
                     json_strings(json_object_get(item, "choices"), cho, FAST_MAX_STRINGS), &work);
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
    gold_free(g);
    return rc;
}

/* ---- accumulators ---- */

enum { FIN_STOP, FIN_LENGTH, FIN_ERROR, FIN_OTHER };

struct acc {
    struct gold_set *gold; /* borrowed from the scorer */
    char *prompt_type;     /* NULL: all (SQuAD-JSON mode, overall rows) */
    char *temperature;
    double temp_value;
    long n, unknown, duplicates, errors, empty, unparseable;
    long fin[4];
    struct lleval_dist em, f1, contains, accuracy, latency, tps;
    uint8_t **seen; /* per sample: bitset over the gold items */
    size_t n_seen;
};

static void acc_free(struct acc *a)
{
    if (!a)
        return;
    free(a->prompt_type);
    free(a->temperature);
    lleval_dist_release(&a->em);
    lleval_dist_release(&a->f1);
    lleval_dist_release(&a->contains);
    lleval_dist_release(&a->accuracy);
    lleval_dist_release(&a->latency);
    lleval_dist_release(&a->tps);
    for (size_t i = 0; i < a->n_seen; i++)
        free(a->seen[i]);
    free(a->seen);
    free(a);
}

/* Marks (sample, item) as seen; returns false when it already was. */
static bool acc_mark(struct acc *a, long sample, size_t item)
{
    size_t s = (size_t)sample;
    if (s >= a->n_seen) {
        a->seen = lleval_xrealloc(a->seen, (s + 1) * sizeof(*a->seen));
        memset(a->seen + a->n_seen, 0, (s + 1 - a->n_seen) * sizeof(*a->seen));
        a->n_seen = s + 1;
    }
    if (!a->seen[s])
        a->seen[s] = lleval_xcalloc(a->gold->n_items / 8 + 1, 1);
    if (a->seen[s][item / 8] & (1u << (item % 8)))
        return false;
    a->seen[s][item / 8] |= (uint8_t)(1u << (item % 8));
    return true;
}

static long acc_missing(const struct acc *a)
{
    long missing = 0;
    bool any = false;
    for (size_t s = 0; s < a->n_seen; s++) {
        long seen = 0;
        if (!a->seen[s])
            continue;
        any = true;
        for (size_t i = 0; i < a->gold->n_items; i++)
            seen += (a->seen[s][i / 8] >> (i % 8)) & 1;
        missing += (long)a->gold->n_items - seen;
    }
    return any ? missing : (long)a->gold->n_items;
}

/* ---- the scorer ---- */

#define MAX_SAMPLE 100000

struct scorer {
    const char *prepared_dir;
    const char *path;
    struct lleval_score_opts o;
    struct gold_set **sets;
    size_t n_sets, cap_sets;
    struct acc **accs;
    size_t n_accs, cap_accs;
    struct acc *last;
    long rows, scored, unknown, duplicates;
    char *first_unknown, *first_duplicate;
    long first_unknown_line, first_duplicate_line;
    struct lleval_sb answer;
    struct lleval_norm pred;
};

static void scorer_init(struct scorer *s, const char *prepared_dir, const char *path,
                        const struct lleval_score_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->prepared_dir = prepared_dir;
    s->path = path;
    if (o)
        s->o = *o;
    else
        lleval_score_opts_init(&s->o);
    lleval_sb_init(&s->answer, 0);
    lleval_norm_init(&s->pred);
}

static void scorer_release(struct scorer *s)
{
    for (size_t i = 0; i < s->n_accs; i++)
        acc_free(s->accs[i]);
    for (size_t i = 0; i < s->n_sets; i++)
        gold_free(s->sets[i]);
    free(s->accs);
    free(s->sets);
    free(s->first_unknown);
    free(s->first_duplicate);
    lleval_sb_release(&s->answer);
    lleval_norm_release(&s->pred);
}

static int scorer_gold(struct scorer *s, const char *name, struct gold_set **out,
                       struct lleval_err *err)
{
    int rc;
    for (size_t i = 0; i < s->n_sets; i++) {
        if (!strcmp(s->sets[i]->name, name)) {
            *out = s->sets[i];
            return 0;
        }
    }
    rc = gold_load(s->prepared_dir, name, out, err);
    if (rc)
        return rc;
    LLEVAL_GROW(s->sets, s->n_sets, s->cap_sets);
    s->sets[s->n_sets++] = *out;
    return 0;
}

static struct acc *scorer_acc(struct scorer *s, struct gold_set *g, const char *prompt,
                              const char *temp, double temp_value)
{
    struct acc *a = s->last;
    if (a && a->gold == g && !strcmp(a->prompt_type, prompt) && !strcmp(a->temperature, temp))
        return a;
    for (size_t i = 0; i < s->n_accs; i++) {
        a = s->accs[i];
        if (a->gold == g && !strcmp(a->prompt_type, prompt) && !strcmp(a->temperature, temp))
            return s->last = a;
    }
    a = lleval_xcalloc(1, sizeof(*a));
    a->gold = g;
    a->prompt_type = lleval_xstrdup(prompt);
    a->temperature = lleval_xstrdup(temp);
    a->temp_value = temp_value;
    LLEVAL_GROW(s->accs, s->n_accs, s->cap_accs);
    s->accs[s->n_accs++] = a;
    return s->last = a;
}

/* Extracts and scores one answer of item it; fills the score fields of r. */
static void score_answer(struct scorer *s, const struct gold_set *g, const struct gold_item *it,
                         const char *text, size_t len, bool ok, struct lleval_item_score *r)
{
    lleval_sb_reset(&s->answer);
    if (ok)
        lleval_extract_answer(text, len, s->o.extraction, s->o.strip_think, &s->answer);
    r->answer = s->answer.buf;
    r->scoring = g->scoring;
    r->em = r->f1 = r->contains = 0;
    r->choice = -1;
    r->correct = false;
    if (!ok)
        return;
    if (g->scoring == LLEVAL_SCORING_MC) {
        r->choice =
            lleval_mc_extract(s->answer.buf, s->answer.len, g->choices + it->first, it->count);
        r->correct = r->choice >= 0 && r->choice == it->gold_choice;
        return;
    }
    struct lleval_qa_score sc;
    lleval_norm_set(&s->pred, s->answer.buf, s->answer.len, g->scoring == LLEVAL_SCORING_NQ);
    lleval_qa_score(&s->pred, g->golds + it->first, it->count, &sc);
    r->em = sc.em;
    r->f1 = sc.f1;
    r->contains = sc.contains;
    r->correct = sc.em == 1.0;
}

/* Adds one scored row; fin is a FIN_* kind, or -1 when the input has none. */
static void acc_add(struct acc *a, const struct lleval_item_score *r, int fin, double latency,
                    double tps)
{
    a->n++;
    if (fin >= 0)
        a->fin[fin]++;
    if (!r->ok)
        a->errors++;
    else if (!r->answer[0])
        a->empty++;
    if (a->gold->scoring == LLEVAL_SCORING_MC) {
        if (r->ok && r->choice < 0)
            a->unparseable++;
        lleval_dist_add(&a->accuracy, r->correct ? 1.0 : 0.0);
    } else {
        lleval_dist_add(&a->em, r->em);
        lleval_dist_add(&a->f1, r->f1);
        lleval_dist_add(&a->contains, r->contains);
    }
    if (r->ok && latency >= 0)
        lleval_dist_add(&a->latency, latency);
    if (r->ok && tps > 0)
        lleval_dist_add(&a->tps, tps);
}

/* A gold question without a prediction (SQuAD-JSON mode): scores 0 and counts. */
static void acc_add_missing(struct acc *a)
{
    a->n++;
    if (a->gold->scoring == LLEVAL_SCORING_MC) {
        lleval_dist_add(&a->accuracy, 0.0);
    } else {
        lleval_dist_add(&a->em, 0.0);
        lleval_dist_add(&a->f1, 0.0);
        lleval_dist_add(&a->contains, 0.0);
    }
}

/* ---- predictions.csv ---- */

enum col {
    C_CUSTOM_ID,
    C_DATASET,
    C_ITEM_ID,
    C_PROMPT_TYPE,
    C_TEMPERATURE,
    C_SAMPLE,
    C_STATUS,
    C_FINISH,
    C_PREDICTION,
    C_LATENCY,
    C_GEN_TPS,
    N_COLS,
};

static const char *const col_names[N_COLS] = {
    "custom_id", "dataset",       "item_id",    "prompt_type", "temperature", "sample",
    "status",    "finish_reason", "prediction", "latency_ms",  "gen_tps",
};

static const bool col_required[N_COLS] = {
    [C_CUSTOM_ID] = true, [C_DATASET] = true, [C_ITEM_ID] = true, [C_PREDICTION] = true};

static const char *field(const struct lleval_csv_reader *r, const int *cols, enum col c)
{
    return cols[c] >= 0 ? r->fields[cols[c]] : "";
}

static void note_first(char **first, long *first_line, const char *id, long line)
{
    if (*first)
        return;
    *first = lleval_xstrdup(id);
    *first_line = line;
}

static int finish_kind(const char *f)
{
    if (!strcmp(f, "stop"))
        return FIN_STOP;
    if (!strcmp(f, "length"))
        return FIN_LENGTH;
    if (!strcmp(f, "error"))
        return FIN_ERROR;
    return FIN_OTHER;
}

/* A number cell: -1 when empty or not a number (the scorer never fails on facts). */
static double num_cell(const char *s)
{
    double v;
    if (!*s || lleval_parse_double(s, &v) || !isfinite(v))
        return -1;
    return v;
}

static int read_header(struct lleval_csv_reader *r, int *cols, struct lleval_err *err)
{
    int rc = lleval_csv_next(r, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s: empty file: a predictions.csv starts with a header row "
                              "(docs/formats.md)",
                              r->path);
    for (int c = 0; c < N_COLS; c++) {
        cols[c] = -1;
        for (size_t i = 0; i < r->n_fields; i++)
            if (!strcmp(r->fields[i], col_names[c]))
                cols[c] = (int)i;
        if (cols[c] < 0 && col_required[c])
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: not a predictions.csv header: no column '%s' "
                                  "(docs/formats.md lists the columns)",
                                  r->path, r->line, col_names[c]);
    }
    return 0;
}

static int scan_csv(struct scorer *s, lleval_item_score_fn fn, void *ud, struct lleval_err *err)
{
    struct lleval_csv_reader r;
    int cols[N_COLS];
    size_t n_header;
    char temp[40] = "", last_temp_s[40] = "\x01";
    double temp_v = 0;
    int rc;

    rc = lleval_csv_open(&r, s->path, err);
    if (rc)
        return rc;
    rc = read_header(&r, cols, err);
    if (rc)
        goto out;
    n_header = r.n_fields;
    while ((rc = lleval_csv_next(&r, err)) == 1) {
        struct lleval_item_score it;
        struct gold_set *g = NULL;
        struct acc *a;
        const char *temp_s, *sample_s, *pred;
        long sample = 0, idx;

        if (lleval_csv_blank(&r))
            continue;
        if (r.n_fields != n_header) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: the row has %zu fields but the header has %zu; the "
                                "file is damaged: run `lleval parse` again",
                                s->path, r.line, r.n_fields, n_header);
            goto out;
        }
        s->rows++;
        memset(&it, 0, sizeof(it));
        it.custom_id = field(&r, cols, C_CUSTOM_ID);
        it.dataset = field(&r, cols, C_DATASET);
        it.item_id = field(&r, cols, C_ITEM_ID);
        it.prompt_type = field(&r, cols, C_PROMPT_TYPE);
        it.line = r.line;
        it.ok = cols[C_STATUS] < 0 || strcmp(field(&r, cols, C_STATUS), "error") != 0;
        it.choice = -1;
        it.answer = "";
        temp_s = field(&r, cols, C_TEMPERATURE);
        sample_s = field(&r, cols, C_SAMPLE);
        if (strcmp(temp_s, last_temp_s)) { /* rows come in runs of one temperature */
            temp[0] = '\0';
            temp_v = 0;
            if (*temp_s) {
                if (lleval_parse_double(temp_s, &temp_v) || !isfinite(temp_v)) {
                    rc = lleval_err_set(err, LLEVAL_EINVAL,
                                        "%s:%ld: column 'temperature' holds '%s', not a number",
                                        s->path, r.line, temp_s);
                    goto out;
                }
                lleval_fmt_num(temp, sizeof(temp), temp_v);
            }
            snprintf(last_temp_s, sizeof(last_temp_s), "%s", temp_s);
            if (strlen(temp_s) >= sizeof(last_temp_s))
                last_temp_s[0] = '\x01'; /* too long to cache: never matches */
        }
        it.temperature = temp;
        if (*sample_s && lleval_parse_long(sample_s, 0, MAX_SAMPLE, &sample)) {
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "%s:%ld: column 'sample' holds '%s', not a number from 0 to %d",
                                s->path, r.line, sample_s, MAX_SAMPLE);
            goto out;
        }
        it.sample = sample;

        if (!*it.dataset || !lleval_dataset_name_valid(it.dataset)) {
            /* parse could not decode the custom_id: nothing to score against */
            it.state = LLEVAL_ITEM_UNKNOWN;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        rc = scorer_gold(s, it.dataset, &g, err);
        if (rc)
            goto out;
        a = scorer_acc(s, g, it.prompt_type, temp, temp_v);
        idx = gold_find(g, it.item_id);
        if (idx < 0) {
            it.state = LLEVAL_ITEM_UNKNOWN;
            a->unknown++;
            s->unknown++;
            note_first(&s->first_unknown, &s->first_unknown_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        if (!acc_mark(a, sample, (size_t)idx)) {
            it.state = LLEVAL_ITEM_DUPLICATE;
            a->duplicates++;
            s->duplicates++;
            note_first(&s->first_duplicate, &s->first_duplicate_line, it.custom_id, r.line);
            if (fn && (rc = fn(&it, ud)) != 0)
                goto out;
            continue;
        }
        pred = field(&r, cols, C_PREDICTION);
        score_answer(s, g, &g->items[idx], pred, strlen(pred), it.ok, &it);
        it.state = LLEVAL_ITEM_SCORED;
        if (it.ok)
            acc_add(a, &it, finish_kind(field(&r, cols, C_FINISH)),
                    num_cell(field(&r, cols, C_LATENCY)), num_cell(field(&r, cols, C_GEN_TPS)));
        else
            acc_add(a, &it, FIN_ERROR, -1, -1);
        s->scored++;
        if (fn && (rc = fn(&it, ud)) != 0)
            goto out;
    }
out:
    lleval_csv_close(&r);
    return rc;
}

/* ---- results ---- */

static void ci_of(const struct lleval_dist *d, const struct scorer *s, const char *label,
                  const char *metric, struct lleval_ci *out)
{
    char *l = lleval_xasprintf("%s/%s", label, metric);
    /* resamples were validated by the caller; a failure leaves the mean only */
    if (lleval_bootstrap_dist(d, s->o.bootstrap, lleval_seed_derive(s->o.seed, l), out, NULL))
        lleval_bootstrap_dist(d, 0, 0, out, NULL);
    free(l);
}

static char *group_label(const struct lleval_score_group *g)
{
    if (g->overall)
        return lleval_xasprintf("%s", g->dataset);
    return lleval_xasprintf("%s/%s/t%s", g->dataset, g->prompt_type, g->temperature);
}

static void add_warning(struct lleval_score_result *res, char *msg)
{
    res->warnings = lleval_xrealloc(res->warnings, (res->n_warnings + 1) * sizeof(char *));
    res->warnings[res->n_warnings++] = msg;
}

/* Fills one result group from an accumulator. */
static void group_from(const struct scorer *s, const struct acc *a, bool overall,
                       struct lleval_score_group *g)
{
    char *label;
    memset(g, 0, sizeof(*g));
    g->dataset = lleval_xstrdup(a->gold->name);
    g->overall = overall;
    if (!overall) {
        g->prompt_type = lleval_xstrdup(a->prompt_type);
        g->temperature = lleval_xstrdup(a->temperature);
    }
    g->scoring = a->gold->scoring;
    g->type = lleval_xstrdup(a->gold->type);
    g->n = a->n;
    g->unknown = a->unknown;
    g->duplicates = a->duplicates;
    g->errors = a->errors;
    g->empty = a->empty;
    g->unparseable = a->unparseable;
    g->finish_stop = a->fin[FIN_STOP];
    g->finish_length = a->fin[FIN_LENGTH];
    g->finish_error = a->fin[FIN_ERROR];
    g->finish_other = a->fin[FIN_OTHER];
    label = overall ? lleval_xasprintf("%s/*/*", a->gold->name)
                    : lleval_xasprintf("%s/%s/%s", a->gold->name, a->prompt_type, a->temperature);
    ci_of(&a->em, s, label, "em", &g->em);
    ci_of(&a->f1, s, label, "f1", &g->f1);
    ci_of(&a->contains, s, label, "contains", &g->contains);
    ci_of(&a->accuracy, s, label, "accuracy", &g->accuracy);
    ci_of(&a->latency, s, label, "latency_ms", &g->latency_ms);
    ci_of(&a->tps, s, label, "tokens_per_s", &g->tokens_per_s);
    free(label);
}

static void merge_acc(struct acc *into, const struct acc *from)
{
    into->n += from->n;
    into->unknown += from->unknown;
    into->duplicates += from->duplicates;
    into->errors += from->errors;
    into->empty += from->empty;
    into->unparseable += from->unparseable;
    for (int i = 0; i < 4; i++)
        into->fin[i] += from->fin[i];
    lleval_dist_merge(&into->em, &from->em);
    lleval_dist_merge(&into->f1, &from->f1);
    lleval_dist_merge(&into->contains, &from->contains);
    lleval_dist_merge(&into->accuracy, &from->accuracy);
    lleval_dist_merge(&into->latency, &from->latency);
    lleval_dist_merge(&into->tps, &from->tps);
}

static int cmp_acc(const void *x, const void *y)
{
    const struct acc *a = *(const struct acc *const *)x, *b = *(const struct acc *const *)y;
    int c = strcmp(a->prompt_type, b->prompt_type);
    if (c)
        return c;
    if (a->temp_value != b->temp_value)
        return a->temp_value < b->temp_value ? -1 : 1;
    return strcmp(a->temperature, b->temperature);
}

static void group_warnings(struct lleval_score_result *res, const struct lleval_score_group *g)
{
    char *label = group_label(g);
    if (g->n > 0 && (double)g->finish_length / (double)g->n > res->opts.truncation_warn)
        add_warning(res,
                    lleval_xasprintf("%s: %.1f%% of the answers stopped at max_new_tokens "
                                     "(finish_reason length, %ld of %ld, above %.0f%%); raise "
                                     "max_new_tokens or add stop sequences",
                                     label, 100.0 * (double)g->finish_length / (double)g->n,
                                     g->finish_length, g->n, 100.0 * res->opts.truncation_warn));
    if (g->errors > 0)
        add_warning(res, lleval_xasprintf("%s: %ld of %ld requests failed (status error) and "
                                          "score 0; the error column of predictions.csv says "
                                          "why",
                                          label, g->errors, g->n));
    if (g->scoring == LLEVAL_SCORING_MC && g->n > g->errors &&
        (double)g->unparseable / (double)(g->n - g->errors) > 0.10)
        add_warning(
            res, lleval_xasprintf("%s: no answer letter could be read from %ld of %ld answers; try "
                                  "scoring.answer_extraction after_answer or a prompt that asks "
                                  "for the letter only",
                                  label, g->unparseable, g->n - g->errors));
    free(label);
}

/* Builds res->groups (each dataset's groups sorted, then its overall row) and warnings. */
static void finish_result(struct scorer *s, struct lleval_score_result *res)
{
    res->opts = s->o;
    res->rows = s->rows;
    res->scored = s->scored;
    res->unknown = s->unknown;
    res->duplicates = s->duplicates;
    for (size_t d = 0; d < s->n_sets; d++) {
        struct gold_set *gs = s->sets[d];
        struct acc **mine = lleval_xmalloc((s->n_accs + 1) * sizeof(*mine));
        struct acc all;
        size_t k = 0;
        long missing = 0;
        for (size_t i = 0; i < s->n_accs; i++)
            if (s->accs[i]->gold == gs)
                mine[k++] = s->accs[i];
        if (!k) {
            free(mine);
            continue;
        }
        qsort(mine, k, sizeof(*mine), cmp_acc);
        memset(&all, 0, sizeof(all));
        all.gold = gs;
        res->groups = lleval_xrealloc(res->groups, (res->n_groups + k + 1) * sizeof(*res->groups));
        for (size_t i = 0; i < k; i++) {
            struct lleval_score_group *g = &res->groups[res->n_groups++];
            group_from(s, mine[i], false, g);
            g->missing = acc_missing(mine[i]);
            missing += g->missing;
            group_warnings(res, g);
            merge_acc(&all, mine[i]);
        }
        group_from(s, &all, true, &res->groups[res->n_groups]);
        res->groups[res->n_groups++].missing = missing;
        res->missing += missing;
        lleval_dist_release(&all.em);
        lleval_dist_release(&all.f1);
        lleval_dist_release(&all.contains);
        lleval_dist_release(&all.accuracy);
        lleval_dist_release(&all.latency);
        lleval_dist_release(&all.tps);
        free(mine);
    }
    if (s->unknown > 0)
        add_warning(
            res, lleval_xasprintf("%ld prediction rows name an item that is not in the prepared "
                                  "gold data and were not scored (first: '%s' at %s:%ld); was the "
                                  "dataset prepared again since the run was built?",
                                  s->unknown, s->first_unknown ? s->first_unknown : "", s->path,
                                  s->first_unknown_line));
    if (s->duplicates > 0)
        add_warning(res,
                    lleval_xasprintf("%ld repeated prediction rows were not scored (first: "
                                     "'%s' at %s:%ld); the first row of each was kept",
                                     s->duplicates, s->first_duplicate ? s->first_duplicate : "",
                                     s->path, s->first_duplicate_line));
}

static int check_opts(const struct lleval_score_opts *o, struct lleval_err *err)
{
    if (o && (o->bootstrap < 0 || o->bootstrap > LLEVAL_BOOTSTRAP_MAX))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "bootstrap resamples must be from 0 to %d, not %ld",
                              LLEVAL_BOOTSTRAP_MAX, o->bootstrap);
    return 0;
}

int lleval_score_csv(const char *pred_csv, const char *prepared_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err)
{
    struct scorer s;
    int rc;
    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_csv, o);
    rc = scan_csv(&s, NULL, NULL, err);
    if (!rc) {
        finish_result(&s, res);
        res->predictions = lleval_xstrdup(pred_csv);
        res->prepared_dir = lleval_xstrdup(prepared_dir);
    }
    scorer_release(&s);
    return rc;
}

int lleval_score_each(const char *pred_csv, const char *prepared_dir,
                      const struct lleval_score_opts *o, lleval_item_score_fn fn, void *ud,
                      struct lleval_err *err)
{
    struct scorer s;
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_csv, o);
    rc = scan_csv(&s, fn, ud, err);
    scorer_release(&s);
    return rc;
}

/* ---- SQuAD-style JSON ---- */

/* The predictions object {"question id": "answer"} as a hash map. */
struct pred_entry {
    size_t key, val, val_len; /* offsets into strs */
};

struct pred_map {
    struct lleval_sb strs;
    struct pred_entry *e;
    size_t n, cap;
    uint8_t *used; /* per entry: a gold question looked it up */
    struct slot *slots;
    size_t n_slots;
};

static void pred_map_release(struct pred_map *m)
{
    lleval_sb_release(&m->strs);
    free(m->e);
    free(m->used);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static const struct pred_entry *pred_map_get(const struct pred_map *m, const char *key)
{
    uint64_t h = hash_str(key);
    if (!m->n_slots)
        return NULL;
    for (size_t i = (size_t)h & (m->n_slots - 1);; i = (i + 1) & (m->n_slots - 1)) {
        const struct slot *sl = &m->slots[i];
        if (!sl->idx)
            return NULL;
        if (sl->hash == (uint32_t)(h >> 32) && !strcmp(m->strs.buf + m->e[sl->idx - 1].key, key))
            return &m->e[sl->idx - 1];
    }
}

/* Indexes the entries; false on a repeated key. */
static bool pred_map_index(struct pred_map *m)
{
    m->n_slots = 16;
    while (m->n_slots < 2 * m->n + 1)
        m->n_slots *= 2;
    m->slots = lleval_xcalloc(m->n_slots, sizeof(*m->slots));
    m->used = lleval_xcalloc(m->n + 1, 1);
    for (size_t k = 0; k < m->n; k++) {
        const char *key = m->strs.buf + m->e[k].key;
        uint64_t h = hash_str(key);
        size_t i = (size_t)h & (m->n_slots - 1);
        while (m->slots[i].idx) {
            if (m->slots[i].hash == (uint32_t)(h >> 32) &&
                !strcmp(m->strs.buf + m->e[m->slots[i].idx - 1].key, key))
                return false;
            i = (i + 1) & (m->n_slots - 1);
        }
        m->slots[i].idx = (uint32_t)(k + 1);
        m->slots[i].hash = (uint32_t)(h >> 32);
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
static int pred_map_load(const char *path, struct pred_map *m, struct lleval_err *err)
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
    pred_map_release(m);
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
            pred_map_release(m);
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

int lleval_score_squad_json(const char *pred_json, const char *prepared_dir, const char *dataset,
                            const struct lleval_score_opts *o, struct lleval_score_result *res,
                            struct lleval_err *err)
{
    struct scorer s;
    struct gold_set *g;
    struct acc *a;
    struct pred_map preds;
    double em_sum = 0, f1_sum = 0;
    long missing = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = check_opts(o, err);
    if (rc)
        return rc;
    rc = pred_map_load(pred_json, &preds, err);
    if (rc)
        return rc;
    scorer_init(&s, prepared_dir, pred_json, o);
    rc = scorer_gold(&s, dataset, &g, err);
    if (rc)
        goto out;
    a = scorer_acc(&s, g, "", "", 0);
    /* the official loop: every gold question in order; no prediction scores 0 */
    for (size_t i = 0; i < g->n_items; i++) {
        struct lleval_item_score it;
        const struct pred_entry *p = pred_map_get(&preds, g->items[i].id);
        if (p)
            preds.used[p - preds.e] = 1;
        if (!p) {
            acc_add_missing(a);
            missing++;
            continue;
        }
        memset(&it, 0, sizeof(it));
        it.ok = true;
        score_answer(&s, g, &g->items[i], preds.strs.buf + p->val, p->val_len, true, &it);
        acc_add(a, &it, -1, -1, -1);
        s.scored++;
        em_sum += g->scoring == LLEVAL_SCORING_MC ? (it.correct ? 1 : 0) : it.em;
        f1_sum += it.f1;
    }
    /* predictions that no gold question asked for: the entries never looked up */
    for (size_t i = 0; i < preds.n; i++) {
        s.rows++;
        if (!preds.used[i]) {
            s.unknown++;
            a->unknown++;
            note_first(&s.first_unknown, &s.first_unknown_line, preds.strs.buf + preds.e[i].key, 0);
        }
    }
    res->total = (long)g->n_items;
    if (res->total > 0) {
        /* the official script's arithmetic: 100.0 * sum / total */
        res->exact_match = 100.0 * em_sum / (double)res->total;
        res->f1 = 100.0 * f1_sum / (double)res->total;
    }
    /* one group: the dataset as the official script sees it */
    res->opts = s.o;
    res->rows = s.rows;
    res->scored = s.scored;
    res->unknown = s.unknown;
    res->missing = missing;
    res->groups = lleval_xmalloc(sizeof(*res->groups));
    group_from(&s, a, true, &res->groups[0]);
    res->groups[0].missing = missing;
    res->n_groups = 1;
    group_warnings(res, &res->groups[0]);
    if (s.unknown > 0)
        add_warning(res, lleval_xasprintf("%ld predictions name a question id that is not in "
                                          "'%s' and were not scored (first: '%s')",
                                          s.unknown, dataset, s.first_unknown));
    res->squad_json = true;
    res->predictions = lleval_xstrdup(pred_json);
    res->prepared_dir = lleval_xstrdup(prepared_dir);
out:
    scorer_release(&s);
    pred_map_release(&preds);
    return rc;
}

/* ---- output ---- */

void lleval_score_result_release(struct lleval_score_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_groups; i++) {
        free(res->groups[i].dataset);
        free(res->groups[i].prompt_type);
        free(res->groups[i].temperature);
        free(res->groups[i].type);
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        free(res->warnings[i]);
    free(res->groups);
    free(res->warnings);
    free(res->predictions);
    free(res->prepared_dir);
    memset(res, 0, sizeof(*res));
}

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {"value": mean * scale, "ci95": [lo, hi] | null, "n": n}, or null without data. */
static json_t *metric_json(const struct lleval_ci *ci, double scale)
{
    json_t *o;
    if (ci->n == 0 || !isfinite(ci->mean))
        return json_null();
    o = json_object();
    json_object_set_new(o, "value", json_real(ci->mean * scale));
    if (isfinite(ci->lo) && isfinite(ci->hi))
        json_object_set_new(o, "ci95", json_pack("[ff]", ci->lo * scale, ci->hi * scale));
    else
        json_object_set_new(o, "ci95", json_null());
    json_object_set_new(o, "n", json_integer((json_int_t)ci->n));
    return o;
}

static double pct(long part, long whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : NAN;
}

static json_t *group_json(const struct lleval_score_group *g)
{
    json_t *o = json_object();
    bool mc = g->scoring == LLEVAL_SCORING_MC;
    double t;
    json_object_set_new(o, "dataset", json_string(g->dataset));
    json_object_set_new(o, "prompt_type",
                        g->prompt_type && *g->prompt_type ? json_string(g->prompt_type)
                                                          : json_null());
    if (g->temperature && *g->temperature && !lleval_parse_double(g->temperature, &t))
        json_object_set_new(o, "temperature", json_real(t));
    else
        json_object_set_new(o, "temperature", json_null());
    json_object_set_new(o, "overall", json_boolean(g->overall));
    json_object_set_new(o, "type", json_string(g->type ? g->type : ""));
    json_object_set_new(o, "scoring", json_string(lleval_scoring_name(g->scoring)));
    json_object_set_new(o, "n", json_integer(g->n));
    json_object_set_new(o, "missing", json_integer(g->missing));
    json_object_set_new(o, "unknown", json_integer(g->unknown));
    json_object_set_new(o, "duplicates", json_integer(g->duplicates));
    json_object_set_new(o, "exact_match", mc ? json_null() : metric_json(&g->em, 100.0));
    json_object_set_new(o, "f1", mc ? json_null() : metric_json(&g->f1, 100.0));
    json_object_set_new(o, "contains", mc ? json_null() : metric_json(&g->contains, 100.0));
    json_object_set_new(o, "accuracy", mc ? metric_json(&g->accuracy, 100.0) : json_null());
    json_object_set_new(o, "unparseable", mc ? json_integer(g->unparseable) : json_null());
    json_object_set_new(o, "finish_reason",
                        json_pack("{sIsIsIsI}", "stop", (json_int_t)g->finish_stop, "length",
                                  (json_int_t)g->finish_length, "error",
                                  (json_int_t)g->finish_error, "other",
                                  (json_int_t)g->finish_other));
    json_object_set_new(o, "truncation_pct", real_or_null(pct(g->finish_length, g->n)));
    json_object_set_new(o, "error_pct", real_or_null(pct(g->errors, g->n)));
    json_object_set_new(o, "empty_pct", real_or_null(pct(g->empty, g->n)));
    json_object_set_new(o, "latency_ms", metric_json(&g->latency_ms, 1.0));
    json_object_set_new(o, "tokens_per_s", metric_json(&g->tokens_per_s, 1.0));
    return o;
}

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

json_t *lleval_score_result_json(const struct lleval_score_result *res)
{
    json_t *o = json_object(), *groups = json_array(), *warns = json_array();
    char when[64];
    lleval_fmt_utc(when, sizeof(when), lleval_now());
    json_object_set_new(o, "mode", json_string(res->squad_json ? "squad_json" : "csv"));
    json_object_set_new(o, "predictions", json_string(res->predictions ? res->predictions : ""));
    json_object_set_new(o, "prepared_dir", json_string(res->prepared_dir ? res->prepared_dir : ""));
    json_object_set_new(o, "scored_at", json_string(when));
    json_object_set_new(
        o, "options",
        json_pack("{sssbsIsIsfss}", "answer_extraction", lleval_extract_name(res->opts.extraction),
                  "strip_think", res->opts.strip_think, "bootstrap_resamples",
                  (json_int_t)res->opts.bootstrap, "bootstrap_seed", (json_int_t)res->opts.seed,
                  "ci_level", LLEVAL_CI_LEVEL, "ci_method", "percentile bootstrap"));
    if (res->squad_json) {
        /* the official script's output, with three decimals */
        json_object_set_new(o, "exact_match", json_real(round3(res->exact_match)));
        json_object_set_new(o, "f1", json_real(round3(res->f1)));
        json_object_set_new(o, "total", json_integer(res->total));
    }
    json_object_set_new(o, "totals",
                        json_pack("{sIsIsIsIsI}", "rows", (json_int_t)res->rows, "scored",
                                  (json_int_t)res->scored, "unknown", (json_int_t)res->unknown,
                                  "duplicates", (json_int_t)res->duplicates, "missing",
                                  (json_int_t)res->missing));
    for (size_t i = 0; i < res->n_groups; i++)
        json_array_append_new(groups, group_json(&res->groups[i]));
    json_object_set_new(o, "groups", groups);
    for (size_t i = 0; i < res->n_warnings; i++)
        json_array_append_new(warns, json_string(res->warnings[i]));
    json_object_set_new(o, "warnings", warns);
    return o;
}

int lleval_score_write(const struct lleval_score_result *res, const char *out_dir,
                       struct lleval_err *err)
{
    json_t *doc = lleval_score_result_json(res);
    char *path = lleval_path_join(out_dir, "scores.json");
    int rc = lleval_mkdirs(out_dir, err);
    if (!rc)
        rc = lleval_json_write_atomic(path, doc, err);
    json_decref(doc);
    free(path);
    return rc;
}

int lleval_score_run(const char *pred_csv, const char *prepared_dir, const char *out_dir,
                     const struct lleval_score_opts *o, struct lleval_score_result *res,
                     struct lleval_err *err)
{
    int rc = lleval_score_csv(pred_csv, prepared_dir, o, res, err);
    if (!rc)
        rc = lleval_score_write(res, out_dir, err);
    if (rc)
        lleval_score_result_release(res);
    return rc;
}

/* ---- the summary table ---- */

static const char *const table_header[] = {"dataset", "prompt", "temp",     "n",
                                           "EM",      "F1",     "contains", "acc",
                                           "trunc%",  "err%",   "lat ms",   "tok/s"};

static char *fmt_ci(const struct lleval_ci *ci, double scale, int decimals, bool with_ci)
{
    if (ci->n == 0 || !isfinite(ci->mean))
        return lleval_xstrdup("-");
    if (with_ci && isfinite(ci->lo) && isfinite(ci->hi))
        return lleval_xasprintf("%.*f [%.*f, %.*f]", decimals, ci->mean * scale, decimals,
                                ci->lo * scale, decimals, ci->hi * scale);
    return lleval_xasprintf("%.*f", decimals, ci->mean * scale);
}

static char *fmt_pct(long part, long whole)
{
    return whole > 0 ? lleval_xasprintf("%.1f", pct(part, whole)) : lleval_xstrdup("-");
}

/* Overall rows are shown when a dataset has more than one group (or in JSON mode). */
static bool show_group(const struct lleval_score_result *res, size_t i)
{
    const struct lleval_score_group *g = &res->groups[i];
    if (!g->overall || res->squad_json)
        return true;
    return i >= 2 && !res->groups[i - 2].overall && !strcmp(res->groups[i - 2].dataset, g->dataset);
}

void lleval_score_table(const struct lleval_score_result *res, struct lleval_score_table *t)
{
    size_t ncols = LLEVAL_ARRAY_SIZE(table_header);
    int dec = res->squad_json ? 3 : 1;
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = lleval_xmalloc((res->n_groups + 1) * ncols * sizeof(char *));
    for (size_t c = 0; c < ncols; c++)
        t->cells[c] = lleval_xstrdup(table_header[c]);
    t->nrows = 1;
    for (size_t i = 0; i < res->n_groups; i++) {
        const struct lleval_score_group *g = &res->groups[i];
        char **row = t->cells + t->nrows * ncols;
        bool mc = g->scoring == LLEVAL_SCORING_MC;
        if (!show_group(res, i))
            continue;
        row[0] = lleval_xstrdup(g->dataset);
        row[1] = lleval_xstrdup(g->overall ? "all" : (*g->prompt_type ? g->prompt_type : "-"));
        row[2] = lleval_xstrdup(g->overall ? "all" : (*g->temperature ? g->temperature : "-"));
        row[3] = lleval_xasprintf("%ld", g->n);
        row[4] = mc ? lleval_xstrdup("-") : fmt_ci(&g->em, 100.0, dec, true);
        row[5] = mc ? lleval_xstrdup("-") : fmt_ci(&g->f1, 100.0, dec, true);
        row[6] = mc ? lleval_xstrdup("-") : fmt_ci(&g->contains, 100.0, 1, false);
        row[7] = mc ? fmt_ci(&g->accuracy, 100.0, 1, true) : lleval_xstrdup("-");
        row[8] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->finish_length, g->n);
        row[9] = res->squad_json ? lleval_xstrdup("-") : fmt_pct(g->errors, g->n);
        row[10] = fmt_ci(&g->latency_ms, 1.0, 0, false);
        row[11] = fmt_ci(&g->tokens_per_s, 1.0, 1, false);
        t->nrows++;
    }
}

void lleval_score_table_release(struct lleval_score_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void lleval_score_notes(const struct lleval_score_result *res, struct lleval_sb *out)
{
    if (res->squad_json)
        lleval_sb_addf(out,
                       "{\"exact_match\": %.3f, \"f1\": %.3f}  (%ld questions, %ld without "
                       "a prediction)\n",
                       res->exact_match, res->f1, res->total, res->missing);
    if (!res->squad_json && res->missing > 0) {
        lleval_sb_addf(out, "missing: %ld gold items have no prediction:", res->missing);
        for (size_t i = 0; i < res->n_groups; i++) {
            const struct lleval_score_group *g = &res->groups[i];
            if (!g->overall && g->missing > 0)
                lleval_sb_addf(out, " %s/%s/t%s %ld", g->dataset, g->prompt_type, g->temperature,
                               g->missing);
        }
        lleval_sb_addch(out, '\n');
    }
    if (res->unknown > 0)
        lleval_sb_addf(out, "unknown: %ld predictions name no gold item (not scored)\n",
                       res->unknown);
    if (res->duplicates > 0)
        lleval_sb_addf(out, "duplicates: %ld repeated rows (not scored)\n", res->duplicates);
}

/* Display width: one column per UTF-8 code point. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

char *lleval_score_format_table(const struct lleval_score_result *res)
{
    struct lleval_score_table t;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t *w;
    lleval_score_table(res, &t);
    w = lleval_xcalloc(t.ncols, sizeof(*w));
    for (size_t r = 0; r < t.nrows; r++)
        for (size_t c = 0; c < t.ncols; c++)
            if (width(t.cells[r * t.ncols + c]) > w[c])
                w[c] = width(t.cells[r * t.ncols + c]);
    for (size_t r = 0; r < t.nrows; r++) {
        for (size_t c = 0; c < t.ncols; c++) {
            const char *cell = t.cells[r * t.ncols + c];
            size_t pad = w[c] - width(cell);
            bool left = c < 3, last = c + 1 == t.ncols;
            if (!left)
                lleval_sb_addf(&sb, "%*s", (int)pad, "");
            lleval_sb_adds(&sb, cell);
            if (left && !last)
                lleval_sb_addf(&sb, "%*s", (int)pad, "");
            if (!last)
                lleval_sb_adds(&sb, "  ");
        }
        lleval_sb_addch(&sb, '\n');
    }
    lleval_score_notes(res, &sb);
    free(w);
    lleval_score_table_release(&t);
    return lleval_sb_detach(&sb, NULL);
}

char **lleval_score_warnings(const struct lleval_score_result *res, size_t *n)
{
    char **out = lleval_xmalloc((res->n_warnings + 1) * sizeof(char *));
    for (size_t i = 0; i < res->n_warnings; i++)
        out[i] = lleval_xstrdup(res->warnings[i]);
    out[res->n_warnings] = NULL;
    *n = res->n_warnings;
    return out;
}

/* ---- per-item scores ---- */

struct collect {
    struct lleval_item_scores *out;
    size_t cap;
};

static int collect_one(const struct lleval_item_score *s, void *ud)
{
    struct collect *c = ud;
    struct lleval_item_rec *r;
    if (s->state != LLEVAL_ITEM_SCORED)
        return 0;
    LLEVAL_GROW(c->out->items, c->out->n, c->cap);
    r = &c->out->items[c->out->n++];
    r->custom_id = lleval_xstrdup(s->custom_id);
    r->sample = s->sample;
    r->ok = s->ok;
    r->mc = s->scoring == LLEVAL_SCORING_MC;
    r->em = s->em;
    r->f1 = s->f1;
    r->contains = s->contains;
    r->correct = s->correct;
    return 0;
}

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(((const struct lleval_item_rec *)a)->custom_id,
                  ((const struct lleval_item_rec *)b)->custom_id);
}

int lleval_item_scores_load(const char *pred_csv, const char *prepared_dir,
                            const struct lleval_score_opts *o, struct lleval_item_scores *out,
                            struct lleval_err *err)
{
    struct collect c = {out, 0};
    int rc;
    memset(out, 0, sizeof(*out));
    rc = lleval_score_each(pred_csv, prepared_dir, o, collect_one, &c, err);
    if (rc) {
        lleval_item_scores_release(out);
        return rc;
    }
    if (out->n)
        qsort(out->items, out->n, sizeof(*out->items), cmp_rec);
    return 0;
}

const struct lleval_item_rec *lleval_item_scores_find(const struct lleval_item_scores *s,
                                                      const char *custom_id)
{
    struct lleval_item_rec key;
    if (!s->n)
        return NULL;
    key.custom_id = (char *)custom_id;
    return bsearch(&key, s->items, s->n, sizeof(*s->items), cmp_rec);
}

void lleval_item_scores_release(struct lleval_item_scores *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].custom_id);
    free(s->items);
    memset(s, 0, sizeof(*s));
}
